/*
 * One Paris trace as a state machine (see tracer.h). Each probe of the trace has a slot,
 * indexed by (ttl, attempt); the trace's result is filled as answers arrive.
 *
 * Doubletree adds a second cursor: the forward one runs from h up as a plain trace does,
 * the backward one from h-1 down, one TTL at a time (the next TTL only once the current
 * one is resolved: its answer decides whether there is a next one). Without doubletree
 * h is first_ttl and the backward part is over before it starts.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/status.h>
#include <hopwatch/tracer.h>

enum slot_state {
	SLOT_UNSENT = 0,
	SLOT_IN_FLIGHT,
	SLOT_ANSWERED,
	SLOT_EXPIRED,   /* given up: its wait ran out */
	SLOT_CANCELLED, /* no longer needed: the trace stopped below its TTL */
};

/* 8 bytes: a trace keeps one per probe it may send, and thousands of traces run at once. */
struct slot {
	uint8_t state;
	uint32_t tx_off_us; /* send time, from the trace's first probe (71 minutes of range) */
};

struct hw_tracer {
	struct hw_trace_opts opts;
	struct hw_flow flow;
	struct hw_trace *trace;
	struct slot *slots;     /* (max_ttl - first_ttl + 1) * probes_per_hop */
	uint32_t *rtt_here_us;  /* per TTL: the slowest answer from that hop */
	uint32_t *rtt_near_us;  /* per TTL: the slowest answer from any farther hop */
	unsigned in_flight;
	uint8_t cur_ttl, cur_attempt; /* the next probe to give out */
	uint8_t highest_answer;       /* highest TTL that answered (0: none) */
	uint8_t final_ttl;            /* lowest TTL with an answer that ends the trace */
	enum hw_stop_reason final_reason;
	bool stopped;
	uint64_t t0_us;
	/* Doubletree */
	hw_stopset_t *stopset;  /* the run's, borrowed; NULL: none */
	uint32_t member;        /* this trace's id in the stop set */
	bool started;           /* the start TTL is chosen (at the first probe) */
	bool back_done;         /* backward probing is over (or never was) */
	uint8_t start;          /* h: the first TTL probed; first_ttl without doubletree */
	uint8_t low_ttl;        /* the lowest TTL the trace covers: below it, skipped */
	uint8_t back_ttl;       /* the TTL backward probing is at */
	uint8_t back_attempt;   /* its next attempt to send */
	uint8_t back_silent;    /* silent backward hops in a row */
};

void tracer_opts_default(struct hw_trace_opts *opts)
{
	*opts = (struct hw_trace_opts){
		.first_ttl = 1,
		.max_ttl = 30,
		.probes_per_hop = 3,
		.gap_limit = 5,
		.window = 16,
		.wait_max = 3.0,
		.wait_here = 3.0,
		.wait_near = 10.0,
		.wait_min = 0.005,
	};
}

int tracer_opts_check(const struct hw_trace_opts *o, const char **why)
{
	const char *bad = NULL;
	if (o->first_ttl < 1)
		bad = "first TTL must be at least 1";
	else if (o->max_ttl < o->first_ttl)
		bad = "max TTL must not be below the first TTL";
	else if (o->probes_per_hop < 1 || o->probes_per_hop > 10)
		bad = "probes per hop must be 1..10";
	else if (o->window < 1)
		bad = "window must be at least 1";
	else if (!(o->wait_max > 0 && o->wait_max <= 60))
		bad = "wait must be more than 0 and at most 60 seconds";
	else if (!(o->wait_here >= 0 && o->wait_here <= 1000) ||
		 !(o->wait_near >= 0 && o->wait_near <= 1000))
		bad = "wait factors must be 0..1000";
	else if (!(o->wait_min >= 0 && o->wait_min <= o->wait_max))
		bad = "minimum wait must be 0..wait";
	else if (o->start_ttl != 0 && !o->doubletree)
		bad = "a start TTL needs doubletree";
	if (why != NULL)
		*why = bad;
	return bad != NULL ? HW_ERR_INVAL : HW_OK;
}

static size_t n_ttls(const hw_tracer_t *t)
{
	return (size_t)(t->opts.max_ttl - t->opts.first_ttl + 1);
}

