/*
 * check_tcp_server.c - Check suite for nk_tcp_server open/accept/shutdown
 * (lib/tcp_server.c). nk_tcp_server_serve has its own suite (check_serve.c).
 *
 * Real sockets only: servers bind 127.0.0.1, ::1 or the wildcard (for the
 * dual-stack tests), always port 0 or a port this test itself got from port 0;
 * clients only ever connect to 127.0.0.1 or ::1. Time bounds are scaled by
 * CK_TIMEOUT_MULTIPLIER (valgrind runs set it to 10).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Connects a client to host:port, accepts it on s; checks the pair's addresses. */
static void connect_accept(nk_tcp_server *s, const char *host, nk_tcp_client **c, nk_tcp_client **a,
                           nk_addr *peer)
{
    tu_assert_code(nk_tcp_connect(c, host, nk_tcp_server_port(s), (int)TU_SLACK(5000)), 0);
    tu_assert_code(nk_tcp_server_accept(s, a, peer, (int)TU_SLACK(5000)), 0);
    ck_assert_ptr_nonnull(*c);
    ck_assert_ptr_nonnull(*a);
}

static void roundtrip(nk_tcp_client *c, nk_tcp_client *a)
{
    char buf[8];
    ck_assert_int_eq(nk_tcp_client_sendall(c, "ping", 4, NULL), 0);
    ck_assert_int_eq(nk_tcp_client_recv_exact(a, buf, 4), 4);
    ck_assert_mem_eq(buf, "ping", 4);
    ck_assert_int_eq(nk_tcp_client_sendall(a, "pong", 4, NULL), 0);
    ck_assert_int_eq(nk_tcp_client_recv_exact(c, buf, 4), 4);
    ck_assert_mem_eq(buf, "pong", 4);
}

/* Proves that s serves: a client from host connects, is accepted, does a
 * roundtrip; then both ends close. */
static void serves_one_client(nk_tcp_server *s, const char *host)
{
    nk_tcp_client *c = NULL, *a = NULL;
    connect_accept(s, host, &c, &a, NULL);
    roundtrip(c, a);
    nk_tcp_client_close(c);
    nk_tcp_client_close(a);
}

/* ------------------------------------------------------------------------ */
/* open                                                                     */
/* ------------------------------------------------------------------------ */

START_TEST(test_server_open_port0_reports_port_and_sockname)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    ck_assert_ptr_nonnull(s);
    int port = nk_tcp_server_port(s);
    ck_assert_int_gt(port, 0);
    ck_assert_int_le(port, 65535);
    nk_addr a;
    tu_assert_code(nk_tcp_server_sockname(s, &a), 0);
    char text[NK_ADDRSTRLEN];
    snprintf(text, sizeof text, "('127.0.0.1', %d)", port);
    tu_assert_tuple(&a, text);

    /* the port matches what the kernel says about the fd */
    struct sockaddr_in k;
    memset(&k, 0, sizeof k);
    socklen_t klen = sizeof k;
    ck_assert_int_eq(getsockname(nk_tcp_server_fd(s), (struct sockaddr *)&k, &klen), 0);
    ck_assert_int_eq(ntohs(k.sin_port), port);

    /* and it really listens */
    serves_one_client(s, "127.0.0.1");
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_open_null_out_enull)
{
    int before = tu_count_fds();
    tu_assert_code(nk_tcp_server_open(NULL, "127.0.0.1", 0, NULL), NK_ENULL);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_server_open_bad_port_eport)
{
    const int ports[] = {-1, 65536, 70000, -65536};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
        nk_tcp_server *s = NULL;
        int rc = nk_tcp_server_open(&s, "127.0.0.1", ports[i], NULL);
        tu_assert_code(rc, NK_EPORT);
        ck_assert_str_eq(nk_strerror(rc), "port must be 0-65535.");
        ck_assert_ptr_null(s);
    }
}
END_TEST

