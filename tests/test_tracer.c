/* The Paris trace state machine, fed synthetic answers and a synthetic clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include <hopwatch/status.h>
#include <hopwatch/tracer.h>

#define MS 1000u

struct fixture {
	struct hw_trace_opts opts;
	struct hw_flow flow;
	struct hw_trace *trace;
	hw_tracer_t *tracer;
};

static struct hw_addr addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t bytes[4] = {a, b, c, d};
	struct hw_addr x;
	hw_addr_set(&x, AF_INET, bytes);
	return x;
}

static void start(struct fixture *f, const struct hw_trace_opts *opts)
{
	struct hw_addr src = addr4(198, 18, 0, 2), dst = addr4(198, 18, 9, 2);
	f->opts = *opts;
	assert_int_equal(probe_flow_init(&f->flow, HW_METHOD_UDP, &src, &dst, 0, 0, 7), HW_OK);
	f->trace = trace_new(&f->flow, opts->first_ttl, opts->max_ttl, opts->probes_per_hop);
	assert_non_null(f->trace);
	f->tracer = tracer_new(opts, &f->flow, f->trace);
	assert_non_null(f->tracer);
}

static void finish(struct fixture *f)
{
	tracer_free(f->tracer);
	trace_free(f->trace);
}

/* The address a router at this TTL answers from: 198.18.<ttl>.1. */
static struct hw_reply_pkt answer(const struct fixture *f, uint8_t ttl, enum hw_reply_kind kind,
				  uint8_t code)
{
	struct hw_reply_pkt r;
	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.from = kind == HW_REPLY_TIME_EXCEEDED ? addr4(198, 18, ttl, 1) : f->flow.dst;
	r.icmp_type = kind == HW_REPLY_TIME_EXCEEDED ? 11 : 3;
	r.icmp_code = code;
	r.method = f->flow.method;
	r.probe_src = f->flow.src;
	r.probe_dst = f->flow.dst;
	r.sport = f->flow.sport;
	r.dport = f->flow.dport;
	r.instance = f->flow.instance;
	r.has_instance = true;
	r.quoted_ttl = 1;
	r.has_quoted_ttl = true;
	r.reply_ttl = (uint8_t)(65 - ttl);
	return r;
}

/* Sends everything the tracer gives out at `now`; returns how many. */
static unsigned send_all(struct fixture *f, uint64_t now, uint8_t *ttls, uint8_t *attempts,
			 unsigned max)
{
	unsigned n = 0;
	uint8_t ttl, attempt;
	while (n < max && tracer_next(f->tracer, now, &ttl, &attempt)) {
		ttls[n] = ttl;
		attempts[n] = attempt;
		n++;
	}
	return n;
}

static struct hw_trace_opts defaults(void)
{
	struct hw_trace_opts o;
	tracer_opts_default(&o);
	return o;
}

static void test_chain_reaches_destination(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	start(&f, &o);
	uint8_t ttls[64], atts[64];
	/* Before anything answers, at most gap_limit TTLs go out. */
	unsigned n = send_all(&f, 0, ttls, atts, 64);
	assert_int_equal(n, 15);
	assert_int_equal(ttls[14], 5);
	assert_int_equal(tracer_in_flight(f.tracer), 15);
	for (unsigned i = 0; i < n; i++) {
		enum hw_reply_kind k = ttls[i] < 4 ? HW_REPLY_TIME_EXCEEDED : HW_REPLY_UNREACH;
		struct hw_reply_pkt r = answer(&f, ttls[i], k, 3);
		bool taken = tracer_reply(f.tracer, ttls[i], atts[i], &r, 100 + i);
		/* TTL 5 was cancelled once the destination answered at TTL 4. */
		assert_int_equal(taken, ttls[i] <= 4);
	}
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_COMPLETED);
	assert_int_equal(f.trace->stop_ttl, 4);
	assert_int_equal(f.trace->n_hops, 4);
	assert_int_equal(f.trace->replies, 12);
	for (uint8_t t = 1; t <= 4; t++) {
		struct hw_hop *h = trace_hop(f.trace, t);
		assert_int_equal(h->n_replies, 3);
		assert_int_equal(h->probes_sent, 3);
	}
	struct hw_hop *h1 = trace_hop(f.trace, 1);
	assert_true(hw_addr_eq(&h1->replies[0].addr, &(struct hw_addr){0}) == false);
	assert_int_equal(h1->replies[0].addr.a[2], 1);
	assert_true(h1->replies[0].rtt_ms > 0.09 && h1->replies[0].rtt_ms < 0.2);
	finish(&f);
}

