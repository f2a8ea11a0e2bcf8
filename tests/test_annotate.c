/*
 * Unit tests for annotation: PTR names, Cymru-format origins and AS names, local tables,
 * against a small DNS server the test runs on 127.0.0.1 in the same loop. The server
 * counts every question by name (to see the cache at work), can hold its answers back
 * (to see how many questions are out at once) and can stay silent (timeouts).
 *
 * The zone (asn.test):
 *   198.18.1.N   PTR rN.one.test    origin 64501 (198.18.1.0/24)   AS name LAB-ONE
 *   198.18.2.N   PTR rN.two.test    origin 64502 64503 (MOAS)      AS name LAB-TWO
 *   198.18.3.N   PTR rN.three.test  two records: /16 -> 64500, /24 -> 64504 (more specific)
 *   198.18.4.N   nothing: NXDOMAIN for PTR and origin
 *   198.18.5.N   PTR, origin 64505, whose AS name is NXDOMAIN
 *   198.18.7.N   never answered
 *   198.18.8.N   PTR SERVFAIL (a lame reverse zone), origin 64508
 *   198.18.9.N   PTR r.N.nine.test, origin SERVFAIL
 *   198.19.N.M   PTR hM-N.many.test, origin 64600 + N (for the in-flight test)
 *   2001:db8::N  PTR v6-N.test, origin6 64506
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hopwatch/annotate.h>
#include <hopwatch/asn.h>
#include <hopwatch/loop.h>
#include <hopwatch/status.h>

#include "dnsserver.h"

/* ---- the zone the DNS server answers ---- */

static size_t put_txt(uint8_t *out, const char *text)
{
	uint8_t rdata[256];
	size_t len = strlen(text);

	assert_true(len < 256);
	rdata[0] = (uint8_t)len;
	memcpy(rdata + 1, text, len);
	return dnsserver_put_rr(out, DNS_T_TXT, rdata, len + 1);
}

static size_t put_ptr(uint8_t *out, const char *name)
{
	uint8_t rdata[256];

	return dnsserver_put_rr(out, DNS_T_PTR, rdata, dnsserver_put_name(rdata, name));
}

/* Parses "d.c.b.a.in-addr.arpa" / "...origin.asn.test" IPv4 owners: the 4 octets. */
static bool v4_owner(const char *name, const char *suffix, unsigned o[4])
{
	char end[64];

	return sscanf(name, "%u.%u.%u.%u.%63s", &o[3], &o[2], &o[1], &o[0], end) == 5
	       && strcmp(end, suffix) == 0 && o[0] < 256 && o[1] < 256 && o[2] < 256 && o[3] < 256;
}

/* The last nibble of an ip6.arpa / origin6 owner under 2001:db8::/112 (our v6 hosts). */
static bool v6_owner(const char *name, const char *suffix, unsigned *last)
{
	const char *prefix32 = "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.";
	char want[160];

	/* 2001:db8::N for N < 16: the first nibble varies, the rest is fixed. */
	if (strlen(name) < 2 || !isxdigit((unsigned char)name[0]) || name[1] != '.')
		return false;
	snprintf(want, sizeof(want), "%s%s", prefix32 + 2, suffix);
	if (strcmp(name + 2, want) != 0)
		return false;
	*last = (unsigned)strtoul((char[]){name[0], 0}, NULL, 16);
	return true;
}

