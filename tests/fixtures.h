/*
 * Building synthetic traces for the unit tests, and comparing two of them field by field
 * (a trace and what came back from an encoding). cmocka fails the test on any error.
 */
#ifndef HOPWATCH_TESTS_FIXTURES_H
#define HOPWATCH_TESTS_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include <hopwatch/run.h>

/* The address in text (which must parse). */
struct hw_addr fx_addr(const char *text);

/* A new trace of flow_id (source port HW_FLOW_BASE + flow_id); src may be NULL. */
struct hw_trace *fx_trace(enum hw_method method, const char *src, const char *dst,
			  uint16_t flow_id, uint16_t dport, uint8_t first, uint8_t max, uint8_t q);

/*
 * Adds a reply from `from` to (ttl, attempt) and counts it in t->replies; its reply TTL is
 * 65 - ttl, its quoted TTL 1. Returns the stored reply (valid until the hop's next one);
 * the probes sent are the caller's.
 */
struct hw_reply *fx_add(struct hw_trace *t, uint8_t ttl, uint8_t attempt, const char *from,
			enum hw_reply_kind kind, uint8_t type, uint8_t code, double rtt);

/* Gives r the MPLS labels (traffic class i % 8, TTL i + 1, bottom of stack on the last). */
void fx_set_mpls(struct hw_reply *r, unsigned n, const uint32_t *labels);

/* Sets what annotation learned about address a of t: n origins, names may be NULL. */
struct hw_addr_info *fx_info(struct hw_trace *t, const char *a, const char *name,
			     uint8_t name_status, const uint32_t *origins, unsigned n,
			     const char *as_name, uint8_t asn_status);

/*
 * Fails unless b is a: every field equal, RTTs and durations to the microsecond. With
 * single_flow_dropped, b came through an encoding that keeps nothing a single-flow trace
 * does not use: its replies' flow ids, its confidence, links and diamonds.
 */
void fx_assert_trace_equal(const struct hw_trace *a, const struct hw_trace *b,
			   bool single_flow_dropped);

#endif
