"""End-to-end tests of welcome_server and welcome_client: demos D1, D8, D11.

D1 (seed 000) greets every client with one message, D8 (seed 002) welcomes
one client and exits, D11 (seed 003) only prints who connected and closes.
The seeds' own servers and clients are written out below (print() collected
into a list) and run against the C programs on 127.0.0.1 with an ephemeral
port: the C server with the Python client and the C client with the Python
server must exchange the same bytes and print the same lines as the Python pair.
"""
import re
import socket
import threading
import unittest

from harness import SLACK, ExampleTest

TIMEOUT = 5.0 * SLACK
GREETING = "Message Received and the message is ->Socket Programming in Python"
WELCOME = "Welcome to the server!"


class Printed:
    """Stands in for print(): collects the lines the seed's code prints."""

    def __init__(self):
        self.lines = []

    def __call__(self, *args):
        self.lines.append(" ".join(str(a) for a in args))


# ---- The seeds' programs (only print, the address and the loop bound differ) ----

def seed_greeting_server(soc, print, clients=1):
    """Seed 000's first server.py (D1), on an already bound, listening socket."""
    for _ in range(clients):  # the seed: while True
        clt, addr = soc.accept()
        print(f"Connection Established to address {addr}")
        msg = "Message Received and the message is ->"
        clt.send(bytes(msg + "Socket Programming in Python", "utf-8"))
        clt.close()  # the seed leaves this to the garbage collector


def seed_greeting_client(address, print):
    """Seed 000's first client.py (D1); returns (bytes received, local address)."""
    soc = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    soc.settimeout(TIMEOUT)
    soc.connect(address)
    local = soc.getsockname()
    msg = soc.recv(100)
    print(msg.decode("utf-8"))
    soc.close()
    return msg, local


def seed_welcome_server(server_socket, print, clients=1):
    """Seed 002's server (D8), on an already bound, listening socket."""
    print('Waiting for a client connection...')
    client_socket, addr = server_socket.accept()
    print('Connection established with:', addr)
    message = 'Welcome to the server!'
    client_socket.send(message.encode())
    client_socket.close()


def seed_welcome_client(address, print):
    """Seed 002's client (D8); returns (bytes received, local address)."""
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_socket.settimeout(TIMEOUT)
    client_socket.connect(address)
    local = client_socket.getsockname()
    message = client_socket.recv(1024)
    print(message.decode())
    client_socket.close()
    return message, local


SEEDS = {
    "greeting": (seed_greeting_server, seed_greeting_client, GREETING),
    "welcome": (seed_welcome_server, seed_welcome_client, WELCOME),
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
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.printed = Printed()
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(seed, clients), daemon=True)
        self.thread.start()

    def _run(self, seed, clients):
        try:
            seed(self.sock, self.printed, clients)
        except Exception as e:  # reported by join()
            self.error = e

    def join(self):
        self.thread.join(TIMEOUT * 2)
        if self.thread.is_alive():
            raise AssertionError("the Python seed server did not finish")
        if self.error is not None:
            raise AssertionError(f"the Python seed server failed: {self.error!r}")
        return self.printed.lines


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peer_of(line, prefix):
    """The ('127.0.0.1', port) text at the end of a server line."""
    m = re.fullmatch(re.escape(prefix) + r"(\('127\.0\.0\.1', \d+\))", line)
    return m and m.group(1)


