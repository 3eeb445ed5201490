/*
 * pp_netkit.c - single-connection benchmarks written with netkit's public API,
 * the same shape as pp_raw.c (its baseline) line for line.
 *
 *   pp_netkit tcp   [--seconds S | --count N] [--size 64]   TCP ping-pong, round trips/s
 *   pp_netkit udp   [--seconds S | --count N] [--size 64]   UDP ping-pong, round trips/s
 *   pp_netkit bulk  [--seconds S] [--size 65536]            TCP bulk transfer, GB/s
 *   pp_netkit churn [--seconds S | --count N]               connect+accept+close per second
 *
 * One process: the server (or bound endpoint) is opened first on 127.0.0.1
 * port 0 (printed), then fork(): the child is the echo/sink/acceptor end, the
 * parent the client that measures. Every object blocks (NK_BLOCK, the
 * default); TCP_NODELAY on TCP. The options, sizes and loop are pp_raw.c's;
 * see there for --count, --seconds and the result line.
 */
#define _GNU_SOURCE
#include <netkit.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what, long code)
{
    fprintf(stderr, "pp_netkit: %s: %s\n", what, nk_strerror((int)code));
    exit(1);
}

struct opts {
    const char *mode;
    double seconds;
    long count; /* > 0: fixed number of iterations */
    size_t size;
};

/* As in pp_raw.c. */
#define RUN_LOOP(o, iters, elapsed, body)                                                          \
    do {                                                                                           \
        double t0_ = now(), end_ = t0_ + (o)->seconds;                                             \
        iters = 0;                                                                                 \
        if ((o)->count > 0) {                                                                      \
            for (; iters < (o)->count; iters++) {                                                  \
                body;                                                                              \
            }                                                                                      \
        } else {                                                                                   \
            for (;;) {                                                                             \
                for (int k_ = 0; k_ < 64; k_++, iters++) {                                         \
                    body;                                                                          \
                }                                                                                  \
                if (now() >= end_)                                                                 \
                    break;                                                                         \
            }                                                                                      \
        }                                                                                          \
        elapsed = now() - t0_;                                                                     \
    } while (0)

static int wait_child(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            perror("waitpid");
            exit(1);
        }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static nk_tcp_server *open_server(void)
{
    nk_tcp_server *srv;
    int rc = nk_tcp_server_open(&srv, "127.0.0.1", 0, NULL);
    if (rc < 0)
        fail("nk_tcp_server_open", rc);
    printf("port %d\n", nk_tcp_server_port(srv));
    fflush(stdout);
    return srv;
}

static nk_tcp_client *accept_one(nk_tcp_server *srv)
{
    nk_tcp_client *c;
    int rc = nk_tcp_server_accept(srv, &c, NULL, NK_BLOCK);
    if (rc < 0)
        fail("nk_tcp_server_accept", rc);
    return c;
}

static nk_tcp_client *connect_to(int port)
{
    nk_tcp_client *c;
    int rc = nk_tcp_connect(&c, "127.0.0.1", port, NK_BLOCK);
    if (rc < 0)
        fail("nk_tcp_connect", rc);
    return c;
}

/* ---- TCP ping-pong -------------------------------------------------------- */

