"""End-to-end tests of chat_server and chat_client (demos D3, D13, D15).

D3 and D13 are driven through the client's stdin with the seeds' exact
strings, and checked against the seeds' own Python peers. D15 (the room) uses
Python sockets as clients for scale plus real chat_client processes.
"""
import os
import resource
import selectors
import signal
import socket
import struct
import subprocess
import threading
import time
import unittest

from harness import SANITIZER, SLACK, ExampleTest

TUPLE = r"\('127\.0\.0\.1', \d+\)"
WELCOME = "Welcome to the chat room! Enter your name:"


class RoomClient:
    """A Python socket in the room: sends lines; unless read=False a thread
    collects the lines it receives (bytes, without the newline)."""

    def __init__(self, test, port, name, rcvbuf=None, read=True):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10 * SLACK)
        test.addCleanup(self.close)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            test.assertTrue(chunk, "the server closed before its welcome")
            self.buf += chunk
        welcome, _, self.buf = self.buf.partition(b"\n")
        test.assertEqual(welcome, WELCOME.encode())
        self.lines = []
        self.eof = False
        self.cv = threading.Condition()
        if read:
            self.sock.settimeout(None)
            threading.Thread(target=self._read, daemon=True).start()
        if name is not None:
            self.send(name)

    def _read(self):
        buf = self.buf
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    break
                *lines, buf = (buf + chunk).split(b"\n")
                with self.cv:
                    self.lines.extend(lines)
                    self.cv.notify_all()
        except OSError:
            pass
        with self.cv:
            self.eof = True
            self.cv.notify_all()

    def send(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def close(self):
        """Leaves: FIN (the shutdown also ends a reader thread's recv)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def reset(self):
        """Vanishes: RST instead of FIN (only without a reader thread)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def wait(self, pred, timeout=5.0):
        """Waits until pred(lines) holds; fails the test otherwise."""
        with self.cv:
            if not self.cv.wait_for(lambda: pred(self.lines) or self.eof, timeout * SLACK) \
                    or not pred(self.lines):
                raise AssertionError(f"{self.name}: condition not met; eof={self.eof}, "
                                     f"last lines {self.lines[-5:]!r}")

    def wait_eof(self, timeout=5.0):
        with self.cv:
            if not self.cv.wait_for(lambda: self.eof, timeout * SLACK):
                raise AssertionError(f"{self.name}: the server did not close the connection")

    def wait_line(self, text, timeout=5.0):
        line = text.encode()
        self.wait(lambda lines: line in lines, timeout)

    def messages(self):
        """The chat lines received so far (not the '* ...' notices), as text."""
        with self.cv:
            return [l.decode() for l in self.lines if not l.startswith(b"* ")]

    def notices(self):
        with self.cv:
            return [l.decode() for l in self.lines if l.startswith(b"* ")]


def count_messages(lines):
    return sum(1 for l in lines if not l.startswith(b"* "))


def by_sender(messages):
    """{sender: [text, ...]} from 'sender: text' lines."""
    out = {}
    for m in messages:
        sender, _, text = m.partition(": ")
        out.setdefault(sender, []).append(text)
    return out


class OneClientChatTest(ExampleTest):
    """D3, seed 000: one client, 'Received from client: ...', 'Message received'."""

    def test_chat_one_client_exact_lines(self):
        srv, port = self.server("chat_server")
        self.assertEqual(srv.line(), "Server listening...")
        cli = self.start("chat_client", "--host", "127.0.0.1", "--port", port,
                         stdin=subprocess.PIPE)
        cli.proc.stdin.write("hello\nHow are you?\n")
        cli.proc.stdin.close()
        self.assertRegex(srv.line(), f"^Connection Established to address {TUPLE}$")
        self.assertEqual(srv.line(), "Received from client: hello")
        self.assertEqual(srv.line(), "Received from client: How are you?")
        self.assertEqual(srv.rest(), [])  # exits when the client leaves
        self.assertEqual(srv.proc.returncode, 0)
        self.assertEqual(cli.rest(), [
            "Enter your message: Received from server: Message received",
            "Enter your message: Received from server: Message received",
            "Enter your message: ",  # the prompt at end of input, as input() leaves it
        ])
        self.assertEqual(cli.proc.returncode, 0)

    def test_chat_one_client_empty_line_is_not_sent(self):
        srv, port = self.server("chat_server")
        cli = self.start("chat_client", "--host", "127.0.0.1", "--port", port,
                         stdin=subprocess.PIPE)
        cli.proc.stdin.write("\nhi\n")
        cli.proc.stdin.close()
        self.assertEqual(cli.rest(), [
            "Enter your message: Enter your message: Received from server: Message received",
            "Enter your message: "])
        srv.expect("Received from client: hi")
        self.assertEqual(srv.rest(), [])

    def test_chat_one_seed_python_client_with_c_server(self):
        srv, port = self.server("chat_server")
        # The seed's client: send the text (no newline), recv(1042).
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLACK) as soc:
            for message in ("Hi there", "second"):
                soc.send(message.encode("utf-8"))
                self.assertEqual(soc.recv(1042).decode("utf-8"), "Message received")
                srv.expect(f"Received from client: {message}")
        self.assertEqual(srv.rest(), [])
        self.assertEqual(srv.proc.returncode, 0)

    def test_chat_one_c_client_with_seed_python_server(self):
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lsock.close)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(5)
        lsock.settimeout(5 * SLACK)
        printed, raw = [], []

        def seed_server():  # the seed's server, printing into a list
            clt, addr = lsock.accept()
            clt.settimeout(5 * SLACK)
            try:
                while True:
                    data = clt.recv(1024)
                    raw.append(data)
                    if not data:
                        break
                    printed.append(f"Received from client: {data.decode('utf-8')}")
                    clt.send("Message received".encode("utf-8"))
            finally:
                clt.close()

        t = threading.Thread(target=seed_server, daemon=True)
        t.start()
        out = self.run_prog("chat_client", "--host", "127.0.0.1", "--port",
                            lsock.getsockname()[1], input="hello\nbye\n")
        t.join(5 * SLACK)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(printed, ["Received from client: hello", "Received from client: bye"])
        self.assertEqual(raw, [b"hello", b"bye", b""])  # the seed client's bytes exactly
        self.assertEqual(out.stdout, "Enter your message: Received from server: Message received\n"
                                     "Enter your message: Received from server: Message received\n"
                                     "Enter your message: ")

    def test_chat_client_exits_0_on_immediate_eof(self):
        srv, port = self.server("chat_server")
        out = self.run_prog("chat_client", "--host", "127.0.0.1", "--port", port, input="")
        self.assertEqual((out.returncode, out.stdout, out.stderr), (0, "Enter your message: ", ""))
        rest = srv.rest()
        self.assertEqual(rest[0], "Server listening...")
        self.assertRegex(rest[1], f"^Connection Established to address {TUPLE}$")
        self.assertEqual((len(rest), srv.proc.returncode), (2, 0))


