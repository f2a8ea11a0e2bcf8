/* Unit tests for target specs: addresses, prefixes and their split, names, files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hopwatch/status.h>
#include <hopwatch/targets.h>

/* ---- helpers ---- */

static struct hw_target_opts defaults(void)
{
	struct hw_target_opts o;

	targets_opts_default(&o);
	return o;
}

/* The text of an address; a few buffers so one assertion may show two. */
static const char *astr(const struct hw_addr *a)
{
	static char bufs[4][HW_ADDRSTRLEN];
	static int next;
	char *b = bufs[next++ % 4];

	return hw_addr_str(a, b, HW_ADDRSTRLEN);
}

static void add_ok(struct hw_target_list *list, const char *spec,
		   const struct hw_target_opts *o)
{
	char err[256] = "";
	int rc = targets_add(list, spec, o, err, sizeof(err));

	if (rc != HW_OK)
		fail_msg("%s: %s", spec, err);
}

/* Adding spec to a list of `before` targets fails with rc and exactly msg; the list is kept. */
static void add_err_to(struct hw_target_list *list, const char *spec,
		       const struct hw_target_opts *o, int rc, const char *msg)
{
	char err[256] = "";
	size_t n = list->n;

	assert_int_equal(targets_add(list, spec, o, err, sizeof(err)), rc);
	assert_string_equal(err, msg);
	assert_int_equal(list->n, n);
}

static void add_err(const char *spec, const struct hw_target_opts *o, const char *msg)
{
	struct hw_target_list list = {0};

	add_err_to(&list, spec, o, HW_ERR_INVAL, msg);
	targets_free(&list);
}

/* Target i of list is addr, standing for network (NULL: none), from spec. */
static void expect(const struct hw_target_list *list, size_t i, const char *spec,
		   const char *addr, const char *network)
{
	const struct hw_target *t = &list->v[i];

	assert_true(i < list->n);
	assert_string_equal(t->spec, spec);
	assert_null(t->name);
	assert_string_equal(astr(&t->addr), addr);
	if (network == NULL) {
		assert_null(t->network);
		assert_true(hw_addr_is_unset(&t->net));
	} else {
		char text[64];

		assert_non_null(t->network);
		assert_string_equal(t->network, network);
		snprintf(text, sizeof(text), "%s/%u", astr(&t->net), t->net_len);
		assert_string_equal(text, network);
	}
}

/* The one target spec makes, checked, then freed. */
static void expect_one(const char *spec, const struct hw_target_opts *o, const char *addr,
		       const char *network)
{
	struct hw_target_list list = {0};

	add_ok(&list, spec, o);
	assert_int_equal(list.n, 1);
	expect(&list, 0, spec, addr, network);
	targets_free(&list);
}

/* ---- addresses and names ---- */

static void test_address(void **state)
{
	(void)state;
	expect_one("192.0.2.1", NULL, "192.0.2.1", NULL);
	expect_one("2001:db8::1", NULL, "2001:db8::1", NULL);
	/* spec keeps what the user wrote; the address is canonical. */
	expect_one("2001:DB8:0::1", NULL, "2001:db8::1", NULL);
}

static void test_name(void **state)
{
	struct hw_target_list list = {0};

	(void)state;
	add_ok(&list, "example.org", NULL);
	add_ok(&list, "router1", NULL);
	add_ok(&list, "www.example.org.", NULL);
	assert_int_equal(list.n, 3);
	assert_string_equal(list.v[0].spec, "example.org");
	assert_string_equal(list.v[0].name, "example.org");
	assert_true(hw_addr_is_unset(&list.v[0].addr));
	assert_null(list.v[0].network);
	assert_string_equal(list.v[2].name, "www.example.org.");
	targets_free(&list);
	assert_int_equal(list.n, 0);
	assert_null(list.v);
	targets_free(&list); /* twice is fine */
	targets_free(NULL);
}

