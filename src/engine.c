/*
 * Runs many traces on one loop. Answers reach their trace through a hash of the flow
 * (method, destination, ports): the quote of a reply names exactly those. A multipath
 * trace owns a range of source ports (one per flow id), so it is found by its other
 * fields and the port tells the flow. A global token bucket paces sending; each trace
 * keeps one loop timer at its next probe deadline.
 *
 * Doubletree traces share one stop set (stopset.h). Those that choose their start TTL
 * from it (start_ttl 0) need distances first, and all traces start at once: so the first
 * ones (PIONEERS) go alone and probe their whole path, and the others wait (held, off the
 * ready queue) until one has ended with a distance, or the next pioneers go when none did.
 */
#include <stdlib.h>
#include <string.h>

#include <hopwatch/engine.h>
#include <hopwatch/mda.h>
#include <hopwatch/status.h>

/* What the engine needs of a probing state machine: tracer.c and mda.c both fit. */
struct prober_ops {
	bool (*next)(void *p, uint64_t now, uint16_t *flow_id, uint8_t *ttl, uint8_t *attempt);
	void (*unsend)(void *p, uint16_t flow_id, uint8_t ttl, uint8_t attempt);
	bool (*reply)(void *p, uint16_t flow_id, uint8_t ttl, uint8_t attempt,
		      const struct hw_reply_pkt *r, uint64_t rx_us);
	void (*expire)(void *p, uint64_t now);
	uint64_t (*deadline)(const void *p);
	bool (*done)(const void *p);
	void (*abort)(void *p);
	void (*free)(void *p);
	bool multipath;
};

/* A Paris trace has one flow: its id is the base flow's. */
static bool paris_next(void *p, uint64_t now, uint16_t *flow_id, uint8_t *ttl, uint8_t *attempt)
{
	*flow_id = 0;
	return tracer_next(p, now, ttl, attempt);
}
static void paris_unsend(void *p, uint16_t flow_id, uint8_t ttl, uint8_t attempt)
{
	(void)flow_id;
	tracer_unsend(p, ttl, attempt);
}
static bool paris_reply(void *p, uint16_t flow_id, uint8_t ttl, uint8_t attempt,
			const struct hw_reply_pkt *r, uint64_t rx_us)
{
	(void)flow_id;
	return tracer_reply(p, ttl, attempt, r, rx_us);
}
static void paris_expire(void *p, uint64_t now) { tracer_expire(p, now); }
static uint64_t paris_deadline(const void *p) { return tracer_deadline(p); }
static bool paris_done(const void *p) { return tracer_done(p); }
static void paris_abort(void *p) { tracer_abort(p); }
static void paris_free(void *p) { tracer_free(p); }

static const struct prober_ops paris_ops = {
	paris_next, paris_unsend, paris_reply, paris_expire, paris_deadline, paris_done,
	paris_abort, paris_free, false,
};

static bool mda_next_cb(void *p, uint64_t now, uint16_t *flow_id, uint8_t *ttl,
			uint8_t *attempt)
{
	return mda_next(p, now, flow_id, ttl, attempt);
}
static void mda_unsend_cb(void *p, uint16_t flow_id, uint8_t ttl, uint8_t attempt)
{
	mda_unsend(p, flow_id, ttl, attempt);
}
static bool mda_reply_cb(void *p, uint16_t flow_id, uint8_t ttl, uint8_t attempt,
			 const struct hw_reply_pkt *r, uint64_t rx_us)
{
	return mda_reply(p, flow_id, ttl, attempt, r, rx_us);
}
static void mda_expire_cb(void *p, uint64_t now) { mda_expire(p, now); }
static uint64_t mda_deadline_cb(const void *p) { return mda_deadline(p); }
static bool mda_done_cb(const void *p) { return mda_done(p); }
static void mda_abort_cb(void *p) { mda_abort(p); }
static void mda_free_cb(void *p) { mda_free(p); }

static const struct prober_ops multipath_ops = {
	mda_next_cb, mda_unsend_cb, mda_reply_cb, mda_expire_cb, mda_deadline_cb, mda_done_cb,
	mda_abort_cb, mda_free_cb, true,
};

struct etrace {
	const struct prober_ops *ops;
	void *prober;
	struct hw_flow flow; /* the base flow: flow ids of a multipath trace count from it */
	struct hw_trace *trace;
	int64_t timer;
	uint64_t timer_at;
	bool done;
	bool queued;           /* in the ready queue */
	bool held;             /* doubletree: waits for the pioneers' distances */
	bool pioneer;          /* doubletree: one of the first, probing its whole path */
	size_t next_in_bucket; /* hash chain, index + 1 (0 ends) */
	struct hw_engine *engine;
};

