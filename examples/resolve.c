/*
 * resolve.c - host names to addresses, the way Python's socket module does it.
 *
 * Demo D10 (seed 002):  ip_address = socket.gethostbyname('www.google.com')
 *                       print(ip_address)
 *     resolve www.google.com            -> one dotted IPv4 address
 *
 * Demo D14 (seed 003):  socket.getaddrinfo(host, port) "to resolve hostnames
 *                       into IP addresses"; this prints every entry of the list
 *                       the way Python prints it: for e in getaddrinfo(...): print(e)
 *     resolve --all localhost --port 80
 *     (<AddressFamily.AF_INET: 2>, <SocketKind.SOCK_STREAM: 1>, 6, '', ('127.0.0.1', 80))
 *
 * And the way back, socket.gethostbyaddr(addr)[0]:
 *     resolve --reverse 127.0.0.1       -> localhost
 *
 * Errors print Python's exception text and exit 1:
 *     resolve nosuchhost.invalid        -> resolve: [Errno -2] Name or service not known
 *
 * Build: cc resolve.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_HOST "www.google.com"

enum mode { MODE_GETHOSTBYNAME, MODE_GETADDRINFO, MODE_GETHOSTBYADDR };

struct options {
    enum mode mode;
    const char *host;
    int port;
    int family;   /* for --all: AF_UNSPEC, AF_INET or AF_INET6 */
    int socktype; /* for --all: 0 (all), SOCK_STREAM, SOCK_DGRAM, SOCK_RAW */
    int flags;    /* for --all: AI_CANONNAME with --canonname */
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: resolve [OPTIONS] [HOST]\n"
                 "Resolves HOST (default " DEFAULT_HOST ") with Python's socket calls.\n"
                 "\n"
                 "  (no mode)           socket.gethostbyname(HOST): one dotted IPv4 address\n"
                 "  -a, --all           socket.getaddrinfo(HOST, PORT): every address, one\n"
                 "                      (family, type, proto, canonname, sockaddr) per line\n"
                 "  -r, --reverse       socket.gethostbyaddr(HOST)[0]: the name of an address\n"
                 "\n"
                 "      --host H        the host (same as the HOST argument)\n"
                 "      --port P        the port for --all (default 0, Python's None)\n"
                 "  -4, -6              --all: IPv4 or IPv6 addresses only\n"
                 "      --type T        --all: stream, dgram or raw only\n"
                 "      --canonname     --all: ask for the canonical name (AI_CANONNAME)\n"
                 "  -h, --help          this text\n"
                 "\n"
                 "Errors print Python's exception text, e.g.\n"
                 "  resolve: [Errno -2] Name or service not known\n"
                 "and exit 1; a bad command line exits 2.\n");
}

/* Parses a decimal int in [lo, hi]; returns 0 or -1. */
static int parse_int(const char *text, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_type(const char *text, int *out)
{
    if (strcmp(text, "stream") == 0)
        *out = SOCK_STREAM;
    else if (strcmp(text, "dgram") == 0)
        *out = SOCK_DGRAM;
    else if (strcmp(text, "raw") == 0)
        *out = SOCK_RAW;
    else
        return -1;
    return 0;
}

/* Returns 0, or 2 after a usage message (exit code 2), or 1 for --help (exit 0). */
static int parse_args(int argc, char **argv, struct options *opt)
{
    enum { OPT_HOST = 256, OPT_PORT, OPT_TYPE, OPT_CANON };
    static const struct option longopts[] = {
        {"all", no_argument, NULL, 'a'},
        {"reverse", no_argument, NULL, 'r'},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"type", required_argument, NULL, OPT_TYPE},
        {"canonname", no_argument, NULL, OPT_CANON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "ar46h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            opt->mode = MODE_GETADDRINFO;
            break;
        case 'r':
            opt->mode = MODE_GETHOSTBYADDR;
            break;
        case '4':
            opt->family = AF_INET;
            break;
        case '6':
            opt->family = AF_INET6;
            break;
        case OPT_HOST:
            opt->host = optarg;
            break;
        case OPT_PORT:
            if (parse_int(optarg, 0, 65535, &opt->port) < 0) {
                fprintf(stderr, "resolve: --port wants 0-65535, not '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_TYPE:
            if (parse_type(optarg, &opt->socktype) < 0) {
                fprintf(stderr, "resolve: --type wants stream, dgram or raw, not '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_CANON:
            opt->flags |= AI_CANONNAME;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "Try 'resolve --help'.\n");
            return 2;
        }
    }
    if (optind < argc)
        opt->host = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "resolve: one HOST only ('%s' is extra)\nTry 'resolve --help'.\n",
                argv[optind]);
        return 2;
    }
    return 0;
}

/* Prints text as Python's repr() of a str: single quotes unless the text holds
 * ' and no ", backslash escapes, \xNN for control characters. */
static void print_str_repr(const char *text)
{
    char quote = (strchr(text, '\'') != NULL && strchr(text, '"') == NULL) ? '"' : '\'';
    putchar(quote);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p == '\\' || *p == (unsigned char)quote)
            printf("\\%c", *p);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\r')
            fputs("\\r", stdout);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
    putchar(quote);
}

