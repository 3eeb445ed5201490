/*
 * chat_server.c - the tutorials' chat servers on netkit (demos D3, D13, D15).
 *
 *   --mode one    seed 000, gethostname():1042: accepts one client, prints
 *                 "Received from client: <text>" for each message and replies
 *                 "Message received"; exits when the client leaves.      (D3)
 *   --mode named  seed 003, gethostname():12345: sends "Welcome to the chat
 *                 program! Enter your name:", prints "User <name> has joined
 *                 the chat.", then "<name> : <message>" for each message and
 *                 replies "Received"; then the next client, forever.    (D13)
 *   --mode room   seed 004, 127.0.0.1:8000: a chat room; each line reaches
 *                 every other client.                                  (D15)
 *                 --engine selector (default): one thread holds every
 *                 client (nk_selector, queued non-blocking output).
 *                 --engine threads: one thread per client, as the seed.
 *
 * In the modes one and named a message is what one recv(1024) returns, as in
 * the seeds; one trailing newline ("\n" or "\r\n") is left out of what is
 * printed, so that nc(1) users see the same lines. The name in named mode ends
 * at the first newline of the first chunk; what follows it is the first
 * message (so a name and a message sent together are not glued).
 *
 * The room's protocol, one line per message:
 *   server -> client  "Welcome to the chat room! Enter your name:\n"
 *   client -> server  the name (at most 32 bytes kept, cut where a UTF-8
 *                     character starts, control characters shown as '?'; an
 *                     empty name becomes the client's address, "127.0.0.1:54321")
 *   server -> others  "* <name> has joined the chat\n"
 *   client -> server  "<text>\n"  (empty lines are ignored)
 *   server -> others  "<name>: <text>\n"
 *   server -> others  "* <name> has left the chat\n" when it leaves (or resets)
 *   server -> others  "* <name> was dropped (not reading)\n" when it does not
 *                     take what comes for it: its queue (--max-queue bytes)
 *                     overflows, or stays over half full for a second (the
 *                     threads engine: stays full for a second); it is
 *                     disconnected
 *   server -> sender  "* your line was cut to N bytes\n" for a line longer than
 *                     --max-line: its first N bytes go out, the rest is dropped
 * A line is bytes up to "\n" (one "\r" before it is left out), passed on as
 * they are: NUL bytes, invalid UTF-8 and lone "\r"s too. Lines are passed on
 * no faster than the others take them: while a client's queue is more than
 * half full, the server reads no more lines (the selector engine pauses the
 * senders, the threads engine's senders wait for room), so a flood from one
 * client slows that client down instead of dropping readers that merely
 * fell behind; a client that does not read at all is dropped as above.
 * The selector engine runs every client on one thread: the sockets are
 * non-blocking, nk_selector_select says which have lines to read, and each
 * line goes to the others through nk_tcp_client_queue, which sends at once
 * what the socket takes and keeps the rest (up to --max-queue bytes) for
 * select to send later. A client costs no thread and, while idle, no buffer.
 * In the threads engine each client has a reader thread (the serve handler:
 * recv_line, then it queues the line for every other client under the room
 * lock) and a writer thread (sends its own queue). Either way a client that
 * stops reading never blocks anyone else. SIGINT/SIGTERM stop the room
 * cleanly (every client sees the end of the connection); in the modes one and
 * named Ctrl-C simply ends the process, as it ends the seeds.
 *
 * Build: cc chat_server.c $(pkg-config --cflags --libs netkit) -pthread
 */
#include <netkit.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_LEN 32 /* bytes of a room name kept */
#define CHUNK 1024      /* the seeds' recv size */
#define ROOM_GRACE_MS 1000 /* how long a full queue has to drain before its client is dropped */

enum mode { MODE_ONE, MODE_NAMED, MODE_ROOM };
enum engine { ENGINE_SELECTOR, ENGINE_THREADS };

struct config {
    enum mode mode;
    const char *host; /* NULL: the mode's default */
    int port;         /* -1: the mode's default */
    long max_clients; /* 0: forever */
    size_t max_queue; /* room: bytes that may wait for one client */
    size_t max_line;  /* room: longest line passed on */
    enum engine engine;
    int quiet;      /* room: no line per client on stdout */
    int no_notices; /* room: joins and leaves not announced */
};

struct room;

/* A client of the room; lives on its reader thread's stack. Every field
 * below queue is guarded by the room lock. The queue is a ring of
 * room->max_queue bytes: the writer sends from it without the lock, the
 * others append behind what it sends. */
struct member {
    struct room *room;
    nk_tcp_client *conn;
    char name[NAME_MAX_LEN + 1];
    pthread_t writer;
    pthread_cond_t wake; /* the writer waits here for bytes or stop */
    char *queue;
    size_t start;  /* offset of the first byte not yet sent */
    size_t queued; /* bytes queued and not yet sent */
    int in_room;   /* linked in room->members */
    int dropped;   /* its queue overflowed; post() removes it */
    int stop;      /* the writer must end */
    struct member *next;
};

struct room {
    pthread_mutex_t lock;
    pthread_cond_t room_made; /* a writer sent queued bytes, or a member left */
    struct member *members;
    size_t max_queue;
    size_t max_line;
};

