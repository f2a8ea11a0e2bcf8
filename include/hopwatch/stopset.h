/*
 * Doubletree's local stop set (Donnet, Raoult, Friedman, Crovella, SIGMETRICS 2005): the
 * interfaces one vantage has already seen on its way out during a run, and the distances
 * of the destinations traced so far. A trace that starts in the middle of its path probes
 * backward only until it meets an interface in the set: the path from there to the
 * vantage is already known. One set serves every trace of a run (one thread: no locks).
 *
 * Memory is bounded: at most `max_addrs` addresses are kept (24 bytes each, 48 to 96 with
 * the hash table's slack); past that, new interfaces are not remembered, which costs probes
 * (a later trace probes a little farther back) but never correctness.
 */
#ifndef HOPWATCH_STOPSET_H
#define HOPWATCH_STOPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>

typedef struct hw_stopset hw_stopset_t;

/* The default bound on remembered interfaces (256 Ki addresses, 24 MiB at most). */
#define HW_STOPSET_MAX_ADDRS ((size_t)1 << 18)

/* An empty stop set keeping at most max_addrs addresses (0: the default). NULL on ENOMEM. */
hw_stopset_t *stopset_new(size_t max_addrs);

/* Frees a stop set; NULL is fine. Returns NULL. */
hw_stopset_t *stopset_free(hw_stopset_t *set);

/*
 * A new member id (never 0) for one trace: what it adds is known as its own, so that a
 * trace does not stop at an interface only it has seen (its own earlier probe of the
 * same hop).
 */
uint32_t stopset_member(hw_stopset_t *set);

/*
 * Remembers an interface, seen by member `who` (0: nobody in particular). HW_OK when it
 * is in the set afterwards (also when it already was: the first member keeps it),
 * HW_ERR_NOMEM when the set is full or cannot grow, HW_ERR_INVAL for an unset address.
 */
int stopset_add(hw_stopset_t *set, const struct hw_addr *addr, uint32_t who);

/*
 * Whether an interface is in the set, added by another member than not_by (0: by
 * anyone).
 */
bool stopset_has(const hw_stopset_t *set, const struct hw_addr *addr, uint32_t not_by);

/* Interfaces in the set. */
size_t stopset_size(const hw_stopset_t *set);

/*
 * Notes how far a destination lies (its hop count, 1..255; 0 is ignored). The start TTL
 * of later traces is chosen from these (stopset_start_ttl).
 */
void stopset_note_distance(hw_stopset_t *set, uint8_t distance);

/* How many distances were noted. */
size_t stopset_distances(const hw_stopset_t *set);

/*
 * Where a trace should start probing (Doubletree's h), within first_ttl..max_ttl: the
 * highest TTL that lies beyond at most 5 % of the destinations seen so far (the paper's
 * p = 0.05, counted as overshoot), so the first probe seldom goes past its destination.
 * Reaching the destination exactly at h is no loss: the forward part is then over with
 * one probe, and backward probing runs anyway. With fewer than 20 distances h is the
 * smallest distance seen; with none, first_ttl (the first traces probe their whole path
 * and fill the set).
 */
uint8_t stopset_start_ttl(const hw_stopset_t *set, uint8_t first_ttl, uint8_t max_ttl);

#endif
