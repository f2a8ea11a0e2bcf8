/*
 * `hopwatch annotate`: (re-)annotates a run -- names, origin ASes, AS names, the AS path
 * of every trace -- with the same options as `hopwatch trace`, and writes it again. The
 * run is any RUN the other commands take: a store id, latest, latest~N, or a JSON file
 * ('-': standard input); --save keeps the result in the store as a new run. Needs no
 * privilege: it sends DNS questions only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/annotate.h>
#include <hopwatch/loop.h>
#include <hopwatch/output.h>
#include <hopwatch/status.h>
#include <hopwatch/store.h>

#include "cli.h"

struct annotate_cmd {
	struct annotate_cli ann;
	const char *outfile;
	bool json;
	bool stats;
	bool save;
	const char *store_path; /* --store; NULL: the default store */
	const char *tag;
	const char *spec;       /* the RUN argument */
};

static void annotate_usage(FILE *out)
{
	fputs("usage: hopwatch annotate [options] RUN\n"
	      "  Reads a run (RUN: a store id, latest, latest~N, or a JSON run file; '-' reads\n"
	      "  standard input), annotates every trace again -- each reply's name, origin AS\n"
	      "  and AS name, each trace's AS path and borders -- and writes it out. What the\n"
	      "  run had is replaced.\n"
	      "  --format json|text  output format (json)\n"
	      "  -o FILE           write to FILE instead of standard output\n"
	      "  --store PATH      the store RUN is read from and --save writes to (default as\n"
	      "                    for 'hopwatch runs')\n"
	      "  --save            keep the annotated run in the store as a new run (its id on\n"
	      "                    stderr); the run is then written out only with -o\n"
	      "  --tag TEXT        the saved run's label ('annotated from run N' by default)\n"
	      "  --stats           print the lookup counters on stderr\n",
	      out);
	fputs(annotate_cli_usage, out);
	fputs("  --transit replaces the run's own list; without it the run keeps its list.\n"
	      "  Exit status: 0 annotated and written (lookups that failed show as AS? or\n"
	      "  \"failed\": they are no error), 2 trouble (bad option, a RUN or table that\n"
	      "  cannot be read, unwritable output, a run that could not be stored).\n",
	      out);
}

enum { OPT_FORMAT = 256, OPT_STATS, OPT_HELP, OPT_STORE, OPT_SAVE, OPT_TAG };

static int parse_options(int argc, char **argv, struct annotate_cmd *c)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{"stats", no_argument, NULL, OPT_STATS},
		{"store", required_argument, NULL, OPT_STORE},
		{"save", no_argument, NULL, OPT_SAVE},
		{"tag", required_argument, NULL, OPT_TAG},
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
		case OPT_STORE: c->store_path = optarg; break;
		case OPT_SAVE: c->save = true; break;
		case OPT_TAG: c->tag = optarg; break;
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
		cli_error("annotate: give one RUN (store id, latest, latest~N, a JSON file, or - "
			  "for standard input; try 'hopwatch annotate --help')");
		return -1;
	}
	if (c->tag != NULL && !c->save) {
		cli_error("annotate: --tag labels the run --save keeps; add --save");
		return -1;
	}
	c->spec = argv[optind];
	return 0;
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
	return rc;
}

/* Keeps the annotated run in the store as a new run; -1 after an error line. */
static int save_run(const struct annotate_cmd *c, struct hw_run *run)
{
	char from[64] = "annotated";
	int64_t id;

	if (run->id > 0)
		snprintf(from, sizeof(from), "annotated from run %" PRId64, run->id);
	char *tag = strdup(c->tag != NULL ? c->tag : from);
	if (tag == NULL) {
		cli_error("out of memory");
		return -1;
	}
	free(run->tag);
	run->tag = tag;
	hw_store_t *store = cli_store_open_for_trace(c->store_path);
	if (store == NULL)
		return -1;
	int rc = store_save_run(store, run, &id);
	if (rc != HW_OK)
		cli_error("run not stored: %s", store_errmsg(store));
	store_close(store);
	if (rc != HW_OK)
		return -1;
	fprintf(stderr, "hopwatch: annotated run saved as run %" PRId64 "\n", id);
	return 0;
}

/* Writes the run to -o FILE or standard output; an exit status. */
static int output(const struct annotate_cmd *c, const struct hw_run *run)
{
	FILE *out = cli_output_open(c->outfile);
	if (out == NULL)
		return EXIT_TROUBLE;
	int rc = write_run(c, run, out);
	return cli_output_close(out, c->outfile, rc) == 0 ? EXIT_OK : EXIT_TROUBLE;
}

static int annotate_main(struct annotate_cmd *c, int argc, char **argv)
{
	struct hw_run *run = NULL;
	int status = EXIT_TROUBLE;

	if (parse_options(argc, argv, c) != 0 || annotate_cli_load(&c->ann) != 0)
		return EXIT_TROUBLE;
	if ((run = cli_load_run(c->spec, c->store_path)) == NULL)
		return EXIT_TROUBLE;
	if (annotate_cli_transit(&c->ann, run) == 0 && annotate_run(c, run) == 0 &&
	    (!c->save || save_run(c, run) == 0))
		status = c->save && c->outfile == NULL ? EXIT_OK : output(c, run);
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
