"""netkit - Python's socket ergonomics over libnetkit, through ctypes.

A single module from the standard library only: copy it next to a script, or
put python/ on sys.path. It loads libnetkit.so from (in this order)

  1. the file named by the environment variable NETKIT_LIBRARY,
  2. the build tree: ../lib/libnetkit.so next to this file (after `make`),
  3. the system: ctypes.util.find_library('netkit') (after `make install`),

and raises ImportError listing where it looked when none loads.

The calls are named as in the socket module::

    import netkit
    with netkit.create_connection(('localhost', 65432), timeout=5) as c:
        c.sendall(b'Hello, Server!')
        print(c.recv(1024))

Failures raise the standard library's own exceptions, with the text Python
prints for the same failure: OSError and its subclasses (ConnectionRefusedError,
BlockingIOError, ...) with errno and strerror set, socket.timeout,
socket.gaierror, socket.herror; ValueError, TypeError and OverflowError for bad
arguments. A closed object raises OSError(EBADF) as a closed socket does.

Selector is selectors.DefaultSelector over nk_selector, for many connections
on one thread; TcpClient.queue() is output that never blocks, which a
Selector's select() sends when the socket can take it.

Every C handle is released exactly once: by close() (or the with statement);
an object collected while still open is closed by a finalizer, with a
ResourceWarning as Python gives for an unclosed socket. A handle is never
freed while another thread is inside a call on it: close() from another
thread wakes that call (it then raises OSError(EBADF)) and the handle is
freed when the call returns.

ctypes releases the GIL during every C call, so a blocking call does not
stop other threads. The C library retries EINTR itself (PEP 475), so a
blocking call in the main thread only sees Ctrl-C when it returns; accept(),
serve() and UDP receives are written so that Ctrl-C interrupts them at once.
See docs/python.md for the differences from the socket module.
"""

import ctypes
import ctypes.util
import errno as _errno
import math
import operator
import os
import select
import selectors as _selectors
import signal as _signal
import socket as _socket
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Mapping as _Mapping

__all__ = [
    "TcpClient", "TcpServer", "UdpEndpoint", "Selector", "SelectorKey",
    "EVENT_READ", "EVENT_WRITE",
    "create_connection", "create_server",
    "gethostname", "gethostbyname", "gethostbyaddr", "getaddrinfo",
    "error", "timeout", "gaierror", "herror",
    "AF_UNSPEC", "AF_INET", "AF_INET6", "SOCK_STREAM", "SOCK_DGRAM",
    "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "library_path",
]

# The standard library's exception classes and constants, re-exported so that
# `except netkit.timeout:` and `except socket.timeout:` are the same clause.
error = OSError
timeout = _socket.timeout
gaierror = _socket.gaierror
herror = _socket.herror
AF_UNSPEC = _socket.AF_UNSPEC
AF_INET = _socket.AF_INET
AF_INET6 = _socket.AF_INET6
SOCK_STREAM = _socket.SOCK_STREAM
SOCK_DGRAM = _socket.SOCK_DGRAM
SHUT_RD = _socket.SHUT_RD
SHUT_WR = _socket.SHUT_WR
SHUT_RDWR = _socket.SHUT_RDWR
# The selectors module's key and event bits (equal to NK_EVENT_READ/WRITE).
SelectorKey = _selectors.SelectorKey
EVENT_READ = _selectors.EVENT_READ
EVENT_WRITE = _selectors.EVENT_WRITE


# ---------------------------------------------------------------------------
# Loading the library
# ---------------------------------------------------------------------------

def _load():
    """Returns (CDLL, path) or raises ImportError saying where it looked."""
    tried = []
    env = os.environ.get("NETKIT_LIBRARY")
    if env:
        # An explicit choice that fails is an error, not a reason to load
        # some other copy silently.
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise ImportError(f"netkit: cannot load NETKIT_LIBRARY={env!r}: {e}") from None
    tried.append("NETKIT_LIBRARY (not set)")
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.path.normpath(os.path.join(here, os.pardir, "lib", "libnetkit.so"))
    if os.path.exists(build):
        try:
            return ctypes.CDLL(build), build
        except OSError as e:
            tried.append(f"{build} ({e})")
    else:
        tried.append(f"{build} (no such file; run make)")
    name = ctypes.util.find_library("netkit")
    if name:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            tried.append(f"ctypes.util.find_library('netkit') -> {name} ({e})")
    else:
        tried.append("ctypes.util.find_library('netkit') (not found)")
    raise ImportError("netkit: libnetkit.so not found; looked in:\n  " + "\n  ".join(tried))


_nk, library_path = _load()


# ---------------------------------------------------------------------------
# C types, mirroring include/netkit.h
# ---------------------------------------------------------------------------

class _SockaddrStorage(ctypes.Union):
    """struct sockaddr_storage: 128 bytes, 8-byte aligned."""
    _fields_ = [("raw", ctypes.c_ubyte * 128), ("_align", ctypes.c_uint64)]


class NkAddr(ctypes.Structure):
    """nk_addr: one IPv4 or IPv6 socket address by value."""
    _fields_ = [("ss", _SockaddrStorage), ("len", ctypes.c_uint32)]  # socklen_t


class NkAddrinfo(ctypes.Structure):
    """nk_addrinfo: one entry of nk_getaddrinfo's list."""


NkAddrinfo._fields_ = [
    ("next", ctypes.POINTER(NkAddrinfo)),
    ("family", ctypes.c_int),
    ("socktype", ctypes.c_int),
    ("protocol", ctypes.c_int),
    ("canonname", ctypes.c_char_p),
    ("addr", NkAddr),
]


class NkTcpServerOpts(ctypes.Structure):
    _fields_ = [("backlog", ctypes.c_int), ("family", ctypes.c_int),
                ("reuse_port", ctypes.c_int), ("v6only", ctypes.c_int)]


class NkServeOpts(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int), ("max_clients", ctypes.c_long)]


class NkEvent(ctypes.Structure):
    """nk_event: one ready fd as nk_selector_select stores it."""
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_int), ("data", ctypes.c_void_p)]


class NkSelectorOpts(ctypes.Structure):
    _fields_ = [("backend", ctypes.c_int)]


# void (*nk_tcp_handler)(nk_tcp_client *client, const nk_addr *peer, void *arg)
_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(NkAddr), ctypes.c_void_p)

_int, _long, _size, _ssize = ctypes.c_int, ctypes.c_long, ctypes.c_size_t, ctypes.c_ssize_t
_ptr, _str = ctypes.c_void_p, ctypes.c_char_p
_addr_p = ctypes.POINTER(NkAddr)
_handle_out = ctypes.POINTER(ctypes.c_void_p)

