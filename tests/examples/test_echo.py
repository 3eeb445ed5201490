"""End-to-end tests of echo_server and echo_client: demos D2, D4 and D6.

D2 (seed 000) and D4 (seed 001) are the sequential TCP echo with 1 KiB and
16-byte chunks, D6 (seed 001) the thread-per-client server. The seeds' own
Python programs are written out below (print() collected into a list) and
run against the C programs on 127.0.0.1 with an ephemeral port: the C server
with the Python client and the C client with the Python server must exchange
the same bytes and print the same lines as the Python pair.

The D2 and D4 classes run once per engine that prints the seeds' lines
(sequential, the default, and --engine selector); D6 once for --threads and
once for --engine threads. EchoSelector tests what only the selector engine
promises: many clients at once on one thread, a client that does not read
never blocks the others and is dropped past --max-queue, clean SIGTERM.
"""
import ast
import base64
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import unittest

from harness import LISTENING, SLACK, ExampleTest, Process, program

TIMEOUT = 5.0 * SLACK
MESSAGE_D2 = "Hello, Server!"
MESSAGE_D4 = b"This is the message. It will be repeated."
CHUNKS_D4 = [b"This is the mess", b"age. It will be ", b"repeated."]


class Printed:
    """Stands in for print(): collects the lines the seed's code prints."""

    def __init__(self):
        self.lines = []

    def __call__(self, *args):
        self.lines.append(" ".join(str(a) for a in args))


# ---- The seeds' programs (only print, the port and the loop bounds differ) ----

def seed_server_d2(server_socket, server_address, print, clients=1):
    """Seed 000's start_server, on an already bound and listening socket."""
    received = b""
    print('Starting server on {} port {}'.format(*server_address))
    for _ in range(clients):  # the seed: while True
        print('Waiting for a connection')
        connection, client_address = server_socket.accept()
        connection.settimeout(TIMEOUT)
        try:
            print('Connection from', client_address)
            while True:
                data = connection.recv(1024)
                if data:
                    received += data
                    print('Received: {}'.format(data.decode()))
                    connection.sendall(data)
                else:
                    print('No more data from', client_address)
                    break
        finally:
            connection.close()
    return received


def seed_client_d2(server_address, print):
    """Seed 000's client (its start_client); returns (bytes back, local address)."""
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_socket.settimeout(TIMEOUT)
    print('Connecting to {} port {}'.format(*server_address))
    client_socket.connect(server_address)
    local = client_socket.getsockname()
    received = b""
    try:
        message = 'Hello, Server!'
        print('Sending: {}'.format(message))
        client_socket.sendall(message.encode())
        amount_received = 0
        amount_expected = len(message)
        while amount_received < amount_expected:
            data = client_socket.recv(1024)
            if not data:  # the seed would spin here forever
                break
            received += data
            amount_received += len(data)
            print('Received: {}'.format(data.decode()))
    finally:
        print('Closing socket')
        client_socket.close()
    return received, local


def seed_server_d4(server_socket, server_address, print, clients=1):
    """Seed 001's start_tcp_server, on an already bound and listening socket."""
    received = b""
    print('Starting up on {} port {}'.format(*server_address))
    for _ in range(clients):  # the seed: while True
        print('Waiting for a connection')
        connection, client_address = server_socket.accept()
        connection.settimeout(TIMEOUT)
        try:
            print('Connection from', client_address)
            while True:
                data = connection.recv(16)
                print('Received {!r}'.format(data))
                if data:
                    received += data
                    print('Sending data back to the client')
                    connection.sendall(data)
                else:
                    print('No more data from', client_address)
                    break
        finally:
            connection.close()
    return received


