/*
 * Team Cymru's IP-to-ASN answers, read as the untrusted bytes they are: fields are split
 * on '|' within the record's length (never past it, never at a NUL), numbers are checked
 * digit by digit, prefixes by the address parser, and names leave here printable.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/cymru.h>
#include <hopwatch/status.h>

#define ZONE_MAX 200
#define FIELDS_MAX 8

/* One field of a record: [p, p + n), spaces trimmed. */
struct field {
	const unsigned char *p;
	size_t n;
};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static struct field trim(const unsigned char *p, size_t n)
{
	while (n > 0 && is_space(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && is_space(p[n - 1]))
		n--;
	return (struct field){p, n};
}

/* Splits on '|'; -1 when the record holds a NUL or more than FIELDS_MAX fields. */
static int split(const unsigned char *text, size_t len, struct field *f)
{
	size_t start = 0;
	int n = 0;

	if (text == NULL)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] == '\0')
			return -1;
		if (i < len && text[i] != '|')
			continue;
		if (n == FIELDS_MAX)
			return -1;
		f[n++] = trim(text + start, i - start);
		start = i + 1;
	}
	return n;
}

/* A decimal number 1..UINT32_MAX, the whole of [p, p + n). */
static bool parse_u32(const unsigned char *p, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* "4837" or "4837 4808 ...": distinct origins, the first HW_ORIGINS_MAX kept. */
static bool parse_asns(struct field f, struct hw_cymru_origin *out)
{
	size_t i = 0;

	while (i < f.n) {
		size_t j = i;
		uint32_t asn;
		bool seen = false;

		while (j < f.n && !is_space(f.p[j]))
			j++;
		if (!parse_u32(f.p + i, j - i, &asn))
			return false;
		for (unsigned k = 0; k < out->n_origins; k++)
			seen = seen || out->origins[k] == asn;
		if (!seen && out->n_origins < HW_ORIGINS_MAX)
			out->origins[out->n_origins++] = asn;
		while (j < f.n && is_space(f.p[j]))
			j++;
		i = j;
	}
	return out->n_origins > 0;
}

/* "198.18.0.0/15" or "2001:db8::/32". */
static bool parse_prefix(struct field f, struct hw_addr *addr, unsigned *len)
{
	char text[HW_ADDRSTRLEN];
	size_t slash = 0;
	uint32_t bits;

	while (slash < f.n && f.p[slash] != '/')
		slash++;
	if (slash == f.n || slash >= sizeof(text))
		return false;
	memcpy(text, f.p, slash);
	text[slash] = '\0';
	if (hw_addr_parse(text, addr) != HW_OK)
		return false;
	/* /0 is a prefix too, but parse_u32 refuses 0: read it apart. */
	if (f.n - slash - 1 == 1 && f.p[slash + 1] == '0')
		bits = 0;
	else if (!parse_u32(f.p + slash + 1, f.n - slash - 1, &bits))
		return false;
	if (bits > hw_addr_len(addr) * 8)
		return false;
	*len = bits;
	return true;
}

static void parse_cc(struct field f, char cc[3])
{
	cc[0] = '\0';
	if (f.n == 2 && ((f.p[0] >= 'A' && f.p[0] <= 'Z') || (f.p[0] >= 'a' && f.p[0] <= 'z'))
	    && ((f.p[1] >= 'A' && f.p[1] <= 'Z') || (f.p[1] >= 'a' && f.p[1] <= 'z'))) {
		cc[0] = (char)(f.p[0] & ~0x20);
		cc[1] = (char)(f.p[1] & ~0x20);
		cc[2] = '\0';
	}
}

int cymru_parse_origin(const unsigned char *text, size_t len, struct hw_cymru_origin *out)
{
	struct field f[FIELDS_MAX];
	int n = split(text, len, f);

	memset(out, 0, sizeof(*out));
	if (n < 2 || !parse_asns(f[0], out) || !parse_prefix(f[1], &out->prefix, &out->prefix_len)) {
		memset(out, 0, sizeof(*out));
		return HW_ERR_MALFORMED;
	}
	if (n >= 3)
		parse_cc(f[2], out->cc);
	return HW_OK;
}

/* Whether the first bits of a and p agree. */
static bool covers(const struct hw_addr *p, unsigned bits, const struct hw_addr *a)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (p->family != a->family)
		return false;
	if (memcmp(p->a, a->a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (p->a[full] & mask) == (a->a[full] & mask);
}

int cymru_pick_origin(const unsigned char *const *texts, const size_t *lens, size_t n,
		      const struct hw_addr *addr, struct hw_cymru_origin *out)
{
	struct hw_cymru_origin rec;
	bool found = false;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (cymru_parse_origin(texts[i], lens[i], &rec) != HW_OK
		    || !covers(&rec.prefix, rec.prefix_len, addr))
			continue;
		if (!found || rec.prefix_len > out->prefix_len) {
			*out = rec;
			found = true;
			continue;
		}
		if (rec.prefix_len < out->prefix_len)
			continue;
		/* The same prefix length: a multi-origin prefix told in several records. */
		for (unsigned k = 0; k < rec.n_origins; k++) {
			bool seen = false;
			for (unsigned j = 0; j < out->n_origins; j++)
				seen = seen || out->origins[j] == rec.origins[k];
			if (!seen && out->n_origins < HW_ORIGINS_MAX)
				out->origins[out->n_origins++] = rec.origins[k];
		}
	}
	return found ? HW_OK : HW_ERR_MALFORMED;
}

int cymru_parse_asname(const unsigned char *text, size_t len, uint32_t asn, char *name,
		       size_t namelen)
{
	struct field f[FIELDS_MAX];
	int n = split(text, len, f);
	uint32_t got;

	if (namelen > 0)
		name[0] = '\0';
	if (namelen == 0 || n < 5 || !parse_u32(f[0].p, f[0].n, &got) || got != asn)
		return HW_ERR_MALFORMED;
	/* The name is the rest: a '|' inside it would have split it, so join it back. */
	const unsigned char *start = f[4].p;
	size_t rest = (size_t)(f[n - 1].p + f[n - 1].n - start);
	struct field whole = trim(start, rest);
	if (whole.n == 0 || hw_text_clean(whole.p, whole.n, name, namelen) == 0) {
		name[0] = '\0';
		return HW_ERR_MALFORMED;
	}
	return HW_OK;
}

/* The length of the well-formed UTF-8 sequence of a printable character at p, 0 if none. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else
		return 0;
	/* The second byte's range excludes overlong forms, surrogates and > U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	/* C1 controls, U+0080..U+009F, are not printable. */
	if (c == 0xc2)
		lo = 0xa0;
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need;
}

