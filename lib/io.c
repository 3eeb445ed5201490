/*
 * io.c - sockets with safe defaults, the monotonic deadline and the one place
 * netkit waits (poll after EAGAIN, EINTR retried inside the deadline).
 */
#include "internal.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t nk__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int nk__check_timeout(int timeout_ms)
{
    return timeout_ms < NK_BLOCK ? NK_EINVAL : 0;
}

int nk__wait(int fd, short events, int timeout_ms, nk__deadline *deadline)
{
    return nk__wait_wake(fd, events, -1, timeout_ms, deadline);
}

int nk__wait_wake(int fd, short events, int wake_fd, int timeout_ms, nk__deadline *deadline)
{
    if (timeout_ms == NK_NONBLOCK)
        return -EAGAIN;
    if (timeout_ms > 0 && *deadline == 0)
        *deadline = nk__now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int wait_ms = -1;
        if (timeout_ms > 0) {
            int64_t left = *deadline - nk__now_ns();
            if (left <= 0)
                return NK_ETIMEOUT;
            /* Round up so poll's millisecond granularity never ends early. */
            wait_ms = (int)((left + 999999) / 1000000);
        }
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = wake_fd, .events = POLLIN}};
        int n = poll(p, wake_fd >= 0 ? 2 : 1, wait_ms);
        if (n > 0 && wake_fd >= 0 && p[1].revents != 0)
            return NK__WOKEN;
        if (n > 0)
            return 0; /* ready, or an error/hangup the retried syscall reports */
        if (n < 0 && errno != EINTR)
            return nk__errno();
        /* n == 0 or EINTR: loop, the deadline check decides. */
    }
}

int nk__retry(int fd, short events, int timeout_ms, nk__deadline *deadline)
{
    if (errno == EINTR)
        return 0; /* PEP 475: retried, never surfaced */
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        return nk__errno();
    return nk__wait(fd, events, timeout_ms, deadline);
}

int nk__set_timeout(int fd, int *current, int timeout_ms)
{
    int rc = nk__check_timeout(timeout_ms);
    if (rc < 0)
        return rc;
    if ((*current == NK_BLOCK) != (timeout_ms == NK_BLOCK)) {
        rc = nk__set_nonblock(fd, timeout_ms != NK_BLOCK);
        if (rc < 0)
            return rc;
    }
    *current = timeout_ms;
    return 0;
}

int nk__socket(int family, int type, int nonblock)
{
    int fd;
#ifdef SOCK_CLOEXEC
    fd = socket(family, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return nk__errno();
#else
    fd = socket(family, type, 0);
    if (fd < 0)
        return nk__errno();
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || (nonblock && nk__set_nonblock(fd, 1) < 0)) {
        int rc = nk__errno();
        nk__close_fd(fd);
        return rc;
    }
#endif
#ifdef SO_NOSIGPIPE
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one) < 0) {
        int rc = nk__errno();
        nk__close_fd(fd);
        return rc;
    }
#endif
    return fd;
}

int nk__set_nonblock(int fd, int on)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return nk__errno();
    int want = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    if (want != flags && fcntl(fd, F_SETFL, want) < 0)
        return nk__errno();
    return 0;
}

void nk__close_fd(int fd)
{
    if (fd < 0)
        return;
    int saved = errno;
    close(fd);
    errno = saved;
}

int nk__check_host_port(const char *host, int null_ok, int port)
{
    if (host == NULL && !null_ok)
        return NK_ENULL;
    if (host != NULL && strnlen(host, NK__HOST_MAX + 1) > NK__HOST_MAX)
        return NK_EHOSTLEN;
    if (port < 0 || port > 65535)
        return NK_EPORT;
    return 0;
}

int nk__check_host_name(const char *host)
{
    size_t label = 0;
    int control = 0;
    for (const unsigned char *p = (const unsigned char *)host; *p != '\0'; p++) {
        label = *p == '.' ? 0 : label + 1;
        if (label > NK__LABEL_MAX)
            return NK_EHOSTLEN;
        control |= *p < 0x20 || *p == 0x7f;
    }
    return control ? NK_EAI(EAI_NONAME) : 0;
}
