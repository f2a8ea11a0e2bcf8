/*
 * Traceroute-like text for one trace, close to Linux traceroute's own layout so that
 * people and their scripts read it without surprise:
 *
 *   hopwatch to 198.18.3.2 (198.18.3.2), udp flow 0 (sport 28672 → dport 33434), 30 hops max
 *    1  198.18.1.1  0.052 ms  0.048 ms  0.047 ms
 *    2  * 198.18.2.1  0.110 ms *
 *        [MPLS: Lse 16 TC 0 S 1 TTL 1]
 *    3  198.18.3.2  0.200 ms !H  0.190 ms !H  0.201 ms !H
 *   stop: unreach at hop 3, 9 probes, 12.3 ms
 *
 * Hops never probed (probes_sent 0, e.g. past the stop of an untruncated trace) are
 * left out, as traceroute never prints a hop it did not probe. Hops --doubletree skipped
 * (run.h) are said on one line, as they are part of the path, just not asked again:
 *
 *    1-2  (skipped: path known from the stop set)
 *    3  198.18.3.1  0.061 ms
 *
 * A multipath trace (mda.h) lists every interface of a TTL on its own line, with its
 * fastest answer and how many flows it answered, then the links and the diamonds:
 *
 *   hopwatch to 198.18.3.2 (198.18.3.2), udp flows 0-10 (sport 28672-28682 → dport 33434),
 *   30 hops max, multipath lite, 95% confidence
 *    1  198.18.1.2  0.052 ms  6 flows
 *    2  198.18.2.2  0.110 ms  6 flows  [per-packet]
 *       198.18.5.2  0.120 ms  5 flows
 *    3  *
 *   links:
 *    1  198.18.1.2 -> 198.18.2.2
 *    1  198.18.1.2 -> 198.18.5.2  (per packet)
 *   diamonds:
 *    hop 1 198.18.1.2 -> hop 4 198.18.8.2: max width 2, length 3
 *   stop: completed at hop 4, 28 probes, 3.1 ms
 *
 * An annotated trace (annotate.h) names each interface and its AS, mtr/Trippy style, and
 * ends with its AS path and borders; hops inside an AS of interest (--transit) and the
 * ends of its borders are marked:
 *
 *    3  cu-bj-1.example (198.18.3.1) [AS4837 CHINA169-BACKBONE]  1.234 ms ...  [inside AS4837]
 *    4  198.18.4.1 [AS?]  1.301 ms ...
 *    5  10.0.0.1 [private]  1.402 ms ...
 *   as path: AS64500 1-2 → AS4837 3-7 (transit) → ? 8 → AS131279 9-12
 *   border: hop 7 → 9  AS4837 → AS131279  (198.18.7.1 → 198.18.9.1)  [transit]
 *
 * In brackets: the origin AS (others of a multi-origin prefix after '/') and the short
 * name of the first (the handle of a Cymru name, "CHINA169-BACKBONE", else the name,
 * "China Unicom", cut to 24 characters); "AS?" when the lookup failed or timed out, "no
 * AS" when the source knows none; the scope of special-purpose addresses whose AS is
 * unknown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/aspath.h>
#include <hopwatch/output.h>
#include <hopwatch/status.h>

/* Room for any mark hw_reply_mark writes ("!F-4294967295"). */
#define MARK_LEN 16
/* The widest AS name shown in text, in characters (JSON keeps it whole), and the bytes
   that takes at most: 4 a character, the NUL. */
#define SHORT_NAME_CHARS 24
#define SHORT_NAME_BYTES (SHORT_NAME_CHARS * 4 + 1)

/* ---- annotation ---- */

/* The AS path and borders of a trace, and the ASes the user watches. */
struct as_view {
	const uint32_t *transit;
	size_t n_transit;
	struct hw_as_segment *path;
	size_t n_path;
	struct hw_as_border *borders;
	size_t n_borders;
};

