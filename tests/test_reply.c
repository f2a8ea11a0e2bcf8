/*
 * Unit tests of reply.c: answers synthesized from real probes (tests/packets.h) are parsed
 * and matched back to the probe; then mutated, truncated and broken the ways routers,
 * NATs and other programs' packets are.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/probe.h>
#include <hopwatch/reply.h>
#include <hopwatch/status.h>

#include "packets.h"

#define INSTANCE 0x5a17
#define REPLY_TTL 250

static const enum hw_method methods[] = {HW_METHOD_UDP, HW_METHOD_ICMP, HW_METHOD_TCP};
static const int families[] = {AF_INET, AF_INET6};

static struct hw_addr addr(const char *text)
{
	struct hw_addr a;
	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	return a;
}

static struct hw_addr router(int family)
{
	return addr(family == AF_INET ? "203.0.113.9" : "2001:db8:aaaa::9");
}

static struct hw_flow make_flow(enum hw_method method, int family, uint16_t flow_id)
{
	struct hw_addr src = addr(family == AF_INET ? "192.0.2.1" : "2001:db8::1");
	struct hw_addr dst = addr(family == AF_INET ? "198.51.100.7" : "2001:db8:ffff::7");
	struct hw_flow flow;
	assert_int_equal(probe_flow_init(&flow, method, &src, &dst, flow_id, 0, INSTANCE), HW_OK);
	return flow;
}

static size_t build(const struct hw_flow *flow, uint8_t ttl, uint8_t attempt, uint8_t *buf)
{
	size_t len = 0;
	assert_int_equal(probe_build(flow, ttl, attempt, buf, HW_PROBE_MAXLEN, &len), HW_OK);
	return len;
}

static uint8_t te_type(int family)
{
	return family == AF_INET ? 11 : 3;
}

/* The error a router at `from` sends for probe (ttl, attempt). */
static void error_for(struct pkt *p, const struct hw_flow *flow, uint8_t ttl, uint8_t attempt,
		      const struct hw_addr *from, uint8_t type, uint8_t code,
		      const struct pkt_opts *opts)
{
	uint8_t probe[HW_PROBE_MAXLEN];
	size_t len = build(flow, ttl, attempt, probe);
	assert_int_equal(pkt_icmp_error(p, probe, len, from, type, code, opts), HW_OK);
}

static void time_exceeded(struct pkt *p, const struct hw_flow *flow, uint8_t ttl,
			  uint8_t attempt, const struct pkt_opts *opts)
{
	struct hw_addr r = router(flow->dst.family);
	error_for(p, flow, ttl, attempt, &r, te_type(flow->dst.family), 0, opts);
}

static void parse_ok(const struct pkt *p, struct hw_reply_pkt *r)
{
	int rc = pkt_parse(p, r);
	if (rc != HW_OK)
		fail_msg("parse failed: %s", hw_strerror(rc));
}

static void expect_match(const struct hw_flow *flow, const struct hw_reply_pkt *r, uint8_t ttl,
			 uint8_t attempt)
{
	uint8_t t = 0, a = 0;
	int rc = reply_match(flow, r, &t, &a);
	if (rc != HW_OK)
		fail_msg("no match: %s", hw_strerror(rc));
	assert_int_equal(t, ttl);
	assert_int_equal(a, attempt);
}

static void expect_not_ours(const struct hw_flow *flow, const struct hw_reply_pkt *r)
{
	uint8_t t = 0xaa, a = 0xbb;
	assert_int_equal(reply_match(flow, r, &t, &a), HW_ERR_NOT_OURS);
	assert_int_equal(t, 0xaa); /* untouched */
	assert_int_equal(a, 0xbb);
}

/* Transport bytes of the probe: what a full quote or an echo carries. */
static size_t probe_l4_len(const struct hw_flow *flow)
{
	return flow->method == HW_METHOD_TCP ? 20 : 8 + HW_PROBE_PAYLOAD;
}

/* What every answer tells about the probe it answers. */
static void check_probe_fields(const struct hw_flow *flow, const struct hw_reply_pkt *r)
{
	assert_int_equal(r->method, flow->method);
	assert_true(hw_addr_eq(&r->probe_dst, &flow->dst));
	assert_int_equal(r->sport, flow->sport);
	assert_int_equal(r->dport, flow->dport);
	assert_true(r->has_instance);
	assert_int_equal(r->instance, flow->instance);
}

/* --- Round trips --- */

static void check_time_exceeded(const struct hw_flow *flow, uint8_t ttl, uint8_t attempt)
{
	struct pkt p;
	struct pkt_opts opts = {.ttl = REPLY_TTL};
	time_exceeded(&p, flow, ttl, attempt, &opts);
	struct hw_reply_pkt r;
	parse_ok(&p, &r);
	int family = flow->dst.family;
	struct hw_addr from = router(family);
	assert_int_equal(r.kind, HW_REPLY_TIME_EXCEEDED);
	assert_true(hw_addr_eq(&r.from, &from));
	assert_int_equal(r.icmp_type, te_type(family));
	assert_int_equal(r.icmp_code, 0);
	assert_int_equal(r.reply_ttl, REPLY_TTL);
	assert_int_equal(r.reply_ipid, family == AF_INET ? 0x4242 : 0);
	assert_true(r.has_quoted_ttl);
	assert_int_equal(r.quoted_ttl, 1);
	assert_int_equal(r.mtu, 0);
	assert_int_equal(r.n_mpls, 0);
	assert_true(hw_addr_eq(&r.probe_src, &flow->src));
	assert_int_equal(r.token, probe_token(ttl, attempt));
	assert_int_equal(r.quoted_len, probe_l4_len(flow));
	check_probe_fields(flow, &r);
	expect_match(flow, &r, ttl, attempt);
	assert_false(reply_from_destination(flow, &r));
}

static void test_time_exceeded(void **state)
{
	(void)state;
	static const uint8_t ttls[] = {1, 5, 64, 255};
	static const uint8_t attempts[] = {0, 2, HW_ATTEMPT_MAX - 1};
	for (size_t m = 0; m < 3; m++) {
		for (size_t f = 0; f < 2; f++) {
			struct hw_flow flow = make_flow(methods[m], families[f], 11);
			for (size_t t = 0; t < sizeof(ttls); t++)
				for (size_t a = 0; a < sizeof(attempts); a++)
					check_time_exceeded(&flow, ttls[t], attempts[a]);
		}
	}
}

