/* cli.c — messages, progress and signal cleanup shared by the tools. */
#include "cli.h"

#include "llq/llq.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
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

void cli_before_temp(void)
{
    cli_hold_signals(1);
}

void cli_on_temp(const char *path)
{
    cli_set_temp(path);
    if (path)
        cli_hold_signals(0);
}

/* One message line on stderr: "tool: <kind><message><tail>\n". */
static void vline(const char *kind, const char *tail, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void vline(const char *kind, const char *tail, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: %s", tool_name, kind);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "%s\n", tail);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("", "", fmt, ap);
    va_end(ap);
    return CLI_ERROR;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("warning: ", "", fmt, ap);
    va_end(ap);
}

int cli_lib_error(int code)
{
    const char *m = llq_errmsg();
    /* the library says the fact; the tools add the flag that changes it */
    return cli_error("%s%s", m[0] ? m : llq_strerror(code), code == LLQ_EEXIST ? " (use --force to replace it)" : "");
}

int cli_usage_error(const char *fmt, ...)
{
    char tail[96];
    va_list ap;
    snprintf(tail, sizeof tail, " (see %s --help)", tool_name);
    va_start(ap, fmt);
    vline("", tail, fmt, ap);
    va_end(ap);
    return CLI_USAGE;
}

int cli_getopt_error(int c, char *const *argv)
{
    /* a long option is argv[optind - 1]; a short one is optopt (possibly inside a cluster such as -qx) */
    char shortopt[3] = {'-', (char)optopt, 0};
    const char *arg = argv[optind - 1];
    const char *opt = strncmp(arg, "--", 2) && optopt > 0 && optopt < 128 && isprint(optopt) ? shortopt : arg;
    if (c == ':')
        return cli_usage_error("option '%s' needs a value", opt);
    return cli_usage_error("unknown option '%s'", opt);
}

int cli_parse_u64(uint64_t *out, const char *s, uint64_t lo, uint64_t hi, const char *opt)
{
    char *end;
    errno = 0;
    unsigned long long v = isdigit((unsigned char)s[0]) ? strtoull(s, &end, 10) : 0;
    if (!isdigit((unsigned char)s[0]) || *end || errno || v < lo || v > hi)
        return cli_usage_error("%s expects an integer in %llu..%llu, got '%s'", opt, (unsigned long long)lo,
                               (unsigned long long)hi, s);
    *out = v;
    return 0;
}

void cli_json_print(json_object *j)
{
    puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
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

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The progress clock: the monotonic clock, or with LLQ_PROGRESS_STEP=S in the environment (tests: a display that
 * does not depend on how long the work takes) a clock that advances exactly S seconds per progress call. */
static double progress_clock(void)
{
    static int init;
    static double step, fake;
    if (!init) {
        const char *e = getenv("LLQ_PROGRESS_STEP");
        step = e ? strtod(e, NULL) : 0;
        if (!(step > 0 && step < 1e6))
            step = 0;
        init = 1;
    }
    return step ? (fake += step) : cli_now();
}

void cli_progress(const char *what, uint64_t done, uint64_t total)
{
    cli_progress_count(what, done, total, NULL);
}

void cli_progress_count(const char *what, uint64_t done, uint64_t total, const char *count)
{
    static double t0, last;
    static const char *cur;
    static int drawn;
    if (cli_quiet || !isatty(STDERR_FILENO) || total == 0)
        return;
    double t = progress_clock();
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
    char num[48];
    if (!count)
        snprintf(num, sizeof num, "%llu/%llu", (unsigned long long)done, (unsigned long long)total);
    fprintf(stderr, "\r%s [%s] %3.0f%% %s  %.1fs, ETA %.1fs ", what, bar, 100 * frac, count ? count : num, el, eta);
    if (done >= total)
        fputc('\n', stderr);
}
