/*
 * Annotation of traces: a per-run cache of addresses (name, origins, AS name) and of AS
 * names, filled from local tables at once and from DNS as answers arrive.
 *
 * An address is an `entry`; it is complete when none of its lookups is still out. A
 * trace handed in is a `job` that waits on its incomplete entries (one `waiter` each);
 * when the last one completes, the job copies the entries into the trace's infos and
 * calls back. An entry whose origin is known waits, in turn, on the `asrec` of its first
 * origin for the AS name, so every AS is asked once however many addresses it holds.
 *
 * Everything runs on the caller's loop. Callbacks from the resolver complete entries,
 * entries complete jobs, jobs call the user: nothing here blocks or owns the loop.
 *
 * PTR names and Cymru records live in different zones, often behind different servers
 * (a lame in-addr.arpa delegation says nothing about the AS zone), so each kind has a
 * resolver and a give-up count of its own (struct dns).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/annotate.h>
#include <hopwatch/cymru.h>
#include <hopwatch/resolve.h>
#include <hopwatch/status.h>

#define DEFAULT_TIMEOUT_S 5.0
#define DEFAULT_INFLIGHT 128
#define TABLE_MIN 64

struct job;

struct waiter {
	struct job *job;
	struct waiter *next;
};

struct asrec {
	uint32_t asn;
	uint8_t status;          /* enum hw_lookup */
	bool pending;
	char *name;
	struct entry *waiting;   /* entries waiting for the name, through as_next */
	struct asrec *hnext;
	hw_annotator_t *a;
};

struct entry {
	struct hw_addr addr;
	uint8_t scope;
	uint8_t name_status, asn_status;  /* enum hw_lookup */
	bool name_pending, asn_pending, asname_pending;
	uint8_t n_origins;
	uint32_t origins[HW_ORIGINS_MAX];
	char *name;
	char *as_name;           /* from the local AS-name table */
	struct asrec *as;        /* the DNS AS name of origins[0] */
	struct entry *as_next;
	struct waiter *waiters;
	uint64_t seen;           /* serial of the last job that counted this entry */
	struct entry *hnext;
	hw_annotator_t *a;
};

struct job {
	hw_annotator_t *a;
	struct hw_trace *trace;
	hw_annotate_cb cb;
	void *arg;
	size_t outstanding;      /* entries still incomplete, + 1 while being set up */
	int64_t timer;           /* completes a job that had nothing to wait for */
	struct job *prev, *next;
};

/* One kind of DNS lookup: PTR names, or Cymru origins and AS names. */
struct dns {
	hw_resolver_t *res;      /* NULL: not wanted, or given up */
	unsigned failures;       /* lookups without an answer in a row */
	bool *gave_up;           /* in the annotator's stats */
};

struct hw_annotator {
	hw_loop_t *loop;
	struct hw_annotate_opts opts;
	char *zone;
	struct dns ptr, cymru;
	bool closing;
	struct entry **ebuckets;
	size_t n_ebuckets, n_entries;
	struct asrec **abuckets;
	size_t n_abuckets, n_asrecs;
	struct job *jobs;
	size_t pending;
	uint64_t serial;
	struct hw_annotate_stats stats;
};

/* ---- hashing ---- */

