/*
 * The run store: round trips (every run-level field: transit too), listings, latest~N,
 * comparable pairs, the v1 -> ... -> v4, v2 -> v4 and v3 -> v4 migrations, damaged traces,
 * refusing newer / foreign / damaged files without touching them, reading a store we
 * cannot write, runs that never finish, kill -9 inside the commit, and several processes
 * at once (readers checking what they read against what the writers wrote).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>
#include <hopwatch/store.h>
#include <hopwatch/tracebin.h>

#include "fixtures.h"

/* 2026-11-24T22:30:00.123456Z */
#define T0 1795559400123456ULL
#define HOUR_US 3600000000ULL

/* ---- a scratch directory per test ---- */

struct scratch {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	strcpy(s->dir, "/tmp/hw-test-store.XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	snprintf(s->path, sizeof(s->path), "%s/runs.db", s->dir);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *s = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	int rc = system(cmd);
	free(s);
	return rc == 0 ? 0 : -1;
}

/* ---- synthetic runs ---- */

/* A UDP trace from TTL 1, 3 probes a hop. */
static struct hw_trace *new_trace(const char *src, const char *dst, uint16_t flow_id,
				  uint8_t max)
{
	return fx_trace(HW_METHOD_UDP, src, dst, flow_id, HW_UDP_DPORT, 1, max, 3);
}

/* A reply with its IP id, counted as a probe sent (by the hop, for its attempt). */
static struct hw_reply *add(struct hw_trace *t, uint8_t ttl, uint8_t attempt, const char *from,
			    enum hw_reply_kind kind, uint8_t type, uint8_t code, double rtt)
{
	struct hw_reply *r = fx_add(t, ttl, attempt, from, kind, type, code, rtt);
	struct hw_hop *hop = trace_hop(t, ttl);
	r->ipid = (uint16_t)(1000 + ttl * 10 + attempt);
	hop->probes_sent = hop->probes_sent > attempt ? hop->probes_sent : (uint32_t)attempt + 1;
	t->probes_sent++;
	return r;
}

/* A Paris trace of `hops` routers then the destination; an MPLS hop at TTL 2. */
static struct hw_trace *paris_trace(const char *dst, uint16_t flow, unsigned hops, bool reach)
{
	struct hw_trace *t = new_trace("198.18.0.2", dst, flow, 30);
	char a[HW_ADDRSTRLEN];
	for (unsigned ttl = 1; ttl <= hops; ttl++) {
		snprintf(a, sizeof(a), "198.18.%u.1", ttl);
		for (uint8_t k = 0; k < 3; k++)
			add(t, (uint8_t)ttl, k, a, HW_REPLY_TIME_EXCEEDED, 11, 0, 0.1 * ttl + k);
	}
	if (hops >= 2) {
		struct hw_mpls_label lsp[2] = {{16, 0, 0, 1}, {24005, 3, 1, 2}};
		assert_int_equal(hw_reply_set_mpls(&trace_hop(t, 2)->replies[0], lsp, 2), HW_OK);
	}
	uint8_t last = (uint8_t)(hops + 1);
	if (reach) {
		add(t, last, 0, dst, HW_REPLY_UNREACH, 3, 3, 2.5);
		t->stop_reason = HW_STOP_COMPLETED;
	} else {
		trace_hop(t, last)->probes_sent = 3;
		t->probes_sent += 3;
		t->stop_reason = HW_STOP_GAPLIMIT;
	}
	t->stop_ttl = last;
	trace_truncate(t, last);
	t->start_unix_us = T0 + 1000;
	t->duration_ms = 42.125;
	return t;
}

/* A multipath trace: two branches at TTL 2 that meet at TTL 3, links and a diamond. */
static struct hw_trace *mp_trace(const char *dst)
{
	struct hw_trace *t = new_trace("198.18.0.2", dst, 0, 16);
	t->multipath = HW_MULTIPATH_LITE;
	t->confidence = 95;
	t->probes_per_hop = 0;
	add(t, 1, 0, "198.18.1.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.1);
	add(t, 1, 0, "198.18.1.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.1)->flow_id = 1;
	add(t, 2, 0, "198.18.2.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.2);
	add(t, 2, 0, "198.18.5.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.2)->flow_id = 1;
	add(t, 3, 0, "198.18.9.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.3);
	add(t, 3, 0, "198.18.9.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.3)->flow_id = 1;
	add(t, 4, 0, dst, HW_REPLY_UNREACH, 3, 3, 0.4);
	trace_hop(t, 2)->per_packet = true;
	struct hw_link l = {fx_addr("198.18.1.2"), fx_addr("198.18.2.2"), 1, false};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	l.to = fx_addr("198.18.5.2");
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	l = (struct hw_link){fx_addr("198.18.2.2"), fx_addr("198.18.9.2"), 2, true};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	struct hw_diamond d = {1, 3, fx_addr("198.18.1.2"), fx_addr("198.18.9.2"), 2, 2};
	assert_int_equal(trace_add_diamond(t, &d), HW_OK);
	t->stop_reason = HW_STOP_COMPLETED;
	t->stop_ttl = 4;
	trace_truncate(t, 4);
	t->start_unix_us = T0 + 2000;
	t->duration_ms = 7.5;
	return t;
}

static struct hw_run *new_run(uint64_t start, const char *tag, const char *options)
{
	struct hw_run *run = run_new();
	assert_non_null(run);
	run->start_unix_us = start;
	run->vantage = strdup("vp-1");
	run->tool_version = strdup("hopwatch test");
	run->tag = tag != NULL ? strdup(tag) : NULL;
	run->options = options != NULL ? strdup(options) : NULL;
	return run;
}

static void put(struct hw_run *run, struct hw_trace *t)
{
	assert_int_equal(run_add_trace(run, t), HW_OK);
}

#define OPTS_A "method=udp dport=33434 flow=0 first=1 max=30 q=3 multipath=none"
#define OPTS_B "method=icmp dport=0 flow=0 first=1 max=30 q=3 multipath=none"

/* Replies, MPLS, a named target, a network, multipath, an unreached destination. */
static struct hw_run *rich_run(void)
{
	struct hw_run *run = new_run(T0, "nightly", OPTS_A);
	struct hw_trace *a = paris_trace("198.18.3.2", 0, 2, true);
	a->target = strdup("www.example.net");
	put(run, a);
	struct hw_trace *b = paris_trace("198.51.100.1", 0, 3, false);
	b->target = strdup("198.51.100.0/22");
	b->network = strdup("198.51.100.0/24");
	/* Annotation: kept in full (the binary encoding carries it). */
	fx_info(b, "198.18.1.1", "r1.example.net", HW_LOOKUP_OK, NULL, 0, NULL, HW_LOOKUP_NONE);
	put(run, b);
	put(run, mp_trace("198.18.9.9"));
	return run;
}

/* The run watches two ASes (trace --transit): a run-level field beside the head columns. */
static struct hw_run *with_transit(struct hw_run *run)
{
	run->transit = calloc(2, sizeof(*run->transit));
	assert_non_null(run->transit);
	run->transit[0] = 4837;
	run->transit[1] = 131279;
	run->n_transit = 2;
	return run;
}

static char *json_of(const struct hw_run *run)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(json_write_run(run, f), HW_OK);
	fclose(f);
	return buf;
}

static hw_store_t *open_ok(const char *path, unsigned flags)
{
	char err[512];
	int status = 1;
	hw_store_t *s = store_open(path, flags, &status, err, sizeof(err));
	if (s == NULL)
		fail_msg("store_open(%s): %d %s", path, status, err);
	assert_int_equal(status, HW_OK);
	return s;
}

static int64_t save(hw_store_t *s, const struct hw_run *run)
{
	int64_t id = 0;
	int rc = store_save_run(s, run, &id);
	if (rc != HW_OK)
		fail_msg("store_save_run: %d %s", rc, store_errmsg(s));
	assert_true(id > 0);
	return id;
}

static struct hw_run *load(hw_store_t *s, int64_t id)
{
	struct hw_run *run = NULL;
	int rc = store_load_run(s, id, &run);
	if (rc != HW_OK)
		fail_msg("store_load_run(%" PRId64 "): %d %s", id, rc, store_errmsg(s));
	return run;
}

/* ---- round trip ---- */

static void test_round_trip(void **state)
{
	struct scratch *sc = *state;
	hw_store_t *s = open_ok(sc->path, HW_STORE_CREATE);
	assert_int_equal(store_schema_version(s), HW_STORE_SCHEMA);
	struct hw_run *run = with_transit(rich_run());
	int64_t id = save(s, run);
	struct hw_run *back = load(s, id);
	assert_int_equal(back->id, id);
	assert_string_equal(back->tag, "nightly");
	assert_string_equal(back->options, OPTS_A);
	assert_int_equal(back->n_transit, 2);
	assert_int_equal(back->transit[1], 131279);
	assert_int_equal(back->n_traces, 3);
	assert_string_equal(back->traces[1]->network, "198.51.100.0/24");
	assert_int_equal(back->traces[0]->hops[1].replies[0].n_mpls, 2);
	assert_int_equal(back->traces[0]->hops[1].replies[0].mpls[1].label, 24005);
	assert_int_equal(back->traces[2]->n_links, 3);
	assert_int_equal(back->traces[2]->n_diamonds, 1);
	assert_true(back->traces[2]->hops[1].per_packet);
	assert_int_equal(back->traces[1]->n_infos, 1);
	assert_string_equal(back->traces[1]->infos[0].name, "r1.example.net");
	assert_int_equal(back->traces[1]->infos[0].name_status, HW_LOOKUP_OK);
	/* The same document as the run it came from: everything the JSON carries. */
	char *want = json_of(run), *got = json_of(back);
	assert_string_equal(got, want);
	free(got);
	run_free(back);

	/* And again from another handle, after the first is gone. */
	store_close(s);
	s = open_ok(sc->path, 0);
	back = load(s, id);
	got = json_of(back);
	assert_string_equal(got, want);
	free(got);
	free(want);
	run_free(back);
	assert_int_equal(store_load_run(s, id + 1, &back), HW_STORE_ERR_NOTFOUND);
	assert_null(back);
	assert_non_null(strstr(store_errmsg(s), "no run"));
	run_free(run);
	store_close(s);
}

static void test_open_missing(void **state)
{
	struct scratch *sc = *state;
	char err[512];
	int status = 0;
	assert_null(store_open(sc->path, 0, &status, err, sizeof(err)));
	assert_int_equal(status, HW_STORE_ERR_NOTFOUND);
	assert_non_null(strstr(err, sc->path));
	assert_null(store_open(sc->path, HW_STORE_READONLY, &status, err, sizeof(err)));
	assert_int_equal(status, HW_STORE_ERR_NOTFOUND);
	assert_int_equal(access(sc->path, F_OK), -1); /* nothing created */
	char dir[160];
	snprintf(dir, sizeof(dir), "%s/no/such/dir/runs.db", sc->dir);
	assert_null(store_open(dir, HW_STORE_CREATE, &status, err, sizeof(err)));
	assert_true(status < 0);
	/* A directory is not a store. */
	assert_null(store_open(sc->dir, HW_STORE_CREATE, &status, err, sizeof(err)));
	assert_int_equal(status, HW_STORE_ERR_NOTSTORE);
	assert_null(store_open(NULL, HW_STORE_CREATE, &status, err, sizeof(err)));
	assert_int_equal(status, HW_ERR_INVAL);
	assert_null(store_close(NULL));
}

/* ---- listing ---- */

struct listing {
	size_t n;
	int64_t ids[16];
	struct hw_run_summary first;
	char sources[128], method[16];
};

static int collect(void *arg, const struct hw_run_summary *r)
{
	struct listing *l = arg;
	if (l->n == 0) {
		l->first = *r;
		snprintf(l->sources, sizeof(l->sources), "%s", r->sources ? r->sources : "(null)");
		snprintf(l->method, sizeof(l->method), "%s", r->method ? r->method : "(null)");
		l->first.vantage = l->first.tool = l->first.tag = l->first.options = NULL;
	}
	if (l->n < 16)
		l->ids[l->n] = r->id;
	l->n++;
	return 0;
}

static struct listing list(hw_store_t *s, const struct hw_store_filter *f)
{
	struct listing l;
	memset(&l, 0, sizeof(l));
	int rc = store_list_runs(s, f, collect, &l);
	if (rc != HW_OK)
		fail_msg("store_list_runs: %d %s", rc, store_errmsg(s));
	return l;
}

static int stop_at_two(void *arg, const struct hw_run_summary *r)
{
	(void)r;
	return ++*(int *)arg == 2 ? 7 : 0;
}

static void test_list_filters(void **state)
{
	struct scratch *sc = *state;
	hw_store_t *s = open_ok(sc->path, HW_STORE_CREATE);
	/* Saved out of time order: listings go by start time. */
	struct hw_run *r1 = rich_run();                       /* T0, nightly */
	struct hw_run *r2 = new_run(T0 + 2 * HOUR_US, NULL, OPTS_B);
	struct hw_trace *t = paris_trace("198.18.3.2", 0, 2, true);
	t->method = HW_METHOD_ICMP;
	t->src = fx_addr("198.18.0.3");
	put(r2, t);
	struct hw_run *r3 = new_run(T0 + HOUR_US, "nightly", OPTS_A);
	put(r3, paris_trace("203.0.113.9", 0, 2, false));
	int64_t id1 = save(s, r1), id2 = save(s, r2), id3 = save(s, r3);

	struct listing l = list(s, NULL);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.ids[0], id2);
	assert_int_equal(l.ids[1], id3);
	assert_int_equal(l.ids[2], id1);
	assert_int_equal(l.first.start_unix_us, T0 + 2 * HOUR_US);
	assert_int_equal(l.first.n_traces, 1);
	assert_int_equal(l.first.n_completed, 1);
	assert_string_equal(l.sources, "198.18.0.3");
	assert_string_equal(l.method, "icmp");

	struct hw_store_filter f = {.tag = "nightly"};
	l = list(s, &f);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.ids[0], id3);
	assert_int_equal(l.ids[1], id1);
	f = (struct hw_store_filter){.target = "198.18.3.2"}; /* a destination */
	l = list(s, &f);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.ids[0], id2);
	assert_int_equal(l.ids[1], id1);
	assert_int_equal(l.first.n_completed, 1);
	f.target = "www.example.net"; /* a target name */
	l = list(s, &f);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ids[0], id1);
	assert_int_equal(l.first.n_traces, 3);
	assert_int_equal(l.first.n_completed, 2);
	assert_string_equal(l.method, "udp");
	f.target = "198.51.100.0/24"; /* a network */
	l = list(s, &f);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ids[0], id1);
	f.target = "198.51.100.0/22"; /* the prefix the user gave */
	assert_int_equal(list(s, &f).n, 1);
	f.target = "192.0.2.1";
	assert_int_equal(list(s, &f).n, 0);
	f = (struct hw_store_filter){.since_unix_us = T0 + HOUR_US};
	l = list(s, &f);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.ids[1], id3);
	f.tag = "nightly";
	l = list(s, &f);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ids[0], id3);
	f = (struct hw_store_filter){.limit = 1};
	l = list(s, &f);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ids[0], id2);
	int seen = 0;
	assert_int_equal(store_list_runs(s, NULL, stop_at_two, &seen), 7);
	assert_int_equal(seen, 2);
	run_free(r1);
	run_free(r2);
	run_free(r3);
	store_close(s);
}

