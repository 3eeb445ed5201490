"""End-to-end tests of udp_echo_server and udp_echo_client: demo D5 (seed 001).

The seed's UDP server and client are written out below (print() collected
into a list) and run against the C programs on 127.0.0.1 with an ephemeral
port: the C server with the Python client and the C client with the Python
server must exchange the same bytes and print the same lines as the Python pair.
"""
import re
import socket
import threading
import time
import unittest

from harness import SLACK, ExampleTest

TIMEOUT = 5.0 * SLACK
MESSAGE = b"This is the message. It will be repeated."


class Printed:
    """Stands in for print(): collects the lines the seed's code prints."""

    def __init__(self):
        self.lines = []

    def __call__(self, *args):
        self.lines.append(" ".join(str(a) for a in args))


# ---- The seed's programs (only print, the port and the loop bound differ) ----

def seed_udp_server(server_socket, server_address, print, messages=1):
    """Seed 001's start_udp_server, on an already bound socket."""
    received = []
    print('Starting up on {} port {}'.format(*server_address))
    for _ in range(messages):  # the seed: while True
        print('Waiting for a message')
        data, address = server_socket.recvfrom(4096)
        received.append(data)
        print('Received {} bytes from {}'.format(len(data), address))
        print(data)
        if data:
            sent = server_socket.sendto(data, address)
            print('Sent {} bytes back to {}'.format(sent, address))
    return received


def seed_udp_client(server_address, print):
    """Seed 001's start_udp_client; returns (datagram back, local address)."""
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client_socket.settimeout(TIMEOUT)
    message = b'This is the message. It will be repeated.'
    try:
        print('Sending {!r}'.format(message))
        sent = client_socket.sendto(message, server_address)
        local = client_socket.getsockname()
        print('Waiting for a response')
        data, server = client_socket.recvfrom(4096)
        print('Received {!r}'.format(data))
    finally:
        print('Closing socket')
        client_socket.close()
    assert sent == len(message)
    return data, local


def anonymous(lines):
    """The lines with every client port replaced, to compare runs."""
    return [re.sub(r"\('127\.0\.0\.1', \d+\)", "('127.0.0.1', PORT)", line) for line in lines]


class PythonServer:
    """The seed's UDP server in a thread, on 127.0.0.1 and an ephemeral port."""

    def __init__(self, test, messages=1):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        test.addCleanup(self.sock.close)
        self.sock.settimeout(TIMEOUT)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.printed = Printed()
        self.received = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(messages,), daemon=True)
        self.thread.start()

    def _run(self, messages):
        try:
            self.received = seed_udp_server(self.sock, ("127.0.0.1", 0), self.printed, messages)
        except Exception as e:  # reported by join()
            self.error = e

    def join(self):
        self.thread.join(TIMEOUT * 2)
        if self.thread.is_alive():
            raise AssertionError("the Python seed server did not finish")
        if self.error is not None:
            raise AssertionError(f"the Python seed server failed: {self.error!r}")
        return self.printed.lines


def stderr_lines(process, count):
    """process.err once it has count lines (its reader thread may lag the exit)."""
    deadline = time.monotonic() + TIMEOUT
    while len(process.err) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return process.err


