#!/usr/bin/env python3
"""chat_room_10k.py - one chat room process, one thread, 10,000 clients.

Starts build/examples/chat_server (--mode room, the selector engine) on
127.0.0.1 with an ephemeral port, connects N clients spread over W worker
processes (so no process needs more fds than the machine allows), waits until
the server has seen every client join, then:
  - reads the server's resident memory before and after the clients joined
    and its thread count (it must be 1),
  - has one more client send a line R times and measures, for each, the time
    from the send until the last of the N clients has received it (the
    workers time-stamp arrivals with CLOCK_MONOTONIC, which all processes
    share), and
  - stops the server with SIGTERM and checks that it exits 0.

Usage: python3 bench/chat_room_10k.py [--clients 10000] [--workers 5] [--rounds 5]
Loopback only; every wait is bounded.
"""
import argparse
import os
import re
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "build", "examples", "chat_server")
WELCOME = b"Welcome to the chat room! Enter your name:\n"
TIMEOUT = 120.0  # seconds any one phase may take


def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


# ---- worker: holds its share of the clients ---------------------------------

def worker(port, count, wid):
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    bufs = [b""] * count

    def read_until(done_pred, deadline):
        while not done_pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"worker {wid}: timed out")
            for key, _ in sel.select(min(left, 1.0)):
                chunk = key.fileobj.recv(65536)
                if not chunk:
                    raise SystemExit(f"worker {wid}: the server closed a connection")
                bufs[key.data] += chunk
                on_data(key.data)

    got = set()
    token = [None]
    arrivals = []

    def on_data(i):
        if token[0] is None:
            if bufs[i].startswith(WELCOME):
                got.add(i)
        elif i not in got and token[0] in bufs[i]:
            got.add(i)
            arrivals.append(time.monotonic())

    read_until(lambda: len(got) == count, time.monotonic() + TIMEOUT)
    for i, s in enumerate(socks):
        s.sendall(f"w{wid}c{i}\n".encode())
        bufs[i] = b""
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "expect":
            token[0] = cmd[1].encode()
            got.clear()
            arrivals.clear()
            print("armed", flush=True)
            read_until(lambda: len(got) == count, time.monotonic() + TIMEOUT)
            print(f"got {min(arrivals):.9f} {max(arrivals):.9f}", flush=True)
            bufs = [b""] * count
        elif cmd[0] == "quit":
            break
    for s in socks:
        s.close()


# ---- the conductor ------------------------------------------------------------

def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"needs {need} fds per process; the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--id", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.port, args.count, args.id)
        return
    if not os.path.exists(SERVER):
        sys.exit(f"{SERVER} is not built (run make)")
    n, w = args.clients, args.workers
    raise_fd_limit(n + 100)  # the server holds every client; children inherit

    server = subprocess.Popen([SERVER, "--mode", "room", "--host", "127.0.0.1", "--port", "0",
                               "--no-notices"], stdout=subprocess.PIPE, text=True, bufsize=1)
    procs = [server]
    try:
        first = server.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)$", first.strip())
        if not m:
            sys.exit(f"chat_server said {first!r}")
        port = int(m.group(1))
        joined = [0]
        joined_cv = threading.Condition()

        def count_joins():
            for line in server.stdout:
                if line.startswith("User ") and line.rstrip().endswith(" has joined the chat."):
                    with joined_cv:
                        joined[0] += 1
                        joined_cv.notify_all()

        threading.Thread(target=count_joins, daemon=True).start()
        time.sleep(0.2)
        rss_before = status(server.pid, "VmRSS")

        t0 = time.monotonic()
        shares = [n // w + (1 if i < n % w else 0) for i in range(w)]
        workers = [subprocess.Popen([sys.executable, __file__, "--worker", "--port", str(port),
                                     "--count", str(c), "--id", str(i)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                    bufsize=1) for i, c in enumerate(shares)]
        procs += workers
        for p in workers:
            if p.stdout.readline().strip() != "ready":
                sys.exit("a worker failed")
        sender = socket.create_connection(("127.0.0.1", port), timeout=30)
        sender.settimeout(30)
        buf = b""
        while not buf.startswith(WELCOME):
            buf += sender.recv(4096)
        sender.sendall(b"sender\n")
        with joined_cv:
            if not joined_cv.wait_for(lambda: joined[0] >= n + 1, TIMEOUT):
                sys.exit(f"only {joined[0]} of {n + 1} clients joined")
        t_join = time.monotonic() - t0
        time.sleep(0.5)  # idle: what the connections cost at rest
        rss_idle = status(server.pid, "VmRSS")
        threads = status(server.pid, "Threads")
        open_fds = len(os.listdir(f"/proc/{server.pid}/fd"))

        times = []
        for r in range(args.rounds):
            token = f"tok{r}x{os.getpid()}"
            for p in workers:
                p.stdin.write(f"expect {token}\n")
                p.stdin.flush()
            for p in workers:
                if p.stdout.readline().strip() != "armed":
                    sys.exit("a worker failed")
            t_send = time.monotonic()
            sender.sendall(f"{token}\n".encode())
            last = 0.0
            for p in workers:
                parts = p.stdout.readline().split()
                if not parts or parts[0] != "got":
                    sys.exit("a worker failed")
                last = max(last, float(parts[2]))
            times.append(last - t_send)
        rss_after = status(server.pid, "VmRSS")

        for p in workers:
            p.stdin.write("quit\n")
            p.stdin.flush()
        for p in workers:
            p.wait(timeout=60)
        sender.close()
        server.send_signal(signal.SIGTERM)
        rc = server.wait(timeout=60)

        per_client = (rss_idle - rss_before) * 1024 / (n + 1)
        print(f"chat room, one process: {n + 1} clients ({n} in {w} worker processes + 1 sender)")
        print(f"  server threads while holding them:   {threads}")
        print(f"  server open fds:                       {open_fds}")
        print(f"  time for all to connect and join:      {t_join:.2f} s")
        print(f"  server RSS before clients:             {rss_before} KiB")
        print(f"  server RSS with every client idle:     {rss_idle} KiB")
        print(f"  resident memory per connected client:  {per_client:.0f} bytes")
        print(f"  server RSS after {args.rounds} broadcasts:          {rss_after} KiB")
        print(f"  one line to all {n}: median {statistics.median(times) * 1000:.1f} ms, "
              f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
              f"({args.rounds} rounds)")
        print(f"  deliveries per second (median):        {n / statistics.median(times):,.0f}")
        print(f"  server exit status after SIGTERM:      {rc}")
        if threads != 1 or rc != 0:
            sys.exit("FAILED: the server must run on one thread and exit 0")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