static void test_latest(void **state)
{
	struct scratch *sc = *state;
	hw_store_t *s = open_ok(sc->path, HW_STORE_CREATE);
	int64_t id;
	assert_int_equal(store_latest(s, 0, &id), HW_STORE_ERR_NOTFOUND);
	int64_t ids[4];
	/* Start times 3, 1, 2, 2 hours: equal times fall back to the higher id. */
	static const unsigned hours[4] = {3, 1, 2, 2};
	for (int i = 0; i < 4; i++) {
		struct hw_run *r = new_run(T0 + hours[i] * HOUR_US, NULL, OPTS_A);
		put(r, paris_trace("198.18.3.2", 0, 1, true));
		ids[i] = save(s, r);
		run_free(r);
	}
	static const int order[4] = {0, 3, 2, 1};
	for (unsigned n = 0; n < 4; n++) {
		assert_int_equal(store_latest(s, n, &id), HW_OK);
		assert_int_equal(id, ids[order[n]]);
	}
	assert_int_equal(store_latest(s, 4, &id), HW_STORE_ERR_NOTFOUND);
	assert_non_null(strstr(store_errmsg(s), "latest~4"));
	store_close(s);
}

/* ---- comparable runs ---- */

static int64_t save_targets(hw_store_t *s, unsigned hour, const char *options, const char *a,
			    const char *b, uint16_t flow)
{
	struct hw_run *r = new_run(T0 + hour * HOUR_US, NULL, options);
	put(r, paris_trace(a, flow, 2, true));
	if (b != NULL)
		put(r, paris_trace(b, flow, 2, hour % 2 == 0));
	int64_t id = save(s, r);
	run_free(r);
	return id;
}

