/*
 * check_selector.c - Check suite for nk_selector (lib/selector.c) and the
 * queued output it flushes (nk_tcp_client_queue).
 *
 * Every test runs once per backend (tcase_add_loop_test: _i 0 is epoll, 1 is
 * poll) on real sockets on 127.0.0.1, port 0 only. Helper threads block every
 * signal, so signals reach the test's own thread. Every loop is bounded in
 * count and time, and a select that could wait forever has a rescuer: a
 * thread that makes a registered pipe readable when select did not return in
 * time, so a bug fails the test instead of hanging the run (CK_FORK=no has no
 * per-test timeout). Time bounds are scaled by CK_TIMEOUT_MULTIPLIER.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */
/* ------------------------------------------------------------------------ */

static const int backends[] = {NK_SELECTOR_EPOLL, NK_SELECTOR_POLL};
static const char *const backend_names[] = {"epoll", "poll"};

/* Opens a selector on backend _i of the loop test. */
static nk_selector *sel_open(int i)
{
    nk_selector_opts o = {.backend = backends[i]};
    nk_selector *sel = NULL;
    tu_assert_code(nk_selector_open(&sel, &o), 0);
    ck_assert_ptr_nonnull(sel);
    ck_assert_str_eq(nk_selector_backend(sel), backend_names[i]);
    return sel;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time of the calling thread, in nanoseconds. */
static long long cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define MS(ns) ((ns) / 1000000LL)

static nk_tcp_server *server_open(void)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    return s;
}

/* A client connected to s (timeout 5 s) and the accepted end (NK_BLOCK). */
typedef struct conn {
    nk_tcp_client *cli;
    nk_tcp_client *peer;
} conn;

static void conn_open(conn *c, nk_tcp_server *s)
{
    memset(c, 0, sizeof *c);
    tu_assert_code(nk_tcp_connect(&c->cli, "127.0.0.1", nk_tcp_server_port(s), (int)TU_SLACK(5000)),
                   0);
    tu_assert_code(nk_tcp_server_accept(s, &c->peer, NULL, (int)TU_SLACK(5000)), 0);
}

static void conn_close(conn *c)
{
    nk_tcp_client_close(c->cli);
    nk_tcp_client_close(c->peer);
    memset(c, 0, sizeof *c);
}

/* Waits (poll, at most ms) until fd has events; returns the revents or 0. */
static int wait_fd(int fd, short events, long long ms)
{
    long long end = tu_now_ms() + ms;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        long long left = end - tu_now_ms();
        int n = poll(&p, 1, left > 0 ? (int)left : 0);
        if (n > 0)
            return p.revents;
        if ((n == 0 || errno != EINTR) || tu_now_ms() >= end)
            return 0;
    }
}

static const nk_event *find_event(const nk_event *ev, int n, int fd)
{
    for (int i = 0; i < n; i++)
        if (ev[i].fd == fd)
            return &ev[i];
    return NULL;
}

/* Selects until fd is reported or about 2 s (scaled) passed; returns its
 * event (events 0 when it never came). Other fds' events are ignored. The
 * array is static: the one given to the last select must stay valid after
 * it, since a later unregister or close clears its entries. */
static nk_event select_for(nk_selector *sel, int fd)
{
    static nk_event ev[16];
    nk_event none = {fd, 0, NULL};
    long long end = tu_now_ms() + TU_SLACK(2000);
    for (int round = 0; round < 1000; round++) {
        long long left = end - tu_now_ms();
        if (left <= 0)
            break;
        int n = nk_selector_select(sel, ev, 16, (int)left);
        ck_assert_msg(n >= 0, "select: %s (%d)", nk_strerror(n), n);
        const nk_event *e = find_event(ev, n, fd);
        if (e != NULL)
            return *e;
    }
    return none;
}

