# install.sh — `make install PREFIX=/usr DESTDIR=...` into a temp dir (reusing the built tools and library:
# `-o all`, nothing is rebuilt): the 4 tools, libllq.a, every public header and llq.pc. The installed library
# exports only llq_* symbols, exactly the functions the installed headers declare (scripts/public-syms.sh). Then a
# small C program is compiled and linked with `pkg-config --cflags --libs llq` (PKG_CONFIG_SYSROOT_DIR = DESTDIR)
# and run, and a C++ program including every installed header links too (extern "C").
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

# exported symbols of the installed library: only llq_*, and each declared by an installed header
if command -v nm >/dev/null 2>&1; then
    nm -g --defined-only $D/usr/lib/libllq.a | awk 'NF == 3 { print $3 }' | sort -u >$TMP/syms
    grep -v '^llq_' $TMP/syms >$TMP/foreign
    if [ -s $TMP/syms ] && [ ! -s $TMP/foreign ]; then _ok "installed libllq.a exports only llq_* ($(wc -l <$TMP/syms) symbols)"
    else _fail "installed libllq.a exports only llq_* ($(wc -l <$TMP/foreign) others: $(head -5 $TMP/foreign | tr '\n' ' '))"; fi
    scripts/public-syms.sh $D/usr/include >$TMP/public
    comm -23 $TMP/syms $TMP/public >$TMP/undeclared
    if [ ! -s $TMP/undeclared ]; then _ok "every exported symbol is declared in an installed header"
    else _fail "every exported symbol is declared in an installed header ($(head -5 $TMP/undeclared | tr '\n' ' '))"; fi
else
    echo "# SKIP: no nm, the exported-symbol check is skipped"
fi

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
    printf("llq %s crc %08x\n", llq_version(), (unsigned)llq_crc32(0, "123456789", 9));
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

# C++: every installed header compiles inside a C++ program and its functions link (extern "C" guards)
if command -v c++ >/dev/null 2>&1 && [ -z "$SANX" ]; then
    { for h in $D/usr/include/llq/*.h; do echo "#include <llq/$(basename $h)>"; done
      cat <<'CXX'
#include <cstdio>
#include <cstring>
int main()
{
    llq_pool *p = nullptr;
    int ok = llq_pool_new(&p, 1) == 0 && std::strcmp(llq_version(), LLQ_VERSION_STRING) == 0;
    llq_pool_free(p);
    std::printf("c++ %s %s\n", ok ? "ok" : "bad", llq_type_name(LLQ_Q4A));
    return ok ? 0 : 1;
}
CXX
    } >$TMP/use.cc
    run c++ -std=c++11 -Wall -Werror -o $TMP/usecc $TMP/use.cc $flags
    expect_rc 0 "a C++ program includes every installed header and links (extern \"C\")"
    run $TMP/usecc
    expect_out "^c\+\+ ok q4a$" "the C++ program runs (llq_version matches the header)"
else
    echo "# SKIP: no c++ (or a sanitizer build), the C++ link test is skipped"
fi
