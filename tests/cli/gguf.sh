# gguf.sh — GGUF through the tools: llq-convert both ways (the output's extension picks the format), llq-inspect and
# llq-eval opening .gguf files directly, the demo model's tokenizer and perplexity through GGUF, refusals, and
# (with ../shared) llama.cpp's own GGUFs of pydoc-7m.
. tests/cli/lib.sh
C=$BUILD/llq-convert
I=$BUILD/llq-inspect
E=$BUILD/llq-eval
Q=$BUILD/llq-quantize
G=$FIX/gguf

run $C --help
expect_out "OUT.gguf is written as GGUF" "convert --help says the extension picks the format"

# a GGUF written from the spec opens in every tool
run $I $G/tiny-q8_0.gguf --tensors
expect_rc 0 "inspect a GGUF"
expect_out "layers.0.attention.wq.weight +\[64, 64\] +q8_0 " "Q8_0 shows as llq's q8_0 under the canonical name"
run $E ppl $G/tiny-f32.gguf --tokens $FIX/eval/tiny_tokens.u32 --ctx 20 --json
expect_rc 0 "ppl of a GGUF"
P_GGUF=$(printf '%s' "$OUT" | sed -n 's/.*"ppl": *\([0-9.e+-]*\).*/\1/p' | head -1)
run $E ppl $FIX/eval/tiny.llq --tokens $FIX/eval/tiny_tokens.u32 --ctx 20 --json
P_LLQ=$(printf '%s' "$OUT" | sed -n 's/.*"ppl": *\([0-9.e+-]*\).*/\1/p' | head -1)
if [ -n "$P_GGUF" ] && [ "$P_GGUF" = "$P_LLQ" ]; then _ok "same ppl from the GGUF and the .llq ($P_GGUF)"; else RC=1; _fail "ppl $P_GGUF vs $P_LLQ"; fi

# .gguf -> .llq -> .gguf, and the inspect comparison says 0 error
run $C $G/tiny-q4_0.gguf -o "$TMP/t4.llq"
expect_rc 0 "gguf -> llq"
run $C "$TMP/t4.llq" -o "$TMP/t4.gguf" --json
expect_rc 0 "llq -> gguf"
expect_out '"format": ?"gguf"' "json says gguf"
run $I "$TMP/t4.gguf" --compare $G/tiny-q4_0.gguf
expect_out "^total +0 +0 " "round trip: no tensor differs"
run $C $G/tiny-q8_0.gguf -o "$TMP/t8f.llq" --dtype f32
expect_rc 0 "gguf -> llq dequantized (--dtype f32)"
run $I "$TMP/t8f.llq" --compare $G/tiny-q8_0.gguf
expect_out "^total +0 +0 " "dequantized f32 equals the Q8_0 values"
run $C $G/tiny-q8_0.gguf -o "$TMP/x.gguf" --dtype f16
expect_fail_line llq-convert "applies to .llq outputs" "--dtype with a .gguf output is refused"

# refusals: a corrupt file, an output that exists, an input as output
run $C $G/bad-overlap.gguf -o "$TMP/bad.llq"
expect_fail_line llq-convert "overlaps" "a corrupt GGUF is refused in one line"
expect_no_file "$TMP/bad.llq" "nothing written"
run $C $G/tiny-f32.gguf -o "$TMP/t4.gguf"
expect_fail_line llq-convert "already exists" "existing output needs --force"
cp $G/small.gguf "$TMP/in.gguf"
run $C "$TMP/in.gguf" -o "$TMP/in.gguf" --force
expect_fail_line llq-convert "input" "input is never the output"

