/* Unit tests for the origin-AS table (longest-prefix match, pfx2as files) and AS names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hopwatch/asn.h>
#include <hopwatch/status.h>

/* ---- helpers ---- */

static struct hw_addr addr(const char *text)
{
	struct hw_addr a;

	if (hw_addr_parse(text, &a) != HW_OK)
		fail_msg("bad test address %s", text);
	return a;
}

static void insert(hw_asn_table_t *t, const char *prefix, unsigned len, uint32_t asn)
{
	struct hw_addr a = addr(prefix);

	assert_int_equal(asn_table_insert(t, &a, len, &asn, 1), HW_OK);
}

/* The origins of text's longest match as "A_B_C/LEN" ("-" when none). */
static const char *who(const hw_asn_table_t *t, const char *text)
{
	static char buf[128];
	struct hw_addr a = addr(text);
	uint32_t o[HW_ORIGINS_MAX];
	unsigned len = 999, n = asn_table_lookup(t, &a, o, &len);
	size_t at = 0;

	if (n == 0) {
		assert_int_equal(len, 0);
		return "-";
	}
	assert_true(n <= HW_ORIGINS_MAX);
	for (unsigned i = 0; i < n; i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%u", i ? "_" : "", o[i]);
	snprintf(buf + at, sizeof(buf) - at, "/%u", len);
	return buf;
}

static int load(hw_asn_table_t *t, const char *text, char *err, size_t errlen)
{
	return asn_table_load_buf(t, text, strlen(text), "pfx", err, errlen);
}

static void load_ok(hw_asn_table_t *t, const char *text)
{
	char err[256] = "";

	if (load(t, text, err, sizeof(err)) != HW_OK)
		fail_msg("%s", err);
}

/* xorshift64*: reproducible pseudo-random numbers for the random tables. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1du;
}

/* ---- longest-prefix match against a brute-force reference ---- */

struct ref_prefix {
	struct hw_addr net;
	unsigned len;
	uint32_t origins[HW_ORIGINS_MAX];
	unsigned n;
};

static bool covers(const struct ref_prefix *p, const struct hw_addr *a)
{
	for (unsigned b = 0; b < p->len; b++) {
		unsigned m = 0x80u >> (b % 8);

		if ((p->net.a[b / 8] & m) != (a->a[b / 8] & m))
			return false;
	}
	return true;
}

static void clear_host_bits(struct hw_addr *a, unsigned len, unsigned bits)
{
	for (unsigned b = len; b < bits; b++)
		a->a[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
}

/* The reference answer: the longest prefix covering a (the last one added for a length). */
static const struct ref_prefix *ref_lookup(const struct ref_prefix *v, size_t n,
					   const struct hw_addr *a)
{
	const struct ref_prefix *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (v[i].net.family == a->family && covers(&v[i], a) &&
		    (best == NULL || v[i].len >= best->len))
			best = &v[i];
	return best;
}

static void check_one(const hw_asn_table_t *t, const struct ref_prefix *v, size_t n,
		      const struct hw_addr *a)
{
	const struct ref_prefix *want = ref_lookup(v, n, a);
	uint32_t o[HW_ORIGINS_MAX];
	unsigned len, got = asn_table_lookup(t, a, o, &len);
	char buf[HW_ADDRSTRLEN];

	if (want == NULL) {
		if (got != 0)
			fail_msg("%s: found /%u, want none", hw_addr_str(a, buf, sizeof(buf)), len);
		return;
	}
	if (got != want->n || len != want->len ||
	    memcmp(o, want->origins, got * sizeof(*o)) != 0)
		fail_msg("%s: got %u origins (AS%u) /%u, want %u (AS%u) /%u",
			 hw_addr_str(a, buf, sizeof(buf)), got, got ? o[0] : 0, len, want->n,
			 want->origins[0], want->len);
}

/*
 * n random prefixes of one family: a third fresh, the rest under an earlier one (nested,
 * often sharing long runs of bits), some of them again with other origins (replaced);
 * then lookups at random addresses, inside every prefix and just outside it.
 */
static void random_table(int family, uint64_t seed, size_t n)
{
	unsigned bits = family == AF_INET ? 32 : 128;
	struct ref_prefix *v = calloc(n, sizeof(*v));
	hw_asn_table_t *t = asn_table_new();
	size_t distinct = 0;

	assert_non_null(v);
	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		struct ref_prefix *p = &v[i];
		uint64_t r = rnd(&seed);

		p->net.family = (uint8_t)family;
		if (i > 0 && r % 3 != 0) {
			const struct ref_prefix *up = &v[rnd(&seed) % i];

			/* Under an earlier prefix, or the very same one (a replacement). */
			p->net = up->net;
			p->len = r % 7 == 1 ? up->len : up->len + (unsigned)(rnd(&seed) % (bits - up->len + 1));
			for (unsigned b = up->len; b < bits; b++)
				if (rnd(&seed) & 1)
					p->net.a[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		} else {
			for (unsigned b = 0; b < bits / 8; b++)
				p->net.a[b] = (uint8_t)rnd(&seed);
			/* Lengths from 0 to all bits, the extremes included now and then. */
			p->len = r % 11 == 0 ? 0 : r % 11 == 1 ? bits : (unsigned)(rnd(&seed) % (bits + 1));
		}
		clear_host_bits(&p->net, p->len, bits);
		p->n = 1 + (unsigned)(rnd(&seed) % HW_ORIGINS_MAX);
		for (unsigned k = 0; k < p->n; k++)
			p->origins[k] = (uint32_t)rnd(&seed) | 1;
		/* Host bits are ignored by insert: give it some. */
		struct hw_addr with_host = p->net;
		for (unsigned b = p->len; b < bits; b++)
			if (rnd(&seed) & 1)
				with_host.a[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		assert_int_equal(asn_table_insert(t, &with_host, p->len, p->origins, p->n), HW_OK);
	}
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = i + 1; j < n; j++)
			if (v[j].len == v[i].len && hw_addr_eq(&v[j].net, &v[i].net))
				break;
		distinct += j == n;
	}
	assert_int_equal(asn_table_size(t), distinct);
	assert_true(asn_table_bytes(t) > 0);

	for (size_t i = 0; i < n; i++) {
		struct hw_addr a = v[i].net;

		check_one(t, v, n, &a); /* the network address itself */
		for (unsigned b = v[i].len; b < bits; b++)
			if (rnd(&seed) & 1)
				a.a[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		check_one(t, v, n, &a); /* somewhere inside */
		if (v[i].len > 0) {
			a.a[(v[i].len - 1) / 8] ^= (uint8_t)(0x80u >> ((v[i].len - 1) % 8));
			check_one(t, v, n, &a); /* just outside */
		}
	}
	for (size_t i = 0; i < 20 * n; i++) {
		struct hw_addr a = {.family = (uint8_t)family};

		for (unsigned b = 0; b < bits / 8; b++)
			a.a[b] = (uint8_t)rnd(&seed);
		check_one(t, v, n, &a);
	}
	/* The other family finds nothing. */
	struct hw_addr other = addr(family == AF_INET ? "2001:db8::1" : "192.0.2.1");
	uint32_t o[HW_ORIGINS_MAX];
	unsigned len;
	assert_int_equal(asn_table_lookup(t, &other, o, &len), 0);
	asn_table_free(t);
	free(v);
}

static void test_lpm_random_v4(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 12; seed++)
		random_table(AF_INET, seed * 0x9e3779b97f4a7c15u, seed < 10 ? 40 * seed : 2000);
}

static void test_lpm_random_v6(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 12; seed++)
		random_table(AF_INET6, seed * 0x51afd7ed558ccd1du, seed < 10 ? 40 * seed : 2000);
}

