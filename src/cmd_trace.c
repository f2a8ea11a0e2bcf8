/* `hopwatch trace`: options, privilege handling, target resolution, annotation, output. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hopwatch/engine.h>
#include <hopwatch/net.h>
#include <hopwatch/output.h>
#include <hopwatch/resolve.h>
#include <hopwatch/status.h>
#include <hopwatch/targets.h>

#include "cli.h"
#include "config.h"

enum format { FORMAT_TEXT, FORMAT_JSON };

struct trace_cli {
	struct hw_trace_opts opts;
	struct hw_engine_opts engine;
	enum hw_method method;
	int family; /* 0: from the target */
	long port, flow, tos;
	const char *source;
	const char *outfile;
	enum format format;
	bool stats;
	bool quiet;
	enum hw_multipath multipath; /* HW_MULTIPATH_NONE: one Paris flow */
	long confidence;
	struct hw_target_opts target_opts;
	const char *store_path; /* --store; NULL: the default store */
	const char *tag;
	bool no_store;
	struct annotate_cli ann; /* names, AS; its DNS server and timeout serve targets too */
	char **args;   /* the TARGET arguments as given */
	int n_args;
};

static void trace_usage(FILE *out)
{
	fputs("usage: hopwatch trace [options] TARGET...\n"
	      "  TARGET is an address, a host name, a prefix (one target per /24, IPv6 /48)\n"
	      "  or @FILE (one TARGET per line, # comments; @- reads standard input)\n"
	      "  -4, -6            trace over IPv4 / IPv6 only (default: the target's family)\n"
	      "  -P udp|icmp|tcp   probe method (default udp)\n"
	      "  -p PORT           destination port for udp (33434) or tcp (80)\n"
	      "  --flow N          flow number 0..32767 (source port / ICMP id = 28672 + N)\n"
	      "  -f TTL            first TTL (1)\n"
	      "  -m TTL            max TTL (30)\n"
	      "  -q N              probes per hop, 1..10 (3)\n"
	      "  -w MAX[,HERE,NEAR] wait at most MAX s for an answer; give up sooner after\n"
	      "                    HERE x the RTT of the same hop or NEAR x that of a farther\n"
	      "                    one (3,3,10)\n"
	      "  -g N              stop after N consecutive silent hops, 0 = never (5)\n"
	      "  -N N              probes in flight per trace (16)\n"
	      "  --rate PPS        global probe rate, 0 = unlimited (100)\n"
	      "  -s ADDR           source address\n"
	      "  -t TOS            IPv4 TOS / IPv6 traffic class (0)\n"
	      "  --format text|json, -o FILE (JSON when FILE ends in .json)\n"
	      "  --multipath[=lite|mda]  find every load-balanced path: MDA-Lite (default),\n"
	      "                    falling back to full MDA where diamonds are meshed, or MDA\n"
	      "  --confidence PCT  MDA stopping rule confidence, 50..99 (95)\n"
	      "  --doubletree[=H|auto]  many targets: send fewer probes near this host\n"
	      "                    (Doubletree): start each trace at TTL H, probe on from there\n"
	      "                    as usual and back toward here only until a hop answers from\n"
	      "                    an interface an earlier trace of the run saw; the hops below\n"
	      "                    it are not probed and shown as skipped. auto (the default):\n"
	      "                    the first 8 traces probe everything, then H is the highest\n"
	      "                    TTL past at most 5 % of the destinations seen so far (the\n"
	      "                    nearest distance until 20 are seen). Assumes the paths back\n"
	      "                    from known interfaces are known: a load balancer below one\n"
	      "                    may send this flow another way there. Not for --multipath\n"
	      "                    (those traces probe every TTL)\n"
	      "  --per-prefix LEN  split IPv4 prefixes into /LEN (24; 0 = one target each)\n"
	      "  --per-prefix6 LEN split IPv6 prefixes into /LEN (48)\n"
	      "  --pick first|random  which address of each /LEN to trace (first)\n"
	      "  --seed N          seed of --pick random (0): same seed, same addresses\n"
	      "  --max-targets N   refuse to expand to more targets (65536)\n"
	      "  --store PATH      keep the run in this store (default: $HOPWATCH_STORE, else\n"
	      "                    $XDG_DATA_HOME/hopwatch/runs.db, ~/.local/share/hopwatch/runs.db;\n"
	      "                    under sudo the invoking user's; see docs/store.md)\n"
	      "  --no-store        do not keep the run\n"
	      "  --tag TEXT        label the run (hopwatch runs --tag TEXT)\n"
	      "  --stats           print probe, packet and annotation counters on stderr\n"
	      "  --quiet           no progress line on stderr (there is none off a terminal)\n"
	      "annotation (each reply's name, origin AS and AS name; the AS path per trace):\n",
	      out);
	fputs(annotate_cli_usage, out);
	fputs("  By default names (PTR) and origin ASes (Team Cymru-format TXT) are asked of\n"
	      "  DNS, the system's resolver unless --dns-server; each trace is written once its\n"
	      "  lookups are answered or timed out. Private, shared and reserved addresses are\n"
	      "  labelled and never asked of the AS zone.\n", out);
}