# Every function of netkit.h: name -> (restype, argtypes). Handles are void *,
# buffers void * with size_t lengths, ssize_t results c_ssize_t: no implicit
# int conversion truncates a pointer or a size.
_PROTOTYPES = {
    "nk_version": (_str, []),
    "nk_error_kind": (_int, [_int]),
    "nk_error_errno": (_int, [_int]),
    "nk_error_gai": (_int, [_int]),
    "nk_error_herrno": (_int, [_int]),
    "nk_error_name": (_str, [_int]),
    "nk_strerror": (_str, [_int]),
    "nk_strerror_r": (_int, [_int, _ptr, _size]),
    "nk_addr_set": (_int, [_addr_p, _str, _int]),
    "nk_addr_parse": (_int, [_addr_p, _str]),
    "nk_addr_format": (_int, [_addr_p, _ptr, _size]),
    "nk_addr_tuple": (_int, [_addr_p, _ptr, _size]),
    "nk_addr_host": (_int, [_addr_p, _ptr, _size]),
    "nk_addr_port": (_int, [_addr_p]),
    "nk_addr_family": (_int, [_addr_p]),
    "nk_addr_equal": (_int, [_addr_p, _addr_p]),
    "nk_gethostname": (_int, [_ptr, _size]),
    "nk_gethostbyname": (_int, [_str, _ptr, _size]),
    "nk_gethostbyaddr": (_int, [_str, _ptr, _size]),
    "nk_getaddrinfo": (_int, [_str, _int, _int, _int, _int,
                              ctypes.POINTER(ctypes.POINTER(NkAddrinfo))]),
    "nk_freeaddrinfo": (None, [ctypes.POINTER(NkAddrinfo)]),
    "nk_tcp_connect": (_int, [_handle_out, _str, _int, _int]),
    "nk_tcp_connect_addr": (_int, [_handle_out, _addr_p, _int]),
    "nk_tcp_client_close": (None, [_ptr]),
    "nk_tcp_client_settimeout": (_int, [_ptr, _int]),
    "nk_tcp_client_gettimeout": (_int, [_ptr]),
    "nk_tcp_client_send": (_ssize, [_ptr, _ptr, _size]),
    "nk_tcp_client_sendall": (_int, [_ptr, _ptr, _size, ctypes.POINTER(_size)]),
    "nk_tcp_client_recv": (_ssize, [_ptr, _ptr, _size]),
    "nk_tcp_client_recv_exact": (_ssize, [_ptr, _ptr, _size]),
    "nk_tcp_client_recv_line": (_ssize, [_ptr, _ptr, _size]),
    "nk_tcp_client_shutdown": (_int, [_ptr, _int]),
    "nk_tcp_client_set_nodelay": (_int, [_ptr, _int]),
    "nk_tcp_client_set_keepalive": (_int, [_ptr, _int, _int]),
    "nk_tcp_client_peername": (_int, [_ptr, _addr_p]),
    "nk_tcp_client_sockname": (_int, [_ptr, _addr_p]),
    "nk_tcp_client_fd": (_int, [_ptr]),
    "nk_tcp_client_queue": (_int, [_ptr, _ptr, _size]),
    "nk_tcp_client_flush": (_ssize, [_ptr]),
    "nk_tcp_client_queued": (_ssize, [_ptr]),
    "nk_tcp_client_set_queue_limit": (_int, [_ptr, _size]),
    "nk_tcp_server_open": (_int, [_handle_out, _str, _int, ctypes.POINTER(NkTcpServerOpts)]),
    "nk_tcp_server_close": (None, [_ptr]),
    "nk_tcp_server_accept": (_int, [_ptr, _handle_out, _addr_p, _int]),
    "nk_tcp_server_port": (_int, [_ptr]),
    "nk_tcp_server_sockname": (_int, [_ptr, _addr_p]),
    "nk_tcp_server_fd": (_int, [_ptr]),
    "nk_tcp_server_serve": (_int, [_ptr, _HANDLER, _ptr, ctypes.POINTER(NkServeOpts)]),
    "nk_tcp_server_shutdown": (_int, [_ptr]),
    "nk_udp_open": (_int, [_handle_out, _str, _int]),
    "nk_udp_close": (None, [_ptr]),
    "nk_udp_settimeout": (_int, [_ptr, _int]),
    "nk_udp_gettimeout": (_int, [_ptr]),
    "nk_udp_sendto": (_ssize, [_ptr, _ptr, _size, _str, _int]),
    "nk_udp_sendto_addr": (_ssize, [_ptr, _ptr, _size, _addr_p]),
    "nk_udp_recvfrom": (_ssize, [_ptr, _ptr, _size, _addr_p]),
    "nk_udp_connect": (_int, [_ptr, _str, _int]),
    "nk_udp_send": (_ssize, [_ptr, _ptr, _size]),
    "nk_udp_recv": (_ssize, [_ptr, _ptr, _size]),
    "nk_udp_sockname": (_int, [_ptr, _addr_p]),
    "nk_udp_port": (_int, [_ptr]),
    "nk_udp_peername": (_int, [_ptr, _addr_p]),
    "nk_udp_fd": (_int, [_ptr]),
    "nk_selector_open": (_int, [_handle_out, ctypes.POINTER(NkSelectorOpts)]),
    "nk_selector_close": (None, [_ptr]),
    "nk_selector_backend": (_str, [_ptr]),
    "nk_selector_register_fd": (_int, [_ptr, _int, _int, _ptr]),
    "nk_selector_register_client": (_int, [_ptr, _ptr, _int, _ptr]),
    "nk_selector_register_server": (_int, [_ptr, _ptr, _int, _ptr]),
    "nk_selector_register_udp": (_int, [_ptr, _ptr, _int, _ptr]),
    "nk_selector_modify": (_int, [_ptr, _int, _int, _ptr]),
    "nk_selector_unregister": (_int, [_ptr, _int]),
    "nk_selector_get": (_int, [_ptr, _int, ctypes.POINTER(_int), ctypes.POINTER(_ptr)]),
    "nk_selector_count": (_int, [_ptr]),
    "nk_selector_select": (_int, [_ptr, ctypes.POINTER(NkEvent), _int, _int]),
    "nk_selector_wakeup": (_int, [_ptr]),
}


def _declare():
    missing = []
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(_nk, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise ImportError(f"netkit: {library_path} lacks {', '.join(missing)} "
                          "(an older libnetkit?)")


_declare()
__version__ = _nk.nk_version().decode()

# Error kinds and netkit's own codes (include/netkit.h, stable ABI).
_KIND_SOCKET, _KIND_TIMEOUT, _KIND_GAI, _KIND_HOST = 1, 2, 3, 4
NK_ETIMEOUT = -7000
NK_EINVAL, NK_ENULL, NK_EPORT, NK_ECLOSED = -7100, -7101, -7102, -7103
NK_EHANDLE, NK_EHOSTLEN, NK_EBUFSIZE = -7104, -7105, -7106
_NK_GAI_BASE = -5000
_BLOCK = -1            # NK_BLOCK
_INT_MAX = 2**31 - 1
_NAME_MAX = 1025       # NI_MAXHOST: room for any host name netkit returns
_ADDRSTRLEN = 128      # NK_ADDRSTRLEN
_SLICE_MS = 250        # how long a main-thread wait goes without checking signals
_KEEP_MAX = 65537      # receive buffers up to this size are kept between calls
_MAIN_IDENT = threading.main_thread().ident

# The C functions used on hot paths, looked up once.
_c_send = _nk.nk_tcp_client_send
_c_sendall = _nk.nk_tcp_client_sendall
_c_recv = _nk.nk_tcp_client_recv
_byref = ctypes.byref


# ---------------------------------------------------------------------------
# Errors: netkit codes -> the standard library's exceptions
# ---------------------------------------------------------------------------

def _text(code):
    """nk_strerror(code) without the "[Errno N] " prefix Python's str() adds."""
    msg = _nk.nk_strerror(code).decode("utf-8", "replace")
    if msg.startswith("[Errno "):
        msg = msg.split("] ", 1)[1]
    return msg


def _gai_code(eai):
    return _NK_GAI_BASE - abs(eai)


def _error(code, what=None):
    """The exception Python's socket module raises for the same failure.

    OSError(errno, strerror) picks its subclass from the errno itself
    (ECONNREFUSED -> ConnectionRefusedError, EAGAIN -> BlockingIOError).
    what names the socket method for OverflowError's text, as Python does:
    "connect(): port must be 0-65535."
    """
    kind = _nk.nk_error_kind(code)
    if kind == _KIND_SOCKET:
        return OSError(_nk.nk_error_errno(code), _text(code))
    if kind == _KIND_TIMEOUT:
        return _socket.timeout(_text(code))
    if kind == _KIND_GAI:
        return _socket.gaierror(_nk.nk_error_gai(code), _text(code))
    if kind == _KIND_HOST:
        return _socket.herror(_nk.nk_error_herrno(code), _text(code))
    # Usage errors: what Python raises for the same bad argument.
    if code in (NK_ECLOSED, NK_EHANDLE):
        return _ebadf()
    if code == NK_EPORT:
        return OverflowError(f"{what}(): {_text(code)}" if what else _text(code))
    if code == NK_EHOSTLEN:
        # Python hands such a name to getaddrinfo(3), which does not find it.
        return _error(_gai_code(_socket.EAI_NONAME))
    if code == NK_ENULL:
        return TypeError(_text(code))
    return ValueError(_text(code))


def _ebadf():
    return OSError(_errno.EBADF, os.strerror(_errno.EBADF))


# ---------------------------------------------------------------------------
# Arguments, checked the way the socket module checks them
# ---------------------------------------------------------------------------

def _type_name(value):
    return "None" if value is None else type(value).__name__


def _host(host, null_ok=True, what=None):
    """A host argument as bytes for C (None stays None when null_ok). what
    names the Python call whose checks and TypeError texts to use:
    "getaddrinfo" (also create_connection), "gethostbyname"... or None for
    an address tuple (bind, connect, sendto)."""
    if host is None and null_ok:
        return None
    if what is None:
        # An address tuple, as the socket module reads it: an ASCII name as
        # it is, any other through the idna codec; no NUL.
        if isinstance(host, str):
            try:
                data = host.encode("ascii")
            except UnicodeEncodeError:
                try:
                    data = host.encode("idna")
                except UnicodeError:
                    raise TypeError("encoding of hostname failed") from None
        elif isinstance(host, (bytes, bytearray)):
            data = bytes(host)
        else:
            raise TypeError(f"str, bytes or bytearray expected, not {type(host).__name__}")
        if b"\0" in data:
            raise TypeError("host name must not contain null character")
        return data
    if isinstance(host, str):
        data = host.encode("idna")  # as Python's getaddrinfo encodes names
    elif isinstance(host, (bytes, bytearray)):
        data = bytes(host)
    elif what == "getaddrinfo":
        raise TypeError("getaddrinfo() argument 1 must be string or None")
    else:
        raise TypeError(f"{what}() argument 1 must be str, bytes or bytearray, "
                        f"not {_type_name(host)}")
    if b"\0" in data:
        if what == "getaddrinfo":
            # Python's getaddrinfo cuts the name at the NUL and looks up the
            # rest; netkit refuses it rather than connect somewhere else.
            raise _error(_gai_code(_socket.EAI_NONAME))
        raise TypeError(f"{what}() argument 1 must be encoded string without null bytes, "
                        f"not {type(host).__name__}")
    return data


def _c_int(value):
    """An int for a C int argument, with the OverflowError Python's own
    argument parsing raises outside its range."""
    if value > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if value < -_INT_MAX - 1:
        raise OverflowError("signed integer is less than minimum")
    return value


def _port(port, what):
    try:
        value = operator.index(port)
    except TypeError:
        raise TypeError(f"'{type(port).__name__}' object cannot be interpreted "
                        "as an integer") from None
    if not 0 <= value <= 65535:
        raise OverflowError(f"{what}(): port must be 0-65535.")
    return value


def _service(port, what):
    """A port as create_connection/getaddrinfo take it: int, digits, a service
    name, or None (0). Returns (number, kinds): kinds is None for a number,
    else the socket types the service is defined for (getaddrinfo(3) returns
    only those)."""
    if port is None:
        return 0, None
    if isinstance(port, (str, bytes)):
        text = port.decode() if isinstance(port, bytes) else port
        if text == "":
            return 0, None  # getaddrinfo(3) reads an empty service as port 0
        if text.isdigit():
            return _port(int(text), what), None
        number, kinds = None, set()
        for proto, kind in (("tcp", SOCK_STREAM), ("udp", SOCK_DGRAM)):
            try:
                found = _socket.getservbyname(text, proto)
            except OSError:
                continue
            number = found if number is None else number
            kinds.add(kind)
        if number is None:
            raise _error(_gai_code(_socket.EAI_SERVICE))
        return number, kinds
    if not isinstance(port, int):
        raise OSError("Int or String expected")  # the socket module's words
    return _port(port, what), None


def _address(address, what):
    """(host, port) from a Python address tuple, 2 to 4 items."""
    if not isinstance(address, tuple):
        raise TypeError(f"{what}(): AF_INET address must be tuple, not "
                        f"{type(address).__name__}")
    if not 2 <= len(address) <= 4:
        raise TypeError("AF_INET address must be a pair (host, port)")
    host, port = address[0], address[1]
    if len(address) == 4 and address[3] and isinstance(host, str) and "%" not in host:
        host = f"{host}%{address[3]}"  # the IPv6 scope id, as getaddrinfo reads it
    return host, port


def _timeout_ms(value):
    """(seconds or None, milliseconds) for settimeout(None | 0 | seconds)."""
    if value is None:
        return None, _BLOCK
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("Invalid value NaN (not a number)")
        if value < 0:
            raise ValueError("Timeout value out of range")
        if value * 1e9 > 2**63 - 1:
            raise OverflowError("timestamp out of range for platform time_t")
        secs = value
    else:
        try:
            secs = operator.index(value)
        except TypeError:
            raise TypeError(f"'{type(value).__name__}' object cannot be interpreted "
                            "as an integer") from None
        if secs < 0:
            raise ValueError("Timeout value out of range")
        if secs * 10**9 > 2**63 - 1:
            raise OverflowError("timestamp too large to convert to C _PyTime_t")
    if secs == 0:
        return 0.0, 0
    # Microseconds first so that 0.1 s is 100 ms, then up to whole
    # milliseconds: a timeout never ends early and never becomes 0 (non-blocking).
    ms = max(1, math.ceil(round(secs * 1e6) / 1000))
    return float(secs), min(ms, _INT_MAX)


def _bufsize(n, what):
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"'{type(n).__name__}' object cannot be interpreted "
                        "as an integer") from None
    if not -sys.maxsize - 1 <= n <= sys.maxsize:
        raise OverflowError("Python int too large to convert to C ssize_t")
    if n < 0:
        raise ValueError(f"negative buffersize in {what}")
    return n


