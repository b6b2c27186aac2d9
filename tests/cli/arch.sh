# arch.sh — the LLaMA-family tiny models (tests/make_arch_fixtures.py: Llama-3.2, Llama-3.1 in Meta's layout,
# Qwen2 tied/untied, Mistral in HF's and in its own layout, SmolLM2, TinyLlama): each converts, and llq-eval ppl
# equals the PyTorch reference (written from the family's definition) within 1e-5 relative at ctx 128 and 1024;
# the fixtures discriminate (ignoring rope scaling or the sliding window lands measurably off, and llq does when
# the config says so); text -> ids -> ppl for the tokenizers with reference ids; inspect, RTN/AWQ/GPTQ
# quantization, drift and greedy generation (stopping where PyTorch's does) on every family; unsupported
# architectures and rope types are refused with one line.
. tests/cli/lib.sh
C=$BUILD/llq-convert
E=$BUILD/llq-eval
Q=$BUILD/llq-quantize
I=$BUILD/llq-inspect
F=$FIX/arch
QUICK=""
case "$BUILD" in *-asan | *-ubsan) QUICK=1 ;; esac

# close A B REL NAME: |A-B| <= REL·|B|;  far A B REL NAME: |A-B| > REL·|B|
close() {
    if awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; if (b < 0) b = -b; exit !(d <= r * b) }'
    then _ok "$4"; else _fail "$4 ($1 vs $2)"; fi
}
far() {
    if awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; if (b < 0) b = -b; exit !(d > r * b) }'
    then _ok "$4"; else _fail "$4 ($1 vs $2)"; fi
}
ref() { awk -v m="$1" -v c="$2" -v k="$3" '$1 == m && $2 == c { print $k }' $F/refs.txt; }
ppl_of() { printf '%s\n' "$OUT" | sed -n 's/.*"ppl":\([0-9.e+-]*\).*/\1/p'; }

CTXS="128 1024"
[ -n "$QUICK" ] && CTXS="128"
MODELS="llama32 llama31-meta qwen2 qwen2-untied mistral mistral-meta smollm2 tinyllama"
for m in $MODELS; do
    run $C $F/$m -o $TMP/$m.llq --no-tokenizer --quiet
    expect_rc 0 "$m: converts"
    for c in $CTXS; do
        run $E ppl $TMP/$m.llq --tokens $F/tokens.u32 --ctx $c --json --quiet
        expect_rc 0 "$m: ppl at ctx $c"
        close "$(ppl_of)" "$(ref $m $c 3)" 1e-5 "$m: ppl at ctx $c equals PyTorch's within 1e-5"
    done
done

# the fixtures can fail a wrong model: rope scaling and the sliding window change the reference at ctx 1024
far "$(ref llama32 1024 4)" "$(ref llama32 1024 3)" 1e-3 "llama32: ppl without rope scaling is > 1e-3 off"
far "$(ref llama31-meta 1024 4)" "$(ref llama31-meta 1024 3)" 1e-3 "llama31-meta: ppl without use_scaled_rope is > 1e-3 off"
far "$(ref mistral 1024 5)" "$(ref mistral 1024 3)" 1e-3 "mistral: ppl without the window is > 1e-3 off"
far "$(ref mistral-meta 1024 5)" "$(ref mistral-meta 1024 3)" 1e-3 "mistral-meta: ppl without the window is > 1e-3 off"
# ... and llq lands there when the config drops them (one windows's worth at ctx 1024)
if [ -z "$QUICK" ]; then
    mkdir -p $TMP/noscale $TMP/nowin
    cp $F/llama32/model.safetensors $TMP/noscale/
    sed 's/"rope_scaling": {/"rope_scaling": null, "x": {/' $F/llama32/config.json >$TMP/noscale/config.json
    run $C $TMP/noscale -o $TMP/noscale.llq --no-tokenizer --quiet
    run $E ppl $TMP/noscale.llq --tokens $F/tokens.u32 --ctx 1024 --json --quiet
    close "$(ppl_of)" "$(ref llama32 1024 4)" 1e-5 "llama32 with rope scaling dropped: llq equals the unscaled reference"
    far "$(ppl_of)" "$(ref llama32 1024 3)" 1e-3 "llama32 with rope scaling dropped: > 1e-3 off the right answer"
    cp $F/mistral/model.safetensors $TMP/nowin/
    sed 's/"sliding_window": 48/"sliding_window": null/' $F/mistral/config.json >$TMP/nowin/config.json
    run $C $TMP/nowin -o $TMP/nowin.llq --no-tokenizer --quiet
    run $E ppl $TMP/nowin.llq --tokens $F/tokens.u32 --ctx 1024 --json --quiet
    close "$(ppl_of)" "$(ref mistral 1024 5)" 1e-5 "mistral without its window: llq equals the windowless reference"
