/*
 * serve.c - nk_tcp_server_serve: a handler per connection, sequentially or one
 * thread per connection (Python's TCPServer / ThreadingTCPServer), until
 * nk_tcp_server_shutdown or a connection count.
 */
#include "internal.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* Back-off when accept lacks resources (EMFILE...), so serve never spins. */
#define NK__BACKOFF_MS 100

/* What the threads of one serve call share; lives on serve's stack. */
struct job;

struct serve_state {
    pthread_mutex_t lock;
    pthread_cond_t idle;  /* signalled when a thread finishes */
    nk_tcp_client *open;  /* connections whose handler runs */
    long running;         /* handler threads alive */
    struct job *finished; /* threads that are done, waiting to be joined */
};

struct job {
    struct serve_state *st;
    pthread_t thread;
    nk_tcp_client *client;
    nk_addr peer;
    nk_tcp_handler handler;
    void *arg;
    struct job *next; /* on st->finished */
};

static void link_client(struct serve_state *st, nk_tcp_client *c)
{
    c->prev = NULL;
    c->next = st->open;
    if (st->open != NULL)
        st->open->prev = c;
    st->open = c;
}

static void unlink_client(struct serve_state *st, nk_tcp_client *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        st->open = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
}

static void *serve_thread(void *p)
{
    struct job *j = p;
    struct serve_state *st = j->st;
    j->handler(j->client, &j->peer, j->arg);
    /* Close under the lock, so the shutdown pass never sees a stale fd, and
     * hand the job to serve, which joins this thread and frees it. */
    pthread_mutex_lock(&st->lock);
    unlink_client(st, j->client);
    nk__client_release(j->client);
    j->next = st->finished;
    st->finished = j;
    st->running--;
    pthread_cond_broadcast(&st->idle);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* Joins the threads that finished, so none outlives serve or piles up. */
static void reap(struct serve_state *st)
{
    pthread_mutex_lock(&st->lock);
    struct job *j = st->finished;
    st->finished = NULL;
    pthread_mutex_unlock(&st->lock);
    while (j != NULL) {
        struct job *next = j->next;
        pthread_join(j->thread, NULL);
        free(j);
        j = next;
    }
}

/* Starts a handler thread for c. Returns 0 or a negative code. */
static int start_thread(struct serve_state *st, nk_tcp_client *c, const nk_addr *peer,
                        nk_tcp_handler handler, void *arg)
{
    struct job *j = malloc(sizeof *j);
    if (j == NULL)
        return -ENOMEM;
    *j = (struct job){.st = st, .client = c, .peer = *peer, .handler = handler, .arg = arg};
    pthread_mutex_lock(&st->lock);
    int err = pthread_create(&j->thread, NULL, serve_thread, j);
    if (err == 0) {
        link_client(st, c);
        st->running++;
    }
    pthread_mutex_unlock(&st->lock);
    if (err != 0) {
        free(j);
        return -err;
    }
    return 0;
}

/* Waits for every handler thread; on shutdown, first ends their reads. */
static void drain(struct serve_state *st, nk_tcp_server *s)
{
    int reads_shut = 0;
    pthread_mutex_lock(&st->lock);
    while (st->running > 0) {
        if (!reads_shut && nk__server_stopped(s)) {
            for (nk_tcp_client *c = st->open; c != NULL; c = c->next)
                shutdown(c->fd, SHUT_RD);
            reads_shut = 1;
        }
        /* Wake up now and then to notice a shutdown that arrives meanwhile. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&st->idle, &st->lock, &until);
    }
    pthread_mutex_unlock(&st->lock);
    reap(st);
}

static int is_resource_error(int rc)
{
    return rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM;
}

/* Errors of one incoming connection (Linux passes pending network errors to accept). */
static int is_transient_error(int rc)
{
    return rc == -EPROTO || rc == -ENETDOWN || rc == -ENOPROTOOPT || rc == -EHOSTDOWN ||
           rc == -EHOSTUNREACH || rc == -EOPNOTSUPP || rc == -ENETUNREACH || rc == -EPERM ||
           rc == -ETIMEDOUT || rc == -ECONNRESET;
}

int nk_tcp_server_serve(nk_tcp_server *s, nk_tcp_handler handler, void *arg,
                        const nk_serve_opts *opts)
{
    int rc = nk__server_check(s);
    if (rc < 0)
        return rc;
    if (handler == NULL)
        return NK_ENULL;
    nk_serve_opts o = {0};
    if (opts != NULL)
        o = *opts;
    if ((o.mode != NK_SERVE_SEQUENTIAL && o.mode != NK_SERVE_THREADS) || o.max_clients < 0)
        return NK_EINVAL;
    if (nk__server_stopped(s))
        return -ECANCELED;

    struct serve_state st = {.open = NULL, .running = 0, .finished = NULL};
    int err = pthread_mutex_init(&st.lock, NULL);
    if (err != 0)
        return -err;
    if ((err = pthread_cond_init(&st.idle, NULL)) != 0) {
        pthread_mutex_destroy(&st.lock);
        return -err;
    }
    long served = 0;
    rc = 0;
    while (o.max_clients == 0 || served < o.max_clients) {
        nk_tcp_client *c;
        nk_addr peer;
        rc = nk_tcp_server_accept(s, &c, &peer, NK_BLOCK);
        if (rc == -ECANCELED) {
            rc = 0;
            break;
        }
        if (rc < 0 && is_transient_error(rc))
            continue;
        if (rc < 0 && is_resource_error(rc)) {
            nk__deadline pause = 0; /* sleep, but wake at once on shutdown */
            nk__wait(s->wake[0], POLLIN, NK__BACKOFF_MS, &pause);
            continue;
        }
        if (rc < 0)
            break;
        served++;
        nk__client_set_served(c, 1);
        if (o.mode == NK_SERVE_SEQUENTIAL) {
            handler(c, &peer, arg);
            nk__client_release(c);
            continue;
        }
        reap(&st);
        rc = start_thread(&st, c, &peer, handler, arg);
        if (rc < 0) {
            /* No thread for it (EAGAIN, ENOMEM): drop this connection, back off. */
            nk__client_release(c);
            nk__deadline pause = 0;
            nk__wait(s->wake[0], POLLIN, NK__BACKOFF_MS, &pause);
            rc = 0;
        }
    }
    drain(&st, s);
    pthread_cond_destroy(&st.idle);
    pthread_mutex_destroy(&st.lock);
    return rc;
}
