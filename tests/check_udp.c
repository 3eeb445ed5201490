/* check_udp.c - nk_udp_endpoint on 127.0.0.1 / ::1, ephemeral ports only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests.h"

/* Every receive that expects data waits at most this long. */
#define WAIT_MS 2000

/* nk_udp_open that must succeed; the endpoint gets a bounded receive timeout. */
static nk_udp_endpoint *udp_open_ok(const char *host)
{
    nk_udp_endpoint *u = NULL;
    int rc = nk_udp_open(&u, host, 0);
    ck_assert_msg(rc == 0, "nk_udp_open(%s, 0) = %s (%d): %s", host ? host : "NULL",
                  nk_error_name(rc), rc, nk_strerror(rc));
    ck_assert_ptr_nonnull(u);
    tu_assert_code(nk_udp_settimeout(u, WAIT_MS), 0);
    return u;
}

static int udp_port_ok(const nk_udp_endpoint *u)
{
    int port = nk_udp_port(u);
    ck_assert_msg(port > 0 && port <= 65535, "nk_udp_port = %d (%s)", port, nk_strerror(port));
    return port;
}

/* ---- open / accessors ------------------------------------------------- */

START_TEST(test_udp_open_loopback_ephemeral_port)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    int port = udp_port_ok(u);
    nk_addr me;
    tu_assert_code(nk_udp_sockname(u, &me), 0);
    ck_assert_int_eq(nk_addr_family(&me), AF_INET);
    ck_assert_int_eq(nk_addr_port(&me), port);
    tu_assert_host(&me, "127.0.0.1");
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_open_named_host_binds_ipv4)
{
    /* "Named hosts bind IPv4 first": localhost is 127.0.0.1. */
    nk_udp_endpoint *u = udp_open_ok("localhost");
    nk_addr me;
    tu_assert_code(nk_udp_sockname(u, &me), 0);
    ck_assert_int_eq(nk_addr_family(&me), AF_INET);
    tu_assert_host(&me, "127.0.0.1");
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_open_empty_host_wildcard)
{
    /* "A NULL or empty host binds every interface." */
    nk_udp_endpoint *u = udp_open_ok("");
    nk_addr me;
    char host[NK_ADDRSTRLEN];
    tu_assert_code(nk_udp_sockname(u, &me), 0);
    int n = nk_addr_host(&me, host, sizeof host);
    ck_assert_msg(n > 0, "nk_addr_host: %s (%d)", nk_strerror(n), n);
    ck_assert_msg(strcmp(host, "::") == 0 || strcmp(host, "0.0.0.0") == 0,
                  "bound to %s, not a wildcard", host);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_fd_valid_cloexec_dgram)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    int fd = nk_udp_fd(u);
    ck_assert_int_ge(fd, 0);
    int flags = fcntl(fd, F_GETFD);
    ck_assert_int_ge(flags, 0);
    ck_assert_msg(flags & FD_CLOEXEC, "fd %d lacks FD_CLOEXEC", fd);
    int type = 0;
    socklen_t len = sizeof type;
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    ck_assert_int_eq(type, SOCK_DGRAM);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_sockname_matches_getsockname)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    nk_addr mine, sys;
    tu_assert_code(nk_udp_sockname(u, &mine), 0);
    memset(&sys, 0, sizeof sys);
    sys.len = sizeof sys.ss;
    ck_assert_int_eq(getsockname(nk_udp_fd(u), (struct sockaddr *)&sys.ss, &sys.len), 0);
    ck_assert_int_eq(nk_addr_equal(&mine, &sys), 1);
    ck_assert_int_eq(nk_udp_port(u), nk_addr_port(&sys));
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_peername_before_connect_enotconn)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    nk_addr peer;
    tu_assert_code(nk_udp_peername(u, &peer), -ENOTCONN);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_close_releases_fd)
{
    int before = tu_count_fds();
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    ck_assert_int_eq(tu_count_fds(), before + 1);
    nk_udp_close(u);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_udp_close_null_noop)
{
    nk_udp_close(NULL);
}
END_TEST

