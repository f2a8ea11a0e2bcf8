/*
 * Path diff of two runs. Traces are paired by destination and flow, each pair is
 * compared TTL by TTL over the interface sets of its hops (load balancing and silent
 * hops taken into account), a target that stopped reaching its destination gets its
 * break located, and the results are grouped per network. Pure: no I/O, no clocks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/aspath.h>
#include <hopwatch/diff.h>
#include <hopwatch/status.h>

#include "grow.h"

/* ---- a trace as interface sets per TTL ---- */

/* The distinct interfaces of each TTL of a trace, sorted; what every comparison reads. */
struct path {
	const struct hw_trace *t;
	uint8_t first_ttl;
	size_t n;                 /* TTLs first_ttl .. first_ttl + n - 1 */
	size_t *off;              /* n + 1 offsets into addrs */
	struct hw_addr *addrs;
	bool reached;             /* the destination answered */
	bool multipath;
	uint8_t last_ttl;         /* deepest TTL that answered, 0 = none */
};

static void path_release(struct path *p)
{
	free(p->off);
	free(p->addrs);
	memset(p, 0, sizeof(*p));
}

/* Inserts a into the sorted set v[0..*n) unless it is there. */
static void set_insert(struct hw_addr *v, size_t *n, const struct hw_addr *a)
{
	size_t lo = 0, hi = *n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = hw_addr_cmp(&v[mid], a);
		if (c == 0)
			return;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&v[lo + 1], &v[lo], (*n - lo) * sizeof(*v));
	v[lo] = *a;
	(*n)++;
}

static bool set_has(const struct hw_addr *v, size_t n, const struct hw_addr *a)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = hw_addr_cmp(&v[mid], a);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Every element of a is in b (both sorted). */
static bool set_subset(const struct hw_addr *a, size_t na, const struct hw_addr *b, size_t nb)
{
	size_t j = 0;
	for (size_t i = 0; i < na; i++) {
		while (j < nb && hw_addr_cmp(&b[j], &a[i]) < 0)
			j++;
		if (j == nb || hw_addr_cmp(&b[j], &a[i]) != 0)
			return false;
	}
	return true;
}

static bool set_meets(const struct hw_addr *a, size_t na, const struct hw_addr *b, size_t nb)
{
	size_t i = 0, j = 0;
	while (i < na && j < nb) {
		int c = hw_addr_cmp(&a[i], &b[j]);
		if (c == 0)
			return true;
		if (c < 0)
			i++;
		else
			j++;
	}
	return false;
}

/* The interfaces of a TTL (n 0 when silent or outside the trace). */
static const struct hw_addr *path_at(const struct path *p, unsigned ttl, size_t *n)
{
	*n = 0;
	if (ttl < p->first_ttl || ttl - p->first_ttl >= p->n)
		return NULL;
	size_t i = ttl - p->first_ttl;
	*n = p->off[i + 1] - p->off[i];
	return &p->addrs[p->off[i]];
}

static int path_build(struct path *p, const struct hw_trace *t)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->first_ttl = t->first_ttl;
	p->n = t->n_hops;
	p->multipath = t->multipath != HW_MULTIPATH_NONE;
	size_t total = 0;
	for (size_t i = 0; i < t->n_hops; i++)
		total += t->hops[i].n_replies;
	if (p->multipath)
		total += 2 * t->n_links;
	p->off = calloc(p->n + 1, sizeof(*p->off));
	p->addrs = malloc((total ? total : 1) * sizeof(*p->addrs));
	if (p->off == NULL || p->addrs == NULL) {
		path_release(p);
		return HW_ERR_NOMEM;
	}
	/* Links of a multipath trace are ordered by TTL: walk them alongside the hops. */
	size_t li = 0, lj = 0, used = 0;
	for (size_t i = 0; i < t->n_hops; i++) {
		const struct hw_hop *hop = &t->hops[i];
		struct hw_addr *set = &p->addrs[used];
		size_t n = 0;
		p->off[i] = used;
		for (size_t k = 0; k < hop->n_replies; k++) {
			if (hw_addr_is_unset(&hop->replies[k].addr))
				continue;
			set_insert(set, &n, &hop->replies[k].addr);
			if (hw_addr_eq(&hop->replies[k].addr, &t->dst))
				p->reached = true;
		}
		if (p->multipath) {
			for (; li < t->n_links && t->links[li].ttl < hop->ttl; li++)
				;
			for (size_t k = li; k < t->n_links && t->links[k].ttl == hop->ttl; k++)
				if (!hw_addr_is_unset(&t->links[k].from))
					set_insert(set, &n, &t->links[k].from);
			for (; lj < t->n_links && t->links[lj].ttl + 1 < hop->ttl; lj++)
				;
			for (size_t k = lj; k < t->n_links && t->links[k].ttl + 1 == hop->ttl; k++)
				if (!hw_addr_is_unset(&t->links[k].to))
					set_insert(set, &n, &t->links[k].to);
		}
		used += n;
		if (n > 0)
			p->last_ttl = hop->ttl;
	}
	p->off[p->n] = used;
	if (t->stop_reason == HW_STOP_COMPLETED)
		p->reached = true;
	return HW_OK;
}

