/* `hopwatch runs`: the runs in the store, newest first, as a table or JSON. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <hopwatch/loop.h>
#include <hopwatch/status.h>
#include <hopwatch/store.h>

#include "cli.h"

static void runs_usage(FILE *out)
{
	fputs("usage: hopwatch runs [options]\n"
	      "  --target T        runs with a trace to T (target as given, network or address)\n"
	      "  --since WHEN      runs started since WHEN: 90m, 24h, 7d, 2w ago, or a UTC time\n"
	      "                    2026-11-24[T22:30[:00]][Z]\n"
	      "  --tag T           runs tagged T (trace --tag)\n"
	      "  --limit N         the N newest only\n"
	      "  --format text|json\n"
	      "  --store PATH      the store (default: $HOPWATCH_STORE, else\n"
	      "                    $XDG_DATA_HOME/hopwatch/runs.db, ~/.local/share/hopwatch/runs.db)\n"
	      "  a run's REF (for show, diff) is its id, latest, or latest~N (N-th before the latest)\n",
	      out);
}

/* "24h"-style ages or a UTC time ("2026-11-24", "2026-11-24T22:30:00Z") -> µs since 1970. */
static int parse_since(const char *text, uint64_t now_us, uint64_t *out)
{
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	static const struct { char unit; uint64_t secs; } units[] = {
		{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400},
	};
	if (end != text && end[0] != '\0' && end[1] == '\0' && end[0] != '-') {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (*end != units[i].unit)
				continue;
			if (n > 100000ULL * 365 * 86400 / units[i].secs) /* 100 000 years */
				return -1;
			uint64_t back = (uint64_t)n * units[i].secs * 1000000u;
			*out = back < now_us ? now_us - back : 0;
			return 0;
		}
		return -1;
	}
	struct tm tm = {0};
	int used = 0;
	unsigned y, mo, d, h = 0, mi = 0, s = 0;
	if (sscanf(text, "%4u-%2u-%2u%n", &y, &mo, &d, &used) != 3)
		return -1;
	const char *p = text + used;
	if (*p == 'T' || *p == ' ') {
		if (sscanf(p + 1, "%2u:%2u%n", &h, &mi, &used) != 2)
			return -1;
		p += 1 + used;
		if (*p == ':') {
			if (sscanf(p + 1, "%2u%n", &s, &used) != 1)
				return -1;
			p += 1 + used;
		}
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    s > 59)
		return -1;
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)h;
	tm.tm_min = (int)mi;
	tm.tm_sec = (int)s;
	time_t t = timegm(&tm);
	if (t < 0 || tm.tm_mday != (int)d) /* 2026-02-31 rolled over */
		return -1;
	*out = (uint64_t)t * 1000000u;
	return 0;
}

/*
 * "2026-11-24T22:30:00Z" for the table (to the second); with micro, the run document's
 * form ("2026-11-24T22:30:00.123456Z", as `show --format json` gives "start").
 */
static const char *utc_time(uint64_t us, bool micro, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;
	size_t n = gmtime_r(&t, &tm) != NULL ? strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
	if (n == 0)
		snprintf(buf, len, "?");
	else if (micro)
		snprintf(buf + n, len - n, ".%06uZ", (unsigned)(us % 1000000u));
	else
		snprintf(buf + n, len - n, "Z");
	return buf;
}

struct lister {
	bool json;
	json_t *array;
	size_t n;
	int status;
};

