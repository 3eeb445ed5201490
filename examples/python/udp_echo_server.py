#!/usr/bin/env python3
"""udp_echo_server.py - seed 001's UDP echo server on netkit (demo D5).

Receives datagrams of up to 4096 bytes and sends each one back to its sender,
printing what the seed prints. It runs forever, like the seed; --max-clients N
makes it exit after N datagrams. The same command line as
examples/udp_echo_server.c.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402
import errno  # noqa: E402

PROG = "udp_echo_server"


def host_port(address):
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def port_number(text):
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"bad port: '{text}'")
    return port


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog=PROG, description="Seed 001's UDP echo server.")
    p.add_argument("--host", default="localhost", help="address to bind (default localhost)")
    p.add_argument("--port", type=port_number, default=65432,
                   help="port to bind, 0 for an ephemeral one (default 65432)")
    p.add_argument("--max-clients", type=int, default=0,
                   help="exit after N datagrams (default 0: serve forever)")
    args = p.parse_args()
    try:
        with netkit.UdpEndpoint((args.host, args.port)) as server_socket:
            print(f"listening on {host_port(server_socket.getsockname())}")
            # The seed prints the address it was given: ('localhost', 65432).
            print('Starting up on {} port {}'.format(args.host, args.port))
            served = 0
            while args.max_clients == 0 or served < args.max_clients:
                served += 1
                print('Waiting for a message')
                try:
                    data, address = server_socket.recvfrom(4096)
                except OSError as e:
                    if e.errno != errno.EMSGSIZE:
                        raise
                    # netkit reports a datagram longer than 4096 bytes (Python
                    # on Linux would cut it silently): skip it, say so.
                    print(f"{PROG}: {e}", file=sys.stderr)
                    continue
                print('Received {} bytes from {}'.format(len(data), address))
                print(data)
                if data:
                    try:
                        sent = server_socket.sendto(data, address)
                    except OSError as e:  # one peer we cannot answer
                        print(f"{PROG}: {e}", file=sys.stderr)
                        continue
                    print('Sent {} bytes back to {}'.format(sent, address))
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
