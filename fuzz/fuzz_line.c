/*
 * fuzz_line.c - libFuzzer target for netkit's line framer,
 * nk_tcp_client_recv_line (with recv and recv_exact mixed in, which share its
 * read-ahead buffer), over a real connected socket pair.
 *
 * The input is a 9-byte header and the byte stream. The header picks:
 *   byte 0  bits 0-1: how the stream arrives and is read: 0, 1 non-blocking
 *           client, the stream written in chunks, each chunk read until -EAGAIN;
 *           2 blocking client, the whole stream written first; 3 client with a
 *           1 ms timeout, chunks read until NK_ETIMEOUT (at most 16 chunks)
 *           bit 2: the client is registered with an nk_selector (bit 3: poll)
 *           bit 4: recv and recv_exact calls are mixed in with recv_line
 *   bytes 1-3  three buffer capacities, used in turn (2..241, or 1 KiB steps
 *           up to 16 KiB, longer than the 8 KiB read-ahead buffer)
 *   bytes 4-6  three chunk sizes, used in turn (1..255, 0 = 4096)
 *   bytes 7-8  which calls are recv_line and which are recv/recv_exact
 * Properties, after every call:
 *   - the bytes every call returned, concatenated, are exactly a prefix of the
 *     stream, and the whole stream once the end of stream is reported;
 *   - a line ends at its first newline and only there, is NUL-terminated and
 *     at most cap - 1 bytes; a line without newline comes only at the end of
 *     the stream; -EMSGSIZE stores exactly cap - 1 newline-free bytes;
 *     nothing is written past cap (each buffer is allocated at its exact size);
 *   - -EAGAIN / NK_ETIMEOUT return no bytes (the partial line stays buffered)
 *     and come only from a client that can give them; after one from
 *     recv_line with nothing buffered, the read-ahead buffer is freed;
 *   - no byte is lost or duplicated: bytes buffered in the client plus bytes
 *     in the kernel equal bytes written minus bytes returned;
 *   - memory stays bounded: the read-ahead buffer never exceeds 8 KiB plus
 *     the largest cap;
 *   - registered with a selector: after a call that returned bytes, the client
 *     is reported readable while bytes (or the end of stream) remain, and never
 *     reported while nothing is left to read (no busy loop, no stranded line).
 */
#include "internal.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include "fuzz.h"

enum { MODE_NONBLOCK = 0, MODE_BLOCK = 2, MODE_TIMEOUT = 3 };

struct run {
    nk_tcp_client *c;
    int fd, peer, mode;
    nk_selector *sel;
    const uint8_t *data;
    size_t total;    /* bytes of the stream */
    size_t sent;     /* written to the peer so far */
    size_t consumed; /* returned by the client so far */
    int shut;        /* the peer shut down writing: the stream is complete */
    int eof_seen;    /* a call returned the end of stream */
    size_t caps[3], max_cap;
    unsigned ops, calls;
    const char *last_call; /* for failure messages */
    ssize_t last_rc;
    nk_event ev[4]; /* the last select's array: must live as long as the selector */
};

/* Checks that the n bytes a call returned are the next bytes of the stream. */
static void take(struct run *r, const char *buf, size_t n, const char *call)
{
    FZ_ASSERT(r->consumed + n <= r->sent, "%s returned %zu bytes, only %zu were written", call,
              r->consumed + n, r->sent);
    if (memcmp(buf, r->data + r->consumed, n) != 0) {
        fz_print_bytes("returned", buf, n);
        fz_print_bytes("expected", r->data + r->consumed, n);
        FZ_ASSERT(0, "%s returned other bytes at stream offset %zu", call, r->consumed);
    }
    r->consumed += n;
}

/* A call reported the end of stream (0, or a short read): the stream must be complete. */
static void at_eof(struct run *r, const char *call)
{
    FZ_ASSERT(r->shut && r->consumed == r->total,
              "%s reported the end of stream at offset %zu of %zu (peer shut: %d)", call,
              r->consumed, r->total, r->shut);
}

/* A call said "nothing now" (-EAGAIN or a timeout). */
static void would_block(struct run *r, ssize_t rc, const char *call)
{
    if (r->mode == MODE_TIMEOUT)
        FZ_ASSERT(rc == NK_ETIMEOUT, "%s on a timeout client gave %s", call, nk_error_name((int)rc));
    else
        FZ_ASSERT(r->mode == MODE_NONBLOCK && rc == -EAGAIN, "%s gave %s (mode %d)", call,
                  nk_error_name((int)rc), r->mode);
    FZ_ASSERT(!r->eof_seen, "%s would block after the end of stream", call);
}

