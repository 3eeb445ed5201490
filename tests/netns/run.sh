#!/usr/bin/env bash
# tests/netns/run.sh - netkit between two hosts on one machine.
#
# Two network namespaces joined by a veth pair stand for two hosts: the
# example servers (build/examples/) run in one, the clients (the C examples,
# the Python examples and tests/netns/peer.py on the binding) in the other.
# The link is clean first, then impaired: 20 ms delay and 10% loss each way
# with tc netem or, where the kernel has no sch_netem, 10% loss each way with
# nftables (the delay check then says SKIP and why). Each check prints one
# line, "PASS|FAIL|SKIP name: figures", and the run ends with
# "netns: N passed, N failed, N skipped"; it exits 1 when a check failed.
#
# Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): otherwise, or when the kernel
# or a sandbox refuses namespaces or veth pairs, it prints why it skipped and
# exits 0. Installs iproute2 and nftables with apt-get when they are missing.
# The addresses come from the documentation ranges (RFC 5737, RFC 3849) and
# exist only inside the two namespaces, which have no route anywhere else.
# docs/testing.md ("Two hosts on one machine") gives the same setup by hand.
#
# Environment: NK_TEST_SLACK scales every time bound (as in tests/examples);
# NK_NETNS_MIB is the size of the clean transfers (default 8);
# NK_NETNS_LOSSY_MIB of those on the impaired link (default 4, or 2 when
# netem adds its delay).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=$ROOT/build/examples
PEER=$ROOT/tests/netns/peer.py
SLACK=${NK_TEST_SLACK:-1}
MIB=${NK_NETNS_MIB:-8}

SRV4=198.51.100.1 CLI4=198.51.100.2
SRV6=2001:db8:100::1 CLI6=2001:db8:100::2
HOLE4=203.0.113.9 HOLE6=2001:db8:dead::9 # routed to the server host, dropped there
DOWN4=198.51.100.77                      # on the link, but no host has it
DELAY_MS=20 LOSS_PCT=10
impaired="" # netem or nftables once the link is impaired

passed=0 failed=0 skipped=0
result() { # STATUS NAME FIGURES...
    local status=$1 name=$2
    shift 2
    echo "$status $name: $*"
    case $status in
    PASS) passed=$((passed + 1)) ;;
    FAIL) failed=$((failed + 1)) ;;
    *) skipped=$((skipped + 1)) ;;
    esac
}

skip_all() {
    echo "SKIP netns: $*"
    echo "netns: 0 passed, 0 failed, 1 skipped"
    exit 0
}

# ---- Can we run at all? ------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
    skip_all "not root: network namespaces and veth pairs need CAP_SYS_ADMIN and" \
        "CAP_NET_ADMIN (run as root: make check-netns)"
fi
for f in "$BIN/echo_server" "$BIN/echo_client" "$BIN/udp_echo_server" "$BIN/udp_echo_client" \
    "$ROOT/lib/libnetkit.so"; do
    [ -e "$f" ] || {
        echo "FAIL netns: $f is not built (run make)"
        exit 1
    }
