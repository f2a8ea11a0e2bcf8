/*
 * Path diff (include/hopwatch/diff.h) on synthetic runs: every status, load-balanced
 * branches, silent hops, break localisation inside an AS and on a border, aggregation
 * per network, and the writers (JSON read back with jansson).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <hopwatch/diff.h>
#include <hopwatch/status.h>

/* ---- building synthetic runs ---- */

static struct hw_addr addr(const char *text)
{
	struct hw_addr a;
	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	return a;
}

static void assert_addr_is(const struct hw_addr *a, const char *text)
{
	char buf[HW_ADDRSTRLEN];
	assert_string_equal(hw_addr_str(a, buf, sizeof(buf)), text);
}

/* Adds one reply from `from` at ttl, for a flow (multipath traces) or attempt k. */
static void reply(struct hw_trace *t, uint8_t ttl, const char *from, uint16_t flow, uint8_t k)
{
	struct hw_reply r;
	memset(&r, 0, sizeof(r));
	r.addr = addr(from);
	r.flow_id = flow;
	r.attempt = k;
	if (hw_addr_eq(&r.addr, &t->dst)) {
		r.kind = HW_REPLY_UNREACH;
		r.icmp_type = 3;
		r.icmp_code = 3;
	} else {
		r.kind = HW_REPLY_TIME_EXCEEDED;
		r.icmp_type = 11;
	}
	r.rtt_ms = ttl;
	struct hw_hop *hop = trace_hop(t, ttl);
	assert_non_null(hop);
	assert_int_equal(hop_add_reply(hop, &r), HW_OK);
	hop->probes_sent++;
	t->replies++;
	t->probes_sent++;
}

/*
 * A trace to dst along `flow`, hop i + 1 answering from hops[i]: "*" is silent, "skip"
 * not probed (--doubletree: below the stop set), several
 * addresses separated by spaces answer one probe each (a multipath trace gives each its
 * own flow). The trace completes when the destination answers, else it ends by gap limit.
 */
static struct hw_trace *mk(const char *dst, uint16_t flow, enum hw_multipath mp,
			   const char *const *hops, size_t n)
{
	struct hw_flow f;
	memset(&f, 0, sizeof(f));
	f.method = HW_METHOD_UDP;
	f.src = addr(strchr(dst, ':') ? "2001:db8::1" : "192.0.2.1");
	f.dst = addr(dst);
	f.flow_id = flow;
	f.sport = (uint16_t)(HW_FLOW_BASE + flow);
	f.dport = HW_UDP_DPORT;
	struct hw_trace *t = trace_new(&f, 1, 30, 3);
	assert_non_null(t);
	t->multipath = mp;
	t->stop_reason = HW_STOP_GAPLIMIT;
	trace_truncate(t, (uint8_t)n);
	for (size_t i = 0; i < n; i++) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", hops[i]);
		uint16_t k = 0;
		for (char *save, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (strcmp(tok, "*") == 0)
				continue;
			if (strcmp(tok, "skip") == 0) {
				trace_hop(t, (uint8_t)(i + 1))->skipped = true;
				t->stop_set_ttl = (uint8_t)(i + 2);
				continue;
			}
			reply(t, (uint8_t)(i + 1), tok, mp ? (uint16_t)(flow + k) : 0,
			      mp ? 0 : (uint8_t)k);
			if (strcmp(tok, dst) == 0) {
				t->stop_reason = HW_STOP_COMPLETED;
				t->stop_ttl = (uint8_t)(i + 1);
			}
			k++;
		}
	}
	return t;
}

#define MK(dst, ...) mk(dst, 0, HW_MULTIPATH_NONE, (const char *const[]){__VA_ARGS__}, \
			sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define MKF(dst, flow, mp, ...) mk(dst, flow, mp, (const char *const[]){__VA_ARGS__}, \
				   sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* Origin AS (and a name) of an address in one trace's annotation. */
static void as(struct hw_trace *t, const char *a, uint32_t asn, const char *name)
{
	struct hw_addr x = addr(a);
	struct hw_addr_info *info = trace_info_add(t, &x);
	assert_non_null(info);
	info->asn_status = HW_LOOKUP_OK;
	info->n_origins = 1;
	info->origins[0] = asn;
	if (name != NULL) {
		free(info->name);
		info->name = strdup(name);
		info->name_status = HW_LOOKUP_OK;
	}
}

struct asmap {
	const char *addr;
	uint32_t asn;
};

/* Annotates every address of the table in a trace (whether it appears or not). */
static void annotate(struct hw_trace *t, const struct asmap *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		as(t, m[i].addr, m[i].asn, NULL);
}

static struct hw_run *run_of(size_t n, struct hw_trace **traces)
{
	struct hw_run *r = run_new();
	assert_non_null(r);
	r->start_unix_us = 1795559400123456ULL;
	r->vantage = strdup("vp-test");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(run_add_trace(r, traces[i]), HW_OK);
	return r;
}

static struct hw_run *run1(struct hw_trace *t)
{
	return run_of(1, &t);
}

/* Diffs two one-trace runs and hands back the diff (runs in *o, *n to free). */
static struct hw_diff *diff1(struct hw_trace *old, struct hw_trace *new, struct hw_run **o,
			     struct hw_run **n, const struct hw_diff_opts *opts)
{
	*o = run1(old);
	*n = run1(new);
	struct hw_diff *d;
	assert_int_equal(diff_runs(*o, *n, opts, &d), HW_OK);
	assert_non_null(d);
	assert_int_equal(d->n_targets, 1);
	return d;
}

static void done(struct hw_diff *d, struct hw_run *o, struct hw_run *n)
{
	assert_null(diff_free(d));
	run_free(o);
	run_free(n);
}

#define D "203.0.113.99"
#define NET22 "198.18.4.0/22"

static const struct hw_diff_group *group_named(const struct hw_diff *d, const char *name,
					       enum hw_diff_group_kind kind);
static char *capture(int (*writer)(const struct hw_diff *, FILE *), const struct hw_diff *d);
static bool starts_with(const char *s, const char *prefix);
static json_t *target_json(json_t *root, const char *dst);

/* ---- statuses ---- */

static void test_unchanged(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D),
				  MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_UNCHANGED);
	assert_int_equal(t->n_changes, 0);
	assert_int_equal(t->n_silences, 0);
	assert_true(t->old_reached && t->new_reached);
	assert_int_equal(t->old_last_ttl, 4);
	assert_false(t->has_break);
	assert_false(diff_has_changes(d));
	assert_int_equal(d->count[HW_DIFF_UNCHANGED], 1);
	assert_addr_is(&t->dst, D);
	done(d, o, n);
}

/* Hop 3 moves to another AS: the change, and the AS path change. */
static void test_changed_with_as_path(void **state)
{
	(void)state;
	static const struct asmap m[] = {
		{"198.51.100.1", 64500}, {"198.51.100.2", 64500}, {"192.0.2.33", 64501},
		{"192.0.2.77", 64502}, {D, 64503},
	};
	struct hw_trace *old = MK(D, "198.51.100.1", "198.51.100.2", "192.0.2.33", D);
	struct hw_trace *new = MK(D, "198.51.100.1", "198.51.100.2", "192.0.2.77", D);
	annotate(old, m, 5);
	annotate(new, m, 5);
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(old, new, &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_CHANGED);
	assert_int_equal(t->n_changes, 1);
	assert_int_equal(t->changes[0].ttl, 3);
	assert_int_equal(t->changes[0].n_old, 1);
	assert_int_equal(t->changes[0].n_new, 1);
	assert_addr_is(&t->changes[0].addrs[0], "192.0.2.33");
	assert_addr_is(&t->changes[0].addrs[1], "192.0.2.77");
	assert_true(t->has_as);
	assert_true(t->as_changed);
	assert_int_equal(t->n_as_old, 3);
	assert_int_equal(t->as_old[1], 64501);
	assert_int_equal(t->n_as_new, 3);
	assert_int_equal(t->as_new[0], 64500);
	assert_int_equal(t->as_new[1], 64502);
	assert_int_equal(t->as_new[2], 64503);
	assert_true(diff_has_changes(d));
	done(d, o, n);
}

