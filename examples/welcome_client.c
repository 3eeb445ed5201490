/*
 * welcome_client.c - the tutorials' connect, recv once, print clients on
 * netkit (demos D1, D8; also the peer of D11's accept-and-close server).
 *
 *   --style greeting  seed 000: port 1042, recv(100)                     (D1)
 *   --style welcome   seed 002: port 12345, recv(1024) (default)         (D8)
 *   --style close     seed 003's server has no client; port 12345, recv(1024)
 *                     prints the empty line Python prints for b''        (D11)
 *
 * The host is the machine's name (gethostname()) as in the seeds.
 *
 * Build: cc welcome_client.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct style {
    const char *name;
    int port;
    size_t bufsize; /* the seed's recv() argument */
};

static const struct style styles[] = {
    {"greeting", 1042, 100},
    {"welcome", 12345, 1024},
    {"close", 12345, 1024},
};

struct config {
    const struct style *style;
    const char *host; /* NULL: the machine's name */
    int port;         /* -1: the style's port */
    size_t bufsize;   /* 0: the style's size */
    int timeout_ms;
};

static const char *progname = "welcome_client";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--host H] [--port P] [--style greeting|welcome|close]\n"
            "       [--bufsize N] [--timeout SECONDS]\n"
            "The tutorials' greeting clients: connect, receive once, print the text.\n"
            "  --host H            server host (default: this machine's name, gethostname())\n"
            "  --port P            server port (default 1042 for greeting, 12345 otherwise)\n"
            "  --style greeting    seed 000: port 1042, receives up to 100 bytes\n"
            "  --style welcome     seed 002: port 12345, receives up to 1024 bytes (default)\n"
            "  --style close       seed 003's server: port 12345, up to 1024 bytes\n"
            "  --bufsize N         receive up to N bytes instead\n"
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

static const struct style *find_style(const char *name)
{
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++)
        if (strcmp(styles[i].name, name) == 0)
            return &styles[i];
    bad_usage("unknown style (greeting, welcome or close)", name);
    return NULL;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"style", required_argument, NULL, 's'},
        {"bufsize", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, 'T'},
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
        case 's':
            cfg->style = find_style(optarg);
            break;
        case 'b':
            cfg->bufsize = (size_t)parse_number(optarg, 1, 1 << 20, "bad bufsize (1..1048576)");
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
    if (cfg->port < 0)
        cfg->port = cfg->style->port;
    if (cfg->bufsize == 0)
        cfg->bufsize = cfg->style->bufsize;
}

/* Connects, receives once, prints the text. Returns 0 or a netkit code. */
static int run(const struct config *cfg)
{
    char hostname[256];
    const char *host = cfg->host;
    if (host == NULL) {
        int rc = nk_gethostname(hostname, sizeof hostname);
        if (rc < 0)
            return rc;
        host = hostname;
    }
    nk_tcp_client *c;
    int rc = nk_tcp_connect(&c, host, cfg->port, cfg->timeout_ms);
    if (rc < 0)
        return rc;
    char *buf = malloc(cfg->bufsize);
    ssize_t n = buf == NULL ? -ENOMEM : nk_tcp_client_recv(c, buf, cfg->bufsize);
    if (n >= 0) {
        /* Python's print(msg.decode()) */
        fwrite(buf, 1, (size_t)n, stdout);
        putchar('\n');
    }
    free(buf);
    nk_tcp_client_close(c);
    return n < 0 ? (int)n : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct config cfg = {
        .style = &styles[1], .host = NULL, .port = -1, .bufsize = 0, .timeout_ms = NK_BLOCK};
    parse_args(argc, argv, &cfg);
    int rc = run(&cfg);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        return 1;
    }
    return 0;
}
