/*
 * netkit.h - Python's socket ergonomics at the cost of raw BSD sockets.
 *
 * One public header for libnetkit. Three objects (nk_tcp_server, nk_tcp_client,
 * nk_udp_endpoint), the module-level name-resolution calls Python users know,
 * nk_addr helpers, and one integer error model with Python's exception kinds.
 *
 * Conventions, everywhere in this header:
 *   - Every call returns 0 (or a byte count, a port, a length) on success and a
 *     negative code on failure. Codes are described under "Errors" below.
 *   - Objects are opaque handles created through an out-parameter and freed by
 *     one close call; close(NULL) is a no-op.
 *   - Timeouts are int milliseconds: NK_BLOCK (-1) blocks forever, 0 is
 *     non-blocking, > 0 is a deadline for the whole call.
 *   - Ports are int so that out-of-range values (-1, 70000) are reported as a
 *     usage error instead of being silently truncated.
 *   - Arguments are checked before anything is done. A handle that is NULL is
 *     NK_ENULL; one that does not point to a live object of its type (another
 *     object, or freed memory that still shows what it was) is NK_EHANDLE; a
 *     client closed inside a serve handler is NK_ECLOSED. Close calls ignore
 *     all three. A length or capacity over SSIZE_MAX given to a send or
 *     receive call is NK_EINVAL: no buffer is that large.
 *   - A host name to look up is at most 255 bytes, with labels of at most 63
 *     (RFC 1035): longer is NK_EHOSTLEN. A name with a control character (below
 *     0x20, or 0x7f) is never looked up: NK_EAI(EAI_NONAME), as resolvers say.
 *   - Distinct objects may be used from distinct threads at the same time. On one
 *     nk_tcp_client, one thread may receive while another sends, and
 *     nk_tcp_client_shutdown may be called from any thread (to wake a blocked
 *     receiver), as with a socket; settimeout and close must not run while
 *     another call on the same object does. Other objects: one thread at a time,
 *     unless a function says otherwise.
 */
#ifndef NETKIT_H
#define NETKIT_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NK_BUILDING) && defined(__GNUC__)
#define NK_EXTERN __attribute__((visibility("default")))
#else
#define NK_EXTERN
#endif

#define NK_VERSION_MAJOR 0
#define NK_VERSION_MINOR 1
#define NK_VERSION_PATCH 0
#define NK_VERSION_STRING "0.1.0"

/* The library's version as "MAJOR.MINOR.PATCH" (may differ from the header's
 * NK_VERSION_STRING when a program runs against a newer shared library). */
NK_EXTERN const char *nk_version(void);

/* ======================================================================== */
/* Errors                                                                   */
/* ======================================================================== */
/*
 * A failing call returns one negative int. Its kind mirrors Python's exceptions:
 *
 *   NK_KIND_SOCKET   socket.error / OSError: the code is -errno (-ECONNREFUSED).
 *                    Would-block on a non-blocking object is -EAGAIN, as in Python.
 *   NK_KIND_TIMEOUT  socket.timeout: the one code NK_ETIMEOUT. The kernel's own
 *                    ETIMEDOUT stays a socket error, as in Python.
 *   NK_KIND_GAI      socket.gaierror: NK_EAI(EAI_xxx), the EAI code is kept.
 *   NK_KIND_HOST     socket.herror: NK_EHOST(h_errno), from reverse lookups.
 *   NK_KIND_USAGE    a bad argument (NULL, port outside 0..65535, closed handle);
 *                    Python would raise ValueError/TypeError/OverflowError or
 *                    OSError(EBADF). Never a crash, never an abort.
 *
 * nk_strerror() gives exactly the text Python's exception prints:
 * "[Errno 111] Connection refused", "timed out",
 * "[Errno -2] Name or service not known", "[Errno 1] Unknown host".
 * There is no global error state: the code is the whole error.
 */
enum nk_error_kind {
    NK_KIND_OK = 0,
    NK_KIND_SOCKET = 1,
    NK_KIND_TIMEOUT = 2,
    NK_KIND_GAI = 3,
    NK_KIND_HOST = 4,
    NK_KIND_USAGE = 5
};

/* Code ranges (stable ABI): socket errors are -1..-4999 (-errno); address
 * resolution errors NK__GAI_BASE - |EAI code|; host errors NK__HOST_BASE - h_errno. */
#define NK__GAI_BASE (-5000)
#define NK__HOST_BASE (-6000)
#define NK_EAI(eai) (NK__GAI_BASE - ((eai) < 0 ? -(eai) : (eai)))
#define NK_EHOST(h) (NK__HOST_BASE - (h))

