#!/bin/sh
# check_exports.sh - the shared library exports exactly the functions that
# include/netkit.h declares with NK_EXTERN (no more, no fewer), all named nk_*,
# and carries the soname libnetkit.so.MAJOR.
# Usage: tests/check_exports.sh lib/libnetkit.so.X.Y.Z [include/netkit.h]
set -eu
so=${1:?usage: check_exports.sh lib/libnetkit.so.X.Y.Z [netkit.h]}
header=${2:-include/netkit.h}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Declared: the identifier before '(' on each line starting with NK_EXTERN.
grep '^NK_EXTERN' "$header" | sed -n 's/^\([^(]*[ *]\)\{0,1\}\(nk_[A-Za-z0-9_]*\)(.*/\2/p' \
    | sort -u > "$tmp/declared"
if [ "$(grep NK_EXTERN "$header" | grep -vc '^[[:space:]]*#')" -ne "$(wc -l < "$tmp/declared")" ]; then
    echo "check_exports: cannot parse every NK_EXTERN line of $header" >&2
    exit 1
fi

# Exported: every defined dynamic symbol.
nm -D --defined-only "$so" | awk '{ print $NF }' | sort -u > "$tmp/exported"
status=0
if grep -v '^nk_' "$tmp/exported" > "$tmp/foreign"; then
    echo "check_exports: $so exports symbols not named nk_*:" >&2
    sed 's/^/    /' "$tmp/foreign" >&2
    status=1
fi
if ! diff -u "$tmp/declared" "$tmp/exported" > "$tmp/diff"; then
    echo "check_exports: NK_EXTERN declarations (-) and $so exports (+) differ:" >&2
    grep '^[-+][^-+]' "$tmp/diff" >&2
    status=1
fi

# Soname: libnetkit.so.MAJOR, MAJOR taken from the file name X.Y.Z.
major=$(echo "$so" | sed -n 's/.*\.so\.\([0-9][0-9]*\)\..*/\1/p')
if ! readelf -d "$so" | grep -q "Library soname: \[libnetkit\.so\.$major\]"; then
    echo "check_exports: $so has no SONAME libnetkit.so.$major:" >&2
    readelf -d "$so" | grep SONAME >&2 || true
    status=1
fi
[ $status -eq 0 ] && echo "check_exports: $(wc -l < "$tmp/exported") nk_* functions exported, as declared; SONAME libnetkit.so.$major"
exit $status
