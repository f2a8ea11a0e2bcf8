/*
 * The origin-AS table: prefixes with their origin ASes, looked up by longest-prefix match,
 * and the loader of CAIDA routeviews pfx2as files.
 *
 * One path-compressed binary trie (PATRICIA-style) per family. Why this one rather than a
 * multibit trie: it holds one node per prefix plus at most one branching node per prefix,
 * whatever the lengths (prefix expansion would pay a 256-slot array for every /16 with a
 * /24 below it: tens of MB for a full table); it takes inserts and replacements in place,
 * in any order, in O(address bits) and without rebuilding; and a lookup walks only the
 * branching points on the way down, about 20 for a full IPv4 table. What a multibit trie
 * would win on lookups, the top of the path (the same few cache lines for every address)
 * mostly wins back here.
 *
 * Nodes live in one array per family, linked by 32-bit indexes (index 0 is "none"): half
 * the size of pointers, and one growing block instead of a million allocations. An IPv4
 * node is 16 bytes, an IPv6 one 32. Origin sets are interned: a full table has about a
 * million prefixes but some 80 thousand distinct sets, so a node keeps a 24-bit set
 * number beside its length, and replacing a prefix's origins leaves nothing behind.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/asn.h>
#include <hopwatch/status.h>

#include "textfile.h"

/* node info: the set number + 1 (0: a branching node without origins) above the length. */
#define INFO_LEN(info) ((info) & 0xffu)
#define INFO_SET(info) ((info) >> 8)
#define SETS_MAX ((1u << 24) - 1)

struct node4 {
	uint32_t key;      /* the prefix, host bits zero */
	uint32_t child[2]; /* by the bit after the prefix */
	uint32_t info;
};

struct node6 {
	uint64_t hi, lo;
	uint32_t child[2];
	uint32_t info;
};

/* A 128-bit key for the code shared by both families (IPv4 in the top 32 bits of hi). */
struct key {
	uint64_t hi, lo;
};

struct trie {
	unsigned bits;     /* 32 or 128: which of n4 / n6 is in use */
	struct node4 *n4;
	struct node6 *n6;
	size_t n, cap;     /* nodes in use (index 0 included) and room */
	uint32_t root;
};

struct oset {
	uint32_t n;
	uint32_t as[HW_ORIGINS_MAX];
};

struct hw_asn_table {
	struct trie t4, t6;
	struct oset *sets;  /* interned origin sets */
	size_t n_sets, cap_sets;
	uint32_t *index;    /* open addressing over sets: set number + 1, 0 empty */
	size_t index_cap;   /* a power of two, at least twice n_sets */
	size_t size;        /* prefixes (nodes with origins) */
};

/* ---- keys ---- */

static struct key key_of(const struct hw_addr *a)
{
	struct key k = {0, 0};

	if (a->family == AF_INET) {
		k.hi = (uint64_t)a->a[0] << 56 | (uint64_t)a->a[1] << 48 |
		       (uint64_t)a->a[2] << 40 | (uint64_t)a->a[3] << 32;
		return k;
	}
	for (int i = 0; i < 8; i++) {
		k.hi = k.hi << 8 | a->a[i];
		k.lo = k.lo << 8 | a->a[8 + i];
	}
	return k;
}

/* The first len bits of a 64-bit word kept (len 0..64). */
static uint64_t keep64(uint64_t w, unsigned len)
{
	return len == 0 ? 0 : len >= 64 ? w : w & ~(~0ull >> len);
}

static struct key key_mask(struct key k, unsigned len)
{
	struct key m;

	m.hi = keep64(k.hi, len);
	m.lo = len > 64 ? keep64(k.lo, len - 64) : 0;
	return m;
}

/* Bit pos (0 = most significant) of k; pos < 128. */
static unsigned key_bit(struct key k, unsigned pos)
{
	return pos < 64 ? (unsigned)(k.hi >> (63 - pos)) & 1 : (unsigned)(k.lo >> (127 - pos)) & 1;
}

