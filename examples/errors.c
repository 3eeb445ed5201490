/*
 * errors.c - provokes each kind of socket error and prints it as Python does.
 *
 * Demo D7 (seed 001):
 *     try:
 *         server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
 *         server_socket.bind(('localhost', 65432))
 *         server_socket.listen(1)
 *     except socket.error as e:
 *         print('Socket error: {}'.format(e))
 *     except Exception as e:
 *         print('Other error: {}'.format(e))
 *
 * The seed names three exception kinds: socket.error, socket.timeout and
 * socket.gaierror. In Python 3 the last two (and socket.herror) are subclasses
 * of socket.error (OSError), so their handlers have to come first to be seen;
 * this program prints each error the way that try/except would:
 *
 *     except socket.timeout as e:  print('Socket timeout: {}'.format(e))
 *     except socket.gaierror as e: print('Address-resolution error: {}'.format(e))
 *     except socket.herror as e:   print('Host error: {}'.format(e))
 *     except socket.error as e:    print('Socket error: {}'.format(e))
 *     except Exception as e:       print('Other error: {}'.format(e))
 *
 * followed by one line telling which call raised what: the Python exception
 * class and netkit's code name (nk_error_name) with its errno / EAI / h_errno.
 * With no scenario flag every scenario runs in turn; all stay on loopback.
 *
 * Build: cc errors.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT 65432
#define CONNECT_TIMEOUT_MS 5000

struct options {
    const char *host;
    int port; /* 0: an ephemeral port */
    int timeout_ms;
    const char *bad_host;
    const char *unknown_addr;
};

/* A scenario provokes one error: it returns the netkit code (0 if, against
 * expectation, nothing failed) and describes the failing call, Python-style. */
typedef int (*provoke_fn)(const struct options *opt, char *call, size_t cap);

struct scenario {
    const char *flag;
    int kind; /* the enum nk_error_kind it should produce */
    provoke_fn provoke;
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: errors [OPTIONS] [SCENARIO...]\n"
                 "Provokes socket errors and prints each as the tutorial's try/except does,\n"
                 "e.g. 'Socket error: [Errno 98] Address already in use', then the Python\n"
                 "exception class and netkit's code. No scenario: all of them, in turn.\n"
                 "\n"
                 "Scenarios:\n"
                 "      --bind-in-use   bind a second server to the port of a listening one\n"
                 "      --refused       connect where nothing listens\n"
                 "      --timeout       recv on a connection that never gets data\n"
                 "      --gaierror      bind to a name that does not resolve\n"
                 "      --herror        reverse-resolve an address that has no name\n"
                 "      --bad-port      bind to port 70000 (Python's OverflowError)\n"
                 "\n"
                 "Options:\n"
                 "      --host H          the local host to use (default " DEFAULT_HOST ")\n"
                 "      --port P          the port to use (default 65432; 0 = an ephemeral one)\n"
                 "      --timeout-ms MS   the --timeout scenario's timeout (default 200)\n"
                 "      --bad-host NAME   the --gaierror name (default nosuchhost.invalid)\n"
                 "      --unknown-addr A  the --herror address (default 127.0.0.77)\n"
                 "  -h, --help            this text\n"
                 "\n"
                 "Exits 0 when every scenario failed as expected, 1 otherwise, 2 on a bad\n"
                 "command line.\n");
}

/* ---- How Python names the exception ------------------------------------------ */

/* The OSError subclass Python raises for an errno (PEP 3151). */
static const char *python_oserror(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return "ConnectionRefusedError";
    case ECONNRESET:
        return "ConnectionResetError";
    case ECONNABORTED:
        return "ConnectionAbortedError";
    case EPIPE:
    case ESHUTDOWN:
        return "BrokenPipeError";
    case ETIMEDOUT:
        return "TimeoutError";
    case EAGAIN:
    case EALREADY:
    case EINPROGRESS:
        return "BlockingIOError";
    case EINTR:
        return "InterruptedError";
    case EACCES:
    case EPERM:
        return "PermissionError";
    case ENOENT:
        return "FileNotFoundError";
    default:
        return "OSError";
    }
}

/* The label the try/except above prints for a code's kind. */
static const char *label(int code)
{
    switch (nk_error_kind(code)) {
    case NK_KIND_SOCKET:
        return "Socket error";
    case NK_KIND_TIMEOUT:
        return "Socket timeout";
    case NK_KIND_GAI:
        return "Address-resolution error";
    case NK_KIND_HOST:
        return "Host error";
    default:
        return "Other error";
    }
}

