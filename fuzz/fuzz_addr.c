/*
 * fuzz_addr.c - libFuzzer target for netkit's address parser and formatters:
 * nk_addr_parse, nk_addr_set, nk_addr_format, nk_addr_tuple, nk_addr_host,
 * nk_addr_port, nk_addr_family, nk_addr_equal, and the internal
 * nk__addr_for_socket / nk__addr_unmap that sending and connecting use.
 *
 * The first input byte picks a mode, the rest is its material:
 *   0  nk_addr_parse(text)
 *   1  nk_addr_set(ip, port)
 *   2  a raw nk_addr (any family, any len, any bytes) through every formatter
 *   3  two texts parsed and compared
 * Properties (beyond "no crash, no overrun, no leak"):
 *   - success means the text said that address: an independent reading with
 *     inet_aton/inet_pton gives the same bytes, port and scope, and text that
 *     is plainly valid ("1.2.3.4:80", "[::1]:80") never fails;
 *   - failure is a usage or address-resolution code with a message, never
 *     another kind;
 *   - an address formats to text shorter than NK_ADDRSTRLEN that parses back
 *     to an equal address (an IPv4-mapped IPv6 address comes back as IPv4);
 *     nk_addr_set on its host text gives the same address again;
 *   - every formatter writes at most cap bytes, NUL-terminated, returns the
 *     text length, and fails with NK_EBUFSIZE exactly when cap is too small;
 *   - equality is reflexive, symmetric, ignores the flow label and agrees
 *     with equality of the formatted text.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include "fuzz.h"

/* The error codes the address calls may return, besides NK_KIND_GAI ones. */
static int is_usage_code(int rc)
{
    return rc == NK_EINVAL || rc == NK_EPORT || rc == NK_EHOSTLEN || rc == NK_ENULL ||
           rc == NK_EBUFSIZE;
}

static void check_failure_code(int rc, const char *call)
{
    FZ_ASSERT(rc < 0, "%s: %d is not a failure", call, rc);
    FZ_ASSERT(is_usage_code(rc) || nk_error_kind(rc) == NK_KIND_GAI,
              "%s failed with %s (%d), neither a usage nor a gai code", call, nk_error_name(rc),
              rc);
    const char *msg = nk_strerror(rc);
    FZ_ASSERT(msg != NULL && msg[0] != '\0', "%s: no message for %d", call, rc);
    FZ_ASSERT(strcmp(nk_error_name(rc), "UNKNOWN") != 0, "%s: unnamed code %d", call, rc);
}

/* One formatter into a buffer of exactly cap bytes (so ASan sees an overrun).
 * Returns the call's result; the text (if any) is copied to out. */
typedef int (*formatter)(const nk_addr *, char *, size_t);

static int format_exact(formatter fn, const nk_addr *a, size_t cap, char out[NK_ADDRSTRLEN])
{
    char *buf = malloc(cap > 0 ? cap : 1);
    FZ_ASSERT(buf != NULL, "out of memory");
    int rc = fn(a, buf, cap);
    if (rc >= 0) {
        FZ_ASSERT((size_t)rc < cap, "returned length %d does not fit cap %zu", rc, cap);
        FZ_ASSERT(buf[rc] == '\0' && strlen(buf) == (size_t)rc,
                  "text not NUL-terminated at its length %d", rc);
        FZ_ASSERT(rc < NK_ADDRSTRLEN, "text of %d bytes, NK_ADDRSTRLEN is %d", rc, NK_ADDRSTRLEN);
        memcpy(out, buf, (size_t)rc + 1);
    }
    free(buf);
    return rc;
}

/* Checks one formatter on a: with NK_ADDRSTRLEN it succeeds exactly when the
 * address is IPv4/IPv6; with every smaller cap around the length, NK_EBUFSIZE
 * exactly when the text does not fit. The text goes to text. */
