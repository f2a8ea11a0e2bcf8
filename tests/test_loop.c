/* Unit tests for the event loop: fds, re-entrant callbacks, timer order and precision. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hopwatch/loop.h>
#include <hopwatch/status.h>

/* ---- helpers ---- */

static void make_pipe(int fds[2])
{
	assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
}

static void make_ready_pipe(int fds[2])
{
	make_pipe(fds);
	assert_int_equal(write(fds[1], "x", 1), 1);
}

static void close_pipe(const int fds[2])
{
	close(fds[0]);
	close(fds[1]);
}

static uint64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A cheap deterministic generator, so failures reproduce. */
static uint32_t lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

static void stop_cb(void *arg)
{
	loop_stop(arg);
}

/* A watchdog: if a test's loop would hang, it stops instead and the test's checks fail. */
static int64_t watchdog(hw_loop_t *loop, uint64_t after_us)
{
	return loop_timer(loop, hw_now_us() + after_us, stop_cb, loop);
}

/* ---- fds ---- */

struct fdrec {
	hw_loop_t *loop;
	int calls;
	unsigned events;
	ssize_t nread;
	int unwatch; /* unwatch in the callback */
	int stop;    /* loop_stop in the callback */
};

static void fd_cb(int fd, unsigned events, void *arg)
{
	struct fdrec *r = arg;
	char buf[16];

	r->calls++;
	r->events = events;
	if (events & HW_EV_READ)
		r->nread = read(fd, buf, sizeof(buf));
	if (r->unwatch)
		assert_int_equal(loop_watch(r->loop, fd, 0, NULL, NULL), 0);
	if (r->stop)
		loop_stop(r->loop);
}

static void test_idle_returns(void **state)
{
	hw_loop_t *loop = loop_open();

	(void)state;
	assert_non_null(loop);
	assert_int_equal(loop_run(loop), 0);
	assert_null(loop_close(loop));
	assert_null(loop_close(NULL));
}

static void test_pipe_read(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec r = { .loop = loop, .unwatch = 1 };
	int p[2];

	(void)state;
	make_ready_pipe(p);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &r), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.events, HW_EV_READ);
	assert_int_equal(r.nread, 1);
	loop_close(loop);
	close_pipe(p);
}

static void test_pipe_write(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec r = { .loop = loop, .unwatch = 1 };
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(loop_watch(loop, p[1], HW_EV_WRITE, fd_cb, &r), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.events, HW_EV_WRITE);
	loop_close(loop);
	close_pipe(p);
}

/* A closed writer must wake the reader (EPOLLHUP) as a read that returns 0. */
static void test_hangup_is_read(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec r = { .loop = loop, .unwatch = 1, .nread = -1 };
	int p[2];

	(void)state;
	make_pipe(p);
	close(p[1]);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &r), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.events, HW_EV_READ);
	assert_int_equal(r.nread, 0);
	loop_close(loop);
	close(p[0]);
}

/* Unread data keeps a level-triggered fd ready: only removing it lets the loop go idle. */
static void test_remove_self(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec r = { .loop = loop, .unwatch = 1 };
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(write(p[1], "xxxxxxxxxxxxxxxxxxxxxxxx", 24), 24);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &r), 0);
	watchdog(loop, 2000000);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 1);
	loop_close(loop);
	close_pipe(p);
}

static void test_rewatch_replaces(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec old = { .loop = loop, .unwatch = 1 };
	struct fdrec cur = { .loop = loop, .unwatch = 1 };
	int p[2];

	(void)state;
	make_ready_pipe(p);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &old), 0);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ | HW_EV_WRITE, fd_cb, &cur), 0);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &cur), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(old.calls, 0);
	assert_int_equal(cur.calls, 1);
	assert_int_equal(cur.events, HW_EV_READ);
	loop_close(loop);
	close_pipe(p);
}

static void test_watch_invalid(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec r = { .loop = loop };
	int p[2];

	(void)state;
	make_pipe(p);
	assert_true(loop_watch(loop, -1, HW_EV_READ, fd_cb, &r) < 0);
	assert_true(loop_watch(loop, p[0], 4, fd_cb, &r) < 0);
	assert_true(loop_watch(loop, p[0], HW_EV_READ, NULL, &r) < 0);
	assert_true(loop_watch(NULL, p[0], HW_EV_READ, fd_cb, &r) < 0);
	/* Not an fd at all: refused, and nothing is left watched to keep the loop alive. */
	assert_true(loop_watch(loop, 1000000, HW_EV_READ, fd_cb, &r) < 0);
	/* Unwatching what is not watched is harmless. */
	assert_int_equal(loop_watch(loop, p[0], 0, NULL, NULL), 0);
	assert_int_equal(loop_watch(loop, 12345, 0, NULL, NULL), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 0);
	loop_close(loop);
	close_pipe(p);
}

