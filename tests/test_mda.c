/*
 * Multipath discovery (mda.c) driven through a simulated network (simnet.c): every link
 * found, no false link, the destination reached, and the probes it took, for MDA-Lite
 * and the MDA at 95 and 99 % on the lab's topologies and a few more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/mda.h>
#include <hopwatch/output.h>
#include <hopwatch/status.h>

#include "simnet.h"

/* ---- topologies (tools/topologies, same link order and so the same addresses) ---- */

struct topo {
	const char *name;
	const char *links;
	const char *marks;
	size_t n_links;  /* ground truth, for a check of simnet itself */
};

static const struct topo chain = {"chain", "v-r1 r1-r2 r2-r3 r3-d", NULL, 3};
static const struct topo diamond2 = {
	"diamond2", "v-r1 r1-a1 a1-a2 a2-r2 r1-b1 b1-b2 b2-r2 r2-d", NULL, 8};
static const struct topo diamond4 = {
	"diamond4",
	"v-r1 r1-a1 a1-a2 a2-r2 r1-b1 b1-b2 b2-r2 r1-c1 c1-c2 c2-r2 r1-e1 e1-e2 e2-r2 r2-d",
	NULL, 16};
/* 2 wide, then 4 wide meshed; routers answer from the ingress interface: 22 links. */
static const struct topo meshed = {
	"meshed",
	"v-r1 r1-a r1-b a-c1 a-c2 a-c3 a-c4 b-c1 b-c2 b-c3 b-c4 c1-r2 c2-r2 c3-r2 c4-r2 r2-d",
	NULL, 22};
/* The same routers each answering from one address: meshing between TTLs 2 and 3. */
static const struct topo meshed_lo = {
	"meshed-loopback",
	"v-r1 r1-a r1-b a-c1 a-c2 a-c3 a-c4 b-c1 b-c2 b-c3 b-c4 c1-r2 c2-r2 c3-r2 c4-r2 r2-d",
	"r1:loopback a:loopback b:loopback c1:loopback c2:loopback c3:loopback c4:loopback "
	"r2:loopback",
	15};
/*
 * The lab's meshed34: p1 and p2 each reach a and b, which each reach c1..c4; ingress
 * addresses make TTL 3 four wide and TTL 4 eight wide, meshed. Node control's new flows
 * at TTL 3 can show an interface there that no flow probed at TTL 2 reaches.
 */
static const struct topo meshed34 = {
	"meshed34",
	"v-r1 r1-p1 r1-p2 p1-a p1-b p2-a p2-b a-c1 a-c2 a-c3 a-c4 b-c1 b-c2 b-c3 b-c4 c1-r2 "
	"c2-r2 c3-r2 c4-r2 r2-d",
	NULL, 34};
static const struct topo unequal = {
	"unequal", "v-r1 r1-a1 a1-r2 r1-b1 b1-b2 b2-r2 r2-d", NULL, 7};
/* Ingress addresses make r2's two interfaces a meshed pair of TTLs (r2 fans out). */
static const struct topo series = {
	"series", "v-r1 r1-a r1-b a-r2 b-r2 r2-c r2-e c-r3 e-r3 r3-d", NULL, 12};
static const struct topo series_lo = {
	"series-loopback", "v-r1 r1-a r1-b a-r2 b-r2 r2-c r2-e c-r3 e-r3 r3-d",
	"r1:loopback a:loopback b:loopback r2:loopback c:loopback e:loopback r3:loopback", 9};
/* A 2-wide diamond with a silent router in one branch. */
static const struct topo silent_branch = {
	"silent-branch", "v-r1 r1-a1 a1-a2 a2-r2 r1-b1 b1-b2 b2-r2 r2-d", "a1:silent", 6};
static const struct topo silent_chain = {
	"silent-chain", "v-r1 r1-r2 r2-r3 r3-r4 r4-d", "r2:silent", 2};
/* Uneven fan-out: a splits 3 ways, b does not split. */
static const struct topo uneven = {
	"uneven", "v-r1 r1-a r1-b a-x a-y a-z b-w x-r2 y-r2 z-r2 w-r2 r2-d",
	"r1:loopback a:loopback b:loopback x:loopback y:loopback z:loopback w:loopback "
	"r2:loopback",
	11};
/* One interface with two predecessors among unmeshed ones: the meshing test's hard case. */
static const struct topo partial_mesh = {
	"partial-mesh", "v-r1 r1-a r1-b a-c1 a-c2 b-c2 b-c3 c1-r2 c2-r2 c3-r2 r2-d",
	"r1:loopback a:loopback b:loopback c1:loopback c2:loopback c3:loopback r2:loopback", 10};
/* 2 wide then 8 wide, fully meshed, one address per router: little free evidence. */
static const struct topo mesh8 = {
	"mesh8",
	"v-r1 r1-a r1-b a-c1 a-c2 a-c3 a-c4 a-c5 a-c6 a-c7 a-c8 b-c1 b-c2 b-c3 b-c4 b-c5 "
	"b-c6 b-c7 b-c8 c1-r2 c2-r2 c3-r2 c4-r2 c5-r2 c6-r2 c7-r2 c8-r2 r2-d",
	"r1:loopback a:loopback b:loopback c1:loopback c2:loopback c3:loopback c4:loopback "
	"c5:loopback c6:loopback c7:loopback c8:loopback r2:loopback",
	27};