static void test_name_valid(void **state)
{
	char label63[64], label64[65], long_name[300];

	(void)state;
	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'a', 64);
	label64[64] = '\0';
	assert_true(targets_name_valid("example.org"));
	assert_true(targets_name_valid("a"));
	assert_true(targets_name_valid("x-1.example.org."));
	assert_true(targets_name_valid("3com.com"));
	assert_true(targets_name_valid("a.b2"));
	assert_true(targets_name_valid(label63));
	assert_false(targets_name_valid(label64));
	assert_false(targets_name_valid(NULL));
	assert_false(targets_name_valid(""));
	assert_false(targets_name_valid("."));
	assert_false(targets_name_valid("a..b"));
	assert_false(targets_name_valid(".a"));
	assert_false(targets_name_valid("a.b.."));
	assert_false(targets_name_valid("-a.org"));
	assert_false(targets_name_valid("a-.org"));
	assert_false(targets_name_valid("a_b.org"));
	assert_false(targets_name_valid("a b"));
	assert_false(targets_name_valid("10.1"));
	assert_false(targets_name_valid("1.2.3.256"));
	assert_false(targets_name_valid("123"));
	assert_false(targets_name_valid("caf\xc3\xa9.fr"));
	/* 253 characters is the most a name may have; 254 is one too many. */
	memset(long_name, 0, sizeof(long_name));
	for (int i = 0; i < 4; i++) {
		strcat(long_name, label63);
		strcat(long_name, ".");
	}
	long_name[253] = '\0'; /* 4 x 63 + 3 dots + 'a' minus the fourth dot */
	long_name[252] = 'a';
	assert_int_equal(strlen(long_name), 253);
	assert_true(targets_name_valid(long_name));
	strcat(long_name, "."); /* the root's dot does not count */
	assert_true(targets_name_valid(long_name));
	long_name[253] = 'b';
	assert_false(targets_name_valid(long_name));
}

/* ---- prefixes ---- */

static void test_prefix_v4_split(void **state)
{
	struct hw_target_list list = {0};
	const char *spec = "175.45.176.0/22";

	(void)state;
	add_ok(&list, spec, NULL);
	assert_int_equal(list.n, 4);
	expect(&list, 0, spec, "175.45.176.1", "175.45.176.0/24");
	expect(&list, 1, spec, "175.45.177.1", "175.45.177.0/24");
	expect(&list, 2, spec, "175.45.178.1", "175.45.178.0/24");
	expect(&list, 3, spec, "175.45.179.1", "175.45.179.0/24");
	targets_free(&list);

	add_ok(&list, "10.0.0.0/16", NULL);
	assert_int_equal(list.n, 256);
	expect(&list, 255, "10.0.0.0/16", "10.0.255.1", "10.0.255.0/24");
	targets_free(&list);
}

static void test_prefix_v4_long(void **state)
{
	(void)state;
	/* At or beyond the split length: one target standing for the prefix itself. */
	expect_one("192.0.2.0/24", NULL, "192.0.2.1", "192.0.2.0/24");
	expect_one("192.0.2.64/26", NULL, "192.0.2.65", "192.0.2.64/26");
	expect_one("192.0.2.8/30", NULL, "192.0.2.9", "192.0.2.8/30");
	/* /31 and /32 have no network address to skip. */
	expect_one("192.0.2.8/31", NULL, "192.0.2.8", "192.0.2.8/31");
	expect_one("192.0.2.9/32", NULL, "192.0.2.9", "192.0.2.9/32");
}

