/* check_addr.c - nk_addr: set, parse, format, tuple, host, port, family, equal. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tests.h"

/* nk_addr_set that must succeed. */
static nk_addr addr_of(const char *ip, int port)
{
    nk_addr a;
    int rc = nk_addr_set(&a, ip, port);
    ck_assert_msg(rc == 0, "nk_addr_set(%s, %d) = %s (%d): %s", ip, port, nk_error_name(rc), rc,
                  nk_strerror(rc));
    return a;
}

/* ---- nk_addr_set ------------------------------------------------------ */

START_TEST(test_addr_set_ipv4_literal)
{
    nk_addr a;
    memset(&a, 0xAB, sizeof a);
    tu_assert_code(nk_addr_set(&a, "127.0.0.1", 80), 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
    ck_assert_int_eq(sin->sin_family, AF_INET);
    ck_assert_int_eq(ntohs(sin->sin_port), 80);
    ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in));
}
END_TEST

START_TEST(test_addr_set_ipv6_literal)
{
    nk_addr a;
    memset(&a, 0xAB, sizeof a);
    tu_assert_code(nk_addr_set(&a, "::1", 8080), 0);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
    ck_assert_int_eq(sin6->sin6_family, AF_INET6);
    ck_assert_int_eq(ntohs(sin6->sin6_port), 8080);
    ck_assert_int_eq(memcmp(&sin6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback), 0);
    ck_assert_uint_eq(sin6->sin6_scope_id, 0);
    ck_assert_uint_eq(sin6->sin6_flowinfo, 0);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in6));
}
END_TEST

START_TEST(test_addr_set_ipv6_scope_kept)
{
    unsigned lo = if_nametoindex("lo");
    ck_assert_uint_ne(lo, 0);
    nk_addr a;
    tu_assert_code(nk_addr_set(&a, "fe80::1%lo", 80), 0);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
    ck_assert_int_eq(sin6->sin6_family, AF_INET6);
    ck_assert_uint_eq(sin6->sin6_scope_id, lo);
    char host[NK_ADDRSTRLEN];
    ck_assert_int_eq(nk_addr_host(&a, host, sizeof host), (int)strlen("fe80::1%lo"));
    ck_assert_str_eq(host, "fe80::1%lo");
}
END_TEST

START_TEST(test_addr_set_bad_literal_eai_noname)
{
    nk_addr a;
    tu_assert_code(nk_addr_set(&a, "not-an-ip", 80), NK_EAI(EAI_NONAME));
    tu_assert_code(nk_addr_set(&a, "256.1.1.1", 80), NK_EAI(EAI_NONAME));
    tu_assert_code(nk_addr_set(&a, "::1::2", 80), NK_EAI(EAI_NONAME));
    /* No name lookup is done: even a resolvable name is not numeric. */
    tu_assert_code(nk_addr_set(&a, "localhost", 80), NK_EAI(EAI_NONAME));
}
END_TEST

START_TEST(test_addr_set_star_is_not_a_literal)
{
    /* glibc's getaddrinfo takes "*" for "no host" (loopback) even with
     * AI_NUMERICHOST; it is no numeric literal (found by fuzz/fuzz_addr). */
    nk_addr a;
    tu_assert_code(nk_addr_set(&a, "*", 80), NK_EAI(EAI_NONAME));
    tu_assert_code(nk_addr_parse(&a, "*:80"), NK_EAI(EAI_NONAME));
    tu_assert_code(nk_addr_parse(&a, "[*]:80"), NK_EAI(EAI_NONAME));
}
END_TEST

START_TEST(test_addr_set_port_out_of_range_eport)
{
    nk_addr a;
    tu_assert_code(nk_addr_set(&a, "127.0.0.1", -1), NK_EPORT);
    tu_assert_code(nk_addr_set(&a, "127.0.0.1", 65536), NK_EPORT);
    tu_assert_code(nk_addr_set(&a, "127.0.0.1", 70000), NK_EPORT);
    tu_assert_code(nk_addr_set(&a, "::1", 70000), NK_EPORT);
}
END_TEST