static const struct topo perpacket = {
	"perpacket", "v-r1 r1-a1 a1-a2 a2-r2 r1-b1 b1-b2 b2-r2 r2-d", "r1:perpacket", 8};
/*
 * The lab's perpacket topology: r1 takes turns (nftables numgen inc), so one flow's
 * consecutive packets alternate but probes sent in turn can cross over the same way at
 * every TTL (a1's flows reaching b2, b1's reaching a2): no meshing shows, and only
 * repeating a flow tells the balancing from per-flow paths.
 */
static const struct topo perpacket_rr = {
	"perpacket-rr", "v-r1 r1-a1 a1-a2 a2-r2 r1-b1 b1-b2 b2-r2 r2-d", "r1:roundrobin", 8};

/* ---- driving the state machine with the simulated network ---- */

struct pending {
	uint64_t at;
	uint16_t flow;
	uint8_t ttl, attempt;
	struct hw_reply_pkt pkt;
};

struct result {
	struct hw_trace *trace;
	struct hw_mda_stats st;
	size_t truth, found, false_links;
	unsigned steps;
};

#define T0 1000000ULL
#define MAX_PENDING 4096

static struct hw_flow base_flow(const struct sim *net)
{
	struct hw_flow f;

	memset(&f, 0, sizeof(f));
	f.method = HW_METHOD_UDP;
	assert_int_equal(hw_addr_parse("198.18.0.1", &f.src), HW_OK);
	f.dst = sim_dst(net);
	f.flow_id = 0;
	f.sport = HW_FLOW_BASE;
	f.dport = HW_UDP_DPORT;
	return f;
}

/* Sends what the machine wants; answers arrive after 100 µs per hop plus some jitter. */
static void send_all(hw_mda_t *m, struct sim *net, uint64_t now, struct pending *q, size_t *n,
		     uint64_t *jitter)
{
	uint16_t flow;
	uint8_t ttl, attempt;
	unsigned hops;

	while (mda_next(m, now, &flow, &ttl, &attempt)) {
		struct pending p = {.flow = flow, .ttl = ttl, .attempt = attempt};
		if (!sim_probe(net, flow, ttl, &p.pkt, &hops))
			continue;
		*jitter = *jitter * 6364136223846793005ULL + 1442695040888963407ULL;
		p.at = now + 100 * hops + (*jitter >> 58);
		assert_true(*n < MAX_PENDING);
		q[(*n)++] = p;
	}
}

/* Delivers every answer due by now, earliest first. */
static void deliver(hw_mda_t *m, uint64_t now, struct pending *q, size_t *n)
{
	for (;;) {
		size_t best = *n;
		for (size_t i = 0; i < *n; i++) {
			if (q[i].at <= now && (best == *n || q[i].at < q[best].at))
				best = i;
		}
		if (best == *n)
			return;
		struct pending p = q[best];
		q[best] = q[--*n];
		mda_reply(m, p.flow, p.ttl, p.attempt, &p.pkt, p.at);
	}
}

static uint64_t next_event(hw_mda_t *m, const struct pending *q, size_t n)
{
	uint64_t t = mda_deadline(m);
	for (size_t i = 0; i < n; i++)
		t = q[i].at < t ? q[i].at : t;
	return t;
}

static bool same_link(const struct hw_link *l, const struct sim_link *s)
{
	return l->ttl == s->ttl && hw_addr_eq(&l->from, &s->from) && hw_addr_eq(&l->to, &s->to);
}

static void score(struct result *r, const struct sim *net)
{
	static struct sim_link truth[1024];
	size_t n = sim_truth(net, truth, 1024);

	r->truth = n;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < r->trace->n_links; j++) {
			if (same_link(&r->trace->links[j], &truth[i])) {
				r->found++;
				break;
			}
		}
	}
	for (size_t j = 0; j < r->trace->n_links; j++) {
		size_t i = 0;
		while (i < n && !same_link(&r->trace->links[j], &truth[i]))
			i++;
		r->false_links += i == n;
	}
}

static struct result run_net(struct sim *net, const struct hw_mda_opts *o)
{
	static struct pending q[MAX_PENDING];
	struct hw_flow base = base_flow(net);
	struct result r;
	size_t n = 0;
	uint64_t now = T0, jitter = 12345;

	memset(&r, 0, sizeof(r));
	r.trace = trace_new(&base, o->trace.first_ttl, o->trace.max_ttl, 0);
	assert_non_null(r.trace);
	hw_mda_t *m = mda_new(o, &base, r.trace);
	assert_non_null(m);
	while (!mda_done(m)) {
		send_all(m, net, now, q, &n, &jitter);
		assert_true(mda_in_flight(m) <= o->trace.window);
		if (mda_done(m))
			break;
		uint64_t t = next_event(m, q, n);
		assert_true(t != UINT64_MAX); /* never stuck: something is due */
		now = t > now ? t : now;
		deliver(m, now, q, &n);
		mda_expire(m, now);
		assert_true(++r.steps < 100000);
	}
	assert_int_equal(mda_in_flight(m), 0);
	mda_stats(m, &r.st);
	mda_free(m);
	score(&r, net);
	return r;
}

static struct hw_mda_opts opts(enum hw_multipath mode, uint8_t confidence)
{
	struct hw_mda_opts o;