/* The quoted TTL is whatever the router wrote there (0 and 1 are both common). */
static void test_quoted_ttl(void **state)
{
	(void)state;
	struct hw_flow flow = make_flow(HW_METHOD_UDP, AF_INET, 0);
	struct pkt p;
	struct pkt_opts opts = {.quoted_ttl = 3};
	time_exceeded(&p, &flow, 9, 0, &opts);
	p.b[pkt_off_quote(&p) + 8] = 0;
	struct hw_reply_pkt r;
	parse_ok(&p, &r);
	assert_true(r.has_quoted_ttl);
	assert_int_equal(r.quoted_ttl, 0);
	expect_match(&flow, &r, 9, 0);
}

static void check_destination(const struct hw_flow *flow, enum hw_reply_kind kind)
{
	struct pkt p;
	assert_int_equal(pkt_answer(&p, flow, 13, 4, kind, NULL), HW_OK);
	struct hw_reply_pkt r;
	parse_ok(&p, &r);
	assert_int_equal(r.kind, kind);
	assert_true(hw_addr_eq(&r.from, &flow->dst));
	assert_true(hw_addr_eq(&r.probe_src, &flow->src));
	assert_int_equal(r.reply_ttl, 64);
	check_probe_fields(flow, &r);
	expect_match(flow, &r, 13, 4);
	assert_true(reply_from_destination(flow, &r));
}

static void test_destination_answers(void **state)
{
	(void)state;
	for (size_t f = 0; f < 2; f++) {
		int family = families[f];
		struct hw_flow udp = make_flow(HW_METHOD_UDP, family, 2);
		struct hw_flow icmp = make_flow(HW_METHOD_ICMP, family, 2);
		struct hw_flow tcp = make_flow(HW_METHOD_TCP, family, 2);
		check_destination(&udp, HW_REPLY_UNREACH);
		check_destination(&icmp, HW_REPLY_ECHO_REPLY);
		check_destination(&icmp, HW_REPLY_UNREACH);
		check_destination(&tcp, HW_REPLY_TCP_RST);
		check_destination(&tcp, HW_REPLY_TCP_SYNACK);
		check_destination(&tcp, HW_REPLY_UNREACH);
	}
}

static void test_destination_details(void **state)
{
	(void)state;
	struct hw_reply_pkt r;
	struct pkt p;
	/* Port unreachable: ICMP type/code, the quote as the destination received it. */
	struct hw_flow udp4 = make_flow(HW_METHOD_UDP, AF_INET, 1);
	assert_int_equal(pkt_answer(&p, &udp4, 7, 0, HW_REPLY_UNREACH, NULL), HW_OK);
	parse_ok(&p, &r);
	assert_int_equal(r.icmp_type, 3);
	assert_int_equal(r.icmp_code, 3);
	assert_int_equal(r.quoted_ttl, 7);
	struct hw_flow udp6 = make_flow(HW_METHOD_UDP, AF_INET6, 1);
	assert_int_equal(pkt_answer(&p, &udp6, 7, 0, HW_REPLY_UNREACH, NULL), HW_OK);
	parse_ok(&p, &r);
	assert_int_equal(r.icmp_type, 1);
	assert_int_equal(r.icmp_code, 4);

	/* Echo reply: the payload comes back, no quoted TTL. */
	for (size_t f = 0; f < 2; f++) {
		struct hw_flow icmp = make_flow(HW_METHOD_ICMP, families[f], 1);
		assert_int_equal(pkt_answer(&p, &icmp, 7, 0, HW_REPLY_ECHO_REPLY, NULL), HW_OK);
		parse_ok(&p, &r);
		assert_int_equal(r.icmp_type, families[f] == AF_INET ? 0 : 129);
		assert_false(r.has_quoted_ttl);
		assert_int_equal(r.quoted_len, 16);
		assert_int_equal(r.token, probe_token(7, 0));
	}

	/* TCP answers carry no ICMP type and quote nothing. */
	struct hw_flow tcp = make_flow(HW_METHOD_TCP, AF_INET6, 1);
	assert_int_equal(pkt_answer(&p, &tcp, 7, 0, HW_REPLY_TCP_SYNACK, NULL), HW_OK);
	parse_ok(&p, &r);
	assert_int_equal(r.icmp_type, 0);
	assert_false(r.has_quoted_ttl);

	/* IPv6 TCP without the receive address: parses, source unchecked. */
	assert_int_equal(reply_parse6(p.b, p.len, IPPROTO_TCP, &p.from, NULL, 60, &r), HW_OK);
	assert_true(hw_addr_is_unset(&r.probe_src));
	assert_int_equal(r.reply_ttl, 60);
	expect_match(&tcp, &r, 7, 0);
	/* A receive address of the wrong family, or none, is ignored. */
	struct hw_addr unset = {0}, v4 = addr("192.0.2.1");
	assert_int_equal(reply_parse6(p.b, p.len, IPPROTO_TCP, &p.from, &unset, 60, &r), HW_OK);
	assert_true(hw_addr_is_unset(&r.probe_src));
	assert_int_equal(reply_parse6(p.b, p.len, IPPROTO_TCP, &p.from, &v4, 60, &r), HW_OK);
	assert_true(hw_addr_is_unset(&r.probe_src));
}

