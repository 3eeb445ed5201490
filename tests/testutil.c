/* testutil.c - helpers shared by the Check suites (see tests.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <malloc.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"

int tu_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

int tu_have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

int tu_skip_without_ipv6(const char *test)
{
    if (tu_have_ipv6())
        return 0;
    printf("%s: skipped, no IPv6 loopback (cannot bind ::1)\n", test);
    return 1;
}

long long tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long tu_tmult(void)
{
    const char *e = getenv("CK_TIMEOUT_MULTIPLIER");
    long long m = e != NULL ? strtoll(e, NULL, 10) : 1;
    return m < 1 ? 1 : m;
}

void tu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

void tu_spawn_allowing(pthread_t *t, void *(*fn)(void *), void *arg, int allow)
{
    sigset_t mask, old;
    sigfillset(&mask);
    if (allow != 0)
        sigdelset(&mask, allow);
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    ck_assert_int_eq(rc, 0);
}

void tu_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    tu_spawn_allowing(t, fn, arg, 0);
}

int tu_join_within(pthread_t t, long long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(t, NULL, &ts);
}

void tu_assert_tuple(const nk_addr *a, const char *expected)
{
    char text[NK_ADDRSTRLEN];
    int n = nk_addr_tuple(a, text, sizeof text);
    ck_assert_msg(n > 0, "nk_addr_tuple: %s (%d)", nk_strerror(n), n);
    ck_assert_str_eq(text, expected);
}

void tu_assert_host(const nk_addr *a, const char *expected)
{
    char text[NK_ADDRSTRLEN];
    int n = nk_addr_host(a, text, sizeof text);
    ck_assert_msg(n > 0, "nk_addr_host: %s (%d)", nk_strerror(n), n);
    ck_assert_str_eq(text, expected);
}

const char *tu_long_host(char *buf, size_t cap, size_t n, char c)
{
    ck_assert_uint_lt(n, cap);
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

int tu_loopback_socket(int family, int type, int backlog, int *port)
{
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof *sin6;
    }
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
    if (backlog >= 0)
        ck_assert_int_eq(listen(fd, backlog), 0);
    len = sizeof ss;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* ---- the SIGALRM storm ---------------------------------------------------- */

static volatile sig_atomic_t storm_alarms;

static void storm_on_alarm(int sig)
{
    (void)sig;
    storm_alarms++;
}

void tu_storm_start(tu_storm *s, long interval_us)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = storm_on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: EINTR reaches the library */
    storm_alarms = 0;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &s->old_sa), 0);
    /* Under valgrind (CK_TIMEOUT_MULTIPLIER > 1) signal delivery is so slow
     * that a 1 ms storm starves every other thread: scale the interval, but
     * not beyond 100 ms (unless asked for more). */
    long long us = (long long)interval_us * tu_tmult();
    if (us > 100000)
        us = interval_us > 100000 ? interval_us : 100000;
    struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
    struct itimerval it = {tv, tv};
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* Restores the previous SIGALRM action only once no SIGALRM can still be
 * pending: with CK_FORK=no the previous action is Check's own timeout handler,
 * which kills the process group (and SIG_DFL would kill the process). Under
 * valgrind a signal may be delivered well after the timer stopped, so let
 * stragglers reach the handler first, then block SIGALRM and discard whatever
 * is still pending. */
void tu_storm_stop(tu_storm *s)
{
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    tu_sleep_ms(20);
    sigset_t alrm, old_mask;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, &old_mask);
    const struct timespec zero = {0, 0};
    for (int i = 0; i < 100 && sigtimedwait(&alrm, NULL, &zero) == SIGALRM; i++) {
    }
    ck_assert_int_eq(sigaction(SIGALRM, &s->old_sa, NULL), 0);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
}

int tu_storm_alarms(void)
{
    return (int)storm_alarms;
}

/* ---- a plain echo peer ---------------------------------------------------- */

struct tu_echo {
    pthread_t thread;
    int listen_fd;
    int port;
    int chunk;
};

static void *echo_main(void *arg)
{
    tu_echo *e = arg;
    int fd = accept(e->listen_fd, NULL, NULL);
    if (fd >= 0) {
        char buf[65536];
        size_t cap = e->chunk > 0 && (size_t)e->chunk < sizeof buf ? (size_t)e->chunk : sizeof buf;
        ssize_t n;
        while ((n = recv(fd, buf, cap, 0)) > 0) {
            ssize_t off = 0;
            while (off < n) {
                ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
                if (w <= 0)
                    break;
                off += w;
            }
        }
        close(fd);
    }
    return NULL;
}

tu_echo *tu_echo_start(int max_bytes_per_read)
{
    tu_echo *e = calloc(1, sizeof *e);
    ck_assert_ptr_nonnull(e);
    e->chunk = max_bytes_per_read;
    e->listen_fd = tu_loopback_socket(AF_INET, SOCK_STREAM, 16, &e->port);
    ck_assert_int_eq(pthread_create(&e->thread, NULL, echo_main, e), 0);
    return e;
}

int tu_echo_port(const tu_echo *e)
{
    return e->port;
}

void tu_echo_join(tu_echo *e)
{
    pthread_join(e->thread, NULL);
    close(e->listen_fd);
    free(e);
}

void tu_fill_pattern(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }
    for (; i < len; i++)
        buf[i] = (unsigned char)i;
}

/* ---- added for the faults suite (check_faults.c) ------------------------ */


int tu_under_valgrind(void)
{
    /* Valgrind preloads its vgpreload_*.so into every program it runs. */
    const char *pre = getenv("LD_PRELOAD");
    if (pre != NULL && strstr(pre, "vgpreload") != NULL)
        return 1;
    const char *e = getenv("NK_TEST_VALGRIND");
    return e != NULL && strcmp(e, "1") == 0;
}

long long tu_cpu_ms(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

long long tu_heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (long long)mi.uordblks + (long long)mi.hblkhd;
#else
    return -1;
#endif
}

long long tu_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    char line[128];
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    if (ok == NULL)
        return -1;
    char *end;
    (void)strtoll(line, &end, 10); /* size, then resident, in pages */
    char *rest = end;
    long long resident = strtoll(rest, &end, 10);
    return end == rest || resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* ---- end of the faults suite's additions -------------------------------- */
