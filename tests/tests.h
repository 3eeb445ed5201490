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

Suite *suite_error(void);
Suite *suite_addr(void);
Suite *suite_resolve(void);
Suite *suite_io(void);
Suite *suite_tcp_client(void);
Suite *suite_tcp_server(void);
Suite *suite_serve(void);
Suite *suite_udp(void);

/* Number of open file descriptors of this process (counts /proc/self/fd). */
int tu_count_fds(void);

/* 1 when the machine can bind ::1 (IPv6 loopback), else 0. A test that needs
 * IPv6 and finds none prints why it skips. */
int tu_have_ipv6(void);

/* Milliseconds on the monotonic clock. */
long long tu_now_ms(void);

/* A plain-socket peer in a thread, for tests that need a server or client not
 * built on netkit: an echo server on 127.0.0.1 port 0 that serves one
 * connection. tu_echo_start returns the port; tu_echo_join waits for it. */
typedef struct tu_echo tu_echo;
tu_echo *tu_echo_start(int max_bytes_per_read);
int tu_echo_port(const tu_echo *e);
void tu_echo_join(tu_echo *e);

/* ck_assert that rc is exactly code, printing both names on failure. */
#define tu_assert_code(rc, code)                                                  \
    ck_assert_msg((long)(rc) == (long)(code), "expected %s (%ld), got %s (%ld): %s", \
                  nk_error_name((int)(code)), (long)(code), nk_error_name((int)(rc)), \
                  (long)(rc), nk_strerror((int)(rc)))

#endif
