/* err.c — the per-thread last-error message behind llq_err / llq_errmsg. */
#include "llq/llq.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_MAX 1024

static _Thread_local char msg[MSG_MAX];

int llq_err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return code;
}

int llq_err_prefix(int code, const char *prefix)
{
    char tmp[MSG_MAX];
    size_t n = strlen(prefix);
    if (n > MSG_MAX / 2)
        n = MSG_MAX / 2;
    memcpy(tmp, prefix, n);
    tmp[n] = ':';
    tmp[n + 1] = ' ';
    size_t m = strnlen(msg, MSG_MAX - n - 3);
    memcpy(tmp + n + 2, msg, m);
    tmp[n + 2 + m] = 0;
    memcpy(msg, tmp, sizeof msg);
    return code;
}

const char *llq_errmsg(void)
{
    return msg;
}

const char *llq_strerror(int code)
{
    switch (code) {
    case LLQ_OK: return "ok";
    case LLQ_EIO: return "i/o error";
    case LLQ_ENOMEM: return "out of memory";
    case LLQ_EFORMAT: return "format error";
    case LLQ_EVERSION: return "unsupported version";
    case LLQ_EUNSUPPORTED: return "unsupported";
    case LLQ_EINVAL: return "invalid argument";
    case LLQ_ECRC: return "checksum mismatch";
    case LLQ_EEXIST: return "file exists";
    case LLQ_EUNSAFE: return "refused as unsafe";
    case LLQ_ELIMIT: return "limit exceeded";
    case LLQ_ENOTFOUND: return "not found";
    case LLQ_EINTR: return "interrupted";
    default: return "unknown error";
    }
}

char *llq_dims_str(char *buf, size_t n, const uint64_t *dims, uint32_t n_dims)
{
    if (n == 0)
        return buf;
    size_t k = (size_t)snprintf(buf, n, "[");
    for (uint32_t d = 0; d < n_dims && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%llu", d ? ", " : "", (unsigned long long)dims[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}