static void test_comparable(void **state)
{
	struct scratch *sc = *state;
	hw_store_t *s = open_ok(sc->path, HW_STORE_CREATE);
	int64_t older, newer;
	assert_int_equal(store_find_comparable(s, &older, &newer), HW_STORE_ERR_NOTFOUND);
	int64_t a = save_targets(s, 1, OPTS_A, "198.18.3.2", "198.18.4.2", 0);
	assert_int_equal(store_find_comparable(s, &older, &newer), HW_STORE_ERR_NOTFOUND);
	/* The same targets in another order, other results: comparable. */
	int64_t b = save_targets(s, 2, OPTS_A, "198.18.4.2", "198.18.3.2", 0);
	int64_t c = save_targets(s, 3, OPTS_B, "198.18.3.2", "198.18.4.2", 0); /* options */
	int64_t d = save_targets(s, 4, OPTS_A, "198.18.3.2", NULL, 0);         /* targets */
	int64_t e = save_targets(s, 5, OPTS_A, "198.18.3.2", "198.18.4.2", 7); /* flow ids */
	assert_int_equal(store_find_comparable(s, &older, &newer), HW_OK);
	assert_int_equal(older, a);
	assert_int_equal(newer, b);
	assert_int_equal(store_comparable(s, a, b), 1);
	assert_int_equal(store_comparable(s, a, c), 0);
	assert_int_equal(store_comparable(s, a, d), 0);
	assert_int_equal(store_comparable(s, a, e), 0);
	assert_int_equal(store_comparable(s, a, 999), HW_STORE_ERR_NOTFOUND);
	/* A newer run like d: now (d, f) is the newest pair, a run like b further skips a. */
	int64_t f = save_targets(s, 6, OPTS_A, "198.18.3.2", NULL, 0);
	assert_int_equal(store_find_comparable(s, &older, &newer), HW_OK);
	assert_int_equal(older, d);
	assert_int_equal(newer, f);
	int64_t g = save_targets(s, 7, OPTS_A, "198.18.3.2", "198.18.4.2", 0);
	assert_int_equal(store_find_comparable(s, &older, &newer), HW_OK);
	assert_int_equal(older, b);
	assert_int_equal(newer, g);
	/* A name target compares by its name, whatever address it had. */
	struct hw_run *r1 = new_run(T0 + 8 * HOUR_US, NULL, OPTS_A);
	struct hw_trace *t = paris_trace("198.18.3.2", 0, 2, true);
	t->target = strdup("www.example.net");
	put(r1, t);
	struct hw_run *r2 = new_run(T0 + 9 * HOUR_US, NULL, OPTS_A);
	t = paris_trace("198.18.7.7", 0, 2, true);
	t->target = strdup("www.example.net");
	put(r2, t);
	int64_t h = save(s, r1), i = save(s, r2);
	assert_int_equal(store_find_comparable(s, &older, &newer), HW_OK);
	assert_int_equal(older, h);
	assert_int_equal(newer, i);
	run_free(r1);
	run_free(r2);
	store_close(s);
}

/* ---- runs that never finish ---- */

static void test_abort_and_spool(void **state)
{
	struct scratch *sc = *state;
	hw_store_t *s = open_ok(sc->path, HW_STORE_CREATE);
	struct hw_run *run = rich_run();
	assert_int_equal(store_add_trace(s, run->traces[0]), HW_ERR_INVAL); /* no run begun */
	assert_int_equal(store_begin_run(s, run), HW_OK);
	assert_int_equal(store_begin_run(s, run), HW_ERR_INVAL); /* one at a time */
	assert_int_equal(store_add_trace(s, run->traces[0]), HW_OK);
	store_abort_run(s);
	assert_int_equal(list(s, NULL).n, 0);
	store_abort_run(s); /* none begun: fine */

	/* Two handles with runs open at once: neither blocks the other. */
	hw_store_t *s2 = open_ok(sc->path, 0);
	assert_int_equal(store_begin_run(s, run), HW_OK);
	assert_int_equal(store_begin_run(s2, run), HW_OK);
	for (size_t i = 0; i < run->n_traces; i++) {
		assert_int_equal(store_add_trace(s, run->traces[i]), HW_OK);
		assert_int_equal(store_add_trace(s2, run->traces[run->n_traces - 1 - i]), HW_OK);
	}
	/* Readers see nothing of a run before its commit. */
	assert_int_equal(list(s2, NULL).n, 0);
	int64_t id2, id1;
	assert_int_equal(store_commit_run(s2, &id2), HW_OK);
	assert_int_equal(store_commit_run(s, &id1), HW_OK);
	assert_int_equal(store_commit_run(s, &id1), HW_ERR_INVAL); /* over */
	struct hw_run *back = load(s, id2);
	assert_int_equal(back->n_traces, 3);
	assert_int_equal(back->traces[0]->multipath, HW_MULTIPATH_LITE); /* added order */
	run_free(back);
	back = load(s2, id1);
	assert_int_equal(back->traces[0]->multipath, HW_MULTIPATH_NONE);
	run_free(back);

	/* A handle closed in the middle of a run stores nothing of it. */
	assert_int_equal(store_begin_run(s2, run), HW_OK);
	assert_int_equal(store_add_trace(s2, run->traces[0]), HW_OK);
	store_close(s2);
	assert_int_equal(list(s, NULL).n, 2);

	/* A read-only handle never writes. */
	s2 = open_ok(sc->path, HW_STORE_READONLY);
	assert_int_equal(store_begin_run(s2, run), HW_ERR_INVAL);
	assert_int_equal(list(s2, NULL).n, 2);
	store_close(s2);

	/* A trace the JSON schema refuses fails the run; nothing is stored. */
	assert_int_equal(store_begin_run(s, run), HW_OK);
	struct hw_trace *bad = paris_trace("198.18.3.2", 0, 1, true);
	bad->duration_ms = -1;
	assert_int_equal(store_add_trace(s, bad), HW_ERR_INVAL);
	assert_int_equal(store_add_trace(s, run->traces[0]), HW_ERR_INVAL);
	assert_int_equal(store_commit_run(s, &id1), HW_ERR_INVAL);
	assert_int_equal(list(s, NULL).n, 2);
	trace_free(bad);
	run_free(run);
	store_close(s);
}

