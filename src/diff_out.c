/*
 * Writers of a diff: text for people (the answer first), the JSON document of
 * docs/diff.md, and a Markdown report. They read a struct hw_diff and the runs it
 * borrows; the sentences come from the same few helpers in every format.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <hopwatch/diff.h>
#include <hopwatch/status.h>

/* ---- sentences ---- */

/* Appends printf-style text to buf (of len, holding a string), truncating quietly. */
static void cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* "1 target", "2 targets". */
static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static const char *asn_text(uint32_t asn, char *buf, size_t len)
{
	if (asn == 0)
		snprintf(buf, len, "AS?");
	else
		snprintf(buf, len, "AS%" PRIu32, asn);
	return buf;
}

/* "hop 7 r7.example (198.18.3.1, AS4837)" */
static void cat_hop(char *buf, size_t len, const struct hw_diff_hop *h)
{
	char a[HW_ADDRSTRLEN];
	hw_addr_str(&h->addr, a, sizeof(a));
	if (h->name != NULL)
		cat(buf, len, "hop %u %s (%s", h->ttl, h->name, a);
	else
		cat(buf, len, "hop %u %s (", h->ttl, a);
	if (h->asn != 0)
		cat(buf, len, "%sAS%" PRIu32, h->name ? ", " : "", h->asn);
	if (h->name == NULL && h->asn == 0) {
		/* nothing to put in brackets: drop the " (" */
		buf[strlen(buf) - 2] = '\0';
		return;
	}
	cat(buf, len, ")");
}

/* " at the AS4837 → AS131279 border", " inside AS4837", "" (and the transit AS); a
 * loop: " in a routing loop" and where it lies in AS terms. */
static void cat_where(char *buf, size_t len, const struct hw_diff_break *b)
{
	char x[16], y[16];
	if (b->where == HW_DIFF_WHERE_LOOP) {
		cat(buf, len, " in a routing loop");
		if (b->from_asn != 0 && b->from_asn == b->to_asn)
			cat(buf, len, " inside %s", asn_text(b->from_asn, x, sizeof(x)));
		else if (b->from_asn != 0 && b->to_asn != 0)
			cat(buf, len, " at the %s → %s border", asn_text(b->from_asn, x, sizeof(x)),
			    asn_text(b->to_asn, y, sizeof(y)));
		else if (b->from_asn != 0)
			cat(buf, len, " leaving %s", asn_text(b->from_asn, x, sizeof(x)));
	} else if (b->where == HW_DIFF_WHERE_BORDER)
		cat(buf, len, " at the %s → %s border", asn_text(b->from_asn, x, sizeof(x)),
		    asn_text(b->to_asn, y, sizeof(y)));
	else if (b->where == HW_DIFF_WHERE_INSIDE)
		cat(buf, len, " inside %s", asn_text(b->from_asn, x, sizeof(x)));
	else if (b->from_asn != 0)
		cat(buf, len, " leaving %s", asn_text(b->from_asn, x, sizeof(x)));
	if (b->transit_asn != 0)
		cat(buf, len, " (transit %s)", asn_text(b->transit_asn, x, sizeof(x)));
}

/* "lost beyond hop 7 198.18.3.1 (AS4837) at the AS4837 → AS131279 border"; group: the
 * break is a common point of several paths. */
static void cat_break(char *buf, size_t len, const struct hw_diff_break *b, bool group)
{
	if (b->last_reached.ttl == 0) {
		cat(buf, len, group ? "lost with no hop common to them still answering"
				    : "lost from the first hop (nothing of the old path answers)");
	} else {
		cat(buf, len, "lost beyond ");
		cat_hop(buf, len, &b->last_reached);
	}
	if (b->first_lost.ttl != 0) {
		cat(buf, len, ", first lost ");
		cat_hop(buf, len, &b->first_lost);
	}
	cat_where(buf, len, b);
}

/* "loop between hops 6 and 7: 202.97.0.6 ↔ 202.97.0.7", or over more hops
 * "loop over hops 6–8: A → B → C → A" (* for a silent one). */
static void cat_loop(char *buf, size_t len, const struct hw_diff_loop *l)
{
	char a[HW_ADDRSTRLEN];
	if (l->n_hops == 2)
		cat(buf, len, "loop between hops %u and %u: ", l->first_ttl, l->last_ttl);
	else if (l->n_hops == 1)
		cat(buf, len, "loop at hop %u: ", l->first_ttl);
	else
		cat(buf, len, "loop over hops %u–%u: ", l->first_ttl, l->last_ttl);
	for (size_t i = 0; i < l->n_hops; i++) {
		const struct hw_addr *x = &l->hops[i].addr;
		cat(buf, len, "%s%s", i == 0 ? "" : l->n_hops == 2 ? " ↔ " : " → ",
		    hw_addr_is_unset(x) ? "*" : hw_addr_str(x, a, sizeof(a)));
	}
	if (l->n_hops != 2 && l->n_hops > 0)
		cat(buf, len, " → %s", hw_addr_is_unset(&l->hops[0].addr) ? "*"
				       : hw_addr_str(&l->hops[0].addr, a, sizeof(a)));
}