static void test_prefix_v6(void **state)
{
	struct hw_target_list list = {0};
	const char *spec = "2001:db8::/46";

	(void)state;
	add_ok(&list, spec, NULL);
	assert_int_equal(list.n, 4);
	expect(&list, 0, spec, "2001:db8::1", "2001:db8::/48");
	expect(&list, 1, spec, "2001:db8:1::1", "2001:db8:1::/48");
	expect(&list, 2, spec, "2001:db8:2::1", "2001:db8:2::/48");
	expect(&list, 3, spec, "2001:db8:3::1", "2001:db8:3::/48");
	targets_free(&list);
	expect_one("2001:db8:0:1::/64", NULL, "2001:db8:0:1::1", "2001:db8:0:1::/64");
	expect_one("2001:DB8::/48", NULL, "2001:db8::1", "2001:db8::/48");
	expect_one("2001:db8::/127", NULL, "2001:db8::", "2001:db8::/127");
	expect_one("2001:db8::5/128", NULL, "2001:db8::5", "2001:db8::5/128");
	expect_one("2001:db8::4/126", NULL, "2001:db8::5", "2001:db8::4/126");
}

static void test_prefix_split_opts(void **state)
{
	struct hw_target_opts o = defaults();
	struct hw_target_list list = {0};

	(void)state;
	o.split_v4 = 26;
	add_ok(&list, "192.0.2.0/24", &o);
	assert_int_equal(list.n, 4);
	expect(&list, 0, "192.0.2.0/24", "192.0.2.1", "192.0.2.0/26");
	expect(&list, 1, "192.0.2.0/24", "192.0.2.65", "192.0.2.64/26");
	expect(&list, 2, "192.0.2.0/24", "192.0.2.129", "192.0.2.128/26");
	expect(&list, 3, "192.0.2.0/24", "192.0.2.193", "192.0.2.192/26");
	targets_free(&list);

	/* Split 0: never split. */
	o.split_v4 = 0;
	o.split_v6 = 0;
	expect_one("10.0.0.0/8", &o, "10.0.0.1", "10.0.0.0/8");
	expect_one("2001:db8::/32", &o, "2001:db8::1", "2001:db8::/32");
	expect_one("0.0.0.0/0", &o, "0.0.0.1", "0.0.0.0/0");

	o.split_v6 = 64;
	add_ok(&list, "2001:db8:0:f0::/60", &o);
	assert_int_equal(list.n, 16);
	expect(&list, 15, "2001:db8:0:f0::/60", "2001:db8:0:ff::1", "2001:db8:0:ff::/64");
	targets_free(&list);
}

static void test_prefix_cap(void **state)
{
	struct hw_target_opts o = defaults();
	struct hw_target_list list = {0};

	(void)state;
	/* Exactly at the limit is fine. */
	add_ok(&list, "2001:db8::/32", NULL);
	assert_int_equal(list.n, HW_TARGETS_MAX_DEFAULT);
	expect(&list, 65535, "2001:db8::/32", "2001:db8:ffff::1", "2001:db8:ffff::/48");
	add_err_to(&list, "192.0.2.1", NULL, HW_ERR_INVAL, "too many targets: the limit is 65536");
	targets_free(&list);

	add_err("2001:db8::/31", NULL,
		"2001:db8::/31 would make 131072 targets (one per /48), over the limit of 65536;"
		" split at /47 or shorter to stay within it");
	add_err("0.0.0.0/0", NULL,
		"0.0.0.0/0 would make 16777216 targets (one per /24), over the limit of 65536;"
		" split at /16 or shorter to stay within it");
	o.split_v6 = 128;
	add_err("::/0", &o,
		"::/0 would make 2^128 targets (one per /128), over the limit of 65536;"
		" split at /16 or shorter to stay within it");

	/* The limit counts what the list holds already. */
	o = defaults();
	o.max_targets = 10;
	for (int i = 0; i < 8; i++)
		add_ok(&list, "192.0.2.1", &o);
	add_err_to(&list, "10.0.0.0/22", &o, HW_ERR_INVAL,
		   "10.0.0.0/22 would make 4 targets (one per /24), over the limit of 10"
		   " with those already listed; split at /23 or shorter to stay within it");
	add_ok(&list, "10.0.0.0/23", &o);
	assert_int_equal(list.n, 10);
	add_err_to(&list, "10.0.0.0/24", &o, HW_ERR_INVAL, "too many targets: the limit is 10");
	add_err_to(&list, "example.org", &o, HW_ERR_INVAL, "too many targets: the limit is 10");
	targets_free(&list);
}