static int parse_wait(const char *text, struct hw_trace_opts *o)
{
	char buf[64];
	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	char *here = strchr(buf, ','), *near = NULL;
	if (here != NULL) {
		*here++ = '\0';
		near = strchr(here, ',');
		if (near != NULL)
			*near++ = '\0';
	}
	if (cli_double(buf, 0.001, 60, &o->wait_max) != 0)
		return -1;
	if (here != NULL && cli_double(here, 0, 1000, &o->wait_here) != 0)
		return -1;
	if (near != NULL && cli_double(near, 0, 1000, &o->wait_near) != 0)
		return -1;
	if (o->wait_min > o->wait_max)
		o->wait_min = o->wait_max;
	return 0;
}

enum {
	OPT_FLOW = 256, OPT_RATE, OPT_FORMAT, OPT_STATS, OPT_QUIET, OPT_HELP, OPT_SPLIT4,
	OPT_SPLIT6, OPT_PICK, OPT_SEED, OPT_MAX_TARGETS, OPT_MULTIPATH, OPT_CONFIDENCE,
	OPT_STORE, OPT_NO_STORE, OPT_TAG, OPT_DOUBLETREE,
};

/* A checked number option: one line and exit status 2 when out of range. */
#define NUMBER(opt, lo, hi, dst)                                                            \
	do {                                                                                \
		long v_;                                                                    \
		if (cli_number(optarg, lo, hi, &v_) != 0) {                                 \
			cli_error("%s: '%s' is not a number in %ld..%ld", opt, optarg,      \
				  (long)(lo), (long)(hi));                                  \
			return -1;                                                          \
		}                                                                           \
		dst = v_;                                                                   \
	} while (0)

