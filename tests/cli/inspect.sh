# inspect.sh — llq-inspect on files written by the library (tests/mkllq.c) and on the corrupt goldens
# in tests/fixtures/format (tests/make_format_fixtures.py).
. tests/cli/lib.sh
I=$BUILD/llq-inspect
MK=$BUILD/tests/mkllq
FF=$FIX/format
# py CODE NAME: stdout must parse as JSON (bound to j) and CODE's asserts must hold
py() { if python3 -c "import json,math,sys; j=json.load(sys.stdin)
$1" <"$TMP/out" 2>"$TMP/pyerr"; then _ok "$2"; else _fail "$2 ($(tail -1 "$TMP/pyerr"))"; fi; }

$MK model "$TMP/m.llq" && $MK model "$TMP/shift.llq" --shift 0.5 && $MK model "$TMP/q4.llq" --quant q4 32 &&
    $MK model "$TMP/q8.llq" --quant q8 0 && $MK model "$TMP/q4a.llq" --quant q4a 64 && $MK known "$TMP/k.llq" &&
    $MK mismatch "$TMP/mm.llq" || { echo "not ok - mkllq could not write the test files"; exit 1; }

# ---- usage ----
run $I --help
expect_rc 0 "help exits 0"
expect_out '^Usage: llq-inspect' "help has usage"
expect_out '--compare REF' "help lists --compare"
expect_out '^Examples:' "help has examples"
run $I --version
expect_rc 0 "version exits 0"
expect_out '^llq-inspect \(llq\) [0-9]+\.[0-9]+' "version printed"
run $I
expect_rc 2 "no file: usage error"
run $I --bogus "$TMP/m.llq"
expect_rc 2 "unknown option: usage error"
run $I "$TMP/m.llq" --compare
expect_rc 2 "--compare without REF: usage error"
run $I "$TMP/m.llq" "$TMP/k.llq"
expect_rc 2 "two files: usage error"
run $I "$TMP/absent.llq"
expect_fail_line llq-inspect "absent.llq" "missing file: one line naming it"

# ---- summary ----
run $I "$TMP/m.llq"
expect_rc 0 "summary exits 0"
expect_out 'dim 64, layers 2, heads 4, kv heads 2, ffn 80, vocab 50' "summary: hyper-parameters"
expect_out '^tokenizer +50 entries' "summary: tokenizer size"
expect_out '^ +every tensor of the forward pass present, shapes match$' "summary: canonical tensor set checked"
expect_out '^tensors +21,' "summary: tensor count"
expect_out '^bits/weight +32\.0000 overall$' "summary: f32 model is 32 bits/weight, no quantized line"
$MK model "$TMP/nowk.llq" --drop layers.1.attention.wk.weight
run $I "$TMP/nowk.llq"
expect_rc 0 "summary of an incomplete model exits 0"
expect_out "^ +.*tensor 'layers\.1\.attention\.wk\.weight' is missing" "summary: missing forward-pass tensor named"
run $I "$TMP/q4.llq" --quiet
expect_rc 0 "summary of a quantized model"
expect_out '^quant +method = rtn' "summary: recipe"
expect_out 'group = 32' "summary: recipe group"
# q4 g32 rows: K = 64 -> 2 groups -> 32 + 4 = 36 bytes; K = 80 (w2) -> Kp = 96 -> 48 + 6 = 54 bytes.
# Per layer 352 rows of 64 + 64 rows of 80; plus output 50 rows of 64: 8 * 34056 / 58496 = 4.6575
expect_out '4\.6575 in the 15 quantized matrices' "summary: bits per weight of the quantized matrices"
run $I "$TMP/q4.llq" --json
py 's=j["summary"]
assert s["hparams"]["dim"]==64 and s["hparams"]["n_kv_heads"]==2 and s["hparams"]["context_length"]==256
assert s["tokenizer_size"]==50 and s["n_tensors"]==21 and s["quantized_tensors"]==15 and s["llama_tensors_ok"]
assert abs(s["quantized_bits_per_weight"]-8*34056/58496)<1e-9
assert s["metadata"]["quant.type"]=="q4" and s["metadata"]["quant.group"]==32
assert len(s["metadata"]["tokenizer.pieces"])==50 and s["metadata"]["tokenizer.pieces"][3]=="t3"
assert s["types"]["q4"]["n_tensors"]==15 and s["types"]["f32"]["n_tensors"]==6' "summary --json values"

# ---- --tensors ----
run $I "$TMP/q4.llq" --tensors
expect_rc 0 "tensors exits 0"
expect_out '^layers\.1\.feed_forward\.w2\.weight +\[64, 80\] +q4 +32 +3456 +[0-9]+$' "tensors: w2 row (shape, type, group, bytes)"
expect_out '^layers\.0\.attention_norm\.weight +\[64\] +f32 +- +256 ' "tensors: norm row"
run $I "$TMP/q8.llq" --tensors --filter 'layers.0.attention.w?.weight'
expect_rc 0 "tensors --filter exits 0"
if [ "$(grep -cE '^layers\.0\.attention\.w[qkvo]\.weight .* q8 +row ' "$TMP/out")" -eq 4 ] &&
   [ "$(wc -l <"$TMP/out")" -eq 5 ]; then _ok "filter keeps exactly the 4 attention matrices"; else _fail "filter"; fi
run $I "$TMP/q4a.llq" --tensors --json
py 'ts=j["tensors"]; assert len(ts)==21
assert all(t["offset"]%64==0 for t in ts)
w2=[t for t in ts if t["name"]=="layers.0.feed_forward.w2.weight"][0]
assert w2["shape"]==[64,80] and w2["type"]=="q4a" and w2["group"]==64 and w2["bytes"]==64*(64+6)' "tensors --json: offsets aligned, q4a g64 row of 80 = 70 bytes"
run $I "$TMP/m.llq" --tensors --filter 'nothing*'
expect_fail_line llq-inspect "no tensor matches 'nothing\*'" "filter matching nothing: error"

# ---- --stats ----
run $I "$TMP/k.llq" --stats
expect_rc 0 "stats exits 0"
expect_out '^k\.sym +f32 +-3 +3 +0 +2\.236 +3 +1\.640 +0\.0000 +\|' "stats: k.sym = [-3,-1,1,3] (std sqrt 5, kurtosis 1.64)"
expect_out '^k\.nan .* 1 non-finite$' "stats: NaN counted apart"
run $I "$TMP/k.llq" --stats --json
py 's={t["name"]:t for t in j["stats"]}
a=s["k.sym"]; assert a["mean"]==0 and abs(a["std"]-math.sqrt(5))<1e-12 and abs(a["kurtosis"]-1.64)<1e-12
o=s["k.outlier"]; assert o["n"]==1001 and abs(o["outlier_frac"]-1/1001)<1e-15 and o["max"]==1000 and o["absmax"]==1000
n=s["k.nan"]; assert n["n"]==2 and n["n_nonfinite"]==1 and n["mean"]==2
q=s["k.q4"]; assert q["min"]==-4 and q["max"]==3.5 and abs(q["mean"]+0.65)<1e-12
assert all(sum(t["hist"])==t["n"] for t in j["stats"])' "stats --json: exact moments, outliers, NaN, dequantized q4"
run $I "$TMP/q4.llq" --stats --filter '*.w1.weight' --json
py 'assert len(j["stats"])==2 and all(t["type"]=="q4" and t["n"]==80*64 for t in j["stats"])' "stats on quantized tensors, filtered"

# ---- --compare ----
run $I "$TMP/m.llq" --compare "$TMP/m.llq"
expect_rc 0 "compare with itself exits 0"
expect_out '^layers\.0\.feed_forward\.w2\.weight +f32 +f32 +0 +0 +inf +1\.0000000$' "compare with itself: zero error"
run $I "$TMP/shift.llq" --compare "$TMP/m.llq" --json
py 'ts=j["compare"]["tensors"]; assert len(ts)==21
assert all(abs(t["rmse"]-0.5)<1e-6 and abs(t["max_abs"]-0.5)<1e-6 for t in ts)
assert abs(j["compare"]["total"]["rmse"]-0.5)<1e-6' "compare: every value shifted by 0.5 gives RMSE = max error = 0.5"
run $I "$TMP/q4.llq" --compare "$TMP/m.llq" --json
py 'q={t["name"]:t for t in j["compare"]["tensors"]}
w=q["layers.0.attention.wq.weight"]; assert 10<w["sqnr_db"]<35 and 0.95<w["cosine"]<1
n=q["norm.weight"]; assert n["rmse"]==0 and n["sqnr_db"] is None and n["cosine"]==1' "compare q4 vs f32: finite error on matrices, none on norms"
Q4DB=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["compare"]["total"]["sqnr_db"])' <"$TMP/out")
run $I "$TMP/q8.llq" --compare "$TMP/m.llq" --json
py "q8=j['compare']['total']['sqnr_db']; assert q8 > $Q4DB + 15, q8" "compare: q8 SQNR well above q4"
run $I "$TMP/m.llq" --compare "$TMP/mm.llq"
expect_rc 0 "compare with mismatches exits 0"
expect_out "^norm\.weight .*shape \[64\] differs from the reference's \[32\]" "compare: shape mismatch reported"
expect_out '^extra\.weight .*only in the reference' "compare: tensor only in REF reported"
expect_out 'missing in the reference' "compare: tensor only in FILE reported"
run $I "$TMP/m.llq" --compare "$FF/truncated.llq"
expect_fail_line llq-inspect "truncated\.llq: truncated" "compare: bad REF is an error naming it"

