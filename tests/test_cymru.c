/* Unit tests for the Team Cymru answer parser and query names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/cymru.h>
#include <hopwatch/status.h>

static int parse(const char *text, struct hw_cymru_origin *o)
{
	return cymru_parse_origin((const unsigned char *)text, strlen(text), o);
}

static struct hw_addr A(const char *text)
{
	struct hw_addr a;

	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	return a;
}

static void test_origin_v4(void **state)
{
	struct hw_cymru_origin o;
	char buf[HW_ADDRSTRLEN];

	(void)state;
	assert_int_equal(parse("4837 | 198.18.0.0/15 | CN | apnic | 2008-01-01", &o), HW_OK);
	assert_int_equal(o.n_origins, 1);
	assert_int_equal(o.origins[0], 4837);
	assert_string_equal(hw_addr_str(&o.prefix, buf, sizeof(buf)), "198.18.0.0");
	assert_int_equal(o.prefix_len, 15);
	assert_string_equal(o.cc, "CN");
	/* Spacing varies; the date and registry are not needed. */
	assert_int_equal(parse("  23028|216.90.108.0/24|us  ", &o), HW_OK);
	assert_int_equal(o.origins[0], 23028);
	assert_string_equal(o.cc, "US");
	assert_int_equal(parse("4294967295 | 0.0.0.0/0", &o), HW_OK);
	assert_int_equal(o.origins[0], 4294967295u);
	assert_int_equal(o.prefix_len, 0);
	assert_string_equal(o.cc, "");
}

static void test_origin_moas_v6(void **state)
{
	struct hw_cymru_origin o;

	(void)state;
	assert_int_equal(parse("4837 4808  4837 9929 | 2001:db8::/32 | CN | apnic | 2008", &o),
			 HW_OK);
	assert_int_equal(o.n_origins, 3); /* the repeated 4837 counts once */
	assert_int_equal(o.origins[0], 4837);
	assert_int_equal(o.origins[1], 4808);
	assert_int_equal(o.origins[2], 9929);
	assert_int_equal(o.prefix.family, AF_INET6);
	assert_int_equal(o.prefix_len, 32);
	/* More than HW_ORIGINS_MAX: the first ones kept. */
	assert_int_equal(parse("1 2 3 4 5 6 | 10.0.0.0/8", &o), HW_OK);
	assert_int_equal(o.n_origins, HW_ORIGINS_MAX);
	assert_int_equal(o.origins[HW_ORIGINS_MAX - 1], HW_ORIGINS_MAX);
}

static void test_origin_bad(void **state)
{
	static const char *const bad[] = {
		"", "|", "4837", "4837 |", "| 198.18.0.0/15", "0 | 198.18.0.0/15",
		"4294967296 | 198.18.0.0/15", "-1 | 198.18.0.0/15", "+1 | 198.18.0.0/15",
		"48x37 | 198.18.0.0/15", "NA | 198.18.0.0/15", "4837 | 198.18.0.0",
		"4837 | 198.18.0.0/33", "4837 | 2001:db8::/129", "4837 | 198.18.0.0/",
		"4837 | 198.18.0.0/1x", "4837 | host/24", "4837 | 198.18.0.0/00x",
		"1|2|3|4|5|6|7|8|9", "12345678901 | 10.0.0.0/8",
		"4837 | 198.18.0.0/15 extra",
	};
	struct hw_cymru_origin o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&o, 0xa5, sizeof(o));
		if (parse(bad[i], &o) != HW_ERR_MALFORMED)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(o.n_origins, 0);
	}
	/* A NUL inside the record. */
	assert_int_equal(cymru_parse_origin((const unsigned char *)"4837\0 | 10.0.0.0/8", 18, &o),
			 HW_ERR_MALFORMED);
	/* Only the given length is read: "4837 | 10.0.0.0/8" cut before its length. */
	assert_int_equal(cymru_parse_origin((const unsigned char *)"4837 | 10.0.0.0/8", 12, &o),
			 HW_ERR_MALFORMED);
}

static void test_pick(void **state)
{
	const char *recs[] = {
		"64500 | 198.18.0.0/15 | ZZ | lab | 2024-01-01",
		"garbage",
		"64501 | 198.18.3.0/24 | ZZ | lab | 2024-01-01",
		"64502 | 198.18.3.0/24 | ZZ | lab | 2024-01-01",
		"64503 | 198.18.4.0/24 | ZZ | lab | 2024-01-01", /* does not cover */
		"64509 | 2001:db8::/32",                       /* other family */
	};
	const unsigned char *texts[6];
	size_t lens[6];
	struct hw_cymru_origin o;
	struct hw_addr a = A("198.18.3.1");

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		texts[i] = (const unsigned char *)recs[i];
		lens[i] = strlen(recs[i]);
	}
	assert_int_equal(cymru_pick_origin(texts, lens, 6, &a, &o), HW_OK);
	assert_int_equal(o.prefix_len, 24);
	assert_int_equal(o.n_origins, 2);
	assert_int_equal(o.origins[0], 64501);
	assert_int_equal(o.origins[1], 64502);
	/* Only the /15 covers 198.19.0.1. */
	a = A("198.19.0.1");
	assert_int_equal(cymru_pick_origin(texts, lens, 6, &a, &o), HW_OK);
	assert_int_equal(o.origins[0], 64500);
	assert_int_equal(o.n_origins, 1);
	a = A("10.0.0.1");
	assert_int_equal(cymru_pick_origin(texts, lens, 6, &a, &o), HW_ERR_MALFORMED);
	assert_int_equal(cymru_pick_origin(texts, lens, 0, &a, &o), HW_ERR_MALFORMED);
}

