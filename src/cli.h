/* Shared by main.c and the cmd_*.c subcommands: the only code that talks to the user. */
#ifndef HOPWATCH_CLI_H
#define HOPWATCH_CLI_H

/* Exit statuses (documented in README and `hopwatch --help`). */
#define EXIT_OK 0       /* every trace reached its destination */
#define EXIT_PARTIAL 1  /* it ran, but some trace stopped before its destination */
#define EXIT_TROUBLE 2  /* bad usage, unknown host, no privilege, I/O error */

/* Prints "hopwatch: <message>" as one line on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a whole decimal number in [min, max]; 0 on success, -1 otherwise. */
int cli_number(const char *text, long min, long max, long *out);

/* Parses a decimal fraction in [min, max]; 0 on success, -1 otherwise. */
int cli_double(const char *text, double min, double max, double *out);

int cmd_trace(int argc, char **argv);

#endif
