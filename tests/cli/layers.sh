# layers.sh — the folders keep to the dependency graph of scripts/layers.sh (no folder includes a header of a
# layer above it), the check itself catches a bad include, and the library's messages name no command-line
# flag (the tools add those).
. tests/cli/lib.sh
run scripts/layers.sh .
expect_rc 0 "every #include of the library folders keeps to the dependency graph"

# the check catches offences: a copy of the sources with a format/ file that includes eval's header, a
# kernels/ file that includes a tool's header, and an unknown public header
mkdir -p $TMP/src
for d in common format inspect ckpt tokenizer convert kernels eval quantize tools; do
    mkdir -p $TMP/src/$d && cp $d/*.c $d/*.h $TMP/src/$d/ 2>/dev/null || true
done
run scripts/layers.sh $TMP/src
expect_rc 0 "the copy passes"
printf '#include "llq/model.h"\n' >$TMP/src/format/bad.c
printf '#include "cli.h"\n' >$TMP/src/kernels/bad.c
printf '#include "llq/nosuch.h"\n' >$TMP/src/eval/bad.c
run scripts/layers.sh $TMP/src
expect_rc 1 "a bad include fails the check"
expect_out '^format/bad.c:1: format/ includes "llq/model.h" of eval/, a layer it may not depend on' \
    "names the file, the header and its layer"
expect_out '^kernels/bad.c:1: kernels/ includes "cli.h" of tools/' "a library folder never includes a tool's header"
expect_out '^eval/bad.c:1: includes "llq/nosuch.h", which scripts/layers.sh does not place' "an unknown header fails"

# library messages (string literals in the library folders) never name a flag such as --force or --ctx
grep -nE '"[^"]*[[:space:](]--[a-z][a-z-]+' common/*.c format/*.c inspect/*.c ckpt/*.c tokenizer/*.c convert/*.c \
    kernels/*.c eval/*.c quantize/*.c >$TMP/out 2>/dev/null
RC=$?
if [ $RC -eq 1 ]; then _ok "no library string names a command-line flag"
else _fail "no library string names a command-line flag"; fi

# the CPU is asked in one place: common/cpu.c (llq_cpu_has_avx2, llq_cpu_has_clmul)
grep -nE '__builtin_cpu_(supports|init)|__get_cpuid|cpuid\.h' format/*.c inspect/*.c ckpt/*.c tokenizer/*.c \
    convert/*.c kernels/*.c eval/*.c quantize/*.c tools/*.c common/*.c 2>/dev/null | grep -v '^common/cpu\.c:' >$TMP/out
if [ ! -s $TMP/out ]; then _ok "CPU features are detected only in common/cpu.c"
else RC=1; _fail "CPU features are detected only in common/cpu.c"; fi