static void test_window_bounds_flight(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	o.window = 4;
	start(&f, &o);
	uint8_t ttls[64], atts[64];
	assert_int_equal(send_all(&f, 0, ttls, atts, 64), 4);
	struct hw_reply_pkt r = answer(&f, ttls[0], HW_REPLY_TIME_EXCEEDED, 0);
	assert_true(tracer_reply(f.tracer, ttls[0], atts[0], &r, 50));
	assert_int_equal(send_all(&f, 60, ttls, atts, 64), 1);
	assert_int_equal(tracer_in_flight(f.tracer), 4);
	finish(&f);
}

static void test_cut_path_stops_at_gap(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	start(&f, &o);
	uint8_t ttls[64], atts[64];
	unsigned n = send_all(&f, 0, ttls, atts, 64);
	/* Hops 1 and 2 answer; the path is cut after them. */
	for (unsigned i = 0; i < n; i++) {
		if (ttls[i] <= 2) {
			struct hw_reply_pkt r = answer(&f, ttls[i], HW_REPLY_TIME_EXCEEDED, 0);
			assert_true(tracer_reply(f.tracer, ttls[i], atts[i], &r, 200));
		}
	}
	/* Now up to TTL 2 + 5 may go out. */
	n = send_all(&f, 300, ttls, atts, 64);
	assert_int_equal(n, 6);
	assert_int_equal(ttls[n - 1], 7);
	assert_false(tracer_done(f.tracer));
	/* No farther hop ever answered: the full wait applies, not the adaptive one. */
	uint64_t deadline = tracer_deadline(f.tracer);
	assert_int_equal(deadline, 3000000u);
	tracer_expire(f.tracer, deadline - 1);
	assert_false(tracer_done(f.tracer));
	tracer_expire(f.tracer, 3000300u);
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_GAPLIMIT);
	assert_int_equal(f.trace->stop_ttl, 7);
	assert_int_equal(f.trace->n_hops, 7);
	assert_int_equal(trace_hop(f.trace, 3)->n_replies, 0);
	finish(&f);
}

static void test_silent_hop_adaptive_wait(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	start(&f, &o);
	uint8_t ttls[64], atts[64];
	unsigned n = send_all(&f, 1000, ttls, atts, 64);
	/* TTL 2 is silent; the others answer in 100 µs; the destination is at 4. */
	for (unsigned i = 0; i < n; i++) {
		if (ttls[i] == 2 || ttls[i] > 4)
			continue;
		enum hw_reply_kind k = ttls[i] < 4 ? HW_REPLY_TIME_EXCEEDED : HW_REPLY_UNREACH;
		struct hw_reply_pkt r = answer(&f, ttls[i], k, 3);
		assert_true(tracer_reply(f.tracer, ttls[i], atts[i], &r, 1100));
	}
	assert_false(tracer_done(f.tracer));
	/* near: 10 x 100 µs = 1 ms, below the 5 ms floor: the floor applies. */
	assert_int_equal(tracer_deadline(f.tracer), 1000 + 5 * MS);
	tracer_expire(f.tracer, 1000 + 5 * MS);
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_COMPLETED);
	assert_int_equal(f.trace->n_hops, 4);
	assert_int_equal(trace_hop(f.trace, 2)->n_replies, 0);
	assert_int_equal(trace_hop(f.trace, 2)->probes_sent, 3);
	finish(&f);
}

static void test_here_rule_for_rate_limited_hop(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	o.max_ttl = 1;
	o.wait_min = 0;
	start(&f, &o);
	uint8_t ttls[8], atts[8];
	assert_int_equal(send_all(&f, 0, ttls, atts, 8), 3);
	struct hw_reply_pkt r = answer(&f, 1, HW_REPLY_TIME_EXCEEDED, 0);
	/* One of three answers after 2 ms; the other two are given up at 3 x 2 ms. */
	assert_true(tracer_reply(f.tracer, 1, 0, &r, 2 * MS));
	assert_int_equal(tracer_deadline(f.tracer), 6 * MS);
	tracer_expire(f.tracer, 6 * MS);
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_MAXTTL);
	assert_int_equal(f.trace->n_hops, 1);
	finish(&f);
}

