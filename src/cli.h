/* Shared pieces of the beaconwatch command-line tool: the subcommands and
 * the helpers they use. The tool only uses the library's public API. */
#ifndef BW_CLI_H
#define BW_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "beaconwatch/bw_ingest.h"
#include "beaconwatch/bw_rule.h"

/* Exit codes (docs/cli.md): 0 ok, 1 failure, 2 usage error. */
#define BW_EXIT_OK 0
#define BW_EXIT_FAIL 1
#define BW_EXIT_USAGE 2

/* Subcommands; argv[0] is the subcommand name. */
int bw_cmd_records(int argc, char **argv);
int bw_cmd_formats(int argc, char **argv);
int bw_cmd_detect(int argc, char **argv);
int bw_cmd_generate(int argc, char **argv);
int bw_cmd_config(int argc, char **argv);
int bw_cmd_findings(int argc, char **argv);
int bw_cmd_alerts(int argc, char **argv);
int bw_cmd_status(int argc, char **argv);
int bw_cmd_watch(int argc, char **argv);
int bw_cmd_serve(int argc, char **argv);

/* Parses a duration: a number with s, m, h or d ("30d", "90m"; a bare
 * number is seconds) into microseconds > 0. 0 on success. (cmd_findings.c) */
int cli_parse_duration(const char *s, int64_t *us);

/* Opens the store at path with bw_store_open flags into *out (opaque
 * bw_store *), printing the error. Returns 0 or an exit code.
 * (cmd_findings.c) */
struct bw_store;
int cli_store_open(const char *path, unsigned flags, struct bw_store **out);

/* Creates the named rules into out[0..n), applies the configuration file
 * (NULL for none; its ingest section fills io where still default), then
 * each "RULE.PARAM=VALUE" of sets. Returns 0 or an exit code, after
 * printing the error. The caller frees out[] in every case. */
int cli_rules_setup(const char *const *names, int n, const char *config,
                    const char *const *sets, int nsets, bw_rule **out, bw_ingest_opts *io);
/* Applies one "RULE.PARAM=VALUE" to the rule of that name among rules. */
int cli_apply_set(const char *kv, bw_rule **rules, int nrules);

/* Progress on stderr while a long run reads its input (cli_progress.c):
 * a bar on a terminal, a line every 10 s otherwise, nothing for runs under
 * 2 s. newest (may be NULL) returns the newest event time seen, for the
 * lag. Start returns NULL when the thread cannot start; stop accepts NULL. */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_start(bw_ingest *in, int64_t (*newest)(void *), void *ctx);
void cli_progress_stop(cli_progress *p);

/* Prints "beaconwatch: <msg>" to stderr. */
void cli_err(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Parses a time argument: RFC 3339, epoch seconds (with fraction) or epoch
 * milliseconds. 0 on success. */
int cli_parse_time(const char *s, int64_t *us);

/* Parses a positive count with an optional k/M/G suffix. 0 on success. */
int cli_parse_count(const char *s, uint64_t *out);

/* Prints the per-file problems, the first diagnostics and a one-line
 * total to stderr (nothing but the total when all went well, nothing at
 * all when quiet). */
void cli_report_ingest(const bw_ingest *in, int quiet, double seconds);

/* Seconds since an arbitrary point, monotonic. */
double cli_now(void);

/* Maps a library error to the exit code. */
int cli_exit_code(int err);

/* Writes s as a JSON string (with quotes) to f. */
void cli_json_str(FILE *f, const char *s, size_t n);

#endif
