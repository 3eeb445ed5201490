"""netkit.Selector (nk_selector) and TcpClient's queued output
(nk_tcp_client_queue): the selectors API against Python's own
DefaultSelector on the same scenario, level-triggered readiness on real
loopback sockets, an echo server for 50 clients, wakeup from threads and
signal handlers, timeouts, registered objects closed, and queue/flush byte
for byte. The readiness tests run on both backends (epoll, poll)."""
import errno
import gc
import os
import re
import selectors
import signal
import socket
import threading
import time
import unittest
import weakref
from collections.abc import Mapping

from nk_support import LOOPBACK, SLACK, Threads, catch, netkit, netkit_pair, open_fds

R, W = selectors.EVENT_READ, selectors.EVENT_WRITE


def tcp_pair(test):
    """(a, b): two connected Python sockets over 127.0.0.1, closed at cleanup."""
    with socket.create_server((LOOPBACK, 0)) as listener:
        a = socket.create_connection(listener.getsockname(), timeout=5 * SLACK)
        b, _ = listener.accept()
    for s in (a, b):
        s.settimeout(5 * SLACK)
        test.addCleanup(s.close)
    return a, b


def outcome(fn, *args):
    """What a call gives, comparable between two selectors: its result, or
    ("raises", class, message)."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: B902 - every kind is compared
        return ("raises", type(e), str(e))


def named(result, a, b):
    """result with the file objects of keys as names and fd numbers as N in
    messages: each run has its own c."""
    if isinstance(result, selectors.SelectorKey):
        obj = result.fileobj
        return result._replace(fileobj="a" if obj is a else "b" if obj is b else "c")
    if isinstance(result, list):
        return [named(item, a, b) for item in result]
    if isinstance(result, tuple):
        return tuple(named(item, a, b) for item in result)
    if isinstance(result, str):  # c's fd number in a message
        return re.sub(r"\b(fd=|FD )\d+", r"\1N", result)
    return result


def kind(result):
    """Only the exception class (for messages that name the mechanism)."""
    return result[:2] if isinstance(result, tuple) and result[:1] == ("raises",) else result


class TestSelectorApi(unittest.TestCase):
    """The selectors.DefaultSelector API, call for call against Python's."""

    def scenario(self, sel, a, b, c, stranger):
        """One run of register/modify/unregister/get_key/get_map/select/close
        on sel; returns the outcome of every step."""
        out = []
        step = out.append
        step(outcome(sel.register, a, R))
        step(outcome(sel.register, a, R))                 # twice: KeyError
        step(outcome(sel.register, a.fileno(), W))        # the same fd as an int
        for events in (0, 4, -1, R | 8):
            step(outcome(sel.register, b, events))        # ValueError
        step(outcome(sel.register, -1, R))                # negative fd
        step(outcome(sel.register, stranger, R))          # no fileno()
        step(outcome(sel.register, b, R | W, "data of b"))
        step(outcome(sel.get_key, a))
        step(outcome(sel.get_key, b.fileno()))
        step(outcome(sel.get_key, c))                     # not registered
        step(outcome(sel.modify, a, W, "new"))
        step(outcome(sel.modify, a, W, "new"))            # no change
        step(outcome(sel.modify, a, W, "newer"))          # data only
        step(outcome(sel.modify, c, R))                   # KeyError
        mapping = sel.get_map()
        step(isinstance(mapping, Mapping))
        step(len(mapping))
        step(sorted(mapping))
        step(a.fileno() in mapping)
        step(c.fileno() in mapping)
        step(mapping[a])                                  # by file object
        step(mapping[b.fileno()])
        step(mapping.get(c.fileno()))
        step(outcome(lambda: mapping[c]))
        step(outcome(lambda: sorted(sel.select(0), key=lambda ready: ready[0].fd)))
        step(outcome(sel.unregister, a))
        step(outcome(sel.unregister, a))                  # KeyError
        step(outcome(sel.unregister, c.fileno()))
        step(len(mapping))
        step(outcome(sel.register, c, R, 3))
        c.close()                                         # closed while registered
        step(outcome(sel.get_key, c))                     # found by identity
        step(outcome(sel.unregister, c))
        step(outcome(sel.unregister, c))                  # ValueError: fd -1
        sel.close()
        sel.close()
        step(sel.get_map())
        step(outcome(sel.get_key, b))                     # RuntimeError
        step(outcome(sel.unregister, b))                  # KeyError
        step(outcome(sel.modify, b, R))                   # KeyError
        step(kind(outcome(sel.register, b, R)))           # ValueError (wording differs)
        step(kind(outcome(sel.select, 0)))                # ValueError (wording differs)
        return out

    def test_same_outcomes_as_python_selectors(self):
        a, b = tcp_pair(self)
        stranger = object()
        results = []
        for make in (selectors.DefaultSelector, netkit.Selector):
            c = socket.socket()
            self.addCleanup(c.close)
            results.append(self.scenario(make(), a, b, c, stranger))
        python, mine = results
        self.assertEqual(len(mine), len(python))
        for i, (m, p) in enumerate(zip(mine, python)):
            self.assertEqual(named(m, a, b), named(p, a, b), f"step {i}")

    def test_modify_rejects_bad_events(self):
        # Python's modify() takes 0 or 4 silently; netkit raises as register does.
        a, _ = tcp_pair(self)
        with netkit.Selector() as sel:
            sel.register(a, R)
            for events in (0, 4, -1):
                e = catch(sel.modify, a, events)
                self.assertIsInstance(e, ValueError)
                self.assertEqual(str(e), f"Invalid events: {events!r}")
            self.assertEqual(sel.get_key(a).events, R)

    def test_backends(self):
        with netkit.Selector() as sel:
            self.assertEqual(sel.backend, "epoll")  # Linux
            self.assertEqual(repr(sel), "<netkit.Selector backend='epoll' registered=0>")
        for name in ("epoll", "poll"):
            with netkit.Selector(backend=name) as sel:
                self.assertEqual(sel.backend, name)
        self.assertEqual(repr(sel), "<netkit.Selector [closed] backend='poll'>")
        for bad in ("kqueue", "", 1, b"poll"):
            self.assertIsInstance(catch(netkit.Selector, bad), ValueError)
        self.assertEqual(netkit.EVENT_READ, selectors.EVENT_READ)
        self.assertEqual(netkit.EVENT_WRITE, selectors.EVENT_WRITE)
        self.assertIs(netkit.SelectorKey, selectors.SelectorKey)

    def test_netkit_objects_as_file_objects(self):
        client, peer = netkit_pair(self)
        server = netkit.create_server((LOOPBACK, 0))
        udp = netkit.UdpEndpoint((LOOPBACK, 0))
        self.addCleanup(server.close)
        self.addCleanup(udp.close)
        with netkit.Selector() as sel:
            for obj, events in ((client, R | W), (server, R), (udp, R)):
                key = sel.register(obj, events, obj)
                self.assertEqual(key, selectors.SelectorKey(obj, obj.fileno(), events, obj))
                self.assertIs(sel.get_key(obj), key)
            ready = dict((key.fileobj, ev) for key, ev in sel.select(0))
            self.assertEqual(ready, {client: W})
            udp.sendto(b"x", (LOOPBACK, udp.port))
            with socket.create_connection((LOOPBACK, server.port)):
                deadline = time.monotonic() + 5 * SLACK
                while len(ready) < 3 and time.monotonic() < deadline:
                    ready = dict((key.fileobj, ev) for key, ev in sel.select(1))
            self.assertEqual(ready, {client: W, server: R, udp: R})
            self.assertEqual(set(sel.get_map()), {client.fileno(), server.fileno(), udp.fileno()})

    def test_one_selector_per_netkit_object(self):
        client, _ = netkit_pair(self)
        with netkit.Selector() as one, netkit.Selector("poll") as two:
            one.register(client, R)
            e = catch(two.register, client, R)
            self.assertIsInstance(e, FileExistsError)
            self.assertEqual(e.errno, errno.EEXIST)
            self.assertEqual(len(two.get_map()), 0)
            one.unregister(client)
            two.register(client, R)   # free again
            a, _ = tcp_pair(self)     # a plain socket may be in both
            one.register(a, R)
            two.register(a, R)

    def test_plain_fd_errors_come_from_the_system(self):
        with netkit.Selector() as sel, open(os.devnull) as f:
            e = catch(sel.register, f, R)        # epoll refuses regular files
            self.assertIsInstance(e, PermissionError)
            r, w = os.pipe()
            os.close(w)
            os.close(r)
            e = catch(sel.register, r, R)        # a closed fd
            self.assertEqual(e.errno, errno.EBADF)
            self.assertEqual(len(sel.get_map()), 0)

    def test_keeps_registered_objects_alive(self):
        a, b = tcp_pair(self)
        with netkit.Selector() as sel:
            class Holder:
                def fileno(self):
                    return a.fileno()
            holder, data = Holder(), Holder()
            refs = weakref.ref(holder), weakref.ref(data)
            sel.register(holder, R, data)
            del holder, data
            gc.collect()
            self.assertTrue(all(r() is not None for r in refs))
            sel.unregister(a.fileno())
            gc.collect()
            self.assertTrue(all(r() is None for r in refs))
            client, _ = netkit_pair(self)
            ref = weakref.ref(client)
            sel.register(client, R)
            self.doCleanups()  # the pair's cleanup closes it; the key went with it
            self.assertEqual(len(sel.get_map()), 0)
            del client
            gc.collect()
            self.assertIsNone(ref())

    def test_selector_finalizer_and_close_leave_objects_open(self):
        gc.collect()
        fds = open_fds()
        client, peer = netkit_pair(self)
        for backend in ("epoll", "poll"):
            sel = netkit.Selector(backend)
            sel.register(client, R)
            sel.select(0.001)       # main thread: makes the signal pipe
            del sel                 # never closed: its finalizer frees it
            gc.collect()
        with netkit.Selector() as sel:
            sel.register(client, R)
        self.assertIsNone(sel.get_map())
        with netkit.Selector() as sel:  # the objects stay open and registrable
            sel.register(client, R)
            peer.sendall(b"x")
            self.assertEqual([(k.fileobj, e) for k, e in sel.select(5 * SLACK)], [(client, R)])
        client.close()
        peer.close()
        gc.collect()
        self.assertEqual(open_fds(), fds)