def seed_client_d4(server_address, print):
    """Seed 001's start_tcp_client; returns (bytes back, local address)."""
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_socket.settimeout(TIMEOUT)
    print('Connecting to {} port {}'.format(*server_address))
    client_socket.connect(server_address)
    local = client_socket.getsockname()
    received = b""
    try:
        message = b'This is the message. It will be repeated.'
        print('Sending {!r}'.format(message))
        client_socket.sendall(message)
        amount_received = 0
        amount_expected = len(message)
        while amount_received < amount_expected:
            data = client_socket.recv(16)
            if not data:  # the seed would spin here forever
                break
            received += data
            amount_received += len(data)
            print('Received {!r}'.format(data))
    finally:
        print('Closing socket')
        client_socket.close()
    return received, local


SEEDS = {
    "d2": (seed_server_d2, seed_client_d2),
    "d4": (seed_server_d4, seed_client_d4),
}


def anonymous(lines):
    """The lines with every client port replaced, to compare runs."""
    return [re.sub(r"\('127\.0\.0\.1', \d+\)", "('127.0.0.1', PORT)", line) for line in lines]


class PythonServer:
    """A seed server in a thread, on 127.0.0.1 and an ephemeral port."""

    def __init__(self, test, seed, clients=1):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        test.addCleanup(self.sock.close)
        self.sock.settimeout(TIMEOUT)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.printed = Printed()
        self.received = None
        self.error = None
        # The seed prints the address it binds: ('127.0.0.1', 0) here.
        self.thread = threading.Thread(target=self._run, args=(seed, clients), daemon=True)
        self.thread.start()

    def _run(self, seed, clients):
        try:
            self.received = seed(self.sock, ("127.0.0.1", 0), self.printed, clients)
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


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expected_d4_server(who, threads=False):
    """What the C server prints for one D4 client from who (after 'listening on')."""
    if threads:
        return (["Waiting for a connection", f"Connection from {who}"]
                + [f"Received {c!r}" for c in CHUNKS_D4] + [f"No more data from {who}"])
    lines = ["Starting up on 127.0.0.1 port 0", "Waiting for a connection",
             f"Connection from {who}"]
    for c in CHUNKS_D4:
        lines += [f"Received {c!r}", "Sending data back to the client"]
    return lines + ["Received b''", f"No more data from {who}"]


EXPECTED_D4_CLIENT = (["Sending b'This is the message. It will be repeated.'"]
                      + [f"Received {c!r}" for c in CHUNKS_D4] + ["Closing socket"])


class EchoBase(ExampleTest):
    """The interoperability check shared by D2 and D4; ENGINE selects the engine."""

    ENGINE = ()  # the default: --engine sequential

    def echo_server(self, *args):
        """Starts echo_server on 127.0.0.1, port 0, with ENGINE; returns (process, port)."""
        return self.server("echo_server", *self.ENGINE, *args)

    def check_interop(self, style):
        seed_server, seed_client = SEEDS[style]
        message = MESSAGE_D2.encode() if style == "d2" else MESSAGE_D4

        # The Python pair, as the tutorial runs it.
        py_server = PythonServer(self, seed_server)
        py_client_out = Printed()
        back, _ = seed_client(("127.0.0.1", py_server.port), py_client_out)
        self.assertEqual(back, message)
        py_server_lines = py_server.join()
        self.assertEqual(py_server.received, message)
        py_client_lines = [line.replace(str(py_server.port), "SERVERPORT")
                           for line in py_client_out.lines]

        # The C server with the seed's client.
        server, port = self.echo_server("--style", style, "--max-clients", 1)
        out = Printed()
        back, local = seed_client(("127.0.0.1", port), out)
        self.assertEqual(back, message)
        self.assertEqual([line.replace(str(port), "SERVERPORT") for line in out.lines],
                         py_client_lines)
        c_server_lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertIn(f"Connection from {local!r}", c_server_lines)
        self.assertEqual(anonymous(c_server_lines), anonymous(py_server_lines))

        # The seed's server with the C client.
        py_server = PythonServer(self, seed_server)
        r = self.run_prog("echo_client", "--style", style, "--host", "127.0.0.1",
                          "--port", py_server.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.replace(str(py_server.port), "SERVERPORT").splitlines(),
                         py_client_lines)
        self.assertEqual(anonymous(py_server.join()), anonymous(py_server_lines))
        self.assertEqual(py_server.received, message)


