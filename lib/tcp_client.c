/*
 * tcp_client.c - nk_tcp_client: connect over every resolved address, send,
 * sendall, recv, recv_exact, buffered recv_line, socket options.
 *
 * Blocking objects (NK_BLOCK) keep a blocking fd, so send and recv are one
 * syscall each. Objects with a timeout keep a non-blocking fd: the syscall is
 * tried first and poll() runs only after EAGAIN.
 */
#include "internal.h"

#include <netdb.h>
#include <netinet/in.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef MSG_NOSIGNAL
#define NK__SEND_FLAGS MSG_NOSIGNAL
#else
#define NK__SEND_FLAGS 0 /* SO_NOSIGPIPE is set on the socket instead */
#endif

#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0 /* then queued output needs a non-blocking client */
#endif

int nk__client_new(int fd, int timeout_ms, nk_tcp_client **out)
{
    nk_tcp_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        nk__close_fd(fd);
        return -ENOMEM;
    }
    c->magic = NK__MAGIC_CLIENT;
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    c->wlimit = NK_QUEUE_LIMIT;
    *out = c;
    return 0;
}

void nk__client_set_served(nk_tcp_client *c, int served)
{
    c->served = (unsigned char)served;
}

void nk__client_release(nk_tcp_client *c)
{
    if (c->sel != NULL)
        nk__selector_forget(c->sel, c->fd);
    nk__close_fd(c->fd);
    free(c->rbuf);
    free(c->wbuf);
    c->magic = NK__MAGIC_DEAD;
    free(c);
}

void nk_tcp_client_close(nk_tcp_client *c)
{
    if (c == NULL || c->magic != NK__MAGIC_CLIENT || c->closed)
        return;
    if (c->served) {
        /* The peer sees the close now; serve closes the fd when the handler
         * returns, so its shutdown pass never touches a reused fd number. */
        if (c->sel != NULL)
            nk__selector_forget(c->sel, c->fd);
        shutdown(c->fd, SHUT_RDWR);
        c->closed = 1;
        return;
    }
    nk__client_release(c);
}

/* One connect attempt; returns the connected fd or a negative code. */
static int connect_one(const struct sockaddr *sa, socklen_t len, int timeout_ms,
                       nk__deadline *deadline)
{
    /* A blocking object connects on a blocking socket: socket + connect, as raw
     * code does; with a timeout the socket is non-blocking and poll waits. */
    int fd = nk__socket(sa->sa_family, SOCK_STREAM, timeout_ms != NK_BLOCK);
    if (fd < 0)
        return fd;
    int rc;
    if (connect(fd, sa, len) < 0) {
        /* EINTR: the connection goes on asynchronously; wait for it as for EINPROGRESS. */
        if (errno != EINPROGRESS && errno != EINTR) {
            rc = nk__errno();
            goto fail;
        }
        if (timeout_ms == NK_NONBLOCK) {
            rc = -EINPROGRESS;
            goto fail;
        }
        rc = nk__wait(fd, POLLOUT, timeout_ms, deadline);
        if (rc < 0)
            goto fail;
        int err = 0;
        socklen_t elen = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
            rc = nk__errno();
            goto fail;
        }
        if (err != 0) {
            rc = -err;
            goto fail;
        }
    }
    return fd;
fail:
    nk__close_fd(fd);
    return rc;
}

int nk_tcp_connect(nk_tcp_client **out, const char *host, int port, int timeout_ms)
{
    if (out == NULL)
        return NK_ENULL;
    *out = NULL;
    int rc = nk__check_host_port(host, 0, port);
    if (rc < 0 || (rc = nk__check_timeout(timeout_ms)) < 0)
        return rc;
    struct addrinfo *res = NULL;
    rc = nk__resolve(host, port, AF_UNSPEC, SOCK_STREAM, 0, &res);
    if (rc < 0)
        return rc;
    /* Every address in turn, one deadline for all; the last error wins. */
    nk__deadline deadline = 0;
    rc = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        rc = connect_one(ai->ai_addr, ai->ai_addrlen, timeout_ms, &deadline);
        if (rc >= 0 || rc == NK_ETIMEOUT)
            break;
    }
    freeaddrinfo(res);
    return rc < 0 ? rc : nk__client_new(rc, timeout_ms, out);
}

