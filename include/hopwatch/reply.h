/*
 * Replies to probes: ICMP / ICMPv6 errors quoting a probe, echo replies, TCP answers.
 * Parsing reads every byte through bounds checks and never trusts a length field.
 */
#ifndef HOPWATCH_REPLY_H
#define HOPWATCH_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>
#include <hopwatch/probe.h>

enum hw_reply_kind {
	HW_REPLY_NONE = 0,
	HW_REPLY_TIME_EXCEEDED,
	HW_REPLY_UNREACH,
	HW_REPLY_ECHO_REPLY,
	HW_REPLY_TCP_RST,
	HW_REPLY_TCP_SYNACK,
	HW_REPLY_PARAM_PROBLEM,
	HW_REPLY_PACKET_TOO_BIG,
};

#define HW_MPLS_MAX 8

/* One RFC 4950 MPLS label stack entry. */
struct hw_mpls_label {
	uint32_t label; /* 20 bits */
	uint8_t tc;     /* traffic class (was EXP), 3 bits */
	uint8_t s;      /* bottom of stack */
	uint8_t ttl;
};

/* What one received packet says, and which probe it answers. */
struct hw_reply_pkt {
	enum hw_reply_kind kind;
	struct hw_addr from;     /* who answered */
	uint8_t reply_ttl;       /* TTL / hop limit of the reply as received */
	uint16_t reply_ipid;     /* IPv4 ID of the reply (0 for IPv6) */
	uint8_t icmp_type, icmp_code;
	uint32_t mtu;            /* next-hop MTU of frag-needed / packet-too-big, else 0 */

	/* The probe, as quoted (errors) or echoed (echo reply, TCP). */
	enum hw_method method;
	struct hw_addr probe_src, probe_dst;
	uint16_t sport, dport;   /* ports; ICMP: sport is the echo identifier */
	uint16_t token;          /* see probe.h */
	uint16_t instance;
	bool has_instance;
	uint8_t quoted_ttl;      /* TTL of the probe when the router saw it */
	bool has_quoted_ttl;
	uint16_t quoted_len;     /* bytes of the probe that were quoted or echoed */

	uint8_t n_mpls;
	struct hw_mpls_label mpls[HW_MPLS_MAX];
};

/*
 * Parses a packet read from an IPv4 raw socket (ICMP or TCP), starting at its IP header.
 * HW_ERR_TRUNCATED / HW_ERR_MALFORMED for bad bytes, HW_ERR_UNSUPPORTED for packets that
 * answer no probe (an echo request, an ICMP type we ignore, a TCP packet without RST/SYN-ACK).
 */
int reply_parse4(const uint8_t *pkt, size_t len, struct hw_reply_pkt *out);

/*
 * Parses a packet read from an IPv6 raw socket, which delivers it without the IPv6 header:
 * pkt starts at the ICMPv6 header (proto IPPROTO_ICMPV6) or TCP header (IPPROTO_TCP).
 * from, to and hop_limit come from recvmsg (address and IPV6_HOPLIMIT); to may be NULL
 * for ICMPv6 and must be set for TCP.
 */
int reply_parse6(const uint8_t *pkt, size_t len, int proto, const struct hw_addr *from,
		 const struct hw_addr *to, int hop_limit, struct hw_reply_pkt *out);

/*
 * Checks that a parsed reply answers a probe of this flow and this process (addresses,
 * protocol, ports, instance) and recovers the probe's TTL and attempt.
 * HW_OK on a match, HW_ERR_NOT_OURS otherwise.
 */
int reply_match(const struct hw_flow *flow, const struct hw_reply_pkt *reply, uint8_t *ttl,
		uint8_t *attempt);

/* True when the reply comes from the flow's destination itself (the trace has arrived). */
bool reply_from_destination(const struct hw_flow *flow, const struct hw_reply_pkt *reply);

#endif