def free_udp_port():
    """A loopback UDP port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


EXPECTED_CLIENT = [
    "Sending b'This is the message. It will be repeated.'",
    "Waiting for a response",
    "Received b'This is the message. It will be repeated.'",
    "Closing socket",
]


def expected_server(who, messages=(MESSAGE,)):
    """What the server prints after 'listening on' for datagrams from who."""
    lines = ["Starting up on 127.0.0.1 port 0"]
    for data in messages:
        lines += ["Waiting for a message", f"Received {len(data)} bytes from {who}", repr(data)]
        if data:
            lines.append(f"Sent {len(data)} bytes back to {who}")
    return lines


class UdpEchoD5(ExampleTest):

    def test_d5_end_to_end(self):
        server, port = self.server("udp_echo_server", "--max-clients", 1)
        r = self.run_prog("udp_echo_client", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), EXPECTED_CLIENT)
        self.assertEqual(r.stderr, "")
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        m = re.fullmatch(r"Received 41 bytes from (\('127\.0\.0\.1', \d+\))", lines[2])
        self.assertIsNotNone(m, lines)
        self.assertEqual(lines, expected_server(m.group(1)))

    def test_default_host_localhost(self):
        server = self.start("udp_echo_server", "--port", 0, "--max-clients", 1)
        m = re.match(r"^listening on 127\.0\.0\.1:(\d+)$", server.line() or "")
        self.assertIsNotNone(m)
        r = self.run_prog("udp_echo_client", "--port", m.group(1))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), EXPECTED_CLIENT)
        self.assertEqual(server.rest()[0], "Starting up on localhost port 0")

    def test_client_times_out_without_a_server(self):
        port = free_udp_port()
        start = time.monotonic()
        r = self.run_prog("udp_echo_client", "--host", "127.0.0.1", "--port", port,
                          "--timeout", "0.5")
        self.assertLess(time.monotonic() - start, 4.0 * SLACK)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.splitlines(), EXPECTED_CLIENT[:2] + ["Closing socket"])
        self.assertEqual(r.stderr, "udp_echo_client: timed out\n")

    def test_client_unknown_host(self):
        r = self.run_prog("udp_echo_client", "--host", "no-such-host.invalid", "--port", 9)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.splitlines(), [EXPECTED_CLIENT[0], "Closing socket"])
        self.assertRegex(r.stderr, r"^udp_echo_client: \[Errno -[0-9]+\] .+\n$")

    def test_empty_datagram_and_several_peers(self):
        server, port = self.server("udp_echo_server", "--max-clients", 3)
        socks = []
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(s.close)
            s.settimeout(TIMEOUT)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        # An empty datagram is printed but not answered, as in the seed.
        socks[0].sendto(b"", ("127.0.0.1", port))
        server.expect("b''")
        socks[1].sendto(b"it's \"quoted\"\n", ("127.0.0.1", port))
        self.assertEqual(socks[1].recvfrom(4096), (b"it's \"quoted\"\n", ("127.0.0.1", port)))
        socks[0].sendto(b"\x00\xff", ("127.0.0.1", port))
        self.assertEqual(socks[0].recv(4096), b"\x00\xff")
        server.rest()
        lines = server.seen[1:]  # every line after "listening on"
        self.assertEqual(server.proc.returncode, 0, server.err)
        a, b = (repr(s.getsockname()) for s in socks)
        self.assertEqual(lines, ["Starting up on 127.0.0.1 port 0",
                                 "Waiting for a message", f"Received 0 bytes from {a}", "b''",
                                 "Waiting for a message", f"Received 14 bytes from {b}",
                                 "b'it\\'s \"quoted\"\\n'", f"Sent 14 bytes back to {b}",
                                 "Waiting for a message", f"Received 2 bytes from {a}",
                                 "b'\\x00\\xff'", f"Sent 2 bytes back to {a}"])

    def test_oversized_datagram_keeps_4096_bytes_like_python(self):
        server, port = self.server("udp_echo_server", "--max-clients", 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(TIMEOUT)
            s.sendto(b"x" * 5000, ("127.0.0.1", port))
            self.assertEqual(s.recv(8192), b"x" * 4096)
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0)
        self.assertRegex(lines[2], r"^Received 4096 bytes from ")
        self.assertEqual(stderr_lines(server, 1),
                         ["udp_echo_server: [Errno 90] Message too long "
                          "(kept the first 4096 bytes)"])

    def test_message_option(self):
        server, port = self.server("udp_echo_server", "--max-clients", 1)
        r = self.run_prog("udp_echo_client", "--host", "127.0.0.1", "--port", port,
                          "--message", "tab\there")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["Sending b'tab\\there'", "Waiting for a response",
                                                 "Received b'tab\\there'", "Closing socket"])
        self.assertIn("b'tab\\there'", server.rest())

    def test_d5_interop_with_the_seed(self):
        # The Python pair, as the tutorial runs it.
        py_server = PythonServer(self)
        out = Printed()
        back, _ = seed_udp_client(("127.0.0.1", py_server.port), out)
        self.assertEqual(back, MESSAGE)
        py_client_lines = out.lines
        py_server_lines = py_server.join()
        self.assertEqual(py_server.received, [MESSAGE])
        self.assertEqual(py_client_lines, EXPECTED_CLIENT)

        # The C server with the seed's client.
        server, port = self.server("udp_echo_server", "--max-clients", 1)
        out = Printed()
        back, local = seed_udp_client(("127.0.0.1", port), out)
        self.assertEqual(back, MESSAGE)
        self.assertEqual(out.lines, py_client_lines)
        c_server_lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        # The unbound client's own name is ('0.0.0.0', port); it sent from 127.0.0.1.
        self.assertEqual(c_server_lines, expected_server(repr(("127.0.0.1", local[1]))))
        self.assertEqual(anonymous(c_server_lines), anonymous(py_server_lines))

        # The seed's server with the C client.
        py_server = PythonServer(self)
        r = self.run_prog("udp_echo_client", "--host", "127.0.0.1", "--port", py_server.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), py_client_lines)
        self.assertEqual(anonymous(py_server.join()), anonymous(py_server_lines))
        self.assertEqual(py_server.received, [MESSAGE])

    def test_usage(self):
        for prog in ("udp_echo_server", "udp_echo_client"):
            r = self.run_prog(prog, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("--port", r.stdout)
        for prog, args in [("udp_echo_server", ["--max-clients", "-1"]),
                           ("udp_echo_client", ["--timeout", "0"]),
                           ("udp_echo_client", ["extra"])]:
            with self.subTest(prog=prog, args=args):
                r = self.run_prog(prog, *args)
                self.assertEqual(r.returncode, 2)
                self.assertTrue(r.stderr.startswith(prog + ": "), r.stderr)



class LossyServer:
    """An echo server on 127.0.0.1 that drops the first `drop` datagrams, as a
    lossy link would, and answers every later one."""

    def __init__(self, test, drop):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(TIMEOUT * 4)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.drop = drop
        self.received = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    def _run(self):
        try:
            while not self.stopping:
                data, peer = self.sock.recvfrom(4096)
                if self.stopping:
                    break
                self.received += 1
                if self.received > self.drop:
                    self.sock.sendto(data, peer)
        except OSError:
            pass

    def stop(self):
        """Wakes the thread with one last datagram, joins it, closes."""
        self.stopping = True
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"", ("127.0.0.1", self.port))
        self.thread.join(TIMEOUT * 2)
        self.sock.close()


class UdpEchoRetries(ExampleTest):
    """udp_echo_client --retries N: a new try after each timeout, N at most."""

    TRY = EXPECTED_CLIENT[:2]

    def test_retries_until_an_answer_comes(self):
        server = LossyServer(self, drop=2)
        start = time.monotonic()
        r = self.run_prog("udp_echo_client", "--host", "127.0.0.1", "--port", server.port,
                          "--timeout", "0.3", "--retries", "5")
        elapsed = time.monotonic() - start
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         self.TRY + ["Timed out, retry 1 of 5"] + self.TRY +
                         ["Timed out, retry 2 of 5"] + EXPECTED_CLIENT)
        self.assertEqual(r.stderr, "")
        self.assertEqual(server.received, 3)
        # Two timeouts of 0.3 s were waited out, not more (a retry does not
        # wait for nothing) and not less (each try waits its timeout).
        self.assertGreaterEqual(elapsed, 0.6)
        self.assertLess(elapsed, 0.6 + 3.0 * SLACK)

    def test_gives_up_after_the_last_retry(self):
        server = LossyServer(self, drop=1000)
        start = time.monotonic()
        r = self.run_prog("udp_echo_client", "--host", "127.0.0.1", "--port", server.port,
                          "--timeout", "0.2", "--retries", "2")
        elapsed = time.monotonic() - start
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.splitlines(),
                         self.TRY + ["Timed out, retry 1 of 2"] + self.TRY +
                         ["Timed out, retry 2 of 2"] + self.TRY + ["Closing socket"])
        self.assertEqual(r.stderr, "udp_echo_client: timed out\n")
        self.assertEqual(server.received, 3)
        self.assertGreaterEqual(elapsed, 0.6)
        self.assertLess(elapsed, 0.6 + 3.0 * SLACK)

    def test_no_retry_when_the_answer_comes(self):
        server, port = self.server("udp_echo_server", "--max-clients", 1)
        r = self.run_prog("udp_echo_client", "--host", "127.0.0.1", "--port", port,
                          "--retries", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), EXPECTED_CLIENT)
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(sum(x.startswith("Received 41 bytes from ") for x in lines), 1, lines)

    def test_bad_retries(self):
        for value in ("-1", "1001", "x", ""):
            with self.subTest(value=value):
                r = self.run_prog("udp_echo_client", "--retries", value)
                self.assertEqual(r.returncode, 2)
                self.assertTrue(r.stderr.startswith(
                    f"udp_echo_client: bad --retries (0..1000): '{value}'\n"), r.stderr)


if __name__ == "__main__":
    unittest.main()