/* ---- files refused and left alone ---- */

struct snapshot {
	char *bytes;
	size_t len;
	struct timespec mtime;
};

static struct snapshot snap(const char *path)
{
	struct snapshot s = {0};
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	s.mtime = sb.st_mtim;
	s.len = (size_t)sb.st_size;
	s.bytes = malloc(s.len + 1);
	assert_non_null(s.bytes);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(s.bytes, 1, s.len, f), s.len);
	fclose(f);
	return s;
}

static void assert_untouched(const char *path, struct snapshot *before)
{
	struct snapshot now = snap(path);
	assert_int_equal(now.len, before->len);
	assert_memory_equal(now.bytes, before->bytes, now.len);
	assert_int_equal(now.mtime.tv_sec, before->mtime.tv_sec);
	assert_int_equal(now.mtime.tv_nsec, before->mtime.tv_nsec);
	char side[256];
	static const char *const sides[] = {"-wal", "-shm", "-journal"};
	for (int i = 0; i < 3; i++) {
		snprintf(side, sizeof(side), "%s%s", path, sides[i]);
		assert_int_equal(access(side, F_OK), -1);
	}
	free(now.bytes);
	free(before->bytes);
}

/* Opens path (which must be refused with `want`), whose reason must mention `says`. */
static void assert_refused(const char *path, unsigned flags, int want, const char *says)
{
	char err[512];
	int status = 0;
	struct snapshot before = snap(path);
	hw_store_t *s = store_open(path, flags, &status, err, sizeof(err));
	if (s != NULL)
		fail_msg("%s was not refused", path);
	assert_int_equal(status, want);
	if (strstr(err, says) == NULL)
		fail_msg("'%s' does not say '%s'", err, says);
	assert_non_null(strstr(err, path));
	assert_untouched(path, &before);
}

static void write_file(const char *path, const void *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	/* An old mtime: a rewrite would show even within one clock tick. */
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
}

/* A plain SQLite database, rollback journal, built with SQL. */
static void make_db(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("fixture: %s", msg);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* A store of ours, checkpointed and back in rollback mode: everything in the one file. */
static void make_store(const char *path, unsigned runs)
{
	hw_store_t *s = open_ok(path, HW_STORE_CREATE);
	for (unsigned i = 0; i < runs; i++) {
		struct hw_run *r = rich_run();
		save(s, r);
		run_free(r);
	}
	store_close(s);
	make_db(path, "PRAGMA journal_mode = DELETE");
}

static void test_not_sqlite(void **state)
{
	struct scratch *sc = *state;
	static const char text[] =
		"This is somebody's notes file, not a database. It is long enough to hold a "
		"whole SQLite header, so only the magic string tells.\n";
	write_file(sc->path, text, sizeof(text) - 1);
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NOTSTORE, "not an SQLite database");
	assert_refused(sc->path, 0, HW_STORE_ERR_NOTSTORE, "not an SQLite database");
	write_file(sc->path, "SQLite", 6); /* shorter than a header */
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NOTSTORE, "not an SQLite database");
	/* The magic, then garbage: a damaged page size. */
	char junk[4096];
	memset(junk, 0xa5, sizeof(junk));
	memcpy(junk, "SQLite format 3", 16);
	junk[16] = 0x03, junk[17] = 0x00; /* 768: not a power of two */
	write_file(sc->path, junk, sizeof(junk));
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NOTSTORE, "damaged");
}

static void test_foreign_sqlite(void **state)
{
	struct scratch *sc = *state;
	make_db(sc->path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
			  "INSERT INTO notes (body) VALUES ('keep me');");
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	assert_int_equal(utimensat(AT_FDCWD, sc->path, old, 0), 0);
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NOTSTORE, "not a hopwatch store");
	/* Another program's application id: refused from the header alone. */
	make_db(sc->path, "PRAGMA application_id = 1234");
	assert_int_equal(utimensat(AT_FDCWD, sc->path, old, 0), 0);
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NOTSTORE, "another program");
}

static void test_truncated_and_corrupt(void **state)
{
	struct scratch *sc = *state;
	make_store(sc->path, 6);
	struct snapshot whole = snap(sc->path);
	assert_true(whole.len >= 8 * 4096);
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};

	/* Cut at a page boundary: fewer pages than the header announces. */
	write_file(sc->path, whole.bytes, whole.len / 2 / 4096 * 4096);
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NOTSTORE, "truncated");
	/* Cut mid-page. */
	write_file(sc->path, whole.bytes, whole.len - 1000);
	assert_refused(sc->path, 0, HW_STORE_ERR_NOTSTORE, "truncated");

	/* Page 1 past the header (the schema) overwritten. */
	char *bad = malloc(whole.len);
	assert_non_null(bad);
	memcpy(bad, whole.bytes, whole.len);
	memset(bad + 100, 0x5a, 4096 - 100);
	write_file(sc->path, bad, whole.len);
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NOTSTORE, sc->path);

	/* A damaged inner page: found before the first write (the switch to WAL). */
	memcpy(bad, whole.bytes, whole.len);
	memset(bad + whole.len - 2 * 4096, 0x5a, 4096);
	write_file(sc->path, bad, whole.len);
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NOTSTORE, "damaged");
	free(bad);

	/* The intact file still opens and holds its runs. */
	write_file(sc->path, whole.bytes, whole.len);
	assert_int_equal(utimensat(AT_FDCWD, sc->path, old, 0), 0);
	hw_store_t *s = open_ok(sc->path, 0);
	assert_int_equal(list(s, NULL).n, 6);
	store_close(s);
	free(whole.bytes);
}