/* RFC 792 routers quote the IP header and 8 bytes: the IP ID still names the instance. */
static void test_quote8(void **state)
{
	(void)state;
	struct pkt_opts opts = {.quote8 = true};
	for (size_t m = 0; m < 3; m++) {
		struct hw_flow flow = make_flow(methods[m], AF_INET, 40);
		struct pkt p;
		time_exceeded(&p, &flow, 6, 1, &opts);
		assert_int_equal(p.len, 20 + 8 + 20 + 8);
		struct hw_reply_pkt r;
		parse_ok(&p, &r);
		assert_int_equal(r.quoted_len, 8);
		check_probe_fields(&flow, &r);
		expect_match(&flow, &r, 6, 1);

		/* The instance really comes from the IP ID (UDP, ICMP) or the sequence (TCP). */
		struct hw_flow other = flow;
		other.instance ^= 1;
		expect_not_ours(&other, &r);
	}
	/* IPv6 UDP / ICMP carry the instance only in the payload: 8 bytes are not enough. */
	for (size_t m = 0; m < 3; m++) {
		struct hw_flow flow = make_flow(methods[m], AF_INET6, 40);
		struct pkt p;
		time_exceeded(&p, &flow, 6, 1, &opts);
		struct hw_reply_pkt r;
		parse_ok(&p, &r);
		if (methods[m] == HW_METHOD_TCP) {
			expect_match(&flow, &r, 6, 1);
		} else {
			assert_false(r.has_instance);
			expect_not_ours(&flow, &r);
		}
	}
}

/* --- Not ours --- */

static void check_not_ours(const struct hw_flow *flow, const struct hw_reply_pkt *r)
{
	int family = flow->dst.family;
	struct hw_flow f = *flow;
	f.instance = (uint16_t)(flow->instance + 1);
	expect_not_ours(&f, r);

	f = make_flow(flow->method, family, (uint16_t)(flow->flow_id + 1)); /* other ports */
	expect_not_ours(&f, r);

	f = *flow;
	f.dport = (uint16_t)(flow->dport + 1);
	if (flow->method != HW_METHOD_ICMP)
		expect_not_ours(&f, r);

	f = *flow;
	f.dst = addr(family == AF_INET ? "198.51.100.8" : "2001:db8:ffff::8");
	expect_not_ours(&f, r);

	f = *flow;
	f.src = addr(family == AF_INET ? "192.0.2.2" : "2001:db8::2");
	expect_not_ours(&f, r);

	f = *flow;
	f.method = flow->method == HW_METHOD_UDP ? HW_METHOD_TCP : HW_METHOD_UDP;
	expect_not_ours(&f, r);

	expect_match(flow, r, 8, 2); /* and the flow itself still matches */
}

static void test_not_ours(void **state)
{
	(void)state;
	for (size_t m = 0; m < 3; m++) {
		for (size_t f = 0; f < 2; f++) {
			struct hw_flow flow = make_flow(methods[m], families[f], 100);
			struct pkt p;
			struct hw_reply_pkt r;
			time_exceeded(&p, &flow, 8, 2, NULL);
			parse_ok(&p, &r);
			check_not_ours(&flow, &r);

			static const enum hw_reply_kind dest[] = {
				HW_REPLY_UNREACH, HW_REPLY_ECHO_REPLY, HW_REPLY_TCP_RST};
			assert_int_equal(pkt_answer(&p, &flow, 8, 2, dest[m], NULL), HW_OK);
			parse_ok(&p, &r);
			check_not_ours(&flow, &r);
		}
	}
}

/* A ping run by somebody else: same identifier by chance, but not our payload. */
static void test_foreign_ping(void **state)
{
	(void)state;
	for (size_t f = 0; f < 2; f++) {
		struct hw_flow flow = make_flow(HW_METHOD_ICMP, families[f], 3);
		uint8_t probe[HW_PROBE_MAXLEN];
		size_t len = build(&flow, 4, 0, probe);
		size_t l4 = families[f] == AF_INET ? 20 : 40;
		/* ping(8)'s payload starts with a timestamp */
		for (size_t i = l4 + 8; i < len; i++)
			probe[i] = (uint8_t)(0x10 + i);
		struct pkt p;
		struct hw_reply_pkt r;
		assert_int_equal(pkt_echo_reply(&p, probe, len, 55), HW_OK);
		parse_ok(&p, &r);
		assert_int_equal(r.kind, HW_REPLY_ECHO_REPLY);
		assert_false(r.has_instance);
		expect_not_ours(&flow, &r);
		/* No instance is not instance 0. */
		struct hw_flow zero = flow;
		zero.instance = 0;
		expect_not_ours(&zero, &r);

		/* A payload-less ping, and one shorter than our payload. */
		for (size_t cut = 0; cut <= 4; cut += 4) {
			assert_int_equal(pkt_echo_reply(&p, probe, l4 + 8 + cut, 55), HW_OK);
			parse_ok(&p, &r);
			assert_false(r.has_instance);
			expect_not_ours(&flow, &r);
		}
	}
}

/* A token naming TTL 0 or attempt 255 was never sent. */
static void test_impossible_tokens(void **state)
{
	(void)state;
	struct hw_flow flow = make_flow(HW_METHOD_TCP, AF_INET, 1);
	static const uint16_t tokens[] = {0x0000, 0x00ff, 0x0001, 0x05ff};
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		struct pkt p;
		struct hw_reply_pkt r;
		assert_int_equal(pkt_answer(&p, &flow, 1, 0, HW_REPLY_TCP_RST, NULL), HW_OK);
		uint32_t ack = ((uint32_t)flow.instance << 16 | tokens[i]) + 1;
		uint8_t *tcp = p.b + pkt_off_l4(&p);
		tcp[8] = (uint8_t)(ack >> 24);
		tcp[9] = (uint8_t)(ack >> 16);
		tcp[10] = (uint8_t)(ack >> 8);
		tcp[11] = (uint8_t)ack;
		pkt_fix_checksums(&p);
		parse_ok(&p, &r);
		assert_int_equal(r.token, tokens[i]);
		expect_not_ours(&flow, &r);
	}
}

/* --- Truncation: every prefix of every answer --- */

struct scenario {
	enum hw_method method;
	int family;
	enum hw_reply_kind kind;
	struct pkt_opts opts;
};

static void scenario_build(const struct scenario *s, struct hw_flow *flow, struct pkt *p)
{
	*flow = make_flow(s->method, s->family, 21);
	if (s->kind != HW_REPLY_TIME_EXCEEDED) {
		assert_int_equal(pkt_answer(p, flow, 9, 3, s->kind, NULL), HW_OK);
		return;
	}
	time_exceeded(p, flow, 9, 3, &s->opts);
}