START_TEST(test_server_open_bad_opts_einval)
{
    int before = tu_count_fds();
    nk_tcp_server *s = NULL;
    nk_tcp_server_opts o;
    memset(&o, 0, sizeof o);
    o.backlog = -1;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, &o), NK_EINVAL);
    memset(&o, 0, sizeof o);
    o.family = 12345;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, &o), NK_EINVAL);
    ck_assert_str_eq(nk_strerror(NK_EINVAL), "invalid argument");
    ck_assert_ptr_null(s);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_server_open_zero_opts_are_defaults)
{
    nk_tcp_server *s = NULL;
    nk_tcp_server_opts o;
    memset(&o, 0, sizeof o);
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, &o), 0);
    serves_one_client(s, "127.0.0.1");
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_open_unknown_host_eai_noname)
{
    int before = tu_count_fds();
    nk_tcp_server *s = NULL;
    int rc = nk_tcp_server_open(&s, "nosuchhost.invalid", 0, NULL);
    tu_assert_code(rc, NK_EAI(EAI_NONAME));
    ck_assert_str_eq(nk_strerror(rc), "[Errno -2] Name or service not known");
    ck_assert_int_eq(nk_error_kind(rc), NK_KIND_GAI);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_server_open_host_too_long_ehostlen)
{
    char host[2048];
    tu_long_host(host, sizeof host, sizeof host - 1, 'b');
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, host, 0, NULL), NK_EHOSTLEN);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_server_open_port_in_use_by_server_eaddrinuse)
{
    nk_tcp_server *s1 = NULL, *s2 = NULL;
    tu_assert_code(nk_tcp_server_open(&s1, "127.0.0.1", 0, NULL), 0);
    int port = nk_tcp_server_port(s1);
    int before = tu_count_fds();
    int rc = nk_tcp_server_open(&s2, "127.0.0.1", port, NULL);
    tu_assert_code(rc, -EADDRINUSE);
    ck_assert_str_eq(nk_strerror(rc), "[Errno 98] Address already in use");
    ck_assert_int_eq(nk_error_kind(rc), NK_KIND_SOCKET);
    ck_assert_ptr_null(s2);
    ck_assert_int_eq(tu_count_fds(), before);
    nk_tcp_server_close(s1);
}
END_TEST

START_TEST(test_server_open_port_in_use_by_plain_socket_eaddrinuse)
{
    int port;
    int lfd = tu_loopback_socket(AF_INET, SOCK_STREAM, 8, &port); /* not netkit's */
    int before = tu_count_fds();
    nk_tcp_server *s = NULL;
    int rc = nk_tcp_server_open(&s, "127.0.0.1", port, NULL);
    tu_assert_code(rc, -EADDRINUSE);
    ck_assert_str_eq(nk_strerror(rc), "[Errno 98] Address already in use");
    ck_assert_ptr_null(s);
    ck_assert_int_eq(tu_count_fds(), before);
    close(lfd);
}
END_TEST

START_TEST(test_server_open_rebind_after_close)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    int port = nk_tcp_server_port(s);
    nk_tcp_server_close(s);
    s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", port, NULL), 0);
    ck_assert_int_eq(nk_tcp_server_port(s), port);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_open_rebind_port_in_time_wait)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    int port = nk_tcp_server_port(s);
    nk_tcp_client *c = NULL, *a = NULL;
    connect_accept(s, "127.0.0.1", &c, &a, NULL);
    roundtrip(c, a);
    /* the server side closes first: its end goes to TIME_WAIT on `port` */
    nk_tcp_client_close(a);
    char buf[4];
    ck_assert_int_eq(nk_tcp_client_recv(c, buf, sizeof buf), 0);
    nk_tcp_client_close(c);
    nk_tcp_server_close(s);
    s = NULL;
    tu_sleep_ms(20);

    /* prove the port is in TIME_WAIT: a plain bind without SO_REUSEADDR fails */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((unsigned short)port);
    int brc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int berr = errno;
    close(fd);
    ck_assert_msg(brc == -1 && berr == EADDRINUSE,
                  "expected the port to be in TIME_WAIT (plain bind: rc %d errno %d)", brc, berr);

    /* SO_REUSEADDR lets netkit bind it anyway */
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", port, NULL), 0);
    ck_assert_int_eq(nk_tcp_server_port(s), port);
    serves_one_client(s, "127.0.0.1");
    nk_tcp_server_close(s);
}
END_TEST

