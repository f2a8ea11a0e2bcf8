/*
 * Synthesized answers to probes (see packets.h). The byte layouts follow RFC 792 / 4443
 * (errors and echo), RFC 4884 (extension structure and length field), RFC 4950 (MPLS
 * label stack object) and RFC 793 (a RST or SYN-ACK acknowledges seq + 1). Byte order and
 * checksums are done here without probe.c's helpers so the tests do not trust the code
 * they test.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/status.h>

#include "packets.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define ICMP_HLEN 8
#define TCP_HLEN 20
#define EXT_QUOTE_LEN 128 /* RFC 4884: a quote followed by extensions is padded to this */
#define DEFAULT_TTL 64

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum += i % 2 == 0 ? (uint32_t)p[i] << 8 : p[i];
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t pseudo(const struct hw_addr *src, const struct hw_addr *dst, uint8_t proto,
		       size_t len)
{
	if (src == NULL || dst == NULL)
		return 0;
	uint32_t sum = sum_bytes(0, src->a, hw_addr_len(src));
	sum = sum_bytes(sum, dst->a, hw_addr_len(dst));
	return sum + proto + (uint32_t)len;
}

bool pkt_cksum_ok(const struct hw_addr *src, const struct hw_addr *dst, uint8_t proto,
		  const uint8_t *data, size_t len)
{
	return fold(sum_bytes(pseudo(src, dst, proto, len), data, len)) == 0xffff;
}

/* Writes the checksum at data + off so that the whole verifies. */
static void set_cksum(const struct hw_addr *src, const struct hw_addr *dst, uint8_t proto,
		      uint8_t *data, size_t len, size_t off)
{
	wr16(data + off, 0);
	wr16(data + off, (uint16_t)~fold(sum_bytes(pseudo(src, dst, proto, len), data, len)));
}

void pkt_ip4_checksum(uint8_t *ip)
{
	set_cksum(NULL, NULL, 0, ip, (size_t)(ip[0] & 0x0f) * 4, 10);
}

static int probe_family(const uint8_t *probe, size_t len)
{
	if (len >= IP4_HLEN && probe[0] >> 4 == 4 && (size_t)(probe[0] & 0x0f) * 4 <= len)
		return AF_INET;
	if (len >= IP6_HLEN && probe[0] >> 4 == 6)
		return AF_INET6;
	return 0;
}

/* The probe's source and destination, its transport protocol and transport offset. */
static int probe_split(const uint8_t *probe, size_t len, struct hw_addr *src,
		       struct hw_addr *dst, uint8_t *proto, size_t *l4off)
{
	int family = probe_family(probe, len);
	if (family == AF_INET) {
		hw_addr_set(src, AF_INET, probe + 12);
		hw_addr_set(dst, AF_INET, probe + 16);
		*proto = probe[9];
		*l4off = (size_t)(probe[0] & 0x0f) * 4;
	} else if (family == AF_INET6) {
		hw_addr_set(src, AF_INET6, probe + 8);
		hw_addr_set(dst, AF_INET6, probe + 24);
		*proto = probe[6];
		*l4off = IP6_HLEN;
	}
	return family;
}

static void pkt_init(struct pkt *out, int family, int proto, const struct hw_addr *from,
		     const struct hw_addr *to, uint8_t ttl)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->proto = proto;
	out->from = *from;
	out->to = *to;
	out->hop_limit = ttl != 0 ? ttl : DEFAULT_TTL;
}

/* IPv4 only: the outer header, from `from` to `to`, for l4len bytes of transport. */
static size_t put_ip4(struct pkt *p, size_t l4len)
{
	uint8_t *ip = p->b;
	ip[0] = 0x45;
	ip[1] = 0xc0; /* Linux sends ICMP errors with precedence "internetwork control" */
	wr16(ip + 2, (uint16_t)(IP4_HLEN + l4len));
	wr16(ip + 4, 0x4242);
	wr16(ip + 6, 0);
	ip[8] = (uint8_t)p->hop_limit;
	ip[9] = (uint8_t)p->proto;
	memcpy(ip + 12, p->from.a, 4);
	memcpy(ip + 16, p->to.a, 4);
	pkt_ip4_checksum(ip);
	return IP4_HLEN;
}

size_t pkt_off_l4(const struct pkt *p)
{
	return p->family == AF_INET ? (size_t)(p->b[0] & 0x0f) * 4 : 0;
}

size_t pkt_off_quote(const struct pkt *p)
{
	return pkt_off_l4(p) + ICMP_HLEN;
}

size_t pkt_off_quote_l4(const struct pkt *p)
{
	size_t q = pkt_off_quote(p);
	return p->family == AF_INET ? q + (size_t)(p->b[q] & 0x0f) * 4 : q + IP6_HLEN;
}

