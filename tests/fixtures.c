/* Synthetic traces for the unit tests (see fixtures.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/status.h>

#include "fixtures.h"

struct hw_addr fx_addr(const char *text)
{
	struct hw_addr a;

	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	return a;
}

static char *dup_or_null(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	assert_non_null(d);
	return d;
}

struct hw_trace *fx_trace(enum hw_method method, const char *src, const char *dst,
			  uint16_t flow_id, uint16_t dport, uint8_t first, uint8_t max, uint8_t q)
{
	struct hw_flow f;
	struct hw_trace *t;

	memset(&f, 0, sizeof(f));
	f.method = method;
	if (src != NULL)
		f.src = fx_addr(src);
	f.dst = fx_addr(dst);
	f.flow_id = flow_id;
	f.sport = (uint16_t)(HW_FLOW_BASE + flow_id);
	f.dport = dport;
	t = trace_new(&f, first, max, q);
	assert_non_null(t);
	return t;
}

struct hw_reply *fx_add(struct hw_trace *t, uint8_t ttl, uint8_t attempt, const char *from,
			enum hw_reply_kind kind, uint8_t type, uint8_t code, double rtt)
{
	struct hw_reply r;
	struct hw_hop *hop = trace_hop(t, ttl);

	assert_non_null(hop);
	memset(&r, 0, sizeof(r));
	r.addr = fx_addr(from);
	r.attempt = attempt;
	r.kind = kind;
	r.icmp_type = type;
	r.icmp_code = code;
	r.rtt_ms = rtt;
	r.reply_ttl = (uint8_t)(65 - ttl);
	r.quoted_ttl = 1;
	assert_int_equal(hop_add_reply(hop, &r), HW_OK);
	t->replies++;
	return &hop->replies[hop->n_replies - 1];
}

void fx_set_mpls(struct hw_reply *r, unsigned n, const uint32_t *labels)
{
	struct hw_mpls_label stack[HW_MPLS_MAX];

	for (unsigned i = 0; i < n && i < HW_MPLS_MAX; i++) {
		stack[i].label = labels[i];
		stack[i].tc = (uint8_t)(i % 8);
		stack[i].s = i + 1 == n;
		stack[i].ttl = (uint8_t)(1 + i);
	}
	assert_int_equal(hw_reply_set_mpls(r, stack, n), HW_OK);
}

struct hw_addr_info *fx_info(struct hw_trace *t, const char *a, const char *name,
			     uint8_t name_status, const uint32_t *origins, unsigned n,
			     const char *as_name, uint8_t asn_status)
{
	struct hw_addr ad = fx_addr(a);
	struct hw_addr_info *info = trace_info_add(t, &ad);

	assert_non_null(info);
	info->name = dup_or_null(name);
	info->name_status = name_status;
	info->n_origins = (uint8_t)n;
	for (unsigned i = 0; i < n; i++)
		info->origins[i] = origins[i];
	info->as_name = dup_or_null(as_name);
	info->asn_status = asn_status;
	return info;
}

/* ---- comparing ---- */

static uint64_t us(double ms)
{
	return (uint64_t)(ms * 1000 + 0.5);
}

static void assert_addr_equal(const struct hw_addr *a, const struct hw_addr *b)
{
	assert_int_equal(a->family, b->family);
	assert_memory_equal(a->a, b->a, hw_addr_len(a));
}

static void assert_str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_reply_equal(const struct hw_reply *a, const struct hw_reply *b,
			       bool flow_dropped)
{
	assert_addr_equal(&a->addr, &b->addr);
	assert_int_equal(a->attempt, b->attempt);
	assert_int_equal(flow_dropped ? 0 : a->flow_id, b->flow_id);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->icmp_type, b->icmp_type);
	assert_int_equal(a->icmp_code, b->icmp_code);
	assert_int_equal(us(a->rtt_ms), us(b->rtt_ms));
	assert_true(fabs(a->rtt_ms - b->rtt_ms) <= 0.0005);
	assert_int_equal(a->reply_ttl, b->reply_ttl);
	assert_int_equal(a->quoted_ttl, b->quoted_ttl);
	assert_int_equal(a->ipid, b->ipid);
	assert_int_equal(a->mtu, b->mtu);
	assert_int_equal(a->n_mpls, b->n_mpls);
	for (unsigned k = 0; k < a->n_mpls; k++) {
		assert_int_equal(a->mpls[k].label, b->mpls[k].label);
		assert_int_equal(a->mpls[k].tc, b->mpls[k].tc);
		assert_int_equal(a->mpls[k].s, b->mpls[k].s);
		assert_int_equal(a->mpls[k].ttl, b->mpls[k].ttl);
	}
}