/* ---- comparing two paths ---- */

static bool per_packet_at(const struct hw_trace *t, unsigned ttl)
{
	return ttl >= t->first_ttl && ttl - t->first_ttl < t->n_hops &&
	       t->hops[ttl - t->first_ttl].per_packet;
}

/* Doubletree did not probe this TTL (run.h): there is nothing to compare there. */
static bool skipped_at(const struct hw_trace *t, unsigned ttl)
{
	return ttl >= t->first_ttl && ttl - t->first_ttl < t->n_hops &&
	       t->hops[ttl - t->first_ttl].skipped;
}

/*
 * Whether a TTL where both runs answered shows another path. One flow against one flow:
 * any other interface, unless a per-packet balancer shows several (then they must share
 * one). With multipath data on one side, the other side's interfaces must be among its
 * balanced branches; on both sides, the two sets must share an interface (MDA may find
 * different subsets of the same branches).
 */
static bool hop_changed(const struct path *o, const struct path *n, unsigned ttl,
			const struct hw_addr *ov, size_t on, const struct hw_addr *nv, size_t nn)
{
	if (o->multipath && n->multipath)
		return !set_meets(ov, on, nv, nn);
	if (o->multipath)
		return !set_subset(nv, nn, ov, on);
	if (n->multipath)
		return !set_subset(ov, on, nv, nn);
	if (on == nn && set_subset(ov, on, nv, nn))
		return false;
	bool per_packet = on > 1 || nn > 1 || per_packet_at(o->t, ttl) || per_packet_at(n->t, ttl);
	return per_packet ? !set_meets(ov, on, nv, nn) : true;
}

static int add_change(struct hw_diff_target *d, unsigned ttl, const struct hw_addr *ov, size_t on,
		      const struct hw_addr *nv, size_t nn)
{
	void *v = realloc(d->changes, (d->n_changes + 1) * sizeof(*d->changes));
	if (v == NULL)
		return HW_ERR_NOMEM;
	d->changes = v;
	struct hw_diff_change *c = &d->changes[d->n_changes];
	c->ttl = (uint8_t)ttl;
	c->n_old = (uint16_t)on;
	c->n_new = (uint16_t)nn;
	c->addrs = malloc((on + nn ? on + nn : 1) * sizeof(*c->addrs));
	if (c->addrs == NULL)
		return HW_ERR_NOMEM;
	if (on)
		memcpy(c->addrs, ov, on * sizeof(*ov));
	if (nn)
		memcpy(c->addrs + on, nv, nn * sizeof(*nv));
	d->n_changes++;
	return HW_OK;
}

/* Extends the last silence when it is of the same run and ends just before ttl. */
static int add_silence(struct hw_diff_target *d, unsigned ttl, bool in_new)
{
	if (d->n_silences > 0) {
		struct hw_diff_silence *s = &d->silences[d->n_silences - 1];
		if (s->in_new == in_new && s->last_ttl + 1u == ttl) {
			s->last_ttl = (uint8_t)ttl;
			return HW_OK;
		}
	}
	void *v = realloc(d->silences, (d->n_silences + 1) * sizeof(*d->silences));
	if (v == NULL)
		return HW_ERR_NOMEM;
	d->silences = v;
	d->silences[d->n_silences++] = (struct hw_diff_silence){(uint8_t)ttl, (uint8_t)ttl, in_new};
	return HW_OK;
}

/*
 * Walks the TTLs both paths cover. A TTL silent in one run while that run's path goes on
 * is a silence; past the end of one path it is a change only when both runs end alike
 * (both reach, or neither): otherwise the status and the break already say it. A TTL
 * skipped in either run (--doubletree: not probed, the path there known from the run's
 * other traces) is passed over like one silent in both: no change, no silence.
 */
