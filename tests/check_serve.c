/*
 * check_serve.c - Check suite for nk_tcp_server_serve / nk_tcp_server_shutdown
 * (sequential and thread-per-connection modes).
 *
 * serve runs in a helper thread wherever a test must bound how long it may
 * take (joined with a deadline); clients are netkit clients on 127.0.0.1.
 * Handlers never call ck_assert (they may run in threads serve created): they
 * record what they saw and the test thread asserts afterwards. Time bounds are
 * scaled by CK_TIMEOUT_MULTIPLIER (valgrind runs set it to 10).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Reads an atomic counter (keeps assertion messages readable). */
static int ld(atomic_int *a)
{
    return atomic_load(a);
}

/* Waits (bounded: 400 x 5 ms) until *flag is set. */
static void wait_for(atomic_int *flag)
{
    for (int i = 0; i < 400 && !atomic_load(flag); i++)
        tu_sleep_ms(5);
}

/* serve in a thread */
typedef struct server_run {
    nk_tcp_server *s;
    nk_tcp_handler handler;
    void *arg;
    nk_serve_opts opts;
    int use_opts; /* 0: pass NULL opts */
    int rc;
    atomic_int started;
    atomic_int done;
    long long t_done;
    pthread_t th;
} server_run;

static void *server_run_main(void *arg)
{
    server_run *r = arg;
    atomic_store(&r->started, 1);
    r->rc = nk_tcp_server_serve(r->s, r->handler, r->arg, r->use_opts ? &r->opts : NULL);
    r->t_done = tu_now_ms();
    atomic_store(&r->done, 1);
    return NULL;
}

static void serve_start(server_run *r, int allow_signal)
{
    r->rc = 1;
    tu_spawn_allowing(&r->th, server_run_main, r, allow_signal);
    wait_for(&r->started);
    ck_assert_int_eq(ld(&r->started), 1);
}

/* Waits (bounded) for serve to return; on timeout shuts the server down so the
 * thread can still end, and fails. */
static void serve_wait(server_run *r, long long ms)
{
    if (tu_join_within(r->th, ms) != 0) {
        nk_tcp_server_shutdown(r->s);
        int again = tu_join_within(r->th, TU_SLACK(3000));
        ck_abort_msg("serve did not return within %lld ms (after a forced shutdown: %s)", ms,
                     again == 0 ? "returned" : "still running");
    }
}

/* Joins t by an absolute tu_now_ms() deadline shared by several joins. */
static int join_by(pthread_t t, long long deadline)
{
    long long left = deadline - tu_now_ms();
    return tu_join_within(t, left > 0 ? left : 1);
}

static nk_tcp_server *open_server(void)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* A client that sends one line and checks the echo. Returns 0 or a message. */
static const char *echo_once(int port, const char *line, nk_tcp_client **keep)
{
    nk_tcp_client *c = NULL;
    if (nk_tcp_connect(&c, "127.0.0.1", port, (int)TU_SLACK(10000)) != 0)
        return "connect failed";
    const char *err = NULL;
    if (nk_tcp_client_sendall(c, line, strlen(line), NULL) != 0)
        err = "sendall failed";
    else {
        char buf[256];
        ssize_t n = nk_tcp_client_recv_line(c, buf, sizeof buf);
        if (n != (ssize_t)strlen(line) || strcmp(buf, line) != 0)
            err = "wrong echo";
    }
    if (keep != NULL && err == NULL)
        *keep = c;
    else
        nk_tcp_client_close(c);
    return err;
}

/* n echo_once clients one after another, client i sending line_fmt formatted
 * with i; ck_asserts that each got its line back. */
static void echo_clients(int port, int n, const char *line_fmt)
{
    for (int i = 0; i < n; i++) {
        char line[64];
        snprintf(line, sizeof line, line_fmt, i);
        const char *err = echo_once(port, line, NULL);
        ck_assert_msg(err == NULL, "client %d: %s", i, err ? err : "");
    }
}

/* Echo handler: one line back, counted, with concurrency tracked. */
typedef struct echo_state {
    atomic_int served;
    atomic_int active;
    atomic_int max_active;
    atomic_int errors;
    long hold_ms;                     /* sleep before echoing */
    long linger_ms;                   /* sleep after echoing, before returning */
    nk_tcp_server *stop_after_server; /* shut this server down after stop_after clients */
    int stop_after;
    nk_addr first_peer;
} echo_state;

