/*
 * internal.h - what the lib/ sources share; never installed.
 *
 * Internal symbols are named nk__* and hidden from the shared library by
 * -fvisibility=hidden (only NK_EXTERN declarations are exported).
 */
#ifndef NETKIT_INTERNAL_H
#define NETKIT_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
/* Linux defaults when ./configure has not run. */
#define HAVE_ACCEPT4 1
#define HAVE_PIPE2 1
#define HAVE_GETHOSTBYADDR_R 1
#ifdef __linux__
#define HAVE_EPOLL_CREATE1 1
#define HAVE_EVENTFD 1
#endif
#endif

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netkit.h"

/* Handle tags, checked on every call so a wrong or closed handle gives a
 * usage error instead of undefined behaviour (where it is still readable). */
#define NK__MAGIC_CLIENT 0x6e6b7463u /* "nktc" */
#define NK__MAGIC_SERVER 0x6e6b7473u /* "nkts" */
#define NK__MAGIC_UDP 0x6e6b7575u    /* "nkuu" */
#define NK__MAGIC_SELECTOR 0x6e6b736cu /* "nksl" */
#define NK__MAGIC_DEAD 0xdeadd00du

/* Longest host name accepted (RFC 1035: 255 octets), and longest label of a
 * name that is looked up (RFC 1035: 63 octets). */
#define NK__HOST_MAX 255
#define NK__LABEL_MAX 63

/* Keeps a slow path out of its hot caller, whose prologue then stays short. */
#if defined(__GNUC__)
#define NK__COLD __attribute__((noinline, cold))
#else
#define NK__COLD
#endif

/* Validates a buffer argument of an I/O call: NK_ENULL for NULL with len > 0,
 * NK_EINVAL for len > SSIZE_MAX (no object is that large, and the byte count
 * could not be returned). */
static inline int nk__check_buf(const void *buf, size_t len)
{
    if (buf == NULL && len > 0)
        return NK_ENULL;
    return len > (size_t)SSIZE_MAX ? NK_EINVAL : 0;
}

/* The negative code for the current errno. */
static inline int nk__errno(void)
{
    return errno > 0 ? -errno : -EIO;
}

/* ---- io.c: sockets, deadlines and waiting -------------------------------- */

/* A deadline on the monotonic clock, in nanoseconds; 0 = not started yet. */
typedef int64_t nk__deadline;

/* Nanoseconds on the monotonic clock. */
int64_t nk__now_ns(void);

/* Validates a timeout argument: NK_BLOCK, NK_NONBLOCK or > 0. */
int nk__check_timeout(int timeout_ms);

/* Called after a syscall failed with EAGAIN on an fd whose object has
 * timeout_ms. Waits with poll() for events until *deadline (started here on
 * first use, so the fast path never reads the clock), retrying EINTR.
 * Returns 0 when the caller should retry the syscall, -EAGAIN for a
 * non-blocking object, NK_ETIMEOUT when the deadline passed. */
int nk__wait(int fd, short events, int timeout_ms, nk__deadline *deadline);

/* After a syscall on fd returned -1: 0 when the caller should retry it
 * (EINTR, or EAGAIN and fd became ready in time), else the negative code to
 * return (the errno, -EAGAIN for a non-blocking object, NK_ETIMEOUT). */
int nk__retry(int fd, short events, int timeout_ms, nk__deadline *deadline);

/* Validates timeout_ms and switches fd between blocking and non-blocking when
 * the mode changes (one fcntl then, none per operation); stores it in *current. */
int nk__set_timeout(int fd, int *current, int timeout_ms);

/* As nk__wait, also watching wake_fd (-1 for none) for POLLIN: returns
 * NK__WOKEN when it is readable. */
#define NK__WOKEN 1
int nk__wait_wake(int fd, short events, int wake_fd, int timeout_ms, nk__deadline *deadline);

/* Creates a socket with SOCK_CLOEXEC (and SOCK_NONBLOCK when nonblock), and
 * SO_NOSIGPIPE where the system has it. Returns the fd or a negative code. */
int nk__socket(int family, int type, int nonblock);

/* Puts fd in non-blocking (on) or blocking mode. Returns 0 or a negative code. */
int nk__set_nonblock(int fd, int on);

/* close() that keeps errno and ignores EINTR (the fd is gone either way on Linux). */
void nk__close_fd(int fd);

/* Validates a host argument (NULL allowed when null_ok) and a port. */
int nk__check_host_port(const char *host, int null_ok, int port);

/* Validates a name about to be looked up (host already passed
 * nk__check_host_port): a label over NK__LABEL_MAX is NK_EHOSTLEN, a control
 * character (below 0x20, or 0x7f) NK_EAI(EAI_NONAME), decided here so that
 * such a name never reaches a DNS server. */
int nk__check_host_name(const char *host);

/* ---- addr.c -------------------------------------------------------------- */

/* Fills an nk_addr from a kernel sockaddr, turning ::ffff:a.b.c.d into IPv4. */
void nk__addr_from_sockaddr(nk_addr *out, const struct sockaddr *sa, socklen_t len);

/* Rewrites a v4-mapped IPv6 address (::ffff:a.b.c.d) in place as IPv4;
 * leaves any other address as it is. */
void nk__addr_unmap(nk_addr *a);

