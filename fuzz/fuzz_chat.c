/*
 * fuzz_chat.c - libFuzzer target for examples/chat_server.c's room (--mode
 * room, the selector engine): names, line framing, --max-line cuts,
 * broadcast, leaves, resets, flow control (backlogged guests, paused
 * senders, catch_up) and drops of clients that do not read.
 *
 * The example is compiled in (its main renamed); the harness drives the
 * example's own hall_open / hall_turn / hall_close on one thread against a
 * listening socket on 127.0.0.1 (port 0), and plays up to 6 clients at once
 * (12 per input) over loopback TCP as the input scripts them. After each
 * client action it waits until the bytes, the end of stream or the reset are
 * in the server's socket (tcp_info), then turns the loop until nothing is
 * ready and no guest is backlogged or paused (meanwhile the reading clients
 * read, so that their backlog clears), so the order of events is the
 * script's. Three more seams, by macros around the #include: the example's
 * nk_tcp_client_recv_line and nk_tcp_client_queue are wrapped to log what
 * each turn read and queued (with the queue's size after each call), and its
 * clock_gettime(CLOCK_MONOTONIC) reads a clock that moves only when the
 * harness moves it: ROOM_GRACE_MS passes at once when only clients that do
 * not read are behind, and never while a reading client is.
 *
 * Input: one option byte, then actions.
 *   option bit 0: --no-notices; bits 1-2: --max-line 4, 16, 100 or 1024;
 *   bits 3-4: --max-queue 128, 512, 4096 or 65536; bit 5: clients with a small
 *   receive buffer; bit 6: server sockets with a small send buffer (so that a
 *   client that does not read is dropped sooner); bit 7: the room ends as on
 *   SIGINT (a client's line is ready, the turn stops before handling it, and
 *   hall_close ends every connection) instead of each client leaving.
 *   action byte a, client (a >> 3) & 15 (among the eligible ones):
 *     a & 7 = 0, 1  a client connects
 *             2, 3  a client sends 1 + next byte bytes of the input
 *             4     a client sends 1 + (next two bytes % 2048) bytes
 *                   (2-4 with bit 7 set: and shuts down its writing at once,
 *                   so the end of its stream waits behind its lines)
 *             5     a client stops or starts reading
 *             6     a client shuts down its writing (it leaves)
 *             7     a client resets its connection (SO_LINGER 0)
 * A model of the protocol the example's header documents says what each
 * client must receive: the welcome; once it has joined, every other joined
 * client's joins, leaves and lines ("name: text", cut to --max-line, the
 * sender told "* your line was cut to N bytes"), exactly once, in order, and
 * nothing else. Each turn, the model replays the log: every line the example
 * read is the model's next line of that client, and what it queued for it is
 * exactly what the model sends, to the clients the model names. Flow control
 * as documented: a guest whose queue passes half of --max-queue is
 * backlogged; while one is, the example reads no further line (the sender is
 * paused: unregistered, so it cannot spin the loop) until no guest is
 * backlogged, then resumes it where it stopped; a backlogged guest's flag
 * goes when its queue is at most a quarter full, and it is dropped once
 * ROOM_GRACE_MS passed with the queue fuller; next_timeout is at most 10 ms
 * while anyone is backlogged or paused and forever otherwise. A client is
 * dropped only when a queue call for it failed with -ENOBUFS or after its
 * grace; it gets a prefix of its lines, and the others get "* name was
 * dropped (not reading)" right after the turn that dropped it (a turn that
 * handled no event, when its grace ran out while waiting). Also checked:
 * every client sees the end of its connection once it left, was dropped or
 * the room ended; the server keeps no client it should not; no client's
 * queued output exceeds --max-queue, no read-ahead buffer exceeds 8 KiB plus
 * the line; nothing is reported on stderr; no fd or byte of memory outlives
 * the input.
 */
#include "internal.h"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>

#include "fuzz.h"

/* ---- Small helpers ------------------------------------------------------------ */

#define MAX_ALIVE 6     /* clients connected at once */
#define MAX_CONNECTS 12 /* clients per input */
#define MAX_RX (1 << 20)
#define WAIT_MS 3000 /* longest wait for the kernel or the server: a hang is a bug */

enum { TCPS_CLOSE = 7, TCPS_CLOSE_WAIT = 8 }; /* tcpi_state values (stable ABI) */

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        FZ_ASSERT(b->p != NULL, "out of memory");
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static struct tcp_info tcp_info_of(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    FZ_ASSERT(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0, "TCP_INFO: %s",
              strerror(errno));
    return ti;
}

/* The harness's own clock (the example's is fz_clock_ms). */
static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- The seam: the example, its main renamed, stderr in memory, its reads,
 * queue calls and clock seen by the harness --------------------------------------- */

/* What one turn of the example did to its clients' streams, in order. */
enum { L_RECV, L_QUEUE };
struct entry {
    int kind;
    const nk_tcp_client *conn;
    ssize_t rc;      /* the call's result */
    ssize_t queued;  /* bytes queued for conn after the call */
    size_t off, len; /* L_QUEUE: the bytes it was given, in fz_log_bytes */
};

static struct entry *fz_log;
static size_t fz_nlog, fz_logcap;
static struct buf fz_log_bytes;
static int64_t fz_clock_ms; /* the example's CLOCK_MONOTONIC, in ms */

static void log_add(int kind, const nk_tcp_client *conn, ssize_t rc, const void *bytes, size_t len)
{
    if (fz_nlog == fz_logcap) {
        fz_logcap = fz_logcap ? fz_logcap * 2 : 256;
        fz_log = realloc(fz_log, fz_logcap * sizeof *fz_log);
        FZ_ASSERT(fz_log != NULL, "out of memory");
    }
    fz_log[fz_nlog++] =
        (struct entry){kind, conn, rc, nk_tcp_client_queued(conn), fz_log_bytes.len, len};
    put(&fz_log_bytes, bytes, len);
}

