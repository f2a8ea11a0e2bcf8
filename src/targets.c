/*
 * Target specs → a list of destinations: addresses, prefixes split into sub-prefixes,
 * host names (syntax only), and files of specs.
 *
 * Addresses are handled as 4 or 16 big-endian bytes; bit positions count from the most
 * significant bit, as prefix lengths do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/status.h>
#include <hopwatch/targets.h>

#include "textfile.h"

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63
/* The longest spec worth quoting whole in a message; longer ones are cut. */
#define QUOTE_MAX 64
/* Room for "ADDR/LEN". */
#define PREFIXSTRLEN (HW_ADDRSTRLEN + 4)

/* A parsed prefix: addr holds the network, len its length. */
struct prefix {
	struct hw_addr addr;
	unsigned len;
};

void targets_opts_default(struct hw_target_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->split_v4 = HW_SPLIT_V4_DEFAULT;
	opts->split_v6 = HW_SPLIT_V6_DEFAULT;
	opts->pick = HW_PICK_FIRST;
	opts->max_targets = HW_TARGETS_MAX_DEFAULT;
}

/* ---- characters: ASCII only, whatever the program's locale ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_print(char c)
{
	return c >= 0x20 && c < 0x7f;
}

/* ---- messages ---- */

/*
 * A spec as it may appear in a message: control bytes (from a file, say) could move the
 * cursor or change colours on the user's terminal, so they become '?', and a very long spec
 * is cut so the message stays one readable line.
 */