static void small_buffers(nk_tcp_client *sender, nk_tcp_client *receiver)
{
    int small = 16384;
    ck_assert_int_eq(
        setsockopt(nk_tcp_client_fd(sender), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    ck_assert_int_eq(
        setsockopt(nk_tcp_client_fd(receiver), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
}

/* Fletcher-style checksum: position sensitive. */
static uint64_t checksum(const unsigned char *p, size_t n)
{
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        a += p[i];
        b += a;
    }
    return a ^ (b << 1);
}

/* Queues buf (len bytes) on c in chunks; the peer reads nothing, so with
 * small buffers most of it stays queued. Returns how much is queued. */
static ssize_t queue_all(nk_tcp_client *c, const unsigned char *buf, size_t len)
{
    tu_assert_code(nk_tcp_client_set_queue_limit(c, len), 0);
    for (size_t off = 0; off < len; off += 8192) {
        size_t n = len - off < 8192 ? len - off : 8192;
        tu_assert_code(nk_tcp_client_queue(c, buf + off, n), 0);
    }
    ssize_t q = nk_tcp_client_queued(c);
    ck_assert_msg(q > 0, "the socket took all %zu bytes: nothing queued", len);
    return q;
}

/* Reads expect bytes from a client in a thread (blocking, with a timeout). */
typedef struct reader {
    nk_tcp_client *c;
    unsigned char *buf;
    size_t expect;
    size_t total;
    ssize_t last;
    pthread_t th;
} reader;

static void *reader_main(void *arg)
{
    reader *r = arg;
    while (r->total < r->expect) {
        size_t want = r->expect - r->total < 4096 ? r->expect - r->total : 4096;
        ssize_t n = nk_tcp_client_recv(r->c, r->buf + r->total, want);
        r->last = n;
        if (n <= 0)
            break;
        r->total += (size_t)n;
    }
    return NULL;
}

/* ---- a thread that acts on a select and rescues it ------------------------ */

enum { ACT_NONE, ACT_WAKEUP, ACT_SIGNAL, ACT_SEND };

/* Waits until the test thread (tid) sleeps in the kernel, performs its action
 * (wakeup, pthread_kill SIGUSR1, a send on c), then waits for done_rd to
 * become readable (the test thread's select returned); if it does not in time
 * it writes to rescue_wr, a pipe registered with the selector. */
typedef struct actor {
    nk_selector *sel;
    int action;
    long delay_ms; /* before the action, after the test thread sleeps */
    pid_t tid;
    pthread_t target;
    nk_tcp_client *c; /* ACT_SEND */
    int done_rd, rescue_wr;
    long long t_action;
    int rc;
    int rescued;
    pthread_t th;
} actor;

/* 'S' (sleeping) from /proc/self/task/<tid>/stat, or 0. */
static char task_state(pid_t tid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char *p = strrchr(text, ')');
    if (p == NULL || p[1] != ' ')
        return 0;
    return p[2];
}

static void *actor_main(void *arg)
{
    actor *a = arg;
    /* bounded: about 2 s, then act anyway */
    for (int i = 0; i < 2000 && task_state(a->tid) != 'S'; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    tu_sleep_ms(a->delay_ms);
    a->t_action = now_ns();
    switch (a->action) {
    case ACT_WAKEUP:
        a->rc = nk_selector_wakeup(a->sel);
        break;
    case ACT_SIGNAL:
        a->rc = pthread_kill(a->target, SIGUSR1);
        break;
    case ACT_SEND:
        a->rc = (int)nk_tcp_client_send(a->c, "!", 1);
        break;
    default:
        break;
    }
    if (wait_fd(a->done_rd, POLLIN, TU_SLACK(3000)) == 0) {
        a->rescued = 1;
        ssize_t w = write(a->rescue_wr, "r", 1);
        (void)w;
    }
    return NULL;
}

/* The pipes of an actor: done (test thread -> actor), rescue (actor -> select). */
typedef struct rescue {
    int done[2];
    int pipe[2];
} rescue;

static void actor_start(actor *a, rescue *r, nk_selector *sel, int action, long delay_ms)
{
    ck_assert_int_eq(pipe2(r->done, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(r->pipe, O_CLOEXEC), 0);
    tu_assert_code(nk_selector_register_fd(sel, r->pipe[0], NK_EVENT_READ, r), 0);
    a->sel = sel;
    a->action = action;
    a->delay_ms = delay_ms;
    a->tid = (pid_t)syscall(SYS_gettid);
    a->target = pthread_self();
    a->done_rd = r->done[0];
    a->rescue_wr = r->pipe[1];
    tu_spawn(&a->th, actor_main, a);
}

/* Tells the actor that select returned, joins it, frees the pipes. */
static void actor_finish(actor *a, rescue *r, nk_selector *sel)
{
    ck_assert_int_eq(write(r->done[1], "d", 1), 1);
    ck_assert_msg(tu_join_within(a->th, TU_SLACK(5000)) == 0, "actor thread did not finish");
    tu_assert_code(nk_selector_unregister(sel, r->pipe[0]), 0);
    for (int i = 0; i < 2; i++) {
        close(r->done[i]);
        close(r->pipe[i]);
    }
}

/* ------------------------------------------------------------------------ */
/* open, close, arguments                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_selector_open_close_backend_name_count)
{
    int before = tu_count_fds();
    nk_selector *sel = sel_open(_i);
    ck_assert_int_eq(nk_selector_count(sel), 0);
    /* epoll: the epoll fd and the eventfd; poll: the eventfd */
    ck_assert_int_eq(tu_count_fds(), before + (backends[_i] == NK_SELECTOR_EPOLL ? 2 : 1));
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    tu_assert_code(nk_selector_register_fd(sel, p[0], NK_EVENT_READ, NULL), 0);
    ck_assert_int_eq(nk_selector_count(sel), 1);
    tu_assert_code(nk_selector_register_fd(sel, p[1], NK_EVENT_WRITE, NULL), 0);
    ck_assert_int_eq(nk_selector_count(sel), 2);
    tu_assert_code(nk_selector_unregister(sel, p[0]), 0);
    ck_assert_int_eq(nk_selector_count(sel), 1);
    nk_selector_close(sel);
    close(p[0]);
    close(p[1]);
    ck_assert_int_eq(tu_count_fds(), before);
    nk_selector_close(NULL); /* a no-op */

    /* defaults: NULL opts and all-zero opts are epoll on Linux */
    nk_selector_opts zero = {0};
    tu_assert_code(nk_selector_open(&sel, NULL), 0);
    ck_assert_str_eq(nk_selector_backend(sel), "epoll");
    nk_selector_close(sel);
    tu_assert_code(nk_selector_open(&sel, &zero), 0);
    ck_assert_str_eq(nk_selector_backend(sel), "epoll");
    nk_selector_close(sel);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_selector_open_bad_args_usage_codes)
{
    int before = tu_count_fds();
    tu_assert_code(nk_selector_open(NULL, NULL), NK_ENULL);
    const int bad[] = {-1, 3, 99};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        nk_selector_opts o = {.backend = bad[k]};
        nk_selector *sel = (nk_selector *)&o; /* must be overwritten with NULL */
        tu_assert_code(nk_selector_open(&sel, &o), NK_EINVAL);
        ck_assert_ptr_null(sel);
    }
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_selector_bad_arguments_usage_codes)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    nk_udp_endpoint *u = NULL;
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", 0), 0);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    nk_event ev[4];
    int events = 0;
    void *data = NULL;

    /* NULL selector */
    tu_assert_code(nk_selector_register_fd(NULL, p[0], NK_EVENT_READ, NULL), NK_ENULL);
    tu_assert_code(nk_selector_register_client(NULL, c.cli, NK_EVENT_READ, NULL), NK_ENULL);
    tu_assert_code(nk_selector_register_server(NULL, s, NK_EVENT_READ, NULL), NK_ENULL);
    tu_assert_code(nk_selector_register_udp(NULL, u, NK_EVENT_READ, NULL), NK_ENULL);
    tu_assert_code(nk_selector_modify(NULL, p[0], NK_EVENT_READ, NULL), NK_ENULL);
    tu_assert_code(nk_selector_unregister(NULL, p[0]), NK_ENULL);
    tu_assert_code(nk_selector_get(NULL, p[0], &events, &data), NK_ENULL);
    tu_assert_code(nk_selector_count(NULL), NK_ENULL);
    tu_assert_code(nk_selector_select(NULL, ev, 4, 0), NK_ENULL);
    tu_assert_code(nk_selector_wakeup(NULL), NK_ENULL);
    ck_assert_ptr_null(nk_selector_backend(NULL));

    /* a handle that is not a selector (a client's memory) */
    nk_selector *bad = (nk_selector *)c.peer;
    tu_assert_code(nk_selector_register_fd(bad, p[0], NK_EVENT_READ, NULL), NK_EHANDLE);
    tu_assert_code(nk_selector_register_client(bad, c.cli, NK_EVENT_READ, NULL), NK_EHANDLE);
    tu_assert_code(nk_selector_register_server(bad, s, NK_EVENT_READ, NULL), NK_EHANDLE);
    tu_assert_code(nk_selector_register_udp(bad, u, NK_EVENT_READ, NULL), NK_EHANDLE);
    tu_assert_code(nk_selector_modify(bad, p[0], NK_EVENT_READ, NULL), NK_EHANDLE);
    tu_assert_code(nk_selector_unregister(bad, p[0]), NK_EHANDLE);
    tu_assert_code(nk_selector_get(bad, p[0], &events, &data), NK_EHANDLE);
    tu_assert_code(nk_selector_count(bad), NK_EHANDLE);
    tu_assert_code(nk_selector_select(bad, ev, 4, 0), NK_EHANDLE);
    tu_assert_code(nk_selector_wakeup(bad), NK_EHANDLE);
    ck_assert_ptr_null(nk_selector_backend(bad));

    /* NULL or foreign objects */
    tu_assert_code(nk_selector_register_client(sel, NULL, NK_EVENT_READ, NULL), NK_ENULL);
    tu_assert_code(nk_selector_register_server(sel, NULL, NK_EVENT_READ, NULL), NK_ENULL);
    tu_assert_code(nk_selector_register_udp(sel, NULL, NK_EVENT_READ, NULL), NK_ENULL);
    tu_assert_code(nk_selector_register_client(sel, (nk_tcp_client *)u, NK_EVENT_READ, NULL),
                   NK_EHANDLE);
    tu_assert_code(nk_selector_register_server(sel, (nk_tcp_server *)c.cli, NK_EVENT_READ, NULL),
                   NK_EHANDLE);
    tu_assert_code(nk_selector_register_udp(sel, (nk_udp_endpoint *)s, NK_EVENT_READ, NULL),
                   NK_EHANDLE);

    /* events 0 or unknown bits, fd -1 */
    const int bad_events[] = {0, 4, 8, NK_EVENT_READ | 4, -1};
    for (size_t k = 0; k < sizeof bad_events / sizeof bad_events[0]; k++) {
        int e = bad_events[k];
        tu_assert_code(nk_selector_register_fd(sel, p[0], e, NULL), NK_EINVAL);
        tu_assert_code(nk_selector_register_client(sel, c.cli, e, NULL), NK_EINVAL);
        tu_assert_code(nk_selector_register_server(sel, s, e, NULL), NK_EINVAL);
        tu_assert_code(nk_selector_register_udp(sel, u, e, NULL), NK_EINVAL);
    }
    tu_assert_code(nk_selector_register_fd(sel, -1, NK_EVENT_READ, NULL), NK_EINVAL);
    tu_assert_code(nk_selector_modify(sel, -1, NK_EVENT_READ, NULL), NK_EINVAL);
    tu_assert_code(nk_selector_unregister(sel, -1), NK_EINVAL);
    tu_assert_code(nk_selector_get(sel, -1, &events, &data), NK_EINVAL);
    ck_assert_int_eq(nk_selector_count(sel), 0);

    /* modify with bad events on a registered fd changes nothing */
    int tag;
    tu_assert_code(nk_selector_register_fd(sel, p[0], NK_EVENT_READ, &tag), 0);
    tu_assert_code(nk_selector_modify(sel, p[0], 0, NULL), NK_EINVAL);
    tu_assert_code(nk_selector_modify(sel, p[0], 4, NULL), NK_EINVAL);
    tu_assert_code(nk_selector_get(sel, p[0], &events, &data), 0);
    ck_assert_int_eq(events, NK_EVENT_READ);
    ck_assert_ptr_eq(data, &tag);

    /* select: NULL array, max 0 or negative, timeout below NK_BLOCK */
    tu_assert_code(nk_selector_select(sel, NULL, 4, 0), NK_ENULL);
    tu_assert_code(nk_selector_select(sel, ev, 0, 0), NK_EINVAL);
    tu_assert_code(nk_selector_select(sel, ev, -1, 0), NK_EINVAL);
    tu_assert_code(nk_selector_select(sel, ev, 4, -2), NK_EINVAL);
    tu_assert_code(nk_selector_select(sel, ev, 4, -1000), NK_EINVAL);

    /* an fd that is not open: -EBADF, nothing registered */
    int closed_fd = dup(p[1]);
    ck_assert_int_ge(closed_fd, 0);
    close(closed_fd);
    tu_assert_code(nk_selector_register_fd(sel, closed_fd, NK_EVENT_READ, NULL), -EBADF);
    ck_assert_int_eq(nk_selector_count(sel), 1);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);

    tu_assert_code(nk_selector_unregister(sel, p[0]), 0);
    ck_assert_int_eq(nk_selector_count(sel), 0);
    nk_selector_close(sel);
    close(p[0]);
    close(p[1]);
    nk_udp_close(u);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_selector_regular_file_eperm_on_epoll_ready_on_poll)
{
    nk_selector *sel = sel_open(_i);
    char path[] = "/tmp/nk-selector-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    int rc = nk_selector_register_fd(sel, fd, NK_EVENT_READ, NULL);
    if (backends[_i] == NK_SELECTOR_EPOLL) {
        tu_assert_code(rc, -EPERM);
        ck_assert_int_eq(nk_selector_count(sel), 0);
    } else {
        /* poll(2): regular files are always ready */
        nk_event ev[2]; /* unregistered below, while it is still in scope */
        tu_assert_code(rc, 0);
        ck_assert_int_eq(nk_selector_select(sel, ev, 2, 0), 1);
        ck_assert_int_eq(ev[0].fd, fd);
        ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
        tu_assert_code(nk_selector_unregister(sel, fd), 0);
    }
    nk_selector_close(sel);
    close(fd);
}
END_TEST

START_TEST(test_selector_double_registration_eexist)
{
    nk_selector *sel = sel_open(_i);
    nk_selector *other = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    nk_udp_endpoint *u = NULL;
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", 0), 0);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    int a, b;
    int events = 0;
    void *data = NULL;

    /* a plain fd twice: the first registration stands */
    tu_assert_code(nk_selector_register_fd(sel, p[0], NK_EVENT_READ, &a), 0);
    tu_assert_code(nk_selector_register_fd(sel, p[0], NK_EVENT_WRITE, &b), -EEXIST);
    ck_assert_str_eq(nk_strerror(-EEXIST), "[Errno 17] File exists");
    tu_assert_code(nk_selector_get(sel, p[0], &events, &data), 0);
    ck_assert_int_eq(events, NK_EVENT_READ);
    ck_assert_ptr_eq(data, &a);
    ck_assert_int_eq(nk_selector_count(sel), 1);

    /* objects twice, also by their fd and with another selector */
    int cfd = nk_tcp_client_fd(c.cli);
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &a), 0);
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &b), -EEXIST);
    tu_assert_code(nk_selector_register_fd(sel, cfd, NK_EVENT_READ, &b), -EEXIST);
    tu_assert_code(nk_selector_register_client(other, c.cli, NK_EVENT_READ, &b), -EEXIST);
    tu_assert_code(nk_selector_register_server(sel, s, NK_EVENT_READ, &a), 0);
    tu_assert_code(nk_selector_register_server(sel, s, NK_EVENT_READ, &b), -EEXIST);
    tu_assert_code(nk_selector_register_server(other, s, NK_EVENT_READ, &b), -EEXIST);
    tu_assert_code(nk_selector_register_udp(sel, u, NK_EVENT_READ, &a), 0);
    tu_assert_code(nk_selector_register_udp(sel, u, NK_EVENT_READ, &b), -EEXIST);
    tu_assert_code(nk_selector_register_udp(other, u, NK_EVENT_READ, &b), -EEXIST);
    ck_assert_int_eq(nk_selector_count(sel), 4);
    ck_assert_int_eq(nk_selector_count(other), 0);
    tu_assert_code(nk_selector_get(sel, cfd, &events, &data), 0);
    ck_assert_ptr_eq(data, &a);

    /* an object whose fd is registered as a plain fd: -EEXIST, and the
     * failed attempt leaves the object unregistered */
    int pfd = nk_tcp_client_fd(c.peer);
    tu_assert_code(nk_selector_register_fd(sel, pfd, NK_EVENT_READ, &a), 0);
    tu_assert_code(nk_selector_register_client(sel, c.peer, NK_EVENT_READ, &b), -EEXIST);
    tu_assert_code(nk_selector_unregister(sel, pfd), 0);
    tu_assert_code(nk_selector_register_client(other, c.peer, NK_EVENT_READ, &b), 0);
    ck_assert_int_eq(nk_selector_count(other), 1);

    /* unregistered, an object may go to another selector */
    tu_assert_code(nk_selector_unregister(sel, cfd), 0);
    tu_assert_code(nk_selector_register_client(other, c.cli, NK_EVENT_READ, &b), 0);
    ck_assert_int_eq(nk_selector_count(sel), 3);
    ck_assert_int_eq(nk_selector_count(other), 2);

    nk_selector_close(other);
    nk_selector_close(sel);
    close(p[0]);
    close(p[1]);
    nk_udp_close(u);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_selector_unknown_fd_enoent)
{
    nk_selector *sel = sel_open(_i);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    int events = 0;
    void *data = NULL;
    /* an open fd never registered, one beyond the table, one unregistered */
    const int fds[] = {p[0], 100000, p[1]};
    tu_assert_code(nk_selector_register_fd(sel, p[1], NK_EVENT_WRITE, NULL), 0);
    tu_assert_code(nk_selector_unregister(sel, p[1]), 0);
    for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++) {
        tu_assert_code(nk_selector_modify(sel, fds[k], NK_EVENT_READ, NULL), -ENOENT);
        tu_assert_code(nk_selector_unregister(sel, fds[k]), -ENOENT);
        tu_assert_code(nk_selector_get(sel, fds[k], &events, &data), -ENOENT);
        tu_assert_code(nk_selector_get(sel, fds[k], NULL, NULL), -ENOENT);
    }
    ck_assert_str_eq(nk_strerror(-ENOENT), "[Errno 2] No such file or directory");
    ck_assert_int_eq(nk_selector_count(sel), 0);
    nk_selector_close(sel);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* level-triggered readiness, modify, get                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_selector_level_triggered_unread_bytes_reported_again)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    int fd = nk_tcp_client_fd(c.cli);
    int tag;
    nk_event ev[4];
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &tag), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);

    tu_assert_code(nk_tcp_client_sendall(c.peer, "abc", 3, NULL), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, (int)TU_SLACK(2000)), 1);
    ck_assert_int_eq(ev[0].fd, fd);
    ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
    ck_assert_ptr_eq(ev[0].data, &tag);
    /* not read: reported again, by every select */
    for (int k = 0; k < 3; k++) {
        memset(ev, 0, sizeof ev);
        ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
        ck_assert_int_eq(ev[0].fd, fd);
        ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
        ck_assert_ptr_eq(ev[0].data, &tag);
    }
    /* read one byte of three: still reported */
    char buf[4];
    ck_assert_int_eq(nk_tcp_client_recv(c.cli, buf, 1), 1);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
    ck_assert_int_eq(nk_tcp_client_recv_exact(c.cli, buf, 2), 2);
    ck_assert_mem_eq(buf, "bc", 2);
    /* all read: no longer reported */
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 50), 0);

    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_selector_write_interest_reported_on_connected_socket)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    int tag;
    nk_event ev[4];
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_WRITE, &tag), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, (int)TU_SLACK(2000)), 1);
    ck_assert_int_eq(ev[0].fd, nk_tcp_client_fd(c.cli));
    ck_assert_int_eq(ev[0].events, NK_EVENT_WRITE);
    ck_assert_ptr_eq(ev[0].data, &tag);
    /* level-triggered: still writable, still reported */
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
    ck_assert_int_eq(ev[0].events, NK_EVENT_WRITE);
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_selector_modify_read_write_changes_reports_get_returns_interest_data)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    int fd = nk_tcp_client_fd(c.cli);
    int a, b, d, e;
    int events = 0;
    void *data = NULL;
    nk_event ev[4];

    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &a), 0);
    tu_assert_code(nk_selector_get(sel, fd, &events, &data), 0);
    ck_assert_int_eq(events, NK_EVENT_READ);
    ck_assert_ptr_eq(data, &a);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0); /* nothing to read */

    /* READ -> WRITE: writable now */
    tu_assert_code(nk_selector_modify(sel, fd, NK_EVENT_WRITE, &b), 0);
    tu_assert_code(nk_selector_get(sel, fd, &events, NULL), 0);
    ck_assert_int_eq(events, NK_EVENT_WRITE);
    tu_assert_code(nk_selector_get(sel, fd, NULL, &data), 0);
    ck_assert_ptr_eq(data, &b);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, (int)TU_SLACK(2000)), 1);
    ck_assert_int_eq(ev[0].events, NK_EVENT_WRITE);
    ck_assert_ptr_eq(ev[0].data, &b);

    /* bytes arrive while only WRITE is asked: READ is not reported */
    tu_assert_code(nk_tcp_client_sendall(c.peer, "z", 1, NULL), 0);
    ck_assert(wait_fd(fd, POLLIN, TU_SLACK(2000)) & POLLIN);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
    ck_assert_int_eq(ev[0].events, NK_EVENT_WRITE);

    /* WRITE -> READ: the byte is reported, writability is not */
    tu_assert_code(nk_selector_modify(sel, fd, NK_EVENT_READ, &d), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
    ck_assert_int_eq(ev[0].fd, fd);
    ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
    ck_assert_ptr_eq(ev[0].data, &d);

    /* both */
    tu_assert_code(nk_selector_modify(sel, fd, NK_EVENT_READ | NK_EVENT_WRITE, &e), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
    ck_assert_int_eq(ev[0].events, NK_EVENT_READ | NK_EVENT_WRITE);
    ck_assert_ptr_eq(ev[0].data, &e);
    tu_assert_code(nk_selector_get(sel, fd, &events, &data), 0);
    ck_assert_int_eq(events, NK_EVENT_READ | NK_EVENT_WRITE);
    ck_assert_ptr_eq(data, &e);

    /* back to READ, byte consumed: nothing */
    tu_assert_code(nk_selector_modify(sel, fd, NK_EVENT_READ, NULL), 0);
    char ch;
    ck_assert_int_eq(nk_tcp_client_recv(c.cli, &ch, 1), 1);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
    tu_assert_code(nk_selector_get(sel, fd, &events, &data), 0);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(nk_selector_count(sel), 1);

    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

/* recv_line read several lines in one go: the socket has nothing left but
 * the client's buffer has; select reports it until a call consumed them. */
START_TEST(test_selector_recv_line_readahead_reported_until_consumed)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    int fd = nk_tcp_client_fd(c.cli);
    int tag;
    nk_event ev[4];
    char line[64];
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &tag), 0);
    const char *msg = "one\ntwo\nthree\n";
    tu_assert_code(nk_tcp_client_sendall(c.peer, msg, strlen(msg), NULL), 0);
    ck_assert_int_eq(select_for(sel, fd).events, NK_EVENT_READ);
    ck_assert_int_eq(nk_tcp_client_recv_line(c.cli, line, sizeof line), 4);
    ck_assert_str_eq(line, "one\n");
    ck_assert_int_eq(wait_fd(fd, POLLIN, 0), 0); /* the kernel has nothing left */
    const char *rest[] = {"two\n", "three\n"};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
        ck_assert_int_eq(ev[0].fd, fd);
        ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
        ck_assert_ptr_eq(ev[0].data, &tag);
        ck_assert_int_eq(nk_tcp_client_recv_line(c.cli, line, sizeof line), strlen(rest[k]));
        ck_assert_str_eq(line, rest[k]);
    }
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 30), 0);
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

