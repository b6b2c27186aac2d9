#!/bin/sh
# public-syms.sh [INCLUDE_DIR] — the functions the public headers (INCLUDE_DIR/llq/*.h, default include) declare,
# one name a line, sorted. The Makefile keeps exactly these global in libllq.a (every other symbol of the library
# is made local); tests/cli/install.sh checks the installed library against this list.
# The headers are preprocessed first, so names in comments do not count.
set -e
dir=${1:-include}
for h in "$dir"/llq/*.h; do echo "#include \"llq/$(basename "$h")\""; done |
    ${CC:-cc} -E -P -D_GNU_SOURCE -I"$dir" -x c - |
    grep -o '\bllq_[A-Za-z0-9_]*[[:space:]]*(' | sed 's/[[:space:]]*($//' | sort -u
