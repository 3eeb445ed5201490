#!/usr/bin/env python3
"""udp_echo_client.py - seed 001's UDP echo client on netkit (demo D5).

Sends one datagram to the server and prints the datagram that comes back.
Unlike the seed it waits at most --timeout seconds (default 5) for the answer,
so it never hangs when no server is there: it then prints
"udp_echo_client: timed out" and exits 1. --retries N sends the datagram
again after each timeout, at most N more times, printing "Timed out, retry K
of N" before each new try. The same command line as examples/udp_echo_client.c.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402

PROG = "udp_echo_client"


def port_number(text):
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"bad port: '{text}'")
    return port


def retry_count(text):
    n = int(text)
    if not 0 <= n <= 1000:
        raise argparse.ArgumentTypeError(f"bad --retries (0..1000): '{text}'")
    return n


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog=PROG, description="Seed 001's UDP echo client.")
    p.add_argument("--host", default="localhost", help="server host (default localhost)")
    p.add_argument("--port", type=port_number, default=65432, help="server port (default 65432)")
    p.add_argument("--message", default="This is the message. It will be repeated.",
                   help="the text to send")
    p.add_argument("--timeout", type=float, default=5.0,
                   help="wait this many seconds for the answer (default 5)")
    p.add_argument("--retries", type=retry_count, default=0,
                   help="after a timeout, send again, at most N more times (default 0)")
    args = p.parse_args()

    # What an unbound Python socket becomes on its first sendto: any
    # interface, an ephemeral port.
    try:
        client_socket = netkit.UdpEndpoint()
        client_socket.settimeout(args.timeout)
    except (OSError, ValueError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    server_address = (args.host, args.port)
    message = args.message.encode()
    status = 0
    try:
        for attempt in range(args.retries + 1):
            # Send data
            print('Sending {!r}'.format(message))
            client_socket.sendto(message, server_address)
            # Receive response (an answer to an earlier try is the same echo)
            print('Waiting for a response')
            try:
                data, server = client_socket.recvfrom(4096)
            except TimeoutError:
                if attempt == args.retries:
                    raise
                print(f'Timed out, retry {attempt + 1} of {args.retries}')
                continue
            print('Received {!r}'.format(data))
            break
    except OSError as e:
        status = e
    except KeyboardInterrupt:
        status = 130
    finally:
        print('Closing socket')
        client_socket.close()
    if isinstance(status, OSError):
        print(f"{PROG}: {status}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