static struct slot *slot_at(hw_tracer_t *t, uint8_t ttl, uint8_t attempt)
{
	if (ttl < t->opts.first_ttl || ttl > t->opts.max_ttl || attempt >= t->opts.probes_per_hop)
		return NULL;
	return &t->slots[(size_t)(ttl - t->opts.first_ttl) * t->opts.probes_per_hop + attempt];
}

hw_tracer_t *tracer_new(const struct hw_trace_opts *opts, const struct hw_flow *flow,
			struct hw_trace *trace)
{
	if (tracer_opts_check(opts, NULL) != HW_OK)
		return NULL;
	hw_tracer_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->opts = *opts;
	t->flow = *flow;
	t->trace = trace;
	size_t ttls = n_ttls(t);
	t->slots = calloc(ttls * opts->probes_per_hop, sizeof(*t->slots));
	t->rtt_here_us = calloc(ttls, sizeof(*t->rtt_here_us));
	t->rtt_near_us = calloc(ttls, sizeof(*t->rtt_near_us));
	if (t->slots == NULL || t->rtt_here_us == NULL || t->rtt_near_us == NULL)
		return tracer_free(t);
	t->cur_ttl = opts->first_ttl;
	t->start = t->low_ttl = opts->first_ttl;
	t->back_done = true;
	return t;
}

void tracer_set_stopset(hw_tracer_t *t, hw_stopset_t *stopset)
{
	t->stopset = t->opts.doubletree ? stopset : NULL;
	if (t->stopset != NULL)
		t->member = stopset_member(t->stopset);
}

/* Chooses h at the first probe: by then the stop set knows the most distances. */
static void begin(hw_tracer_t *t)
{
	t->started = true;
	if (!t->opts.doubletree)
		return;
	unsigned h = t->opts.start_ttl != 0
			     ? t->opts.start_ttl
			     : stopset_start_ttl(t->stopset, t->opts.first_ttl, t->opts.max_ttl);
	if (h < t->opts.first_ttl)
		h = t->opts.first_ttl;
	if (h > t->opts.max_ttl)
		h = t->opts.max_ttl;
	t->start = t->cur_ttl = (uint8_t)h;
	if (h > t->opts.first_ttl) {
		t->back_done = false;
		t->back_ttl = (uint8_t)(h - 1);
	}
}

hw_tracer_t *tracer_free(hw_tracer_t *t)
{
	if (t != NULL) {
		free(t->slots);
		free(t->rtt_here_us);
		free(t->rtt_near_us);
		free(t);
	}
	return NULL;
}

/* Highest TTL that may be probed now: past the destination or a gap there is no point. */
static uint8_t send_limit(const hw_tracer_t *t)
{
	unsigned limit = t->opts.max_ttl;
	if (t->final_ttl != 0 && t->final_ttl < limit)
		limit = t->final_ttl;
	if (t->opts.gap_limit != 0) {
		/* Forward probing starts at h: the gap is counted from there at least. */
		unsigned base = t->highest_answer > t->start - 1u ? t->highest_answer
								   : t->start - 1u;
		if (base + t->opts.gap_limit < limit)
			limit = base + t->opts.gap_limit;
	}
	return (uint8_t)limit;
}

/* The backward probe due now, if any: after the first (forward) probe, one TTL at a time. */
static struct slot *backward_due(hw_tracer_t *t)
{
	if (t->back_done || t->trace->probes_sent == 0 ||
	    t->back_attempt >= t->opts.probes_per_hop)
		return NULL;
	struct slot *s = slot_at(t, t->back_ttl, t->back_attempt);
	return s != NULL && s->state == SLOT_UNSENT ? s : NULL;
}