static int run_tcp(const struct opts *o)
{
    nk_tcp_server *srv = open_server();
    int port = nk_tcp_server_port(srv);
    char *buf = calloc(1, o->size);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork", -errno);
    if (pid == 0) { /* the echo end */
        nk_tcp_client *c = accept_one(srv);
        nk_tcp_server_close(srv);
        nk_tcp_client_set_nodelay(c, 1);
        int rc;
        while (nk_tcp_client_recv_exact(c, buf, o->size) == (ssize_t)o->size)
            if ((rc = nk_tcp_client_sendall(c, buf, o->size, NULL)) < 0)
                fail("nk_tcp_client_sendall", rc);
        nk_tcp_client_close(c);
        _exit(0);
    }
    nk_tcp_server_close(srv);
    nk_tcp_client *c = connect_to(port);
    nk_tcp_client_set_nodelay(c, 1);
    memset(buf, 'x', o->size);
    long iters;
    double elapsed;
    RUN_LOOP(o, iters, elapsed, {
        int rc = nk_tcp_client_sendall(c, buf, o->size, NULL);
        if (rc < 0)
            fail("nk_tcp_client_sendall", rc);
        ssize_t n = nk_tcp_client_recv_exact(c, buf, o->size);
        if (n != (ssize_t)o->size)
            fail("nk_tcp_client_recv_exact", n < 0 ? n : -EPIPE);
    });
    nk_tcp_client_close(c);
    int rc = wait_child(pid);
    printf("result %.1f rt/s iterations=%ld seconds=%.6f\n", iters / elapsed, iters, elapsed);
    return rc;
}

/* ---- UDP ping-pong: a connected client, a recvfrom/sendto echo end -------- */

static int run_udp(const struct opts *o)
{
    nk_udp_endpoint *srv;
    int rc = nk_udp_open(&srv, "127.0.0.1", 0);
    if (rc < 0)
        fail("nk_udp_open", rc);
    int port = nk_udp_port(srv);
    printf("port %d\n", port);
    fflush(stdout);
    char *buf = calloc(1, o->size);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork", -errno);
    if (pid == 0) { /* the echo end: every datagram back to its sender */
        for (;;) {
            nk_addr from;
            ssize_t n = nk_udp_recvfrom(srv, buf, o->size, &from);
            if (n < 0)
                fail("nk_udp_recvfrom", n);
            if (n == 0)
                break; /* the empty datagram: stop */
            if ((n = nk_udp_sendto_addr(srv, buf, (size_t)n, &from)) < 0)
                fail("nk_udp_sendto_addr", n);
        }
        nk_udp_close(srv);
        _exit(0);
    }
    nk_udp_close(srv);
    nk_udp_endpoint *u;
    if ((rc = nk_udp_open(&u, "127.0.0.1", 0)) < 0 || (rc = nk_udp_connect(u, "127.0.0.1", port)) < 0)
        fail("udp connect", rc);
    memset(buf, 'x', o->size);
    long iters;
    double elapsed;
    RUN_LOOP(o, iters, elapsed, {
        ssize_t n = nk_udp_send(u, buf, o->size);
        if (n < 0)
            fail("nk_udp_send", n);
        if ((n = nk_udp_recv(u, buf, o->size)) != (ssize_t)o->size)
            fail("nk_udp_recv", n < 0 ? n : -EPIPE);
    });
    if ((rc = (int)nk_udp_send(u, buf, 0)) < 0)
        fail("nk_udp_send", rc);
    nk_udp_close(u);
    rc = wait_child(pid);
    printf("result %.1f rt/s iterations=%ld seconds=%.6f\n", iters / elapsed, iters, elapsed);
    return rc;
}

/* ---- TCP bulk: writes of size bytes until time, the sink counts ----------- */