START_TEST(test_udp_open_addrinuse_no_fd_leak)
{
    int port;
    int fd = tu_loopback_socket(AF_INET, SOCK_DGRAM, -1, &port); /* no SO_REUSEADDR */
    int before = tu_count_fds();
    nk_udp_endpoint *u = NULL;
    int rc = nk_udp_open(&u, "127.0.0.1", port);
    tu_assert_code(rc, -EADDRINUSE);
    ck_assert_str_eq(nk_strerror(rc), "[Errno 98] Address already in use");
    ck_assert_int_eq(tu_count_fds(), before);
    close(fd);
}
END_TEST

/* ---- usage errors ----------------------------------------------------- */

START_TEST(test_udp_open_null_out_enull)
{
    tu_assert_code(nk_udp_open(NULL, "127.0.0.1", 0), NK_ENULL);
}
END_TEST

START_TEST(test_udp_open_port_out_of_range_eport)
{
    nk_udp_endpoint *u = NULL;
    int before = tu_count_fds();
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", 70000), NK_EPORT);
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", 65536), NK_EPORT);
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", -1), NK_EPORT);
    tu_assert_code(nk_udp_open(&u, NULL, 70000), NK_EPORT);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_udp_open_long_host_ehostlen)
{
    char host[512];
    tu_long_host(host, sizeof host, 300, 'a');
    nk_udp_endpoint *u = NULL;
    tu_assert_code(nk_udp_open(&u, host, 0), NK_EHOSTLEN);
}
END_TEST

START_TEST(test_udp_calls_null_handle_enull)
{
    char buf[8] = "x";
    nk_addr a;
    tu_assert_code(nk_addr_set(&a, "127.0.0.1", 9), 0);
    tu_assert_code(nk_udp_settimeout(NULL, 100), NK_ENULL);
    tu_assert_code(nk_udp_gettimeout(NULL), NK_ENULL);
    tu_assert_code(nk_udp_sendto(NULL, buf, 1, "127.0.0.1", 9), NK_ENULL);
    tu_assert_code(nk_udp_sendto_addr(NULL, buf, 1, &a), NK_ENULL);
    tu_assert_code(nk_udp_recvfrom(NULL, buf, sizeof buf, NULL), NK_ENULL);
    tu_assert_code(nk_udp_connect(NULL, "127.0.0.1", 9), NK_ENULL);
    tu_assert_code(nk_udp_send(NULL, buf, 1), NK_ENULL);
    tu_assert_code(nk_udp_recv(NULL, buf, sizeof buf), NK_ENULL);
    tu_assert_code(nk_udp_sockname(NULL, &a), NK_ENULL);
    tu_assert_code(nk_udp_port(NULL), NK_ENULL);
    tu_assert_code(nk_udp_peername(NULL, &a), NK_ENULL);
    tu_assert_code(nk_udp_fd(NULL), NK_ENULL);
}
END_TEST

START_TEST(test_udp_calls_null_buffers_enull)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    int port = udp_port_ok(u);
    tu_assert_code(nk_udp_sendto(u, NULL, 5, "127.0.0.1", port), NK_ENULL);
    tu_assert_code(nk_udp_sendto_addr(u, "hello", 5, NULL), NK_ENULL);
    tu_assert_code(nk_udp_recvfrom(u, NULL, 10, NULL), NK_ENULL);
    tu_assert_code(nk_udp_sockname(u, NULL), NK_ENULL);
    tu_assert_code(nk_udp_peername(u, NULL), NK_ENULL);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_sendto_bad_port_and_host)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    char host[512];
    tu_long_host(host, sizeof host, 300, 'a');
    tu_assert_code(nk_udp_sendto(u, "x", 1, "127.0.0.1", 70000), NK_EPORT);
    tu_assert_code(nk_udp_sendto(u, "x", 1, "127.0.0.1", -1), NK_EPORT);
    tu_assert_code(nk_udp_sendto(u, "x", 1, host, 9), NK_EHOSTLEN);
    tu_assert_code(nk_udp_connect(u, "127.0.0.1", 70000), NK_EPORT);
    tu_assert_code(nk_udp_connect(u, host, 9), NK_EHOSTLEN);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_sendto_ipv6_host_from_ipv4_endpoint_eai_addrfamily)
{
    /* As Python's AF_INET socket: sendto(b"x", ("::1", port)) raises
     * gaierror(-9). No datagram is sent. */
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    ssize_t n = nk_udp_sendto(u, "x", 1, "::1", udp_port_ok(u));
    tu_assert_code(n, NK_EAI(EAI_ADDRFAMILY));
    ck_assert_str_eq(nk_strerror((int)n), "[Errno -9] Address family for hostname not supported");
    nk_udp_close(u);
}
END_TEST