class EchoD2(EchoBase):
    """D2: seed 000's echo, 1 KiB chunks, text lines."""

    def test_d2_end_to_end(self):
        server, port = self.echo_server("--style", "d2", "--max-clients", 1)
        r = self.run_prog("echo_client", "--style", "d2", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            f"Connecting to 127.0.0.1 port {port}",
            "Sending: Hello, Server!",
            "Received: Hello, Server!",
            "Closing socket",
        ])
        self.assertEqual(r.stderr, "")
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(anonymous(lines), [
            "Starting server on 127.0.0.1 port 0",
            "Waiting for a connection",
            "Connection from ('127.0.0.1', PORT)",
            "Received: Hello, Server!",
            "No more data from ('127.0.0.1', PORT)",
        ])
        self.assertEqual(lines[2][len("Connection from "):], lines[4][len("No more data from "):])

    def test_d2_one_client_at_a_time_then_next(self):
        server, port = self.echo_server("--style", "d2", "--max-clients", 2)
        for text in ("first", "second one"):
            r = self.run_prog("echo_client", "--style", "d2", "--host", "127.0.0.1",
                              "--port", port, "--message", text)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(f"Received: {text}", r.stdout.splitlines())
        lines = anonymous(server.rest())
        self.assertEqual(lines, [
            "Starting server on 127.0.0.1 port 0",
            "Waiting for a connection",
            "Connection from ('127.0.0.1', PORT)",
            "Received: first",
            "No more data from ('127.0.0.1', PORT)",
            "Waiting for a connection",
            "Connection from ('127.0.0.1', PORT)",
            "Received: second one",
            "No more data from ('127.0.0.1', PORT)",
        ])
        self.assertEqual(server.proc.returncode, 0)

    def test_d2_interop_with_the_seed(self):
        self.check_interop("d2")


