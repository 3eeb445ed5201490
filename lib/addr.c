/*
 * addr.c - nk_addr: numeric construction, parsing, formatting (host:port,
 * [v6]:port, Python's tuple text) and comparison.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nk__addr_from_sockaddr(nk_addr *out, const struct sockaddr *sa, socklen_t len)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
            s4->sin_family = AF_INET;
            s4->sin_port = s6->sin6_port;
            memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
            out->len = sizeof *s4;
            return;
        }
    }
    if (len > (socklen_t)sizeof out->ss)
        len = sizeof out->ss;
    memcpy(&out->ss, sa, len);
    out->len = len;
}

void nk__addr_unmap(nk_addr *a)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
    if (a->ss.ss_family != AF_INET6 || a->len < (socklen_t)sizeof *s6 ||
        !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
        return;
    nk_addr copy = *a;
    nk__addr_from_sockaddr(a, (const struct sockaddr *)&copy.ss, copy.len);
}

int nk__addr_for_socket(const nk_addr *addr, int sock_family, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    /* Only what nk_addr_family accepts, and never more than the storage. */
    int family = nk_addr_family(addr);
    if (family < 0 || addr->len > (socklen_t)sizeof addr->ss)
        return NK_EINVAL;
    if (family == AF_INET && sock_family == AF_INET6) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&addr->ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        memset(s6, 0, sizeof *s6);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = s4->sin_port;
        s6->sin6_addr.s6_addr[10] = 0xff;
        s6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&s6->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
        *len = sizeof *s6;
        return 0;
    }
    if (family == AF_INET6 && sock_family == AF_INET)
        return -EAFNOSUPPORT;
    memcpy(ss, &addr->ss, addr->len);
    *len = addr->len;
    return 0;
}

static int name_of(int fd, nk_addr *out, int peer)
{
    if (out == NULL)
        return NK_ENULL;
    struct sockaddr_storage ss;
    ss.ss_family = AF_UNSPEC; /* defined even if the kernel stored less */
    socklen_t len = sizeof ss;
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                  : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return nk__errno();
    nk__addr_from_sockaddr(out, (struct sockaddr *)&ss, len);
    return 0;
}

int nk__sockname(int fd, nk_addr *out)
{
    return name_of(fd, out, 0);
}

int nk__peername(int fd, nk_addr *out)
{
    return name_of(fd, out, 1);
}

int nk_addr_set(nk_addr *out, const char *ip, int port)
{
    if (out == NULL)
        return NK_ENULL;
    int rc = nk__check_host_port(ip, 0, port);
    if (rc < 0)
        return rc;
    /* glibc reads a host of "*" as no host at all (loopback here), even with
     * AI_NUMERICHOST: it is no literal. */
    if (strcmp(ip, "*") == 0)
        return NK_EAI(EAI_NONAME);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    int eai = getaddrinfo(ip, service, &hints, &res);
    if (eai != 0)
        return nk__gai_code(eai);
    nk__addr_from_sockaddr(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int nk_addr_parse(nk_addr *out, const char *text)
{
    if (out == NULL || text == NULL)
        return NK_ENULL;
    char host[NK__HOST_MAX + 1];
    const char *colon, *hstart = text;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return NK_EINVAL;
        hstart = text + 1;
        hlen = (size_t)(close - hstart);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
            return NK_EINVAL; /* no port, or an IPv6 literal without brackets */
        hlen = (size_t)(colon - text);
    }
    if (hlen == 0)
        return NK_EINVAL;
    if (hlen > NK__HOST_MAX)
        return NK_EHOSTLEN;
    memcpy(host, hstart, hlen);
    host[hlen] = '\0';
    /* The port: 1 to 5 decimal digits, nothing else. */
    const char *p = colon + 1;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || p[digits] != '\0')
        return NK_EINVAL;
    if (digits > 5)
        return NK_EPORT;
    return nk_addr_set(out, host, (int)strtol(p, NULL, 10)); /* 1-5 digits: no overflow */
}

