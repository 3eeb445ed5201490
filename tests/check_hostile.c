/*
 * check_hostile.c - every public function of netkit.h under hostile arguments.
 *
 * One table. Each row calls one exported function with one hostile input (NULL
 * for a pointer; an empty, over-long, long-labelled or control-character host
 * name; a port, timeout, length, enum or flag out of range; a dead, wrong or
 * closed handle) and states the documented result: the exact code and the
 * text nk_strerror gives for it, a string, or a void call that must do nothing.
 * Each row runs as one iteration of a loop test, so CK_FORK gives it its own
 * process: a crash or an abort fails that row. check-asan (LeakSanitizer) and
 * check-valgrind run the same rows and fail on a leak or a bad access.
 *
 * Forged handles are memory this file owns (never freed memory): a struct-sized
 * block of 0xA5 bytes whose magic is NK__MAGIC_DEAD (what close leaves behind)
 * or another object's magic. After every row that memory must be unchanged: a
 * call on a bad handle reads the magic and nothing else. The closed-but-
 * allocated handle netkit keeps is a client closed inside a serve handler; its
 * rows run inside such a handler.
 *
 * test_hostile_every_export_has_rows reads the functions the shared library
 * exports (nm -D, written by make to build/exports.txt) and fails when one has
 * no row, or a row names a function that is not exported.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tests.h"

/* ---- What a row is made of ------------------------------------------------- */

enum { T_CLIENT, T_SERVER, T_UDP, T_SEL };

/* A handle argument: a live object (the default), NULL, forged memory holding
 * the dead magic or another object's magic, or a client closed in a handler. */
enum { H_LIVE, H_NULL, H_DEAD, H_WRONG, H_CLOSED };

/* A host string argument; .text, when set, is used instead. */
enum { S_LOOP, S_NULL, S_EMPTY, S_256, S_1000, S_100000, S_LABEL64, S_COUNT };

/* A pointer argument (buffer, out-parameter): valid (the default) or NULL. */
enum { P_OK, P_NULL };

/* An nk_addr argument. */
enum { A_OK, A_NULL, A_FAMILY, A_HUGELEN, A_SHORT, A_ZERO, A_COUNT };

/* Set-up a row needs before its call. */
#define PREP_NONBLOCK 1 /* the live client and UDP endpoint get timeout 0 */
#define PREP_WAKE 2     /* nk_selector_wakeup before the call */
#define PREP_REGISTER 4 /* the live client is registered with the selector for READ */
#define PREP_DATAGRAM 8 /* a datagram to the UDP endpoint waits to be read */
#define PREP_POLL 16    /* the selector runs on poll(2) instead of the default */

/* How the result is checked. */
enum {
    X_CODE,    /* exactly .want; a negative one also has its documented text */
    X_ATLEAST, /* a count or length of at least .want */
    X_STR,     /* the call's string equals .want_str (NULL: must be NULL) */
    X_VOID     /* a void call: it returns, and the forged memory is unchanged */
};

struct world;

struct row { /* pointers, then 8-byte integers, then ints: no padding */
    const char *fn;    /* the exported function */
    const char *input; /* the hostile input, for messages */
    long (*call)(struct world *w, const struct row *r);
    const char *text; /* a literal string argument instead of s */
    const char *want_str;
    long long a, b; /* integer arguments: port, timeout, how, fd, events, code... */
    size_t n;       /* a length or capacity */
    long want;
    int h, h2; /* first and second handle argument (H_*) */
    int s;     /* host string (S_*) */
    int p, p2; /* pointer arguments (P_*) */
    int addr;  /* nk_addr argument (A_*) */
    int prep;  /* PREP_* */
    int x;     /* X_* */
};

/* Everything a row may use; made afresh for each row. */
struct world {
    nk_tcp_server *srv;       /* 127.0.0.1, ephemeral port */
    nk_tcp_client *cli, *acc; /* a connected pair through srv */
    nk_udp_endpoint *udp;     /* 127.0.0.1, ephemeral port */
    nk_selector *sel;
    nk_tcp_client *closed; /* inside a serve handler: the client it closed */
    char *host[S_COUNT];
    nk_addr addr[A_COUNT];
    const char *out_str; /* what a string-returning call gave */
    unsigned char *buf;  /* row_buf */
};

/* The buffer a row passes. A length larger than it is out of scope (the
 * caller owns its buffers), except where the call fails before any byte is
 * read or written: a length over SSIZE_MAX, a queue over its limit, a
 * recv_line capacity (its reads go to netkit's own buffer). */
static unsigned char row_buf[4096];

/* Forged handles: [0] holds the dead magic, [1] another object's magic. */
static _Alignas(64) unsigned char forged[2][1024];
static unsigned char forged_copy[2][1024];
static int forged_used[2];

static const uint32_t magic_of[] = {NK__MAGIC_CLIENT, NK__MAGIC_SERVER, NK__MAGIC_UDP,
                                    NK__MAGIC_SELECTOR};

static void *forge(int slot, uint32_t magic)
{
    memset(forged[slot], 0xA5, sizeof forged[slot]);
    memcpy(forged[slot], &magic, sizeof magic); /* every handle starts with its magic */
    memcpy(forged_copy[slot], forged[slot], sizeof forged[slot]);
    forged_used[slot] = 1;
    return forged[slot];
}

static void *handle(struct world *w, int type, int kind)
{
    switch (kind) {
    case H_NULL:
        return NULL;
    case H_DEAD:
        return forge(0, NK__MAGIC_DEAD);
    case H_WRONG:
        return forge(1, magic_of[(type + 1) % 4]); /* a server's magic for a client... */
    case H_CLOSED:
        ck_assert_msg(type == T_CLIENT && w->closed != NULL, "H_CLOSED is a served client");
        return w->closed;
    }
    switch (type) {
    case T_CLIENT:
        return w->cli;
    case T_SERVER:
        return w->srv;
    case T_UDP:
        return w->udp;
    default:
        return w->sel;
    }
}

#define CLIENT(kind) ((nk_tcp_client *)handle(w, T_CLIENT, (kind)))
#define SERVER(kind) ((nk_tcp_server *)handle(w, T_SERVER, (kind)))
#define UDP(kind) ((nk_udp_endpoint *)handle(w, T_UDP, (kind)))
#define SEL(kind) ((nk_selector *)handle(w, T_SEL, (kind)))

static const char *host_arg(struct world *w, const struct row *r)
{
    return r->text != NULL ? r->text : w->host[r->s];
}

static void *ptr(struct world *w, int p)
{
    return p == P_NULL ? NULL : w->buf;
}

static const nk_addr *addr_arg(struct world *w, const struct row *r)
{
    return r->addr == A_NULL ? NULL : &w->addr[r->addr];
}

static char *repeat(size_t n, char c)
{
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void world_open(struct world *w, int prep)
{
    memset(w, 0, sizeof *w);
    w->buf = row_buf;
    forged_used[0] = forged_used[1] = 0;
    tu_assert_code(nk_tcp_server_open(&w->srv, "127.0.0.1", 0, NULL), 0);
    int port = nk_tcp_server_port(w->srv);
    tu_assert_code(nk_tcp_connect(&w->cli, "127.0.0.1", port, 5000), 0);
    tu_assert_code(nk_tcp_server_accept(w->srv, &w->acc, NULL, 5000), 0);
    tu_assert_code(nk_udp_open(&w->udp, "127.0.0.1", 0), 0);
    nk_selector_opts so = {.backend = (prep & PREP_POLL) ? NK_SELECTOR_POLL : NK_SELECTOR_DEFAULT};
    tu_assert_code(nk_selector_open(&w->sel, &so), 0);

    w->host[S_LOOP] = strdup("127.0.0.1");
    w->host[S_EMPTY] = strdup("");
    w->host[S_256] = repeat(256, 'a');
    w->host[S_1000] = repeat(1000, 'b');
    w->host[S_100000] = repeat(100000, 'c');
    w->host[S_LABEL64] = repeat(64 + 8, 'd'); /* 64 d's, then ".example" */
    memcpy(w->host[S_LABEL64] + 64, ".example", 8);

    tu_assert_code(nk_addr_set(&w->addr[A_OK], "127.0.0.1", port), 0);
    w->addr[A_FAMILY] = w->addr[A_OK];
    w->addr[A_FAMILY].ss.ss_family = 0x7777;
    w->addr[A_HUGELEN] = w->addr[A_OK];
    w->addr[A_HUGELEN].len = (socklen_t)-1;
    w->addr[A_SHORT] = w->addr[A_OK];
    w->addr[A_SHORT].len = 4;
    memset(&w->addr[A_ZERO], 0, sizeof w->addr[A_ZERO]);

    if (prep & PREP_NONBLOCK) {
        tu_assert_code(nk_tcp_client_settimeout(w->cli, NK_NONBLOCK), 0);
        tu_assert_code(nk_udp_settimeout(w->udp, NK_NONBLOCK), 0);
    }
    if (prep & PREP_WAKE)
        tu_assert_code(nk_selector_wakeup(w->sel), 0);
    if (prep & PREP_REGISTER)
        tu_assert_code(nk_selector_register_client(w->sel, w->cli, NK_EVENT_READ, w), 0);
    if (prep & PREP_DATAGRAM) {
        nk_addr self;
        tu_assert_code(nk_udp_sockname(w->udp, &self), 0);
        tu_assert_code(nk_udp_sendto_addr(w->udp, "dgram", 5, &self), 5);
    }
}

static void world_close(struct world *w)
{
    for (int slot = 0; slot < 2; slot++)
        if (forged_used[slot])
            ck_assert_msg(memcmp(forged[slot], forged_copy[slot], sizeof forged[slot]) == 0,
                          "the call wrote into a forged handle (slot %d)", slot);
    nk_tcp_client_close(w->cli);
    nk_tcp_client_close(w->acc);
    nk_tcp_server_close(w->srv);
    nk_udp_close(w->udp);
    nk_selector_close(w->sel);
    for (int i = 0; i < S_COUNT; i++)
        free(w->host[i]);
}

/* ---- The documented text of each code a row expects ---------------------------- */

static const struct {
    long code;
    const char *text;
} documented[] = {
    {NK_ETIMEOUT, "timed out"},
    {NK_EINVAL, "invalid argument"},
    {NK_ENULL, "NULL pointer argument"},
    {NK_EPORT, "port must be 0-65535."},
    {NK_ECLOSED, "[Errno 9] Bad file descriptor"},
    {NK_EHANDLE, "not a valid netkit handle"},
    {NK_EHOSTLEN, "host name too long"},
    {NK_EBUFSIZE, "buffer too small"},
    {NK_EAI(EAI_NONAME), "[Errno -2] Name or service not known"},
    {NK_EAI(EAI_FAMILY), "[Errno -6] ai_family not supported"},
    {NK_EAI(EAI_SOCKTYPE), "[Errno -7] ai_socktype not supported"},
    {NK_EAI(EAI_BADFLAGS), "[Errno -1] Bad value for ai_flags"},
    {NK_EHOST(HOST_NOT_FOUND), "[Errno 1] Unknown host"},
    {-ENOENT, "[Errno 2] No such file or directory"},
    {-EBADF, "[Errno 9] Bad file descriptor"},
    {-EAGAIN, "[Errno 11] Resource temporarily unavailable"},
    {-EEXIST, "[Errno 17] File exists"},
    {-EINVAL, "[Errno 22] Invalid argument"},
    {-EPIPE, "[Errno 32] Broken pipe"},
    {-EDESTADDRREQ, "[Errno 89] Destination address required"},
    {-ENOBUFS, "[Errno 105] No buffer space available"},
    {-ENOTCONN, "[Errno 107] Transport endpoint is not connected"},
    {-EINPROGRESS, "[Errno 115] Operation now in progress"},
};

static const char *documented_text(long code)
{
    for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++)
        if (documented[i].code == code)
            return documented[i].text;
    return NULL;
}

