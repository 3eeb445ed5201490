"""The example programs under malformed and hostile input.

chat_server --mode room, both engines (selector and threads): lines longer
than --max-line, NUL bytes, invalid UTF-8, CR-only and CRLF endings, empty,
huge and binary names, and floods from a client that never reads (megabytes
of lines, one endless line, over-long lines). While it runs, the server's
VmRSS is sampled from /proc: it must stay under 64 MiB; the other clients
must keep receiving each other's lines in order and complete; the flooder
is relayed, cut or dropped as the server's protocol comment says.

http_get against a hostile HTTP server on 127.0.0.1: an endless status or
header line, endless headers, interim responses or trailers, chunk sizes
that overflow, bad Content-Lengths, a body shorter than announced, a body
that never ends (fast or one byte at a time), NUL bytes and control
characters, a server that never answers. http_get must exit 1 with its
message within bounded time, and its peak RSS (VmHWM, sampled from /proc;
RLIMIT_AS of 256 MiB makes a burst between samples fail it) must stay under
64 MiB; a signal exit fails the test.
"""
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import SANITIZER, SLACK, ExampleTest, program

RSS_LIMIT_KIB = 64 * 1024
WELCOME = b"Welcome to the chat room! Enter your name:"
MEASURED = []  # (what, figure) for the summary printed at the end


def note(what, figure):
    MEASURED.append((what, figure))


