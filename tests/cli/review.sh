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
    run timeout 20 "$@" -o "$TMP/fifo" --force --quiet
    expect_fail_line "llq-$tool" "fifo: is not a regular file" "llq-$tool -o a FIFO is refused"
    if [ -p "$TMP/fifo" ]; then _ok "llq-$tool left the FIFO in place"; else _fail "llq-$tool left the FIFO in place"; fi
    mkdir -p "$TMP/outdir"
    for o in "$TMP/outdir" "$TMP/outdir/" "$TMP/nodir/"; do
        run timeout 20 "$@" -o "$o" --force --quiet
        expect_fail_line "llq-$tool" "(is a directory|ends in '/')" "llq-$tool -o $(basename "$o")$(case $o in */) echo /;; esac) is refused"
    done
    run "$@" -o "$TMP/nodir/x.llq" --quiet
    expect_fail_line "llq-$tool" "nodir: no such directory" "llq-$tool -o into a missing directory is refused"
done
run "$E" drift "$TMP/m1.llq" "$TMP/m1.llq" --text "$TMP/text.txt" --ctx 4 --svg "$TMP/fifo" --force
expect_fail_line llq-eval "fifo: is not a regular file" "llq-eval drift --svg a FIFO is refused"
if [ -p "$TMP/fifo" ]; then _ok "llq-eval left the FIFO in place"; else _fail "llq-eval left the FIFO in place"; fi
