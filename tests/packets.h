/*
 * Test helper: the packets a router or a destination sends back to a probe.
 *
 * Given a probe written by probe_build, the pkt_* builders synthesize the answer exactly
 * as a raw socket would deliver it (struct pkt below), so it can go through reply_parse4 /
 * reply_parse6 like a real one. Everything is built from the probe's own bytes: an ICMP
 * error quotes them, an echo reply echoes them, a TCP answer acknowledges their sequence
 * number. Tests then mutate the bytes (the struct is plain data; the pkt_off_* helpers
 * say where things are) to model NATs, broken routers and truncation.
 *
 * Typical use:
 *	struct pkt p;
 *	pkt_answer(&p, &flow, ttl, attempt, HW_REPLY_TIME_EXCEEDED, &router);
 *	struct hw_reply_pkt r;
 *	assert_int_equal(pkt_parse(&p, &r), HW_OK);
 *
 * Every builder returns HW_OK, HW_ERR_INVAL (a probe that is not IPv4/IPv6, a kind that
 * makes no sense for the probe) or HW_ERR_TRUNCATED (the answer would not fit PKT_MAX).
 */
#ifndef HOPWATCH_TESTS_PACKETS_H
#define HOPWATCH_TESTS_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>
#include <hopwatch/probe.h>
#include <hopwatch/reply.h>

/* Room for an IPv4 header, an ICMP header, a 128-byte padded quote and extensions. */
#define PKT_MAX 512

/* Where RFC 4884 extensions go and how they are announced. */
enum pkt_ext {
	PKT_EXT_NONE = 0, /* plain RFC 792 / 4443 error */
	PKT_EXT_RFC4884,  /* quote zero-padded to 128 bytes, length field set, then extensions */
	PKT_EXT_COMPAT,   /* pre-4884 router: same layout but the length field left at 0 */
};

/* Details of an ICMP error; all-zero gives a plain error quoting the whole probe. */
struct pkt_opts {
	uint8_t ttl;          /* TTL / hop limit of the answer as received; 0 means 64 */
	bool quote8;          /* quote the IP header and only 8 bytes of L4 (RFC 792 minimum) */
	int quoted_ttl;       /* TTL in the quote (1..255); 0: 1 for time-exceeded, else kept */
	uint32_t mtu;         /* next-hop MTU: frag-needed (v4, 16 bits), packet-too-big (v6) */
	enum pkt_ext ext;     /* RFC 4884 extension layout */
	uint8_t n_mpls;       /* with ext: an RFC 4950 MPLS label stack object of these labels */
	struct hw_mpls_label mpls[HW_MPLS_MAX];
};

/*
 * A packet as a raw socket hands it over. IPv4: b starts at the IPv4 header (from / to
 * repeat its addresses). IPv6: b starts at the ICMPv6 or TCP header, and from, to and
 * hop_limit are what recvmsg reports beside it.
 */
struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
	int family;           /* AF_INET or AF_INET6 */
	int proto;            /* IPPROTO_ICMP, IPPROTO_ICMPV6 or IPPROTO_TCP */
	struct hw_addr from, to;
	int hop_limit;
};

/*
 * An ICMP (IPv4 probe) or ICMPv6 (IPv6 probe) error of type/code sent by `from` to the
 * probe's source, quoting the probe; opts may be NULL. Any type is written as asked, so
 * unsupported types can be tested too.
 */
int pkt_icmp_error(struct pkt *out, const uint8_t *probe, size_t probe_len,
		   const struct hw_addr *from, uint8_t type, uint8_t code,
		   const struct pkt_opts *opts);

/* The destination's echo reply to an ICMP echo probe (same id, seq and payload). */
int pkt_echo_reply(struct pkt *out, const uint8_t *probe, size_t probe_len, uint8_t ttl);

/* The destination's TCP answer to a SYN probe: flags is 0x14 (RST-ACK) or 0x12 (SYN-ACK). */
int pkt_tcp_reply(struct pkt *out, const uint8_t *probe, size_t probe_len, uint8_t flags,
		  uint8_t ttl);

/*
 * Builds probe (ttl, attempt) of a flow and the answer of the given kind, with default
 * options (answer TTL 64, whole probe quoted): HW_REPLY_TIME_EXCEEDED from the router
 * `from`; from the flow's destination (`from` ignored, may be NULL): HW_REPLY_UNREACH
 * (port unreachable: ICMP 3/3, ICMPv6 1/4, whatever the method), HW_REPLY_ECHO_REPLY
 * (ICMP flows), HW_REPLY_TCP_RST or HW_REPLY_TCP_SYNACK (TCP flows).
 */
int pkt_answer(struct pkt *out, const struct hw_flow *flow, uint8_t ttl, uint8_t attempt,
	       enum hw_reply_kind kind, const struct hw_addr *from);

/* Feeds the packet to reply_parse4 or reply_parse6, as the receive path would. */
int pkt_parse(const struct pkt *p, struct hw_reply_pkt *out);

/* Offset of the ICMP / ICMPv6 / TCP header in b. */
size_t pkt_off_l4(const struct pkt *p);

/* Offset of the quoted probe's IP header (errors only). */
size_t pkt_off_quote(const struct pkt *p);

/* Offset of the quoted probe's transport header (errors only). */
size_t pkt_off_quote_l4(const struct pkt *p);

/*
 * Recomputes the outer IPv4 header checksum and the ICMP / ICMPv6 / TCP checksum after
 * the bytes were changed. The parser checks neither; this keeps mutated packets realistic.
 */
void pkt_fix_checksums(struct pkt *p);

/* Sets the IPv4 header checksum of the header at ip (a probe or a quote). */
void pkt_ip4_checksum(uint8_t *ip);

/*
 * True when the Internet checksum of data verifies, over the pseudo-header of src, dst and
 * proto (UDP, TCP, ICMPv6) or, with src and dst NULL, over data alone (IPv4 header, ICMP).
 * Computed here, independently of probe.c.
 */
bool pkt_cksum_ok(const struct hw_addr *src, const struct hw_addr *dst, uint8_t proto,
		  const uint8_t *data, size_t len);

#endif
