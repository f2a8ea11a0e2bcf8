/*
 * The Team Cymru IP-to-ASN DNS format: the names to ask and the TXT answers, parsed.
 *
 *   1.3.18.198.origin.asn.cymru.com     TXT "4837 | 198.18.0.0/15 | CN | apnic | 2008-01-01"
 *   (IPv6: reversed nibbles under origin6.asn.cymru.com; several origins "4837 4808 | ...")
 *   AS4837.asn.cymru.com                TXT "4837 | CN | apnic | 2000-01-01 | CHINA169-BACKBONE ..."
 *
 * The answers are bytes from the network: every function here checks them and refuses
 * what does not fit (HW_ERR_MALFORMED). Pure: no network, no globals, no allocation.
 */
#ifndef HOPWATCH_CYMRU_H
#define HOPWATCH_CYMRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>
#include <hopwatch/run.h>

/* The default zone; the origin names live under origin.ZONE / origin6.ZONE, AS names
 * under ASnnn.ZONE. */
#define CYMRU_ZONE "asn.cymru.com"

/* Room for any query name (a DNS name is at most 253 characters). */
#define CYMRU_QNAME_LEN 256

/* Room for an AS name as kept (longer ones are cut at a character boundary). */
#define CYMRU_ASNAME_LEN 128

/* What one origin record says. */
struct hw_cymru_origin {
	uint32_t origins[HW_ORIGINS_MAX]; /* distinct, in the record's order */
	unsigned n_origins;               /* >= 1 */
	struct hw_addr prefix;            /* the announced prefix (host bits as written) */
	unsigned prefix_len;
	char cc[3];                       /* country code, "" when absent */
};

/*
 * Whether zone is usable: 1..200 characters of letters, digits, '-', '_' and '.', no
 * empty label, no leading or trailing dot.
 */
bool cymru_zone_ok(const char *zone);

/*
 * The name whose TXT record gives addr's origin: "d.c.b.a.origin.ZONE" for IPv4,
 * 32 reversed nibbles ".origin6.ZONE" for IPv6. HW_ERR_INVAL for an unset address, a bad
 * zone or a buffer too short.
 */
int cymru_origin_qname(const struct hw_addr *addr, const char *zone, char *buf, size_t len);

/* The name whose TXT record names an AS: "AS4837.ZONE". Errors as cymru_origin_qname. */
int cymru_asname_qname(uint32_t asn, const char *zone, char *buf, size_t len);

/*
 * Parses one origin record, "ASN[ ASN...] | PREFIX/LEN [| CC [| REGISTRY [| DATE]]]".
 * ASNs are 1..4294967295 in decimal; more than HW_ORIGINS_MAX distinct ones are cut.
 * HW_OK or HW_ERR_MALFORMED (out is then zeroed).
 */
int cymru_parse_origin(const unsigned char *text, size_t len, struct hw_cymru_origin *out);

/*
 * The origin of addr from the records of one answer: the record with the longest prefix
 * covering addr wins, and the origins of records with that same prefix length are
 * merged. Records that do not parse or do not cover addr are skipped. HW_OK, or
 * HW_ERR_MALFORMED when no record is usable.
 */
int cymru_pick_origin(const unsigned char *const *texts, const size_t *lens, size_t n,
		      const struct hw_addr *addr, struct hw_cymru_origin *out);

/*
 * Parses one AS-name record, "ASN | CC | REGISTRY | DATE | NAME": the first field must be
 * asn, the name is the last field, cleaned as hw_text_clean does and cut to namelen - 1
 * bytes. HW_OK, or HW_ERR_MALFORMED (name then "") for another AS, fewer than 5 fields or
 * an empty name.
 */
int cymru_parse_asname(const unsigned char *text, size_t len, uint32_t asn, char *name,
		       size_t namelen);

/*
 * Copies bytes from the network into a printable, valid UTF-8 string: well-formed UTF-8
 * sequences of printable characters are kept, every other byte (controls, NUL, broken
 * sequences) becomes '?', and a multi-byte character that does not fit is left out.
 * outlen >= 1; returns the length written (out is NUL-terminated).
 */
size_t hw_text_clean(const unsigned char *in, size_t len, char *out, size_t outlen);

#endif