static int run_bulk(const struct opts *o)
{
    nk_tcp_server *srv = open_server();
    int port = nk_tcp_server_port(srv);
    char *buf = calloc(1, o->size);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork", -errno);
    if (pid == 0) { /* the sink: reads until the end, then says how much */
        nk_tcp_client *c = accept_one(srv);
        nk_tcp_server_close(srv);
        uint64_t total = 0;
        for (;;) {
            ssize_t n = nk_tcp_client_recv(c, buf, o->size);
            if (n == 0)
                break;
            if (n < 0)
                fail("nk_tcp_client_recv", n);
            total += (uint64_t)n;
        }
        int rc = nk_tcp_client_sendall(c, &total, sizeof total, NULL);
        if (rc < 0)
            fail("nk_tcp_client_sendall", rc);
        nk_tcp_client_close(c);
        _exit(0);
    }
    nk_tcp_server_close(srv);
    nk_tcp_client *c = connect_to(port);
    memset(buf, 'x', o->size);
    long iters;
    double elapsed;
    double t0 = now();
    RUN_LOOP(o, iters, elapsed, {
        int rc = nk_tcp_client_sendall(c, buf, o->size, NULL);
        if (rc < 0)
            fail("nk_tcp_client_sendall", rc);
    });
    nk_tcp_client_shutdown(c, SHUT_WR);
    uint64_t total = 0;
    ssize_t n = nk_tcp_client_recv_exact(c, &total, sizeof total);
    if (n != (ssize_t)sizeof total)
        fail("recv total", n < 0 ? n : -EPIPE);
    elapsed = now() - t0; /* until the sink has every byte */
    nk_tcp_client_close(c);
    int rc = wait_child(pid);
    if (total != (uint64_t)iters * o->size) {
        fprintf(stderr, "pp_netkit: sent %ld x %zu bytes, the sink got %llu\n", iters, o->size,
                (unsigned long long)total);
        return 1;
    }
    printf("result %.4f GB/s iterations=%ld seconds=%.6f\n", total / elapsed / 1e9, iters,
           elapsed);
    return rc;
}

/* ---- churn: connect, accept, close; the client waits for the server's close */

static int run_churn(const struct opts *o)
{
    nk_tcp_server *srv = open_server();
    int port = nk_tcp_server_port(srv);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork", -errno);
    if (pid == 0) { /* the acceptor: accept and close, until killed */
        for (;;) {
            nk_tcp_client *c;
            int rc = nk_tcp_server_accept(srv, &c, NULL, NK_BLOCK);
            if (rc < 0)
                fail("nk_tcp_server_accept", rc);
            nk_tcp_client_close(c);
        }
    }
    nk_tcp_server_close(srv);
    nk_addr a;
    int rc = nk_addr_set(&a, "127.0.0.1", port);
    if (rc < 0)
        fail("nk_addr_set", rc);
    char ch;
    long iters;
    double elapsed;
    RUN_LOOP(o, iters, elapsed, {
        nk_tcp_client *c;
        if ((rc = nk_tcp_connect_addr(&c, &a, NK_BLOCK)) < 0)
            fail("nk_tcp_connect_addr", rc);
        ssize_t n = nk_tcp_client_recv(c, &ch, 1); /* the acceptor's close */
        if (n != 0)
            fail("nk_tcp_client_recv", n < 0 ? n : -EPROTO);
        nk_tcp_client_close(c);
    });
    kill(pid, SIGTERM);
    (void)wait_child(pid);
    printf("result %.1f conn/s iterations=%ld seconds=%.6f\n", iters / elapsed, iters, elapsed);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: pp_netkit tcp|udp|bulk|churn [--seconds S | --count N] [--size N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    struct opts o = {.mode = argv[1], .seconds = 1.0, .count = 0, .size = 0};
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--seconds") == 0)
            o.seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0)
            o.count = atol(argv[++i]);
        else if (strcmp(argv[i], "--size") == 0)
            o.size = (size_t)atol(argv[++i]);
        else
            usage();
    }
    int bulk = strcmp(o.mode, "bulk") == 0;
    if (o.size == 0)
        o.size = bulk ? 65536 : 64;
    if (o.seconds <= 0 || o.seconds > 600 || o.count < 0 || o.size > (1u << 24))
        usage();
    alarm((unsigned)o.seconds + 60 + (unsigned)(o.count / 1000)); /* watchdog */
    if (strcmp(o.mode, "tcp") == 0)
        return run_tcp(&o);
    if (strcmp(o.mode, "udp") == 0)
        return run_udp(&o);
    if (bulk)
        return run_bulk(&o);
    if (strcmp(o.mode, "churn") == 0)
        return run_churn(&o);
    usage();
    return 2;
}