/* The answer records for a question; -1 for no answer at all; *rcode for NXDOMAIN. */
static int zone(const char *name, uint16_t qtype, uint8_t *out, size_t *len, int *rcode)
{
	unsigned o[4], n;
	char buf[256];

	*len = 0;
	*rcode = 0;
	if (qtype == DNS_T_PTR && v4_owner(name, "in-addr.arpa", o)) {
		static const char *const nets[] = {NULL, "one", "two", "three", NULL, "five"};
		if (o[0] == 198 && o[1] == 18 && o[2] == 7)
			return -1;
		if (o[0] == 198 && o[1] == 18 && o[2] == 8)
			goto servfail;
		if (o[0] == 198 && o[1] == 18 && o[2] == 9) {
			snprintf(buf, sizeof(buf), "r%u.nine.test", o[3]);
			*len = put_ptr(out, buf);
			return 1;
		}
		if (o[0] == 198 && o[1] == 19) {
			snprintf(buf, sizeof(buf), "h%u-%u.many.test", o[3], o[2]);
			*len = put_ptr(out, buf);
			return 1;
		}
		if (o[0] == 198 && o[1] == 18 && o[2] < 6 && nets[o[2]] != NULL) {
			snprintf(buf, sizeof(buf), "r%u.%s.test", o[3], nets[o[2]]);
			*len = put_ptr(out, buf);
			return 1;
		}
	} else if (qtype == DNS_T_PTR && v6_owner(name, "ip6.arpa", &n)) {
		snprintf(buf, sizeof(buf), "v6-%u.test", n);
		*len = put_ptr(out, buf);
		return 1;
	} else if (qtype == DNS_T_TXT && v4_owner(name, "origin.asn.test", o)) {
		if (o[0] == 198 && o[1] == 18 && o[2] == 7)
			return -1;
		if (o[0] == 198 && o[1] == 18 && o[2] == 8) {
			*len = put_txt(out, "64508 | 198.18.8.0/24 | ZZ | lab | 2024-01-01");
			return 1;
		}
		if (o[0] == 198 && o[1] == 18 && o[2] == 9)
			goto servfail;
		if (o[0] == 198 && o[1] == 19) {
			snprintf(buf, sizeof(buf), "%u | 198.19.%u.0/24 | ZZ | lab | 2024-01-01",
				 64600 + o[2], o[2]);
			*len = put_txt(out, buf);
			return 1;
		}
		if (o[0] == 198 && o[1] == 18 && o[2] == 1) {
			*len = put_txt(out, "64501 | 198.18.1.0/24 | ZZ | lab | 2024-01-01");
			return 1;
		}
		if (o[0] == 198 && o[1] == 18 && o[2] == 2) {
			*len = put_txt(out, "64502 64503 | 198.18.2.0/24 | ZZ | lab | 2024-01-01");
			return 1;
		}
		if (o[0] == 198 && o[1] == 18 && o[2] == 3) {
			*len = put_txt(out, "64500 | 198.18.0.0/16 | ZZ | lab | 2024-01-01");
			*len += put_txt(out + *len, "64504 | 198.18.3.0/24 | ZZ | lab | 2024-01-01");
			return 2;
		}
		if (o[0] == 198 && o[1] == 18 && o[2] == 5) {
			*len = put_txt(out, "64505 | 198.18.5.0/24 | ZZ | lab | 2024-01-01");
			return 1;
		}
	} else if (qtype == DNS_T_TXT && v6_owner(name, "origin6.asn.test", &n)) {
		*len = put_txt(out, "64506 | 2001:db8::/32 | ZZ | lab | 2024-01-01");
		return 1;
	} else if (qtype == DNS_T_TXT && sscanf(name, "as%u.asn.tes%c", &n, (char *)buf) == 2) {
		if (n == 64505)
			goto nx;
		snprintf(buf, sizeof(buf), "%u | ZZ | lab | 2024-01-01 | LAB-%u Lab network %u", n,
			 n, n);
		if (n == 64501)
			snprintf(buf, sizeof(buf), "64501 | ZZ | lab | 2024-01-01 | LAB-ONE Lab One, ZZ");
		if (n == 64502)
			snprintf(buf, sizeof(buf), "64502 | ZZ | lab | 2024-01-01 | LAB-TWO Lab Two, ZZ");
		*len = put_txt(out, buf);
		return 1;
	}
nx:
	*rcode = DNS_RCODE_NXDOMAIN;
	return 0;
servfail:
	*rcode = DNS_RCODE_SERVFAIL;
	return 0;
}


/* ---- traces ---- */

static struct hw_addr A(const char *text)
{
	struct hw_addr a;

	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	return a;
}

/* A trace whose hop i was answered by addrs[i] (NULL: silent), twice when twice. */
static struct hw_trace *make_trace(const char *const *addrs, size_t n)
{
	struct hw_flow f;
	const char *dst = addrs[n - 1];

	memset(&f, 0, sizeof(f));
	f.method = HW_METHOD_UDP;
	f.dst = A(dst);
	f.src = A(strchr(dst, ':') ? "2001:db8::100" : "198.18.0.1");
	struct hw_trace *t = trace_new(&f, 1, (uint8_t)n, 2);
	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		struct hw_hop *hop = &t->hops[i];
		hop->probes_sent = 2;
		for (uint8_t k = 0; k < 2 && addrs[i] != NULL; k++) {
			struct hw_reply r;
			memset(&r, 0, sizeof(r));
			r.addr = A(addrs[i]);
			r.attempt = k;
			r.kind = HW_REPLY_TIME_EXCEEDED;
			r.rtt_ms = 1;
			assert_int_equal(hop_add_reply(hop, &r), HW_OK);
		}
	}
	return t;
}