START_TEST(test_addr_set_port_bounds_ok)
{
    nk_addr a;
    tu_assert_code(nk_addr_set(&a, "127.0.0.1", 0), 0);
    ck_assert_int_eq(nk_addr_port(&a), 0);
    tu_assert_code(nk_addr_set(&a, "127.0.0.1", 65535), 0);
    ck_assert_int_eq(nk_addr_port(&a), 65535);
}
END_TEST

START_TEST(test_addr_set_null_enull)
{
    nk_addr a;
    tu_assert_code(nk_addr_set(NULL, "127.0.0.1", 80), NK_ENULL);
    tu_assert_code(nk_addr_set(&a, NULL, 80), NK_ENULL);
}
END_TEST

START_TEST(test_addr_set_host_too_long_ehostlen)
{
    char buf[512];
    nk_addr a;
    tu_assert_code(nk_addr_set(&a, tu_long_host(buf, sizeof buf, 256, '1'), 80), NK_EHOSTLEN);
    tu_assert_code(nk_addr_set(&a, tu_long_host(buf, sizeof buf, 400, 'a'), 80), NK_EHOSTLEN);
}
END_TEST

START_TEST(test_addr_set_host_255_chars_not_too_long)
{
    /* 255 characters is within the limit: rejected only as not numeric. */
    char buf[512];
    nk_addr a;
    tu_assert_code(nk_addr_set(&a, tu_long_host(buf, sizeof buf, 255, 'a'), 80),
                   NK_EAI(EAI_NONAME));
}
END_TEST

/* ---- nk_addr_parse ---------------------------------------------------- */

START_TEST(test_addr_parse_ipv4_host_port)
{
    nk_addr a;
    tu_assert_code(nk_addr_parse(&a, "127.0.0.1:80"), 0);
    ck_assert_int_eq(nk_addr_family(&a), AF_INET);
    ck_assert_int_eq(nk_addr_port(&a), 80);
    nk_addr want = addr_of("127.0.0.1", 80);
    ck_assert_int_eq(nk_addr_equal(&a, &want), 1);
}
END_TEST

START_TEST(test_addr_parse_ipv6_bracketed)
{
    nk_addr a;
    tu_assert_code(nk_addr_parse(&a, "[::1]:8080"), 0);
    ck_assert_int_eq(nk_addr_family(&a), AF_INET6);
    ck_assert_int_eq(nk_addr_port(&a), 8080);
    nk_addr want = addr_of("::1", 8080);
    ck_assert_int_eq(nk_addr_equal(&a, &want), 1);
}
END_TEST

START_TEST(test_addr_parse_malformed_einval)
{
    static const char *bad[] = {
        "127.0.0.1",   /* no port */
        "::1:80",      /* IPv6 without brackets */
        "[::1",        /* unterminated bracket */
        "[::1]",       /* bracket but no port */
        "[::1]80",     /* no colon after the bracket */
        "1.2.3.4:",    /* empty port */
        "1.2.3.4:abc", /* non-numeric port */
        "1.2.3.4:80x", /* trailing junk in the port */
        "",            /* empty */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nk_addr a;
        int rc = nk_addr_parse(&a, bad[i]);
        ck_assert_msg(rc == NK_EINVAL, "nk_addr_parse(\"%s\") = %s (%d), want NK_EINVAL", bad[i],
                      nk_error_name(rc), rc);
    }
}
END_TEST

START_TEST(test_addr_parse_port_out_of_range_eport)
{
    nk_addr a;
    tu_assert_code(nk_addr_parse(&a, "127.0.0.1:70000"), NK_EPORT);
    tu_assert_code(nk_addr_parse(&a, "127.0.0.1:65536"), NK_EPORT);
    tu_assert_code(nk_addr_parse(&a, "[::1]:70000"), NK_EPORT);
}
END_TEST

START_TEST(test_addr_parse_non_numeric_host_eai_noname)
{
    nk_addr a;
    tu_assert_code(nk_addr_parse(&a, "999.1.1.1:80"), NK_EAI(EAI_NONAME));
    tu_assert_code(nk_addr_parse(&a, "localhost:80"), NK_EAI(EAI_NONAME));
    tu_assert_code(nk_addr_parse(&a, "[nothost]:80"), NK_EAI(EAI_NONAME));
}
END_TEST