static int compare_hops(struct hw_diff_target *d, const struct path *o, const struct path *n)
{
	unsigned lo = o->first_ttl < n->first_ttl ? o->first_ttl : n->first_ttl;
	unsigned hi = o->last_ttl > n->last_ttl ? o->last_ttl : n->last_ttl;
	bool ends_alike = o->reached == n->reached;
	for (unsigned ttl = lo; ttl <= hi; ttl++) {
		size_t on, nn;
		const struct hw_addr *ov = path_at(o, ttl, &on), *nv = path_at(n, ttl, &nn);
		int rc = HW_OK;
		if ((on == 0 && nn == 0) || skipped_at(o->t, ttl) || skipped_at(n->t, ttl))
			continue;
		if (on > 0 && nn > 0) {
			if (hop_changed(o, n, ttl, ov, on, nv, nn))
				rc = add_change(d, ttl, ov, on, nv, nn);
		} else if (nn == 0) {
			if (n->last_ttl > ttl)
				rc = add_silence(d, ttl, true);
			else if (ends_alike)
				rc = add_change(d, ttl, ov, on, NULL, 0);
		} else {
			if (o->last_ttl > ttl)
				rc = add_silence(d, ttl, false);
			else if (ends_alike)
				rc = add_change(d, ttl, NULL, 0, nv, nn);
		}
		if (rc != HW_OK)
			return rc;
	}
	return HW_OK;
}

/* ---- AS data ---- */

static bool has_as_data(const struct hw_trace *t)
{
	for (size_t i = 0; t != NULL && i < t->n_infos; i++)
		if (t->infos[i].n_origins > 0)
			return true;
	return false;
}

/* The known ASes of a trace's AS path in order, gaps dropped and repeats merged. */
static int as_list(const struct hw_trace *t, uint32_t **out, size_t *n)
{
	struct hw_as_segment *segs;
	size_t ns;
	*out = NULL;
	*n = 0;
	int rc = trace_as_path(t, &segs, &ns);
	if (rc != HW_OK)
		return rc;
	uint32_t *v = malloc((ns ? ns : 1) * sizeof(*v));
	if (v == NULL) {
		free(segs);
		return HW_ERR_NOMEM;
	}
	size_t len = 0;
	for (size_t i = 0; i < ns; i++)
		if (segs[i].asn != 0 && (len == 0 || v[len - 1] != segs[i].asn))
			v[len++] = segs[i].asn;
	free(segs);
	*out = v;
	*n = len;
	return HW_OK;
}

static int compare_as(struct hw_diff_target *d)
{
	if (!has_as_data(d->old) && !has_as_data(d->new))
		return HW_OK;
	int rc = as_list(d->old, &d->as_old, &d->n_as_old);
	if (rc == HW_OK)
		rc = as_list(d->new, &d->as_new, &d->n_as_new);
	if (rc != HW_OK)
		return rc;
	d->has_as = d->n_as_old > 0 || d->n_as_new > 0;
	d->as_changed = d->n_as_old != d->n_as_new ||
			(d->n_as_old > 0 &&
			 memcmp(d->as_old, d->as_new, d->n_as_old * sizeof(*d->as_old)) != 0);
	return HW_OK;
}

/* Fills a named hop from the annotation of either trace (the newer one first). */
static void describe(struct hw_diff_hop *h, unsigned ttl, const struct hw_addr *addr,
		     const struct hw_trace *first, const struct hw_trace *second)
{
	memset(h, 0, sizeof(*h));
	h->ttl = (uint8_t)ttl;
	h->addr = *addr;
	const struct hw_addr_info *a = first ? trace_info(first, addr) : NULL;
	const struct hw_addr_info *b = second ? trace_info(second, addr) : NULL;
	h->asn = a && a->n_origins ? a->origins[0] : b && b->n_origins ? b->origins[0] : 0;
	h->name = a && a->name ? a->name : b ? b->name : NULL;
	h->as_name = a && a->n_origins && a->as_name ? a->as_name
		     : b && b->n_origins ? b->as_name : NULL;
}

/*
 * The nearest known AS along a trace's AS path at ttl, looking back (dir < 0) or on
 * (dir > 0) past gaps; 0 when there is none.
 */
static uint32_t nearest_asn(const struct hw_as_segment *segs, size_t n, unsigned ttl, int dir)
{
	size_t at = n;
	for (size_t i = 0; i < n; i++)
		if (segs[i].first_ttl <= ttl && ttl <= segs[i].last_ttl) {
			at = i;
			break;
		}
	if (at == n)
		return 0;
	for (size_t i = at; i < n; i = dir < 0 ? i - 1 : i + 1) {
		if (segs[i].asn != 0)
			return segs[i].asn;
		if (dir < 0 && i == 0)
			break;
	}
	return 0;
}

static bool is_transit(const struct hw_diff_opts *opts, uint32_t asn)
{
	for (size_t i = 0; asn != 0 && i < opts->n_transit; i++)
		if (opts->transit[i] == asn)
			return true;
	return false;
}