/* Bytes an answer needs before it may match: headers up to our payload, or up to the TCP seq. */
static size_t needed_for_match(const struct scenario *s)
{
	bool v4 = s->family == AF_INET;
	size_t outer = v4 ? 20 : 0;
	bool tcp = s->method == HW_METHOD_TCP;
	if (s->kind == HW_REPLY_TCP_RST || s->kind == HW_REPLY_TCP_SYNACK)
		return outer + 20;
	if (s->kind == HW_REPLY_ECHO_REPLY)
		return outer + 8 + HW_PROBE_PAYLOAD;
	size_t quote = v4 ? 20 : 40;
	return outer + 8 + quote + 8 + (v4 || tcp ? 0 : HW_PROBE_PAYLOAD);
}

/* Parses the first n bytes from a buffer of exactly n bytes, so ASan sees any overread. */
static int parse_prefix(const struct pkt *p, size_t n, struct hw_reply_pkt *r)
{
	uint8_t *copy = malloc(n);
	assert_true(copy != NULL || n == 0);
	if (n > 0)
		memcpy(copy, p->b, n);
	int rc;
	if (p->family == AF_INET)
		rc = reply_parse4(copy, n, r);
	else
		rc = reply_parse6(copy, n, p->proto, &p->from, &p->to, p->hop_limit, r);
	free(copy);
	return rc;
}

static void check_prefix(const struct scenario *s, const struct hw_flow *flow,
			 const struct pkt *p, size_t n)
{
	struct hw_reply_pkt r;
	int rc = parse_prefix(p, n, &r);
	if (rc != HW_OK) {
		assert_true(rc == HW_ERR_TRUNCATED || rc == HW_ERR_MALFORMED ||
			    rc == HW_ERR_UNSUPPORTED);
		assert_true(n < needed_for_match(s));
		return;
	}
	assert_true(r.n_mpls == 0 || r.n_mpls == s->opts.n_mpls);
	assert_true(r.quoted_len <= n);
	uint8_t t, a;
	rc = reply_match(flow, &r, &t, &a);
	if (n >= needed_for_match(s))
		assert_int_equal(rc, HW_OK);
	if (rc == HW_OK) {
		/* a partial answer may be unusable, never wrong */
		assert_int_equal(t, 9);
		assert_int_equal(a, 3);
	} else {
		assert_int_equal(rc, HW_ERR_NOT_OURS);
	}
}

static void check_truncations(const struct scenario *s)
{
	struct hw_flow flow;
	struct pkt p;
	scenario_build(s, &flow, &p);
	for (size_t n = 0; n <= p.len; n++) {
		check_prefix(s, &flow, &p, n);
		/* The same prefix with the IPv4 total length telling the truth about it. */
		if (p.family == AF_INET && n >= 20) {
			struct pkt cut = p;
			cut.b[2] = (uint8_t)(n >> 8);
			cut.b[3] = (uint8_t)n;
			check_prefix(s, &flow, &cut, n);
		}
	}
	struct hw_reply_pkt r;
	parse_ok(&p, &r);
	assert_int_equal(r.n_mpls, s->opts.n_mpls);
}

static void test_truncated(void **state)
{
	(void)state;
	static const struct hw_mpls_label labels[3] = {{16, 0, 0, 1}, {17, 1, 0, 2}, {18, 2, 1, 3}};
	for (size_t m = 0; m < 3; m++) {
		for (size_t f = 0; f < 2; f++) {
			struct scenario s = {methods[m], families[f], HW_REPLY_TIME_EXCEEDED, {0}};
			check_truncations(&s);
			s.opts.ext = PKT_EXT_RFC4884;
			s.opts.n_mpls = 3;
			memcpy(s.opts.mpls, labels, sizeof(labels));
			check_truncations(&s);
			s.opts.ext = PKT_EXT_COMPAT;
			check_truncations(&s);
			s.opts = (struct pkt_opts){.quote8 = true};
			if (families[f] == AF_INET)
				check_truncations(&s);
			s.opts = (struct pkt_opts){0};
			s.kind = HW_REPLY_UNREACH;
			check_truncations(&s);
			if (methods[m] == HW_METHOD_UDP)
				continue;
			s.kind = methods[m] == HW_METHOD_ICMP ? HW_REPLY_ECHO_REPLY
							      : HW_REPLY_TCP_RST;
			check_truncations(&s);
		}
	}
}

/* --- Malformed headers --- */

static int parse_mutated(const struct pkt *p, size_t off, uint8_t value)
{
	struct pkt q = *p;
	q.b[off] = value;
	struct hw_reply_pkt r;
	return pkt_parse(&q, &r);
}

static void test_malformed4(void **state)
{
	(void)state;
	struct hw_flow flow = make_flow(HW_METHOD_UDP, AF_INET, 0);
	struct pkt p;
	time_exceeded(&p, &flow, 3, 0, NULL);
	size_t q = pkt_off_quote(&p);
	assert_int_equal(parse_mutated(&p, 0, 0x65), HW_ERR_MALFORMED); /* version 6 */
	assert_int_equal(parse_mutated(&p, 0, 0x05), HW_ERR_MALFORMED); /* version 0 */
	assert_int_equal(parse_mutated(&p, 0, 0x44), HW_ERR_MALFORMED); /* IHL 16 bytes */
	assert_int_equal(parse_mutated(&p, 0, 0x40), HW_ERR_MALFORMED); /* IHL 0 */
	assert_int_equal(parse_mutated(&p, 0, 0x4f), HW_ERR_TRUNCATED); /* IHL 60: ICMP cut */
	assert_int_equal(parse_mutated(&p, q, 0x44), HW_ERR_MALFORMED);   /* inner IHL < 5 */
	assert_int_equal(parse_mutated(&p, q, 0x65), HW_ERR_MALFORMED);   /* inner IPv6 */
	assert_int_equal(parse_mutated(&p, q, 0x4f), HW_ERR_TRUNCATED);   /* inner IHL too big */

	/* IHL beyond the buffer. */
	struct pkt t = p;
	t.b[0] = 0x4f;
	t.len = 50;
	struct hw_reply_pkt r;
	assert_int_equal(pkt_parse(&t, &r), HW_ERR_TRUNCATED);
	/* Total length shorter than the header. */
	t = p;
	t.b[2] = 0;
	t.b[3] = 19;
	assert_int_equal(pkt_parse(&t, &r), HW_ERR_MALFORMED);
	t.b[0] = 0x46; /* 24-byte header, total length 22 */
	t.b[3] = 22;
	assert_int_equal(pkt_parse(&t, &r), HW_ERR_MALFORMED);
	t.b[0] = 0x45;
	/* Total length that leaves no room for the ICMP header. */
	t.b[3] = 24;
	assert_int_equal(pkt_parse(&t, &r), HW_ERR_TRUNCATED);
	/* IHL exactly as long as the buffer: no transport left. */
	t = p;
	t.b[0] = 0x46;
	t.len = 24;
	assert_int_equal(pkt_parse(&t, &r), HW_ERR_TRUNCATED);

	/* An outer header with options is skipped by its IHL. */
	struct pkt o = p;
	memmove(o.b + 24, p.b + 20, p.len - 20);
	memset(o.b + 20, 1, 4); /* four NOPs */
	o.b[0] = 0x46;
	o.len = p.len + 4;
	o.b[2] = (uint8_t)(o.len >> 8);
	o.b[3] = (uint8_t)o.len;
	pkt_fix_checksums(&o);
	parse_ok(&o, &r);
	expect_match(&flow, &r, 3, 0);
}