class NamedChatTest(ExampleTest):
    """D13, seed 003: welcome, name, '<name> : <message>', 'Received'."""

    def named_client(self, port, text):
        cli = self.start("chat_client", "--mode", "named", "--host", "127.0.0.1", "--port",
                         port, stdin=subprocess.PIPE)
        cli.proc.stdin.write(text)
        cli.proc.stdin.close()
        return cli

    def test_named_chat_two_clients_in_turn(self):
        srv, port = self.server("chat_server", "--mode", "named", "--max-clients", 2)
        cli = self.named_client(port, "alice\nhello\nhow are you?\n")
        self.assertRegex(srv.line(), f"^Connected by {TUPLE}$")
        self.assertEqual(srv.line(), "User alice has joined the chat.")
        self.assertEqual(srv.line(), "alice : hello")
        self.assertEqual(srv.line(), "alice : how are you?")
        self.assertEqual(cli.rest(), [
            "Welcome to the chat program! Enter your name:",
            "Enter your message: Received from server: Received",
            "Enter your message: Received from server: Received",
            "Enter your message: "])
        self.assertEqual(cli.proc.returncode, 0)
        cli2 = self.named_client(port, "bob\nhi\n")
        self.assertRegex(srv.line(), f"^Connected by {TUPLE}$")
        self.assertEqual(srv.line(), "User bob has joined the chat.")
        self.assertEqual(srv.line(), "bob : hi")
        self.assertEqual(cli2.wait(), 0)
        self.assertEqual(srv.rest(), [])  # --max-clients 2
        self.assertEqual(srv.proc.returncode, 0)

    def test_named_chat_name_and_message_in_one_segment(self):
        srv, port = self.server("chat_server", "--mode", "named", "--max-clients", 1)
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLACK) as soc:
            self.assertEqual(soc.recv(1024), b"Welcome to the chat program! Enter your name:")
            soc.sendall(b"carol\nhey there")
            self.assertEqual(soc.recv(1024), b"Received")
        srv.line()
        self.assertEqual(srv.rest(), ["User carol has joined the chat.", "carol : hey there"])

    def test_named_chat_seed_style_client_without_newlines(self):
        srv, port = self.server("chat_server", "--mode", "named", "--max-clients", 1)
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLACK) as soc:
            self.assertEqual(soc.recv(1024), b"Welcome to the chat program! Enter your name:")
            soc.send(b"dave")
            srv.expect("User dave has joined the chat.")
            soc.send(b"plain message")
            self.assertEqual(soc.recv(1024), b"Received")
        self.assertEqual(srv.rest(), ["dave : plain message"])

    def test_named_chat_client_eof_before_name(self):
        srv, port = self.server("chat_server", "--mode", "named", "--max-clients", 1)
        out = self.run_prog("chat_client", "--mode", "named", "--host", "127.0.0.1", "--port",
                            port, input="")
        self.assertEqual((out.returncode, out.stdout),
                         (0, "Welcome to the chat program! Enter your name:\n"))
        # The seed prints the empty name it received, then sees the end.
        srv.line()
        self.assertEqual(srv.rest(), ["User  has joined the chat."])


