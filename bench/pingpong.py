#!/usr/bin/env python3
"""pingpong.py - the Python baseline of the ping-pong rows: pp_raw.c's TCP and
UDP ping-pong written with Python's own socket module, in the same shape.

    python3 bench/pingpong.py tcp|udp [--seconds 1] [--size 64]

One process binds 127.0.0.1 port 0 (printed), then forks: the child is the
echo end (TCP: recv until the message is whole, sendall; UDP: recvfrom,
sendto back), the parent the client (TCP: sendall, recv until whole; UDP: a
connected socket, send, recv). Blocking sockets, TCP_NODELAY on TCP. The clock
is read every 64 round trips. Prints "result RATE rt/s iterations=N seconds=T".
"""
import argparse
import os
import signal
import socket
import sys
import time


def recv_exact(sock, size):
    data = sock.recv(size)
    while data and len(data) < size:
        more = sock.recv(size - len(data))
        if not more:
            break
        data += more
    return data


def run_tcp(size, seconds):
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    print("port", port, flush=True)
    pid = os.fork()
    if pid == 0:
        conn, _ = srv.accept()
        srv.close()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sendall = conn.sendall
        while True:
            data = recv_exact(conn, size)
            if len(data) < size:
                break
            sendall(data)
        conn.close()
        os._exit(0)
    srv.close()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    message = b"x" * size
    sendall, recv = conn.sendall, conn.recv
    clock = time.perf_counter
    iters = 0
    start = clock()
    end = start + seconds
    while True:
        for _ in range(64):
            sendall(message)
            got = len(recv(size))
            while got < size:
                more = len(recv(size - got))
                if more == 0:
                    sys.exit("pingpong.py: the echo end closed")
                got += more
        iters += 64
        now = clock()
        if now >= end:
            break
    conn.close()
    os.waitpid(pid, 0)
    return iters, now - start


def run_udp(size, seconds):
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    print("port", port, flush=True)
    pid = os.fork()
    if pid == 0:
        recvfrom, sendto = srv.recvfrom, srv.sendto
        while True:
            data, addr = recvfrom(size)
            if not data:
                break
            sendto(data, addr)
        srv.close()
        os._exit(0)
    srv.close()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    message = b"x" * size
    send, recv = sock.send, sock.recv
    clock = time.perf_counter
    iters = 0
    start = clock()
    end = start + seconds
    while True:
        for _ in range(64):
            send(message)
            if len(recv(size)) != size:
                sys.exit("pingpong.py: short datagram")
        iters += 64
        now = clock()
        if now >= end:
            break
    sock.send(b"")
    sock.close()
    os.waitpid(pid, 0)
    return iters, now - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("proto", choices=("tcp", "udp"))
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--size", type=int, default=64)
    args = p.parse_args()
    if not 0 < args.seconds <= 600 or not 0 < args.size <= 65536:
        p.error("--seconds or --size out of range")
    signal.alarm(int(args.seconds) + 60)  # watchdog
    run = run_tcp if args.proto == "tcp" else run_udp
    iters, elapsed = run(args.size, args.seconds)
    print(f"result {iters / elapsed:.1f} rt/s iterations={iters} seconds={elapsed:.6f}")


if __name__ == "__main__":
    main()
