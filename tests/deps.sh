#!/bin/sh
# deps.sh - makes sure Check, pkg-config and strace are there for `make check`.
# As root with apt-get it installs them; otherwise it prints the command and fails.
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists check &&
    command -v strace >/dev/null 2>&1; then
    exit 0
fi
install_cmd="apt-get install -y check pkg-config strace"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: Check, pkg-config or strace is missing, installing: $install_cmd"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && $install_cmd -q || exit 1
    pkg-config --exists check && exit 0
    echo "deps.sh: Check still not found by pkg-config after installing" >&2
    exit 1
fi
echo "deps.sh: the tests need Check (libcheck), pkg-config and strace; as root, run:" >&2
echo "    apt-get update && $install_cmd" >&2
exit 1
