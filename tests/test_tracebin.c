/*
 * The binary trace encoding: round trips of rich traces (same JSON, same fields), a
 * layout spelled out byte by byte, every truncation refused, random corruption never
 * crashing, bad versions and magic, oversize counts, and what both sides refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>
#include <hopwatch/tracebin.h>

#include "fixtures.h"

/* 2026-11-24T22:30:00.123456Z */
#define T0 1795559400123456ULL

/* ---- building traces ---- */

static char *dup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

/* A trace of flow 3 (ToS 0x20) to the usual port of its method. */
static struct hw_trace *new_trace(enum hw_method method, const char *src, const char *dst,
				  uint8_t first, uint8_t max, uint8_t q)
{
	struct hw_trace *t = fx_trace(method, src, dst, 3, method == HW_METHOD_ICMP ? 0 : 33434,
				      first, max, q);
	t->tos = 0x20;
	return t;
}

/* A reply with its own reply TTL, quoted TTL and IP id; the hop counts its attempt as sent. */
static struct hw_reply *add(struct hw_trace *t, uint8_t ttl, uint8_t attempt, const char *from,
			    enum hw_reply_kind kind, uint8_t type, uint8_t code, double rtt)
{
	struct hw_reply *r = fx_add(t, ttl, attempt, from, kind, type, code, rtt);
	struct hw_hop *hop = trace_hop(t, ttl);
	r->reply_ttl = (uint8_t)(250 - ttl);
	r->quoted_ttl = (uint8_t)(attempt + 1);
	r->ipid = (uint16_t)(0xfff0 + ttl * 3 + attempt);
	if (hop->probes_sent <= attempt)
		hop->probes_sent = (uint32_t)attempt + 1;
	return r;
}

/* What annotation learned about a: up to two origins (0: none). */
static void info(struct hw_trace *t, const char *a, const char *name, const char *as_name,
		 uint32_t o1, uint32_t o2, enum hw_lookup name_status, enum hw_lookup asn_status)
{
	const uint32_t origins[2] = {o1, o2};
	fx_info(t, a, name, (uint8_t)name_status, origins, (o1 != 0) + (o2 != 0), as_name,
		(uint8_t)asn_status);
}

/*
 * IPv4 UDP, first TTL 2: MPLS, unreachable marks (!H, !F-1400, !p), a packet-too-big, a
 * silent hop, RTTs below the microsecond, annotation with a multi-origin address, a
 * name, an AS name, a failed lookup, and non-ASCII text.
 */
static struct hw_trace *rich_v4(void)
{
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "198.18.0.2", "198.51.100.9", 2, 30, 3);
	t->target = dup("www.example.net");
	t->network = dup("198.51.100.0/24");
	for (uint8_t k = 0; k < 3; k++)
		add(t, 2, k, "198.18.1.1", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.2 + k * 0.0004);
	struct hw_reply *r = add(t, 3, 0, "100.64.3.1", HW_REPLY_TIME_EXCEEDED, 11, 0, 12.3456);
	struct hw_mpls_label lsp[3] = {{16, 0, 0, 1}, {24005, 3, 0, 2}, {0xfffff, 7, 1, 255}};
	assert_int_equal(hw_reply_set_mpls(r, lsp, 3), HW_OK);
	add(t, 3, 2, "100.64.3.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 13.0);
	trace_hop(t, 3)->probes_sent = 3;
	trace_hop(t, 4)->probes_sent = 3; /* silent */
	add(t, 5, 0, "203.0.113.5", HW_REPLY_UNREACH, 3, 1, 20.5);          /* !H */
	add(t, 5, 1, "203.0.113.6", HW_REPLY_UNREACH, 3, 4, 21.5)->mtu = 1400; /* !F-1400 */
	add(t, 5, 2, "203.0.113.7", HW_REPLY_UNREACH, 3, 3, 22.5);          /* !p */
	add(t, 6, 0, "203.0.113.8", HW_REPLY_PACKET_TOO_BIG, 3, 4, 1e9)->mtu = 0xffffffffu;
	trace_hop(t, 6)->probes_sent = 255;
	add(t, 7, 1, "198.51.100.9", HW_REPLY_UNREACH, 3, 3, 30.0)->flow_id = 9; /* dropped */
	trace_truncate(t, 7);
	t->stop_reason = HW_STOP_COMPLETED;
	t->stop_ttl = 7;
	t->start_unix_us = T0;
	t->duration_ms = 1234.5678;
	t->probes_sent = 3 * 6;
	t->flow_label = 0; /* IPv4 */
	info(t, "100.64.3.1", "core-1.example.net", "EXAMPLE-AS Example, Inc., NL", 64500, 64501,
	     HW_LOOKUP_OK, HW_LOOKUP_OK);
	info(t, "198.18.1.1", NULL, NULL, 0, 0, HW_LOOKUP_NOTFOUND, HW_LOOKUP_NONE);
	info(t, "203.0.113.5", "r\xc3\xa9seau-\xe4\xb8\xad.example", NULL, 4200000000u, 0,
	     HW_LOOKUP_OK, HW_LOOKUP_OK);
	info(t, "203.0.113.8", NULL, NULL, 0, 0, HW_LOOKUP_FAILED, HW_LOOKUP_FAILED);
	info(t, "198.51.100.9", "", "", 13335, 0, HW_LOOKUP_OK, HW_LOOKUP_OK);
	return t;
}

