/* hopwatch: find where the Internet breaks. Dispatches to one file per subcommand. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/status.h>

#include "cli.h"
#include "config.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("hopwatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

FILE *cli_output_open(const char *path)
{
	if (path == NULL || strcmp(path, "-") == 0)
		return stdout;
	FILE *out = fopen(path, "w");
	if (out == NULL)
		cli_error("cannot write %s: %s", path, strerror(errno));
	return out;
}

int cli_output_close(FILE *out, const char *path, int rc)
{
	int err = errno; /* what the writer's own failure left, for HW_ERR_IO */
	if (rc == HW_OK && fflush(out) != 0) {
		rc = HW_ERR_IO;
		err = errno;
	}
	if (out != stdout && fclose(out) != 0 && rc == HW_OK) {
		rc = HW_ERR_IO;
		err = errno;
	}
	if (rc == HW_OK)
		return 0;
	cli_error("writing %s: %s", path != NULL ? path : "output",
		  rc == HW_ERR_IO ? strerror(err) : hw_strerror(rc));
	return -1;
}

int cli_number(const char *text, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_double(const char *text, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * What was wrong with the long option arg ("--name[=value]") getopt_long refused: false
 * when arg was not the one (optopt names a short option of a later group).
 */
static bool long_option_problem(const char *arg, const struct option *longopts, char *what,
				size_t len)
{
	const char *name = arg + 2;
	int n = (int)strcspn(name, "=");
	const struct option *match = NULL;
	int matches = 0;
	for (const struct option *o = longopts; o->name != NULL; o++) {
		if (strncmp(o->name, name, (size_t)n) != 0)
			continue;
		match = o;
		if ((int)strlen(o->name) == n) { /* an exact name wins over abbreviations */
			matches = 1;
			break;
		}
		matches++;
	}
	if (optopt == 0) /* glibc: an unknown or ambiguous long option */
		snprintf(what, len, "%s option '--%.*s'", matches > 1 ? "ambiguous" : "unrecognized",
			 n, name);
	else if (match != NULL && match->val == optopt)
		snprintf(what, len, "option '--%s' %s", match->name,
			 match->has_arg == no_argument ? "takes no argument" : "requires an argument");
	else
		return false;
	return true;
}

int cli_bad_option(const char *cmd, char **argv, const char *shortopts,
		   const struct option *longopts)
{
	/* getopt_long has just returned '?': a long option is always a whole element, and
	 * optind is past it; a short one may sit inside a group (-nx). */
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	char what[200];
	if (arg == NULL || strncmp(arg, "--", 2) != 0 || arg[2] == '\0' ||
	    !long_option_problem(arg, longopts, what, sizeof(what))) {
		const char *known = optopt > 0 && optopt < 256 ? strchr(shortopts, optopt) : NULL;
		if (known != NULL && known[1] == ':')
			snprintf(what, sizeof(what), "option '-%c' requires an argument", optopt);
		else if (optopt > 0 && optopt < 256 && isprint(optopt))
			snprintf(what, sizeof(what), "unrecognized option '-%c'", optopt);
		else
			snprintf(what, sizeof(what), "unrecognized option '%s'", arg != NULL ? arg : "?");
	}
	cli_error("%s: %s (see 'hopwatch %s --help')", cmd, what, cmd);
	return EXIT_TROUBLE;
}

static void usage(FILE *out)
{
	fputs("usage: hopwatch COMMAND [options]\n"
	      "\n"
	      "commands:\n"
	      "  trace [options] TARGET...   Paris traceroute toward each target (each run is\n"
	      "                              kept in the store; --no-store skips it)\n"
	      "  runs [options]              the stored runs, newest first\n"
	      "  show [options] RUN          one run (RUN: id, latest, latest~N or a JSON file)\n"
	      "  diff [options] [OLD NEW]    what changed between two runs, where paths broke\n"
	      "  import [options] RUN.json   keep a JSON run document in the store\n"
	      "  annotate [options] RUN      names, origin ASes and AS paths for a run, again\n"
	      "                              (--save keeps the result as a new stored run)\n"
	      "  help                        this text; `hopwatch COMMAND --help` for options\n"
	      "  version                     print the version\n"
	      "\n"
	      "exit status: 0 every trace reached its destination, 1 some trace stopped\n"
	      "before it, 2 trouble (bad usage, unknown host, no privilege, I/O error);\n"
	      "diff: 0 nothing changed, 1 something changed, 2 trouble;\n"
	      "runs, show, import, annotate: 0 done, 2 trouble\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_TROUBLE;
	}
	const char *cmd = argv[1];
	/* Each subcommand says what is wrong with an option itself, in one line (cli_bad_option). */
	opterr = 0;
	if (strcmp(cmd, "trace") == 0)
		return cmd_trace(argc - 1, argv + 1);
	if (strcmp(cmd, "runs") == 0)
		return cmd_runs(argc - 1, argv + 1);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc - 1, argv + 1);
	if (strcmp(cmd, "annotate") == 0)
		return cmd_annotate(argc - 1, argv + 1);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("hopwatch %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	cli_error("unknown command '%s' (try 'hopwatch help')", cmd);
	return EXIT_TROUBLE;
}
