/* The run model: ownership, hop lookup, reply arrays, names and unreachable marks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/run.h>
#include <hopwatch/status.h>

static struct hw_flow test_flow(int family)
{
	struct hw_flow f;
	memset(&f, 0, sizeof(f));
	f.method = HW_METHOD_TCP;
	assert_int_equal(hw_addr_parse(family == AF_INET ? "198.18.0.2" : "2001:db8::2", &f.src),
			 HW_OK);
	assert_int_equal(hw_addr_parse(family == AF_INET ? "198.18.3.2" : "2001:db8:3::2", &f.dst),
			 HW_OK);
	f.flow_id = 7;
	f.sport = 28679;
	f.dport = 443;
	f.tos = 0x20;
	f.flow_label = 0x12345;
	f.instance = 99;
	return f;
}

static struct hw_reply test_reply(uint8_t attempt, double rtt)
{
	struct hw_reply r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(hw_addr_parse("198.18.1.1", &r.addr), HW_OK);
	r.attempt = attempt;
	r.kind = HW_REPLY_TIME_EXCEEDED;
	r.icmp_type = 11;
	r.rtt_ms = rtt;
	return r;
}

static void test_free_null(void **state)
{
	(void)state;
	assert_null(run_free(NULL));
	assert_null(trace_free(NULL));
	assert_null(trace_hop(NULL, 1));
	trace_truncate(NULL, 3);
	assert_int_equal(run_add_trace(NULL, NULL), HW_ERR_INVAL);
	assert_int_equal(hop_add_reply(NULL, NULL), HW_ERR_INVAL);
}

static void test_trace_new_copies_flow(void **state)
{
	(void)state;
	struct hw_flow f = test_flow(AF_INET6);
	struct hw_trace *t = trace_new(&f, 3, 12, 4);

	assert_non_null(t);
	assert_int_equal(t->method, HW_METHOD_TCP);
	assert_true(hw_addr_eq(&t->src, &f.src));
	assert_true(hw_addr_eq(&t->dst, &f.dst));
	assert_int_equal(t->flow_id, 7);
	assert_int_equal(t->sport, 28679);
	assert_int_equal(t->dport, 443);
	assert_int_equal(t->tos, 0x20);
	assert_int_equal(t->flow_label, 0x12345);
	assert_int_equal(t->first_ttl, 3);
	assert_int_equal(t->max_ttl, 12);
	assert_int_equal(t->probes_per_hop, 4);
	assert_null(t->target);
	assert_int_equal(t->stop_reason, HW_STOP_NONE);
	assert_int_equal(t->n_hops, 10);
	for (size_t i = 0; i < t->n_hops; i++) {
		assert_int_equal(t->hops[i].ttl, 3 + i);
		assert_int_equal(t->hops[i].probes_sent, 0);
		assert_int_equal(t->hops[i].n_replies, 0);
		assert_null(t->hops[i].replies);
	}
	trace_free(t);
}

static void test_trace_new_bad_range(void **state)
{
	(void)state;
	struct hw_flow f = test_flow(AF_INET);
	struct hw_trace *t;

	assert_null(trace_new(NULL, 1, 30, 3));
	assert_null(trace_new(&f, 0, 30, 3));
	assert_null(trace_new(&f, 9, 8, 3));
	t = trace_new(&f, 255, 255, 1);
	assert_non_null(t);
	assert_int_equal(t->n_hops, 1);
	assert_int_equal(t->hops[0].ttl, 255);
	trace_free(t);
	t = trace_new(&f, 1, 255, 1);
	assert_non_null(t);
	assert_int_equal(t->n_hops, 255);
	assert_int_equal(t->hops[254].ttl, 255);
	trace_free(t);
}

static void test_trace_hop_bounds(void **state)
{
	(void)state;
	struct hw_flow f = test_flow(AF_INET);
	struct hw_trace *t = trace_new(&f, 5, 9, 3);

	assert_null(trace_hop(t, 0));
	assert_null(trace_hop(t, 4));
	assert_ptr_equal(trace_hop(t, 5), &t->hops[0]);
	assert_ptr_equal(trace_hop(t, 7), &t->hops[2]);
	assert_ptr_equal(trace_hop(t, 9), &t->hops[4]);
	assert_null(trace_hop(t, 10));
	assert_null(trace_hop(t, 255));
	for (unsigned ttl = 5; ttl <= 9; ttl++)
		assert_int_equal(trace_hop(t, (uint8_t)ttl)->ttl, ttl);
	trace_free(t);
}

static void test_hop_add_reply_grows(void **state)
{
	(void)state;
	struct hw_flow f = test_flow(AF_INET);
	struct hw_trace *t = trace_new(&f, 1, 2, 3);
	struct hw_hop *hop = trace_hop(t, 1);

	/* Crosses every growth boundary up to 256 (ASan catches a short allocation). */
	for (unsigned i = 0; i < 300; i++) {
		struct hw_reply r = test_reply((uint8_t)(i % 255), i * 0.5);
		assert_int_equal(hop_add_reply(hop, &r), HW_OK);
		assert_int_equal(hop->n_replies, i + 1);
	}
	for (unsigned i = 0; i < 300; i++) {
		assert_int_equal(hop->replies[i].attempt, i % 255);
		assert_true(hop->replies[i].rtt_ms == i * 0.5);
	}
	assert_int_equal(trace_hop(t, 2)->n_replies, 0);
	trace_free(t);
}

