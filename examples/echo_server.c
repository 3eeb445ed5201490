/*
 * echo_server.c - the tutorials' TCP echo server on netkit (demos D2, D4, D6).
 *
 *   --style d2   seed 000: 1 KiB chunks, "Received: <text>"          (D2)
 *   --style d4   seed 001: 16-byte chunks, "Received b'...'"         (D4, default)
 *
 * Three engines serve the clients:
 *   --engine sequential  one client after the other, as both seeds (default)
 *   --engine threads     seed 001's threaded server: one thread per client
 *                        and its shorter lines (D6); --threads says the same
 *   --engine selector    every client at once on one thread: nk_selector says
 *                        which sockets are readable, the sockets are
 *                        non-blocking and each echo goes out through
 *                        nk_tcp_client_queue, which sends what the socket
 *                        takes now and keeps the rest for select to send. A
 *                        client that does not read its echoes therefore never
 *                        blocks the others; once more than --max-queue bytes
 *                        wait for it, it is disconnected.
 *
 * Every server prints "listening on HOST:PORT" (the real port) first, then the
 * seed's own lines; the selector engine prints the sequential engine's lines
 * for each client, and "Waiting for a connection" whenever no client is left.
 * It serves forever, like the seed; --max-clients N makes it exit after N
 * clients. The selector engine also stops cleanly on SIGINT/SIGTERM (exit
 * status 0, every client sees its connection end).
 *
 * Build: cc echo_server.c $(pkg-config --cflags --libs netkit) -pthread
 */
#include <netkit.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum style { STYLE_D2, STYLE_D4 };
enum engine { ENGINE_SEQUENTIAL, ENGINE_THREADS, ENGINE_SELECTOR };

struct config {
    const char *host;
    int port;
    enum style style;
    enum engine engine;
    size_t chunk;     /* bytes per recv */
    size_t max_queue; /* selector: bytes that may wait for one client */
    long max_clients; /* 0 = forever */
    long served;      /* clients done, counted by the sequential engine only */
};

static const char *progname = "echo_server";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--host H] [--port P] [--style d2|d4] [--chunk N]\n"
            "       [--engine sequential|threads|selector] [--threads] [--max-queue BYTES]\n"
            "       [--max-clients N]\n"
            "The tutorials' TCP echo server: every chunk received is sent back.\n"
            "  --host H          address to bind (default localhost)\n"
            "  --port P          port to bind, 0 for an ephemeral one (default 65432)\n"
            "  --style d2        seed 000: 1024-byte chunks, prints 'Received: <text>'\n"
            "  --style d4        seed 001: 16-byte chunks, prints \"Received b'...'\" (default)\n"
            "  --chunk N         bytes per recv, overriding the style's chunk size\n"
            "  --engine E        how clients are served:\n"
            "                      sequential  one after the other, as the seeds (default)\n"
            "                      threads     one thread per client (seed 001, D6)\n"
            "                      selector    all at once on one thread (nk_selector)\n"
            "  --threads         the same as --engine threads\n"
            "  --max-queue BYTES selector: disconnect a client once more than BYTES of\n"
            "                    its echoes wait unsent (default 65536)\n"
            "  --max-clients N   exit after N clients (default 0: serve forever)\n"
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
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min || v > max)
        bad_usage(what, text);
    return v;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"style", required_argument, NULL, 's'},
        {"chunk", required_argument, NULL, 'c'},
        {"engine", required_argument, NULL, 'e'},
        {"threads", no_argument, NULL, 't'},
        {"max-queue", required_argument, NULL, 'q'},
        {"max-clients", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    size_t chunk = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            cfg->host = optarg;
            break;
        case 'p':
            cfg->port = (int)parse_number(optarg, 0, 65535, "bad port");
            break;
        case 's':
            if (strcmp(optarg, "d2") == 0)
                cfg->style = STYLE_D2;
            else if (strcmp(optarg, "d4") == 0)
                cfg->style = STYLE_D4;
            else
                bad_usage("unknown style (d2 or d4)", optarg);
            break;
        case 'c':
            chunk = (size_t)parse_number(optarg, 1, 1 << 20, "bad chunk size (1..1048576)");
            break;
        case 'e':
            if (strcmp(optarg, "sequential") == 0)
                cfg->engine = ENGINE_SEQUENTIAL;
            else if (strcmp(optarg, "threads") == 0)
                cfg->engine = ENGINE_THREADS;
            else if (strcmp(optarg, "selector") == 0)
                cfg->engine = ENGINE_SELECTOR;
            else
                bad_usage("unknown engine (sequential, threads or selector)", optarg);
            break;
        case 't':
            cfg->engine = ENGINE_THREADS;
            break;
        case 'q':
            cfg->max_queue = (size_t)parse_number(optarg, 1, 1L << 30, "bad --max-queue");
            break;
        case 'm':
            cfg->max_clients = parse_number(optarg, 0, 1000000000L, "bad --max-clients");
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
    cfg->chunk = chunk > 0 ? chunk : cfg->style == STYLE_D2 ? 1024 : 16;
    /* A queue refuses any echo longer than its bound, however empty it is. */
    if (cfg->engine == ENGINE_SELECTOR && cfg->max_queue < cfg->chunk) {
        fprintf(stderr, "%s: --max-queue (%zu) must be at least the chunk size (%zu)\n", progname,
                cfg->max_queue, cfg->chunk);
        exit(2);
    }
}