# the demo model: .llq (with its tokenizer) -> GGUF -> same tokens, same perplexity
M=models/pydoc-7m
run $C $M -o "$TMP/demo.llq" --context 256 -q
expect_rc 0 "convert the demo model"
run $Q "$TMP/demo.llq" -o "$TMP/demo-q4.llq" --type q4 --group 32 -q
run $C "$TMP/demo-q4.llq" -o "$TMP/demo-q4.gguf" --json
expect_rc 0 "export q4 g32 to GGUF"
expect_out '"gguf_file_type": ?2' "q4 is file type MOSTLY_Q4_0"
# (reference kernels: q4 and q4_0 hold the same values; the fast kernels of the two types sum in other orders)
run $E ppl "$TMP/demo-q4.llq" --text $M/test.txt --ctx 256 --chunks 2 --json --kernel ref
A=$(printf '%s' "$OUT" | sed -n 's/.*"ppl": *\([0-9.e+-]*\).*/\1/p' | head -1)
run $E ppl "$TMP/demo-q4.gguf" --text $M/test.txt --ctx 256 --chunks 2 --json --kernel ref
B=$(printf '%s' "$OUT" | sed -n 's/.*"ppl": *\([0-9.e+-]*\).*/\1/p' | head -1)
if [ -n "$A" ] && [ "$A" = "$B" ]; then _ok "demo q4: same tokens and ppl through GGUF ($A)"; else RC=1; _fail "ppl $A vs $B"; fi
# --lean: no llq.* provenance or recipe keys and no key saying what llama.cpp assumes anyway; the same model
# (llama.cpp's side of it: tests/interop/run.sh)
run $C "$TMP/demo-q4.llq" -o "$TMP/demo-q4-lean.gguf" --lean
expect_rc 0 "export with --lean"
FULL=$(wc -c <"$TMP/demo-q4.gguf"); LEAN=$(wc -c <"$TMP/demo-q4-lean.gguf")
if [ "$LEAN" -lt "$FULL" ] && grep -aq 'llq\.quant\.method' "$TMP/demo-q4.gguf" &&
   ! grep -aq 'llq\.quant\.\|llq\.provenance\.\|llq\.version\|general\.alignment\|add_space_prefix\|add_bos_token' "$TMP/demo-q4-lean.gguf"
then _ok "--lean: $LEAN bytes against $FULL, without the llq.* recipe and the default-valued keys"
else RC=1; _fail "--lean: $LEAN bytes against $FULL, or keys left"; fi
run $E ppl "$TMP/demo-q4-lean.gguf" --text $M/test.txt --ctx 256 --chunks 2 --json --kernel ref
P_LEAN=$(printf '%s' "$OUT" | sed -n 's/.*"ppl": *\([0-9.e+-]*\).*/\1/p' | head -1)
if [ -n "$P_LEAN" ] && [ "$P_LEAN" = "$B" ]; then _ok "the lean GGUF: same tokens and ppl ($P_LEAN)"; else RC=1; _fail "lean ppl $P_LEAN vs $B"; fi
run $C "$TMP/demo-q4.llq" -o "$TMP/lean.llq" --lean
expect_rc 2 "--lean with a .llq output is a usage error"
run $Q "$TMP/demo.llq" -o "$TMP/demo-q4a.llq" --type q4a --group 32 -q
run $C "$TMP/demo-q4a.llq" -o "$TMP/demo-q4a.gguf"
expect_rc 0 "export q4a to Q4_1"
if grep -q "worst deviation" "$TMP/err"; then _ok "q4a -> Q4_1 reports its worst deviation"; else _fail "no deviation line"; fi

# drift of two GGUFs prints llama-perplexity's statistics (reference kernels: the AVX2 packer of block types is
# kquant's, not merged yet)
run $E drift $G/tiny-f32.gguf $G/tiny-q4_0.gguf --tokens $FIX/eval/tiny_tokens.u32 --ctx 20 --protocol llama.cpp --kernel ref
expect_rc 0 "drift of two GGUFs"
expect_out "^Mean    KLD: " "llama.cpp's KLD line"
expect_out "^99.9%   KLD: " "KLD percentiles"
expect_out "^RMS Δp    : " "RMS Δp"
expect_out "^Same top p: " "same top p"
expect_out "llama.cpp arithmetic" "llama.cpp protocol implies llama.cpp arithmetic"

# ---- llama.cpp's own files (../shared) ----
S=../shared/models/pydoc-7m
if [ -f $S/gguf/pydoc-7m-F32.gguf ]; then
    run $I $S/gguf/pydoc-7m-F32.gguf --compare "$TMP/demo.llq"
    expect_rc 0 "llama.cpp's F32 GGUF compares with the bf16 conversion"
    run $E ppl $S/gguf/pydoc-7m-F32.gguf --text $S/data/test.txt --ctx 256 --protocol llama.cpp --chunks 8 --json
    expect_rc 0 "ppl of llama.cpp's F32 GGUF"
else
    echo "# gguf.sh: ../shared absent, llama.cpp's GGUFs not checked"
fi