/* netkit's own codes, as an X-macro: name, value, kind, message. */
#define NK_OWN_ERRORS(XX)                                                                          \
    XX(ETIMEOUT, -7000, NK_KIND_TIMEOUT, "timed out")                                              \
    XX(EINVAL, -7100, NK_KIND_USAGE, "invalid argument")                                           \
    XX(ENULL, -7101, NK_KIND_USAGE, "NULL pointer argument")                                       \
    XX(EPORT, -7102, NK_KIND_USAGE, "port must be 0-65535.")                                       \
    XX(ECLOSED, -7103, NK_KIND_USAGE, "[Errno 9] Bad file descriptor")                             \
    XX(EHANDLE, -7104, NK_KIND_USAGE, "not a valid netkit handle")                                 \
    XX(EHOSTLEN, -7105, NK_KIND_USAGE, "host name too long")                                       \
    XX(EBUFSIZE, -7106, NK_KIND_USAGE, "buffer too small")

enum nk_own_error {
    NK_OK = 0,
#define NK__XX(name, value, kind, msg) NK_##name = (value),
    NK_OWN_ERRORS(NK__XX)
#undef NK__XX
};

/* The kind of a code (enum nk_error_kind); NK_KIND_OK for 0 and positive values. */
NK_EXTERN int nk_error_kind(int code);

/* The errno a socket-kind code carries (ECONNREFUSED for -ECONNREFUSED), EBADF
 * for NK_ECLOSED, ETIMEDOUT for NK_ETIMEOUT (for C callers that need an errno;
 * Python's socket.timeout has errno None); 0 for every other code. */
NK_EXTERN int nk_error_errno(int code);

/* The EAI_xxx code an address-resolution code carries, with the sign the
 * system uses (EAI_NONAME is -2 on glibc); 0 when code is not of that kind. */
NK_EXTERN int nk_error_gai(int code);

/* The h_errno a host-kind code carries (HOST_NOT_FOUND, TRY_AGAIN, ...); 0 otherwise. */
NK_EXTERN int nk_error_herrno(int code);

/* The symbolic name of a code: "ECONNREFUSED", "EAI_NONAME", "HOST_NOT_FOUND",
 * "NK_ETIMEOUT", "NK_EPORT", "OK"; "UNKNOWN" for a code netkit never returns.
 * The string is static. */
NK_EXTERN const char *nk_error_name(int code);

/* The message Python prints for the same failure: "[Errno 111] Connection
 * refused", "timed out", "[Errno -2] Name or service not known". The string
 * lives in thread-local storage and stays valid until the next nk_strerror()
 * call in the same thread; use nk_strerror_r() to keep it longer. */
NK_EXTERN const char *nk_strerror(int code);

/* nk_strerror() into a caller buffer. Returns the message length.
 * Errors: NK_ENULL, NK_EBUFSIZE (the message is then truncated but still
 * NUL-terminated if cap > 0). */
NK_EXTERN int nk_strerror_r(int code, char *buf, size_t cap);

/* ======================================================================== */
/* Addresses                                                                */
/* ======================================================================== */
/*
 * An nk_addr holds one socket address by value (IPv4 or IPv6), so it can live
 * on the stack. Addresses netkit returns are normalised: an IPv4 peer seen on a
 * dual-stack socket (::ffff:a.b.c.d) is reported as plain IPv4.
 */
typedef struct nk_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} nk_addr;

/* Enough for any text nk_addr_format / nk_addr_tuple / nk_addr_host produce. */
#define NK_ADDRSTRLEN 128

/* Sets *out from a numeric IPv4 or IPv6 literal (an IPv6 scope "%eth0" is
 * allowed; an IPv4-mapped literal ::ffff:a.b.c.d becomes IPv4) and a port.
 * No name lookup is done.
 * Errors: NK_ENULL, NK_EPORT, NK_EHOSTLEN, NK_EAI(EAI_NONAME) when ip is not numeric. */
NK_EXTERN int nk_addr_set(nk_addr *out, const char *ip, int port);

/* Parses "1.2.3.4:80" or "[::1]:80" into *out (numeric only).
 * Errors: NK_ENULL, NK_EINVAL (malformed), NK_EPORT, NK_EHOSTLEN, NK_EAI(EAI_NONAME). */
NK_EXTERN int nk_addr_parse(nk_addr *out, const char *text);

/* Writes "1.2.3.4:80" or "[::1]:80" into buf. Returns the text length.
 * Errors: NK_ENULL, NK_EINVAL (not a whole IPv4/IPv6 address: another family,
 * or a len shorter than the family's sockaddr or longer than ss), NK_EBUFSIZE. */
NK_EXTERN int nk_addr_format(const nk_addr *addr, char *buf, size_t cap);

/* Writes the address as Python prints its address tuple: "('127.0.0.1', 80)",
 * "('::1', 80, 0, 0)", "('fe80::1', 80, 0, 2)" (the scope is the 4th field).
 * Returns the text length. Errors as nk_addr_format. */