/* Prints prefix, then data as Python's repr() of bytes prints it (b'...'),
 * as one line even when several threads print at once. */
static void print_bytes_repr(const char *prefix, const unsigned char *data, size_t len)
{
    int quote = memchr(data, '\'', len) != NULL && memchr(data, '"', len) == NULL ? '"' : '\'';
    flockfile(stdout);
    fputs(prefix, stdout);
    putchar('b');
    putchar(quote);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = data[i];
        if (c == quote || c == '\\')
            printf("\\%c", c);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar(quote);
    putchar('\n');
    funlockfile(stdout);
}

/* Prints prefix and the raw text, as one line (Python's data.decode()). */
static void print_text(const char *prefix, const unsigned char *data, size_t len)
{
    flockfile(stdout);
    fputs(prefix, stdout);
    fwrite(data, 1, len, stdout);
    putchar('\n');
    funlockfile(stdout);
}

/* ---- What every engine prints for a client -------------------------------- */

/* Formats the peer as Python prints its address: ('127.0.0.1', 54321). */
static void peer_name(const nk_addr *peer, char *who, size_t cap)
{
    int rc = nk_addr_tuple(peer, who, cap);
    if (rc < 0)
        snprintf(who, cap, "(%s)", nk_strerror(rc));
}

/* Prints what the seeds print for a chunk of n bytes received (n == 0: the
 * end of the stream), before the chunk is echoed. Seed 000 (D2): "Received:
 * <text>". Seed 001 (D4): "Received b'...'" for every chunk, the final b''
 * too, and "Sending data back to the client". Seed 001's threaded server
 * (D6): "Received b'...'" alone. */
static void print_chunk(const struct config *cfg, const unsigned char *buf, size_t n)
{
    if (cfg->style == STYLE_D2) {
        if (n > 0)
            print_text("Received: ", buf, n);
    } else if (cfg->engine == ENGINE_THREADS) {
        if (n > 0)
            print_bytes_repr("Received ", buf, n);
    } else {
        print_bytes_repr("Received ", buf, n);
        if (n > 0)
            printf("Sending data back to the client\n");
    }
}

/* Prints how a client's connection ended: rc 0 is the end of its stream, a
 * negative code is an error of that connection only, reported on stderr. */
