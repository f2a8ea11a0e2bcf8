/*
 * Unit tests for the resolver: c-ares on our loop, against a small DNS server that the test
 * runs on 127.0.0.1 in the same loop. Nothing leaves the machine: the resolver is told to
 * ask that server only, and the server counts every question it gets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hopwatch/loop.h>
#include <hopwatch/resolve.h>
#include <hopwatch/status.h>

#include "dnsserver.h"

#define NO_ANSWER (-1)

/* ---- the zone the DNS server answers ---- */

/* Appends an A or AAAA record for text at out + *len; returns 1 (one record more). */
static int put_addr(uint8_t *out, size_t *len, int family, const char *text)
{
	uint8_t rdata[16];

	assert_int_equal(inet_pton(family, text, rdata), 1);
	*len += dnsserver_put_rr(out + *len, family == AF_INET ? DNS_T_A : DNS_T_AAAA, rdata,
				 family == AF_INET ? 4 : 16);
	return 1;
}

/* The test zone: the answers for name and type (see dnsserver_zone_fn). */
static int zone(const char *name, uint16_t qtype, uint8_t *out, size_t *len, int *rcode)
{
	unsigned num;
	char end;
	int n = 0;

	*len = 0;
	*rcode = DNS_RCODE_NOERROR;
	if (strcmp(name, "v4.test") == 0) {
		if (qtype == DNS_T_A) {
			n += put_addr(out, len, AF_INET, "192.0.2.1");
			n += put_addr(out, len, AF_INET, "192.0.2.2");
		}
	} else if (strcmp(name, "v6.test") == 0) {
		if (qtype == DNS_T_AAAA)
			n += put_addr(out, len, AF_INET6, "2001:db8::1");
	} else if (strcmp(name, "both.test") == 0) {
		if (qtype == DNS_T_A)
			n += put_addr(out, len, AF_INET, "192.0.2.3");
		else if (qtype == DNS_T_AAAA)
			n += put_addr(out, len, AF_INET6, "2001:db8::3");
	} else if (strcmp(name, "dup.test") == 0) {
		if (qtype == DNS_T_A) {
			n += put_addr(out, len, AF_INET, "192.0.2.4");
			n += put_addr(out, len, AF_INET, "192.0.2.4");
		}
	} else if (sscanf(name, "h%u.tes%c", &num, &end) == 2 && end == 't' && num < 65536) {
		if (qtype == DNS_T_A) {
			char text[32];

			snprintf(text, sizeof(text), "10.0.%u.%u", num >> 8, num & 255);
			n += put_addr(out, len, AF_INET, text);
		}
	} else if (strcmp(name, "silent.test") == 0) {
		n = NO_ANSWER;
	} else if (strcmp(name, "bad.test") == 0) {
		n = 1; /* announces a record it does not hold */
	} else if (strcmp(name, "fail.test") == 0) {
		*rcode = DNS_RCODE_SERVFAIL;
	} else if (strcmp(name, "refused.test") == 0) {
		*rcode = DNS_RCODE_REFUSED;
	} else {
		*rcode = DNS_RCODE_NXDOMAIN;
	}
	return n;
}

/* Questions for names outside .test: a search domain leaked. */
static int foreign(const struct dnsserver *s)
{
	int n = 0;

	for (int i = 0; i < s->n_names; i++) {
		size_t len = strlen(s->names[i]);

		if (strcmp(s->names[i] + (len > 5 ? len - 5 : 0), ".test") != 0)
			n += s->counts[i];
	}
	return n;
}

/* ---- lookups and their answers ---- */

struct run;

struct result {
	struct run *run;
	int calls;
	int status;
	size_t n;
	struct hw_addr addrs[8];
	uint64_t at_us;
};

/* What a test waits for: `expected` answers, then the loop stops. */
struct run {
	hw_loop_t *loop;
	hw_resolver_t *r;
	int done, expected;
	int64_t watchdog;
	uint64_t start_us;
};

static void on_answer(void *arg, int status, const struct hw_addr *addrs, size_t n)
{
	struct result *res = arg;

	res->calls++;
	res->status = status;
	res->n = n;
	res->at_us = hw_now_us();
	if (status == HW_OK) {
		assert_non_null(addrs);
		assert_true(n >= 1);
	} else {
		assert_int_equal(n, 0);
	}
	for (size_t i = 0; i < n && i < 8; i++)
		res->addrs[i] = addrs[i];
	if (++res->run->done == res->run->expected)
		loop_stop(res->run->loop);
}