/* IPv6 ICMP, no source, no target, a flow label, unreached; no annotation. */
static struct hw_trace *plain_v6(void)
{
	struct hw_trace *t = new_trace(HW_METHOD_ICMP, NULL, "2001:db8::9", 1, 64, 2);
	t->flow_label = 0xfffff;
	add(t, 1, 0, "2001:db8::1", HW_REPLY_TIME_EXCEEDED, 3, 0, 0.5);
	add(t, 1, 1, "2001:db8::1", HW_REPLY_TIME_EXCEEDED, 3, 0, 0.6);
	add(t, 2, 1, "fe80::1", HW_REPLY_UNREACH, 1, 3, 1.0);               /* !H */
	add(t, 3, 0, "2001:db8:ffff::1", HW_REPLY_PACKET_TOO_BIG, 2, 0, 2.0)->mtu = 1280;
	trace_hop(t, 4)->probes_sent = 2;
	trace_hop(t, 5)->probes_sent = 2;
	trace_truncate(t, 5);
	t->stop_reason = HW_STOP_GAPLIMIT;
	t->stop_ttl = 5;
	t->start_unix_us = T0 + 1;
	t->duration_ms = 0;
	t->probes_sent = 10;
	return t;
}

/* MDA-Lite IPv6 TCP: per-packet hop, flows, links, diamonds (from the source, open). */
static struct hw_trace *multipath_v6(void)
{
	struct hw_trace *t = new_trace(HW_METHOD_TCP, "2001:db8::2", "2001:db8:9::9", 1, 20, 0);
	t->multipath = HW_MULTIPATH_MDA;
	t->confidence = 99;
	t->target = dup("");
	add(t, 1, 0, "2001:db8:1::1", HW_REPLY_TIME_EXCEEDED, 3, 0, 0.1);
	add(t, 1, 0, "2001:db8:1::2", HW_REPLY_TIME_EXCEEDED, 3, 0, 0.1)->flow_id = 65535;
	add(t, 2, 0, "2001:db8:2::1", HW_REPLY_TIME_EXCEEDED, 3, 0, 0.2)->flow_id = 1;
	add(t, 2, 1, "2001:db8:2::1", HW_REPLY_TIME_EXCEEDED, 3, 0, 0.2)->flow_id = 2;
	add(t, 3, 0, "2001:db8:3::1", HW_REPLY_TIME_EXCEEDED, 3, 0, 0.3);
	add(t, 3, 0, "2001:db8:3::2", HW_REPLY_TIME_EXCEEDED, 3, 0, 0.3)->flow_id = 7;
	add(t, 4, 0, "2001:db8:9::9", HW_REPLY_TCP_RST, 0, 0, 0.4);
	trace_hop(t, 1)->probes_sent = 1000;
	trace_hop(t, 3)->per_packet = true;
	struct hw_link l = {fx_addr("2001:db8:1::1"), fx_addr("2001:db8:2::1"), 1, false};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	l.from = fx_addr("2001:db8:1::2");
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	l = (struct hw_link){fx_addr("2001:db8:2::1"), fx_addr("2001:db8:3::2"), 2, true};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	l = (struct hw_link){fx_addr("2001:db8:3::2"), fx_addr("2001:db8:9::9"), 3, true};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	struct hw_diamond d = {0, 2, {0}, fx_addr("2001:db8:2::1"), 2, 2};
	assert_int_equal(trace_add_diamond(t, &d), HW_OK);
	d = (struct hw_diamond){2, 0, fx_addr("2001:db8:2::1"), {0}, 2, 0};
	assert_int_equal(trace_add_diamond(t, &d), HW_OK);
	trace_truncate(t, 4);
	t->stop_reason = HW_STOP_COMPLETED;
	t->stop_ttl = 4;
	t->start_unix_us = 0;
	t->duration_ms = 1e12;
	t->probes_sent = 4000000000u;
	t->replies = 7;
	info(t, "2001:db8:9::9", "dst.example", "X", 64496, 0, HW_LOOKUP_OK, HW_LOOKUP_OK);
	return t;
}

/* No hops at all (a trace that could not send), first TTL = max TTL = 255. */
static struct hw_trace *empty_trace(void)
{
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "192.0.2.1", "192.0.2.2", 255, 255, 0);
	trace_truncate(t, 254);
	t->stop_reason = HW_STOP_ERROR;
	t->network = dup("192.0.2.0/24");
	return t;
}

/* A multipath trace with no hops, links or diamonds. */
static struct hw_trace *empty_multipath(void)
{
	struct hw_trace *t = new_trace(HW_METHOD_UDP, NULL, "192.0.2.2", 1, 1, 0);
	t->multipath = HW_MULTIPATH_LITE;
	t->confidence = 1;
	trace_truncate(t, 0);
	return t;
}

/* --doubletree: hops 1-3 skipped below stop_set_ttl 4, then probed up to the destination. */
static struct hw_trace *doubletree_v4(void)
{
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "198.18.0.2", "198.19.4.7", 1, 30, 1);
	for (uint8_t ttl = 1; ttl <= 3; ttl++)
		trace_hop(t, ttl)->skipped = true;
	t->stop_set_ttl = 4;
	add(t, 4, 0, "198.18.4.1", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.3);
	add(t, 5, 0, "198.18.5.1", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.4);
	add(t, 6, 0, "198.19.4.7", HW_REPLY_UNREACH, 3, 3, 0.5);
	trace_truncate(t, 6);
	t->stop_reason = HW_STOP_COMPLETED;
	t->stop_ttl = 6;
	t->start_unix_us = T0;
	t->duration_ms = 2.5;
	t->probes_sent = 3;
	t->network = dup("198.19.4.0/22");
	return t;
}

typedef struct hw_trace *(*maker)(void);
static const maker makers[] = {rich_v4, plain_v6, multipath_v6, empty_trace, empty_multipath,
			       doubletree_v4};
#define N_MAKERS (sizeof(makers) / sizeof(makers[0]))

/* ---- comparing ---- */

static char *dump(const struct hw_trace *t)
{
	char *text = NULL;
	assert_int_equal(json_trace_dump(t, &text), HW_OK);
	return text;
}

static uint64_t us(double ms)
{
	return (uint64_t)(ms * 1000 + 0.5);
}

