/* Writers and reader of runs: exact text output, JSON round trips, rejected documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>

#include "fixtures.h"

/* 2026-11-24T22:30:00.123456Z */
#define T0 1795559400123456ULL

/* ---- building synthetic runs ---- */

/* A trace sending 3 probes a hop. */
static struct hw_trace *new_trace(enum hw_method method, const char *src, const char *dst,
				  uint16_t flow_id, uint16_t dport, uint8_t first, uint8_t max)
{
	return fx_trace(method, src, dst, flow_id, dport, first, max, 3);
}

static void te(struct hw_trace *t, uint8_t ttl, uint8_t attempt, const char *from, double rtt)
{
	fx_add(t, ttl, attempt, from, HW_REPLY_TIME_EXCEEDED, 11, 0, rtt);
}

static void sent(struct hw_trace *t, uint8_t ttl, uint8_t n)
{
	trace_hop(t, ttl)->probes_sent = n;
	t->probes_sent += n;
}

/*
 * UDP over IPv4: a plain hop, a silent one, one answering from two addresses with a
 * gap, MPLS tunnels, and an administratively filtered end (!H).
 */
static struct hw_trace *text_trace(void)
{
	static const uint32_t lsp_a[] = {16, 17}, lsp_b[] = {18};
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "198.18.0.2", "198.18.3.2", 0,
				       HW_UDP_DPORT, 1, 30);

	for (uint8_t ttl = 1; ttl <= 6; ttl++)
		sent(t, ttl, 3);
	te(t, 1, 0, "198.18.1.1", 0.052);
	te(t, 1, 1, "198.18.1.1", 0.048);
	te(t, 1, 2, "198.18.1.1", 0.047);
	/* Arrival order differs from attempt order; the text follows attempts. */
	te(t, 3, 2, "198.18.3.1", 0.301);
	te(t, 3, 0, "198.18.3.1", 0.310);
	te(t, 4, 0, "198.18.4.1", 0.400);
	te(t, 4, 1, "198.18.4.1", 0.410);
	te(t, 4, 2, "198.18.4.2", 0.420);
	struct hw_hop *h4 = trace_hop(t, 4);
	fx_set_mpls(&h4->replies[0], 2, lsp_a);
	fx_set_mpls(&h4->replies[1], 2, lsp_a);
	fx_set_mpls(&h4->replies[2], 1, lsp_b);
	te(t, 5, 0, "198.18.5.1", 1.5);
	te(t, 5, 1, "198.18.5.2", 1.25);
	te(t, 5, 2, "198.18.5.1", 10.0);
	fx_add(t, 6, 0, "198.18.6.1", HW_REPLY_UNREACH, 3, 1, 0.6);
	fx_add(t, 6, 2, "198.18.6.1", HW_REPLY_UNREACH, 3, 1, 0.62);
	t->stop_reason = HW_STOP_UNREACH;
	t->stop_ttl = 6;
	t->duration_ms = 12.34;
	return t;
}

static char *capture_text(const struct hw_trace *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(text_write_trace(t, f), HW_OK);
	fclose(f);
	return buf;
}

static void test_text_trace(void **state)
{
	(void)state;
	static const char expect[] =
		"hopwatch to 198.18.3.2 (198.18.3.2), udp flow 0 (sport 28672 \u2192 dport 33434), "
		"30 hops max\n"
		" 1  198.18.1.1  0.052 ms  0.048 ms  0.047 ms\n"
		" 2  * * *\n"
		" 3  198.18.3.1  0.310 ms *  0.301 ms\n"
		" 4  198.18.4.1  0.400 ms  0.410 ms 198.18.4.2  0.420 ms\n"
		"     [MPLS: Lse 16 TC 0 S 0 TTL 1]\n"
		"     [MPLS: Lse 17 TC 1 S 1 TTL 2]\n"
		"     [MPLS: Lse 18 TC 0 S 1 TTL 1]\n"
		" 5  198.18.5.1  1.500 ms 198.18.5.2  1.250 ms 198.18.5.1  10.000 ms\n"
		" 6  198.18.6.1  0.600 ms !H *  0.620 ms !H\n"
		"stop: unreach at hop 6, 18 probes, 12.3 ms\n";
	struct hw_trace *t = text_trace();
	char *got = capture_text(t);

	assert_string_equal(got, expect);
	free(got);
	trace_free(t);
}

static void test_text_headers(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(HW_METHOD_ICMP, "2001:db8::1", "2001:db8:9::2", 3, 0, 1, 16);
	char *got;

	t->target = strdup("example.net");
	got = capture_text(t);
	assert_string_equal(got, "hopwatch to example.net (2001:db8:9::2), icmp flow 3 (id 28675), "
				 "16 hops max\nstop: none, 0 probes, 0.0 ms\n");
	free(got);
	trace_free(t);

	t = new_trace(HW_METHOD_TCP, "198.18.0.2", "198.18.3.2", 12, 443, 2, 30);
	got = capture_text(t);
	assert_string_equal(got, "hopwatch to 198.18.3.2 (198.18.3.2), tcp flow 12 "
				 "(sport 28684 \u2192 dport 443), 30 hops max\n"
				 "stop: none, 0 probes, 0.0 ms\n");
	free(got);
	trace_free(t);
}

/* The destination's port unreachable has no mark; the same from a firewall has "!p". */
static void test_text_port_unreachable(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "198.18.0.2", "198.18.3.2", 0,
				       HW_UDP_DPORT, 2, 30);
	char *got;

	sent(t, 2, 2);
	sent(t, 3, 1);
	fx_add(t, 2, 0, "198.18.2.1", HW_REPLY_UNREACH, 3, 3, 0.2);
	fx_add(t, 2, 1, "198.18.2.1", HW_REPLY_UNREACH, 3, 4, 0.25)->mtu = 1400;
	fx_add(t, 3, 0, "198.18.3.2", HW_REPLY_UNREACH, 3, 3, 0.3);
	t->stop_reason = HW_STOP_COMPLETED;
	t->stop_ttl = 3;
	t->probes_sent = 3;
	t->duration_ms = 0.96;
	got = capture_text(t);
	assert_string_equal(got, "hopwatch to 198.18.3.2 (198.18.3.2), udp flow 0 "
				 "(sport 28672 \u2192 dport 33434), 30 hops max\n"
				 " 2  198.18.2.1  0.200 ms !p  0.250 ms !F-1400\n"
				 " 3  198.18.3.2  0.300 ms\n"
				 "stop: completed at hop 3, 3 probes, 1.0 ms\n");
	free(got);
	trace_free(t);
}

/* --doubletree: skipped hops in text (one line per run of them), and through JSON. */
static void test_doubletree_skipped(void **state)
{
	(void)state;
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "198.18.0.2", "198.18.3.2", 0,
				       HW_UDP_DPORT, 1, 30);
	trace_truncate(t, 4);
	trace_hop(t, 1)->skipped = true;
	trace_hop(t, 2)->skipped = true;
	t->stop_set_ttl = 3;
	sent(t, 3, 1);
	sent(t, 4, 1);
	te(t, 3, 0, "198.18.3.1", 0.061);
	fx_add(t, 4, 0, "198.18.3.2", HW_REPLY_UNREACH, 3, 3, 0.08);
	t->stop_reason = HW_STOP_COMPLETED;
	t->stop_ttl = 4;
	char *got = capture_text(t);
	assert_string_equal(got, "hopwatch to 198.18.3.2 (198.18.3.2), udp flow 0 "
				 "(sport 28672 \u2192 dport 33434), 30 hops max\n"
				 " 1-2  (skipped: path known from the stop set)\n"
				 " 3  198.18.3.1  0.061 ms\n"
				 " 4  198.18.3.2  0.080 ms\n"
				 "stop: completed at hop 4, 2 probes, 0.0 ms\n");
	free(got);
	char *doc, err[256];
	assert_int_equal(json_trace_dump(t, &doc), HW_OK);
	assert_non_null(strstr(doc, "\"stop_set_ttl\":3"));
	assert_non_null(strstr(doc, "\"skipped\":true"));
	struct hw_trace *back = NULL;
	assert_int_equal(json_trace_load(doc, strlen(doc), &back, err, sizeof(err)), HW_OK);
	assert_int_equal(back->stop_set_ttl, 3);
	assert_true(back->hops[0].skipped);
	assert_true(back->hops[1].skipped);
	assert_false(back->hops[2].skipped);
	free(doc);
	trace_free(back);
	/* Without doubletree neither key is written. */
	t->stop_set_ttl = 0;
	trace_hop(t, 1)->skipped = trace_hop(t, 2)->skipped = false;
	assert_int_equal(json_trace_dump(t, &doc), HW_OK);
	assert_null(strstr(doc, "stop_set_ttl"));
	assert_null(strstr(doc, "skipped"));
	free(doc);
	/* A skipped hop that was probed is refused. */
	trace_hop(t, 1)->skipped = true;
	trace_hop(t, 1)->probes_sent = 1;
	assert_int_equal(json_trace_dump(t, &doc), HW_OK);
	assert_true(json_trace_load(doc, strlen(doc), &back, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "skipped"));
	free(doc);
	trace_free(t);
}

