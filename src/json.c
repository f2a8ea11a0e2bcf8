/*
 * Runs as JSON documents (schema in docs/json.md), with jansson.
 *
 * The writer builds the whole tree before printing anything, so a run it refuses
 * (a non-finite RTT, an unset address) leaves the output untouched. The reader checks
 * every field's type and range and reports the first problem with its JSON path
 * ("traces[0].hops[2].replies[1].addr: not an IP address"): documents come from disk
 * and other tools, and a bad one must never become a bad struct.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include <hopwatch/aspath.h>
#include <hopwatch/output.h>
#include <hopwatch/status.h>

/* Milliseconds are written with 3 decimals and must lie in 0 .. 10^12 (31 years). */
#define MS_MAX 1e12
/* Times are written as years 1970 .. 9999: [0, 10000-01-01T00:00:00Z) in µs. */
#define US_PER_DAY (86400ULL * 1000000ULL)
#define DAYS_TO_10000 2932897ULL
#define US_MAX (DAYS_TO_10000 * US_PER_DAY - 1)
/* %.15g prints every value rounded to 3 decimals below MS_MAX exactly as rounded. */
#define DUMP_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
#define MPLS_LABEL_MAX 0xfffff
#define FLOW_LABEL_MAX 0xfffff

/* ---- civil time (proleptic Gregorian, UTC), after H. Hinnant's algorithms ---- */

/* Days since 1970-01-01 of a date in years 1970 .. 9999. */
static uint64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
	y -= m <= 2;
	unsigned era = y / 400, yoe = y % 400;
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (uint64_t)era * 146097 + doe - 719468;
}

