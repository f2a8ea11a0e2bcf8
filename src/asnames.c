/*
 * The AS-name table: AS number → a short name to show beside it, in an open-addressing
 * hash map, and its loader for "asn|name" lines and CAIDA as-org2info files.
 *
 * as-org2info gives an AS two names: its own aut_name ("CHINA169-BACKBONE"), a registry
 * handle, and the name of the organisation that holds it ("China Unicom Beijing Province
 * Network"), through org_id. We show the organisation's name, which says who owns a hop
 * to a reader who does not know the handles; an AS whose organisation is missing (or
 * nameless) falls back to its aut_name. The two sections may come in either order, so aut
 * lines are kept until the end of the text and named then.
 *
 * Names come from files and end up on terminals and in JSON: as_names_set keeps them as
 * one line of valid UTF-8 (control characters and broken sequences become '?').
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/asn.h>
#include <hopwatch/status.h>

#include "grow.h"
#include "textfile.h"

struct name_slot {
	uint32_t asn;
	char *name; /* NULL: a free slot */
};

struct hw_as_names {
	struct name_slot *v;
	size_t n, cap; /* cap: a power of two, at least twice n (0 before the first name) */
};

/* ---- the map ---- */

static size_t slot_of(uint32_t asn, size_t cap)
{
	/* Fibonacci hashing: AS numbers come in runs, the multiply spreads them. */
	return (size_t)(((uint64_t)asn * 0x9e3779b97f4a7c15u) >> 32) & (cap - 1);
}

static struct name_slot *find(const hw_as_names_t *names, uint32_t asn)
{
	if (names->cap == 0)
		return NULL;
	for (size_t i = slot_of(asn, names->cap);; i = (i + 1) & (names->cap - 1)) {
		struct name_slot *s = &names->v[i];

		if (s->name == NULL || s->asn == asn)
			return s;
	}
}

static int names_grow(hw_as_names_t *names)
{
	size_t cap = names->cap ? names->cap * 2 : 1024;
	struct name_slot *v = calloc(cap, sizeof(*v));

	if (v == NULL)
		return HW_ERR_NOMEM;
	for (size_t i = 0; i < names->cap; i++) {
		size_t j;

		if (names->v[i].name == NULL)
			continue;
		for (j = slot_of(names->v[i].asn, cap); v[j].name != NULL; j = (j + 1) & (cap - 1))
			;
		v[j] = names->v[i];
	}
	free(names->v);
	names->v = v;
	names->cap = cap;
	return HW_OK;
}

hw_as_names_t *as_names_new(void)
{
	return calloc(1, sizeof(hw_as_names_t));
}

hw_as_names_t *as_names_free(hw_as_names_t *names)
{
	if (names == NULL)
		return NULL;
	for (size_t i = 0; i < names->cap; i++)
		free(names->v[i].name);
	free(names->v);
	free(names);
	return NULL;
}

/* Length of the valid UTF-8 sequence at p (before end), 0 when there is none. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n, left = (size_t)(end - p);
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* The second byte's range rules out overlong forms, surrogates and > U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/*
 * A copy of [p, end) without leading and trailing blanks, as one line of valid UTF-8:
 * control characters (C0, DEL and C1, which terminals obey) and broken sequences become
 * '?'. NULL when nothing is left, or on ENOMEM (*nomem set).
 */
static char *clean_copy(const char *p, const char *end, bool *nomem)
{
	const unsigned char *s = (const unsigned char *)p, *e = (const unsigned char *)end;
	char *out, *o;

	*nomem = false;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (s == e)
		return NULL;
	if ((out = malloc((size_t)(e - s) + 1)) == NULL) {
		*nomem = true;
		return NULL;
	}
	for (o = out; s < e;) {
		size_t n = utf8_len(s, e);

		if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f)) || (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)) {
			*o++ = '?';
			s += n ? n : 1;
			continue;
		}
		memcpy(o, s, n);
		o += n;
		s += n;
	}
	*o = '\0';
	return out;
}

