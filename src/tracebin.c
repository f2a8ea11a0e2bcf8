/*
 * One trace as compact bytes (include/hopwatch/tracebin.h; layout in docs/store.md).
 *
 * Why not JSON in the store: a 10 000-trace run is 66 MB of JSON that jansson takes
 * seconds to parse and check, while the same run encoded here is about 8 MB and reads
 * back in tens of milliseconds. Small numbers (TTLs, counters, ports, RTTs in µs) are
 * LEB128 varints; each trace keeps its distinct addresses once, sorted, and everything
 * else names them by index (most addresses answer several probes, and the annotation
 * has one entry per address: its index order is the sorted order trace->infos needs).
 *
 * Encoder and decoder share the checks below, which are the JSON reader's rules (see
 * src/json.c): whatever the encoder accepts the decoder reads back, and the decoder
 * never builds a trace the JSON writer and reader would not take.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/status.h>
#include <hopwatch/tracebin.h>

#include "grow.h"

/* The JSON's limits: times in years 1970..9999, milliseconds up to 10^12. */
#define US_MAX (2932897ULL * 86400ULL * 1000000ULL - 1)
#define MS_MAX 1e12
#define MS_MAX_US 1000000000000000ULL
#define FLOW_LABEL_MAX 0xfffffu
#define MPLS_LABEL_MAX 0xfffffu

/*
 * Trace flags (byte 6). Version 2 added F_STOP_SET (a stop_set_ttl byte follows
 * stop_ttl) and H_SKIPPED (--doubletree); version 1 bytes, which have neither, still
 * read back. Each version's flags are the only ones it may carry.
 */
#define F_TARGET 0x01u
#define F_NETWORK 0x02u
#define F_STOP_SET 0x04u
#define F_V1 (F_TARGET | F_NETWORK)
#define F_V2 (F_V1 | F_STOP_SET)
/* Hop flags. */
#define H_PER_PACKET 0x01u
#define H_SKIPPED 0x02u
#define H_V1 H_PER_PACKET
#define H_V2 (H_V1 | H_SKIPPED)
/* Reply extras byte: the MPLS label count in the low nibble, then an MTU flag. */
#define R_MPLS_MASK 0x0fu
#define R_MTU 0x10u
/* Info flags. */
#define I_NAME 0x01u
#define I_AS_NAME 0x02u

/*
 * The fewest bytes one element takes: a count is refused when the bytes left could not
 * hold that many, before anything is allocated for it.
 */
#define MIN_HOP 3      /* flags, probes_sent, n_replies */
#define MIN_REPLY 11   /* ref, attempt, rtt, kind, type, code, 2 TTLs, ipid (2), extras */
#define MIN_LINK 4     /* from, to, ttl, per_packet */
#define MIN_DIAMOND 6  /* divergence, div_ttl, convergence, conv_ttl, max_width, length */
#define MIN_INFO 6     /* ref, scope, 2 statuses, n_origins, flags */
#define MIN_MPLS 3     /* label, tc|s, ttl */

/* ---- context: where we are, for messages; the input, when decoding ---- */

struct tb {
	char *err;
	size_t errlen;
	const char *section;     /* "hops", "links", "diamonds", "infos"; NULL: the head */
	long i, j;               /* element of the section; reply of a hop (-1: none) */
	const uint8_t *start, *p, *end;
	bool overrun;            /* a read went past the end */
	bool bad_varint;         /* a varint was overlong or overflowed */
	size_t bad_at;
	uint8_t version;         /* decoding: the input's encoding version */
};

static void path_of(const struct tb *c, const char *field, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	if (c->section != NULL && c->i >= 0)
		n = (size_t)snprintf(buf, len, "%s[%ld]", c->section, c->i);
	else if (c->section != NULL)
		n = (size_t)snprintf(buf, len, "%s", c->section);
	if (c->j >= 0 && n < len)
		n += (size_t)snprintf(buf + n, len - n, ".replies[%ld]", c->j);
	if (field != NULL && n < len)
		snprintf(buf + n, len - n, "%s%s", n > 0 ? "." : "", field);
	if (buf[0] == '\0')
		snprintf(buf, len, "trace");
}

/*
 * Reports a problem at the current place. Reads past the end come back as zeros, so a
 * value that fails a check after one is really the input's end: said as such.
 */
__attribute__((format(printf, 4, 5)))
static int tb_fail(struct tb *c, int status, const char *field, const char *fmt, ...)
{
	if (c->overrun)
		status = HW_ERR_TRUNCATED;
	else if (c->bad_varint)
		status = HW_ERR_MALFORMED;
	if (c->err == NULL || c->errlen == 0)
		return status;
	char path[128];
	path_of(c, field, path, sizeof(path));
	if (c->overrun) {
		snprintf(c->err, c->errlen, "%s: truncated (the input ends after %zu bytes)", path,
			 (size_t)(c->end - c->start));
		return status;
	}
	if (c->bad_varint) {
		snprintf(c->err, c->errlen, "%s: malformed number at byte %zu", path, c->bad_at);
		return status;
	}
	int n = snprintf(c->err, c->errlen, "%s: ", path);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return status;
}

#define bad(c, field, ...) tb_fail((c), HW_ERR_MALFORMED, (field), __VA_ARGS__)
#define invalid(c, field, ...) tb_fail((c), HW_ERR_INVAL, (field), __VA_ARGS__)

/* ---- checks shared by encoder and decoder (the JSON reader's rules) ---- */

/* Valid UTF-8 without NUL, as jansson demands of every string. */
static bool utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t b = s[i];
		if (b >= 0x01 && b < 0x80) {
			i++;
			continue;
		}
		unsigned more;
		uint8_t lo = 0x80, hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf)
			more = 1;
		else if (b >= 0xe0 && b <= 0xef) {
			more = 2;
			if (b == 0xe0)
				lo = 0xa0;
			else if (b == 0xed)
				hi = 0x9f; /* no surrogates */
		} else if (b >= 0xf0 && b <= 0xf4) {
			more = 3;
			if (b == 0xf0)
				lo = 0x90;
			else if (b == 0xf4)
				hi = 0x8f; /* nothing past U+10FFFF */
		} else {
			return false; /* NUL, a continuation byte, an overlong lead, or 0xf5.. */
		}
		if (n - i <= more || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (unsigned k = 2; k <= more; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += more + 1;
	}
	return true;
}