static const char *quote(const char *spec, char buf[QUOTE_MAX + 4])
{
	size_t i;

	for (i = 0; spec[i] != '\0' && i < QUOTE_MAX; i++)
		buf[i] = is_print(spec[i]) ? spec[i] : '?';
	if (spec[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* ---- bits ---- */

static unsigned addr_bits(const struct hw_addr *a)
{
	return (unsigned)hw_addr_len(a) * 8;
}

/* Bit `pos` (0 = most significant) of a. */
static bool bit_get(const struct hw_addr *a, unsigned pos)
{
	return (a->a[pos / 8] >> (7 - pos % 8)) & 1;
}

static void bit_set(struct hw_addr *a, unsigned pos)
{
	a->a[pos / 8] |= (uint8_t)(0x80u >> (pos % 8));
}

/* True when any bit at or after position len is set. */
static bool host_bits_set(const struct hw_addr *a, unsigned len)
{
	for (unsigned pos = len; pos < addr_bits(a); pos++)
		if (bit_get(a, pos))
			return true;
	return false;
}

/* The network of a with the first len bits kept. */
static struct hw_addr masked(const struct hw_addr *a, unsigned len)
{
	struct hw_addr m = *a;

	for (unsigned pos = len; pos < addr_bits(a); pos++)
		m.a[pos / 8] &= (uint8_t)~(0x80u >> (pos % 8));
	return m;
}

static void prefix_str(const struct hw_addr *net, unsigned len, char buf[PREFIXSTRLEN])
{
	char a[HW_ADDRSTRLEN];

	snprintf(buf, PREFIXSTRLEN, "%s/%u", hw_addr_str(net, a, sizeof(a)), len);
}

/* ---- picking an address in a prefix ---- */

/* splitmix64's finaliser: a good 64-bit mix, so nearby networks get unrelated picks. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/*
 * The random stream for one network depends on the seed and that network alone (not on
 * its place in the list, nor on the prefix it was split from), so a run next week with
 * the same seed traces the same address for 175.45.177.0/24 whether the user wrote the
 * /22, the /23 or a reordered file: runs stay comparable.
 */
static uint64_t stream_start(uint64_t seed, const struct hw_addr *net, unsigned len)
{
	uint64_t hi = 0, lo = 0, s;

	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | net->a[i];
		lo = lo << 8 | net->a[8 + i];
	}
	s = mix64(seed ^ 0x686f7077617463u); /* "hopwatc": seed 0 is no special case */
	s = mix64(s ^ hi);
	s = mix64(s ^ lo);
	return mix64(s ^ ((uint64_t)net->family << 8 | len));
}

static uint64_t stream_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15u;
	return mix64(*state);
}

/* Is a, in network net/len, an address we must not pick at random? */
static bool pick_refused(const struct hw_addr *a, unsigned len)
{
	unsigned bits = addr_bits(a);
	bool all0 = true, all1 = true;

	/* /31 and /127 (RFC 3021, RFC 6164) have no network or broadcast address. */
	if (bits - len < 2)
		return false;
	for (unsigned pos = len; pos < bits; pos++) {
		if (bit_get(a, pos))
			all0 = false;
		else
			all1 = false;
	}
	/* IPv6 has no broadcast, but all-zeros is the subnet-router anycast address. */
	return all0 || (a->family == AF_INET && all1);
}

static struct hw_addr pick_random(const struct hw_addr *net, unsigned len, uint64_t seed)
{
	uint64_t state = stream_start(seed, net, len);
	size_t nbytes = hw_addr_len(net);
	struct hw_addr a;

	/* Rejection keeps the draw uniform; at most half the draws of a /30 are refused. */
	for (int tries = 0; tries < 128; tries++) {
		a = *net;
		for (size_t i = 0; i < nbytes; i += 8) {
			uint64_t r = stream_next(&state);

			for (size_t j = 0; j < 8 && i + j < nbytes; j++)
				a.a[i + j] = (uint8_t)(r >> (56 - 8 * j));
		}
		for (unsigned pos = 0; pos < len; pos++)
			if (bit_get(net, pos) != bit_get(&a, pos))
				a.a[pos / 8] ^= (uint8_t)(0x80u >> (pos % 8));
		if (!pick_refused(&a, len))
			return a;
	}
	/* 2^-128 for a /30: not reached in practice, but the loop must end. */
	a = *net;
	bit_set(&a, addr_bits(net) - 1);
	return a;
}

static struct hw_addr pick(const struct hw_addr *net, unsigned len,
			   const struct hw_target_opts *opts)
{
	struct hw_addr a = *net;

	if (opts->pick == HW_PICK_RANDOM)
		return pick_random(net, len, opts->seed);
	/* A /31 or /32 has no network address to skip: its first address is a host. */
	if (addr_bits(net) - len >= 2)
		bit_set(&a, addr_bits(net) - 1);
	return a;
}

/* ---- the list ---- */

static void target_clear(struct hw_target *t)
{
	free(t->spec);
	free(t->network);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

void targets_free(struct hw_target_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++)
		target_clear(&list->v[i]);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

/* Takes back every target after the first n: how an add undoes itself on error. */
static void truncate_to(struct hw_target_list *list, size_t n)
{
	while (list->n > n)
		target_clear(&list->v[--list->n]);
}

static int reserve(struct hw_target_list *list, size_t more)
{
	size_t cap = list->cap ? list->cap : 16;
	struct hw_target *v;

	if (more > SIZE_MAX / sizeof(*v) - list->n)
		return HW_ERR_NOMEM;
	if (list->n + more <= list->cap)
		return HW_OK;
	while (cap < list->n + more)
		cap = cap > SIZE_MAX / sizeof(*v) / 2 ? list->n + more : cap * 2;
	v = realloc(list->v, cap * sizeof(*v));
	if (v == NULL)
		return HW_ERR_NOMEM;
	list->v = v;
	list->cap = cap;
	return HW_OK;
}

/* Appends one target (reserve first); network may be NULL. */
static int append(struct hw_target_list *list, const char *spec, const char *network,
		  const char *name, const struct hw_addr *net, unsigned net_len,
		  const struct hw_addr *addr)
{
	struct hw_target *t = &list->v[list->n];

	memset(t, 0, sizeof(*t));
	t->spec = strdup(spec);
	t->network = network ? strdup(network) : NULL;
	t->name = name ? strdup(name) : NULL;
	if (t->spec == NULL || (network && t->network == NULL) || (name && t->name == NULL)) {
		target_clear(t);
		return HW_ERR_NOMEM;
	}
	if (net != NULL) {
		t->net = *net;
		t->net_len = (uint8_t)net_len;
	}
	if (addr != NULL)
		t->addr = *addr;
	list->n++;
	return HW_OK;
}

/* ---- checks ---- */

static int check_opts(const struct hw_target_opts *o, char *err, size_t errlen)
{
	if ((o->family != 0 && o->family != AF_INET && o->family != AF_INET6)
	    || o->split_v4 > 32 || o->split_v6 > 128
	    || (o->pick != HW_PICK_FIRST && o->pick != HW_PICK_RANDOM)) {
		textfile_say(err, errlen, "invalid target options");
		return HW_ERR_INVAL;
	}
	return HW_OK;
}

static int check_family(const char *spec, int family, const struct hw_target_opts *o,
			char *err, size_t errlen)
{
	char q[QUOTE_MAX + 4];

	if (o->family == 0 || o->family == family)
		return HW_OK;
	textfile_say(err, errlen, "%s is IPv%d, but only IPv%d was asked for", quote(spec, q),
	    family == AF_INET ? 4 : 6, o->family == AF_INET ? 4 : 6);
	return HW_ERR_INVAL;
}

static int check_room(const struct hw_target_list *list, size_t more,
		      const struct hw_target_opts *o, char *err, size_t errlen)
{
	if (list->n <= o->max_targets && more <= o->max_targets - list->n)
		return HW_OK;
	textfile_say(err, errlen, "too many targets: the limit is %zu", o->max_targets);
	return HW_ERR_INVAL;
}

/* Why name is not a host name, or NULL when it is one. */
static const char *name_problem(const char *name)
{
	size_t len = strlen(name), label = 0;
	bool numeric = true; /* the current label is all digits so far */

	if (len > 0 && name[len - 1] == '.')
		len--; /* the root's dot of an absolute name */
	if (len == 0)
		return "empty host name";
	if (len > NAME_MAX_LEN)
		return "host name longer than 253 characters";
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? name[i] : '.';

		if (c == '.') {
			if (label == 0)
				return "empty label in host name";
			if (name[i - 1] == '-')
				return "host name label ends with '-'";
			if (i == len && numeric)
				return "not a valid address, nor a host name (its last label is numeric)";
			label = 0;
			numeric = true;
			continue;
		}
		if ((unsigned char)c >= 0x80)
			return "not an ASCII host name (give an international name in its xn-- form)";
		if (!is_alnum(c) && c != '-')
			return "character not allowed in a host name";
		if (label == 0 && c == '-')
			return "host name label starts with '-'";
		if (++label > LABEL_MAX_LEN)
			return "host name label longer than 63 characters";
		numeric = numeric && is_digit(c);
	}
	return NULL;
}

bool targets_name_valid(const char *name)
{
	return name != NULL && name_problem(name) == NULL;
}

/* ---- specs ---- */

/* The numeric address before the '/' of spec; HW_ERR_INVAL when there is none. */
static int parse_prefix_addr(const char *spec, const char *slash, struct hw_addr *out)
{
	char text[HW_ADDRSTRLEN];
	size_t alen = (size_t)(slash - spec);

	if (alen >= sizeof(text))
		return HW_ERR_INVAL;
	memcpy(text, spec, alen);
	text[alen] = '\0';
	return hw_addr_parse(text, out);
}

/* Parses "ADDR/LEN" strictly: a numeric address, '/', decimal digits in range. */
static int parse_prefix(const char *spec, struct prefix *p, char *err, size_t errlen)
{
	const char *slash = strchr(spec, '/');
	const char *d = slash + 1;
	char q[QUOTE_MAX + 4];
	unsigned len = 0;

	if (parse_prefix_addr(spec, slash, &p->addr) != HW_OK) {
		textfile_say(err, errlen, "%s: not an address before the '/'", quote(spec, q));
		return HW_ERR_INVAL;
	}
	/* Saturates, so /99999999999 is out of range, not wrapped into range. */
	for (; is_digit(*d); d++)
		len = len > 1000 ? len : len * 10 + (unsigned)(*d - '0');
	if (d == slash + 1 || *d != '\0') {
		textfile_say(err, errlen, "%s: the prefix length must be a number", quote(spec, q));
		return HW_ERR_INVAL;
	}
	if (len > addr_bits(&p->addr)) {
		textfile_say(err, errlen, "%s: prefix length out of range (IPv%d: 0..%u)", quote(spec, q),
		    p->addr.family == AF_INET ? 4 : 6, addr_bits(&p->addr));
		return HW_ERR_INVAL;
	}
	p->len = len;
	return HW_OK;
}

/* Explains why a prefix cannot be split at split: the count, the limit, what would fit. */
static void say_too_many(const char *spec, unsigned plen, unsigned split, size_t room,
			 const struct hw_target_opts *o, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 4], count[32], hint[64] = "";
	unsigned bits = split - plen, fit = 0;

	if (bits < 64)
		snprintf(count, sizeof(count), "%llu", 1ull << bits);
	else
		snprintf(count, sizeof(count), "2^%u", bits);
	while (fit + 1 < bits && fit + 1 < 64 && (1ull << (fit + 1)) <= room)
		fit++;
	if (room >= 2)
		snprintf(hint, sizeof(hint), "; split at /%u or shorter to stay within it",
			 plen + fit);
	textfile_say(err, errlen, "%s would make %s targets (one per /%u), over the limit of %zu%s%s",
	    quote(spec, q), count, split, o->max_targets,
	    room < o->max_targets ? " with those already listed" : "", hint);
}