static uint8_t *encode_ok(const struct hw_trace *t, size_t *len)
{
	uint8_t *buf = NULL;
	char err[256];
	int rc = tracebin_encode(t, &buf, len, err, sizeof(err));
	if (rc != HW_OK)
		fail_msg("tracebin_encode: %d %s", rc, err);
	assert_non_null(buf);
	return buf;
}

static struct hw_trace *decode_ok(const uint8_t *buf, size_t len)
{
	struct hw_trace *t = NULL;
	char err[256];
	int rc = tracebin_decode(buf, len, &t, err, sizeof(err));
	if (rc != HW_OK)
		fail_msg("tracebin_decode: %d %s", rc, err);
	assert_non_null(t);
	return t;
}

/* A refusal: the status wanted, no trace, and a reason. */
static void assert_refused(const uint8_t *buf, size_t len, int want, const char *says)
{
	static struct hw_trace sentinel;
	struct hw_trace *t = &sentinel; /* must be reset to NULL */
	char err[256] = "";
	int rc = tracebin_decode(buf, len, &t, err, sizeof(err));
	if (rc != want)
		fail_msg("decode of %zu bytes: %d (wanted %d): %s", len, rc, want, err);
	assert_null(t);
	assert_true(err[0] != '\0');
	if (says != NULL && strstr(err, says) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, says);
}

/* ---- round trips ---- */

static void test_round_trip(void **state)
{
	(void)state;
	for (size_t m = 0; m < N_MAKERS; m++) {
		struct hw_trace *t = makers[m]();
		size_t len;
		uint8_t *buf = encode_ok(t, &len);
		assert_memory_equal(buf, HW_TRACEBIN_MAGIC, 4);
		assert_int_equal(buf[4], HW_TRACEBIN_VERSION);
		struct hw_trace *back = decode_ok(buf, len);
		char *want = dump(t), *got = dump(back);
		assert_string_equal(got, want);
		fx_assert_trace_equal(t, back, true);
		/* Canonical: the decoded trace encodes to the same bytes. */
		size_t len2;
		uint8_t *again = encode_ok(back, &len2);
		assert_int_equal(len2, len);
		assert_memory_equal(again, buf, len);
		/* And far smaller than the JSON. */
		assert_true(len * 3 < strlen(want));
		free(again);
		free(want);
		free(got);
		free(buf);
		trace_free(back);
		trace_free(t);
	}
}

/* What the rounding keeps: RTTs to the microsecond, as the JSON shows them. */
static void test_rtt_precision(void **state)
{
	(void)state;
	static const double rtts[] = {0, 0.0004, 0.0005, 0.0015, 1.0005, 12.3456, 999.9995,
				      123456.789, 999999999.999, 1e12};
	struct hw_trace *t = new_trace(HW_METHOD_UDP, NULL, "192.0.2.2", 1, 30, 10);
	for (uint8_t k = 0; k < sizeof(rtts) / sizeof(rtts[0]); k++)
		add(t, 1, k, "192.0.2.1", HW_REPLY_TIME_EXCEEDED, 11, 0, rtts[k]);
	trace_truncate(t, 1);
	size_t len;
	uint8_t *buf = encode_ok(t, &len);
	struct hw_trace *back = decode_ok(buf, len);
	char *want = dump(t), *got = dump(back);
	assert_string_equal(got, want);
	for (size_t k = 0; k < sizeof(rtts) / sizeof(rtts[0]); k++) {
		double r = back->hops[0].replies[k].rtt_ms;
		assert_int_equal(us(r), us(rtts[k]));
		assert_true(fabs(r - rtts[k]) <= 0.0005 + 1e-9 + rtts[k] * 1e-15);
	}
	/* The JSON reader gives the very same doubles for what json_trace_dump wrote. */
	struct hw_trace *json = NULL;
	char err[256];
	assert_int_equal(json_trace_load(want, strlen(want), &json, err, sizeof(err)), HW_OK);
	for (size_t k = 0; k < sizeof(rtts) / sizeof(rtts[0]); k++)
		assert_true(json->hops[0].replies[k].rtt_ms == back->hops[0].replies[k].rtt_ms);
	trace_free(json);
	free(want);
	free(got);
	free(buf);
	trace_free(back);
	trace_free(t);
}

/* A decoded trace's arrays keep run.c's implied capacity: appending to them is safe. */
static void test_append_after_decode(void **state)
{
	(void)state;
	struct hw_trace *t = multipath_v6();
	size_t len;
	uint8_t *buf = encode_ok(t, &len);
	struct hw_trace *back = decode_ok(buf, len);
	for (unsigned k = 0; k < 40; k++) {
		struct hw_reply r = back->hops[0].replies[0];
		struct hw_link l = back->links[0];
		struct hw_diamond d = back->diamonds[0];
		r.mpls = NULL;
		r.n_mpls = 0;
		assert_int_equal(hop_add_reply(&back->hops[0], &r), HW_OK);
		assert_int_equal(trace_add_link(back, &l), HW_OK);
		assert_int_equal(trace_add_diamond(back, &d), HW_OK);
	}
	struct hw_addr x = fx_addr("2001:db8:ffff::1");
	assert_non_null(trace_info_add(back, &x));
	assert_int_equal(back->hops[0].n_replies, 42);
	assert_int_equal(back->n_links, 44);
	assert_int_equal(back->n_infos, 2);
	free(buf);
	trace_free(back);
	trace_free(t);
}

/* ---- the layout, spelled out (docs/store.md): the fixture must not follow the code ---- */

struct bb {
	uint8_t b[512];
	size_t n;
};

static void u8(struct bb *b, unsigned v)
{
	assert_true(b->n < sizeof(b->b));
	b->b[b->n++] = (uint8_t)v;
}

