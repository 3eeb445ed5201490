"""Smoke tests of examples/python/: each server on 127.0.0.1 port 0 with its
client, checking the tutorials' exact strings. Every process is stopped at
cleanup and every wait is bounded."""
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import unittest

from nk_support import ROOT, SLACK, has_ipv6

EXAMPLES = os.path.join(ROOT, "examples", "python")
LISTENING = re.compile(r"^listening on (\[?[0-9a-fA-F.:]+\]?):(\d+)$")
PEER = r"\('127\.0\.0\.1', \d+\)"


class Program:
    """A running example; its stdout lines are queued as they arrive."""

    def __init__(self, test, name, *args, stdin=subprocess.DEVNULL):
        self.name = name
        # Python leaves SIGINT ignored when it starts ignored (a background
        # job of a shell): give the example Python's usual Ctrl-C handler.
        start = ("import runpy, signal, sys; "
                 "signal.signal(signal.SIGINT, signal.default_int_handler); "
                 "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")
        self.proc = subprocess.Popen([sys.executable, "-c", start,
                                      os.path.join(EXAMPLES, name), *args],
                                     stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     start_new_session=True)
        test.addCleanup(self.stop)
        self.lines = queue.Queue()
        self.seen = []
        self.stderr = []
        self.pumps = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put)),
                      threading.Thread(target=self._pump, args=(self.proc.stderr,
                                                                self.stderr.append))]
        for t in self.pumps:
            t.daemon = True
            t.start()

    @staticmethod
    def _pump(stream, put):
        for line in stream:
            put(line.rstrip("\n"))
        put(None)

    def line(self, timeout=5.0):
        try:
            line = self.lines.get(timeout=timeout * SLACK)
        except queue.Empty:
            raise AssertionError(f"{self.name}: no line within {timeout} s; seen {self.seen!r}, "
                                 f"stderr {self.stderr!r}") from None
        if line is not None:
            self.seen.append(line)
        return line

    def port(self):
        line = self.line()
        m = LISTENING.match(line or "")
        if not m:
            raise AssertionError(f"{self.name}: expected 'listening on HOST:PORT', got {line!r}; "
                                 f"stderr {self.stderr!r}")
        return int(m.group(2))

    def until(self, text, timeout=5.0):
        """Reads lines until one equals text."""
        while True:
            line = self.line(timeout)
            if line == text:
                return
            if line is None:
                raise AssertionError(f"{self.name} ended before {text!r}; seen {self.seen!r}, "
                                     f"stderr {self.stderr!r}")

    def rest(self, timeout=10.0):
        """Every remaining stdout line, once the program has exited."""
        out = []
        while True:
            line = self.line(timeout)
            if line is None:
                return out
            out.append(line)

    def wait(self, timeout=10.0):
        try:
            code = self.proc.wait(timeout * SLACK)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout} s; seen "
                                 f"{self.seen!r}") from None
        for t in self.pumps:
            t.join(timeout * SLACK)
        return code

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        for t in self.pumps:
            t.join(10)
        for stream in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            if stream is not None:
                stream.close()