# ---- --verify ----
run $I "$TMP/q4a.llq" --verify
expect_rc 0 "verify good file"
expect_out '^21 tensors checked, all CRCs match$' "verify: count"
run $I "$FF/bad_tensor_crc.llq" --verify
expect_fail_line llq-inspect "bad_tensor_crc\.llq: tensor 'c\.weight': CRC mismatch" "verify: bad CRC names file and tensor"
run $I "$FF/bad_tensor_crc.llq" --verify --json
expect_rc 1 "verify --json with a bad CRC exits 1"
py 'v=j["verify"]; assert v["ok"] is False and v["checked"]==4 and [b["name"] for b in v["bad"]]==["c.weight"]' "verify --json lists the bad tensor"
run $I "$FF/bad_tensor_crc.llq" --verify --filter 'a*'
expect_rc 0 "verify --filter skips the bad tensor"

# ---- golden files: the valid one (written by the Python writer) and one defect each ----
run $I "$FF/valid.llq" --verify
expect_rc 0 "valid.llq from the independent Python writer opens and verifies"
run $I "$FF/valid.llq" --json
py 'assert j["summary"]["metadata"]["test.count"]==7 and j["summary"]["n_tensors"]==4' "unknown metadata value type is skipped"
check_bad() { # FILE ERE
    run $I "$FF/$1"
    expect_fail_line llq-inspect "$FF/$1: .*$2" "$1: one line, exit 1"
}
check_bad truncated.llq 'truncated'
check_bad bad_magic.llq 'GGUF version 169478669' # its magic starts with "GGUF": read as a GGUF file, refused as one
printf 'XLQ\r\n\032\n\001\000\000\000' >"$TMP/not_llq.llq"; head -c 200 /dev/zero >>"$TMP/not_llq.llq"
run $I "$TMP/not_llq.llq"
expect_fail_line llq-inspect "$TMP/not_llq.llq: .*(bad magic|not a)" "a file with neither magic: one line, exit 1"
check_bad newer_major.llq 'newer llq'
check_bad bad_header_crc.llq 'header CRC mismatch'
check_bad offset_past_end.llq "tensor 'b\.weight'.*past the end of the file"
check_bad overlap.llq "tensor 'a\.weight'.*overlaps tensor 'b\.weight'"
check_bad dims_overflow.llq "tensor 'a\.weight'.*dimensions overflows"
check_bad meta_string_too_long.llq "metadata 'general\.name'.*runs past the end"
check_bad unknown_type.llq "unknown tensor type 23 for tensor 'b\.weight'"
for v in --tensors --stats --verify "--compare $FF/valid.llq"; do
    run $I "$FF/overlap.llq" $v
    expect_rc 1 "overlap.llq with $v: exit 1"
