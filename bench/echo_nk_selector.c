/*
 * echo_nk_selector.c - netkit's selector echo server, as a user would write it
 * from the public API: one thread, nk_selector, non-blocking clients, one
 * 64 KiB receive buffer shared by every connection (as echo_raw_epoll.c),
 * nk_tcp_client_recv then nk_tcp_client_queue, which sends at once what the
 * socket takes and keeps the rest for select to send. The client handle is
 * the registration's data pointer, so a connection costs netkit's client and
 * selector slot and nothing of this program's.
 *
 *   echo_nk_selector [--clients N]
 *
 * Binds 127.0.0.1 port 0 and prints "port P". With --clients N it exits once
 * N connections came and left; without, it runs until a signal ends it.
 *
 * With --clients a watchdog (alarm, 600 s) ends the run whatever happens.
 */
#include <netkit.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSIZE 65536
#define WATCHDOG_S 600 /* with --clients: the longest a run may take */

static char buf[BUFSIZE];
static long accepted, open_conns;

static void fail(const char *what, int code)
{
    fprintf(stderr, "echo_nk_selector: %s: %s\n", what, nk_strerror(code));
    exit(1);
}

static void drop(nk_tcp_client *c)
{
    nk_tcp_client_close(c); /* also unregisters it */
    open_conns--;
}

static void on_acceptable(nk_selector *sel, nk_tcp_server *srv)
{
    for (;;) {
        nk_tcp_client *c;
        int rc = nk_tcp_server_accept(srv, &c, NULL, NK_NONBLOCK);
        if (rc < 0) {
            if (rc != -EAGAIN && rc != -ECONNABORTED)
                fprintf(stderr, "echo_nk_selector: accept: %s\n", nk_strerror(rc));
            return; /* EMFILE: the connection waits in the backlog */
        }
        accepted++;
        open_conns++;
        if (nk_tcp_client_settimeout(c, NK_NONBLOCK) < 0 || nk_tcp_client_set_nodelay(c, 1) < 0 ||
            nk_selector_register_client(sel, c, NK_EVENT_READ, c) < 0)
            drop(c);
    }
}

static void on_readable(nk_tcp_client *c)
{
    ssize_t n = nk_tcp_client_recv(c, buf, sizeof buf);
    if (n == -EAGAIN)
        return;
    if (n <= 0 || nk_tcp_client_queue(c, buf, (size_t)n) < 0)
        drop(c); /* the end, an error, or more than 64 KiB waiting */
}

int main(int argc, char **argv)
{
    long max_clients = 0;
    if (argc == 3 && strcmp(argv[1], "--clients") == 0)
        max_clients = atol(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: echo_nk_selector [--clients N]\n");
        return 2;
    }
    if (max_clients > 0)
        alarm(WATCHDOG_S); /* a benchmark run: it ends, whatever happens */
    nk_tcp_server *srv;
    nk_selector *sel;
    int rc = nk_tcp_server_open(&srv, "127.0.0.1", 0, NULL);
    if (rc < 0)
        fail("nk_tcp_server_open", rc);
    printf("port %d\n", nk_tcp_server_port(srv));
    fflush(stdout);
    if ((rc = nk_selector_open(&sel, NULL)) < 0 ||
        (rc = nk_selector_register_server(sel, srv, NK_EVENT_READ, NULL)) < 0)
        fail("nk_selector", rc);

    nk_event evs[64];
    while (max_clients == 0 || accepted < max_clients || open_conns > 0) {
        int n = nk_selector_select(sel, evs, 64, NK_BLOCK);
        if (n < 0)
            fail("nk_selector_select", n);
        for (int i = 0; i < n; i++) {
            if (evs[i].events == 0)
                continue; /* closed by an earlier event */
            if (evs[i].data == NULL)
                on_acceptable(sel, srv);
            else
                on_readable(evs[i].data);
        }
    }
    nk_selector_close(sel);
    nk_tcp_server_close(srv);
    return 0;
}