static bool is_transit(const struct as_view *v, uint32_t asn)
{
	for (size_t i = 0; asn != 0 && i < v->n_transit; i++)
		if (v->transit[i] == asn)
			return true;
	return false;
}

/*
 * The length of the handle of a Team Cymru-style AS name, "HANDLE description, CC"
 * ("CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN", "AMAZON-02, US"): a first
 * word of capitals, digits and '-' with a '-' or a digit in it, then more words. 0 when
 * name has another shape ("China Unicom", "CHINA UNICOM", as-org2info names).
 */
static size_t cymru_handle(const char *name)
{
	size_t n = strcspn(name, " ,");
	bool letter = false, mark = false;

	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c >= 'A' && c <= 'Z')
			letter = true;
		else if ((c >= '0' && c <= '9') || c == '-')
			mark = true;
		else if (c != '_' && c != '.')
			return 0;
	}
	const char *rest = name + n;
	while (*rest == ' ' || *rest == ',')
		rest++;
	return letter && mark && *rest != '\0' ? n : 0;
}

/*
 * The name to show (out has SHORT_NAME_BYTES): the handle of a Cymru-style name, else the
 * name; longer than SHORT_NAME_CHARS characters, it is cut at a character boundary and
 * ends with "…".
 */
static void short_name(const char *name, char *out)
{
	size_t n = cymru_handle(name), chars = 0, cut = 0;

	if (n == 0)
		n = strlen(name);
	for (size_t i = 0; i < n; i++) {
		if (((unsigned char)name[i] & 0xc0) == 0x80)
			continue;
		/* When too long, "…" takes the place of the last character. */
		if (++chars == SHORT_NAME_CHARS)
			cut = i;
	}
	if (chars <= SHORT_NAME_CHARS && n < SHORT_NAME_BYTES) {
		memcpy(out, name, n);
		out[n] = '\0';
		return;
	}
	/* Bytes that are no UTF-8 could be too many for their characters. */
	if (chars < SHORT_NAME_CHARS || cut > SHORT_NAME_BYTES - 4)
		cut = SHORT_NAME_BYTES - 4;
	while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
		cut--;
	while (cut > 0 && (name[cut - 1] == ' ' || name[cut - 1] == ','))
		cut--;
	memcpy(out, name, cut);
	memcpy(out + cut, "\xe2\x80\xa6", 4); /* "…" and the NUL */
}

/* " [AS4837 CHINA169]", " [AS?]", " [private]", or nothing. */
static void write_info(const struct hw_addr_info *info, FILE *out)
{
	char name[SHORT_NAME_BYTES];
	bool scope = info->scope != HW_SCOPE_PUBLIC && info->n_origins == 0;
	bool as = info->n_origins > 0 || info->asn_status == HW_LOOKUP_FAILED
		  || info->asn_status == HW_LOOKUP_NOTFOUND;

	if (!scope && !as)
		return;
	fputs(" [", out);
	if (scope)
		fprintf(out, "%s%s", hw_scope_name((enum hw_scope)info->scope), as ? ", " : "");
	if (info->n_origins > 0) {
		fprintf(out, "AS%lu", (unsigned long)info->origins[0]);
		for (unsigned i = 1; i < info->n_origins && i < HW_ORIGINS_MAX; i++)
			fprintf(out, "/%lu", (unsigned long)info->origins[i]);
		if (info->as_name != NULL) {
			short_name(info->as_name, name);
			fprintf(out, " %s", name);
		}
	} else if (info->asn_status == HW_LOOKUP_FAILED) {
		fputs("AS?", out);
	} else if (info->asn_status == HW_LOOKUP_NOTFOUND) {
		fputs("no AS", out);
	}
	fputc(']', out);
}

/* "name (addr) [AS...]" when annotated with a name, "addr [AS...]" otherwise. */
static void write_addr(const struct hw_trace *trace, const struct hw_addr *addr, FILE *out)
{
	char buf[HW_ADDRSTRLEN];
	const struct hw_addr_info *info = trace_info(trace, addr);

	hw_addr_str(addr, buf, sizeof(buf));
	if (info != NULL && info->name != NULL)
		fprintf(out, " %s (%s)", info->name, buf);
	else
		fprintf(out, " %s", buf);
	if (info != NULL)
		write_info(info, out);
}