NK_EXTERN int nk_addr_tuple(const nk_addr *addr, char *buf, size_t cap);

/* Writes only the numeric host ("127.0.0.1", "::1", "fe80::1%eth0"). An IPv6
 * scope is the interface's name for a link-local address, its number
 * otherwise ("2001:db8::1%2"), so the text parses back to the same address.
 * Returns the text length. Errors as nk_addr_format. */
NK_EXTERN int nk_addr_host(const nk_addr *addr, char *buf, size_t cap);

/* The port (0..65535). Errors: NK_ENULL, NK_EINVAL. */
NK_EXTERN int nk_addr_port(const nk_addr *addr);

/* AF_INET or AF_INET6. Errors: NK_ENULL, NK_EINVAL. */
NK_EXTERN int nk_addr_family(const nk_addr *addr);

/* 1 when a and b are the same family, host, port (and IPv6 scope), else 0.
 * Errors: NK_ENULL. */
NK_EXTERN int nk_addr_equal(const nk_addr *a, const nk_addr *b);

/* ======================================================================== */
/* Name resolution (Python's socket.gethostname, gethostbyname, ...)        */
/* ======================================================================== */
/*
 * These use the system resolver and block for as long as it does (its own
 * timeouts apply, as in Python). They are thread-safe.
 */

/* The machine's host name into buf. Returns its length.
 * Errors: NK_ENULL, NK_EBUFSIZE, a socket error. */
NK_EXTERN int nk_gethostname(char *buf, size_t cap);

/* The first IPv4 address of name as dotted text ("93.184.216.34"), like
 * socket.gethostbyname; as there, "" gives "0.0.0.0" and "<broadcast>"
 * "255.255.255.255". Returns the text length.
 * Errors: NK_ENULL, NK_EHOSTLEN, NK_EBUFSIZE, NK_EAI(...) such as
 * "[Errno -2] Name or service not known" or, for an IPv6 literal,
 * "[Errno -9] Address family for hostname not supported". */
NK_EXTERN int nk_gethostbyname(const char *name, char *buf, size_t cap);

/* The primary host name of an address (or of a name, resolved first), like
 * socket.gethostbyaddr(...)[0]. Returns its length.
 * Errors: NK_ENULL, NK_EHOSTLEN, NK_EBUFSIZE, NK_EAI(...) when addr does not
 * resolve, NK_EHOST(h_errno) ("[Errno 1] Unknown host") when no name is found. */
NK_EXTERN int nk_gethostbyaddr(const char *addr, char *buf, size_t cap);

/* One result of nk_getaddrinfo, as Python's 5-tuple
 * (family, type, proto, canonname, sockaddr). */
typedef struct nk_addrinfo {
    struct nk_addrinfo *next; /* NULL on the last entry */
    int family;               /* AF_INET or AF_INET6 */
    int socktype;             /* SOCK_STREAM, SOCK_DGRAM, SOCK_RAW */
    int protocol;             /* IPPROTO_TCP, IPPROTO_UDP, 0 */
    char *canonname;          /* with AI_CANONNAME on the first entry, else NULL */
    nk_addr addr;
} nk_addrinfo;

/* Every address of host (NULL for the wildcard/loopback, as getaddrinfo(3)),
 * port 0..65535, filtered by family (AF_UNSPEC, AF_INET, AF_INET6), socktype
 * (0 for all) and AI_xxx flags, like socket.getaddrinfo. *out receives a list
 * the caller frees with nk_freeaddrinfo(). Returns the number of entries.
 * Errors: NK_ENULL (out), NK_EPORT, NK_EHOSTLEN, NK_EAI(...), -ENOMEM. */
NK_EXTERN int nk_getaddrinfo(const char *host, int port, int family, int socktype, int flags,
                             nk_addrinfo **out);

/* Frees a list from nk_getaddrinfo; NULL is a no-op. */
NK_EXTERN void nk_freeaddrinfo(nk_addrinfo *list);

/* ======================================================================== */
/* Timeouts                                                                 */
/* ======================================================================== */
#define NK_BLOCK (-1) /* Python's settimeout(None): block forever */
#define NK_NONBLOCK 0 /* Python's settimeout(0) / setblocking(False) */

/* ======================================================================== */
/* nk_tcp_client - a connected TCP stream                                   */
/* ======================================================================== */
typedef struct nk_tcp_client nk_tcp_client;

/* Connects to host:port like socket.create_connection: every resolved address
 * is tried in turn until one accepts; timeout_ms bounds all the attempts
 * together (name resolution itself uses the system resolver's timeouts) and
 * becomes the client's timeout. A timeout of NK_NONBLOCK fails with -EINPROGRESS,
 * as Python does. On failure the last attempt's error is returned and no fd is
 * left open.
 * Errors: NK_ENULL, NK_EPORT, NK_EHOSTLEN, NK_EINVAL (timeout < -1),
 * NK_EAI(...), NK_ETIMEOUT, socket errors such as -ECONNREFUSED. */
