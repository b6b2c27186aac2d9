/* outfile.c — small text outputs of the tools (e.g. the drift chart): a temp file beside the target, renamed
 * into place on success; an existing target is refused without --force; an input is never overwritten. */
#include "cli.h"
#include "llq/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_out_open(cli_out *o, const char *path, int force, const char *const *inputs, int n_inputs)
{
    struct stat st, si;
    int device, err;
    memset(o, 0, sizeof *o);
    o->force_ok = force;
    if ((err = llq_output_check(path, force ? LLQ_W_FORCE : 0, &device)))
        return cli_lib_error(err);
    if (device) { /* e.g. /dev/null: written through, never replaced by a regular file */
        o->path = path;
        if (!(o->f = fopen(path, "we")))
            return cli_error("%s: %s", path, strerror(errno));
        return 0;
    }
    if (lstat(path, &st) == 0) {
        for (int i = 0; i < n_inputs; i++)
            if (inputs[i] && stat(inputs[i], &si) == 0 && stat(path, &st) == 0 && si.st_dev == st.st_dev &&
                si.st_ino == st.st_ino)
                return cli_error("%s: is one of the inputs; not overwritten", path);
    }
    size_t n = strlen(path) + 12;
    o->path = path;
    o->tmp = malloc(n);
    if (!o->tmp)
        return cli_error("out of memory");
    snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
    cli_hold_signals(1);
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd >= 0)
        cli_set_temp(o->tmp);
    cli_hold_signals(0);
    if (fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        return cli_error("%s: cannot create a temp file beside it: %s", path, strerror(e));
    }
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0 || !(o->f = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        cli_out_abort(o);
        return cli_error("%s: %s", path, strerror(e));
    }
    return 0;
}

int cli_out_commit(cli_out *o)
{
    struct stat st;
    int bad = fflush(o->f) != 0 || ferror(o->f) || (fsync(fileno(o->f)) != 0 && !(!o->tmp && errno == EINVAL));
    int e = errno;
    if (fclose(o->f) != 0 && !bad)
        bad = 1, e = errno;
    o->f = NULL;
    if (bad) {
        cli_out_abort(o);
        return cli_error("%s: write failed: %s", o->path, strerror(e));
    }
    if (!o->tmp) /* a device, written through */
        return 0;
    if (!o->force_ok && lstat(o->path, &st) == 0) {
        cli_out_abort(o);
        return cli_error("%s: appeared while writing; not replaced (use --force)", o->path);
    }
    if (rename(o->tmp, o->path) != 0) {
        e = errno;
        cli_out_abort(o);
        return cli_error("%s: rename: %s", o->path, strerror(e));
    }
    cli_set_temp(NULL);
    free(o->tmp);
    o->tmp = NULL;
    return 0;
}

void cli_out_abort(cli_out *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp) {
        cli_set_temp(NULL);
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
}
