#!/usr/bin/env bash
# check_man.sh - docs/man covers libnetkit, and every page is sound.
#
#   (a) every nk_* function lib/libnetkit.so exports (nm -D --defined-only) has
#       docs/man/<function>.3: a page, or a one-line .so alias to a page; the page
#       names the function in its NAME section and declares it in SYNOPSIS;
#       every .3 file is an exported function, and every name in a NAME
#       section has its file;
#   (b) every page (aliases resolved, netkit.7 too) renders with
#       groff -ww -man -Tutf8 with nothing on stderr, no rendered line is wider
#       than 80 columns or ends in a hyphenated word (a function name cut in
#       two), and mandoc -Tlint is clean where mandoc is installed;
#   (c) every page has its sections, in order: NAME, SYNOPSIS, DESCRIPTION,
#       RETURN VALUE, ERRORS, THREAD SAFETY, EXAMPLE, SEE ALSO (section 3);
#       netkit.7 its own list (SECTIONS_7 below);
#   (d) every EXAMPLE program, taken from the page as groff renders it (what a
#       reader copies from man), compiles with -Werror against include/ and links
#       with lib/libnetkit.a; every program that needs no network beyond loopback
#       runs (all of them: the ones that end by themselves alone, the selector's
#       echo server driven by this script), and where the page shows the output
#       ("It prints:") the output must be exactly that, with an ephemeral port
#       (4-5 digits) read as any number where the page says so;
#   (e) every reference to a netkit page (nk_*(3), netkit(7)), in SEE ALSO and
#       anywhere else, names a page that exists; every section 3 page refers
#       to netkit(7) in SEE ALSO, and netkit.7 to every section 3 page;
#   (f) tests/man_errors.py: the ERRORS section of each function's page names
#       every code include/netkit.h lists for it, and every message quoted after
#       a code is exactly nk_strerror's text.
# Prints a summary line with the counts; exits 1 when anything fails.
# Usage: tests/check_man.sh   (from the top of the tree, after make; CC= honoured)
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-cc}
MANDIR=${MANDIR:-docs/man}   # another tree only to show that the check fails
SO=lib/libnetkit.so
SECTIONS_3="NAME|SYNOPSIS|DESCRIPTION|RETURN VALUE|ERRORS|THREAD SAFETY|EXAMPLE|SEE ALSO"
SECTIONS_7="NAME|SYNOPSIS|DESCRIPTION|OBJECTS|ERRORS|TIMEOUTS|DEFAULTS|SELECTOR|THREAD SAFETY|PYTHON|LINKING|EXAMPLE|SEE ALSO"
WIDTH=80
EXAMPLE_CFLAGS="-std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror"

for tool in nm groff python3 "$CC"; do
    command -v "$tool" >/dev/null || { echo "check_man: $tool is missing (tests/deps.sh installs it)" >&2; exit 1; }
