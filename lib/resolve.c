/*
 * resolve.c - name resolution (Python's gethostname, gethostbyname,
 * getaddrinfo, gethostbyaddr) and binding a socket to a named host.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nk__gai_code(int eai)
{
#ifdef EAI_SYSTEM
    if (eai == EAI_SYSTEM) /* Python raises OSError(errno) for it, too */
        return nk__errno();
#endif
    return NK_EAI(eai);
}

int nk__resolve(const char *host, int port, int family, int socktype, int flags,
                struct addrinfo **res)
{
    int rc = nk__check_host_port(host, 1, port);
    if (rc < 0 || (host != NULL && (rc = nk__check_host_name(host)) < 0))
        return rc;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags = flags | AI_NUMERICSERV;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    int eai = getaddrinfo(host, service, &hints, res);
    return eai == 0 ? 0 : nk__gai_code(eai);
}

/* socket + options + bind for one address; returns the fd or a negative code. */
static int bind_one(const struct sockaddr *sa, socklen_t len, int type, int flags)
{
    int fd = nk__socket(sa->sa_family, type, flags & NK__BIND_NONBLOCK);
    if (fd < 0)
        return fd;
    int one = 1, v6only = (flags & NK__BIND_V6ONLY) != 0;
    if ((flags & NK__BIND_REUSEADDR) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        goto fail;
    if (flags & NK__BIND_REUSEPORT) {
#ifdef SO_REUSEPORT
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
            goto fail;
#else
        errno = ENOPROTOOPT;
        goto fail;
#endif
    }
    if (sa->sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0)
        goto fail;
    if (bind(fd, sa, len) < 0)
        goto fail;
    return fd;
fail:;
    int rc = nk__errno();
    nk__close_fd(fd);
    return rc;
}

static int bind_wildcard(int port, int type, int family, int flags)
{
    if (family == AF_UNSPEC || family == AF_INET6) {
        struct sockaddr_in6 s6;
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        s6.sin6_addr = in6addr_any;
        s6.sin6_port = htons((uint16_t)port);
        int rc = bind_one((struct sockaddr *)&s6, sizeof s6, type, flags);
        /* No IPv6 on this system: fall back to IPv4 when the caller allows. */
        if (rc >= 0 || family == AF_INET6 ||
            (rc != -EAFNOSUPPORT && rc != -EADDRNOTAVAIL && rc != -EPROTONOSUPPORT))
            return rc;
    }
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    s4.sin_addr.s_addr = htonl(INADDR_ANY);
    s4.sin_port = htons((uint16_t)port);
    return bind_one((struct sockaddr *)&s4, sizeof s4, type, flags);
}

int nk__bind_socket(const char *host, int port, int type, int family, int flags)
{
    int rc = nk__check_host_port(host, 1, port);
    if (rc < 0)
        return rc;
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return NK_EINVAL;
    if (host == NULL || host[0] == '\0')
        return bind_wildcard(port, type, family, flags);
    struct addrinfo *res = NULL;
    rc = nk__resolve(host, port, family, type, AI_PASSIVE, &res);
    if (rc < 0)
        return rc;
    rc = -EADDRNOTAVAIL;
    /* IPv4 first, then the rest, as a Python AF_INET socket would bind. */
    for (int pass = 0; pass < 2; pass++) {
        for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET) != (pass == 0))
                continue;
            rc = bind_one(ai->ai_addr, ai->ai_addrlen, type, flags);
            if (rc >= 0)
                goto done;
        }
    }
done:
    freeaddrinfo(res);
    return rc;
}

/* Copies a NUL-terminated string into buf; returns its length or NK_EBUFSIZE. */
static int copy_out(char *buf, size_t cap, const char *text)
{
    size_t n = strlen(text);
    if (n >= cap)
        return NK_EBUFSIZE;
    memcpy(buf, text, n + 1);
    return (int)n;
}

/* Resolves a host the way Python's gethostbyname/gethostbyaddr read it: ""
 * is the IPv4 wildcard and "<broadcast>" is 255.255.255.255. */
static int resolve_python_host(const char *name, int family, struct addrinfo **res)
{
    if (name[0] == '\0')
        return nk__resolve(NULL, 0, AF_INET, SOCK_STREAM, AI_PASSIVE, res);
    if (strcmp(name, "<broadcast>") == 0)
        name = "255.255.255.255";
    return nk__resolve(name, 0, family, SOCK_STREAM, 0, res);
}

