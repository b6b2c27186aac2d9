#!/bin/sh
# run.sh BUILD — llq's GGUF files in llama.cpp itself (node-llama-cpp 3.21.1: prebuilt llama.cpp, CPU), run by
# `make test-interop`. Exports the demo model (models/pydoc-7m) as f32, q8 (g32 -> Q8_0) and q4 (g32 -> Q4_0) GGUF,
# loads each in llama.cpp and compares its next-token log-probabilities on a few prompts with llq's (same file,
# opened by llq directly), then llama.cpp's tokenization of a stress text with llq's. Bounds, as fractions of the
# range of llama.cpp's log-probabilities over the vocabulary:
#   f32: 1e-4 (llama.cpp keeps its KV cache in f16: that is all that differs)
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

for q in f32 q8 q4; do
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

# tokenization of a stress text: llama.cpp's SentencePiece ("llama") tokenizer against llq's, from the same GGUF
S=tests/fixtures/tokenizer/stress.txt
[ -f "$S" ] || { head -c 20000 $M/test.txt; printf '\n  two  spaces,\ttab, trailing   \n\n\nünïcödé 中文 😀 ﬁ\r\nCRLF\r lone CR  \n'; } >"$T/stress.txt"
[ -f "$S" ] && cp "$S" "$T/stress.txt"
node "$D/llama_logits.mjs" tok "$T/f32.gguf" "$T/stress.txt" >"$T/tok_lcpp.txt"
"$L" tok "$T/f32.gguf" "$T/stress.txt" >"$T/tok_llq.txt"
n=$(wc -l <"$T/tok_llq.txt")
if [ "$n" -gt 100 ] && cmp -s "$T/tok_lcpp.txt" "$T/tok_llq.txt"; then ok "stress text: the same $n tokens as llama.cpp"
else bad "stress text: tokens differ ($(diff "$T/tok_lcpp.txt" "$T/tok_llq.txt" | head -3 | tr '\n' ' '))"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
