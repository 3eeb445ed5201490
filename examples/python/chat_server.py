#!/usr/bin/env python3
"""chat_server.py - the tutorials' chat servers on netkit (demos D3, D13, D15).

  --mode one    seed 000, gethostname():1042: accepts one client, prints
                "Received from client: <text>" for each message and replies
                "Message received"; exits when the client leaves.      (D3)
  --mode named  seed 003, gethostname():12345: sends "Welcome to the chat
                program! Enter your name:", prints "User <name> has joined
                the chat.", then "<name> : <message>" for each message and
                replies "Received"; then the next client, forever.    (D13)
  --mode room   seed 004, 127.0.0.1:8000: a chat room, one thread per
                client; each line reaches every other client.        (D15)

In the modes one and named a message is what one recv(1024) returns, as in
the seeds; one trailing newline is left out of what is printed. The name in
named mode ends at the first newline of the first chunk; what follows it is
the first message.

The room's protocol, one line per message (the same as examples/chat_server.c):
  server -> client  "Welcome to the chat room! Enter your name:\\n"
  client -> server  the name (at most 32 bytes kept; an empty name becomes
                    the client's address, "127.0.0.1:54321")
  server -> others  "* <name> has joined the chat\\n"
  client -> server  "<text>\\n"  (empty lines are ignored)
  server -> others  "<name>: <text>\\n"
  server -> others  "* <name> has left the chat\\n" when it leaves
  server -> others  "* <name> was dropped (not reading)\\n" when more than
                    --max-queue bytes wait for it: it is disconnected
  server -> sender  "* your line was cut to N bytes\\n" for a line longer than
                    --max-line: its first N bytes go out, the rest is dropped
Each client has a reader (the serve handler, in its own thread) and a writer
thread that sends its queue, so a client that stops reading blocks nobody.
Ctrl-C or SIGTERM stop the room cleanly.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402
import collections  # noqa: E402
import errno  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402

PROG = "chat_server"
NAME_MAX_LEN = 32  # bytes of a room name kept
CHUNK = 1024       # the seeds' recv size
print_lock = threading.Lock()


def say(*args):
    with print_lock:
        print(*args)


def report(e):
    print(f"{PROG}: {e}", file=sys.stderr)


def host_port(address):
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def strip_newline(data):
    """data without one trailing b'\\n' or b'\\r\\n'."""
    if data.endswith(b"\n"):
        data = data[:-1]
    if data.endswith(b"\r"):
        data = data[:-1]
    return data


def text(data):
    return data.decode(errors="replace")


# ---- --mode one (seed 000) ---------------------------------------------

def run_one(soc):
    print("Server listening...")
    clt, addr = soc.accept()
    with clt:
        print(f"Connection Established to address {addr}")
        while True:
            data = clt.recv(CHUNK)
            if not data:
                break
            print(f"Received from client: {text(strip_newline(data))}")
            clt.sendall("Message received".encode('utf-8'))


# ---- --mode named (seed 003) -------------------------------------------

def named_chat(conn, addr):
    try:
        print('Connected by', addr)
        conn.sendall(b'Welcome to the chat program! Enter your name:')
        first = conn.recv(CHUNK)
        name, newline, rest = first.partition(b"\n")
        name = text(strip_newline(name + newline))
        print('User', name, 'has joined the chat.')
        message = rest
        while True:
            if message:
                print(name, ':', text(strip_newline(message)))
                conn.sendall(b'Received')
            message = conn.recv(CHUNK)
            if not message:
                break
    except OSError as e:
        report(e)


# ---- --mode room (seed 004) --------------------------------------------

class Room:
    def __init__(self, max_queue, max_line):
        self.lock = threading.Lock()
        self.members = []
        self.max_queue = max_queue
        self.max_line = max_line

    def deliver(self, sender, data):
        """Queues data for every member but sender; marks those that overflow. Locked."""
        for m in self.members:
            if m is not sender and not m.dropped and not m.enqueue(data):
                m.dropped = True

    def post(self, sender, data):
        """Sends data to every member but sender, then drops those that overflowed. Locked."""
        self.deliver(sender, data)
        while True:  # the notices may overflow others in turn
            dropped = [m for m in self.members if m.dropped]
            if not dropped:
                return
            m = dropped[0]
            self.unlink(m)
            m.hang_up()  # its reader sees the end of the stream and returns
            say(f"User {text(m.name)} was dropped (not reading).")
            self.deliver(None, b"* " + m.name + b" was dropped (not reading)\n")

    def unlink(self, m):
        self.members.remove(m)
        m.in_room = False
        m.stop = True
        m.wake.notify()


class Member:
    def __init__(self, room, conn):
        self.room = room
        self.conn = conn
        self.name = b""
        self.queue = collections.deque()
        self.queued = 0
        self.wake = threading.Condition(room.lock)
        self.in_room = self.dropped = self.stop = False

    def enqueue(self, data):
        """Appends data to the queue unless that exceeds the room's limit. Locked."""
        if self.queued + len(data) > self.room.max_queue:
            return False
        self.queue.append(data)
        self.queued += len(data)
        self.wake.notify()
        return True

    def hang_up(self):
        """Ends both directions, so that this member's threads stop waiting."""
        try:
            self.conn.shutdown(netkit.SHUT_RDWR)
        except OSError as e:
            if e.errno not in (errno.ENOTCONN, errno.EBADF):  # already gone
                report(e)

    def writer(self):
        """Sends the queue in order until told to stop."""
        with self.room.lock:
            while True:
                while not self.stop and not self.queue:
                    self.wake.wait()
                if self.stop:
                    return
                data = b"".join(self.queue)
                self.queue.clear()
                self.queued = 0
                self.room.lock.release()
                try:
                    self.conn.sendall(data)
                    failed = False
                except OSError:
                    failed = True
                finally:
                    self.room.lock.acquire()
                if failed:  # the client is gone: end its reader too
                    self.hang_up()
                    return

    def say(self, line):
        """Sends b"name: line" to the others; False when no longer in the room."""
        room = self.room
        with room.lock:
            if self.in_room:
                room.post(self, self.name + b": " + line + b"\n")
            return self.in_room

    def tell_cut(self):
        room = self.room
        with room.lock:
            if self.in_room and not self.enqueue(
                    b"* your line was cut to %d bytes\n" % room.max_line):
                self.dropped = True
                room.post(None, b"")