/* Hop changes within one AS: changed, AS path the same. Longer path: a change with no old side. */
static void test_changed_same_as_longer(void **state)
{
	(void)state;
	static const struct asmap m[] = {
		{"198.51.100.1", 64500}, {"198.51.100.2", 64500}, {"198.51.100.9", 64500}, {D, 64503},
	};
	struct hw_trace *old = MK(D, "198.51.100.1", "198.51.100.2", D);
	struct hw_trace *new = MK(D, "198.51.100.1", "198.51.100.9", "198.51.100.2", D);
	annotate(old, m, 4);
	annotate(new, m, 4);
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(old, new, &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_CHANGED);
	assert_int_equal(t->n_changes, 3);
	assert_int_equal(t->changes[0].ttl, 2);
	assert_int_equal(t->changes[2].ttl, 4);
	assert_int_equal(t->changes[2].n_old, 0);
	assert_int_equal(t->changes[2].n_new, 1);
	assert_addr_is(&t->changes[2].addrs[0], D);
	assert_true(t->has_as);
	assert_false(t->as_changed);
	done(d, o, n);
}

/* ---- load balancing ---- */

/* Old run multipath ({a,b} at hop 2); new run one flow through b: no change; through c: a change. */
static void test_lb_old_multipath(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(
		MKF(D, 0, HW_MULTIPATH_LITE, "198.51.100.1", "198.51.100.21 198.51.100.22", "198.51.100.3", D),
		MK(D, "198.51.100.1", "198.51.100.22", "198.51.100.3", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_UNCHANGED);
	assert_true(d->targets[0].multipath);
	done(d, o, n);

	d = diff1(MKF(D, 0, HW_MULTIPATH_LITE, "198.51.100.1", "198.51.100.21 198.51.100.22", "198.51.100.3", D),
		  MK(D, "198.51.100.1", "198.51.100.23", "198.51.100.3", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_CHANGED);
	assert_int_equal(d->targets[0].n_changes, 1);
	assert_int_equal(d->targets[0].changes[0].ttl, 2);
	assert_int_equal(d->targets[0].changes[0].n_old, 2);
	done(d, o, n);
}

/* Old run one flow through a, new run multipath {a,b}: a is one of the branches. */
static void test_lb_new_multipath(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(
		MKF(D, 5, HW_MULTIPATH_NONE, "198.51.100.1", "198.51.100.21", D),
		MKF(D, 0, HW_MULTIPATH_MDA, "198.51.100.1", "198.51.100.22 198.51.100.21", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_UNCHANGED);
	done(d, o, n);
}

/* Both multipath: different subsets of the branches are no change; disjoint sets are. */
static void test_lb_both_multipath(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(
		MKF(D, 0, HW_MULTIPATH_LITE, "198.51.100.1", "198.51.100.21 198.51.100.22 198.51.100.23", D),
		MKF(D, 0, HW_MULTIPATH_LITE, "198.51.100.1", "198.51.100.22 198.51.100.24", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_UNCHANGED);
	done(d, o, n);

	d = diff1(MKF(D, 0, HW_MULTIPATH_LITE, "198.51.100.1", "198.51.100.21 198.51.100.22", D),
		  MKF(D, 0, HW_MULTIPATH_LITE, "198.51.100.1", "198.51.100.31 198.51.100.32", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_CHANGED);
	assert_int_equal(d->targets[0].changes[0].n_old, 2);
	assert_int_equal(d->targets[0].changes[0].n_new, 2);
	assert_addr_is(&d->targets[0].changes[0].addrs[2], "198.51.100.31");
	done(d, o, n);
}

/* A multipath trace's links name interfaces too (an interface known from a link only). */
static void test_lb_links(void **state)
{
	(void)state;
	struct hw_trace *old = MKF(D, 0, HW_MULTIPATH_LITE, "198.51.100.1", "198.51.100.21", D);
	struct hw_link l = {addr("198.51.100.1"), addr("198.51.100.22"), 1, false};
	assert_int_equal(trace_add_link(old, &l), HW_OK);
	l = (struct hw_link){addr("198.51.100.22"), addr(D), 2, false};
	assert_int_equal(trace_add_link(old, &l), HW_OK);
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(old, MK(D, "198.51.100.1", "198.51.100.22", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_UNCHANGED);
	done(d, o, n);
}

/* One flow each, with a per-packet balancer showing both branches in one run. */
static void test_lb_per_packet(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.21 198.51.100.22", D),
				  MK(D, "198.51.100.1", "198.51.100.22", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_UNCHANGED);
	done(d, o, n);
	/* Without a balancer, one flow through another interface is a change. */
	d = diff1(MK(D, "198.51.100.1", "198.51.100.21", D), MK(D, "198.51.100.1", "198.51.100.22", D),
		  &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_CHANGED);
	done(d, o, n);
}

/* ---- silent hops ---- */

static void test_silent_both(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "*", "198.51.100.3", D),
				  MK(D, "198.51.100.1", "*", "198.51.100.3", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_UNCHANGED);
	assert_int_equal(d->targets[0].n_silences, 0);
	assert_int_equal(d->targets[0].n_changes, 0);
	done(d, o, n);
}

/* Silent in one run only: "no answer", not a path change, and no change at all. */
static void test_silent_one(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", D),
				  MK(D, "198.51.100.1", "*", "*", "198.51.100.4", D), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_UNCHANGED);
	assert_int_equal(t->n_changes, 0);
	assert_int_equal(t->n_silences, 1);
	assert_int_equal(t->silences[0].first_ttl, 2);
	assert_int_equal(t->silences[0].last_ttl, 3);
	assert_true(t->silences[0].in_new);
	assert_false(diff_has_changes(d));
	done(d, o, n);
	/* And the other way round: silent before, answering now. */
	d = diff1(MK(D, "198.51.100.1", "*", "198.51.100.3", D),
		  MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_UNCHANGED);
	assert_int_equal(d->targets[0].n_silences, 1);
	assert_false(d->targets[0].silences[0].in_new);
	done(d, o, n);
}

/* Skipped (--doubletree) in one run: not compared, neither a change nor a silence. */
static void test_skipped_not_compared(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	/* Where the other run answered from the same or from another interface. */
	struct hw_diff *d = diff1(MK(D, "198.51.100.9", "198.51.100.2", "198.51.100.3", D),
				  MK(D, "skip", "skip", "198.51.100.3", D), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_UNCHANGED);
	assert_int_equal(t->n_changes, 0);
	assert_int_equal(t->n_silences, 0);
	assert_false(diff_has_changes(d));
	done(d, o, n);
	/* The other way round, and against a silent hop. */
	d = diff1(MK(D, "skip", "skip", "198.51.100.3", D),
		  MK(D, "198.51.100.1", "*", "198.51.100.3", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_UNCHANGED);
	assert_int_equal(d->targets[0].n_changes, 0);
	assert_int_equal(d->targets[0].n_silences, 0);
	done(d, o, n);
	/* A change above the skipped hops still counts. */
	d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D),
		  MK(D, "skip", "skip", "198.51.100.7", D), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_CHANGED);
	assert_int_equal(d->targets[0].n_changes, 1);
	assert_int_equal(d->targets[0].changes[0].ttl, 3);
	done(d, o, n);
}

/* A break past skipped hops is located on the hops that were probed. */
static void test_skipped_not_break(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3",
				     "198.51.100.4", D),
				  MK(D, "skip", "skip", "198.51.100.3", "*", "*"), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->n_changes, 0);
	assert_int_equal(t->n_silences, 0);
	assert_true(t->has_break);
	assert_int_equal(t->brk.last_reached.ttl, 3);
	assert_addr_is(&t->brk.last_reached.addr, "198.51.100.3");
	assert_int_equal(t->brk.first_lost.ttl, 4);
	assert_addr_is(&t->brk.first_lost.addr, "198.51.100.4");
	done(d, o, n);
}

/* ---- breaks ---- */

static const struct asmap break_as[] = {
	{"198.51.100.1", 64500}, {"198.51.100.2", 64500}, {"198.51.100.3", 64500},
	{"203.0.113.4", 64501}, {D, 64501},
};

static struct hw_trace *break_old(void)
{
	struct hw_trace *t = MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.4", D);
	annotate(t, break_as, 5);
	as(t, "198.51.100.2", 64500, "r2.as64500.example");
	return t;
}

/* The new run stops after hop 2: lost inside AS64500 (hop 3 is AS64500 too). */
static void test_break_inside_as(void **state)
{
	(void)state;
	struct hw_trace *new = MK(D, "198.51.100.1", "198.51.100.2", "*", "*", "*");
	annotate(new, break_as, 5);
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(break_old(), new, &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_true(t->has_break);
	assert_int_equal(t->brk.last_reached.ttl, 2);
	assert_addr_is(&t->brk.last_reached.addr, "198.51.100.2");
	assert_int_equal(t->brk.last_reached.asn, 64500);
	assert_string_equal(t->brk.last_reached.name, "r2.as64500.example");
	assert_int_equal(t->brk.first_lost.ttl, 3);
	assert_addr_is(&t->brk.first_lost.addr, "198.51.100.3");
	assert_int_equal(t->brk.where, HW_DIFF_WHERE_INSIDE);
	assert_int_equal(t->brk.from_asn, 64500);
	assert_int_equal(t->brk.to_asn, 64500);
	assert_int_equal(t->brk.transit_asn, 0);
	/* The silent hops after the break are the loss, not "silent, path continues". */
	assert_int_equal(t->n_silences, 0);
	assert_int_equal(t->n_changes, 0);
	assert_int_equal(t->n_shared, 2);
	assert_true(diff_has_changes(d));
	done(d, o, n);
}

/* The new run stops after hop 3, the last of AS64500: the border; AS64500 is transit. */
static void test_break_on_border(void **state)
{
	(void)state;
	struct hw_trace *new = MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", "*", "*");
	annotate(new, break_as, 5);
	static const uint32_t transit[] = {64999, 64500};
	struct hw_diff_opts opts = {transit, 2};
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(break_old(), new, &o, &n, &opts);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->brk.last_reached.ttl, 3);
	assert_addr_is(&t->brk.last_reached.addr, "198.51.100.3");
	assert_int_equal(t->brk.first_lost.ttl, 4);
	assert_addr_is(&t->brk.first_lost.addr, "203.0.113.4");
	assert_int_equal(t->brk.first_lost.asn, 64501);
	assert_int_equal(t->brk.where, HW_DIFF_WHERE_BORDER);
	assert_int_equal(t->brk.from_asn, 64500);
	assert_int_equal(t->brk.to_asn, 64501);
	assert_int_equal(t->brk.transit_asn, 64500);
	/* AS64501 is gone with the hops after the break: the break says it, the AS path
	 * where both runs answer did not change. */
	assert_true(t->has_as);
	assert_true(t->as_in_old && t->as_in_new);
	assert_int_equal(t->n_as_old, 2);
	assert_int_equal(t->n_as_new, 1);
	assert_false(t->as_changed);
	char buf[512];
	diff_target_summary(t, buf, sizeof(buf));
	assert_non_null(strstr(buf, "at the AS64500 → AS64501 border"));
	assert_non_null(strstr(buf, "lost beyond hop 3 198.51.100.3 (AS64500)"));
	done(d, o, n);
}

/* Without AS data the break is located all the same; where is unknown. An unreachable
 * from the last router (its !N) counts as reached. */
static void test_break_no_as_unreach(void **state)
{
	(void)state;
	struct hw_trace *new = MK(D, "198.51.100.1", "198.51.100.2");
	new->stop_reason = HW_STOP_UNREACH;
	trace_hop(new, 2)->replies[0].kind = HW_REPLY_UNREACH;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D), new, &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->brk.last_reached.ttl, 2);
	assert_int_equal(t->brk.last_reached.asn, 0);
	assert_int_equal(t->brk.first_lost.ttl, 3);
	assert_int_equal(t->brk.where, HW_DIFF_WHERE_UNKNOWN);
	assert_false(t->has_as);
	done(d, o, n);
}

