#!/bin/sh
# bench.sh BUILD — prints performance figures of every benchmark that exists (never pass/fail on time), then llq
# beside llama.cpp (bench/vs_llama.sh; skipped with a note without node and tests/interop's packages).
# side_llq is vs_llama.sh's helper, not a benchmark of its own.
B=${1:-build}
for b in "$B"/bench/*; do
    [ -x "$b" ] || continue
    [ "$(basename "$b")" = side_llq ] && continue
    echo "== $(basename "$b")"
    "$b"
done
echo "== vs_llama"
"$(dirname "$0")/../bench/vs_llama.sh" "$B"