/* A multipath trace (MDA-Lite): several interfaces a TTL, per-packet, silence, links. */
static struct hw_trace *mp_trace(void)
{
	static const uint32_t lsp[] = {16};
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "198.18.0.2", "198.18.8.2", 0,
				       HW_UDP_DPORT, 1, 16);
	struct hw_reply *r;

	t->multipath = HW_MULTIPATH_LITE;
	t->confidence = 95;
	t->probes_per_hop = 0;
	sent(t, 1, 2);
	sent(t, 2, 4);
	sent(t, 3, 2);
	sent(t, 4, 2);
	te(t, 1, 0, "198.18.1.2", 0.1);
	(r = fx_add(t, 1, 0, "198.18.1.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.12))->flow_id = 1;
	te(t, 2, 0, "198.18.2.2", 0.2);
	(r = fx_add(t, 2, 0, "198.18.5.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.25))->flow_id = 1;
	(r = fx_add(t, 2, 0, "198.18.2.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.21))->flow_id = 2;
	/* Flow 1 repeated: another interface answers, per packet. */
	(r = fx_add(t, 2, 1, "198.18.2.2", HW_REPLY_TIME_EXCEEDED, 11, 0, 0.22))->flow_id = 1;
	trace_hop(t, 2)->per_packet = true;
	fx_add(t, 4, 0, "198.18.8.2", HW_REPLY_UNREACH, 3, 3, 0.4);
	r = fx_add(t, 4, 0, "198.18.6.2", HW_REPLY_UNREACH, 3, 1, 0.41);
	r->flow_id = 1;
	fx_set_mpls(r, 1, lsp);
	struct hw_link l = {fx_addr("198.18.1.2"), fx_addr("198.18.2.2"), 1, true};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	l.to = fx_addr("198.18.5.2");
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	struct hw_diamond d = {.div_ttl = 1, .divergence = fx_addr("198.18.1.2"), .max_width = 2};
	assert_int_equal(trace_add_diamond(t, &d), HW_OK);
	t->stop_reason = HW_STOP_COMPLETED;
	t->stop_ttl = 4;
	t->duration_ms = 5.0;
	trace_truncate(t, 4);
	return t;
}

static void test_text_multipath(void **state)
{
	(void)state;
	static const char expect[] =
		"hopwatch to 198.18.8.2 (198.18.8.2), udp flows 0-2 (sport 28672-28674 \u2192 "
		"dport 33434), 16 hops max, multipath lite, 95% confidence\n"
		" 1  198.18.1.2  0.100 ms  2 flows\n"
		" 2  198.18.2.2  0.200 ms  3 flows  [per-packet]\n"
		"    198.18.5.2  0.250 ms  1 flow\n"
		" 3  *\n"
		" 4  198.18.8.2  0.400 ms  1 flow\n"
		"    198.18.6.2  0.410 ms  1 flow !H\n"
		"     [MPLS: Lse 16 TC 0 S 1 TTL 1]\n"
		"links:\n"
		" 1  198.18.1.2 -> 198.18.2.2  (per packet)\n"
		" 1  198.18.1.2 -> 198.18.5.2  (per packet)\n"
		"diamonds:\n"
		" hop 1 198.18.1.2 -> open: max width 2, length 0\n"
		"stop: completed at hop 4, 10 probes, 5.0 ms\n";
	struct hw_trace *t = mp_trace();
	char *got = capture_text(t);

	assert_string_equal(got, expect);
	free(got);

	/* ICMP names its identifiers; a closed diamond from the source; no links yet. */
	t->method = HW_METHOD_ICMP;
	t->n_links = 0;
	t->diamonds[0] = (struct hw_diamond){.div_ttl = 0, .conv_ttl = 4, .max_width = 3,
					     .length = 4, .convergence = fx_addr("198.18.8.2")};
	t->multipath = HW_MULTIPATH_MDA;
	t->confidence = 99;
	got = capture_text(t);
	assert_non_null(strstr(got, "icmp flows 0-2 (id 28672-28674), 16 hops max, multipath mda, "
				    "99% confidence\n"));
	assert_non_null(strstr(got, "links:\ndiamonds:\n hop 0 source -> hop 4 198.18.8.2: "
				    "max width 3, length 4\n"));
	free(got);
	trace_free(t);
}

static void test_text_bad_args(void **state)
{
	(void)state;
	struct hw_trace *t = text_trace();
	assert_int_equal(text_write_trace(NULL, stdout), HW_ERR_INVAL);
	assert_int_equal(text_write_trace(t, NULL), HW_ERR_INVAL);
	trace_free(t);
}

/* ---- JSON ---- */

/* Three traces covering both families, all methods, optional fields and edge values. */
static struct hw_run *rich_run(void)
{
	static const uint32_t stack[] = {24005, 1048575};
	struct hw_run *run = run_new();
	struct hw_trace *a = text_trace();

	run->start_unix_us = T0;
	run->vantage = strdup("vp-paris-1");
	run->tool_version = strdup("hopwatch 0.1.0");
	a->target = strdup("www.example.net");
	a->network = strdup("198.51.100.0/24");
	a->start_unix_us = T0 + 1500;
	trace_hop(a, 1)->replies[0].ipid = 65535;
	trace_hop(a, 1)->replies[1].quoted_ttl = 0;
	fx_set_mpls(&trace_hop(a, 3)->replies[0], 2, stack);
	trace_truncate(a, 6);
	assert_int_equal(run_add_trace(run, a), HW_OK);

	struct hw_trace *b = new_trace(HW_METHOD_TCP, NULL, "2001:db8:3::2", 32767, 443, 3, 8);
	b->tos = 255;
	b->flow_label = 0xfffff;
	b->start_unix_us = 253402300799999999ULL; /* the last µs of year 9999 */
	for (uint8_t ttl = 3; ttl <= 8; ttl++)
		sent(b, ttl, ttl == 8 ? 255 : 2);
	te(b, 3, 1, "2001:db8:1::1", 0.0);
	fx_add(b, 4, 0, "2001:db8:1::2", HW_REPLY_PACKET_TOO_BIG, 2, 0, 1.001)->mtu = 1280;
	fx_add(b, 5, 1, "2001:db8:1::3", HW_REPLY_PARAM_PROBLEM, 4, 0, 2.0)->mtu = 0xffffffff;
	fx_add(b, 7, 0, "2001:db8:1::4", HW_REPLY_UNREACH, 1, 1, 3.5);
	fx_add(b, 8, 254, "2001:db8:3::2", HW_REPLY_TCP_SYNACK, 0, 0, 999999.999);
	fx_add(b, 8, 0, "2001:db8:3::2", HW_REPLY_TCP_RST, 0, 0, 4.0);
	b->stop_reason = HW_STOP_MAXTTL;
	b->stop_ttl = 8;
	b->duration_ms = 1e12;
	assert_int_equal(run_add_trace(run, b), HW_OK);

	struct hw_trace *c = new_trace(HW_METHOD_ICMP, "198.18.0.2", "198.18.7.7", 1, 0, 255, 255);
	c->probes_per_hop = 0;
	c->stop_reason = HW_STOP_ERROR;
	trace_truncate(c, 0);
	assert_int_equal(run_add_trace(run, c), HW_OK);

	struct hw_trace *mp = mp_trace();
	mp->start_unix_us = T0 + 99;
	trace_hop(mp, 2)->probes_sent = 70000; /* beyond a single-flow hop's 255 */
	mp->probes_sent += 70000;
	assert_int_equal(run_add_trace(run, mp), HW_OK);
	return run;
}

static char *capture_json(const struct hw_run *run, size_t *len_out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(json_write_run(run, f), HW_OK);
	fclose(f);
	if (len_out != NULL)
		*len_out = len;
	return buf;
}

static void assert_run_equal(const struct hw_run *x, const struct hw_run *y)
{
	assert_int_equal(x->start_unix_us, y->start_unix_us);
	assert_string_equal(x->vantage, y->vantage);
	assert_string_equal(x->tool_version, y->tool_version);
	assert_int_equal(x->n_transit, y->n_transit);
	for (size_t i = 0; i < x->n_transit; i++)
		assert_int_equal(x->transit[i], y->transit[i]);
	assert_int_equal(x->n_traces, y->n_traces);
	for (size_t i = 0; i < x->n_traces; i++)
		fx_assert_trace_equal(x->traces[i], y->traces[i], false);
}

static struct hw_run *read_ok(const char *text, size_t len)
{
	struct hw_run *run = NULL;
	char err[256];
	int rc = json_read_run(text, len, &run, err, sizeof(err));

	if (rc != HW_OK)
		fail_msg("read failed (%d): %s", rc, err);
	assert_string_equal(err, "");
	assert_non_null(run);
	return run;
}

static void test_json_round_trip(void **state)
{
	(void)state;
	struct hw_run *run = rich_run();
	size_t len;
	char *doc = capture_json(run, &len);
	struct hw_run *back = read_ok(doc, len);

	assert_run_equal(run, back);
	/* Writing what was read gives the same bytes: nothing is lost or reordered. */
	char *again = capture_json(back, NULL);
	assert_string_equal(doc, again);
	assert_int_equal(doc[len - 1], '\n');
	free(again);
	free(doc);
	run_free(back);
	run_free(run);
}

/* The shape of a document, key order and number format included. */
static void test_json_exact(void **state)
{
	(void)state;
	static const char expect[] =
		"{\n"
		"  \"schema\": \"hopwatch-run\",\n"
		"  \"version\": 1,\n"
		"  \"start\": \"2026-11-24T22:30:00.123456Z\",\n"
		"  \"vantage\": \"vp\",\n"
		"  \"tool\": null,\n"
		"  \"traces\": [\n"
		"    {\n"
		"      \"target\": null,\n"
		"      \"src\": \"198.18.0.2\",\n"
		"      \"dst\": \"198.18.3.2\",\n"
		"      \"family\": 4,\n"
		"      \"method\": \"udp\",\n"
		"      \"flow\": {\n"
		"        \"id\": 0,\n"
		"        \"sport\": 28672,\n"
		"        \"dport\": 33434,\n"
		"        \"tos\": 0,\n"
		"        \"flow_label\": 0\n"
		"      },\n"
		"      \"first_ttl\": 1,\n"
		"      \"max_ttl\": 30,\n"
		"      \"probes_per_hop\": 3,\n"
		"      \"stop_reason\": \"unreach\",\n"
		"      \"stop_ttl\": 1,\n"
		"      \"start\": \"1970-01-01T00:00:00.000001Z\",\n"
		"      \"duration_ms\": 12.346,\n"
		"      \"probes_sent\": 2,\n"
		"      \"replies\": 1,\n"
		"      \"hops\": [\n"
		"        {\n"
		"          \"ttl\": 1,\n"
		"          \"probes_sent\": 2,\n"
		"          \"replies\": [\n"
		"            {\n"
		"              \"addr\": \"198.18.1.1\",\n"
		"              \"attempt\": 1,\n"
		"              \"rtt_ms\": 0.052,\n"
		"              \"kind\": \"unreach\",\n"
		"              \"icmp_type\": 3,\n"
		"              \"icmp_code\": 4,\n"
		"              \"reply_ttl\": 64,\n"
		"              \"quoted_ttl\": 1,\n"
		"              \"ipid\": 1234,\n"
		"              \"mtu\": 1400,\n"
		"              \"mark\": \"!F-1400\",\n"
		"              \"mpls\": [\n"
		"                {\n"
		"                  \"label\": 16,\n"
		"                  \"tc\": 0,\n"
		"                  \"s\": 1,\n"
		"                  \"ttl\": 1\n"
		"                }\n"
		"              ]\n"
		"            }\n"
		"          ]\n"
		"        }\n"
		"      ]\n"
		"    }\n"
		"  ]\n"
		"}\n";
	static const uint32_t label[] = {16};
	struct hw_run *run = run_new();
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "198.18.0.2", "198.18.3.2", 0,
				       HW_UDP_DPORT, 1, 30);
	struct hw_reply *r;

	run->start_unix_us = T0;
	run->vantage = strdup("vp");
	sent(t, 1, 2);
	r = fx_add(t, 1, 1, "198.18.1.1", HW_REPLY_UNREACH, 3, 4, 0.0521);
	r->reply_ttl = 64;
	r->ipid = 1234;
	r->mtu = 1400;
	fx_set_mpls(r, 1, label);
	t->stop_reason = HW_STOP_UNREACH;
	t->stop_ttl = 1;
	t->start_unix_us = 1;
	t->duration_ms = 12.3456;
	trace_truncate(t, 1);
	run_add_trace(run, t);

	char *doc = capture_json(run, NULL);
	assert_string_equal(doc, expect);
	free(doc);
	run_free(run);
}

/* Where the multipath keys go: after probes_per_hop, per reply, per hop, at the end. */
static void test_json_exact_multipath(void **state)
{
	(void)state;
	static const char expect[] =
		"      \"probes_per_hop\": 0,\n"
		"      \"multipath\": \"mda\",\n"
		"      \"confidence\": 99,\n"
		"      \"stop_reason\": \"completed\",\n"
		"      \"stop_ttl\": 2,\n"
		"      \"start\": \"1970-01-01T00:00:00.000001Z\",\n"
		"      \"duration_ms\": 1.0,\n"
		"      \"probes_sent\": 300,\n"
		"      \"replies\": 2,\n"
		"      \"hops\": [\n"
		"        {\n"
		"          \"ttl\": 1,\n"
		"          \"probes_sent\": 299,\n"
		"          \"per_packet\": true,\n"
		"          \"replies\": [\n"
		"            {\n"
		"              \"addr\": \"198.18.1.1\",\n"
		"              \"attempt\": 0,\n"
		"              \"flow\": 17,\n"
		"              \"rtt_ms\": 0.1,\n"
		"              \"kind\": \"time-exceeded\",\n"
		"              \"icmp_type\": 11,\n"
		"              \"icmp_code\": 0,\n"
		"              \"reply_ttl\": 64,\n"
		"              \"quoted_ttl\": 1,\n"
		"              \"ipid\": 0\n"
		"            }\n"
		"          ]\n"
		"        },\n"
		"        {\n"
		"          \"ttl\": 2,\n"
		"          \"probes_sent\": 1,\n"
		"          \"replies\": [\n"
		"            {\n"
		"              \"addr\": \"198.18.3.2\",\n"
		"              \"attempt\": 0,\n"
		"              \"flow\": 17,\n"
		"              \"rtt_ms\": 0.2,\n"
		"              \"kind\": \"unreach\",\n"
		"              \"icmp_type\": 3,\n"
		"              \"icmp_code\": 3,\n"
		"              \"reply_ttl\": 63,\n"
		"              \"quoted_ttl\": 1,\n"
		"              \"ipid\": 0\n"
		"            }\n"
		"          ]\n"
		"        }\n"
		"      ],\n"
		"      \"links\": [\n"
		"        {\n"
		"          \"from\": \"198.18.1.1\",\n"
		"          \"to\": \"198.18.3.2\",\n"
		"          \"ttl\": 1,\n"
		"          \"per_packet\": true\n"
		"        }\n"
		"      ],\n"
		"      \"diamonds\": [\n"
		"        {\n"
		"          \"divergence\": null,\n"
		"          \"div_ttl\": 0,\n"
		"          \"convergence\": \"198.18.3.2\",\n"
		"          \"conv_ttl\": 2,\n"
		"          \"max_width\": 2,\n"
		"          \"length\": 2\n"
		"        }\n"
		"      ]\n"
		"    }\n"
		"  ]\n"
		"}\n";
	struct hw_run *run = run_new();
	struct hw_trace *t = new_trace(HW_METHOD_UDP, "198.18.0.2", "198.18.3.2", 17,
				       HW_UDP_DPORT, 1, 2);

	run->start_unix_us = T0;
	t->multipath = HW_MULTIPATH_MDA;
	t->confidence = 99;
	t->probes_per_hop = 0;
	sent(t, 1, 255);
	trace_hop(t, 1)->probes_sent = 299;
	t->probes_sent = 299;
	sent(t, 2, 1);
	te(t, 1, 0, "198.18.1.1", 0.1);
	trace_hop(t, 1)->replies[0].reply_ttl = 64;
	trace_hop(t, 1)->replies[0].flow_id = 17;
	trace_hop(t, 1)->per_packet = true;
	struct hw_reply *r = fx_add(t, 2, 0, "198.18.3.2", HW_REPLY_UNREACH, 3, 3, 0.2);
	r->flow_id = 17;
	struct hw_link l = {fx_addr("198.18.1.1"), fx_addr("198.18.3.2"), 1, true};
	assert_int_equal(trace_add_link(t, &l), HW_OK);
	struct hw_diamond d = {.div_ttl = 0, .conv_ttl = 2, .convergence = fx_addr("198.18.3.2"),
			       .max_width = 2, .length = 2};
	assert_int_equal(trace_add_diamond(t, &d), HW_OK);
	t->stop_reason = HW_STOP_COMPLETED;
	t->stop_ttl = 2;
	t->start_unix_us = 1;
	t->duration_ms = 1.0;
	run_add_trace(run, t);

	char *doc = capture_json(run, NULL);
	char *at = strstr(doc, "      \"probes_per_hop\"");
	assert_non_null(at);
	assert_string_equal(at, expect);
	free(doc);
	run_free(run);
}

static void assert_write_refused(struct hw_run *run)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(json_write_run(run, f), HW_ERR_INVAL);
	fclose(f);
	assert_int_equal(len, 0); /* nothing half-written */
	free(buf);
}

static void test_json_write_refuses(void **state)
{
	(void)state;
	struct hw_run *run = rich_run();
	struct hw_reply *r = &trace_hop(run->traces[0], 1)->replies[0];
	struct hw_reply saved = *r;

	r->rtt_ms = NAN;
	assert_write_refused(run);
	r->rtt_ms = -0.001;
	assert_write_refused(run);
	r->rtt_ms = INFINITY;
	assert_write_refused(run);
	*r = saved;
	memset(&r->addr, 0, sizeof(r->addr));
	assert_write_refused(run);
	*r = saved;
	r->n_mpls = HW_MPLS_MAX + 1;
	assert_write_refused(run);
	*r = saved;
	run->start_unix_us = 253402300800000000ULL; /* year 10000 */
	assert_write_refused(run);
	run->start_unix_us = T0;
	free(run->tool_version);
	run->tool_version = strdup("caf\xe9"); /* Latin-1, not UTF-8 */
	assert_write_refused(run);
	free(run->tool_version);
	run->tool_version = NULL;
	/* A link must name both ends. */
	struct hw_link *l = &run->traces[3]->links[0];
	struct hw_link saved_link = *l;
	memset(&l->to, 0, sizeof(l->to));
	assert_write_refused(run);
	*l = saved_link;
	assert_int_equal(json_write_run(NULL, stdout), HW_ERR_INVAL);
	assert_int_equal(json_write_run(run, NULL), HW_ERR_INVAL);
	run_free(run);
}

/* ---- the reader's refusals ---- */

/*
 * A mutation of the rich run's document: the value at a dotted path ("traces.0.flow.id",
 * numbers index arrays) is replaced by a JSON value, or removed when value is NULL.
 */
struct mutation {
	const char *path;
	const char *value;
	int status;
	const char *error;
};

static json_t *parent_of(json_t *root, const char *path, char *last)
{
	char buf[256];
	json_t *node = root;

	snprintf(buf, sizeof(buf), "%s", path);
	char *key = buf, *dot;
	while ((dot = strchr(key, '.')) != NULL) {
		*dot = '\0';
		node = json_is_array(node) ? json_array_get(node, strtoul(key, NULL, 10))
					   : json_object_get(node, key);
		assert_non_null(node);
		key = dot + 1;
	}
	strcpy(last, key);
	return node;
}

static void mutate(json_t *root, const char *path, const char *value)
{
	char last[64];
	json_t *parent = parent_of(root, path, last);
	json_t *v = NULL;

	if (value != NULL) {
		json_error_t e;
		v = json_loads(value, JSON_DECODE_ANY, &e);
		assert_non_null(v);
	}
	if (json_is_array(parent)) {
		size_t i = strtoul(last, NULL, 10);
		assert_int_equal(v != NULL ? json_array_set_new(parent, i, v)
					   : json_array_remove(parent, i), 0);
	} else {
		assert_int_equal(v != NULL ? json_object_set_new(parent, last, v)
					   : json_object_del(parent, last), 0);
	}
}

/* Applies a mutation to a fresh copy of doc and reads the result. */
static int read_mutated(const char *doc, const struct mutation *m, char *err, size_t errlen,
			struct hw_run **run)
{
	json_error_t e;
	json_t *root = json_loads(doc, 0, &e);

	assert_non_null(root);
	mutate(root, m->path, m->value);
	char *text = json_dumps(root, JSON_PRESERVE_ORDER);
	json_decref(root);
	int rc = json_read_run(text, strlen(text), run, err, errlen);
	free(text);
	return rc;
}

#define R0 "traces.0.hops.2.replies.1"
#define P0 "traces[0].hops[2].replies[1]"
#define M3 "traces.3"
#define Q3 "traces[3]"

static const struct mutation rejected[] = {
	{"schema", "\"traceroute\"", HW_ERR_MALFORMED,
	 "schema: \"traceroute\" is not \"hopwatch-run\""},
	{"schema", NULL, HW_ERR_MALFORMED, "schema: missing"},
	{"version", "2", HW_ERR_UNSUPPORTED, "version: 2 is newer than this reader (1)"},
	{"version", "\"1\"", HW_ERR_MALFORMED, "version: expected an integer"},
	{"version", "0", HW_ERR_MALFORMED, "version: 0 is out of range 1..2147483647"},
	{"start", "\"2026-02-29T00:00:00Z\"", HW_ERR_MALFORMED,
	 "start: not a UTC time like 2026-11-24T22:30:00.123456Z"},
	{"start", "1795559400", HW_ERR_MALFORMED, "start: expected a string"},
	{"vantage", "5", HW_ERR_MALFORMED, "vantage: expected a string or null"},
	{"tool", NULL, HW_ERR_MALFORMED, "tool: missing"},
	{"traces", "{}", HW_ERR_MALFORMED, "traces: expected an array"},
	{"traces.0", "[]", HW_ERR_MALFORMED, "traces[0]: expected an object"},
	{"traces.0.family", "5", HW_ERR_MALFORMED, "traces[0].family: 5 is neither 4 nor 6"},
	{"traces.0.family", "41", HW_ERR_MALFORMED, "traces[0].family: 41 is out of range 4..6"},
	{"traces.0.family", "6", HW_ERR_MALFORMED, "traces[0].src: not an IPv6 address"},
	{"traces.0.dst", "\"example.net\"", HW_ERR_MALFORMED, "traces[0].dst: not an IP address"},
	{"traces.0.dst", "null", HW_ERR_MALFORMED, "traces[0].dst: expected a string"},
	{"traces.0.dst", NULL, HW_ERR_MALFORMED, "traces[0].dst: missing"},
	{"traces.1.dst", "\"198.18.3.2\"", HW_ERR_MALFORMED, "traces[1].dst: not an IPv6 address"},
	{"traces.1.src", "1", HW_ERR_MALFORMED, "traces[1].src: expected a string or null"},
	{"traces.0.target", "true", HW_ERR_MALFORMED, "traces[0].target: expected a string or null"},
	{"traces.0.network", "7", HW_ERR_MALFORMED, "traces[0].network: expected a string or null"},
	{"traces.0.method", "\"sctp\"", HW_ERR_MALFORMED, "traces[0].method: unknown method \"sctp\""},
	{"traces.0.flow", "null", HW_ERR_MALFORMED, "traces[0].flow: expected an object"},
	{"traces.0.flow.sport", "65536", HW_ERR_MALFORMED,
	 "traces[0].flow.sport: 65536 is out of range 0..65535"},
	{"traces.0.flow.id", "-1", HW_ERR_MALFORMED, "traces[0].flow.id: -1 is out of range 0..65535"},
	{"traces.0.flow.flow_label", "1048576", HW_ERR_MALFORMED,
	 "traces[0].flow.flow_label: 1048576 is out of range 0..1048575"},
	{"traces.0.flow.tos", NULL, HW_ERR_MALFORMED, "traces[0].flow.tos: missing"},
	{"traces.0.first_ttl", "0", HW_ERR_MALFORMED, "traces[0].first_ttl: 0 is out of range 1..255"},
	{"traces.1.max_ttl", "2", HW_ERR_MALFORMED, "traces[1].max_ttl: 2 is out of range 3..255"},
	{"traces.0.max_ttl", "3", HW_ERR_MALFORMED, "traces[0].hops: 6 hops, but TTLs 1..3 hold only 3"},
	{"traces.0.probes_per_hop", "256", HW_ERR_MALFORMED,
	 "traces[0].probes_per_hop: 256 is out of range 0..255"},
	{"traces.0.stop_reason", "\"done\"", HW_ERR_MALFORMED,
	 "traces[0].stop_reason: unknown stop reason \"done\""},
	{"traces.0.stop_ttl", "1e3", HW_ERR_MALFORMED, "traces[0].stop_ttl: expected an integer"},
	{"traces.0.start", "\"2026-11-24T22:30:00.1234567Z\"", HW_ERR_MALFORMED,
	 "traces[0].start: not a UTC time like 2026-11-24T22:30:00.123456Z"},
	{"traces.0.duration_ms", "-1", HW_ERR_MALFORMED,
	 "traces[0].duration_ms: -1 is out of range 0..1e12"},
	{"traces.0.duration_ms", "1e13", HW_ERR_MALFORMED,
	 "traces[0].duration_ms: 1e+13 is out of range 0..1e12"},
	{"traces.0.duration_ms", "\"12\"", HW_ERR_MALFORMED,
	 "traces[0].duration_ms: expected a number"},
	{"traces.0.probes_sent", "4294967296", HW_ERR_MALFORMED,
	 "traces[0].probes_sent: 4294967296 is out of range 0..4294967295"},
	{"traces.0.replies", "1.5", HW_ERR_MALFORMED, "traces[0].replies: expected an integer"},
	{"traces.0.hops", NULL, HW_ERR_MALFORMED, "traces[0].hops: missing"},
	{"traces.0.hops.2", "7", HW_ERR_MALFORMED, "traces[0].hops[2]: expected an object"},
	{"traces.0.hops.2.ttl", "4", HW_ERR_MALFORMED,
	 "traces[0].hops[2].ttl: 4 where TTL 3 belongs (hops run from first_ttl up)"},
	{"traces.0.hops.2.ttl", "256", HW_ERR_MALFORMED,
	 "traces[0].hops[2].ttl: 256 is out of range 0..255"},
	{"traces.0.hops.2.probes_sent", "1", HW_ERR_MALFORMED,
	 "traces[0].hops[2].replies[0].attempt: 2 is not below the hop's probes_sent (1)"},
	{"traces.0.hops.2.replies", "null", HW_ERR_MALFORMED,
	 "traces[0].hops[2].replies: expected an array"},
	{R0, "\"x\"", HW_ERR_MALFORMED, P0 ": expected an object"},
	{R0 ".addr", "\"198.18.300.1\"", HW_ERR_MALFORMED, P0 ".addr: not an IP address"},
	{R0 ".addr", "\"2001:db8::1\"", HW_ERR_MALFORMED, P0 ".addr: not an IPv4 address"},
	{R0 ".addr", "null", HW_ERR_MALFORMED, P0 ".addr: expected a string"},
	{R0 ".attempt", "3", HW_ERR_MALFORMED, P0 ".attempt: 3 is not below the hop's probes_sent (3)"},
	{R0 ".attempt", "255", HW_ERR_MALFORMED, P0 ".attempt: 255 is out of range 0..254"},
	{R0 ".kind", "\"redirect\"", HW_ERR_MALFORMED, P0 ".kind: unknown reply kind \"redirect\""},
	{R0 ".rtt_ms", "null", HW_ERR_MALFORMED, P0 ".rtt_ms: expected a number"},
	{R0 ".icmp_type", "-3", HW_ERR_MALFORMED, P0 ".icmp_type: -3 is out of range 0..255"},
	{R0 ".icmp_code", "[]", HW_ERR_MALFORMED, P0 ".icmp_code: expected an integer"},
	{R0 ".reply_ttl", NULL, HW_ERR_MALFORMED, P0 ".reply_ttl: missing"},
	{R0 ".quoted_ttl", "false", HW_ERR_MALFORMED, P0 ".quoted_ttl: expected an integer"},
	{R0 ".ipid", "65536", HW_ERR_MALFORMED, P0 ".ipid: 65536 is out of range 0..65535"},
	{R0 ".mtu", "-1", HW_ERR_MALFORMED, P0 ".mtu: -1 is out of range 0..4294967295"},
	{R0 ".mtu", "null", HW_ERR_MALFORMED, P0 ".mtu: expected an integer"},
	{R0 ".mark", "1", HW_ERR_MALFORMED, P0 ".mark: expected a string"},
	{R0 ".mpls", "{}", HW_ERR_MALFORMED, P0 ".mpls: expected an array"},
	{R0 ".mpls", "[1,2,3,4,5,6,7,8,9]", HW_ERR_MALFORMED, P0 ".mpls: more than 8 labels"},
	{R0 ".mpls", "[5]", HW_ERR_MALFORMED, P0 ".mpls[0]: expected an object"},
	{R0 ".mpls", "[{\"label\":1048576,\"tc\":0,\"s\":1,\"ttl\":1}]", HW_ERR_MALFORMED,
	 P0 ".mpls[0].label: 1048576 is out of range 0..1048575"},
	{R0 ".mpls", "[{\"label\":1,\"tc\":0,\"s\":0,\"ttl\":1},{\"label\":1,\"tc\":8,\"s\":1,"
		     "\"ttl\":1}]", HW_ERR_MALFORMED, P0 ".mpls[1].tc: 8 is out of range 0..7"},
	{R0 ".mpls", "[{\"label\":1,\"tc\":0,\"s\":2,\"ttl\":1}]", HW_ERR_MALFORMED,
	 P0 ".mpls[0].s: 2 is out of range 0..1"},
	{R0 ".mpls", "[{\"label\":1,\"tc\":0,\"s\":1}]", HW_ERR_MALFORMED,
	 P0 ".mpls[0].ttl: missing"},
	{"traces.0.hops.0.probes_sent", "256", HW_ERR_MALFORMED,
	 "traces[0].hops[0].probes_sent: 256 is out of range 0..255"},
	{M3 ".multipath", "\"ecmp\"", HW_ERR_MALFORMED, Q3 ".multipath: unknown multipath mode \"ecmp\""},
	{M3 ".multipath", "3", HW_ERR_MALFORMED, Q3 ".multipath: expected a string"},
	{M3 ".confidence", "100", HW_ERR_MALFORMED, Q3 ".confidence: 100 is out of range 1..99"},
	{M3 ".confidence", NULL, HW_ERR_MALFORMED, Q3 ".confidence: missing"},
	{M3 ".hops.1.probes_sent", "4294967296", HW_ERR_MALFORMED,
	 Q3 ".hops[1].probes_sent: 4294967296 is out of range 0..4294967295"},
	{M3 ".hops.1.per_packet", "\"yes\"", HW_ERR_MALFORMED,
	 Q3 ".hops[1].per_packet: expected true or false"},
	{M3 ".hops.1.replies.1.flow", "-1", HW_ERR_MALFORMED,
	 Q3 ".hops[1].replies[1].flow: -1 is out of range 0..65535"},
	{M3 ".hops.1.replies.1.flow", NULL, HW_ERR_MALFORMED, Q3 ".hops[1].replies[1].flow: missing"},
	{M3 ".links", NULL, HW_ERR_MALFORMED, Q3 ".links: missing"},
	{M3 ".links", "{}", HW_ERR_MALFORMED, Q3 ".links: expected an array"},
	{M3 ".links.0", "[]", HW_ERR_MALFORMED, Q3 ".links[0]: expected an object"},
	{M3 ".links.0.ttl", "4", HW_ERR_MALFORMED, Q3 ".links[0].ttl: 4 is out of range 1..3"},
	{M3 ".links.0.ttl", "0", HW_ERR_MALFORMED, Q3 ".links[0].ttl: 0 is out of range 1..3"},
	{M3 ".links.1.to", "\"2001:db8::1\"", HW_ERR_MALFORMED,
	 Q3 ".links[1].to: not an IPv4 address"},
	{M3 ".links.1.from", "null", HW_ERR_MALFORMED, Q3 ".links[1].from: expected a string"},
	{M3 ".links.0.per_packet", "1", HW_ERR_MALFORMED,
	 Q3 ".links[0].per_packet: expected true or false"},
	{M3 ".links.0.per_packet", NULL, HW_ERR_MALFORMED, Q3 ".links[0].per_packet: missing"},
	{M3 ".diamonds", NULL, HW_ERR_MALFORMED, Q3 ".diamonds: missing"},
	{M3 ".diamonds.0.conv_ttl", "3", HW_ERR_MALFORMED,
	 Q3 ".diamonds[0].conv_ttl: 3 without a convergence (0 expected)"},
	{M3 ".diamonds.0.convergence", "\"198.18.8.2\"", HW_ERR_MALFORMED,
	 Q3 ".diamonds[0].conv_ttl: 0 is out of range 2..16"},
	{M3 ".diamonds.0.length", "2", HW_ERR_MALFORMED,
	 Q3 ".diamonds[0].length: 2 where conv_ttl - div_ttl makes 0"},
	{M3 ".diamonds.0.divergence", "null", HW_ERR_MALFORMED,
	 Q3 ".diamonds[0].div_ttl: 1 without a divergence (0 expected)"},
	{M3 ".diamonds.0.div_ttl", "17", HW_ERR_MALFORMED,
	 Q3 ".diamonds[0].div_ttl: 17 is out of range 0..16"},
	{M3 ".diamonds.0.max_width", "65536", HW_ERR_MALFORMED,
	 Q3 ".diamonds[0].max_width: 65536 is out of range 0..65535"},
};

static void test_json_rejects(void **state)
{
	(void)state;
	struct hw_run *run = rich_run();
	char *doc = capture_json(run, NULL);

	run_free(run);
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		const struct mutation *m = &rejected[i];
		char err[256];
		struct hw_run *out = (struct hw_run *)1;
		int rc = read_mutated(doc, m, err, sizeof(err), &out);
		if (rc != m->status || strcmp(err, m->error) != 0)
			fail_msg("%s = %s: got %d \"%s\", want %d \"%s\"", m->path,
				 m->value != NULL ? m->value : "(removed)", rc, err, m->status,
				 m->error);
		assert_null(out);
	}
	free(doc);
}

/* Documents that must still be read: extensions, optional keys, edge values. */
static const struct mutation accepted[] = {
	{"traces.0.future_field", "{\"anything\": [1]}", HW_OK, NULL},
	{"comment", "\"written by hand\"", HW_OK, NULL},
	{R0 ".mark", "\"!Z\"", HW_OK, NULL}, /* derived: only its type is checked */
	{"traces.0.hops.2.replies.0.mpls", NULL, HW_OK, NULL},
	{"traces.1.hops.1.replies.0.mtu", NULL, HW_OK, NULL},
	{R0 ".mpls", "[]", HW_OK, NULL},
	{"traces.0.duration_ms", "12", HW_OK, NULL},
	{"traces.0.src", "null", HW_OK, NULL},
	{"traces.0.hops", "[]", HW_OK, NULL},
	{"traces.0.family", "4", HW_OK, NULL},
	{"start", "\"2024-02-29T12:00:00Z\"", HW_OK, NULL},
	{"start", "\"2000-02-29T23:59:59.5Z\"", HW_OK, NULL},
	{"start", "\"1970-01-01T00:00:00Z\"", HW_OK, NULL},
	{"start", "\"9999-12-31T23:59:59.999999Z\"", HW_OK, NULL},
	{"vantage", "null", HW_OK, NULL},
	/* Multipath keys in a single-flow trace mean nothing there. */
	{"traces.0.links", "[1]", HW_OK, NULL},
	{"traces.0.multipath", "\"none\"", HW_OK, NULL},
	{"traces.0.hops.0.replies.0.flow", "\"x\"", HW_OK, NULL},
	{M3 ".hops.1.per_packet", NULL, HW_OK, NULL},
	{M3 ".links", "[]", HW_OK, NULL},
	{M3 ".diamonds.0", "{\"divergence\": null, \"div_ttl\": 0, \"convergence\": \"198.18.8.2\", "
			   "\"conv_ttl\": 4, \"max_width\": 2, \"length\": 4}", HW_OK, NULL},
};

static void test_json_accepts(void **state)
{
	(void)state;
	static const uint64_t starts[] = {1709208000000000ULL, 951868799500000ULL, 0,
					  253402300799999999ULL};
	struct hw_run *run = rich_run();
	char *doc = capture_json(run, NULL);
	size_t n_start = 0;

	run_free(run);
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		char err[256];
		struct hw_run *out = NULL;
		int rc = read_mutated(doc, &accepted[i], err, sizeof(err), &out);
		if (rc != HW_OK)
			fail_msg("%s: %s", accepted[i].path, err);
		if (strcmp(accepted[i].path, "start") == 0)
			assert_int_equal(out->start_unix_us, starts[n_start++]);
		run_free(out);
	}
	assert_int_equal(n_start, 4);
	free(doc);
}

static const char *const bad_times[] = {
	"1969-12-31T23:59:59.999999Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
	"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z",
	"2026-11-24T24:00:00Z", "2026-11-24T22:60:00Z", "2026-11-24T22:30:60Z",
	"2026-11-24T22:30:00.Z", "2026-11-24T22:30:00.123456z", "2026-11-24 22:30:00Z",
	"2026-11-24T22:30:00", "2026-11-24T22:30:00+00:00", "2026-11-24T22:30:00Z ",
	"+2026-11-24T22:30:00Z", "10000-01-01T00:00:00Z", "2026-1-24T22:30:00Z", "",
};

static void test_json_rejects_times(void **state)
{
	(void)state;
	struct hw_run *run = rich_run();
	char *doc = capture_json(run, NULL);

	run_free(run);
	for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
		char value[64], err[256];
		struct hw_run *out = NULL;
		struct mutation m = {"traces.1.start", value, 0, NULL};
		snprintf(value, sizeof(value), "\"%s\"", bad_times[i]);
		int rc = read_mutated(doc, &m, err, sizeof(err), &out);
		if (rc != HW_ERR_MALFORMED)
			fail_msg("accepted %s", bad_times[i]);
		assert_string_equal(err, "traces[1].start: not a UTC time like "
					 "2026-11-24T22:30:00.123456Z");
	}
	free(doc);
}