static void civil_from_days(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint64_t z = days + 719468;
	unsigned era = (unsigned)(z / 146097), doe = (unsigned)(z % 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/* ---- writer ---- */

/* The first error seen while building the tree; later steps become no-ops. */
struct jw {
	int status;
};

static void jw_fail(struct jw *w, int status)
{
	if (w->status == HW_OK)
		w->status = status;
}

/* Sets obj[key]; val NULL means its constructor failed with `why`. Steals val. */
static void put_why(struct jw *w, json_t *obj, const char *key, json_t *val, int why)
{
	if (val == NULL)
		jw_fail(w, why);
	else if (json_object_set_new(obj, key, val) != 0)
		jw_fail(w, HW_ERR_NOMEM);
}

static void put(struct jw *w, json_t *obj, const char *key, json_t *val)
{
	put_why(w, obj, key, val, HW_ERR_NOMEM);
}

static void put_int(struct jw *w, json_t *obj, const char *key, uint64_t v)
{
	put(w, obj, key, json_integer((json_int_t)v));
}

/* NULL becomes null. json_string refuses invalid UTF-8, the likelier failure here. */
static void put_str(struct jw *w, json_t *obj, const char *key, const char *s)
{
	put_why(w, obj, key, s != NULL ? json_string(s) : json_null(), HW_ERR_INVAL);
}

static void put_addr(struct jw *w, json_t *obj, const char *key, const struct hw_addr *a,
		     bool nullable)
{
	char buf[HW_ADDRSTRLEN];

	if (hw_addr_is_unset(a)) {
		if (nullable)
			put(w, obj, key, json_null());
		else
			jw_fail(w, HW_ERR_INVAL);
		return;
	}
	put(w, obj, key, json_string(hw_addr_str(a, buf, sizeof(buf))));
}

/* Rounds to 3 decimals; without libm, which fuzz builds do not link. */
static void put_ms(struct jw *w, json_t *obj, const char *key, double ms)
{
	if (!(ms >= 0 && ms <= MS_MAX)) { /* also catches NaN */
		jw_fail(w, HW_ERR_INVAL);
		return;
	}
	put(w, obj, key, json_real((double)(uint64_t)(ms * 1000 + 0.5) / 1000));
}

static void put_time(struct jw *w, json_t *obj, const char *key, uint64_t us)
{
	char buf[64];
	unsigned y, mo, d;

	if (us > US_MAX) {
		jw_fail(w, HW_ERR_INVAL);
		return;
	}
	uint64_t secs = us / 1000000, day_secs = secs % 86400;
	civil_from_days(secs / 86400, &y, &mo, &d);
	snprintf(buf, sizeof(buf), "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ", y, mo, d,
		 (unsigned)(day_secs / 3600), (unsigned)(day_secs / 60 % 60),
		 (unsigned)(day_secs % 60), (unsigned)(us % 1000000));
	put(w, obj, key, json_string(buf));
}

static json_t *mpls_json(struct jw *w, const struct hw_reply *r)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < r->n_mpls; i++) {
		const struct hw_mpls_label *m = &r->mpls[i];
		json_t *o = json_object();
		put_int(w, o, "label", m->label);
		put_int(w, o, "tc", m->tc);
		put_int(w, o, "s", m->s);
		put_int(w, o, "ttl", m->ttl);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	return arr;
}

/* name, asn, as_name of the reply's address, each only when known (derived from the
   trace's addresses[], for people and jq). */
static void reply_annotation_json(struct jw *w, json_t *o, const struct hw_trace *t,
				  const struct hw_reply *r)
{
	const struct hw_addr_info *info = trace_info(t, &r->addr);

	if (info == NULL)
		return;
	if (info->name != NULL)
		put_str(w, o, "name", info->name);
	if (info->n_origins > 0)
		put_int(w, o, "asn", info->origins[0]);
	if (info->n_origins > 0 && info->as_name != NULL)
		put_str(w, o, "as_name", info->as_name);
}

static json_t *reply_json(struct jw *w, const struct hw_trace *t, const struct hw_reply *r)
{
	json_t *o = json_object();
	char mark[16];

	put_addr(w, o, "addr", &r->addr, false);
	put_int(w, o, "attempt", r->attempt);
	if (t->multipath != HW_MULTIPATH_NONE)
		put_int(w, o, "flow", r->flow_id);
	put_ms(w, o, "rtt_ms", r->rtt_ms);
	put(w, o, "kind", json_string(hw_reply_kind_name(r->kind)));
	put_int(w, o, "icmp_type", r->icmp_type);
	put_int(w, o, "icmp_code", r->icmp_code);
	put_int(w, o, "reply_ttl", r->reply_ttl);
	put_int(w, o, "quoted_ttl", r->quoted_ttl);
	put_int(w, o, "ipid", r->ipid);
	if (r->mtu != 0)
		put_int(w, o, "mtu", r->mtu);
	hw_reply_mark(r, t->dst.family, hw_addr_eq(&r->addr, &t->dst), mark, sizeof(mark));
	if (mark[0] != '\0')
		put(w, o, "mark", json_string(mark));
	if (r->n_mpls > HW_MPLS_MAX)
		jw_fail(w, HW_ERR_INVAL);
	else if (r->n_mpls > 0)
		put(w, o, "mpls", mpls_json(w, r));
	reply_annotation_json(w, o, t, r);
	return o;
}

static json_t *hop_json(struct jw *w, const struct hw_trace *t, const struct hw_hop *hop)
{
	json_t *o = json_object(), *replies = json_array();

	put_int(w, o, "ttl", hop->ttl);
	put_int(w, o, "probes_sent", hop->probes_sent);
	if (hop->per_packet)
		put(w, o, "per_packet", json_true());
	if (hop->skipped)
		put(w, o, "skipped", json_true());
	for (size_t i = 0; i < hop->n_replies && w->status == HW_OK; i++) {
		if (json_array_append_new(replies, reply_json(w, t, &hop->replies[i])) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	put(w, o, "replies", replies);
	return o;
}

static json_t *flow_json(struct jw *w, const struct hw_trace *t)
{
	json_t *o = json_object();

	put_int(w, o, "id", t->flow_id);
	put_int(w, o, "sport", t->sport);
	put_int(w, o, "dport", t->dport);
	put_int(w, o, "tos", t->tos);
	put_int(w, o, "flow_label", t->flow_label);
	return o;
}

static void trace_head_json(struct jw *w, json_t *o, const struct hw_trace *t)
{
	put_str(w, o, "target", t->target);
	if (t->network != NULL) /* additive: only traces expanded from a prefix have one */
		put_str(w, o, "network", t->network);
	put_addr(w, o, "src", &t->src, true);
	put_addr(w, o, "dst", &t->dst, false);
	put_int(w, o, "family", t->dst.family == AF_INET6 ? 6 : 4);
	put(w, o, "method", json_string(hw_method_name(t->method)));
	put(w, o, "flow", flow_json(w, t));
	put_int(w, o, "first_ttl", t->first_ttl);
	put_int(w, o, "max_ttl", t->max_ttl);
	put_int(w, o, "probes_per_hop", t->probes_per_hop);
	if (t->multipath != HW_MULTIPATH_NONE) {
		put(w, o, "multipath", json_string(hw_multipath_name(t->multipath)));
		put_int(w, o, "confidence", t->confidence);
	}
}

static json_t *link_json(struct jw *w, const struct hw_link *l)
{
	json_t *o = json_object();

	put_addr(w, o, "from", &l->from, false);
	put_addr(w, o, "to", &l->to, false);
	put_int(w, o, "ttl", l->ttl);
	put(w, o, "per_packet", json_boolean(l->per_packet));
	return o;
}

static json_t *diamond_json(struct jw *w, const struct hw_diamond *d)
{
	json_t *o = json_object();

	put_addr(w, o, "divergence", &d->divergence, true);
	put_int(w, o, "div_ttl", d->div_ttl);
	put_addr(w, o, "convergence", &d->convergence, true);
	put_int(w, o, "conv_ttl", d->conv_ttl);
	put_int(w, o, "max_width", d->max_width);
	put_int(w, o, "length", d->length);
	return o;
}

/* links[] and diamonds[], which only multipath traces have. */
static void multipath_json(struct jw *w, json_t *o, const struct hw_trace *t)
{
	json_t *links = json_array(), *diamonds = json_array();

	for (size_t i = 0; i < t->n_links && w->status == HW_OK; i++) {
		if (json_array_append_new(links, link_json(w, &t->links[i])) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	put(w, o, "links", links);
	for (size_t i = 0; i < t->n_diamonds && w->status == HW_OK; i++) {
		if (json_array_append_new(diamonds, diamond_json(w, &t->diamonds[i])) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	put(w, o, "diamonds", diamonds);
}

static json_t *info_json(struct jw *w, const struct hw_addr_info *info)
{
	json_t *o = json_object(), *origins = json_array();

	put_addr(w, o, "addr", &info->addr, false);
	put(w, o, "scope", json_string(hw_scope_name((enum hw_scope)info->scope)));
	put_str(w, o, "name", info->name);
	put(w, o, "name_status", json_string(hw_lookup_name((enum hw_lookup)info->name_status)));
	if (info->n_origins > HW_ORIGINS_MAX)
		jw_fail(w, HW_ERR_INVAL);
	for (unsigned i = 0; i < info->n_origins && i < HW_ORIGINS_MAX; i++) {
		if (json_array_append_new(origins, json_integer(info->origins[i])) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	put(w, o, "origins", origins);
	put(w, o, "asn_status", json_string(hw_lookup_name((enum hw_lookup)info->asn_status)));
	put_str(w, o, "as_name", info->as_name);
	return o;
}

/* An AS number, or null for a gap of unknown hops. */
static json_t *asn_or_null(uint32_t asn)
{
	return asn != 0 ? json_integer(asn) : json_null();
}

static json_t *as_path_json(struct jw *w, const struct hw_as_segment *path, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n && w->status == HW_OK; i++) {
		json_t *o = json_object();
		put(w, o, "asn", asn_or_null(path[i].asn));
		put_int(w, o, "first_ttl", path[i].first_ttl);
		put_int(w, o, "last_ttl", path[i].last_ttl);
		put_addr(w, o, "first", &path[i].first, true);
		put_addr(w, o, "last", &path[i].last, true);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	return arr;
}

static json_t *borders_json(struct jw *w, const struct hw_as_border *b, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n && w->status == HW_OK; i++) {
		json_t *o = json_object();
		put_int(w, o, "from_asn", b[i].from_asn);
		put_int(w, o, "to_asn", b[i].to_asn);
		put_int(w, o, "from_ttl", b[i].from_ttl);
		put_int(w, o, "to_ttl", b[i].to_ttl);
		put_addr(w, o, "from", &b[i].from, true);
		put_addr(w, o, "to", &b[i].to, true);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	return arr;
}

/* addresses[] (what annotation learned), then the AS path and borders derived from it. */
static void annotation_json(struct jw *w, json_t *o, const struct hw_trace *t)
{
	json_t *addrs = json_array();
	struct hw_as_segment *path = NULL;
	struct hw_as_border *borders = NULL;
	size_t n_path = 0, n_borders = 0;

	for (size_t i = 0; i < t->n_infos && w->status == HW_OK; i++) {
		if (json_array_append_new(addrs, info_json(w, &t->infos[i])) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	put(w, o, "addresses", addrs);
	if (trace_as_path(t, &path, &n_path) != HW_OK
	    || as_path_borders(path, n_path, &borders, &n_borders) != HW_OK)
		jw_fail(w, HW_ERR_NOMEM);
	put(w, o, "as_path", as_path_json(w, path, n_path));
	put(w, o, "borders", borders_json(w, borders, n_borders));
	free(path);
	free(borders);
}

static json_t *trace_json(struct jw *w, const struct hw_trace *t)
{
	json_t *o = json_object(), *hops = json_array();

	trace_head_json(w, o, t);
	put(w, o, "stop_reason", json_string(hw_stop_reason_name(t->stop_reason)));
	put_int(w, o, "stop_ttl", t->stop_ttl);
	if (t->stop_set_ttl != 0)
		put_int(w, o, "stop_set_ttl", t->stop_set_ttl);
	put_time(w, o, "start", t->start_unix_us);
	put_ms(w, o, "duration_ms", t->duration_ms);
	put_int(w, o, "probes_sent", t->probes_sent);
	put_int(w, o, "replies", t->replies);
	for (size_t i = 0; i < t->n_hops && w->status == HW_OK; i++) {
		if (json_array_append_new(hops, hop_json(w, t, &t->hops[i])) != 0)
			jw_fail(w, HW_ERR_NOMEM);
	}
	put(w, o, "hops", hops);
	if (t->multipath != HW_MULTIPATH_NONE)
		multipath_json(w, o, t);
	if (t->n_infos > 0)
		annotation_json(w, o, t);
	return o;
}

/* The run without its traces: they are written one at a time (see json_write_run). */
static json_t *run_head_json(struct jw *w, const struct hw_run *run)
{
	json_t *o = json_object();

	put(w, o, "schema", json_string(HW_JSON_SCHEMA));
	put_int(w, o, "version", HW_JSON_VERSION);
	put_time(w, o, "start", run->start_unix_us);
	put_str(w, o, "vantage", run->vantage);
	put_str(w, o, "tool", run->tool_version);
	if (run->tag != NULL)
		put_str(w, o, "tag", run->tag);
	if (run->options != NULL)
		put_str(w, o, "options", run->options);
	if (run->n_transit > 0) {
		json_t *transit = json_array();
		for (size_t i = 0; i < run->n_transit; i++) {
			if (json_array_append_new(transit, json_integer(run->transit[i])) != 0)
				jw_fail(w, HW_ERR_NOMEM);
		}
		put(w, o, "transit", transit);
	}
	put(w, o, "traces", json_array());
	return o;
}

/* Writes text with every line indented by `indent` spaces. */
static int write_indented(const char *text, int indent, FILE *out)
{
	for (const char *line = text; *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		if (fprintf(out, "%*s%.*s%s", indent, "", (int)len, line, end ? "\n" : "") < 0)
			return HW_ERR_IO;
		line += len + (end != NULL);
	}
	return HW_OK;
}

/* One trace as an element of the traces array, in the layout jansson gives the whole. */
static int write_trace(struct jw *w, const struct hw_trace *trace, bool first, FILE *out)
{
	json_t *t = trace_json(w, trace);
	char *text = w->status == HW_OK ? json_dumps(t, DUMP_FLAGS) : NULL;
	json_decref(t);
	if (w->status != HW_OK)
		return w->status;
	if (text == NULL) {
		jw_fail(w, HW_ERR_NOMEM);
		return w->status;
	}
	int rc = fputs(first ? "\n" : ",\n", out) == EOF ? HW_ERR_IO : write_indented(text, 4, out);
	free(text);
	return rc;
}

/* Every trace must be writable before a byte is written: a refusal leaves no half document. */
static int check_traces(struct jw *w, const struct hw_run *run)
{
	for (size_t i = 0; i < run->n_traces && w->status == HW_OK; i++) {
		if (run->traces[i] == NULL) {
			jw_fail(w, HW_ERR_INVAL);
			break;
		}
		json_decref(trace_json(w, run->traces[i]));
	}
	return w->status;
}

struct hw_json_stream {
	FILE *out;
	char *head;       /* the head document; tail points at what follows the traces */
	const char *tail;
	size_t n;         /* traces written */
	int status;
};

hw_json_stream_t *json_stream_open(const struct hw_run *run, FILE *out, int *status)
{
	struct jw w = {HW_OK};
	hw_json_stream_t *s = calloc(1, sizeof(*s));
	json_t *head = s != NULL ? run_head_json(&w, run) : NULL;
	char *text = head != NULL && w.status == HW_OK ? json_dumps(head, DUMP_FLAGS) : NULL;
	json_decref(head);
	/* The head ends in '"traces": []\n}': the traces go between the brackets. */
	char *hole = text != NULL ? strstr(text, "\"traces\": []") : NULL;
	*status = w.status != HW_OK ? w.status : hole == NULL ? HW_ERR_NOMEM : HW_OK;
	if (*status != HW_OK) {
		free(text);
		free(s);
		return NULL;
	}
	hole += strlen("\"traces\": [");
	s->out = out;
	s->head = text;
	s->tail = hole;
	if (fwrite(text, 1, (size_t)(hole - text), out) != (size_t)(hole - text))
		s->status = HW_ERR_IO;
	return s;
}

int json_stream_trace(hw_json_stream_t *s, const struct hw_trace *trace)
{
	if (s->status != HW_OK)
		return s->status;
	struct jw w = {HW_OK};
	s->status = write_trace(&w, trace, s->n == 0, s->out);
	s->n++;
	return s->status;
}

int json_stream_close(hw_json_stream_t *s)
{
	if (s == NULL)
		return HW_ERR_INVAL;
	int rc = s->status;
	if (rc == HW_OK && s->n != 0 && fputs("\n  ", s->out) == EOF)
		rc = HW_ERR_IO;
	if (rc == HW_OK && (fputs(s->tail, s->out) == EOF || fputc('\n', s->out) == EOF))
		rc = HW_ERR_IO;
	if (rc == HW_OK && (fflush(s->out) != 0 || ferror(s->out)))
		rc = HW_ERR_IO;
	free(s->head);
	free(s);
	return rc;
}

/* The whole run at once: checked first, so a refusal writes nothing. */
int json_write_run(const struct hw_run *run, FILE *out)
{
	if (run == NULL || out == NULL)
		return HW_ERR_INVAL;
	struct jw w = {HW_OK};
	if (check_traces(&w, run) != HW_OK)
		return w.status;
	int rc;
	hw_json_stream_t *s = json_stream_open(run, out, &rc);
	if (s == NULL)
		return rc;
	for (size_t i = 0; i < run->n_traces; i++)
		json_stream_trace(s, run->traces[i]);
	return json_stream_close(s);
}

int json_trace_dump(const struct hw_trace *trace, char **text)
{
	struct jw w = {HW_OK};
	if (trace == NULL || text == NULL)
		return HW_ERR_INVAL;
	*text = NULL;
	json_t *t = trace_json(&w, trace);
	if (w.status == HW_OK && (*text = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))) == NULL)
		w.status = HW_ERR_NOMEM;
	json_decref(t);
	return w.status;
}

/* ---- reader ---- */

/* Where the reader reports its one error. */
struct jr {
	char *err;
	size_t errlen;
};

/* Paths stay short: the longest is traces[N].hops[N].replies[N].mpls[N].label. */
#define PATH_LEN 128

__attribute__((format(printf, 4, 5)))
static int fail(struct jr *r, int status, const char *path, const char *fmt, ...)
{
	if (r->err == NULL || r->errlen == 0)
		return status;
	va_list ap;
	/* No path: the message is not about one place in the document. */
	int n = path == NULL ? 0 :
		snprintf(r->err, r->errlen, "%s: ", path[0] != '\0' ? path : "document");
	if (n >= 0 && (size_t)n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return status;
}

#define bad(r, path, ...) fail((r), HW_ERR_MALFORMED, (path), __VA_ARGS__)

/* Cannot happen with the schema's nesting; if it ever does, show it was cut. */
static void mark_cut(char *buf, int n)
{
	if (n >= PATH_LEN)
		memcpy(buf + PATH_LEN - 4, "...", 4);
}

static void join(char *buf, const char *path, const char *key)
{
	mark_cut(buf, snprintf(buf, PATH_LEN, "%s%s%s", path, path[0] != '\0' ? "." : "", key));
}

static void join_index(char *buf, const char *path, size_t i)
{
	mark_cut(buf, snprintf(buf, PATH_LEN, "%s[%zu]", path, i));
}

/* obj[key], which must exist; its path goes to kpath. */
static int member(struct jr *r, const json_t *obj, const char *path, const char *key,
		  char *kpath, const json_t **val)
{
	join(kpath, path, key);
	*val = json_object_get(obj, key);
	return *val != NULL ? HW_OK : bad(r, kpath, "missing");
}

static int get_int(struct jr *r, const json_t *obj, const char *path, const char *key,
		   json_int_t min, json_int_t max, json_int_t *out)
{
	char kpath[PATH_LEN];
	const json_t *v;
	int rc = member(r, obj, path, key, kpath, &v);

	if (rc < 0)
		return rc;
	if (!json_is_integer(v))
		return bad(r, kpath, "expected an integer");
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return bad(r, kpath, "%" JSON_INTEGER_FORMAT " is out of range %"
			   JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT, *out, min, max);
	return HW_OK;
}

static int get_u8(struct jr *r, const json_t *obj, const char *path, const char *key,
		  unsigned min, unsigned max, uint8_t *out)
{
	json_int_t v;
	int rc = get_int(r, obj, path, key, min, max, &v);
	if (rc == HW_OK)
		*out = (uint8_t)v;
	return rc;
}

static int get_u16(struct jr *r, const json_t *obj, const char *path, const char *key,
		   uint16_t *out)
{
	json_int_t v;
	int rc = get_int(r, obj, path, key, 0, UINT16_MAX, &v);
	if (rc == HW_OK)
		*out = (uint16_t)v;
	return rc;
}

static int get_u32(struct jr *r, const json_t *obj, const char *path, const char *key,
		   uint32_t max, uint32_t *out)
{
	json_int_t v;
	int rc = get_int(r, obj, path, key, 0, max, &v);
	if (rc == HW_OK)
		*out = (uint32_t)v;
	return rc;
}

static int get_ms(struct jr *r, const json_t *obj, const char *path, const char *key,
		  double *out)
{
	char kpath[PATH_LEN];
	const json_t *v;
	int rc = member(r, obj, path, key, kpath, &v);

	if (rc < 0)
		return rc;
	if (!json_is_number(v))
		return bad(r, kpath, "expected a number");
	*out = json_number_value(v);
	if (!(*out >= 0 && *out <= MS_MAX))
		return bad(r, kpath, "%g is out of range 0..1e12", *out);
	return HW_OK;
}

/* A string member; with nullable, null gives *out = NULL. */
static int get_str(struct jr *r, const json_t *obj, const char *path, const char *key,
		   bool nullable, const char **out)
{
	char kpath[PATH_LEN];
	const json_t *v;
	int rc = member(r, obj, path, key, kpath, &v);

	if (rc < 0)
		return rc;
	*out = NULL;
	if (nullable && json_is_null(v))
		return HW_OK;
	if (!json_is_string(v))
		return bad(r, kpath, nullable ? "expected a string or null" : "expected a string");
	*out = json_string_value(v);
	return HW_OK;
}

/* A member of a type, or NULL when absent and optional. */
static int get_typed(struct jr *r, const json_t *obj, const char *path, const char *key,
		     json_type type, bool optional, const json_t **out)
{
	static const char *const names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
	};
	char kpath[PATH_LEN];

	join(kpath, path, key);
	*out = json_object_get(obj, key);
	if (*out == NULL)
		return optional ? HW_OK : bad(r, kpath, "missing");
	if (json_typeof(*out) != type)
		return bad(r, kpath, "expected %s", names[type]);
	return HW_OK;
}

static int dup_str(struct jr *r, const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return HW_OK;
	/* Not strdup: it is POSIX, and the fuzz build compiles this file as plain C11. */
	size_t n = strlen(s) + 1;
	*out = malloc(n);
	if (*out == NULL)
		return fail(r, HW_ERR_NOMEM, NULL, "out of memory");
	memcpy(*out, s, n);
	return HW_OK;
}

/* An address of the trace's family (0: either). */
static int get_addr(struct jr *r, const json_t *obj, const char *path, const char *key,
		    bool nullable, int family, struct hw_addr *out)
{
	char kpath[PATH_LEN];
	const char *s;
	int rc = get_str(r, obj, path, key, nullable, &s);

	memset(out, 0, sizeof(*out));
	if (rc < 0 || s == NULL)
		return rc;
	join(kpath, path, key);
	if (hw_addr_parse(s, out) != HW_OK)
		return bad(r, kpath, "not an IP address");
	if (family != 0 && out->family != family)
		return bad(r, kpath, "not an IPv%d address", family == AF_INET6 ? 6 : 4);
	return HW_OK;
}

/* Reads exactly n digits. */
static bool digits(const char **p, unsigned n, unsigned *out)
{
	*out = 0;
	for (unsigned i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		*out = *out * 10 + (unsigned)(**p - '0');
	}
	return true;
}

/* Up to 6 fractional digits after the dot, as µs. */
static bool fraction(const char **p, unsigned *us)
{
	unsigned n = 0, scale = 100000;

	*us = 0;
	if (**p != '.')
		return true;
	for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++) {
		if (n == 6)
			return false;
		*us += (unsigned)(**p - '0') * scale;
		scale /= 10;
	}
	return n > 0;
}

/* YYYY-MM-DDTHH:MM:SS[.ffffff]Z, years 1970 .. 9999, no leap second. */
static bool parse_time(const char *s, uint64_t *us)
{
	unsigned y, mo, d, h, mi, sec, frac;
	const char *p = s;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || *p++ != 'T' || !digits(&p, 2, &h) || *p++ != ':' ||
	    !digits(&p, 2, &mi) || *p++ != ':' || !digits(&p, 2, &sec) || !fraction(&p, &frac) ||
	    *p++ != 'Z' || *p != '\0')
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return false;
	uint64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*us = secs * 1000000 + frac;
	return true;
}

static int get_time(struct jr *r, const json_t *obj, const char *path, const char *key,
		    uint64_t *out)
{
	char kpath[PATH_LEN];
	const char *s;
	int rc = get_str(r, obj, path, key, false, &s);

	if (rc < 0)
		return rc;
	join(kpath, path, key);
	if (!parse_time(s, out))
		return bad(r, kpath, "not a UTC time like 2026-11-24T22:30:00.123456Z");
	return HW_OK;
}

static int read_mpls_entry(struct jr *r, const json_t *o, const char *path,
			   struct hw_mpls_label *m)
{
	json_int_t v;
	int rc;

	if (!json_is_object(o))
		return bad(r, path, "expected an object");
	if ((rc = get_int(r, o, path, "label", 0, MPLS_LABEL_MAX, &v)) < 0)
		return rc;
	m->label = (uint32_t)v;
	if ((rc = get_u8(r, o, path, "tc", 0, 7, &m->tc)) < 0 ||
	    (rc = get_u8(r, o, path, "s", 0, 1, &m->s)) < 0 ||
	    (rc = get_u8(r, o, path, "ttl", 0, 255, &m->ttl)) < 0)
		return rc;
	return HW_OK;
}

static int read_mpls(struct jr *r, const json_t *obj, const char *path, struct hw_reply *out)
{
	char kpath[PATH_LEN], epath[PATH_LEN];
	const json_t *arr;
	int rc = get_typed(r, obj, path, "mpls", JSON_ARRAY, true, &arr);

	if (rc < 0 || arr == NULL)
		return rc;
	join(kpath, path, "mpls");
	if (json_array_size(arr) > HW_MPLS_MAX)
		return bad(r, kpath, "more than %d labels", HW_MPLS_MAX);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		join_index(epath, kpath, i);
		if ((rc = read_mpls_entry(r, json_array_get(arr, i), epath, &out->mpls[i])) < 0)
			return rc;
	}
	out->n_mpls = (uint8_t)json_array_size(arr);
	return HW_OK;
}

static int read_kind(struct jr *r, const json_t *obj, const char *path, enum hw_reply_kind *out)
{
	char kpath[PATH_LEN];
	const char *s;
	int rc = get_str(r, obj, path, "kind", false, &s);

	if (rc < 0)
		return rc;
	join(kpath, path, "kind");
	if (hw_reply_kind_parse(s, out) != HW_OK)
		return bad(r, kpath, "unknown reply kind \"%s\"", s);
	return HW_OK;
}

/* An optional AS number member: absent is 0. */
static int get_opt_asn(struct jr *r, const json_t *obj, const char *path, const char *key,
		       uint32_t *out)
{
	*out = 0;
	if (json_object_get(obj, key) == NULL)
		return HW_OK;
	return get_u32(r, obj, path, key, UINT32_MAX, out);
}

/* name, asn, as_name of a reply: derived from the trace's addresses[], so only their
   types are checked here (read_reply_infos uses them when addresses[] is absent). */
static int read_reply_annotation(struct jr *r, const json_t *obj, const char *path)
{
	const json_t *v;
	uint32_t asn;
	int rc;

	if ((rc = get_typed(r, obj, path, "name", JSON_STRING, true, &v)) < 0 ||
	    (rc = get_opt_asn(r, obj, path, "asn", &asn)) < 0 ||
	    (rc = get_typed(r, obj, path, "as_name", JSON_STRING, true, &v)) < 0)
		return rc;
	return HW_OK;
}

/* mtu and mark are optional; mark is derived data, so only its type is checked. */
static int read_reply_extras(struct jr *r, const json_t *obj, const char *path,
			     struct hw_reply *out)
{
	const json_t *mark;
	int rc;

	if (json_object_get(obj, "mtu") != NULL &&
	    (rc = get_u32(r, obj, path, "mtu", UINT32_MAX, &out->mtu)) < 0)
		return rc;
	if ((rc = get_typed(r, obj, path, "mark", JSON_STRING, true, &mark)) < 0)
		return rc;
	if ((rc = read_reply_annotation(r, obj, path)) < 0)
		return rc;
	return read_mpls(r, obj, path, out);
}

static int read_attempt(struct jr *r, const json_t *obj, const char *path,
			const struct hw_hop *hop, uint8_t *out)
{
	char kpath[PATH_LEN];
	int rc = get_u8(r, obj, path, "attempt", 0, HW_ATTEMPT_MAX - 1, out);

	if (rc < 0)
		return rc;
	join(kpath, path, "attempt");
	if (*out >= hop->probes_sent)
		return bad(r, kpath, "%u is not below the hop's probes_sent (%u)", (unsigned)*out,
			   (unsigned)hop->probes_sent);
	return HW_OK;
}

/* A multipath reply names its flow; a single-flow one answers the trace's. */
static int read_reply_flow(struct jr *r, const json_t *obj, const char *path,
			   const struct hw_trace *t, uint16_t *out)
{
	*out = 0;
	if (t->multipath == HW_MULTIPATH_NONE)
		return HW_OK;
	return get_u16(r, obj, path, "flow", out);
}

static int read_reply(struct jr *r, const json_t *obj, const char *path,
		      const struct hw_trace *t, struct hw_hop *hop)
{
	struct hw_reply rep;
	struct hw_mpls_label labels[HW_MPLS_MAX];
	int rc;

	memset(&rep, 0, sizeof(rep));
	rep.mpls = labels; /* read into; hop_add_reply keeps its own copy */
	if (!json_is_object(obj))
		return bad(r, path, "expected an object");
	if ((rc = get_addr(r, obj, path, "addr", false, t->dst.family, &rep.addr)) < 0 ||
	    (rc = read_attempt(r, obj, path, hop, &rep.attempt)) < 0 ||
	    (rc = read_reply_flow(r, obj, path, t, &rep.flow_id)) < 0 ||
	    (rc = get_ms(r, obj, path, "rtt_ms", &rep.rtt_ms)) < 0 ||
	    (rc = read_kind(r, obj, path, &rep.kind)) < 0 ||
	    (rc = get_u8(r, obj, path, "icmp_type", 0, 255, &rep.icmp_type)) < 0 ||
	    (rc = get_u8(r, obj, path, "icmp_code", 0, 255, &rep.icmp_code)) < 0 ||
	    (rc = get_u8(r, obj, path, "reply_ttl", 0, 255, &rep.reply_ttl)) < 0 ||
	    (rc = get_u8(r, obj, path, "quoted_ttl", 0, 255, &rep.quoted_ttl)) < 0 ||
	    (rc = get_u16(r, obj, path, "ipid", &rep.ipid)) < 0 ||
	    (rc = read_reply_extras(r, obj, path, &rep)) < 0)
		return rc;
	if (hop_add_reply(hop, &rep) != HW_OK)
		return fail(r, HW_ERR_NOMEM, NULL, "out of memory");
	return HW_OK;
}

/* An optional boolean member; absent is false. */
static int get_opt_bool(struct jr *r, const json_t *obj, const char *path, const char *key,
			bool *out)
{
	char kpath[PATH_LEN];
	const json_t *v = json_object_get(obj, key);

	*out = false;
	if (v == NULL)
		return HW_OK;
	join(kpath, path, key);
	if (!json_is_boolean(v))
		return bad(r, kpath, "expected true or false");
	*out = json_is_true(v);
	return HW_OK;
}

static int get_bool(struct jr *r, const json_t *obj, const char *path, const char *key,
		    bool *out)
{
	char kpath[PATH_LEN];
	const json_t *v;
	int rc = member(r, obj, path, key, kpath, &v);

	if (rc < 0)
		return rc;
	if (!json_is_boolean(v))
		return bad(r, kpath, "expected true or false");
	*out = json_is_true(v);
	return HW_OK;
}

static int read_hop(struct jr *r, const json_t *obj, const char *path,
		    const struct hw_trace *t, struct hw_hop *hop)
{
	char kpath[PATH_LEN], epath[PATH_LEN];
	const json_t *replies;
	uint8_t ttl = 0;
	/* Multipath discovery may send hundreds of probes with one TTL. */
	uint32_t max_probes = t->multipath != HW_MULTIPATH_NONE ? UINT32_MAX : 255;
	int rc;

	if (!json_is_object(obj))
		return bad(r, path, "expected an object");
	if ((rc = get_u8(r, obj, path, "ttl", 0, 255, &ttl)) < 0)
		return rc;
	join(kpath, path, "ttl");
	if (ttl != hop->ttl)
		return bad(r, kpath, "%u where TTL %u belongs (hops run from first_ttl up)",
			   (unsigned)ttl, (unsigned)hop->ttl);
	if ((rc = get_u32(r, obj, path, "probes_sent", max_probes, &hop->probes_sent)) < 0 ||
	    (rc = get_opt_bool(r, obj, path, "per_packet", &hop->per_packet)) < 0 ||
	    (rc = get_opt_bool(r, obj, path, "skipped", &hop->skipped)) < 0 ||
	    (rc = get_typed(r, obj, path, "replies", JSON_ARRAY, false, &replies)) < 0)
		return rc;
	/* A skipped hop was never probed. */
	join(kpath, path, "skipped");
	if (hop->skipped && (hop->probes_sent != 0 || json_array_size(replies) != 0))
		return bad(r, kpath, "a skipped hop has no probes and no replies");
	join(kpath, path, "replies");
	for (size_t i = 0; i < json_array_size(replies); i++) {
		join_index(epath, kpath, i);
		if ((rc = read_reply(r, json_array_get(replies, i), epath, t, hop)) < 0)
			return rc;
	}
	return HW_OK;
}

static int read_hops(struct jr *r, const json_t *obj, const char *path, struct hw_trace *t)
{
	char kpath[PATH_LEN], epath[PATH_LEN];
	const json_t *hops;
	int rc = get_typed(r, obj, path, "hops", JSON_ARRAY, false, &hops);

	if (rc < 0)
		return rc;
	join(kpath, path, "hops");
	size_t n = json_array_size(hops);
	if (n > t->n_hops)
		return bad(r, kpath, "%zu hops, but TTLs %u..%u hold only %zu", n,
			   (unsigned)t->first_ttl, (unsigned)t->max_ttl, t->n_hops);
	trace_truncate(t, (uint8_t)(t->first_ttl + n - 1));
	for (size_t i = 0; i < n; i++) {
		join_index(epath, kpath, i);
		rc = read_hop(r, json_array_get(hops, i), epath, t, &t->hops[i]);
		if (rc < 0)
			return rc;
	}
	return HW_OK;
}

static int read_method(struct jr *r, const json_t *obj, const char *path, enum hw_method *out)
{
	char kpath[PATH_LEN];
	const char *s;
	int rc = get_str(r, obj, path, "method", false, &s);

	if (rc < 0)
		return rc;
	join(kpath, path, "method");
	if (hw_method_parse(s, out) != HW_OK)
		return bad(r, kpath, "unknown method \"%s\"", s);
	return HW_OK;
}

static int read_flow(struct jr *r, const json_t *obj, const char *path, struct hw_flow *f)
{
	char kpath[PATH_LEN];
	const json_t *fo;
	int rc = get_typed(r, obj, path, "flow", JSON_OBJECT, false, &fo);

	if (rc < 0)
		return rc;
	join(kpath, path, "flow");
	if ((rc = get_u16(r, fo, kpath, "id", &f->flow_id)) < 0 ||
	    (rc = get_u16(r, fo, kpath, "sport", &f->sport)) < 0 ||
	    (rc = get_u16(r, fo, kpath, "dport", &f->dport)) < 0 ||
	    (rc = get_u8(r, fo, kpath, "tos", 0, 255, &f->tos)) < 0 ||
	    (rc = get_u32(r, fo, kpath, "flow_label", FLOW_LABEL_MAX, &f->flow_label)) < 0)
		return rc;
	return HW_OK;
}

/* Family, addresses, method and flow: what trace_new needs to know. */
static int read_flow_head(struct jr *r, const json_t *obj, const char *path, struct hw_flow *f)
{
	json_int_t fam;
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = get_int(r, obj, path, "family", 4, 6, &fam)) < 0)
		return rc;
	if (fam == 5) {
		char kpath[PATH_LEN];
		join(kpath, path, "family");
		return bad(r, kpath, "5 is neither 4 nor 6");
	}
	int family = fam == 6 ? AF_INET6 : AF_INET;
	if ((rc = get_addr(r, obj, path, "src", true, family, &f->src)) < 0 ||
	    (rc = get_addr(r, obj, path, "dst", false, family, &f->dst)) < 0 ||
	    (rc = read_method(r, obj, path, &f->method)) < 0)
		return rc;
	return read_flow(r, obj, path, f);
}

static int read_stop(struct jr *r, const json_t *obj, const char *path, struct hw_trace *t)
{
	char kpath[PATH_LEN];
	const char *s;
	int rc = get_str(r, obj, path, "stop_reason", false, &s);

	if (rc < 0)
		return rc;
	join(kpath, path, "stop_reason");
	if (hw_stop_reason_parse(s, &t->stop_reason) != HW_OK)
		return bad(r, kpath, "unknown stop reason \"%s\"", s);
	if ((rc = get_u8(r, obj, path, "stop_ttl", 0, 255, &t->stop_ttl)) < 0)
		return rc;
	/* Doubletree only; absent is 0. */
	if (json_object_get(obj, "stop_set_ttl") == NULL)
		return HW_OK;
	return get_u8(r, obj, path, "stop_set_ttl", 0, 255, &t->stop_set_ttl);
}

/* multipath and confidence: optional, absent for single-flow traces. */
static int read_multipath(struct jr *r, const json_t *obj, const char *path,
			  enum hw_multipath *mode, uint8_t *confidence)
{
	char kpath[PATH_LEN];
	const json_t *v;
	int rc = get_typed(r, obj, path, "multipath", JSON_STRING, true, &v);

	*mode = HW_MULTIPATH_NONE;
	*confidence = 0;
	if (rc < 0 || v == NULL)
		return rc;
	join(kpath, path, "multipath");
	if (hw_multipath_parse(json_string_value(v), mode) != HW_OK)
		return bad(r, kpath, "unknown multipath mode \"%s\"", json_string_value(v));
	if (*mode == HW_MULTIPATH_NONE)
		return HW_OK;
	return get_u8(r, obj, path, "confidence", 1, 99, confidence);
}

static int read_link(struct jr *r, const json_t *obj, const char *path, struct hw_trace *t)
{
	struct hw_link l;
	int rc;

	memset(&l, 0, sizeof(l));
	if (!json_is_object(obj))
		return bad(r, path, "expected an object");
	if (t->n_hops < 2) {
		char kpath[PATH_LEN];
		join(kpath, path, "ttl");
		return bad(r, kpath, "a link needs two hops, the trace has %zu", t->n_hops);
	}
	/* Both ends must be hops of the document. */
	unsigned last_from = (unsigned)(t->first_ttl + t->n_hops - 2);
	if ((rc = get_addr(r, obj, path, "from", false, t->dst.family, &l.from)) < 0 ||
	    (rc = get_addr(r, obj, path, "to", false, t->dst.family, &l.to)) < 0 ||
	    (rc = get_u8(r, obj, path, "ttl", t->first_ttl, last_from, &l.ttl)) < 0 ||
	    (rc = get_bool(r, obj, path, "per_packet", &l.per_packet)) < 0)
		return rc;
	if (trace_add_link(t, &l) != HW_OK)
		return fail(r, HW_ERR_NOMEM, NULL, "out of memory");
	return HW_OK;
}

/* Where a diamond closes: nowhere (null, conv_ttl 0, length 0) or after it opens. */
static int check_convergence(struct jr *r, const char *path, const struct hw_diamond *d,
			     uint8_t max_ttl)
{
	char kpath[PATH_LEN];
	bool open = hw_addr_is_unset(&d->convergence);

	join(kpath, path, "conv_ttl");
	if (open && d->conv_ttl != 0)
		return bad(r, kpath, "%u without a convergence (0 expected)", (unsigned)d->conv_ttl);
	if (!open && (d->conv_ttl <= d->div_ttl || d->conv_ttl > max_ttl))
		return bad(r, kpath, "%u is out of range %u..%u", (unsigned)d->conv_ttl,
			   d->div_ttl + 1u, (unsigned)max_ttl);
	join(kpath, path, "length");
	unsigned length = open ? 0 : (unsigned)(d->conv_ttl - d->div_ttl);
	if (d->length != length)
		return bad(r, kpath, "%u where conv_ttl - div_ttl makes %u", (unsigned)d->length,
			   length);
	return HW_OK;
}

/* A diamond without a divergence opens before the first hop: at the source. */
static int check_divergence(struct jr *r, const char *path, const struct hw_diamond *d,
			    uint8_t first_ttl)
{
	char kpath[PATH_LEN];
	bool at_source = hw_addr_is_unset(&d->divergence);

	join(kpath, path, "div_ttl");
	if (at_source && d->div_ttl != first_ttl - 1)
		return bad(r, kpath, "%u without a divergence (%u expected)", (unsigned)d->div_ttl,
			   first_ttl - 1u);
	if (!at_source && d->div_ttl < first_ttl)
		return bad(r, kpath, "%u is below the first TTL", (unsigned)d->div_ttl);
	return HW_OK;
}

static int read_diamond(struct jr *r, const json_t *obj, const char *path, struct hw_trace *t)
{
	struct hw_diamond d;
	int family = t->dst.family, rc;

	memset(&d, 0, sizeof(d));
	if (!json_is_object(obj))
		return bad(r, path, "expected an object");
	if ((rc = get_addr(r, obj, path, "divergence", true, family, &d.divergence)) < 0 ||
	    (rc = get_u8(r, obj, path, "div_ttl", 0, t->max_ttl, &d.div_ttl)) < 0 ||
	    (rc = check_divergence(r, path, &d, t->first_ttl)) < 0 ||
	    (rc = get_addr(r, obj, path, "convergence", true, family, &d.convergence)) < 0 ||
	    (rc = get_u8(r, obj, path, "conv_ttl", 0, 255, &d.conv_ttl)) < 0 ||
	    (rc = get_u16(r, obj, path, "max_width", &d.max_width)) < 0 ||
	    (rc = get_u8(r, obj, path, "length", 0, 255, &d.length)) < 0 ||
	    (rc = check_convergence(r, path, &d, t->max_ttl)) < 0)
		return rc;
	if (trace_add_diamond(t, &d) != HW_OK)
		return fail(r, HW_ERR_NOMEM, NULL, "out of memory");
	return HW_OK;
}

typedef int (*read_elem_fn)(struct jr *, const json_t *, const char *, struct hw_trace *);

static int read_array(struct jr *r, const json_t *obj, const char *path, const char *key,
		      read_elem_fn read_elem, struct hw_trace *t)
{
	char kpath[PATH_LEN], epath[PATH_LEN];
	const json_t *arr;
	int rc = get_typed(r, obj, path, key, JSON_ARRAY, false, &arr);

	if (rc < 0)
		return rc;
	join(kpath, path, key);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		join_index(epath, kpath, i);
		if ((rc = read_elem(r, json_array_get(arr, i), epath, t)) < 0)
			return rc;
	}
	return HW_OK;
}

/* links[] and diamonds[]: required in multipath traces, ignored in others. */
static int read_multipath_body(struct jr *r, const json_t *obj, const char *path,
			       struct hw_trace *t)
{
	int rc;

	if (t->multipath == HW_MULTIPATH_NONE)
		return HW_OK;
	if ((rc = read_array(r, obj, path, "links", read_link, t)) < 0)
		return rc;
	return read_array(r, obj, path, "diamonds", read_diamond, t);
}

static int read_lookup(struct jr *r, const json_t *obj, const char *path, const char *key,
		       uint8_t *out)
{
	char kpath[PATH_LEN];
	const char *s;
	enum hw_lookup v;
	int rc = get_str(r, obj, path, key, false, &s);

	if (rc < 0)
		return rc;
	join(kpath, path, key);
	if (hw_lookup_parse(s, &v) != HW_OK)
		return bad(r, kpath, "unknown lookup outcome \"%s\"", s);
	*out = (uint8_t)v;
	return HW_OK;
}

static int read_scope(struct jr *r, const json_t *obj, const char *path, uint8_t *out)
{
	char kpath[PATH_LEN];
	const char *s;
	enum hw_scope v;
	int rc = get_str(r, obj, path, "scope", false, &s);

	if (rc < 0)
		return rc;
	join(kpath, path, "scope");
	if (hw_scope_parse(s, &v) != HW_OK)
		return bad(r, kpath, "unknown scope \"%s\"", s);
	*out = (uint8_t)v;
	return HW_OK;
}

/* origins: 0..HW_ORIGINS_MAX distinct AS numbers 1..2^32-1. */
static int read_origins(struct jr *r, const json_t *obj, const char *path,
			struct hw_addr_info *info)
{
	char kpath[PATH_LEN], epath[PATH_LEN];
	const json_t *arr;
	int rc = get_typed(r, obj, path, "origins", JSON_ARRAY, false, &arr);

	if (rc < 0)
		return rc;
	join(kpath, path, "origins");
	if (json_array_size(arr) > HW_ORIGINS_MAX)
		return bad(r, kpath, "more than %d origins", HW_ORIGINS_MAX);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);
		join_index(epath, kpath, i);
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > (json_int_t)UINT32_MAX)
			return bad(r, epath, "expected an AS number 1..4294967295");
		info->origins[i] = (uint32_t)json_integer_value(v);
		for (size_t j = 0; j < i; j++)
			if (info->origins[j] == info->origins[i])
				return bad(r, epath, "AS%lu twice", (unsigned long)info->origins[i]);
	}
	info->n_origins = (uint8_t)json_array_size(arr);
	return HW_OK;
}