/* "  [inside AS4837]" or "  [border AS4837 → AS131279]" for hops that touch a watched AS. */
static void write_transit_mark(const struct as_view *v, uint8_t ttl, FILE *out)
{
	for (size_t i = 0; i < v->n_borders; i++) {
		const struct hw_as_border *b = &v->borders[i];
		if ((b->from_ttl == ttl || b->to_ttl == ttl)
		    && (is_transit(v, b->from_asn) || is_transit(v, b->to_asn))) {
			fprintf(out, "  [border AS%lu \u2192 AS%lu]", (unsigned long)b->from_asn,
				(unsigned long)b->to_asn);
			return;
		}
	}
	for (size_t i = 0; i < v->n_path; i++) {
		const struct hw_as_segment *seg = &v->path[i];
		if (ttl >= seg->first_ttl && ttl <= seg->last_ttl && is_transit(v, seg->asn)) {
			fprintf(out, "  [inside AS%lu]", (unsigned long)seg->asn);
			return;
		}
	}
}

static bool any_asn(const struct as_view *v)
{
	for (size_t i = 0; i < v->n_path; i++)
		if (v->path[i].asn != 0)
			return true;
	return false;
}

static void write_as_path(const struct as_view *v, FILE *out)
{
	char from[HW_ADDRSTRLEN], to[HW_ADDRSTRLEN];

	if (!any_asn(v))
		return;
	fputs("as path:", out);
	for (size_t i = 0; i < v->n_path; i++) {
		const struct hw_as_segment *seg = &v->path[i];
		fputs(i > 0 ? " \u2192 " : " ", out);
		if (seg->asn != 0)
			fprintf(out, "AS%lu", (unsigned long)seg->asn);
		else
			fputc('?', out);
		if (seg->first_ttl == seg->last_ttl)
			fprintf(out, " %u", (unsigned)seg->first_ttl);
		else
			fprintf(out, " %u-%u", (unsigned)seg->first_ttl, (unsigned)seg->last_ttl);
		if (is_transit(v, seg->asn))
			fputs(" (transit)", out);
	}
	fputc('\n', out);
	for (size_t i = 0; i < v->n_borders; i++) {
		const struct hw_as_border *b = &v->borders[i];
		fprintf(out, "border: hop %u \u2192 %u  AS%lu \u2192 AS%lu  (%s \u2192 %s)%s\n",
			(unsigned)b->from_ttl, (unsigned)b->to_ttl, (unsigned long)b->from_asn,
			(unsigned long)b->to_asn, hw_addr_str(&b->from, from, sizeof(from)),
			hw_addr_str(&b->to, to, sizeof(to)),
			is_transit(v, b->from_asn) || is_transit(v, b->to_asn) ? "  [transit]" : "");
	}
}

static void write_flow(const struct hw_trace *trace, FILE *out)
{
	fprintf(out, "%s flow %u", hw_method_name(trace->method), (unsigned)trace->flow_id);
	if (trace->method == HW_METHOD_ICMP)
		fprintf(out, " (id %u)", (unsigned)trace->sport);
	else
		fprintf(out, " (sport %u \u2192 dport %u)", (unsigned)trace->sport,
			(unsigned)trace->dport);
}

/* The flows a multipath trace used: its own and the highest one that answered. */
static void write_flows(const struct hw_trace *trace, FILE *out)
{
	unsigned first = trace->flow_id, last = first;

	for (size_t i = 0; i < trace->n_hops; i++) {
		for (size_t j = 0; j < trace->hops[i].n_replies; j++) {
			if (trace->hops[i].replies[j].flow_id > last)
				last = trace->hops[i].replies[j].flow_id;
		}
	}
	/* Flow N uses port (or ICMP id) sport + N - flow_id: flows are consecutive. */
	unsigned sport = trace->sport, sport_last = sport + (last - first);
	fprintf(out, "%s flows %u-%u", hw_method_name(trace->method), first, last);
	if (trace->method == HW_METHOD_ICMP)
		fprintf(out, " (id %u-%u)", sport, sport_last);
	else
		fprintf(out, " (sport %u-%u \u2192 dport %u)", sport, sport_last,
			(unsigned)trace->dport);
}