/* ---- running annotations ---- */

struct fixture {
	hw_loop_t *loop;
	struct dnsserver server;
	hw_annotator_t *a;
	struct hw_annotate_opts opts;
	int done, expected;
	uint64_t start_us, last_us;
};

static void on_done(void *arg, struct hw_trace *trace, int status)
{
	struct fixture *f = arg;

	assert_non_null(trace);
	assert_int_equal(status, HW_OK);
	f->last_us = hw_now_us();
	if (++f->done == f->expected)
		loop_stop(f->loop);
}

static void stop_cb(void *arg)
{
	loop_stop(arg);
}

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	alarm(60);
	assert_non_null(f->loop = loop_open());
	dnsserver_open(&f->server, f->loop, zone);
	annotate_opts_default(&f->opts);
	f->opts.dns_server = f->server.addr;
	f->opts.asn_zone = "asn.test";
	f->opts.dns_timeout = 1;
}

static void fixture_open(struct fixture *f)
{
	int status = 1;

	f->a = annotator_open(f->loop, &f->opts, &status);
	assert_non_null(f->a);
	assert_int_equal(status, HW_OK);
}

/* Annotates the traces and runs the loop until every callback came (or limit_s). */
static void annotate(struct fixture *f, struct hw_trace **t, size_t n, double limit_s)
{
	f->expected = f->done + (int)n;
	f->start_us = hw_now_us();
	for (size_t i = 0; i < n; i++)
		assert_int_equal(annotator_trace(f->a, t[i], on_done, f), HW_OK);
	/* Never within annotator_trace. */
	assert_int_equal(f->done, f->expected - (int)n);
	assert_int_equal(annotator_pending(f->a), n);
	int64_t dog = loop_timer(f->loop, hw_now_us() + (uint64_t)(limit_s * 1e6), stop_cb, f->loop);
	assert_int_equal(loop_run(f->loop), HW_OK);
	loop_timer_cancel(f->loop, dog);
	assert_int_equal(f->done, f->expected);
	assert_int_equal(annotator_pending(f->a), 0);
}

static void fixture_close(struct fixture *f)
{
	uint64_t t0;

	assert_null(annotator_close(f->a));
	dnsserver_close(&f->server);
	/* Nothing left in the loop. */
	t0 = hw_now_us();
	assert_int_equal(loop_run(f->loop), HW_OK);
	assert_true(hw_now_us() - t0 < 100000);
	loop_close(f->loop);
	alarm(0);
}

static const struct hw_addr_info *info(const struct hw_trace *t, const char *addr)
{
	struct hw_addr a = A(addr);
	const struct hw_addr_info *i = trace_info(t, &a);

	if (i == NULL)
		fail_msg("no info for %s", addr);
	return i;
}

/* ---- tests ---- */

