/*
 * fuzz.h - what netkit's libFuzzer targets share: reading the fuzz input as a
 * stream of small decisions, failing loudly when a property does not hold,
 * and a cheap check that an input left no file descriptor open.
 *
 * A failed property prints what was expected and calls abort(), which
 * libFuzzer reports as a crash and saves the input (fuzz/README.md).
 */
#ifndef NETKIT_FUZZ_H
#define NETKIT_FUZZ_H

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fuzz input, consumed from the front. Reading past its end gives zeros,
 * so every input is a valid script. */
struct fz {
    const uint8_t *p;
    size_t n;
};

static inline unsigned fz_u8(struct fz *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

static inline unsigned fz_u16(struct fz *f)
{
    unsigned hi = fz_u8(f);
    return hi << 8 | fz_u8(f);
}

/* Up to want bytes from the input (fewer at its end); *got says how many. */
static inline const uint8_t *fz_take(struct fz *f, size_t want, size_t *got)
{
    const uint8_t *p = f->p;
    *got = want < f->n ? want : f->n;
    f->p += *got;
    f->n -= *got;
    return p;
}

__attribute__((noreturn, format(printf, 4, 5))) static void
fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\n%s:%d: property failed: %s\n  ", file, line, cond);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Checks a property; on failure prints the condition and the message, and aborts. */
#define FZ_ASSERT(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                       \
    } while (0)

/* The lowest free file descriptor: an input that leaks one raises it. */
static inline int fz_lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd;
}

/* Prints bytes for a failure message, escaped, at most 200 of them. */
static inline void fz_print_bytes(const char *what, const void *data, size_t len)
{
    const unsigned char *p = data;
    fprintf(stderr, "  %s (%zu bytes): \"", what, len);
    for (size_t i = 0; i < len && i < 200; i++)
        fprintf(stderr, p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\' ? "%c" : "\\x%02x",
                p[i]);
    fprintf(stderr, "%s\"\n", len > 200 ? "..." : "");
}

#endif
