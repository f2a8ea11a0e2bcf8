/*
 * c-ares on our event loop.
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
 * Re-entrancy: callers' callbacks run inside ares_process_fd and may start lookups or close
 * the resolver. `depth` counts our frames on the stack; closing inside one only marks the
 * resolver, and the outermost frame destroys it on the way out. Lookups are only ever
 * started (and numeric or malformed names answered) from the loop, never from within
 * resolver_lookup, so a callback never runs before resolver_lookup has returned.
 */
#include <ares.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/resolve.h>
#include <hopwatch/status.h>

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

struct lookup {
	struct lookup *prev, *next; /* every lookup of the resolver */
	struct lookup *qnext;       /* the queue of lookups waiting for their turn */
	hw_resolver_t *r;
	hw_resolve_cb cb;
	void *arg;
	int family;
	char *name;
	int64_t timer;              /* the deadline; 0: none */
	bool in_ares;               /* c-ares holds this lookup: its callback has not run */
	bool answered;              /* cb has run */
	bool starting;              /* inside ares_getaddrinfo */
	int status;                 /* an answer c-ares gave within ares_getaddrinfo */
	struct hw_addr *addrs;
	size_t n;
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
	struct lookup *lookups;     /* every lookup still allocated */
	struct lookup *qhead, *qtail;
	size_t pending;             /* lookups not yet answered */
	size_t inflight;            /* lookups c-ares holds */
	size_t waiting;             /* of those, the ones not yet answered */
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
	default:
		/* Timeouts, server failures and refusals, cancellation: worth another try later. */
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
	free(lk->addrs);
	free(lk);
}

/* Runs the caller's callback, once. */
static void answer(struct lookup *lk, int status, const struct hw_addr *addrs, size_t n)
{
	hw_resolver_t *r = lk->r;

	if (lk->timer != 0) {
		loop_timer_cancel(r->loop, lk->timer);
		lk->timer = 0;
	}
	if (lk->in_ares)
		r->waiting--;
	lk->answered = true;
	r->pending--;
	lk->cb(lk->arg, status, status == HW_OK ? addrs : NULL, status == HW_OK ? n : 0);
}

/* Answers and frees a lookup c-ares does not hold. */
static void finish(struct lookup *lk, int status, const struct hw_addr *addrs, size_t n)
{
	answer(lk, status, addrs, n);
	lookup_free(lk);
}

/*
 * A numeric name is its own answer. c-ares would agree only partly: asked for IPv6, it
 * sends an AAAA question for "192.0.2.1" to the server.
 */
static void answer_numeric(struct lookup *lk, const struct hw_addr *a)
{
	if (lk->family != AF_UNSPEC && lk->family != a->family)
		finish(lk, HW_ERR_NOHOST, NULL, 0);
	else
		finish(lk, HW_OK, a, 1);
}

/* ---- driving c-ares ---- */

static void destroy(hw_resolver_t *r);
static void on_ares_timer(void *arg);
static void on_addrinfo(void *arg, int ares_status, int timeouts, struct ares_addrinfo *ai);
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

/* Hands the next queued lookup to c-ares (or answers it, if it needs no server). */
static void start(hw_resolver_t *r)
{
	struct lookup *lk = r->qhead;
	struct ares_addrinfo_hints hints;
	struct hw_addr numeric;

	r->qhead = lk->qnext;
	if (r->qhead == NULL)
		r->qtail = NULL;
	if (hw_addr_parse(lk->name, &numeric) == HW_OK) {
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
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = lk->family;
	ares_getaddrinfo(r->ch, lk->name, NULL, &hints, on_addrinfo, lk);
	lk->starting = false;
	/* c-ares answered at once (a malformed name): now that it let go, tell the caller. */
	if (!lk->in_ares)
		finish(lk, lk->status, lk->addrs, lk->n);
}

/* Starts queued lookups while there is room; callbacks it runs may queue more. */
static void pump(hw_resolver_t *r)
{
	while (!r->closing && r->qhead != NULL && r->inflight < MAX_INFLIGHT)
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
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	leave(r);
}

static void on_fd(int fd, unsigned events, void *arg)
{
	hw_resolver_t *r = arg;

	enter(r);
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

/* c-ares is done with a lookup. */
static void on_addrinfo(void *arg, int ares_status, int timeouts, struct ares_addrinfo *ai)
{
	struct lookup *lk = arg;
	hw_resolver_t *r = lk->r;
	struct hw_addr *addrs = NULL;
	size_t n = 0;
	int status;

	(void)timeouts;
	if (lk->starting) {
		/* Within ares_getaddrinfo: start() tells the caller once c-ares has returned. */
		lk->in_ares = false;
		r->inflight--;
		r->waiting--;
		lk->status = status_of(ares_status);
		if (lk->status == HW_OK)
			lk->status = collect(ai, lk->family, &lk->addrs, &lk->n);
		ares_freeaddrinfo(ai);
		return;
	}
	if (lk->answered) {
		/* Its deadline has spoken already. */
		ares_freeaddrinfo(ai);
		r->inflight--;
		lookup_free(lk);
		return;
	}
	status = status_of(ares_status);
	if (status == HW_OK)
		status = collect(ai, lk->family, &addrs, &n);
	ares_freeaddrinfo(ai);
	if (r->closing) {
		status = HW_ERR_AGAIN;
		free(addrs);
		addrs = NULL;
		n = 0;
	}
	answer(lk, status, addrs, n);
	lk->in_ares = false;
	r->inflight--;
	free(addrs);
	lookup_free(lk);
}

static void on_deadline(void *arg)
{
	struct lookup *lk = arg;
	hw_resolver_t *r = lk->r;

	lk->timer = 0;
	enter(r);
	answer(lk, HW_ERR_AGAIN, NULL, 0);
	/* Nobody waits for what c-ares still does: stop it rather than let it retransmit. */
	if (r->waiting == 0 && !r->closing)
		ares_cancel(r->ch);
	leave(r);
}

int resolver_lookup(hw_resolver_t *r, const char *name, int family, hw_resolve_cb cb,
		    void *arg)
{
	struct lookup *lk;

	if (r == NULL || r->closing || name == NULL || cb == NULL
	    || (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC))
		return HW_ERR_INVAL;
	/* Started from the loop: at once by the frame we are in, or by a timer due now. */
	if (r->depth == 0 && r->pump_timer == 0) {
		r->pump_timer = loop_timer(r->loop, hw_now_us(), on_pump, r);
		if (r->pump_timer < 0) {
			r->pump_timer = 0;
			return HW_ERR_NOMEM;
		}
	}
	if ((lk = calloc(1, sizeof(*lk))) == NULL || (lk->name = strdup(name)) == NULL) {
		free(lk);
		return HW_ERR_NOMEM;
	}
	lk->r = r;
	lk->cb = cb;
	lk->arg = arg;
	lk->family = family;
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
		finish(r->lookups, HW_ERR_AGAIN, NULL, 0);
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
