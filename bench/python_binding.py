#!/usr/bin/env python3
"""python_binding.py - ping-pong round trips per second over one loopback TCP
connection: the netkit binding (python/netkit.py) against Python's own socket
module. A figure, not a test.

Each side of each connection uses the same implementation: this process is the
client, and for each implementation a peer process (this script with --peer)
echoes every message back. One connection per implementation lasts the whole
run; the measurements are interleaved (netkit, socket, netkit, socket, ...),
each a fixed time of: sendall(message), then recv until the message is back.
TCP_NODELAY is set on both ends of both connections. The medians and their
ratio are printed, and the median of the per-round ratios (each round's two
measurements are next to each other in time, so that ratio is the one least
moved by a machine whose speed drifts). Bounded: --rounds x 2 x --seconds plus
about a second (a watchdog ends it in any case).

    make && python3 bench/python_binding.py [--rounds 9] [--seconds 0.5] [--size 64]
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import netkit  # noqa: E402


def run_peer(impl, size):
    """Echoes every message of one connection back until it closes."""
    if impl == "netkit":
        server = netkit.create_server(("127.0.0.1", 0), backlog=1)
        print(server.port, flush=True)
        conn, _ = server.accept()
        conn.set_nodelay(True)
        recv_exact = conn.recv_exact
    else:
        server = socket.create_server(("127.0.0.1", 0), backlog=1)
        print(server.getsockname()[1], flush=True)
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def recv_exact(n):
            data = conn.recv(n)
            while data and len(data) < n:
                more = conn.recv(n - len(data))
                if not more:
                    break
                data += more
            return data
    sendall = conn.sendall
    while True:
        data = recv_exact(size)
        if len(data) < size:
            break
        sendall(data)
    conn.close()
    server.close()


def connect(impl, size):
    """(peer process, client connection) for one implementation."""
    peer = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--peer", impl,
                             "--size", str(size)], stdout=subprocess.PIPE, text=True)
    port = int(peer.stdout.readline())
    if impl == "netkit":
        conn = netkit.create_connection(("127.0.0.1", port))
        conn.set_nodelay(True)
    else:
        conn = socket.create_connection(("127.0.0.1", port))
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return peer, conn


def measure(conn, message, seconds):
    """Round trips per second for about `seconds`."""
    size = len(message)
    sendall, recv = conn.sendall, conn.recv
    clock = time.perf_counter
    count = 0
    start = clock()
    deadline = start + seconds
    while True:
        for _ in range(100):  # the clock is read every 100 round trips
            sendall(message)
            got = len(recv(size))
            while got < size:
                more = len(recv(size - got))
                if more == 0:
                    raise SystemExit("the peer closed the connection")
                got += more
        count += 100
        now = clock()
        if now >= deadline:
            return count / (now - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=9, help="measurements per implementation")
    p.add_argument("--seconds", type=float, default=0.5, help="length of one measurement")
    p.add_argument("--size", type=int, default=64, help="message size in bytes")
    p.add_argument("--peer", choices=("netkit", "socket"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.peer:
        return run_peer(args.peer, args.size)
    if args.rounds < 1 or args.seconds <= 0 or args.size < 1:
        p.error("--rounds, --seconds and --size must be positive")

    # A watchdog: whatever happens, the run ends (SIGALRM's default action).
    signal.alarm(int(2 * args.rounds * args.seconds) + 30)
    message = os.urandom(args.size)
    impls = ("netkit", "socket")
    links = {impl: connect(impl, args.size) for impl in impls}
    results = {impl: [] for impl in impls}
    print(f"ping-pong over one loopback TCP connection, {args.size}-byte messages, "
          f"{args.rounds} x {args.seconds:g} s per implementation, interleaved")
    print(f"netkit {netkit.__version__} binding ({netkit.library_path}) vs Python "
          f"{sys.version.split()[0]} socket module")
    try:
        for impl in impls:  # warm up both connections
            measure(links[impl][1], message, 0.2)
        for r in range(1, args.rounds + 1):
            line = []
            for impl in impls:
                rate = measure(links[impl][1], message, args.seconds)
                results[impl].append(rate)
                line.append(f"{impl} {rate:10,.0f}/s")
            ratio = results["netkit"][-1] / results["socket"][-1]
            print(f"round {r}: " + "   ".join(line) + f"   ratio {ratio:.2f}", flush=True)
    finally:
        for peer, conn in links.values():
            conn.close()
            peer.wait(10)
    med = {impl: statistics.median(results[impl]) for impl in impls}
    ratios = [n / s for n, s in zip(results["netkit"], results["socket"])]
    print(f"median: netkit {med['netkit']:,.0f} round trips/s, socket {med['socket']:,.0f} "
          f"round trips/s, ratio netkit/socket {med['netkit'] / med['socket']:.2f} "
          f"(median of the per-round ratios {statistics.median(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
