/*
 * selector.c - nk_selector: level-triggered readiness for many fds on one
 * thread, on epoll(7) or poll(2), with a wakeup that signal handlers may call.
 *
 * Registrations live in a table indexed by fd (fds are small and dense), so a
 * kernel event finds its registration without a search and select allocates
 * nothing per event. Clients with queued output get write interest from here
 * while bytes wait and are flushed inside select.
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_EPOLL_CREATE1
#include <sys/epoll.h>
#endif
#ifdef HAVE_EVENTFD
#include <sys/eventfd.h>
#endif

enum { KIND_FD, KIND_CLIENT, KIND_SERVER, KIND_UDP };

/* Slot flags. */
#define SLOT_USED 1     /* registered */
#define SLOT_PENDING 2  /* in the pending list: a client with lines read ahead */
#define SLOT_REPORTED 4 /* stored in the caller's array by the select running now */

/* One registration; slot fd of the table. */
struct slot {
    void *data;          /* the caller's pointer */
    void *obj;           /* the netkit object, NULL for a plain fd */
    unsigned char flags; /* SLOT_* */
    unsigned char kind;  /* KIND_* */
    unsigned char want;  /* the caller's interest, NK_EVENT_* */
    unsigned char armed; /* the interest the kernel has now */
    int pidx;            /* poll backend: index in pfds */
};

struct nk_selector {
    uint32_t magic;
    int backend;          /* NK_SELECTOR_EPOLL or NK_SELECTOR_POLL */
    int epfd;             /* epoll backend */
    int wake_rd, wake_wr; /* eventfd (one fd) or a pipe */
    struct slot *slots;   /* indexed by fd, nslots long */
    int nslots;
    int count; /* registered fds */
#ifdef HAVE_EPOLL_CREATE1
    struct epoll_event *kev; /* epoll_wait's buffer, kcap long */
    int kcap;
#endif
    struct pollfd *pfds; /* poll backend: [0] is the wake fd */
    int npfd, pcap;
    int pnext;       /* poll backend: where the next scan starts (fairness) */
    nk_event *ready; /* the caller's array of the last select */
    int nready;      /* events stored in it */
    int *pending;    /* fds of clients holding read-ahead bytes a call returns */
    int npending, pendcap;
};

static int check(const nk_selector *sel)
{
    if (sel == NULL)
        return NK_ENULL;
    return sel->magic == NK__MAGIC_SELECTOR ? 0 : NK_EHANDLE;
}

static int valid_events(int events)
{
    return events != 0 && (events & ~(NK_EVENT_READ | NK_EVENT_WRITE)) == 0;
}

/* The slot of a registered fd, or NULL. */
static struct slot *find(const nk_selector *sel, int fd)
{
    if (fd < 0 || fd >= sel->nslots || !(sel->slots[fd].flags & SLOT_USED))
        return NULL;
    return &sel->slots[fd];
}

/* The interest the kernel should have: the caller's, plus write while a
 * client has queued output. */
static int wanted(const struct slot *s)
{
    int w = s->want;
    if (s->kind == KIND_CLIENT) {
        const nk_tcp_client *c = s->obj;
        if (c->wlen > c->wpos)
            w |= NK_EVENT_WRITE;
    }
    return w;
}

/* ---- wake fd ------------------------------------------------------------ */

static int wake_open(nk_selector *sel)
{
#ifdef HAVE_EVENTFD
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return nk__errno();
    sel->wake_rd = sel->wake_wr = fd;
#else
    int fds[2];
    if (pipe(fds) < 0)
        return nk__errno();
    sel->wake_rd = fds[0];
    sel->wake_wr = fds[1];
    for (int i = 0; i < 2; i++)
        if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0 || nk__set_nonblock(fds[i], 1) < 0)
            return nk__errno(); /* the caller closes both */
#endif
    return 0;
}

/* Empties the wake fd so that the next select waits again. */
static void wake_drain(nk_selector *sel)
{
    char buf[64];
    while (read(sel->wake_rd, buf, sizeof buf) > 0)
        ; /* an eventfd gives 8 bytes once; a pipe may hold more */
}

/* ---- kernel interest ------------------------------------------------------ */