static int parse_options(int argc, char **argv, struct trace_cli *c)
{
	static const struct option longopts[] = {
		{"flow", required_argument, NULL, OPT_FLOW},
		{"rate", required_argument, NULL, OPT_RATE},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"stats", no_argument, NULL, OPT_STATS},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"per-prefix", required_argument, NULL, OPT_SPLIT4},
		{"per-prefix6", required_argument, NULL, OPT_SPLIT6},
		{"pick", required_argument, NULL, OPT_PICK},
		{"multipath", optional_argument, NULL, OPT_MULTIPATH},
		{"confidence", required_argument, NULL, OPT_CONFIDENCE},
		{"doubletree", optional_argument, NULL, OPT_DOUBLETREE},
		{"seed", required_argument, NULL, OPT_SEED},
		{"max-targets", required_argument, NULL, OPT_MAX_TARGETS},
		{"store", required_argument, NULL, OPT_STORE},
		{"no-store", no_argument, NULL, OPT_NO_STORE},
		{"tag", required_argument, NULL, OPT_TAG},
		ANNOTATE_LONGOPTS,
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	static const char shortopts[] = "46P:p:f:m:q:w:g:N:s:t:o:n";
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int taken = annotate_cli_option(&c->ann, ch, optarg);
		if (taken < 0)
			return -1;
		if (taken > 0)
			continue;
		switch (ch) {
		case '4': c->family = AF_INET; break;
		case '6': c->family = AF_INET6; break;
		case 'P':
			if (hw_method_parse(optarg, &c->method) != HW_OK) {
				cli_error("-P: unknown method '%s' (udp, icmp or tcp)", optarg);
				return -1;
			}
			break;
		case 'p': NUMBER("-p", 1, 65535, c->port); break;
		case 'f': NUMBER("-f", 1, 255, c->opts.first_ttl); break;
		case 'm': NUMBER("-m", 1, 255, c->opts.max_ttl); break;
		case 'q': NUMBER("-q", 1, 10, c->opts.probes_per_hop); break;
		case 'g': NUMBER("-g", 0, 255, c->opts.gap_limit); break;
		case 'N': NUMBER("-N", 1, 4096, c->opts.window); break;
		case 't': NUMBER("-t", 0, 255, c->tos); break;
		case OPT_FLOW: NUMBER("--flow", 0, HW_FLOW_MAX, c->flow); break;
		case 'w':
			if (parse_wait(optarg, &c->opts) != 0) {
				cli_error("-w: '%s' is not MAX[,HERE,NEAR] (seconds 0.001..60, factors 0..1000)", optarg);
				return -1;
			}
			break;
		case OPT_RATE:
			if (cli_double(optarg, 0, 10000000, &c->engine.rate_pps) != 0) {
				cli_error("--rate: '%s' is not a rate in probes per second", optarg);
				return -1;
			}
			break;
		case 's': c->source = optarg; break;
		case 'o': c->outfile = optarg; break;
		case OPT_STATS: c->stats = true; break;
		case OPT_QUIET: c->quiet = true; break;
		case OPT_SPLIT4: NUMBER("--per-prefix", 0, 32, c->target_opts.split_v4); break;
		case OPT_SPLIT6: NUMBER("--per-prefix6", 0, 128, c->target_opts.split_v6); break;
		case OPT_SEED: NUMBER("--seed", 0, LONG_MAX, c->target_opts.seed); break;
		case OPT_MAX_TARGETS: NUMBER("--max-targets", 1, 10000000, c->target_opts.max_targets); break;
		case OPT_CONFIDENCE: NUMBER("--confidence", 50, 99, c->confidence); break;
		case OPT_STORE: c->store_path = optarg; break;
		case OPT_NO_STORE: c->no_store = true; break;
		case OPT_TAG: c->tag = optarg; break;
		case OPT_MULTIPATH:
			if (optarg == NULL || strcmp(optarg, "lite") == 0)
				c->multipath = HW_MULTIPATH_LITE;
			else if (strcmp(optarg, "mda") == 0)
				c->multipath = HW_MULTIPATH_MDA;
			else {
				cli_error("--multipath: '%s' is not mda or lite", optarg);
				return -1;
			}
			break;
		case OPT_DOUBLETREE:
			c->opts.doubletree = true;
			c->opts.start_ttl = 0;
			if (optarg != NULL && strcmp(optarg, "auto") != 0)
				NUMBER("--doubletree", 1, 255, c->opts.start_ttl);
			break;
		case OPT_PICK:
			if (strcmp(optarg, "first") == 0)
				c->target_opts.pick = HW_PICK_FIRST;
			else if (strcmp(optarg, "random") == 0)
				c->target_opts.pick = HW_PICK_RANDOM;
			else {
				cli_error("--pick: '%s' is not first or random", optarg);
				return -1;
			}
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				c->format = FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				c->format = FORMAT_JSON;
			else {
				cli_error("--format: '%s' is not text or json", optarg);
				return -1;
			}
			break;
		case OPT_HELP: trace_usage(stdout); exit(EXIT_OK);
		default: cli_bad_option("trace", argv, shortopts, longopts); return -1;
		}
	}
	/* Multipath traces probe every TTL with many flows: doubletree is not theirs. */
	if (c->multipath != HW_MULTIPATH_NONE) {
		c->opts.doubletree = false;
		c->opts.start_ttl = 0;
	}
	const char *why;
	if (tracer_opts_check(&c->opts, &why) != HW_OK) {
		cli_error("%s", why);
		return -1;
	}
	c->target_opts.family = c->family;
	c->args = argv + optind;
	c->n_args = argc - optind;
	if (c->n_args == 0) {
		cli_error("trace: no target given (try 'hopwatch trace --help')");
		return -1;
	}
	return 0;
}