/* ---- One adapter per exported function ----------------------------------------- */

/* Errors */

static long call_nk_version(struct world *w, const struct row *r)
{
    (void)r;
    w->out_str = nk_version();
    return 0;
}

static long call_nk_error_kind(struct world *w, const struct row *r)
{
    (void)w;
    return nk_error_kind((int)r->a);
}

static long call_nk_error_errno(struct world *w, const struct row *r)
{
    (void)w;
    return nk_error_errno((int)r->a);
}

static long call_nk_error_gai(struct world *w, const struct row *r)
{
    (void)w;
    return nk_error_gai((int)r->a);
}

static long call_nk_error_herrno(struct world *w, const struct row *r)
{
    (void)w;
    return nk_error_herrno((int)r->a);
}

static long call_nk_error_name(struct world *w, const struct row *r)
{
    w->out_str = nk_error_name((int)r->a);
    return 0;
}

static long call_nk_strerror(struct world *w, const struct row *r)
{
    w->out_str = nk_strerror((int)r->a);
    return 0;
}

static long call_nk_strerror_r(struct world *w, const struct row *r)
{
    memset(w->buf, 'X', 64);
    long rc = nk_strerror_r((int)r->a, ptr(w, r->p), r->n);
    if (r->p == P_OK && r->n == 0)
        ck_assert_int_eq(w->buf[0], 'X'); /* cap 0: not a byte written */
    else if (r->p == P_OK)
        w->out_str = (const char *)w->buf; /* truncated, but NUL-terminated */
    return rc;
}

/* Addresses */

static long call_nk_addr_set(struct world *w, const struct row *r)
{
    return nk_addr_set(r->p == P_NULL ? NULL : &w->addr[A_ZERO], host_arg(w, r), (int)r->a);
}

static long call_nk_addr_parse(struct world *w, const struct row *r)
{
    return nk_addr_parse(r->p == P_NULL ? NULL : &w->addr[A_ZERO], host_arg(w, r));
}

static long call_nk_addr_format(struct world *w, const struct row *r)
{
    memset(w->buf, 'X', 64);
    long rc = nk_addr_format(addr_arg(w, r), ptr(w, r->p), r->n);
    if (rc < 0 && r->p == P_OK)
        ck_assert_int_eq(w->buf[0], 'X'); /* a failure writes nothing */
    return rc;
}

static long call_nk_addr_tuple(struct world *w, const struct row *r)
{
    memset(w->buf, 'X', 64);
    long rc = nk_addr_tuple(addr_arg(w, r), ptr(w, r->p), r->n);
    if (rc < 0 && r->p == P_OK)
        ck_assert_int_eq(w->buf[0], 'X');
    return rc;
}

static long call_nk_addr_host(struct world *w, const struct row *r)
{
    memset(w->buf, 'X', 64);
    long rc = nk_addr_host(addr_arg(w, r), ptr(w, r->p), r->n);
    if (rc < 0 && r->p == P_OK)
        ck_assert_int_eq(w->buf[0], 'X');
    return rc;
}

static long call_nk_addr_port(struct world *w, const struct row *r)
{
    return nk_addr_port(addr_arg(w, r));
}

static long call_nk_addr_family(struct world *w, const struct row *r)
{
    return nk_addr_family(addr_arg(w, r));
}

static long call_nk_addr_equal(struct world *w, const struct row *r)
{
    /* .addr is the first argument, .b the second (an A_* too). */
    const nk_addr *b = r->b == A_NULL ? NULL : &w->addr[r->b];
    return nk_addr_equal(addr_arg(w, r), b);
}

/* Name resolution */

static long call_nk_gethostname(struct world *w, const struct row *r)
{
    return nk_gethostname(ptr(w, r->p), r->n);
}

static long call_nk_gethostbyname(struct world *w, const struct row *r)
{
    long rc = nk_gethostbyname(host_arg(w, r), ptr(w, r->p), r->n);
    if (rc >= 0)
        w->out_str = (const char *)w->buf;
    return rc;
}

static long call_nk_gethostbyaddr(struct world *w, const struct row *r)
{
    return nk_gethostbyaddr(host_arg(w, r), ptr(w, r->p), r->n);
}

static long call_nk_getaddrinfo(struct world *w, const struct row *r)
{
    nk_addrinfo *list = (nk_addrinfo *)w->buf; /* must become NULL or a list */
    long rc = nk_getaddrinfo(host_arg(w, r), (int)r->a, (int)(r->b >> 32), (int)r->n,
                             (int)r->b, r->p == P_NULL ? NULL : &list);
    if (r->p == P_OK) {
        if (rc < 0)
            ck_assert_ptr_null(list);
        nk_freeaddrinfo(rc < 0 ? NULL : list);
    }
    return rc;
}

static long call_nk_freeaddrinfo(struct world *w, const struct row *r)
{
    (void)w;
    (void)r;
    nk_freeaddrinfo(NULL);
    return 0;
}

/* nk_tcp_client */

static long call_nk_tcp_connect(struct world *w, const struct row *r)
{
    nk_tcp_client *c = NULL;
    int port = r->a == 0 ? nk_tcp_server_port(w->srv) : (int)r->a;
    long rc = nk_tcp_connect(r->p == P_NULL ? NULL : &c, host_arg(w, r), port, (int)r->b);
    if (rc == 0) {
        ck_assert_int_eq(nk_tcp_client_gettimeout(c), (int)r->b); /* not cut or wrapped */
        nk_tcp_client_close(c);
    } else {
        ck_assert_ptr_null(c);
    }
    return rc;
}

static long call_nk_tcp_connect_addr(struct world *w, const struct row *r)
{
    nk_tcp_client *c = NULL;
    long rc = nk_tcp_connect_addr(r->p == P_NULL ? NULL : &c, addr_arg(w, r), (int)r->b);
    if (rc == 0)
        nk_tcp_client_close(c);
    else
        ck_assert_ptr_null(c);
    return rc;
}

static long call_nk_tcp_client_close(struct world *w, const struct row *r)
{
    nk_tcp_client_close(CLIENT(r->h));
    return 0;
}

static long call_nk_tcp_client_settimeout(struct world *w, const struct row *r)
{
    nk_tcp_client *c = CLIENT(r->h);
    long rc = nk_tcp_client_settimeout(c, (int)r->a);
    if (rc == 0)
        ck_assert_int_eq(nk_tcp_client_gettimeout(c), (int)r->a);
    return rc;
}

static long call_nk_tcp_client_gettimeout(struct world *w, const struct row *r)
{
    return nk_tcp_client_gettimeout(CLIENT(r->h));
}

static long call_nk_tcp_client_send(struct world *w, const struct row *r)
{
    return nk_tcp_client_send(CLIENT(r->h), ptr(w, r->p), r->n);
}

static long call_nk_tcp_client_sendall(struct world *w, const struct row *r)
{
    size_t sent = 12345;
    long rc = nk_tcp_client_sendall(CLIENT(r->h), ptr(w, r->p), r->n,
                                    r->p2 == P_NULL ? NULL : &sent);
    if (r->p2 == P_OK && rc < 0)
        ck_assert_uint_eq(sent, 0); /* "also on failure" */
    return rc;
}

static long call_nk_tcp_client_recv(struct world *w, const struct row *r)
{
    return nk_tcp_client_recv(CLIENT(r->h), ptr(w, r->p), r->n);
}

static long call_nk_tcp_client_recv_exact(struct world *w, const struct row *r)
{
    return nk_tcp_client_recv_exact(CLIENT(r->h), ptr(w, r->p), r->n);
}

static long call_nk_tcp_client_recv_line(struct world *w, const struct row *r)
{
    return nk_tcp_client_recv_line(CLIENT(r->h), ptr(w, r->p), r->n);
}

static long call_nk_tcp_client_shutdown(struct world *w, const struct row *r)
{
    return nk_tcp_client_shutdown(CLIENT(r->h), (int)r->a);
}

static long call_nk_tcp_client_set_nodelay(struct world *w, const struct row *r)
{
    return nk_tcp_client_set_nodelay(CLIENT(r->h), (int)r->a);
}