static void stop_cb(void *arg)
{
	loop_stop(arg);
}

static void run_start(struct run *run, hw_loop_t *loop, hw_resolver_t *r, int expected)
{
	memset(run, 0, sizeof(*run));
	run->loop = loop;
	run->r = r;
	run->expected = expected;
	run->start_us = hw_now_us();
}

/* Runs the loop until every answer came, or a watchdog gives up after limit_s. */
static void run_wait(struct run *run, double limit_s)
{
	run->watchdog = loop_timer(run->loop, hw_now_us() + (uint64_t)(limit_s * 1e6), stop_cb,
				   run->loop);
	assert_true(run->watchdog > 0);
	if (run->done < run->expected)
		assert_int_equal(loop_run(run->loop), HW_OK);
	loop_timer_cancel(run->loop, run->watchdog);
	assert_int_equal(run->done, run->expected);
}

static double since_s(const struct run *run, uint64_t at_us)
{
	return (double)(at_us - run->start_us) / 1e6;
}

static void lookup(struct run *run, struct result *res, const char *name, int family)
{
	memset(res, 0, sizeof(*res));
	res->run = run;
	assert_int_equal(resolver_lookup(run->r, name, family, on_answer, res), HW_OK);
}

/* True when text is among the n addresses. */
static bool has_addr(const struct result *res, const char *text)
{
	struct hw_addr a;

	assert_int_equal(hw_addr_parse(text, &a), HW_OK);
	for (size_t i = 0; i < res->n; i++)
		if (hw_addr_eq(&res->addrs[i], &a))
			return true;
	return false;
}

/* Test fixture: a loop, a server on it and a resolver asking that server only. */
struct fixture {
	hw_loop_t *loop;
	struct dnsserver server;
	hw_resolver_t *r;
};

static struct fixture *fixture_open(bool silent, double timeout_s)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int status = 1;

	assert_non_null(f);
	/* A hang must fail the test, not the whole run. */
	alarm(30);
	assert_non_null(f->loop = loop_open());
	dnsserver_open(&f->server, f->loop, zone);
	f->server.silent = silent;
	f->r = resolver_open(f->loop, f->server.addr, timeout_s, &status);
	assert_non_null(f->r);
	assert_int_equal(status, HW_OK);
	return f;
}

/*
 * Closes the resolver and the server, then checks the resolver left nothing in the loop:
 * loop_run returns at once when no fd is watched and no timer is left.
 */
static void fixture_close(struct fixture *f)
{
	uint64_t t0;

	assert_null(resolver_close(f->r));
	dnsserver_close(&f->server);
	t0 = hw_now_us();
	assert_int_equal(loop_run(f->loop), HW_OK);
	assert_true(hw_now_us() - t0 < 100000);
	loop_close(f->loop);
	free(f);
	alarm(0);
}

/* ---- tests ---- */

static void test_open_invalid(void **state)
{
	static const char *const bad[] = {
		"", "foo", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:53x",
		"127.0.0.1: 53", "[::1", "[::1]x", "[::1]:", "[127.0.0.1]:53", "::1]:53",
		"example.org:53", "127.0.0.1:-5",
	};
	static const char *const good[] = {
		"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:5353", "2001:db8::53",
	};
	hw_loop_t *loop = loop_open();
	int status;

	(void)state;
	assert_non_null(loop);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		status = 0;
		if (resolver_open(loop, bad[i], 1.0, &status) != NULL)
			fail_msg("server '%s' accepted", bad[i]);
		assert_int_equal(status, HW_ERR_INVAL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		hw_resolver_t *r = resolver_open(loop, good[i], 1.0, &status);

		if (r == NULL)
			fail_msg("server '%s' refused", good[i]);
		assert_int_equal(status, HW_OK);
		assert_int_equal(resolver_pending(r), 0);
		assert_null(resolver_close(r));
	}
	assert_null(resolver_open(loop, "127.0.0.1", 0, &status));
	assert_int_equal(status, HW_ERR_INVAL);
	assert_null(resolver_open(loop, "127.0.0.1", -1, &status));
	assert_null(resolver_open(loop, "127.0.0.1", NAN, &status));
	assert_null(resolver_open(loop, "127.0.0.1", INFINITY, &status));
	assert_null(resolver_open(loop, "127.0.0.1", 1e9, NULL));
	assert_null(resolver_open(NULL, "127.0.0.1", 1.0, &status));
	assert_null(resolver_close(NULL));
	assert_int_equal(resolver_pending(NULL), 0);
	/* Nothing was asked, so nothing is left in the loop. */
	assert_int_equal(loop_run(loop), HW_OK);
	loop_close(loop);
}