	mda_opts_default(&o);
	o.mode = mode;
	o.confidence = confidence;
	o.trace.max_ttl = 16;
	o.trace.wait_max = 1.0;
	return o;
}

static struct result run_topo(const struct topo *t, const struct hw_mda_opts *o, uint64_t seed)
{
	struct sim *net = sim_new(t->links, t->marks, seed);

	assert_non_null(net);
	struct result r = run_net(net, o);
	assert_int_equal(r.truth, t->n_links);
	sim_free(net);
	return r;
}

/* ---- the stopping rule ---- */

static void test_nk_table(void **state)
{
	(void)state;
	/* The 95 % table of the MDA as first published (Augustin et al.). */
	static const unsigned published[] = {9, 17, 25, 33, 42, 51, 60, 69, 79, 88};
	static const unsigned want95[] = {6, 11, 16, 21, 27, 33, 38, 44, 51, 57};
	static const unsigned want99[] = {8, 15, 21, 28, 36, 43, 51, 58, 66, 74};

	print_message("seen k | n(k+1) 95%% | 99%% | published 95%% MDA\n");
	for (unsigned k = 1; k <= 10; k++) {
		uint32_t n95 = mda_stopping_point(k, 95), n99 = mda_stopping_point(k, 99);
		print_message("%6u | %10u | %3u | %u\n", k, n95, n99, published[k - 1]);
		assert_int_equal(n95, want95[k - 1]);
		assert_int_equal(n99, want99[k - 1]);
	}
	/* No hop seen yet: at least one is expected, as after the first. */
	assert_int_equal(mda_stopping_point(0, 95), 6);
	assert_int_equal(mda_stopping_point(1, 95), 6);
	assert_int_equal(mda_stopping_point(1, 0), 0);
	assert_int_equal(mda_stopping_point(1, 100), 0);
	/* scamper's table (exact, computed with GMP) at a few farther points. */
	assert_int_equal(mda_stopping_point(15, 95), 90);
	assert_int_equal(mda_stopping_point(31, 99), 255);
	assert_int_equal(mda_stopping_point(98, 95), 746);
	assert_int_equal(mda_stopping_point(98, 99), 906);
	/* Beyond the exact range: the union bound, never below the exact rule's growth. */
	assert_true(mda_stopping_point(300, 95) > mda_stopping_point(200, 95));
}

/* ---- every topology, both algorithms, both confidences ---- */

static const struct topo *const all[] = {
	&chain, &diamond2, &diamond4, &meshed, &meshed_lo, &meshed34, &unequal, &series, &series_lo,
	&silent_branch, &silent_chain, &uneven, &partial_mesh, &mesh8, &perpacket, &perpacket_rr,
};

/*
 * Per-flow topologies, where the destination answers last, and a guard on the mean
 * probes over the seeds (lite 95, lite 99, mda 95, mda 99: what they spend now plus
 * 5 %), so that a change that costs probes shows.
 */
static const struct {
	const struct topo *t;
	uint8_t stop_ttl;
	size_t diamonds;
	unsigned max_mean[4];
} per_flow[] = {
	{&chain, 4, 0, {26, 34, 26, 34}},
	{&diamond2, 5, 1, {52, 72, 61, 82}},
	{&diamond4, 5, 1, {82, 111, 133, 170}},
	{&meshed, 5, 1, {113, 145, 257, 321}},
	{&meshed_lo, 5, 1, {111, 149, 139, 186}},
	{&meshed34, 6, 1, {295, 394, 333, 433}},
	{&unequal, 5, 1, {52, 72, 55, 73}},
	{&series, 6, 1, {78, 108, 103, 140}},
	{&series_lo, 6, 2, {58, 80, 73, 96}},
	{&silent_branch, 5, 1, {46, 63, 62, 83}},
	{&uneven, 5, 1, {89, 125, 121, 160}},
	{&partial_mesh, 5, 1, {87, 121, 101, 133}},
	{&mesh8, 5, 1, {227, 303, 268, 352}},
};

#define SEEDS 200

struct tally {
	unsigned long probes, pmin, pmax;
	unsigned complete, runs;
	size_t missed, false_links;
};

static void tally_add(struct tally *t, const struct result *r)
{
	if (t->runs++ == 0)
		t->pmin = ~0ul;
	t->probes += r->st.probes;
	t->pmin = r->st.probes < t->pmin ? r->st.probes : t->pmin;
	t->pmax = r->st.probes > t->pmax ? r->st.probes : t->pmax;
	t->missed += r->truth - r->found;
	t->false_links += r->false_links;
	t->complete += r->found == r->truth && r->false_links == 0;
}

static void tally_print(const char *name, const struct hw_mda_opts *o, const struct tally *t)
{
	print_message("%-16s %-4s %u%%: probes mean %5.1f [%3lu..%3lu], all links in %3u/%u runs, "
		      "%zu missed, %zu false\n",
		      name, hw_multipath_name(o->mode), o->confidence, (double)t->probes / t->runs,
		      t->pmin, t->pmax, t->complete, t->runs, t->missed, t->false_links);
}

/*
 * Interfaces with no link into them although the TTL before answered: every flow there
 * crosses some interface of that TTL, so one of its flows probed there finds the link
 * (behind a silent router there is none to find).
 */