/* Where a break falls from the ASes on either side, and which AS of interest is there. */
static void classify(struct hw_diff_break *b, const struct hw_diff_opts *opts)
{
	if (b->from_asn == 0 || b->to_asn == 0)
		b->where = HW_DIFF_WHERE_UNKNOWN;
	else
		b->where = b->from_asn == b->to_asn ? HW_DIFF_WHERE_INSIDE : HW_DIFF_WHERE_BORDER;
	b->transit_asn = is_transit(opts, b->from_asn) ? b->from_asn
			 : is_transit(opts, b->to_asn)  ? b->to_asn
							: 0;
}

/* The ASes on either side of a break, along the old path (annotation of the hops as a
 * fallback when the old trace has none). */
static int break_ases(struct hw_diff_break *b, const struct hw_trace *old)
{
	struct hw_as_segment *segs;
	size_t ns;
	int rc = trace_as_path(old, &segs, &ns);
	if (rc != HW_OK)
		return rc;
	b->from_asn = b->last_reached.ttl ? nearest_asn(segs, ns, b->old_ttl, -1) : 0;
	b->to_asn = b->first_lost.ttl ? nearest_asn(segs, ns, b->first_lost.ttl, +1) : 0;
	free(segs);
	if (b->from_asn == 0)
		b->from_asn = b->last_reached.asn;
	if (b->to_asn == 0)
		b->to_asn = b->first_lost.asn;
	return HW_OK;
}

/* The TTL at which the old path has addr (0 = not on it). */
static unsigned path_ttl_of(const struct path *p, const struct hw_addr *addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (set_has(&p->addrs[p->off[i]], p->off[i + 1] - p->off[i], addr))
			return p->first_ttl + (unsigned)i;
	return 0;
}

static bool path_has(const struct path *p, const struct hw_addr *addr)
{
	return path_ttl_of(p, addr) != 0;
}

/*
 * Locates the break of a target the new run no longer brings to its destination: the
 * hops of the new run that lie on the old path (shared), the deepest of them
 * (last_reached), and the old path's next answering hop after it (first_lost).
 */
static int locate_break(struct hw_diff_target *d, const struct path *o, const struct path *n,
			const struct hw_diff_opts *opts)
{
	struct hw_diff_break *b = &d->brk;
	memset(b, 0, sizeof(*b));
	d->shared = malloc((n->n ? n->n : 1) * sizeof(*d->shared));
	if (d->shared == NULL)
		return HW_ERR_NOMEM;
	for (size_t i = 0; i < n->n; i++) {
		unsigned ttl = n->first_ttl + (unsigned)i;
		size_t nn;
		const struct hw_addr *nv = path_at(n, ttl, &nn);
		for (size_t k = 0; k < nn; k++) {
			unsigned at = path_ttl_of(o, &nv[k]);
			if (at == 0)
				continue;
			describe(&d->shared[d->n_shared++], ttl, &nv[k], d->new, d->old);
			b->old_ttl = (uint8_t)at;
			break;
		}
	}
	if (d->n_shared > 0)
		b->last_reached = d->shared[d->n_shared - 1];
	/* The old path's next hop that answered: the first one now lost. */
	for (unsigned ttl = b->last_reached.ttl ? b->old_ttl + 1u : o->first_ttl;
	     ttl <= o->last_ttl && ttl != 0; ttl++) {
		size_t on;
		const struct hw_addr *ov = path_at(o, ttl, &on);
		if (on == 0)
			continue;
		size_t pick = 0;
		for (size_t k = 0; k < on; k++)
			if (!path_has(n, &ov[k])) {
				pick = k;
				break;
			}
		describe(&b->first_lost, ttl, &ov[pick], d->old, d->new);
		break;
	}
	int rc = break_ases(b, d->old);
	if (rc != HW_OK)
		return rc;
	classify(b, opts);
	d->has_break = true;
	return HW_OK;
}

/* ---- pairing traces ---- */

static int key_cmp(const struct hw_trace *x, const struct hw_trace *y)
{
	int c = hw_addr_cmp(&x->dst, &y->dst);
	if (c != 0)
		return c;
	if (x->method != y->method)
		return (int)x->method - (int)y->method;
	if (x->dport != y->dport)
		return (int)x->dport - (int)y->dport;
	return (int)x->flow_id - (int)y->flow_id;
}

static int by_key(const void *a, const void *b)
{
	const struct hw_trace *x = *(const struct hw_trace *const *)a;
	const struct hw_trace *y = *(const struct hw_trace *const *)b;
	return key_cmp(x, y);
}