static void test_names_and_origins(void **state)
{
	static const char *const hops[] = {"198.18.1.1", "198.18.2.7", NULL, "198.18.3.9",
					   "198.18.4.1", "10.1.2.3", "198.18.5.5"};
	struct fixture f;
	const struct hw_addr_info *i;

	(void)state;
	fixture_init(&f);
	fixture_open(&f);
	struct hw_trace *t = make_trace(hops, 7);
	annotate(&f, &t, 1, 10);
	assert_int_equal(t->n_infos, 6); /* distinct reply addresses; silent hop none */

	i = info(t, "198.18.1.1");
	assert_int_equal(i->scope, HW_SCOPE_BENCHMARK);
	assert_int_equal(i->name_status, HW_LOOKUP_OK);
	assert_string_equal(i->name, "r1.one.test");
	assert_int_equal(i->asn_status, HW_LOOKUP_OK);
	assert_int_equal(i->n_origins, 1);
	assert_int_equal(i->origins[0], 64501);
	assert_string_equal(i->as_name, "LAB-ONE Lab One, ZZ");

	/* MOAS: both origins, the name of the first. */
	i = info(t, "198.18.2.7");
	assert_string_equal(i->name, "r7.two.test");
	assert_int_equal(i->n_origins, 2);
	assert_int_equal(i->origins[0], 64502);
	assert_int_equal(i->origins[1], 64503);
	assert_string_equal(i->as_name, "LAB-TWO Lab Two, ZZ");

	/* Two records: the more specific prefix wins. */
	i = info(t, "198.18.3.9");
	assert_int_equal(i->origins[0], 64504);
	assert_int_equal(i->n_origins, 1);

	/* NXDOMAIN: notfound, no name, no AS. */
	i = info(t, "198.18.4.1");
	assert_int_equal(i->name_status, HW_LOOKUP_NOTFOUND);
	assert_null(i->name);
	assert_int_equal(i->asn_status, HW_LOOKUP_NOTFOUND);
	assert_int_equal(i->n_origins, 0);
	assert_null(i->as_name);

	/* Private space: labelled, PTR asked, Cymru never asked. */
	i = info(t, "10.1.2.3");
	assert_int_equal(i->scope, HW_SCOPE_PRIVATE);
	assert_int_equal(i->name_status, HW_LOOKUP_NOTFOUND);
	assert_int_equal(i->asn_status, HW_LOOKUP_NONE);
	assert_int_equal(dnsserver_asked(&f.server, "3.2.1.10.origin.asn.test"), 0);
	assert_int_equal(dnsserver_asked(&f.server, "3.2.1.10.in-addr.arpa"), 1);

	/* Origin known, AS name NXDOMAIN. */
	i = info(t, "198.18.5.5");
	assert_int_equal(i->origins[0], 64505);
	assert_int_equal(i->asn_status, HW_LOOKUP_OK);
	assert_null(i->as_name);

	assert_int_equal(trace_asn(t, &(struct hw_addr){0}), 0);
	trace_free(t);
	fixture_close(&f);
}

static void test_ipv6(void **state)
{
	static const char *const hops[] = {"2001:db8::1", "2001:db8::2"};
	struct fixture f;

	(void)state;
	fixture_init(&f);
	fixture_open(&f);
	struct hw_trace *t = make_trace(hops, 2);
	annotate(&f, &t, 1, 10);
	const struct hw_addr_info *i = info(t, "2001:db8::2");
	assert_int_equal(i->scope, HW_SCOPE_DOCUMENTATION);
	assert_string_equal(i->name, "v6-2.test");
	assert_int_equal(i->origins[0], 64506);
	assert_string_equal(i->as_name, "LAB-64506 Lab network 64506");
	trace_free(t);
	fixture_close(&f);
}

/* Every address and every AS is asked once per annotator, however many traces show it. */
static void test_cache(void **state)
{
	static const char *const a[] = {"198.18.1.1", "198.18.1.2", "198.18.1.1", "198.18.2.1"};
	static const char *const b[] = {"198.18.1.2", "198.18.2.1", "198.18.1.3"};
	struct fixture f;
	struct hw_trace *t[3] = {make_trace(a, 4), make_trace(b, 3), make_trace(a, 4)};
	struct hw_annotate_stats st;

	(void)state;
	fixture_init(&f);
	fixture_open(&f);
	annotate(&f, t, 3, 10);
	assert_int_equal(dnsserver_asked(&f.server, "1.1.18.198.in-addr.arpa"), 1);
	assert_int_equal(dnsserver_asked(&f.server, "2.1.18.198.origin.asn.test"), 1);
	assert_int_equal(dnsserver_asked(&f.server, "as64501.asn.test"), 1);
	/* 4 addresses: 4 PTR, 4 origins, 2 AS names (64501, 64502). */
	assert_int_equal(f.server.queries, 10);
	annotator_stats(f.a, &st);
	assert_int_equal(st.addresses, 4);
	assert_int_equal(st.ptr_queries, 4);
	assert_int_equal(st.origin_queries, 4);
	assert_int_equal(st.asname_queries, 2);
	assert_int_equal(st.failed, 0);
	assert_true(st.cache_hits >= 5);
	/* Again, later: all from the cache, no question, and still never from within. */
	annotate(&f, &t[1], 1, 10);
	assert_int_equal(f.server.queries, 10);
	assert_string_equal(info(t[1], "198.18.1.3")->name, "r3.one.test");
	for (int k = 0; k < 3; k++)
		assert_int_equal(trace_asn(t[k], &(struct hw_addr){AF_INET, {198, 18, 2, 1}}), 64502);
	for (int k = 0; k < 3; k++)
		trace_free(t[k]);
	fixture_close(&f);
}

