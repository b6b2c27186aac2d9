#!/bin/sh
# outputs.sh — crash-safe outputs of every tool that writes a file (llq-convert, llq-quantize): an existing
# output is refused without --force (and kept intact); a tool never writes over one of its own inputs (however
# the path is spelled); a full disk (file-size rlimit, with and without SIGXFSZ ignored by the caller; a 1 MB
# tmpfs when mount works, as root) gives one error line and leaves no temp file (and an existing output
# intact); SIGINT / SIGTERM in the middle of the write (caught with SIGSTOP once the temp file exists) remove
# the temp file and leave no output.
. tests/cli/lib.sh
C=$BUILD/llq-convert
Q=$BUILD/llq-quantize
I=$BUILD/llq-inspect
K=$FIX/ckpt
DEMO=models/pydoc-7m
[ -x "$C" ] && [ -x "$Q" ] && [ -x "$I" ] || { echo "ok - SKIP: tools not built"; exit 0; }

# dir_empty DIR NAME: DIR holds no file at all (no output, no temp file)
dir_empty() { if [ -z "$(ls -A "$1")" ]; then _ok "$2"; else _fail "$2 (left: $(ls -A "$1"))"; fi; }
# same_sum FILE SUM NAME: FILE's cksum is SUM
same_sum() { if [ "$(cksum <"$1")" = "$2" ]; then _ok "$3"; else _fail "$3 ($1 changed)"; fi; }

# Inputs: a small checkpoint dir (copy, so that the tools may be pointed at its files), its .llq, the demo .llq
M=$TMP/meta1; mkdir -p "$M"; cp "$K/meta-1/"* "$M/"
run "$C" "$M" -o "$TMP/m1.llq" --quiet
expect_rc 0 "convert the meta-1 fixture"
run "$C" "$DEMO" -o "$TMP/demo.llq" --quiet
expect_rc 0 "convert the demo model"

# ---- refuse to overwrite without --force ----
for tool in convert quantize; do
    d=$TMP/ow-$tool; mkdir -p "$d"; echo OLD >"$d/out.llq"; old=$(cksum <"$d/out.llq")
    if [ $tool = convert ]; then set -- "$C" "$M"; else set -- "$Q" "$TMP/m1.llq" --type q8; fi
    run "$@" -o "$d/out.llq" --quiet
    expect_fail_line "llq-$tool" "exists|--force" "llq-$tool refuses an existing output without --force"
    same_sum "$d/out.llq" "$old" "llq-$tool keeps the existing output"
    if [ "$(ls -A "$d")" = "out.llq" ]; then _ok "llq-$tool left no temp file"; else _fail "llq-$tool left no temp file"; fi
    run "$@" -o "$d/out.llq" --quiet --force
    expect_rc 0 "llq-$tool --force replaces it"
    run "$I" "$d/out.llq"
    expect_rc 0 "llq-$tool's replacement is a valid .llq"
done

# ---- never write over an input, however spelled ----
for f in consolidated.00.pth params.json tokenizer.model; do
    s=$(cksum <"$M/$f")
    for spelled in "$M/$f" "$M/./$f" "$TMP/../$(basename "$TMP")/meta1/$f"; do
        run "$C" "$M" -o "$spelled" --force --quiet
        expect_fail_line llq-convert "." "llq-convert -o its input $spelled is refused"
        same_sum "$M/$f" "$s" "llq-convert left its input $f intact ($spelled)"
    done
done
run "$C" "$M/consolidated.00.pth" -o "$M/consolidated.00.pth" --force --quiet
expect_fail_line llq-convert "." "llq-convert FILE -o FILE is refused"
s=$(cksum <"$TMP/m1.llq")
for spelled in "$TMP/m1.llq" "$TMP/./m1.llq" "$TMP/../$(basename "$TMP")/m1.llq"; do
    run "$Q" "$TMP/m1.llq" -o "$spelled" --force --quiet
    expect_fail_line llq-quantize "." "llq-quantize -o its input $spelled is refused"
    same_sum "$TMP/m1.llq" "$s" "llq-quantize left its input intact ($spelled)"