/* What the statuses promise: a name exactly when ok, origins exactly when ok, an AS name
   only with an origin. */
static int check_info(struct jr *r, const char *path, const struct hw_addr_info *info)
{
	char kpath[PATH_LEN];

	join(kpath, path, "name");
	if ((info->name != NULL) != (info->name_status == HW_LOOKUP_OK))
		return bad(r, kpath, "%s with name_status \"%s\"", info->name ? "a name" : "null",
			   hw_lookup_name((enum hw_lookup)info->name_status));
	join(kpath, path, "origins");
	if ((info->n_origins > 0) != (info->asn_status == HW_LOOKUP_OK))
		return bad(r, kpath, "%u origins with asn_status \"%s\"", (unsigned)info->n_origins,
			   hw_lookup_name((enum hw_lookup)info->asn_status));
	join(kpath, path, "as_name");
	if (info->as_name != NULL && info->n_origins == 0)
		return bad(r, kpath, "an AS name without an origin");
	return HW_OK;
}

static int read_info(struct jr *r, const json_t *obj, const char *path, struct hw_trace *t)
{
	struct hw_addr_info tmp, *info;
	const char *name, *as_name;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if (!json_is_object(obj))
		return bad(r, path, "expected an object");
	if ((rc = get_addr(r, obj, path, "addr", false, t->dst.family, &tmp.addr)) < 0 ||
	    (rc = read_scope(r, obj, path, &tmp.scope)) < 0 ||
	    (rc = get_str(r, obj, path, "name", true, &name)) < 0 ||
	    (rc = read_lookup(r, obj, path, "name_status", &tmp.name_status)) < 0 ||
	    (rc = read_origins(r, obj, path, &tmp)) < 0 ||
	    (rc = read_lookup(r, obj, path, "asn_status", &tmp.asn_status)) < 0 ||
	    (rc = get_str(r, obj, path, "as_name", true, &as_name)) < 0)
		return rc;
	tmp.name = (char *)(uintptr_t)name; /* only looked at by check_info */
	tmp.as_name = (char *)(uintptr_t)as_name;
	if ((rc = check_info(r, path, &tmp)) < 0)
		return rc;
	if (trace_info(t, &tmp.addr) != NULL) {
		char kpath[PATH_LEN];
		join(kpath, path, "addr");
		return bad(r, kpath, "listed twice");
	}
	if ((info = trace_info_add(t, &tmp.addr)) == NULL)
		return fail(r, HW_ERR_NOMEM, NULL, "out of memory");
	info->scope = tmp.scope;
	info->name_status = tmp.name_status;
	info->asn_status = tmp.asn_status;
	info->n_origins = tmp.n_origins;
	memcpy(info->origins, tmp.origins, sizeof(info->origins));
	if ((rc = dup_str(r, name, &info->name)) < 0 || (rc = dup_str(r, as_name, &info->as_name)) < 0)
		return rc;
	return HW_OK;
}

