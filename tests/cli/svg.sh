# svg.sh — llq-eval drift --svg: the chart on the tiny fixture model against its q4 quantization, and the output
# rules (refused without --force, never an input, nothing left behind on an error or a full disk).
. tests/cli/lib.sh
E=$BUILD/llq-eval
F=$FIX/eval
S=$TMP/drift.svg
$BUILD/llq-quantize $F/tiny.llq -o $TMP/q4.llq --type q4 --group 32 --quiet
nl=$($BUILD/llq-inspect $F/tiny.llq --json 2>/dev/null | sed -n 's/.*"llama.n_layers": *\([0-9]*\).*/\1/p' | head -1)

no_temp() { if ls "$TMP" | grep -q '\.tmp\.'; then _fail "$1 (temp file left: $(ls "$TMP" | grep '\.tmp\.'))"; else _ok "$1"; fi; }

run $E drift $F/tiny.llq $TMP/q4.llq --tokens $F/tiny_tokens.u32 --ctx 20 --svg $S
expect_rc 0 "drift --svg"
expect_file "$S" "the chart exists"
expect_out "^KLD mean" "the table still goes to stdout"
if head -1 "$S" | grep -q '^<?xml' && tail -1 "$S" | grep -q '^</svg>$'; then _ok "svg document"; else _fail "svg document"; fi
bars=$(grep -c 'class="layer"' "$S")
if [ -n "$nl" ] && [ "$bars" -eq "$nl" ]; then _ok "one bar per layer ($bars)"; else _fail "one bar per layer ($bars vs '$nl')"; fi
if [ "$(grep -c 'class="bin"' "$S")" -eq 60 ]; then _ok "60 histogram bins"; else _fail "60 histogram bins"; fi
if grep -q "base: $F/tiny.llq" "$S" && grep -q "quant: $TMP/q4.llq" "$S" && grep -q 'ppl base [0-9]' "$S" &&
   grep -q 'mean KLD [0-9]' "$S" && grep -q 'top-1 agreement [0-9]' "$S"; then _ok "names and headline figures"
else _fail "names and headline figures"; fi
if grep -Eiq '<script|href|@import|url\(' "$S"; then _fail "self-contained"; else _ok "self-contained"; fi
if grep -Eiq '"[^"]*(nan|inf)[^"]*"' "$S"; then _fail "finite numbers"; else _ok "finite numbers"; fi
no_temp "no temp file after success"

sum=$(cksum <"$S")
run $E drift $F/tiny.llq $TMP/q4.llq --tokens $F/tiny_tokens.u32 --ctx 20 --svg $S
expect_fail_line llq-eval "already exists .*--force" "existing chart refused without --force"
if [ "$(cksum <"$S")" = "$sum" ]; then _ok "existing chart untouched"; else _fail "existing chart untouched"; fi
run $E drift $F/tiny.llq $TMP/q4.llq --tokens $F/tiny_tokens.u32 --ctx 10 --svg $S --force
expect_rc 0 "--force replaces the chart"
if [ "$(cksum <"$S")" != "$sum" ]; then _ok "replaced"; else _fail "replaced"; fi

cp $TMP/q4.llq $TMP/q4copy.llq
sum=$(cksum <$TMP/q4copy.llq)
run $E drift $F/tiny.llq $TMP/q4copy.llq --tokens $F/tiny_tokens.u32 --ctx 20 --svg $TMP/q4copy.llq --force
expect_fail_line llq-eval "one of the inputs" "an input is never the chart"
if [ "$(cksum <$TMP/q4copy.llq)" = "$sum" ]; then _ok "input untouched"; else _fail "input untouched"; fi