static int check_family(struct tb *c, const char *field, const struct hw_addr *a,
			const struct hw_trace *t, bool nullable)
{
	if (hw_addr_is_unset(a))
		return nullable ? HW_OK : invalid(c, field, "no address");
	if (a->family != t->dst.family)
		return invalid(c, field, "not an IPv%d address", t->dst.family == AF_INET6 ? 6 : 4);
	return HW_OK;
}

/* What trace_new and the head need; n_hops is checked as the hops come. */
static int check_head(struct tb *c, const struct hw_trace *t)
{
	int rc;
	if (t->dst.family != AF_INET && t->dst.family != AF_INET6)
		return invalid(c, "dst", "no IPv4 or IPv6 destination");
	if ((rc = check_family(c, "src", &t->src, t, true)) < 0)
		return rc;
	if ((unsigned)t->method > HW_METHOD_TCP)
		return invalid(c, "method", "unknown method %u", (unsigned)t->method);
	if (t->flow_label > FLOW_LABEL_MAX)
		return invalid(c, "flow.flow_label", "%u is out of range 0..%u",
			       (unsigned)t->flow_label, FLOW_LABEL_MAX);
	if (t->first_ttl < 1)
		return invalid(c, "first_ttl", "0 is out of range 1..255");
	if (t->max_ttl < t->first_ttl)
		return invalid(c, "max_ttl", "%u is out of range %u..255", (unsigned)t->max_ttl,
			       (unsigned)t->first_ttl);
	if ((unsigned)t->multipath > HW_MULTIPATH_LITE)
		return invalid(c, "multipath", "unknown multipath mode %u", (unsigned)t->multipath);
	if (t->multipath != HW_MULTIPATH_NONE && (t->confidence < 1 || t->confidence > 99))
		return invalid(c, "confidence", "%u is out of range 1..99", (unsigned)t->confidence);
	if ((unsigned)t->stop_reason > HW_STOP_ERROR)
		return invalid(c, "stop_reason", "unknown stop reason %u", (unsigned)t->stop_reason);
	if (t->start_unix_us > US_MAX)
		return invalid(c, "start", "past the year 9999");
	return HW_OK;
}

static int check_n_hops(struct tb *c, const struct hw_trace *t, size_t n)
{
	size_t room = (size_t)(t->max_ttl - t->first_ttl) + 1;
	if (n > room)
		return invalid(c, NULL, "%zu hops, but TTLs %u..%u hold only %zu", n,
			       (unsigned)t->first_ttl, (unsigned)t->max_ttl, room);
	return HW_OK;
}

static int check_hop(struct tb *c, const struct hw_trace *t, const struct hw_hop *hop)
{
	/* Multipath discovery may send hundreds of probes with one TTL. */
	if (t->multipath == HW_MULTIPATH_NONE && hop->probes_sent > 255)
		return invalid(c, "probes_sent", "%u is out of range 0..255",
			       (unsigned)hop->probes_sent);
	/* --doubletree did not probe a skipped hop (the JSON reader's rule). */
	if (hop->skipped && (hop->probes_sent != 0 || hop->n_replies != 0))
		return invalid(c, "skipped", "a skipped hop has no probes and no replies");
	return HW_OK;
}

static int check_reply(struct tb *c, const struct hw_trace *t, const struct hw_hop *hop,
		       const struct hw_reply *r)
{
	int rc = check_family(c, "addr", &r->addr, t, false);
	if (rc < 0)
		return rc;
	if (r->attempt >= HW_ATTEMPT_MAX || r->attempt >= hop->probes_sent)
		return invalid(c, "attempt", "%u is not below the hop's probes_sent (%u)",
			       (unsigned)r->attempt, (unsigned)hop->probes_sent);
	if ((unsigned)r->kind > HW_REPLY_PACKET_TOO_BIG)
		return invalid(c, "kind", "unknown reply kind %u", (unsigned)r->kind);
	if (r->n_mpls > HW_MPLS_MAX)
		return invalid(c, "mpls", "more than %d labels", HW_MPLS_MAX);
	for (unsigned k = 0; k < r->n_mpls; k++) {
		const struct hw_mpls_label *m = &r->mpls[k];
		if (m->label > MPLS_LABEL_MAX || m->tc > 7 || m->s > 1)
			return invalid(c, "mpls", "entry %u: label %u tc %u s %u out of range", k,
				       (unsigned)m->label, (unsigned)m->tc, (unsigned)m->s);
	}
	return HW_OK;
}

static int check_link(struct tb *c, const struct hw_trace *t, const struct hw_link *l)
{
	int rc;
	if (t->n_hops < 2)
		return invalid(c, "ttl", "a link needs two hops, the trace has %zu", t->n_hops);
	unsigned last_from = (unsigned)(t->first_ttl + t->n_hops - 2);
	if ((rc = check_family(c, "from", &l->from, t, false)) < 0 ||
	    (rc = check_family(c, "to", &l->to, t, false)) < 0)
		return rc;
	if (l->ttl < t->first_ttl || l->ttl > last_from)
		return invalid(c, "ttl", "%u is out of range %u..%u", (unsigned)l->ttl,
			       (unsigned)t->first_ttl, last_from);
	return HW_OK;
}

/* As the JSON reader's check_divergence and check_convergence. */
static int check_diamond(struct tb *c, const struct hw_trace *t, const struct hw_diamond *d)
{
	int rc;
	if ((rc = check_family(c, "divergence", &d->divergence, t, true)) < 0 ||
	    (rc = check_family(c, "convergence", &d->convergence, t, true)) < 0)
		return rc;
	if (d->div_ttl > t->max_ttl)
		return invalid(c, "div_ttl", "%u is out of range 0..%u", (unsigned)d->div_ttl,
			       (unsigned)t->max_ttl);
	bool at_source = hw_addr_is_unset(&d->divergence);
	if (at_source && d->div_ttl != t->first_ttl - 1)
		return invalid(c, "div_ttl", "%u without a divergence (%u expected)",
			       (unsigned)d->div_ttl, t->first_ttl - 1u);
	if (!at_source && d->div_ttl < t->first_ttl)
		return invalid(c, "div_ttl", "%u is below the first TTL", (unsigned)d->div_ttl);
	bool open = hw_addr_is_unset(&d->convergence);
	if (open && d->conv_ttl != 0)
		return invalid(c, "conv_ttl", "%u without a convergence (0 expected)",
			       (unsigned)d->conv_ttl);
	if (!open && (d->conv_ttl <= d->div_ttl || d->conv_ttl > t->max_ttl))
		return invalid(c, "conv_ttl", "%u is out of range %u..%u", (unsigned)d->conv_ttl,
			       d->div_ttl + 1u, (unsigned)t->max_ttl);
	unsigned length = open ? 0 : (unsigned)(d->conv_ttl - d->div_ttl);
	if (d->length != length)
		return invalid(c, "length", "%u where conv_ttl - div_ttl makes %u",
			       (unsigned)d->length, length);
	return HW_OK;
}