def _in_buffer(data):
    """(object C can read, length) for a bytes-like object, without a copy
    for bytes and writable buffers."""
    if type(data) is bytes:
        return data, len(data)
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not "
                        f"'{type(data).__name__}'") from None
    if not view.c_contiguous:
        raise BufferError("memoryview: underlying buffer is not C-contiguous")
    if view.readonly:
        return view.tobytes(), view.nbytes
    return (ctypes.c_char * view.nbytes).from_buffer(view), view.nbytes


def _out_buffer(buffer, nbytes, what):
    """(C array over buffer, count) for recv_into-style calls."""
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(f"{what}() argument 'buffer' must be read-write bytes-like "
                        f"object, not {type(buffer).__name__}") from None
    if view.readonly:
        raise TypeError(f"{what}() argument 'buffer' must be read-write bytes-like "
                        f"object, not {type(buffer).__name__}")
    nbytes = _bufsize(nbytes, what)
    if nbytes == 0:
        nbytes = view.nbytes
    elif nbytes > view.nbytes:
        raise ValueError("buffer too small for requested bytes")
    return (ctypes.c_char * view.nbytes).from_buffer(view), nbytes


def _addr_tuple(addr):
    """An nk_addr as Python's address tuple: (host, port) for IPv4,
    (host, port, flowinfo, scope_id) for IPv6."""
    ref = _byref(addr)
    family = _nk.nk_addr_family(ref)
    if family < 0:
        raise _error(family)
    text = ctypes.create_string_buffer(_ADDRSTRLEN)
    n = _nk.nk_addr_host(ref, text, _ADDRSTRLEN)
    if n < 0:
        raise _error(n)
    host = text.value.decode()
    port = _nk.nk_addr_port(ref)
    if family != AF_INET6:
        return (host, port)
    host = host.split("%", 1)[0]  # as Python: the scope is the tuple's 4th item
    # struct sockaddr_in6: sin6_flowinfo (network order) at 4, sin6_scope_id at 24.
    raw = bytes(addr)
    flowinfo = int.from_bytes(raw[4:8], "big")
    scope_id = int.from_bytes(raw[24:28], sys.byteorder)
    return (host, port, flowinfo, scope_id)


def _name_call(fn, *args):
    """Calls a C function that writes a name into (buf, cap); returns str."""
    buf = ctypes.create_string_buffer(_NAME_MAX)
    n = fn(*args, buf, _NAME_MAX)
    if n < 0:
        raise _error(n)
    return buf.value.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------
# One C handle: freed exactly once, never under a call in flight
# ---------------------------------------------------------------------------

class _Handle:
    """A C handle shared by the calls of one object.

    enter() returns the pointer and counts the call; leave() ends it. close()
    makes every later enter() raise OSError(EBADF); if calls are in flight it
    wakes them (shuts the socket down) and the last leave() frees the handle.

    No lock: list.append and list.pop are atomic under the GIL, and the order
    of the steps makes every interleaving safe. enter() counts itself before
    it reads the pointer, close() clears the pointer before it looks at the
    count, so a call either sees no pointer or is seen by close(). Exactly
    one close() pops the token, and exactly one thread pops the pending
    pointer and frees it.
    """

    __slots__ = ("ptr", "_free", "_wake", "_token", "_calls", "_pending")

    def __init__(self, ptr, free, wake):
        self.ptr = ptr
        self._free = free
        self._wake = wake
        self._token = [ptr]   # popped by the one close() that frees
        self._calls = []      # one item per call in flight
        self._pending = []    # the pointer to free once no call is in flight

    def enter(self):
        self._calls.append(None)
        ptr = self.ptr
        if ptr is None:
            self.leave()
            raise _ebadf()
        return ptr

    def leave(self):
        calls = self._calls
        calls.pop()
        if not calls and self._pending:
            self._free_pending()

    def _free_pending(self):
        try:
            ptr = self._pending.pop()
        except IndexError:
            return  # another thread freed it
        self._free(ptr)

    def close(self):
        """Frees the handle now, or after the calls in flight (woken first)."""
        try:
            ptr = self._token.pop()
        except IndexError:
            return  # closed already
        self.ptr = None
        if not self._calls:
            self._free(ptr)
            return
        self._calls.append(None)  # the wake-up below is a call too
        self._pending.append(ptr)
        try:
            self._wake(ptr)
        finally:
            self.leave()

    def detach(self):
        """For a handle the C side frees itself (a serve handler's client):
        ends the object and waits until no call uses the handle any more."""
        self.close()
        while self._calls or self._pending:  # woken by close: they return soon
            time.sleep(0.001)


def _finalize(handle, what):
    """weakref.finalize callback: an object collected while still open."""
    warnings.warn(f"unclosed {what}", ResourceWarning, stacklevel=2)
    handle.close()


def _in_main_thread():
    return threading.get_ident() == _MAIN_IDENT


