/*
 * Unit tests of probe.c: the bytes of every probe, and the Paris property (every header
 * field a load balancer may hash on is constant across the probes of one flow).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/probe.h>
#include <hopwatch/status.h>

#define INSTANCE 0xbeef

static const enum hw_method methods[] = {HW_METHOD_UDP, HW_METHOD_ICMP, HW_METHOD_TCP};
static const int families[] = {AF_INET, AF_INET6};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

/* An Internet checksum written independently of probe.c: the folded sum of 16-bit words. */
static uint16_t folded_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum += i % 2 == 0 ? (uint32_t)p[i] << 8 : p[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* True when data verifies, with the pseudo-header of src/dst when they are given. */
static bool cksum_ok(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto,
		     const uint8_t *data, size_t len)
{
	uint32_t sum = 0;
	if (src != NULL) {
		sum = folded_sum(0, src, alen);
		sum += folded_sum(0, dst, alen);
		sum += proto + (uint32_t)len;
	}
	return folded_sum(sum, data, len) == 0xffff;
}

static struct hw_addr addr(const char *text)
{
	struct hw_addr a;
	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	return a;
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
	assert_true(len > 0 && len <= HW_PROBE_MAXLEN);
	return len;
}

static size_t expected_len(enum hw_method method, int family)
{
	size_t ip = family == AF_INET ? 20 : 40;
	return ip + (method == HW_METHOD_TCP ? 20 : 8 + HW_PROBE_PAYLOAD);
}

static uint8_t expected_proto(enum hw_method method, int family)
{
	if (method == HW_METHOD_UDP)
		return IPPROTO_UDP;
	if (method == HW_METHOD_TCP)
		return IPPROTO_TCP;
	return family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

static void check_ip4(const struct hw_flow *flow, const uint8_t *p, size_t len, uint8_t ttl)
{
	assert_int_equal(p[0], 0x45);
	assert_int_equal(p[1], flow->tos);
	assert_int_equal(rd16(p + 2), len);
	assert_int_equal(rd16(p + 4), flow->instance); /* IP ID */
	assert_int_equal(rd16(p + 6), 0);              /* no DF, no fragment */
	assert_int_equal(p[8], ttl);
	assert_int_equal(p[9], expected_proto(flow->method, AF_INET));
	assert_memory_equal(p + 12, flow->src.a, 4);
	assert_memory_equal(p + 16, flow->dst.a, 4);
	assert_true(cksum_ok(NULL, NULL, 0, 0, p, 20));
}

static void check_ip6(const struct hw_flow *flow, const uint8_t *p, size_t len, uint8_t ttl)
{
	uint32_t w = rd32(p);
	assert_int_equal(w >> 28, 6);
	assert_int_equal((w >> 20) & 0xff, flow->tos);
	assert_int_equal(w & 0xfffff, flow->flow_label);
	assert_int_equal(rd16(p + 4), len - 40);
	assert_int_equal(p[6], expected_proto(flow->method, AF_INET6));
	assert_int_equal(p[7], ttl);
	assert_memory_equal(p + 8, flow->src.a, 16);
	assert_memory_equal(p + 24, flow->dst.a, 16);
}

/* Our 8-byte payload: instance, magic, TTL, attempt, steer word. */
static void check_payload(const struct hw_flow *flow, const uint8_t *pl, uint8_t ttl,
			  uint8_t attempt)
{
	assert_int_equal(rd16(pl), flow->instance);
	assert_int_equal(rd16(pl + 2), HW_PROBE_MAGIC);
	assert_int_equal(pl[4], ttl);
	assert_int_equal(pl[5], attempt);
}

static void check_l4(const struct hw_flow *flow, const uint8_t *l4, size_t l4len, uint8_t ttl,
		     uint8_t attempt)
{
	uint16_t token = probe_token(ttl, attempt);
	switch (flow->method) {
	case HW_METHOD_UDP:
		assert_int_equal(rd16(l4), flow->sport);
		assert_int_equal(rd16(l4 + 2), flow->dport);
		assert_int_equal(rd16(l4 + 4), l4len);
		assert_int_equal(rd16(l4 + 6), token); /* checksum field = token */
		check_payload(flow, l4 + 8, ttl, attempt);
		break;
	case HW_METHOD_ICMP:
		assert_int_equal(l4[0], flow->dst.family == AF_INET ? 8 : 128);
		assert_int_equal(l4[1], 0);
		assert_int_equal(rd16(l4 + 4), flow->sport);
		assert_int_equal(rd16(l4 + 6), token);
		check_payload(flow, l4 + 8, ttl, attempt);
		break;
	case HW_METHOD_TCP:
		assert_int_equal(rd16(l4), flow->sport);
		assert_int_equal(rd16(l4 + 2), flow->dport);
		assert_int_equal(rd32(l4 + 4), (uint32_t)flow->instance << 16 | token);
		assert_int_equal(rd32(l4 + 8), 0);  /* no ACK number */
		assert_int_equal(l4[12], 5 << 4);   /* 20-byte header, no options */
		assert_int_equal(l4[13], 0x02);     /* SYN only */
		assert_int_not_equal(rd16(l4 + 14), 0);
		assert_int_equal(rd16(l4 + 18), 0); /* urgent pointer */
		break;
	}
}

static void check_transport_cksum(const struct hw_flow *flow, const uint8_t *l4, size_t l4len)
{
	size_t alen = hw_addr_len(&flow->dst);
	uint8_t proto = expected_proto(flow->method, flow->dst.family);
	if (proto == IPPROTO_ICMP)
		assert_true(cksum_ok(NULL, NULL, 0, 0, l4, l4len)); /* no pseudo-header */
	else
		assert_true(cksum_ok(flow->src.a, flow->dst.a, alen, proto, l4, l4len));
}

/* Builds (ttl, attempt) and checks every byte we know the meaning of. */
static void check_probe(const struct hw_flow *flow, uint8_t ttl, uint8_t attempt)
{
	uint8_t buf[HW_PROBE_MAXLEN];
	size_t len = build(flow, ttl, attempt, buf);
	int family = flow->dst.family;
	assert_int_equal(len, expected_len(flow->method, family));
	size_t iplen = family == AF_INET ? 20 : 40;
	if (family == AF_INET)
		check_ip4(flow, buf, len, ttl);
	else
		check_ip6(flow, buf, len, ttl);
	check_l4(flow, buf + iplen, len - iplen, ttl, attempt);
	check_transport_cksum(flow, buf + iplen, len - iplen);
}

static void test_fields_every_method(void **state)
{
	(void)state;
	static const uint8_t ttls[] = {1, 2, 17, 64, 128, 255};
	static const uint8_t attempts[] = {0, 1, 9, 200, HW_ATTEMPT_MAX - 1};
	for (size_t m = 0; m < 3; m++) {
		for (size_t f = 0; f < 2; f++) {
			struct hw_flow flow = make_flow(methods[m], families[f], 5);
			flow.tos = 0x28;
			for (size_t t = 0; t < sizeof(ttls); t++)
				for (size_t a = 0; a < sizeof(attempts); a++)
					check_probe(&flow, ttls[t], attempts[a]);
		}
	}
}

/* Every token the UDP checksum can be steered to still gives a valid checksum. */
static void test_udp_checksum_is_token(void **state)
{
	(void)state;
	for (size_t f = 0; f < 2; f++) {
		struct hw_flow flow = make_flow(HW_METHOD_UDP, families[f], 1234);
		for (unsigned ttl = 1; ttl <= 255; ttl++) {
			for (unsigned a = 0; a < HW_ATTEMPT_MAX; a += 23) {
				uint8_t buf[HW_PROBE_MAXLEN];
				size_t len = build(&flow, (uint8_t)ttl, (uint8_t)a, buf);
				size_t ip = families[f] == AF_INET ? 20 : 40;
				uint16_t token = probe_token((uint8_t)ttl, (uint8_t)a);
				assert_int_equal(rd16(buf + ip + 6), token);
				check_transport_cksum(&flow, buf + ip, len - ip);
			}
		}
	}
}

/* The ICMP checksum is one value per flow, whatever the TTL and attempt. */
static void test_icmp_checksum_constant(void **state)
{
	(void)state;
	for (size_t f = 0; f < 2; f++) {
		struct hw_flow flow = make_flow(HW_METHOD_ICMP, families[f], 77);
		size_t ip = families[f] == AF_INET ? 20 : 40;
		uint8_t buf[HW_PROBE_MAXLEN];
		build(&flow, 1, 0, buf);
		uint16_t first = rd16(buf + ip + 2);
		for (unsigned ttl = 1; ttl <= 255; ttl++) {
			for (unsigned a = 0; a < HW_ATTEMPT_MAX; a += 7) {
				size_t len = build(&flow, (uint8_t)ttl, (uint8_t)a, buf);
				assert_int_equal(rd16(buf + ip + 2), first);
				check_transport_cksum(&flow, buf + ip, len - ip);
			}
		}
	}
}

/* --- The Paris property over random flows --- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible, so a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

static struct hw_addr random_addr(int family)
{
	uint8_t b[16];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)rnd();
	struct hw_addr a;
	hw_addr_set(&a, family, b);
	return a;
}

#define KEY_MAX 64

/* The bytes of a probe that ECMP / per-flow load balancers may hash on. */
static size_t flow_key(const struct hw_flow *flow, const uint8_t *p, uint8_t *key)
{
	size_t n = 0;
	const uint8_t *l4;
	if (flow->dst.family == AF_INET) {
		key[n++] = p[1];                 /* TOS */
		memcpy(key + n, p + 2, 2);       /* total length */
		n += 2;
		key[n++] = p[9];                 /* protocol */
		memcpy(key + n, p + 12, 8);      /* source, destination */
		n += 8;
		l4 = p + 20;
	} else {
		key[n++] = (uint8_t)(p[0] & 0x0f); /* traffic class and flow label */
		memcpy(key + n, p + 1, 3);
		n += 3;
		memcpy(key + n, p + 4, 3);       /* payload length, next header */
		n += 3;
		memcpy(key + n, p + 8, 32);      /* source, destination */
		n += 32;
		l4 = p + 40;
	}
	memcpy(key + n, l4, 4);                  /* ports; ICMP type, code, checksum */
	n += 4;
	if (flow->method == HW_METHOD_ICMP) {
		memcpy(key + n, l4 + 4, 2);      /* echo identifier */
		n += 2;
	}
	return n;
}

static struct hw_flow random_flow(void)
{
	enum hw_method method = methods[rnd() % 3];
	int family = families[rnd() % 2];
	struct hw_addr src = random_addr(family), dst = random_addr(family);
	uint16_t flow_id = (uint16_t)(rnd() % (HW_FLOW_MAX + 1));
	uint16_t dport = rnd() % 2 ? 0 : (uint16_t)rnd();
	struct hw_flow flow;
	assert_int_equal(probe_flow_init(&flow, method, &src, &dst, flow_id, dport,
					 (uint16_t)rnd()), HW_OK);
	flow.tos = (uint8_t)rnd();
	return flow;
}

/* Every probe (TTL 1..64, attempt 0..9) of the flow has the key of its first probe. */
static void check_flow_constant(const struct hw_flow *flow, uint8_t *key0, size_t *n0)
{
	uint8_t buf[HW_PROBE_MAXLEN], key[KEY_MAX];
	build(flow, 1, 0, buf);
	*n0 = flow_key(flow, buf, key0);
	for (unsigned ttl = 1; ttl <= 64; ttl++) {
		for (unsigned a = 0; a < 10; a++) {
			build(flow, (uint8_t)ttl, (uint8_t)a, buf);
			size_t n = flow_key(flow, buf, key);
			assert_int_equal(n, *n0);
			if (memcmp(key, key0, n) != 0)
				fail_msg("flow %u (%s) changes hashed fields at ttl %u attempt %u",
					 flow->flow_id, hw_method_name(flow->method), ttl, a);
		}
	}
}

static void test_paris_property(void **state)
{
	(void)state;
	for (int i = 0; i < 300; i++) {
		struct hw_flow flow = random_flow();
		uint8_t key[KEY_MAX], other_key[KEY_MAX];
		size_t n, other_n;
		check_flow_constant(&flow, key, &n);

		/* Another flow number between the same hosts must look different to a balancer. */
		struct hw_flow other;
		uint16_t other_id = (uint16_t)((flow.flow_id + 1 + rnd() % HW_FLOW_MAX) %
					       (HW_FLOW_MAX + 1));
		int rc = probe_flow_init(&other, flow.method, &flow.src, &flow.dst, other_id,
					 flow.dport, flow.instance);
		assert_int_equal(rc, HW_OK);
		other.tos = flow.tos;
		check_flow_constant(&other, other_key, &other_n);
		assert_int_equal(n, other_n);
		if (memcmp(key, other_key, n) == 0)
			fail_msg("flows %u and %u hash alike", flow.flow_id, other_id);
	}
}

/* The instance does not change the flow (two processes tracing one flow see one path). */
static void test_instance_not_hashed(void **state)
{
	(void)state;
	for (size_t m = 0; m < 3; m++) {
		for (size_t f = 0; f < 2; f++) {
			struct hw_flow a = make_flow(methods[m], families[f], 9);
			struct hw_flow b = a;
			b.instance = (uint16_t)(a.instance + 1);
			uint8_t pa[HW_PROBE_MAXLEN], pb[HW_PROBE_MAXLEN], ka[KEY_MAX], kb[KEY_MAX];
			build(&a, 3, 1, pa);
			build(&b, 3, 1, pb);
			size_t n = flow_key(&a, pa, ka);
			assert_int_equal(flow_key(&b, pb, kb), n);
			assert_memory_equal(ka, kb, n);
		}
	}
}

/* Probes of one flow are told apart: no two (ttl, attempt) share an identity. */
static void test_tokens_distinct(void **state)
{
	(void)state;
	static uint8_t seen[65536];
	memset(seen, 0, sizeof(seen));
	for (unsigned ttl = 1; ttl <= 255; ttl++) {
		for (unsigned a = 0; a < HW_ATTEMPT_MAX; a++) {
			uint16_t t = probe_token((uint8_t)ttl, (uint8_t)a);
			assert_int_not_equal(t, 0);
			assert_int_equal(seen[t], 0);
			seen[t] = 1;
			uint8_t tt, aa;
			probe_token_split(t, &tt, &aa);
			assert_int_equal(tt, ttl);
			assert_int_equal(aa, a);
		}
	}
}

/* --- Arguments --- */

static void test_invalid_args(void **state)
{
	(void)state;
	uint8_t buf[HW_PROBE_MAXLEN + 8];
	size_t len = 12345;
	for (size_t m = 0; m < 3; m++) {
		for (size_t f = 0; f < 2; f++) {
			struct hw_flow flow = make_flow(methods[m], families[f], 0);
			size_t need = expected_len(methods[m], families[f]);
			size_t cap = sizeof(buf);
			assert_int_equal(probe_build(&flow, 0, 0, buf, cap, &len), HW_ERR_INVAL);
			assert_int_equal(probe_build(&flow, 1, HW_ATTEMPT_MAX, buf, cap, &len),
					 HW_ERR_INVAL);
			assert_int_equal(probe_build(&flow, 1, 0, buf, need - 1, &len),
					 HW_ERR_TRUNCATED);
			assert_int_equal(probe_build(&flow, 1, 0, buf, 0, &len), HW_ERR_TRUNCATED);
			assert_int_equal(len, 12345); /* untouched on error */

			/* Exactly enough room works and writes nothing past the probe. */
			memset(buf, 0xa5, sizeof(buf));
			assert_int_equal(probe_build(&flow, 1, 0, buf, need, &len), HW_OK);
			assert_int_equal(len, need);
			for (size_t i = need; i < sizeof(buf); i++)
				assert_int_equal(buf[i], 0xa5);
			len = 12345;
		}
	}
}

static void test_invalid_flows(void **state)
{
	(void)state;
	struct hw_addr v4 = addr("192.0.2.1"), v6 = addr("2001:db8::1"), unset;
	memset(&unset, 0, sizeof(unset));
	struct hw_flow flow;
	assert_int_equal(probe_flow_init(&flow, HW_METHOD_UDP, &v4, &v6, 0, 0, 1), HW_ERR_INVAL);
	assert_int_equal(probe_flow_init(&flow, HW_METHOD_UDP, &v6, &v4, 0, 0, 1), HW_ERR_INVAL);
	assert_int_equal(probe_flow_init(&flow, HW_METHOD_UDP, &unset, &unset, 0, 0, 1),
			 HW_ERR_INVAL);
	assert_int_equal(probe_flow_init(&flow, HW_METHOD_UDP, &v4, &v4, HW_FLOW_MAX + 1, 0, 1),
			 HW_ERR_INVAL);
	assert_int_equal(probe_flow_init(&flow, HW_METHOD_UDP, &v4, &v4, HW_FLOW_MAX, 0, 1),
			 HW_OK);
	assert_true(flow.sport >= HW_FLOW_BASE && flow.sport < 61440);

	/* A flow edited by hand into mixed families is refused by probe_build too. */
	uint8_t buf[HW_PROBE_MAXLEN];
	size_t len;
	for (size_t m = 0; m < 3; m++) {
		flow = make_flow(methods[m], AF_INET, 1);
		flow.src = v6;
		assert_int_equal(probe_build(&flow, 1, 0, buf, sizeof(buf), &len), HW_ERR_INVAL);
		flow = make_flow(methods[m], AF_INET6, 1);
		flow.src = v4;
		assert_int_equal(probe_build(&flow, 1, 0, buf, sizeof(buf), &len), HW_ERR_INVAL);
		flow.src = unset;
		flow.dst = unset;
		assert_int_equal(probe_build(&flow, 1, 0, buf, sizeof(buf), &len), HW_ERR_INVAL);
	}
	flow = make_flow(HW_METHOD_UDP, AF_INET, 1);
	flow.method = (enum hw_method)7;
	assert_int_equal(probe_build(&flow, 1, 0, buf, sizeof(buf), &len), HW_ERR_INVAL);
}

static void test_flow_init(void **state)
{
	(void)state;
	struct hw_flow f = make_flow(HW_METHOD_UDP, AF_INET, 3);
	assert_int_equal(f.sport, HW_FLOW_BASE + 3);
	assert_int_equal(f.dport, HW_UDP_DPORT);
	assert_int_equal(f.flow_label, 0);
	assert_int_equal(f.instance, INSTANCE);
	f = make_flow(HW_METHOD_TCP, AF_INET6, 3);
	assert_int_equal(f.dport, HW_TCP_DPORT);
	assert_int_not_equal(f.flow_label, 0);
	assert_int_equal(f.flow_label & ~0xfffffu, 0);
	f = make_flow(HW_METHOD_ICMP, AF_INET, 3);
	assert_int_equal(f.dport, 0);
	assert_int_equal(f.sport, HW_FLOW_BASE + 3);

	/* An explicit port wins, except for ICMP which has none. */
	struct hw_addr s = addr("192.0.2.1"), d = addr("192.0.2.2");
	assert_int_equal(probe_flow_init(&f, HW_METHOD_TCP, &s, &d, 0, 443, 1), HW_OK);
	assert_int_equal(f.dport, 443);
	assert_int_equal(probe_flow_init(&f, HW_METHOD_ICMP, &s, &d, 0, 443, 1), HW_OK);
	assert_int_equal(f.dport, 0);

	/* Flow labels differ between flows, like ports. */
	struct hw_flow a = make_flow(HW_METHOD_UDP, AF_INET6, 1);
	struct hw_flow b = make_flow(HW_METHOD_UDP, AF_INET6, 2);
	assert_int_not_equal(a.flow_label, b.flow_label);
}

static void test_method_names(void **state)
{
	(void)state;
	enum hw_method m;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(hw_method_parse(hw_method_name(methods[i]), &m), HW_OK);
		assert_int_equal(m, methods[i]);
	}
	assert_string_equal(hw_method_name(HW_METHOD_ICMP), "icmp");
	assert_int_equal(hw_method_parse("UDP", &m), HW_ERR_INVAL);
	assert_int_equal(hw_method_parse("", &m), HW_ERR_INVAL);
	assert_int_equal(hw_method_parse("tcpx", &m), HW_ERR_INVAL);
	assert_string_equal(hw_method_name((enum hw_method)9), "?");
}

/* RFC 1071 §3's worked example, and an odd length. */
static void test_cksum(void **state)
{
	(void)state;
	static const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(hw_cksum_finish(hw_cksum_add(0, data, sizeof(data))), (uint16_t)~0xddf2);
	static const uint8_t odd[] = {0x01, 0x02, 0x03};
	assert_int_equal(hw_cksum_finish(hw_cksum_add(0, odd, sizeof(odd))),
			 (uint16_t)~(0x0102 + 0x0300));
	assert_int_equal(hw_cksum_finish(0), 0xffff);
	/* Carries fold back in: 0xffff + 0x0001 = 0x0001 in ones' complement. */
	assert_int_equal(hw_cksum_finish(0x10000), (uint16_t)~1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_every_method),
		cmocka_unit_test(test_udp_checksum_is_token),
		cmocka_unit_test(test_icmp_checksum_constant),
		cmocka_unit_test(test_paris_property),
		cmocka_unit_test(test_instance_not_hashed),
		cmocka_unit_test(test_tokens_distinct),
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_invalid_flows),
		cmocka_unit_test(test_flow_init),
		cmocka_unit_test(test_method_names),
		cmocka_unit_test(test_cksum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