/* ---- random picks ---- */

static struct hw_target_opts random_opts(uint64_t seed)
{
	struct hw_target_opts o = defaults();

	o.pick = HW_PICK_RANDOM;
	o.seed = seed;
	return o;
}

/* The random pick for spec (one target) under seed. */
static struct hw_addr pick_one(const char *spec, uint64_t seed)
{
	struct hw_target_opts o = random_opts(seed);
	struct hw_target_list list = {0};
	struct hw_addr a;

	add_ok(&list, spec, &o);
	assert_int_equal(list.n, 1);
	a = list.v[0].addr;
	targets_free(&list);
	return a;
}

static void test_random_deterministic(void **state)
{
	struct hw_target_opts o = random_opts(42);
	struct hw_target_list a = {0}, b = {0};
	int differ = 0;

	(void)state;
	add_ok(&a, "175.45.176.0/22", &o);
	add_ok(&b, "175.45.176.0/22", &o);
	for (size_t i = 0; i < a.n; i++)
		assert_true(hw_addr_eq(&a.v[i].addr, &b.v[i].addr));
	/* The pick depends on the sub-prefix alone, not on what it was split from. */
	{
		struct hw_addr one = pick_one("175.45.177.0/24", 42);

		assert_true(hw_addr_eq(&one, &a.v[1].addr));
	}
	/* Another seed, other picks (for most of 256 networks). */
	targets_free(&b);
	o.seed = 43;
	add_ok(&b, "175.45.176.0/22", &o);
	for (size_t i = 0; i < a.n; i++)
		differ += !hw_addr_eq(&a.v[i].addr, &b.v[i].addr);
	assert_true(differ >= 3);
	targets_free(&a);
	targets_free(&b);
}

static void test_random_bounds_v4(void **state)
{
	struct hw_target_opts o = random_opts(7);
	struct hw_target_list list = {0};
	int seen[4] = {0}, seen31[2] = {0};

	(void)state;
	add_ok(&list, "10.0.0.0/16", &o);
	for (size_t i = 0; i < list.n; i++) {
		const uint8_t *a = list.v[i].addr.a;

		assert_int_equal(a[0], 10);
		assert_int_equal(a[1], 0);
		assert_int_equal(a[2], i); /* in its own /24 */
		assert_true(a[3] != 0 && a[3] != 255);
	}
	targets_free(&list);
	/* A /30 only ever gives its two hosts, both of them over enough seeds. */
	for (uint64_t seed = 0; seed < 200; seed++) {
		struct hw_addr a = pick_one("192.0.2.4/30", seed);

		assert_int_equal(a.a[3] & ~3u, 4);
		seen[a.a[3] & 3]++;
	}
	assert_int_equal(seen[0], 0);
	assert_int_equal(seen[3], 0);
	assert_true(seen[1] > 0 && seen[2] > 0);
	/* A /31 has two hosts; a /32 one. */
	for (uint64_t seed = 0; seed < 100; seed++) {
		struct hw_addr a = pick_one("192.0.2.4/31", seed);

		assert_int_equal(a.a[3] & ~1u, 4);
		seen31[a.a[3] & 1]++;
		a = pick_one("192.0.2.9/32", seed);
		assert_string_equal(astr(&a), "192.0.2.9");
	}
	assert_true(seen31[0] > 0 && seen31[1] > 0);
}

