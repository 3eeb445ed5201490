#!/bin/sh
# run.sh - installs netkit into a temporary prefix, builds tests/install/outside.c
# against it through pkg-config (shared, then with libnetkit linked statically),
# runs both, uninstalls, and checks that nothing of netkit is left.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
MAKE=${MAKE:-make}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
prefix=$tmp/prefix
# Every directory explicitly, so a config.mk from ./configure cannot redirect them.
set -- DESTDIR= "PREFIX=$prefix" "LIBDIR=$prefix/lib" "INCLUDEDIR=$prefix/include" \
    "MANDIR=$prefix/share/man" "PKGCONFIGDIR=$prefix/lib/pkgconfig"

echo "install test: make install into $prefix"
$MAKE -C "$top" --no-print-directory install "$@" >"$tmp/install.log" 2>&1 \
    || { cat "$tmp/install.log"; exit 1; }
(cd "$prefix" && find . ! -type d ! -path './share/man/*' | sort | sed 's|^\./|    |')
echo "    and $(find "$prefix/share/man" -type f 2>/dev/null | wc -l) man pages"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --exists netkit || { echo "install test: pkg-config finds no netkit" >&2; exit 1; }
src=$top/tests/install/outside.c

run() { echo "+ $*"; "$@"; }

# Shared: found through LD_LIBRARY_PATH. (pkg-config's output is split on purpose.)
# shellcheck disable=SC2046
run $CC -Wall -Wextra -o "$tmp/outside-shared" "$src" $(pkg-config --cflags --libs netkit)
run env LD_LIBRARY_PATH="$prefix/lib" "$tmp/outside-shared"

# Static libnetkit (libc stays shared): -lnetkit becomes -l:libnetkit.a.
# shellcheck disable=SC2046
run $CC -Wall -Wextra -o "$tmp/outside-static" "$src" \
    $(pkg-config --static --cflags --libs netkit | sed 's/-lnetkit\b/-l:libnetkit.a/')
needed=$(readelf -d "$tmp/outside-static" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "  outside-static needs: $needed"
if echo "$needed" | grep -q libnetkit; then
    echo "install test: the static build still needs libnetkit.so" >&2
    exit 1
fi
run "$tmp/outside-static"

# Every example builds outside the tree too, as examples/README.md says.
for ex in "$top"/examples/*.c; do
    name=$(basename "$ex" .c)
    # shellcheck disable=SC2046
    $CC -Wall -Wextra -o "$tmp/$name" "$ex" $(pkg-config --cflags --libs netkit) -pthread \
        || { echo "install test: examples/$name.c does not build outside the tree" >&2; exit 1; }
done
echo "  every example built against the installed prefix: $(ls "$top"/examples/*.c | wc -l) programs"

echo "install test: make uninstall"
$MAKE -C "$top" --no-print-directory uninstall "$@" >"$tmp/uninstall.log" 2>&1 \
    || { cat "$tmp/uninstall.log"; exit 1; }
left=$(find "$prefix" ! -type d)
if [ -n "$left" ]; then
    echo "install test: uninstall left files behind:" >&2
    echo "$left" >&2
    exit 1
fi
echo "install test: ok (shared and static builds ran; uninstall left no files)"