static size_t orphans(const struct hw_trace *t)
{
	size_t n = 0;

	for (size_t h = 1; h < t->n_hops; h++) {
		const struct hw_hop *hop = &t->hops[h];
		if (t->hops[h - 1].n_replies == 0)
			continue;
		for (size_t i = 0; i < hop->n_replies; i++) {
			const struct hw_addr *a = &hop->replies[i].addr;
			bool dup = false, linked = false;
			for (size_t j = 0; j < i && !dup; j++)
				dup = hw_addr_eq(&hop->replies[j].addr, a);
			for (size_t l = 0; l < t->n_links && !linked; l++)
				linked = t->links[l].ttl + 1 == hop->ttl && hw_addr_eq(&t->links[l].to, a);
			n += !dup && !linked;
		}
	}
	return n;
}

/*
 * The stopping rule bounds the failure per branching vertex (MDA) or TTL (MDA-Lite) by
 * 1 - confidence, so over many seeds (many hash functions) some runs miss a link: about
 * (1 - confidence) per branching point, and these topologies have up to three (mesh8's
 * two 8-way fan-outs under the MDA miss in 18 % of runs at 95 %). A false link, or not
 * reaching the destination, is never acceptable.
 */
static void check_topology(size_t i, enum hw_multipath mode, uint8_t conf)
{
	const struct topo *t = per_flow[i].t;
	struct hw_mda_opts o = opts(mode, conf);
	struct tally tl = {0};

	for (unsigned seed = 1; seed <= SEEDS; seed++) {
		struct result r = run_topo(t, &o, seed);
		assert_int_equal(r.false_links, 0);
		assert_int_equal(r.trace->stop_reason, HW_STOP_COMPLETED);
		if (t->marks == NULL || strstr(t->marks, "silent") == NULL) {
			if (orphans(r.trace) != 0)
				fail_msg("%s seed %u: an interface with no link into it", t->name, seed);
		}
		/* A missed branch may hide the farthest arrival, or a diamond. */
		if (r.found == r.truth) {
			assert_int_equal(r.trace->stop_ttl, per_flow[i].stop_ttl);
			assert_int_equal(r.trace->n_diamonds, per_flow[i].diamonds);
		}
		tally_add(&tl, &r);
		trace_free(r.trace);
	}
	tally_print(t->name, &o, &tl);
	assert_true(tl.complete * 100 >= SEEDS * (conf == 99 ? 92u : 75u));
	unsigned guard = per_flow[i].max_mean[(mode == HW_MULTIPATH_MDA) * 2 + (conf == 99)];
	if (tl.probes > (unsigned long)guard * SEEDS)
		fail_msg("%s: %.1f probes on average, more than %u", t->name,
			 (double)tl.probes / SEEDS, guard);
}

static void test_topologies(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(per_flow) / sizeof(per_flow[0]); i++) {
		check_topology(i, HW_MULTIPATH_LITE, 95);
		check_topology(i, HW_MULTIPATH_LITE, 99);
		check_topology(i, HW_MULTIPATH_MDA, 95);
		check_topology(i, HW_MULTIPATH_MDA, 99);
	}
}

/* The benchmark: scamper's tracelb sent 93 probes here and found 56 % of the links. */
static void test_meshed_benchmark(void **state)
{
	(void)state;
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	unsigned long sum = 0;
	unsigned at_most_93 = 0;

	for (unsigned seed = 1; seed <= SEEDS; seed++) {
		struct result r = run_topo(&meshed, &o, seed);
		assert_int_equal(r.found, 22);
		assert_int_equal(r.false_links, 0);
		/* Every TTL: 6 + 11 + 44 + 21 + 6 for the rule, then links and meshing. */
		assert_true(r.st.discovery <= 88);
		/*
		 * The per-packet test where paths branch: one flow through r1 repeated 5 times
		 * at TTL 2 (2 successors), one through each of a and b at TTL 3: 3 times for 3
		 * or 4 successors seen so far, 5 for 2.
		 */
		assert_true(r.st.retests <= 15);
		sum += r.st.probes;
		at_most_93 += r.st.probes <= 93;
		trace_free(r.trace);
	}
	print_message("meshed, lite 95%%: %.1f probes on average, %u/%u runs within scamper's 93\n",
		      (double)sum / SEEDS, at_most_93, SEEDS);
	assert_true(sum <= 108ul * SEEDS);
}

/* Truth links not found, per TTL (missed[t]: links leaving TTL t). */
static void missed_per_ttl(const struct result *r, const struct sim *net, unsigned missed[16])
{
	static struct sim_link truth[1024];
	size_t n = sim_truth(net, truth, 1024);

	memset(missed, 0, 16 * sizeof(*missed));
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < r->trace->n_links && !same_link(&r->trace->links[j], &truth[i]))
			j++;
		if (j == r->trace->n_links && truth[i].ttl < 16)
			missed[truth[i].ttl]++;
	}
}

/*
 * Two diamonds in series (the lab's `series`), MDA-Lite: what it misses is the stopping
 * rule's risk and nothing more. Three decisions can fail: TTL 2's rule misses a branch
 * of r1 (the TTL 1 link to it), TTL 4's rule misses a branch of r2 (1 - confidence at
 * most, about 2 (1/2)^n(2): 3.1 % at 95 %, 0.8 % at 99 %), or, r2's two interfaces being
 * meshed with c and e, the MDA's per-vertex rule leaves one of those four links out
 * (up to 1 - confidence per vertex). A flow reused at TTL 4 after TTL 3 is a fresh draw
 * of r2's hash, so TTL 4 fails no more often than TTL 2. Also guards the probes: a
 * vertex of r2 linked to both c and e needs only n(2) flows through it (it was n(3)).
 */
