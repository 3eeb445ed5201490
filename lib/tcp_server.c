/*
 * tcp_server.c - nk_tcp_server: bind + listen with safe defaults, accept with
 * a timeout, and a shutdown that is safe from other threads and signal handlers.
 */
#include "internal.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nk__server_check(const nk_tcp_server *s)
{
    if (s == NULL)
        return NK_ENULL;
    if (s->magic != NK__MAGIC_SERVER)
        return NK_EHANDLE;
    return s->fd < 0 ? NK_ECLOSED : 0;
}

int nk__server_stopped(const nk_tcp_server *s)
{
    return __atomic_load_n(&s->stopped, __ATOMIC_ACQUIRE);
}

/* A non-blocking, close-on-exec pipe. */
static int wake_pipe(int fds[2])
{
#ifdef HAVE_PIPE2
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return nk__errno();
#else
    if (pipe(fds) < 0)
        return nk__errno();
    for (int i = 0; i < 2; i++) {
        if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0 || nk__set_nonblock(fds[i], 1) < 0) {
            int rc = nk__errno();
            nk__close_fd(fds[0]);
            nk__close_fd(fds[1]);
            return rc;
        }
    }
#endif
    return 0;
}

int nk_tcp_server_open(nk_tcp_server **out, const char *host, int port,
                       const nk_tcp_server_opts *opts)
{
    if (out == NULL)
        return NK_ENULL;
    *out = NULL;
    nk_tcp_server_opts o = {0};
    if (opts != NULL)
        o = *opts;
    if (o.backlog < 0 || (o.family != AF_UNSPEC && o.family != AF_INET && o.family != AF_INET6))
        return NK_EINVAL;
    int flags = NK__BIND_REUSEADDR | NK__BIND_NONBLOCK;
    if (o.reuse_port)
        flags |= NK__BIND_REUSEPORT;
    if (o.v6only)
        flags |= NK__BIND_V6ONLY;

    nk_tcp_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->magic = NK__MAGIC_SERVER;
    s->wake[0] = s->wake[1] = -1;
    int rc = s->fd = nk__bind_socket(host, port, SOCK_STREAM, o.family, flags);
    if (rc < 0)
        goto fail;
    if (listen(s->fd, o.backlog > 0 ? o.backlog : SOMAXCONN) < 0) {
        rc = nk__errno();
        goto fail;
    }
    nk_addr local;
    if ((rc = nk__sockname(s->fd, &local)) < 0 || (rc = wake_pipe(s->wake)) < 0)
        goto fail;
    s->port = nk_addr_port(&local);
    *out = s;
    return 0;
fail:
    nk__close_fd(s->fd);
    free(s);
    return rc;
}

void nk_tcp_server_close(nk_tcp_server *s)
{
    if (s == NULL || s->magic != NK__MAGIC_SERVER)
        return;
    if (s->sel != NULL)
        nk__selector_forget(s->sel, s->fd);
    nk__close_fd(s->fd);
    nk__close_fd(s->wake[0]);
    nk__close_fd(s->wake[1]);
    s->magic = NK__MAGIC_DEAD;
    free(s);
}

int nk_tcp_server_accept(nk_tcp_server *s, nk_tcp_client **out, nk_addr *peer, int timeout_ms)
{
    int rc = nk__server_check(s);
    if (rc < 0)
        return rc;
    if (out == NULL)
        return NK_ENULL;
    *out = NULL;
    if ((rc = nk__check_timeout(timeout_ms)) < 0)
        return rc;
    nk__deadline deadline = 0;
    for (;;) {
        if (nk__server_stopped(s))
            return -ECANCELED;
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
#ifdef HAVE_ACCEPT4
        int fd = accept4(s->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
#else
        int fd = accept(s->fd, (struct sockaddr *)&ss, &len);
        if (fd >= 0 && (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || nk__set_nonblock(fd, 0) < 0)) {
            rc = nk__errno();
            nk__close_fd(fd);
            return rc;
        }
#endif
        if (fd >= 0) {
            if (peer != NULL)
                nk__addr_from_sockaddr(peer, (struct sockaddr *)&ss, len);
            return nk__client_new(fd, NK_BLOCK, out);
        }
        /* A connection that died in the queue is not the caller's business. */
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return nk__errno(); /* EMFILE, ENFILE, ... are returned, never spun on */
        rc = nk__wait_wake(s->fd, POLLIN, s->wake[0], timeout_ms, &deadline);
        if (rc == NK__WOKEN)
            return -ECANCELED;
        if (rc < 0)
            return rc;
    }
}

int nk_tcp_server_port(const nk_tcp_server *s)
{
    int rc = nk__server_check(s);
    return rc < 0 ? rc : s->port;
}

int nk_tcp_server_sockname(const nk_tcp_server *s, nk_addr *out)
{
    int rc = nk__server_check(s);
    return rc < 0 ? rc : nk__sockname(s->fd, out);
}

int nk_tcp_server_fd(const nk_tcp_server *s)
{
    int rc = nk__server_check(s);
    return rc < 0 ? rc : s->fd;
}

int nk_tcp_server_shutdown(nk_tcp_server *s)
{
    int rc = nk__server_check(s);
    if (rc < 0)
        return rc;
    /* Async-signal-safe: an atomic store and write(2), errno preserved. */
    int saved = errno;
    __atomic_store_n(&s->stopped, 1, __ATOMIC_RELEASE);
    ssize_t n = write(s->wake[1], "x", 1); /* EAGAIN: the pipe is already readable */
    (void)n;
    errno = saved;
    return 0;
}
