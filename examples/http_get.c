/*
 * http_get.c - an HTTP/1.1 GET over a plain netkit TCP connection.
 *
 * Demo D9 (seed 002):   response = requests.get('https://www.google.com')
 *                       print(response.content)
 *     http_get http://www.google.com/       status line, headers, blank line, body
 *     http_get --repr http://host/path      only print(response.content): b'...'
 *   netkit speaks plain TCP, so an https:// URL is refused (exit 2): no TLS here.
 *   The body may come with a Content-Length, chunked, or end when the server
 *   closes; everything the server sends is bounded (--max-line, --max-headers,
 *   --max-body; a line holding a NUL byte is refused), every network call has
 *   the --timeout (default 10 s) and the whole exchange --max-time (default
 *   300 s), so that a server trickling a byte at a time cannot hold it forever.
 *
 * Demo D12 (seed 003):  s.connect(('www.example.com', 80))
 *                       s.send(b'GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n')
 *                       data = s.recv(1024)
 *     http_get --raw [HOST [PORT]]          sends exactly that request for HOST,
 *                                           writes the (up to) 1024 bytes received
 *
 * Errors print Python's text ("http_get: [Errno 111] Connection refused",
 * "http_get: timed out") or what is wrong with the response, and exit 1; a bad
 * command line exits 2.
 *
 * Build: cc http_get.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define DEFAULT_URL "http://www.google.com/"
#define RAW_HOST "www.example.com"
#define RAW_PORT 80
#define MAX_URL 4096
#define MAX_INTERIM 5 /* 1xx responses skipped before the final one */

struct options {
    const char *url;
    const char *host; /* --host: replaces the URL's host (raw: the host) */
    int port;         /* --port: replaces the URL's port; -1 = not given */
    int raw;          /* --raw: demo D12 */
    int repr;         /* --repr: print Python's repr of the body bytes only */
    int timeout_ms;
    int max_time_ms; /* the whole exchange, connect to last byte */
    size_t max_line;
    size_t max_headers;
    size_t max_body;
    size_t bufsize; /* --raw: the one recv's size */
};

struct url {
    char host[256];
    int port;
    char path[MAX_URL];
};

/* What the headers say about the body. */
struct framing {
    int status;
    int chunked; /* Transfer-Encoding ends with chunked */
    int has_te;  /* a Transfer-Encoding: Content-Length does not count then */
    int has_length;
    unsigned long long length;
};

struct body {
    unsigned char *data;
    size_t len, cap, max;
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: http_get [OPTIONS] [URL]\n"
            "       http_get --raw [OPTIONS] [HOST [PORT]]\n"
            "GETs an http:// URL (default " DEFAULT_URL ") over plain TCP and prints\n"
            "the status line, the headers, a blank line and the body.\n"
            "\n"
            "      --raw           send exactly 'GET / HTTP/1.1\\r\\nHost: HOST\\r\\n\\r\\n' to\n"
            "                      HOST:PORT (default " RAW_HOST ":80) and write what one\n"
            "                      recv of --bufsize bytes returns\n"
            "      --repr          print only the body as Python's print(bytes) does: b'...'\n"
            "      --host H        connect to H instead of the URL's host (sent as Host:)\n"
            "      --port P        connect to port P instead of the URL's port\n"
            "      --timeout S     seconds for the connect and for each receive (default 10)\n"
            "      --max-time S    seconds for the whole exchange (default 300)\n"
            "      --max-line N    longest status/header/chunk-size line, CRLF included\n"
            "                      (default 8192)\n"
            "      --max-headers N most header lines (default 100)\n"
            "      --max-body N    largest body in bytes (default 10485760)\n"
            "      --bufsize N     --raw: bytes for the one recv (default 1024)\n"
            "  -h, --help          this text\n"
            "\n"
            "https:// URLs are refused: netkit has no TLS. Network errors print Python's\n"
            "text (http_get: timed out) and exit 1, a bad response exits 1 too, a bad\n"
            "command line exits 2.\n");
}