int nk_tcp_connect_addr(nk_tcp_client **out, const nk_addr *addr, int timeout_ms)
{
    if (out == NULL || addr == NULL)
        return NK_ENULL;
    *out = NULL;
    int rc = nk__check_timeout(timeout_ms);
    if (rc < 0 || (rc = nk_addr_family(addr)) < 0)
        return rc;
    nk__deadline deadline = 0;
    rc = connect_one((const struct sockaddr *)&addr->ss, addr->len, timeout_ms, &deadline);
    return rc < 0 ? rc : nk__client_new(rc, timeout_ms, out);
}

int nk_tcp_client_settimeout(nk_tcp_client *c, int timeout_ms)
{
    int rc = nk__client_check(c);
    return rc < 0 ? rc : nk__set_timeout(c->fd, &c->timeout_ms, timeout_ms);
}

int nk_tcp_client_gettimeout(const nk_tcp_client *c)
{
    int rc = nk__client_check(c);
    return rc < 0 ? rc : c->timeout_ms;
}

/* send(2) once, retried on EINTR, waiting after EAGAIN within *deadline. */
static ssize_t send_some(nk_tcp_client *c, const char *buf, size_t len, nk__deadline *deadline)
{
    for (;;) {
        ssize_t n = send(c->fd, buf, len, NK__SEND_FLAGS);
        if (n >= 0)
            return n;
        int rc = nk__retry(c->fd, POLLOUT, c->timeout_ms, deadline);
        if (rc < 0)
            return rc;
    }
}

/* recv(2) once into buf, as send_some. The end of the stream after a failed
 * flush of queued output (the peer reset) is that error, not 0: the stream
 * did not end cleanly. */
static ssize_t recv_some(nk_tcp_client *c, char *buf, size_t len, nk__deadline *deadline)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n > 0)
            return n;
        if (n == 0)
            return c->werr; /* 0, or the failed flush's error */
        int rc = nk__retry(c->fd, POLLIN, c->timeout_ms, deadline);
        if (rc < 0)
            return rc;
    }
}

/* Takes up to len bytes already buffered in c. */
static size_t take_buffered(nk_tcp_client *c, char *buf, size_t len)
{
    size_t avail = c->rlen - c->rpos;
    size_t n = avail < len ? avail : len;
    if (n == 0)
        return 0; /* rbuf may still be NULL */
    memcpy(buf, c->rbuf + c->rpos, n);
    c->rpos += n;
    return n;
}

/* After an error, puts the n bytes a call had already taken back in front of
 * the buffer, so that a timeout loses nothing. The buffer is empty then. */
static void push_back(nk_tcp_client *c, const char *buf, size_t n)
{
    if (n == 0)
        return;
    size_t pending = c->rlen - c->rpos;
    if (c->rcap < n + pending) {
        char *bigger = realloc(c->rbuf, n + pending);
        if (bigger == NULL)
            return; /* the error the caller returns stands; these bytes are lost */
        c->rbuf = bigger;
        c->rcap = n + pending;
    }
    memmove(c->rbuf + n, c->rbuf + c->rpos, pending);
    memcpy(c->rbuf, buf, n);
    c->rpos = 0;
    c->rlen = n + pending;
}

/* Ends every receive call with its result: notes whether bytes the next call
 * returns are left in the read-ahead buffer, and tells the selector. */
static ssize_t note_read(nk_tcp_client *c, ssize_t result)
{
    if (c->sel == NULL)
        return result; /* registering computes rready afresh */
    int ready = (result >= 0 || result == -EMSGSIZE) && c->rpos < c->rlen;
    if (ready && !c->rready)
        nk__selector_readahead(c->sel, c->fd);
    c->rready = (unsigned char)ready;
    return result;
}

ssize_t nk_tcp_client_send(nk_tcp_client *c, const void *buf, size_t len)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    if ((rc = nk__check_buf(buf, len)) < 0)
        return rc;
    nk__deadline deadline = 0;
    return send_some(c, buf, len, &deadline);
}

/* The rest of a sendall whose first send(2) returned n (the slow path:
 * partial sends, EINTR, waiting for the socket). */
