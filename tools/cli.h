/* cli.h — what only the tools share: the tool name in messages, errors, --quiet, progress, temp-file cleanup.
 * Only tools (and this folder) print; the library never does. */
#ifndef LLQ_CLI_H
#define LLQ_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Exit codes of every tool. */
enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

/* Records the tool name ("llq-convert") for messages and installs SIGINT/SIGTERM handlers that
 * remove a registered temp file and exit 130/143; ignores SIGXFSZ (a file-size limit then fails the write);
 * catches SIGBUS (a mapped input truncated while read): removes the temp file, prints "tool: file changed while
 * reading (...)" and exits 1. */
void cli_init(const char *tool);
const char *cli_tool(void);

/* Prints "tool: message\n" to stderr; returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "tool: <llq_errmsg()>\n" (or the code's name if the message is empty), with " (use --force to replace
 * it)" for LLQ_EEXIST (every tool that writes a file has --force); returns CLI_ERROR. */
int cli_lib_error(int code);
/* Prints the one line "tool: message (see tool --help)\n"; returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* getopt_long's ':' (an option without its value) or '?' (an unknown option) as the one usage line
 * "option '--x' needs a value" / "unknown option '--x'"; returns CLI_USAGE. The tools set opterr = 0 and start
 * the optstring with ':'. */
int cli_getopt_error(int c, char *const *argv);
/* The one integer parser of the tools: a plain decimal s (no sign, no spaces, no suffix) in lo..hi into *out,
 * else the usage line "OPT expects an integer in lo..hi, got 's'" and CLI_USAGE. */
int cli_parse_u64(uint64_t *out, const char *s, uint64_t lo, uint64_t hi, const char *opt);
/* --json: prints j (json-c object, may be NULL for null) on stdout the way every tool does (pretty, '/' not
 * escaped, a newline after), then releases it (json_object_put). */
struct json_object;
void cli_json_print(struct json_object *j);
/* Prints "tool llq VERSION" on stdout. */
void cli_version(void);

/* Wall-clock seconds (monotonic), for the tools' timings. */
double cli_now(void);
/* Prints "tool: warning: message\n" to stderr, also with --quiet (something is probably wrong, but not an error). */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --quiet: suppress progress and informational stderr lines. */
extern int cli_quiet;
/* Informational line on stderr unless quiet. */
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress bar with ETA on stderr, only if stderr is a terminal and not quiet, and only once the work (since
 * done == 0 or a new `what`) has taken a second. Call with done == total to finish. LLQ_PROGRESS_STEP=S in the
 * environment replaces the clock by one that advances S seconds per call (tests: no race with the work). */
void cli_progress(const char *what, uint64_t done, uint64_t total);
/* The same with `count` in place of "done/total" (e.g. "layer 5/16" while done and total count finer steps). */
void cli_progress_count(const char *what, uint64_t done, uint64_t total, const char *count);

/* Temp file removed if a signal arrives (the writer's temp path); NULL to clear. The string must stay valid. */
void cli_set_temp(const char *path);
/* hold = 1 defers SIGINT/SIGTERM (blocked), 0 delivers them. Hold across opening the writer until
 * cli_set_temp has the temp path: a signal in between would otherwise leave the new temp file behind. */
void cli_hold_signals(int hold);
/* The library's before_temp / on_temp callbacks (llq_convert_opts, llq_quantize_opts): SIGINT/SIGTERM are held
 * from just before the writer creates its temp file (never across planning, whose reads may block) until
 * cli_on_temp has registered it (cli_set_temp) for cleanup. The caller releases them (cli_hold_signals(0)) after
 * the library call, in case the temp file was never created. */
void cli_before_temp(void);
void cli_on_temp(const char *path);

/* A small output file written through a temp file beside `path` ("<path>.tmp.XXXXXX", removed on a signal),
 * renamed into place by cli_out_commit. cli_out_open refuses an existing path unless force, and (even with
 * force) a path that is one of inputs[0..n_inputs) (same inode), and what llq_output_check refuses (a directory,
 * FIFO, ...); a character device (e.g. /dev/null) is written through, no temp file. Every function prints its one-line error and
 * returns CLI_ERROR; after an error nothing is left behind. cli_out_abort (safe to call twice) removes the temp. */
typedef struct cli_out {
    const char *path; /* borrowed */
    char *tmp;        /* owned until commit / abort */
    FILE *f;          /* write here */
    int force_ok;     /* set by open when force was given */
} cli_out;
int cli_out_open(cli_out *o, const char *path, int force, const char *const *inputs, int n_inputs);
int cli_out_commit(cli_out *o);
void cli_out_abort(cli_out *o);

#endif
