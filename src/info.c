/*
 * Annotation data kept with a trace: one entry per distinct address (sorted, so a
 * reply's name and AS are a binary search away), and the special-purpose ranges an
 * address can fall in.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/run.h>
#include <hopwatch/status.h>

#include "grow.h"

int hw_addr_cmp(const struct hw_addr *x, const struct hw_addr *y)
{
	if (x->family != y->family)
		return x->family == AF_INET ? -1 : y->family == AF_INET ? 1 : (int)x->family - (int)y->family;
	return memcmp(x->a, y->a, hw_addr_len(x));
}

/* Index of addr in infos, or of where it would go (with *found false). */
static size_t info_search(const struct hw_trace *trace, const struct hw_addr *addr, bool *found)
{
	size_t lo = 0, hi = trace->n_infos;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = hw_addr_cmp(&trace->infos[mid].addr, addr);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const struct hw_addr_info *trace_info(const struct hw_trace *trace, const struct hw_addr *addr)
{
	if (trace == NULL || addr == NULL || hw_addr_is_unset(addr))
		return NULL;
	bool found;
	size_t i = info_search(trace, addr, &found);
	return found ? &trace->infos[i] : NULL;
}

struct hw_addr_info *trace_info_add(struct hw_trace *trace, const struct hw_addr *addr)
{
	if (trace == NULL || addr == NULL || hw_addr_is_unset(addr))
		return NULL;
	bool found;
	size_t i = info_search(trace, addr, &found);
	if (found)
		return &trace->infos[i];
	if (implied_full(trace->n_infos)) {
		struct hw_addr_info *v = implied_grow(trace->infos, trace->n_infos, sizeof(*v));
		if (v == NULL)
			return NULL;
		trace->infos = v;
	}
	memmove(&trace->infos[i + 1], &trace->infos[i],
		(trace->n_infos - i) * sizeof(trace->infos[0]));
	trace->n_infos++;
	struct hw_addr_info *info = &trace->infos[i];
	memset(info, 0, sizeof(*info));
	info->addr = *addr;
	info->scope = (uint8_t)hw_addr_scope(addr);
	return info;
}

void hw_addr_info_release(struct hw_addr_info *info)
{
	if (info == NULL)
		return;
	free(info->name);
	free(info->as_name);
	info->name = NULL;
	info->as_name = NULL;
}

uint32_t trace_asn(const struct hw_trace *trace, const struct hw_addr *addr)
{
	const struct hw_addr_info *info = trace_info(trace, addr);
	return info != NULL && info->n_origins > 0 ? info->origins[0] : 0;
}

/* A special-purpose range: the first `bits` bits of `net` (family's length). */
struct special {
	uint8_t net[16];
	uint8_t bits;
	enum hw_scope scope;
};

static const struct special special4[] = {
	{{0}, 8, HW_SCOPE_RESERVED},
	{{10}, 8, HW_SCOPE_PRIVATE},
	{{100, 64}, 10, HW_SCOPE_SHARED},
	{{127}, 8, HW_SCOPE_LOOPBACK},
	{{169, 254}, 16, HW_SCOPE_LINKLOCAL},
	{{172, 16}, 12, HW_SCOPE_PRIVATE},
	{{192, 0, 0}, 24, HW_SCOPE_RESERVED},
	{{192, 0, 2}, 24, HW_SCOPE_DOCUMENTATION},
	{{192, 88, 99}, 24, HW_SCOPE_RESERVED},
	{{192, 168}, 16, HW_SCOPE_PRIVATE},
	{{198, 18}, 15, HW_SCOPE_BENCHMARK},
	{{198, 51, 100}, 24, HW_SCOPE_DOCUMENTATION},
	{{203, 0, 113}, 24, HW_SCOPE_DOCUMENTATION},
	{{224}, 4, HW_SCOPE_RESERVED},
	{{240}, 4, HW_SCOPE_RESERVED},
};

static const struct special special6[] = {
	{{0}, 128, HW_SCOPE_RESERVED},
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, HW_SCOPE_LOOPBACK},
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, HW_SCOPE_RESERVED},
	{{0x01}, 64, HW_SCOPE_RESERVED},              /* 100::/64 discard */
	{{0x20, 0x01, 0x00, 0x02}, 48, HW_SCOPE_BENCHMARK},
	{{0x20, 0x01, 0x0d, 0xb8}, 32, HW_SCOPE_DOCUMENTATION},
	{{0x3f, 0xff}, 20, HW_SCOPE_DOCUMENTATION},    /* RFC 9637 */
	{{0xfc}, 7, HW_SCOPE_PRIVATE},
	{{0xfe, 0x80}, 10, HW_SCOPE_LINKLOCAL},
	{{0xff}, 8, HW_SCOPE_RESERVED},
};

static bool in_range(const uint8_t *a, const struct special *s)
{
	unsigned full = s->bits / 8, rest = s->bits % 8;
	if (memcmp(a, s->net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (s->net[full] & mask);
}

enum hw_scope hw_addr_scope(const struct hw_addr *addr)
{
	const struct special *table = addr->family == AF_INET ? special4 : special6;
	size_t n = addr->family == AF_INET ? sizeof(special4) / sizeof(special4[0])
					   : sizeof(special6) / sizeof(special6[0]);
	if (addr->family != AF_INET && addr->family != AF_INET6)
		return HW_SCOPE_RESERVED;
	for (size_t i = 0; i < n; i++)
		if (in_range(addr->a, &table[i]))
			return table[i].scope;
	return HW_SCOPE_PUBLIC;
}
