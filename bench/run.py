#!/usr/bin/env python3
"""run.py - runs netkit's benchmarks against raw BSD sockets, libuv and
Python's socket module, prints a table and writes bench/results.tsv.

    python3 bench/run.py [--quick] [--rounds N] [--only ROW[,ROW...]] [--out FILE]

`make bench` builds the programs under build/bench/ and runs this (a full run:
every timed row interleaved A B A B ... --rounds times, medians reported);
`make bench-quick` runs it with --quick (every row once, short durations, as a
smoke check). results.tsv has one row per comparison, tab-separated: metric,
netkit, baseline name, baseline value, ratio (netkit / baseline), unit.

Pinning, the same for both sides of every comparison:
  single-connection rows: both ends on CPU 0 (taskset -c 0);
  multi-client rows: the server on CPU 0, the clients on CPU 1.
Exact counts (syscalls with strace -f -c, user-space instructions with
valgrind --tool=callgrind) are taken from two run lengths, so that set-up
and tear-down cancel: (count(N2) - count(N1)) / (N2 - N1).
Every program runs with a watchdog and every wait here is bounded.
"""
import argparse
import glob
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bench")
BENCH = os.path.join(ROOT, "bench")
PY = sys.executable
SERVER_CPU, CLIENT_CPU = "0", "1"

ROWS = ("tcp_pingpong", "udp_pingpong", "tcp_bulk", "echo100_selector", "echo100_threads",
        "churn", "syscalls", "instr", "idle", "python_binding")


def prog(name):
    return os.path.join(BIN, name)


def pin(cpu, argv):
    return ["taskset", "-c", cpu] + argv


def log(msg=""):
    print(msg, flush=True)


class BenchError(Exception):
    pass


# CPU shares (CPU time / wall time) of the processes of the measurement in
# progress; see interleave().
_shares = []


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def note_share(cpu_s, wall_s):
    _shares.append(cpu_s / wall_s if wall_s > 0 else 1.0)


def run_output(argv, timeout):
    """Runs a program to its end; returns its 'result ...' line. Notes the CPU
    share of the program (with the children it waited for)."""
    cpu0, t0 = children_cpu(), time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(argv)}: timed out after {timeout} s")
    note_share(children_cpu() - cpu0, time.monotonic() - t0)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-500:]}")
    m = re.search(r"^result ([0-9.]+).*$", p.stdout, re.M)
    if not m:
        raise BenchError(f"{' '.join(argv)}: no result line in {p.stdout!r}")
    return m.group(0)


def run_result(argv, timeout):
    """Runs a program to its end; returns the number of its 'result X' line."""
    return float(run_output(argv, timeout).split()[1])


# ---- servers (multi-client rows) --------------------------------------------

SERVERS = {
    "netkit_selector": [prog("echo_nk_selector")],
    "raw_epoll": [prog("echo_raw_epoll")],
    "libuv": [prog("echo_uv")],
    "python_selectors": [PY, os.path.join(BENCH, "echo_py_selectors.py")],
    "netkit_threads": [prog("echo_nk_threads")],
    "raw_threads": [prog("echo_raw_threads")],
}


def raise_nofile(need):
    def pre():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    return pre


class Server:
    """A server process, started pinned to CPU 0 with --clients N, that
    prints "port P" first; optionally under a wrapper (strace, valgrind)."""

    def __init__(self, name, clients, wrapper=(), nofile=None):
        argv = pin(SERVER_CPU, list(wrapper) + SERVERS[name] + ["--clients", str(clients)])
        self.name = name
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, preexec_fn=raise_nofile(nofile) if nofile else None)
        line = self._readline(30 if wrapper else 10)
        m = re.match(r"port (\d+)$", line.strip())
        if not m:
            self.kill()
            raise BenchError(f"{name}: said {line!r} instead of its port: "
                             f"{self.proc.stderr.read()[-500:]}")
        self.port = int(m.group(1))

    def _readline(self, timeout):
        import selectors
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                self.kill()
                raise BenchError(f"{self.name}: no port after {timeout} s")
        return self.proc.stdout.readline()

    def wait(self, timeout=20):
        """Waits for the server to exit by itself (its clients all left);
        returns its resource usage (taskset exec'd it: same pid)."""
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() >= deadline:
                self.kill()
                raise BenchError(f"{self.name}: still running {timeout} s after its clients left")
            time.sleep(0.01)
        note_share(usage.ru_utime + usage.ru_stime, time.monotonic() - self.started)
        rc = os.waitstatus_to_exitcode(status)
        self.proc.returncode = rc  # reaped here, with its rusage
        err = self.proc.stderr.read()
        if rc != 0:
            raise BenchError(f"{self.name}: exit {rc}: {err[-500:]}")
        return usage

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def rss(self):
        """(VmRSS, RssAnon) of the server in bytes (the program itself, not
        taskset, which exec'd it; nor a wrapper)."""
        fields = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon"):
                    fields[k] = int(v.split()[0]) * 1024
        return fields["VmRSS"], fields["RssAnon"]


