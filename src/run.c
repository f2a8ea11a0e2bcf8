/*
 * The run model: runs own traces, traces own hops, hops own replies. Plain data with
 * a few helpers that keep the invariants (hops[i].ttl == first_ttl + i, owned arrays
 * freed exactly once) in one place.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/run.h>
#include <hopwatch/status.h>

#include "grow.h"

struct hw_run *run_new(void)
{
	return calloc(1, sizeof(struct hw_run));
}

struct hw_run *run_free(struct hw_run *run)
{
	if (run == NULL)
		return NULL;
	for (size_t i = 0; i < run->n_traces; i++)
		trace_free(run->traces[i]);
	free(run->traces);
	free(run->vantage);
	free(run->tool_version);
	free(run->tag);
	free(run->options);
	free(run->transit);
	free(run);
	return NULL;
}

int run_add_trace(struct hw_run *run, struct hw_trace *trace)
{
	if (run == NULL || trace == NULL)
		return HW_ERR_INVAL;
	if (implied_full(run->n_traces)) {
		struct hw_trace **t = implied_grow(run->traces, run->n_traces, sizeof(*t));
		if (t == NULL)
			return HW_ERR_NOMEM; /* the caller still owns trace */
		run->traces = t;
	}
	run->traces[run->n_traces++] = trace;
	return HW_OK;
}

struct hw_trace *trace_new(const struct hw_flow *flow, uint8_t first_ttl, uint8_t max_ttl,
			   uint8_t probes_per_hop)
{
	/* TTL 0 never leaves the host, and an empty TTL range is a caller bug. */
	if (flow == NULL || first_ttl == 0 || first_ttl > max_ttl)
		return NULL;
	struct hw_trace *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->n_hops = (size_t)(max_ttl - first_ttl) + 1;
	t->hops = calloc(t->n_hops, sizeof(*t->hops));
	if (t->hops == NULL) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < t->n_hops; i++)
		t->hops[i].ttl = (uint8_t)(first_ttl + i);
	t->method = flow->method;
	t->src = flow->src;
	t->dst = flow->dst;
	t->flow_id = flow->flow_id;
	t->sport = flow->sport;
	t->dport = flow->dport;
	t->tos = flow->tos;
	t->flow_label = flow->flow_label;
	t->first_ttl = first_ttl;
	t->max_ttl = max_ttl;
	t->probes_per_hop = probes_per_hop;
	return t;
}

/* Frees a hop's replies and their labels; the hop stays, empty. */
static void hop_release(struct hw_hop *hop)
{
	for (size_t i = 0; i < hop->n_replies; i++)
		free(hop->replies[i].mpls);
	free(hop->replies);
	hop->replies = NULL;
	hop->n_replies = 0;
}

struct hw_trace *trace_free(struct hw_trace *trace)
{
	if (trace == NULL)
		return NULL;
	for (size_t i = 0; i < trace->n_hops; i++)
		hop_release(&trace->hops[i]);
	free(trace->hops);
	free(trace->links);
	free(trace->diamonds);
	for (size_t i = 0; i < trace->n_infos; i++)
		hw_addr_info_release(&trace->infos[i]);
	free(trace->infos);
	free(trace->target);
	free(trace->network);
	free(trace);
	return NULL;
}

struct hw_hop *trace_hop(struct hw_trace *trace, uint8_t ttl)
{
	if (trace == NULL || ttl < trace->first_ttl)
		return NULL;
	size_t i = (size_t)(ttl - trace->first_ttl);
	return i < trace->n_hops ? &trace->hops[i] : NULL;
}