/* ---- the table by hand ---- */

static void test_lpm_basics(void **state)
{
	hw_asn_table_t *t = asn_table_new();

	(void)state;
	assert_non_null(t);
	assert_string_equal(who(t, "10.1.2.3"), "-");
	assert_string_equal(who(t, "2001:db8::1"), "-");
	insert(t, "10.0.0.0", 8, 100);
	insert(t, "10.1.0.0", 16, 200);
	insert(t, "10.1.2.0", 24, 300);
	insert(t, "10.1.2.3", 32, 400);
	assert_int_equal(asn_table_size(t), 4);
	assert_string_equal(who(t, "10.1.2.3"), "400/32");
	assert_string_equal(who(t, "10.1.2.4"), "300/24");
	assert_string_equal(who(t, "10.1.3.4"), "200/16");
	assert_string_equal(who(t, "10.2.3.4"), "100/8");
	assert_string_equal(who(t, "11.0.0.0"), "-");
	assert_string_equal(who(t, "9.255.255.255"), "-");
	/* A default route catches the rest, and only for its own family. */
	insert(t, "0.0.0.0", 0, 1);
	assert_string_equal(who(t, "11.0.0.0"), "1/0");
	assert_string_equal(who(t, "255.255.255.255"), "1/0");
	assert_string_equal(who(t, "::1"), "-");
	insert(t, "2001:db8::", 32, 64496);
	insert(t, "2001:db8:1::", 48, 64497);
	insert(t, "2001:db8:1::1", 128, 64498);
	insert(t, "::", 0, 2);
	assert_string_equal(who(t, "2001:db8:1::1"), "64498/128");
	assert_string_equal(who(t, "2001:db8:1::2"), "64497/48");
	assert_string_equal(who(t, "2001:db8:2::1"), "64496/32");
	assert_string_equal(who(t, "2001:db9::"), "2/0");
	assert_string_equal(who(t, "10.1.2.3"), "400/32");
	assert_int_equal(asn_table_size(t), 9);
	/* Lookup without prefix_len, and with unset addresses. */
	struct hw_addr a = addr("10.1.9.9"), unset = {0};
	uint32_t o[HW_ORIGINS_MAX];
	assert_int_equal(asn_table_lookup(t, &a, o, NULL), 1);
	assert_int_equal(o[0], 200);
	assert_int_equal(asn_table_lookup(t, &unset, o, NULL), 0);
	asn_table_free(t);
	assert_null(asn_table_free(NULL));
	assert_int_equal(asn_table_size(NULL), 0);
}