static void echo_handler(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    echo_state *st = arg;
    int now = atomic_fetch_add(&st->active, 1) + 1;
    int m = atomic_load(&st->max_active);
    while (now > m && !atomic_compare_exchange_weak(&st->max_active, &m, now)) {
    }
    if (peer == NULL)
        atomic_fetch_add(&st->errors, 1);
    char line[256];
    ssize_t n = nk_tcp_client_recv_line(c, line, sizeof line);
    if (st->hold_ms > 0)
        tu_sleep_ms(st->hold_ms);
    if (n <= 0 || nk_tcp_client_sendall(c, line, (size_t)n, NULL) != 0)
        atomic_fetch_add(&st->errors, 1);
    if (st->linger_ms > 0)
        tu_sleep_ms(st->linger_ms);
    atomic_fetch_sub(&st->active, 1);
    int served = atomic_fetch_add(&st->served, 1) + 1;
    if (served == 1 && peer != NULL)
        st->first_peer = *peer;
    if (st->stop_after_server != NULL && served == st->stop_after)
        nk_tcp_server_shutdown(st->stop_after_server);
}

/* ------------------------------------------------------------------------ */
/* sequential                                                               */
/* ------------------------------------------------------------------------ */

START_TEST(test_server_serve_sequential_max_clients_returns_0)
{
    nk_tcp_server *s = open_server();
    int port = nk_tcp_server_port(s);
    echo_state st;
    memset(&st, 0, sizeof st);
    server_run r = {.s = s,
                    .handler = echo_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = 3}};
    serve_start(&r, 0);
    echo_clients(port, 3, "sequential client %d\n");
    serve_wait(&r, TU_SLACK(5000));
    tu_assert_code(r.rc, 0);
    ck_assert_int_eq(ld(&st.served), 3);
    ck_assert_int_eq(ld(&st.errors), 0);
    ck_assert_int_eq(ld(&st.max_active), 1);
    /* after max_clients, nobody accepts any more (queued connects time out) */
    nk_tcp_client *late = NULL;
    tu_assert_code(nk_tcp_connect(&late, "127.0.0.1", port, (int)TU_SLACK(2000)), 0);
    tu_assert_code(nk_tcp_client_settimeout(late, 100), 0);
    char ch;
    tu_assert_code(nk_tcp_client_recv(late, &ch, 1), NK_ETIMEOUT);
    nk_tcp_client_close(late);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_serve_sequential_one_at_a_time)
{
    nk_tcp_server *s = open_server();
    int port = nk_tcp_server_port(s);
    echo_state st;
    memset(&st, 0, sizeof st);
    st.hold_ms = 30;
    server_run r = {.s = s,
                    .handler = echo_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = 3}};
    serve_start(&r, 0);
    /* three clients connected and sending at once */
    nk_tcp_client *c[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        tu_assert_code(nk_tcp_connect(&c[i], "127.0.0.1", port, (int)TU_SLACK(10000)), 0);
        ck_assert_int_eq(nk_tcp_client_sendall(c[i], "x\n", 2, NULL), 0);
    }
    for (int i = 0; i < 3; i++) {
        char line[16];
        ck_assert_int_eq(nk_tcp_client_recv_line(c[i], line, sizeof line), 2);
        ck_assert_str_eq(line, "x\n");
        nk_tcp_client_close(c[i]);
    }
    serve_wait(&r, TU_SLACK(5000));
    tu_assert_code(r.rc, 0);
    ck_assert_int_eq(ld(&st.served), 3);
    ck_assert_int_eq(ld(&st.max_active), 1);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_serve_handler_peer_equals_client_sockname)
{
    nk_tcp_server *s = open_server();
    echo_state st;
    memset(&st, 0, sizeof st);
    server_run r = {.s = s,
                    .handler = echo_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = 1}};
    serve_start(&r, 0);
    nk_tcp_client *c = NULL;
    const char *err = echo_once(nk_tcp_server_port(s), "who am i\n", &c);
    ck_assert_msg(err == NULL, "%s", err ? err : "");
    serve_wait(&r, TU_SLACK(5000));
    tu_assert_code(r.rc, 0);
    nk_addr cs;
    tu_assert_code(nk_tcp_client_sockname(c, &cs), 0);
    ck_assert_int_eq(nk_addr_equal(&st.first_peer, &cs), 1);
    char want[NK_ADDRSTRLEN];
    snprintf(want, sizeof want, "('127.0.0.1', %d)", nk_addr_port(&cs));
    tu_assert_tuple(&st.first_peer, want);
    /* serve closed the connection when the handler returned */
    char ch;
    ck_assert_int_eq(nk_tcp_client_recv(c, &ch, 1), 0);
    nk_tcp_client_close(c);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_serve_null_opts_sequential_until_shutdown_from_handler)
{
    nk_tcp_server *s = open_server();
    int port = nk_tcp_server_port(s);
    echo_state st;
    memset(&st, 0, sizeof st);
    st.stop_after_server = s;
    st.stop_after = 2;
    server_run r = {.s = s, .handler = echo_handler, .arg = &st, .use_opts = 0};
    serve_start(&r, 0);
    echo_clients(port, 2, "until shutdown %d\n");
    serve_wait(&r, TU_SLACK(3000));
    tu_assert_code(r.rc, 0);
    ck_assert_int_eq(ld(&st.served), 2);
    ck_assert_int_eq(ld(&st.max_active), 1);
    nk_tcp_server_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* threads                                                                  */
/* ------------------------------------------------------------------------ */

#define NCLIENTS 50

/* Handlers meet here: each waits (bounded) until `target` of them are inside
 * at the same time, which can only happen when serve really runs them
 * concurrently. */
typedef struct meet_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int target;
    int arrived;
    int active;
    int max_active;
    int timed_out;
    int bad;
    long long wait_ms;
    atomic_int finished;
} meet_state;