def read_name(me, peer, maxlen):
    """The first line is the name. Returns True, or False when the client left."""
    try:
        line = me.conn.recv_line(maxlen)
    except OSError as e:
        if e.errno != errno.EMSGSIZE:
            raise
        line = e.data
        while True:  # an over-long name line: skip the rest of it
            try:
                rest = me.conn.recv_line(maxlen)
            except OSError as e2:
                if e2.errno != errno.EMSGSIZE:
                    raise
                continue
            if not rest:
                return False
            break
    if not line:
        return False
    me.name = strip_newline(line)[:NAME_MAX_LEN]
    if not me.name:
        me.name = host_port(peer).encode()
    return True


def relay_lines(me, maxlen):
    max_line = me.room.max_line
    cutting = False  # skipping the rest of an over-long line
    while True:
        try:
            line = me.conn.recv_line(maxlen)
        except OSError as e:
            if e.errno == errno.EMSGSIZE:  # more than max_line + 1 bytes without a newline
                if not cutting:
                    if not me.say(e.data[:max_line]):
                        return
                    me.tell_cut()
                cutting = True
                continue
            if e.errno not in (errno.ECONNRESET, errno.ETIMEDOUT, errno.EBADF):
                report(e)
            return
        if not line:
            return
        if cutting:
            cutting = False  # the end of the over-long line
            continue
        line = strip_newline(line)
        if not line:
            continue
        if len(line) > max_line:
            line = line[:max_line]
            me.tell_cut()
        if not me.say(line):
            return


def room_client(room, conn, peer):
    """Run by serve in its own thread for each client: the reader."""
    say('Connected by', peer)
    me = Member(room, conn)
    maxlen = room.max_line + 2  # the line and "\r\n"
    try:
        conn.set_nodelay(True)  # a chat is interactive: no Nagle delay
        conn.sendall(b"Welcome to the chat room! Enter your name:\n")
        if not read_name(me, peer, maxlen):
            return
    except OSError as e:
        if e.errno not in (errno.EPIPE, errno.ECONNRESET):
            report(e)
        return
    writer = threading.Thread(target=me.writer, name="writer")
    writer.start()
    with room.lock:  # join the room
        room.members.append(me)
        me.in_room = True
        room.post(me, b"* " + me.name + b" has joined the chat\n")
    say(f"User {text(me.name)} has joined the chat.")
    try:
        relay_lines(me, maxlen)
    finally:
        with room.lock:  # leave the room (unless dropped already)
            was_in = me.in_room
            if was_in:
                room.unlink(me)
                room.post(me, b"* " + me.name + b" has left the chat\n")
            me.stop = True
            me.wake.notify()
        me.hang_up()  # wakes the writer if it is blocked in sendall
        writer.join()
        if was_in:
            say(f"User {text(me.name)} has left the chat.")


class Stop(Exception):
    """SIGTERM, turned into an exception in the main thread."""


def on_sigterm(signum, frame):
    raise Stop


# ---- main ----------------------------------------------------------------

def port_number(text_):
    port = int(text_)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"bad port: '{text_}'")
    return port


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog=PROG, description="The tutorials' chat servers.")
    p.add_argument("--mode", choices=("one", "named", "room"), default="one",
                   help="one (seed 000, default), named (seed 003) or room (seed 004)")
    p.add_argument("--host", help="address to bind (default: this machine's name for one "
                   "and named, 127.0.0.1 for room)")
    p.add_argument("--port", type=port_number,
                   help="port to bind, 0 for an ephemeral one (default 1042, 12345 and 8000)")
    p.add_argument("--max-clients", type=int, default=0,
                   help="named, room: exit after N clients (0: forever)")
    p.add_argument("--max-queue", type=int, default=65536,
                   help="room: a client with more than B bytes waiting for it is dropped")
    p.add_argument("--max-line", type=int, default=1024,
                   help="room: longer lines are cut to B bytes (default 1024)")
    args = p.parse_args()
    port = args.port if args.port is not None else {"one": 1042, "named": 12345}.get(args.mode, 8000)
    try:
        host = args.host
        if host is None:
            host = "127.0.0.1" if args.mode == "room" else netkit.gethostname()
        # The seeds listen(5); the room takes many clients at once.
        backlog = None if args.mode == "room" else 5
        with netkit.create_server((host, port), backlog=backlog) as soc:
            print(f"listening on {host_port(soc.getsockname())}")
            if args.mode == "one":
                run_one(soc)
            elif args.mode == "named":
                soc.serve(named_chat, max_clients=args.max_clients)
            else:
                room = Room(args.max_queue, args.max_line)
                signal.signal(signal.SIGTERM, on_sigterm)
                try:
                    soc.serve(lambda conn, peer: room_client(room, conn, peer), threads=True,
                              max_clients=args.max_clients)
                except (KeyboardInterrupt, Stop):
                    pass  # serve shut the room down cleanly
    except OSError as e:
        report(e)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