/* A binomial count's mean plus three standard deviations (and one), by Newton's root. */
static double three_sigma(double mean)
{
	double r = mean > 1 ? mean : 1;
	for (int i = 0; i < 40; i++)
		r = (r + mean / r) / 2;
	return mean + 3 * r + 1;
}

static void check_series(uint8_t conf, double max_probes)
{
	enum { RUNS = 1000 };
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, conf);
	unsigned branch2 = 0, branch4 = 0, mesh = 0, complete = 0;
	unsigned long probes = 0;

	for (unsigned seed = 1; seed <= RUNS; seed++) {
		struct sim *net = sim_new(series.links, series.marks, seed);
		struct result r = run_net(net, &o);
		unsigned missed[16];
		missed_per_ttl(&r, net, missed);
		assert_int_equal(r.false_links, 0);
		assert_int_equal(r.trace->stop_reason, HW_STOP_COMPLETED);
		branch2 += missed[1] > 0;
		branch4 += missed[4] > 0;
		mesh += missed[3] > 0 && missed[4] == 0;
		complete += r.found == r.truth;
		probes += r.st.probes;
		trace_free(r.trace);
		sim_free(net);
	}
	double risk = conf == 99 ? 2.0 / 256 : 2.0 / 64, alpha = (100 - conf) / 100.0;
	print_message("series lite %u%%: %.1f probes, complete %u/%u; missed a branch at TTL 2 in "
		      "%u, at TTL 4 in %u, a meshed link in %u (rule's risk per branch %.1f %%)\n",
		      conf, (double)probes / RUNS, complete, RUNS, branch2, branch4, mesh, 100 * risk);
	assert_true(branch2 <= three_sigma(RUNS * risk));
	assert_true(branch4 <= three_sigma(RUNS * risk));
	assert_true(mesh <= three_sigma(RUNS * 2 * alpha));
	assert_true((double)probes / RUNS <= max_probes);
}

static void test_series(void **state)
{
	(void)state;
	check_series(95, 80);
	check_series(99, 110);
}

/* Whether a link is in the ground truth of a topology. */
static bool true_link(const struct topo *t, uint64_t seed, const struct hw_link *l)
{
	static struct sim_link truth[1024];
	struct sim *net = sim_new(t->links, t->marks, seed);
	size_t n = sim_truth(net, truth, 1024);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++)
		found = same_link(l, &truth[i]);
	sim_free(net);
	return found;
}

/* One flow answered by two interfaces: flagged, and no link drawn through it. */
static void check_perpacket(const struct topo *topo, enum hw_multipath mode, uint8_t conf)
{
	struct hw_mda_opts o = opts(mode, conf);
	struct tally tl = {0};
	unsigned flagged = 0;

	for (unsigned seed = 1; seed <= SEEDS; seed++) {
		struct result r = run_topo(topo, &o, seed);
		const struct hw_trace *t = r.trace;
		bool pp = false;
		for (size_t h = 0; h < t->n_hops; h++)
			pp |= t->hops[h].per_packet;
		flagged += pp && t->hops[1].per_packet; /* r1's successors, at TTL 2 */
		assert_int_equal(t->stop_reason, HW_STOP_COMPLETED);
		/*
		 * Once the balancer is found, a link that does not exist may only come from
		 * the mixed paths: flagged. (When it is not found, the rule saw one branch
		 * per TTL: a failure the confidence allows, counted by `flagged`.)
		 */
		for (size_t j = 0; pp && j < t->n_links; j++) {
			if (!t->links[j].per_packet && !true_link(topo, seed, &t->links[j]))
				fail_msg("seed %u: unflagged false link at TTL %u", seed, t->links[j].ttl);
		}
		tally_add(&tl, &r);
		trace_free(r.trace);
	}
	tally_print(topo->name, &o, &tl);
	print_message("%s: balancer flagged in %u/%u runs\n", topo->name, flagged, SEEDS);
	assert_true(flagged * 100 >= SEEDS * 90u);
}

static void test_perpacket(void **state)
{
	(void)state;
	static const struct topo *const topos[] = {&perpacket, &perpacket_rr};

	for (size_t i = 0; i < sizeof(topos) / sizeof(topos[0]); i++) {
		check_perpacket(topos[i], HW_MULTIPATH_LITE, 95);
		check_perpacket(topos[i], HW_MULTIPATH_LITE, 99);
		check_perpacket(topos[i], HW_MULTIPATH_MDA, 95);
		check_perpacket(topos[i], HW_MULTIPATH_MDA, 99);
	}
}

/* ---- stop rules ---- */

static void test_silent_chain(void **state)
{
	(void)state;
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	struct result r = run_topo(&silent_chain, &o, 1);

	/* TTL 2 is silent: 6 lost probes, no link across it, and on to the destination. */
	assert_int_equal(r.trace->stop_reason, HW_STOP_COMPLETED);
	assert_int_equal(r.trace->stop_ttl, 5);
	assert_int_equal(r.trace->hops[1].n_replies, 0);
	assert_int_equal(r.trace->hops[1].probes_sent, 6);
	assert_int_equal(r.found, 2);
	assert_int_equal(r.trace->n_links, 2);
	assert_int_equal(r.st.lost, 6);
	trace_free(r.trace);
}