void pkt_fix_checksums(struct pkt *p)
{
	size_t l4 = pkt_off_l4(p);
	if (p->family == AF_INET)
		pkt_ip4_checksum(p->b);
	if (l4 >= p->len)
		return;
	size_t off = p->proto == IPPROTO_TCP ? 16 : 2;
	if (p->len - l4 < off + 2)
		return;
	bool pseudo_hdr = p->proto != IPPROTO_ICMP;
	set_cksum(pseudo_hdr ? &p->from : NULL, pseudo_hdr ? &p->to : NULL, (uint8_t)p->proto,
		  p->b + l4, p->len - l4, off);
}

/* Appends an RFC 4884 extension structure holding one RFC 4950 MPLS object. */
static size_t put_extensions(uint8_t *ext, const struct pkt_opts *opts)
{
	size_t n = opts->n_mpls > HW_MPLS_MAX ? HW_MPLS_MAX : opts->n_mpls;
	ext[0] = 2 << 4; /* version 2 */
	size_t len = 4;
	if (n > 0) {
		uint8_t *obj = ext + len;
		wr16(obj, (uint16_t)(4 + 4 * n));
		obj[2] = 1; /* class-num: MPLS label stack */
		obj[3] = 1; /* c-type: incoming stack */
		for (size_t i = 0; i < n; i++) {
			const struct hw_mpls_label *m = &opts->mpls[i];
			uint32_t entry = (m->label & 0xfffff) << 12 | (uint32_t)(m->tc & 7) << 9 |
					 (uint32_t)(m->s & 1) << 8 | m->ttl;
			wr32(obj + 4 + 4 * i, entry);
		}
		len += 4 + 4 * n;
	}
	set_cksum(NULL, NULL, 0, ext, len, 2);
	return len;
}

/* Copies the quoted part of the probe to q; returns the quote's length with padding. */
static size_t put_quote(uint8_t *q, const uint8_t *probe, size_t probe_len, size_t l4off,
			int family, uint8_t type, const struct pkt_opts *opts)
{
	size_t qlen = probe_len;
	if (opts->quote8 && l4off + 8 < qlen)
		qlen = l4off + 8;
	memcpy(q, probe, qlen);
	bool time_exceeded = type == (family == AF_INET ? 11 : 3);
	int ttl = opts->quoted_ttl != 0 ? opts->quoted_ttl : time_exceeded ? 1 : -1;
	if (ttl >= 0)
		q[family == AF_INET ? 8 : 7] = (uint8_t)ttl;
	if (family == AF_INET)
		pkt_ip4_checksum(q);
	if (opts->ext != PKT_EXT_NONE && qlen < EXT_QUOTE_LEN) {
		memset(q + qlen, 0, EXT_QUOTE_LEN - qlen);
		qlen = EXT_QUOTE_LEN;
	}
	return qlen;
}

/* Bytes 4..7 of the ICMP header: RFC 4884 length, MTU. */
static void put_icmp_word(uint8_t *icmp, int family, size_t qlen, const struct pkt_opts *opts)
{
	if (family == AF_INET6 && icmp[0] == 2) {
		wr32(icmp + 4, opts->mtu);
		return;
	}
	if (family == AF_INET && opts->mtu != 0)
		wr16(icmp + 6, (uint16_t)opts->mtu);
	if (opts->ext != PKT_EXT_RFC4884)
		return;
	if (family == AF_INET)
		icmp[5] = (uint8_t)(qlen / 4);
	else
		icmp[4] = (uint8_t)(qlen / 8);
}

int pkt_icmp_error(struct pkt *out, const uint8_t *probe, size_t probe_len,
		   const struct hw_addr *from, uint8_t type, uint8_t code,
		   const struct pkt_opts *opts)
{
	static const struct pkt_opts plain;
	if (opts == NULL)
		opts = &plain;
	struct hw_addr src, dst;
	uint8_t proto;
	size_t l4off;
	int family = probe_split(probe, probe_len, &src, &dst, &proto, &l4off);
	if (family == 0 || from == NULL || from->family != family)
		return HW_ERR_INVAL;
	/* Worst case: IPv4 header, ICMP header, padded quote, extension with every label. */
	size_t quote_max = probe_len > EXT_QUOTE_LEN ? probe_len : EXT_QUOTE_LEN;
	if (IP4_HLEN + ICMP_HLEN + quote_max + 8 + 4 * HW_MPLS_MAX > PKT_MAX)
		return HW_ERR_TRUNCATED;
	int iproto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	pkt_init(out, family, iproto, from, &src, opts->ttl);
	size_t l4 = family == AF_INET ? IP4_HLEN : 0;
	uint8_t *icmp = out->b + l4;
	icmp[0] = type;
	icmp[1] = code;
	size_t qlen = put_quote(icmp + ICMP_HLEN, probe, probe_len, l4off, family, type, opts);
	put_icmp_word(icmp, family, qlen, opts);
	size_t icmp_len = ICMP_HLEN + qlen;
	if (opts->ext != PKT_EXT_NONE)
		icmp_len += put_extensions(icmp + icmp_len, opts);
	out->len = l4 + icmp_len;
	if (family == AF_INET)
		put_ip4(out, icmp_len);
	pkt_fix_checksums(out);
	return HW_OK;
}