static ssize_t fz_recv_line(nk_tcp_client *c, char *buf, size_t cap)
{
    ssize_t n = nk_tcp_client_recv_line(c, buf, cap);
    log_add(L_RECV, c, n, NULL, 0);
    return n;
}

static int fz_queue(nk_tcp_client *c, const void *buf, size_t len)
{
    int rc = nk_tcp_client_queue(c, buf, len);
    log_add(L_QUEUE, c, rc, buf, len);
    return rc;
}

static int fz_clock_gettime(clockid_t id, struct timespec *ts)
{
    if (id != CLOCK_MONOTONIC)
        return clock_gettime(id, ts);
    ts->tv_sec = (time_t)(fz_clock_ms / 1000);
    ts->tv_nsec = (long)(fz_clock_ms % 1000) * 1000000L;
    return 0;
}

static FILE *fz_err;
#define main chat_server_main
#undef stderr
#define stderr fz_err
#define nk_tcp_client_recv_line fz_recv_line
#define nk_tcp_client_queue fz_queue
#define clock_gettime fz_clock_gettime
#include "../examples/chat_server.c"
#undef main
#undef stderr
#undef nk_tcp_client_recv_line
#undef nk_tcp_client_queue
#undef clock_gettime

/* ---- The model ---------------------------------------------------------------- */

/* One line a client must receive; lines of one group (a turn's drop notices)
 * may come in any order. */
struct item {
    size_t off, len;
    unsigned group; /* 0: in order */
};

struct client {
    int fd;                    /* the harness's socket, -1 once closed */
    int port;                  /* its local port: the server's peer */
    struct guest *g;           /* the server's guest for it while in_server */
    const nk_tcp_client *conn; /* g's connection (compared, never used, once g is gone) */
    int in_server;             /* the server holds it (per the model) */
    int state;                 /* NAMING, SKIP_NAME, CHATTING, as the example's */
    int cutting;               /* the server skips the rest of an over-long line */
    int paused;                /* the server holds its lines back (flow control) */
    int nobufs;                /* this turn, a queue call for it failed with -ENOBUFS */
    int was_backlogged;        /* its guest before this turn: backlogged, */
    int64_t since;             /* since then (the example's clock) */
    char name[NAME_MAX_LEN + 1];
    struct buf pend; /* bytes the server has not made into lines yet */
    size_t sent;     /* bytes sent on the connection */
    int fin, rst;    /* the client shut down writing / reset */
    int reading;     /* the harness drains its socket */
    int ended;       /* its stream may stop early (dropped, reset, queue lost) */
    int got_eof, got_reset;
    struct buf rx;  /* every byte received */
    struct buf exp; /* the expected lines' bytes */
    struct item *items;
    size_t nitems, icap;
};

/* One queue call the model says the example makes for the result being
 * replayed: the bytes are cl[who].exp's from off. */
struct call {
    int who;
    size_t off, len;
};

struct chat {
    struct hall h;
    struct config cfg;
    struct client cl[MAX_CONNECTS];
    int n; /* clients so far */
    unsigned groups;
    int small_rcvbuf;
    long backlogged0; /* guests backlogged before this turn */
    size_t pos;       /* the next entry of fz_log to replay */
    struct call calls[MAX_CONNECTS];
    int ncalls, recording;
};

static nk_tcp_server *srv; /* one listener for every input */
static int trace;          /* FUZZ_TRACE set: print the script as it runs */

#define TRACE(...)                                                                                 \
    do {                                                                                           \
        if (trace)                                                                                 \
            fprintf(stderr, __VA_ARGS__);                                                          \
    } while (0)

static void expect(struct client *c, const char *text, size_t len, unsigned group)
{
    if (c->nitems == c->icap) {
        c->icap = c->icap ? c->icap * 2 : 16;
        c->items = realloc(c->items, c->icap * sizeof *c->items);
        FZ_ASSERT(c->items != NULL, "out of memory");
    }
    c->items[c->nitems++] = (struct item){c->exp.len, len, group};
    put(&c->exp, text, len);
}

/* What the example's send_to does, in the model: w must receive the text,
 * and (while a result is replayed) the example must queue it for w. */
static void m_send(struct chat *ch, struct client *w, const char *text, size_t len)
{
    if (ch->recording) {
        FZ_ASSERT(ch->ncalls < MAX_CONNECTS, "%d queue calls for one result", ch->ncalls);
        ch->calls[ch->ncalls++] = (struct call){(int)(w - ch->cl), w->exp.len, len};
    }
    expect(w, text, len, 0);
}

/* What the example's broadcast does: every joined client but from, except
 * those a failed queue call marked to be dropped. */
static void m_broadcast(struct chat *ch, const struct client *from, const char *text, size_t len)
{
    for (int i = 0; i < ch->n; i++) {
        struct client *w = &ch->cl[i];
        if (w != from && w->in_server && w->state == CHATTING && !w->nobufs)
            m_send(ch, w, text, len);
    }
}

static size_t strip(const char *text, size_t len)
{
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    return len;
}

static void m_speak(struct chat *ch, struct client *a, const char *text, size_t len)
{
    struct buf msg = {0};
    put(&msg, a->name, strlen(a->name));
    put(&msg, ": ", 2);
    put(&msg, text, len);
    put(&msg, "\n", 1);
    if (trace)
        fz_print_bytes("  model: says", msg.p, msg.len);
    m_broadcast(ch, a, msg.p, msg.len);
    free(msg.p);
}

static void m_tell_cut(struct chat *ch, struct client *a)
{
    char notice[64];
    int n = snprintf(notice, sizeof notice, "* your line was cut to %zu bytes\n", ch->cfg.max_line);
    m_send(ch, a, notice, (size_t)n);
}

/* One result of the server's recv_line: a line (complete, or the last one at
 * the end of stream) or an over-long piece of cap - 1 bytes. */