/* ---- timeouts --------------------------------------------------------- */

START_TEST(test_udp_gettimeout_default_block)
{
    nk_udp_endpoint *u = NULL;
    tu_assert_code(nk_udp_open(&u, "127.0.0.1", 0), 0);
    /* A fresh endpoint blocks, like a new Python socket (timeout None). */
    ck_assert_int_eq(nk_udp_gettimeout(u), NK_BLOCK);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_gettimeout_returns_set_value)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    tu_assert_code(nk_udp_settimeout(u, 250), 0);
    ck_assert_int_eq(nk_udp_gettimeout(u), 250);
    tu_assert_code(nk_udp_settimeout(u, NK_NONBLOCK), 0);
    ck_assert_int_eq(nk_udp_gettimeout(u), 0);
    tu_assert_code(nk_udp_settimeout(u, NK_BLOCK), 0);
    ck_assert_int_eq(nk_udp_gettimeout(u), -1);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_settimeout_below_minus_one_einval)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    tu_assert_code(nk_udp_settimeout(u, 300), 0);
    tu_assert_code(nk_udp_settimeout(u, -2), NK_EINVAL);
    tu_assert_code(nk_udp_settimeout(u, -1000), NK_EINVAL);
    ck_assert_int_eq(nk_udp_gettimeout(u), 300); /* unchanged */
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_recvfrom_timeout_etimeout)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    tu_assert_code(nk_udp_settimeout(u, 100), 0);
    char buf[16];
    nk_addr from;
    long long t0 = tu_now_ms();
    ssize_t n = nk_udp_recvfrom(u, buf, sizeof buf, &from);
    long long dt = tu_now_ms() - t0;
    tu_assert_code(n, NK_ETIMEOUT);
    ck_assert_str_eq(nk_strerror((int)n), "timed out");
    ck_assert_msg(dt >= 90, "timed out after only %lld ms", dt);
    ck_assert_msg(dt < 1500, "timed out after %lld ms, wanted about 100", dt);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_recv_timeout_etimeout)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    tu_assert_code(nk_udp_connect(a, "127.0.0.1", udp_port_ok(b)), 0);
    tu_assert_code(nk_udp_settimeout(a, 100), 0);
    char buf[16];
    long long t0 = tu_now_ms();
    ssize_t n = nk_udp_recv(a, buf, sizeof buf);
    long long dt = tu_now_ms() - t0;
    tu_assert_code(n, NK_ETIMEOUT);
    ck_assert_msg(dt >= 90 && dt < 1500, "timed out after %lld ms, wanted about 100", dt);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_recvfrom_nonblocking_eagain)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    tu_assert_code(nk_udp_settimeout(u, NK_NONBLOCK), 0);
    char buf[16];
    long long t0 = tu_now_ms();
    ssize_t n = nk_udp_recvfrom(u, buf, sizeof buf, NULL);
    long long dt = tu_now_ms() - t0;
    tu_assert_code(n, -EAGAIN);
    ck_assert_msg(dt < 500, "non-blocking receive took %lld ms", dt);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_recvfrom_nonblocking_data_ready)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    ck_assert_int_eq(nk_udp_sendto(a, "ready", 5, "127.0.0.1", udp_port_ok(b)), 5);
    /* Loopback delivery is synchronous, but allow a short bounded retry. */
    tu_assert_code(nk_udp_settimeout(b, NK_NONBLOCK), 0);
    char buf[16];
    ssize_t n = -EAGAIN;
    for (int i = 0; i < 100 && n == -EAGAIN; i++) {
        n = nk_udp_recvfrom(b, buf, sizeof buf, NULL);
        if (n == -EAGAIN)
            tu_sleep_ms(10);
    }
    ck_assert_int_eq(n, 5);
    ck_assert_mem_eq(buf, "ready", 5);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