static void test_replace(void **state)
{
	hw_asn_table_t *t = asn_table_new();
	uint32_t two[2] = {64500, 64501};
	struct hw_addr a = addr("192.0.2.77");

	(void)state;
	insert(t, "192.0.2.0", 24, 64496);
	insert(t, "192.0.0.0", 16, 64497);
	/* The same prefix again, spelt with host bits: it replaces, it does not add. */
	insert(t, "192.0.2.99", 24, 64498);
	assert_int_equal(asn_table_size(t), 2);
	assert_string_equal(who(t, "192.0.2.1"), "64498/24");
	assert_int_equal(asn_table_insert(t, &a, 24, two, 2), HW_OK);
	assert_string_equal(who(t, "192.0.2.1"), "64500_64501/24");
	assert_int_equal(asn_table_size(t), 2);
	/* A branching node made by two prefixes becomes a prefix of its own. */
	insert(t, "198.51.100.0", 24, 1);
	insert(t, "198.51.101.0", 24, 2);
	assert_int_equal(asn_table_size(t), 4);
	assert_string_equal(who(t, "198.51.102.1"), "-");
	insert(t, "198.51.100.0", 23, 3);
	assert_int_equal(asn_table_size(t), 5);
	assert_string_equal(who(t, "198.51.101.1"), "2/24");
	assert_string_equal(who(t, "198.51.100.1"), "1/24");
	insert(t, "198.51.96.0", 21, 4);
	assert_string_equal(who(t, "198.51.102.1"), "4/21");
	asn_table_free(t);
}