int nk_gethostname(char *buf, size_t cap)
{
    if (buf == NULL)
        return NK_ENULL;
    char name[NK__HOST_MAX + 1];
    if (gethostname(name, sizeof name) < 0)
        return nk__errno();
    name[sizeof name - 1] = '\0';
    return copy_out(buf, cap, name);
}

int nk_gethostbyname(const char *name, char *buf, size_t cap)
{
    if (name == NULL || buf == NULL)
        return NK_ENULL;
    struct addrinfo *res = NULL;
    int rc = resolve_python_host(name, AF_INET, &res);
    if (rc < 0)
        return rc;
    char text[INET_ADDRSTRLEN];
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)res->ai_addr;
    inet_ntop(AF_INET, &s4->sin_addr, text, sizeof text);
    freeaddrinfo(res);
    return copy_out(buf, cap, text);
}

int nk_gethostbyaddr(const char *addr, char *buf, size_t cap)
{
    if (addr == NULL || buf == NULL)
        return NK_ENULL;
    struct addrinfo *res = NULL;
    int rc = resolve_python_host(addr, AF_UNSPEC, &res);
    if (rc < 0)
        return rc;
    const void *raw;
    socklen_t rawlen;
    if (res->ai_family == AF_INET) {
        raw = &((const struct sockaddr_in *)res->ai_addr)->sin_addr;
        rawlen = sizeof(struct in_addr);
    } else {
        raw = &((const struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        rawlen = sizeof(struct in6_addr);
    }
#ifdef HAVE_GETHOSTBYADDR_R
    /* As Python does: gethostbyaddr_r and its h_errno, growing the scratch
     * buffer on ERANGE up to a bound. */
    char small[1024], *scratch = small;
    size_t size = sizeof small;
    struct hostent he, *hp = NULL;
    int herr = 0;
    for (;;) {
        int err = gethostbyaddr_r(raw, rawlen, res->ai_family, &he, scratch, size, &hp, &herr);
        if (err != ERANGE || size >= 65536)
            break;
        size *= 4;
        char *bigger = scratch == small ? malloc(size) : realloc(scratch, size);
        if (bigger == NULL) {
            rc = -ENOMEM;
            goto done;
        }
        scratch = bigger;
    }
    rc = hp != NULL ? copy_out(buf, cap, hp->h_name) : NK_EHOST(herr > 0 ? herr : HOST_NOT_FOUND);
done:
    if (scratch != small)
        free(scratch);
#else
    char host[NI_MAXHOST];
    int eai = getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof host, NULL, 0, NI_NAMEREQD);
    rc = eai == 0 ? copy_out(buf, cap, host) : NK_EHOST(HOST_NOT_FOUND);
#endif
    (void)raw;
    (void)rawlen;
    freeaddrinfo(res);
    return rc;
}

int nk_getaddrinfo(const char *host, int port, int family, int socktype, int flags,
                   nk_addrinfo **out)
{
    if (out == NULL)
        return NK_ENULL;
    *out = NULL;
    struct addrinfo *res = NULL;
    int rc = nk__resolve(host, port, family, socktype, flags, &res);
    if (rc < 0)
        return rc;
    nk_addrinfo *head = NULL, **tail = &head;
    int count = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        nk_addrinfo *e = calloc(1, sizeof *e);
        if (e == NULL ||
            (ai->ai_canonname != NULL && (e->canonname = strdup(ai->ai_canonname)) == NULL)) {
            free(e);
            nk_freeaddrinfo(head);
            freeaddrinfo(res);
            return -ENOMEM;
        }
        e->family = ai->ai_family;
        e->socktype = ai->ai_socktype;
        e->protocol = ai->ai_protocol;
        nk__addr_from_sockaddr(&e->addr, ai->ai_addr, ai->ai_addrlen);
        *tail = e;
        tail = &e->next;
        count++;
    }
    freeaddrinfo(res);
    *out = head;
    return count;
}

void nk_freeaddrinfo(nk_addrinfo *list)
{
    while (list != NULL) {
        nk_addrinfo *next = list->next;
        free(list->canonname);
        free(list);
        list = next;
    }
}