static void test_unreachable_stops_and_marks(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	o.probes_per_hop = 1;
	start(&f, &o);
	uint8_t ttls[64], atts[64];
	unsigned n = send_all(&f, 0, ttls, atts, 64);
	assert_int_equal(n, 5);
	struct hw_reply_pkt r = answer(&f, 1, HW_REPLY_TIME_EXCEEDED, 0);
	assert_true(tracer_reply(f.tracer, 1, 0, &r, 10));
	r = answer(&f, 2, HW_REPLY_UNREACH, 1); /* host unreachable from a router */
	r.from = addr4(198, 18, 2, 1);
	assert_true(tracer_reply(f.tracer, 2, 0, &r, 20));
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_UNREACH);
	assert_int_equal(f.trace->stop_ttl, 2);
	assert_int_equal(tracer_in_flight(f.tracer), 0);
	/* An answer for a cancelled probe is not taken. */
	r = answer(&f, 3, HW_REPLY_TIME_EXCEEDED, 0);
	assert_false(tracer_reply(f.tracer, 3, 0, &r, 30));
	finish(&f);
}

static void test_duplicate_and_unknown_answers(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	start(&f, &o);
	uint8_t ttls[64], atts[64];
	send_all(&f, 0, ttls, atts, 64);
	struct hw_reply_pkt r = answer(&f, 1, HW_REPLY_TIME_EXCEEDED, 0);
	assert_true(tracer_reply(f.tracer, 1, 0, &r, 10));
	assert_false(tracer_reply(f.tracer, 1, 0, &r, 11)); /* duplicate */
	assert_false(tracer_reply(f.tracer, 9, 0, &r, 12)); /* never sent */
	assert_false(tracer_reply(f.tracer, 1, 7, &r, 12)); /* no such attempt */
	assert_false(tracer_reply(f.tracer, 0, 0, &r, 12));
	assert_int_equal(trace_hop(f.trace, 1)->n_replies, 1);
	finish(&f);
}

static void test_gap_then_answer_continues(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	o.gap_limit = 2;
	o.probes_per_hop = 1;
	o.max_ttl = 6;
	start(&f, &o);
	uint8_t ttls[64], atts[64];
	unsigned n = send_all(&f, 0, ttls, atts, 64);
	assert_int_equal(n, 2); /* TTL 1, 2 */
	struct hw_reply_pkt r = answer(&f, 2, HW_REPLY_TIME_EXCEEDED, 0);
	assert_true(tracer_reply(f.tracer, 2, 0, &r, 100));
	tracer_expire(f.tracer, 3000000u); /* TTL 1 silent: one silent hop is no gap */
	assert_false(tracer_done(f.tracer));
	n = send_all(&f, 3000000u, ttls, atts, 64);
	assert_int_equal(n, 2); /* TTL 3, 4 */
	tracer_expire(f.tracer, 6000000u);
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_GAPLIMIT);
	assert_int_equal(f.trace->stop_ttl, 4);
	finish(&f);
}

static void test_unsend_gives_probe_back(void **state)
{
	(void)state;
	struct fixture f;
	struct hw_trace_opts o = defaults();
	start(&f, &o);
	uint8_t ttl, attempt, ttl2, attempt2;
	assert_true(tracer_next(f.tracer, 0, &ttl, &attempt));
	tracer_unsend(f.tracer, ttl, attempt);
	assert_int_equal(tracer_in_flight(f.tracer), 0);
	assert_int_equal(f.trace->probes_sent, 0);
	assert_true(tracer_next(f.tracer, 1, &ttl2, &attempt2));
	assert_int_equal(ttl2, ttl);
	assert_int_equal(attempt2, attempt);
	tracer_abort(f.tracer);
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_ERROR);
	finish(&f);
}

static void test_options_checked(void **state)
{
	(void)state;
	struct hw_trace_opts o = defaults();
	const char *why = NULL;
	assert_int_equal(tracer_opts_check(&o, &why), HW_OK);
	assert_null(why);
	o.max_ttl = 0;
	assert_int_equal(tracer_opts_check(&o, &why), HW_ERR_INVAL);
	assert_non_null(why);
	o = defaults();
	o.probes_per_hop = 11;
	assert_int_equal(tracer_opts_check(&o, NULL), HW_ERR_INVAL);
	o = defaults();
	o.wait_max = 0;
	assert_int_equal(tracer_opts_check(&o, NULL), HW_ERR_INVAL);
	struct hw_flow flow = {0};
	assert_null(tracer_new(&o, &flow, NULL));
}