static void test_gap_limit(void **state)
{
	(void)state;
	/* d hangs off a router that is not on the way: after r2 nothing answers. */
	static const struct topo dead = {"dead-end", "v-r1 r1-r2 q-d", NULL, 1};
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	o.trace.gap_limit = 3;
	struct result r = run_topo(&dead, &o, 1);

	assert_int_equal(r.trace->stop_reason, HW_STOP_GAPLIMIT);
	assert_int_equal(r.trace->stop_ttl, 5);
	assert_int_equal(r.trace->n_hops, 5);
	assert_int_equal(r.st.probes, 6 * 5);
	trace_free(r.trace);
}

static void test_max_ttl(void **state)
{
	(void)state;
	struct hw_mda_opts o = opts(HW_MULTIPATH_MDA, 95);
	o.trace.max_ttl = 2;
	struct result r = run_topo(&diamond2, &o, 1);

	assert_int_equal(r.trace->stop_reason, HW_STOP_MAXTTL);
	assert_int_equal(r.trace->stop_ttl, 2);
	assert_int_equal(r.trace->n_hops, 2);
	assert_int_equal(r.trace->n_links, 2); /* r1 to both branches */
	/* The paths never met again: an open diamond. */
	assert_int_equal(r.trace->n_diamonds, 1);
	assert_int_equal(r.trace->diamonds[0].conv_ttl, 0);
	assert_int_equal(r.trace->diamonds[0].div_ttl, 1);
	trace_free(r.trace);
}

static void test_first_ttl(void **state)
{
	(void)state;
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	o.trace.first_ttl = 2;
	struct result r = run_topo(&diamond2, &o, 1);

	/* The first TTL already has two interfaces: the diamond opens at the source. */
	assert_int_equal(r.trace->stop_reason, HW_STOP_COMPLETED);
	assert_int_equal(r.found, 6);
	assert_int_equal(r.trace->n_diamonds, 1);
	assert_true(hw_addr_is_unset(&r.trace->diamonds[0].divergence));
	assert_int_equal(r.trace->diamonds[0].div_ttl, 1);
	assert_int_equal(r.trace->diamonds[0].conv_ttl, 5);
	trace_free(r.trace);
}

static void test_budget(void **state)
{
	(void)state;
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	o.max_probes = 20;
	struct result r = run_topo(&meshed, &o, 1);

	assert_int_equal(r.trace->stop_reason, HW_STOP_ERROR);
	assert_true(r.st.budget_exhausted);
	assert_int_equal(r.st.probes, 20);
	assert_int_equal(r.trace->probes_sent, 20);
	trace_free(r.trace);
}

/* Random loss: only answers count, so the rule is met later, never on a lost probe. */
static void test_loss(void **state)
{
	(void)state;
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	unsigned complete = 0;

	for (unsigned seed = 1; seed <= 50; seed++) {
		struct sim *net = sim_new(meshed.links, meshed.marks, seed);
		sim_set_loss(net, 0.1);
		struct result r = run_net(net, &o);
		assert_int_equal(r.false_links, 0);
		assert_int_equal(r.trace->stop_reason, HW_STOP_COMPLETED);
		assert_true(r.st.lost > 0);
		complete += r.found == r.truth;
		trace_free(r.trace);
		sim_free(net);
	}
	print_message("meshed with 10%% loss: all links in %u/50 runs\n", complete);
	assert_true(complete >= 40);
}

/* ---- determinism and the API's edges ---- */

static char *json_of(struct hw_trace *t)
{
	struct hw_run run = {.start_unix_us = T0, .n_traces = 1, .traces = &t};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(json_write_run(&run, f), HW_OK);
	fclose(f);
	return buf;
}

static void test_determinism(void **state)
{
	(void)state;
	struct hw_mda_opts o = opts(HW_MULTIPATH_MDA, 99);
	struct result a = run_topo(&series, &o, 7), b = run_topo(&series, &o, 7);
	char *ja = json_of(a.trace), *jb = json_of(b.trace);

	assert_string_equal(ja, jb);
	assert_int_equal(a.st.probes, b.st.probes);
	assert_memory_equal(&a.st, &b.st, sizeof(a.st));
	free(ja);
	free(jb);
	trace_free(a.trace);
	trace_free(b.trace);
}

/* Probes in flight change when answers come, not what is sent nor what is found. */
static void test_window(void **state)
{
	(void)state;
	static const uint16_t windows[] = {1, 3, 16, 64};
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	struct result ref = {0};

	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		o.trace.window = windows[i];
		struct result r = run_topo(&meshed, &o, 3);
		assert_int_equal(r.found, 22);
		if (i == 0) {
			ref = r;
			continue;
		}
		assert_int_equal(r.st.probes, ref.st.probes);
		assert_int_equal(r.st.discovery, ref.st.discovery);
		assert_int_equal(r.trace->n_links, ref.trace->n_links);
		trace_free(r.trace);
	}
	trace_free(ref.trace);
}