/* How many leading bits x and y share, at most limit. */
static unsigned key_common(struct key x, struct key y, unsigned limit)
{
	uint64_t d = x.hi ^ y.hi;
	unsigned c;

	if (d != 0)
		c = (unsigned)__builtin_clzll(d);
	else if ((d = x.lo ^ y.lo) != 0)
		c = 64 + (unsigned)__builtin_clzll(d);
	else
		c = 128;
	return c < limit ? c : limit;
}

/* ---- trie nodes ---- */

static struct key node_key(const struct trie *t, uint32_t i)
{
	struct key k = {0, 0};

	if (t->bits == 32)
		k.hi = (uint64_t)t->n4[i].key << 32;
	else
		k = (struct key){t->n6[i].hi, t->n6[i].lo};
	return k;
}

static uint32_t *node_child(struct trie *t, uint32_t i)
{
	return t->bits == 32 ? t->n4[i].child : t->n6[i].child;
}

static uint32_t *node_info(struct trie *t, uint32_t i)
{
	return t->bits == 32 ? &t->n4[i].info : &t->n6[i].info;
}

/* Room for `more` nodes, so that pointers into the array stay valid while they are added. */
static int trie_reserve(struct trie *t, size_t more)
{
	size_t elem = t->bits == 32 ? sizeof(struct node4) : sizeof(struct node6);
	size_t want;
	void *p;

	if (t->n + more <= t->cap)
		return HW_OK;
	want = t->cap ? t->cap * 2 : 256;
	while (want < t->n + more)
		want *= 2;
	if (want > UINT32_MAX)
		return HW_ERR_NOMEM; /* indexes are 32-bit */
	p = realloc(t->bits == 32 ? (void *)t->n4 : (void *)t->n6, want * elem);
	if (p == NULL)
		return HW_ERR_NOMEM;
	if (t->bits == 32)
		t->n4 = p;
	else
		t->n6 = p;
	if (t->n == 0)
		t->n = 1; /* index 0 means "none" */
	t->cap = want;
	return HW_OK;
}

/* A fresh node; room must have been reserved. */
static uint32_t node_new(struct trie *t, struct key k, unsigned len, uint32_t set1)
{
	uint32_t i = (uint32_t)t->n++;

	if (t->bits == 32)
		t->n4[i] = (struct node4){(uint32_t)(k.hi >> 32), {0, 0}, set1 << 8 | len};
	else
		t->n6[i] = (struct node6){k.hi, k.lo, {0, 0}, set1 << 8 | len};
	return i;
}

/*
 * Sets the origin set (number + 1) of prefix k/len (host bits zero), adding the node and
 * the branching node it may need. *added tells whether the prefix is new.
 */
static int trie_insert(struct trie *t, struct key k, unsigned len, uint32_t set1, bool *added)
{
	uint32_t *link = &t->root;
	int rc;

	/* At most two nodes are added; reserving first keeps `link` valid. */
	if ((rc = trie_reserve(t, 2)) < 0)
		return rc;
	while (*link != 0) {
		uint32_t i = *link;
		uint32_t *info = node_info(t, i);
		unsigned nlen = INFO_LEN(*info);
		struct key nk = node_key(t, i);
		unsigned c = key_common(k, nk, len < nlen ? len : nlen);

		if (c < nlen) {
			/* The node is not on k's path: a new node goes in its place, above it. */
			uint32_t fresh = node_new(t, k, len, set1);

			if (c == len) {
				node_child(t, fresh)[key_bit(nk, len)] = i;
				*link = fresh;
			} else {
				uint32_t fork = node_new(t, key_mask(k, c), c, 0);

				node_child(t, fork)[key_bit(k, c)] = fresh;
				node_child(t, fork)[key_bit(nk, c)] = i;
				*link = fork;
			}
			*added = true;
			return HW_OK;
		}
		if (nlen == len) {
			*added = INFO_SET(*info) == 0;
			*info = set1 << 8 | len;
			return HW_OK;
		}
		link = &node_child(t, i)[key_bit(k, nlen)];
	}
	*link = node_new(t, k, len, set1);
	*added = true;
	return HW_OK;
}