/* An annotation entry, after prev (NULL for the first): docs/json.md, "Annotation". */
static int check_info(struct tb *c, const struct hw_trace *t, const struct hw_addr_info *info,
		      const struct hw_addr_info *prev)
{
	int rc = check_family(c, "addr", &info->addr, t, false);
	if (rc < 0)
		return rc;
	if (prev != NULL && hw_addr_cmp(&prev->addr, &info->addr) >= 0)
		return invalid(c, "addr", "not after the previous entry's (sorted, each once)");
	if (info->scope > HW_SCOPE_RESERVED)
		return invalid(c, "scope", "unknown scope %u", (unsigned)info->scope);
	if (info->name_status > HW_LOOKUP_FAILED || info->asn_status > HW_LOOKUP_FAILED)
		return invalid(c, "name_status", "unknown lookup outcome %u/%u",
			       (unsigned)info->name_status, (unsigned)info->asn_status);
	if (info->n_origins > HW_ORIGINS_MAX)
		return invalid(c, "origins", "more than %d origins", HW_ORIGINS_MAX);
	for (unsigned k = 0; k < info->n_origins; k++) {
		if (info->origins[k] == 0)
			return invalid(c, "origins", "AS 0 is no AS");
		for (unsigned m = 0; m < k; m++)
			if (info->origins[m] == info->origins[k])
				return invalid(c, "origins", "AS%lu twice",
					       (unsigned long)info->origins[k]);
	}
	if ((info->name != NULL) != (info->name_status == HW_LOOKUP_OK))
		return invalid(c, "name", "%s with name_status %u", info->name ? "a name" : "none",
			       (unsigned)info->name_status);
	if ((info->n_origins > 0) != (info->asn_status == HW_LOOKUP_OK))
		return invalid(c, "origins", "%u origins with asn_status %u",
			       (unsigned)info->n_origins, (unsigned)info->asn_status);
	if (info->as_name != NULL && info->n_origins == 0)
		return invalid(c, "as_name", "an AS name without an origin");
	return HW_OK;
}

/* Rounds as the JSON writer's put_ms does, to the microsecond. */
static bool ms_to_us(double ms, uint64_t *us)
{
	if (!(ms >= 0 && ms <= MS_MAX)) /* also NaN */
		return false;
	*us = (uint64_t)(ms * 1000 + 0.5);
	return true;
}

/* ---- encoder ---- */

struct wbuf {
	uint8_t *b;
	size_t len, cap;
	bool nomem;
};

static bool reserve(struct wbuf *w, size_t more)
{
	if (w->nomem)
		return false;
	if (w->cap - w->len >= more)
		return true;
	size_t cap = w->cap ? w->cap : 256;
	while (cap - w->len < more)
		cap *= 2;
	uint8_t *b = realloc(w->b, cap);
	if (b == NULL) {
		w->nomem = true;
		return false;
	}
	w->b = b;
	w->cap = cap;
	return true;
}

static void put_u8(struct wbuf *w, unsigned v)
{
	if (reserve(w, 1))
		w->b[w->len++] = (uint8_t)v;
}

static void put_u16(struct wbuf *w, unsigned v)
{
	if (reserve(w, 2)) {
		w->b[w->len++] = (uint8_t)v;
		w->b[w->len++] = (uint8_t)(v >> 8);
	}
}

static void put_varint(struct wbuf *w, uint64_t v)
{
	if (!reserve(w, 10))
		return;
	while (v >= 0x80) {
		w->b[w->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	w->b[w->len++] = (uint8_t)v;
}

static void put_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (reserve(w, n)) {
		memcpy(w->b + w->len, p, n);
		w->len += n;
	}
}

static int put_str(struct tb *c, struct wbuf *w, const char *field, const char *s)
{
	size_t n = strlen(s);
	if (!utf8_ok((const uint8_t *)s, n))
		return invalid(c, field, "not UTF-8");
	put_varint(w, n);
	put_bytes(w, s, n);
	return HW_OK;
}

/* A trace's distinct addresses, sorted: 16-byte keys (an IPv4 one zero-padded). */
struct atab {
	uint8_t (*key)[16];
	size_t n;
	size_t alen;
};

static int key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 16);
}

static void atab_put(struct atab *a, const struct hw_addr *addr)
{
	if (hw_addr_is_unset(addr))
		return;
	memset(a->key[a->n], 0, 16);
	memcpy(a->key[a->n], addr->a, a->alen);
	a->n++;
}

/* Every address the encoding names (all checked to be of the trace's family). */
static int atab_build(struct atab *a, const struct hw_trace *t)
{
	bool mp = t->multipath != HW_MULTIPATH_NONE;
	size_t n = 2 + t->n_infos;
	for (size_t i = 0; i < t->n_hops; i++)
		n += t->hops[i].n_replies;
	if (mp)
		n += 2 * t->n_links + 2 * t->n_diamonds;
	a->alen = hw_addr_len(&t->dst);
	a->n = 0;
	if ((a->key = malloc(n * sizeof(*a->key))) == NULL)
		return HW_ERR_NOMEM;
	atab_put(a, &t->src);
	atab_put(a, &t->dst);
	for (size_t i = 0; i < t->n_hops; i++)
		for (size_t j = 0; j < t->hops[i].n_replies; j++)
			atab_put(a, &t->hops[i].replies[j].addr);
	for (size_t i = 0; mp && i < t->n_links; i++) {
		atab_put(a, &t->links[i].from);
		atab_put(a, &t->links[i].to);
	}
	for (size_t i = 0; mp && i < t->n_diamonds; i++) {
		atab_put(a, &t->diamonds[i].divergence);
		atab_put(a, &t->diamonds[i].convergence);
	}
	for (size_t i = 0; i < t->n_infos; i++)
		atab_put(a, &t->infos[i].addr);
	qsort(a->key, a->n, sizeof(*a->key), key_cmp);
	size_t u = 0;
	for (size_t i = 0; i < a->n; i++)
		if (u == 0 || memcmp(a->key[u - 1], a->key[i], 16) != 0)
			memmove(a->key[u++], a->key[i], 16);
	a->n = u;
	return HW_OK;
}

