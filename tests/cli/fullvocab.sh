# fullvocab.sh — the real vocabularies (needs ../shared/tokenizers; skips with a note without it): tiny models with
# the real Llama-3 tokenizer.json (128,256 embedding rows, tied, llama3 rope scaling) and the real Qwen one
# (151,936 padded rows for its 151,669 ids, q/k/v biases, tied), written at test time by tests/mkfull.c
# (deterministic; the 16-19 MB files are not committed). Their bytes must be the ones tests/make_full_refs.py
# computed its PyTorch reference from (cksum), the padded vocabulary is accepted with a note naming the padding,
# and llq-eval ppl --text of the stress corpus (llq's own tokenization) equals PyTorch's perplexity on Hugging
# Face's ids within 1e-5 relative at ctx 128 and 1024, with exactly as many tokens.
. tests/cli/lib.sh
C=$BUILD/llq-convert
E=$BUILD/llq-eval
G=$BUILD/tests/mkfull
R=$FIX/arch/full_refs.txt
S=
for d in ../shared/tokenizers ../../shared/tokenizers; do [ -f "$d/llama3/tokenizer.json" ] && S=$d && break; done
if [ -z "$S" ]; then
    echo "note: ../shared/tokenizers absent: real-vocabulary checks skipped"
    exit 0
fi
case "$BUILD" in *-asan | *-ubsan) CTXS="128" ;; *) CTXS="128 1024" ;; esac

close() {
    if awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; if (b < 0) b = -b; exit !(d <= r * b) }'
    then _ok "$4"; else _fail "$4 ($1 vs $2)"; fi
}
ref() { awk -v m="$1" -v c="$2" -v k="$3" '$1 == m && $2 == c { print $k }' $R; }

for m in llama3 qwen; do
    tok=$S/llama3/tokenizer.json
    [ $m = qwen ] && tok=$S/qwen3/tokenizer.json
    mkdir -p $TMP/$m
    run $G $m $TMP/$m
    expect_rc 0 "$m: the generator writes the checkpoint"
    if [ "$(cksum <$TMP/$m/model.safetensors | awk '{ print $1, $2 }')" = "$(ref $m cksum 3) $(ref $m cksum 4)" ]; then
        _ok "$m: the same bytes as PyTorch's reference was computed from"
    else
        _fail "$m: model.safetensors differs from the reference's (cksum)"
    fi
    run $C $TMP/$m -o $TMP/$m.llq --tokenizer $tok
    expect_rc 0 "$m: converts with the real tokenizer.json"
    rm -f $TMP/$m/model.safetensors
    for c in $CTXS; do
        run $E ppl $TMP/$m.llq --text $FIX/tokenizer/stress.txt --ctx $c --json --quiet
        expect_rc 0 "$m: ppl --text at ctx $c"
        tokens=$(printf '%s' "$OUT" | tr -d ' \n' | sed -n 's/.*"tokens":\([0-9]*\),.*/\1/p')
        [ "$tokens" = "$(ref $m $c 4)" ] && _ok "$m: $tokens tokens, as Hugging Face's ids (+ BOS)" ||
            _fail "$m: $tokens tokens, not $(ref $m $c 4)"
        close "$(printf '%s' "$OUT" | tr -d ' \n' | sed -n 's/.*"ppl":\([0-9.e+-]*\).*/\1/p')" "$(ref $m $c 3)" 1e-5 \
            "$m: text ppl at ctx $c equals PyTorch's within 1e-5"
    done
done
# the padded vocabulary: accepted, and the padding named (not a warning about another model's tokenizer)
mkdir -p $TMP/qwen
run $G qwen $TMP/qwen
run $C $TMP/qwen -o $TMP/qwen2.llq --tokenizer $S/qwen3/tokenizer.json
expect_rc 0 "qwen: 151,936 rows for 151,669 ids converts"
if grep -q "note: .*has 151669 pieces for 151936 embedding rows: the last 267 rows are padding no token maps to" "$TMP/err" &&
    ! grep -q "warning" "$TMP/err"; then _ok "qwen: the padding is named in a note"; else _fail "qwen: the padding note"; fi