def echo_run(server, clients, seconds, warmup, cpu=None):
    """Round trips/s of `clients` ping-pong clients against one server. When
    cpu is a dict, cpu[server] gets the server's user and system CPU time per
    round trip (whole run, warm-up included) in microseconds."""
    srv = Server(server, clients)
    try:
        line = run_output(pin(CLIENT_CPU, [prog("loadgen"), "--port", str(srv.port), "--clients",
                                           str(clients), "--seconds", str(seconds), "--warmup",
                                           str(warmup)]), seconds + warmup + 60)
        usage = srv.wait()
        total = int(re.search(r"total=(\d+)", line).group(1))
        if cpu is not None and total > 0:
            cpu.setdefault(server, []).append((usage.ru_utime * 1e6 / total,
                                               usage.ru_stime * 1e6 / total))
        return float(line.split()[1])
    finally:
        srv.kill()


# ---- interleaved timed rows -----------------------------------------------------

# A measurement is undisturbed when one of its processes kept its CPU busy:
# a single-connection program (both ends on CPU 0) is always running, and of
# a server and its load generator one is the bottleneck and runs all the
# time. Another program on the machine taking a CPU shows as both idling.
# Time the hypervisor takes from our virtual CPUs (steal in /proc/stat) is
# invisible to the processes; more than STEAL_MAX of the wall time is a
# disturbance too.
CPU_SHARE_MIN = 0.85
STEAL_MAX = 0.05


def steal_ticks():
    """Ticks (1/100 s) the hypervisor took from CPU 0 and CPU 1 so far."""
    ticks = {}
    with open("/proc/stat") as f:
        for line in f:
            t = line.split()
            if t[0] in ("cpu0", "cpu1"):
                ticks[t[0]] = int(t[8]) if len(t) > 8 else 0
    return ticks


def interleave(cfg, impls, measure, warm=None, check_cpu=True, rounds=None):
    """Runs measure(impl) for every impl in turn (A B C, C B A, A B C, ...)
    until `rounds` (default cfg.rounds) undisturbed rounds were had, after
    one warm-up run each in a full run. A round in which some measurement's
    busiest process had less than CPU_SHARE_MIN of its CPU (other work on the
    machine), or the hypervisor stole more than STEAL_MAX of a CPU, is logged
    and repeated, at most cfg.extra_rounds times in all. Returns {impl:
    [values]}, in round order."""
    values = {i: [] for i in impls}
    every = {i: [] for i in impls}
    if not cfg.quick and warm is not None:
        for i in impls:
            warm(i)
    rounds = rounds or cfg.rounds
    attempts = 0
    while len(values[impls[0]]) < rounds and attempts < rounds + cfg.extra_rounds:
        attempts += 1
        got, busy, steal = {}, {}, 0.0
        # A B C, then C B A: no implementation always runs first or after another.
        for i in (impls if attempts % 2 else impls[::-1]):
            _shares.clear()
            s0, t0 = steal_ticks(), time.monotonic()
            got[i] = measure(i)
            s1, wall = steal_ticks(), time.monotonic() - t0
            busy[i] = max(_shares) if _shares else 1.0
            steal = max([steal] + [(s1[c] - s0[c]) / 100 / wall for c in s0])
            every[i].append(got[i])
        low = min(busy.values())
        disturbed = check_cpu and (low < CPU_SHARE_MIN or steal > STEAL_MAX)
        if not disturbed:
            for i in impls:
                values[i].append(got[i])
        note = (f"   (cpu {low:.2f}, steal {steal:.2f}{', disturbed: repeated' if disturbed else ''})"
                if check_cpu else "")
        log(f"    round {attempts}: " + ",  ".join(f"{i} {fmt(got[i])}" for i in impls) + note)
    if len(values[impls[0]]) < min(3, rounds):
        log(f"    only {len(values[impls[0]])} undisturbed round(s): using all {attempts}")
        return every
    return values


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


