/*
 * outside.c - a program outside the source tree, built against an installed
 * netkit through pkg-config: one TCP round trip over 127.0.0.1.
 */
#include <stdio.h>
#include <string.h>

#include <netkit.h>

static int fail(const char *call, long rc)
{
    fprintf(stderr, "outside: %s failed: %s (%s)\n", call, nk_strerror((int)rc),
            nk_error_name((int)rc));
    return 1;
}

int main(void)
{
    static const char msg[] = "hello from outside the tree";
    char buf[sizeof msg];
    nk_tcp_server *s = NULL;
    nk_tcp_client *c = NULL, *peer = NULL;
    int port, status = 1;
    long rc;

    /* Listen on an ephemeral loopback port. */
    if ((rc = nk_tcp_server_open(&s, "127.0.0.1", 0, NULL)) < 0) {
        fail("nk_tcp_server_open", rc);
        goto out;
    }
    port = nk_tcp_server_port(s);
    if (port < 0) {
        fail("nk_tcp_server_port", port);
        goto out;
    }
    /* A loopback connect completes through the backlog before accept. */
    if ((rc = nk_tcp_connect(&c, "127.0.0.1", port, 5000)) < 0) {
        fail("nk_tcp_connect", rc);
        goto out;
    }
    if ((rc = nk_tcp_server_accept(s, &peer, NULL, 5000)) < 0) {
        fail("nk_tcp_server_accept", rc);
        goto out;
    }
    /* Send from the client, read it back on the accepted side, compare. */
    if ((rc = nk_tcp_client_sendall(c, msg, sizeof msg, NULL)) < 0) {
        fail("nk_tcp_client_sendall", rc);
        goto out;
    }
    if ((rc = nk_tcp_client_recv_exact(peer, buf, sizeof buf)) < 0) {
        fail("nk_tcp_client_recv_exact", rc);
        goto out;
    }
    if ((size_t)rc != sizeof msg || memcmp(buf, msg, sizeof msg) != 0) {
        fprintf(stderr, "outside: received %ld bytes that differ from the %zu sent\n", rc,
                sizeof msg);
        goto out;
    }
    printf("outside: round trip ok\n");
    status = 0;
out:
    nk_tcp_client_close(peer);
    nk_tcp_client_close(c);
    nk_tcp_server_close(s);
    return status;
}