/* Nothing of the old path answers any more: no last hop, the first hop lost. */
static void test_break_nothing_left(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", D), MK(D, "*", "*", "*"),
				  &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->brk.last_reached.ttl, 0);
	assert_int_equal(t->brk.first_lost.ttl, 1);
	assert_addr_is(&t->brk.first_lost.addr, "198.51.100.1");
	assert_int_equal(t->n_shared, 0);
	char buf[256];
	assert_string_equal(diff_target_summary(t, buf, sizeof(buf)),
			    D ": broken, lost from the first hop (nothing of the old path answers), "
			    "first lost hop 1 198.51.100.1");
	done(d, o, n);
}

/*
 * Hops 2-3 stop answering but hop 4 still does (rate limiting, filtering) while the
 * destination is gone: the break is after hop 4, hops 2-3 are silent, not the break.
 */
static void test_ratelimited_not_break(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4",
				     "198.51.100.5", D),
				  MK(D, "198.51.100.1", "*", "*", "198.51.100.4", "*", "*"), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->brk.last_reached.ttl, 4);
	assert_addr_is(&t->brk.last_reached.addr, "198.51.100.4");
	assert_int_equal(t->brk.first_lost.ttl, 5);
	assert_int_equal(t->n_silences, 1);
	assert_int_equal(t->silences[0].first_ttl, 2);
	assert_int_equal(t->silences[0].last_ttl, 3);
	char buf[512];
	diff_target_summary(t, buf, sizeof(buf));
	assert_non_null(strstr(buf, "hops 2–3 silent in the new run, path continues"));
	done(d, o, n);
}

/* A path rerouted before it breaks: the last shared hop is before the detour. */
static void test_break_after_detour(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D),
				  MK(D, "198.51.100.1", "192.0.2.50", "192.0.2.51", "*", "*"), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->brk.last_reached.ttl, 1);
	assert_int_equal(t->brk.first_lost.ttl, 2);
	assert_addr_is(&t->brk.first_lost.addr, "198.51.100.2");
	assert_int_equal(t->new_last_ttl, 3);
	assert_int_equal(t->n_changes, 2); /* hops 2 and 3 answered from elsewhere */
	done(d, o, n);
}

/*
 * The new path loops between hops 6 and 7 until the trace gives up at hop 19: a loop,
 * and the break said along the old path (lost beyond hop 7, not hop 19).
 */
static void test_loop(void **state)
{
	(void)state;
	static const struct asmap m[] = {
		{"198.51.100.1", 64496}, {"202.97.0.6", 4837}, {"202.97.0.7", 4837},
		{"202.97.0.8", 4837}, {D, 64501},
	};
	struct hw_trace *old = MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4",
				  "198.51.100.5", "202.97.0.6", "202.97.0.7", "202.97.0.8", D);
	struct hw_trace *new = MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4",
				  "198.51.100.5", "202.97.0.6", "202.97.0.7", "202.97.0.6", "202.97.0.7",
				  "202.97.0.6", "202.97.0.7", "202.97.0.6", "202.97.0.7", "202.97.0.6",
				  "202.97.0.7", "202.97.0.6", "202.97.0.7", "202.97.0.6", "202.97.0.7");
	new->stop_reason = HW_STOP_MAXTTL;
	annotate(old, m, 5);
	annotate(new, m, 5);
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(old, new, &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->new_last_ttl, 19);
	assert_int_equal(t->brk.last_reached.ttl, 7);
	assert_addr_is(&t->brk.last_reached.addr, "202.97.0.7");
	assert_int_equal(t->brk.first_lost.ttl, 8);
	assert_addr_is(&t->brk.first_lost.addr, "202.97.0.8");
	assert_true(t->has_loop);
	assert_int_equal(t->loop.first_ttl, 6);
	assert_int_equal(t->loop.last_ttl, 7);
	assert_int_equal(t->loop.n_hops, 2);
	assert_addr_is(&t->loop.hops[0].addr, "202.97.0.6");
	assert_int_equal(t->loop.hops[1].asn, 4837);
	assert_int_equal(t->brk.where, HW_DIFF_WHERE_LOOP);
	assert_int_equal(t->brk.from_asn, 4837);
	assert_int_equal(t->brk.to_asn, 4837);
	char buf[512];
	diff_target_summary(t, buf, sizeof(buf));
	assert_non_null(strstr(buf, "broken, lost beyond hop 7 202.97.0.7 (AS4837), first lost hop 8 "
				    "202.97.0.8 (AS4837) in a routing loop inside AS4837"));
	assert_non_null(strstr(buf, "loop between hops 6 and 7: 202.97.0.6 ↔ 202.97.0.7"));
	char *json = capture(diff_write_json, d);
	json_t *root = json_loads(json, 0, NULL);
	assert_non_null(root);
	json_t *jt = target_json(root, D);
	assert_string_equal(json_string_value(json_object_get(jt, "where")), "loop");
	json_t *loop = json_object_get(jt, "loop");
	assert_int_equal(json_integer_value(json_object_get(loop, "first_ttl")), 6);
	assert_int_equal(json_array_size(json_object_get(loop, "hops")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(jt, "last_reached"), "ttl")), 7);
	json_decref(root);
	free(json);
	done(d, o, n);

	/* A longer loop, over a silent hop too. */
	d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D),
		  MK(D, "198.51.100.1", "198.51.100.2", "*", "198.51.100.9", "198.51.100.2", "*"),
		  &o, &n, NULL);
	t = &d->targets[0];
	assert_true(t->has_loop);
	assert_int_equal(t->loop.first_ttl, 2);
	assert_int_equal(t->loop.last_ttl, 4);
	assert_true(starts_with(strstr(diff_target_summary(t, buf, sizeof(buf)), "loop over"),
				"loop over hops 2–4: 198.51.100.2 → * → 198.51.100.9 → 198.51.100.2; "));
	assert_int_equal(t->brk.last_reached.ttl, 2);
	done(d, o, n);

	/* One interface at two consecutive TTLs is no loop. */
	d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D),
		  MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.2", "*"), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_BROKEN);
	assert_false(d->targets[0].has_loop);
	assert_int_equal(d->targets[0].brk.where, HW_DIFF_WHERE_UNKNOWN);
	done(d, o, n);
}

