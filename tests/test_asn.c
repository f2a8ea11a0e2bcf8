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
	/* Replacing a prefix that longer ones hide entirely adds nothing, changes nothing seen. */
	insert(t, "198.51.100.0", 23, 5);
	assert_int_equal(asn_table_size(t), 6);
	assert_string_equal(who(t, "198.51.100.1"), "1/24");
	assert_string_equal(who(t, "198.51.101.1"), "2/24");
	insert(t, "10.0.0.0", 15, 6);
	insert(t, "10.0.0.0", 16, 7);
	insert(t, "10.1.0.0", 16, 8);
	insert(t, "10.0.0.0", 15, 9);
	assert_int_equal(asn_table_size(t), 9);
	assert_string_equal(who(t, "10.1.0.1"), "8/16");
	/* A shorter prefix added after longer ones fills only what they leave. */
	insert(t, "10.0.0.0", 8, 10);
	insert(t, "10.0.0.0", 0, 11);
	assert_string_equal(who(t, "10.0.0.1"), "7/16");
	assert_string_equal(who(t, "10.2.0.1"), "10/8");
	assert_string_equal(who(t, "11.0.0.1"), "11/0");
	assert_int_equal(asn_table_size(t), 11);
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
		   "1.2.5.0\t24\t4837,4808\n"
		   "1.2.6.0\t24\t4837_4808,9929\n"
		   "1.2.7.0\t24\t{1,2},3_4\n"
		   "   # indented comment\n"
		   "  \t \n"
		   "2001:db8::\t32\t64496\n"
		   "2001:db8:ffff::\t48\t64497_64498\n"
		   "8.8.8.0 24 15169\n"
		   "9.9.9.0  \t 24 \t 19281  \n"
		   "3.0.0.0\t8\t16509"); /* no final newline */
	assert_int_equal(asn_table_size(t), 14);
	assert_string_equal(who(t, "1.0.0.1"), "13335/24");
	/* Bare AS sets, alone and mixed with MOAS. */
	assert_string_equal(who(t, "1.2.5.1"), "4837_4808/24");
	assert_string_equal(who(t, "1.2.6.1"), "4837_4808_9929/24");
	assert_string_equal(who(t, "1.2.7.1"), "1_2_3_4/24");
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
	assert_int_equal(asn_table_size(t), 14);
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
	{"1.0.0.0\t24\t1,", "bad AS '1,'"},
	{"1.0.0.0\t24\t,1", "bad AS ',1'"},
	{"1.0.0.0\t24\t1,,2", "bad AS '1,,2'"},
	{"1.0.0.0\t24\t1_,2", "bad AS '1_,2'"},
	{"1.0.0.0\t24\t1,2,0", "bad AS '1,2,0': AS 0 is reserved"},
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

/* ---- AS names ---- */

static int names_load(hw_as_names_t *n, const char *text, char *err, size_t errlen)
{
	return as_names_load_buf(n, text, strlen(text), "names", err, errlen);
}

static void names_ok(hw_as_names_t *n, const char *text)
{
	char err[256] = "";

	if (names_load(n, text, err, sizeof(err)) != HW_OK)
		fail_msg("%s", err);
}

static const char *name_of(const hw_as_names_t *n, uint32_t asn)
{
	const char *s = as_names_get(n, asn);

	return s ? s : "(none)";
}

static void test_names_set(void **state)
{
	hw_as_names_t *n = as_names_new();

	(void)state;
	assert_non_null(n);
	assert_null(as_names_get(n, 1));
	assert_int_equal(as_names_set(n, 4837, "CHINA169"), HW_OK);
	assert_int_equal(as_names_set(n, 0, "zero"), HW_OK);
	assert_int_equal(as_names_set(n, 4294967295u, "last"), HW_OK);
	assert_string_equal(name_of(n, 4837), "CHINA169");
	assert_string_equal(name_of(n, 0), "zero");
	assert_string_equal(name_of(n, 4294967295u), "last");
	assert_null(as_names_get(n, 4838));
	/* Replaced, copied, trimmed; an empty name is refused. */
	char buf[32] = "  China Unicom\t";
	assert_int_equal(as_names_set(n, 4837, buf), HW_OK);
	memset(buf, 'x', sizeof(buf) - 1);
	assert_string_equal(name_of(n, 4837), "China Unicom");
	assert_int_equal(as_names_set(n, 4837, " \t"), HW_ERR_INVAL);
	assert_int_equal(as_names_set(n, 4837, NULL), HW_ERR_INVAL);
	assert_int_equal(as_names_set(NULL, 4837, "x"), HW_ERR_INVAL);
	assert_string_equal(name_of(n, 4837), "China Unicom");
	/* Control characters, C1 controls and broken UTF-8 become '?'; good UTF-8 stays. */
	assert_int_equal(as_names_set(n, 1, "a\x1b[31mb\x7f"), HW_OK);
	assert_string_equal(name_of(n, 1), "a?[31mb?");
	assert_int_equal(as_names_set(n, 2, "Telef\xc3\xb4nica \xe2\x82\xac \xf0\x9f\x98\x80"), HW_OK);
	assert_string_equal(name_of(n, 2), "Telef\xc3\xb4nica \xe2\x82\xac \xf0\x9f\x98\x80");
	assert_int_equal(as_names_set(n, 3, "x\xc2\x9b" "1m\xff\xc3(\xe0\x80\x80\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82"), HW_OK);
	assert_string_equal(name_of(n, 3), "x?1m??" "(" "???" "???" "????" "??");
	/* Many: the map grows and keeps them all. */
	for (uint32_t a = 100000; a < 105000; a++) {
		char name[32];

		snprintf(name, sizeof(name), "AS-%u", a * 7);
		assert_int_equal(as_names_set(n, a * 7, name), HW_OK);
	}
	for (uint32_t a = 100000; a < 105000; a++) {
		char name[32];

		snprintf(name, sizeof(name), "AS-%u", a * 7);
		assert_string_equal(name_of(n, a * 7), name);
		assert_null(as_names_get(n, a * 7 + 1));
	}
	assert_string_equal(name_of(n, 4837), "China Unicom");
	as_names_free(n);
	assert_null(as_names_free(NULL));
	assert_null(as_names_get(NULL, 1));
}