/* One recv_line call and its properties. Returns 1 when it returned bytes. */
static int call_recv_line(struct run *r, size_t cap)
{
    char *buf = malloc(cap);
    FZ_ASSERT(buf != NULL, "out of memory");
    ssize_t n = nk_tcp_client_recv_line(r->c, buf, cap);
    r->last_call = "recv_line";
    r->last_rc = n;
    int got = 0;
    if (n > 0) {
        FZ_ASSERT((size_t)n <= cap - 1, "a line of %zd bytes with cap %zu", n, cap);
        FZ_ASSERT(buf[n] == '\0', "line of %zd bytes not NUL-terminated", n);
        const char *nl = memchr(buf, '\n', (size_t)n);
        take(r, buf, (size_t)n, "recv_line");
        if (nl == NULL)
            at_eof(r, "recv_line (a line without newline)");
        else
            FZ_ASSERT(nl == buf + n - 1, "a line goes on past its first newline (%zd of %zd)",
                      nl - buf, n);
        got = 1;
    } else if (n == -EMSGSIZE) {
        FZ_ASSERT(buf[cap - 1] == '\0', "an over-long piece not NUL-terminated at cap - 1");
        FZ_ASSERT(memchr(buf, '\n', cap - 1) == NULL, "-EMSGSIZE, yet a newline was stored");
        take(r, buf, cap - 1, "recv_line (-EMSGSIZE)");
        got = 1;
    } else if (n == 0) {
        FZ_ASSERT(buf[0] == '\0', "end of stream with a non-empty buffer");
        at_eof(r, "recv_line");
        r->eof_seen = 1;
    } else {
        would_block(r, n, "recv_line");
        if (r->consumed == r->sent)
            FZ_ASSERT(r->c->rbuf == NULL, "an idle client keeps its read-ahead buffer");
    }
    free(buf);
    return got;
}

/* One recv or recv_exact call of len bytes. Returns 1 when it returned bytes. */
static int call_recv(struct run *r, size_t len, int exact)
{
    const char *name = exact ? "recv_exact" : "recv";
    char *buf = malloc(len);
    FZ_ASSERT(buf != NULL, "out of memory");
    ssize_t n = exact ? nk_tcp_client_recv_exact(r->c, buf, len) : nk_tcp_client_recv(r->c, buf, len);
    r->last_call = name;
    r->last_rc = n;
    int got = 0;
    if (n > 0 || (n == 0 && !exact)) {
        FZ_ASSERT((size_t)n <= len, "%s returned %zd of %zu", name, n, len);
        take(r, buf, (size_t)n, name);
        if (n == 0 || (exact && (size_t)n < len))
            at_eof(r, name);
        if (n == 0)
            r->eof_seen = 1;
        got = n > 0;
    } else if (n == 0) {
        at_eof(r, name);
        r->eof_seen = 1;
    } else {
        would_block(r, n, name);
    }
    free(buf);
    return got;
}

/* What a select with no wait says about the client: 1 readable, 0 not. */
static int selector_readable(struct run *r)
{
    const nk_event *ev = r->ev;
    int n = nk_selector_select(r->sel, r->ev, 4, 0);
    FZ_ASSERT(n >= 0 && n <= 1, "select gave %d", n);
    if (n == 1)
        FZ_ASSERT(ev[0].fd == r->fd && ev[0].data == r && (ev[0].events & NK_EVENT_READ),
                  "select reported fd %d events %d", ev[0].fd, ev[0].events);
    return n == 1;
}

/* Properties that hold between any two calls. */
static void check_state(struct run *r, int got)
{
    const nk_tcp_client *c = r->c;
    FZ_ASSERT(c->rpos <= c->rlen && c->rlen <= c->rcap, "read-ahead %zu/%zu/%zu", c->rpos, c->rlen,
              c->rcap);
    FZ_ASSERT(c->rcap <= NK__RBUF_SIZE + r->max_cap, "read-ahead buffer of %zu bytes", c->rcap);
    int queued = 0;
    FZ_ASSERT(ioctl(r->fd, FIONREAD, &queued) == 0, "FIONREAD");
    FZ_ASSERT((c->rlen - c->rpos) + (size_t)queued == r->sent - r->consumed,
              "%zu buffered + %d in the kernel, but %zu written and %zu returned",
              c->rlen - c->rpos, queued, r->sent, r->consumed);
    if (r->sel == NULL)
        return;
    /* After the peer shut down, the end of stream stays readable (a receive
     * returns 0 at once), as with any socket. */
    int remains = r->consumed < r->sent || r->shut;
    int readable = selector_readable(r);
    if (!remains)
        FZ_ASSERT(!readable, "select reports the client readable with nothing left (after %s "
                  "gave %zd; %zu bytes written, peer shut %d)",
                  r->last_call, r->last_rc, r->sent, r->shut);
    else if (got)
        FZ_ASSERT(readable, "%zu bytes (eof %d) remain after %s gave %zd, select does not say so",
                  r->sent - r->consumed, r->shut, r->last_call, r->last_rc);
}

