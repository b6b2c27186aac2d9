#!/bin/sh
# demo.sh BUILD — the whole pipeline on the shipped demo model (models/pydoc-7m, bf16 Meta checkpoint):
# convert -> inspect -> quantize (q8, q4 RTN, q4 calibrated) -> drift table. Outputs go to BUILD/demo/.
# DEMO_CHUNKS (default 64) windows of 256 tokens of the test split are scored; DEMO_CHUNKS=0 scores all 544.
set -e
B=${1:-build}
M=models/pydoc-7m
O=$B/demo
CHUNKS=${DEMO_CHUNKS:-64}
mkdir -p "$O"
T0=$(date +%s)
step() { printf '\n== %s\n' "$*"; }
chunks() { [ "$CHUNKS" -gt 0 ] && printf -- '--chunks %s' "$CHUNKS"; }

step "llq-convert $M -o $O/pydoc-7m.llq"
"$B/llq-convert" "$M" -o "$O/pydoc-7m.llq" --force --quiet

step "llq-inspect $O/pydoc-7m.llq"
"$B/llq-inspect" "$O/pydoc-7m.llq"

step "llq-quantize: q8 g32, q4 RTN g128, q4 AWQ+GPTQ g128 (calibrated on $M/calib.txt)"
"$B/llq-quantize" "$O/pydoc-7m.llq" -o "$O/q8.llq" --type q8 --group 32 --force --quiet
"$B/llq-quantize" "$O/pydoc-7m.llq" -o "$O/q4-rtn.llq" --type q4 --group 128 --force --quiet
"$B/llq-quantize" "$O/pydoc-7m.llq" -o "$O/q4-awq-gptq.llq" --type q4 --group 128 --method awq+gptq \
    --calib "$M/calib.txt" --calib-samples 32 --calib-ctx 256 --force --quiet

step "llq-inspect --compare: q4 AWQ+GPTQ against the bf16 original (first 4 tensors)"
"$B/llq-inspect" "$O/q4-awq-gptq.llq" --compare "$O/pydoc-7m.llq" --filter 'layers.0.attention.w*'

step "llq-eval drift on $M/test.txt (ctx 256$( [ "$CHUNKS" -gt 0 ] && echo ", first $CHUNKS windows"))"
# one run, one table: each quantized model against the original on the same windows, one chart per model
# shellcheck disable=SC2046
"$B/llq-eval" drift "$O/pydoc-7m.llq" "$O/q8.llq" "$O/q4-rtn.llq" "$O/q4-awq-gptq.llq" --text "$M/test.txt" \
    --ctx 256 $(chunks) --quiet --force \
    --svg "$O/q8.drift.svg" --svg "$O/q4-rtn.drift.svg" --svg "$O/q4-awq-gptq.drift.svg"
echo "charts (per-layer error, KL distribution): $O/*.drift.svg — open one in a browser"

step "llq-eval generate (q4 AWQ+GPTQ, greedy)"
"$B/llq-eval" generate "$O/q4-awq-gptq.llq" --prompt 'The list type' -n 40 --temp 0 --quiet
echo
echo "demo: done in $(( $(date +%s) - T0 )) s; files in $O/"
