/*
 * Traceroute-like text for one trace, close to Linux traceroute's own layout so that
 * people and their scripts read it without surprise:
 *
 *   hopwatch to 198.18.3.2 (198.18.3.2), udp flow 0 (sport 28672 → dport 33434), 30 hops max
 *    1  198.18.1.1  0.052 ms  0.048 ms  0.047 ms
 *    2  * 198.18.2.1  0.110 ms *
 *        [MPLS: Lse 16 TC 0 S 1 TTL 1]
 *    3  198.18.3.2  0.200 ms !H  0.190 ms !H  0.201 ms !H
 *   stop: unreach at hop 3, 9 probes, 12.3 ms
 *
 * Hops never probed (probes_sent 0, e.g. past the stop of an untruncated trace) are
 * left out, as traceroute never prints a hop it did not probe.
 */
#include <stdio.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>

/* Room for any mark hw_reply_mark writes ("!F-4294967295"). */
#define MARK_LEN 16

static void write_flow(const struct hw_trace *trace, FILE *out)
{
	fprintf(out, "%s flow %u", hw_method_name(trace->method), (unsigned)trace->flow_id);
	if (trace->method == HW_METHOD_ICMP)
		fprintf(out, " (id %u)", (unsigned)trace->sport);
	else
		fprintf(out, " (sport %u \u2192 dport %u)", (unsigned)trace->sport,
			(unsigned)trace->dport);
}

static void write_header(const struct hw_trace *trace, FILE *out)
{
	char dst[HW_ADDRSTRLEN];

	hw_addr_str(&trace->dst, dst, sizeof(dst));
	fprintf(out, "hopwatch to %s (%s), ", trace->target != NULL ? trace->target : dst, dst);
	write_flow(trace, out);
	fprintf(out, ", %u hops max\n", (unsigned)trace->max_ttl);
}

/* The first reply to an attempt, or NULL when the probe went unanswered. */
static const struct hw_reply *find_reply(const struct hw_hop *hop, unsigned attempt)
{
	for (size_t i = 0; i < hop->n_replies; i++) {
		if (hop->replies[i].attempt == attempt)
			return &hop->replies[i];
	}
	return NULL;
}

static void write_reply(const struct hw_trace *trace, const struct hw_reply *r,
			const struct hw_addr **shown, FILE *out)
{
	char buf[HW_ADDRSTRLEN];
	char mark[MARK_LEN];

	if (*shown == NULL || !hw_addr_eq(*shown, &r->addr)) {
		fprintf(out, " %s", hw_addr_str(&r->addr, buf, sizeof(buf)));
		*shown = &r->addr;
	}
	fprintf(out, "  %.3f ms", r->rtt_ms);
	hw_reply_mark(r, trace->dst.family, hw_addr_eq(&r->addr, &trace->dst), mark,
		      sizeof(mark));
	if (mark[0] != '\0')
		fprintf(out, " %s", mark);
}

/* n_mpls is a plain field: never trust it beyond the array. */
static unsigned mpls_count(const struct hw_reply *r)
{
	return r->n_mpls < HW_MPLS_MAX ? r->n_mpls : HW_MPLS_MAX;
}

/* Field by field: memcmp would also compare the struct's padding. */
static bool same_stack(const struct hw_reply *a, const struct hw_reply *b)
{
	unsigned n = mpls_count(a);

	if (n != mpls_count(b))
		return false;
	for (unsigned i = 0; i < n; i++) {
		const struct hw_mpls_label *x = &a->mpls[i], *y = &b->mpls[i];
		if (x->label != y->label || x->tc != y->tc || x->s != y->s || x->ttl != y->ttl)
			return false;
	}
	return true;
}

static void write_mpls(const struct hw_reply *r, FILE *out)
{
	for (unsigned i = 0; i < mpls_count(r); i++) {
		const struct hw_mpls_label *m = &r->mpls[i];
		fprintf(out, "     [MPLS: Lse %u TC %u S %u TTL %u]\n", (unsigned)m->label,
			(unsigned)m->tc, (unsigned)m->s, (unsigned)m->ttl);
	}
}

/*
 * The label stacks seen at a hop, in attempt order; a stack equal to the one printed
 * just before is not repeated (every probe through one LSP reports the same stack).
 */
static void write_hop_mpls(const struct hw_hop *hop, FILE *out)
{
	const struct hw_reply *last = NULL;

	for (unsigned a = 0; a < hop->probes_sent; a++) {
		const struct hw_reply *r = find_reply(hop, a);
		if (r == NULL || r->n_mpls == 0 || (last != NULL && same_stack(last, r)))
			continue;
		write_mpls(r, out);
		last = r;
	}
}

static void write_hop(const struct hw_trace *trace, const struct hw_hop *hop, FILE *out)
{
	const struct hw_addr *shown = NULL;

	fprintf(out, "%2u ", (unsigned)hop->ttl);
	for (unsigned a = 0; a < hop->probes_sent; a++) {
		const struct hw_reply *r = find_reply(hop, a);
		if (r == NULL)
			fputs(" *", out);
		else
			write_reply(trace, r, &shown, out);
	}
	fputc('\n', out);
	write_hop_mpls(hop, out);
}

static void write_stop(const struct hw_trace *trace, FILE *out)
{
	fprintf(out, "stop: %s", hw_stop_reason_name(trace->stop_reason));
	if (trace->stop_ttl != 0)
		fprintf(out, " at hop %u", (unsigned)trace->stop_ttl);
	fprintf(out, ", %lu probes, %.1f ms\n", (unsigned long)trace->probes_sent,
		trace->duration_ms);
}

int text_write_trace(const struct hw_trace *trace, FILE *out)
{
	if (trace == NULL || out == NULL)
		return HW_ERR_INVAL;
	write_header(trace, out);
	for (size_t i = 0; i < trace->n_hops; i++) {
		if (trace->hops[i].probes_sent > 0)
			write_hop(trace, &trace->hops[i], out);
	}
	write_stop(trace, out);
	return ferror(out) ? HW_ERR_IO : HW_OK;
}