/* The info of the longest prefix covering a, 0 when none. */
static uint32_t lookup4(const struct trie *t, uint32_t a)
{
	uint32_t i = t->root, best = 0;

	while (i != 0) {
		const struct node4 *n = &t->n4[i];
		unsigned len = INFO_LEN(n->info);

		/* Branching skipped bits, so the node's whole prefix is checked, not one bit. */
		if (len != 0 && ((a ^ n->key) >> (32 - len)) != 0)
			break;
		if (INFO_SET(n->info) != 0)
			best = n->info;
		if (len == 32)
			break;
		i = n->child[(a >> (31 - len)) & 1];
	}
	return best;
}

static uint32_t lookup6(const struct trie *t, struct key a)
{
	uint32_t i = t->root, best = 0;

	while (i != 0) {
		const struct node6 *n = &t->n6[i];
		unsigned len = INFO_LEN(n->info);

		if (keep64(a.hi ^ n->hi, len) != 0 ||
		    (len > 64 && keep64(a.lo ^ n->lo, len - 64) != 0))
			break;
		if (INFO_SET(n->info) != 0)
			best = n->info;
		if (len == 128)
			break;
		i = n->child[key_bit(a, len)];
	}
	return best;
}

/* ---- origin sets ---- */

static uint64_t set_hash(const uint32_t *as, unsigned n)
{
	uint64_t h = n;

	for (unsigned i = 0; i < n; i++)
		h = (h ^ as[i]) * 0x9e3779b97f4a7c15u;
	return h ^ (h >> 31);
}

static bool set_is(const struct oset *s, const uint32_t *as, unsigned n)
{
	return s->n == n && memcmp(s->as, as, n * sizeof(*as)) == 0;
}

static int index_grow(hw_asn_table_t *t)
{
	size_t cap = t->index_cap ? t->index_cap * 2 : 1024;
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (idx == NULL)
		return HW_ERR_NOMEM;
	for (size_t s = 0; s < t->n_sets; s++) {
		size_t slot = set_hash(t->sets[s].as, t->sets[s].n) & (cap - 1);

		while (idx[slot] != 0)
			slot = (slot + 1) & (cap - 1);
		idx[slot] = (uint32_t)s + 1;
	}
	free(t->index);
	t->index = idx;
	t->index_cap = cap;
	return HW_OK;
}

/* The number + 1 of the set as[0..n) (added when new) into *set1. */
static int set_intern(hw_asn_table_t *t, const uint32_t *as, unsigned n, uint32_t *set1)
{
	size_t slot;
	int rc;

	if ((t->n_sets + 1) * 2 > t->index_cap && (rc = index_grow(t)) < 0)
		return rc;
	slot = set_hash(as, n) & (t->index_cap - 1);
	for (; t->index[slot] != 0; slot = (slot + 1) & (t->index_cap - 1)) {
		if (set_is(&t->sets[t->index[slot] - 1], as, n)) {
			*set1 = t->index[slot];
			return HW_OK;
		}
	}
	if (t->n_sets >= SETS_MAX)
		return HW_ERR_NOMEM; /* the node's 24 bits are full: far beyond any real table */
	if (t->n_sets == t->cap_sets) {
		size_t cap = t->cap_sets ? t->cap_sets * 2 : 256;
		struct oset *p = realloc(t->sets, cap * sizeof(*p));

		if (p == NULL)
			return HW_ERR_NOMEM;
		t->sets = p;
		t->cap_sets = cap;
	}
	memset(&t->sets[t->n_sets], 0, sizeof(t->sets[0]));
	t->sets[t->n_sets].n = n;
	memcpy(t->sets[t->n_sets].as, as, n * sizeof(*as));
	t->index[slot] = (uint32_t)++t->n_sets;
	*set1 = t->index[slot];
	return HW_OK;
}

/* ---- the table ---- */

hw_asn_table_t *asn_table_new(void)
{
	hw_asn_table_t *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->t4.bits = 32;
	t->t6.bits = 128;
	return t;
}

hw_asn_table_t *asn_table_free(hw_asn_table_t *table)
{
	if (table == NULL)
		return NULL;
	free(table->t4.n4);
	free(table->t6.n6);
	free(table->sets);
	free(table->index);
	free(table);
	return NULL;
}