static void test_names_plain(void **state)
{
	hw_as_names_t *n = as_names_new();

	(void)state;
	names_ok(n, "# asn|name\n"
		    "4837|CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN\n"
		    "AS3356|LEVEL3\r\n"
		    "\n"
		    "15169 Google LLC\n"
		    "as13335\t  Cloudflare, Inc.  \n"
		    "64496|a|b|c\n"
		    "  174 | COGENT-174 \n");
	assert_string_equal(name_of(n, 4837), "CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN");
	assert_string_equal(name_of(n, 3356), "LEVEL3");
	assert_string_equal(name_of(n, 15169), "Google LLC");
	assert_string_equal(name_of(n, 13335), "Cloudflare, Inc.");
	assert_string_equal(name_of(n, 64496), "a|b|c");
	assert_string_equal(name_of(n, 174), "COGENT-174");
	names_ok(n, "3356|Lumen");
	assert_string_equal(name_of(n, 3356), "Lumen");
	asn_table_free(NULL);
	as_names_free(n);
}

#define AUT_FORMAT "# format:aut|changed|aut_name|org_id|opaque_id|source\n"
#define ORG_FORMAT "# format:org_id|changed|org_name|country|source\n"

static const char org_lines[] =
	"# name: AS Org\n"
	ORG_FORMAT
	"LVLT-ARIN|20120130|Level 3 Communications, Inc.|US|ARIN\n"
	"CU-AP|20200101|China Unicom|CN|APNIC\n"
	"NONAME-ARIN|20200101||US|ARIN\n";

static const char aut_lines[] =
	"# name: AS\n"
	AUT_FORMAT
	"3356|20120224|LEVEL3|LVLT-ARIN|e5e3b9c13678dfc483fb1f819d70883c_ARIN|ARIN\n"
	"4837|20200101|CHINA169-BACKBONE|CU-AP|abc|APNIC\r\n"
	"64496|20200101|LONELY|GONE-ARIN||ARIN\n"
	"64497|20200101|ANON|NONAME-ARIN||ARIN\n"
	"64498|20200101||GONE-ARIN||ARIN\n";

static void check_org2info(const hw_as_names_t *n)
{
	assert_string_equal(name_of(n, 3356), "Level 3 Communications, Inc.");
	assert_string_equal(name_of(n, 4837), "China Unicom");
	assert_string_equal(name_of(n, 64496), "LONELY"); /* org unknown */
	assert_string_equal(name_of(n, 64497), "ANON");   /* org nameless */
	assert_null(as_names_get(n, 64498));             /* no name at all */
}

static void test_names_org2info(void **state)
{
	char text[2048];

	(void)state;
	/* Orgs first (as CAIDA writes them), then auts first: the same names. */
	for (int order = 0; order < 2; order++) {
		hw_as_names_t *n = as_names_new();

		snprintf(text, sizeof(text), "# program: x\n%s%s", order ? aut_lines : org_lines,
			 order ? org_lines : aut_lines);
		names_ok(n, text);
		check_org2info(n);
		as_names_free(n);
	}
	/* Plain lines before any format line, then org2info overriding one of them. */
	hw_as_names_t *n = as_names_new();
	snprintf(text, sizeof(text), "3356|old\n1|first\n%s%s", org_lines, aut_lines);
	names_ok(n, text);
	check_org2info(n);
	assert_string_equal(name_of(n, 1), "first");
	/* Columns are found by their names in the format line. */
	names_ok(n, "# format: source | org_name | org_id\n"
		    "RIPE|Example Org|EX-RIPE\n"
		    "# format:aut_name|aut|org_id\n"
		    "EXAMPLE-AS|64499|EX-RIPE\n"
		    "ALONE|64500|\n");
	assert_string_equal(name_of(n, 64499), "Example Org");
	assert_string_equal(name_of(n, 64500), "ALONE");
	as_names_free(n);
}