static bool same_flow(const struct hw_trace *x, const struct hw_trace *y)
{
	return x->method == y->method && x->dport == y->dport && x->flow_id == y->flow_id;
}

/* A multipath trace covers many flows: any one-flow trace of its method and port. */
static bool comparable(const struct hw_trace *x, const struct hw_trace *y)
{
	return x->method == y->method && x->dport == y->dport &&
	       (x->flow_id == y->flow_id || x->multipath != HW_MULTIPATH_NONE ||
		y->multipath != HW_MULTIPATH_NONE);
}

struct builder {
	struct hw_diff *d;
	size_t cap;
	const struct hw_diff_opts *opts;
	bool *ou, *nu;            /* scratch of pair_group: which traces are paired */
};

static struct hw_diff_target *new_target(struct builder *b, const struct hw_trace *old,
					 const struct hw_trace *new)
{
	void *v = b->d->targets;
	if (grow_for_one(&v, b->d->n_targets, &b->cap, sizeof(*b->d->targets), 64) != HW_OK)
		return NULL;
	b->d->targets = v;
	struct hw_diff_target *t = &b->d->targets[b->d->n_targets++];
	memset(t, 0, sizeof(*t));
	t->old = old;
	t->new = new;
	const struct hw_trace *any = new ? new : old;
	t->dst = any->dst;
	t->target = new && new->target ? new->target : old ? old->target : NULL;
	t->network = new && new->network ? new->network : old ? old->network : NULL;
	return t;
}

static void one_side(struct hw_diff_target *t, const struct path *p, bool is_new)
{
	if (is_new) {
		t->new_reached = p->reached;
		t->new_last_ttl = p->last_ttl;
	} else {
		t->old_reached = p->reached;
		t->old_last_ttl = p->last_ttl;
	}
	t->multipath |= p->multipath;
}

/* A trace present in one run only, or two that cannot be compared. */
static int add_unpaired(struct builder *b, const struct hw_trace *old, const struct hw_trace *new)
{
	struct hw_diff_target *t = new_target(b, old, new);
	if (t == NULL)
		return HW_ERR_NOMEM;
	t->status = old && new ? HW_DIFF_NOT_COMPARABLE : old ? HW_DIFF_ONLY_OLD : HW_DIFF_ONLY_NEW;
	struct path p;
	for (int side = 0; side < 2; side++) {
		const struct hw_trace *tr = side ? new : old;
		if (tr == NULL)
			continue;
		if (path_build(&p, tr) != HW_OK)
			return HW_ERR_NOMEM;
		one_side(t, &p, side);
		path_release(&p);
	}
	return HW_OK;
}

static int add_pair(struct builder *b, const struct hw_trace *old, const struct hw_trace *new)
{
	struct hw_diff_target *t = new_target(b, old, new);
	if (t == NULL)
		return HW_ERR_NOMEM;
	struct path o, n;
	if (path_build(&o, old) != HW_OK)
		return HW_ERR_NOMEM;
	if (path_build(&n, new) != HW_OK) {
		path_release(&o);
		return HW_ERR_NOMEM;
	}
	one_side(t, &o, false);
	one_side(t, &n, true);
	int rc = compare_hops(t, &o, &n);
	if (o.reached && n.reached)
		t->status = t->n_changes ? HW_DIFF_CHANGED : HW_DIFF_UNCHANGED;
	else if (o.reached)
		t->status = HW_DIFF_BROKEN;
	else if (n.reached)
		t->status = HW_DIFF_RECOVERED;
	else
		t->status = HW_DIFF_STILL_UNREACHABLE;
	if (rc == HW_OK && t->status == HW_DIFF_BROKEN)
		rc = locate_break(t, &o, &n, b->opts);
	if (rc == HW_OK && t->status != HW_DIFF_UNCHANGED)
		rc = compare_as(t);
	path_release(&o);
	path_release(&n);
	return rc;
}

/* Pairs the traces of one destination: same flow first, then a multipath trace with a
 * one-flow one; what is left over cannot be compared, or is in one run only. */
