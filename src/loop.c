/*
 * The event loop: epoll (level-triggered) for file descriptors, a binary min-heap of timers.
 *
 * Re-entrancy: callbacks may watch, unwatch or re-watch any fd and add or cancel any timer.
 * Every fd registration carries a generation number that travels in the epoll event, so an
 * event already fetched for a registration that a callback has since removed or replaced is
 * dropped instead of reaching the wrong (or a freed) callback. Level triggering makes dropping
 * safe: a still-ready fd is reported again by the next epoll wait.
 *
 * Timers are removed from the heap when cancelled (not lazily), found through a small
 * open-addressing hash from id to heap position, so memory follows the number of live timers.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <hopwatch/loop.h>
#include <hopwatch/status.h>

/*
 * epoll_pwait2 (glibc >= 2.35, Linux >= 5.11) takes a timespec, so sub-millisecond timers
 * neither fire a millisecond late nor spin. Define HW_LOOP_NO_PWAIT2 to build (and test)
 * the millisecond fallback alone.
 */
#if !defined(HW_LOOP_NO_PWAIT2) && defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 35)
#define HAVE_PWAIT2 1
#endif
#endif

#define MAX_EVENTS 64
#define EV_MASK (HW_EV_READ | HW_EV_WRITE)

struct watch {
	hw_fd_cb cb;
	void *arg;
	unsigned events; /* 0: not watched */
	uint32_t gen;    /* matches the high half of the epoll data while current */
};

struct timer {
	uint64_t when;
	int64_t id; /* increasing: breaks ties between equal times in insertion order */
	hw_timer_cb cb;
	void *arg;
};

/* One slot of the id → heap position hash; id 0 marks an empty slot. */
struct slot {
	int64_t id;
	size_t pos;
};

struct hw_loop {
	int epfd;
	bool stop;
	bool running;
	bool no_pwait2; /* the kernel (or a seccomp filter) refused epoll_pwait2 */

	struct watch *watches; /* indexed by fd */
	size_t nwatches;       /* size of the table */
	size_t nwatched;       /* fds with events != 0 */
	uint32_t gen;

	struct timer *heap;
	size_t nheap, capheap;
	struct slot *slots; /* capacity a power of two, at most half full */
	size_t capslots;
	int64_t next_id;
};

uint64_t hw_now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t hw_unix_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

hw_loop_t *loop_open(void)
{
	hw_loop_t *loop = calloc(1, sizeof(*loop));

	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int saved = errno;

		free(loop);
		errno = saved;
		return NULL;
	}
	loop->next_id = 1;
	return loop;
}

hw_loop_t *loop_close(hw_loop_t *loop)
{
	if (loop == NULL)
		return NULL;
	close(loop->epfd);
	free(loop->watches);
	free(loop->heap);
	free(loop->slots);
	free(loop);
	return NULL;
}

/* ---- file descriptors ---- */

static int grow_watches(hw_loop_t *loop, int fd)
{
	size_t want = (size_t)fd + 1;
	size_t n = loop->nwatches ? loop->nwatches : 16;
	struct watch *w;

	while (n < want)
		n *= 2;
	w = realloc(loop->watches, n * sizeof(*w));
	if (w == NULL)
		return HW_ERR_NOMEM;
	memset(w + loop->nwatches, 0, (n - loop->nwatches) * sizeof(*w));
	loop->watches = w;
	loop->nwatches = n;
	return HW_OK;
}

