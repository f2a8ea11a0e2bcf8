// fuzz-sources: src/reply.c src/probe.c src/addr.c src/status.c
/*
 * libFuzzer target for reply_parse4 / reply_parse6 and reply_match (run by tools/fuzz).
 *
 * Input: a 6-byte header telling how the packet was received, then the packet.
 *   byte 0   bit 0: IPv6 (else IPv4, the packet starts at the IP header)
 *            bit 1: IPv6 only, the socket is IPPROTO_TCP (else IPPROTO_ICMPV6)
 *            bits 2-3: method of the flow to match against (0 udp, 1 icmp, 2 tcp, 3 udp)
 *            bit 4: IPv6 only, the sender is the destination (else a router)
 *            bit 5: IPv6 only, no receive address (to = NULL)
 *   bytes 1-2 flow number (15 bits), bytes 3-4 instance, byte 5 hop limit.
 * The addresses are fixed (the seeds in fuzz/corpus/reply use the same ones), so replies
 * to real probes reach reply_match's success path. Besides memory errors, it traps when
 * a parsed or matched reply breaks what reply.h promises.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <hopwatch/probe.h>
#include <hopwatch/reply.h>
#include <hopwatch/status.h>

#define HDR 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t src4[4] = {192, 0, 2, 1}, dst4[4] = {198, 51, 100, 7};
static const uint8_t src6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t dst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 7};
static const uint8_t router6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, [15] = 9};

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

static bool known_status(int rc)
{
	return rc == HW_OK || rc == HW_ERR_TRUNCATED || rc == HW_ERR_MALFORMED ||
	       rc == HW_ERR_UNSUPPORTED || rc == HW_ERR_INVAL;
}

/* A match must name a probe we could have sent, and agree with the reply's token. */
static void try_match(const struct hw_flow *flow, const struct hw_reply_pkt *r)
{
	uint8_t ttl = 0, attempt = 0;
	int rc = reply_match(flow, r, &ttl, &attempt);
	CHECK(rc == HW_OK || rc == HW_ERR_NOT_OURS);
	(void)reply_from_destination(flow, r);
	if (rc != HW_OK)
		return;
	CHECK(ttl >= 1 && attempt < HW_ATTEMPT_MAX);
	CHECK(probe_token(ttl, attempt) == r->token);
	CHECK(r->has_instance && r->instance == flow->instance);
	uint8_t probe[HW_PROBE_MAXLEN];
	size_t len;
	CHECK(probe_build(flow, ttl, attempt, probe, sizeof(probe), &len) == HW_OK);
}

/* The flow the reply claims to answer, when that is a flow we could have built. */
static void match_own_flow(const struct hw_reply_pkt *r)
{
	struct hw_flow flow;
	uint16_t id = (uint16_t)(r->sport - HW_FLOW_BASE);
	if (r->sport < HW_FLOW_BASE || id > HW_FLOW_MAX || hw_addr_is_unset(&r->probe_dst))
		return;
	const struct hw_addr *src = hw_addr_is_unset(&r->probe_src) ? &r->probe_dst : &r->probe_src;
	if (probe_flow_init(&flow, r->method, src, &r->probe_dst, id, r->dport, r->instance) !=
	    HW_OK)
		return;
	try_match(&flow, r);
}

static int parse(const uint8_t *data, size_t size, struct hw_addr *src, struct hw_addr *dst,
		 struct hw_reply_pkt *r)
{
	uint8_t flags = data[0];
	const uint8_t *pkt = data + HDR;
	size_t len = size - HDR;
	if (!(flags & 1)) {
		hw_addr_set(src, AF_INET, src4);
		hw_addr_set(dst, AF_INET, dst4);
		return reply_parse4(pkt, len, r);
	}
	hw_addr_set(src, AF_INET6, src6);
	hw_addr_set(dst, AF_INET6, dst6);
	struct hw_addr from;
	hw_addr_set(&from, AF_INET6, flags & 0x10 ? dst6 : router6);
	int proto = flags & 2 ? IPPROTO_TCP : IPPROTO_ICMPV6;
	return reply_parse6(pkt, len, proto, &from, flags & 0x20 ? NULL : src, data[5], r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	struct hw_addr src, dst;
	struct hw_reply_pkt r;
	int rc = parse(data, size, &src, &dst, &r);
	CHECK(known_status(rc));
	if (rc != HW_OK)
		return 0;
	CHECK(r.kind != HW_REPLY_NONE);
	CHECK(r.n_mpls <= HW_MPLS_MAX);
	CHECK(r.quoted_len <= size - HDR);
	CHECK(r.from.family == src.family);

	static const enum hw_method methods[] = {HW_METHOD_UDP, HW_METHOD_ICMP, HW_METHOD_TCP,
						 HW_METHOD_UDP};
	struct hw_flow flow;
	uint16_t id = (uint16_t)((data[1] << 8 | data[2]) & HW_FLOW_MAX);
	uint16_t instance = (uint16_t)(data[3] << 8 | data[4]);
	CHECK(probe_flow_init(&flow, methods[(data[0] >> 2) & 3], &src, &dst, id, 0, instance) ==
	      HW_OK);
	try_match(&flow, &r);
	match_own_flow(&r);
	return 0;
}