done
[ -e "$SO" ] && [ -e lib/libnetkit.a ] || { echo "check_man: run make first ($SO, lib/libnetkit.a)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fails=0
fail() { echo "check_man: FAIL: $*"; fails=$((fails + 1)); }

# is_alias FILE: the file is one ".so man3/x.3" line.
is_alias() { [ "$(wc -l < "$1")" -le 1 ] && head -1 "$1" | grep -q '^\.so '; }
# alias_target FILE: docs/man/<target> of an alias.
alias_target() { echo "$MANDIR/$(head -1 "$1" | sed 's|^\.so *||; s|.*/||')"; }
# section_names FILE: the .SH names, one a line.
section_names() { sed -n 's/^\.SH *//p' "$1" | tr -d '"'; }
# section FILE NAME: the source lines of one section.
section() { awk -v want="$2" '/^\.SH/ { s = $0; sub(/^\.SH */, "", s); gsub(/"/, "", s); p = (s == want); next } p' "$1"; }
# names_of FILE: the names the NAME section lists (before "\-").
names_of() { section "$1" NAME | tr '\n' ' ' | sed 's/\\-.*//; s/,/ /g' | tr -s ' ' '\n' | grep . || true; }

pages=() aliases=()
for f in "$MANDIR"/*.[37]; do
    if is_alias "$f"; then aliases+=("$f"); else pages+=("$f"); fi
done

# ---- (a) coverage -------------------------------------------------------------
nm -D --defined-only "$SO" | awk '$NF ~ /^nk_/ { print $NF }' | sort -u > "$tmp/exported"
nexported=$(wc -l < "$tmp/exported")
[ "$nexported" -gt 0 ] || fail "$SO exports no nk_* function"
while read -r sym; do
    f=$MANDIR/$sym.3
    if [ ! -e "$f" ]; then
        fail "$sym is exported by $SO but has no man page: write $f (or a .so alias to its family page)"
        continue
    fi
    page=$f
    if is_alias "$f"; then
        page=$(alias_target "$f")
        if [ ! -e "$page" ]; then fail "$f: .so target $page does not exist"; continue; fi
        if is_alias "$page"; then fail "$f: .so target $page is an alias itself"; continue; fi
    fi
    names_of "$page" | grep -qx "$sym" || fail "$page does not name $sym in its NAME section"
done < "$tmp/exported"
for f in "$MANDIR"/*.3; do
    sym=$(basename "$f" .3)
    grep -qx "$sym" "$tmp/exported" || fail "$f documents $sym, which $SO does not export"
done
for f in "${pages[@]}"; do
    case $f in *.3) ;; *) continue ;; esac
    for name in $(names_of "$f"); do
        [ -e "$MANDIR/$name.3" ] || fail "$f names $name, which has no file $MANDIR/$name.3 (alias)"
        section "$f" SYNOPSIS | grep -q "[ *]$name(" || fail "$f names $name, but its SYNOPSIS does not declare it"
    done
done

# ---- (b) rendering --------------------------------------------------------------
# A man tree as man(1) sees it, so that ".so man3/x.3" resolves.
mkdir -p "$tmp/man/man3" "$tmp/man/man7" "$tmp/render"
cp "$MANDIR"/*.3 "$tmp/man/man3/"
cp "$MANDIR"/*.7 "$tmp/man/man7/" 2>/dev/null || true
have_mandoc=0
command -v mandoc >/dev/null && have_mandoc=1
nrendered=0
for f in "$MANDIR"/*.[37]; do
    rel=man${f##*.}/$(basename "$f")
    out=$tmp/render/$(basename "$f").txt
    pre=()
    head -1 "$f" | grep -q "^'\\\\\" .*t" && pre=(-t)   # '\" t asks for tbl, as man(1) reads it
    (cd "$tmp/man" && groff -ww "${pre[@]}" -man -Tutf8 -P-cbou "$rel" > "$out" 2> "$out.err") \
        || fail "$f: groff exits with $?"
    if [ -s "$out.err" ]; then
        fail "$f: groff -ww -man -Tutf8 warns:"
        sed 's/^/    /' "$out.err"
    fi
    [ "$(grep -c . "$out")" -gt 5 ] || fail "$f renders almost nothing"
    is_alias "$f" || python3 -c '
import sys
f, w, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bad = 0
for n, line in enumerate(open(out, encoding="utf-8").read().split("\n"), 1):
    if len(line) > w:
        print("check_man: FAIL: %s: rendered line %d is %d columns wide (max %d): %s" % (f, n, len(line), w, line))
        bad += 1
    if line.endswith("\u2010"):
        print("check_man: FAIL: %s: rendered line %d ends in a word groff hyphenated (.nr HY 0 prevents it): %s" % (f, n, line))
        bad += 1
sys.exit(bad > 0)' "$f" $WIDTH "$out" || fails=$((fails + 1))
    nrendered=$((nrendered + 1))
    # mandoc: the pages themselves (it calls every .so "fragile", a style note about aliases).
    if [ $have_mandoc = 1 ] && ! is_alias "$f"; then
        (cd "$tmp/man" && mandoc -Tlint "$rel") > "$out.lint" 2>&1 || true
        if [ -s "$out.lint" ]; then
            fail "$f: mandoc -Tlint:"
            sed 's/^/    /' "$out.lint"
        fi
    fi
done

# ---- (c) sections -----------------------------------------------------------------
for f in "${pages[@]}"; do
    case $f in *.3) want=$SECTIONS_3 ;; *) want=$SECTIONS_7 ;; esac
    got=$(section_names "$f" | paste -sd'|')
    [ "$got" = "$want" ] || fail "$f: sections are
    $got
  expected
    $want"
done

# ---- (d) examples -------------------------------------------------------------------
# blocks FILE: writes the EXAMPLE section's .EX blocks to $tmp/ex/NAME.N.src
# (N = 1, 2, ...) and the text before each to NAME.N.intro.
mkdir -p "$tmp/ex"
blocks() {
    local name
    name=$(basename "$1")
    section "$1" EXAMPLE | awk -v dir="$tmp/ex" -v name="$name" '
        /^\.EX/ { n++; inblock = 1; next }
        /^\.EE/ { inblock = 0; next }
        inblock { print > (dir "/" name "." n ".src"); next }
        { print > (dir "/" name "." (n + 1) ".intro") }'
}
# rendered SRC: the block as groff shows it, without the indentation.
rendered() {
    { printf '.TH X 3\n.SH X\n.EX\n@@begin@@\n'; cat "$1"; printf '@@end@@\n.EE\n'; } \
        | groff -ww -man -Tutf8 -P-cbou 2>"$1.err" \
        | awk '/@@begin@@/ { p = 1; ind = index($0, "@") - 1; next } /@@end@@/ { p = 0 } p { print substr($0, ind + 1) }' \
        | sed 's/[[:space:]]*$//'
    if [ -s "$1.err" ]; then fail "$1: groff warns:"; cat "$1.err"; fi
}
# normalize MODE: an ephemeral port (4-5 digits) reads as PORT when MODE is "ports".
normalize() { if [ "$1" = ports ]; then sed -E 's/\b[0-9]{4,5}\b/PORT/g'; else cat; fi; }

# drive_selector_echo EXE LOG: the nk_selector_open(3) echo server runs until a
# signal: start it on an ephemeral port, echo one line through it, stop it
# with SIGTERM and expect exit status 0.
drive_selector_echo() {
    local exe=$1 log=$2 port="" pid i
    : > "$log"
    "$exe" > "$log" 2> "$log.err" &
    pid=$!
    pids+=("$pid")
    for i in $(seq 50); do
        port=$(sed -n 's/^echo server on port \([0-9]*\) .*/\1/p' "$log")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "no 'echo server on port N' line within 5 s"; kill "$pid"; return 1; }
    python3 - "$port" <<'EOF' || { kill "$pid"; return 1; }
import socket, sys
got = b""
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
        s.sendall(b"ping\n")
        while len(got) < 5:
            chunk = s.recv(16)
            if not chunk:
                break
            got += chunk
except OSError as e:
    sys.exit("echo: %s after %r came back" % (e, got))
if got != b"ping\n":
    sys.exit("echo: sent b'ping\\n', got %r" % got)
EOF
    kill -TERM "$pid"
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "still running 5 s after SIGTERM"; kill -KILL "$pid"; return 1; fi
    wait "$pid"
}