done
ls -A "$M" >"$TMP/ls"; if [ "$(wc -l <"$TMP/ls")" -eq 3 ]; then _ok "no temp file beside the inputs"; else _fail "no temp file beside the inputs ($(cat "$TMP/ls"))"; fi

# ---- disk full ----
# full TOOL-NAME DIR HOW CMD...: CMD (writing into DIR) fails with one line; DIR ends as it started
full() {
    n=$1; d=$2; how=$3; shift 3
    case $how in
        rlimit) run sh -c 'ulimit -f 1000 && exec "$@"' sh "$@" ;;                 # SIGXFSZ as the shell left it
        rlimit-ign) run sh -c 'trap "" XFSZ; ulimit -f 1000 && exec "$@"' sh "$@" ;; # write fails with EFBIG
        *) run "$@" ;;
    esac
    expect_fail_line "$n" "write|[Ss]pace|large|full|fsync|close" "$n: disk full ($how) is one error line"
}
for how in rlimit rlimit-ign; do
    d=$TMP/full-$how; mkdir -p "$d"
    full llq-convert "$d" $how "$C" "$DEMO" -o "$d/out.llq" --quiet
    dir_empty "$d" "llq-convert: disk full ($how) leaves no temp file"
    full llq-quantize "$d" $how "$Q" "$TMP/demo.llq" -o "$d/out.llq" --type q8 --quiet
    dir_empty "$d" "llq-quantize: disk full ($how) leaves no temp file"
    echo OLD >"$d/out.llq"; old=$(cksum <"$d/out.llq")
    full llq-convert "$d" $how "$C" "$DEMO" -o "$d/out.llq" --quiet --force
    same_sum "$d/out.llq" "$old" "llq-convert --force: disk full ($how) keeps the old output"
    if [ "$(ls -A "$d")" = "out.llq" ]; then _ok "llq-convert --force: no temp file ($how)"; else _fail "llq-convert --force: no temp file ($how)"; fi
done
T=$TMP/tmpfs; mkdir -p "$T"
if mount -t tmpfs -o size=1m llq-test "$T" 2>/dev/null; then
    full llq-convert "$T" tmpfs "$C" "$DEMO" -o "$T/out.llq" --quiet
    dir_empty "$T" "llq-convert: full 1 MB tmpfs leaves no temp file"
    full llq-quantize "$T" tmpfs "$Q" "$TMP/demo.llq" -o "$T/out.llq" --type q4 --quiet
    dir_empty "$T" "llq-quantize: full 1 MB tmpfs leaves no temp file"
    umount "$T"
else
    echo "ok - SKIP: cannot mount a tmpfs (not root?): the rlimit cases above stand for a full disk"
fi

# ---- SIGINT / SIGTERM during the write ----
# interrupt SIG RC NAME DIR CMD...: starts CMD (writing into DIR), waits for its temp file, freezes it (SIGSTOP),
# sends SIG, resumes it; expects exit RC and DIR empty. Retries if the tool finished before it was caught.
interrupt() {
    sig=$1; want=$2; n=$3; d=$4; shift 4
    caught=0; tries=0
    while [ $caught -eq 0 ] && [ $tries -lt 20 ]; do
        tries=$((tries + 1)); rm -rf "$d"; mkdir -p "$d"
        freeze_mid_write "$d" 'kill -$sig $pid' "$@"
        caught=$CAUGHT
    done
    if [ $caught -eq 1 ]; then
        expect_rc "$want" "$n: SIG$sig mid-write exits $want"
        dir_empty "$d" "$n: SIG$sig mid-write removes the temp file (caught after $tries tries)"
    else
        _fail "$n: SIG$sig: never caught the tool mid-write in $tries tries"
    fi
}
interrupt TERM 143 llq-convert "$TMP/sig" "$C" "$DEMO" -o "$TMP/sig/out.llq" --quiet
interrupt INT 130 llq-convert "$TMP/sig" "$C" "$DEMO" -o "$TMP/sig/out.llq" --quiet
interrupt TERM 143 llq-quantize "$TMP/sig" "$Q" "$TMP/demo.llq" -o "$TMP/sig/out.llq" --quiet -t 1
interrupt INT 130 llq-quantize "$TMP/sig" "$Q" "$TMP/demo.llq" -o "$TMP/sig/out.llq" --quiet -t 1