/* ---- AS paths ---- */

/* An AS whose hops only went silent is no AS-path change; one replaced by another is. */
static void test_as_silent_no_change(void **state)
{
	(void)state;
	static const struct asmap m[] = {
		{"198.51.100.1", 64500}, {"198.51.100.2", 64501}, {"198.51.100.3", 64502},
		{"198.51.100.33", 64502}, {"192.0.2.2", 64509}, {D, 64503},
	};
	struct hw_trace *old = MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D);
	struct hw_trace *new = MK(D, "198.51.100.1", "*", "198.51.100.33", D);
	annotate(old, m, 6);
	annotate(new, m, 6);
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(old, new, &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_CHANGED);
	assert_true(t->has_as);
	assert_int_equal(t->n_as_old, 4);
	assert_int_equal(t->n_as_new, 3);
	assert_false(t->as_changed);
	char buf[512];
	assert_null(strstr(diff_target_summary(t, buf, sizeof(buf)), "AS path"));
	done(d, o, n);

	old = MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D);
	new = MK(D, "198.51.100.1", "192.0.2.2", "198.51.100.33", D);
	annotate(old, m, 6);
	annotate(new, m, 6);
	d = diff1(old, new, &o, &n, NULL);
	assert_true(d->targets[0].as_changed);
	assert_non_null(strstr(diff_target_summary(&d->targets[0], buf, sizeof(buf)),
			       "AS path AS64500 AS64501 AS64502 AS64503 → AS64500 AS64509 AS64502 AS64503"));
	done(d, o, n);
}

/* AS data in one run only: said as such, not an AS-path change. */
static void test_as_one_run(void **state)
{
	(void)state;
	static const struct asmap m[] = {{"198.51.100.1", 64500}, {"192.0.2.3", 64502}, {D, 64503}};
	struct hw_trace *new = MK(D, "198.51.100.1", "192.0.2.3", D);
	annotate(new, m, 3);
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.3", D), new, &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_CHANGED);
	assert_true(t->has_as);
	assert_false(t->as_in_old);
	assert_true(t->as_in_new);
	assert_false(t->as_changed);
	assert_true(diff_has_changes(d));
	char buf[512];
	diff_target_summary(t, buf, sizeof(buf));
	assert_non_null(strstr(buf, "; AS data in the new run only"));
	assert_null(strstr(buf, "AS path"));
	char *json = capture(diff_write_json, d);
	json_t *root = json_loads(json, 0, NULL);
	json_t *as = json_object_get(target_json(root, D), "as_path");
	assert_true(json_is_null(json_object_get(as, "old")));
	assert_int_equal(json_array_size(json_object_get(as, "new")), 3);
	assert_true(json_is_false(json_object_get(as, "changed")));
	json_decref(root);
	free(json);
	done(d, o, n);
}

/* The run's own --transit list (trace --transit) counts when the diff is given none, and
 * joins the one it is given. */
static void test_transit_from_run(void **state)
{
	(void)state;
	struct hw_trace *new = MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", "*", "*");
	annotate(new, break_as, 5);
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(break_old(), new, &o, &n, NULL);
	assert_int_equal(d->targets[0].brk.transit_asn, 0);
	diff_free(d);
	n->transit = malloc(sizeof(*n->transit));
	assert_non_null(n->transit);
	n->transit[0] = 64500;
	n->n_transit = 1;
	assert_int_equal(diff_runs(o, n, NULL, &d), HW_OK);
	assert_int_equal(d->targets[0].brk.transit_asn, 64500);
	diff_free(d);
	static const uint32_t given[] = {64999, 64500};
	struct hw_diff_opts opts = {given, 2};
	assert_int_equal(diff_runs(o, n, &opts, &d), HW_OK);
	assert_int_equal(d->n_transit, 2);
	assert_int_equal(d->transit[0], 64500);
	assert_int_equal(d->transit[1], 64999);
	assert_int_equal(d->targets[0].brk.transit_asn, 64500);
	done(d, o, n);
}

static void test_recovered(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "*", "*"),
				  MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_RECOVERED);
	assert_false(t->old_reached);
	assert_true(t->new_reached);
	assert_false(t->has_break);
	assert_int_equal(t->n_silences, 0);
	assert_true(diff_has_changes(d));
	done(d, o, n);
}

/* Still unreachable: a change only when where it stops moved. */
static void test_still_unreachable(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "*"),
				  MK(D, "198.51.100.1", "198.51.100.2", "*"), &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_STILL_UNREACHABLE);
	assert_false(diff_has_changes(d));
	done(d, o, n);
	d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "*"), MK(D, "198.51.100.1", "*", "*"), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_STILL_UNREACHABLE);
	assert_int_equal(t->n_changes, 1);
	assert_int_equal(t->changes[0].ttl, 2);
	assert_int_equal(t->changes[0].n_new, 0);
	assert_int_equal(t->old_last_ttl, 2);
	assert_int_equal(t->new_last_ttl, 1);
	assert_true(diff_has_changes(d));
	done(d, o, n);
}

/* Other flow ids or methods are not compared; a multipath trace is comparable with a flow. */
static void test_not_comparable(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MKF(D, 0, HW_MULTIPATH_NONE, "198.51.100.1", D),
				  MKF(D, 1, HW_MULTIPATH_NONE, "198.51.100.7", D), &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_NOT_COMPARABLE);
	assert_int_equal(t->n_changes, 0);
	assert_non_null(t->old);
	assert_non_null(t->new);
	assert_int_equal(d->count[HW_DIFF_NOT_COMPARABLE], 1);
	char buf[256];
	assert_non_null(strstr(diff_target_summary(t, buf, sizeof(buf)), "udp flow 0 port 33434 vs udp flow 1"));
	done(d, o, n);

	struct hw_trace *icmp = MK(D, "198.51.100.7", D);
	icmp->method = HW_METHOD_ICMP;
	icmp->dport = 0;
	d = diff1(MK(D, "198.51.100.1", D), icmp, &o, &n, NULL);
	assert_int_equal(d->targets[0].status, HW_DIFF_NOT_COMPARABLE);
	done(d, o, n);

	/* Two flows in the old run, one matching the new run's: that one pairs. */
	struct hw_trace *ov[] = {MKF(D, 3, HW_MULTIPATH_NONE, "198.51.100.1", D),
				 MKF(D, 2, HW_MULTIPATH_NONE, "198.51.100.9", D)};
	o = run_of(2, ov);
	n = run1(MKF(D, 2, HW_MULTIPATH_NONE, "198.51.100.9", D));
	assert_int_equal(diff_runs(o, n, NULL, &d), HW_OK);
	assert_int_equal(d->n_targets, 2);
	assert_int_equal(d->count[HW_DIFF_UNCHANGED], 1);
	assert_int_equal(d->count[HW_DIFF_ONLY_OLD], 1);
	done(d, o, n);
}