/* Python's repr of socket.AddressFamily / socket.SocketKind members. */
static void print_family(int family)
{
    if (family == AF_INET)
        printf("<AddressFamily.AF_INET: %d>", AF_INET);
    else if (family == AF_INET6)
        printf("<AddressFamily.AF_INET6: %d>", AF_INET6);
    else
        printf("%d", family);
}

static void print_socktype(int socktype)
{
    if (socktype == SOCK_STREAM)
        printf("<SocketKind.SOCK_STREAM: %d>", SOCK_STREAM);
    else if (socktype == SOCK_DGRAM)
        printf("<SocketKind.SOCK_DGRAM: %d>", SOCK_DGRAM);
    else if (socktype == SOCK_RAW)
        printf("<SocketKind.SOCK_RAW: %d>", SOCK_RAW);
    else
        printf("%d", socktype);
}

/* One getaddrinfo entry as Python prints the 5-tuple. Returns 0 or a netkit code. */
static int print_entry(const nk_addrinfo *e)
{
    char tuple[NK_ADDRSTRLEN];
    int rc = nk_addr_tuple(&e->addr, tuple, sizeof tuple);
    if (rc < 0)
        return rc;
    putchar('(');
    print_family(e->family);
    fputs(", ", stdout);
    print_socktype(e->socktype);
    printf(", %d, ", e->protocol);
    print_str_repr(e->canonname != NULL ? e->canonname : "");
    printf(", %s)\n", tuple);
    return 0;
}

static int run_getaddrinfo(const struct options *opt)
{
    nk_addrinfo *list = NULL;
    int rc = nk_getaddrinfo(opt->host, opt->port, opt->family, opt->socktype, opt->flags, &list);
    for (const nk_addrinfo *e = list; rc >= 0 && e != NULL; e = e->next)
        rc = print_entry(e);
    nk_freeaddrinfo(list);
    return rc < 0 ? rc : 0;
}

static int run_lookup(const struct options *opt)
{
    char text[1025];
    int rc = opt->mode == MODE_GETHOSTBYADDR ? nk_gethostbyaddr(opt->host, text, sizeof text)
                                             : nk_gethostbyname(opt->host, text, sizeof text);
    if (rc < 0)
        return rc;
    printf("%s\n", text);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct options opt = {MODE_GETHOSTBYNAME, DEFAULT_HOST, 0, AF_UNSPEC, 0, 0};
    int rc = parse_args(argc, argv, &opt);
    if (rc != 0)
        return rc == 1 ? 0 : 2;

    rc = opt.mode == MODE_GETADDRINFO ? run_getaddrinfo(&opt) : run_lookup(&opt);
    if (rc < 0) {
        fprintf(stderr, "resolve: %s\n", nk_strerror(rc));
        return 1;
    }
    return 0;
}
