#!/bin/sh
# run.sh BUILD — llq's GGUF files in llama.cpp itself (node-llama-cpp 3.21.1: prebuilt llama.cpp, CPU), run by
# `make test-interop`. Exports the demo model (models/pydoc-7m) as f32, q8 (g32 -> Q8_0) and q4 (g32 -> Q4_0) GGUF,
# loads each in llama.cpp and compares its next-token log-probabilities on a few prompts with llq's (same file,
# opened by llq directly), then llama.cpp's tokenization of a stress text with llq's. Bounds, as fractions of the
# range of llama.cpp's log-probabilities over the vocabulary:
#   f32: 1e-4 (llama.cpp keeps its KV cache in f16: that is all that differs)
#   the ggml block types (q4_k ... q5_1, the q4_k_m preset): as q8/q4 below (the same file's blocks on both sides)
#   q8, q4: llama.cpp quantizes every matmul's activations to 8 bits (Q8_0 blocks); llq computes the same
#     product with f32 activations. The bound is 2x what that explains, measured on the spot: the largest
#     difference between llq's own exact and llama.cpp-arithmetic runs (llq-eval --arith) of the same prompt,
#     plus the f32 bound.
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed"; skips with a note (exit 0) when node or the
# package is absent (install: cd tests/interop && npm i -E node-llama-cpp@3.21.1).
B=${1:-build}
D=$(cd "$(dirname "$0")" && pwd)
cd "$D/../.." || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "# interop: node not found: skipped (Node >= 20 and 'npm i -E node-llama-cpp@3.21.1' in tests/interop)"
    exit 0
fi
if [ ! -d "$D/node_modules/node-llama-cpp" ]; then
    echo "# interop: node-llama-cpp not installed: skipped (cd tests/interop && npm i -E node-llama-cpp@3.21.1)"
    exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
L=$B/tests/llq_logits
M=models/pydoc-7m

"$B/llq-convert" $M -o "$T/demo.llq" --context 256 -q || exit 1
"$B/llq-convert" $M -o "$T/f32.gguf" --dtype f32 --context 256 -q || exit 1
for q in q8 q4; do
    "$B/llq-quantize" "$T/demo.llq" -o "$T/$q.llq" --type $q --group 32 -q || exit 1
    "$B/llq-convert" "$T/$q.llq" -o "$T/$q.gguf" -q || exit 1
done

# prompts: llama.cpp's tokens of a few texts, BOS first
printf '%s' 'The list type' >"$T/p1.txt"
printf '%s' 'def f(x):
    return x' >"$T/p2.txt"
printf '%s' 'To open a file in Python, use the built-in' >"$T/p3.txt"
printf '%s' 'Exceptions  are	raised when' >"$T/p4.txt"

# maxdiff A B: max |a - b| over lines, and the range of B
maxdiff() { paste "$1" "$2" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; if (NR == 1 || $2 > hi) hi = $2; if (NR == 1 || $2 < lo) lo = $2 } END { printf "%.6g %.6g\n", m, hi - lo }'; }

# every ggml block type llq writes (llq-quantize --type / --preset), exported as it is
KQ="q4_k q5_k q6_k q3_k q2_k iq4_xs iq4_nl q4_0 q4_1 q5_0 q5_1"
for q in $KQ; do
    "$B/llq-quantize" "$T/demo.llq" -o "$T/$q.llq" --type $q -q || exit 1
    "$B/llq-convert" "$T/$q.llq" -o "$T/$q.gguf" -q || exit 1
done
"$B/llq-quantize" "$T/demo.llq" -o "$T/q4_k_m.llq" --preset q4_k_m -q || exit 1
"$B/llq-convert" "$T/q4_k_m.llq" -o "$T/q4_k_m.gguf" -q || exit 1