static void dual_stack_check(const char *host)
{
    if (!tu_have_ipv6()) {
        printf("dual-stack test (host %s%s%s): skipped, no IPv6 loopback (cannot bind ::1)\n",
               host ? "\"" : "", host ? host : "NULL", host ? "\"" : "");
        return;
    }
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, host, 0, NULL), 0);
    int port = nk_tcp_server_port(s);
    ck_assert_int_gt(port, 0);
    nk_addr self;
    tu_assert_code(nk_tcp_server_sockname(s, &self), 0);
    ck_assert_int_eq(nk_addr_family(&self), AF_INET6);
    tu_assert_host(&self, "::");

    char text[NK_ADDRSTRLEN];
    nk_tcp_client *c4 = NULL, *a4 = NULL, *c6 = NULL, *a6 = NULL;
    nk_addr p4, p6, cs;

    connect_accept(s, "127.0.0.1", &c4, &a4, &p4);
    tu_assert_code(nk_tcp_client_sockname(c4, &cs), 0);
    snprintf(text, sizeof text, "('127.0.0.1', %d)", nk_addr_port(&cs));
    tu_assert_tuple(&p4, text); /* plain IPv4, not ::ffff:127.0.0.1 */
    ck_assert_int_eq(nk_addr_family(&p4), AF_INET);
    ck_assert_int_eq(nk_addr_equal(&p4, &cs), 1);
    nk_addr a4self;
    tu_assert_code(nk_tcp_client_sockname(a4, &a4self), 0);
    snprintf(text, sizeof text, "('127.0.0.1', %d)", port);
    tu_assert_tuple(&a4self, text);
    roundtrip(c4, a4);

    connect_accept(s, "::1", &c6, &a6, &p6);
    tu_assert_code(nk_tcp_client_sockname(c6, &cs), 0);
    snprintf(text, sizeof text, "('::1', %d, 0, 0)", nk_addr_port(&cs));
    tu_assert_tuple(&p6, text);
    ck_assert_int_eq(nk_addr_equal(&p6, &cs), 1);
    roundtrip(c6, a6);

    nk_tcp_client_close(c4);
    nk_tcp_client_close(a4);
    nk_tcp_client_close(c6);
    nk_tcp_client_close(a6);
    nk_tcp_server_close(s);
}

START_TEST(test_server_open_null_host_dual_stack)
{
    dual_stack_check(NULL);
}
END_TEST

START_TEST(test_server_open_empty_host_dual_stack)
{
    dual_stack_check("");
}
END_TEST

