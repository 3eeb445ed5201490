/*
 * tests.h - shared declarations for netkit's Check suites.
 *
 * One suite per lib module (tests/check_<module>.c defines suite_<module>()),
 * collected by tests/check_main.c. Helpers every suite may use live in
 * tests/testutil.c. Every network test talks to 127.0.0.1 or ::1 on port 0.
 */
#ifndef NETKIT_TESTS_H
#define NETKIT_TESTS_H

#include <check.h>
#include <netkit.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

Suite *suite_error(void);
Suite *suite_addr(void);
Suite *suite_resolve(void);
Suite *suite_io(void);
Suite *suite_tcp_client(void);
Suite *suite_tcp_server(void);
Suite *suite_serve(void);
Suite *suite_udp(void);
Suite *suite_selector(void);
Suite *suite_hostile(void); /* check_hostile.c: every export under hostile arguments */
Suite *suite_faults(void);  /* check_faults.c: peers, signals and resources that misbehave */

/* Number of open file descriptors of this process (counts /proc/self/fd). */
int tu_count_fds(void);

/* Fills buf with a pseudo-random pattern (xorshift from seed), for byte-exact checks. */
void tu_fill_pattern(unsigned char *buf, size_t len, uint64_t seed);

/* 1 when the machine can bind ::1 (IPv6 loopback), else 0. A test that needs
 * IPv6 and finds none prints why it skips. */
int tu_have_ipv6(void);

/* 0 when tu_have_ipv6(); else prints that test skips for want of IPv6 and returns 1. */
int tu_skip_without_ipv6(const char *test);

/* Milliseconds on the monotonic clock. */
long long tu_now_ms(void);

/* CK_TIMEOUT_MULTIPLIER, at least 1 (valgrind runs set it: they are slower). */
long long tu_tmult(void);

/* ms scaled by tu_tmult(), for time bounds and timeouts a slow run stretches. */
#define TU_SLACK(ms) ((long long)(ms)*tu_tmult())

/* Sleeps ms milliseconds, sleeping on when a signal interrupts (EINTR). */
void tu_sleep_ms(long ms);

/* Starts a thread with every signal blocked, so signals reach the test thread. */
void tu_spawn(pthread_t *t, void *(*fn)(void *), void *arg);

/* tu_spawn, but the thread leaves signal `allow` unblocked (0: none). */
void tu_spawn_allowing(pthread_t *t, void *(*fn)(void *), void *arg, int allow);

/* Joins t, waiting at most ms milliseconds; returns 0 when joined. */
int tu_join_within(pthread_t t, long long ms);

/* ck_asserts that nk_addr_tuple(a) succeeds and gives exactly expected. */
void tu_assert_tuple(const nk_addr *a, const char *expected);

/* ck_asserts that nk_addr_host(a) succeeds and gives exactly expected. */
void tu_assert_host(const nk_addr *a, const char *expected);

/* Makes buf (cap bytes, cap > n) a host string of n copies of c; returns buf. */
const char *tu_long_host(char *buf, size_t cap, size_t n, char c);

/* A plain socket bound to family's loopback, port 0 (in *port); listens if backlog >= 0. */
int tu_loopback_socket(int family, int type, int backlog, int *port);

/* A SIGALRM storm's saved state (see tu_storm_start). */
typedef struct tu_storm {
    struct sigaction old_sa;
} tu_storm;

/* SIGALRM every interval_us x tu_tmult() (max 100 ms), no SA_RESTART: syscalls see EINTR. */
void tu_storm_start(tu_storm *s, long interval_us);

/* Stops the storm; restores the old SIGALRM action once none can be pending. */
void tu_storm_stop(tu_storm *s);

/* SIGALRMs counted since the last tu_storm_start. */
int tu_storm_alarms(void);

/* A plain-socket peer in a thread, for tests that need a server or client not
 * built on netkit: an echo server on 127.0.0.1 port 0 that serves one
 * connection. tu_echo_start returns the port; tu_echo_join waits for it. */
typedef struct tu_echo tu_echo;
tu_echo *tu_echo_start(int max_bytes_per_read);
int tu_echo_port(const tu_echo *e);
void tu_echo_join(tu_echo *e);

/* ---- added for the faults suite (check_faults.c) ------------------------ */

/* 1 when the tests run under valgrind (RUNNING_ON_VALGRIND where valgrind.h
 * exists, else the environment variable NK_TEST_VALGRIND=1). */
int tu_under_valgrind(void);

/* CPU time (user + system) of this whole process, in milliseconds. */
long long tu_cpu_ms(void);

/* Heap bytes in use according to malloc (mallinfo2's uordblks + hblkhd);
 * -1 where the allocator does not say. */
long long tu_heap_in_use(void);

/* Resident set size of this process in bytes (/proc/self/statm), -1 if unknown. */
long long tu_rss_bytes(void);

/* ---- end of the faults suite's additions -------------------------------- */

/* ck_assert that rc is exactly code, printing both names on failure. */
#define tu_assert_code(rc, code)                                                                   \
    ck_assert_msg((long)(rc) == (long)(code), "expected %s (%ld), got %s (%ld): %s",               \
                  nk_error_name((int)(code)), (long)(code), nk_error_name((int)(rc)), (long)(rc),  \
                  nk_strerror((int)(rc)))

#endif