class _Object:
    """What the three objects share: handle, finalizer, timeout, context manager."""

    _FREE = None          # C close function
    _FD = None            # C fd function
    _SOCKNAME = None      # C sockname function
    _SELECT = None        # C nk_selector_register_xxx function
    _selreg = None        # (weakref to the Selector, fd) while registered with one
    _selgone = None       # (weakref, fd, events, data): the key its close() removed

    def _init(self, ptr, timeout, owned=True):
        self._h = _Handle(ptr, self._FREE if owned else _served_close, self._wake)
        self._timeout = timeout
        self._fin = None
        if owned:
            fd = self._FD(ptr)
            self._fin = weakref.finalize(self, _finalize, self._h,
                                         f"<netkit.{type(self).__name__} fd={fd}>")
            self._fin.atexit = False

    @staticmethod
    def _wake(ptr):
        raise NotImplementedError

    def close(self):
        """Closes the object and frees its C handle; a second close does nothing.
        A Selector the object is registered with forgets it first."""
        self._leave_selector()
        fin = self._fin
        if fin is not None:
            fin.detach()
        self._h.close()
        self._timeout = None  # a closed socket's gettimeout() answers None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _leave_selector(self):
        # Closing a registered object: the Selector drops its key and the C
        # registration now, under its lock, so that the C close that follows
        # (maybe later, in another thread) never touches the selector.
        reg = self._selreg
        if reg is not None:
            sel = reg[0]()
            if sel is not None:
                sel._forget(self, reg[1])
            self._selreg = None

    @property
    def closed(self):
        return self._h.ptr is None

    def fileno(self):
        """The socket's file descriptor (still owned by the object); -1 once
        closed, as a closed socket answers."""
        h = self._h
        try:
            ptr = h.enter()
        except OSError:
            return -1
        try:
            fd = self._FD(ptr)
        finally:
            h.leave()
        return fd if fd >= 0 else -1

    def getsockname(self):
        """The local address as Python's tuple."""
        addr = NkAddr()
        self._call(self._SOCKNAME, _byref(addr))
        return _addr_tuple(addr)

    def gettimeout(self):
        """None (blocking), 0.0 (non-blocking) or the timeout in seconds."""
        return self._timeout

    def getblocking(self):
        """False only in non-blocking mode (timeout 0.0), as socket.getblocking."""
        return self._timeout != 0.0

    def setblocking(self, flag):
        """setblocking(True) is settimeout(None), setblocking(False) settimeout(0.0)."""
        self.settimeout(None if flag else 0.0)

    def _call(self, fn, *args):
        """fn(handle, *args) inside enter/leave; an EBADF if closed meanwhile."""
        h = self._h
        ptr = h.enter()
        try:
            rc = fn(ptr, *args)
        finally:
            h.leave()
        if rc < 0:
            raise (_ebadf() if h.ptr is None else _error(rc))
        return rc

    def __repr__(self):
        name = f"netkit.{type(self).__name__}"
        if self.closed:
            return f"<{name} [closed] fd=-1>"
        parts = [f"fd={self.fileno()}"]
        for label, fn in (("laddr", self.getsockname), ("raddr", getattr(self, "getpeername", None))):
            if fn is None:
                continue
            try:
                parts.append(f"{label}={fn()}")
            except OSError:
                pass
        return f"<{name} {', '.join(parts)}>"


def _served_close(ptr):
    # nk_tcp_client_close on a client a serve handler owns only shuts it down
    # and marks it closed; serve frees it when the handler returns.
    _nk.nk_tcp_client_close(ptr)


# ---------------------------------------------------------------------------
# TcpClient
# ---------------------------------------------------------------------------

class TcpClient(_Object):
    """A connected TCP stream, from create_connection() or TcpServer.accept()."""

    _FREE = _nk.nk_tcp_client_close
    _FD = _nk.nk_tcp_client_fd
    _SELECT = _nk.nk_selector_register_client
    _SOCKNAME = _nk.nk_tcp_client_sockname

    def __init__(self, *args, **kwargs):
        raise TypeError("netkit.TcpClient objects come from create_connection() "
                        "or TcpServer.accept()")

    @classmethod
    def _wrap(cls, ptr, timeout, owned=True):
        self = object.__new__(cls)
        self._init(ptr, timeout, owned)
        self._rbufs = []  # a receive buffer kept between calls (list.pop is atomic)
        return self

    @staticmethod
    def _wake(ptr):
        _nk.nk_tcp_client_shutdown(ptr, SHUT_RDWR)

    # -- timeouts --------------------------------------------------------
    def settimeout(self, value):
        """None blocks, 0 is non-blocking, seconds > 0 bound every later call
        (sendall, recv_exact and recv_line: the whole call)."""
        secs, ms = _timeout_ms(value)
        self._call(_nk.nk_tcp_client_settimeout, ms)
        self._timeout = secs

    # -- sending ---------------------------------------------------------
    def send(self, data):
        """Sends some of data; returns how many bytes were sent."""
        if type(data) is bytes:
            buf, n = data, len(data)
        else:
            buf, n = _in_buffer(data)
        h = self._h
        ptr = h.enter()
        try:
            rc = _c_send(ptr, buf, n)
        finally:
            h.leave()
        if rc < 0:
            raise (_ebadf() if h.ptr is None else _error(rc))
        return rc

    def sendall(self, data):
        """Sends all of data or raises; the timeout bounds the whole call."""
        if type(data) is bytes:
            buf, n = data, len(data)
        else:
            buf, n = _in_buffer(data)
        h = self._h
        ptr = h.enter()
        try:
            rc = _c_sendall(ptr, buf, n, None)
        finally:
            h.leave()
        if rc < 0:
            raise (_ebadf() if h.ptr is None else _error(rc))

    # -- receiving -------------------------------------------------------
    def _take_buffer(self, n):
        try:
            buf = self._rbufs.pop()  # another thread receiving meanwhile makes its own
        except IndexError:
            return ctypes.create_string_buffer(max(n, 1))
        return buf if len(buf) >= n else ctypes.create_string_buffer(max(n, 1))

    def _give_buffer(self, buf):
        if len(buf) <= _KEEP_MAX and not self._rbufs:
            self._rbufs.append(buf)

    def _receive(self, fn, n):
        buf = self._take_buffer(n)
        h = self._h
        ptr = h.enter()
        try:
            rc = fn(ptr, buf, n)
        finally:
            h.leave()
        if rc <= 0 and h.ptr is None:
            raise _ebadf()  # closed by another thread during the call
        if rc < 0:
            raise _error(rc)
        data = buf[:rc]
        self._give_buffer(buf)
        return data

    def recv(self, bufsize):
        """Up to bufsize bytes; b'' once the peer has closed its side."""
        n = (bufsize if type(bufsize) is int and 0 <= bufsize <= sys.maxsize
             else _bufsize(bufsize, "recv"))
        try:
            buf = self._rbufs.pop()  # another thread receiving meanwhile makes its own
            if len(buf) < n:
                buf = ctypes.create_string_buffer(n)
        except IndexError:
            buf = ctypes.create_string_buffer(max(n, 1))
        h = self._h
        ptr = h.enter()
        try:
            rc = _c_recv(ptr, buf, n)
        finally:
            h.leave()
        if rc <= 0 and h.ptr is None:
            raise _ebadf()  # closed by another thread during the call
        if rc < 0:
            raise _error(rc)
        data = buf[:rc]
        if len(buf) <= _KEEP_MAX and not self._rbufs:
            self._rbufs.append(buf)
        return data

    def recv_into(self, buffer, nbytes=0):
        """Receives into a writable buffer; returns the byte count."""
        cbuf, n = _out_buffer(buffer, nbytes, "recv_into")
        if n == 0:
            return 0
        return self._call(_c_recv, cbuf, n)

    def recv_exact(self, n):
        """Exactly n bytes, fewer only when the peer closed first. On a
        timeout nothing is lost: the bytes received stay for the next call."""
        return self._receive(_nk.nk_tcp_client_recv_exact, _bufsize(n, "recv_exact"))

    def recv_line(self, maxlen=65536):
        """One line up to and including b'\\n' (b'' at end of stream; the last
        line may lack its newline). A line longer than maxlen raises
        OSError(EMSGSIZE) after consuming maxlen bytes, which the exception
        carries as .data; the next call continues the same line."""
        maxlen = _bufsize(maxlen, "recv_line")
        if maxlen < 1:
            raise ValueError("recv_line: maxlen must be at least 1")
        cap = maxlen + 1  # the C call NUL-terminates
        buf = self._take_buffer(cap)
        h = self._h
        ptr = h.enter()
        try:
            rc = _nk.nk_tcp_client_recv_line(ptr, buf, cap)
        finally:
            h.leave()
        if rc <= 0 and h.ptr is None:
            raise _ebadf()
        if rc == -_errno.EMSGSIZE:
            exc = _error(rc)
            exc.data = buf[:maxlen]
            raise exc
        if rc < 0:
            raise _error(rc)
        data = buf[:rc]
        self._give_buffer(buf)
        return data

    # -- the connection --------------------------------------------------
    def shutdown(self, how):
        """Shuts down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR)."""
        how = operator.index(how)
        if not -_INT_MAX - 1 <= how <= _INT_MAX:
            raise OverflowError("Python int too large to convert to C int")
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            self._h.enter()
            self._h.leave()
            raise OSError(_errno.EINVAL, os.strerror(_errno.EINVAL))
        self._call(_nk.nk_tcp_client_shutdown, how)

    def getpeername(self):
        """The peer's address as Python's tuple."""
        addr = NkAddr()
        self._call(_nk.nk_tcp_client_peername, _byref(addr))
        return _addr_tuple(addr)

    def set_nodelay(self, on=True):
        """TCP_NODELAY: turns Nagle's algorithm off (on=True) or on."""
        self._call(_nk.nk_tcp_client_set_nodelay, 1 if on else 0)

    def set_keepalive(self, on=True, idle=0):
        """SO_KEEPALIVE; idle > 0 also sets the idle seconds before the first probe."""
        idle = operator.index(idle)
        if not 0 <= idle <= _INT_MAX:
            raise ValueError("set_keepalive: idle must be 0 or more seconds")
        self._call(_nk.nk_tcp_client_set_keepalive, 1 if on else 0, idle)

    # -- queued output (asyncio's transport.write) ------------------------
    def _queue_call(self, fn, *args):
        # The queue of a client registered with a Selector is also flushed by
        # its select(): the call runs under the Selector's lock (waking a
        # select in another thread), so queue() is safe from any thread.
        reg = self._selreg
        sel = reg[0]() if reg is not None else None
        if sel is None:
            return self._call(fn, *args)
        sel._acquire()
        try:
            return self._call(fn, *args)
        finally:
            sel._release()

    def queue(self, data):
        """Queues data for sending without ever blocking: what the socket
        takes now is sent at once, the rest waits in the client and leaves in
        order with flush() or, for a client registered with a Selector, in
        select() whenever the socket is writable. Raises OSError(ENOBUFS), with
        nothing sent or queued, when the bytes queued plus data would exceed
        the limit (set_queue_limit, 64 KiB by default): the peer does not read
        fast enough. A failed send sticks: every later queue() and flush()
        raises it (BrokenPipeError, ConnectionResetError) and the queue is
        dropped. Do not mix with send()/sendall() while bytes are queued."""
        if type(data) is bytes:
            buf, n = data, len(data)
        else:
            buf, n = _in_buffer(data)
        self._queue_call(_nk.nk_tcp_client_queue, buf, n)

    def flush(self):
        """Sends queued bytes until the socket takes no more, without
        blocking; returns how many bytes are still queued (0: all sent)."""
        return self._queue_call(_nk.nk_tcp_client_flush)

    @property
    def queued(self):
        """How many queued bytes are not sent yet."""
        return self._queue_call(_nk.nk_tcp_client_queued)

    def set_queue_limit(self, limit):
        """The most bytes that may wait in the queue (default 65536). A limit
        below what is queued now only refuses later queue() calls."""
        try:
            limit = operator.index(limit)
        except TypeError:
            raise TypeError(f"'{type(limit).__name__}' object cannot be interpreted "
                            "as an integer") from None
        if not 1 <= limit <= sys.maxsize:
            raise ValueError(f"set_queue_limit: limit must be 1 to {sys.maxsize} bytes")
        self._queue_call(_nk.nk_tcp_client_set_queue_limit, limit)