/* A quote whose IP header carries options is read past them. */
static void test_quote_with_options(void **state)
{
	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct hw_flow flow = make_flow(methods[m], AF_INET, 0);
		uint8_t probe[HW_PROBE_MAXLEN + 8];
		size_t len = build(&flow, 12, 1, probe);
		memmove(probe + 28, probe + 20, len - 20);
		memset(probe + 20, 1, 8); /* NOPs */
		probe[0] = 0x47;
		len += 8;
		probe[2] = (uint8_t)(len >> 8);
		probe[3] = (uint8_t)len;
		struct pkt p;
		struct hw_addr from = router(AF_INET);
		assert_int_equal(pkt_icmp_error(&p, probe, len, &from, 11, 0, NULL), HW_OK);
		struct hw_reply_pkt r;
		parse_ok(&p, &r);
		expect_match(&flow, &r, 12, 1);
	}
}

static void test_malformed6(void **state)
{
	(void)state;
	struct hw_flow flow = make_flow(HW_METHOD_ICMP, AF_INET6, 0);
	struct pkt p;
	time_exceeded(&p, &flow, 3, 0, NULL);
	size_t q = pkt_off_quote(&p);
	assert_int_equal(parse_mutated(&p, q, 0x45), HW_ERR_MALFORMED); /* inner IPv4 */
	assert_int_equal(parse_mutated(&p, q, 0x00), HW_ERR_MALFORMED);

	/* A quote shorter than an IPv6 header. */
	struct pkt t = p;
	t.len = 8 + 39;
	struct hw_reply_pkt r;
	assert_int_equal(pkt_parse(&t, &r), HW_ERR_TRUNCATED);
	/* A payload length too short for the transport header. */
	t = p;
	t.b[q + 4] = 0;
	t.b[q + 5] = 7;
	assert_int_equal(pkt_parse(&t, &r), HW_ERR_TRUNCATED);

	/* The receive path's arguments. */
	struct hw_addr v4 = addr("192.0.2.1");
	assert_int_equal(reply_parse6(p.b, p.len, IPPROTO_ICMPV6, NULL, &p.to, 1, &r),
			 HW_ERR_INVAL);
	assert_int_equal(reply_parse6(p.b, p.len, IPPROTO_ICMPV6, &v4, &p.to, 1, &r),
			 HW_ERR_INVAL);
	assert_int_equal(reply_parse6(p.b, p.len, IPPROTO_UDP, &p.from, &p.to, 1, &r),
			 HW_ERR_UNSUPPORTED);
	assert_int_equal(reply_parse6(p.b, p.len, IPPROTO_ICMPV6, &p.from, NULL, -1, &r), HW_OK);
	assert_int_equal(r.reply_ttl, 0);
	assert_int_equal(reply_parse6(p.b, p.len, IPPROTO_ICMPV6, &p.from, NULL, 256, &r), HW_OK);
	assert_int_equal(r.reply_ttl, 0);
	expect_match(&flow, &r, 3, 0);
}

/* --- MPLS extensions (RFC 4884 / 4950) --- */

static void check_labels(const struct hw_reply_pkt *r, const struct pkt_opts *opts)
{
	assert_int_equal(r->n_mpls, opts->n_mpls);
	for (size_t i = 0; i < opts->n_mpls; i++) {
		assert_int_equal(r->mpls[i].label, opts->mpls[i].label);
		assert_int_equal(r->mpls[i].tc, opts->mpls[i].tc);
		assert_int_equal(r->mpls[i].s, opts->mpls[i].s);
		assert_int_equal(r->mpls[i].ttl, opts->mpls[i].ttl);
	}
}

static void check_mpls(enum hw_method method, int family, enum pkt_ext ext, uint8_t n)
{
	static const struct hw_mpls_label labels[] = {
		{0xfffff, 7, 0, 255}, {24001, 0, 0, 1}, {3, 5, 1, 0}};
	struct hw_flow flow = make_flow(method, family, 5);
	struct pkt_opts opts = {.ext = ext, .n_mpls = n};
	memcpy(opts.mpls, labels, sizeof(labels));
	opts.mpls[n - 1].s = 1;
	struct pkt p;
	time_exceeded(&p, &flow, 4, 0, &opts);
	struct hw_reply_pkt r;
	parse_ok(&p, &r);
	check_labels(&r, &opts);
	assert_int_equal(r.quoted_len, probe_l4_len(&flow));
	expect_match(&flow, &r, 4, 0);
}

static void test_mpls(void **state)
{
	(void)state;
	for (size_t m = 0; m < 3; m++) {
		for (size_t f = 0; f < 2; f++) {
			check_mpls(methods[m], families[f], PKT_EXT_RFC4884, 1);
			check_mpls(methods[m], families[f], PKT_EXT_RFC4884, 3);
			check_mpls(methods[m], families[f], PKT_EXT_COMPAT, 1);
			check_mpls(methods[m], families[f], PKT_EXT_COMPAT, 3);
		}
	}
}