/*
 * Without addresses[] (a document from another tool), the replies' own name / asn /
 * as_name annotate their addresses: the first reply that names an address counts.
 */
static int read_reply_infos(struct jr *r, const json_t *obj, struct hw_trace *t)
{
	const json_t *hops = json_object_get(obj, "hops");

	for (size_t i = 0; i < json_array_size(hops); i++) {
		const json_t *replies = json_object_get(json_array_get(hops, i), "replies");
		for (size_t j = 0; j < json_array_size(replies); j++) {
			const json_t *rep = json_array_get(replies, j);
			const json_t *name = json_object_get(rep, "name");
			const json_t *asn = json_object_get(rep, "asn");
			const json_t *as_name = json_object_get(rep, "as_name");
			struct hw_addr a;
			struct hw_addr_info *info;
			int rc;

			if ((!json_is_string(name) && !json_is_integer(asn)) ||
			    hw_addr_parse(json_string_value(json_object_get(rep, "addr")), &a) != HW_OK ||
			    trace_info(t, &a) != NULL)
				continue;
			if ((info = trace_info_add(t, &a)) == NULL)
				return fail(r, HW_ERR_NOMEM, NULL, "out of memory");
			if (json_is_string(name)) {
				info->name_status = HW_LOOKUP_OK;
				if ((rc = dup_str(r, json_string_value(name), &info->name)) < 0)
					return rc;
			}
			/* read_reply checked the range; 0 is no AS. */
			if (json_is_integer(asn) && json_integer_value(asn) > 0) {
				info->asn_status = HW_LOOKUP_OK;
				info->origins[0] = (uint32_t)json_integer_value(asn);
				info->n_origins = 1;
				if (json_is_string(as_name) &&
				    (rc = dup_str(r, json_string_value(as_name), &info->as_name)) < 0)
					return rc;
			}
		}
	}
	return HW_OK;
}

