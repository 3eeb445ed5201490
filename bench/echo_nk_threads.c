/*
 * echo_nk_threads.c - netkit's thread-per-client echo server:
 * nk_tcp_server_serve in NK_SERVE_THREADS mode runs the handler in one thread
 * per connection; the handler has a 64 KiB buffer on its stack and does
 * blocking nk_tcp_client_recv then nk_tcp_client_sendall until the peer
 * closes, as echo_raw_threads.c does with raw sockets.
 *
 *   echo_nk_threads [--clients N]
 *
 * Binds 127.0.0.1 port 0 and prints "port P". With --clients N serve returns
 * once N connections were served and their handlers are done; without, it
 * runs until a signal ends it.
 *
 * With --clients a watchdog (alarm, 600 s) ends the run whatever happens.
 */
#include <netkit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSIZE 65536
#define WATCHDOG_S 600 /* with --clients: the longest a run may take */

static void handle(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    (void)peer;
    (void)arg;
    char buf[BUFSIZE];
    nk_tcp_client_set_nodelay(c, 1);
    for (;;) {
        ssize_t n = nk_tcp_client_recv(c, buf, sizeof buf);
        if (n <= 0 || nk_tcp_client_sendall(c, buf, (size_t)n, NULL) < 0)
            return; /* serve closes the client */
    }
}

int main(int argc, char **argv)
{
    nk_serve_opts opts = {.mode = NK_SERVE_THREADS, .max_clients = 0};
    if (argc == 3 && strcmp(argv[1], "--clients") == 0)
        opts.max_clients = atol(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: echo_nk_threads [--clients N]\n");
        return 2;
    }
    if (opts.max_clients > 0)
        alarm(WATCHDOG_S); /* a benchmark run: it ends, whatever happens */
    nk_tcp_server *srv;
    int rc = nk_tcp_server_open(&srv, "127.0.0.1", 0, NULL);
    if (rc == 0) {
        printf("port %d\n", nk_tcp_server_port(srv));
        fflush(stdout);
        rc = nk_tcp_server_serve(srv, handle, NULL, &opts);
    }
    nk_tcp_server_close(srv);
    if (rc < 0) {
        fprintf(stderr, "echo_nk_threads: %s\n", nk_strerror(rc));
        return 1;
    }
    return 0;
}