static void test_only_one_side(void **state)
{
	(void)state;
	struct hw_trace *ov[] = {MK("203.0.113.1", "198.51.100.1", "203.0.113.1"),
				 MK("203.0.113.2", "198.51.100.1", "203.0.113.2")};
	struct hw_trace *nv[] = {MK("203.0.113.3", "198.51.100.1", "203.0.113.3"),
				 MK("203.0.113.2", "198.51.100.1", "203.0.113.2")};
	struct hw_run *o = run_of(2, ov), *n = run_of(2, nv);
	struct hw_diff *d;
	assert_int_equal(diff_runs(o, n, NULL, &d), HW_OK);
	assert_int_equal(d->n_targets, 3);
	/* by destination */
	assert_int_equal(d->targets[0].status, HW_DIFF_ONLY_OLD);
	assert_addr_is(&d->targets[0].dst, "203.0.113.1");
	assert_null(d->targets[0].new);
	assert_int_equal(d->targets[1].status, HW_DIFF_UNCHANGED);
	assert_int_equal(d->targets[2].status, HW_DIFF_ONLY_NEW);
	assert_null(d->targets[2].old);
	assert_true(d->targets[2].new_reached);
	assert_true(diff_has_changes(d));
	done(d, o, n);
}

/* ---- pairing by name and network ---- */

/* A trace of one network (--per-prefix 24 --pick random): target the /22, network the /24. */
static struct hw_trace *in_net(struct hw_trace *t, const char *network)
{
	t->target = strdup(NET22);
	t->network = strdup(network);
	return t;
}

/*
 * --pick random: each run traces other addresses of the same /24s. They pair by network
 * (several of one network in address order), the break is located, and the label says
 * the addresses differ.
 */
static void test_pair_by_network(void **state)
{
	(void)state;
	struct hw_trace *ov[] = {
		in_net(MK("198.18.4.7", "198.51.100.1", "198.51.100.2", "198.18.4.7"), "198.18.4.0/24"),
		in_net(MK("198.18.5.9", "198.51.100.1", "198.51.100.3", "198.18.5.9"), "198.18.5.0/24"),
		in_net(MK("198.18.5.5", "198.51.100.1", "198.51.100.3", "198.18.5.5"), "198.18.5.0/24"),
	};
	struct hw_trace *nv[] = {
		in_net(MK("198.18.4.99", "198.51.100.1", "198.51.100.2", "*", "*"), "198.18.4.0/24"),
		in_net(MK("198.18.5.200", "198.51.100.1", "198.51.100.3", "198.18.5.200"), "198.18.5.0/24"),
		in_net(MK("198.18.5.7", "198.51.100.1", "198.51.100.4", "198.18.5.7"), "198.18.5.0/24"),
	};
	struct hw_run *o = run_of(3, ov), *n = run_of(3, nv);
	struct hw_diff *d;
	assert_int_equal(diff_runs(o, n, NULL, &d), HW_OK);
	assert_int_equal(d->n_targets, 3);
	assert_int_equal(d->count[HW_DIFF_ONLY_OLD] + d->count[HW_DIFF_ONLY_NEW], 0);
	/* by (new) destination: 198.18.4.99, 198.18.5.7, 198.18.5.200 */
	const struct hw_diff_target *t = &d->targets[0];
	assert_addr_is(&t->dst, "198.18.4.99");
	assert_addr_is(&t->old_dst, "198.18.4.7");
	assert_int_equal(t->paired_by, HW_DIFF_PAIRED_NETWORK);
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->brk.last_reached.ttl, 2);
	assert_addr_is(&t->brk.last_reached.addr, "198.51.100.2");
	assert_int_equal(t->brk.first_lost.ttl, 3);
	assert_addr_is(&t->brk.first_lost.addr, "198.18.4.7");
	char buf[512];
	assert_true(starts_with(diff_target_summary(t, buf, sizeof(buf)),
				"198.18.4.7 → 198.18.4.99 (same network 198.18.4.0/24): broken, lost beyond hop 2"));
	/* Two per network: .5 with .7, .9 with .200. */
	assert_addr_is(&d->targets[1].dst, "198.18.5.7");
	assert_addr_is(&d->targets[1].old_dst, "198.18.5.5");
	assert_int_equal(d->targets[1].status, HW_DIFF_CHANGED);
	assert_addr_is(&d->targets[2].dst, "198.18.5.200");
	assert_addr_is(&d->targets[2].old_dst, "198.18.5.9");
	assert_int_equal(d->targets[2].status, HW_DIFF_UNCHANGED);
	/* The /22 groups the three: its break names the point. */
	const struct hw_diff_group *g = group_named(d, NET22, HW_DIFF_GROUP_PREFIX);
	assert_int_equal(g->n_members, 3);
	assert_int_equal(g->count[HW_DIFF_BROKEN], 1);
	char *json = capture(diff_write_json, d);
	json_t *root = json_loads(json, 0, NULL);
	assert_non_null(root);
	json_t *jt = target_json(root, "198.18.4.99");
	assert_string_equal(json_string_value(json_object_get(jt, "old_dst")), "198.18.4.7");
	assert_string_equal(json_string_value(json_object_get(jt, "paired_by")), "network");
	json_decref(root);
	free(json);
	done(d, o, n);
}

/* Traces of one network pair only along the same flow; a destination in both runs pairs
 * by address before anything else. */
static void test_pair_network_flow(void **state)
{
	(void)state;
	struct hw_trace *ov[] = {
		in_net(MKF("198.18.4.7", 0, HW_MULTIPATH_NONE, "198.51.100.1", "198.18.4.7"), "198.18.4.0/24"),
		in_net(MK("198.18.4.8", "198.51.100.1", "198.18.4.8"), "198.18.4.0/24"),
	};
	struct hw_trace *nv[] = {
		in_net(MKF("198.18.4.9", 1, HW_MULTIPATH_NONE, "198.51.100.1", "198.18.4.9"), "198.18.4.0/24"),
		in_net(MK("198.18.4.8", "198.51.100.1", "198.18.4.8"), "198.18.4.0/24"),
	};
	struct hw_run *o = run_of(2, ov), *n = run_of(2, nv);
	struct hw_diff *d;
	assert_int_equal(diff_runs(o, n, NULL, &d), HW_OK);
	assert_int_equal(d->n_targets, 3);
	assert_int_equal(d->targets[0].status, HW_DIFF_ONLY_OLD);
	assert_int_equal(d->targets[1].status, HW_DIFF_UNCHANGED);
	assert_int_equal(d->targets[1].paired_by, HW_DIFF_PAIRED_ADDR);
	assert_int_equal(d->targets[2].status, HW_DIFF_ONLY_NEW);
	done(d, o, n);
}

/* A host name that moved to another address pairs by name; -4 and -6 runs of one name
 * do not pair. */
static void test_pair_by_name(void **state)
{
	(void)state;
	struct hw_trace *old = MK("198.51.100.7", "192.0.2.10", "192.0.2.11", "198.51.100.7");
	struct hw_trace *new = MK("198.51.100.99", "192.0.2.10", "192.0.2.11", "*", "*");
	old->target = strdup("www.example");
	new->target = strdup("www.example");
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(old, new, &o, &n, NULL);
	const struct hw_diff_target *t = &d->targets[0];
	assert_int_equal(t->status, HW_DIFF_BROKEN);
	assert_int_equal(t->paired_by, HW_DIFF_PAIRED_NAME);
	assert_int_equal(t->brk.last_reached.ttl, 2);
	assert_int_equal(t->brk.first_lost.ttl, 3);
	char buf[512];
	assert_true(starts_with(diff_target_summary(t, buf, sizeof(buf)),
				"www.example (198.51.100.7 → 198.51.100.99, same name): broken"));
	done(d, o, n);

	old = MK("198.51.100.7", "192.0.2.10", "198.51.100.7");
	new = MK("2001:db8::7", "2001:db8::a", "2001:db8::7");
	old->target = strdup("www.example");
	new->target = strdup("www.example");
	o = run1(old);
	n = run1(new);
	assert_int_equal(diff_runs(o, n, NULL, &d), HW_OK);
	assert_int_equal(d->n_targets, 2);
	assert_int_equal(d->count[HW_DIFF_ONLY_OLD], 1);
	assert_int_equal(d->count[HW_DIFF_ONLY_NEW], 1);
	done(d, o, n);
}

