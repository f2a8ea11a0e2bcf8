/*
 * The engine runs many traces at once on one event loop: it paces probes with a global
 * token bucket, sends them through hw_net, routes each answer to its trace by flow and
 * token, and expires probes on time.
 */
#ifndef HOPWATCH_ENGINE_H
#define HOPWATCH_ENGINE_H

#include <stdint.h>

#include <hopwatch/loop.h>
#include <hopwatch/mda.h>
#include <hopwatch/net.h>
#include <hopwatch/probe.h>
#include <hopwatch/run.h>
#include <hopwatch/tracer.h>

typedef struct hw_engine hw_engine_t;

struct hw_engine_opts {
	double rate_pps;  /* global probes per second (0 = unlimited) */
	unsigned burst;   /* token bucket depth */
	/* Called once per trace as soon as it is complete (NULL: not called), so results can
	 * be written while other traces still run. */
	void (*on_done)(void *arg, struct hw_trace *trace);
	void *on_done_arg;
};

/* Counters for the whole engine. */
struct hw_engine_stats {
	uint64_t probes_sent;
	uint64_t send_errors;
	uint64_t packets_read;   /* every packet the receive sockets delivered */
	uint64_t replies_matched;
	uint64_t not_ours;       /* answers to somebody else's probes, or unrelated packets */
	uint64_t late;           /* ours, but for a probe already given up */
	uint64_t traces_total;
	uint64_t traces_done;
};

void engine_opts_default(struct hw_engine_opts *opts);

/* An engine on a loop and sockets (both borrowed). NULL on ENOMEM. */
hw_engine_t *engine_new(hw_loop_t *loop, hw_net_t *net, const struct hw_engine_opts *opts);

/* Frees the engine (not the traces it filled); NULL is fine. Returns NULL. */
hw_engine_t *engine_free(hw_engine_t *engine);

/* Adds a trace to run; `trace` is filled in place and must outlive the engine run. */
int engine_add(hw_engine_t *engine, const struct hw_flow *flow,
	       const struct hw_trace_opts *opts, struct hw_trace *trace);

/*
 * Adds a multipath (MDA / MDA-Lite) trace: its flows are base->flow_id, +1, +2, … so it
 * owns a range of source ports (ICMP identifiers) toward its destination.
 */
int engine_add_multipath(hw_engine_t *engine, const struct hw_flow *base,
			 const struct hw_mda_opts *opts, struct hw_trace *trace);

/* Runs the loop until every trace is done. */
int engine_run(hw_engine_t *engine);

/* The engine's counters. */
void engine_stats(const hw_engine_t *engine, struct hw_engine_stats *out);

#endif