static void test_newer_refused(void **state)
{
	struct scratch *sc = *state;
	make_store(sc->path, 1);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", HW_STORE_SCHEMA + 1);
	make_db(sc->path, sql);
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	assert_int_equal(utimensat(AT_FDCWD, sc->path, old, 0), 0);
	assert_refused(sc->path, HW_STORE_CREATE, HW_STORE_ERR_NEWER, "newer than this hopwatch");
	assert_refused(sc->path, HW_STORE_READONLY, HW_STORE_ERR_NEWER, "use a newer hopwatch");
	/* Newer, but only in a WAL not yet checkpointed: SQLite tells, still nothing written. */
	assert_int_equal(unlink(sc->path), 0);
	make_store(sc->path, 1);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(sc->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;",
				      NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	char err[512];
	int status = 0;
	/* The other connection stays open: its WAL is the only place the version is. */
	assert_null(store_open(sc->path, 0, &status, err, sizeof(err)));
	assert_int_equal(status, HW_STORE_ERR_NEWER);
	sqlite3_close(db);
}

/* ---- migration ---- */

/* What a version-1 hopwatch wrote, spelled out here: the fixture must not follow the code. */
static const char V1_SCHEMA[] =
	"PRAGMA application_id = 1213690740;" /* 0x48577374, "HWst" */
	"PRAGMA journal_mode = WAL;"
	"CREATE TABLE runs (id INTEGER PRIMARY KEY, start_us INTEGER NOT NULL, vantage TEXT,"
	" sources TEXT, tool TEXT, tag TEXT, options TEXT, method TEXT,"
	" n_traces INTEGER NOT NULL, n_completed INTEGER NOT NULL);"
	"CREATE TABLE traces (run_id INTEGER NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL,"
	" target TEXT, network TEXT, dst TEXT NOT NULL, src TEXT, flow_id INTEGER NOT NULL,"
	" stop_reason TEXT NOT NULL, doc TEXT NOT NULL);"
	"CREATE UNIQUE INDEX traces_run ON traces(run_id, idx);"
	"CREATE INDEX traces_target ON traces(target);"
	"CREATE INDEX traces_network ON traces(network);"
	"CREATE INDEX traces_dst ON traces(dst);"
	"CREATE INDEX runs_start ON runs(start_us);"
	"PRAGMA user_version = 1;";

/*
 * Writes a run the way version 1 did (each trace a JSON document), or version 3 (each
 * trace its binary encoding), straight into the fixture.
 */
static void insert_as(sqlite3 *db, const struct hw_run *run, int version)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO runs (start_us, vantage, sources, tool, "
					    "tag, options, method, n_traces, n_completed) VALUES "
					    "(?, ?, '198.18.0.2', ?, ?, ?, 'udp', ?, 0)", -1, &st,
					    NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, (int64_t)run->start_unix_us);
	sqlite3_bind_text(st, 2, run->vantage, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, run->tool_version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, run->tag, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, run->options, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)run->n_traces);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	int64_t id = sqlite3_last_insert_rowid(db);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO traces VALUES (?, ?, ?, ?, ?, "
					    "'198.18.0.2', ?, 'completed', ?)", -1, &st, NULL),
			 SQLITE_OK);
	for (size_t i = 0; i < run->n_traces; i++) {
		const struct hw_trace *t = run->traces[i];
		char dst[HW_ADDRSTRLEN], *doc;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		sqlite3_bind_text(st, 3, t->target, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, t->network, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, hw_addr_str(&t->dst, dst, sizeof(dst)), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 6, t->flow_id);
		if (version < 3) {
			assert_int_equal(json_trace_dump(t, &doc), HW_OK);
			sqlite3_bind_text(st, 7, doc, -1, free);
		} else {
			uint8_t *bin;
			size_t len;
			assert_int_equal(tracebin_encode(t, &bin, &len, NULL, 0), HW_OK);
			sqlite3_bind_blob(st, 7, bin, (int)len, free);
		}
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

static void v1_insert(sqlite3 *db, const struct hw_run *run)
{
	insert_as(db, run, 1);
}

static void test_migration_v1(void **state)
{
	struct scratch *sc = *state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(sc->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, V1_SCHEMA, NULL, NULL, NULL), SQLITE_OK);
	struct hw_run *r1 = rich_run(), *r2 = rich_run(), *other = new_run(T0 + 5, NULL, OPTS_B);
	r2->start_unix_us = T0 + HOUR_US;
	put(other, paris_trace("198.18.3.2", 0, 2, true));
	v1_insert(db, r1);
	v1_insert(db, r2);
	v1_insert(db, other);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	/* Read-only, it cannot be migrated: said so, and left alone. */
	char err[512];
	int status = 0;
	assert_null(store_open(sc->path, HW_STORE_READONLY, &status, err, sizeof(err)));
	if (status != HW_STORE_ERR_OLDER)
		fail_msg("%d %s", status, err);
	assert_non_null(strstr(err, "version 1"));

	hw_store_t *s = open_ok(sc->path, 0);
	assert_int_equal(store_schema_version(s), HW_STORE_SCHEMA);
	assert_int_equal(list(s, NULL).n, 3);
	int64_t older, newer;
	assert_int_equal(store_find_comparable(s, &older, &newer), HW_OK);
	assert_int_equal(older, 1);
	assert_int_equal(newer, 2);
	struct hw_run *back = load(s, 2);
	char *want = json_of(r2), *got = json_of(back);
	assert_string_equal(got, want);
	free(want);
	free(got);
	run_free(back);
	/* The migrated key is the key a new run gets: a run saved now compares with them. */
	r1->start_unix_us = T0 + 2 * HOUR_US;
	int64_t id = save(s, r1);
	assert_int_equal(store_comparable(s, 1, id), 1);
	assert_int_equal(store_comparable(s, 3, id), 0);
	assert_int_equal(store_find_comparable(s, &older, &newer), HW_OK);
	assert_int_equal(older, 2);
	assert_int_equal(newer, id);
	store_close(s);

	/* Migrated for good: the file says the current version, and opens read-only now. */
	assert_int_equal(sqlite3_open(sc->path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), HW_STORE_SCHEMA);
	sqlite3_finalize(st);
	sqlite3_close(db);
	s = open_ok(sc->path, HW_STORE_READONLY);
	assert_int_equal(list(s, NULL).n, 4);
	store_close(s);
	run_free(r1);
	run_free(r2);
	run_free(other);
}

/* What version 2 added to version 1, spelled out here too. */
static const char V2_ADDS[] =
	"ALTER TABLE runs ADD COLUMN compare_key TEXT;"
	"CREATE INDEX runs_compare ON runs(compare_key, start_us);"
	"PRAGMA user_version = 2;";