class Peer:
    """A raw client of the room: sends bytes; unless read=False a thread
    collects every line it receives (bytes without the newline)."""

    def __init__(self, test, port, name, read=True, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        test.addCleanup(self.close)
        self.sock.settimeout(10 * SLACK)
        self.sock.connect(("127.0.0.1", port))
        buf = b""
        while b"\n" not in buf:
            chunk = self.sock.recv(4096)
            test.assertTrue(chunk, "the server closed before its welcome")
            buf += chunk
        welcome, _, self.rest = buf.partition(b"\n")
        test.assertEqual(welcome, WELCOME)
        self.lines, self.eof = [], False
        self.counts = {}  # sender -> lines received from it
        self.cv = threading.Condition()
        if read:
            self.sock.settimeout(None)
            threading.Thread(target=self._read, daemon=True).start()
        if name is not None:
            self.sock.sendall(name + b"\n")

    def _read(self):
        buf = self.rest
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    break
                *lines, buf = (buf + chunk).split(b"\n")
                with self.cv:
                    self.lines.extend(lines)
                    for line in lines:
                        sender = line.partition(b": ")[0]
                        self.counts[sender] = self.counts.get(sender, 0) + 1
                    self.cv.notify_all()
        except OSError:
            pass
        with self.cv:
            self.eof = True
            self.cv.notify_all()

    def send(self, data):
        self.sock.sendall(data)

    def wait_line(self, line, timeout=10.0):
        self.wait(lambda lines: line in lines, timeout, f"the line {line[:80]!r}")

    def wait(self, pred, timeout=10.0, what="a condition"):
        with self.cv:
            if not self.cv.wait_for(lambda: pred(self.lines) or self.eof, timeout * SLACK) \
                    or not pred(self.lines):
                raise AssertionError(f"{what} never came; eof={self.eof}, "
                                     f"last lines {[l[:60] for l in self.lines[-4:]]!r}")

    def from_(self, sender):
        """The messages received from sender, without its 'sender: ' prefix."""
        prefix = sender + b": "
        with self.cv:
            return [l[len(prefix):] for l in self.lines if l.startswith(prefix)]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class RssMonitor:
    """Samples VmRSS of a process every 10 ms until stopped; .peak in KiB."""

    def __init__(self, test, pid):
        self.pid, self.peak, self.running = pid, 0, True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    def _sample(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self):
        while self.running:
            self.peak = max(self.peak, self._sample())
            time.sleep(0.01)

    def stop(self):
        self.running = False
        self.thread.join(5)
        return self.peak


class HostileRoomTest(ExampleTest):
    """The selector engine (the default)."""

    ENGINE = ()
    NAME = "selector"

    def room(self, *args):
        srv, port = self.server("chat_server", "--mode", "room", "--quiet", *self.ENGINE, *args)
        self.rss = RssMonitor(self, srv.proc.pid)
        self.srv = srv
        return port

    def join(self, port, name, *others, **kw):
        """A client named name, once every one of others has seen it join.
        With no others (the first client), once it is in the room: a probe
        client joins until the new one sees it (the threads engine reads each
        client's name in its own thread, so a client connected first may join
        second, and would miss the join notice of the next one)."""
        p = Peer(self, port, name, **kw)
        for o in others:
            o.wait_line(b"* " + name + b" has joined the chat")
        if not others and kw.get("read", True):
            for k in range(50):
                probe_name = b"probe%d" % k
                probe = Peer(self, port, probe_name)
                try:
                    p.wait_line(b"* " + probe_name + b" has joined the chat", timeout=0.2)
                    break
                except AssertionError:
                    continue
                finally:
                    probe.close()
            else:
                self.fail(f"{name!r} never joined the room")
        return p

    def check_server_bounded(self, what):
        peak = self.rss.stop()
        self.assertGreater(peak, 0, "VmRSS was never read")
        if not SANITIZER:  # the plain run checks the bound; shadow memory is not comparable
            self.assertLess(peak, RSS_LIMIT_KIB, f"{what}: server VmRSS {peak} KiB")
        self.assertIsNone(self.srv.proc.poll(), f"the server exited: {self.srv.err!r}")
        note(f"chat_server {self.NAME}, {what}: peak VmRSS", f"{peak} KiB")

    def chat_both_ways(self, a, b, count, tag):
        """a and b each send count numbered lines; each gets the other's, in order."""
        for i in range(count):
            a.send(b"%s a %d\n" % (tag, i))
            b.send(b"%s b %d\n" % (tag, i))
        want_a = [b"%s a %d" % (tag, i) for i in range(count)]
        want_b = [b"%s b %d" % (tag, i) for i in range(count)]
        b.wait(lambda _: [m for m in b.from_(b"a") if m.startswith(tag)] == want_a, 30,
               f"a's {count} {tag!r} lines at b")
        a.wait(lambda _: [m for m in a.from_(b"b") if m.startswith(tag)] == want_b, 30,
               f"b's {count} {tag!r} lines at a")

    # ---- lines --------------------------------------------------------------------

    def test_odd_bytes_and_line_endings_pass_through_exactly(self):
        port = self.room()
        a = self.join(port, b"a")
        b = self.join(port, b"b", a)
        sent = [b"with\x00nul\x00bytes\n", b"\xff\xfe\xc0\xaf invalid utf-8 \xed\xa0\x80\n",
                b"crlf\r\n", b"cr\ronly\r", b"then a newline\n", b"two crs\r\r\n",
                b"\r\n", b"\n", b"\x1b[2J\x07 escapes\n", b"last\n"]
        for chunk in sent:
            a.send(chunk)
        b.wait_line(b"a: last")
        self.assertEqual(b.from_(b"a"), [b"with\x00nul\x00bytes",
                                         b"\xff\xfe\xc0\xaf invalid utf-8 \xed\xa0\x80",
                                         b"crlf", b"cr\ronly\rthen a newline", b"two crs\r",
                                         b"\x1b[2J\x07 escapes", b"last"])
        self.check_server_bounded("odd bytes")

    def test_over_long_lines_are_cut_and_the_sender_told(self):
        port = self.room("--max-line", 64)
        a = self.join(port, b"a")
        b = self.join(port, b"b", a)
        a.send(b"x" * 10000 + b"\n")          # longer than the limit
        a.send(b"y" * (1 << 20))                # a megabyte without a newline...
        a.send(b"\n" + b"z" * 64 + b"\n")        # ...ended; then exactly the limit
        a.send(b"\x00" * 100 + b"\n")            # long and binary
        a.send(b"end\n")
        b.wait_line(b"a: end")
        self.assertEqual(b.from_(b"a"), [b"x" * 64, b"y" * 64, b"z" * 64, b"\x00" * 64, b"end"])
        a.wait(lambda lines: lines.count(b"* your line was cut to 64 bytes") == 3, 10,
               "three cut notices")
        self.check_server_bounded("over-long lines")

    # ---- names --------------------------------------------------------------------

    def test_empty_huge_and_binary_names(self):
        port = self.room()
        a = self.join(port, b"a")
        anon = Peer(self, port, b"")
        own = b"127.0.0.1:%d" % anon.sock.getsockname()[1]
        a.wait_line(b"* " + own + b" has joined the chat")
        crlf = Peer(self, port, b"\r")  # a name of just "\r" is empty too
        a.wait_line(b"* 127.0.0.1:%d has joined the chat" % crlf.sock.getsockname()[1])
        huge = Peer(self, port, None)
        huge.send(b"n" * 100000 + b"\n")
        a.wait_line(b"* " + b"n" * 32 + b" has joined the chat")
        Peer(self, port, b"\x00\x01ev\x1b[31mil\r\x7f\xff")
        a.wait_line(b"* ??ev?[31mil??\xff has joined the chat")
        Peer(self, port, "a".encode() + "\u00e9".encode() * 20)  # 41 bytes of UTF-8
        a.wait_line(b"* a" + "\u00e9".encode() * 15 + b" has joined the chat")  # not cut mid-character
        Peer(self, port, b"\x00" * 5000)
        a.wait_line(b"* " + b"?" * 32 + b" has joined the chat")
        anon.send(b"hello\n")
        a.wait_line(own + b": hello")
        self.check_server_bounded("hostile names")

    # ---- floods from a client that never reads ------------------------------------

    def test_flood_of_lines_is_relayed_whole_and_others_keep_chatting(self):
        port = self.room()
        a = self.join(port, b"a")
        b = self.join(port, b"b", a)
        f = self.join(port, b"f", a, b, read=False)
        pad = b"p" * 90
        count = 40000  # about 4 MB
        flood = b"".join(b"%d %s\n" % (i, pad) for i in range(count))
        flooder = threading.Thread(target=f.send, args=(flood,), daemon=True)
        start = time.monotonic()
        flooder.start()
        self.chat_both_ways(a, b, 50, b"during")
        flooder.join(60 * SLACK)
        self.assertFalse(flooder.is_alive(), "the flooder could not send its 4 MB")
        want = [b"%d %s" % (i, pad) for i in range(count)]
        for peer in (a, b):
            peer.wait(lambda _: peer.counts.get(b"f", 0) >= count, 60, "the whole flood")
            self.assertEqual(peer.from_(b"f"), want)  # every line, complete, in order
        note(f"chat_server {self.NAME}, 4 MB line flood relayed to 2 readers in",
             f"{time.monotonic() - start:.2f} s")
        self.chat_both_ways(a, b, 10, b"after")
        self.assertFalse(any(l.startswith(b"* f was dropped") for l in a.lines))
        self.check_server_bounded("4 MB flood of lines")

    def test_flood_of_one_endless_line_is_cut_once(self):
        port = self.room()
        a = self.join(port, b"a")
        b = self.join(port, b"b", a)
        f = self.join(port, b"f", a, b, read=False)

        def endless():
            block = bytes(range(256)).replace(b"\n", b"") * 256  # 65 KB, no newline
            try:
                for _ in range(128):  # 8 MB
                    f.send(block)
            except OSError:
                pass
        flooder = threading.Thread(target=endless, daemon=True)
        flooder.start()
        self.chat_both_ways(a, b, 50, b"during")
        flooder.join(60 * SLACK)
        self.assertFalse(flooder.is_alive())
        f.send(b"\nafterwards\n")
        a.wait_line(b"f: afterwards")
        b.wait_line(b"f: afterwards")
        first = (bytes(range(256)).replace(b"\n", b"") * 8)[:1024]
        self.assertEqual(a.from_(b"f"), [first, b"afterwards"])
        self.assertEqual(b.from_(b"f"), [first, b"afterwards"])
        self.check_server_bounded("8 MB endless line")

    def test_flood_of_over_long_lines_is_cut_line_by_line(self):
        port = self.room()
        a = self.join(port, b"a")
        b = self.join(port, b"b", a)
        f = self.join(port, b"f", a, b, read=False)
        count = 2000  # 4 MB, every line twice the limit

        def flood():
            for i in range(count):
                f.send(b"%06d" % i + b"L" * 1994 + b"\n")
        flooder = threading.Thread(target=flood, daemon=True)
        start = time.monotonic()
        flooder.start()
        self.chat_both_ways(a, b, 20, b"during")
        flooder.join(60 * SLACK)
        self.assertFalse(flooder.is_alive(), "the flooder could not send its 4 MB")
        want = [b"%06d" % i + b"L" * 1018 for i in range(count)]
        for peer in (a, b):  # each line cut to 1024 bytes, every one, in order
            peer.wait(lambda _: peer.counts.get(b"f", 0) >= count, 60, "the whole cut flood")
            self.assertEqual(peer.from_(b"f"), want)
        note(f"chat_server {self.NAME}, 2000 over-long lines (4 MB) cut and relayed in",
             f"{time.monotonic() - start:.2f} s")
        # The flooder, which read nothing, was told once per line (and not dropped:
        # the notices fit in what the kernel buffers for it).
        f.sock.settimeout(10 * SLACK)
        data, cut = f.rest, b"* your line was cut to 1024 bytes\n"
        while data.count(cut) < count:
            chunk = f.sock.recv(1 << 16)
            self.assertTrue(chunk, "the flooder's connection ended")
            data += chunk
        self.assertEqual(data.count(cut), count)
        self.assertNotIn(b"* f was dropped (not reading)", a.lines)
        self.chat_both_ways(a, b, 10, b"after")
        self.check_server_bounded("flood of over-long lines")

    def test_binary_garbage_then_reset(self):
        port = self.room()
        a = self.join(port, b"a")
        b = self.join(port, b"b", a)
        g = self.join(port, b"g", a, b, read=False)
        garbage = os.urandom(1 << 20)
        g.send(garbage)
        g.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        g.sock.close()  # RST
        a.wait_line(b"* g has left the chat", 30)
        self.chat_both_ways(a, b, 10, b"after")
        # Whatever of the garbage was relayed is lines of it as the protocol
        # passes them on: one "\r" before the newline left out, cut to 1024
        # bytes; the last may be the start of a line the reset cut short.
        pieces = set()
        for p in garbage.split(b"\n"):
            pieces.add(p[:1024])
            pieces.add((p[:-1] if p.endswith(b"\r") else p)[:1024])
        relayed = a.from_(b"g")
        for k, line in enumerate(relayed):
            last_started = k == len(relayed) - 1 and b"\n" + line in b"\n" + garbage
            self.assertTrue(line in pieces or last_started,
                            f"relayed {line[:40]!r}... ({len(line)} bytes) is not a line of "
                            "what was sent")
        note(f"chat_server {self.NAME}, 1 MB of random bytes: lines relayed before the reset",
             len(relayed))
        self.check_server_bounded("1 MB of random bytes then a reset")


class ThreadsHostileRoomTest(HostileRoomTest):
    """The thread-per-client engine."""

    ENGINE = ("--engine", "threads")
    NAME = "threads"


# ---- http_get ----------------------------------------------------------------------

class HostileHttpServer:
    """One connection on 127.0.0.1, port 0: reads the request head, then runs
    reply(conn, stop). Replies that never end stop on an error (the client
    left), on stop (the test's cleanup) or after 20 s."""

    def __init__(self, test, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(reply,), daemon=True)
        self.thread.start()
        test.addCleanup(self.close)

    def _run(self, reply):
        deadline = time.monotonic() + 20 * SLACK
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10 * SLACK)
                head = b""
                try:
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    reply(conn, self.stop)
                except OSError:
                    pass
            return

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def send(data):
    return lambda conn, stop: conn.sendall(data)


