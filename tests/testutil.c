/* testutil.c - helpers shared by the Check suites (see tests.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

long long tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
    e->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(e->listen_fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(e->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(e->listen_fd, 16), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(e->listen_fd, (struct sockaddr *)&a, &len), 0);
    e->port = ntohs(a.sin_port);
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
