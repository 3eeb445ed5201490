#!/usr/bin/env python3
"""echo_client.py - the tutorials' TCP echo client on netkit (demos D2, D4, D6).

  --style d2   seed 000: sends "Hello, Server!", reads 1 KiB chunks   (D2)
  --style d4   seed 001: sends "This is the message. It will be
               repeated.", prints every 16-byte chunk as b'...'      (D4, D6, default)

It connects, sends the message with sendall, reads until as many bytes came
back as it sent, and closes. The same command line as examples/echo_client.c.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402

PROG = "echo_client"
MESSAGES = {"d2": "Hello, Server!", "d4": "This is the message. It will be repeated."}


def port_number(text):
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"bad port: '{text}'")
    return port


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog=PROG, description="The tutorials' TCP echo client: "
                                "sends a message and reads it back.")
    p.add_argument("--host", default="localhost", help="server host (default localhost)")
    p.add_argument("--port", type=port_number, default=65432, help="server port (default 65432)")
    p.add_argument("--style", choices=("d2", "d4"), default="d4",
                   help="d2: seed 000, 'Hello, Server!'; d4: seed 001 (default)")
    p.add_argument("--chunk", type=int, help="bytes per recv, overriding the style's chunk size")
    p.add_argument("--message", help="send this text instead of the style's message")
    p.add_argument("--timeout", type=float, default=None,
                   help="give up after this many seconds (default: wait forever)")
    args = p.parse_args()
    chunk = args.chunk or (1024 if args.style == "d2" else 16)
    message = args.message if args.message is not None else MESSAGES[args.style]

    server_address = (args.host, args.port)
    print('Connecting to {} port {}'.format(*server_address))
    try:
        client_socket = netkit.create_connection(server_address, timeout=args.timeout)
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    status = 0
    try:
        if args.style == "d2":
            print('Sending: {}'.format(message))
            data_out = message.encode()
        else:
            data_out = message.encode()
            print('Sending {!r}'.format(data_out))
        client_socket.sendall(data_out)

        # Look for the response
        amount_received = 0
        amount_expected = len(data_out)
        while amount_received < amount_expected:
            data = client_socket.recv(chunk)
            if not data:  # the seed would loop forever here
                print(f"{PROG}: the server closed the connection after {amount_received} "
                      f"of {amount_expected} bytes", file=sys.stderr)
                status = 1
                break
            amount_received += len(data)
            if args.style == "d2":
                print('Received: {}'.format(data.decode(errors="replace")))
            else:
                print('Received {!r}'.format(data))
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        status = 130
    finally:
        print('Closing socket')
        client_socket.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