/* Calls on the client until it would block or reports the end of stream. */
static void read_until_blocked(struct run *r)
{
    for (size_t guard = 0; guard < 2 * r->total + 64; guard++) {
        unsigned slot = r->calls++ % 16;
        size_t before = r->consumed;
        int got;
        if ((r->ops >> slot & 1) == 0)
            got = call_recv_line(r, r->caps[r->calls % 3]);
        else
            got = call_recv(r, 1 + (slot * 7) % 32, slot & 1);
        check_state(r, got);
        if (r->eof_seen)
            return;
        if (!got && r->consumed == before)
            return; /* it would block */
    }
    FZ_ASSERT(0, "no end after %zu calls", 2 * r->total + 64);
}

/* Writes len bytes of the stream to the peer; they all fit (the reader drains). */
static void write_chunk(struct run *r, size_t len)
{
    ssize_t n = send(r->peer, r->data + r->sent, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    FZ_ASSERT(n == (ssize_t)len, "the socket pair took %zd of %zu bytes", n, len);
    r->sent += len;
}

static void shut_peer(struct run *r)
{
    FZ_ASSERT(shutdown(r->peer, SHUT_WR) == 0, "shutdown");
    r->shut = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    unsigned flags = fz_u8(&f);
    struct run r;
    memset(&r, 0, sizeof r);
    r.mode = (flags & 3) == 1 ? MODE_NONBLOCK : (int)(flags & 3);
    for (int i = 0; i < 3; i++) {
        unsigned b = fz_u8(&f);
        r.caps[i] = b < 240 ? 2 + b : (size_t)(b - 239) * 1024 + 1;
        if (r.caps[i] > r.max_cap)
            r.max_cap = r.caps[i];
    }
    size_t chunks[3];
    for (int i = 0; i < 3; i++) {
        unsigned b = fz_u8(&f);
        chunks[i] = b == 0 ? 4096 : b;
    }
    r.ops = fz_u16(&f);
    if ((flags & 16) == 0)
        r.ops = 0;
    r.data = f.p;
    r.total = f.n;

    int lowest_fd = fz_lowest_free_fd();
    int sv[2];
    FZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    r.fd = sv[0];
    r.peer = sv[1];
    int rc = nk__client_new(r.fd, NK_BLOCK, &r.c);
    FZ_ASSERT(rc == 0, "nk__client_new: %s", nk_strerror(rc));
    int timeout = r.mode == MODE_BLOCK ? NK_BLOCK : r.mode == MODE_TIMEOUT ? 1 : NK_NONBLOCK;
    FZ_ASSERT(nk_tcp_client_settimeout(r.c, timeout) == 0, "settimeout");
    if (flags & 4) {
        nk_selector_opts o = {.backend = flags & 8 ? NK_SELECTOR_POLL : NK_SELECTOR_DEFAULT};
        FZ_ASSERT(nk_selector_open(&r.sel, &o) == 0, "nk_selector_open");
        FZ_ASSERT(nk_selector_register_client(r.sel, r.c, NK_EVENT_READ, &r) == 0, "register");
    }

    if (r.mode == MODE_BLOCK) {
        write_chunk(&r, r.total);
        shut_peer(&r);
    } else {
        /* In timeout mode each wait costs 1 ms: at most 16 chunks, the rest at once. */
        for (unsigned i = 0; r.sent < r.total; i++) {
            size_t len = chunks[i % 3];
            if (len > r.total - r.sent || (r.mode == MODE_TIMEOUT && i == 15))
                len = r.total - r.sent;
            write_chunk(&r, len);
            read_until_blocked(&r);
        }
        shut_peer(&r);
    }
    read_until_blocked(&r);
    FZ_ASSERT(r.eof_seen && r.consumed == r.total, "ended at %zu of %zu bytes (eof %d)",
              r.consumed, r.total, r.eof_seen);

    nk_tcp_client_close(r.c); /* unregisters it */
    if (r.sel != NULL) {
        FZ_ASSERT(nk_selector_count(r.sel) == 0, "close left the client registered");
        nk_selector_close(r.sel);
    }
    close(r.peer);
    FZ_ASSERT(fz_lowest_free_fd() == lowest_fd, "a file descriptor was left open");
    return 0;
}
