/* The simulated network of simnet.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "simnet.h"

#define MAX_NODES 64
#define MAX_LINKS 128
#define MAX_DEPTH 64
#define MAX_TRUTH 1024

enum { F_SILENT = 1, F_PER_PACKET = 2, F_LOOPBACK = 4, F_ROUND_ROBIN = 8 };

struct node {
	char name[16];
	unsigned flags;
	int out[MAX_LINKS];   /* links leaving it, in the order given */
	int n_out;
	uint64_t packets;     /* forwarded so far (round robin) */
};

struct link {
	int from, to;
};

struct sim {
	struct node nodes[MAX_NODES];
	int n_nodes;
	struct link links[MAX_LINKS + 1]; /* links[1..n_links] */
	int n_links;
	int vantage, dst;
	uint64_t seed, rng;
	double loss;
	uint64_t answered;
	struct sim_link truth[MAX_TRUTH];
	size_t n_truth;
	uint64_t dst_ttls;
};

/* splitmix64: a good mix of the seed, the router and the flow, for per-flow hashing. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rng_next(struct sim *net)
{
	net->rng = mix(net->rng);
	return net->rng;
}

static int node_id(struct sim *net, const char *name, size_t len, bool add)
{
	for (int i = 0; i < net->n_nodes; i++) {
		if (strlen(net->nodes[i].name) == len && memcmp(net->nodes[i].name, name, len) == 0)
			return i;
	}
	if (!add || net->n_nodes == MAX_NODES || len == 0 || len >= sizeof(net->nodes[0].name))
		return -1;
	struct node *n = &net->nodes[net->n_nodes];
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	return net->n_nodes++;
}

static bool parse_links(struct sim *net, const char *spec)
{
	const char *p = spec;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		const char *dash = strchr(p, '-'), *end = dash != NULL ? strchr(dash, ' ') : NULL;
		if (dash == NULL)
			return *p == '\0';
		if (end == NULL)
			end = dash + strlen(dash);
		int a = node_id(net, p, (size_t)(dash - p), true);
		int b = node_id(net, dash + 1, (size_t)(end - dash - 1), true);
		if (a < 0 || b < 0 || net->n_links == MAX_LINKS)
			return false;
		net->links[++net->n_links] = (struct link){a, b};
		net->nodes[a].out[net->nodes[a].n_out++] = net->n_links;
		p = end;
	}
	return true;
}

static bool parse_marks(struct sim *net, const char *spec)
{
	static const struct {
		const char *word;
		unsigned flag;
	} words[] = {{"silent", F_SILENT}, {"perpacket", F_PER_PACKET}, {"loopback", F_LOOPBACK},
		       {"roundrobin", F_ROUND_ROBIN}};
	const char *p = spec;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		const char *colon = strchr(p, ':');
		if (colon == NULL)
			return *p == '\0';
		const char *end = strchr(colon, ' ');
		size_t wlen = end != NULL ? (size_t)(end - colon - 1) : strlen(colon + 1);
		int n = node_id(net, p, (size_t)(colon - p), false);
		size_t i = 0;
		while (i < sizeof(words) / sizeof(words[0]) &&
		       (strlen(words[i].word) != wlen || memcmp(words[i].word, colon + 1, wlen) != 0))
			i++;
		if (n < 0 || i == sizeof(words) / sizeof(words[0]))
			return false;
		net->nodes[n].flags |= words[i].flag;
		p = end;
	}
	return true;
}

/* The address a node answers from when reached over link l. */
static struct hw_addr answer_addr(const struct sim *net, int node, int l)
{
	uint8_t b[4] = {198, 18, (uint8_t)l, 2};
	struct hw_addr a;

	if (node == net->dst) {
		/* A host answers from its own address: that of its first ingress link. */
		for (int i = 1; i <= net->n_links; i++) {
			if (net->links[i].to == node) {
				b[2] = (uint8_t)i;
				break;
			}
		}
	} else if (net->nodes[node].flags & F_LOOPBACK) {
		b[0] = 10, b[1] = 255, b[2] = (uint8_t)node, b[3] = 1;
	}
	hw_addr_set(&a, AF_INET, b);
	return a;
}

static void add_truth(struct sim *net, const struct hw_addr *x, const struct hw_addr *y,
		      uint8_t ttl)
{
	for (size_t i = 0; i < net->n_truth; i++) {
		const struct sim_link *l = &net->truth[i];
		if (l->ttl == ttl && hw_addr_eq(&l->from, x) && hw_addr_eq(&l->to, y))
			return;
	}
	if (net->n_truth < MAX_TRUTH)
		net->truth[net->n_truth++] = (struct sim_link){*x, *y, ttl};
}

/*
 * Every path, depth first: path[i] is the link taken to reach the node at TTL i + 1.
 * At each step, what answered at the TTL before and what answers now make a link.
 */