/* Prepares addr for a socket of family sock_family: an IPv4 address on an IPv6
 * socket becomes ::ffff:a.b.c.d. Returns 0, NK_EINVAL (not an address
 * nk_addr_family accepts, or longer than its storage) or -EAFNOSUPPORT. */
int nk__addr_for_socket(const nk_addr *addr, int sock_family, struct sockaddr_storage *ss,
                        socklen_t *len);

/* getsockname / getpeername into an nk_addr. */
int nk__sockname(int fd, nk_addr *out);
int nk__peername(int fd, nk_addr *out);

/* ---- resolve.c ----------------------------------------------------------- */

/* getaddrinfo with port validation and the error conversion of netkit
 * (EAI_SYSTEM becomes the errno, as Python does). *res is freed with
 * freeaddrinfo(). A NULL or empty host with AI_PASSIVE is the wildcard. */
int nk__resolve(const char *host, int port, int family, int socktype, int flags,
                struct addrinfo **res);

/* Converts a getaddrinfo() return value to a netkit code. */
int nk__gai_code(int eai);

/* Flags of nk__bind_socket. */
#define NK__BIND_REUSEADDR 1
#define NK__BIND_REUSEPORT 2
#define NK__BIND_V6ONLY 4
#define NK__BIND_NONBLOCK 8

/* Opens a socket of type bound to host:port: a NULL or empty host is the
 * dual-stack wildcard (IPv4 when IPv6 is missing); a named host's addresses
 * are tried IPv4 first. Returns the fd or a negative code (the last error). */
int nk__bind_socket(const char *host, int port, int type, int family, int flags);

/* ---- tcp_client.c -------------------------------------------------------- */

/* Size of the read buffer recv_line allocates on first use. */
#define NK__RBUF_SIZE 8192

struct nk_tcp_client {
    uint32_t magic;
    int fd;
    int timeout_ms;
    unsigned char served; /* owned by nk_tcp_server_serve: close only marks it */
    unsigned char closed; /* closed inside a serve handler */
    char *rbuf;           /* bytes read ahead, [rpos, rlen) are pending */
    size_t rpos, rlen, rcap;
    char *wbuf;           /* queued output, [wpos, wlen) waits; NULL when drained */
    size_t wpos, wlen, wcap;
    size_t wlimit; /* most bytes that may be queued */
    int werr;      /* sticky error of a failed flush, or 0 */
    unsigned char rready; /* the last receive left bytes the next one returns */
    nk_selector *sel; /* the selector it is registered with, or NULL */
    struct nk_tcp_client *prev, *next; /* serve's list of open connections */
};

/* Wraps a connected fd in a new client (takes the fd, also on failure). */
int nk__client_new(int fd, int timeout_ms, nk_tcp_client **out);

/* Marks a client as owned by the serve helper (close keeps it allocated). */
void nk__client_set_served(nk_tcp_client *c, int served);

/* Frees a client whose fd was already closed by a handler, or closes it. */
void nk__client_release(nk_tcp_client *c);

/* Valid client check used by every call: NK_ENULL, NK_EHANDLE or NK_ECLOSED.
 * Inline: it is on the path of every send and receive (docs/performance.md). */
static inline int nk__client_check(const nk_tcp_client *c)
{
    if (c == NULL)
        return NK_ENULL;
    if (c->magic != NK__MAGIC_CLIENT)
        return NK_EHANDLE;
    return c->closed ? NK_ECLOSED : 0;
}

/* Sends queued output without blocking (nk_tcp_client_flush without the
 * checks and without telling the selector). Returns the bytes still queued or
 * the (now sticky) error. */
ssize_t nk__client_flush(nk_tcp_client *c);

/* ---- tcp_server.c -------------------------------------------------------- */

struct nk_tcp_server {
    uint32_t magic;
    int fd;
    int port;
    int wake[2];          /* self-pipe: shutdown writes to [1], waits watch [0] */
    volatile int stopped; /* set by shutdown; read with __atomic builtins */
    nk_selector *sel;     /* the selector it is registered with, or NULL */
};

/* Valid server check used by every call: NK_ENULL, NK_EHANDLE or NK_ECLOSED. */
int nk__server_check(const nk_tcp_server *s);

/* 1 once nk_tcp_server_shutdown was called. */
int nk__server_stopped(const nk_tcp_server *s);

/* ---- udp.c --------------------------------------------------------------- */

struct nk_udp_endpoint {
    uint32_t magic;
    int fd;
    int family; /* of the socket: an IPv6 wildcard also reaches IPv4 peers */
    int timeout_ms;
    nk_selector *sel; /* the selector it is registered with, or NULL */
};

/* ---- selector.c ---------------------------------------------------------- */

/* Called by an object's close before its fd is closed: stops watching fd and
 * clears fd's events from the caller's array of the last select. */
void nk__selector_forget(nk_selector *sel, int fd);

/* Called when a receive call on a registered client left bytes in its
 * read-ahead buffer (c->rready): select reports the client readable until a
 * call on it needs the kernel again. */
void nk__selector_readahead(nk_selector *sel, int fd);

/* Makes the kernel's interest in fd match its registration plus, for a
 * client, write interest while output is queued. Returns 0 or a code. */
int nk__selector_sync(nk_selector *sel, int fd);

#endif
