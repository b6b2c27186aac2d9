#!/usr/bin/env bash
# quant_table.sh — the rows of docs/QUANTIZATION.md's results table, measured.
#
#   scripts/quant_table.sh BASE.llq METHOD:TYPE:GROUP...      e.g. awq+gptq:q4:32 gptq:q4a:128 rtn:q8:32
#
# For each configuration: llq-quantize BASE with the default policy (tok_embeddings/output q8, same group),
# calibrated methods on models/pydoc-7m/calib.txt (128 x 256 tokens, seed 0; never the test split), then
# llq-eval drift BASE QUANT on models/pydoc-7m/test.txt, --protocol llama.cpp --ctx 256, all windows.
# Prints one markdown row per configuration (columns of the table) on stdout, as each finishes.
# Environment: BUILD (default build), THREADS (default 2), NICE (default 5), OUT (scratch dir, default /tmp).
# BASE: build/llq-convert models/pydoc-7m --context 256 -o base.llq
set -eu
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
NICE=${NICE:-5}
OUT=${OUT:-/tmp}
JGET=$BUILD/tests/jget   # reads the --json outputs (tests/jget.c)
CALIB=models/pydoc-7m/calib.txt
TEST=models/pydoc-7m/test.txt
[ $# -ge 2 ] || { echo "usage: $0 BASE.llq METHOD:TYPE:GROUP..." >&2; exit 2; }
base=$1; shift
make -s BUILD="$BUILD" "$JGET"
for cfg in "$@"; do
    IFS=: read -r method type group <<<"$cfg"
    q="$OUT/quant_table_$$.llq"
    calib=()
    [ "$method" = rtn ] || calib=(--calib "$CALIB")
    TIMEFORMAT='%R %U %S'
    { time nice -n "$NICE" "$BUILD/llq-quantize" "$base" -o "$q" --type "$type" --group "$group" \
        --method "$method" "${calib[@]}" -t "$THREADS" --force --quiet --json >"$OUT/quant_table_$$.q.json"; } \
        2>"$OUT/quant_table_$$.time"
    read -r wall user sys <"$OUT/quant_table_$$.time"
    nice -n "$NICE" "$BUILD/llq-eval" drift "$base" "$q" --text "$TEST" --protocol llama.cpp --ctx 256 \
        -t "$THREADS" --json --quiet >"$OUT/quant_table_$$.d.json"
    qj="$OUT/quant_table_$$.q.json" dj="$OUT/quant_table_$$.d.json"
    # shellcheck disable=SC2046
    set -- $("$JGET" "$qj" method type group quantized_bits_per_weight file_bytes) \
        $("$JGET" "$dj" ppl_quant/value dppl_pct/value dppl_pct/se kld_mean/value top1_pct/value top1_pct/se)
    awk -v wall="$wall" -v cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" 'BEGIN {
        printf "| %s | %s | %s | default | %.3f | %.2f MB (%.0f B) | %.1f s (%.1f s CPU) | %.3f | %+.3f ± %.3f | %.6f | %.2f ± %.2f |\n",
            ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] / 1e6, ARGV[5], wall, cpu, ARGV[6], ARGV[7], ARGV[8],
            ARGV[9], ARGV[10], ARGV[11] }' "$@"
    rm -f "$q" "$OUT/quant_table_$$".*
done
