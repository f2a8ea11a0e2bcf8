/*
 * c-ares on our event loop: host names (A / AAAA), reverse names (PTR) and TXT records.
 *
 * c-ares tells us which sockets to watch through its socket-state callback (→ loop_watch),
 * we call ares_process_fd when one is ready, and one loop timer follows ares_timeout so
 * retransmissions happen; that timer is re-armed after everything that can change it.
 *
 * Lookups wait in a queue and at most MAX_INFLIGHT are handed to c-ares at once: c-ares
 * would send thousands of questions in one burst from one socket, and the answers would
 * overflow its receive buffer (or the server's rate limit) and wait for retransmissions.
 *
 * c-ares' own retries are sized to fit the timeout, but a lookup may chain several queries
 * (A and AAAA, search domains, servers), so each lookup also carries its own deadline
 * timer: the caller hears "no answer" on time whatever c-ares does. A lookup answered by
 * its deadline stays with c-ares until c-ares lets go of it; when no lookup still waits
 * for c-ares, ares_cancel ends them all at once.
 *
 * A server that refuses (ICMP port unreachable: nothing listens there) is no answer
 * either, but c-ares would keep each question until its try times out. Its socket calls
 * go through ours, so a refusal is seen: after the c-ares call that saw one, every
 * question still out is cancelled and fails at once (the one server we have refuses).
 *
 * c-ares 1.18 folds outcomes we want apart: a PTR lookup that found nothing in DNS ends
 * with ENOTFOUND whether the server said NXDOMAIN, failed (SERVFAIL) or never answered,
 * and a query whose every try got SERVFAIL ends with ECONNREFUSED, as one refused. A
 * server that answers is alive, one that does not is not: callers give up on the second
 * only. So every UDP answer c-ares reads through our socket calls leaves its question and
 * rcode behind (`last`); c-ares ends a lookup right after reading the answer that ends it,
 * so when `last` holds the lookup's own question it tells what ended it (told_apart).
 * Answers over TCP (after a truncated one) are not read that way: a PTR lookup that ends
 * there without a name counts as unanswered.
 *
 * Re-entrancy: callers' callbacks run inside ares_process_fd and may start lookups or close
 * the resolver. `depth` counts our frames on the stack; closing inside one only marks the
 * resolver, and the outermost frame destroys it on the way out. Lookups are only ever
 * started (and numeric or malformed names answered) from the loop, never from within
 * resolver_lookup, so a callback never runs before resolver_lookup has returned.
 */
#include <ares.h>
#include <errno.h>
#include <arpa/nameser.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <hopwatch/resolve.h>
#include <hopwatch/status.h>

#include "dnsmsg.h"

#define DNS_PORT 53
#define TIMEOUT_MAX_S 86400.0
/*
 * c-ares tries a server for timeout, then the next server (or the same one again) for
 * twice that per round: three tries of a third each give three servers a chance, or one
 * server two, within the lookup's time.
 */
#define ARES_TRIES 3
/* Lookups in c-ares at once: their answers fit a default socket buffer in a burst. */
#define MAX_INFLIGHT 128

/* What a lookup asks. */
enum kind { K_ADDR, K_PTR, K_TXT };

/* An answer on its way to the caller; every pointer is owned (answer_clear frees). */
struct answer {
	int status;
	struct hw_addr *addrs;      /* K_ADDR */
	size_t n;
	char *name;                 /* K_PTR */
	struct hw_txt *txt;         /* K_TXT: n records, their bytes in txtbuf */
	unsigned char *txtbuf;
};

struct lookup {
	struct lookup *prev, *next; /* every lookup of the resolver */
	struct lookup *qnext;       /* the queue of lookups waiting for their turn */
	hw_resolver_t *r;
	enum kind kind;
	union {
		hw_resolve_cb addr;
		hw_resolve_name_cb name;
		hw_resolve_txt_cb txt;
	} cb;
	void *arg;
	int family;
	char *name;                 /* K_ADDR, K_TXT */
	struct hw_addr rev;         /* K_PTR */
	int64_t timer;              /* the deadline; 0: none */
	bool in_ares;               /* c-ares holds this lookup: its callback has not run */
	bool answered;              /* cb has run */
	bool starting;              /* inside the c-ares call that started it */
	struct answer early;        /* an answer c-ares gave within that call */
};