bool tracer_next(hw_tracer_t *t, uint64_t now_us, uint8_t *ttl, uint8_t *attempt)
{
	if (t->stopped || t->in_flight >= t->opts.window)
		return false;
	if (!t->started)
		begin(t);
	struct slot *s = backward_due(t);
	if (s != NULL) {
		*ttl = t->back_ttl;
		*attempt = t->back_attempt++;
	} else {
		if (t->cur_ttl > send_limit(t) || t->cur_ttl < t->opts.first_ttl)
			return false;
		s = slot_at(t, t->cur_ttl, t->cur_attempt);
		if (s == NULL)
			return false;
		*ttl = t->cur_ttl;
		*attempt = t->cur_attempt;
		if (++t->cur_attempt == t->opts.probes_per_hop) {
			t->cur_attempt = 0;
			/* Past max_ttl the cursor stays put; slot_at refuses it. */
			if (t->cur_ttl < 255)
				t->cur_ttl++;
		}
	}
	if (t->trace->probes_sent == 0)
		t->t0_us = now_us;
	s->state = SLOT_IN_FLIGHT;
	s->tx_off_us = (uint32_t)(now_us - t->t0_us);
	t->in_flight++;
	t->trace->probes_sent++;
	trace_hop(t->trace, *ttl)->probes_sent++;
	return true;
}

void tracer_unsend(hw_tracer_t *t, uint8_t ttl, uint8_t attempt)
{
	struct slot *s = slot_at(t, ttl, attempt);
	if (s == NULL || s->state != SLOT_IN_FLIGHT)
		return;
	s->state = SLOT_UNSENT;
	t->in_flight--;
	t->trace->probes_sent--;
	trace_hop(t->trace, ttl)->probes_sent--;
	if (ttl < t->start) {
		t->back_attempt = attempt;
		return;
	}
	t->cur_ttl = ttl;
	t->cur_attempt = attempt;
}

enum hw_stop_reason tracer_answer_stop(const struct hw_flow *flow, const struct hw_reply_pkt *r)
{
	switch (r->kind) {
	case HW_REPLY_ECHO_REPLY:
	case HW_REPLY_TCP_RST:
	case HW_REPLY_TCP_SYNACK:
		return HW_STOP_COMPLETED;
	case HW_REPLY_UNREACH: {
		/* The destination's own "port unreachable" is how a UDP trace arrives. */
		uint8_t port_code = r->from.family == AF_INET ? 3 : 4;
		if (reply_from_destination(flow, r) && r->icmp_code == port_code)
			return HW_STOP_COMPLETED;
		return HW_STOP_UNREACH;
	}
	default:
		return HW_STOP_NONE;
	}
}

static void record_rtt(hw_tracer_t *t, uint8_t ttl, uint32_t rtt_us)
{
	size_t i = (size_t)(ttl - t->opts.first_ttl);
	if (rtt_us > t->rtt_here_us[i])
		t->rtt_here_us[i] = rtt_us;
	for (size_t j = 0; j < i; j++)
		if (rtt_us > t->rtt_near_us[j])
			t->rtt_near_us[j] = rtt_us;
}


static bool ttl_resolved(hw_tracer_t *t, uint8_t ttl)
{
	for (uint8_t a = 0; a < t->opts.probes_per_hop; a++) {
		uint8_t st = slot_at(t, ttl, a)->state;
		if (st == SLOT_UNSENT || st == SLOT_IN_FLIGHT)
			return false;
	}
	return true;
}

/*
 * Ends backward probing at ttl: its probes not yet sent are no longer needed (the ones in
 * flight are still taken), and the hops below it are skipped.
 */
static void backward_stop(hw_tracer_t *t, uint8_t ttl)
{
	t->back_done = true;
	t->low_ttl = ttl;
	t->trace->stop_set_ttl = ttl;
	for (uint8_t a = 0; a < t->opts.probes_per_hop; a++) {
		struct slot *s = slot_at(t, ttl, a);
		if (s->state == SLOT_UNSENT)
			s->state = SLOT_CANCELLED;
	}
	for (unsigned x = t->opts.first_ttl; x < ttl; x++)
		trace_hop(t->trace, (uint8_t)x)->skipped = true;
}

/* Moves backward probing on once its TTL is resolved: down, or over at first_ttl or a gap. */
static void backward_step(hw_tracer_t *t)
{
	if (t->back_done || !ttl_resolved(t, t->back_ttl))
		return;
	if (trace_hop(t->trace, t->back_ttl)->n_replies != 0)
		t->back_silent = 0;
	else
		t->back_silent++;
	if (t->opts.gap_limit != 0 && t->back_silent >= t->opts.gap_limit)
		backward_stop(t, t->back_ttl);
	else if (t->back_ttl == t->opts.first_ttl)
		t->back_done = true;
	else {
		t->back_ttl--;
		t->back_attempt = 0;
	}
}