def endless(prefix, unit, limit=64 << 20):
    """prefix, then unit again and again (at most limit bytes or 20 s)."""
    def reply(conn, stop):
        conn.sendall(prefix)
        sent, end = 0, time.monotonic() + 20 * SLACK
        while sent < limit and not stop.is_set() and time.monotonic() < end:
            conn.sendall(unit)
            sent += len(unit)
    return reply


def trickle(prefix, byte=b"x", interval=0.05):
    """prefix, then one byte every interval (for at most 20 s)."""
    def reply(conn, stop):
        conn.sendall(prefix)
        end = time.monotonic() + 20 * SLACK
        while not stop.wait(interval) and time.monotonic() < end:
            conn.sendall(byte)
    return reply


def silent(conn, stop):
    stop.wait(20 * SLACK)


OK_HEAD = b"HTTP/1.1 200 OK\r\n"
CHUNKED = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"

# (name, reply, extra arguments, the exact stderr, time bound in seconds)
HTTP_CASES = [
    ("endless status line", endless(b"HTTP/1.1 200 ", b"O" * 4096), [],
     "a line of the response is longer than 8192 bytes (--max-line)", 5),
    ("endless header line", endless(OK_HEAD + b"X-Long: ", b"a" * 4096), [],
     "a line of the response is longer than 8192 bytes (--max-line)", 5),
    ("endless CR-only header line", endless(OK_HEAD + b"X: ", b"a\r" * 2048), [],
     "a line of the response is longer than 8192 bytes (--max-line)", 5),
    ("endless headers", endless(OK_HEAD, b"X-Again: 1\r\n" * 100), [],
     "more than 100 header lines (--max-headers)", 5),
    ("endless interim responses", endless(b"", b"HTTP/1.1 100 Continue\r\n\r\n"), [],
     "more than 5 interim (1xx) responses", 5),
    ("endless trailers", endless(CHUNKED + b"2\r\nok\r\n0\r\n", b"X-Trailer: 1\r\n" * 100), [],
     "more than 100 header lines (--max-headers)", 5),
    ("chunk size of 18 f's", send(CHUNKED + b"ffffffffffffffffff\r\nx\r\n"), [],
     "chunk size ffffffffffffffffff overflows", 5),
    ("chunk size of 40 digits", send(CHUNKED + b"1" * 40 + b"\r\n"), [],
     "chunk size " + "1" * 40 + " overflows", 5),
    ("chunk size SIZE_MAX", send(CHUNKED + b"ffffffffffffffff\r\nx\r\n"), [],
     "the body is larger than 10485760 bytes (--max-body)", 5),
    ("negative chunk size", send(CHUNKED + b"-5\r\nabcde\r\n"), [],
     "bad chunk size line: -5", 5),
    ("negative Content-Length", send(OK_HEAD + b"Content-Length: -1\r\n\r\nx"), [],
     "bad Content-Length: -1", 5),
    ("garbage Content-Length", send(OK_HEAD + b"Content-Length: 12ab\x1b[2J\r\n\r\nx"), [],
     "bad Content-Length: 12ab?[2J", 5),
    ("Content-Length of 30 digits", send(OK_HEAD + b"Content-Length: " + b"9" * 30 +
                                         b"\r\n\r\n"), [],
     "bad Content-Length: " + "9" * 30, 5),
    ("Content-Length beyond --max-body", send(OK_HEAD + b"Content-Length: 10485761\r\n\r\n"),
     [], "the body is larger than 10485760 bytes (--max-body)", 5),
    ("Content-Length larger than what is sent, then close",
     send(OK_HEAD + b"Content-Length: 1000\r\n\r\n0123456789"), [],
     "connection closed 990 bytes before the end of the body", 5),
    ("body that never ends", endless(OK_HEAD + b"\r\n", b"b" * 65536), [],
     "the body is larger than 10485760 bytes (--max-body)", 15),
    ("chunked body that never ends", endless(CHUNKED, b"1000\r\n" + b"c" * 4096 + b"\r\n"), [],
     "the body is larger than 10485760 bytes (--max-body)", 15),
    ("body of one byte every 50 ms", trickle(OK_HEAD + b"\r\n"),
     ["--timeout", "5", "--max-time", "1"], "no complete response within 1 s (--max-time)", 4),
    ("header line of one byte every 50 ms", trickle(OK_HEAD + b"X-Slow: "),
     ["--timeout", "5", "--max-time", "1"], "no complete response within 1 s (--max-time)", 4),
    ("a server that never answers", silent, ["--timeout", "0.5"], "timed out", 4),
    ("NUL in the status line", send(b"HTTP/1.1 200\x00 OK\r\n\r\n"), [],
     "a line of the response holds a NUL byte", 5),
    ("NUL in a header", send(OK_HEAD + b"Content-Length: 5\x00junk\r\n\r\n12345"), [],
     "a line of the response holds a NUL byte", 5),
    ("NUL in a chunk size line", send(CHUNKED + b"5\x00\r\nabcde\r\n0\r\n\r\n"), [],
     "a line of the response holds a NUL byte", 5),
    ("binary status line", send(bytes(range(1, 256)).replace(b"\n", b"") + b"\r\n\r\n"), [],
     "malformed status line: " + "?" * 30 + "".join(map(chr, range(32, 82))), 5),
    ("escape sequences in a header name", send(OK_HEAD + b"\x1b]0;pwned\x07\r\n\r\n"), [],
     "malformed header line: ?]0;pwned?", 5),
]