def create_connection(address, timeout=None):
    """Connects to (host, port) like socket.create_connection: every address
    of host in turn, the timeout (seconds, None blocks) bounding all the
    attempts together; it then becomes the client's timeout. A host of None is
    the loopback. Returns a TcpClient."""
    host, port = address  # as socket.create_connection unpacks it
    host = _host("localhost" if host is None else host, null_ok=False, what="getaddrinfo")
    port, kinds = _service(port, "connect")
    if kinds is not None and SOCK_STREAM not in kinds:
        raise _error(_gai_code(_socket.EAI_SERVICE))
    secs, ms = _timeout_ms(timeout)
    out = ctypes.c_void_p()
    rc = _nk.nk_tcp_connect(_byref(out), host, port, ms)
    if rc < 0:
        raise _error(rc, "connect")
    return TcpClient._wrap(out.value, secs)


# ---------------------------------------------------------------------------
# TcpServer
# ---------------------------------------------------------------------------

class TcpServer(_Object):
    """A listening TCP socket, from create_server()."""

    _FREE = _nk.nk_tcp_server_close
    _FD = _nk.nk_tcp_server_fd
    _SELECT = _nk.nk_selector_register_server
    _SOCKNAME = _nk.nk_tcp_server_sockname

    def __init__(self, *args, **kwargs):
        raise TypeError("netkit.TcpServer objects come from create_server()")

    @classmethod
    def _wrap(cls, ptr):
        self = object.__new__(cls)
        self._init(ptr, None)
        return self

    @staticmethod
    def _wake(ptr):
        # Makes a pending accept or serve return; close then frees the server.
        _nk.nk_tcp_server_shutdown(ptr)

    @property
    def port(self):
        """The bound port (the real one after binding port 0)."""
        return self._call(_nk.nk_tcp_server_port)

    def settimeout(self, value):
        """The timeout of accept(): None blocks, 0 is non-blocking, seconds > 0."""
        secs, ms = _timeout_ms(value)
        self._h.enter()
        self._h.leave()
        self._timeout, self._ms = secs, ms

    _ms = _BLOCK

    def accept(self):
        """Waits for a connection (within the timeout); returns (TcpClient,
        address tuple). The client blocks, as Python's accepted sockets do."""
        out = ctypes.c_void_p()
        peer = NkAddr()
        ms = self._ms
        h = self._h
        ptr = h.enter()
        try:
            if ms != 0 and _in_main_thread():
                rc = self._accept_sliced(ptr, out, peer, ms)
            else:
                rc = _nk.nk_tcp_server_accept(ptr, _byref(out), _byref(peer), ms)
        finally:
            h.leave()
        if rc < 0:
            raise (_ebadf() if h.ptr is None else _error(rc))
        client = TcpClient._wrap(out.value, None)
        return client, _addr_tuple(peer)

    @staticmethod
    def _accept_sliced(ptr, out, peer, ms):
        # In the main thread, wait in slices so that Ctrl-C (a Python signal
        # handler) runs between them; accept takes its timeout per call, so
        # slicing costs the object nothing.
        deadline = None if ms < 0 else time.monotonic() + ms / 1000
        while True:
            step = _SLICE_MS
            if deadline is not None:
                left_ms = (deadline - time.monotonic()) * 1000
                if left_ms <= 0:
                    return NK_ETIMEOUT
                step = min(step, math.ceil(left_ms))
            rc = _nk.nk_tcp_server_accept(ptr, _byref(out), _byref(peer), step)
            if rc != NK_ETIMEOUT:
                return rc

    def shutdown(self):
        """Makes serve() return and every later accept() raise
        OSError(ECANCELED); safe from another thread. The server stays shut
        down until closed."""
        self._call(_nk.nk_tcp_server_shutdown)

    def handle_error(self, client, address):
        """Called when a serve() handler raises; prints the traceback to
        stderr as socketserver.BaseServer.handle_error does. Override it."""
        print("-" * 40, file=sys.stderr)
        print("Exception occurred during processing of request from", address,
              file=sys.stderr)
        traceback.print_exc()
        print("-" * 40, file=sys.stderr)

    def serve(self, handler, threads=False, max_clients=0):
        """Calls handler(client, address) for each connection, one at a time
        (threads=False) or each in its own thread (threads=True, like
        ThreadingTCPServer), until shutdown() or max_clients connections.

        The client is closed when the handler returns. An exception from the
        handler is passed to handle_error() and serving goes on; SystemExit or
        KeyboardInterrupt from a handler stops the server and is raised here.
        Called in the main thread, serve() runs the C loop in a helper thread
        so that Ctrl-C stops it at once: the server is shut down, the handlers
        see end of stream, and KeyboardInterrupt is raised here once they
        returned."""
        if not callable(handler):
            raise TypeError("serve(): handler must be callable")
        max_clients = operator.index(max_clients)
        if max_clients < 0:
            raise ValueError("serve(): max_clients must be 0 (no limit) or more")
        opts = NkServeOpts(1 if threads else 0, max_clients)
        active = set()        # handles of the clients whose handler runs
        active_lock = threading.Lock()
        stop = []             # a BaseException raised by a handler

        def trampoline(cptr, cpeer, _arg):
            # Runs in C's thread, the GIL taken by ctypes. Nothing may escape.
            try:
                client = TcpClient._wrap(cptr, None, owned=False)
            except BaseException:  # pragma: no cover - out of memory
                return
            address = None
            try:
                with active_lock:
                    active.add(client._h)
                address = _addr_tuple(cpeer.contents)
                handler(client, address)
            except Exception:
                try:
                    self.handle_error(client, address)
                except BaseException:
                    traceback.print_exc()
            except BaseException as e:
                if not stop:
                    stop.append(e)
                self._stop_serving(active, active_lock)
            finally:
                with active_lock:
                    active.discard(client._h)
                client._leave_selector()
                client._h.detach()  # serve frees the C client next

        callback = _HANDLER(trampoline)
        if _in_main_thread():
            rc = self._serve_in_helper(callback, opts, active, active_lock)
        else:
            h = self._h
            ptr = h.enter()
            try:
                rc = _nk.nk_tcp_server_serve(ptr, callback, None, _byref(opts))
            finally:
                h.leave()
        if stop:
            raise stop[0]
        if rc < 0:
            raise (_ebadf() if self._h.ptr is None else _error(rc))

    def _serve_in_helper(self, callback, opts, active, active_lock):
        """serve() from the main thread: the C loop runs in a helper thread
        while this thread waits where signal handlers run. Ctrl-C (or any
        exception from a handler of a signal) shuts the server down, ends the
        reads of the connections being served, waits for serve to return and
        is raised. The helper owns the handle while C serves; this thread may
        be interrupted anywhere, so the helper starts serving only if this
        thread has not given up first."""
        h = self._h
        decide = threading.Lock()
        state = ["pending"]     # -> "serving" (the helper) or "cancelled" (this thread)
        result = []             # serve's return code, or the exception of enter()
        done = threading.Event()

        def run():
            try:
                with decide:
                    if state[0] == "cancelled":
                        return
                    state[0] = "serving"
                try:
                    ptr = h.enter()
                except OSError as e:
                    result.append(e)
                    return
                try:
                    # callback stays referenced here for as long as C may call it.
                    result.append(_nk.nk_tcp_server_serve(ptr, callback, None, _byref(opts)))
                finally:
                    h.leave()
            finally:
                done.set()

        try:
            threading.Thread(target=run, name="netkit-serve", daemon=True).start()
            while not done.wait(_SLICE_MS / 1000):
                pass
        except BaseException:
            with decide:
                serving = state[0] == "serving"
                state[0] = "cancelled" if not serving else state[0]
            if serving:
                self._stop_serving(active, active_lock)
                while not done.wait(_SLICE_MS / 1000):
                    pass
            raise
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    def _stop_serving(self, active, active_lock):
        # Stop accepting, and end the reads of the connections being served
        # so that their handlers return (thread mode does that too, the
        # sequential mode lets the current connection finish).
        h = self._h
        try:
            ptr = h.enter()
        except OSError:
            return  # closed meanwhile: close() did the shutdown
        try:
            _nk.nk_tcp_server_shutdown(ptr)
        finally:
            h.leave()
        with active_lock:
            handles = list(active)
        for handle in handles:
            try:
                cptr = handle.enter()
            except OSError:
                continue
            try:
                _nk.nk_tcp_client_shutdown(cptr, SHUT_RD)
            finally:
                handle.leave()