/* A watched fd closed without unwatching: re-watching fails and the loop forgets it. */
static void test_closed_fd_forgotten(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec r = { .loop = loop };
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &r), 0);
	close(p[0]);
	assert_true(loop_watch(loop, p[0], HW_EV_READ | HW_EV_WRITE, fd_cb, &r) < 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 0);
	loop_close(loop);
	close(p[1]);
}

/* Two ready fds fetched in one epoll batch; whichever runs first removes the other. */
struct pair {
	hw_loop_t *loop;
	int a[2], b[2];
	int calls;
	int replace;     /* close the other fd and watch a new pipe under the same number */
	int fresh[2];    /* that new pipe */
	int fresh_calls; /* must stay 0: the new pipe never becomes readable */
};

static void fresh_cb(int fd, unsigned events, void *arg)
{
	struct pair *p = arg;

	(void)fd;
	(void)events;
	p->fresh_calls++;
}

static void unwatch_fresh(void *arg)
{
	struct pair *p = arg;

	loop_watch(p->loop, p->fresh[0], 0, NULL, NULL);
}

static void pair_cb(int fd, unsigned events, void *arg)
{
	struct pair *p = arg;
	int other = fd == p->a[0] ? p->b[0] : p->a[0];

	(void)events;
	p->calls++;
	assert_int_equal(loop_watch(p->loop, fd, 0, NULL, NULL), 0);
	assert_int_equal(loop_watch(p->loop, other, 0, NULL, NULL), 0);
	if (!p->replace)
		return;
	close(other);
	make_pipe(p->fresh);
	/* The lowest free number is reused: the stale event now names the new pipe's fd. */
	assert_int_equal(p->fresh[0], other);
	assert_int_equal(loop_watch(p->loop, p->fresh[0], HW_EV_READ, fresh_cb, p), 0);
	loop_timer(p->loop, hw_now_us() + 20000, unwatch_fresh, p);
}

static void run_pair(struct pair *p)
{
	p->loop = loop_open();
	make_ready_pipe(p->a);
	make_ready_pipe(p->b);
	assert_int_equal(loop_watch(p->loop, p->a[0], HW_EV_READ, pair_cb, p), 0);
	assert_int_equal(loop_watch(p->loop, p->b[0], HW_EV_READ, pair_cb, p), 0);
	assert_int_equal(loop_run(p->loop), 0);
	loop_close(p->loop);
}

static void test_remove_other_in_batch(void **state)
{
	struct pair p = { .replace = 0 };

	(void)state;
	run_pair(&p);
	assert_int_equal(p.calls, 1);
	close_pipe(p.a);
	close_pipe(p.b);
}

static void test_replace_other_in_batch(void **state)
{
	struct pair p = { .replace = 1 };
	int *replaced, *intact;

	(void)state;
	run_pair(&p);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.fresh_calls, 0);
	/* One of a/b lost its read end, whose number fresh[0] now holds. */
	replaced = p.fresh[0] == p.a[0] ? p.a : p.b;
	intact = replaced == p.a ? p.b : p.a;
	close(replaced[1]);
	close_pipe(intact);
	close_pipe(p.fresh);
}

static void test_stop_from_fd_cb(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec r = { .loop = loop, .stop = 1 };
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(write(p[1], "xyz", 3), 3);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &r), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 1);
	/* The stop request is used up: the next run dispatches again. */
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 2);
	loop_close(loop);
	close_pipe(p);
}

/* ---- timers ---- */

#define MAX_FIRED 4096

struct fired {
	hw_loop_t *loop;
	int n;
	int64_t id[MAX_FIRED];
	uint64_t when[MAX_FIRED];
	uint64_t at[MAX_FIRED];
};

struct tmr {
	struct fired *log;
	uint64_t when;
	int64_t id;
	int cancel_me; /* index into the array of another timer to cancel, or -1 */
	struct tmr *all;
};

static void tmr_cb(void *arg)
{
	struct tmr *t = arg;
	struct fired *f = t->log;

	assert_true(f->n < MAX_FIRED);
	f->id[f->n] = t->id;
	f->when[f->n] = t->when;
	f->at[f->n] = hw_now_us();
	f->n++;
	if (t->cancel_me >= 0)
		loop_timer_cancel(f->loop, t->all[t->cancel_me].id);
}