/* Expands the TARGET arguments (after privileges are gone: @FILE is the user's file). */
static int expand_targets(const struct trace_cli *c, struct hw_target_list *list)
{
	char err[256];
	for (int i = 0; i < c->n_args; i++) {
		if (targets_add_arg(list, c->args[i], &c->target_opts, err, sizeof(err)) != HW_OK) {
			cli_error("%s", err);
			return -1;
		}
	}
	return 0;
}

struct lookup {
	struct hw_target *target;
	int status;
};

static void on_resolved(void *arg, int status, const struct hw_addr *addrs, size_t n)
{
	struct lookup *l = arg;
	l->status = status == HW_OK && n == 0 ? HW_ERR_NOHOST : status;
	if (l->status == HW_OK)
		l->target->addr = addrs[0]; /* in the resolver's preference order */
}

/* Resolves every name on the loop, all at once; -1 after naming the first that failed. */
static int resolve_names(const struct trace_cli *c, hw_loop_t *loop, struct hw_target_list *list)
{
	size_t names = 0;
	for (size_t i = 0; i < list->n; i++)
		names += list->v[i].name != NULL;
	if (names == 0)
		return 0;
	int st;
	const char *server = c->ann.opts.dns_server;
	hw_resolver_t *res = resolver_open(loop, server, c->ann.opts.dns_timeout, &st);
	if (res == NULL) {
		cli_error("cannot start the resolver%s%s: %s", server ? " for " : "",
			  server ? server : "", hw_strerror(st));
		return -1;
	}
	struct lookup *lookups = calloc(list->n, sizeof(*lookups));
	int rc = lookups != NULL ? 0 : -1;
	for (size_t i = 0; i < list->n && rc == 0; i++) {
		lookups[i] = (struct lookup){&list->v[i], HW_OK};
		if (list->v[i].name != NULL &&
		    resolver_lookup(res, list->v[i].name, c->family ? c->family : AF_UNSPEC,
				    on_resolved, &lookups[i]) != HW_OK)
			rc = -1;
	}
	if (rc == 0 && loop_run(loop) != 0)
		rc = -1;
	for (size_t i = 0; i < list->n && rc == 0; i++) {
		if (lookups[i].status == HW_ERR_NOHOST) {
			cli_error("unknown host %s", list->v[i].name);
			rc = -1;
		} else if (lookups[i].status == HW_ERR_SERVFAIL) {
			cli_error("cannot resolve %s: DNS server failure", list->v[i].name);
			rc = -1;
		} else if (lookups[i].status != HW_OK) {
			cli_error("cannot resolve %s: no answer from DNS", list->v[i].name);
			rc = -1;
		}
	}
	if (lookups == NULL)
		cli_error("out of memory");
	free(lookups);
	resolver_close(res);
	return rc;
}

/* Never 0: Linux replaces an IPv4 ID of 0, and the ID carries the instance. */
static uint16_t random_instance(void)
{
	uint16_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint16_t)getpid();
	return v != 0 ? v : 1;
}

static const struct hw_target_list *sort_list;

static int by_address(const void *x, const void *y)
{
	const struct hw_addr *a = &sort_list->v[*(const size_t *)x].addr;
	const struct hw_addr *b = &sort_list->v[*(const size_t *)y].addr;
	int d = a->family - b->family;
	if (d == 0)
		d = memcmp(a->a, b->a, sizeof(a->a));
	if (d == 0) /* keep the first mention of an address */
		d = *(const size_t *)x < *(const size_t *)y ? -1 : 1;
	return d;
}

/* Marks targets whose address an earlier target already has: one trace per destination. */
static bool *find_duplicates(const struct hw_target_list *list)
{
	bool *dup = calloc(list->n + 1, sizeof(*dup));
	size_t *order = malloc((list->n + 1) * sizeof(*order));
	if (dup == NULL || order == NULL) {
		free(order);
		free(dup);
		return NULL;
	}
	for (size_t i = 0; i < list->n; i++)
		order[i] = i;
	sort_list = list;
	qsort(order, list->n, sizeof(*order), by_address);
	for (size_t i = 1; i < list->n; i++)
		if (hw_addr_eq(&list->v[order[i]].addr, &list->v[order[i - 1]].addr))
			dup[order[i]] = true;
	free(order);
	return dup;
}