static void test_opts(void **state)
{
	(void)state;
	struct hw_mda_opts o;
	const char *why = NULL;

	mda_opts_default(&o);
	assert_int_equal(o.mode, HW_MULTIPATH_LITE);
	assert_int_equal(o.confidence, 95);
	assert_int_equal(o.meshing_flows, 2);
	assert_int_equal(mda_opts_check(&o, &why), HW_OK);
	assert_null(why);
	o.confidence = 100;
	assert_int_equal(mda_opts_check(&o, &why), HW_ERR_INVAL);
	assert_string_equal(why, "confidence must be 50..99 percent");
	mda_opts_default(&o);
	o.mode = HW_MULTIPATH_NONE;
	assert_int_equal(mda_opts_check(&o, &why), HW_ERR_INVAL);
	mda_opts_default(&o);
	o.meshing_flows = 0;
	assert_int_equal(mda_opts_check(&o, NULL), HW_ERR_INVAL);
	mda_opts_default(&o);
	o.max_probes = 15;
	assert_int_equal(mda_opts_check(&o, NULL), HW_ERR_INVAL);
	mda_opts_default(&o);
	o.trace.window = 0;
	assert_int_equal(mda_opts_check(&o, &why), HW_ERR_INVAL);
	assert_string_equal(why, "window must be at least 1");

	struct sim *net = sim_new(chain.links, NULL, 1);
	struct hw_flow f = base_flow(net);
	struct hw_trace *t = trace_new(&f, 1, 30, 0);
	assert_null(mda_new(&o, &f, t));
	mda_opts_default(&o);
	f.flow_id = HW_FLOW_MAX + 1;
	assert_null(mda_new(&o, &f, t));
	assert_null(mda_free(NULL));
	trace_free(t);
	sim_free(net);
}

static void test_unsend_abort(void **state)
{
	(void)state;
	struct sim *net = sim_new(diamond2.links, NULL, 1);
	struct hw_flow f = base_flow(net);
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	o.trace.window = 4;
	struct hw_trace *t = trace_new(&f, 1, 16, 0);
	hw_mda_t *m = mda_new(&o, &f, t);
	uint16_t flow, flow2;
	uint8_t ttl, attempt, ttl2, attempt2;

	assert_int_equal(t->multipath, HW_MULTIPATH_LITE);
	assert_int_equal(t->confidence, 95);
	assert_int_equal(mda_deadline(m), UINT64_MAX);
	assert_true(mda_next(m, T0, &flow, &ttl, &attempt));
	assert_int_equal(flow, 0);
	assert_int_equal(ttl, 1);
	assert_int_equal(attempt, 0);
	/* Could not be sent: taken back, and given out again. */
	mda_unsend(m, flow, ttl, attempt);
	assert_int_equal(mda_in_flight(m), 0);
	assert_int_equal(t->probes_sent, 0);
	assert_true(mda_next(m, T0, &flow2, &ttl2, &attempt2));
	assert_int_equal(flow2, flow);
	/* The window holds: four in flight, no fifth. */
	for (int i = 0; i < 3; i++)
		assert_true(mda_next(m, T0, &flow, &ttl, &attempt));
	assert_false(mda_next(m, T0, &flow, &ttl, &attempt));
	assert_int_equal(mda_in_flight(m), 4);
	assert_true(mda_deadline(m) == T0 + 1000000);
	/* Answers to what was never sent, or sent twice, are refused. */
	struct hw_reply_pkt r;
	unsigned hops;
	assert_true(sim_probe(net, 0, 1, &r, &hops));
	assert_false(mda_reply(m, 9, 1, 0, &r, T0 + 100));
	assert_false(mda_reply(m, 0, 1, 1, &r, T0 + 100));
	assert_true(mda_reply(m, 0, 1, 0, &r, T0 + 100));
	assert_false(mda_reply(m, 0, 1, 0, &r, T0 + 100));
	assert_int_equal(t->replies, 1);
	assert_int_equal(t->hops[0].replies[0].flow_id, 0);
	/* The rest time out (sooner than wait_max: the path showed its speed). */
	mda_expire(m, T0 + 4999);
	assert_int_equal(mda_in_flight(m), 3);
	assert_int_equal(mda_deadline(m), T0 + 5000); /* wait_min: 5 ms */
	mda_expire(m, T0 + 5000);
	assert_int_equal(mda_in_flight(m), 0);
	assert_false(mda_done(m));
	assert_true(mda_next(m, T0 + 5000, &flow, &ttl, &attempt));
	/* Then sending keeps failing and the trace is given up. */
	mda_abort(m);
	assert_true(mda_done(m));
	assert_int_equal(mda_in_flight(m), 0);
	assert_int_equal(t->stop_reason, HW_STOP_ERROR);
	assert_false(mda_next(m, T0, &flow, &ttl, &attempt));
	assert_false(mda_reply(m, 1, 1, 0, &r, T0 + 200));
	mda_free(m);
	trace_free(t);
	sim_free(net);
}