static int check_formatter(formatter fn, const char *name, const nk_addr *a, int valid,
                           char text[NK_ADDRSTRLEN], unsigned extra_cap)
{
    int n = format_exact(fn, a, NK_ADDRSTRLEN, text);
    if (!valid) {
        FZ_ASSERT(n == NK_EINVAL, "%s of a non-IP address gave %d, not NK_EINVAL", name, n);
        return n;
    }
    FZ_ASSERT(n > 0, "%s of a valid address failed: %s", name, nk_error_name(n));
    char again[NK_ADDRSTRLEN];
    /* Too small by one, just right, and one cap the input chooses. */
    int r = format_exact(fn, a, (size_t)n, again);
    FZ_ASSERT(r == NK_EBUFSIZE, "%s with cap %d (text %d bytes) gave %d", name, n, n, r);
    r = format_exact(fn, a, (size_t)n + 1, again);
    FZ_ASSERT(r == n && strcmp(again, text) == 0, "%s with cap %d gave %d", name, n + 1, r);
    size_t cap = extra_cap % (NK_ADDRSTRLEN + 8);
    r = format_exact(fn, a, cap, again);
    if (cap > (size_t)n)
        FZ_ASSERT(r == n && strcmp(again, text) == 0, "%s with cap %zu gave %d", name, cap, r);
    else
        FZ_ASSERT(r == NK_EBUFSIZE, "%s with cap %zu (text %d bytes) gave %d", name, cap, n, r);
    FZ_ASSERT(fn(a, NULL, 16) == NK_ENULL, "%s with a NULL buffer", name);
    return n;
}

/* Every formatter on a valid address, and the round trip through the text. */
static void check_valid_address(const nk_addr *a, unsigned extra_cap)
{
    int fam = nk_addr_family(a);
    FZ_ASSERT(fam == AF_INET || fam == AF_INET6, "family %d", fam);
    int port = nk_addr_port(a);
    FZ_ASSERT(port >= 0 && port <= 65535, "port %d", port);

    char text[NK_ADDRSTRLEN], tuple[NK_ADDRSTRLEN], host[NK_ADDRSTRLEN];
    check_formatter(nk_addr_format, "nk_addr_format", a, 1, text, extra_cap);
    check_formatter(nk_addr_tuple, "nk_addr_tuple", a, 1, tuple, extra_cap + 13);
    check_formatter(nk_addr_host, "nk_addr_host", a, 1, host, extra_cap / 2);

    /* The formatted text parses back to the same address. */
    nk_addr unmapped = *a, back;
    nk__addr_unmap(&unmapped);
    int rc = nk_addr_parse(&back, text);
    FZ_ASSERT(rc == 0, "nk_addr_parse(\"%s\") of formatted text gave %s", text, nk_strerror(rc));
    FZ_ASSERT(nk_addr_equal(&back, &unmapped) == 1, "\"%s\" parses to another address", text);
    char text2[NK_ADDRSTRLEN], text3[NK_ADDRSTRLEN];
    FZ_ASSERT(nk_addr_format(&back, text2, sizeof text2) > 0 &&
                  nk_addr_format(&unmapped, text3, sizeof text3) > 0 && strcmp(text2, text3) == 0,
              "\"%s\" formats back as \"%s\", not \"%s\"", text, text2, text3);

    /* nk_addr_set on the host text and the port gives it again. */
    nk_addr set;
    rc = nk_addr_set(&set, host, port);
    FZ_ASSERT(rc == 0, "nk_addr_set(\"%s\", %d) gave %s", host, port, nk_strerror(rc));
    FZ_ASSERT(nk_addr_equal(&set, &unmapped) == 1, "nk_addr_set(\"%s\") is another address", host);

    /* The texts agree with each other. */
    const char *pct = strchr(host, '%');
    size_t bare = pct != NULL ? (size_t)(pct - host) : strlen(host);
    char expect[NK_ADDRSTRLEN + 16];
    if (fam == AF_INET) {
        FZ_ASSERT(pct == NULL, "IPv4 host text with a scope: %s", host);
        snprintf(expect, sizeof expect, "%s:%d", host, port);
        FZ_ASSERT(strcmp(text, expect) == 0, "format \"%s\", expected \"%s\"", text, expect);
        snprintf(expect, sizeof expect, "('%s', %d)", host, port);
        FZ_ASSERT(strcmp(tuple, expect) == 0, "tuple \"%s\", expected \"%s\"", tuple, expect);
    } else {
        snprintf(expect, sizeof expect, "[%s]:%d", host, port);
        FZ_ASSERT(strcmp(text, expect) == 0, "format \"%s\", expected \"%s\"", text, expect);
        snprintf(expect, sizeof expect, "('%.*s', %d, ", (int)bare, host, port);
        FZ_ASSERT(strncmp(tuple, expect, strlen(expect)) == 0, "tuple \"%s\", expected \"%s...\"",
                  tuple, expect);
    }
    FZ_ASSERT(nk_addr_equal(a, a) == 1, "an address is not equal to itself: %s", text);
}