static void meet_handler(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    meet_state *m = arg;
    char line[128];
    ssize_t n = nk_tcp_client_recv_line(c, line, sizeof line);

    pthread_mutex_lock(&m->mu);
    if (peer == NULL || n <= 0)
        m->bad++;
    m->arrived++;
    m->active++;
    if (m->active > m->max_active)
        m->max_active = m->active;
    pthread_cond_broadcast(&m->cv);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)(m->wait_ms / 1000);
    dl.tv_nsec += (long)(m->wait_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    while (m->arrived < m->target) {
        if (pthread_cond_timedwait(&m->cv, &m->mu, &dl) == ETIMEDOUT) {
            m->timed_out++;
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);

    if (n > 0 && nk_tcp_client_sendall(c, line, (size_t)n, NULL) != 0) {
        pthread_mutex_lock(&m->mu);
        m->bad++;
        pthread_mutex_unlock(&m->mu);
    }
    pthread_mutex_lock(&m->mu);
    m->active--;
    pthread_mutex_unlock(&m->mu);
    atomic_fetch_add(&m->finished, 1);
}

typedef struct client_job {
    int port;
    int idx;
    const char *err;
    pthread_t th;
} client_job;

static void *client_job_main(void *arg)
{
    client_job *j = arg;
    char line[64];
    snprintf(line, sizeof line, "client %02d says %08x\n", j->idx,
             (unsigned)(j->idx * 2654435761U));
    j->err = echo_once(j->port, line, NULL);
    return NULL;
}

START_TEST(test_server_serve_threads_50_concurrent_clients)
{
    nk_tcp_server *s = open_server();
    meet_state m;
    memset(&m, 0, sizeof m);
    ck_assert_int_eq(pthread_mutex_init(&m.mu, NULL), 0);
    ck_assert_int_eq(pthread_cond_init(&m.cv, NULL), 0);
    m.target = NCLIENTS;
    m.wait_ms = TU_SLACK(10000);
    server_run r = {.s = s,
                    .handler = meet_handler,
                    .arg = &m,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_THREADS, .max_clients = NCLIENTS}};
    serve_start(&r, 0);

    static client_job jobs[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) {
        jobs[i] = (client_job){.port = nk_tcp_server_port(s), .idx = i, .err = "not run"};
        tu_spawn(&jobs[i].th, client_job_main, &jobs[i]);
    }
    int unjoined = 0;
    long long deadline = tu_now_ms() + TU_SLACK(20000);
    for (int i = 0; i < NCLIENTS; i++)
        if (join_by(jobs[i].th, deadline) != 0)
            unjoined++;
    serve_wait(&r, TU_SLACK(10000));
    ck_assert_int_eq(unjoined, 0);
    for (int i = 0; i < NCLIENTS; i++)
        ck_assert_msg(jobs[i].err == NULL, "client %d: %s", i, jobs[i].err);
    tu_assert_code(r.rc, 0);
    /* serve waited for every handler before returning */
    ck_assert_int_eq(ld(&m.finished), NCLIENTS);
    ck_assert_int_eq(m.bad, 0);
    ck_assert_msg(m.timed_out == 0 && m.max_active == NCLIENTS,
                  "handlers were not concurrent: max %d at once, %d timed out waiting",
                  m.max_active, m.timed_out);
    pthread_cond_destroy(&m.cv);
    pthread_mutex_destroy(&m.mu);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_serve_threads_shutdown_after_clients_waits_for_handlers)
{
    nk_tcp_server *s = open_server();
    int port = nk_tcp_server_port(s);
    echo_state st;
    memset(&st, 0, sizeof st);
    st.linger_ms = (long)TU_SLACK(300); /* handlers still run when shutdown comes */
    server_run r = {.s = s,
                    .handler = echo_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_THREADS, .max_clients = 0}};
    serve_start(&r, 0);
    echo_clients(port, 10, "threaded %d\n");
    tu_assert_code(nk_tcp_server_shutdown(s), 0);
    serve_wait(&r, TU_SLACK(5000));
    tu_assert_code(r.rc, 0);
    ck_assert_int_eq(ld(&st.served), 10);
    ck_assert_int_eq(ld(&st.active), 0);
    ck_assert_int_eq(ld(&st.errors), 0);
    ck_assert_int_ge(ld(&st.max_active), 2);
    nk_tcp_server_close(s);
}
END_TEST

