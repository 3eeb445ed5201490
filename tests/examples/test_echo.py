"""End-to-end tests of echo_server and echo_client: demos D2, D4 and D6.

D2 (seed 000) and D4 (seed 001) are the sequential TCP echo with 1 KiB and
16-byte chunks, D6 (seed 001) the thread-per-client server. The seeds' own
Python programs are written out below (print() collected into a list) and
run against the C programs on 127.0.0.1 with an ephemeral port: the C server
with the Python client and the C client with the Python server must exchange
the same bytes and print the same lines as the Python pair.
"""
import re
import socket
import threading
import time
import unittest

from harness import SLACK, ExampleTest

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
    """The interoperability check shared by D2 and D4."""

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
        server, port = self.server("echo_server", "--style", style, "--max-clients", 1)
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
        server, port = self.server("echo_server", "--style", "d2", "--max-clients", 1)
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
        server, port = self.server("echo_server", "--style", "d2", "--max-clients", 2)
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
        server, port = self.server("echo_server", "--style", "d4", "--max-clients", 1)
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
        server, port = self.server("echo_server", "--max-clients", 1)
        r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[1:], EXPECTED_D4_CLIENT)
        self.assertEqual(server.rest()[0], "Starting up on 127.0.0.1 port 0")

    def test_default_host_localhost(self):
        # Both sides' default host is localhost, a loopback name.
        server = self.start("echo_server", "--port", 0, "--max-clients", 1)
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
        server, port = self.server("echo_server", "--chunk", 64, "--max-clients", 1)
        r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port,
                          "--chunk", 64)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[2], f"Received {MESSAGE_D4!r}")
        self.assertIn(f"Received {MESSAGE_D4!r}", server.rest())

    def test_bytes_repr_like_python(self):
        # Quotes, backslash, control and non-ASCII bytes print as Python's repr().
        texts = ["it's", 'say "hi"', "both ' and \"", "tab\there\\ \x01\x7f\r\n é"]
        server, port = self.server("echo_server", "--chunk", 1024, "--max-clients", len(texts))
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
        server = self.start("echo_server", "--host", "::1", "--port", 0, "--max-clients", 1)
        m = re.match(r"^listening on \[::1\]:(\d+)$", server.line() or "")
        self.assertIsNotNone(m)
        with socket.create_connection(("::1", int(m.group(1))), timeout=TIMEOUT) as s:
            local = s.getsockname()
            s.sendall(b"x")
            self.assertEqual(s.recv(16), b"x")
        lines = server.rest()
        self.assertIn(f"Connection from {local!r}", lines)  # ('::1', port, 0, 0)
        self.assertEqual(lines[-1], f"No more data from {local!r}")

    def test_client_connection_refused(self):
        port = closed_port()
        r = self.run_prog("echo_client", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "echo_client: [Errno 111] Connection refused\n")
        self.assertEqual(r.stdout, f"Connecting to 127.0.0.1 port {port}\n")

    def test_server_address_in_use(self):
        server, port = self.server("echo_server")
        r = self.run_prog("echo_server", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "echo_server: [Errno 98] Address already in use\n")

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
        self.assertIn("--max-clients", r.stdout)
        for prog, args in [("echo_server", ["--style", "d9"]), ("echo_server", ["--port", "x"]),
                           ("echo_client", ["--bogus"]), ("echo_client", ["--port", "70000"])]:
            with self.subTest(prog=prog, args=args):
                r = self.run_prog(prog, *args)
                self.assertEqual(r.returncode, 2)
                self.assertTrue(r.stderr.startswith(prog + ":") or "usage" in r.stderr)


class EchoD6(ExampleTest):
    """D6: seed 001's thread-per-client server."""

    def test_d6_one_client_exact_lines(self):
        server, port = self.server("echo_server", "--threads", "--max-clients", 1)
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
        server, port = self.server("echo_server", "--threads", "--max-clients", n)
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
        server, port = self.server("echo_server", "--threads", "--max-clients", n)
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


if __name__ == "__main__":
    unittest.main()