static int add_traces(const struct trace_cli *c, const struct hw_target_list *list,
		      const bool *dup, uint16_t instance, const struct hw_addr *fixed_src,
		      hw_net_t *net, hw_engine_t *engine, struct hw_run *run);

/* Builds one trace per target into run; -1 after saying what is wrong. */
static int prepare_traces(const struct trace_cli *c, const struct hw_target_list *list,
			  hw_net_t *net, hw_engine_t *engine, struct hw_run *run)
{
	uint16_t instance = random_instance();
	struct hw_addr fixed_src;
	if (c->source != NULL && hw_addr_parse(c->source, &fixed_src) != HW_OK) {
		cli_error("-s: '%s' is not an address", c->source);
		return -1;
	}
	/* Answers to a source that is not ours would never come back: refuse it. */
	if (c->source != NULL && net_source_is_local(&fixed_src) != HW_OK) {
		cli_error("-s: %s is not an address of this host", c->source);
		return -1;
	}
	bool *dup = find_duplicates(list);
	if (dup == NULL) {
		cli_error("out of memory");
		return -1;
	}
	int rc = add_traces(c, list, dup, instance, c->source ? &fixed_src : NULL, net, engine,
			    run);
	free(dup);
	return rc;
}

/* A Paris trace on one flow, or a multipath trace from that flow on. */
static int start_trace(const struct trace_cli *c, hw_engine_t *engine,
		       const struct hw_flow *flow, struct hw_trace *trace)
{
	if (c->multipath == HW_MULTIPATH_NONE)
		return engine_add(engine, flow, &c->opts, trace);
	struct hw_mda_opts mo;
	mda_opts_default(&mo);
	mo.trace = c->opts; /* doubletree is off for multipath (parse_options) */
	mo.mode = c->multipath;
	mo.confidence = (uint8_t)c->confidence;
	return engine_add_multipath(engine, flow, &mo, trace);
}

static int add_traces(const struct trace_cli *c, const struct hw_target_list *list,
		      const bool *dup, uint16_t instance, const struct hw_addr *fixed_src,
		      hw_net_t *net, hw_engine_t *engine, struct hw_run *run)
{
	struct hw_addr src;
	for (size_t i = 0; i < list->n; i++) {
		const struct hw_target *t = &list->v[i];
		char buf[HW_ADDRSTRLEN];
		if (dup[i])
			continue;
		if (fixed_src != NULL) {
			if (fixed_src->family != t->addr.family) {
				cli_error("-s: %s is not of %s's family", c->source, t->spec);
				return -1;
			}
			src = *fixed_src;
		} else if (net_source_for(net, &t->addr, &src) != HW_OK) {
			cli_error("no route to %s: %s", hw_addr_str(&t->addr, buf, sizeof(buf)),
				  strerror(errno));
			return -1;
		}
		struct hw_flow flow;
		probe_flow_init(&flow, c->method, &src, &t->addr, (uint16_t)c->flow,
				(uint16_t)c->port, instance);
		flow.tos = (uint8_t)c->tos;
		struct hw_trace *trace = trace_new(&flow, c->opts.first_ttl, c->opts.max_ttl,
						   c->opts.probes_per_hop);
		if (trace == NULL || run_add_trace(run, trace) != HW_OK) {
			trace_free(trace);
			cli_error("out of memory");
			return -1;
		}
		/* The name as the user wrote it, when it is more than the address. */
		if (t->name != NULL || t->network != NULL)
			trace->target = strdup(t->spec);
		if (t->network != NULL)
			trace->network = strdup(t->network);
		if (start_trace(c, engine, &flow, trace) != HW_OK) {
			cli_error("cannot start the trace to %s", t->spec);
			return -1;
		}
	}
	return 0;
}

/*
 * Writes each trace the moment it is complete and annotated: no tail of output after the
 * last probe and its lookups. A completed trace goes to the annotator (cached addresses
 * come back at once, others when DNS answers or times out); traces are written in the
 * order they completed, each as soon as it and those before it are annotated.
 */
struct slot {
	struct writer *w;
	struct hw_trace *trace;
	bool ready;
};