static void test_random_bounds_v6(void **state)
{
	struct hw_target_opts o = random_opts(1);
	struct hw_target_list list = {0};
	struct hw_addr prev = {0};
	int seen[4] = {0};

	(void)state;
	add_ok(&list, "2001:db8::/44", &o);
	assert_int_equal(list.n, 16);
	for (size_t i = 0; i < list.n; i++) {
		const struct hw_target *t = &list.v[i];

		/* Inside its /48: the first 48 bits are the network's. */
		assert_memory_equal(t->addr.a, t->net.a, 6);
		assert_false(hw_addr_eq(&t->addr, &t->net));
		assert_false(hw_addr_eq(&t->addr, &prev));
		prev = t->addr;
	}
	targets_free(&list);
	for (uint64_t seed = 0; seed < 200; seed++) {
		struct hw_addr a = pick_one("2001:db8::4/126", seed);

		assert_int_equal(a.a[15] & ~3u, 4);
		seen[a.a[15] & 3]++;
	}
	/* No subnet-router anycast (all zeros); no broadcast in IPv6, so ::7 is fine. */
	assert_int_equal(seen[0], 0);
	assert_true(seen[1] > 0 && seen[2] > 0 && seen[3] > 0);
	for (uint64_t seed = 0; seed < 20; seed++) {
		struct hw_addr a = pick_one("2001:db8::5/128", seed);

		assert_string_equal(astr(&a), "2001:db8::5");
	}
}

/* ---- errors ---- */

static void test_errors_prefix(void **state)
{
	(void)state;
	add_err("10.0.0.5/24", NULL, "host bits set in 10.0.0.5/24 (the network is 10.0.0.0/24)");
	add_err("2001:db8::1/64", NULL,
		"host bits set in 2001:db8::1/64 (the network is 2001:db8::/64)");
	add_err("10.0.0.0/33", NULL, "10.0.0.0/33: prefix length out of range (IPv4: 0..32)");
	add_err("2001:db8::/129", NULL, "2001:db8::/129: prefix length out of range (IPv6: 0..128)");
	add_err("10.0.0.0/99999999999999", NULL,
		"10.0.0.0/99999999999999: prefix length out of range (IPv4: 0..32)");
	add_err("10.0.0.0/4294967320", NULL, /* 2^32 + 24: must not wrap to 24 */
		"10.0.0.0/4294967320: prefix length out of range (IPv4: 0..32)");
	add_err("10.0.0.0/", NULL, "10.0.0.0/: the prefix length must be a number");
	add_err("10.0.0.0/2x", NULL, "10.0.0.0/2x: the prefix length must be a number");
	add_err("10.0.0.0/-8", NULL, "10.0.0.0/-8: the prefix length must be a number");
	add_err("10.0.0.0/+8", NULL, "10.0.0.0/+8: the prefix length must be a number");
	add_err("10.0.0.0/ 8", NULL, "10.0.0.0/ 8: the prefix length must be a number");
	add_err("10.0.0.0/8/8", NULL, "10.0.0.0/8/8: the prefix length must be a number");
	add_err("example.org/24", NULL, "example.org/24: not an address before the '/'");
	add_err("/24", NULL, "/24: not an address before the '/'");
	add_err("10.0.0/24", NULL, "10.0.0/24: not an address before the '/'");
}

static void test_errors_family(void **state)
{
	struct hw_target_opts o = defaults();

	(void)state;
	o.family = AF_INET6;
	add_err("175.45.176.0/22", &o, "175.45.176.0/22 is IPv4, but only IPv6 was asked for");
	add_err("192.0.2.1", &o, "192.0.2.1 is IPv4, but only IPv6 was asked for");
	expect_one("2001:db8::1", &o, "2001:db8::1", NULL);
	o.family = AF_INET;
	add_err("2001:db8::/32", &o, "2001:db8::/32 is IPv6, but only IPv4 was asked for");
	add_err("2001:db8::1", &o, "2001:db8::1 is IPv6, but only IPv4 was asked for");
	expect_one("192.0.2.1", &o, "192.0.2.1", NULL);
	/* A name's family is the resolver's business. */
	{
		struct hw_target_list list = {0};

		add_ok(&list, "example.org", &o);
		targets_free(&list);
	}
}

