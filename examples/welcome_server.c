/*
 * welcome_server.c - the tutorials' accept, log, (send), close servers on
 * netkit (demos D1, D8, D11). All three accept a client, print its address,
 * maybe send one message, and close the connection:
 *
 *   --style greeting  seed 000, port 1042: "Connection Established to address
 *                     (HOST, PORT)", sends "Message Received and the message
 *                     is ->Socket Programming in Python"; forever        (D1)
 *   --style welcome   seed 002, port 12345: "Waiting for a client connection...",
 *                     "Connection established with: (HOST, PORT)", sends
 *                     "Welcome to the server!"; one client (default)     (D8)
 *   --style close     seed 003, port 12345: "Connected by (HOST, PORT)", sends
 *                     nothing; forever                                   (D11)
 *
 * The host is the machine's name (gethostname()) as in the seeds.
 *
 * Build: cc welcome_server.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What tells the three seeds apart. */
struct style {
    const char *name;
    int port;
    int backlog;           /* the seed's listen() argument */
    long max_clients;      /* 0 = forever */
    const char *waiting;   /* printed before each accept, or NULL */
    const char *connected; /* printed before the peer's address tuple */
    const char *message;   /* sent to each client, or NULL */
};

static const struct style styles[] = {
    {"greeting", 1042, 5, 0, NULL, "Connection Established to address ",
     "Message Received and the message is ->Socket Programming in Python"},
    {"welcome", 12345, 1, 1, "Waiting for a client connection...",
     "Connection established with: ", "Welcome to the server!"},
    {"close", 12345, 5, 0, NULL, "Connected by ", NULL},
};

struct config {
    const struct style *style;
    const char *host; /* NULL: the machine's name */
    int port;         /* -1: the style's port */
    long max_clients; /* -1: the style's count */
    long served;
};

static const char *progname = "welcome_server";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--host H] [--port P] [--style greeting|welcome|close]\n"
            "       [--max-clients N] [--once]\n"
            "The tutorials' accept-and-greet servers: accept a client, print its address,\n"
            "send one message (or none) and close the connection.\n"
            "  --host H          address to bind (default: this machine's name, gethostname())\n"
            "  --port P          port to bind, 0 for an ephemeral one\n"
            "                    (default 1042 for greeting, 12345 otherwise)\n"
            "  --style greeting  seed 000: sends 'Message Received and the message is ->...',\n"
            "                    serves forever\n"
            "  --style welcome   seed 002: sends 'Welcome to the server!' to one client (default)\n"
            "  --style close     seed 003: prints 'Connected by ...' and closes, forever\n"
            "  --max-clients N   exit after N clients (0: forever)\n"
            "  --once            the same as --max-clients 1\n"
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
        {"max-clients", required_argument, NULL, 'm'},
        {"once", no_argument, NULL, '1'},
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
        case 'm':
            cfg->max_clients = parse_number(optarg, 0, 1000000000L, "bad --max-clients");
            break;
        case '1':
            cfg->max_clients = 1;
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
    if (cfg->max_clients < 0)
        cfg->max_clients = cfg->style->max_clients;
}

/* Run by nk_tcp_server_serve for each client; serve closes it afterwards. */
static void greet_client(nk_tcp_client *client, const nk_addr *peer, void *arg)
{
    struct config *cfg = arg;
    const struct style *st = cfg->style;
    char who[NK_ADDRSTRLEN];
    int rc = nk_addr_tuple(peer, who, sizeof who);
    if (rc < 0)
        snprintf(who, sizeof who, "(%s)", nk_strerror(rc));
    printf("%s%s\n", st->connected, who);
    if (st->message != NULL) {
        rc = nk_tcp_client_sendall(client, st->message, strlen(st->message), NULL);
        if (rc < 0) /* this client only: the server goes on */
            fprintf(stderr, "%s: %s: %s\n", progname, who, nk_strerror(rc));
    }
    cfg->served++;
    if (st->waiting != NULL && (cfg->max_clients == 0 || cfg->served < cfg->max_clients))
        printf("%s\n", st->waiting);
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

/* Opens the server, prints where it listens, serves. Returns 0 or a netkit code. */
static int run(struct config *cfg)
{
    char hostname[256];
    const char *host = cfg->host;
    if (host == NULL) {
        int rc = nk_gethostname(hostname, sizeof hostname);
        if (rc < 0)
            return rc;
        host = hostname;
    }
    nk_tcp_server_opts sopts = {.backlog = cfg->style->backlog};
    nk_tcp_server *server;
    int rc = nk_tcp_server_open(&server, host, cfg->port, &sopts);
    if (rc < 0)
        return rc;
    if ((rc = print_listening(server)) == 0) {
        if (cfg->style->waiting != NULL)
            printf("%s\n", cfg->style->waiting);
        nk_serve_opts opts = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = cfg->max_clients};
        rc = nk_tcp_server_serve(server, greet_client, cfg, &opts);
    }
    nk_tcp_server_close(server);
    return rc;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct config cfg = {.style = &styles[1], .host = NULL, .port = -1, .max_clients = -1};
    parse_args(argc, argv, &cfg);
    int rc = run(&cfg);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", progname, nk_strerror(rc));
        return 1;
    }
    return 0;
}
