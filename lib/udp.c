/*
 * udp.c - nk_udp_endpoint: bound or wildcard UDP sockets, sendto by name or
 * address, recvfrom that reports truncation, connected mode.
 */
#include "internal.h"

#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#ifdef MSG_NOSIGNAL
#define NK__SEND_FLAGS MSG_NOSIGNAL
#else
#define NK__SEND_FLAGS 0
#endif

static int check(const nk_udp_endpoint *u)
{
    if (u == NULL)
        return NK_ENULL;
    if (u->magic != NK__MAGIC_UDP)
        return NK_EHANDLE;
    return u->fd < 0 ? NK_ECLOSED : 0;
}

int nk_udp_open(nk_udp_endpoint **out, const char *host, int port)
{
    if (out == NULL)
        return NK_ENULL;
    *out = NULL;
    int fd = nk__bind_socket(host, port, SOCK_DGRAM, AF_UNSPEC, 0);
    if (fd < 0)
        return fd;
    struct sockaddr_storage ss;
    ss.ss_family = AF_UNSPEC; /* defined even if the kernel stored less */
    socklen_t len = sizeof ss;
    nk_udp_endpoint *u = calloc(1, sizeof *u);
    if (u == NULL || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        int rc = u == NULL ? -ENOMEM : nk__errno();
        free(u);
        nk__close_fd(fd);
        return rc;
    }
    u->magic = NK__MAGIC_UDP;
    u->fd = fd;
    u->family = ss.ss_family;
    u->timeout_ms = NK_BLOCK;
    *out = u;
    return 0;
}

void nk_udp_close(nk_udp_endpoint *u)
{
    if (u == NULL || u->magic != NK__MAGIC_UDP)
        return;
    if (u->sel != NULL)
        nk__selector_forget(u->sel, u->fd);
    nk__close_fd(u->fd);
    u->magic = NK__MAGIC_DEAD;
    free(u);
}

int nk_udp_settimeout(nk_udp_endpoint *u, int timeout_ms)
{
    int rc = check(u);
    return rc < 0 ? rc : nk__set_timeout(u->fd, &u->timeout_ms, timeout_ms);
}

int nk_udp_gettimeout(const nk_udp_endpoint *u)
{
    int rc = check(u);
    return rc < 0 ? rc : u->timeout_ms;
}

/* Resolves host:port to one address this socket can reach: the first IPv4
 * one if any, as named hosts bind IPv4 first (UDP has no refused connect to
 * fall back on, so "localhost" must meet "localhost" where it also names ::1). */