static long call_nk_tcp_client_set_keepalive(struct world *w, const struct row *r)
{
    nk_tcp_client *c = CLIENT(r->h);
    long rc = nk_tcp_client_set_keepalive(c, (int)r->a, (int)r->b);
    if (rc < 0 && c == w->cli) {
        /* Refused: nothing was changed (keepalive is still off). */
        int on = -1;
        socklen_t len = sizeof on;
        ck_assert_int_eq(getsockopt(w->cli->fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
        ck_assert_int_eq(on, 0);
    }
    return rc;
}

static long call_nk_tcp_client_peername(struct world *w, const struct row *r)
{
    return nk_tcp_client_peername(CLIENT(r->h), r->p == P_NULL ? NULL : &w->addr[A_ZERO]);
}

static long call_nk_tcp_client_sockname(struct world *w, const struct row *r)
{
    return nk_tcp_client_sockname(CLIENT(r->h), r->p == P_NULL ? NULL : &w->addr[A_ZERO]);
}

static long call_nk_tcp_client_fd(struct world *w, const struct row *r)
{
    return nk_tcp_client_fd(CLIENT(r->h));
}

static long call_nk_tcp_client_queue(struct world *w, const struct row *r)
{
    nk_tcp_client *c = CLIENT(r->h);
    long rc = nk_tcp_client_queue(c, ptr(w, r->p), r->n);
    if (rc < 0 && c == w->cli)
        ck_assert_int_eq(nk_tcp_client_queued(c), 0); /* nothing queued */
    return rc;
}

static long call_nk_tcp_client_flush(struct world *w, const struct row *r)
{
    return nk_tcp_client_flush(CLIENT(r->h));
}

static long call_nk_tcp_client_queued(struct world *w, const struct row *r)
{
    return nk_tcp_client_queued(CLIENT(r->h));
}

static long call_nk_tcp_client_set_queue_limit(struct world *w, const struct row *r)
{
    return nk_tcp_client_set_queue_limit(CLIENT(r->h), r->n);
}

/* nk_tcp_server */

static long call_nk_tcp_server_open(struct world *w, const struct row *r)
{
    nk_tcp_server *s = NULL;
    /* .a the port, .b the backlog, .n the family (opts used when .p2 is P_OK). */
    nk_tcp_server_opts o = {.backlog = (int)r->b, .family = (int)r->n};
    long rc = nk_tcp_server_open(r->p == P_NULL ? NULL : &s, host_arg(w, r), (int)r->a,
                                 r->p2 == P_NULL ? NULL : &o);
    if (rc == 0)
        nk_tcp_server_close(s);
    else
        ck_assert_ptr_null(s);
    return rc;
}

static long call_nk_tcp_server_close(struct world *w, const struct row *r)
{
    nk_tcp_server_close(SERVER(r->h));
    return 0;
}

static long call_nk_tcp_server_accept(struct world *w, const struct row *r)
{
    nk_tcp_server *s = SERVER(r->h);
    nk_tcp_client *pending = NULL, *c = NULL;
    if (s == w->srv)
        tu_assert_code(nk_tcp_connect(&pending, "127.0.0.1", nk_tcp_server_port(s), 5000), 0);
    long rc = nk_tcp_server_accept(s, r->p == P_NULL ? NULL : &c,
                                   r->p2 == P_NULL ? NULL : &w->addr[A_ZERO], (int)r->a);
    if (rc == 0)
        nk_tcp_client_close(c);
    nk_tcp_client_close(pending);
    return rc;
}

static long call_nk_tcp_server_port(struct world *w, const struct row *r)
{
    return nk_tcp_server_port(SERVER(r->h));
}

static long call_nk_tcp_server_sockname(struct world *w, const struct row *r)
{
    return nk_tcp_server_sockname(SERVER(r->h), r->p == P_NULL ? NULL : &w->addr[A_ZERO]);
}

static long call_nk_tcp_server_fd(struct world *w, const struct row *r)
{
    return nk_tcp_server_fd(SERVER(r->h));
}

static void never_called(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    (void)c;
    (void)peer;
    (void)arg;
    ck_abort_msg("a handler ran for a serve call that should have been refused");
}

static long call_nk_tcp_server_serve(struct world *w, const struct row *r)
{
    /* .a the mode, .b max_clients (opts used when .p2 is P_OK). */
    nk_serve_opts o = {.mode = (int)r->a, .max_clients = (long)r->b};
    return nk_tcp_server_serve(SERVER(r->h), r->p == P_NULL ? NULL : never_called, NULL,
                               r->p2 == P_NULL ? NULL : &o);
}

static long call_nk_tcp_server_shutdown(struct world *w, const struct row *r)
{
    return nk_tcp_server_shutdown(SERVER(r->h));
}

/* nk_udp_endpoint */

static long call_nk_udp_open(struct world *w, const struct row *r)
{
    nk_udp_endpoint *u = NULL;
    long rc = nk_udp_open(r->p == P_NULL ? NULL : &u, host_arg(w, r), (int)r->a);
    if (rc == 0)
        nk_udp_close(u);
    else
        ck_assert_ptr_null(u);
    return rc;
}

static long call_nk_udp_close(struct world *w, const struct row *r)
{
    nk_udp_close(UDP(r->h));
    return 0;
}

static long call_nk_udp_settimeout(struct world *w, const struct row *r)
{
    nk_udp_endpoint *u = UDP(r->h);
    long rc = nk_udp_settimeout(u, (int)r->a);
    if (rc == 0) {
        /* A huge timeout is kept as it is and a ready datagram comes at once. */
        ck_assert_int_eq(nk_udp_gettimeout(u), (int)r->a);
        nk_addr self;
        tu_assert_code(nk_udp_sockname(u, &self), 0);
        tu_assert_code(nk_udp_sendto_addr(u, "x", 1, &self), 1);
        tu_assert_code(nk_udp_recvfrom(u, w->buf, sizeof row_buf, NULL), 1);
    }
    return rc;
}

static long call_nk_udp_gettimeout(struct world *w, const struct row *r)
{
    return nk_udp_gettimeout(UDP(r->h));
}

static long call_nk_udp_sendto(struct world *w, const struct row *r)
{
    nk_udp_endpoint *u = UDP(r->h);
    int port = r->a == 0 && u == w->udp ? nk_udp_port(u) : (int)r->a;
    return nk_udp_sendto(u, ptr(w, r->p), r->n, host_arg(w, r), port);
}

static long call_nk_udp_sendto_addr(struct world *w, const struct row *r)
{
    return nk_udp_sendto_addr(UDP(r->h), ptr(w, r->p), r->n, addr_arg(w, r));
}

static long call_nk_udp_recvfrom(struct world *w, const struct row *r)
{
    return nk_udp_recvfrom(UDP(r->h), ptr(w, r->p), r->n,
                           r->p2 == P_NULL ? NULL : &w->addr[A_ZERO]);
}

static long call_nk_udp_connect(struct world *w, const struct row *r)
{
    return nk_udp_connect(UDP(r->h), host_arg(w, r), (int)r->a);
}

static long call_nk_udp_send(struct world *w, const struct row *r)
{
    return nk_udp_send(UDP(r->h), ptr(w, r->p), r->n);
}

static long call_nk_udp_recv(struct world *w, const struct row *r)
{
    return nk_udp_recv(UDP(r->h), ptr(w, r->p), r->n);
}

static long call_nk_udp_sockname(struct world *w, const struct row *r)
{
    return nk_udp_sockname(UDP(r->h), r->p == P_NULL ? NULL : &w->addr[A_ZERO]);
}

static long call_nk_udp_port(struct world *w, const struct row *r)
{
    return nk_udp_port(UDP(r->h));
}

static long call_nk_udp_peername(struct world *w, const struct row *r)
{
    return nk_udp_peername(UDP(r->h), r->p == P_NULL ? NULL : &w->addr[A_ZERO]);
}

static long call_nk_udp_fd(struct world *w, const struct row *r)
{
    return nk_udp_fd(UDP(r->h));
}

/* nk_selector */

static long call_nk_selector_open(struct world *w, const struct row *r)
{
    (void)w;
    nk_selector *sel = NULL;
    nk_selector_opts o = {.backend = (int)r->a};
    long rc = nk_selector_open(r->p == P_NULL ? NULL : &sel, r->p2 == P_NULL ? NULL : &o);
    if (rc == 0)
        nk_selector_close(sel);
    else
        ck_assert_ptr_null(sel);
    return rc;
}

static long call_nk_selector_close(struct world *w, const struct row *r)
{
    nk_selector_close(SEL(r->h));
    return 0;
}

static long call_nk_selector_backend(struct world *w, const struct row *r)
{
    w->out_str = nk_selector_backend(SEL(r->h));
    return 0;
}

static long call_nk_selector_register_fd(struct world *w, const struct row *r)
{
    nk_selector *sel = SEL(r->h);
    long rc = nk_selector_register_fd(sel, r->a == 0 ? w->udp->fd : (int)r->a, (int)r->b, w);
    if (sel == w->sel)
        ck_assert_int_eq(nk_selector_count(sel), rc == 0 ? 1 : 0);
    return rc;
}

static long call_nk_selector_register_client(struct world *w, const struct row *r)
{
    return nk_selector_register_client(SEL(r->h), CLIENT(r->h2), (int)r->b, w);
}

static long call_nk_selector_register_server(struct world *w, const struct row *r)
{
    return nk_selector_register_server(SEL(r->h), SERVER(r->h2), (int)r->b, w);
}

static long call_nk_selector_register_udp(struct world *w, const struct row *r)
{
    return nk_selector_register_udp(SEL(r->h), UDP(r->h2), (int)r->b, w);
}

/* For modify/unregister/get: .a 0 means the live client's fd (PREP_REGISTER). */
static int fd_arg(struct world *w, const struct row *r)
{
    return r->a == 0 ? w->cli->fd : (int)r->a;
}

static long call_nk_selector_modify(struct world *w, const struct row *r)
{
    long rc = nk_selector_modify(SEL(r->h), fd_arg(w, r), (int)r->b, NULL);
    if (rc < 0 && (r->prep & PREP_REGISTER)) {
        /* Refused: the registration is as it was. */
        int events = 0;
        void *data = NULL;
        tu_assert_code(nk_selector_get(w->sel, w->cli->fd, &events, &data), 0);
        ck_assert_int_eq(events, NK_EVENT_READ);
        ck_assert_ptr_eq(data, w);
    }
    return rc;
}

static long call_nk_selector_unregister(struct world *w, const struct row *r)
{
    return nk_selector_unregister(SEL(r->h), fd_arg(w, r));
}

static long call_nk_selector_get(struct world *w, const struct row *r)
{
    int events = 0;
    void *data = NULL;
    return nk_selector_get(SEL(r->h), fd_arg(w, r), r->p == P_NULL ? NULL : &events,
                           r->p2 == P_NULL ? NULL : &data);
}

static long call_nk_selector_count(struct world *w, const struct row *r)
{
    return nk_selector_count(SEL(r->h));
}

static long call_nk_selector_select(struct world *w, const struct row *r)
{
    nk_event events[4];
    long long t0 = tu_now_ms();
    long rc = nk_selector_select(SEL(r->h), r->p == P_NULL ? NULL : events, (int)r->a, (int)r->b);
    /* A huge timeout is still a timeout: a wakeup ends it at once. */
    ck_assert_int_lt(tu_now_ms() - t0, TU_SLACK(2000));
    return rc;
}

static long call_nk_selector_wakeup(struct world *w, const struct row *r)
{
    return nk_selector_wakeup(SEL(r->h));
}

/* ---- The table ------------------------------------------------------------------ */

#define R(f, what, ...) {.fn = #f, .input = what, .call = call_##f, __VA_ARGS__}

/* The same handle rows for every call that takes one object first: NULL, a dead
 * handle, a wrong one (another object's magic). */
#define BAD_HANDLES(f, ...)                                                                        \
    R(f, "NULL handle", .h = H_NULL, .want = NK_ENULL, __VA_ARGS__),                               \
        R(f, "dead handle", .h = H_DEAD, .want = NK_EHANDLE, __VA_ARGS__),                         \
        R(f, "wrong handle", .h = H_WRONG, .want = NK_EHANDLE, __VA_ARGS__)

/* ...and for a client, also the one closed inside a serve handler. */
#define BAD_CLIENTS(f, ...)                                                                        \
    BAD_HANDLES(f, __VA_ARGS__), R(f, "closed client", .h = H_CLOSED, .want = NK_ECLOSED, __VA_ARGS__)

/* Host names a lookup refuses, as usage errors or as a name not known,
 * without asking a resolver. */
#define BAD_HOSTS(f, ...)                                                                          \
    R(f, "host of 256 chars", .s = S_256, .want = NK_EHOSTLEN, __VA_ARGS__),                       \
        R(f, "host of 1000 chars", .s = S_1000, .want = NK_EHOSTLEN, __VA_ARGS__),                 \
        R(f, "host of 100000 chars", .s = S_100000, .want = NK_EHOSTLEN, __VA_ARGS__),             \
        R(f, "label of 64 chars", .s = S_LABEL64, .want = NK_EHOSTLEN, __VA_ARGS__),               \
        R(f, "host with \\n", .text = "local\nhost", .want = NK_EAI(EAI_NONAME), __VA_ARGS__),      \
        R(f, "host with \\r", .text = "localhost\r", .want = NK_EAI(EAI_NONAME), __VA_ARGS__),      \
        R(f, "host with \\t", .text = "\tlocalhost", .want = NK_EAI(EAI_NONAME), __VA_ARGS__),      \
        R(f, "host with ESC", .text = "\x1b[2Jlocalhost", .want = NK_EAI(EAI_NONAME), __VA_ARGS__), \
        R(f, "host with DEL", .text = "local\x7fhost", .want = NK_EAI(EAI_NONAME), __VA_ARGS__)

/* Ports out of range (the host argument is valid). */
#define BAD_PORTS(f, ...)                                                                          \
    R(f, "port -1", .a = -1, .want = NK_EPORT, __VA_ARGS__),                                       \
        R(f, "port 65536", .a = 65536, .want = NK_EPORT, __VA_ARGS__),                             \
        R(f, "port INT_MAX", .a = INT_MAX, .want = NK_EPORT, __VA_ARGS__),                         \
        R(f, "port INT_MIN", .a = INT_MIN, .want = NK_EPORT, __VA_ARGS__)

/* Timeouts below NK_BLOCK. */
#define BAD_TIMEOUTS(f, ...)                                                                       \
    R(f, "timeout -2", .b = -2, .want = NK_EINVAL, __VA_ARGS__),                                   \
        R(f, "timeout INT_MIN", .b = INT_MIN, .want = NK_EINVAL, __VA_ARGS__)

/* Events other than READ, WRITE or both. */
#define BAD_EVENTS(f, ...)                                                                         \
    R(f, "events 0", .b = 0, .want = NK_EINVAL, __VA_ARGS__),                                      \
        R(f, "events 4", .b = 4, .want = NK_EINVAL, __VA_ARGS__),                                  \
        R(f, "events -1", .b = -1, .want = NK_EINVAL, __VA_ARGS__),                                \
        R(f, "events INT_MIN", .b = INT_MIN, .want = NK_EINVAL, __VA_ARGS__),                      \
        R(f, "events INT_MAX", .b = INT_MAX, .want = NK_EINVAL, __VA_ARGS__)

#define HUGE_HALF ((size_t)SIZE_MAX / 2) /* SSIZE_MAX: the largest length accepted */

static const struct row rows[] = {
    /* ---- errors: any int is a code; the answer is defined for all of them ---- */
    R(nk_version, "no arguments", .x = X_STR, .want_str = NK_VERSION_STRING),
    R(nk_error_kind, "INT_MIN", .a = INT_MIN, .want = NK_KIND_USAGE),
    R(nk_error_kind, "INT_MAX", .a = INT_MAX, .want = NK_KIND_OK),
    R(nk_error_kind, "-4999", .a = -4999, .want = NK_KIND_SOCKET),
    R(nk_error_kind, "-7999 (unknown own)", .a = -7999, .want = NK_KIND_USAGE),
    R(nk_error_errno, "INT_MIN", .a = INT_MIN, .want = 0),
    R(nk_error_errno, "INT_MAX", .a = INT_MAX, .want = 0),
    R(nk_error_errno, "-4999", .a = -4999, .want = 4999),
    R(nk_error_errno, "NK_ECLOSED", .a = NK_ECLOSED, .want = EBADF),
    R(nk_error_gai, "INT_MIN", .a = INT_MIN, .want = 0),
    R(nk_error_gai, "INT_MAX", .a = INT_MAX, .want = 0),
    R(nk_error_gai, "-5999", .a = -5999, .want = EAI_NONAME < 0 ? -999 : 999),
    R(nk_error_herrno, "INT_MIN", .a = INT_MIN, .want = 0),
    R(nk_error_herrno, "INT_MAX", .a = INT_MAX, .want = 0),
    R(nk_error_herrno, "-6999", .a = -6999, .want = 999),
    R(nk_error_name, "INT_MIN", .a = INT_MIN, .x = X_STR, .want_str = "UNKNOWN"),
    R(nk_error_name, "INT_MAX", .a = INT_MAX, .x = X_STR, .want_str = "OK"),
    R(nk_error_name, "-4999", .a = -4999, .x = X_STR, .want_str = "UNKNOWN"),
    R(nk_error_name, "-5999", .a = -5999, .x = X_STR, .want_str = "UNKNOWN"),
    R(nk_error_name, "-6999", .a = -6999, .x = X_STR, .want_str = "UNKNOWN"),
    R(nk_error_name, "-7999", .a = -7999, .x = X_STR, .want_str = "UNKNOWN"),
    R(nk_strerror, "INT_MIN", .a = INT_MIN, .x = X_STR,
      .want_str = "unknown netkit error -2147483648"),
    R(nk_strerror, "INT_MAX", .a = INT_MAX, .x = X_STR, .want_str = "Success"),
    R(nk_strerror, "-4999", .a = -4999, .x = X_STR, .want_str = "[Errno 4999] Unknown error 4999"),
    R(nk_strerror, "-7999", .a = -7999, .x = X_STR, .want_str = "unknown netkit error -7999"),
    R(nk_strerror_r, "NULL buffer", .a = NK_EINVAL, .p = P_NULL, .n = 64, .want = NK_ENULL),
    R(nk_strerror_r, "NULL buffer, cap 0", .a = NK_EINVAL, .p = P_NULL, .n = 0, .want = NK_ENULL),
    R(nk_strerror_r, "cap 0", .a = NK_EINVAL, .n = 0, .want = NK_EBUFSIZE),
    R(nk_strerror_r, "cap 1", .a = NK_EINVAL, .n = 1, .want = NK_EBUFSIZE),
    R(nk_strerror_r, "cap 8, INT_MIN", .a = INT_MIN, .n = 8, .want = NK_EBUFSIZE),
    R(nk_strerror_r, "cap SIZE_MAX", .a = NK_EINVAL, .n = SIZE_MAX, .want = 16),

    /* ---- nk_addr ---- */
    R(nk_addr_set, "NULL out", .p = P_NULL, .a = 80, .want = NK_ENULL),
    R(nk_addr_set, "NULL ip", .s = S_NULL, .a = 80, .want = NK_ENULL),
    R(nk_addr_set, "empty ip", .s = S_EMPTY, .a = 80, .want = NK_EAI(EAI_NONAME)),
    R(nk_addr_set, "ip of 256 chars", .s = S_256, .want = NK_EHOSTLEN),
    R(nk_addr_set, "ip of 1000 chars", .s = S_1000, .want = NK_EHOSTLEN),
    R(nk_addr_set, "ip of 100000 chars", .s = S_100000, .want = NK_EHOSTLEN),
    R(nk_addr_set, "ip with \\n", .text = "127.0.0.1\n", .want = NK_EAI(EAI_NONAME)),
    R(nk_addr_set, "ip with ESC", .text = "\x1b" "127.0.0.1", .want = NK_EAI(EAI_NONAME)),
    BAD_PORTS(nk_addr_set),
    R(nk_addr_parse, "NULL out", .p = P_NULL, .text = "1.2.3.4:80", .want = NK_ENULL),
    R(nk_addr_parse, "NULL text", .s = S_NULL, .want = NK_ENULL),
    R(nk_addr_parse, "empty text", .s = S_EMPTY, .want = NK_EINVAL),
    R(nk_addr_parse, "100000 chars, no port", .s = S_100000, .want = NK_EINVAL),
    R(nk_addr_parse, "host of 300 chars", .text = "111111111111111111111111111111111111111111"
      "1111111111111111111111111111111111111111111111111111111111111111111111111111111111"
      "1111111111111111111111111111111111111111111111111111111111111111111111111111111111"
      "111111111111111111111111111111111111111111111111111111111111111111111111111111111111:80",
      .want = NK_EHOSTLEN),
    R(nk_addr_parse, "port -1", .text = "1.2.3.4:-1", .want = NK_EINVAL),
    R(nk_addr_parse, "port 65536", .text = "1.2.3.4:65536", .want = NK_EPORT),
    R(nk_addr_parse, "port INT_MAX", .text = "1.2.3.4:2147483647", .want = NK_EPORT),
    R(nk_addr_parse, "port of 30 digits", .text = "1.2.3.4:999999999999999999999999999999",
      .want = NK_EPORT),
    R(nk_addr_parse, "no port", .text = "1.2.3.4:", .want = NK_EINVAL),
    R(nk_addr_parse, "no host", .text = ":80", .want = NK_EINVAL),
    R(nk_addr_parse, "unclosed [", .text = "[::1:80", .want = NK_EINVAL),
    R(nk_addr_parse, "[] without port", .text = "[::1]", .want = NK_EINVAL),
    R(nk_addr_parse, "junk after the port", .text = "[::1]:80\n", .want = NK_EINVAL),
    R(nk_addr_parse, "host with \\n", .text = "1.2.3.4\n:80", .want = NK_EAI(EAI_NONAME)),
    R(nk_addr_format, "NULL addr", .addr = A_NULL, .n = 64, .want = NK_ENULL),
    R(nk_addr_format, "NULL buffer", .p = P_NULL, .n = 64, .want = NK_ENULL),
    R(nk_addr_format, "family 0x7777", .addr = A_FAMILY, .n = 64, .want = NK_EINVAL),
    R(nk_addr_format, "len 0xffffffff", .addr = A_HUGELEN, .n = 64, .want = NK_EINVAL),
    R(nk_addr_format, "len 4", .addr = A_SHORT, .n = 64, .want = NK_EINVAL),
    R(nk_addr_format, "all zero", .addr = A_ZERO, .n = 64, .want = NK_EINVAL),
    R(nk_addr_format, "cap 0", .n = 0, .want = NK_EBUFSIZE),
    R(nk_addr_format, "cap SIZE_MAX", .n = SIZE_MAX, .x = X_ATLEAST, .want = 11),
    R(nk_addr_tuple, "NULL addr", .addr = A_NULL, .n = 64, .want = NK_ENULL),
    R(nk_addr_tuple, "NULL buffer", .p = P_NULL, .n = 64, .want = NK_ENULL),
    R(nk_addr_tuple, "family 0x7777", .addr = A_FAMILY, .n = 64, .want = NK_EINVAL),
    R(nk_addr_tuple, "len 0xffffffff", .addr = A_HUGELEN, .n = 64, .want = NK_EINVAL),
    R(nk_addr_tuple, "len 4", .addr = A_SHORT, .n = 64, .want = NK_EINVAL),
    R(nk_addr_tuple, "cap 0", .n = 0, .want = NK_EBUFSIZE),
    R(nk_addr_tuple, "cap SIZE_MAX", .n = SIZE_MAX, .x = X_ATLEAST, .want = 17),
    R(nk_addr_host, "NULL addr", .addr = A_NULL, .n = 64, .want = NK_ENULL),
    R(nk_addr_host, "NULL buffer", .p = P_NULL, .n = 64, .want = NK_ENULL),
    R(nk_addr_host, "family 0x7777", .addr = A_FAMILY, .n = 64, .want = NK_EINVAL),
    R(nk_addr_host, "len 0xffffffff", .addr = A_HUGELEN, .n = 64, .want = NK_EINVAL),
    R(nk_addr_host, "len 4", .addr = A_SHORT, .n = 64, .want = NK_EINVAL),
    R(nk_addr_host, "cap 0", .n = 0, .want = NK_EBUFSIZE),
    R(nk_addr_host, "cap SIZE_MAX", .n = SIZE_MAX, .want = 9),
    R(nk_addr_port, "NULL", .addr = A_NULL, .want = NK_ENULL),
    R(nk_addr_port, "family 0x7777", .addr = A_FAMILY, .want = NK_EINVAL),
    R(nk_addr_port, "len 0xffffffff", .addr = A_HUGELEN, .want = NK_EINVAL),
    R(nk_addr_port, "len 4", .addr = A_SHORT, .want = NK_EINVAL),
    R(nk_addr_family, "NULL", .addr = A_NULL, .want = NK_ENULL),
    R(nk_addr_family, "family 0x7777", .addr = A_FAMILY, .want = NK_EINVAL),
    R(nk_addr_family, "len 0xffffffff", .addr = A_HUGELEN, .want = NK_EINVAL),
    R(nk_addr_family, "all zero", .addr = A_ZERO, .want = NK_EINVAL),
    R(nk_addr_equal, "NULL first", .addr = A_NULL, .b = A_OK, .want = NK_ENULL),
    R(nk_addr_equal, "NULL second", .addr = A_OK, .b = A_NULL, .want = NK_ENULL),
    R(nk_addr_equal, "garbage and garbage", .addr = A_FAMILY, .b = A_FAMILY, .want = 0),
    R(nk_addr_equal, "len 0xffffffff both", .addr = A_HUGELEN, .b = A_HUGELEN, .want = 0),
    R(nk_addr_equal, "itself", .addr = A_OK, .b = A_OK, .want = 1),

    /* ---- name resolution ---- */
    R(nk_gethostname, "NULL buffer", .p = P_NULL, .n = 256, .want = NK_ENULL),
    R(nk_gethostname, "cap 0", .n = 0, .want = NK_EBUFSIZE),
    R(nk_gethostname, "cap 1", .n = 1, .want = NK_EBUFSIZE),
    R(nk_gethostname, "cap SIZE_MAX", .n = SIZE_MAX, .x = X_ATLEAST, .want = 1),
    R(nk_gethostbyname, "NULL name", .s = S_NULL, .n = 64, .want = NK_ENULL),
    R(nk_gethostbyname, "NULL buffer", .p = P_NULL, .n = 64, .want = NK_ENULL),
    BAD_HOSTS(nk_gethostbyname, .n = 64),
    R(nk_gethostbyname, "empty name", .s = S_EMPTY, .n = 64, .want = 7),
    R(nk_gethostbyname, "cap 0", .n = 0, .want = NK_EBUFSIZE),
    R(nk_gethostbyname, "cap SIZE_MAX", .n = SIZE_MAX, .want = 9),
    R(nk_gethostbyaddr, "NULL addr", .s = S_NULL, .n = 64, .want = NK_ENULL),
    R(nk_gethostbyaddr, "NULL buffer", .p = P_NULL, .n = 64, .want = NK_ENULL),
    BAD_HOSTS(nk_gethostbyaddr, .n = 64),
    R(nk_getaddrinfo, "NULL out", .p = P_NULL, .a = 80, .want = NK_ENULL),
    BAD_HOSTS(nk_getaddrinfo, .a = 80),
    BAD_PORTS(nk_getaddrinfo),
    R(nk_getaddrinfo, "empty host", .s = S_EMPTY, .a = 80, .want = NK_EAI(EAI_NONAME)),
    R(nk_getaddrinfo, "NULL host", .s = S_NULL, .a = 80, .x = X_ATLEAST, .want = 1),
    /* .b packs family (high 32 bits) and flags (low), .n the socket type. */
    R(nk_getaddrinfo, "family 12345", .a = 80, .b = 12345LL << 32, .want = NK_EAI(EAI_FAMILY)),
    R(nk_getaddrinfo, "family -1", .a = 80, .b = -1LL * (1LL << 32), .want = NK_EAI(EAI_FAMILY)),
    R(nk_getaddrinfo, "family INT_MIN", .a = 80, .b = (long long)INT_MIN * (1LL << 32),
      .want = NK_EAI(EAI_FAMILY)),
    R(nk_getaddrinfo, "socktype 999", .a = 80, .n = 999, .want = NK_EAI(EAI_SOCKTYPE)),
    R(nk_getaddrinfo, "socktype -1", .a = 80, .n = (size_t)-1, .want = NK_EAI(EAI_SOCKTYPE)),
    R(nk_getaddrinfo, "flags -1", .a = 80, .b = 0xffffffffLL, .want = NK_EAI(EAI_BADFLAGS)),
    R(nk_getaddrinfo, "flags INT_MAX", .a = 80, .b = INT_MAX, .want = NK_EAI(EAI_BADFLAGS)),
    R(nk_freeaddrinfo, "NULL list", .x = X_VOID),

    /* ---- nk_tcp_client ---- (.a 0: the world's server port) */
    R(nk_tcp_connect, "NULL out", .p = P_NULL, .b = 1000, .want = NK_ENULL),
    R(nk_tcp_connect, "NULL host", .s = S_NULL, .a = 80, .b = 1000, .want = NK_ENULL),
    R(nk_tcp_connect, "empty host", .s = S_EMPTY, .a = 80, .b = 1000, .want = NK_EAI(EAI_NONAME)),
    BAD_HOSTS(nk_tcp_connect, .a = 80, .b = 1000),
    BAD_PORTS(nk_tcp_connect, .b = 1000),
    BAD_TIMEOUTS(nk_tcp_connect),
    R(nk_tcp_connect, "timeout INT_MAX", .b = INT_MAX, .want = 0),
    R(nk_tcp_connect, "timeout 0", .b = NK_NONBLOCK, .want = -EINPROGRESS),
    R(nk_tcp_connect_addr, "NULL out", .p = P_NULL, .b = 1000, .want = NK_ENULL),
    R(nk_tcp_connect_addr, "NULL addr", .addr = A_NULL, .b = 1000, .want = NK_ENULL),
    R(nk_tcp_connect_addr, "family 0x7777", .addr = A_FAMILY, .b = 1000, .want = NK_EINVAL),
    R(nk_tcp_connect_addr, "len 0xffffffff", .addr = A_HUGELEN, .b = 1000, .want = NK_EINVAL),
    R(nk_tcp_connect_addr, "len 4", .addr = A_SHORT, .b = 1000, .want = NK_EINVAL),
    R(nk_tcp_connect_addr, "all zero", .addr = A_ZERO, .b = 1000, .want = NK_EINVAL),
    BAD_TIMEOUTS(nk_tcp_connect_addr),
    R(nk_tcp_connect_addr, "timeout INT_MAX", .b = INT_MAX, .want = 0),
    R(nk_tcp_client_close, "NULL handle", .h = H_NULL, .x = X_VOID),
    R(nk_tcp_client_close, "dead handle", .h = H_DEAD, .x = X_VOID),
    R(nk_tcp_client_close, "wrong handle", .h = H_WRONG, .x = X_VOID),
    R(nk_tcp_client_close, "closed client", .h = H_CLOSED, .x = X_VOID),
    BAD_CLIENTS(nk_tcp_client_settimeout, .a = 1000),
    R(nk_tcp_client_settimeout, "timeout -2", .a = -2, .want = NK_EINVAL),
    R(nk_tcp_client_settimeout, "timeout INT_MIN", .a = INT_MIN, .want = NK_EINVAL),
    R(nk_tcp_client_settimeout, "timeout INT_MAX", .a = INT_MAX, .want = 0),
    BAD_CLIENTS(nk_tcp_client_gettimeout),
    BAD_CLIENTS(nk_tcp_client_send, .n = 1),
    R(nk_tcp_client_send, "NULL buffer, len 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_tcp_client_send, "NULL buffer, len SIZE_MAX", .p = P_NULL, .n = SIZE_MAX,
      .want = NK_ENULL),
    R(nk_tcp_client_send, "NULL buffer, len 0", .p = P_NULL, .n = 0, .want = 0),
    R(nk_tcp_client_send, "len SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_tcp_client_send, "len SSIZE_MAX + 1", .n = HUGE_HALF + 1, .want = NK_EINVAL),
    BAD_CLIENTS(nk_tcp_client_sendall, .n = 1),
    R(nk_tcp_client_sendall, "NULL buffer, len 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_tcp_client_sendall, "NULL buffer and sent", .p = P_NULL, .p2 = P_NULL, .n = 1,
      .want = NK_ENULL),
    R(nk_tcp_client_sendall, "NULL buffer, len 0", .p = P_NULL, .n = 0, .want = 0),
    R(nk_tcp_client_sendall, "len SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_tcp_client_sendall, "NULL sent, len SIZE_MAX", .p2 = P_NULL, .n = SIZE_MAX,
      .want = NK_EINVAL),
    BAD_CLIENTS(nk_tcp_client_recv, .n = 1),
    R(nk_tcp_client_recv, "NULL buffer, len 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_tcp_client_recv, "NULL buffer, len 0", .p = P_NULL, .n = 0, .want = 0),
    R(nk_tcp_client_recv, "len SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_tcp_client_recv, "len SSIZE_MAX + 1", .n = HUGE_HALF + 1, .want = NK_EINVAL),
    BAD_CLIENTS(nk_tcp_client_recv_exact, .n = 1),
    R(nk_tcp_client_recv_exact, "NULL buffer, len 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_tcp_client_recv_exact, "NULL buffer, len 0", .p = P_NULL, .n = 0, .want = 0),
    R(nk_tcp_client_recv_exact, "len SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_tcp_client_recv_exact, "len SSIZE_MAX + 1", .n = HUGE_HALF + 1, .want = NK_EINVAL),
    BAD_CLIENTS(nk_tcp_client_recv_line, .n = 64),
    R(nk_tcp_client_recv_line, "NULL buffer", .p = P_NULL, .n = 64, .want = NK_ENULL),
    R(nk_tcp_client_recv_line, "cap 0", .n = 0, .want = NK_EINVAL),
    R(nk_tcp_client_recv_line, "cap 1", .n = 1, .want = NK_EINVAL),
    R(nk_tcp_client_recv_line, "cap SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    /* recv_line reads into its own buffer: cap only bounds the line. */
    R(nk_tcp_client_recv_line, "cap SIZE_MAX/2, nothing to read", .n = HUGE_HALF,
      .prep = PREP_NONBLOCK, .want = -EAGAIN),
    BAD_CLIENTS(nk_tcp_client_shutdown, .a = SHUT_RDWR),
    R(nk_tcp_client_shutdown, "how -1", .a = -1, .want = NK_EINVAL),
    R(nk_tcp_client_shutdown, "how 3", .a = 3, .want = NK_EINVAL),
    R(nk_tcp_client_shutdown, "how INT_MAX", .a = INT_MAX, .want = NK_EINVAL),
    R(nk_tcp_client_shutdown, "how INT_MIN", .a = INT_MIN, .want = NK_EINVAL),
    BAD_CLIENTS(nk_tcp_client_set_nodelay, .a = 1),
    R(nk_tcp_client_set_nodelay, "on INT_MIN", .a = INT_MIN, .want = 0),
    BAD_CLIENTS(nk_tcp_client_set_keepalive, .a = 1),
    R(nk_tcp_client_set_keepalive, "idle -1", .a = 1, .b = -1, .want = NK_EINVAL),
    R(nk_tcp_client_set_keepalive, "idle INT_MIN", .a = 1, .b = INT_MIN, .want = NK_EINVAL),
    R(nk_tcp_client_set_keepalive, "idle INT_MAX", .a = 1, .b = INT_MAX, .want = -EINVAL),
    R(nk_tcp_client_set_keepalive, "off, idle INT_MAX", .a = 0, .b = INT_MAX, .want = 0),
    R(nk_tcp_client_set_keepalive, "on INT_MIN", .a = INT_MIN, .b = 0, .want = 0),
    BAD_CLIENTS(nk_tcp_client_peername),
    R(nk_tcp_client_peername, "NULL out", .p = P_NULL, .want = NK_ENULL),
    BAD_CLIENTS(nk_tcp_client_sockname),
    R(nk_tcp_client_sockname, "NULL out", .p = P_NULL, .want = NK_ENULL),
    BAD_CLIENTS(nk_tcp_client_fd),
    BAD_CLIENTS(nk_tcp_client_queue, .n = 1),
    R(nk_tcp_client_queue, "NULL buffer, len 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_tcp_client_queue, "NULL buffer, len 0", .p = P_NULL, .n = 0, .want = 0),
    R(nk_tcp_client_queue, "len SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_tcp_client_queue, "len SIZE_MAX/2", .n = HUGE_HALF, .want = -ENOBUFS),
    BAD_CLIENTS(nk_tcp_client_flush),
    BAD_CLIENTS(nk_tcp_client_queued),
    BAD_CLIENTS(nk_tcp_client_set_queue_limit, .n = 1024),
    R(nk_tcp_client_set_queue_limit, "limit 0", .n = 0, .want = NK_EINVAL),
    R(nk_tcp_client_set_queue_limit, "limit SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_tcp_client_set_queue_limit, "limit SSIZE_MAX + 1", .n = HUGE_HALF + 1, .want = NK_EINVAL),
    R(nk_tcp_client_set_queue_limit, "limit SSIZE_MAX", .n = HUGE_HALF, .want = 0),

    /* ---- nk_tcp_server ---- */
    R(nk_tcp_server_open, "NULL out", .p = P_NULL, .want = NK_ENULL),
    BAD_HOSTS(nk_tcp_server_open),
    BAD_PORTS(nk_tcp_server_open),
    R(nk_tcp_server_open, "NULL host, NULL opts", .s = S_NULL, .p2 = P_NULL, .want = 0),
    R(nk_tcp_server_open, "empty host", .s = S_EMPTY, .want = 0),
    R(nk_tcp_server_open, "backlog -1", .b = -1, .want = NK_EINVAL),
    R(nk_tcp_server_open, "backlog INT_MIN", .b = INT_MIN, .want = NK_EINVAL),
    R(nk_tcp_server_open, "backlog INT_MAX", .b = INT_MAX, .want = 0),
    R(nk_tcp_server_open, "family 12345", .n = 12345, .want = NK_EINVAL),
    R(nk_tcp_server_open, "family -1", .n = (size_t)-1, .want = NK_EINVAL),
    R(nk_tcp_server_close, "NULL handle", .h = H_NULL, .x = X_VOID),
    R(nk_tcp_server_close, "dead handle", .h = H_DEAD, .x = X_VOID),
    R(nk_tcp_server_close, "wrong handle", .h = H_WRONG, .x = X_VOID),
    BAD_HANDLES(nk_tcp_server_accept, .a = 0),
    R(nk_tcp_server_accept, "NULL out", .p = P_NULL, .a = 1000, .want = NK_ENULL),
    R(nk_tcp_server_accept, "timeout -2", .a = -2, .want = NK_EINVAL),
    R(nk_tcp_server_accept, "timeout INT_MIN", .a = INT_MIN, .want = NK_EINVAL),
    R(nk_tcp_server_accept, "timeout INT_MAX, NULL peer", .a = INT_MAX, .p2 = P_NULL, .want = 0),
    BAD_HANDLES(nk_tcp_server_port),
    BAD_HANDLES(nk_tcp_server_sockname),
    R(nk_tcp_server_sockname, "NULL out", .p = P_NULL, .want = NK_ENULL),
    BAD_HANDLES(nk_tcp_server_fd),
    BAD_HANDLES(nk_tcp_server_serve, .a = NK_SERVE_SEQUENTIAL, .b = 1),
    R(nk_tcp_server_serve, "NULL handler", .p = P_NULL, .b = 1, .want = NK_ENULL),
    R(nk_tcp_server_serve, "mode 2", .a = 2, .b = 1, .want = NK_EINVAL),
    R(nk_tcp_server_serve, "mode -1", .a = -1, .b = 1, .want = NK_EINVAL),
    R(nk_tcp_server_serve, "mode INT_MAX", .a = INT_MAX, .b = 1, .want = NK_EINVAL),
    R(nk_tcp_server_serve, "max_clients -1", .b = -1, .want = NK_EINVAL),
    R(nk_tcp_server_serve, "max_clients LONG_MIN", .b = LONG_MIN, .want = NK_EINVAL),
    BAD_HANDLES(nk_tcp_server_shutdown),

    /* ---- nk_udp_endpoint ---- */
    R(nk_udp_open, "NULL out", .p = P_NULL, .want = NK_ENULL),
    BAD_HOSTS(nk_udp_open),
    BAD_PORTS(nk_udp_open),
    R(nk_udp_close, "NULL handle", .h = H_NULL, .x = X_VOID),
    R(nk_udp_close, "dead handle", .h = H_DEAD, .x = X_VOID),
    R(nk_udp_close, "wrong handle", .h = H_WRONG, .x = X_VOID),
    BAD_HANDLES(nk_udp_settimeout, .a = 1000),
    R(nk_udp_settimeout, "timeout -2", .a = -2, .want = NK_EINVAL),
    R(nk_udp_settimeout, "timeout INT_MIN", .a = INT_MIN, .want = NK_EINVAL),
    R(nk_udp_settimeout, "timeout INT_MAX", .a = INT_MAX, .want = 0),
    BAD_HANDLES(nk_udp_gettimeout),
    BAD_HANDLES(nk_udp_sendto, .n = 1),
    R(nk_udp_sendto, "NULL buffer, len 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_udp_sendto, "len SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_udp_sendto, "NULL host", .s = S_NULL, .a = 9, .n = 1, .want = NK_ENULL),
    R(nk_udp_sendto, "empty host", .s = S_EMPTY, .a = 9, .n = 1, .want = NK_EAI(EAI_NONAME)),
    BAD_HOSTS(nk_udp_sendto, .a = 9, .n = 1),
    BAD_PORTS(nk_udp_sendto, .n = 1),
    BAD_HANDLES(nk_udp_sendto_addr, .n = 1),
    R(nk_udp_sendto_addr, "NULL buffer, len 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_udp_sendto_addr, "len SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_udp_sendto_addr, "NULL addr", .addr = A_NULL, .n = 1, .want = NK_ENULL),
    R(nk_udp_sendto_addr, "family 0x7777", .addr = A_FAMILY, .n = 1, .want = NK_EINVAL),
    R(nk_udp_sendto_addr, "len 0xffffffff", .addr = A_HUGELEN, .n = 1, .want = NK_EINVAL),
    R(nk_udp_sendto_addr, "len 4", .addr = A_SHORT, .n = 1, .want = NK_EINVAL),
    R(nk_udp_sendto_addr, "all zero", .addr = A_ZERO, .n = 1, .want = NK_EINVAL),
    BAD_HANDLES(nk_udp_recvfrom, .n = 1),
    R(nk_udp_recvfrom, "NULL buffer, cap 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_udp_recvfrom, "cap SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_udp_recvfrom, "cap SSIZE_MAX + 1", .n = HUGE_HALF + 1, .want = NK_EINVAL),
    R(nk_udp_recvfrom, "NULL from", .p2 = P_NULL, .n = 64, .prep = PREP_DATAGRAM, .want = 5),
    BAD_HANDLES(nk_udp_connect, .a = 9),
    R(nk_udp_connect, "NULL host", .s = S_NULL, .a = 9, .want = NK_ENULL),
    R(nk_udp_connect, "empty host", .s = S_EMPTY, .a = 9, .want = NK_EAI(EAI_NONAME)),
    BAD_HOSTS(nk_udp_connect, .a = 9),
    BAD_PORTS(nk_udp_connect),
    BAD_HANDLES(nk_udp_send, .n = 1),
    R(nk_udp_send, "NULL buffer, len 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_udp_send, "len SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_udp_send, "not connected", .n = 1, .want = -EDESTADDRREQ),
    BAD_HANDLES(nk_udp_recv, .n = 1),
    R(nk_udp_recv, "NULL buffer, cap 1", .p = P_NULL, .n = 1, .want = NK_ENULL),
    R(nk_udp_recv, "cap SIZE_MAX", .n = SIZE_MAX, .want = NK_EINVAL),
    R(nk_udp_recv, "cap SSIZE_MAX + 1", .n = HUGE_HALF + 1, .want = NK_EINVAL),
    BAD_HANDLES(nk_udp_sockname),
    R(nk_udp_sockname, "NULL out", .p = P_NULL, .want = NK_ENULL),
    BAD_HANDLES(nk_udp_port),
    BAD_HANDLES(nk_udp_peername),
    R(nk_udp_peername, "NULL out", .p = P_NULL, .want = NK_ENULL),
    R(nk_udp_peername, "not connected", .want = -ENOTCONN),
    BAD_HANDLES(nk_udp_fd),

    /* ---- nk_selector ---- */
    R(nk_selector_open, "NULL out", .p = P_NULL, .want = NK_ENULL),
    R(nk_selector_open, "NULL opts", .p2 = P_NULL, .want = 0),
    R(nk_selector_open, "backend -1", .a = -1, .want = NK_EINVAL),
    R(nk_selector_open, "backend 3", .a = 3, .want = NK_EINVAL),
    R(nk_selector_open, "backend INT_MAX", .a = INT_MAX, .want = NK_EINVAL),
    R(nk_selector_open, "backend INT_MIN", .a = INT_MIN, .want = NK_EINVAL),
    R(nk_selector_close, "NULL handle", .h = H_NULL, .x = X_VOID),
    R(nk_selector_close, "dead handle", .h = H_DEAD, .x = X_VOID),
    R(nk_selector_close, "wrong handle", .h = H_WRONG, .x = X_VOID),
    R(nk_selector_backend, "NULL handle", .h = H_NULL, .x = X_STR, .want_str = NULL),
    R(nk_selector_backend, "dead handle", .h = H_DEAD, .x = X_STR, .want_str = NULL),
    R(nk_selector_backend, "wrong handle", .h = H_WRONG, .x = X_STR, .want_str = NULL),
    /* .a 0 registers the live UDP endpoint's fd. */
    BAD_HANDLES(nk_selector_register_fd, .b = NK_EVENT_READ),
    BAD_EVENTS(nk_selector_register_fd),
    R(nk_selector_register_fd, "fd -1", .a = -1, .b = NK_EVENT_READ, .want = NK_EINVAL),
    R(nk_selector_register_fd, "fd INT_MIN", .a = INT_MIN, .b = NK_EVENT_READ, .want = NK_EINVAL),
    R(nk_selector_register_fd, "fd INT_MAX", .a = INT_MAX, .b = NK_EVENT_READ, .want = -EBADF),
    R(nk_selector_register_fd, "fd 1000000", .a = 1000000, .b = NK_EVENT_READ, .want = -EBADF),
    R(nk_selector_register_fd, "fd INT_MAX, poll backend", .a = INT_MAX, .b = NK_EVENT_READ,
      .prep = PREP_POLL, .want = -EBADF),
    R(nk_selector_register_fd, "fd 1000000, poll backend", .a = 1000000, .b = NK_EVENT_READ,
      .prep = PREP_POLL, .want = -EBADF),
    BAD_HANDLES(nk_selector_register_client, .b = NK_EVENT_READ),
    R(nk_selector_register_client, "NULL client", .h2 = H_NULL, .b = NK_EVENT_READ,
      .want = NK_ENULL),
    R(nk_selector_register_client, "dead client", .h2 = H_DEAD, .b = NK_EVENT_READ,
      .want = NK_EHANDLE),
    R(nk_selector_register_client, "wrong client", .h2 = H_WRONG, .b = NK_EVENT_READ,
      .want = NK_EHANDLE),
    R(nk_selector_register_client, "closed client", .h2 = H_CLOSED, .b = NK_EVENT_READ,
      .want = NK_ECLOSED),
    BAD_EVENTS(nk_selector_register_client),
    BAD_HANDLES(nk_selector_register_server, .b = NK_EVENT_READ),
    R(nk_selector_register_server, "NULL server", .h2 = H_NULL, .b = NK_EVENT_READ,
      .want = NK_ENULL),
    R(nk_selector_register_server, "dead server", .h2 = H_DEAD, .b = NK_EVENT_READ,
      .want = NK_EHANDLE),
    R(nk_selector_register_server, "wrong server", .h2 = H_WRONG, .b = NK_EVENT_READ,
      .want = NK_EHANDLE),
    BAD_EVENTS(nk_selector_register_server),
    BAD_HANDLES(nk_selector_register_udp, .b = NK_EVENT_READ),
    R(nk_selector_register_udp, "NULL endpoint", .h2 = H_NULL, .b = NK_EVENT_READ,
      .want = NK_ENULL),
    R(nk_selector_register_udp, "dead endpoint", .h2 = H_DEAD, .b = NK_EVENT_READ,
      .want = NK_EHANDLE),
    R(nk_selector_register_udp, "wrong endpoint", .h2 = H_WRONG, .b = NK_EVENT_READ,
      .want = NK_EHANDLE),
    BAD_EVENTS(nk_selector_register_udp),
    /* .a 0 is the live client's fd, registered for READ with PREP_REGISTER. */
    BAD_HANDLES(nk_selector_modify, .b = NK_EVENT_READ, .prep = PREP_REGISTER),
    BAD_EVENTS(nk_selector_modify, .prep = PREP_REGISTER),
    R(nk_selector_modify, "fd -1", .a = -1, .b = NK_EVENT_READ, .want = NK_EINVAL),
    R(nk_selector_modify, "fd INT_MIN", .a = INT_MIN, .b = NK_EVENT_READ, .want = NK_EINVAL),
    R(nk_selector_modify, "fd INT_MAX", .a = INT_MAX, .b = NK_EVENT_READ, .want = -ENOENT),
    R(nk_selector_modify, "fd not registered", .b = NK_EVENT_READ, .want = -ENOENT),
    BAD_HANDLES(nk_selector_unregister, .prep = PREP_REGISTER),
    R(nk_selector_unregister, "fd -1", .a = -1, .want = NK_EINVAL),
    R(nk_selector_unregister, "fd INT_MIN", .a = INT_MIN, .want = NK_EINVAL),
    R(nk_selector_unregister, "fd INT_MAX", .a = INT_MAX, .want = -ENOENT),
    R(nk_selector_unregister, "fd not registered", .want = -ENOENT),
    BAD_HANDLES(nk_selector_get, .prep = PREP_REGISTER),
    R(nk_selector_get, "fd -1", .a = -1, .want = NK_EINVAL),
    R(nk_selector_get, "fd INT_MAX", .a = INT_MAX, .want = -ENOENT),
    R(nk_selector_get, "NULL events and data", .p = P_NULL, .p2 = P_NULL, .prep = PREP_REGISTER,
      .want = 0),
    BAD_HANDLES(nk_selector_count),
    BAD_HANDLES(nk_selector_select, .a = 4, .b = 0),
    R(nk_selector_select, "NULL events", .p = P_NULL, .a = 4, .b = 0, .want = NK_ENULL),
    R(nk_selector_select, "max 0", .a = 0, .b = 0, .want = NK_EINVAL),
    R(nk_selector_select, "max -1", .a = -1, .b = 0, .want = NK_EINVAL),
    R(nk_selector_select, "max INT_MIN", .a = INT_MIN, .b = 0, .want = NK_EINVAL),
    R(nk_selector_select, "timeout -2", .a = 4, .b = -2, .want = NK_EINVAL),
    R(nk_selector_select, "timeout INT_MIN", .a = 4, .b = INT_MIN, .want = NK_EINVAL),
    R(nk_selector_select, "timeout INT_MAX, woken", .a = 4, .b = INT_MAX, .prep = PREP_WAKE,
      .want = 0),
    R(nk_selector_select, "max INT_MAX, nothing ready", .a = INT_MAX, .b = 0, .want = 0),
    R(nk_selector_select, "timeout INT_MAX, woken, poll backend", .a = 4, .b = INT_MAX,
      .prep = PREP_WAKE | PREP_POLL, .want = 0),
    R(nk_selector_select, "max INT_MAX, nothing ready, poll backend", .a = INT_MAX, .b = 0,
      .prep = PREP_POLL, .want = 0),
    BAD_HANDLES(nk_selector_wakeup),
};

#define NROWS ((int)(sizeof rows / sizeof rows[0]))

/* ---- Running a row ------------------------------------------------------------- */

struct in_handler {
    struct world *w;
    const struct row *r;
    long got;
    int ran;
};

static void closed_handler(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    (void)peer;
    struct in_handler *ctx = arg;
    nk_tcp_client_close(c); /* it stays allocated until this handler returns */
    ctx->w->closed = c;
    ctx->got = ctx->r->call(ctx->w, ctx->r);
    ctx->w->closed = NULL;
    ctx->ran = 1;
}

/* Runs a row that uses H_CLOSED inside a serve handler, on one connection. */
static long call_with_closed_client(struct world *w, const struct row *r)
{
    nk_tcp_client *peer = NULL;
    tu_assert_code(nk_tcp_connect(&peer, "127.0.0.1", nk_tcp_server_port(w->srv), 5000), 0);
    struct in_handler ctx = {.w = w, .r = r};
    nk_serve_opts o = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = 1};
    tu_assert_code(nk_tcp_server_serve(w->srv, closed_handler, &ctx, &o), 0);
    ck_assert(ctx.ran);
    nk_tcp_client_close(peer);
    return ctx.got;
}

static void check_result(const struct row *r, int i, const struct world *w, long got)
{
    switch (r->x) {
    case X_CODE:
        ck_assert_msg(got == r->want, "row %d, %s (%s): expected %s (%ld), got %s (%ld): %s", i,
                      r->fn, r->input, nk_error_name((int)r->want), r->want,
                      nk_error_name((int)got), got, nk_strerror((int)got));
        if (r->want < 0 && r->call != call_nk_error_gai) {
            const char *text = documented_text(r->want);
            ck_assert_msg(text != NULL, "row %d: no documented text for %ld", i, r->want);
            ck_assert_msg(strcmp(nk_strerror((int)got), text) == 0,
                          "row %d, %s (%s): nk_strerror says '%s', documented '%s'", i, r->fn,
                          r->input, nk_strerror((int)got), text);
        }
        break;
    case X_ATLEAST:
        ck_assert_msg(got >= r->want, "row %d, %s (%s): expected at least %ld, got %ld (%s)", i,
                      r->fn, r->input, r->want, got, nk_strerror((int)got));
        break;
    case X_STR:
        ck_assert_msg(got == 0, "row %d, %s (%s): returned %ld", i, r->fn, r->input, got);
        if (r->want_str == NULL)
            ck_assert_msg(w->out_str == NULL, "row %d, %s (%s): expected NULL, got '%s'", i,
                          r->fn, r->input, w->out_str);
        else
            ck_assert_msg(w->out_str != NULL && strcmp(w->out_str, r->want_str) == 0,
                          "row %d, %s (%s): expected '%s', got '%s'", i, r->fn, r->input,
                          r->want_str, w->out_str != NULL ? w->out_str : "(null)");
        break;
    default: /* X_VOID: it returned; world_close checks the forged memory */
        break;
    }
}

START_TEST(test_hostile_row)
{
    const struct row *r = &rows[_i];
    struct world w;
    world_open(&w, r->prep);
    int fds = tu_count_fds();
    long got = r->h == H_CLOSED || r->h2 == H_CLOSED ? call_with_closed_client(&w, r)
                                                      : r->call(&w, r);
    check_result(r, _i, &w, got);
    /* Whatever the call made (a socket, a pipe) is closed again. */
    ck_assert_msg(tu_count_fds() == fds, "row %d, %s (%s): %d fds before, %d after", _i, r->fn,
                  r->input, fds, tu_count_fds());
    world_close(&w);
}
END_TEST

/* strerror_r truncates but terminates: the text of cap 8 is the first 7 bytes. */
START_TEST(test_hostile_strerror_r_truncates_and_terminates)
{
    char buf[8];
    tu_assert_code(nk_strerror_r(INT_MIN, buf, sizeof buf), NK_EBUFSIZE);
    ck_assert_str_eq(buf, "unknown");
    tu_assert_code(nk_strerror_r(NK_EINVAL, buf, 1), NK_EBUFSIZE);
    ck_assert_str_eq(buf, "");
}
END_TEST

/* The exports file: dirname(/proc/self/exe)/../exports.txt, made by make
 * (build/exports.txt for build/tests/check_netkit and build/asan/check_netkit);
 * NK_EXPORTS overrides it. */
static FILE *open_exports(char *path, size_t cap)
{
    const char *env = getenv("NK_EXPORTS");
    if (env != NULL) {
        snprintf(path, cap, "%s", env);
    } else {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        ck_assert_msg(n > 0, "readlink /proc/self/exe failed");
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        ck_assert_ptr_nonnull(slash);
        *slash = '\0';
        snprintf(path, cap, "%s/../exports.txt", exe);
    }
    return fopen(path, "r");
}

START_TEST(test_hostile_every_export_has_rows)
{
    char path[4200];
    FILE *f = open_exports(path, sizeof path);
    ck_assert_msg(f != NULL, "%s: cannot open the list of exported functions (make writes it "
                             "from nm -D of the shared library)", path);
    char name[128], missing[4096] = "";
    static char exported[256][128];
    int nexported = 0;
    while (nexported < 256 && fscanf(f, "%127s", name) == 1) {
        snprintf(exported[nexported++], sizeof exported[0], "%s", name);
        int count = 0;
        for (int i = 0; i < NROWS; i++)
            count += strcmp(rows[i].fn, name) == 0;
        size_t used = strlen(missing);
        if (count == 0 && used + strlen(name) + 2 < sizeof missing)
            snprintf(missing + used, sizeof missing - used, " %s", name);
    }
    fclose(f);
    ck_assert_msg(nexported > 0, "%s lists no function", path);
    ck_assert_msg(missing[0] == '\0', "exported without a hostile row in check_hostile.c:%s",
                  missing);
    for (int i = 0; i < NROWS; i++) {
        int found = 0;
        for (int k = 0; k < nexported && !found; k++)
            found = strcmp(rows[i].fn, exported[k]) == 0;
        ck_assert_msg(found, "row %d names %s, which %s does not list", i, rows[i].fn, path);
    }
    printf("hostile: %d rows over %d exported functions\n", NROWS, nexported);
}
END_TEST

Suite *suite_hostile(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("rows");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_hostile_row, 0, NROWS);
    tcase_add_test(tc, test_hostile_strerror_r_truncates_and_terminates);
    tcase_add_test(tc, test_hostile_every_export_has_rows);
    suite_add_tcase(s, tc);
    return s;
}