static void cat_ttls(char *buf, size_t len, unsigned first, unsigned last)
{
	if (first == last)
		cat(buf, len, "hop %u", first);
	else
		cat(buf, len, "hops %u–%u", first, last);
}

static void cat_silences(char *buf, size_t len, const struct hw_diff_target *t)
{
	for (size_t i = 0; i < t->n_silences; i++) {
		const struct hw_diff_silence *s = &t->silences[i];
		cat(buf, len, "; ");
		cat_ttls(buf, len, s->first_ttl, s->last_ttl);
		cat(buf, len, " silent in the %s run, path continues", s->in_new ? "new" : "old");
	}
}

static void cat_as_path(char *buf, size_t len, const uint32_t *v, size_t n)
{
	if (n == 0)
		cat(buf, len, "(none)");
	for (size_t i = 0; i < n; i++)
		cat(buf, len, "%sAS%" PRIu32, i ? " " : "", v[i]);
}

/*
 * "198.18.4.7 (198.18.4.0/24)"; a pair of two addresses: "198.18.4.7 → 198.18.4.99
 * (same network 198.18.4.0/24)", "host.example (198.18.4.7 → 198.18.4.99, same name)".
 */
static void cat_label(char *buf, size_t len, const struct hw_diff_target *t)
{
	char a[HW_ADDRSTRLEN], o[HW_ADDRSTRLEN];
	hw_addr_str(&t->dst, a, sizeof(a));
	if (t->paired_by == HW_DIFF_PAIRED_NETWORK)
		cat(buf, len, "%s → %s (same network %s)", hw_addr_str(&t->old_dst, o, sizeof(o)), a,
		    t->network);
	else if (t->paired_by == HW_DIFF_PAIRED_NAME)
		cat(buf, len, "%s (%s → %s, same name)", t->target,
		    hw_addr_str(&t->old_dst, o, sizeof(o)), a);
	else if (t->network != NULL)
		cat(buf, len, "%s (%s)", a, t->network);
	else if (t->target != NULL && strcmp(t->target, a) != 0)
		cat(buf, len, "%s (%s)", t->target, a);
	else
		cat(buf, len, "%s", a);
}

static void cat_flow(char *buf, size_t len, const struct hw_trace *t)
{
	cat(buf, len, "%s flow %u", hw_method_name(t->method), t->flow_id);
	if (t->dport != 0)
		cat(buf, len, " port %u", t->dport);
	if (t->multipath != HW_MULTIPATH_NONE)
		cat(buf, len, " multipath %s", hw_multipath_name(t->multipath));
}

static void cat_change_ttls(char *buf, size_t len, const struct hw_diff_target *t)
{
	cat(buf, len, "%s ", t->n_changes > 1 ? "hops" : "hop");
	for (size_t i = 0; i < t->n_changes; i++)
		cat(buf, len, "%s%u", i ? ", " : "", t->changes[i].ttl);
}

const char *diff_target_summary(const struct hw_diff_target *t, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	buf[0] = '\0';
	cat_label(buf, len, t);
	cat(buf, len, ": %s", diff_status_name(t->status));
	switch (t->status) {
	case HW_DIFF_BROKEN:
		cat(buf, len, ", ");
		cat_break(buf, len, &t->brk, false);
		if (t->has_loop) {
			cat(buf, len, "; ");
			cat_loop(buf, len, &t->loop);
		}
		break;
	case HW_DIFF_CHANGED:
		cat(buf, len, " at ");
		cat_change_ttls(buf, len, t);
		break;
	case HW_DIFF_RECOVERED:
		cat(buf, len, ", reaches its destination again at hop %u", t->new_last_ttl);
		break;
	case HW_DIFF_STILL_UNREACHABLE:
		cat(buf, len, ", stops after hop %u", t->new_last_ttl);
		if (t->new_last_ttl != t->old_last_ttl)
			cat(buf, len, " (was hop %u)", t->old_last_ttl);
		if (t->has_loop) {
			cat(buf, len, "; ");
			cat_loop(buf, len, &t->loop);
		}
		break;
	case HW_DIFF_NOT_COMPARABLE:
		cat(buf, len, ": ");
		cat_flow(buf, len, t->old);
		cat(buf, len, " vs ");
		cat_flow(buf, len, t->new);
		break;
	case HW_DIFF_ONLY_OLD:
		cat(buf, len, " (traced in the old run only)");
		break;
	case HW_DIFF_ONLY_NEW:
		cat(buf, len, " (traced in the new run only)");
		break;
	default:
		break;
	}
	if (t->has_as && t->as_changed) {
		cat(buf, len, "; AS path ");
		cat_as_path(buf, len, t->as_old, t->n_as_old);
		cat(buf, len, " → ");
		cat_as_path(buf, len, t->as_new, t->n_as_new);
	} else if (t->has_as && t->as_in_old != t->as_in_new) {
		cat(buf, len, "; AS data in the %s run only", t->as_in_new ? "new" : "old");
	}
	cat_silences(buf, len, t);
	return buf;
}

