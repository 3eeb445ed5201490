/*
 * echo_raw_epoll.c - the baseline echo server of the selector rows, written
 * with raw BSD sockets and epoll(7) the way a competent C programmer would:
 * one thread, level-triggered epoll, non-blocking sockets from accept4, one
 * 64 KiB receive buffer shared by every connection, recv then send straight
 * from it. Bytes the socket does not take are kept per connection (malloc'd
 * only then) and sent on EPOLLOUT; meanwhile new input is appended behind
 * them, so the stream stays in order.
 *
 *   echo_raw_epoll [--clients N]
 *
 * Binds 127.0.0.1 port 0 and prints "port P". With --clients N it exits once
 * N connections came and left (the load generator closes its own at the end);
 * without, it runs until a signal ends it.
 *
 * With --clients a watchdog (alarm, 600 s) ends the run whatever happens.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSIZE 65536
#define WATCHDOG_S 600 /* with --clients: the longest a run may take */

/* Output waiting for a connection; fd-indexed, all zero while nothing waits. */
struct pending {
    char *buf;
    size_t off, len;
};

static struct pending *pend;
static size_t npend;
static int epfd;
static long accepted, open_conns;
static char buf[BUFSIZE];

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void drop(int fd)
{
    if ((size_t)fd < npend) {
        free(pend[fd].buf);
        memset(&pend[fd], 0, sizeof pend[fd]);
    }
    close(fd); /* also leaves the epoll set */
    open_conns--;
}

/* Keeps bytes that must wait; switches the fd to EPOLLIN|EPOLLOUT when it
 * starts waiting. Returns -1 on failure. */
static int keep(int fd, const char *p, size_t n)
{
    if ((size_t)fd >= npend) {
        size_t cap = npend ? npend : 1024;
        while (cap <= (size_t)fd)
            cap *= 2;
        struct pending *t = realloc(pend, cap * sizeof *t);
        if (t == NULL)
            return -1;
        memset(t + npend, 0, (cap - npend) * sizeof *t);
        pend = t;
        npend = cap;
    }
    struct pending *q = &pend[fd];
    int was_empty = q->len == q->off;
    char *b = realloc(q->buf, q->len + n);
    if (b == NULL)
        return -1;
    memcpy(b + q->len, p, n);
    q->buf = b;
    q->len += n;
    if (was_empty) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
            return -1;
    }
    return 0;
}

/* Sends what waits; back to EPOLLIN alone when it is all gone. */
static int flush(int fd)
{
    struct pending *q = &pend[fd];
    while (q->off < q->len) {
        ssize_t n = send(fd, q->buf + q->off, q->len - q->off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        q->off += (size_t)n;
    }
    free(q->buf);
    memset(q, 0, sizeof *q);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

static void on_readable(int fd)
{
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop(fd);
        return;
    }
    if ((size_t)fd < npend && pend[fd].buf != NULL) { /* behind what waits */
        if (keep(fd, buf, (size_t)n) < 0)
            drop(fd);
        return;
    }
    ssize_t s = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
    if (s < 0) {
        if (errno != EAGAIN) {
            drop(fd);
            return;
        }
        s = 0;
    }
    if (s < n && keep(fd, buf + s, (size_t)(n - s)) < 0)
        drop(fd);
}

static void on_acceptable(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                return;
            perror("accept4"); /* EMFILE: the connection waits in the backlog */
            return;
        }
        accepted++;
        open_conns++;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
            epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            drop(fd);
    }
}

int main(int argc, char **argv)
{
    long max_clients = 0;
    if (argc == 3 && strcmp(argv[1], "--clients") == 0)
        max_clients = atol(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: echo_raw_epoll [--clients N]\n");
        return 2;
    }
    if (max_clients > 0)
        alarm(WATCHDOG_S); /* a benchmark run: it ends, whatever happens */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, SOMAXCONN) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
        die("listen");
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0)
        die("epoll_ctl");

    struct epoll_event evs[64];
    while (max_clients == 0 || accepted < max_clients || open_conns > 0) {
        int n = epoll_wait(epfd, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                on_acceptable(lfd);
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && (size_t)fd < npend && pend[fd].buf != NULL &&
                flush(fd) < 0) {
                drop(fd);
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(fd);
        }
    }
    close(lfd);
    return 0;
}