static void write_header(const struct hw_trace *trace, FILE *out)
{
	char dst[HW_ADDRSTRLEN];
	bool multipath = trace->multipath != HW_MULTIPATH_NONE;

	hw_addr_str(&trace->dst, dst, sizeof(dst));
	fprintf(out, "hopwatch to %s (%s), ", trace->target != NULL ? trace->target : dst, dst);
	if (multipath)
		write_flows(trace, out);
	else
		write_flow(trace, out);
	fprintf(out, ", %u hops max", (unsigned)trace->max_ttl);
	if (multipath)
		fprintf(out, ", multipath %s, %u%% confidence", hw_multipath_name(trace->multipath),
			(unsigned)trace->confidence);
	fputc('\n', out);
}

/* The first reply to an attempt, or NULL when the probe went unanswered. */
static const struct hw_reply *find_reply(const struct hw_hop *hop, unsigned attempt)
{
	for (size_t i = 0; i < hop->n_replies; i++) {
		if (hop->replies[i].attempt == attempt)
			return &hop->replies[i];
	}
	return NULL;
}

static void write_reply(const struct hw_trace *trace, const struct hw_reply *r,
			const struct hw_addr **shown, FILE *out)
{
	char mark[MARK_LEN];

	if (*shown == NULL || !hw_addr_eq(*shown, &r->addr)) {
		write_addr(trace, &r->addr, out);
		*shown = &r->addr;
	}
	fprintf(out, "  %.3f ms", r->rtt_ms);
	hw_reply_mark(r, trace->dst.family, hw_addr_eq(&r->addr, &trace->dst), mark,
		      sizeof(mark));
	if (mark[0] != '\0')
		fprintf(out, " %s", mark);
}

/* n_mpls is a plain field: never trust it beyond the array. */
static unsigned mpls_count(const struct hw_reply *r)
{
	return r->n_mpls < HW_MPLS_MAX ? r->n_mpls : HW_MPLS_MAX;
}

/* Field by field: memcmp would also compare the struct's padding. */
static bool same_stack(const struct hw_reply *a, const struct hw_reply *b)
{
	unsigned n = mpls_count(a);

	if (n != mpls_count(b))
		return false;
	for (unsigned i = 0; i < n; i++) {
		const struct hw_mpls_label *x = &a->mpls[i], *y = &b->mpls[i];
		if (x->label != y->label || x->tc != y->tc || x->s != y->s || x->ttl != y->ttl)
			return false;
	}
	return true;
}

static void write_mpls(const struct hw_reply *r, FILE *out)
{
	for (unsigned i = 0; i < mpls_count(r); i++) {
		const struct hw_mpls_label *m = &r->mpls[i];
		fprintf(out, "     [MPLS: Lse %u TC %u S %u TTL %u]\n", (unsigned)m->label,
			(unsigned)m->tc, (unsigned)m->s, (unsigned)m->ttl);
	}
}

/*
 * The label stacks seen at a hop, in attempt order; a stack equal to the one printed
 * just before is not repeated (every probe through one LSP reports the same stack).
 */
static void write_hop_mpls(const struct hw_hop *hop, FILE *out)
{
	const struct hw_reply *last = NULL;

	for (unsigned a = 0; a < hop->probes_sent; a++) {
		const struct hw_reply *r = find_reply(hop, a);
		if (r == NULL || r->n_mpls == 0 || (last != NULL && same_stack(last, r)))
			continue;
		write_mpls(r, out);
		last = r;
	}
}