/* A version-2 store holding runs (JSON documents), in rollback-journal mode. */
static void make_v2(const char *path, struct hw_run **runs, size_t n)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, V1_SCHEMA, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, V2_ADDS, NULL, NULL, NULL), SQLITE_OK);
	for (size_t i = 0; i < n; i++)
		v1_insert(db, runs[i]);
	/* Keys as version 2 left them: the migration must keep them as they are. */
	assert_int_equal(sqlite3_exec(db, "UPDATE runs SET compare_key = 'key-' || "
				      "coalesce(options, '') || '-' || n_traces;"
				      "PRAGMA journal_mode = DELETE;", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* One text column of one row, malloc'ed ("" for none). */
static char *sql_text(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	int step = sqlite3_step(st);
	const unsigned char *t = step == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	char *out = strdup(t != NULL ? (const char *)t : "");
	assert_non_null(out);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void assert_sql(const char *path, const char *sql, const char *want)
{
	char *got = sql_text(path, sql);
	if (strcmp(got, want) != 0)
		fail_msg("%s: '%s', wanted '%s'", sql, got, want);
	free(got);
}

static void test_migration_v2(void **state)
{
	struct scratch *sc = *state;
	struct hw_run *runs[3] = {rich_run(), rich_run(), new_run(T0 + 5, NULL, OPTS_B)};
	runs[1]->start_unix_us = T0 + HOUR_US;
	put(runs[2], paris_trace("198.18.7.7", 3, 4, false));
	make_v2(sc->path, runs, 3);
	char *keys = sql_text(sc->path, "SELECT group_concat(compare_key, ' ') FROM "
			      "(SELECT compare_key FROM runs ORDER BY id)");

	hw_store_t *s = open_ok(sc->path, 0);
	assert_int_equal(store_schema_version(s), HW_STORE_SCHEMA);
	for (int64_t id = 1; id <= 3; id++) {
		struct hw_run *back = load(s, id);
		char *want = json_of(runs[id - 1]), *got = json_of(back);
		assert_string_equal(got, want);
		free(want);
		free(got);
		run_free(back);
	}
	/* Listings by target still go through the rebuilt indexes. */
	struct hw_store_filter f = {.target = "198.18.7.7"};
	assert_int_equal(list(s, &f).n, 1);
	f.target = "198.51.100.0/24";
	assert_int_equal(list(s, &f).n, 2);
	/* New runs go in beside the migrated ones, with every run-level field. */
	struct hw_run *more = with_transit(rich_run());
	more->start_unix_us = T0 + 2 * HOUR_US;
	int64_t id = save(s, more);
	struct hw_run *back = load(s, id);
	char *want = json_of(more), *got = json_of(back);
	assert_string_equal(got, want);
	free(want);
	free(got);
	run_free(back);
	run_free(more);
	store_close(s);

	assert_sql(sc->path, "PRAGMA user_version", "4");
	assert_sql(sc->path, "SELECT group_concat(name || ':' || type, ' ') FROM "
		   "pragma_table_info('traces') WHERE name IN ('doc', 'bin')", "bin:BLOB");
	/* The migrated runs have no head document (their columns held all they had). */
	assert_sql(sc->path, "SELECT count(*) FROM runs WHERE head IS NULL", "3");
	assert_sql(sc->path, "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master "
		   "WHERE tbl_name = 'traces' AND type = 'index' ORDER BY name)",
		   "traces_dst traces_network traces_run traces_target");
	/* Magic "HWtr" and the encoding version this library writes. */
	char want_bin[128];
	snprintf(want_bin, sizeof(want_bin), "SELECT count(*) FROM traces WHERE "
		 "hex(substr(bin, 1, 5)) = '48577472%02X'", HW_TRACEBIN_VERSION);
	assert_sql(sc->path, want_bin, "10");
	char *after = sql_text(sc->path, "SELECT group_concat(compare_key, ' ') FROM "
			       "(SELECT compare_key FROM runs WHERE id <= 3 ORDER BY id)");
	assert_string_equal(after, keys);
	free(after);
	free(keys);
	for (int i = 0; i < 3; i++)
		run_free(runs[i]);
}

/* What version 3 made of version 2's traces table, spelled out here too. */
static const char V3_TRACES[] =
	"DROP TABLE traces;"
	"CREATE TABLE traces (run_id INTEGER NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL,"
	" target TEXT, network TEXT, dst TEXT NOT NULL, src TEXT, flow_id INTEGER NOT NULL,"
	" stop_reason TEXT NOT NULL, bin BLOB NOT NULL);"
	"CREATE UNIQUE INDEX traces_run ON traces(run_id, idx);"
	"CREATE INDEX traces_target ON traces(target);"
	"CREATE INDEX traces_network ON traces(network);"
	"CREATE INDEX traces_dst ON traces(dst);"
	"PRAGMA user_version = 3;";

/*
 * A version-3 store (binary traces, no runs.head) reads as it is when opened read-only,
 * and a writable open adds runs.head: the old runs load as before, new ones keep transit.
 */
static void test_migration_v3(void **state)
{
	struct scratch *sc = *state;
	struct hw_run *runs[2] = {rich_run(), new_run(T0 + 5, NULL, OPTS_B)};
	put(runs[1], paris_trace("198.18.7.7", 3, 4, false));
	sqlite3 *db;
	assert_int_equal(sqlite3_open(sc->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, V1_SCHEMA, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, V2_ADDS, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, V3_TRACES, NULL, NULL, NULL), SQLITE_OK);
	for (size_t i = 0; i < 2; i++)
		insert_as(db, runs[i], 3);
	assert_int_equal(sqlite3_exec(db, "UPDATE runs SET compare_key = 'k' || id", NULL, NULL,
				      NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	for (int pass = 0; pass < 2; pass++) {
		/* Read-only first (left at version 3), then writable (migrated to 4). */
		hw_store_t *s = open_ok(sc->path, pass == 0 ? HW_STORE_READONLY : 0);
		assert_int_equal(store_schema_version(s), pass == 0 ? 3 : HW_STORE_SCHEMA);
		for (int64_t id = 1; id <= 2; id++) {
			struct hw_run *back = load(s, id);
			char *want = json_of(runs[id - 1]), *got = json_of(back);
			assert_string_equal(got, want);
			free(want);
			free(got);
			run_free(back);
		}
		store_close(s);
		assert_sql(sc->path, "PRAGMA user_version", pass == 0 ? "3" : "4");
	}
	hw_store_t *s = open_ok(sc->path, 0);
	struct hw_run *more = with_transit(rich_run());
	int64_t id = save(s, more);
	struct hw_run *back = load(s, id);
	char *want = json_of(more), *got = json_of(back);
	assert_string_equal(got, want);
	assert_non_null(strstr(got, "\"transit\""));
	free(want);
	free(got);
	run_free(back);
	run_free(more);
	store_close(s);
	assert_sql(sc->path, "SELECT group_concat(id || ':' || (head IS NULL), ' ') FROM runs",
		   "1:1 2:1 3:0");
	for (int i = 0; i < 2; i++)
		run_free(runs[i]);
}

/* A version-2 document that does not read stops the migration: nothing changes. */
static void test_migration_bad_doc(void **state)
{
	struct scratch *sc = *state;
	struct hw_run *runs[2] = {rich_run(), rich_run()};
	make_v2(sc->path, runs, 2);
	make_db(sc->path, "UPDATE traces SET doc = '{\"target\": 1}' WHERE run_id = 2 AND idx = 1");
	char err[512];
	int status = 0;
	assert_null(store_open(sc->path, 0, &status, err, sizeof(err)));
	assert_int_equal(status, HW_STORE_ERR_NOTSTORE);
	if (strstr(err, "run 2, trace 1") == NULL || strstr(err, "stays at version 2") == NULL ||
	    strstr(err, sc->path) == NULL)
		fail_msg("%s", err);
	assert_sql(sc->path, "PRAGMA user_version", "2");
	assert_sql(sc->path, "SELECT count(*) FROM traces WHERE doc IS NOT NULL", "6");
	assert_sql(sc->path, "SELECT count(*) FROM sqlite_master WHERE name = 'traces_v3'", "0");
	for (int i = 0; i < 2; i++)
		run_free(runs[i]);
}

/* A stored trace whose bytes were damaged: the load says which, and fails cleanly. */
static void test_damaged_trace(void **state)
{
	struct scratch *sc = *state;
	make_store(sc->path, 2);
	make_db(sc->path, "UPDATE traces SET bin = substr(bin, 1, 40) WHERE run_id = 2 AND idx = 2");
	hw_store_t *s = open_ok(sc->path, 0);
	struct hw_run *run = NULL;
	assert_int_equal(store_load_run(s, 2, &run), HW_ERR_TRUNCATED);
	assert_null(run);
	const char *why = store_errmsg(s);
	if (strstr(why, "run 2, trace 2: ") == NULL)
		fail_msg("%s", why);
	run = load(s, 1);
	run_free(run);
	store_close(s);
	make_db(sc->path, "UPDATE traces SET bin = CAST('{\"target\": null}' AS BLOB) WHERE run_id = 1");
	s = open_ok(sc->path, 0);
	assert_int_equal(store_load_run(s, 1, &run), HW_ERR_MALFORMED);
	assert_non_null(strstr(store_errmsg(s), "magic"));
	store_close(s);
}

/* A trace the encoding refuses (a NaN RTT) is refused when added, with the reason. */
static void test_refused_trace(void **state)
{
	struct scratch *sc = *state;
	hw_store_t *s = open_ok(sc->path, HW_STORE_CREATE);
	struct hw_run *run = rich_run();
	run->traces[1]->hops[1].replies[2].rtt_ms = 0.0 / 0.0;
	int64_t id = 0;
	assert_int_equal(store_save_run(s, run, &id), HW_ERR_INVAL);
	const char *why = store_errmsg(s);
	if (strstr(why, "a trace cannot be stored: hops[1].replies[2].rtt_ms") == NULL)
		fail_msg("%s", why);
	assert_int_equal(list(s, NULL).n, 0);
	run_free(run);
	store_close(s);
}

/* ---- several processes ---- */

#define WRITER_RUNS 30
#define TRACES_PER_RUN 12

/*
 * Run k of a writer, made the same way every time from (writer, k) alone: readers make it
 * again to check what they read. Each trace carries the run's mark in its target (a torn
 * run would show), and the paths depend on k (a trace from another run would not match).
 */
static struct hw_run *marked_run(unsigned writer, unsigned k)
{
	char mark[32];
	snprintf(mark, sizeof(mark), "w%u-r%u", writer, k);
	struct hw_run *r = new_run(T0 + (uint64_t)k * 1000, mark, OPTS_A);
	for (unsigned i = 0; i < TRACES_PER_RUN; i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "198.18.%u.%u", writer, i + 1);
		struct hw_trace *t = paris_trace(dst, (uint16_t)(k % 4), 2 + (i + k) % 7,
						 (i + k) % 3 != 0);
		t->start_unix_us += k * 100 + i;
		t->duration_ms = 10.0 + k + i / 8.0;
		t->target = strdup(mark);
		if (r == NULL || run_add_trace(r, t) != HW_OK)
			_exit(3);
	}
	return r;
}

/* A child process: saves runs in a loop; exit status 0, or what went wrong. */
static void writer(const char *path, unsigned id)
{
	char err[512];
	int status;
	hw_store_t *s = store_open(path, HW_STORE_CREATE, &status, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "writer %u: %s\n", id, err);
		_exit(1);
	}
	for (unsigned k = 0; k < WRITER_RUNS; k++) {
		struct hw_run *r = marked_run(id, k);
		int rc = store_save_run(s, r, NULL);
		run_free(r);
		if (rc != HW_OK) {
			fprintf(stderr, "writer %u run %u: %s\n", id, k, store_errmsg(s));
			_exit(2);
		}
	}
	store_close(s);
	_exit(0);
}

/* test_concurrency stores 2 * WRITER_RUNS, test_killed_writer at most 3 * WRITER_RUNS. */
#define MAX_LISTED (4 * WRITER_RUNS)

struct check_arg {
	int64_t ids[MAX_LISTED];
	size_t n;
	int problems;
};

/* Notes the runs listed (the callback must not use the store); a wrong summary is a problem. */
static int check_run(void *arg, const struct hw_run_summary *sum)
{
	struct check_arg *c = arg;
	c->problems += sum->n_traces != TRACES_PER_RUN || c->n == MAX_LISTED;
	if (c->n < MAX_LISTED)
		c->ids[c->n++] = sum->id;
	return 0;
}

/* 1 when a loaded run is not, trace for trace, the run its tag says a writer wrote. */
static int differs(const struct hw_run *got)
{
	unsigned w, k;
	if (got->tag == NULL || sscanf(got->tag, "w%u-r%u", &w, &k) != 2 || k >= WRITER_RUNS)
		return 1;
	struct hw_run *want = marked_run(w, k);
	int bad = want->n_traces != got->n_traces || want->start_unix_us != got->start_unix_us;
	for (size_t i = 0; !bad && i < want->n_traces; i++) {
		char *a = NULL, *b = NULL;
		bad = json_trace_dump(want->traces[i], &a) != HW_OK ||
		      json_trace_dump(got->traces[i], &b) != HW_OK || strcmp(a, b) != 0;
		free(a);
		free(b);
	}
	run_free(want);
	return bad;
}

/*
 * Every run listed loads whole, and is what its writer wrote (made again from its tag).
 * Runs up to *upto were checked before (a run never changes, and ids grow in commit
 * order): only the newer ones are loaded; *upto becomes the highest id checked.
 */
static int check_store(hw_store_t *s, int *problems, int64_t *upto)
{
	struct check_arg c;
	memset(&c, 0, sizeof(c));
	int rc = store_list_runs(s, NULL, check_run, &c);
	int64_t high = *upto;
	for (size_t i = 0; rc == HW_OK && i < c.n; i++) {
		struct hw_run *run = NULL;
		if (c.ids[i] <= *upto)
			continue;
		if ((rc = store_load_run(s, c.ids[i], &run)) == HW_OK)
			c.problems += differs(run);
		run_free(run);
		high = c.ids[i] > high ? c.ids[i] : high;
	}
	*upto = high;
	*problems += c.problems;
	return rc;
}

static void test_concurrency(void **state)
{
	struct scratch *sc = *state;
	store_close(open_ok(sc->path, HW_STORE_CREATE));
	pid_t w1 = fork();
	assert_true(w1 >= 0);
	if (w1 == 0)
		writer(sc->path, 1);
	pid_t w2 = fork();
	assert_true(w2 >= 0);
	if (w2 == 0)
		writer(sc->path, 2);
	/* Two readers: this process and a child, each with its own handle. */
	pid_t r = fork();
	assert_true(r >= 0);
	bool child = r == 0;
	hw_store_t *s = store_open(sc->path, 0, NULL, NULL, 0);
	int problems = 0, errors = 0, rounds = 0;
	int64_t upto = 0;
	for (;;) {
		int rc = s != NULL ? check_store(s, &problems, &upto) : HW_STORE_ERR_DB;
		if (rc != HW_OK) {
			fprintf(stderr, "reader: %d %s\n", rc, store_errmsg(s));
			errors++;
		}
		rounds++;
		struct hw_store_filter f = {.tag = "w1-r3"};
		struct listing l;
		memset(&l, 0, sizeof(l));
		if (s != NULL && store_list_runs(s, &f, collect, &l) == HW_OK && l.n > 1)
			problems++;
		int done = 0;
		if (!child) {
			done = w1 == -1 || waitpid(w1, NULL, WNOHANG) == w1;
			if (done)
				w1 = -1;
		} else if (rounds >= 200) {
			done = 1;
		}
		/* A few rounds at the least: on a loaded machine writer 1 may be done before
		 * the first round is. */
		if ((done || (!child && w1 == -1)) && rounds >= 3)
			break;
	}
	store_close(s);
	if (child)
		_exit(errors == 0 && problems == 0 ? 0 : 1);
	int st;
	assert_int_equal(waitpid(w2, &st, 0), w2);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(waitpid(r, &st, 0), r);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(errors, 0);
	assert_int_equal(problems, 0);
	/* writer 1's status: reaped in the loop; its runs and writer 2's all arrived. */
	s = open_ok(sc->path, 0);
	assert_int_equal(list(s, NULL).n, 2 * WRITER_RUNS);
	problems = 0;
	upto = 0;
	assert_int_equal(check_store(s, &problems, &upto), HW_OK);
	assert_int_equal(problems, 0);
	assert_int_equal(upto, 2 * WRITER_RUNS);
	store_close(s);
}

/* A writer killed (SIGKILL) at an arbitrary moment leaves whole runs and a sound file. */
static void test_killed_writer(void **state)
{
	struct scratch *sc = *state;
	store_close(open_ok(sc->path, HW_STORE_CREATE));
	for (int round = 0; round < 3; round++) {
		pid_t w = fork();
		assert_true(w >= 0);
		if (w == 0)
			writer(sc->path, 3);
		struct timespec nap = {0, 20000000L + round * 15000000L};
		nanosleep(&nap, NULL);
		kill(w, SIGKILL);
		int st;
		assert_int_equal(waitpid(w, &st, 0), w);
		hw_store_t *s = open_ok(sc->path, 0);
		int problems = 0;
		int64_t upto = 0;
		assert_int_equal(check_store(s, &problems, &upto), HW_OK);
		assert_int_equal(problems, 0);
		store_close(s);
		sqlite3 *db;
		assert_int_equal(sqlite3_open(sc->path, &db), SQLITE_OK);
		sqlite3_stmt *q;
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
		sqlite3_finalize(q);
		/* No trace without its run, no run short of its traces. */
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM runs r WHERE "
						    "n_traces != (SELECT count(*) FROM traces t WHERE "
						    "t.run_id = r.id)) + (SELECT count(*) FROM traces "
						    "WHERE run_id NOT IN (SELECT id FROM runs))", -1, &q,
						    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
}

/* ---- a store we cannot write ---- */

/*
 * In a child that cannot write the store (root: becomes nobody; anybody else: the modes
 * below keep their own files from them): how a writable and a read-only open fare, and
 * what the read-only one reads. Exit status 0, or the step that went wrong.
 */
static int reader_status(const char *path, size_t want_runs, const char *want_json,
			 const char *err_has)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		struct passwd *pw = getpwnam("nobody");
		if (geteuid() == 0 && (pw == NULL || setgid(pw->pw_gid) != 0 ||
				       setuid(pw->pw_uid) != 0))
			_exit(10);
		char err[512];
		int status = 0;
		hw_store_t *s = store_open(path, 0, &status, err, sizeof(err));
		if (s != NULL || status != HW_STORE_ERR_READONLY)
			_exit(11);
		s = store_open(path, HW_STORE_READONLY, &status, err, sizeof(err));
		if (err_has != NULL)
			_exit(s == NULL && strstr(err, err_has) != NULL ? 0 : 12);
		if (s == NULL) {
			fprintf(stderr, "read-only open: %d %s\n", status, err);
			_exit(13);
		}
		struct check_arg c;
		memset(&c, 0, sizeof(c));
		struct hw_run *run = NULL;
		if (store_list_runs(s, NULL, check_run, &c) != HW_OK || c.n != want_runs)
			_exit(14);
		if (store_load_run(s, 1, &run) != HW_OK)
			_exit(15);
		char *got = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&got, &len);
		if (f == NULL || json_write_run(run, f) != HW_OK || fclose(f) != 0 ||
		    strcmp(got, want_json) != 0)
			_exit(16);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void lock_out(const struct scratch *sc, bool locked)
{
	assert_int_equal(chmod(sc->dir, locked ? 0555 : 0700), 0);
	assert_int_equal(chmod(sc->path, locked ? 0444 : 0644), 0);
}

static bool exists(const char *path, const char *suffix)
{
	char p[256];
	struct stat sb;
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return stat(p, &sb) == 0;
}

/*
 * Another user's store (0644 in a 0755 directory; or ours with the write bits off) reads:
 * with no -wal, as the file is (nothing made next to it); with a writer's -wal and -shm,
 * through them, runs only the -wal holds included; a -wal without its -shm is refused
 * with a message saying so. A writable open is refused as read-only every time.
 */
static void test_readonly_store(void **state)
{
	struct scratch *sc = *state;
	hw_store_t *s = open_ok(sc->path, HW_STORE_CREATE);
	struct hw_run *run = with_transit(rich_run());
	save(s, run);
	save(s, run);
	store_close(s);
	char *want = json_of(run);
	assert_false(exists(sc->path, "-wal"));
	lock_out(sc, true);
	assert_int_equal(reader_status(sc->path, 2, want, NULL), 0);
	assert_false(exists(sc->path, "-wal"));
	assert_false(exists(sc->path, "-shm"));
	lock_out(sc, false);

	/* A writer that stopped after a commit (killed, or still running): its -wal holds a
	 * third run, the file does not yet. */
	pid_t w = fork();
	assert_true(w >= 0);
	if (w == 0) {
		hw_store_t *ws = store_open(sc->path, 0, NULL, NULL, 0);
		_exit(ws != NULL && store_save_run(ws, run, NULL) == HW_OK ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(w, &st, 0), w);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(exists(sc->path, "-wal") && exists(sc->path, "-shm"));
	lock_out(sc, true);
	assert_int_equal(reader_status(sc->path, 3, want, NULL), 0);
	char shm[160];
	snprintf(shm, sizeof(shm), "%s-shm", sc->path);
	lock_out(sc, false);
	assert_int_equal(unlink(shm), 0);
	lock_out(sc, true);
	assert_int_equal(reader_status(sc->path, 0, NULL, "-wal file holds runs"), 0);
	lock_out(sc, false);
	s = open_ok(sc->path, 0);
	assert_int_equal(list(s, NULL).n, 3);
	store_close(s);
	free(want);
	run_free(run);
}

/* ---- kill -9 inside the commit ---- */

/*
 * A writer killed inside its commit's transaction (HOPWATCH_TEST_COMMIT_PAUSE holds it
 * there, after its rows are written and before COMMIT): the earlier runs load as before,
 * the file is sound, no part of the killed run is there, and the next run stores.
 */
static void test_killed_in_commit(void **state)
{
	struct scratch *sc = *state;
	hw_store_t *s = open_ok(sc->path, HW_STORE_CREATE);
	struct hw_run *runs[2] = {with_transit(rich_run()), marked_run(4, 1)};
	char *before[2];
	for (int i = 0; i < 2; i++) {
		struct hw_run *back = load(s, save(s, runs[i]));
		before[i] = json_of(back);
		run_free(back);
	}
	store_close(s);
	pid_t w = fork();
	assert_true(w >= 0);
	if (w == 0) {
		setenv("HOPWATCH_TEST_COMMIT_PAUSE", "60000", 1);
		hw_store_t *ws = store_open(sc->path, 0, NULL, NULL, 0);
		struct hw_run *r = marked_run(4, 2);
		_exit(ws != NULL && store_save_run(ws, r, NULL) == HW_OK ? 0 : 1);
	}
	/* The writer holds the write lock from BEGIN IMMEDIATE to COMMIT: wait for that. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(sc->path, &db), SQLITE_OK);
	int rc = SQLITE_OK;
	for (int i = 0; i < 1000; i++) {
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_BUSY)
			break;
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		struct timespec nap = {0, 10000000L};
		nanosleep(&nap, NULL);
	}
	assert_int_equal(rc, SQLITE_BUSY);
	/* Its two INSERTs take a few ms; the pause a minute: the kill falls inside the pause. */
	struct timespec nap = {0, 300000000L};
	nanosleep(&nap, NULL);
	assert_int_equal(kill(w, SIGKILL), 0);
	int st;
	assert_int_equal(waitpid(w, &st, 0), w);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	assert_sql(sc->path, "PRAGMA integrity_check", "ok");
	assert_sql(sc->path, "SELECT count(*) FROM runs", "2");
	assert_sql(sc->path, "SELECT count(*) FROM traces WHERE run_id NOT IN (SELECT id FROM runs)",
		   "0");
	s = open_ok(sc->path, 0);
	assert_int_equal(list(s, NULL).n, 2);
	for (int64_t id = 1; id <= 2; id++) {
		struct hw_run *back = load(s, id);
		char *now = json_of(back);
		assert_string_equal(now, before[id - 1]);
		free(now);
		run_free(back);
	}
	struct hw_run *next = marked_run(4, 3);
	int64_t id = save(s, next);
	assert_int_equal(list(s, NULL).n, 3);
	struct hw_run *back = load(s, id);
	assert_int_equal(differs(back), 0);
	run_free(back);
	run_free(next);
	store_close(s);
	for (int i = 0; i < 2; i++) {
		free(before[i]);
		run_free(runs[i]);
	}
}

static void test_strerror(void **state)
{
	(void)state;
	assert_non_null(strstr(store_strerror(HW_STORE_ERR_NEWER), "newer"));
	assert_non_null(strstr(store_strerror(HW_STORE_ERR_BUSY), "locked"));
	assert_string_equal(store_strerror(HW_ERR_NOMEM), hw_strerror(HW_ERR_NOMEM));
	assert_string_equal(store_errmsg(NULL), "");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_open_missing),
		T(test_list_filters),
		T(test_latest),
		T(test_comparable),
		T(test_abort_and_spool),
		T(test_not_sqlite),
		T(test_foreign_sqlite),
		T(test_truncated_and_corrupt),
		T(test_newer_refused),
		T(test_migration_v1),
		T(test_migration_v2),
		T(test_migration_v3),
		T(test_migration_bad_doc),
		T(test_damaged_trace),
		T(test_refused_trace),
		T(test_concurrency),
		T(test_killed_writer),
		T(test_readonly_store),
		T(test_killed_in_commit),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
