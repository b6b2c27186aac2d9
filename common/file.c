/* file.c — opening an input without blocking on it: a FIFO named where a model file belongs would make open()
 * and read() wait forever for a writer. Regular files are what every reader maps or reads; a stream (a pipe,
 * `<(cmd)`) is accepted only where the caller reads it once, front to back. */
#include "llq/llq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind(mode_t m)
{
    return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) ? "a character device"
           : S_ISBLK(m) ? "a block device" : "not a file";
}

int llq_open_input(int *out_fd, uint64_t *size, const char *path, unsigned flags)
{
    struct stat st;
    int rc = LLQ_OK, fd, stream = 0;
    *out_fd = -1;
    if (size)
        *size = 0;
    /* A named FIFO the caller may stream is opened blocking (the writer may not be there yet); anything else
     * non-blocking, so that a FIFO where a file belongs is seen (fstat) before any read can wait. */
    if ((flags & LLQ_INPUT_STREAM) && stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
        stream = 1;
    fd = open(path, O_RDONLY | O_CLOEXEC | (stream ? 0 : O_NONBLOCK));
    if (fd < 0)
        return llq_err(errno == ENOENT ? LLQ_ENOTFOUND : LLQ_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = llq_err(LLQ_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = llq_err(LLQ_EIO, "%s: is a directory, not a file", path);
        goto done;
    }
    if (!S_ISREG(st.st_mode) && !((flags & LLQ_INPUT_STREAM) && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) ||
                                                                  S_ISSOCK(st.st_mode)))) {
        rc = llq_err(LLQ_EIO, "%s: is not a regular file (%s)", path, kind(st.st_mode));
        goto done;
    }
    if (!stream && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        rc = llq_err(LLQ_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (size && S_ISREG(st.st_mode))
        *size = (uint64_t)st.st_size;
done:
    if (rc)
        close(fd);
    else
        *out_fd = fd;
    return rc;
}

int llq_read_input(char **out, size_t *len, const char *path, size_t max, unsigned flags)
{
    int fd, rc;
    uint64_t size;
    size_t cap, got = 0;
    char *buf = NULL;
    *out = NULL;
    *len = 0;
    if ((rc = llq_open_input(&fd, &size, path, flags)))
        return rc;
    if (size > max) {
        rc = llq_err(LLQ_ELIMIT, "%s: %llu bytes, more than the %zu allowed", path, (unsigned long long)size, max);
        goto done;
    }
    cap = size ? (size_t)size + 1 : 1 << 16; /* a stream (size 0) grows as it comes */
    if (!(buf = malloc(cap))) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        char probe;
        size_t room = cap - 1 - got;
        if (size && room == 0) { /* a regular file: all of it read; anything more means it grew */
            ssize_t r = read(fd, &probe, 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r != 0) {
                rc = llq_err(LLQ_EIO, "%s: file changed while reading (it grew)", path);
                goto done;
            }
            break;
        }
        if (room == 0) {
            size_t ncap = cap > max / 2 ? max + 2 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = llq_err(LLQ_ENOMEM, "%s: out of memory", path);
                goto done;
            }
            buf = nb;
            cap = ncap;
            continue;
        }
        ssize_t r = read(fd, buf + got, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = llq_err(LLQ_EIO, "%s: read: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > max) {
            rc = llq_err(LLQ_ELIMIT, "%s: more than the %zu bytes allowed", path, max);
            goto done;
        }
    }
    if (size && got != size) {
        rc = llq_err(LLQ_EIO, "%s: file changed while reading (%zu of %llu bytes)", path, got,
                     (unsigned long long)size);
        goto done;
    }
    buf[got] = 0;
    *out = buf;
    *len = got;
    buf = NULL;
done:
    free(buf);
    close(fd);
    return rc;
}

const char *llq_sniff_text(const void *buf, size_t len)
{
    const char *p = buf, *end = p + len;
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) /* UTF-8 BOM */
        p += 3;
    while (p < end && strchr(" \t\r\n", *p) && *p)
        p++;
    size_t n = (size_t)(end - p);
    if (n >= 24 && !memcmp(p, "version https://git-lfs.", 24))
        return "a Git LFS pointer, not the file itself (fetch it: git lfs pull)";
    if ((n >= 9 && !strncasecmp(p, "<!doctype", 9)) || (n >= 5 && !strncasecmp(p, "<html", 5)) ||
        (n >= 5 && !strncasecmp(p, "<head", 5)))
        return "an HTML page, not the file itself (a failed download?)";
    if (n >= 5 && !strncasecmp(p, "<?xml", 5))
        return "an XML document, not the file itself (an error page from a failed download?)";
    return NULL;
}