NK_EXTERN int nk_tcp_connect(nk_tcp_client **out, const char *host, int port, int timeout_ms);

/* As nk_tcp_connect, to one already resolved address; NK_EINVAL when addr
 * is not a whole IPv4/IPv6 address (see nk_addr_format). */
NK_EXTERN int nk_tcp_connect_addr(nk_tcp_client **out, const nk_addr *addr, int timeout_ms);

/* Closes the connection and frees the handle; NULL is a no-op. Inside a serve
 * handler (nk_tcp_server_serve) the handle stays allocated until the handler
 * returns and every later call on it returns NK_ECLOSED. */
NK_EXTERN void nk_tcp_client_close(nk_tcp_client *c);

/* Sets the timeout of every later call on c (NK_BLOCK, NK_NONBLOCK or ms > 0).
 * Errors: NK_ENULL, NK_ECLOSED, NK_EINVAL (timeout < -1), a socket error. */
NK_EXTERN int nk_tcp_client_settimeout(nk_tcp_client *c, int timeout_ms);

/* The current timeout in milliseconds (NK_BLOCK is -1). Errors: NK_ENULL, NK_ECLOSED. */
NK_EXTERN int nk_tcp_client_gettimeout(const nk_tcp_client *c);

/* Sends up to len bytes; returns how many were sent (may be fewer than len).
 * Never raises SIGPIPE: a closed peer is -EPIPE or -ECONNRESET.
 * Errors: NK_ENULL, NK_EINVAL (len > SSIZE_MAX), NK_ECLOSED, NK_ETIMEOUT,
 * -EAGAIN (non-blocking), socket errors. */
NK_EXTERN ssize_t nk_tcp_client_send(nk_tcp_client *c, const void *buf, size_t len);

/* Sends all len bytes or fails; the timeout bounds the whole call (Python 3.5+).
 * If sent is not NULL it receives the number of bytes sent, also on failure.
 * Returns 0. Errors: as nk_tcp_client_send. */
NK_EXTERN int nk_tcp_client_sendall(nk_tcp_client *c, const void *buf, size_t len, size_t *sent);

/* Receives up to len bytes; returns how many (0 = the peer closed its side).
 * After a failed flush of queued output (nk_tcp_client_queue: a reset peer),
 * the end of stream is that error instead of 0, for every receive call: the
 * connection did not end cleanly (and recv_line returns no partial last line).
 * Errors: NK_ENULL, NK_EINVAL (len > SSIZE_MAX), NK_ECLOSED, NK_ETIMEOUT,
 * -EAGAIN (non-blocking), socket errors. */
NK_EXTERN ssize_t nk_tcp_client_recv(nk_tcp_client *c, void *buf, size_t len);

/* Receives exactly len bytes, the timeout bounding the whole call. Returns len,
 * or fewer (possibly 0) when the peer closed first, like recv(MSG_WAITALL).
 * On an error (a timeout, -EAGAIN) the bytes already received stay buffered in
 * c and the next receive call returns them: nothing is lost.
 * Errors: as nk_tcp_client_recv. */
NK_EXTERN ssize_t nk_tcp_client_recv_exact(nk_tcp_client *c, void *buf, size_t len);

/* Receives one line: bytes up to and including '\n', stored NUL-terminated in
 * buf. Returns the line length (0 only at end of stream); at end of stream the
 * last line may lack its '\n'. A line that does not fit (cap - 1 bytes without a
 * '\n') fails with -EMSGSIZE after storing and consuming those cap - 1 bytes,
 * so memory stays bounded; the next call continues the same line. Bytes read
 * past the line stay buffered in c for later recv calls. The timeout bounds the
 * whole call; on a timeout (or -EAGAIN) the partial line stays buffered and the
 * next call returns it whole. The first call allocates an 8 KiB read buffer;
 * it is freed by close, and also when a call fails (-EAGAIN, a timeout) with
 * nothing buffered, so an idle non-blocking connection holds none.
 * Errors: NK_ENULL, NK_EINVAL (cap < 2 or > SSIZE_MAX), as nk_tcp_client_recv,
 * -EMSGSIZE, -ENOMEM (no read buffer). */
NK_EXTERN ssize_t nk_tcp_client_recv_line(nk_tcp_client *c, char *buf, size_t cap);

/* Shuts down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR).
 * Errors: NK_ENULL, NK_ECLOSED, NK_EINVAL, socket errors (-ENOTCONN). */