/*
 * What a finished trace tells of its destination's distance: where it completed (or an
 * unreachable ended it), else one past its last answer (the destination is farther).
 */
static uint8_t distance_seen(const hw_tracer_t *t, enum hw_stop_reason reason, uint8_t stop_ttl)
{
	if (reason == HW_STOP_COMPLETED || reason == HW_STOP_UNREACH)
		return stop_ttl;
	if ((reason == HW_STOP_GAPLIMIT || reason == HW_STOP_MAXTTL) && t->highest_answer != 0 &&
	    t->highest_answer < 255)
		return (uint8_t)(t->highest_answer + 1);
	return 0;
}

static void stop(hw_tracer_t *t, enum hw_stop_reason reason, uint8_t stop_ttl, uint64_t now_us)
{
	/* Probes above the stop are no longer wanted, and their hops not reported. */
	for (unsigned ttl = stop_ttl + 1u; ttl <= t->opts.max_ttl; ttl++) {
		for (uint8_t a = 0; a < t->opts.probes_per_hop; a++) {
			struct slot *s = slot_at(t, (uint8_t)ttl, a);
			if (s->state == SLOT_IN_FLIGHT) {
				s->state = SLOT_CANCELLED;
				t->in_flight--;
			}
		}
	}
	t->stopped = true;
	t->trace->stop_reason = reason;
	t->trace->stop_ttl = stop_ttl;
	t->trace->duration_ms = now_us > t->t0_us ? (now_us - t->t0_us) / 1000.0 : 0;
	trace_truncate(t->trace, stop_ttl);
	if (t->stopset != NULL)
		stopset_note_distance(t->stopset, distance_seen(t, reason, stop_ttl));
}

/* Applies the stop rules: an ending answer, a gap of silent hops, or max TTL. */
static void evaluate(hw_tracer_t *t, uint64_t now_us)
{
	if (t->stopped || !t->back_done)
		return;
	unsigned silent_run = 0;
	uint8_t last = t->final_ttl != 0 ? t->final_ttl : t->opts.max_ttl;
	/* Skipped hops (below low_ttl) are neither silent nor answered: not looked at. */
	for (unsigned ttl = t->low_ttl; ttl <= last; ttl++) {
		if (!ttl_resolved(t, (uint8_t)ttl))
			return;
		if (trace_hop(t->trace, (uint8_t)ttl)->n_replies != 0) {
			silent_run = 0;
			continue;
		}
		silent_run++;
		/* A gap only ends the trace when nothing beyond it has answered. */
		if (t->opts.gap_limit != 0 && silent_run >= t->opts.gap_limit &&
		    t->highest_answer < ttl && t->final_ttl == 0) {
			stop(t, HW_STOP_GAPLIMIT, (uint8_t)ttl, now_us);
			return;
		}
	}
	if (t->final_ttl != 0)
		stop(t, t->final_reason, t->final_ttl, now_us);
	else
		stop(t, HW_STOP_MAXTTL, t->opts.max_ttl, now_us);
}

bool tracer_reply(hw_tracer_t *t, uint8_t ttl, uint8_t attempt, const struct hw_reply_pkt *r,
		  uint64_t rx_us)
{
	struct slot *s = slot_at(t, ttl, attempt);
	if (t->stopped || s == NULL || s->state != SLOT_IN_FLIGHT)
		return false;
	struct hw_reply rep;
	uint64_t tx_us = t->t0_us + s->tx_off_us;
	uint64_t rtt = rx_us > tx_us ? rx_us - tx_us : 0;
	uint32_t rtt_us = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
	struct hw_mpls_label labels[HW_MPLS_MAX];
	hw_reply_from_packet(&rep, r, labels);
	rep.attempt = attempt;
	rep.rtt_ms = rtt_us / 1000.0;
	if (hop_add_reply(trace_hop(t->trace, ttl), &rep) != HW_OK)
		return false;
	s->state = SLOT_ANSWERED;
	t->in_flight--;
	t->trace->replies++;
	record_rtt(t, ttl, rtt_us);
	if (ttl > t->highest_answer)
		t->highest_answer = ttl;
	if (t->stopset != NULL && !reply_from_destination(&t->flow, r)) {
		/* A backward hop at an interface another trace saw: the path below is
		 * known. (One only this trace saw, e.g. by another probe of this hop,
		 * tells nothing of the path below.) */
		if (!t->back_done && ttl == t->back_ttl &&
		    stopset_has(t->stopset, &r->from, t->member))
			backward_stop(t, ttl);
		/* A full set only costs later traces some probes. */
		(void)stopset_add(t->stopset, &r->from, t->member);
	}
	enum hw_stop_reason reason = tracer_answer_stop(&t->flow, r);
	if (reason != HW_STOP_NONE && (t->final_ttl == 0 || ttl < t->final_ttl)) {
		t->final_ttl = ttl;
		t->final_reason = reason;
	}
	backward_step(t);
	evaluate(t, rx_us);
	return true;
}

