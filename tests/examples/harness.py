"""harness.py - runs netkit's example programs for the end-to-end tests.

Every server is started on 127.0.0.1 (or ::1) with --port 0; its first line,
"listening on HOST:PORT", gives the real port. Every process started here is
stopped by the test's cleanup, and every wait is bounded.
"""
import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# NK_EXAMPLES_BIN runs the same tests against other builds of the examples
# (build/asan/examples, build/tsan/examples: see tests/sanitizers/run.sh).
BIN = os.path.join(ROOT, os.environ.get("NK_EXAMPLES_BIN") or os.path.join("build", "examples"))
# NK_EXEC_LOG: a file where each program started is noted, one line each.
EXEC_LOG = os.environ.get("NK_EXEC_LOG")
# NK_EXAMPLES_WRAPPER: a command the programs run under ("valgrind -q ...").
WRAPPER = shlex.split(os.environ.get("NK_EXAMPLES_WRAPPER", ""))
# NK_SANITIZER: "asan" or "tsan" when the programs run under a sanitizer
# (tests/sanitizers/run.sh sets it): memory figures like RSS mean little then.
SANITIZER = os.environ.get("NK_SANITIZER", "")
# Scaled like the C suites' CK_TIMEOUT_MULTIPLIER when a slow runner needs it.
SLACK = float(os.environ.get("NK_TEST_SLACK", "1"))
LISTENING = re.compile(r"^listening on (\[?[0-9a-fA-F.:]+\]?):(\d+)$")


def program(name):
    """Path of a built example program."""
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        if os.environ.get("NK_EXAMPLES_BIN"):  # a sanitizer run must not skip
            raise AssertionError(f"{path} is not built (NK_EXAMPLES_BIN)")
        raise unittest.SkipTest(f"{path} is not built (run make)")
    if EXEC_LOG:
        with open(EXEC_LOG, "a") as f:
            f.write(name + "\n")
    return path


class Process:
    """A running example: lines of its stdout are queued as they arrive."""

    def __init__(self, argv, stdin=subprocess.DEVNULL):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     start_new_session=True)
        self.lines = queue.Queue()
        self.seen = []
        self.err = []
        self.readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines),
                                         daemon=True),
                        threading.Thread(target=self._pump_err, daemon=True)]
        for t in self.readers:
            t.start()

    def _pump(self, stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _pump_err(self):
        for line in self.proc.stderr:
            self.err.append(line.rstrip("\n"))

    def line(self, timeout=5.0):
        """The next stdout line (None at EOF); fails the test after timeout."""
        try:
            line = self.lines.get(timeout=timeout * SLACK)
        except queue.Empty:
            raise AssertionError(f"{self.argv[0]}: no output line within {timeout} s; "
                                 f"seen {self.seen!r}, stderr {self.err!r}") from None
        if line is not None:
            self.seen.append(line)
        return line

    def expect(self, text, timeout=5.0):
        """Reads lines until one equals text; returns the lines skipped."""
        skipped = []
        deadline = time.monotonic() + timeout * SLACK
        while True:
            line = self.line(max(0.05, deadline - time.monotonic()) / SLACK)
            if line == text:
                return skipped
            if line is None:
                raise AssertionError(f"{self.argv[0]}: ended before {text!r}; seen "
                                     f"{self.seen!r}, stderr {self.err!r}")
            skipped.append(line)

    def wait(self, timeout=10.0):
        """Waits for exit; returns the exit code (fails the test on timeout)."""
        try:
            rc = self.proc.wait(timeout=timeout * SLACK)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.argv[0]}: still running after {timeout} s") from None
        for t in self.readers:  # stdout and stderr are complete once they end
            t.join(timeout=5 * SLACK)
        return rc

    def rest(self, timeout=10.0):
        """Waits for exit and returns every remaining stdout line."""
        self.wait(timeout)
        out = []
        while True:
            line = self.line(timeout)
            if line is None:
                return out
            out.append(line)

    def stop(self):
        """Stops the process group: SIGTERM, then SIGKILL after 2 s."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=2)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        for t in self.readers:  # let them see EOF before their pipes close
            t.join(timeout=2)
        for s in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


class ExampleTest(unittest.TestCase):
    """Base class: start() and server() register processes for cleanup."""

    def start(self, name, *args, stdin=subprocess.DEVNULL):
        p = Process([*WRAPPER, program(name), *map(str, args)], stdin=stdin)
        self.addCleanup(p.stop)
        return p

    def server(self, name, *args, host="127.0.0.1"):
        """Starts a server with --host host --port 0; returns (process, port)."""
        p = self.start(name, "--host", host, "--port", 0, *args)
        first = p.line()
        m = LISTENING.match(first or "")
        self.assertIsNotNone(m, f"{name}: first line {first!r} is not 'listening on HOST:PORT'"
                                f" (stderr {p.err!r})")
        return p, int(m.group(2))

    def run_prog(self, name, *args, input=None, timeout=10.0):
        """Runs a program to completion; returns CompletedProcess (text)."""
        return subprocess.run([*WRAPPER, program(name), *map(str, args)], input=input,
                              capture_output=True, text=True, timeout=timeout * SLACK)