static void print_end(const char *who, int rc)
{
    if (rc == 0)
        printf("No more data from %s\n", who);
    else
        fprintf(stderr, "%s: %s: %s\n", progname, who, nk_strerror(rc));
}

static void report(int code)
{
    fprintf(stderr, "%s: %s\n", progname, nk_strerror(code));
}

/* ---- --engine sequential and --engine threads: blocking calls ------------- */

/* Receives chunks and sends each back with sendall, until the end of the
 * stream (returns 0) or an error (a negative netkit code). */
static int echo_blocking(nk_tcp_client *c, const struct config *cfg, unsigned char *buf)
{
    for (;;) {
        ssize_t n = nk_tcp_client_recv(c, buf, cfg->chunk);
        if (n < 0)
            return (int)n;
        print_chunk(cfg, buf, (size_t)n);
        if (n == 0)
            return 0;
        int rc = nk_tcp_client_sendall(c, buf, (size_t)n, NULL);
        if (rc < 0)
            return rc;
    }
}

/* The handler nk_tcp_server_serve runs for each client (in its own thread
 * with --engine threads); serve closes the client when it returns. */
static void handle_client(nk_tcp_client *client, const nk_addr *peer, void *arg)
{
    struct config *cfg = arg;
    char who[NK_ADDRSTRLEN];
    peer_name(peer, who, sizeof who);
    printf("Connection from %s\n", who);

    unsigned char *buf = malloc(cfg->chunk);
    int rc = buf == NULL ? -ENOMEM : echo_blocking(client, cfg, buf);
    free(buf);
    print_end(who, rc);

    /* The sequential seeds print this before every accept; threads never do. */
    if (cfg->engine == ENGINE_SEQUENTIAL) {
        cfg->served++;
        if (cfg->max_clients == 0 || cfg->served < cfg->max_clients)
            printf("Waiting for a connection\n");
    }
}

/* ---- --engine selector: every client on one thread ------------------------ */

/* One connection. Its socket is non-blocking and registered for reading; its
 * echoes wait in the client's own queue, which select sends as the socket
 * takes them (and which holds no memory while it is empty). */
struct peer {
    nk_tcp_client *conn;
    char who[NK_ADDRSTRLEN];
    int ending; /* its stream ended: closed once its last echoes are sent */
    struct peer *prev, *next;
};

struct hub {
    const struct config *cfg;
    nk_tcp_server *server;
    nk_selector *sel;
    struct peer *peers; /* every open connection */
    long accepted, present;
    unsigned char *buf;  /* one chunk, shared by every client */
    long long resume_ms; /* accepting paused until then (out of fds); 0: accepting */
    /* The events of the last select. Closing a registered client clears its
     * entries here, also after the loop ended: so it lives beside the selector. */
    nk_event events[64];
};

static volatile sig_atomic_t stopping;
static nk_selector *volatile stop_sel; /* for the signal handler */

static void on_stop_signal(int sig)
{
    (void)sig;
    stopping = 1;
    (void)nk_selector_wakeup(stop_sel); /* async-signal-safe; NK_ENULL before the loop */
}

static int catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return -errno;
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Closes a connection (which also unregisters it) and frees it. */
static void close_peer(struct hub *h, struct peer *p)
{
    if (h->peers == p)
        h->peers = p->next;
    else
        p->prev->next = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    nk_tcp_client_close(p->conn);
    free(p);
    h->present--;
}

/* The client is done: closes it, and says so once no client is left, as the
 * sequential seeds do before each accept. */
static void leave(struct hub *h, struct peer *p)
{
    close_peer(h, p);
    long max = h->cfg->max_clients;
    if (h->present == 0 && (max == 0 || h->accepted < max))
        printf("Waiting for a connection\n");
}

/* Ends a connection after an error, reported on stderr. */
static void fail(struct hub *h, struct peer *p, int rc)
{
    print_end(p->who, rc);
    leave(h, p);
}

/* The client's socket is readable: one recv (readiness is level-triggered,
 * so what is left is reported by the next select), printed and queued. */
