/* check_error.c - the error model: kinds, extraction, names, Python's texts. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tests.h"

/* Codes netkit never returns: between the socket and the resolver ranges,
 * between its own codes, and the extreme int. */
static const int unknown_codes[] = {-4500, -7050, -7999, INT_MIN};

/* ---- nk_error_kind ---------------------------------------------------- */

START_TEST(test_error_kind_socket_errno)
{
    ck_assert_int_eq(nk_error_kind(-ECONNREFUSED), NK_KIND_SOCKET);
    ck_assert_int_eq(nk_error_kind(-EAGAIN), NK_KIND_SOCKET);
    ck_assert_int_eq(nk_error_kind(-EADDRINUSE), NK_KIND_SOCKET);
    ck_assert_int_eq(nk_error_kind(-EPIPE), NK_KIND_SOCKET);
}
END_TEST

START_TEST(test_error_kind_timeout_nk_etimeout)
{
    ck_assert_int_eq(nk_error_kind(NK_ETIMEOUT), NK_KIND_TIMEOUT);
}
END_TEST

START_TEST(test_error_kind_socket_kernel_etimedout)
{
    /* The kernel's ETIMEDOUT stays a socket error, as in Python. */
    ck_assert_int_eq(nk_error_kind(-ETIMEDOUT), NK_KIND_SOCKET);
    ck_assert_int_ne(-ETIMEDOUT, NK_ETIMEOUT);
}
END_TEST

START_TEST(test_error_kind_gai_eai_codes)
{
    ck_assert_int_eq(nk_error_kind(NK_EAI(EAI_NONAME)), NK_KIND_GAI);
    ck_assert_int_eq(nk_error_kind(NK_EAI(EAI_FAMILY)), NK_KIND_GAI);
    ck_assert_int_eq(nk_error_kind(NK_EAI(EAI_ADDRFAMILY)), NK_KIND_GAI);
}
END_TEST

START_TEST(test_error_kind_host_herrno_codes)
{
    ck_assert_int_eq(nk_error_kind(NK_EHOST(HOST_NOT_FOUND)), NK_KIND_HOST);
    ck_assert_int_eq(nk_error_kind(NK_EHOST(TRY_AGAIN)), NK_KIND_HOST);
}
END_TEST