/* A thread-specific value whose destructor runs after the handler thread's
 * function has returned and takes 50 ms: only a real join waits for it. */
static pthread_key_t slow_exit_key;
static atomic_int slow_exits;

static void slow_exit(void *value)
{
    (void)value;
    tu_sleep_ms(50);
    atomic_fetch_add(&slow_exits, 1);
}

static void slow_exit_handler(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    (void)peer;
    pthread_setspecific(slow_exit_key, arg);
    char line[64];
    ssize_t n = nk_tcp_client_recv_line(c, line, sizeof line);
    if (n > 0)
        nk_tcp_client_sendall(c, line, (size_t)n, NULL);
}

START_TEST(test_server_serve_threads_no_handler_thread_outlives_serve)
{
    ck_assert_int_eq(pthread_key_create(&slow_exit_key, slow_exit), 0);
    atomic_store(&slow_exits, 0);
    nk_tcp_server *s = open_server();
    int port = nk_tcp_server_port(s);
    server_run r = {.s = s,
                    .handler = slow_exit_handler,
                    .arg = &r,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_THREADS, .max_clients = 5}};
    serve_start(&r, 0);
    echo_clients(port, 5, "joined %d\n");
    serve_wait(&r, TU_SLACK(5000));
    tu_assert_code(r.rc, 0);
    /* serve joined every handler thread: their exit (destructors included)
     * was over when it returned. (Counting /proc/self/task would race: a
     * joined thread may linger there for a moment.) */
    ck_assert_int_eq(atomic_load(&slow_exits), 5);
    nk_tcp_server_close(s);
    pthread_key_delete(slow_exit_key);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* shutdown                                                                 */
/* ------------------------------------------------------------------------ */

static void shutdown_while_accepting(int mode)
{
    nk_tcp_server *s = open_server();
    echo_state st;
    memset(&st, 0, sizeof st);
    server_run r = {.s = s,
                    .handler = echo_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = mode, .max_clients = 0}};
    serve_start(&r, 0);
    tu_sleep_ms(100); /* serve is blocked in accept */
    ck_assert_int_eq(ld(&r.done), 0);
    long long t0 = tu_now_ms();
    tu_assert_code(nk_tcp_server_shutdown(s), 0);
    serve_wait(&r, TU_SLACK(2000));
    ck_assert_int_le(r.t_done - t0, TU_SLACK(1000));
    tu_assert_code(r.rc, 0);
    ck_assert_int_eq(ld(&st.served), 0);
    /* later accepts are canceled too */
    nk_tcp_client *c = NULL;
    tu_assert_code(nk_tcp_server_accept(s, &c, NULL, NK_NONBLOCK), -ECANCELED);
    nk_tcp_server_close(s);
}