class Results:
    def __init__(self):
        self.rows = []

    def add(self, metric, netkit, base_name, base, unit, target=None, ratio=None):
        if ratio is not None:
            pass
        elif base == 0:
            ratio = float("inf") if netkit > 0 else float("nan")
        else:
            ratio = netkit / base
        self.rows.append((metric, netkit, base_name, base, ratio, unit, target))


def med(values):
    return statistics.median(values)


def paired(a, b):
    """The median of the per-round ratios a[k] / b[k]. The rounds interleave
    the implementations, so each ratio compares runs made seconds apart; the
    machine's speed drifts by more than the differences measured (+-10-20%
    from round to round on this shared virtual machine), and pairing cancels
    that drift where a ratio of the two medians would not."""
    return med([x / y for x, y in zip(a, b) if y > 0])


def pp_row(cfg, res, mode, metric, unit, impls, target):
    secs = cfg.pp_seconds
    argv = {
        "netkit": lambda s: [prog("pp_netkit"), mode, "--seconds", str(s)],
        "raw": lambda s: [prog("pp_raw"), mode, "--seconds", str(s)],
        "python": lambda s: [PY, os.path.join(BENCH, "pingpong.py"), mode, "--seconds", str(s)],
    }
    values = interleave(cfg, impls,
                        lambda i: run_result(pin(SERVER_CPU, argv[i](secs)), secs + 60),
                        warm=lambda i: run_result(pin(SERVER_CPU, argv[i](0.2)), 60),
                        rounds=cfg.pp_rounds)
    log("    median of the per-round ratios: " + ",  ".join(
        f"netkit/{b} {paired(values['netkit'], values[b]):.3f}" for b in impls[1:]))
    for base in impls[1:]:
        res.add(metric, med(values["netkit"]), base, med(values[base]), unit,
                target if base == "raw" else None, paired(values["netkit"], values[base]))


def row_tcp_pingpong(cfg, res):
    log("tcp_pingpong_rtps: one TCP connection, 64-byte messages, blocking, TCP_NODELAY; "
        "both ends on CPU 0")
    pp_row(cfg, res, "tcp", "tcp_pingpong_rtps", "round trips/s", ("netkit", "raw", "python"),
           (">=", 0.97, "ratio"))


def row_udp_pingpong(cfg, res):
    log("udp_pingpong_rtps: 64-byte datagrams, connected client, recvfrom/sendto echo end; "
        "both ends on CPU 0")
    pp_row(cfg, res, "udp", "udp_pingpong_rtps", "round trips/s", ("netkit", "raw", "python"),
           (">=", 0.97, "ratio"))


def row_tcp_bulk(cfg, res):
    log("tcp_bulk_gbps: one TCP connection, 64 KiB writes, 64 KiB reads; both ends on CPU 0")
    pp_row(cfg, res, "bulk", "tcp_bulk_gbps", "GB/s", ("netkit", "raw"), (">=", 0.97, "ratio"))


def echo_row(cfg, res, metric, impls, targets):
    log(f"{metric}: 100 clients (loadgen, one thread, epoll) doing 64-byte ping-pong; "
        f"server on CPU {SERVER_CPU}, clients on CPU {CLIENT_CPU}")
    s, w = cfg.echo_seconds, cfg.echo_warmup
    cpu = {}
    values = interleave(cfg, impls, lambda i: echo_run(i, 100, s, w, cpu),
                        warm=lambda i: echo_run(i, 100, 0.3, 0.1), rounds=cfg.echo_rounds)
    nk = impls[0]
    log("    server CPU time per round trip, user + system (medians): " + ",  ".join(
        f"{i} {med([u for u, _ in cpu[i]]):.2f} + {med([k for _, k in cpu[i]]):.2f} us"
        for i in impls))
    log("    median of the per-round ratios: " + ",  ".join(
        f"{nk}/{b} {paired(values[nk], values[b]):.3f}" for b in impls[1:]))
    for base in impls[1:]:
        res.add(metric, med(values[nk]), base.split("_")[0], med(values[base]), "round trips/s",
                targets.get(base), paired(values[nk], values[base]))


