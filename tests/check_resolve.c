/* check_resolve.c - gethostname, gethostbyname, gethostbyaddr, getaddrinfo.
 *
 * Lookups stay on this machine where they can: "localhost" and 127.0.0.1 come
 * from /etc/hosts, literals need no lookup. The few negative lookups
 * ("nosuchhost.invalid", a 127/8 address with no name) go through the system
 * resolver, as Python's would; their expectations are what Python prints here. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests.h"

/* Loopback address with no entry in /etc/hosts (reverse lookup finds no name). */
#define NO_NAME_ADDR "127.0.0.77"

/* The system's own reverse lookup of an IPv4 literal: 0 and the name in buf,
 * or -1 and the h_errno in *herr. */
static int sys_reverse_v4(const char *ip, char *buf, size_t cap, int *herr)
{
    struct in_addr in;
    ck_assert_int_eq(inet_pton(AF_INET, ip, &in), 1);
    struct hostent he, *res = NULL;
    char tmp[8192];
    int err = 0;
    *herr = 0;
    /* cppcheck 2.10's gnu.cfg takes gethostbyaddr_r for a pure function that
     * reads tmp; it writes tmp and res. */
    // cppcheck-suppress uninitvar
    int rc = gethostbyaddr_r(&in, sizeof in, AF_INET, &he, tmp, sizeof tmp, &res, &err);
    // cppcheck-suppress knownConditionTrueFalse
    if (rc != 0 || res == NULL) {
        *herr = err;
        return -1;
    }
    snprintf(buf, cap, "%s", res->h_name);
    return 0;
}

static void host_text(const nk_addr *a, char *buf, size_t cap)
{
    int n = nk_addr_host(a, buf, cap);
    ck_assert_msg(n > 0, "nk_addr_host: %s", nk_strerror(n));
}

/* Number of entries in a list. */
static int list_len(const nk_addrinfo *list)
{
    int n = 0;
    for (const nk_addrinfo *p = list; p != NULL && n < 10000; p = p->next)
        n++;
    return n;
}

/* ---- nk_gethostname --------------------------------------------------- */

START_TEST(test_resolve_gethostname_matches_system)
{
    char want[256], got[256];
    ck_assert_int_eq(gethostname(want, sizeof want), 0);
    want[sizeof want - 1] = '\0';
    int n = nk_gethostname(got, sizeof got);
    ck_assert_int_eq(n, (int)strlen(want));
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_resolve_gethostname_small_buffer_ebufsize)
{
    char want[256], got[256];
    ck_assert_int_eq(gethostname(want, sizeof want), 0);
    size_t len = strlen(want);
    memset(got, 'X', sizeof got);
    tu_assert_code(nk_gethostname(got, len), NK_EBUFSIZE); /* no room for the NUL */
    ck_assert_int_eq(got[len], 'X');
    ck_assert_int_eq(nk_gethostname(got, len + 1), (int)len);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_resolve_gethostname_null_enull)
{
    tu_assert_code(nk_gethostname(NULL, 64), NK_ENULL);
}
END_TEST

/* ---- nk_gethostbyname ------------------------------------------------- */

START_TEST(test_resolve_gethostbyname_localhost)
{
    char buf[64];
    ck_assert_int_eq(nk_gethostbyname("localhost", buf, sizeof buf), 9);
    ck_assert_str_eq(buf, "127.0.0.1");
}
END_TEST

START_TEST(test_resolve_gethostbyname_numeric)
{
    char buf[64];
    ck_assert_int_eq(nk_gethostbyname("127.0.0.1", buf, sizeof buf), 9);
    ck_assert_str_eq(buf, "127.0.0.1");
    ck_assert_int_eq(nk_gethostbyname("10.20.30.40", buf, sizeof buf), 11);
    ck_assert_str_eq(buf, "10.20.30.40");
}
END_TEST

