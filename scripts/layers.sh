#!/bin/sh
# layers.sh [ROOT] — the folders' dependency graph, and a check of every #include against it: fails (exit 1,
# one line per offence) when a library folder includes a header of a folder it may not depend on, or a header
# this file does not know. Run by `make layers` and by `make test` (tests/cli/layers.sh);
# docs/ARCHITECTURE.md describes the same graph.
set -e
root=${1:-.}

# ---- the graph: folder, then the folders it may include from (its own headers are always allowed) ----
DEPS='
common
format    common
inspect   format common
ckpt      inspect format common
tokenizer format common
convert   ckpt tokenizer inspect format common
kernels   format common
eval      kernels tokenizer format common
quantize  eval kernels tokenizer format common
tools     *
'
# ---- public headers (include/llq/) and the folder that implements each ----
HEADERS='
llq.h       common
format.h    format
hparams.h   format
gguf.h      format
blocks.h    format
inspect.h   inspect
ckpt.h      ckpt
tokenizer.h tokenizer
convert.h   convert
kernels.h   kernels
model.h     eval
eval.h      eval
quant.h     quantize
calib.h     quantize
'

folders=$(printf '%s\n' "$DEPS" | awk 'NF { print $1 }')
files=
for d in $folders; do
    for f in "$root/$d"/*.c "$root/$d"/*.h; do
        [ -f "$f" ] && files="$files $f"
    done
done
[ -n "$files" ] || { echo "layers.sh: no sources under $root"; exit 1; }

# shellcheck disable=SC2086
awk -v deps="$DEPS" -v headers="$HEADERS" -v root="$root" '
BEGIN {
    n = split(deps, L, "\n")
    for (i = 1; i <= n; i++) {
        k = split(L[i], w, " ")
        if (k == 0) continue
        known[w[1]] = 1
        for (j = 2; j <= k; j++) allow[w[1], w[j]] = 1
    }
    n = split(headers, L, "\n")
    for (i = 1; i <= n; i++)
        if (split(L[i], w, " ") == 2) owner[w[1]] = w[2]
    bad = 0
}
FNR == 1 {
    path = FILENAME
    sub("^" root "/", "", path)
    folder = path
    sub("/.*", "", folder)
    dir = FILENAME
    sub("/[^/]*$", "", dir)
}
/^[ \t]*#[ \t]*include[ \t]*["<]/ {
    line = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
    q = substr(line, 1, 1)
    if (q == "<" && line !~ /^<llq\//) next           # system headers
    name = substr(line, 2)
    sub(/[">].*/, "", name)
    who = ""
    if (name ~ /^llq\//) {
        h = name
        sub(/^llq\//, "", h)
        who = (h in owner) ? owner[h] : "?"
    } else if (name ~ /^\.\.\//) {
        who = name
        sub(/^\.\.\//, "", who)
        sub(/\/.*/, "", who)
    } else if ((getline tmp < (dir "/" name)) >= 0) {
        close(dir "/" name)
        who = folder                                   # a header beside the file
    } else if ((getline tmp < (root "/tools/" name)) >= 0) {
        close(root "/tools/" name)
        who = "tools"
    } else {
        who = "?"
    }
    if (who == "?") {
        printf "%s:%d: includes \"%s\", which scripts/layers.sh does not place in a folder\n", path, FNR, name
        bad = 1
    } else if (who != folder && !allow[folder, "*"] && !allow[folder, who]) {
        printf "%s:%d: %s/ includes \"%s\" of %s/, a layer it may not depend on (scripts/layers.sh)\n", path, FNR, folder, name, who
        bad = 1
    }
}
END { exit bad }
' $files