struct hw_resolver {
	hw_loop_t *loop;
	ares_channel ch;
	bool have_ch;
	uint64_t timeout_us;
	int64_t timer;              /* follows ares_timeout; 0: none */
	uint64_t timer_when;
	int64_t pump_timer;         /* starts queued lookups from the loop; 0: none */
	unsigned depth;             /* our frames on the stack */
	bool closing;
	bool refused;               /* a socket saw ECONNREFUSED: cancel what is out */
	struct lookup *lookups;     /* every lookup still allocated */
	struct lookup *qhead, *qtail;
	size_t pending;             /* lookups not yet answered */
	size_t max_inflight;        /* at most this many in c-ares */
	size_t inflight;            /* lookups c-ares holds */
	size_t waiting;             /* of those, the ones not yet answered */
	/* The last UDP answer read in this c-ares call: question (lower case) and rcode. */
	bool last_valid;
	uint8_t last_rcode;
	char last_qname[NS_MAXDNAME];
};

/* ---- status ---- */

static int status_of(int ares_status)
{
	switch (ares_status) {
	case ARES_SUCCESS:
		return HW_OK;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
		return HW_ERR_NOHOST;
	case ARES_EBADNAME:
	case ARES_EBADFAMILY:
	case ARES_EBADFLAGS:
	case ARES_EBADHINTS:
	case ARES_EBADQUERY:
	case ARES_EBADSTR:
		return HW_ERR_INVAL;
	case ARES_EBADRESP:
		return HW_ERR_MALFORMED;
	case ARES_ENOMEM:
		return HW_ERR_NOMEM;
	case ARES_ESERVFAIL:
	case ARES_ENOTIMP:
	case ARES_EFORMERR:
		/* The server is there and answers: it failed this question (a lame zone). */
		return HW_ERR_SERVFAIL;
	default:
		/* Timeouts, refusals (DNS REFUSED, nothing listening), cancellation: no server
		   that serves us, worth another try later. */
		return HW_ERR_AGAIN;
	}
}

/* The address of one c-ares node, if it is of a family we can use. */
static bool node_addr(const struct ares_addrinfo_node *node, int family, struct hw_addr *out)
{
	if (node->ai_addr == NULL || (family != AF_UNSPEC && node->ai_family != family))
		return false;
	if (node->ai_family == AF_INET && node->ai_addrlen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)node->ai_addr;

		hw_addr_set(out, AF_INET, &sin->sin_addr);
		return true;
	}
	if (node->ai_family == AF_INET6 && node->ai_addrlen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 =
			(const struct sockaddr_in6 *)(const void *)node->ai_addr;

		hw_addr_set(out, AF_INET6, &sin6->sin6_addr);
		return true;
	}
	return false;
}

/* The distinct addresses of the family asked for, in c-ares' (RFC 6724) order. */
static int collect(const struct ares_addrinfo *ai, int family, struct hw_addr **out,
		   size_t *n)
{
	const struct ares_addrinfo_node *node;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	for (node = ai ? ai->nodes : NULL; node != NULL; node = node->ai_next)
		count++;
	if (count == 0)
		return HW_ERR_NOHOST;
	if ((*out = calloc(count, sizeof(**out))) == NULL)
		return HW_ERR_NOMEM;
	for (node = ai->nodes; node != NULL; node = node->ai_next) {
		struct hw_addr a;
		bool seen = false;

		if (!node_addr(node, family, &a))
			continue;
		for (size_t i = 0; i < *n && !seen; i++)
			seen = hw_addr_eq(&(*out)[i], &a);
		if (!seen)
			(*out)[(*n)++] = a;
	}
	if (*n == 0) {
		free(*out);
		*out = NULL;
		return HW_ERR_NOHOST;
	}
	return HW_OK;
}

/* ---- lookups ---- */