def vm_hwm(pid):
    """VmHWM (peak RSS of the running program, KiB) from /proc, or 0."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


AS_LIMIT = 256 << 20  # address space given to http_get: far above what it needs


def _limit_address_space():
    # Not under a sanitizer: ASan and TSan reserve terabytes of address space
    # for their shadow memory at start (TSan dies of a CHECK under the limit).
    if not SANITIZER:
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def run_measured(argv, timeout):
    """Runs argv; returns (exit code, stdout, stderr, peak RSS in KiB,
    seconds). The peak is VmHWM sampled from /proc every 2 ms while it runs
    (wait4's ru_maxrss would also count the forked test process, hundreds of
    MiB late in a run). A burst between two samples cannot pass unseen: the
    program runs with RLIMIT_AS of 256 MiB, so holding more fails it with
    an out-of-memory message, which the caller's check on stderr rejects.
    A child still running after timeout is killed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                preexec_fn=_limit_address_space)
        peak = 0
        while True:
            peak = max(peak, vm_hwm(proc.pid))
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() - start > timeout:
                proc.kill()
                pid, status, _ = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        elapsed = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read().decode(errors="replace"), peak, elapsed


class HostileHttpGetTest(ExampleTest):
    def test_hostile_responses(self):
        http_get = program("http_get")
        for name, reply, args, message, bound in HTTP_CASES:
            with self.subTest(case=name):
                srv = HostileHttpServer(self, reply)
                rc, out, err, rss, took = run_measured(
                    [http_get, *args, f"http://127.0.0.1:{srv.port}/"], 30 * SLACK)
                self.assertGreaterEqual(rc, 0, f"killed by signal {-rc}: {err!r}")
                self.assertEqual(rc, 1, f"stderr {err!r}")
                self.assertEqual(err, f"http_get: {message}\n")
                self.assertLess(took, bound * SLACK)
                if not SANITIZER:  # shadow memory and quarantine: not comparable there
                    self.assertLess(rss, RSS_LIMIT_KIB)
                note(f"http_get, {name}", f"{took:.2f} s, peak RSS {rss} KiB")
                srv.close()

    def test_raw_mode_against_a_silent_server(self):
        for args, message in ((["--timeout", "0.3"], "timed out"),
                              (["--timeout", "5", "--max-time", "0.3"],
                               "no complete response within 0.3 s (--max-time)")):
            with self.subTest(args=args):
                srv = HostileHttpServer(self, silent)
                rc, out, err, rss, took = run_measured(
                    [program("http_get"), "--raw", *args, "127.0.0.1", str(srv.port)], 30 * SLACK)
                self.assertGreaterEqual(rc, 0, f"killed by signal {-rc}: {err!r}")
                self.assertEqual((rc, err), (1, f"http_get: {message}\n"))
                self.assertLess(took, 3 * SLACK)
                if not SANITIZER:
                    self.assertLess(rss, RSS_LIMIT_KIB)
                srv.close()


def tearDownModule():
    if MEASURED:
        width = max(len(what) for what, _ in MEASURED)
        print("\nhostile examples, measured:", file=sys.stderr)
        for what, figure in MEASURED:
            print(f"  {what:<{width}}  {figure}", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
