/*
 * echo_server.c - the tutorials' TCP echo server on netkit (demos D2, D4, D6).
 *
 *   --style d2   seed 000: 1 KiB chunks, "Received: <text>"          (D2)
 *   --style d4   seed 001: 16-byte chunks, "Received b'...'"         (D4, default)
 *   --threads    seed 001's threaded server: one thread per client   (D6)
 *
 * Every server prints "listening on HOST:PORT" (the real port) first, then the
 * seed's own lines. It serves forever, like the seed; --max-clients N makes it
 * exit after N clients.
 *
 * Build: cc echo_server.c $(pkg-config --cflags --libs netkit) -pthread
 */
#include <netkit.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum style { STYLE_D2, STYLE_D4 };

struct config {
    const char *host;
    int port;
    enum style style;
    size_t chunk;     /* bytes per recv */
    int threads;      /* one thread per client (D6) */
    long max_clients; /* 0 = forever */
    long served;      /* clients done, counted in sequential mode only */
};

static const char *progname = "echo_server";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--host H] [--port P] [--style d2|d4] [--chunk N] [--threads]\n"
            "       [--max-clients N]\n"
            "The tutorials' TCP echo server: every chunk received is sent back.\n"
            "  --host H          address to bind (default localhost)\n"
            "  --port P          port to bind, 0 for an ephemeral one (default 65432)\n"
            "  --style d2        seed 000: 1024-byte chunks, prints 'Received: <text>'\n"
            "  --style d4        seed 001: 16-byte chunks, prints \"Received b'...'\" (default)\n"
            "  --chunk N         bytes per recv, overriding the style's chunk size\n"
            "  --threads         serve every client in its own thread (seed 001, D6)\n"
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
        {"host", required_argument, NULL, 'h'},  {"port", required_argument, NULL, 'p'},
        {"style", required_argument, NULL, 's'}, {"chunk", required_argument, NULL, 'c'},
        {"threads", no_argument, NULL, 't'},     {"max-clients", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'H'},        {NULL, 0, NULL, 0},
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
        case 't':
            cfg->threads = 1;
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

/* The echo loops below return 0 at end of stream, or a negative netkit code. */

/* Seed 000 (D2): recv(1024), print 'Received: <text>', sendall it back. */
static int echo_d2(nk_tcp_client *c, unsigned char *buf, size_t chunk)
{
    for (;;) {
        ssize_t n = nk_tcp_client_recv(c, buf, chunk);
        if (n <= 0)
            return (int)n;
        print_text("Received: ", buf, (size_t)n);
        int rc = nk_tcp_client_sendall(c, buf, (size_t)n, NULL);
        if (rc < 0)
            return rc;
    }
}

/* Seed 001 (D4): recv(16), print every chunk (the final b'' too), announce
 * the send, sendall it back. */
static int echo_d4(nk_tcp_client *c, unsigned char *buf, size_t chunk)
{
    for (;;) {
        ssize_t n = nk_tcp_client_recv(c, buf, chunk);
        if (n < 0)
            return (int)n;
        print_bytes_repr("Received ", buf, (size_t)n);
        if (n == 0)
            return 0;
        printf("Sending data back to the client\n");
        int rc = nk_tcp_client_sendall(c, buf, (size_t)n, NULL);
        if (rc < 0)
            return rc;
    }
}

/* Seed 001's threaded handle_client (D6): D4 without the b'' line and
 * without "Sending data back to the client". */
static int echo_d6(nk_tcp_client *c, unsigned char *buf, size_t chunk)
{
    for (;;) {
        ssize_t n = nk_tcp_client_recv(c, buf, chunk);
        if (n <= 0)
            return (int)n;
        print_bytes_repr("Received ", buf, (size_t)n);
        int rc = nk_tcp_client_sendall(c, buf, (size_t)n, NULL);
        if (rc < 0)
            return rc;
    }
}

/* The handler nk_tcp_server_serve runs for each client (in its own thread
 * with --threads); serve closes the client when it returns. */
static void handle_client(nk_tcp_client *client, const nk_addr *peer, void *arg)
{
    struct config *cfg = arg;
    char who[NK_ADDRSTRLEN];
    /* A failure on one connection ends that connection only (it is reported
     * on stderr); the server goes on with the next client. */
    int rc = nk_addr_tuple(peer, who, sizeof who);
    if (rc < 0)
        snprintf(who, sizeof who, "(%s)", nk_strerror(rc));
    printf("Connection from %s\n", who);

    unsigned char *buf = malloc(cfg->chunk);
    if (buf == NULL)
        rc = -ENOMEM;
    else if (cfg->style == STYLE_D2)
        rc = echo_d2(client, buf, cfg->chunk);
    else if (cfg->threads)
        rc = echo_d6(client, buf, cfg->chunk);
    else
        rc = echo_d4(client, buf, cfg->chunk);
    free(buf);
    if (rc == 0)
        printf("No more data from %s\n", who);
    else
        fprintf(stderr, "%s: %s: %s\n", progname, who, nk_strerror(rc));

    /* The sequential seeds print this before every accept; threads never do. */
    if (!cfg->threads) {
        cfg->served++;
        if (cfg->max_clients == 0 || cfg->served < cfg->max_clients)
            printf("Waiting for a connection\n");
    }
}

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
    struct config cfg = {.host = "localhost", .port = 65432, .style = STYLE_D4};
    parse_args(argc, argv, &cfg);

    /* Seed 000 listens with a backlog of 1 as does seed 001's sequential
     * server; the threaded one uses 5. */
    nk_tcp_server_opts sopts = {.backlog = cfg.threads ? 5 : 1};
    nk_tcp_server *server;
    int rc = nk_tcp_server_open(&server, cfg.host, cfg.port, &sopts);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        return 1;
    }
    if ((rc = print_listening(server)) < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        nk_tcp_server_close(server);
        return 1;
    }
    /* The seed prints the address it was given: ('localhost', 65432). */
    if (!cfg.threads)
        printf("%s on %s port %d\n", cfg.style == STYLE_D2 ? "Starting server" : "Starting up",
               cfg.host, cfg.port);
    printf("Waiting for a connection\n");

    nk_serve_opts opts = {
        .mode = cfg.threads ? NK_SERVE_THREADS : NK_SERVE_SEQUENTIAL,
        .max_clients = cfg.max_clients,
    };
    rc = nk_tcp_server_serve(server, handle_client, &cfg, &opts);
    nk_tcp_server_close(server);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        return 1;
    }
    return 0;
}
