/* Shared by main.c and the cmd_*.c subcommands: the only code that talks to the user. */
#ifndef HOPWATCH_CLI_H
#define HOPWATCH_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/run.h>
#include <hopwatch/store.h>

/* Exit statuses (documented in README and `hopwatch --help`). */
#define EXIT_OK 0       /* every trace reached its destination */
#define EXIT_PARTIAL 1  /* it ran, but some trace stopped before its destination */
#define EXIT_TROUBLE 2  /* bad usage, unknown host, no privilege, I/O error */
#define EXIT_CHANGES 1  /* diff: some target changed path or broke */

/* Prints "hopwatch: <message>" as one line on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens -o PATH for writing; NULL or "-": standard output. NULL after cli_error. */
FILE *cli_output_open(const char *path);

/*
 * Flushes and closes what cli_output_open gave (standard output stays open); rc is the
 * writer's status. 0, or -1 after one cli_error line ("writing PATH: why").
 */
int cli_output_close(FILE *out, const char *path, int rc);

/*
 * Says, in one line, what was wrong with the option getopt_long has just refused with '?'
 * ("hopwatch: CMD: unrecognized option '--bogus' (see 'hopwatch CMD --help')"; a missing
 * or unwanted argument likewise); shortopts and longopts as given to getopt_long, which
 * must not print (main sets opterr = 0). Returns EXIT_TROUBLE.
 */
int cli_bad_option(const char *cmd, char **argv, const char *shortopts,
		   const struct option *longopts);

/* Parses a whole decimal number in [min, max]; 0 on success, -1 otherwise. */
int cli_number(const char *text, long min, long max, long *out);

/* Parses a decimal fraction in [min, max]; 0 on success, -1 otherwise. */
int cli_double(const char *text, double min, double max, double *out);

/*
 * Parses an AS list as --transit takes it ("4837,AS131279": 1..max distinct AS numbers,
 * AS prefix optional, no empty item) into out[0..*n); 0, or -1 when text is not such a
 * list (the caller says so). trace, annotate and diff share it (cli_annotate.c).
 */
int cli_parse_transit(const char *text, uint32_t *out, size_t max, size_t *n);

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

/* JSON run files larger than this are refused (a run of 100 000 traces is ~300 MB). */
#define CLI_RUN_FILE_MAX ((size_t)1 << 30)

/*
 * Reads the whole of path ("-": standard input) into *buf, NUL-terminated (*len does not
 * count the NUL); the caller frees it. Only regular files and pipes are read -- a device
 * such as /dev/zero never ends -- and at most max bytes: more is refused. 0, or -1 after
 * one cli_error line.
 */
int cli_read_file(const char *path, size_t max, char **buf, size_t *len);

/* True when a RUN argument looks like a store reference: digits, "latest", "latest~N". */
bool cli_is_store_ref(const char *spec);

/*
 * True when a RUN argument names a JSON run file: "-", a path with a '/', a name ending in
 * .json, or another existing name that is not a store reference (a file called "12" is
 * ./12). Files are refused when read if not regular (a directory, /dev/zero) or over 1 GiB.
 */
bool cli_is_run_file(const char *spec);

/*
 * Loads the run a RUN argument names (store id, "latest", "latest~N", JSON file path, "-"
 * for standard input; cli_is_run_file tells them apart); store_path NULL = the default store. NULL after printing one clear
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
int cmd_annotate(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* ---- annotation options, shared by trace and annotate (cli_annotate.c) ---- */

#include <hopwatch/annotate.h>

/* getopt_long values of the annotation options ('n' is -n). */
enum {
	ACLI_NO_ASN = 512, ACLI_ASN_TABLE, ACLI_AS_NAMES, ACLI_ASN_ZONE, ACLI_TRANSIT,
	ACLI_DNS_SERVER, ACLI_DNS_TIMEOUT, ACLI_NO_DNS,
};

#define ANNOTATE_LONGOPTS                                                        \
	{"no-asn", no_argument, NULL, ACLI_NO_ASN},                              \
	{"no-dns", no_argument, NULL, ACLI_NO_DNS},                              \
	{"asn-table", required_argument, NULL, ACLI_ASN_TABLE},                  \
	{"as-names", required_argument, NULL, ACLI_AS_NAMES},                    \
	{"asn-zone", required_argument, NULL, ACLI_ASN_ZONE},                    \
	{"transit", required_argument, NULL, ACLI_TRANSIT},                      \
	{"dns-server", required_argument, NULL, ACLI_DNS_SERVER},                \
	{"dns-timeout", required_argument, NULL, ACLI_DNS_TIMEOUT}

struct annotate_cli {
	struct hw_annotate_opts opts; /* dns_server, dns_timeout also serve target names */
	const char *asn_table_path, *as_names_path;
	uint32_t *transit;
	size_t n_transit;
	hw_asn_table_t *table;
	hw_as_names_t *names;
};

/* The usage lines of the annotation options. */
extern const char annotate_cli_usage[];

/* Defaults: names and AS over DNS on, no tables. */
void annotate_cli_init(struct annotate_cli *c);

/* Takes one option: 1 when it was an annotation option, 0 when not, -1 after an error line. */
int annotate_cli_option(struct annotate_cli *c, int opt, const char *arg);

/* Loads the tables named; -1 after an error line. */
int annotate_cli_load(struct annotate_cli *c);

/* An annotator with these options; NULL after an error line. */
hw_annotator_t *annotate_cli_open(struct annotate_cli *c, hw_loop_t *loop);

/* Gives the run the --transit list (when one was given); -1 after an error line. */
int annotate_cli_transit(const struct annotate_cli *c, struct hw_run *run);

/* One "annotate: ..." counters line on stderr (--stats). */
void annotate_cli_stats(const struct hw_annotate_stats *stats);

/* Frees the tables and the transit list. */
void annotate_cli_free(struct annotate_cli *c);

#endif
