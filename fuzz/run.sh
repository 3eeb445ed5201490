#!/bin/sh
# run.sh - runs netkit's libFuzzer targets (`make fuzz`): each for FUZZ_SECONDS
# (default 60) on a scratch copy of its seed corpus under build/fuzz/run/<target>/,
# with a memory limit, a time limit per input and leak detection, then prints
# its executions and executions per second from libFuzzer's final stats.
# Exits 1 when any target found a crash, leak, timeout or out-of-memory; the
# input that did it is in build/fuzz/run/<target>/artifacts/ (fuzz/README.md
# says how to reproduce it). Usage: run.sh TARGET... (built in build/fuzz/).
secs=${FUZZ_SECONDS:-60}
rss_mb=${FUZZ_RSS_MB:-1024}
per_input=${FUZZ_TIMEOUT:-10}
lsan_probe=${FUZZ_LSAN_PROBE:-build/asan/lsan-probe}
case $secs in '' | *[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;; esac

# LeakSanitizer cannot work under ptrace (strace, gdb, some sandboxes): the
# probe leaks on purpose; without leak detection say so and go on.
leaks=1
if [ -x "$lsan_probe" ] && ! ASAN_OPTIONS=detect_leaks=1 "$lsan_probe" 2>&1 | grep -q 'detected memory leaks'; then
    leaks=0
    echo "run.sh: LeakSanitizer does not work here; fuzzing without leak detection"
fi

failed=0
summary=""
for t in "$@"; do
    bin=build/fuzz/$t
    work=build/fuzz/run/$t
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    seeds=0
    if [ -d "fuzz/corpus/$t" ]; then
        cp fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null
        seeds=$(ls "$work/corpus" | wc -l)
    fi
    case $t in
    fuzz_addr) max_len=320 ;;
    fuzz_line) max_len=20000 ;;
    fuzz_chat) max_len=4096 ;;
    *) max_len=16384 ;;
    esac
    dict=""
    [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
    echo "==== $t: ${secs} s, $seeds seeds, -max_len=$max_len -rss_limit_mb=$rss_mb -timeout=$per_input"
    # shellcheck disable=SC2086 # $dict is empty or one word
    ASAN_OPTIONS="detect_leaks=$leaks:detect_stack_use_after_return=1" UBSAN_OPTIONS=print_stacktrace=1 \
        "$bin" -max_total_time="$secs" -rss_limit_mb="$rss_mb" -timeout="$per_input" \
        -max_len="$max_len" -print_final_stats=1 -detect_leaks="$leaks" $dict \
        -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1)
    corpus=$(ls "$work/corpus" | wc -l)
    artifacts=$(ls "$work/artifacts" | wc -l)
    line=$(printf '%-10s %10s execs %7s exec/s  peak %s MB  %s  corpus %s -> %s' "$t" \
        "${execs:-?}" "${rate:-?}" "${rss:-?}" "${cov:-cov: ?}" "$seeds" "$corpus")
    echo "$line"
    if [ $rc -ne 0 ] || [ "$artifacts" -ne 0 ] || [ -z "$execs" ]; then
        failed=1
        line="$line  FAILED (exit $rc)"
        echo "---- $t failed (exit $rc); the end of $work/log:"
        grep -n -m 5 -E 'ERROR|property failed|Sanitizer|deadly signal|timeout|out-of-memory' "$work/log"
        tail -n 40 "$work/log"
        for a in "$work"/artifacts/*; do
            [ -e "$a" ] && echo "---- input saved: $a; reproduce: $bin $a"
        done
    fi
    summary="$summary$line
"
done
echo "==== fuzz summary (${secs} s per target)"
printf '%s' "$summary"
exit $failed