struct writer {
	const struct trace_cli *c;
	const struct hw_run *run;
	FILE *out;
	hw_json_stream_t *json;
	int status;
	bool *progress_shown; /* a progress line to clear before writing on a terminal */
	hw_store_t *store;    /* the run being saved (store_begin_run), NULL: none */
	hw_annotator_t *annotator;
	hw_loop_t *loop;
	struct slot *slots;   /* one per trace, in completion order */
	size_t n_done, n_written;
	bool draining;        /* probing is over: stop the loop when all is written */
};

static void write_one(struct writer *w, struct hw_trace *trace)
{
	/* A failure stays with the store's run and is told once, by store_commit_run. */
	if (w->store != NULL)
		(void)store_add_trace(w->store, trace);
	if (w->status != HW_OK)
		return;
	if (w->progress_shown != NULL && *w->progress_shown)
		fputs("\r\033[K", stderr);
	if (w->json != NULL)
		w->status = json_stream_trace(w->json, trace);
	else if ((w->status = text_write_trace_as(trace, w->run->transit, w->run->n_transit,
						  w->out)) == HW_OK && fflush(w->out) != 0)
		w->status = HW_ERR_IO;
}

static void on_annotated(void *arg, struct hw_trace *trace, int status)
{
	struct slot *s = arg;
	struct writer *w = s->w;
	(void)trace;
	(void)status; /* without its annotation (ENOMEM) a trace is still worth writing */
	s->ready = true;
	while (w->n_written < w->n_done && w->slots[w->n_written].ready)
		write_one(w, w->slots[w->n_written++].trace);
	if (w->draining && w->n_written == w->n_done)
		loop_stop(w->loop);
}

static void write_trace_now(void *arg, struct hw_trace *trace)
{
	struct writer *w = arg;
	struct slot *s = &w->slots[w->n_done++];
	*s = (struct slot){w, trace, false};
	if (annotator_trace(w->annotator, trace, on_annotated, s) != HW_OK)
		on_annotated(s, trace, HW_ERR_NOMEM);
}

static int writer_open(struct writer *w, const struct trace_cli *c, const struct hw_run *run,
		       FILE *out)
{
	*w = (struct writer){.c = c, .run = run, .out = out, .status = HW_OK};
	if ((w->slots = calloc(run->n_traces + 1, sizeof(*w->slots))) == NULL) {
		w->status = HW_ERR_NOMEM;
		return -1;
	}
	if (c->format == FORMAT_JSON && (w->json = json_stream_open(run, out, &w->status)) == NULL)
		return -1;
	return 0;
}

/* Probing is over: waits for the lookups of the traces not yet written. */
static int writer_drain(struct writer *w)
{
	w->draining = true;
	if (w->n_written < w->n_done && loop_run(w->loop) != 0)
		return -1;
	return 0;
}

static int writer_close(struct writer *w)
{
	int rc = w->json != NULL ? json_stream_close(w->json) : HW_OK;
	free(w->slots);
	w->slots = NULL;
	if (w->status == HW_OK)
		w->status = rc;
	if (w->status == HW_OK && (fflush(w->out) != 0 || ferror(w->out)))
		w->status = HW_ERR_IO;
	if (w->status != HW_OK) {
		cli_error("writing %s: %s", w->c->outfile ? w->c->outfile : "output",
			  w->status == HW_ERR_IO ? strerror(errno) : hw_strerror(w->status));
		return -1;
	}
	return 0;
}

static int exit_status(const struct hw_run *run)
{
	for (size_t i = 0; i < run->n_traces; i++)
		if (run->traces[i]->stop_reason != HW_STOP_COMPLETED)
			return EXIT_PARTIAL;
	return EXIT_OK;
}

static void print_stats(const hw_engine_t *engine)
{
	struct hw_engine_stats s;
	engine_stats(engine, &s);
	fprintf(stderr,
		"stats: probes_sent=%llu send_errors=%llu packets_read=%llu matched=%llu "
		"not_ours=%llu late=%llu\n",
		(unsigned long long)s.probes_sent, (unsigned long long)s.send_errors,
		(unsigned long long)s.packets_read, (unsigned long long)s.replies_matched,
		(unsigned long long)s.not_ours, (unsigned long long)s.late);
}

/* The progress line on a terminal: traces done, probes sent, the rate achieved. */
struct progress {
	hw_loop_t *loop;
	const hw_engine_t *engine;
	uint64_t start_us;
	bool shown;
};

