/*
 * The probing state machine of one Paris trace, kept apart from the data it fills
 * (struct hw_trace) and from sockets and clocks: the caller asks what to send, reports
 * what came back and what time it is. That makes it testable with recorded replies.
 *
 * Scheduling: probes go out in TTL order, several TTLs at once, at most `window` in
 * flight, never more than gap_limit TTLs past the highest hop that answered. A probe is
 * given up after wait_max, or sooner once the path has shown how fast it answers
 * (traceroute's adaptive wait): wait_here × the RTT of an answer from the same hop,
 * wait_near × the RTT of an answer from a farther hop, but never before wait_min.
 *
 * Doubletree (opts.doubletree, with a run-wide stop set, stopset.h): the trace starts at
 * TTL h (opts.start_ttl, or chosen from the distances in the stop set when that is 0)
 * instead of first_ttl. From h it probes FORWARD as above (destination, gap limit, max
 * TTL, unreachables). From h-1 it probes BACKWARD one TTL at a time, down to first_ttl,
 * and stops as soon as a backward hop answers from an interface already in the stop set
 * (that hop is kept, its probes not yet sent are not sent; the hops below are marked
 * skipped and trace->stop_set_ttl says where), or after gap_limit silent backward hops.
 * Every interface the trace sees (but its destination) goes into the stop set; its
 * destination's distance is noted there for the start TTL of later traces.
 */
#ifndef HOPWATCH_TRACER_H
#define HOPWATCH_TRACER_H

#include <stdbool.h>
#include <stdint.h>

#include <hopwatch/probe.h>
#include <hopwatch/reply.h>
#include <hopwatch/run.h>
#include <hopwatch/stopset.h>

struct hw_trace_opts {
	uint8_t first_ttl;      /* -f, default 1 */
	uint8_t max_ttl;        /* -m, default 30 */
	uint8_t probes_per_hop; /* -q, default 3 */
	uint8_t gap_limit;      /* -g, default 5 */
	uint16_t window;        /* probes in flight per trace, default 16 */
	double wait_max;        /* seconds, default 3 */
	double wait_here;       /* factor, default 3 (0 turns it off) */
	double wait_near;       /* factor, default 10 (0 turns it off) */
	double wait_min;        /* seconds, default 0.005 */
	bool doubletree;        /* start at start_ttl, probe back to the stop set (false) */
	uint8_t start_ttl;      /* doubletree's h: 0 = from the stop set (stopset_start_ttl);
				   kept within first_ttl..max_ttl (default 0) */
};

/* Fills opts with the defaults above. */
void tracer_opts_default(struct hw_trace_opts *opts);

/* Checks option ranges; HW_ERR_INVAL with a reason in *why when out of range. */
int tracer_opts_check(const struct hw_trace_opts *opts, const char **why);

typedef struct hw_tracer hw_tracer_t;

/* A tracer that fills `trace` (borrowed; must outlive the tracer). NULL on ENOMEM. */
hw_tracer_t *tracer_new(const struct hw_trace_opts *opts, const struct hw_flow *flow,
			struct hw_trace *trace);

/*
 * Gives a doubletree tracer the run's stop set (borrowed; must outlive the tracer), before
 * its first probe. Without one a doubletree trace probes backward down to first_ttl.
 */
void tracer_set_stopset(hw_tracer_t *tracer, hw_stopset_t *stopset);

/* Frees a tracer; NULL is fine. Returns NULL. */
hw_tracer_t *tracer_free(hw_tracer_t *tracer);

/*
 * The next probe to send at time now_us (monotonic µs): returns true and sets *ttl and
 * *attempt, and the probe counts as sent at now_us. False when nothing may go out now.
 */
bool tracer_next(hw_tracer_t *tracer, uint64_t now_us, uint8_t *ttl, uint8_t *attempt);

/* Takes back the last probe tracer_next gave out, because it could not be sent. */
void tracer_unsend(hw_tracer_t *tracer, uint8_t ttl, uint8_t attempt);

/*
 * Records a matched reply to (ttl, attempt) received at rx_us. Returns true when it was
 * recorded, false when that probe was not in flight (duplicate, late or never sent).
 */
bool tracer_reply(hw_tracer_t *tracer, uint8_t ttl, uint8_t attempt,
		  const struct hw_reply_pkt *reply, uint64_t rx_us);

/* Gives up the probes whose wait has run out by now_us and re-evaluates the stop rules. */
void tracer_expire(hw_tracer_t *tracer, uint64_t now_us);

/* When tracer_expire next has work (UINT64_MAX when no probe is in flight). */
uint64_t tracer_deadline(const hw_tracer_t *tracer);

/* Probes in flight now. */
unsigned tracer_in_flight(const hw_tracer_t *tracer);

/* True once the trace has a stop reason and nothing is left in flight. */
bool tracer_done(const hw_tracer_t *tracer);

/*
 * How long a probe is waited for (µs), given the slowest answer seen from its own hop and
 * from any farther hop (0 = none yet): the adaptive wait described above.
 */
uint64_t tracer_wait_us(const struct hw_trace_opts *opts, uint32_t rtt_here_us,
			uint32_t rtt_near_us);

/*
 * Whether an answer ends a trace toward flow's destination, and how: HW_STOP_COMPLETED
 * (echo reply, TCP answer, the destination's own port unreachable), HW_STOP_UNREACH (any
 * other unreachable), HW_STOP_NONE (time exceeded and the rest). Multipath traces share it.
 */
enum hw_stop_reason tracer_answer_stop(const struct hw_flow *flow, const struct hw_reply_pkt *r);

/* Ends the trace now with HW_STOP_ERROR (e.g. sends keep failing). */
void tracer_abort(hw_tracer_t *tracer);

#endif