/* addresses[] (optional), and the derived as_path[] and borders[] (types checked only:
   they are recomputed from addresses[]). */
static int read_annotation(struct jr *r, const json_t *obj, const char *path,
			   struct hw_trace *t)
{
	const json_t *v;
	int rc;

	if ((rc = get_typed(r, obj, path, "as_path", JSON_ARRAY, true, &v)) < 0 ||
	    (rc = get_typed(r, obj, path, "borders", JSON_ARRAY, true, &v)) < 0 ||
	    (rc = get_typed(r, obj, path, "addresses", JSON_ARRAY, true, &v)) < 0)
		return rc;
	if (v == NULL)
		return read_reply_infos(r, obj, t);
	return read_array(r, obj, path, "addresses", read_info, t);
}

/* Everything after trace_new: target, outcome, counters, hops, links, diamonds. */
static int read_trace_body(struct jr *r, const json_t *obj, const char *path,
			   struct hw_trace *t)
{
	const char *target, *network = NULL;
	int rc;

	if ((rc = get_str(r, obj, path, "target", true, &target)) < 0 ||
	    (rc = dup_str(r, target, &t->target)) < 0 ||
	    (json_object_get(obj, "network") != NULL &&
	     (rc = get_str(r, obj, path, "network", true, &network)) < 0) ||
	    (rc = dup_str(r, network, &t->network)) < 0 ||
	    (rc = read_stop(r, obj, path, t)) < 0 ||
	    (rc = get_time(r, obj, path, "start", &t->start_unix_us)) < 0 ||
	    (rc = get_ms(r, obj, path, "duration_ms", &t->duration_ms)) < 0 ||
	    (rc = get_u32(r, obj, path, "probes_sent", UINT32_MAX, &t->probes_sent)) < 0 ||
	    (rc = get_u32(r, obj, path, "replies", UINT32_MAX, &t->replies)) < 0 ||
	    (rc = read_hops(r, obj, path, t)) < 0 ||
	    (rc = read_multipath_body(r, obj, path, t)) < 0)
		return rc;
	return read_annotation(r, obj, path, t);
}