void fx_assert_trace_equal(const struct hw_trace *a, const struct hw_trace *b,
			   bool single_flow_dropped)
{
	/* What b keeps of a single-flow trace's multipath fields. */
	bool drop = single_flow_dropped && a->multipath == HW_MULTIPATH_NONE;

	assert_str_equal(a->target, b->target);
	assert_str_equal(a->network, b->network);
	assert_addr_equal(&a->src, &b->src);
	assert_addr_equal(&a->dst, &b->dst);
	assert_int_equal(a->method, b->method);
	assert_int_equal(a->flow_id, b->flow_id);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->tos, b->tos);
	assert_int_equal(a->flow_label, b->flow_label);
	assert_int_equal(a->first_ttl, b->first_ttl);
	assert_int_equal(a->max_ttl, b->max_ttl);
	assert_int_equal(a->probes_per_hop, b->probes_per_hop);
	assert_int_equal(a->stop_reason, b->stop_reason);
	assert_int_equal(a->stop_ttl, b->stop_ttl);
	assert_int_equal(a->stop_set_ttl, b->stop_set_ttl);
	assert_int_equal(a->start_unix_us, b->start_unix_us);
	assert_int_equal(us(a->duration_ms), us(b->duration_ms));
	assert_true(fabs(a->duration_ms - b->duration_ms) <= 0.0005);
	assert_int_equal(a->probes_sent, b->probes_sent);
	assert_int_equal(a->replies, b->replies);
	assert_int_equal(a->multipath, b->multipath);
	assert_int_equal(drop ? 0 : a->confidence, b->confidence);
	assert_int_equal(a->n_hops, b->n_hops);
	for (size_t i = 0; i < a->n_hops; i++) {
		const struct hw_hop *x = &a->hops[i], *y = &b->hops[i];

		assert_int_equal(x->ttl, y->ttl);
		assert_int_equal(x->per_packet, y->per_packet);
		assert_int_equal(x->skipped, y->skipped);
		assert_int_equal(x->probes_sent, y->probes_sent);
		assert_int_equal(x->n_replies, y->n_replies);
		for (size_t j = 0; j < x->n_replies; j++)
			assert_reply_equal(&x->replies[j], &y->replies[j], drop);
	}
	assert_int_equal(drop ? 0 : a->n_links, b->n_links);
	for (size_t i = 0; i < b->n_links; i++) {
		assert_addr_equal(&a->links[i].from, &b->links[i].from);
		assert_addr_equal(&a->links[i].to, &b->links[i].to);
		assert_int_equal(a->links[i].ttl, b->links[i].ttl);
		assert_int_equal(a->links[i].per_packet, b->links[i].per_packet);
	}
	assert_int_equal(drop ? 0 : a->n_diamonds, b->n_diamonds);
	for (size_t i = 0; i < b->n_diamonds; i++) {
		const struct hw_diamond *x = &a->diamonds[i], *y = &b->diamonds[i];

		assert_int_equal(x->div_ttl, y->div_ttl);
		assert_int_equal(x->conv_ttl, y->conv_ttl);
		assert_addr_equal(&x->divergence, &y->divergence);
		assert_addr_equal(&x->convergence, &y->convergence);
		assert_int_equal(x->max_width, y->max_width);
		assert_int_equal(x->length, y->length);
	}
	assert_int_equal(a->n_infos, b->n_infos);
	for (size_t i = 0; i < a->n_infos; i++) {
		const struct hw_addr_info *x = &a->infos[i], *y = &b->infos[i];

		assert_addr_equal(&x->addr, &y->addr);
		assert_int_equal(x->scope, y->scope);
		assert_int_equal(x->name_status, y->name_status);
		assert_int_equal(x->asn_status, y->asn_status);
		assert_int_equal(x->n_origins, y->n_origins);
		assert_memory_equal(x->origins, y->origins, x->n_origins * sizeof(x->origins[0]));
		assert_str_equal(x->name, y->name);
		assert_str_equal(x->as_name, y->as_name);
	}
}