/* The bytes of an IPv6 text (with an optional "%scope"), read independently
 * of netkit. Returns 1 and fills *addr and *scope when it is one. */
static int reference_ipv6(const char *text, struct in6_addr *addr, uint32_t *scope)
{
    char bare[NK__HOST_MAX + 1];
    const char *pct = strchr(text, '%');
    size_t n = pct != NULL ? (size_t)(pct - text) : strlen(text);
    if (n >= sizeof bare)
        return 0;
    memcpy(bare, text, n);
    bare[n] = '\0';
    if (inet_pton(AF_INET6, bare, addr) != 1)
        return 0;
    *scope = 0;
    if (pct != NULL) {
        const char *s = pct + 1;
        unsigned idx = if_nametoindex(s);
        if (idx != 0) {
            *scope = idx;
        } else {
            char *end;
            if (*s < '0' || *s > '9')
                return 0;
            unsigned long long v = strtoull(s, &end, 10);
            if (*end != '\0' || v > UINT32_MAX)
                return 0;
            *scope = (uint32_t)v;
        }
    }
    return 1;
}

/* Checks that a successfully set address is what host and port said. */
static void check_matches_text(const nk_addr *a, const char *host, int port)
{
    FZ_ASSERT(nk_addr_port(a) == port, "port %d, the text said %d", nk_addr_port(a), port);
    struct in_addr v4;
    struct in6_addr v6;
    uint32_t scope;
    int fam = nk_addr_family(a);
    if (fam == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
        if (strchr(host, ':') == NULL) {
            FZ_ASSERT(inet_aton(host, &v4) != 0 && v4.s_addr == s4->sin_addr.s_addr,
                      "\"%s\" became IPv4 %s", host, inet_ntoa(s4->sin_addr));
        } else {
            /* Only an IPv4-mapped IPv6 text becomes IPv4. */
            FZ_ASSERT(reference_ipv6(host, &v6, &scope) && IN6_IS_ADDR_V4MAPPED(&v6) &&
                          memcmp(&v6.s6_addr[12], &s4->sin_addr, 4) == 0,
                      "\"%s\" became IPv4 %s", host, inet_ntoa(s4->sin_addr));
        }
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
        FZ_ASSERT(fam == AF_INET6, "family %d", fam);
        FZ_ASSERT(reference_ipv6(host, &v6, &scope), "\"%s\" is no IPv6 text, yet it set one",
                  host);
        FZ_ASSERT(memcmp(&v6, &s6->sin6_addr, sizeof v6) == 0, "\"%s\" set other bytes", host);
        FZ_ASSERT(!IN6_IS_ADDR_V4MAPPED(&v6), "\"%s\" stayed IPv4-mapped IPv6", host);
        FZ_ASSERT(s6->sin6_scope_id == scope, "\"%s\": scope %u, expected %u", host,
                  (unsigned)s6->sin6_scope_id, (unsigned)scope);
    }
}

/* Text so plainly valid that every reader accepts it: a dotted quad or a
 * bracketed IPv6 literal without scope, and 1 to 5 digits of port <= 65535. */
static int plainly_valid(const char *text)
{
    char host[64];
    const char *colon;
    struct in6_addr v6;
    struct in_addr v4;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof host)
            return 0;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        if (inet_pton(AF_INET6, host, &v6) != 1)
            return 0;
        colon = close + 1;
    } else {
        colon = strchr(text, ':');
        if (colon == NULL || (size_t)(colon - text) >= sizeof host)
            return 0;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        if (inet_pton(AF_INET, host, &v4) != 1)
            return 0;
    }
    size_t digits = strspn(colon + 1, "0123456789");
    return digits >= 1 && digits <= 5 && colon[1 + digits] == '\0' && atoi(colon + 1) <= 65535;
}

/* Splits "host:port" / "[host]:port" the way the header describes; 0 if the
 * shape is wrong (then parse must fail). */
static int split_text(const char *text, char *host, size_t hcap, int *port)
{
    const char *colon, *hs = text;
    size_t hl;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return 0;
        hs = text + 1;
        hl = (size_t)(close - hs);
        colon = close + 1;
    } else {
        colon = strchr(text, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            return 0;
        hl = (size_t)(colon - text);
    }
    size_t digits = strspn(colon + 1, "0123456789");
    if (hl == 0 || hl >= hcap || digits == 0 || digits > 5 || colon[1 + digits] != '\0')
        return 0;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = atoi(colon + 1);
    return 1;
}

