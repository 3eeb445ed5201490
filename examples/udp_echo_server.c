/*
 * udp_echo_server.c - seed 001's UDP echo server on netkit (demo D5).
 *
 * Receives datagrams of up to 4096 bytes and sends each one back to its
 * sender, printing what the seed prints. It runs forever, like the seed;
 * --max-clients N makes it exit after N datagrams.
 *
 * Build: cc udp_echo_server.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATAGRAM_MAX 4096 /* the seed's recvfrom(4096) */

struct config {
    const char *host;
    int port;
    long max_clients; /* datagrams to answer; 0 = forever */
};

static const char *progname = "udp_echo_server";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--host H] [--port P] [--max-clients N]\n"
            "Seed 001's UDP echo server: every datagram is sent back to its sender.\n"
            "  --host H          address to bind (default localhost)\n"
            "  --port P          port to bind, 0 for an ephemeral one (default 65432)\n"
            "  --max-clients N   exit after N datagrams (default 0: serve forever)\n"
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
        {"max-clients", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            cfg->host = optarg;
            break;
        case 'p':
            cfg->port = (int)parse_number(optarg, 0, 65535, "bad port");
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
}

/* Prints prefix, then data as Python's repr() of bytes prints it (b'...'). */
static void print_bytes_repr(const char *prefix, const unsigned char *data, size_t len)
{
    int quote = memchr(data, '\'', len) != NULL && memchr(data, '"', len) == NULL ? '"' : '\'';
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
}

/* Prints "listening on HOST:PORT" with the real bound address. */
static int print_listening(const nk_udp_endpoint *u)
{
    nk_addr local;
    char text[NK_ADDRSTRLEN];
    int rc = nk_udp_sockname(u, &local);
    if (rc < 0 || (rc = nk_addr_format(&local, text, sizeof text)) < 0)
        return rc;
    printf("listening on %s\n", text);
    return 0;
}

/* One turn of the seed's loop: wait, receive, print, send back.
 * Returns 0 or a negative netkit code that ends the server. */
static int echo_one(nk_udp_endpoint *u)
{
    unsigned char data[DATAGRAM_MAX];
    nk_addr from;
    char who[NK_ADDRSTRLEN];

    printf("Waiting for a message\n");
    ssize_t n = nk_udp_recvfrom(u, data, sizeof data, &from);
    if (n == -EMSGSIZE) {
        /* Python on Linux silently keeps the first 4096 bytes; so do we, and say so. */
        fprintf(stderr, "%s: %s (kept the first %d bytes)\n", progname, nk_strerror((int)n),
                DATAGRAM_MAX);
        n = DATAGRAM_MAX;
    }
    if (n < 0)
        return (int)n;
    int rc = nk_addr_tuple(&from, who, sizeof who);
    if (rc < 0)
        return rc;
    printf("Received %zd bytes from %s\n", n, who);
    print_bytes_repr("", data, (size_t)n); /* the seed's print(data) */
    if (n > 0) {
        ssize_t sent = nk_udp_sendto_addr(u, data, (size_t)n, &from);
        if (sent < 0) {
            /* One peer we cannot answer does not end the server. */
            fprintf(stderr, "%s: %s\n", progname, nk_strerror((int)sent));
            return 0;
        }
        printf("Sent %zd bytes back to %s\n", sent, who);
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct config cfg = {.host = "localhost", .port = 65432};
    parse_args(argc, argv, &cfg);

    nk_udp_endpoint *u;
    int rc = nk_udp_open(&u, cfg.host, cfg.port);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        return 1;
    }
    if ((rc = print_listening(u)) < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        nk_udp_close(u);
        return 1;
    }
    /* The seed prints the address it was given: ('localhost', 65432). */
    printf("Starting up on %s port %d\n", cfg.host, cfg.port);
    for (long served = 0; cfg.max_clients == 0 || served < cfg.max_clients; served++) {
        if ((rc = echo_one(u)) < 0)
            break;
    }
    nk_udp_close(u);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        return 1;
    }
    return 0;
}