START_TEST(test_resolve_gethostbyname_empty_is_wildcard)
{
    /* Python: socket.gethostbyname("") == "0.0.0.0" (INADDR_ANY). */
    char buf[64];
    int n = nk_gethostbyname("", buf, sizeof buf);
    ck_assert_msg(n == 7, "nk_gethostbyname(\"\") = %d (%s)", n, n < 0 ? nk_strerror(n) : buf);
    ck_assert_str_eq(buf, "0.0.0.0");
}
END_TEST

START_TEST(test_resolve_gethostbyname_unknown_eai_noname)
{
    char buf[64];
    int rc = nk_gethostbyname("nosuchhost.invalid", buf, sizeof buf);
    tu_assert_code(rc, NK_EAI(EAI_NONAME));
    ck_assert_int_eq(nk_error_kind(rc), NK_KIND_GAI);
    ck_assert_str_eq(nk_strerror(rc), "[Errno -2] Name or service not known");
}
END_TEST

START_TEST(test_resolve_gethostbyname_ipv6_literal_eai_addrfamily)
{
    char buf[64];
    int rc = nk_gethostbyname("::1", buf, sizeof buf);
    tu_assert_code(rc, NK_EAI(EAI_ADDRFAMILY));
    ck_assert_str_eq(nk_strerror(rc), "[Errno -9] Address family for hostname not supported");
}
END_TEST

START_TEST(test_resolve_gethostbyname_small_buffer_ebufsize)
{
    char buf[32];
    memset(buf, 'X', sizeof buf);
    tu_assert_code(nk_gethostbyname("127.0.0.1", buf, 9), NK_EBUFSIZE);
    ck_assert_int_eq(buf[9], 'X');
    ck_assert_int_eq(nk_gethostbyname("127.0.0.1", buf, 10), 9);
    ck_assert_str_eq(buf, "127.0.0.1");
}
END_TEST

START_TEST(test_resolve_gethostbyname_null_enull)
{
    char buf[64];
    tu_assert_code(nk_gethostbyname(NULL, buf, sizeof buf), NK_ENULL);
    tu_assert_code(nk_gethostbyname("localhost", NULL, sizeof buf), NK_ENULL);
}
END_TEST

START_TEST(test_resolve_gethostbyname_long_name_ehostlen)
{
    char name[512], buf[64];
    tu_assert_code(nk_gethostbyname(tu_long_host(name, sizeof name, 300, 'a'), buf, sizeof buf),
                   NK_EHOSTLEN);
}
END_TEST

/* ---- nk_getaddrinfo --------------------------------------------------- */

START_TEST(test_resolve_getaddrinfo_localhost_stream)
{
    nk_addrinfo *list = NULL;
    int n = nk_getaddrinfo("localhost", 80, AF_UNSPEC, SOCK_STREAM, 0, &list);
    ck_assert_msg(n >= 1, "nk_getaddrinfo: %s (%d)", nk_strerror(n), n);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(list_len(list), n);
    int found = 0;
    for (nk_addrinfo *p = list; p != NULL; p = p->next) {
        char host[NK_ADDRSTRLEN];
        ck_assert_int_eq(p->socktype, SOCK_STREAM);
        ck_assert_int_eq(p->protocol, IPPROTO_TCP);
        ck_assert_int_eq(nk_addr_port(&p->addr), 80);
        ck_assert_int_eq(nk_addr_family(&p->addr), p->family);
        ck_assert_ptr_null(p->canonname);
        host_text(&p->addr, host, sizeof host);
        if (p->family == AF_INET && strcmp(host, "127.0.0.1") == 0)
            found = 1;
    }
    ck_assert_msg(found, "127.0.0.1:80 not among the %d results", n);
    nk_freeaddrinfo(list);
}
END_TEST

