// fuzz-sources: src/dnsmsg.c
// fuzz-libs:
/*
 * libFuzzer target for the DNS response reader the resolver uses to tell a SERVFAIL
 * from a silence. Beyond "never crash": an accepted name is NUL-terminated within the
 * buffer and no longer than the message holds, the rcode is 4 bits, and a refusal
 * leaves the rcode alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char q[64];
	uint8_t rcode = 0xff;
	/* The first byte picks a buffer length, so short buffers are exercised too. */
	size_t qlen = size > 0 ? 1 + data[0] % sizeof(q) : sizeof(q);
	if (!dnsmsg_question(data, size, q, qlen, &rcode)) {
		if (rcode != 0xff)
			abort();
		return 0;
	}
	size_t len = strnlen(q, qlen);
	if (len >= qlen || rcode > 15)
		abort();
	/* Every name byte came from the message: the name cannot be longer than it. */
	if (len + 13 > size + 1)
		abort();
	return 0;
}
