/* Paris-traceroute probe construction (see probe.h for where each value travels). */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/probe.h>
#include <hopwatch/status.h>

#include "bytes.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define UDP_HLEN 8
#define ICMP_HLEN 8
#define TCP_HLEN 20

/* Payload layout shared by UDP and ICMP probes. */
#define PL_INSTANCE 0
#define PL_MAGIC 2
#define PL_TTL 4
#define PL_ATTEMPT 5
#define PL_STEER 6

const char *hw_method_name(enum hw_method method)
{
	switch (method) {
	case HW_METHOD_UDP: return "udp";
	case HW_METHOD_ICMP: return "icmp";
	case HW_METHOD_TCP: return "tcp";
	}
	return "?";
}

int hw_method_parse(const char *text, enum hw_method *out)
{
	static const enum hw_method all[] = {HW_METHOD_UDP, HW_METHOD_ICMP, HW_METHOD_TCP};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(text, hw_method_name(all[i])) == 0) {
			*out = all[i];
			return HW_OK;
		}
	}
	return HW_ERR_INVAL;
}

int probe_flow_init(struct hw_flow *flow, enum hw_method method, const struct hw_addr *src,
		    const struct hw_addr *dst, uint16_t flow_id, uint16_t dport, uint16_t instance)
{
	if (src->family != dst->family || hw_addr_len(dst) == 0 || flow_id > HW_FLOW_MAX)
		return HW_ERR_INVAL;
	memset(flow, 0, sizeof(*flow));
	flow->method = method;
	flow->src = *src;
	flow->dst = *dst;
	flow->flow_id = flow_id;
	flow->sport = (uint16_t)(HW_FLOW_BASE + flow_id);
	if (method == HW_METHOD_ICMP)
		flow->dport = 0;
	else if (dport != 0)
		flow->dport = dport;
	else
		flow->dport = method == HW_METHOD_TCP ? HW_TCP_DPORT : HW_UDP_DPORT;
	/* A non-zero label tied to the flow: balancers that hash it see one value per flow. */
	flow->flow_label = dst->family == AF_INET6 ? flow->sport : 0;
	flow->instance = instance;
	return HW_OK;
}

uint16_t probe_token(uint8_t ttl, uint8_t attempt)
{
	return (uint16_t)(ttl << 8 | attempt);
}

void probe_token_split(uint16_t token, uint8_t *ttl, uint8_t *attempt)
{
	*ttl = (uint8_t)(token >> 8);
	*attempt = (uint8_t)token;
}

uint32_t hw_cksum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (; len >= 2; p += 2, len -= 2)
		sum += get16(p);
	if (len == 1)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t hw_cksum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sum of the pseudo-header that UDP, TCP and ICMPv6 checksums cover. */
static uint32_t pseudo_sum(const struct hw_flow *flow, uint8_t proto, size_t l4len)
{
	size_t alen = hw_addr_len(&flow->src);
	uint32_t sum = hw_cksum_add(0, flow->src.a, alen);
	sum = hw_cksum_add(sum, flow->dst.a, alen);
	return sum + proto + (uint32_t)l4len;
}

/* Sets the steer word so that the checksum field may hold `want` and still verify. */
static void steer_checksum(uint8_t *l4, size_t l4len, size_t cksum_off, size_t steer_off,
			   uint32_t pseudo, uint16_t want)
{
	put16(l4 + cksum_off, want);
	put16(l4 + steer_off, 0);
	/* A valid packet sums to 0xffff; the steer word supplies what is missing. */
	uint16_t partial = (uint16_t)~hw_cksum_finish(hw_cksum_add(pseudo, l4, l4len));
	put16(l4 + steer_off, (uint16_t)~partial);
}

static void write_payload(uint8_t *pl, const struct hw_flow *flow, uint8_t ttl, uint8_t attempt)
{
	put16(pl + PL_INSTANCE, flow->instance);
	put16(pl + PL_MAGIC, HW_PROBE_MAGIC);
	pl[PL_TTL] = ttl;
	pl[PL_ATTEMPT] = attempt;
	put16(pl + PL_STEER, 0);
}

static size_t l4_length(enum hw_method method)
{
	switch (method) {
	case HW_METHOD_UDP: return UDP_HLEN + HW_PROBE_PAYLOAD;
	case HW_METHOD_ICMP: return ICMP_HLEN + HW_PROBE_PAYLOAD;
	case HW_METHOD_TCP: return TCP_HLEN;
	}
	return 0;
}