nexamples=0 nran=0 noutputs=0
ran_names=()
for f in "${pages[@]}"; do
    name=$(basename "$f")
    blocks "$f"
    src=$tmp/ex/$name.1.src
    if [ ! -s "$src" ]; then fail "$f: EXAMPLE has no .EX program"; continue; fi
    nexamples=$((nexamples + 1))
    prog=$tmp/ex/${name%.*}
    rendered "$src" > "$prog.c"
    if LC_ALL=C grep -n '[^ -~]' "$prog.c" > "$prog.nonascii"; then
        fail "$f: the EXAMPLE renders characters that are not ASCII (write \\(aq for ' and \\- for -):"
        sed 's/^/    /' "$prog.nonascii"
        continue
    fi
    # shellcheck disable=SC2086
    if ! $CC $EXAMPLE_CFLAGS -Iinclude -o "$prog" "$prog.c" lib/libnetkit.a -pthread > "$prog.cc" 2>&1; then
        fail "$f: the EXAMPLE does not compile with $CC $EXAMPLE_CFLAGS:"
        sed 's/^/    /' "$prog.cc"
        continue
    fi
    # Run it: the selector's echo server is driven; every other one ends by itself.
    case $name in
    nk_selector_open.3)
        if ! drive_selector_echo "$prog" "$prog.out" > "$prog.drive" 2>&1; then
            fail "$f: the EXAMPLE server did not echo and stop: $(cat "$prog.drive")"
            sed 's/^/    /' "$prog.out" "$prog.out.err"
            continue
        fi ;;
    *)
        rc=0
        timeout -k 2 20 "$prog" > "$prog.out" 2> "$prog.out.err" < /dev/null || rc=$?
        if [ $rc -ne 0 ]; then
            fail "$f: the EXAMPLE program exits with status $rc (124: it ran 20 s):"
            sed 's/^/    /' "$prog.out" "$prog.out.err"
            continue
        fi ;;
    esac
    nran=$((nran + 1))
    ran_names+=("${name%.*}")
    # The output the page shows, after the program: compare unless system-dependent.
    n=2
    while [ -e "$tmp/ex/$name.$n.src" ]; do
        intro=$(tr '\n' ' ' < "$tmp/ex/$name.$n.intro")
        n=$((n + 1))
        case $intro in *prints*) ;; *) continue ;; esac
        case $intro in *typically*|*depends*) continue ;; esac
        mode=exact
        case $intro in *ephemeral*|*"with a port"*) mode=ports ;; esac
        rendered "$tmp/ex/$name.$((n - 1)).src" | normalize $mode > "$prog.want"
        normalize $mode < "$prog.out" > "$prog.got"
        if [ "$name" = nk_selector_open.3 ]; then   # a server: its first line only
            head -n "$(wc -l < "$prog.want")" "$prog.got" > "$prog.got1" && mv "$prog.got1" "$prog.got"
        fi
        if ! diff -u "$prog.want" "$prog.got" > "$prog.diff"; then
            fail "$f: the EXAMPLE prints something else than the page shows (- page, + program):"
            sed 's/^/    /' "$prog.diff"
        fi
        noutputs=$((noutputs + 1))
    done
