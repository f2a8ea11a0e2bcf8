/*
 * Path diff of two runs. Traces are paired by destination address, target name or
 * network, along one flow; each pair is compared TTL by TTL over the interface sets of its hops (load balancing and silent
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
 * hop_changed for two traces that end at other destinations (paired by name or
 * network): the old destination, where it answers, stands for the new one.
 */
static int moved_hop_changed(const struct path *o, const struct path *n, unsigned ttl,
			     const struct hw_addr *ov, size_t on, const struct hw_addr *nv,
			     size_t nn, bool *changed)
{
	struct hw_addr *v = malloc(on * sizeof(*v));
	if (v == NULL)
		return HW_ERR_NOMEM;
	size_t k = 0;
	for (size_t i = 0; i < on; i++)
		if (!hw_addr_eq(&ov[i], &o->t->dst))
			v[k++] = ov[i];
	set_insert(v, &k, &n->t->dst);
	*changed = hop_changed(o, n, ttl, v, k, nv, nn);
	free(v);
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
	bool moved = !hw_addr_eq(&o->t->dst, &n->t->dst);
	for (unsigned ttl = lo; ttl <= hi; ttl++) {
		size_t on, nn;
		const struct hw_addr *ov = path_at(o, ttl, &on), *nv = path_at(n, ttl, &nn);
		int rc = HW_OK;
		if ((on == 0 && nn == 0) || skipped_at(o->t, ttl) || skipped_at(n->t, ttl))
			continue;
		if (on > 0 && nn > 0) {
			bool changed;
			if (moved && set_has(ov, on, &o->t->dst) && set_has(nv, nn, &n->t->dst))
				rc = moved_hop_changed(o, n, ttl, ov, on, nv, nn, &changed);
			else
				changed = hop_changed(o, n, ttl, ov, on, nv, nn);
			if (rc == HW_OK && changed)
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

/* The AS of each TTL of a trace as its AS path counts it (0: silent or unknown). */
static int as_by_ttl(const struct hw_trace *t, uint32_t v[256])
{
	struct hw_as_segment *segs;
	size_t ns;
	memset(v, 0, 256 * sizeof(*v));
	int rc = trace_as_path(t, &segs, &ns);
	if (rc != HW_OK)
		return rc;
	for (size_t i = 0; i < ns; i++)
		for (unsigned ttl = segs[i].first_ttl; ttl <= segs[i].last_ttl && ttl < 256; ttl++)
			v[ttl] = segs[i].asn;
	free(segs);
	return HW_OK;
}

static bool as_in(const uint32_t *v, size_t n, uint32_t asn)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == asn)
			return true;
	return false;
}

/*
 * The known ASes of a per-TTL table in order, gaps dropped and repeats merged, into v
 * (room for 256). With other (the other run's table and list): an AS the other run lacks
 * is left out when every TTL it holds here is silent or unknown there — it went missing
 * with its hops' answers, not with the path.
 */
static size_t as_seq(const uint32_t *by_ttl, const uint32_t *other_ttl, const uint32_t *other,
		     size_t n_other, uint32_t *v)
{
	size_t len = 0;
	for (unsigned ttl = 0; ttl < 256; ttl++) {
		uint32_t asn = by_ttl[ttl];
		if (asn == 0 || (len > 0 && v[len - 1] == asn))
			continue;
		if (other_ttl != NULL && !as_in(other, n_other, asn)) {
			bool seen_there = false;
			for (unsigned k = 0; k < 256 && !seen_there; k++)
				seen_there = by_ttl[k] == asn && other_ttl[k] != 0;
			if (!seen_there)
				continue;
		}
		v[len++] = asn;
	}
	return len;
}

/*
 * The AS paths of a pair and whether they changed: only where both runs know the ASes
 * (an AS that disappears with silent hops is no change; AS data in one run only says
 * nothing about a change).
 */
static int compare_as(struct hw_diff_target *d)
{
	d->as_in_old = has_as_data(d->old);
	d->as_in_new = has_as_data(d->new);
	if (!d->as_in_old && !d->as_in_new)
		return HW_OK;
	uint32_t ot[256], nt[256], oc[256], nc[256];
	int rc = as_by_ttl(d->old, ot);
	if (rc == HW_OK)
		rc = as_by_ttl(d->new, nt);
	if (rc != HW_OK)
		return rc;
	d->as_old = malloc(256 * sizeof(*d->as_old));
	d->as_new = malloc(256 * sizeof(*d->as_new));
	if (d->as_old == NULL || d->as_new == NULL)
		return HW_ERR_NOMEM;
	d->n_as_old = as_seq(ot, NULL, NULL, 0, d->as_old);
	d->n_as_new = as_seq(nt, NULL, NULL, 0, d->as_new);
	d->has_as = d->n_as_old > 0 || d->n_as_new > 0;
	if (!d->as_in_old || !d->as_in_new)
		return HW_OK;
	size_t no = as_seq(ot, nt, d->as_new, d->n_as_new, oc);
	size_t nn = as_seq(nt, ot, d->as_old, d->n_as_old, nc);
	d->as_changed = no != nn || (no > 0 && memcmp(oc, nc, no * sizeof(*oc)) != 0);
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
	/* Each hop of the old path the new run still reaches, at its old TTL: a shifted or
	 * looping new path reaches them at other TTLs (a loop, again and again), and the
	 * break is said along the old path. */
	d->shared = calloc(o->n ? o->n : 1, sizeof(*d->shared));
	if (d->shared == NULL)
		return HW_ERR_NOMEM;
	for (size_t i = 0; i < n->n; i++) {
		size_t nn;
		const struct hw_addr *nv = path_at(n, n->first_ttl + (unsigned)i, &nn);
		for (size_t k = 0; k < nn; k++) {
			unsigned at = path_ttl_of(o, &nv[k]);
			if (at != 0 && d->shared[at - o->first_ttl].ttl == 0)
				describe(&d->shared[at - o->first_ttl], at, &nv[k], d->new, d->old);
		}
	}
	for (size_t i = 0; i < o->n; i++)
		if (d->shared[i].ttl != 0)
			d->shared[d->n_shared++] = d->shared[i];
	if (d->n_shared > 0) {
		b->last_reached = d->shared[d->n_shared - 1];
		b->old_ttl = b->last_reached.ttl;
	}
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
	if (d->has_loop)
		b->where = HW_DIFF_WHERE_LOOP;
	d->has_break = true;
	return HW_OK;
}

/*
 * A routing loop in a one-flow path: the first interface (not the destination) that
 * answers again at a later, non-consecutive TTL. One turn of it goes into d->loop. A
 * multipath trace is left alone: branches of unequal length may show one interface at
 * two TTLs.
 */
static int find_loop(struct hw_diff_target *d, const struct path *n)
{
	if (n->multipath)
		return HW_OK;
	for (size_t j = 2; j < n->n; j++) {
		size_t nj;
		const struct hw_addr *vj = path_at(n, n->first_ttl + (unsigned)j, &nj);
		for (size_t k = 0; k < nj; k++) {
			if (hw_addr_eq(&vj[k], &n->t->dst))
				continue;
			for (size_t i = 0; i + 2 <= j; i++) {
				size_t ni;
				const struct hw_addr *vi = path_at(n, n->first_ttl + (unsigned)i, &ni);
				if (!set_has(vi, ni, &vj[k]))
					continue;
				struct hw_diff_loop *l = &d->loop;
				l->first_ttl = (uint8_t)(n->first_ttl + i);
				l->last_ttl = (uint8_t)(n->first_ttl + j - 1);
				l->n_hops = j - i;
				l->hops = calloc(l->n_hops, sizeof(*l->hops));
				if (l->hops == NULL)
					return HW_ERR_NOMEM;
				for (size_t h = 0; h < l->n_hops; h++) {
					unsigned ttl = l->first_ttl + (unsigned)h;
					size_t nh;
					const struct hw_addr *vh = path_at(n, ttl, &nh);
					if (nh > 0)
						describe(&l->hops[h], ttl, h ? &vh[0] : &vj[k], d->new,
							 d->old);
					else
						l->hops[h].ttl = (uint8_t)ttl;
				}
				d->has_loop = true;
				return HW_OK;
			}
		}
	}
	return HW_OK;
}

/* ---- pairing traces ---- */

/* Orders flows: family, method, destination port, flow id. */
static int flow_cmp(const struct hw_trace *x, const struct hw_trace *y)
{
	if (x->dst.family != y->dst.family)
		return (int)x->dst.family - (int)y->dst.family;
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
	int c = hw_addr_cmp(&x->dst, &y->dst);
	return c != 0 ? c : flow_cmp(x, y);
}

static bool same_flow(const struct hw_trace *x, const struct hw_trace *y)
{
	return flow_cmp(x, y) == 0;
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
	bool *ou, *nu;            /* which traces (of the sorted arrays) are paired */
};

static struct hw_diff_target *new_target(struct builder *b, const struct hw_trace *old,
					 const struct hw_trace *new, enum hw_diff_pairing how)
{
	void *v = b->d->targets;
	if (grow_for_one(&v, b->d->n_targets, &b->cap, sizeof(*b->d->targets), 64) != HW_OK)
		return NULL;
	b->d->targets = v;
	struct hw_diff_target *t = &b->d->targets[b->d->n_targets++];
	memset(t, 0, sizeof(*t));
	t->old = old;
	t->new = new;
	t->paired_by = how;
	const struct hw_trace *any = new ? new : old;
	t->dst = any->dst;
	if (old != NULL)
		t->old_dst = old->dst;
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

/* A trace present in one run only, or two of one destination that cannot be compared. */
static int add_unpaired(struct builder *b, const struct hw_trace *old, const struct hw_trace *new)
{
	struct hw_diff_target *t = new_target(b, old, new,
					      old && new ? HW_DIFF_PAIRED_ADDR : HW_DIFF_PAIRED_NONE);
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

static int add_pair(struct builder *b, const struct hw_trace *old, const struct hw_trace *new,
		    enum hw_diff_pairing how)
{
	struct hw_diff_target *t = new_target(b, old, new, how);
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
	if (rc == HW_OK && !n.reached)
		rc = find_loop(t, &n);
	if (rc == HW_OK && t->status == HW_DIFF_BROKEN)
		rc = locate_break(t, &o, &n, b->opts);
	if (rc == HW_OK && t->status != HW_DIFF_UNCHANGED)
		rc = compare_as(t);
	path_release(&o);
	path_release(&n);
	return rc;
}

/*
 * First pass: traces of one destination address, along the same flow first, then a
 * multipath trace with a one-flow one. ov, nv sorted by address then flow.
 */
static int pair_by_addr(struct builder *b, struct hw_trace **ov, size_t on, struct hw_trace **nv,
			size_t nn)
{
	size_t i = 0, j = 0;
	while (i < on && j < nn) {
		int c = hw_addr_cmp(&ov[i]->dst, &nv[j]->dst);
		if (c != 0) {
			i += c < 0;
			j += c > 0;
			continue;
		}
		size_t i1 = i, j1 = j;
		while (i1 < on && hw_addr_eq(&ov[i1]->dst, &ov[i]->dst))
			i1++;
		while (j1 < nn && hw_addr_eq(&nv[j1]->dst, &nv[j]->dst))
			j1++;
		for (int pass = 0; pass < 2; pass++)
			for (size_t x = i; x < i1; x++)
				for (size_t y = j; y < j1 && !b->ou[x]; y++) {
					if (b->nu[y] || !(pass == 0 ? same_flow(ov[x], nv[y])
								  : comparable(ov[x], nv[y])))
						continue;
					b->ou[x] = b->nu[y] = true;
					int rc = add_pair(b, ov[x], nv[y], HW_DIFF_PAIRED_ADDR);
					if (rc != HW_OK)
						return rc;
				}
		i = i1;
		j = j1;
	}
	return HW_OK;
}

/* A trace not paired yet, under the name or network it stands for. */
struct keyed {
	const char *key;
	const struct hw_trace *t;
	size_t pos;               /* in the sorted array */
};

static int keyed_cmp(const struct keyed *x, const struct keyed *y)
{
	int c = strcmp(x->key, y->key);
	return c != 0 ? c : flow_cmp(x->t, y->t);
}

static int by_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = keyed_cmp(x, y);
	return c != 0 ? c : hw_addr_cmp(&x->t->dst, &y->t->dst);
}

/* The traces not paired yet that have a key: their network, or (by_network false) the
 * target name of those that stand for no network; sorted by key, flow, address. */
static size_t keyed_traces(struct hw_trace **v, size_t n, const bool *used, bool by_network,
			   struct keyed *out)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const char *key = by_network ? v[i]->network : v[i]->network ? NULL : v[i]->target;
		if (!used[i] && key != NULL)
			out[m++] = (struct keyed){key, v[i], i};
	}
	qsort(out, m, sizeof(*out), by_keyed);
	return m;
}

