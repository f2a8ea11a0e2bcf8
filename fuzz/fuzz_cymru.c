// fuzz-sources: src/cymru.c src/addr.c src/status.c
// fuzz-libs:
/*
 * libFuzzer target for the Team Cymru answer parser: the input is one TXT record (as an
 * origin and as an AS-name record) and, split at '\n', the records of one answer (for
 * cymru_pick_origin against an address taken from the first bytes). Beyond "never
 * crash", it checks what the parser promises: a refusal leaves nothing behind; accepted
 * origins are 1..HW_ORIGINS_MAX distinct non-zero ASes with a prefix of a sane length;
 * a picked origin covers the address; AS names and cleaned text are printable UTF-8
 * within their buffer; the same input gives the same answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/cymru.h>
#include <hopwatch/status.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RECORDS_MAX 16

static void check_origin(const struct hw_cymru_origin *o)
{
	if (o->n_origins < 1 || o->n_origins > HW_ORIGINS_MAX)
		abort();
	for (unsigned i = 0; i < o->n_origins; i++) {
		if (o->origins[i] == 0)
			abort();
		for (unsigned j = 0; j < i; j++)
			if (o->origins[i] == o->origins[j])
				abort();
	}
	if (o->prefix.family != AF_INET && o->prefix.family != AF_INET6)
		abort();
	if (o->prefix_len > hw_addr_len(&o->prefix) * 8)
		abort();
	if (o->cc[0] != '\0' && (strlen(o->cc) != 2 || o->cc[0] < 'A' || o->cc[0] > 'Z'))
		abort();
}

/* Printable, valid UTF-8 (as hw_text_clean promises): checked byte by byte. */
static void check_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	if (strlen(s) != len)
		abort();
	for (size_t i = 0; i < len;) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		size_t n = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc2 ? 2 : 0;
		if (n == 0 || i + n > len || p[i] > 0xf4)
			abort();
		for (size_t k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				abort();
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hw_cymru_origin o, o2;
	char name[CYMRU_ASNAME_LEN], clean[64];
	struct hw_addr addr;

	/* One record, both ways. */
	if (cymru_parse_origin(data, size, &o) == HW_OK) {
		check_origin(&o);
		if (cymru_parse_origin(data, size, &o2) != HW_OK || memcmp(&o, &o2, sizeof(o)) != 0)
			abort();
	} else if (o.n_origins != 0 || o.prefix.family != 0) {
		abort();
	}
	/* The AS asked for: the record's own leading number, so matching records are
	   reached; 4837 when there is none. */
	uint64_t lead = 0;
	for (size_t i = 0; i < size && i < 10 && data[i] >= '0' && data[i] <= '9'; i++)
		lead = lead * 10 + (data[i] - '0');
	uint32_t asn = lead > 0 && lead <= UINT32_MAX ? (uint32_t)lead : 4837;
	if (cymru_parse_asname(data, size, asn, name, sizeof(name)) == HW_OK) {
		if (name[0] == '\0')
			abort();
		check_text(name, strlen(name));
	} else if (name[0] != '\0') {
		abort();
	}
	check_text(clean, hw_text_clean(data, size, clean, sizeof(clean)));

	/* Several records against an address from the first bytes. */
	if (size < 17)
		return 0;
	hw_addr_set(&addr, data[0] & 1 ? AF_INET6 : AF_INET, data + 1);
	const unsigned char *texts[RECORDS_MAX];
	size_t lens[RECORDS_MAX], n = 0, start = 17;
	for (size_t i = 17; i <= size && n < RECORDS_MAX; i++) {
		if (i == size || data[i] == '\n') {
			texts[n] = data + start;
			lens[n++] = i - start;
			start = i + 1;
		}
	}
	if (cymru_pick_origin(texts, lens, n, &addr, &o) == HW_OK) {
		check_origin(&o);
		if (o.prefix.family != addr.family)
			abort();
		/* The prefix covers the address. */
		unsigned full = o.prefix_len / 8, rest = o.prefix_len % 8;
		if (memcmp(o.prefix.a, addr.a, full) != 0)
			abort();
		if (rest != 0 && ((o.prefix.a[full] ^ addr.a[full]) & (0xff << (8 - rest)) & 0xff))
			abort();
	}
	return 0;
}