static void add_tmr(hw_loop_t *loop, struct tmr *t, struct fired *f, uint64_t when)
{
	t->log = f;
	t->when = when;
	t->cancel_me = -1;
	t->id = loop_timer(loop, when, tmr_cb, t);
	assert_true(t->id > 0);
}

/* Fired in (when, insertion) order: ids increase with insertion. */
static void assert_ordered(const struct fired *f)
{
	for (int i = 1; i < f->n; i++) {
		assert_true(f->when[i - 1] <= f->when[i]);
		if (f->when[i - 1] == f->when[i])
			assert_true(f->id[i - 1] < f->id[i]);
	}
}

static void test_timer_ids_increase(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fired f = { .loop = loop };
	struct tmr t[3];

	(void)state;
	add_tmr(loop, &t[0], &f, 5);
	add_tmr(loop, &t[1], &f, 1);
	add_tmr(loop, &t[2], &f, 3);
	assert_true(t[0].id < t[1].id && t[1].id < t[2].id);
	assert_true(loop_timer(loop, 1, NULL, NULL) < 0);
	assert_true(loop_timer(NULL, 1, tmr_cb, &t[0]) < 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.id[0], t[1].id);
	assert_int_equal(f.id[1], t[2].id);
	assert_int_equal(f.id[2], t[0].id);
	loop_close(loop);
}

/* Many due timers with few distinct times: the heap must keep ties in insertion order. */
static void test_timer_order_ties(void **state)
{
	enum { N = 2000 };
	hw_loop_t *loop = loop_open();
	struct fired *f = calloc(1, sizeof(*f));
	struct tmr *t = calloc(N, sizeof(*t));
	uint32_t seed = 42;

	(void)state;
	f->loop = loop;
	/* Times 1..8 µs after boot are long past: all due in the first pass. */
	for (int i = 0; i < N; i++)
		add_tmr(loop, &t[i], f, 1 + lcg(&seed) % 8);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f->n, N);
	assert_ordered(f);
	loop_close(loop);
	free(t);
	free(f);
}

static void test_timer_never_early(void **state)
{
	static const int order[] = { 7, 2, 9, 0, 4, 4, 1, 8, 3, 6, 5, 2 };
	enum { N = sizeof(order) / sizeof(order[0]) };
	hw_loop_t *loop = loop_open();
	struct fired f = { .loop = loop };
	struct tmr t[N];
	uint64_t start = hw_now_us();

	(void)state;
	for (int i = 0; i < N; i++)
		add_tmr(loop, &t[i], &f, start + 1000 + (uint64_t)order[i] * 700);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, N);
	assert_ordered(&f);
	for (int i = 0; i < N; i++)
		assert_true(f.at[i] >= f.when[i]);
	loop_close(loop);
}

static void test_timer_cancel(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fired f = { .loop = loop };
	struct tmr t[5];
	uint64_t now = hw_now_us();

	(void)state;
	add_tmr(loop, &t[0], &f, now + 1000);
	add_tmr(loop, &t[1], &f, now + 2000);
	add_tmr(loop, &t[2], &f, now + 3000);
	/* t[3] and t[4] are due together; the first cancels the second within the same pass. */
	add_tmr(loop, &t[3], &f, 10);
	add_tmr(loop, &t[4], &f, 10);
	t[3].all = t;
	t[3].cancel_me = 4;
	loop_timer_cancel(loop, t[1].id);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.id[0], t[3].id);
	assert_int_equal(f.id[1], t[0].id);
	assert_int_equal(f.id[2], t[2].id);
	loop_close(loop);
}

static void test_cancel_harmless(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fired f = { .loop = loop };
	struct tmr t[3];

	(void)state;
	add_tmr(loop, &t[0], &f, 1);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, 1);
	add_tmr(loop, &t[1], &f, 2);
	add_tmr(loop, &t[2], &f, 3);
	loop_timer_cancel(loop, t[0].id);      /* fired */
	loop_timer_cancel(loop, t[2].id + 99); /* never issued */
	loop_timer_cancel(loop, 0);
	loop_timer_cancel(loop, -7);
	loop_timer_cancel(NULL, t[1].id);
	loop_timer_cancel(loop, t[2].id);
	loop_timer_cancel(loop, t[2].id); /* twice */
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.id[1], t[1].id);
	loop_close(loop);
}

/* A timer that cancels itself while it runs: it already left the heap, nothing breaks. */
static void test_cancel_self(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fired f = { .loop = loop };
	struct tmr t[2];

	(void)state;
	add_tmr(loop, &t[0], &f, 1);
	add_tmr(loop, &t[1], &f, 2);
	t[0].all = t;
	t[0].cancel_me = 0;
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, 2);
	loop_close(loop);
}

