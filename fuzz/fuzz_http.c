/*
 * fuzz_http.c - libFuzzer target for examples/http_get.c's response parser:
 * status line, 1xx interim responses, headers, Content-Length, chunked
 * encoding (chunk sizes, extensions, trailers) and read-to-close.
 *
 * The example is compiled in unchanged: its main() is called as
 * `http_get [--repr] --max-line L --max-headers H --max-body B URL`, its
 * nk_tcp_connect is replaced by one that hands over one end of a socket pair
 * whose other end already holds the fuzzed response (then shut down for
 * writing, so read-to-close ends), and its stdout/stderr go to memory streams.
 *
 * The first input byte picks the mode and the limits:
 *   bit 0   0: the rest of the input is the response, byte for byte;
 *           1: the harness builds a well-formed response from the input
 *              (interim responses, status, headers, framing, chunk sizes,
 *              extensions, trailers, line endings, bytes after the end)
 *   bit 1   --repr (print only Python's repr of the body)
 *   bits 2-3  --max-line 16, 64, 256 or 8192 (the default)
 *   bits 4-5  --max-body 0, 100, 4096 or 1 MiB
 *   bits 6-7  --max-headers 1, 3, 10 or 100 (the default)
 * Properties:
 *   - any response: exit status 0 or 1, never a crash, overrun, leak or hang;
 *     output bounded by what the limits allow; a failure says why on stderr;
 *     the request sent is the documented GET;
 *   - a well-formed response within the limits: exit status 0, and the output
 *     is exactly the final status line and headers, a blank line and the body
 *     (with --repr: b'...' that decodes back to exactly the body).
 */
#include "internal.h"

#include <stdio.h>
#include <sys/socket.h>

#include "fuzz.h"

/* ---- The seam: the example's main, network and standard streams ---------- */

static FILE *fz_out, *fz_err; /* the example's stdout and stderr, in memory */
static int fz_conn_fd = -1;   /* the end of the socket pair the example reads */

static int fz_connect(nk_tcp_client **out, const char *host, int port, int timeout_ms)
{
    (void)host;
    (void)port;
    int fd = fz_conn_fd;
    fz_conn_fd = -1;
    FZ_ASSERT(fd >= 0, "the example connected twice");
    int rc = nk__client_new(fd, NK_BLOCK, out);
    if (rc == 0 && (rc = nk_tcp_client_settimeout(*out, timeout_ms)) < 0) {
        nk_tcp_client_close(*out);
        *out = NULL;
    }
    return rc;
}

#define main http_get_main
#define nk_tcp_connect fz_connect
#undef stdout
#define stdout fz_out
#undef stderr
#define stderr fz_err
#undef printf
#define printf(...) fprintf(fz_out, __VA_ARGS__)
#undef putchar
#define putchar(ch) fputc(ch, fz_out)
#include "../examples/http_get.c"
#undef main
#undef nk_tcp_connect
#undef stdout
#undef stderr
#undef printf
#undef putchar

/* ---- Building a well-formed response --------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
    if (n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        FZ_ASSERT(b->p != NULL, "out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void puts_buf(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

struct limits {
    size_t max_line, max_headers, max_body;
    int repr;
};

/* A header field name: token characters from the input, never one of the
 * framing headers. */
static void make_name(struct fz *f, char *name, size_t cap)
{
    static const char tok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~";
    size_t n = 1 + fz_u8(f) % (cap - 3 < 20 ? cap - 3 : 20);
    for (size_t i = 0; i < n; i++)
        name[i] = tok[fz_u8(f) % (sizeof tok - 1)];
    name[n] = '\0';
    if (strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0)
        name[0] = 'X';
}

/* One header line "Name: value" within max_line bytes (its line end included). */
static void make_header(struct fz *f, const struct limits *lim, char *line, size_t cap)
{
    size_t room = lim->max_line - 2 < cap - 1 ? lim->max_line - 2 : cap - 1; /* CRLF */
    make_name(f, line, room < 24 ? room : 24);
    size_t n = strlen(line);
    line[n++] = ':';
    if (fz_u8(f) & 1)
        line[n++] = ' ';
    size_t vlen = fz_u8(f) % 40;
    for (size_t i = 0; i < vlen && n < room; i++) {
        unsigned ch = 0x20 + fz_u8(f) % 0x5f; /* printable ASCII */
        line[n++] = (char)ch;
    }
    line[n] = '\0';
}