int asn_table_insert(hw_asn_table_t *table, const struct hw_addr *prefix, unsigned len,
		     const uint32_t *origins, unsigned n_origins)
{
	struct trie *t;
	uint32_t set1;
	bool added;
	int rc;

	if (table == NULL || prefix == NULL || origins == NULL || n_origins == 0)
		return HW_ERR_INVAL;
	if (prefix->family == AF_INET)
		t = &table->t4;
	else if (prefix->family == AF_INET6)
		t = &table->t6;
	else
		return HW_ERR_INVAL;
	if (len > t->bits)
		return HW_ERR_INVAL;
	if (n_origins > HW_ORIGINS_MAX)
		n_origins = HW_ORIGINS_MAX;
	if ((rc = set_intern(table, origins, n_origins, &set1)) < 0)
		return rc;
	if ((rc = trie_insert(t, key_mask(key_of(prefix), len), len, set1, &added)) < 0)
		return rc;
	if (added)
		table->size++;
	return HW_OK;
}

unsigned asn_table_lookup(const hw_asn_table_t *table, const struct hw_addr *addr,
			  uint32_t origins[HW_ORIGINS_MAX], unsigned *prefix_len)
{
	uint32_t info = 0;
	const struct oset *s;

	if (prefix_len != NULL)
		*prefix_len = 0;
	if (table == NULL || addr == NULL)
		return 0;
	if (addr->family == AF_INET)
		info = lookup4(&table->t4, (uint32_t)(key_of(addr).hi >> 32));
	else if (addr->family == AF_INET6)
		info = lookup6(&table->t6, key_of(addr));
	if (INFO_SET(info) == 0)
		return 0;
	s = &table->sets[INFO_SET(info) - 1];
	memcpy(origins, s->as, s->n * sizeof(*origins));
	if (prefix_len != NULL)
		*prefix_len = INFO_LEN(info);
	return s->n;
}

size_t asn_table_size(const hw_asn_table_t *table)
{
	return table ? table->size : 0;
}

size_t asn_table_bytes(const hw_asn_table_t *table)
{
	if (table == NULL)
		return 0;
	return sizeof(*table) + table->t4.cap * sizeof(struct node4) +
	       table->t6.cap * sizeof(struct node6) + table->cap_sets * sizeof(struct oset) +
	       table->index_cap * sizeof(uint32_t);
}

/* ---- pfx2as lines ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next blank-separated field of [*p, end) into [*fs, *fe); false when none is left. */
static bool next_field(const char **p, const char *end, const char **fs, const char **fe)
{
	const char *q = *p;

	while (q < end && is_blank(*q))
		q++;
	if (q == end)
		return false;
	*fs = q;
	while (q < end && !is_blank(*q))
		q++;
	*fe = q;
	*p = q;
	return true;
}