static void test_asname(void **state)
{
	const char *ok = "4837 | CN | apnic | 2000-01-01 | CHINA169-BACKBONE CHINA UNICOM "
			 "China169 Backbone, CN";
	char name[CYMRU_ASNAME_LEN];

	(void)state;
	assert_int_equal(cymru_parse_asname((const unsigned char *)ok, strlen(ok), 4837, name,
					    sizeof(name)), HW_OK);
	assert_string_equal(name, "CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN");
	/* Another AS's record is refused. */
	assert_int_equal(cymru_parse_asname((const unsigned char *)ok, strlen(ok), 4808, name,
					    sizeof(name)), HW_ERR_MALFORMED);
	assert_string_equal(name, "");
	/* A '|' inside the name stays part of it. */
	const char *pipe = "64500 | ZZ | lab | 2024 | LAB-A | with a pipe ";
	assert_int_equal(cymru_parse_asname((const unsigned char *)pipe, strlen(pipe), 64500,
					    name, sizeof(name)), HW_OK);
	assert_string_equal(name, "LAB-A | with a pipe");
	/* Cut to the buffer. */
	assert_int_equal(cymru_parse_asname((const unsigned char *)ok, strlen(ok), 4837, name, 9),
			 HW_OK);
	assert_string_equal(name, "CHINA169");
	static const char *const bad[] = {
		"4837 | CN | apnic | 2000-01-01", "4837 | CN | apnic | 2000-01-01 |   ",
		"x | CN | apnic | 2000 | NAME", "", "| | | | NAME",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cymru_parse_asname((const unsigned char *)bad[i], strlen(bad[i]), 4837, name,
				       sizeof(name)) != HW_ERR_MALFORMED)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

static void test_clean(void **state)
{
	char out[32];

	(void)state;
	/* Controls and broken UTF-8 become '?'; good UTF-8 stays. */
	assert_int_equal(hw_text_clean((const unsigned char *)"a\x01" "b\n\xff", 5, out,
				       sizeof(out)), 5);
	assert_string_equal(out, "a?b??");
	assert_int_equal(hw_text_clean((const unsigned char *)"caf\xc3\xa9", 5, out, sizeof(out)), 5);
	assert_string_equal(out, "caf\xc3\xa9");
	/* Overlong, surrogate, C1 control, truncated sequence. */
	assert_int_equal(hw_text_clean((const unsigned char *)"\xc0\xaf", 2, out, sizeof(out)), 2);
	assert_string_equal(out, "??");
	assert_int_equal(hw_text_clean((const unsigned char *)"\xed\xa0\x80", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "???");
	assert_int_equal(hw_text_clean((const unsigned char *)"\xc2\x85", 2, out, sizeof(out)), 2);
	assert_string_equal(out, "??");
	assert_int_equal(hw_text_clean((const unsigned char *)"x\xe2\x82", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "x??");
	/* A character that does not fit is left out whole. */
	assert_int_equal(hw_text_clean((const unsigned char *)"ab\xc3\xa9", 4, out, 4), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(hw_text_clean((const unsigned char *)"abc", 3, out, 1), 0);
	assert_string_equal(out, "");
}

static void test_qnames(void **state)
{
	char buf[CYMRU_QNAME_LEN];
	struct hw_addr a = A("198.18.3.1");

	(void)state;
	assert_int_equal(cymru_origin_qname(&a, CYMRU_ZONE, buf, sizeof(buf)), HW_OK);
	assert_string_equal(buf, "1.3.18.198.origin.asn.cymru.com");
	a = A("2001:db8::1");
	assert_int_equal(cymru_origin_qname(&a, "asn.lab", buf, sizeof(buf)), HW_OK);
	assert_string_equal(buf, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
				 ".origin6.asn.lab");
	assert_int_equal(cymru_asname_qname(4837, CYMRU_ZONE, buf, sizeof(buf)), HW_OK);
	assert_string_equal(buf, "AS4837.asn.cymru.com");
	assert_int_equal(cymru_asname_qname(0, CYMRU_ZONE, buf, sizeof(buf)), HW_ERR_INVAL);
	assert_int_equal(cymru_origin_qname(&a, "asn.lab", buf, 20), HW_ERR_INVAL);
	a = A("198.18.3.1");
	assert_int_equal(cymru_origin_qname(&a, "asn.lab", buf, 10), HW_ERR_INVAL);
	static const char *const bad[] = {"", ".", "a..b", ".a", "a.", "a b", "a/b", "ä"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(cymru_zone_ok(bad[i]));
		assert_int_equal(cymru_origin_qname(&a, bad[i], buf, sizeof(buf)), HW_ERR_INVAL);
	}
	assert_true(cymru_zone_ok("asn.cymru.com"));
	assert_true(cymru_zone_ok("x_y-1.lab"));
	assert_false(cymru_zone_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_v4),   cmocka_unit_test(test_origin_moas_v6),
		cmocka_unit_test(test_origin_bad),  cmocka_unit_test(test_pick),
		cmocka_unit_test(test_asname),      cmocka_unit_test(test_clean),
		cmocka_unit_test(test_qnames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