static int resolve_peer(const nk_udp_endpoint *u, const char *host, int port, nk_addr *out)
{
    int rc = nk__check_host_port(host, 0, port);
    if (rc < 0)
        return rc;
    struct addrinfo *res = NULL;
    rc = nk__resolve(host, port, u->family == AF_INET ? AF_INET : AF_UNSPEC, SOCK_DGRAM, 0, &res);
    if (rc < 0)
        return rc;
    const struct addrinfo *pick = res;
    if (pick == NULL)
        return NK_EAI(EAI_NONAME); /* success without an address: never from glibc */
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    }
    nk__addr_from_sockaddr(out, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* sendto(2) or send(2) (to == NULL), retried on EINTR, waiting after EAGAIN.
 * An address of the socket's own family is passed as it is; only an IPv4
 * address for an IPv6 socket is rewritten (v4-mapped) into a copy. */
static ssize_t send_datagram(nk_udp_endpoint *u, const void *buf, size_t len, const nk_addr *to)
{
    struct sockaddr_storage ss;
    const struct sockaddr *sa = NULL;
    socklen_t salen = 0;
    if (to != NULL) {
        if (to->ss.ss_family == u->family) { /* callers checked it is a whole address */
            sa = (const struct sockaddr *)&to->ss;
            salen = to->len;
        } else {
            int rc = nk__addr_for_socket(to, u->family, &ss, &salen);
            if (rc < 0)
                return rc;
            sa = (const struct sockaddr *)&ss;
        }
    }
    nk__deadline deadline = 0;
    for (;;) {
        ssize_t n = sa != NULL ? sendto(u->fd, buf, len, NK__SEND_FLAGS, sa, salen)
                               : send(u->fd, buf, len, NK__SEND_FLAGS);
        if (n >= 0)
            return n;
        int rc = nk__retry(u->fd, POLLOUT, u->timeout_ms, &deadline);
        if (rc < 0)
            return rc;
    }
}

/* One datagram; -EMSGSIZE when it did not fit. On Linux recvfrom(2) with
 * the MSG_TRUNC flag returns the datagram's real length, so n > cap means it
 * was truncated: one recvfrom, a cheaper kernel path than recvmsg(2) (4-5% of
 * a loopback round trip, docs/performance.md). Elsewhere recvmsg(2) and the
 * MSG_TRUNC bit of msg_flags say the same. */
static ssize_t recv_datagram(nk_udp_endpoint *u, void *buf, size_t cap, nk_addr *from)
{
    nk__deadline deadline = 0;
    for (;;) {
#ifdef __linux__
        /* The sender's address goes straight into *from (no copy); only a
         * v4-mapped IPv6 sender is rewritten as IPv4, as everywhere else. */
        socklen_t sslen = sizeof from->ss;
        ssize_t n = from != NULL ? recvfrom(u->fd, buf, cap, MSG_TRUNC,
                                            (struct sockaddr *)&from->ss, &sslen)
                                 : recv(u->fd, buf, cap, MSG_TRUNC);
        if (n >= 0) {
            if (from != NULL) {
                from->len = sslen;
                if (from->ss.ss_family == AF_INET6)
                    nk__addr_unmap(from);
            }
            return (size_t)n > cap ? -EMSGSIZE : n;
        }
#else
        struct sockaddr_storage ss;
        struct iovec iov = {.iov_base = buf, .iov_len = cap};
        struct msghdr msg = {
            .msg_name = &ss, .msg_namelen = sizeof ss, .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(u->fd, &msg, 0);
        if (n >= 0) {
            if (from != NULL)
                nk__addr_from_sockaddr(from, (struct sockaddr *)&ss, msg.msg_namelen);
            return (msg.msg_flags & MSG_TRUNC) ? -EMSGSIZE : n;
        }
#endif
        int rc = nk__retry(u->fd, POLLIN, u->timeout_ms, &deadline);
        if (rc < 0)
            return rc;
    }
}

ssize_t nk_udp_sendto(nk_udp_endpoint *u, const void *buf, size_t len, const char *host, int port)
{
    int rc = check(u);
    if (rc < 0)
        return rc;
    if ((rc = nk__check_buf(buf, len)) < 0)
        return rc;
    nk_addr to;
    if ((rc = resolve_peer(u, host, port, &to)) < 0)
        return rc;
    return send_datagram(u, buf, len, &to);
}

ssize_t nk_udp_sendto_addr(nk_udp_endpoint *u, const void *buf, size_t len, const nk_addr *to)
{
    int rc = check(u);
    if (rc < 0)
        return rc;
    if (to == NULL)
        return NK_ENULL;
    if ((rc = nk__check_buf(buf, len)) < 0 || (rc = nk_addr_family(to)) < 0)
        return rc; /* to must hold a whole IPv4 or IPv6 address */
    return send_datagram(u, buf, len, to);
}

ssize_t nk_udp_recvfrom(nk_udp_endpoint *u, void *buf, size_t cap, nk_addr *from)
{
    int rc = check(u);
    if (rc < 0)
        return rc;
    if ((rc = nk__check_buf(buf, cap)) < 0)
        return rc;
    return recv_datagram(u, buf, cap, from);
}

int nk_udp_connect(nk_udp_endpoint *u, const char *host, int port)
{
    int rc = check(u);
    if (rc < 0)
        return rc;
    nk_addr to;
    struct sockaddr_storage ss;
    socklen_t len;
    if ((rc = resolve_peer(u, host, port, &to)) < 0 ||
        (rc = nk__addr_for_socket(&to, u->family, &ss, &len)) < 0)
        return rc;
    while (connect(u->fd, (struct sockaddr *)&ss, len) < 0) {
        if (errno != EINTR)
            return nk__errno();
    }
    return 0;
}

ssize_t nk_udp_send(nk_udp_endpoint *u, const void *buf, size_t len)
{
    int rc = check(u);
    if (rc < 0)
        return rc;
    if ((rc = nk__check_buf(buf, len)) < 0)
        return rc;
    return send_datagram(u, buf, len, NULL);
}

ssize_t nk_udp_recv(nk_udp_endpoint *u, void *buf, size_t cap)
{
    return nk_udp_recvfrom(u, buf, cap, NULL);
}

int nk_udp_sockname(const nk_udp_endpoint *u, nk_addr *out)
{
    int rc = check(u);
    return rc < 0 ? rc : nk__sockname(u->fd, out);
}

int nk_udp_port(const nk_udp_endpoint *u)
{
    nk_addr a;
    int rc = nk_udp_sockname(u, &a);
    return rc < 0 ? rc : nk_addr_port(&a);
}

int nk_udp_peername(const nk_udp_endpoint *u, nk_addr *out)
{
    int rc = check(u);
    return rc < 0 ? rc : nk__peername(u->fd, out);
}

int nk_udp_fd(const nk_udp_endpoint *u)
{
    int rc = check(u);
    return rc < 0 ? rc : u->fd;
}
