"""Hostile arguments through python/netkit.py.

Every call runs in a child interpreter (this file run with --child), so that a
crash there (a signal, an abort) fails the test instead of taking the test
runner down; the child reports one JSON line per call and names each call on
stderr before making it. Each case is one of:

  - differential: the same hostile value given to the binding and to Python's
    own socket / selectors, which must raise the same class, with the same
    str() and errno (or, where marked, the same class only);
  - expected: a binding call with no socket counterpart, and the exception it
    must raise;
  - raw: a C function called through ctypes with a value the binding would
    never pass (a forged handle, an nk_addr whose len exceeds it, a huge
    length), and the exact code it must return.

Everything talks to 127.0.0.1 only; every call that could wait has a timeout.
"""
import ctypes
import errno
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nk_support import LOOPBACK, SLACK, netkit  # noqa: E402

_nk = netkit._nk
INT_MAX = 2**31 - 1
LONG_HOST = {n: "h" * n for n in (256, 1000, 100000)}
LABEL64 = "d" * 64 + ".example"
CONTROL_HOSTS = ("local\nhost", "localhost\r", "\tlocalhost", "\x1b[2Jlocalhost", "local\x7fhost")


class World:
    """The objects a case uses, made once in the child: for each netkit
    object its Python twin (p...), live and closed."""

    def __init__(self):
        self.nsrv = netkit.create_server((LOOPBACK, 0))
        self.nsrv.settimeout(5)
        self.ncli = netkit.create_connection((LOOPBACK, self.nsrv.port), timeout=2)
        self.nacc, _ = self.nsrv.accept()
        self.nudp = netkit.UdpEndpoint((LOOPBACK, 0))
        self.nudp.settimeout(2)
        self.nsel = netkit.Selector()
        self.psrv = socket.create_server((LOOPBACK, 0))
        self.pcli = socket.create_connection(self.psrv.getsockname(), timeout=2)
        self.pacc, _ = self.psrv.accept()
        self.pudp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.pudp.bind((LOOPBACK, 0))
        self.pudp.settimeout(2)
        self.psel = selectors.DefaultSelector()
        self.rfd, self.wfd = os.pipe()
        # Closed twins.
        self.ncli_closed = netkit.create_connection((LOOPBACK, self.nsrv.port), timeout=2)
        self.nsrv.accept()[0].close()
        self.ncli_closed.close()
        self.pcli_closed = socket.create_connection(self.psrv.getsockname(), timeout=2)
        self.psrv.accept()[0].close()
        self.pcli_closed.close()
        self.nsrv_closed = netkit.create_server((LOOPBACK, 0))
        self.nsrv_closed.close()
        self.psrv_closed = socket.create_server((LOOPBACK, 0))
        self.psrv_closed.close()
        self.nudp_closed = netkit.UdpEndpoint()
        self.nudp_closed.close()
        self.pudp_closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.pudp_closed.close()
        self.nsel_closed = netkit.Selector()
        self.nsel_closed.close()
        self.nport = self.nsrv.port
        self.pport = self.psrv.getsockname()[1]


# ---- The cases: (name, netkit call, Python call or expectation, mode) ----------------
# mode "same": class, str() and errno equal; "class": the class only (the text
# names a C type Python converts to and netkit does not).