static int read_trace(struct jr *r, const json_t *obj, const char *path, struct hw_trace **out)
{
	struct hw_flow flow;
	uint8_t first = 1, max = 1, probes = 0, confidence;
	enum hw_multipath mode;
	int rc;

	*out = NULL;
	if (!json_is_object(obj))
		return bad(r, path, "expected an object");
	if ((rc = read_flow_head(r, obj, path, &flow)) < 0 ||
	    (rc = get_u8(r, obj, path, "first_ttl", 1, 255, &first)) < 0 ||
	    (rc = get_u8(r, obj, path, "max_ttl", first, 255, &max)) < 0 ||
	    (rc = get_u8(r, obj, path, "probes_per_hop", 0, 255, &probes)) < 0 ||
	    (rc = read_multipath(r, obj, path, &mode, &confidence)) < 0)
		return rc;
	struct hw_trace *t = trace_new(&flow, first, max, probes);
	if (t == NULL)
		return fail(r, HW_ERR_NOMEM, NULL, "out of memory");
	t->multipath = mode;
	t->confidence = confidence;
	if ((rc = read_trace_body(r, obj, path, t)) < 0) {
		trace_free(t);
		return rc;
	}
	*out = t;
	return HW_OK;
}

static int read_traces(struct jr *r, const json_t *root, struct hw_run *run)
{
	char path[PATH_LEN];
	const json_t *traces;
	struct hw_trace *t;
	int rc = get_typed(r, root, "", "traces", JSON_ARRAY, false, &traces);

	for (size_t i = 0; rc == HW_OK && i < json_array_size(traces); i++) {
		join_index(path, "traces", i);
		if ((rc = read_trace(r, json_array_get(traces, i), path, &t)) < 0)
			break;
		if (run_add_trace(run, t) != HW_OK) {
			trace_free(t);
			rc = fail(r, HW_ERR_NOMEM, NULL, "out of memory");
		}
	}
	return rc;
}

