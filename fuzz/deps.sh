#!/bin/sh
# deps.sh - makes sure clang can build libFuzzer targets for `make fuzz`:
# -fsanitize=fuzzer,address,undefined must compile and link. Debian ships
# libFuzzer's runtime (libclang_rt.fuzzer) in libclang-rt-N-dev, which clang-N
# only recommends. As root with apt-get it installs clang and that package;
# otherwise it prints the command and fails. Usage: deps.sh [CC] (default clang).
cc=${1:-clang}

probe() {
    dir=$(mktemp -d) || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
        'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
        >"$dir/probe.c"
    "$cc" -fsanitize=fuzzer,address,undefined -o "$dir/probe" "$dir/probe.c" >"$dir/log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || last_error=$(tail -n 3 "$dir/log")
    rm -rf "$dir"
    return $rc
}

probe && exit 0
case $cc in
clang-[0-9]*) compiler_pkg=$cc ;;
*) compiler_pkg=clang ;;
esac
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    if ! command -v "$cc" >/dev/null 2>&1; then
        echo "fuzz/deps.sh: $cc is missing, installing: apt-get install -y $compiler_pkg"
        apt-get update -q && apt-get install -y -q "$compiler_pkg" </dev/null || exit 1
        probe && exit 0
    fi
    major=$("$cc" -dumpversion | cut -d. -f1)
    echo "fuzz/deps.sh: $cc -fsanitize=fuzzer does not link (${last_error:-?});" \
        "installing: apt-get install -y libclang-rt-$major-dev"
    apt-get update -q && apt-get install -y -q "libclang-rt-$major-dev" </dev/null || exit 1
    probe && exit 0
    echo "fuzz/deps.sh: $cc -fsanitize=fuzzer still does not link after installing:" >&2
    echo "$last_error" >&2
    exit 1
fi
echo "fuzz/deps.sh: $cc cannot build libFuzzer targets (-fsanitize=fuzzer); as root, run:" >&2
echo "    apt-get update && apt-get install -y $compiler_pkg libclang-rt-N-dev  (N: clang's major version)" >&2
exit 1
