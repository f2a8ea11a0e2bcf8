/* The Doubletree stop set: membership, growth, its bound, and the start TTL rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include <hopwatch/status.h>
#include <hopwatch/stopset.h>

static struct hw_addr v4(uint32_t n)
{
	uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
	struct hw_addr a;
	hw_addr_set(&a, AF_INET, b);
	return a;
}

static struct hw_addr v6(uint32_t n)
{
	uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
	b[12] = (uint8_t)(n >> 24);
	b[13] = (uint8_t)(n >> 16);
	b[14] = (uint8_t)(n >> 8);
	b[15] = (uint8_t)n;
	struct hw_addr a;
	hw_addr_set(&a, AF_INET6, b);
	return a;
}

static void test_add_and_has(void **state)
{
	(void)state;
	hw_stopset_t *s = stopset_new(0);
	assert_non_null(s);
	struct hw_addr a = v4(0xc6120101), b = v4(0xc6120102), c = v6(0xc6120101);
	assert_false(stopset_has(s, &a, 0));
	assert_int_equal(stopset_add(s, &a, 0), HW_OK);
	assert_true(stopset_has(s, &a, 0));
	assert_false(stopset_has(s, &b, 0));
	/* The same bytes in another family are another interface. */
	assert_false(stopset_has(s, &c, 0));
	assert_int_equal(stopset_add(s, &a, 0), HW_OK);
	assert_int_equal(stopset_size(s), 1);
	assert_int_equal(stopset_add(s, &c, 0), HW_OK);
	assert_true(stopset_has(s, &c, 0));
	assert_int_equal(stopset_size(s), 2);
	struct hw_addr unset;
	memset(&unset, 0, sizeof(unset));
	assert_int_equal(stopset_add(s, &unset, 0), HW_ERR_INVAL);
	assert_false(stopset_has(s, &unset, 0));
	/* Bytes past the family's length do not make another address. */
	struct hw_addr dirty = a;
	dirty.a[9] = 0x55;
	assert_true(stopset_has(s, &dirty, 0));
	assert_null(stopset_free(s));
	assert_null(stopset_free(NULL));
}

static void test_grows_and_keeps_everything(void **state)
{
	(void)state;
	hw_stopset_t *s = stopset_new(0);
	assert_non_null(s);
	for (uint32_t i = 0; i < 20000; i++) {
		struct hw_addr a = (i & 1) ? v6(i) : v4(0xc6130000u + i);
		assert_int_equal(stopset_add(s, &a, 0), HW_OK);
	}
	assert_int_equal(stopset_size(s), 20000);
	for (uint32_t i = 0; i < 20000; i++) {
		struct hw_addr a = (i & 1) ? v6(i) : v4(0xc6130000u + i);
		struct hw_addr other = (i & 1) ? v4(0xc6130000u + i) : v6(i);
		assert_true(stopset_has(s, &a, 0));
		assert_false(stopset_has(s, &other, 0));
	}
	stopset_free(s);
}

static void test_bounded(void **state)
{
	(void)state;
	hw_stopset_t *s = stopset_new(100);
	assert_non_null(s);
	for (uint32_t i = 0; i < 100; i++) {
		struct hw_addr a = v4(i + 1);
		assert_int_equal(stopset_add(s, &a, 0), HW_OK);
	}
	struct hw_addr extra = v4(1000), old = v4(50);
	assert_int_equal(stopset_add(s, &extra, 0), HW_ERR_NOMEM);
	assert_false(stopset_has(s, &extra, 0));
	/* What is in stays in, and adding it again is fine. */
	assert_int_equal(stopset_add(s, &old, 0), HW_OK);
	assert_int_equal(stopset_size(s), 100);
	stopset_free(s);
}

static void test_members(void **state)
{
	(void)state;
	hw_stopset_t *s = stopset_new(0);
	assert_non_null(s);
	uint32_t m1 = stopset_member(s), m2 = stopset_member(s);
	assert_int_not_equal(m1, 0);
	assert_int_not_equal(m2, 0);
	assert_int_not_equal(m1, m2);
	struct hw_addr a = v4(0xc6120101), b = v4(0xc6120202);
	assert_int_equal(stopset_add(s, &a, m1), HW_OK);
	/* What a member saw alone is not known to it as another's. */
	assert_false(stopset_has(s, &a, m1));
	assert_true(stopset_has(s, &a, m2));
	assert_true(stopset_has(s, &a, 0));
	/* The first member keeps it. */
	assert_int_equal(stopset_add(s, &a, m2), HW_OK);
	assert_false(stopset_has(s, &a, m1));
	assert_int_equal(stopset_add(s, &b, 0), HW_OK);
	assert_true(stopset_has(s, &b, m1));
	assert_true(stopset_has(s, &b, m2));
	stopset_free(s);
}

static void test_start_ttl_rule(void **state)
{
	(void)state;
	hw_stopset_t *s = stopset_new(0);
	assert_non_null(s);
	/* Nothing seen: probe from the first TTL. */
	assert_int_equal(stopset_start_ttl(s, 1, 30), 1);
	assert_int_equal(stopset_start_ttl(NULL, 2, 30), 2);
	assert_int_equal(stopset_distances(s), 0);
	stopset_note_distance(s, 0); /* ignored */
	assert_int_equal(stopset_distances(s), 0);
	/* One destination at 10: start there (reaching it exactly costs nothing). */
	stopset_note_distance(s, 10);
	assert_int_equal(stopset_distances(s), 1);
	assert_int_equal(stopset_start_ttl(s, 1, 30), 10);
	/* Within the range asked for. */
	assert_int_equal(stopset_start_ttl(s, 1, 6), 6);
	assert_int_equal(stopset_start_ttl(s, 12, 30), 12);
	/* A nearer one pulls h down while it is more than 5 % of those seen. */
	stopset_note_distance(s, 4);
	assert_int_equal(stopset_start_ttl(s, 1, 30), 4);
	for (int i = 0; i < 18; i++)
		stopset_note_distance(s, 10);
	/* 20 seen, 1 at 4 = 5 %: the first probe may go past at most 5 % of them. */
	assert_int_equal(stopset_distances(s), 20);
	assert_int_equal(stopset_start_ttl(s, 1, 30), 10);
	stopset_note_distance(s, 2);
	/* 2 of 21 would be passed at 10: back to the nearest but one. */
	assert_int_equal(stopset_start_ttl(s, 1, 30), 4);
	stopset_free(s);
}

static void test_start_ttl_far(void **state)
{
	(void)state;
	hw_stopset_t *s = stopset_new(0);
	assert_non_null(s);
	stopset_note_distance(s, 1);
	/* The nearest destination is the first hop: nothing to skip. */
	assert_int_equal(stopset_start_ttl(s, 1, 30), 1);
	hw_stopset_t *t = stopset_new(0);
	stopset_note_distance(t, 255);
	assert_int_equal(stopset_start_ttl(t, 1, 255), 255);
	assert_int_equal(stopset_start_ttl(t, 1, 40), 40);
	assert_int_equal(stopset_start_ttl(t, 1, 1), 1);
	stopset_free(s);
	stopset_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_has),
		cmocka_unit_test(test_grows_and_keeps_everything),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_start_ttl_rule),
		cmocka_unit_test(test_start_ttl_far),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