static const char *progname = "chat_server";
static nk_tcp_server *server; /* for the signal handler (threads engine) */
static int quiet;             /* room: no line per client on stdout */
static int silent_room;       /* room: joins and leaves not announced */

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: %s [--mode one|named|room] [--host H] [--port P] [--max-clients N]\n"
        "       [--max-queue BYTES] [--max-line BYTES] [--engine selector|threads] [--quiet]\n"
        "       [--no-notices]\n"
        "The tutorials' chat servers.\n"
        "  --mode one        seed 000 (default): one client; prints 'Received from client: ...'\n"
        "                    and replies 'Message received'; exits when the client leaves\n"
        "  --mode named      seed 003: asks for a name, prints '<name> : <message>',\n"
        "                    replies 'Received'; one client after the other, forever\n"
        "  --mode room       seed 004: a chat room; each line goes to every other client\n"
        "                    as '<name>: <line>'; joins, leaves and drops are announced\n"
        "  --host H          address to bind (default: this machine's name for one and\n"
        "                    named, 127.0.0.1 for room)\n"
        "  --port P          port to bind, 0 for an ephemeral one\n"
        "                    (default 1042, 12345 and 8000)\n"
        "  --max-clients N   named, room: exit after N clients (0: forever)\n"
        "  --max-queue BYTES room: bytes that may wait for a client; one that does not\n"
        "                    take them in time is dropped (default 65536)\n"
        "  --max-line BYTES  room: longer lines are cut to BYTES (default 1024)\n"
        "  --engine E        room: selector (default: one thread for every client) or\n"
        "                    threads (one thread per client, as the seed)\n"
        "  --quiet           room: print no line per client\n"
        "  --no-notices      room: do not announce joins and leaves to the room\n"
        "  --help            show this help\n",
        progname);
}

/* Fails with exit status 2 after a bad command line. */
static void bad_usage(const char *what, const char *value)
{
    fprintf(stderr, "%s: %s: '%s'\n", progname, what, value);
    usage(stderr);
    exit(2);
}

static long parse_number(const char *text, long min, long max, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        bad_usage(what, text);
    return v;
}

static enum mode parse_mode(const char *text)
{
    if (strcmp(text, "one") == 0)
        return MODE_ONE;
    if (strcmp(text, "named") == 0)
        return MODE_NAMED;
    if (strcmp(text, "room") != 0)
        bad_usage("unknown mode (one, named or room)", text);
    return MODE_ROOM;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'M'},
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"max-clients", required_argument, NULL, 'm'},
        {"max-queue", required_argument, NULL, 'q'},
        {"max-line", required_argument, NULL, 'l'},
        {"engine", required_argument, NULL, 'e'},
        {"quiet", no_argument, NULL, 'Q'},
        {"no-notices", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'M':
            cfg->mode = parse_mode(optarg);
            break;
        case 'h':
            cfg->host = optarg;
            break;
        case 'p':
            cfg->port = (int)parse_number(optarg, 0, 65535, "bad port");
            break;
        case 'm':
            cfg->max_clients = parse_number(optarg, 0, 1000000000L, "bad --max-clients");
            break;
        case 'q':
            cfg->max_queue = (size_t)parse_number(optarg, 1, 1L << 30, "bad --max-queue");
            break;
        case 'l':
            cfg->max_line = (size_t)parse_number(optarg, 1, 1L << 20, "bad --max-line");
            break;
        case 'e':
            if (strcmp(optarg, "selector") == 0)
                cfg->engine = ENGINE_SELECTOR;
            else if (strcmp(optarg, "threads") == 0)
                cfg->engine = ENGINE_THREADS;
            else
                bad_usage("unknown engine (selector or threads)", optarg);
            break;
        case 'Q':
            cfg->quiet = 1;
            break;
        case 'N':
            cfg->no_notices = 1;
            break;
        case 'H':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc)
        bad_usage("unexpected argument", argv[optind]);
    if (cfg->port < 0)
        cfg->port = cfg->mode == MODE_ONE ? 1042 : cfg->mode == MODE_NAMED ? 12345 : 8000;
}

/* Prints "<program>: <message>" for a netkit code. */
static void report(int code)
{
    fprintf(stderr, "%s: %s\n", progname, nk_strerror(code));
}

/* The length of text without one trailing "\n" or "\r\n". */
static size_t strip_newline(const char *text, size_t len)
{
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    return len;
}

/* Prints prefix, then len bytes of text (NUL bytes too) and a newline. */
static void print_line(const char *prefix, const char *text, size_t len)
{
    fputs(prefix, stdout);
    fwrite(text, 1, len, stdout);
    putchar('\n');
}

/* Sets a room name from the first len bytes of text: at most NAME_MAX_LEN
 * bytes, not cut inside a UTF-8 character, control characters (a NUL, an
 * escape sequence, a "\r") shown as '?', since the name goes to every
 * client's screen and to the server's. */