#ifdef HAVE_EPOLL_CREATE1
static uint32_t to_epoll(int events)
{
    return ((events & NK_EVENT_READ) ? EPOLLIN : 0U) | ((events & NK_EVENT_WRITE) ? EPOLLOUT : 0U);
}

static int epoll_set(nk_selector *sel, int op, int fd, int events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = to_epoll(events);
    ev.data.fd = fd;
    return epoll_ctl(sel->epfd, op, fd, &ev) < 0 ? nk__errno() : 0;
}
#endif

static short to_poll(int events)
{
    return (short)(((events & NK_EVENT_READ) ? POLLIN : 0) |
                   ((events & NK_EVENT_WRITE) ? POLLOUT : 0));
}

/* Adds fd to the poll array; returns its index or a negative code. */
static int poll_add(nk_selector *sel, int fd, int events)
{
    if (sel->npfd == sel->pcap) {
        int cap = sel->pcap * 2;
        struct pollfd *p = realloc(sel->pfds, (size_t)cap * sizeof *p);
        if (p == NULL)
            return -ENOMEM;
        sel->pfds = p;
        sel->pcap = cap;
    }
    int i = sel->npfd++;
    sel->pfds[i].fd = fd;
    sel->pfds[i].events = to_poll(events);
    sel->pfds[i].revents = 0;
    return i;
}

/* Removes index i from the poll array, moving the last entry into its place. */
static void poll_remove(nk_selector *sel, int i)
{
    int last = --sel->npfd;
    if (i != last) {
        sel->pfds[i] = sel->pfds[last];
        sel->slots[sel->pfds[i].fd].pidx = i;
    }
}

/* Tells the kernel the interest events for a registered fd. */
static int kernel_modify(nk_selector *sel, int fd, struct slot *s, int events)
{
    if (events == s->armed)
        return 0;
#ifdef HAVE_EPOLL_CREATE1
    if (sel->backend == NK_SELECTOR_EPOLL) {
        int rc = epoll_set(sel, EPOLL_CTL_MOD, fd, events);
        if (rc < 0)
            return rc;
    } else
#endif
    {
        sel->pfds[s->pidx].events = to_poll(events);
    }
    s->armed = (unsigned char)events;
    return 0;
}

/* ---- open and close ----------------------------------------------------- */

