# tools.sh — the conventions every tool shares (docs/TOOLS.md): --help complete (every flag its option parser
# accepts, read from the source, is in --help and in the tool's section of docs/TOOLS.md; usage, exit status,
# examples), --version one line, unknown flags and missing values one line + exit 2, --quiet silences stderr,
# progress bars only on a terminal and only for work longer than a second.
. tests/cli/lib.sh

# flags SRC: every option the parser of SRC accepts, one per line (--long from struct option tables or
# strcmp(s, "--x") chains; -x from the getopt optstring or strcmp(s, "-x"))
flags() {
    grep -o '{"[a-z0-9-]*", *\(no\|required\)_argument' "$1" | sed 's/{"\([^"]*\)".*/--\1/'
    grep -o 'strcmp(s, "-[^"]*")' "$1" | sed 's/.*"\(-[^"]*\)")/\1/'
    sed -n 's/.*getopt_long(argc, argv, "\([^"]*\)".*/\1/p' "$1" | tr -d ':' | fold -w1 | sed 's/^/-/'
}
# section TOOL: the tool's section of docs/TOOLS.md
section() { awk -v h="## $1" '$0 == h { on = 1; next } /^## / { on = 0 } on' docs/TOOLS.md; }

for t in convert quantize inspect eval; do
    T=llq-$t
    run $BUILD/$T --help
    expect_rc 0 "$T --help exits 0"
    if [ ! -s "$TMP/err" ] && grep -q '^Usage: ' "$TMP/out" && grep -q 'Examples:' "$TMP/out" &&
       grep -q 'Exit status: 0 ok, 1 error.*2 usage' "$TMP/out"; then _ok "$T --help: usage, exit status, examples"
    else _fail "$T --help: usage, exit status, examples"; fi
    cp "$TMP/out" "$TMP/help"
    section $T >"$TMP/doc"
    n=0
    for f in $(flags tools/llq-$t.c | sort -u); do
        n=$((n + 1))
        case "$f" in
        --*) pat="(^|[^a-z-])$f([^a-z-]|\$)" ;;
        *) pat="(^|[\` ,(\[])$f([\` ,)]|\$)" ;;
        esac
        if grep -Eq -- "$pat" "$TMP/help"; then _ok "$T --help mentions $f"; else _fail "$T --help mentions $f"; fi
        if grep -Eq -- "$pat" "$TMP/doc"; then _ok "docs/TOOLS.md $T mentions $f"; else echo "not ok - docs/TOOLS.md $T mentions $f"; fi
    done
    if [ $n -ge 6 ]; then _ok "$T: $n flags read from tools/llq-$t.c"; else _fail "$T: only $n flags read from tools/llq-$t.c"; fi

    run $BUILD/$T --version
    if [ $RC -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 1 ] && grep -Eq "^$T \(llq\) [0-9]+\.[0-9]+" "$TMP/out" &&
       [ ! -s "$TMP/err" ]; then _ok "$T --version: one line"; else _fail "$T --version: one line"; fi
    for bad in --no-such-flag -Z; do
        run $BUILD/$T $bad x.llq
        expect_rc 2 "$T $bad exits 2"
        expect_err_line "^$T: .*$bad" "$T $bad: one line naming the flag"
    done
done

# llq-eval subcommands: help, unknown flags and missing values per subcommand
for c in ppl drift generate; do
    run $BUILD/llq-eval $c --help
    expect_rc 0 "llq-eval $c --help"
    run $BUILD/llq-eval $c m.llq --bogus
    expect_rc 2 "llq-eval $c --bogus exits 2"
    expect_err_line "^llq-eval: .*--bogus" "llq-eval $c --bogus: one line"
done
run $BUILD/llq-eval frobnicate m.llq
expect_rc 2 "llq-eval unknown command"
expect_err_line "^llq-eval: .*frobnicate" "llq-eval unknown command: one line"
for tv in "llq-convert x -o" "llq-quantize x -o" "llq-inspect x --compare" "llq-eval ppl x --text"; do
    run $BUILD/$tv
    expect_rc 2 "$tv (missing value) exits 2"
    expect_err_line "^${tv%% *}: .*needs" "$tv: one line"
done