uint64_t tracer_wait_us(const struct hw_trace_opts *o, uint32_t rtt_here_us,
			uint32_t rtt_near_us)
{
	double wait = o->wait_max;
	/* Adaptive wait: once this path has shown its speed, a silent probe is lost sooner. */
	if (o->wait_here > 0 && rtt_here_us != 0 && o->wait_here * rtt_here_us / 1e6 < wait)
		wait = o->wait_here * rtt_here_us / 1e6;
	if (o->wait_near > 0 && rtt_near_us != 0 && o->wait_near * rtt_near_us / 1e6 < wait)
		wait = o->wait_near * rtt_near_us / 1e6;
	if (wait < o->wait_min)
		wait = o->wait_min;
	return (uint64_t)(wait * 1e6);
}

static uint64_t slot_deadline(const hw_tracer_t *t, uint8_t ttl, const struct slot *s)
{
	size_t i = (size_t)(ttl - t->opts.first_ttl);
	return t->t0_us + s->tx_off_us +
	       tracer_wait_us(&t->opts, t->rtt_here_us[i], t->rtt_near_us[i]);
}

void tracer_expire(hw_tracer_t *t, uint64_t now_us)
{
	for (size_t i = 0; i < n_ttls(t) && t->in_flight != 0; i++) {
		uint8_t ttl = (uint8_t)(t->opts.first_ttl + i);
		for (uint8_t a = 0; a < t->opts.probes_per_hop; a++) {
			struct slot *s = slot_at(t, ttl, a);
			if (s->state == SLOT_IN_FLIGHT && slot_deadline(t, ttl, s) <= now_us) {
				s->state = SLOT_EXPIRED;
				t->in_flight--;
			}
		}
	}
	backward_step(t);
	evaluate(t, now_us);
}

uint64_t tracer_deadline(const hw_tracer_t *t)
{
	uint64_t best = UINT64_MAX;
	for (size_t i = 0; i < n_ttls(t) && t->in_flight != 0; i++) {
		uint8_t ttl = (uint8_t)(t->opts.first_ttl + i);
		for (uint8_t a = 0; a < t->opts.probes_per_hop; a++) {
			const struct slot *s = &t->slots[i * t->opts.probes_per_hop + a];
			if (s->state == SLOT_IN_FLIGHT) {
				uint64_t d = slot_deadline(t, ttl, s);
				if (d < best)
					best = d;
			}
		}
	}
	return best;
}

unsigned tracer_in_flight(const hw_tracer_t *t)
{
	return t->in_flight;
}

bool tracer_done(const hw_tracer_t *t)
{
	return t->stopped && t->in_flight == 0;
}

void tracer_abort(hw_tracer_t *t)
{
	if (t->stopped)
		return;
	uint8_t top = t->highest_answer != 0 ? t->highest_answer : t->opts.first_ttl;
	stop(t, HW_STOP_ERROR, top, t->t0_us);
	/* Whatever is still in flight below the stop no longer counts either. */
	for (size_t i = 0; i < n_ttls(t) * t->opts.probes_per_hop; i++) {
		if (t->slots[i].state == SLOT_IN_FLIGHT) {
			t->slots[i].state = SLOT_CANCELLED;
			t->in_flight--;
		}
	}
}
