/*
 * Multipath discovery: the probing state machine of one multipath Paris trace, the
 * sibling of tracer.h. Where a tracer follows one flow, this one sends probes on many
 * flow ids (flow N is probe_flow_init(..., N, ...): the source port or ICMP identifier
 * changes, nothing else) and reports, per TTL, every interface the flows reach, the links
 * between consecutive TTLs, and the diamonds they form (run.h). Like the tracer it has no
 * sockets, clocks or globals: the caller asks what to send, reports what came back and
 * what time it is.
 *
 * Two algorithms (hw_multipath):
 *
 *   MDA (Augustin, Friedman, Teixeira, "Measuring load-balanced paths in the Internet",
 *   IMC 2007; Veitch et al., "Failure control in multipath route tracing", INFOCOM 2009).
 *   To find the successors of a vertex v (an interface at TTL h), probes at TTL h + 1 use
 *   flows known to pass through v at TTL h; after k successors of v have shown up, n(k+1)
 *   answered probes through v must have found no other before v counts as done. When
 *   fewer flows through v are known, new flows are first sent at TTL h to find more
 *   ("node control"). After a TTL with a single interface every flow goes through it,
 *   so the next TTL is probed as a whole, as MDA-Lite does. Node control's new flows may
 *   show an interface at TTL h that no flow probed at TTL h - 1 reaches: link
 *   completion then sends one of its flows at h - 1 (and so on down), so that no
 *   interface is left with nothing linking into it while the TTL before answered.
 *
 *   MDA-Lite (Vermeulen, Strowes, Fourmaux, Friedman, "Multilevel MDA-Lite Paris
 *   Traceroute", IMC 2018), the default. It assumes the load balancing of a hop is uniform
 *   and unmeshed, and so applies the stopping rule to a whole TTL at once: after k
 *   interfaces at TTL h, n(k+1) answered probes at TTL h. Probes at TTL h reuse the flows
 *   that answered at TTL h - 1, spread evenly over the interfaces there (so each link is
 *   seen for free), then new flows. Then, between two TTLs with several interfaces each,
 *   the meshing test: every interface of the wider TTL must be seen through
 *   meshing_flows (phi, 2) flows at both TTLs (probing back at TTL h - 1, or forward at
 *   TTL h, as needed). An interface with two predecessors next to one with two
 *   successors is meshing; unequal numbers of successors (fan-out) or predecessors
 *   (fan-in) break uniformity. Either way that pair of TTLs is probed again with the MDA,
 *   except that the TTL's own rule already vouches for its interfaces: a vertex linked
 *   to every one of them needs only the n(s) flows that confirm its s links, not n(s + 1).
 *
 * The stopping rule: n(k) is the least n such that, were there k equally likely next
 * hops, n probes would show all of them with probability at least the confidence
 * (computed exactly: the occupancy distribution). The failure bound 1 - confidence holds
 * per vertex (MDA) or per TTL (MDA-Lite); it is not divided over the trace, as scamper's
 * tracelb and the MDA-Lite paper do not divide it either (a trace with V branching
 * vertices fails with probability at most V x (1 - confidence)). 95 %: 6, 11, 16, 21,
 * 27, 33, 38, 44, 51, 57 for k = 2..11; 99 %: 8, 15, 21, 28, 36, 43, 51, 58, 66, 74.
 *
 * Flows lost at TTL h are followed too: behind a silent router they are the only way to
 * the interfaces after it (MDA-Lite spreads probes over them as over an interface; the
 * MDA gives them n(k) forward probes, without node control).
 *
 * Loss: only answered probes count toward n(k). A probe that times out (a silent
 * router, a rate limit, loss) says nothing about which interface its flow reaches, so it
 * is never taken as "no new interface"; more flows are sent instead. A TTL whose first
 * n(2) probes all go unanswered is silent; a TTL stops being probed once more probes
 * have been lost there than answered (and at least n(2)), and then counts as explored
 * with its rule unmet (hw_mda_stats.lossy_hops).
 *
 * Per-packet load balancers: a router balancing per packet sends one flow on different
 * paths, so flows no longer tell links apart. The per-packet test repeats one flow
 * `retests` times at its TTL; different answers mean per-packet balancing, and the same
 * flow is then repeated at lower TTLs until its answers are stable again: the balancer
 * is there. MDA-Lite runs it wherever the paths branch, before trusting any link there:
 * one flow through each interface of the TTL before with several successors (or one
 * flow at the first TTL) -- a balancer taking turns (nftables numgen inc) can send the
 * flows probed in turn the same crossed way at every TTL, one to one, which never looks
 * meshed. With retests 0 the repeats are the fewest r with (1/w)^r <= 1 - confidence
 * for an interface with w successors (uniform spreading, as the stopping rule assumes),
 * twice that past a per-packet balancer. Both algorithms also test pairs of TTLs that
 * look meshed. The TTLs in between (and the
 * following ones, until the paths meet in one interface) are marked per_packet. Links
 * touching them are flagged per_packet; those leaving a stable TTL, or entering or
 * leaving a TTL with one interface, are kept; links between two such TTLs cannot be
 * known from flows and are left out. A per-packet balancer whose branches are one hop
 * long never looks meshed and goes unflagged (its links are right anyway).
 *
 * Scheduling: TTLs are explored one after the other (what to send at TTL h + 1 depends
 * on what TTL h showed); within a TTL up to `window` probes are in flight at once.
 * Waits are the tracer's (adaptive to the RTTs seen). The trace stops when every
 * interface of a TTL ended it (the destination, or an unreachable), after gap_limit
 * silent TTLs, at max_ttl, or when max_probes have been sent (then with HW_STOP_ERROR).
 * Memory: per TTL two bytes per flow id used so far and the interfaces; per probe in
 * flight one slot; nothing is allocated per probe beyond amortised growth.
 */
