#!/bin/sh
# review.sh — what a hostile-input review of the tools found (issue 15, item 6), one section per finding: a
# result or an output that was silently wrong, or a message a user could not act on. Each case failed before
# its fix.
. tests/cli/lib.sh
C=$BUILD/llq-convert
Q=$BUILD/llq-quantize
I=$BUILD/llq-inspect
E=$BUILD/llq-eval
MK=$BUILD/tests/mkllq
K=$FIX/ckpt
[ -x "$C" ] && [ -x "$Q" ] && [ -x "$I" ] && [ -x "$E" ] && [ -x "$MK" ] || { echo "ok - SKIP: tools not built"; exit 0; }

# u32 token ids 0..49 (the vocabulary of mkllq's model), 64 of them
TOK=$TMP/tok.u32
i=0; while [ $i -lt 64 ]; do printf "\\$(printf %03o $((i * 7 % 50)))\\000\\000\\000" >>"$TOK"; i=$((i + 1)); done

# ---- a broken model never scores as perfect: non-finite logits are an error ----
"$MK" model "$TMP/ok.llq" && "$MK" model "$TMP/nan.llq" --shift nan && "$MK" model "$TMP/inf.llq" --shift inf \
    || _fail "mkllq writes the models"
for bad in nan inf; do
    run "$E" drift "$TMP/ok.llq" "$TMP/$bad.llq" --tokens "$TOK" --ctx 20
    expect_fail_line llq-eval "quantized model.*not finite" "drift against a model with $bad weights is an error"
    run "$E" drift "$TMP/ok.llq" "$TMP/$bad.llq" --tokens "$TOK" --ctx 20 --per-layer --json
    expect_fail_line llq-eval "quantized model.*not finite" "drift --per-layer --json against $bad weights is an error"
    if grep -q NaN "$TMP/out"; then _fail "drift --json prints no bare NaN ($bad)"; else _ok "drift --json prints no bare NaN ($bad)"; fi
    run "$E" drift "$TMP/$bad.llq" "$TMP/ok.llq" --tokens "$TOK" --ctx 20
    expect_fail_line llq-eval "base model.*not finite" "drift with a $bad base model is an error"
    run "$E" ppl "$TMP/$bad.llq" --tokens "$TOK" --ctx 20
    expect_fail_line llq-eval "not finite" "ppl of a model with $bad weights is an error"
done
run "$E" drift "$TMP/ok.llq" "$TMP/ok.llq" --tokens "$TOK" --ctx 20 --per-layer --json
expect_rc 0 "drift of a finite model against itself still works"
"$MK" known "$TMP/known.llq" || _fail "mkllq known"
run "$I" "$TMP/known.llq" --compare "$TMP/known.llq" --filter k.nan
expect_rc 1 "inspect --compare of NaN data exits 1"
if grep -E '^k\.nan' "$TMP/out" | grep -q inf; then _fail "inspect --compare: NaN data has no SQNR inf"; else _ok "inspect --compare: NaN data has no SQNR inf"; fi
expect_err_line "k.nan.*NaN or Inf" "inspect --compare names the tensor holding NaN"
run "$I" "$TMP/known.llq" --compare "$TMP/known.llq" --filter k.sym
expect_rc 0 "inspect --compare of finite data exits 0"
expect_out "^k\.sym .* inf " "identical finite data still has SQNR inf"

# ---- no input of any tool may be its output (calibration text, tokenizer, --text), even with --force ----
M=$TMP/meta1; mkdir -p "$M"; cp "$K/meta-1/"* "$M/"
run "$C" "$M" -o "$TMP/m1.llq" --quiet
expect_rc 0 "convert the meta-1 fixture"
printf 'def f(x):\n    return x + 1\n' >"$TMP/calib.txt"; s=$(cksum <"$TMP/calib.txt")
run "$Q" "$TMP/m1.llq" -o "$TMP/calib.txt" --force --method awq --calib "$TMP/calib.txt" --calib-samples 1 --calib-ctx 4 --quiet
expect_fail_line llq-quantize "calib.txt: is one of the inputs" "llq-quantize -o its --calib text is refused"
if [ "$(cksum <"$TMP/calib.txt")" = "$s" ]; then _ok "the calibration text is intact"; else _fail "the calibration text is intact"; fi
cp "$M/tokenizer.model" "$TMP/tok.model"; s=$(cksum <"$TMP/tok.model")
run "$C" "$M" --tokenizer "$TMP/tok.model" -o "$TMP/tok.model" --force --quiet
expect_fail_line llq-convert "tok.model" "llq-convert -o its --tokenizer is refused"
if [ "$(cksum <"$TMP/tok.model")" = "$s" ]; then _ok "the tokenizer is intact"; else _fail "the tokenizer is intact"; fi
cp "$TMP/calib.txt" "$TMP/text.txt"; s=$(cksum <"$TMP/text.txt")
run "$E" drift "$TMP/m1.llq" "$TMP/m1.llq" --text "$TMP/text.txt" --ctx 4 --svg "$TMP/text.txt" --force
expect_fail_line llq-eval "text.txt: is one of the inputs" "llq-eval drift --svg its --text is refused"
if [ "$(cksum <"$TMP/text.txt")" = "$s" ]; then _ok "the --text file is intact"; else _fail "the --text file is intact"; fi