static int pair_group(struct builder *b, const struct hw_trace *const *ov, size_t on,
		      const struct hw_trace *const *nv, size_t nn)
{
	bool *ou = b->ou, *nu = b->nu;
	memset(ou, 0, on * sizeof(*ou));
	memset(nu, 0, nn * sizeof(*nu));
	int rc = HW_OK;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < on; i++)
			for (size_t j = 0; j < nn && !ou[i]; j++) {
				if (nu[j] || !(pass == 0 ? same_flow(ov[i], nv[j])
							 : comparable(ov[i], nv[j])))
					continue;
				ou[i] = nu[j] = true;
				if ((rc = add_pair(b, ov[i], nv[j])) != HW_OK)
					return rc;
			}
	size_t j = 0;
	for (size_t i = 0; i < on; i++) {
		if (ou[i])
			continue;
		while (j < nn && nu[j])
			j++;
		const struct hw_trace *other = j < nn ? nv[j] : NULL;
		if (other != NULL)
			nu[j] = true;
		if ((rc = add_unpaired(b, ov[i], other)) != HW_OK)
			return rc;
	}
	for (j = 0; j < nn; j++)
		if (!nu[j] && (rc = add_unpaired(b, NULL, nv[j])) != HW_OK)
			return rc;
	return HW_OK;
}

