/*
 * error.c - the error model: kinds, accessors, names and Python's messages.
 */
#include "internal.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

const char *nk_version(void)
{
    return NK_VERSION_STRING;
}

int nk_error_kind(int code)
{
    if (code >= 0)
        return NK_KIND_OK;
    if (code > -5000)
        return NK_KIND_SOCKET;
    if (code > NK__HOST_BASE)
        return NK_KIND_GAI;
    if (code > -7000)
        return NK_KIND_HOST;
    switch (code) {
#define NK__XX(name, value, kind, msg)                                                             \
    case value:                                                                                    \
        return kind;
        /* One case per own code, each with the kind its table entry gives:
         * that most share a kind is the table's business, not a clone. */
        NK_OWN_ERRORS(NK__XX) /* NOLINT(bugprone-branch-clone) */
#undef NK__XX
    }
    return NK_KIND_USAGE; /* an unknown code in netkit's own range is a caller bug */
}

int nk_error_errno(int code)
{
    switch (nk_error_kind(code)) {
    case NK_KIND_SOCKET:
        return -code;
    case NK_KIND_TIMEOUT:
        return ETIMEDOUT;
    default:
        return code == NK_ECLOSED ? EBADF : 0;
    }
}

int nk_error_gai(int code)
{
    if (nk_error_kind(code) != NK_KIND_GAI)
        return 0;
    int magnitude = NK__GAI_BASE - code;
    return EAI_NONAME < 0 ? -magnitude : magnitude;
}

int nk_error_herrno(int code)
{
    return nk_error_kind(code) == NK_KIND_HOST ? NK__HOST_BASE - code : 0;
}

/* errno names. Linux numbering; a name the system lacks is simply not listed. */
static const char *errno_name(int e)
{
    switch (e) {
        // clang-format off
#define E(x)                                                                                   \
    case x:                                                                                \
        return #x;
        E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
        E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV)
        E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(EFBIG)
        E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK)
        E(ENAMETOOLONG) E(ENOLCK) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG) E(EIDRM)
        E(ENOSTR) E(ENODATA) E(ETIME) E(ENOSR) E(ENOLINK) E(EPROTO) E(EBADMSG) E(EOVERFLOW)
        E(EILSEQ) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT)
        E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EPFNOSUPPORT) E(EAFNOSUPPORT)
        E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ENETRESET)
        E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN) E(ENOTCONN) E(ESHUTDOWN)
        E(ETOOMANYREFS) E(ETIMEDOUT) E(ECONNREFUSED) E(EHOSTDOWN) E(EHOSTUNREACH)
        E(EALREADY) E(EINPROGRESS) E(ESTALE) E(EDQUOT) E(ECANCELED)
#undef E
        // clang-format on
    }
    return NULL;
}

static const char *gai_name(int eai)
{
    switch (eai) {
        // clang-format off
#define E(x)                                                                                   \
    case x:                                                                                \
        return #x;
        E(EAI_BADFLAGS) E(EAI_NONAME) E(EAI_AGAIN) E(EAI_FAIL) E(EAI_FAMILY) E(EAI_SOCKTYPE)
        E(EAI_SERVICE) E(EAI_MEMORY) E(EAI_SYSTEM) E(EAI_OVERFLOW)
#ifdef EAI_NODATA
        E(EAI_NODATA)
#endif
#ifdef EAI_ADDRFAMILY
        E(EAI_ADDRFAMILY)
#endif
#undef E
        // clang-format on
    }
    return NULL;
}

static const char *host_name(int h)
{
    switch (h) {
    case HOST_NOT_FOUND:
        return "HOST_NOT_FOUND";
    case TRY_AGAIN:
        return "TRY_AGAIN";
    case NO_RECOVERY:
        return "NO_RECOVERY";
    case NO_DATA:
        return "NO_DATA";
    }
    return NULL;
}

const char *nk_error_name(int code)
{
    const char *name = NULL;
    switch (nk_error_kind(code)) {
    case NK_KIND_OK:
        return "OK";
    case NK_KIND_SOCKET:
        name = errno_name(-code);
        break;
    case NK_KIND_GAI:
        name = gai_name(nk_error_gai(code));
        break;
    case NK_KIND_HOST:
        name = host_name(nk_error_herrno(code));
        break;
    default:
        switch (code) {
#define NK__XX(n, value, kind, msg)                                                                \
    case value:                                                                                    \
        return "NK_" #n;
            NK_OWN_ERRORS(NK__XX)
#undef NK__XX
        }
    }
    return name != NULL ? name : "UNKNOWN";
}

int nk_strerror_r(int code, char *buf, size_t cap)
{
    if (buf == NULL)
        return NK_ENULL;
    char tmp[256], text[160];
    const char *msg = NULL;
    switch (nk_error_kind(code)) {
    case NK_KIND_OK:
        msg = "Success";
        break;
    case NK_KIND_SOCKET:
        /* Python: "[Errno %d] %s" with strerror(errno); GNU strerror_r. */
        snprintf(tmp, sizeof tmp, "[Errno %d] %s", -code, strerror_r(-code, text, sizeof text));
        msg = tmp;
        break;
    case NK_KIND_GAI: {
        int eai = nk_error_gai(code);
        snprintf(tmp, sizeof tmp, "[Errno %d] %s", eai, gai_strerror(eai));
        msg = tmp;
        break;
    }
    case NK_KIND_HOST: {
        int h = nk_error_herrno(code);
        snprintf(tmp, sizeof tmp, "[Errno %d] %s", h, hstrerror(h));
        msg = tmp;
        break;
    }
    default:
        switch (code) {
#define NK__XX(name, value, kind, text)                                                            \
    case value:                                                                                    \
        msg = text;                                                                                \
        break;
            NK_OWN_ERRORS(NK__XX)
#undef NK__XX
        default:
            snprintf(tmp, sizeof tmp, "unknown netkit error %d", code);
            msg = tmp;
        }
    }
    size_t len = strlen(msg);
    if (cap == 0)
        return NK_EBUFSIZE;
    if (len >= cap) {
        memcpy(buf, msg, cap - 1);
        buf[cap - 1] = '\0';
        return NK_EBUFSIZE;
    }
    memcpy(buf, msg, len + 1);
    return (int)len;
}

const char *nk_strerror(int code)
{
    static _Thread_local char buf[256];
    nk_strerror_r(code, buf, sizeof buf);
    return buf;
}