static void answer_clear(struct answer *a)
{
	free(a->addrs);
	free(a->name);
	free(a->txt);
	free(a->txtbuf);
	memset(a, 0, sizeof(*a));
}

static void lookup_free(struct lookup *lk)
{
	hw_resolver_t *r = lk->r;

	if (lk->prev != NULL)
		lk->prev->next = lk->next;
	else
		r->lookups = lk->next;
	if (lk->next != NULL)
		lk->next->prev = lk->prev;
	free(lk->name);
	answer_clear(&lk->early);
	free(lk);
}

/* Runs the caller's callback, once; an error answer carries no data. */
static void answer(struct lookup *lk, const struct answer *a)
{
	hw_resolver_t *r = lk->r;
	bool ok = a->status == HW_OK;

	if (lk->timer != 0) {
		loop_timer_cancel(r->loop, lk->timer);
		lk->timer = 0;
	}
	if (lk->in_ares)
		r->waiting--;
	lk->answered = true;
	r->pending--;
	switch (lk->kind) {
	case K_ADDR:
		lk->cb.addr(lk->arg, a->status, ok ? a->addrs : NULL, ok ? a->n : 0);
		break;
	case K_PTR:
		lk->cb.name(lk->arg, a->status, ok ? a->name : NULL);
		break;
	case K_TXT:
		lk->cb.txt(lk->arg, a->status, ok ? a->txt : NULL, ok ? a->n : 0);
		break;
	}
}

static void answer_status(struct lookup *lk, int status)
{
	struct answer a = {.status = status};

	answer(lk, &a);
}

/* Answers and frees a lookup c-ares does not hold. */
static void finish(struct lookup *lk, const struct answer *a)
{
	answer(lk, a);
	lookup_free(lk);
}

static void finish_status(struct lookup *lk, int status)
{
	answer_status(lk, status);
	lookup_free(lk);
}

/*
 * A numeric name is its own answer. c-ares would agree only partly: asked for IPv6, it
 * sends an AAAA question for "192.0.2.1" to the server.
 */
static void answer_numeric(struct lookup *lk, struct hw_addr *addr)
{
	struct answer a = {.status = HW_OK, .addrs = addr, .n = 1};

	if (lk->family != AF_UNSPEC && lk->family != addr->family)
		finish_status(lk, HW_ERR_NOHOST);
	else
		finish(lk, &a);
}

/* ---- driving c-ares ---- */