static int sendall_rest(nk_tcp_client *c, const char *buf, size_t len, ssize_t n, size_t *sent)
{
    nk__deadline deadline = 0;
    size_t done = 0;
    int rc = 0;
    for (;;) {
        if (n >= 0) {
            done += (size_t)n;
            if (done == len)
                break;
        } else if ((rc = nk__retry(c->fd, POLLOUT, c->timeout_ms, &deadline)) < 0) {
            break; /* errno of the failed send decided: EINTR retries, EAGAIN waits */
        }
        n = send(c->fd, buf + done, len - done, NK__SEND_FLAGS);
    }
    if (sent != NULL)
        *sent = done;
    return rc;
}

/* The common case in one test: a live client, a buffer, 1 <= len <=
 * SSIZE_MAX. The fast paths below take it; everything else (and every error
 * code) goes through the full checks. */
static inline int fast_ok(const nk_tcp_client *c, const void *buf, size_t len)
{
    return c != NULL && c->magic == NK__MAGIC_CLIENT && !c->closed && buf != NULL &&
           len - 1 < (size_t)SSIZE_MAX;
}

/* What sendall returns when fast_ok said no: a usage code, or 0 for len 0
 * (every other case passes fast_ok). */
NK__COLD static int sendall_refused(const nk_tcp_client *c, const void *buf, size_t len, size_t *sent)
{
    if (sent != NULL)
        *sent = 0;
    int rc = nk__client_check(c);
    return rc < 0 ? rc : nk__check_buf(buf, len);
}

int nk_tcp_client_sendall(nk_tcp_client *c, const void *buf, size_t len, size_t *sent)
{
    if (!fast_ok(c, buf, len))
        return sendall_refused(c, buf, len, sent);
    /* One send(2) takes it all, as it nearly always does. */
    ssize_t n = send(c->fd, buf, len, NK__SEND_FLAGS);
    if (n == (ssize_t)len) {
        if (sent != NULL)
            *sent = len;
        return 0;
    }
    return sendall_rest(c, buf, len, n, sent);
}

ssize_t nk_tcp_client_recv(nk_tcp_client *c, void *buf, size_t len)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    if ((rc = nk__check_buf(buf, len)) < 0)
        return rc;
    if (len == 0)
        return 0;
    if (c->rpos < c->rlen)
        return note_read(c, (ssize_t)take_buffered(c, buf, len));
    nk__deadline deadline = 0;
    return note_read(c, recv_some(c, buf, len, &deadline));
}

/* The rest of a recv_exact: got bytes are in buf, and the last recv(2)
 * returned n (the slow path: short reads, EINTR, waiting, end of stream). */
static ssize_t recv_exact_rest(nk_tcp_client *c, char *p, size_t len, size_t got, ssize_t n)
{
    nk__deadline deadline = 0;
    for (;;) {
        if (n == 0 && c->werr != 0) {
            push_back(c, p, got); /* a flush failed: not a clean end of stream */
            return note_read(c, c->werr);
        }
        if (n == 0)
            break; /* the peer closed: a short count */
        if (n > 0) {
            got += (size_t)n;
            if (got == len)
                break;
        } else {
            int rc = nk__retry(c->fd, POLLIN, c->timeout_ms, &deadline);
            if (rc < 0) {
                push_back(c, p, got);
                return note_read(c, rc);
            }
        }
        n = recv(c->fd, p + got, len - got, 0);
    }
    return note_read(c, (ssize_t)got);
}

NK__COLD static ssize_t recv_exact_checked(nk_tcp_client *c, void *buf, size_t len)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    if ((rc = nk__check_buf(buf, len)) < 0)
        return rc;
    char *p = buf;
    size_t got = take_buffered(c, p, len);
    if (got == len)
        return note_read(c, (ssize_t)len);
    return recv_exact_rest(c, p, len, got, recv(c->fd, p + got, len - got, 0));
}

ssize_t nk_tcp_client_recv_exact(nk_tcp_client *c, void *buf, size_t len)
{
    /* Fast: nothing read ahead and no selector to tell (note_read is then a
     * no-op), so one recv(2) that brings everything is the whole call. */
    if (!fast_ok(c, buf, len) || c->rpos < c->rlen || c->sel != NULL)
        return recv_exact_checked(c, buf, len);
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n == (ssize_t)len)
        return n;
    return recv_exact_rest(c, buf, len, 0, n);
}