static int check_inet(const nk_addr *addr)
{
    if (addr == NULL)
        return NK_ENULL;
    if (addr->len > (socklen_t)sizeof addr->ss)
        return NK_EINVAL; /* a length its storage cannot hold */
    int family = addr->ss.ss_family;
    if (family == AF_INET && addr->len >= (socklen_t)sizeof(struct sockaddr_in))
        return AF_INET;
    if (family == AF_INET6 && addr->len >= (socklen_t)sizeof(struct sockaddr_in6))
        return AF_INET6;
    return NK_EINVAL;
}

/* Copies text of length n into buf, or reports NK_EBUFSIZE. */
static int put(char *buf, size_t cap, const char *text, int n)
{
    if (n < 0)
        return NK_EINVAL;
    if ((size_t)n >= cap)
        return NK_EBUFSIZE;
    memcpy(buf, text, (size_t)n + 1);
    return n;
}

/* The numeric host text into a buffer of NK_ADDRSTRLEN, with the IPv6 scope
 * as "%ifname" when with_scope (Python's tuple keeps it in its 4th field). */
static int host_text(const nk_addr *addr, char *out, int with_scope)
{
    int family = check_inet(addr);
    if (family < 0)
        return family;
    if (family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&addr->ss;
        inet_ntop(AF_INET, &s4->sin_addr, out, NK_ADDRSTRLEN);
        return (int)strlen(out);
    }
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&addr->ss;
    inet_ntop(AF_INET6, &s6->sin6_addr, out, NK_ADDRSTRLEN);
    size_t n = strlen(out);
    if (with_scope && s6->sin6_scope_id != 0) {
        /* An interface name only where getaddrinfo reads one back (link-local
         * addresses, as getnameinfo does); elsewhere the number, so that the
         * text always parses back to the same address. */
        char ifname[IF_NAMESIZE];
        int named =
            IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&s6->sin6_addr);
        if (named && if_indextoname(s6->sin6_scope_id, ifname) != NULL)
            snprintf(out + n, NK_ADDRSTRLEN - n, "%%%s", ifname);
        else
            snprintf(out + n, NK_ADDRSTRLEN - n, "%%%u", (unsigned)s6->sin6_scope_id);
    }
    return (int)strlen(out);
}

int nk_addr_host(const nk_addr *addr, char *buf, size_t cap)
{
    if (buf == NULL)
        return NK_ENULL;
    char host[NK_ADDRSTRLEN];
    int n = host_text(addr, host, 1);
    if (n < 0)
        return n;
    return put(buf, cap, host, n);
}

int nk_addr_port(const nk_addr *addr)
{
    int family = check_inet(addr);
    if (family < 0)
        return family;
    if (family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
}

int nk_addr_family(const nk_addr *addr)
{
    return check_inet(addr);
}

int nk_addr_format(const nk_addr *addr, char *buf, size_t cap)
{
    if (buf == NULL)
        return NK_ENULL;
    char host[NK_ADDRSTRLEN], text[NK_ADDRSTRLEN + 16];
    int n = host_text(addr, host, 1);
    if (n < 0)
        return n;
    int port = nk_addr_port(addr);
    if (nk_addr_family(addr) == AF_INET6)
        n = snprintf(text, sizeof text, "[%s]:%d", host, port);
    else
        n = snprintf(text, sizeof text, "%s:%d", host, port);
    return put(buf, cap, text, n);
}

int nk_addr_tuple(const nk_addr *addr, char *buf, size_t cap)
{
    if (buf == NULL)
        return NK_ENULL;
    char host[NK_ADDRSTRLEN], text[NK_ADDRSTRLEN + 48];
    int n = host_text(addr, host, 0);
    if (n < 0)
        return n;
    int port = nk_addr_port(addr);
    if (nk_addr_family(addr) == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&addr->ss;
        n = snprintf(text, sizeof text, "('%s', %d, %u, %u)", host, port,
                     (unsigned)ntohl(s6->sin6_flowinfo), (unsigned)s6->sin6_scope_id);
    } else {
        n = snprintf(text, sizeof text, "('%s', %d)", host, port);
    }
    return put(buf, cap, text, n);
}

int nk_addr_equal(const nk_addr *a, const nk_addr *b)
{
    if (a == NULL || b == NULL)
        return NK_ENULL;
    int fa = check_inet(a), fb = check_inet(b);
    if (fa < 0 || fb < 0 || fa != fb)
        return 0;
    if (fa == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
        const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}