NK_EXTERN int nk_tcp_client_shutdown(nk_tcp_client *c, int how);

/* Turns Nagle's algorithm off (on != 0) or on. Errors: NK_ENULL, NK_ECLOSED, socket errors. */
NK_EXTERN int nk_tcp_client_set_nodelay(nk_tcp_client *c, int on);

/* Turns TCP keepalive on or off; idle_s > 0 also sets the idle time before the
 * first probe (TCP_KEEPIDLE), 0 keeps the system's. Errors: NK_ENULL,
 * NK_ECLOSED, NK_EINVAL (idle_s < 0), socket errors (-EINVAL for an idle time
 * the system refuses, over 32767 s on Linux: nothing is changed then). */
NK_EXTERN int nk_tcp_client_set_keepalive(nk_tcp_client *c, int on, int idle_s);

/* The peer's address (getpeername). Errors: NK_ENULL, NK_ECLOSED, socket errors. */
NK_EXTERN int nk_tcp_client_peername(const nk_tcp_client *c, nk_addr *out);

/* The local address (getsockname). Errors: NK_ENULL, NK_ECLOSED, socket errors. */
NK_EXTERN int nk_tcp_client_sockname(const nk_tcp_client *c, nk_addr *out);

/* The socket's file descriptor, still owned by c. Errors: NK_ENULL, NK_ECLOSED. */
NK_EXTERN int nk_tcp_client_fd(const nk_tcp_client *c);

/* Buffered non-blocking output, for servers that write to many clients from
 * one thread (asyncio's transport.write). Queued bytes leave in order, before
 * any later queued byte; do not mix them with send/sendall on the same client
 * while bytes are queued. A client registered with an nk_selector is flushed
 * by nk_selector_select whenever its socket is writable, so the caller only
 * queues. The buffer is allocated when bytes first have to wait and freed when
 * it drains: an idle connection holds none. */

/* Queues len bytes: sends what the socket takes now without blocking (one
 * send(2), only when nothing is queued yet) and keeps the rest. Fails, with
 * nothing sent or queued, when the bytes already queued plus len would exceed
 * the client's limit (nk_tcp_client_set_queue_limit): then the peer is not
 * reading fast enough. After a failed flush the error sticks: every later call
 * returns it (a receive call once the bytes that arrived are taken) and the
 * queued bytes are dropped. Returns 0.
 * Errors: NK_ENULL, NK_EINVAL (len > SSIZE_MAX), NK_ECLOSED, -ENOBUFS ("[Errno
 * 105] No buffer space available": the limit), -ENOMEM, socket errors (-EPIPE,
 * -ECONNRESET). */
NK_EXTERN int nk_tcp_client_queue(nk_tcp_client *c, const void *buf, size_t len);

/* Sends queued bytes without blocking until the socket takes no more. Returns
 * the number of bytes still queued (0: drained, the buffer is freed).
 * Errors: NK_ENULL, NK_ECLOSED, socket errors (sticky, as for queue). */
NK_EXTERN ssize_t nk_tcp_client_flush(nk_tcp_client *c);

/* The number of bytes queued and not yet sent. Errors: NK_ENULL, NK_ECLOSED. */
NK_EXTERN ssize_t nk_tcp_client_queued(const nk_tcp_client *c);

/* Sets the most bytes that may wait in c's queue (default NK_QUEUE_LIMIT,
 * 64 KiB; 1..SSIZE_MAX). A limit below what is queued now only refuses later
 * queue calls. Errors: NK_ENULL, NK_ECLOSED, NK_EINVAL (0 or too large). */
NK_EXTERN int nk_tcp_client_set_queue_limit(nk_tcp_client *c, size_t limit);
#define NK_QUEUE_LIMIT ((size_t)65536)

/* ======================================================================== */
/* nk_tcp_server - a listening TCP socket                                   */
/* ======================================================================== */
typedef struct nk_tcp_server nk_tcp_server;

/* Options for nk_tcp_server_open; all-zero (or a NULL pointer) means defaults. */
typedef struct nk_tcp_server_opts {
    int backlog;    /* listen(2) backlog; 0 = SOMAXCONN */
    int family;     /* AF_UNSPEC (0, default), AF_INET or AF_INET6 */
    int reuse_port; /* non-zero: SO_REUSEPORT, several servers on one port */
    int v6only;     /* non-zero: an IPv6 wildcard accepts IPv6 only */
} nk_tcp_server_opts;

/* Resolves host (AI_PASSIVE), creates the socket with SO_REUSEADDR, binds and
 * listens. A NULL or empty host binds every interface, dual-stack IPv6 where
 * the system allows and IPv4 otherwise. A named host binds its first address
 * that binds, IPv4 addresses first (as Python's default AF_INET socket does).
 * Port 0 binds an ephemeral port, reported by nk_tcp_server_port().
 * Errors: NK_ENULL (out), NK_EPORT, NK_EHOSTLEN, NK_EINVAL (bad opts),
 * NK_EAI(...), socket errors (-EADDRINUSE "[Errno 98] Address already in use"). */