class TestExamples(unittest.TestCase):

    def run_client(self, name, *args, stdin=None):
        result = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args],
                                input=stdin, capture_output=True, text=True, timeout=20 * SLACK)
        return result.returncode, result.stdout.splitlines(), result.stderr

    def assertLines(self, lines, patterns):
        self.assertEqual(len(lines), len(patterns), lines)
        for line, pattern in zip(lines, patterns):
            self.assertRegex(line, "^" + pattern + "$")

    def test_d2_echo(self):
        server = Program(self, "echo_server.py", "--style", "d2", "--host", "127.0.0.1",
                         "--port", "0", "--max-clients", "1")
        port = server.port()
        code, out, err = self.run_client("echo_client.py", "--style", "d2", "--host",
                                         "127.0.0.1", "--port", str(port))
        self.assertEqual(code, 0, err)
        self.assertEqual(out, [f"Connecting to 127.0.0.1 port {port}", "Sending: Hello, Server!",
                               "Received: Hello, Server!", "Closing socket"])
        self.assertEqual(server.wait(), 0)
        self.assertLines(server.rest(), [
            r"Starting server on 127\.0\.0\.1 port 0", "Waiting for a connection",
            f"Connection from {PEER}", "Received: Hello, Server!", f"No more data from {PEER}"])

    def test_d4_echo(self):
        server = Program(self, "echo_server.py", "--host", "127.0.0.1", "--port", "0",
                         "--max-clients", "1")
        port = server.port()
        code, out, err = self.run_client("echo_client.py", "--host", "127.0.0.1",
                                         "--port", str(port))
        self.assertEqual(code, 0, err)
        self.assertEqual(out, [f"Connecting to 127.0.0.1 port {port}",
                               "Sending b'This is the message. It will be repeated.'",
                               "Received b'This is the mess'", "Received b'age. It will be '",
                               "Received b'repeated.'", "Closing socket"])
        self.assertEqual(server.wait(), 0)
        self.assertLines(server.rest(), [
            r"Starting up on 127\.0\.0\.1 port 0", "Waiting for a connection",
            f"Connection from {PEER}",
            re.escape("Received b'This is the mess'"), "Sending data back to the client",
            re.escape("Received b'age. It will be '"), "Sending data back to the client",
            re.escape("Received b'repeated.'"), "Sending data back to the client",
            re.escape("Received b''"), f"No more data from {PEER}"])

    def test_d5_udp_echo(self):
        server = Program(self, "udp_echo_server.py", "--host", "127.0.0.1", "--port", "0",
                         "--max-clients", "1")
        port = server.port()
        code, out, err = self.run_client("udp_echo_client.py", "--host", "127.0.0.1",
                                         "--port", str(port))
        self.assertEqual(code, 0, err)
        self.assertEqual(out, ["Sending b'This is the message. It will be repeated.'",
                               "Waiting for a response",
                               "Received b'This is the message. It will be repeated.'",
                               "Closing socket"])
        self.assertEqual(server.wait(), 0)
        self.assertLines(server.rest(), [
            r"Starting up on 127\.0\.0\.1 port 0", "Waiting for a message",
            f"Received 41 bytes from {PEER}",
            re.escape("b'This is the message. It will be repeated.'"),
            f"Sent 41 bytes back to {PEER}"])

    def test_d5_udp_client_without_server_times_out(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))  # receives, never answers
            code, out, err = self.run_client("udp_echo_client.py", "--host", "127.0.0.1",
                                             "--port", str(silent.getsockname()[1]),
                                             "--timeout", "0.2")
        self.assertEqual(code, 1)
        self.assertEqual(out[-1], "Closing socket")
        self.assertEqual(err, "udp_echo_client: timed out\n")

    def test_d5_udp_client_retries(self):
        # A server that drops the first two datagrams, then answers: the
        # client tries again after each timeout, as --retries allows.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as lossy:
            lossy.bind(("127.0.0.1", 0))
            lossy.settimeout(20 * SLACK)
            got = []

            def serve():
                try:
                    for _ in range(3):
                        data, peer = lossy.recvfrom(4096)
                        got.append(data)
                    lossy.sendto(data, peer)
                except OSError:
                    pass
            t = threading.Thread(target=serve, daemon=True)
            t.start()
            code, out, err = self.run_client("udp_echo_client.py", "--host", "127.0.0.1",
                                             "--port", str(lossy.getsockname()[1]),
                                             "--timeout", "0.3", "--retries", "4")
            t.join(20 * SLACK)
        one_try = ["Sending b'This is the message. It will be repeated.'",
                   "Waiting for a response"]
        self.assertEqual(code, 0, err)
        self.assertEqual(out, one_try + ["Timed out, retry 1 of 4"] + one_try +
                         ["Timed out, retry 2 of 4"] + one_try +
                         ["Received b'This is the message. It will be repeated.'",
                          "Closing socket"])
        self.assertEqual(len(got), 3)

    def test_d5_udp_client_gives_up_after_its_retries(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))  # receives, never answers
            code, out, err = self.run_client("udp_echo_client.py", "--host", "127.0.0.1",
                                             "--port", str(silent.getsockname()[1]),
                                             "--timeout", "0.2", "--retries", "2")
        self.assertEqual(code, 1)
        self.assertEqual([x for x in out if x.startswith("Timed out")],
                         ["Timed out, retry 1 of 2", "Timed out, retry 2 of 2"])
        self.assertEqual(out[-1], "Closing socket")
        self.assertEqual(err, "udp_echo_client: timed out\n")
        code, _, err = self.run_client("udp_echo_client.py", "--retries", "-1")
        self.assertEqual(code, 2)
        self.assertIn("bad --retries (0..1000): '-1'", err)

    def test_d6_threaded_echo(self):
        server = Program(self, "echo_server.py", "--threads", "--host", "127.0.0.1", "--port",
                         "0", "--max-clients", "2")
        port = server.port()
        self.assertEqual(server.line(), "Waiting for a connection")
        clients = [subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "echo_client.py"),
                                     "--host", "127.0.0.1", "--port", str(port)],
                                    stdout=subprocess.PIPE, text=True) for _ in range(2)]
        for c in clients:
            out, _ = c.communicate(timeout=20 * SLACK)
            self.assertEqual(c.returncode, 0)
            self.assertIn("Received b'repeated.'", out.splitlines())
        self.assertEqual(server.wait(), 0)
        rest = server.rest()
        self.assertEqual(sum(re.fullmatch(f"Connection from {PEER}", x) is not None
                             for x in rest), 2)
        self.assertEqual(rest.count("Received b'This is the mess'"), 2)
        self.assertEqual(sum(x.startswith("No more data from") for x in rest), 2)

    def test_d8_welcome(self):
        server = Program(self, "welcome_server.py", "--host", "127.0.0.1", "--port", "0")
        port = server.port()
        self.assertEqual(server.line(), "Waiting for a client connection...")
        code, out, err = self.run_client("welcome_client.py", "--host", "127.0.0.1",
                                         "--port", str(port))
        self.assertEqual((code, out), (0, ["Welcome to the server!"]), err)
        self.assertEqual(server.wait(), 0)
        self.assertLines(server.rest(), [f"Connection established with: {PEER}"])

    def test_d1_d11_welcome_styles(self):
        server = Program(self, "welcome_server.py", "--style", "greeting", "--host",
                         "127.0.0.1", "--port", "0", "--once")
        port = server.port()
        code, out, _ = self.run_client("welcome_client.py", "--style", "greeting", "--host",
                                       "127.0.0.1", "--port", str(port))
        self.assertEqual(out, ["Message Received and the message is ->Socket Programming in "
                               "Python"])
        self.assertEqual(server.wait(), 0)
        self.assertLines(server.rest(), [f"Connection Established to address {PEER}"])

    def test_d10_resolve(self):
        code, out, err = self.run_client("resolve.py", "localhost")
        self.assertEqual((code, out), (0, [socket.gethostbyname("localhost")]), err)
        code, out, err = self.run_client("resolve.py", "nosuchhost.invalid")
        self.assertEqual((code, out), (1, []))
        self.assertEqual(err, "resolve: [Errno -2] Name or service not known\n")
        code, out, _ = self.run_client("resolve.py", "--all", "localhost", "--port", "80")
        self.assertEqual(out, [str(e) for e in socket.getaddrinfo("localhost", 80)])

    def test_d13_named_chat(self):
        server = Program(self, "chat_server.py", "--mode", "named", "--host", "127.0.0.1",
                         "--port", "0", "--max-clients", "1")
        port = server.port()
        code, out, err = self.run_client("chat_client.py", "--mode", "named", "--host",
                                         "127.0.0.1", "--port", str(port),
                                         stdin="alice\nhello there\nbye\n")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, ["Welcome to the chat program! Enter your name:",
                               "Enter your message: Received from server: Received",
                               "Enter your message: Received from server: Received",
                               "Enter your message: "])
        self.assertEqual(server.wait(), 0)
        self.assertLines(server.rest(), [f"Connected by {PEER}", "User alice has joined the chat.",
                                         "alice : hello there", "alice : bye"])

    def test_d15_chat_room(self):
        server = Program(self, "chat_server.py", "--mode", "room", "--port", "0",
                         "--max-clients", "3", "--max-line", "8")
        port = server.port()
        welcome = b"Welcome to the chat room! Enter your name:\n"
        with socket.create_connection(("127.0.0.1", port), timeout=10 * SLACK) as a:
            fa = a.makefile("rb")
            self.addCleanup(fa.close)
            self.assertEqual(fa.readline(), welcome)
            a.sendall(b"alice\n")
            server.until("User alice has joined the chat.")  # in the room before bob comes
            with socket.create_connection(("127.0.0.1", port), timeout=10 * SLACK) as b:
                fb = b.makefile("rb")
                self.addCleanup(fb.close)
                self.assertEqual(fb.readline(), welcome)
                b.sendall(b"bob\n")
                self.assertEqual(fa.readline(), b"* bob has joined the chat\n")
                b.sendall(b"hi alice!\n")
                self.assertEqual(fa.readline(), b"bob: hi alice\n")
                self.assertEqual(fb.readline(), b"* your line was cut to 8 bytes\n")
                # The room's own client: a name and a line from stdin, then end of input.
                code, out, err = self.run_client("chat_client.py", "--mode", "room", "--port",
                                                 str(port), stdin="carol\nhello room\n")
                self.assertEqual(code, 0, err)
                self.assertEqual(out[0], "Welcome to the chat room! Enter your name:")
                for f in (fa, fb):  # a line longer than --max-line 8 is cut
                    self.assertEqual(f.readline(), b"* carol has joined the chat\n")
                    self.assertEqual(f.readline(), b"carol: hello ro\n")
                    self.assertEqual(f.readline(), b"* carol has left the chat\n")
                a.shutdown(socket.SHUT_WR)  # alice leaves; bob hears it
                self.assertEqual(fb.readline(), b"* alice has left the chat\n")
                fa.close()  # a makefile() keeps its socket open: close both
                fb.close()
        self.assertEqual(server.wait(), 0)  # --max-clients 3: all three came and went
        seen = server.seen + server.rest()
        for name in ("alice", "bob", "carol"):
            self.assertIn(f"User {name} has joined the chat.", seen)
            self.assertIn(f"User {name} has left the chat.", seen)

    def test_d7_errors(self):
        code, out, err = self.run_client("errors.py", "--port", "0", "--bind-in-use",
                                         "--refused", "--timeout", "--gaierror", "--bad-port")
        self.assertEqual(code, 0, err)
        self.assertLines(out, [
            r"Socket error: \[Errno 98\] Address already in use \(while attempting to bind on "
            r"address \('localhost', \d+\)\)",
            r"  bind\(\('localhost', \d+\)\) raised OSError \(socket\.error\): errno 98",
            r"Socket error: \[Errno 111\] Connection refused",
            r"  connect\(\('localhost', \d+\)\) raised ConnectionRefusedError \(socket\.error\): "
            r"errno 111",
            "Socket timeout: timed out",
            r"  recv\(1024\) after settimeout\(0\.2\) raised TimeoutError \(socket\.timeout\)",
            r"Address-resolution error: \[Errno -2\] Name or service not known",
            r"  bind\(\('nosuchhost\.invalid', 0\)\) raised socket\.gaierror: EAI code -2",
            r"Other error: bind\(\): port must be 0-65535\.",
            r"  bind\(\('localhost', 70000\)\) raised OverflowError"])

    @unittest.skipUnless(has_ipv6(), "no IPv6 loopback here")
    def test_ipv6_listening_line_and_peer(self):
        server = Program(self, "echo_server.py", "--host", "::1", "--port", "0",
                         "--max-clients", "1")
        line = server.line()
        m = LISTENING.match(line)
        self.assertTrue(m and m.group(1) == "[::1]", line)
        code, _, err = self.run_client("echo_client.py", "--host", "::1", "--port", m.group(2))
        self.assertEqual(code, 0, err)
        self.assertEqual(server.wait(), 0)
        self.assertTrue(any(re.fullmatch(r"Connection from \('::1', \d+, 0, 0\)", x)
                            for x in server.rest()))

    def test_ctrl_c_stops_forever_servers(self):
        for name, args in (("echo_server.py", ()), ("udp_echo_server.py", ()),
                           ("welcome_server.py", ("--style", "close")),
                           ("chat_server.py", ("--mode", "room"))):
            with self.subTest(program=name):
                server = Program(self, name, "--host", "127.0.0.1", "--port", "0", *args)
                server.port()
                os.killpg(server.proc.pid, signal.SIGINT)
                self.assertIn(server.wait(5), (0, 130))


if __name__ == "__main__":
    unittest.main()
