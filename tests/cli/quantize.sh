# quantize.sh — llq-quantize on the tiny model of tests/mkllq.c (policy, metadata, layouts, refusals), then an
# end-to-end run through llq-eval, and on the committed demo model (q8: drift must be tiny).
. tests/cli/lib.sh
Q=$BUILD/llq-quantize
I=$BUILD/llq-inspect
E=$BUILD/llq-eval
MK=$BUILD/tests/mkllq
T=tensors/name
nofiles() { # no output and no temp file left beside it
    if [ ! -e "$1" ] && [ -z "$(ls "$(dirname "$1")" | grep -F "$(basename "$1").tmp")" ]; then _ok "$2"; else _fail "$2 ($1 or a temp file exists)"; fi
}

$MK model "$TMP/m.llq" && $MK model "$TMP/q.llq" --quant q4 32 ||
    { echo "not ok - mkllq could not write the test files"; exit 1; }

# ---- usage ----
run $Q --help
expect_rc 0 "help exits 0"
expect_out '^Usage: llq-quantize' "help has usage"
expect_out '--keep GLOB=TYPE' "help lists --keep"
expect_out '^Examples:' "help has examples"
run $Q --version
expect_rc 0 "version exits 0"
expect_out '^llq-quantize' "version printed"
run $Q
expect_rc 2 "no input: usage error"
run $Q "$TMP/m.llq"
expect_rc 2 "no -o: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --type q3
expect_rc 2 "bad type: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --type f16
expect_rc 2 "non-quantized --type: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --group 48
expect_rc 2 "group 48: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --method awq
expect_rc 2 "awq without --calib: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --method best
expect_rc 2 "best without --calib: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --method worst --calib models/pydoc-7m/calib.txt
expect_rc 2 "unknown --method: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --method awq+gptq --calib models/pydoc-7m/calib.txt --own-targets
expect_rc 2 "--own-targets without --method gptq: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --embed-rtn
expect_rc 2 "--embed-rtn without --method gptq: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --method awq --calib models/pydoc-7m/calib.txt --head-one-h
expect_rc 2 "--head-one-h without --method gptq: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --calib-samples 8
expect_rc 2 "--calib-samples without --calib: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --type q4_k --group 32
expect_rc 2 "--group with a block type: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --preset q9_k
expect_rc 2 "unknown --preset: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --keep 'output.weight'
expect_rc 2 "--keep without =TYPE: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" --keep 'output.weight=q4:48'
expect_rc 2 "--keep with a bad group: usage error"
run $Q "$TMP/m.llq" -o "$TMP/x.llq" -t 0
expect_rc 2 "--threads 0: usage error"
nofiles "$TMP/x.llq" "usage errors write nothing"

# ---- rtn q4 g32, default policy ----
run $Q "$TMP/m.llq" -o "$TMP/q4.llq" --type q4 --group 32 --quiet
expect_rc 0 "q4 g32 exits 0"
expect_file "$TMP/q4.llq" "q4 g32 output written"
run $I "$TMP/q4.llq" --tensors --json
# the 14 matrices of the two layers are exactly the q4 tensors
check 'jis $T=tok_embeddings.weight/type q8 && jis $T=output.weight/type q8 && jis $T=output.weight/group 32 &&
    jis $T=layers.0.attention_norm.weight/type f32 && jis $T=norm.weight/type f32 && jcount "tensors/type=q4/name" 14 &&
    [ "$(jv "tensors/type=q4/name" | grep -cE "^layers\.[01]\.(attention\.w[qkvo]|feed_forward\.w[123])\.weight$")" -eq 14 ] &&
    jall "tensors/type=q4/group" 32 && jis $T=layers.1.feed_forward.w2.weight/shape "[64,80]" &&
    jis $T=layers.1.feed_forward.w2.weight/bytes $((64 * (48 + 6)))' \
    "policy: linear q4 g32, embeddings/output q8, norms f32; w2 rows of 80 in 3 groups"
run $I "$TMP/q4.llq" --json
M=summary/metadata
check 'jis $M/quant.method rtn && jis $M/quant.type q4 && jis $M/quant.group 32 && jis $M/quant.seed 0 &&
    jis "$M/tokenizer.pieces/#" 50 && jis $M/provenance.converter mkllq && jis $M/llama.dim 64 &&
    ! jv "$M/@keys" | grep -q "^quant\.calib"' "metadata: recipe added, tokenizer/hparams/provenance copied"
run $I "$TMP/q4.llq" --compare "$TMP/m.llq" --json
check 'jis compare/compared 21 && jnum compare/total/sqnr_db "v > 20 && v < 40"' "q4: SQNR vs the f32 model 20..40 dB"
run $I "$TMP/q4.llq" --verify
expect_rc 0 "q4 output passes --verify"