done

# ---- (e) references ------------------------------------------------------------------
nrefs=0
for f in "${pages[@]}"; do
    while read -r ref; do
        nrefs=$((nrefs + 1))
        page=${ref% *} sect=${ref#* }
        [ -e "$MANDIR/$page.$sect" ] || fail "$f refers to $page($sect), which is not in $MANDIR"
    done < <(grep -v '^\.\\"' "$f" | sed -n 's/^\.[BI]R* *\(nk_[a-z0-9_]*\|netkit\) (\([0-9]\)).*/\1 \2/p')
    case $f in
    *.3) section "$f" "SEE ALSO" | grep -q '^\.BR* netkit (7)' || fail "$f: SEE ALSO does not refer to netkit(7)" ;;
    *.7) # the overview refers to every family page
        for p in "${pages[@]}"; do
            case $p in *.3) ;; *) continue ;; esac
            section "$f" "SEE ALSO" | grep -q "^\.BR* $(basename "$p" .3) (3)" \
                || fail "$f: SEE ALSO does not refer to $(basename "$p" .3)(3)"
        done ;;
    esac
done

# ---- (f) error codes and messages ----------------------------------------------------------
# shellcheck disable=SC2086
python3 tests/man_errors.py "$MANDIR" include/netkit.h $CC -std=gnu11 -Iinclude -- lib/libnetkit.a -pthread \
    || fails=$((fails + 1))

echo "check_man: $nexported exported functions checked for a page; ${#pages[@]} pages + ${#aliases[@]} aliases rendered by groff -ww ($nrendered files$([ $have_mandoc = 1 ] && echo ", mandoc -Tlint clean" || echo ", mandoc not installed")); sections checked; $nexamples EXAMPLE programs compiled with -Werror, $nran run (${ran_names[*]}), $noutputs shown outputs compared; $nrefs references to netkit pages resolved"
if [ $fails -ne 0 ]; then
    echo "check_man: $fails failure(s)"
    exit 1
fi
echo "check_man: ok"