def raise_fd_limit(need):
    """Raises the soft fd limit to need (children inherit it); skips the test
    when the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise unittest.SkipTest(f"needs {need} fds; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return soft, hard


class ManyClients:
    """n Python clients in the room, driven by one selectors loop: each sends
    its lines and reads everything addressed to it, with bounded waits."""

    def __init__(self, test, port, n, prefix="m"):
        self.test = test
        self.sel = selectors.DefaultSelector()
        test.addCleanup(self.close)
        self.socks, self.bufs, self.lines = [], {}, {}
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLACK)
            s.setblocking(False)
            self.socks.append(s)
            name = f"{prefix}{i:04d}"
            self.bufs[s] = b""
            self.lines[name] = []
            self.sel.register(s, selectors.EVENT_READ, name)
        self.names = list(self.lines)

    def send_all(self, text_of):
        """Sends text_of(name) + newline from every client (small: fits the socket)."""
        for s, name in zip(self.socks, self.names):
            s.sendall((text_of(name) + "\n").encode())

    def pump(self, done, timeout):
        """Reads until done() holds; fails the test after timeout seconds."""
        deadline = time.monotonic() + timeout * SLACK
        while not done():
            left = deadline - time.monotonic()
            self.test.assertGreater(left, 0, "the room did not deliver in time")
            for key, _ in self.sel.select(min(left, 1.0)):
                chunk = key.fileobj.recv(1 << 16)
                self.test.assertTrue(chunk, f"{key.data}: the server closed the connection")
                *lines, self.bufs[key.fileobj] = (self.bufs[key.fileobj] + chunk).split(b"\n")
                self.lines[key.data].extend(lines)

    def close(self):
        for s in self.socks:
            s.close()
        self.sel.close()


class RoomTest(ExampleTest):
    """D15, seed 004: the chat room (the default engine: one thread, nk_selector)."""

    ENGINE = ()

    def room(self, *args):
        return self.server("chat_server", "--mode", "room", *self.ENGINE, *args)

    def test_room_thousand_clients_every_line_once_in_order_per_sender(self):
        n, rounds = 1000, 2
        raise_fd_limit(2 * n + 200)
        srv, port = self.room("--quiet")
        room = ManyClients(self, port, n)
        welcome = WELCOME.encode()
        room.pump(lambda: all(len(l) >= 1 for l in room.lines.values()), timeout=30)
        for name in room.names:
            self.assertEqual(room.lines[name], [welcome])
            room.lines[name].clear()
        room.send_all(lambda name: name)  # everyone's name
        # A join is announced to those already in, so all n are in once the
        # clients have seen n(n-1)/2 join notices between them.
        joins = n * (n - 1) // 2
        room.pump(lambda: sum(len(l) for l in room.lines.values()) >= joins, timeout=30)
        for name in room.names:
            self.assertTrue(all(l.startswith(b"* ") and l.endswith(b" has joined the chat")
                                for l in room.lines[name]), name)
        for j in range(rounds):
            room.send_all(lambda name: f"line {j} of {name}")
        expected = (n - 1) * rounds
        room.pump(lambda: all(count_messages(l) >= expected for l in room.lines.values()),
                  timeout=60)
        for name in room.names:
            got = by_sender(l.decode() for l in room.lines[name] if not l.startswith(b"* "))
            # Every other client's lines arrived exactly once, in order; a line
            # sent before the receiver joined cannot reach it, and here every
            # client joined before any line was sent.
            self.assertEqual(len(got), n - 1, name)
            self.assertNotIn(name, got)
            for sender, texts in got.items():
                self.assertEqual(texts, [f"line {j} of {sender}" for j in range(rounds)],
                                 f"{name} from {sender}")

    def join(self, srv, port, name, **kw):
        c = RoomClient(self, port, name, **kw)
        srv.expect(f"User {name} has joined the chat.")
        return c

    def chat_client(self, srv, port, name):
        p = self.start("chat_client", "--mode", "room", "--host", "127.0.0.1", "--port", port,
                       stdin=subprocess.PIPE)
        self.assertEqual(p.line(), WELCOME)
        p.proc.stdin.write(name + "\n")
        p.proc.stdin.flush()
        srv.expect(f"User {name} has joined the chat.")
        return p

    def test_room_fifty_two_clients_everyone_gets_every_line_once_in_order(self):
        n_py, rounds = 50, 10
        srv, port = self.room("--max-clients", n_py + 2)
        clients = [self.join(srv, port, f"p{i:02d}") for i in range(n_py)]
        procs = [self.chat_client(srv, port, name) for name in ("alice", "bob")]
        names = [c.name for c in clients] + ["alice", "bob"]
        for j in range(rounds):
            for c in clients:
                c.send(f"line {j} of {c.name}")
            for p, name in zip(procs, ("alice", "bob")):
                p.proc.stdin.write(f"line {j} of {name}\n")
                p.proc.stdin.flush()
        expected_count = (len(names) - 1) * rounds
        for i, c in enumerate(clients):
            c.wait(lambda lines: count_messages(lines) >= expected_count, timeout=10)
            got = by_sender(c.messages())
            self.assertEqual(sorted(got), sorted(set(names) - {c.name}))
            for sender, texts in got.items():
                self.assertEqual(texts, [f"line {j} of {sender}" for j in range(rounds)])
            # Joins are announced to those already in the room, in order.
            self.assertEqual(c.notices(), [f"* {n} has joined the chat" for n in names[i + 1:]])
        for k, (p, name) in enumerate(zip(procs, ("alice", "bob"))):
            lines = [p.line(10) for _ in range(expected_count + (1 - k))]
            msgs = [l for l in lines if not l.startswith("* ")]
            got = by_sender(msgs)
            self.assertEqual(sorted(got), sorted(set(names) - {name}))
            for sender, texts in got.items():
                self.assertEqual(texts, [f"line {j} of {sender}" for j in range(rounds)])
            self.assertEqual([l for l in lines if l.startswith("* ")],
                             ["* bob has joined the chat"] if name == "alice" else [])
        # Leaves are announced: the Python clients go, alice and bob see each one.
        for c in clients:
            c.close()
        for p in procs:  # in the order the server noticed them
            self.assertEqual(sorted(p.line() for _ in range(n_py)),
                             [f"* {c.name} has left the chat" for c in clients])
        procs[0].proc.stdin.close()  # alice leaves: Ctrl-D
        self.assertEqual(procs[0].rest(), [])
        self.assertEqual(procs[0].proc.returncode, 0)
        self.assertEqual(procs[1].line(), "* alice has left the chat")
        procs[1].proc.stdin.close()
        self.assertEqual(procs[1].rest(), [])
        self.assertEqual(procs[1].proc.returncode, 0)
        rest = srv.rest()  # every client served: the server ends by itself
        self.assertEqual(srv.proc.returncode, 0)
        self.assertEqual(sorted(l for l in rest if "has left" in l),
                         sorted(f"User {n} has left the chat." for n in names))

    def test_room_slow_client_dropped_others_keep_everything(self):
        srv, port = self.room()  # --max-queue 65536
        a = self.join(srv, port, "a")
        b = self.join(srv, port, "b")
        c = self.join(srv, port, "c")
        slow = self.join(srv, port, "slow", rcvbuf=4096, read=False)
        notice = b"* slow was dropped (not reading)"
        sent = {"a": 0, "b": 0}
        pad = "x" * 150

        # Rounds of 100 lines each (15 KB), then a wait until the readers have
        # them: no reader is ever more than 31 KB behind, half the queue bound.
        def one_round():
            for s in (a, b):
                s.sock.sendall("".join(f"{k} {pad}\n" for k in range(sent[s.name],
                                                                  sent[s.name] + 100)).encode())
                sent[s.name] += 100
            total = sent["a"] + sent["b"]
            c.wait(lambda lines: count_messages(lines) >= total)
            a.wait(lambda lines: count_messages(lines) >= sent["b"])
            b.wait(lambda lines: count_messages(lines) >= sent["a"])

        deadline = time.monotonic() + 10 * SLACK
        while notice not in c.lines:
            self.assertLess(time.monotonic(), deadline, "the slow client was never dropped")
            one_round()
        one_round()  # the room goes on after the drop
        for s in (a, b, c):
            s.wait_line(notice.decode())
        srv.expect("User slow was dropped (not reading).")
        got = by_sender(c.messages())
        self.assertEqual(got, {n: [f"{k} {pad}" for k in range(sent[n])] for n in ("a", "b")})
        self.assertEqual(by_sender(a.messages()), {"b": [f"{k} {pad}" for k in range(sent["b"])]})
        self.assertEqual(by_sender(b.messages()), {"a": [f"{k} {pad}" for k in range(sent["a"])]})
        # The slow client was disconnected: what it reads now ends, in order.
        slow.sock.settimeout(5 * SLACK)
        data = slow.buf
        try:
            while True:
                chunk = slow.sock.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        seen = {"a": 0, "b": 0}
        for line in data.split(b"\n")[:-1]:
            line = line.decode()
            if line.startswith("* "):
                continue
            sender, _, text = line.partition(": ")
            self.assertEqual(text, f"{seen[sender]} {pad}")
            seen[sender] += 1

    def test_room_abrupt_reset_mid_line_does_not_disturb_others(self):
        srv, port = self.room()
        a = self.join(srv, port, "a")
        b = self.join(srv, port, "b")
        x = self.join(srv, port, "x", read=False)
        x.sock.sendall(b"an unfinished li")
        time.sleep(0.05)  # lets the server buffer the unfinished line: the reset comes mid-line
        x.reset()
        srv.expect("User x has left the chat.")
        a.send("still here")
        b.wait_line("a: still here")
        b.send("me too")
        a.wait_line("b: me too")
        self.assertEqual(a.lines, [b"* b has joined the chat", b"* x has joined the chat",
                                   b"* x has left the chat", b"b: me too"])
        self.assertEqual(b.lines, [b"* x has joined the chat", b"* x has left the chat",
                                   b"a: still here"])

    def test_room_last_line_without_newline_is_passed_on_at_close(self):
        srv, port = self.room()
        a = self.join(srv, port, "a")
        y = self.join(srv, port, "y")
        y.sock.sendall(b"bye without newline")
        y.sock.shutdown(socket.SHUT_WR)
        a.wait_line("* y has left the chat")
        self.assertEqual(a.lines, [b"* y has joined the chat", b"y: bye without newline",
                                   b"* y has left the chat"])

    def test_room_client_vanishing_while_flooded_does_not_disturb_others(self):
        srv, port = self.room()
        a = self.join(srv, port, "a")
        b = self.join(srv, port, "b")
        v = self.join(srv, port, "v", read=False)
        for k in range(200):
            a.send(f"{k} " + "y" * 100)
            if k == 100:
                v.reset()
        b.wait(lambda lines: count_messages(lines) >= 200)
        self.assertEqual(b.messages(), [f"a: {k} " + "y" * 100 for k in range(200)])
        b.wait_line("* v has left the chat")
        srv.expect("User v has left the chat.")

    def test_room_over_long_line_is_cut_and_sender_told(self):
        srv, port = self.room("--max-line", 64)
        a = self.join(srv, port, "a")
        b = self.join(srv, port, "b")
        a.send("A" * 200)
        a.send("B" * 64)           # exactly the limit: passed on whole
        a.send("C" * 65 + "\r")    # one byte over (a \r\n line end does not count)
        a.send("D" * 20000)        # longer than netkit's 8 KiB read buffer
        a.send("short")
        b.wait_line("a: short")
        self.assertEqual(b.messages(), ["a: " + "A" * 64, "a: " + "B" * 64, "a: " + "C" * 64,
                                        "a: " + "D" * 64, "a: short"])
        a.wait(lambda lines: len(lines) >= 4)
        self.assertEqual(a.notices(), ["* b has joined the chat"] +
                         ["* your line was cut to 64 bytes"] * 3)

    def test_room_names_default_and_cut(self):
        srv, port = self.room()
        a = self.join(srv, port, "a")
        anon = RoomClient(self, port, "")
        own = "127.0.0.1:%d" % anon.sock.getsockname()[1]
        srv.expect(f"User {own} has joined the chat.")
        a.wait_line(f"* {own} has joined the chat")
        anon.send("hello")
        a.wait_line(f"{own}: hello")
        RoomClient(self, port, "n" * 40)
        a.wait_line(f"* {'n' * 32} has joined the chat")

    def test_room_name_with_nul_bytes_keeps_its_length(self):
        # A NUL in a name is a control character like any other: shown as '?',
        # so a name that starts with one is not taken for an empty name (and
        # the name is not cut at it). Found by fuzz/fuzz_chat.
        srv, port = self.room()
        a = self.join(srv, port, "a")
        nul = RoomClient(self, port, "\x00abc")
        srv.expect("User ?abc has joined the chat.")
        a.wait_line("* ?abc has joined the chat")
        nul.send("hello")
        a.wait_line("?abc: hello")
        RoomClient(self, port, "x\x00yz")
        srv.expect("User x?yz has joined the chat.")
        a.wait_line("* x?yz has joined the chat")

    def test_room_sigterm_and_sigint_stop_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                srv, port = self.room()
                a = self.join(srv, port, "a")
                p = self.chat_client(srv, port, "carol")
                a.wait_line("* carol has joined the chat")
                srv.proc.send_signal(sig)
                # Every connection ends: the readers see the end and leave.
                self.assertEqual(sorted(srv.rest()), ["User a has left the chat.",
                                                      "User carol has left the chat."])
                self.assertEqual(srv.proc.returncode, 0)
                a.wait_eof()
                # The client ends with the server (a may have left first).
                self.assertIn(p.rest(), ([], ["* a has left the chat"]))
                self.assertEqual(p.proc.returncode, 0)
                self.assertIn("chat_client: the server closed the connection", p.err)

    def test_room_client_exits_0_on_eof_before_name(self):
        srv, port = self.room("--max-clients", 1)
        out = self.run_prog("chat_client", "--mode", "room", "--host", "127.0.0.1",
                            "--port", port, input="")
        self.assertEqual((out.returncode, out.stdout, out.stderr), (0, WELCOME + "\n", ""))
        rest = srv.rest()  # nobody joined; the one client was served
        self.assertEqual(len(rest), 1)
        self.assertRegex(rest[0], f"^Connected by {TUPLE}$")
        self.assertEqual(srv.proc.returncode, 0)


class ErrorsTest(ExampleTest):
    def test_client_connection_refused(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        for mode in ("one", "named", "room"):
            out = self.run_prog("chat_client", "--mode", mode, "--host", "127.0.0.1",
                                "--port", port, input="")
            self.assertEqual((out.returncode, out.stdout, out.stderr),
                             (1, "", "chat_client: [Errno 111] Connection refused\n"))

    def test_server_address_in_use(self):
        srv, port = self.server("chat_server", "--mode", "room")
        out = self.run_prog("chat_server", "--mode", "room", "--port", port)
        self.assertEqual((out.returncode, out.stdout),
                         (1, ""))
        self.assertEqual(out.stderr, "chat_server: [Errno 98] Address already in use\n")

    def test_bad_usage(self):
        for prog, args in (("chat_server", ["--mode", "group"]), ("chat_server", ["--port", "x"]),
                           ("chat_server", ["--max-queue", "0"]), ("chat_client", ["--mode", "x"]),
                           ("chat_client", ["extra"])):
            out = self.run_prog(prog, *args)
            self.assertEqual(out.returncode, 2, (prog, args))
            self.assertTrue(out.stderr.startswith(f"{prog}: "), out.stderr)
        for prog in ("chat_server", "chat_client"):
            out = self.run_prog(prog, "--help")
            self.assertEqual(out.returncode, 0)
            self.assertIn("--mode one|named|room", out.stdout)


if __name__ == "__main__":
    unittest.main()


class RoomChurnTest(ExampleTest):
    """10,000 connections come and go: the selector room's fds and memory stay flat."""

    def test_room_ten_thousand_connect_disconnect_cycles_no_fd_or_memory_leak(self):
        srv, port = self.server("chat_server", "--mode", "room", "--quiet")
        fd_dir = f"/proc/{srv.proc.pid}/fd"

        def status():
            with open(f"/proc/{srv.proc.pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            return len(os.listdir(fd_dir)), rss

        def cycles(count):
            for i in range(count):
                with socket.create_connection(("127.0.0.1", port), timeout=5 * SLACK) as s:
                    # The welcome says the room accepted this one: at most a few
                    # connections are open at once however slow the machine is,
                    # so the peak (and with it RSS) does not depend on the load.
                    self.assertEqual(s.recv(100), (WELCOME + "\n").encode())
                    if i % 2:
                        s.sendall(b"churn%d\nhello\n" % i)  # joins, speaks, leaves
                    # else: leaves before giving a name

        def settled(base_fds):
            # Connections are accepted in order: once a probe gets its welcome,
            # every earlier one was accepted; then wait for their ends.
            with socket.create_connection(("127.0.0.1", port), timeout=10 * SLACK) as probe:
                self.assertEqual(probe.recv(100), (WELCOME + "\n").encode())
            deadline = time.monotonic() + 5 * SLACK
            while True:
                fds, rss = status()
                if fds <= base_fds or time.monotonic() > deadline:
                    return fds, rss
                time.sleep(0.05)

        idle_fds = len(os.listdir(fd_dir))  # the server alone: no connection open
        cycles(1000)  # warm up: the tables grow once
        base_fds, base_rss = settled(idle_fds)
        cycles(9000)
        fds, rss = settled(base_fds)
        # The base may still count a warm-up connection closing under load: a
        # leak shows as more fds (thousands after 9000 cycles), never fewer.
        self.assertLessEqual(fds, base_fds, "the room leaks fds")
        if SANITIZER:
            # ASan's quarantine and TSan's shadow and history memory grow RSS by
            # design; the plain run checks it (and LeakSanitizer leaks, in ASan's).
            raise unittest.SkipTest(f"fds checked; RSS not comparable under {SANITIZER}")
        # Allocator noise stays far below a leak of even 100 bytes per cycle (880 KiB).
        self.assertLess(rss - base_rss, 512, f"RSS grew from {base_rss} to {rss} KiB")


class RoomThreadsTest(RoomTest):
    """The same room tests against the thread-per-client engine (--engine threads)."""

    ENGINE = ("--engine", "threads")

    def test_room_thousand_clients_every_line_once_in_order_per_sender(self):
        raise unittest.SkipTest("2,000 threads: the thousand-client test runs the selector engine")
