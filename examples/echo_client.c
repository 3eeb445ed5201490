/*
 * echo_client.c - the tutorials' TCP echo client on netkit (demos D2, D4, D6).
 *
 *   --style d2   seed 000: sends "Hello, Server!", reads 1 KiB chunks   (D2)
 *   --style d4   seed 001: sends "This is the message. It will be
 *                repeated.", prints every 16-byte chunk as b'...'      (D4, D6, default)
 *
 * It connects, sends the message with sendall, reads until as many bytes came
 * back as it sent, and closes.
 *
 * Build: cc echo_client.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum style { STYLE_D2, STYLE_D4 };

struct config {
    const char *host;
    int port;
    enum style style;
    size_t chunk;        /* bytes per recv */
    const char *message; /* what is sent */
    int timeout_ms;      /* NK_BLOCK: wait forever, as the seed does */
};

static const char *progname = "echo_client";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--host H] [--port P] [--style d2|d4] [--chunk N] [--message TEXT]\n"
            "       [--timeout SECONDS]\n"
            "The tutorials' TCP echo client: sends a message and reads it back.\n"
            "  --host H            server host (default localhost)\n"
            "  --port P            server port (default 65432)\n"
            "  --style d2          seed 000: sends 'Hello, Server!', 1024-byte chunks\n"
            "  --style d4          seed 001: sends 'This is the message. It will be repeated.',\n"
            "                      16-byte chunks printed as b'...' (default)\n"
            "  --chunk N           bytes per recv, overriding the style's chunk size\n"
            "  --message TEXT      send TEXT instead of the style's message\n"
            "  --timeout SECONDS   give up after this long (default: wait forever)\n"
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
        {"host", required_argument, NULL, 'h'},    {"port", required_argument, NULL, 'p'},
        {"style", required_argument, NULL, 's'},   {"chunk", required_argument, NULL, 'c'},
        {"message", required_argument, NULL, 'M'}, {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'H'},          {NULL, 0, NULL, 0},
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
        case 'M':
            cfg->message = optarg;
            break;
        case 'T':
            cfg->timeout_ms = parse_seconds(optarg);
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
    if (cfg->message == NULL)
        cfg->message =
            cfg->style == STYLE_D2 ? "Hello, Server!" : "This is the message. It will be repeated.";
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

/* Prints what was received the way the style's seed does. */
static void print_received(const struct config *cfg, const unsigned char *data, size_t len)
{
    if (cfg->style == STYLE_D2) {
        fputs("Received: ", stdout);
        fwrite(data, 1, len, stdout);
        putchar('\n');
    } else {
        print_bytes_repr("Received ", data, len);
    }
}

/* The seed's try block: sendall the message, then recv until as many bytes
 * came back. Returns 0, 1 when the server closed too early (reported here),
 * or a negative netkit code. */
static int exchange(nk_tcp_client *c, const struct config *cfg, unsigned char *buf)
{
    size_t expected = strlen(cfg->message);
    if (cfg->style == STYLE_D2)
        printf("Sending: %s\n", cfg->message);
    else
        print_bytes_repr("Sending ", (const unsigned char *)cfg->message, expected);
    int rc = nk_tcp_client_sendall(c, cfg->message, expected, NULL);
    if (rc < 0)
        return rc;

    size_t received = 0;
    while (received < expected) {
        ssize_t n = nk_tcp_client_recv(c, buf, cfg->chunk);
        if (n < 0)
            return (int)n;
        if (n == 0) {
            /* The seed would loop forever on b''; stop and say why. */
            fprintf(stderr, "%s: the server closed the connection after %zu of %zu bytes\n",
                    progname, received, expected);
            return 1;
        }
        received += (size_t)n;
        print_received(cfg, buf, (size_t)n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct config cfg = {
        .host = "localhost", .port = 65432, .style = STYLE_D4, .timeout_ms = NK_BLOCK};
    parse_args(argc, argv, &cfg);

    printf("Connecting to %s port %d\n", cfg.host, cfg.port);
    nk_tcp_client *c;
    int rc = nk_tcp_connect(&c, cfg.host, cfg.port, cfg.timeout_ms);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        return 1;
    }
    unsigned char *buf = malloc(cfg.chunk);
    if (buf == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        nk_tcp_client_close(c);
        return 1;
    }
    rc = exchange(c, &cfg, buf);
    /* The seed's finally block. */
    printf("Closing socket\n");
    nk_tcp_client_close(c);
    free(buf);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
    return rc != 0;
}