/* Random cancels from the middle of a large heap leave exactly the others, in order. */
static void test_cancel_random(void **state)
{
	enum { N = 3000 };
	hw_loop_t *loop = loop_open();
	struct fired *f = calloc(1, sizeof(*f));
	struct tmr *t = calloc(N, sizeof(*t));
	char *gone = calloc(N, 1);
	uint32_t seed = 7;
	int kept = 0;

	(void)state;
	f->loop = loop;
	for (int i = 0; i < N; i++)
		add_tmr(loop, &t[i], f, 1 + lcg(&seed) % 500);
	for (int i = 0; i < N; i++) {
		int k = (int)(lcg(&seed) % N);

		if (!gone[k])
			loop_timer_cancel(loop, t[k].id);
		gone[k] = 1;
	}
	for (int i = 0; i < N; i++)
		kept += !gone[i];
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f->n, kept);
	assert_ordered(f);
	/* Ids of one loop are consecutive, so an id names its array slot. */
	for (int i = 0; i < f->n; i++) {
		int64_t k = f->id[i] - t[0].id;

		assert_true(k >= 0 && k < N);
		assert_false(gone[k]);
	}
	loop_close(loop);
	free(gone);
	free(t);
	free(f);
}

struct chain {
	hw_loop_t *loop;
	int left;
	int fired;
	uint64_t gap_us;
	uint64_t when;
	int early;
};

static void chain_cb(void *arg)
{
	struct chain *c = arg;

	c->fired++;
	if (hw_now_us() < c->when)
		c->early++;
	if (--c->left > 0) {
		c->when = hw_now_us() + c->gap_us;
		assert_true(loop_timer(c->loop, c->when, chain_cb, c) > 0);
	}
}

static void test_timer_adds_timer(void **state)
{
	hw_loop_t *loop = loop_open();
	struct chain c = { .loop = loop, .left = 10, .gap_us = 500 };

	(void)state;
	c.when = hw_now_us() + 500;
	assert_true(loop_timer(loop, c.when, chain_cb, &c) > 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(c.fired, 10);
	assert_int_equal(c.early, 0);
	loop_close(loop);
}

static void test_stop_from_timer(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fired f = { .loop = loop };
	struct tmr t;

	(void)state;
	assert_true(loop_timer(loop, 1, stop_cb, loop) > 0);
	add_tmr(loop, &t, &f, 2);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, 1);
	loop_close(loop);
}

/* A timer that keeps re-arming in the past must not starve a ready fd. */
struct starve {
	hw_loop_t *loop;
	int rearms;
};

static void rearm_cb(void *arg)
{
	struct starve *s = arg;

	/* Capped so that a loop that does starve fds fails the test instead of hanging. */
	if (++s->rearms < 1000)
		loop_timer(s->loop, 1, rearm_cb, s);
}

static void test_due_timers_do_not_starve_fds(void **state)
{
	hw_loop_t *loop = loop_open();
	struct starve s = { .loop = loop };
	struct fdrec r = { .loop = loop, .stop = 1 };
	int p[2];

	(void)state;
	make_ready_pipe(p);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &r), 0);
	loop_timer(loop, 1, rearm_cb, &s);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 1);
	assert_true(s.rearms >= 1 && s.rearms < 100);
	loop_close(loop); /* frees the still-pending re-armed timer */
	close_pipe(p);
}

static void nested_cb(void *arg)
{
	hw_loop_t *loop = arg;

	assert_true(loop_run(loop) < 0);
}

static void test_nested_run_refused(void **state)
{
	hw_loop_t *loop = loop_open();

	(void)state;
	loop_timer(loop, 1, nested_cb, loop);
	assert_int_equal(loop_run(loop), 0);
	loop_close(loop);
}

static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 33)
	return mallinfo2().uordblks;
#endif
#endif
	return 0;
}

static void noop_cb(void *arg)
{
	(void)arg;
}

static void add_cancel(hw_loop_t *loop, int n)
{
	uint64_t far = hw_now_us() + 10000000;

	for (int i = 0; i < n; i++) {
		int64_t id = loop_timer(loop, far + (uint64_t)(i % 97), noop_cb, NULL);

		assert_true(id > 0);
		loop_timer_cancel(loop, id);
	}
}