static bool walk(struct sim *net, int node, int l, unsigned depth, const struct hw_addr *prev)
{
	if (depth > MAX_DEPTH)
		return false;
	struct hw_addr here, *ans = NULL;
	if (node == net->dst || !(net->nodes[node].flags & F_SILENT)) {
		here = answer_addr(net, node, l);
		ans = &here;
	}
	if (ans != NULL && prev != NULL)
		add_truth(net, prev, ans, (uint8_t)(depth - 1));
	if (node == net->dst) {
		net->dst_ttls |= depth < 64 ? 1ULL << depth : 0;
		return true;
	}
	for (int i = 0; i < net->nodes[node].n_out; i++) {
		int next = net->nodes[node].out[i];
		if (!walk(net, net->links[next].to, next, depth + 1, ans))
			return false;
	}
	return true;
}

static int by_ttl(const void *a, const void *b)
{
	const struct sim_link *x = a, *y = b;
	int c = (int)x->ttl - (int)y->ttl;
	if (c == 0)
		c = memcmp(x->from.a, y->from.a, 4);
	if (c == 0)
		c = memcmp(x->to.a, y->to.a, 4);
	return c;
}

static bool compute_truth(struct sim *net)
{
	const struct node *v = &net->nodes[net->vantage];

	for (int i = 0; i < v->n_out; i++) {
		int l = v->out[i];
		if (!walk(net, net->links[l].to, l, 1, NULL))
			return false;
	}
	qsort(net->truth, net->n_truth, sizeof(net->truth[0]), by_ttl);
	return true;
}

struct sim *sim_new(const char *links, const char *marks, uint64_t seed)
{
	struct sim *net = calloc(1, sizeof(*net));

	if (net == NULL)
		return NULL;
	net->seed = seed;
	net->rng = mix(seed ^ 0x5eed);
	if (!parse_links(net, links) || net->n_nodes == 0 || !parse_marks(net, marks) ||
	    (net->dst = node_id(net, "d", 1, false)) < 0 || !compute_truth(net)) {
		sim_free(net);
		return NULL;
	}
	net->vantage = 0;
	return net;
}

void sim_free(struct sim *net)
{
	free(net);
}

void sim_set_loss(struct sim *net, double p)
{
	net->loss = p;
}

struct hw_addr sim_dst(const struct sim *net)
{
	return answer_addr(net, net->dst, 0);
}

/* The link a packet of flow_id leaves node by. */
static int next_link(struct sim *net, int node, uint16_t flow_id)
{
	struct node *n = &net->nodes[node];
	uint64_t h;

	if (n->n_out == 1)
		return n->out[0];
	if (n->flags & F_ROUND_ROBIN)
		h = mix(net->seed ^ (uint64_t)node) + n->packets++; /* the seed sets the phase */
	else if (n->flags & F_PER_PACKET)
		h = rng_next(net);
	else
		h = mix(net->seed ^ mix((uint64_t)node << 32 | flow_id));
	return n->out[h % (uint64_t)n->n_out];
}

static void fill(struct sim *net, int node, int l, unsigned hops, struct hw_reply_pkt *out)
{
	memset(out, 0, sizeof(*out));
	out->from = answer_addr(net, node, l);
	if (node == net->dst) {
		out->kind = HW_REPLY_UNREACH;
		out->icmp_type = 3;
		out->icmp_code = 3; /* port unreachable: the destination's own */
	} else {
		out->kind = HW_REPLY_TIME_EXCEEDED;
		out->icmp_type = 11;
	}
	out->reply_ttl = (uint8_t)(64 - hops);
	out->quoted_ttl = 1;
	out->has_quoted_ttl = true;
}

bool sim_probe(struct sim *net, uint16_t flow_id, uint8_t ttl, struct hw_reply_pkt *out,
	       unsigned *hops)
{
	int node = net->vantage, l = 0;

	if (net->loss > 0 && (rng_next(net) >> 11) * 0x1.0p-53 < net->loss)
		return false;
	for (unsigned hop = 1; hop <= ttl; hop++) {
		if (net->nodes[node].n_out == 0)
			return false; /* a dead end drops it */
		l = next_link(net, node, flow_id);
		node = net->links[l].to;
		if (node == net->dst || hop == ttl) {
			if (node != net->dst && (net->nodes[node].flags & F_SILENT))
				return false;
			fill(net, node, l, hop, out);
			*hops = hop;
			net->answered++;
			return true;
		}
	}
	return false;
}

size_t sim_truth(const struct sim *net, struct sim_link *out, size_t max)
{
	size_t n = net->n_truth < max ? net->n_truth : max;
	memcpy(out, net->truth, n * sizeof(*out));
	return net->n_truth;
}

uint64_t sim_dst_ttls(const struct sim *net)
{
	return net->dst_ttls;
}

uint64_t sim_probes(const struct sim *net)
{
	return net->answered;
}
