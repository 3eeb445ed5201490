#!/usr/bin/env bash
# run.sh - netkit's static checks (`make lint`): cppcheck, then clang-tidy,
# over every C file of lib/, examples/ and tests/. Any finding fails.
#
# cppcheck: warning, style, performance and portability checks, with the posix
# and gnu library configurations; tests/lint/cppcheck.supp lists the findings
# that are not bugs, each with its reason. clang-tidy: the checks of
# .clang-tidy (examples/ and tests/ adjust one each), the compiler's own
# warnings included, one process per file, as many at a time as there are
# cores. CHECK_CFLAGS (from pkg-config) lets it find check.h.
set -u
cd "$(dirname "$0")/../.."
for tool in cppcheck clang-tidy; do
    command -v "$tool" >/dev/null || {
        echo "lint: $tool is missing: apt-get install -y cppcheck clang-tidy (or make lint-deps)" >&2
        exit 1
    }
done
files=$(find lib examples tests -name '*.c' | LC_ALL=C sort)
nfiles=$(echo "$files" | wc -l)
out=$(mktemp -d "${TMPDIR:-/tmp}/nk-lint.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
fail=0

echo "lint: cppcheck $(cppcheck --version | sed 's/^Cppcheck //') over $nfiles files"
start=$(date +%s)
# shellcheck disable=SC2086 # one word per file
cppcheck --enable=warning,style,performance,portability --library=posix --library=gnu \
    --platform=unix64 --std=c11 --inline-suppr --quiet --error-exitcode=1 \
    --suppress=missingIncludeSystem --suppressions-list=tests/lint/cppcheck.supp \
    -Iinclude -Ilib -Itests --template='{file}:{line}: {severity} {id}: {message}' \
    $files >"$out/cppcheck.txt" 2>&1
rc=$?
cat "$out/cppcheck.txt"
findings=$(grep -c ': \(error\|warning\|style\|performance\|portability\) ' "$out/cppcheck.txt")
echo "lint: cppcheck: $findings finding(s), exit status $rc, $(($(date +%s) - start)) s"
[ "$rc" -eq 0 ] && [ "$findings" -eq 0 ] || fail=1

echo "lint: $(clang-tidy --version | grep -o 'LLVM version [0-9.]*' | sed 's/LLVM/clang-tidy/') over $nfiles files"
start=$(date +%s)
tidy_one() {
    local f=$1 defs=
    case $f in lib/*) defs=-DNK_BUILDING ;; esac
    # shellcheck disable=SC2086 # flag lists
    clang-tidy --quiet "$f" -- -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -pthread \
        $defs -Iinclude -Ilib -Itests ${CHECK_CFLAGS:-} >"$out/tidy.${f//\//_}.txt" 2>&1 ||
        echo "$f" >>"$out/tidy-failed"
}
export -f tidy_one
export out
echo "$files" | xargs -P "$(nproc)" -I{} bash -c 'tidy_one "$1"' _ {}
# clang-tidy prints "N warnings generated" for what it filtered out of
# system headers; only lines naming a check are findings.
cat "$out"/tidy.*.txt | grep -E '(warning|error): .*\[[a-zA-Z0-9.,_-]+\]$' |
    LC_ALL=C sort -u >"$out/tidy-findings.txt"
cat "$out"/tidy.*.txt | grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' |
    grep -v -E '^Suppressed [0-9]+ warnings|^Use -header-filter' >"$out/tidy-all.txt"
[ -s "$out/tidy-all.txt" ] && cat "$out/tidy-all.txt"
findings=$(wc -l <"$out/tidy-findings.txt")
failed=$(cat "$out/tidy-failed" 2>/dev/null | wc -l)
echo "lint: clang-tidy: $findings finding(s), $failed file(s) failed, $(($(date +%s) - start)) s"
[ "$findings" -eq 0 ] && [ "$failed" -eq 0 ] || fail=1

if [ "$fail" -ne 0 ]; then
    echo "lint: FAILED (findings above)" >&2
    exit 1
fi
echo "lint: clean"
