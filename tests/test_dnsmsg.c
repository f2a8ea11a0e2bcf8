/* Unit tests for the DNS response reader (question name and rcode). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../src/dnsmsg.h"

/* A response header (id 0x1234, QR set, the given rcode, QDCOUNT 1) then the question. */
static size_t response(uint8_t *buf, const char *name, uint8_t rcode)
{
	static const uint8_t head[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t n = sizeof(head);
	memcpy(buf, head, n);
	buf[3] = (uint8_t)(0x80 | rcode);
	for (const char *label = name; *label != '\0';) {
		const char *dot = strchr(label, '.');
		size_t len = dot != NULL ? (size_t)(dot - label) : strlen(label);
		buf[n++] = (uint8_t)len;
		memcpy(buf + n, label, len);
		n += len;
		label += len + (dot != NULL);
	}
	buf[n++] = 0;
	memcpy(buf + n, "\x00\x0c\x00\x01", 4); /* PTR IN */
	return n + 4;
}

static void test_servfail_answer(void **state)
{
	(void)state;
	uint8_t buf[512];
	char q[256];
	uint8_t rcode = 99;
	size_t n = response(buf, "2.3.18.198.in-addr.arpa", 2);
	assert_true(dnsmsg_question(buf, n, q, sizeof(q), &rcode));
	assert_string_equal(q, "2.3.18.198.in-addr.arpa");
	assert_int_equal(rcode, 2);
}

static void test_root_and_rcodes(void **state)
{
	(void)state;
	uint8_t buf[512];
	char q[8];
	uint8_t rcode = 99;
	size_t n = response(buf, "", 3);
	assert_true(dnsmsg_question(buf, n, q, sizeof(q), &rcode));
	assert_string_equal(q, "");
	assert_int_equal(rcode, 3);
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t buf[512];
	char q[256];
	uint8_t rcode = 99;
	size_t n = response(buf, "origin.asn.example", 0);

	buf[2] &= 0x7f; /* a query, not a response */
	assert_false(dnsmsg_question(buf, n, q, sizeof(q), &rcode));
	buf[2] |= 0x80;
	buf[5] = 2; /* two questions */
	assert_false(dnsmsg_question(buf, n, q, sizeof(q), &rcode));
	buf[5] = 1;
	buf[12] = 0xc0; /* a compression pointer in the question */
	assert_false(dnsmsg_question(buf, n, q, sizeof(q), &rcode));
	n = response(buf, "origin.asn.example", 0);
	buf[13] = 0; /* a NUL inside a label */
	assert_false(dnsmsg_question(buf, n, q, sizeof(q), &rcode));
	assert_int_equal(rcode, 99); /* untouched by refusals */
}

static void test_every_cut_refused(void **state)
{
	(void)state;
	uint8_t buf[512];
	char q[256];
	uint8_t rcode;
	size_t n = response(buf, "a.bb.ccc", 0);
	size_t question_end = n - 4; /* the name ends before QTYPE/QCLASS */
	for (size_t len = 0; len < question_end; len++)
		assert_false(dnsmsg_question(buf, len, q, sizeof(q), &rcode));
	assert_true(dnsmsg_question(buf, question_end, q, sizeof(q), &rcode));
}

static void test_name_must_fit(void **state)
{
	(void)state;
	uint8_t buf[512];
	char q[16];
	uint8_t rcode;
	/* "abc.defgh.ijklmn" is 16 characters: with its NUL it needs 17 bytes. */
	size_t n = response(buf, "abc.defgh.ijklmn", 0);
	assert_false(dnsmsg_question(buf, n, q, sizeof(q), &rcode));
	n = response(buf, "abc.defgh.ijklm", 0);
	assert_true(dnsmsg_question(buf, n, q, sizeof(q), &rcode));
	assert_string_equal(q, "abc.defgh.ijklm");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_servfail_answer),
		cmocka_unit_test(test_root_and_rcodes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_every_cut_refused),
		cmocka_unit_test(test_name_must_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