START_TEST(test_resolve_getaddrinfo_socktype_zero_all_types)
{
    /* Like Python: socktype 0 gives one entry per STREAM, DGRAM and RAW. */
    nk_addrinfo *list = NULL;
    int n = nk_getaddrinfo("127.0.0.1", 80, AF_INET, 0, 0, &list);
    ck_assert_msg(n >= 3, "nk_getaddrinfo: %s (%d)", nk_strerror(n), n);
    ck_assert_int_eq(list_len(list), n);
    int stream = 0, dgram = 0, raw = 0;
    for (nk_addrinfo *p = list; p != NULL; p = p->next) {
        if (p->socktype == SOCK_STREAM && p->protocol == IPPROTO_TCP)
            stream++;
        else if (p->socktype == SOCK_DGRAM && p->protocol == IPPROTO_UDP)
            dgram++;
        else if (p->socktype == SOCK_RAW && p->protocol == 0)
            raw++;
        else
            ck_abort_msg("unexpected socktype %d protocol %d", p->socktype, p->protocol);
        ck_assert_int_eq(p->family, AF_INET);
        ck_assert_int_eq(nk_addr_port(&p->addr), 80);
    }
    ck_assert_int_eq(stream, 1);
    ck_assert_int_eq(dgram, 1);
    ck_assert_int_eq(raw, 1);
    nk_freeaddrinfo(list);
}
END_TEST

START_TEST(test_resolve_getaddrinfo_ipv6_literal)
{
    if (tu_skip_without_ipv6(__func__))
        return;
    nk_addrinfo *list = NULL;
    int n = nk_getaddrinfo("::1", 8080, AF_INET6, SOCK_DGRAM, 0, &list);
    ck_assert_msg(n >= 1, "nk_getaddrinfo: %s (%d)", nk_strerror(n), n);
    ck_assert_int_eq(list->family, AF_INET6);
    ck_assert_int_eq(list->socktype, SOCK_DGRAM);
    ck_assert_int_eq(list->protocol, IPPROTO_UDP);
    tu_assert_host(&list->addr, "::1");
    tu_assert_tuple(&list->addr, "('::1', 8080, 0, 0)");
    nk_freeaddrinfo(list);
}
END_TEST

START_TEST(test_resolve_getaddrinfo_ipv6_literal_inet_eai_addrfamily)
{
    nk_addrinfo *list = NULL;
    int rc = nk_getaddrinfo("::1", 80, AF_INET, SOCK_STREAM, 0, &list);
    tu_assert_code(rc, NK_EAI(EAI_ADDRFAMILY));
}
END_TEST

START_TEST(test_resolve_getaddrinfo_passive_null_host_wildcard)
{
    nk_addrinfo *list = NULL;
    int n = nk_getaddrinfo(NULL, 0, AF_UNSPEC, SOCK_DGRAM, AI_PASSIVE, &list);
    ck_assert_msg(n >= 1, "nk_getaddrinfo: %s (%d)", nk_strerror(n), n);
    int v4 = 0;
    for (nk_addrinfo *p = list; p != NULL; p = p->next) {
        char host[NK_ADDRSTRLEN];
        host_text(&p->addr, host, sizeof host);
        if (p->family == AF_INET) {
            ck_assert_str_eq(host, "0.0.0.0");
            v4++;
        } else {
            ck_assert_int_eq(p->family, AF_INET6);
            ck_assert_str_eq(host, "::");
        }
        ck_assert_int_eq(nk_addr_port(&p->addr), 0);
    }
    ck_assert_int_ge(v4, 1);
    nk_freeaddrinfo(list);
}
END_TEST

START_TEST(test_resolve_getaddrinfo_null_host_loopback)
{
    /* Without AI_PASSIVE a NULL host is the loopback address, as getaddrinfo(3). */
    nk_addrinfo *list = NULL;
    int n = nk_getaddrinfo(NULL, 80, AF_UNSPEC, SOCK_STREAM, 0, &list);
    ck_assert_msg(n >= 1, "nk_getaddrinfo: %s (%d)", nk_strerror(n), n);
    for (nk_addrinfo *p = list; p != NULL; p = p->next) {
        char host[NK_ADDRSTRLEN];
        host_text(&p->addr, host, sizeof host);
        ck_assert_msg(strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0,
                      "not a loopback address: %s", host);
    }
    nk_freeaddrinfo(list);
}
END_TEST