static void test_insert_args(void **state)
{
	hw_asn_table_t *t = asn_table_new();
	uint32_t six[6] = {1, 2, 3, 4, 5, 6};
	struct hw_addr v4 = addr("203.0.113.0"), v6 = addr("2001:db8::"), unset = {0};

	(void)state;
	assert_int_equal(asn_table_insert(t, &v4, 33, six, 1), HW_ERR_INVAL);
	assert_int_equal(asn_table_insert(t, &v6, 129, six, 1), HW_ERR_INVAL);
	assert_int_equal(asn_table_insert(t, &v4, 24, six, 0), HW_ERR_INVAL);
	assert_int_equal(asn_table_insert(t, &unset, 0, six, 1), HW_ERR_INVAL);
	assert_int_equal(asn_table_insert(NULL, &v4, 24, six, 1), HW_ERR_INVAL);
	assert_int_equal(asn_table_size(t), 0);
	/* More origins than kept: the first HW_ORIGINS_MAX. */
	assert_int_equal(asn_table_insert(t, &v4, 24, six, 6), HW_OK);
	assert_int_equal(asn_table_insert(t, &v6, 128, six, 6), HW_OK);
	assert_string_equal(who(t, "203.0.113.5"), "1_2_3_4/24");
	assert_string_equal(who(t, "2001:db8::"), "1_2_3_4/128");
	assert_string_equal(who(t, "2001:db8::1"), "-");
	asn_table_free(t);
}

/* ---- pfx2as files ---- */

static void test_load(void **state)
{
	hw_asn_table_t *t = asn_table_new();

	(void)state;
	load_ok(t, "# routeviews pfx2as\n"
		   "\n"
		   "1.0.0.0\t24\t13335\n"
		   "1.0.4.0\t22\t38803_56203\n"
		   "1.0.64.0\t18\t{18144,2516}\n"
		   "1.1.1.0\t24\t4837_{4808,9929}\n"
		   "1.2.3.0\t24\t{1,2}_{3,4}_5\n"
		   "1.2.4.0\t24\t7_7_{7,8}\n"
		   "   # indented comment\n"
		   "  \t \n"
		   "2001:db8::\t32\t64496\n"
		   "2001:db8:ffff::\t48\t64497_64498\n"
		   "8.8.8.0 24 15169\n"
		   "9.9.9.0  \t 24 \t 19281  \n"
		   "3.0.0.0\t8\t16509"); /* no final newline */
	assert_int_equal(asn_table_size(t), 11);
	assert_string_equal(who(t, "1.0.0.1"), "13335/24");
	assert_string_equal(who(t, "1.0.5.1"), "38803_56203/22");
	assert_string_equal(who(t, "1.0.100.1"), "18144_2516/18");
	assert_string_equal(who(t, "1.1.1.1"), "4837_4808_9929/24");
	assert_string_equal(who(t, "1.2.3.4"), "1_2_3_4/24"); /* the fifth is cut */
	assert_string_equal(who(t, "1.2.4.4"), "7_8/24");     /* duplicates dropped */
	assert_string_equal(who(t, "2001:db8::1"), "64496/32");
	assert_string_equal(who(t, "2001:db8:ffff::1"), "64497_64498/48");
	assert_string_equal(who(t, "8.8.8.8"), "15169/24");
	assert_string_equal(who(t, "9.9.9.9"), "19281/24");
	assert_string_equal(who(t, "3.3.3.3"), "16509/8");
	assert_string_equal(who(t, "1.0.1.0"), "-");
	/* The largest AS number there is, and a later file replacing an earlier one. */
	load_ok(t, "1.0.0.0\t24\t4294967295\n");
	assert_string_equal(who(t, "1.0.0.1"), "4294967295/24");
	assert_int_equal(asn_table_size(t), 11);
	asn_table_free(t);
}