static void destroy(hw_resolver_t *r);
static void on_ares_timer(void *arg);
/* The question of a reverse lookup: "4.3.2.1.in-addr.arpa", or the nibbles in ip6.arpa. */
static void reverse_qname(const struct hw_addr *a, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (a->family == AF_INET) {
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a->a[3], a->a[2], a->a[1], a->a[0]);
		return;
	}
	for (int i = 15; i >= 0 && o + 4 < len; i--) {
		out[o++] = hex[a->a[i] & 15];
		out[o++] = '.';
		out[o++] = hex[a->a[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, len - o, "ip6.arpa");
}

/* True when the last answer read was for qname (compared without case or final dot). */
static bool last_is(const hw_resolver_t *r, const char *qname)
{
	size_t n = strlen(qname);

	if (n > 0 && qname[n - 1] == '.')
		n--;
	return r->last_valid && strlen(r->last_qname) == n && strncasecmp(r->last_qname, qname, n) == 0;
}

/*
 * The status of a lookup c-ares ended with ares_status, told apart with the last answer
 * read (see the top of this file). Lookups c-ares ends within the call that starts them
 * (hosts file, bad names) read no answer and keep c-ares' word.
 */
static int told_apart(const struct lookup *lk, int ares_status)
{
	const hw_resolver_t *r = lk->r;
	char qname[NS_MAXDNAME];

	if (lk->starting)
		return status_of(ares_status);
	if (lk->kind == K_PTR && ares_status == ARES_ENOTFOUND) {
		reverse_qname(&lk->rev, qname, sizeof(qname));
		if (!last_is(r, qname))
			return HW_ERR_AGAIN; /* no answer: c-ares' own tries timed out */
		switch (r->last_rcode) {
		case ns_r_noerror:
		case ns_r_nxdomain:
			return HW_ERR_NOHOST;
		case ns_r_servfail:
		case ns_r_notimpl:
		case ns_r_formerr:
			return HW_ERR_SERVFAIL;
		default:
			return HW_ERR_AGAIN;
		}
	}
	if (lk->kind != K_PTR && ares_status == ARES_ECONNREFUSED && last_is(r, lk->name)
	    && (r->last_rcode == ns_r_servfail || r->last_rcode == ns_r_notimpl))
		return HW_ERR_SERVFAIL;
	return status_of(ares_status);
}

static void on_addrinfo(void *arg, int ares_status, int timeouts, struct ares_addrinfo *ai);
static void on_hostent(void *arg, int ares_status, int timeouts, struct hostent *host);
static void on_txt(void *arg, int ares_status, int timeouts, unsigned char *abuf, int alen);
static void on_deadline(void *arg);

/* Keeps our one timer at the time c-ares next needs to look at its queries. */
static void rearm(hw_resolver_t *r)
{
	struct timeval tv, *next = ares_timeout(r->ch, NULL, &tv);
	uint64_t when;

	if (next == NULL) {
		if (r->timer != 0)
			loop_timer_cancel(r->loop, r->timer);
		r->timer = 0;
		return;
	}
	/* ares_timeout rounds down to milliseconds: a millisecond later, c-ares surely agrees
	   the time has come, and we never spin on a timeout it does not see yet. */
	when = hw_now_us() + (uint64_t)next->tv_sec * 1000000u + (uint64_t)next->tv_usec + 1000u;
	if (r->timer != 0 && r->timer_when == when)
		return;
	if (r->timer != 0)
		loop_timer_cancel(r->loop, r->timer);
	r->timer = loop_timer(r->loop, when, on_ares_timer, r);
	/* Without the timer (out of memory) retransmissions wait for socket events; every
	   lookup still ends by its own deadline. */
	if (r->timer < 0)
		r->timer = 0;
	r->timer_when = when;
}

/* Asks c-ares what the lookup wants to know; its callback may run before this returns. */
static void ask(hw_resolver_t *r, struct lookup *lk)
{
	struct ares_addrinfo_hints hints;

	switch (lk->kind) {
	case K_ADDR:
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = lk->family;
		ares_getaddrinfo(r->ch, lk->name, NULL, &hints, on_addrinfo, lk);
		break;
	case K_PTR:
		/* c-ares builds the in-addr.arpa / ip6.arpa name and reads the hosts file
		   first when its configuration says so (never with a server of our own). */
		ares_gethostbyaddr(r->ch, lk->rev.a, (int)hw_addr_len(&lk->rev), lk->rev.family,
				   on_hostent, lk);
		break;
	case K_TXT:
		ares_query(r->ch, lk->name, ns_c_in, ns_t_txt, on_txt, lk);
		break;
	}
}

/* Hands the next queued lookup to c-ares (or answers it, if it needs no server). */
static void start(hw_resolver_t *r)
{
	struct lookup *lk = r->qhead;
	struct hw_addr numeric;

	r->qhead = lk->qnext;
	if (r->qhead == NULL)
		r->qtail = NULL;
	if (lk->kind == K_ADDR && hw_addr_parse(lk->name, &numeric) == HW_OK) {
		answer_numeric(lk, &numeric);
		return;
	}
	/* Out of memory, the lookup goes without: c-ares' own tries still end it. */
	lk->timer = loop_timer(r->loop, hw_now_us() + r->timeout_us, on_deadline, lk);
	if (lk->timer < 0)
		lk->timer = 0;
	lk->in_ares = true;
	r->inflight++;
	r->waiting++;
	lk->starting = true;
	ask(r, lk);
	lk->starting = false;
	/* c-ares answered at once (a malformed name, the hosts file): now that it let go,
	   tell the caller. */
	if (!lk->in_ares)
		finish(lk, &lk->early);
}

/* Starts queued lookups while there is room; callbacks it runs may queue more. */
static void pump(hw_resolver_t *r)
{
	while (!r->closing && r->qhead != NULL && r->inflight < r->max_inflight)
		start(r);
}

static void enter(hw_resolver_t *r)
{
	r->depth++;
}

/*
 * Leaves one of our frames. The outermost one starts what the queue holds (still inside
 * the frame, so callbacks it runs cannot free the resolver under it), then finishes a
 * close or re-arms the timer.
 */
static void leave(hw_resolver_t *r)
{
	if (r->depth == 1 && r->refused && !r->closing) {
		r->refused = false;
		/* Their callbacks run now, inside this frame, and report HW_ERR_AGAIN. */
		ares_cancel(r->ch);
	}
	if (r->depth == 1)
		pump(r);
	if (--r->depth > 0)
		return;
	if (r->closing)
		destroy(r);
	else
		rearm(r);
}

static void on_pump(void *arg)
{
	hw_resolver_t *r = arg;

	r->pump_timer = 0;
	enter(r);
	leave(r);
}

static void on_ares_timer(void *arg)
{
	hw_resolver_t *r = arg;

	r->timer = 0;
	enter(r);
	r->last_valid = false;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	leave(r);
}

static void on_fd(int fd, unsigned events, void *arg)
{
	hw_resolver_t *r = arg;

	enter(r);
	r->last_valid = false;
	ares_process_fd(r->ch, (events & HW_EV_READ) ? fd : ARES_SOCKET_BAD,
			(events & HW_EV_WRITE) ? fd : ARES_SOCKET_BAD);
	leave(r);
}

/* c-ares opens, changes or closes a socket: watch it as it says. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	hw_resolver_t *r = data;
	unsigned events = (readable ? HW_EV_READ : 0u) | (writable ? HW_EV_WRITE : 0u);

	/* On failure (out of memory) the socket goes unwatched; its lookups end by deadline. */
	(void)loop_watch(r->loop, fd, events, on_fd, r);
}

