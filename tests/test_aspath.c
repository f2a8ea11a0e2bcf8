/* AS paths and borders from a trace's hops and its annotation (include/hopwatch/aspath.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <hopwatch/aspath.h>
#include <hopwatch/status.h>

static struct hw_addr addr(const char *text)
{
	struct hw_addr a;
	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	return a;
}

static struct hw_trace *new_trace(uint8_t max_ttl)
{
	struct hw_flow f;
	memset(&f, 0, sizeof(f));
	f.method = HW_METHOD_UDP;
	f.src = addr("192.0.2.1");
	f.dst = addr("203.0.113.9");
	struct hw_trace *t = trace_new(&f, 1, max_ttl, 3);
	assert_non_null(t);
	return t;
}

static void reply(struct hw_trace *t, uint8_t ttl, const char *from)
{
	struct hw_reply r;
	memset(&r, 0, sizeof(r));
	r.addr = addr(from);
	r.kind = HW_REPLY_TIME_EXCEEDED;
	r.icmp_type = 11;
	assert_int_equal(hop_add_reply(trace_hop(t, ttl), &r), HW_OK);
}

/* Annotates an address with its origin ASes (up to 2 here). */
static void origin(struct hw_trace *t, const char *a, uint32_t asn, uint32_t second)
{
	struct hw_addr x = addr(a);
	struct hw_addr_info *info = trace_info_add(t, &x);
	assert_non_null(info);
	info->asn_status = HW_LOOKUP_OK;
	info->origins[0] = asn;
	info->n_origins = 1;
	if (second != 0) {
		info->origins[1] = second;
		info->n_origins = 2;
	}
}

static void assert_addr_is(const struct hw_addr *a, const char *text)
{
	if (text == NULL) {
		assert_true(hw_addr_is_unset(a));
		return;
	}
	struct hw_addr want = addr(text);
	assert_true(hw_addr_eq(a, &want));
}

static void assert_segment(const struct hw_as_segment *s, uint32_t asn, uint8_t first_ttl,
			   uint8_t last_ttl, const char *first, const char *last)
{
	assert_int_equal(s->asn, asn);
	assert_int_equal(s->first_ttl, first_ttl);
	assert_int_equal(s->last_ttl, last_ttl);
	assert_addr_is(&s->first, first);
	assert_addr_is(&s->last, last);
}

/* 1,2 in AS64500; 3,4 in AS64501; 5 in AS64502: three segments, two borders. */
static void test_merge_consecutive(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(5);
	const char *hops[] = {"198.51.100.1", "198.51.100.2", "203.0.113.1", "203.0.113.2",
			      "203.0.113.9"};
	const uint32_t as[] = {64500, 64500, 64501, 64501, 64502};
	for (uint8_t i = 0; i < 5; i++) {
		reply(t, (uint8_t)(i + 1), hops[i]);
		origin(t, hops[i], as[i], 0);
	}
	struct hw_as_segment *p;
	size_t n;
	assert_int_equal(trace_as_path(t, &p, &n), HW_OK);
	assert_int_equal(n, 3);
	assert_segment(&p[0], 64500, 1, 2, "198.51.100.1", "198.51.100.2");
	assert_segment(&p[1], 64501, 3, 4, "203.0.113.1", "203.0.113.2");
	assert_segment(&p[2], 64502, 5, 5, "203.0.113.9", "203.0.113.9");
	struct hw_as_border *b;
	size_t nb;
	assert_int_equal(as_path_borders(p, n, &b, &nb), HW_OK);
	assert_int_equal(nb, 2);
	assert_int_equal(b[0].from_asn, 64500);
	assert_int_equal(b[0].to_asn, 64501);
	assert_int_equal(b[0].from_ttl, 2);
	assert_int_equal(b[0].to_ttl, 3);
	assert_addr_is(&b[0].from, "198.51.100.2");
	assert_addr_is(&b[0].to, "203.0.113.1");
	assert_int_equal(b[1].from_asn, 64501);
	assert_int_equal(b[1].to_asn, 64502);
	free(b);
	free(p);
	trace_free(t);
}