struct delayed_sender {
    int port;
    int delay_ms;
};

static void *delayed_sender_main(void *arg)
{
    struct delayed_sender *d = arg;
    tu_sleep_ms(d->delay_ms);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        struct sockaddr_in to;
        memset(&to, 0, sizeof to);
        to.sin_family = AF_INET;
        to.sin_port = htons((unsigned short)d->port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)sendto(fd, "late", 4, 0, (struct sockaddr *)&to, sizeof to);
        close(fd);
    }
    return NULL;
}

START_TEST(test_udp_recvfrom_waits_for_late_datagram)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    tu_assert_code(nk_udp_settimeout(u, 3000), 0);
    struct delayed_sender d = {udp_port_ok(u), 100};
    pthread_t t;
    tu_spawn(&t, delayed_sender_main, &d);
    char buf[16];
    long long t0 = tu_now_ms();
    ssize_t n = nk_udp_recvfrom(u, buf, sizeof buf, NULL);
    long long dt = tu_now_ms() - t0;
    pthread_join(t, NULL);
    ck_assert_msg(n == 4, "recvfrom = %zd (%s)", n, nk_strerror((int)n));
    ck_assert_mem_eq(buf, "late", 4);
    ck_assert_msg(dt >= 50 && dt < 2500, "received after %lld ms, sender waited 100", dt);
    nk_udp_close(u);
}
END_TEST

/* ---- datagrams -------------------------------------------------------- */