/* Lines read ahead before the client was registered are reported too. */
START_TEST(test_selector_readahead_before_register_reported)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    int fd = nk_tcp_client_fd(c.cli);
    char line[64];
    const char *msg = "hello\nworld\n";
    tu_assert_code(nk_tcp_client_sendall(c.peer, msg, strlen(msg), NULL), 0);
    ck_assert(wait_fd(fd, POLLIN, TU_SLACK(2000)) & POLLIN);
    ck_assert_int_eq(nk_tcp_client_recv_line(c.cli, line, sizeof line), 6);
    ck_assert_str_eq(line, "hello\n");
    ck_assert_int_eq(wait_fd(fd, POLLIN, 0), 0);
    int tag;
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &tag), 0);
    nk_event ev[4];
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
    ck_assert_int_eq(ev[0].fd, fd);
    ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
    ck_assert_int_eq(nk_tcp_client_recv_line(c.cli, line, sizeof line), 6);
    ck_assert_str_eq(line, "world\n");
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

/* A client with lines read ahead whose caller asks for WRITE only (reading
 * paused) on a full socket: select waits without spinning. */
START_TEST(test_selector_readahead_without_read_interest_does_not_spin)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    int fd = nk_tcp_client_fd(c.cli);
    small_buffers(c.cli, c.peer);
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, NULL), 0);
    tu_assert_code(nk_tcp_client_sendall(c.peer, "a\nb\n", 4, NULL), 0);
    ck_assert_int_eq(select_for(sel, fd).events, NK_EVENT_READ);
    char line[16];
    ck_assert_int_eq(nk_tcp_client_recv_line(c.cli, line, sizeof line), 2);
    /* fill the socket until it stays unwritable: the peer reads nothing */
    tu_assert_code(nk_tcp_client_settimeout(c.cli, NK_NONBLOCK), 0);
    static char chunk[8192];
    int full = 0;
    for (int round = 0; round < 100 && !full; round++) {
        ssize_t rc = 0;
        for (int k = 0; k < 10000 && rc >= 0; k++)
            rc = nk_tcp_client_send(c.cli, chunk, sizeof chunk);
        tu_assert_code(rc, -EAGAIN);
        full = wait_fd(fd, POLLOUT, 100) == 0;
    }
    ck_assert_msg(full, "the socket never stayed full");
    tu_assert_code(nk_selector_modify(sel, fd, NK_EVENT_WRITE, NULL), 0);
    nk_event ev[4];
    long long c0 = cpu_ns(), t0 = now_ns();
    int n = nk_selector_select(sel, ev, 4, 200);
    long long cpu = cpu_ns() - c0, el = now_ns() - t0;
    ck_assert_int_eq(n, 0);
    ck_assert_int_ge(MS(el), 200);
    ck_assert_msg(MS(cpu) < 60, "select(200) used %lld ms of CPU: it spun", MS(cpu));
    /* READ again: the buffered line is reported at once */
    tu_assert_code(nk_selector_modify(sel, fd, NK_EVENT_READ, NULL), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
    ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
    ck_assert_int_eq(nk_tcp_client_recv_line(c.cli, line, sizeof line), 2);
    ck_assert_str_eq(line, "b\n");
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

/* More ready fds than max: each select stores at most max, and successive
 * selects report every fd in turn (none starves); select allocates nothing. */
START_TEST(test_selector_more_ready_than_max_reported_in_turn_no_allocation)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    enum { N = 3 };
    conn c[N];
    int tags[N];
    for (int k = 0; k < N; k++) {
        conn_open(&c[k], s);
        tu_assert_code(nk_selector_register_client(sel, c[k].cli, NK_EVENT_READ, &tags[k]), 0);
        tu_assert_code(nk_tcp_client_sendall(c[k].peer, "x", 1, NULL), 0);
    }
    for (int k = 0; k < N; k++)
        ck_assert(wait_fd(nk_tcp_client_fd(c[k].cli), POLLIN, TU_SLACK(2000)) & POLLIN);
    nk_event ev[N];
    ck_assert_int_eq(nk_selector_select(sel, ev, N, 0), N); /* warm-up, all of them */
    size_t mem_before = mallinfo2().uordblks;
    int seen[N] = {0};
    for (int round = 0; round < 3 * N; round++) {
        ck_assert_int_eq(nk_selector_select(sel, ev, 1, 0), 1);
        seen[(int *)ev[0].data - tags]++;
    }
    for (int k = 0; k < N; k++)
        ck_assert_msg(seen[k] == 3, "client %d reported %d times in %d selects of max 1", k,
                      seen[k], 3 * N);
    for (int round = 0; round < 100; round++)
        ck_assert_int_eq(nk_selector_select(sel, ev, N, 0), N);
    ck_assert_uint_eq(mallinfo2().uordblks, mem_before);
    nk_selector_close(sel);
    for (int k = 0; k < N; k++)
        conn_close(&c[k]);
    nk_tcp_server_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* unregister and close while walking the events                            */
/* ------------------------------------------------------------------------ */

/* Two clients ready in one select; handling the first, the other is
 * unregistered (close_it 0) or closed (1): its event has events 0, data NULL. */
static void unregister_during_iteration(int i, int close_it)
{
    nk_selector *sel = sel_open(i);
    nk_tcp_server *s = server_open();
    conn c[2];
    int tags[2];
    for (int k = 0; k < 2; k++) {
        conn_open(&c[k], s);
        tu_assert_code(nk_selector_register_client(sel, c[k].cli, NK_EVENT_READ, &tags[k]), 0);
        tu_assert_code(nk_tcp_client_sendall(c[k].peer, "x", 1, NULL), 0);
    }
    for (int k = 0; k < 2; k++)
        ck_assert(wait_fd(nk_tcp_client_fd(c[k].cli), POLLIN, TU_SLACK(2000)) & POLLIN);
    int sentinel;
    nk_event ev[8];
    for (int k = 0; k < 8; k++)
        ev[k] = (nk_event){-7, 99, &sentinel};
    int n = nk_selector_select(sel, ev, 8, 0);
    ck_assert_int_eq(n, 2);
    int first = ev[0].data == &tags[0] ? 0 : 1;
    int other = 1 - first;
    ck_assert_ptr_eq(ev[0].data, &tags[first]);
    ck_assert_ptr_eq(ev[1].data, &tags[other]);
    int other_fd = nk_tcp_client_fd(c[other].cli);
    ck_assert_int_eq(ev[1].fd, other_fd);

    int handled = 0;
    for (int k = 0; k < n; k++) {
        if (ev[k].events == 0)
            continue; /* unregistered by an earlier handler */
        handled++;
        conn *mine = &c[(int *)ev[k].data - tags];
        char ch;
        ck_assert_int_eq(nk_tcp_client_recv(mine->cli, &ch, 1), 1);
        if (k == 0) {
            if (close_it) {
                nk_tcp_client_close(c[other].cli);
                c[other].cli = NULL;
            } else {
                tu_assert_code(nk_selector_unregister(sel, other_fd), 0);
            }
            ck_assert_int_eq(ev[1].events, 0);
            ck_assert_ptr_null(ev[1].data);
            /* the handled event and the rest of the array are untouched */
            ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
            ck_assert_ptr_eq(ev[0].data, &tags[first]);
            for (int j = 2; j < 8; j++) {
                ck_assert_int_eq(ev[j].fd, -7);
                ck_assert_int_eq(ev[j].events, 99);
                ck_assert_ptr_eq(ev[j].data, &sentinel);
            }
        }
    }
    ck_assert_int_eq(handled, 1);
    ck_assert_int_eq(nk_selector_count(sel), 1);
    /* the other one is really gone: its unread byte is not reported */
    ck_assert_int_eq(nk_selector_select(sel, ev, 8, 0), 0);
    nk_selector_close(sel);
    for (int k = 0; k < 2; k++)
        conn_close(&c[k]);
    nk_tcp_server_close(s);
}

START_TEST(test_selector_unregister_during_iteration_scrubs_event)
{
    unregister_during_iteration(_i, 0);
}
END_TEST

START_TEST(test_selector_client_close_during_iteration_scrubs_event)
{
    unregister_during_iteration(_i, 1);
}
END_TEST

/* Closing a registered object unregisters it: the count drops, and a new fd
 * with the same number registers without -EEXIST. */
START_TEST(test_selector_closing_objects_unregisters_them)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    nk_tcp_server *s2 = server_open();
    conn c;
    conn_open(&c, s);
    nk_udp_endpoint *u = NULL;
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", 0), 0);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    int tag;
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &tag), 0);
    tu_assert_code(nk_selector_register_server(sel, s2, NK_EVENT_READ, &tag), 0);
    tu_assert_code(nk_selector_register_udp(sel, u, NK_EVENT_READ, &tag), 0);
    ck_assert_int_eq(nk_selector_count(sel), 3);
    int fds[3] = {nk_tcp_client_fd(c.cli), nk_tcp_server_fd(s2), nk_udp_fd(u)};
    nk_event ev[4];

    for (int k = 0; k < 3; k++) {
        if (k == 0)
            nk_tcp_client_close(c.cli);
        else if (k == 1)
            nk_tcp_server_close(s2);
        else
            nk_udp_close(u);
        ck_assert_int_eq(nk_selector_count(sel), 2 - k);
        tu_assert_code(nk_selector_get(sel, fds[k], NULL, NULL), -ENOENT);
        /* a new open file under the same fd number */
        ck_assert_int_eq(dup2(p[0], fds[k]), fds[k]);
        tu_assert_code(nk_selector_register_fd(sel, fds[k], NK_EVENT_READ, NULL), 0);
        ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
        tu_assert_code(nk_selector_unregister(sel, fds[k]), 0);
        close(fds[k]);
    }
    ck_assert_int_eq(nk_selector_count(sel), 0);
    nk_selector_close(sel);
    close(p[0]);
    close(p[1]);
    nk_tcp_client_close(c.peer);
    nk_tcp_server_close(s);
}
END_TEST