# ---- outputs that are not regular files: a character device is written through (never replaced by a regular
# file), anything else (FIFO, directory, a path ending in '/') is refused before any work ----
is_chr() { if [ -c "$1" ]; then _ok "$2"; else _fail "$2 ($(ls -ld "$1"))"; fi; }
if mknod "$TMP/null" c 1 3 2>/dev/null; then
    run "$C" "$M" -o "$TMP/null" --force --quiet
    expect_rc 0 "llq-convert -o a null device writes through it"
    is_chr "$TMP/null" "llq-convert -o a device leaves the device in place"
    run "$Q" "$TMP/m1.llq" -o "$TMP/null" --force --type q8 --quiet
    expect_rc 0 "llq-quantize -o a null device writes through it"
    is_chr "$TMP/null" "llq-quantize -o a device leaves the device in place"
    run "$E" drift "$TMP/m1.llq" "$TMP/m1.llq" --text "$TMP/text.txt" --ctx 4 --svg "$TMP/null" --force
    expect_rc 0 "llq-eval drift --svg a null device writes through it"
    is_chr "$TMP/null" "llq-eval drift --svg a device leaves the device in place"
    if [ -z "$(ls "$TMP" | grep '\.tmp\.')" ]; then _ok "no temp file beside the device"; else _fail "no temp file beside the device"; fi
else
    echo "ok - SKIP: mknod not permitted (not root): the device cases need a device node of their own"
fi
mkfifo "$TMP/fifo"
for tool in convert quantize; do
    if [ $tool = convert ]; then set -- "$C" "$M"; else set -- "$Q" "$TMP/m1.llq" --type q8; fi
    run timeout -k 5 20 "$@" -o "$TMP/fifo" --force --quiet
    expect_fail_line "llq-$tool" "fifo: is not a regular file" "llq-$tool -o a FIFO is refused"
    if [ -p "$TMP/fifo" ]; then _ok "llq-$tool left the FIFO in place"; else _fail "llq-$tool left the FIFO in place"; fi
    mkdir -p "$TMP/outdir"
    for o in "$TMP/outdir" "$TMP/outdir/" "$TMP/nodir/"; do
        run timeout -k 5 20 "$@" -o "$o" --force --quiet
        expect_fail_line "llq-$tool" "(is a directory|ends in '/')" "llq-$tool -o $(basename "$o")$(case $o in */) echo /;; esac) is refused"
    done
    run "$@" -o "$TMP/nodir/x.llq" --quiet
    expect_fail_line "llq-$tool" "nodir: no such directory" "llq-$tool -o into a missing directory is refused"
done
run "$E" drift "$TMP/m1.llq" "$TMP/m1.llq" --text "$TMP/text.txt" --ctx 4 --svg "$TMP/fifo" --force
expect_fail_line llq-eval "fifo: is not a regular file" "llq-eval drift --svg a FIFO is refused"
if [ -p "$TMP/fifo" ]; then _ok "llq-eval left the FIFO in place"; else _fail "llq-eval left the FIFO in place"; fi