/* Frees the (empty) read-ahead buffer. */
static void free_rbuf(nk_tcp_client *c)
{
    free(c->rbuf);
    c->rbuf = NULL;
    c->rpos = c->rlen = c->rcap = 0;
}

/* Gives the read-ahead buffer its full size: on first use, or after push_back
 * left a small one. Returns 0 or -ENOMEM. */
static int full_rbuf(nk_tcp_client *c)
{
    if (c->rcap >= NK__RBUF_SIZE)
        return 0;
    char *bigger = realloc(c->rbuf, NK__RBUF_SIZE);
    if (bigger == NULL)
        return -ENOMEM;
    c->rbuf = bigger;
    c->rcap = NK__RBUF_SIZE;
    return 0;
}

ssize_t nk_tcp_client_recv_line(nk_tcp_client *c, char *buf, size_t cap)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    if (buf == NULL)
        return NK_ENULL;
    if (cap < 2 || cap > (size_t)SSIZE_MAX)
        return NK_EINVAL;
    if ((rc = full_rbuf(c)) < 0)
        return rc;
    size_t out = 0, room = cap - 1;
    nk__deadline deadline = 0;
    for (;;) {
        /* Take buffered bytes up to a newline or until the line is full. */
        size_t avail = c->rlen - c->rpos;
        size_t n = avail < room - out ? avail : room - out;
        const char *nl = memchr(c->rbuf + c->rpos, '\n', n);
        if (nl != NULL)
            n = (size_t)(nl - (c->rbuf + c->rpos)) + 1;
        memcpy(buf + out, c->rbuf + c->rpos, n);
        c->rpos += n;
        out += n;
        if (nl != NULL) {
            buf[out] = '\0';
            return note_read(c, (ssize_t)out);
        }
        if (out == room) {
            buf[out] = '\0';
            return note_read(c, -EMSGSIZE);
        }
        /* The buffer is drained: refill it. */
        c->rpos = c->rlen = 0;
        ssize_t got = recv_some(c, c->rbuf, c->rcap, &deadline);
        if (got == 0) {
            buf[out] = '\0';
            return note_read(c, (ssize_t)out); /* end of stream: the last line, or 0 */
        }
        if (got < 0) { /* also a reset seen by a failed flush: no partial last line */
            push_back(c, buf, out);
            if (c->rpos == c->rlen)
                free_rbuf(c); /* going idle: an idle connection holds no buffer */
            return note_read(c, got);
        }
        c->rlen = (size_t)got;
    }
}

/* ---- queued output ------------------------------------------------------- */

/* Drops the queue after a failed send and makes the error sticky. */
static int fail_queue(nk_tcp_client *c, int rc)
{
    free(c->wbuf);
    c->wbuf = NULL;
    c->wpos = c->wlen = c->wcap = 0;
    c->werr = rc;
    return rc;
}

/* One non-blocking send(2): bytes sent, 0 when the socket takes none now,
 * or a negative code. */
static ssize_t send_now(nk_tcp_client *c, const char *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(c->fd, buf, len, NK__SEND_FLAGS | MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno != EINTR)
            return nk__errno();
    }
}

ssize_t nk__client_flush(nk_tcp_client *c)
{
    if (c->werr != 0)
        return c->werr;
    while (c->wpos < c->wlen) {
        ssize_t n = send_now(c, c->wbuf + c->wpos, c->wlen - c->wpos);
        if (n < 0)
            return fail_queue(c, (int)n);
        if (n == 0)
            return (ssize_t)(c->wlen - c->wpos);
        c->wpos += (size_t)n;
    }
    free(c->wbuf); /* drained: an idle connection holds no buffer */
    c->wbuf = NULL;
    c->wpos = c->wlen = c->wcap = 0;
    return 0;
}

/* Appends len bytes to the queue, compacting or growing it. */
static int append(nk_tcp_client *c, const char *buf, size_t len)
{
    size_t queued = c->wlen - c->wpos;
    if (c->wcap - c->wlen < len && c->wpos > 0) {
        memmove(c->wbuf, c->wbuf + c->wpos, queued);
        c->wpos = 0;
        c->wlen = queued;
    }
    if (c->wcap - c->wlen < len) {
        size_t cap = c->wcap > 0 ? c->wcap * 2 : 1024;
        if (cap < queued + len)
            cap = queued + len;
        char *bigger = realloc(c->wbuf, cap);
        if (bigger == NULL)
            return -ENOMEM;
        c->wbuf = bigger;
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, buf, len);
    c->wlen += len;
    return 0;
}

