#!/bin/sh
# vs_llama.sh BUILD [ROUNDS (3)] [WINDOWS (4)] [GEN (32)] — llq beside llama.cpp in one run (`make bench` runs it;
# docs/QUANTIZATION.md "Speed"). The synthetic 378 M LLaMA of bench/eval.c (bench/side_llq write) in f32, q4 (q4 g32
# layers, q8 g32 embeddings and head: GGUF Q4_0 / Q8_0) and q4_k_m (the types of --preset q4_k_m: Q4_K / Q6_K,
# llama.cpp's Q4_K_M mix, random blocks),
# each exported to GGUF; llama.cpp (node-llama-cpp 3.21.1 of tests/interop: prebuilt, CPU, 2 threads, context and
# batch 256; tests/interop/llama_speed.mjs) runs the GGUF, llq (2 threads; bench/side_llq run) its own .llq of the
# same tensors. Per round and model the two run back to back, the first alternating between rounds, each measuring
#   ppl: prompt processing as in perplexity: WINDOWS windows of 256 tokens, each from an empty cache, the logits of
#        every position;
#   gen: one-token generation, GEN greedy tokens after an 8-token prompt;
# tokens/s wall clock after loading. Prints every pair, then per model the ranges and the ratio llq / llama.cpp
# of each round's pair (min, median, max). Needs about 4 GB in $TMPDIR (the f32 files). Figures only, never
# pass/fail. Skips with a note when node or the package is absent (cd tests/interop && npm ci).
B=${1:-build}
ROUNDS=${2:-3}
WIN=${3:-4}
GEN=${4:-32}
THREADS=2
D=$(cd "$(dirname "$0")" && pwd)
cd "$D/.." || exit 1
I=tests/interop
if ! command -v node >/dev/null 2>&1; then
    echo "# vs_llama: node not found: skipped (Node >= 20, then 'npm ci' in $I)"
    exit 0
fi
if [ ! -d "$I/node_modules/node-llama-cpp" ]; then
    echo "# vs_llama: node-llama-cpp not installed: skipped (cd $I && npm ci)"
    exit 0
fi
# the binaries of the code as it is now (a stale side_llq would compare yesterday's llq)
make -s BUILD="$B" "$B/bench/side_llq" "$B/llq-quantize" >/dev/null || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; $ROUNDS rounds, $WIN windows of 256, $GEN generated tokens, $THREADS threads"
"$B/bench/side_llq" write "$T" || exit 1
# q4: RTN without the scale search (the speed does not depend on the values); q4_k_m.llq comes from side_llq with
# random blocks in the preset's types (quantizing 378 M weights to K-quants takes minutes)
"$B/llq-quantize" "$T/f32.llq" -o "$T/q4.llq" --type q4 --group 32 --no-search -q -t $THREADS || exit 1
for m in f32 q4 q4_k_m; do
    "$B/llq-convert" "$T/$m.llq" -o "$T/$m.gguf" -q || exit 1
done
echo "files: $(for m in f32 q4 q4_k_m; do printf '%s %s B  ' $m "$(wc -c <"$T/$m.gguf")"; done)"

: >"$T/results"
r=1
while [ $r -le "$ROUNDS" ]; do
    for m in f32 q4 q4_k_m; do
        if [ $((r % 2)) -eq 1 ]; then order="llama llq"; else order="llq llama"; fi
        for side in $order; do
            if [ $side = llq ]; then
                out=$("$B/bench/side_llq" run "$T/$m.llq" "$T/tokens.bin" $THREADS "$WIN" "$GEN") || exit 1
            else
                out=$(node $I/llama_speed.mjs "$T/$m.gguf" "$T/tokens.bin" $THREADS "$WIN" "$GEN") || exit 1
            fi
            echo "$r $m $side $out" >>"$T/results"
        done
        echo "round $r $m: $(grep "^$r $m " "$T/results" | awk '{ printf "%s ppl %s gen %s   ", $3, $5, $7 }')(load $(cut -d' ' -f1 /proc/loadavg))"
    done
    r=$((r + 1))
done

# per model: ranges of each side, and the per-round ratios llq / llama.cpp (min, median, max)
for m in f32 q4 q4_k_m; do
    for what in ppl gen; do
        col=$([ $what = ppl ] && echo 5 || echo 7)
        awk -v m=$m -v c=$col '$2 == m { v[$1 " " $3] = $c; if ($1 > R) R = $1 }
            function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                           return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
            END { for (r = 1; r <= R; r++) { q[r] = v[r " llq"]; l[r] = v[r " llama"]; x[r] = q[r] / l[r] }
                  mq = med(q, R); ml = med(l, R); mx = med(x, R)
                  printf "%-7s %s  llq %7.2f tokens/s (%.2f-%.2f)  llama.cpp %7.2f (%.2f-%.2f)  ratio %.2fx (%.2f-%.2f)\n",
                         m, "'$what'", mq, q[1], q[R], ml, l[1], l[R], mx, x[1], x[R] }' "$T/results"
    done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
