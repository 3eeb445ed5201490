#!/usr/bin/env python3
"""echo_server.py - the tutorials' TCP echo server on netkit (demos D2, D4, D6).

  --style d2   seed 000: 1 KiB chunks, "Received: <text>"          (D2)
  --style d4   seed 001: 16-byte chunks, "Received b'...'"         (D4, default)
  --threads    seed 001's threaded server: one thread per client   (D6)

It prints "listening on HOST:PORT" (the real port) first, then the seed's own
lines, and serves forever like the seed; --max-clients N exits after N clients.
The same command line as the C example examples/echo_server.c.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402  (python/netkit.py, or a copy next to this script)

import argparse  # noqa: E402
import threading  # noqa: E402

PROG = "echo_server"
print_lock = threading.Lock()  # one line at a time when threads print


def say(*args):
    with print_lock:
        print(*args)


def host_port(address):
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def echo_d2(connection, client_address, chunk):
    """Seed 000: recv(1024), print the text, send it back."""
    while True:
        data = connection.recv(chunk)
        if data:
            say('Received: {}'.format(data.decode(errors="replace")))
            connection.sendall(data)
        else:
            say('No more data from', client_address)
            break


def echo_d4(connection, client_address, chunk):
    """Seed 001: recv(16), print every chunk (the final b'' too), send it back."""
    while True:
        data = connection.recv(chunk)
        say('Received {!r}'.format(data))
        if data:
            say('Sending data back to the client')
            connection.sendall(data)
        else:
            say('No more data from', client_address)
            break


def echo_d6(connection, client_address, chunk):
    """Seed 001's threaded handle_client: D4 without the b'' line and the
    'Sending data back' line."""
    while True:
        data = connection.recv(chunk)
        if data:
            say('Received {!r}'.format(data))
            connection.sendall(data)
        else:
            say('No more data from', client_address)
            break


def port_number(text):
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"bad port: '{text}'")
    return port


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog=PROG, description="The tutorials' TCP echo server: "
                                "every chunk received is sent back.")
    p.add_argument("--host", default="localhost", help="address to bind (default localhost)")
    p.add_argument("--port", type=port_number, default=65432,
                   help="port to bind, 0 for an ephemeral one (default 65432)")
    p.add_argument("--style", choices=("d2", "d4"), default="d4",
                   help="d2: seed 000, 1024-byte chunks; d4: seed 001, 16-byte chunks (default)")
    p.add_argument("--chunk", type=int, help="bytes per recv, overriding the style's chunk size")
    p.add_argument("--threads", action="store_true",
                   help="serve every client in its own thread (seed 001, D6)")
    p.add_argument("--max-clients", type=int, default=0,
                   help="exit after N clients (default 0: serve forever)")
    args = p.parse_args()
    chunk = args.chunk or (1024 if args.style == "d2" else 16)
    echo = echo_d2 if args.style == "d2" else echo_d6 if args.threads else echo_d4
    served = 0

    def handle_client(connection, client_address):
        nonlocal served
        say('Connection from', client_address)
        try:
            echo(connection, client_address, chunk)
        except OSError as e:  # this client only: the server goes on
            print(f"{PROG}: {client_address}: {e}", file=sys.stderr)
        if not args.threads:  # the sequential seeds print this before every accept
            served += 1
            if args.max_clients == 0 or served < args.max_clients:
                say('Waiting for a connection')

    try:
        # Seed 000 and seed 001's sequential server listen(1), the threaded one listen(5).
        with netkit.create_server((args.host, args.port),
                                  backlog=5 if args.threads else 1) as server:
            say(f"listening on {host_port(server.getsockname())}")
            if not args.threads:
                starting = "Starting server" if args.style == "d2" else "Starting up"
                say('{} on {} port {}'.format(starting, args.host, args.port))
            say('Waiting for a connection')
            server.serve(handle_client, threads=args.threads, max_clients=args.max_clients)
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