class Welcome(ExampleTest):

    def test_d1_greeting_every_client(self):
        server, port = self.server("welcome_server", "--style", "greeting", "--max-clients", 2)
        for _ in range(2):
            r = self.run_prog("welcome_client", "--style", "greeting",
                              "--host", "127.0.0.1", "--port", port)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, GREETING + "\n")
            self.assertEqual(r.stderr, "")
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(anonymous(lines),
                         ["Connection Established to address ('127.0.0.1', PORT)"] * 2)

    def test_d1_client_receives_at_most_100_bytes(self):
        server, port = self.server("welcome_server", "--style", "greeting", "--max-clients", 1)
        r = self.run_prog("welcome_client", "--style", "greeting", "--host", "127.0.0.1",
                          "--port", port, "--bufsize", 10)
        self.assertEqual(r.stdout, GREETING[:10] + "\n")
        self.assertEqual(server.wait(), 0)
        # The seed's recv(100) against a longer greeting: a stand-in server.
        with socket.socket() as ls:
            ls.bind(("127.0.0.1", 0))
            ls.listen(1)
            ls.settimeout(TIMEOUT)
            client = self.start("welcome_client", "--style", "greeting", "--host", "127.0.0.1",
                                "--port", ls.getsockname()[1])
            conn, _ = ls.accept()
            with conn:
                conn.sendall(b"y" * 150)
                self.assertEqual(client.rest(), ["y" * 100])
                self.assertEqual(client.proc.returncode, 0)

    def test_d8_welcome_one_client_then_exit(self):
        server, port = self.server("welcome_server")  # welcome is the default style
        self.assertEqual(server.line(), "Waiting for a client connection...")
        r = self.run_prog("welcome_client", "--host", "127.0.0.1", "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, WELCOME + "\n")
        lines = server.rest()  # it exits by itself after one client
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(peer_of(lines[0], "Connection established with: "), lines)

    def test_d8_max_clients(self):
        server, port = self.server("welcome_server", "--style", "welcome", "--max-clients", 2)
        for _ in range(2):
            r = self.run_prog("welcome_client", "--style", "welcome", "--host", "127.0.0.1",
                              "--port", port)
            self.assertEqual(r.stdout, WELCOME + "\n")
        self.assertEqual(anonymous(server.rest()), [
            "Waiting for a client connection...",
            "Connection established with: ('127.0.0.1', PORT)",
            "Waiting for a client connection...",
            "Connection established with: ('127.0.0.1', PORT)",
        ])

    def test_d11_accept_and_close(self):
        server, port = self.server("welcome_server", "--style", "close", "--max-clients", 2)
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            local = s.getsockname()
            self.assertEqual(s.recv(1024), b"")  # closed at once, nothing sent
        self.assertEqual(server.line(), f"Connected by {local!r}")
        r = self.run_prog("welcome_client", "--style", "close", "--host", "127.0.0.1",
                          "--port", port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "\n")  # print(b''.decode())
        lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertEqual(len(lines), 1)
        self.assertTrue(peer_of(lines[0], "Connected by "), lines)

    def check_interop(self, style, c_server_args):
        seed_server, seed_client, text = SEEDS[style]

        # The Python pair, as the tutorial runs it.
        py_server = PythonServer(self, seed_server)
        out = Printed()
        msg, _ = seed_client(("127.0.0.1", py_server.port), out)
        self.assertEqual(msg, text.encode())
        py_client_lines = out.lines
        py_server_lines = py_server.join()

        # The C server with the seed's client.
        server, port = self.server("welcome_server", "--style", style, *c_server_args)
        out = Printed()
        msg, local = seed_client(("127.0.0.1", port), out)
        self.assertEqual(msg, text.encode())
        self.assertEqual(out.lines, py_client_lines)
        c_server_lines = server.rest()
        self.assertEqual(server.proc.returncode, 0, server.err)
        self.assertIn(repr(local), c_server_lines[-1])
        self.assertEqual(anonymous(c_server_lines), anonymous(py_server_lines))

        # The seed's server with the C client.
        py_server = PythonServer(self, seed_server)
        r = self.run_prog("welcome_client", "--style", style, "--host", "127.0.0.1",
                          "--port", py_server.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), py_client_lines)
        self.assertEqual(anonymous(py_server.join()), anonymous(py_server_lines))

    def test_d8_interop_with_the_seed(self):
        self.check_interop("welcome", [])

    def test_d1_interop_with_the_seed(self):
        self.check_interop("greeting", ["--max-clients", 1])

    def test_default_host_is_the_machine_name(self):
        # The seeds bind gethostname(); only tested where that name is loopback.
        try:
            ip = socket.gethostbyname(socket.gethostname())
        except OSError:
            self.skipTest("the host name does not resolve")
        if not ip.startswith("127."):
            self.skipTest(f"the host name is not a loopback address ({ip})")
        server = self.start("welcome_server", "--port", 0)
        m = re.fullmatch(r"listening on ([0-9.]+):(\d+)", server.line() or "")
        self.assertIsNotNone(m)
        self.assertEqual(m.group(1), ip)
        self.assertEqual(server.line(), "Waiting for a client connection...")
        r = self.run_prog("welcome_client", "--port", m.group(2))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, WELCOME + "\n")
        self.assertEqual(server.wait(), 0)

    def test_client_connection_refused(self):
        r = self.run_prog("welcome_client", "--host", "127.0.0.1", "--port", closed_port())
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "welcome_client: [Errno 111] Connection refused\n")

    def test_usage(self):
        for prog in ("welcome_server", "welcome_client"):
            r = self.run_prog(prog, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("--style", r.stdout)
            r = self.run_prog(prog, "--style", "nope")
            self.assertEqual(r.returncode, 2)
            self.assertTrue(r.stderr.startswith(prog + ": unknown style"), r.stderr)


if __name__ == "__main__":
    unittest.main()