size_t hw_text_clean(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return 0;
	for (size_t i = 0; i < len && o + 1 < outlen;) {
		size_t n = utf8_char(in + i, len - i);
		if (n == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return o;
}

bool cymru_zone_ok(const char *zone)
{
	size_t n = zone != NULL ? strlen(zone) : 0, label = 0;

	if (n == 0 || n > ZONE_MAX || zone[0] == '.' || zone[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = zone[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		      || c == '-' || c == '_') || ++label > 63)
			return false;
	}
	return true;
}

int cymru_origin_qname(const struct hw_addr *addr, const char *zone, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int n;

	if (addr == NULL || buf == NULL || len == 0 || !cymru_zone_ok(zone))
		return HW_ERR_INVAL;
	buf[0] = '\0';
	if (addr->family == AF_INET) {
		n = snprintf(buf, len, "%u.%u.%u.%u.origin.%s", addr->a[3], addr->a[2], addr->a[1],
			     addr->a[0], zone);
		return n > 0 && (size_t)n < len ? HW_OK : HW_ERR_INVAL;
	}
	if (addr->family != AF_INET6 || len < 64 + 1)
		return HW_ERR_INVAL;
	for (int i = 15; i >= 0; i--) {
		buf[o++] = hex[addr->a[i] & 0xf];
		buf[o++] = '.';
		buf[o++] = hex[addr->a[i] >> 4];
		buf[o++] = '.';
	}
	n = snprintf(buf + o, len - o, "origin6.%s", zone);
	if (n <= 0 || (size_t)n >= len - o) {
		buf[0] = '\0';
		return HW_ERR_INVAL;
	}
	return HW_OK;
}

int cymru_asname_qname(uint32_t asn, const char *zone, char *buf, size_t len)
{
	int n;

	if (buf == NULL || len == 0 || asn == 0 || !cymru_zone_ok(zone))
		return HW_ERR_INVAL;
	n = snprintf(buf, len, "AS%lu.%s", (unsigned long)asn, zone);
	if (n <= 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return HW_ERR_INVAL;
	}
	return HW_OK;
}