static void test_hop_add_reply_copies(void **state)
{
	(void)state;
	struct hw_hop hop;
	struct hw_reply r = test_reply(2, 1.5);

	memset(&hop, 0, sizeof(hop));
	assert_int_equal(hop_add_reply(&hop, &r), HW_OK);
	r.attempt = 0;
	assert_int_equal(hop.replies[0].attempt, 2);
	free(hop.replies);
}

static void test_run_add_trace(void **state)
{
	(void)state;
	struct hw_flow f = test_flow(AF_INET);
	struct hw_run *run = run_new();

	assert_non_null(run);
	assert_int_equal(run->n_traces, 0);
	assert_int_equal(run_add_trace(run, NULL), HW_ERR_INVAL);
	for (unsigned i = 0; i < 37; i++) {
		struct hw_trace *t = trace_new(&f, 1, 30, 3);
		assert_non_null(t);
		t->flow_id = (uint16_t)i;
		assert_int_equal(run_add_trace(run, t), HW_OK);
	}
	assert_int_equal(run->n_traces, 37);
	for (unsigned i = 0; i < 37; i++)
		assert_int_equal(run->traces[i]->flow_id, i);
	run->vantage = strdup("vp1");
	run->tool_version = strdup("hopwatch 0.1.0");
	run->traces[3]->target = strdup("example.net");
	run_free(run); /* frees the strings too: ASan's leak check tells */
}

static struct hw_trace *trace_with_replies(void)
{
	struct hw_flow f = test_flow(AF_INET);
	struct hw_trace *t = trace_new(&f, 2, 10, 3);

	for (size_t i = 0; i < t->n_hops; i++) {
		struct hw_reply r = test_reply(0, 1.0);
		t->hops[i].probes_sent = 1;
		assert_int_equal(hop_add_reply(&t->hops[i], &r), HW_OK);
	}
	return t;
}

static void test_trace_truncate(void **state)
{
	(void)state;
	struct hw_trace *t = trace_with_replies();

	trace_truncate(t, 200); /* beyond max: nothing to drop */
	assert_int_equal(t->n_hops, 9);
	trace_truncate(t, 10);
	assert_int_equal(t->n_hops, 9);
	trace_truncate(t, 6);
	assert_int_equal(t->n_hops, 5);
	assert_int_equal(t->hops[4].ttl, 6);
	assert_int_equal(t->hops[4].n_replies, 1);
	assert_non_null(trace_hop(t, 6));
	assert_null(trace_hop(t, 7));
	trace_truncate(t, 8); /* growing back is not a thing */
	assert_int_equal(t->n_hops, 5);
	trace_truncate(t, 2);
	assert_int_equal(t->n_hops, 1);
	trace_truncate(t, 1); /* below first_ttl: no hops at all */
	assert_int_equal(t->n_hops, 0);
	assert_null(trace_hop(t, 2));
	trace_free(t);

	t = trace_with_replies();
	trace_truncate(t, 0);
	assert_int_equal(t->n_hops, 0);
	trace_free(t);
}

static struct hw_addr v4(const char *text)
{
	struct hw_addr a;
	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	return a;
}