NK_EXTERN int nk_tcp_server_open(nk_tcp_server **out, const char *host, int port,
                                 const nk_tcp_server_opts *opts);

/* Closes the listening socket and frees the handle; NULL is a no-op. Must not
 * be called while nk_tcp_server_serve runs on it (call shutdown, wait for
 * serve to return, then close). */
NK_EXTERN void nk_tcp_server_close(nk_tcp_server *s);

/* Accepts one connection, waiting up to timeout_ms (NK_BLOCK, NK_NONBLOCK or
 * ms). *out receives a blocking client (timeout NK_BLOCK); peer, if not NULL,
 * the peer's address. EMFILE/ENFILE are returned, never retried in a loop.
 * Errors: NK_ENULL, NK_ECLOSED, NK_EINVAL, NK_ETIMEOUT, -EAGAIN (NK_NONBLOCK),
 * -ECANCELED after nk_tcp_server_shutdown, socket errors (-EMFILE). */
NK_EXTERN int nk_tcp_server_accept(nk_tcp_server *s, nk_tcp_client **out, nk_addr *peer,
                                   int timeout_ms);

/* The bound port (the real one after binding port 0). Errors: NK_ENULL, NK_ECLOSED. */
NK_EXTERN int nk_tcp_server_port(const nk_tcp_server *s);

/* The bound address (getsockname). Errors: NK_ENULL, NK_ECLOSED, socket errors. */
NK_EXTERN int nk_tcp_server_sockname(const nk_tcp_server *s, nk_addr *out);

/* The listening file descriptor, still owned by s. Errors: NK_ENULL, NK_ECLOSED. */
NK_EXTERN int nk_tcp_server_fd(const nk_tcp_server *s);

/* Called by nk_tcp_server_serve for each connection. The client is closed
 * and freed by serve when the handler returns. */
typedef void (*nk_tcp_handler)(nk_tcp_client *client, const nk_addr *peer, void *arg);

enum nk_serve_mode {
    NK_SERVE_SEQUENTIAL = 0, /* one connection at a time, in the calling thread */
    NK_SERVE_THREADS = 1     /* one thread per connection (ThreadingTCPServer) */
};

/* Options for nk_tcp_server_serve; all-zero (or NULL) means defaults. */
typedef struct nk_serve_opts {
    int mode;         /* enum nk_serve_mode */
    long max_clients; /* return after this many connections; 0 = until shutdown */
} nk_serve_opts;

/* Accepts connections and runs handler(client, peer, arg) for each, until
 * nk_tcp_server_shutdown() is called or max_clients connections were handled.
 * Before returning it waits for every handler to finish; in thread mode, on
 * shutdown the connections still open are shut down for reading, so handlers
 * blocked in recv see end of stream. Transient accept errors are retried, and
 * EMFILE/ENFILE/ENOBUFS/ENOMEM back off (about 100 ms) instead of spinning.
 * Returns 0. Errors: NK_ENULL, NK_ECLOSED, NK_EINVAL (bad opts), -ECANCELED when
 * the server was shut down before serve started, -ENOMEM/-EAGAIN when its
 * mutex cannot be created, other accept errors that cannot be recovered. */
NK_EXTERN int nk_tcp_server_serve(nk_tcp_server *s, nk_tcp_handler handler, void *arg,
                                  const nk_serve_opts *opts);

/* Makes nk_tcp_server_serve return and every pending or later
 * nk_tcp_server_accept fail with -ECANCELED. Safe to call from another thread
 * and from a signal handler (async-signal-safe); idempotent. The server stays
 * shut down until it is closed. Returns 0. Errors: NK_ENULL, NK_ECLOSED. */
NK_EXTERN int nk_tcp_server_shutdown(nk_tcp_server *s);

/* ======================================================================== */
/* nk_udp_endpoint - a UDP socket                                           */
/* ======================================================================== */
typedef struct nk_udp_endpoint nk_udp_endpoint;

/* Opens a UDP endpoint bound to host:port. A NULL or empty host binds every
 * interface (dual-stack IPv6 where the system allows, IPv4 otherwise); port 0
 * binds an ephemeral port. NULL host with port 0 is what an unbound Python UDP
 * socket becomes on its first sendto. Named hosts bind IPv4 first.
 * Errors: NK_ENULL (out), NK_EPORT, NK_EHOSTLEN, NK_EAI(...), socket errors. */
NK_EXTERN int nk_udp_open(nk_udp_endpoint **out, const char *host, int port);

