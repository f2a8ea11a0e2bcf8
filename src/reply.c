/*
 * Parsing of answers to probes. Every read goes through `struct span` (a pointer and the
 * bytes left), so no length field from the network is trusted before it is checked.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/reply.h>
#include <hopwatch/status.h>

#include "bytes.h"

#define IP4_MIN 20
#define IP6_HLEN 40
#define ICMP_HLEN 8
#define TCP_MIN 20
#define EXT_COMPAT_OFFSET 128 /* RFC 4884 §5: where pre-4884 routers put extensions */

struct span {
	const uint8_t *p;
	size_t n;
};

static bool span_has(struct span s, size_t need)
{
	return s.n >= need;
}

static struct span span_from(struct span s, size_t off)
{
	if (off > s.n)
		off = s.n; /* past the end is the empty span at the end */
	return (struct span){s.p + off, s.n - off};
}

static struct span span_cut(struct span s, size_t len)
{
	if (len < s.n)
		s.n = len;
	return s;
}

/* Reads our payload (if it is ours) to recover instance, TTL and attempt. */
static void read_payload(struct span pl, struct hw_reply_pkt *out)
{
	if (!span_has(pl, HW_PROBE_PAYLOAD) || get16(pl.p + 2) != HW_PROBE_MAGIC)
		return;
	/* The payload is the most reliable copy: NATs may rewrite checksums and IP IDs. */
	out->instance = get16(pl.p);
	out->has_instance = true;
	out->token = probe_token(pl.p[4], pl.p[5]);
}

static void parse_mpls(struct span ext, struct hw_reply_pkt *out)
{
	if (!span_has(ext, 4) || (ext.p[0] >> 4) != 2)
		return;
	struct span obj = span_from(ext, 4);
	while (span_has(obj, 4)) {
		size_t olen = get16(obj.p);
		if (olen < 4 || olen > obj.n)
			return; /* a broken object ends the extensions, not the reply */
		if (obj.p[2] == 1 && obj.p[3] == 1) {
			for (size_t off = 4; off + 4 <= olen && out->n_mpls < HW_MPLS_MAX; off += 4) {
				uint32_t v = get32(obj.p + off);
				struct hw_mpls_label *m = &out->mpls[out->n_mpls++];
				m->label = v >> 12;
				m->tc = (uint8_t)((v >> 9) & 7);
				m->s = (uint8_t)((v >> 8) & 1);
				m->ttl = (uint8_t)v;
			}
		}
		obj = span_from(obj, olen);
	}
}

/*
 * Finds RFC 4884 extensions after the quoted datagram. `words` is the length field
 * (in units of `unit` bytes); 0 means a pre-4884 router, which may still append them
 * after a quote padded to 128 bytes.
 */
static void parse_extensions(struct span body, size_t words, size_t unit,
			     struct hw_reply_pkt *out)
{
	size_t quote = words * unit;
	if (quote == 0) {
		if (body.n > EXT_COMPAT_OFFSET + 4)
			parse_mpls(span_from(body, EXT_COMPAT_OFFSET), out);
		return;
	}
	if (quote < body.n)
		parse_mpls(span_from(body, quote), out);
}