/* An address as its table index + 1; 0 for an unset one. */
static void put_ref(struct wbuf *w, const struct atab *a, const struct hw_addr *addr)
{
	uint8_t k[16] = {0}, (*hit)[16] = NULL;
	if (!hw_addr_is_unset(addr)) {
		memcpy(k, addr->a, a->alen);
		hit = bsearch(k, a->key, a->n, sizeof(*a->key), key_cmp);
	}
	/* Every address went into the table; 0 (refused by the decoder) cannot happen. */
	put_varint(w, hit != NULL ? (uint64_t)(hit - a->key) + 1 : 0);
}

static int encode_head(struct tb *c, struct wbuf *w, const struct hw_trace *t)
{
	uint64_t dur;
	int rc = check_head(c, t);
	if (rc < 0)
		return rc;
	if (!ms_to_us(t->duration_ms, &dur))
		return invalid(c, "duration_ms", "not in 0..1e12");
	put_bytes(w, HW_TRACEBIN_MAGIC, 4);
	put_u8(w, HW_TRACEBIN_VERSION);
	put_u8(w, t->dst.family == AF_INET6 ? 6 : 4);
	put_u8(w, (t->target != NULL ? F_TARGET : 0) | (t->network != NULL ? F_NETWORK : 0) |
		  (t->stop_set_ttl != 0 ? F_STOP_SET : 0));
	put_u8(w, (unsigned)t->method);
	put_u8(w, (unsigned)t->multipath);
	if (t->multipath != HW_MULTIPATH_NONE)
		put_u8(w, t->confidence);
	put_varint(w, t->flow_id);
	put_varint(w, t->sport);
	put_varint(w, t->dport);
	put_u8(w, t->tos);
	put_varint(w, t->flow_label);
	put_u8(w, t->first_ttl);
	put_u8(w, t->max_ttl);
	put_u8(w, t->probes_per_hop);
	put_u8(w, (unsigned)t->stop_reason);
	put_u8(w, t->stop_ttl);
	if (t->stop_set_ttl != 0)
		put_u8(w, t->stop_set_ttl);
	put_varint(w, t->start_unix_us);
	put_varint(w, dur);
	put_varint(w, t->probes_sent);
	put_varint(w, t->replies);
	if (t->target != NULL && (rc = put_str(c, w, "target", t->target)) < 0)
		return rc;
	if (t->network != NULL && (rc = put_str(c, w, "network", t->network)) < 0)
		return rc;
	return HW_OK;
}

static int encode_reply(struct tb *c, struct wbuf *w, const struct atab *a,
			const struct hw_trace *t, const struct hw_hop *hop, const struct hw_reply *r)
{
	uint64_t rtt;
	int rc = check_reply(c, t, hop, r);
	if (rc < 0)
		return rc;
	if (!ms_to_us(r->rtt_ms, &rtt))
		return invalid(c, "rtt_ms", "not in 0..1e12");
	put_ref(w, a, &r->addr);
	put_u8(w, r->attempt);
	if (t->multipath != HW_MULTIPATH_NONE)
		put_varint(w, r->flow_id);
	put_varint(w, rtt);
	put_u8(w, (unsigned)r->kind);
	put_u8(w, r->icmp_type);
	put_u8(w, r->icmp_code);
	put_u8(w, r->reply_ttl);
	put_u8(w, r->quoted_ttl);
	put_u16(w, r->ipid);
	put_u8(w, r->n_mpls | (r->mtu != 0 ? R_MTU : 0));
	if (r->mtu != 0)
		put_varint(w, r->mtu);
	for (unsigned k = 0; k < r->n_mpls; k++) {
		put_varint(w, r->mpls[k].label);
		put_u8(w, r->mpls[k].tc | (unsigned)r->mpls[k].s << 3);
		put_u8(w, r->mpls[k].ttl);
	}
	return HW_OK;
}

static int encode_hops(struct tb *c, struct wbuf *w, const struct atab *a,
		       const struct hw_trace *t)
{
	int rc = check_n_hops(c, t, t->n_hops);
	if (rc < 0)
		return rc;
	put_varint(w, t->n_hops);
	for (size_t i = 0; i < t->n_hops; i++) {
		const struct hw_hop *hop = &t->hops[i];
		c->i = (long)i;
		if (hop->ttl != t->first_ttl + i)
			return invalid(c, "ttl", "%u where TTL %zu belongs", (unsigned)hop->ttl,
				       t->first_ttl + i);
		if ((rc = check_hop(c, t, hop)) < 0)
			return rc;
		put_u8(w, (hop->per_packet ? H_PER_PACKET : 0) | (hop->skipped ? H_SKIPPED : 0));
		put_varint(w, hop->probes_sent);
		put_varint(w, hop->n_replies);
		for (size_t j = 0; j < hop->n_replies; j++) {
			c->j = (long)j;
			if ((rc = encode_reply(c, w, a, t, hop, &hop->replies[j])) < 0)
				return rc;
		}
		c->j = -1;
	}
	return HW_OK;
}

/* Links and diamonds: multipath traces only, as in the JSON. */
static int encode_multipath(struct tb *c, struct wbuf *w, const struct atab *a,
			    const struct hw_trace *t)
{
	int rc;
	c->section = "links";
	put_varint(w, t->n_links);
	for (size_t i = 0; i < t->n_links; i++) {
		const struct hw_link *l = &t->links[i];
		c->i = (long)i;
		if ((rc = check_link(c, t, l)) < 0)
			return rc;
		put_ref(w, a, &l->from);
		put_ref(w, a, &l->to);
		put_u8(w, l->ttl);
		put_u8(w, l->per_packet ? 1 : 0);
	}
	c->section = "diamonds";
	put_varint(w, t->n_diamonds);
	for (size_t i = 0; i < t->n_diamonds; i++) {
		const struct hw_diamond *d = &t->diamonds[i];
		c->i = (long)i;
		if ((rc = check_diamond(c, t, d)) < 0)
			return rc;
		put_ref(w, a, &d->divergence);
		put_u8(w, d->div_ttl);
		put_ref(w, a, &d->convergence);
		put_u8(w, d->conv_ttl);
		put_varint(w, d->max_width);
		put_u8(w, d->length);
	}
	return HW_OK;
}