def _differential():
    cases = []

    def both(name, nk, py, mode="same"):
        cases.append((name, nk, py, mode))

    # create_connection: host names, ports, timeouts
    for n, host in LONG_HOST.items():
        both(f"create_connection host of {n} chars",
             lambda w, h=host: netkit.create_connection((h, 80)),
             lambda w, h=host: socket.create_connection((h, 80)))
        both(f"create_connection bytes host of {n} chars",
             lambda w, h=host: netkit.create_connection((h.encode(), 80)),
             lambda w, h=host: socket.create_connection((h.encode(), 80)))
    both("create_connection label of 64 chars",
         lambda w: netkit.create_connection((LABEL64, 80)),
         lambda w: socket.create_connection((LABEL64, 80)))
    both("create_connection bytes label of 64 chars",
         lambda w: netkit.create_connection((LABEL64.encode(), 80)),
         lambda w: socket.create_connection((LABEL64.encode(), 80)))
    for host in CONTROL_HOSTS + ("",):
        both(f"create_connection host {host!r}",
             lambda w, h=host: netkit.create_connection((h, 80)),
             lambda w, h=host: socket.create_connection((h, 80)))
    both("create_connection address None", lambda w: netkit.create_connection(None),
         lambda w: socket.create_connection(None))
    both("create_connection host 5", lambda w: netkit.create_connection((5, 80)),
         lambda w: socket.create_connection((5, 80)))
    both("create_connection port 2**64", lambda w: netkit.create_connection((LOOPBACK, 2**64)),
         lambda w: socket.create_connection((LOOPBACK, 2**64)), "class")
    both("create_connection port 1.5", lambda w: netkit.create_connection((LOOPBACK, 1.5)),
         lambda w: socket.create_connection((LOOPBACK, 1.5)))
    for t in (-1, float("nan"), float("inf"), 1e300, 1e10, 2**70, "1"):
        both(f"create_connection timeout {t!r}",
             lambda w, t=t: netkit.create_connection((LOOPBACK, w.nport), t),
             lambda w, t=t: socket.create_connection((LOOPBACK, w.pport), t))

    # getaddrinfo
    for n, host in LONG_HOST.items():
        both(f"getaddrinfo host of {n} chars", lambda w, h=host: netkit.getaddrinfo(h, 80),
             lambda w, h=host: socket.getaddrinfo(h, 80))
        both(f"getaddrinfo bytes host of {n} chars",
             lambda w, h=host: netkit.getaddrinfo(h.encode(), 80),
             lambda w, h=host: socket.getaddrinfo(h.encode(), 80))
    both("getaddrinfo label of 64 chars", lambda w: netkit.getaddrinfo(LABEL64, 80),
         lambda w: socket.getaddrinfo(LABEL64, 80))
    both("getaddrinfo bytes label of 64", lambda w: netkit.getaddrinfo(LABEL64.encode(), 80),
         lambda w: socket.getaddrinfo(LABEL64.encode(), 80))
    for host in CONTROL_HOSTS + ("",):
        both(f"getaddrinfo host {host!r}", lambda w, h=host: netkit.getaddrinfo(h, 80),
             lambda w, h=host: socket.getaddrinfo(h, 80))
    both("getaddrinfo host []", lambda w: netkit.getaddrinfo([], 80),
         lambda w: socket.getaddrinfo([], 80))
    both("getaddrinfo port 2**64", lambda w: netkit.getaddrinfo(LOOPBACK, 2**64),
         lambda w: socket.getaddrinfo(LOOPBACK, 2**64), "class")
    for port in (1.0, [], bytearray(b"80")):
        both(f"getaddrinfo port {port!r}", lambda w, p=port: netkit.getaddrinfo(LOOPBACK, p),
             lambda w, p=port: socket.getaddrinfo(LOOPBACK, p))
    both("getaddrinfo port ''", lambda w: netkit.getaddrinfo(LOOPBACK, ""),
         lambda w: socket.getaddrinfo(LOOPBACK, ""))
    for label, args in (("family 2**40", (2**40,)), ("family -2**40", (-2**40,)),
                        ("family 2**31", (2**31,)), ("family 12345", (12345,)),
                        ("family -1", (-1,)), ("family 1.0", (1.0,)),
                        ("type 999", (0, 999)), ("type 2**31", (0, 2**31)),
                        ("type -2**31", (0, -2**31)), ("proto 2**40", (0, 0, 2**40)),
                        ("flags -1", (0, 0, 0, -1)), ("flags 2**31", (0, 0, 0, 2**31)),
                        ("flags 'x'", (0, 0, 0, "x"))):
        both(f"getaddrinfo {label}", lambda w, a=args: netkit.getaddrinfo(LOOPBACK, 80, *a),
             lambda w, a=args: socket.getaddrinfo(LOOPBACK, 80, *a))

    # gethostbyname, gethostbyaddr
    for fn in ("gethostbyname", "gethostbyaddr"):
        for label, host in (("None", None), ("5", 5), ("NUL", "a\0b"), ("bytes NUL", b"a\0b"),
                            ("256 chars", LONG_HOST[256]), ("bytes 256", b"h" * 256),
                            ("100000 chars", LONG_HOST[100000]), ("label 64", LABEL64),
                            ("bytes label 64", LABEL64.encode())) + tuple(
                                (repr(h), h) for h in CONTROL_HOSTS):
            both(f"{fn} {label}", lambda w, f=fn, h=host: getattr(netkit, f)(h),
                 lambda w, f=fn, h=host: getattr(socket, f)(h))
    both("gethostbyname ''", lambda w: netkit.gethostbyname(""),
         lambda w: socket.gethostbyname(""))

    # create_server (Python's leaks its socket on a TypeError from bind: the
    # ResourceWarning is ignored)
    for label, address in (("host of 256 chars", (LONG_HOST[256], 0)),
                           ("label of 64 chars", (LABEL64, 0)),
                           ("host NUL", ("a\0", 0)), ("host 'local\\nhost'", ("local\nhost", 0)),
                           ("port -1", (LOOPBACK, -1)), ("port 65536", (LOOPBACK, 65536)),
                           ("port 2**64", (LOOPBACK, 2**64)), ("port -2**31", (LOOPBACK, -2**31)),
                           ("address 'x'", "x"), ("port 1.5", (LOOPBACK, 1.5))):
        both(f"create_server {label}", lambda w, a=address: netkit.create_server(a),
             lambda w, a=address: socket.create_server(a))
    for backlog in (2**31, -2**31 - 1, "x"):
        both(f"create_server backlog {backlog!r}",
             lambda w, b=backlog: netkit.create_server((LOOPBACK, 0), backlog=b),
             lambda w, b=backlog: socket.create_server((LOOPBACK, 0), backlog=b))
    both("create_server family 999", lambda w: netkit.create_server((LOOPBACK, 0), family=999),
         lambda w: socket.create_server((LOOPBACK, 0), family=999))

    # A live TCP client
    for label, call in (("recv(-1)", lambda c: c.recv(-1)), ("recv(2**63)", lambda c: c.recv(2**63)),
                        ("recv(-2**63-1)", lambda c: c.recv(-2**63 - 1)),
                        ("recv(2**62)", lambda c: c.recv(2**62)),
                        ("recv(None)", lambda c: c.recv(None)), ("recv(1.0)", lambda c: c.recv(1.0)),
                        ("recv('1')", lambda c: c.recv("1")),
                        ("send(None)", lambda c: c.send(None)), ("send('x')", lambda c: c.send("x")),
                        ("send(5)", lambda c: c.send(5)), ("sendall(None)", lambda c: c.sendall(None)),
                        ("sendall([1])", lambda c: c.sendall([1])),
                        ("settimeout(-1)", lambda c: c.settimeout(-1)),
                        ("settimeout(-1e-9)", lambda c: c.settimeout(-1e-9)),
                        ("settimeout(nan)", lambda c: c.settimeout(float("nan"))),
                        ("settimeout(inf)", lambda c: c.settimeout(float("inf"))),
                        ("settimeout(1e10)", lambda c: c.settimeout(1e10)),
                        ("settimeout(2**70)", lambda c: c.settimeout(2**70)),
                        ("settimeout('x')", lambda c: c.settimeout("x")),
                        ("shutdown(99)", lambda c: c.shutdown(99)),
                        ("shutdown(-1)", lambda c: c.shutdown(-1)),
                        ("shutdown(2**40)", lambda c: c.shutdown(2**40)),
                        ("shutdown(-2**40)", lambda c: c.shutdown(-2**40)),
                        ("shutdown('x')", lambda c: c.shutdown("x")),
                        ("recv_into(bytearray(3), -1)", lambda c: c.recv_into(bytearray(3), -1)),
                        ("recv_into(bytearray(3), 10)", lambda c: c.recv_into(bytearray(3), 10)),
                        ("recv_into(bytearray(3), 2**63)",
                         lambda c: c.recv_into(bytearray(3), 2**63)),
                        ("recv_into(None)", lambda c: c.recv_into(None))):
        both(f"client.{label}", lambda w, f=call: f(w.ncli), lambda w, f=call: f(w.pcli),
             "class" if label.startswith("recv_into(None") else "same")
    # A closed TCP client and server
    for label, call in (("recv(1)", lambda c: c.recv(1)), ("send(b'x')", lambda c: c.send(b"x")),
                        ("sendall(b'x')", lambda c: c.sendall(b"x")),
                        ("settimeout(1)", lambda c: c.settimeout(1)),
                        ("shutdown(SHUT_RDWR)", lambda c: c.shutdown(socket.SHUT_RDWR)),
                        ("getpeername()", lambda c: c.getpeername()),
                        ("fileno()", lambda c: c.fileno()),
                        ("recv(-1)", lambda c: c.recv(-1))):
        both(f"closed client.{label}", lambda w, f=call: f(w.ncli_closed),
             lambda w, f=call: f(w.pcli_closed))
    for label, call in (("accept()", lambda s: s.accept()),
                        ("getsockname()", lambda s: s.getsockname()),
                        ("settimeout(1)", lambda s: s.settimeout(1))):
        both(f"closed server.{label}", lambda w, f=call: f(w.nsrv_closed),
             lambda w, f=call: f(w.psrv_closed))
    both("server.settimeout(-1)", lambda w: w.nsrv.settimeout(-1), lambda w: w.psrv.settimeout(-1))

    # UDP
    for label, address in (("port -1", (LOOPBACK, -1)), ("port 65536", (LOOPBACK, 65536)),
                           ("port 2**64", (LOOPBACK, 2**64)), ("host None", (None, 80)),
                           ("host of 256 chars", (LONG_HOST[256], 80)),
                           ("host of 100000 chars", (LONG_HOST[100000], 80)),
                           ("label of 64 chars", (LABEL64, 80)),
                           ("non-ASCII label of 64", ("\u00e9" * 64, 80)),
                           ("host NUL", ("a\0b", 80)), ("bytes host NUL", (b"a\0b", 80)),
                           ("address 5", 5), ("address ('a',)", ("a",)),
                           ("host 'local\\nhost'", ("local\nhost", 80))):
        both(f"udp.sendto {label}", lambda w, a=address: w.nudp.sendto(b"x", a),
             lambda w, a=address: w.pudp.sendto(b"x", a))
    for label, call in (("recvfrom(-1)", lambda u: u.recvfrom(-1)),
                        ("recvfrom(2**63)", lambda u: u.recvfrom(2**63)),
                        ("recv(-1)", lambda u: u.recv(-1)),
                        ("sendto(None, addr)", lambda u: u.sendto(None, (LOOPBACK, 9))),
                        ("connect((LOOPBACK, 2**64))", lambda u: u.connect((LOOPBACK, 2**64))),
                        ("connect(('a\\0', 9))", lambda u: u.connect(("a\0", 9))),
                        ("settimeout(-1)", lambda u: u.settimeout(-1))):
        both(f"udp.{label}", lambda w, f=call: f(w.nudp), lambda w, f=call: f(w.pudp))
    for label, call in (("sendto", lambda u: u.sendto(b"x", (LOOPBACK, 9))),
                        ("recvfrom", lambda u: u.recvfrom(1)), ("send", lambda u: u.send(b"x")),
                        ("getsockname", lambda u: u.getsockname())):
        both(f"closed udp.{label}", lambda w, f=call: f(w.nudp_closed),
             lambda w, f=call: f(w.pudp_closed))

    # Selector, against selectors.DefaultSelector (epoll)
    for label, call in (("register(-1, READ)", lambda s, w: s.register(-1, 1)),
                        ("register(fd, 0)", lambda s, w: s.register(w.rfd, 0)),
                        ("register(fd, 99)", lambda s, w: s.register(w.rfd, 99)),
                        ("register(fd, -1)", lambda s, w: s.register(w.rfd, -1)),
                        ("register(object(), READ)", lambda s, w: s.register(object(), 1)),
                        ("register(2**40, READ)", lambda s, w: s.register(2**40, 1)),
                        ("register(2**31, READ)", lambda s, w: s.register(2**31, 1)),
                        ("register(-2**40, READ)", lambda s, w: s.register(-2**40, 1)),
                        ("register(1000000, READ)", lambda s, w: s.register(1000000, 1)),
                        ("select(nan)", lambda s, w: s.select(float("nan"))),
                        ("select(inf)", lambda s, w: s.select(float("inf"))),
                        ("select(1e300)", lambda s, w: s.select(1e300)),
                        ("select(1e9)", lambda s, w: s.select(1e9)),
                        ("select(2**63)", lambda s, w: s.select(2**63)),
                        ("select('x')", lambda s, w: s.select("x")),
                        ("select(-5)", lambda s, w: s.select(-5)),
                        ("select(-inf)", lambda s, w: s.select(float("-inf"))),
                        ("modify(unregistered)", lambda s, w: s.modify(w.rfd, 1)),
                        ("unregister(12345)", lambda s, w: s.unregister(12345)),
                        ("get_key(12345)", lambda s, w: s.get_key(12345))):
        both(f"selector.{label}", lambda w, f=call: f(w.nsel, w), lambda w, f=call: f(w.psel, w))
    return cases