START_TEST(test_udp_sendto_recvfrom_roundtrip)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    int pa = udp_port_ok(a), pb = udp_port_ok(b);
    ck_assert_int_eq(nk_udp_sendto(a, "hello", 5, "127.0.0.1", pb), 5);
    char buf[64];
    nk_addr from;
    ssize_t n = nk_udp_recvfrom(b, buf, sizeof buf, &from);
    ck_assert_msg(n == 5, "recvfrom = %zd (%s)", n, nk_strerror((int)n));
    ck_assert_mem_eq(buf, "hello", 5);
    char want[NK_ADDRSTRLEN];
    ck_assert_int_eq(nk_addr_family(&from), AF_INET);
    tu_assert_host(&from, "127.0.0.1");
    ck_assert_int_eq(nk_addr_port(&from), pa);
    snprintf(want, sizeof want, "('127.0.0.1', %d)", pa);
    tu_assert_tuple(&from, want);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_sendto_addr_roundtrip)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    nk_addr to, from, me;
    tu_assert_code(nk_udp_sockname(b, &to), 0);
    tu_assert_code(nk_udp_sockname(a, &me), 0);
    ck_assert_int_eq(nk_udp_sendto_addr(a, "abc", 3, &to), 3);
    char buf[16];
    ck_assert_int_eq(nk_udp_recvfrom(b, buf, sizeof buf, &from), 3);
    ck_assert_mem_eq(buf, "abc", 3);
    ck_assert_int_eq(nk_addr_equal(&from, &me), 1);
    /* Reply to the address recvfrom reported. */
    ck_assert_int_eq(nk_udp_sendto_addr(b, "xyz", 3, &from), 3);
    ck_assert_int_eq(nk_udp_recvfrom(a, buf, sizeof buf, NULL), 3);
    ck_assert_mem_eq(buf, "xyz", 3);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_sendto_addr_bad_length_einval)
{
    /* An nk_addr whose len exceeds its storage (a caller's memory error) is
     * refused instead of being copied past the end of a stack buffer, and one
     * too short for its family is refused too (found by fuzz/fuzz_addr). */
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    nk_addr to;
    tu_assert_code(nk_udp_sockname(b, &to), 0);
    to.len = 1000;
    tu_assert_code(nk_udp_sendto_addr(a, "x", 1, &to), NK_EINVAL);
    to.len = (socklen_t)sizeof to.ss + 1;
    tu_assert_code(nk_udp_sendto_addr(a, "x", 1, &to), NK_EINVAL);
    to.len = 8;
    ssize_t rc = nk_udp_sendto_addr(a, "x", 1, &to);
    ck_assert_msg(rc == NK_EINVAL || rc == -EINVAL, "a 8-byte IPv4 address: %s",
                  nk_strerror((int)rc));
    /* Nothing was sent. */
    tu_assert_code(nk_udp_settimeout(b, NK_NONBLOCK), 0);
    char buf[4];
    tu_assert_code(nk_udp_recv(b, buf, sizeof buf), -EAGAIN);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_recvfrom_null_from_ok)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    ck_assert_int_eq(nk_udp_sendto(a, "q", 1, "127.0.0.1", udp_port_ok(b)), 1);
    char buf[4];
    ck_assert_int_eq(nk_udp_recvfrom(b, buf, sizeof buf, NULL), 1);
    ck_assert_int_eq(buf[0], 'q');
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_recvfrom_empty_datagram)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    char buf[8] = "";
    ck_assert_int_eq(nk_udp_sendto(a, buf, 0, "127.0.0.1", udp_port_ok(b)), 0);
    nk_addr from;
    ck_assert_int_eq(nk_udp_recvfrom(b, buf, sizeof buf, &from), 0);
    ck_assert_int_eq(nk_addr_port(&from), udp_port_ok(a));
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_recvfrom_truncated_emsgsize_next_intact)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    int pb = udp_port_ok(b);
    char big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (char)('A' + i % 26);
    ck_assert_int_eq(nk_udp_sendto(a, big, sizeof big, "127.0.0.1", pb), 100);
    ck_assert_int_eq(nk_udp_sendto(a, "after", 5, "127.0.0.1", pb), 5);

    char small[16];
    memset(small, '#', sizeof small);
    ssize_t n = nk_udp_recvfrom(b, small, 10, NULL);
    tu_assert_code(n, -EMSGSIZE);
    ck_assert_str_eq(nk_strerror((int)n), "[Errno 90] Message too long");
    ck_assert_mem_eq(small, big, 10);
    ck_assert_int_eq(small[10], '#'); /* nothing past cap */

    /* The rest of the long datagram is gone; the next one arrives whole. */
    char buf[200];
    n = nk_udp_recvfrom(b, buf, sizeof buf, NULL);
    ck_assert_msg(n == 5, "next recvfrom = %zd (%s)", n, nk_strerror((int)n));
    ck_assert_mem_eq(buf, "after", 5);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

/* A truncated datagram still names its sender, and a sockaddr-sized
 * receive (from != NULL) reports the same truncation as from == NULL. */
START_TEST(test_udp_recvfrom_truncated_reports_sender)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    ck_assert_int_eq(nk_udp_sendto(a, "0123456789", 10, "127.0.0.1", udp_port_ok(b)), 10);
    char buf[4];
    nk_addr from;
    memset(&from, 0, sizeof from);
    tu_assert_code(nk_udp_recvfrom(b, buf, sizeof buf, &from), -EMSGSIZE);
    ck_assert_mem_eq(buf, "0123", 4);
    ck_assert_int_eq(nk_addr_family(&from), AF_INET);
    ck_assert_int_eq(nk_addr_port(&from), udp_port_ok(a));
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_recvfrom_exact_fit_not_truncated)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    ck_assert_int_eq(nk_udp_sendto(a, "0123456789", 10, "127.0.0.1", udp_port_ok(b)), 10);
    char buf[10];
    ck_assert_int_eq(nk_udp_recvfrom(b, buf, sizeof buf, NULL), 10);
    ck_assert_mem_eq(buf, "0123456789", 10);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_sendto_oversized_emsgsize)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    static char huge[70000];
    tu_assert_code(nk_udp_sendto(a, huge, sizeof huge, "127.0.0.1", udp_port_ok(b)), -EMSGSIZE);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

/* ---- connected endpoints ---------------------------------------------- */