fi

# Meta's layout with its tiktoken tokenizer.model beside consolidated.00.pth: converted without any flag
run $C $F/llama31-meta -o $TMP/m3t.llq --quiet
expect_rc 0 "llama31-meta converts with its tiktoken tokenizer.model"
run $I $TMP/m3t.llq
expect_out "tokenizer +959 entries" "llama31-meta: 703 tiktoken ranks + Meta's 256 special tokens"
expect_out "rope scaling llama3 \(factor 8, low 1, high 4, original context 8192\)" "llama31-meta: use_scaled_rope is Meta's rule"

# Mistral's own download (mistral-inference): params.json with sliding_window + consolidated.safetensors (Meta names)
run $I $TMP/mistral-meta.llq
expect_out "family mistral, head_dim 32, sliding window 48" "mistral-meta: params.json's sliding_window and head_dim"
mkdir -p $TMP/moe
cp $F/mistral-meta/consolidated.safetensors $TMP/moe/
sed 's/"dim"/"moe": {"num_experts": 8}, "dim"/' $F/mistral-meta/params.json >$TMP/moe/params.json
run $C $TMP/moe -o $TMP/moe.llq --no-tokenizer
expect_fail_line llq-convert "\"moe\" \(mixture of experts\) is not supported" "Mixtral's params.json refused by name"

# The tiktoken special tokens are named as Meta's code for the model names them: Llama-3.1+ (use_scaled_rope, as
# llama31-meta) has <|eom_id|> at 8 and stops at end_of_text, eom_id, eot_id; Llama-3 has reserved_4 there
run $E tokenize $TMP/m3t.llq --prompt "<|eom_id|><|reserved_special_token_4|>" --json
expect_out '"ids":\[711,717\]' "llama31-meta: Llama-3.1 special-token names"
run $I $TMP/m3t.llq
expect_out "eos 704 711 712" "llama31-meta: stops at <|end_of_text|>, <|eom_id|>, <|eot_id|>"
mkdir -p $TMP/l30
cp $F/llama31-meta/consolidated.00.pth $F/llama31-meta/tokenizer.model $TMP/l30/
sed 's/"use_scaled_rope": true/"use_scaled_rope": false/' $F/llama31-meta/params.json >$TMP/l30/params.json
run $C $TMP/l30 -o $TMP/l30.llq --quiet
run $E tokenize $TMP/l30.llq --prompt "<|reserved_special_token_4|><|eot_id|>" --json
expect_out '"ids":\[711,712\]' "without use_scaled_rope: Llama-3 special-token names"
run $I $TMP/l30.llq
expect_out "eos 704 712$" "without use_scaled_rope: stops at <|end_of_text|>, <|eot_id|>"

# inspect shows what the architecture is
run $I $TMP/llama32.llq
expect_rc 0 "inspect llama32"
expect_out "tied embeddings" "inspect: tied"
expect_out "rope scaling llama3 \(factor 32, low 1, high 4, original context 8192\)" "inspect: rope scaling"
run $I $TMP/qwen2.llq --json
expect_json "inspect qwen2 --json"
expect_out '"family":"qwen2"' "inspect --json: family"
expect_out '"attention_bias":true' "inspect --json: biases"
run $I $TMP/mistral.llq
expect_out "sliding window 48" "inspect: sliding window"
expect_out "head_dim 32" "inspect: explicit head_dim"