static int add_prefix(struct hw_target_list *list, const char *spec,
		      const struct hw_target_opts *o, char *err, size_t errlen)
{
	struct prefix p;
	char text[PREFIXSTRLEN], q[QUOTE_MAX + 4];
	unsigned split, bits;
	size_t n0 = list->n, count, room;
	int rc;

	if ((rc = parse_prefix(spec, &p, err, errlen)) < 0
	    || (rc = check_family(spec, p.addr.family, o, err, errlen)) < 0)
		return rc;
	if (host_bits_set(&p.addr, p.len)) {
		struct hw_addr net = masked(&p.addr, p.len);

		prefix_str(&net, p.len, text);
		textfile_say(err, errlen, "host bits set in %s (the network is %s)", quote(spec, q), text);
		return HW_ERR_INVAL;
	}
	split = p.addr.family == AF_INET ? o->split_v4 : o->split_v6;
	if (split < p.len)
		split = p.len; /* long enough already: one target for the whole prefix */
	bits = split - p.len;
	if (bits == 0 && (rc = check_room(list, 1, o, err, errlen)) < 0)
		return rc;
	room = list->n <= o->max_targets ? o->max_targets - list->n : 0;
	if (bits >= 64 || (1ull << bits) > room) {
		say_too_many(spec, p.len, split, room, o, err, errlen);
		return HW_ERR_INVAL;
	}
	count = (size_t)1 << bits;
	if ((rc = reserve(list, count)) < 0) {
		textfile_say(err, errlen, "out of memory");
		return rc;
	}
	for (size_t i = 0; i < count; i++) {
		struct hw_addr net = p.addr, addr;

		/* Sub-prefix i: the bits between the prefix and the split length count i. */
		for (unsigned k = 0; k < bits; k++)
			if ((i >> k) & 1)
				bit_set(&net, split - 1 - k);
		addr = pick(&net, split, o);
		prefix_str(&net, split, text);
		if (append(list, spec, text, NULL, &net, split, &addr) < 0) {
			truncate_to(list, n0);
			textfile_say(err, errlen, "out of memory");
			return HW_ERR_NOMEM;
		}
	}
	return HW_OK;
}

