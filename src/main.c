/* hopwatch: find where the Internet breaks. Dispatches to one file per subcommand. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
