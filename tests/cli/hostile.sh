#!/bin/sh
# hostile.sh — the hostile checkpoint corpus (tests/make_hostile.py -> tests/fixtures/hostile/, plus the
# container-level attacks of tests/fixtures/ckpt/bad/). Each file is put where llq-convert looks for a
# checkpoint (Meta layout: consolidated.00.pth + params.json; safetensors: HF layout, model.safetensors +
# config.json) and also given directly to llq-inspect --verify (which reads every tensor). Each must be refused
# with exit 1 and ONE stderr line naming the problem, within 60 s, executing nothing (every code payload would
# `touch /tmp/llq-hostile-pwned`) and writing nothing (the output directory stays empty: no output, no temp
# file; the inputs are unchanged).
. tests/cli/lib.sh
C=$BUILD/llq-convert
I=$BUILD/llq-inspect
H=$FIX/hostile
K=$FIX/ckpt
MARKER=/tmp/llq-hostile-pwned
rm -f "$MARKER"

# hostile FILE ERE: convert and inspect must refuse FILE; convert's one line must match ERE.
hostile() {
    f=$1; n=$(basename "$1"); d=$TMP/h-$n
    mkdir -p "$d/out"
    case $n in
        *.safetensors) cp "$K/hf-st/config.json" "$d/"; cp "$f" "$d/model.safetensors" ;;
        *) cp "$K/meta-1/params.json" "$d/"; cp "$f" "$d/consolidated.00.pth" ;;
    esac
    before=$(cd "$d" && ls -lR . | cksum)
    run timeout 60 "$C" "$d" -o "$d/out/model.llq" --no-tokenizer
    expect_fail_line llq-convert "$2" "llq-convert refuses $n"
    expect_no_file "$MARKER" "llq-convert executed nothing for $n"
    if [ -z "$(ls -A "$d/out")" ]; then _ok "llq-convert wrote nothing for $n"; else _fail "llq-convert wrote nothing for $n ($(ls -A "$d/out"))"; fi
    after=$(cd "$d" && ls -lR . | cksum)
    if [ "$before" = "$after" ]; then _ok "inputs unchanged for $n"; else _fail "inputs unchanged for $n"; fi
    run timeout 60 "$I" --verify "$f"
    expect_fail_line llq-inspect "." "llq-inspect refuses $n"
    expect_no_file "$MARKER" "llq-inspect executed nothing for $n"
    rm -f "$MARKER"
}

[ -x "$C" ] && [ -x "$I" ] || { echo "ok - SKIP: llq-convert / llq-inspect not built"; exit 0; }

NOTALLOWED="pickle GLOBAL '(os|posix|builtins) [a-z_]+' is not allowed"
# code execution through REDUCE (every payload verified to run under torch.load by make_hostile.py's author)
hostile $H/system.pth "$NOTALLOWED"
hostile $H/posix_system.pth "$NOTALLOWED"
hostile $H/eval.pth "$NOTALLOWED"
hostile $H/exec.pth "$NOTALLOWED"
hostile $H/getattr.pth "$NOTALLOWED"
hostile $H/stack_global.pth "$NOTALLOWED"
hostile $H/nested_system.pth "$NOTALLOWED"
hostile $H/legacy_system.pth "$NOTALLOWED"
# nested-memo bombs (2^60 / 2^30 paths through shared nodes), a 20000-deep nesting, a shape made of a bomb
hostile $H/memo_bomb_dict.pth "nested deeper than"
hostile $H/memo_bomb_wide.pth "more than [0-9]+ values"
hostile $H/memo_bomb_list.pth "appears twice"
hostile $H/deep_nest.pth "appears twice"
hostile $H/memo_bomb_shape.pth "tensor 'w'"
# LONGs of absurd length
hostile $H/long_absurd.pth "integer of 2147483647 bytes"
hostile $H/long_dim.pth "integer of 4000 bytes"
# safetensors claiming 100 GB (header length; one tensor's data)
hostile $H/st_header_100gb.safetensors "header claims 100000000000 bytes"
hostile $H/st_tensor_100gb.safetensors "100000000000"
# zip bombs, a directory outside the file
hostile $H/zip_bomb.pth "zip bomb|inflates"
hostile $H/cd_outside.pth "central directory .* outside the file"
hostile $H/local_outside.pth "outside the file"
# a complex tensor: unsupported, said so (not a refusal that reads like an attack)
hostile $H/complex.pth "complex tensors are not supported"
for f in zip_bomb.pth zip_bomb_ratio.pth zip_cd_outside.pth st_huge_header.safetensors evil_system.pth; do
    [ -f "$K/bad/$f" ] && hostile "$K/bad/$f" "."
done