class EchoD4(EchoBase):
    """D4: seed 001's echo, 16-byte chunks, every chunk as b'...'."""

    def test_d4_end_to_end(self):
        server, port = self.echo_server("--style", "d4", "--max-clients", 1)
        r = self.run_prog("echo_client", "--style", "d4", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         [f"Connecting to 127.0.0.1 port {port}"] + EXPECTED_D4_CLIENT)
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        m = re.fullmatch(r"Connection from (\('127\.0\.0\.1', \d+\))", lines[2])
        self.assertIsNotNone(m, lines)
        self.assertEqual(lines, expected_d4_server(m.group(1)))

    def test_d4_is_the_default_style(self):
        server, port = self.echo_server("--max-clients", 1)
        r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[1:], EXPECTED_D4_CLIENT)
        self.assertEqual(server.rest()[0], "Starting up on 127.0.0.1 port 0")

    def test_default_host_localhost(self):
        # Both sides' default host is localhost, a loopback name.
        server = self.start("echo_server", *self.ENGINE, "--port", 0, "--max-clients", 1)
        first = server.line()
        m = re.match(r"^listening on 127\.0\.0\.1:(\d+)$", first or "")
        self.assertIsNotNone(m, first)
        port = int(m.group(1))
        r = self.run_prog("echo_client", "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         [f"Connecting to localhost port {port}"] + EXPECTED_D4_CLIENT)
        self.assertEqual(server.rest()[0], "Starting up on localhost port 0")

    def test_chunk_override(self):
        server, port = self.echo_server("--chunk", 64, "--max-clients", 1)
        r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port,
                          "--chunk", 64)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[2], f"Received {MESSAGE_D4!r}")
        self.assertIn(f"Received {MESSAGE_D4!r}", server.rest())

    def test_bytes_repr_like_python(self):
        # Quotes, backslash, control and non-ASCII bytes print as Python's repr().
        texts = ["it's", 'say "hi"', "both ' and \"", "tab\there\\ \x01\x7f\r\n é"]
        server, port = self.echo_server("--chunk", 1024, "--max-clients", len(texts))
        for text in texts:
            with self.subTest(text=text):
                r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port,
                                  "--chunk", 1024, "--message", text)
                self.assertEqual(r.returncode, 0, r.stderr)
                data = text.encode()
                self.assertEqual(r.stdout.splitlines()[1:3],
                                 [f"Sending {data!r}", f"Received {data!r}"])
                server.expect(f"Received {data!r}")

    def test_d4_interop_with_the_seed(self):
        self.check_interop("d4")

    def test_ipv6_peer_tuple(self):
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        server = self.start("echo_server", *self.ENGINE, "--host", "::1", "--port", 0,
                            "--max-clients", 1)
        m = re.match(r"^listening on \[::1\]:(\d+)$", server.line() or "")
        self.assertIsNotNone(m)
        with socket.create_connection(("::1", int(m.group(1))), timeout=TIMEOUT) as s:
            local = s.getsockname()
            s.sendall(b"x")
            self.assertEqual(s.recv(16), b"x")
        lines = server.rest()
        self.assertIn(f"Connection from {local!r}", lines)  # ('::1', port, 0, 0)
        self.assertEqual(lines[-1], f"No more data from {local!r}")

    def test_server_address_in_use(self):
        server, port = self.echo_server()
        r = self.run_prog("echo_server", *self.ENGINE, "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "echo_server: [Errno 98] Address already in use\n")


class EchoD6(EchoBase):
    """D6: seed 001's thread-per-client server."""

    ENGINE = ("--threads",)

    def test_d6_one_client_exact_lines(self):
        server, port = self.echo_server("--max-clients", 1)
        r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         [f"Connecting to 127.0.0.1 port {port}"] + EXPECTED_D4_CLIENT)
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        m = re.fullmatch(r"Connection from (\('127\.0\.0\.1', \d+\))", lines[1])
        self.assertIsNotNone(m, lines)
        self.assertEqual(lines, expected_d4_server(m.group(1), threads=True))

    def test_d6_five_clients_served_concurrently(self):
        n = 5
        server, port = self.echo_server("--max-clients", n)
        self.assertEqual(server.line(), "Waiting for a connection")
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            self.addCleanup(s.close)
            socks.append(s)
        # Every client is being served before any of them has sent a byte:
        # a sequential server would be stuck in the first one's recv.
        peers = {repr(s.getsockname()) for s in socks}
        seen = set()
        for _ in range(n):
            line = server.line()
            self.assertTrue(line.startswith("Connection from "), line)
            seen.add(line[len("Connection from "):])
        self.assertEqual(seen, peers)
        # The last to connect is answered first, while the others still wait.
        for i, s in reversed(list(enumerate(socks))):
            msg = f"client {i}: ".encode() + MESSAGE_D4
            s.sendall(msg)
            back = b""
            while len(back) < len(msg):
                data = s.recv(4096)
                self.assertTrue(data, "server closed early")
                back += data
            self.assertEqual(back, msg)
        for s in socks:
            s.close()
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(sorted(l[len("No more data from "):] for l in lines
                                if l.startswith("No more data from ")), sorted(peers))
        self.assertNotIn("Sending data back to the client", lines)
        self.assertNotIn("Received b''", lines)

    def test_d6_five_c_clients_at_once(self):
        n = 5
        server, port = self.echo_server("--max-clients", n)
        clients = [self.start("echo_client", "--host", "127.0.0.1", "--port", port,
                              "--message", f"message number {i}, long enough for chunks")
                   for i in range(n)]
        for i, c in enumerate(clients):
            out = c.rest()
            self.assertEqual(c.proc.returncode, 0, c.err)
            data = f"message number {i}, long enough for chunks".encode()
            chunks = [data[k:k + 16] for k in range(0, len(data), 16)]
            self.assertEqual(out, [f"Connecting to 127.0.0.1 port {port}", f"Sending {data!r}"]
                             + [f"Received {c!r}" for c in chunks] + ["Closing socket"])
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(sum(l.startswith("No more data from ") for l in lines), n)