static void write_hop(const struct hw_trace *trace, const struct hw_hop *hop,
		      const struct as_view *v, FILE *out)
{
	const struct hw_addr *shown = NULL;

	fprintf(out, "%2u ", (unsigned)hop->ttl);
	for (unsigned a = 0; a < hop->probes_sent; a++) {
		const struct hw_reply *r = find_reply(hop, a);
		if (r == NULL)
			fputs(" *", out);
		else
			write_reply(trace, r, &shown, out);
	}
	write_transit_mark(v, hop->ttl, out);
	fputc('\n', out);
	write_hop_mpls(hop, out);
}

/* ---- multipath ---- */

/* One interface of a TTL: its fastest answer, the flows it answered, its mark. */
struct iface {
	const struct hw_reply *first; /* the first reply from it (for mark and MPLS) */
	double best_ms;
	unsigned flows;
};

/* Whether reply i is the first of its flow from its address (a flow may be retested). */
static bool first_of_flow(const struct hw_hop *hop, size_t i)
{
	const struct hw_reply *r = &hop->replies[i];

	for (size_t j = 0; j < i; j++) {
		const struct hw_reply *q = &hop->replies[j];
		if (q->flow_id == r->flow_id && hw_addr_eq(&q->addr, &r->addr))
			return false;
	}
	return true;
}

/* Whether an earlier reply of the hop came from the same address as reply i. */
static bool seen_before(const struct hw_hop *hop, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (hw_addr_eq(&hop->replies[j].addr, &hop->replies[i].addr))
			return true;
	}
	return false;
}

/* The facts of the interface whose first reply is at index i. */
static struct iface iface_at(const struct hw_hop *hop, size_t i)
{
	struct iface f = {&hop->replies[i], hop->replies[i].rtt_ms, 0};

	for (size_t j = i; j < hop->n_replies; j++) {
		const struct hw_reply *r = &hop->replies[j];
		if (!hw_addr_eq(&r->addr, &f.first->addr))
			continue;
		if (r->rtt_ms < f.best_ms)
			f.best_ms = r->rtt_ms;
		if (first_of_flow(hop, j))
			f.flows++;
	}
	return f;
}

static void write_iface(const struct hw_trace *trace, const struct iface *f, FILE *out)
{
	char mark[MARK_LEN];

	write_addr(trace, &f->first->addr, out);
	fprintf(out, "  %.3f ms  %u flow%s", f->best_ms, f->flows, f->flows == 1 ? "" : "s");
	hw_reply_mark(f->first, trace->dst.family, hw_addr_eq(&f->first->addr, &trace->dst), mark,
		      sizeof(mark));
	if (mark[0] != '\0')
		fprintf(out, " %s", mark);
}

/* Every interface of a TTL on its own line, in order of first answer. */
static void write_mp_hop(const struct hw_trace *trace, const struct hw_hop *hop,
			 const struct as_view *v, FILE *out)
{
	bool first = true;

	fprintf(out, "%2u ", (unsigned)hop->ttl);
	for (size_t i = 0; i < hop->n_replies; i++) {
		if (seen_before(hop, i))
			continue;
		struct iface f = iface_at(hop, i);
		if (!first)
			fputs("   ", out);
		write_iface(trace, &f, out);
		if (first && hop->per_packet)
			fputs("  [per-packet]", out);
		if (first)
			write_transit_mark(v, hop->ttl, out);
		fputc('\n', out);
		write_mpls(f.first, out);
		first = false;
	}
	if (first)
		fprintf(out, " *%s\n", hop->per_packet ? "  [per-packet]" : "");
}

static void write_links(const struct hw_trace *trace, FILE *out)
{
	char from[HW_ADDRSTRLEN], to[HW_ADDRSTRLEN];

	fputs("links:\n", out);
	for (size_t i = 0; i < trace->n_links; i++) {
		const struct hw_link *l = &trace->links[i];
		fprintf(out, "%2u  %s -> %s%s\n", (unsigned)l->ttl,
			hw_addr_str(&l->from, from, sizeof(from)), hw_addr_str(&l->to, to, sizeof(to)),
			l->per_packet ? "  (per packet)" : "");
	}
}

