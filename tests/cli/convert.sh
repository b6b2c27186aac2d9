# convert.sh — llq-convert from the command line: the demo model, options, refusals and broken inputs.
. tests/cli/lib.sh
C=$BUILD/llq-convert
M=models/pydoc-7m
ABS=$(pwd)

run $C --help
expect_rc 0 "help exits 0"
expect_out "^Usage: llq-convert SRC -o OUT.llq" "help shows usage"
expect_out "Examples:" "help has examples"
run $C --version
expect_rc 0 "version exits 0"
expect_out "llq-convert \(llq\) [0-9]" "version line"
run $C
expect_rc 2 "no source is a usage error"
run $C $M
expect_rc 2 "no -o is a usage error"
run $C $M -o "$TMP/x.llq" --dtype q4
expect_rc 2 "quantized --dtype is a usage error"
run $C $M -o "$TMP/x.llq" --layout gguf
expect_rc 2 "bad --layout is a usage error"
run $C $M -o "$TMP/x.llq" --context 0
expect_rc 2 "--context 0 is a usage error"
run $C $M -o "$TMP/x.llq" --frobnicate
expect_rc 2 "unknown option is a usage error"

run $C $M -o "$TMP/p.llq" --json
expect_rc 0 "converts the demo model"
expect_json "--json prints JSON"
expect_out '"tensors":57' "json: 57 tensors"
expect_out '"layout":"meta"' "json: meta layout"
expect_out '"source_dtype":"bf16"' "json: bf16 source"
expect_out '"tokenizer":true' "json: tokenizer stored"
expect_file "$TMP/p.llq" "output written"
run $BUILD/llq-inspect "$TMP/p.llq" --verify
expect_rc 0 "llq-inspect --verify accepts the output"

run $C $M -o "$TMP/p.llq" --quiet
expect_fail_line llq-convert "exists" "refuses to overwrite without --force"
run $C $M -o "$TMP/p.llq" --force --quiet --dtype f32
expect_rc 0 "--force overwrites"
if [ -z "$ERR" ]; then _ok "--quiet prints nothing"; else _fail "--quiet prints nothing"; fi

sum=$(cksum <$M/consolidated.00.pth)
run $C $M -o $M/consolidated.00.pth --force
expect_fail_line llq-convert "is an input file" "never writes over an input"
if [ "$(cksum <$M/consolidated.00.pth)" = "$sum" ]; then _ok "input unchanged"; else _fail "input unchanged"; fi

