/* check_io.c - lib/io.c: the deadline wait, EINTR inside it, socket defaults. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "internal.h"
#include "tests.h"

START_TEST(test_io_wait_timeout_expires_after_deadline)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    nk__deadline dl = 0;
    long long t0 = tu_now_ms();
    int rc = nk__wait(p[0], POLLIN, 150, &dl);
    long long took = tu_now_ms() - t0;
    tu_assert_code(rc, NK_ETIMEOUT);
    ck_assert_int_ge(took, 150);
    ck_assert_int_lt(took, 2000);
    ck_assert_int_gt(dl, 0); /* the deadline was started on first use */
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(test_io_wait_nonblock_is_eagain_without_waiting)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    nk__deadline dl = 0;
    tu_assert_code(nk__wait(p[0], POLLIN, NK_NONBLOCK, &dl), -EAGAIN);
    ck_assert_int_eq(dl, 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(test_io_wait_ready_returns_zero)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    nk__deadline dl = 0;
    ck_assert_int_eq(nk__wait(p[0], POLLIN, 1000, &dl), 0);
    ck_assert_int_eq(nk__wait(p[0], POLLIN, NK_BLOCK, &dl), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(test_io_wait_deadline_is_shared_across_calls)
{
    /* A second wait with the same deadline gets only what is left of it. */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    nk__deadline dl = 0;
    long long t0 = tu_now_ms();
    tu_assert_code(nk__wait(p[0], POLLIN, 200, &dl), NK_ETIMEOUT);
    tu_assert_code(nk__wait(p[0], POLLIN, 200, &dl), NK_ETIMEOUT);
    long long took = tu_now_ms() - t0;
    ck_assert_int_ge(took, 200);
    ck_assert_int_lt(took, 390); /* not 400: the second call did not restart it */
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(test_io_wait_eintr_retried_inside_deadline)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    tu_storm st;
    tu_storm_start(&st, 1000);
    nk__deadline dl = 0;
    long long t0 = tu_now_ms();
    int rc = nk__wait(p[0], POLLIN, 300, &dl);
    long long took = tu_now_ms() - t0;
    tu_storm_stop(&st);
    tu_assert_code(rc, NK_ETIMEOUT);
    ck_assert_int_gt(tu_storm_alarms(), 10); /* the storm really interrupted poll */
    ck_assert_int_ge(took, 300);
    ck_assert_int_lt(took, 3000);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(test_io_wait_wake_fd_wins)
{
    int p[2], w[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(pipe(w), 0);
    ck_assert_int_eq(write(w[1], "x", 1), 1);
    nk__deadline dl = 0;
    ck_assert_int_eq(nk__wait_wake(p[0], POLLIN, w[0], NK_BLOCK, &dl), NK__WOKEN);
    close(p[0]);
    close(p[1]);
    close(w[0]);
    close(w[1]);
}
END_TEST

START_TEST(test_io_socket_has_cloexec_and_mode)
{
    int fd = nk__socket(AF_INET, SOCK_STREAM, 1);
    ck_assert_int_ge(fd, 0);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    ck_assert_int_eq(nk__set_nonblock(fd, 0), 0);
    ck_assert(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    close(fd);
    fd = nk__socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    close(fd);
}
END_TEST

START_TEST(test_io_socket_bad_family_is_socket_error)
{
    int before = tu_count_fds();
    int rc = nk__socket(12345, SOCK_STREAM, 0);
    tu_assert_code(rc, -EAFNOSUPPORT);
    ck_assert_int_eq(nk_error_kind(rc), NK_KIND_SOCKET);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_io_check_host_port_limits)
{
    char long_host[300];
    tu_long_host(long_host, sizeof long_host, sizeof long_host - 1, 'a');
    ck_assert_int_eq(nk__check_host_port("h", 0, 0), 0);
    ck_assert_int_eq(nk__check_host_port("h", 0, 65535), 0);
    ck_assert_int_eq(nk__check_host_port(NULL, 1, 80), 0);
    tu_assert_code(nk__check_host_port(NULL, 0, 80), NK_ENULL);
    tu_assert_code(nk__check_host_port("h", 0, -1), NK_EPORT);
    tu_assert_code(nk__check_host_port("h", 0, 65536), NK_EPORT);
    tu_assert_code(nk__check_host_port(long_host, 0, 80), NK_EHOSTLEN);
    long_host[255] = '\0'; /* exactly 255 octets is allowed */
    ck_assert_int_eq(nk__check_host_port(long_host, 0, 80), 0);
}
END_TEST

START_TEST(test_io_check_timeout_values)
{
    ck_assert_int_eq(nk__check_timeout(NK_BLOCK), 0);
    ck_assert_int_eq(nk__check_timeout(NK_NONBLOCK), 0);
    ck_assert_int_eq(nk__check_timeout(1), 0);
    tu_assert_code(nk__check_timeout(-2), NK_EINVAL);
}
END_TEST

Suite *suite_io(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("wait");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_io_wait_timeout_expires_after_deadline);
    tcase_add_test(tc, test_io_wait_nonblock_is_eagain_without_waiting);
    tcase_add_test(tc, test_io_wait_ready_returns_zero);
    tcase_add_test(tc, test_io_wait_deadline_is_shared_across_calls);
    tcase_add_test(tc, test_io_wait_eintr_retried_inside_deadline);
    tcase_add_test(tc, test_io_wait_wake_fd_wins);
    suite_add_tcase(s, tc);
    tc = tcase_create("socket");
    tcase_add_test(tc, test_io_socket_has_cloexec_and_mode);
    tcase_add_test(tc, test_io_socket_bad_family_is_socket_error);
    tcase_add_test(tc, test_io_check_host_port_limits);
    tcase_add_test(tc, test_io_check_timeout_values);
    suite_add_tcase(s, tc);
    return s;
}
