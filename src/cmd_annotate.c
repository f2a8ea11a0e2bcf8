/*
 * `hopwatch annotate`: (re-)annotates a stored or imported run -- names, origin ASes, AS
 * names, the AS path of every trace -- with the same options as `hopwatch trace`, and
 * writes it again. Needs no privilege: it sends DNS questions only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/annotate.h>
#include <hopwatch/loop.h>
#include <hopwatch/output.h>
#include <hopwatch/status.h>

#include "cli.h"

struct annotate_cmd {
	struct annotate_cli ann;
	const char *outfile;
	bool json;
	bool stats;
	const char *infile;
};

static void annotate_usage(FILE *out)
{
	fputs("usage: hopwatch annotate [options] RUN.json\n"
	      "  Reads a run (a hopwatch JSON document; '-' reads standard input), annotates\n"
	      "  every trace again -- each reply's name, origin AS and AS name, each trace's AS\n"
	      "  path and borders -- and writes it out. What the run had is replaced.\n"
	      "  --format json|text  output format (json)\n"
	      "  -o FILE           write to FILE instead of standard output\n"
	      "  --stats           print the lookup counters on stderr\n",
	      out);
	fputs(annotate_cli_usage, out);
	fputs("  --transit replaces the run's own list; without it the run keeps its list.\n", out);
}

enum { OPT_FORMAT = 256, OPT_STATS, OPT_HELP };

static int parse_options(int argc, char **argv, struct annotate_cmd *c)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{"stats", no_argument, NULL, OPT_STATS},
		{"help", no_argument, NULL, OPT_HELP},
		ANNOTATE_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "no:", longopts, NULL)) != -1) {
		int taken = annotate_cli_option(&c->ann, ch, optarg);
		if (taken < 0)
			return -1;
		if (taken > 0)
			continue;
		switch (ch) {
		case 'o': c->outfile = optarg; break;
		case OPT_STATS: c->stats = true; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				cli_error("--format: '%s' is not text or json", optarg);
				return -1;
			}
			c->json = strcmp(optarg, "json") == 0;
			break;
		case OPT_HELP: annotate_usage(stdout); exit(EXIT_OK);
		default: cli_bad_option("annotate", argv, "no:", longopts); return -1;
		}
	}
	if (argc - optind != 1) {
		cli_error("annotate: give one run file, or - for standard input (try 'hopwatch annotate --help')");
		return -1;
	}
	c->infile = argv[optind];
	return 0;
}

/* The whole of a file (or stdin for "-"); NULL after an error line. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			char *more = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (more == NULL) {
				cli_error("out of memory reading %s", path);
				free(buf);
				buf = NULL;
				break;
			}
			buf = more;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				cli_error("cannot read %s: %s", path, strerror(errno));
				free(buf);
				buf = NULL;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

struct progress {
	hw_loop_t *loop;
	size_t left;
};

static void on_annotated(void *arg, struct hw_trace *trace, int status)
{
	struct progress *p = arg;

	(void)trace;
	(void)status; /* a trace left without annotation (ENOMEM) is still written */
	if (--p->left == 0)
		loop_stop(p->loop);
}

/* Annotates every trace of the run on a loop of its own; -1 after an error line. */
static int annotate_run(struct annotate_cmd *c, struct hw_run *run)
{
	hw_loop_t *loop = loop_open();
	hw_annotator_t *a = loop != NULL ? annotate_cli_open(&c->ann, loop) : NULL;
	struct progress p = {loop, run->n_traces};
	struct hw_annotate_stats st;
	int rc = 0;

	if (loop == NULL)
		cli_error("cannot start the event loop: %s", strerror(errno));
	if (a == NULL) {
		loop_close(loop);
		return -1;
	}
	for (size_t i = 0; i < run->n_traces && rc == 0; i++) {
		if (annotator_trace(a, run->traces[i], on_annotated, &p) != HW_OK) {
			cli_error("out of memory");
			rc = -1;
		}
	}
	if (rc == 0 && p.left > 0 && loop_run(loop) != 0) {
		cli_error("event loop failed: %s", strerror(errno));
		rc = -1;
	}
	annotator_stats(a, &st);
	annotator_close(a);
	loop_close(loop);
	if (c->stats)
		annotate_cli_stats(&st);
	return rc;
}

static int write_run(const struct annotate_cmd *c, const struct hw_run *run, FILE *out)
{
	int rc = HW_OK;

	if (c->json)
		rc = json_write_run(run, out);
	for (size_t i = 0; !c->json && i < run->n_traces && rc == HW_OK; i++)
		rc = text_write_trace_as(run->traces[i], run->transit, run->n_transit, out);
	if (rc == HW_OK && fflush(out) != 0)
		rc = HW_ERR_IO;
	if (rc != HW_OK) {
		cli_error("writing %s: %s", c->outfile ? c->outfile : "output",
			  rc == HW_ERR_IO ? strerror(errno) : hw_strerror(rc));
		return -1;
	}
	return 0;
}

static int annotate_main(struct annotate_cmd *c, int argc, char **argv)
{
	char err[512];
	size_t len;
	struct hw_run *run = NULL;
	int status = EXIT_TROUBLE;

	if (parse_options(argc, argv, c) != 0 || annotate_cli_load(&c->ann) != 0)
		return EXIT_TROUBLE;
	char *text = read_all(c->infile, &len);
	if (text == NULL)
		return EXIT_TROUBLE;
	int rc = json_read_run(text, len, &run, err, sizeof(err));
	free(text);
	if (rc != HW_OK) {
		cli_error("%s: %s", c->infile, err);
		return EXIT_TROUBLE;
	}
	FILE *out = stdout;
	if (annotate_cli_transit(&c->ann, run) == 0 && annotate_run(c, run) == 0) {
		if (c->outfile != NULL && strcmp(c->outfile, "-") != 0 &&
		    (out = fopen(c->outfile, "w")) == NULL)
			cli_error("cannot write %s: %s", c->outfile, strerror(errno));
		else if (write_run(c, run, out) == 0)
			status = EXIT_OK;
		if (out != NULL && out != stdout && fclose(out) != 0 && status == EXIT_OK) {
			cli_error("writing %s: %s", c->outfile, strerror(errno));
			status = EXIT_TROUBLE;
		}
	}
	run_free(run);
	return status;
}

int cmd_annotate(int argc, char **argv)
{
	struct annotate_cmd c = {.json = true};

	annotate_cli_init(&c.ann);
	int status = annotate_main(&c, argc, argv);
	annotate_cli_free(&c.ann);
	return status;
}