/* Why a spec that is neither a prefix nor an address is no name either. */
static void say_bad_name(const char *spec, const char *why, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 4];
	bool dotted = true; /* only digits and dots: meant as an IPv4 address */

	for (const char *s = spec; *s; s++)
		dotted = dotted && (is_digit(*s) || *s == '.');
	if (strchr(spec, ':') != NULL)
		textfile_say(err, errlen, "%s is not a valid IPv6 address", quote(spec, q));
	else if (dotted)
		textfile_say(err, errlen, "%s is not a valid IPv4 address", quote(spec, q));
	else
		textfile_say(err, errlen, "%s: %s", quote(spec, q), why);
}

int targets_add(struct hw_target_list *list, const char *spec,
		const struct hw_target_opts *opts, char *err, size_t errlen)
{
	struct hw_target_opts defaults;
	struct hw_addr addr;
	const char *why;
	int rc;

	if (list == NULL || spec == NULL) {
		textfile_say(err, errlen, "no target");
		return HW_ERR_INVAL;
	}
	if (opts == NULL) {
		targets_opts_default(&defaults);
		opts = &defaults;
	}
	if ((rc = check_opts(opts, err, errlen)) < 0)
		return rc;
	if (*spec == '\0') {
		textfile_say(err, errlen, "empty target");
		return HW_ERR_INVAL;
	}
	if (strchr(spec, '/') != NULL)
		return add_prefix(list, spec, opts, err, errlen);
	if ((rc = check_room(list, 1, opts, err, errlen)) < 0)
		return rc;
	if (hw_addr_parse(spec, &addr) == HW_OK) {
		if ((rc = check_family(spec, addr.family, opts, err, errlen)) < 0)
			return rc;
		rc = reserve(list, 1);
		if (rc == HW_OK)
			rc = append(list, spec, NULL, NULL, NULL, 0, &addr);
	} else if ((why = name_problem(spec)) == NULL) {
		rc = reserve(list, 1);
		if (rc == HW_OK)
			rc = append(list, spec, NULL, spec, NULL, 0, NULL);
	} else {
		say_bad_name(spec, why, err, errlen);
		return HW_ERR_INVAL;
	}
	if (rc < 0)
		textfile_say(err, errlen, "out of memory");
	return rc;
}

