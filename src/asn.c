/*
 * The origin-AS table: prefixes with their origin ASes, looked up by longest-prefix match,
 * and the loader of CAIDA routeviews pfx2as files.
 *
 * IPv4: a multibit trie with strides 16-4-4-4-4 (controlled prefix expansion). A lookup
 * reads at most five 32-bit slots: one of the 65536-slot root (256 KiB, mostly in cache),
 * then one per 4-bit level, each node being one 64-byte cache line; a binary trie walks
 * some 20 nodes, scattered over tens of MB, for the same answer (we measured 1 M/s there,
 * 15-30 M/s here). A prefix lands in the node of its level and fills the 1..16 slots it
 * covers there, unless a longer prefix holds them. A slot is either an answer or a link
 * to the node below; a new node starts with its parent slot's answer copied into all its
 * slots, and a shorter prefix added later reaches down through the links, so the slot a
 * lookup ends on always holds the answer. Stride 4 keeps a node at 16 slots: wider
 * strides would spend 256 slots (1 KiB) on every /16 with a /24 below it. A bitmap per
 * node says which prefixes are really there, so a replacement is told from an addition
 * even when longer prefixes hide every slot of the shorter one. The price: a table of
 * scattered long prefixes (random /32s) costs up to four nodes each.
 *
 * IPv6: a path-compressed binary trie (PATRICIA-style): one node per prefix plus at most
 * one branching node per prefix, whatever the lengths. IPv6 tables are a tenth of IPv4's
 * and their prefixes sit far apart in 128 bits, where fixed strides would spend most of
 * their entries on nothing.
 *
 * Nodes live in one array per structure, linked by 32-bit indexes (index 0 is "none"):
 * half the size of pointers, and one growing block instead of a million allocations.
 * Origin sets are interned: a full table has about a million prefixes but some 80
 * thousand distinct sets, so a slot or node keeps a 23-bit set number beside the prefix
 * length, and replacing a prefix's origins leaves nothing behind.
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
#define SETS_MAX ((1u << 23) - 1) /* the top bit of an IPv4 slot says "child" */

/*
 * IPv4: the root takes the first 16 bits, each node 4 more. (The fuzz target builds with
 * a root of 8 bits: a 1 KiB root instead of 256 KiB per table keeps it fast, and more
 * levels get exercised.)
 */
#ifdef ASN_ROOT_BITS
#define ROOT_BITS ASN_ROOT_BITS
#else
#define ROOT_BITS 16
#endif
#define STRIDE 4
_Static_assert((32 - ROOT_BITS) % STRIDE == 0 && ROOT_BITS >= 6 && ROOT_BITS <= 24,
	       "the root and the strides must add up to 32 bits");
#define FAN (1u << STRIDE)

/*
 * A slot holds the info of the longest prefix covering it, or CHILD | the index of the
 * node for the next 4 bits, whose slots then hold what this one held (pushed down).
 */
#define CHILD 0x80000000u

/* 64 bytes: one cache line, allocated aligned. */
struct node4 {
	uint32_t s[FAN];
};

struct v4 {
	uint32_t *root;         /* 1 << ROOT_BITS slots, NULL while empty */
	uint64_t *root_present; /* which /0../ROOT_BITS prefixes are there: bit (1 << len) - 1 + net */
	struct node4 *nodes;
	uint32_t *present;      /* per node: which prefixes of 1..4 more bits are there */
	size_t n, cap;          /* nodes in use (index 0 included) and room */
};

/* IPv6 */
struct node6 {
	uint64_t hi, lo;   /* the prefix, host bits zero */
	uint32_t child[2]; /* by the bit after the prefix */
	uint32_t info;
};

/* A 128-bit key, most significant bits in hi. */
struct key {
	uint64_t hi, lo;
};

struct trie {
	struct node6 *nodes;
	size_t n, cap; /* nodes in use (index 0 included) and room */
	uint32_t root;
};

struct oset {
	uint32_t n;
	uint32_t as[HW_ORIGINS_MAX];
};

