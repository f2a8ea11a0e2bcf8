/* `hopwatch diff [OLD NEW]`: what changed between two runs, and where paths broke. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hopwatch/diff.h>
#include <hopwatch/status.h>

#include "cli.h"

enum diff_format { DIFF_TEXT, DIFF_JSON, DIFF_MD };

/* The most ASes --transit takes. */
#define TRANSIT_MAX 64

struct diff_cli {
	const char *store_path;
	const char *outfile;
	int format;               /* enum diff_format, -1 = from -o's name, else text */
	bool stats;
	uint32_t transit[TRANSIT_MAX];
	size_t n_transit;
};

static void diff_usage(FILE *out)
{
	fputs("usage: hopwatch diff [options] [OLD NEW]\n"
	      "  OLD, NEW: a run id, latest, latest~N (see 'hopwatch runs') or a JSON run file;\n"
	      "            without them, the two newest comparable runs of the store\n"
	      "  --format text|json|md  (default text; -o FILE.json / FILE.md choose too)\n"
	      "  -o FILE           write to FILE\n"
	      "  --store PATH      the store (default as for 'hopwatch runs')\n"
	      "  --transit ASN,... ASes of interest: breaks in or next to them say so (added to\n"
	      "                    those the runs were traced with)\n"
	      "  --stats           time spent loading and comparing, on stderr\n"
	      "exit status: 0 nothing changed, 1 some target changed or broke, 2 trouble\n",
	      out);
}

/* "4837,AS131279" into c->transit (as trace --transit takes it); -1 after cli_error. */
static int parse_transit(const char *text, struct diff_cli *c)
{
	if (cli_parse_transit(text, c->transit, TRANSIT_MAX, &c->n_transit) != 0) {
		c->n_transit = 0;
		cli_error("--transit: '%s' is not a list of distinct AS numbers (4837,AS131279)", text);
		return -1;
	}
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum { OPT_FORMAT = 256, OPT_STORE, OPT_TRANSIT, OPT_STATS, OPT_HELP };

static int parse_options(int argc, char **argv, struct diff_cli *c)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{"store", required_argument, NULL, OPT_STORE},
		{"transit", required_argument, NULL, OPT_TRANSIT},
		{"stats", no_argument, NULL, OPT_STATS},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': c->outfile = optarg; break;
		case OPT_STORE: c->store_path = optarg; break;
		case OPT_STATS: c->stats = true; break;
		case OPT_TRANSIT:
			if (parse_transit(optarg, c) != 0)
				return -1;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				c->format = DIFF_TEXT;
			else if (strcmp(optarg, "json") == 0)
				c->format = DIFF_JSON;
			else if (strcmp(optarg, "md") == 0)
				c->format = DIFF_MD;
			else {
				cli_error("--format: '%s' is not text, json or md", optarg);
				return -1;
			}
			break;
		case OPT_HELP: diff_usage(stdout); exit(EXIT_OK);
		default: cli_bad_option("diff", argv, "o:", longopts); return -1;
		}
	}
	if (argc - optind != 0 && argc - optind != 2) {
		cli_error("diff: give two runs (OLD NEW) or none (try 'hopwatch diff --help')");
		return -1;
	}
	if (c->format < 0)
		c->format = c->outfile == NULL ? DIFF_TEXT
			    : ends_with(c->outfile, ".json") ? DIFF_JSON
			    : ends_with(c->outfile, ".md")   ? DIFF_MD
							     : DIFF_TEXT;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Loads both runs: the two arguments, or the newest comparable pair of the store. */
static int load_runs(const struct diff_cli *c, char **args, int n_args, struct hw_run **old,
		     struct hw_run **new)
{
	*old = *new = NULL;
	if (n_args == 0)
		return cli_latest_pair(c->store_path, old, new);
	if (strcmp(args[0], "-") == 0 && strcmp(args[1], "-") == 0) {
		cli_error("diff: only one run can come from standard input");
		return -1;
	}
	if ((*old = cli_load_run(args[0], c->store_path)) == NULL)
		return -1;
	if ((*new = cli_load_run(args[1], c->store_path)) == NULL) {
		*old = run_free(*old);
		return -1;
	}
	return 0;
}

static int write_diff(const struct diff_cli *c, const struct hw_diff *d)
{
	FILE *out = cli_output_open(c->outfile);
	if (out == NULL)
		return -1;
	int rc = c->format == DIFF_JSON ? diff_write_json(d, out)
		 : c->format == DIFF_MD ? diff_write_md(d, out)
					: diff_write_text(d, out);
	return cli_output_close(out, c->outfile, rc);
}

int cmd_diff(int argc, char **argv)
{
	struct diff_cli c = {.format = -1};
	if (parse_options(argc, argv, &c) != 0)
		return EXIT_TROUBLE;
	struct hw_run *old, *new;
	double t0 = now_ms();
	if (load_runs(&c, argv + optind, argc - optind, &old, &new) != 0)
		return EXIT_TROUBLE;
	double t1 = now_ms();
	struct hw_diff_opts opts = {c.transit, c.n_transit};
	struct hw_diff *d = NULL;
	int rc = diff_runs(old, new, &opts, &d);
	double t2 = now_ms();
	int status = EXIT_TROUBLE;
	if (rc != HW_OK) {
		cli_error("diff: %s", hw_strerror(rc));
	} else if (write_diff(&c, d) == 0) {
		status = diff_has_changes(d) ? EXIT_CHANGES : EXIT_OK;
		if (c.stats)
			fprintf(stderr, "stats: traces=%zu+%zu targets=%zu load_ms=%.1f diff_ms=%.1f "
				"write_ms=%.1f\n", old->n_traces, new->n_traces, d->n_targets,
				t1 - t0, t2 - t1, now_ms() - t2);
	}
	diff_free(d);
	run_free(old);
	run_free(new);
	return status;
}