def row_echo100_selector(cfg, res):
    echo_row(cfg, res, "echo100_selector_rtps",
             ("netkit_selector", "raw_epoll", "libuv", "python_selectors"),
             {"raw_epoll": (">=", 1.0, "ratio"), "libuv": (">=", 1.05, "ratio")})


def row_echo100_threads(cfg, res):
    echo_row(cfg, res, "echo100_threads_rtps", ("netkit_threads", "raw_threads"), {})


def row_churn(cfg, res):
    log("churn_cps: connect + accept + close (the client waits for the acceptor's close); "
        "both ends on CPU 0")
    pp_row(cfg, res, "churn", "churn_cps", "connections/s", ("netkit", "raw"), None)


# ---- exact counts: strace and callgrind ---------------------------------------

def strace_counts(path):
    """{syscall: calls} from strace -c output."""
    counts = {}
    with open(path) as f:
        for line in f:
            t = line.split()
            if len(t) >= 5 and re.match(r"^[0-9.]+$", t[0]) and t[-1] != "total":
                counts[t[-1]] = counts.get(t[-1], 0) + int(t[3])
    return counts


def callgrind_total(files):
    total = 0
    for path in files:
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    total += int(line.split()[1])
                    break
            else:
                raise BenchError(f"{path}: no summary line")
    return total


def per_rt(a, b, n1, n2):
    return (b - a) / (n2 - n1)


