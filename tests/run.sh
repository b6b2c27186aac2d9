#!/bin/sh
# run.sh BUILD — runs every Check suite (BUILD/tests/test_*) and every CLI test (tests/cli/*.sh),
# then prints "N passed, N failed" (checks + CLI cases) and fails if anything failed.
B=${1:-build}
export BUILD="$B"
pass=0; fail=0; bad=""
for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks:' | tail -1)
    printf '%-28s %s\n' "$(basename "$t")" "${line:-no summary (rc $rc)}"
    n=$(printf '%s' "$line" | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p')
    if [ -n "$n" ]; then
        set -- $n; pass=$((pass + $1 - $2 - $3)); fail=$((fail + $2 + $3))
    fi
    if [ $rc -ne 0 ] || [ -z "$n" ]; then
        [ -z "$n" ] && fail=$((fail + 1))
        printf '%s\n' "$out" | grep -vE '^(Running suite|[0-9]+%: Checks:)' | sed 's/^/    /'
        bad="$bad $(basename "$t")"
    fi
done
for s in tests/cli/*.sh; do
    [ -f "$s" ] || continue
    case "$s" in */lib.sh) continue ;; esac
    out=$(sh "$s" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | grep -c '^ok ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok ')
    printf '%-28s %d passed, %d failed%s\n' "$(basename "$s")" "$p" "$f" "$( [ $rc -ne 0 ] && echo " (rc $rc)")"
    pass=$((pass + p)); fail=$((fail + f))
    if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
        [ "$f" -eq 0 ] && fail=$((fail + 1))
        printf '%s\n' "$out" | grep -v '^ok ' | sed 's/^/    /'
        bad="$bad $(basename "$s")"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failing:$bad"; exit 1; }