/* A serve handler registers its client, then closes it (serve keeps the
 * handle): the close unregisters, and the closed handle cannot register. */
typedef struct served_rec {
    nk_selector *sel;
    int reg, count_registered, count_closed, reg_closed;
} served_rec;

static void served_handler(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    (void)peer;
    served_rec *r = arg;
    r->reg = nk_selector_register_client(r->sel, c, NK_EVENT_READ, NULL);
    r->count_registered = nk_selector_count(r->sel);
    nk_tcp_client_close(c);
    r->count_closed = nk_selector_count(r->sel);
    r->reg_closed = nk_selector_register_client(r->sel, c, NK_EVENT_READ, NULL);
}

START_TEST(test_selector_served_client_close_unregisters_closed_handle_eclosed)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    nk_tcp_client *c = NULL;
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", nk_tcp_server_port(s), (int)TU_SLACK(5000)), 0);
    served_rec r = {.sel = sel};
    nk_serve_opts o = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = 1};
    tu_assert_code(nk_tcp_server_serve(s, served_handler, &r, &o), 0);
    tu_assert_code(r.reg, 0);
    ck_assert_int_eq(r.count_registered, 1);
    ck_assert_int_eq(r.count_closed, 0);
    tu_assert_code(r.reg_closed, NK_ECLOSED);
    ck_assert_int_eq(nk_selector_count(sel), 0);
    nk_tcp_client_close(c);
    nk_selector_close(sel);
    nk_tcp_server_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* nk_selector_close                                                        */
