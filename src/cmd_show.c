/* `hopwatch show RUN`: one run, as traceroute text or the JSON document trace writes. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>

#include "cli.h"

static void show_usage(FILE *out)
{
	fputs("usage: hopwatch show [options] RUN\n"
	      "  RUN is a run id, latest, latest~N (see 'hopwatch runs') or a JSON run file\n"
	      "  --format text|json  (json: the document 'trace --format json' writes)\n"
	      "  -o FILE           write to FILE (JSON when FILE ends in .json)\n"
	      "  --store PATH      the store (default as for 'hopwatch runs')\n",
	      out);
}

/* One line about the run, then its traces as trace prints them. */
static int write_text(const struct hw_run *run, FILE *out)
{
	char when[32] = "?";
	time_t t = (time_t)(run->start_unix_us / 1000000u);
	struct tm tm;
	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (run->id > 0)
		fprintf(out, "run %" PRId64 ", ", run->id);
	fprintf(out, "%s from %s, %zu trace%s%s%s%s%s\n", when, run->vantage ? run->vantage : "?",
		run->n_traces, run->n_traces == 1 ? "" : "s", run->tag ? ", tag " : "",
		run->tag ? run->tag : "", run->options ? ", " : "", run->options ? run->options : "");
	for (size_t i = 0; i < run->n_traces; i++) {
		int rc = text_write_trace(run->traces[i], out);
		if (rc != HW_OK)
			return rc;
	}
	return ferror(out) ? HW_ERR_IO : HW_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"store", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *store_path = NULL, *outfile = NULL;
	int json = -1;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': outfile = optarg; break;
		case 'S': store_path = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				cli_error("--format: '%s' is not text or json", optarg);
				return EXIT_TROUBLE;
			}
			json = strcmp(optarg, "json") == 0;
			break;
		case 'h': show_usage(stdout); return EXIT_OK;
		default: return cli_bad_option("show", argv, "o:", longopts);
		}
	}
	if (argc - optind != 1) {
		cli_error("show: %s (try 'hopwatch show --help')",
			  optind >= argc ? "which run? give a RUN" : "one RUN at a time");
		return EXIT_TROUBLE;
	}
	if (json == -1)
		json = outfile != NULL && ends_with(outfile, ".json");
	struct hw_run *run = cli_load_run(argv[optind], store_path);
	if (run == NULL)
		return EXIT_TROUBLE;
	FILE *out = cli_output_open(outfile);
	if (out == NULL) {
		run_free(run);
		return EXIT_TROUBLE;
	}
	int rc = json ? json_write_run(run, out) : write_text(run, out);
	rc = cli_output_close(out, outfile, rc);
	run_free(run);
	return rc == 0 ? EXIT_OK : EXIT_TROUBLE;
}