struct hw_engine {
	hw_loop_t *loop;
	hw_net_t *net;
	struct hw_engine_opts opts;
	struct etrace *traces;
	size_t n, cap, active;
	/* Traces that may have a probe to send, round robin: a ring of indices. */
	size_t *ready;
	size_t ready_head, ready_len;
	size_t *buckets; /* index + 1 of the first trace in each bucket (0: empty) */
	size_t n_buckets;
	double tokens;
	uint64_t refilled_us;
	int64_t pace_timer;
	int fds[8];
	int n_fds;
	struct hw_engine_stats stats;
	/* Doubletree */
	hw_stopset_t *stopset;   /* the run's, made with the first doubletree trace */
	size_t pioneers;         /* pioneers chosen so far */
	size_t pioneers_active;  /* pioneers not done yet */
	size_t n_held;           /* held traces */
	size_t next_held;        /* no held trace below this index */
};

/* Doubletree traces that probe their whole path before the others start (see above). */
#define PIONEERS 8

void engine_opts_default(struct hw_engine_opts *opts)
{
	*opts = (struct hw_engine_opts){.rate_pps = 100, .burst = 16};
}

hw_engine_t *engine_new(hw_loop_t *loop, hw_net_t *net, const struct hw_engine_opts *opts)
{
	hw_engine_t *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->loop = loop;
	e->net = net;
	e->opts = *opts;
	/* The bucket holds 5 ms of probes at least, so the rate survives a callback that
	 * writes a finished trace while probes are due. */
	if (e->opts.burst < e->opts.rate_pps / 200)
		e->opts.burst = (unsigned)(e->opts.rate_pps / 200);
	if (e->opts.burst == 0)
		e->opts.burst = 1;
	e->tokens = e->opts.burst;
	return e;
}

hw_engine_t *engine_free(hw_engine_t *e)
{
	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < e->n; i++) {
		e->traces[i].ops->free(e->traces[i].prober);
		if (e->traces[i].timer > 0)
			loop_timer_cancel(e->loop, e->traces[i].timer);
	}
	if (e->pace_timer > 0)
		loop_timer_cancel(e->loop, e->pace_timer);
	for (int i = 0; i < e->n_fds; i++)
		loop_watch(e->loop, e->fds[i], 0, NULL, NULL);
	free(e->traces);
	free(e->buckets);
	free(e->ready);
	stopset_free(e->stopset);
	free(e);
	return NULL;
}

/* FNV-1a over what a reply names: method, destination and ports. */
static size_t flow_hash(enum hw_method method, const struct hw_addr *dst, uint16_t sport,
			uint16_t dport)
{
	uint64_t h = 1469598103934665603u;
	uint8_t key[22] = {(uint8_t)method, dst->family, (uint8_t)(sport >> 8), (uint8_t)sport,
			   (uint8_t)(dport >> 8), (uint8_t)dport};
	memcpy(key + 6, dst->a, 16);
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 1099511628211u;
	return (size_t)h;
}

/* Multipath traces are filed under source port 0: their replies name any of their ports. */
static uint16_t hash_sport(const struct etrace *t)
{
	return t->ops->multipath ? 0 : t->flow.sport;
}

static void bucket_insert(hw_engine_t *e, struct etrace *t)
{
	size_t h = flow_hash(t->flow.method, &t->flow.dst, hash_sport(t), t->flow.dport) %
		   e->n_buckets;
	t->next_in_bucket = e->buckets[h];
	e->buckets[h] = (size_t)(t - e->traces) + 1;
}

static int rehash(hw_engine_t *e, size_t n_buckets)
{
	size_t *b = calloc(n_buckets, sizeof(*b));
	if (b == NULL)
		return HW_ERR_NOMEM;
	free(e->buckets);
	e->buckets = b;
	e->n_buckets = n_buckets;
	for (size_t i = 0; i < e->n; i++)
		bucket_insert(e, &e->traces[i]);
	return HW_OK;
}

/* Takes a prober into the engine; frees it when the engine cannot take it. A held one
 * waits off the ready queue until release_held. */