START_TEST(test_server_serve_sequential_shutdown_from_thread_returns_promptly)
{
    shutdown_while_accepting(NK_SERVE_SEQUENTIAL);
}
END_TEST

START_TEST(test_server_serve_threads_shutdown_from_thread_returns_promptly)
{
    shutdown_while_accepting(NK_SERVE_THREADS);
}
END_TEST

static nk_tcp_server *volatile g_sig_server;
static volatile sig_atomic_t g_sig_rc = 1;
static volatile sig_atomic_t g_sig_count;

static void on_usr1(int sig)
{
    (void)sig;
    int saved = errno;
    g_sig_rc = nk_tcp_server_shutdown(g_sig_server);
    g_sig_count++;
    errno = saved;
}

static void shutdown_from_signal(int mode)
{
    nk_tcp_server *s = open_server();
    echo_state st;
    memset(&st, 0, sizeof st);
    g_sig_server = s;
    g_sig_rc = 1;
    g_sig_count = 0;
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: serve's accept wait sees EINTR */
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old_sa), 0);
    /* only the serve thread may take SIGUSR1 */
    sigset_t usr1, old_mask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);

    server_run r = {.s = s,
                    .handler = echo_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = mode, .max_clients = 0}};
    serve_start(&r, SIGUSR1);
    /* serve works before the signal */
    const char *err = echo_once(nk_tcp_server_port(s), "before signal\n", NULL);
    tu_sleep_ms(100);
    long long t0 = tu_now_ms();
    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0); /* to the process */
    int joined = tu_join_within(r.th, TU_SLACK(3000));
    long long el = tu_now_ms() - t0;
    if (joined != 0) {
        nk_tcp_server_shutdown(s);
        tu_join_within(r.th, TU_SLACK(3000));
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    ck_assert_int_eq(sigaction(SIGUSR1, &old_sa, NULL), 0);
    g_sig_server = NULL;

    ck_assert_msg(err == NULL, "client before the signal: %s", err ? err : "");
    ck_assert_msg(joined == 0, "serve did not return after the signal handler's shutdown");
    ck_assert_int_eq(g_sig_count, 1);
    tu_assert_code(g_sig_rc, 0);
    tu_assert_code(r.rc, 0);
    ck_assert_int_le(el, TU_SLACK(1000));
    ck_assert_int_eq(ld(&st.served), 1);
    nk_tcp_server_close(s);
}

START_TEST(test_server_serve_sequential_shutdown_from_signal_handler)
{
    shutdown_from_signal(NK_SERVE_SEQUENTIAL);
}
END_TEST

START_TEST(test_server_serve_threads_shutdown_from_signal_handler)
{
    shutdown_from_signal(NK_SERVE_THREADS);
}
END_TEST

typedef struct idle_state {
    atomic_int entered;
    atomic_int finished;
    ssize_t recv_rc;
    long long recv_ms;
} idle_state;

static void idle_handler(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    (void)peer;
    idle_state *st = arg;
    char buf[16];
    atomic_store(&st->entered, 1);
    long long t0 = tu_now_ms();
    st->recv_rc = nk_tcp_client_recv(c, buf, sizeof buf); /* blocking: NK_BLOCK */
    st->recv_ms = tu_now_ms() - t0;
    atomic_store(&st->finished, 1);
}