def create_server(address, *, family=AF_UNSPEC, backlog=None, reuse_port=False,
                  dualstack_ipv6=False):
    """A listening TcpServer on (host, port), like socket.create_server.

    host '' or None binds every interface (dual-stack IPv6 where the system
    allows, else IPv4); a named host binds its first address, IPv4 first.
    Port 0 binds an ephemeral port (see getsockname() or .port). family
    (AF_UNSPEC, AF_INET, AF_INET6) restricts the addresses; with AF_INET6 the
    socket is IPv6-only unless dualstack_ipv6=True, as in Python. backlog None
    is the system's maximum; 0 is netkit's smallest, 1. SO_REUSEADDR is set."""
    host, port = _address(address, "bind")
    host = _host(host)
    port = _port(port, "bind")
    if family not in (AF_UNSPEC, AF_INET, AF_INET6):
        # What socket.socket(family) raises for a family it cannot make.
        raise OSError(_errno.EAFNOSUPPORT, os.strerror(_errno.EAFNOSUPPORT))
    if dualstack_ipv6 and family == AF_INET:
        raise ValueError("dualstack_ipv6 requires AF_INET6 family")
    if reuse_port and not hasattr(_socket, "SO_REUSEPORT"):
        raise ValueError("SO_REUSEPORT not supported on this platform")
    if backlog is None:
        backlog = 0  # netkit: SOMAXCONN
    else:
        backlog = max(1, _c_int(operator.index(backlog)))  # listen() takes a C int
    opts = NkTcpServerOpts(backlog, int(family), 1 if reuse_port else 0,
                           1 if family == AF_INET6 and not dualstack_ipv6 else 0)
    out = ctypes.c_void_p()
    rc = _nk.nk_tcp_server_open(_byref(out), host, port, _byref(opts))
    if rc < 0:
        err = _error(rc, "bind")
        if type(err) is not OverflowError:
            # As socket.create_server words a failed bind (gaierror included).
            err = OSError(err.errno, f"{err.strerror} (while attempting to bind on "
                                     f"address {address!r})")
        raise err
    return TcpServer._wrap(out.value)


# ---------------------------------------------------------------------------
# UdpEndpoint
# ---------------------------------------------------------------------------

class UdpEndpoint(_Object):
    """A UDP socket. UdpEndpoint(bind=(host, port)) binds it (port 0:
    ephemeral); UdpEndpoint() binds the wildcard address on an ephemeral
    port, which is what Python's unbound socket does on its first sendto()."""

    _FREE = _nk.nk_udp_close
    _FD = _nk.nk_udp_fd
    _SELECT = _nk.nk_selector_register_udp
    _SOCKNAME = _nk.nk_udp_sockname

    def __init__(self, bind=None):
        if bind is None:
            host, port = None, 0
        else:
            host, port = _address(bind, "bind")
            host = _host(host)
            port = _port(port, "bind")
        out = ctypes.c_void_p()
        rc = _nk.nk_udp_open(_byref(out), host, port)
        if rc < 0:
            raise _error(rc, "bind")
        self._init(out.value, None)
        self._poll = None

    @staticmethod
    def _wake(ptr):
        # UDP has no netkit shutdown call; shutdown(2) on the socket wakes a
        # blocked receive (on Linux also when unconnected). A dup is shut
        # down: the socket is the same, the fd stays netkit's.
        fd = _nk.nk_udp_fd(ptr)
        if fd < 0:
            return
        try:
            with _socket.socket(fileno=os.dup(fd)) as s:
                s.shutdown(SHUT_RDWR)
        except OSError:
            pass

    @property
    def port(self):
        """The bound port."""
        return self._call(_nk.nk_udp_port)

    def settimeout(self, value):
        """None blocks, 0 is non-blocking, seconds > 0 bound every later call."""
        secs, ms = _timeout_ms(value)
        self._call(_nk.nk_udp_settimeout, ms)
        self._timeout = secs

    def sendto(self, data, flags_or_address, address=None):
        """Sends one datagram to (host, port); returns the bytes sent.
        sendto(data, flags, address) is accepted with flags 0, as in Python."""
        if address is None:
            address = flags_or_address
        elif operator.index(flags_or_address) != 0:
            raise ValueError("sendto(): netkit supports flags=0 only")
        buf, n = _in_buffer(data)
        host, port = _address(address, "sendto")
        host = _host(host, null_ok=False)
        port = _port(port, "sendto")
        return self._call(_nk.nk_udp_sendto, buf, n, host, port)

    def send(self, data):
        """Sends one datagram to the connected peer."""
        buf, n = _in_buffer(data)
        return self._call(_nk.nk_udp_send, buf, n)

    def _wait_readable(self, ptr):
        # A blocking receive in the main thread waits in poll() here, where
        # Ctrl-C raises KeyboardInterrupt at once (PEP 475). Datagrams are
        # never buffered by netkit, so a readable fd means recvfrom won't wait.
        if self._timeout is None and _in_main_thread():
            poller = self._poll
            if poller is None:
                poller = self._poll = select.poll()
                poller.register(_nk.nk_udp_fd(ptr), select.POLLIN)
            poller.poll()

    def recvfrom(self, bufsize):
        """One datagram of up to bufsize bytes and its sender: (data, address).
        A longer datagram raises OSError(EMSGSIZE) instead of being cut."""
        n = _bufsize(bufsize, "recvfrom")
        buf = ctypes.create_string_buffer(max(n, 1))
        sender = NkAddr()
        h = self._h
        ptr = h.enter()
        try:
            self._wait_readable(ptr)
            rc = _nk.nk_udp_recvfrom(ptr, buf, n, _byref(sender))
        finally:
            h.leave()
        if h.ptr is None:
            raise _ebadf()
        if rc < 0:
            raise _error(rc)
        return buf[:rc], _addr_tuple(sender)

    def recv(self, bufsize):
        """One datagram of up to bufsize bytes (from the connected peer)."""
        n = _bufsize(bufsize, "recv")
        buf = ctypes.create_string_buffer(max(n, 1))
        h = self._h
        ptr = h.enter()
        try:
            self._wait_readable(ptr)
            rc = _nk.nk_udp_recv(ptr, buf, n)
        finally:
            h.leave()
        if h.ptr is None:
            raise _ebadf()
        if rc < 0:
            raise _error(rc)
        return buf[:rc]

    def connect(self, address):
        """Sets the default peer: send() goes there, only its datagrams arrive."""
        host, port = _address(address, "connect")
        host = _host(host, null_ok=False)
        port = _port(port, "connect")
        self._call(_nk.nk_udp_connect, host, port)

    def getpeername(self):
        """The connected peer's address; OSError(ENOTCONN) when not connected."""
        addr = NkAddr()
        self._call(_nk.nk_udp_peername, _byref(addr))
        return _addr_tuple(addr)


# ---------------------------------------------------------------------------
# Selector
# ---------------------------------------------------------------------------

_BACKENDS = {None: 0, "epoll": 1, "poll": 2}   # enum nk_selector_backend
_EVENT_INTS = ctypes.sizeof(NkEvent) // ctypes.sizeof(ctypes.c_int)  # nk_event as ints
_EV_FD = NkEvent.fd.offset // ctypes.sizeof(ctypes.c_int)
_EV_EVENTS = NkEvent.events.offset // ctypes.sizeof(ctypes.c_int)
# select is the hot path of an event loop: this copy of the function has no
# argtypes and takes arguments converted once (c_void_p, byref of the array,
# two ints), which halves the cost of the ctypes call. _nk.nk_selector_select
# keeps its declared prototype.
_c_select = _nk["nk_selector_select"]
_c_select.restype = ctypes.c_int


def _fileobj_to_fd(fileobj):
    """selectors' own rule: an int, or an object with fileno(); fd >= 0."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


def _closed_selector():
    return ValueError("I/O operation on closed selector")


def _run_signal_handlers():
    # Calling a Python function checks for pending signals: their Python
    # handlers run here, in the main thread, before the next C wait.
    pass


def _selector_wake(ptr):
    _nk.nk_selector_wakeup(ptr)


def _close_pipe(pipe):
    """Closes a Selector's signal pipe (a list holding one (r, w) or none);
    list.pop makes that happen once."""
    try:
        fds = pipe.pop()
    except IndexError:
        return
    for fd in fds:
        os.close(fd)


def _close_selector(handle, last, pipe):
    """A Selector's finalizer: frees the C selector, then the signal pipe.
    last holds the array of the last select, referenced until the C selector
    is gone (C writes into it on unregister)."""
    handle.close()
    _close_pipe(pipe)


class _SelectorMapping(_Mapping):
    """get_map(): a read-only live view, fd -> SelectorKey; indexing also
    takes the registered file object, as selectors' mapping does."""

    __slots__ = ("_selector",)

    def __init__(self, selector):
        self._selector = selector

    def __len__(self):
        return len(self._selector._fd_to_key)

    def __getitem__(self, fileobj):
        sel = self._selector
        try:
            return sel._fd_to_key[sel._fileobj_lookup(fileobj)]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def __iter__(self):
        return iter(self._selector._fd_to_key)