/* A server that never answers: failed, within the timeout, not one per address. */
static void test_silent(void **state)
{
	const char *hops[40];
	char text[40][32];
	struct fixture f;
	struct hw_annotate_stats st;

	(void)state;
	for (int k = 0; k < 40; k++) {
		snprintf(text[k], sizeof(text[k]), "198.18.7.%d", k + 1);
		hops[k] = text[k];
	}
	fixture_init(&f);
	f.opts.dns_timeout = 0.3;
	fixture_open(&f);
	struct hw_trace *t = make_trace(hops, 40);
	annotate(&f, &t, 1, 5);
	double took = (double)(f.last_us - f.start_us) / 1e6;
	/* 80 questions out at once, all failed by their deadline; DNS given up after 32. */
	assert_true(took >= 0.25);
	assert_true(took < 1.0);
	const struct hw_addr_info *i = info(t, "198.18.7.40");
	assert_int_equal(i->name_status, HW_LOOKUP_FAILED);
	assert_int_equal(i->asn_status, HW_LOOKUP_FAILED);
	assert_null(i->name);
	annotator_stats(f.a, &st);
	assert_true(st.gave_up_ptr);
	assert_true(st.gave_up_asn);
	assert_int_equal(st.answered, 0);
	/* Given up: later traces fail at once, asking nobody. */
	int before = f.server.queries;
	static const char *const more[] = {"198.18.1.1"};
	struct hw_trace *t2 = make_trace(more, 1);
	annotate(&f, &t2, 1, 5);
	assert_true(f.last_us - f.start_us < 100000);
	assert_int_equal(f.server.queries, before);
	assert_int_equal(info(t2, "198.18.1.1")->name_status, HW_LOOKUP_FAILED);
	trace_free(t2);
	trace_free(t);
	fixture_close(&f);
}

/* A port where nothing listens refuses (ICMP port unreachable): failed at once, not after
   the timeout. */