static void set_name(char *name, const char *text, size_t len)
{
    if (len > NAME_MAX_LEN) {
        len = NAME_MAX_LEN;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--; /* text[len] continues a character: end before its first byte */
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        name[i] = (char)(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    name[len] = '\0';
}

/* ---- --mode one (seed 000) -------------------------------------------- */

/* Receives messages until the client leaves; returns 0 or a netkit code. */
static int one_client_chat(nk_tcp_client *client)
{
    char buf[CHUNK];
    for (;;) {
        ssize_t n = nk_tcp_client_recv(client, buf, sizeof buf);
        if (n <= 0)
            return (int)n;
        print_line("Received from client: ", buf, strip_newline(buf, (size_t)n));
        static const char reply[] = "Message received";
        int rc = nk_tcp_client_sendall(client, reply, sizeof reply - 1, NULL);
        if (rc < 0)
            return rc;
    }
}

static int run_one(nk_tcp_server *srv)
{
    puts("Server listening...");
    nk_tcp_client *client;
    nk_addr peer;
    int rc = nk_tcp_server_accept(srv, &client, &peer, NK_BLOCK);
    if (rc < 0)
        return rc;
    char tuple[NK_ADDRSTRLEN];
    rc = nk_addr_tuple(&peer, tuple, sizeof tuple);
    if (rc >= 0) {
        printf("Connection Established to address %s\n", tuple);
        rc = one_client_chat(client);
    }
    nk_tcp_client_close(client);
    return rc;
}

/* ---- --mode named (seed 003) ------------------------------------------ */

/* Prints and acknowledges one message of the named chat. */
static int named_message(nk_tcp_client *client, const char *name, const char *text, size_t len)
{
    fputs(name, stdout);
    print_line(" : ", text, strip_newline(text, len));
    static const char reply[] = "Received";
    return nk_tcp_client_sendall(client, reply, sizeof reply - 1, NULL);
}

/* Run by nk_tcp_server_serve for each client, one after the other. */
static void named_chat(nk_tcp_client *client, const nk_addr *peer, void *arg)
{
    (void)arg;
    char tuple[NK_ADDRSTRLEN], buf[CHUNK + 1], name[CHUNK + 1];
    int rc = nk_addr_tuple(peer, tuple, sizeof tuple);
    if (rc < 0)
        goto fail;
    printf("Connected by %s\n", tuple);
    static const char welcome[] = "Welcome to the chat program! Enter your name:";
    rc = nk_tcp_client_sendall(client, welcome, sizeof welcome - 1, NULL);
    if (rc < 0)
        goto fail;
    ssize_t n = nk_tcp_client_recv(client, buf, CHUNK);
    if (n < 0) {
        rc = (int)n;
        goto fail;
    }
    /* The name ends at the first newline; the rest is a first message. */
    const char *nl = memchr(buf, '\n', (size_t)n);
    size_t name_len = nl != NULL ? (size_t)(nl - buf) + 1 : (size_t)n;
    name_len = strip_newline(buf, name_len);
    memcpy(name, buf, name_len);
    name[name_len] = '\0';
    printf("User %s has joined the chat.\n", name);
    size_t rest = nl != NULL ? (size_t)n - (size_t)(nl + 1 - buf) : 0;
    if (rest > 0 && (rc = named_message(client, name, nl + 1, rest)) < 0)
        goto fail;
    while ((n = nk_tcp_client_recv(client, buf, CHUNK)) > 0) {
        rc = named_message(client, name, buf, (size_t)n);
        if (rc < 0)
            goto fail;
    }
    if (n == 0)
        return;
    rc = (int)n;
fail:
    report(rc);
}

/* ---- --mode room (seed 004) ------------------------------------------- */

/* Appends a copy of text to m's queue and wakes its writer. Returns -1 when
 * the queue would exceed the room's limit. Room locked. */
static int enqueue(struct room *r, struct member *m, const char *text, size_t len)
{
    if (m->queued + len > r->max_queue)
        return -1;
    size_t end = (m->start + m->queued) % r->max_queue;
    size_t first = r->max_queue - end < len ? r->max_queue - end : len;
    memcpy(m->queue + end, text, first);
    memcpy(m->queue, text + first, len - first); /* wraps around */
    m->queued += len;
    pthread_cond_signal(&m->wake);
    return 0;
}

/* 1 when a member but from has no room for len more bytes. Room locked. */
static int someone_full(const struct room *r, const struct member *from, size_t len)
{
    for (const struct member *m = r->members; m != NULL; m = m->next)
        if (m != from && !m->dropped && m->queued + len > r->max_queue)
            return 1;
    return 0;
}

/* Queues text for every member but from; marks those that overflow. A full
 * queue is first given ROOM_GRACE_MS for its writer thread to send (the room
 * lock is released while this sender waits, so a fast sender is slowed to
 * the pace of the room instead of outrunning the writers); a member whose
 * queue is still full then does not read, and is marked. Room locked. */
static void deliver(struct room *r, const struct member *from, const char *text, size_t len)
{
    if (someone_full(r, from, len)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ROOM_GRACE_MS / 1000;
        until.tv_nsec += (long)(ROOM_GRACE_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (someone_full(r, from, len) &&
               pthread_cond_timedwait(&r->room_made, &r->lock, &until) == 0)
            ; /* members may have come and gone: the list is walked afresh */
    }
    for (struct member *m = r->members; m != NULL; m = m->next)
        if (m != from && !m->dropped && enqueue(r, m, text, len) < 0)
            m->dropped = 1;
}

/* Unlinks m from the room and tells its writer to stop. Room locked. */
static void unlink_member(struct room *r, struct member *m)
{
    struct member **p = &r->members;
    while (*p != m)
        p = &(*p)->next;
    *p = m->next;
    m->in_room = 0;
    m->stop = 1;
    pthread_cond_signal(&m->wake);
    pthread_cond_broadcast(&r->room_made); /* senders waiting for its room go on */
}

/* Ends both directions of a connection, so that its threads stop waiting. */
static void hang_up(nk_tcp_client *conn)
{
    int rc = nk_tcp_client_shutdown(conn, SHUT_RDWR);
    if (rc < 0 && rc != -ENOTCONN) /* ENOTCONN: the peer is already gone */
        report(rc);
}

/* Drops (and announces) every member whose queue overflowed, until none
 * does: the notices may overflow others in turn. Room locked. */
static void reap(struct room *r)
{
    for (;;) {
        struct member *m = r->members;
        while (m != NULL && !m->dropped)
            m = m->next;
        if (m == NULL)
            return;
        unlink_member(r, m);
        hang_up(m->conn); /* its reader sees the end of the stream and returns */
        if (!quiet)
            printf("User %s was dropped (not reading).\n", m->name);
        char notice[NAME_MAX_LEN + 64];
        int n = snprintf(notice, sizeof notice, "* %s was dropped (not reading)\n", m->name);
        deliver(r, NULL, notice, (size_t)n);
    }
}

/* Sends text to every member but from, then drops those that overflowed. Room locked. */
static void post(struct room *r, const struct member *from, const char *text, size_t len)
{
    deliver(r, from, text, len);
    reap(r);
}

/* Sends "name: text" to the others. Returns -1 when me is no longer in the room. */
static int say(struct member *me, const char *text, size_t len, char *out)
{
    struct room *r = me->room;
    pthread_mutex_lock(&r->lock);
    int in_room = me->in_room;
    if (in_room) {
        /* out holds NAME_MAX_LEN + 3 + max_line bytes: "name: ", the text, "\n". */
        size_t n = (size_t)snprintf(out, NAME_MAX_LEN + 3, "%s: ", me->name);
        memcpy(out + n, text, len);
        out[n + len] = '\n';
        post(r, me, out, n + len + 1);
    }
    pthread_mutex_unlock(&r->lock);
    return in_room ? 0 : -1;
}

/* Tells the sender that its line was cut. */
static void tell_cut(struct member *me)
{
    struct room *r = me->room;
    char notice[64];
    int n = snprintf(notice, sizeof notice, "* your line was cut to %zu bytes\n", r->max_line);
    pthread_mutex_lock(&r->lock);
    if (me->in_room && enqueue(r, me, notice, (size_t)n) < 0) {
        me->dropped = 1;
        reap(r);
    }
    pthread_mutex_unlock(&r->lock);
}

/* The writer thread: sends m's queue in order until told to stop. */
static void *writer_main(void *arg)
{
    struct member *m = arg;
    struct room *r = m->room;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!m->stop && m->queued == 0)
            pthread_cond_wait(&m->wake, &r->lock);
        if (m->stop)
            break;
        /* Everything up to the end of the ring; others only append meanwhile. */
        const char *from = m->queue + m->start;
        size_t len = r->max_queue - m->start < m->queued ? r->max_queue - m->start : m->queued;
        pthread_mutex_unlock(&r->lock);
        size_t sent;
        int rc = nk_tcp_client_sendall(m->conn, from, len, &sent);
        pthread_mutex_lock(&r->lock);
        m->start = (m->start + sent) % r->max_queue;
        m->queued -= sent;
        if (sent > 0)
            pthread_cond_broadcast(&r->room_made);
        if (rc < 0) {
            /* The client is gone: end its reader too, which then leaves the room. */
            hang_up(m->conn);
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Reads the first line, the name, into me->name (cut to NAME_MAX_LEN bytes;
 * an empty name becomes the peer's address). Returns 1, 0 when the client
 * left first, or a netkit code. */
static int read_name(struct member *me, const nk_addr *peer, char *line, size_t cap)
{
    ssize_t n = nk_tcp_client_recv_line(me->conn, line, cap);
    if (n <= 0 && n != -EMSGSIZE)
        return (int)n;
    size_t len = n == -EMSGSIZE ? cap - 1 : strip_newline(line, (size_t)n);
    set_name(me->name, line, len);
    /* An over-long name line: skip the rest of it. */
    while (n == -EMSGSIZE)
        n = nk_tcp_client_recv_line(me->conn, line, cap);
    if (n <= 0)
        return (int)n;
    if (me->name[0] == '\0') { /* empty, or a NUL first: the name is a C string */
        int rc = nk_addr_format(peer, me->name, sizeof me->name);
        if (rc < 0)
            return rc;
    }
    return 1;
}

/* Joins the room and announces it. */
static void join(struct member *me)
{
    struct room *r = me->room;
    char notice[NAME_MAX_LEN + 64];
    int n = snprintf(notice, sizeof notice, "* %s has joined the chat\n", me->name);
    pthread_mutex_lock(&r->lock);
    me->next = r->members;
    r->members = me;
    me->in_room = 1;
    if (!silent_room)
        post(r, me, notice, (size_t)n);
    pthread_mutex_unlock(&r->lock);
    if (!quiet)
        printf("User %s has joined the chat.\n", me->name);
}

/* Leaves the room (unless dropped already), announces it and stops the writer. */
static void leave(struct member *me)
{
    struct room *r = me->room;
    char notice[NAME_MAX_LEN + 64];
    int n = snprintf(notice, sizeof notice, "* %s has left the chat\n", me->name);
    pthread_mutex_lock(&r->lock);
    int was_in = me->in_room;
    if (was_in) {
        unlink_member(r, me);
        if (!silent_room)
            post(r, me, notice, (size_t)n);
    }
    me->stop = 1;
    pthread_cond_signal(&me->wake);
    pthread_mutex_unlock(&r->lock);
    hang_up(me->conn); /* wakes the writer if it is blocked in sendall */
    pthread_join(me->writer, NULL);
    if (was_in && !quiet)
        printf("User %s has left the chat.\n", me->name);
}

/* Passes the member's lines on until it leaves. */
static void relay_lines(struct member *me, char *line, size_t cap, char *out)
{
    size_t max_line = me->room->max_line;
    int cutting = 0; /* skipping the rest of an over-long line */
    for (;;) {
        ssize_t n = nk_tcp_client_recv_line(me->conn, line, cap);
        if (n == -EMSGSIZE) {
            /* More than max_line + 1 bytes without a newline. */
            if (!cutting && (say(me, line, max_line, out) < 0))
                return;
            if (!cutting)
                tell_cut(me);
            cutting = 1;
            continue;
        }
        if (n <= 0) {
            if (n < 0 && n != -ECONNRESET && n != -ETIMEDOUT)
                report((int)n);
            return;
        }
        if (cutting) {
            cutting = 0; /* the end of the over-long line */
            continue;
        }
        size_t len = strip_newline(line, (size_t)n);
        if (len == 0)
            continue;
        if (len > max_line) {
            len = max_line;
            tell_cut(me);
        }
        if (say(me, line, len, out) < 0)
            return;
    }
}

/* Run by nk_tcp_server_serve in its own thread for each client: the reader. */
static void room_client(nk_tcp_client *client, const nk_addr *peer, void *arg)
{
    struct member me = {.room = arg, .conn = client};
    char tuple[NK_ADDRSTRLEN];
    int rc = nk_addr_tuple(peer, tuple, sizeof tuple);
    if (rc < 0) {
        report(rc);
        return;
    }
    if (!quiet)
        printf("Connected by %s\n", tuple);
    size_t cap = me.room->max_line + 3; /* the line, "\r\n" and the NUL */
    char *line = malloc(cap);
    char *out = malloc(NAME_MAX_LEN + 3 + me.room->max_line);
    me.queue = malloc(me.room->max_queue);
    static const char welcome[] = "Welcome to the chat room! Enter your name:\n";
    if (line == NULL || out == NULL || me.queue == NULL)
        rc = -ENOMEM;
    /* A chat is interactive: no Nagle delay for the writer's small sends. */
    else if ((rc = nk_tcp_client_set_nodelay(client, 1)) == 0 &&
             (rc = nk_tcp_client_sendall(client, welcome, sizeof welcome - 1, NULL)) == 0)
        rc = read_name(&me, peer, line, cap);
    if (rc == 1 && (rc = -pthread_cond_init(&me.wake, NULL)) == 0) {
        rc = -pthread_create(&me.writer, NULL, writer_main, &me);
        if (rc == 0) {
            join(&me);
            relay_lines(&me, line, cap, out);
            leave(&me);
        }
        pthread_cond_destroy(&me.wake);
    }
    if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET)
        report(rc);
    free(line);
    free(out);
    free(me.queue);
}

/* ---- --mode room, --engine selector: every client on one thread -------- */

/* A client of the selector room. Its socket is non-blocking and registered
 * for reading; its output waits in the client's own queue (nk_tcp_client_queue),
 * which holds no memory while it is empty. */
struct guest {
    nk_tcp_client *conn;
    char name[NAME_MAX_LEN + 1];
    unsigned char state;   /* NAMING, SKIP_NAME (rest of a long name), CHATTING */
    unsigned char cutting; /* skipping the rest of an over-long line */
    unsigned char dropped; /* its queue overflowed: reap() removes it */
    unsigned char backlogged; /* its queue is over half --max-queue */
    unsigned char paused;     /* not registered: its lines wait until no one is backlogged */
    int64_t backlog_since;    /* when it became backlogged, monotonic ms */
    struct guest *prev, *next; /* every guest of the hall, newest first */
};

enum { NAMING, SKIP_NAME, CHATTING };

#define HALL_EVENTS 256 /* events taken per select */

struct hall {
    nk_selector *sel;
    nk_tcp_server *srv;
    struct guest *guests; /* every connection, newest first */
    long accepted, present;
    const struct config *cfg;
    char *line, *out;       /* one line in, one line out, shared by all */
    size_t cap;             /* of line: max_line, "\r\n" and the NUL */
    int64_t accept_resumes; /* after EMFILE: monotonic ms, 0 = accepting */
    long backlogged, paused; /* guests with those flags */
    nk_event events[HALL_EVENTS]; /* the last select's: lives as long as sel */
};

static volatile sig_atomic_t stopping;
static nk_selector *stop_sel; /* for the signal handler */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Queues text for g; a guest whose queue would overflow is marked for reap,
 * one whose queue passes half the limit is backlogged (no lines are read
 * until it catches up). Other errors mean the connection failed: its socket
 * reads as ended, so the guest leaves through on_readable. */
static void send_to(struct hall *h, struct guest *g, const char *text, size_t len)
{
    if (nk_tcp_client_queue(g->conn, text, len) == -ENOBUFS) {
        g->dropped = 1;
    } else if (!g->backlogged &&
               nk_tcp_client_queued(g->conn) > (ssize_t)(h->cfg->max_queue / 2)) {
        g->backlogged = 1;
        g->backlog_since = now_ms();
        h->backlogged++;
    }
}

/* Queues len bytes for every guest in the room (named) but from. */
static void broadcast(struct hall *h, const struct guest *from, const char *text, size_t len)
{
    for (struct guest *g = h->guests; g != NULL; g = g->next)
        /* The analyzer cannot follow g->prev->next == g, so after reap_guests
         * unlinked and freed a guest that was not first it still sees it here. */
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
        if (g != from && g->state == CHATTING && !g->dropped)
            send_to(h, g, text, len);
}

static void unlink_guest(struct hall *h, struct guest *g)
{
    if (h->guests == g)
        h->guests = g->next;
    else
        g->prev->next = g->next;
    if (g->next != NULL)
        g->next->prev = g->prev;
    g->prev = g->next = NULL;
}

/* Closes a guest's connection (which also unregisters it) and frees it. */
static void release(struct hall *h, struct guest *g)
{
    h->backlogged -= g->backlogged;
    h->paused -= g->paused;
    unlink_guest(h, g);
    nk_tcp_client_close(g->conn);
    free(g);
    h->present--;
}

/* Removes and announces every dropped guest, until none is left: the
 * notices may overflow others in turn. */
static void reap_guests(struct hall *h)
{
    for (;;) {
        struct guest *g = h->guests;
        while (g != NULL && !g->dropped)
            g = g->next;
        if (g == NULL)
            return;
        if (!quiet)
            printf("User %s was dropped (not reading).\n", g->name);
        char notice[NAME_MAX_LEN + 64];
        int n = snprintf(notice, sizeof notice, "* %s was dropped (not reading)\n", g->name);
        release(h, g);
        broadcast(h, NULL, notice, (size_t)n);
    }
}

/* The guest has gone (end of stream or an error): leaves the room. */
static void depart(struct hall *h, struct guest *g)
{
    if (g->state == CHATTING) {
        char notice[NAME_MAX_LEN + 64];
        int n = snprintf(notice, sizeof notice, "* %s has left the chat\n", g->name);
        if (!silent_room)
            broadcast(h, g, notice, (size_t)n);
        if (!quiet)
            printf("User %s has left the chat.\n", g->name);
    }
    release(h, g);
}

/* Sends "name: text" to every other guest. */
static void speak(struct hall *h, struct guest *g, const char *text, size_t len)
{
    /* out holds NAME_MAX_LEN + 3 + max_line bytes: "name: ", the text, "\n". */
    size_t n = (size_t)snprintf(h->out, NAME_MAX_LEN + 3, "%s: ", g->name);
    memcpy(h->out + n, text, len);
    h->out[n + len] = '\n';
    broadcast(h, g, h->out, n + len + 1);
}

static void tell_cut_guest(struct hall *h, struct guest *g)
{
    char notice[64];
    int n = snprintf(notice, sizeof notice, "* your line was cut to %zu bytes\n",
                     h->cfg->max_line);
    send_to(h, g, notice, (size_t)n);
}

/* The guest's first line is its name (cut to NAME_MAX_LEN bytes; empty: its
 * address). Once the whole line is in, it joins the room. */
static int take_name(struct hall *h, struct guest *g, ssize_t n)
{
    if (g->state == NAMING) {
        size_t len = n == -EMSGSIZE ? h->cap - 1 : strip_newline(h->line, (size_t)n);
        set_name(g->name, h->line, len);
        if (g->name[0] == '\0') { /* empty (or nothing left of it after the cut) */
            nk_addr peer;
            int rc = nk_tcp_client_peername(g->conn, &peer);
            if (rc < 0 || (rc = nk_addr_format(&peer, g->name, sizeof g->name)) < 0)
                return rc;
        }
    }
    if (n == -EMSGSIZE) {
        g->state = SKIP_NAME; /* the rest of an over-long name line */
        return 0;
    }
    g->state = CHATTING;
    char notice[NAME_MAX_LEN + 64];
    int len = snprintf(notice, sizeof notice, "* %s has joined the chat\n", g->name);
    if (!silent_room)
        broadcast(h, g, notice, (size_t)len);
    if (!quiet)
        printf("User %s has joined the chat.\n", g->name);
    return 0;
}

/* Handles one complete line (n > 0) or an over-long piece (-EMSGSIZE). */
static int take_line(struct hall *h, struct guest *g, ssize_t n)
{
    if (g->state != CHATTING)
        return take_name(h, g, n);
    size_t max_line = h->cfg->max_line;
    if (n == -EMSGSIZE) {
        if (!g->cutting) {
            speak(h, g, h->line, max_line);
            tell_cut_guest(h, g);
        }
        g->cutting = 1;
        return 0;
    }
    if (g->cutting) {
        g->cutting = 0; /* the end of the over-long line */
        return 0;
    }
    size_t len = strip_newline(h->line, (size_t)n);
    if (len == 0)
        return 0;
    if (len > max_line) {
        len = max_line;
        tell_cut_guest(h, g);
    }
    speak(h, g, h->line, len);
    return 0;
}

/* The guest's socket is readable: takes its complete lines, at most a few
 * per turn so that one client's flood cannot starve the others (readiness
 * is level-triggered: what is left is reported by the next select). */
static void on_readable(struct hall *h, struct guest *g)
{
    for (int turn = 0; turn < 64; turn++) {
        if (h->backlogged > 0) {
            /* Someone is behind: g's lines wait (unregistered, so that its
             * readiness does not spin the loop) until catch_up resumes it. */
            (void)nk_selector_unregister(h->sel, nk_tcp_client_fd(g->conn));
            g->paused = 1;
            h->paused++;
            return;
        }
        ssize_t n = nk_tcp_client_recv_line(g->conn, h->line, h->cap);
        if (n == -EAGAIN)
            return;
        if (n > 0 || n == -EMSGSIZE) {
            int rc = take_line(h, g, n);
            if (rc == 0)
                continue;
            n = rc;
        }
        /* End of stream or an error: the guest leaves. */
        if (n < 0 && n != -ECONNRESET && n != -ETIMEDOUT && n != -EPIPE)
            report((int)n);
        depart(h, g);
        return;
    }
}

/* Runs every 10 ms while a guest is backlogged or paused: sends the queues
 * of paused guests (select sends those of registered ones), lets a queue
 * that drained below a quarter of the limit go, drops a guest backlogged for
 * ROOM_GRACE_MS (it does not read), and resumes the paused guests once no
 * one is backlogged. */
static void catch_up(struct hall *h)
{
    int64_t now = now_ms();
    for (struct guest *g = h->guests; g != NULL; g = g->next) {
        if (g->paused)
            (void)nk_tcp_client_flush(g->conn); /* an error sticks: its next call sees it */
        if (!g->backlogged)
            continue;
        if (nk_tcp_client_queued(g->conn) <= (ssize_t)(h->cfg->max_queue / 4)) {
            g->backlogged = 0;
            h->backlogged--;
        } else if (now - g->backlog_since >= ROOM_GRACE_MS) {
            g->dropped = 1;
        }
    }
    reap_guests(h);
    if (h->backlogged > 0)
        return;
    for (struct guest *g = h->guests; g != NULL && h->paused > 0; g = g->next) {
        if (!g->paused)
            continue;
        g->paused = 0;
        h->paused--;
        int rc = nk_selector_register_client(h->sel, g->conn, NK_EVENT_READ, g);
        if (rc < 0) {
            report(rc);
            g->dropped = 1;
        }
    }
    reap_guests(h);
}

/* Sets up a new connection: non-blocking, its queue bound, the welcome. */
static int admit(struct hall *h, nk_tcp_client *conn, const nk_addr *peer)
{
    struct guest *g = calloc(1, sizeof *g);
    if (g == NULL) {
        nk_tcp_client_close(conn);
        return -ENOMEM;
    }
    g->conn = conn;
    g->next = h->guests;
    if (h->guests != NULL)
        h->guests->prev = g;
    h->guests = g;
    h->present++;
    static const char welcome[] = "Welcome to the chat room! Enter your name:\n";
    int rc;
    if ((rc = nk_tcp_client_settimeout(conn, NK_NONBLOCK)) < 0 ||
        (rc = nk_tcp_client_set_nodelay(conn, 1)) < 0 ||
        (rc = nk_tcp_client_set_queue_limit(conn, h->cfg->max_queue)) < 0 ||
        (rc = nk_tcp_client_queue(conn, welcome, sizeof welcome - 1)) < 0 ||
        (rc = nk_selector_register_client(h->sel, conn, NK_EVENT_READ, g)) < 0) {
        release(h, g);
        return rc == -EPIPE || rc == -ECONNRESET ? 0 : rc; /* it left already */
    }
    if (!quiet) {
        char tuple[NK_ADDRSTRLEN];
        if (nk_addr_tuple(peer, tuple, sizeof tuple) >= 0)
            printf("Connected by %s\n", tuple);
    }
    return 0;
}

/* The server is readable: accepts every waiting connection. */
static void on_acceptable(struct hall *h)
{
    long max = h->cfg->max_clients;
    while (max == 0 || h->accepted < max) {
        nk_tcp_client *conn;
        nk_addr peer;
        int rc = nk_tcp_server_accept(h->srv, &conn, &peer, NK_NONBLOCK);
        if (rc == -EAGAIN)
            return;
        if (rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM) {
            /* Out of fds: stop listening for 100 ms instead of spinning. */
            report(rc);
            (void)nk_selector_unregister(h->sel, nk_tcp_server_fd(h->srv));
            h->accept_resumes = now_ms() + 100;
            return;
        }
        if (rc < 0) {
            report(rc); /* the listener is fine; this connection is not */
            return;
        }
        h->accepted++;
        if ((rc = admit(h, conn, &peer)) < 0)
            report(rc);
    }
    /* max_clients reached: accept no more; the room ends when they leave. */
    (void)nk_selector_unregister(h->sel, nk_tcp_server_fd(h->srv));
}

/* The select timeout: 10 ms while the room catches up, until accepting
 * resumes, else forever. */
static int next_timeout(struct hall *h)
{
    int busy = h->backlogged > 0 || h->paused > 0;
    if (h->accept_resumes == 0)
        return busy ? 10 : NK_BLOCK;
    int64_t left = h->accept_resumes - now_ms();
    if (left > 0)
        return busy && left > 10 ? 10 : (int)left;
    h->accept_resumes = 0;
    int rc = nk_selector_register_server(h->sel, h->srv, NK_EVENT_READ, NULL);
    if (rc < 0)
        report(rc);
    return 0;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stopping = 1;
    (void)nk_selector_wakeup(stop_sel); /* async-signal-safe */
}

/* One turn of the loop: waits up to timeout_ms for ready sockets and handles
 * them. Returns the number of events, or a netkit code. */
static int hall_turn(struct hall *h, int timeout_ms)
{
    nk_event *events = h->events;
    int n = nk_selector_select(h->sel, events, HALL_EVENTS, timeout_ms);
    for (int i = 0; i < n && !stopping; i++) {
        if (events[i].events == 0)
            continue; /* its guest was dropped while handling an earlier event */
        if (events[i].data == NULL)
            on_acceptable(h);
        else
            on_readable(h, events[i].data);
        reap_guests(h);
    }
    if (n >= 0 && (h->backlogged > 0 || h->paused > 0))
        catch_up(h);
    return n;
}

/* The selector room's loop: until a signal, or until max_clients came and left. */
static int hall_loop(struct hall *h)
{
    while (!stopping) {
        long max = h->cfg->max_clients;
        if (max > 0 && h->accepted >= max && h->present == 0)
            return 0;
        int n = hall_turn(h, next_timeout(h));
        if (n < 0)
            return n;
    }
    return 0;
}

/* Sets up the room on srv: its buffers and a selector watching srv. */
static int hall_open(struct hall *h, nk_tcp_server *srv, const struct config *cfg)
{
    memset(h, 0, sizeof *h);
    h->srv = srv;
    h->cfg = cfg;
    h->cap = cfg->max_line + 3;
    h->line = malloc(h->cap);
    h->out = malloc(NAME_MAX_LEN + 3 + cfg->max_line);
    if (h->line == NULL || h->out == NULL)
        return -ENOMEM;
    int rc = nk_selector_open(&h->sel, NULL);
    return rc < 0 ? rc : nk_selector_register_server(h->sel, srv, NK_EVENT_READ, NULL);
}

/* Ends the room: every client sees the end of its connection. */
static void hall_close(struct hall *h)
{
    while (h->guests != NULL) {
        struct guest *g = h->guests;
        if (g->state == CHATTING && !quiet)
            printf("User %s has left the chat.\n", g->name);
        release(h, g);
    }
    nk_selector_close(h->sel);
    free(h->line);
    free(h->out);
}

static int run_hall(nk_tcp_server *srv, const struct config *cfg)
{
    struct hall h;
    int rc = hall_open(&h, srv, cfg);
    if (rc == 0) {
        stop_sel = h.sel;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
            rc = -errno;
        else
            rc = hall_loop(&h);
    }
    hall_close(&h);
    return rc;
}

/* ---- --mode room, --engine threads: the end ------------------------------ */

static void on_signal(int sig)
{
    (void)sig;
    /* Async-signal-safe; its only failure would be a closed server. */
    (void)nk_tcp_server_shutdown(server);
}

static int catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return -errno;
    return 0;
}

static int run_room(nk_tcp_server *srv, const struct config *cfg)
{
    struct room room = {.members = NULL, .max_queue = cfg->max_queue, .max_line = cfg->max_line};
    int rc = -pthread_mutex_init(&room.lock, NULL);
    if (rc < 0)
        return rc;
    if ((rc = -pthread_cond_init(&room.room_made, NULL)) < 0) {
        pthread_mutex_destroy(&room.lock);
        return rc;
    }
    server = srv;
    rc = catch_signals();
    if (rc == 0) {
        nk_serve_opts opts = {.mode = NK_SERVE_THREADS, .max_clients = cfg->max_clients};
        rc = nk_tcp_server_serve(srv, room_client, &room, &opts);
        if (rc == -ECANCELED) /* a signal came before serve started */
            rc = 0;
    }
    pthread_cond_destroy(&room.room_made);
    pthread_mutex_destroy(&room.lock);
    return rc;
}

/* ---- main ------------------------------------------------------------- */

/* Opens the server and prints "listening on HOST:PORT". */
static int open_server(const struct config *cfg, nk_tcp_server **out)
{
    char host[256];
    const char *bind_host = cfg->host;
    int rc;
    if (bind_host == NULL && cfg->mode == MODE_ROOM)
        bind_host = "127.0.0.1";
    if (bind_host == NULL) {
        if ((rc = nk_gethostname(host, sizeof host)) < 0)
            return rc;
        bind_host = host;
    }
    /* The seeds listen(5); the room takes many clients at once. */
    nk_tcp_server_opts opts = {.backlog = cfg->mode == MODE_ROOM ? 0 : 5};
    if ((rc = nk_tcp_server_open(out, bind_host, cfg->port, &opts)) < 0)
        return rc;
    nk_addr addr;
    char text[NK_ADDRSTRLEN];
    if ((rc = nk_tcp_server_sockname(*out, &addr)) < 0 ||
        (rc = nk_addr_format(&addr, text, sizeof text)) < 0) {
        nk_tcp_server_close(*out);
        return rc;
    }
    printf("listening on %s\n", text);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct config cfg = {.mode = MODE_ONE, .port = -1, .max_queue = 65536, .max_line = 1024};
    parse_args(argc, argv, &cfg);
    nk_tcp_server *srv;
    int rc = open_server(&cfg, &srv);
    if (rc < 0) {
        report(rc);
        return 1;
    }
    if (cfg.mode == MODE_ONE) {
        rc = run_one(srv);
    } else if (cfg.mode == MODE_NAMED) {
        nk_serve_opts opts = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = cfg.max_clients};
        rc = nk_tcp_server_serve(srv, named_chat, NULL, &opts);
    } else {
        quiet = cfg.quiet;
        silent_room = cfg.no_notices;
        rc = cfg.engine == ENGINE_SELECTOR ? run_hall(srv, &cfg) : run_room(srv, &cfg);
    }
    nk_tcp_server_close(srv);
    if (rc < 0) {
        report(rc);
        return 1;
    }
    return 0;
}