static bool parse_addr(const char *s, const char *e, struct hw_addr *out)
{
	char buf[HW_ADDRSTRLEN];
	size_t n = (size_t)(e - s);

	/* inet_pton stops at a NUL: "1.2.3.4<NUL>junk" must not pass for 1.2.3.4. */
	if (n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return hw_addr_parse(buf, out) == HW_OK;
}

/* Adds asn to origins[0..*n) unless it is there or the array is full. */
static void origin_add(uint32_t *origins, unsigned *n, uint32_t asn)
{
	for (unsigned i = 0; i < *n; i++)
		if (origins[i] == asn)
			return;
	if (*n < HW_ORIGINS_MAX)
		origins[(*n)++] = asn;
}

/*
 * Parses an AS field: numbers and {sets} joined by '_' ("4837", "4837_4808",
 * "{4837,4808}", "4837_{4808,9929}"), in order, duplicates dropped, cut at
 * HW_ORIGINS_MAX. NULL when good, else why not ("" for plain bad syntax).
 */
static const char *parse_origins(const char *p, const char *end, uint32_t *origins,
				 unsigned *n)
{
	*n = 0;
	for (;;) {
		bool set = p < end && *p == '{';

		if (set)
			p++;
		for (;;) {
			const char *digits = p;
			uint64_t v = 0;

			for (; p < end && is_digit(*p); p++)
				if (v <= UINT32_MAX)
					v = v * 10 + (uint64_t)(*p - '0');
			if (p == digits)
				return "";
			if (v == 0)
				return ": AS 0 is reserved";
			if (v > UINT32_MAX)
				return ": beyond 4294967295";
			origin_add(origins, n, (uint32_t)v);
			if (!set)
				break;
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			if (p < end && *p == '}') {
				p++;
				break;
			}
			return "";
		}
		if (p == end)
			return NULL;
		if (*p != '_')
			return "";
		p++;
	}
}

/* "NAME:LINE: " and the reason into err; returns rc. */
static int bad(char *err, size_t errlen, const char *name, size_t no, int rc, const char *fmt,
	       ...) __attribute__((format(printf, 6, 7)));

static int bad(char *err, size_t errlen, const char *name, size_t no, int rc, const char *fmt,
	       ...)
{
	va_list ap;
	int at;

	if (err == NULL || errlen == 0)
		return rc;
	at = snprintf(err, errlen, "%s:%zu: ", name, no);
	if (at >= 0 && (size_t)at < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + at, errlen - (size_t)at, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int load_line(hw_asn_table_t *table, const struct textfile_line *line,
		     const char *name, char *err, size_t errlen)
{
	const char *p = line->p, *fs, *fe;
	char q[TEXTFILE_QUOTE_MAX + 4];
	struct hw_addr prefix;
	uint32_t origins[HW_ORIGINS_MAX];
	unsigned len = 0, n_origins, bits;
	const char *why;
	int rc;

	if (!next_field(&p, line->end, &fs, &fe) || *fs == '#')
		return HW_OK; /* blank line or comment */
	if (!parse_addr(fs, fe, &prefix))
		return bad(err, errlen, name, line->no, HW_ERR_MALFORMED, "bad address '%s'",
			   textfile_quote(fs, fe, q));
	bits = prefix.family == AF_INET ? 32 : 128;

	if (!next_field(&p, line->end, &fs, &fe))
		return bad(err, errlen, name, line->no, HW_ERR_MALFORMED, "missing length");
	for (const char *d = fs; d < fe; d++) {
		/* Three digits are enough for 128; more is no length (and no overflow). */
		if (!is_digit(*d) || d - fs >= 3)
			return bad(err, errlen, name, line->no, HW_ERR_MALFORMED,
				   "bad length '%s'", textfile_quote(fs, fe, q));
		len = len * 10 + (unsigned)(*d - '0');
	}
	if (len > bits)
		return bad(err, errlen, name, line->no, HW_ERR_MALFORMED,
			   "bad length '%s': beyond %u", textfile_quote(fs, fe, q), bits);

	if (!next_field(&p, line->end, &fs, &fe))
		return bad(err, errlen, name, line->no, HW_ERR_MALFORMED, "missing AS");
	if ((why = parse_origins(fs, fe, origins, &n_origins)) != NULL)
		return bad(err, errlen, name, line->no, HW_ERR_MALFORMED, "bad AS '%s'%s",
			   textfile_quote(fs, fe, q), why);

	if (next_field(&p, line->end, &fs, &fe))
		return bad(err, errlen, name, line->no, HW_ERR_MALFORMED,
			   "trailing garbage '%s'", textfile_quote(fs, line->end, q));

	if ((rc = asn_table_insert(table, &prefix, len, origins, n_origins)) < 0)
		return bad(err, errlen, name, line->no, rc, "%s", hw_strerror(rc));
	return HW_OK;
}

int asn_table_load_buf(hw_asn_table_t *table, const char *text, size_t len, const char *name,
		       char *err, size_t errlen)
{
	struct textfile_cursor cur;
	struct textfile_line line;
	int rc;

	if (table == NULL || (text == NULL && len > 0))
		return HW_ERR_INVAL;
	if (name == NULL)
		name = "-";
	if (len == 0)
		return HW_OK;
	textfile_begin(&cur, text, len);
	while (textfile_next(&cur, &line))
		if ((rc = load_line(table, &line, name, err, errlen)) < 0)
			return rc;
	return HW_OK;
}

int asn_table_load(hw_asn_table_t *table, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if (table == NULL || path == NULL)
		return HW_ERR_INVAL;
	if ((rc = textfile_read(path, &text, &len, err, errlen)) < 0)
		return rc;
	rc = asn_table_load_buf(table, text, len, path, err, errlen);
	free(text);
	return rc;
}