run $E drift $F/tiny.llq $TMP/q4.llq --tokens $F/tiny_tokens.u32 --ctx 65 --svg $TMP/bad.svg
expect_fail_line llq-eval "window length 65 is out of range" "drift error with --svg"
expect_no_file "$TMP/bad.svg" "no chart after an error"
run $E drift $F/tiny.llq $F/bad_shape.llq --tokens $F/tiny_tokens.u32 --svg $TMP/bad.svg
expect_rc 1 "bad model with --svg"
expect_no_file "$TMP/bad.svg" "no chart after a bad model"
run $E drift $F/tiny.llq $TMP/q4.llq --tokens $F/tiny_tokens.u32 --ctx 20 --svg $TMP/nodir/x.svg
expect_fail_line llq-eval "nodir/x.svg" "chart in a missing directory"
# a full disk: a 4-block file-size limit fails the write (EFBIG)
( ulimit -f 4; exec $E drift $F/tiny.llq $TMP/q4.llq --tokens $F/tiny_tokens.u32 --ctx 20 --svg $TMP/full.svg ) \
    >$TMP/out 2>$TMP/err; RC=$?
expect_fail_line llq-eval "full.svg: .*write failed" "write failure is one line"
expect_no_file "$TMP/full.svg" "no chart after a failed write"
no_temp "no temp file after the errors"

run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --svg $TMP/p.svg
expect_rc 2 "--svg only with drift"
run $E drift $F/tiny.llq $TMP/q4.llq --tokens $F/tiny_tokens.u32 --svg
expect_rc 2 "--svg needs a value"

# llq-inspect --compare --svg: the relative error of every compared tensor
I=$BUILD/llq-inspect
run $I $TMP/q4.llq --compare $F/tiny.llq --svg $TMP/t.svg
expect_rc 0 "inspect --compare --svg"
expect_file "$TMP/t.svg" "the tensor chart exists"
n=$(printf '%s\n' "$OUT" | sed -n 's/^\([0-9]*\) tensors compared.*/\1/p')
if [ -n "$n" ] && [ "$(grep -c 'class="bar"' $TMP/t.svg)" -eq "$n" ]; then _ok "one bar per compared tensor ($n)"
else _fail "one bar per compared tensor"; fi
if grep -q 'layers.0.attention.wq.weight' $TMP/t.svg && tail -1 $TMP/t.svg | grep -q '^</svg>$'; then _ok "tensor chart names the tensors"
else _fail "tensor chart names the tensors"; fi
run $I $TMP/q4.llq --compare $F/tiny.llq --svg $TMP/t.svg
expect_fail_line llq-inspect "already exists" "tensor chart refused without --force"
run $I $TMP/q4.llq --compare $F/tiny.llq --svg $TMP/t.svg --force --filter 'layers.0.*'
expect_rc 0 "tensor chart replaced with --force"
run $I $TMP/q4.llq --svg $TMP/t2.svg
expect_rc 2 "inspect --svg needs --compare"
run $I $TMP/q4.llq --compare $TMP/nope.llq --svg $TMP/t2.svg
expect_fail_line llq-inspect "nope.llq" "missing reference with --svg"
expect_no_file "$TMP/t2.svg" "no tensor chart after an error"
run $I $TMP/q4.llq --compare $F/tiny.llq --svg $TMP/q4.llq --force
expect_fail_line llq-inspect "one of the inputs" "inspect never writes the chart over an input"
no_temp "no temp file after the inspect cases"

# SIGINT during a drift with --svg: the temp chart is removed, no chart appears
$BUILD/llq-convert models/pydoc-7m -o $TMP/demo.llq --quiet
mkdir -p $TMP/sig
$E drift $TMP/demo.llq $TMP/demo.llq --text models/pydoc-7m/test.txt --ctx 256 --chunks 400 --svg $TMP/sig/d.svg \
    -q >/dev/null 2>&1 &
pid=$!
i=0; while [ $i -lt 100 ] && ! ls $TMP/sig | grep -q '\.tmp\.'; do sleep 0.1; i=$((i + 1)); done
if ls $TMP/sig | grep -q '\.tmp\.'; then _ok "temp chart exists while the drift runs"; else _fail "temp chart exists while the drift runs"; fi
kill -INT $pid; wait $pid; RC=$?
if [ $RC -ne 0 ] && [ -z "$(ls $TMP/sig)" ]; then _ok "SIGINT leaves neither the chart nor its temp file"
else _fail "SIGINT leaves neither the chart nor its temp file ($(ls $TMP/sig))"; fi
