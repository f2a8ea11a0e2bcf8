/*
 * Multipath discovery as a state machine (see mda.h). TTLs are explored one after the
 * other; each goes through phases:
 *
 *   RULE     the TTL-wide stopping rule (MDA-Lite; MDA on a TTL after a single interface)
 *   LINKS    every interface linked to the TTL before, and MDA-Lite's meshing test
 *   RETEST   a TTL pair that looks meshed: is it per-packet balancing?
 *   NODECTL  the MDA's per-vertex rule, with node control
 *
 * RULE sends as probes become due; the other phases work in rounds: a queue of probes is
 * computed from what is known, sent, and once every answer is in (or given up) the next
 * round is computed from the new knowledge, until a round has nothing to send.
 *
 * What is known is kept per TTL as one state per flow (unsent, in flight, lost, or which
 * interface answered), so a link is a flow answered at consecutive TTLs. Flows are
 * numbered from 0 here; the caller sees base.flow_id + index.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/mda.h>
#include <hopwatch/status.h>

#include "grow.h"

/* Per-flow state at one TTL. */
#define FV_UNSENT 0
#define FV_FLIGHT 1
#define FV_LOST 2
#define FV_VTX 3 /* FV_VTX + i: interface i of the TTL answered */
#define VTX_MAX (UINT16_MAX - FV_VTX)

/* Rounds of a phase before giving up on probes that keep getting lost. */
#define LINK_ROUNDS 4
#define NODECTL_ROUNDS 64
/* n(k) is cached for small k; larger k is rare and recomputed. */
#define NK_CACHE 32
/* Above this many hypothesised hops the exact rule is too slow; the union bound is used. */
#define NK_EXACT_MAX 256

enum purpose {
	PU_RULE,    /* counts toward the TTL's stopping rule */
	PU_LINK,    /* link completion, meshing test */
	PU_FWD,     /* node control: a known flow forwarded through its vertex */
	PU_NEW,     /* node control: a new flow at the TTL before, to find more through v */
	PU_RETEST,  /* per-packet test */
};

enum phase { PH_RULE, PH_LINKS, PH_RETEST, PH_NODECTL };

/* Where the last probe given out came from, so that mda_unsend can put it back. */
enum source { SRC_CAND, SRC_NEW, SRC_QUEUE };

/* An interface at one TTL. */
struct vtx {
	struct hw_addr addr;
	uint8_t final;           /* enum hw_stop_reason when its answer ends the trace */
	bool late;               /* first seen after its TTL was explored */
	uint32_t flows;          /* flows whose first probe at this TTL it answered */
	uint16_t n_succ, n_pred; /* distinct links to the next TTL, from the one before */
};

struct hop {
	uint16_t *fv;            /* per flow: FV_* */
	uint32_t fv_len;
	struct vtx *v;
	uint16_t n_v, cap_v;
	uint32_t rule_answered, rule_lost;
	uint32_t rtt_us;         /* the slowest answer, for adaptive waits */
	bool pp;                 /* one flow's answers vary per packet here */
	bool pp_checked;         /* the per-packet test has spoken for this TTL */
	uint8_t rt_attempt;      /* the last attempt number repeats used here */
};

struct mlink {
	uint8_t ttl;             /* of u */
	uint16_t u, w;
};

struct slot {
	uint32_t flow;
	uint64_t tx_us;
	uint8_t ttl, attempt, purpose;
	bool used;
};

/* A probe to send. */
struct item {
	uint32_t flow;
	uint8_t ttl, attempt, purpose;
};

/* The per-packet test in progress: one flow repeated at one TTL. */
struct retest {
	uint32_t flow;
	uint8_t ttl;
	bool varied;
	bool pre;                /* MDA-Lite's check of a branching TTL before its links */
	uint32_t first;          /* FV_VTX + interface of the first answer, 0 = none yet */
};

struct hw_mda {
	struct hw_mda_opts o;
	struct hw_flow base;
	struct hw_trace *trace;
	double alpha;            /* 1 - confidence */
	uint8_t retests;
	struct hop *hops;        /* hops[i]: TTL first_ttl + i, for the TTLs reached */
	size_t n_hops;
	struct mlink *links;
	size_t n_links, cap_links;
	struct slot *slots;      /* o.trace.window of them */
	unsigned in_flight, rule_in_flight;
	uint32_t next_flow, max_flows;
	uint8_t cur;             /* the TTL being explored */
	uint8_t ref;             /* the closest lower TTL that answered (0: none) */
	enum phase phase;
	uint32_t *cand;          /* RULE: known flows to reuse, spread over interfaces */
	size_t n_cand, cand_pos;
	struct item *queue;      /* the other phases: this round's probes */
	size_t n_queue, cap_queue, queue_pos;
	unsigned rounds;
	uint32_t nodectl_new;    /* new flows sent for node control at this TTL */
	bool meshed;             /* the current TTL pair looked meshed */
	bool completing;         /* node control is done: only link completion is left */
	uint16_t pre_next;       /* MDA-Lite's per-packet check: the next interface to test */
	struct retest rt;
	uint8_t gap;
	bool stopped;
	uint64_t t0_us;
	struct {
		bool valid;
		enum source src;
		uint32_t flow;
		uint8_t ttl, attempt;
	} last;
	struct hw_mda_stats st;
	uint32_t nk[NK_CACHE];
};

/* ---- the stopping rule ---- */

/* n(k) by the union bound: k ((k-1)/k)^n <= alpha (Veitch et al.); an upper bound. */
static uint32_t nk_union(unsigned k, double alpha)
{
	double miss = k, step = (k - 1.0) / k;
	uint32_t n = 0;

	while (miss > alpha && n < UINT32_MAX) {
		miss *= step;
		n++;
	}
	return n;
}

/*
 * n(k) exactly: the least n for which n uniform draws among k outcomes miss one with
 * probability <= alpha. p[j] is the probability of having seen exactly j outcomes; it
 * is updated in place from the top down, each draw either repeating one of the j seen
 * or adding one of the k - j others.
 */
static uint32_t nk_exact(unsigned k, double alpha)
{
	double *p = calloc(k + 1, sizeof(*p));
	uint32_t n = 0;

	if (p == NULL)
		return nk_union(k, alpha); /* never fewer probes than the exact rule */
	p[0] = 1;
	while (1 - p[k] > alpha) {
		n++;
		for (unsigned j = n < k ? n : k; j >= 1; j--)
			p[j] = p[j] * j / k + p[j - 1] * (k - j + 1) / k;
		p[0] = 0;
	}
	free(p);
	return n;
}

static uint32_t nk_compute(unsigned k, double alpha)
{
	if (k <= 1)
		return 0;
	return k <= NK_EXACT_MAX ? nk_exact(k, alpha) : nk_union(k, alpha);
}

uint32_t mda_stopping_point(unsigned seen, unsigned confidence)
{
	if (confidence < 1 || confidence > 99)
		return 0;
	return nk_compute((seen > 1 ? seen : 1) + 1, (100 - confidence) / 100.0);
}

/* Answered probes needed at a vertex or TTL that has shown `seen` next hops. */
static uint32_t need(hw_mda_t *m, unsigned seen)
{
	unsigned k = (seen > 1 ? seen : 1) + 1;

	if (k < NK_CACHE) {
		if (m->nk[k] == 0)
			m->nk[k] = nk_compute(k, m->alpha);
		return m->nk[k];
	}
	return nk_compute(k, m->alpha);
}