/* ------------------------------------------------------------------------ */

START_TEST(test_selector_close_leaves_objects_usable_and_reregistrable)
{
    int before = tu_count_fds();
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c, c2;
    conn_open(&c, s);
    conn_open(&c2, s);
    nk_udp_endpoint *u = NULL, *sender = NULL;
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", 0), 0);
    tu_assert_code(nk_udp_open(&sender, "127.0.0.1", 0), 0);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    int tc, ts, tu, tp;
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &tc), 0);
    tu_assert_code(nk_selector_register_client(sel, c2.cli, NK_EVENT_READ, &tc), 0);
    tu_assert_code(nk_selector_register_server(sel, s, NK_EVENT_READ, &ts), 0);
    tu_assert_code(nk_selector_register_udp(sel, u, NK_EVENT_READ, &tu), 0);
    tu_assert_code(nk_selector_register_fd(sel, p[0], NK_EVENT_READ, &tp), 0);
    int open_fds = tu_count_fds();
    nk_selector_close(sel);
    /* only the selector's own fds went */
    ck_assert_int_eq(tu_count_fds(), open_fds - (backends[_i] == NK_SELECTOR_EPOLL ? 2 : 1));
    /* an object registered with the closed selector closes cleanly */
    conn_close(&c2);

    /* the objects work */
    char buf[16];
    tu_assert_code(nk_tcp_client_sendall(c.cli, "up", 2, NULL), 0);
    ck_assert_int_eq(nk_tcp_client_recv_exact(c.peer, buf, 2), 2);
    ck_assert_mem_eq(buf, "up", 2);
    ck_assert_int_eq(nk_udp_sendto(sender, "dg", 2, "127.0.0.1", nk_udp_port(u)), 2);
    tu_assert_code(nk_udp_settimeout(u, (int)TU_SLACK(2000)), 0);
    ck_assert_int_eq(nk_udp_recv(u, buf, sizeof buf), 2);
    conn c3;
    conn_open(&c3, s);

    /* ... and register with a new selector, which reports them */
    sel = sel_open(_i);
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &tc), 0);
    tu_assert_code(nk_selector_register_server(sel, s, NK_EVENT_READ, &ts), 0);
    tu_assert_code(nk_selector_register_udp(sel, u, NK_EVENT_READ, &tu), 0);
    tu_assert_code(nk_selector_register_fd(sel, p[0], NK_EVENT_READ, &tp), 0);
    ck_assert_int_eq(nk_selector_count(sel), 4);
    tu_assert_code(nk_tcp_client_sendall(c.peer, "r", 1, NULL), 0);
    ck_assert_int_eq(nk_udp_sendto(sender, "d", 1, "127.0.0.1", nk_udp_port(u)), 1);
    ck_assert_int_eq(write(p[1], "p", 1), 1);
    nk_tcp_client *pending = NULL;
    tu_assert_code(nk_tcp_connect(&pending, "127.0.0.1", nk_tcp_server_port(s), 2000), 0);
    int seen = 0;
    nk_event ev[8]; /* outlives the loop: the closes below clear its entries */
    long long end = tu_now_ms() + TU_SLACK(2000);
    for (int round = 0; round < 100 && seen != 15 && tu_now_ms() < end; round++) {
        int n = nk_selector_select(sel, ev, 8, 100);
        ck_assert_int_ge(n, 0);
        for (int k = 0; k < n; k++) {
            ck_assert_int_eq(ev[k].events, NK_EVENT_READ);
            seen |= ev[k].data == &tc ? 1 : ev[k].data == &ts ? 2 : ev[k].data == &tu ? 4 : 8;
        }
    }
    ck_assert_int_eq(seen, 15);

    nk_tcp_client_close(pending);
    conn_close(&c3);
    conn_close(&c);
    nk_udp_close(u);
    nk_tcp_server_close(s);
    ck_assert_int_eq(nk_selector_count(sel), 1); /* the plain fd */
    nk_selector_close(sel);
    nk_udp_close(sender);
    close(p[0]);
    close(p[1]);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* wakeup, signals, timeouts                                                */
/* ------------------------------------------------------------------------ */

/* select(NK_BLOCK) is running (the test thread sleeps) when action comes. */
static void blocked_select_returns_after(int i, int action)
{
    nk_selector *sel = sel_open(i);
    rescue r;
    actor a;
    memset(&a, 0, sizeof a);
    actor_start(&a, &r, sel, action, 20);
    nk_event ev[4];
    int n = nk_selector_select(sel, ev, 4, NK_BLOCK);
    long long t1 = now_ns();
    actor_finish(&a, &r, sel);
    ck_assert_msg(!a.rescued, "select(NK_BLOCK) did not return after the wakeup");
    tu_assert_code(a.rc, 0);
    ck_assert_int_eq(n, 0);
    ck_assert_msg(t1 >= a.t_action, "select returned before the wakeup");
    ck_assert_msg(MS(t1 - a.t_action) < TU_SLACK(500), "select returned %lld ms after the wakeup",
                  MS(t1 - a.t_action));
    /* the wakeup was consumed: the next select waits again */
    long long t0 = now_ns();
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 50), 0);
    ck_assert_int_ge(MS(now_ns() - t0), 50);
    nk_selector_close(sel);
}

START_TEST(test_selector_wakeup_from_thread_returns_blocked_select)
{
    blocked_select_returns_after(_i, ACT_WAKEUP);
}
END_TEST

static nk_selector *volatile g_sig_sel;
static volatile sig_atomic_t g_sig_calls;
static volatile sig_atomic_t g_sig_rc;
static volatile sig_atomic_t g_sig_errno_kept;

static void wake_from_handler(int sig)
{
    (void)sig;
    int saved = errno;
    errno = 4321;
    g_sig_rc = nk_selector_wakeup(g_sig_sel);
    g_sig_errno_kept = errno == 4321;
    g_sig_calls++;
    errno = saved;
}

static void install_wake_handler(int sig, struct sigaction *old, nk_selector *sel)
{
    g_sig_sel = sel;
    g_sig_calls = 0;
    g_sig_rc = 1;
    g_sig_errno_kept = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = wake_from_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: select sees EINTR */
    ck_assert_int_eq(sigaction(sig, &sa, old), 0);
}

/* Restores sig's action once none can be pending (see tu_storm_stop). */
static void restore_handler(int sig, const struct sigaction *old)
{
    sigset_t set, old_mask;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &old_mask);
    const struct timespec zero = {0, 0};
    for (int k = 0; k < 100 && sigtimedwait(&set, NULL, &zero) == sig; k++) {
    }
    ck_assert_int_eq(sigaction(sig, old, NULL), 0);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    g_sig_sel = NULL;
}

