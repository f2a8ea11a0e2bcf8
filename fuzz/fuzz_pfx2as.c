// fuzz-sources: src/asn.c src/asnames.c src/textfile.c src/addr.c src/status.c
// fuzz-libs:
// fuzz-cflags: -DASN_ROOT_BITS=8
/*
 * libFuzzer target for the local origin-AS data: the input is loaded as a pfx2as file
 * (asn_table_load_buf) and as an AS-name file (as_names_load_buf), and read once more as
 * binary records of prefixes inserted into a table and checked against a brute-force
 * longest-prefix match. Beyond "never crash", it checks what the modules promise: an error
 * says "NAME:LINE: reason" in one printable line, with a line the input has; loading the
 * same text twice holds the same prefixes (later lines replace); a lookup gives 1 to
 * HW_ORIGINS_MAX non-zero origins and a length within the family's; a name is one
 * non-empty line of valid UTF-8 without control characters or outer blanks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/addr.h>
#include <hopwatch/asn.h>
#include <hopwatch/status.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "fuzz:LINE: " then printable ASCII, LINE between 1 and the input's line count. */
static void check_err(const char *err, const uint8_t *data, size_t size)
{
	size_t lines = 1, line = 0;
	const char *p = err;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (strncmp(p, "fuzz:", 5) != 0)
		abort();
	for (p += 5; *p >= '0' && *p <= '9'; p++)
		line = line * 10 + (size_t)(*p - '0');
	if (line == 0 || line > lines || strncmp(p, ": ", 2) != 0 || p[2] == '\0')
		abort();
	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

static void check_lookup(const hw_asn_table_t *t, const struct hw_addr *a)
{
	uint32_t o[HW_ORIGINS_MAX];
	unsigned len = 999, n = asn_table_lookup(t, a, o, &len);

	if (n > HW_ORIGINS_MAX || (n == 0 && len != 0) || len > hw_addr_len(a) * 8)
		abort();
	for (unsigned i = 0; i < n; i++)
		if (o[i] == 0)
			abort(); /* the loader refuses AS 0 */
}

static void pfx2as(const uint8_t *data, size_t size)
{
	hw_asn_table_t *t = asn_table_new();
	char err[256] = "";
	int rc;
	size_t n;

	if (t == NULL)
		return;
	rc = asn_table_load_buf(t, (const char *)data, size, "fuzz", err, sizeof(err));
	if (rc != HW_OK) {
		if (rc != HW_ERR_MALFORMED)
			abort();
		check_err(err, data, size);
	}
	n = asn_table_size(t);
	if (rc == HW_OK) {
		if (asn_table_load_buf(t, (const char *)data, size, "fuzz", err, sizeof(err)) != HW_OK ||
		    asn_table_size(t) != n)
			abort();
	}
	/* Addresses from the input's bytes, both families. */
	for (size_t i = 0; i + 16 <= size && i < 512; i += 7) {
		struct hw_addr a;

		hw_addr_set(&a, AF_INET, data + i);
		check_lookup(t, &a);
		hw_addr_set(&a, AF_INET6, data + i);
		check_lookup(t, &a);
	}
	asn_table_free(t);
}

static void check_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (n == 0 || p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t')
		abort();
	while (*p) {
		unsigned need = *p < 0x80 ? 0 : *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;

		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && *p < 0xc2) || *p > 0xf4)
			abort();
		if (*p == 0xc2 && p[1] < 0xa0)
			abort(); /* C1 control */
		for (unsigned k = 1; k <= need; k++)
			if (p[k] < 0x80 || p[k] > 0xbf)
				abort();
		p += need + 1;
	}
}

static void names(const uint8_t *data, size_t size)
{
	hw_as_names_t *n = as_names_new();
	char err[256] = "";
	int rc;

	if (n == NULL)
		return;
	rc = as_names_load_buf(n, (const char *)data, size, "fuzz", err, sizeof(err));
	if (rc != HW_OK) {
		if (rc != HW_ERR_MALFORMED)
			abort();
		check_err(err, data, size);
	}
	for (uint32_t asn = 0; asn < 64; asn++) {
		const char *s = as_names_get(n, asn);

		if (s != NULL)
			check_name(s);
	}
	as_names_free(n);
}

/* Records: flags (bit 0: IPv6), length, 4 or 16 address bytes, one origin byte. */
struct ref {
	struct hw_addr net;
	unsigned len;
	uint32_t as;
};

#define REFS_MAX 64

static bool covers(const struct ref *r, const struct hw_addr *a)
{
	for (unsigned b = 0; b < r->len; b++) {
		unsigned m = 0x80u >> (b % 8);

		if ((r->net.a[b / 8] & m) != (a->a[b / 8] & m))
			return false;
	}
	return true;
}

static void compare(const hw_asn_table_t *t, const struct ref *v, size_t n, const struct hw_addr *a)
{
	const struct ref *best = NULL;
	uint32_t o[HW_ORIGINS_MAX];
	unsigned len, got;

	for (size_t i = 0; i < n; i++)
		if (v[i].net.family == a->family && covers(&v[i], a) &&
		    (best == NULL || v[i].len >= best->len))
			best = &v[i];
	got = asn_table_lookup(t, a, o, &len);
	if (best == NULL ? got != 0 : got != 1 || o[0] != best->as || len != best->len)
		abort();
}

static void records(const uint8_t *data, size_t size)
{
	hw_asn_table_t *t = asn_table_new();
	struct ref v[REFS_MAX];
	size_t n = 0;

	if (t == NULL)
		return;
	while (n < REFS_MAX && size >= 2) {
		int family = data[0] & 1 ? AF_INET6 : AF_INET;
		size_t alen = family == AF_INET ? 4 : 16;
		struct ref *r = &v[n];

		if (size < 3 + alen)
			break;
		hw_addr_set(&r->net, family, data + 2);
		r->len = data[1] % (alen * 8 + 1);
		r->as = (uint32_t)data[2 + alen] + 1;
		if (asn_table_insert(t, &r->net, r->len, &r->as, 1) != HW_OK)
			abort();
		for (unsigned b = r->len; b < alen * 8; b++)
			r->net.a[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
		n++;
		data += 3 + alen;
		size -= 3 + alen;
	}
	for (size_t i = 0; i < n; i++) {
		struct hw_addr a = v[i].net;

		compare(t, v, n, &a);
		for (unsigned b = v[i].len; b < hw_addr_len(&a) * 8; b++)
			a.a[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		compare(t, v, n, &a);
		if (v[i].len > 0) {
			a.a[(v[i].len - 1) / 8] ^= (uint8_t)(0x80u >> ((v[i].len - 1) % 8));
			compare(t, v, n, &a);
		}
	}
	asn_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pfx2as(data, size);
	names(data, size);
	records(data, size);
	return 0;
}