struct hw_asn_table {
	struct v4 t4;
	struct trie t6;
	struct oset *sets;  /* interned origin sets */
	size_t n_sets, cap_sets;
	uint32_t *index;    /* open addressing over sets: set number + 1, 0 empty */
	size_t index_cap;   /* a power of two, at least twice n_sets */
	size_t size;        /* prefixes (nodes with origins) */
};

/* ---- IPv4: the multibit trie ---- */

/* The first len bits of a 64-bit word kept (len 0..64). */
static uint64_t keep64(uint64_t w, unsigned len)
{
	return len == 0 ? 0 : len >= 64 ? w : w & ~(~0ull >> len);
}

static uint32_t addr4(const struct hw_addr *a)
{
	return (uint32_t)a->a[0] << 24 | (uint32_t)a->a[1] << 16 | (uint32_t)a->a[2] << 8 | a->a[3];
}

/* Moves the nodes to a 64-byte aligned block of cap nodes (aligned_alloc cannot realloc). */
static int v4_resize(struct v4 *t, size_t cap)
{
	struct node4 *nodes = aligned_alloc(64, cap * sizeof(*nodes));
	uint32_t *present;

	if (nodes == NULL)
		return HW_ERR_NOMEM;
	if ((present = realloc(t->present, cap * sizeof(*present))) == NULL) {
		free(nodes);
		return HW_ERR_NOMEM;
	}
	if (t->n > 0)
		memcpy(nodes, t->nodes, t->n * sizeof(*nodes));
	free(t->nodes);
	t->nodes = nodes;
	t->present = present;
	t->cap = cap;
	return HW_OK;
}

/* A fresh node whose slots all hold fill (what its parent slot held), index into *i. */
static int v4_node_new(struct v4 *t, uint32_t fill, uint32_t *i)
{
	int rc;

	if (t->n == t->cap) {
		if (t->cap * 2 > CHILD)
			return HW_ERR_NOMEM; /* indexes are 31-bit */
		if ((rc = v4_resize(t, t->cap ? t->cap * 2 : 256)) < 0)
			return rc;
		if (t->n == 0)
			t->n = 1; /* index 0 means "none" */
	}
	for (unsigned k = 0; k < FAN; k++)
		t->nodes[t->n].s[k] = fill;
	t->present[t->n] = 0;
	*i = (uint32_t)t->n++;
	return HW_OK;
}

/*
 * Gives info to the count slots from first, and to the slots of the nodes below them,
 * except those a longer prefix holds (the same length is this very prefix: replaced).
 */
static void v4_fill(struct v4 *t, uint32_t *s, size_t first, size_t count, uint32_t info)
{
	for (size_t i = first; i < first + count; i++) {
		if (s[i] & CHILD)
			v4_fill(t, t->nodes[s[i] & ~CHILD].s, 0, FAN, info);
		else if (INFO_LEN(s[i]) <= INFO_LEN(info))
			s[i] = info;
	}
}

static int v4_insert(struct v4 *t, uint32_t net, unsigned len, uint32_t set1, bool *added)
{
	uint32_t info = set1 << 8 | len;
	unsigned base = ROOT_BITS;
	int rc;

	if (t->root == NULL) {
		t->root = calloc((size_t)1 << ROOT_BITS, sizeof(*t->root));
		t->root_present = calloc(((size_t)2 << ROOT_BITS) / 64, sizeof(uint64_t));
		if (t->root == NULL || t->root_present == NULL) {
			free(t->root);
			free(t->root_present);
			t->root = NULL;
			t->root_present = NULL;
			return HW_ERR_NOMEM;
		}
	}
	if (len <= ROOT_BITS) {
		size_t bit = ((size_t)1 << len) - 1 + (len ? net >> (32 - len) : 0);

		*added = !(t->root_present[bit / 64] >> (bit % 64) & 1);
		t->root_present[bit / 64] |= 1ull << (bit % 64);
		v4_fill(t, t->root, net >> (32 - ROOT_BITS), (size_t)1 << (ROOT_BITS - len), info);
		return HW_OK;
	}
	/* Down to the node of the prefix's level, making the missing ones; node 0: the root. */
	for (size_t node = 0, slot = net >> (32 - ROOT_BITS);; base += STRIDE) {
		uint32_t here = node ? t->nodes[node].s[slot] : t->root[slot], i = here & ~CHILD;
		unsigned chunk = (net >> (32 - base - STRIDE)) & (FAN - 1);

		if (!(here & CHILD)) {
			if ((rc = v4_node_new(t, here, &i)) < 0)
				return rc;
			/* Not through a pointer taken before: the node array may have moved. */
			*(node ? &t->nodes[node].s[slot] : &t->root[slot]) = CHILD | i;
		}
		if (len <= base + STRIDE) {
			unsigned r = len - base; /* 1..4 bits of this node are the prefix's */
			uint32_t bit = 1u << ((1u << r) - 2 + (chunk >> (STRIDE - r)));

			*added = !(t->present[i] & bit);
			t->present[i] |= bit;
			v4_fill(t, t->nodes[i].s, chunk & ~((1u << (STRIDE - r)) - 1),
				(size_t)1 << (STRIDE - r), info);
			return HW_OK;
		}
		node = i;
		slot = chunk;
	}
}