for q in f32 q8 q4 $KQ q4_k_m; do
    worst=0
    for p in 1 2 3 4; do
        ids="1 $(node "$D/llama_logits.mjs" tok "$T/$q.gguf" "$T/p$p.txt" | tr '\n' ' ')"
        node "$D/llama_logits.mjs" logp "$T/$q.gguf" 4096 $ids >"$T/lcpp.txt" 2>"$T/err" || { bad "$q: llama.cpp loads and evaluates the GGUF ($(head -c 300 "$T/err"))"; continue; }
        "$L" logp "$T/$q.gguf" exact $ids >"$T/exact.txt" || { bad "$q: llq evaluates"; continue; }
        "$L" logp "$T/$q.gguf" llama.cpp $ids >"$T/emul.txt"
        set -- $(maxdiff "$T/exact.txt" "$T/lcpp.txt"); d=$1; range=$2
        set -- $(maxdiff "$T/exact.txt" "$T/emul.txt"); act=$1
        rel=$(awk -v d="$d" -v r="$range" 'BEGIN { printf "%.3g", d / r }')
        lim=$(awk -v a="$act" -v r="$range" -v q="$q" 'BEGIN { printf "%.3g", q == "f32" ? 1e-4 : 2 * a / r + 1e-4 }')
        echo "# $q prompt $p (${ids% }): max |llq - llama.cpp| = $d of a range $range = $rel (bound $lim); llq exact vs llama.cpp arithmetic: $act"
        if awk -v a="$rel" -v b="$lim" 'BEGIN { exit !(a <= b) }'; then ok "$q prompt $p: logits agree within $lim of the range ($rel)"
        else bad "$q prompt $p: logits differ by $rel of the range (bound $lim)"; fi
    done
done

# the LLaMA-family tiny models (tests/fixtures/arch, f32): llama32 (tied embeddings, llama3 rope scaling as
# rope_freqs, Llama-3 byte-level BPE as "gpt2"/"llama-bpe"), qwen2-untied (qwen2 keys, q/k/v biases, NEOX q/k rows,
# Qwen's BPE as "qwen2"). Their logits are small: llama.cpp's default f16 KV cache alone moves them by ~4e-4 of the
# range, so llama.cpp runs them with an f32 cache (LLQ_KV=F32) and the bound is 1e-4 of the range. qwen2 (tied,
# 256 embedding rows) gets a tokenizer of the 256 bytes alone (tests/fixtures/tokenizer/hf_bytes256.json):
# node-llama-cpp 3.21.1 cannot load a GGUF without one ("no_vocab": it asserts in llama_vocab::tokenize).
F=tests/fixtures/arch
"$B/llq-convert" $F/llama32 -o "$T/l3.llq" --dtype f32 --tokenizer tests/fixtures/tokenizer/hf_llama3_small.json -q || exit 1
"$B/llq-convert" $F/qwen2-untied -o "$T/qw.llq" --dtype f32 --tokenizer tests/fixtures/tokenizer/hf_qwen_small.json -q 2>/dev/null || exit 1
"$B/llq-convert" $F/qwen2 -o "$T/qb.llq" --dtype f32 --tokenizer tests/fixtures/tokenizer/hf_bytes256.json -q || exit 1
# and llama32 with linear rope scaling (factor 2) instead: llama.cpp's rope.scaling.type / factor keys
mkdir -p "$T/lin"
cp $F/llama32/model.safetensors "$T/lin/"
sed 's/"rope_type": "llama3"/"rope_type": "linear"/; s/"factor": 32.0/"factor": 2.0/' $F/llama32/config.json >"$T/lin/config.json"
"$B/llq-convert" "$T/lin" -o "$T/lin.llq" --dtype f32 --tokenizer tests/fixtures/tokenizer/hf_llama3_small.json -q || exit 1
for m in l3 lin qw qb; do
    "$B/llq-convert" "$T/$m.llq" -o "$T/$m.gguf" -q 2>/dev/null || exit 1
    V=712; [ $m = qw ] && V=880; [ $m = qb ] && V=256
    for ids in "5 9 10 11 12 13 14 15 16 17 18 19 20" "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40"; do
        LLQ_KV=F32 node "$D/llama_logits.mjs" logp "$T/$m.gguf" $V $ids >"$T/lcpp.txt" 2>"$T/err" || { bad "$m: llama.cpp loads and evaluates the GGUF ($(head -c 300 "$T/err"))"; continue; }
        "$L" logp "$T/$m.gguf" exact $ids >"$T/exact.txt" || { bad "$m: llq evaluates"; continue; }
        set -- $(maxdiff "$T/exact.txt" "$T/lcpp.txt"); d=$1; range=$2
        rel=$(awk -v d="$d" -v r="$range" 'BEGIN { printf "%.3g", d / r }')
        n=$(echo $ids | wc -w)
        echo "# $m, $n tokens: max |llq - llama.cpp| = $d of a range $range = $rel (bound 1e-4, f32 KV cache)"
        if awk -v a="$rel" 'BEGIN { exit !(a <= 1e-4) }'; then ok "$m f32, $n tokens: logits agree within 1e-4 of the range ($rel)"
        else bad "$m f32, $n tokens: logits differ by $rel of the range"; fi
    done
