#!/bin/sh
# run.sh BUILD SECONDS TARGET... — runs each libFuzzer target BUILD/fuzz/fuzz_<t> for SECONDS on a work copy of
# its corpus (BUILD/corpus/<t>, seeded from tests/fuzz/corpus/<t>), one at a time, niced, then prints one summary
# line per target: seconds, runs, exec/s, cov, ft, new crash files (crash-/leak-/oom-/timeout-*, kept in
# BUILD/artifacts/<t>/) and new slow-unit files (inputs that took over 10 s: a finding only if they are slow
# when rerun alone, e.g. `BUILD/fuzz/fuzz_<t> FILE`; on a busy machine they usually are not).
# Run from the repo root. Exit 1 if any target found a crash.
B=$1; S=$2; shift 2
bad=0
for t in "$@"; do
    bin=$B/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "fuzz_$t: not built"; bad=1; continue; }
    case $t in
        zip|torch) len=1048576 ;;  # archives: room for a few entries
        tok|bpetext) len=4096 ;;
        config) len=16384 ;;
        *) len=65536 ;;
    esac
    mkdir -p "$B/corpus/$t" "$B/artifacts/$t"
    log=$B/fuzz_$t.log
    before=$(ls "$B/artifacts/$t" | grep -cv '^slow-unit-')
    slow0=$(ls "$B/artifacts/$t" | grep -c '^slow-unit-')
    nice -n 10 "$bin" -max_total_time="$S" -rss_limit_mb=2048 -max_len=$len -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$B/artifacts/$t/" "$B/corpus/$t" tests/fuzz/corpus/$t >"$log" 2>&1
    rc=$?
    after=$(ls "$B/artifacts/$t" | grep -cv '^slow-unit-')
    slow=$(( $(ls "$B/artifacts/$t" | grep -c '^slow-unit-') - slow0 ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(printf '%s' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    printf 'fuzz_%-11s %6ss %10s runs %7s exec/s  cov %5s  ft %6s  crashes %d  slow units %d%s\n' "$t" \
        "${secs:-?}" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" $((after - before)) $slow \
        "$( [ $rc -ne 0 ] && echo " (rc $rc, see $log)")"
    [ $rc -ne 0 ] && bad=1
done
exit $bad
