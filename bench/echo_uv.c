/*
 * echo_uv.c - the libuv echo server of the selector rows, written as a fair,
 * performance-minded libuv user would: one loop, uv_read_start with an
 * alloc callback that hands out one static 64 KiB buffer shared by every
 * connection (no malloc per read: libuv reads into it and the data is
 * consumed before the callback returns), uv_try_write to send straight from
 * it, and a uv_write of a copy only for the bytes the socket did not take.
 *
 *   echo_uv [--clients N]
 *
 * Binds 127.0.0.1 port 0 and prints "port P". With --clients N it exits once
 * N connections came and left; without, it runs until a signal ends it.
 *
 * With --clients a watchdog (alarm, 600 s) ends the run whatever happens.
 */
#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSIZE 65536
#define WATCHDOG_S 600 /* with --clients: the longest a run may take */

static char buf[BUFSIZE];
static uv_tcp_t server;
static long max_clients, accepted, open_conns;

struct wreq {
    uv_write_t req;
    char data[]; /* the bytes the socket did not take at once */
};

static void on_closed(uv_handle_t *h)
{
    free(h);
    open_conns--;
    if (max_clients > 0 && accepted >= max_clients && open_conns == 0)
        uv_close((uv_handle_t *)&server, NULL); /* the loop ends */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    *b = uv_buf_init(buf, sizeof buf);
}

static void on_written(uv_write_t *req, int status)
{
    if (status < 0 && !uv_is_closing((uv_handle_t *)req->handle))
        uv_close((uv_handle_t *)req->handle, on_closed);
    free(req);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    if (nread < 0) { /* UV_EOF or an error */
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    if (nread == 0)
        return;
    uv_buf_t out = uv_buf_init(b->base, (unsigned)nread);
    int n = uv_try_write(s, &out, 1);
    if (n == UV_EAGAIN)
        n = 0;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    if (n < nread) { /* keep the rest, in order behind earlier writes */
        size_t left = (size_t)nread - (size_t)n;
        struct wreq *w = malloc(sizeof *w + left);
        if (w == NULL) {
            uv_close((uv_handle_t *)s, on_closed);
            return;
        }
        memcpy(w->data, b->base + n, left);
        uv_buf_t rest = uv_buf_init(w->data, (unsigned)left);
        if (uv_write(&w->req, s, &rest, 1, on_written) < 0) {
            free(w);
            uv_close((uv_handle_t *)s, on_closed);
        }
    }
}

static void on_connection(uv_stream_t *srv, int status)
{
    if (status < 0) {
        fprintf(stderr, "echo_uv: %s\n", uv_strerror(status));
        return;
    }
    uv_tcp_t *c = malloc(sizeof *c);
    if (c == NULL)
        return;
    uv_tcp_init(srv->loop, c);
    if (uv_accept(srv, (uv_stream_t *)c) < 0) {
        uv_close((uv_handle_t *)c, (uv_close_cb)free);
        return;
    }
    accepted++;
    open_conns++;
    uv_tcp_nodelay(c, 1);
    if (uv_read_start((uv_stream_t *)c, on_alloc, on_read) < 0)
        uv_close((uv_handle_t *)c, on_closed);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--clients") == 0)
        max_clients = atol(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: echo_uv [--clients N]\n");
        return 2;
    }
    if (max_clients > 0)
        alarm(WATCHDOG_S); /* a benchmark run: it ends, whatever happens */
    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_in a;
    struct sockaddr_storage bound;
    int blen = sizeof bound, rc;
    uv_ip4_addr("127.0.0.1", 0, &a);
    if ((rc = uv_tcp_init(loop, &server)) < 0 ||
        (rc = uv_tcp_bind(&server, (struct sockaddr *)&a, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection)) < 0 ||
        (rc = uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &blen)) < 0) {
        fprintf(stderr, "echo_uv: %s\n", uv_strerror(rc));
        return 1;
    }
    printf("port %d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
    fflush(stdout);
    rc = uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return rc < 0 ? 1 : 0;
}
