#!/usr/bin/env python3
"""welcome_server.py - the tutorials' accept, log, (send), close servers on
netkit (demos D1, D8, D11). All three accept a client, print its address,
maybe send one message, and close the connection:

  --style greeting  seed 000, port 1042: "Connection Established to address
                    (HOST, PORT)", sends "Message Received and the message
                    is ->Socket Programming in Python"; forever        (D1)
  --style welcome   seed 002, port 12345: "Waiting for a client connection...",
                    "Connection established with: (HOST, PORT)", sends
                    "Welcome to the server!"; one client (default)     (D8)
  --style close     seed 003, port 12345: "Connected by (HOST, PORT)", sends
                    nothing; forever                                   (D11)

The host is the machine's name (gethostname()) as in the seeds. The same
command line as examples/welcome_server.c.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402

PROG = "welcome_server"

# name: (port, backlog, clients (0 = forever), waiting line, connected text, message)
STYLES = {
    "greeting": (1042, 5, 0, None, "Connection Established to address",
                 "Message Received and the message is ->Socket Programming in Python"),
    "welcome": (12345, 1, 1, "Waiting for a client connection...",
                "Connection established with:", "Welcome to the server!"),
    "close": (12345, 5, 0, None, "Connected by", None),
}


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
    p = argparse.ArgumentParser(prog=PROG, description="The tutorials' greeting servers.")
    p.add_argument("--host", help="address to bind (default: this machine's name, gethostname())")
    p.add_argument("--port", type=port_number, help="port to bind, 0 for an ephemeral one")
    p.add_argument("--style", choices=sorted(STYLES), default="welcome",
                   help="greeting (seed 000), welcome (seed 002, default) or close (seed 003)")
    p.add_argument("--max-clients", type=int, help="exit after N clients (0: forever)")
    p.add_argument("--once", action="store_true", help="the same as --max-clients 1")
    args = p.parse_args()
    port, backlog, clients, waiting, connected, message = STYLES[args.style]
    if args.port is not None:
        port = args.port
    if args.max_clients is not None:
        clients = args.max_clients
    if args.once:
        clients = 1
    served = 0

    def greet_client(client_socket, addr):
        nonlocal served
        print(connected, addr)
        if message is not None:
            try:
                client_socket.send(message.encode())
            except OSError as e:  # this client only: the server goes on
                print(f"{PROG}: {addr}: {e}", file=sys.stderr)
        served += 1
        if waiting is not None and (clients == 0 or served < clients):
            print(waiting)

    try:
        host = args.host if args.host is not None else netkit.gethostname()
        with netkit.create_server((host, port), backlog=backlog) as server_socket:
            print(f"listening on {host_port(server_socket.getsockname())}")
            if waiting is not None:
                print(waiting)
            server_socket.serve(greet_client, max_clients=clients)
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