static size_t group_changed(const struct hw_diff_group *g)
{
	return g->count[HW_DIFF_CHANGED] + g->count[HW_DIFF_RECOVERED] +
	       g->count[HW_DIFF_ONLY_OLD] + g->count[HW_DIFF_ONLY_NEW] +
	       g->count[HW_DIFF_NOT_COMPARABLE];
}

const char *diff_group_summary(const struct hw_diff_group *g, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	buf[0] = '\0';
	size_t n = g->n_members, broken = g->count[HW_DIFF_BROKEN];
	char unit[16];
	if (g->member_len != 0)
		snprintf(unit, sizeof(unit), "/%u%s", g->member_len, plural(n, "", "s"));
	else
		snprintf(unit, sizeof(unit), "%s", plural(n, "target", "targets"));
	if (broken == n) {
		cat(buf, len, "%zu/%zu %s of %s ", broken, n, plural(n, "target", "targets"), g->name);
		cat_break(buf, len, &g->common, true);
		return buf;
	}
	if (g->n_unreachable > 0) {
		cat(buf, len, "%zu of %zu %s of %s unreachable", g->n_unreachable, n, unit, g->name);
		if (broken > 0) {
			cat(buf, len, " (%zu newly: ", broken);
			cat_break(buf, len, &g->common, true);
			cat(buf, len, ")");
		} else {
			cat(buf, len, " (none newly)");
		}
		return buf;
	}
	size_t changed = group_changed(g);
	if (changed > 0)
		cat(buf, len, "%zu of %zu %s of %s changed", changed, n, unit, g->name);
	else
		cat(buf, len, "%s: all %zu %s unchanged", g->name, n, unit);
	return buf;
}

/* "4 of 7 targets changed: 3 broken, 1 changed; 3 unchanged" or "no change in 7 targets" */
static void headline(const struct hw_diff *d, char *buf, size_t len)
{
	buf[0] = '\0';
	size_t changed = 0;
	for (size_t i = 0; i < d->n_targets; i++)
		changed += diff_target_changed(&d->targets[i]);
	if (changed == 0) {
		cat(buf, len, "no change in %zu target%s", d->n_targets, d->n_targets == 1 ? "" : "s");
		size_t silent = 0;
		for (size_t i = 0; i < d->n_targets; i++)
			silent += d->targets[i].n_silences > 0;
		if (silent > 0)
			cat(buf, len, " (%zu with hops that only stopped answering)", silent);
		return;
	}
	cat(buf, len, "%zu of %zu %s changed:", changed, d->n_targets,
	    plural(d->n_targets, "target", "targets"));
	static const enum hw_diff_status order[] = {
		HW_DIFF_BROKEN, HW_DIFF_CHANGED, HW_DIFF_RECOVERED, HW_DIFF_STILL_UNREACHABLE,
		HW_DIFF_ONLY_OLD, HW_DIFF_ONLY_NEW, HW_DIFF_NOT_COMPARABLE, HW_DIFF_UNCHANGED,
	};
	const char *sep = " ";
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (d->count[order[i]] == 0)
			continue;
		cat(buf, len, "%s%zu %s", sep, d->count[order[i]], diff_status_name(order[i]));
		sep = ", ";
	}
}

/* Groups worth a line of their own: several members, some of them broken. */
static bool group_shown(const struct hw_diff_group *g)
{
	return g->n_members > 1 && g->count[HW_DIFF_BROKEN] > 0;
}

/* True when a broken target is covered by a group line already. */
static bool in_shown_group(const struct hw_diff *d, size_t target)
{
	if (d->targets[target].status != HW_DIFF_BROKEN)
		return false;
	for (size_t i = 0; i < d->n_groups; i++) {
		const struct hw_diff_group *g = &d->groups[i];
		if (!group_shown(g))
			continue;
		for (size_t k = 0; k < g->n_members; k++)
			if (g->members[k] == target)
				return true;
	}
	return false;
}