static uint8_t ip_protocol(const struct hw_flow *flow)
{
	switch (flow->method) {
	case HW_METHOD_UDP: return IPPROTO_UDP;
	case HW_METHOD_TCP: return IPPROTO_TCP;
	case HW_METHOD_ICMP: break;
	}
	return flow->dst.family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
}

static size_t write_ip_header(uint8_t *p, const struct hw_flow *flow, uint8_t ttl, size_t l4len)
{
	uint8_t proto = ip_protocol(flow);
	if (flow->dst.family == AF_INET) {
		p[0] = 0x45;
		p[1] = flow->tos;
		put16(p + 2, (uint16_t)(IP4_HLEN + l4len));
		put16(p + 4, flow->instance); /* the IP ID is quoted by every router */
		put16(p + 6, 0);
		p[8] = ttl;
		p[9] = proto;
		put16(p + 10, 0);
		memcpy(p + 12, flow->src.a, 4);
		memcpy(p + 16, flow->dst.a, 4);
		put16(p + 10, hw_cksum_finish(hw_cksum_add(0, p, IP4_HLEN)));
		return IP4_HLEN;
	}
	put32(p, 6u << 28 | (uint32_t)flow->tos << 20 | (flow->flow_label & 0xfffff));
	put16(p + 4, (uint16_t)l4len);
	p[6] = proto;
	p[7] = ttl;
	memcpy(p + 8, flow->src.a, 16);
	memcpy(p + 24, flow->dst.a, 16);
	return IP6_HLEN;
}

/* ICMP checksum held for the whole flow; differs between flows like their identifiers. */
static uint16_t icmp_flow_checksum(const struct hw_flow *flow)
{
	return (uint16_t)~(flow->sport ^ HW_PROBE_MAGIC);
}

int probe_build(const struct hw_flow *flow, uint8_t ttl, uint8_t attempt, uint8_t *buf,
		size_t cap, size_t *len)
{
	if (ttl == 0 || attempt >= HW_ATTEMPT_MAX || hw_addr_len(&flow->dst) == 0 ||
	    flow->src.family != flow->dst.family)
		return HW_ERR_INVAL;
	size_t l4len = l4_length(flow->method);
	size_t iplen = flow->dst.family == AF_INET ? IP4_HLEN : IP6_HLEN;
	if (l4len == 0)
		return HW_ERR_INVAL;
	if (cap < iplen + l4len)
		return HW_ERR_TRUNCATED;
	memset(buf, 0, iplen + l4len);
	uint8_t *l4 = buf + write_ip_header(buf, flow, ttl, l4len);
	uint16_t token = probe_token(ttl, attempt);
	uint32_t pseudo = pseudo_sum(flow, ip_protocol(flow), l4len);

	switch (flow->method) {
	case HW_METHOD_UDP:
		put16(l4, flow->sport);
		put16(l4 + 2, flow->dport);
		put16(l4 + 4, (uint16_t)l4len);
		write_payload(l4 + UDP_HLEN, flow, ttl, attempt);
		steer_checksum(l4, l4len, 6, UDP_HLEN + PL_STEER, pseudo, token);
		break;
	case HW_METHOD_ICMP:
		l4[0] = flow->dst.family == AF_INET ? 8 : 128; /* echo request */
		put16(l4 + 4, flow->sport);
		put16(l4 + 6, token);
		write_payload(l4 + ICMP_HLEN, flow, ttl, attempt);
		/* ICMPv4 has no pseudo-header. */
		steer_checksum(l4, l4len, 2, ICMP_HLEN + PL_STEER,
			       flow->dst.family == AF_INET ? 0 : pseudo, icmp_flow_checksum(flow));
		break;
	case HW_METHOD_TCP:
		put16(l4, flow->sport);
		put16(l4 + 2, flow->dport);
		put32(l4 + 4, (uint32_t)flow->instance << 16 | token);
		l4[12] = 5 << 4;
		l4[13] = 0x02; /* SYN */
		put16(l4 + 14, 65535);
		put16(l4 + 16, hw_cksum_finish(hw_cksum_add(pseudo, l4, l4len)));
		break;
	}
	*len = iplen + l4len;
	return HW_OK;
}
