#!/bin/sh
# deps.sh - makes sure Check, pkg-config, strace and python3 are there for `make check`.
# As root with apt-get it installs them; otherwise it prints the command and fails.
# ---- docs (issue 8): groff (Debian groff-base) renders the man pages for tests/check_man.sh
if ! command -v groff >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deps.sh: groff is missing, installing: apt-get install -y groff-base"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q && apt-get install -y -q groff-base || exit 1
    else
        echo "deps.sh: the man page check needs groff; as root, run:" >&2
        echo "    apt-get update && apt-get install -y groff-base" >&2
        exit 1
    fi
fi
# ---- end docs
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists check &&
    command -v strace >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    exit 0
fi
install_cmd="apt-get install -y check pkg-config strace python3"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: Check, pkg-config, strace or python3 is missing, installing: $install_cmd"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && $install_cmd -q || exit 1
    pkg-config --exists check && exit 0
    echo "deps.sh: Check still not found by pkg-config after installing" >&2
    exit 1
fi
echo "deps.sh: the tests need Check (libcheck), pkg-config, strace and python3; as root, run:" >&2
echo "    apt-get update && $install_cmd" >&2
exit 1