static void assert_syntax_error(const char *text, size_t len)
{
	char err[256];
	struct hw_run *out = NULL;

	assert_int_equal(json_read_run(text, len, &out, err, sizeof(err)), HW_ERR_MALFORMED);
	assert_null(out);
	if (strncmp(err, "line ", 5) != 0)
		fail_msg("no line in \"%s\"", err);
}

static void test_json_rejects_syntax(void **state)
{
	(void)state;
	static const char nul[] = "{\"schema\": \"hopwatch-run\"\0}";
	char err[256];
	struct hw_run *out = NULL;

	static const char *const texts[] = {
		"", "{", "null", "{\"schema\": \"a\\u0000b\"}",
		"{\"schema\": \"x\", \"schema\": \"x\"}", "{} {}", "{\"a\": 99999999999999999999}",
		"{\"a\": \"\xff\"}",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		assert_syntax_error(texts[i], strlen(texts[i]));
	assert_syntax_error(nul, sizeof(nul) - 1);

	assert_int_equal(json_read_run("[]", 2, &out, err, sizeof(err)), HW_ERR_MALFORMED);
	assert_string_equal(err, "document: expected an object");
	assert_int_equal(json_read_run("{}", 2, &out, err, sizeof(err)), HW_ERR_MALFORMED);
	assert_string_equal(err, "schema: missing");
	/* len bounds the text: the closing brace is beyond it. */
	assert_syntax_error("{}", 1);
}

static void test_json_read_args(void **state)
{
	(void)state;
	char err[8];
	struct hw_run *out = NULL;

	assert_int_equal(json_read_run(NULL, 0, &out, err, sizeof(err)), HW_ERR_INVAL);
	assert_int_equal(json_read_run("{}", 2, NULL, NULL, 0), HW_ERR_INVAL);
	/* A short buffer gets a cut but terminated message; no buffer is fine too. */
	assert_int_equal(json_read_run("{}", 2, &out, err, sizeof(err)), HW_ERR_MALFORMED);
	assert_string_equal(err, "schema:");
	assert_int_equal(json_read_run("{}", 2, &out, NULL, 0), HW_ERR_MALFORMED);
	assert_int_equal(json_read_run("{}", 2, &out, err, 0), HW_ERR_MALFORMED);
	assert_null(out);
}

/* ---- annotation ---- */

/* rich_run with trace 0 annotated: AS64500 at hop 1, AS4837 (MOAS with 4808) at 3-4, a
   failed lookup at hop 5, AS131279 at hop 6; and a transit list. */
static struct hw_run *annotated_run(void)
{
	static const uint32_t edge[] = {64500}, cu[] = {4837, 4808}, kp[] = {131279};
	struct hw_run *run = rich_run();
	struct hw_trace *t = run->traces[0];

	fx_info(t, "198.18.1.1", "edge-1.example", HW_LOOKUP_OK, edge, 1, "LAB-EDGE Edge",
		      HW_LOOKUP_OK);
	fx_info(t, "198.18.3.1", "cu-bj-1.example", HW_LOOKUP_OK, cu, 2,
		      "CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN", HW_LOOKUP_OK);
	fx_info(t, "198.18.4.1", NULL, HW_LOOKUP_NOTFOUND, cu, 1, NULL, HW_LOOKUP_OK);
	fx_info(t, "198.18.4.2", NULL, HW_LOOKUP_FAILED, cu, 1, NULL, HW_LOOKUP_OK);
	fx_info(t, "198.18.5.1", NULL, HW_LOOKUP_FAILED, NULL, 0, NULL, HW_LOOKUP_FAILED);
	fx_info(t, "198.18.5.2", NULL, HW_LOOKUP_NONE, NULL, 0, NULL, HW_LOOKUP_NOTFOUND);
	fx_info(t, "198.18.6.1", "kp.example", HW_LOOKUP_OK, kp, 1, "STAR-KP Ryugyong",
		      HW_LOOKUP_OK);
	run->transit = calloc(1, sizeof(*run->transit));
	run->transit[0] = 4837;
	run->n_transit = 1;
	return run;
}

static void test_json_annotation(void **state)
{
	(void)state;
	struct hw_run *run = annotated_run();
	size_t len;
	char *doc = capture_json(run, &len);
	json_error_t e;
	json_t *root = json_loads(doc, 0, &e);

	assert_non_null(root);
	char *transit = json_dumps(json_object_get(root, "transit"), JSON_COMPACT);
	assert_string_equal(transit, "[4837]");
	free(transit);
	json_t *t0 = json_array_get(json_object_get(root, "traces"), 0);
	json_t *r = json_array_get(json_object_get(json_array_get(json_object_get(t0, "hops"), 0),
						   "replies"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "edge-1.example");
	assert_int_equal(json_integer_value(json_object_get(r, "asn")), 64500);
	assert_string_equal(json_string_value(json_object_get(r, "as_name")), "LAB-EDGE Edge");
	/* Unknown: absent from the reply. */
	r = json_array_get(json_object_get(json_array_get(json_object_get(t0, "hops"), 4),
					   "replies"), 0);
	assert_null(json_object_get(r, "name"));
	assert_null(json_object_get(r, "asn"));
	char *path = json_dumps(json_object_get(t0, "as_path"), JSON_COMPACT);
	assert_string_equal(path,
		"[{\"asn\":64500,\"first_ttl\":1,\"last_ttl\":1,\"first\":\"198.18.1.1\",\"last\":\"198.18.1.1\"},"
		"{\"asn\":null,\"first_ttl\":2,\"last_ttl\":2,\"first\":null,\"last\":null},"
		"{\"asn\":4837,\"first_ttl\":3,\"last_ttl\":4,\"first\":\"198.18.3.1\",\"last\":\"198.18.4.1\"},"
		"{\"asn\":null,\"first_ttl\":5,\"last_ttl\":5,\"first\":\"198.18.5.1\",\"last\":\"198.18.5.1\"},"
		"{\"asn\":131279,\"first_ttl\":6,\"last_ttl\":6,\"first\":\"198.18.6.1\",\"last\":\"198.18.6.1\"}]");
	free(path);
	char *borders = json_dumps(json_object_get(t0, "borders"), JSON_COMPACT);
	assert_string_equal(borders,
		"[{\"from_asn\":64500,\"to_asn\":4837,\"from_ttl\":1,\"to_ttl\":3,\"from\":\"198.18.1.1\",\"to\":\"198.18.3.1\"},"
		"{\"from_asn\":4837,\"to_asn\":131279,\"from_ttl\":4,\"to_ttl\":6,\"from\":\"198.18.4.1\",\"to\":\"198.18.6.1\"}]");
	free(borders);
	json_t *a = json_array_get(json_object_get(t0, "addresses"), 1);
	char *info = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(info, "{\"addr\":\"198.18.3.1\",\"scope\":\"benchmark\","
				  "\"name\":\"cu-bj-1.example\",\"name_status\":\"ok\","
				  "\"origins\":[4837,4808],\"asn_status\":\"ok\",\"as_name\":"
				  "\"CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN\"}");
	free(info);
	/* Not annotated: no addresses, no as_path. */
	assert_null(json_object_get(json_array_get(json_object_get(root, "traces"), 1), "as_path"));
	json_decref(root);

	/* Read back: the same annotation; written again: the same bytes. */
	struct hw_run *back = read_ok(doc, len);
	assert_run_equal(run, back);
	char *again = capture_json(back, NULL);
	assert_string_equal(doc, again);
	free(again);
	/* One trace alone (the store's form) keeps it too. */
	char *one = NULL;
	struct hw_trace *t = NULL;
	char err[256];
	assert_int_equal(json_trace_dump(run->traces[0], &one), HW_OK);
	assert_int_equal(json_trace_load(one, strlen(one), &t, err, sizeof(err)), HW_OK);
	assert_int_equal(t->n_infos, 7);
	assert_int_equal(trace_asn(t, &(struct hw_addr){AF_INET, {198, 18, 3, 1}}), 4837);
	trace_free(t);
	free(one);
	run_free(back);
	run_free(run);
	free(doc);
}

#define A0 "traces.0.addresses"
#define B0 "traces[0].addresses"

static const struct mutation annotation_rejected[] = {
	{A0 ".0.name_status", "\"notfound\"", HW_ERR_MALFORMED,
	 B0 "[0].name: a name with name_status \"notfound\""},
	{A0 ".0.name", "null", HW_ERR_MALFORMED, B0 "[0].name: null with name_status \"ok\""},
	{A0 ".0.asn_status", "\"failed\"", HW_ERR_MALFORMED,
	 B0 "[0].origins: 1 origins with asn_status \"failed\""},
	{A0 ".4.as_name", "\"X\"", HW_ERR_MALFORMED, B0 "[4].as_name: an AS name without an origin"},
	{A0 ".0.origins", "[0]", HW_ERR_MALFORMED, B0 "[0].origins[0]: expected an AS number 1..4294967295"},
	{A0 ".0.origins", "[4294967296]", HW_ERR_MALFORMED,
	 B0 "[0].origins[0]: expected an AS number 1..4294967295"},
	{A0 ".0.origins", "[1,2,3,4,5]", HW_ERR_MALFORMED, B0 "[0].origins: more than 4 origins"},
	{A0 ".0.origins", "[7,7]", HW_ERR_MALFORMED, B0 "[0].origins[1]: AS7 twice"},
	{A0 ".0.origins", "\"4837\"", HW_ERR_MALFORMED, B0 "[0].origins: expected an array"},
	{A0 ".0.scope", "\"galactic\"", HW_ERR_MALFORMED, B0 "[0].scope: unknown scope \"galactic\""},
	{A0 ".0.name_status", "\"maybe\"", HW_ERR_MALFORMED,
	 B0 "[0].name_status: unknown lookup outcome \"maybe\""},
	{A0 ".0.addr", "\"2001:db8::1\"", HW_ERR_MALFORMED, B0 "[0].addr: not an IPv4 address"},
	{A0 ".1.addr", "\"198.18.1.1\"", HW_ERR_MALFORMED, B0 "[1].addr: listed twice"},
	{A0 ".0.asn_status", NULL, HW_ERR_MALFORMED, B0 "[0].asn_status: missing"},
	{A0, "{}", HW_ERR_MALFORMED, B0 ": expected an array"},
	{A0 ".0", "7", HW_ERR_MALFORMED, B0 "[0]: expected an object"},
	{"traces.0.as_path", "{}", HW_ERR_MALFORMED, "traces[0].as_path: expected an array"},
	{"traces.0.hops.0.replies.0.asn", "-1", HW_ERR_MALFORMED,
	 "traces[0].hops[0].replies[0].asn: -1 is out of range 0..4294967295"},
	{"traces.0.hops.0.replies.0.name", "7", HW_ERR_MALFORMED,
	 "traces[0].hops[0].replies[0].name: expected a string"},
	{"transit", "[0]", HW_ERR_MALFORMED, "transit[0]: expected an AS number 1..4294967295"},
	{"transit", "[5,5]", HW_ERR_MALFORMED, "transit[1]: AS5 twice"},
	{"transit", "4837", HW_ERR_MALFORMED, "transit: expected an array"},
};

static void test_json_annotation_rejects(void **state)
{
	(void)state;
	struct hw_run *run = annotated_run();
	char *doc = capture_json(run, NULL);

	run_free(run);
	for (size_t i = 0; i < sizeof(annotation_rejected) / sizeof(annotation_rejected[0]); i++) {
		const struct mutation *m = &annotation_rejected[i];
		char err[256];
		struct hw_run *out = (struct hw_run *)1;
		int rc = read_mutated(doc, m, err, sizeof(err), &out);
		if (rc != m->status || strcmp(err, m->error) != 0)
			fail_msg("%s = %s: got %d \"%s\", want %d \"%s\"", m->path,
				 m->value != NULL ? m->value : "(removed)", rc, err, m->status,
				 m->error);
		assert_null(out);
	}
	free(doc);
}

/* Another tool's document: no addresses[], only the replies' name / asn / as_name. */
static void test_json_annotation_from_replies(void **state)
{
	(void)state;
	struct hw_run *run = annotated_run(), *back = NULL;
	char *doc = capture_json(run, NULL);
	json_error_t e;
	json_t *root = json_loads(doc, 0, &e);
	char err[256];

	json_object_del(json_array_get(json_object_get(root, "traces"), 0), "addresses");
	char *text = json_dumps(root, 0);
	json_decref(root);
	assert_int_equal(json_read_run(text, strlen(text), &back, err, sizeof(err)), HW_OK);
	struct hw_trace *t = back->traces[0];
	/* Only addresses with a name or an AS: 5.1 and 5.2 had neither. */
	assert_int_equal(t->n_infos, 5);
	const struct hw_addr_info *i = trace_info(t, &(struct hw_addr){AF_INET, {198, 18, 3, 1}});
	assert_non_null(i);
	assert_string_equal(i->name, "cu-bj-1.example");
	assert_int_equal(i->n_origins, 1); /* the reply names the first origin only */
	assert_int_equal(i->origins[0], 4837);
	assert_string_equal(i->as_name, "CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN");
	i = trace_info(t, &(struct hw_addr){AF_INET, {198, 18, 4, 1}});
	assert_null(i->name);
	assert_int_equal(i->name_status, HW_LOOKUP_NONE);
	free(text);
	run_free(back);
	run_free(run);
	free(doc);
}

static char *capture_text_as(const struct hw_trace *t, const uint32_t *transit, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(text_write_trace_as(t, transit, n, f), HW_OK);
	fclose(f);
	return buf;
}

static void test_text_annotation(void **state)
{
	(void)state;
	struct hw_run *run = annotated_run();
	struct hw_trace *t = run->traces[0];
	struct hw_addr p = fx_addr("10.0.0.1");
	struct hw_addr_info *priv;

	/* A private address: labelled, never asked. */
	te(t, 2, 1, "10.0.0.1", 0.2);
	priv = trace_info_add(t, &p);
	assert_non_null(priv);
	char *text = capture_text_as(t, run->transit, run->n_transit);
	const char *want =
		"hopwatch to www.example.net (198.18.3.2), udp flow 0 (sport 28672 \u2192 dport 33434), 30 hops max\n"
		" 1  edge-1.example (198.18.1.1) [AS64500 LAB-EDGE]  0.052 ms  0.048 ms  0.047 ms"
		"  [border AS64500 \u2192 AS4837]\n"
		" 2  * 10.0.0.1 [private]  0.200 ms *\n"
		" 3  cu-bj-1.example (198.18.3.1) [AS4837/4808 CHINA169-BACKBONE]  0.310 ms *  0.301 ms"
		"  [border AS64500 \u2192 AS4837]\n"
		"     [MPLS: Lse 24005 TC 0 S 0 TTL 1]\n"
		"     [MPLS: Lse 1048575 TC 1 S 1 TTL 2]\n"
		" 4  198.18.4.1 [AS4837]  0.400 ms  0.410 ms 198.18.4.2 [AS4837]  0.420 ms"
		"  [border AS4837 \u2192 AS131279]\n";
	if (strncmp(text, want, strlen(want)) != 0)
		fail_msg("got:\n%s\nwant:\n%s", text, want);
	assert_non_null(strstr(text, " 5  198.18.5.1 [benchmark, AS?]  1.500 ms 198.18.5.2 "
				     "[benchmark, no AS]  1.250 ms 198.18.5.1 [benchmark, AS?]  10.000 ms\n"));
	assert_non_null(strstr(text, " 6  kp.example (198.18.6.1) [AS131279 STAR-KP]  0.600 ms !H *"
				     "  0.620 ms !H  [border AS4837 \u2192 AS131279]\n"));
	assert_non_null(strstr(text, "as path: AS64500 1 \u2192 ? 2 \u2192 AS4837 3-4 (transit) "
				     "\u2192 ? 5 \u2192 AS131279 6\n"
				     "border: hop 1 \u2192 3  AS64500 \u2192 AS4837  (198.18.1.1 \u2192 198.18.3.1)  [transit]\n"
				     "border: hop 4 \u2192 6  AS4837 \u2192 AS131279  (198.18.4.1 \u2192 198.18.6.1)  [transit]\n"
				     "stop: unreach at hop 6"));
	free(text);
	/* Without transit: no marks, the path and borders stay. */
	text = capture_text(t);
	assert_null(strstr(text, "[border"));
	assert_null(strstr(text, "(transit)"));
	assert_non_null(strstr(text, "as path: AS64500 1"));
	free(text);
	run_free(run);
}

/* AS names in text: a Cymru handle alone, any other name whole, a long one cut with "…". */
static void test_text_as_names(void **state)
{
	static const struct {
		const char *as_name, *shown;
	} cases[] = {
		{"CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN", "CHINA169-BACKBONE"},
		{"AMAZON-02, US", "AMAZON-02"},
		{"LAB-EDGE", "LAB-EDGE"},
		/* as-org2info names, and Cymru names without a handle. */
		{"China Unicom", "China Unicom"},
		{"CHINA UNICOM", "CHINA UNICOM"},
		{"GOOGLE, US", "GOOGLE, US"},
		{"China Unicom Beijing Province Network", "China Unicom Beijing Pr\u2026"},
		{"CHINA UNICOM China169 Backbone, CN", "CHINA UNICOM China169 B\u2026"},
		/* Exactly 24 characters: whole; cut at a blank: no blank before the "…". */
		{"abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx"},
		{"Korea Telecom Broadband Network", "Korea Telecom Broadband\u2026"},
		/* Characters, not bytes: 24 accented letters fit, nothing is cut inside one. */
		{"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		 "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
		 "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		 "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"},
		{"Soci\u00e9t\u00e9 Fran\u00e7aise du Radiot\u00e9l\u00e9phone",
		 "Soci\u00e9t\u00e9 Fran\u00e7aise du Ra\u2026"},
	};
	static const uint32_t cu[] = {4837};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct hw_run *run = rich_run();
		struct hw_trace *t = run->traces[0];
		char want[256];
		fx_info(t, "198.18.1.1", NULL, HW_LOOKUP_NOTFOUND, cu, 1, cases[k].as_name,
			      HW_LOOKUP_OK);
		char *text = capture_text(t);
		snprintf(want, sizeof(want), " 1  198.18.1.1 [AS4837 %s]  0.052 ms", cases[k].shown);
		if (strstr(text, want) == NULL)
			fail_msg("%s: want '%s' in\n%s", cases[k].as_name, want, text);
		free(text);
		run_free(run);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_trace),
		cmocka_unit_test(test_text_headers),
		cmocka_unit_test(test_text_port_unreachable),
		cmocka_unit_test(test_doubletree_skipped),
		cmocka_unit_test(test_text_multipath),
		cmocka_unit_test(test_text_bad_args),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_exact),
		cmocka_unit_test(test_json_exact_multipath),
		cmocka_unit_test(test_json_write_refuses),
		cmocka_unit_test(test_json_rejects),
		cmocka_unit_test(test_json_accepts),
		cmocka_unit_test(test_json_rejects_times),
		cmocka_unit_test(test_json_rejects_syntax),
		cmocka_unit_test(test_json_read_args),
		cmocka_unit_test(test_json_annotation),
		cmocka_unit_test(test_json_annotation_rejects),
		cmocka_unit_test(test_json_annotation_from_replies),
		cmocka_unit_test(test_text_annotation),
		cmocka_unit_test(test_text_as_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