/* ---- Doubletree ---- */

static void start_dt(struct fixture *f, struct hw_trace_opts *o, hw_stopset_t *set,
		     uint8_t start_ttl)
{
	o->doubletree = true;
	o->start_ttl = start_ttl;
	start(f, o);
	tracer_set_stopset(f->tracer, set);
}

/* Sends the one probe the tracer gives out now; fails the test when there is none. */
static uint8_t send_one(struct fixture *f, uint64_t now, uint8_t *attempt)
{
	uint8_t ttl, a;
	assert_true(tracer_next(f->tracer, now, &ttl, &a));
	if (attempt != NULL)
		*attempt = a;
	return ttl;
}

static void reply_router(struct fixture *f, uint8_t ttl, uint8_t attempt, uint64_t now)
{
	struct hw_reply_pkt r = answer(f, ttl, HW_REPLY_TIME_EXCEEDED, 0);
	assert_true(tracer_reply(f->tracer, ttl, attempt, &r, now));
}

static void reply_destination(struct fixture *f, uint8_t ttl, uint8_t attempt, uint64_t now)
{
	struct hw_reply_pkt r = answer(f, ttl, HW_REPLY_UNREACH, 3);
	assert_true(tracer_reply(f->tracer, ttl, attempt, &r, now));
}

static struct hw_trace_opts dt_defaults(void)
{
	struct hw_trace_opts o = defaults();
	o.probes_per_hop = 1;
	return o;
}

/* The doubletree trace is over: why, at which TTL, and where the stop set was met (0: not). */
static void assert_dt_stopped(const struct fixture *f, enum hw_stop_reason reason,
			      uint8_t stop_ttl, uint8_t stop_set_ttl)
{
	assert_true(tracer_done(f->tracer));
	assert_int_equal(f->trace->stop_reason, reason);
	assert_int_equal(f->trace->stop_ttl, stop_ttl);
	assert_int_equal(f->trace->stop_set_ttl, stop_set_ttl);
}

static void test_dt_first_trace_probes_everything(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct fixture f;
	struct hw_trace_opts o = dt_defaults();
	start_dt(&f, &o, set, 0);
	uint8_t ttls[64], atts[64];
	/* No distance known yet: h is the first TTL, all goes as without doubletree. */
	unsigned n = send_all(&f, 0, ttls, atts, 64);
	assert_int_equal(n, 5);
	assert_int_equal(ttls[0], 1);
	for (unsigned i = 0; i < n; i++) {
		if (ttls[i] < 4)
			reply_router(&f, ttls[i], atts[i], 100);
		else if (ttls[i] == 4)
			reply_destination(&f, 4, atts[i], 100);
	}
	assert_dt_stopped(&f, HW_STOP_COMPLETED, 4, 0);
	for (uint8_t t = 1; t <= 4; t++)
		assert_false(trace_hop(f.trace, t)->skipped);
	/* Its routers are in the stop set, its destination is not; the distance is noted. */
	assert_int_equal(stopset_size(set), 3);
	struct hw_addr r2 = addr4(198, 18, 2, 1);
	assert_true(stopset_has(set, &r2, 0));
	assert_false(stopset_has(set, &f.flow.dst, 0));
	assert_int_equal(stopset_distances(set), 1);
	assert_int_equal(stopset_start_ttl(set, 1, 30), 4);
	finish(&f);
	stopset_free(set);
}