# quantization and drift on every family; calibrated ones from token ids (the models have no tokenizer)
for m in $MODELS; do
    run $Q $TMP/$m.llq -o $TMP/$m-q4.llq --type q4 --group 32 --quiet
    expect_rc 0 "$m: RTN q4"
    run $E drift $TMP/$m.llq $TMP/$m-q4.llq --tokens $F/tokens.u32 --ctx 128 --chunks 2 --json --quiet
    expect_rc 0 "$m: drift q4"
    kld=$(printf '%s' "$OUT" | tr -d ' \n' | sed -n 's/.*"kld_mean":{"value":\([0-9.e+-]*\).*/\1/p')
    if awk -v k="$kld" 'BEGIN { exit !(k > 0 && k < 1) }'; then _ok "$m: drift q4: 0 < KL < 1 ($kld)"; else _fail "$m: drift q4 KL $kld"; fi
done
run $I $TMP/llama32-q4.llq --tensors --filter 'tok_embeddings.weight' --json
if printf '%s' "$OUT" | tr -d ' \n' | grep -q '"name":"tok_embeddings.weight","shape":\[712,64\],"type":"q8"'; then
    _ok "llama32: the shared embedding/head is q8"; else _fail "llama32: the shared embedding/head is q8"; fi
for meth in awq gptq awq+gptq; do
    for m in $MODELS; do
        run $Q $TMP/$m.llq -o $TMP/$m-$meth.llq --type q4 --group 32 --method $meth --calib-tokens $F/tokens.u32 \
            --calib-samples 4 --calib-ctx 64 --quiet
        expect_rc 0 "$m: $meth q4 from --calib-tokens"
        run $E ppl $TMP/$m-$meth.llq --tokens $F/tokens.u32 --ctx 128 --chunks 2 --quiet
        expect_rc 0 "$m: ppl of the $meth model"
    done
done
# calibration progress on a terminal (script(1) gives one): "calibrating [bar] P% layer L/N  Es, ETA Ts", layer
# after layer and within each, then "head" for an untied model's output head; LLQ_PROGRESS_STEP=1 makes the
# progress clock advance 1 s per call (tools/cli.c), so what is shown does not depend on how long the work takes
if command -v script >/dev/null 2>&1; then
    for m in llama32 qwen2-untied; do
        LLQ_PROGRESS_STEP=1 script -qec "$Q $TMP/$m.llq -o $TMP/$m-prog.llq --type q4 --group 32 --method gptq \
            --calib-tokens $F/tokens.u32 --calib-samples 4 --calib-ctx 64" /dev/null | tr '\r' '\n' >$TMP/tty 2>&1
        grep -n '^calibrating' $TMP/tty >$TMP/cal
        l1=$(grep -m1 -n 'layer 1/2 .*ETA [1-9]' $TMP/cal | cut -d: -f1)
        l2=$(grep -m1 -n 'layer 2/2 .*ETA [1-9]' $TMP/cal | cut -d: -f1)
        if [ -n "$l1" ] && [ -n "$l2" ] && [ "$l1" -lt "$l2" ] &&
           grep -q '^calibrating \[#\{30\}\] 100% layer 2/2  [0-9.]*s, ETA 0\.0s' $TMP/tty &&
           awk -F'[][%]' '/^calibrating/ { if ($3 + 0 < p) bad = 1; p = $3 + 0 } END { exit bad }' $TMP/tty; then
            _ok "$m: calibration progress layer by layer with ETA, never going back"
        else _fail "$m: calibration progress layer by layer with ETA, never going back"; cat $TMP/tty; fi
    done
    if grep -q '^calibrating .* head  ' $TMP/tty; then _ok "qwen2-untied: progress shows the output head"
    else _fail "qwen2-untied: progress shows the output head"; fi
else
    echo "ok - calibration progress not tested (no script(1)) # SKIP"
fi
run $Q $TMP/llama32.llq -o $TMP/x.llq --method awq --calib-tokens $F/refs.txt --quiet
expect_fail_line llq-quantize "refs.txt: .*(not a whole number of uint32|out of range)" "--calib-tokens: a text file is refused"