START_TEST(test_resolve_getaddrinfo_canonname_first_entry)
{
    nk_addrinfo *list = NULL;
    int n = nk_getaddrinfo("localhost", 80, AF_INET, 0, AI_CANONNAME, &list);
    ck_assert_msg(n >= 1, "nk_getaddrinfo: %s (%d)", nk_strerror(n), n);
    ck_assert_ptr_nonnull(list->canonname);
    ck_assert_str_eq(list->canonname, "localhost");
    for (nk_addrinfo *p = list->next; p != NULL; p = p->next)
        ck_assert_ptr_null(p->canonname);
    nk_freeaddrinfo(list);
}
END_TEST

START_TEST(test_resolve_getaddrinfo_port_out_of_range_eport)
{
    nk_addrinfo *list = NULL;
    tu_assert_code(nk_getaddrinfo("127.0.0.1", 70000, AF_UNSPEC, 0, 0, &list), NK_EPORT);
    tu_assert_code(nk_getaddrinfo("127.0.0.1", -1, AF_UNSPEC, 0, 0, &list), NK_EPORT);
    tu_assert_code(nk_getaddrinfo("127.0.0.1", 65536, AF_UNSPEC, 0, 0, &list), NK_EPORT);
}
END_TEST

START_TEST(test_resolve_getaddrinfo_null_out_enull)
{
    tu_assert_code(nk_getaddrinfo("127.0.0.1", 80, AF_UNSPEC, 0, 0, NULL), NK_ENULL);
}
END_TEST

START_TEST(test_resolve_getaddrinfo_bad_family_eai_family)
{
    nk_addrinfo *list = NULL;
    int rc = nk_getaddrinfo("127.0.0.1", 80, 12345, 0, 0, &list);
    tu_assert_code(rc, NK_EAI(EAI_FAMILY));
    ck_assert_str_eq(nk_strerror(rc), "[Errno -6] ai_family not supported");
}
END_TEST

START_TEST(test_resolve_getaddrinfo_unknown_host_eai_noname)
{
    nk_addrinfo *list = NULL;
    int rc = nk_getaddrinfo("nosuchhost.invalid", 80, AF_UNSPEC, SOCK_STREAM, 0, &list);
    tu_assert_code(rc, NK_EAI(EAI_NONAME));
}
END_TEST

START_TEST(test_resolve_getaddrinfo_empty_host_eai_noname)
{
    /* Only NULL means the wildcard/loopback; "" is no host, as in
     * getaddrinfo(3) and Python's socket.getaddrinfo("", 80). */
    nk_addrinfo *list = NULL;
    int rc = nk_getaddrinfo("", 80, AF_UNSPEC, SOCK_STREAM, 0, &list);
    if (rc > 0)
        nk_freeaddrinfo(list);
    tu_assert_code(rc, NK_EAI(EAI_NONAME));
}
END_TEST

START_TEST(test_resolve_getaddrinfo_long_host_ehostlen)
{
    char name[512];
    nk_addrinfo *list = NULL;
    tu_assert_code(
        nk_getaddrinfo(tu_long_host(name, sizeof name, 300, 'a'), 80, AF_UNSPEC, 0, 0, &list),
        NK_EHOSTLEN);
}
END_TEST

START_TEST(test_resolve_freeaddrinfo_null_noop)
{
    nk_freeaddrinfo(NULL);
}
END_TEST

/* ---- nk_gethostbyaddr ------------------------------------------------- */

START_TEST(test_resolve_gethostbyaddr_loopback_matches_system)
{
    char want[1024], got[1024];
    int herr;
    ck_assert_msg(sys_reverse_v4("127.0.0.1", want, sizeof want, &herr) == 0,
                  "the system itself has no name for 127.0.0.1 (h_errno %d)", herr);
    int n = nk_gethostbyaddr("127.0.0.1", got, sizeof got);
    ck_assert_msg(n > 0, "nk_gethostbyaddr: %s (%d)", nk_strerror(n), n);
    ck_assert_int_eq(n, (int)strlen(want));
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_resolve_gethostbyaddr_name_resolved_first)
{
    /* A name is resolved first: "localhost" -> 127.0.0.1 -> its primary name. */
    char want[1024], got[1024];
    int herr;
    ck_assert_int_eq(sys_reverse_v4("127.0.0.1", want, sizeof want, &herr), 0);
    int n = nk_gethostbyaddr("localhost", got, sizeof got);
    ck_assert_msg(n > 0, "nk_gethostbyaddr: %s (%d)", nk_strerror(n), n);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_resolve_gethostbyaddr_unknown_name_eai_noname)
{
    char buf[256];
    tu_assert_code(nk_gethostbyaddr("nosuchhost.invalid", buf, sizeof buf), NK_EAI(EAI_NONAME));
}
END_TEST

