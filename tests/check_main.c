/* check_main.c - runs every netkit Check suite (CK_FORK isolation by default). */
#include <signal.h>
#include <stdlib.h>

#include "tests.h"

int main(void)
{
    /* A test that provokes EPIPE must see the error code, not die by SIGPIPE:
     * netkit never raises it, so leave SIGPIPE at its default to prove that. */
    SRunner *sr = srunner_create(suite_error());
    srunner_add_suite(sr, suite_addr());
    srunner_add_suite(sr, suite_resolve());
    srunner_add_suite(sr, suite_io());
    srunner_add_suite(sr, suite_tcp_client());
    srunner_add_suite(sr, suite_tcp_server());
    srunner_add_suite(sr, suite_serve());
    srunner_add_suite(sr, suite_udp());
    srunner_add_suite(sr, suite_selector());
    srunner_add_suite(sr, suite_hostile());
    srunner_add_suite(sr, suite_faults());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