static void unwatch(hw_loop_t *loop, int fd)
{
	struct watch *w;

	if ((size_t)fd >= loop->nwatches || loop->watches[fd].events == 0)
		return;
	/* Fails with EBADF/ENOENT if the caller closed fd first; epoll already dropped it then. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	w = &loop->watches[fd];
	memset(w, 0, sizeof(*w));
	loop->nwatched--;
}

/*
 * ADD or MOD as our table says, but trust the kernel when it disagrees: an fd closed and
 * reopened under the same number left epoll (ENOENT), a dup'd one may still be there (EEXIST).
 */
static int epoll_set(hw_loop_t *loop, int fd, bool known, struct epoll_event *ev)
{
	int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (epoll_ctl(loop->epfd, op, fd, ev) == 0)
		return HW_OK;
	if (known && errno == ENOENT)
		op = EPOLL_CTL_ADD;
	else if (!known && errno == EEXIST)
		op = EPOLL_CTL_MOD;
	else
		return errno == EBADF || errno == EPERM ? HW_ERR_INVAL : HW_ERR_SYS;
	if (epoll_ctl(loop->epfd, op, fd, ev) == 0)
		return HW_OK;
	return HW_ERR_SYS;
}

int loop_watch(hw_loop_t *loop, int fd, unsigned events, hw_fd_cb cb, void *arg)
{
	struct epoll_event ev;
	struct watch *w;
	bool known;
	int rc;

	if (loop == NULL || fd < 0 || (events & ~EV_MASK) != 0 || (events != 0 && cb == NULL))
		return HW_ERR_INVAL;
	if (events == 0) {
		unwatch(loop, fd);
		return HW_OK;
	}
	known = (size_t)fd < loop->nwatches && loop->watches[fd].events != 0;
	/* A new generation even on MOD: events fetched for the old callback must skip the new. */
	if (++loop->gen == 0)
		loop->gen = 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = (events & HW_EV_READ) ? EPOLLIN : 0u;
	ev.events |= (events & HW_EV_WRITE) ? EPOLLOUT : 0u;
	ev.data.u64 = (uint64_t)loop->gen << 32 | (uint32_t)fd;
	/* epoll first: a bogus large fd is refused before the table grows to its size. */
	if ((rc = epoll_set(loop, fd, known, &ev)) < 0) {
		/* A watched fd closed behind our back is gone: forget it, or we never idle. */
		if (known && errno == EBADF)
			unwatch(loop, fd);
		return rc;
	}
	if ((size_t)fd >= loop->nwatches && (rc = grow_watches(loop, fd)) < 0) {
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		return rc;
	}
	w = &loop->watches[fd];
	if (!known)
		loop->nwatched++;
	w->cb = cb;
	w->arg = arg;
	w->events = events;
	w->gen = loop->gen;
	return HW_OK;
}

/* Errors and hang-ups wake the watched directions: the callback meets them in its read or write. */
static unsigned map_events(uint32_t e, unsigned watched)
{
	unsigned out = 0;

	if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		out |= HW_EV_READ;
	if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		out |= HW_EV_WRITE;
	out &= watched;
	return out != 0 ? out : watched;
}

static void dispatch(hw_loop_t *loop, const struct epoll_event *evs, int n)
{
	for (int i = 0; i < n && !loop->stop; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct watch *w;

		/* Re-read the table each time: an earlier callback may have changed or grown it. */
		if ((size_t)fd >= loop->nwatches)
			continue;
		w = &loop->watches[fd];
		if (w->events == 0 || w->gen != gen)
			continue;
		w->cb(fd, map_events(evs[i].events, w->events), w->arg);
	}
}

/* ---- timers: id → position hash ---- */

static size_t slot_home(const hw_loop_t *loop, int64_t id)
{
	/* Fibonacci hashing spreads the sequential ids. */
	return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15u) >> 32) & (loop->capslots - 1);
}

static struct slot *slot_find(const hw_loop_t *loop, int64_t id)
{
	if (loop->capslots == 0 || id <= 0)
		return NULL;
	for (size_t i = slot_home(loop, id);; i = (i + 1) & (loop->capslots - 1)) {
		if (loop->slots[i].id == id)
			return &loop->slots[i];
		if (loop->slots[i].id == 0)
			return NULL;
	}
}