/* The helper lays extensions out as RFC 4884 says; the parser is tested against that. */
static void test_mpls_layout(void **state)
{
	(void)state;
	struct hw_flow flow = make_flow(HW_METHOD_UDP, AF_INET, 5);
	struct pkt_opts opts = {.ext = PKT_EXT_RFC4884, .n_mpls = 1,
				.mpls = {{.label = 0x12345, .tc = 5, .s = 1, .ttl = 0xee}}};
	struct pkt p;
	time_exceeded(&p, &flow, 4, 0, &opts);
	size_t icmp = pkt_off_l4(&p);
	assert_int_equal(p.b[icmp + 5], 128 / 4); /* length in 32-bit words */
	assert_int_equal(p.len, 20 + 8 + 128 + 4 + 4 + 4);
	const uint8_t *ext = p.b + icmp + 8 + 128;
	static const uint8_t want[] = {0x20, 0x00, 0, 0, 0x00, 0x08, 0x01, 0x01,
				       0x12, 0x34, 0x5b, 0xee};
	assert_memory_equal(ext, want, 2);
	assert_memory_equal(ext + 4, want + 4, sizeof(want) - 4);
	assert_true(pkt_cksum_ok(NULL, NULL, 0, ext, 12));

	struct hw_flow flow6 = make_flow(HW_METHOD_UDP, AF_INET6, 5);
	time_exceeded(&p, &flow6, 4, 0, &opts);
	assert_int_equal(p.b[4], 128 / 8); /* ICMPv6: 64-bit words, in byte 4 */
	assert_int_equal(p.len, 8 + 128 + 12);

	opts.ext = PKT_EXT_COMPAT;
	time_exceeded(&p, &flow, 4, 0, &opts);
	assert_int_equal(p.b[pkt_off_l4(&p) + 5], 0);
	assert_int_equal(p.len, 20 + 8 + 128 + 12);
}

/* More labels than HW_MPLS_MAX: the first ones are kept, nothing overflows. */
static void test_mpls_many_labels(void **state)
{
	(void)state;
	struct hw_flow flow = make_flow(HW_METHOD_ICMP, AF_INET, 5);
	struct pkt_opts opts = {.ext = PKT_EXT_RFC4884, .n_mpls = HW_MPLS_MAX};
	for (uint32_t i = 0; i < HW_MPLS_MAX; i++)
		opts.mpls[i] = (struct hw_mpls_label){.label = 100 + i, .ttl = (uint8_t)i};
	struct pkt p;
	time_exceeded(&p, &flow, 4, 0, &opts);
	/* Grow the object by two more entries. */
	size_t obj = pkt_off_l4(&p) + 8 + 128 + 4;
	size_t olen = (size_t)(p.b[obj] << 8 | p.b[obj + 1]);
	memset(p.b + p.len, 0x77, 8);
	p.len += 8;
	p.b[obj + 1] = (uint8_t)(olen + 8);
	p.b[2] = (uint8_t)(p.len >> 8);
	p.b[3] = (uint8_t)p.len;
	pkt_fix_checksums(&p);
	struct hw_reply_pkt r;
	parse_ok(&p, &r);
	assert_int_equal(r.n_mpls, HW_MPLS_MAX);
	assert_int_equal(r.mpls[HW_MPLS_MAX - 1].label, 100 + HW_MPLS_MAX - 1);
	expect_match(&flow, &r, 4, 0);
}

/* A non-MPLS object before the label stack is skipped over. */
static void test_mpls_after_other_object(void **state)
{
	(void)state;
	struct hw_flow flow = make_flow(HW_METHOD_UDP, AF_INET6, 5);
	struct pkt_opts opts = {.ext = PKT_EXT_RFC4884, .n_mpls = 2,
				.mpls = {{.label = 1, .ttl = 9}, {.label = 2, .s = 1, .ttl = 8}}};
	struct pkt p;
	time_exceeded(&p, &flow, 4, 0, &opts);
	/*
	 * Insert an RFC 5837 interface-information object (class 2) and an MPLS object of an
	 * unknown c-type (class 1, c-type 2), 8 bytes each: neither holds labels.
	 */
	size_t obj = 8 + 128 + 4;
	memmove(p.b + obj + 16, p.b + obj, p.len - obj);
	static const uint8_t others[] = {0x00, 0x08, 0x02, 0x01, 0x00, 0x00, 0x00, 0x07,
					 0x00, 0x08, 0x01, 0x02, 0x00, 0x06, 0x41, 0xff};
	memcpy(p.b + obj, others, sizeof(others));
	p.len += 16;
	pkt_fix_checksums(&p);
	struct hw_reply_pkt r;
	parse_ok(&p, &r);
	check_labels(&r, &opts);
}

static void expect_no_labels_but_match(const struct hw_flow *flow, const struct pkt *p)
{
	struct hw_reply_pkt r;
	parse_ok(p, &r);
	assert_int_equal(r.n_mpls, 0);
	expect_match(flow, &r, 4, 0);
}

/* A broken extension loses the labels, never the reply. */
static void test_broken_extension(void **state)
{
	(void)state;
	for (size_t f = 0; f < 2; f++) {
		struct hw_flow flow = make_flow(HW_METHOD_UDP, families[f], 5);
		struct pkt_opts opts = {.ext = PKT_EXT_RFC4884, .n_mpls = 2};
		struct pkt p, q;
		time_exceeded(&p, &flow, 4, 0, &opts);
		size_t ext = pkt_off_l4(&p) + 8 + 128;
		size_t obj = ext + 4;
		size_t lenbyte = pkt_off_l4(&p) + (families[f] == AF_INET ? 5 : 4);

		q = p;
		q.b[ext] = 0x10; /* version 1 */
		expect_no_labels_but_match(&flow, &q);
		q = p;
		q.b[obj + 1] = 0; /* object length 0 */
		expect_no_labels_but_match(&flow, &q);
		q = p;
		q.b[obj + 1] = 3; /* shorter than its own header */
		expect_no_labels_but_match(&flow, &q);
		q = p;
		q.b[obj + 1] = 200; /* runs past the packet */
		expect_no_labels_but_match(&flow, &q);
		q = p;
		q.b[obj] = 0xff;
		expect_no_labels_but_match(&flow, &q);
		q = p;
		q.len = obj + 2; /* object header cut */
		expect_no_labels_but_match(&flow, &q);
		q = p;
		q.b[lenbyte] = 200; /* length field beyond the message */
		expect_no_labels_but_match(&flow, &q);
		q = p;
		q.b[lenbyte] = 255;
		expect_no_labels_but_match(&flow, &q);
	}
}