static void on_readable(struct hub *h, struct peer *p)
{
    ssize_t n = nk_tcp_client_recv(p->conn, h->buf, h->cfg->chunk);
    if (n == -EAGAIN)
        return;
    if (n < 0) {
        fail(h, p, (int)n);
        return;
    }
    print_chunk(h->cfg, h->buf, (size_t)n);
    if (n > 0) {
        int rc = nk_tcp_client_queue(p->conn, h->buf, (size_t)n);
        if (rc == -ENOBUFS) {
            fprintf(stderr, "%s: %s: not reading, disconnected (more than %zu bytes waiting)\n",
                    progname, p->who, h->cfg->max_queue);
            leave(h, p);
        } else if (rc < 0) {
            fail(h, p, rc);
        }
        return;
    }
    /* The end of its stream. The client may still be reading: its last echoes
     * go out before the close, select telling when it can take them. */
    print_end(p->who, 0);
    if (nk_tcp_client_queued(p->conn) <= 0) {
        leave(h, p);
        return;
    }
    p->ending = 1;
    int rc = nk_selector_modify(h->sel, nk_tcp_client_fd(p->conn), NK_EVENT_WRITE, p);
    if (rc < 0)
        fail(h, p, rc);
}

/* A client whose stream ended can take more of its last echoes. */
static void on_writable(struct hub *h, struct peer *p)
{
    ssize_t left = nk_tcp_client_flush(p->conn);
    if (left < 0)
        fail(h, p, (int)left);
    else if (left == 0)
        leave(h, p);
}

/* Sets up an accepted connection: non-blocking, its queue bounded,
 * registered for reading. */
static void admit(struct hub *h, nk_tcp_client *conn, const nk_addr *addr)
{
    struct peer *p = calloc(1, sizeof *p);
    if (p == NULL) {
        report(-ENOMEM);
        nk_tcp_client_close(conn);
        return;
    }
    p->conn = conn;
    peer_name(addr, p->who, sizeof p->who);
    p->next = h->peers;
    if (h->peers != NULL)
        h->peers->prev = p;
    h->peers = p;
    h->present++;
    printf("Connection from %s\n", p->who);
    int rc;
    if ((rc = nk_tcp_client_settimeout(conn, NK_NONBLOCK)) < 0 ||
        (rc = nk_tcp_client_set_queue_limit(conn, h->cfg->max_queue)) < 0 ||
        (rc = nk_selector_register_client(h->sel, conn, NK_EVENT_READ, p)) < 0)
        fail(h, p, rc);
}

/* The server is readable: accepts every waiting connection (up to
 * --max-clients in all). */
static void on_acceptable(struct hub *h)
{
    long max = h->cfg->max_clients;
    while (max == 0 || h->accepted < max) {
        nk_tcp_client *conn;
        nk_addr addr;
        int rc = nk_tcp_server_accept(h->server, &conn, &addr, NK_NONBLOCK);
        if (rc == -EAGAIN)
            return; /* none left */
        if (rc < 0) {
            report(rc);
            if (rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM) {
                /* The connection stays in the backlog, so the server stays
                 * readable: stop watching it for 100 ms instead of spinning. */
                (void)nk_selector_unregister(h->sel, nk_tcp_server_fd(h->server));
                h->resume_ms = now_ms() + 100;
            }
            return;
        }
        h->accepted++;
        admit(h, conn, &addr);
    }
    /* --max-clients reached: the loop ends once they have all left. */
    (void)nk_selector_unregister(h->sel, nk_tcp_server_fd(h->server));
}

/* How long select may wait: forever, or until accepting resumes. */
static int select_timeout(struct hub *h)
{
    if (h->resume_ms == 0)
        return NK_BLOCK;
    long long left = h->resume_ms - now_ms();
    if (left > 0)
        return (int)left;
    h->resume_ms = 0;
    int rc = nk_selector_register_server(h->sel, h->server, NK_EVENT_READ, NULL);
    if (rc < 0) {
        report(rc);
        h->resume_ms = now_ms() + 100;
    }
    return 0;
}

