"""The binding and Python's socket module talk to each other: a netkit server
with plain-socket clients, a plain-socket server with netkit clients, UDP both
ways; bytes arrive whole and in order."""
import os
import socket
import unittest

from nk_support import LOOPBACK, SLACK, Threads, netkit, python_listener, watchdog


class TestInterop(unittest.TestCase):

    def test_netkit_server_plain_socket_client(self):
        payload = os.urandom(256 * 1024)
        with netkit.create_server((LOOPBACK, 0)) as server:
            threads = Threads(self)

            def echo(client, address):
                while True:
                    data = client.recv(65536)
                    if not data:
                        return
                    client.sendall(data)
            watchdog(self, server)
            threads.start(server.serve, echo, True, 2)
            for _ in range(2):
                with socket.create_connection((LOOPBACK, server.port), timeout=5 * SLACK) as c:
                    writer = Threads(self)
                    writer.start(lambda: (c.sendall(payload), c.shutdown(socket.SHUT_WR)))
                    received = bytearray()
                    while True:
                        data = c.recv(65536)
                        if not data:
                            break
                        received += data
                    writer.join()
                    self.assertEqual(bytes(received), payload)
            threads.join()

    def test_plain_socket_server_netkit_client(self):
        payload = os.urandom(256 * 1024)
        with python_listener() as listener:
            threads = Threads(self)

            listener.settimeout(5 * SLACK)

            def serve_one():
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(5 * SLACK)
                    got = bytearray()
                    while len(got) < len(payload):
                        got += conn.recv(65536)
                    conn.sendall(b"line one\nline two\n" + hashlike(got))
            threads.start(serve_one)
            with netkit.create_connection(listener.getsockname(), timeout=5 * SLACK) as c:
                c.sendall(payload)
                self.assertEqual(c.recv_line(), b"line one\n")
                self.assertEqual(c.recv_line(), b"line two\n")
                self.assertEqual(c.recv_exact(32), hashlike(payload))
                self.assertEqual(c.recv(1), b"")
            threads.join()

    def test_udp_both_ways(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain, \
                netkit.UdpEndpoint((LOOPBACK, 0)) as mine:
            plain.bind((LOOPBACK, 0))
            plain.settimeout(5 * SLACK)
            mine.settimeout(5 * SLACK)
            mine.sendto(b"netkit -> socket", plain.getsockname())
            data, sender = plain.recvfrom(100)
            self.assertEqual((data, sender), (b"netkit -> socket", mine.getsockname()))
            plain.sendto(b"socket -> netkit", sender)
            self.assertEqual(mine.recvfrom(100), (b"socket -> netkit", plain.getsockname()))
            for i in range(20):  # datagrams keep their boundaries
                plain.sendto(b"#%d" % i, mine.getsockname())
            self.assertEqual([mine.recv(100) for _ in range(20)], [b"#%d" % i for i in range(20)])


def hashlike(data):
    import hashlib
    return hashlib.sha256(data).digest()


if __name__ == "__main__":
    unittest.main()