START_TEST(test_selector_wakeup_from_signal_handler_pthread_kill)
{
    nk_selector *sel = sel_open(_i);
    struct sigaction old;
    install_wake_handler(SIGUSR1, &old, sel);
    rescue r;
    actor a;
    memset(&a, 0, sizeof a);
    actor_start(&a, &r, sel, ACT_SIGNAL, 20);
    nk_event ev[4];
    int n = nk_selector_select(sel, ev, 4, NK_BLOCK);
    long long t1 = now_ns();
    actor_finish(&a, &r, sel);
    restore_handler(SIGUSR1, &old);
    ck_assert_msg(!a.rescued, "select(NK_BLOCK) did not return after the handler's wakeup");
    tu_assert_code(a.rc, 0);
    ck_assert_int_eq(g_sig_calls, 1);
    tu_assert_code(g_sig_rc, 0);
    ck_assert_msg(g_sig_errno_kept, "nk_selector_wakeup changed errno in a signal handler");
    ck_assert_int_eq(n, 0);
    ck_assert_msg(MS(t1 - a.t_action) < TU_SLACK(500), "select returned %lld ms after the signal",
                  MS(t1 - a.t_action));
    nk_selector_close(sel);
}
END_TEST

START_TEST(test_selector_wakeup_from_signal_handler_setitimer)
{
    nk_selector *sel = sel_open(_i);
    struct sigaction old;
    install_wake_handler(SIGALRM, &old, sel);
    rescue r;
    actor a; /* no action: only the rescue */
    memset(&a, 0, sizeof a);
    actor_start(&a, &r, sel, ACT_NONE, 0);
    struct itimerval it = {{0, 0}, {0, 100000}}; /* once, in 100 ms */
    long long t0 = now_ns();
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    nk_event ev[4];
    int n = nk_selector_select(sel, ev, 4, NK_BLOCK);
    long long el = now_ns() - t0;
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    actor_finish(&a, &r, sel);
    restore_handler(SIGALRM, &old);
    ck_assert_msg(!a.rescued, "select(NK_BLOCK) did not return after the SIGALRM handler");
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(g_sig_calls, 1);
    tu_assert_code(g_sig_rc, 0);
    ck_assert_msg(g_sig_errno_kept, "nk_selector_wakeup changed errno in a signal handler");
    ck_assert_int_ge(MS(el), 99);
    ck_assert_int_lt(MS(el), 100 + TU_SLACK(500));
    nk_selector_close(sel);
}
END_TEST

START_TEST(test_selector_wakeup_before_select_returns_at_once_then_waits)
{
    nk_selector *sel = sel_open(_i);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    tu_assert_code(nk_selector_register_fd(sel, p[0], NK_EVENT_READ, NULL), 0);
    nk_event ev[4];
    /* several wakeups before one select count as one */
    for (int k = 0; k < 3; k++)
        tu_assert_code(nk_selector_wakeup(sel), 0);
    long long t0 = now_ns();
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, (int)TU_SLACK(5000)), 0);
    long long el = now_ns() - t0;
    ck_assert_msg(MS(el) < TU_SLACK(100), "a pending wakeup took %lld ms", MS(el));
    t0 = now_ns();
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 150), 0);
    el = now_ns() - t0;
    ck_assert_int_ge(MS(el), 150);
    ck_assert_int_lt(MS(el), 150 + TU_SLACK(300));
    /* a wakeup with a ready fd: the fd is still reported */
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    tu_assert_code(nk_selector_wakeup(sel), 0);
    int n = nk_selector_select(sel, ev, 4, (int)TU_SLACK(2000));
    ck_assert_int_le(n, 1);
    if (n == 0) /* the wakeup came first: the fd is there next time */
        n = nk_selector_select(sel, ev, 4, (int)TU_SLACK(2000));
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(ev[0].fd, p[0]);
    nk_selector_close(sel);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(test_selector_signal_storm_does_not_end_timed_select)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, NULL), 0);
    nk_event ev[4];
    tu_storm st;
    tu_storm_start(&st, 1000);
    long long t0 = now_ns();
    int n = nk_selector_select(sel, ev, 4, 300);
    long long el = now_ns() - t0;
    tu_storm_stop(&st);
    tu_assert_code(n, 0);
    ck_assert_int_ge(MS(el), 300);
    ck_assert_int_le(MS(el), 300 + TU_SLACK(700));
    ck_assert_msg(tu_storm_alarms() > 10, "only %d SIGALRMs arrived", tu_storm_alarms());
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

static void count_signal(int sig)
{
    (void)sig;
    g_sig_calls++;
}

/* One signal late in a timed select: the wait goes on for what is left of
 * the timeout, not for the whole timeout again. */
START_TEST(test_selector_one_signal_late_keeps_deadline)
{
    nk_selector *sel = sel_open(_i);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: select sees EINTR */
    g_sig_calls = 0;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval it = {{0, 0}, {0, 200000}}; /* once, in 200 ms */
    nk_event ev[4];
    long long t0 = now_ns();
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    int n = nk_selector_select(sel, ev, 4, 300);
    long long el = now_ns() - t0;
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    restore_handler(SIGALRM, &old);
    tu_assert_code(n, 0);
    ck_assert_int_eq(g_sig_calls, 1);
    ck_assert_int_ge(MS(el), 300);
    ck_assert_msg(MS(el) < 300 + TU_SLACK(150), "select(300) with a signal at 200 ms took %lld ms",
                  MS(el));
    nk_selector_close(sel);
}
END_TEST

START_TEST(test_selector_signal_storm_does_not_end_blocking_select)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    int tag;
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &tag), 0);
    rescue r;
    actor a; /* sends one byte 300 ms after select started to wait */
    memset(&a, 0, sizeof a);
    a.c = c.peer;
    tu_storm st;
    tu_storm_start(&st, 1000);
    actor_start(&a, &r, sel, ACT_SEND, 300);
    long long t0 = now_ns();
    nk_event ev[4];
    int n = nk_selector_select(sel, ev, 4, NK_BLOCK);
    long long el = now_ns() - t0;
    tu_storm_stop(&st);
    actor_finish(&a, &r, sel);
    ck_assert_int_eq(a.rc, 1);
    ck_assert_msg(!a.rescued, "select(NK_BLOCK) missed the byte");
    tu_assert_code(n, 1);
    ck_assert_ptr_eq(ev[0].data, &tag);
    ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
    ck_assert_int_ge(MS(el), 300);
    ck_assert_msg(tu_storm_alarms() > 10, "only %d SIGALRMs arrived", tu_storm_alarms());
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_selector_timeout_100ms_accuracy_and_zero_returns_at_once)
{
    nk_selector *sel = sel_open(_i);
    nk_event ev[4];
    /* no fd registered at all */
    long long t0 = now_ns();
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 100), 0);
    long long el = now_ns() - t0;
    ck_assert_int_ge(el, 100000000LL);
    ck_assert_int_lt(MS(el), 100 + TU_SLACK(150));
    /* an idle connection registered for READ */
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, NULL), 0);
    for (int k = 0; k < 3; k++) {
        t0 = now_ns();
        ck_assert_int_eq(nk_selector_select(sel, ev, 4, 100), 0);
        el = now_ns() - t0;
        ck_assert_int_ge(el, 100000000LL);
        ck_assert_int_lt(MS(el), 100 + TU_SLACK(150));
    }
    /* 1 ms is at least 1 ms */
    t0 = now_ns();
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 1), 0);
    ck_assert_int_ge(now_ns() - t0, 1000000LL);
    /* 0: just look */
    for (int k = 0; k < 10; k++) {
        t0 = now_ns();
        ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
        el = now_ns() - t0;
        ck_assert_msg(MS(el) < TU_SLACK(20), "select(0) took %lld ms", MS(el));
    }
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* servers and UDP endpoints                                                */
/* ------------------------------------------------------------------------ */