/* Until a signal, or until --max-clients clients came and left. */
static int hub_loop(struct hub *h)
{
    nk_event *events = h->events;
    long max = h->cfg->max_clients;
    while (!stopping && !(max > 0 && h->accepted >= max && h->present == 0)) {
        int n = nk_selector_select(h->sel, events, (int)(sizeof h->events / sizeof *events),
                                   select_timeout(h));
        if (n < 0)
            return n;
        for (int i = 0; i < n && !stopping; i++) {
            struct peer *p = events[i].data;
            if (events[i].events == 0)
                continue; /* its client was closed by an earlier event */
            if (p == NULL)
                on_acceptable(h);
            else if (p->ending)
                on_writable(h, p);
            else
                on_readable(h, p);
        }
    }
    return 0;
}

static int run_selector(nk_tcp_server *server, const struct config *cfg)
{
    struct hub h = {.cfg = cfg, .server = server};
    int rc = (h.buf = malloc(cfg->chunk)) == NULL ? -ENOMEM : nk_selector_open(&h.sel, NULL);
    if (rc == 0 && (rc = nk_selector_register_server(h.sel, server, NK_EVENT_READ, NULL)) == 0) {
        stop_sel = h.sel;
        rc = hub_loop(&h);
        stop_sel = NULL;
    }
    while (h.peers != NULL) /* stopped: every client sees its connection end */
        close_peer(&h, h.peers);
    nk_selector_close(h.sel);
    free(h.buf);
    return rc;
}

/* ---- main ----------------------------------------------------------------- */

/* Prints "listening on HOST:PORT" with the real bound address. */
static int print_listening(const nk_tcp_server *server)
{
    nk_addr local;
    char text[NK_ADDRSTRLEN];
    int rc = nk_tcp_server_sockname(server, &local);
    if (rc < 0 || (rc = nk_addr_format(&local, text, sizeof text)) < 0)
        return rc;
    printf("listening on %s\n", text);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct config cfg = {.host = "localhost", .port = 65432, .style = STYLE_D4, .max_queue = 65536};
    parse_args(argc, argv, &cfg);

    /* Seed 000 listens with a backlog of 1 as does seed 001's sequential
     * server; the threaded one uses 5; the selector takes many at once. */
    static const int backlog[] = {1, 5, 0 /* SOMAXCONN */};
    nk_tcp_server_opts sopts = {.backlog = backlog[cfg.engine]};
    nk_tcp_server *server;
    int rc = nk_tcp_server_open(&server, cfg.host, cfg.port, &sopts);
    if (rc == 0 && cfg.engine == ENGINE_SELECTOR)
        rc = catch_stop_signals();
    if (rc == 0)
        rc = print_listening(server);
    if (rc < 0) {
        report(rc);
        nk_tcp_server_close(server);
        return 1;
    }
    /* The seed prints the address it was given: ('localhost', 65432). */
    if (cfg.engine != ENGINE_THREADS)
        printf("%s on %s port %d\n", cfg.style == STYLE_D2 ? "Starting server" : "Starting up",
               cfg.host, cfg.port);
    printf("Waiting for a connection\n");

    if (cfg.engine == ENGINE_SELECTOR) {
        rc = run_selector(server, &cfg);
    } else {
        nk_serve_opts opts = {
            .mode = cfg.engine == ENGINE_THREADS ? NK_SERVE_THREADS : NK_SERVE_SEQUENTIAL,
            .max_clients = cfg.max_clients,
        };
        rc = nk_tcp_server_serve(server, handle_client, &cfg, &opts);
    }
    nk_tcp_server_close(server);
    if (rc < 0) {
        report(rc);
        return 1;
    }
    return 0;
}