static void slot_put(hw_loop_t *loop, int64_t id, size_t pos)
{
	size_t i = slot_home(loop, id);

	while (loop->slots[i].id != 0 && loop->slots[i].id != id)
		i = (i + 1) & (loop->capslots - 1);
	loop->slots[i].id = id;
	loop->slots[i].pos = pos;
}

/* Backward-shift deletion: no tombstones, so add/cancel cycles never fill the table. */
static void slot_del(hw_loop_t *loop, struct slot *s)
{
	size_t mask = loop->capslots - 1;
	size_t hole = (size_t)(s - loop->slots);

	for (size_t i = (hole + 1) & mask; loop->slots[i].id != 0; i = (i + 1) & mask) {
		size_t home = slot_home(loop, loop->slots[i].id);

		/* Move the entry back only if the hole lies between its home and where it sits. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			loop->slots[hole] = loop->slots[i];
			hole = i;
		}
	}
	loop->slots[hole].id = 0;
}

static int slots_reserve(hw_loop_t *loop, size_t count)
{
	struct slot *old = loop->slots;
	size_t oldcap = loop->capslots;
	size_t cap = oldcap ? oldcap : 64;

	while (cap < 2 * count)
		cap *= 2;
	if (cap == oldcap)
		return HW_OK;
	loop->slots = calloc(cap, sizeof(*loop->slots));
	if (loop->slots == NULL) {
		loop->slots = old;
		return HW_ERR_NOMEM;
	}
	loop->capslots = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].id != 0)
			slot_put(loop, old[i].id, old[i].pos);
	free(old);
	return HW_OK;
}

/* ---- timers: heap ---- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	return a->when < b->when || (a->when == b->when && a->id < b->id);
}

/* Every move goes through here so the hash always knows where a timer sits. */
static void heap_set(hw_loop_t *loop, size_t pos, const struct timer *t)
{
	loop->heap[pos] = *t;
	slot_put(loop, t->id, pos);
}

static void sift_up(hw_loop_t *loop, size_t pos)
{
	struct timer t = loop->heap[pos];

	while (pos > 0) {
		size_t parent = (pos - 1) / 2;

		if (!timer_before(&t, &loop->heap[parent]))
			break;
		heap_set(loop, pos, &loop->heap[parent]);
		pos = parent;
	}
	heap_set(loop, pos, &t);
}

static void sift_down(hw_loop_t *loop, size_t pos)
{
	struct timer t = loop->heap[pos];

	for (;;) {
		size_t child = 2 * pos + 1;

		if (child >= loop->nheap)
			break;
		if (child + 1 < loop->nheap
		    && timer_before(&loop->heap[child + 1], &loop->heap[child]))
			child++;
		if (!timer_before(&loop->heap[child], &t))
			break;
		heap_set(loop, pos, &loop->heap[child]);
		pos = child;
	}
	heap_set(loop, pos, &t);
}

/* Removes the timer at pos: the last one fills the gap and moves whichever way it must. */
static void heap_remove(hw_loop_t *loop, size_t pos)
{
	slot_del(loop, slot_find(loop, loop->heap[pos].id));
	if (pos == --loop->nheap)
		return;
	loop->heap[pos] = loop->heap[loop->nheap];
	if (pos > 0 && timer_before(&loop->heap[pos], &loop->heap[(pos - 1) / 2]))
		sift_up(loop, pos);
	else
		sift_down(loop, pos);
}

static int heap_reserve(hw_loop_t *loop)
{
	struct timer *h;
	size_t cap;

	if (loop->nheap < loop->capheap)
		return HW_OK;
	cap = loop->capheap ? 2 * loop->capheap : 16;
	h = realloc(loop->heap, cap * sizeof(*h));
	if (h == NULL)
		return HW_ERR_NOMEM;
	loop->heap = h;
	loop->capheap = cap;
	return HW_OK;
}

int64_t loop_timer(hw_loop_t *loop, uint64_t when_us, hw_timer_cb cb, void *arg)
{
	struct timer t;
	int rc;

	if (loop == NULL || cb == NULL)
		return HW_ERR_INVAL;
	if ((rc = heap_reserve(loop)) < 0 || (rc = slots_reserve(loop, loop->nheap + 1)) < 0)
		return rc;
	t.when = when_us;
	t.id = loop->next_id++;
	t.cb = cb;
	t.arg = arg;
	loop->heap[loop->nheap++] = t;
	sift_up(loop, loop->nheap - 1);
	return t.id;
}

void loop_timer_cancel(hw_loop_t *loop, int64_t id)
{
	struct slot *s;

	if (loop == NULL || (s = slot_find(loop, id)) == NULL)
		return;
	heap_remove(loop, s->pos);
}

/*
 * Fires the timers due at entry, earliest first. Timers added meanwhile wait for the next
 * pass, even if already due, so a callback that keeps re-arming at "now" cannot starve fds.
 */
static void run_timers(hw_loop_t *loop)
{
	uint64_t now = hw_now_us();
	int64_t first_new = loop->next_id;

	while (!loop->stop && loop->nheap > 0) {
		struct timer t = loop->heap[0];

		if (t.when > now || t.id >= first_new)
			break;
		/* Out of the heap before the call: cancelling itself is then a harmless no-op. */
		heap_remove(loop, 0);
		t.cb(t.arg);
	}
}

/* ---- waiting ---- */

/* Microseconds until the earliest timer; -1 when there is none. */
static int64_t wait_us(const hw_loop_t *loop)
{
	uint64_t now;

	if (loop->nheap == 0)
		return -1;
	now = hw_now_us();
	if (loop->heap[0].when <= now)
		return 0;
	/* Capped at ~24 days so the millisecond int holds it too; we then wake and recompute. */
	if (loop->heap[0].when - now > (uint64_t)INT_MAX * 1000u)
		return (int64_t)INT_MAX * 1000;
	return (int64_t)(loop->heap[0].when - now);
}

/* Rounded up: a timer must never fire early, and a sub-ms remainder must not become a 0 ms spin. */
static int wait_ms(int64_t us)
{
	if (us < 0)
		return -1;
	return (int)((us + 999) / 1000);
}

static int poll_events(hw_loop_t *loop, struct epoll_event *evs, int64_t us)
{
#ifdef HAVE_PWAIT2
	if (!loop->no_pwait2) {
		struct timespec ts = {
			.tv_sec = (time_t)(us / 1000000),
			.tv_nsec = (long)(us % 1000000) * 1000,
		};
		int n = epoll_pwait2(loop->epfd, evs, MAX_EVENTS, us < 0 ? NULL : &ts, NULL);

		/* ENOSYS: kernel before 5.11; EPERM: a seccomp filter that predates the call. */
		if (n >= 0 || (errno != ENOSYS && errno != EPERM))
			return n;
		loop->no_pwait2 = true;
	}
#endif
	return epoll_wait(loop->epfd, evs, MAX_EVENTS, wait_ms(us));
}

static int step(hw_loop_t *loop)
{
	struct epoll_event evs[MAX_EVENTS];
	int n;

	n = poll_events(loop, evs, wait_us(loop));
	if (n < 0)
		return errno == EINTR ? HW_OK : HW_ERR_SYS;
	dispatch(loop, evs, n);
	return HW_OK;
}

int loop_run(hw_loop_t *loop)
{
	int rc = HW_OK;

	/* One events buffer and one stop flag per loop: a nested run would corrupt both. */
	if (loop == NULL || loop->running)
		return HW_ERR_INVAL;
	loop->running = true;
	for (;;) {
		run_timers(loop);
		if (loop->stop || (loop->nwatched == 0 && loop->nheap == 0))
			break;
		if ((rc = step(loop)) < 0 || loop->stop)
			break;
	}
	/* The stop request is used up, so the next loop_run runs again. */
	loop->stop = false;
	loop->running = false;
	return rc;
}

void loop_stop(hw_loop_t *loop)
{
	if (loop != NULL)
		loop->stop = true;
}