static size_t hash_bytes(const uint8_t *p, size_t n, size_t seed)
{
	uint64_t h = 1469598103934665603ULL ^ seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static size_t hash_addr(const struct hw_addr *addr)
{
	return hash_bytes(addr->a, hw_addr_len(addr), addr->family);
}

static size_t hash_asn(uint32_t asn)
{
	uint8_t b[4] = {(uint8_t)(asn >> 24), (uint8_t)(asn >> 16), (uint8_t)(asn >> 8),
			(uint8_t)asn};
	return hash_bytes(b, sizeof(b), 0);
}

/* Doubles a chained table when it holds more items than buckets. */
static void grow_entries(hw_annotator_t *a)
{
	size_t n = a->n_ebuckets * 2;
	struct entry **v = calloc(n, sizeof(*v));

	if (v == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < a->n_ebuckets; i++) {
		for (struct entry *e = a->ebuckets[i], *next; e != NULL; e = next) {
			next = e->hnext;
			size_t b = hash_addr(&e->addr) & (n - 1);
			e->hnext = v[b];
			v[b] = e;
		}
	}
	free(a->ebuckets);
	a->ebuckets = v;
	a->n_ebuckets = n;
}

static void grow_asrecs(hw_annotator_t *a)
{
	size_t n = a->n_abuckets * 2;
	struct asrec **v = calloc(n, sizeof(*v));

	if (v == NULL)
		return;
	for (size_t i = 0; i < a->n_abuckets; i++) {
		for (struct asrec *r = a->abuckets[i], *next; r != NULL; r = next) {
			next = r->hnext;
			size_t b = hash_asn(r->asn) & (n - 1);
			r->hnext = v[b];
			v[b] = r;
		}
	}
	free(a->abuckets);
	a->abuckets = v;
	a->n_abuckets = n;
}

/* ---- DNS outcomes ---- */

/*
 * The lookup outcome of a resolver status. Only lookups nobody answered (timeouts,
 * refusals) count toward giving that kind of lookup up: a server that answers, even
 * SERVFAIL, is there, and the next question may well be in a zone it serves.
 */
static uint8_t outcome(hw_annotator_t *a, struct dns *d, int status)
{
	if (status == HW_OK || status == HW_ERR_NOHOST) {
		d->failures = 0;
		a->stats.answered++;
		return status == HW_OK ? HW_LOOKUP_OK : HW_LOOKUP_NOTFOUND;
	}
	a->stats.failed++;
	if (status != HW_ERR_AGAIN) {
		if (status == HW_ERR_SERVFAIL || status == HW_ERR_MALFORMED)
			d->failures = 0;
		return HW_LOOKUP_FAILED;
	}
	/* Every lookup the resolver ends while closing reports here too: count only the
	   ones that failed on their own. */
	if (d->res != NULL && ++d->failures >= ANNOTATE_GIVE_UP) {
		hw_resolver_t *res = d->res;
		/* Unanswered lookups come back failed right after the current callback. */
		d->res = NULL;
		*d->gave_up = true;
		resolver_close(res);
	}
	return HW_LOOKUP_FAILED;
}

/* ---- jobs ---- */

static void job_unlink(struct job *job)
{
	hw_annotator_t *a = job->a;

	if (job->prev != NULL)
		job->prev->next = job->next;
	else
		a->jobs = job->next;
	if (job->next != NULL)
		job->next->prev = job->prev;
	a->pending--;
}

/* Copies what the cache knows into one info. */
static int fill_info(struct hw_addr_info *info, const struct entry *e)
{
	const char *as_name = e->as_name;

	info->scope = e->scope;
	info->name_status = e->name_status;
	info->asn_status = e->asn_status;
	info->n_origins = e->n_origins;
	memcpy(info->origins, e->origins, sizeof(info->origins));
	if (as_name == NULL && e->as != NULL && e->as->status == HW_LOOKUP_OK)
		as_name = e->as->name;
	if (e->name != NULL && (info->name = strdup(e->name)) == NULL)
		return HW_ERR_NOMEM;
	if (as_name != NULL && (info->as_name = strdup(as_name)) == NULL)
		return HW_ERR_NOMEM;
	return HW_OK;
}

static struct entry *entry_find(const hw_annotator_t *a, const struct hw_addr *addr)
{
	for (struct entry *e = a->ebuckets[hash_addr(addr) & (a->n_ebuckets - 1)]; e != NULL;
	     e = e->hnext)
		if (hw_addr_eq(&e->addr, addr))
			return e;
	return NULL;
}

static void clear_infos(struct hw_trace *t)
{
	for (size_t i = 0; i < t->n_infos; i++)
		hw_addr_info_release(&t->infos[i]);
	free(t->infos);
	t->infos = NULL;
	t->n_infos = 0;
}

/* Replaces the trace's infos with the cache's knowledge of its reply addresses. */
static int fill_trace(const hw_annotator_t *a, struct hw_trace *t)
{
	clear_infos(t);
	for (size_t i = 0; i < t->n_hops; i++) {
		for (size_t j = 0; j < t->hops[i].n_replies; j++) {
			const struct hw_addr *addr = &t->hops[i].replies[j].addr;
			const struct entry *e = entry_find(a, addr);
			if (e == NULL || trace_info(t, addr) != NULL)
				continue;
			struct hw_addr_info *info = trace_info_add(t, addr);
			if (info == NULL || fill_info(info, e) != HW_OK) {
				clear_infos(t);
				return HW_ERR_NOMEM;
			}
		}
	}
	return HW_OK;
}

static void job_finish(struct job *job)
{
	hw_annotator_t *a = job->a;
	int status;

	if (job->timer != 0)
		loop_timer_cancel(a->loop, job->timer);
	job_unlink(job);
	/* A job whose setup failed (cb NULL) ends without a word. */
	if (job->cb != NULL) {
		status = fill_trace(a, job->trace);
		job->cb(job->arg, job->trace, status);
	}
	free(job);
}

/* One entry the job waited for is complete (or its setup is over). */
static void job_release(struct job *job)
{
	if (--job->outstanding == 0)
		job_finish(job);
}

/* The setup's count is given back from the loop: the callback never runs within
   annotator_trace, even when every entry was complete already. */
static void on_job_timer(void *arg)
{
	struct job *job = arg;

	job->timer = 0;
	job_release(job);
}

/* ---- entries ---- */

static bool entry_complete(const struct entry *e)
{
	return !e->name_pending && !e->asn_pending && !e->asname_pending;
}

/* Tells the entry's jobs when it is complete. */
static void entry_check(struct entry *e)
{
	if (!entry_complete(e))
		return;
	struct waiter *w = e->waiters;
	e->waiters = NULL;
	while (w != NULL) {
		struct waiter *next = w->next;
		struct job *job = w->job;
		free(w);
		job_release(job);
		w = next;
	}
}

static void on_asname(void *arg, int status, const struct hw_txt *recs, size_t n)
{
	struct asrec *r = arg;
	hw_annotator_t *a = r->a;
	char name[CYMRU_ASNAME_LEN];

	r->pending = false;
	r->status = outcome(a, &a->cymru, status);
	if (r->status == HW_LOOKUP_OK) {
		r->status = HW_LOOKUP_NOTFOUND;
		for (size_t i = 0; i < n; i++) {
			if (cymru_parse_asname(recs[i].text, recs[i].len, r->asn, name,
					       sizeof(name)) == HW_OK) {
				r->name = strdup(name);
				r->status = r->name != NULL ? HW_LOOKUP_OK : HW_LOOKUP_FAILED;
				break;
			}
		}
	}
	struct entry *e = r->waiting;
	r->waiting = NULL;
	while (e != NULL) {
		struct entry *next = e->as_next;
		e->as_next = NULL;
		e->asname_pending = false;
		entry_check(e);
		e = next;
	}
}

/* The AS-name record of asn, asked over DNS when new; NULL on ENOMEM. */
static struct asrec *asrec_get(hw_annotator_t *a, uint32_t asn)
{
	char qname[CYMRU_QNAME_LEN];
	size_t b = hash_asn(asn) & (a->n_abuckets - 1);

	for (struct asrec *r = a->abuckets[b]; r != NULL; r = r->hnext)
		if (r->asn == asn)
			return r;
	struct asrec *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->a = a;
	r->asn = asn;
	r->hnext = a->abuckets[b];
	a->abuckets[b] = r;
	if (++a->n_asrecs > a->n_abuckets)
		grow_asrecs(a);
	if (a->cymru.res == NULL) {
		r->status = HW_LOOKUP_FAILED; /* DNS given up */
		return r;
	}
	if (cymru_asname_qname(asn, a->zone, qname, sizeof(qname)) != HW_OK
	    || resolver_txt(a->cymru.res, qname, on_asname, r) != HW_OK) {
		r->status = HW_LOOKUP_FAILED;
		return r;
	}
	a->stats.asname_queries++;
	r->pending = true;
	return r;
}

/* The origin is known: finds the name of its AS. */
static void entry_asname(hw_annotator_t *a, struct entry *e)
{
	const char *local = NULL;

	if (e->n_origins == 0)
		return;
	if (a->opts.as_names != NULL)
		local = as_names_get(a->opts.as_names, e->origins[0]);
	if (local != NULL) {
		/* A table file may hold any bytes: output wants printable UTF-8. */
		char clean[CYMRU_ASNAME_LEN];
		hw_text_clean((const unsigned char *)local, strlen(local), clean, sizeof(clean));
		e->as_name = strdup(clean);
		return;
	}
	if (!a->opts.asn_dns)
		return;
	if ((e->as = asrec_get(a, e->origins[0])) == NULL || !e->as->pending)
		return;
	e->asname_pending = true;
	e->as_next = e->as->waiting;
	e->as->waiting = e;
}

static void on_ptr(void *arg, int status, const char *name)
{
	struct entry *e = arg;
	char clean[256];

	e->name_pending = false;
	e->name_status = outcome(e->a, &e->a->ptr, status);
	if (e->name_status == HW_LOOKUP_OK) {
		hw_text_clean((const unsigned char *)name, strlen(name), clean, sizeof(clean));
		if ((e->name = strdup(clean)) == NULL)
			e->name_status = HW_LOOKUP_FAILED;
	}
	entry_check(e);
}

static void on_origin(void *arg, int status, const struct hw_txt *recs, size_t n)
{
	struct entry *e = arg;
	hw_annotator_t *a = e->a;
	struct hw_cymru_origin o;

	e->asn_pending = false;
	e->asn_status = outcome(a, &a->cymru, status);
	if (e->asn_status == HW_LOOKUP_OK) {
		const unsigned char *texts[16];
		size_t lens[16], k = n < 16 ? n : 16;
		for (size_t i = 0; i < k; i++) {
			texts[i] = recs[i].text;
			lens[i] = recs[i].len;
		}
		/* An answer that names no usable origin says nothing: as good as none. */
		if (cymru_pick_origin(texts, lens, k, &e->addr, &o) != HW_OK) {
			e->asn_status = HW_LOOKUP_NOTFOUND;
		} else {
			e->n_origins = (uint8_t)o.n_origins;
			memcpy(e->origins, o.origins, sizeof(e->origins));
			entry_asname(a, e);
		}
	}
	entry_check(e);
}

/* Scopes the Cymru zone can know about: public space, and the ranges labs use. */
static bool cymru_scope(uint8_t scope)
{
	return scope == HW_SCOPE_PUBLIC || scope == HW_SCOPE_DOCUMENTATION
	       || scope == HW_SCOPE_BENCHMARK;
}

static void entry_lookup_origin(hw_annotator_t *a, struct entry *e)
{
	char qname[CYMRU_QNAME_LEN];

	if (a->opts.asn_table != NULL) {
		unsigned n = asn_table_lookup(a->opts.asn_table, &e->addr, e->origins, NULL);
		if (n > 0) {
			e->n_origins = (uint8_t)(n < HW_ORIGINS_MAX ? n : HW_ORIGINS_MAX);
			e->asn_status = HW_LOOKUP_OK;
			entry_asname(a, e);
			return;
		}
		e->asn_status = HW_LOOKUP_NOTFOUND;
	}
	if (!a->opts.asn_dns || !cymru_scope(e->scope))
		return;
	if (a->cymru.res == NULL) {
		e->asn_status = HW_LOOKUP_FAILED;
		return;
	}
	if (cymru_origin_qname(&e->addr, a->zone, qname, sizeof(qname)) != HW_OK
	    || resolver_txt(a->cymru.res, qname, on_origin, e) != HW_OK) {
		e->asn_status = HW_LOOKUP_FAILED;
		return;
	}
	a->stats.origin_queries++;
	e->asn_pending = true;
}

static void entry_lookup_name(hw_annotator_t *a, struct entry *e)
{
	if (!a->opts.names)
		return;
	if (a->ptr.res == NULL || resolver_reverse(a->ptr.res, &e->addr, on_ptr, e) != HW_OK) {
		e->name_status = HW_LOOKUP_FAILED;
		return;
	}
	a->stats.ptr_queries++;
	e->name_pending = true;
}

/* The cache entry of an address, created (and its lookups started) when new. */
static struct entry *entry_get(hw_annotator_t *a, const struct hw_addr *addr, bool *cached)
{
	struct entry *e = entry_find(a, addr);

	*cached = e != NULL;
	if (e != NULL)
		return e;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->a = a;
	e->addr = *addr;
	e->scope = (uint8_t)hw_addr_scope(addr);
	size_t b = hash_addr(addr) & (a->n_ebuckets - 1);
	e->hnext = a->ebuckets[b];
	a->ebuckets[b] = e;
	a->stats.addresses++;
	if (++a->n_entries > a->n_ebuckets)
		grow_entries(a);
	entry_lookup_name(a, e);
	entry_lookup_origin(a, e);
	return e;
}

/* Makes the job wait for e when e is incomplete. */
static int job_wait(struct job *job, struct entry *e)
{
	if (entry_complete(e))
		return HW_OK;
	struct waiter *w = malloc(sizeof(*w));
	if (w == NULL)
		return HW_ERR_NOMEM;
	w->job = job;
	w->next = e->waiters;
	e->waiters = w;
	job->outstanding++;
	return HW_OK;
}

int annotator_trace(hw_annotator_t *a, struct hw_trace *trace, hw_annotate_cb cb, void *arg)
{
	struct job *job;
	int rc = HW_OK;

	if (a == NULL || a->closing || trace == NULL || cb == NULL)
		return HW_ERR_INVAL;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return HW_ERR_NOMEM;
	*job = (struct job){a, trace, cb, arg, 1, 0, NULL, a->jobs};
	if (a->jobs != NULL)
		a->jobs->prev = job;
	a->jobs = job;
	a->pending++;
	uint64_t serial = ++a->serial;
	for (size_t i = 0; i < trace->n_hops && rc == HW_OK; i++) {
		for (size_t j = 0; j < trace->hops[i].n_replies && rc == HW_OK; j++) {
			const struct hw_addr *addr = &trace->hops[i].replies[j].addr;
			bool cached;
			if (hw_addr_is_unset(addr))
				continue;
			struct entry *e = entry_get(a, addr, &cached);
			if (e == NULL) {
				rc = HW_ERR_NOMEM;
				break;
			}
			if (e->seen == serial)
				continue;
			e->seen = serial;
			a->stats.cache_hits += cached;
			rc = job_wait(job, e);
		}
	}
	if (rc == HW_OK && (job->timer = loop_timer(a->loop, hw_now_us(), on_job_timer, job)) < 0) {
		job->timer = 0;
		rc = HW_ERR_NOMEM;
	}
	if (rc != HW_OK) {
		/* Entries it waits on keep their waiter: the job lives on, quietly, until they
		   complete; only its callback is dropped. */
		job->cb = NULL;
		job_release(job);
	}
	return rc;
}

size_t annotator_pending(const hw_annotator_t *a)
{
	return a != NULL ? a->pending : 0;
}

void annotator_stats(const hw_annotator_t *a, struct hw_annotate_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (a != NULL)
		*out = a->stats;
}

void annotate_opts_default(struct hw_annotate_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dns_timeout = DEFAULT_TIMEOUT_S;
	o->names = true;
	o->asn_dns = true;
	o->asn_zone = CYMRU_ZONE;
	o->max_inflight = DEFAULT_INFLIGHT;
}

/* A resolver of its own for one kind of lookup. */
static int dns_open(struct dns *d, hw_loop_t *loop, const struct hw_annotate_opts *opts)
{
	int rc;

	if ((d->res = resolver_open(loop, opts->dns_server, opts->dns_timeout, &rc)) == NULL)
		return rc;
	return resolver_set_inflight(d->res, opts->max_inflight ? opts->max_inflight
								 : DEFAULT_INFLIGHT);
}

hw_annotator_t *annotator_open(hw_loop_t *loop, const struct hw_annotate_opts *opts,
			       int *status)
{
	int dummy, rc;
	hw_annotator_t *a;
	const char *zone = opts != NULL && opts->asn_zone != NULL ? opts->asn_zone : CYMRU_ZONE;

	status = status != NULL ? status : &dummy;
	*status = HW_ERR_INVAL;
	if (loop == NULL || opts == NULL || !cymru_zone_ok(zone)
	    || opts->max_inflight > RESOLVER_INFLIGHT_MAX)
		return NULL;
	*status = HW_ERR_NOMEM;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->loop = loop;
	a->opts = *opts;
	a->n_ebuckets = a->n_abuckets = TABLE_MIN;
	a->zone = strdup(zone);
	a->ebuckets = calloc(a->n_ebuckets, sizeof(*a->ebuckets));
	a->abuckets = calloc(a->n_abuckets, sizeof(*a->abuckets));
	if (a->zone == NULL || a->ebuckets == NULL || a->abuckets == NULL)
		return annotator_close(a);
	a->opts.asn_zone = a->zone;
	a->opts.dns_server = NULL; /* borrowed only while opening */
	a->ptr.gave_up = &a->stats.gave_up_ptr;
	a->cymru.gave_up = &a->stats.gave_up_asn;
	if ((opts->names && (rc = dns_open(&a->ptr, loop, opts)) != HW_OK)
	    || (opts->asn_dns && (rc = dns_open(&a->cymru, loop, opts)) != HW_OK)) {
		*status = rc;
		return annotator_close(a);
	}
	*status = HW_OK;
	return a;
}

static void free_entries(hw_annotator_t *a)
{
	for (size_t i = 0; a->ebuckets != NULL && i < a->n_ebuckets; i++) {
		for (struct entry *e = a->ebuckets[i], *next; e != NULL; e = next) {
			next = e->hnext;
			for (struct waiter *w = e->waiters, *wn; w != NULL; w = wn) {
				wn = w->next;
				free(w);
			}
			free(e->name);
			free(e->as_name);
			free(e);
		}
	}
	free(a->ebuckets);
	for (size_t i = 0; a->abuckets != NULL && i < a->n_abuckets; i++) {
		for (struct asrec *r = a->abuckets[i], *next; r != NULL; r = next) {
			next = r->hnext;
			free(r->name);
			free(r);
		}
	}
	free(a->abuckets);
}

hw_annotator_t *annotator_close(hw_annotator_t *a)
{
	if (a == NULL)
		return NULL;
	a->closing = true;
	/* Unanswered lookups come back failed, completing their entries and jobs. */
	hw_resolver_t *ptr = a->ptr.res, *cymru = a->cymru.res;
	a->ptr.res = a->cymru.res = NULL;
	resolver_close(ptr);
	resolver_close(cymru);
	/* Every entry is complete now: what is left waits only for its timer. */
	while (a->jobs != NULL)
		job_finish(a->jobs);
	free_entries(a);
	free(a->zone);
	free(a);
	return NULL;
}