/* ---- files ---- */

/* Cuts a line down to its spec: no line end, no comment, no surrounding blanks. */
static char *line_spec(char *line, size_t len)
{
	char *hash = memchr(line, '#', len), *end;

	if (hash != NULL)
		len = (size_t)(hash - line);
	end = line + len;
	while (end > line && is_blank(end[-1]))
		end--;
	*end = '\0';
	while (is_blank(*line))
		line++;
	return line;
}

/* Adds the spec on one line of lineno; blank lines and comments add nothing. */
static int add_line(struct hw_target_list *list, char *line, size_t len, unsigned lineno,
		    const struct hw_target_opts *o, char *err, size_t errlen)
{
	const char *spec;

	/* A NUL would silently cut the line short. */
	if (memchr(line, '\0', len) != NULL) {
		textfile_say(err, errlen, "NUL byte in the line");
		return HW_ERR_INVAL;
	}
	/* Editors on some systems start a UTF-8 file with a byte order mark. */
	if (lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		len -= 3;
	}
	spec = line_spec(line, len);
	if (*spec == '\0')
		return HW_OK;
	if (*spec == '@') {
		/* Files naming files would need loop detection for no real use. */
		textfile_say(err, errlen, "@FILE is only allowed on the command line");
		return HW_ERR_INVAL;
	}
	for (const char *s = spec; *s; s++)
		if (is_blank(*s)) {
			textfile_say(err, errlen, "one target per line");
			return HW_ERR_INVAL;
		}
	return targets_add(list, spec, o, err, errlen);
}

int targets_add_stream(struct hw_target_list *list, FILE *f, const char *fname,
		       const struct hw_target_opts *opts, char *err, size_t errlen)
{
	char *line = NULL, why[256];
	size_t cap = 0, n0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = HW_OK;

	if (list == NULL || f == NULL) {
		textfile_say(err, errlen, "no file");
		return HW_ERR_INVAL;
	}
	fname = fname ? fname : "-";
	n0 = list->n;
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if ((rc = add_line(list, line, (size_t)len, lineno, opts, why, sizeof(why))) < 0) {
			textfile_say(err, errlen, "%s:%u: %s", fname, lineno, why);
			break;
		}
		errno = 0;
	}
	if (rc == HW_OK && ferror(f)) {
		textfile_say(err, errlen, "%s: %s", fname, strerror(errno ? errno : EIO));
		rc = HW_ERR_IO;
	}
	free(line);
	if (rc < 0)
		truncate_to(list, n0);
	return rc;
}

int targets_add_file(struct hw_target_list *list, const char *path,
		     const struct hw_target_opts *opts, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	if (list == NULL || path == NULL) {
		textfile_say(err, errlen, "no file");
		return HW_ERR_INVAL;
	}
	if ((f = fopen(path, "re")) == NULL) {
		textfile_say(err, errlen, "%s: %s", path, strerror(errno));
		return HW_ERR_IO;
	}
	rc = targets_add_stream(list, f, path, opts, err, errlen);
	fclose(f);
	return rc;
}

int targets_add_arg(struct hw_target_list *list, const char *arg,
		    const struct hw_target_opts *opts, char *err, size_t errlen)
{
	if (arg != NULL && strcmp(arg, "@-") == 0)
		return targets_add_stream(list, stdin, "stdin", opts, err, errlen);
	if (arg != NULL && strcmp(arg, "@") == 0) {
		textfile_say(err, errlen, "@ needs a file name: @FILE");
		return HW_ERR_INVAL;
	}
	if (arg != NULL && arg[0] == '@')
		return targets_add_file(list, arg + 1, opts, err, errlen);
	return targets_add(list, arg, opts, err, errlen);
}
