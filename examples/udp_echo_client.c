/*
 * udp_echo_client.c - seed 001's UDP echo client on netkit (demo D5).
 *
 * Sends one datagram to the server and prints the datagram that comes back.
 * Unlike the seed it waits at most --timeout seconds (default 5) for the
 * answer, so it never hangs when no server is there: it then prints
 * "udp_echo_client: timed out" and exits 1.
 *
 * UDP may lose the datagram or its answer. --retries N sends it again after
 * each timeout, at most N more times (default 0: one try, as the seed), and
 * prints "Timed out, retry K of N" before each new try; the whole run then
 * takes at most (N + 1) * --timeout seconds.
 *
 * Build: cc udp_echo_client.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DATAGRAM_MAX 4096 /* the seed's recvfrom(4096) */

struct config {
    const char *host;
    int port;
    const char *message;
    int timeout_ms;
    int retries; /* tries after the first, each after a timeout */
};

static const char *progname = "udp_echo_client";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--host H] [--port P] [--message TEXT] [--timeout SECONDS]\n"
            "       [--retries N]\n"
            "Seed 001's UDP echo client: sends one datagram and prints the answer.\n"
            "  --host H            server host (default localhost)\n"
            "  --port P            server port (default 65432)\n"
            "  --message TEXT      send TEXT (default 'This is the message. It will be "
            "repeated.')\n"
            "  --timeout SECONDS   wait this long for the answer (default 5)\n"
            "  --retries N         after a timeout, send again, at most N more times\n"
            "                      (default 0; 0..1000)\n"
            "  --help              show this help\n",
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

static int parse_seconds(const char *text)
{
    char *end;
    double s = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || !(s > 0 && s <= 86400))
        bad_usage("bad timeout (seconds, > 0)", text);
    int ms = (int)(s * 1000 + 0.5);
    return ms > 0 ? ms : 1;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"message", required_argument, NULL, 'M'},
        {"timeout", required_argument, NULL, 'T'},
        {"retries", required_argument, NULL, 'r'},
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
        case 'M':
            cfg->message = optarg;
            break;
        case 'T':
            cfg->timeout_ms = parse_seconds(optarg);
            break;
        case 'r':
            cfg->retries = (int)parse_number(optarg, 0, 1000, "bad --retries (0..1000)");
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

/* The seed's try block: sendto, then one recvfrom; after a timeout, the
 * same again up to --retries more times. Returns 0 or a negative code. */
static int exchange(nk_udp_endpoint *u, const struct config *cfg)
{
    size_t len = strlen(cfg->message);
    unsigned char data[DATAGRAM_MAX];
    for (int attempt = 0;; attempt++) {
        print_bytes_repr("Sending ", (const unsigned char *)cfg->message, len);
        ssize_t n = nk_udp_sendto(u, cfg->message, len, cfg->host, cfg->port);
        if (n < 0)
            return (int)n;

        printf("Waiting for a response\n");
        /* An answer to an earlier try may come now: it is the same echo. */
        n = nk_udp_recvfrom(u, data, sizeof data, NULL);
        if (n >= 0) {
            print_bytes_repr("Received ", data, (size_t)n);
            return 0;
        }
        if (n != NK_ETIMEOUT || attempt == cfg->retries)
            return (int)n;
        printf("Timed out, retry %d of %d\n", attempt + 1, cfg->retries);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct config cfg = {.host = "localhost",
                         .port = 65432,
                         .message = "This is the message. It will be repeated.",
                         .timeout_ms = 5000};
    parse_args(argc, argv, &cfg);

    /* What an unbound Python socket becomes on its first sendto: any
     * interface, an ephemeral port. */
    nk_udp_endpoint *u = NULL;
    int rc = nk_udp_open(&u, NULL, 0);
    if (rc < 0 || (rc = nk_udp_settimeout(u, cfg.timeout_ms)) < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        nk_udp_close(u);
        return 1;
    }
    rc = exchange(u, &cfg);
    /* The seed's finally block. */
    printf("Closing socket\n");
    nk_udp_close(u);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        return 1;
    }
    return 0;
}