static void test_dt_backward_stops_at_stop_set(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct hw_addr r2 = addr4(198, 18, 2, 1);
	assert_int_equal(stopset_add(set, &r2, 0), HW_OK);
	stopset_note_distance(set, 3);
	struct fixture f;
	struct hw_trace_opts o = dt_defaults();
	start_dt(&f, &o, set, 0);
	/* h = 3 from the distance seen (this destination is farther, at 4); the forward
	 * probe goes first, then backward. */
	assert_int_equal(send_one(&f, 0, NULL), 3);
	assert_int_equal(send_one(&f, 0, NULL), 2);
	/* Only one backward TTL at a time: the next probe is forward. */
	assert_int_equal(send_one(&f, 0, NULL), 4);
	/* Forward goes on up to the gap limit counted from h - 1 (TTL 7); never TTL 1. */
	uint8_t ttls[64], atts[64];
	unsigned n = send_all(&f, 0, ttls, atts, 64);
	assert_int_equal(n, 3);
	assert_int_equal(ttls[0], 5);
	assert_int_equal(ttls[2], 7);
	reply_router(&f, 3, 0, 100);
	reply_router(&f, 2, 0, 110); /* 198.18.2.1: in the stop set */
	reply_destination(&f, 4, 0, 120);
	assert_dt_stopped(&f, HW_STOP_COMPLETED, 4, 2);
	assert_int_equal(f.trace->probes_sent, 6);
	assert_int_equal(tracer_in_flight(f.tracer), 0);
	assert_int_equal(f.trace->n_hops, 4);
	assert_true(trace_hop(f.trace, 1)->skipped);
	assert_int_equal(trace_hop(f.trace, 1)->probes_sent, 0);
	assert_false(trace_hop(f.trace, 2)->skipped);
	assert_int_equal(trace_hop(f.trace, 2)->n_replies, 1);
	assert_false(trace_hop(f.trace, 3)->skipped);
	finish(&f);
	stopset_free(set);
}

static void test_dt_silent_backward_hops_continue(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct hw_addr r2 = addr4(198, 18, 2, 1);
	stopset_add(set, &r2, 0);
	struct fixture f;
	struct hw_trace_opts o = dt_defaults();
	o.max_ttl = 6;
	start_dt(&f, &o, set, 5);
	uint8_t att;
	assert_int_equal(send_one(&f, 0, &att), 5);
	assert_int_equal(send_one(&f, 0, &att), 4);
	assert_int_equal(send_one(&f, 0, &att), 6);
	reply_router(&f, 5, 0, 100);
	reply_destination(&f, 6, 0, 110);
	/* TTL 4 is silent: TTL 3 waits until it is given up. */
	uint8_t ttl;
	assert_false(tracer_next(f.tracer, 200, &ttl, &att));
	assert_false(tracer_done(f.tracer));
	tracer_expire(f.tracer, tracer_deadline(f.tracer));
	assert_int_equal(send_one(&f, 20000, &att), 3);
	tracer_expire(f.tracer, tracer_deadline(f.tracer));
	assert_false(tracer_done(f.tracer));
	assert_int_equal(send_one(&f, 40000, &att), 2);
	reply_router(&f, 2, 0, 40100);
	assert_dt_stopped(&f, HW_STOP_COMPLETED, 6, 2);
	assert_true(trace_hop(f.trace, 1)->skipped);
	for (uint8_t t = 2; t <= 6; t++)
		assert_false(trace_hop(f.trace, t)->skipped);
	assert_int_equal(trace_hop(f.trace, 3)->n_replies, 0);
	assert_int_equal(trace_hop(f.trace, 3)->probes_sent, 1);
	assert_int_equal(trace_hop(f.trace, 4)->n_replies, 0);
	assert_int_equal(f.trace->probes_sent, 5);
	finish(&f);
	stopset_free(set);
}

static void test_dt_backward_gap_limit(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct fixture f;
	struct hw_trace_opts o = dt_defaults();
	o.gap_limit = 2;
	start_dt(&f, &o, set, 6);
	uint8_t att, ttl;
	assert_int_equal(send_one(&f, 0, &att), 6);
	assert_int_equal(send_one(&f, 0, &att), 5);
	assert_int_equal(send_one(&f, 0, &att), 7);
	reply_router(&f, 6, 0, 100);
	reply_destination(&f, 7, 0, 100);
	tracer_expire(f.tracer, tracer_deadline(f.tracer)); /* 5 silent */
	assert_int_equal(send_one(&f, 10000, &att), 4);
	tracer_expire(f.tracer, tracer_deadline(f.tracer)); /* 4 silent: a gap of 2 */
	assert_false(tracer_next(f.tracer, 20000, &ttl, &att));
	assert_dt_stopped(&f, HW_STOP_COMPLETED, 7, 4);
	for (uint8_t t = 1; t <= 3; t++) {
		assert_true(trace_hop(f.trace, t)->skipped);
		assert_int_equal(trace_hop(f.trace, t)->probes_sent, 0);
	}
	assert_false(trace_hop(f.trace, 4)->skipped);
	finish(&f);
	stopset_free(set);
}