# ---- q8 is close; q4a with groups longer than the rows (partial groups) ----
run $Q "$TMP/m.llq" -o "$TMP/q8.llq" --type q8 --group 32 --quiet
run $I "$TMP/q8.llq" --compare "$TMP/m.llq" --json
check 'jnum compare/total/sqnr_db "v > 40"' "q8: SQNR vs the f32 model > 40 dB"
run $Q "$TMP/m.llq" -o "$TMP/q4a.llq" --type q4a --group 128 --quiet
expect_rc 0 "q4a g128 on rows of 64 and 80 exits 0"
run $I "$TMP/q4a.llq" --tensors --json
check 'jis $T=layers.0.attention.wq.weight/bytes $((64 * (64 + 3)))' "q4a g128: one padded group per row of 64 (64 + 3 bytes)"
run $Q "$TMP/m.llq" -o "$TMP/row.llq" --type q4 --group row --quiet
run $I "$TMP/row.llq" --tensors --json
check 'jis $T=layers.0.feed_forward.w2.weight/group 0 && jis $T=layers.0.feed_forward.w2.weight/bytes $((64 * (48 + 2)))' \
    "--group row: group 0, rows of 80 padded to 96"

# ---- --keep rules: last match wins, any type ----
run $Q "$TMP/m.llq" -o "$TMP/keep.llq" --type q4 --keep 'layers.1.*=q8:64' --keep 'output.weight=f32' \
    --keep 'layers.1.feed_forward.w2.weight=q4a' --keep 'norm.weight=f16' --quiet
expect_rc 0 "--keep rules exit 0"
run $I "$TMP/keep.llq" --tensors --json
check 'jis $T=layers.1.attention.wq.weight/type q8 && jis $T=layers.1.attention.wq.weight/group 64 &&
    jis $T=layers.1.attention_norm.weight/type q8 && jis $T=layers.1.feed_forward.w2.weight/type q4a &&
    jis $T=layers.1.feed_forward.w2.weight/group 32 && jis $T=output.weight/type f32 && jis $T=norm.weight/type f16 &&
    jis $T=layers.0.attention.wq.weight/type q4' "--keep: globs, groups, last rule wins"
run $I "$TMP/keep.llq" --json
check 'jv $M/quant.keep | grep -q "^layers\.1\.\*=q8:64,output\.weight=f32"' "quant.keep records the rules"

# ---- --json report ----
run $Q "$TMP/m.llq" -o "$TMP/j.llq" --type q4a --group 64 --json --quiet
expect_json "--json parses"
check 'jis type q4a && jis group 64 && jis method rtn && jis "tensors/#" 21 && jnum file_bytes "v > 0" &&
    jnum quantized_bits_per_weight "v > 4 && v < 6"' "--json: recipe, sizes, tensors"

# ---- refusals: one line, exit 1, nothing written ----
run $Q "$TMP/m.llq" -o "$TMP/q4.llq" --quiet
expect_fail_line llq-quantize "already exists \(use --force to replace it\)$" "existing output refused without --force (the tool names the flag)"
run $Q "$TMP/m.llq" -o "$TMP/q4.llq" --force --quiet
expect_rc 0 "--force replaces the output"
cp "$TMP/m.llq" "$TMP/m.copy"
run $Q "$TMP/m.llq" -o "$TMP/m.llq" --force
expect_fail_line llq-quantize "is one of the inputs \(the model\); not overwritten" "output = input refused even with --force"
if cmp -s "$TMP/m.llq" "$TMP/m.copy"; then _ok "input unchanged"; else _fail "input unchanged"; fi
run $Q "$TMP/q.llq" -o "$TMP/qq.llq"
expect_fail_line llq-quantize "tensor '[^']+' is already quantized \(q[48]a?\)" "already-quantized input refused"
nofiles "$TMP/qq.llq" "already-quantized input: no output"
run $Q "$TMP/absent.llq" -o "$TMP/a.llq"
expect_fail_line llq-quantize "absent.llq" "missing input: one line naming it"
# a NaN in layers.0.attention.wq.weight, row 3, column 5 (f32: 4 bytes at offset + 4*(3*64+5))
run $I "$TMP/m.llq" --tensors --json
off=$(jv $T=layers.0.attention.wq.weight/offset)
if [ -n "$off" ]; then
    off=$((off + 4 * (3 * 64 + 5)))
    cp "$TMP/m.llq" "$TMP/nan.llq"
    printf '\000\000\300\177' | dd of="$TMP/nan.llq" bs=1 seek="$off" conv=notrunc 2>/dev/null
    run $Q "$TMP/nan.llq" -o "$TMP/nanq.llq"
    expect_fail_line llq-quantize "tensor 'layers.0.attention.wq.weight': row 3: NaN weight at column 5" "NaN weight: tensor, row, column"
    nofiles "$TMP/nanq.llq" "NaN weight: no output, no temp file"
    run $Q "$TMP/nan.llq" -o "$TMP/nanq.llq" --keep 'layers.0.attention.wq.weight=f32'
    expect_rc 0 "NaN in a tensor kept f32: copied as is"
else
    echo "not ok - no offset for layers.0.attention.wq.weight in llq-inspect --tensors --json"
fi