# refused by name, one line
mkdir -p $TMP/q3 $TMP/yarn
cp $F/qwen2/model.safetensors $TMP/q3/
sed 's/Qwen2ForCausalLM/Qwen3ForCausalLM/; s/"qwen2"/"qwen3"/' $F/qwen2/config.json >$TMP/q3/config.json
run $C $TMP/q3 -o $TMP/q3.llq --no-tokenizer
expect_fail_line llq-convert "unsupported architecture Qwen3ForCausalLM \(model_type qwen3\) \(supported: LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM\)" "Qwen3 refused by name"
expect_no_file $TMP/q3.llq "no output after the refusal"
cp $F/llama32/model.safetensors $TMP/yarn/
sed 's/"rope_type": "llama3"/"rope_type": "yarn"/' $F/llama32/config.json >$TMP/yarn/config.json
run $C $TMP/yarn -o $TMP/yarn.llq --no-tokenizer
expect_fail_line llq-convert "rope_scaling type \"yarn\" is not supported \(supported: linear, llama3\)" "yarn rope scaling refused by name"

# generation stops at any of the model's EOS ids: qwen2-untied with a cut of the real Qwen tokenizer.json; its
# config lists 856, 858 and the third token PyTorch's greedy continuation of "<|im_start|>" produces (refs.txt)
run $C $F/qwen2-untied -o $TMP/qt.llq --tokenizer $FIX/tokenizer/hf_qwen_small.json --quiet
expect_rc 0 "qwen2-untied converts with its tokenizer.json"
run $E generate $TMP/qt.llq --prompt "<|im_start|>" -n 10 --temp 0
expect_rc 0 "generate (greedy) on qwen2-untied"
if grep -q "prompt 1 tokens.*generated 2 tokens" "$TMP/err"; then _ok "generation stops before the third EOS id (2 tokens, as PyTorch's greedy run)"
else _fail "generation stops before the third EOS id"; fi
run $I $TMP/qt.llq
expect_out "eos 856 858 142" "inspect: the EOS ids"

# every family generates from its tokenizer and stops where PyTorch's greedy run meets an EOS id (refs.txt "gen"
# lines: model, prompt, tokens generated; the HF fixtures list the third greedy token as an EOS id, Meta's layouts
# stop at their tokenizer's ids: llama31-meta at <|eom_id|>, an EOS only under Llama-3.1's names); then the RTN q4
# model of each generates too
gen() { awk -v m="$1" -v k="$2" '$1 == "gen" && $2 == m { print $k }' $F/refs.txt; }
run $C $F/llama32 -o $TMP/g-llama32.llq --tokenizer $FIX/tokenizer/hf_llama3_small.json --quiet
run $C $F/smollm2 -o $TMP/g-smollm2.llq --tokenizer $FIX/tokenizer/hf_smollm2_small.json --quiet
expect_rc 0 "smollm2 converts with its tokenizer.json"
cp $TMP/qt.llq $TMP/g-qwen2-untied.llq
cp $TMP/m3t.llq $TMP/g-llama31-meta.llq
for m in tinyllama mistral-meta; do
    run $C $F/$m -o $TMP/g-$m.llq --quiet
    expect_rc 0 "$m converts with the SentencePiece tokenizer.model beside it"
done
for m in llama32 llama31-meta qwen2-untied smollm2 tinyllama mistral-meta; do
    run $E generate $TMP/g-$m.llq --prompt "$(gen $m 3)" -n 10 --temp 0
    expect_rc 0 "$m: generate"
    if grep -q "generated $(gen $m 4) tokens" "$TMP/err"; then _ok "$m: greedy generation stops after $(gen $m 4) tokens, as PyTorch's"
    else _fail "$m: greedy generation stops after $(gen $m 4) tokens ($(tail -1 $TMP/err))"; fi
    run $Q $TMP/g-$m.llq -o $TMP/g-$m-q4.llq --type q4 --group 32 --quiet
    run $E generate $TMP/g-$m-q4.llq --prompt "$(gen $m 3)" -n 10 --temp 0
    expect_rc 0 "$m: generate from the q4 model"
done