static struct hw_trace **sorted_traces(const struct hw_run *run)
{
	struct hw_trace **v = malloc((run->n_traces ? run->n_traces : 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	if (run->n_traces > 0)
		memcpy(v, run->traces, run->n_traces * sizeof(*v));
	qsort(v, run->n_traces, sizeof(*v), by_key);
	return v;
}

static int pair_all(struct builder *b, struct hw_trace **ov, size_t on, struct hw_trace **nv,
		    size_t nn)
{
	size_t i = 0, j = 0;
	while (i < on || j < nn) {
		int c = i == on ? 1 : j == nn ? -1 : hw_addr_cmp(&ov[i]->dst, &nv[j]->dst);
		size_t i1 = i, j1 = j;
		if (c <= 0)
			while (i1 < on && hw_addr_eq(&ov[i1]->dst, &ov[i]->dst))
				i1++;
		if (c >= 0)
			while (j1 < nn && hw_addr_eq(&nv[j1]->dst, &nv[j]->dst))
				j1++;
		int rc = pair_group(b, (const struct hw_trace *const *)ov + i, i1 - i,
				    (const struct hw_trace *const *)nv + j, j1 - j);
		if (rc != HW_OK)
			return rc;
		i = i1;
		j = j1;
	}
	return HW_OK;
}

/* ---- groups ---- */

struct membership {
	const char *name;
	enum hw_diff_group_kind kind;
	bool is_prefix;           /* name parsed as addr/len (ordered by address then) */
	uint8_t len;
	struct hw_addr addr;
	size_t target;
};

/* Parses "addr/len"; false when name is not a prefix. */
static bool parse_prefix(const char *name, struct hw_addr *a, unsigned *len)
{
	const char *slash = strchr(name, '/');
	char buf[HW_ADDRSTRLEN];
	if (slash == NULL || (size_t)(slash - name) >= sizeof(buf))
		return false;
	memcpy(buf, name, (size_t)(slash - name));
	buf[slash - name] = '\0';
	char *end;
	unsigned long v = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || end == slash + 1 || v > 128 || hw_addr_parse(buf, a) != HW_OK)
		return false;
	*len = (unsigned)v;
	return true;
}

static struct membership membership(const char *name, enum hw_diff_group_kind kind, size_t target)
{
	struct membership m = {name, kind, false, 0, {0}, target};
	unsigned len;
	if (parse_prefix(name, &m.addr, &len)) {
		m.is_prefix = true;
		m.len = (uint8_t)len;
	}
	return m;
}

/* Prefixes first (user-named ones before networks), by address then length; other
 * names after them by text. */
static int same_group(const struct membership *x, const struct membership *y)
{
	if (x->kind != y->kind)
		return x->kind == HW_DIFF_GROUP_PREFIX ? -1 : 1;
	if (x->is_prefix != y->is_prefix)
		return x->is_prefix ? -1 : 1;
	if (!x->is_prefix)
		return strcmp(x->name, y->name);
	int c = hw_addr_cmp(&x->addr, &y->addr);
	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int by_membership(const void *a, const void *b)
{
	const struct membership *x = a, *y = b;
	int c = same_group(x, y);
	if (c != 0)
		return c;
	return x->target < y->target ? -1 : x->target > y->target;
}

/* The hop of a broken target's shared list with addr, NULL when not there. */
static const struct hw_diff_hop *shared_hop(const struct hw_diff_target *t,
					    const struct hw_addr *addr)
{
	for (size_t i = 0; i < t->n_shared; i++)
		if (hw_addr_eq(&t->shared[i].addr, addr))
			return &t->shared[i];
	return NULL;
}

/* Equal, or both unset. */
static bool addr_same(const struct hw_addr *x, const struct hw_addr *y)
{
	return hw_addr_is_unset(x) ? hw_addr_is_unset(y) : hw_addr_eq(x, y);
}

/* The old TTL of addr in a trace (0 = not there). */
static unsigned trace_ttl_of(const struct hw_trace *t, const struct hw_addr *addr)
{
	for (size_t i = 0; i < t->n_hops; i++)
		for (size_t k = 0; k < t->hops[i].n_replies; k++)
			if (hw_addr_eq(&t->hops[i].replies[k].addr, addr))
				return t->hops[i].ttl;
	return 0;
}

/*
 * The common break of a group's broken members: the deepest hop all of them still reach,
 * the first lost hop when they agree on it, and the ASes on either side.
 */
static int common_break(struct hw_diff_group *g, const struct hw_diff *d,
			const struct hw_diff_opts *opts)
{
	const struct hw_diff_target *first = NULL;
	for (size_t i = 0; i < g->n_members && first == NULL; i++)
		if (d->targets[g->members[i]].status == HW_DIFF_BROKEN)
			first = &d->targets[g->members[i]];
	if (first == NULL)
		return HW_OK;
	struct hw_diff_break *c = &g->common;
	memset(c, 0, sizeof(*c));
	g->has_common = true;
	for (size_t k = first->n_shared; k-- > 0 && c->last_reached.ttl == 0;) {
		bool everywhere = true;
		for (size_t i = 0; i < g->n_members && everywhere; i++) {
			const struct hw_diff_target *t = &d->targets[g->members[i]];
			if (t->status == HW_DIFF_BROKEN && shared_hop(t, &first->shared[k].addr) == NULL)
				everywhere = false;
		}
		if (everywhere)
			c->last_reached = first->shared[k];
	}
	/* The lost hop and the AS beyond: said only when every broken member agrees. */
	bool same_lost = true, same_to = true;
	for (size_t i = 0; i < g->n_members; i++) {
		const struct hw_diff_target *t = &d->targets[g->members[i]];
		if (t->status != HW_DIFF_BROKEN)
			continue;
		same_lost &= addr_same(&t->brk.first_lost.addr, &first->brk.first_lost.addr) &&
			     addr_same(&t->brk.last_reached.addr, &c->last_reached.addr);
		same_to &= t->brk.to_asn == first->brk.to_asn;
	}
	if (same_lost && first->brk.first_lost.ttl != 0)
		c->first_lost = first->brk.first_lost;
	c->to_asn = same_to ? first->brk.to_asn : 0;
	if (c->last_reached.ttl != 0) {
		c->old_ttl = (uint8_t)trace_ttl_of(first->old, &c->last_reached.addr);
		if (hw_addr_eq(&c->last_reached.addr, &first->brk.last_reached.addr)) {
			c->from_asn = first->brk.from_asn;
		} else {
			struct hw_as_segment *segs;
			size_t ns;
			if (trace_as_path(first->old, &segs, &ns) != HW_OK)
				return HW_ERR_NOMEM;
			c->from_asn = nearest_asn(segs, ns, c->old_ttl, -1);
			free(segs);
		}
		if (c->from_asn == 0)
			c->from_asn = c->last_reached.asn;
	}
	classify(c, opts);
	return HW_OK;
}

static void group_counts(struct hw_diff_group *g, const struct hw_diff *d)
{
	bool same_len = true;
	unsigned len0 = 0;
	for (size_t i = 0; i < g->n_members; i++) {
		const struct hw_diff_target *t = &d->targets[g->members[i]];
		g->count[t->status]++;
		if (t->new != NULL && !t->new_reached)
			g->n_unreachable++;
		struct hw_addr a;
		unsigned len;
		if (t->network == NULL || !parse_prefix(t->network, &a, &len))
			same_len = false;
		else if (i == 0)
			len0 = len;
		else if (len != len0)
			same_len = false;
	}
	g->member_len = g->kind == HW_DIFF_GROUP_PREFIX && same_len ? (uint8_t)len0 : 0;
}

static int make_groups(struct hw_diff *d, const struct hw_diff_opts *opts)
{
	struct membership *m = malloc((2 * d->n_targets + 1) * sizeof(*m));
	if (m == NULL)
		return HW_ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < d->n_targets; i++) {
		const struct hw_diff_target *t = &d->targets[i];
		if (t->network == NULL)
			continue;
		m[n++] = membership(t->network, HW_DIFF_GROUP_NETWORK, i);
		/* A sub-network of a prefix the user named: the prefix is a group too. */
		if (t->target != NULL && strcmp(t->target, t->network) != 0) {
			m[n] = membership(t->target, HW_DIFF_GROUP_PREFIX, i);
			n += m[n].is_prefix;
		}
	}
	qsort(m, n, sizeof(*m), by_membership);
	size_t n_groups = 0;
	for (size_t i = 0; i < n; i++)
		n_groups += i == 0 || same_group(&m[i - 1], &m[i]) != 0;
	d->groups = calloc(n_groups ? n_groups : 1, sizeof(*d->groups));
	if (d->groups == NULL) {
		free(m);
		return HW_ERR_NOMEM;
	}
	int rc = HW_OK;
	for (size_t i = 0; i < n && rc == HW_OK;) {
		size_t k = i + 1;
		while (k < n && same_group(&m[k], &m[i]) == 0)
			k++;
		struct hw_diff_group *g = &d->groups[d->n_groups++];
		g->name = m[i].name;
		g->kind = m[i].kind;
		g->members = malloc((k - i) * sizeof(*g->members));
		if (g->members == NULL) {
			rc = HW_ERR_NOMEM;
			break;
		}
		for (size_t j = i; j < k; j++)
			g->members[g->n_members++] = m[j].target;
		group_counts(g, d);
		rc = common_break(g, d, opts);
		i = k;
	}
	free(m);
	return rc;
}

/* ---- the public face ---- */

int diff_runs(const struct hw_run *old, const struct hw_run *new,
	      const struct hw_diff_opts *opts, struct hw_diff **out)
{
	static const struct hw_diff_opts none;
	*out = NULL;
	if (old == NULL || new == NULL)
		return HW_ERR_INVAL;
	struct hw_diff *d = calloc(1, sizeof(*d));
	struct hw_trace **ov = sorted_traces(old), **nv = sorted_traces(new);
	int rc = d && ov && nv ? HW_OK : HW_ERR_NOMEM;
	struct builder b = {d, 0, opts ? opts : &none, NULL, NULL};
	if (rc == HW_OK) {
		b.ou = calloc(old->n_traces + 1, sizeof(*b.ou));
		b.nu = calloc(new->n_traces + 1, sizeof(*b.nu));
		if (b.ou == NULL || b.nu == NULL)
			rc = HW_ERR_NOMEM;
	}
	if (rc == HW_OK) {
		d->old = old;
		d->new = new;
		rc = pair_all(&b, ov, old->n_traces, nv, new->n_traces);
	}
	free(ov);
	free(nv);
	free(b.ou);
	free(b.nu);
	if (rc == HW_OK) {
		for (size_t i = 0; i < d->n_targets; i++)
			d->count[d->targets[i].status]++;
		rc = make_groups(d, b.opts);
	}
	if (rc != HW_OK) {
		diff_free(d);
		return rc;
	}
	*out = d;
	return HW_OK;
}

struct hw_diff *diff_free(struct hw_diff *diff)
{
	if (diff == NULL)
		return NULL;
	for (size_t i = 0; i < diff->n_targets; i++) {
		struct hw_diff_target *t = &diff->targets[i];
		for (size_t k = 0; k < t->n_changes; k++)
			free(t->changes[k].addrs);
		free(t->changes);
		free(t->silences);
		free(t->shared);
		free(t->as_old);
		free(t->as_new);
	}
	free(diff->targets);
	for (size_t i = 0; i < diff->n_groups; i++)
		free(diff->groups[i].members);
	free(diff->groups);
	free(diff);
	return NULL;
}

bool diff_target_changed(const struct hw_diff_target *t)
{
	if (t->status == HW_DIFF_UNCHANGED)
		return false;
	if (t->status == HW_DIFF_STILL_UNREACHABLE)
		return t->n_changes > 0;
	return true;
}

bool diff_has_changes(const struct hw_diff *diff)
{
	for (size_t i = 0; i < diff->n_targets; i++)
		if (diff_target_changed(&diff->targets[i]))
			return true;
	return false;
}

static const char *const status_names[HW_DIFF_NSTATUS] = {
	[HW_DIFF_UNCHANGED] = "unchanged",
	[HW_DIFF_CHANGED] = "changed",
	[HW_DIFF_BROKEN] = "broken",
	[HW_DIFF_RECOVERED] = "recovered",
	[HW_DIFF_STILL_UNREACHABLE] = "still-unreachable",
	[HW_DIFF_ONLY_OLD] = "only-old",
	[HW_DIFF_ONLY_NEW] = "only-new",
	[HW_DIFF_NOT_COMPARABLE] = "not-comparable",
};

const char *diff_status_name(enum hw_diff_status status)
{
	return (unsigned)status < HW_DIFF_NSTATUS ? status_names[status] : "unknown";
}

const char *diff_where_name(enum hw_diff_where where)
{
	switch (where) {
	case HW_DIFF_WHERE_INSIDE: return "inside";
	case HW_DIFF_WHERE_BORDER: return "border";
	default: return "unknown";
	}
}