static int print_text(struct lister *l, const struct hw_run_summary *r)
{
	char when[32], vantage[160], done[48];
	if (l->n++ == 0)
		printf("%-6s %-20s  %-32s %-6s %-5s %-16s %s\n", "ID", "START (UTC)", "VANTAGE",
		       "METHOD", "TRACE", "TAG", "DONE");
	snprintf(vantage, sizeof(vantage), "%s%s%s%s", r->vantage ? r->vantage : "?",
		 r->sources ? " (" : "", r->sources ? r->sources : "", r->sources ? ")" : "");
	snprintf(done, sizeof(done), "%zu/%zu", r->n_completed, r->n_traces);
	printf("%-6" PRId64 " %-20s  %-32s %-6s %-5zu %-16s %s\n", r->id,
	       utc_time(r->start_unix_us, false, when, sizeof(when)), vantage,
	       r->method ? r->method : "-", r->n_traces, r->tag ? r->tag : "-", done);
	return 0;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static int add_json(struct lister *l, const struct hw_run_summary *r)
{
	char when[32];
	json_t *o = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I}",
			      "id", (json_int_t)r->id,
			      "start", utc_time(r->start_unix_us, true, when, sizeof(when)),
			      "vantage", str_or_null(r->vantage),
			      "sources", str_or_null(r->sources),
			      "tool", str_or_null(r->tool),
			      "tag", str_or_null(r->tag),
			      "method", str_or_null(r->method),
			      "options", str_or_null(r->options),
			      "traces", (json_int_t)r->n_traces,
			      "completed", (json_int_t)r->n_completed);
	if (o == NULL || json_array_append_new(l->array, o) != 0)
		return HW_ERR_NOMEM;
	return 0;
}

static int on_run(void *arg, const struct hw_run_summary *r)
{
	struct lister *l = arg;
	return l->json ? add_json(l, r) : print_text(l, r);
}

int cmd_runs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"target", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 's'},
		{"tag", required_argument, NULL, 'g'},
		{"limit", required_argument, NULL, 'n'},
		{"format", required_argument, NULL, 'f'},
		{"store", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hw_store_filter filter = {0};
	const char *store_path = NULL;
	struct lister l = {0};
	long limit;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': filter.target = optarg; break;
		case 'g': filter.tag = optarg; break;
		case 'S': store_path = optarg; break;
		case 's':
			if (parse_since(optarg, hw_unix_us(), &filter.since_unix_us) != 0) {
				cli_error("--since: '%s' is not an age (90m, 24h, 7d, 2w) or a UTC "
					  "time (2026-11-24T22:30:00Z)", optarg);
				return EXIT_TROUBLE;
			}
			break;
		case 'n':
			if (cli_number(optarg, 1, 100000000, &limit) != 0) {
				cli_error("--limit: '%s' is not a number in 1..100000000", optarg);
				return EXIT_TROUBLE;
			}
			filter.limit = (size_t)limit;
			break;
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				cli_error("--format: '%s' is not text or json", optarg);
				return EXIT_TROUBLE;
			}
			l.json = strcmp(optarg, "json") == 0;
			break;
		case 'h': runs_usage(stdout); return EXIT_OK;
		default: return cli_bad_option("runs", argv, "", longopts);
		}
	}
	if (optind < argc) {
		cli_error("runs: unexpected argument '%s' (try 'hopwatch runs --help')", argv[optind]);
		return EXIT_TROUBLE;
	}
	hw_store_t *s = cli_store_open(store_path);
	if (s == NULL)
		return EXIT_TROUBLE;
	if (l.json && (l.array = json_array()) == NULL) {
		store_close(s);
		cli_error("out of memory");
		return EXIT_TROUBLE;
	}
	int rc = store_list_runs(s, &filter, on_run, &l);
	if (rc != HW_OK)
		cli_error("%s", rc == HW_ERR_NOMEM ? "out of memory" : store_errmsg(s));
	store_close(s);
	if (rc == HW_OK && l.json &&
	    (json_dumpf(l.array, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) == EOF))
		rc = HW_ERR_IO;
	json_decref(l.array);
	if (rc == HW_OK && fflush(stdout) != 0)
		rc = HW_ERR_IO;
	if (rc == HW_ERR_IO)
		cli_error("writing the listing: %s", strerror(errno));
	return rc == HW_OK ? EXIT_OK : EXIT_TROUBLE;
}