START_TEST(test_server_open_v6only_refuses_ipv4)
{
    if (tu_skip_without_ipv6(__func__))
        return;
    nk_tcp_server_opts o;
    memset(&o, 0, sizeof o);
    o.v6only = 1;
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "::", 0, &o), 0);
    int port = nk_tcp_server_port(s);
    nk_tcp_client *c = NULL;
    int before = tu_count_fds();
    int rc = nk_tcp_connect(&c, "127.0.0.1", port, (int)TU_SLACK(2000));
    tu_assert_code(rc, -ECONNREFUSED);
    ck_assert_int_eq(tu_count_fds(), before);
    /* IPv6 still works */
    serves_one_client(s, "::1");
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_open_family_inet_binds_any4)
{
    nk_tcp_server_opts o;
    memset(&o, 0, sizeof o);
    o.family = AF_INET;
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, NULL, 0, &o), 0);
    nk_addr self;
    tu_assert_code(nk_tcp_server_sockname(s, &self), 0);
    char text[NK_ADDRSTRLEN];
    snprintf(text, sizeof text, "('0.0.0.0', %d)", nk_tcp_server_port(s));
    tu_assert_tuple(&self, text);
    serves_one_client(s, "127.0.0.1");
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_open_family_inet6_binds_any6)
{
    if (tu_skip_without_ipv6(__func__))
        return;
    nk_tcp_server_opts o;
    memset(&o, 0, sizeof o);
    o.family = AF_INET6;
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, NULL, 0, &o), 0);
    nk_addr self;
    tu_assert_code(nk_tcp_server_sockname(s, &self), 0);
    ck_assert_int_eq(nk_addr_family(&self), AF_INET6);
    tu_assert_host(&self, "::");
    serves_one_client(s, "::1");
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_open_ipv6_loopback)
{
    if (tu_skip_without_ipv6(__func__))
        return;
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "::1", 0, NULL), 0);
    int port = nk_tcp_server_port(s);
    nk_addr self;
    tu_assert_code(nk_tcp_server_sockname(s, &self), 0);
    char text[NK_ADDRSTRLEN];
    snprintf(text, sizeof text, "('::1', %d, 0, 0)", port);
    tu_assert_tuple(&self, text);
    nk_tcp_client *c = NULL, *a = NULL;
    nk_addr peer;
    connect_accept(s, "::1", &c, &a, &peer);
    ck_assert_int_eq(nk_addr_family(&peer), AF_INET6);
    roundtrip(c, a);
    nk_tcp_client_close(c);
    nk_tcp_client_close(a);
    /* bound to ::1 only: IPv4 loopback on that port is refused */
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", port, (int)TU_SLACK(2000)), -ECONNREFUSED);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_open_localhost_binds_ipv4_first)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "localhost", 0, NULL), 0);
    nk_addr self;
    tu_assert_code(nk_tcp_server_sockname(s, &self), 0);
    char text[NK_ADDRSTRLEN];
    snprintf(text, sizeof text, "('127.0.0.1', %d)", nk_tcp_server_port(s));
    tu_assert_tuple(&self, text);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_open_reuse_port_two_servers)
{
    nk_tcp_server_opts o;
    memset(&o, 0, sizeof o);
    o.reuse_port = 1;
    nk_tcp_server *s1 = NULL, *s2 = NULL;
    tu_assert_code(nk_tcp_server_open(&s1, "127.0.0.1", 0, &o), 0);
    int port = nk_tcp_server_port(s1);
    tu_assert_code(nk_tcp_server_open(&s2, "127.0.0.1", port, &o), 0);
    ck_assert_int_eq(nk_tcp_server_port(s2), port);
    /* a connection lands on one of them */
    nk_tcp_client *c = NULL, *a = NULL;
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", port, (int)TU_SLACK(5000)), 0);
    int rc1 = nk_tcp_server_accept(s1, &a, NULL, 200);
    if (rc1 != 0) {
        tu_assert_code(rc1, NK_ETIMEOUT);
        tu_assert_code(nk_tcp_server_accept(s2, &a, NULL, (int)TU_SLACK(2000)), 0);
    }
    roundtrip(c, a);
    nk_tcp_client_close(c);
    nk_tcp_client_close(a);
    nk_tcp_server_close(s2);
    nk_tcp_server_close(s1);
}
END_TEST

START_TEST(test_server_close_null_noop)
{
    int before = tu_count_fds();
    nk_tcp_server_close(NULL);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_server_close_releases_fds)
{
    int before = tu_count_fds();
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    ck_assert_int_gt(tu_count_fds(), before);
    tu_assert_code(nk_tcp_server_shutdown(s), 0);
    nk_tcp_server_close(s);
    ck_assert_int_eq(tu_count_fds(), before);
}
END_TEST