#define PROGRESS_EVERY_US 250000u

static void show_progress(void *arg)
{
	struct progress *p = arg;
	struct hw_engine_stats s;
	engine_stats(p->engine, &s);
	double secs = (hw_now_us() - p->start_us) / 1e6;
	fprintf(stderr, "\r\033[K%llu/%llu traces done, %llu probes, %.0f probes/s",
		(unsigned long long)s.traces_done, (unsigned long long)s.traces_total,
		(unsigned long long)s.probes_sent, secs > 0 ? s.probes_sent / secs : 0.0);
	p->shown = true;
	if (s.traces_done < s.traces_total)
		loop_timer(p->loop, hw_now_us() + PROGRESS_EVERY_US, show_progress, p);
}

/*
 * What makes two runs comparable, in one canonical string (run->options): the probe
 * method and header fields, the TTL range, probes per hop and the multipath mode.
 */
static char *comparable_options(const struct trace_cli *c)
{
	char buf[192];
	long dport = c->method == HW_METHOD_ICMP ? 0 : c->port != 0 ? c->port
				   : c->method == HW_METHOD_TCP ? HW_TCP_DPORT : HW_UDP_DPORT;
	int n = snprintf(buf, sizeof(buf), "method=%s dport=%ld flow=%ld tos=%ld first=%u max=%u "
			 "q=%u multipath=%s", hw_method_name(c->method), dport, c->flow, c->tos,
			 (unsigned)c->opts.first_ttl, (unsigned)c->opts.max_ttl,
			 c->multipath == HW_MULTIPATH_NONE ? (unsigned)c->opts.probes_per_hop : 0u,
			 hw_multipath_name(c->multipath));
	if (c->multipath != HW_MULTIPATH_NONE && n > 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, " confidence=%ld", c->confidence);
	return strdup(buf);
}

/* Ends the run in the store: 0 when saved (or not asked for), -1 after saying why not. */
static int store_finish(hw_store_t *store, bool ran)
{
	if (store == NULL)
		return 0;
	if (!ran) {
		store_abort_run(store);
		return 0;
	}
	if (store_commit_run(store, NULL) != HW_OK) {
		cli_error("run not stored: %s", store_errmsg(store));
		return -1;
	}
	return 0;
}