static void test_links_and_diamonds_grow(void **state)
{
	(void)state;
	struct hw_flow f = test_flow(AF_INET);
	struct hw_trace *t = trace_new(&f, 1, 30, 0);

	assert_int_equal(trace_add_link(NULL, NULL), HW_ERR_INVAL);
	assert_int_equal(trace_add_link(t, NULL), HW_ERR_INVAL);
	assert_int_equal(trace_add_diamond(t, NULL), HW_ERR_INVAL);
	for (unsigned i = 0; i < 300; i++) {
		struct hw_link l = {v4("198.18.1.1"), v4("198.18.2.1"), (uint8_t)(1 + i % 29),
				    i % 3 == 0};
		struct hw_diamond d = {.div_ttl = (uint8_t)(i % 29), .max_width = (uint16_t)i};
		assert_int_equal(trace_add_link(t, &l), HW_OK);
		assert_int_equal(trace_add_diamond(t, &d), HW_OK);
	}
	assert_int_equal(t->n_links, 300);
	assert_int_equal(t->n_diamonds, 300);
	for (unsigned i = 0; i < 300; i++) {
		assert_int_equal(t->links[i].ttl, 1 + i % 29);
		assert_int_equal(t->links[i].per_packet, i % 3 == 0);
		assert_int_equal(t->diamonds[i].max_width, i);
	}
	trace_free(t); /* frees both arrays: ASan's leak check tells */
}

/* Sets the interfaces that answered at a TTL (one reply each). */
static void answer(struct hw_trace *t, uint8_t ttl, const char *const *addrs)
{
	struct hw_hop *hop = trace_hop(t, ttl);

	for (unsigned i = 0; addrs[i] != NULL; i++) {
		struct hw_reply r = test_reply(0, 1.0);
		r.addr = v4(addrs[i]);
		assert_int_equal(hop_add_reply(hop, &r), HW_OK);
		/* The same interface again changes nothing. */
		assert_int_equal(hop_add_reply(hop, &r), HW_OK);
	}
	hop->probes_sent = 300; /* a multipath hop may see hundreds */
}

static void assert_diamond(const struct hw_diamond *d, unsigned div_ttl, const char *div,
			   unsigned conv_ttl, const char *conv, unsigned width, unsigned length)
{
	assert_int_equal(d->div_ttl, div_ttl);
	if (div == NULL) {
		assert_true(hw_addr_is_unset(&d->divergence));
	} else {
		struct hw_addr a = v4(div);
		assert_true(hw_addr_eq(&d->divergence, &a));
	}
	assert_int_equal(d->conv_ttl, conv_ttl);
	if (conv == NULL) {
		assert_true(hw_addr_is_unset(&d->convergence));
	} else {
		struct hw_addr a = v4(conv);
		assert_true(hw_addr_eq(&d->convergence, &a));
	}
	assert_int_equal(d->max_width, width);
	assert_int_equal(d->length, length);
}

static void test_find_diamonds(void **state)
{
	(void)state;
	static const char *const one_a[] = {"198.18.1.1", NULL}, *const one_b[] = {"198.18.5.1", NULL};
	static const char *const two[] = {"198.18.2.1", "198.18.2.2", NULL};
	static const char *const four[] = {"198.18.3.1", "198.18.3.2", "198.18.3.3", "198.18.3.4",
					   NULL};
	static const char *const none[] = {NULL};
	struct hw_flow f = test_flow(AF_INET);
	struct hw_trace *t = trace_new(&f, 1, 30, 0);

	assert_int_equal(trace_find_diamonds(NULL), HW_ERR_INVAL);
	/* 1, 2, 4, (silent), 1, 2: a closed diamond, then an open one. */
	answer(t, 1, one_a);
	answer(t, 2, two);
	answer(t, 3, four);
	answer(t, 4, none);
	answer(t, 5, one_b);
	answer(t, 6, two);
	trace_truncate(t, 6);
	assert_int_equal(trace_find_diamonds(t), HW_OK);
	assert_int_equal(t->n_diamonds, 2);
	assert_diamond(&t->diamonds[0], 1, "198.18.1.1", 5, "198.18.5.1", 4, 4);
	assert_diamond(&t->diamonds[1], 5, "198.18.5.1", 0, NULL, 2, 0);
	/* Finding them again replaces them. */
	assert_int_equal(trace_find_diamonds(t), HW_OK);
	assert_int_equal(t->n_diamonds, 2);
	/* Truncation: the second diamond opens at the cut and goes; links past it too. */
	struct hw_link l = {v4("198.18.5.1"), v4("198.18.2.1"), 5, false};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	l.ttl = 4;
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	trace_truncate(t, 5);
	assert_int_equal(t->n_diamonds, 1);
	assert_int_equal(t->n_links, 1);
	assert_int_equal(t->links[0].ttl, 4);
	/* Cut inside the first: it stays, open. */
	trace_truncate(t, 3);
	assert_int_equal(t->n_diamonds, 1);
	assert_diamond(&t->diamonds[0], 1, "198.18.1.1", 0, NULL, 4, 0);
	assert_int_equal(t->n_links, 0);
	trace_free(t);

	/* Paths apart from the first hop: the diamond opens at the source (TTL first - 1). */
	t = trace_new(&f, 3, 30, 0);
	answer(t, 3, two);
	answer(t, 4, one_a);
	assert_int_equal(trace_find_diamonds(t), HW_OK);
	assert_int_equal(t->n_diamonds, 1);
	assert_diamond(&t->diamonds[0], 2, NULL, 4, "198.18.1.1", 2, 2);
	trace_free(t);

	/* One path: no diamond. */
	t = trace_new(&f, 1, 30, 0);
	answer(t, 1, one_a);
	answer(t, 2, none);
	answer(t, 3, one_b);
	assert_int_equal(trace_find_diamonds(t), HW_OK);
	assert_int_equal(t->n_diamonds, 0);
	trace_free(t);
}