def _expected():
    """Binding calls without a socket counterpart: (name, call, class, str)."""
    ebadf = f"[Errno {errno.EBADF}] {os.strerror(errno.EBADF)}"
    einval = f"[Errno {errno.EINVAL}] {os.strerror(errno.EINVAL)}"
    return [
        ("create_connection port -1", lambda w: netkit.create_connection((LOOPBACK, -1)),
         "OverflowError", "connect(): port must be 0-65535."),
        ("create_connection port 65536", lambda w: netkit.create_connection((LOOPBACK, 65536)),
         "OverflowError", "connect(): port must be 0-65535."),
        ("create_connection port 2**31-1", lambda w: netkit.create_connection((LOOPBACK, INT_MAX)),
         "OverflowError", "connect(): port must be 0-65535."),
        ("create_connection port -2**31", lambda w: netkit.create_connection((LOOPBACK, -2**31)),
         "OverflowError", "connect(): port must be 0-65535."),
        ("create_connection host NUL", lambda w: netkit.create_connection(("127.0.0.1\0x", 80)),
         "gaierror", "[Errno -2] Name or service not known"),
        ("getaddrinfo port -1", lambda w: netkit.getaddrinfo(LOOPBACK, -1),
         "OverflowError", "getaddrinfo(): port must be 0-65535."),
        ("getaddrinfo port 65536", lambda w: netkit.getaddrinfo(LOOPBACK, 65536),
         "OverflowError", "getaddrinfo(): port must be 0-65535."),
        ("client.recv_exact(-1)", lambda w: w.ncli.recv_exact(-1),
         "ValueError", "negative buffersize in recv_exact"),
        ("client.recv_exact(2**63)", lambda w: w.ncli.recv_exact(2**63),
         "OverflowError", "Python int too large to convert to C ssize_t"),
        ("client.recv_line(-1)", lambda w: w.ncli.recv_line(-1),
         "ValueError", "negative buffersize in recv_line"),
        ("client.recv_line(0)", lambda w: w.ncli.recv_line(0),
         "ValueError", "recv_line: maxlen must be at least 1"),
        ("client.recv_line(2**63)", lambda w: w.ncli.recv_line(2**63),
         "OverflowError", "Python int too large to convert to C ssize_t"),
        ("client.set_keepalive(idle=-1)", lambda w: w.ncli.set_keepalive(True, -1),
         "ValueError", "set_keepalive: idle must be 0 or more seconds"),
        ("client.set_keepalive(idle=2**31)", lambda w: w.ncli.set_keepalive(True, 2**31),
         "ValueError", "set_keepalive: idle must be 0 or more seconds"),
        ("client.set_keepalive(idle=40000)", lambda w: w.ncli.set_keepalive(True, 40000),
         "OSError", einval),
        ("client.set_queue_limit(0)", lambda w: w.ncli.set_queue_limit(0), "ValueError",
         f"set_queue_limit: limit must be 1 to {sys.maxsize} bytes"),
        ("client.set_queue_limit(2**63)", lambda w: w.ncli.set_queue_limit(2**63), "ValueError",
         f"set_queue_limit: limit must be 1 to {sys.maxsize} bytes"),
        ("client.set_queue_limit('x')", lambda w: w.ncli.set_queue_limit("x"), "TypeError",
         "'str' object cannot be interpreted as an integer"),
        ("client.queue(None)", lambda w: w.ncli.queue(None), "TypeError",
         "a bytes-like object is required, not 'NoneType'"),
        ("client.queue('x')", lambda w: w.ncli.queue("x"), "TypeError",
         "a bytes-like object is required, not 'str'"),
        ("closed client.recv_exact(1)", lambda w: w.ncli_closed.recv_exact(1), "OSError", ebadf),
        ("closed client.recv_line()", lambda w: w.ncli_closed.recv_line(), "OSError", ebadf),
        ("closed client.queue(b'x')", lambda w: w.ncli_closed.queue(b"x"), "OSError", ebadf),
        ("closed client.flush()", lambda w: w.ncli_closed.flush(), "OSError", ebadf),
        ("closed client.set_nodelay()", lambda w: w.ncli_closed.set_nodelay(), "OSError", ebadf),
        ("closed server.serve(f)", lambda w: w.nsrv_closed.serve(lambda c, a: None),
         "OSError", ebadf),
        ("closed server.port", lambda w: w.nsrv_closed.port, "OSError", ebadf),
        ("server.serve(None)", lambda w: w.nsrv.serve(None), "TypeError",
         "serve(): handler must be callable"),
        ("server.serve(f, max_clients=-1)", lambda w: w.nsrv.serve(lambda c, a: None, False, -1),
         "ValueError", "serve(): max_clients must be 0 (no limit) or more"),
        ("udp.sendto host ''", lambda w: w.nudp.sendto(b"x", ("", 9)),
         "gaierror", "[Errno -2] Name or service not known"),
        ("udp.sendto(b'x', 1, addr)", lambda w: w.nudp.sendto(b"x", 1, (LOOPBACK, 9)),
         "ValueError", "sendto(): netkit supports flags=0 only"),
        ("closed selector.register", lambda w: w.nsel_closed.register(w.rfd, 1),
         "ValueError", "I/O operation on closed selector"),
        ("closed selector.select", lambda w: w.nsel_closed.select(0),
         "ValueError", "I/O operation on closed selector"),
        ("Selector(backend='kqueue')", lambda w: netkit.Selector(backend="kqueue"),
         "ValueError", None),
    ]


