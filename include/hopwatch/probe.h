/*
 * Paris-traceroute probes. A flow is every header field that a load balancer may hash on;
 * every probe of one flow carries exactly the same values there. What differs between
 * probes (TTL and the probe's identity) lives only in fields no balancer hashes:
 *   UDP:  the checksum (steered to the probe token by two payload bytes);
 *   ICMP: the echo sequence number (a payload word keeps the checksum constant);
 *   TCP:  the sequence number (instance << 16 | token).
 * IPv4 probes carry the per-process instance in the IP ID; every probe with a payload
 * (UDP, ICMP) also carries it, with the TTL and attempt, in the payload.
 */
#ifndef HOPWATCH_PROBE_H
#define HOPWATCH_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>

enum hw_method {
	HW_METHOD_UDP = 0,
	HW_METHOD_ICMP = 1,
	HW_METHOD_TCP = 2,
};

/* The first source port (UDP, TCP) or echo identifier (ICMP): flow N uses base + N. */
#define HW_FLOW_BASE 28672
/* Highest flow number (keeps ports below 61440). */
#define HW_FLOW_MAX 32767
/* Default destination ports. */
#define HW_UDP_DPORT 33434
#define HW_TCP_DPORT 80
/* Payload marker: lets a reply's quoted payload be recognised as ours. */
#define HW_PROBE_MAGIC 0x6877 /* "hw" */
/* Payload bytes carried by UDP and ICMP probes. */
#define HW_PROBE_PAYLOAD 8
/* Largest probe probe_build writes. */
#define HW_PROBE_MAXLEN 96
/* Attempts per TTL are numbered 0 .. HW_ATTEMPT_MAX - 1. */
#define HW_ATTEMPT_MAX 255

/* The hashed identity of one flow, plus the per-process instance. */
struct hw_flow {
	enum hw_method method;
	struct hw_addr src, dst;
	uint16_t flow_id;    /* the N of --flow N */
	uint16_t sport;      /* UDP/TCP source port; ICMP echo identifier */
	uint16_t dport;      /* UDP/TCP destination port; 0 for ICMP */
	uint8_t tos;         /* IPv4 TOS or IPv6 traffic class */
	uint32_t flow_label; /* IPv6 flow label (20 bits) */
	uint16_t instance;   /* tells this process's probes from any other's */
};

/* The name of a method ("udp", "icmp", "tcp"). */
const char *hw_method_name(enum hw_method method);

/* Parses "udp", "icmp" or "tcp"; HW_ERR_INVAL otherwise. */
int hw_method_parse(const char *text, enum hw_method *out);

/*
 * Fills a flow for method, addresses and flow number. dport 0 picks the method's default.
 * HW_ERR_INVAL when the addresses differ in family or flow_id > HW_FLOW_MAX.
 */
int probe_flow_init(struct hw_flow *flow, enum hw_method method, const struct hw_addr *src,
		    const struct hw_addr *dst, uint16_t flow_id, uint16_t dport, uint16_t instance);

/* The 16-bit token that names a probe within its flow (never 0 for ttl >= 1). */
uint16_t probe_token(uint8_t ttl, uint8_t attempt);

/* Splits a token back into TTL and attempt. */
void probe_token_split(uint16_t token, uint8_t *ttl, uint8_t *attempt);

/*
 * Writes the probe for (ttl, attempt) of a flow, IP header included, into buf.
 * Returns HW_OK and sets *len, HW_ERR_INVAL for ttl 0 or attempt >= HW_ATTEMPT_MAX,
 * HW_ERR_TRUNCATED when cap is too small.
 */
int probe_build(const struct hw_flow *flow, uint8_t ttl, uint8_t attempt, uint8_t *buf,
		size_t cap, size_t *len);

/* Internet checksum (RFC 1071) of data, continuing from a partial 32-bit sum. */
uint16_t hw_cksum_finish(uint32_t sum);
uint32_t hw_cksum_add(uint32_t sum, const void *data, size_t len);

#endif