static void test_multipath_names(void **state)
{
	(void)state;
	static const char *const names[] = {"none", "mda", "lite"};
	enum hw_multipath m;

	for (int i = HW_MULTIPATH_NONE; i <= HW_MULTIPATH_LITE; i++) {
		assert_string_equal(hw_multipath_name((enum hw_multipath)i), names[i]);
		assert_int_equal(hw_multipath_parse(names[i], &m), HW_OK);
		assert_int_equal(m, i);
	}
	assert_string_equal(hw_multipath_name((enum hw_multipath)7), "?");
	assert_int_equal(hw_multipath_parse("MDA", &m), HW_ERR_INVAL);
	assert_int_equal(hw_multipath_parse(NULL, &m), HW_ERR_INVAL);
}

static void test_stop_reason_names(void **state)
{
	(void)state;
	static const char *const names[] = {"none", "completed", "unreach", "gaplimit", "maxttl",
					    "error"};
	enum hw_stop_reason r;

	for (int i = HW_STOP_NONE; i <= HW_STOP_ERROR; i++) {
		assert_string_equal(hw_stop_reason_name((enum hw_stop_reason)i), names[i]);
		assert_int_equal(hw_stop_reason_parse(names[i], &r), HW_OK);
		assert_int_equal(r, i);
	}
	assert_string_equal(hw_stop_reason_name((enum hw_stop_reason)42), "?");
	assert_int_equal(hw_stop_reason_parse("Completed", &r), HW_ERR_INVAL);
	assert_int_equal(hw_stop_reason_parse("", &r), HW_ERR_INVAL);
	assert_int_equal(hw_stop_reason_parse("?", &r), HW_ERR_INVAL);
	assert_int_equal(hw_stop_reason_parse(NULL, &r), HW_ERR_INVAL);
}

static void test_reply_kind_names(void **state)
{
	(void)state;
	static const char *const names[] = {"none", "time-exceeded", "unreach", "echo-reply",
					    "tcp-rst", "tcp-synack", "param-problem",
					    "packet-too-big"};
	enum hw_reply_kind k;

	for (int i = HW_REPLY_NONE; i <= HW_REPLY_PACKET_TOO_BIG; i++) {
		assert_string_equal(hw_reply_kind_name((enum hw_reply_kind)i), names[i]);
		assert_int_equal(hw_reply_kind_parse(names[i], &k), HW_OK);
		assert_int_equal(k, i);
	}
	assert_string_equal(hw_reply_kind_name((enum hw_reply_kind)-1), "?");
	assert_int_equal(hw_reply_kind_parse("time_exceeded", &k), HW_ERR_INVAL);
	assert_int_equal(hw_reply_kind_parse(NULL, &k), HW_ERR_INVAL);
}

static const char *mark_of(enum hw_reply_kind kind, uint8_t code, uint32_t mtu, int family,
			   bool from_dst)
{
	static char buf[32];
	struct hw_reply r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.icmp_type = family == AF_INET ? 3 : 1;
	r.icmp_code = code;
	r.mtu = mtu;
	return hw_reply_mark(&r, family, from_dst, buf, sizeof(buf));
}

