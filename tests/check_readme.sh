#!/usr/bin/env bash
# check_readme.sh - what README.md shows works as written.
#
#   - its relative links point to files that exist;
#   - every `make TARGET` it mentions (in a code block or inline) is a target of
#     the Makefile;
#   - its one ```c block (the first program, first.c) and every command of its
#     ```sh blocks run: each command must be one this script knows how to run,
#     so a new command in the README fails here until it is checked too:
#       make demo          runs (about 6 s, on loopback);
#       make check         is not run: this script runs inside it; its target exists;
#       echo_server ... &  runs with --port 0 added (a test binds no fixed port),
#                          and first gets that port as its argument (argv[1]);
#       cc -Iinclude ...   runs as written in a scratch directory whose include/
#                          and lib/ are the tree's, then ./first PORT prints
#                          "Received: Hello, Server!";
#       make install PREFIX=/usr/local
#                          runs with PREFIX (and LIBDIR, ...) set to a scratch
#                          prefix instead, then man finds netkit(7) there and
#                          resolves an alias (nk_tcp_connect_addr);
#       cc first.c $(pkg-config ...)
#                          run as written against that prefix (PKG_CONFIG_PATH),
#                          shared (needs libnetkit.so.0) and static (does not), and
#                          the programs print "Received: Hello, Server!";
#     then first, with the server gone, prints "[Errno 111] Connection refused"
#     as its comment says, and `make uninstall` leaves nothing in the prefix.
# Usage: tests/check_readme.sh   (from the top of the tree, after make; MAKE, CC honoured)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
MAKE=${MAKE:-make}
CC=${CC:-cc}
README=${README:-README.md}   # another file only to show that the check fails
# make -n runs this recipe too (it names $(MAKE)): a dry run checks nothing.
makeflags=${MAKEFLAGS:-}
case ${makeflags%% *} in   # the first word holds the one-letter flags, "n" among them
-*) ;;
*n*) echo "check_readme: make -n (dry run): not running the README's commands"; exit 0 ;;
esac
if [ -n "${NK_CHECK_README_RUNNING:-}" ]; then
    echo "check_readme: already running in a parent process, not again"
    exit 0
fi
export NK_CHECK_README_RUNNING=1