START_TEST(test_addr_parse_null_enull)
{
    nk_addr a;
    tu_assert_code(nk_addr_parse(NULL, "127.0.0.1:80"), NK_ENULL);
    tu_assert_code(nk_addr_parse(&a, NULL), NK_ENULL);
}
END_TEST

START_TEST(test_addr_parse_host_too_long_ehostlen)
{
    char host[512], text[600];
    tu_long_host(host, sizeof host, 300, '1');
    snprintf(text, sizeof text, "%s:80", host);
    nk_addr a;
    tu_assert_code(nk_addr_parse(&a, text), NK_EHOSTLEN);
}
END_TEST

START_TEST(test_addr_parse_format_roundtrip)
{
    static const char *texts[] = {"127.0.0.1:80", "10.1.2.3:0", "[::1]:8080", "[2001:db8::5]:65535",
                                  "0.0.0.0:1"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        nk_addr a;
        char out[NK_ADDRSTRLEN];
        tu_assert_code(nk_addr_parse(&a, texts[i]), 0);
        ck_assert_int_eq(nk_addr_format(&a, out, sizeof out), (int)strlen(texts[i]));
        ck_assert_str_eq(out, texts[i]);
    }
}
END_TEST

START_TEST(test_addr_format_scope_parses_back)
{
    /* A scope is written as an interface name only for link-local addresses,
     * where getaddrinfo reads a name back; "[2001:db8::1%lo]:80" did not
     * parse (found by fuzz/fuzz_addr). */
    static const char *global[] = {"[2001:db8::1%1]:80", "[::1%7]:9", "[ff05::2%1]:1"};
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++) {
        nk_addr a, back;
        char text[NK_ADDRSTRLEN], host[NK_ADDRSTRLEN];
        tu_assert_code(nk_addr_parse(&a, global[i]), 0);
        ck_assert_int_eq(nk_addr_format(&a, text, sizeof text), (int)strlen(global[i]));
        ck_assert_str_eq(text, global[i]);
        tu_assert_code(nk_addr_parse(&back, text), 0);
        ck_assert_int_eq(nk_addr_equal(&a, &back), 1);
        ck_assert_int_gt(nk_addr_host(&a, host, sizeof host), 0);
        tu_assert_code(nk_addr_set(&back, host, nk_addr_port(&a)), 0);
        ck_assert_int_eq(nk_addr_equal(&a, &back), 1);
    }
    /* Link-local (unicast and multicast): the name, which parses back too. */
    unsigned lo = if_nametoindex("lo");
    ck_assert_uint_ne(lo, 0);
    static const char *local[] = {"fe80::1", "ff02::1"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        nk_addr a, back;
        char in[64], want[64], text[NK_ADDRSTRLEN];
        snprintf(in, sizeof in, "[%s%%%u]:80", local[i], lo);
        snprintf(want, sizeof want, "[%s%%lo]:80", local[i]);
        tu_assert_code(nk_addr_parse(&a, in), 0);
        ck_assert_int_eq(nk_addr_format(&a, text, sizeof text), (int)strlen(want));
        ck_assert_str_eq(text, want);
        tu_assert_code(nk_addr_parse(&back, text), 0);
        ck_assert_int_eq(nk_addr_equal(&a, &back), 1);
    }
}
END_TEST

/* ---- nk_addr_format / nk_addr_tuple / nk_addr_host -------------------- */

START_TEST(test_addr_format_ipv4)
{
    nk_addr a = addr_of("127.0.0.1", 80);
    char buf[NK_ADDRSTRLEN];
    ck_assert_int_eq(nk_addr_format(&a, buf, sizeof buf), 12);
    ck_assert_str_eq(buf, "127.0.0.1:80");
}
END_TEST

START_TEST(test_addr_format_ipv6_bracketed)
{
    nk_addr a = addr_of("::1", 8080);
    char buf[NK_ADDRSTRLEN];
    ck_assert_int_eq(nk_addr_format(&a, buf, sizeof buf), 10);
    ck_assert_str_eq(buf, "[::1]:8080");
}
END_TEST

