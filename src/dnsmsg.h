/*
 * The question and rcode of a DNS response, read from the raw bytes of a UDP answer.
 * c-ares reports a SERVFAIL or a timeout of some lookups as NXDOMAIN or "refused"; the
 * resolver looks at the answers itself to tell them apart (src/resolve.c). Pure.
 */
#ifndef HOPWATCH_DNSMSG_H
#define HOPWATCH_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * When p (n bytes) is a response with exactly one question whose name is written out
 * without compression, writes that name (dotted, no trailing dot, "" for the root) into
 * qname (qlen bytes, NUL-terminated) and the rcode into *rcode and returns true. Returns
 * false, leaving *rcode alone, for anything else: a query, a short or cut message, a
 * compressed or over-long name, a NUL in a label, a name longer than qlen - 1.
 */
bool dnsmsg_question(const uint8_t *p, size_t n, char *qname, size_t qlen, uint8_t *rcode);

#endif