/* A length field shorter than the probe cuts the quote: still parsed within it. */
static void test_short_length_field(void **state)
{
	(void)state;
	struct hw_flow flow = make_flow(HW_METHOD_UDP, AF_INET, 5);
	struct pkt p;
	time_exceeded(&p, &flow, 4, 0, NULL);
	p.b[pkt_off_l4(&p) + 5] = 7; /* 28 bytes: IP header and 8 bytes of UDP */
	struct hw_reply_pkt r;
	parse_ok(&p, &r);
	assert_int_equal(r.quoted_len, 8);
	expect_match(&flow, &r, 4, 0);
	p.b[pkt_off_l4(&p) + 5] = 6; /* 24 bytes: the UDP header is cut */
	assert_int_equal(pkt_parse(&p, &r), HW_ERR_TRUNCATED);
}

/* --- MTU, other ICMP kinds --- */

static void test_mtu(void **state)
{
	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct hw_flow flow4 = make_flow(methods[m], AF_INET, 5);
		struct hw_addr from4 = router(AF_INET);
		struct pkt_opts opts = {.mtu = 1400};
		struct pkt p;
		struct hw_reply_pkt r;
		error_for(&p, &flow4, 6, 2, &from4, 3, 4, &opts);
		parse_ok(&p, &r);
		assert_int_equal(r.kind, HW_REPLY_UNREACH);
		assert_int_equal(r.icmp_code, 4);
		assert_int_equal(r.mtu, 1400);
		expect_match(&flow4, &r, 6, 2);

		/* The same bytes under another code are not an MTU. */
		error_for(&p, &flow4, 6, 2, &from4, 3, 1, &opts);
		parse_ok(&p, &r);
		assert_int_equal(r.mtu, 0);

		struct hw_flow flow6 = make_flow(methods[m], AF_INET6, 5);
		struct hw_addr from6 = router(AF_INET6);
		opts.mtu = 1280;
		error_for(&p, &flow6, 6, 2, &from6, 2, 0, &opts);
		parse_ok(&p, &r);
		assert_int_equal(r.kind, HW_REPLY_PACKET_TOO_BIG);
		assert_int_equal(r.mtu, 1280);
		expect_match(&flow6, &r, 6, 2);
		opts.mtu = 0x10000 + 9000; /* 32 bits in ICMPv6 */
		error_for(&p, &flow6, 6, 2, &from6, 2, 0, &opts);
		parse_ok(&p, &r);
		assert_int_equal(r.mtu, 0x10000 + 9000);
	}
}

static void test_param_problem(void **state)
{
	(void)state;
	for (size_t f = 0; f < 2; f++) {
		struct hw_flow flow = make_flow(HW_METHOD_UDP, families[f], 5);
		struct hw_addr from = router(families[f]);
		struct pkt p;
		struct hw_reply_pkt r;
		error_for(&p, &flow, 6, 2, &from, families[f] == AF_INET ? 12 : 4, 0, NULL);
		parse_ok(&p, &r);
		assert_int_equal(r.kind, HW_REPLY_PARAM_PROBLEM);
		expect_match(&flow, &r, 6, 2);
	}
	/* ICMPv6 has a 32-bit pointer where other errors have the RFC 4884 length. */
	struct hw_flow flow6 = make_flow(HW_METHOD_UDP, AF_INET6, 5);
	struct hw_addr from6 = router(AF_INET6);
	struct pkt p;
	struct hw_reply_pkt r;
	error_for(&p, &flow6, 6, 2, &from6, 4, 0, NULL);
	p.b[4] = 1;
	pkt_fix_checksums(&p);
	parse_ok(&p, &r);
	expect_match(&flow6, &r, 6, 2);
}

static void expect_unsupported(const struct pkt *p)
{
	struct hw_reply_pkt r;
	assert_int_equal(pkt_parse(p, &r), HW_ERR_UNSUPPORTED);
}

static void test_unsupported(void **state)
{
	(void)state;
	static const uint8_t types4[] = {4, 5, 8, 9, 10, 13, 14, 17, 30, 255};
	static const uint8_t types6[] = {0, 5, 127, 128, 130, 133, 134, 135, 136, 137, 255};
	struct hw_flow flow4 = make_flow(HW_METHOD_UDP, AF_INET, 5);
	struct hw_flow flow6 = make_flow(HW_METHOD_UDP, AF_INET6, 5);
	struct hw_addr from4 = router(AF_INET), from6 = router(AF_INET6);
	struct pkt p;
	for (size_t i = 0; i < sizeof(types4); i++) {
		error_for(&p, &flow4, 6, 2, &from4, types4[i], 0, NULL);
		expect_unsupported(&p);
	}
	for (size_t i = 0; i < sizeof(types6); i++) {
		error_for(&p, &flow6, 6, 2, &from6, types6[i], 0, NULL);
		expect_unsupported(&p);
	}

	/* An IPv4 packet of another protocol. */
	error_for(&p, &flow4, 6, 2, &from4, 11, 0, NULL);
	p.b[9] = IPPROTO_UDP;
	expect_unsupported(&p);

	/* Quotes of something we never send: GRE, an ICMP echo reply, ICMPv6 inside IPv4. */
	size_t q = pkt_off_quote(&p);
	error_for(&p, &flow4, 6, 2, &from4, 11, 0, NULL);
	p.b[q + 9] = 47;
	expect_unsupported(&p);
	struct hw_flow icmp4 = make_flow(HW_METHOD_ICMP, AF_INET, 5);
	error_for(&p, &icmp4, 6, 2, &from4, 11, 0, NULL);
	p.b[pkt_off_quote_l4(&p)] = 0;
	expect_unsupported(&p);
	error_for(&p, &icmp4, 6, 2, &from4, 11, 0, NULL);
	p.b[q + 9] = IPPROTO_ICMPV6;
	expect_unsupported(&p);
	struct hw_flow icmp6 = make_flow(HW_METHOD_ICMP, AF_INET6, 5);
	error_for(&p, &icmp6, 6, 2, &from6, 3, 0, NULL);
	p.b[pkt_off_quote(&p) + 6] = IPPROTO_ICMP;
	expect_unsupported(&p);

	/* TCP segments that do not answer a SYN. */
	static const uint8_t flags[] = {0x02, 0x04, 0x10, 0x16, 0x18, 0x00};
	for (size_t f = 0; f < 2; f++) {
		struct hw_flow tcp = make_flow(HW_METHOD_TCP, families[f], 5);
		uint8_t probe[HW_PROBE_MAXLEN];
		size_t len = build(&tcp, 3, 0, probe);
		for (size_t i = 0; i < sizeof(flags); i++) {
			assert_int_equal(pkt_tcp_reply(&p, probe, len, flags[i], 0), HW_OK);
			expect_unsupported(&p);
		}
	}
}