/* schema and version first: a newer document is refused before anything else is judged. */
static int read_version(struct jr *r, const json_t *root)
{
	const char *schema;
	json_int_t version;
	int rc = get_str(r, root, "", "schema", false, &schema);

	if (rc < 0)
		return rc;
	if (strcmp(schema, HW_JSON_SCHEMA) != 0)
		return bad(r, "schema", "\"%s\" is not \"%s\"", schema, HW_JSON_SCHEMA);
	if ((rc = get_int(r, root, "", "version", 1, INT32_MAX, &version)) < 0)
		return rc;
	if (version > HW_JSON_VERSION)
		return fail(r, HW_ERR_UNSUPPORTED, "version",
			    "%" JSON_INTEGER_FORMAT " is newer than this reader (%d)", version,
			    HW_JSON_VERSION);
	return HW_OK;
}

/* An optional string member of the run: absent or null leaves *out NULL. */
static int read_opt_str(struct jr *r, const json_t *root, const char *key, char **out)
{
	const char *s = NULL;
	int rc;
	if (json_object_get(root, key) == NULL)
		return HW_OK;
	if ((rc = get_str(r, root, "", key, true, &s)) < 0)
		return rc;
	return dup_str(r, s, out);
}

/* transit: optional, distinct AS numbers 1..2^32-1. */
static int read_transit(struct jr *r, const json_t *root, struct hw_run *run)
{
	char epath[PATH_LEN];
	const json_t *arr;
	int rc = get_typed(r, root, "", "transit", JSON_ARRAY, true, &arr);

	if (rc < 0 || arr == NULL || json_array_size(arr) == 0)
		return rc;
	if ((run->transit = calloc(json_array_size(arr), sizeof(*run->transit))) == NULL)
		return fail(r, HW_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);
		join_index(epath, "transit", i);
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > (json_int_t)UINT32_MAX)
			return bad(r, epath, "expected an AS number 1..4294967295");
		run->transit[i] = (uint32_t)json_integer_value(v);
		for (size_t j = 0; j < i; j++)
			if (run->transit[j] == run->transit[i])
				return bad(r, epath, "AS%lu twice", (unsigned long)run->transit[i]);
		run->n_transit = i + 1;
	}
	return HW_OK;
}