/* Closes the socket and frees the handle; NULL is a no-op. */
NK_EXTERN void nk_udp_close(nk_udp_endpoint *u);

/* Sets / gets the timeout of later calls (NK_BLOCK, NK_NONBLOCK or ms > 0).
 * Errors: NK_ENULL, NK_ECLOSED, NK_EINVAL. */
NK_EXTERN int nk_udp_settimeout(nk_udp_endpoint *u, int timeout_ms);
NK_EXTERN int nk_udp_gettimeout(const nk_udp_endpoint *u);

/* Sends one datagram to host:port, resolved on each call; a name's IPv4
 * address is used first, as servers bind it first. Returns the bytes sent.
 * Errors: NK_ENULL, NK_ECLOSED, NK_EPORT, NK_EHOSTLEN, NK_EAI(...), NK_ETIMEOUT,
 * -EAGAIN, -EMSGSIZE (datagram too large), socket errors. */
NK_EXTERN ssize_t nk_udp_sendto(nk_udp_endpoint *u, const void *buf, size_t len, const char *host,
                                int port);

/* Sends one datagram to an address. Errors: as nk_udp_sendto, and NK_EINVAL
 * when to is not a whole IPv4/IPv6 address (see nk_addr_format). */
NK_EXTERN ssize_t nk_udp_sendto_addr(nk_udp_endpoint *u, const void *buf, size_t len,
                                     const nk_addr *to);

/* Receives one datagram into buf; from, if not NULL, receives the sender.
 * Returns its length. A datagram longer than cap is not silently cut: the
 * first cap bytes are stored, the rest is discarded and the call fails with
 * -EMSGSIZE ("[Errno 90] Message too long", what Python raises on Windows).
 * Errors: NK_ENULL, NK_ECLOSED, NK_ETIMEOUT, -EAGAIN, -EMSGSIZE, socket errors
 * (-ECONNREFUSED after an ICMP port unreachable on a connected endpoint). */
NK_EXTERN ssize_t nk_udp_recvfrom(nk_udp_endpoint *u, void *buf, size_t cap, nk_addr *from);

/* Sets the default peer: send() goes there and only its datagrams are received.
 * Errors: NK_ENULL, NK_ECLOSED, NK_EPORT, NK_EHOSTLEN, NK_EAI(...), socket errors. */
NK_EXTERN int nk_udp_connect(nk_udp_endpoint *u, const char *host, int port);

/* Sends one datagram to the connected peer. Errors: as nk_udp_sendto, -EDESTADDRREQ. */
NK_EXTERN ssize_t nk_udp_send(nk_udp_endpoint *u, const void *buf, size_t len);

/* Receives one datagram (from the connected peer when connected). Errors: as
 * nk_udp_recvfrom. */
NK_EXTERN ssize_t nk_udp_recv(nk_udp_endpoint *u, void *buf, size_t cap);

/* The local address / port / connected peer / fd of the endpoint.
 * Errors: NK_ENULL, NK_ECLOSED, socket errors (-ENOTCONN for peername). */
NK_EXTERN int nk_udp_sockname(const nk_udp_endpoint *u, nk_addr *out);
NK_EXTERN int nk_udp_port(const nk_udp_endpoint *u);
NK_EXTERN int nk_udp_peername(const nk_udp_endpoint *u, nk_addr *out);
NK_EXTERN int nk_udp_fd(const nk_udp_endpoint *u);

/* ======================================================================== */
/* nk_selector - many connections on one thread (Python's selectors)        */
/* ======================================================================== */
/*
 * Register netkit objects or plain fds for read and/or write interest with a
 * pointer of your own, then nk_selector_select() fills your array with the
 * ones that are ready. Readiness is level-triggered, as with Python's
 * selectors and poll(2): an fd with unread bytes is reported again by every
 * select until they are read, so a handler may read once per event. epoll(7)
 * is used where the system has it, poll(2) elsewhere (or when asked).
 *
 * Closing a registered object (nk_tcp_client_close, nk_tcp_server_close,
 * nk_udp_close) unregisters it first. Unregistering an fd (or closing its
 * object) while you walk the events of the last select sets that fd's pending
 * events in your array to 0 and their data to NULL, so a handler may close
 * other clients: skip events whose events field is 0. The array you passed to
 * the last select must therefore stay valid until the next select call (or
 * nk_selector_close): keep it beside the selector or in the function that
 * loops, never in a helper that returns before objects are closed.
 * A plain fd must be unregistered before it is closed.
 *
 * A selector and the objects registered with it belong to one thread at a
 * time; nk_selector_wakeup() alone may be called from any thread or from a
 * signal handler. select allocates nothing per event.
 */
typedef struct nk_selector nk_selector;