static void test_dt_destination_at_h(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct hw_addr r2 = addr4(198, 18, 2, 1);
	stopset_add(set, &r2, 0);
	struct fixture f;
	struct hw_trace_opts o = dt_defaults();
	start_dt(&f, &o, set, 4);
	uint8_t att, ttl;
	assert_int_equal(send_one(&f, 0, &att), 4);
	reply_destination(&f, 4, 0, 100);
	/* The forward part is over at h; backward still runs until the stop set. */
	assert_false(tracer_done(f.tracer));
	assert_int_equal(send_one(&f, 200, &att), 3);
	assert_false(tracer_next(f.tracer, 200, &ttl, &att));
	reply_router(&f, 3, 0, 300); /* not in the set: on down */
	assert_false(tracer_done(f.tracer));
	assert_int_equal(send_one(&f, 400, &att), 2);
	reply_router(&f, 2, 0, 500);
	assert_dt_stopped(&f, HW_STOP_COMPLETED, 4, 2);
	assert_int_equal(f.trace->probes_sent, 3);
	assert_true(trace_hop(f.trace, 1)->skipped);
	finish(&f);
	stopset_free(set);
}

static void test_dt_overshoot_comes_back(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct hw_addr r3 = addr4(198, 18, 3, 1);
	stopset_add(set, &r3, 0);
	struct fixture f;
	struct hw_trace_opts o = dt_defaults();
	start_dt(&f, &o, set, 6);
	uint8_t att;
	/* The destination is at 4: it answers at 6, 5 and 4; TTL 3 is a known router. */
	assert_int_equal(send_one(&f, 0, &att), 6);
	reply_destination(&f, 6, 0, 100);
	assert_int_equal(send_one(&f, 200, &att), 5);
	reply_destination(&f, 5, 0, 300);
	assert_int_equal(send_one(&f, 400, &att), 4);
	reply_destination(&f, 4, 0, 500);
	assert_false(tracer_done(f.tracer));
	assert_int_equal(send_one(&f, 600, &att), 3);
	reply_router(&f, 3, 0, 700);
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_COMPLETED);
	assert_int_equal(f.trace->stop_ttl, 4);
	assert_int_equal(f.trace->n_hops, 4);
	assert_int_equal(f.trace->stop_set_ttl, 3);
	assert_true(trace_hop(f.trace, 2)->skipped);
	/* The destination is no interface on the way out: not in the set. */
	assert_false(stopset_has(set, &f.flow.dst, 0));
	assert_int_equal(stopset_start_ttl(set, 1, 30), 4);
	finish(&f);
	stopset_free(set);
}

static void test_dt_start_beyond_max(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct fixture f;
	struct hw_trace_opts o = dt_defaults();
	o.max_ttl = 3;
	start_dt(&f, &o, set, 40);
	uint8_t att, ttl;
	/* h is kept within the TTL range: max_ttl, then backward. */
	assert_int_equal(send_one(&f, 0, &att), 3);
	assert_int_equal(send_one(&f, 0, &att), 2);
	assert_false(tracer_next(f.tracer, 0, &ttl, &att));
	reply_router(&f, 3, 0, 100);
	reply_router(&f, 2, 0, 100);
	assert_int_equal(send_one(&f, 200, &att), 1);
	reply_router(&f, 1, 0, 300);
	/* Empty stop set: backward went down to the first TTL; nothing is skipped. */
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_reason, HW_STOP_MAXTTL);
	assert_int_equal(f.trace->stop_set_ttl, 0);
	assert_int_equal(f.trace->probes_sent, 3);
	for (uint8_t t = 1; t <= 3; t++)
		assert_false(trace_hop(f.trace, t)->skipped);
	finish(&f);
	stopset_free(set);
}