/*
 * Later passes, over what the first left: traces of one target name (a host name that
 * moved), then of one network (another address of the same /24), along the same family,
 * method, port and flow; several of one key pair in address order.
 */
static int pair_by_key(struct builder *b, struct hw_trace **ov, size_t on, struct hw_trace **nv,
		       size_t nn, bool by_network)
{
	struct keyed *ok = malloc((on ? on : 1) * sizeof(*ok));
	struct keyed *nk = malloc((nn ? nn : 1) * sizeof(*nk));
	int rc = ok && nk ? HW_OK : HW_ERR_NOMEM;
	size_t mo = 0, mn = 0;
	if (rc == HW_OK) {
		mo = keyed_traces(ov, on, b->ou, by_network, ok);
		mn = keyed_traces(nv, nn, b->nu, by_network, nk);
	}
	for (size_t i = 0, j = 0; rc == HW_OK && i < mo && j < mn;) {
		int c = keyed_cmp(&ok[i], &nk[j]);
		if (c != 0) {
			i += c < 0;
			j += c > 0;
			continue;
		}
		size_t i1 = i + 1, j1 = j + 1;
		while (i1 < mo && keyed_cmp(&ok[i1], &ok[i]) == 0)
			i1++;
		while (j1 < mn && keyed_cmp(&nk[j1], &nk[j]) == 0)
			j1++;
		for (size_t k = 0; rc == HW_OK && i + k < i1 && j + k < j1; k++) {
			b->ou[ok[i + k].pos] = b->nu[nk[j + k].pos] = true;
			rc = add_pair(b, ok[i + k].t, nk[j + k].t,
				      by_network ? HW_DIFF_PAIRED_NETWORK : HW_DIFF_PAIRED_NAME);
		}
		i = i1;
		j = j1;
	}
	free(ok);
	free(nk);
	return rc;
}