/* The info of the longest prefix covering a, 0 when none. */
static uint32_t v4_lookup(const struct v4 *t, uint32_t a)
{
	uint32_t s;

	if (t->root == NULL)
		return 0;
	s = t->root[a >> (32 - ROOT_BITS)];
	/* One read per level: the slot reached holds the answer, pushed down to it. */
	for (int shift = 32 - ROOT_BITS - STRIDE; (s & CHILD) && shift >= 0; shift -= STRIDE)
		s = t->nodes[s & ~CHILD].s[(a >> shift) & (FAN - 1)];
	return s & CHILD ? 0 : s;
}

/* ---- IPv6: the path-compressed binary trie ---- */

static struct key key_of(const struct hw_addr *a)
{
	struct key k = {0, 0};

	for (int i = 0; i < 8; i++) {
		k.hi = k.hi << 8 | a->a[i];
		k.lo = k.lo << 8 | a->a[8 + i];
	}
	return k;
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

/* Room for `more` nodes, so that pointers into the array stay valid while they are added. */
static int trie_reserve(struct trie *t, size_t more)
{
	size_t want;
	struct node6 *p;

	if (t->n + more <= t->cap)
		return HW_OK;
	want = t->cap ? t->cap * 2 : 256;
	while (want < t->n + more)
		want *= 2;
	if (want > UINT32_MAX)
		return HW_ERR_NOMEM; /* indexes are 32-bit */
	if ((p = realloc(t->nodes, want * sizeof(*p))) == NULL)
		return HW_ERR_NOMEM;
	t->nodes = p;
	if (t->n == 0)
		t->n = 1; /* index 0 means "none" */
	t->cap = want;
	return HW_OK;
}

/* A fresh node; room must have been reserved. */
static uint32_t node_new(struct trie *t, struct key k, unsigned len, uint32_t set1)
{
	uint32_t i = (uint32_t)t->n++;

	t->nodes[i] = (struct node6){k.hi, k.lo, {0, 0}, set1 << 8 | len};
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
		struct node6 *n = &t->nodes[i];
		unsigned nlen = INFO_LEN(n->info);
		struct key nk = {n->hi, n->lo};
		unsigned c = key_common(k, nk, len < nlen ? len : nlen);

		if (c < nlen) {
			/* The node is not on k's path: a new node goes in its place, above it. */
			uint32_t fresh = node_new(t, k, len, set1);

			if (c == len) {
				t->nodes[fresh].child[key_bit(nk, len)] = i;
				*link = fresh;
			} else {
				uint32_t fork = node_new(t, key_mask(k, c), c, 0);

				t->nodes[fork].child[key_bit(k, c)] = fresh;
				t->nodes[fork].child[key_bit(nk, c)] = i;
				*link = fork;
			}
			*added = true;
			return HW_OK;
		}
		if (nlen == len) {
			*added = INFO_SET(n->info) == 0;
			n->info = set1 << 8 | len;
			return HW_OK;
		}
		link = &n->child[key_bit(k, nlen)];
	}
	*link = node_new(t, k, len, set1);
	*added = true;
	return HW_OK;
}

