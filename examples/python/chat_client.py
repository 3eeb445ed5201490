#!/usr/bin/env python3
"""chat_client.py - the tutorials' chat client on netkit (demos D3, D13, D15),
for chat_server.py (or the seeds' Python servers, or examples/chat_server.c).

  --mode one    seed 000, gethostname():1042: prompts "Enter your message: ",
                sends the line (without its newline, as the seed), prints
                "Received from server: <reply>".                       (D3)
  --mode named  seed 003, gethostname():12345: prints the server's welcome,
                sends the first line as the name (with its newline, so the
                server can tell it from a message that follows at once),
                then chats as in --mode one.                          (D13)
  --mode room   seed 004, 127.0.0.1:8000: sends every line typed and shows
                what the room sends while waiting for input.          (D15)

Works at a terminal and through pipes. End of input (Ctrl-D) leaves the chat
with exit status 0; in room mode the client then waits for the server to
close, so that every line sent has been handled.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402
import select  # noqa: E402

PROG = "chat_client"
REPLY_SIZE = 1042  # the seed's soc.recv(1042)


def read_line():
    """One line of stdin without its newline, or None at the end of input."""
    line = sys.stdin.buffer.readline()
    if not line:
        return None
    return line[:-1] if line.endswith(b"\n") else line


def chat(soc):
    """The seed's loop: prompt, send a line, print the reply; until end of input."""
    while True:
        sys.stdout.write("Enter your message: ")
        sys.stdout.flush()
        message = read_line()
        if message is None:
            if sys.stdin.isatty():
                print()  # Ctrl-D: end the prompt's line
            return 0
        if not message:
            continue  # nothing to send: the seed would wait for a reply forever
        soc.sendall(message)
        data = soc.recv(REPLY_SIZE)
        if not data:
            print(f"{PROG}: the server closed the connection", file=sys.stderr)
            return 1
        print(f"Received from server: {data.decode('utf-8', errors='replace')}")


def chat_named(soc):
    """The welcome, then the name, then the seed's loop."""
    welcome = soc.recv(1024)
    if not welcome:
        return 0
    print(welcome.decode(errors="replace"))
    name = read_line()
    if name is None:
        return 0
    soc.sendall(name + b"\n")
    return chat(soc)


def chat_room(soc):
    """stdin to the server and the server to stdout, whichever is ready, until
    the server closes. At the end of stdin the sending side is shut down; the
    server then closes its side."""
    stdin = sys.stdin.fileno()
    out = sys.stdout.buffer
    watching = [stdin, soc.fileno()]  # the client only uses recv: nothing is buffered
    while True:
        ready, _, _ = select.select(watching, [], [])
        if soc.fileno() in ready:
            data = soc.recv(4096)
            if not data:
                if stdin in watching:
                    print(f"{PROG}: the server closed the connection", file=sys.stderr)
                return 0
            out.write(data)
            out.flush()
        if stdin in ready:
            data = os.read(stdin, 4096)
            if data:
                soc.sendall(data)
            else:
                soc.shutdown(netkit.SHUT_WR)
                watching.remove(stdin)  # end of input


def port_number(text):
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"bad port: '{text}'")
    return port


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog=PROG, description="The tutorials' chat client.")
    p.add_argument("--mode", choices=("one", "named", "room"), default="one",
                   help="one (seed 000, default), named (seed 003) or room (seed 004)")
    p.add_argument("--host", help="server to connect to (default: this machine's name for "
                   "one and named, 127.0.0.1 for room)")
    p.add_argument("--port", type=port_number, help="server port (default 1042, 12345 and 8000)")
    args = p.parse_args()
    port = args.port if args.port is not None else {"one": 1042, "named": 12345}.get(args.mode, 8000)
    try:
        host = args.host
        if host is None:
            host = "127.0.0.1" if args.mode == "room" else netkit.gethostname()
        with netkit.create_connection((host, port)) as soc:
            run = {"one": chat, "named": chat_named, "room": chat_room}[args.mode]
            return run(soc)
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