START_TEST(test_server_fd_valid_cloexec_listening)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    int fd = nk_tcp_server_fd(s);
    ck_assert_int_ge(fd, 0);
    int fl = fcntl(fd, F_GETFD);
    ck_assert_int_ge(fl, 0);
    ck_assert_msg(fl & FD_CLOEXEC, "listening fd lacks FD_CLOEXEC");
    int v = 0;
    socklen_t len = sizeof v;
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
    ck_assert_int_eq(v, 1);
    len = sizeof v;
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
    ck_assert_int_ne(v, 0);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_calls_null_handle_enull)
{
    nk_addr a;
    nk_tcp_client *c = NULL;
    tu_assert_code(nk_tcp_server_port(NULL), NK_ENULL);
    tu_assert_code(nk_tcp_server_sockname(NULL, &a), NK_ENULL);
    tu_assert_code(nk_tcp_server_fd(NULL), NK_ENULL);
    tu_assert_code(nk_tcp_server_shutdown(NULL), NK_ENULL);
    tu_assert_code(nk_tcp_server_accept(NULL, &c, NULL, 0), NK_ENULL);
    ck_assert_ptr_null(c);
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    tu_assert_code(nk_tcp_server_sockname(s, NULL), NK_ENULL);
    tu_assert_code(nk_tcp_server_accept(s, NULL, NULL, 0), NK_ENULL);
    nk_tcp_server_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* accept                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_server_accept_timeout_etimeout)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    int before = tu_count_fds();
    nk_tcp_client *c = NULL;
    long long t0 = tu_now_ms();
    int rc = nk_tcp_server_accept(s, &c, NULL, 100);
    long long el = tu_now_ms() - t0;
    tu_assert_code(rc, NK_ETIMEOUT);
    ck_assert_str_eq(nk_strerror(rc), "timed out");
    ck_assert_int_ge(el, 90);
    ck_assert_int_le(el, 100 + TU_SLACK(900));
    ck_assert_int_eq(tu_count_fds(), before);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_accept_nonblock_eagain)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    nk_tcp_client *c = NULL;
    long long t0 = tu_now_ms();
    int rc = nk_tcp_server_accept(s, &c, NULL, NK_NONBLOCK);
    long long el = tu_now_ms() - t0;
    tu_assert_code(rc, -EAGAIN);
    ck_assert_int_le(el, TU_SLACK(50));
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_accept_nonblock_pending_client_succeeds)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    nk_tcp_client *c = NULL, *a = NULL;
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", nk_tcp_server_port(s), (int)TU_SLACK(5000)), 0);
    int rc = -EAGAIN;
    for (int i = 0; i < 100 && rc == -EAGAIN; i++) {
        rc = nk_tcp_server_accept(s, &a, NULL, NK_NONBLOCK);
        if (rc == -EAGAIN)
            tu_sleep_ms(5);
    }
    tu_assert_code(rc, 0);
    /* the accepted client is blocking regardless of accept's own timeout */
    ck_assert_int_eq(nk_tcp_client_gettimeout(a), NK_BLOCK);
    roundtrip(c, a);
    nk_tcp_client_close(c);
    nk_tcp_client_close(a);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_accept_peer_equals_client_sockname)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    nk_tcp_client *c = NULL, *a = NULL;
    nk_addr peer, cs, apeer;
    memset(&peer, 0, sizeof peer);
    connect_accept(s, "127.0.0.1", &c, &a, &peer);
    tu_assert_code(nk_tcp_client_sockname(c, &cs), 0);
    ck_assert_int_eq(nk_addr_equal(&peer, &cs), 1);
    tu_assert_code(nk_tcp_client_peername(a, &apeer), 0);
    ck_assert_int_eq(nk_addr_equal(&apeer, &cs), 1);
    char text[NK_ADDRSTRLEN];
    snprintf(text, sizeof text, "('127.0.0.1', %d)", nk_addr_port(&cs));
    tu_assert_tuple(&peer, text);
    nk_tcp_client_close(c);
    nk_tcp_client_close(a);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_accept_null_peer_ok)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    serves_one_client(s, "127.0.0.1");
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_accept_client_is_blocking)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    nk_tcp_client *c = NULL, *a = NULL;
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", nk_tcp_server_port(s), (int)TU_SLACK(5000)), 0);
    tu_assert_code(nk_tcp_server_accept(s, &a, NULL, 1000), 0);
    ck_assert_int_eq(nk_tcp_client_gettimeout(a), NK_BLOCK);
    /* the fd itself is in blocking mode or netkit polls for it: either way a
     * recv with data pending returns it */
    ck_assert_int_eq(nk_tcp_client_send(c, "z", 1), 1);
    char ch = 0;
    ck_assert_int_eq(nk_tcp_client_recv(a, &ch, 1), 1);
    ck_assert_int_eq(ch, 'z');
    nk_tcp_client_close(c);
    nk_tcp_client_close(a);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_accept_bad_timeout_einval)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    nk_tcp_client *c = NULL;
    tu_assert_code(nk_tcp_server_accept(s, &c, NULL, -2), NK_EINVAL);
    ck_assert_ptr_null(c);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_accept_after_shutdown_ecanceled)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    nk_tcp_client *c = NULL, *a = NULL;
    /* even with a client waiting in the queue */
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", nk_tcp_server_port(s), (int)TU_SLACK(5000)), 0);
    tu_assert_code(nk_tcp_server_shutdown(s), 0);
    tu_assert_code(nk_tcp_server_shutdown(s), 0); /* idempotent */
    const int timeouts[] = {NK_NONBLOCK, 100, NK_BLOCK};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        long long t0 = tu_now_ms();
        int rc = nk_tcp_server_accept(s, &a, NULL, timeouts[i]);
        tu_assert_code(rc, -ECANCELED);
        ck_assert_int_le(tu_now_ms() - t0, TU_SLACK(50));
    }
    ck_assert_str_eq(nk_strerror(-ECANCELED), "[Errno 125] Operation canceled");
    /* the server stays usable for its getters until closed */
    ck_assert_int_gt(nk_tcp_server_port(s), 0);
    nk_tcp_client_close(c);
    nk_tcp_server_close(s);
}
END_TEST