START_TEST(test_resolve_gethostbyaddr_no_name_herror)
{
    char want[1024], buf[1024];
    int herr;
    ck_assert_msg(sys_reverse_v4(NO_NAME_ADDR, want, sizeof want, &herr) != 0,
                  "this machine has a name for %s (%s); the test needs an address without one",
                  NO_NAME_ADDR, want);
    int rc = nk_gethostbyaddr(NO_NAME_ADDR, buf, sizeof buf);
    ck_assert_int_eq(nk_error_kind(rc), NK_KIND_HOST);
    /* netkit carries what the system resolver said, with Python's text. */
    tu_assert_code(rc, NK_EHOST(herr));
    ck_assert_int_eq(nk_error_herrno(rc), herr);
    char text[256];
    snprintf(text, sizeof text, "[Errno %d] %s", herr, hstrerror(herr));
    ck_assert_str_eq(nk_strerror(rc), text);
    if (herr == HOST_NOT_FOUND) /* what this machine's resolver answers */
        ck_assert_str_eq(nk_strerror(rc), "[Errno 1] Unknown host");
}
END_TEST

START_TEST(test_resolve_gethostbyaddr_small_buffer_ebufsize)
{
    char want[1024], buf[1024];
    int herr;
    ck_assert_int_eq(sys_reverse_v4("127.0.0.1", want, sizeof want, &herr), 0);
    size_t len = strlen(want);
    memset(buf, 'X', sizeof buf);
    tu_assert_code(nk_gethostbyaddr("127.0.0.1", buf, len), NK_EBUFSIZE);
    ck_assert_int_eq(buf[len], 'X');
    ck_assert_int_eq(nk_gethostbyaddr("127.0.0.1", buf, len + 1), (int)len);
}
END_TEST

START_TEST(test_resolve_gethostbyaddr_null_enull)
{
    char buf[256];
    tu_assert_code(nk_gethostbyaddr(NULL, buf, sizeof buf), NK_ENULL);
    tu_assert_code(nk_gethostbyaddr("127.0.0.1", NULL, sizeof buf), NK_ENULL);
}
END_TEST

START_TEST(test_resolve_gethostbyaddr_long_name_ehostlen)
{
    char name[512], buf[256];
    tu_assert_code(nk_gethostbyaddr(tu_long_host(name, sizeof name, 300, 'a'), buf, sizeof buf),
                   NK_EHOSTLEN);
}
END_TEST

/* ---- thread safety ---------------------------------------------------- */

struct resolve_worker {
    char want_name[1024];
    int failures;
};

static void *resolve_worker_main(void *arg)
{
    struct resolve_worker *w = arg;
    long long deadline = tu_now_ms() + 5000;
    for (int i = 0; i < 50 && tu_now_ms() < deadline; i++) {
        char buf[1024];
        if (nk_gethostbyname("localhost", buf, sizeof buf) != 9 || strcmp(buf, "127.0.0.1") != 0)
            w->failures++;
        if (nk_gethostbyaddr("127.0.0.1", buf, sizeof buf) <= 0 || strcmp(buf, w->want_name) != 0)
            w->failures++;
        nk_addrinfo *list = NULL;
        int n = nk_getaddrinfo("127.0.0.1", 80, AF_INET, SOCK_STREAM, 0, &list);
        if (n != 1)
            w->failures++;
        if (n > 0)
            nk_freeaddrinfo(list);
    }
    return NULL;
}

