# eval.sh — llq-eval on the tiny PyTorch fixture (tests/make_eval_refs.py), its bad-input handling, and on the
# demo model models/pydoc-7m (bf16; converted with llq-convert) against REFERENCE.md's perplexity.
. tests/cli/lib.sh
E=$BUILD/llq-eval
F=$FIX/eval

# Under the sanitizers (make asan / ubsan: 3-10x slower) the full-split perplexities are not recomputed: a few
# windows of the demo model exercise the same code, exactness is checked by the optimised build.
QUICK=""
case "$BUILD" in *-asan | *-ubsan) QUICK=1 ;; esac

# close A B REL NAME: |A-B| <= REL·|B|
close() {
    if awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; if (b < 0) b = -b; exit !(d <= r * b) }'
    then _ok "$4"; else RC=1; _fail "$4 ($1 vs $2)"; fi
}

run $E --help
expect_rc 0 "help"
expect_out "llq-eval ppl MODEL" "help shows usage"
run $E --version
expect_out "llq" "version"
run $E
expect_rc 2 "no command is a usage error"
run $E ppl $F/tiny.llq
expect_rc 2 "ppl without --text/--tokens"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --kernel slow
expect_rc 2 "bad --kernel"

# perplexity = exp(PyTorch's total NLL / 39)
want=$(awk '{ printf "%.12f", exp($1 / 39) }' $F/tiny_nll.txt)
for k in fast ref; do
    run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 40 --kernel $k -t 2
    expect_rc 0 "ppl tiny ($k)"
    close "$(printf '%s\n' "$OUT" | awk '/^ppl/ { print $2 }')" "$want" 1e-5 "ppl tiny equals PyTorch's ($k)"
done
for l in read mmap auto; do
    run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 40 --load $l
    expect_rc 0 "ppl tiny (--load $l)"
    close "$(printf '%s\n' "$OUT" | awk '/^ppl/ { print $2 }')" "$want" 1e-5 "ppl tiny equals PyTorch's (--load $l)"
done
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --load copy
expect_rc 2 "bad --load"
# --act q8: q4 weights take the integer window path (close to f32 activations); f32 weights stay exact
run $BUILD/llq-quantize $F/tiny.llq -o $TMP/tiny_q4.llq --type q4 --group 32 -q
expect_rc 0 "q4 tiny for --act"
run $E ppl $TMP/tiny_q4.llq --tokens $F/tiny_tokens.u32 --ctx 40
p32=$(printf '%s\n' "$OUT" | awk '/^ppl/ { print $2 }')
run $E ppl $TMP/tiny_q4.llq --tokens $F/tiny_tokens.u32 --ctx 40 --act q8
expect_rc 0 "ppl --act q8"
expect_out "q8 activations" "ppl names the activations"
close "$(printf '%s\n' "$OUT" | awk '/^ppl/ { print $2 }')" "$p32" 0.02 "q4 ppl with --act q8 within 2 % of f32 activations"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 40 --act q8
close "$(printf '%s\n' "$OUT" | awk '/^ppl/ { print $2 }')" "$want" 1e-5 "--act q8 leaves f32 weights exact"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --act q4
expect_rc 2 "bad --act"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 20 --json
expect_json "ppl --json"
expect_out '"windows":2' "two windows of 20"
expect_out '"scored":38' "19 scored per window"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 20 --protocol llama.cpp --json
expect_out '"scored":18' "llama.cpp protocol scores positions 10..18"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 10 --chunks 3 --json
expect_out '"windows":3' "--chunks"
run $E drift $F/tiny.llq $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 20 --per-layer
expect_rc 0 "drift of a model against itself"
expect_out "KLD mean +0 " "zero KLD"
expect_out "top-1 same 100.0000" "full agreement"
expect_out "layer 1 .* 0$" "per-layer error zero"
expect_out "kernel +fast" "drift names the kernel"
run $E drift $F/tiny.llq $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 20 --json --kernel ref
expect_json "drift --json"
expect_out '"kernel":"ref"' "drift --json names the kernel"
# several models in one run: one table, a row per model; --json: an array, an object per model
run $E drift $F/tiny.llq $F/tiny.llq $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 20 --per-layer
expect_rc 0 "drift BASE Q1 Q2"
expect_out "^ppl base " "drift table: the base's ppl above the table"
expect_out "^model +MB +bits/w +ppl +Δppl % +KLD mean" "drift table header"
if [ "$(grep -c "^$F/tiny.llq  .* 0.000000 ± 0.0e+00 " "$TMP/out")" -eq 2 ]; then _ok "drift table: one row per model, KLD 0"
else _fail "drift table: one row per model, KLD 0"; fi
expect_out "^1 +0 +0$" "drift table: per-layer error, a column per model"
run $E drift $F/tiny.llq $F/tiny.llq $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 20 --json
expect_json "drift --json with two models"
expect_out '^\[' "drift --json with two models is an array"
if [ "$(grep -c '"quant":' "$TMP/out")" -eq 2 ]; then _ok "drift --json: an object per model"; else _fail "drift --json: an object per model"; fi
run $E drift $F/tiny.llq $F/tiny.llq $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 20 --svg $TMP/one.svg
expect_rc 2 "drift: one --svg per compared model"
run $E drift $F/tiny.llq $F/tiny.llq $F/bad_shape.llq --tokens $F/tiny_tokens.u32 --ctx 20
expect_fail_line llq-eval "bad_shape.llq" "drift: a bad model among several is named"
run $E drift $F/tiny.llq --tokens $F/tiny_tokens.u32
expect_rc 2 "drift needs a model to compare"

