"""Demos D9 (seed 002, an HTTP GET) and D12 (seed 003, a raw HTTP request): http_get.

Every server is local: Python's http.server for well-formed answers, and a tiny
scripted TCP server (RawServer) for chunked, malformed, hostile or silent ones.
The output is compared as bytes, so CRLFs and binary bodies are exact.
"""
import http.server
import socket
import subprocess
import threading
import time
import unittest

from harness import ExampleTest, SLACK, program

DATE = "Thu, 01 Jan 2026 00:00:00 GMT"


class RawServer:
    """A TCP server on 127.0.0.1 port 0 serving `connections` clients in a thread:
    it reads each request head, keeps it in .requests, then calls reply(conn, self).
    Replies that hang wait on .stop, which the test's cleanup sets."""

    def __init__(self, test, reply, connections=1, host="127.0.0.1", family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.connections = connections
        self.requests = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        test.addCleanup(self.close)

    def _run(self):
        deadline = time.monotonic() + 20 * SLACK
        served = 0
        while served < self.connections and not self.stop.is_set() \
                and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            served += 1
            with conn:
                conn.settimeout(10 * SLACK)
                data = b""
                try:
                    while b"\r\n\r\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    self.requests.append(data)
                    self.reply(conn, self)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(5 * SLACK)
        self.sock.close()


def send(data):
    """A reply that sends data and closes."""
    return lambda conn, server: conn.sendall(data)


def send_and_hang(data):
    """A reply that sends data and keeps the connection open until the test ends."""
    def reply(conn, server):
        conn.sendall(data)
        server.stop.wait(15 * SLACK)
    return reply


class Handler(http.server.BaseHTTPRequestHandler):
    """http.server with fixed Server/Date headers so that the output is exact."""
    protocol_version = "HTTP/1.1"
    seen = []

    def version_string(self):
        return "netkit-test"

    def date_time_string(self, timestamp=None):
        return DATE

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.seen.append((self.path, dict(self.headers)))
        if self.path == "/hello":
            body = b"Hello, netkit!\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("X-Demo", "yes")
        else:
            body = b"no such page\n"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HttpGetTest(ExampleTest):
    def http_get(self, *args, code=0, timeout=10.0):
        """Runs http_get; returns (stdout bytes, stderr text)."""
        r = subprocess.run([program("http_get"), *map(str, args)], capture_output=True,
                           timeout=timeout * SLACK)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, code, f"http_get {args}: stderr {err!r}")
        return r.stdout, err

    def http_server(self, host="127.0.0.1"):
        """Python's http.server on host port 0, in a thread; returns its port."""
        cls = http.server.ThreadingHTTPServer
        if ":" in host:
            cls = type("V6Server", (http.server.ThreadingHTTPServer,),
                       {"address_family": socket.AF_INET6})
        srv = cls((host, 0), Handler)
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(t.join, 5)
        self.addCleanup(srv.shutdown)
        Handler.seen = []
        return srv.server_address[1]

    # ---- D9: GET a URL -------------------------------------------------------------

    def test_status_headers_and_body(self):
        port = self.http_server()
        out, err = self.http_get(f"http://127.0.0.1:{port}/hello")
        self.assertEqual(out, (b"HTTP/1.1 200 OK\n"
                               b"Server: netkit-test\n"
                               b"Date: " + DATE.encode() + b"\n"
                               b"Content-Type: text/plain\n"
                               b"X-Demo: yes\n"
                               b"Content-Length: 15\n"
                               b"\n"
                               b"Hello, netkit!\n"))
        self.assertEqual(err, "")
        path, headers = Handler.seen[0]
        self.assertEqual(path, "/hello")
        self.assertEqual(headers["Host"], f"127.0.0.1:{port}")
        self.assertEqual(headers["Connection"], "close")

    def test_not_found(self):
        port = self.http_server()
        out, _ = self.http_get(f"http://127.0.0.1:{port}/missing?x=1#frag")
        self.assertEqual(out, (b"HTTP/1.1 404 Not Found\n"
                               b"Server: netkit-test\n"
                               b"Date: " + DATE.encode() + b"\n"
                               b"Content-Length: 13\n"
                               b"\n"
                               b"no such page\n"))
        self.assertEqual(Handler.seen[0][0], "/missing?x=1")  # the fragment is not sent

    def test_host_and_port_options(self):
        port = self.http_server()
        out, _ = self.http_get("--host", "127.0.0.1", "--port", port, "http://example.invalid/hello")
        self.assertTrue(out.endswith(b"\n\nHello, netkit!\n"), out)
        self.assertEqual(Handler.seen[0][1]["Host"], f"127.0.0.1:{port}")

    def test_ipv6_url(self):
        try:
            port = self.http_server("::1")
        except OSError:
            self.skipTest("no IPv6 loopback")
        out, _ = self.http_get(f"http://[::1]:{port}/hello")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK\n"))
        self.assertEqual(Handler.seen[0][1]["Host"], f"[::1]:{port}")

    def test_repr_is_print_of_response_content(self):
        body = b"it's \"quoted\"\r\n\x00\xff\\ end"
        srv = RawServer(self, send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                   % (len(body), body)))
        out, _ = self.http_get("--repr", f"http://127.0.0.1:{srv.port}/")
        self.assertEqual(out.decode(), str(body) + "\n")  # print(response.content)
        for body in (b"", b"plain", b"it's", b'say "hi"'):
            srv = RawServer(self, send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                       % (len(body), body)))
            out, _ = self.http_get("--repr", f"http://127.0.0.1:{srv.port}/")
            self.assertEqual(out.decode(), str(body) + "\n")

    def test_request_bytes(self):
        srv = RawServer(self, send(b"HTTP/1.1 204 No Content\r\n\r\n"))
        out, _ = self.http_get(f"http://127.0.0.1:{srv.port}/a/b?c=d")
        self.assertEqual(out, b"HTTP/1.1 204 No Content\n\n")
        self.assertEqual(srv.requests[0],
                         b"GET /a/b?c=d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                         b"User-Agent: netkit-http_get/0.1.0\r\nAccept: */*\r\n"
                         b"Connection: close\r\n\r\n" % srv.port)

    def test_content_length_body_on_a_connection_left_open(self):
        srv = RawServer(self, send_and_hang(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                                            b"12345"))
        start = time.monotonic()
        out, _ = self.http_get("--timeout", 5, f"http://127.0.0.1:{srv.port}/")
        self.assertEqual(out, b"HTTP/1.1 200 OK\nContent-Length: 5\n\n12345")
        self.assertLess(time.monotonic() - start, 4 * SLACK)  # did not wait for a close

    def test_chunked_body(self):
        srv = RawServer(self, send_and_hang(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"7\r\nHello, \r\n"
            b"a;name=value\r\nchunked wo\r\n"
            b"3 \r\nrld\r\n"
            b"0\r\nX-Trailer: ignored\r\n\r\n"))
        out, _ = self.http_get(f"http://127.0.0.1:{srv.port}/")
        self.assertEqual(out, b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"
                              b"Hello, chunked world")

    def test_chunked_wins_over_content_length(self):
        srv = RawServer(self, send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                                   b"transfer-encoding: gzip, CHUNKED\r\n\r\n"
                                   b"2\r\nok\r\n0\r\n\r\n"))
        out, _ = self.http_get(f"http://127.0.0.1:{srv.port}/")
        self.assertTrue(out.endswith(b"\n\nok"), out)

    def test_other_transfer_coding_reads_until_close(self):
        srv = RawServer(self, send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                   b"Transfer-Encoding: identity\r\n\r\nall of it"))
        out, _ = self.http_get(f"http://127.0.0.1:{srv.port}/")
        self.assertTrue(out.endswith(b"\n\nall of it"), out)

    def test_body_until_close(self):
        srv = RawServer(self, send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                                   + b"x" * 50000 + b"end"))
        out, _ = self.http_get(f"http://127.0.0.1:{srv.port}/")
        self.assertEqual(out, b"HTTP/1.0 200 OK\nContent-Type: text/plain\n\n"
                              + b"x" * 50000 + b"end")

    def test_interim_response_is_skipped(self):
        srv = RawServer(self, send(b"HTTP/1.1 100 Continue\r\n\r\n"
                                   b"HTTP/1.1 102 Processing\r\nX-Step: 1\r\n\r\n" * 2
                                   + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        out, _ = self.http_get(f"http://127.0.0.1:{srv.port}/")
        self.assertEqual(out, b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok")

    # ---- errors --------------------------------------------------------------------

    def test_timeout(self):
        srv = RawServer(self, lambda conn, server: server.stop.wait(15 * SLACK))
        start = time.monotonic()
        out, err = self.http_get("--timeout", 0.5, f"http://127.0.0.1:{srv.port}/", code=1)
        elapsed = time.monotonic() - start
        self.assertEqual(err, "http_get: timed out\n")
        self.assertEqual(out, b"")
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 3 * SLACK)
        self.assertEqual(len(srv.requests), 1)  # the request was sent

    def test_timeout_in_the_body(self):
        srv = RawServer(self, send_and_hang(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                                            b"12345"))
        _, err = self.http_get("--timeout", 0.3, f"http://127.0.0.1:{srv.port}/", code=1)
        self.assertEqual(err, "http_get: timed out\n")

    def test_connection_refused(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            self.fail("something listens on the closed port")
        except ConnectionRefusedError as e:
            python = str(e)
        out, err = self.http_get(f"http://127.0.0.1:{port}/", code=1)
        self.assertEqual(err, f"http_get: {python}\n")
        self.assertEqual(err, "http_get: [Errno 111] Connection refused\n")
        self.assertEqual(out, b"")

    def test_chunk_size_overflow(self):
        srv = RawServer(self, send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   b"FFFFFFFFFFFFFFFFFFFFFF\r\nx\r\n"))
        out, err = self.http_get(f"http://127.0.0.1:{srv.port}/", code=1)
        self.assertEqual(err, "http_get: chunk size FFFFFFFFFFFFFFFFFFFFFF overflows\n")
        self.assertEqual(out, b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n")

    def test_bad_chunks(self):
        cases = [
            (b"zz\r\n", "http_get: bad chunk size line: zz\n"),
            (b"-1\r\n", "http_get: bad chunk size line: -1\n"),
            (b"3\r\nabcX\r\n", "http_get: no CRLF after a chunk's data\n"),
            (b"FFFFFFFF\r\n", "http_get: the body is larger than 10485760 bytes (--max-body)\n"),
            (b"5\r\nab", "http_get: connection closed 3 bytes before the end of the body\n"),
            (b"2\r\nab\r\n", "http_get: connection closed inside the chunked body\n"),
        ]
        for body, expected in cases:
            with self.subTest(body=body):
                srv = RawServer(self, send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                                           b"\r\n\r\n" + body))
                _, err = self.http_get(f"http://127.0.0.1:{srv.port}/", code=1)
                self.assertEqual(err, expected)

    def test_limits(self):
        head = b"HTTP/1.1 200 OK\r\n"
        cases = [
            (["--max-line", 64], head + b"X-Long: " + b"a" * 100 + b"\r\n\r\n",
             "http_get: a line of the response is longer than 64 bytes (--max-line)\n"),
            (["--max-headers", 3], head + b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
             "http_get: more than 3 header lines (--max-headers)\n"),
            (["--max-body", 10], head + b"Content-Length: 11\r\n\r\n" + b"b" * 11,
             "http_get: the body is larger than 10 bytes (--max-body)\n"),
            (["--max-body", 10], head + b"Transfer-Encoding: chunked\r\n\r\n"
             b"6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n",
             "http_get: the body is larger than 10 bytes (--max-body)\n"),
            (["--max-body", 10], b"HTTP/1.0 200 OK\r\n\r\n" + b"c" * 11,
             "http_get: the body is larger than 10 bytes (--max-body)\n"),
        ]
        for args, reply, expected in cases:
            with self.subTest(args=args, reply=reply[:40]):
                srv = RawServer(self, send(reply))
                _, err = self.http_get(*args, f"http://127.0.0.1:{srv.port}/", code=1)
                self.assertEqual(err, expected)
        # exactly at the limits is fine
        srv = RawServer(self, send(b"HTTP/1.0 200 OK\r\n\r\n" + b"c" * 10))
        out, _ = self.http_get("--max-body", 10, f"http://127.0.0.1:{srv.port}/")
        self.assertEqual(out, b"HTTP/1.0 200 OK\n\n" + b"c" * 10)

    def test_malformed_responses(self):
        cases = [
            (b"", "http_get: Remote end closed connection without response\n"),
            (b"garbage\r\n\r\n", "http_get: malformed status line: garbage\n"),
            (b"HTTP/1.1 2000 OK\r\n\r\n", "http_get: malformed status line: HTTP/1.1 2000 OK\n"),
            (b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
             "http_get: malformed header line: No colon here\n"),
            (b"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",
             "http_get: folded header lines are not supported\n"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
             "http_get: bad Content-Length: 1x\n"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
             "http_get: bad Content-Length: 99999999999999999999999\n"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
             "http_get: conflicting Content-Length headers\n"),
            (b"HTTP/1.1 200 OK\r\nA: 1\r\n",
             "http_get: connection closed before the end of the headers\n"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
             "http_get: connection closed 6 bytes before the end of the body\n"),
            (b"HTTP/1.1 100 Continue\r\n\r\n" * 6 + b"HTTP/1.1 200 OK\r\n\r\n",
             "http_get: more than 5 interim (1xx) responses\n"),
        ]
        for reply, expected in cases:
            with self.subTest(reply=reply):
                srv = RawServer(self, send(reply))
                _, err = self.http_get(f"http://127.0.0.1:{srv.port}/", code=1)
                self.assertEqual(err, expected)

    def test_https_is_refused(self):
        out, err = self.http_get("https://www.google.com", code=2)
        self.assertEqual(out, b"")
        self.assertIn("TLS", err)
        self.assertIn("https://", err)

    # ---- D12: the raw request ----------------------------------------------------

    def test_raw_request_exact_bytes(self):
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        srv = RawServer(self, send(reply))
        out, err = self.http_get("--raw", "127.0.0.1", srv.port)
        self.assertEqual(srv.requests, [b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"])
        self.assertEqual(out, reply)
        self.assertEqual(err, "")

    def test_raw_with_host_and_port_options(self):
        srv = RawServer(self, send(b"x"))
        out, _ = self.http_get("--raw", "--host", "localhost", "--port", srv.port)
        self.assertEqual(srv.requests, [b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"])
        self.assertEqual(out, b"x")

    def test_raw_reads_one_recv_of_1024_like_the_seed(self):
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + b"y" * 3000

        # The seed, run by Python against the same kind of server.
        srv = RawServer(self, send_and_hang(reply))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(("127.0.0.1", srv.port))
        s.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.2)  # let the whole reply arrive, as for the C client below
        data = s.recv(1024)
        s.close()
        python_request = srv.requests[0]

        srv = RawServer(self, send_and_hang(reply))
        out, _ = self.http_get("--raw", "--repr", "127.0.0.1", srv.port)
        self.assertEqual(srv.requests[0], python_request)
        self.assertEqual(out.decode(), str(data) + "\n")  # print(data)
        self.assertEqual(len(data), 1024)

    def test_raw_timeout_and_refused(self):
        srv = RawServer(self, lambda conn, server: server.stop.wait(15 * SLACK))
        _, err = self.http_get("--raw", "--timeout", 0.3, "127.0.0.1", srv.port, code=1)
        self.assertEqual(err, "http_get: timed out\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        _, err = self.http_get("--raw", "127.0.0.1", port, code=1)
        self.assertEqual(err, "http_get: [Errno 111] Connection refused\n")

    # ---- command line ----------------------------------------------------------------

    def test_help(self):
        out, err = self.http_get("--help")
        self.assertIn(b"Usage: http_get", out)
        self.assertEqual(err, "")

    def test_bad_usage(self):
        for args in (["--bogus"], ["--timeout", "0", "http://x/"], ["--timeout", "abc"],
                     ["--max-line", "1"], ["--port", "70000"], ["ftp://x/"],
                     ["http://"], ["http://a:0/"], ["http://a:99999/"], ["http://[::1/"],
                     ["http://u@a/"], ["http://a/b c"], ["a", "b"],
                     ["--raw", "h", "notaport"], ["--raw", "h", "1", "extra"]):
            with self.subTest(args=args):
                out, err = self.http_get(*args, code=2)
                self.assertEqual(out, b"")
                self.assertNotEqual(err, "")


if __name__ == "__main__":
    unittest.main()