static void m_take(struct chat *ch, struct client *a, const char *bytes, size_t len, int piece)
{
    size_t max_line = ch->cfg.max_line;
    if (a->state != CHATTING) {
        if (a->state == NAMING) {
            /* The name: the line without its end, at most 32 bytes (not cut
             * inside a UTF-8 character), control characters shown as '?';
             * empty, the client's address. */
            size_t l = piece ? len : strip(bytes, len);
            if (l > NAME_MAX_LEN) {
                l = NAME_MAX_LEN;
                while (l > 0 && ((unsigned char)bytes[l] & 0xC0) == 0x80)
                    l--;
            }
            for (size_t k = 0; k < l; k++) {
                unsigned char ch8 = (unsigned char)bytes[k];
                a->name[k] = (char)(ch8 < 0x20 || ch8 == 0x7f ? '?' : ch8);
            }
            a->name[l] = '\0';
            if (a->name[0] == '\0')
                snprintf(a->name, sizeof a->name, "127.0.0.1:%d", a->port);
        }
        if (piece) {
            a->state = SKIP_NAME;
            return;
        }
        a->state = CHATTING;
        TRACE("  model: client %d joins as \"%s\"\n", (int)(a - ch->cl), a->name);
        if (!ch->cfg.no_notices) {
            char notice[NAME_MAX_LEN + 64];
            int n = snprintf(notice, sizeof notice, "* %s has joined the chat\n", a->name);
            m_broadcast(ch, a, notice, (size_t)n);
        }
        return;
    }
    if (piece) {
        if (!a->cutting) {
            m_speak(ch, a, bytes, max_line);
            m_tell_cut(ch, a);
        }
        a->cutting = 1;
        return;
    }
    if (a->cutting) {
        a->cutting = 0;
        return;
    }
    size_t l = strip(bytes, len);
    if (l == 0)
        return;
    if (l > max_line) {
        l = max_line;
        m_tell_cut(ch, a);
    }
    m_speak(ch, a, bytes, l);
}

static void m_depart(struct chat *ch, struct client *a)
{
    TRACE("  model: client %d departs\n", (int)(a - ch->cl));
    if (a->state == CHATTING && !ch->cfg.no_notices) {
        char notice[NAME_MAX_LEN + 64];
        int n = snprintf(notice, sizeof notice, "* %s has left the chat\n", a->name);
        m_broadcast(ch, a, notice, (size_t)n);
    }
    a->in_server = 0;
    a->g = NULL;
}

/* The next result recv_line gives for a's pending bytes: 1 and its length
 * (*piece for -EMSGSIZE), or 0 when it would need more bytes. */
static int m_next(const struct chat *ch, const struct client *a, size_t *len, int *piece)
{
    size_t room = ch->h.cap - 1, n = a->pend.len < room ? a->pend.len : room;
    const char *nl = n ? memchr(a->pend.p, '\n', n) : NULL;
    *piece = 0;
    if (nl != NULL) {
        *len = (size_t)(nl - a->pend.p) + 1;
        return 1;
    }
    if (a->pend.len >= room) {
        *len = room;
        *piece = 1;
        return 1;
    }
    if (a->fin && a->pend.len > 0) {
        *len = a->pend.len; /* the last line, without newline */
        return 1;
    }
    return 0;
}

/* The log's next entry, or NULL at its end. */
static const struct entry *log_next(struct chat *ch)
{
    return ch->pos < fz_nlog ? &fz_log[ch->pos++] : NULL;
}

/* The queue calls the example made for the result just replayed must be the
 * model's (ch->calls: the same bytes for the same clients, in any order
 * across clients). Marks the clients whose call failed with -ENOBUFS (the
 * example drops them; until then broadcasts pass them over). Returns 1 when a
 * call left a queue over half --max-queue: then a backlog began. */
static int m_queued(struct chat *ch, const struct client *a)
{
    int began = 0;
    char used[MAX_CONNECTS] = {0};
    for (int k = 0; k < ch->ncalls; k++) {
        const struct entry *e = log_next(ch);
        FZ_ASSERT(e != NULL && e->kind == L_QUEUE,
                  "client %d's line made %d queue calls; the model says %d", (int)(a - ch->cl), k,
                  ch->ncalls);
        int m = 0;
        for (; m < ch->ncalls; m++) {
            const struct call *c = &ch->calls[m];
            const struct client *w = &ch->cl[c->who];
            if (!used[m] && w->g != NULL && w->conn == e->conn && c->len == e->len &&
                memcmp(w->exp.p + c->off, fz_log_bytes.p + e->off, e->len) == 0)
                break;
        }
        if (m == ch->ncalls) {
            fz_print_bytes("queued", fz_log_bytes.p + e->off, e->len);
            for (m = 0; m < ch->ncalls; m++)
                if (!used[m])
                    fz_print_bytes("the model's", ch->cl[ch->calls[m].who].exp.p + ch->calls[m].off,
                                   ch->calls[m].len);
            FZ_ASSERT(0,
                      "client %d's line: the example queued what the model does not send, "
                      "or to another client",
                      (int)(a - ch->cl));
        }
        used[m] = 1;
        struct client *w = &ch->cl[ch->calls[m].who];
        if (e->rc == -ENOBUFS) {
            w->nobufs = 1;
            TRACE("  model: client %d's queue overflows\n", ch->calls[m].who);
        } else if (e->queued > (ssize_t)(ch->cfg.max_queue / 2)) {
            if (!began)
                TRACE("  model: client %d is behind (%zd bytes queued)\n", ch->calls[m].who,
                      e->queued);
            began = 1;
        }
    }
    ch->ncalls = 0;
    return began;
}

/* One on_readable of the example for a, replayed from the log: at most 64
 * results, then the end of stream or the reset makes it depart; before each,
 * a is paused if a guest is backlogged (before the turn, or since one of
 * this turn's queue calls). */