class ReadinessTests:
    """Run on each backend; subclasses set BACKEND."""

    BACKEND = None

    def selector(self):
        sel = netkit.Selector(self.BACKEND)
        self.addCleanup(sel.close)
        return sel

    def test_level_triggered_read(self):
        a, b = tcp_pair(self)
        sel = self.selector()
        key = sel.register(b, R, "b")
        self.assertEqual(sel.select(0), [])
        a.sendall(b"hello")
        self.assertEqual(sel.select(5 * SLACK), [(key, R)])
        self.assertEqual(sel.select(0), [(key, R)])       # still unread: reported again
        self.assertEqual(b.recv(2), b"he")
        self.assertEqual(sel.select(0), [(key, R)])
        self.assertEqual(b.recv(10), b"llo")
        self.assertEqual(sel.select(0), [])
        a.close()                                          # end of stream is readable
        self.assertEqual(sel.select(5 * SLACK), [(key, R)])
        self.assertEqual(b.recv(10), b"")

    def test_write_readiness_and_modify(self):
        a, b = tcp_pair(self)
        sel = self.selector()
        key = sel.register(a, W)
        self.assertEqual(sel.select(0), [(key, W)])
        key = sel.modify(a, R, "now reading")
        self.assertEqual(sel.select(0), [])
        key = sel.modify(a, R | W, "both")
        self.assertEqual(sel.select(0), [(key, W)])
        self.assertEqual(key.data, "both")
        b.sendall(b"x")
        deadline = time.monotonic() + 5 * SLACK
        while sel.select(0) != [(key, R | W)] and time.monotonic() < deadline:
            time.sleep(0.001)
        self.assertEqual(sel.select(0), [(key, R | W)])

    def test_lines_read_ahead_are_readable(self):
        # recv_line keeps the bytes after a line in the client: with nothing
        # left in the socket the client is still reported readable.
        client, peer = netkit_pair(self)
        sel = self.selector()
        key = sel.register(client, R)
        peer.sendall(b"one\ntwo\nthree\n")
        lines = []
        deadline = time.monotonic() + 5 * SLACK
        while len(lines) < 3 and time.monotonic() < deadline:
            for k, events in sel.select(1):
                self.assertEqual((k, events), (key, R))
                lines.append(client.recv_line())
        self.assertEqual(lines, [b"one\n", b"two\n", b"three\n"])
        self.assertEqual(sel.select(0), [])

    def test_echo_server_for_50_clients(self):
        sel = self.selector()
        server = netkit.create_server((LOOPBACK, 0))
        self.addCleanup(server.close)
        server.settimeout(0)
        sel.register(server, R)
        messages = [f"client {i}: ".encode() + os.urandom(3000 + 97 * i) for i in range(50)]
        echoes = {}

        def clients():
            socks = [socket.create_connection((LOOPBACK, server.port), timeout=10 * SLACK)
                     for _ in messages]
            try:
                for s, m in zip(socks, messages):
                    s.sendall(m)
                    s.shutdown(socket.SHUT_WR)
                for i, s in enumerate(socks):
                    got = bytearray()
                    while data := s.recv(65536):
                        got += data
                    echoes[i] = bytes(got)
            finally:
                for s in socks:
                    s.close()

        threads = Threads(self)
        start = time.monotonic()
        threads.start(clients)
        served = 0
        deadline = start + 15 * SLACK
        while served < len(messages) and time.monotonic() < deadline:
            for key, events in sel.select(1):
                if key.fileobj is server:
                    client, _ = server.accept()
                    client.setblocking(False)
                    client.set_queue_limit(1 << 20)
                    sel.register(client, R)
                    continue
                client = key.fileobj
                data = client.recv(65536)
                if data:
                    client.queue(data)      # select sends it when the socket takes it
                elif client.queued == 0:
                    sel.unregister(client)
                    client.close()
                    served += 1
                else:
                    sel.modify(client, W)   # end of stream: wait for the queue to drain
        threads.join()
        self.assertEqual(served, len(messages))
        self.assertEqual(echoes, dict(enumerate(messages)))
        self.assertEqual(list(sel.get_map()), [server.fileno()])
        self.assertLess(time.monotonic() - start, 15 * SLACK)

    def test_timeout_is_honoured(self):
        a, _ = tcp_pair(self)
        sel = self.selector()
        sel.register(a, R)
        for timeout in (0.0001, 0.05, 0.2):
            start = time.monotonic()
            self.assertEqual(sel.select(timeout), [])
            took = time.monotonic() - start
            self.assertGreaterEqual(took, timeout)
            self.assertLess(took, timeout + 0.2 * SLACK)
        for timeout in (0, -1, -0.5):
            start = time.monotonic()
            self.assertEqual(sel.select(timeout), [])
            self.assertLess(time.monotonic() - start, 0.1 * SLACK)
        result = []
        threads = Threads(self)   # the same outside the main thread
        threads.start(lambda: result.append((time.monotonic(), sel.select(0.1), time.monotonic())))
        threads.join()
        start, ready, end = result[0]
        self.assertEqual(ready, [])
        self.assertGreaterEqual(end - start, 0.1)
        self.assertLess(end - start, 0.3 * SLACK)
        self.assertIsInstance(catch(sel.select, float("nan")), ValueError)
        self.assertIsInstance(catch(sel.select, "1"), TypeError)

    def test_wakeup_from_another_thread(self):
        a, _ = tcp_pair(self)
        sel = self.selector()
        sel.register(a, R)
        threads = Threads(self)
        start = time.monotonic()  # before the thread starts: its wakeup comes >= 0.1 s later
        threads.start(lambda: (time.sleep(0.1), sel.wakeup()))
        self.assertEqual(sel.select(), [])
        took = time.monotonic() - start
        threads.join()
        self.assertGreaterEqual(took, 0.09)
        self.assertLess(took, 0.1 + 0.5 * SLACK)
        # A select in another thread, woken from this one.
        result = []
        threads.start(lambda: result.append(sel.select()))
        time.sleep(0.05)
        sel.wakeup()
        threads.join()
        self.assertEqual(result, [[]])
        # Before select: the next one returns at once, once.
        sel.wakeup()
        start = time.monotonic()
        self.assertEqual(sel.select(), [])
        self.assertLess(time.monotonic() - start, 0.1 * SLACK)
        start = time.monotonic()
        self.assertEqual(sel.select(0.05), [])
        self.assertGreaterEqual(time.monotonic() - start, 0.05)

    def test_wakeup_from_a_signal_handler(self):
        a, _ = tcp_pair(self)
        sel = self.selector()
        sel.register(a, R)
        calls = []

        def handler(signum, frame):
            calls.append(signum)
            sel.wakeup()
        self.alarm(handler, 0.1)
        start = time.monotonic()
        self.assertEqual(sel.select(), [])
        took = time.monotonic() - start
        self.assertEqual(calls, [signal.SIGALRM])
        self.assertGreaterEqual(took, 0.09)
        self.assertLess(took, 0.1 + 0.1 * SLACK)          # at once, not at a slice's end
        self.assertEqual(signal.set_wakeup_fd(-1), -1)     # set back after the wait

    def test_signal_handlers_run_during_select_and_it_waits_on(self):
        # PEP 475: a signal whose handler returns does not end the wait.
        a, _ = tcp_pair(self)
        sel = self.selector()
        sel.register(a, R)
        calls = []
        self.alarm(lambda *args: calls.append(time.monotonic()), 0.05, interval=0.05)
        start = time.monotonic()
        self.assertEqual(sel.select(0.3), [])
        took = time.monotonic() - start
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.assertGreaterEqual(took, 0.3)
        self.assertLess(took, 0.3 + 0.2 * SLACK)
        self.assertGreaterEqual(len([t for t in calls if t < start + took]), 3)

    def test_exception_from_a_signal_handler_ends_select(self):
        class Interrupted(Exception):
            pass

        def handler(signum, frame):
            raise Interrupted()
        a, b = tcp_pair(self)
        sel = self.selector()
        key = sel.register(a, R)
        self.alarm(handler, 0.1)
        start = time.monotonic()
        self.assertIsInstance(catch(sel.select), Interrupted)
        self.assertLess(time.monotonic() - start, 0.1 + 0.1 * SLACK)
        self.assertEqual(signal.set_wakeup_fd(-1), -1)
        b.sendall(b"still works")
        self.assertEqual(sel.select(5 * SLACK), [(key, R)])

    def test_close_from_a_signal_handler(self):
        gc.collect()
        fds = open_fds()
        a, _ = tcp_pair(self)
        client, _ = netkit_pair(self)
        sel = netkit.Selector(self.BACKEND)
        sel.register(a, R)
        sel.register(client, R)
        self.alarm(lambda *args: sel.close(), 0.1)
        start = time.monotonic()
        self.assertIsInstance(catch(sel.select), ValueError)
        self.assertLess(time.monotonic() - start, 0.1 + 0.1 * SLACK)
        self.assertEqual(signal.set_wakeup_fd(-1), -1)
        self.assertIsNone(sel.get_map())
        client.close()            # no longer registered anywhere: a plain close
        self.assertEqual(open_fds(), fds + 3)   # a, its peer and client's peer

    def test_someone_elses_wakeup_fd_is_left_alone(self):
        # With another wakeup fd set (as asyncio sets one), select waits in
        # slices of 250 ms instead: a handler's wakeup() still ends it.
        r, w = os.pipe()
        os.set_blocking(w, False)
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        old = signal.set_wakeup_fd(w)
        self.addCleanup(signal.set_wakeup_fd, old)
        a, _ = tcp_pair(self)
        sel = self.selector()
        sel.register(a, R)
        self.alarm(lambda *args: sel.wakeup(), 0.1)
        start = time.monotonic()
        self.assertEqual(sel.select(), [])
        self.assertLess(time.monotonic() - start, 0.1 + 0.25 + 0.2 * SLACK)
        self.assertEqual(signal.set_wakeup_fd(old), w)
        self.assertEqual(os.read(r, 16), bytes([signal.SIGALRM]))  # the owner got its byte

    def alarm(self, handler, delay, interval=0.0):
        previous = signal.signal(signal.SIGALRM, handler)
        self.addCleanup(signal.signal, signal.SIGALRM, previous)
        self.addCleanup(signal.setitimer, signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_REAL, delay, interval)

    def test_closing_registered_objects_removes_their_keys(self):
        sel = self.selector()
        client, peer = netkit_pair(self)
        server = netkit.create_server((LOOPBACK, 0))
        udp = netkit.UdpEndpoint((LOOPBACK, 0))
        keys = {obj: sel.register(obj, R, name) for obj, name in
                ((client, "client"), (server, "server"), (udp, "udp"))}
        peer.sendall(b"unread")    # the client is readable when it is closed
        for obj in (client, server, udp):
            fd = obj.fileno()
            obj.close()
            self.assertNotIn(fd, sel.get_map())
            self.assertIsInstance(catch(sel.get_key, obj), ValueError)  # fd -1, unknown
        self.assertEqual(len(sel.get_map()), 0)
        self.assertEqual(sel.select(0), [])
        # As selectors does for a closed socket, unregister gives the key once.
        for obj, key in keys.items():
            self.assertEqual(sel.unregister(obj), key)
            self.assertIsInstance(catch(sel.unregister, obj), ValueError)
        # The fd numbers come back: registering their new owners works.
        again, _ = netkit_pair(self)
        sel.register(again, R)
        self.assertEqual(sel.select(0), [])

    def test_close_and_register_from_another_thread_during_select(self):
        sel = self.selector()
        client, peer = netkit_pair(self)
        a, b = tcp_pair(self)
        sel.register(client, R)
        threads = Threads(self)

        def other():
            time.sleep(0.05)
            client.close()            # wakes the select, which waits on
            time.sleep(0.05)
            sel.register(b, W, "b")  # also: then select reports b
        threads.start(other)
        start = time.monotonic()
        ready = sel.select(5 * SLACK)
        took = time.monotonic() - start
        threads.join()
        self.assertEqual([(k.data, e) for k, e in ready], [("b", W)])
        self.assertGreaterEqual(took, 0.09)
        self.assertLess(took, 0.1 + 0.5 * SLACK)
        self.assertEqual(list(sel.get_map()), [b.fileno()])
        # close() of the selector itself ends a select in another thread.
        sel.unregister(b)
        result = []
        threads.start(lambda: result.append(catch(sel.select)))
        time.sleep(0.05)
        sel.close()
        threads.join()
        self.assertIsInstance(result[0], ValueError)
        self.assertIsNone(sel.get_map())
        sel.wakeup()                  # a no-op once closed

    def test_the_event_array_is_allocated_once(self):
        sel = self.selector()
        a, b = tcp_pair(self)
        sel.register(a, W)
        array = sel._events
        for _ in range(200):
            self.assertEqual(len(sel.select(0)), 1)
        self.assertIs(sel._events, array)
        socks = [socket.socket() for _ in range(100)]  # more fds than the array holds
        for s in socks:
            self.addCleanup(s.close)
            sel.register(s, W)        # unconnected sockets are writable (hang-up)
        self.assertEqual(len(sel.select(0)), 101)      # every ready fd in one select
        self.assertIsNot(sel._events, array)            # grown once, by registration