START_TEST(test_server_serve_threads_shutdown_unblocks_idle_handler)
{
    nk_tcp_server *s = open_server();
    idle_state st;
    memset(&st, 0, sizeof st);
    st.recv_rc = 12345;
    server_run r = {.s = s,
                    .handler = idle_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_THREADS, .max_clients = 0}};
    serve_start(&r, 0);
    nk_tcp_client *c = NULL;
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", nk_tcp_server_port(s), (int)TU_SLACK(5000)), 0);
    wait_for(&st.entered);
    ck_assert_int_eq(ld(&st.entered), 1);
    tu_sleep_ms(100); /* the handler is blocked in recv; the client sends nothing */
    ck_assert_int_eq(ld(&st.finished), 0);
    tu_assert_code(nk_tcp_server_shutdown(s), 0);
    serve_wait(&r, TU_SLACK(3000));
    tu_assert_code(r.rc, 0);
    ck_assert_int_eq(ld(&st.finished), 1);
    ck_assert_int_eq(st.recv_rc, 0); /* end of stream, not an error */
    nk_tcp_client_close(c);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_serve_after_shutdown_ecanceled)
{
    nk_tcp_server *s = open_server();
    echo_state st;
    memset(&st, 0, sizeof st);
    tu_assert_code(nk_tcp_server_shutdown(s), 0);
    server_run r = {.s = s,
                    .handler = echo_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_THREADS, .max_clients = 0}};
    serve_start(&r, 0);
    serve_wait(&r, TU_SLACK(2000));
    tu_assert_code(r.rc, -ECANCELED);
    ck_assert_int_eq(ld(&st.served), 0);
    r.opts.mode = NK_SERVE_SEQUENTIAL;
    serve_start(&r, 0);
    serve_wait(&r, TU_SLACK(2000));
    tu_assert_code(r.rc, -ECANCELED);
    nk_tcp_server_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* usage errors                                                             */
/* ------------------------------------------------------------------------ */

START_TEST(test_server_serve_null_args_enull)
{
    echo_state st;
    memset(&st, 0, sizeof st);
    nk_serve_opts o = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = 1};
    tu_assert_code(nk_tcp_server_serve(NULL, echo_handler, &st, &o), NK_ENULL);

    nk_tcp_server *s = open_server();
    server_run r = {.s = s, .handler = NULL, .arg = &st, .use_opts = 1, .opts = o};
    serve_start(&r, 0);
    serve_wait(&r, TU_SLACK(2000));
    tu_assert_code(r.rc, NK_ENULL);
    ck_assert_str_eq(nk_strerror(NK_ENULL), "NULL pointer argument");
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_serve_bad_mode_einval)
{
    nk_tcp_server *s = open_server();
    echo_state st;
    memset(&st, 0, sizeof st);
    const int modes[] = {7, -1, 2};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        server_run r = {.s = s,
                        .handler = echo_handler,
                        .arg = &st,
                        .use_opts = 1,
                        .opts = {.mode = modes[i], .max_clients = 1}};
        serve_start(&r, 0);
        serve_wait(&r, TU_SLACK(2000));
        tu_assert_code(r.rc, NK_EINVAL);
    }
    ck_assert_int_eq(ld(&st.served), 0);
    /* the server is still fine: a valid serve works afterwards */
    server_run ok = {.s = s,
                     .handler = echo_handler,
                     .arg = &st,
                     .use_opts = 1,
                     .opts = {.mode = NK_SERVE_SEQUENTIAL, .max_clients = 1}};
    serve_start(&ok, 0);
    const char *err = echo_once(nk_tcp_server_port(s), "still ok\n", NULL);
    serve_wait(&ok, TU_SLACK(3000));
    ck_assert_msg(err == NULL, "%s", err ? err : "");
    tu_assert_code(ok.rc, 0);
    nk_tcp_server_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* a handler that closes its client itself                                  */
/* ------------------------------------------------------------------------ */

typedef struct closed_calls {
    int called;
    int twice;    /* close again after the first close */
    int probe_fd; /* opened right after the close: takes the freed fd number */
    long send, sendall, recv, recv_exact, recv_line, settimeout, gettimeout, shutdown, nodelay,
        keepalive, peername, sockname, fd;
} closed_calls;