static void test_args(void **state)
{
	(void)state;
	struct hw_run *r = run_new();
	struct hw_diff *d = (struct hw_diff *)&d;
	assert_int_equal(diff_runs(NULL, r, NULL, &d), HW_ERR_INVAL);
	assert_null(d);
	assert_int_equal(diff_runs(r, NULL, NULL, &d), HW_ERR_INVAL);
	assert_null(diff_free(NULL));
	/* Two empty runs: nothing to compare, nothing changed. */
	assert_int_equal(diff_runs(r, r, NULL, &d), HW_OK);
	assert_int_equal(d->n_targets, 0);
	assert_int_equal(d->n_groups, 0);
	assert_false(diff_has_changes(d));
	diff_free(d);
	run_free(r);
	assert_string_equal(diff_status_name(HW_DIFF_STILL_UNREACHABLE), "still-unreachable");
	assert_string_equal(diff_status_name(HW_DIFF_NOT_COMPARABLE), "not-comparable");
	assert_string_equal(diff_where_name(HW_DIFF_WHERE_BORDER), "border");
}

/* ---- aggregation per network ---- */

#define NET "175.45.176.0/22"

static const struct asmap net_as[] = {
	{"198.51.100.1", 64496}, {"198.51.100.2", 64496}, {"202.97.0.5", 4837}, {"202.97.0.6", 4837},
	{"202.97.0.7", 4837}, {"175.45.176.1", 131279}, {"175.45.177.1", 131279},
	{"175.45.178.1", 131279}, {"175.45.179.1", 131279}, {"175.45.176.254", 131279},
	{"175.45.179.254", 131279},
};

/* Target i of the /22: 175.45.(176+i).1, behind the same 7 hops, then a border router. */
static struct hw_trace *net_trace(int i, bool broken, bool deeper)
{
	char dst[32], net[32], gw[32];
	snprintf(dst, sizeof(dst), "175.45.%d.1", 176 + i);
	snprintf(net, sizeof(net), "175.45.%d.0/24", 176 + i);
	snprintf(gw, sizeof(gw), "175.45.%s.254", i < 2 ? "176" : "179");
	struct hw_trace *t;
	if (!broken)
		t = MK(dst, "198.51.100.1", "198.51.100.2", "*", "202.97.0.5", "202.97.0.6", "*",
		       "202.97.0.7", gw, dst);
	else if (deeper)
		t = MK(dst, "198.51.100.1", "198.51.100.2", "*", "202.97.0.5", "202.97.0.6", "*",
		       "202.97.0.7", gw, "*", "*");
	else
		t = MK(dst, "198.51.100.1", "198.51.100.2", "*", "202.97.0.5", "202.97.0.6", "*",
		       "202.97.0.7", "*", "*", "*");
	t->target = strdup(NET);
	t->network = strdup(net);
	annotate(t, net_as, sizeof(net_as) / sizeof(net_as[0]));
	return t;
}

static const struct hw_diff_group *group_named(const struct hw_diff *d, const char *name,
					       enum hw_diff_group_kind kind)
{
	for (size_t i = 0; i < d->n_groups; i++)
		if (strcmp(d->groups[i].name, name) == 0 && d->groups[i].kind == kind)
			return &d->groups[i];
	fail_msg("no group %s", name);
	return NULL;
}

/* Runs of the four /24s: `broken` says which break, `deeper` which of those still reach
 * the border router. Plus one unrelated target without a network. */
static struct hw_diff *net_diff(const bool broken[4], const bool deeper[4], struct hw_run **o,
				struct hw_run **n)
{
	struct hw_trace *ov[5], *nv[5];
	for (int i = 0; i < 4; i++) {
		ov[i] = net_trace(i, false, false);
		nv[i] = net_trace(i, broken[i], deeper[i]);
	}
	ov[4] = MK("192.0.2.200", "198.51.100.1", "192.0.2.200");
	nv[4] = MK("192.0.2.200", "198.51.100.1", "192.0.2.200");
	static const uint32_t transit[] = {4837};
	struct hw_diff_opts opts = {transit, 1};
	*o = run_of(5, ov);
	*n = run_of(5, nv);
	struct hw_diff *d;
	assert_int_equal(diff_runs(*o, *n, &opts, &d), HW_OK);
	return d;
}

static void test_aggregate_all_broken(void **state)
{
	(void)state;
	static const bool broken[4] = {true, true, true, true}, deeper[4] = {false, true, false, false};
	struct hw_run *o, *n;
	struct hw_diff *d = net_diff(broken, deeper, &o, &n);
	assert_int_equal(d->count[HW_DIFF_BROKEN], 4);
	assert_int_equal(d->count[HW_DIFF_UNCHANGED], 1);
	/* one prefix group and four network groups */
	assert_int_equal(d->n_groups, 5);
	assert_int_equal(d->groups[0].kind, HW_DIFF_GROUP_PREFIX);
	const struct hw_diff_group *g = group_named(d, NET, HW_DIFF_GROUP_PREFIX);
	assert_int_equal(g->n_members, 4);
	assert_int_equal(g->member_len, 24);
	assert_int_equal(g->count[HW_DIFF_BROKEN], 4);
	assert_int_equal(g->n_unreachable, 4);
	assert_true(g->has_common);
	/* Target 1 still reaches its border router at hop 8: the common point is hop 7. */
	assert_int_equal(d->targets[1].brk.last_reached.ttl, 8);
	assert_int_equal(g->common.last_reached.ttl, 7);
	assert_addr_is(&g->common.last_reached.addr, "202.97.0.7");
	assert_int_equal(g->common.last_reached.asn, 4837);
	assert_int_equal(g->common.first_lost.ttl, 0); /* they lose different hops */
	assert_int_equal(g->common.from_asn, 4837);
	assert_int_equal(g->common.to_asn, 131279);
	assert_int_equal(g->common.where, HW_DIFF_WHERE_BORDER);
	assert_int_equal(g->common.transit_asn, 4837);
	char buf[512];
	assert_string_equal(diff_group_summary(g, buf, sizeof(buf)),
			    "4/4 targets of 175.45.176.0/22 lost beyond hop 7 202.97.0.7 (AS4837) "
			    "at the AS4837 → AS131279 border (transit AS4837)");
	/* Each /24 is a group of its own. */
	const struct hw_diff_group *g1 = group_named(d, "175.45.177.0/24", HW_DIFF_GROUP_NETWORK);
	assert_int_equal(g1->n_members, 1);
	assert_int_equal(g1->common.last_reached.ttl, 8);
	assert_int_equal(g1->common.where, HW_DIFF_WHERE_INSIDE);
	done(d, o, n);
}

/* All four lose the same hop after the same point: first_lost is named for the group. */
static void test_aggregate_same_lost(void **state)
{
	(void)state;
	static const bool broken[4] = {true, true, false, false}, deeper[4] = {false, false, false, false};
	struct hw_run *o, *n;
	struct hw_diff *d = net_diff(broken, deeper, &o, &n);
	const struct hw_diff_group *g = group_named(d, NET, HW_DIFF_GROUP_PREFIX);
	assert_int_equal(g->count[HW_DIFF_BROKEN], 2);
	assert_int_equal(g->n_unreachable, 2);
	assert_int_equal(g->common.first_lost.ttl, 8);
	assert_addr_is(&g->common.first_lost.addr, "175.45.176.254");
	char buf[512];
	assert_non_null(strstr(diff_group_summary(g, buf, sizeof(buf)),
			       "2 of 4 /24s of 175.45.176.0/22 unreachable (2 newly: lost beyond hop 7"));
	done(d, o, n);
}