START_TEST(test_resolve_lookups_concurrent_threads)
{
    enum { NT = 4 };
    struct resolve_worker w[NT];
    pthread_t t[NT];
    int herr;
    for (int i = 0; i < NT; i++) {
        memset(&w[i], 0, sizeof w[i]);
        ck_assert_int_eq(sys_reverse_v4("127.0.0.1", w[i].want_name, sizeof w[i].want_name, &herr),
                         0);
    }
    for (int i = 0; i < NT; i++)
        tu_spawn(&t[i], resolve_worker_main, &w[i]);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < NT; i++)
        ck_assert_msg(w[i].failures == 0, "thread %d: %d failed lookups", i, w[i].failures);
}
END_TEST

Suite *suite_resolve(void)
{
    Suite *s = suite_create("resolve");

    TCase *tc = tcase_create("gethostname");
    tcase_add_test(tc, test_resolve_gethostname_matches_system);
    tcase_add_test(tc, test_resolve_gethostname_small_buffer_ebufsize);
    tcase_add_test(tc, test_resolve_gethostname_null_enull);
    suite_add_tcase(s, tc);

    tc = tcase_create("gethostbyname");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_resolve_gethostbyname_localhost);
    tcase_add_test(tc, test_resolve_gethostbyname_numeric);
    tcase_add_test(tc, test_resolve_gethostbyname_empty_is_wildcard);
    tcase_add_test(tc, test_resolve_gethostbyname_unknown_eai_noname);
    tcase_add_test(tc, test_resolve_gethostbyname_ipv6_literal_eai_addrfamily);
    tcase_add_test(tc, test_resolve_gethostbyname_small_buffer_ebufsize);
    tcase_add_test(tc, test_resolve_gethostbyname_null_enull);
    tcase_add_test(tc, test_resolve_gethostbyname_long_name_ehostlen);
    suite_add_tcase(s, tc);

    tc = tcase_create("getaddrinfo");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_resolve_getaddrinfo_localhost_stream);
    tcase_add_test(tc, test_resolve_getaddrinfo_socktype_zero_all_types);
    tcase_add_test(tc, test_resolve_getaddrinfo_ipv6_literal);
    tcase_add_test(tc, test_resolve_getaddrinfo_ipv6_literal_inet_eai_addrfamily);
    tcase_add_test(tc, test_resolve_getaddrinfo_passive_null_host_wildcard);
    tcase_add_test(tc, test_resolve_getaddrinfo_null_host_loopback);
    tcase_add_test(tc, test_resolve_getaddrinfo_canonname_first_entry);
    tcase_add_test(tc, test_resolve_getaddrinfo_port_out_of_range_eport);
    tcase_add_test(tc, test_resolve_getaddrinfo_null_out_enull);
    tcase_add_test(tc, test_resolve_getaddrinfo_bad_family_eai_family);
    tcase_add_test(tc, test_resolve_getaddrinfo_unknown_host_eai_noname);
    tcase_add_test(tc, test_resolve_getaddrinfo_empty_host_eai_noname);
    tcase_add_test(tc, test_resolve_getaddrinfo_long_host_ehostlen);
    tcase_add_test(tc, test_resolve_freeaddrinfo_null_noop);
    suite_add_tcase(s, tc);

    tc = tcase_create("gethostbyaddr");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_resolve_gethostbyaddr_loopback_matches_system);
    tcase_add_test(tc, test_resolve_gethostbyaddr_name_resolved_first);
    tcase_add_test(tc, test_resolve_gethostbyaddr_unknown_name_eai_noname);
    tcase_add_test(tc, test_resolve_gethostbyaddr_no_name_herror);
    tcase_add_test(tc, test_resolve_gethostbyaddr_small_buffer_ebufsize);
    tcase_add_test(tc, test_resolve_gethostbyaddr_null_enull);
    tcase_add_test(tc, test_resolve_gethostbyaddr_long_name_ehostlen);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_resolve_lookups_concurrent_threads);
    suite_add_tcase(s, tc);

    return s;
}