done
# tokenization of the stress corpus by llama.cpp ("gpt2" with pre llama-bpe / qwen2, special tokens parsed as HF
# does) against llq's from the same GGUF. llama.cpp applies no normalizer: Qwen's NFC is compared on the corpus in
# NFC (tests/fixtures/tokenizer/stress_nfc.txt); on the raw corpus the count of differing lines is printed.
for m in l3 qw qb; do
    for s in stress stress_nfc; do
        S=tests/fixtures/tokenizer/$s.txt
        iconv -f UTF-8 -t UTF-8 -c "$S" >"$T/s.txt" 2>/dev/null || true
        node "$D/llama_logits.mjs" tokspecial "$T/$m.gguf" "$T/s.txt" >"$T/tok_lcpp.txt"
        "$L" tok "$T/$m.gguf" "$T/s.txt" >"$T/tok_llq.txt"
        n=$(wc -l <"$T/tok_llq.txt")
        nd=$(diff "$T/tok_lcpp.txt" "$T/tok_llq.txt" | grep -c '^[<>]')
        if [ $m != l3 ] && [ $s = stress ]; then
            echo "# $m raw stress corpus (not NFC): $nd lines of llama.cpp's and llq's ids differ (llama.cpp skips Qwen's NFC normalizer)"
            continue
        fi
        if [ "$n" -gt 100 ] && [ "$nd" -eq 0 ]; then ok "$m $s: llama.cpp's tokens are llq's ($n)"
        else bad "$m $s: tokens differ ($nd lines)"; fi
    done
done

# llq-convert --lean: without llq's keys and the default-valued ones, llama.cpp runs the same model (same tokens of
# the stress text below, same logits bit for bit) from a smaller file
"$B/llq-convert" "$T/q4_k_m.llq" -o "$T/lean.gguf" --lean -q || exit 1
ids="1 $(node "$D/llama_logits.mjs" tok "$T/lean.gguf" "$T/p3.txt" | tr '\n' ' ')"
node "$D/llama_logits.mjs" logp "$T/q4_k_m.gguf" 4096 $ids >"$T/full.txt"
node "$D/llama_logits.mjs" logp "$T/lean.gguf" 4096 $ids >"$T/lean.txt"
full=$(wc -c <"$T/q4_k_m.gguf"); lean=$(wc -c <"$T/lean.gguf")
if [ "$lean" -lt "$full" ] && [ "$(wc -l <"$T/lean.txt")" -eq 4096 ] && cmp -s "$T/full.txt" "$T/lean.txt"
then ok "--lean q4_k_m ($lean bytes against $full): llama.cpp gives the same logits"
else bad "--lean q4_k_m ($lean bytes against $full): llama.cpp's logits differ or are missing"; fi

# tokenization of a stress text: llama.cpp's SentencePiece ("llama") tokenizer against llq's, from the same GGUF
S=tests/fixtures/tokenizer/stress.txt
[ -f "$S" ] || { head -c 20000 $M/test.txt; printf '\n  two  spaces,\ttab, trailing   \n\n\nünïcödé 中文 😀 ﬁ\r\nCRLF\r lone CR  \n'; } >"$T/stress.txt"
# node hands llama.cpp a JS string: invalid UTF-8 would reach it as U+FFFD per maximal subpart, not byte by byte as
# SentencePiece (and llq) replace it, so both sides get the text with invalid bytes dropped
[ -f "$S" ] && { iconv -f UTF-8 -t UTF-8 -c "$S" >"$T/stress.txt" 2>/dev/null || true; }
node "$D/llama_logits.mjs" tok "$T/f32.gguf" "$T/stress.txt" >"$T/tok_lcpp.txt"
"$L" tok "$T/f32.gguf" "$T/stress.txt" >"$T/tok_llq.txt"
n=$(wc -l <"$T/tok_llq.txt")
if [ "$n" -gt 100 ] && cmp -s "$T/tok_lcpp.txt" "$T/tok_llq.txt"; then ok "stress text: the same $n tokens as llama.cpp"
else bad "stress text: tokens differ ($(diff "$T/tok_lcpp.txt" "$T/tok_llq.txt" | head -3 | tr '\n' ' '))"; fi
"$B/llq-convert" "$T/demo.llq" -o "$T/f32-lean.gguf" --lean -q || exit 1
node "$D/llama_logits.mjs" tok "$T/f32-lean.gguf" "$T/stress.txt" >"$T/tok_lean.txt"
if [ "$n" -gt 100 ] && cmp -s "$T/tok_lcpp.txt" "$T/tok_lean.txt"; then ok "stress text: llama.cpp's tokens from the --lean GGUF are the same $n"
else bad "stress text: llama.cpp tokenizes the --lean GGUF differently"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