static void m_turn(struct chat *ch, struct client *a)
{
    int i = (int)(a - ch->cl);
    int backlog = ch->backlogged0 > 0;
    FZ_ASSERT(!a->paused, "client %d is paused, yet its socket was reported ready", i);
    for (int turn = 0; turn < 64; turn++) {
        if (backlog) {
            FZ_ASSERT(ch->pos == fz_nlog || fz_log[ch->pos].kind != L_RECV,
                      "client %d: a line was read while a guest was backlogged", i);
            a->paused = 1;
            TRACE("  model: client %d is paused after %d results (%zu bytes pending)\n", i, turn,
                  a->pend.len);
            return;
        }
        const struct entry *e = log_next(ch);
        if (e != NULL && e->kind == L_QUEUE) {
            fz_print_bytes("queued", fz_log_bytes.p + e->off, e->len);
            FZ_ASSERT(0,
                      "client %d: after %d results, the example queued what the model does not "
                      "send (or stopped reading its lines with no guest backlogged)",
                      i, turn);
        }
        FZ_ASSERT(e != NULL && e->kind == L_RECV && e->conn == a->conn,
                  "client %d: its lines stopped being read after %d results, with no guest "
                  "backlogged (%zu bytes pending)",
                  i, turn, a->pend.len);
        size_t len;
        int piece;
        ch->recording = 1;
        if (a->rst || !m_next(ch, a, &len, &piece)) {
            if (a->rst || a->fin) {
                /* The end of the stream or the reset (the partial line is lost
                 * with the connection): the guest leaves, and its queued output
                 * with it. */
                FZ_ASSERT(a->rst ? e->rc <= 0 && e->rc != -EAGAIN && e->rc != -EMSGSIZE
                                 : e->rc == 0,
                          "client %d %s: recv_line gave %zd (%zu bytes pending)", i,
                          a->rst ? "reset" : "left", e->rc, a->pend.len);
                if (e->queued > 0)
                    a->ended = 1;
                m_depart(ch, a);
                m_queued(ch, a);
            } else {
                FZ_ASSERT(e->rc == -EAGAIN,
                          "client %d: recv_line gave %zd; the model: -EAGAIN "
                          "(%zu bytes pending)",
                          i, e->rc, a->pend.len);
            }
            ch->recording = 0;
            return;
        }
        FZ_ASSERT(piece ? e->rc == -EMSGSIZE : e->rc == (ssize_t)len,
                  "client %d: recv_line gave %zd; the model: %s %zu", i, e->rc,
                  piece ? "-EMSGSIZE, a piece of" : "a line of", len);
        m_take(ch, a, a->pend.p, len, piece);
        memmove(a->pend.p, a->pend.p + len, a->pend.len - len);
        a->pend.len -= len;
        backlog |= m_queued(ch, a);
        ch->recording = 0;
    }
    FZ_ASSERT(ch->pos == fz_nlog || fz_log[ch->pos].kind != L_RECV,
              "client %d: more than 64 results in one turn", i);
}

/* ---- Driving the server ---------------------------------------------------------- */

static int guest_present(const struct chat *ch, const struct guest *g)
{
    for (const struct guest *x = ch->h.guests; x != NULL; x = x->next)
        if (x == g)
            return 1;
    return 0;
}

static int busy(const struct chat *ch)
{
    return ch->h.backlogged > 0 || ch->h.paused > 0;
}

/* Before each turn: the log starts afresh, and what flow control knows now. */
static void before_turn(struct chat *ch)
{
    fz_nlog = 0;
    fz_log_bytes.len = 0;
    ch->pos = 0;
    ch->backlogged0 = 0;
    for (int i = 0; i < ch->n; i++) {
        struct client *c = &ch->cl[i];
        c->nobufs = 0;
        c->was_backlogged = c->in_server && c->g->backlogged;
        c->since = c->was_backlogged ? c->g->backlog_since : 0;
        ch->backlogged0 += c->was_backlogged;
    }
}

/* After each turn: clients the server let go without the model saying so were
 * dropped, as documented; the others get the drop notices (in any order);
 * flow control's state is what the documentation says; the memory bounds
 * hold. */