/* --- NAT --- */

/* A NAT between us and the router rewrote the quoted checksum and IP ID: the payload wins. */
static void test_nat_rewritten(void **state)
{
	(void)state;
	for (size_t m = 0; m < 2; m++) { /* UDP and ICMP carry the payload */
		for (size_t f = 0; f < 2; f++) {
			struct hw_flow flow = make_flow(methods[m], families[f], 5);
			struct pkt p;
			time_exceeded(&p, &flow, 17, 5, NULL);
			size_t ql4 = pkt_off_quote_l4(&p);
			size_t ck = ql4 + (methods[m] == HW_METHOD_UDP ? 6 : 2);
			p.b[ck] ^= 0x5a;
			p.b[ck + 1] ^= 0xc3;
			if (families[f] == AF_INET)
				p.b[pkt_off_quote(&p) + 5] ^= 0x99; /* IP ID */
			pkt_fix_checksums(&p);
			struct hw_reply_pkt r;
			parse_ok(&p, &r);
			expect_match(&flow, &r, 17, 5);
			assert_int_equal(r.instance, flow.instance);
		}
	}
}

/* --- The helper itself: answers are well-formed packets --- */

/* Echo replies answer ICMP probes, RST / SYN-ACK answer TCP; errors answer anything. */
static bool kind_fits(enum hw_reply_kind kind, enum hw_method method)
{
	if (kind == HW_REPLY_ECHO_REPLY)
		return method == HW_METHOD_ICMP;
	if (kind == HW_REPLY_TCP_RST || kind == HW_REPLY_TCP_SYNACK)
		return method == HW_METHOD_TCP;
	return true;
}

static void test_helper_checksums(void **state)
{
	(void)state;
	static const enum hw_reply_kind kinds[] = {
		HW_REPLY_TIME_EXCEEDED, HW_REPLY_UNREACH, HW_REPLY_ECHO_REPLY, HW_REPLY_TCP_RST,
		HW_REPLY_TCP_SYNACK};
	for (size_t m = 0; m < 3; m++) {
		for (size_t f = 0; f < 2; f++) {
			struct hw_flow flow = make_flow(methods[m], families[f], 5);
			struct hw_addr from = router(families[f]);
			for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
				struct pkt p;
				int rc = pkt_answer(&p, &flow, 2, 0, kinds[k], &from);
				if (!kind_fits(kinds[k], methods[m])) {
					assert_int_equal(rc, HW_ERR_INVAL);
					continue;
				}
				assert_int_equal(rc, HW_OK);
				size_t l4 = pkt_off_l4(&p);
				bool v4 = families[f] == AF_INET;
				if (v4) {
					assert_true(pkt_cksum_ok(NULL, NULL, 0, p.b, 20));
					assert_int_equal(p.b[2] << 8 | p.b[3], p.len);
					assert_memory_equal(p.b + 16, flow.src.a, 4);
				}
				assert_true(hw_addr_eq(&p.to, &flow.src));
				bool pseudo = !v4 || p.proto != IPPROTO_ICMP;
				assert_true(pkt_cksum_ok(pseudo ? &p.from : NULL, pseudo ? &p.to : NULL,
							 (uint8_t)p.proto, p.b + l4, p.len - l4));
			}
		}
	}
	/* Probes that are not IP, or addresses of the wrong family, are refused. */
	struct pkt p;
	uint8_t junk[40] = {0};
	struct hw_addr from4 = router(AF_INET);
	assert_int_equal(pkt_icmp_error(&p, junk, sizeof(junk), &from4, 11, 0, NULL),
			 HW_ERR_INVAL);
	struct hw_flow flow6 = make_flow(HW_METHOD_UDP, AF_INET6, 5);
	uint8_t probe[HW_PROBE_MAXLEN];
	size_t len = build(&flow6, 1, 0, probe);
	assert_int_equal(pkt_icmp_error(&p, probe, len, &from4, 3, 0, NULL), HW_ERR_INVAL);
	assert_int_equal(pkt_answer(&p, &flow6, 1, 0, HW_REPLY_TIME_EXCEEDED, NULL), HW_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_exceeded),
		cmocka_unit_test(test_quoted_ttl),
		cmocka_unit_test(test_destination_answers),
		cmocka_unit_test(test_destination_details),
		cmocka_unit_test(test_quote8),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_foreign_ping),
		cmocka_unit_test(test_impossible_tokens),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed4),
		cmocka_unit_test(test_quote_with_options),
		cmocka_unit_test(test_malformed6),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_mpls_layout),
		cmocka_unit_test(test_mpls_many_labels),
		cmocka_unit_test(test_mpls_after_other_object),
		cmocka_unit_test(test_broken_extension),
		cmocka_unit_test(test_short_length_field),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_param_problem),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_nat_rewritten),
		cmocka_unit_test(test_helper_checksums),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
