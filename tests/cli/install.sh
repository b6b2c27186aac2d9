# install.sh — `make install PREFIX=/usr DESTDIR=...` into a temp dir (reusing the built tools and library:
# `-o all`, nothing is rebuilt): the 4 tools, libllq.a, every public header and llq.pc; then a small C program is
# compiled and linked with `pkg-config --cflags --libs llq` (PKG_CONFIG_SYSROOT_DIR = DESTDIR) and run.
. tests/cli/lib.sh
D=$TMP/dest
run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -o all install BUILD=$BUILD PREFIX=/usr DESTDIR=$D
expect_rc 0 "make install PREFIX=/usr DESTDIR=tmp"
for t in convert quantize inspect eval; do
    if [ -x $D/usr/bin/llq-$t ]; then _ok "installs llq-$t"; else _fail "installs llq-$t"; fi
done
expect_file $D/usr/lib/libllq.a "installs libllq.a"
n=0; for h in include/llq/*.h; do [ -f $D/usr/include/llq/$(basename $h) ] || n=$((n + 1)); done
if [ $n -eq 0 ]; then _ok "installs every public header"; else _fail "installs every public header ($n missing)"; fi
expect_file $D/usr/lib/pkgconfig/llq.pc "installs llq.pc"
if grep -q '^prefix=/usr$' $D/usr/lib/pkgconfig/llq.pc &&
   grep -q "^Version: $(sed -n 's/.*LLQ_VERSION_STRING "\(.*\)"/\1/p' include/llq/llq.h)$" $D/usr/lib/pkgconfig/llq.pc
then _ok "llq.pc has the prefix and version"; else _fail "llq.pc has the prefix and version"; fi
run $D/usr/bin/llq-inspect --version
expect_rc 0 "installed tool runs"

if ! command -v pkg-config >/dev/null 2>&1; then
    echo "# SKIP: no pkg-config, the link test is skipped"
    exit 0
fi
cat >$TMP/use.c <<'C'
#include <llq/format.h>
#include <llq/llq.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    llq_file *f;
    printf("llq %s crc %08x\n", LLQ_VERSION_STRING, (unsigned)llq_crc32(0, "123456789", 9));
    if (argc > 1) {
        if (llq_open(&f, argv[1]) != 0) {
            printf("error: %s\n", llq_errmsg());
            return 1;
        }
        printf("tensors %zu\n", llq_n_tensors(f));
        llq_close(f);
    }
    return 0;
}
C
# sanitizer builds: the library needs the sanitizer runtime
CCX=cc; SANX=""
case "$BUILD" in *-asan) CCX=clang; SANX="-fsanitize=address,undefined" ;; *-ubsan) CCX=clang; SANX="-fsanitize=undefined" ;; esac
export PKG_CONFIG_PATH=$D/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
flags=$(pkg-config --cflags --libs llq)
run $CCX $SANX -std=c11 -Wall -Werror -o $TMP/use $TMP/use.c $flags
expect_rc 0 "compiles and links with pkg-config --cflags --libs llq"
case "$flags" in *"-I$D/usr/include"*"-L$D/usr/lib"*|*"-L$D/usr/lib"*"-I$D/usr/include"*) _ok "flags point into DESTDIR" ;;
    *) _fail "flags point into DESTDIR ($flags)" ;; esac
run $TMP/use $FIX/eval/tiny.llq
expect_rc 0 "the program runs"
expect_out "^llq [0-9.]+ crc cbf43926$" "library linked (CRC-32 check value)"
expect_out "^tensors [1-9]" "reads a .llq through the installed library"
