/*
 * chat_client.c - the tutorials' chat client on netkit (demos D3, D13, D15),
 * for chat_server (or the seeds' Python servers).
 *
 *   --mode one    seed 000, gethostname():1042: prompts "Enter your message: ",
 *                 sends the line (without its newline, as the seed), prints
 *                 "Received from server: <reply>".                       (D3)
 *   --mode named  seed 003, gethostname():12345: prints the server's welcome,
 *                 sends the first line as the name (with its newline, so the
 *                 server can tell it from a message that follows at once),
 *                 then chats as in --mode one.                          (D13)
 *   --mode room   seed 004, 127.0.0.1:8000: sends every line typed and shows
 *                 what the room sends while waiting for input (poll() on stdin
 *                 and the socket).                                      (D15)
 *
 * Works at a terminal and through pipes. End of input (Ctrl-D) leaves the
 * chat with exit status 0; in room mode the client then waits for the server
 * to close, so that every line sent has been handled.
 *
 * Build: cc chat_client.c $(pkg-config --cflags --libs netkit)
 */
#include <netkit.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPLY_SIZE 1042 /* the seed's soc.recv(1042) */

enum mode { MODE_ONE, MODE_NAMED, MODE_ROOM };

struct config {
    enum mode mode;
    const char *host; /* NULL: the mode's default */
    int port;         /* -1: the mode's default */
};

static const char *progname = "chat_client";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--mode one|named|room] [--host H] [--port P]\n"
            "The tutorials' chat client: reads lines from standard input, sends them\n"
            "and prints what the server sends. End of input leaves the chat.\n"
            "  --mode one    seed 000 (default): 'Enter your message: ' prompt, prints\n"
            "                'Received from server: <reply>'\n"
            "  --mode named  seed 003: the first line is your name, then as one\n"
            "  --mode room   seed 004: a chat room; the first line is your name and\n"
            "                what others say shows up while you type\n"
            "  --host H      server to connect to (default: this machine's name for one\n"
            "                and named, 127.0.0.1 for room)\n"
            "  --port P      server port (default 1042, 12345 and 8000)\n"
            "  --help        show this help\n",
            progname);
}

/* Fails with exit status 2 after a bad command line. */
static void bad_usage(const char *what, const char *value)
{
    fprintf(stderr, "%s: %s: '%s'\n", progname, what, value);
    usage(stderr);
    exit(2);
}

static enum mode parse_mode(const char *text)
{
    if (strcmp(text, "one") == 0)
        return MODE_ONE;
    if (strcmp(text, "named") == 0)
        return MODE_NAMED;
    if (strcmp(text, "room") != 0)
        bad_usage("unknown mode (one, named or room)", text);
    return MODE_ROOM;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'M'},
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'M':
            cfg->mode = parse_mode(optarg);
            break;
        case 'h':
            cfg->host = optarg;
            break;
        case 'p':
            errno = 0;
            cfg->port = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno != 0 || cfg->port < 0 || cfg->port > 65535)
                bad_usage("bad port", optarg);
            break;
        case 'H':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc)
        bad_usage("unexpected argument", argv[optind]);
    if (cfg->port < 0)
        cfg->port = cfg->mode == MODE_ONE ? 1042 : cfg->mode == MODE_NAMED ? 12345 : 8000;
}

/* Prints "<program>: <message>" for a netkit code. */
static void report(int code)
{
    fprintf(stderr, "%s: %s\n", progname, nk_strerror(code));
}

/* Reads one line from stdin without its newline into *line. Returns its
 * length, or -1 at the end of input. */
static ssize_t read_line(char **line, size_t *cap)
{
    ssize_t n = getline(line, cap, stdin);
    if (n < 0)
        return -1;
    if (n > 0 && (*line)[n - 1] == '\n')
        (*line)[--n] = '\0';
    return n;
}

/* The seed's loop: prompt, send a line, print the reply; until end of input. */
static int chat(nk_tcp_client *conn)
{
    char *line = NULL, reply[REPLY_SIZE];
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        fputs("Enter your message: ", stdout);
        fflush(stdout);
        ssize_t len = read_line(&line, &cap);
        if (len < 0) {
            if (isatty(STDIN_FILENO))
                putchar('\n'); /* Ctrl-D: end the prompt's line */
            break;
        }
        if (len == 0)
            continue; /* nothing to send: the seed would wait for a reply forever */
        if ((rc = nk_tcp_client_sendall(conn, line, (size_t)len, NULL)) < 0)
            break;
        ssize_t n = nk_tcp_client_recv(conn, reply, sizeof reply);
        if (n <= 0) {
            rc = (int)n;
            if (n == 0)
                fprintf(stderr, "%s: the server closed the connection\n", progname);
            break;
        }
        printf("Received from server: %.*s\n", (int)n, reply);
    }
    free(line);
    return rc;
}

/* Named mode: the welcome, then the name, then the seed's loop. */
static int chat_named(nk_tcp_client *conn)
{
    char welcome[1024];
    ssize_t n = nk_tcp_client_recv(conn, welcome, sizeof welcome);
    if (n <= 0)
        return (int)n;
    printf("%.*s\n", (int)n, welcome);
    char *name = NULL;
    size_t cap = 0;
    ssize_t len = read_line(&name, &cap);
    int rc = 0;
    if (len >= 0) {
        name[len] = '\n';
        rc = nk_tcp_client_sendall(conn, name, (size_t)len + 1, NULL);
    }
    free(name);
    if (len < 0 || rc < 0)
        return rc;
    return chat(conn);
}

/* Room mode: stdin to the server and the server to stdout, whichever is
 * ready, until the server closes. At the end of stdin the sending side is
 * shut down; the server then closes its side. */
static int chat_room(nk_tcp_client *conn)
{
    int fd = nk_tcp_client_fd(conn);
    if (fd < 0)
        return fd;
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    char buf[4096];
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (fds[1].revents != 0) {
            ssize_t n = nk_tcp_client_recv(conn, buf, sizeof buf);
            if (n == 0 && fds[0].fd >= 0)
                fprintf(stderr, "%s: the server closed the connection\n", progname);
            if (n <= 0)
                return (int)n;
            fwrite(buf, 1, (size_t)n, stdout);
            fflush(stdout);
        }
        if (fds[0].revents != 0) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -errno;
            int rc = n > 0 ? nk_tcp_client_sendall(conn, buf, (size_t)n, NULL)
                           : nk_tcp_client_shutdown(conn, SHUT_WR);
            if (rc < 0)
                return rc;
            if (n == 0)
                fds[0].fd = -1; /* end of input: poll ignores it from now on */
        }
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct config cfg = {.mode = MODE_ONE, .port = -1};
    parse_args(argc, argv, &cfg);
    char host[256];
    const char *target = cfg.host;
    int rc = 0;
    if (target == NULL && cfg.mode == MODE_ROOM)
        target = "127.0.0.1";
    if (target == NULL && (rc = nk_gethostname(host, sizeof host)) >= 0)
        target = host;
    nk_tcp_client *conn = NULL;
    if (rc >= 0)
        rc = nk_tcp_connect(&conn, target, cfg.port, NK_BLOCK);
    if (rc >= 0)
        rc = cfg.mode == MODE_ONE     ? chat(conn)
             : cfg.mode == MODE_NAMED ? chat_named(conn)
                                      : chat_room(conn);
    nk_tcp_client_close(conn);
    if (rc < 0) {
        report(rc);
        return 1;
    }
    return 0;
}