int hop_add_reply(struct hw_hop *hop, const struct hw_reply *reply)
{
	if (hop == NULL || reply == NULL)
		return HW_ERR_INVAL;
	if (implied_full(hop->n_replies)) {
		struct hw_reply *r = implied_grow(hop->replies, hop->n_replies, sizeof(*r));
		if (r == NULL)
			return HW_ERR_NOMEM;
		hop->replies = r;
	}
	struct hw_reply *stored = &hop->replies[hop->n_replies];
	*stored = *reply;
	stored->mpls = NULL;
	stored->n_mpls = 0;
	if (reply->mpls != NULL && hw_reply_set_mpls(stored, reply->mpls, reply->n_mpls) != HW_OK)
		return HW_ERR_NOMEM;
	hop->n_replies++;
	return HW_OK;
}

int hw_reply_set_mpls(struct hw_reply *reply, const struct hw_mpls_label *labels, unsigned n)
{
	struct hw_mpls_label *copy = NULL;
	if (n > HW_MPLS_MAX)
		n = HW_MPLS_MAX;
	if (n != 0) {
		copy = malloc(n * sizeof(*copy));
		if (copy == NULL)
			return HW_ERR_NOMEM;
		memcpy(copy, labels, n * sizeof(*copy));
	}
	free(reply->mpls);
	reply->mpls = copy;
	reply->n_mpls = (uint8_t)n;
	return HW_OK;
}

void hw_reply_from_packet(struct hw_reply *out, const struct hw_reply_pkt *pkt,
			  struct hw_mpls_label *labels)
{
	memset(out, 0, sizeof(*out));
	out->addr = pkt->from;
	out->kind = pkt->kind;
	out->icmp_type = pkt->icmp_type;
	out->icmp_code = pkt->icmp_code;
	out->reply_ttl = pkt->reply_ttl;
	out->quoted_ttl = pkt->has_quoted_ttl ? pkt->quoted_ttl : 0;
	out->ipid = pkt->reply_ipid;
	out->mtu = pkt->mtu;
	out->n_mpls = pkt->n_mpls < HW_MPLS_MAX ? pkt->n_mpls : HW_MPLS_MAX;
	if (out->n_mpls != 0) {
		memcpy(labels, pkt->mpls, out->n_mpls * sizeof(*labels));
		out->mpls = labels;
	}
}

/* Links that reach past last_ttl go with their hops. */
static void truncate_links(struct hw_trace *trace, uint8_t last_ttl)
{
	size_t n = 0;

	for (size_t i = 0; i < trace->n_links; i++) {
		if (trace->links[i].ttl < last_ttl)
			trace->links[n++] = trace->links[i];
	}
	trace->n_links = n;
}

/* A diamond that closes past last_ttl is open now; one that opens there is gone. */
static void truncate_diamonds(struct hw_trace *trace, uint8_t last_ttl)
{
	size_t n = 0;

	for (size_t i = 0; i < trace->n_diamonds; i++) {
		struct hw_diamond d = trace->diamonds[i];
		if (d.div_ttl >= last_ttl)
			continue;
		if (d.conv_ttl > last_ttl) {
			d.conv_ttl = 0;
			d.length = 0;
			memset(&d.convergence, 0, sizeof(d.convergence));
		}
		trace->diamonds[n++] = d;
	}
	trace->n_diamonds = n;
}

void trace_truncate(struct hw_trace *trace, uint8_t last_ttl)
{
	if (trace == NULL)
		return;
	size_t keep = last_ttl < trace->first_ttl ? 0 : (size_t)(last_ttl - trace->first_ttl) + 1;

	for (size_t i = keep; i < trace->n_hops; i++)
		hop_release(&trace->hops[i]);
	/* The hop array keeps its allocation: trace_free releases it all the same. */
	if (keep < trace->n_hops)
		trace->n_hops = keep;
	truncate_links(trace, last_ttl);
	truncate_diamonds(trace, last_ttl);
}

int trace_add_link(struct hw_trace *trace, const struct hw_link *link)
{
	if (trace == NULL || link == NULL)
		return HW_ERR_INVAL;
	if (implied_full(trace->n_links)) {
		struct hw_link *l = implied_grow(trace->links, trace->n_links, sizeof(*l));
		if (l == NULL)
			return HW_ERR_NOMEM;
		trace->links = l;
	}
	trace->links[trace->n_links++] = *link;
	return HW_OK;
}

