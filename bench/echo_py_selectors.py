#!/usr/bin/env python3
"""echo_py_selectors.py - the Python baseline of the selector rows: the echo
server of the `selectors` documentation, made as lean as Python allows (one
thread, DefaultSelector (epoll), non-blocking sockets, recv(65536) then send,
the unsent rest kept per connection and sent on EVENT_WRITE), so that it does
what echo_raw_epoll.c does.

    python3 bench/echo_py_selectors.py [--clients N]

Binds 127.0.0.1 port 0 and prints "port P". With --clients N it exits once N
connections came and left (a watchdog ends it after 600 s in any case);
without, it runs until a signal ends it.
"""
import selectors
import signal
import socket
import sys

BUFSIZE = 65536
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


def main():
    max_clients = 0
    if len(sys.argv) == 3 and sys.argv[1] == "--clients":
        max_clients = int(sys.argv[2])
    elif len(sys.argv) != 1:
        sys.exit("usage: echo_py_selectors.py [--clients N]")
    if max_clients > 0:
        signal.alarm(600)  # a benchmark run: it ends, whatever happens
    sel = selectors.DefaultSelector()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(socket.SOMAXCONN)
    srv.setblocking(False)
    print("port", srv.getsockname()[1], flush=True)
    sel.register(srv, READ, None)
    pending = {}  # socket -> bytes waiting to be sent
    accepted = 0
    open_conns = 0

    def drop(conn):
        nonlocal open_conns
        sel.unregister(conn)
        pending.pop(conn, None)
        conn.close()
        open_conns -= 1

    def send(conn, data):
        try:
            return conn.send(data)
        except BlockingIOError:
            return 0

    select = sel.select
    while max_clients == 0 or accepted < max_clients or open_conns > 0:
        for key, events in select():
            conn = key.fileobj
            if conn is srv:
                while True:
                    try:
                        c, _ = srv.accept()
                    except (BlockingIOError, ConnectionAbortedError):
                        break
                    c.setblocking(False)
                    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sel.register(c, READ, None)
                    accepted += 1
                    open_conns += 1
                continue
            try:
                if events & WRITE and conn in pending:
                    data = pending.pop(conn)
                    sent = send(conn, data)
                    if sent < len(data):
                        pending[conn] = data[sent:]
                    else:
                        sel.modify(conn, READ, None)
                if events & READ:
                    try:
                        data = conn.recv(BUFSIZE)
                    except BlockingIOError:
                        continue
                    if not data:
                        drop(conn)
                    elif conn in pending:
                        pending[conn] += data
                    else:
                        sent = send(conn, data)
                        if sent < len(data):
                            pending[conn] = data[sent:]
                            sel.modify(conn, READ | WRITE, None)
            except OSError:
                drop(conn)
    sel.close()
    srv.close()


if __name__ == "__main__":
    main()