static void after_turn(struct chat *ch)
{
    size_t max_queue = ch->cfg.max_queue;
    for (size_t k = ch->pos; k < fz_nlog; k++) {
        const struct entry *e = &fz_log[k];
        FZ_ASSERT(e->kind == L_QUEUE, "a line was read outside its client's event");
        for (int i = 0; i < ch->n; i++)
            if (e->rc == -ENOBUFS && ch->cl[i].g != NULL && ch->cl[i].conn == e->conn)
                ch->cl[i].nobufs = 1;
    }
    int dropped[MAX_CONNECTS], nd = 0;
    for (int i = 0; i < ch->n; i++) {
        struct client *c = &ch->cl[i];
        int present = c->g != NULL && guest_present(ch, c->g);
        if (!c->in_server) {
            FZ_ASSERT(c->g == NULL, "client %d: the model let it go", i);
            continue;
        }
        if (present) {
            FZ_ASSERT(!c->nobufs, "client %d's queue overflowed, yet it was not dropped", i);
            continue;
        }
        FZ_ASSERT(c->state == CHATTING, "client %d was dropped before it joined", i);
        FZ_ASSERT(c->nobufs || (c->was_backlogged && fz_clock_ms - c->since >= ROOM_GRACE_MS),
                  "client %d was dropped, yet no queue call for it failed and it was not "
                  "backlogged for %d ms (backlogged %d, for %lld ms)",
                  i, ROOM_GRACE_MS, c->was_backlogged,
                  c->was_backlogged ? (long long)(fz_clock_ms - c->since) : 0LL);
        dropped[nd++] = i;
        c->in_server = 0;
        c->g = NULL;
        c->ended = 1;
        c->paused = 0;
        TRACE("client %d (\"%s\") was dropped (%s)\n", i, c->name,
              c->nobufs ? "its queue overflowed" : "its grace ran out");
    }
    if (nd > 0) {
        unsigned group = ++ch->groups;
        for (int k = 0; k < nd; k++) {
            struct client *d = &ch->cl[dropped[k]];
            char notice[NAME_MAX_LEN + 64];
            int n = snprintf(notice, sizeof notice, "* %s was dropped (not reading)\n", d->name);
            for (int i = 0; i < ch->n; i++) {
                struct client *w = &ch->cl[i];
                int just_dropped = 0;
                for (int j = 0; j < nd; j++)
                    just_dropped |= dropped[j] == i;
                if (w != d && w->state == CHATTING && (w->in_server || just_dropped))
                    expect(w, notice, (size_t)n, group);
            }
        }
    }
    long present = 0, backlogged = 0, paused = 0;
    for (struct guest *g = ch->h.guests; g != NULL; g = g->next) {
        present++;
        backlogged += g->backlogged;
        paused += g->paused;
        ssize_t q = nk_tcp_client_queued(g->conn);
        FZ_ASSERT(q >= 0 && (size_t)q <= max_queue,
                  "%zd bytes queued for a client, "
                  "--max-queue %zu",
                  q, max_queue);
        FZ_ASSERT(g->conn->rcap <= NK__RBUF_SIZE + ch->h.cap, "a read-ahead buffer of %zu bytes",
                  g->conn->rcap);
        FZ_ASSERT(!g->dropped, "a guest marked dropped outlived the turn");
        FZ_ASSERT(g->backlogged || (size_t)q <= max_queue / 2,
                  "%zd bytes queued for a guest (--max-queue %zu), yet it is not backlogged", q,
                  max_queue);
        FZ_ASSERT(!g->backlogged || (size_t)q > max_queue / 4,
                  "a guest is still backlogged with %zd bytes queued (--max-queue %zu)", q,
                  max_queue);
        FZ_ASSERT(!g->backlogged || fz_clock_ms - g->backlog_since < ROOM_GRACE_MS,
                  "a guest backlogged for %lld ms (%zd bytes queued) was not dropped",
                  (long long)(fz_clock_ms - g->backlog_since), q);
    }
    FZ_ASSERT(present == ch->h.present && present <= MAX_ALIVE, "%ld guests, present %ld", present,
              ch->h.present);
    FZ_ASSERT(backlogged == ch->h.backlogged && paused == ch->h.paused,
              "%ld guests backlogged and %ld paused; the hall counts %ld and %ld", backlogged,
              paused, ch->h.backlogged, ch->h.paused);
    FZ_ASSERT(paused == 0 || backlogged > 0, "%ld guests paused, and no one is backlogged", paused);
    /* Paused clients resume once no one is backlogged (catch_up, in the same
     * turn); a paused guest is not registered, the others are, for reading. */
    for (int i = 0; i < ch->n; i++) {
        struct client *c = &ch->cl[i];
        if (!c->in_server)
            continue;
        if (c->paused && backlogged == 0) {
            c->paused = 0;
            TRACE("  model: client %d resumes\n", i);
        }
        FZ_ASSERT(c->g->paused == c->paused, "client %d: the example %s it, the model %s", i,
                  c->g->paused ? "paused" : "did not pause or resumed",
                  c->paused ? "pauses it" : "does not pause it or resumed it");
        int events = 0;
        void *data = NULL;
        int rc = nk_selector_get(ch->h.sel, nk_tcp_client_fd(c->g->conn), &events, &data);
        if (c->paused)
            FZ_ASSERT(rc == -ENOENT, "client %d is paused, yet registered (%d)", i, rc);
        else
            FZ_ASSERT(rc == 0 && events == NK_EVENT_READ && data == c->g,
                      "client %d is not paused, yet not registered for reading (%d)", i, rc);
    }
    /* The loop's timeout: 10 ms at most while flow control waits, none else. */
    if (ch->h.accept_resumes == 0) {
        int t = next_timeout(&ch->h);
        FZ_ASSERT(busy(ch) ? t >= 0 && t <= 10 : t == NK_BLOCK,
                  "next_timeout gives %d with %ld guests backlogged and %ld paused", t, backlogged,
                  paused);
    }
}

/* One turn of the example's loop with no wait (or wait_ms). The one event it
 * may handle is the acting client's (a), or the listener's on a connect. */
static int turn(struct chat *ch, struct client *a, int wait_ms)
{
    before_turn(ch);
    int n = hall_turn(&ch->h, wait_ms);
    FZ_ASSERT(n >= 0 && n <= 1, "hall_turn gave %d (one client acts at a time)", n);
    if (n == 1) {
        const nk_event *e = &ch->h.events[0];
        if (e->data == NULL && e->events != 0) {
            FZ_ASSERT(a != NULL && a->fd >= 0 && !a->in_server, "the listener, with no connect");
        } else {
            /* The acting client's event (scrubbed if it left or was paused in
             * that turn). */
            FZ_ASSERT(a != NULL && a->in_server && (e->data == a->g || e->data == NULL),
                      "an event for another client");
            m_turn(ch, a);
        }
    }
    after_turn(ch);
    return n;
}

/* 1 when a client the harness reads is backlogged: its backlog clears as it
 * reads, so the harness waits for that, never for its grace to run out. */
static int reader_behind(const struct chat *ch)
{
    for (int i = 0; i < ch->n; i++) {
        const struct client *c = &ch->cl[i];
        if (c->in_server && c->reading && c->g->backlogged)
            return 1;
    }
    return 0;
}

/* Bytes queued for the backlogged guests. */
static ssize_t backlog_bytes(const struct chat *ch)
{
    ssize_t sum = 0;
    for (const struct guest *g = ch->h.guests; g != NULL; g = g->next)
        if (g->backlogged)
            sum += nk_tcp_client_queued(g->conn);
    return sum;
}