static void test_marks_ipv4(void **state)
{
	(void)state;
	static const char *const expect[16] = {
		"!N", "!H", "!P", "!p", "!F-1400", "!S", "!N", "!H",
		"!N", "!X", "!X", "!N", "!H", "!X", "!V", "!C",
	};
	char other[16];

	for (unsigned code = 0; code < 16; code++)
		assert_string_equal(mark_of(HW_REPLY_UNREACH, (uint8_t)code, 1400, AF_INET, false),
				    expect[code]);
	for (unsigned code = 16; code < 256; code++) {
		snprintf(other, sizeof(other), "!<%u>", code);
		assert_string_equal(mark_of(HW_REPLY_UNREACH, (uint8_t)code, 0, AF_INET, false),
				    other);
	}
	/* The destination's own port unreachable is the normal end of a UDP trace. */
	assert_string_equal(mark_of(HW_REPLY_UNREACH, 3, 0, AF_INET, true), "");
	/* Every other code keeps its mark even from the destination. */
	assert_string_equal(mark_of(HW_REPLY_UNREACH, 1, 0, AF_INET, true), "!H");
	assert_string_equal(mark_of(HW_REPLY_UNREACH, 2, 0, AF_INET, true), "!P");
	assert_string_equal(mark_of(HW_REPLY_UNREACH, 4, 0, AF_INET, false), "!F");
	assert_string_equal(mark_of(HW_REPLY_UNREACH, 4, 576, AF_INET, true), "!F-576");
}

static void test_marks_ipv6(void **state)
{
	(void)state;
	static const char *const expect[7] = {"!N", "!X", "!S", "!H", "!p", "!X", "!N"};
	char other[16];

	for (unsigned code = 0; code < 7; code++)
		assert_string_equal(mark_of(HW_REPLY_UNREACH, (uint8_t)code, 0, AF_INET6, false),
				    expect[code]);
	for (unsigned code = 7; code < 256; code++) {
		snprintf(other, sizeof(other), "!<%u>", code);
		assert_string_equal(mark_of(HW_REPLY_UNREACH, (uint8_t)code, 0, AF_INET6, false),
				    other);
	}
	assert_string_equal(mark_of(HW_REPLY_UNREACH, 4, 0, AF_INET6, true), "");
	assert_string_equal(mark_of(HW_REPLY_UNREACH, 3, 0, AF_INET6, true), "!H");
	/* ICMPv6 code 3 is "address unreachable", not IPv4's port: the family decides. */
	assert_string_equal(mark_of(HW_REPLY_UNREACH, 3, 0, AF_INET6, false), "!H");
	assert_string_equal(mark_of(HW_REPLY_PACKET_TOO_BIG, 0, 1280, AF_INET6, false),
			    "!F-1280");
	assert_string_equal(mark_of(HW_REPLY_PACKET_TOO_BIG, 0, 0, AF_INET6, false), "!F");
}

static void test_marks_none(void **state)
{
	(void)state;
	static const enum hw_reply_kind quiet[] = {
		HW_REPLY_NONE, HW_REPLY_TIME_EXCEEDED, HW_REPLY_ECHO_REPLY, HW_REPLY_TCP_RST,
		HW_REPLY_TCP_SYNACK, HW_REPLY_PARAM_PROBLEM,
	};
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		for (unsigned code = 0; code < 256; code += 51) {
			assert_string_equal(mark_of(quiet[i], (uint8_t)code, 0, AF_INET, false), "");
			assert_string_equal(mark_of(quiet[i], (uint8_t)code, 0, AF_INET6, true), "");
		}
	}
}

static void test_mark_buffer(void **state)
{
	(void)state;
	struct hw_reply r;
	char buf[4] = "xyz";

	memset(&r, 0, sizeof(r));
	r.kind = HW_REPLY_UNREACH;
	r.icmp_code = 4;
	r.mtu = 1400;
	/* Truncated, but always terminated and never past len. */
	assert_string_equal(hw_reply_mark(&r, AF_INET, false, buf, sizeof(buf)), "!F-");
	assert_string_equal(hw_reply_mark(&r, AF_INET, false, buf, 1), "");
	assert_string_equal(hw_reply_mark(&r, AF_INET, false, NULL, 0), "");
	assert_ptr_equal(hw_reply_mark(&r, AF_INET, false, buf, sizeof(buf)), buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_trace_new_copies_flow),
		cmocka_unit_test(test_trace_new_bad_range),
		cmocka_unit_test(test_trace_hop_bounds),
		cmocka_unit_test(test_hop_add_reply_grows),
		cmocka_unit_test(test_hop_add_reply_copies),
		cmocka_unit_test(test_run_add_trace),
		cmocka_unit_test(test_trace_truncate),
		cmocka_unit_test(test_links_and_diamonds_grow),
		cmocka_unit_test(test_find_diamonds),
		cmocka_unit_test(test_multipath_names),
		cmocka_unit_test(test_stop_reason_names),
		cmocka_unit_test(test_reply_kind_names),
		cmocka_unit_test(test_marks_ipv4),
		cmocka_unit_test(test_marks_ipv6),
		cmocka_unit_test(test_marks_none),
		cmocka_unit_test(test_mark_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