/* Event bits, equal to Python's selectors.EVENT_READ and EVENT_WRITE. */
#define NK_EVENT_READ 1
#define NK_EVENT_WRITE 2

/* One ready fd, as select reports it: events is what of its interest is ready
 * (an error or hang-up on the socket shows as readable and writable, so the
 * next recv or send reports it); data is the pointer given at registration. */
typedef struct nk_event {
    int fd;
    int events;
    void *data;
} nk_event;

enum nk_selector_backend {
    NK_SELECTOR_DEFAULT = 0, /* epoll where the system has it, else poll */
    NK_SELECTOR_EPOLL = 1,
    NK_SELECTOR_POLL = 2
};

/* Options for nk_selector_open; all-zero (or NULL) means defaults. */
typedef struct nk_selector_opts {
    int backend; /* enum nk_selector_backend */
} nk_selector_opts;

/* Creates a selector. Errors: NK_ENULL, NK_EINVAL (bad opts), -ENOSYS (epoll
 * asked where the system has none), -ENOMEM, socket errors (-EMFILE). */
NK_EXTERN int nk_selector_open(nk_selector **out, const nk_selector_opts *opts);

/* Frees the selector; the objects still registered stay open and are simply
 * no longer watched. NULL is a no-op. */
NK_EXTERN void nk_selector_close(nk_selector *sel);

/* "epoll" or "poll": the mechanism this selector uses; NULL for a bad handle. */
NK_EXTERN const char *nk_selector_backend(const nk_selector *sel);

/* Registers a plain fd (or a netkit object's) for events (NK_EVENT_READ,
 * NK_EVENT_WRITE or both) with data, returned with each of its events.
 * Errors: NK_ENULL, NK_EHANDLE, NK_EINVAL (fd < 0, events 0 or unknown bits),
 * -EEXIST (already registered), -EBADF (fd is not open: checked before any
 * memory is set aside for it), -EPERM (a regular file, for epoll), -ENOMEM. */
NK_EXTERN int nk_selector_register_fd(nk_selector *sel, int fd, int events, void *data);

/* Registers a netkit object, which is then unregistered by its close call; a
 * client also has its queued output (nk_tcp_client_queue) flushed by select.
 * Errors: as nk_selector_register_fd, and the object's NK_ENULL / NK_EHANDLE /
 * NK_ECLOSED. An object can be registered with one selector at a time (-EEXIST). */
NK_EXTERN int nk_selector_register_client(nk_selector *sel, nk_tcp_client *c, int events,
                                          void *data);
NK_EXTERN int nk_selector_register_server(nk_selector *sel, nk_tcp_server *s, int events,
                                          void *data);
NK_EXTERN int nk_selector_register_udp(nk_selector *sel, nk_udp_endpoint *u, int events,
                                       void *data);

/* Changes the interest and data of a registered fd.
 * Errors: NK_ENULL, NK_EHANDLE, NK_EINVAL, -ENOENT (not registered). */
NK_EXTERN int nk_selector_modify(nk_selector *sel, int fd, int events, void *data);

/* Stops watching fd (its object, if any, is left open).
 * Errors: NK_ENULL, NK_EHANDLE, NK_EINVAL, -ENOENT (not registered). */
NK_EXTERN int nk_selector_unregister(nk_selector *sel, int fd);

/* The interest and data of a registered fd (either pointer may be NULL).
 * Errors: NK_ENULL, NK_EHANDLE, NK_EINVAL, -ENOENT (not registered). */
NK_EXTERN int nk_selector_get(const nk_selector *sel, int fd, int *events, void **data);

/* The number of fds registered. Errors: NK_ENULL, NK_EHANDLE. */
NK_EXTERN int nk_selector_count(const nk_selector *sel);

/* Waits until a registered fd is ready, timeout_ms passed (NK_BLOCK: no limit,
 * 0: just look) or nk_selector_wakeup() was called, and stores up to max ready
 * fds in events. Signals do not end the wait (EINTR is retried, as Python does
 * since PEP 475); a handler calls nk_selector_wakeup to end it. Queued output
 * of registered clients is sent here and is not reported unless you asked for
 * NK_EVENT_WRITE. Returns the number of events stored: 0 after a timeout or a
 * wakeup. Errors: NK_ENULL, NK_EHANDLE, NK_EINVAL (max < 1, timeout < -1),
 * -ENOMEM, socket errors. */
NK_EXTERN int nk_selector_select(nk_selector *sel, nk_event *events, int max, int timeout_ms);

/* Makes the select running now (or the next one) return early. Safe from
 * any thread and from signal handlers (async-signal-safe). Returns 0.
 * Errors: NK_ENULL, NK_EHANDLE. */
NK_EXTERN int nk_selector_wakeup(nk_selector *sel);

#ifdef __cplusplus
}
#endif

#endif /* NETKIT_H */