/* c-ares is done with a lookup: ans (owned, consumed here) goes to the caller. */
static void completed(struct lookup *lk, struct answer *ans)
{
	hw_resolver_t *r = lk->r;

	if (lk->starting) {
		/* Within the c-ares call: start() tells the caller once c-ares has returned. */
		lk->in_ares = false;
		r->inflight--;
		r->waiting--;
		lk->early = *ans;
		return;
	}
	if (lk->answered) {
		/* Its deadline has spoken already. */
		answer_clear(ans);
		r->inflight--;
		lookup_free(lk);
		return;
	}
	if (r->closing) {
		answer_clear(ans);
		ans->status = HW_ERR_AGAIN;
	}
	answer(lk, ans);
	lk->in_ares = false;
	r->inflight--;
	answer_clear(ans);
	lookup_free(lk);
}

static void on_addrinfo(void *arg, int ares_status, int timeouts, struct ares_addrinfo *ai)
{
	struct lookup *lk = arg;
	struct answer ans = {.status = told_apart(lk, ares_status)};

	(void)timeouts;
	if (ans.status == HW_OK)
		ans.status = collect(ai, lk->family, &ans.addrs, &ans.n);
	ares_freeaddrinfo(ai);
	completed(lk, &ans);
}

static void on_hostent(void *arg, int ares_status, int timeouts, struct hostent *host)
{
	struct lookup *lk = arg;
	struct answer ans = {.status = told_apart(lk, ares_status)};

	(void)timeouts;
	if (ans.status == HW_OK && (host == NULL || host->h_name == NULL || host->h_name[0] == '\0'))
		ans.status = HW_ERR_NOHOST;
	if (ans.status == HW_OK && (ans.name = strdup(host->h_name)) == NULL)
		ans.status = HW_ERR_NOMEM;
	completed(lk, &ans);
}

/*
 * The TXT records of an answer, each record's strings joined (RFC 7208's reading): one
 * allocation for the bytes, NUL after each record so callers may treat them as strings.
 */
