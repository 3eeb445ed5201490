/*
 * loadgen.c - the one load generator of the multi-client rows: raw sockets
 * and epoll on one thread, the same for every server, so that only the server
 * differs between runs.
 *
 *   loadgen --port P --clients C [--size 64] --seconds S [--warmup W]
 *       C connections to 127.0.0.1:P (TCP_NODELAY), each doing ping-pong: one
 *       message of --size bytes out, the whole echo back, the next message.
 *       After W seconds of warm-up it counts the round trips completed in S
 *       seconds and prints "result RATE rt/s rts=N seconds=T total=M" (M
 *       counts the warm-up too).
 *   loadgen --port P --clients C --count N
 *       The same until exactly N round trips in all were done (no clock), for
 *       the exact counts of strace and callgrind; C = 1 makes every round trip
 *       one message in, one out.
 *   loadgen --port P --clients C --idle
 *       Connects C clients, has each do one round trip (so the server has
 *       accepted and served every one), prints "ready", then holds the
 *       connections, idle, until its standard input ends.
 *
 * Every connection is closed at the end, so a server run with --clients
 * exits by itself. A watchdog (alarm) ends any run that takes 120 s more than
 * asked; a server that closes a connection early is an error (exit 1).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port P --clients C [--size N] "
                    "(--seconds S [--warmup W] | --count N | --idle)\n");
    exit(2);
}

struct conn {
    int fd;
    unsigned got; /* bytes of the current echo received */
};

static struct conn *conns;
static int nconns, epfd;
static size_t size;
static char *msg, *rbuf;

static void raise_nofile(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("getrlimit");
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < need) {
            fprintf(stderr, "loadgen: needs %ld fds, the hard limit is %ld\n", need,
                    (long)rl.rlim_max);
            exit(1);
        }
        rl.rlim_cur = (rlim_t)need;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            die("setrlimit");
    }
}

static void connect_all(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < nconns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
        if (fd < 0)
            die("socket");
        while (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
            if (errno != EINTR)
                die("connect");
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
            die("setsockopt");
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
        conns[i].fd = fd;
        conns[i].got = 0;
    }
}

/* One message out (the socket buffer always has room for it: one is in
 * flight per connection). */
static void send_msg(struct conn *c)
{
    ssize_t n;
    while ((n = send(c->fd, msg, size, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)size)
        die("send");
}

/* Reads what a readable connection has; returns 1 when its echo is complete. */
static int on_readable(struct conn *c)
{
    ssize_t n = recv(c->fd, rbuf, size - c->got, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        die("recv");
    }
    if (n == 0) {
        fprintf(stderr, "loadgen: the server closed a connection\n");
        exit(1);
    }
    c->got += (unsigned)n;
    if (c->got < size)
        return 0;
    c->got = 0;
    return 1;
}

int main(int argc, char **argv)
{
    int port = -1, idle = 0;
    long count = 0;
    double seconds = 0, warmup = 0.2;
    nconns = 1;
    size = 64;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--idle") == 0) {
            idle = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(o, "--port") == 0)
            port = atoi(v);
        else if (strcmp(o, "--clients") == 0)
            nconns = atoi(v);
        else if (strcmp(o, "--size") == 0)
            size = (size_t)atol(v);
        else if (strcmp(o, "--seconds") == 0)
            seconds = atof(v);
        else if (strcmp(o, "--warmup") == 0)
            warmup = atof(v);
        else if (strcmp(o, "--count") == 0)
            count = atol(v);
        else
            usage();
    }
    if (port <= 0 || port > 65535 || nconns < 1 || nconns > 100000 || size < 1 || size > 65536 ||
        warmup < 0 || seconds > 600 || (!idle && (seconds > 0) == (count > 0)))
        usage();
    alarm((unsigned)(seconds + warmup) + 120); /* watchdog */
    raise_nofile(nconns + 16L);
    conns = calloc((size_t)nconns, sizeof *conns);
    msg = malloc(size);
    rbuf = malloc(size);
    if (conns == NULL || msg == NULL || rbuf == NULL)
        die("malloc");
    memset(msg, 'x', size);
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    connect_all(port);

    struct epoll_event evs[256];
    long done = 0, sent = 0, c0 = 0;
    long target = idle ? nconns : count; /* round trips to do; 0: until time */
    double t0 = 0, warm_end = now() + warmup, end = 0;
    int measuring = 0;
    for (int i = 0; i < nconns && (target == 0 || sent < target); i++, sent++)
        send_msg(&conns[i]);
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, 1000);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[evs[k].data.u32];
            if (!on_readable(c))
                continue;
            done++;
            if (idle) {
                /* one round trip each: stop watching it */
                if (epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
                    die("epoll_ctl");
            } else if (target == 0 || sent < target) {
                send_msg(c);
                sent++;
            }
        }
        if (target > 0) {
            if (done >= target)
                break;
            continue;
        }
        double t = now();
        if (!measuring && t >= warm_end) {
            measuring = 1;
            c0 = done;
            t0 = t;
            end = t0 + seconds;
        } else if (measuring && t >= end) {
            printf("result %.1f rt/s rts=%ld seconds=%.6f total=%ld\n", (done - c0) / (t - t0),
                   done - c0, t - t0, done);
            break;
        }
    }
    if (idle) {
        printf("ready %d\n", nconns);
        fflush(stdout);
        char b[64];
        while (read(0, b, sizeof b) > 0)
            ; /* until the driver closes our stdin */
    } else if (target > 0) {
        printf("result %ld rts\n", done);
    }
    fflush(stdout);
    for (int i = 0; i < nconns; i++)
        close(conns[i].fd);
    return 0;
}