class TestSelectorEpoll(ReadinessTests, unittest.TestCase):
    BACKEND = "epoll"


class TestSelectorPoll(ReadinessTests, unittest.TestCase):
    BACKEND = "poll"


class TestQueuedOutput(unittest.TestCase):

    def read_all(self, peer, n, into):
        peer.settimeout(10 * SLACK)
        into.append(peer.recv_exact(n))

    def test_queue_and_flush_byte_exact(self):
        client, peer = netkit_pair(self)
        client.set_queue_limit(32 << 20)
        chunks, size = [], 0
        while size < (16 << 20):  # more than the socket buffers hold
            chunk = os.urandom(1 + (size * 7919) % 65536)
            chunks.append(chunk)
            size += len(chunk)
        for chunk in chunks:      # the peer reads nothing yet
            self.assertIsNone(client.queue(chunk))
        queued = client.queued
        self.assertGreater(queued, 0)
        left = client.flush()     # the kernel may take a little more (window growth)
        self.assertGreater(left, 0)
        self.assertLessEqual(left, queued)
        got = []
        threads = Threads(self)
        threads.start(self.read_all, peer, size, got)
        deadline = time.monotonic() + 10 * SLACK
        while client.flush() and time.monotonic() < deadline:
            time.sleep(0.001)
        threads.join()
        self.assertEqual(client.queued, 0)
        self.assertEqual(got[0], b"".join(chunks))

    def test_a_registered_client_is_flushed_by_select(self):
        client, peer = netkit_pair(self)
        client.set_queue_limit(16 << 20)
        data = os.urandom(8 << 20)
        view = memoryview(data)
        for i in range(0, len(data), 100000):
            client.queue(view[i:i + 100000])
        self.assertGreater(client.queued, 0)
        with netkit.Selector() as sel:
            sel.register(client, R)   # read interest only: writes are the selector's
            got = []
            threads = Threads(self)
            threads.start(self.read_all, peer, len(data), got)
            deadline = time.monotonic() + 10 * SLACK
            while client.queued and time.monotonic() < deadline:
                self.assertEqual(sel.select(0.1), [])    # never reported writable
            threads.join()
        self.assertEqual(client.queued, 0)
        self.assertEqual(got[0], data)

    def test_queue_from_another_thread_while_selecting(self):
        client, peer = netkit_pair(self)
        client.set_queue_limit(8 << 20)
        data = os.urandom(4 << 20)
        done = threading.Event()
        got = []
        threads = Threads(self)

        def writer():
            for i in range(0, len(data), 4096):
                client.queue(data[i:i + 4096])   # wakes the select for its lock
            done.set()
        with netkit.Selector() as sel:
            sel.register(client, R)
            threads.start(writer)
            threads.start(self.read_all, peer, len(data), got)
            deadline = time.monotonic() + 15 * SLACK
            while not (done.is_set() and client.queued == 0) and time.monotonic() < deadline:
                sel.select(0.1)
            threads.join()
        self.assertEqual(got[0], data)

    def test_enobufs_over_the_limit(self):
        client, peer = netkit_pair(self)
        client.set_queue_limit(4096)
        e = catch(client.queue, b"x" * 4097)   # alone over the limit: refused whole
        self.assertIs(type(e), OSError)
        self.assertEqual(e.errno, errno.ENOBUFS)
        self.assertEqual(str(e), "[Errno 105] No buffer space available")
        self.assertEqual(client.queued, 0)
        peer.settimeout(0.05)
        self.assertIsInstance(catch(peer.recv, 10), socket.timeout)  # nothing was sent
        # A peer that does not read: the socket buffers fill, then the queue.
        accepted, chunk = [], 1000
        for i in range(100000):
            block = i.to_bytes(4, "big") * (chunk // 4)
            try:
                client.queue(block)
            except OSError as exc:
                self.assertEqual(exc.errno, errno.ENOBUFS)
                break
            accepted.append(block)
        else:
            self.fail("the queue never filled")
        self.assertLessEqual(client.queued, 4096)
        self.assertGreater(client.queued + chunk, 4096)
        want = b"".join(accepted)
        got = []
        threads = Threads(self)
        threads.start(self.read_all, peer, len(want), got)
        deadline = time.monotonic() + 10 * SLACK
        while client.flush() and time.monotonic() < deadline:
            time.sleep(0.001)
        threads.join()
        self.assertEqual(got[0], want)        # in order, the refused block not among them
        client.queue(b"after")                # room again
        self.assertEqual(client.flush(), 0)
        self.assertEqual(peer.recv_exact(5), b"after")

    def test_a_failed_send_sticks(self):
        client, peer = netkit_pair(self)
        peer.close()
        deadline = time.monotonic() + 5 * SLACK
        error = None
        while error is None and time.monotonic() < deadline:
            try:
                client.queue(b"x" * 1000)
                client.flush()
            except OSError as e:
                error = e
            time.sleep(0.001)
        self.assertIsInstance(error, (BrokenPipeError, ConnectionResetError))
        for call in (lambda: client.queue(b"y"), client.flush):
            self.assertEqual(catch(call).errno, error.errno)
        self.assertEqual(client.queued, 0)    # the queue was dropped

    def test_arguments_and_closed_client(self):
        client, peer = netkit_pair(self)
        self.assertIsNone(client.queue(b""))
        client.queue(bytearray(b"ab"))
        client.queue(memoryview(b"xcdx")[1:3])
        self.assertEqual(client.flush(), 0)
        self.assertEqual(peer.recv_exact(4), b"abcd")
        self.assertIsInstance(catch(client.queue, "text"), TypeError)
        for bad, exc in ((0, ValueError), (-1, ValueError), (1 << 64, ValueError),
                         ("1", TypeError), (1.5, TypeError)):
            self.assertIsInstance(catch(client.set_queue_limit, bad), exc, bad)
        client.set_queue_limit(1)
        client.close()
        for call in (lambda: client.queue(b"x"), client.flush, lambda: client.queued,
                     lambda: client.set_queue_limit(10)):
            self.assertEqual(catch(call).errno, errno.EBADF)


if __name__ == "__main__":
    unittest.main()
