#!/usr/bin/env python3
"""resolve.py - host names to addresses, the way Python's socket module does it.

Demo D10 (seed 002):  ip_address = socket.gethostbyname('www.google.com')
                      print(ip_address)
    resolve.py www.google.com            -> one dotted IPv4 address

Demo D14 (seed 003):  socket.getaddrinfo(host, port), every entry printed
                      as Python prints it: for e in getaddrinfo(...): print(e)
    resolve.py --all localhost --port 80
    (<AddressFamily.AF_INET: 2>, <SocketKind.SOCK_STREAM: 1>, 6, '', ('127.0.0.1', 80))

And the way back, socket.gethostbyaddr(addr)[0]:
    resolve.py --reverse 127.0.0.1       -> localhost

Errors print Python's exception text and exit 1:
    resolve.py nosuchhost.invalid        -> resolve: [Errno -2] Name or service not known

The same command line as examples/resolve.c.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402
import socket  # noqa: E402  (constants only)

PROG = "resolve"
TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM, "raw": socket.SOCK_RAW}


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog=PROG, description="Resolves HOST (default www.google.com) "
                                "with Python's socket calls, through netkit.")
    p.add_argument("name", nargs="?", metavar="HOST", help="the host (default www.google.com)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("-a", "--all", action="store_true",
                      help="socket.getaddrinfo(HOST, PORT): every address, one 5-tuple per line")
    mode.add_argument("-r", "--reverse", action="store_true",
                      help="socket.gethostbyaddr(HOST)[0]: the name of an address")
    p.add_argument("--host", help="the host (same as the HOST argument)")
    p.add_argument("--port", type=int, default=0, help="the port for --all (default 0)")
    fam = p.add_mutually_exclusive_group()
    fam.add_argument("-4", dest="family", action="store_const", const=socket.AF_INET,
                     help="--all: IPv4 addresses only")
    fam.add_argument("-6", dest="family", action="store_const", const=socket.AF_INET6,
                     help="--all: IPv6 addresses only")
    p.add_argument("--type", choices=sorted(TYPES), help="--all: stream, dgram or raw only")
    p.add_argument("--canonname", action="store_true",
                   help="--all: ask for the canonical name (AI_CANONNAME)")
    args = p.parse_args()
    if args.name and args.host:
        p.error(f"one HOST only ('{args.name}' is extra)")
    hostname = args.name or args.host or "www.google.com"
    try:
        if args.all:
            for entry in netkit.getaddrinfo(hostname, args.port, args.family or 0,
                                            TYPES.get(args.type, 0), 0,
                                            socket.AI_CANONNAME if args.canonname else 0):
                print(entry)
        elif args.reverse:
            print(netkit.gethostbyaddr(hostname)[0])
        else:
            ip_address = netkit.gethostbyname(hostname)
            print(ip_address)
    except (OSError, OverflowError, UnicodeError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