int nk_selector_open(nk_selector **out, const nk_selector_opts *opts)
{
    if (out == NULL)
        return NK_ENULL;
    *out = NULL;
    int backend = opts != NULL ? opts->backend : NK_SELECTOR_DEFAULT;
    if (backend < NK_SELECTOR_DEFAULT || backend > NK_SELECTOR_POLL)
        return NK_EINVAL;
#ifdef HAVE_EPOLL_CREATE1
    if (backend == NK_SELECTOR_DEFAULT)
        backend = NK_SELECTOR_EPOLL;
#else
    if (backend == NK_SELECTOR_EPOLL)
        return -ENOSYS;
    backend = NK_SELECTOR_POLL;
#endif
    nk_selector *sel = calloc(1, sizeof *sel);
    if (sel == NULL)
        return -ENOMEM;
    sel->magic = NK__MAGIC_SELECTOR;
    sel->backend = backend;
    sel->epfd = sel->wake_rd = sel->wake_wr = -1;
    int rc = wake_open(sel);
    if (rc < 0)
        goto fail;
#ifdef HAVE_EPOLL_CREATE1
    if (backend == NK_SELECTOR_EPOLL) {
        if ((sel->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
            rc = nk__errno();
            goto fail;
        }
        if ((rc = epoll_set(sel, EPOLL_CTL_ADD, sel->wake_rd, NK_EVENT_READ)) < 0)
            goto fail;
    } else
#endif
    {
        sel->pcap = 16;
        if ((sel->pfds = malloc((size_t)sel->pcap * sizeof *sel->pfds)) == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        (void)poll_add(sel, sel->wake_rd, NK_EVENT_READ); /* room for 16: cannot fail */
        sel->pnext = 1;
    }
    *out = sel;
    return 0;
fail:
    nk_selector_close(sel);
    return rc;
}

/* Clears the back-pointer of a registered object. */
static void detach(struct slot *s)
{
    switch (s->kind) {
    case KIND_CLIENT:
        ((nk_tcp_client *)s->obj)->sel = NULL;
        break;
    case KIND_SERVER:
        ((nk_tcp_server *)s->obj)->sel = NULL;
        break;
    case KIND_UDP:
        ((nk_udp_endpoint *)s->obj)->sel = NULL;
        break;
    default:
        break;
    }
}

void nk_selector_close(nk_selector *sel)
{
    if (check(sel) < 0)
        return;
    for (int fd = 0; fd < sel->nslots; fd++)
        if (sel->slots[fd].flags & SLOT_USED)
            detach(&sel->slots[fd]);
    nk__close_fd(sel->epfd);
    if (sel->wake_wr != sel->wake_rd)
        nk__close_fd(sel->wake_wr);
    nk__close_fd(sel->wake_rd);
    free(sel->slots);
#ifdef HAVE_EPOLL_CREATE1
    free(sel->kev);
#endif
    free(sel->pfds);
    free(sel->pending);
    sel->magic = NK__MAGIC_DEAD;
    free(sel);
}

const char *nk_selector_backend(const nk_selector *sel)
{
    if (check(sel) < 0)
        return NULL;
    return sel->backend == NK_SELECTOR_EPOLL ? "epoll" : "poll";
}

int nk_selector_count(const nk_selector *sel)
{
    int rc = check(sel);
    return rc < 0 ? rc : sel->count;
}

/* ---- registration --------------------------------------------------------- */

/* Grows the table so that slot fd exists. */
static int grow(nk_selector *sel, int fd)
{
    if (fd < sel->nslots)
        return 0;
    size_t n = sel->nslots > 0 ? (size_t)sel->nslots : 64;
    while (n <= (size_t)fd)
        n *= 2;
    if (n > (size_t)INT_MAX)
        return -ENOMEM;
    struct slot *t = realloc(sel->slots, n * sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    memset(t + sel->nslots, 0, (n - (size_t)sel->nslots) * sizeof *t);
    sel->slots = t;
    sel->nslots = (int)n;
    return 0;
}

static int add(nk_selector *sel, int fd, int events, void *data, int kind, void *obj)
{
    int rc = check(sel);
    if (rc < 0)
        return rc;
    if (fd < 0 || !valid_events(events))
        return NK_EINVAL;
    if (fd == sel->wake_rd || fd == sel->wake_wr || fd == sel->epfd)
        return -EEXIST; /* the selector's own fds */
    if (fd < sel->nslots && (sel->slots[fd].flags & SLOT_USED))
        return -EEXIST;
    struct slot fresh = {
        .data = data, .obj = obj, .kind = (unsigned char)kind, .want = (unsigned char)events};
    int armed = wanted(&fresh);
    /* The kernel checks fd before the table grows to it: a number that is no
     * open fd (2147483647) is -EBADF, not a table of 48 GiB. */
#ifdef HAVE_EPOLL_CREATE1
    if (sel->backend == NK_SELECTOR_EPOLL) {
        if ((rc = epoll_set(sel, EPOLL_CTL_ADD, fd, armed)) < 0)
            return rc;
        if ((rc = grow(sel, fd)) < 0) {
            (void)epoll_ctl(sel->epfd, EPOLL_CTL_DEL, fd, NULL);
            return rc;
        }
    } else
#endif
    {
        if (fcntl(fd, F_GETFD) < 0)
            return nk__errno(); /* poll would only say POLLNVAL later */
        if ((rc = grow(sel, fd)) < 0 || (rc = poll_add(sel, fd, armed)) < 0)
            return rc;
        fresh.pidx = rc;
    }
    struct slot *s = &sel->slots[fd];
    fresh.flags = SLOT_USED;
    fresh.armed = (unsigned char)armed;
    *s = fresh;
    sel->count++;
    return 0;
}

int nk_selector_register_fd(nk_selector *sel, int fd, int events, void *data)
{
    return add(sel, fd, events, data, KIND_FD, NULL);
}

int nk_selector_register_client(nk_selector *sel, nk_tcp_client *c, int events, void *data)
{
    int rc = check(sel);
    if (rc < 0 || (rc = nk__client_check(c)) < 0)
        return rc;
    if (c->sel != NULL)
        return -EEXIST;
    if ((rc = add(sel, c->fd, events, data, KIND_CLIENT, c)) == 0) {
        c->sel = sel;
        c->rready = c->rpos < c->rlen; /* read ahead before it was registered */
        if (c->rready)
            nk__selector_readahead(sel, c->fd);
    }
    return rc;
}

int nk_selector_register_server(nk_selector *sel, nk_tcp_server *s, int events, void *data)
{
    int rc = check(sel);
    if (rc < 0 || (rc = nk__server_check(s)) < 0)
        return rc;
    if (s->sel != NULL)
        return -EEXIST;
    if ((rc = add(sel, s->fd, events, data, KIND_SERVER, s)) == 0)
        s->sel = sel;
    return rc;
}

int nk_selector_register_udp(nk_selector *sel, nk_udp_endpoint *u, int events, void *data)
{
    int rc = check(sel);
    if (rc < 0)
        return rc;
    if (u == NULL)
        return NK_ENULL;
    if (u->magic != NK__MAGIC_UDP)
        return NK_EHANDLE;
    if (u->fd < 0)
        return NK_ECLOSED;
    if (u->sel != NULL)
        return -EEXIST;
    rc = add(sel, u->fd, events, data, KIND_UDP, u);
    if (rc == 0)
        u->sel = sel;
    return rc;
}

int nk_selector_modify(nk_selector *sel, int fd, int events, void *data)
{
    int rc = check(sel);
    if (rc < 0)
        return rc;
    if (fd < 0 || !valid_events(events))
        return NK_EINVAL;
    struct slot *s = find(sel, fd);
    if (s == NULL)
        return -ENOENT;
    int old = s->want;
    s->want = (unsigned char)events;
    if ((rc = kernel_modify(sel, fd, s, wanted(s))) < 0) {
        s->want = (unsigned char)old;
        return rc;
    }
    s->data = data;
    return 0;
}

/* Clears fd's events from the caller's array of the last select. */
static void scrub(nk_selector *sel, int fd)
{
    for (int i = 0; i < sel->nready; i++)
        if (sel->ready[i].fd == fd) {
            sel->ready[i].events = 0;
            sel->ready[i].data = NULL;
        }
}

/* Forgets a registered fd. */
static void drop(nk_selector *sel, int fd, struct slot *s)
{
#ifdef HAVE_EPOLL_CREATE1
    if (sel->backend == NK_SELECTOR_EPOLL) {
        /* Fails with EBADF when a plain fd was closed first: it is gone from
         * the epoll set then, unless it was duplicated. */
        (void)epoll_ctl(sel->epfd, EPOLL_CTL_DEL, fd, NULL);
    } else
#endif
    {
        poll_remove(sel, s->pidx);
    }
    if (s->flags & SLOT_PENDING)
        for (int i = 0; i < sel->npending; i++)
            if (sel->pending[i] == fd) {
                sel->pending[i] = sel->pending[--sel->npending];
                break;
            }
    detach(s);
    memset(s, 0, sizeof *s);
    sel->count--;
    scrub(sel, fd);
}

int nk_selector_unregister(nk_selector *sel, int fd)
{
    int rc = check(sel);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return NK_EINVAL;
    struct slot *s = find(sel, fd);
    if (s == NULL)
        return -ENOENT;
    drop(sel, fd, s);
    return 0;
}

int nk_selector_get(const nk_selector *sel, int fd, int *events, void **data)
{
    int rc = check(sel);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return NK_EINVAL;
    const struct slot *s = find(sel, fd);
    if (s == NULL)
        return -ENOENT;
    if (events != NULL)
        *events = s->want;
    if (data != NULL)
        *data = s->data;
    return 0;
}

void nk__selector_forget(nk_selector *sel, int fd)
{
    struct slot *s = find(sel, fd);
    if (s != NULL)
        drop(sel, fd, s);
}

void nk__selector_readahead(nk_selector *sel, int fd)
{
    struct slot *s = find(sel, fd);
    if (s == NULL || (s->flags & SLOT_PENDING))
        return;
    if (sel->npending == sel->pendcap) {
        int cap = sel->pendcap > 0 ? sel->pendcap * 2 : 16;
        int *p = realloc(sel->pending, (size_t)cap * sizeof *p);
        if (p == NULL)
            return; /* the bytes stay buffered; the next recv call still returns them */
        sel->pending = p;
        sel->pendcap = cap;
    }
    sel->pending[sel->npending++] = fd;
    s->flags |= SLOT_PENDING;
}

int nk__selector_sync(nk_selector *sel, int fd)
{
    struct slot *s = find(sel, fd);
    return s == NULL ? 0 : kernel_modify(sel, fd, s, wanted(s));
}

/* ---- select --------------------------------------------------------------- */

/* Handles one ready fd: flushes a client's queued output when it is writable,
 * then stores the part of ready the caller asked for. Returns 1 when an event
 * was stored. */
static int deliver(nk_selector *sel, int fd, int ready, nk_event *out)
{
    struct slot *s = find(sel, fd);
    if (s == NULL)
        return 0;
    nk_tcp_client *c = s->kind == KIND_CLIENT ? s->obj : NULL;
    if (c != NULL && (ready & NK_EVENT_WRITE) && c->wlen > c->wpos) {
        /* Bytes are queued: send them, whether or not the caller asked for
         * write interest too. A failure is sticky in the client; show the
         * caller a readable socket so its next call learns. */
        if (nk__client_flush(c) < 0)
            ready |= NK_EVENT_READ;
        (void)kernel_modify(sel, fd, s, wanted(s));
    }
    int events = ready & s->want;
    if (events == 0)
        return 0;
    out->fd = fd;
    out->events = events;
    out->data = s->data;
    s->flags |= SLOT_REPORTED;
    return 1;
}

/* Reports clients whose read-ahead buffer holds bytes that a receive call
 * returns without the kernel (recv_line took one line of several): the
 * socket itself may no longer be readable. A client leaves the list once a
 * call on it needed the kernel. */
static int deliver_pending(nk_selector *sel, nk_event *events, int stored, int max)
{
    for (int i = 0; i < sel->npending;) {
        int fd = sel->pending[i];
        struct slot *s = find(sel, fd);
        const nk_tcp_client *c = s != NULL && s->kind == KIND_CLIENT ? s->obj : NULL;
        if (c == NULL || !c->rready) {
            if (s != NULL)
                s->flags &= (unsigned char)~SLOT_PENDING;
            sel->pending[i] = sel->pending[--sel->npending];
            continue;
        }
        if (stored < max && !(s->flags & SLOT_REPORTED) && (s->want & NK_EVENT_READ)) {
            stored += deliver(sel, fd, NK_EVENT_READ, &events[stored]);
            sel->nready = stored;
        }
        i++;
    }
    for (int i = 0; i < stored; i++)
        sel->slots[events[i].fd].flags &= (unsigned char)~SLOT_REPORTED;
    return stored;
}

/* 1 when a pending client can be reported now (the caller wants READ): then
 * select only looks at the kernel instead of waiting. */
static int pending_ready(const nk_selector *sel)
{
    for (int i = 0; i < sel->npending; i++) {
        const struct slot *s = find(sel, sel->pending[i]);
        if (s != NULL && s->kind == KIND_CLIENT && (s->want & NK_EVENT_READ) &&
            ((const nk_tcp_client *)s->obj)->rready)
            return 1;
    }
    return 0;
}

/* Milliseconds until deadline, rounded up; -1 without one. */
static int wait_ms(int timeout_ms, int64_t deadline)
{
    if (timeout_ms <= 0)
        return timeout_ms;
    int64_t left = deadline - nk__now_ns();
    return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

#ifdef HAVE_EPOLL_CREATE1
static int select_epoll(nk_selector *sel, nk_event *events, int max, int ms, int *woken)
{
    /* epoll reports at most every registered fd and the wake fd once: a huge
     * max costs no more than that. */
    if (max > sel->count + 1)
        max = sel->count + 1;
    if (max > sel->kcap) {
        struct epoll_event *k = realloc(sel->kev, (size_t)max * sizeof *k);
        if (k == NULL)
            return -ENOMEM;
        sel->kev = k;
        sel->kcap = max;
    }
    int n = epoll_wait(sel->epfd, sel->kev, max, ms);
    if (n < 0)
        return errno == EINTR ? 0 : nk__errno();
    int stored = 0;
    for (int i = 0; i < n; i++) {
        int fd = sel->kev[i].data.fd;
        uint32_t e = sel->kev[i].events;
        if (fd == sel->wake_rd) {
            wake_drain(sel);
            *woken = 1;
            continue;
        }
        int ready = 0;
        if (e & (EPOLLIN | EPOLLPRI | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
            ready |= NK_EVENT_READ;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            ready |= NK_EVENT_WRITE;
        stored += deliver(sel, fd, ready, &events[stored]);
        sel->nready = stored;
    }
    return stored;
}
#endif

static int select_poll(nk_selector *sel, nk_event *events, int max, int ms, int *woken)
{
    int n = poll(sel->pfds, (nfds_t)sel->npfd, ms);
    if (n < 0)
        return errno == EINTR ? 0 : nk__errno();
    if (n == 0)
        return 0;
    if (sel->pfds[0].revents != 0) {
        wake_drain(sel);
        *woken = 1;
    }
    /* Scan from where the last scan stopped, so that with more than max
     * ready fds every one gets its turn. */
    int stored = 0, nfds = sel->npfd - 1;
    int start = sel->pnext <= nfds ? sel->pnext : 1;
    for (int k = 0; k < nfds && stored < max; k++) {
        int i = 1 + (start - 1 + k) % nfds;
        short r = sel->pfds[i].revents;
        if (r == 0)
            continue;
        sel->pfds[i].revents = 0;
        int ready = 0;
        if (r & (POLLIN | POLLPRI | POLLHUP | POLLERR | POLLNVAL))
            ready |= NK_EVENT_READ;
        if (r & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
            ready |= NK_EVENT_WRITE;
        stored += deliver(sel, sel->pfds[i].fd, ready, &events[stored]);
        sel->nready = stored;
        sel->pnext = i + 1;
    }
    return stored;
}

int nk_selector_select(nk_selector *sel, nk_event *events, int max, int timeout_ms)
{
    int rc = check(sel);
    if (rc < 0)
        return rc;
    if (events == NULL)
        return NK_ENULL;
    if (max < 1 || timeout_ms < NK_BLOCK)
        return NK_EINVAL;
    sel->ready = events;
    sel->nready = 0;
    int64_t deadline = timeout_ms > 0 ? nk__now_ns() + (int64_t)timeout_ms * 1000000 : 0;
    for (;;) {
        int woken = 0;
        /* Read-ahead bytes are ready now: only look at the kernel then. */
        int ms = pending_ready(sel) ? 0 : wait_ms(timeout_ms, deadline);
#ifdef HAVE_EPOLL_CREATE1
        if (sel->backend == NK_SELECTOR_EPOLL)
            rc = select_epoll(sel, events, max, ms, &woken);
        else
#endif
            rc = select_poll(sel, events, max, ms, &woken);
        if (rc >= 0 && sel->npending > 0)
            rc = deliver_pending(sel, events, rc, max);
        else if (rc > 0)
            for (int i = 0; i < rc; i++)
                sel->slots[events[i].fd].flags &= (unsigned char)~SLOT_REPORTED;
        /* Nothing for the caller yet (a signal, or only output flushed):
         * wait again for what is left of the timeout. */
        if (rc != 0 || woken || timeout_ms == NK_NONBLOCK)
            return rc;
        if (timeout_ms > 0 && nk__now_ns() >= deadline)
            return 0;
    }
}

int nk_selector_wakeup(nk_selector *sel)
{
    int rc = check(sel);
    if (rc < 0)
        return rc;
    /* Async-signal-safe: one write(2), errno preserved. A full pipe or a
     * saturated eventfd already wakes select. */
    int saved = errno;
    uint64_t one = 1;
    ssize_t n = write(sel->wake_wr, &one, sizeof one);
    (void)n;
    errno = saved;
    return 0;
}