START_TEST(test_udp_connect_send_recv)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1");
    int pb = udp_port_ok(b);
    tu_assert_code(nk_udp_connect(a, "127.0.0.1", pb), 0);

    nk_addr peer, bname, aname, from;
    tu_assert_code(nk_udp_peername(a, &peer), 0);
    tu_assert_code(nk_udp_sockname(b, &bname), 0);
    tu_assert_code(nk_udp_sockname(a, &aname), 0);
    ck_assert_int_eq(nk_addr_equal(&peer, &bname), 1);

    ck_assert_int_eq(nk_udp_send(a, "ping", 4), 4);
    char buf[16];
    ck_assert_int_eq(nk_udp_recvfrom(b, buf, sizeof buf, &from), 4);
    ck_assert_mem_eq(buf, "ping", 4);
    ck_assert_int_eq(nk_addr_equal(&from, &aname), 1);

    ck_assert_int_eq(nk_udp_sendto_addr(b, "pong", 4, &from), 4);
    ssize_t n = nk_udp_recv(a, buf, sizeof buf);
    ck_assert_msg(n == 4, "recv = %zd (%s)", n, nk_strerror((int)n));
    ck_assert_mem_eq(buf, "pong", 4);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_connect_filters_other_senders)
{
    nk_udp_endpoint *a = udp_open_ok("127.0.0.1"), *b = udp_open_ok("127.0.0.1"),
                    *c = udp_open_ok("127.0.0.1");
    int pa = udp_port_ok(a);
    tu_assert_code(nk_udp_connect(a, "127.0.0.1", udp_port_ok(b)), 0);
    ck_assert_int_eq(nk_udp_sendto(c, "nope", 4, "127.0.0.1", pa), 4);
    ck_assert_int_eq(nk_udp_sendto(b, "yes", 3, "127.0.0.1", pa), 3);
    char buf[16];
    ck_assert_int_eq(nk_udp_recv(a, buf, sizeof buf), 3);
    ck_assert_mem_eq(buf, "yes", 3);
    tu_assert_code(nk_udp_settimeout(a, 100), 0);
    tu_assert_code(nk_udp_recv(a, buf, sizeof buf), NK_ETIMEOUT);
    nk_udp_close(a);
    nk_udp_close(b);
    nk_udp_close(c);
}
END_TEST

START_TEST(test_udp_send_unconnected_edestaddrreq)
{
    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    tu_assert_code(nk_udp_send(u, "x", 1), -EDESTADDRREQ);
    nk_udp_close(u);
}
END_TEST

START_TEST(test_udp_recv_closed_peer_econnrefused)
{
    /* A port that was bound and is now closed: the ICMP port unreachable
     * comes back on the connected endpoint as -ECONNREFUSED. */
    int dead_port;
    int fd = tu_loopback_socket(AF_INET, SOCK_DGRAM, -1, &dead_port);
    close(fd);

    nk_udp_endpoint *u = udp_open_ok("127.0.0.1");
    tu_assert_code(nk_udp_connect(u, "127.0.0.1", dead_port), 0);
    tu_assert_code(nk_udp_settimeout(u, 200), 0);
    ssize_t last = 0;
    int refused = 0;
    long long deadline = tu_now_ms() + 3000;
    for (int i = 0; i < 10 && !refused && tu_now_ms() < deadline; i++) {
        ssize_t s = nk_udp_send(u, "x", 1);
        ck_assert_msg(s == 1 || s == -ECONNREFUSED, "send = %zd (%s)", s, nk_strerror((int)s));
        char buf[8];
        last = nk_udp_recv(u, buf, sizeof buf);
        if (last == -ECONNREFUSED)
            refused = 1;
        else
            tu_assert_code(last, NK_ETIMEOUT);
    }
    ck_assert_msg(refused, "no -ECONNREFUSED; last recv = %zd (%s)", last, nk_strerror((int)last));
    ck_assert_str_eq(nk_strerror(-ECONNREFUSED), "[Errno 111] Connection refused");
    nk_udp_close(u);
}
END_TEST

/* ---- IPv6 and dual stack ---------------------------------------------- */

