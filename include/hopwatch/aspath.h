/*
 * A trace's path as ASes: consecutive hops of one origin AS merged into a segment,
 * hops without a known AS (silent, private, unannotated) kept as gaps, and the borders
 * where the path leaves one AS for another. Reads the annotation a trace carries
 * (trace_info); pure.
 */
#ifndef HOPWATCH_ASPATH_H
#define HOPWATCH_ASPATH_H

#include <stddef.h>
#include <stdint.h>

#include <hopwatch/run.h>

/* Consecutive hops in one AS, or a gap (asn 0) of hops whose AS is unknown. */
struct hw_as_segment {
	uint32_t asn;             /* 0 = unknown */
	uint8_t first_ttl, last_ttl;
	struct hw_addr first, last; /* first and last answering interface (unset for a
				       gap of silent hops) */
};

/* Where the path leaves AS from_asn (last seen at `from`) and enters to_asn (at `to`).
 * A gap of unknown hops may lie between the two (to_ttl - from_ttl > 1). */
struct hw_as_border {
	uint32_t from_asn, to_asn;
	uint8_t from_ttl, to_ttl;
	struct hw_addr from, to;
};

/*
 * The AS path of a trace, in TTL order. A hop whose interfaces fall in several ASes
 * (load balancing across providers) counts in the AS that continues the current segment
 * when it is among them, else in the one most of its answers come from. *out is
 * malloc'ed (NULL when n is 0); HW_ERR_NOMEM on failure.
 */
int trace_as_path(const struct hw_trace *trace, struct hw_as_segment **out, size_t *n);

/*
 * The borders along an AS path: between each known segment and the next known one of
 * another AS (gaps skipped; A, gap, A is no border). *out malloc'ed, NULL when n is 0.
 */
int as_path_borders(const struct hw_as_segment *path, size_t n_path, struct hw_as_border **out,
		    size_t *n);

/* The AS a hop counts in (as trace_as_path decides, prev_asn the AS before it), 0 when
 * unknown; *where gets its first answering interface in that AS (unset when none). */
uint32_t hop_asn(const struct hw_trace *trace, const struct hw_hop *hop, uint32_t prev_asn,
		 struct hw_addr *where);

#endif