static int encode_infos(struct tb *c, struct wbuf *w, const struct atab *a,
			const struct hw_trace *t)
{
	int rc;
	c->section = "infos";
	put_varint(w, t->n_infos);
	for (size_t i = 0; i < t->n_infos; i++) {
		const struct hw_addr_info *info = &t->infos[i];
		c->i = (long)i;
		if ((rc = check_info(c, t, info, i > 0 ? &t->infos[i - 1] : NULL)) < 0)
			return rc;
		put_ref(w, a, &info->addr);
		put_u8(w, info->scope);
		put_u8(w, info->name_status);
		put_u8(w, info->asn_status);
		put_u8(w, info->n_origins);
		for (unsigned k = 0; k < info->n_origins; k++)
			put_varint(w, info->origins[k]);
		put_u8(w, (info->name != NULL ? I_NAME : 0) | (info->as_name != NULL ? I_AS_NAME : 0));
		if (info->name != NULL && (rc = put_str(c, w, "name", info->name)) < 0)
			return rc;
		if (info->as_name != NULL && (rc = put_str(c, w, "as_name", info->as_name)) < 0)
			return rc;
	}
	return HW_OK;
}

/* Every address the table will hold is of the trace's family (the table needs that first). */
static int check_addresses(struct tb *c, const struct hw_trace *t)
{
	int rc = HW_OK;
	c->section = "hops";
	for (size_t i = 0; rc == HW_OK && i < t->n_hops; i++)
		for (size_t j = 0; rc == HW_OK && j < t->hops[i].n_replies; j++) {
			c->i = (long)i;
			c->j = (long)j;
			rc = check_family(c, "addr", &t->hops[i].replies[j].addr, t, false);
		}
	c->j = -1;
	c->section = "links";
	for (size_t i = 0; rc == HW_OK && t->multipath != HW_MULTIPATH_NONE && i < t->n_links; i++) {
		c->i = (long)i;
		if ((rc = check_family(c, "from", &t->links[i].from, t, false)) == HW_OK)
			rc = check_family(c, "to", &t->links[i].to, t, false);
	}
	c->section = "diamonds";
	for (size_t i = 0; rc == HW_OK && t->multipath != HW_MULTIPATH_NONE && i < t->n_diamonds;
	     i++) {
		const struct hw_diamond *d = &t->diamonds[i];
		c->i = (long)i;
		if ((rc = check_family(c, "divergence", &d->divergence, t, true)) == HW_OK)
			rc = check_family(c, "convergence", &d->convergence, t, true);
	}
	c->section = "infos";
	for (size_t i = 0; rc == HW_OK && i < t->n_infos; i++) {
		c->i = (long)i;
		rc = check_family(c, "addr", &t->infos[i].addr, t, false);
	}
	if (rc == HW_OK) {
		c->section = NULL;
		c->i = -1;
	}
	return rc;
}

static int encode(struct tb *c, struct wbuf *w, const struct hw_trace *t)
{
	struct atab a = {0};
	int rc = encode_head(c, w, t);
	if (rc == HW_OK)
		rc = check_addresses(c, t);
	if (rc == HW_OK && (rc = atab_build(&a, t)) != HW_OK)
		rc = tb_fail(c, rc, NULL, "out of memory");
	if (rc == HW_OK) {
		put_varint(w, a.n);
		for (size_t i = 0; i < a.n; i++)
			put_bytes(w, a.key[i], a.alen);
		put_ref(w, &a, &t->src);
		put_ref(w, &a, &t->dst);
		c->section = "hops";
		rc = encode_hops(c, w, &a, t);
	}
	if (rc == HW_OK && t->multipath != HW_MULTIPATH_NONE)
		rc = encode_multipath(c, w, &a, t);
	if (rc == HW_OK)
		rc = encode_infos(c, w, &a, t);
	free(a.key);
	return rc;
}

int tracebin_encode(const struct hw_trace *trace, uint8_t **out, size_t *len, char *err,
		    size_t errlen)
{
	struct tb c = {.err = err, .errlen = errlen, .i = -1, .j = -1};
	struct wbuf w = {0};
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || len == NULL)
		return HW_ERR_INVAL;
	*out = NULL;
	*len = 0;
	if (trace == NULL)
		return invalid(&c, NULL, "no trace");
	int rc = encode(&c, &w, trace);
	if (rc == HW_OK && w.nomem)
		rc = tb_fail(&c, HW_ERR_NOMEM, NULL, "out of memory");
	if (rc != HW_OK) {
		free(w.b);
		return rc;
	}
	*out = w.b;
	*len = w.len;
	return HW_OK;
}

/* ---- decoder ---- */

/* Reads past the end give 0 and mark the cursor (see tb_fail). */
static inline uint8_t rd_u8(struct tb *c)
{
	if (c->p < c->end)
		return *c->p++;
	c->overrun = true;
	return 0;
}

static inline uint16_t rd_u16(struct tb *c)
{
	if (c->end - c->p >= 2) {
		uint16_t v = (uint16_t)(c->p[0] | c->p[1] << 8);
		c->p += 2;
		return v;
	}
	c->p = c->end;
	c->overrun = true;
	return 0;
}

/* LEB128, at most 64 bits, shortest form only (one encoding per value). */
static inline uint64_t rd_varint(struct tb *c)
{
	if (c->p < c->end && *c->p < 0x80)
		return *c->p++;
	uint64_t v = 0;
	size_t at = (size_t)(c->p - c->start);
	for (unsigned shift = 0;; shift += 7) {
		if (c->p == c->end) {
			c->overrun = true;
			return 0;
		}
		uint8_t b = *c->p++;
		if (shift == 63 && b > 1)
			break;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (b == 0 && shift > 0)
				break;
			return v;
		}
	}
	if (!c->bad_varint) {
		c->bad_varint = true;
		c->bad_at = at;
	}
	return 0;
}

static inline size_t left(const struct tb *c)
{
	return (size_t)(c->end - c->p);
}

/* A varint in [min, max]. */
static int rd_uint(struct tb *c, const char *field, uint64_t min, uint64_t max, uint64_t *out)
{
	*out = rd_varint(c);
	if (c->overrun || c->bad_varint || *out < min || *out > max)
		return bad(c, field, "%llu is out of range %llu..%llu", (unsigned long long)*out,
			   (unsigned long long)min, (unsigned long long)max);
	return HW_OK;
}

