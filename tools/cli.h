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
/* Prints "tool: <llq_errmsg()>\n" (or the code's name if the message is empty); returns CLI_ERROR. */
int cli_lib_error(int code);
/* Prints the one line "tool: message (see tool --help)\n"; returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "tool llq VERSION" on stdout. */
void cli_version(void);

/* Prints "tool: warning: message\n" to stderr, also with --quiet (something is probably wrong, but not an error). */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --quiet: suppress progress and informational stderr lines. */
extern int cli_quiet;
/* Informational line on stderr unless quiet. */
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress bar with ETA on stderr, only if stderr is a terminal and not quiet, and only once the work (since
 * done == 0 or a new `what`) has taken a second. Call with done == total to finish. */
void cli_progress(const char *what, uint64_t done, uint64_t total);

/* Temp file removed if a signal arrives (the writer's temp path); NULL to clear. The string must stay valid. */
void cli_set_temp(const char *path);
/* hold = 1 defers SIGINT/SIGTERM (blocked), 0 delivers them. Hold across opening the writer until
 * cli_set_temp has the temp path: a signal in between would otherwise leave the new temp file behind. */
void cli_hold_signals(int hold);

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