typedef struct accepter {
    nk_tcp_server *s;
    int timeout;
    int rc;
    atomic_int started;
    pthread_t th;
} accepter;

static void *accepter_main(void *arg)
{
    accepter *ac = arg;
    nk_tcp_client *c = NULL;
    atomic_store(&ac->started, 1);
    ac->rc = nk_tcp_server_accept(ac->s, &c, NULL, ac->timeout);
    if (ac->rc == 0)
        nk_tcp_client_close(c);
    return NULL;
}

static void blocked_accept_canceled(int timeout)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    accepter ac = {.s = s, .timeout = timeout, .rc = 1};
    tu_spawn(&ac.th, accepter_main, &ac);
    for (int i = 0; i < 400 && !atomic_load(&ac.started); i++)
        tu_sleep_ms(5);
    ck_assert_int_eq(atomic_load(&ac.started), 1);
    tu_sleep_ms(100); /* let it block in accept */
    long long t0 = tu_now_ms();
    tu_assert_code(nk_tcp_server_shutdown(s), 0);
    int joined = tu_join_within(ac.th, TU_SLACK(2000));
    long long el = tu_now_ms() - t0;
    ck_assert_msg(joined == 0, "accept did not return after shutdown");
    tu_assert_code(ac.rc, -ECANCELED);
    ck_assert_int_le(el, TU_SLACK(1000));
    nk_tcp_server_close(s);
}

START_TEST(test_server_accept_blocked_thread_canceled_by_shutdown)
{
    blocked_accept_canceled(NK_BLOCK);
}
END_TEST

START_TEST(test_server_accept_timed_thread_canceled_by_shutdown)
{
    blocked_accept_canceled(30000);
}
END_TEST

START_TEST(test_server_accept_emfile_returned)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    int port = nk_tcp_server_port(s);
    nk_tcp_client *c = NULL, *c2 = NULL, *a = NULL;
    tu_assert_code(nk_tcp_connect(&c, "127.0.0.1", port, (int)TU_SLACK(5000)), 0);

    /* lower the soft fd limit to the lowest free fd: no new fd can be made */
    int probe = fcntl(0, F_DUPFD_CLOEXEC, 0);
    ck_assert_int_ge(probe, 0);
    close(probe);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)probe;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
    long long t0 = tu_now_ms();
    int rc = nk_tcp_server_accept(s, &a, NULL, 2000);
    long long el = tu_now_ms() - t0;
    setrlimit(RLIMIT_NOFILE, &old);

    tu_assert_code(rc, -EMFILE);
    ck_assert_str_eq(nk_strerror(rc), "[Errno 24] Too many open files");
    /* returned at once, not retried until the timeout */
    ck_assert_int_lt(el, TU_SLACK(1000));

    /* with the limit back, accepting works again */
    tu_assert_code(nk_tcp_connect(&c2, "127.0.0.1", port, (int)TU_SLACK(5000)), 0);
    tu_assert_code(nk_tcp_server_accept(s, &a, NULL, (int)TU_SLACK(2000)), 0);
    nk_tcp_client_close(a);
    nk_tcp_client_close(c);
    nk_tcp_client_close(c2);
    nk_tcp_server_close(s);
}
END_TEST