int nk_tcp_client_queue(nk_tcp_client *c, const void *buf, size_t len)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    if ((rc = nk__check_buf(buf, len)) < 0)
        return rc;
    if (c->werr != 0)
        return c->werr;
    size_t queued = c->wlen - c->wpos;
    if (queued > c->wlimit || len > c->wlimit - queued)
        return -ENOBUFS; /* nothing sent, nothing queued */
    if (len == 0)
        return 0;
    const char *p = buf;
    if (queued == 0) {
        /* Nothing waits: what the socket takes now need not be copied. */
        ssize_t n = send_now(c, p, len);
        if (n < 0)
            return fail_queue(c, (int)n);
        p += n;
        len -= (size_t)n;
        if (len == 0)
            return 0;
    }
    if ((rc = append(c, p, len)) < 0)
        /* Part of buf went out already: the stream would lack the rest, so
         * the error sticks. Nothing sent: nothing happened (all or nothing). */
        return p != (const char *)buf ? fail_queue(c, rc) : rc;
    /* The queue was empty: the selector now watches for writability. */
    if (queued == 0 && c->sel != NULL)
        (void)nk__selector_sync(c->sel, c->fd);
    return 0;
}

ssize_t nk_tcp_client_flush(nk_tcp_client *c)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    ssize_t left = nk__client_flush(c);
    if (left <= 0 && c->sel != NULL)
        (void)nk__selector_sync(c->sel, c->fd);
    return left;
}

ssize_t nk_tcp_client_queued(const nk_tcp_client *c)
{
    int rc = nk__client_check(c);
    return rc < 0 ? rc : (ssize_t)(c->wlen - c->wpos);
}

int nk_tcp_client_set_queue_limit(nk_tcp_client *c, size_t limit)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    if (limit == 0 || limit > (size_t)SSIZE_MAX)
        return NK_EINVAL;
    c->wlimit = limit;
    return 0;
}

int nk_tcp_client_shutdown(nk_tcp_client *c, int how)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return NK_EINVAL;
    return shutdown(c->fd, how) < 0 ? nk__errno() : 0;
}

static int set_opt(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value) < 0 ? nk__errno() : 0;
}

int nk_tcp_client_set_nodelay(nk_tcp_client *c, int on)
{
    int rc = nk__client_check(c);
    return rc < 0 ? rc : set_opt(c->fd, IPPROTO_TCP, TCP_NODELAY, on != 0);
}

int nk_tcp_client_set_keepalive(nk_tcp_client *c, int on, int idle_s)
{
    int rc = nk__client_check(c);
    if (rc < 0)
        return rc;
    if (idle_s < 0)
        return NK_EINVAL;
    /* The idle time first: one the system refuses (-EINVAL: more than 32767 s
     * on Linux) leaves keepalive as it was. */
    if (on && idle_s > 0) {
#if defined(TCP_KEEPIDLE)
        rc = set_opt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s);
#elif defined(TCP_KEEPALIVE)
        rc = set_opt(c->fd, IPPROTO_TCP, TCP_KEEPALIVE, idle_s);
#else
        rc = -ENOPROTOOPT;
#endif
        if (rc < 0)
            return rc;
    }
    return set_opt(c->fd, SOL_SOCKET, SO_KEEPALIVE, on != 0);
}

int nk_tcp_client_peername(const nk_tcp_client *c, nk_addr *out)
{
    int rc = nk__client_check(c);
    return rc < 0 ? rc : nk__peername(c->fd, out);
}

int nk_tcp_client_sockname(const nk_tcp_client *c, nk_addr *out)
{
    int rc = nk__client_check(c);
    return rc < 0 ? rc : nk__sockname(c->fd, out);
}

int nk_tcp_client_fd(const nk_tcp_client *c)
{
    int rc = nk__client_check(c);
    return rc < 0 ? rc : c->fd;
}