int trace_add_diamond(struct hw_trace *trace, const struct hw_diamond *diamond)
{
	if (trace == NULL || diamond == NULL)
		return HW_ERR_INVAL;
	if (implied_full(trace->n_diamonds)) {
		struct hw_diamond *d = implied_grow(trace->diamonds, trace->n_diamonds, sizeof(*d));
		if (d == NULL)
			return HW_ERR_NOMEM;
		trace->diamonds = d;
	}
	trace->diamonds[trace->n_diamonds++] = *diamond;
	return HW_OK;
}

/* How many distinct addresses answered at a hop; *one is the first of them. */
static size_t hop_width(const struct hw_hop *hop, const struct hw_addr **one)
{
	size_t n = 0;

	*one = NULL;
	for (size_t i = 0; i < hop->n_replies; i++) {
		size_t j = 0;
		while (j < i && !hw_addr_eq(&hop->replies[j].addr, &hop->replies[i].addr))
			j++;
		if (j < i)
			continue;
		if (n++ == 0)
			*one = &hop->replies[i].addr;
	}
	return n;
}

int trace_find_diamonds(struct hw_trace *trace)
{
	if (trace == NULL)
		return HW_ERR_INVAL;
	struct hw_diamond d;
	bool open = false;
	/* Before the first hop the paths are one: the source's (an unset address). */
	struct hw_addr last_one = {0};
	uint8_t last_one_ttl = (uint8_t)(trace->first_ttl - 1);

	trace->n_diamonds = 0;
	for (size_t i = 0; i < trace->n_hops; i++) {
		const struct hw_hop *hop = &trace->hops[i];
		const struct hw_addr *one;
		size_t w = hop_width(hop, &one);
		if (w == 1) {
			if (open) {
				d.conv_ttl = hop->ttl;
				d.convergence = *one;
				d.length = (uint8_t)(hop->ttl - d.div_ttl);
				if (trace_add_diamond(trace, &d) != HW_OK)
					return HW_ERR_NOMEM;
				open = false;
			}
			last_one = *one;
			last_one_ttl = hop->ttl;
		} else if (w > 1 && !open) {
			d = (struct hw_diamond){.div_ttl = last_one_ttl, .divergence = last_one};
			open = true;
		}
		if (open && w > d.max_width)
			d.max_width = w > UINT16_MAX ? UINT16_MAX : (uint16_t)w;
	}
	if (open && trace_add_diamond(trace, &d) != HW_OK)
		return HW_ERR_NOMEM;
	return HW_OK;
}

static const char *const stop_names[] = {
	[HW_STOP_NONE] = "none",
	[HW_STOP_COMPLETED] = "completed",
	[HW_STOP_UNREACH] = "unreach",
	[HW_STOP_GAPLIMIT] = "gaplimit",
	[HW_STOP_MAXTTL] = "maxttl",
	[HW_STOP_ERROR] = "error",
};

static const char *const kind_names[] = {
	[HW_REPLY_NONE] = "none",
	[HW_REPLY_TIME_EXCEEDED] = "time-exceeded",
	[HW_REPLY_UNREACH] = "unreach",
	[HW_REPLY_ECHO_REPLY] = "echo-reply",
	[HW_REPLY_TCP_RST] = "tcp-rst",
	[HW_REPLY_TCP_SYNACK] = "tcp-synack",
	[HW_REPLY_PARAM_PROBLEM] = "param-problem",
	[HW_REPLY_PACKET_TOO_BIG] = "packet-too-big",
};

static const char *const multipath_names[] = {
	[HW_MULTIPATH_NONE] = "none",
	[HW_MULTIPATH_MDA] = "mda",
	[HW_MULTIPATH_LITE] = "lite",
};