/* A count of elements of at least `min` bytes each: no more than the bytes left hold. */
static int rd_count(struct tb *c, const char *field, size_t min, size_t *out)
{
	uint64_t n = rd_varint(c);
	*out = 0;
	if (c->overrun || c->bad_varint)
		return bad(c, field, "no count");
	if (n > left(c) / min)
		return tb_fail(c, HW_ERR_TRUNCATED, field, "%llu announced, the %zu bytes left hold "
			       "at most %zu", (unsigned long long)n, left(c), left(c) / min);
	*out = (size_t)n;
	return HW_OK;
}

static int rd_bool(struct tb *c, const char *field, bool *out)
{
	uint8_t b = rd_u8(c);
	if (b > 1)
		return bad(c, field, "%u is neither 0 nor 1", (unsigned)b);
	*out = b != 0;
	return HW_OK;
}

/* A length-prefixed UTF-8 string, malloc'ed. */
static int rd_str(struct tb *c, const char *field, char **out)
{
	size_t n;
	int rc = rd_count(c, field, 1, &n);
	if (rc < 0)
		return rc;
	if (!utf8_ok(c->p, n))
		return bad(c, field, "not UTF-8 (or holds NUL)");
	if ((*out = malloc(n + 1)) == NULL)
		return tb_fail(c, HW_ERR_NOMEM, NULL, "out of memory");
	memcpy(*out, c->p, n);
	(*out)[n] = '\0';
	c->p += n;
	return HW_OK;
}

/* The trace's address table: n entries of alen bytes in the input, strictly ascending. */
struct rtab {
	const uint8_t *v;
	size_t n, alen;
	uint8_t family;
};

/* An address by reference (index + 1; 0 = unset, when nullable). */
static int rd_ref(struct tb *c, const struct rtab *a, const char *field, bool nullable,
		  struct hw_addr *out)
{
	uint64_t k = rd_varint(c);
	memset(out, 0, sizeof(*out));
	if (k == 0 && nullable && !c->overrun && !c->bad_varint)
		return HW_OK;
	if (k == 0 || k > a->n || c->overrun || c->bad_varint)
		return bad(c, field, "address %llu of a table of %zu", (unsigned long long)k, a->n);
	out->family = a->family;
	memcpy(out->a, a->v + (k - 1) * a->alen, a->alen);
	return HW_OK;
}

/* The head's scalar fields, into a scratch trace (not owning anything yet). */
static int decode_head(struct tb *c, struct hw_trace *h, uint8_t *flags)
{
	uint64_t v;
	int rc;
	uint8_t fam = rd_u8(c);
	if (fam != 4 && fam != 6)
		return bad(c, "family", "%u is neither 4 nor 6", (unsigned)fam);
	h->dst.family = fam == 6 ? AF_INET6 : AF_INET;
	*flags = rd_u8(c);
	if (*flags & ~(c->version >= 2 ? F_V2 : F_V1))
		return bad(c, NULL, "unknown flags 0x%02x", (unsigned)*flags);
	h->method = (enum hw_method)rd_u8(c);
	h->multipath = (enum hw_multipath)rd_u8(c);
	if (h->multipath != HW_MULTIPATH_NONE)
		h->confidence = rd_u8(c);
	if ((rc = rd_uint(c, "flow.id", 0, UINT16_MAX, &v)) < 0)
		return rc;
	h->flow_id = (uint16_t)v;
	if ((rc = rd_uint(c, "flow.sport", 0, UINT16_MAX, &v)) < 0)
		return rc;
	h->sport = (uint16_t)v;
	if ((rc = rd_uint(c, "flow.dport", 0, UINT16_MAX, &v)) < 0)
		return rc;
	h->dport = (uint16_t)v;
	h->tos = rd_u8(c);
	if ((rc = rd_uint(c, "flow.flow_label", 0, FLOW_LABEL_MAX, &v)) < 0)
		return rc;
	h->flow_label = (uint32_t)v;
	h->first_ttl = rd_u8(c);
	h->max_ttl = rd_u8(c);
	h->probes_per_hop = rd_u8(c);
	h->stop_reason = (enum hw_stop_reason)rd_u8(c);
	h->stop_ttl = rd_u8(c);
	if (*flags & F_STOP_SET) {
		h->stop_set_ttl = rd_u8(c);
		if (h->stop_set_ttl == 0 && !c->overrun)
			return bad(c, "stop_set_ttl", "0, yet flagged");
	}
	if ((rc = rd_uint(c, "start", 0, US_MAX, &h->start_unix_us)) < 0 ||
	    (rc = rd_uint(c, "duration_ms", 0, MS_MAX_US, &v)) < 0)
		return rc;
	h->duration_ms = (double)v / 1000;
	if ((rc = rd_uint(c, "probes_sent", 0, UINT32_MAX, &v)) < 0)
		return rc;
	h->probes_sent = (uint32_t)v;
	if ((rc = rd_uint(c, "replies", 0, UINT32_MAX, &v)) < 0)
		return rc;
	h->replies = (uint32_t)v;
	return HW_OK;
}

static int decode_table(struct tb *c, struct rtab *a)
{
	int rc = rd_count(c, "addresses", a->alen, &a->n);
	if (rc < 0)
		return rc;
	a->v = c->p;
	c->p += a->n * a->alen;
	for (size_t i = 1; i < a->n; i++)
		if (memcmp(a->v + (i - 1) * a->alen, a->v + i * a->alen, a->alen) >= 0)
			return bad(c, "addresses", "entry %zu is not above the one before", i);
	return HW_OK;
}