static void line_end(struct fz *f, struct buf *b)
{
    puts_buf(b, fz_u8(f) % 4 == 0 ? "\n" : "\r\n");
}

/* Appends one line of the final head to the response (with a line end from
 * the input) and to what the example prints (with "\n"). */
static void head_line(struct fz *f, const struct limits *lim, struct buf *resp,
                      struct buf *expect, const char *line)
{
    puts_buf(resp, line);
    line_end(f, resp);
    if (!lim->repr) {
        puts_buf(expect, line);
        puts_buf(expect, "\n");
    }
}

/* Builds a response the example must read without error; expect gets what it
 * must print, body the body. Returns 0 when the limits leave no room for one
 * (the input is then skipped). */
static int build_response(struct fz *f, const struct limits *lim, struct buf *resp,
                          struct buf *expect, struct buf *body)
{
    char line[8192];
    if (lim->max_line < 40)
        return 0; /* the status line and the framing headers need room */
    /* Interim 1xx responses, skipped by the example. */
    unsigned interim = fz_u8(f) % 3;
    for (unsigned i = 0; i < interim; i++) {
        snprintf(line, sizeof line, "HTTP/1.1 1%02u Continue", fz_u8(f) % 100);
        puts_buf(resp, line);
        line_end(f, resp);
        unsigned nh = fz_u8(f) % 3;
        for (unsigned h = 0; h < nh && h < lim->max_headers; h++) {
            make_header(f, lim, line, sizeof line);
            puts_buf(resp, line);
            line_end(f, resp);
        }
        line_end(f, resp);
    }
    /* The final status line: "HTTP/1.d NNN[ reason]". */
    unsigned status = 200 + fz_u16(f) % 400;
    unsigned reason = fz_u8(f);
    int n = snprintf(line, sizeof line, "HTTP/1.%u %u", reason % 2, status);
    if (reason & 2) {
        line[n++] = ' ';
        for (unsigned i = 0, len = fz_u8(f) % 24; i < len; i++)
            line[n++] = (char)(0x20 + fz_u8(f) % 0x5f);
        line[n] = '\0';
    }
    head_line(f, lim, resp, expect, line);

    /* The body, and how it is framed: 0 Content-Length, 1 chunked, 2 until
     * close, 3 chunked after another coding, 4 another coding only (until
     * close, whatever Content-Length says). */
    size_t want = fz_u16(f) % 2048, blen;
    if (want > lim->max_body)
        want = lim->max_body;
    const uint8_t *bytes = fz_take(f, want, &blen);
    unsigned framing = fz_u8(f) % 5;
    int no_body = status == 204 || status == 304; /* no body, whatever the headers say */
    if (!no_body)
        put(body, bytes, blen);

    /* The header lines: the framing ones at places the input picks among others. */
    char hdr[8][128];
    size_t nhdr = 0;
    unsigned style = fz_u8(f);
    if (framing == 0 || ((framing == 1 || framing == 4) && (style & 32))) {
        /* Content-Length, with leading zeros or blanks sometimes; next to a
         * Transfer-Encoding it does not count (and is wrong on purpose). */
        snprintf(hdr[nhdr++], sizeof hdr[0], "%s:%s%s%zu%s",
                 style & 1 ? "Content-Length" : "content-LENGTH", style & 2 ? " " : "",
                 style & 4 ? "00" : "", framing == 0 ? blen : blen + 7, style & 8 ? " \t" : "");
        if (framing == 0 && (style & 16)) { /* the same length twice is allowed */
            memcpy(hdr[nhdr], hdr[nhdr - 1], sizeof hdr[0]);
            nhdr++;
        }
    }
    static const char *const te[] = {NULL, "Transfer-Encoding: chunked", NULL,
                                     "transfer-encoding: gzip, Chunked",
                                     "Transfer-Encoding: gzip"};
    if (te[framing] != NULL)
        snprintf(hdr[nhdr++], sizeof hdr[0], "%s", te[framing]);
    if (nhdr > lim->max_headers)
        return 0;
    size_t others = fz_u8(f) % 6;
    if (others > lim->max_headers - nhdr)
        others = lim->max_headers - nhdr;
    size_t placed = 0;
    for (size_t i = 0; i < others + nhdr; i++) {
        size_t left_framing = nhdr - placed, left = others + nhdr - i;
        if (left_framing > 0 && (left_framing == left || fz_u8(f) % left < left_framing)) {
            head_line(f, lim, resp, expect, hdr[placed++]);
        } else {
            make_header(f, lim, line, sizeof line);
            head_line(f, lim, resp, expect, line);
        }
    }
    line_end(f, resp);
    if (!lim->repr)
        puts_buf(expect, "\n");