static int add_prober(hw_engine_t *e, const struct prober_ops *ops, void *prober,
		      const struct hw_flow *flow, struct hw_trace *trace, bool held)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct etrace *v = realloc(e->traces, cap * sizeof(*v));
		if (v == NULL) {
			ops->free(prober);
			return HW_ERR_NOMEM;
		}
		e->traces = v;
		/* Traces are only added before the run, so the ring is still in order. */
		size_t *r = realloc(e->ready, cap * sizeof(*r));
		if (r == NULL) {
			ops->free(prober);
			return HW_ERR_NOMEM;
		}
		e->ready = r;
		e->cap = cap;
	}
	e->traces[e->n++] = (struct etrace){.ops = ops, .prober = prober, .flow = *flow,
					    .trace = trace, .engine = e, .queued = !held,
					    .held = held};
	e->active++;
	if (held)
		e->n_held++;
	else
		e->ready[(e->ready_head + e->ready_len++) % e->cap] = e->n - 1;
	/* Keep chains short: grow the table with the traces. */
	if (e->n * 2 > e->n_buckets)
		return rehash(e, e->n_buckets ? e->n_buckets * 4 : 64);
	bucket_insert(e, &e->traces[e->n - 1]);
	return HW_OK;
}

int engine_add(hw_engine_t *e, const struct hw_flow *flow, const struct hw_trace_opts *opts,
	       struct hw_trace *trace)
{
	hw_tracer_t *tr = tracer_new(opts, flow, trace);
	if (tr == NULL)
		return tracer_opts_check(opts, NULL) != HW_OK ? HW_ERR_INVAL : HW_ERR_NOMEM;
	bool held = false, pioneer = false;
	if (opts->doubletree) {
		if (e->stopset == NULL && (e->stopset = stopset_new(0)) == NULL) {
			tracer_free(tr);
			return HW_ERR_NOMEM;
		}
		tracer_set_stopset(tr, e->stopset);
		if (opts->start_ttl == 0) {
			pioneer = e->pioneers < PIONEERS;
			held = !pioneer;
		}
	}
	int rc = add_prober(e, &paris_ops, tr, flow, trace, held);
	if (rc == HW_OK && pioneer) {
		e->traces[e->n - 1].pioneer = true;
		e->pioneers++;
		e->pioneers_active++;
	}
	return rc;
}

int engine_add_multipath(hw_engine_t *e, const struct hw_flow *base,
			 const struct hw_mda_opts *opts, struct hw_trace *trace)
{
	hw_mda_t *m = mda_new(opts, base, trace);
	if (m == NULL)
		return mda_opts_check(opts, NULL) != HW_OK ? HW_ERR_INVAL : HW_ERR_NOMEM;
	return add_prober(e, &multipath_ops, m, base, trace, false);
}

/* The flow with id base->flow_id + offset: same addresses, method, TOS, instance. */
static void flow_at(const struct hw_flow *base, uint16_t offset, struct hw_flow *out)
{
	probe_flow_init(out, base->method, &base->src, &base->dst,
			(uint16_t)(base->flow_id + offset), base->dport, base->instance);
	out->tos = base->tos;
}

static struct etrace *find_in_bucket(hw_engine_t *e, const struct hw_reply_pkt *r,
				      uint16_t sport)
{
	size_t h = flow_hash(r->method, &r->probe_dst, sport, r->dport) % e->n_buckets;
	for (size_t i = e->buckets[h]; i != 0; i = e->traces[i - 1].next_in_bucket) {
		struct etrace *t = &e->traces[i - 1];
		if (t->flow.method == r->method && hash_sport(t) == sport &&
		    t->flow.dport == r->dport && hw_addr_eq(&t->flow.dst, &r->probe_dst))
			return t;
	}
	return NULL;
}

/* The trace a reply belongs to, and the offset of its flow from the trace's base flow. */
static struct etrace *find_trace(hw_engine_t *e, const struct hw_reply_pkt *r,
				 uint16_t *offset)
{
	if (e->n_buckets == 0)
		return NULL;
	*offset = 0;
	struct etrace *t = find_in_bucket(e, r, r->sport);
	if (t != NULL)
		return t;
	t = find_in_bucket(e, r, 0);
	if (t == NULL || r->sport < t->flow.sport ||
	    r->sport - t->flow.sport > HW_FLOW_MAX - t->flow.flow_id)
		return NULL;
	*offset = (uint16_t)(r->sport - t->flow.sport);
	return t;
}

static void on_trace_timer(void *arg);

/* Keeps the trace's timer at its earliest probe deadline. */
static void arm(struct etrace *t)
{
	hw_engine_t *e = t->engine;
	uint64_t at = t->done ? UINT64_MAX : t->ops->deadline(t->prober);
	if (at == t->timer_at && (t->timer > 0 || at == UINT64_MAX))
		return;
	if (t->timer > 0)
		loop_timer_cancel(e->loop, t->timer);
	t->timer = 0;
	t->timer_at = at;
	if (at != UINT64_MAX)
		t->timer = loop_timer(e->loop, at, on_trace_timer, t);
}