static int collect_txt(const unsigned char *abuf, int alen, struct answer *ans)
{
	struct ares_txt_ext *list = NULL, *t;
	size_t records = 0, bytes = 0, off = 0;
	int rc = ares_parse_txt_reply_ext(abuf, alen, &list);

	if (rc != ARES_SUCCESS)
		return rc == ARES_ENODATA ? HW_ERR_NOHOST : status_of(rc);
	for (t = list; t != NULL; t = t->next) {
		records += t->record_start || records == 0;
		bytes += t->length + 1;
	}
	if (records == 0) {
		ares_free_data(list);
		return HW_ERR_NOHOST;
	}
	ans->txt = calloc(records, sizeof(*ans->txt));
	ans->txtbuf = malloc(bytes + 1);
	if (ans->txt == NULL || ans->txtbuf == NULL) {
		ares_free_data(list);
		return HW_ERR_NOMEM;
	}
	for (t = list; t != NULL; t = t->next) {
		if (t->record_start || ans->n == 0) {
			if (ans->n > 0)
				ans->txtbuf[off++] = '\0';
			ans->txt[ans->n++].text = ans->txtbuf + off;
		}
		memcpy(ans->txtbuf + off, t->txt, t->length);
		off += t->length;
		ans->txt[ans->n - 1].len += t->length;
	}
	ans->txtbuf[off] = '\0';
	ares_free_data(list);
	return HW_OK;
}

static void on_txt(void *arg, int ares_status, int timeouts, unsigned char *abuf, int alen)
{
	struct lookup *lk = arg;
	struct answer ans = {.status = told_apart(lk, ares_status)};

	(void)timeouts;
	if (ans.status == HW_OK)
		ans.status = collect_txt(abuf, alen, &ans);
	if (ans.status != HW_OK) {
		int status = ans.status;
		answer_clear(&ans);
		ans.status = status;
	}
	completed(lk, &ans);
}

static void on_deadline(void *arg)
{
	struct lookup *lk = arg;
	hw_resolver_t *r = lk->r;

	lk->timer = 0;
	enter(r);
	answer_status(lk, HW_ERR_AGAIN);
	/* Nobody waits for what c-ares still does: stop it rather than let it retransmit. */
	if (r->waiting == 0 && !r->closing)
		ares_cancel(r->ch);
	leave(r);
}

/* Queues a lookup (its name copied, when it has one); HW_OK or an error and no lookup. */
static int enqueue(hw_resolver_t *r, enum kind kind, const char *name, struct lookup **out)
{
	struct lookup *lk;

	/* Started from the loop: at once by the frame we are in, or by a timer due now. */
	if (r->depth == 0 && r->pump_timer == 0) {
		r->pump_timer = loop_timer(r->loop, hw_now_us(), on_pump, r);
		if (r->pump_timer < 0) {
			r->pump_timer = 0;
			return HW_ERR_NOMEM;
		}
	}
	if ((lk = calloc(1, sizeof(*lk))) == NULL
	    || (name != NULL && (lk->name = strdup(name)) == NULL)) {
		free(lk);
		return HW_ERR_NOMEM;
	}
	lk->r = r;
	lk->kind = kind;
	lk->next = r->lookups;
	if (r->lookups != NULL)
		r->lookups->prev = lk;
	r->lookups = lk;
	if (r->qtail != NULL)
		r->qtail->qnext = lk;
	else
		r->qhead = lk;
	r->qtail = lk;
	r->pending++;
	*out = lk;
	return HW_OK;
}

int resolver_lookup(hw_resolver_t *r, const char *name, int family, hw_resolve_cb cb,
		    void *arg)
{
	struct lookup *lk;
	int rc;

	if (r == NULL || r->closing || name == NULL || cb == NULL
	    || (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC))
		return HW_ERR_INVAL;
	if ((rc = enqueue(r, K_ADDR, name, &lk)) != HW_OK)
		return rc;
	lk->cb.addr = cb;
	lk->arg = arg;
	lk->family = family;
	return HW_OK;
}