    size_t extra;
    if (no_body || framing == 0 || framing == 2 || framing == 4) {
        put(resp, bytes, blen);
        if (no_body || framing == 0) {
            const uint8_t *x = fz_take(f, fz_u8(f) % 16, &extra);
            put(resp, x, extra); /* after the body: never read */
        }
        return 1;
    }
    /* Chunked: sizes from the input, in hex of either case with leading zeros,
     * blanks and extensions sometimes, then the last chunk and trailers. */
    for (size_t off = 0; off < blen;) {
        size_t size = 1 + fz_u8(f) % 300;
        if (size > blen - off)
            size = blen - off;
        unsigned cs = fz_u8(f);
        snprintf(line, sizeof line, cs & 1 ? "%s%zX%s%s" : "%s%zx%s%s", cs & 2 ? "000" : "", size,
                 cs & 4 ? " \t" : "", cs & 8 ? ";name=value" : "");
        puts_buf(resp, line);
        line_end(f, resp);
        put(resp, bytes + off, size);
        line_end(f, resp);
        off += size;
    }
    puts_buf(resp, fz_u8(f) & 1 ? "0" : "000;last");
    line_end(f, resp);
    unsigned trailers = fz_u8(f) % 3;
    for (unsigned t = 0; t < trailers && t < lim->max_headers; t++) {
        make_header(f, lim, line, sizeof line);
        puts_buf(resp, line);
        line_end(f, resp);
    }
    line_end(f, resp);
    const uint8_t *x = fz_take(f, fz_u8(f) % 16, &extra);
    put(resp, x, extra); /* after the last chunk: never read */
    return 1;
}

/* ---- Checking what the example printed ------------------------------------ */

/* Decodes Python's repr of bytes, b'...' or b"...", followed by a newline. */
static int decode_repr(const char *text, size_t len, struct buf *out)
{
    if (len < 4 || text[0] != 'b' || (text[1] != '\'' && text[1] != '"') || text[len - 1] != '\n' ||
        text[len - 2] != text[1])
        return 0;
    char quote = text[1];
    for (size_t i = 2; i < len - 2; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == (unsigned char)quote || ch < 0x20 || ch >= 0x7f)
            return 0; /* must have been escaped */
        if (ch != '\\') {
            put(out, &ch, 1);
            continue;
        }
        if (++i >= len - 2)
            return 0;
        char e = text[i];
        unsigned char v;
        if (e == 'n' || e == 'r' || e == 't' || e == '\\' || e == '\'' || e == '"') {
            v = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : (unsigned char)e;
        } else if (e == 'x' && i + 2 < len - 2) {
            unsigned hv;
            char hex[3] = {text[i + 1], text[i + 2], 0};
            if (sscanf(hex, "%2x", &hv) != 1)
                return 0;
            v = (unsigned char)hv;
            i += 2;
        } else {
            return 0;
        }
        put(out, &v, 1);
    }
    return 1;
}

static void check_repr(const char *out, size_t len, const struct buf *body)
{
    struct buf dec = {0};
    FZ_ASSERT(decode_repr(out, len, &dec), "--repr printed no b'...' line");
    if (dec.len != body->len || (body->len > 0 && memcmp(dec.p, body->p, body->len) != 0)) {
        fz_print_bytes("repr decodes to", dec.p, dec.len);
        fz_print_bytes("body", body->p, body->len);
        FZ_ASSERT(0, "--repr output is not the body");
    }
    /* Python's choice of quote: double quotes only for ' without ". */
    int sq = memchr(body->p ? body->p : "", '\'', body->len) != NULL;
    int dq = memchr(body->p ? body->p : "", '"', body->len) != NULL;
    FZ_ASSERT(out[1] == (sq && !dq ? '"' : '\''), "repr quoted with %c", out[1]);
    free(dec.p);
}