static void make_ready(hw_engine_t *e, struct etrace *t);

/*
 * Lets held doubletree traces go once a pioneer has told a distance: all of them. When
 * the pioneers all ended without one (silent destinations), the next few become pioneers.
 */
static void release_held(hw_engine_t *e)
{
	if (e->n_held == 0 || e->stopset == NULL)
		return;
	bool all = stopset_distances(e->stopset) > 0;
	if (!all && e->pioneers_active > 0)
		return;
	size_t budget = all ? e->n_held : PIONEERS;
	for (; e->next_held < e->n && budget > 0; e->next_held++) {
		struct etrace *t = &e->traces[e->next_held];
		if (!t->held)
			continue;
		t->held = false;
		e->n_held--;
		budget--;
		if (!all) {
			t->pioneer = true;
			e->pioneers_active++;
		}
		make_ready(e, t);
	}
}

static void finish_if_done(struct etrace *t)
{
	if (t->done || !t->ops->done(t->prober))
		return;
	t->done = true;
	if (t->pioneer) {
		t->engine->pioneers_active--;
		release_held(t->engine);
	}
	/* The result lives on in the trace; the probing state is not needed any more. */
	t->ops->free(t->prober);
	t->prober = NULL;
	if (t->engine->opts.on_done != NULL)
		t->engine->opts.on_done(t->engine->opts.on_done_arg, t->trace);
	t->engine->active--;
	if (t->engine->active == 0)
		loop_stop(t->engine->loop);
}

static void refill(hw_engine_t *e, uint64_t now)
{
	if (e->opts.rate_pps <= 0) {
		e->tokens = e->opts.burst;
		return;
	}
	if (e->refilled_us != 0 && now > e->refilled_us)
		e->tokens += (now - e->refilled_us) * e->opts.rate_pps / 1e6;
	if (e->tokens > e->opts.burst)
		e->tokens = e->opts.burst;
	e->refilled_us = now;
}

/* Sends one probe of trace t if it has one due; false when it has none. */
static bool send_one(hw_engine_t *e, struct etrace *t)
{
	uint8_t ttl, attempt, pkt[HW_PROBE_MAXLEN];
	uint16_t flow_id;
	size_t len;
	uint64_t now = hw_now_us();
	if (!t->ops->next(t->prober, now, &flow_id, &ttl, &attempt))
		return false;
	if (t->trace->start_unix_us == 0)
		t->trace->start_unix_us = hw_unix_us();
	struct hw_flow flow = t->flow;
	if (t->ops->multipath)
		flow_at(&t->flow, (uint16_t)(flow_id - t->flow.flow_id), &flow);
	if (probe_build(&flow, ttl, attempt, pkt, sizeof(pkt), &len) != HW_OK ||
	    net_send(e->net, pkt, len) != HW_OK) {
		t->ops->unsend(t->prober, flow_id, ttl, attempt);
		e->stats.send_errors++;
		/* A probe that cannot leave now will not leave later either. */
		t->ops->abort(t->prober);
		return false;
	}
	e->stats.probes_sent++;
	if (e->opts.rate_pps > 0)
		e->tokens -= 1;
	return true;
}

static void on_pace_timer(void *arg);

/* Marks a trace as possibly having a probe to send (after an answer or an expiry). */
static void make_ready(hw_engine_t *e, struct etrace *t)
{
	if (t->queued || t->done)
		return;
	t->queued = true;
	e->ready[(e->ready_head + e->ready_len++) % e->cap] = (size_t)(t - e->traces);
}

static struct etrace *pop_ready(hw_engine_t *e)
{
	struct etrace *t = &e->traces[e->ready[e->ready_head]];
	e->ready_head = (e->ready_head + 1) % e->cap;
	e->ready_len--;
	t->queued = false;
	return t;
}

/* Sends between reads: answers must be read before the socket buffer overflows. */
#define PUMP_BATCH 256
/* Shortest pause of the pacer (a 20000 pps rate sends 5 probes per wake). */
#define PACE_MIN_US 250

static void pace_at(hw_engine_t *e, uint64_t when)
{
	if (e->pace_timer <= 0)
		e->pace_timer = loop_timer(e->loop, when, on_pace_timer, e);
}