START_TEST(test_selector_server_readable_on_connect_accept_timeout_zero)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    int sfd = nk_tcp_server_fd(s);
    int tag;
    nk_event ev[4];
    tu_assert_code(nk_selector_register_server(sel, s, NK_EVENT_READ, &tag), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);

    nk_tcp_client *c[3] = {NULL, NULL, NULL}, *acc[3] = {NULL, NULL, NULL};
    tu_assert_code(nk_tcp_connect(&c[0], "127.0.0.1", nk_tcp_server_port(s), 2000), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, (int)TU_SLACK(2000)), 1);
    ck_assert_int_eq(ev[0].fd, sfd);
    ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
    ck_assert_ptr_eq(ev[0].data, &tag);
    tu_assert_code(nk_tcp_server_accept(s, &acc[0], NULL, 0), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);

    /* two waiting connections: readable until both are accepted */
    for (int k = 1; k < 3; k++)
        tu_assert_code(nk_tcp_connect(&c[k], "127.0.0.1", nk_tcp_server_port(s), 2000), 0);
    ck_assert_int_eq(select_for(sel, sfd).events, NK_EVENT_READ);
    tu_assert_code(nk_tcp_server_accept(s, &acc[1], NULL, 0), 0);
    ck_assert(wait_fd(sfd, POLLIN, TU_SLACK(2000)) & POLLIN);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 1);
    ck_assert_int_eq(ev[0].fd, sfd);
    tu_assert_code(nk_tcp_server_accept(s, &acc[2], NULL, 0), 0);
    /* none left: accept with timeout 0 says so at once */
    nk_tcp_client *extra = NULL;
    tu_assert_code(nk_tcp_server_accept(s, &extra, NULL, 0), -EAGAIN);
    ck_assert_ptr_null(extra);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
    for (int k = 0; k < 3; k++) {
        ck_assert_ptr_nonnull(acc[k]);
        nk_tcp_client_close(acc[k]);
        nk_tcp_client_close(c[k]);
    }
    nk_selector_close(sel);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_selector_udp_readable_when_datagram_arrives)
{
    nk_selector *sel = sel_open(_i);
    nk_udp_endpoint *u = NULL, *sender = NULL;
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", 0), 0);
    tu_assert_code(nk_udp_open(&sender, "127.0.0.1", 0), 0);
    int tag;
    nk_event ev[4];
    tu_assert_code(nk_selector_register_udp(sel, u, NK_EVENT_READ, &tag), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(nk_udp_sendto(sender, "ping", 4, "127.0.0.1", nk_udp_port(u)), 4);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, (int)TU_SLACK(2000)), 1);
    ck_assert_int_eq(ev[0].fd, nk_udp_fd(u));
    ck_assert_int_eq(ev[0].events, NK_EVENT_READ);
    ck_assert_ptr_eq(ev[0].data, &tag);
    char buf[16];
    nk_addr from;
    tu_assert_code(nk_udp_settimeout(u, (int)TU_SLACK(2000)), 0);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(nk_udp_recvfrom(u, buf, sizeof buf, &from), 4);
        ck_assert_mem_eq(buf, "ping", 4);
        ck_assert_int_eq(nk_addr_port(&from), nk_udp_port(sender));
        /* the second datagram keeps it readable */
        ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), k == 0 ? 1 : 0);
    }
    /* write interest on a UDP socket is reported at once */
    tu_assert_code(nk_selector_modify(sel, nk_udp_fd(u), NK_EVENT_WRITE, &tag), 0);
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, (int)TU_SLACK(2000)), 1);
    ck_assert_int_eq(ev[0].events, NK_EVENT_WRITE);
    nk_selector_close(sel);
    nk_udp_close(sender);
    nk_udp_close(u);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* queued output through select                                             */
/* ------------------------------------------------------------------------ */

enum { QLEN = 1 << 20 };

/* Queues QLEN bytes on a client whose peer reads nothing yet, registers it
 * for interest, starts the peer reading and selects until the queue drained,
 * never calling flush. Returns after checking the bytes and the events. */
static void select_flushes_queue(int i, int interest)
{
    nk_selector *sel = sel_open(i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    int fd = nk_tcp_client_fd(c.cli);
    small_buffers(c.cli, c.peer);
    unsigned char *out = malloc(QLEN), *in = malloc(QLEN);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(in);
    tu_fill_pattern(out, QLEN, 1234 + (uint64_t)interest);
    ssize_t queued = queue_all(c.cli, out, QLEN);
    int tag0, tag;
    tu_assert_code(nk_selector_register_client(sel, c.cli, interest, &tag0), 0);
    /* a modify (here of the data only) keeps select's own write interest */
    tu_assert_code(nk_selector_modify(sel, fd, interest, &tag), 0);

    tu_assert_code(nk_tcp_client_settimeout(c.peer, (int)TU_SLACK(5000)), 0);
    reader r = {.c = c.peer, .buf = in, .expect = QLEN};
    tu_spawn(&r.th, reader_main, &r);
    long long end = tu_now_ms() + TU_SLACK(10000);
    int selects = 0, write_events = 0;
    nk_event ev[4];
    for (; selects < 100000 && queued > 0 && tu_now_ms() < end; selects++) {
        int n = nk_selector_select(sel, ev, 4, 20);
        ck_assert_msg(n >= 0, "select: %s", nk_strerror(n));
        for (int k = 0; k < n; k++) {
            ck_assert_int_eq(ev[k].fd, fd);
            ck_assert_ptr_eq(ev[k].data, &tag);
            /* the peer sends nothing: never READ; WRITE only when asked */
            ck_assert_msg(ev[k].events == NK_EVENT_WRITE && (interest & NK_EVENT_WRITE),
                          "select reported events %d for interest %d", ev[k].events, interest);
            write_events++;
        }
        queued = nk_tcp_client_queued(c.cli);
        ck_assert_int_ge(queued, 0);
    }
    ck_assert_msg(queued == 0, "%zd bytes still queued after %d selects", queued, selects);
    int joined = tu_join_within(r.th, TU_SLACK(5000));
    ck_assert_int_eq(joined, 0);
    ck_assert_uint_eq(r.total, QLEN);
    ck_assert_msg(checksum(in, QLEN) == checksum(out, QLEN), "checksum mismatch");
    ck_assert_msg(memcmp(in, out, QLEN) == 0, "bytes differ");
    if (interest & NK_EVENT_WRITE)
        ck_assert_int_gt(write_events, 0);
    /* the caller's interest is unchanged */
    int events = 0;
    tu_assert_code(nk_selector_get(sel, fd, &events, NULL), 0);
    ck_assert_int_eq(events, interest);
    if (interest == NK_EVENT_READ) {
        /* drained: no write interest left in the kernel, so select sleeps */
        long long c0 = cpu_ns(), t0 = now_ns();
        ck_assert_int_eq(nk_selector_select(sel, ev, 4, 200), 0);
        long long cpu = cpu_ns() - c0;
        ck_assert_int_ge(MS(now_ns() - t0), 200);
        ck_assert_msg(MS(cpu) < 60, "select(200) used %lld ms of CPU: it spun", MS(cpu));
    }
    free(out);
    free(in);
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}

START_TEST(test_selector_read_interest_flushes_queue_byte_exact_no_write_events)
{
    select_flushes_queue(_i, NK_EVENT_READ);
}
END_TEST

START_TEST(test_selector_read_write_interest_flushes_queue_byte_exact)
{
    select_flushes_queue(_i, NK_EVENT_READ | NK_EVENT_WRITE);
}
END_TEST

/* Queue registered for READ only, then the caller asks for WRITE too while
 * bytes wait: select still sends them. */
START_TEST(test_selector_modify_to_write_while_queued_still_flushes)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    small_buffers(c.cli, c.peer);
    enum { LEN = 256 * 1024 };
    unsigned char *out = malloc(LEN), *in = malloc(LEN);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(in);
    tu_fill_pattern(out, LEN, 99);
    ssize_t queued = queue_all(c.cli, out, LEN);
    int fd = nk_tcp_client_fd(c.cli);
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, NULL), 0);
    tu_assert_code(nk_selector_modify(sel, fd, NK_EVENT_READ | NK_EVENT_WRITE, NULL), 0);
    tu_assert_code(nk_tcp_client_settimeout(c.peer, (int)TU_SLACK(5000)), 0);
    reader r = {.c = c.peer, .buf = in, .expect = LEN};
    tu_spawn(&r.th, reader_main, &r);
    long long end = tu_now_ms() + TU_SLACK(10000);
    nk_event ev[4];
    for (int k = 0; k < 100000 && queued > 0 && tu_now_ms() < end; k++) {
        ck_assert_int_ge(nk_selector_select(sel, ev, 4, 20), 0);
        queued = nk_tcp_client_queued(c.cli);
    }
    ck_assert_msg(queued == 0, "%zd bytes still queued", queued);
    ck_assert_int_eq(tu_join_within(r.th, TU_SLACK(5000)), 0);
    ck_assert_uint_eq(r.total, LEN);
    ck_assert_msg(memcmp(in, out, LEN) == 0, "bytes differ");
    free(out);
    free(in);
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

static void set_linger0(nk_tcp_client *c)
{
    struct linger lg = {1, 0};
    ck_assert_int_eq(setsockopt(nk_tcp_client_fd(c), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
}

/* The peer resets the connection while bytes are queued: select's flush
 * fails, the caller (READ only) sees READ, and the error sticks. */
START_TEST(test_selector_failed_flush_rst_sticky_shows_as_read)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    small_buffers(c.cli, c.peer);
    enum { LEN = 256 * 1024 };
    unsigned char *out = malloc(LEN);
    ck_assert_ptr_nonnull(out);
    tu_fill_pattern(out, LEN, 5);
    queue_all(c.cli, out, LEN);
    free(out);
    int fd = nk_tcp_client_fd(c.cli);
    int tag;
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, &tag), 0);
    nk_event ev[4];
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);

    set_linger0(c.peer);
    nk_tcp_client_close(c.peer); /* RST */
    c.peer = NULL;
    nk_event e = select_for(sel, fd);
    ck_assert_int_eq(e.events, NK_EVENT_READ);
    ck_assert_ptr_eq(e.data, &tag);
    /* the flush in select failed: the queue is dropped, the error sticks */
    ck_assert_int_eq(nk_tcp_client_queued(c.cli), 0);
    ssize_t err = nk_tcp_client_flush(c.cli);
    ck_assert_msg(err == -ECONNRESET || err == -EPIPE, "flush after RST: %s (%zd)",
                  nk_error_name((int)err), err);
    for (int k = 0; k < 3; k++) {
        tu_assert_code(nk_tcp_client_queue(c.cli, "x", 1), err);
        tu_assert_code(nk_tcp_client_flush(c.cli), err);
        ck_assert_int_eq(nk_tcp_client_queued(c.cli), 0);
    }
    /* the caller's next recv learns of the end of the connection */
    char buf[8];
    ssize_t rc = nk_tcp_client_recv(c.cli, buf, sizeof buf);
    ck_assert_msg(rc == 0 || rc == -ECONNRESET, "recv after RST: %zd", rc);
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