/* Prints "http_get: <message>" to stderr; returns -1 for the callers to pass on. */
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("http_get: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

static int fail_nk(int code)
{
    return fail("%s", nk_strerror(code));
}

/* Up to 80 bytes of text from the server for a message, control characters
 * and non-ASCII bytes shown as '?' (they would be read by the terminal). */
static const char *printable(const char *text)
{
    static char out[81];
    size_t i;
    for (i = 0; i < sizeof out - 1 && text[i] != '\0'; i++)
        out[i] = (char)(text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?');
    out[i] = '\0';
    return out;
}

/* ---- Time ------------------------------------------------------------------ */

static int64_t deadline_ms; /* --max-time: when the exchange must be over */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail_max_time(const struct options *opt)
{
    return fail("no complete response within %g s (--max-time)", opt->max_time_ms / 1000.0);
}

/* The timeout of the next network call: --timeout, or what is left of
 * --max-time when that is less; 0 when the time is up. */
static int next_timeout(const struct options *opt)
{
    int64_t left = deadline_ms - now_ms();
    if (left <= 0)
        return 0;
    return left < opt->timeout_ms ? (int)left : opt->timeout_ms;
}

/* Gives c the timeout of its next call. Returns 0, or -1 after a message. */
static int arm(nk_tcp_client *c, const struct options *opt)
{
    int ms = next_timeout(opt);
    if (ms == 0)
        return fail_max_time(opt);
    int rc = nk_tcp_client_settimeout(c, ms);
    return rc < 0 ? fail_nk(rc) : 0;
}

/* A failed network call; a timeout that --max-time cut short says so. */
static int fail_net(int code, const struct options *opt)
{
    if (code == NK_ETIMEOUT && now_ms() >= deadline_ms)
        return fail_max_time(opt);
    return fail_nk(code);
}

/* ---- Command line ----------------------------------------------------------- */

static int parse_size(const char *text, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < lo || v > hi)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_port(const char *text, int *out)
{
    size_t v;
    if (parse_size(text, 0, 65535, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_timeout(const char *text, int *out_ms)
{
    char *end;
    double s = strtod(text, &end);
    if (text[0] == '\0' || *end != '\0' || !(s > 0) || s > 86400)
        return -1;
    int ms = (int)(s * 1000 + 0.5);
    *out_ms = ms < 1 ? 1 : ms;
    return 0;
}

/* Returns 0, 1 for --help (exit 0) or 2 after a usage message. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    enum {
        OPT_RAW = 256,
        OPT_REPR,
        OPT_HOST,
        OPT_PORT,
        OPT_TIMEOUT,
        OPT_MAX_TIME,
        OPT_MAX_LINE,
        OPT_MAX_HEADERS,
        OPT_MAX_BODY,
        OPT_BUFSIZE
    };
    static const struct option longopts[] = {
        {"raw", no_argument, NULL, OPT_RAW},
        {"repr", no_argument, NULL, OPT_REPR},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"max-time", required_argument, NULL, OPT_MAX_TIME},
        {"max-line", required_argument, NULL, OPT_MAX_LINE},
        {"max-headers", required_argument, NULL, OPT_MAX_HEADERS},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"bufsize", required_argument, NULL, OPT_BUFSIZE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_RAW:
            opt->raw = 1;
            break;
        case OPT_REPR:
            opt->repr = 1;
            break;
        case OPT_HOST:
            opt->host = optarg;
            break;
        case OPT_PORT:
            bad = parse_port(optarg, &opt->port) < 0;
            break;
        case OPT_TIMEOUT:
            bad = parse_timeout(optarg, &opt->timeout_ms) < 0;
            break;
        case OPT_MAX_TIME:
            bad = parse_timeout(optarg, &opt->max_time_ms) < 0;
            break;
        case OPT_MAX_LINE:
            bad = parse_size(optarg, 16, 1 << 20, &opt->max_line) < 0;
            break;
        case OPT_MAX_HEADERS:
            bad = parse_size(optarg, 1, 10000, &opt->max_headers) < 0;
            break;
        case OPT_MAX_BODY:
            bad = parse_size(optarg, 0, (size_t)1 << 30, &opt->max_body) < 0;
            break;
        case OPT_BUFSIZE:
            bad = parse_size(optarg, 1, 1 << 20, &opt->bufsize) < 0;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "Try 'http_get --help'.\n");
            return 2;
        }
        if (bad)
            fprintf(stderr, "http_get: bad value '%s' for %s\nTry 'http_get --help'.\n", optarg,
                    argv[optind - 1]);
    }
    if (bad)
        return 2;
    int left = argc - optind;
    if (opt->raw && left >= 1)
        opt->host = argv[optind];
    if (opt->raw && left >= 2 && parse_port(argv[optind + 1], &opt->port) < 0) {
        fprintf(stderr, "http_get: bad port '%s'\n", argv[optind + 1]);
        return 2;
    }
    if (!opt->raw && left >= 1)
        opt->url = argv[optind];
    if (left > (opt->raw ? 2 : 1)) {
        fprintf(stderr, "http_get: too many arguments\nTry 'http_get --help'.\n");
        return 2;
    }
    return 0;
}

/* ---- URL ------------------------------------------------------------------- */

/* Splits http://host[:port][/path] into u. Returns 0, or -1 after a message
 * (a URL the program cannot fetch is a command-line error: exit 2). */
static int parse_url(const char *text, struct url *u)
{
    size_t n = strlen(text);
    if (n >= MAX_URL)
        return fail("URL longer than %d bytes", MAX_URL - 1);
    for (size_t i = 0; i < n; i++) /* no spaces, controls or raw non-ASCII */
        if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
            return fail("URL holds a space, control or non-ASCII byte (percent-encode it)");
    if (strncasecmp(text, "https://", 8) == 0)
        return fail("https:// is not supported: netkit speaks plain TCP, not TLS; "
                    "use an http:// URL");
    if (strncasecmp(text, "http://", 7) != 0)
        return fail("'%s' is not an http:// URL", text);

    const char *auth = text + 7;
    size_t alen = strcspn(auth, "/?#");
    const char *rest = auth + alen, *hstart = auth, *hend, *port_text = NULL;
    if (memchr(auth, '@', alen) != NULL)
        return fail("user names in URLs are not supported");
    if (auth[0] == '[') { /* [IPv6 literal] */
        const char *close = memchr(auth, ']', alen);
        if (close == NULL)
            return fail("unterminated '[' in the URL's host");
        if (close + 1 < rest && close[1] != ':')
            return fail("junk after ']' in the URL's host");
        hstart = auth + 1;
        hend = close;
        if (close + 1 < rest)
            port_text = close + 2;
    } else {
        const char *colon = memchr(auth, ':', alen);
        hend = colon != NULL ? colon : rest;
        if (colon != NULL)
            port_text = colon + 1;
    }
    size_t hlen = (size_t)(hend - hstart);
    if (hlen == 0 || hlen >= sizeof u->host)
        return fail("the URL's host is empty or too long");
    memcpy(u->host, hstart, hlen);
    u->host[hlen] = '\0';

    u->port = 80;
    if (port_text != NULL && port_text < rest) {
        char digits[8];
        size_t plen = (size_t)(rest - port_text);
        if (plen >= sizeof digits)
            return fail("bad port in the URL");
        memcpy(digits, port_text, plen);
        digits[plen] = '\0';
        if (parse_port(digits, &u->port) < 0 || u->port == 0)
            return fail("bad port '%s' in the URL", digits);
    }
    int plen = (int)strcspn(rest, "#"); /* the fragment is not sent */
    snprintf(u->path, sizeof u->path, "%s%.*s", rest[0] == '/' ? "" : "/", plen, rest);
    return 0;
}

/* ---- Response parsing -------------------------------------------------------- */

/* Reads one line (CRLF or LF stripped) of at most opt->max_line bytes.
 * Returns 1 for a line, 0 at end of stream (or a last line without LF), -1 after
 * an error message. A NUL byte would cut the line short for the string
 * functions that parse it: such a line is refused. */
static int read_line(nk_tcp_client *c, char *buf, const struct options *opt, size_t *len)
{
    if (arm(c, opt) < 0)
        return -1;
    ssize_t n = nk_tcp_client_recv_line(c, buf, opt->max_line + 1);
    if (n == -EMSGSIZE)
        return fail("a line of the response is longer than %zu bytes (--max-line)", opt->max_line);
    if (n < 0)
        return fail_net((int)n, opt);
    if (memchr(buf, '\0', (size_t)n) != NULL)
        return fail("a line of the response holds a NUL byte");
    if (n == 0 || buf[n - 1] != '\n')
        return 0;
    n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = (size_t)n;
    return 1;
}

/* "HTTP/1.1 200 OK" -> 200; -1 if it is not a status line. */
static int parse_status(const char *line)
{
    if (strncmp(line, "HTTP/", 5) != 0 || line[5] < '0' || line[5] > '9' || line[6] != '.' ||
        line[7] < '0' || line[7] > '9' || line[8] != ' ')
        return -1;
    const char *s = line + 9;
    for (int i = 0; i < 3; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    if (s[3] != '\0' && s[3] != ' ')
        return -1;
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Takes what one header says about the body. Returns 0 or -1 after a message. */
static int note_header(char *line, struct framing *f)
{
    char *colon = strchr(line, ':');
    if (colon == NULL || colon == line)
        return fail("malformed header line: %s", printable(line));
    *colon = '\0';
    char *name = line, *value = trim(colon + 1);
    if (strcasecmp(name, "Content-Length") == 0) {
        unsigned long long v = 0;
        if (value[0] == '\0')
            return fail("bad Content-Length: %s", printable(value));
        for (const char *p = value; *p != '\0'; p++) {
            if (*p < '0' || *p > '9' || v > (ULLONG_MAX - 9) / 10)
                return fail("bad Content-Length: %s", printable(value));
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (f->has_length && f->length != v)
            return fail("conflicting Content-Length headers");
        f->has_length = 1;
        f->length = v;
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        /* The last coding decides: chunked only if it is "chunked". */
        char *last = strrchr(value, ',');
        f->has_te = 1;
        f->chunked = strcasecmp(trim(last != NULL ? last + 1 : value), "chunked") == 0;
    }
    *colon = ':';
    return 0;
}

/* Reads the header lines up to the blank line, printing them when show is set. */
static int read_headers(nk_tcp_client *c, char *line, const struct options *opt, struct framing *f,
                        int show)
{
    for (size_t count = 0;; count++) {
        size_t len = 0;
        int r = read_line(c, line, opt, &len);
        if (r < 0)
            return -1;
        if (r == 0)
            return fail("connection closed before the end of the headers");
        if (len == 0)
            return 0;
        if (count == opt->max_headers)
            return fail("more than %zu header lines (--max-headers)", opt->max_headers);
        if (line[0] == ' ' || line[0] == '\t')
            return fail("folded header lines are not supported");
        if (show && !opt->repr)
            printf("%s\n", line);
        if (note_header(line, f) < 0)
            return -1;
    }
}

/* The status line and headers of the final (non-1xx) response. */
static int read_head(nk_tcp_client *c, char *line, const struct options *opt, struct framing *f)
{
    for (int interim = 0;; interim++) {
        size_t len = 0;
        int r = read_line(c, line, opt, &len);
        if (r < 0)
            return -1;
        if (r == 0)
            return fail("Remote end closed connection without response");
        memset(f, 0, sizeof *f);
        f->status = parse_status(line);
        if (f->status < 0)
            return fail("malformed status line: %s", printable(line));
        int final = f->status >= 200;
        if (!final && interim == MAX_INTERIM)
            return fail("more than %d interim (1xx) responses", MAX_INTERIM);
        if (final && !opt->repr)
            printf("%s\n", line);
        if (read_headers(c, line, opt, f, final) < 0)
            return -1;
        if (final)
            return 0;
    }
}

/* ---- Body ------------------------------------------------------------------ */

/* Makes room for n more bytes within --max-body. */
static int body_reserve(struct body *b, size_t n)
{
    if (n > b->max - b->len)
        return fail("the body is larger than %zu bytes (--max-body)", b->max);
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap != 0 ? b->cap : 4096;
    while (cap < b->len + n)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    unsigned char *p = realloc(b->data, cap);
    if (p == NULL)
        return fail("out of memory for a body of %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Appends exactly n bytes from c. */
static int read_exact(nk_tcp_client *c, const struct options *opt, struct body *b, size_t n)
{
    if (body_reserve(b, n) < 0)
        return -1;
    while (n > 0) {
        if (arm(c, opt) < 0)
            return -1;
        ssize_t got = nk_tcp_client_recv(c, b->data + b->len, n < 65536 ? n : 65536);
        if (got < 0)
            return fail_net((int)got, opt);
        if (got == 0)
            return fail("connection closed %zu bytes before the end of the body", n);
        b->len += (size_t)got;
        n -= (size_t)got;
    }
    return 0;
}

/* Appends everything until the server closes, within --max-body. */
static int read_to_close(nk_tcp_client *c, const struct options *opt, struct body *b)
{
    for (;;) {
        if (arm(c, opt) < 0)
            return -1;
        size_t room = b->max - b->len;
        if (room == 0) { /* one more byte would be too many */
            unsigned char extra;
            ssize_t got = nk_tcp_client_recv(c, &extra, 1);
            if (got < 0)
                return fail_net((int)got, opt);
            return got == 0 ? 0 : body_reserve(b, 1);
        }
        size_t want = room < 16384 ? room : 16384;
        if (body_reserve(b, want) < 0)
            return -1;
        ssize_t got = nk_tcp_client_recv(c, b->data + b->len, want);
        if (got < 0)
            return fail_net((int)got, opt);
        if (got == 0)
            return 0;
        b->len += (size_t)got;
    }
}

/* "1a3f[;ext]" -> 0x1a3f. Returns 0 or -1 after a message. */
static int parse_chunk_size(const char *line, size_t *out)
{
    size_t v = 0, digits = 0;
    const char *p = line;
    for (;; p++, digits++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            break;
        if (v > (SIZE_MAX >> 4))
            return fail("chunk size %.40s overflows", printable(line));
        v = v * 16 + (size_t)d;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (digits == 0 || (*p != '\0' && *p != ';'))
        return fail("bad chunk size line: %s", printable(line));
    *out = v;
    return 0;
}

static int read_chunked(nk_tcp_client *c, char *line, const struct options *opt, struct body *b)
{
    for (;;) {
        size_t len = 0, size = 0;
        int r = read_line(c, line, opt, &len);
        if (r <= 0)
            return r < 0 ? -1 : fail("connection closed inside the chunked body");
        if (parse_chunk_size(line, &size) < 0)
            return -1;
        if (size == 0)
            break;
        if (read_exact(c, opt, b, size) < 0)
            return -1;
        r = read_line(c, line, opt, &len);
        if (r <= 0)
            return r < 0 ? -1 : fail("connection closed inside the chunked body");
        if (len != 0)
            return fail("no CRLF after a chunk's data");
    }
    struct framing ignored; /* trailer fields, not printed */
    memset(&ignored, 0, sizeof ignored);
    return read_headers(c, line, opt, &ignored, 0);
}

static int read_body(nk_tcp_client *c, char *line, const struct options *opt,
                     const struct framing *f, struct body *b)
{
    if (f->status < 200 || f->status == 204 || f->status == 304)
        return 0; /* no body, whatever the headers say (RFC 9112 6.3) */
    if (f->chunked)
        return read_chunked(c, line, opt, b);
    if (f->has_length && !f->has_te) {
        if (f->length > b->max)
            return fail("the body is larger than %zu bytes (--max-body)", b->max);
        return read_exact(c, opt, b, (size_t)f->length);
    }
    return read_to_close(c, opt, b);
}

/* Python's repr() of bytes, as print(data) shows it: b'...'. */
static void print_bytes_repr(const unsigned char *data, size_t len)
{
    int squote = memchr(data, '\'', len) != NULL, dquote = memchr(data, '"', len) != NULL;
    char quote = squote && !dquote ? '"' : '\'';
    printf("b%c", quote);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = data[i];
        if (ch == '\\' || ch == (unsigned char)quote)
            printf("\\%c", ch);
        else if (ch == '\t')
            fputs("\\t", stdout);
        else if (ch == '\n')
            fputs("\\n", stdout);
        else if (ch == '\r')
            fputs("\\r", stdout);
        else if (ch < 0x20 || ch >= 0x7f)
            printf("\\x%02x", ch);
        else
            putchar(ch);
    }
    printf("%c\n", quote);
}

static void print_body(const struct options *opt, const unsigned char *data, size_t len)
{
    if (opt->repr) {
        print_bytes_repr(data, len);
        return;
    }
    fwrite(data, 1, len, stdout);
    fflush(stdout);
}

/* ---- The two modes ----------------------------------------------------------- */

static int connect_to(nk_tcp_client **c, const char *host, int port, const struct options *opt)
{
    int ms = next_timeout(opt);
    if (ms == 0)
        return fail_max_time(opt);
    int rc = nk_tcp_connect(c, host, port, ms);
    return rc < 0 ? fail_net(rc, opt) : 0;
}

static int send_text(nk_tcp_client *c, const struct options *opt, const char *text)
{
    if (arm(c, opt) < 0)
        return -1;
    int rc = nk_tcp_client_sendall(c, text, strlen(text), NULL);
    return rc < 0 ? fail_net(rc, opt) : 0;
}

/* D12: the seed's one request and one recv. */
static int run_raw(const struct options *opt)
{
    char request[512];
    int n = snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", opt->host);
    if (n < 0 || (size_t)n >= sizeof request)
        return fail("host name too long");
    unsigned char *data = malloc(opt->bufsize);
    if (data == NULL)
        return fail("out of memory");
    nk_tcp_client *c = NULL;
    int rc = connect_to(&c, opt->host, opt->port, opt);
    if (rc == 0)
        rc = send_text(c, opt, request);
    if (rc == 0)
        rc = arm(c, opt);
    if (rc == 0) {
        ssize_t got = nk_tcp_client_recv(c, data, opt->bufsize);
        if (got < 0)
            rc = fail_net((int)got, opt);
        else
            print_body(opt, data, (size_t)got);
    }
    nk_tcp_client_close(c);
    free(data);
    return rc;
}

/* D9: GET the URL, print the head and the body. */
static int run_get(const struct options *opt, const struct url *u)
{
    const char *host = opt->host != NULL ? opt->host : u->host;
    int port = opt->port >= 0 ? opt->port : u->port;
    int v6 = strchr(host, ':') != NULL;
    char request[MAX_URL + 1024], portpart[8] = "";
    if (port != 80)
        snprintf(portpart, sizeof portpart, ":%d", port);
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s%s\r\nUser-Agent: netkit-http_get/%s\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     u->path, v6 ? "[" : "", host, v6 ? "]" : "", portpart, nk_version());
    if (n < 0 || (size_t)n >= sizeof request)
        return fail("request too long");

    char *line = malloc(opt->max_line + 1);
    if (line == NULL)
        return fail("out of memory");
    struct body b = {NULL, 0, 0, opt->max_body};
    struct framing f;
    memset(&f, 0, sizeof f);
    nk_tcp_client *c = NULL;
    int rc = connect_to(&c, host, port, opt);
    if (rc == 0)
        rc = send_text(c, opt, request);
    if (rc == 0)
        rc = read_head(c, line, opt, &f);
    if (rc == 0 && !opt->repr)
        printf("\n");
    if (rc == 0)
        rc = read_body(c, line, opt, &f, &b);
    if (rc == 0)
        print_body(opt, b.data != NULL ? b.data : (const unsigned char *)"", b.len);
    nk_tcp_client_close(c);
    free(b.data);
    free(line);
    return rc;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct options opt = {DEFAULT_URL, NULL, -1, 0, 0, 10000, 300000, 8192, 100, 10485760, 1024};
    int rc = parse_args(argc, argv, &opt);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    deadline_ms = now_ms() + opt.max_time_ms;

    if (opt.raw) {
        if (opt.host == NULL)
            opt.host = RAW_HOST;
        if (opt.port < 0)
            opt.port = RAW_PORT;
        return run_raw(&opt) < 0 ? 1 : 0;
    }
    struct url u;
    memset(&u, 0, sizeof u);
    if (parse_url(opt.url, &u) < 0)
        return 2;
    return run_get(&opt, &u) < 0 ? 1 : 0;
}