static void test_dt_stop_set_hop_sends_no_more(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct hw_addr r2 = addr4(198, 18, 2, 1);
	stopset_add(set, &r2, 0);
	struct fixture f;
	struct hw_trace_opts o = defaults(); /* 3 probes per hop */
	start_dt(&f, &o, set, 3);
	uint8_t att;
	assert_int_equal(send_one(&f, 0, &att), 3);
	assert_int_equal(send_one(&f, 0, &att), 2);
	assert_int_equal(att, 0);
	/* Its first answer names a known interface: attempts 1 and 2 are not needed. */
	reply_router(&f, 2, 0, 100);
	uint8_t ttls[64], atts[64];
	unsigned n = send_all(&f, 200, ttls, atts, 64);
	for (unsigned i = 0; i < n; i++)
		assert_true(ttls[i] >= 3);
	for (unsigned i = 0; i < n; i++) {
		if (ttls[i] == 3)
			reply_router(&f, 3, atts[i], 300);
		else if (ttls[i] == 4)
			reply_destination(&f, 4, atts[i], 300);
	}
	reply_router(&f, 3, 0, 300);
	assert_true(tracer_done(f.tracer));
	assert_int_equal(f.trace->stop_ttl, 4);
	assert_int_equal(f.trace->stop_set_ttl, 2);
	assert_int_equal(trace_hop(f.trace, 2)->probes_sent, 1);
	assert_int_equal(trace_hop(f.trace, 3)->probes_sent, 3);
	assert_int_equal(trace_hop(f.trace, 4)->probes_sent, 3);
	finish(&f);
	stopset_free(set);
}

static void test_dt_unsend_backward(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct fixture f;
	struct hw_trace_opts o = dt_defaults();
	start_dt(&f, &o, set, 4);
	uint8_t att, ttl;
	assert_int_equal(send_one(&f, 0, &att), 4);
	assert_int_equal(send_one(&f, 0, &att), 3);
	tracer_unsend(f.tracer, 3, att);
	assert_int_equal(f.trace->probes_sent, 1);
	assert_true(tracer_next(f.tracer, 1, &ttl, &att));
	assert_int_equal(ttl, 3);
	assert_int_equal(att, 0);
	/* A start TTL without doubletree is refused. */
	struct hw_trace_opts bad = defaults();
	bad.start_ttl = 3;
	assert_int_equal(tracer_opts_check(&bad, NULL), HW_ERR_INVAL);
	finish(&f);
	stopset_free(set);
}

static void test_dt_own_interface_is_no_stop(void **state)
{
	(void)state;
	hw_stopset_t *set = stopset_new(0);
	struct fixture f;
	struct hw_trace_opts o = defaults(); /* 3 probes per hop */
	o.max_ttl = 3;
	start_dt(&f, &o, set, 3);
	uint8_t att;
	assert_int_equal(send_one(&f, 0, &att), 3);
	assert_int_equal(send_one(&f, 0, &att), 2);
	reply_router(&f, 2, 0, 100);
	/* Its second probe of TTL 2 meets the interface its first one put in the set: the
	 * path below is not known for that, backward goes on. */
	assert_int_equal(send_one(&f, 200, &att), 2);
	assert_int_equal(att, 1);
	reply_router(&f, 2, 1, 300);
	assert_int_equal(f.trace->stop_set_ttl, 0);
	/* Another trace of the run does stop there. */
	struct fixture g;
	struct hw_trace_opts og = defaults();
	og.max_ttl = 3;
	start_dt(&g, &og, set, 3);
	assert_int_equal(send_one(&g, 0, &att), 3);
	assert_int_equal(send_one(&g, 0, &att), 2);
	reply_router(&g, 2, 0, 100);
	assert_int_equal(g.trace->stop_set_ttl, 2);
	finish(&g);
	finish(&f);
	stopset_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_reaches_destination),
		cmocka_unit_test(test_window_bounds_flight),
		cmocka_unit_test(test_cut_path_stops_at_gap),
		cmocka_unit_test(test_silent_hop_adaptive_wait),
		cmocka_unit_test(test_here_rule_for_rate_limited_hop),
		cmocka_unit_test(test_unreachable_stops_and_marks),
		cmocka_unit_test(test_duplicate_and_unknown_answers),
		cmocka_unit_test(test_gap_then_answer_continues),
		cmocka_unit_test(test_unsend_gives_probe_back),
		cmocka_unit_test(test_options_checked),
		cmocka_unit_test(test_dt_first_trace_probes_everything),
		cmocka_unit_test(test_dt_backward_stops_at_stop_set),
		cmocka_unit_test(test_dt_silent_backward_hops_continue),
		cmocka_unit_test(test_dt_backward_gap_limit),
		cmocka_unit_test(test_dt_destination_at_h),
		cmocka_unit_test(test_dt_overshoot_comes_back),
		cmocka_unit_test(test_dt_start_beyond_max),
		cmocka_unit_test(test_dt_stop_set_hop_sends_no_more),
		cmocka_unit_test(test_dt_unsend_backward),
		cmocka_unit_test(test_dt_own_interface_is_no_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
