"""nk_support.py - what the tests of the Python binding share.

Imports netkit from python/ in this tree (the library it loads is the one of
the build tree unless NETKIT_LIBRARY says otherwise). Every network test runs
on 127.0.0.1 or ::1 with port 0; every wait is bounded; every thread is joined.
"""
import os
import socket
import sys
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
import netkit  # noqa: E402

# Scales every timing tolerance on a slow runner (as tests/examples does).
SLACK = float(os.environ.get("NK_TEST_SLACK", "1"))
LOOPBACK = "127.0.0.1"


def has_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def open_fds():
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def catch(fn, *args, **kwargs):
    """The exception fn raises (fails the test when it raises nothing)."""
    try:
        result = fn(*args, **kwargs)
    except BaseException as e:  # noqa: B902 - the tests compare every kind
        return e
    close = getattr(result, "close", None)
    if close is not None:
        close()
    raise AssertionError(f"{getattr(fn, '__name__', fn)} raised nothing (returned {result!r})")


def assert_same_error(test, mine, python):
    """The binding raised what Python's socket module raised: the same class,
    args (errno / EAI code and message), errno and str()."""
    test.assertIs(type(mine), type(python), f"netkit {mine!r} vs Python {python!r}")
    test.assertEqual(mine.args, python.args)
    test.assertEqual(getattr(mine, "errno", None), getattr(python, "errno", None))
    test.assertEqual(str(mine), str(python))


class Threads:
    """Threads started by a test and joined (bounded) at its end."""

    def __init__(self, test):
        self.test = test
        self.threads = []
        self.errors = []
        test.addCleanup(self.join)

    def start(self, fn, *args):
        def run():
            try:
                fn(*args)
            except BaseException as e:  # reported by join
                self.errors.append(e)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)
        return t

    def join(self, timeout=10.0):
        deadline = time.monotonic() + timeout * SLACK
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self.threads if t.is_alive()]
        self.threads = []
        if alive:
            raise AssertionError(f"{len(alive)} thread(s) still running after {timeout} s")
        if self.errors:
            errors, self.errors = self.errors, []
            raise errors[0]


def python_listener(host=LOOPBACK, backlog=5):
    """A plain-socket listening socket on an ephemeral port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(backlog)
    return s


def netkit_pair(test, timeout=5.0):
    """(client, accepted) netkit clients connected over loopback, closed at cleanup."""
    with netkit.create_server((LOOPBACK, 0)) as server:
        server.settimeout(timeout * SLACK)
        client = netkit.create_connection((LOOPBACK, server.port), timeout=timeout * SLACK)
        accepted, _ = server.accept()
    client.settimeout(None)
    test.addCleanup(client.close)
    test.addCleanup(accepted.close)
    return client, accepted


def hanging_listener(test):
    """(listener, port) where a connect hangs: a listener with a full accept
    queue drops new SYNs. Loopback only. Skips the test if the system
    completes connections anyway."""
    listener = python_listener(backlog=0)
    test.addCleanup(listener.close)
    port = listener.getsockname()[1]
    for _ in range(16):  # the queue holds backlog + 1 or so
        probe = socket.socket()
        test.addCleanup(probe.close)
        probe.settimeout(0.2 * SLACK)
        try:
            probe.connect((LOOPBACK, port))
        except socket.timeout:
            return listener, port
    raise unittest.SkipTest("this system completes every connect to a full listener; "
                            "no loopback way to make connect hang")


def watchdog(test, server, timeout=10.0):
    """Shuts server down after timeout seconds unless the test ended first, so
    that a serve() waiting for clients that never come cannot hang the suite."""
    def fire():
        try:
            server.shutdown()
        except OSError:
            pass  # closed already
    timer = threading.Timer(timeout * SLACK, fire)
    timer.daemon = True
    timer.start()
    test.addCleanup(timer.join)
    test.addCleanup(timer.cancel)
