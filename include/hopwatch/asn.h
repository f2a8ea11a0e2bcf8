/*
 * Local origin-AS data: a prefix-to-AS table (CAIDA routeviews pfx2as format) in a
 * longest-prefix-match trie for IPv4 and IPv6, and an AS-name table (CAIDA as-org2info
 * or "asn|name" lines). Pure: no network, no globals.
 */
#ifndef HOPWATCH_ASN_H
#define HOPWATCH_ASN_H

#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>
#include <hopwatch/run.h>

typedef struct hw_asn_table hw_asn_table_t;

/* An empty table; NULL on ENOMEM. */
hw_asn_table_t *asn_table_new(void);

/* Frees the table; NULL is fine; returns NULL. */
hw_asn_table_t *asn_table_free(hw_asn_table_t *table);

/*
 * Adds (or replaces) a prefix with its origins (1..HW_ORIGINS_MAX; more are cut to the
 * first HW_ORIGINS_MAX). Host bits beyond len are ignored. HW_ERR_INVAL for a length
 * beyond the family's, HW_ERR_NOMEM.
 */
int asn_table_insert(hw_asn_table_t *table, const struct hw_addr *prefix, unsigned len,
		     const uint32_t *origins, unsigned n_origins);

/*
 * Loads pfx2as lines ("prefix<TAB>length<TAB>AS", AS being "4837", multi-origin
 * "4837_4808", a set "{4837,4808}" or "4837,4808", or mixes "4837_4808,9929"; every AS
 * named is an origin; blank lines and '#' comments skipped) from text
 * (len bytes; name is used in messages). On a bad line nothing after it is loaded,
 * HW_ERR_MALFORMED is returned and err holds "NAME:LINE: reason".
 */
int asn_table_load_buf(hw_asn_table_t *table, const char *text, size_t len, const char *name,
		       char *err, size_t errlen);

/* asn_table_load_buf on a file's contents; HW_ERR_IO with "PATH: strerror" when unreadable. */
int asn_table_load(hw_asn_table_t *table, const char *path, char *err, size_t errlen);

/*
 * Longest-prefix match. Writes the covering prefix's origins into origins[] and returns
 * how many (0: no prefix covers addr); *prefix_len (may be NULL) gets its length.
 */
unsigned asn_table_lookup(const hw_asn_table_t *table, const struct hw_addr *addr,
			  uint32_t origins[HW_ORIGINS_MAX], unsigned *prefix_len);

/* Prefixes held. */
size_t asn_table_size(const hw_asn_table_t *table);

/* Bytes of memory the table holds (its nodes, origin sets and indexes, with spare room). */
size_t asn_table_bytes(const hw_asn_table_t *table);

typedef struct hw_as_names hw_as_names_t;

/* An empty AS-name table; NULL on ENOMEM. */
hw_as_names_t *as_names_new(void);

/* Frees it; NULL is fine; returns NULL. */
hw_as_names_t *as_names_free(hw_as_names_t *names);

/* Sets the name of an AS (copied; replaces an earlier one). */
int as_names_set(hw_as_names_t *names, uint32_t asn, const char *name);

/*
 * Loads AS names: "asn|name" lines, or CAIDA as-org2info (its aut lines,
 * "aut|changed|aut_name|org_id|opaque_id|source", named by their organisation's
 * name from the org lines when present, else aut_name). Errors as asn_table_load_buf.
 */
int as_names_load_buf(hw_as_names_t *names, const char *text, size_t len, const char *name,
		      char *err, size_t errlen);

/* as_names_load_buf on a file. */
int as_names_load(hw_as_names_t *names, const char *path, char *err, size_t errlen);

/* The name of an AS, NULL when unknown (borrowed: valid until the table changes). */
const char *as_names_get(const hw_as_names_t *names, uint32_t asn);

#endif