/* The info of the longest prefix covering a, 0 when none. */
static uint32_t trie_lookup(const struct trie *t, struct key a)
{
	uint32_t i = t->root, best = 0;

	while (i != 0) {
		const struct node6 *n = &t->nodes[i];
		unsigned len = INFO_LEN(n->info);

		/* Branching skipped bits, so the node's whole prefix is checked, not one bit. */
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
	return t;
}

hw_asn_table_t *asn_table_free(hw_asn_table_t *table)
{
	if (table == NULL)
		return NULL;
	free(table->t4.root);
	free(table->t4.root_present);
	free(table->t4.nodes);
	free(table->t4.present);
	free(table->t6.nodes);
	free(table->sets);
	free(table->index);
	free(table);
	return NULL;
}

int asn_table_insert(hw_asn_table_t *table, const struct hw_addr *prefix, unsigned len,
		     const uint32_t *origins, unsigned n_origins)
{
	uint32_t set1;
	bool added;
	int rc;

	if (table == NULL || prefix == NULL || origins == NULL || n_origins == 0 ||
	    (prefix->family != AF_INET && prefix->family != AF_INET6) ||
	    len > hw_addr_len(prefix) * 8)
		return HW_ERR_INVAL;
	if (n_origins > HW_ORIGINS_MAX)
		n_origins = HW_ORIGINS_MAX;
	if ((rc = set_intern(table, origins, n_origins, &set1)) < 0)
		return rc;
	if (prefix->family == AF_INET)
		rc = v4_insert(&table->t4, (uint32_t)(keep64((uint64_t)addr4(prefix) << 32, len) >> 32),
			       len, set1, &added);
	else
		rc = trie_insert(&table->t6, key_mask(key_of(prefix), len), len, set1, &added);
	if (rc < 0)
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
		info = v4_lookup(&table->t4, addr4(addr));
	else if (addr->family == AF_INET6)
		info = trie_lookup(&table->t6, key_of(addr));
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
	return sizeof(*table) +
	       (table->t4.root ? ((size_t)1 << ROOT_BITS) * sizeof(uint32_t) +
					 ((size_t)2 << ROOT_BITS) / 8 : 0) +
	       table->t4.cap * (sizeof(struct node4) + sizeof(uint32_t)) +
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
 * Parses an AS field: numbers and {sets} joined by '_' or ',' ("4837", "4837_4808",
 * "{4837,4808}", "4837_{4808,9929}", "4837,4808", "4837_4808,9929"), in order,
 * duplicates dropped, cut at HW_ORIGINS_MAX. CAIDA's routeviews pfx2as README separates
 * the origins of a multi-origin prefix with '_' and the members of an AS set with ',';
 * its files write sets both bare and in braces. Every one counts as an origin. NULL when
 * good, else why not ("" for plain bad syntax).
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
		if (*p != '_' && *p != ',')
			return "";
		p++;
	}
}

/* Gives back the spare room the arrays grew into (a table is mostly loaded once). */
static void shrink(hw_asn_table_t *table)
{
	struct trie *t6 = &table->t6;

	if (table->t4.n > 0 && table->t4.n < table->t4.cap)
		(void)v4_resize(&table->t4, table->t4.n); /* failing to shrink is no harm */
	if (t6->n > 0 && t6->n < t6->cap) {
		struct node6 *p = realloc(t6->nodes, t6->n * sizeof(*p));

		if (p != NULL) {
			t6->nodes = p;
			t6->cap = t6->n;
		}
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
	int rc = HW_OK;

	if (table == NULL || (text == NULL && len > 0))
		return HW_ERR_INVAL;
	if (name == NULL)
		name = "-";
	if (len == 0)
		return HW_OK;
	textfile_begin(&cur, text, len);
	while (textfile_next(&cur, &line))
		if ((rc = load_line(table, &line, name, err, errlen)) < 0)
			break;
	shrink(table);
	return rc;
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