/* Reads what reading clients have; returns how many bytes came. */
static size_t drain(struct chat *ch, int all)
{
    size_t total = 0;
    char buf[8192];
    for (int i = 0; i < ch->n; i++) {
        struct client *c = &ch->cl[i];
        if (c->fd < 0 || (!c->reading && !all) || c->got_eof || c->got_reset)
            continue;
        for (;;) {
            ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                put(&c->rx, buf, (size_t)n);
                FZ_ASSERT(c->rx.len <= MAX_RX, "client %d received over %d bytes", i, MAX_RX);
                total += (size_t)n;
                continue;
            }
            if (n == 0)
                c->got_eof = 1;
            else if (errno == ECONNRESET || errno == EPIPE)
                c->got_reset = 1;
            else
                FZ_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
            break;
        }
    }
    return total;
}

/* Turns the loop until nothing is ready and flow control holds nothing back;
 * then the server has taken every result of a's bytes. While a guest is
 * backlogged, the reading clients read (select sends them their queues and
 * catch_up lets their backlog go); once only clients that do not read are
 * behind and their queues stop moving, their grace passes on the example's
 * clock, and the next turn drops them. */
static void settle(struct chat *ch, struct client *a)
{
    int64_t end = real_ms() + WAIT_MS;
    ssize_t last = -1;
    int still = 0;
    for (int i = 0;; i++) {
        FZ_ASSERT(i < 100000 && real_ms() < end,
                  "the loop never settles: %d turns, %ld guests backlogged, %ld paused", i,
                  ch->h.backlogged, ch->h.paused);
        int resumed = ch->h.paused > 0; /* if nothing is busy after the turn */
        if (turn(ch, a, 0) > 0)
            continue;
        if (!busy(ch)) {
            if (resumed)
                continue; /* catch_up resumed a paused client: its lines come next */
            break;
        }
        if (drain(ch, 0) > 0) {
            still = 0;
            continue;
        }
        if (!reader_behind(ch)) {
            ssize_t q = backlog_bytes(ch);
            if (q != last) {
                last = q;
                still = 0;
            } else if (++still >= 3) {
                fz_clock_ms += ROOM_GRACE_MS;
                still = 0;
                TRACE("  %d ms pass (only clients that do not read are behind)\n", ROOM_GRACE_MS);
            }
        }
        turn(ch, a, 1);
    }
    TRACE("  settled in %d ms\n", (int)(real_ms() - (end - WAIT_MS)));
    size_t len;
    int piece;
    if (a != NULL && a->in_server)
        FZ_ASSERT(!m_next(ch, a, &len, &piece) && !a->fin && !a->rst && !a->paused,
                  "the server stopped with a result of the client left (%zu bytes pending, "
                  "fin %d, paused %d)",
                  a->pend.len, a->fin, a->paused);
}

/* Lets queued output reach the reading clients: drains and turns until no
 * reading client has bytes queued (best effort within a few rounds; the
 * final check waits for each connection's end instead). */
static void flow(struct chat *ch, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        size_t got = drain(ch, 0);
        int waiting = 0;
        for (int k = 0; k < ch->n; k++) {
            struct client *c = &ch->cl[k];
            if (c->in_server && c->reading && nk_tcp_client_queued(c->g->conn) > 0)
                waiting = 1;
        }
        if (!waiting && got == 0)
            return;
        /* Wait a little only when output is queued and nothing came. */
        int n = turn(ch, NULL, waiting && got == 0 ? 1 : 0);
        FZ_ASSERT(n == 0, "an event with no client acting");
    }
}

/* Waits (without turning the loop) until cond holds for the server's socket
 * of a, so that the next turn sees all of what a did. */
static void wait_server_sees(struct client *a, int what)
{
    int fd = nk_tcp_client_fd(a->g->conn);
    int64_t end = real_ms() + WAIT_MS;
    for (;;) {
        struct tcp_info ti = tcp_info_of(fd);
        int ok = what == 0   ? ti.tcpi_bytes_received == a->sent
                 : what == 1 ? ti.tcpi_state == TCPS_CLOSE_WAIT
                             : ti.tcpi_state == TCPS_CLOSE;
        if (ok)
            return;
        FZ_ASSERT(real_ms() < end, "the server's socket did not get %s in %d ms",
                  what == 0   ? "the bytes"
                  : what == 1 ? "the end of stream"
                              : "the reset",
                  WAIT_MS);
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
}

/* ---- Client actions -------------------------------------------------------------- */

static void act_connect(struct chat *ch)
{
    struct client *c = &ch->cl[ch->n];
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FZ_ASSERT(c->fd >= 0, "socket: %s", strerror(errno));
    int one = 1, small = 2048;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ch->small_rcvbuf)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)nk_tcp_server_port(srv))};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(c->fd, (struct sockaddr *)&to, sizeof to);
    if (rc < 0 && errno == EINTR) {
        /* libFuzzer's timer signal: the connection goes on; wait for it. */
        struct pollfd p = {c->fd, POLLOUT, 0};
        int err = 0;
        socklen_t elen = sizeof err;
        while (poll(&p, 1, WAIT_MS) < 0 && errno == EINTR) {
        }
        FZ_ASSERT(getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0, "SO_ERROR");
        errno = err;
        rc = err == 0 ? 0 : -1;
    }
    if (rc < 0) {
        /* Out of local ports (TIME_WAIT): not the room's fault; skip. */
        FZ_ASSERT(errno == EADDRNOTAVAIL, "connect: %s", strerror(errno));
        close(c->fd);
        return;
    }
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    FZ_ASSERT(getsockname(c->fd, (struct sockaddr *)&me, &len) == 0, "getsockname");
    c->port = ntohs(me.sin_port);
    c->reading = 1;
    c->state = NAMING;
    ch->n++;
    long before = ch->h.accepted;
    int64_t end = real_ms() + WAIT_MS;
    while (ch->h.accepted == before) {
        FZ_ASSERT(real_ms() < end, "the server did not accept in %d ms", WAIT_MS);
        turn(ch, c, 1);
    }
    /* The newest guest is this client; its welcome is queued. */
    nk_addr peer;
    FZ_ASSERT(ch->h.guests != NULL && nk_tcp_client_peername(ch->h.guests->conn, &peer) == 0 &&
                  nk_addr_port(&peer) == c->port,
              "the new guest is not the client that connected");
    c->g = ch->h.guests;
    c->conn = c->g->conn;
    c->in_server = 1;
    TRACE("client %d connects (port %d)\n", ch->n - 1, c->port);
    static const char welcome[] = "Welcome to the chat room! Enter your name:\n";
    expect(c, welcome, sizeof welcome - 1, 0);
    settle(ch, c);
}