class EchoD6EngineThreads(EchoD6):
    """D6 again, through --engine threads (--threads is its alias)."""

    ENGINE = ("--engine", "threads")


class EchoD2Selector(EchoD2):
    """D2's exact lines through --engine selector."""

    ENGINE = ("--engine", "selector")


class EchoD4Selector(EchoD4):
    """D4's exact lines through --engine selector."""

    ENGINE = ("--engine", "selector")


class EchoClientAndUsage(ExampleTest):
    """echo_client's failures, and both programs' command lines."""

    def test_client_connection_refused(self):
        port = closed_port()
        r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "echo_client: [Errno 111] Connection refused\n")
        self.assertEqual(r.stdout, f"Connecting to 127.0.0.1 port {port}\n")

    def test_client_gives_up_when_the_server_stops_early(self):
        # A server that reads the message and closes without answering: the
        # seed's loop would spin on b'' forever; the C client reports and exits 1.
        with socket.socket() as ls:
            ls.bind(("127.0.0.1", 0))
            ls.listen(1)
            ls.settimeout(TIMEOUT)
            port = ls.getsockname()[1]
            client = self.start("echo_client", "--host", "127.0.0.1", "--port", port)
            conn, _ = ls.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                got = b""
                while len(got) < len(MESSAGE_D4):
                    data = conn.recv(1024)
                    self.assertTrue(data)
                    got += data
                self.assertEqual(got, MESSAGE_D4)
            self.assertEqual(client.wait(), 1)
        self.assertEqual(client.rest()[-1:], ["Closing socket"])
        self.assertEqual(stderr_lines(client, 1),
                         [f"echo_client: the server closed the connection after 0 of "
                          f"{len(MESSAGE_D4)} bytes"])

    def test_usage(self):
        r = self.run_prog("echo_server", "--help")
        self.assertEqual(r.returncode, 0)
        for option in ("--max-clients", "--engine", "--threads", "--max-queue"):
            self.assertIn(option, r.stdout)
        for prog, args in [("echo_server", ["--style", "d9"]), ("echo_server", ["--port", "x"]),
                           ("echo_server", ["--engine", "forks"]),
                           ("echo_server", ["--max-queue", "0"]),
                           ("echo_server", ["--engine", "selector", "--chunk", "4096",
                                            "--max-queue", "1024"]),
                           ("echo_client", ["--bogus"]), ("echo_client", ["--port", "70000"])]:
            with self.subTest(prog=prog, args=args):
                r = self.run_prog(prog, *args)
                self.assertEqual(r.returncode, 2)
                self.assertTrue(r.stderr.startswith(prog + ":") or "usage" in r.stderr)

    def test_engine_sequential_is_the_default(self):
        outputs = []
        for engine in ((), ("--engine", "sequential")):
            server, port = self.server("echo_server", *engine, "--max-clients", 1)
            r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port)
            self.assertEqual(r.returncode, 0, r.stderr)
            outputs.append(anonymous(server.rest()))
            self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(outputs[0][0], "Starting up on 127.0.0.1 port 0")


# ---- --engine selector: many clients on one thread -------------------------

SELECTOR = ("--engine", "selector")


def round_trip(sock, data):
    """Sends data and reads until as many bytes came back; returns them."""
    sock.sendall(data)
    back = bytearray()
    while len(back) < len(data):
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed the connection after {len(back)} of "
                                 f"{len(data)} bytes")
        back += chunk
    return bytes(back)


def received_bytes(lines):
    """The bytes that the D4 lines "Received b'...'" show, in order."""
    return b"".join(ast.literal_eval(l[len("Received "):]) for l in lines
                    if l.startswith("Received b"))