START_TEST(test_server_accept_many_sequential_no_fd_leak)
{
    nk_tcp_server *s = NULL;
    tu_assert_code(nk_tcp_server_open(&s, "127.0.0.1", 0, NULL), 0);
    int before = tu_count_fds();
    for (int i = 0; i < 20; i++)
        serves_one_client(s, "127.0.0.1");
    ck_assert_int_eq(tu_count_fds(), before);
    nk_tcp_server_close(s);
}
END_TEST

Suite *suite_tcp_server(void)
{
    Suite *s = suite_create("tcp_server");

    TCase *tc = tcase_create("open");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_server_open_port0_reports_port_and_sockname);
    tcase_add_test(tc, test_server_open_null_out_enull);
    tcase_add_test(tc, test_server_open_bad_port_eport);
    tcase_add_test(tc, test_server_open_bad_opts_einval);
    tcase_add_test(tc, test_server_open_zero_opts_are_defaults);
    tcase_add_test(tc, test_server_open_unknown_host_eai_noname);
    tcase_add_test(tc, test_server_open_host_too_long_ehostlen);
    tcase_add_test(tc, test_server_open_port_in_use_by_server_eaddrinuse);
    tcase_add_test(tc, test_server_open_port_in_use_by_plain_socket_eaddrinuse);
    tcase_add_test(tc, test_server_open_rebind_after_close);
    tcase_add_test(tc, test_server_open_rebind_port_in_time_wait);
    tcase_add_test(tc, test_server_open_null_host_dual_stack);
    tcase_add_test(tc, test_server_open_empty_host_dual_stack);
    tcase_add_test(tc, test_server_open_v6only_refuses_ipv4);
    tcase_add_test(tc, test_server_open_family_inet_binds_any4);
    tcase_add_test(tc, test_server_open_family_inet6_binds_any6);
    tcase_add_test(tc, test_server_open_ipv6_loopback);
    tcase_add_test(tc, test_server_open_localhost_binds_ipv4_first);
    tcase_add_test(tc, test_server_open_reuse_port_two_servers);
    tcase_add_test(tc, test_server_close_null_noop);
    tcase_add_test(tc, test_server_close_releases_fds);
    tcase_add_test(tc, test_server_fd_valid_cloexec_listening);
    tcase_add_test(tc, test_server_calls_null_handle_enull);
    suite_add_tcase(s, tc);

    tc = tcase_create("accept");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_server_accept_timeout_etimeout);
    tcase_add_test(tc, test_server_accept_nonblock_eagain);
    tcase_add_test(tc, test_server_accept_nonblock_pending_client_succeeds);
    tcase_add_test(tc, test_server_accept_peer_equals_client_sockname);
    tcase_add_test(tc, test_server_accept_null_peer_ok);
    tcase_add_test(tc, test_server_accept_client_is_blocking);
    tcase_add_test(tc, test_server_accept_bad_timeout_einval);
    tcase_add_test(tc, test_server_accept_after_shutdown_ecanceled);
    tcase_add_test(tc, test_server_accept_blocked_thread_canceled_by_shutdown);
    tcase_add_test(tc, test_server_accept_timed_thread_canceled_by_shutdown);
    tcase_add_test(tc, test_server_accept_emfile_returned);
    tcase_add_test(tc, test_server_accept_many_sequential_no_fd_leak);
    suite_add_tcase(s, tc);

    return s;
}