def _forged(magic):
    """A handle-sized block of 0xA5 bytes starting with magic: what a freed
    handle or another object looks like. Kept alive by the caller."""
    buf = ctypes.create_string_buffer(b"\xa5" * 1024)
    ctypes.memmove(buf, magic.to_bytes(4, sys.byteorder), 4)
    return buf


def _raw():
    """C functions through ctypes with values the binding never passes:
    (name, call returning an int, expected code)."""
    NK_EINVAL, NK_ENULL, NK_EHANDLE = netkit.NK_EINVAL, netkit.NK_ENULL, netkit.NK_EHANDLE
    dead = _forged(0xDEADD00D)
    wrong = _forged(0x6E6B7473)  # a server's magic, given as a client or UDP endpoint

    def huge_len_addr(w):
        """An IPv4 nk_addr whose len (0xffffffff) is far beyond its 128 bytes."""
        a = netkit.NkAddr()
        ctypes.memmove(ctypes.addressof(a), socket.AF_INET.to_bytes(2, sys.byteorder), 2)
        a.len = 0xFFFFFFFF
        return ctypes.byref(a)

    def close_dead(w):
        """nk_tcp_client_close on a dead handle: 0 when it left the memory alone."""
        _nk.nk_tcp_client_close(ctypes.addressof(dead))
        return 0 if dead.raw == _forged(0xDEADD00D).raw else -1

    return [
        ("nk_udp_sendto_addr, nk_addr.len 0xffffffff",
         lambda w: _nk.nk_udp_sendto_addr(w.nudp._h.ptr, b"x", 1, huge_len_addr(w)), NK_EINVAL),
        ("nk_tcp_connect_addr, nk_addr.len 0xffffffff",
         lambda w: _nk.nk_tcp_connect_addr(ctypes.byref(ctypes.c_void_p()), huge_len_addr(w), 100),
         NK_EINVAL),
        ("nk_tcp_client_recv, NULL buffer, len SIZE_MAX",
         lambda w: _nk.nk_tcp_client_recv(w.ncli._h.ptr, None, 2**64 - 1), NK_ENULL),
        ("nk_tcp_client_send, len SIZE_MAX",
         lambda w: _nk.nk_tcp_client_send(w.ncli._h.ptr, b"x", 2**64 - 1), NK_EINVAL),
        ("nk_tcp_client_send, dead handle",
         lambda w: _nk.nk_tcp_client_send(ctypes.addressof(dead), b"x", 1), NK_EHANDLE),
        ("nk_tcp_client_recv, wrong handle",
         lambda w: _nk.nk_tcp_client_recv(ctypes.addressof(wrong), None, 0), NK_EHANDLE),
        ("nk_udp_recvfrom, dead handle",
         lambda w: _nk.nk_udp_recvfrom(ctypes.addressof(dead), None, 0, None), NK_EHANDLE),
        ("nk_selector_select, wrong handle",
         lambda w: _nk.nk_selector_select(ctypes.addressof(wrong), None, 1, 0), NK_EHANDLE),
        ("nk_tcp_client_close, dead handle (no-op)", close_dead, 0),
        ("nk_selector_register_fd, fd INT_MAX",
         lambda w: _nk.nk_selector_register_fd(w.nsel._h.ptr, INT_MAX, 1, None), -errno.EBADF),
        ("nk_selector_select, max INT_MAX",
         lambda w: _nk.nk_selector_select(w.nsel._h.ptr, (netkit.NkEvent * 1)(), INT_MAX, 0), 0),
        ("nk_tcp_server_open, NULL out",
         lambda w: _nk.nk_tcp_server_open(None, b"127.0.0.1", 0, None), NK_ENULL),
        ("nk_strerror(INT_MIN)",
         lambda w: 0 if _nk.nk_strerror(-2**31) == b"unknown netkit error -2147483648" else -1, 0),
    ]