int pkt_echo_reply(struct pkt *out, const uint8_t *probe, size_t probe_len, uint8_t ttl)
{
	struct hw_addr src, dst;
	uint8_t proto;
	size_t l4off;
	int family = probe_split(probe, probe_len, &src, &dst, &proto, &l4off);
	bool v4 = family == AF_INET;
	if (family == 0 || proto != (v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6) ||
	    probe_len < l4off + ICMP_HLEN || probe[l4off] != (v4 ? 8 : 128))
		return HW_ERR_INVAL;
	size_t l4 = v4 ? IP4_HLEN : 0;
	size_t icmp_len = probe_len - l4off;
	if (l4 + icmp_len > PKT_MAX)
		return HW_ERR_TRUNCATED;
	pkt_init(out, family, proto, &dst, &src, ttl);
	memcpy(out->b + l4, probe + l4off, icmp_len);
	out->b[l4] = v4 ? 0 : 129; /* echo reply: identifier, sequence and data come back */
	out->len = l4 + icmp_len;
	if (v4)
		put_ip4(out, icmp_len);
	pkt_fix_checksums(out);
	return HW_OK;
}

int pkt_tcp_reply(struct pkt *out, const uint8_t *probe, size_t probe_len, uint8_t flags,
		  uint8_t ttl)
{
	struct hw_addr src, dst;
	uint8_t proto;
	size_t l4off;
	int family = probe_split(probe, probe_len, &src, &dst, &proto, &l4off);
	if (family == 0 || proto != IPPROTO_TCP || probe_len < l4off + TCP_HLEN)
		return HW_ERR_INVAL;
	const uint8_t *syn = probe + l4off;
	size_t l4 = family == AF_INET ? IP4_HLEN : 0;
	pkt_init(out, family, IPPROTO_TCP, &dst, &src, ttl);
	uint8_t *tcp = out->b + l4;
	wr16(tcp, rd16(syn + 2));
	wr16(tcp + 2, rd16(syn));
	wr32(tcp + 4, flags & 0x02 ? 0x5eed0001 : 0); /* a SYN-ACK has its own ISN */
	wr32(tcp + 8, rd32(syn + 4) + 1);             /* the SYN occupies one sequence number */
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	wr16(tcp + 14, flags & 0x02 ? 64240 : 0);
	out->len = l4 + TCP_HLEN;
	if (family == AF_INET)
		put_ip4(out, TCP_HLEN);
	pkt_fix_checksums(out);
	return HW_OK;
}

/* ICMP type and code a router or destination uses for a reply kind. */
static int error_type(enum hw_reply_kind kind, int family, uint8_t *type, uint8_t *code)
{
	bool v4 = family == AF_INET;
	*code = 0;
	if (kind == HW_REPLY_TIME_EXCEEDED) {
		*type = v4 ? 11 : 3;
		return HW_OK;
	}
	if (kind == HW_REPLY_UNREACH) {
		*type = v4 ? 3 : 1;
		*code = v4 ? 3 : 4; /* port unreachable */
		return HW_OK;
	}
	return HW_ERR_INVAL;
}

int pkt_answer(struct pkt *out, const struct hw_flow *flow, uint8_t ttl, uint8_t attempt,
	       enum hw_reply_kind kind, const struct hw_addr *from)
{
	uint8_t probe[HW_PROBE_MAXLEN];
	size_t len;
	int rc = probe_build(flow, ttl, attempt, probe, sizeof(probe), &len);
	if (rc != HW_OK)
		return rc;
	switch (kind) {
	case HW_REPLY_ECHO_REPLY:
		return pkt_echo_reply(out, probe, len, 0);
	case HW_REPLY_TCP_RST:
		return pkt_tcp_reply(out, probe, len, 0x14, 0);
	case HW_REPLY_TCP_SYNACK:
		return pkt_tcp_reply(out, probe, len, 0x12, 0);
	default:
		break;
	}
	uint8_t type, code;
	if (error_type(kind, flow->dst.family, &type, &code) != HW_OK)
		return HW_ERR_INVAL;
	if (kind == HW_REPLY_UNREACH)
		from = &flow->dst;
	return pkt_icmp_error(out, probe, len, from, type, code, NULL);
}

int pkt_parse(const struct pkt *p, struct hw_reply_pkt *out)
{
	if (p->family == AF_INET)
		return reply_parse4(p->b, p->len, out);
	return reply_parse6(p->b, p->len, p->proto, &p->from, &p->to, p->hop_limit, out);
}
