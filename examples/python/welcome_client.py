#!/usr/bin/env python3
"""welcome_client.py - the tutorials' connect, recv once, print clients on
netkit (demos D1, D8; also the peer of D11's accept-and-close server).

  --style greeting  seed 000: port 1042, recv(100)                     (D1)
  --style welcome   seed 002: port 12345, recv(1024) (default)         (D8)
  --style close     seed 003's server has no client; port 12345, recv(1024)
                    prints the empty line Python prints for b''        (D11)

The host is the machine's name (gethostname()) as in the seeds. The same
command line as examples/welcome_client.c.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402

PROG = "welcome_client"
STYLES = {"greeting": (1042, 100), "welcome": (12345, 1024), "close": (12345, 1024)}


def port_number(text):
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"bad port: '{text}'")
    return port


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog=PROG, description="The tutorials' one-message clients.")
    p.add_argument("--host", help="server host (default: this machine's name, gethostname())")
    p.add_argument("--port", type=port_number,
                   help="server port (default 1042 for greeting, 12345 otherwise)")
    p.add_argument("--style", choices=sorted(STYLES), default="welcome",
                   help="greeting (seed 000), welcome (seed 002, default) or close (seed 003)")
    p.add_argument("--bufsize", type=int, help="receive up to N bytes instead")
    p.add_argument("--timeout", type=float, default=None,
                   help="give up after this many seconds (default: wait forever)")
    args = p.parse_args()
    port, bufsize = STYLES[args.style]
    try:
        host = args.host if args.host is not None else netkit.gethostname()
        with netkit.create_connection((host, args.port if args.port is not None else port),
                                      timeout=args.timeout) as client_socket:
            message = client_socket.recv(args.bufsize or bufsize)
            print(message.decode(errors="replace"))
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