static void test_errors_spec(void **state)
{
	struct hw_target_opts o = defaults();
	char label64[80], msg[160];

	(void)state;
	add_err("", NULL, "empty target");
	add_err("1.2.3.256", NULL, "1.2.3.256 is not a valid IPv4 address");
	add_err("10.1", NULL, "10.1 is not a valid IPv4 address");
	add_err("2001:db8::g", NULL, "2001:db8::g is not a valid IPv6 address");
	add_err("fe80::1%eth0", NULL, "fe80::1%eth0 is not a valid IPv6 address");
	add_err("exa mple.org", NULL, "exa mple.org: character not allowed in a host name");
	add_err("-foo.org", NULL, "-foo.org: host name label starts with '-'");
	add_err("foo-.org", NULL, "foo-.org: host name label ends with '-'");
	add_err("a..org", NULL, "a..org: empty label in host name");
	add_err("caf\xc3\xa9.fr", NULL, "caf??.fr: not an ASCII host name"
					" (give an international name in its xn-- form)");
	add_err("@file", NULL, "@file: character not allowed in a host name");
	add_err("1.2.3.4.5a.6", NULL, "1.2.3.4.5a.6: not a valid address, nor a host name"
				       " (its last label is numeric)");
	snprintf(label64, sizeof(label64), "%064d.org", 0);
	label64[0] = 'a';
	snprintf(msg, sizeof(msg), "%.64s...: host name label longer than 63 characters", label64);
	add_err(label64, NULL, msg);
	/* Control bytes never reach the user's terminal. */
	add_err("a\x1b[31m", NULL, "a?[31m: character not allowed in a host name");
	o.split_v4 = 33;
	add_err("192.0.2.1", &o, "invalid target options");
	o = defaults();
	o.family = 99;
	add_err("192.0.2.1", &o, "invalid target options");
	/* err may be absent. */
	{
		struct hw_target_list list = {0};

		assert_int_equal(targets_add(&list, "", NULL, NULL, 0), HW_ERR_INVAL);
		assert_int_equal(targets_add(NULL, "x", NULL, NULL, 0), HW_ERR_INVAL);
		assert_int_equal(targets_add(&list, NULL, NULL, NULL, 0), HW_ERR_INVAL);
	}
}

/* ---- files ---- */

/* Adds the targets of text as a file named "t.txt"; returns the status, err filled. */
static int add_text(struct hw_target_list *list, const char *text, size_t len,
		    const struct hw_target_opts *o, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, len, "r");
	int rc;

	assert_non_null(f);
	rc = targets_add_stream(list, f, "t.txt", o, err, errlen);
	fclose(f);
	return rc;
}

static void test_file(void **state)
{
	static const char text[] =
		"# targets for the weekly run\n"
		"\n"
		"192.0.2.1\n"
		"   175.45.176.0/23   # two /24s\r\n"
		"\t\r\n"
		"example.org\r\n"
		"#192.0.2.99\n"
		"2001:db8::1"; /* no final newline */
	struct hw_target_list list = {0};
	char err[256] = "";

	(void)state;
	assert_int_equal(add_text(&list, text, strlen(text), NULL, err, sizeof(err)), HW_OK);
	assert_int_equal(list.n, 5);
	expect(&list, 0, "192.0.2.1", "192.0.2.1", NULL);
	expect(&list, 1, "175.45.176.0/23", "175.45.176.1", "175.45.176.0/24");
	expect(&list, 2, "175.45.176.0/23", "175.45.177.1", "175.45.177.0/24");
	assert_string_equal(list.v[3].name, "example.org");
	expect(&list, 4, "2001:db8::1", "2001:db8::1", NULL);
	targets_free(&list);

	/* A byte order mark and an empty file. */
	assert_int_equal(add_text(&list, "\xef\xbb\xbf" "192.0.2.7\n", 13, NULL, err,
				  sizeof(err)), HW_OK);
	assert_int_equal(list.n, 1);
	assert_int_equal(add_text(&list, "", 0, NULL, err, sizeof(err)), HW_OK);
	assert_int_equal(list.n, 1);
	targets_free(&list);
}