static void test_aggregate_partial(void **state)
{
	(void)state;
	static const bool broken[4] = {false, false, true, false}, deeper[4] = {false, false, false, false};
	struct hw_run *o, *n;
	struct hw_diff *d = net_diff(broken, deeper, &o, &n);
	const struct hw_diff_group *g = group_named(d, NET, HW_DIFF_GROUP_PREFIX);
	assert_int_equal(g->count[HW_DIFF_BROKEN], 1);
	assert_int_equal(g->count[HW_DIFF_UNCHANGED], 3);
	assert_int_equal(g->n_unreachable, 1);
	assert_int_equal(g->common.last_reached.ttl, 7);
	assert_int_equal(g->common.first_lost.ttl, 8);
	assert_addr_is(&g->common.first_lost.addr, "175.45.179.254");
	char buf[512];
	assert_string_equal(diff_group_summary(g, buf, sizeof(buf)),
			    "1 of 4 /24s of 175.45.176.0/22 unreachable (1 newly: lost beyond hop 7 "
			    "202.97.0.7 (AS4837), first lost hop 8 175.45.179.254 (AS131279) at the "
			    "AS4837 → AS131279 border (transit AS4837))");
	done(d, o, n);
}

/* Broken members that share no hop still answering: no common point is made up. */
static void test_aggregate_no_common(void **state)
{
	(void)state;
	struct hw_trace *ov[2], *nv[2];
	ov[0] = MK("192.0.2.1", "198.51.100.1", "198.51.100.2", "192.0.2.1");
	ov[1] = MK("192.0.3.1", "198.51.100.9", "198.51.100.2", "192.0.3.1");
	nv[0] = MK("192.0.2.1", "198.51.100.1", "*", "*");
	nv[1] = MK("192.0.3.1", "198.51.100.9", "*", "*");
	for (int i = 0; i < 2; i++)
		for (struct hw_trace *t = ov[i]; t; t = t == ov[i] ? nv[i] : NULL) {
			t->target = strdup("192.0.2.0/23");
			t->network = strdup(i ? "192.0.3.0/24" : "192.0.2.0/24");
		}
	struct hw_run *o = run_of(2, ov), *n = run_of(2, nv);
	struct hw_diff *d;
	assert_int_equal(diff_runs(o, n, NULL, &d), HW_OK);
	const struct hw_diff_group *g = group_named(d, "192.0.2.0/23", HW_DIFF_GROUP_PREFIX);
	assert_int_equal(g->count[HW_DIFF_BROKEN], 2);
	assert_true(g->has_common);
	assert_int_equal(g->common.last_reached.ttl, 0);
	assert_int_equal(g->common.first_lost.ttl, 0);
	assert_int_equal(d->targets[0].brk.last_reached.ttl, 1);
	char buf[256];
	assert_string_equal(diff_group_summary(g, buf, sizeof(buf)),
			    "2/2 targets of 192.0.2.0/23 lost with no hop common to them still answering");
	/* Each /24 on its own has its own point. */
	g = group_named(d, "192.0.3.0/24", HW_DIFF_GROUP_NETWORK);
	assert_int_equal(g->common.last_reached.ttl, 1);
	assert_addr_is(&g->common.last_reached.addr, "198.51.100.9");
	assert_addr_is(&g->common.first_lost.addr, "198.51.100.2");
	done(d, o, n);
}

/* ---- writers ---- */

static char *capture(int (*writer)(const struct hw_diff *, FILE *), const struct hw_diff *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(writer(d, f), HW_OK);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static json_t *target_json(json_t *root, const char *dst)
{
	json_t *targets = json_object_get(root, "targets");
	size_t i;
	json_t *t;
	json_array_foreach(targets, i, t)
		if (strcmp(json_string_value(json_object_get(t, "dst")), dst) == 0)
			return t;
	fail_msg("no target %s", dst);
	return NULL;
}

static void test_write_json(void **state)
{
	(void)state;
	static const bool broken[4] = {true, true, true, true}, deeper[4] = {false, false, false, false};
	struct hw_run *o, *n;
	struct hw_diff *d = net_diff(broken, deeper, &o, &n);
	o->id = 12;
	n->id = 13;
	char *text = capture(diff_write_json, d);
	json_error_t err;
	json_t *root = json_loads(text, 0, &err);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "schema")), "hopwatch-diff");
	assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "old"), "id")), 12);
	json_t *sum = json_object_get(root, "summary");
	assert_true(json_is_true(json_object_get(sum, "changes")));
	assert_int_equal(json_integer_value(json_object_get(sum, "broken")), 4);
	assert_int_equal(json_integer_value(json_object_get(sum, "targets")), 5);

	json_t *t = target_json(root, "175.45.178.1");
	assert_string_equal(json_string_value(json_object_get(t, "status")), "broken");
	assert_string_equal(json_string_value(json_object_get(t, "network")), "175.45.178.0/24");
	json_t *lr = json_object_get(t, "last_reached"), *fl = json_object_get(t, "first_lost");
	assert_string_equal(json_string_value(json_object_get(lr, "addr")), "202.97.0.7");
	assert_int_equal(json_integer_value(json_object_get(lr, "ttl")), 7);
	assert_int_equal(json_integer_value(json_object_get(lr, "asn")), 4837);
	assert_string_equal(json_string_value(json_object_get(fl, "addr")), "175.45.179.254");
	assert_int_equal(json_integer_value(json_object_get(fl, "ttl")), 8);
	assert_int_equal(json_integer_value(json_object_get(fl, "asn")), 131279);
	assert_string_equal(json_string_value(json_object_get(t, "where")), "border");
	assert_int_equal(json_integer_value(json_object_get(t, "transit_asn")), 4837);
	assert_int_equal(json_array_size(json_object_get(t, "changes")), 0);
	json_t *u = target_json(root, "192.0.2.200");
	assert_string_equal(json_string_value(json_object_get(u, "status")), "unchanged");
	assert_null(json_object_get(u, "last_reached"));

	json_t *nets = json_object_get(root, "networks");
	assert_int_equal(json_array_size(nets), 5);
	json_t *g = json_array_get(nets, 0);
	assert_string_equal(json_string_value(json_object_get(g, "network")), NET);
	assert_string_equal(json_string_value(json_object_get(g, "kind")), "prefix");
	assert_int_equal(json_integer_value(json_object_get(g, "targets")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(g, "counts"), "broken")), 4);
	json_t *cb = json_object_get(g, "common_break");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cb, "last_reached"), "ttl")), 7);
	assert_true(json_is_null(json_object_get(cb, "first_lost")));
	assert_int_equal(json_integer_value(json_object_get(cb, "to_asn")), 131279);
	assert_int_equal(json_array_size(json_object_get(g, "members")), 4);
	json_decref(root);
	free(text);
	done(d, o, n);
}

/* changes[] in JSON: ttl, old and new interface lists. */
static void test_write_json_changes(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D),
				  MK(D, "198.51.100.1", "*", "192.0.2.3", D), &o, &n, NULL);
	char *text = capture(diff_write_json, d);
	json_t *root = json_loads(text, 0, NULL);
	assert_non_null(root);
	json_t *t = target_json(root, D);
	assert_string_equal(json_string_value(json_object_get(t, "status")), "changed");
	json_t *c = json_array_get(json_object_get(t, "changes"), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "ttl")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "old"), 0)), "198.51.100.3");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "new"), 0)), "192.0.2.3");
	json_t *s = json_array_get(json_object_get(t, "silent"), 0);
	assert_int_equal(json_integer_value(json_object_get(s, "first_ttl")), 2);
	assert_string_equal(json_string_value(json_object_get(s, "run")), "new");
	json_decref(root);
	free(text);
	done(d, o, n);
}

