"""Differential error tests: every scenario is done with Python's own socket
module and with the binding in the same test, and the exceptions compared:
class, errno / EAI code, args and str()."""
import errno
import gc
import os
import select
import socket
import struct
import time
import unittest
import warnings

from nk_support import (LOOPBACK, SLACK, assert_same_error, catch, hanging_listener, netkit,
                        netkit_pair, python_listener)


class TestDifferentialErrors(unittest.TestCase):
    """The seven scenarios of the issue, and the argument errors around them."""

    def test_refused_connect(self):
        with socket.socket() as holder:  # bound, not listening: connects are refused
            holder.bind((LOOPBACK, 0))
            port = holder.getsockname()[1]
            python = catch(socket.create_connection, (LOOPBACK, port))
            mine = catch(netkit.create_connection, (LOOPBACK, port))
        self.assertIsInstance(python, ConnectionRefusedError)
        assert_same_error(self, mine, python)
        self.assertEqual(mine.errno, errno.ECONNREFUSED)
        self.assertEqual(str(mine), "[Errno 111] Connection refused")

    def test_unresolvable_name(self):
        address = ("nosuchhost.invalid", 80)
        python = catch(socket.create_connection, address)
        mine = catch(netkit.create_connection, address)
        self.assertIsInstance(python, socket.gaierror)
        assert_same_error(self, mine, python)
        # The other calls that resolve a name say the same.
        assert_same_error(self, catch(netkit.gethostbyname, address[0]),
                          catch(socket.gethostbyname, address[0]))
        assert_same_error(self, catch(netkit.getaddrinfo, *address),
                          catch(socket.getaddrinfo, *address))
        assert_same_error(self, catch(netkit.create_server, address),
                          catch(socket.create_server, address))
        assert_same_error(self, catch(netkit.gethostbyaddr, address[0]),
                          catch(socket.gethostbyaddr, address[0]))

    def test_recv_timeout(self):
        with python_listener() as listener:
            port = listener.getsockname()[1]
            with socket.create_connection((LOOPBACK, port)) as theirs, \
                    netkit.create_connection((LOOPBACK, port)) as mine_client:
                theirs.settimeout(0.2)
                mine_client.settimeout(0.2)
                python = catch(theirs.recv, 10)
                start = time.monotonic()
                mine = catch(mine_client.recv, 10)
                elapsed = time.monotonic() - start
        self.assertIsInstance(python, socket.timeout)
        assert_same_error(self, mine, python)
        self.assertEqual(str(mine), "timed out")
        self.assertGreaterEqual(elapsed, 0.2 - 0.005)
        self.assertLess(elapsed, 0.2 + 0.5 * SLACK)

    def test_connect_timeout(self):
        _, port = hanging_listener(self)
        python = catch(socket.create_connection, (LOOPBACK, port), timeout=0.3)
        start = time.monotonic()
        mine = catch(netkit.create_connection, (LOOPBACK, port), timeout=0.3)
        elapsed = time.monotonic() - start
        self.assertIsInstance(python, socket.timeout)
        assert_same_error(self, mine, python)
        self.assertGreaterEqual(elapsed, 0.3 - 0.005)
        self.assertLess(elapsed, 0.3 + 0.5 * SLACK)

    def test_bind_port_in_use(self):
        with python_listener() as listener:
            address = listener.getsockname()
            python = catch(socket.create_server, address)
            mine = catch(netkit.create_server, address)
        self.assertEqual(python.errno, errno.EADDRINUSE)
        assert_same_error(self, mine, python)
        # socket.create_server's wording, which the binding's create_server keeps.
        self.assertEqual(str(mine), f"[Errno 98] Address already in use (while attempting "
                                    f"to bind on address {address!r})")
        # A UDP bind is socket.bind's: the message alone.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind((LOOPBACK, 0))
            address = taken.getsockname()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                python = catch(other.bind, address)
            mine = catch(netkit.UdpEndpoint, address)
        assert_same_error(self, mine, python)
        self.assertEqual(str(mine), "[Errno 98] Address already in use")

    def _send_after_peer_closed(self, client, listener):
        """sends into a connection whose peer closed with a reset: the first
        send reports the reset, the next one EPIPE. Returns both exceptions."""
        peer, _ = listener.accept()
        # SO_LINGER 0: close sends a RST at once, so the outcome is deterministic.
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
        ready, _, _ = select.select([client.fileno()], [], [], 5 * SLACK)
        self.assertTrue(ready, "the reset never arrived")
        return catch(client.send, b"x"), catch(client.send, b"x")

    def test_send_after_peer_closed(self):
        with python_listener() as listener:
            port = listener.getsockname()[1]
            with socket.create_connection((LOOPBACK, port)) as theirs:
                python = self._send_after_peer_closed(theirs, listener)
            with netkit.create_connection((LOOPBACK, port)) as mine_client:
                mine = self._send_after_peer_closed(mine_client, listener)
                # sendall raises the same class as send does by then.
                assert_same_error(self, catch(mine_client.sendall, b"x"), python[1])
        self.assertIn(python[0].errno, (errno.ECONNRESET, errno.EPIPE))
        self.assertEqual(python[1].errno, errno.EPIPE)
        assert_same_error(self, mine[0], python[0])
        assert_same_error(self, mine[1], python[1])
        self.assertIsInstance(mine[1], BrokenPipeError)

    def test_nonblocking_recv_nothing_to_read(self):
        with python_listener() as listener:
            port = listener.getsockname()[1]
            with socket.create_connection((LOOPBACK, port)) as theirs, \
                    netkit.create_connection((LOOPBACK, port)) as mine_client:
                theirs.setblocking(False)
                mine_client.setblocking(False)
                python = catch(theirs.recv, 10)
                mine = catch(mine_client.recv, 10)
                self.assertIsInstance(mine, BlockingIOError)
                assert_same_error(self, mine, python)
                # recv_into, recv_exact and recv_line say the same.
                assert_same_error(self, catch(mine_client.recv_into, bytearray(4)), python)
                assert_same_error(self, catch(mine_client.recv_exact, 4), python)
                assert_same_error(self, catch(mine_client.recv_line), python)
        self.assertEqual(mine.errno, errno.EAGAIN)
        self.assertEqual(str(mine), "[Errno 11] Resource temporarily unavailable")

    # ---- more scenarios, compared the same way ---------------------------

    def test_connect_timeout_zero_is_in_progress(self):
        with python_listener() as listener:
            address = listener.getsockname()
            python = catch(socket.create_connection, address, timeout=0)
            mine = catch(netkit.create_connection, address, timeout=0)
        self.assertIsInstance(mine, BlockingIOError)
        assert_same_error(self, mine, python)

    def test_accept_nonblocking_and_timeout(self):
        with socket.create_server((LOOPBACK, 0)) as theirs, \
                netkit.create_server((LOOPBACK, 0)) as mine_server:
            theirs.setblocking(False)
            mine_server.setblocking(False)
            assert_same_error(self, catch(mine_server.accept), catch(theirs.accept))
            theirs.settimeout(0.1)
            mine_server.settimeout(0.1)
            assert_same_error(self, catch(mine_server.accept), catch(theirs.accept))

    def test_udp_errors(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as theirs, \
                netkit.UdpEndpoint((LOOPBACK, 0)) as mine_udp:
            theirs.bind((LOOPBACK, 0))
            # Non-blocking receive with nothing to read.
            theirs.setblocking(False)
            mine_udp.setblocking(False)
            assert_same_error(self, catch(mine_udp.recvfrom, 10), catch(theirs.recvfrom, 10))
            assert_same_error(self, catch(mine_udp.recv, 10), catch(theirs.recv, 10))
            # A receive timeout.
            theirs.settimeout(0.1)
            mine_udp.settimeout(0.1)
            assert_same_error(self, catch(mine_udp.recvfrom, 10), catch(theirs.recvfrom, 10))
            # Not connected: no peer, no default destination.
            assert_same_error(self, catch(mine_udp.getpeername), catch(theirs.getpeername))
            assert_same_error(self, catch(mine_udp.send, b"x"), catch(theirs.send, b"x"))

    def test_udp_connected_refused(self):
        # An ICMP port unreachable on a connected endpoint: ECONNREFUSED on the next receive.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
            holder.bind((LOOPBACK, 0))
            port = holder.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as theirs, \
                netkit.UdpEndpoint((LOOPBACK, 0)) as mine_udp:
            theirs.settimeout(2 * SLACK)
            mine_udp.settimeout(2 * SLACK)
            theirs.connect((LOOPBACK, port))
            mine_udp.connect((LOOPBACK, port))
            theirs.send(b"x")
            mine_udp.send(b"x")
            python = catch(theirs.recv, 10)
            mine = catch(mine_udp.recv, 10)
        if isinstance(python, socket.timeout):
            self.skipTest("no ICMP port unreachable on this system's loopback")
        assert_same_error(self, mine, python)

    def test_gethostbyname_ipv6_literal(self):
        assert_same_error(self, catch(netkit.gethostbyname, "::1"),
                          catch(socket.gethostbyname, "::1"))

    def test_gethostbyaddr_unknown(self):
        # Whatever the resolver answers for ::1 (a name, or herror), both agree.
        try:
            expected = socket.gethostbyaddr("::1")
        except OSError as python:
            assert_same_error(self, catch(netkit.gethostbyaddr, "::1"), python)
        else:
            self.assertEqual(netkit.gethostbyaddr("::1")[0], expected[0])

    def test_port_out_of_range(self):
        # Python's text names the socket call that checks the port.
        for port in (-1, 65536, 70000):
            with socket.socket() as s:
                python = catch(s.bind, (LOOPBACK, port))
            assert_same_error(self, catch(netkit.create_server, (LOOPBACK, port)), python)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                python = catch(s.bind, (LOOPBACK, port))
            assert_same_error(self, catch(netkit.UdpEndpoint, (LOOPBACK, port)), python)
            with socket.socket() as s:
                python = catch(s.connect, (LOOPBACK, port))
            assert_same_error(self, catch(netkit.create_connection, (LOOPBACK, port)), python)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, netkit.UdpEndpoint() as u:
                assert_same_error(self, catch(u.sendto, b"x", (LOOPBACK, port)),
                                  catch(s.sendto, b"x", (LOOPBACK, port)))
                assert_same_error(self, catch(u.connect, (LOOPBACK, port)),
                                  catch(s.connect, (LOOPBACK, port)))
        self.assertEqual(str(catch(netkit.create_server, (LOOPBACK, 70000))),
                         "bind(): port must be 0-65535.")

    def test_bad_argument_types(self):
        client, _ = netkit_pair(self)
        with socket.socket() as s:
            assert_same_error(self, catch(client.send, "text"), catch(s.send, "text"))
            assert_same_error(self, catch(client.sendall, 5), catch(s.sendall, 5))
            assert_same_error(self, catch(client.recv, -1), catch(s.recv, -1))
            assert_same_error(self, catch(client.recv, "x"), catch(s.recv, "x"))
            for value in (-1, -0.5, float("nan"), "x", float("inf"), 10**12):
                assert_same_error(self, catch(client.settimeout, value), catch(s.settimeout, value))
            assert_same_error(self, catch(client.shutdown, 7), catch(s.shutdown, 7))
            python = catch(s.connect, (1, 80))
        assert_same_error(self, catch(netkit.create_connection, (1, 80)),
                          catch(socket.create_connection, (1, 80)))
        assert_same_error(self, catch(netkit.create_connection, (LOOPBACK,)),
                          catch(socket.create_connection, (LOOPBACK,)))
        with warnings.catch_warnings():
            # Python's create_server leaks its socket on a TypeError from bind.
            warnings.simplefilter("ignore", ResourceWarning)
            assert_same_error(self, catch(netkit.create_server, "x"),
                              catch(socket.create_server, "x"))
            assert_same_error(self, catch(netkit.create_server, (LOOPBACK, 1.5)),
                              catch(socket.create_server, (LOOPBACK, 1.5)))
            gc.collect()
        self.assertIsInstance(python, TypeError)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, netkit.UdpEndpoint() as u:
            assert_same_error(self, catch(u.sendto, b"x", "host"), catch(s.sendto, b"x", "host"))
            assert_same_error(self, catch(u.recvfrom, -1), catch(s.recvfrom, -1))
        assert_same_error(self, catch(netkit.create_server, ("", 0), family=socket.AF_INET,
                                      dualstack_ipv6=True),
                          catch(socket.create_server, ("", 0), dualstack_ipv6=True))
        self.assertIsInstance(catch(netkit.getaddrinfo, "a" * 70, 80), UnicodeError)

    def test_closed_objects_answer_as_a_closed_socket(self):
        client, _ = netkit_pair(self)
        client.settimeout(2.5)
        client.close()
        with socket.socket() as s:
            s.settimeout(2.5)
            s.close()
            for name, args in (("send", (b"x",)), ("sendall", (b"x",)), ("recv", (1,)),
                               ("recv_into", (bytearray(1),)), ("shutdown", (socket.SHUT_RDWR,)),
                               ("getpeername", ()), ("getsockname", ()), ("settimeout", (1,)),
                               ("setblocking", (True,))):
                with self.subTest(name=name):
                    assert_same_error(self, catch(getattr(client, name), *args),
                                      catch(getattr(s, name), *args))
            self.assertEqual(client.fileno(), s.fileno())  # -1
            self.assertEqual(client.gettimeout(), s.gettimeout())
            self.assertIsNone(client.close())
            ebadf = catch(s.recv, 1)
        for name, args in (("recv_exact", (1,)), ("recv_line", ()), ("set_nodelay", ()),
                           ("set_keepalive", ())):
            assert_same_error(self, catch(getattr(client, name), *args), ebadf)

        server = netkit.create_server((LOOPBACK, 0))
        server.close()
        with socket.create_server((LOOPBACK, 0)) as theirs:
            theirs.close()
            assert_same_error(self, catch(server.accept), catch(theirs.accept))
            assert_same_error(self, catch(server.getsockname), catch(theirs.getsockname))
            assert_same_error(self, catch(server.settimeout, 1), catch(theirs.settimeout, 1))
        for fn, args in ((server.shutdown, ()), (server.serve, (lambda c, a: None,)),
                         (lambda: server.port, ())):
            assert_same_error(self, catch(fn, *args), ebadf)

        udp = netkit.UdpEndpoint()
        udp.close()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as theirs:
            theirs.close()
            for name, args in (("sendto", (b"x", (LOOPBACK, 9))), ("recvfrom", (1,)),
                               ("send", (b"x",)), ("recv", (1,)), ("connect", ((LOOPBACK, 9),)),
                               ("getsockname", ()), ("getpeername", ()), ("settimeout", (1,))):
                with self.subTest(name=name):
                    assert_same_error(self, catch(getattr(udp, name), *args),
                                      catch(getattr(theirs, name), *args))
            self.assertEqual(udp.fileno(), -1)


class TestErrorMapping(unittest.TestCase):
    """netkit's codes become the standard library's classes, with nk_strerror's text."""

    def check(self, code, cls, text=None):
        exc = netkit._error(code)
        self.assertIs(type(exc), cls)
        self.assertEqual(str(exc), text if text is not None else netkit._nk.nk_strerror(code).decode())
        return exc

    def test_socket_kind(self):
        for err, cls in ((errno.ECONNREFUSED, ConnectionRefusedError),
                         (errno.ECONNRESET, ConnectionResetError),
                         (errno.EPIPE, BrokenPipeError), (errno.EAGAIN, BlockingIOError),
                         (errno.EINPROGRESS, BlockingIOError), (errno.ETIMEDOUT, TimeoutError),
                         (errno.EADDRINUSE, OSError), (errno.ECANCELED, OSError),
                         (errno.EMSGSIZE, OSError)):
            exc = self.check(-err, cls)
            self.assertEqual(exc.errno, err)
            self.assertEqual(exc.args, OSError(err, os.strerror(err)).args)

    def test_timeout_kind(self):
        exc = self.check(netkit.NK_ETIMEOUT, socket.timeout, "timed out")
        self.assertEqual(exc.args, ("timed out",))
        self.assertIsNone(exc.errno)  # as Python's own socket.timeout

    def test_gai_and_host_kinds(self):
        exc = self.check(-5000 - abs(socket.EAI_NONAME), socket.gaierror,
                         "[Errno -2] Name or service not known")
        self.assertEqual(exc.errno, socket.EAI_NONAME)
        exc = self.check(-6000 - 1, socket.herror, "[Errno 1] Unknown host")
        self.assertEqual(exc.args, (1, "Unknown host"))

    def test_usage_kind(self):
        exc = self.check(netkit.NK_ECLOSED, OSError, "[Errno 9] Bad file descriptor")
        self.assertEqual(exc.errno, errno.EBADF)
        self.assertEqual(str(netkit._error(netkit.NK_EPORT, "sendto")),
                         "sendto(): port must be 0-65535.")
        self.assertIsInstance(netkit._error(netkit.NK_EPORT), OverflowError)
        self.check(netkit.NK_EINVAL, ValueError)
        self.check(netkit.NK_ENULL, TypeError)
        self.assertIsInstance(netkit._error(netkit.NK_EHOSTLEN), socket.gaierror)




if __name__ == "__main__":
    unittest.main()