int resolver_reverse(hw_resolver_t *r, const struct hw_addr *addr, hw_resolve_name_cb cb,
		     void *arg)
{
	struct lookup *lk;
	int rc;

	if (r == NULL || r->closing || addr == NULL || cb == NULL
	    || (addr->family != AF_INET && addr->family != AF_INET6))
		return HW_ERR_INVAL;
	if ((rc = enqueue(r, K_PTR, NULL, &lk)) != HW_OK)
		return rc;
	lk->cb.name = cb;
	lk->arg = arg;
	lk->rev = *addr;
	lk->family = addr->family;
	return HW_OK;
}

int resolver_txt(hw_resolver_t *r, const char *name, hw_resolve_txt_cb cb, void *arg)
{
	struct lookup *lk;
	int rc;

	if (r == NULL || r->closing || name == NULL || name[0] == '\0' || cb == NULL)
		return HW_ERR_INVAL;
	if ((rc = enqueue(r, K_TXT, name, &lk)) != HW_OK)
		return rc;
	lk->cb.txt = cb;
	lk->arg = arg;
	return HW_OK;
}

int resolver_set_inflight(hw_resolver_t *r, size_t max)
{
	if (r == NULL || max == 0 || max > RESOLVER_INFLIGHT_MAX)
		return HW_ERR_INVAL;
	r->max_inflight = max;
	return HW_OK;
}

size_t resolver_pending(const hw_resolver_t *r)
{
	return r ? r->pending : 0;
}

/* ---- open / close ---- */

static bool parse_port(const char *s, int *port)
{
	long v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || (v = v * 10 + (*s - '0')) > 65535)
			return false;
	}
	*port = (int)v;
	return v > 0;
}

/* Copies the n bytes at s into a string and parses it as an address. */
static bool parse_addr_n(const char *s, size_t n, struct hw_addr *a)
{
	char text[HW_ADDRSTRLEN];

	if (n >= sizeof(text))
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	return hw_addr_parse(text, a) == HW_OK;
}

/* "ADDR", "ADDR:PORT" (IPv4) or "[IPV6]:PORT"; a bare IPv6 address keeps port 53. */
static bool parse_server(const char *s, struct hw_addr *a, int *port)
{
	const char *colon;

	*port = DNS_PORT;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || !parse_addr_n(s + 1, (size_t)(end - s - 1), a)
		    || a->family != AF_INET6)
			return false;
		return end[1] == '\0' || (end[1] == ':' && parse_port(end + 2, port));
	}
	if (hw_addr_parse(s, a) == HW_OK)
		return true;
	colon = strrchr(s, ':');
	return colon != NULL && parse_addr_n(s, (size_t)(colon - s), a) && a->family == AF_INET
	       && parse_port(colon + 1, port);
}

bool resolver_server_ok(const char *server)
{
	struct hw_addr a;
	int port;

	return server != NULL && parse_server(server, &a, &port);
}

static int set_server(hw_resolver_t *r, const struct hw_addr *a, int port)
{
	struct ares_addr_port_node node;

	memset(&node, 0, sizeof(node));
	node.family = a->family;
	if (a->family == AF_INET)
		memcpy(&node.addr.addr4, a->a, 4);
	else
		memcpy(&node.addr.addr6, a->a, 16);
	node.udp_port = port;
	node.tcp_port = port;
	return ares_set_servers_ports(r->ch, &node) == ARES_SUCCESS ? HW_OK : HW_ERR_NOMEM;
}

/* ---- c-ares' socket calls, to see refusals ---- */

static ares_socket_t sock_open(int family, int type, int protocol, void *data)
{
	(void)data;
	return socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
}

static int sock_close(ares_socket_t fd, void *data)
{
	(void)data;
	return close(fd);
}

static int sock_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len,
			void *data)
{
	(void)data;
	return connect(fd, sa, len);
}

/* Notes the question and rcode of a UDP answer (a response with one question). */
static void note_answer(hw_resolver_t *r, const uint8_t *p, size_t n)
{
	r->last_valid = dnsmsg_question(p, n, r->last_qname, sizeof(r->last_qname), &r->last_rcode);
}