/* ---- The target --------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t lines[] = {16, 64, 256, 8192};
    static const size_t bodies[] = {0, 100, 4096, 1 << 20};
    static const size_t headers[] = {1, 3, 10, 100};
    struct fz f = {data, size};
    unsigned opt = fz_u8(&f);
    struct limits lim = {lines[opt >> 2 & 3], headers[opt >> 6 & 3], bodies[opt >> 4 & 3],
                         (opt & 2) != 0};
    struct buf resp = {0}, expect = {0}, body = {0};
    int built = opt & 1;
    if (built) {
        if (!build_response(&f, &lim, &resp, &expect, &body)) {
            free(resp.p);
            free(expect.p);
            free(body.p);
            return 0;
        }
    } else {
        put(&resp, f.p, f.n);
    }

    int lowest_fd = fz_lowest_free_fd();
    int sv[2];
    FZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    int sndbuf = 1 << 20;
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (resp.len > 0) {
        ssize_t n = send(sv[1], resp.p, resp.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        FZ_ASSERT(n == (ssize_t)resp.len, "the socket pair took %zd of %zu bytes", n, resp.len);
    }
    FZ_ASSERT(shutdown(sv[1], SHUT_WR) == 0, "shutdown");
    fz_conn_fd = sv[0];

    char *out = NULL, *err = NULL;
    size_t out_len = 0, err_len = 0;
    fz_out = open_memstream(&out, &out_len);
    fz_err = open_memstream(&err, &err_len);
    FZ_ASSERT(fz_out != NULL && fz_err != NULL, "open_memstream");
    char max_line[24], max_headers[24], max_body[24];
    snprintf(max_line, sizeof max_line, "%zu", lim.max_line);
    snprintf(max_headers, sizeof max_headers, "%zu", lim.max_headers);
    snprintf(max_body, sizeof max_body, "%zu", lim.max_body);
    char *argv[16];
    int argc = 0;
    argv[argc++] = "http_get";
    if (lim.repr)
        argv[argc++] = "--repr";
    char *opts[] = {"--timeout", "5", "--max-line", max_line, "--max-headers", max_headers,
                    "--max-body", max_body, "http://fuzz.test:8080/p?q=1#frag"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        argv[argc++] = opts[i];
    argv[argc] = NULL;
    optind = 0; /* getopt starts afresh for every call */
    int status = http_get_main(argc, argv);
    fclose(fz_out);
    fclose(fz_err);
    FZ_ASSERT(fz_conn_fd == -1, "the example did not connect");

    /* The request the example sent. */
    char req[512];
    ssize_t rn = recv(sv[1], req, sizeof req - 1, MSG_DONTWAIT);
    FZ_ASSERT(rn > 0, "no request was sent");
    req[rn] = '\0';
    static const char want[] = "GET /p?q=1 HTTP/1.1\r\nHost: fuzz.test:8080\r\n";
    FZ_ASSERT(strncmp(req, want, sizeof want - 1) == 0, "the request began \"%.60s\"", req);
    close(sv[1]);

    FZ_ASSERT(status == 0 || status == 1, "exit status %d", status);
    if (status == 1)
        FZ_ASSERT(err_len > 10 && strncmp(err, "http_get: ", 10) == 0,
                  "exit status 1 without a message");
    /* Bounded output: the head is at most the response, the body at most
     * --max-body, four times that in repr. */
    FZ_ASSERT(out_len <= resp.len + 4 * lim.max_body + 8, "%zu bytes of output for a %zu-byte response",
              out_len, resp.len);
    if (built) {
        if (status != 0)
            fz_print_bytes("stderr", err, err_len);
        FZ_ASSERT(status == 0, "a well-formed response was refused");
        if (lim.repr) {
            check_repr(out, out_len, &body);
        } else {
            put(&expect, body.p, body.len);
            if (out_len != expect.len || (out_len > 0 && memcmp(out, expect.p, out_len) != 0)) {
                fz_print_bytes("printed", out, out_len);
                fz_print_bytes("expected", expect.p, expect.len);
                FZ_ASSERT(0, "the output is not the head and the body");
            }
        }
    }
    free(out);
    free(err);
    free(resp.p);
    free(expect.p);
    free(body.p);
    FZ_ASSERT(fz_lowest_free_fd() == lowest_fd, "a file descriptor was left open");
    return 0;
}