/* What is left: two traces of one destination along other flows are not comparable;
 * the others are in one run only. */
static int pair_leftovers(struct builder *b, struct hw_trace **ov, size_t on,
			  struct hw_trace **nv, size_t nn)
{
	size_t i = 0, j = 0;
	while (i < on || j < nn) {
		if (i < on && b->ou[i]) {
			i++;
			continue;
		}
		if (j < nn && b->nu[j]) {
			j++;
			continue;
		}
		int c = i == on ? 1 : j == nn ? -1 : hw_addr_cmp(&ov[i]->dst, &nv[j]->dst);
		int rc = add_unpaired(b, c <= 0 ? ov[i] : NULL, c >= 0 ? nv[j] : NULL);
		if (rc != HW_OK)
			return rc;
		i += c <= 0;
		j += c >= 0;
	}
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
	int rc = pair_by_addr(b, ov, on, nv, nn);
	if (rc == HW_OK)
		rc = pair_by_key(b, ov, on, nv, nn, false);
	if (rc == HW_OK)
		rc = pair_by_key(b, ov, on, nv, nn, true);
	if (rc == HW_OK)
		rc = pair_leftovers(b, ov, on, nv, nn);
	return rc;
}

static int by_target(const void *a, const void *b)
{
	const struct hw_diff_target *x = *(const struct hw_diff_target *const *)a;
	const struct hw_diff_target *y = *(const struct hw_diff_target *const *)b;
	int c = hw_addr_cmp(&x->dst, &y->dst);
	if (c == 0)
		c = flow_cmp(x->new ? x->new : x->old, y->new ? y->new : y->old);
	return c != 0 ? c : x < y ? -1 : x > y; /* else in the order they were paired */
}