run $C $M -o "$TMP/o.llq" --layout hf
expect_fail_line llq-convert "Hugging Face layout needs config.json" "--layout hf on a Meta directory"
run $C $FIX/ckpt/hf-st -o "$TMP/o.llq" --layout meta
expect_fail_line llq-convert "Meta layout needs consolidated.NN.pth and params.json" "--layout meta on an HF directory"
run $C $FIX/ckpt/hf-st/model.safetensors -o "$TMP/ok.llq" --json --quiet
expect_out '"layout":"hf"' "one HF file with config.json beside it"
run $C $FIX/ckpt/hf-bin-sharded/pytorch_model.bin.index.json -o "$TMP/ok.llq" --force --json --quiet
expect_out '"files":2' "an index file names its shards"
run $C $FIX/ckpt/meta-2 -o "$TMP/ok.llq" --force --json --quiet --dtype f16
expect_out '"dtype":"f16"' "two Meta shards to f16"
if ls "$TMP"/*.tmp.* >/dev/null 2>&1; then _fail "no temp file left"; else _ok "no temp file left"; fi

run $C "$TMP/nonexistent" -o "$TMP/o.llq"
expect_fail_line llq-convert "nonexistent: No such file" "missing source"
mkdir -p "$TMP/empty" && echo hi >"$TMP/empty/README"
run $C "$TMP/empty" -o "$TMP/o.llq"
expect_fail_line llq-convert "empty: no LLaMA checkpoint found" "nothing recognisable"
expect_no_file "$TMP/o.llq" "no output after failure"

mkdir -p "$TMP/arch" && : >"$TMP/arch/model.safetensors"
echo '{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 768}' >"$TMP/arch/config.json"
run $C "$TMP/arch" -o "$TMP/o.llq"
expect_fail_line llq-convert "arch/config.json: unsupported architecture GPT2LMHeadModel \(model_type gpt2\) \(supported: LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM\)" "unknown architecture, by name, with the supported list"

mkdir -p "$TMP/gap"
for f in params.json tokenizer.model; do ln -s "$ABS/$M/$f" "$TMP/gap/$f"; done
ln -s "$ABS/$M/consolidated.00.pth" "$TMP/gap/consolidated.00.pth"
ln -s "$ABS/$M/consolidated.00.pth" "$TMP/gap/consolidated.02.pth"
run $C "$TMP/gap" -o "$TMP/o.llq"
expect_fail_line llq-convert "gap/consolidated.01.pth: missing shard" "missing shard"
expect_no_file "$TMP/o.llq" "no output after a missing shard"

mkdir -p "$TMP/twice"
for f in params.json tokenizer.model; do ln -s "$ABS/$M/$f" "$TMP/twice/$f"; done
ln -s "$ABS/$M/consolidated.00.pth" "$TMP/twice/consolidated.00.pth"
ln -s "$ABS/$M/consolidated.00.pth" "$TMP/twice/consolidated.01.pth"
run $C "$TMP/twice" -o "$TMP/o.llq"
expect_fail_line llq-convert "tok_embeddings.weight has shape \[8192,256\] joining its shards, expected \[4096,256\]" "shards too many for params.json"

mkdir -p "$TMP/notok"
for f in params.json consolidated.00.pth; do ln -s "$ABS/$M/$f" "$TMP/notok/$f"; done
run $C "$TMP/notok" -o "$TMP/o.llq"
expect_fail_line llq-convert "no tokenizer.model.*--no-tokenizer" "no tokenizer is an error"
run $C "$TMP/notok" -o "$TMP/o.llq" --no-tokenizer --json
expect_rc 0 "--no-tokenizer converts"
expect_out '"tokenizer":false' "json: no tokenizer"
run $C "$TMP/notok" -o "$TMP/o2.llq" --tokenizer $M/tokenizer.model --json
expect_out '"tokenizer":true' "--tokenizer FILE"

mkdir -p "$TMP/meta-dl/7B" # Meta's downloads: tokenizer.model one level above the shards
for f in params.json consolidated.00.pth; do ln -s "$ABS/$M/$f" "$TMP/meta-dl/7B/$f"; done
ln -s "$ABS/$M/tokenizer.model" "$TMP/meta-dl/tokenizer.model"
run $C "$TMP/meta-dl/7B/" -o "$TMP/dl.llq" --json --quiet
expect_out '"tokenizer":true' "tokenizer.model found one level up (Meta layout)"
expect_out '"context_length":0' "no context length in params.json: 0"
run $C "$TMP/meta-dl/7B/" -o "$TMP/dl.llq" --json --quiet --force --context 256
expect_out '"context_length":256' "--context sets llama.context_length"

mkdir -p "$TMP/trunc"
head -c 1000000 $M/consolidated.00.pth >"$TMP/trunc/consolidated.00.pth"
cp $M/params.json $M/tokenizer.model "$TMP/trunc/"
run $C "$TMP/trunc" -o "$TMP/t.llq"
expect_fail_line llq-convert "trunc/consolidated.00.pth: " "truncated zip"
expect_no_file "$TMP/t.llq" "no output after a truncated zip"

mkdir -p "$TMP/crc"
cp $M/consolidated.00.pth $M/params.json $M/tokenizer.model "$TMP/crc/"
printf 'X' | dd of="$TMP/crc/consolidated.00.pth" bs=1 seek=5000000 conv=notrunc 2>/dev/null
run $C "$TMP/crc" -o "$TMP/c.llq"
expect_fail_line llq-convert "crc/consolidated.00.pth: .*CRC" "zip CRC mismatch"
expect_no_file "$TMP/c.llq" "no output after a CRC mismatch"

# the refused checkpoints of tests/make_fixtures.py (malicious pickles, broken zips, bad safetensors), each put in a
# model directory under its layout's file name: one line naming the file, exit 1, no output
K=$FIX/ckpt
for f in $K/bad/*; do
    [ -f "$f" ] || continue
    n=$(basename "$f"); d="$TMP/bad-$n"; mkdir -p "$d"
    case "$n" in
    *.safetensors) cp $K/hf-st/config.json "$d/"; cp "$f" "$d/model.safetensors"; want="model.safetensors: " ;;
    *) cp $K/meta-1/params.json "$d/"; cp "$f" "$d/consolidated.00.pth"; want="consolidated.00.pth: " ;;
    esac
    run $C "$d" -o "$TMP/bad.llq" --no-tokenizer
    expect_fail_line llq-convert "$want" "refuses $n"
    expect_no_file "$TMP/bad.llq" "no output for $n"
done
run $C $K/bad/../meta-1 -o "$TMP/m1.llq"
expect_rc 0 "converts the meta-1 fixture"
for n in evil_system.pth; do
    d="$TMP/bad-$n"
    run $C "$d" -o "$TMP/bad.llq" --no-tokenizer
    expect_fail_line llq-convert "os.*system" "$n: names the refused global"
done