static void closing_handler(nk_tcp_client *c, const nk_addr *peer, void *arg)
{
    (void)peer;
    closed_calls *cc = arg;
    char buf[16];
    nk_addr a;
    cc->called++;
    nk_tcp_client_close(c);
    if (cc->twice)
        nk_tcp_client_close(c);
    /* If serve later closed the old fd number again, it would close this. */
    cc->probe_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cc->send = nk_tcp_client_send(c, "x", 1);
    cc->sendall = nk_tcp_client_sendall(c, "x", 1, NULL);
    cc->recv = nk_tcp_client_recv(c, buf, sizeof buf);
    cc->recv_exact = nk_tcp_client_recv_exact(c, buf, 4);
    cc->recv_line = nk_tcp_client_recv_line(c, buf, sizeof buf);
    cc->settimeout = nk_tcp_client_settimeout(c, 100);
    cc->gettimeout = nk_tcp_client_gettimeout(c);
    cc->shutdown = nk_tcp_client_shutdown(c, SHUT_RDWR);
    cc->nodelay = nk_tcp_client_set_nodelay(c, 1);
    cc->keepalive = nk_tcp_client_set_keepalive(c, 1, 0);
    cc->peername = nk_tcp_client_peername(c, &a);
    cc->sockname = nk_tcp_client_sockname(c, &a);
    cc->fd = nk_tcp_client_fd(c);
}

static void handler_closes_client(int mode, int twice)
{
    nk_tcp_server *s = open_server();
    int before_serve = tu_count_fds();
    closed_calls cc;
    memset(&cc, 0, sizeof cc);
    cc.twice = twice;
    server_run r = {.s = s,
                    .handler = closing_handler,
                    .arg = &cc,
                    .use_opts = 1,
                    .opts = {.mode = mode, .max_clients = 1}};
    serve_start(&r, 0);
    nk_tcp_client *c = NULL;
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", nk_tcp_server_port(s), (int)TU_SLACK(5000)), 0);
    char ch;
    /* the handler's close really closed the connection */
    ck_assert_int_eq(nk_tcp_client_recv(c, &ch, 1), 0);
    nk_tcp_client_close(c);
    serve_wait(&r, TU_SLACK(3000));
    tu_assert_code(r.rc, 0);
    ck_assert_int_eq(cc.called, 1);
    tu_assert_code(cc.send, NK_ECLOSED);
    tu_assert_code(cc.sendall, NK_ECLOSED);
    tu_assert_code(cc.recv, NK_ECLOSED);
    tu_assert_code(cc.recv_exact, NK_ECLOSED);
    tu_assert_code(cc.recv_line, NK_ECLOSED);
    tu_assert_code(cc.settimeout, NK_ECLOSED);
    tu_assert_code(cc.gettimeout, NK_ECLOSED);
    tu_assert_code(cc.shutdown, NK_ECLOSED);
    tu_assert_code(cc.nodelay, NK_ECLOSED);
    tu_assert_code(cc.keepalive, NK_ECLOSED);
    tu_assert_code(cc.peername, NK_ECLOSED);
    tu_assert_code(cc.sockname, NK_ECLOSED);
    tu_assert_code(cc.fd, NK_ECLOSED);
    ck_assert_str_eq(nk_strerror(NK_ECLOSED), "[Errno 9] Bad file descriptor");
    ck_assert_int_eq(nk_error_errno(NK_ECLOSED), EBADF);
    /* serve did not close the fd a second time: the probe that reused the
     * fd number is intact, and nothing else leaked */
    ck_assert_int_ge(cc.probe_fd, 0);
    ck_assert_msg(fcntl(cc.probe_fd, F_GETFD) >= 0, "fd %d was closed behind the handler's back",
                  cc.probe_fd);
    ck_assert_int_eq(tu_count_fds(), before_serve + 1);
    close(cc.probe_fd);
    nk_tcp_server_close(s);
}

START_TEST(test_server_serve_sequential_handler_close_then_calls_eclosed)
{
    handler_closes_client(NK_SERVE_SEQUENTIAL, 0);
}
END_TEST

START_TEST(test_server_serve_threads_handler_close_then_calls_eclosed)
{
    handler_closes_client(NK_SERVE_THREADS, 0);
}
END_TEST