static ares_ssize_t sock_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
				  struct sockaddr *from, ares_socklen_t *fromlen, void *data)
{
	hw_resolver_t *r = data;
	ssize_t n = from != NULL ? recvfrom(fd, buf, len, flags, from, fromlen)
				 : recv(fd, buf, len, flags);

	if (n < 0 && errno == ECONNREFUSED)
		r->refused = true;
	/* c-ares reads UDP with an address, TCP (length, then message) without. */
	if (n > 0)
		r->last_valid = false;
	if (n > 0 && from != NULL)
		note_answer(r, buf, (size_t)n);
	return n;
}

static ares_ssize_t sock_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *data)
{
	(void)data;
	return writev(fd, iov, n);
}

static const struct ares_socket_functions sock_funcs = {
	sock_open, sock_close, sock_connect, sock_recvfrom, sock_sendv,
};

static int init_channel(hw_resolver_t *r, bool own_server)
{
	/* ares_options wants char *s; the strings are only read. */
	static char dns_only[] = "b", no_file[] = "/dev/null";
	struct ares_options o;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	int rc;

	memset(&o, 0, sizeof(o));
	o.sock_state_cb = on_sock_state;
	o.sock_state_cb_data = r;
	o.timeout = (int)(r->timeout_us / 1000u / ARES_TRIES);
	if (o.timeout < 1)
		o.timeout = 1;
	o.tries = ARES_TRIES;
	if (own_server) {
		/* Only that server, only DNS: no resolv.conf, hosts file, search domains or
		   aliases, so what we ask goes to that server and nowhere else. */
		mask |= ARES_OPT_FLAGS | ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS | ARES_OPT_RESOLVCONF;
		o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
		o.lookups = dns_only;
		o.resolvconf_path = no_file;
		o.domains = NULL;
		o.ndomains = 0;
	}
	rc = ares_init_options(&r->ch, &o, mask);
	if (rc != ARES_SUCCESS)
		return rc == ARES_ENOMEM ? HW_ERR_NOMEM : rc == ARES_EFILE ? HW_ERR_IO : HW_ERR_SYS;
	r->have_ch = true;
	ares_set_socket_functions(r->ch, &sock_funcs, r);
	return HW_OK;
}

hw_resolver_t *resolver_open(hw_loop_t *loop, const char *server, double timeout_s,
			     int *status)
{
	hw_resolver_t *r;
	struct hw_addr addr;
	int port, dummy, rc;

	status = status ? status : &dummy;
	*status = HW_ERR_INVAL;
	if (loop == NULL || !isfinite(timeout_s) || timeout_s <= 0 || timeout_s > TIMEOUT_MAX_S
	    || (server != NULL && !parse_server(server, &addr, &port)))
		return NULL;
	*status = HW_ERR_NOMEM;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->max_inflight = MAX_INFLIGHT;
	r->timeout_us = (uint64_t)llround(timeout_s * 1e6);
	if (r->timeout_us == 0)
		r->timeout_us = 1;
	if ((rc = init_channel(r, server != NULL)) < 0
	    || (server != NULL && (rc = set_server(r, &addr, port)) < 0)) {
		*status = rc;
		destroy(r);
		return NULL;
	}
	*status = HW_OK;
	return r;
}

/* Answers what is left with HW_ERR_AGAIN and frees everything. */
static void destroy(hw_resolver_t *r)
{
	r->closing = true;
	/* Callbacks run from here may call resolver_close again: that must stay a no-op. */
	r->depth++;
	if (r->timer != 0)
		loop_timer_cancel(r->loop, r->timer);
	if (r->pump_timer != 0)
		loop_timer_cancel(r->loop, r->pump_timer);
	/* c-ares ends its lookups through on_addrinfo and unwatches its sockets. */
	if (r->have_ch)
		ares_destroy(r->ch);
	/* What is left never had its turn. */
	while (r->lookups != NULL)
		finish_status(r->lookups, HW_ERR_AGAIN);
	ares_library_cleanup();
	free(r);
}

hw_resolver_t *resolver_close(hw_resolver_t *r)
{
	if (r == NULL)
		return NULL;
	r->closing = true;
	if (r->depth == 0)
		destroy(r);
	return NULL;
}