START_TEST(test_error_kind_usage_own_codes)
{
    const int codes[] = {NK_EINVAL,  NK_ENULL,    NK_EPORT,   NK_ECLOSED,
                         NK_EHANDLE, NK_EHOSTLEN, NK_EBUFSIZE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        ck_assert_msg(nk_error_kind(codes[i]) == NK_KIND_USAGE, "code %d (%s): kind %d", codes[i],
                      nk_error_name(codes[i]), nk_error_kind(codes[i]));
}
END_TEST

START_TEST(test_error_kind_ok_zero_and_positive)
{
    ck_assert_int_eq(nk_error_kind(0), NK_KIND_OK);
    ck_assert_int_eq(nk_error_kind(1), NK_KIND_OK);
    ck_assert_int_eq(nk_error_kind(65535), NK_KIND_OK);
    ck_assert_int_eq(nk_error_kind(INT_MAX), NK_KIND_OK);
}
END_TEST

/* ---- nk_error_errno / nk_error_gai / nk_error_herrno ------------------ */

START_TEST(test_error_errno_socket_extracts_errno)
{
    ck_assert_int_eq(nk_error_errno(-ECONNREFUSED), ECONNREFUSED);
    ck_assert_int_eq(nk_error_errno(-EADDRINUSE), EADDRINUSE);
    ck_assert_int_eq(nk_error_errno(-ETIMEDOUT), ETIMEDOUT);
}
END_TEST

START_TEST(test_error_errno_closed_is_ebadf)
{
    ck_assert_int_eq(nk_error_errno(NK_ECLOSED), EBADF);
}
END_TEST

START_TEST(test_error_errno_timeout_is_etimedout)
{
    ck_assert_int_eq(nk_error_errno(NK_ETIMEOUT), ETIMEDOUT);
}
END_TEST

START_TEST(test_error_errno_other_kinds_zero)
{
    ck_assert_int_eq(nk_error_errno(0), 0);
    ck_assert_int_eq(nk_error_errno(NK_EAI(EAI_NONAME)), 0);
    ck_assert_int_eq(nk_error_errno(NK_EHOST(HOST_NOT_FOUND)), 0);
    ck_assert_int_eq(nk_error_errno(NK_EPORT), 0);
    ck_assert_int_eq(nk_error_errno(NK_ENULL), 0);
}
END_TEST

START_TEST(test_error_gai_extracts_signed_eai)
{
    ck_assert_int_eq(nk_error_gai(NK_EAI(EAI_NONAME)), EAI_NONAME);
    ck_assert_int_eq(nk_error_gai(NK_EAI(EAI_FAMILY)), EAI_FAMILY);
    ck_assert_int_eq(nk_error_gai(NK_EAI(EAI_ADDRFAMILY)), EAI_ADDRFAMILY);
    ck_assert_int_eq(EAI_NONAME, -2); /* glibc's sign, which must be kept */
}
END_TEST

START_TEST(test_error_gai_other_kinds_zero)
{
    ck_assert_int_eq(nk_error_gai(0), 0);
    ck_assert_int_eq(nk_error_gai(-ECONNREFUSED), 0);
    ck_assert_int_eq(nk_error_gai(NK_EHOST(HOST_NOT_FOUND)), 0);
    ck_assert_int_eq(nk_error_gai(NK_ETIMEOUT), 0);
}
END_TEST

START_TEST(test_error_herrno_extracts_herrno)
{
    ck_assert_int_eq(nk_error_herrno(NK_EHOST(HOST_NOT_FOUND)), HOST_NOT_FOUND);
    ck_assert_int_eq(nk_error_herrno(NK_EHOST(TRY_AGAIN)), TRY_AGAIN);
    ck_assert_int_eq(nk_error_herrno(NK_EHOST(NO_DATA)), NO_DATA);
}
END_TEST

START_TEST(test_error_herrno_other_kinds_zero)
{
    ck_assert_int_eq(nk_error_herrno(0), 0);
    ck_assert_int_eq(nk_error_herrno(-ECONNREFUSED), 0);
    ck_assert_int_eq(nk_error_herrno(NK_EAI(EAI_NONAME)), 0);
    ck_assert_int_eq(nk_error_herrno(NK_EPORT), 0);
}
END_TEST

/* ---- nk_error_name ---------------------------------------------------- */

START_TEST(test_error_name_known_codes)
{
    ck_assert_str_eq(nk_error_name(0), "OK");
    ck_assert_str_eq(nk_error_name(-ECONNREFUSED), "ECONNREFUSED");
    ck_assert_str_eq(nk_error_name(-EADDRINUSE), "EADDRINUSE");
    ck_assert_str_eq(nk_error_name(-ETIMEDOUT), "ETIMEDOUT");
    ck_assert_str_eq(nk_error_name(NK_EAI(EAI_NONAME)), "EAI_NONAME");
    ck_assert_str_eq(nk_error_name(NK_EAI(EAI_FAMILY)), "EAI_FAMILY");
    ck_assert_str_eq(nk_error_name(NK_EHOST(HOST_NOT_FOUND)), "HOST_NOT_FOUND");
    ck_assert_str_eq(nk_error_name(NK_ETIMEOUT), "NK_ETIMEOUT");
    ck_assert_str_eq(nk_error_name(NK_EPORT), "NK_EPORT");
    ck_assert_str_eq(nk_error_name(NK_ECLOSED), "NK_ECLOSED");
    ck_assert_str_eq(nk_error_name(NK_ENULL), "NK_ENULL");
    ck_assert_str_eq(nk_error_name(NK_EBUFSIZE), "NK_EBUFSIZE");
}
END_TEST

START_TEST(test_error_name_unknown_code)
{
    for (size_t i = 0; i < sizeof unknown_codes / sizeof unknown_codes[0]; i++) {
        const char *n = nk_error_name(unknown_codes[i]);
        ck_assert_ptr_nonnull(n);
        ck_assert_msg(strcmp(n, "UNKNOWN") == 0, "nk_error_name(%d) = \"%s\", want \"UNKNOWN\"",
                      unknown_codes[i], n);
    }
}
END_TEST

START_TEST(test_error_name_static_string)
{
    /* The string is static: the same pointer every call, still valid later. */
    const char *a = nk_error_name(-ECONNREFUSED);
    const char *b = nk_error_name(NK_ETIMEOUT);
    ck_assert_ptr_eq(a, nk_error_name(-ECONNREFUSED));
    ck_assert_str_eq(a, "ECONNREFUSED");
    ck_assert_str_eq(b, "NK_ETIMEOUT");
}
END_TEST

/* ---- nk_strerror ------------------------------------------------------ */

START_TEST(test_error_strerror_socket_python_text)
{
    ck_assert_str_eq(nk_strerror(-ECONNREFUSED), "[Errno 111] Connection refused");
    ck_assert_str_eq(nk_strerror(-EADDRINUSE), "[Errno 98] Address already in use");
}
END_TEST

START_TEST(test_error_strerror_timeout_python_text)
{
    ck_assert_str_eq(nk_strerror(NK_ETIMEOUT), "timed out");
}
END_TEST

START_TEST(test_error_strerror_kernel_etimedout_distinct)
{
    ck_assert_int_eq(nk_error_kind(-ETIMEDOUT), NK_KIND_SOCKET);
    ck_assert_str_eq(nk_strerror(-ETIMEDOUT), "[Errno 110] Connection timed out");
}
END_TEST

START_TEST(test_error_strerror_gai_python_text)
{
    ck_assert_str_eq(nk_strerror(NK_EAI(EAI_NONAME)), "[Errno -2] Name or service not known");
    ck_assert_str_eq(nk_strerror(NK_EAI(EAI_FAMILY)), "[Errno -6] ai_family not supported");
    ck_assert_str_eq(nk_strerror(NK_EAI(EAI_ADDRFAMILY)),
                     "[Errno -9] Address family for hostname not supported");
}
END_TEST

START_TEST(test_error_strerror_host_python_text)
{
    ck_assert_str_eq(nk_strerror(NK_EHOST(HOST_NOT_FOUND)), "[Errno 1] Unknown host");
}
END_TEST

START_TEST(test_error_strerror_closed_python_text)
{
    ck_assert_str_eq(nk_strerror(NK_ECLOSED), "[Errno 9] Bad file descriptor");
}
END_TEST

START_TEST(test_error_strerror_port_python_text)
{
    ck_assert_str_eq(nk_strerror(NK_EPORT), "port must be 0-65535.");
}
END_TEST

START_TEST(test_error_strerror_unknown_code_says_something)
{
    for (size_t i = 0; i < sizeof unknown_codes / sizeof unknown_codes[0]; i++) {
        const char *s = nk_strerror(unknown_codes[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(strlen(s) > 0, "nk_strerror(%d) is empty", unknown_codes[i]);
    }
}
END_TEST

/* ---- nk_strerror_r ---------------------------------------------------- */

START_TEST(test_error_strerror_r_fits_returns_length)
{
    char buf[128];
    int n = nk_strerror_r(-ECONNREFUSED, buf, sizeof buf);
    ck_assert_int_eq(n, (int)strlen("[Errno 111] Connection refused"));
    ck_assert_str_eq(buf, "[Errno 111] Connection refused");
}
END_TEST

START_TEST(test_error_strerror_r_small_buffer_ebufsize)
{
    char buf[16];
    memset(buf, 'X', sizeof buf);
    int n = nk_strerror_r(-ECONNREFUSED, buf, 8);
    tu_assert_code(n, NK_EBUFSIZE);
    ck_assert_int_eq(buf[7], '\0'); /* truncated, NUL-terminated within cap */
    ck_assert_str_eq(buf, "[Errno ");
    ck_assert_int_eq(buf[8], 'X'); /* nothing written past cap */
}
END_TEST

START_TEST(test_error_strerror_r_exact_boundary)
{
    const char *msg = "timed out";
    size_t len = strlen(msg);
    char buf[32];
    /* cap == len leaves no room for the NUL. */
    memset(buf, 'X', sizeof buf);
    tu_assert_code(nk_strerror_r(NK_ETIMEOUT, buf, len), NK_EBUFSIZE);
    ck_assert_int_eq(buf[len - 1], '\0');
    ck_assert_int_eq(buf[len], 'X');
    /* cap == len + 1 fits exactly. */
    ck_assert_int_eq(nk_strerror_r(NK_ETIMEOUT, buf, len + 1), (int)len);
    ck_assert_str_eq(buf, msg);
}
END_TEST

START_TEST(test_error_strerror_r_zero_cap_untouched)
{
    char buf[4] = {'X', 'X', 'X', 'X'};
    tu_assert_code(nk_strerror_r(NK_ETIMEOUT, buf, 0), NK_EBUFSIZE);
    ck_assert_int_eq(buf[0], 'X');
}
END_TEST

START_TEST(test_error_strerror_r_null_buf_enull)
{
    tu_assert_code(nk_strerror_r(NK_ETIMEOUT, NULL, 16), NK_ENULL);
}
END_TEST

/* ---- thread safety ---------------------------------------------------- */

struct strerror_worker {
    int code;
    const char *want;
    int iterations;
    int mismatches;
};

static void *strerror_worker_main(void *arg)
{
    struct strerror_worker *w = arg;
    long long deadline = tu_now_ms() + 3000;
    for (int i = 0; i < w->iterations && tu_now_ms() < deadline; i++) {
        const char *s = nk_strerror(w->code);
        if (s == NULL || strcmp(s, w->want) != 0)
            w->mismatches++;
    }
    return NULL;
}

START_TEST(test_error_strerror_threads_get_own_text)
{
    struct strerror_worker w[2] = {
        {-ECONNREFUSED, "[Errno 111] Connection refused", 20000, 0},
        {NK_EAI(EAI_NONAME), "[Errno -2] Name or service not known", 20000, 0},
    };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        tu_spawn(&t[i], strerror_worker_main, &w[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ck_assert_msg(w[0].mismatches == 0, "thread 0 saw %d wrong texts", w[0].mismatches);
    ck_assert_msg(w[1].mismatches == 0, "thread 1 saw %d wrong texts", w[1].mismatches);
}
END_TEST

static void *strerror_other_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        (void)nk_strerror(NK_EAI(EAI_NONAME));
    return NULL;
}

START_TEST(test_error_strerror_result_survives_other_thread)
{
    /* The text is thread-local: another thread's calls must not overwrite it. */
    const char *mine = nk_strerror(-ECONNREFUSED);
    pthread_t t;
    tu_spawn(&t, strerror_other_thread, NULL);
    pthread_join(t, NULL);
    ck_assert_str_eq(mine, "[Errno 111] Connection refused");
}
END_TEST

/* ---- version ---------------------------------------------------------- */

START_TEST(test_version_get_matches_header)
{
    ck_assert_ptr_nonnull(nk_version());
    ck_assert_str_eq(nk_version(), NK_VERSION_STRING);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", NK_VERSION_MAJOR, NK_VERSION_MINOR, NK_VERSION_PATCH);
    ck_assert_str_eq(NK_VERSION_STRING, want);
}
END_TEST

Suite *suite_error(void)
{
    Suite *s = suite_create("error");

    TCase *tc = tcase_create("kind");
    tcase_add_test(tc, test_error_kind_socket_errno);
    tcase_add_test(tc, test_error_kind_timeout_nk_etimeout);
    tcase_add_test(tc, test_error_kind_socket_kernel_etimedout);
    tcase_add_test(tc, test_error_kind_gai_eai_codes);
    tcase_add_test(tc, test_error_kind_host_herrno_codes);
    tcase_add_test(tc, test_error_kind_usage_own_codes);
    tcase_add_test(tc, test_error_kind_ok_zero_and_positive);
    suite_add_tcase(s, tc);

    tc = tcase_create("extract");
    tcase_add_test(tc, test_error_errno_socket_extracts_errno);
    tcase_add_test(tc, test_error_errno_closed_is_ebadf);
    tcase_add_test(tc, test_error_errno_timeout_is_etimedout);
    tcase_add_test(tc, test_error_errno_other_kinds_zero);
    tcase_add_test(tc, test_error_gai_extracts_signed_eai);
    tcase_add_test(tc, test_error_gai_other_kinds_zero);
    tcase_add_test(tc, test_error_herrno_extracts_herrno);
    tcase_add_test(tc, test_error_herrno_other_kinds_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("name");
    tcase_add_test(tc, test_error_name_known_codes);
    tcase_add_test(tc, test_error_name_unknown_code);
    tcase_add_test(tc, test_error_name_static_string);
    suite_add_tcase(s, tc);

    tc = tcase_create("strerror");
    tcase_add_test(tc, test_error_strerror_socket_python_text);
    tcase_add_test(tc, test_error_strerror_timeout_python_text);
    tcase_add_test(tc, test_error_strerror_kernel_etimedout_distinct);
    tcase_add_test(tc, test_error_strerror_gai_python_text);
    tcase_add_test(tc, test_error_strerror_host_python_text);
    tcase_add_test(tc, test_error_strerror_closed_python_text);
    tcase_add_test(tc, test_error_strerror_port_python_text);
    tcase_add_test(tc, test_error_strerror_unknown_code_says_something);
    tcase_add_test(tc, test_error_strerror_r_fits_returns_length);
    tcase_add_test(tc, test_error_strerror_r_small_buffer_ebufsize);
    tcase_add_test(tc, test_error_strerror_r_exact_boundary);
    tcase_add_test(tc, test_error_strerror_r_zero_cap_untouched);
    tcase_add_test(tc, test_error_strerror_r_null_buf_enull);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_error_strerror_threads_get_own_text);
    tcase_add_test(tc, test_error_strerror_result_survives_other_thread);
    suite_add_tcase(s, tc);

    tc = tcase_create("version");
    tcase_add_test(tc, test_version_get_matches_header);
    suite_add_tcase(s, tc);

    return s;
}