static void test_refused(void **state)
{
	static const char *const hops[] = {"198.18.1.1", "198.18.2.1", "192.0.2.1"};
	struct fixture f;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char addr[32];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	(void)state;
	/* A free port, closed again: nothing answers there. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	close(fd);
	fixture_init(&f);
	f.opts.dns_server = addr;
	f.opts.dns_timeout = 5;
	fixture_open(&f);
	struct hw_trace *t = make_trace(hops, 3);
	annotate(&f, &t, 1, 10);
	assert_true(f.last_us - f.start_us < 500000);
	for (size_t k = 0; k < 3; k++) {
		const struct hw_addr_info *i = info(t, hops[k]);
		assert_int_equal(i->name_status, HW_LOOKUP_FAILED);
		assert_int_equal(i->asn_status, HW_LOOKUP_FAILED);
	}
	trace_free(t);
	fixture_close(&f);
}

/* A few unanswered among answered ones: those fail, the rest are fine, DNS not given up. */
static void test_timeout_mixed(void **state)
{
	static const char *const hops[] = {"198.18.1.1", "198.18.7.1", "198.18.2.1"};
	struct fixture f;
	struct hw_annotate_stats st;

	(void)state;
	fixture_init(&f);
	f.opts.dns_timeout = 0.3;
	fixture_open(&f);
	struct hw_trace *t = make_trace(hops, 3);
	annotate(&f, &t, 1, 5);
	assert_true(f.last_us - f.start_us < 1000000);
	assert_int_equal(info(t, "198.18.7.1")->name_status, HW_LOOKUP_FAILED);
	assert_int_equal(info(t, "198.18.7.1")->asn_status, HW_LOOKUP_FAILED);
	assert_string_equal(info(t, "198.18.1.1")->name, "r1.one.test");
	assert_int_equal(info(t, "198.18.2.1")->origins[0], 64502);
	annotator_stats(f.a, &st);
	assert_false(st.gave_up_ptr);
	assert_false(st.gave_up_asn);
	assert_int_equal(st.failed, 2);
	trace_free(t);
	fixture_close(&f);
}

/*
 * A lame zone answers SERVFAIL for every question in it: the server is alive, so that
 * gives up neither that kind of lookup nor the other. 50 PTRs fail while their origins
 * and AS names are all found; then 50 origins fail while their names are all found.
 */
static void test_servfail(void **state)
{
	enum { N = 50 };
	const char *hops[N];
	char text[N][32];
	struct fixture f;
	struct hw_annotate_stats st;

	(void)state;
	fixture_init(&f);
	fixture_open(&f);
	for (int net = 8; net <= 9; net++) {
		for (int k = 0; k < N; k++) {
			snprintf(text[k], sizeof(text[k]), "198.18.%d.%d", net, k + 1);
			hops[k] = text[k];
		}
		struct hw_trace *t = make_trace(hops, N);
		annotate(&f, &t, 1, 10);
		assert_true(f.last_us - f.start_us < 500000);
		for (int k = 0; k < N; k++) {
			const struct hw_addr_info *i = info(t, hops[k]);
			if (net == 8) {
				assert_int_equal(i->name_status, HW_LOOKUP_FAILED);
				assert_int_equal(i->asn_status, HW_LOOKUP_OK);
				assert_int_equal(i->origins[0], 64508);
				assert_string_equal(i->as_name, "LAB-64508 Lab network 64508");
			} else {
				char want[32];
				snprintf(want, sizeof(want), "r%d.nine.test", k + 1);
				assert_int_equal(i->name_status, HW_LOOKUP_OK);
				assert_string_equal(i->name, want);
				assert_int_equal(i->asn_status, HW_LOOKUP_FAILED);
			}
		}
		trace_free(t);
	}
	annotator_stats(f.a, &st);
	assert_false(st.gave_up_ptr);
	assert_false(st.gave_up_asn);
	assert_int_equal(st.failed, 2 * N);
	fixture_close(&f);
}

/* Held answers show how many questions are out at once: never more than max_inflight of
   each kind. */
static void test_inflight(void **state)
{
	enum { N = 600 };
	static char text[N][32];
	static const char *hops[N];
	struct fixture f;

	(void)state;
	for (int k = 0; k < N; k++) {
		snprintf(text[k], sizeof(text[k]), "198.19.%d.%d", k / 200, k % 200 + 1);
		hops[k] = text[k];
	}
	fixture_init(&f);
	f.opts.max_inflight = 50;
	f.opts.dns_timeout = 5;
	f.server.hold_us = 20000;
	fixture_open(&f);
	struct hw_trace *t = make_trace(hops, 255);
	struct hw_trace *t2 = make_trace(hops + 255, 255);
	struct hw_trace *v[2] = {t, t2};
	annotate(&f, v, 2, 30);
	assert_true(f.server.max_held_ptr <= 50);
	assert_true(f.server.max_held_ptr >= 40);
	assert_true(f.server.max_held_other <= 50);
	assert_true(f.server.max_held_other >= 40);
	assert_true(f.server.max_held <= 100);
	/* 510 addresses, 3 ASes: every question asked once, every answer arrived. */
	assert_int_equal(f.server.queries, 510 * 2 + 3);
	assert_string_equal(info(t2, "198.19.2.110")->name, "h110-2.many.test");
	assert_int_equal(info(t2, "198.19.2.110")->origins[0], 64602);
	trace_free(t);
	trace_free(t2);
	fixture_close(&f);
}

/* -n and --no-asn: no DNS at all; the local tables still apply, and come first. */
static void test_tables(void **state)
{
	static const char *const hops[] = {"198.18.1.1", "198.18.2.1", "10.0.0.1", "198.18.9.9"};
	struct fixture f;
	hw_asn_table_t *tab = asn_table_new();
	hw_as_names_t *names = as_names_new();
	struct hw_addr p = A("198.18.1.0"), q = A("10.0.0.0");
	uint32_t o1[] = {65001}, o2[] = {65002, 65003};

	(void)state;
	assert_non_null(tab);
	assert_non_null(names);
	assert_int_equal(asn_table_insert(tab, &p, 24, o1, 1), HW_OK);
	assert_int_equal(asn_table_insert(tab, &q, 8, o2, 2), HW_OK);
	assert_int_equal(as_names_set(names, 65001, "TABLE-ONE"), HW_OK);
	/* Latin-1 bytes from a table file: kept printable and valid UTF-8. */
	assert_int_equal(as_names_set(names, 65002, "Caf\xe9 Net"), HW_OK);

	/* Tables only. */
	fixture_init(&f);
	f.opts.names = false;
	f.opts.asn_dns = false;
	f.opts.asn_table = tab;
	f.opts.as_names = names;
	fixture_open(&f);
	struct hw_trace *t = make_trace(hops, 4);
	annotate(&f, &t, 1, 5);
	assert_int_equal(f.server.queries, 0);
	assert_int_equal(info(t, "198.18.1.1")->origins[0], 65001);
	assert_string_equal(info(t, "198.18.1.1")->as_name, "TABLE-ONE");
	assert_int_equal(info(t, "198.18.1.1")->name_status, HW_LOOKUP_NONE);
	/* A local table maps private space too. */
	assert_int_equal(info(t, "10.0.0.1")->n_origins, 2);
	assert_int_equal(info(t, "10.0.0.1")->origins[1], 65003);
	assert_int_equal(info(t, "198.18.9.9")->asn_status, HW_LOOKUP_NOTFOUND);
	assert_int_equal(info(t, "198.18.2.1")->asn_status, HW_LOOKUP_NOTFOUND);
	assert_string_equal(info(t, "10.0.0.1")->as_name, "Caf? Net");
	trace_free(t);
	fixture_close(&f);

	/* Table first, DNS for what it misses; the table's AS gets its name over DNS. */
	fixture_init(&f);
	f.opts.asn_table = tab;
	fixture_open(&f);
	t = make_trace(hops, 4);
	annotate(&f, &t, 1, 5);
	assert_int_equal(info(t, "198.18.1.1")->origins[0], 65001);
	assert_int_equal(dnsserver_asked(&f.server, "1.1.18.198.origin.asn.test"), 0);
	assert_string_equal(info(t, "198.18.1.1")->as_name, "LAB-65001 Lab network 65001");
	assert_string_equal(info(t, "198.18.1.1")->name, "r1.one.test");
	assert_int_equal(info(t, "198.18.2.1")->origins[0], 64502);
	assert_int_equal(dnsserver_asked(&f.server, "1.2.18.198.origin.asn.test"), 1);
	trace_free(t);
	fixture_close(&f);
	asn_table_free(tab);
	as_names_free(names);
}

/* Re-annotation replaces what a trace had; closing answers what still waits. */
static void test_reannotate_and_close(void **state)
{
	static const char *const hops[] = {"198.18.1.1", "198.18.7.3"};
	struct fixture f;

	(void)state;
	fixture_init(&f);
	fixture_open(&f);
	struct hw_trace *t = make_trace(hops, 2);
	struct hw_addr_info *old = trace_info_add(t, &(struct hw_addr){AF_INET, {192, 0, 2, 99}});
	assert_non_null(old);
	old->name = strdup("stale.test");
	assert_int_equal(annotator_trace(f.a, t, on_done, &f), HW_OK);
	f.expected = 1;
	/* Close before any answer: the callback runs within close, lookups say failed. */
	assert_null(annotator_close(f.a));
	assert_int_equal(f.done, 1);
	assert_int_equal(t->n_infos, 2);
	assert_null(trace_info(t, &(struct hw_addr){AF_INET, {192, 0, 2, 99}}));
	assert_int_equal(info(t, "198.18.1.1")->name_status, HW_LOOKUP_FAILED);
	f.a = NULL;
	fixture_close(&f);
	trace_free(t);
}

static void test_open_invalid(void **state)
{
	hw_loop_t *loop = loop_open();
	struct hw_annotate_opts o;
	int status = 0;

	(void)state;
	annotate_opts_default(&o);
	o.dns_server = "127.0.0.1:0";
	assert_null(annotator_open(loop, &o, &status));
	assert_int_equal(status, HW_ERR_INVAL);
	o.dns_server = "127.0.0.1:53";
	o.asn_zone = "bad..zone";
	assert_null(annotator_open(loop, &o, &status));
	assert_int_equal(status, HW_ERR_INVAL);
	o.asn_zone = NULL;
	o.max_inflight = 100000;
	assert_null(annotator_open(loop, &o, &status));
	o.max_inflight = 0;
	o.dns_timeout = 0;
	assert_null(annotator_open(loop, &o, &status));
	/* No DNS wanted: no server needed, and the bad timeout does not matter. */
	o.names = o.asn_dns = false;
	o.dns_server = "nonsense";
	hw_annotator_t *a = annotator_open(loop, &o, &status);
	assert_non_null(a);
	assert_int_equal(annotator_trace(a, NULL, on_done, NULL), HW_ERR_INVAL);
	assert_null(annotator_close(a));
	assert_null(annotator_close(NULL));
	loop_close(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_origins),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_timeout_mixed),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_servfail),
		cmocka_unit_test(test_inflight),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_reannotate_and_close),
		cmocka_unit_test(test_open_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