done
need=()
{ command -v ip && command -v tc; } >/dev/null 2>&1 || need+=(iproute2)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v modprobe >/dev/null 2>&1 || need+=(kmod)
if ((${#need[@]})); then
    if command -v apt-get >/dev/null 2>&1; then
        echo "netns: installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" </dev/null >/dev/null ||
            echo "netns: apt-get install ${need[*]} failed"
    fi
    if ! command -v ip >/dev/null 2>&1; then
        if command -v apt-get >/dev/null 2>&1; then
            echo "FAIL netns: ip (iproute2) is missing and apt-get could not install it"
            exit 1
        fi
        skip_all "ip (iproute2) is missing and there is no apt-get to install it"
    fi
fi

# ---- Two hosts -------------------------------------------------------------
SRV=nk-srv-$$ CLI=nk-cli-$$
VS=nks$$ VC=nkc$$ # interface names: at most 15 characters
tmp=$(mktemp -d)
pids=()
made=()

cleanup() {
    local rc=$?
    set +e
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for ns in "${made[@]}"; do
        # Whatever still runs in our own namespaces was started by this run.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    for ns in "${made[@]}"; do ip netns delete "$ns" 2>/dev/null; done
    ip link delete "$VS" 2>/dev/null # only if it never left this namespace
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'echo "FAIL netns: line $LINENO: $BASH_COMMAND failed"' ERR

for ns in "$SRV" "$CLI"; do
    err=$(ip netns add "$ns" 2>&1) || skip_all "cannot create a network namespace: $err"
    made+=("$ns")
done
err=$(ip link add "$VS" type veth peer name "$VC" 2>&1) ||
    skip_all "cannot create a veth pair: $err"
ip link set "$VS" netns "$SRV"
ip link set "$VC" netns "$CLI"
ip -n "$SRV" addr add "$SRV4/24" dev "$VS"
ip -n "$CLI" addr add "$CLI4/24" dev "$VC"
ipv6=yes ipv6_reason=""
if ! err=$({ ip -n "$SRV" addr add "$SRV6/64" dev "$VS" nodad &&
    ip -n "$CLI" addr add "$CLI6/64" dev "$VC" nodad; } 2>&1); then
    ipv6=no ipv6_reason="no IPv6 on the veth: $err"
fi
for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" link set "$VS" up
ip -n "$CLI" link set "$VC" up
# The black hole: the client host routes HOLE4/HOLE6 to the server host, whose
# blackhole routes drop them without a word (no ICMP), as a firewall that
# drops would. The server host does not forward.
ip netns exec "$SRV" sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward' 2>/dev/null || true
ip -n "$SRV" route add blackhole 203.0.113.0/24
ip -n "$CLI" route add 203.0.113.0/24 via "$SRV4"
if [ $ipv6 = yes ]; then
    ip netns exec "$SRV" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/all/forwarding' 2>/dev/null ||
        true
    ip -n "$SRV" -6 route add blackhole 2001:db8:dead::/64
    ip -n "$CLI" -6 route add 2001:db8:dead::/64 via "$SRV6"
fi
# Local routes that refuse at once, for contrast.
ip -n "$CLI" route add unreachable 192.0.2.1/32
ip -n "$CLI" route add prohibit 192.0.2.2/32
ip -n "$CLI" route add blackhole 192.0.2.3/32

for _ in $(seq 100); do # the carrier, within 5 s
    [[ $(ip -n "$CLI" link show "$VC") == *LOWER_UP* ]] && break
    sleep 0.05
done
if [ $ipv6 = yes ]; then
    echo "netns: hosts $SRV ($SRV4, $SRV6) and $CLI ($CLI4, $CLI6), veth $VS-$VC"
else
    echo "netns: hosts $SRV ($SRV4) and $CLI ($CLI4), veth $VS-$VC; $ipv6_reason"
fi

# ---- Helpers -----------------------------------------------------------------
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# The time bound of a step, in seconds, scaled by NK_TEST_SLACK.
bound() { awk -v s="$1" -v k="$SLACK" 'BEGIN { printf "%d", s * k + 0.999 }'; }

# start_bg NAME NS PROGRAM ARGS...: runs it in the namespace in the background
# (at most 600 s), stdout in $tmp/NAME.out and stderr in $tmp/NAME.err; bg_pid.
start_bg() {
    local name=$1 ns=$2
    shift 2
    ip netns exec "$ns" timeout -k 5 "$(bound 600)" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    bg_pid=$!
    pids+=("$bg_pid")
}

# run_fg NAME NS SECONDS PROGRAM ARGS...: runs it in the namespace, bounded;
# sets rc and ms (elapsed milliseconds).
run_fg() {
    local name=$1 ns=$2 limit
    limit=$(bound "$3")
    shift 3
    local t0
    t0=$(now_ms)
    rc=0
    ip netns exec "$ns" timeout -k 5 "$limit" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
    ms=$(($(now_ms) - t0))
}

# listening_port NAME PID: the port of "listening on HOST:PORT", the server's
# first line, within 10 s; fails when it does not come.
listening_port() {
    local name=$1 pid=$2 limit line
    limit=$(($(now_ms) + $(bound 10) * 1000))
    while (($(now_ms) < limit)); do
        line=$(head -n 1 "$tmp/$name.out" 2>/dev/null || true)
        if [[ $line =~ ^listening\ on\ .*:([0-9]+)$ ]]; then
            echo "${BASH_REMATCH[1]}"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# wait_pid PID SECONDS: its exit status, or 124 after killing it when it is
# still running then.
wait_pid() {
    local pid=$1 limit
    limit=$(($(now_ms) + $(bound "$2") * 1000))
    while kill -0 "$pid" 2>/dev/null; do
        if (($(now_ms) >= limit)); then
            kill -TERM "$pid" 2>/dev/null || true
            sleep 0.5
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            return 124
        fi
        sleep 0.05
    done
    local status=0
    wait "$pid" || status=$?
    return $status
}

# stop_pid PID: SIGTERM, then its exit status (bounded).
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait_pid "$1" 5
}

# kv KEY FILE: the value of KEY=VALUE in peer.py's one-line summary (peer=
# is the last field, and takes the rest of the line).
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2" | head -n 1; }
peer_of() { sed -n 's/.* peer=\(.*\)$/\1/p' "$1" | head -n 1; }

# What went wrong, for a FAIL line: the named outputs, indented.
show() {
    local f
    for f in "$@"; do
        [ -s "$tmp/$f" ] && head -n 12 "$tmp/$f" | cut -c1-300 | sed "s/^/    $f: /"
    done
    return 0
}

# The TCP segments both hosts retransmitted so far (RetransSegs, /proc/net/snmp).
retransmitted() {
    local ns total=0 n
    for ns in "$SRV" "$CLI"; do
        n=$(ip netns exec "$ns" awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++)
            if ($i == "RetransSegs") c = i; h = 1 } else print $c }' /proc/net/snmp)
        total=$((total + n))
    done
    echo "$total"
}

mib() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f MiB/s", b / 1048576 / (ms > 0 ? ms : 1) * 1000 }'; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f s", ms / 1000 }'; }

# Packets the impairment dropped so far, both hosts.
dropped() {
    local ns total=0 n
    [ -n "$impaired" ] || {
        echo 0
        return
    }
    for ns in "$SRV" "$CLI"; do
        if [ "$impaired" = netem ]; then
            n=$(ip netns exec "$ns" tc -s qdisc show | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' |
                awk '{ s += $1 } END { print s + 0 }')
        else
            n=$(ip netns exec "$ns" nft list table inet netkit_loss |
                sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
        fi
        total=$((total + n))
    done
    echo "$total"
}

# On the impaired link (impaired_check=yes) a check passes only when the
# impairment dropped packets during it: drops_before, then drops_after sets drops.
# impaired_check=report shows the count without requiring drops.
impaired_check=no
drops_before() { d0=$(dropped); }
drops_after() { drops=$(($(dropped) - d0)); }
drop_figure() {
    [ $impaired_check = no ] || echo ", the $impaired loss dropped $drops packets"
    return 0
}
drops_ok() { [ $impaired_check != yes ] || ((drops > 0)); }

# tcp_echo NAME FAMILY_HOST CLIENT_ADDR BYTES SECONDS SERVER_ARGS...: echo_server
# in the server host, peer.py stream in the client host; the echo must be the
# same bytes (sha256 of what was sent and of what came back), the server must
# name the client host as its peer and exit 0 after it.
tcp_echo() {
    local name=$1 host=$2 caddr=$3 bytes=$4 limit=$5
    shift 5
    local port spid src=0 before after peer
    start_bg "$name-srv" "$SRV" "$BIN/echo_server" --host "$host" --port 0 --max-clients 1 \
        --style d2 --chunk 65536 "$@"
    spid=$bg_pid
    if ! port=$(listening_port "$name-srv" "$spid"); then
        result FAIL "$name" "echo_server did not report its port"
        show "$name-srv.out" "$name-srv.err"
        return
    fi
    before=$(retransmitted)
    drops_before
    run_fg "$name-cli" "$CLI" "$limit" python3 "$PEER" stream "$host" "$port" "$bytes" \
        --timeout "$limit"
    drops_after
    after=$(retransmitted)
    wait_pid "$spid" 10 || src=$?
    peer=$(sed -n "s/^Connection from \\(('$caddr', [0-9]*\\(, 0, 0\\)\\?)\\)\$/\\1/p" \
        "$tmp/$name-srv.out" | head -n 1)
    local f=$tmp/$name-cli.out sha
    sha=$(kv sent_sha256 "$f")
    if ((rc == 0 && src == 0)) && [ -n "$peer" ] &&
        [ "$(kv received "$f")" = "$bytes" ] && [ "$(kv received_sha256 "$f")" = "$sha" ] &&
        [ "$(tail -n 1 "$tmp/$name-srv.out")" = "No more data from $peer" ] && drops_ok; then
        result PASS "$name" "$bytes bytes echoed byte-exact, sha256 ${sha:0:16} sent and" \
            "received, $(secs "$(kv elapsed_ms "$f")") ($(mib $((2 * bytes)) \
                "$(kv elapsed_ms "$f")") both ways), $((after - before)) TCP" \
            "retransmissions, server saw $peer$(drop_figure)"
    else
        result FAIL "$name" "client rc=$rc, server rc=$src, peer '${peer:-none}'$(drop_figure)"
        show "$name-cli.out" "$name-cli.err" "$name-srv.err"
    fi
}

# tcp_sink NAME HOST BYTES SECONDS: peer.py sink in the server host hashes
# what it receives, peer.py send in the client host compares its own sha256
# with the sink's.
tcp_sink() {
    local name=$1 host=$2 bytes=$3 limit=$4 port spid src=0 before after
    start_bg "$name-srv" "$SRV" python3 "$PEER" sink "$host" --timeout "$limit"
    spid=$bg_pid
    if ! port=$(listening_port "$name-srv" "$spid"); then
        result FAIL "$name" "the sink did not report its port"
        show "$name-srv.out" "$name-srv.err"
        return
    fi
    before=$(retransmitted)
    drops_before
    run_fg "$name-cli" "$CLI" "$limit" python3 "$PEER" send "$host" "$port" "$bytes" \
        --timeout "$limit"
    drops_after
    after=$(retransmitted)
    wait_pid "$spid" 10 || src=$?
    local c=$tmp/$name-cli.out s=$tmp/$name-srv.out
    if ((rc == 0 && src == 0)) && [ "$(kv received "$s")" = "$bytes" ] &&
        [ "$(kv received_sha256 "$s")" = "$(kv sent_sha256 "$c")" ] && drops_ok; then
        result PASS "$name" "$bytes bytes, sha256 $(kv sent_sha256 "$c" | cut -c1-16)" \
            "computed by the sender and by the receiving host alike," \
            "$(secs "$(kv elapsed_ms "$c")") ($(mib "$bytes" "$(kv elapsed_ms "$c")")),"\
            "$((after - before)) TCP retransmissions, receiver saw $(peer_of "$s")$(drop_figure)"
    else
        result FAIL "$name" "sender rc=$rc, sink rc=$src$(drop_figure)"
        show "$name-cli.out" "$name-cli.err" "$name-srv.out" "$name-srv.err"
    fi
}

# udp_runs NAME RUNS TIMEOUT RETRIES HOST PORT PROGRAM...: RUNS runs of a
# udp_echo_client (C or Python) with --timeout and --retries; sets answered,
# retries, worst (the slowest run, ms) and udp_ms (all runs).
udp_runs() {
    local name=$1 runs=$2 timeout=$3 tries=$4 host=$5 port=$6 i n
    shift 6
    local limit
    limit=$(awk -v t="$timeout" -v r="$tries" 'BEGIN { printf "%d", (r + 1) * t + 10 }')
    answered=0 retries=0 worst=0 udp_ms=0
    for ((i = 0; i < runs; i++)); do
        run_fg "$name" "$CLI" "$limit" "$@" --host "$host" --port "$port" --timeout "$timeout" \
            --retries "$tries"
        if ((rc == 0)) &&
            grep -qx "Received b'This is the message. It will be repeated.'" "$tmp/$name.out"; then
            answered=$((answered + 1))
        else
            cp "$tmp/$name.out" "$tmp/$name-failed.out"
            cp "$tmp/$name.err" "$tmp/$name-failed.err"
        fi
        n=$(grep -c '^Timed out, retry ' "$tmp/$name.out" || true)
        retries=$((retries + n))
        ((ms > worst)) && worst=$ms
        udp_ms=$((udp_ms + ms))
    done
}

# connect_fails NAME HOST SECONDS EXPECTED_STDERR MIN_MS MAX_MS: echo_client
# --timeout SECONDS must fail with that message, exit 1, within [MIN, MAX] ms.
connect_fails() {
    local name=$1 host=$2 timeout=$3 want=$4 lo=$5 hi=$6
    run_fg "$name" "$CLI" 30 "$BIN/echo_client" --host "$host" --port 9 --timeout "$timeout"
    local got
    got=$(cat "$tmp/$name.err")
    if ((rc == 1 && ms >= lo && ms <= hi)) && [ "$got" = "$want" ]; then
        result PASS "$name" "'$got' after $(secs "$ms") (deadline $timeout s," \
            "accepted $(secs "$lo")..$(secs "$hi"))"
    else
        result FAIL "$name" "rc=$rc after $(secs "$ms"), stderr '$got' (wanted '$want' within" \
            "$(secs "$lo")..$(secs "$hi"))"
        show "$name.out"
    fi
}

# ---- Clean link ----------------------------------------------------------------
echo "netns: clean link"

# The tutorial's echo pair (D4), across hosts.
check_echo_demo() {
    local name=echo-demo-ipv4 port spid src=0 peer
    start_bg demo-srv "$SRV" "$BIN/echo_server" --host "$SRV4" --port 0 --max-clients 1
    spid=$bg_pid
    if ! port=$(listening_port demo-srv "$spid"); then
        result FAIL $name "echo_server did not report its port"
        show demo-srv.out demo-srv.err
        return
    fi
    run_fg demo-cli "$CLI" 10 "$BIN/echo_client" --host "$SRV4" --port "$port"
    wait_pid "$spid" 10 || src=$?
    local expected="Connecting to $SRV4 port $port
Sending b'This is the message. It will be repeated.'
Received b'This is the mess'
Received b'age. It will be '
Received b'repeated.'
Closing socket"
    peer=$(sed -n "s/^Connection from \\(('$CLI4', [0-9]*)\\)\$/\\1/p" "$tmp/demo-srv.out")
    if ((rc == 0 && src == 0)) && [ -n "$peer" ] && [ "$(cat "$tmp/demo-cli.out")" = "$expected" ]
    then
        result PASS $name "echo_client got its 41 bytes back in 3 chunks in $(secs "$ms")," \
            "echo_server saw $peer"
    else
        result FAIL $name "client rc=$rc, server rc=$src"
        show demo-cli.out demo-cli.err demo-srv.out demo-srv.err
    fi
}
check_echo_demo

bytes=$((MIB * 1048576))
tcp_echo tcp-echo-ipv4 "$SRV4" "$CLI4" "$bytes" 120
if [ $ipv6 = yes ]; then
    # The selector engine; its queue bound is raised above the transfer, since
    # this checks bytes, not how a slow reader is dropped.
    tcp_echo tcp-echo-ipv6-selector "$SRV6" "$CLI6" "$bytes" 120 --engine selector \
        --max-queue $((bytes + 65536))
else
    result SKIP tcp-echo-ipv6-selector "$ipv6_reason"
fi
tcp_sink tcp-sink-ipv4 "$SRV4" "$bytes" 120

# Four clients at once on the threads engine, each with its own stream.
check_echo_threads() {
    local name=tcp-echo-threads-ipv4 clients=4 each=$((bytes / 4)) port spid src=0 i
    start_bg thr-srv "$SRV" "$BIN/echo_server" --host "$SRV4" --port 0 --engine threads \
        --max-clients $clients --style d2 --chunk 65536
    spid=$bg_pid
    if ! port=$(listening_port thr-srv "$spid"); then
        result FAIL $name "echo_server did not report its port"
        show thr-srv.out thr-srv.err
        return
    fi
    local cpids=() t0 good=0
    t0=$(now_ms)
    for ((i = 0; i < clients; i++)); do
        start_bg "thr-cli$i" "$CLI" python3 "$PEER" stream "$SRV4" "$port" "$each" --timeout 120
        cpids+=("$bg_pid")
    done
    for ((i = 0; i < clients; i++)); do
        local crc=0
        wait_pid "${cpids[$i]}" 120 || crc=$?
        local f=$tmp/thr-cli$i.out
        if ((crc == 0)) && [ "$(kv received "$f")" = "$each" ] &&
            [ "$(kv received_sha256 "$f")" = "$(kv sent_sha256 "$f")" ]; then
            good=$((good + 1))
        else
            show "thr-cli$i.out" "thr-cli$i.err"
        fi
    done
    local elapsed=$(($(now_ms) - t0))
    wait_pid "$spid" 10 || src=$?
    local peers
    peers=$(grep -c "^Connection from ('$CLI4', [0-9]*)\$" "$tmp/thr-srv.out" || true)
    if ((good == clients && src == 0 && peers == clients)); then
        result PASS $name "$clients clients x $each bytes at once, every echo byte-exact" \
            "(sha256), $(secs $elapsed), $peers connections from $CLI4"
    else
        result FAIL $name "$good of $clients echoes exact, server rc=$src, $peers connections"
        show thr-srv.err
    fi
}
check_echo_threads

# UDP: the C client across the link, then the Python example over IPv6.
start_bg udp4-srv "$SRV" "$BIN/udp_echo_server" --host "$SRV4" --port 0
udp4_pid=$bg_pid
udp4_port=$(listening_port udp4-srv "$udp4_pid") || udp4_port=""
udp6_port=""
if [ $ipv6 = yes ]; then
    start_bg udp6-srv "$SRV" "$BIN/udp_echo_server" --host "$SRV6" --port 0
    udp6_pid=$bg_pid
    udp6_port=$(listening_port udp6-srv "$udp6_pid") || udp6_port=""
fi

check_udp() { # NAME HOST PORT RUNS TIMEOUT RETRIES MIN_RETRIES PROGRAM...
    local name=$1 host=$2 port=$3 runs=$4 timeout=$5 tries=$6 min=$7
    shift 7
    if [ -z "$port" ]; then
        result FAIL "$name" "udp_echo_server did not report its port"
        show udp4-srv.err udp6-srv.err
        return
    fi
    drops_before
    udp_runs "$name" "$runs" "$timeout" "$tries" "$host" "$port" "$@"
    drops_after
    if ((answered == runs && retries >= min)) && drops_ok; then
        result PASS "$name" "$answered of $runs clients answered, $retries retries" \
            "(--timeout $timeout --retries $tries), slowest run $(secs "$worst")," \
            "all $(secs "$udp_ms")$(drop_figure)"
    else
        result FAIL "$name" "$answered of $runs clients answered, $retries retries" \
            "(at least $min expected)$(drop_figure)"
        show "$name-failed.out" "$name-failed.err"
    fi
}
check_udp udp-echo-ipv4 "$SRV4" "$udp4_port" 20 2 3 0 "$BIN/udp_echo_client"
if [ $ipv6 = yes ]; then
    check_udp udp-echo-ipv6-python "$SRV6" "$udp6_port" 5 2 3 0 \
        python3 "$ROOT/examples/python/udp_echo_client.py"
else
    result SKIP udp-echo-ipv6-python "$ipv6_reason"
fi

# The round trip of the clean link, for comparison with the delayed one.
clean_rtt=""
if [ -n "$udp4_port" ]; then
    run_fg rtt-clean "$CLI" 60 python3 "$PEER" ping "$SRV4" "$udp4_port" 20 --timeout 2
    clean_rtt=$(kv rtt_min_ms "$tmp/rtt-clean.out")
    if ((rc == 0)); then
        result PASS udp-rtt-ipv4 "20 of 20 answered, rtt min $clean_rtt ms," \
            "avg $(kv rtt_avg_ms "$tmp/rtt-clean.out") ms, max $(kv rtt_max_ms "$tmp/rtt-clean.out") ms"
    else
        result FAIL udp-rtt-ipv4 "rc=$rc"
        show rtt-clean.out rtt-clean.err
    fi
fi

# No server on that port: the ICMP port unreachable that comes back is not
# reported to an unconnected UDP socket, so the client times out on each try.
check_udp_no_server() {
    local name=udp-no-server-ipv4
    run_fg $name "$CLI" 20 "$BIN/udp_echo_client" --host "$SRV4" --port 9 --timeout 0.3 \
        --retries 2
    local n hi
    n=$(grep -c '^Timed out, retry ' "$tmp/$name.out" || true)
    hi=$((900 + $(bound 2) * 1000))
    if ((rc == 1 && n == 2 && ms >= 900 && ms <= hi)) &&
        [ "$(cat "$tmp/$name.err")" = "udp_echo_client: timed out" ]; then
        result PASS $name "'udp_echo_client: timed out' after 3 tries ($n retries) in" \
            "$(secs "$ms") (3 x 0.3 s, accepted up to $(secs $hi))"
    else
        result FAIL $name "rc=$rc, $n retries, $(secs "$ms")"
        show $name.out $name.err
    fi
}
check_udp_no_server

# Connecting: refused at once by the other host, timed out on its deadline in
# the black hole, "No route to host" once ARP gives up on a host that is down,
# and immediate errors from local unreachable/prohibit/blackhole routes.
fast=$(($(bound 2) * 1000))
connect_fails connect-refused-ipv4 "$SRV4" 5 "echo_client: [Errno 111] Connection refused" 0 "$fast"
if [ $ipv6 = yes ]; then
    connect_fails connect-refused-ipv6 "$SRV6" 5 "echo_client: [Errno 111] Connection refused" 0 \
        "$fast"
fi
late=$((1500 + $(bound 2) * 1000))
connect_fails connect-blackhole-ipv4 "$HOLE4" 1.5 "echo_client: timed out" 1500 "$late"
if [ $ipv6 = yes ]; then
    connect_fails connect-blackhole-ipv6 "$HOLE6" 1.5 "echo_client: timed out" 1500 "$late"
else
    result SKIP connect-blackhole-ipv6 "$ipv6_reason"
fi

check_blackhole_binding() {
    local name=connect-blackhole-python
    run_fg $name "$CLI" 30 python3 "$PEER" connect "$HOLE4" 80 --timeout 1.5
    local f=$tmp/$name.out el
    el=$(kv elapsed_ms "$f")
    if ((rc == 0)) && [ "$(kv kind "$f")" = timeout ] && ((el >= 1500 && el <= late)); then
        result PASS $name "create_connection(timeout=1.5) raised $(kv error "$f")" \
            "(socket.timeout, kind timeout) after $(secs "$el")"
    else
        result FAIL $name "rc=$rc: $(cat "$f")"
        show $name.err
    fi
}
check_blackhole_binding
connect_fails connect-host-down-ipv4 "$DOWN4" 20 "echo_client: [Errno 113] No route to host" \
    1000 $((15000 + $(bound 2) * 1000))

check_local_routes() {
    local name=connect-local-routes good=0 figures="" host want route
    for route in "unreachable 192.0.2.1 [Errno 113] No route to host" \
        "prohibit 192.0.2.2 [Errno 13] Permission denied" \
        "blackhole 192.0.2.3 [Errno 22] Invalid argument"; do
        read -r kind host want <<<"$route"
        run_fg $name "$CLI" 30 "$BIN/echo_client" --host "$host" --port 9 --timeout 5
        if ((rc == 1 && ms <= fast)) && [ "$(cat "$tmp/$name.err")" = "echo_client: $want" ]; then
            good=$((good + 1))
        fi
        figures+="$kind: '$(cat "$tmp/$name.err")' in $(secs "$ms"); "
    done
    if ((good == 3)); then
        result PASS $name "${figures%; } (deadline 5 s)"
    else
        result FAIL $name "${figures%; }"
    fi
}
check_local_routes

# ---- Impaired link -------------------------------------------------------------
# netem on both ends: every packet waits DELAY_MS and 10% are lost, each way.
# Without sch_netem: nftables drops 10% of the TCP and UDP packets that each
# host receives, with no delay.
impair_reason=""
netem_reason=""
# From now on one packet on the veth is one MTU, as on a wire (no TSO
# super-packets), so that a 10% loss is 10% of the packets and not bursts of
# many segments; older kernels may refuse, harmlessly. (The clean link keeps
# TSO: one MTU a packet at full speed overflows the receiving backlog now and
# then, which would be loss too.)
ip -n "$SRV" link set dev "$VS" gso_max_segs 1 2>/dev/null || true
ip -n "$CLI" link set dev "$VC" gso_max_segs 1 2>/dev/null || true
command -v modprobe >/dev/null 2>&1 && { modprobe -q sch_netem 2>/dev/null || true; }
if err=$(ip netns exec "$SRV" tc qdisc add dev "$VS" root netem delay ${DELAY_MS}ms \
    loss ${LOSS_PCT}% 2>&1) &&
    err=$(ip netns exec "$CLI" tc qdisc add dev "$VC" root netem delay ${DELAY_MS}ms \
        loss ${LOSS_PCT}% 2>&1); then
    impaired=netem
else
    netem_reason="the kernel has no sch_netem (tc qdisc add ... netem: ${err//$'\n'/ })"
    ip netns exec "$SRV" tc qdisc del dev "$VS" root 2>/dev/null || true
    if command -v nft >/dev/null 2>&1; then
        impaired=nftables
        for ns in "$SRV" "$CLI"; do
            if ! err=$(ip netns exec "$ns" nft -f - 2>&1 <<EOF
table inet netkit_loss {
    chain input {
        type filter hook input priority 0; policy accept;
        meta l4proto { tcp, udp } numgen random mod 100 < $LOSS_PCT counter drop
    }
}
EOF
            ); then
                impaired="" impair_reason="$netem_reason, and nftables refused: ${err//$'\n'/ }"
            fi
        done
    else
        impair_reason="$netem_reason, and nft (nftables) is missing"
    fi
fi

if [ -z "$impaired" ]; then
    echo "netns: impaired link: not available ($impair_reason)"
    for c in delay-ipv4 tcp-echo-lossy-ipv4 tcp-sink-lossy-ipv6 udp-retry-lossy-ipv4 \
        udp-retry-lossy-ipv6-python; do
        result SKIP $c "$impair_reason"
    done
else
    if [ $impaired = netem ]; then
        echo "netns: impaired link: tc netem delay ${DELAY_MS}ms loss ${LOSS_PCT}% on both ends"
        lossy_mib=${NK_NETNS_LOSSY_MIB:-2}
    else
        echo "netns: impaired link: nftables drops ${LOSS_PCT}% of the TCP/UDP packets each" \
            "host receives; no delay: $netem_reason"
        lossy_mib=${NK_NETNS_LOSSY_MIB:-4}
    fi
    lossy=$((lossy_mib * 1048576))

    if [ $impaired = netem ] && [ -n "$udp4_port" ]; then
        run_fg rtt-delay "$CLI" 120 python3 "$PEER" ping "$SRV4" "$udp4_port" 20 --timeout 2 \
            --tries 10
        rtt=$(kv rtt_min_ms "$tmp/rtt-delay.out")
        if ((rc == 0)) && awk -v r="$rtt" -v d=$DELAY_MS 'BEGIN { exit !(r >= 2 * d * 0.95) }'; then
            result PASS delay-ipv4 "rtt min $rtt ms with ${DELAY_MS} ms each way (clean link:" \
                "$clean_rtt ms), $(kv retries "$tmp/rtt-delay.out") pings sent again"
        else
            result FAIL delay-ipv4 "rc=$rc, rtt min '$rtt' ms, wanted >= $((2 * DELAY_MS)) ms"
            show rtt-delay.out rtt-delay.err
        fi
    else
        result SKIP delay-ipv4 "$netem_reason"
    fi

    impaired_check=yes
    tcp_echo tcp-echo-lossy-ipv4 "$SRV4" "$CLI4" "$lossy" 300
    if [ $ipv6 = yes ]; then
        tcp_sink tcp-sink-lossy-ipv6 "$SRV6" "$lossy" 300
    else
        result SKIP tcp-sink-lossy-ipv6 "$ipv6_reason"
    fi
    # 60 exchanges each lose a datagram or its answer with p = 1 - 0.9^2 = 19%:
    # no retry at all would have a chance of 0.81^60 = 3e-6.
    check_udp udp-retry-lossy-ipv4 "$SRV4" "$udp4_port" 60 0.3 10 1 "$BIN/udp_echo_client"
    # 15 runs may well see no loss (0.81^15 = 4%): drops are counted, not required.
    impaired_check=report
    if [ $ipv6 = yes ]; then
        check_udp udp-retry-lossy-ipv6-python "$SRV6" "$udp6_port" 15 0.3 10 0 \
            python3 "$ROOT/examples/python/udp_echo_client.py"
    else
        result SKIP udp-retry-lossy-ipv6-python "$ipv6_reason"
    fi
fi

stop_pid "$udp4_pid" || true
if [ $ipv6 = yes ]; then stop_pid "$udp6_pid" || true; fi

echo "netns: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || exit 1