static void varint(struct bb *b, uint64_t v)
{
	do {
		u8(b, (unsigned)(v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
}

static void bytes(struct bb *b, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		u8(b, ((const uint8_t *)p)[i]);
}

#define HUGE_COUNT (1ULL << 40)

/* What to spoil in the hand-built trace. */
enum tweak {
	OK, VERSION_1, VERSION_NEXT, VERSION_0, MAGIC, FAMILY_5, UNKNOWN_FLAG, HUGE_TARGET, HUGE_TABLE,
	HUGE_HOPS, HUGE_REPLIES, HUGE_LINKS, HUGE_DIAMONDS, HUGE_INFOS, TOO_MANY_HOPS,
	NINE_MPLS, FIVE_ORIGINS, TABLE_UNSORTED, DST_REF_0, REF_PAST_TABLE, ATTEMPT_TOO_HIGH,
	LINK_TTL, LINK_BOOL_2, DIAMOND_LENGTH, DIAMOND_NO_DIVERGENCE,
	INFO_TWICE, NAME_WITHOUT_OK, ORIGINS_WITHOUT_OK, AS_NAME_WITHOUT_ORIGIN, ORIGIN_0,
	BAD_UTF8, NUL_IN_STRING, NON_MINIMAL_VARINT, VARINT_OVERFLOW, TRAILING_BYTE,
	FLOW_LABEL, START_PAST_9999, RTT_PAST_MAX, MTU_FLAG_ZERO, KIND_8, CONFIDENCE_0,
	STOP_REASON_6, METHOD_3, TTL_RANGE,
	STOP_SET, STOP_SET_V1, STOP_SET_0, SKIPPED_V1, SKIPPED_PROBED, SKIPPED_REPLIES,
};

/*
 * A multipath IPv4 trace (MDA-Lite, 95 %): target "abc", two hops, a link, a diamond
 * opening at the source and closing at hop 2, one annotated address. The --doubletree
 * tweaks give it stop_set_ttl 2 (STOP_SET*), or flag hop 1 skipped (SKIPPED*: with its
 * probes and replies zeroed but for SKIPPED_PROBED / SKIPPED_REPLIES).
 */
static void hand_built(struct bb *b, enum tweak tw)
{
	b->n = 0;
	bytes(b, tw == MAGIC ? "HWtR" : "HWtr", 4);
	bool v1 = tw == VERSION_1 || tw == STOP_SET_V1 || tw == SKIPPED_V1;
	bool stop_set = tw == STOP_SET || tw == STOP_SET_V1 || tw == STOP_SET_0;
	bool skipped = tw == SKIPPED_V1 || tw == SKIPPED_PROBED || tw == SKIPPED_REPLIES;
	u8(b, tw == VERSION_NEXT ? HW_TRACEBIN_VERSION + 1 : tw == VERSION_0 ? 0 : v1 ? 1 : 2);
	u8(b, tw == FAMILY_5 ? 5 : 4);                 /* family */
	u8(b, tw == UNKNOWN_FLAG ? 0x09 : stop_set ? 0x05 : 0x01); /* flags: a target */
	u8(b, tw == METHOD_3 ? 3 : 2);                  /* method: tcp */
	u8(b, 2);                                       /* multipath: lite */
	u8(b, tw == CONFIDENCE_0 ? 0 : 95);
	varint(b, 5);                                   /* flow id */
	varint(b, HW_FLOW_BASE + 5);
	varint(b, 80);
	u8(b, 0);                                       /* tos */
	varint(b, tw == FLOW_LABEL ? 0x100000 : 0);
	u8(b, 1);                                       /* first TTL */
	u8(b, tw == TTL_RANGE ? 0 : tw == TOO_MANY_HOPS ? 1 : 30);
	u8(b, 0);                                       /* probes per hop */
	u8(b, tw == STOP_REASON_6 ? 6 : 1);             /* completed */
	u8(b, 2);
	if (stop_set)
		u8(b, tw == STOP_SET_0 ? 0 : 2);        /* stop_set_ttl */
	varint(b, tw == START_PAST_9999 ? 253402300800000000ULL : T0);
	varint(b, 1500);                                /* duration: 1.5 ms */
	varint(b, 4);                                   /* probes sent */
	varint(b, 3);                                   /* replies */
	if (tw == HUGE_TARGET)
		varint(b, HUGE_COUNT);
	else if (tw == BAD_UTF8)
		bytes(b, "\x03" "a\xc0\x80", 4);
	else if (tw == NUL_IN_STRING)
		bytes(b, "\x03" "a\0c", 4);
	else
		bytes(b, "\x03" "abc", 4);
	/* The address table: 192.0.2.1, 192.0.2.2, 198.18.0.2, sorted. */
	varint(b, tw == HUGE_TABLE ? HUGE_COUNT : 3);
	bytes(b, "\xc0\x00\x02\x01", 4);
	bytes(b, tw == TABLE_UNSORTED ? "\xc0\x00\x02\x01" : "\xc0\x00\x02\x02", 4);
	bytes(b, "\xc6\x12\x00\x02", 4);
	varint(b, 3);                                   /* src: 198.18.0.2 */
	varint(b, tw == DST_REF_0 ? 0 : 2);             /* dst: 192.0.2.2 */
	varint(b, tw == HUGE_HOPS ? HUGE_COUNT : 2);
	/* hop 1: per packet, 300 probes, two replies from 192.0.2.1 (flows 0 and 1) */
	u8(b, skipped ? 0x03 : 0x01);
	varint(b, skipped && tw != SKIPPED_PROBED ? 0 : 300);
	varint(b, tw == HUGE_REPLIES ? HUGE_COUNT : skipped && tw != SKIPPED_REPLIES ? 0 : 2);
	for (unsigned k = 0; k < (skipped && tw != SKIPPED_REPLIES ? 0u : 2u); k++) {
		varint(b, tw == REF_PAST_TABLE ? 4 : 1);
		u8(b, tw == ATTEMPT_TOO_HIGH ? 255 : 0);
		varint(b, k);                           /* flow */
		varint(b, tw == RTT_PAST_MAX && k == 1 ? 1000000000000001ULL : 250 + k);
		u8(b, 1);                               /* time exceeded */
		u8(b, 11);
		u8(b, 0);
		u8(b, 63);
		u8(b, 1);
		u8(b, 0x34);                            /* ipid 0x1234, little-endian */
		u8(b, 0x12);
		if (tw == NINE_MPLS) {
			u8(b, 9);
		} else if (tw == MTU_FLAG_ZERO) {
			u8(b, 0x10);
			varint(b, 0);
		} else if (k == 0) {
			u8(b, 0x01);                    /* one MPLS label */
			varint(b, 24005);
			u8(b, 3 | 1 << 3);              /* tc 3, bottom of stack */
			u8(b, 1);
		} else {
			u8(b, 0x10);                    /* an MTU */
			varint(b, 1400);
		}
	}
	/* hop 2: one probe, answered by the destination */
	u8(b, 0x00);
	varint(b, 1);
	varint(b, 1);
	varint(b, 2);                                   /* from the destination */
	u8(b, 0);
	varint(b, 0);
	if (tw == NON_MINIMAL_VARINT)
		bytes(b, "\xe8\x87\x00", 3);            /* 1000, with a needless 0x00 */
	else if (tw == VARINT_OVERFLOW)
		bytes(b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
	else
		varint(b, 1000);
	u8(b, tw == KIND_8 ? 8 : 4);                    /* tcp-rst */
	u8(b, 0);
	u8(b, 0);
	u8(b, 60);
	u8(b, 0);
	u8(b, 0);
	u8(b, 0);
	u8(b, 0);                                       /* no extras */
	/* one link 192.0.2.1 -> 192.0.2.2 at TTL 1 */
	varint(b, tw == HUGE_LINKS ? HUGE_COUNT : 1);
	varint(b, 1);
	varint(b, 2);
	u8(b, tw == LINK_TTL ? 2 : 1);
	u8(b, tw == LINK_BOOL_2 ? 2 : 1);
	/* one diamond: from the source (TTL 0) to 192.0.2.2 at TTL 2 */
	varint(b, tw == HUGE_DIAMONDS ? HUGE_COUNT : 1);
	varint(b, 0);                                   /* no divergence: at TTL 0 */
	u8(b, tw == DIAMOND_NO_DIVERGENCE ? 1 : 0);
	varint(b, 2);
	u8(b, 2);
	varint(b, 2);                                   /* max width */
	u8(b, tw == DIAMOND_LENGTH ? 3 : 2);
	/* annotation of 192.0.2.1 and 192.0.2.2 */
	varint(b, tw == HUGE_INFOS ? HUGE_COUNT : 2);
	varint(b, 1);
	u8(b, HW_SCOPE_DOCUMENTATION);
	u8(b, tw == NAME_WITHOUT_OK ? HW_LOOKUP_NOTFOUND : HW_LOOKUP_OK);
	u8(b, HW_LOOKUP_OK);
	u8(b, tw == FIVE_ORIGINS ? 5 : 2);
	varint(b, tw == ORIGIN_0 ? 0 : 64500);
	varint(b, 4200000000u);
	u8(b, 0x03);                                    /* name, AS name */
	bytes(b, "\x03" "xyz", 4);
	bytes(b, "\x02" "AS", 3);
	varint(b, tw == INFO_TWICE ? 1 : 2);
	u8(b, HW_SCOPE_DOCUMENTATION);
	u8(b, HW_LOOKUP_FAILED);
	u8(b, tw == ORIGINS_WITHOUT_OK ? HW_LOOKUP_NONE : tw == AS_NAME_WITHOUT_ORIGIN ?
	   HW_LOOKUP_NOTFOUND : HW_LOOKUP_OK);
	if (tw == AS_NAME_WITHOUT_ORIGIN) {
		u8(b, 0);
		u8(b, 0x02);
		bytes(b, "\x01" "A", 2);
	} else {
		u8(b, 1);
		varint(b, 13335);
		u8(b, 0);
	}
	if (tw == TRAILING_BYTE)
		u8(b, 0);
}

static void test_layout(void **state)
{
	(void)state;
	struct bb b;
	hand_built(&b, OK);
	struct hw_trace *t = decode_ok(b.b, b.n);
	assert_string_equal(t->target, "abc");
	assert_null(t->network);
	assert_int_equal(t->dst.family, AF_INET);
	struct hw_addr src = fx_addr("198.18.0.2"), dst = fx_addr("192.0.2.2"), one = fx_addr("192.0.2.1");
	assert_true(hw_addr_eq(&t->src, &src));
	assert_true(hw_addr_eq(&t->dst, &dst));
	assert_int_equal(t->method, HW_METHOD_TCP);
	assert_int_equal(t->multipath, HW_MULTIPATH_LITE);
	assert_int_equal(t->confidence, 95);
	assert_int_equal(t->flow_id, 5);
	assert_int_equal(t->sport, HW_FLOW_BASE + 5);
	assert_int_equal(t->dport, 80);
	assert_int_equal(t->max_ttl, 30);
	assert_int_equal(t->stop_reason, HW_STOP_COMPLETED);
	assert_int_equal(t->start_unix_us, T0);
	assert_true(t->duration_ms == 1.5);
	assert_int_equal(t->n_hops, 2);
	assert_true(t->hops[0].per_packet);
	assert_int_equal(t->hops[0].probes_sent, 300);
	assert_int_equal(t->hops[0].n_replies, 2);
	const struct hw_reply *r = &t->hops[0].replies[1];
	assert_true(hw_addr_eq(&r->addr, &one));
	assert_int_equal(r->flow_id, 1);
	assert_true(r->rtt_ms == 0.251);
	assert_int_equal(r->ipid, 0x1234);
	assert_int_equal(r->mtu, 1400);
	assert_int_equal(t->hops[0].replies[0].n_mpls, 1);
	assert_int_equal(t->hops[0].replies[0].mpls[0].label, 24005);
	assert_int_equal(t->hops[0].replies[0].mpls[0].tc, 3);
	assert_int_equal(t->hops[0].replies[0].mpls[0].s, 1);
	assert_int_equal(t->hops[1].ttl, 2);
	assert_int_equal(t->hops[1].replies[0].kind, HW_REPLY_TCP_RST);
	assert_int_equal(t->n_links, 1);
	assert_true(t->links[0].per_packet);
	assert_int_equal(t->n_diamonds, 1);
	assert_true(hw_addr_is_unset(&t->diamonds[0].divergence));
	assert_int_equal(t->diamonds[0].length, 2);
	assert_int_equal(t->n_infos, 2);
	assert_string_equal(t->infos[0].name, "xyz");
	assert_string_equal(t->infos[0].as_name, "AS");
	assert_int_equal(t->infos[0].n_origins, 2);
	assert_int_equal(t->infos[0].origins[1], 4200000000u);
	assert_int_equal(trace_asn(t, &dst), 13335);
	/* Written back, the very same bytes. */
	size_t len;
	uint8_t *again = encode_ok(t, &len);
	assert_int_equal(len, b.n);
	assert_memory_equal(again, b.b, len);
	free(again);
	trace_free(t);
}

/* Version 1 bytes (before --doubletree) still read; the new fields read back too. */
static void test_versions(void **state)
{
	(void)state;
	struct bb b, b2;
	hand_built(&b, VERSION_1);
	hand_built(&b2, OK);
	assert_int_equal(b.b[4], 1);
	struct hw_trace *t = decode_ok(b.b, b.n);
	assert_int_equal(t->stop_set_ttl, 0);
	assert_false(t->hops[0].skipped);
	/* Written now: the current version, otherwise the same bytes. */
	size_t len;
	uint8_t *again = encode_ok(t, &len);
	assert_int_equal(len, b2.n);
	assert_int_equal(again[4], HW_TRACEBIN_VERSION);
	assert_memory_equal(again, b2.b, len);
	free(again);
	trace_free(t);
	hand_built(&b, STOP_SET);
	t = decode_ok(b.b, b.n);
	assert_int_equal(t->stop_set_ttl, 2);
	again = encode_ok(t, &len);
	assert_int_equal(len, b.n);
	assert_memory_equal(again, b.b, len);
	free(again);
	trace_free(t);
	/* The encoder holds a skipped hop to the same rule. */
	t = doubletree_v4();
	trace_hop(t, 2)->probes_sent = 1;
	uint8_t *buf = NULL;
	char err[256];
	assert_int_equal(tracebin_encode(t, &buf, &len, err, sizeof(err)), HW_ERR_INVAL);
	assert_non_null(strstr(err, "hops[1].skipped"));
	assert_null(buf);
	trace_free(t);
}

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		enum tweak tw;
		int status;
		const char *says;
	} cases[] = {
		{VERSION_NEXT, HW_ERR_UNSUPPORTED, "newer"},
		{STOP_SET_V1, HW_ERR_MALFORMED, "unknown flags 0x05"},
		{STOP_SET_0, HW_ERR_MALFORMED, "stop_set_ttl"},
		{SKIPPED_V1, HW_ERR_MALFORMED, "hops[0]: unknown flags 0x03"},
		{SKIPPED_PROBED, HW_ERR_MALFORMED, "hops[0].skipped"},
		{SKIPPED_REPLIES, HW_ERR_MALFORMED, "hops[0].skipped"},
		{VERSION_0, HW_ERR_MALFORMED, "version 0"},
		{MAGIC, HW_ERR_MALFORMED, "magic"},
		{FAMILY_5, HW_ERR_MALFORMED, "family"},
		{UNKNOWN_FLAG, HW_ERR_MALFORMED, "flags"},
		{HUGE_TARGET, HW_ERR_TRUNCATED, "target: 1099511627776 announced"},
		{HUGE_TABLE, HW_ERR_TRUNCATED, "addresses: 1099511627776 announced"},
		{HUGE_HOPS, HW_ERR_TRUNCATED, "hops: 1099511627776 announced"},
		{HUGE_REPLIES, HW_ERR_TRUNCATED, "hops[0].replies: 1099511627776 announced"},
		{HUGE_LINKS, HW_ERR_TRUNCATED, "links: 1099511627776 announced"},
		{HUGE_DIAMONDS, HW_ERR_TRUNCATED, "diamonds: 1099511627776 announced"},
		{HUGE_INFOS, HW_ERR_TRUNCATED, "infos: 1099511627776 announced"},
		{TOO_MANY_HOPS, HW_ERR_MALFORMED, "TTLs 1..1 hold only 1"},
		{NINE_MPLS, HW_ERR_MALFORMED, "extras"},
		{FIVE_ORIGINS, HW_ERR_MALFORMED, "origins"},
		{TABLE_UNSORTED, HW_ERR_MALFORMED, "addresses: entry 1"},
		{DST_REF_0, HW_ERR_MALFORMED, "dst"},
		{REF_PAST_TABLE, HW_ERR_MALFORMED, "hops[0].replies[0].addr: address 4"},
		{ATTEMPT_TOO_HIGH, HW_ERR_MALFORMED, "attempt"},
		{LINK_TTL, HW_ERR_MALFORMED, "links[0].ttl"},
		{LINK_BOOL_2, HW_ERR_MALFORMED, "per_packet"},
		{DIAMOND_LENGTH, HW_ERR_MALFORMED, "diamonds[0].length"},
		{DIAMOND_NO_DIVERGENCE, HW_ERR_MALFORMED, "div_ttl"},
		{INFO_TWICE, HW_ERR_MALFORMED, "infos[1].addr"},
		{NAME_WITHOUT_OK, HW_ERR_MALFORMED, "infos[0].name"},
		{ORIGINS_WITHOUT_OK, HW_ERR_MALFORMED, "infos[1].origins"},
		{AS_NAME_WITHOUT_ORIGIN, HW_ERR_MALFORMED, "as_name"},
		{ORIGIN_0, HW_ERR_MALFORMED, "origins"},
		{BAD_UTF8, HW_ERR_MALFORMED, "UTF-8"},
		{NUL_IN_STRING, HW_ERR_MALFORMED, "UTF-8"},
		{NON_MINIMAL_VARINT, HW_ERR_MALFORMED, "malformed number"},
		{VARINT_OVERFLOW, HW_ERR_MALFORMED, "malformed number"},
		{TRAILING_BYTE, HW_ERR_MALFORMED, "1 bytes after"},
		{FLOW_LABEL, HW_ERR_MALFORMED, "flow_label"},
		{START_PAST_9999, HW_ERR_MALFORMED, "start"},
		{RTT_PAST_MAX, HW_ERR_MALFORMED, "hops[0].replies[1].rtt_ms"},
		{MTU_FLAG_ZERO, HW_ERR_MALFORMED, "mtu"},
		{KIND_8, HW_ERR_MALFORMED, "kind"},
		{CONFIDENCE_0, HW_ERR_MALFORMED, "confidence"},
		{STOP_REASON_6, HW_ERR_MALFORMED, "stop_reason"},
		{METHOD_3, HW_ERR_MALFORMED, "method"},
		{TTL_RANGE, HW_ERR_MALFORMED, "max_ttl"},
	};
	struct bb b;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hand_built(&b, cases[i].tw);
		assert_refused(b.b, b.n, cases[i].status, cases[i].says);
	}
	/* Hop 1's 300 probes are fine in a multipath trace, not in a single-flow one. */
	hand_built(&b, OK);
	struct hw_trace *t = decode_ok(b.b, b.n);
	t->multipath = HW_MULTIPATH_NONE;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];
	assert_int_equal(tracebin_encode(t, &buf, &len, err, sizeof(err)), HW_ERR_INVAL);
	assert_non_null(strstr(err, "hops[0].probes_sent"));
	assert_null(buf);
	trace_free(t);
	assert_refused((const uint8_t *)"", 0, HW_ERR_TRUNCATED, NULL);
	assert_refused((const uint8_t *)"HW", 2, HW_ERR_TRUNCATED, NULL);
	assert_refused((const uint8_t *)"{\"target\"", 9, HW_ERR_MALFORMED, "magic");
	struct hw_trace *out;
	assert_int_equal(tracebin_decode(NULL, 0, &out, NULL, 0), HW_ERR_INVAL);
	assert_int_equal(tracebin_decode(b.b, b.n, NULL, NULL, 0), HW_ERR_INVAL);
}