/* A silent hop and an unannotated one between two ASes: kept as gaps, the border spans them. */
static void test_gaps_kept(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(5);
	reply(t, 1, "198.51.100.1");
	origin(t, "198.51.100.1", 64500, 0);
	/* ttl 2 silent */
	reply(t, 3, "10.0.0.1"); /* private, no origin */
	reply(t, 4, "203.0.113.1");
	origin(t, "203.0.113.1", 64501, 0);
	reply(t, 5, "203.0.113.9");
	origin(t, "203.0.113.9", 64501, 0);
	struct hw_as_segment *p;
	size_t n;
	assert_int_equal(trace_as_path(t, &p, &n), HW_OK);
	/* The silent hop and the unknown one are one gap (both AS 0). */
	assert_int_equal(n, 3);
	assert_segment(&p[0], 64500, 1, 1, "198.51.100.1", "198.51.100.1");
	assert_segment(&p[1], 0, 2, 3, "10.0.0.1", "10.0.0.1");
	assert_segment(&p[2], 64501, 4, 5, "203.0.113.1", "203.0.113.9");
	struct hw_as_border *b;
	size_t nb;
	assert_int_equal(as_path_borders(p, n, &b, &nb), HW_OK);
	assert_int_equal(nb, 1);
	assert_int_equal(b[0].from_asn, 64500);
	assert_int_equal(b[0].to_asn, 64501);
	assert_int_equal(b[0].from_ttl, 1);
	assert_int_equal(b[0].to_ttl, 4);
	free(b);
	free(p);
	trace_free(t);
}

/* A silent gap alone keeps unset interfaces. A, gap, A is no border. */
static void test_a_gap_a(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(4);
	reply(t, 1, "198.51.100.1");
	origin(t, "198.51.100.1", 64500, 0);
	/* ttl 2, 3 silent */
	reply(t, 4, "198.51.100.4");
	origin(t, "198.51.100.4", 64500, 0);
	struct hw_as_segment *p;
	size_t n;
	assert_int_equal(trace_as_path(t, &p, &n), HW_OK);
	assert_int_equal(n, 3);
	assert_segment(&p[0], 64500, 1, 1, "198.51.100.1", "198.51.100.1");
	assert_segment(&p[1], 0, 2, 3, NULL, NULL);
	assert_segment(&p[2], 64500, 4, 4, "198.51.100.4", "198.51.100.4");
	struct hw_as_border *b = (struct hw_as_border *)&b;
	size_t nb = 7;
	assert_int_equal(as_path_borders(p, n, &b, &nb), HW_OK);
	assert_int_equal(nb, 0);
	assert_null(b);
	free(p);
	trace_free(t);
}

/*
 * A hop answering from several ASes: the one continuing the current segment wins when
 * present, else the one most answers come from; `where` is its first interface there.
 */
static void test_multi_as_hop(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(3);
	reply(t, 1, "198.51.100.1");
	origin(t, "198.51.100.1", 64500, 0);
	/* ttl 2: one answer in AS64501, then two in AS64500: continues AS64500 */
	reply(t, 2, "203.0.113.1");
	reply(t, 2, "198.51.100.2");
	reply(t, 2, "198.51.100.3");
	origin(t, "203.0.113.1", 64501, 0);
	origin(t, "198.51.100.2", 64500, 0);
	origin(t, "198.51.100.3", 64500, 0);
	/* ttl 3: AS64502 once, AS64503 twice, neither continues: the majority wins */
	reply(t, 3, "192.0.2.10");
	reply(t, 3, "192.0.2.20");
	reply(t, 3, "192.0.2.21");
	origin(t, "192.0.2.10", 64502, 0);
	origin(t, "192.0.2.20", 64503, 0);
	origin(t, "192.0.2.21", 64503, 0);
	struct hw_addr where;
	assert_int_equal(hop_asn(t, trace_hop(t, 2), 64500, &where), 64500);
	assert_addr_is(&where, "198.51.100.2");
	/* Without a current AS, the majority again. */
	assert_int_equal(hop_asn(t, trace_hop(t, 2), 0, &where), 64500);
	assert_int_equal(hop_asn(t, trace_hop(t, 2), 64501, &where), 64501);
	assert_addr_is(&where, "203.0.113.1");
	assert_int_equal(hop_asn(t, trace_hop(t, 3), 64500, &where), 64503);
	assert_addr_is(&where, "192.0.2.20");
	/* A silent hop: AS 0, no interface. */
	struct hw_trace *s = new_trace(2);
	assert_int_equal(hop_asn(s, trace_hop(s, 1), 64500, &where), 0);
	assert_true(hw_addr_is_unset(&where));
	trace_free(s);

	struct hw_as_segment *p;
	size_t n;
	assert_int_equal(trace_as_path(t, &p, &n), HW_OK);
	assert_int_equal(n, 2);
	assert_segment(&p[0], 64500, 1, 2, "198.51.100.1", "198.51.100.2");
	assert_segment(&p[1], 64503, 3, 3, "192.0.2.20", "192.0.2.20");
	free(p);
	trace_free(t);
}

