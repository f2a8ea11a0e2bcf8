/*
 * The stop set as an open-addressing hash table of addresses (linear probing, at most
 * half full, never shrinks: a run only adds), each with the member that added it first,
 * and a histogram of destination distances.
 */
#include <stdlib.h>
#include <string.h>

#include <hopwatch/status.h>
#include <hopwatch/stopset.h>

struct entry {
	struct hw_addr addr;   /* family 0: empty */
	uint32_t who;          /* the member that added it first (0: nobody in particular) */
};

struct hw_stopset {
	struct entry *slots;
	size_t n_slots;        /* a power of two */
	size_t n;
	size_t max;
	uint32_t dist[256];    /* destinations seen at each hop count */
	size_t n_dist;
	uint32_t members;      /* member ids given out */
};

/* Doubletree's p: the share of destinations the first probe may reach. */
#define START_P_PERCENT 5

hw_stopset_t *stopset_new(size_t max_addrs)
{
	hw_stopset_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->max = max_addrs != 0 ? max_addrs : HW_STOPSET_MAX_ADDRS;
	s->n_slots = 256;
	s->slots = calloc(s->n_slots, sizeof(*s->slots));
	if (s->slots == NULL)
		return stopset_free(s);
	return s;
}

hw_stopset_t *stopset_free(hw_stopset_t *s)
{
	if (s != NULL) {
		free(s->slots);
		free(s);
	}
	return NULL;
}

/* FNV-1a over the family and the address bytes in use. */
static size_t addr_hash(const struct hw_addr *a)
{
	uint64_t h = 1469598103934665603u;
	size_t len = hw_addr_len(a);
	h = (h ^ a->family) * 1099511628211u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ a->a[i]) * 1099511628211u;
	return (size_t)(h ^ (h >> 29));
}

/* The slot holding addr, or the empty slot where it belongs. */
static struct entry *find_slot(struct entry *slots, size_t n_slots, const struct hw_addr *a)
{
	size_t mask = n_slots - 1;
	for (size_t i = addr_hash(a) & mask;; i = (i + 1) & mask) {
		if (slots[i].addr.family == 0 || hw_addr_eq(&slots[i].addr, a))
			return &slots[i];
	}
}

static int grow(hw_stopset_t *s)
{
	size_t n_slots = s->n_slots * 2;
	struct entry *slots = calloc(n_slots, sizeof(*slots));
	if (slots == NULL)
		return HW_ERR_NOMEM;
	for (size_t i = 0; i < s->n_slots; i++)
		if (s->slots[i].addr.family != 0)
			*find_slot(slots, n_slots, &s->slots[i].addr) = s->slots[i];
	free(s->slots);
	s->slots = slots;
	s->n_slots = n_slots;
	return HW_OK;
}

uint32_t stopset_member(hw_stopset_t *s)
{
	/* After 2^32 - 1 members ids repeat: a trace may then take another's interface for
	 * its own and probe one hop more, nothing worse. */
	if (++s->members == 0)
		s->members = 1;
	return s->members;
}

int stopset_add(hw_stopset_t *s, const struct hw_addr *a, uint32_t who)
{
	if (hw_addr_is_unset(a))
		return HW_ERR_INVAL;
	struct entry *slot = find_slot(s->slots, s->n_slots, a);
	if (slot->addr.family != 0)
		return HW_OK;
	if (s->n >= s->max)
		return HW_ERR_NOMEM;
	/* Keep the table at most half full so probe chains stay short. */
	if ((s->n + 1) * 2 > s->n_slots) {
		if (grow(s) != HW_OK)
			return HW_ERR_NOMEM;
		slot = find_slot(s->slots, s->n_slots, a);
	}
	/* Only the bytes of the family count: copy them onto a clean slot. */
	memset(slot, 0, sizeof(*slot));
	slot->addr.family = a->family;
	memcpy(slot->addr.a, a->a, hw_addr_len(a));
	slot->who = who;
	s->n++;
	return HW_OK;
}

bool stopset_has(const hw_stopset_t *s, const struct hw_addr *a, uint32_t not_by)
{
	if (hw_addr_is_unset(a))
		return false;
	const struct entry *e = find_slot(s->slots, s->n_slots, a);
	return e->addr.family != 0 && (not_by == 0 || e->who != not_by);
}

size_t stopset_size(const hw_stopset_t *s)
{
	return s->n;
}

void stopset_note_distance(hw_stopset_t *s, uint8_t distance)
{
	if (distance == 0)
		return;
	s->dist[distance]++;
	s->n_dist++;
}

size_t stopset_distances(const hw_stopset_t *s)
{
	return s->n_dist;
}

uint8_t stopset_start_ttl(const hw_stopset_t *s, uint8_t first_ttl, uint8_t max_ttl)
{
	if (s == NULL || s->n_dist == 0 || first_ttl >= max_ttl)
		return first_ttl;
	/* The highest h with count(distance < h) <= p * n: at h the first probe goes past at
	 * most a share p of the destinations seen. One that answers exactly at h costs
	 * nothing (the forward part is over at once; backward runs anyway); one behind h
	 * answers every probe from h back to its distance, each a probe spent for nothing. */
	size_t below = 0;
	unsigned h = 1;
	for (unsigned d = 1; d < max_ttl; d++) {
		below += s->dist[d];
		if (below * 100 > (size_t)START_P_PERCENT * s->n_dist)
			break;
		h = d + 1;
	}
	return (uint8_t)(h < first_ttl ? first_ttl : h);
}