START_TEST(test_server_serve_handler_double_close_harmless)
{
    handler_closes_client(NK_SERVE_SEQUENTIAL, 1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* fds                                                                      */
/* ------------------------------------------------------------------------ */

static void serve_no_fd_leak(int mode)
{
    int before_open = tu_count_fds();
    nk_tcp_server *s = open_server();
    int port = nk_tcp_server_port(s);
    int with_server = tu_count_fds();
    echo_state st;
    memset(&st, 0, sizeof st);
    server_run r = {.s = s,
                    .handler = echo_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = mode, .max_clients = 10}};
    serve_start(&r, 0);
    echo_clients(port, 10, "fd check %d\n");
    serve_wait(&r, TU_SLACK(5000));
    tu_assert_code(r.rc, 0);
    ck_assert_int_eq(ld(&st.served), 10);
    ck_assert_int_eq(tu_count_fds(), with_server);
    nk_tcp_server_close(s);
    ck_assert_int_eq(tu_count_fds(), before_open);
}

START_TEST(test_server_serve_sequential_no_fd_leak)
{
    serve_no_fd_leak(NK_SERVE_SEQUENTIAL);
}
END_TEST

START_TEST(test_server_serve_threads_no_fd_leak)
{
    serve_no_fd_leak(NK_SERVE_THREADS);
}
END_TEST

START_TEST(test_server_serve_shutdown_then_close_no_fd_leak)
{
    int before_open = tu_count_fds();
    nk_tcp_server *s = open_server();
    idle_state st;
    memset(&st, 0, sizeof st);
    server_run r = {.s = s,
                    .handler = idle_handler,
                    .arg = &st,
                    .use_opts = 1,
                    .opts = {.mode = NK_SERVE_THREADS, .max_clients = 0}};
    serve_start(&r, 0);
    nk_tcp_client *c = NULL;
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", nk_tcp_server_port(s), (int)TU_SLACK(5000)), 0);
    wait_for(&st.entered);
    tu_assert_code(nk_tcp_server_shutdown(s), 0);
    serve_wait(&r, TU_SLACK(3000));
    tu_assert_code(r.rc, 0);
    nk_tcp_client_close(c);
    nk_tcp_server_close(s);
    ck_assert_int_eq(tu_count_fds(), before_open);
}
END_TEST

Suite *suite_serve(void)
{
    Suite *s = suite_create("serve");

    TCase *tc = tcase_create("sequential");
    tcase_set_timeout(tc, 15);
    tcase_add_test(tc, test_server_serve_sequential_max_clients_returns_0);
    tcase_add_test(tc, test_server_serve_sequential_one_at_a_time);
    tcase_add_test(tc, test_server_serve_handler_peer_equals_client_sockname);
    tcase_add_test(tc, test_server_serve_null_opts_sequential_until_shutdown_from_handler);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, test_server_serve_threads_50_concurrent_clients);
    tcase_add_test(tc, test_server_serve_threads_shutdown_after_clients_waits_for_handlers);
    tcase_add_test(tc, test_server_serve_threads_no_handler_thread_outlives_serve);
    suite_add_tcase(s, tc);

    tc = tcase_create("shutdown");
    tcase_set_timeout(tc, 15);
    tcase_add_test(tc, test_server_serve_sequential_shutdown_from_thread_returns_promptly);
    tcase_add_test(tc, test_server_serve_threads_shutdown_from_thread_returns_promptly);
    tcase_add_test(tc, test_server_serve_sequential_shutdown_from_signal_handler);
    tcase_add_test(tc, test_server_serve_threads_shutdown_from_signal_handler);
    tcase_add_test(tc, test_server_serve_threads_shutdown_unblocks_idle_handler);
    tcase_add_test(tc, test_server_serve_after_shutdown_ecanceled);
    suite_add_tcase(s, tc);

    tc = tcase_create("usage");
    tcase_set_timeout(tc, 15);
    tcase_add_test(tc, test_server_serve_null_args_enull);
    tcase_add_test(tc, test_server_serve_bad_mode_einval);
    tcase_add_test(tc, test_server_serve_sequential_handler_close_then_calls_eclosed);
    tcase_add_test(tc, test_server_serve_threads_handler_close_then_calls_eclosed);
    tcase_add_test(tc, test_server_serve_handler_double_close_harmless);
    suite_add_tcase(s, tc);

    tc = tcase_create("fds");
    tcase_set_timeout(tc, 15);
    tcase_add_test(tc, test_server_serve_sequential_no_fd_leak);
    tcase_add_test(tc, test_server_serve_threads_no_fd_leak);
    tcase_add_test(tc, test_server_serve_shutdown_then_close_no_fd_leak);
    suite_add_tcase(s, tc);

    return s;
}