/* "ConnectionRefusedError (socket.error): ECONNREFUSED, errno 111" and so on. */
static void describe(int code, char *buf, size_t cap)
{
    const char *name = nk_error_name(code);
    switch (nk_error_kind(code)) {
    case NK_KIND_SOCKET:
        snprintf(buf, cap, "%s (socket.error): %s, errno %d", python_oserror(nk_error_errno(code)),
                 name, nk_error_errno(code));
        break;
    case NK_KIND_TIMEOUT:
        snprintf(buf, cap, "TimeoutError (socket.timeout): %s", name);
        break;
    case NK_KIND_GAI:
        snprintf(buf, cap, "socket.gaierror: %s, EAI code %d", name, nk_error_gai(code));
        break;
    case NK_KIND_HOST:
        snprintf(buf, cap, "socket.herror: %s, h_errno %d", name, nk_error_herrno(code));
        break;
    default:
        snprintf(buf, cap, "%s: %s",
                 code == NK_EPORT     ? "OverflowError"
                 : code == NK_ECLOSED ? "OSError"
                                      : "ValueError",
                 name);
        break;
    }
}

/* ---- The scenarios ------------------------------------------------------------ */

static int provoke_bind_in_use(const struct options *opt, char *call, size_t cap)
{
    nk_tcp_server *first = NULL, *second = NULL;
    snprintf(call, cap, "bind(('%s', %d))", opt->host, opt->port);
    int rc = nk_tcp_server_open(&first, opt->host, opt->port, NULL);
    if (rc < 0)
        return rc; /* the port is taken already: that is the same error */
    int port = nk_tcp_server_port(first);
    if (port < 0) {
        nk_tcp_server_close(first);
        return port;
    }
    snprintf(call, cap, "bind(('%s', %d))", opt->host, port); /* the same port again */
    rc = nk_tcp_server_open(&second, opt->host, port, NULL);
    nk_tcp_server_close(second);
    nk_tcp_server_close(first);
    return rc;
}

/* A port where nothing listens: --port, or an ephemeral port just released. */
static int free_port(const struct options *opt)
{
    if (opt->port != 0)
        return opt->port;
    nk_tcp_server *s = NULL;
    int rc = nk_tcp_server_open(&s, opt->host, 0, NULL);
    if (rc < 0)
        return rc;
    rc = nk_tcp_server_port(s);
    nk_tcp_server_close(s);
    return rc;
}

static int provoke_refused(const struct options *opt, char *call, size_t cap)
{
    int port = free_port(opt);
    snprintf(call, cap, "bind(('%s', 0))", opt->host);
    if (port < 0)
        return port;
    snprintf(call, cap, "connect(('%s', %d))", opt->host, port);
    nk_tcp_client *c = NULL;
    int rc = nk_tcp_connect(&c, opt->host, port, CONNECT_TIMEOUT_MS);
    nk_tcp_client_close(c);
    return rc;
}

static int provoke_timeout(const struct options *opt, char *call, size_t cap)
{
    nk_tcp_server *s = NULL;
    nk_tcp_client *c = NULL;
    snprintf(call, cap, "bind(('%s', %d))", opt->host, opt->port);
    int rc = nk_tcp_server_open(&s, opt->host, opt->port, NULL);
    int port = rc < 0 ? rc : nk_tcp_server_port(s);
    if (port < 0) {
        nk_tcp_server_close(s);
        return port;
    }
    /* The kernel completes the handshake; the server never accepts nor sends. */
    snprintf(call, cap, "connect(('%s', %d))", opt->host, port);
    rc = nk_tcp_connect(&c, opt->host, port, CONNECT_TIMEOUT_MS);
    if (rc == 0)
        rc = nk_tcp_client_settimeout(c, opt->timeout_ms);
    if (rc == 0) {
        char buf[1024];
        snprintf(call, cap, "recv(1024) after settimeout(%g)", opt->timeout_ms / 1000.0);
        ssize_t n = nk_tcp_client_recv(c, buf, sizeof buf);
        rc = n < 0 ? (int)n : 0;
    }
    nk_tcp_client_close(c);
    nk_tcp_server_close(s);
    return rc;
}

static int provoke_gaierror(const struct options *opt, char *call, size_t cap)
{
    nk_tcp_server *s = NULL;
    snprintf(call, cap, "bind(('%s', %d))", opt->bad_host, opt->port);
    int rc = nk_tcp_server_open(&s, opt->bad_host, opt->port, NULL);
    nk_tcp_server_close(s);
    return rc;
}