# Meta's layout with its tiktoken tokenizer: llq's tokenization of the stress corpus (tiktoken's ids, checked in
# test_bpe) and the forward pass against PyTorch on tiktoken's ids with Llama-3.1 names, BOS first
run $E ppl $TMP/m3t.llq --text $FIX/tokenizer/stress.txt --ctx 128 --json --quiet
expect_rc 0 "llama31-meta: ppl of the stress corpus (text)"
if printf '%s' "$OUT" | tr -d ' \n' | grep -q "\"tokens\":$(ref llama31-meta-text 128 4),.*\"scored\":$(ref llama31-meta-text 128 5),"; then
    _ok "llama31-meta text: as many tokens as tiktoken's ids + BOS"; else _fail "llama31-meta text: token count"; fi
close "$(ppl_of)" "$(ref llama31-meta-text 128 3)" 1e-5 "llama31-meta text: ppl equals PyTorch's on tiktoken's ids within 1e-5"
# SmolLM2's tokenizer shape (Digits + ByteLevel with GPT-2's regex)
run $E ppl $TMP/g-smollm2.llq --text $FIX/tokenizer/stress.txt --ctx 128 --json --quiet
expect_rc 0 "smollm2: ppl of the stress corpus (text)"
if printf '%s' "$OUT" | tr -d ' \n' | grep -q "\"tokens\":$(ref smollm2-text 128 4),.*\"scored\":$(ref smollm2-text 128 5),"; then
    _ok "smollm2 text: as many tokens as Hugging Face's ids"; else _fail "smollm2 text: token count"; fi
close "$(ppl_of)" "$(ref smollm2-text 128 3)" 1e-5 "smollm2 text: ppl equals PyTorch's on HF's ids within 1e-5"

# text to perplexity end to end: llama32 with a cut of the real Llama-3 tokenizer.json; llq's tokenization of the
# stress corpus and its forward pass against PyTorch on Hugging Face's reference ids of the same text
run $C $F/llama32 -o $TMP/l3t.llq --tokenizer $FIX/tokenizer/hf_llama3_small.json --quiet
expect_rc 0 "llama32 converts with its tokenizer.json"
run $E ppl $TMP/l3t.llq --text $FIX/tokenizer/stress.txt --ctx 128 --json --quiet
expect_rc 0 "llama32: ppl of the stress corpus (text)"
if printf '%s' "$OUT" | tr -d ' \n' | grep -q "\"tokens\":$(ref llama32-text 128 4),.*\"scored\":$(ref llama32-text 128 5),"; then
    _ok "llama32 text: as many tokens as Hugging Face's ids"; else _fail "llama32 text: token count"; fi
close "$(ppl_of)" "$(ref llama32-text 128 3)" 1e-5 "llama32 text: ppl equals PyTorch's on HF's ids within 1e-5"

# GGUF both ways (docs/FORMAT.md section 8): llama32 (tied, llama3 rope scaling as rope_freqs, Llama-3 BPE as
# "gpt2"/"llama-bpe") and qwen2-untied (qwen2 keys, q/k/v biases, NEOX q/k rows, Qwen BPE as "qwen2") export, read
# back to the same canonical tensors and tokens, and GGUF -> .llq -> GGUF keeps every tensor byte
for m in l3t qt qwen2; do
    run $C $TMP/$m.llq -o $TMP/$m.gguf --quiet
    expect_rc 0 "$m: GGUF output"
    run $I $TMP/$m.gguf --compare $TMP/$m.llq
    expect_out "^total +0 +0 " "$m: the GGUF reads back to the same canonical tensors"
    run $C $TMP/$m.gguf -o $TMP/$m-rt.llq --quiet
    expect_rc 0 "$m: GGUF -> .llq"
    run $C $TMP/$m-rt.llq -o $TMP/$m-rt.gguf --json
    bytes=$(printf '%s' "$OUT" | sed -n 's/.*"bytes": *\([0-9]*\).*/\1/p' | head -1)
    if [ -n "$bytes" ] && tail -c "$bytes" $TMP/$m.gguf | cmp -s - "$(tail -c "$bytes" $TMP/$m-rt.gguf >$TMP/rt.bin; echo $TMP/rt.bin)"; then
        _ok "$m: GGUF -> .llq -> GGUF keeps every tensor byte ($bytes)"; else _fail "$m: tensor bytes differ after the round trip"; fi