static void test_load_crlf(void **state)
{
	hw_asn_table_t *t = asn_table_new();

	(void)state;
	load_ok(t, "# comment\r\n\r\n1.0.0.0\t24\t13335\r\n2001:db8::\t32\t64496_64497\r\n");
	assert_int_equal(asn_table_size(t), 2);
	assert_string_equal(who(t, "1.0.0.9"), "13335/24");
	assert_string_equal(who(t, "2001:db8::9"), "64496_64497/32");
	/* A bad line's number counts CRLF lines like any other. */
	char err[256] = "";
	assert_int_equal(load(t, "\r\n1.0.0.0\t24\t1\r\n1.0.0.0\t24\tx\r\n", err, sizeof(err)),
			 HW_ERR_MALFORMED);
	assert_string_equal(err, "pfx:3: bad AS 'x'");
	asn_table_free(t);
}

static void test_load_empty(void **state)
{
	hw_asn_table_t *t = asn_table_new();
	char err[64] = "";

	(void)state;
	assert_int_equal(asn_table_load_buf(t, NULL, 0, "x", err, sizeof(err)), HW_OK);
	assert_int_equal(asn_table_load_buf(t, "", 0, "x", err, sizeof(err)), HW_OK);
	load_ok(t, "\n\n# nothing\n");
	assert_int_equal(asn_table_size(t), 0);
	asn_table_free(t);
}

struct bad_case {
	const char *line;
	const char *why;
};

static const struct bad_case bad_lines[] = {
	{"1.0.0\t24\t13335", "bad address '1.0.0'"},
	{"1.0.0.256\t24\t13335", "bad address '1.0.0.256'"},
	{"2001:db8:::\t32\t1", "bad address '2001:db8:::'"},
	{"example.net\t24\t1", "bad address 'example.net'"},
	{"1.0.0.0/24\t13335", "bad address '1.0.0.0/24'"},
	{"1.0.0.0", "missing length"},
	{"1.0.0.0\t\t ", "missing length"},
	{"1.0.0.0\t24", "missing AS"},
	{"1.0.0.0\t24\t", "missing AS"},
	{"1.0.0.0\t33\t13335", "bad length '33': beyond 32"},
	{"2001:db8::\t129\t1", "bad length '129': beyond 128"},
	{"1.0.0.0\t-1\t1", "bad length '-1'"},
	{"1.0.0.0\t2x\t1", "bad length '2x'"},
	{"1.0.0.0\t0024\t1", "bad length '0024'"},
	{"1.0.0.0\t24\tAS13335", "bad AS 'AS13335'"},
	{"1.0.0.0\t24\t13335x", "bad AS '13335x'"},
	{"1.0.0.0\t24\t-5", "bad AS '-5'"},
	{"1.0.0.0\t24\t0", "bad AS '0': AS 0 is reserved"},
	{"1.0.0.0\t24\t13335_0", "bad AS '13335_0': AS 0 is reserved"},
	{"1.0.0.0\t24\t4294967296", "bad AS '4294967296': beyond 4294967295"},
	{"1.0.0.0\t24\t99999999999999999999999", "bad AS '99999999999999999999999': beyond 4294967295"},
	{"1.0.0.0\t24\t13335_", "bad AS '13335_'"},
	{"1.0.0.0\t24\t_13335", "bad AS '_13335'"},
	{"1.0.0.0\t24\t1__2", "bad AS '1__2'"},
	{"1.0.0.0\t24\t{}", "bad AS '{}'"},
	{"1.0.0.0\t24\t{1,2", "bad AS '{1,2'"},
	{"1.0.0.0\t24\t{1,}", "bad AS '{1,}'"},
	{"1.0.0.0\t24\t1,2", "bad AS '1,2'"},
	{"1.0.0.0\t24\t{1}{2}", "bad AS '{1}{2}'"},
	{"1.0.0.0\t24\t13335\t15169", "trailing garbage '15169'"},
	{"1.0.0.0\t24\t13335 # comment", "trailing garbage '# comment'"},
	{"1.0.0.0\t24\t13335\r\r", "bad AS '13335?'"},
	{"1.0.0.0\t24\t1\x1b[31m", "bad AS '1?[31m'"},
};