#define N_STOP (sizeof(stop_names) / sizeof(stop_names[0]))
#define N_MULTIPATH (sizeof(multipath_names) / sizeof(multipath_names[0]))
#define N_KIND (sizeof(kind_names) / sizeof(kind_names[0]))

/* Index of text in a name table, or -1. */
static int name_index(const char *const *names, size_t n, const char *text)
{
	if (text == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], text) == 0)
			return (int)i;
	}
	return -1;
}

const char *hw_stop_reason_name(enum hw_stop_reason reason)
{
	return (unsigned)reason < N_STOP ? stop_names[reason] : "?";
}

int hw_stop_reason_parse(const char *text, enum hw_stop_reason *out)
{
	int i = name_index(stop_names, N_STOP, text);
	if (i < 0)
		return HW_ERR_INVAL;
	*out = (enum hw_stop_reason)i;
	return HW_OK;
}

const char *hw_multipath_name(enum hw_multipath mode)
{
	return (unsigned)mode < N_MULTIPATH ? multipath_names[mode] : "?";
}

int hw_multipath_parse(const char *text, enum hw_multipath *out)
{
	int i = name_index(multipath_names, N_MULTIPATH, text);
	if (i < 0)
		return HW_ERR_INVAL;
	*out = (enum hw_multipath)i;
	return HW_OK;
}

const char *hw_reply_kind_name(enum hw_reply_kind kind)
{
	return (unsigned)kind < N_KIND ? kind_names[kind] : "?";
}

int hw_reply_kind_parse(const char *text, enum hw_reply_kind *out)
{
	int i = name_index(kind_names, N_KIND, text);
	if (i < 0)
		return HW_ERR_INVAL;
	*out = (enum hw_reply_kind)i;
	return HW_OK;
}

static const char *const scope_names[] = {
	[HW_SCOPE_PUBLIC] = "public",
	[HW_SCOPE_PRIVATE] = "private",
	[HW_SCOPE_SHARED] = "shared",
	[HW_SCOPE_LOOPBACK] = "loopback",
	[HW_SCOPE_LINKLOCAL] = "link-local",
	[HW_SCOPE_DOCUMENTATION] = "documentation",
	[HW_SCOPE_BENCHMARK] = "benchmark",
	[HW_SCOPE_RESERVED] = "reserved",
};

const char *hw_scope_name(enum hw_scope scope)
{
	return (unsigned)scope < sizeof(scope_names) / sizeof(scope_names[0]) ? scope_names[scope]
									       : "reserved";
}

int hw_scope_parse(const char *text, enum hw_scope *out)
{
	int i = name_index(scope_names, sizeof(scope_names) / sizeof(scope_names[0]), text);
	if (i < 0)
		return HW_ERR_INVAL;
	*out = (enum hw_scope)i;
	return HW_OK;
}

static const char *const lookup_names[] = {
	[HW_LOOKUP_NONE] = "none",
	[HW_LOOKUP_OK] = "ok",
	[HW_LOOKUP_NOTFOUND] = "notfound",
	[HW_LOOKUP_FAILED] = "failed",
};

const char *hw_lookup_name(enum hw_lookup lookup)
{
	return (unsigned)lookup < sizeof(lookup_names) / sizeof(lookup_names[0]) ? lookup_names[lookup]
										 : "none";
}

int hw_lookup_parse(const char *text, enum hw_lookup *out)
{
	int i = name_index(lookup_names, sizeof(lookup_names) / sizeof(lookup_names[0]), text);
	if (i < 0)
		return HW_ERR_INVAL;
	*out = (enum hw_lookup)i;
	return HW_OK;
}