# ---- end to end: the quantized files run in llq-eval, both kernels ----
i=0; : >"$TMP/tok.u32"
while [ $i -lt 64 ]; do printf "\\$(printf '%03o' $((3 + (i * 7) % 45)))\\000\\000\\000" >>"$TMP/tok.u32"; i=$((i + 1)); done
for k in fast ref; do
    run $E drift "$TMP/m.llq" "$TMP/q8.llq" --tokens "$TMP/tok.u32" --ctx 16 --kernel $k --json --quiet
    check 'jis windows 4 && jnum kld_mean/value "v < 1e-3" && jnum top1_pct/value "v >= 90"' "eval drift f32 vs q8 ($k kernels)"
    run $E drift "$TMP/m.llq" "$TMP/q4a.llq" --tokens "$TMP/tok.u32" --ctx 16 --kernel $k --json --quiet
    check 'jnum kld_mean/value "v < 0.05"' "eval drift f32 vs q4a g128 ($k kernels)"
done

# ---- the demo model: q8 g32 drift is tiny ----
D=models/pydoc-7m
if [ -f "$D/consolidated.00.pth" ] && [ -x "$BUILD/llq-convert" ]; then
    $BUILD/llq-convert "$D" -o "$TMP/demo.llq" --quiet >/dev/null 2>&1
    run $Q "$TMP/demo.llq" -o "$TMP/demo-q8.llq" --type q8 --group 32 --quiet
    expect_rc 0 "demo model: q8 g32"
    run $E drift "$TMP/demo.llq" "$TMP/demo-q8.llq" --text "$D/test.txt" --ctx 256 --chunks 4 --json --quiet
    check 'jnum kld_mean/value "v < 1e-4" && jnum top1_pct/value "v > 98" && jnum dppl_pct/value "v > -0.2 && v < 0.2"' \
        "demo model q8 g32: KLD < 1e-4, top-1 > 98 %, |dppl| < 0.2 % (4 windows)"
    # --method best = awq+gptq, recorded as such (few short windows, only layer 0's q/k/v quantized: fast)
    run $Q "$TMP/demo.llq" -o "$TMP/demo-best.llq" --type q4 --group 128 --method best --calib "$D/calib.txt" \
        --calib-samples 2 --calib-ctx 32 --keep '*.weight=bf16' --keep 'layers.0.attention.w[qkv].weight=q4' -t 1 --quiet
    expect_rc 0 "demo model: --method best exits 0"
    run $I "$TMP/demo-best.llq" --tensors --json
    check 'jis "tensors/type=q4/name" "$(printf "layers.0.attention.w%s.weight\n" q k v)"' \
        "demo model: --method best quantized the three matrices of the policy"
    run $I "$TMP/demo-best.llq" --json
    check 'jis $M/quant.method awq+gptq && jis $M/quant.calib.samples 2 && jis $M/quant.calib.ctx 32 &&
        jis $M/quant.calib.file calib.txt' \
        "demo model: --method best records quant.method = awq+gptq and the calibration"
    # --dry-run: sizes and the calibration's peak memory, nothing written; the total is fixed + model file +
    # activations + results + threads + max(layer statistics, layer quantization, head, embedding), in bytes
    run $Q "$TMP/demo.llq" -o "$TMP/demo-dry.llq" --method gptq --calib "$D/calib.txt" --calib-samples 16 -t 2 --dry-run
    expect_rc 0 "demo model: --dry-run exits 0"
    nofiles "$TMP/demo-dry.llq" "demo model: --dry-run writes nothing"
    expect_out '^peak memory: [0-9]+ bytes' "demo model: --dry-run prints the peak memory"
    if awk '/^peak memory:/ { gsub(/[(),]/, " "); for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) v[++n] = $i
            m = v[7]; if (v[8] > m) m = v[8]; if (v[9] > m) m = v[9]; if (v[10] > m) m = v[10]
            exit !(n == 10 && v[1] == v[2] + v[3] + v[4] + v[5] + v[6] + m) }' "$TMP/out"; then
        _ok "demo model: --dry-run's total is the sum of its terms"
    else _fail "demo model: --dry-run's total is the sum of its terms"; fi
    run $Q "$TMP/demo.llq" -o "$TMP/demo-dry.llq" --method gptq --calib "$D/calib.txt" --dry-run --json
    py 'm=j["peak_memory"]; assert j["dry_run"] and m["total"]==m["fixed"]+m["model_file"]+m["activations"]+m["results"]+m["threads"]+max(m["layer_stats"],m["layer_quant"],m["head"],m["embed"])' \
        "demo model: --dry-run --json gives the memory terms"
    run $Q "$TMP/demo.llq" -o "$TMP/demo-q4.llq" --type q4 --group 32 --quiet
    for k in fast ref; do
        run $E generate "$TMP/demo-q4.llq" --prompt 'The list type' -n 12 --temp 0 --kernel $k --quiet
        expect_rc 0 "demo model: generate with q4 weights ($k kernels)"
        expect_out '[a-z]' "demo model: q4 generation produces text ($k kernels)"
    done
else
    echo "ok - demo model test skipped (no models/pydoc-7m or llq-convert) # SKIP"
fi