/* as_names_set on [p, end); HW_ERR_INVAL when the name is empty. */
static int set_span(hw_as_names_t *names, uint32_t asn, const char *p, const char *end)
{
	struct name_slot *s;
	bool nomem;
	char *copy;

	if ((names->n + 1) * 2 > names->cap && names_grow(names) < 0)
		return HW_ERR_NOMEM;
	if ((copy = clean_copy(p, end, &nomem)) == NULL)
		return nomem ? HW_ERR_NOMEM : HW_ERR_INVAL;
	s = find(names, asn);
	if (s->name == NULL)
		names->n++;
	free(s->name);
	s->asn = asn;
	s->name = copy;
	return HW_OK;
}

int as_names_set(hw_as_names_t *names, uint32_t asn, const char *name)
{
	if (names == NULL || name == NULL)
		return HW_ERR_INVAL;
	return set_span(names, asn, name, name + strlen(name));
}

const char *as_names_get(const hw_as_names_t *names, uint32_t asn)
{
	const struct name_slot *s = names ? find(names, asn) : NULL;

	return s ? s->name : NULL;
}

/* ---- loading ---- */

/* A piece of the text being loaded. */
struct span {
	const char *p, *end;
};

/* An aut line kept until the org lines are all known. */
struct aut {
	uint32_t asn;
	struct span aut_name, org_id;
};

/* org_id → org_name, for the length of one load. */
struct org {
	struct span id, name; /* id.p NULL: a free slot */
};

/* What the lines mean: set by "# format:" lines. */
enum section { PLAIN, AUTS, ORGS };

struct loader {
	hw_as_names_t *names;
	const char *name;
	char *err;
	size_t errlen;
	enum section section;
	unsigned nfields;              /* fields of an aut or org line */
	int f_aut, f_aut_name, f_org_id, f_org_name; /* their places, -1 when absent */
	struct aut *auts;
	size_t n_auts, cap_auts;
	struct org *orgs;
	size_t n_orgs, cap_orgs;       /* cap_orgs: a power of two, at least twice n_orgs */
};