done

# ---- source checkpoints read directly (tests/fixtures/ckpt, made by tests/make_fixtures.py) ----
C=$FIX/ckpt
run $I "$C/meta-1/consolidated.00.pth"
expect_rc 0 "torch checkpoint summary exits 0"
expect_out '\(torch-zip checkpoint' "summary names the container"
expect_out '^tensors +22,' "summary: 22 tensors (21 + rope.freqs)"
expect_out '^ +bf16: 22 tensors' "summary: dtypes"
run $I "$C/hf-st/model.safetensors" --tensors --json
py 'assert j["format"]=="safetensors"
t={x["name"]:x for x in j["tensors"]}
k=t["model.layers.0.self_attn.k_proj.weight"]
assert k["shape"]==[16,32] and k["type"]=="bf16" and k["bytes"]==1024 and k["offset"] is None' "safetensors --tensors --json"
run $I "$C/meta-1/consolidated.00.pth" --stats --json --filter 'layers.0.*'
py 's={x["name"]:x for x in j["stats"]}
assert len(s)==9
# matrices hold k/256 with |k| <= 64, norms 1 + k/128 with |k| <= 16 (tests/fixtures/ckpt/README.md)
w=s["layers.0.attention.wq.weight"]; assert w["n"]==1024 and -0.25<=w["min"] and w["max"]<=0.25
n=s["layers.0.ffn_norm.weight"]; assert n["n"]==32 and 0.875<=n["min"] and n["max"]<=1.125' "torch checkpoint --stats"
# the same model as bf16 (zip) and f32 (legacy torch format) holds the same numbers
run $I "$C/meta-1/consolidated.00.pth" --compare "$C/meta-legacy/consolidated.00.pth" --json
py 'c=j["compare"]; assert c["compared"]==21 and c["total"]["rmse"]==0 and c["total"]["cosine"]==1
assert [t["name"] for t in c["tensors"] if "error" in t]==["rope.freqs"]' "compare bf16 zip checkpoint with f32 legacy one: identical"
run $I "$C/misc/views.pth" --stats --json
py 's={x["name"]:x for x in j["stats"]}
assert s["scalar"]["n"]==1 and s["scalar"]["mean"]==3.5 and s["empty"]["n"]==0
assert s["t"]["mean"]==s["base"]["mean"] and s["t"]["std"]==s["base"]["std"]
assert s["bool"]["n"]==3 and s["u8"]["min"]==250' "views, scalars, empty, integer dtypes"
run $I "$C/meta-1/consolidated.00.pth" --verify
expect_out '^22 tensors checked, all CRCs match$' "verify a torch checkpoint (zip CRCs)"
run $I "$C/bad/zip_crc.pth" --verify
expect_fail_line llq-inspect "zip_crc\.pth: .*CRC" "verify: bad zip CRC is one line, exit 1"
run $I "$C/bad/evil_system.pth" --tensors
expect_fail_line llq-inspect "evil_system\.pth: .*not allowed" "unsafe pickle refused: one line, exit 1"
run $I "$C/bad/not_a_checkpoint.bin"
expect_fail_line llq-inspect "not_a_checkpoint\.bin" "not a checkpoint: one line, exit 1"
run $I "$FF/valid.llq" --compare "$C/meta-1/consolidated.00.pth"
expect_rc 0 "compare a .llq against a checkpoint"
expect_out 'only in the reference' "names present only in the checkpoint are listed"