def _outcome(fn, world):
    """What a call did, in a form JSON carries."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            result = fn(world)
    except BaseException as e:  # noqa: B902 - every class is compared
        return {"class": type(e).__name__, "str": str(e), "errno": getattr(e, "errno", None)}
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return {"class": None, "result": repr(result)[:300]}


CASE_LIMIT = 10 * SLACK  # seconds one case may take; none waits on purpose


def _watchdog(current):
    """Ends the child when a case hangs (a huge timeout taken as it is)."""
    while True:
        time.sleep(0.2)
        name, started = current[0]
        if name is not None and time.monotonic() - started > CASE_LIMIT:
            print(f"hung for {CASE_LIMIT:.0f} s: {name}", file=sys.stderr, flush=True)
            os._exit(3)


def child():
    """Runs every case; one JSON line per case on stdout, its name on stderr first."""
    world = World()
    out = sys.stdout
    current = [(None, 0.0)]
    threading.Thread(target=_watchdog, args=(current,), daemon=True).start()
    for kind, cases in (("differential", _differential()), ("expected", _expected()),
                        ("raw", _raw())):
        for case in cases:
            name = case[0]
            print(f"calling {kind}: {name}", file=sys.stderr, flush=True)
            current[0] = (name, time.monotonic())
            line = {"kind": kind, "name": name, "nk": _outcome(case[1], world)}
            if kind == "differential":
                line["py"] = _outcome(case[2], world)
                line["mode"] = case[3]
            elif kind == "expected":
                line["class"], line["str"] = case[2], case[3]
            else:
                line["code"] = case[2]
            out.write(json.dumps(line) + "\n")
            out.flush()
    current[0] = (None, 0.0)
    print("done", file=sys.stderr, flush=True)


class TestHostileArguments(unittest.TestCase):
    """The binding never crashes and raises what Python's socket raises."""

    @classmethod
    def setUpClass(cls):
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"],
                                  capture_output=True, text=True, timeout=120 * SLACK, env=env)
            cls.returncode, cls.stderr, stdout = proc.returncode, proc.stderr, proc.stdout
        except subprocess.TimeoutExpired as e:  # the watchdog should have ended it first
            cls.returncode = "killed after 120 s"
            cls.stderr = (e.stderr or b"").decode(errors="replace")
            stdout = (e.stdout or b"").decode(errors="replace")
        cls.lines = [json.loads(l) for l in stdout.splitlines() if l.strip()]

    def test_child_interpreter_survives_every_call(self):
        last = [l for l in self.stderr.splitlines() if l.startswith(("calling ", "hung "))][-2:]
        self.assertEqual(self.returncode, 0,
                         f"the child died (a negative code is a signal) during {last}: "
                         f"{self.stderr[-2000:]}")
        self.assertIn("done", self.stderr.splitlines())
        expected = len(_differential()) + len(_expected()) + len(_raw())
        self.assertEqual(len(self.lines), expected)
        print(f"\nhostile binding calls: {sum(l['kind'] == 'differential' for l in self.lines)} "
              f"differential, {sum(l['kind'] == 'expected' for l in self.lines)} expected, "
              f"{sum(l['kind'] == 'raw' for l in self.lines)} raw", file=sys.stderr)

    def test_same_exception_as_the_socket_module(self):
        for line in self.lines:
            if line["kind"] != "differential":
                continue
            with self.subTest(case=line["name"]):
                nk, py = line["nk"], line["py"]
                self.assertEqual(nk["class"], py["class"], f"netkit {nk} vs Python {py}")
                if line["mode"] == "same" and py["class"] is not None:
                    # An object's repr names its address, which two calls
                    # need not share (they do not under PYTHONMALLOC=malloc).
                    self.assertEqual(re.sub(r"0x[0-9a-f]+", "0x?", nk["str"]),
                                     re.sub(r"0x[0-9a-f]+", "0x?", py["str"]))
                    self.assertEqual(nk["errno"], py["errno"])
                elif py["class"] is None and line["name"].startswith("getaddrinfo"):
                    self.assertEqual(nk["result"], py["result"])

    def test_expected_exceptions(self):
        for line in self.lines:
            if line["kind"] != "expected":
                continue
            with self.subTest(case=line["name"]):
                self.assertEqual(line["nk"]["class"], line["class"], line["nk"])
                if line["str"] is not None:
                    self.assertEqual(line["nk"]["str"], line["str"])

    def test_raw_calls_return_the_documented_code(self):
        for line in self.lines:
            if line["kind"] != "raw":
                continue
            with self.subTest(case=line["name"]):
                self.assertIsNone(line["nk"]["class"], line["nk"])
                self.assertEqual(line["nk"]["result"], repr(line["code"]))


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        unittest.main()