/* Sends due probes, one per ready trace in turn, as far as the token bucket allows. */
static void pump(hw_engine_t *e)
{
	refill(e, hw_now_us());
	for (unsigned sent = 0; e->ready_len != 0; sent++) {
		if (e->tokens < 1) {
			/* Waking for every token costs more than the probes at high rates (and
			 * timer slack makes each wake late): wake at most every PACE_MIN_US and
			 * send what has accrued. */
			uint64_t wait = (uint64_t)((1 - e->tokens) * 1e6 / e->opts.rate_pps) + 1;
			pace_at(e, hw_now_us() + (wait < PACE_MIN_US ? PACE_MIN_US : wait));
			return;
		}
		if (sent == PUMP_BATCH) {
			pace_at(e, hw_now_us()); /* after the loop has read what came back */
			return;
		}
		struct etrace *t = pop_ready(e);
		/* A trace that sent goes to the back of the queue; one that had nothing waits
		 * for its next answer or expiry. */
		if (!t->done && send_one(e, t))
			make_ready(e, t);
		finish_if_done(t);
		arm(t);
	}
}

static void on_pace_timer(void *arg)
{
	hw_engine_t *e = arg;
	e->pace_timer = 0;
	pump(e);
}

static void drain(hw_engine_t *e);

static void on_trace_timer(void *arg)
{
	struct etrace *t = arg;
	t->timer = 0;
	t->timer_at = UINT64_MAX;
	if (t->done)
		return;
	/* Answers already queued in the kernel (the loop may run this timer before it reads
	 * them, when it is busy) count by their kernel timestamps, not as late. */
	drain(t->engine);
	if (t->done)
		return;
	t->ops->expire(t->prober, hw_now_us());
	finish_if_done(t);
	arm(t);
	make_ready(t->engine, t);
	pump(t->engine);
}

static void handle_reply(hw_engine_t *e, const struct hw_reply_pkt *r, uint64_t rx_us)
{
	uint16_t offset;
	uint8_t ttl, attempt;
	struct etrace *t = find_trace(e, r, &offset);
	if (t == NULL) {
		e->stats.not_ours++;
		return;
	}
	struct hw_flow flow = t->flow;
	if (offset != 0)
		flow_at(&t->flow, offset, &flow);
	if (reply_match(&flow, r, &ttl, &attempt) != HW_OK) {
		e->stats.not_ours++;
		return;
	}
	if (t->done || !t->ops->reply(t->prober, flow.flow_id, ttl, attempt, r, rx_us)) {
		e->stats.late++;
		return;
	}
	e->stats.replies_matched++;
	finish_if_done(t);
	arm(t);
	make_ready(e, t);
}

/* Reads up to `batch` packets from fd: bounded, so timers and sends are not starved
 * under a flood. */
static void read_fd(hw_engine_t *e, int fd, int batch)
{
	for (int i = 0; i < batch; i++) {
		struct hw_reply_pkt r;
		uint64_t rx_us;
		int rc = net_recv(e->net, fd, &r, &rx_us);
		if (rc == HW_ERR_AGAIN || rc == HW_ERR_SYS || rc == HW_ERR_INVAL)
			break;
		e->stats.packets_read++;
		if (rc != HW_OK) {
			e->stats.not_ours++;
			continue;
		}
		handle_reply(e, &r, rx_us);
	}
}

/* Whatever the receive sockets hold now, before a probe is given up. */
static void drain(hw_engine_t *e)
{
	for (int i = 0; i < e->n_fds; i++)
		read_fd(e, e->fds[i], 512);
}

static void on_readable(int fd, unsigned events, void *arg)
{
	hw_engine_t *e = arg;
	(void)events;
	read_fd(e, fd, 512);
	pump(e);
}

int engine_run(hw_engine_t *e)
{
	if (e->n == 0)
		return HW_OK;
	e->n_fds = net_fds(e->net, e->fds, (int)(sizeof(e->fds) / sizeof(e->fds[0])));
	for (int i = 0; i < e->n_fds; i++)
		if (loop_watch(e->loop, e->fds[i], HW_EV_READ, on_readable, e) != 0)
			return HW_ERR_SYS;
	pump(e);
	if (e->active != 0 && loop_run(e->loop) != 0)
		return HW_ERR_SYS;
	for (int i = 0; i < e->n_fds; i++)
		loop_watch(e->loop, e->fds[i], 0, NULL, NULL);
	e->n_fds = 0;
	return HW_OK;
}

void engine_stats(const hw_engine_t *e, struct hw_engine_stats *out)
{
	*out = e->stats;
	out->traces_total = e->n;
	out->traces_done = e->n - e->active;
}