/* "NAME:LINE: " and the reason into err; returns rc. */
static int bad(struct loader *l, size_t no, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(struct loader *l, size_t no, int rc, const char *fmt, ...)
{
	va_list ap;
	int at;

	if (l->err == NULL || l->errlen == 0)
		return rc;
	at = snprintf(l->err, l->errlen, "%s:%zu: ", l->name, no);
	if (at >= 0 && (size_t)at < l->errlen) {
		va_start(ap, fmt);
		vsnprintf(l->err + at, l->errlen - (size_t)at, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct span trim(struct span s)
{
	while (s.p < s.end && is_blank(*s.p))
		s.p++;
	while (s.end > s.p && is_blank(s.end[-1]))
		s.end--;
	return s;
}

static bool span_is(struct span s, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(s.end - s.p) == n && memcmp(s.p, word, n) == 0;
}

/* Splits s at '|' into at most max fields; returns how many there are (maybe > max). */
static unsigned split(struct span s, struct span *f, unsigned max)
{
	unsigned n = 0;

	for (const char *p = s.p;; p++) {
		if (p == s.end || *p == '|') {
			if (n < max)
				f[n] = trim((struct span){s.p, p});
			n++;
			if (p == s.end)
				return n;
			s.p = p + 1;
		}
	}
}

/* An AS number, "4837" or "AS4837": 0 when good, 1 when not a number, 2 when too big. */
static int parse_asn(struct span s, uint32_t *asn)
{
	uint64_t v = 0;

	if (s.end - s.p >= 2 && (s.p[0] == 'A' || s.p[0] == 'a') && (s.p[1] == 'S' || s.p[1] == 's'))
		s.p += 2;
	if (s.p == s.end)
		return 1;
	for (const char *p = s.p; p < s.end; p++) {
		if (*p < '0' || *p > '9')
			return 1;
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > UINT32_MAX)
		return 2;
	*asn = (uint32_t)v;
	return 0;
}

static int bad_asn(struct loader *l, size_t no, struct span s, int why)
{
	char q[TEXTFILE_QUOTE_MAX + 4];

	return bad(l, no, HW_ERR_MALFORMED, "bad AS '%s'%s", textfile_quote(s.p, s.end, q),
		   why == 2 ? ": beyond 4294967295" : "");
}

/* The most fields a format line may name; CAIDA's have 5 and 6. */
#define FIELDS_MAX 16

/* "# format:aut|changed|aut_name|org_id|opaque_id|source" and the like. */
static int format_line(struct loader *l, size_t no, struct span s)
{
	struct span f[FIELDS_MAX];
	char q[TEXTFILE_QUOTE_MAX + 4];
	unsigned n = split(s, f, FIELDS_MAX);

	l->f_aut = l->f_aut_name = l->f_org_id = l->f_org_name = -1;
	for (unsigned i = 0; i < n && i < FIELDS_MAX; i++) {
		if (span_is(f[i], "aut"))
			l->f_aut = (int)i;
		else if (span_is(f[i], "aut_name"))
			l->f_aut_name = (int)i;
		else if (span_is(f[i], "org_id"))
			l->f_org_id = (int)i;
		else if (span_is(f[i], "org_name"))
			l->f_org_name = (int)i;
	}
	l->nfields = n;
	if (n <= FIELDS_MAX && l->f_aut >= 0 && l->f_aut_name >= 0) {
		l->section = AUTS;
		return HW_OK;
	}
	if (n <= FIELDS_MAX && l->f_aut < 0 && l->f_org_id >= 0 && l->f_org_name >= 0) {
		l->section = ORGS;
		return HW_OK;
	}
	/* Reading an unknown layout as a known one would name ASes wrongly: refuse it. */
	return bad(l, no, HW_ERR_MALFORMED, "unknown format '%s'", textfile_quote(s.p, s.end, q));
}

/* "4837|name", "AS4837|name", or with blanks for the '|': "4837 name". */
static int plain_line(struct loader *l, size_t no, struct span s)
{
	struct span num = {s.p, s.p}, name;
	uint32_t asn;
	int why, rc;

	while (num.end < s.end && *num.end != '|' && !is_blank(*num.end))
		num.end++;
	if ((why = parse_asn(num, &asn)) != 0)
		return bad_asn(l, no, num, why);
	name = trim((struct span){num.end, s.end});
	if (name.p < name.end && *name.p == '|')
		name = trim((struct span){name.p + 1, name.end});
	if (name.p == name.end)
		return bad(l, no, HW_ERR_MALFORMED, "missing name");
	if ((rc = set_span(l->names, asn, name.p, name.end)) < 0)
		return bad(l, no, rc, "%s", hw_strerror(rc));
	return HW_OK;
}

static int field_count(struct loader *l, size_t no, unsigned n)
{
	if (n == l->nfields)
		return HW_OK;
	return bad(l, no, HW_ERR_MALFORMED, "%u fields, the format has %u", n, l->nfields);
}

static int aut_line(struct loader *l, size_t no, struct span s)
{
	struct span f[FIELDS_MAX];
	unsigned n = split(s, f, FIELDS_MAX);
	struct aut a;
	int why, rc;

	if ((rc = field_count(l, no, n)) < 0)
		return rc;
	if ((why = parse_asn(f[l->f_aut], &a.asn)) != 0)
		return bad_asn(l, no, f[l->f_aut], why);
	a.aut_name = f[l->f_aut_name];
	a.org_id = l->f_org_id >= 0 ? f[l->f_org_id] : (struct span){NULL, NULL};
	if (grow_for_one((void **)&l->auts, l->n_auts, &l->cap_auts, sizeof(a), 1024) < 0)
		return bad(l, no, HW_ERR_NOMEM, "%s", hw_strerror(HW_ERR_NOMEM));
	l->auts[l->n_auts++] = a;
	return HW_OK;
}

/* FNV-1a over an org_id. */
static size_t id_hash(struct span id)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (const char *p = id.p; p < id.end; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3u;
	return (size_t)(h ^ (h >> 32));
}

static bool span_eq(struct span x, struct span y)
{
	return x.end - x.p == y.end - y.p && memcmp(x.p, y.p, (size_t)(x.end - x.p)) == 0;
}

static struct org *org_find(const struct loader *l, struct span id)
{
	if (l->cap_orgs == 0 || id.p == NULL)
		return NULL;
	for (size_t i = id_hash(id) & (l->cap_orgs - 1);; i = (i + 1) & (l->cap_orgs - 1))
		if (l->orgs[i].id.p == NULL || span_eq(l->orgs[i].id, id))
			return &l->orgs[i];
}

static int orgs_grow(struct loader *l)
{
	size_t cap = l->cap_orgs ? l->cap_orgs * 2 : 1024;
	struct org *v = calloc(cap, sizeof(*v));

	if (v == NULL)
		return HW_ERR_NOMEM;
	for (size_t i = 0; i < l->cap_orgs; i++) {
		size_t j;

		if (l->orgs[i].id.p == NULL)
			continue;
		for (j = id_hash(l->orgs[i].id) & (cap - 1); v[j].id.p != NULL; j = (j + 1) & (cap - 1))
			;
		v[j] = l->orgs[i];
	}
	free(l->orgs);
	l->orgs = v;
	l->cap_orgs = cap;
	return HW_OK;
}

static int org_line(struct loader *l, size_t no, struct span s)
{
	struct span f[FIELDS_MAX];
	unsigned n = split(s, f, FIELDS_MAX);
	struct org *o;
	int rc;

	if ((rc = field_count(l, no, n)) < 0)
		return rc;
	if (f[l->f_org_id].p == f[l->f_org_id].end)
		return bad(l, no, HW_ERR_MALFORMED, "missing org_id");
	if ((l->n_orgs + 1) * 2 > l->cap_orgs && orgs_grow(l) < 0)
		return bad(l, no, HW_ERR_NOMEM, "%s", hw_strerror(HW_ERR_NOMEM));
	o = org_find(l, f[l->f_org_id]);
	if (o->id.p == NULL)
		l->n_orgs++;
	o->id = f[l->f_org_id];
	o->name = f[l->f_org_name]; /* a later line for the same org wins */
	return HW_OK;
}

static int one_line(struct loader *l, const struct textfile_line *line)
{
	static const char format[] = "format:";
	struct span s = trim((struct span){line->p, line->end});

	if (s.p == s.end)
		return HW_OK;
	if (*s.p == '#') {
		s.p++;
		s = trim(s);
		if ((size_t)(s.end - s.p) >= sizeof(format) - 1 &&
		    memcmp(s.p, format, sizeof(format) - 1) == 0)
			return format_line(l, line->no, (struct span){s.p + sizeof(format) - 1, s.end});
		return HW_OK; /* a comment */
	}
	switch (l->section) {
	case AUTS:
		return aut_line(l, line->no, s);
	case ORGS:
		return org_line(l, line->no, s);
	case PLAIN:
		break;
	}
	return plain_line(l, line->no, s);
}

/* Names every aut line kept: its organisation's name, else its own. */
static int name_auts(struct loader *l)
{
	for (size_t i = 0; i < l->n_auts; i++) {
		const struct aut *a = &l->auts[i];
		const struct org *o = org_find(l, a->org_id);
		int rc = HW_ERR_INVAL;

		if (o != NULL && o->id.p != NULL)
			rc = set_span(l->names, a->asn, o->name.p, o->name.end);
		if (rc == HW_ERR_INVAL)
			rc = set_span(l->names, a->asn, a->aut_name.p, a->aut_name.end);
		/* HW_ERR_INVAL: no name at all; the AS stays unnamed. */
		if (rc == HW_ERR_NOMEM)
			return rc;
	}
	return HW_OK;
}

int as_names_load_buf(hw_as_names_t *names, const char *text, size_t len, const char *name,
		      char *err, size_t errlen)
{
	struct loader l = {.names = names, .name = name ? name : "-", .err = err, .errlen = errlen};
	struct textfile_cursor cur;
	struct textfile_line line;
	int rc = HW_OK;

	if (names == NULL || (text == NULL && len > 0))
		return HW_ERR_INVAL;
	if (len == 0)
		return HW_OK;
	textfile_begin(&cur, text, len);
	while (rc == HW_OK && textfile_next(&cur, &line))
		rc = one_line(&l, &line);
	/* Even after a bad line: what came before it is loaded. */
	if (name_auts(&l) < 0 && rc == HW_OK)
		rc = bad(&l, cur.no, HW_ERR_NOMEM, "%s", hw_strerror(HW_ERR_NOMEM));
	free(l.auts);
	free(l.orgs);
	return rc;
}

int as_names_load(hw_as_names_t *names, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if (names == NULL || path == NULL)
		return HW_ERR_INVAL;
	if ((rc = textfile_read(path, &text, &len, err, errlen)) < 0)
		return rc;
	rc = as_names_load_buf(names, text, len, path, err, errlen);
	free(text);
	return rc;
}