/* Each bad line, after a good one and before another: the good one before is loaded. */
static void test_bad_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		hw_asn_table_t *t = asn_table_new();
		char text[256], err[256] = "", want[256];
		int rc;

		snprintf(text, sizeof(text), "# test\n192.0.2.0\t24\t64496\n%s\n198.51.100.0\t24\t64497\n",
			 bad_lines[i].line);
		snprintf(want, sizeof(want), "pfx:3: %s", bad_lines[i].why);
		rc = load(t, text, err, sizeof(err));
		if (rc != HW_ERR_MALFORMED || strcmp(err, want) != 0)
			fail_msg("line '%s': rc %d, '%s', want '%s'", bad_lines[i].line, rc, err, want);
		assert_int_equal(asn_table_size(t), 1);
		assert_string_equal(who(t, "192.0.2.1"), "64496/24");
		assert_string_equal(who(t, "198.51.100.1"), "-");
		asn_table_free(t);
	}
}

static void test_bad_bytes(void **state)
{
	hw_asn_table_t *t = asn_table_new();
	static const char nul[] = "1.2.3.4\0x\t32\t1\n";
	char err[256] = "";

	(void)state;
	/* A NUL inside the address must not cut it short. */
	assert_int_equal(asn_table_load_buf(t, nul, sizeof(nul) - 1, "nul", err, sizeof(err)),
			 HW_ERR_MALFORMED);
	assert_string_equal(err, "nul:1: bad address '1.2.3.4?x'");
	/* A long field is cut in the message, which stays within err. */
	char text[400];
	memset(text, '9', sizeof(text));
	memcpy(text, "1.0.0.0\t24\t", 11);
	assert_int_equal(asn_table_load_buf(t, text, sizeof(text), "long", err, sizeof(err)),
			 HW_ERR_MALFORMED);
	assert_string_equal(err, "long:1: bad AS '999999999999999999999999999999999999999999999999...': "
				 "beyond 4294967295");
	char tiny[8];
	assert_int_equal(asn_table_load_buf(t, text, sizeof(text), "long", tiny, sizeof(tiny)),
			 HW_ERR_MALFORMED);
	assert_string_equal(tiny, "long:1:");
	assert_int_equal(asn_table_load_buf(t, text, sizeof(text), "long", NULL, 0),
			 HW_ERR_MALFORMED);
	assert_int_equal(asn_table_size(t), 0);
	asn_table_free(t);
}

static void test_load_file(void **state)
{
	hw_asn_table_t *t = asn_table_new();
	char path[] = "/tmp/test_asn_XXXXXX", err[256] = "", want[300];
	int fd = mkstemp(path);
	static const char text[] = "1.0.0.0\t24\t13335\n2001:db8::\t32\t64496\n4.0.0.0\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(asn_table_load(t, path, err, sizeof(err)), HW_ERR_MALFORMED);
	snprintf(want, sizeof(want), "%s:3: missing length", path);
	assert_string_equal(err, want);
	assert_int_equal(asn_table_size(t), 2);
	unlink(path);
	assert_int_equal(asn_table_load(t, path, err, sizeof(err)), HW_ERR_IO);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(asn_table_load(t, "/", err, sizeof(err)), HW_ERR_IO);
	assert_string_equal(err, "/: Is a directory");
	asn_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lpm_basics),
		cmocka_unit_test(test_lpm_random_v4),
		cmocka_unit_test(test_lpm_random_v6),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_insert_args),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_crlf),
		cmocka_unit_test(test_load_empty),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