static void test_lookup_invalid(void **state)
{
	struct fixture *f = fixture_open(false, 1.0);
	struct result res;

	(void)state;
	assert_int_equal(resolver_lookup(NULL, "v4.test", AF_INET, on_answer, &res), HW_ERR_INVAL);
	assert_int_equal(resolver_lookup(f->r, NULL, AF_INET, on_answer, &res), HW_ERR_INVAL);
	assert_int_equal(resolver_lookup(f->r, "v4.test", AF_INET, NULL, &res), HW_ERR_INVAL);
	assert_int_equal(resolver_lookup(f->r, "v4.test", AF_UNIX, on_answer, &res),
			 HW_ERR_INVAL);
	assert_int_equal(resolver_pending(f->r), 0);
	assert_int_equal(f->server.queries, 0);
	fixture_close(f);
}

static void test_lookup_a(void **state)
{
	struct fixture *f = fixture_open(false, 5.0);
	struct result res[3];
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 3);
	lookup(&run, &res[0], "v4.test", AF_INET);
	lookup(&run, &res[1], "V4.Test.", AF_INET); /* any case, absolute */
	lookup(&run, &res[2], "dup.test", AF_INET);
	assert_int_equal(resolver_pending(f->r), 3);
	run_wait(&run, 5);
	assert_int_equal(resolver_pending(f->r), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].status, HW_OK);
		assert_int_equal(res[i].n, 2);
		assert_true(has_addr(&res[i], "192.0.2.1"));
		assert_true(has_addr(&res[i], "192.0.2.2"));
		assert_true(since_s(&run, res[i].at_us) < 1.0);
	}
	/* The same address twice in the answer is one address for us. */
	assert_int_equal(res[2].status, HW_OK);
	assert_int_equal(res[2].n, 1);
	assert_true(has_addr(&res[2], "192.0.2.4"));
	/* One question each: no search domain, no AAAA. */
	assert_int_equal(f->server.queries, 3);
	assert_int_equal(foreign(&f->server), 0);
	fixture_close(f);
}

static void test_lookup_aaaa(void **state)
{
	struct fixture *f = fixture_open(false, 5.0);
	struct result res[4];
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 4);
	lookup(&run, &res[0], "v6.test", AF_INET6);
	lookup(&run, &res[1], "v6.test", AF_INET);   /* exists, but has no A */
	lookup(&run, &res[2], "both.test", AF_UNSPEC);
	lookup(&run, &res[3], "v4.test", AF_UNSPEC);
	run_wait(&run, 5);
	assert_int_equal(res[0].status, HW_OK);
	assert_int_equal(res[0].n, 1);
	assert_true(has_addr(&res[0], "2001:db8::1"));
	assert_int_equal(res[1].status, HW_ERR_NOHOST);
	assert_int_equal(res[2].status, HW_OK);
	assert_int_equal(res[2].n, 2);
	assert_true(has_addr(&res[2], "192.0.2.3"));
	assert_true(has_addr(&res[2], "2001:db8::3"));
	assert_int_equal(res[3].status, HW_OK);
	assert_int_equal(res[3].n, 2);
	assert_int_equal(res[3].addrs[0].family, AF_INET);
	/* AF_UNSPEC asks both A and AAAA. */
	assert_int_equal(f->server.queries, 6);
	assert_int_equal(foreign(&f->server), 0);
	fixture_close(f);
}

