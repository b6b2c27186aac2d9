# lib.sh — sourced by tests/cli/*.sh. Runs a command, then asserts on its exit code and output.
# Each assertion prints "ok - NAME" or "not ok - NAME" (with the captured output) for tests/run.sh.
: "${BUILD:=build}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FIX=tests/fixtures

# run CMD...: sets RC, OUT (stdout), ERR (stderr)
run() {
    "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?
    OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
}
_ok() { echo "ok - $1"; }
_fail() { echo "not ok - $1"; echo "  rc=$RC"; echo "  stdout: $(head -c 600 "$TMP/out")"; echo "  stderr: $(head -c 600 "$TMP/err")"; }
# expect_rc N NAME
expect_rc() { if [ "$RC" -eq "$1" ]; then _ok "$2"; else _fail "$2 (want rc $1)"; fi; }
# expect_out GREP-ERE NAME: stdout matches
expect_out() { if grep -Eq -- "$1" "$TMP/out"; then _ok "$2"; else _fail "$2 (stdout !~ $1)"; fi; }
# expect_err_line GREP-ERE NAME: stderr is exactly one line and it matches
expect_err_line() {
    if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -Eq -- "$1" "$TMP/err"; then _ok "$2"; else _fail "$2 (stderr not one line ~ $1)"; fi
}
# expect_fail_line TOOL GREP-ERE NAME: rc 1, one stderr line prefixed with the tool name, matching
expect_fail_line() { if [ "$RC" -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -Eq -- "^$1: .*$2" "$TMP/err"; then _ok "$3"; else _fail "$3"; fi; }
# expect_file / expect_no_file PATH NAME
expect_file() { if [ -f "$1" ]; then _ok "$2"; else _fail "$2 (no $1)"; fi; }
expect_no_file() { if [ ! -e "$1" ]; then _ok "$2"; else _fail "$2 ($1 exists)"; fi; }
# expect_json NAME: stdout is one JSON document
expect_json() { if "$JGET" "$TMP/out" 2>/dev/null; then _ok "$1"; else _fail "$1 (bad json)"; fi; }

# ---- --json output read without an interpreter: tests/jget.c (paths a/b, N, *, KEY=TEXT, KEY=*, #, @keys) ----
JGET=$BUILD/tests/jget
# jv PATH...: the values at PATH in the last command's stdout, one per line
jv() { "$JGET" "$TMP/out" "$@"; }
# The conditions below return 0/1 and note why they failed; `check` turns them into one ok / not ok line.
# jis PATH TEXT: the values at PATH print exactly as TEXT (several values: one per line)
jis() { _v=$(jv "$1" 2>&1); [ "$_v" = "$2" ] || { echo "$1 is '$_v', want '$2'" >>"$TMP/why"; return 1; }; }
# jall PATH TEXT: PATH holds at least one value and every one prints as TEXT
jall() {
    _v=$(jv "$1" 2>&1)
    printf '%s\n' "$_v" | awk -v t="$2" '$0 != t { bad = 1 } END { exit bad || NR == 0 }' ||
        { echo "$1 is '$_v', want all '$2'" >>"$TMP/why"; return 1; }
}
# freeze_mid_write DIR HOOK CMD...: runs CMD in the background (stdout, stderr to $TMP/out, $TMP/err) until its
# temp file (*.tmp.*) appears in DIR, freezes it (SIGSTOP), evals HOOK ($pid is CMD's) if it is still mid-write
# (temp file there, no DIR/out.llq yet), resumes it and waits. Sets RC, and CAUGHT=1 if HOOK ran.
freeze_mid_write() {
    _d=$1; _hook=$2; shift 2; CAUGHT=0
    "$@" >"$TMP/out" 2>"$TMP/err" &
    pid=$!
    while kill -0 $pid 2>/dev/null; do
        if ls "$_d" | grep -q '\.tmp\.'; then
            kill -STOP $pid 2>/dev/null
            if ls "$_d" | grep -q '\.tmp\.' && ! [ -e "$_d/out.llq" ]; then CAUGHT=1; eval "$_hook"; fi
            kill -CONT $pid 2>/dev/null
            break
        fi
    done
    wait $pid; RC=$?
}
# jnum PATH COND: PATH holds at least one value, each a number v for which the awk condition COND holds
jnum() {
    _v=$(jv "$1" 2>&1)
    printf '%s\n' "$_v" | awk "{ if (\$0 !~ /^-?[0-9]/) bad = 1; else { v = \$0 + 0; if (!($2)) bad = 1 } } END { exit bad || NR == 0 }" ||
        { echo "$1 is '$_v', want $2" >>"$TMP/why"; return 1; }
}
# jcount PATH N: PATH holds exactly N values
jcount() { _n=$(jv "$1" 2>/dev/null | wc -l); [ "$_n" -eq "$2" ] || { echo "$1 holds $_n values, want $2" >>"$TMP/why"; return 1; }; }
# check CONDITION NAME: the shell CONDITION (built from jis, jall, jnum, jcount, test ...) holds
check() { : >"$TMP/why"; if eval "$1"; then _ok "$2"; else _fail "$2 ($(tr '\n' ';' <"$TMP/why"))"; fi; }