/* The socket is writable but the flush fails (the caller shut down its own
 * writing): that alone shows as READ, once. */
START_TEST(test_selector_failed_flush_after_shut_wr_shows_as_read)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    conn c;
    conn_open(&c, s);
    small_buffers(c.cli, c.peer);
    enum { LEN = 256 * 1024 };
    unsigned char *out = malloc(LEN);
    ck_assert_ptr_nonnull(out);
    tu_fill_pattern(out, LEN, 6);
    queue_all(c.cli, out, LEN);
    free(out);
    int fd = nk_tcp_client_fd(c.cli);
    tu_assert_code(nk_selector_register_client(sel, c.cli, NK_EVENT_READ, NULL), 0);
    tu_assert_code(nk_tcp_client_shutdown(c.cli, SHUT_WR), 0);
    ck_assert_int_eq(wait_fd(fd, POLLIN, 0), 0); /* the socket itself is not readable */
    nk_event e = select_for(sel, fd);
    ck_assert_int_eq(e.events, NK_EVENT_READ);
    ck_assert_int_eq(nk_tcp_client_queued(c.cli), 0);
    tu_assert_code(nk_tcp_client_queue(c.cli, "x", 1), -EPIPE);
    tu_assert_code(nk_tcp_client_flush(c.cli), -EPIPE);
    nk_event ev[4];
    ck_assert_int_eq(nk_selector_select(sel, ev, 4, 0), 0);
    nk_selector_close(sel);
    conn_close(&c);
    nk_tcp_server_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* resources                                                                */
/* ------------------------------------------------------------------------ */

/* One connect / register / unregister-or-close / disconnect cycle. The
 * client closes with SO_LINGER 0 (a reset): 10,000 cycles must not leave
 * 10,000 TIME_WAIT sockets, which would fill the kernel's table and make
 * other tests (and programs) find no TIME_WAIT where they expect one. */
static void cycle(nk_selector *sel, nk_tcp_server *s, const nk_addr *addr, int k)
{
    nk_tcp_client *c = NULL, *peer = NULL;
    tu_assert_code(nk_tcp_connect_addr(&c, addr, (int)TU_SLACK(5000)), 0);
    ck_assert_int_eq(select_for(sel, nk_tcp_server_fd(s)).events, NK_EVENT_READ);
    tu_assert_code(nk_tcp_server_accept(s, &peer, NULL, 0), 0);
    int fd = nk_tcp_client_fd(c);
    tu_assert_code(nk_selector_register_client(sel, c, NK_EVENT_READ, &k), 0);
    ck_assert_int_eq(nk_tcp_client_send(peer, "!", 1), 1);
    nk_event e = select_for(sel, fd);
    ck_assert_int_eq(e.events, NK_EVENT_READ);
    char ch;
    ck_assert_int_eq(nk_tcp_client_recv(c, &ch, 1), 1);
    struct linger lg = {1, 0};
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    if (k % 2 == 0)
        tu_assert_code(nk_selector_unregister(sel, fd), 0);
    nk_tcp_client_close(c); /* unregisters it when k is odd */
    ck_assert_int_eq(nk_selector_count(sel), 1);
    nk_tcp_client_close(peer);
}

START_TEST(test_selector_10000_cycles_no_fd_or_memory_leak)
{
    nk_selector *sel = sel_open(_i);
    nk_tcp_server *s = server_open();
    int tag;
    tu_assert_code(nk_selector_register_server(sel, s, NK_EVENT_READ, &tag), 0);
    nk_addr addr;
    tu_assert_code(nk_addr_set(&addr, "127.0.0.1", nk_tcp_server_port(s)), 0);
    for (int k = 0; k < 10; k++) /* warm-up: tables and buffers reach their size */
        cycle(sel, s, &addr, k);
    int fds_before = tu_count_fds();
    size_t mem_before = mallinfo2().uordblks;
    const int cycles = 10000;
    long long t0 = tu_now_ms(), end = t0 + TU_SLACK(60000);
    int done = 0;
    for (; done < cycles && tu_now_ms() < end; done++)
        cycle(sel, s, &addr, done);
    long long el = tu_now_ms() - t0;
    ck_assert_msg(done == cycles, "only %d cycles in %lld ms", done, el);
    ck_assert_int_eq(tu_count_fds(), fds_before);
    size_t mem_after = mallinfo2().uordblks;
    ck_assert_msg(mem_after <= mem_before + 65536, "heap grew by %zd bytes in %d cycles",
                  (ssize_t)(mem_after - mem_before), cycles);
    ck_assert_int_eq(nk_selector_count(sel), 1);
    nk_selector_close(sel);
    nk_tcp_server_close(s);
}
END_TEST

Suite *suite_selector(void)
{
    Suite *s = suite_create("selector");
    int nb = (int)(sizeof backends / sizeof backends[0]);

    TCase *tc = tcase_create("basics");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_selector_open_close_backend_name_count, 0, nb);
    tcase_add_test(tc, test_selector_open_bad_args_usage_codes);
    tcase_add_loop_test(tc, test_selector_bad_arguments_usage_codes, 0, nb);
    tcase_add_loop_test(tc, test_selector_regular_file_eperm_on_epoll_ready_on_poll, 0, nb);
    tcase_add_loop_test(tc, test_selector_double_registration_eexist, 0, nb);
    tcase_add_loop_test(tc, test_selector_unknown_fd_enoent, 0, nb);
    suite_add_tcase(s, tc);

    tc = tcase_create("readiness");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_selector_level_triggered_unread_bytes_reported_again, 0, nb);
    tcase_add_loop_test(tc, test_selector_write_interest_reported_on_connected_socket, 0, nb);
    tcase_add_loop_test(
        tc, test_selector_modify_read_write_changes_reports_get_returns_interest_data, 0, nb);
    tcase_add_loop_test(tc, test_selector_recv_line_readahead_reported_until_consumed, 0, nb);
    tcase_add_loop_test(tc, test_selector_readahead_before_register_reported, 0, nb);
    tcase_add_loop_test(tc, test_selector_readahead_without_read_interest_does_not_spin, 0, nb);
    tcase_add_loop_test(tc, test_selector_server_readable_on_connect_accept_timeout_zero, 0, nb);
    tcase_add_loop_test(tc, test_selector_udp_readable_when_datagram_arrives, 0, nb);
    tcase_add_loop_test(tc, test_selector_more_ready_than_max_reported_in_turn_no_allocation, 0,
                        nb);
    suite_add_tcase(s, tc);

    tc = tcase_create("unregister");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_selector_unregister_during_iteration_scrubs_event, 0, nb);
    tcase_add_loop_test(tc, test_selector_client_close_during_iteration_scrubs_event, 0, nb);
    tcase_add_loop_test(tc, test_selector_closing_objects_unregisters_them, 0, nb);
    tcase_add_loop_test(tc, test_selector_served_client_close_unregisters_closed_handle_eclosed, 0,
                        nb);
    tcase_add_loop_test(tc, test_selector_close_leaves_objects_usable_and_reregistrable, 0, nb);
    suite_add_tcase(s, tc);

    tc = tcase_create("wakeup");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_selector_wakeup_from_thread_returns_blocked_select, 0, nb);
    tcase_add_loop_test(tc, test_selector_wakeup_from_signal_handler_pthread_kill, 0, nb);
    tcase_add_loop_test(tc, test_selector_wakeup_from_signal_handler_setitimer, 0, nb);
    tcase_add_loop_test(tc, test_selector_wakeup_before_select_returns_at_once_then_waits, 0, nb);
    tcase_add_loop_test(tc, test_selector_signal_storm_does_not_end_timed_select, 0, nb);
    tcase_add_loop_test(tc, test_selector_signal_storm_does_not_end_blocking_select, 0, nb);
    tcase_add_loop_test(tc, test_selector_one_signal_late_keeps_deadline, 0, nb);
    tcase_add_loop_test(tc, test_selector_timeout_100ms_accuracy_and_zero_returns_at_once, 0, nb);
    suite_add_tcase(s, tc);

    tc = tcase_create("queue");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_selector_read_interest_flushes_queue_byte_exact_no_write_events, 0,
                        nb);
    tcase_add_loop_test(tc, test_selector_read_write_interest_flushes_queue_byte_exact, 0, nb);
    tcase_add_loop_test(tc, test_selector_modify_to_write_while_queued_still_flushes, 0, nb);
    tcase_add_loop_test(tc, test_selector_failed_flush_rst_sticky_shows_as_read, 0, nb);
    tcase_add_loop_test(tc, test_selector_failed_flush_after_shut_wr_shows_as_read, 0, nb);
    suite_add_tcase(s, tc);

    tc = tcase_create("resources");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_selector_10000_cycles_no_fd_or_memory_leak, 0, nb);
    suite_add_tcase(s, tc);
    return s;
}