static void test_truncated(void **state)
{
	(void)state;
	struct bb b;
	hand_built(&b, OK);
	for (size_t n = 0; n < b.n; n++)
		assert_refused(b.b, n, HW_ERR_TRUNCATED, NULL);
	for (size_t m = 0; m < N_MAKERS; m++) {
		struct hw_trace *t = makers[m]();
		size_t len;
		uint8_t *buf = encode_ok(t, &len);
		for (size_t n = 0; n < len; n++) {
			/* A copy of exactly n bytes: ASan sees any read past them. */
			uint8_t *cut = malloc(n > 0 ? n : 1);
			assert_non_null(cut);
			memcpy(cut, buf, n);
			assert_refused(cut, n, HW_ERR_TRUNCATED, NULL);
			free(cut);
		}
		free(buf);
		trace_free(t);
	}
}

/* ---- corruption ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Whatever decodes re-encodes, and decodes again to the same trace. */
static void check_stable(const struct hw_trace *t)
{
	size_t len;
	uint8_t *buf = encode_ok(t, &len);
	struct hw_trace *again = decode_ok(buf, len);
	char *a = dump(t), *b = dump(again);
	assert_string_equal(a, b);
	fx_assert_trace_equal(t, again, true);
	free(a);
	free(b);
	free(buf);
	trace_free(again);
}