# --quiet: nothing on stderr on success
F=$FIX/eval
run $BUILD/llq-convert models/pydoc-7m -o $TMP/p.llq --quiet
if [ $RC -eq 0 ] && [ ! -s "$TMP/err" ]; then _ok "llq-convert --quiet"; else _fail "llq-convert --quiet"; fi
run $BUILD/llq-quantize $F/tiny.llq -o $TMP/q.llq --type q8 --quiet
if [ $RC -eq 0 ] && [ ! -s "$TMP/err" ]; then _ok "llq-quantize --quiet"; else _fail "llq-quantize --quiet"; fi
run $BUILD/llq-quantize $F/tiny.llq -o $TMP/q2.llq --type q8
if [ $RC -eq 0 ] && [ -s "$TMP/err" ]; then _ok "llq-quantize without --quiet reports on stderr"; else _fail "llq-quantize without --quiet reports on stderr"; fi
run $BUILD/llq-inspect $TMP/q.llq --stats --compare $F/tiny.llq -q
if [ $RC -eq 0 ] && [ ! -s "$TMP/err" ]; then _ok "llq-inspect --quiet"; else _fail "llq-inspect --quiet"; fi
run $BUILD/llq-eval drift $F/tiny.llq $TMP/q.llq --tokens $F/tiny_tokens.u32 --ctx 20 --svg $TMP/d.svg --quiet
if [ $RC -eq 0 ] && [ ! -s "$TMP/err" ]; then _ok "llq-eval drift --quiet"; else _fail "llq-eval drift --quiet"; fi
run $BUILD/llq-eval generate $TMP/p.llq --prompt "The list" -n 3 --temp 0 --quiet
if [ $RC -eq 0 ] && [ ! -s "$TMP/err" ]; then _ok "llq-eval generate --quiet"; else _fail "llq-eval generate --quiet"; fi
run $BUILD/llq-eval generate $TMP/p.llq --prompt "The list" -n 3 --temp 0
if [ $RC -eq 0 ] && grep -q "tokens/s" "$TMP/err"; then _ok "llq-eval generate reports speed on stderr"; else _fail "llq-eval generate reports speed on stderr"; fi

# progress: on a terminal (script(1) gives one) for work over a second, never into a file, never with --quiet,
# not for work under a second. LLQ_PROGRESS_STEP=S makes the progress clock advance S seconds per call
# (tools/cli.c), so what is shown does not depend on how long the work takes. Progress counts tokens and moves
# after every layer (tiny.llq has 2): 5 windows of 8 tokens = 10 calls, 1 s each.
if command -v script >/dev/null 2>&1; then
    long="$BUILD/llq-eval ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 8 --chunks 5"
    export LLQ_PROGRESS_STEP=1
    script -qec "$long" /dev/null >$TMP/tty 2>&1
    if grep -q 'tokens.*\[#\{30\}\] 100% 40/40  10\.0s, ETA 0\.0s' $TMP/tty &&
       grep -q 'tokens.*\[#\{6\}\.\{24\}\]  20% 8/40  2\.0s, ETA 8\.0s' $TMP/tty; then _ok "progress bar with ETA on a terminal"
    else RC=1; _fail "progress bar with ETA on a terminal"; cat $TMP/tty; fi
    # one window of 40 tokens (a long context): the bar still moves, halfway after the first of its 2 layers
    script -qec "$BUILD/llq-eval ppl $F/tiny.llq --tokens $F/tiny_tokens.u32 --ctx 40 --chunks 1" /dev/null >$TMP/tty 2>&1
    if grep -q 'tokens.*\[#\{15\}\.\{15\}\]  50% 20/40  1\.0s, ETA 1\.0s' $TMP/tty; then _ok "progress inside one long window"
    else RC=1; _fail "progress inside one long window"; cat $TMP/tty; fi
    script -qec "$long --quiet" /dev/null >$TMP/tty 2>&1
    if grep -q 'ETA' $TMP/tty; then _fail "no progress with --quiet"; else _ok "no progress with --quiet"; fi
    run $long
    if grep -q 'ETA' "$TMP/err"; then _fail "no progress when stderr is a file"; else _ok "no progress when stderr is a file"; fi
    LLQ_PROGRESS_STEP=0.1 script -qec "$long" /dev/null >$TMP/tty 2>&1
    if grep -q 'ETA' $TMP/tty; then _fail "no progress bar for work under a second"; else _ok "no progress bar for work under a second"; fi
    unset LLQ_PROGRESS_STEP
else
    echo "# SKIP: no script(1): terminal progress not tested"
fi