static int decode_reply(struct tb *c, const struct rtab *a, const struct hw_trace *t,
			const struct hw_hop *hop, struct hw_reply *r)
{
	struct hw_mpls_label labels[HW_MPLS_MAX];
	uint64_t v;
	int rc;
	if ((rc = rd_ref(c, a, "addr", false, &r->addr)) < 0)
		return rc;
	r->attempt = rd_u8(c);
	if (t->multipath != HW_MULTIPATH_NONE) {
		if ((rc = rd_uint(c, "flow", 0, UINT16_MAX, &v)) < 0)
			return rc;
		r->flow_id = (uint16_t)v;
	}
	if ((rc = rd_uint(c, "rtt_ms", 0, MS_MAX_US, &v)) < 0)
		return rc;
	r->rtt_ms = (double)v / 1000;
	r->kind = (enum hw_reply_kind)rd_u8(c);
	r->icmp_type = rd_u8(c);
	r->icmp_code = rd_u8(c);
	r->reply_ttl = rd_u8(c);
	r->quoted_ttl = rd_u8(c);
	r->ipid = rd_u16(c);
	uint8_t extras = rd_u8(c);
	if ((extras & ~(R_MPLS_MASK | R_MTU)) || (extras & R_MPLS_MASK) > HW_MPLS_MAX)
		return bad(c, NULL, "bad extras byte 0x%02x", (unsigned)extras);
	if (extras & R_MTU) {
		if ((rc = rd_uint(c, "mtu", 1, UINT32_MAX, &v)) < 0)
			return rc;
		r->mtu = (uint32_t)v;
	}
	unsigned n = extras & R_MPLS_MASK;
	for (unsigned k = 0; k < n; k++) {
		if ((rc = rd_uint(c, "mpls", 0, MPLS_LABEL_MAX, &v)) < 0)
			return rc;
		labels[k].label = (uint32_t)v;
		uint8_t b = rd_u8(c);
		if (b & ~0x0fu)
			return bad(c, "mpls", "entry %u: bad tc/s byte 0x%02x", k, (unsigned)b);
		labels[k].tc = b & 7;
		labels[k].s = b >> 3;
		labels[k].ttl = rd_u8(c);
	}
	r->n_mpls = (uint8_t)n;
	r->mpls = n > 0 ? labels : NULL;
	rc = check_reply(c, t, hop, r);
	if (rc == HW_OK && c->overrun)
		rc = bad(c, NULL, "truncated");
	r->mpls = NULL;
	r->n_mpls = 0;
	if (rc < 0 || n == 0)
		return rc;
	if ((r->mpls = malloc(n * sizeof(*r->mpls))) == NULL)
		return tb_fail(c, HW_ERR_NOMEM, NULL, "out of memory");
	memcpy(r->mpls, labels, n * sizeof(*r->mpls));
	r->n_mpls = (uint8_t)n;
	return HW_OK;
}

static int decode_hops(struct tb *c, const struct rtab *a, struct hw_trace *t)
{
	size_t n;
	int rc;
	c->section = "hops";
	if ((rc = rd_count(c, NULL, MIN_HOP, &n)) < 0 || (rc = check_n_hops(c, t, n)) < 0)
		return rc;
	trace_truncate(t, (uint8_t)(t->first_ttl + n - 1));
	size_t min_reply = MIN_REPLY + (t->multipath != HW_MULTIPATH_NONE);
	for (size_t i = 0; i < n; i++) {
		struct hw_hop *hop = &t->hops[i];
		uint64_t v;
		size_t m;
		c->i = (long)i;
		uint8_t flags = rd_u8(c);
		if (flags & ~(c->version >= 2 ? H_V2 : H_V1))
			return bad(c, NULL, "unknown flags 0x%02x", (unsigned)flags);
		hop->per_packet = (flags & H_PER_PACKET) != 0;
		hop->skipped = (flags & H_SKIPPED) != 0;
		if ((rc = rd_uint(c, "probes_sent", 0, UINT32_MAX, &v)) < 0)
			return rc;
		hop->probes_sent = (uint32_t)v;
		if ((rc = check_hop(c, t, hop)) < 0 ||
		    (rc = rd_count(c, "replies", min_reply, &m)) < 0)
			return rc;
		if (hop->skipped && m != 0)
			return bad(c, "skipped", "a skipped hop has no probes and no replies");
		if (m == 0)
			continue;
		if ((hop->replies = malloc(implied_cap(m) * sizeof(*hop->replies))) == NULL)
			return tb_fail(c, HW_ERR_NOMEM, NULL, "out of memory");
		for (size_t j = 0; j < m; j++) {
			c->j = (long)j;
			struct hw_reply *r = &hop->replies[j];
			memset(r, 0, sizeof(*r));
			if ((rc = decode_reply(c, a, t, hop, r)) < 0)
				return rc;
			hop->n_replies = j + 1;
		}
		c->j = -1;
	}
	return HW_OK;
}

static int decode_links(struct tb *c, const struct rtab *a, struct hw_trace *t)
{
	size_t n;
	int rc;
	c->section = "links";
	c->i = -1;
	if ((rc = rd_count(c, NULL, MIN_LINK, &n)) < 0 || n == 0)
		return rc;
	if ((t->links = malloc(implied_cap(n) * sizeof(*t->links))) == NULL)
		return tb_fail(c, HW_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct hw_link *l = &t->links[i];
		c->i = (long)i;
		memset(l, 0, sizeof(*l));
		if ((rc = rd_ref(c, a, "from", false, &l->from)) < 0 ||
		    (rc = rd_ref(c, a, "to", false, &l->to)) < 0)
			return rc;
		l->ttl = rd_u8(c);
		if ((rc = rd_bool(c, "per_packet", &l->per_packet)) < 0 ||
		    (rc = check_link(c, t, l)) < 0)
			return rc;
		t->n_links = i + 1;
	}
	return HW_OK;
}

static int decode_diamonds(struct tb *c, const struct rtab *a, struct hw_trace *t)
{
	size_t n;
	int rc;
	c->section = "diamonds";
	c->i = -1;
	if ((rc = rd_count(c, NULL, MIN_DIAMOND, &n)) < 0 || n == 0)
		return rc;
	if ((t->diamonds = malloc(implied_cap(n) * sizeof(*t->diamonds))) == NULL)
		return tb_fail(c, HW_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct hw_diamond *d = &t->diamonds[i];
		uint64_t v;
		c->i = (long)i;
		memset(d, 0, sizeof(*d));
		if ((rc = rd_ref(c, a, "divergence", true, &d->divergence)) < 0)
			return rc;
		d->div_ttl = rd_u8(c);
		if ((rc = rd_ref(c, a, "convergence", true, &d->convergence)) < 0)
			return rc;
		d->conv_ttl = rd_u8(c);
		if ((rc = rd_uint(c, "max_width", 0, UINT16_MAX, &v)) < 0)
			return rc;
		d->max_width = (uint16_t)v;
		d->length = rd_u8(c);
		if ((rc = check_diamond(c, t, d)) < 0)
			return rc;
		t->n_diamonds = i + 1;
	}
	return HW_OK;
}