START_TEST(test_udp_ipv6_loopback_roundtrip)
{
    if (tu_skip_without_ipv6(__func__))
        return;
    nk_udp_endpoint *a = udp_open_ok("::1"), *b = udp_open_ok("::1");
    int pa = udp_port_ok(a), pb = udp_port_ok(b);
    nk_addr me;
    tu_assert_code(nk_udp_sockname(b, &me), 0);
    ck_assert_int_eq(nk_addr_family(&me), AF_INET6);

    ck_assert_int_eq(nk_udp_sendto(a, "six", 3, "::1", pb), 3);
    char buf[16], want[NK_ADDRSTRLEN];
    nk_addr from;
    ssize_t n = nk_udp_recvfrom(b, buf, sizeof buf, &from);
    ck_assert_msg(n == 3, "recvfrom = %zd (%s)", n, nk_strerror((int)n));
    ck_assert_mem_eq(buf, "six", 3);
    ck_assert_int_eq(nk_addr_family(&from), AF_INET6);
    snprintf(want, sizeof want, "('::1', %d, 0, 0)", pa);
    tu_assert_tuple(&from, want);
    nk_udp_close(a);
    nk_udp_close(b);
}
END_TEST

START_TEST(test_udp_wildcard_ipv4_sender_reported_as_ipv4)
{
    nk_udp_endpoint *w = udp_open_ok(NULL), *a = udp_open_ok("127.0.0.1");
    int pw = udp_port_ok(w), pa = udp_port_ok(a);
    ck_assert_int_eq(nk_udp_sendto(a, "v4", 2, "127.0.0.1", pw), 2);
    char buf[16], want[NK_ADDRSTRLEN];
    nk_addr from;
    ssize_t n = nk_udp_recvfrom(w, buf, sizeof buf, &from);
    ck_assert_msg(n == 2, "recvfrom = %zd (%s)", n, nk_strerror((int)n));
    ck_assert_int_eq(nk_addr_family(&from), AF_INET);
    tu_assert_host(&from, "127.0.0.1"); /* not ::ffff:127.0.0.1 */
    snprintf(want, sizeof want, "('127.0.0.1', %d)", pa);
    tu_assert_tuple(&from, want);
    nk_udp_close(w);
    nk_udp_close(a);
}
END_TEST

START_TEST(test_udp_wildcard_replies_to_ipv4_sender)
{
    /* The normalised IPv4 address recvfrom gives is usable to reply, and a
     * numeric IPv4 host works too, on a (possibly dual-stack) wildcard endpoint. */
    nk_udp_endpoint *w = udp_open_ok(NULL), *a = udp_open_ok("127.0.0.1");
    int pw = udp_port_ok(w), pa = udp_port_ok(a);
    ck_assert_int_eq(nk_udp_sendto(a, "q", 1, "127.0.0.1", pw), 1);
    char buf[16];
    nk_addr from;
    ck_assert_int_eq(nk_udp_recvfrom(w, buf, sizeof buf, &from), 1);
    ssize_t n = nk_udp_sendto_addr(w, "r1", 2, &from);
    ck_assert_msg(n == 2, "sendto_addr = %zd (%s)", n, nk_strerror((int)n));
    n = nk_udp_sendto(w, "r2", 2, "127.0.0.1", pa);
    ck_assert_msg(n == 2, "sendto = %zd (%s)", n, nk_strerror((int)n));
    ck_assert_int_eq(nk_udp_recvfrom(a, buf, sizeof buf, NULL), 2);
    ck_assert_mem_eq(buf, "r1", 2);
    ck_assert_int_eq(nk_udp_recvfrom(a, buf, sizeof buf, NULL), 2);
    ck_assert_mem_eq(buf, "r2", 2);
    nk_udp_close(w);
    nk_udp_close(a);
}
END_TEST

START_TEST(test_udp_wildcard_dual_stack_receives_ipv6)
{
    if (tu_skip_without_ipv6(__func__))
        return;
    nk_udp_endpoint *w = udp_open_ok(NULL), *a = udp_open_ok("::1");
    int pw = udp_port_ok(w);
    nk_addr me, from;
    char buf[16];
    tu_assert_code(nk_udp_sockname(w, &me), 0);
    ck_assert_int_eq(nk_addr_family(&me), AF_INET6);
    tu_assert_host(&me, "::");
    ck_assert_int_eq(nk_udp_sendto(a, "v6", 2, "::1", pw), 2);
    ck_assert_int_eq(nk_udp_recvfrom(w, buf, sizeof buf, &from), 2);
    ck_assert_int_eq(nk_addr_family(&from), AF_INET6);
    tu_assert_host(&from, "::1");
    nk_udp_close(w);
    nk_udp_close(a);
}
END_TEST