static void test_corrupted(void **state)
{
	(void)state;
	unsigned decoded = 0, refused = 0;
	for (size_t m = 0; m < N_MAKERS; m++) {
		struct hw_trace *t = makers[m]();
		size_t len;
		uint8_t *buf = encode_ok(t, &len);
		for (uint64_t seed = 1; seed <= 2000; seed++) {
			rng_state = seed * 0x9e3779b97f4a7c15ULL;
			size_t n = len;
			uint8_t *bad = malloc(len);
			assert_non_null(bad);
			memcpy(bad, buf, len);
			unsigned flips = 1 + rnd(4);
			for (unsigned k = 0; k < flips; k++) {
				size_t at = 5 + rnd((uint32_t)(len - 5)); /* past magic+version */
				bad[at] = rnd(3) == 0 ? (uint8_t)(bad[at] ^ (1u << rnd(8)))
						      : (uint8_t)rnd(256);
			}
			if (rnd(8) == 0)
				n = 5 + rnd((uint32_t)(len - 5)); /* cut too */
			struct hw_trace *back = NULL;
			char err[256] = "";
			int rc = tracebin_decode(bad, n, &back, err, sizeof(err));
			if (rc == HW_OK) {
				assert_non_null(back);
				check_stable(back);
				trace_free(back);
				decoded++;
			} else {
				assert_true(rc == HW_ERR_TRUNCATED || rc == HW_ERR_MALFORMED);
				assert_null(back);
				assert_true(err[0] != '\0');
				refused++;
			}
			free(bad);
		}
		free(buf);
		trace_free(t);
	}
	/* Both outcomes happen: the test exercises more than the first check. */
	assert_true(decoded > 100);
	assert_true(refused > 1000);
}