static int provoke_herror(const struct options *opt, char *call, size_t cap)
{
    char name[1025];
    snprintf(call, cap, "gethostbyaddr('%s')", opt->unknown_addr);
    int rc = nk_gethostbyaddr(opt->unknown_addr, name, sizeof name);
    return rc < 0 ? rc : 0;
}

static int provoke_bad_port(const struct options *opt, char *call, size_t cap)
{
    nk_tcp_server *s = NULL;
    snprintf(call, cap, "bind(('%s', 70000))", opt->host);
    int rc = nk_tcp_server_open(&s, opt->host, 70000, NULL);
    nk_tcp_server_close(s);
    return rc;
}

static const struct scenario scenarios[] = {
    {"bind-in-use", NK_KIND_SOCKET, provoke_bind_in_use},
    {"refused", NK_KIND_SOCKET, provoke_refused},
    {"timeout", NK_KIND_TIMEOUT, provoke_timeout},
    {"gaierror", NK_KIND_GAI, provoke_gaierror},
    {"herror", NK_KIND_HOST, provoke_herror},
    {"bad-port", NK_KIND_USAGE, provoke_bad_port},
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

/* Runs one scenario; returns 0 when it failed with the kind it should. */
static int run(const struct scenario *sc, const struct options *opt)
{
    char call[512], what[256];
    int code = sc->provoke(opt, call, sizeof call);
    if (code >= 0) {
        fprintf(stderr, "errors: --%s: %s raised nothing\n", sc->flag, call);
        return 1;
    }
    describe(code, what, sizeof what);
    printf("%s: %s\n", label(code), nk_strerror(code));
    printf("  %s raised %s\n", call, what);
    if (nk_error_kind(code) != sc->kind) {
        fprintf(stderr, "errors: --%s: expected another kind of error\n", sc->flag);
        return 1;
    }
    return 0;
}

/* ---- Command line ------------------------------------------------------------- */

static int parse_int(const char *text, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Fills opt and selected[]; returns 0, 1 for --help (exit 0) or 2 (bad usage). */
static int parse_args(int argc, char **argv, struct options *opt, int *selected)
{
    enum {
        OPT_HOST = 256,
        OPT_PORT,
        OPT_TIMEOUT_MS,
        OPT_BAD_HOST,
        OPT_UNKNOWN_ADDR,
        OPT_SCENARIO = 512
    };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
        {"bad-host", required_argument, NULL, OPT_BAD_HOST},
        {"unknown-addr", required_argument, NULL, OPT_UNKNOWN_ADDR},
        {"bind-in-use", no_argument, NULL, OPT_SCENARIO + 0},
        {"refused", no_argument, NULL, OPT_SCENARIO + 1},
        {"timeout", no_argument, NULL, OPT_SCENARIO + 2},
        {"gaierror", no_argument, NULL, OPT_SCENARIO + 3},
        {"herror", no_argument, NULL, OPT_SCENARIO + 4},
        {"bad-port", no_argument, NULL, OPT_SCENARIO + 5},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c >= OPT_SCENARIO && c < OPT_SCENARIO + (int)NSCENARIOS) {
            selected[c - OPT_SCENARIO] = 1;
            continue;
        }
        switch (c) {
        case OPT_HOST:
            opt->host = optarg;
            break;
        case OPT_PORT:
            if (parse_int(optarg, 0, 65535, &opt->port) < 0) {
                fprintf(stderr, "errors: --port wants 0-65535, not '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_TIMEOUT_MS:
            if (parse_int(optarg, 1, 60000, &opt->timeout_ms) < 0) {
                fprintf(stderr, "errors: --timeout-ms wants 1-60000, not '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_BAD_HOST:
            opt->bad_host = optarg;
            break;
        case OPT_UNKNOWN_ADDR:
            opt->unknown_addr = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "Try 'errors --help'.\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "errors: unexpected argument '%s'\nTry 'errors --help'.\n", argv[optind]);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct options opt = {DEFAULT_HOST, DEFAULT_PORT, 200, "nosuchhost.invalid", "127.0.0.77"};
    int selected[NSCENARIOS] = {0};
    int rc = parse_args(argc, argv, &opt, selected);
    if (rc != 0)
        return rc == 1 ? 0 : 2;

    int any = 0, failed = 0;
    for (size_t i = 0; i < NSCENARIOS; i++)
        any |= selected[i];
    for (size_t i = 0; i < NSCENARIOS; i++)
        if (!any || selected[i])
            failed |= run(&scenarios[i], &opt);
    return failed ? 1 : 0;
}