static void fuzz_parse(const char *text, unsigned extra_cap)
{
    nk_addr a;
    memset(&a, 0xa5, sizeof a);
    int rc = nk_addr_parse(&a, text);
    char host[NK__HOST_MAX + 1];
    int port;
    int shaped = split_text(text, host, sizeof host, &port);
    if (rc != 0) {
        check_failure_code(rc, "nk_addr_parse");
        FZ_ASSERT(!plainly_valid(text), "nk_addr_parse(\"%s\") refused valid text: %s", text,
                  nk_strerror(rc));
        return;
    }
    FZ_ASSERT(shaped, "nk_addr_parse accepted \"%s\", which is not host:port", text);
    FZ_ASSERT(port <= 65535, "nk_addr_parse accepted port %d", port);
    check_matches_text(&a, host, port);
    FZ_ASSERT(text[0] == '[' || nk_addr_family(&a) == AF_INET,
              "\"%s\": an unbracketed IPv6 literal was accepted", text);
    check_valid_address(&a, extra_cap);
}

static void fuzz_set(const char *ip, int port, unsigned extra_cap)
{
    nk_addr a;
    memset(&a, 0x5a, sizeof a);
    int rc = nk_addr_set(&a, ip, port);
    if (rc != 0) {
        check_failure_code(rc, "nk_addr_set");
        if (strlen(ip) <= NK__HOST_MAX && (port < 0 || port > 65535))
            FZ_ASSERT(rc == NK_EPORT, "port %d gave %s, not NK_EPORT", port, nk_error_name(rc));
        if (strlen(ip) > NK__HOST_MAX)
            FZ_ASSERT(rc == NK_EHOSTLEN, "a %zu-byte host gave %s", strlen(ip), nk_error_name(rc));
        struct in_addr v4;
        FZ_ASSERT(inet_pton(AF_INET, ip, &v4) != 1 || port < 0 || port > 65535,
                  "nk_addr_set(\"%s\", %d) refused a dotted quad: %s", ip, port, nk_strerror(rc));
        return;
    }
    FZ_ASSERT(port >= 0 && port <= 65535, "nk_addr_set accepted port %d", port);
    check_matches_text(&a, ip, port);
    check_valid_address(&a, extra_cap);
}