/* Cancelled timers must leave: no growth, and no wait for a timer nobody wants. */
static void test_add_cancel_bounded(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fired f = { .loop = loop };
	struct tmr keep;
	size_t before, after;
	uint64_t start;

	(void)state;
	add_tmr(loop, &keep, &f, hw_now_us() + 1000);
	add_cancel(loop, 1000);
	before = heap_in_use();
	add_cancel(loop, 100000);
	after = heap_in_use();
	/* Lazy deletion without compaction would hold ~100000 entries (megabytes) here. */
	assert_true(after <= before + 65536);
	start = hw_now_us();
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(f.n, 1);
	assert_true(hw_now_us() - start < 500000);
	loop_close(loop);
}

/*
 * LAN round trips are sub-millisecond: a 300 µs wait must not become several milliseconds.
 * Best of a few tries, so a busy machine's scheduling delay does not fail the test.
 */
static void test_submillisecond(void **state)
{
	hw_loop_t *loop = loop_open();
	uint64_t best = UINT64_MAX;

	(void)state;
	for (int try = 0; try < 5 && best >= 5000; try++) {
		struct fired f = { .loop = loop };
		struct tmr t;
		uint64_t start = hw_now_us();

		add_tmr(loop, &t, &f, start + 300);
		assert_int_equal(loop_run(loop), 0);
		assert_int_equal(f.n, 1);
		assert_true(f.at[0] >= start + 300);
		if (f.at[0] - start < best)
			best = f.at[0] - start;
	}
	assert_true(best < 5000);
	loop_close(loop);
}

/* Waiting for sub-millisecond remainders must sleep, not spin at a 0 ms timeout. */
static void test_no_busy_wait(void **state)
{
	hw_loop_t *loop = loop_open();
	struct chain c = { .loop = loop, .left = 30, .gap_us = 900 };
	uint64_t wall = hw_now_us(), cpu = cpu_us();

	(void)state;
	c.when = wall + 900;
	assert_true(loop_timer(loop, c.when, chain_cb, &c) > 0);
	assert_int_equal(loop_run(loop), 0);
	wall = hw_now_us() - wall;
	cpu = cpu_us() - cpu;
	assert_int_equal(c.fired, 30);
	assert_int_equal(c.early, 0);
	assert_true(wall >= 30 * 900);
	assert_true(cpu < wall / 2);
	loop_close(loop);
}

static void test_clocks(void **state)
{
	uint64_t a = hw_now_us(), b = hw_now_us();
	uint64_t unix_us = hw_unix_us();
	uint64_t t = (uint64_t)time(NULL) * 1000000u;

	(void)state;
	assert_true(a > 0);
	assert_true(b >= a);
	assert_true(unix_us + 2000000 > t && unix_us < t + 2000000);
}

/* Closing with fds watched and timers pending frees everything (ASan checks) but the fds. */
static void test_close_with_pending(void **state)
{
	hw_loop_t *loop = loop_open();
	struct fdrec r = { .loop = loop };
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(loop_watch(loop, p[0], HW_EV_READ, fd_cb, &r), 0);
	for (int i = 0; i < 100; i++)
		assert_true(loop_timer(loop, hw_now_us() + 1000000, noop_cb, NULL) > 0);
	assert_null(loop_close(loop));
	assert_int_equal(fcntl(p[0], F_GETFD), FD_CLOEXEC);
	close_pipe(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_returns),
		cmocka_unit_test(test_pipe_read),
		cmocka_unit_test(test_pipe_write),
		cmocka_unit_test(test_hangup_is_read),
		cmocka_unit_test(test_remove_self),
		cmocka_unit_test(test_rewatch_replaces),
		cmocka_unit_test(test_watch_invalid),
		cmocka_unit_test(test_closed_fd_forgotten),
		cmocka_unit_test(test_remove_other_in_batch),
		cmocka_unit_test(test_replace_other_in_batch),
		cmocka_unit_test(test_stop_from_fd_cb),
		cmocka_unit_test(test_timer_ids_increase),
		cmocka_unit_test(test_timer_order_ties),
		cmocka_unit_test(test_timer_never_early),
		cmocka_unit_test(test_timer_cancel),
		cmocka_unit_test(test_cancel_harmless),
		cmocka_unit_test(test_cancel_self),
		cmocka_unit_test(test_cancel_random),
		cmocka_unit_test(test_timer_adds_timer),
		cmocka_unit_test(test_stop_from_timer),
		cmocka_unit_test(test_due_timers_do_not_starve_fds),
		cmocka_unit_test(test_nested_run_refused),
		cmocka_unit_test(test_add_cancel_bounded),
		cmocka_unit_test(test_submillisecond),
		cmocka_unit_test(test_no_busy_wait),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_close_with_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