/* Shuts down c's writing: the server sees the end of its stream after its
 * bytes (and departs it once it read them all). */
static void shut_writing(struct chat *ch, struct client *c)
{
    TRACE("client %d leaves\n", (int)(c - ch->cl));
    /* A dropped client's connection may be reset already (ENOTCONN). */
    FZ_ASSERT(shutdown(c->fd, SHUT_WR) == 0 || !c->in_server, "shutdown: %s", strerror(errno));
    c->fin = 1;
}

/* c sends len bytes, and shuts down its writing at once when leave is set. */
static void act_send(struct chat *ch, struct client *c, const uint8_t *data, size_t len, int leave)
{
    if (trace) {
        TRACE("client %d sends", (int)(c - ch->cl));
        fz_print_bytes("", data, len);
    }
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (!c->in_server) {
        /* Dropped: the server closed its end; whatever happens is moot. */
        if (leave)
            shut_writing(ch, c);
        return;
    }
    FZ_ASSERT(n == (ssize_t)len, "send took %zd of %zu bytes: %s", n, len, strerror(errno));
    c->sent += len;
    put(&c->pend, data, len);
    if (leave)
        shut_writing(ch, c);
    wait_server_sees(c, leave ? 1 : 0);
    settle(ch, c);
    FZ_ASSERT(!leave || !c->in_server, "the server kept a client that left");
}

static void act_leave(struct chat *ch, struct client *c)
{
    shut_writing(ch, c);
    if (!c->in_server)
        return;
    wait_server_sees(c, 1);
    settle(ch, c);
    FZ_ASSERT(!c->in_server, "the server kept a client that left");
}

static void act_reset(struct chat *ch, struct client *c)
{
    TRACE("client %d resets\n", (int)(c - ch->cl));
    drain(ch, 0);
    struct linger lg = {1, 0};
    FZ_ASSERT(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0, "SO_LINGER");
    close(c->fd);
    c->fd = -1;
    c->rst = 1;
    c->ended = 1;
    if (!c->in_server)
        return;
    wait_server_sees(c, 2);
    settle(ch, c);
    FZ_ASSERT(!c->in_server, "the server kept a client that reset");
}

/* ---- Checking what each client received ------------------------------------------ */

static void show_and_fail(const struct client *c, int i, size_t pos, const char *why)
{
    fz_print_bytes("received", c->rx.p, c->rx.len);
    fz_print_bytes("from", c->rx.p + pos, c->rx.len - pos);
    fz_print_bytes("expected", c->exp.p, c->exp.len);
    FZ_ASSERT(0, "client %d (\"%s\"): %s at byte %zu", i, c->name, why, pos);
}

static void verify(const struct client *c, int i)
{
    const char *rx = c->rx.p ? c->rx.p : "", *exp = c->exp.p;
    size_t n = c->rx.len, pos = 0;
    for (size_t k = 0; k < c->nitems && pos <= n;) {
        const struct item *it = &c->items[k];
        size_t avail = n - pos;
        if (it->group == 0) {
            if (avail >= it->len && memcmp(rx + pos, exp + it->off, it->len) == 0) {
                pos += it->len;
                k++;
                continue;
            }
            if (c->ended && avail < it->len && memcmp(rx + pos, exp + it->off, avail) == 0)
                return; /* it ended inside this line */
            show_and_fail(c, i, pos, "not the expected line");
        }
        /* A group: its lines in any order. */
        size_t end = k;
        while (end < c->nitems && c->items[end].group == it->group)
            end++;
        char used[MAX_CONNECTS] = {0};
        FZ_ASSERT(end - k <= MAX_CONNECTS, "a group of %zu", end - k);
        for (size_t left = end - k; left > 0; left--) {
            if (pos == n) {
                if (c->ended)
                    return;
                show_and_fail(c, i, pos, "a drop notice is missing");
            }
            const char *nl = memchr(rx + pos, '\n', n - pos);
            size_t ll = nl != NULL ? (size_t)(nl - (rx + pos)) + 1 : n - pos;
            size_t m = k;
            for (; m < end; m++)
                if (!used[m - k] && c->items[m].len >= ll &&
                    memcmp(rx + pos, exp + c->items[m].off, ll) == 0 &&
                    (c->items[m].len == ll || (nl == NULL && c->ended)))
                    break;
            if (m == end)
                show_and_fail(c, i, pos, "not one of the expected drop notices");
            if (c->items[m].len != ll)
                return; /* ended inside it */
            used[m - k] = 1;
            pos += ll;
        }
        k = end;
    }
    if (pos != n)
        show_and_fail(c, i, pos, "bytes after everything expected");
}

/* ---- The target ------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    trace = getenv("FUZZ_TRACE") != NULL;
    int rc = nk_tcp_server_open(&srv, "127.0.0.1", 0, NULL);
    FZ_ASSERT(rc == 0, "nk_tcp_server_open: %s", nk_strerror(rc));
    quiet = 1; /* the example's per-client lines on stdout */
    return 0;
}

/* Picks the eligible client number k (counting round); NULL when none is. */
static struct client *pick(struct chat *ch, unsigned k, int (*ok)(const struct client *))
{
    int idx[MAX_CONNECTS], m = 0;
    for (int i = 0; i < ch->n; i++)
        if (ok(&ch->cl[i]))
            idx[m++] = i;
    return m == 0 ? NULL : &ch->cl[idx[k % (unsigned)m]];
}

