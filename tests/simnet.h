/*
 * A simulated network for the multipath tests: a topology as data, answering probes the
 * way a lab would. Nodes are routers or hosts; links are directed toward the destination
 * and numbered from 1 in the order given; link L gives its downstream node the address
 * 198.18.L.2 (the ingress interface). A router answers an expiring probe from that
 * ingress address (as Linux does), or, marked "loopback", from one address of its own
 * (10.255.N.1) whatever the ingress. A router with several next hops balances per flow
 * (a hash of the seed, the router and the flow id picks one) or, marked "perpacket",
 * per packet (a seeded PRNG), or, marked "roundrobin", per packet in turn (a counter of
 * the packets it forwarded, as nftables' numgen inc in the lab's perpacket topology:
 * one flow's consecutive packets alternate, and flows sent in turn may cross over
 * consistently, which looks like per-flow balancing). A "silent" router never answers. The destination is the
 * host named "d": it answers any probe that reaches it from its first ingress address,
 * with a port unreachable. Everything is deterministic for a seed.
 *
 * The ground truth is computed from every path through the topology: the addresses that
 * answer at each TTL, and a link wherever one path shows two answering addresses at
 * consecutive TTLs (nothing leaves the destination) -- as tools/lab computes it.
 */
#ifndef HOPWATCH_TESTS_SIMNET_H
#define HOPWATCH_TESTS_SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>
#include <hopwatch/reply.h>

struct sim;

/* One true link between answering addresses at TTLs ttl and ttl + 1. */
struct sim_link {
	struct hw_addr from, to;
	uint8_t ttl;
};

/*
 * A network from a topology: links "v-r1 r1-a r1-b a-d b-d" (the first node is the
 * vantage point, "d" the destination) and node marks "r1:perpacket a:silent b:loopback"
 * (NULL for none). NULL on a bad spec (no "d", a loop, an unknown node in a mark).
 */
struct sim *sim_new(const char *links, const char *marks, uint64_t seed);

/* Frees the network; NULL is fine. */
void sim_free(struct sim *net);

/* Each probe is lost with this probability (PRNG-drawn), answered or not. */
void sim_set_loss(struct sim *net, double p);

/* The destination's address. */
struct hw_addr sim_dst(const struct sim *net);

/*
 * What the network answers to a probe of flow_id with ttl: true and the reply (kind,
 * from, codes, TTLs), with the number of hops it went, or false when nobody answers.
 */
bool sim_probe(struct sim *net, uint16_t flow_id, uint8_t ttl, struct hw_reply_pkt *out,
	       unsigned *hops);

/* The ground-truth links, ordered by TTL; returns how many there are (at most max). */
size_t sim_truth(const struct sim *net, struct sim_link *out, size_t max);

/* The TTLs at which the destination answers, as a bit set (bit t: TTL t, t < 64). */
uint64_t sim_dst_ttls(const struct sim *net);

/* Probes answered so far (for counting what the network saw). */
uint64_t sim_probes(const struct sim *net);

#endif