/* Everything after the sockets are open and privileges are gone. */
static int run_traces(struct trace_cli *c, hw_net_t *net, FILE *out, hw_store_t *store)
{
	int status = EXIT_TROUBLE;
	bool store_failed = false;
	struct hw_target_list targets = {0};
	struct hw_run *run = run_new();
	hw_loop_t *loop = loop_open();
	struct writer writer;
	struct hw_engine_opts eopts = c->engine;
	eopts.on_done = write_trace_now;
	eopts.on_done_arg = &writer;
	hw_engine_t *engine = loop ? engine_new(loop, net, &eopts) : NULL;
	hw_annotator_t *annotator = NULL;
	writer.slots = NULL;
	if (run == NULL || engine == NULL) {
		cli_error("cannot start: %s", strerror(errno));
		goto done;
	}
	/* The tables are the user's files: read after privileges are gone. */
	if (annotate_cli_transit(&c->ann, run) != 0 || annotate_cli_load(&c->ann) != 0)
		goto done;
	char host[256] = "";
	(void)gethostname(host, sizeof(host) - 1);
	run->vantage = strdup(host);
	run->tool_version = strdup("hopwatch " PACKAGE_VERSION);
	run->start_unix_us = hw_unix_us();
	run->tag = c->tag != NULL ? strdup(c->tag) : NULL;
	run->options = comparable_options(c);
	if (expand_targets(c, &targets) != 0 || resolve_names(c, loop, &targets) != 0 ||
	    prepare_traces(c, &targets, net, engine, run) != 0)
		goto done;
	if ((annotator = annotate_cli_open(&c->ann, loop)) == NULL)
		goto done;
	if (writer_open(&writer, c, run, out) != 0) {
		cli_error("writing output: %s", hw_strerror(writer.status));
		goto done;
	}
	writer.annotator = annotator;
	writer.loop = loop;
	struct progress progress = {loop, engine, hw_now_us(), false};
	if (!c->quiet && isatty(STDERR_FILENO))
		loop_timer(loop, progress.start_us + PROGRESS_EVERY_US, show_progress, &progress);
	writer.progress_shown = &progress.shown;
	if (store != NULL && store_begin_run(store, run) != HW_OK) {
		cli_error("run not stored: %s", store_errmsg(store));
		store_failed = true;
		store = NULL;
	}
	writer.store = store;
	int run_rc = engine_run(engine);
	if (run_rc == HW_OK && writer_drain(&writer) != 0)
		run_rc = HW_ERR_SYS;
	struct hw_annotate_stats astats;
	annotator_stats(annotator, &astats);
	/* Whatever still waits for DNS (after a loop failure) is written now. */
	annotator = annotator_close(annotator);
	if (progress.shown)
		fputs("\r\033[K", stderr);
	int write_rc = writer_close(&writer);
	if (store_finish(store, run_rc == HW_OK) != 0)
		store_failed = true;
	if (run_rc != HW_OK) {
		cli_error("event loop failed: %s", strerror(errno));
		goto done;
	}
	if (c->stats) {
		print_stats(engine);
		annotate_cli_stats(&astats);
	}
	if (write_rc == 0 && !store_failed)
		status = exit_status(run);
done:
	annotator_close(annotator);
	free(writer.slots);
	engine_free(engine);
	loop_close(loop);
	run_free(run);
	targets_free(&targets);
	return status;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Options to exit status; c's annotation state is freed by the caller. */
static int trace_main(struct trace_cli *c, int argc, char **argv)
{
	if (parse_options(argc, argv, c) != 0)
		return EXIT_TROUBLE;
	if (c->outfile != NULL && ends_with(c->outfile, ".json"))
		c->format = FORMAT_JSON;

	unsigned what = c->family == AF_INET ? HW_NET_V4 : c->family == AF_INET6 ? HW_NET_V6
									: HW_NET_V4 | HW_NET_V6;
	if (c->method == HW_METHOD_TCP)
		what |= HW_NET_TCP;
	hw_net_t *net;
	int rc = net_open(what, &net);
	if (rc == HW_ERR_PERM) {
		cli_error("raw sockets need root or CAP_NET_RAW (try sudo, or setcap cap_net_raw+ep on the binary)");
		return EXIT_TROUBLE;
	}
	if (rc != HW_OK) {
		cli_error("cannot open raw sockets: %s", strerror(errno));
		return EXIT_TROUBLE;
	}
	/* The output file is opened while we may still create it anywhere root could. */
	FILE *out = stdout;
	if (c->outfile != NULL && strcmp(c->outfile, "-") != 0 &&
	    (out = fopen(c->outfile, "w")) == NULL) {
		cli_error("cannot write %s: %s", c->outfile, strerror(errno));
		net_close(net);
		return EXIT_TROUBLE;
	}
	/* So is the store: under sudo it is the user's, and plain root becomes nobody, who
	 * could not open root's store later (docs/store.md). A store that fails is said at
	 * once; the trace still runs and prints, and exits 2. */
	hw_store_t *store = c->no_store ? NULL : cli_store_open_for_trace(c->store_path);
	int status = EXIT_TROUBLE;
	if (net_drop_privileges() != HW_OK)
		cli_error("cannot drop privileges: %s", strerror(errno));
	else if ((status = run_traces(c, net, out, store)) != EXIT_TROUBLE && !c->no_store &&
		 store == NULL)
		status = EXIT_TROUBLE;
	store_close(store);
	if (out != stdout && fclose(out) != 0 && status != EXIT_TROUBLE) {
		cli_error("writing %s: %s", c->outfile, strerror(errno));
		status = EXIT_TROUBLE;
	}
	net_close(net);
	return status;
}

int cmd_trace(int argc, char **argv)
{
	struct trace_cli c = {.method = HW_METHOD_UDP, .format = FORMAT_TEXT, .confidence = 95};
	annotate_cli_init(&c.ann);
	targets_opts_default(&c.target_opts);
	tracer_opts_default(&c.opts);
	engine_opts_default(&c.engine);
	int status = trace_main(&c, argc, argv);
	annotate_cli_free(&c.ann);
	return status;
}
