#!/bin/sh
# demo.sh BUILD — runs the pipeline on the shipped demo model with whatever tools exist so far.
B=${1:-build}
M=models/pydoc-7m
OUT=$B/demo
mkdir -p "$OUT"
set -e
for t in convert inspect quantize eval; do
    [ -x "$B/llq-$t" ] && echo "demo: llq-$t is built" || echo "demo: llq-$t not built yet"
done
if [ -x "$B/llq-convert" ]; then
    echo "== llq-convert $M -o $OUT/pydoc-7m.llq"
    "$B/llq-convert" "$M" -o "$OUT/pydoc-7m.llq" --force
fi
if [ -x "$B/llq-inspect" ] && [ -f "$OUT/pydoc-7m.llq" ]; then
    echo "== llq-inspect $OUT/pydoc-7m.llq"
    "$B/llq-inspect" "$OUT/pydoc-7m.llq"
fi