static void test_nxdomain(void **state)
{
	struct fixture *f = fixture_open(false, 5.0);
	struct result res[5];
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 5);
	lookup(&run, &res[0], "nx.test", AF_INET);
	lookup(&run, &res[1], "nx.test", AF_UNSPEC);
	lookup(&run, &res[2], "fail.test", AF_INET);
	lookup(&run, &res[3], "refused.test", AF_INET6);
	lookup(&run, &res[4], "bad.test", AF_INET);
	run_wait(&run, 5);
	assert_int_equal(res[0].status, HW_ERR_NOHOST);
	assert_int_equal(res[1].status, HW_ERR_NOHOST);
	assert_int_equal(res[2].status, HW_ERR_SERVFAIL);
	assert_int_equal(res[3].status, HW_ERR_AGAIN);
	assert_int_equal(res[4].status, HW_ERR_MALFORMED);
	/* All quickly: no waiting for a timeout. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_true(since_s(&run, res[i].at_us) < 1.0);
	}
	assert_int_equal(foreign(&f->server), 0);
	fixture_close(f);
}

/* Answers come from the loop, never from within resolver_lookup. */
static void test_numeric_and_bad(void **state)
{
	struct fixture *f = fixture_open(false, 5.0);
	struct result res[4];
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 4);
	lookup(&run, &res[0], "192.0.2.77", AF_INET);
	lookup(&run, &res[1], "2001:db8::77", AF_UNSPEC);
	lookup(&run, &res[2], "192.0.2.77", AF_INET6);
	lookup(&run, &res[3], "a..test", AF_INET);
	for (int i = 0; i < 4; i++)
		assert_int_equal(res[i].calls, 0);
	assert_int_equal(resolver_pending(f->r), 4);
	run_wait(&run, 5);
	assert_int_equal(res[0].status, HW_OK);
	assert_true(has_addr(&res[0], "192.0.2.77"));
	assert_int_equal(res[1].status, HW_OK);
	assert_true(has_addr(&res[1], "2001:db8::77"));
	assert_int_equal(res[2].status, HW_ERR_NOHOST);
	assert_int_equal(res[3].status, HW_ERR_INVAL);
	assert_int_equal(f->server.queries, 0);
	fixture_close(f);
}

static void test_timeout(void **state)
{
	const double timeout = 0.6;
	struct fixture *f = fixture_open(true, timeout);
	struct result res[2];
	struct run run;
	uint64_t t0;

	(void)state;
	run_start(&run, f->loop, f->r, 2);
	lookup(&run, &res[0], "v4.test", AF_INET);
	lookup(&run, &res[1], "both.test", AF_UNSPEC);
	run_wait(&run, timeout + 5);
	for (int i = 0; i < 2; i++) {
		double t = since_s(&run, res[i].at_us);

		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].status, HW_ERR_AGAIN);
		if (t < timeout - 0.05 || t > timeout + 1.0)
			fail_msg("answered after %.3f s with a timeout of %.3f s", t, timeout);
	}
	/* The server was asked again before the end (c-ares retries), but not endlessly. */
	assert_true(f->server.queries >= 4 && f->server.queries <= 12);
	/* With nothing left to wait for, the resolver stopped: the loop runs dry at once. */
	dnsserver_close(&f->server);
	t0 = hw_now_us();
	assert_int_equal(loop_run(f->loop), HW_OK);
	assert_true(hw_now_us() - t0 < 100000);
	assert_null(resolver_close(f->r));
	loop_close(f->loop);
	free(f);
	alarm(0);
}

/* A name the server ignores, among names it answers: each gets its own fate. */
static void test_timeout_mixed(void **state)
{
	const double timeout = 0.5;
	struct fixture *f = fixture_open(false, timeout);
	struct result res[2];
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 2);
	lookup(&run, &res[0], "silent.test", AF_INET);
	lookup(&run, &res[1], "v4.test", AF_INET);
	run_wait(&run, timeout + 5);
	assert_int_equal(res[0].status, HW_ERR_AGAIN);
	assert_true(since_s(&run, res[0].at_us) >= timeout - 0.05);
	assert_true(since_s(&run, res[0].at_us) <= timeout + 1.0);
	assert_int_equal(res[1].status, HW_OK);
	assert_true(since_s(&run, res[1].at_us) < timeout);
	fixture_close(f);
}

#define MANY 300

