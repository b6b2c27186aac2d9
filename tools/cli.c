/* cli.c — messages, progress and signal cleanup shared by the tools. */
#include "cli.h"

#include "llq/llq.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_quiet;
static const char *tool_name = "llq";
static const char *volatile temp_path;

static void on_signal(int sig)
{
    const char *p = temp_path;
    if (p)
        unlink(p);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* SIGBUS: a page of a mapped input is gone (the file was truncated, or its storage failed while mapped). One
 * error line, the temp file removed, exit 1 — instead of a crash that leaves the temp file. Only
 * async-signal-safe calls. */
static void on_bus(int sig)
{
    static const char msg[] = ": file changed while reading (a mapped input was truncated or became unreadable)\n";
    const char *p = temp_path;
    (void)sig;
    if (p)
        unlink(p);
    if (write(2, tool_name, strlen(tool_name)) < 0 || write(2, msg, sizeof msg - 1) < 0)
        _exit(CLI_ERROR);
    _exit(CLI_ERROR);
}

void cli_init(const char *tool)
{
    tool_name = tool;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGBUS, on_bus);
    /* A file-size limit (ulimit -f) must fail the write (EFBIG: error, temp file removed) instead of
     * killing the tool with SIGXFSZ and leaving the temp file behind. */
    signal(SIGXFSZ, SIG_IGN);
}

const char *cli_tool(void)
{
    return tool_name;
}

void cli_set_temp(const char *path)
{
    temp_path = path;
}

void cli_hold_signals(int hold)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", tool_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_ERROR;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: warning: ", tool_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_lib_error(int code)
{
    const char *m = llq_errmsg();
    return cli_error("%s", m[0] ? m : llq_strerror(code));
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", tool_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", tool_name);
    return CLI_USAGE;
}

void cli_version(void)
{
    printf("%s (llq) %s\n", tool_name, llq_version());
}

void cli_info(const char *fmt, ...)
{
    va_list ap;
    if (cli_quiet)
        return;
    fprintf(stderr, "%s: ", tool_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress(const char *what, uint64_t done, uint64_t total)
{
    static double t0, last;
    static const char *cur;
    static int drawn;
    if (cli_quiet || !isatty(STDERR_FILENO) || total == 0)
        return;
    double t = now_s();
    if (cur != what || done == 0) {
        cur = what;
        t0 = t;
        last = 0;
        drawn = 0;
    }
    if (t - t0 < 1.0 && !drawn)
        return; /* work shorter than a second gets no bar */
    if (done < total && t - last < 0.1)
        return;
    last = t;
    drawn = 1;
    double frac = (double)done / (double)total, el = t - t0;
    double eta = frac > 0 ? el / frac - el : 0;
    int w = 30, fill = (int)(frac * w);
    char bar[32];
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(w - fill));
    bar[w] = 0;
    fprintf(stderr, "\r%s [%s] %3.0f%% %llu/%llu  %.1fs, ETA %.1fs ", what, bar, 100 * frac,
            (unsigned long long)done, (unsigned long long)total, el, eta);
    if (done >= total)
        fputc('\n', stderr);
}
