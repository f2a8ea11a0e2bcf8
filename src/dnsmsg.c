/* Reads the question name and rcode of a DNS response; every byte bounds-checked. */
#include "dnsmsg.h"

#define DNS_HEADER 12

bool dnsmsg_question(const uint8_t *p, size_t n, char *qname, size_t qlen, uint8_t *rcode)
{
	size_t off = DNS_HEADER, out = 0;

	/* QR set (a response) and QDCOUNT exactly 1. */
	if (qname == NULL || qlen == 0 || n < DNS_HEADER || !(p[2] & 0x80) || p[4] != 0 ||
	    p[5] != 1)
		return false;
	for (;;) {
		if (off >= n)
			return false;
		uint8_t len = p[off++];
		if (len > 63) /* a compression pointer or a reserved label type */
			return false;
		if (len == 0)
			break;
		/* The label, a dot before it and the final NUL must fit. */
		if (len > n - off || out + (out > 0) + len + 1 > qlen)
			return false;
		if (out > 0)
			qname[out++] = '.';
		for (uint8_t i = 0; i < len; i++) {
			if (p[off + i] == '\0')
				return false;
			qname[out++] = (char)p[off + i];
		}
		off += len;
	}
	qname[out] = '\0';
	*rcode = p[3] & 0x0f;
	return true;
}