# bad input: one line, exit 1
run $E ppl $F/bad_heads.llq --tokens $F/tiny_tokens.u32
expect_fail_line llq-eval "not a multiple of n_heads" "inconsistent heads"
run $E ppl $F/bad_missing.llq --tokens $F/tiny_tokens.u32
expect_fail_line llq-eval "layers.0.feed_forward.w2.weight' is missing" "missing tensor"
run $E ppl $F/bad_shape.llq --tokens $F/tiny_tokens.u32
expect_fail_line llq-eval "wk.weight' has shape" "wrong shape"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 1
expect_fail_line llq-eval "window length 1 is out of range \(2\.\.64" "--ctx 1"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 65
expect_fail_line llq-eval "window length 65 is out of range" "--ctx beyond the model's context"
run $E ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 64
expect_fail_line llq-eval "fewer than one window" "too few tokens"
head -c 7 $F/tiny_tokens.u32 >"$TMP/odd.u32"
run $E ppl $F/tiny.llq --tokens "$TMP/odd.u32"
expect_fail_line llq-eval "not a whole number" "tokens file not a multiple of 4"
: >"$TMP/empty.u32"
run $E ppl $F/tiny.llq --tokens "$TMP/empty.u32"
expect_fail_line llq-eval "no tokens" "empty tokens file"
printf '\001\000\000\000\000\001\000\000' >"$TMP/big.u32"
run $E ppl $F/tiny.llq --tokens "$TMP/big.u32" --ctx 2
expect_fail_line llq-eval "token id 256 .* out of range" "token id >= vocab"
run $E ppl $F/tiny.llq --text $F/tiny_nll.txt
expect_fail_line llq-eval "no tokenizer" "text without a tokenizer"
run $E ppl $TMP/nope.llq --tokens $F/tiny_tokens.u32
expect_fail_line llq-eval "nope.llq" "missing model file"

# The demo model (always in the repo): bf16 weights, PyTorch's perplexity 50.55702912250382 (REFERENCE.md).
if [ -x "$BUILD/llq-convert" ]; then
    M="$TMP/pydoc-7m.llq"
    run "$BUILD/llq-convert" models/pydoc-7m -o "$M" --quiet
    expect_rc 0 "convert the demo model"
    if [ -z "$QUICK" ]; then
        run $E ppl "$M" --text models/pydoc-7m/test.txt --ctx 256 --json
        expect_rc 0 "ppl of the demo model"
        expect_out '"tokens":139328' "139328 tokens incl. BOS"
        expect_out '"windows":544' "544 windows"
        expect_out '"scored":138720' "138720 scored"
        close "$(printf '%s\n' "$OUT" | sed -n 's/.*"ppl":\([0-9.]*\).*/\1/p')" 50.55702912250382 1e-4 \
            "demo ppl equals PyTorch's (REFERENCE.md)"
    else
        run $E ppl "$M" --text models/pydoc-7m/test.txt --ctx 256 --chunks 3 --json
        expect_rc 0 "ppl of the demo model (3 windows, sanitizer build)"
        expect_out '"scored":765' "3 x 255 scored"
        run $E drift "$M" "$M" --text models/pydoc-7m/test.txt --ctx 64 --chunks 3 --per-layer --kernel ref --quiet
        expect_rc 0 "drift with ref kernels (sanitizer build)"
    fi
    run $E ppl "$M" --text models/pydoc-7m/test.txt --ctx 256 --protocol llama.cpp --chunks 4 --quiet
    expect_rc 0 "llama.cpp protocol on the demo model"
    : >"$TMP/empty.txt"
    run $E ppl "$M" --text "$TMP/empty.txt"
    expect_fail_line llq-eval "empty" "empty text"
    printf 'def f(x):\n' >"$TMP/short.txt"
    run $E ppl "$M" --text "$TMP/short.txt" --ctx 256
    expect_fail_line llq-eval "fewer than one window" "too-short text"
    run $E generate "$M" --prompt "The list type" -n 12 --temp 0
    expect_rc 0 "generate (greedy)"
    expect_out "^The list type." "generate continues the prompt"
    run $E generate "$M" --prompt "x" -n 1048576
    expect_fail_line llq-eval "exceed the model's context" "generate beyond the context"
else
    echo "note: build/llq-convert not built; demo-model checks skipped"
fi

# ../shared/models/pydoc-7m (CI; ../../shared from a worktree): f32 conversions of the Meta fp32 weights and of the
# HF layout (bf16 safetensors, fp16 pytorch_model.bin) give REFERENCE.md's perplexities within 1e-4.
S=""
for d in ../shared/models/pydoc-7m ../../shared/models/pydoc-7m; do [ -f "$d/REFERENCE.md" ] && S=$d && break; done
if [ -n "$S" ] && [ -x "$BUILD/llq-convert" ] && [ -z "$QUICK" ]; then
    for case in "meta/consolidated.fp32.pth 50.55646353285673" "hf/model.safetensors 50.55702912250382" \
                "hf/pytorch_model.bin 50.55630126808627"; do
        set -- $case
        run "$BUILD/llq-convert" "$S/$1" -o "$TMP/s.llq" --dtype f32 --force --quiet
        expect_rc 0 "convert $1 to f32"
        run $E ppl "$TMP/s.llq" --text "$S/data/test.txt" --ctx 256 --quiet --json
        expect_out '"scored":138720' "$1: 138720 scored"
        close "$(printf '%s\n' "$OUT" | sed -n 's/.*"ppl":\([0-9.]*\).*/\1/p')" "$2" 1e-4 "$1 (f32): ppl equals PyTorch's"
    done
else
    echo "note: ../shared/models/pydoc-7m absent (or no llq-convert, or a sanitizer build); reference-perplexity checks skipped"
fi
