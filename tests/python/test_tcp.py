"""TcpClient and TcpServer: every call, its success path and its edge cases."""
import contextlib
import errno
import io
import os
import signal
import socket
import stat
import threading
import time
import unittest

from nk_support import (LOOPBACK, SLACK, Threads, assert_same_error, catch, has_ipv6, netkit,
                        netkit_pair, watchdog)


class TestTcpClient(unittest.TestCase):

    def test_send_recv_and_sendall(self):
        client, peer = netkit_pair(self)
        self.assertEqual(client.send(b"hello"), 5)
        self.assertEqual(peer.recv(1024), b"hello")
        client.sendall(bytearray(b"from a bytearray"))
        self.assertEqual(peer.recv_exact(16), b"from a bytearray")
        client.sendall(memoryview(b"xxviewxx")[2:6])  # a read-only view: copied
        self.assertEqual(peer.recv_exact(4), b"view")
        client.sendall(b"")
        self.assertEqual(peer.recv(0), b"")
        big = os.urandom(1 << 20)
        threads = Threads(self)
        threads.start(client.sendall, big)
        got = peer.recv_exact(len(big))
        threads.join()
        self.assertEqual(got, big)

    def test_recv_into(self):
        client, peer = netkit_pair(self)
        client.sendall(b"abcdef")
        buf = bytearray(10)
        self.assertEqual(peer.recv_into(buf, 4), 4)
        self.assertEqual(bytes(buf[:4]), b"abcd")
        view = memoryview(buf)[4:]
        self.assertEqual(peer.recv_into(view), 2)
        self.assertEqual(bytes(buf[4:6]), b"ef")
        self.assertEqual(peer.recv_into(bytearray(0)), 0)
        self.assertIsInstance(catch(peer.recv_into, b"read-only"), TypeError)
        self.assertIsInstance(catch(peer.recv_into, bytearray(2), 3), ValueError)

    def test_recv_exact(self):
        client, peer = netkit_pair(self)
        client.sendall(b"0123456789")
        self.assertEqual(peer.recv_exact(4), b"0123")
        self.assertEqual(peer.recv_exact(0), b"")
        client.shutdown(netkit.SHUT_WR)
        self.assertEqual(peer.recv_exact(10), b"456789")  # short: the peer closed first
        self.assertEqual(peer.recv_exact(10), b"")

    def test_recv_exact_timeout_bounds_the_whole_call_and_loses_nothing(self):
        client, peer = netkit_pair(self)
        stop = threading.Event()

        def trickle():  # one byte every 50 ms: each recv succeeds, the call must not
            for i in range(20):
                if stop.wait(0.05):
                    return
                client.send(b"%d" % (i % 10))
        threads = Threads(self)
        threads.start(trickle)
        peer.settimeout(0.3)
        start = time.monotonic()
        exc = catch(peer.recv_exact, 100)
        elapsed = time.monotonic() - start
        stop.set()
        threads.join()
        self.assertIsInstance(exc, socket.timeout)
        self.assertGreaterEqual(elapsed, 0.3 - 0.005)
        self.assertLess(elapsed, 0.3 + 0.5 * SLACK)
        peer.setblocking(False)
        kept = b""
        with contextlib.suppress(BlockingIOError):
            while len(kept) < 20:
                kept += peer.recv(100)
        # What the timed-out call had read comes first: every byte sent, in order.
        sent = b"".join(b"%d" % (i % 10) for i in range(20))
        self.assertTrue(kept and sent.startswith(kept), kept)

    def test_recv_line(self):
        client, peer = netkit_pair(self)
        client.sendall(b"one\ntwo\r\nthree")
        self.assertEqual(peer.recv_line(), b"one\n")
        self.assertEqual(peer.recv_line(), b"two\r\n")
        self.assertEqual(peer.recv(2), b"th")  # what recv_line read ahead stays for recv
        client.shutdown(netkit.SHUT_WR)
        self.assertEqual(peer.recv_line(), b"ree")  # the last line, without its newline
        self.assertEqual(peer.recv_line(), b"")
        self.assertIsInstance(catch(peer.recv_line, 0), ValueError)

    def test_recv_line_too_long(self):
        client, peer = netkit_pair(self)
        client.sendall(b"abcdefghij\nnext\n")
        exc = catch(peer.recv_line, 4)
        self.assertIs(type(exc), OSError)
        self.assertEqual(exc.errno, errno.EMSGSIZE)
        self.assertEqual(str(exc), "[Errno 90] Message too long")
        self.assertEqual(exc.data, b"abcd")  # consumed, and handed over
        self.assertEqual(peer.recv_line(), b"efghij\n")  # the same line goes on
        self.assertEqual(peer.recv_line(5), b"next\n")  # exactly maxlen bytes fit

    def test_timeouts(self):
        client, peer = netkit_pair(self)
        self.assertIsNone(peer.gettimeout())
        self.assertTrue(peer.getblocking())
        peer.settimeout(2)
        self.assertEqual(peer.gettimeout(), 2.0)
        self.assertIsInstance(peer.gettimeout(), float)
        self.assertTrue(peer.getblocking())
        peer.settimeout(0.0005)  # below a millisecond: still a timeout, never non-blocking
        self.assertEqual(netkit._nk.nk_tcp_client_gettimeout(peer._h.ptr), 1)
        peer.settimeout(0.1)
        self.assertEqual(netkit._nk.nk_tcp_client_gettimeout(peer._h.ptr), 100)
        peer.setblocking(False)
        self.assertEqual(peer.gettimeout(), 0.0)
        self.assertFalse(peer.getblocking())
        self.assertEqual(netkit._nk.nk_tcp_client_gettimeout(peer._h.ptr), 0)
        peer.setblocking(True)
        self.assertIsNone(peer.gettimeout())
        self.assertEqual(netkit._nk.nk_tcp_client_gettimeout(peer._h.ptr), -1)
        peer.settimeout(10**8)  # more than C's int of milliseconds: the longest netkit has
        self.assertEqual(netkit._nk.nk_tcp_client_gettimeout(peer._h.ptr), 2**31 - 1)
        self.assertEqual(peer.gettimeout(), 1e8)
        peer.settimeout(0.25)
        start = time.monotonic()
        self.assertIsInstance(catch(peer.recv, 1), socket.timeout)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.25 - 0.005)
        self.assertLess(elapsed, 0.25 + 0.5 * SLACK)

    def test_sendall_timeout(self):
        client, peer = netkit_pair(self)
        client.settimeout(0.3)
        start = time.monotonic()
        exc = catch(client.sendall, b"x" * (64 << 20))  # the peer never reads
        elapsed = time.monotonic() - start
        self.assertIsInstance(exc, socket.timeout)
        self.assertLess(elapsed, 0.3 + 1.0 * SLACK)

    def test_create_connection_timeout_becomes_the_clients(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            with netkit.create_connection((LOOPBACK, server.port), timeout=1.5) as c:
                self.assertEqual(c.gettimeout(), 1.5)
            with netkit.create_connection((LOOPBACK, str(server.port))) as c:
                self.assertIsNone(c.gettimeout())
            with netkit.create_connection(("localhost", server.port)) as c:
                self.assertEqual(c.getpeername(), (LOOPBACK, server.port))
            with netkit.create_connection((None, server.port)) as c:  # None: the loopback
                self.assertEqual(c.getpeername()[1], server.port)
            with netkit.create_connection([LOOPBACK, server.port]) as c:  # any 2-sequence
                self.assertEqual(c.getpeername()[1], server.port)

    def test_shutdown(self):
        client, peer = netkit_pair(self)
        client.sendall(b"last words")
        client.shutdown(netkit.SHUT_WR)
        self.assertEqual(peer.recv_exact(20), b"last words")  # then end of stream
        peer.sendall(b"still open the other way")
        self.assertEqual(client.recv_exact(24), b"still open the other way")
        client.shutdown(netkit.SHUT_RD)
        client.shutdown(netkit.SHUT_RDWR)

    def test_addresses_and_fileno(self):
        client, peer = netkit_pair(self)
        self.assertEqual(client.getpeername(), peer.getsockname())
        self.assertEqual(client.getsockname(), peer.getpeername())
        host, port = client.getsockname()
        self.assertEqual(host, LOOPBACK)
        self.assertIsInstance(port, int)
        fd = client.fileno()
        self.assertTrue(stat.S_ISSOCK(os.fstat(fd).st_mode))
        with socket.socket(fileno=os.dup(fd)) as view:  # the same socket, seen by Python
            self.assertEqual(view.getsockname(), client.getsockname())
            self.assertEqual(view.getpeername(), client.getpeername())
        self.assertIn("laddr=('127.0.0.1'", repr(client))
        self.assertIn("raddr=('127.0.0.1'", repr(client))

    def test_options(self):
        client, _ = netkit_pair(self)
        with socket.socket(fileno=os.dup(client.fileno())) as view:
            client.set_nodelay(True)
            self.assertTrue(view.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            client.set_nodelay(False)
            self.assertFalse(view.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            client.set_keepalive(True, idle=30)
            self.assertTrue(view.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
            if hasattr(socket, "TCP_KEEPIDLE"):
                self.assertEqual(view.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), 30)
            client.set_keepalive(False)
            self.assertFalse(view.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
        self.assertIsInstance(catch(client.set_keepalive, True, -1), ValueError)

    def test_close_context_manager_and_use_after_close(self):
        client, peer = netkit_pair(self)
        with client as same:
            self.assertIs(same, client)
        self.assertTrue(client.closed)
        client.close()  # harmless
        self.assertEqual(peer.recv(10), b"")  # the peer sees the close
        exc = catch(client.send, b"x")
        self.assertIs(type(exc), OSError)
        self.assertEqual((exc.errno, str(exc)), (errno.EBADF, "[Errno 9] Bad file descriptor"))
        self.assertEqual(repr(client), "<netkit.TcpClient [closed] fd=-1>")

    def test_close_from_another_thread_wakes_a_blocked_recv(self):
        client, peer = netkit_pair(self)
        result = []
        threads = Threads(self)
        threads.start(lambda: result.append(catch(peer.recv, 10)))
        time.sleep(0.1)  # let it block in recv
        start = time.monotonic()
        peer.close()
        threads.join(timeout=5)
        self.assertLess(time.monotonic() - start, 1.0 * SLACK)
        self.assertIs(type(result[0]), OSError)
        self.assertEqual(result[0].errno, errno.EBADF)

    def test_objects_come_from_the_factories(self):
        self.assertIsInstance(catch(netkit.TcpClient), TypeError)
        self.assertIsInstance(catch(netkit.TcpServer), TypeError)


class TestTcpServer(unittest.TestCase):

    def test_create_server_and_accept(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            port = server.port
            self.assertEqual(server.getsockname(), (LOOPBACK, port))
            self.assertNotEqual(port, 0)
            self.assertTrue(stat.S_ISSOCK(os.fstat(server.fileno()).st_mode))
            with socket.create_connection((LOOPBACK, port)) as theirs:
                client, address = server.accept()
                with client:
                    self.assertEqual(address, theirs.getsockname())
                    self.assertIsNone(client.gettimeout())  # accepted clients block
                    theirs.sendall(b"ping")
                    self.assertEqual(client.recv(4), b"ping")
            self.assertIn("laddr=('127.0.0.1'", repr(server))

    def test_accept_timeout(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            self.assertIsNone(server.gettimeout())
            server.settimeout(0.2)
            self.assertEqual(server.gettimeout(), 0.2)
            start = time.monotonic()
            self.assertIsInstance(catch(server.accept), socket.timeout)
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, 0.2 - 0.005)
            self.assertLess(elapsed, 0.2 + 0.5 * SLACK)
            server.setblocking(False)
            self.assertFalse(server.getblocking())
            self.assertIsInstance(catch(server.accept), BlockingIOError)

    def test_accept_timeout_in_another_thread(self):
        # Not the main thread: accept waits in one C call, not in slices.
        with netkit.create_server((LOOPBACK, 0)) as server:
            server.settimeout(0.2)
            result = []
            threads = Threads(self)
            threads.start(lambda: result.append(catch(server.accept)))
            threads.join()
            self.assertIsInstance(result[0], socket.timeout)

    def test_server_options(self):
        with netkit.create_server(("", 0)) as anywhere:  # every interface
            self.assertIn(anywhere.getsockname()[0], ("::", "0.0.0.0"))
            with netkit.create_connection((LOOPBACK, anywhere.port)) as c:
                c.sendall(b"v4")
                peer, address = anywhere.accept()
                with peer:
                    self.assertEqual(address[0], LOOPBACK)  # not ::ffff:127.0.0.1
                    self.assertEqual(peer.recv(2), b"v4")
        with netkit.create_server(("", 0), family=socket.AF_INET) as v4:
            self.assertEqual(v4.getsockname()[0], "0.0.0.0")
        with netkit.create_server((LOOPBACK, 0), backlog=0) as small:
            self.assertGreater(small.port, 0)
        # What socket.create_server's socket(99) raises.
        assert_same_error(self, catch(netkit.create_server, (LOOPBACK, 0), family=99),
                          catch(socket.socket, 99))
        # reuse_port: two servers on one port.
        with netkit.create_server((LOOPBACK, 0), reuse_port=True) as first:
            with netkit.create_server((LOOPBACK, first.port), reuse_port=True) as second:
                self.assertEqual(first.port, second.port)

    @unittest.skipUnless(has_ipv6(), "no IPv6 loopback here")
    def test_ipv6(self):
        with netkit.create_server(("::1", 0), family=socket.AF_INET6) as server:
            self.assertEqual(server.getsockname(), ("::1", server.port, 0, 0))
            with netkit.create_connection(("::1", server.port)) as c:
                peer, address = server.accept()
                with peer:
                    self.assertEqual(address, c.getsockname())
                    self.assertEqual(len(address), 4)
                    self.assertEqual(c.getpeername(), ("::1", server.port, 0, 0))
        with netkit.create_server(("", 0), family=socket.AF_INET6) as v6only:
            self.assertIsInstance(catch(netkit.create_connection, (LOOPBACK, v6only.port)),
                                  ConnectionRefusedError)
        with netkit.create_server(("", 0), family=socket.AF_INET6, dualstack_ipv6=True) as dual:
            with netkit.create_connection((LOOPBACK, dual.port)):
                peer, address = dual.accept()
                peer.close()
                self.assertEqual(address[0], LOOPBACK)

    def test_serve_sequential(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            seen = []

            def handler(client, address):
                self.assertIsInstance(client, netkit.TcpClient)
                seen.append(address)
                client.sendall(client.recv_line().upper())

            replies = []

            def clients():
                for word in (b"one\n", b"two\n", b"three\n"):
                    with netkit.create_connection((LOOPBACK, server.port), timeout=5) as c:
                        c.sendall(word)
                        replies.append(c.recv_line())
            threads = Threads(self)
            threads.start(clients)
            watchdog(self, server)
            server.serve(handler, max_clients=3)  # in the main thread
            threads.join()
            self.assertEqual(replies, [b"ONE\n", b"TWO\n", b"THREE\n"])
            self.assertEqual(len(seen), 3)
            self.assertTrue(all(a[0] == LOOPBACK for a in seen))

    def test_serve_threads_runs_handlers_at_once(self):
        n = 4
        barrier = threading.Barrier(n, timeout=5 * SLACK)
        with netkit.create_server((LOOPBACK, 0)) as server:

            def handler(client, address):
                client.recv(1)
                barrier.wait()  # passes only when n handlers run together
                client.sendall(b"ok")

            results = []

            def one_client():
                with netkit.create_connection((LOOPBACK, server.port), timeout=5) as c:
                    c.sendall(b"x")
                    results.append(c.recv_exact(2))
            threads = Threads(self)
            for _ in range(n):
                threads.start(one_client)
            watchdog(self, server)
            server.serve(handler, threads=True, max_clients=n)
            threads.join()
        self.assertEqual(results, [b"ok"] * n)

    def test_serve_shutdown_from_another_thread(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            threads = Threads(self)
            done = threading.Event()
            serving = threading.Event()

            def serve():
                server.serve(lambda c, a: serving.set())
                done.set()
            watchdog(self, server)
            threads.start(serve)
            netkit.create_connection((LOOPBACK, server.port)).close()
            self.assertTrue(serving.wait(5 * SLACK))
            server.shutdown()
            threads.join()
            self.assertTrue(done.is_set())
            exc = catch(server.accept)  # shut down until closed
            self.assertEqual(exc.errno, errno.ECANCELED)
            self.assertEqual(str(exc), "[Errno 125] Operation canceled")

    def test_serve_threads_shutdown_ends_blocked_handlers(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            got = []
            started = threading.Event()

            def handler(client, address):
                started.set()
                got.append(client.recv(10))  # blocks until serve's shutdown ends reads
            threads = Threads(self)
            watchdog(self, server)
            threads.start(server.serve, handler, True)
            with netkit.create_connection((LOOPBACK, server.port)):
                self.assertTrue(started.wait(5 * SLACK))
                server.shutdown()
                threads.join()
        self.assertEqual(got, [b""])

    def test_serve_handler_errors_are_printed_and_serving_goes_on(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            calls = []

            def handler(client, address):
                calls.append(address)
                if len(calls) == 1:
                    raise RuntimeError("boom")
                client.sendall(b"second")

            def clients():
                for _ in range(2):
                    with netkit.create_connection((LOOPBACK, server.port), timeout=5) as c:
                        c.recv(10)
            threads = Threads(self)
            threads.start(clients)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                watchdog(self, server)
                server.serve(handler, max_clients=2)
            threads.join()
        text = err.getvalue()
        self.assertIn(f"Exception occurred during processing of request from {calls[0]}", text)
        self.assertIn("RuntimeError: boom", text)
        self.assertTrue(text.startswith("-" * 40))
        self.assertEqual(len(calls), 2)

    def test_serve_handle_error_can_be_overridden(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            errors = []
            server.handle_error = lambda client, address: errors.append(address)
            threads = Threads(self)
            threads.start(lambda: netkit.create_connection((LOOPBACK, server.port)).close())
            watchdog(self, server)
            server.serve(lambda c, a: 1 / 0, max_clients=1)
            threads.join()
        self.assertEqual(len(errors), 1)

    def test_serve_systemexit_from_a_handler_stops_the_server(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            threads = Threads(self)
            threads.start(lambda: netkit.create_connection((LOOPBACK, server.port)).close())
            watchdog(self, server)
            exc = catch(server.serve, lambda c, a: sys_exit(3))
            threads.join()
        self.assertIsInstance(exc, SystemExit)
        self.assertEqual(exc.code, 3)

    def test_serve_client_is_closed_when_the_handler_returns(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            kept = []
            threads = Threads(self)
            result = []

            def client():
                with netkit.create_connection((LOOPBACK, server.port), timeout=5) as c:
                    result.append(c.recv(10))
            threads.start(client)
            watchdog(self, server)
            server.serve(lambda c, a: kept.append(c), max_clients=1)
            threads.join()
        self.assertEqual(result, [b""])  # the peer saw the close
        self.assertEqual(catch(kept[0].recv, 1).errno, errno.EBADF)
        kept[0].close()  # harmless

    def test_serve_handler_may_close_its_client(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            threads = Threads(self)
            threads.start(lambda: netkit.create_connection((LOOPBACK, server.port)).close())
            after = []

            def handler(c, a):
                c.close()
                after.append(catch(c.send, b"x"))
            watchdog(self, server)
            server.serve(handler, max_clients=1)
            threads.join()
        self.assertEqual(after[0].errno, errno.EBADF)

    def test_serve_arguments(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            self.assertIsInstance(catch(server.serve, "not callable"), TypeError)
            self.assertIsInstance(catch(server.serve, lambda c, a: None, False, -1), ValueError)

    def test_close_from_another_thread_stops_serve(self):
        server = netkit.create_server((LOOPBACK, 0))
        threads = Threads(self)
        serving = threading.Event()
        watchdog(self, server)
        threads.start(server.serve, lambda c, a: serving.set())
        netkit.create_connection((LOOPBACK, server.port)).close()
        self.assertTrue(serving.wait(5 * SLACK))
        server.close()  # shuts serve down; the handle is freed when serve returned
        threads.join()
        self.assertTrue(server.closed)


class TestInterrupts(unittest.TestCase):
    """Ctrl-C in the main thread interrupts accept and serve at once."""

    def setUp(self):
        if threading.current_thread() is not threading.main_thread():
            self.skipTest("signals reach the main thread only")
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
        self.addCleanup(signal.signal, signal.SIGINT, old)

    def interrupt_after(self, delay):
        main = threading.main_thread().ident
        timer = threading.Timer(delay, signal.pthread_kill, (main, signal.SIGINT))
        timer.start()
        self.addCleanup(timer.join)
        self.addCleanup(timer.cancel)

    def test_accept(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            self.interrupt_after(0.1)
            start = time.monotonic()
            self.assertIsInstance(catch(server.accept), KeyboardInterrupt)
            self.assertLess(time.monotonic() - start, 1.0 * SLACK)

    def test_serve_ends_handlers_and_raises(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            got = []
            started = threading.Event()

            def handler(client, address):
                started.set()
                got.append(client.recv(10))  # blocked until Ctrl-C ends the read
            with netkit.create_connection((LOOPBACK, server.port)):
                main = threading.main_thread().ident

                def interrupt_once_serving():
                    if started.wait(5 * SLACK):
                        signal.pthread_kill(main, signal.SIGINT)
                    else:
                        server.shutdown()  # no handler ran: end serve, the test fails
                threads = Threads(self)
                threads.start(interrupt_once_serving)
                start = time.monotonic()
                watchdog(self, server)
                exc = catch(server.serve, handler)
                self.assertLess(time.monotonic() - start, 2.0 * SLACK)
                threads.join()
            self.assertIsInstance(exc, KeyboardInterrupt)
            self.assertEqual(got, [b""])
            self.assertEqual(catch(server.accept).errno, errno.ECANCELED)


def sys_exit(code):
    raise SystemExit(code)


if __name__ == "__main__":
    unittest.main()
