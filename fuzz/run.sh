#!/usr/bin/env bash
# Runs every fuzz target for N seconds (default 30), one after the other, each on its committed
# seeds (seeds/<target>/) and its working corpus (corpus/<target>/, not committed); prints the
# executions of each run (libFuzzer's final stats) and the machine's load average, and exits
# non-zero if any target crashed (the input is then in artifacts/<target>/, and the log in
# target/fuzz-logs/<target>.log). The targets are built one at a time.
#
#   fuzz/run.sh [seconds] [target...]
#
# Needs the nightly toolchain and cargo-fuzz. GRADSTEP_FUZZ_TRACE=1 makes a target print what an
# input does.
set -uo pipefail

cd "$(dirname "$0")"
seconds="${1:-30}"
shift || true
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=(kernel_equivalence layout_validation schedules capi)
fi
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 [seconds] [target...]" >&2; exit 2 ;;
esac

echo "building ${targets[*]} (cargo +nightly fuzz build: release, debug assertions, AddressSanitizer)"
start=$(date +%s)
for t in "${targets[@]}"; do
    cargo +nightly fuzz build "$t" || { echo "build of $t failed" >&2; exit 1; }
done
echo "built in $(( $(date +%s) - start )) s"

mkdir -p target/fuzz-logs
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    log="target/fuzz-logs/$t.log"
    echo "== $t: ${seconds} s"
    cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1
    status=$?
    # libFuzzer's last progress line ("#N DONE cov: ... exec/s: ...") and its final statistics
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    execs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -n 1 | awk '{print $2}')
    rate=$(grep -E '^stat::average_exec_per_sec:' "$log" | tail -n 1 | awk '{print $2}')
    load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
    if [ "$status" -eq 0 ]; then
        echo "${done_line:-"(no DONE line)"}"
        summary+=("$(printf '%-20s ok     %10s execs  %7s exec/s  load %s' "$t" "${execs:-?}" "${rate:-?}" "$load")")
    else
        failed+=("$t")
        grep -E 'panicked at|^SUMMARY|ERROR: AddressSanitizer|Test unit written|^[a-z].*: .*(failed|changed|differ)' "$log" | head -n 8
        summary+=("$(printf '%-20s FAILED %10s execs  %7s exec/s  load %s  (exit %s, log %s)' "$t" "${execs:-?}" "${rate:-?}" "$load" "$status" "fuzz/$log")")
    fi
done

echo
echo "== summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
