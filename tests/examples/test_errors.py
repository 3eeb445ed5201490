"""Demo D7 (seed 001): error handling - errors.

Each scenario runs twice in the same test: once by the C program, once by
Python's own socket module with the tutorial's try/except (the specific
handlers first, as they are subclasses of socket.error in Python 3), and the
printed lines must be the same.
"""
import re
import socket
import time
import unittest

from harness import ExampleTest, SLACK

HOST = "127.0.0.1"


def python_line(call):
    """What the tutorial's try/except prints for call(), and the exception class."""
    try:
        call()
    except socket.timeout as e:
        return f"Socket timeout: {e}", type(e).__name__
    except socket.gaierror as e:
        return f"Address-resolution error: {e}", type(e).__name__
    except socket.herror as e:
        return f"Host error: {e}", type(e).__name__
    except socket.error as e:
        return f"Socket error: {e}", type(e).__name__
    except Exception as e:  # noqa: BLE001 - the seed's last branch
        return f"Other error: {e}", type(e).__name__
    return None, None


def py_bind_in_use():
    with socket.socket() as first, socket.socket() as second:
        first.bind((HOST, 0))
        first.listen(1)
        second.bind((HOST, first.getsockname()[1]))


def py_refused():
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    with socket.create_connection((HOST, port), timeout=5):
        pass


def py_timeout():
    with socket.socket() as server:
        server.bind((HOST, 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5) as c:
            c.settimeout(0.2)
            c.recv(1024)


def py_gaierror():
    with socket.socket() as s:
        s.bind(("nosuchhost.invalid", 0))


def py_herror():
    socket.gethostbyaddr("127.0.0.77")


def py_bad_port():
    with socket.socket() as s:
        s.bind((HOST, 70000))


class ErrorsTest(ExampleTest):
    def errors(self, *args, code=0):
        r = self.run_prog("errors", "--host", HOST, "--port", 0, *args, timeout=30)
        self.assertEqual(r.returncode, code, f"errors {args}: stderr {r.stderr!r}")
        return r.stdout.splitlines()

    def check_pair(self, lines, first, second_re):
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[0], first)
        self.assertRegex(lines[1], second_re)

    def test_bind_in_use(self):
        lines = self.errors("--bind-in-use")
        self.check_pair(lines, "Socket error: [Errno 98] Address already in use",
                        r"^  bind\(\('127\.0\.0\.1', \d+\)\) raised OSError \(socket\.error\): "
                        r"EADDRINUSE, errno 98$")
        self.assertEqual(python_line(py_bind_in_use), (lines[0], "OSError"))

    def test_refused(self):
        lines = self.errors("--refused")
        self.check_pair(lines, "Socket error: [Errno 111] Connection refused",
                        r"^  connect\(\('127\.0\.0\.1', \d+\)\) raised ConnectionRefusedError "
                        r"\(socket\.error\): ECONNREFUSED, errno 111$")
        self.assertEqual(python_line(py_refused), (lines[0], "ConnectionRefusedError"))

    def test_timeout(self):
        start = time.monotonic()
        lines = self.errors("--timeout", "--timeout-ms", 300)
        elapsed = time.monotonic() - start
        self.check_pair(lines, "Socket timeout: timed out",
                        r"^  recv\(1024\) after settimeout\(0\.3\) raised TimeoutError "
                        r"\(socket\.timeout\): NK_ETIMEOUT$")
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 5 * SLACK)
        self.assertEqual(python_line(py_timeout), (lines[0], "TimeoutError"))

    def test_gaierror(self):
        lines = self.errors("--gaierror")
        expected, cls = python_line(py_gaierror)
        self.assertEqual(cls, "gaierror")
        self.assertEqual(lines[0], expected)
        if expected.endswith("[Errno -2] Name or service not known"):
            self.check_pair(lines,
                            "Address-resolution error: [Errno -2] Name or service not known",
                            r"^  bind\(\('nosuchhost\.invalid', 0\)\) raised socket\.gaierror: "
                            r"EAI_NONAME, EAI code -2$")

    def test_herror(self):
        expected, cls = python_line(py_herror)
        if expected is None:
            self.skipTest("127.0.0.77 has a name on this machine")
        lines = self.errors("--herror")
        self.check_pair(lines, "Host error: [Errno 1] Unknown host",
                        r"^  gethostbyaddr\('127\.0\.0\.77'\) raised socket\.herror: "
                        r"HOST_NOT_FOUND, h_errno 1$")
        self.assertEqual((lines[0], cls), (expected, "herror"))

    def test_bad_port_is_the_other_branch(self):
        lines = self.errors("--bad-port")
        self.check_pair(lines, "Other error: port must be 0-65535.",
                        r"^  bind\(\('127\.0\.0\.1', 70000\)\) raised OverflowError: NK_EPORT$")
        expected, cls = python_line(py_bad_port)
        self.assertEqual(cls, "OverflowError")
        # Python names the C function: "Other error: bind(): port must be 0-65535."
        self.assertEqual(expected, "Other error: bind(): port must be 0-65535.")

    def test_default_run_shows_every_kind_in_turn(self):
        lines = self.errors()
        self.assertEqual(len(lines), 12, lines)
        firsts = lines[0::2]
        self.assertEqual(firsts[:3], ["Socket error: [Errno 98] Address already in use",
                                      "Socket error: [Errno 111] Connection refused",
                                      "Socket timeout: timed out"])
        self.assertTrue(firsts[3].startswith("Address-resolution error: [Errno "), firsts[3])
        self.assertEqual(firsts[5], "Other error: port must be 0-65535.")
        kinds = [re.search(r" raised ([^\s:]+)", line).group(1) for line in lines[1::2]]
        self.assertEqual(kinds, ["OSError", "ConnectionRefusedError", "TimeoutError",
                                 "socket.gaierror", "socket.herror", "OverflowError"])
        for line, call in zip(firsts, (py_bind_in_use, py_refused, py_timeout,
                                       py_gaierror, py_herror)):
            if call is py_herror and python_line(call)[0] is None:
                continue
            self.assertEqual(line, python_line(call)[0])

    def test_scenario_that_does_not_fail_exits_1(self):
        r = self.run_prog("errors", "--herror", "--unknown-addr", "127.0.0.1")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "errors: --herror: gethostbyaddr('127.0.0.1') raised nothing\n")

    def test_two_scenarios_in_order(self):
        lines = self.errors("--timeout", "--bind-in-use")
        self.assertEqual(lines[0::2], ["Socket error: [Errno 98] Address already in use",
                                       "Socket timeout: timed out"])

    def test_help(self):
        r = self.run_prog("errors", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("Usage: errors", r.stdout)

    def test_bad_usage(self):
        for args in (["--bogus"], ["--port", "-1"], ["--timeout-ms", "0"], ["extra"]):
            with self.subTest(args=args):
                r = self.run_prog("errors", *args)
                self.assertEqual(r.returncode, 2)
                self.assertEqual(r.stdout, "")
                self.assertNotEqual(r.stderr, "")


if __name__ == "__main__":
    unittest.main()