class Selector:
    """selectors.DefaultSelector over nk_selector: register file objects for
    EVENT_READ and/or EVENT_WRITE, then select() returns the ready ones as
    [(SelectorKey, events)], level-triggered.

    backend: None (epoll where the system has it, else poll), "epoll" or
    "poll". A file object is a netkit TcpClient, TcpServer or UdpEndpoint
    (closing it unregisters it; a client's queue() output is flushed by
    select whenever its socket is writable, and lines recv_line read ahead
    count as readable), an int fd, or any object with fileno() (a
    socket.socket: unregister it before you close it).

    Threads: select(), register/modify/unregister and close() take the
    selector's lock; called from another thread while select() waits, they
    wake it, do their work and let it wait on. wakeup() may be called from any
    thread and from signal handlers. The I/O calls (recv, send, accept) of a
    registered object belong to the thread that selects, as in C; queue(),
    flush() and close() are safe from any thread. In the main thread a
    signal ends the C wait at once (through signal.set_wakeup_fd when no one
    else set it, else within 250 ms) so that Python's handlers run: Ctrl-C
    raises KeyboardInterrupt, and a handler may call wakeup()."""

    def __init__(self, backend=None):
        try:
            code = _BACKENDS[backend]
        except (KeyError, TypeError):
            raise ValueError(f"unknown selector backend {backend!r} "
                             "(None, 'epoll' or 'poll')") from None
        out = ctypes.c_void_p()
        rc = _nk.nk_selector_open(_byref(out), _byref(NkSelectorOpts(code)))
        if rc < 0:
            raise _error(rc)
        self._h = _Handle(out.value, _nk.nk_selector_close, _selector_wake)
        self._cptr = ctypes.c_void_p(out.value)  # for _c_select, valid while the handle is
        self._backend = _nk.nk_selector_backend(out.value).decode()
        self._fd_to_key = {}
        self._map = _SelectorMapping(self)
        self._ref = weakref.ref(self)
        # One lock for every call that touches the C selector (C allows one
        # thread at a time); RLock as a signal handler may call in while the
        # main thread holds it between two C calls.
        self._lock = threading.RLock()
        self._depth = 0                      # how deep the owner holds it
        self._wait_cond = threading.Condition()
        self._waiting = 0                    # threads that woke select for the lock
        self._woken = False                  # wakeup() called: select returns []
        self._cap = 0
        self._grow(64)
        self._last = [None]                  # the array of the last select
        self._pipe = []                      # [(r, w)]: the signal pipe, once made
        self._sigmode = None                 # None (not tried), "pipe" or "slice"
        self._swapped = False                # the wakeup fd is the pipe's now
        self._fin = weakref.finalize(self, _close_selector, self._h, self._last, self._pipe)
        self._fin.atexit = False

    # -- the lock ----------------------------------------------------------
    def _acquire(self):
        lock = self._lock
        if not lock.acquire(False):
            # Held by a select waiting in C (or any other call): wake it.
            with self._wait_cond:
                self._waiting += 1
            try:
                self._wake()
                lock.acquire()
            finally:
                with self._wait_cond:
                    self._waiting -= 1
                    if not self._waiting:
                        self._wait_cond.notify_all()
        self._depth += 1

    def _release(self):
        self._depth -= 1
        self._lock.release()

    def _wake(self):
        h = self._h
        try:
            ptr = h.enter()
        except OSError:
            return
        try:
            _nk.nk_selector_wakeup(ptr)
        finally:
            h.leave()

    def _ptr(self):
        # Under the lock: close() (which frees) cannot run meanwhile.
        ptr = self._h.ptr
        if ptr is None:
            raise _closed_selector()
        return ptr

    def _grow(self, need):
        # The array C fills, allocated once and doubled when registrations
        # outgrow it (select reports every ready fd, as selectors does). The
        # array of the last select stays referenced (self._last) until the
        # next select: C may still clear entries in it.
        if need <= self._cap:
            return
        cap = max(64, self._cap)
        while cap < need:
            cap *= 2
        events = (NkEvent * cap)()
        self._events = events
        self._eref = _byref(events)
        self._ints = memoryview(events).cast("B").cast("i")
        self._cap = cap

    # -- the selectors API -------------------------------------------------
    @property
    def backend(self):
        """"epoll" or "poll": what this selector uses."""
        return self._backend

    def _fileobj_lookup(self, fileobj):
        try:
            return _fileobj_to_fd(fileobj)
        except ValueError:
            # A closed socket (fileno() -1) is still found by identity.
            for key in self._fd_to_key.values():
                if key.fileobj is fileobj:
                    return key.fd
            raise

    def register(self, fileobj, events, data=None):
        """Watches fileobj for events (EVENT_READ, EVENT_WRITE or both);
        returns its SelectorKey. ValueError for bad events or a bad file
        object, KeyError if it is registered already."""
        if (not events) or (events & ~(EVENT_READ | EVENT_WRITE)):
            raise ValueError(f"Invalid events: {events!r}")
        fd = self._fileobj_lookup(fileobj)
        if fd > _INT_MAX:
            raise OverflowError("Python int too large to convert to C int")  # as epoll's
        self._acquire()
        try:
            ptr = self._ptr()
            if fd in self._fd_to_key:
                raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
            key = SelectorKey(fileobj, fd, events, data)
            self._grow(len(self._fd_to_key) + 2)  # room for every fd, the signal pipe too
            obj = fileobj if isinstance(fileobj, _Object) else None
            if obj is not None:
                h = obj._h
                optr = h.enter()
                try:
                    rc = obj._SELECT(ptr, optr, events, None)
                finally:
                    h.leave()
                if rc == -_errno.EEXIST:
                    raise OSError(_errno.EEXIST, "netkit objects can be registered with "
                                  "one Selector at a time")
            else:
                rc = _nk.nk_selector_register_fd(ptr, fd, events, None)
            if rc < 0:
                raise _error(rc)
            self._fd_to_key[fd] = key
            if obj is not None:
                obj._selreg = (self._ref, fd)
                obj._selgone = None
            return key
        finally:
            self._release()

    def unregister(self, fileobj):
        """Stops watching fileobj; returns its key. KeyError if not registered.
        A netkit object closed while registered (which dropped its key) gets
        that key back once, as selectors returns a closed socket's key."""
        self._acquire()
        try:
            gone = fileobj._selgone if isinstance(fileobj, _Object) else None
            if gone is not None and gone[0] is self._ref and fileobj.closed:
                fileobj._selgone = None
                return SelectorKey(fileobj, *gone[1:])
            try:
                key = self._fd_to_key.pop(self._fileobj_lookup(fileobj))
            except KeyError:
                raise KeyError(f"{fileobj!r} is not registered") from None
            self._drop(key)
            return key
        finally:
            self._release()

    def _drop(self, key):
        ptr = self._h.ptr
        if ptr is not None:
            _nk.nk_selector_unregister(ptr, key.fd)  # only fails for an fd not registered
        if isinstance(key.fileobj, _Object):
            key.fileobj._selreg = None

    def modify(self, fileobj, events, data=None):
        """Changes the events and data of a registered fileobj; returns the
        new key. KeyError if not registered, ValueError for bad events."""
        self._acquire()
        try:
            try:
                key = self._fd_to_key[self._fileobj_lookup(fileobj)]
            except KeyError:
                raise KeyError(f"{fileobj!r} is not registered") from None
            changed = False
            if events != key.events:
                if (not events) or (events & ~(EVENT_READ | EVENT_WRITE)):
                    raise ValueError(f"Invalid events: {events!r}")
                rc = _nk.nk_selector_modify(self._ptr(), key.fd, events, None)
                if rc < 0:
                    # As selectors: a registration the system refuses is dropped.
                    del self._fd_to_key[key.fd]
                    self._drop(key)
                    raise _error(rc)
                changed = True
            if data != key.data:
                changed = True
            if changed:
                key = key._replace(events=events, data=data)
                self._fd_to_key[key.fd] = key
            return key
        finally:
            self._release()

    def get_key(self, fileobj):
        """The key of a registered fileobj; KeyError if not registered,
        RuntimeError once the selector is closed."""
        mapping = self.get_map()
        if mapping is None:
            raise RuntimeError("Selector is closed")
        try:
            return mapping[fileobj]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def get_map(self):
        """A read-only mapping fd -> SelectorKey (None once closed)."""
        return self._map

    def wakeup(self):
        """Makes the select() running now, or the next one, return [] at
        once. Safe from any thread and from a signal handler; does nothing
        once the selector is closed."""
        self._woken = True      # before the C call: select sees it when woken
        self._wake()

    def select(self, timeout=None):
        """Waits until a registered file object is ready, timeout seconds
        passed (None: no limit, <= 0: just look) or wakeup() was called;
        returns [(key, events)], events being the ready part of key.events."""
        if timeout is None:
            ms = _BLOCK
        elif timeout <= 0:
            ms = 0
        else:
            # Whole milliseconds, rounded up as selectors does: never early.
            # Beyond a C int of milliseconds, what selectors' epoll raises.
            ms = math.ceil(timeout * 1e3)
            if ms * 1e6 > 2**63 - 1:
                raise OverflowError("timestamp out of range for platform time_t")
            if ms > _INT_MAX:
                raise OverflowError("timeout is too large")
        h = self._h
        try:
            h.enter()   # a close() meanwhile (another thread, a handler) frees it after us
        except OSError:
            raise _closed_selector() from None
        try:
            self._acquire()
            held = True
            try:
                deadline = time.monotonic() + ms / 1e3 if ms > 0 else None
                main = None
                while True:
                    if h.ptr is None:
                        raise _closed_selector()
                    wait = ms
                    if deadline is not None:
                        left = deadline - time.monotonic()
                        wait = 0 if left <= 0 else min(math.ceil(left * 1e3), _INT_MAX)
                    self._last[0] = self._events
                    if wait != 0 and (main if main is not None else
                                      (main := _in_main_thread())):
                        # Look first: a busy loop finds events without the
                        # signal arrangement a real wait needs. The look may
                        # have taken a wakeup's eventfd count: its flag says.
                        n = _c_select(self._cptr, self._eref, self._cap, 0)
                        if n == 0 and not self._woken and not (self._waiting and
                                                               self._depth == 1):
                            n = self._wait_in_main(wait)
                    else:
                        n = _c_select(self._cptr, self._eref, self._cap, wait)
                    if n < 0:
                        raise _error(n)
                    ready = []
                    signalled = False
                    ints = self._ints
                    fd_to_key = self._fd_to_key
                    for i in range(0, n * _EVENT_INTS, _EVENT_INTS):
                        ev = ints[i + _EV_EVENTS]
                        if not ev:
                            continue        # cleared by C: unregistered meanwhile
                        key = fd_to_key.get(ints[i + _EV_FD])
                        if key is not None:
                            ready.append((key, ev))
                        else:
                            signalled = True  # the signal pipe
                    if signalled:
                        self._drain_pipe()
                    if ready:
                        return ready
                    if main:
                        _run_signal_handlers()
                    if self._woken:
                        self._woken = False
                        return ready
                    if wait == 0:
                        return ready        # timed out, or just looking
                    if self._waiting and self._depth == 1:
                        # Woken for the lock: let the other threads in.
                        held = False
                        self._release()
                        try:
                            with self._wait_cond:
                                while self._waiting:
                                    self._wait_cond.wait()
                        finally:
                            self._acquire()
                            held = True
            finally:
                if held:
                    self._release()
        finally:
            h.leave()
            if self._map is None and self._depth == 0:
                _close_pipe(self._pipe)  # closed by a signal handler during this select

    def _wait_in_main(self, wait):
        # A C wait in the main thread, which a signal ends (see _signals_on).
        try:
            ptr = self._h.ptr
            if ptr is not None and self._signals_on(ptr) == "slice":
                wait = _SLICE_MS if wait < 0 else min(wait, _SLICE_MS)
            if self._h.ptr is None:
                return 0    # closed by a signal handler: select raises
            self._last[0] = self._events  # _signals_on (or a handler) may have grown it
            return _c_select(self._cptr, self._eref, self._cap, wait)
        finally:
            if self._swapped:
                self._swapped = False
                _signal.set_wakeup_fd(-1)

    def _signals_on(self, ptr):
        """Main thread, before a C wait: "pipe" when Python's signal wakeup fd
        now writes to this selector's pipe, which C watches (select sets it
        back to -1 after the wait), or "slice" when another wakeup fd is set
        (asyncio's) or no pipe can be made: then the wait is cut in slices of
        250 ms. Handlers of signals that came before run here."""
        if self._sigmode == "slice":
            return "slice"
        if not self._pipe:
            try:
                fds = os.pipe()
            except OSError:
                self._sigmode = "slice"
                return "slice"
            for fd in fds:
                os.set_blocking(fd, False)
            if _nk.nk_selector_register_fd(ptr, fds[0], EVENT_READ, None) < 0:
                for fd in fds:
                    os.close(fd)
                self._sigmode = "slice"
                return "slice"
            self._pipe.append(fds)
            self._grow(len(self._fd_to_key) + 2)
        try:
            self._swapped = True
            old = _signal.set_wakeup_fd(self._pipe[0][1])
        except (ValueError, OSError):
            self._swapped = False
            self._sigmode = "slice"
            return "slice"
        if old != -1:
            # Someone else's (asyncio's, which sets warn_on_full_buffer=False).
            self._swapped = False
            _signal.set_wakeup_fd(old, warn_on_full_buffer=False)
            self._sigmode = "slice"
            return "slice"
        self._sigmode = "pipe"
        _run_signal_handlers()
        return "pipe"

    def _drain_pipe(self):
        try:
            r = self._pipe[0][0]
            while os.read(r, 512):
                pass
        except (IndexError, OSError):
            pass  # no pipe, or empty (BlockingIOError)

    def _forget(self, obj, fd):
        """A registered netkit object is being closed: drop its key and its C
        registration (its C close will not touch the selector then)."""
        self._acquire()
        try:
            key = self._fd_to_key.get(fd)
            if key is None or key.fileobj is not obj:
                return
            del self._fd_to_key[fd]
            self._drop(key)
            obj._selgone = (self._ref, fd, key.events, key.data)
        finally:
            self._release()

    def close(self):
        """Unregisters everything (the objects stay open) and frees the
        selector; a second close does nothing. get_map() is None then."""
        self._acquire()
        try:
            if self._h.ptr is None:
                return
            for key in list(self._fd_to_key.values()):
                self._drop(key)
            self._fd_to_key.clear()
            self._map = None
            self._fin.detach()
            # A select inside in another thread (woken for the lock) frees the
            # C side when it leaves.
            self._h.close()
            if self._depth == 1:
                _close_pipe(self._pipe)
            # else: a signal handler closes it inside a select of this thread,
            # where the pipe may be the wakeup fd: that select closes it.
        finally:
            self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if self._map is None:
            return f"<netkit.Selector [closed] backend={self._backend!r}>"
        return f"<netkit.Selector backend={self._backend!r} registered={len(self._fd_to_key)}>"