/*
 * Marks for destination-unreachable codes, after Linux traceroute (the Debian
 * "traceroute" package) wherever it has one, so that output reads the way operators
 * expect.
 *
 * IPv4, ICMP type 3 (RFC 792, RFC 1122, RFC 1812):
 *   0 net                      !N     8 source host isolated     !N
 *   1 host                     !H     9 net admin prohibited     !X
 *   2 protocol                 !P    10 host admin prohibited    !X
 *   3 port                     (*)   11 net unreachable for TOS  !N
 *   4 frag needed, DF set      !F-<next-hop MTU>, !F when the router gave none
 *   5 source route failed      !S    12 host unreachable for TOS !H
 *   6 destination net unknown  !N    13 communication prohibited !X
 *   7 destination host unknown !H    14 host precedence violation !V
 *                                    15 precedence cutoff        !C
 * IPv6, ICMPv6 type 1 (RFC 4443):
 *   0 no route                 !N     4 port                     (*)
 *   1 admin prohibited         !X     5 source address failed policy !X
 *   2 beyond scope of source   !S     6 reject route to destination  !N
 *   3 address unreachable      !H
 *   Linux traceroute prints !H for code 2 and !<5>, !<6> for codes 5 and 6; we keep
 *   !S for "the source cannot reach this far" and give 5 and 6 the marks of their
 *   IPv4 twins (prohibited, no route) because they mean the same to the reader.
 * ICMPv6 type 2, packet too big: !F-<MTU>, like IPv4 code 4.
 * Any other code: !<code>, as Linux traceroute prints it.
 *
 * (*) Port unreachable is how a UDP trace normally ends, so it has no mark when it
 * comes from the destination. From anywhere else it is something on the path (a
 * firewall rejecting on the destination's behalf) ending the trace early, which is
 * worth showing: "!p", lower case to keep it apart from !P (protocol unreachable).
 *
 * Time exceeded, echo replies, TCP answers and parameter problems get no mark.
 */
static const char *unreach4_mark(uint8_t code)
{
	static const char *const marks[] = {
		"!N", "!H", "!P", NULL, NULL, "!S", "!N", "!H",
		"!N", "!X", "!X", "!N", "!H", "!X", "!V", "!C",
	};
	return code < sizeof(marks) / sizeof(marks[0]) ? marks[code] : NULL;
}

static const char *unreach6_mark(uint8_t code)
{
	static const char *const marks[] = {"!N", "!X", "!S", "!H", NULL, "!X", "!N"};
	return code < sizeof(marks) / sizeof(marks[0]) ? marks[code] : NULL;
}

static const char *copy_mark(char *buf, size_t len, const char *mark)
{
	snprintf(buf, len, "%s", mark);
	return buf;
}

static const char *frag_mark(char *buf, size_t len, uint32_t mtu)
{
	if (mtu == 0)
		return copy_mark(buf, len, "!F");
	snprintf(buf, len, "!F-%u", (unsigned)mtu);
	return buf;
}

static const char *unreach_mark(const struct hw_reply *reply, bool v6, bool from_destination,
				char *buf, size_t len)
{
	uint8_t code = reply->icmp_code;
	uint8_t port_code = v6 ? 4 : 3;

	if (code == port_code)
		return copy_mark(buf, len, from_destination ? "" : "!p");
	if (!v6 && code == 4)
		return frag_mark(buf, len, reply->mtu);
	const char *mark = v6 ? unreach6_mark(code) : unreach4_mark(code);
	if (mark != NULL)
		return copy_mark(buf, len, mark);
	snprintf(buf, len, "!<%u>", (unsigned)code);
	return buf;
}

const char *hw_reply_mark(const struct hw_reply *reply, int family, bool from_destination,
			  char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return "";
	buf[0] = '\0';
	if (reply == NULL)
		return buf;
	switch (reply->kind) {
	case HW_REPLY_UNREACH:
		return unreach_mark(reply, family == AF_INET6, from_destination, buf, len);
	case HW_REPLY_PACKET_TOO_BIG:
		return frag_mark(buf, len, reply->mtu);
	default:
		return buf;
	}
}