# ---- a FIFO (or anything but a regular file) as an input is refused at once, never opened for a blocking read
# (which held SIGINT/SIGTERM: only SIGKILL stopped llq-convert) ----
for f in consolidated.00.pth params.json tokenizer.model; do
    d=$TMP/fifo-$f; mkdir -p "$d"; cp "$M"/* "$d/"; rm "$d/$f"; mkfifo "$d/$f"
    run timeout -k 5 20 "$C" "$d" -o "$TMP/fifo-out.llq" --quiet
    expect_fail_line llq-convert "$f: is not a regular file \(a FIFO\)" "llq-convert refuses a FIFO $f at once"
done
run timeout -k 5 20 "$C" "$M" --tokenizer "$TMP/fifo" -o "$TMP/fifo-out.llq" --quiet
expect_fail_line llq-convert "fifo: is not a regular file \(a FIFO\)" "llq-convert refuses a FIFO --tokenizer at once"
run timeout -k 5 20 "$I" "$TMP/fifo"
expect_fail_line llq-inspect "fifo: is not a regular file \(a FIFO\)" "llq-inspect refuses a FIFO at once"
run timeout -k 5 20 "$Q" "$TMP/fifo" -o "$TMP/fifo-out.llq" --type q8 --quiet
expect_fail_line llq-quantize "fifo: is not a regular file \(a FIFO\)" "llq-quantize refuses a FIFO model at once"
run timeout -k 5 20 "$E" ppl "$TMP/fifo" --tokens "$TOK" --ctx 4
expect_fail_line llq-eval "fifo: is not a regular file \(a FIFO\)" "llq-eval refuses a FIFO model at once"
run timeout -k 5 20 "$I" "$TMP"
expect_fail_line llq-inspect "is a directory" "llq-inspect says a directory is a directory"

# ---- an input truncated while mapped: SIGBUS is caught; one line "file changed while reading", no temp file.
# The tool is frozen (SIGSTOP) once its temp file exists, the input truncated, the tool resumed. ----
DEMO=models/pydoc-7m
run "$C" "$DEMO" -o "$TMP/demo.llq" --quiet
expect_rc 0 "convert the demo model"
# truncated NAME FILE CMD...: runs CMD (writing DIR=$TMP/trunc), truncates FILE (a copy, restored from $FILE.orig)
truncated() {
    n=$1; f=$2; shift 2; d=$TMP/trunc; caught=0; tries=0
    while [ $caught -eq 0 ] && [ $tries -lt 20 ]; do
        tries=$((tries + 1)); rm -rf "$d"; mkdir -p "$d"; cp "$f.orig" "$f"
        freeze_mid_write "$d" 'truncate -s 4096 "$f"' "$@"
        caught=$CAUGHT
    done
    if [ $caught -eq 1 ]; then
        expect_fail_line "$n" "file changed while reading" "$n: an input truncated while mapped is one error line"
        if [ -z "$(ls -A "$d")" ]; then _ok "$n: no temp file after the truncation"; else _fail "$n: no temp file after the truncation ($(ls -A "$d"))"; fi
    else
        _fail "$n: never caught the tool mid-write in $tries tries"
    fi
}
T=$TMP/tsrc; mkdir -p "$T"; cp "$DEMO"/params.json "$DEMO"/tokenizer.model "$T/"
cp "$DEMO/consolidated.00.pth" "$T/consolidated.00.pth.orig"
truncated llq-convert "$T/consolidated.00.pth" "$C" "$T" -o "$TMP/trunc/out.llq" --quiet
cp "$TMP/demo.llq" "$TMP/tq.llq.orig"
truncated llq-quantize "$TMP/tq.llq" "$Q" "$TMP/tq.llq" -o "$TMP/trunc/out.llq" --type q4 --quiet

# ---- messages a user can act on ----
L=$TMP/lfs; mkdir -p "$L"; cp "$M/params.json" "$L/"
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 13655762\n' >"$L/consolidated.00.pth"
run "$C" "$L" -o "$TMP/lfs.llq" --no-tokenizer --quiet
expect_fail_line llq-convert "consolidated.00.pth: not a checkpoint: a Git LFS pointer, not the file itself \(fetch it: git lfs pull\)" "a Git LFS pointer is named as such"
run "$I" "$L/consolidated.00.pth"
expect_fail_line llq-inspect "Git LFS pointer" "llq-inspect names a Git LFS pointer"
printf '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>...</body></html>\n' >"$L/page.html"
cp "$L/page.html" "$L/consolidated.00.pth"
run "$C" "$L" -o "$TMP/lfs.llq" --no-tokenizer --quiet
expect_fail_line llq-convert "an HTML page, not the file itself \(a failed download\?\)" "an HTML page as a checkpoint is named as such"
run "$Q" "$L/page.html" -o "$TMP/lfs.llq" --type q8 --quiet
expect_fail_line llq-quantize "not an .llq file: an HTML page" "an HTML page as a .llq is named as such"
run "$C" "$M" --tokenizer "$L/page.html" -o "$TMP/lfs.llq" --quiet
expect_fail_line llq-convert "page.html: not a SentencePiece model: an HTML page" "an HTML tokenizer.model is named as such"
run "$Q" "$TMP/m1.llq" -o "$TMP/cq.llq" --method awq --calib "$TMP" --calib-samples 1 --calib-ctx 4 --quiet
expect_fail_line llq-quantize "is a directory" "--calib DIR says it is a directory"
run sh -c 'cat "$1" "$1" "$1" | "$2" "$3" -o "$4" --method awq --calib /dev/stdin --calib-samples 1 --calib-ctx 4 --quiet' \
    sh "$TMP/calib.txt" "$Q" "$TMP/m1.llq" "$TMP/cq.llq"
expect_rc 0 "--calib reads a pipe"
run "$C" "$M" -o "$TMP/ctx1.llq" --context 1 --quiet
run "$E" ppl "$TMP/ctx1.llq" --tokens "$TOK" --ctx 32
expect_fail_line llq-eval "context length is 1" "a model too short for any window says its context length"
if grep -q "2\.\.1" "$TMP/err"; then _fail "no empty range 2..1 in the message"; else _ok "no empty range 2..1 in the message"; fi
run "$C" "$M" -o "$TMP/ctx16.llq" --context 16 --quiet
run "$E" ppl "$TMP/ctx16.llq" --tokens "$TOK" --ctx 100000
expect_fail_line llq-eval "window length 100000 is out of range \(2\.\.16, the model's context length\)" "--ctx beyond the model's context is refused"

# ---- silent acceptance: --group 0 (not a group size; "row" is how per-row is asked for), --seed -1 ----
run "$Q" "$TMP/m1.llq" -o "$TMP/g0.llq" --type q8 --group 0 --quiet
expect_rc 2 "--group 0 is a usage error"
expect_err_line "--group must be .* not '0'" "--group 0 says it is not a group size"
run "$Q" "$TMP/m1.llq" -o "$TMP/g1.llq" --type q8 --keep 'output.weight=q8:0' --quiet
expect_rc 2 "a rule with group 0 is a usage error"
run "$E" generate "$TMP/m1.llq" --prompt "def" -n 2 --seed -1
expect_rc 2 "generate --seed -1 is a usage error"
run "$Q" "$TMP/m1.llq" -o "$TMP/g2.llq" --method awq --calib "$TMP/calib.txt" --seed -1 --quiet
expect_rc 2 "quantize --seed -1 is a usage error"

# ---- unknown context (llama.context_length 0): no silent default window (512 on a model trained on 256), and a
# window given for it is said to be unchecked ----
run "$E" ppl "$TMP/m1.llq" --tokens "$TOK"
expect_fail_line llq-eval "context_length is 0.*--ctx" "ppl on a model of unknown context asks for --ctx"
run "$E" drift "$TMP/m1.llq" "$TMP/m1.llq" --tokens "$TOK"
expect_fail_line llq-eval "context_length is 0.*--ctx" "drift on a model of unknown context asks for --ctx"
run "$E" ppl "$TMP/m1.llq" --tokens "$TOK" --ctx 16
expect_rc 0 "ppl with --ctx on a model of unknown context runs"
expect_err_line "unknown.*16" "... and says the window is not checked against a trained context"
run "$E" ppl "$TMP/ctx16.llq" --tokens "$TOK"
expect_rc 0 "ppl on a model of known context defaults to it"

# ---- a tokenizer with fewer pieces than the embedding rows: padding rows (say so), or another model's
# tokenizer (warn, naming both counts) ----
H=$FIX/hostile
run "$C" "$M" --tokenizer "$H/tokenizer_316.model" -o "$TMP/t316.llq"
expect_rc 0 "a tokenizer 4 pieces short of the embedding rows converts"
if grep -Eq "^llq-convert: note: .*tokenizer_316.model has 316 pieces for 320 embedding rows: the last 4 rows are padding" "$TMP/err"
then _ok "... with a note that the rows past it are padding"; else _fail "... with a note that the rows past it are padding"; fi
run "$C" models/pydoc-7m --tokenizer "$M/tokenizer.model" -o "$TMP/tdemo.llq" --quiet
expect_rc 0 "another model's tokenizer (320 pieces for 4096 rows) converts"
expect_err_line "warning: .*tokenizer.model has 320 pieces, far fewer than the 4096 embedding rows: probably another model's tokenizer" \
    "... with a warning, even with --quiet"
run "$C" "$TMP/tdemo.llq" -o "$TMP/tdemo2.llq" --quiet
expect_rc 0 "that .llq copies to another .llq"
expect_err_line "warning: the source's tokenizer has 320 pieces, far fewer than the 4096 embedding rows" \
    "... with the same warning naming the source's tokenizer, not a tokenizer.model file"
