#!/usr/bin/env python3
"""errors.py - provokes each kind of socket error and prints it as Python does (demo D7).

Seed 001's error handling, on netkit:

    try:
        server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server_socket.bind(('localhost', 65432))
        server_socket.listen(1)
    except socket.error as e:
        print('Socket error: {}'.format(e))
    except Exception as e:
        print('Other error: {}'.format(e))

netkit raises the standard library's own exceptions, so the seed's except
clauses work unchanged. socket.timeout, socket.gaierror and socket.herror are
subclasses of socket.error (OSError), so their clauses come first here. Each
scenario prints the seed's line, then which call raised which class. With no
scenario flag every scenario runs in turn; all stay on loopback. The same
command line as examples/errors.c.
"""
import os
import sys

sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import netkit  # noqa: E402

import argparse  # noqa: E402
import socket  # noqa: E402  (the exception classes the seed catches)


# Each scenario names the call that fails (note) and then makes it fail.

def bind_in_use(opt, note):
    with netkit.create_server((opt.host, opt.port)) as first:
        port = first.getsockname()[1]
        note(f"bind(('{opt.host}', {port}))")
        netkit.create_server((opt.host, port)).close()  # the same port again


def refused(opt, note):
    with netkit.create_server((opt.host, 0)) as probe:  # a port nobody listens on after this
        port = probe.getsockname()[1]
    note(f"connect(('{opt.host}', {port}))")
    netkit.create_connection((opt.host, port)).close()


def timed_out(opt, note):
    with netkit.create_server((opt.host, 0)) as server:
        with netkit.create_connection(server.getsockname()[:2]) as client:
            client.settimeout(opt.timeout_ms / 1000)
            note(f"recv(1024) after settimeout({opt.timeout_ms / 1000:g})")
            client.recv(1024)  # the server never sends


def gai(opt, note):
    # A UDP bind: socket.create_server (and so netkit's) reports a failed
    # bind as a plain OSError, where socket.bind raises the gaierror itself.
    note(f"bind(('{opt.bad_host}', {opt.port}))")
    netkit.UdpEndpoint((opt.bad_host, opt.port)).close()


def host(opt, note):
    note(f"gethostbyaddr('{opt.unknown_addr}')")
    netkit.gethostbyaddr(opt.unknown_addr)


def bad_port(opt, note):
    note(f"bind(('{opt.host}', 70000))")
    netkit.create_server((opt.host, 70000)).close()


SCENARIOS = [("bind-in-use", bind_in_use), ("refused", refused), ("timeout", timed_out),
             ("gaierror", gai), ("herror", host), ("bad-port", bad_port)]


def describe(e):
    """Which class, with its code: "ConnectionRefusedError (socket.error): errno 111"."""
    if isinstance(e, socket.timeout):
        return f"{type(e).__name__} (socket.timeout)"
    if isinstance(e, socket.gaierror):
        return f"socket.gaierror: EAI code {e.errno}"
    if isinstance(e, socket.herror):
        return f"socket.herror: h_errno {e.errno}"
    if isinstance(e, OSError):
        return f"{type(e).__name__} (socket.error): errno {e.errno}"
    return type(e).__name__


def run(name, scenario, opt):
    """Runs one scenario; returns 0 when its call raised, as it should."""
    calls = []
    try:
        scenario(opt, calls.append)
    except socket.timeout as e:
        print('Socket timeout: {}'.format(e))
        raised = e
    except socket.gaierror as e:
        print('Address-resolution error: {}'.format(e))
        raised = e
    except socket.herror as e:
        print('Host error: {}'.format(e))
        raised = e
    except socket.error as e:
        if not calls:  # the scenario's setup failed, not its call
            raise
        print('Socket error: {}'.format(e))
        raised = e
    except Exception as e:
        print('Other error: {}'.format(e))
        raised = e
    else:
        print(f"errors: --{name}: {calls[-1]} raised nothing", file=sys.stderr)
        return 1
    print(f"  {calls[-1] if calls else name} raised {describe(raised)}")
    return 0


def main():
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(prog="errors", description="Provokes each kind of socket error "
                                "and prints it the way the seed's try/except does.")
    p.add_argument("--host", default="localhost", help="the local host to use (default localhost)")
    p.add_argument("--port", type=int, default=65432,
                   help="the port for bind-in-use and gaierror (default 65432, 0: ephemeral)")
    p.add_argument("--timeout-ms", type=int, default=200, help="the recv timeout (default 200)")
    p.add_argument("--bad-host", default="nosuchhost.invalid", help="a name that does not resolve")
    p.add_argument("--unknown-addr", default="127.0.0.77", help="an address with no name")
    for name, _ in SCENARIOS:
        p.add_argument(f"--{name}", action="append_const", dest="only", const=name,
                       help=f"run the {name} scenario only (may be repeated)")
    opt = p.parse_args()
    status = 0
    for name, scenario in SCENARIOS:
        if opt.only is None or name in opt.only:
            try:
                status |= run(name, scenario, opt)
            except OSError as e:  # the setup itself failed
                print(f"errors: --{name}: {e}", file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
