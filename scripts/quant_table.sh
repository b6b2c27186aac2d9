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
CALIB=models/pydoc-7m/calib.txt
TEST=models/pydoc-7m/test.txt
[ $# -ge 2 ] || { echo "usage: $0 BASE.llq METHOD:TYPE:GROUP..." >&2; exit 2; }
base=$1; shift
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
    python3 - "$OUT/quant_table_$$.q.json" "$OUT/quant_table_$$.d.json" "$wall" "$user" "$sys" <<'EOF'
import json, sys
q = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2]))
wall, cpu = float(sys.argv[3]), float(sys.argv[4]) + float(sys.argv[5])
b = q["file_bytes"]
print(f'| {q["method"]} | {q["type"]} | {q["group"]} | default | {q["quantized_bits_per_weight"]:.3f} '
      f'| {b / 1e6:.2f} MB ({b} B) | {wall:.1f} s ({cpu:.1f} s CPU) | {d["ppl_quant"]["value"]:.3f} '
      f'| {d["dppl_pct"]["value"]:+.3f} ± {d["dppl_pct"]["se"]:.3f} | {d["kld_mean"]["value"]:.6f} '
      f'| {d["top1_pct"]["value"]:.2f} ± {d["top1_pct"]["se"]:.2f} |', flush=True)
EOF
    rm -f "$q" "$OUT/quant_table_$$".*
done