static int can_send(const struct client *c)
{
    return c->fd >= 0 && !c->fin;
}

static int is_open(const struct client *c)
{
    return c->fd >= 0;
}

static int alive(const struct chat *ch)
{
    int a = 0;
    for (int i = 0; i < ch->n; i++)
        a += ch->cl[i].fd >= 0;
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t lines[] = {4, 16, 100, 1024}, queues[] = {128, 512, 4096, 65536};
    struct fz f = {data, size};
    unsigned opt = fz_u8(&f);
    int lowest_fd = fz_lowest_free_fd();
    char *err = NULL;
    size_t err_len = 0;
    fz_err = open_memstream(&err, &err_len);
    FZ_ASSERT(fz_err != NULL, "open_memstream");
    fz_clock_ms = 1000000; /* the example's clock: moves only in settle() */

    struct chat *ch = calloc(1, sizeof *ch);
    FZ_ASSERT(ch != NULL, "out of memory");
    ch->cfg = (struct config){.mode = MODE_ROOM,
                              .port = 0,
                              .max_line = lines[opt >> 1 & 3],
                              .max_queue = queues[opt >> 3 & 3],
                              .quiet = 1,
                              .no_notices = opt & 1};
    silent_room = ch->cfg.no_notices;
    ch->small_rcvbuf = (opt & 32) != 0;
    int sndbuf = opt & 64 ? 4096 : 1 << 20;
    setsockopt(nk_tcp_server_fd(srv), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    int rc = hall_open(&ch->h, srv, &ch->cfg);
    FZ_ASSERT(rc == 0, "hall_open: %s", nk_strerror(rc));

    /* The script. */
    for (int actions = 0; f.n > 0 && actions < 400; actions++) {
        unsigned a = fz_u8(&f), kind = a & 7, who = a >> 3 & 15;
        struct client *c;
        if (kind <= 1) {
            if (ch->n < MAX_CONNECTS && alive(ch) < MAX_ALIVE)
                act_connect(ch);
        } else if (kind <= 4) {
            size_t want = kind == 4 ? 1 + fz_u16(&f) % 2048 : 1 + fz_u8(&f), len;
            const uint8_t *bytes = fz_take(&f, want, &len);
            if ((c = pick(ch, who, can_send)) != NULL && len > 0)
                act_send(ch, c, bytes, len, a >> 7);
        } else if (kind == 5) {
            if ((c = pick(ch, who, is_open)) != NULL) {
                c->reading = !c->reading;
                TRACE("client %d %s reading\n", (int)(c - ch->cl), c->reading ? "starts" : "stops");
            }
        } else if (kind == 6) {
            if ((c = pick(ch, who, can_send)) != NULL)
                act_leave(ch, c);
        } else if ((c = pick(ch, who, is_open)) != NULL) {
            act_reset(ch, c);
        }
        flow(ch, 4);
    }

    /* The end: everyone reads what is left, then leaves (or the room stops). */
    for (int i = 0; i < ch->n; i++)
        ch->cl[i].reading = 1;
    flow(ch, 200);
    if (opt & 128) {
        /* As on SIGINT: the signal comes while a turn has an event to handle
         * (a client's line), the loop stops, then the room closes: every
         * client sees the end, and the selector scrubs the events array of
         * that last turn, which must still be alive. */
        struct client *c = pick(ch, 0, can_send);
        if (c != NULL && c->in_server) {
            ssize_t n = send(c->fd, "unread\n", 7, MSG_NOSIGNAL | MSG_DONTWAIT);
            FZ_ASSERT(n == 7, "send: %s", strerror(errno));
            c->sent += 7;
            wait_server_sees(c, 0);
            stopping = 1;
            before_turn(ch);
            FZ_ASSERT(hall_turn(&ch->h, 0) == 1, "no event for the stopping turn");
            stopping = 0;
        }
        hall_close(&ch->h); /* every client sees the end */
        for (int i = 0; i < ch->n; i++) {
            ch->cl[i].ended = 1;
            ch->cl[i].in_server = 0;
            ch->cl[i].g = NULL;
        }
    } else {
        for (int i = 0; i < ch->n; i++) {
            struct client *c = &ch->cl[i];
            if (can_send(c))
                act_leave(ch, c);
            else if (c->in_server)
                FZ_ASSERT(0, "client %d left or reset, yet the server holds it", i);
            drain(ch, 1);
            flow(ch, 4);
        }
        FZ_ASSERT(ch->h.guests == NULL && ch->h.present == 0, "%ld clients still in the room",
                  ch->h.present);
    }
    /* Every open client sees the end of its connection, after all its bytes. */
    for (int i = 0; i < ch->n; i++) {
        struct client *c = &ch->cl[i];
        int64_t end = real_ms() + WAIT_MS;
        while (c->fd >= 0 && !c->got_eof && !c->got_reset) {
            struct pollfd p = {c->fd, POLLIN, 0};
            FZ_ASSERT(real_ms() < end, "client %d never saw the end of its connection", i);
            poll(&p, 1, 10);
            drain(ch, 1);
        }
        verify(c, i);
        if (c->fd >= 0) {
            struct linger lg = {1, 0}; /* no TIME_WAIT left behind */
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(c->fd);
        }
        free(c->pend.p);
        free(c->rx.p);
        free(c->exp.p);
        free(c->items);
    }
    if (!(opt & 128))
        hall_close(&ch->h);
    free(ch);
    free(fz_log);
    free(fz_log_bytes.p);
    fz_log = NULL;
    fz_nlog = fz_logcap = 0;
    fz_log_bytes = (struct buf){0};
    fclose(fz_err);
    if (err_len > 0)
        fprintf(stdout, "%s", err);
    FZ_ASSERT(err_len == 0, "the room reported an error: %.200s", err);
    free(err);
    FZ_ASSERT(fz_lowest_free_fd() == lowest_fd, "a file descriptor was left open");
    return 0;
}