/* ---- options ---- */

void mda_opts_default(struct hw_mda_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	tracer_opts_default(&opts->trace);
	opts->mode = HW_MULTIPATH_LITE;
	opts->confidence = 95;
	opts->meshing_flows = 2;
	opts->retests = 0;
	opts->max_probes = 3000;
}

/* What is wrong with the options the tracer does not know; NULL when nothing. */
static const char *mda_only_check(const struct hw_mda_opts *o)
{
	if (o->mode != HW_MULTIPATH_MDA && o->mode != HW_MULTIPATH_LITE)
		return "multipath mode must be mda or lite";
	if (o->confidence < 50 || o->confidence > 99)
		return "confidence must be 50..99 percent";
	if (o->meshing_flows < 1 || o->meshing_flows > 16)
		return "meshing flows must be 1..16";
	if (o->retests > 16)
		return "per-packet retests must be 0..16";
	if (o->max_probes < 16)
		return "the probe cap must be at least 16";
	return NULL;
}

int mda_opts_check(const struct hw_mda_opts *o, const char **why)
{
	const char *bad = NULL;

	if (tracer_opts_check(&o->trace, &bad) == HW_OK)
		bad = mda_only_check(o);
	if (why != NULL)
		*why = bad;
	return bad != NULL ? HW_ERR_INVAL : HW_OK;
}

/* The fewest repeats that a 2-way per-packet balancer answers identically <= alpha. */
static uint8_t auto_retests(double alpha)
{
	uint8_t r = 1;
	double p = 0.5;

	while (p > alpha && r < 16) {
		p /= 2;
		r++;
	}
	return r;
}

/* ---- per-TTL state ---- */

static struct hop *hop_at(hw_mda_t *m, uint8_t ttl)
{
	if (ttl < m->o.trace.first_ttl)
		return NULL;
	size_t i = (size_t)(ttl - m->o.trace.first_ttl);
	return i < m->n_hops ? &m->hops[i] : NULL;
}

static int ensure_hop(hw_mda_t *m, uint8_t ttl)
{
	size_t n = (size_t)(ttl - m->o.trace.first_ttl) + 1;

	if (n <= m->n_hops)
		return HW_OK;
	struct hop *h = realloc(m->hops, n * sizeof(*h));
	if (h == NULL)
		return HW_ERR_NOMEM;
	memset(h + m->n_hops, 0, (n - m->n_hops) * sizeof(*h));
	m->hops = h;
	m->n_hops = n;
	return HW_OK;
}

static uint16_t fv_get(const struct hop *h, uint32_t flow)
{
	return h != NULL && flow < h->fv_len ? h->fv[flow] : FV_UNSENT;
}

static int fv_set(struct hop *h, uint32_t flow, uint16_t state)
{
	if (flow >= h->fv_len) {
		uint32_t len = h->fv_len ? h->fv_len : 16;
		while (len <= flow)
			len *= 2;
		uint16_t *fv = realloc(h->fv, len * sizeof(*fv));
		if (fv == NULL)
			return HW_ERR_NOMEM;
		memset(fv + h->fv_len, 0, (len - h->fv_len) * sizeof(*fv));
		h->fv = fv;
		h->fv_len = len;
	}
	h->fv[flow] = state;
	return HW_OK;
}

static bool answered(uint16_t state)
{
	return state >= FV_VTX;
}