/* The transport header of a quoted probe (or of an echo reply). */
static int parse_probe_l4(struct span l4, uint8_t proto, bool v6, struct hw_reply_pkt *out)
{
	if (!span_has(l4, 8))
		return HW_ERR_TRUNCATED;
	out->quoted_len = (uint16_t)(l4.n > 0xffff ? 0xffff : l4.n);
	switch (proto) {
	case IPPROTO_UDP:
		out->method = HW_METHOD_UDP;
		out->sport = get16(l4.p);
		out->dport = get16(l4.p + 2);
		out->token = get16(l4.p + 6);
		read_payload(span_from(l4, 8), out);
		return HW_OK;
	case IPPROTO_TCP: {
		uint32_t seq = get32(l4.p + 4);
		out->method = HW_METHOD_TCP;
		out->sport = get16(l4.p);
		out->dport = get16(l4.p + 2);
		out->token = (uint16_t)seq;
		out->instance = (uint16_t)(seq >> 16);
		out->has_instance = true;
		return HW_OK;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((proto == IPPROTO_ICMPV6) != v6 || l4.p[0] != (v6 ? 128 : 8))
			return HW_ERR_UNSUPPORTED; /* we only send echo requests */
		out->method = HW_METHOD_ICMP;
		out->sport = get16(l4.p + 4);
		out->dport = 0;
		out->token = get16(l4.p + 6);
		read_payload(span_from(l4, 8), out);
		return HW_OK;
	}
	return HW_ERR_UNSUPPORTED;
}

/* An IPv4 datagram quoted in an ICMP error. */
static int parse_quote4(struct span q, struct hw_reply_pkt *out)
{
	if (!span_has(q, IP4_MIN))
		return HW_ERR_TRUNCATED;
	size_t hlen = (size_t)(q.p[0] & 0x0f) * 4;
	if ((q.p[0] >> 4) != 4 || hlen < IP4_MIN)
		return HW_ERR_MALFORMED;
	if (!span_has(q, hlen))
		return HW_ERR_TRUNCATED;
	out->quoted_ttl = q.p[8];
	out->has_quoted_ttl = true;
	out->instance = get16(q.p + 4);
	out->has_instance = true;
	hw_addr_set(&out->probe_src, AF_INET, q.p + 12);
	hw_addr_set(&out->probe_dst, AF_INET, q.p + 16);
	/* Routers may quote more than the probe (padding for extensions): stop at its length. */
	size_t total = get16(q.p + 2);
	struct span l4 = span_from(q, hlen);
	if (total >= hlen)
		l4 = span_cut(l4, total - hlen);
	return parse_probe_l4(l4, q.p[9], false, out);
}

/* An IPv6 datagram quoted in an ICMPv6 error. */
static int parse_quote6(struct span q, struct hw_reply_pkt *out)
{
	if (!span_has(q, IP6_HLEN))
		return HW_ERR_TRUNCATED;
	if ((q.p[0] >> 4) != 6)
		return HW_ERR_MALFORMED;
	out->quoted_ttl = q.p[7];
	out->has_quoted_ttl = true;
	hw_addr_set(&out->probe_src, AF_INET6, q.p + 8);
	hw_addr_set(&out->probe_dst, AF_INET6, q.p + 24);
	struct span l4 = span_cut(span_from(q, IP6_HLEN), get16(q.p + 4));
	return parse_probe_l4(l4, q.p[6], true, out);
}

static enum hw_reply_kind icmp4_kind(uint8_t type)
{
	switch (type) {
	case 0: return HW_REPLY_ECHO_REPLY;
	case 3: return HW_REPLY_UNREACH;
	case 11: return HW_REPLY_TIME_EXCEEDED;
	case 12: return HW_REPLY_PARAM_PROBLEM;
	}
	return HW_REPLY_NONE;
}

static enum hw_reply_kind icmp6_kind(uint8_t type)
{
	switch (type) {
	case 1: return HW_REPLY_UNREACH;
	case 2: return HW_REPLY_PACKET_TOO_BIG;
	case 3: return HW_REPLY_TIME_EXCEEDED;
	case 4: return HW_REPLY_PARAM_PROBLEM;
	case 129: return HW_REPLY_ECHO_REPLY;
	}
	return HW_REPLY_NONE;
}

/* An echo reply: the probe comes back from the destination with its payload. */
static int parse_echo_reply(struct span icmp, bool v6, struct hw_reply_pkt *out)
{
	out->method = HW_METHOD_ICMP;
	out->probe_dst = out->from;
	out->sport = get16(icmp.p + 4);
	out->token = get16(icmp.p + 6);
	out->quoted_len = (uint16_t)(icmp.n > 0xffff ? 0xffff : icmp.n);
	(void)v6;
	read_payload(span_from(icmp, ICMP_HLEN), out);
	return HW_OK;
}

static int parse_icmp(struct span icmp, bool v6, struct hw_reply_pkt *out)
{
	if (!span_has(icmp, ICMP_HLEN))
		return HW_ERR_TRUNCATED;
	out->icmp_type = icmp.p[0];
	out->icmp_code = icmp.p[1];
	out->kind = v6 ? icmp6_kind(icmp.p[0]) : icmp4_kind(icmp.p[0]);
	if (out->kind == HW_REPLY_NONE)
		return HW_ERR_UNSUPPORTED;
	if (out->kind == HW_REPLY_ECHO_REPLY)
		return parse_echo_reply(icmp, v6, out);

	if (!v6 && out->kind == HW_REPLY_UNREACH && out->icmp_code == 4)
		out->mtu = get16(icmp.p + 6);
	if (v6 && out->kind == HW_REPLY_PACKET_TOO_BIG)
		out->mtu = get32(icmp.p + 4);
	struct span body = span_from(icmp, ICMP_HLEN);
	bool has_length_field = out->kind == HW_REPLY_TIME_EXCEEDED ||
				out->kind == HW_REPLY_UNREACH ||
				(!v6 && out->kind == HW_REPLY_PARAM_PROBLEM);
	if (has_length_field) {
		/* RFC 4884: ICMPv4 counts 32-bit words in byte 5, ICMPv6 64-bit words in byte 4. */
		size_t words = v6 ? icmp.p[4] : icmp.p[5];
		parse_extensions(body, words, v6 ? 8 : 4, out);
		if (words != 0)
			body = span_cut(body, words * (v6 ? 8u : 4u));
	}
	return v6 ? parse_quote6(body, out) : parse_quote4(body, out);
}

/* A TCP answer: only RST (with ACK) and SYN-ACK answer a SYN probe. */
static int parse_tcp(struct span tcp, struct hw_reply_pkt *out)
{
	if (!span_has(tcp, TCP_MIN))
		return HW_ERR_TRUNCATED;
	uint8_t flags = tcp.p[13];
	bool ack = flags & 0x10, rst = flags & 0x04, syn = flags & 0x02;
	if (!ack || (rst == syn))
		return HW_ERR_UNSUPPORTED;
	out->kind = rst ? HW_REPLY_TCP_RST : HW_REPLY_TCP_SYNACK;
	out->method = HW_METHOD_TCP;
	out->probe_dst = out->from;
	/* The answer swaps the ports and acknowledges our sequence number + 1. */
	out->sport = get16(tcp.p + 2);
	out->dport = get16(tcp.p);
	uint32_t seq = get32(tcp.p + 8) - 1;
	out->token = (uint16_t)seq;
	out->instance = (uint16_t)(seq >> 16);
	out->has_instance = true;
	out->quoted_len = 0;
	return HW_OK;
}

int reply_parse4(const uint8_t *pkt, size_t len, struct hw_reply_pkt *out)
{
	memset(out, 0, sizeof(*out));
	struct span ip = {pkt, len};
	if (!span_has(ip, IP4_MIN))
		return HW_ERR_TRUNCATED;
	size_t hlen = (size_t)(pkt[0] & 0x0f) * 4;
	if ((pkt[0] >> 4) != 4 || hlen < IP4_MIN)
		return HW_ERR_MALFORMED;
	if (!span_has(ip, hlen))
		return HW_ERR_TRUNCATED;
	size_t total = get16(pkt + 2);
	if (total < hlen)
		return HW_ERR_MALFORMED;
	ip = span_cut(ip, total);
	out->reply_ttl = pkt[8];
	out->reply_ipid = get16(pkt + 4);
	hw_addr_set(&out->from, AF_INET, pkt + 12);
	struct hw_addr to;
	hw_addr_set(&to, AF_INET, pkt + 16);
	struct span l4 = span_from(ip, hlen);
	int rc;
	switch (pkt[9]) {
	case IPPROTO_ICMP:
		rc = parse_icmp(l4, false, out);
		break;
	case IPPROTO_TCP:
		rc = parse_tcp(l4, out);
		break;
	default:
		return HW_ERR_UNSUPPORTED;
	}
	if (rc == HW_OK && (out->kind == HW_REPLY_ECHO_REPLY || out->method == HW_METHOD_TCP) &&
	    out->probe_src.family == 0)
		out->probe_src = to;
	return rc;
}

int reply_parse6(const uint8_t *pkt, size_t len, int proto, const struct hw_addr *from,
		 const struct hw_addr *to, int hop_limit, struct hw_reply_pkt *out)
{
	memset(out, 0, sizeof(*out));
	if (from == NULL || from->family != AF_INET6)
		return HW_ERR_INVAL;
	out->from = *from;
	out->reply_ttl = hop_limit >= 0 && hop_limit <= 255 ? (uint8_t)hop_limit : 0;
	struct span l4 = {pkt, len};
	int rc;
	if (proto == IPPROTO_ICMPV6)
		rc = parse_icmp(l4, true, out);
	else if (proto == IPPROTO_TCP)
		rc = parse_tcp(l4, out);
	else
		return HW_ERR_UNSUPPORTED;
	if (rc == HW_OK && (out->kind == HW_REPLY_ECHO_REPLY || out->method == HW_METHOD_TCP) &&
	    to != NULL && to->family == AF_INET6)
		out->probe_src = *to;
	return rc;
}

int reply_match(const struct hw_flow *flow, const struct hw_reply_pkt *reply, uint8_t *ttl,
		uint8_t *attempt)
{
	if (reply->kind == HW_REPLY_NONE || reply->method != flow->method ||
	    !reply->has_instance || reply->instance != flow->instance ||
	    !hw_addr_eq(&reply->probe_dst, &flow->dst) || reply->sport != flow->sport ||
	    reply->dport != flow->dport)
		return HW_ERR_NOT_OURS;
	/* Echo replies from a host do not tell our source; quotes do and must agree. */
	if (reply->probe_src.family != 0 && !hw_addr_eq(&reply->probe_src, &flow->src))
		return HW_ERR_NOT_OURS;
	uint8_t t, a;
	probe_token_split(reply->token, &t, &a);
	if (t == 0 || a >= HW_ATTEMPT_MAX)
		return HW_ERR_NOT_OURS;
	*ttl = t;
	*attempt = a;
	return HW_OK;
}

bool reply_from_destination(const struct hw_flow *flow, const struct hw_reply_pkt *reply)
{
	return hw_addr_eq(&reply->from, &flow->dst);
}