static int read_run(struct jr *r, const json_t *root, struct hw_run *run)
{
	const char *vantage, *tool;
	int rc;

	if (!json_is_object(root))
		return bad(r, "", "expected an object");
	if ((rc = read_version(r, root)) < 0 ||
	    (rc = get_time(r, root, "", "start", &run->start_unix_us)) < 0 ||
	    (rc = get_str(r, root, "", "vantage", true, &vantage)) < 0 ||
	    (rc = dup_str(r, vantage, &run->vantage)) < 0 ||
	    (rc = get_str(r, root, "", "tool", true, &tool)) < 0 ||
	    (rc = dup_str(r, tool, &run->tool_version)) < 0 ||
	    (rc = read_opt_str(r, root, "tag", &run->tag)) < 0 ||
	    (rc = read_opt_str(r, root, "options", &run->options)) < 0 ||
	    (rc = read_transit(r, root, run)) < 0)
		return rc;
	return read_traces(r, root, run);
}

/*
 * Parses text into a JSON tree for the readers below; NULL after fail() says why (the
 * caller's err is cleared first, so an empty err means success).
 */
static json_t *load_document(struct jr *r, const char *text, size_t len, int *rc)
{
	json_error_t jerr;

	if (r->err != NULL && r->errlen > 0)
		r->err[0] = '\0';
	if (text == NULL) {
		*rc = fail(r, HW_ERR_INVAL, NULL, "no document");
		return NULL;
	}
	/* Duplicate keys would let two readers of one document see different runs. */
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		char where[48];
		snprintf(where, sizeof(where), "line %d column %d", jerr.line, jerr.column);
		*rc = fail(r, HW_ERR_MALFORMED, where, "%s", jerr.text);
	}
	return root;
}

int json_read_run(const char *text, size_t len, struct hw_run **out, char *err, size_t errlen)
{
	struct jr r = {err, errlen};
	int rc;

	if (out == NULL)
		return fail(&r, HW_ERR_INVAL, NULL, "no document");
	*out = NULL;
	json_t *root = load_document(&r, text, len, &rc);
	if (root == NULL)
		return rc;
	struct hw_run *run = run_new();
	rc = run != NULL ? read_run(&r, root, run) : fail(&r, HW_ERR_NOMEM, NULL, "out of memory");
	json_decref(root);
	if (rc < 0) {
		run_free(run);
		return rc;
	}
	*out = run;
	return HW_OK;
}

int json_trace_load(const char *text, size_t len, struct hw_trace **out, char *err, size_t errlen)
{
	struct jr r = {err, errlen};
	int rc;

	if (out == NULL)
		return fail(&r, HW_ERR_INVAL, NULL, "no document");
	*out = NULL;
	json_t *root = load_document(&r, text, len, &rc);
	if (root == NULL)
		return rc;
	rc = read_trace(&r, root, "trace", out);
	json_decref(root);
	return rc;
}