static void test_names_bad(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{"1|one\nx|name\n2|two\n", "names:2: bad AS 'x'"},
		{"1|one\n-1|name\n", "names:2: bad AS '-1'"},
		{"1|one\nAS|name\n", "names:2: bad AS 'AS'"},
		{"1|one\n|name\n", "names:2: bad AS ''"},
		{"1|one\n4294967296|name\n", "names:2: bad AS '4294967296': beyond 4294967295"},
		{"1|one\n4837\n", "names:2: missing name"},
		{"1|one\n4837|  \n", "names:2: missing name"},
		{"1|one\n4837x name\n", "names:2: bad AS '4837x'"},
		{AUT_FORMAT "1|x|one|O||ARIN\n2|x|two|O|ARIN\n", "names:3: 5 fields, the format has 6"},
		{AUT_FORMAT "1|x|one|O||ARIN\n2|x|two|O||ARIN|extra\n", "names:3: 7 fields, the format has 6"},
		{AUT_FORMAT "1|x|one|O||ARIN\nAS2x|x|two|O||ARIN\n", "names:3: bad AS 'AS2x'"},
		{ORG_FORMAT "O|x|Org|US|ARIN\n|x|Org|US|ARIN\n", "names:3: missing org_id"},
		{ORG_FORMAT "O|x|Org|US|ARIN\nP|x|Org|US\n", "names:3: 4 fields, the format has 5"},
		{"1|one\n# format:asn|name\n", "names:2: unknown format 'asn|name'"},
		{"1|one\n#format: aut|org_name|org_id\n", "names:2: unknown format ' aut|org_name|org_id'"},
		{"1|one\n# format:a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|aut|aut_name\n",
		 "names:2: unknown format 'a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|aut|aut_name'"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hw_as_names_t *n = as_names_new();
		char err[256] = "";
		int rc = names_load(n, cases[i].text, err, sizeof(err));

		if (rc != HW_ERR_MALFORMED || strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: rc %d '%s', want '%s'", i, rc, err, cases[i].err);
		/* The line before the bad one is loaded, the one after is not. */
		assert_true(as_names_get(n, 1) != NULL || strstr(cases[i].text, "format") != NULL);
		assert_null(as_names_get(n, 2));
		as_names_free(n);
	}
}

/* A bad line in the middle of org2info: the auts before it are named, with the orgs so far. */
static void test_names_bad_midway(void **state)
{
	hw_as_names_t *n = as_names_new();
	char err[256] = "";

	(void)state;
	assert_int_equal(names_load(n, ORG_FORMAT "O1|x|First Org|US|ARIN\n" AUT_FORMAT
					  "1|x|ONE|O1||ARIN\n2|x|TWO|O2||ARIN\n3|x|THREE\n"
					  "4|x|FOUR|O1||ARIN\n" ORG_FORMAT "O2|x|Second Org|US|ARIN\n",
				    err, sizeof(err)),
			 HW_ERR_MALFORMED);
	assert_string_equal(err, "names:6: 3 fields, the format has 6");
	assert_string_equal(name_of(n, 1), "First Org");
	assert_string_equal(name_of(n, 2), "TWO");
	assert_null(as_names_get(n, 3));
	assert_null(as_names_get(n, 4));
	as_names_free(n);
}

static void test_names_file(void **state)
{
	hw_as_names_t *n = as_names_new();
	char path[] = "/tmp/test_asnames_XXXXXX", err[256] = "", want[300];
	int fd = mkstemp(path);
	static const char text[] = "4837|China Unicom\r\n3356|Level 3\r\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(as_names_load(n, path, err, sizeof(err)), HW_OK);
	assert_string_equal(name_of(n, 4837), "China Unicom");
	assert_string_equal(name_of(n, 3356), "Level 3");
	unlink(path);
	assert_int_equal(as_names_load(n, path, err, sizeof(err)), HW_ERR_IO);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(as_names_load_buf(n, NULL, 0, NULL, err, sizeof(err)), HW_OK);
	as_names_free(n);
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
		cmocka_unit_test(test_names_set),
		cmocka_unit_test(test_names_plain),
		cmocka_unit_test(test_names_org2info),
		cmocka_unit_test(test_names_bad),
		cmocka_unit_test(test_names_bad_midway),
		cmocka_unit_test(test_names_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