/* text as a file fails with msg, and the list keeps only what it had before. */
static void file_err(const char *text, size_t len, const char *msg)
{
	struct hw_target_list list = {0};
	char err[256] = "";

	add_ok(&list, "192.0.2.200", NULL);
	assert_int_equal(add_text(&list, text, len, NULL, err, sizeof(err)), HW_ERR_INVAL);
	assert_string_equal(err, msg);
	assert_int_equal(list.n, 1);
	assert_string_equal(list.v[0].spec, "192.0.2.200");
	targets_free(&list);
}

static void test_file_errors(void **state)
{
	static const char bad_line[] = "192.0.2.1\n10.0.0.0/22\n# fine\n10.0.0.5/24\n192.0.2.2\n";
	static const char nul[] = "192.0.2.1\n192.0.2.\0002\n";

	(void)state;
	/* The earlier lines' targets are taken back too. */
	file_err(bad_line, strlen(bad_line),
		 "t.txt:4: host bits set in 10.0.0.5/24 (the network is 10.0.0.0/24)");
	file_err("a.org\r\nb.org c.org\r\n", 20, "t.txt:2: one target per line");
	file_err("@other.txt\n", 11, "t.txt:1: @FILE is only allowed on the command line");
	file_err(nul, sizeof(nul) - 1, "t.txt:2: NUL byte in the line");
	file_err("\n\n\nexample..org\n", 16, "t.txt:4: example..org: empty label in host name");
}

static void test_file_path(void **state)
{
	char path[] = "/tmp/test_targets_XXXXXX", arg[64], err[256] = "";
	struct hw_target_list list = {0};
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "192.0.2.1\n198.51.100.0/24\n", 26), 26);
	close(fd);
	assert_int_equal(targets_add_file(&list, path, NULL, err, sizeof(err)), HW_OK);
	assert_int_equal(list.n, 2);
	snprintf(arg, sizeof(arg), "@%s", path);
	assert_int_equal(targets_add_arg(&list, arg, NULL, err, sizeof(err)), HW_OK);
	assert_int_equal(targets_add_arg(&list, "203.0.113.9", NULL, err, sizeof(err)), HW_OK);
	assert_int_equal(list.n, 5);
	expect(&list, 3, "198.51.100.0/24", "198.51.100.1", "198.51.100.0/24");
	expect(&list, 4, "203.0.113.9", "203.0.113.9", NULL);
	unlink(path);

	/* Gone, a directory, nothing after the '@'. */
	assert_int_equal(targets_add_arg(&list, arg, NULL, err, sizeof(err)), HW_ERR_IO);
	snprintf(arg, sizeof(arg), "%s: No such file or directory", path);
	assert_string_equal(err, arg);
	assert_int_equal(targets_add_file(&list, "/", NULL, err, sizeof(err)), HW_ERR_IO);
	assert_string_equal(err, "/: Is a directory");
	assert_int_equal(targets_add_arg(&list, "@", NULL, err, sizeof(err)), HW_ERR_INVAL);
	assert_string_equal(err, "@ needs a file name: @FILE");
	assert_int_equal(list.n, 5);
	targets_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_prefix_v4_split),
		cmocka_unit_test(test_prefix_v4_long),
		cmocka_unit_test(test_prefix_v6),
		cmocka_unit_test(test_prefix_split_opts),
		cmocka_unit_test(test_prefix_cap),
		cmocka_unit_test(test_random_deterministic),
		cmocka_unit_test(test_random_bounds_v4),
		cmocka_unit_test(test_random_bounds_v6),
		cmocka_unit_test(test_errors_prefix),
		cmocka_unit_test(test_errors_family),
		cmocka_unit_test(test_errors_spec),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