done
# linear rope scaling: llama.cpp's rope.scaling.type / factor keys, both ways
mkdir -p $TMP/lin
cp $F/llama32/model.safetensors $TMP/lin/
sed 's/"rope_type": "llama3"/"rope_type": "linear"/; s/"factor": 32.0/"factor": 2.0/' $F/llama32/config.json >$TMP/lin/config.json
run $C $TMP/lin -o $TMP/lin.llq --no-tokenizer --quiet
run $C $TMP/lin.llq -o $TMP/lin.gguf --quiet
expect_rc 0 "linear rope scaling: GGUF output"
run $I $TMP/lin.gguf
expect_out "rope scaling linear \(factor 2\)" "linear rope scaling read back from the GGUF"
run $I $TMP/lin.gguf --compare $TMP/lin.llq
expect_out "^total +0 +0 " "linear rope scaling: same canonical tensors"
run $I $TMP/l3t.gguf
expect_out "rope scaling llama3 \(factor 32, low 1, high 4, original context 8192\), tied embeddings" "llama32 GGUF: llama3 scaling recovered from rope_freqs, tied"
run $I $TMP/qt.gguf
expect_out "family qwen2, q/k/v biases" "qwen2 GGUF: family and biases"
for m in l3t qt; do
    run $E tokenize $TMP/$m.llq --text $FIX/tokenizer/stress.txt --json
    A=$(printf '%s' "$OUT" | tr -d ' \n' | sed -n 's/.*"ids":\(\[[0-9,]*\]\).*/\1/p')
    run $E tokenize $TMP/$m.gguf --text $FIX/tokenizer/stress.txt --json
    B=$(printf '%s' "$OUT" | tr -d ' \n' | sed -n 's/.*"ids":\(\[[0-9,]*\]\).*/\1/p')
    if [ -n "$A" ] && [ "$A" = "$B" ]; then _ok "$m: the GGUF tokenizes the stress corpus as the tokenizer.json"; else _fail "$m: GGUF tokens differ"; fi
done
# a byte-level tokenizer.json with no merges at all (tests/fixtures/tokenizer/hf_bytes256.json: the 256 bytes, Qwen's
# pre-tokenizer) on the tied qwen2: each byte is its token, directly and through GGUF (an empty merges list once
# crashed the BPE engine)
run $C $F/qwen2 -o $TMP/qb.llq --tokenizer $FIX/tokenizer/hf_bytes256.json --quiet
run $C $TMP/qb.llq -o $TMP/qb.gguf --quiet
for x in llq gguf; do
    run $E tokenize $TMP/qb.$x --prompt "ab c" --json
    if printf '%s' "$OUT" | tr -d ' \n' | grep -q '"ids":\[97,98,32,99\]'; then _ok "no merges ($x): one token per byte"
    else _fail "no merges ($x): $OUT"; fi
done
run $E ppl $TMP/l3t.gguf --text $FIX/tokenizer/stress.txt --ctx 128 --json --quiet
close "$(ppl_of)" "$(ref llama32-text 128 3)" 1e-5 "llama32 GGUF text: ppl equals PyTorch's within 1e-5"

# refused by name rather than a file llama.cpp runs differently: Mistral's sliding window (llama.cpp's llama
# architecture has none), a pre-tokenizer llama.cpp does not know
run $C $TMP/mistral.llq -o $TMP/mistral.gguf
expect_fail_line llq-convert "GGUF output refused \(family mistral.*sliding window 48.*\): llama.cpp converts Mistral models to its llama architecture, which has no sliding window" "mistral: GGUF output refused"
expect_no_file $TMP/mistral.gguf "mistral: no GGUF left behind"
sed 's/\\\\p{N}{1,3}/\\\\p{N}{1,4}/' $FIX/tokenizer/hf_llama3_small.json >$TMP/odd-pre.json
run $C $F/llama32 -o $TMP/odd.llq --tokenizer $TMP/odd-pre.json --quiet
run $C $TMP/odd.llq -o $TMP/odd.gguf
expect_fail_line llq-convert "pre-tokenizer is none that llama.cpp knows by name \(llq names llama-bpe, qwen2, smollm, gpt-2\)" "an unknown pre-tokenizer is refused by name"
