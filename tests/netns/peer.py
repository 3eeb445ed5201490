#!/usr/bin/env python3
"""peer.py - the bulk-transfer and connect ends of tests/netns/run.sh, on the
Python binding (python/netkit.py over this tree's libnetkit.so).

  peer.py stream HOST PORT BYTES [--timeout S]
      Connects to an echo server, sends BYTES of seeded pseudo-random data with
      one sendall call from one thread (the kernel takes it in many partial
      sends) while the main thread reads the echo back with recv_exact, 64 KiB
      at a time; then shuts down its sending side and expects the end of the
      stream. Prints one line:
        sent=N sent_sha256=HEX received=N received_sha256=HEX eof=yes elapsed_ms=MS
      and exits 0 when the echo is the same bytes, 1 otherwise.

  peer.py sink HOST [--timeout S]
      A one-connection server on (HOST, port 0): prints "listening on
      HOST:PORT", receives until the end of the stream, hashes what came and
      answers "N HEX\\n". Prints: received=N received_sha256=HEX peer=(...)

  peer.py send HOST PORT BYTES [--timeout S]
      Sends BYTES to a sink with one sendall call, shuts down its sending side, reads the sink's
      "N HEX" and compares it with its own count and digest. Prints:
        sent=N sent_sha256=HEX sink_received=N sink_sha256=HEX elapsed_ms=MS

  peer.py ping HOST PORT COUNT [--timeout S] [--tries N]
      COUNT numbered datagrams to a UDP echo server, one at a time, each sent
      again after a timeout (N tries at most); measures the round trips of
      the answered ones. Prints:
        sent=COUNT answered=N retries=N rtt_min_ms=F rtt_avg_ms=F rtt_max_ms=F
      and exits 0 when every datagram was answered.

  peer.py connect HOST PORT --timeout S
      create_connection with that timeout, expected to time out. Prints:
        error=CLASS kind=timeout message=TEXT elapsed_ms=MS
      and exits 0 when socket.timeout (TimeoutError) was raised, 1 otherwise.

Every call has a timeout (default 120 s), so nothing here waits forever.
"""
import argparse
import hashlib
import os
import random
import socket
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
import netkit  # noqa: E402

CHUNK = 64 * 1024
SEED = 20261121


def payload(nbytes):
    """nbytes of seeded pseudo-random data: no repeating block that could hide
    a chunk delivered twice or out of order."""
    return random.Random(SEED).randbytes(nbytes)


def ms_since(start):
    return int((time.monotonic() - start) * 1000)


def stream(args):
    data = payload(args.bytes)
    sent_sha = hashlib.sha256(data).hexdigest()
    start = time.monotonic()
    conn = netkit.create_connection((args.host, args.port), timeout=args.timeout)
    failure = []

    def send_all():
        try:
            conn.sendall(data)  # one call: partial sends and waits inside
            conn.shutdown(netkit.SHUT_WR)
        except OSError as e:
            failure.append(f"send: {e!r}")

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    got = hashlib.sha256()
    received = 0
    try:
        while received < args.bytes:
            part = conn.recv_exact(min(CHUNK, args.bytes - received))
            if not part:
                break
            got.update(part)
            received += len(part)
        eof = conn.recv(1) == b""  # nothing more than was sent
    except OSError as e:
        failure.append(f"recv after {received} bytes: {e!r}")
        eof = False
    sender.join(args.timeout)
    if sender.is_alive():
        failure.append("the sending thread did not finish")
    conn.close()
    recv_sha = got.hexdigest()
    print(f"sent={args.bytes} sent_sha256={sent_sha} received={received} "
          f"received_sha256={recv_sha} eof={'yes' if eof else 'no'} "
          f"elapsed_ms={ms_since(start)}", flush=True)
    for f in failure:
        print(f"error: {f}", file=sys.stderr)
    return 0 if not failure and eof and received == args.bytes and recv_sha == sent_sha else 1


def sink(args):
    server = netkit.create_server((args.host, 0))
    server.settimeout(args.timeout)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"listening on {host}:{server.port}", flush=True)
    conn, peer = server.accept()
    server.close()
    conn.settimeout(args.timeout)
    got = hashlib.sha256()
    received = 0
    while True:
        part = conn.recv(CHUNK)
        if not part:
            break
        got.update(part)
        received += len(part)
    conn.sendall(f"{received} {got.hexdigest()}\n".encode())
    conn.close()
    print(f"received={received} received_sha256={got.hexdigest()} peer={peer}", flush=True)
    return 0


def send(args):
    data = payload(args.bytes)
    sent_sha = hashlib.sha256(data).hexdigest()
    start = time.monotonic()
    with netkit.create_connection((args.host, args.port), timeout=args.timeout) as conn:
        conn.sendall(data)
        conn.shutdown(netkit.SHUT_WR)
        answer = conn.recv_line(200).decode("ascii", "replace").split()
    n, sha = (answer + ["?", "?"])[:2]
    print(f"sent={args.bytes} sent_sha256={sent_sha} sink_received={n} sink_sha256={sha} "
          f"elapsed_ms={ms_since(start)}", flush=True)
    return 0 if n == str(args.bytes) and sha == sent_sha else 1


def ping(args):
    udp = netkit.UdpEndpoint()
    udp.settimeout(args.timeout)
    rtts, retries = [], 0
    for i in range(args.count):
        msg = f"ping {i}".encode()
        for attempt in range(args.tries):
            start = time.monotonic()
            udp.sendto(msg, (args.host, args.port))
            try:
                while True:  # a late answer to an earlier ping is skipped
                    data, _ = udp.recvfrom(4096)
                    if data == msg:
                        break
            except socket.timeout:
                retries += 1
                continue
            rtts.append((time.monotonic() - start) * 1000)
            break
    udp.close()
    answered = len(rtts)
    if not rtts:
        rtts = [float("nan")]
    print(f"sent={args.count} answered={answered} retries={retries} "
          f"rtt_min_ms={min(rtts):.2f} rtt_avg_ms={sum(rtts) / len(rtts):.2f} "
          f"rtt_max_ms={max(rtts):.2f}", flush=True)
    return 0 if answered == args.count else 1


def connect(args):
    start = time.monotonic()
    try:
        conn = netkit.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as e:
        elapsed = ms_since(start)
        kind = "timeout" if isinstance(e, socket.timeout) else "socket"
        print(f"error={type(e).__name__} kind={kind} message={e} elapsed_ms={elapsed}",
              flush=True)
        return 0 if kind == "timeout" else 1
    elapsed = ms_since(start)
    conn.close()
    print(f"error=none connected elapsed_ms={elapsed}", flush=True)
    return 1


def main():
    p = argparse.ArgumentParser(prog="peer.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("stream", "send", "connect"):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.add_argument("port", type=int)
        if name != "connect":
            s.add_argument("bytes", type=int)
        s.add_argument("--timeout", type=float, default=120.0)
    s = sub.add_parser("ping")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("count", type=int)
    s.add_argument("--timeout", type=float, default=1.0)
    s.add_argument("--tries", type=int, default=5)
    s = sub.add_parser("sink")
    s.add_argument("host")
    s.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args()
    try:
        return {"stream": stream, "sink": sink, "send": send, "ping": ping,
                "connect": connect}[args.cmd](args)
    except OSError as e:
        print(f"peer.py {args.cmd}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
