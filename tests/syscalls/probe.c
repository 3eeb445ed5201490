/*
 * probe.c - N ping-pong round trips through netkit on loopback, for
 * tests/syscalls/run.sh, which counts the syscalls with strace -c.
 * Usage: probe N [timeout_ms]   (no timeout argument: blocking objects)
 */
#include <netkit.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, long rc)
{
    fprintf(stderr, "probe: %s: %s\n", what, nk_strerror((int)rc));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "usage: probe N [timeout_ms]\n"), 2;
    long n = strtol(argv[1], NULL, 10);
    int timeout = argc > 2 ? (int)strtol(argv[2], NULL, 10) : NK_BLOCK;
    nk_tcp_server *srv;
    nk_tcp_client *cli, *peer;
    long rc;
    if ((rc = nk_tcp_server_open(&srv, "127.0.0.1", 0, NULL)) < 0)
        return fail("open", rc);
    if ((rc = nk_tcp_connect(&cli, "127.0.0.1", nk_tcp_server_port(srv), timeout)) < 0)
        return fail("connect", rc);
    if ((rc = nk_tcp_server_accept(srv, &peer, NULL, 5000)) < 0)
        return fail("accept", rc);
    if ((rc = nk_tcp_client_settimeout(peer, timeout)) < 0)
        return fail("settimeout", rc);
    char msg[64] = "ping", buf[64];
    for (long i = 0; i < n; i++) {
        /* Each call below must be exactly one send or recv syscall. */
        if ((rc = nk_tcp_client_send(cli, msg, sizeof msg)) != (long)sizeof msg)
            return fail("send", rc);
        if ((rc = nk_tcp_client_recv_exact(peer, buf, sizeof buf)) != (long)sizeof buf)
            return fail("recv_exact", rc);
        if ((rc = nk_tcp_client_sendall(peer, buf, sizeof buf, NULL)) != 0)
            return fail("sendall", rc);
        if ((rc = nk_tcp_client_recv(cli, buf, sizeof buf)) != (long)sizeof buf)
            return fail("recv", rc);
    }
    nk_tcp_client_close(cli);
    nk_tcp_client_close(peer);
    nk_tcp_server_close(srv);
    return 0;
}
