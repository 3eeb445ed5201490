#!/usr/bin/env bash
# demo.sh - the guided tour behind `make demo`: the tutorials' programs, rebuilt
# on netkit, talking to each other on loopback. Every server binds 127.0.0.1 on
# an ephemeral port; every process started here is stopped before the script
# ends, whatever happens.
set -u
BIN=${BIN:-build/examples}
tmp=$(mktemp -d)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '   %s\n' "$*"; }
indent() { sed 's/^/   | /'; }

# start_server LOG PROGRAM ARGS...: runs it in the background, waits (5 s at
# most) for its "listening on HOST:PORT" line and sets PORT and SERVER_PID.
start_server() {
    local log=$1
    shift
    "$BIN/$1" "${@:2}" >"$log" 2>&1 &
    SERVER_PID=$!
    pids+=("$SERVER_PID")
    PORT=
    for _ in $(seq 100); do
        PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$log")
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    echo "demo: $1 did not start:" >&2
    cat "$log" >&2
    exit 1
}

# wait_exit PID: waits 5 s at most for a server that was told to stop.
wait_exit() {
    for _ in $(seq 100); do
        kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
        sleep 0.05
    done
    echo "demo: process $1 did not exit, stopping it" >&2
    kill "$1" 2>/dev/null
    return 1
}

for prog in echo_server echo_client udp_echo_server udp_echo_client chat_server chat_client \
    resolve errors; do
    [ -x "$BIN/$prog" ] || { echo "demo: $BIN/$prog is missing: run make" >&2; exit 1; }
done

cat <<'EOF'
netkit demo: the demos of five Python socket tutorials, rebuilt in C on netkit.
Each step runs the example programs from examples/ on 127.0.0.1 and shows what
they print. The strings are the tutorials' own (see examples/README.md).
EOF

say "1. TCP echo (tutorial D4): a client sends a message, the server echoes 16-byte chunks"
start_server "$tmp/echo.log" echo_server --host 127.0.0.1 --port 0 --max-clients 1
show "\$ echo_server --host 127.0.0.1 --port 0 --max-clients 1 &"
show "\$ echo_client --host 127.0.0.1 --port $PORT"
"$BIN/echo_client" --host 127.0.0.1 --port "$PORT" 2>&1 | indent
wait_exit "$SERVER_PID"
show "what the server printed:"
indent <"$tmp/echo.log"

say "2. UDP echo (tutorial D5): one datagram there and back, with the sender's address"
start_server "$tmp/udp.log" udp_echo_server --host 127.0.0.1 --port 0 --max-clients 1
show "\$ udp_echo_server --host 127.0.0.1 --port 0 --max-clients 1 &"
show "\$ udp_echo_client --host 127.0.0.1 --port $PORT"
"$BIN/udp_echo_client" --host 127.0.0.1 --port "$PORT" 2>&1 | indent
wait_exit "$SERVER_PID"
show "what the server printed:"
indent <"$tmp/udp.log"

say "3. Chat room (tutorial D15): three clients, each line goes to the other two"
start_server "$tmp/room.log" chat_server --mode room --host 127.0.0.1 --port 0 --max-clients 3
show "\$ chat_server --mode room --host 127.0.0.1 --port 0 --max-clients 3 &"
# A scripted client: its name, a pause so everyone has joined, one line, a
# pause to hear the others, then end of input (Ctrl-D for a person).
chat() { # NAME START_DELAY LINE
    (sleep "$2"; echo "$1"; sleep 0.8; echo "$3"; sleep 1.2) |
        "$BIN/chat_client" --mode room --host 127.0.0.1 --port "$PORT" >"$tmp/chat.$1" 2>&1 &
    pids+=($!)
}
chat alice 0.0 "hello, I am alice"
chat bob 0.2 "hi alice, bob here"
chat carol 0.4 "carol joined too"
for name in alice bob carol; do
    show "\$ chat_client --mode room --port $PORT   (typing: $name, then one line, then Ctrl-D)"
done
wait_exit "$SERVER_PID"
wait 2>/dev/null
for name in alice bob carol; do
    show "what $name saw:"
    indent <"$tmp/chat.$name"
done
show "what the server printed:"
indent <"$tmp/room.log"

say "4. Name resolution (tutorials D10 and D14): gethostbyname and getaddrinfo"
show "\$ resolve localhost"
"$BIN/resolve" localhost 2>&1 | indent
show "\$ resolve --all localhost --port 80"
"$BIN/resolve" --all localhost --port 80 2>&1 | indent

say "5. Errors (tutorial D7): each kind, with the text Python's exception prints"
show "\$ errors --port 0"
"$BIN/errors" --port 0 2>&1 | indent

say "done: every program above is a short C file in examples/; try --help on any of them"
