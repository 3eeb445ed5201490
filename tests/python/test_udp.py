"""UdpEndpoint: every call, its success path and its edge cases."""
import errno
import os
import signal
import socket
import stat
import threading
import time
import unittest

from nk_support import LOOPBACK, SLACK, Threads, catch, has_ipv6, netkit


class TestUdpEndpoint(unittest.TestCase):

    def endpoint(self, bind=(LOOPBACK, 0)):
        u = netkit.UdpEndpoint(bind)
        self.addCleanup(u.close)
        u.settimeout(5 * SLACK)
        return u

    def test_sendto_recvfrom(self):
        a, b = self.endpoint(), self.endpoint()
        self.assertEqual(a.sendto(b"datagram", b.getsockname()), 8)
        data, sender = b.recvfrom(100)
        self.assertEqual((data, sender), (b"datagram", a.getsockname()))
        self.assertEqual(b.sendto(bytearray(b"back"), 0, sender), 4)  # (data, flags, address)
        self.assertEqual(a.recvfrom(100), (b"back", b.getsockname()))
        a.sendto(b"", b.getsockname())
        self.assertEqual(b.recvfrom(100), (b"", a.getsockname()))
        self.assertIsInstance(catch(a.sendto, b"x", 1, b.getsockname()), ValueError)

    def test_unbound_endpoint(self):
        # UdpEndpoint() is what an unbound Python socket is after its first sendto.
        u = self.endpoint(None)
        host, port = u.getsockname()[:2]
        self.assertIn(host, ("::", "0.0.0.0"))
        self.assertEqual(u.port, port)
        b = self.endpoint()
        u.sendto(b"hi", b.getsockname())
        data, sender = b.recvfrom(10)
        self.assertEqual((data, sender), (b"hi", (LOOPBACK, port)))  # a plain IPv4 peer
        b.sendto(b"ho", sender)
        self.assertEqual(u.recvfrom(10)[0], b"ho")

    def test_port_and_fileno(self):
        u = self.endpoint()
        self.assertEqual(u.port, u.getsockname()[1])
        self.assertTrue(stat.S_ISSOCK(os.fstat(u.fileno()).st_mode))
        with socket.socket(fileno=os.dup(u.fileno())) as view:
            self.assertEqual(view.type, socket.SOCK_DGRAM)
            self.assertEqual(view.getsockname(), u.getsockname())

    def test_connect_send_recv(self):
        a, b = self.endpoint(), self.endpoint()
        a.connect(b.getsockname())
        self.assertEqual(a.getpeername(), b.getsockname())
        self.assertEqual(a.send(b"to the peer"), 11)
        self.assertEqual(b.recv(100), b"to the peer")
        b.sendto(b"reply", a.getsockname())
        self.assertEqual(a.recv(100), b"reply")
        # A connected endpoint only hears its peer.
        c = self.endpoint()
        c.sendto(b"stranger", a.getsockname())
        b.sendto(b"peer", a.getsockname())
        self.assertEqual(a.recv(100), b"peer")

    def test_truncation_is_reported(self):
        a, b = self.endpoint(), self.endpoint()
        a.sendto(b"x" * 100, b.getsockname())
        exc = catch(b.recvfrom, 10)
        self.assertIs(type(exc), OSError)
        self.assertEqual(exc.errno, errno.EMSGSIZE)
        self.assertEqual(str(exc), "[Errno 90] Message too long")
        a.sendto(b"small", b.getsockname())
        self.assertEqual(b.recvfrom(10)[0], b"small")  # the long one is gone

    def test_timeouts(self):
        u = self.endpoint()
        u.settimeout(0.2)
        self.assertEqual(u.gettimeout(), 0.2)
        start = time.monotonic()
        exc = catch(u.recvfrom, 10)
        elapsed = time.monotonic() - start
        self.assertIsInstance(exc, socket.timeout)
        self.assertEqual(str(exc), "timed out")
        self.assertGreaterEqual(elapsed, 0.2 - 0.005)
        self.assertLess(elapsed, 0.2 + 0.5 * SLACK)
        u.setblocking(False)
        self.assertFalse(u.getblocking())
        self.assertIsInstance(catch(u.recv, 10), BlockingIOError)
        u.setblocking(True)
        self.assertIsNone(u.gettimeout())

    def test_blocking_recvfrom_in_a_thread(self):
        a, b = self.endpoint(), self.endpoint()
        b.settimeout(None)
        got = []
        threads = Threads(self)
        threads.start(lambda: got.append(b.recvfrom(100)))
        time.sleep(0.05)
        a.sendto(b"late", b.getsockname())
        threads.join()
        self.assertEqual(got[0][0], b"late")

    def test_close_from_another_thread_wakes_a_blocked_recvfrom(self):
        u = netkit.UdpEndpoint((LOOPBACK, 0))
        result = []
        threads = Threads(self)
        threads.start(lambda: result.append(catch(u.recvfrom, 10)))
        time.sleep(0.1)
        start = time.monotonic()
        u.close()
        threads.join()
        self.assertLess(time.monotonic() - start, 1.0 * SLACK)
        self.assertEqual(result[0].errno, errno.EBADF)

    def test_context_manager_double_close_use_after_close(self):
        with netkit.UdpEndpoint() as u:
            pass
        u.close()
        self.assertTrue(u.closed)
        self.assertEqual(catch(u.recvfrom, 1).errno, errno.EBADF)
        self.assertEqual(u.fileno(), -1)
        self.assertEqual(repr(u), "<netkit.UdpEndpoint [closed] fd=-1>")

    @unittest.skipUnless(has_ipv6(), "no IPv6 loopback here")
    def test_ipv6(self):
        a, b = self.endpoint(("::1", 0)), self.endpoint(("::1", 0))
        self.assertEqual(a.getsockname(), ("::1", a.port, 0, 0))
        a.sendto(b"six", ("::1", b.port))
        self.assertEqual(b.recvfrom(10), (b"six", ("::1", a.port, 0, 0)))
        b.sendto(b"four-tuple", ("::1", a.port, 0, 0))
        self.assertEqual(a.recvfrom(20)[0], b"four-tuple")

    def test_recvfrom_in_the_main_thread_is_interruptible(self):
        if threading.current_thread() is not threading.main_thread():
            self.skipTest("signals reach the main thread only")
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
        self.addCleanup(signal.signal, signal.SIGINT, old)
        u = self.endpoint()
        u.settimeout(None)
        timer = threading.Timer(0.1, signal.pthread_kill,
                                (threading.main_thread().ident, signal.SIGINT))
        timer.start()
        self.addCleanup(timer.join)
        start = time.monotonic()
        self.assertIsInstance(catch(u.recvfrom, 10), KeyboardInterrupt)
        self.assertLess(time.monotonic() - start, 1.0 * SLACK)
        b = self.endpoint()
        b.sendto(b"still works", u.getsockname())
        self.assertEqual(u.recvfrom(20)[0], b"still works")


if __name__ == "__main__":
    unittest.main()