def sees_the_end(sock):
    """True when the peer closed the connection (EOF or reset) within TIMEOUT."""
    sock.settimeout(TIMEOUT)
    try:
        while sock.recv(65536):
            pass  # echoes still on their way
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return False
    return True


def kernel_send_buffer_max():
    """The most bytes the kernel may buffer for one sending socket (Linux)."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 << 20


def cpu_seconds(pid):
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EchoSelector(ExampleTest):
    """--engine selector: one thread, many clients, queued non-blocking output."""

    def selector_server(self, *args):
        return self.server("echo_server", *SELECTOR, *args)

    def connect(self, port, rcvbuf=0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", port))
        return s

    def expect_connections(self, server, socks):
        """Reads the server's lines until every sock's "Connection from" came."""
        want = {f"Connection from {s.getsockname()!r}" for s in socks}
        deadline = time.monotonic() + TIMEOUT
        while want:
            self.assertLess(time.monotonic(), deadline, f"not accepted: {want}")
            want.discard(server.line())

    def test_200_clients_at_once(self):
        n, trips = 200, 5
        server, port = self.selector_server("--max-clients", n)
        self.assertEqual(server.line(), "Starting up on 127.0.0.1 port 0")
        self.assertEqual(server.line(), "Waiting for a connection")
        socks = [self.connect(port) for _ in range(n)]
        # All of them are being served before any has sent a byte.
        self.expect_connections(server, socks)
        rng = random.Random(1234)
        payloads = [[rng.randbytes(rng.randint(1, 200)) for _ in range(trips)] for _ in socks]
        errors = []
        start = threading.Barrier(n, timeout=TIMEOUT)

        def client(sock, messages):
            try:
                start.wait()
                for data in messages:
                    back = round_trip(sock, data)
                    if back != data:
                        errors.append(f"{sock.getsockname()}: {data!r} came back as {back!r}")
                sock.close()
            except Exception as e:  # reported below
                errors.append(f"{sock.getsockname()}: {e!r}")

        threads = [threading.Thread(target=client, args=(s, p), daemon=True)
                   for s, p in zip(socks, payloads)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 4 * TIMEOUT
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self.assertFalse(any(t.is_alive() for t in threads), "clients still running")
        self.assertEqual(errors, [])
        lines = server.rest(timeout=4 * TIMEOUT)
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(server.err, [])
        # Every client's end is seen; what was printed is every byte received.
        ends = [l for l in lines if l.startswith("No more data from ")]
        self.assertEqual(len(ends), n)
        self.assertEqual(lines.count("Received b''"), n)
        total = sum(len(d) for p in payloads for d in p)
        self.assertEqual(len(received_bytes(lines)), total)
        chunks = sum(1 for l in lines if l.startswith("Received b") and l != "Received b''")
        self.assertEqual(lines.count("Sending data back to the client"), chunks)
        self.assertNotIn("Waiting for a connection", lines)  # max-clients reached

    def test_a_client_that_does_not_read_blocks_nobody(self):
        # The reader-less client sends more than the kernel can buffer
        # between the server and itself, so some of its echoes must wait in
        # the server's queue: a server that blocked on it would stop here.
        # Its queue bound is higher than that; then it sends more and is dropped.
        buffered = kernel_send_buffer_max() + (1 << 20)
        max_queue = buffered + (1 << 20)
        server, port = self.selector_server("--chunk", 65536, "--max-queue", max_queue,
                                            "--max-clients", 3)
        other = self.connect(port)
        self.assertEqual(round_trip(other, b"before"), b"before")
        mute = self.connect(port, rcvbuf=4096)
        block = b"x" * 65536
        sent = 0
        while sent < buffered:
            mute.sendall(block)
            sent += len(block)
        # Wait until the server has read every byte of it.
        got = 0
        deadline = time.monotonic() + TIMEOUT
        while got < sent:
            self.assertLess(time.monotonic(), deadline, f"the server read {got} of {sent} bytes")
            line = server.line()
            if re.fullmatch(r"Received b'x+'", line):
                got += len(line) - len("Received b''")
        for i in range(20):
            data = f"round trip {i} while another client does not read".encode()
            self.assertEqual(round_trip(other, data), data)
        self.assertEqual(server.proc.poll(), None)

        # Past --max-queue the client is dropped; the others go on.
        with self.assertRaises((ConnectionResetError, BrokenPipeError)):
            for _ in range((4 * max_queue) // len(block)):
                mute.sendall(block)
        who = mute.getsockname()
        self.assertIn(f"echo_server: {who!r}: not reading, disconnected "
                      f"(more than {max_queue} bytes waiting)", stderr_lines(server, 1))
        self.assertEqual(round_trip(other, b"after"), b"after")
        third = self.connect(port)
        self.assertEqual(round_trip(third, b"a new client"), b"a new client")
        other.close()
        third.close()
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertNotIn(f"No more data from {who!r}", lines)
        self.assertEqual(len(server.err), 1, server.err)

    def test_small_max_queue_drops_a_flooder(self):
        server, port = self.selector_server("--chunk", 1024, "--max-queue", 4096,
                                            "--max-clients", 2)
        other = self.connect(port)
        self.assertEqual(round_trip(other, b"hello"), b"hello")
        flooder = self.connect(port, rcvbuf=4096)
        block = b"f" * 65536
        with self.assertRaises((ConnectionResetError, BrokenPipeError)):
            for _ in range(4096):  # at most 256 MiB
                flooder.sendall(block)
        self.assertEqual(stderr_lines(server, 1),
                         [f"echo_server: {flooder.getsockname()!r}: not reading, disconnected "
                          f"(more than 4096 bytes waiting)"])
        self.assertEqual(round_trip(other, b"still here"), b"still here")
        other.close()
        self.assertEqual(server.wait(), 0)

    def test_abrupt_disconnects_do_not_disturb_the_others(self):
        server, port = self.selector_server("--max-clients", 4)
        other = self.connect(port)
        self.assertEqual(round_trip(other, b"first"), b"first")
        resets = []
        for unread in (False, True):
            rude = self.connect(port)
            resets.append(rude.getsockname())
            if unread:
                rude.sendall(b"an echo nobody reads")
                time.sleep(0.05)
            else:
                self.assertEqual(round_trip(rude, b"bye"), b"bye")
            # SO_LINGER 0: close() sends RST instead of FIN.
            rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            rude.close()
            for i in range(5):
                data = f"message {i}".encode()
                self.assertEqual(round_trip(other, data), data)
        late = self.connect(port)
        self.assertEqual(round_trip(late, b"late"), b"late")
        other.close()
        late.close()
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        for who in resets:
            self.assertIn(f"Connection from {who!r}", lines)
            self.assertNotIn(f"No more data from {who!r}", lines)
        errors = stderr_lines(server, 2)
        self.assertEqual(len(errors), 2, errors)
        for who, line in zip(resets, errors):
            self.assertRegex(line, re.escape(f"echo_server: {who!r}: ")
                             + r"\[Errno (104|32)\] (Connection reset by peer|Broken pipe)$")

    def test_sigterm_and_sigint_stop_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                server, port = self.selector_server()
                idle = self.connect(port)
                talked = self.connect(port)
                self.assertEqual(round_trip(talked, b"hi"), b"hi")
                pending = self.connect(port, rcvbuf=4096)
                pending.sendall(b"p" * 50000)  # its echoes wait, under the 64 KiB bound
                self.expect_connections(server, [idle, talked, pending])
                os.kill(server.proc.pid, sig)
                self.assertEqual(server.wait(), 0)
                for s in (idle, talked, pending):
                    self.assertTrue(sees_the_end(s), "the connection was not ended")
                self.assertEqual(server.err, [])

    def test_signal_while_idle(self):
        server, port = self.selector_server()
        self.assertEqual(server.line(), "Starting up on 127.0.0.1 port 0")
        self.assertEqual(server.line(), "Waiting for a connection")
        os.kill(server.proc.pid, signal.SIGTERM)
        self.assertEqual(server.wait(), 0)
        self.assertEqual(server.rest(), [])

    def test_max_clients(self):
        server, port = self.selector_server("--max-clients", 3)
        socks = [self.connect(port) for _ in range(3)]
        names = [repr(s.getsockname()) for s in socks]
        self.expect_connections(server, socks)
        for s in socks[:2]:
            self.assertEqual(round_trip(s, b"x"), b"x")
            s.close()
        server.expect(f"No more data from {names[1]}")
        # Two have left, one is still there: the server goes on, and takes no
        # fourth client (the kernel may queue its connection; nobody answers).
        extra = self.connect(port)
        extra.sendall(b"anyone?")
        time.sleep(0.3)
        self.assertIsNone(server.proc.poll())
        self.assertEqual(round_trip(socks[2], b"last"), b"last")
        socks[2].close()
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertTrue(sees_the_end(extra))
        everything = server.seen
        self.assertEqual(sum(l.startswith("Connection from ") for l in everything), 3)
        self.assertEqual(sum(l.startswith("No more data from ") for l in everything), 3)
        self.assertEqual(everything.count("Waiting for a connection"), 1)
        self.assertEqual(lines[-1], f"No more data from {names[2]}")

    def test_half_closed_client_gets_every_echo(self):
        # More than the kernel can buffer (a small receive buffer here, and
        # no reading before the server saw the end): at the end of its stream
        # its last echoes are still queued, and must be sent before the close.
        data = base64.b64encode(os.urandom(kernel_send_buffer_max() * 3 // 2))
        server, port = self.selector_server("--chunk", 65536, "--max-queue", 2 * len(data),
                                            "--max-clients", 1)
        s = self.connect(port, rcvbuf=4096)
        who = s.getsockname()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        skipped = server.expect(f"No more data from {who!r}")
        self.assertEqual(skipped[-1], "Received b''")
        back = bytearray()
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            back += chunk
        self.assertEqual(len(back), len(data))
        self.assertEqual(bytes(back), data)
        self.assertEqual(server.wait(), 0, server.err)
        self.assertEqual(server.rest(), [])

    def test_out_of_fds_backs_off_without_spinning(self):
        if not os.path.exists(f"/proc/{os.getpid()}/stat"):
            self.skipTest("needs /proc")
        n = 12
        # A server allowed 16 fds: fewer than it needs for 12 clients.
        limit = ("import os, resource, sys; "
                 "resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16)); "
                 "os.execv(sys.argv[1], sys.argv[1:])")
        server = Process([sys.executable, "-c", limit, program("echo_server"), *SELECTOR,
                          "--host", "127.0.0.1", "--port", "0", "--max-clients", str(n)])
        self.addCleanup(server.stop)
        m = LISTENING.match(server.line() or "")
        self.assertIsNotNone(m, server.err)
        port = int(m.group(2))
        socks = [self.connect(port) for _ in range(n)]
        deadline = time.monotonic() + TIMEOUT
        while not server.err and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(server.err[:1], ["echo_server: [Errno 24] Too many open files"])
        # Out of fds with connections waiting: the server must not spin.
        before = cpu_seconds(server.proc.pid)
        time.sleep(1.0)
        self.assertLess(cpu_seconds(server.proc.pid) - before, 0.3)
        # The clients it could take are served; as they leave, the others are.
        for i, s in enumerate(socks):
            data = f"client {i}".encode()
            self.assertEqual(round_trip(s, data), data)
            s.close()
        self.assertEqual(server.wait(), 0)
        lines = server.rest()
        self.assertEqual(sum(l.startswith("No more data from ") for l in server.seen), n)
        self.assertEqual(set(server.err), {"echo_server: [Errno 24] Too many open files"})


if __name__ == "__main__":
    unittest.main()
