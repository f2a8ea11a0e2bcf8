/* AS paths and borders from a trace's hops and its per-address annotation. */
#include <stdlib.h>
#include <string.h>

#include <hopwatch/aspath.h>
#include <hopwatch/status.h>

uint32_t hop_asn(const struct hw_trace *trace, const struct hw_hop *hop, uint32_t prev_asn,
		 struct hw_addr *where)
{
	uint32_t best = 0;
	size_t best_count = 0;
	memset(where, 0, sizeof(*where));
	for (size_t i = 0; i < hop->n_replies; i++) {
		uint32_t asn = trace_asn(trace, &hop->replies[i].addr);
		if (asn == 0)
			continue;
		if (asn == prev_asn) {
			best = asn;
			break;
		}
		/* Quadratic in the replies of one hop, which are few (a multipath hop: tens). */
		size_t count = 0;
		for (size_t j = 0; j < hop->n_replies; j++)
			count += trace_asn(trace, &hop->replies[j].addr) == asn;
		if (count > best_count) {
			best = asn;
			best_count = count;
		}
	}
	if (best == 0)
		return 0;
	for (size_t i = 0; i < hop->n_replies; i++)
		if (trace_asn(trace, &hop->replies[i].addr) == best) {
			*where = hop->replies[i].addr;
			break;
		}
	return best;
}

static struct hw_addr first_answer(const struct hw_hop *hop)
{
	struct hw_addr none = {0};
	return hop->n_replies > 0 ? hop->replies[0].addr : none;
}

int trace_as_path(const struct hw_trace *trace, struct hw_as_segment **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct hw_as_segment *path = NULL;
	size_t len = 0;
	uint32_t prev = 0;
	for (size_t i = 0; i < trace->n_hops; i++) {
		const struct hw_hop *hop = &trace->hops[i];
		struct hw_addr where;
		uint32_t asn = hop_asn(trace, hop, prev, &where);
		if (asn == 0)
			where = first_answer(hop);
		if (len > 0 && path[len - 1].asn == asn) {
			path[len - 1].last_ttl = hop->ttl;
			if (!hw_addr_is_unset(&where)) {
				if (hw_addr_is_unset(&path[len - 1].first))
					path[len - 1].first = where;
				path[len - 1].last = where;
			}
		} else {
			/* At most one segment per hop: n_hops bounds the array. */
			if (path == NULL) {
				path = calloc(trace->n_hops, sizeof(*path));
				if (path == NULL)
					return HW_ERR_NOMEM;
			}
			struct hw_as_segment *seg = &path[len++];
			seg->asn = asn;
			seg->first_ttl = seg->last_ttl = hop->ttl;
			seg->first = seg->last = where;
		}
		if (asn != 0)
			prev = asn;
	}
	*out = path;
	*n = len;
	return HW_OK;
}

int as_path_borders(const struct hw_as_segment *path, size_t n_path, struct hw_as_border **out,
		    size_t *n)
{
	*out = NULL;
	*n = 0;
	struct hw_as_border *borders = NULL;
	size_t len = 0;
	const struct hw_as_segment *prev = NULL;
	for (size_t i = 0; i < n_path; i++) {
		const struct hw_as_segment *seg = &path[i];
		if (seg->asn == 0)
			continue;
		if (prev != NULL && prev->asn != seg->asn) {
			if (borders == NULL) {
				borders = calloc(n_path, sizeof(*borders));
				if (borders == NULL)
					return HW_ERR_NOMEM;
			}
			struct hw_as_border *b = &borders[len++];
			b->from_asn = prev->asn;
			b->to_asn = seg->asn;
			b->from_ttl = prev->last_ttl;
			b->to_ttl = seg->first_ttl;
			b->from = prev->last;
			b->to = seg->first;
		}
		prev = seg;
	}
	*out = borders;
	*n = len;
	return HW_OK;
}