START_TEST(test_addr_format_small_buffer_ebufsize)
{
    nk_addr a = addr_of("127.0.0.1", 80);
    char buf[32];
    memset(buf, 'X', sizeof buf);
    tu_assert_code(nk_addr_format(&a, buf, 12), NK_EBUFSIZE); /* no room for the NUL */
    ck_assert_int_eq(buf[12], 'X');                           /* nothing past cap */
    tu_assert_code(nk_addr_format(&a, buf, 0), NK_EBUFSIZE);
    ck_assert_int_eq(nk_addr_format(&a, buf, 13), 12);
    ck_assert_str_eq(buf, "127.0.0.1:80");
}
END_TEST

START_TEST(test_addr_format_not_ip_einval)
{
    nk_addr a;
    char buf[NK_ADDRSTRLEN];
    memset(&a, 0, sizeof a); /* AF_UNSPEC */
    tu_assert_code(nk_addr_format(&a, buf, sizeof buf), NK_EINVAL);
    a.ss.ss_family = AF_UNIX;
    a.len = sizeof(struct sockaddr_in);
    tu_assert_code(nk_addr_format(&a, buf, sizeof buf), NK_EINVAL);
    tu_assert_code(nk_addr_tuple(&a, buf, sizeof buf), NK_EINVAL);
    tu_assert_code(nk_addr_host(&a, buf, sizeof buf), NK_EINVAL);
}
END_TEST

START_TEST(test_addr_format_null_enull)
{
    nk_addr a = addr_of("127.0.0.1", 80);
    char buf[NK_ADDRSTRLEN];
    tu_assert_code(nk_addr_format(NULL, buf, sizeof buf), NK_ENULL);
    tu_assert_code(nk_addr_format(&a, NULL, sizeof buf), NK_ENULL);
    tu_assert_code(nk_addr_tuple(NULL, buf, sizeof buf), NK_ENULL);
    tu_assert_code(nk_addr_tuple(&a, NULL, sizeof buf), NK_ENULL);
    tu_assert_code(nk_addr_host(NULL, buf, sizeof buf), NK_ENULL);
    tu_assert_code(nk_addr_host(&a, NULL, sizeof buf), NK_ENULL);
}
END_TEST

