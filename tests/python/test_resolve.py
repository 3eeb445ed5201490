"""gethostname, gethostbyname, gethostbyaddr and getaddrinfo, each compared
with Python's own answer for the same question."""
import socket
import unittest

from nk_support import assert_same_error, catch, has_ipv6, netkit


class TestResolve(unittest.TestCase):

    def test_gethostname(self):
        self.assertEqual(netkit.gethostname(), socket.gethostname())

    def test_gethostbyname(self):
        for name in ("localhost", "127.0.0.1", "", "<broadcast>", socket.gethostname()):
            with self.subTest(name=name):
                self.assertEqual(netkit.gethostbyname(name), socket.gethostbyname(name))
        self.assertEqual(netkit.gethostbyname(b"localhost"), "127.0.0.1")

    def test_gethostbyaddr(self):
        for name in ("127.0.0.1", "localhost"):
            with self.subTest(name=name):
                mine = netkit.gethostbyaddr(name)
                python = socket.gethostbyaddr(name)
                self.assertEqual(mine[0], python[0])
                self.assertEqual(mine[2], python[2])
                self.assertEqual(mine[1], [])  # netkit gives the primary name only

    def test_getaddrinfo_like_python(self):
        cases = [("localhost", 80), ("127.0.0.1", 0), ("127.0.0.1", None), (None, 80),
                 ("localhost", "http"), ("localhost", "8080"),
                 ("localhost", 80, socket.AF_INET), ("localhost", 80, 0, socket.SOCK_STREAM),
                 ("localhost", 80, 0, socket.SOCK_DGRAM), ("127.0.0.1", 80, 0, 0, socket.IPPROTO_UDP),
                 ("127.0.0.1", 80, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST),
                 (None, 80, socket.AF_INET, socket.SOCK_STREAM, 0, socket.AI_PASSIVE),
                 ("localhost", "domain"), ("localhost", b"echo", 0, socket.SOCK_DGRAM),
                 ("localhost", 80, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)]
        if has_ipv6():
            cases.append(("::1", 443, socket.AF_INET6, socket.SOCK_STREAM))
            cases.append(("fe80::1%1", 5, socket.AF_INET6, socket.SOCK_DGRAM))  # a scope id
        for args in cases:
            with self.subTest(args=args):
                mine = netkit.getaddrinfo(*args)
                self.assertEqual(mine, socket.getaddrinfo(*args))
                self.assertEqual([repr(e) for e in mine],
                                 [repr(e) for e in socket.getaddrinfo(*args)])

    def test_getaddrinfo_errors(self):
        for args in (("localhost", "no-such-service"), ("localhost", 80, 0, socket.SOCK_STREAM,
                                                        socket.IPPROTO_UDP),
                     ("localhost", "echo", 0, socket.SOCK_RAW), ("", 80)):
            with self.subTest(args=args):
                mine, python = catch(netkit.getaddrinfo, *args), catch(socket.getaddrinfo, *args)
                self.assertIs(type(mine), type(python))
                self.assertEqual(str(mine), str(python))
        self.assertIsInstance(catch(netkit.getaddrinfo, "localhost", 70000), OverflowError)
        self.assertIsInstance(catch(netkit.getaddrinfo, 1, 80), TypeError)
        self.assertIsInstance(catch(netkit.getaddrinfo, "localhost", 80, "x"), TypeError)
        assert_same_error(self, catch(netkit.gethostbyname, "a\0b"),
                          catch(socket.gethostbyname, "a\0b"))
        long_name = "a." * 150
        self.assertEqual(str(catch(netkit.gethostbyname, long_name)),
                         str(catch(socket.gethostbyname, long_name)))
        self.assertEqual(str(catch(netkit.gethostbyname, 5)), str(catch(socket.gethostbyname, 5)))


if __name__ == "__main__":
    unittest.main()