#ifndef HOPWATCH_MDA_H
#define HOPWATCH_MDA_H

#include <stdbool.h>
#include <stdint.h>

#include <hopwatch/probe.h>
#include <hopwatch/reply.h>
#include <hopwatch/run.h>
#include <hopwatch/tracer.h>

struct hw_mda_opts {
	struct hw_trace_opts trace; /* TTLs, gap limit, window, waits; probes_per_hop unused */
	enum hw_multipath mode;     /* HW_MULTIPATH_LITE (default) or HW_MULTIPATH_MDA */
	uint8_t confidence;         /* percent, 50..99 (95) */
	uint8_t meshing_flows;      /* MDA-Lite's phi, 1..16 (2) */
	uint8_t retests;            /* repeats of a flow in the per-packet test, 0 = the fewest
				       that catch a 2-way per-packet balancer at the confidence */
	uint32_t max_probes;        /* safety cap per trace, at least 16 (3000, as scamper) */
};

/* Counters for tests and --stats: what the probes were spent on. */
struct hw_mda_stats {
	uint32_t probes;       /* every probe sent */
	uint32_t discovery;    /* probes counting toward a TTL's stopping rule */
	uint32_t links;        /* link completion and meshing test probes */
	uint32_t node_control; /* MDA: forward probes and new flows found for a vertex */
	uint32_t retests;      /* per-packet test repeats */
	uint32_t lost;         /* probes that timed out */
	uint16_t meshed_hops;  /* MDA-Lite: pairs of TTLs found meshed (then probed by MDA) */
	uint16_t nonuniform_hops; /* MDA-Lite: pairs found non-uniform (then probed by MDA) */
	uint16_t per_packet_hops; /* TTLs marked per_packet */
	uint16_t lossy_hops;   /* TTLs left with their rule unmet because of loss */
	uint32_t flows;        /* flow ids used */
	bool budget_exhausted; /* max_probes reached, or no flow id left */
};

/* Fills opts: tracer_opts_default for the trace part, lite, 95 %, phi 2, retests auto. */
void mda_opts_default(struct hw_mda_opts *opts);

/* Checks option ranges; HW_ERR_INVAL with a reason in *why (when why is not NULL). */
int mda_opts_check(const struct hw_mda_opts *opts, const char **why);

/*
 * The stopping point: how many answered probes must have found exactly `seen` distinct
 * next hops before, at `confidence` percent, there is no other: n(seen + 1), and n(2)
 * for seen 0 (at least one hop is expected). 0 when confidence is out of 1..99.
 */
uint32_t mda_stopping_point(unsigned seen, unsigned confidence);

typedef struct hw_mda hw_mda_t;

/*
 * A multipath trace that fills `trace` (borrowed; must outlive it; made by trace_new for
 * `base`). Flow ids base->flow_id, base->flow_id + 1, ... up to HW_FLOW_MAX are used,
 * each at most once per TTL and attempt. Sets trace->multipath and trace->confidence.
 * NULL on ENOMEM or bad options.
 */
hw_mda_t *mda_new(const struct hw_mda_opts *opts, const struct hw_flow *base,
		  struct hw_trace *trace);

/* Frees the state (not the trace); NULL is fine. Returns NULL. */
hw_mda_t *mda_free(hw_mda_t *mda);

/*
 * The next probe to send at time now_us (monotonic µs): returns true with its flow id,
 * TTL and attempt; the probe counts as sent at now_us. The caller builds it with
 * probe_flow_init(..., flow_id, ...) and probe_build(..., ttl, attempt, ...). False when
 * nothing may go out now (window full, or waiting for answers to decide).
 */
bool mda_next(hw_mda_t *mda, uint64_t now_us, uint16_t *flow_id, uint8_t *ttl,
	      uint8_t *attempt);

/* Takes back the last probe mda_next gave out, because it could not be sent. */
void mda_unsend(hw_mda_t *mda, uint16_t flow_id, uint8_t ttl, uint8_t attempt);

/*
 * Records a matched reply to (flow_id, ttl, attempt) received at rx_us. True when it was
 * recorded, false when that probe was not in flight (duplicate, late or never sent).
 */
bool mda_reply(hw_mda_t *mda, uint16_t flow_id, uint8_t ttl, uint8_t attempt,
	       const struct hw_reply_pkt *reply, uint64_t rx_us);

/* Gives up the probes whose wait has run out by now_us and moves the trace on. */
void mda_expire(hw_mda_t *mda, uint64_t now_us);

/* When mda_expire next has work (UINT64_MAX when no probe is in flight). */
uint64_t mda_deadline(const hw_mda_t *mda);

/* Probes in flight now. */
unsigned mda_in_flight(const hw_mda_t *mda);

/* True once the trace has a stop reason and nothing is left in flight. */
bool mda_done(const hw_mda_t *mda);

/* Ends the trace now with HW_STOP_ERROR (e.g. sends keep failing). */
void mda_abort(hw_mda_t *mda);

/* What the probes were spent on so far. */
void mda_stats(const hw_mda_t *mda, struct hw_mda_stats *out);

#endif
