"""The chat room with clients joining, chatting and leaving at the same time.

Both engines: the selector room (one thread) and the thread-per-client room
(--engine threads: a reader and a writer thread per client, one room lock,
hang-ups from other threads, serve reaping finished threads). `make check`
runs this against the normal build, `make check-tsan` against the
ThreadSanitizer build, where any unsynchronised access among those threads
is reported and fails the run.

Two observers stay in the room and chat throughout; meanwhile WORKERS threads
each run ROUNDS short visits: connect, give a name, send LINES lines, then
leave either politely (FIN, reading until the server closes) or abruptly
(RST). Every wait is bounded; every socket is closed at cleanup.
"""
import socket
import struct
import threading
import time
import unittest

from harness import SLACK, ExampleTest
from test_chat import WELCOME, RoomClient, by_sender

WORKERS = 8
ROUNDS = 6
LINES = 5


def numbered(sender, texts):
    """The k of each '<k> from <sender>' text; fails on any other text."""
    out = []
    for text in texts:
        k, _, rest = text.partition(" ")
        if rest != f"from {sender}" or not k.isdigit():
            raise AssertionError(f"malformed line from {sender}: {text!r}")
        out.append(int(k))
    return out


class RoomConcurrencyTest(ExampleTest):
    """The selector engine (the default)."""

    ENGINE = ()

    def visit(self, port, name, polite, observer, errors, received):
        """One worker round: join, say LINES lines, leave (FIN or RST)."""
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLACK)
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(f"{name}\n".encode())
            for k in range(LINES):  # spread out, so that visits overlap
                s.sendall(f"{k} from {name}\n".encode())
                time.sleep(0.003)
            if polite:
                time.sleep(0.02)  # stays a moment, hearing the others
                s.shutdown(socket.SHUT_WR)  # the server sees the end and closes
                data = b""
                deadline = time.monotonic() + 10 * SLACK
                while True:
                    self.assertLess(time.monotonic(), deadline, f"{name}: no end of stream")
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        break
                    data += chunk
                received[name] = data
            else:
                # Vanish only once the room has it, so that its leave is certain.
                observer.wait_line(f"* {name} has joined the chat", timeout=10)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except BaseException as e:  # reported by the test thread
            errors.append(e)
        finally:
            s.close()

    def test_room_concurrent_joins_chat_and_leaves(self):
        srv, port = self.server("chat_server", "--mode", "room", *self.ENGINE)
        obs = [RoomClient(self, port, "obs0")]
        srv.expect("User obs0 has joined the chat.")
        obs.append(RoomClient(self, port, "obs1"))
        obs[0].wait_line("* obs1 has joined the chat")

        errors, received = [], {}
        done = threading.Event()
        said = {o.name: 0 for o in obs}

        def chatter(o):  # each observer talks while the workers come and go
            while not done.is_set() or said[o.name] < 20:
                o.send(f"{said[o.name]} from {o.name}")
                said[o.name] += 1
                time.sleep(0.01)

        def worker(t):
            for r in range(ROUNDS):
                self.visit(port, f"w{t}r{r}", (t + r) % 2 == 0, obs[t % 2], errors, received)

        talkers = [threading.Thread(target=chatter, args=(o,), daemon=True) for o in obs]
        workers = [threading.Thread(target=worker, args=(t,), daemon=True)
                   for t in range(WORKERS)]
        for th in talkers + workers:
            th.start()
        deadline = time.monotonic() + 60 * SLACK
        for th in workers:
            th.join(max(0.0, deadline - time.monotonic()))
        done.set()
        for th in talkers:
            th.join(max(0.0, deadline - time.monotonic()))
        self.assertFalse(any(th.is_alive() for th in talkers + workers), "threads still running")
        if errors:
            raise errors[0]

        names = [f"w{t}r{r}" for t in range(WORKERS) for r in range(ROUNDS)]
        polite = {f"w{t}r{r}" for t in range(WORKERS) for r in range(ROUNDS) if (t + r) % 2 == 0}
        # Every visitor joined and left: both observers see all of it.
        for o in obs:
            o.wait(lambda lines: sum(l.endswith(b" has left the chat") for l in lines)
                   >= len(names), timeout=20)
            other = obs[1] if o is obs[0] else obs[0]
            o.wait(lambda lines, n=said[other.name]: sum(
                l.startswith(other.name.encode() + b": ") for l in lines) >= n, timeout=20)
            lines = [l.decode() for l in o.lines]
            got = by_sender(o.messages())
            # The other observer's lines: all, once, in order.
            self.assertEqual(numbered(other.name, got.pop(other.name)),
                             list(range(said[other.name])), o.name)
            self.assertEqual(set(got) - set(names), set(), f"{o.name}: unknown senders")
            for name in names:
                join = lines.index(f"* {name} has joined the chat")
                leave = lines.index(f"* {name} has left the chat")
                self.assertEqual(lines.count(f"* {name} has joined the chat"), 1)
                self.assertEqual(lines.count(f"* {name} has left the chat"), 1)
                mine = [i for i, l in enumerate(lines) if l.startswith(f"{name}: ")]
                self.assertTrue(all(join < i < leave for i in mine),
                                f"{o.name}: {name}'s lines outside its visit")
                ks = numbered(name, got.get(name, []))
                if name in polite:  # a FIN comes after every line: all arrive
                    self.assertEqual(ks, list(range(LINES)), f"{o.name} from {name}")
                else:  # a reset may discard the end, never reorder
                    self.assertEqual(ks, list(range(len(ks))), f"{o.name} from {name}")

        # What each polite visitor read: the welcome, then for each sender a
        # run of consecutive lines (it was in the room for a while), no gap.
        for name in sorted(polite):
            data = received[name].decode()
            self.assertTrue(data.startswith(WELCOME + "\n"), f"{name}: {data[:80]!r}")
            body = [l for l in data[len(WELCOME) + 1:].split("\n") if l]
            for sender, texts in by_sender(l for l in body if not l.startswith("* ")).items():
                self.assertNotEqual(sender, name)
                ks = numbered(sender, texts)
                self.assertEqual(ks, list(range(ks[0], ks[0] + len(ks))), f"{name} from {sender}")

        # The room stops cleanly with the observers still in it.
        srv.proc.terminate()
        srv.rest(timeout=20)
        self.assertEqual(srv.proc.returncode, 0)
        for o in obs:
            o.wait_eof(timeout=10)
        out = srv.seen  # every line the server printed
        for name in names + [o.name for o in obs]:
            self.assertEqual(out.count(f"User {name} has joined the chat."), 1, name)
            self.assertEqual(out.count(f"User {name} has left the chat."), 1, name)
        self.assertEqual(sum(l.startswith("Connected by ") for l in out), len(names) + 2)


class RoomThreadsConcurrencyTest(RoomConcurrencyTest):
    """The thread-per-client engine (--engine threads)."""

    ENGINE = ("--engine", "threads")


if __name__ == "__main__":
    unittest.main()