Suite *suite_udp(void)
{
    Suite *s = suite_create("udp");

    TCase *tc = tcase_create("open");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_udp_open_loopback_ephemeral_port);
    tcase_add_test(tc, test_udp_open_named_host_binds_ipv4);
    tcase_add_test(tc, test_udp_open_empty_host_wildcard);
    tcase_add_test(tc, test_udp_fd_valid_cloexec_dgram);
    tcase_add_test(tc, test_udp_sockname_matches_getsockname);
    tcase_add_test(tc, test_udp_peername_before_connect_enotconn);
    tcase_add_test(tc, test_udp_close_releases_fd);
    tcase_add_test(tc, test_udp_close_null_noop);
    tcase_add_test(tc, test_udp_open_addrinuse_no_fd_leak);
    suite_add_tcase(s, tc);

    tc = tcase_create("usage");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_udp_open_null_out_enull);
    tcase_add_test(tc, test_udp_open_port_out_of_range_eport);
    tcase_add_test(tc, test_udp_open_long_host_ehostlen);
    tcase_add_test(tc, test_udp_calls_null_handle_enull);
    tcase_add_test(tc, test_udp_calls_null_buffers_enull);
    tcase_add_test(tc, test_udp_sendto_bad_port_and_host);
    tcase_add_test(tc, test_udp_sendto_ipv6_host_from_ipv4_endpoint_eai_addrfamily);
    suite_add_tcase(s, tc);

    tc = tcase_create("timeout");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_udp_gettimeout_default_block);
    tcase_add_test(tc, test_udp_gettimeout_returns_set_value);
    tcase_add_test(tc, test_udp_settimeout_below_minus_one_einval);
    tcase_add_test(tc, test_udp_recvfrom_timeout_etimeout);
    tcase_add_test(tc, test_udp_recv_timeout_etimeout);
    tcase_add_test(tc, test_udp_recvfrom_nonblocking_eagain);
    tcase_add_test(tc, test_udp_recvfrom_nonblocking_data_ready);
    tcase_add_test(tc, test_udp_recvfrom_waits_for_late_datagram);
    suite_add_tcase(s, tc);

    tc = tcase_create("datagram");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_udp_sendto_recvfrom_roundtrip);
    tcase_add_test(tc, test_udp_sendto_addr_roundtrip);
    tcase_add_test(tc, test_udp_sendto_addr_bad_length_einval);
    tcase_add_test(tc, test_udp_recvfrom_null_from_ok);
    tcase_add_test(tc, test_udp_recvfrom_empty_datagram);
    tcase_add_test(tc, test_udp_recvfrom_truncated_emsgsize_next_intact);
    tcase_add_test(tc, test_udp_recvfrom_exact_fit_not_truncated);
    tcase_add_test(tc, test_udp_recvfrom_truncated_reports_sender);
    tcase_add_test(tc, test_udp_sendto_oversized_emsgsize);
    suite_add_tcase(s, tc);

    tc = tcase_create("connect");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_udp_connect_send_recv);
    tcase_add_test(tc, test_udp_connect_filters_other_senders);
    tcase_add_test(tc, test_udp_send_unconnected_edestaddrreq);
    tcase_add_test(tc, test_udp_recv_closed_peer_econnrefused);
    suite_add_tcase(s, tc);

    tc = tcase_create("ipv6");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_udp_ipv6_loopback_roundtrip);
    tcase_add_test(tc, test_udp_wildcard_ipv4_sender_reported_as_ipv4);
    tcase_add_test(tc, test_udp_wildcard_replies_to_ipv4_sender);
    tcase_add_test(tc, test_udp_wildcard_dual_stack_receives_ipv6);
    suite_add_tcase(s, tc);

    return s;
}