/* A raw nk_addr as a careless caller or a memory error would hand over. */
static void fuzz_raw(struct fz *f)
{
    nk_addr a;
    size_t got;
    memset(&a, 0, sizeof a);
    unsigned shape = fz_u8(f);
    const uint8_t *p = fz_take(f, sizeof a.ss, &got);
    memcpy(&a.ss, p, got);
    static const int families[] = {AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC};
    if ((shape & 4) == 0)
        a.ss.ss_family = (sa_family_t)families[shape & 3];
    static const socklen_t lens[] = {sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6),
                                     sizeof(struct sockaddr_storage)};
    unsigned lsel = (shape >> 3) & 7;
    a.len = lsel < 3 ? lens[lsel] : (socklen_t)(fz_u16(f) | (lsel == 7 ? 0x10000u * fz_u8(f) : 0));
    unsigned extra_cap = fz_u16(f);

    int fam = nk_addr_family(&a);
    /* An IP family, and a len from its sockaddr's size up to the storage's. */
    int valid = a.len <= sizeof a.ss &&
                ((a.ss.ss_family == AF_INET && a.len >= sizeof(struct sockaddr_in)) ||
                 (a.ss.ss_family == AF_INET6 && a.len >= sizeof(struct sockaddr_in6)));
    FZ_ASSERT(valid ? fam == a.ss.ss_family : fam == NK_EINVAL,
              "nk_addr_family gave %d for family %d, len %u", fam, a.ss.ss_family,
              (unsigned)a.len);
    char text[NK_ADDRSTRLEN];
    if (valid) {
        check_valid_address(&a, extra_cap);
    } else {
        check_formatter(nk_addr_format, "nk_addr_format", &a, 0, text, extra_cap);
        check_formatter(nk_addr_tuple, "nk_addr_tuple", &a, 0, text, extra_cap);
        check_formatter(nk_addr_host, "nk_addr_host", &a, 0, text, extra_cap);
        FZ_ASSERT(nk_addr_port(&a) == NK_EINVAL, "a port of a non-IP address");
        FZ_ASSERT(nk_addr_equal(&a, &a) == 0, "a non-IP address equal to itself");
    }

    /* Equality ignores the flow label and padding, never the port. */
    nk_addr b = a;
    if (a.ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&b.ss)->sin6_flowinfo ^= 0x12345;
    FZ_ASSERT(nk_addr_equal(&a, &b) == valid, "the flow label changed equality");
    if (valid) {
        ((struct sockaddr_in *)&b.ss)->sin_port ^= 1; /* same offset in sockaddr_in6 */
        FZ_ASSERT(nk_addr_equal(&a, &b) == 0 && nk_addr_equal(&b, &a) == 0,
                  "addresses with different ports are equal");
    }
    FZ_ASSERT(nk_addr_equal(NULL, &a) == NK_ENULL && nk_addr_equal(&a, NULL) == NK_ENULL,
              "NULL to nk_addr_equal");

    /* What sendto/connect hand to the kernel: never more than a sockaddr_storage. */
    static const int sock_families[] = {AF_INET, AF_INET6};
    for (int i = 0; i < 2; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        int rc = nk__addr_for_socket(&a, sock_families[i], &ss, &len);
        if (rc == 0) {
            FZ_ASSERT(len <= sizeof ss && len >= sizeof(struct sockaddr_in),
                      "nk__addr_for_socket gave length %u", (unsigned)len);
            FZ_ASSERT(valid, "nk__addr_for_socket accepted family %d, len %u", a.ss.ss_family,
                      (unsigned)a.len);
        } else {
            FZ_ASSERT(rc == NK_EINVAL || rc == -EAFNOSUPPORT, "nk__addr_for_socket gave %d", rc);
        }
    }
    /* Unmapping turns only a v4-mapped IPv6 address into IPv4 and leaves any
     * other as it is. */
    nk_addr c = a;
    nk__addr_unmap(&c);
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a.ss;
    if (a.ss.ss_family == AF_INET6 && a.len >= sizeof *a6 && IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
        const struct sockaddr_in *c4 = (const struct sockaddr_in *)&c.ss;
        FZ_ASSERT(c.ss.ss_family == AF_INET && c.len == sizeof *c4 &&
                      c4->sin_port == a6->sin6_port &&
                      memcmp(&c4->sin_addr, &a6->sin6_addr.s6_addr[12], 4) == 0,
                  "a v4-mapped address unmapped to family %d len %u", c.ss.ss_family,
                  (unsigned)c.len);
    } else {
        FZ_ASSERT(memcmp(&a, &c, sizeof a) == 0, "nk__addr_unmap changed a non-mapped address");
    }
}

/* Two texts; if both parse, they are equal exactly when they format alike. */
static void fuzz_pair(const char *t1, const char *t2)
{
    nk_addr a, b;
    int ra = nk_addr_parse(&a, t1), rb = nk_addr_parse(&b, t2);
    if (ra != 0 || rb != 0)
        return;
    char fa[NK_ADDRSTRLEN], fb[NK_ADDRSTRLEN];
    FZ_ASSERT(nk_addr_format(&a, fa, sizeof fa) > 0 && nk_addr_format(&b, fb, sizeof fb) > 0,
              "format failed");
    int eq = nk_addr_equal(&a, &b);
    FZ_ASSERT(eq == nk_addr_equal(&b, &a), "nk_addr_equal is not symmetric");
    FZ_ASSERT(eq == (strcmp(fa, fb) == 0), "\"%s\" and \"%s\": equal %d, texts \"%s\", \"%s\"",
              t1, t2, eq, fa, fb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    unsigned mode = fz_u8(&f);
    if (mode % 4 == 2) {
        fuzz_raw(&f);
        return 0;
    }
    unsigned extra_cap = mode >> 2;
    int port = 0;
    if (mode % 4 == 1)
        port = (int)(fz_u16(&f) | (fz_u8(&f) & 3) << 16) - 65536; /* -65536 .. 196607 */
    /* The rest of the input is the text (a NUL ends it, as C strings end). */
    char *text = malloc(f.n + 1);
    FZ_ASSERT(text != NULL, "out of memory");
    memcpy(text, f.p, f.n);
    text[f.n] = '\0';
    if (mode % 4 == 0) {
        fuzz_parse(text, extra_cap);
    } else if (mode % 4 == 1) {
        fuzz_set(text, port, extra_cap);
    } else {
        char *nl = strchr(text, '\n');
        if (nl != NULL) {
            *nl = '\0';
            fuzz_pair(text, nl + 1);
        }
    }
    free(text);
    return 0;
}
