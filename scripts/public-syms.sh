#!/bin/sh
# public-syms.sh [INCLUDE_DIR] — the functions and data the public headers (INCLUDE_DIR/llq/*.h, default include) declare,
# one name a line, sorted. The Makefile keeps exactly these global in libllq.a (every other symbol of the library
# is made local); tests/cli/install.sh checks the installed library against this list.
# The headers are preprocessed first, so names in comments do not count.
set -e
dir=${1:-include}
for h in "$dir"/llq/*.h; do echo "#include \"llq/$(basename "$h")\""; done |
    ${CC:-cc} -E -P -D_GNU_SOURCE -I"$dir" -x c - >"${TMPDIR:-/tmp}/llq-public.$$"
{   # functions: a name followed by '('; data: an extern declaration's name
    grep -o '\bllq_[A-Za-z0-9_]*[[:space:]]*(' "${TMPDIR:-/tmp}/llq-public.$$" | sed 's/[[:space:]]*($//'
    grep -E '^[[:space:]]*extern[[:space:]]' "${TMPDIR:-/tmp}/llq-public.$$" | grep -v '"C"' |
        grep -o '\bllq_[A-Za-z0-9_]*[[:space:]]*[[;=]' | sed 's/[[:space:]]*[[;=]$//'
} | sort -u
rm -f "${TMPDIR:-/tmp}/llq-public.$$"