/* ---- what the encoder refuses ---- */

static void assert_encode_refused(struct hw_trace *t, const char *says)
{
	uint8_t *buf = (uint8_t *)t;
	size_t len = 1;
	char err[256] = "";
	int rc = tracebin_encode(t, &buf, &len, err, sizeof(err));
	if (rc != HW_ERR_INVAL)
		fail_msg("encode: %d (wanted HW_ERR_INVAL) %s", rc, err);
	assert_null(buf);
	assert_int_equal(len, 0);
	if (strstr(err, says) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, says);
	trace_free(t);
}

static void test_encode_refuses(void **state)
{
	(void)state;
	struct hw_trace *t;

	t = rich_v4();
	t->hops[0].replies[1].rtt_ms = NAN;
	assert_encode_refused(t, "hops[0].replies[1].rtt_ms");
	t = rich_v4();
	t->hops[0].replies[1].rtt_ms = -0.001;
	assert_encode_refused(t, "rtt_ms");
	t = rich_v4();
	t->duration_ms = 1e12 + 1;
	assert_encode_refused(t, "duration_ms");
	t = rich_v4();
	memset(&t->hops[3].replies[0].addr, 0, sizeof(struct hw_addr));
	assert_encode_refused(t, "hops[3].replies[0].addr: no address");
	t = rich_v4();
	t->hops[3].replies[0].addr = fx_addr("2001:db8::1");
	assert_encode_refused(t, "not an IPv4 address");
	t = rich_v4();
	t->src = fx_addr("2001:db8::1");
	assert_encode_refused(t, "src");
	t = rich_v4();
	memset(&t->dst, 0, sizeof(t->dst));
	assert_encode_refused(t, "dst");
	t = rich_v4();
	t->hops[1].replies[0].n_mpls = 9;
	assert_encode_refused(t, "mpls");
	t = rich_v4();
	t->hops[1].replies[0].mpls[0].label = 0x100000;
	assert_encode_refused(t, "mpls");
	t = rich_v4();
	t->hops[0].replies[2].attempt = 3;
	assert_encode_refused(t, "hops[0].replies[2].attempt");
	t = rich_v4();
	t->hops[2].ttl = 9;
	assert_encode_refused(t, "hops[2].ttl");
	t = rich_v4();
	t->hops[4].probes_sent = 256;
	assert_encode_refused(t, "hops[4].probes_sent");
	t = rich_v4();
	t->stop_reason = (enum hw_stop_reason)6;
	assert_encode_refused(t, "stop_reason");
	t = rich_v4();
	t->start_unix_us = 253402300800000000ULL;
	assert_encode_refused(t, "start");
	t = rich_v4();
	free(t->target);
	t->target = dup("bad \xff utf-8");
	assert_encode_refused(t, "target: not UTF-8");
	t = rich_v4();
	struct hw_addr_info swap = t->infos[0];
	t->infos[0] = t->infos[1];
	t->infos[1] = swap;
	assert_encode_refused(t, "infos[1].addr");
	t = rich_v4();
	t->infos[1].name_status = HW_LOOKUP_OK;
	assert_encode_refused(t, "infos[1].name");
	t = rich_v4();
	t->infos[0].origins[1] = t->infos[0].origins[0];
	assert_encode_refused(t, "twice");
	t = rich_v4();
	t->infos[2].addr = fx_addr("2001:db8::5");
	assert_encode_refused(t, "infos[2].addr");
	t = multipath_v6();
	t->confidence = 100;
	assert_encode_refused(t, "confidence");
	t = multipath_v6();
	t->links[3].ttl = 4;
	assert_encode_refused(t, "links[3].ttl: 4 is out of range 1..3");
	t = multipath_v6();
	t->diamonds[1].conv_ttl = 3;
	assert_encode_refused(t, "diamonds[1].conv_ttl");
	t = multipath_v6();
	t->first_ttl = 0;
	assert_encode_refused(t, "first_ttl");
	t = multipath_v6();
	t->max_ttl = 3; /* 4 hops do not fit */
	assert_encode_refused(t, "hops: 4 hops, but TTLs 1..3 hold only 3");

	/* A single-flow trace's links and diamonds are not its: dropped, like the JSON. */
	t = plain_v6();
	struct hw_link l = {t->hops[0].replies[0].addr, t->hops[1].replies[0].addr, 1, false};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	size_t len;
	uint8_t *buf = encode_ok(t, &len);
	struct hw_trace *back = decode_ok(buf, len);
	assert_int_equal(back->n_links, 0);
	free(buf);
	trace_free(back);
	trace_free(t);
	assert_int_equal(tracebin_encode(NULL, &buf, &len, NULL, 0), HW_ERR_INVAL);
}

/* With HW_TRACEBIN_CORPUS=DIR, also writes each trace's encoding there (fuzz seeds). */
static void write_seeds(const char *dir)
{
	static const char *const names[] = {"rich-v4", "plain-v6", "multipath-v6", "empty",
					    "empty-multipath", "doubletree-v4"};
	for (size_t m = 0; m < N_MAKERS; m++) {
		struct hw_trace *t = makers[m]();
		size_t len;
		uint8_t *buf = encode_ok(t, &len);
		char path[512];
		snprintf(path, sizeof(path), "%s/%s.bin", dir, names[m]);
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(buf, 1, len, f), len);
		fclose(f);
		free(buf);
		trace_free(t);
	}
	struct bb b;
	hand_built(&b, OK);
	char path[512];
	snprintf(path, sizeof(path), "%s/hand-built.bin", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b.b, 1, b.n, f), b.n);
	fclose(f);
}

int main(void)
{
	const char *seeds = getenv("HW_TRACEBIN_CORPUS");
	if (seeds != NULL && *seeds != '\0')
		write_seeds(seeds);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_rtt_precision),
		cmocka_unit_test(test_append_after_decode),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_encode_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