static int decode_infos(struct tb *c, const struct rtab *a, struct hw_trace *t)
{
	size_t n;
	int rc;
	c->section = "infos";
	c->i = -1;
	if ((rc = rd_count(c, NULL, MIN_INFO, &n)) < 0 || n == 0)
		return rc;
	if ((t->infos = malloc(implied_cap(n) * sizeof(*t->infos))) == NULL)
		return tb_fail(c, HW_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct hw_addr_info *info = &t->infos[i];
		c->i = (long)i;
		memset(info, 0, sizeof(*info));
		t->n_infos = i + 1; /* from here on trace_free frees its strings */
		if ((rc = rd_ref(c, a, "addr", false, &info->addr)) < 0)
			return rc;
		info->scope = rd_u8(c);
		info->name_status = rd_u8(c);
		info->asn_status = rd_u8(c);
		uint8_t no = rd_u8(c);
		if (no > HW_ORIGINS_MAX)
			return bad(c, "origins", "more than %d origins", HW_ORIGINS_MAX);
		for (unsigned k = 0; k < no; k++) {
			uint64_t v;
			if ((rc = rd_uint(c, "origins", 1, UINT32_MAX, &v)) < 0)
				return rc;
			info->origins[k] = (uint32_t)v;
		}
		info->n_origins = no;
		uint8_t flags = rd_u8(c);
		if (flags & ~(I_NAME | I_AS_NAME))
			return bad(c, NULL, "unknown flags 0x%02x", (unsigned)flags);
		if (((flags & I_NAME) && (rc = rd_str(c, "name", &info->name)) < 0) ||
		    ((flags & I_AS_NAME) && (rc = rd_str(c, "as_name", &info->as_name)) < 0))
			return rc;
		/* The checks say "invalid" for the encoder's caller; here the input is bad. */
		if ((rc = check_info(c, t, info, i > 0 ? &t->infos[i - 1] : NULL)) < 0)
			return rc;
	}
	return HW_OK;
}

/* A scratch head into a trace: trace_new, then what it does not set. */
static struct hw_trace *trace_from_head(const struct hw_trace *h)
{
	struct hw_flow f = {
		.method = h->method, .src = h->src, .dst = h->dst, .flow_id = h->flow_id,
		.sport = h->sport, .dport = h->dport, .tos = h->tos, .flow_label = h->flow_label,
	};
	struct hw_trace *t = trace_new(&f, h->first_ttl, h->max_ttl, h->probes_per_hop);
	if (t == NULL)
		return NULL;
	t->multipath = h->multipath;
	t->confidence = h->multipath != HW_MULTIPATH_NONE ? h->confidence : 0;
	t->stop_reason = h->stop_reason;
	t->stop_ttl = h->stop_ttl;
	t->stop_set_ttl = h->stop_set_ttl;
	t->start_unix_us = h->start_unix_us;
	t->duration_ms = h->duration_ms;
	t->probes_sent = h->probes_sent;
	t->replies = h->replies;
	return t;
}

static int decode(struct tb *c, struct hw_trace **out)
{
	struct hw_trace h;
	struct rtab a = {0};
	char *target = NULL, *network = NULL;
	uint8_t flags = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	size_t len = left(c);
	if (memcmp(c->p, HW_TRACEBIN_MAGIC, len < 4 ? len : 4) != 0)
		return bad(c, NULL, "not an encoded trace (no \"%s\" magic)", HW_TRACEBIN_MAGIC);
	if (len < 5) {
		c->p = c->end;
		c->overrun = true;
		return bad(c, NULL, "truncated");
	}
	c->p += 4;
	uint8_t version = rd_u8(c);
	c->version = version;
	if (version == 0)
		return bad(c, NULL, "encoding version 0");
	if (version > HW_TRACEBIN_VERSION)
		return tb_fail(c, HW_ERR_UNSUPPORTED, NULL, "encoding version %u is newer than this "
			       "reader (%d)", (unsigned)version, HW_TRACEBIN_VERSION);
	if ((rc = decode_head(c, &h, &flags)) < 0)
		return rc;
	a.family = h.dst.family;
	a.alen = h.dst.family == AF_INET6 ? 16 : 4;
	if (((flags & F_TARGET) && (rc = rd_str(c, "target", &target)) < 0) ||
	    ((flags & F_NETWORK) && (rc = rd_str(c, "network", &network)) < 0) ||
	    (rc = decode_table(c, &a)) < 0 ||
	    (rc = rd_ref(c, &a, "src", true, &h.src)) < 0 ||
	    (rc = rd_ref(c, &a, "dst", false, &h.dst)) < 0 ||
	    (rc = check_head(c, &h)) < 0) {
		free(target);
		free(network);
		return rc == HW_ERR_INVAL ? HW_ERR_MALFORMED : rc;
	}
	struct hw_trace *t = trace_from_head(&h);
	if (t == NULL) {
		free(target);
		free(network);
		return tb_fail(c, HW_ERR_NOMEM, NULL, "out of memory");
	}
	t->target = target;
	t->network = network;
	rc = decode_hops(c, &a, t);
	c->j = -1;
	if (rc == HW_OK && t->multipath != HW_MULTIPATH_NONE &&
	    (rc = decode_links(c, &a, t)) == HW_OK)
		rc = decode_diamonds(c, &a, t);
	if (rc == HW_OK)
		rc = decode_infos(c, &a, t);
	c->section = NULL;
	c->i = -1;
	if (rc == HW_OK && c->overrun)
		rc = bad(c, NULL, "truncated");
	if (rc == HW_OK && c->p != c->end)
		rc = bad(c, NULL, "%zu bytes after the trace's end", left(c));
	if (rc != HW_OK) {
		trace_free(t);
		return rc == HW_ERR_INVAL ? HW_ERR_MALFORMED : rc;
	}
	*out = t;
	return HW_OK;
}

int tracebin_decode(const uint8_t *buf, size_t len, struct hw_trace **out, char *err,
		    size_t errlen)
{
	struct tb c = {.err = err, .errlen = errlen, .i = -1, .j = -1,
		       .start = buf, .p = buf, .end = buf + len};
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return HW_ERR_INVAL;
	*out = NULL;
	if (buf == NULL)
		return tb_fail(&c, HW_ERR_INVAL, NULL, "no input");
	return decode(&c, out);
}