/* The targets by destination address, then flow (the passes append them out of order). */
static int sort_targets(struct hw_diff *d)
{
	if (d->n_targets < 2)
		return HW_OK;
	struct hw_diff_target **p = malloc(d->n_targets * sizeof(*p));
	struct hw_diff_target *v = malloc(d->n_targets * sizeof(*v));
	if (p == NULL || v == NULL) {
		free(p);
		free(v);
		return HW_ERR_NOMEM;
	}
	for (size_t i = 0; i < d->n_targets; i++)
		p[i] = &d->targets[i];
	qsort(p, d->n_targets, sizeof(*p), by_target);
	for (size_t i = 0; i < d->n_targets; i++)
		v[i] = *p[i];
	free(p);
	free(d->targets);
	d->targets = v;
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
	/* Every broken member loops: the group's paths loop too. */
	bool all_loop = true;
	for (size_t i = 0; i < g->n_members; i++) {
		const struct hw_diff_target *t = &d->targets[g->members[i]];
		if (t->status == HW_DIFF_BROKEN && !t->has_loop)
			all_loop = false;
	}
	if (all_loop)
		c->where = HW_DIFF_WHERE_LOOP;
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

static int by_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The ASes of interest: those of the options and those each run was traced with
 * (trace --transit keeps them in the run), sorted, once each. */
static int transit_union(struct hw_diff *d, const struct hw_diff_opts *opts,
			 const struct hw_run *old, const struct hw_run *new)
{
	const struct {
		const uint32_t *v;
		size_t n;
	} lists[3] = {{opts->transit, opts->n_transit}, {old->transit, old->n_transit},
		      {new->transit, new->n_transit}};
	size_t total = 0;
	for (int i = 0; i < 3; i++)
		total += lists[i].v != NULL ? lists[i].n : 0;
	if (total == 0)
		return HW_OK;
	if ((d->transit = malloc(total * sizeof(*d->transit))) == NULL)
		return HW_ERR_NOMEM;
	for (int i = 0; i < 3; i++)
		for (size_t k = 0; lists[i].v != NULL && k < lists[i].n; k++)
			d->transit[d->n_transit++] = lists[i].v[k];
	qsort(d->transit, d->n_transit, sizeof(*d->transit), by_u32);
	size_t n = 0;
	for (size_t i = 0; i < d->n_transit; i++)
		if (d->transit[i] != 0 && (n == 0 || d->transit[n - 1] != d->transit[i]))
			d->transit[n++] = d->transit[i];
	d->n_transit = n;
	return HW_OK;
}

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
	struct hw_diff_opts used = {NULL, 0};
	struct builder b = {d, 0, &used, NULL, NULL};
	if (rc == HW_OK)
		rc = transit_union(d, opts ? opts : &none, old, new);
	if (rc == HW_OK) {
		used = (struct hw_diff_opts){d->transit, d->n_transit};
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
	if (rc == HW_OK)
		rc = sort_targets(d);
	if (rc == HW_OK) {
		for (size_t i = 0; i < d->n_targets; i++)
			d->count[d->targets[i].status]++;
		rc = make_groups(d, &used);
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
		free(t->loop.hops);
	}
	free(diff->targets);
	free(diff->transit);
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
	case HW_DIFF_WHERE_LOOP: return "loop";
	default: return "unknown";
	}
}

const char *diff_pairing_name(enum hw_diff_pairing pairing)
{
	switch (pairing) {
	case HW_DIFF_PAIRED_ADDR: return "address";
	case HW_DIFF_PAIRED_NAME: return "name";
	case HW_DIFF_PAIRED_NETWORK: return "network";
	default: return "none";
	}
}