/* A multi-origin address counts in its first origin. */
static void test_multi_origin(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(2);
	reply(t, 1, "198.51.100.1");
	origin(t, "198.51.100.1", 64510, 64511);
	reply(t, 2, "198.51.100.2");
	origin(t, "198.51.100.2", 64511, 0);
	assert_int_equal(trace_asn(t, &(struct hw_addr){0}), 0);
	struct hw_addr a = addr("198.51.100.1");
	assert_int_equal(trace_asn(t, &a), 64510);
	struct hw_as_segment *p;
	size_t n;
	assert_int_equal(trace_as_path(t, &p, &n), HW_OK);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].asn, 64510);
	assert_int_equal(p[1].asn, 64511);
	free(p);
	trace_free(t);
}

/* No hops, and hops without annotation: one gap, no borders. */
static void test_empty_and_unannotated(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(3);
	t->n_hops = 0;
	struct hw_as_segment *p = (struct hw_as_segment *)&p;
	size_t n = 9;
	assert_int_equal(trace_as_path(t, &p, &n), HW_OK);
	assert_int_equal(n, 0);
	assert_null(p);
	t->n_hops = 3;
	reply(t, 1, "198.51.100.1");
	reply(t, 3, "198.51.100.3");
	assert_int_equal(trace_as_path(t, &p, &n), HW_OK);
	assert_int_equal(n, 1);
	assert_segment(&p[0], 0, 1, 3, "198.51.100.1", "198.51.100.3");
	struct hw_as_border *b;
	size_t nb;
	assert_int_equal(as_path_borders(p, n, &b, &nb), HW_OK);
	assert_int_equal(nb, 0);
	free(p);
	trace_free(t);
}

/* Annotation entries stay sorted whatever the insertion order; lookups find each. */
static void test_info_sorted(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(1);
	const char *v[] = {"203.0.113.5", "2001:db8::1", "192.0.2.1", "198.51.100.7", "10.1.2.3",
			   "192.0.2.200", "2001:db8::", "100.64.0.1", "8.8.8.8"};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		origin(t, v[i], (uint32_t)(64500 + i), 0);
	assert_int_equal(t->n_infos, sizeof(v) / sizeof(v[0]));
	for (size_t i = 1; i < t->n_infos; i++)
		assert_true(hw_addr_cmp(&t->infos[i - 1].addr, &t->infos[i].addr) < 0);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct hw_addr a = addr(v[i]);
		assert_int_equal(trace_asn(t, &a), 64500 + i);
	}
	/* Adding again returns the same entry. */
	struct hw_addr a = addr("192.0.2.1");
	assert_ptr_equal(trace_info_add(t, &a), trace_info(t, &a));
	assert_int_equal(t->n_infos, sizeof(v) / sizeof(v[0]));
	assert_int_equal(trace_info(t, &a)->scope, HW_SCOPE_DOCUMENTATION);
	trace_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_consecutive),
		cmocka_unit_test(test_gaps_kept),
		cmocka_unit_test(test_a_gap_a),
		cmocka_unit_test(test_multi_as_hop),
		cmocka_unit_test(test_multi_origin),
		cmocka_unit_test(test_empty_and_unannotated),
		cmocka_unit_test(test_info_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