static void test_write_text(void **state)
{
	(void)state;
	static const bool broken[4] = {true, true, true, true}, deeper[4] = {false, false, false, false};
	struct hw_run *o, *n;
	struct hw_diff *d = net_diff(broken, deeper, &o, &n);
	char *text = capture(diff_write_text, d);
	char *nl = strchr(text, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_string_equal(text, "4 of 5 targets changed: 4 broken, 1 unchanged");
	/* The second line: the network's break. */
	char *second = nl + 1;
	assert_true(starts_with(second, "  4/4 targets of 175.45.176.0/22 lost beyond hop 7 202.97.0.7 (AS4837)"));
	assert_non_null(strstr(second, "first lost:   hop 8 175.45.176.254 (AS131279)"));
	free(text);
	done(d, o, n);

	d = diff1(MK(D, "198.51.100.1", "198.51.100.2", D), MK(D, "198.51.100.1", "*", D), &o, &n, NULL);
	text = capture(diff_write_text, d);
	assert_true(starts_with(text, "no change in 1 target (1 with hops that only stopped answering)\n"));
	assert_non_null(strstr(text, "hop 2 silent in the new run only: no answer, not a path change"));
	free(text);
	done(d, o, n);
}

static void test_write_md(void **state)
{
	(void)state;
	static const bool broken[4] = {false, true, false, false}, deeper[4] = {false, false, false, false};
	struct hw_run *o, *n;
	struct hw_diff *d = net_diff(broken, deeper, &o, &n);
	char *text = capture(diff_write_md, d);
	assert_true(starts_with(text, "# hopwatch diff\n\n**1 of 5 targets changed: 1 broken, 4 unchanged**\n"));
	assert_non_null(strstr(text, "\n## Networks\n"));
	assert_non_null(strstr(text, "| 175.45.176.0/22 | 4 | 1 | 1 | 0 | 1 of 4 /24s of 175.45.176.0/22 unreachable"));
	assert_non_null(strstr(text, "| 175.45.177.1 (175.45.177.0/24) | broken | hop 7 202.97.0.7 (AS4837) | "
				     "hop 8 175.45.176.254 (AS131279) | at the AS4837 → AS131279 border"));
	assert_non_null(strstr(text, "\n4 other targets: no change, no silent hop.\n"));
	/* The broken target changed no TTL, and its AS path only lost the ASes beyond the
	 * break (the break says so): no "Changed hops" section, let alone an empty table
	 * (test_write_md_changed_hops checks the section's content). */
	assert_null(strstr(text, "## Changed hops"));
	assert_null(strstr(text, "|---:|---|---|\n\n"));
	free(text);
	done(d, o, n);
}

/* Markdown "Changed hops": a table of the TTLs that changed; an AS-path change alone (the
 * same interfaces annotated with other ASes) gets its line and no empty table. */
static void test_write_md_changed_hops(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", "198.51.100.2", "198.51.100.3", D),
				  MK(D, "198.51.100.1", "*", "192.0.2.3", D), &o, &n, NULL);
	char *text = capture(diff_write_md, d);
	assert_non_null(strstr(text, "\n## Changed hops\n\n### " D " — changed\n\n| hop | old | new |\n"
				     "|---:|---|---|\n| 3 | 198.51.100.3 | 192.0.2.3 |\n"));
	free(text);
	done(d, o, n);

	static const struct asmap before[] = {{"198.51.100.1", 64500}, {"198.51.100.2", 64500}, {D, 64501}};
	static const struct asmap after[] = {{"198.51.100.1", 64510}, {"198.51.100.2", 64510}, {D, 64501}};
	struct hw_trace *old = MK(D, "198.51.100.1", "198.51.100.2", D);
	struct hw_trace *new = MK(D, "198.51.100.1", "198.51.100.2", "*");
	annotate(old, before, 3);
	annotate(new, after, 3);
	d = diff1(old, new, &o, &n, NULL);
	assert_int_equal(d->targets[0].n_changes, 0);
	assert_true(d->targets[0].as_changed);
	text = capture(diff_write_md, d);
	const char *sec = strstr(text, "\n## Changed hops\n\n### " D " — broken\n");
	assert_non_null(sec);
	assert_null(strstr(sec, "| hop | old | new |"));
	assert_non_null(strstr(sec, "\nAS path: AS64500 AS64501 → AS64510\n"));
	free(text);
	done(d, o, n);
}

/* No target, or none that changed: a sentence, not an empty table. */
static void test_write_md_empty(void **state)
{
	(void)state;
	struct hw_run *r = run_new();
	assert_non_null(r);
	struct hw_diff *d;
	assert_int_equal(diff_runs(r, r, NULL, &d), HW_OK);
	char *text = capture(diff_write_md, d);
	assert_non_null(strstr(text, "\n## Targets\n\nNeither run has a trace: nothing to compare.\n"));
	assert_null(strstr(text, "| target | status"));
	assert_null(strstr(text, "## Changed hops"));
	free(text);
	diff_free(d);
	run_free(r);

	struct hw_run *o, *n;
	d = diff1(MK(D, "198.51.100.1", D), MK(D, "198.51.100.1", D), &o, &n, NULL);
	text = capture(diff_write_md, d);
	assert_non_null(strstr(text, "\n## Targets\n\nNo change in the one target, and no hop that "
				     "only stopped answering.\n"));
	assert_null(strstr(text, "| target | status"));
	assert_null(strstr(text, "other target"));
	free(text);
	done(d, o, n);
}

/* One of a thing is said in the singular. */
static void test_write_text_plural(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", D), MK(D, "198.51.100.1", "*"), &o, &n, NULL);
	char *text = capture(diff_write_text, d);
	assert_true(starts_with(text, "1 of 1 target changed: 1 broken\n"));
	assert_non_null(strstr(text, "\nold: 2026-11-24 22:30:00Z, 1 trace, vantage vp-test\n"));
	assert_null(strstr(text, "1 traces"));
	free(text);
	done(d, o, n);
}

/* A write error is reported. */
static void test_write_error(void **state)
{
	(void)state;
	struct hw_run *o, *n;
	struct hw_diff *d = diff1(MK(D, "198.51.100.1", D), MK(D, "198.51.100.2", D), &o, &n, NULL);
	FILE *f = fopen("/dev/full", "w");
	if (f == NULL) {
		/* No /dev/full here (a container without it): say so rather than pass. */
		done(d, o, n);
		skip();
	}
	assert_int_equal(diff_write_text(d, f), HW_ERR_IO);
	fclose(f);
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	assert_int_equal(diff_write_json(d, f), HW_ERR_IO);
	fclose(f);
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	assert_int_equal(diff_write_md(d, f), HW_ERR_IO);
	fclose(f);
	done(d, o, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_changed_with_as_path),
		cmocka_unit_test(test_changed_same_as_longer),
		cmocka_unit_test(test_lb_old_multipath),
		cmocka_unit_test(test_lb_new_multipath),
		cmocka_unit_test(test_lb_both_multipath),
		cmocka_unit_test(test_lb_links),
		cmocka_unit_test(test_lb_per_packet),
		cmocka_unit_test(test_silent_both),
		cmocka_unit_test(test_silent_one),
		cmocka_unit_test(test_skipped_not_compared),
		cmocka_unit_test(test_skipped_not_break),
		cmocka_unit_test(test_break_inside_as),
		cmocka_unit_test(test_break_on_border),
		cmocka_unit_test(test_break_no_as_unreach),
		cmocka_unit_test(test_break_nothing_left),
		cmocka_unit_test(test_ratelimited_not_break),
		cmocka_unit_test(test_break_after_detour),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_as_silent_no_change),
		cmocka_unit_test(test_as_one_run),
		cmocka_unit_test(test_transit_from_run),
		cmocka_unit_test(test_recovered),
		cmocka_unit_test(test_still_unreachable),
		cmocka_unit_test(test_not_comparable),
		cmocka_unit_test(test_only_one_side),
		cmocka_unit_test(test_pair_by_network),
		cmocka_unit_test(test_pair_network_flow),
		cmocka_unit_test(test_pair_by_name),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_aggregate_all_broken),
		cmocka_unit_test(test_aggregate_same_lost),
		cmocka_unit_test(test_aggregate_partial),
		cmocka_unit_test(test_aggregate_no_common),
		cmocka_unit_test(test_write_json),
		cmocka_unit_test(test_write_json_changes),
		cmocka_unit_test(test_write_text),
		cmocka_unit_test(test_write_md),
		cmocka_unit_test(test_write_md_changed_hops),
		cmocka_unit_test(test_write_md_empty),
		cmocka_unit_test(test_write_text_plural),
		cmocka_unit_test(test_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
