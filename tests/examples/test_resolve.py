"""Demos D10 (seed 002, gethostbyname) and D14 (seed 003, getaddrinfo): resolve.

Only names this machine resolves without a network (localhost, literals) are
used; every answer is compared with what Python's socket module says for the
same question in the same run.
"""
import socket
import unittest

from harness import ExampleTest


def python_error(call):
    """str() of the exception call() raises, or None if it raises nothing."""
    try:
        call()
    except OSError as e:
        return str(e)
    return None


class ResolveTest(ExampleTest):
    def resolve(self, *args, code=0):
        r = self.run_prog("resolve", *args, timeout=30)
        self.assertEqual(r.returncode, code, f"resolve {args}: stderr {r.stderr!r}")
        return r

    # ---- D10: gethostbyname ------------------------------------------------------

    def test_gethostbyname_localhost(self):
        r = self.resolve("localhost")
        self.assertEqual(r.stdout, socket.gethostbyname("localhost") + "\n")
        self.assertEqual(r.stdout, "127.0.0.1\n")
        self.assertEqual(r.stderr, "")

    def test_host_option_is_the_argument(self):
        self.assertEqual(self.resolve("--host", "localhost").stdout, "127.0.0.1\n")

    def test_gethostbyname_literals_like_python(self):
        for name in ("127.0.0.1", "10.1.2.3", "", "<broadcast>"):
            with self.subTest(name=name):
                self.assertEqual(self.resolve("--", name).stdout,
                                 socket.gethostbyname(name) + "\n")

    def test_unknown_name_is_gaierror(self):
        expected = python_error(lambda: socket.gethostbyname("nosuchhost.invalid"))
        self.assertIsNotNone(expected)
        r = self.resolve("nosuchhost.invalid", code=1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, f"resolve: {expected}\n")
        if expected.startswith("[Errno -2]"):  # no DNS trouble here: the tutorial's text
            self.assertEqual(r.stderr, "resolve: [Errno -2] Name or service not known\n")

    def test_ipv6_literal_has_no_ipv4(self):
        expected = python_error(lambda: socket.gethostbyname("::1"))
        r = self.resolve("::1", code=1)
        self.assertEqual(r.stderr, f"resolve: {expected}\n")
        self.assertEqual(expected, "[Errno -9] Address family for hostname not supported")

    # ---- D14: getaddrinfo -----------------------------------------------------------

    def check_getaddrinfo(self, args, *pyargs):
        r = self.resolve("--all", *args)
        expected = [str(e) for e in socket.getaddrinfo(*pyargs)]
        self.assertTrue(expected)
        self.assertEqual(r.stdout.splitlines(), expected)

    def test_getaddrinfo_like_python(self):
        self.check_getaddrinfo(["localhost", "--port", "80"], "localhost", 80)
        self.check_getaddrinfo(["localhost"], "localhost", None)
        self.check_getaddrinfo(["127.0.0.1", "--port", "65432"], "127.0.0.1", 65432)

    def test_getaddrinfo_first_entry_text(self):
        r = self.resolve("--all", "--host", "127.0.0.1", "--port", "80", "--type", "stream")
        self.assertEqual(r.stdout, "(<AddressFamily.AF_INET: 2>, <SocketKind.SOCK_STREAM: 1>,"
                                   " 6, '', ('127.0.0.1', 80))\n")

    def test_getaddrinfo_ipv6(self):
        self.check_getaddrinfo(["::1", "--port", "8080"], "::1", 8080)
        self.check_getaddrinfo(["-6", "::1"], "::1", 0, socket.AF_INET6)

    def test_getaddrinfo_filters_and_canonname(self):
        self.check_getaddrinfo(["-4", "--type", "dgram", "localhost"],
                               "localhost", 0, socket.AF_INET, socket.SOCK_DGRAM)
        self.check_getaddrinfo(["--canonname", "--type", "stream", "localhost"],
                               "localhost", 0, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)

    def test_getaddrinfo_error(self):
        expected = python_error(lambda: socket.getaddrinfo("nosuchhost.invalid", 80))
        r = self.resolve("--all", "nosuchhost.invalid", code=1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, f"resolve: {expected}\n")
        expected = python_error(lambda: socket.getaddrinfo("127.0.0.1", 0, socket.AF_INET6))
        r = self.resolve("--all", "-6", "127.0.0.1", code=1)
        self.assertEqual(r.stderr, f"resolve: {expected}\n")

    # ---- gethostbyaddr --------------------------------------------------------------

    def test_reverse(self):
        r = self.resolve("--reverse", "127.0.0.1")
        self.assertEqual(r.stdout, socket.gethostbyaddr("127.0.0.1")[0] + "\n")

    def test_reverse_unknown_address_is_herror(self):
        expected = python_error(lambda: socket.gethostbyaddr("127.0.0.77"))
        if expected is None:
            self.skipTest("127.0.0.77 has a name on this machine")
        r = self.resolve("-r", "127.0.0.77", code=1)
        self.assertEqual(r.stderr, f"resolve: {expected}\n")
        self.assertEqual(expected, "[Errno 1] Unknown host")

    # ---- command line ------------------------------------------------------------------

    def test_help(self):
        r = self.resolve("--help")
        self.assertIn("Usage: resolve", r.stdout)
        self.assertEqual(r.stderr, "")

    def test_bad_usage(self):
        for args in (["--bogus"], ["--port", "70000", "--all", "localhost"],
                     ["--type", "seqpacket", "--all", "localhost"], ["a", "b"]):
            with self.subTest(args=args):
                r = self.resolve(*args, code=2)
                self.assertEqual(r.stdout, "")
                self.assertNotEqual(r.stderr, "")


if __name__ == "__main__":
    unittest.main()