START_TEST(test_addr_tuple_ipv4_python_text)
{
    nk_addr a = addr_of("127.0.0.1", 54321);
    char buf[NK_ADDRSTRLEN];
    const char *want = "('127.0.0.1', 54321)";
    ck_assert_int_eq(nk_addr_tuple(&a, buf, sizeof buf), (int)strlen(want));
    ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_addr_tuple_ipv6_python_text)
{
    nk_addr a = addr_of("::1", 54321);
    char buf[NK_ADDRSTRLEN];
    const char *want = "('::1', 54321, 0, 0)";
    ck_assert_int_eq(nk_addr_tuple(&a, buf, sizeof buf), (int)strlen(want));
    ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_addr_tuple_ipv6_scope_python_text)
{
    /* Python 3 prints a scoped address's host without "%scope" in the tuple,
     * the scope being the fourth field: ('fe80::1', 80, 0, <index of lo>). */
    unsigned lo = if_nametoindex("lo");
    ck_assert_uint_ne(lo, 0);
    nk_addr a = addr_of("fe80::1%lo", 80);
    char buf[NK_ADDRSTRLEN], want[NK_ADDRSTRLEN];
    snprintf(want, sizeof want, "('fe80::1', 80, 0, %u)", lo);
    int n = nk_addr_tuple(&a, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(n, (int)strlen(want));
}
END_TEST

START_TEST(test_addr_tuple_small_buffer_ebufsize)
{
    nk_addr a = addr_of("::1", 54321);
    char buf[64];
    size_t len = strlen("('::1', 54321, 0, 0)");
    memset(buf, 'X', sizeof buf);
    tu_assert_code(nk_addr_tuple(&a, buf, len), NK_EBUFSIZE);
    ck_assert_int_eq(buf[len], 'X');
    ck_assert_int_eq(nk_addr_tuple(&a, buf, len + 1), (int)len);
}
END_TEST

START_TEST(test_addr_host_numeric_text)
{
    char buf[NK_ADDRSTRLEN];
    nk_addr a = addr_of("127.0.0.1", 80);
    ck_assert_int_eq(nk_addr_host(&a, buf, sizeof buf), 9);
    ck_assert_str_eq(buf, "127.0.0.1");
    nk_addr b = addr_of("::1", 80);
    ck_assert_int_eq(nk_addr_host(&b, buf, sizeof buf), 3);
    ck_assert_str_eq(buf, "::1");
    nk_addr c = addr_of("2001:0db8:0000:0000:0000:0000:0000:0005", 80);
    ck_assert_int_eq(nk_addr_host(&c, buf, sizeof buf), (int)strlen("2001:db8::5"));
    ck_assert_str_eq(buf, "2001:db8::5");
}
END_TEST

START_TEST(test_addr_host_small_buffer_ebufsize)
{
    char buf[32];
    nk_addr a = addr_of("127.0.0.1", 80);
    memset(buf, 'X', sizeof buf);
    tu_assert_code(nk_addr_host(&a, buf, 9), NK_EBUFSIZE);
    ck_assert_int_eq(buf[9], 'X');
    ck_assert_int_eq(nk_addr_host(&a, buf, 10), 9);
    ck_assert_str_eq(buf, "127.0.0.1");
}
END_TEST

/* ---- nk_addr_port / nk_addr_family ------------------------------------ */

START_TEST(test_addr_port_values)
{
    nk_addr a = addr_of("127.0.0.1", 80);
    ck_assert_int_eq(nk_addr_port(&a), 80);
    nk_addr b = addr_of("::1", 65535);
    ck_assert_int_eq(nk_addr_port(&b), 65535);
}
END_TEST

START_TEST(test_addr_port_invalid)
{
    nk_addr a;
    memset(&a, 0, sizeof a);
    tu_assert_code(nk_addr_port(NULL), NK_ENULL);
    tu_assert_code(nk_addr_port(&a), NK_EINVAL);
}
END_TEST

START_TEST(test_addr_family_values)
{
    nk_addr a = addr_of("127.0.0.1", 80);
    ck_assert_int_eq(nk_addr_family(&a), AF_INET);
    nk_addr b = addr_of("::1", 80);
    ck_assert_int_eq(nk_addr_family(&b), AF_INET6);
}
END_TEST

START_TEST(test_addr_family_invalid)
{
    nk_addr a;
    memset(&a, 0, sizeof a);
    tu_assert_code(nk_addr_family(NULL), NK_ENULL);
    tu_assert_code(nk_addr_family(&a), NK_EINVAL);
}
END_TEST

/* ---- nk_addr_equal ---------------------------------------------------- */

START_TEST(test_addr_equal_same)
{
    nk_addr a = addr_of("127.0.0.1", 80), b = addr_of("127.0.0.1", 80);
    ck_assert_int_eq(nk_addr_equal(&a, &b), 1);
    ck_assert_int_eq(nk_addr_equal(&a, &a), 1);
    nk_addr c = addr_of("::1", 80), d = addr_of("::1", 80);
    ck_assert_int_eq(nk_addr_equal(&c, &d), 1);
}
END_TEST

START_TEST(test_addr_equal_different_port)
{
    nk_addr a = addr_of("127.0.0.1", 80), b = addr_of("127.0.0.1", 81);
    ck_assert_int_eq(nk_addr_equal(&a, &b), 0);
    nk_addr c = addr_of("::1", 80), d = addr_of("::1", 81);
    ck_assert_int_eq(nk_addr_equal(&c, &d), 0);
}
END_TEST

START_TEST(test_addr_equal_different_host)
{
    nk_addr a = addr_of("127.0.0.1", 80), b = addr_of("127.0.0.2", 80);
    ck_assert_int_eq(nk_addr_equal(&a, &b), 0);
    nk_addr c = addr_of("::1", 80), d = addr_of("::2", 80);
    ck_assert_int_eq(nk_addr_equal(&c, &d), 0);
}
END_TEST

START_TEST(test_addr_equal_different_family)
{
    nk_addr a = addr_of("127.0.0.1", 80), b = addr_of("::1", 80);
    ck_assert_int_eq(nk_addr_equal(&a, &b), 0);
    nk_addr c = addr_of("0.0.0.0", 80), d = addr_of("::", 80);
    ck_assert_int_eq(nk_addr_equal(&c, &d), 0);
}
END_TEST

START_TEST(test_addr_equal_different_scope)
{
    unsigned lo = if_nametoindex("lo");
    ck_assert_uint_ne(lo, 0);
    nk_addr a = addr_of("fe80::1%lo", 80), b = addr_of("fe80::1", 80);
    ck_assert_int_eq(nk_addr_equal(&a, &b), 0);
}
END_TEST

START_TEST(test_addr_equal_ignores_padding)
{
    /* A hand-built sockaddr_in with junk in sin_zero and past it is the same address. */
    nk_addr a = addr_of("127.0.0.1", 80), b;
    memset(&b, 0x5A, sizeof b);
    struct sockaddr_in *sin = (struct sockaddr_in *)&b.ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(80);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    b.len = sizeof *sin;
    ck_assert_int_eq(nk_addr_equal(&a, &b), 1);
}
END_TEST

START_TEST(test_addr_equal_null_enull)
{
    nk_addr a = addr_of("127.0.0.1", 80);
    tu_assert_code(nk_addr_equal(NULL, &a), NK_ENULL);
    tu_assert_code(nk_addr_equal(&a, NULL), NK_ENULL);
}
END_TEST

Suite *suite_addr(void)
{
    Suite *s = suite_create("addr");

    TCase *tc = tcase_create("set");
    tcase_add_test(tc, test_addr_set_ipv4_literal);
    tcase_add_test(tc, test_addr_set_ipv6_literal);
    tcase_add_test(tc, test_addr_set_ipv6_scope_kept);
    tcase_add_test(tc, test_addr_set_bad_literal_eai_noname);
    tcase_add_test(tc, test_addr_set_star_is_not_a_literal);
    tcase_add_test(tc, test_addr_set_port_out_of_range_eport);
    tcase_add_test(tc, test_addr_set_port_bounds_ok);
    tcase_add_test(tc, test_addr_set_null_enull);
    tcase_add_test(tc, test_addr_set_host_too_long_ehostlen);
    tcase_add_test(tc, test_addr_set_host_255_chars_not_too_long);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse");
    tcase_add_test(tc, test_addr_parse_ipv4_host_port);
    tcase_add_test(tc, test_addr_parse_ipv6_bracketed);
    tcase_add_test(tc, test_addr_parse_malformed_einval);
    tcase_add_test(tc, test_addr_parse_port_out_of_range_eport);
    tcase_add_test(tc, test_addr_parse_non_numeric_host_eai_noname);
    tcase_add_test(tc, test_addr_parse_null_enull);
    tcase_add_test(tc, test_addr_parse_host_too_long_ehostlen);
    tcase_add_test(tc, test_addr_parse_format_roundtrip);
    tcase_add_test(tc, test_addr_format_scope_parses_back);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_test(tc, test_addr_format_ipv4);
    tcase_add_test(tc, test_addr_format_ipv6_bracketed);
    tcase_add_test(tc, test_addr_format_small_buffer_ebufsize);
    tcase_add_test(tc, test_addr_format_not_ip_einval);
    tcase_add_test(tc, test_addr_format_null_enull);
    tcase_add_test(tc, test_addr_tuple_ipv4_python_text);
    tcase_add_test(tc, test_addr_tuple_ipv6_python_text);
    tcase_add_test(tc, test_addr_tuple_ipv6_scope_python_text);
    tcase_add_test(tc, test_addr_tuple_small_buffer_ebufsize);
    tcase_add_test(tc, test_addr_host_numeric_text);
    tcase_add_test(tc, test_addr_host_small_buffer_ebufsize);
    suite_add_tcase(s, tc);

    tc = tcase_create("accessors");
    tcase_add_test(tc, test_addr_port_values);
    tcase_add_test(tc, test_addr_port_invalid);
    tcase_add_test(tc, test_addr_family_values);
    tcase_add_test(tc, test_addr_family_invalid);
    suite_add_tcase(s, tc);

    tc = tcase_create("equal");
    tcase_add_test(tc, test_addr_equal_same);
    tcase_add_test(tc, test_addr_equal_different_port);
    tcase_add_test(tc, test_addr_equal_different_host);
    tcase_add_test(tc, test_addr_equal_different_family);
    tcase_add_test(tc, test_addr_equal_different_scope);
    tcase_add_test(tc, test_addr_equal_ignores_padding);
    tcase_add_test(tc, test_addr_equal_null_enull);
    suite_add_tcase(s, tc);

    return s;
}
