#!/usr/bin/env bash
# run.sh - runs one command under a sanitizer's options and fails on any report.
#
#   tests/sanitizers/run.sh asan|asan-python|tsan|valgrind COMMAND [ARG...]
#
# Every report of every process the command starts (the Check runner's forked
# children, the example programs a Python test launches) goes to a file in a
# scratch directory (log_path); after the command, each report found is
# printed and the run fails, also when the command itself passed, e.g.
# because the test only stopped a server that had reported. The command's own
# failure fails the run too.
#
#   asan         ASan + UBSan programs. Leak detection when LeakSanitizer works
#                here (NK_LSAN_PROBE: a program that leaks on purpose; without
#                it, or when LSan cannot run, e.g. under ptrace, no leak check).
#   asan-python  python3 with NK_ASAN_RUNTIME (gcc's libasan.so) preloaded, to
#                load an ASan-built libnetkit.so (NETKIT_LIBRARY). No leak
#                check: CPython leaves much of its memory to the OS at exit on
#                purpose. PYTHONMALLOC=malloc, so the buffers Python hands to
#                netkit are heap blocks whose bounds ASan checks.
#   tsan         ThreadSanitizer programs, halt_on_error=1 exitcode=66.
#                NK_TSAN_PROBE (a program with a data race on purpose) shows
#                whether TSan runs here as it is; when it does not (TSan fails
#                on kernels whose mmap randomisation its memory layout does not
#                expect), the command runs with ASLR off (setarch -R), which
#                every process it starts inherits.
#   valgrind     memcheck: tests/examples/harness.py starts every example
#                program under valgrind (NK_EXAMPLES_WRAPPER); errors and
#                definitely lost bytes are reports.
#
# NK_EXEC_LOG is set to a file where tests/examples/harness.py notes each
# example program it starts; the count is printed at the end.
set -u
kind=${1:?usage: run.sh asan|asan-python|tsan|valgrind COMMAND [ARG...]}
shift
[ $# -gt 0 ] || { echo "run.sh: no command" >&2; exit 2; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/nk-sanitizer.XXXXXX") || exit 1
trap 'rm -rf "$logs"' EXIT
export NK_EXEC_LOG="$logs/exec.log"
: >"$NK_EXEC_LOG"
prefix=()

case $kind in
asan)
    leaks=0
    if [ -n "${NK_LSAN_PROBE:-}" ]; then
        if ASAN_OPTIONS=detect_leaks=1 "$NK_LSAN_PROBE" 2>&1 | grep -q 'detected memory leaks'; then
            leaks=1
        else
            echo "run.sh: LeakSanitizer does not work here (under ptrace?), no leak check:"
            ASAN_OPTIONS=detect_leaks=1 "$NK_LSAN_PROBE" 2>&1 | sed 's/^/  probe: /' | head -5
        fi
    else
        echo "run.sh: NK_LSAN_PROBE not given, no leak check"
    fi
    export NK_SANITIZER=asan
    export ASAN_OPTIONS="detect_leaks=$leaks:log_path=$logs/asan:strict_string_checks=1:detect_stack_use_after_return=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
    echo "run.sh: ASAN_OPTIONS=$ASAN_OPTIONS"
    ;;
asan-python)
    rt=${NK_ASAN_RUNTIME:-}
    if [ -z "$rt" ] || [ ! -e "$rt" ]; then
        echo "run.sh: the ASan runtime '$rt' (NK_ASAN_RUNTIME, from \$CC -print-file-name=libasan.so)" \
            "does not exist; build with gcc" >&2
        exit 1
    fi
    # The real interpreter, not a wrapper script (pyenv's shims are bash).
    if [ "$1" = python3 ]; then
        py=$(python3 -c 'import sys; print(sys.executable)') || exit 1
        shift
        set -- "$py" "$@"
    fi
    export LD_PRELOAD="$rt${LD_PRELOAD:+:$LD_PRELOAD}"
    export NK_SANITIZER=asan
    export PYTHONMALLOC=malloc
    # allocator_may_return_null: Python turns a failed malloc into MemoryError
    # (bytearray(2**62), a ctypes buffer for recv(2**62)); ASan would abort.
    export ASAN_OPTIONS="detect_leaks=0:log_path=$logs/asan:strict_string_checks=1:allocator_may_return_null=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
    echo "run.sh: LD_PRELOAD=$LD_PRELOAD ASAN_OPTIONS=$ASAN_OPTIONS"
    ;;
tsan)
    export NK_SANITIZER=tsan
    export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$logs/tsan"
    probe=${NK_TSAN_PROBE:-}
    if [ -n "$probe" ]; then
        works() { TSAN_OPTIONS=exitcode=66 "$@" 2>&1 | grep -q 'WARNING: ThreadSanitizer: data race'; }
        if works "$probe"; then
            echo "run.sh: ThreadSanitizer works here as it is"
        elif works setarch "$(uname -m)" -R "$probe"; then
            prefix=(setarch "$(uname -m)" -R)
            echo "run.sh: ThreadSanitizer needs ASLR off on this kernel ($(uname -r)): running under ${prefix[*]}"
        else
            echo "run.sh: ThreadSanitizer does not work here, neither as it is nor with ASLR off:" >&2
            TSAN_OPTIONS=exitcode=66 setarch "$(uname -m)" -R "$probe" 2>&1 | sed 's/^/  probe: /' | head -10 >&2
            exit 1
        fi
    fi
    echo "run.sh: TSAN_OPTIONS=$TSAN_OPTIONS"
    ;;
valgrind)
    command -v valgrind >/dev/null || { echo "run.sh: valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
    export NK_SANITIZER=valgrind
    export NK_EXAMPLES_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=$logs/valgrind.%p"
    echo "run.sh: NK_EXAMPLES_WRAPPER=$NK_EXAMPLES_WRAPPER"
    ;;
*)
    echo "run.sh: unknown kind '$kind' (asan, asan-python, tsan or valgrind)" >&2
    exit 2
    ;;
esac

echo "run.sh: ${prefix[*]}${prefix:+ }$*"
"${prefix[@]}" "$@"
rc=$?

# The first reports in full, then one SUMMARY line for each of the others.
reports=0
for f in "$logs"/asan* "$logs"/ubsan* "$logs"/tsan* "$logs"/valgrind*; do
    [ -s "$f" ] || continue
    # With allocator_may_return_null (asan-python) a malloc too large to serve
    # returns NULL, as Python expects (MemoryError), and ASan only warns: a
    # file of nothing but those warnings is no error.
    grep -qv 'WARNING: AddressSanitizer failed to allocate' "$f" || continue
    reports=$((reports + 1))
    if [ "$reports" -le 5 ]; then
        echo "==== sanitizer report: ${f##*/} ====" >&2
        head -n 200 "$f" >&2
    else
        echo "==== sanitizer report: ${f##*/}: $(grep -m1 -E 'SUMMARY|ERROR' "$f")" >&2
    fi
done
execs=$(wc -l <"$NK_EXEC_LOG")
echo "run.sh: $kind: $reports report file(s); command exit status $rc; $execs example program run(s)"
[ "$reports" -eq 0 ] || { echo "run.sh: $kind: the sanitizer reported errors (above)" >&2; exit 1; }
exit "$rc"
