/* Shared by main.c and the cmd_*.c subcommands: the only code that talks to the user. */
#ifndef HOPWATCH_CLI_H
#define HOPWATCH_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <hopwatch/run.h>
#include <hopwatch/store.h>

/* Exit statuses (documented in README and `hopwatch --help`). */
#define EXIT_OK 0       /* every trace reached its destination */
#define EXIT_PARTIAL 1  /* it ran, but some trace stopped before its destination */
#define EXIT_TROUBLE 2  /* bad usage, unknown host, no privilege, I/O error */
#define EXIT_CHANGES 1  /* diff: some target changed path or broke */

/* Prints "hopwatch: <message>" as one line on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a whole decimal number in [min, max]; 0 on success, -1 otherwise. */
int cli_number(const char *text, long min, long max, long *out);

/* Parses a decimal fraction in [min, max]; 0 on success, -1 otherwise. */
int cli_double(const char *text, double min, double max, double *out);

/* ---- runs and the store (runref.c) ---- */

/*
 * The store's path: opt (--store) when given, else $HOPWATCH_STORE, else
 * $XDG_DATA_HOME/hopwatch/runs.db, else ~/.local/share/hopwatch/runs.db. Run as root by
 * sudo (SUDO_UID set), "~" is the invoking user's home (sudo resets HOME and XDG). -1
 * after cli_error.
 */
int cli_store_path(const char *opt, char *buf, size_t len);

/*
 * Opens the store at store_path (NULL = the default) to read runs; NULL after cli_error
 * (no store yet, not a store, newer schema...).
 */
hw_store_t *cli_store_open(const char *store_path);

/*
 * Opens (creating it and its directories) the store a trace writes to; call it before
 * giving up root. Under sudo, what it creates belongs to SUDO_UID/SUDO_GID. NULL after
 * cli_error.
 */
hw_store_t *cli_store_open_for_trace(const char *store_path);

/* True when a RUN argument names a JSON run file: an existing file, "-", or a name ending in .json. */
bool cli_is_run_file(const char *spec);

/*
 * Loads the run a RUN argument names (store id, "latest", "latest~N", JSON file path, "-"
 * for standard input); store_path NULL = the default store. NULL after printing one clear
 * line on stderr (cli_error).
 */
struct hw_run *cli_load_run(const char *spec, const char *store_path);

/*
 * The two newest comparable runs in the store (same targets, method/options and flow
 * ids): 0 with *older and *newer set (the caller frees them), or -1 after one clear stderr line
 * ("need two comparable runs"...).
 */
int cli_latest_pair(const char *store_path, struct hw_run **older, struct hw_run **newer);

int cmd_trace(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_import(int argc, char **argv);

#endif