/* The interface of a TTL that answered from addr; adds it when new. -1 on failure. */
static long vtx_find_add(struct hop *h, const struct hw_addr *addr, uint8_t final)
{
	for (uint16_t i = 0; i < h->n_v; i++) {
		if (hw_addr_eq(&h->v[i].addr, addr))
			return i;
	}
	if (h->n_v == VTX_MAX)
		return -1;
	if (h->n_v == h->cap_v) {
		uint16_t cap = h->cap_v ? (uint16_t)(h->cap_v * 2 > VTX_MAX ? VTX_MAX : h->cap_v * 2)
					: 4;
		struct vtx *v = realloc(h->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		h->v = v;
		h->cap_v = cap;
	}
	h->v[h->n_v] = (struct vtx){.addr = *addr, .final = final};
	return h->n_v++;
}

/* A vertex whose flows are worth following to the next TTL. */
static bool open_vtx(const struct hop *h, uint16_t state)
{
	return answered(state) && h->v[state - FV_VTX].final == HW_STOP_NONE;
}

/* ---- links ---- */

static int add_link(hw_mda_t *m, uint8_t ttl, uint16_t u, uint16_t w)
{
	for (size_t i = 0; i < m->n_links; i++) {
		const struct mlink *l = &m->links[i];
		if (l->ttl == ttl && l->u == u && l->w == w)
			return HW_OK;
	}
	void *links = m->links;
	if (grow_for_one(&links, m->n_links, &m->cap_links, sizeof(*m->links), 16) != HW_OK)
		return HW_ERR_NOMEM;
	m->links = links;
	m->links[m->n_links++] = (struct mlink){ttl, u, w};
	hop_at(m, ttl)->v[u].n_succ++;
	hop_at(m, (uint8_t)(ttl + 1))->v[w].n_pred++;
	return HW_OK;
}

/*
 * A flow's first answer at ttl is in: with its answers at the neighbouring TTLs it makes
 * links. Nothing goes on from an interface that ended the trace (the destination answers
 * every TTL beyond its own), so no link leaves one.
 */
static int observe(hw_mda_t *m, uint32_t flow, uint8_t ttl)
{
	struct hop *h = hop_at(m, ttl), *prev = ttl > 1 ? hop_at(m, (uint8_t)(ttl - 1)) : NULL;
	struct hop *next = ttl < 255 ? hop_at(m, (uint8_t)(ttl + 1)) : NULL;
	uint16_t s = fv_get(h, flow), a = fv_get(prev, flow), b = fv_get(next, flow);
	int rc = HW_OK;

	if (prev != NULL && open_vtx(prev, a))
		rc = add_link(m, (uint8_t)(ttl - 1), (uint16_t)(a - FV_VTX), (uint16_t)(s - FV_VTX));
	if (rc == HW_OK && next != NULL && open_vtx(h, s) && answered(b))
		rc = add_link(m, ttl, (uint16_t)(s - FV_VTX), (uint16_t)(b - FV_VTX));
	return rc;
}

/* ---- probe queue ---- */

static int enqueue(hw_mda_t *m, uint32_t flow, uint8_t ttl, uint8_t attempt, uint8_t purpose)
{
	void *queue = m->queue;
	if (grow_for_one(&queue, m->n_queue, &m->cap_queue, sizeof(*m->queue), 16) != HW_OK)
		return HW_ERR_NOMEM;
	m->queue = queue;
	m->queue[m->n_queue++] = (struct item){flow, ttl, attempt, purpose};
	return HW_OK;
}

static void queue_reset(hw_mda_t *m)
{
	m->n_queue = 0;
	m->queue_pos = 0;
}

/* ---- choosing the next probe ---- */

static unsigned ttl_hops(const hw_mda_t *m)
{
	return (unsigned)(m->o.trace.max_ttl - m->o.trace.first_ttl) + 1;
}

/* RULE: more answers needed, and not too many lost already? */
static bool rule_wants(hw_mda_t *m)
{
	struct hop *h = hop_at(m, m->cur);
	uint32_t target = need(m, h->n_v), floor = need(m, 0);

	if (h->rule_answered + m->rule_in_flight >= target)
		return false;
	/* More lost than answered: the rest is silent or dropping; stop paying for it. */
	return h->rule_lost < (h->rule_answered > floor ? h->rule_answered : floor);
}

static bool pick_rule(hw_mda_t *m, struct item *out, enum source *src)
{
	struct hop *h = hop_at(m, m->cur);

	if (!rule_wants(m))
		return false;
	while (m->cand_pos < m->n_cand && fv_get(h, m->cand[m->cand_pos]) != FV_UNSENT)
		m->cand_pos++;
	*out = (struct item){0, m->cur, 0, PU_RULE};
	if (m->cand_pos < m->n_cand) {
		out->flow = m->cand[m->cand_pos];
		*src = SRC_CAND;
		return true;
	}
	if (m->next_flow >= m->max_flows)
		return false;
	out->flow = m->next_flow;
	*src = SRC_NEW;
	return true;
}

/* A queued first probe of a flow is still worth sending only while nothing else was. */
static bool item_valid(hw_mda_t *m, const struct item *it)
{
	return it->attempt != 0 || fv_get(hop_at(m, it->ttl), it->flow) == FV_UNSENT;
}

static bool pick(hw_mda_t *m, struct item *out, enum source *src)
{
	if (m->phase == PH_RULE)
		return pick_rule(m, out, src);
	while (m->queue_pos < m->n_queue && !item_valid(m, &m->queue[m->queue_pos]))
		m->queue_pos++;
	if (m->queue_pos == m->n_queue)
		return false;
	*out = m->queue[m->queue_pos];
	*src = SRC_QUEUE;
	return true;
}

/* ---- stopping ---- */

/*
 * A link found by a flow is real when the flow's path up to its `from` TTL is fixed:
 * that TTL is not per-packet, or either TTL has one interface (every path goes there).
 */
static bool link_reliable(hw_mda_t *m, const struct mlink *l)
{
	const struct hop *a = hop_at(m, l->ttl), *b = hop_at(m, (uint8_t)(l->ttl + 1));
	return !a->pp || a->n_v == 1 || b->n_v == 1;
}

static int write_links(hw_mda_t *m)
{
	for (unsigned t = 0; t < ttl_hops(m); t++) {
		uint8_t ttl = (uint8_t)(m->o.trace.first_ttl + t);
		for (size_t i = 0; i < m->n_links; i++) {
			const struct mlink *l = &m->links[i];
			if (l->ttl != ttl || !link_reliable(m, l))
				continue;
			struct hw_link out = {
				.from = hop_at(m, ttl)->v[l->u].addr,
				.to = hop_at(m, (uint8_t)(ttl + 1))->v[l->w].addr,
				.ttl = ttl,
				/* Either end past the balancer: seen over different packets. */
				.per_packet = hop_at(m, ttl)->pp || hop_at(m, (uint8_t)(ttl + 1))->pp,
			};
			if (trace_add_link(m->trace, &out) != HW_OK)
				return HW_ERR_NOMEM;
		}
	}
	return HW_OK;
}

/* The result: per-packet marks, links, diamonds; hops above the stop dropped. */
static void finish(hw_mda_t *m, uint8_t stop_ttl)
{
	for (size_t i = 0; i < m->n_hops; i++) {
		struct hw_hop *th = trace_hop(m->trace, (uint8_t)(m->o.trace.first_ttl + i));
		if (th != NULL)
			th->per_packet = m->hops[i].pp;
	}
	m->trace->n_links = 0;
	write_links(m);
	trace_truncate(m->trace, stop_ttl);
	trace_find_diamonds(m->trace);
}

static void cancel_in_flight(hw_mda_t *m)
{
	for (unsigned i = 0; i < m->o.trace.window; i++)
		m->slots[i].used = false;
	m->in_flight = 0;
	m->rule_in_flight = 0;
}

static void stop(hw_mda_t *m, enum hw_stop_reason reason, uint8_t stop_ttl, uint64_t now_us)
{
	if (m->stopped)
		return;
	m->stopped = true;
	cancel_in_flight(m);
	m->trace->stop_reason = reason;
	m->trace->stop_ttl = stop_ttl;
	m->trace->duration_ms = now_us > m->t0_us ? (now_us - m->t0_us) / 1000.0 : 0;
	finish(m, stop_ttl);
}

/* Out of memory inside: end as an error with what is known. */
static void fail(hw_mda_t *m, uint64_t now_us)
{
	stop(m, HW_STOP_ERROR, m->cur, now_us);
}

/* ---- phases ---- */

static void start_hop(hw_mda_t *m, uint8_t ttl, uint64_t now_us);
static void links_step(hw_mda_t *m, uint64_t now_us);
static void nodectl_step(hw_mda_t *m, uint64_t now_us);
static void completed(hw_mda_t *m, uint64_t now_us);

/* Non-final interfaces of the TTL before the current one: where flows come from. */
static struct hop *parents(hw_mda_t *m)
{
	if (m->ref == 0 || m->ref + 1 != m->cur)
		return NULL;
	return hop_at(m, m->ref);
}

/* The previous TTL balanced per packet, and this one has not met again yet. */
static bool in_region(hw_mda_t *m)
{
	const struct hop *p = parents(m);
	return p != NULL && p->pp;
}

static uint16_t open_count(const struct hop *h)
{
	uint16_t n = 0;
	for (uint16_t i = 0; i < h->n_v; i++)
		n += h->v[i].final == HW_STOP_NONE;
	return n;
}

/* The reason the trace ends when every interface of the TTL is final. */
static enum hw_stop_reason all_final(const struct hop *h)
{
	enum hw_stop_reason reason = HW_STOP_UNREACH;

	for (uint16_t i = 0; i < h->n_v; i++) {
		if (h->v[i].final == HW_STOP_NONE)
			return HW_STOP_NONE;
		if (h->v[i].final == HW_STOP_COMPLETED)
			reason = HW_STOP_COMPLETED;
	}
	return reason;
}

static void close_hop(hw_mda_t *m, uint64_t now_us)
{
	struct hop *h = hop_at(m, m->cur);

	/* Past a per-packet balancer the paths stay mixed until they meet in one interface. */
	if (in_region(m) && h->n_v >= 2 && !h->pp) {
		h->pp = h->pp_checked = true;
		m->st.per_packet_hops++;
	}
	if (h->n_v == 0) {
		m->gap++;
		if (m->o.trace.gap_limit != 0 && m->gap >= m->o.trace.gap_limit) {
			stop(m, HW_STOP_GAPLIMIT, m->cur, now_us);
			return;
		}
	} else {
		m->gap = 0;
		m->ref = m->cur;
		enum hw_stop_reason reason = all_final(h);
		if (reason != HW_STOP_NONE) {
			stop(m, reason, m->cur, now_us);
			return;
		}
	}
	if (m->cur >= m->o.trace.max_ttl)
		stop(m, HW_STOP_MAXTTL, m->cur, now_us);
	else
		start_hop(m, (uint8_t)(m->cur + 1), now_us);
}

/* Flows of a TTL in one state. */
static uint32_t count_state(const struct hop *h, uint16_t state)
{
	uint32_t n = 0;
	for (uint32_t f = 0; f < h->fv_len; f++)
		n += h->fv[f] == state;
	return n;
}

/*
 * RULE's candidates: the flows that answered at the reference TTL through an interface
 * that goes on, taken round robin over those interfaces (each interface's flows in
 * order), so that every interface is followed early and evenly. The flows lost there
 * form one more group: behind a silent router they are the only way on.
 */
static int build_candidates(hw_mda_t *m)
{
	const struct hop *r = m->ref != 0 ? hop_at(m, m->ref) : NULL;

	m->n_cand = m->cand_pos = 0;
	if (r == NULL)
		return HW_OK;
	uint16_t groups = (uint16_t)(r->n_v + 1);
	uint32_t total = count_state(r, FV_LOST), *next = calloc(groups, sizeof(*next));
	for (uint16_t i = 0; next != NULL && i < r->n_v; i++)
		total += r->v[i].final == HW_STOP_NONE ? r->v[i].flows : 0;
	uint32_t *cand = next != NULL ? realloc(m->cand, (total + 1) * sizeof(*cand)) : NULL;
	if (cand == NULL) {
		free(next);
		return HW_ERR_NOMEM;
	}
	m->cand = cand;
	/* next[i]: where group i's scan of the flows resumes; a pass without one ends it. */
	for (size_t before = SIZE_MAX; before != m->n_cand && m->n_cand < total;) {
		before = m->n_cand;
		for (uint16_t i = 0; i < groups && m->n_cand < total; i++) {
			uint16_t state = i < r->n_v ? (uint16_t)(FV_VTX + i) : FV_LOST;
			if (i < r->n_v && r->v[i].final != HW_STOP_NONE)
				continue;
			while (next[i] < r->fv_len && r->fv[next[i]] != state)
				next[i]++;
			if (next[i] < r->fv_len)
				m->cand[m->n_cand++] = next[i]++;
		}
	}
	free(next);
	return HW_OK;
}

static void start_nodectl(hw_mda_t *m, uint64_t now_us)
{
	m->phase = PH_NODECTL;
	m->rounds = 0;
	m->nodectl_new = 0;
	nodectl_step(m, now_us);
}

static void start_hop(hw_mda_t *m, uint8_t ttl, uint64_t now_us)
{
	if (ensure_hop(m, ttl) != HW_OK) {
		fail(m, now_us);
		return;
	}
	m->cur = ttl;
	m->meshed = false;
	m->completing = false;
	queue_reset(m);
	if (build_candidates(m) != HW_OK) {
		fail(m, now_us);
		return;
	}
	const struct hop *p = parents(m);
	/* The MDA follows each interface on its own, unless one interface takes all flows. */
	if (m->o.mode == HW_MULTIPATH_MDA && p != NULL && p->n_v >= 2 && !p->pp)
		start_nodectl(m, now_us);
	else
		m->phase = PH_RULE;
}

/* Flow counts per interface of two consecutive TTLs, for links and node control. */
struct pair_counts {
	uint16_t *both;     /* per interface at cur: flows answered at both TTLs */
	uint16_t *fwd;      /* per interface at cur - 1: flows answered at both TTLs */
	uint16_t star_fwd;  /* flows lost at cur - 1 and answered at cur */
	uint16_t star_succ; /* the interfaces at cur they reached */
	bool *seen;         /* (which those are) */
};

static int count_pairs(const struct hop *p, const struct hop *c, struct pair_counts *k)
{
	memset(k, 0, sizeof(*k));
	k->both = calloc(c->n_v ? c->n_v : 1, sizeof(*k->both));
	k->fwd = calloc(p->n_v ? p->n_v : 1, sizeof(*k->fwd));
	k->seen = calloc(c->n_v ? c->n_v : 1, sizeof(*k->seen));
	if (k->both == NULL || k->fwd == NULL || k->seen == NULL)
		return HW_ERR_NOMEM;
	uint32_t len = p->fv_len > c->fv_len ? p->fv_len : c->fv_len;
	for (uint32_t f = 0; f < len; f++) {
		uint16_t a = fv_get(p, f), b = fv_get(c, f);
		if (!answered(b))
			continue;
		if (answered(a)) {
			k->both[b - FV_VTX]++;
			k->fwd[a - FV_VTX]++;
		} else if (a == FV_LOST) {
			k->star_fwd++;
			k->star_succ += !k->seen[b - FV_VTX];
			k->seen[b - FV_VTX] = true;
		}
	}
	return HW_OK;
}

static void free_pairs(struct pair_counts *k)
{
	free(k->both);
	free(k->fwd);
	free(k->seen);
}

/* Queues up to n probes at `at` for flows in state `want` at hop a and `have` at hop b. */
static int queue_flows(hw_mda_t *m, const struct hop *a, uint16_t want, const struct hop *b,
		       uint16_t have, uint8_t at, uint8_t purpose, unsigned n)
{
	for (uint32_t f = 0; n > 0 && f < b->fv_len; f++) {
		if (b->fv[f] != have || fv_get(a, f) != want)
			continue;
		if (enqueue(m, f, at, 0, purpose) != HW_OK)
			return HW_ERR_NOMEM;
		n--;
	}
	return HW_OK;
}

/* Whether MDA-Lite's meshing test applies to the current TTL pair. */
static bool meshing_test(hw_mda_t *m, const struct hop *p, const struct hop *c)
{
	return m->o.mode == HW_MULTIPATH_LITE && open_count(p) >= 2 && c->n_v >= 2 && !p->pp;
}

/*
 * LINKS: every interface at cur needs a predecessor seen through some flow, every open
 * interface at cur - 1 a successor; for the meshing test, phi of them: probing back at
 * cur - 1 when cur is the wider TTL (does an interface there have two predecessors?),
 * forward at cur otherwise (does an interface before it have two successors?).
 */
/*
 * Link probes for the pair (p at c_ttl - 1, c at c_ttl): back_want flows known at both
 * TTLs for each interface at c_ttl, fwd_want for each open one at c_ttl - 1; with
 * late_only, for interfaces first seen after their TTL was explored only.
 */
static int pair_queue(hw_mda_t *m, struct hop *p, struct hop *c, uint8_t c_ttl,
		      unsigned back_want, unsigned fwd_want, bool late_only)
{
	struct pair_counts k;
	int rc = count_pairs(p, c, &k);

	for (uint16_t i = 0; rc == HW_OK && i < c->n_v; i++) {
		if (late_only && !c->v[i].late)
			continue;
		if (k.both[i] < back_want)
			rc = queue_flows(m, p, FV_UNSENT, c, (uint16_t)(FV_VTX + i),
					 (uint8_t)(c_ttl - 1), PU_LINK, back_want - k.both[i]);
	}
	for (uint16_t i = 0; rc == HW_OK && i < p->n_v; i++) {
		if (late_only && !p->v[i].late)
			continue;
		if (p->v[i].final == HW_STOP_NONE && k.fwd[i] < fwd_want)
			rc = queue_flows(m, c, FV_UNSENT, p, (uint16_t)(FV_VTX + i), c_ttl, PU_LINK,
					 fwd_want - k.fwd[i]);
	}
	free_pairs(&k);
	return rc;
}

/* Links of a pair are only known from flows when the first TTL is not per-packet. */
static bool pair_knowable(const struct hop *p, const struct hop *c)
{
	return !(p->pp && open_count(p) > 1 && c->n_v > 1);
}

/*
 * Probing back (here or for an earlier TTL) may show an interface the TTL before had
 * hidden, with flows never sent lower down: each interface of a TTL up to cur - 1 with
 * no flow answered at the TTL before (when that one answered) sends one of its flows
 * there, so that no interface is left with nothing linking into it.
 */
static int back_links_queue(hw_mda_t *m)
{
	int rc = HW_OK;

	for (unsigned t = (unsigned)m->o.trace.first_ttl + 1; rc == HW_OK && t < m->cur; t++) {
		struct hop *a = hop_at(m, (uint8_t)(t - 1)), *b = hop_at(m, (uint8_t)t);
		if (a->n_v > 0 && b->n_v > 0 && pair_knowable(a, b))
			rc = pair_queue(m, a, b, (uint8_t)t, 1, 0, false);
	}
	return rc;
}

static int links_queue(hw_mda_t *m, struct hop *p, struct hop *c)
{
	bool test = meshing_test(m, p, c), divergent = c->n_v > open_count(p);
	unsigned phi = m->o.meshing_flows;
	int rc = pair_queue(m, p, c, m->cur, test && divergent ? phi : 1,
			    test && !divergent ? phi : 1, false);

	/*
	 * Probing back may have shown an interface the TTL before had hidden: link it to the
	 * TTL before that too, and give it a successor.
	 */
	struct hop *pp = m->cur - 2 >= m->o.trace.first_ttl ? hop_at(m, (uint8_t)(m->cur - 2)) : NULL;
	if (rc == HW_OK && pp != NULL && pp->n_v > 0 && pair_knowable(pp, p))
		rc = pair_queue(m, pp, p, (uint8_t)(m->cur - 1), 1, 1, true);
	return rc == HW_OK ? back_links_queue(m) : rc;
}

/*
 * After node control: new flows sent at cur - 1 may have shown interfaces there that no
 * flow probed at cur - 2 reaches, and links cannot leave a TTL nothing links into. Each
 * interface of cur - 1 without a flow answered at cur - 2 sends one of its flows there;
 * each one at cur needs a flow answered at cur - 1 (node control gave them one already).
 */
static int completion_queue(hw_mda_t *m, struct hop *p, struct hop *c)
{
	int rc = pair_queue(m, p, c, m->cur, 1, 1, false);
	struct hop *pp = m->cur - 2 >= m->o.trace.first_ttl ? hop_at(m, (uint8_t)(m->cur - 2)) : NULL;

	if (rc == HW_OK && pp != NULL && pp->n_v > 0 && pair_knowable(pp, p))
		rc = pair_queue(m, pp, p, (uint8_t)(m->cur - 1), 1, 1, true);
	return rc == HW_OK ? back_links_queue(m) : rc;
}

static bool any_degree(const struct hop *h, bool succ, bool open_only)
{
	for (uint16_t i = 0; i < h->n_v; i++) {
		if (open_only && h->v[i].final != HW_STOP_NONE)
			continue;
		if ((succ ? h->v[i].n_succ : h->v[i].n_pred) >= 2)
			return true;
	}
	return false;
}

/* Meshing: an interface with two successors next to one with two predecessors. */
static bool is_meshed(const struct hop *p, const struct hop *c)
{
	return any_degree(p, true, true) && any_degree(c, false, false);
}

/* MDA-Lite's uniformity: every fan-out (or fan-in) of the pair the same width. */
static bool is_nonuniform(const struct hop *p, const struct hop *c)
{
	bool divergent = c->n_v > open_count(p);
	const struct hop *h = divergent ? p : c;
	uint16_t deg = 0;

	if (c->n_v == open_count(p))
		return false; /* unmeshed and as wide: one to one */
	for (uint16_t i = 0; i < h->n_v; i++) {
		if (divergent && h->v[i].final != HW_STOP_NONE)
			continue;
		uint16_t d = divergent ? h->v[i].n_succ : h->v[i].n_pred;
		if (d == 0)
			continue; /* its flows were lost: no evidence either way */
		if (deg != 0 && d != deg)
			return true;
		deg = d;
	}
	return false;
}

/* The lowest flow through the meshed-looking part of the pair: the per-packet witness. */
static bool witness(hw_mda_t *m, uint32_t *flow)
{
	const struct hop *p = hop_at(m, (uint8_t)(m->cur - 1)), *c = hop_at(m, m->cur);

	for (uint32_t f = 0; f < c->fv_len; f++) {
		uint16_t a = fv_get(p, f), b = c->fv[f];
		if (!open_vtx(p, a) || !answered(b))
			continue;
		if (p->v[a - FV_VTX].n_succ >= 2 || c->v[b - FV_VTX].n_pred >= 2) {
			*flow = f;
			return true;
		}
	}
	return false;
}

/* RETEST: repeats flow at ttl; its first probe too when it was never sent there. */
static void start_retest_n(hw_mda_t *m, uint32_t flow, uint8_t ttl, uint8_t repeats,
			   uint64_t now_us)
{
	struct hop *h = hop_at(m, ttl);
	uint16_t s = fv_get(h, flow);

	m->phase = PH_RETEST;
	m->rt = (struct retest){.flow = flow, .ttl = ttl, .first = answered(s) ? s : 0};
	queue_reset(m);
	if (s == FV_UNSENT && enqueue(m, flow, ttl, 0, PU_RETEST) != HW_OK) {
		fail(m, now_us);
		return;
	}
	/* Repeats at a TTL never reuse an attempt number: a late answer stays unambiguous. */
	for (unsigned i = 0; i < repeats && h->rt_attempt < HW_ATTEMPT_MAX - 1; i++) {
		if (enqueue(m, flow, ttl, ++h->rt_attempt, PU_RETEST) != HW_OK) {
			fail(m, now_us);
			return;
		}
	}
}

static void start_retest(hw_mda_t *m, uint32_t flow, uint8_t ttl, uint64_t now_us)
{
	start_retest_n(m, flow, ttl, m->retests, now_us);
}

/* After the meshing test (and the per-packet test, if it ran): MDA where Lite fails. */
static void links_decided(hw_mda_t *m, uint64_t now_us)
{
	struct hop *p = parents(m), *c = hop_at(m, m->cur);

	if (p == NULL || !meshing_test(m, p, c) || c->pp) {
		close_hop(m, now_us);
		return;
	}
	bool nonuniform = !m->meshed && is_nonuniform(p, c);
	if (!m->meshed && !nonuniform) {
		close_hop(m, now_us);
		return;
	}
	if (m->meshed)
		m->st.meshed_hops++;
	else
		m->st.nonuniform_hops++;
	start_nodectl(m, now_us);
}

/* Whether a meshed-looking pair must first be checked for per-packet balancing. */
static bool check_per_packet(hw_mda_t *m, uint64_t now_us)
{
	struct hop *p = parents(m), *c = hop_at(m, m->cur);
	uint32_t flow;

	if (p == NULL || p->pp || c->pp_checked || !is_meshed(p, c))
		return false;
	m->meshed = true;
	if (!witness(m, &flow))
		return false;
	start_retest(m, flow, m->cur, now_us);
	return !m->stopped;
}

/*
 * MDA-Lite takes a link from one flow's answers at two TTLs, which per-packet balancing
 * makes up: a balancer that takes turns (nftables' numgen inc) sends probes sent in turn
 * the same way at every TTL, so a1's flows may all reach b2 and b1's a2, one to one,
 * never looking meshed. So where the paths branch, one flow through each branching
 * interface of the TTL before (or, at the first TTL, one flow) is first repeated at the
 * current TTL, as for a meshed pair. Branching that happened earlier was checked there,
 * and a TTL past a per-packet balancer is marked anyway (close_hop).
 *
 * A balancer spreading packets evenly over its w successors (the uniformity the stopping
 * rule assumes too) repeats an answer with probability 1/w: the fewest repeats r with
 * (1/w)^r <= 1 - confidence, unless --retests set them. Past a per-packet balancer whose
 * paths seemed to meet again in one interface, that meeting is itself only known at the
 * confidence (a missed branch would make its links false and unflagged): twice as many,
 * so that a missed meeting and a stable-looking repeat together stay far below it.
 *
 * Starts the test of the branching interfaces from index `from` on; false when none is
 * left (or there is nothing to test).
 */
static bool lite_pre_check(hw_mda_t *m, uint16_t from, uint64_t now_us)
{
	struct hop *p = parents(m), *c = hop_at(m, m->cur);
	uint32_t flow = UINT32_MAX;
	unsigned w = 2;

	if (m->o.mode != HW_MULTIPATH_LITE || c->n_v < 2 || c->pp_checked || in_region(m) ||
	    (p == NULL && from > 0))
		return false;
	m->pre_next = UINT16_MAX;
	for (uint16_t i = from; p != NULL && flow == UINT32_MAX && i < p->n_v; i++) {
		if (p->v[i].final != HW_STOP_NONE || p->v[i].n_succ < 2)
			continue;
		for (uint32_t f = 0; f < c->fv_len && flow == UINT32_MAX; f++) {
			if (answered(c->fv[f]) && fv_get(p, f) == FV_VTX + i)
				flow = f;
		}
		w = p->v[i].n_succ;
		m->pre_next = (uint16_t)(i + 1);
	}
	for (uint32_t f = 0; p == NULL && f < c->fv_len && flow == UINT32_MAX; f++) {
		if (answered(c->fv[f]))
			flow = f;
	}
	if (p == NULL)
		m->pre_next = UINT16_MAX; /* one test only */
	if (flow == UINT32_MAX)
		return false;
	uint8_t repeats = m->retests;
	if (m->o.retests == 0) {
		double miss = 1;
		for (repeats = 0; miss > m->alpha && repeats < 16; repeats++)
			miss /= w;
	}
	bool past = false;
	for (uint8_t t = m->o.trace.first_ttl; t < m->cur && !past; t++)
		past = hop_at(m, t)->pp;
	start_retest_n(m, flow, m->cur, (uint8_t)(past ? 2 * repeats : repeats), now_us);
	m->rt.pre = true;
	return !m->stopped;
}

static void links_step(hw_mda_t *m, uint64_t now_us)
{
	struct hop *p = parents(m), *c = hop_at(m, m->cur);

	m->phase = PH_LINKS;
	queue_reset(m);
	/* Between two per-packet TTLs a flow proves no link: nothing to complete. */
	if (p != NULL && pair_knowable(p, c) && m->rounds++ < LINK_ROUNDS) {
		if ((m->completing ? completion_queue(m, p, c) : links_queue(m, p, c)) != HW_OK) {
			fail(m, now_us);
			return;
		}
		if (m->n_queue > 0)
			return;
	}
	if (m->completing) {
		completed(m, now_us);
		return;
	}
	if (p != NULL && is_meshed(p, c))
		m->meshed = true;
	if (check_per_packet(m, now_us))
		return;
	links_decided(m, now_us);
}

/* Marks TTLs from..to as past a per-packet balancer. */
static void mark_region(hw_mda_t *m, uint8_t from, uint8_t to)
{
	for (unsigned t = from; t <= to; t++) {
		struct hop *h = hop_at(m, (uint8_t)t);
		if (!h->pp)
			m->st.per_packet_hops++;
		h->pp = h->pp_checked = true;
	}
}

static void retest_done(hw_mda_t *m, uint64_t now_us)
{
	struct retest *rt = &m->rt;
	struct hop *below = rt->ttl > m->o.trace.first_ttl ? hop_at(m, (uint8_t)(rt->ttl - 1)) : NULL;

	if (rt->varied) {
		/* Walk back until the flow's answers are stable: the balancer is there. */
		if (below != NULL && fv_get(below, rt->flow) != FV_LOST) {
			start_retest(m, rt->flow, (uint8_t)(rt->ttl - 1), now_us);
			return;
		}
		mark_region(m, rt->ttl, m->cur);
	} else if (rt->ttl == m->cur && rt->pre) {
		/*
		 * Stable: flows tell the paths apart here; on to links and the meshing test
		 * (which needs no second per-packet test: these went through the branching),
		 * once every branching interface has been tested.
		 */
		if (lite_pre_check(m, m->pre_next, now_us) || m->stopped)
			return;
		hop_at(m, m->cur)->pp_checked = true;
		m->rounds = 0;
		links_step(m, now_us);
		return;
	} else if (rt->ttl == m->cur) {
		/* Stable: the meshing is real. */
		hop_at(m, m->cur)->pp_checked = true;
		if (m->o.mode == HW_MULTIPATH_LITE) {
			links_decided(m, now_us);
			return;
		}
	} else {
		hop_at(m, rt->ttl)->pp_checked = true;
		mark_region(m, (uint8_t)(rt->ttl + 1), m->cur);
	}
	close_hop(m, now_us);
}

/*
 * NODECTL: each open interface v at cur - 1 must have n(successors + 1) flows answered at
 * cur through it. Known flows through v are forwarded first; when v has too few, new
 * flows are sent at cur - 1, as many as the interface with the most missing needs given
 * its share of flows (the others get theirs on the way).
 */
static int nodectl_queue(hw_mda_t *m, struct hop *p, struct hop *c, uint32_t *missing_new)
{
	struct pair_counts k;
	uint32_t total = 0, want_new = 0;
	int rc = count_pairs(p, c, &k);

	for (uint16_t i = 0; i < p->n_v; i++)
		total += p->v[i].flows;
	for (uint16_t i = 0; rc == HW_OK && i < p->n_v; i++) {
		const struct vtx *v = &p->v[i];
		uint32_t target = need(m, v->n_succ);
		if (v->final != HW_STOP_NONE || v->flows == 0 || k.fwd[i] >= target)
			continue;
		/*
		 * MDA-Lite's rule already vouches for the interfaces at cur: a vertex linked to
		 * all of them keeps the flows that confirm those links, n(s), not n(s + 1) to
		 * look for one more (dropping even those lets a miss of the TTL's rule through).
		 */
		if (m->o.mode == HW_MULTIPATH_LITE && v->n_succ >= c->n_v) {
			target = need(m, (unsigned)v->n_succ - 1);
			if (k.fwd[i] >= target)
				continue;
		}
		size_t before = m->n_queue;
		rc = queue_flows(m, c, FV_UNSENT, p, (uint16_t)(FV_VTX + i), m->cur, PU_FWD,
				 target - k.fwd[i]);
		uint32_t short_by = target - k.fwd[i] - (uint32_t)(m->n_queue - before);
		/* In flight forward probes would be counted by now: the barrier holds. */
		uint64_t n = short_by == 0 ? 0 : ((uint64_t)short_by * total + v->flows - 1) / v->flows;
		if (n > want_new)
			want_new = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	}
	/*
	 * Flows lost at cur - 1 went through something silent: follow them as one more
	 * vertex, with the flows there are (new ones would mostly go elsewhere).
	 */
	uint32_t star_target = need(m, k.star_succ);
	if (rc == HW_OK && k.star_fwd < star_target)
		rc = queue_flows(m, c, FV_UNSENT, p, FV_LOST, m->cur, PU_FWD,
				 star_target - k.star_fwd);
	free_pairs(&k);
	*missing_new = want_new;
	return rc;
}

/* Node control's budget at one TTL: a few times what the rule asks of every vertex. */
static uint32_t nodectl_cap(hw_mda_t *m, const struct hop *p)
{
	uint64_t cap = 0;

	for (uint16_t i = 0; i < p->n_v; i++)
		cap += p->v[i].final == HW_STOP_NONE ? 4 * (uint64_t)need(m, p->v[i].n_succ) : 0;
	return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

static int nodectl_new_flows(hw_mda_t *m, const struct hop *p, uint32_t n)
{
	uint32_t cap = nodectl_cap(m, p);
	uint8_t back = (uint8_t)(m->cur - 1);

	/*
	 * n is what the neediest vertex takes on average, and the others' share lands
	 * where it is not needed. MDA-Lite's rule vouched for the interfaces at cur - 1,
	 * so new flows there only feed vertices: half at a time, then count again. (The
	 * MDA keeps them all: they are its only look at cur - 1's other interfaces.)
	 */
	if (m->o.mode == HW_MULTIPATH_LITE)
		n = n / 2 + n % 2;
	n = cap > m->nodectl_new && n > cap - m->nodectl_new ? cap - m->nodectl_new : n;
	if (cap <= m->nodectl_new)
		n = 0;
	for (; n > 0 && m->next_flow < m->max_flows; n--) {
		if (enqueue(m, m->next_flow++, back, 0, PU_NEW) != HW_OK)
			return HW_ERR_NOMEM;
		m->nodectl_new++;
	}
	return HW_OK;
}

/* Node control and link completion done: the MDA's per-packet check, if meshed. */
static void completed(hw_mda_t *m, uint64_t now_us)
{
	struct hop *p = parents(m), *c = hop_at(m, m->cur);

	if (m->o.mode == HW_MULTIPATH_MDA && p != NULL && is_meshed(p, c)) {
		m->meshed = true;
		if (check_per_packet(m, now_us))
			return;
	}
	close_hop(m, now_us);
}

static void nodectl_done(hw_mda_t *m, uint64_t now_us)
{
	m->completing = true;
	m->rounds = 0;
	links_step(m, now_us);
}

static void nodectl_step(hw_mda_t *m, uint64_t now_us)
{
	struct hop *p = parents(m), *c = hop_at(m, m->cur);
	uint32_t missing = 0;

	queue_reset(m);
	if (p == NULL || m->rounds++ >= NODECTL_ROUNDS) {
		nodectl_done(m, now_us);
		return;
	}
	if (nodectl_queue(m, p, c, &missing) != HW_OK ||
	    nodectl_new_flows(m, p, missing) != HW_OK) {
		fail(m, now_us);
		return;
	}
	if (m->n_queue == 0)
		nodectl_done(m, now_us);
}

/* The current phase has nothing left to send and nothing in flight: move on. */
static void advance(hw_mda_t *m, uint64_t now_us)
{
	struct hop *h = hop_at(m, m->cur);

	switch (m->phase) {
	case PH_RULE:
		if (h->n_v > 0 && h->rule_answered < need(m, h->n_v))
			m->st.lossy_hops++;
		if (h->n_v == 0)
			close_hop(m, now_us);
		else if (!lite_pre_check(m, 0, now_us)) {
			m->rounds = 0;
			links_step(m, now_us);
		}
		break;
	case PH_LINKS:
		links_step(m, now_us);
		break;
	case PH_RETEST:
		retest_done(m, now_us);
		break;
	case PH_NODECTL:
		nodectl_step(m, now_us);
		break;
	}
}

/* Moves through phases while nothing is in flight and the current one is spent. */
static void progress(hw_mda_t *m, uint64_t now_us)
{
	struct item it;
	enum source src;

	while (!m->stopped && m->in_flight == 0) {
		if (m->trace->probes_sent >= m->o.max_probes) {
			m->st.budget_exhausted = true;
			stop(m, HW_STOP_ERROR, m->cur, now_us);
			break;
		}
		if (pick(m, &it, &src))
			break;
		if (m->phase == PH_RULE && m->next_flow >= m->max_flows && rule_wants(m))
			m->st.budget_exhausted = true;
		advance(m, now_us);
	}
}

/* ---- the public face ---- */

hw_mda_t *mda_new(const struct hw_mda_opts *opts, const struct hw_flow *base,
		  struct hw_trace *trace)
{
	if (opts == NULL || base == NULL || trace == NULL || mda_opts_check(opts, NULL) != HW_OK ||
	    base->flow_id > HW_FLOW_MAX)
		return NULL;
	hw_mda_t *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->o = *opts;
	m->base = *base;
	m->trace = trace;
	m->alpha = (100 - opts->confidence) / 100.0;
	m->retests = opts->retests != 0 ? opts->retests : auto_retests(m->alpha);
	m->max_flows = (uint32_t)(HW_FLOW_MAX - base->flow_id) + 1;
	m->slots = calloc(opts->trace.window, sizeof(*m->slots));
	if (m->slots == NULL || ensure_hop(m, opts->trace.first_ttl) != HW_OK)
		return mda_free(m);
	m->cur = opts->trace.first_ttl;
	m->phase = PH_RULE;
	trace->multipath = opts->mode;
	trace->confidence = opts->confidence;
	return m;
}

hw_mda_t *mda_free(hw_mda_t *m)
{
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < m->n_hops; i++) {
		free(m->hops[i].fv);
		free(m->hops[i].v);
	}
	free(m->hops);
	free(m->links);
	free(m->slots);
	free(m->cand);
	free(m->queue);
	free(m);
	return NULL;
}

static struct slot *free_slot(hw_mda_t *m)
{
	for (unsigned i = 0; i < m->o.trace.window; i++) {
		if (!m->slots[i].used)
			return &m->slots[i];
	}
	return NULL;
}

static struct slot *find_slot(hw_mda_t *m, uint32_t flow, uint8_t ttl, uint8_t attempt)
{
	for (unsigned i = 0; i < m->o.trace.window; i++) {
		struct slot *s = &m->slots[i];
		if (s->used && s->flow == flow && s->ttl == ttl && s->attempt == attempt)
			return s;
	}
	return NULL;
}

static void count_sent(hw_mda_t *m, uint8_t purpose, int delta)
{
	uint32_t *c[] = {
		[PU_RULE] = &m->st.discovery, [PU_LINK] = &m->st.links,
		[PU_FWD] = &m->st.node_control, [PU_NEW] = &m->st.node_control,
		[PU_RETEST] = &m->st.retests,
	};
	*c[purpose] += (uint32_t)delta;
	m->st.probes += (uint32_t)delta;
	m->trace->probes_sent += (uint32_t)delta;
}

static void advance_cursor(hw_mda_t *m, enum source src, int delta)
{
	if (src == SRC_CAND)
		m->cand_pos = (size_t)((long)m->cand_pos + delta);
	else if (src == SRC_NEW)
		m->next_flow = (uint32_t)((long)m->next_flow + delta);
	else
		m->queue_pos = (size_t)((long)m->queue_pos + delta);
}

bool mda_next(hw_mda_t *m, uint64_t now_us, uint16_t *flow_id, uint8_t *ttl, uint8_t *attempt)
{
	struct item it;
	enum source src;

	progress(m, now_us);
	if (m->stopped || m->in_flight >= m->o.trace.window ||
	    m->trace->probes_sent >= m->o.max_probes || !pick(m, &it, &src))
		return false;
	struct slot *s = free_slot(m);
	struct hop *h = hop_at(m, it.ttl);
	if (s == NULL || (it.attempt == 0 && fv_set(h, it.flow, FV_FLIGHT) != HW_OK)) {
		fail(m, now_us);
		return false;
	}
	if (m->trace->probes_sent == 0)
		m->t0_us = now_us;
	*s = (struct slot){.flow = it.flow, .tx_us = now_us, .ttl = it.ttl,
			   .attempt = it.attempt, .purpose = it.purpose, .used = true};
	m->in_flight++;
	m->rule_in_flight += it.purpose == PU_RULE;
	count_sent(m, it.purpose, 1);
	trace_hop(m->trace, it.ttl)->probes_sent++;
	advance_cursor(m, src, 1);
	m->last.valid = true;
	m->last.src = src;
	m->last.flow = it.flow;
	m->last.ttl = it.ttl;
	m->last.attempt = it.attempt;
	if (it.flow + 1 > m->st.flows)
		m->st.flows = it.flow + 1;
	*flow_id = (uint16_t)(m->base.flow_id + it.flow);
	*ttl = it.ttl;
	*attempt = it.attempt;
	return true;
}

void mda_unsend(hw_mda_t *m, uint16_t flow_id, uint8_t ttl, uint8_t attempt)
{
	if (flow_id < m->base.flow_id)
		return;
	uint32_t flow = (uint32_t)(flow_id - m->base.flow_id);
	struct slot *s = find_slot(m, flow, ttl, attempt);
	if (s == NULL)
		return;
	if (attempt == 0)
		fv_set(hop_at(m, ttl), flow, FV_UNSENT); /* the entry exists: cannot fail */
	m->in_flight--;
	m->rule_in_flight -= s->purpose == PU_RULE;
	count_sent(m, s->purpose, -1);
	trace_hop(m->trace, ttl)->probes_sent--;
	s->used = false;
	if (m->last.valid && m->last.flow == flow && m->last.ttl == ttl &&
	    m->last.attempt == attempt)
		advance_cursor(m, m->last.src, -1);
	m->last.valid = false;
}

/* Whether an answer ends the trace, and how (as the tracer judges it). */


/*
 * A repeat leaves the flow's first answer standing, but when the flow's path up to the
 * TTL before is fixed, whatever answers the repeat is a successor there too (write_links
 * keeps such links only when that TTL turns out not per-packet).
 */
static int repeat_link(hw_mda_t *m, const struct slot *s, uint16_t state)
{
	struct hop *prev = s->ttl > 1 ? hop_at(m, (uint8_t)(s->ttl - 1)) : NULL;
	uint16_t a = fv_get(prev, s->flow);

	if (prev == NULL || !answered(state) || !open_vtx(prev, a))
		return HW_OK;
	return add_link(m, (uint8_t)(s->ttl - 1), (uint16_t)(a - FV_VTX), (uint16_t)(state - FV_VTX));
}

/* A probe is resolved, answered (state = FV_VTX + interface) or not (FV_LOST). */
static int resolve(hw_mda_t *m, struct slot *s, uint16_t state)
{
	struct hop *h = hop_at(m, s->ttl);
	int rc = HW_OK;

	s->used = false;
	m->in_flight--;
	if (s->purpose == PU_RULE) {
		m->rule_in_flight--;
		if (answered(state))
			h->rule_answered++;
		else
			h->rule_lost++;
	}
	if (s->purpose == PU_RETEST && s->flow == m->rt.flow && s->ttl == m->rt.ttl &&
	    answered(state)) {
		if (m->rt.first == 0)
			m->rt.first = state;
		else if (m->rt.first != state)
			m->rt.varied = true;
	}
	if (s->attempt != 0)
		return repeat_link(m, s, state);
	rc = fv_set(h, s->flow, state);
	if (rc == HW_OK && answered(state)) {
		h->v[state - FV_VTX].flows++;
		rc = observe(m, s->flow, s->ttl);
	}
	return rc;
}

bool mda_reply(hw_mda_t *m, uint16_t flow_id, uint8_t ttl, uint8_t attempt,
	       const struct hw_reply_pkt *r, uint64_t rx_us)
{
	struct slot *s = flow_id >= m->base.flow_id
				 ? find_slot(m, (uint32_t)(flow_id - m->base.flow_id), ttl, attempt)
				 : NULL;
	if (m->stopped || s == NULL)
		return false;
	struct hop *h = hop_at(m, ttl);
	uint64_t rtt = rx_us > s->tx_us ? rx_us - s->tx_us : 0;
	uint32_t rtt_us = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
	struct hw_reply rep;
	struct hw_mpls_label labels[HW_MPLS_MAX];
	hw_reply_from_packet(&rep, r, labels);
	rep.attempt = s->attempt;
	rep.flow_id = (uint16_t)(m->base.flow_id + s->flow);
	rep.rtt_ms = rtt_us / 1000.0;
	uint16_t before = h->n_v;
	long v = vtx_find_add(h, &r->from, (uint8_t)tracer_answer_stop(&m->base, r));
	if (v >= 0 && h->n_v > before)
		h->v[v].late = ttl < m->cur;
	if (v < 0 || hop_add_reply(trace_hop(m->trace, ttl), &rep) != HW_OK ||
	    resolve(m, s, (uint16_t)(FV_VTX + v)) != HW_OK) {
		fail(m, rx_us);
		return false;
	}
	m->trace->replies++;
	if (rtt_us > h->rtt_us)
		h->rtt_us = rtt_us;
	progress(m, rx_us);
	return true;
}

static uint64_t slot_deadline(const hw_mda_t *m, const struct slot *s)
{
	const struct hw_trace_opts *o = &m->o.trace;
	size_t i = (size_t)(s->ttl - o->first_ttl);
	uint32_t near = 0;
	for (size_t j = i + 1; j < m->n_hops; j++)
		near = m->hops[j].rtt_us > near ? m->hops[j].rtt_us : near;
	return s->tx_us + tracer_wait_us(o, m->hops[i].rtt_us, near);
}

void mda_expire(hw_mda_t *m, uint64_t now_us)
{
	for (unsigned i = 0; i < m->o.trace.window && !m->stopped; i++) {
		struct slot *s = &m->slots[i];
		if (!s->used || slot_deadline(m, s) > now_us)
			continue;
		m->st.lost++;
		if (resolve(m, s, FV_LOST) != HW_OK)
			fail(m, now_us);
	}
	progress(m, now_us);
}

uint64_t mda_deadline(const hw_mda_t *m)
{
	uint64_t best = UINT64_MAX;

	for (unsigned i = 0; i < m->o.trace.window; i++) {
		if (!m->slots[i].used)
			continue;
		uint64_t d = slot_deadline(m, &m->slots[i]);
		if (d < best)
			best = d;
	}
	return best;
}

unsigned mda_in_flight(const hw_mda_t *m)
{
	return m->in_flight;
}

bool mda_done(const hw_mda_t *m)
{
	return m->stopped && m->in_flight == 0;
}

void mda_abort(hw_mda_t *m)
{
	uint8_t top = m->o.trace.first_ttl;

	for (size_t i = 0; i < m->n_hops; i++) {
		if (m->hops[i].n_v != 0)
			top = (uint8_t)(m->o.trace.first_ttl + i);
	}
	stop(m, HW_STOP_ERROR, top, m->t0_us);
}

void mda_stats(const hw_mda_t *m, struct hw_mda_stats *out)
{
	*out = m->st;
}
