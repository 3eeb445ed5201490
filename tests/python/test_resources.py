"""Every C handle is released exactly once: 10,000 open/close cycles leave the
fd count where it was; objects dropped without close are closed by their
finalizer (with a ResourceWarning, as an unclosed socket gives)."""
import gc
import socket
import time
import unittest
import warnings

from nk_support import LOOPBACK, SLACK, Threads, netkit, open_fds, watchdog


class TestResources(unittest.TestCase):

    def setUp(self):
        gc.collect()
        self.fds = open_fds()

    def assertFdsStable(self):
        gc.collect()
        self.assertEqual(open_fds(), self.fds)

    def test_10000_open_close_cycles(self):
        start = time.monotonic()
        for _ in range(10000):
            netkit.UdpEndpoint((LOOPBACK, 0)).close()
        self.assertFdsStable()
        for _ in range(2000):
            with netkit.create_server((LOOPBACK, 0)):
                pass
        self.assertFdsStable()
        with netkit.create_server((LOOPBACK, 0)) as server:
            for _ in range(500):
                with netkit.create_connection((LOOPBACK, server.port)):
                    client, _ = server.accept()
                    client.close()
        self.assertFdsStable()
        self.assertLess(time.monotonic() - start, 20 * SLACK)

    def test_finalizer_closes_what_was_not_closed(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            for _ in range(300):
                netkit.UdpEndpoint((LOOPBACK, 0))  # dropped at once
            server = netkit.create_server((LOOPBACK, 0))
            client = netkit.create_connection((LOOPBACK, server.port))
            accepted, _ = server.accept()
            del server, client, accepted
            gc.collect()
        self.assertFdsStable()
        texts = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
        self.assertEqual(len(texts), 303)
        self.assertTrue(texts[0].startswith("unclosed <netkit.UdpEndpoint fd="), texts[0])

    def test_close_is_idempotent_and_final(self):
        u = netkit.UdpEndpoint()
        for _ in range(3):
            u.close()
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)  # no warning after close
            del u
            gc.collect()
        self.assertFdsStable()

    def test_concurrent_close_frees_once(self):
        # Many threads closing one object at once: freed exactly once, no crash.
        for _ in range(50):
            with netkit.create_server((LOOPBACK, 0)) as server:
                client = netkit.create_connection((LOOPBACK, server.port))
                peer, _ = server.accept()
                threads = Threads(self)
                for _ in range(4):
                    threads.start(client.close)
                    threads.start(peer.close)
                threads.join()
        self.assertFdsStable()

    def test_serve_releases_every_client(self):
        with netkit.create_server((LOOPBACK, 0)) as server:
            threads = Threads(self)

            def clients():
                for _ in range(200):
                    with socket.create_connection((LOOPBACK, server.port), timeout=5 * SLACK) as c:
                        c.recv(1)
            threads.start(clients)
            watchdog(self, server)
            server.serve(lambda c, a: c.sendall(b"x"), threads=True, max_clients=200)
            threads.join()
        self.assertFdsStable()


if __name__ == "__main__":
    unittest.main()