# ---------------------------------------------------------------------------
# Name resolution
# ---------------------------------------------------------------------------

def gethostname():
    """The machine's host name."""
    return _name_call(_nk.nk_gethostname)


def gethostbyname(hostname):
    """The first IPv4 address of hostname, as dotted text."""
    return _name_call(_nk.nk_gethostbyname, _host(hostname, False, "gethostbyname"))


def gethostbyaddr(ip_address):
    """(hostname, aliaslist, ipaddrlist) for an address or a name, as
    socket.gethostbyaddr. netkit reports the primary name only: aliaslist is
    always [] and ipaddrlist holds the one address that was looked up."""
    host = _host(ip_address, False, "gethostbyaddr")
    name = _name_call(_nk.nk_gethostbyaddr, host)
    if host == b"":
        ip = "0.0.0.0"
    elif host == b"<broadcast>":
        ip = "255.255.255.255"
    else:
        ip = _resolve(host, 0, AF_UNSPEC, SOCK_STREAM, 0)[0][4][0]
    return name, [], [ip]


def _resolve(host, port, family, type, flags):
    head = ctypes.POINTER(NkAddrinfo)()
    rc = _nk.nk_getaddrinfo(host, port, family, type, flags, _byref(head))
    if rc < 0:
        raise _error(rc, "getaddrinfo")
    result = []
    try:
        entry = head
        while entry:
            e = entry.contents
            canon = e.canonname.decode() if e.canonname else ""
            result.append((e.family, e.socktype, e.protocol, canon, _addr_tuple(e.addr)))
            entry = e.next
    finally:
        _nk.nk_freeaddrinfo(head)
    return result


def _enum(value, enum_type):
    try:
        return enum_type(value)
    except ValueError:
        return value


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """Every address of host as Python's 5-tuples
    (family, type, proto, canonname, sockaddr), like socket.getaddrinfo."""
    chost = _host(host, what="getaddrinfo")
    cport, kinds = _service(port, "getaddrinfo")
    for value in (family, type, proto, flags):
        try:
            _c_int(operator.index(value))
        except TypeError:
            raise TypeError(f"'{value.__class__.__name__}' object cannot be interpreted "
                            f"as an integer") from None
    if kinds is not None and type and type not in kinds:
        raise _error(_gai_code(_socket.EAI_SERVICE))
    entries = _resolve(chost, cport, int(family), int(type), int(flags))
    if kinds is not None:
        # A named service exists for some socket types only (netkit takes numbers).
        entries = [e for e in entries if e[1] in kinds]
    if proto:
        # netkit has no protocol hint: the entries are filtered here.
        entries = [e for e in entries if e[2] == proto]
        if not entries:
            raise _error(_gai_code(_socket.EAI_SOCKTYPE))
    return [(_enum(f, _socket.AddressFamily), _enum(t, _socket.SocketKind), p, c, a)
            for f, t, p, c, a in entries]