static void write_diamonds(const struct hw_trace *trace, FILE *out)
{
	char div[HW_ADDRSTRLEN], conv[HW_ADDRSTRLEN];

	fputs("diamonds:\n", out);
	for (size_t i = 0; i < trace->n_diamonds; i++) {
		const struct hw_diamond *d = &trace->diamonds[i];
		fprintf(out, " hop %u %s -> ", (unsigned)d->div_ttl,
			hw_addr_is_unset(&d->divergence) ? "source"
							 : hw_addr_str(&d->divergence, div, sizeof(div)));
		if (hw_addr_is_unset(&d->convergence))
			fputs("open", out);
		else
			fprintf(out, "hop %u %s", (unsigned)d->conv_ttl,
				hw_addr_str(&d->convergence, conv, sizeof(conv)));
		fprintf(out, ": max width %u, length %u\n", (unsigned)d->max_width,
			(unsigned)d->length);
	}
}

static void write_stop(const struct hw_trace *trace, FILE *out)
{
	fprintf(out, "stop: %s", hw_stop_reason_name(trace->stop_reason));
	if (trace->stop_ttl != 0)
		fprintf(out, " at hop %u", (unsigned)trace->stop_ttl);
	fprintf(out, ", %lu probes, %.1f ms\n", (unsigned long)trace->probes_sent,
		trace->duration_ms);
}

/* The run of skipped hops from index i on, on one line; returns the index of its last. */
static size_t write_skipped(const struct hw_trace *trace, size_t i, FILE *out)
{
	size_t j = i;
	while (j + 1 < trace->n_hops && trace->hops[j + 1].skipped)
		j++;
	if (j == i)
		fprintf(out, "%2u ", (unsigned)trace->hops[i].ttl);
	else
		fprintf(out, "%2u-%u ", (unsigned)trace->hops[i].ttl, (unsigned)trace->hops[j].ttl);
	/* Backward probing ends at an interface of the stop set, or after a gap of silence. */
	const struct hw_hop *end = j + 1 < trace->n_hops ? &trace->hops[j + 1] : NULL;
	fputs(end != NULL && end->n_replies == 0 ? " (skipped: below a gap of silent hops)\n"
						  : " (skipped: path known from the stop set)\n",
	      out);
	return j;
}

int text_write_trace_as(const struct hw_trace *trace, const uint32_t *transit,
			size_t n_transit, FILE *out)
{
	if (trace == NULL || out == NULL || (transit == NULL && n_transit > 0))
		return HW_ERR_INVAL;
	bool multipath = trace->multipath != HW_MULTIPATH_NONE;
	struct as_view v = {transit, n_transit, NULL, 0, NULL, 0};

	if (trace->n_infos > 0 && (trace_as_path(trace, &v.path, &v.n_path) != HW_OK
				   || as_path_borders(v.path, v.n_path, &v.borders, &v.n_borders) != HW_OK)) {
		free(v.path);
		return HW_ERR_NOMEM;
	}
	write_header(trace, out);
	for (size_t i = 0; i < trace->n_hops; i++) {
		if (trace->hops[i].skipped && !multipath) {
			i = write_skipped(trace, i, out);
			continue;
		}
		if (trace->hops[i].probes_sent == 0)
			continue;
		if (multipath)
			write_mp_hop(trace, &trace->hops[i], &v, out);
		else
			write_hop(trace, &trace->hops[i], &v, out);
	}
	if (multipath) {
		write_links(trace, out);
		write_diamonds(trace, out);
	}
	write_as_path(&v, out);
	write_stop(trace, out);
	free(v.path);
	free(v.borders);
	return ferror(out) ? HW_ERR_IO : HW_OK;
}

int text_write_trace(const struct hw_trace *trace, FILE *out)
{
	return text_write_trace_as(trace, NULL, 0, out);
}