static void test_many(void **state)
{
	struct fixture *f = fixture_open(false, 10.0);
	struct result *res = calloc(MANY, sizeof(*res));
	struct run run;

	(void)state;
	assert_non_null(res);
	run_start(&run, f->loop, f->r, MANY);
	for (int i = 0; i < MANY; i++) {
		char name[32];

		snprintf(name, sizeof(name), "h%d.test", i);
		lookup(&run, &res[i], name, AF_INET);
	}
	assert_int_equal(resolver_pending(f->r), MANY);
	run_wait(&run, 10);
	for (int i = 0; i < MANY; i++) {
		char text[32];

		snprintf(text, sizeof(text), "10.0.%d.%d", i >> 8, i & 255);
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].status, HW_OK);
		assert_int_equal(res[i].n, 1);
		assert_true(has_addr(&res[i], text));
	}
	assert_int_equal(resolver_pending(f->r), 0);
	assert_int_equal(foreign(&f->server), 0);
	free(res);
	fixture_close(f);
}

/* A callback that starts the next lookup, a chain of `left` more. */
struct chain {
	struct run *run;
	struct result res;
	int left, ok;
};

static void on_chain(void *arg, int status, const struct hw_addr *addrs, size_t n)
{
	struct chain *c = arg;

	(void)addrs;
	(void)n;
	c->ok += status == HW_OK;
	if (c->left-- > 0)
		assert_int_equal(resolver_lookup(c->run->r, "v4.test", AF_INET, on_chain, c), HW_OK);
	else
		loop_stop(c->run->loop);
}

static void test_lookup_from_callback(void **state)
{
	struct fixture *f = fixture_open(false, 5.0);
	struct chain c = {.left = 5};
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 1);
	c.run = &run;
	assert_int_equal(resolver_lookup(f->r, "v4.test", AF_INET, on_chain, &c), HW_OK);
	run.watchdog = loop_timer(f->loop, hw_now_us() + 5000000u, stop_cb, f->loop);
	assert_int_equal(loop_run(f->loop), HW_OK);
	loop_timer_cancel(f->loop, run.watchdog);
	assert_int_equal(c.ok, 6);
	assert_int_equal(f->server.queries, 6);
	fixture_close(f);
}

/* Runs the loop for about s seconds. */
static void run_for(hw_loop_t *loop, double s)
{
	int64_t t = loop_timer(loop, hw_now_us() + (uint64_t)(s * 1e6), stop_cb, loop);

	assert_true(t > 0);
	assert_int_equal(loop_run(loop), HW_OK);
}

/* Closing with lookups in flight answers them all, at once, and leaks nothing. */
static void test_close_in_flight(void **state)
{
	struct fixture *f = fixture_open(true, 5.0);
	struct result res[6];
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 6);
	lookup(&run, &res[0], "v4.test", AF_INET);
	lookup(&run, &res[1], "both.test", AF_UNSPEC);
	lookup(&run, &res[2], "v6.test", AF_INET6);
	lookup(&run, &res[3], "192.0.2.1", AF_INET); /* needs no server */
	lookup(&run, &res[4], "x.test", AF_INET);
	/* Asked, not answered. */
	run_for(f->loop, 0.05);
	assert_int_equal(f->server.queries, 5);
	assert_int_equal(run.done, 1);
	assert_int_equal(res[3].status, HW_OK);
	/* Queued, not yet started. */
	lookup(&run, &res[5], "y.test", AF_INET);
	assert_int_equal(resolver_pending(f->r), 5);
	assert_null(resolver_close(f->r));
	f->r = NULL;
	assert_int_equal(run.done, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(res[i].calls, 1);
		if (i != 3)
			assert_int_equal(res[i].status, HW_ERR_AGAIN);
	}
	fixture_close(f);
}

/* More lookups than may be in flight at once, against a silent server: two rounds. */
static void test_queue_silent(void **state)
{
	const double timeout = 0.3;
	const int count = 200;
	struct fixture *f = fixture_open(true, timeout);
	struct result *res = calloc((size_t)count, sizeof(*res));
	struct run run;
	int first = 0, second = 0;

	(void)state;
	assert_non_null(res);
	run_start(&run, f->loop, f->r, count);
	for (int i = 0; i < count; i++)
		lookup(&run, &res[i], "v4.test", AF_INET);
	run_wait(&run, 5);
	for (int i = 0; i < count; i++) {
		double t = since_s(&run, res[i].at_us);

		assert_int_equal(res[i].status, HW_ERR_AGAIN);
		if (t >= timeout - 0.05 && t < 2 * timeout - 0.05)
			first++;
		else if (t >= 2 * timeout - 0.05 && t < 2 * timeout + 1.0)
			second++;
		else
			fail_msg("lookup %d answered after %.3f s", i, t);
	}
	/* In order: the first round is the first 128 asked. */
	assert_int_equal(first, 128);
	assert_int_equal(second, count - 128);
	assert_true(since_s(&run, res[127].at_us) < since_s(&run, res[128].at_us));
	free(res);
	fixture_close(f);
}

