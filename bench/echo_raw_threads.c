/*
 * echo_raw_threads.c - the baseline of the thread-per-client row, with raw BSD
 * sockets and pthreads: a blocking accept loop, one joinable thread per
 * connection, each with a 64 KiB buffer on its stack doing blocking recv and
 * send (partial sends completed) until the peer closes.
 *
 *   echo_raw_threads [--clients N]
 *
 * Binds 127.0.0.1 port 0 and prints "port P". With --clients N it accepts N
 * connections, waits for their threads and exits; without, it runs until a
 * signal ends it.
 *
 * With --clients a watchdog (alarm, 600 s) ends the run whatever happens.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSIZE 65536
#define WATCHDOG_S 600 /* with --clients: the longest a run may take */

static void *serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg, one = 1;
    char buf[BUFSIZE];
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t s = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (s < 0 && errno == EINTR)
                continue;
            if (s < 0)
                goto done;
            off += s;
        }
    }
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    long max_clients = 0;
    if (argc == 3 && strcmp(argv[1], "--clients") == 0)
        max_clients = atol(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: echo_raw_threads [--clients N]\n");
        return 2;
    }
    if (max_clients > 0)
        alarm(WATCHDOG_S); /* a benchmark run: it ends, whatever happens */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, SOMAXCONN) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        perror("listen");
        return 1;
    }
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    size_t cap = 64, n = 0;
    pthread_t *threads = malloc(cap * sizeof *threads);
    while (threads != NULL && (max_clients == 0 || (long)n < max_clients)) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept4");
            break;
        }
        if (n == cap) {
            pthread_t *t = realloc(threads, 2 * cap * sizeof *t);
            if (t == NULL)
                break;
            threads = t;
            cap *= 2;
        }
        if (pthread_create(&threads[n], NULL, serve_one, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        n++;
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    close(lfd);
    return 0;
}