tmp=$(mktemp -d)
server_pid=
cleanup() {
    [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fails=0
fail() { echo "check_readme: FAIL: $*"; fails=$((fails + 1)); }
run() { echo "  \$ $*"; }

# ---- blocks -----------------------------------------------------------------------
awk -v dir="$tmp" '
    /^```/ { if (lang == "") { lang = substr($0, 4); if (lang == "") lang = "text"; n++; next }
             lang = ""; next }
    lang == "sh" { print > (dir "/sh.txt") }
    lang == "c"  { print > (dir "/c." n ".c") }
' "$README"
nc=$(find "$tmp" -name 'c.*.c' | wc -l)
[ "$nc" -eq 1 ] || { fail "$README has $nc C blocks; expected one (the first program)"; exit 1; }
mv "$tmp"/c.*.c "$tmp/first.c"
[ -s "$tmp/sh.txt" ] || { fail "$README has no sh block"; exit 1; }

# ---- links ----------------------------------------------------------------------------
nlinks=0
while read -r link; do
    nlinks=$((nlinks + 1))
    [ -e "$link" ] || fail "$README links to $link, which does not exist"
done < <(grep -o '](\([^)#]*\))' "$README" | sed 's/^](//; s/)$//' | grep -v '^[a-z]*://' | sort -u)

# ---- make targets ----------------------------------------------------------------------
# The targets, from make's database (-p with an unknown goal runs no recipe).
$MAKE -pRrq -f Makefile __check_readme_no_such_goal__ 2>/dev/null \
    | sed -n 's/^\([a-zA-Z][a-zA-Z0-9_.-]*\):.*/\1/p' | sort -u > "$tmp/targets" || true
ntargets=0
while read -r target; do
    ntargets=$((ntargets + 1))
    grep -qx "$target" "$tmp/targets" || fail "$README mentions make $target, which the Makefile does not have"
done < <(grep -o 'make [a-z][a-z-]*' "$README" | awk '{ print $2 }' | sort -u)

# ---- commands -----------------------------------------------------------------------------
# The commands, comments and blank lines left out.
sed 's/[[:space:]]\{1,\}#.*//; s/[[:space:]]*$//' "$tmp/sh.txt" | grep . > "$tmp/commands"
prefix=$tmp/prefix
install_vars=(DESTDIR= "PREFIX=$prefix" "LIBDIR=$prefix/lib" "INCLUDEDIR=$prefix/include"
    "MANDIR=$prefix/share/man" "PKGCONFIGDIR=$prefix/lib/pkgconfig")
port=
ncommands=0 nprograms=0

# expect_received LOG: the program printed the echo.
expect_received() {
    grep -qx 'Received: Hello, Server!' "$1" || { fail "$2 did not print 'Received: Hello, Server!':"; sed 's/^/    /' "$1"; }
}
# needs EXE: its NEEDED libraries.
needs() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }

while read -r cmd; do
    ncommands=$((ncommands + 1))
    echo "check_readme: $cmd"
    case $cmd in
    "make demo")
        run "$MAKE demo"
        if ! timeout -k 5 120 $MAKE --no-print-directory demo > "$tmp/demo.log" 2>&1; then
            fail "make demo failed:"; tail -20 "$tmp/demo.log" | sed 's/^/    /'
        else
            echo "    ok, $(wc -l < "$tmp/demo.log") lines of tour"
        fi ;;
    "make check")
        grep -qx check "$tmp/targets" || fail "the Makefile has no check target"
        echo "    not run: this script is part of it (the target exists)" ;;
    "build/examples/echo_server --style d2 &")
        run "$cmd with --port 0 added"
        build/examples/echo_server --style d2 --port 0 > "$tmp/server.log" 2>&1 &
        server_pid=$!
        for _ in $(seq 50); do
            port=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/server.log")
            [ -n "$port" ] && break
            sleep 0.1
        done
        [ -n "$port" ] || { fail "echo_server printed no 'listening on HOST:PORT' within 5 s"; cat "$tmp/server.log"; exit 1; }
        echo "    listening on port $port" ;;
    "cc -Iinclude first.c lib/libnetkit.a -pthread -o first && ./first")
        [ -n "$port" ] || { fail "the README runs first before it starts the echo server"; continue; }
        mkdir -p "$tmp/tree"
        ln -s "$top/include" "$tmp/tree/include"
        ln -s "$top/lib" "$tmp/tree/lib"
        cp "$tmp/first.c" "$tmp/tree/"
        run "$cmd $port   (in a directory with the tree's include/ and lib/)"
        if (cd "$tmp/tree" && CC=$CC bash -c "${cmd/#cc /$CC } $port") > "$tmp/tree.log" 2>&1; then
            expect_received "$tmp/tree.log" "first (built in the tree)"
            nprograms=$((nprograms + 1))
        else
            fail "the command failed:"; sed 's/^/    /' "$tmp/tree.log"
        fi ;;
    "make install PREFIX=/usr/local")
        run "$MAKE install ${install_vars[*]}"
        if $MAKE --no-print-directory install "${install_vars[@]}" > "$tmp/install.log" 2>&1; then
            echo "    installed $(find "$prefix" ! -type d | wc -l) files, $(find "$prefix/share/man" -type f 2>/dev/null | wc -l) of them man pages"
            if command -v man > /dev/null; then
                if MANWIDTH=80 man -M "$prefix/share/man" netkit 2> "$tmp/man.err" | grep -q 'NETKIT(7)'; then
                    echo "    man netkit: the overview page"
                else
                    fail "man -M $prefix/share/man netkit does not show netkit(7):"; cat "$tmp/man.err"
                fi
                # An alias (.so) resolves once installed: man nk_tcp_connect_addr shows its family page.
                if MANWIDTH=80 man -M "$prefix/share/man" nk_tcp_connect_addr 2> "$tmp/man.err" | grep -q 'NK_TCP_CONNECT(3)' \
                    && [ ! -s "$tmp/man.err" ]; then
                    echo "    man nk_tcp_connect_addr: the nk_tcp_connect(3) page, through its .so alias"
                else
                    fail "man -M $prefix/share/man nk_tcp_connect_addr does not show nk_tcp_connect(3):"; cat "$tmp/man.err"
                fi
            else
                echo "    man netkit: not checked, man(1) is not installed (apt-get install man-db)"
            fi
        else
            fail "make install failed:"; sed 's/^/    /' "$tmp/install.log"
        fi ;;
    "cc first.c \$(pkg-config --cflags --libs netkit)" | \
    "cc first.c \$(pkg-config --cflags netkit) -L\$(pkg-config --variable=libdir netkit) -l:libnetkit.a -pthread")
        [ -n "$port" ] || { fail "the README links first before it starts the echo server"; continue; }
        kind=shared
        case $cmd in *libnetkit.a*) kind=static ;; esac
        mkdir -p "$tmp/$kind"
        cp "$tmp/first.c" "$tmp/$kind/"
        run "PKG_CONFIG_PATH=$prefix/lib/pkgconfig $cmd   (in $kind/)"
        if ! (cd "$tmp/$kind" && PKG_CONFIG_PATH=$prefix/lib/pkgconfig bash -c "${cmd/#cc /$CC }") > "$tmp/$kind.log" 2>&1; then
            fail "the command failed:"; sed 's/^/    /' "$tmp/$kind.log"
            continue
        fi
        needed=$(needs "$tmp/$kind/a.out")
        echo "    a.out needs: $needed"
        case $kind:$needed in
        shared:*libnetkit.so.*) ;;
        static:*libnetkit*) fail "the static build still needs libnetkit: $needed" ;;
        static:*) ;;
        *) fail "the shared build does not need libnetkit.so: $needed" ;;
        esac
        run "LD_LIBRARY_PATH=$prefix/lib ./a.out $port"
        if LD_LIBRARY_PATH=$prefix/lib timeout 20 "$tmp/$kind/a.out" "$port" > "$tmp/$kind.run" 2>&1; then
            expect_received "$tmp/$kind.run" "first ($kind, from the installed prefix)"
            nprograms=$((nprograms + 1))
        else
            fail "first ($kind) failed:"; sed 's/^/    /' "$tmp/$kind.run"
        fi ;;
    *)
        fail "$README shows a command this test does not know how to check: $cmd"
        echo "    (add it to tests/check_readme.sh)" ;;
    esac
done < "$tmp/commands"

# ---- first without a server, and uninstall ----------------------------------------------------
if [ -n "$server_pid" ] && [ -x "$tmp/tree/first" ]; then
    kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
    server_pid=
    rc=0
    "$tmp/tree/first" "$port" > "$tmp/refused.log" 2>&1 || rc=$?
    if [ $rc -eq 1 ] && grep -qx '\[Errno 111\] Connection refused' "$tmp/refused.log"; then
        echo "check_readme: first with no server: [Errno 111] Connection refused, exit status 1"
    else
        fail "first with no server: exit status $rc and:"; sed 's/^/    /' "$tmp/refused.log"
    fi
fi
if grep -q 'make uninstall' "$README" && [ -d "$prefix" ]; then
    run "$MAKE uninstall ${install_vars[*]}"
    $MAKE --no-print-directory uninstall "${install_vars[@]}" > "$tmp/uninstall.log" 2>&1 \
        || { fail "make uninstall failed:"; sed 's/^/    /' "$tmp/uninstall.log"; }
    left=$(find "$prefix" ! -type d)
    [ -z "$left" ] || { fail "make uninstall left files:"; echo "$left" | sed 's/^/    /'; }
fi

echo "check_readme: $nlinks links, $ntargets make targets, $ncommands commands checked; the first program built and run $nprograms times"
if [ $fails -ne 0 ]; then
    echo "check_readme: $fails failure(s)"
    exit 1
fi
echo "check_readme: ok"
