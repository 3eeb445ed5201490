/*
 * pp_raw.c - single-connection benchmarks written with raw BSD sockets: the
 * baseline for pp_netkit.c, which has the same shape line for line.
 *
 *   pp_raw tcp   [--seconds S | --count N] [--size 64]   TCP ping-pong, round trips/s
 *   pp_raw udp   [--seconds S | --count N] [--size 64]   UDP ping-pong, round trips/s
 *   pp_raw bulk  [--seconds S] [--size 65536]            TCP bulk transfer, GB/s
 *   pp_raw churn [--seconds S | --count N]               connect+accept+close per second
 *
 * One process: the listening (or bound) socket is made first on 127.0.0.1
 * port 0 (printed), then fork(): the child is the echo/sink/acceptor end, the
 * parent the client that measures. Both ends block (TCP_NODELAY on TCP). Pin
 * the whole program with taskset to put both ends on one CPU. --count runs a
 * fixed number of iterations without reading the clock (for strace and
 * callgrind); --seconds runs for a time, reading the clock every 64
 * iterations. The last line is "result VALUE UNIT iterations=N seconds=T".
 * A watchdog (alarm) ends any run that takes 60 s more than asked.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* socket + bind 127.0.0.1:0 (+ listen for TCP); returns the fd, *port the port. */
static int open_local(int type, int *port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        die("socket");
    if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die("setsockopt");
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
        die("listen");
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        die("getsockname");
    *port = ntohs(a.sin_port);
    return fd;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in a = loopback(port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    return fd;
}

static void nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        die("setsockopt TCP_NODELAY");
}

/* All len bytes, or exit. */
static void send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("send");
        }
        p += n;
        len -= (size_t)n;
    }
}

/* Exactly len bytes; returns fewer only at end of stream. */
static size_t recv_exact(int fd, char *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, p + got, len - got, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("recv");
        }
        got += (size_t)n;
    }
    return got;
}

struct opts {
    const char *mode;
    double seconds;
    long count; /* > 0: fixed number of iterations */
    size_t size;
};

/* The iteration loop shared by every mode: body() once per iteration, the
 * clock read every 64 iterations in timed mode. Returns iterations done. */
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
        if (errno != EINTR)
            die("waitpid");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- TCP ping-pong -------------------------------------------------------- */

static int run_tcp(const struct opts *o)
{
    int port, lfd = open_local(SOCK_STREAM, &port);
    printf("port %d\n", port);
    fflush(stdout);
    char *buf = calloc(1, o->size);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) { /* the echo end */
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            die("accept4");
        close(lfd);
        nodelay(fd);
        while (recv_exact(fd, buf, o->size) == o->size)
            send_all(fd, buf, o->size);
        close(fd);
        _exit(0);
    }
    close(lfd);
    int fd = tcp_connect(port);
    nodelay(fd);
    memset(buf, 'x', o->size);
    long iters;
    double elapsed;
    RUN_LOOP(o, iters, elapsed, {
        send_all(fd, buf, o->size);
        if (recv_exact(fd, buf, o->size) != o->size) {
            fprintf(stderr, "pp_raw: the echo end closed\n");
            exit(1);
        }
    });
    close(fd);
    int rc = wait_child(pid);
    printf("result %.1f rt/s iterations=%ld seconds=%.6f\n", iters / elapsed, iters, elapsed);
    return rc;
}

/* ---- UDP ping-pong: a connected client, a recvfrom/sendto echo end -------- */

static int run_udp(const struct opts *o)
{
    int port, sfd = open_local(SOCK_DGRAM, &port);
    printf("port %d\n", port);
    fflush(stdout);
    char *buf = calloc(1, o->size);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) { /* the echo end: every datagram back to its sender */
        for (;;) {
            struct sockaddr_storage from;
            socklen_t flen = sizeof from;
            ssize_t n = recvfrom(sfd, buf, o->size, 0, (struct sockaddr *)&from, &flen);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                die("recvfrom");
            }
            if (n == 0)
                break; /* the empty datagram: stop */
            if (sendto(sfd, buf, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&from, flen) < 0)
                die("sendto");
        }
        close(sfd);
        _exit(0);
    }
    close(sfd);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(port);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("udp connect");
    memset(buf, 'x', o->size);
    long iters;
    double elapsed;
    RUN_LOOP(o, iters, elapsed, {
        if (send(fd, buf, o->size, MSG_NOSIGNAL) < 0)
            die("send");
        ssize_t n;
        while ((n = recv(fd, buf, o->size, 0)) < 0 && errno == EINTR)
            ;
        if (n != (ssize_t)o->size)
            die("recv");
    });
    if (send(fd, buf, 0, MSG_NOSIGNAL) < 0)
        die("send");
    close(fd);
    int rc = wait_child(pid);
    printf("result %.1f rt/s iterations=%ld seconds=%.6f\n", iters / elapsed, iters, elapsed);
    return rc;
}

/* ---- TCP bulk: writes of size bytes until time, the sink counts ----------- */

static int run_bulk(const struct opts *o)
{
    int port, lfd = open_local(SOCK_STREAM, &port);
    printf("port %d\n", port);
    fflush(stdout);
    char *buf = calloc(1, o->size);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) { /* the sink: reads until the end, then says how much */
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            die("accept4");
        close(lfd);
        uint64_t total = 0;
        for (;;) {
            ssize_t n = recv(fd, buf, o->size, 0);
            if (n == 0)
                break;
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                die("recv");
            }
            total += (uint64_t)n;
        }
        send_all(fd, (char *)&total, sizeof total);
        close(fd);
        _exit(0);
    }
    close(lfd);
    int fd = tcp_connect(port);
    memset(buf, 'x', o->size);
    long iters;
    double elapsed;
    double t0 = now();
    RUN_LOOP(o, iters, elapsed, send_all(fd, buf, o->size));
    shutdown(fd, SHUT_WR);
    uint64_t total = 0;
    if (recv_exact(fd, (char *)&total, sizeof total) != sizeof total)
        die("recv total");
    elapsed = now() - t0; /* until the sink has every byte */
    close(fd);
    int rc = wait_child(pid);
    if (total != (uint64_t)iters * o->size) {
        fprintf(stderr, "pp_raw: sent %ld x %zu bytes, the sink got %llu\n", iters, o->size,
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
    int port, lfd = open_local(SOCK_STREAM, &port);
    printf("port %d\n", port);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) { /* the acceptor: accept and close, until killed */
        for (;;) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                die("accept4");
            }
            close(fd);
        }
    }
    close(lfd);
    struct sockaddr_in a = loopback(port);
    char c;
    long iters;
    double elapsed;
    RUN_LOOP(o, iters, elapsed, {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
            die("connect");
        if (recv(fd, &c, 1, 0) != 0) /* the acceptor's close */
            die("recv");
        close(fd);
    });
    kill(pid, SIGTERM);
    (void)wait_child(pid);
    printf("result %.1f conn/s iterations=%ld seconds=%.6f\n", iters / elapsed, iters, elapsed);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: pp_raw tcp|udp|bulk|churn [--seconds S | --count N] [--size N]\n");
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
    signal(SIGPIPE, SIG_IGN);
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