/* A flow id base near the top: the flows run out before the rule is met. */
static void test_flows_run_out(void **state)
{
	(void)state;
	struct sim *net = sim_new(diamond4.links, NULL, 3);
	struct hw_flow f = base_flow(net);
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	static struct pending q[MAX_PENDING];
	size_t n = 0;
	uint64_t now = T0;

	f.flow_id = HW_FLOW_MAX - 9; /* ten flows */
	struct hw_trace *t = trace_new(&f, 1, 16, 0);
	hw_mda_t *m = mda_new(&o, &f, t);
	while (!mda_done(m)) {
		uint16_t flow;
		uint8_t ttl, attempt;
		while (mda_next(m, now, &flow, &ttl, &attempt)) {
			assert_true(flow >= f.flow_id && flow <= HW_FLOW_MAX);
			struct pending p = {.flow = flow, .ttl = ttl, .attempt = attempt};
			unsigned hops;
			if (sim_probe(net, flow, ttl, &p.pkt, &hops)) {
				p.at = now + 100 * hops;
				q[n++] = p;
			}
		}
		now = next_event(m, q, n);
		deliver(m, now, q, &n);
		mda_expire(m, now);
	}
	struct hw_mda_stats st;
	mda_stats(m, &st);
	assert_true(st.budget_exhausted);
	assert_int_equal(st.flows, 10);
	assert_int_equal(t->stop_reason, HW_STOP_COMPLETED);
	mda_free(m);
	trace_free(t);
	sim_free(net);
}

static void test_text(void **state)
{
	(void)state;
	struct hw_mda_opts o = opts(HW_MULTIPATH_LITE, 95);
	struct result r = run_topo(&series_lo, &o, 1);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(text_write_trace(r.trace, f), HW_OK);
	fclose(f);
	print_message("%s", buf);
	assert_non_null(strstr(buf, "multipath lite, 95% confidence\n"));
	assert_non_null(strstr(buf, "\nlinks:\n 1  10.255.1.1 -> 10.255."));
	assert_non_null(strstr(buf, "\n 1  10.255.1.1 -> 10.255.2.1\n"));
	assert_non_null(strstr(buf, "\n 1  10.255.1.1 -> 10.255.3.1\n"));
	assert_non_null(strstr(buf, "diamonds:\n hop 1 10.255.1.1 -> hop 3 10.255.4.1: "
				    "max width 2, length 2\n"));
	free(buf);
	trace_free(r.trace);
}

/* MDA_DEBUG=name:seed:mode:confidence prints one run as text, with what it missed. */
static void debug_one(const char *spec)
{
	char name[32], mode[8];
	unsigned seed, conf;
	enum hw_multipath mp;

	if (sscanf(spec, "%31[^:]:%u:%7[^:]:%u", name, &seed, mode, &conf) != 4 ||
	    hw_multipath_parse(mode, &mp) != HW_OK)
		return;
	for (size_t t = 0; t < sizeof(all) / sizeof(all[0]); t++) {
		if (strcmp(all[t]->name, name) != 0)
			continue;
		struct hw_mda_opts o = opts(mp, (uint8_t)conf);
		if (getenv("MDA_PHI") != NULL)
			o.meshing_flows = (uint8_t)atoi(getenv("MDA_PHI"));
		struct sim *net = sim_new(all[t]->links, all[t]->marks, seed);
		struct result r = run_net(net, &o);
		static struct sim_link truth[1024];
		size_t n = sim_truth(net, truth, 1024);
		if (getenv("MDA_JSON") != NULL) {
			char *doc = json_of(r.trace);
			fputs(doc, stdout);
			free(doc);
			trace_free(r.trace);
			sim_free(net);
			return;
		}
		text_write_trace(r.trace, stdout);
		if (getenv("MDA_FLOWS") != NULL) {
			for (size_t h = 0; h < r.trace->n_hops; h++) {
				const struct hw_hop *hop = &r.trace->hops[h];
				printf("ttl %u:", hop->ttl);
				for (size_t i = 0; i < hop->n_replies; i++)
					printf(" %u/%u=%u", hop->replies[i].flow_id, hop->replies[i].attempt,
					       hop->replies[i].addr.a[2]);
				printf("\n");
			}
		}
		for (size_t i = 0; i < n; i++) {
			size_t j = 0;
			while (j < r.trace->n_links && !same_link(&r.trace->links[j], &truth[i]))
				j++;
			if (j == r.trace->n_links) {
				char a[HW_ADDRSTRLEN], b[HW_ADDRSTRLEN];
				printf("MISSED %u %s -> %s\n", truth[i].ttl,
				       hw_addr_str(&truth[i].from, a, sizeof(a)),
				       hw_addr_str(&truth[i].to, b, sizeof(b)));
			}
		}
		printf("stats: probes %u disc %u links %u nodectl %u retests %u lost %u meshed %u "
		       "nonuniform %u pp %u lossy %u\n",
		       r.st.probes, r.st.discovery, r.st.links, r.st.node_control, r.st.retests,
		       r.st.lost, r.st.meshed_hops, r.st.nonuniform_hops, r.st.per_packet_hops,
		       r.st.lossy_hops);
		trace_free(r.trace);
		sim_free(net);
	}
}

int main(void)
{
	if (getenv("MDA_DEBUG") != NULL) {
		debug_one(getenv("MDA_DEBUG"));
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nk_table),
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_topologies),
		cmocka_unit_test(test_meshed_benchmark),
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_perpacket),
		cmocka_unit_test(test_silent_chain),
		cmocka_unit_test(test_gap_limit),
		cmocka_unit_test(test_max_ttl),
		cmocka_unit_test(test_first_ttl),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_unsend_abort),
		cmocka_unit_test(test_flows_run_out),
		cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