/*
 * The answer lines, each after `prefix`: networks with broken targets, then broken
 * targets outside them, then every other target that changed.
 */
static void summary_lines(const struct hw_diff *d, FILE *out, const char *prefix)
{
	char line[2048];
	for (size_t i = 0; i < d->n_groups; i++)
		if (group_shown(&d->groups[i]))
			fprintf(out, "%s%s\n", prefix,
				diff_group_summary(&d->groups[i], line, sizeof(line)));
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < d->n_targets; i++) {
			const struct hw_diff_target *t = &d->targets[i];
			if (!diff_target_changed(t) || (t->status == HW_DIFF_BROKEN) != (pass == 0) ||
			    in_shown_group(d, i))
				continue;
			fprintf(out, "%s%s\n", prefix, diff_target_summary(t, line, sizeof(line)));
		}
}

/* ---- text ---- */

#define LINE 2048

static void text_run(FILE *out, const char *which, const struct hw_run *r)
{
	char when[32] = "?";
	time_t secs = (time_t)(r->start_unix_us / 1000000u);
	struct tm tm;
	if (gmtime_r(&secs, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	fprintf(out, "%s: ", which);
	if (r->id != 0)
		fprintf(out, "run %" PRId64 ", ", r->id);
	fprintf(out, "%s, %zu %s", when, r->n_traces, plural(r->n_traces, "trace", "traces"));
	if (r->vantage != NULL)
		fprintf(out, ", vantage %s", r->vantage);
	if (r->tag != NULL)
		fprintf(out, ", tag %s", r->tag);
	fputc('\n', out);
}

static void text_addrs(FILE *out, const struct hw_addr *v, size_t n, const struct hw_trace *t)
{
	if (n == 0)
		fputs("(no hop)", out);
	for (size_t i = 0; i < n; i++) {
		char a[HW_ADDRSTRLEN];
		const struct hw_addr_info *info = t ? trace_info(t, &v[i]) : NULL;
		fprintf(out, "%s%s", i ? " " : "", hw_addr_str(&v[i], a, sizeof(a)));
		if (info != NULL && info->n_origins > 0)
			fprintf(out, " [AS%" PRIu32 "]", info->origins[0]);
	}
}

static void text_details(FILE *out, const struct hw_diff_target *t)
{
	char line[LINE];
	fprintf(out, "\n%s\n", diff_target_summary(t, line, sizeof(line)));
	if (t->old != NULL || t->new != NULL) {
		line[0] = '\0';
		cat_flow(line, sizeof(line), t->new ? t->new : t->old);
		fprintf(out, "  flow: %s; destination %s → %s (last answer at hop %u → %u)\n", line,
			t->old ? (t->old_reached ? "reached" : "not reached") : "-",
			t->new ? (t->new_reached ? "reached" : "not reached") : "-",
			t->old_last_ttl, t->new_last_ttl);
	}
	if (t->has_break) {
		line[0] = '\0';
		if (t->brk.last_reached.ttl != 0)
			cat_hop(line, sizeof(line), &t->brk.last_reached);
		else
			cat(line, sizeof(line), "none");
		fprintf(out, "  last reached: %s\n", line);
		line[0] = '\0';
		if (t->brk.first_lost.ttl != 0)
			cat_hop(line, sizeof(line), &t->brk.first_lost);
		else
			cat(line, sizeof(line), "none");
		fprintf(out, "  first lost:   %s\n", line);
		char x[16], y[16];
		fprintf(out, "  where:        %s (%s → %s)\n", diff_where_name(t->brk.where),
			asn_text(t->brk.from_asn, x, sizeof(x)), asn_text(t->brk.to_asn, y, sizeof(y)));
	}
	if (t->has_loop) {
		line[0] = '\0';
		cat_loop(line, sizeof(line), &t->loop);
		fprintf(out, "  routing %s (TTLs of the new run)\n", line);
	}
	for (size_t i = 0; i < t->n_changes; i++) {
		const struct hw_diff_change *c = &t->changes[i];
		fprintf(out, "  hop %3u: ", c->ttl);
		text_addrs(out, c->addrs, c->n_old, t->old);
		fputs(" → ", out);
		text_addrs(out, c->addrs + c->n_old, c->n_new, t->new);
		fputc('\n', out);
	}
	for (size_t i = 0; i < t->n_silences; i++) {
		const struct hw_diff_silence *s = &t->silences[i];
		line[0] = '\0';
		cat_ttls(line, sizeof(line), s->first_ttl, s->last_ttl);
		fprintf(out, "  %s silent in the %s run only: no answer, not a path change\n", line,
			s->in_new ? "new" : "old");
	}
	if (t->has_as && t->as_changed) {
		line[0] = '\0';
		cat_as_path(line, sizeof(line), t->as_old, t->n_as_old);
		cat(line, sizeof(line), " → ");
		cat_as_path(line, sizeof(line), t->as_new, t->n_as_new);
		fprintf(out, "  AS path: %s\n", line);
	} else if (t->has_as && t->as_in_old != t->as_in_new) {
		line[0] = '\0';
		cat_as_path(line, sizeof(line), t->as_in_new ? t->as_new : t->as_old,
			    t->as_in_new ? t->n_as_new : t->n_as_old);
		fprintf(out, "  AS path: %s (AS data in the %s run only: no comparison)\n", line,
			t->as_in_new ? "new" : "old");
	}
}

int diff_write_text(const struct hw_diff *d, FILE *out)
{
	char line[LINE];
	headline(d, line, sizeof(line));
	fprintf(out, "%s\n", line);
	summary_lines(d, out, "  ");
	fputc('\n', out);
	text_run(out, "old", d->old);
	text_run(out, "new", d->new);
	for (size_t i = 0; i < d->n_targets; i++) {
		const struct hw_diff_target *t = &d->targets[i];
		if (diff_target_changed(t) || t->n_silences > 0)
			text_details(out, t);
	}
	return fflush(out) == 0 && !ferror(out) ? HW_OK : HW_ERR_IO;
}

/* ---- JSON ---- */

/* Sets a key, remembering the first failure (jansson returns -1 on ENOMEM). */
struct jb {
	int status;
};

static void jset(struct jb *b, json_t *o, const char *key, json_t *v)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
		b->status = HW_ERR_NOMEM;
}

static void jpush(struct jb *b, json_t *a, json_t *v)
{
	if (v == NULL || a == NULL || json_array_append_new(a, v) != 0)
		b->status = HW_ERR_NOMEM;
}

static json_t *jaddr(const struct hw_addr *a)
{
	char buf[HW_ADDRSTRLEN];
	return hw_addr_is_unset(a) ? json_null() : json_string(hw_addr_str(a, buf, sizeof(buf)));
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jasn(uint32_t asn)
{
	return asn ? json_integer(asn) : json_null();
}

static json_t *jtime(uint64_t us)
{
	time_t secs = (time_t)(us / 1000000u);
	struct tm tm;
	char buf[40], out[48];
	if (gmtime_r(&secs, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return json_null();
	snprintf(out, sizeof(out), "%s.%06uZ", buf, (unsigned)(us % 1000000u));
	return json_string(out);
}

static json_t *jhop(struct jb *b, const struct hw_diff_hop *h)
{
	if (h->ttl == 0)
		return json_null();
	json_t *o = json_object();
	jset(b, o, "ttl", json_integer(h->ttl));
	jset(b, o, "addr", jaddr(&h->addr));
	jset(b, o, "asn", jasn(h->asn));
	jset(b, o, "name", jstr(h->name));
	jset(b, o, "as_name", jstr(h->as_name));
	return o;
}

static json_t *jaddrs(struct jb *b, const struct hw_addr *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		jpush(b, a, jaddr(&v[i]));
	return a;
}

static json_t *jasns(struct jb *b, const uint32_t *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		jpush(b, a, json_integer(v[i]));
	return a;
}

/* The break fields, into o: last_reached, first_lost, where, from_asn, to_asn, transit_asn. */
static void jbreak(struct jb *b, json_t *o, const struct hw_diff_break *k)
{
	jset(b, o, "last_reached", jhop(b, &k->last_reached));
	jset(b, o, "first_lost", jhop(b, &k->first_lost));
	jset(b, o, "where", json_string(diff_where_name(k->where)));
	jset(b, o, "from_asn", jasn(k->from_asn));
	jset(b, o, "to_asn", jasn(k->to_asn));
	jset(b, o, "transit_asn", jasn(k->transit_asn));
}

static json_t *jflow(struct jb *b, const struct hw_trace *t)
{
	if (t == NULL)
		return json_null();
	json_t *o = json_object();
	jset(b, o, "method", json_string(hw_method_name(t->method)));
	jset(b, o, "flow", json_integer(t->flow_id));
	jset(b, o, "dport", json_integer(t->dport));
	jset(b, o, "multipath", json_string(hw_multipath_name(t->multipath)));
	return o;
}

static json_t *jtarget(struct jb *b, const struct hw_diff_target *t)
{
	char line[LINE];
	json_t *o = json_object();
	jset(b, o, "dst", jaddr(&t->dst));
	jset(b, o, "old_dst", jaddr(&t->old_dst));
	jset(b, o, "paired_by", t->paired_by == HW_DIFF_PAIRED_NONE
					? json_null()
					: json_string(diff_pairing_name(t->paired_by)));
	jset(b, o, "target", jstr(t->target));
	jset(b, o, "network", jstr(t->network));
	jset(b, o, "status", json_string(diff_status_name(t->status)));
	jset(b, o, "changed", json_boolean(diff_target_changed(t)));
	jset(b, o, "summary", json_string(diff_target_summary(t, line, sizeof(line))));
	jset(b, o, "old", jflow(b, t->old));
	jset(b, o, "new", jflow(b, t->new));
	jset(b, o, "multipath", json_boolean(t->multipath));
	jset(b, o, "old_reached", t->old ? json_boolean(t->old_reached) : json_null());
	jset(b, o, "new_reached", t->new ? json_boolean(t->new_reached) : json_null());
	jset(b, o, "old_last_ttl", json_integer(t->old_last_ttl));
	jset(b, o, "new_last_ttl", json_integer(t->new_last_ttl));
	if (t->has_break)
		jbreak(b, o, &t->brk);
	if (t->has_loop) {
		json_t *loop = json_object(), *hops = json_array();
		jset(b, loop, "first_ttl", json_integer(t->loop.first_ttl));
		jset(b, loop, "last_ttl", json_integer(t->loop.last_ttl));
		for (size_t i = 0; i < t->loop.n_hops; i++)
			jpush(b, hops, jhop(b, &t->loop.hops[i]));
		jset(b, loop, "hops", hops);
		jset(b, o, "loop", loop);
	}
	json_t *changes = json_array();
	for (size_t i = 0; i < t->n_changes; i++) {
		const struct hw_diff_change *c = &t->changes[i];
		json_t *e = json_object();
		jset(b, e, "ttl", json_integer(c->ttl));
		jset(b, e, "old", jaddrs(b, c->addrs, c->n_old));
		jset(b, e, "new", jaddrs(b, c->addrs + c->n_old, c->n_new));
		jpush(b, changes, e);
	}
	jset(b, o, "changes", changes);
	json_t *silent = json_array();
	for (size_t i = 0; i < t->n_silences; i++) {
		const struct hw_diff_silence *s = &t->silences[i];
		json_t *e = json_object();
		jset(b, e, "first_ttl", json_integer(s->first_ttl));
		jset(b, e, "last_ttl", json_integer(s->last_ttl));
		jset(b, e, "run", json_string(s->in_new ? "new" : "old"));
		jpush(b, silent, e);
	}
	jset(b, o, "silent", silent);
	if (t->has_as) {
		json_t *as = json_object();
		jset(b, as, "old", t->as_in_old ? jasns(b, t->as_old, t->n_as_old) : json_null());
		jset(b, as, "new", t->as_in_new ? jasns(b, t->as_new, t->n_as_new) : json_null());
		jset(b, as, "changed", json_boolean(t->as_changed));
		jset(b, o, "as_path", as);
	}
	return o;
}

static json_t *jgroup(struct jb *b, const struct hw_diff *d, const struct hw_diff_group *g)
{
	char line[LINE];
	json_t *o = json_object();
	jset(b, o, "network", json_string(g->name));
	jset(b, o, "kind", json_string(g->kind == HW_DIFF_GROUP_PREFIX ? "prefix" : "network"));
	jset(b, o, "member_len", g->member_len ? json_integer(g->member_len) : json_null());
	jset(b, o, "targets", json_integer((json_int_t)g->n_members));
	jset(b, o, "unreachable", json_integer((json_int_t)g->n_unreachable));
	json_t *counts = json_object();
	for (int s = 0; s < HW_DIFF_NSTATUS; s++)
		jset(b, counts, diff_status_name((enum hw_diff_status)s),
		     json_integer((json_int_t)g->count[s]));
	jset(b, o, "counts", counts);
	jset(b, o, "summary", json_string(diff_group_summary(g, line, sizeof(line))));
	if (g->has_common) {
		json_t *c = json_object();
		jbreak(b, c, &g->common);
		jset(b, o, "common_break", c);
	} else {
		jset(b, o, "common_break", json_null());
	}
	json_t *members = json_array();
	for (size_t i = 0; i < g->n_members; i++)
		jpush(b, members, jaddr(&d->targets[g->members[i]].dst));
	jset(b, o, "members", members);
	return o;
}

static json_t *jrun(struct jb *b, const struct hw_run *r)
{
	json_t *o = json_object();
	jset(b, o, "id", r->id ? json_integer(r->id) : json_null());
	jset(b, o, "start", jtime(r->start_unix_us));
	jset(b, o, "vantage", jstr(r->vantage));
	jset(b, o, "tag", jstr(r->tag));
	jset(b, o, "traces", json_integer((json_int_t)r->n_traces));
	return o;
}

int diff_write_json(const struct hw_diff *d, FILE *out)
{
	struct jb b = {HW_OK};
	char line[LINE];
	json_t *root = json_object();
	jset(&b, root, "schema", json_string(HW_DIFF_JSON_SCHEMA));
	jset(&b, root, "version", json_integer(HW_DIFF_JSON_VERSION));
	jset(&b, root, "old", jrun(&b, d->old));
	jset(&b, root, "new", jrun(&b, d->new));
	json_t *sum = json_object();
	headline(d, line, sizeof(line));
	jset(&b, sum, "text", json_string(line));
	jset(&b, sum, "changes", json_boolean(diff_has_changes(d)));
	jset(&b, sum, "targets", json_integer((json_int_t)d->n_targets));
	for (int s = 0; s < HW_DIFF_NSTATUS; s++)
		jset(&b, sum, diff_status_name((enum hw_diff_status)s),
		     json_integer((json_int_t)d->count[s]));
	jset(&b, root, "summary", sum);
	jset(&b, root, "transit", jasns(&b, d->transit, d->n_transit));
	json_t *groups = json_array();
	for (size_t i = 0; i < d->n_groups; i++)
		jpush(&b, groups, jgroup(&b, d, &d->groups[i]));
	jset(&b, root, "networks", groups);
	json_t *targets = json_array();
	for (size_t i = 0; i < d->n_targets; i++)
		jpush(&b, targets, jtarget(&b, &d->targets[i]));
	jset(&b, root, "targets", targets);
	int rc = b.status;
	if (rc == HW_OK && (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
			    fputc('\n', out) == EOF || fflush(out) != 0 || ferror(out)))
		rc = HW_ERR_IO;
	json_decref(root);
	return rc;
}

/* ---- Markdown ---- */

/* Writes text for a table cell: '|' escaped, line breaks as spaces. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

static void md_run_row(FILE *out, const char *what, const char *old, const char *new)
{
	fprintf(out, "| %s | ", what);
	md_cell(out, old ? old : "–");
	fputs(" | ", out);
	md_cell(out, new ? new : "–");
	fputs(" |\n", out);
}

static void md_hop_cell(FILE *out, const struct hw_diff_hop *h)
{
	char buf[LINE] = "";
	if (h->ttl == 0) {
		fputs("–", out);
		return;
	}
	cat_hop(buf, sizeof(buf), h);
	md_cell(out, buf);
}

/* Networks in the Markdown table: groups of several targets where something happened. */
static bool md_group_listed(const struct hw_diff_group *g)
{
	return g->n_members > 1 &&
	       (g->n_unreachable > 0 || g->count[HW_DIFF_BROKEN] > 0 || group_changed(g) > 0);
}

int diff_write_md(const struct hw_diff *d, FILE *out)
{
	char line[LINE], a[64], b[64];
	headline(d, line, sizeof(line));
	fputs("# hopwatch diff\n\n**", out);
	md_cell(out, line);
	fputs("**\n\n", out);
	summary_lines(d, out, "- ");
	fputs("\n| | old | new |\n|---|---|---|\n", out);
	snprintf(a, sizeof(a), "%" PRId64, d->old->id);
	snprintf(b, sizeof(b), "%" PRId64, d->new->id);
	md_run_row(out, "run", d->old->id ? a : NULL, d->new->id ? b : NULL);
	json_t *ta = jtime(d->old->start_unix_us), *tb = jtime(d->new->start_unix_us);
	md_run_row(out, "start", json_string_value(ta), json_string_value(tb));
	json_decref(ta);
	json_decref(tb);
	md_run_row(out, "vantage", d->old->vantage, d->new->vantage);
	md_run_row(out, "tag", d->old->tag, d->new->tag);
	snprintf(a, sizeof(a), "%zu", d->old->n_traces);
	snprintf(b, sizeof(b), "%zu", d->new->n_traces);
	md_run_row(out, "traces", a, b);

	size_t shown = 0;
	for (size_t i = 0; i < d->n_groups; i++)
		shown += md_group_listed(&d->groups[i]);
	if (shown > 0) {
		fputs("\n## Networks\n\n| network | targets | unreachable | broken | changed | "
		      "summary |\n|---|---:|---:|---:|---:|---|\n", out);
		for (size_t i = 0; i < d->n_groups; i++) {
			const struct hw_diff_group *g = &d->groups[i];
			if (!md_group_listed(g))
				continue;
			fputs("| ", out);
			md_cell(out, g->name);
			fprintf(out, " | %zu | %zu | %zu | %zu | ", g->n_members, g->n_unreachable,
				g->count[HW_DIFF_BROKEN], group_changed(g));
			md_cell(out, diff_group_summary(g, line, sizeof(line)));
			fputs(" |\n", out);
		}
	}
	size_t listed = 0;
	for (size_t i = 0; i < d->n_targets; i++)
		listed += diff_target_changed(&d->targets[i]) || d->targets[i].n_silences > 0;
	fputs("\n## Targets\n\n", out);
	if (d->n_targets == 0)
		fputs("Neither run has a trace: nothing to compare.\n", out);
	else if (listed == 0)
		fprintf(out, "No change in %s, and no hop that only stopped answering.\n",
			d->n_targets == 1 ? "the one target" : "any target");
	else
		fputs("| target | status | last reached | first lost | where | changed hops | "
		      "silent hops |\n|---|---|---|---|---|---|---|\n", out);
	for (size_t i = 0; i < d->n_targets; i++) {
		const struct hw_diff_target *t = &d->targets[i];
		if (!diff_target_changed(t) && t->n_silences == 0)
			continue;
		line[0] = '\0';
		cat_label(line, sizeof(line), t);
		fputs("| ", out);
		md_cell(out, line);
		fprintf(out, " | %s | ", diff_status_name(t->status));
		if (t->has_break) {
			md_hop_cell(out, &t->brk.last_reached);
			fputs(" | ", out);
			md_hop_cell(out, &t->brk.first_lost);
			line[0] = '\0';
			cat_where(line, sizeof(line), &t->brk);
			if (t->has_loop) {
				cat(line, sizeof(line), ": ");
				cat_loop(line, sizeof(line), &t->loop);
			}
			fputs(" | ", out);
			md_cell(out, line[0] ? line + 1 : "unknown");
		} else {
			fputs("– | – | –", out);
		}
		line[0] = '\0';
		for (size_t k = 0; k < t->n_changes; k++)
			cat(line, sizeof(line), "%s%u", k ? ", " : "", t->changes[k].ttl);
		fprintf(out, " | %s | ", line[0] ? line : "–");
		line[0] = '\0';
		for (size_t k = 0; k < t->n_silences; k++) {
			cat(line, sizeof(line), "%s", k ? ", " : "");
			cat_ttls(line, sizeof(line), t->silences[k].first_ttl, t->silences[k].last_ttl);
			cat(line, sizeof(line), " (%s run)", t->silences[k].in_new ? "new" : "old");
		}
		md_cell(out, line[0] ? line : "–");
		fputs(" |\n", out);
	}
	if (listed > 0 && listed < d->n_targets)
		fprintf(out, "\n%zu other %s: no change, no silent hop.\n", d->n_targets - listed,
			plural(d->n_targets - listed, "target", "targets"));
	bool details = false;
	for (size_t i = 0; i < d->n_targets; i++) {
		const struct hw_diff_target *t = &d->targets[i];
		if (t->n_changes == 0 && !(t->has_as && t->as_changed))
			continue;
		if (!details)
			fputs("\n## Changed hops\n", out);
		details = true;
		line[0] = '\0';
		cat_label(line, sizeof(line), t);
		fputs("\n### ", out);
		md_cell(out, line);
		fprintf(out, " — %s\n", diff_status_name(t->status));
		/* A table only for TTLs that changed: an AS path change alone is one line. */
		if (t->n_changes > 0)
			fputs("\n| hop | old | new |\n|---:|---|---|\n", out);
		for (size_t k = 0; k < t->n_changes; k++) {
			const struct hw_diff_change *c = &t->changes[k];
			fprintf(out, "| %u | ", c->ttl);
			text_addrs(out, c->addrs, c->n_old, t->old);
			fputs(" | ", out);
			text_addrs(out, c->addrs + c->n_old, c->n_new, t->new);
			fputs(" |\n", out);
		}
		if (t->has_as && t->as_changed) {
			line[0] = '\0';
			cat_as_path(line, sizeof(line), t->as_old, t->n_as_old);
			cat(line, sizeof(line), " → ");
			cat_as_path(line, sizeof(line), t->as_new, t->n_as_new);
			fprintf(out, "\nAS path: %s\n", line);
		}
	}
	return fflush(out) == 0 && !ferror(out) ? HW_OK : HW_ERR_IO;
}
