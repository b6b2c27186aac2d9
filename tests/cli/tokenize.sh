# tokenize.sh — llq-eval tokenize on tokenizer files (tokenizer.json, SentencePiece and tiktoken tokenizer.model)
# and on a .llq converted with a tokenizer.json (llq-convert --tokenizer): ids, --json, --bos, bad input.
. tests/cli/lib.sh
E=$BUILD/llq-eval
T=$FIX/tokenizer

run $E tokenize $T/hf_llama3_small.json --prompt "Hello world<|eot_id|>"
expect_rc 0 "tokenize a tokenizer.json"
expect_out "^39	H$" "id and piece per line"
run $E tokenize $T/hf_llama3_small.json --prompt "Hello world<|eot_id|>" --json
expect_rc 0 "tokenize --json"
expect_json "tokenize --json is JSON"
nv=$(jv n_vocab)
check 'jis tokenizer hf-bpe && jis n_tokens 7 && jis pieces/6 "<|eot_id|>" && jis ids/6 $((nv - 1))' "json: kind, count, the special token last"
printf 'Größe 12345\n\xff end' >"$TMP/in.txt"
run $E tokenize $T/hf_qwen_small.json --text "$TMP/in.txt" --json
expect_rc 0 "tokenize --text with invalid UTF-8"
expect_json "invalid UTF-8 still gives JSON (bytes escaped)"
run $E tokenize models/pydoc-7m/tokenizer.model --prompt "The list type" --bos
expect_rc 0 "tokenize a SentencePiece model"
expect_out "^1	<s>" "--bos puts BOS first"
printf 'IQ== 0\nYQ== 1\nYg== 2\nYWI= 3\n' >"$TMP/tokenizer.model"
run $E tokenize "$TMP/tokenizer.model" --prompt "ab<|eot_id|>" --json
expect_rc 0 "tokenize a tiktoken file"
check 'jis tokenizer tiktoken && jcount "ids/*" 2 && jis ids/0 3 && jis ids/1 13' "tiktoken: whole token, then <|eot_id|> = n + 9"

run $E tokenize $T/hf_llama3_small.json
expect_rc 2 "tokenize needs --text or --prompt"
run $E tokenize $T/hf_llama3_small.json --prompt x --text "$TMP/in.txt"
expect_rc 2 "not both --text and --prompt"
run $E ppl $T/hf_llama3_small.json --prompt x --bos
expect_rc 2 "--bos only for tokenize"
printf '{"model": {"type": "WordPiece", "vocab": {}}}' >"$TMP/bad.json"
run $E tokenize "$TMP/bad.json" --prompt x
expect_fail_line llq-eval "WordPiece.*not supported" "unsupported model refused in one line"
run $E tokenize "$TMP/none.json" --prompt x
expect_fail_line llq-eval "none.json" "missing file"

# the same tokenizer.json stored in a .llq by llq-convert gives the same ids
run $BUILD/llq-convert models/pydoc-7m -o "$TMP/p.llq" --tokenizer $T/hf_spm_legacy.json --dtype f16
expect_rc 0 "convert with --tokenizer tokenizer.json"
run $E tokenize $T/hf_spm_legacy.json --text models/pydoc-7m/README.md
a=$(cut -f1 "$TMP/out" | md5sum)
run $E tokenize "$TMP/p.llq" --text models/pydoc-7m/README.md
expect_rc 0 "tokenize the converted .llq"
b=$(cut -f1 "$TMP/out" | md5sum)
[ "$a" = "$b" ] && _ok "the .llq tokenizes like the tokenizer.json" || _fail "ids differ between .llq and tokenizer.json"
run $BUILD/llq-inspect "$TMP/p.llq" --json
expect_rc 0 "inspect a .llq with a BPE tokenizer"