def strace_pp(tmp, name, n):
    out = os.path.join(tmp, f"strace.{name}.{n}")
    p = subprocess.run(pin(SERVER_CPU, ["strace", "-f", "-c", "-o", out, prog(name), "tcp",
                                        "--count", str(n)]),
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise BenchError(f"strace {name}: exit {p.returncode}: {p.stderr[-500:]}")
    return strace_counts(out)


def traced_server(tmp, tool, server, n):
    """Runs `server` under strace or callgrind for one loadgen client doing
    exactly n round trips; returns the strace counts or the callgrind total."""
    tag = f"{tool}.{server}.{n}"
    if tool == "strace":
        out = os.path.join(tmp, tag)
        wrapper = ["strace", "-f", "-c", "-o", out]
    else:
        out = os.path.join(tmp, tag + ".%p")
        wrapper = ["valgrind", "--tool=callgrind", "-q", f"--callgrind-out-file={out}"]
    srv = Server(server, 1, wrapper=wrapper)
    try:
        run_result(pin(CLIENT_CPU, [prog("loadgen"), "--port", str(srv.port), "--clients", "1",
                                    "--count", str(n)]), 300)
        srv.wait(60)
    finally:
        srv.kill()
    if tool == "strace":
        return strace_counts(out)
    return callgrind_total(glob.glob(os.path.join(tmp, tag + ".*")))


def describe(c1, c2, n1, n2):
    keys = sorted(set(c1) | set(c2))
    parts = [f"{k} {per_rt(c1.get(k, 0), c2.get(k, 0), n1, n2):.2f}" for k in keys
             if c1.get(k, 0) != c2.get(k, 0)]
    return ", ".join(parts) or "none"


def row_syscalls(cfg, res):
    n1, n2 = cfg.count_n1, cfg.count_n2
    with tempfile.TemporaryDirectory() as tmp:
        log(f"syscalls_per_rt_blocking: strace -f -c of the whole TCP ping-pong program (both "
            f"ends), {n1} vs {n2} round trips; CPU 0")
        got = {}
        for name in ("pp_netkit", "pp_raw"):
            c1, c2 = strace_pp(tmp, name, n1), strace_pp(tmp, name, n2)
            got[name] = per_rt(sum(c1.values()), sum(c2.values()), n1, n2)
            log(f"    {name}: {got[name]:.2f} per round trip ({describe(c1, c2, n1, n2)})")
        res.add("syscalls_per_rt_blocking", got["pp_netkit"], "raw", got["pp_raw"],
                "syscalls/round trip (both ends)", ("==", None, "equal"))

        log(f"syscalls_per_rt_selector: strace -f -c of the echo server only, one loadgen client "
            f"doing {n1} vs {n2} round trips; server on CPU {SERVER_CPU}, client on CPU "
            f"{CLIENT_CPU}")
        got = {}
        for name in ("netkit_selector", "raw_epoll", "libuv"):
            c1 = traced_server(tmp, "strace", name, n1)
            c2 = traced_server(tmp, "strace", name, n2)
            got[name] = per_rt(sum(c1.values()), sum(c2.values()), n1, n2)
            log(f"    {name}: {got[name]:.2f} per round trip ({describe(c1, c2, n1, n2)})")
        for base in ("raw_epoll", "libuv"):
            res.add("syscalls_per_rt_selector", got["netkit_selector"], base.split("_")[0],
                    got[base], "syscalls/round trip (server)",
                    ("<=", 3, "value") if base == "raw_epoll" else None)


def row_instr(cfg, res):
    n1, n2 = cfg.count_n1, cfg.count_n2
    with tempfile.TemporaryDirectory() as tmp:
        log(f"instr_per_rt_blocking: callgrind, user-space instructions of the whole TCP "
            f"ping-pong program (both ends), {n1} vs {n2} round trips; CPU 0")
        got = {}
        for name in ("pp_netkit", "pp_raw"):
            totals = []
            for n in (n1, n2):
                out = os.path.join(tmp, f"cg.{name}.{n}")
                p = subprocess.run(pin(SERVER_CPU, ["valgrind", "--tool=callgrind", "-q",
                                                    f"--callgrind-out-file={out}.%p", prog(name),
                                                    "tcp", "--count", str(n)]),
                                   capture_output=True, text=True, timeout=300)
                if p.returncode != 0:
                    raise BenchError(f"callgrind {name}: exit {p.returncode}: {p.stderr[-500:]}")
                totals.append(callgrind_total(glob.glob(out + ".*")))
            got[name] = per_rt(totals[0], totals[1], n1, n2)
            log(f"    {name}: {got[name]:.1f} instructions per round trip")
        log(f"    netkit - raw: {got['pp_netkit'] - got['pp_raw']:+.1f} per round trip, "
            f"{(got['pp_netkit'] - got['pp_raw']) / 2:+.1f} per end (send + receive)")
        res.add("instr_per_rt_blocking", got["pp_netkit"], "raw", got["pp_raw"],
                "instructions/round trip (both ends)", ("<=", got["pp_raw"] + 100, "value"))

        log(f"instr_per_rt_selector: callgrind, user-space instructions of the echo server only, "
            f"one loadgen client doing {n1} vs {n2} round trips")
        got = {}
        for name in ("netkit_selector", "raw_epoll", "libuv"):
            t1 = traced_server(tmp, "callgrind", name, n1)
            t2 = traced_server(tmp, "callgrind", name, n2)
            got[name] = per_rt(t1, t2, n1, n2)
            log(f"    {name}: {got[name]:.1f} instructions per round trip")
        for base in ("raw_epoll", "libuv"):
            res.add("instr_per_rt_selector", got["netkit_selector"], base.split("_")[0],
                    got[base], "instructions/round trip (server)",
                    ("<=", 400, "value") if base == "raw_epoll" else None)


# ---- idle memory -------------------------------------------------------------

def idle_run(server, conns, workers):
    """Resident memory added per idle connection (VmRSS delta / conns), and
    the same for RssAnon, with conns clients held by `workers` loadgen
    processes on CPU 1."""
    srv = Server(server, conns, nofile=conns + 64)
    gens = []
    try:
        time.sleep(0.05)
        before = srv.rss()
        share = [conns // workers + (1 if i < conns % workers else 0) for i in range(workers)]
        for n in share:
            gens.append(subprocess.Popen(
                pin(CLIENT_CPU, [prog("loadgen"), "--port", str(srv.port), "--clients", str(n),
                                 "--idle"]),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        deadline = time.monotonic() + 120
        for g in gens:
            line = ""
            while not line.startswith("ready") and time.monotonic() < deadline:
                line = g.stdout.readline()
                if line == "" and g.poll() is not None:
                    raise BenchError(f"idle loadgen: exit {g.returncode}: {g.stderr.read()[-500:]}")
            if not line.startswith("ready"):
                raise BenchError("idle loadgen: not ready after 120 s")
        time.sleep(0.05)
        after = srv.rss()
        for g in gens:
            g.stdin.close()
        for g in gens:
            g.wait(60)
        srv.wait(60)
        return (after[0] - before[0]) / conns, (after[1] - before[1]) / conns
    finally:
        for g in gens:
            if g.poll() is None:
                g.kill()
                g.wait(10)
        srv.kill()


def row_idle(cfg, res):
    n = cfg.idle_conns
    log(f"idle_bytes_per_conn: {n:,} idle connections (each did one round trip) held by 4 "
        f"loadgen processes on CPU {CLIENT_CPU}; server on CPU {SERVER_CPU}; resident memory "
        f"(VmRSS) delta / {n:,}")
    impls = ("netkit_selector", "raw_epoll", "libuv")
    anon = {i: [] for i in impls}

    def measure(i):
        rss, ranon = idle_run(i, n, 4)
        anon[i].append(ranon)
        return rss

    values = interleave(cfg, impls, measure, check_cpu=False)  # exact: no CPU needed
    log("    RssAnon deltas (medians): " + ",  ".join(f"{i} {med(anon[i]):.1f}" for i in impls))
    for base in impls[1:]:
        res.add("idle_bytes_per_conn", med(values["netkit_selector"]), base.split("_")[0],
                med(values[base]), "bytes/connection (user space)",
                ("<=", 256, "value") if base == "raw_epoll" else None)


# ---- the Python binding -------------------------------------------------------

def row_python_binding(cfg, res):
    log("python_binding_rtps: bench/python_binding.py (python/netkit.py vs Python's socket, "
        "one TCP connection, 64-byte ping-pong, interleaved); both ends on CPU 0")
    argv = pin(SERVER_CPU, [PY, os.path.join(BENCH, "python_binding.py"), "--rounds",
                            str(cfg.pp_rounds), "--seconds", str(cfg.pp_seconds)])
    p = subprocess.run(argv, capture_output=True, text=True,
                       timeout=2 * cfg.pp_rounds * cfg.pp_seconds + 90)
    if p.returncode != 0:
        raise BenchError(f"python_binding.py: exit {p.returncode}: {p.stderr[-500:]}")
    for line in p.stdout.splitlines():
        if line.startswith("round"):
            log("    " + line)
    m = re.search(r"median: netkit ([0-9,]+) round trips/s, socket ([0-9,]+)", p.stdout)
    if not m:
        raise BenchError(f"python_binding.py said {p.stdout[-500:]!r}")
    nk, sock = (float(x.replace(",", "")) for x in m.groups())
    res.add("python_binding_rtps", nk, "python_socket", sock, "round trips/s")


# ---- report -----------------------------------------------------------------

def verdict(row):
    metric, nk, _, base, ratio, _, target = row
    if target is None:
        return ""
    op, limit, kind = target
    if kind == "equal":
        return "met" if abs(nk - base) < 0.005 else "MISSED"
    x = ratio if kind == "ratio" else nk
    ok = x >= limit if op == ">=" else x <= limit
    goal = f"{op} {fmt(limit)}" + (" x" if kind == "ratio" else "")
    return ("met " if ok else "MISSED ") + f"({goal})"


def write_report(res, out):
    with open(out, "w") as f:
        f.write("metric\tnetkit\tbaseline\tbaseline_value\tratio\tunit\n")
        for metric, nk, base_name, base, ratio, unit, _ in res.rows:
            f.write(f"{metric}\t{nk:.6g}\t{base_name}\t{base:.6g}\t{ratio:.4f}\t{unit}\n")
    head = ("metric", "netkit", "baseline", "value", "ratio", "unit", "target")
    table = [head] + [(r[0], fmt(r[1]), r[2], fmt(r[3]), f"{r[4]:.3f}", r[5], verdict(r))
                      for r in res.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    log()
    for k, row in enumerate(table):
        log("  ".join(c.ljust(w) if i in (0, 2, 5, 6) else c.rjust(w)
                      for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if k == 0:
            log("  ".join("-" * w for w in widths))
    log(f"\nwrote {os.path.relpath(out, ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="every row once, short durations")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 7; --quick 1)")
    ap.add_argument("--only", help="comma-separated rows: " + ",".join(ROWS))
    ap.add_argument("--out", default=os.path.join(BENCH, "results.tsv"))
    cfg = ap.parse_args()
    only = cfg.only.split(",") if cfg.only else list(ROWS)
    bad = [r for r in only if r not in ROWS]
    if bad:
        ap.error(f"unknown rows {bad}; rows are {', '.join(ROWS)}")
    if cfg.rounds is None:
        cfg.rounds = 1 if cfg.quick else 7
    if not 1 <= cfg.rounds <= 50:
        ap.error("--rounds must be 1..50")
    cfg.extra_rounds = 0 if cfg.quick else 4
    # The multi-client rows are the noisiest (a few percent between servers,
    # +-5-10% from round to round): twice the rounds.
    cfg.echo_rounds = cfg.rounds if cfg.quick else 2 * cfg.rounds
    # The single-connection rows too: more, shorter rounds pair better.
    cfg.pp_rounds = cfg.rounds if cfg.quick else 2 * cfg.rounds
    if cfg.quick:
        cfg.pp_seconds, cfg.echo_seconds, cfg.echo_warmup = 0.3, 0.5, 0.1
        cfg.count_n1, cfg.count_n2, cfg.idle_conns = 500, 1500, 10000
    else:
        cfg.pp_seconds, cfg.echo_seconds, cfg.echo_warmup = 0.75, 1.5, 0.3
        cfg.count_n1, cfg.count_n2, cfg.idle_conns = 2000, 6000, 10000
    missing = [p for p in ("pp_netkit", "pp_raw", "loadgen", "echo_nk_selector", "echo_raw_epoll",
                           "echo_uv", "echo_nk_threads", "echo_raw_threads")
               if not os.access(prog(p), os.X_OK)]
    if missing:
        sys.exit(f"run.py: not built: {', '.join(missing)} (run make bench-build)")
    for tool in ("taskset", "strace", "valgrind"):
        if shutil.which(tool) is None:
            sys.exit(f"run.py: {tool} is missing (make bench-deps installs it)")
    if os.cpu_count() is None or os.cpu_count() < 2:
        sys.exit("run.py: needs 2 CPUs (server on CPU 0, clients on CPU 1)")

    started = time.monotonic()
    log(f"netkit benchmarks ({'quick: every row once, short' if cfg.quick else 'full'}: "
        f"{cfg.rounds} interleaved round(s) per timed row, medians)")
    log(f"pinning: single-connection rows run both ends on CPU {SERVER_CPU} (taskset -c "
        f"{SERVER_CPU}); multi-client rows run the server on CPU {SERVER_CPU} and the clients on "
        f"CPU {CLIENT_CPU}")
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "lib", "include"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        log(f"netkit at commit {head or '?'}" + (" with uncommitted changes in lib/ or include/"
                                                 if dirty else ""))
    except (OSError, subprocess.TimeoutExpired):
        pass
    log(f"loadavg before: {open('/proc/loadavg').read().split()[:3]} (other work on the machine "
        f"moves the timed rows; the exact counts do not move)")
    res = Results()
    failed = []
    for row in only:
        t = time.monotonic()
        try:
            globals()["row_" + row](cfg, res)
        except (BenchError, subprocess.TimeoutExpired, OSError) as e:
            failed.append(row)
            log(f"  {row}: FAILED: {e}")
        log(f"  ({row}: {time.monotonic() - t:.1f} s)")
    write_report(res, cfg.out)
    log(f"total {time.monotonic() - started:.0f} s; loadavg after: "
        f"{open('/proc/loadavg').read().split()[:3]}")
    if failed:
        log(f"FAILED rows: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