/* The first answer's callback closes the resolver while others wait. */
struct closer {
	struct result res;
	hw_resolver_t **r;
	int status;
	int calls;
};

static void on_close_answer(void *arg, int status, const struct hw_addr *addrs, size_t n)
{
	struct closer *c = arg;

	(void)addrs;
	(void)n;
	c->status = status;
	c->calls++;
	assert_null(resolver_close(*c->r));
	assert_null(resolver_close(*c->r)); /* again, still inside: harmless */
	*c->r = NULL;
}

static void test_close_from_callback(void **state)
{
	struct fixture *f = fixture_open(false, 5.0);
	struct closer closer = {.r = &f->r};
	struct result res[3];
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 3);
	lookup(&run, &res[0], "silent.test", AF_INET);
	lookup(&run, &res[1], "silent.test", AF_UNSPEC);
	assert_int_equal(resolver_lookup(f->r, "v4.test", AF_INET, on_close_answer, &closer),
			 HW_OK);
	lookup(&run, &res[2], "silent.test", AF_INET6);
	run_wait(&run, 4);
	assert_int_equal(closer.calls, 1);
	assert_int_equal(closer.status, HW_OK);
	assert_null(f->r);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].status, HW_ERR_AGAIN);
		/* Right after the closing callback, not at their timeout. */
		assert_true(since_s(&run, res[i].at_us) < 1.0);
	}
	fixture_close(f);
}

/* A timeout's callback closes the resolver: the rest are answered too. */
static void on_close_timeout(void *arg, int status, const struct hw_addr *addrs, size_t n)
{
	on_close_answer(arg, status, addrs, n);
}

static void test_close_from_timeout(void **state)
{
	struct fixture *f = fixture_open(true, 0.3);
	struct closer closer = {.r = &f->r};
	struct result res;
	struct run run;

	(void)state;
	run_start(&run, f->loop, f->r, 1);
	assert_int_equal(resolver_lookup(f->r, "a.test", AF_INET, on_close_timeout, &closer),
			 HW_OK);
	lookup(&run, &res, "b.test", AF_INET);
	run_wait(&run, 4);
	assert_int_equal(closer.calls, 1);
	assert_int_equal(closer.status, HW_ERR_AGAIN);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.status, HW_ERR_AGAIN);
	fixture_close(f);
}

/*
 * The system's configuration, without sending anything: a numeric name needs no server,
 * and "localhost" never goes to DNS (RFC 6761; c-ares answers it from /etc/hosts or itself).
 */
static void test_system_resolver(void **state)
{
	hw_loop_t *loop = loop_open();
	struct result res[2];
	struct run run;
	int status;

	(void)state;
	alarm(30);
	assert_non_null(loop);
	run_start(&run, loop, resolver_open(loop, NULL, 2.0, &status), 2);
	assert_non_null(run.r);
	assert_int_equal(status, HW_OK);
	lookup(&run, &res[0], "localhost", AF_INET);
	lookup(&run, &res[1], "2001:db8::9", AF_INET6);
	run_wait(&run, 5);
	assert_int_equal(res[0].status, HW_OK);
	assert_true(has_addr(&res[0], "127.0.0.1"));
	assert_int_equal(res[1].status, HW_OK);
	assert_true(has_addr(&res[1], "2001:db8::9"));
	assert_null(resolver_close(run.r));
	assert_int_equal(loop_run(loop), HW_OK);
	loop_close(loop);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_invalid),
		cmocka_unit_test(test_lookup_invalid),
		cmocka_unit_test(test_lookup_a),
		cmocka_unit_test(test_lookup_aaaa),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_numeric_and_bad),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_mixed),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_lookup_from_callback),
		cmocka_unit_test(test_close_in_flight),
		cmocka_unit_test(test_queue_silent),
		cmocka_unit_test(test_close_from_callback),
		cmocka_unit_test(test_close_from_timeout),
		cmocka_unit_test(test_system_resolver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
