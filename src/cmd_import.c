/* `hopwatch import RUN.json`: keeps a JSON run document (trace -o FILE.json) in the store. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/status.h>
#include <hopwatch/store.h>

#include "cli.h"

static void import_usage(FILE *out)
{
	fputs("usage: hopwatch import [options] RUN.json\n"
	      "  RUN.json          a run document ('trace -o FILE.json', 'show --format json'),\n"
	      "                    - for standard input; stored as it is, as a new run\n"
	      "  --tag T           tag the stored run T (instead of the document's tag)\n"
	      "  --store PATH      the store (default as for 'hopwatch runs'; created if missing)\n"
	      "prints the new run's id; exit status 0 stored, 2 trouble\n",
	      out);
}

int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"tag", required_argument, NULL, 'T'},
		{"store", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *store_path = NULL, *tag = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'T': tag = optarg; break;
		case 'S': store_path = optarg; break;
		case 'h': import_usage(stdout); return EXIT_OK;
		default: return cli_bad_option("import", argv, "", longopts);
		}
	}
	if (argc - optind != 1) {
		cli_error("import: %s (try 'hopwatch import --help')",
			  optind >= argc ? "which file? give a RUN.json" : "one file at a time");
		return EXIT_TROUBLE;
	}
	const char *file = argv[optind];
	/* Only a file: a run id here would copy a stored run into the store again. */
	if (!cli_is_run_file(file)) {
		if (cli_is_store_ref(file))
			cli_error("import: %s names a stored run, not a file (a file of that name: "
				  "./%s)", file, file);
		else
			cli_error("import: %s is not a JSON run file", file);
		return EXIT_TROUBLE;
	}
	struct hw_run *run = cli_load_run(file, NULL);
	if (run == NULL)
		return EXIT_TROUBLE;
	if (tag != NULL) {
		char *copy = strdup(tag);
		if (copy == NULL) {
			cli_error("out of memory");
			run_free(run);
			return EXIT_TROUBLE;
		}
		free(run->tag);
		run->tag = copy;
	}
	int status = EXIT_TROUBLE;
	hw_store_t *s = cli_store_open_for_trace(store_path);
	int64_t id = 0;
	if (s != NULL && store_save_run(s, run, &id) != HW_OK) {
		cli_error("run not stored: %s", store_errmsg(s));
	} else if (s != NULL) {
		printf("run %" PRId64 ": %zu trace%s from %s\n", id, run->n_traces,
		       run->n_traces == 1 ? "" : "s", strcmp(file, "-") == 0 ? "standard input" : file);
		status = fflush(stdout) == 0 ? EXIT_OK : EXIT_TROUBLE;
	}
	store_close(s);
	run_free(run);
	return status;
}
