/*
 * The measurement as data: a run holds traces, a trace holds hops, a hop holds replies.
 * Nothing here knows about sockets or clocks; the engine fills these structs and the
 * writers (text, JSON) and later analysis read them.
 */
#ifndef HOPWATCH_RUN_H
#define HOPWATCH_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>
#include <hopwatch/probe.h>
#include <hopwatch/reply.h>

/* Why a trace stopped. */
enum hw_stop_reason {
	HW_STOP_NONE = 0,   /* still running, or never started */
	HW_STOP_COMPLETED,  /* the destination answered */
	HW_STOP_UNREACH,    /* a destination-unreachable other than the destination's own */
	HW_STOP_GAPLIMIT,   /* gap_limit consecutive silent hops */
	HW_STOP_MAXTTL,     /* max TTL reached without an answer from the destination */
	HW_STOP_ERROR,      /* probes could not be sent */
};

/* How a trace explored the paths: one flow, or multipath discovery (mda.h). */
enum hw_multipath {
	HW_MULTIPATH_NONE = 0, /* one Paris flow (tracer.h) */
	HW_MULTIPATH_MDA,      /* the full MDA: every vertex's successors, node control */
	HW_MULTIPATH_LITE,     /* MDA-Lite: hop by hop, MDA only where its assumptions fail */
};

/* One answer to one probe. */
struct hw_reply {
	struct hw_addr addr;
	uint8_t attempt;          /* which probe of its hop this answers (0-based); in a
				     multipath trace, which probe of its flow at this TTL */
	uint16_t flow_id;         /* multipath traces: the flow (--flow N) the probe used;
				     single-flow traces leave it 0 (their flow is the trace's) */
	enum hw_reply_kind kind;
	uint8_t icmp_type, icmp_code;
	double rtt_ms;
	uint8_t reply_ttl;        /* TTL of the reply as received */
	uint8_t quoted_ttl;       /* TTL the probe had when the router saw it (0 = unknown) */
	uint16_t ipid;            /* IPv4 ID of the reply */
	uint32_t mtu;             /* from frag-needed / packet-too-big */
	uint8_t n_mpls;
	/* n_mpls labels. A reply stored in a hop owns them; most replies have none, so they
	 * live apart (a reply is 56 bytes rather than 120: thousands of traces add up). */
	struct hw_mpls_label *mpls;
};

/* Every probe sent with one TTL, and what came back. */
struct hw_hop {
	uint8_t ttl;
	bool per_packet;          /* multipath: one flow's answers here vary per packet */
	bool skipped;             /* not probed: Doubletree stopped probing backward above
				     it (trace->stop_set_ttl), the path there being known */
	uint32_t probes_sent;     /* at most 255 in a single-flow trace */
	size_t n_replies;
	struct hw_reply *replies; /* in arrival order */
};

/*
 * A link between interfaces at consecutive TTLs, seen by one flow id answered by `from`
 * at TTL `ttl` and by `to` at TTL `ttl` + 1. per_packet: one of its TTLs lies past a
 * per-packet load balancer (answers there vary for one flow), so the two answers came
 * from different packets and the link is only as sure as the hops around it.
 */
struct hw_link {
	struct hw_addr from, to;
	uint8_t ttl;              /* of from */
	bool per_packet;
};

/*
 * A diamond: the interfaces fan out after one interface (divergence, at div_ttl) and
 * meet again at one interface (convergence, at conv_ttl). The divergence is unset with
 * div_ttl = first_ttl - 1 when the paths already differ at the first hop; the
 * convergence is unset with conv_ttl 0 when they never met again before the trace
 * stopped. length = conv_ttl - div_ttl (0 when open); max_width: the most interfaces
 * seen at one TTL in between.
 */
struct hw_diamond {
	uint8_t div_ttl, conv_ttl;
	struct hw_addr divergence, convergence;
	uint16_t max_width;
	uint8_t length;
};

/*
 * Where an address sits among the special-purpose ranges (RFC 6890 and its successors):
 * an operator reading a path wants "private" or "shared" said, not an AS that cannot exist.
 */
enum hw_scope {
	HW_SCOPE_PUBLIC = 0,     /* globally routable as far as the registries say */
	HW_SCOPE_PRIVATE,        /* 10/8, 172.16/12, 192.168/16, fc00::/7 */
	HW_SCOPE_SHARED,         /* 100.64/10 (carrier-grade NAT) */
	HW_SCOPE_LOOPBACK,       /* 127/8, ::1 */
	HW_SCOPE_LINKLOCAL,      /* 169.254/16, fe80::/10 */
	HW_SCOPE_DOCUMENTATION,  /* TEST-NET-1/2/3, 2001:db8::/32 */
	HW_SCOPE_BENCHMARK,      /* 198.18/15, 2001:2::/48 */
	HW_SCOPE_RESERVED,       /* anything else never routed: 0/8, 240/4, multicast, ... */
};

/* What became of one lookup about an address. */
enum hw_lookup {
	HW_LOOKUP_NONE = 0,      /* not asked (turned off, or no source configured) */
	HW_LOOKUP_OK,            /* answered */
	HW_LOOKUP_NOTFOUND,      /* the source says there is none (NXDOMAIN, no prefix) */
	HW_LOOKUP_FAILED,        /* no answer in time, or the source failed */
};

/* The most origin ASes kept for one address (multi-origin prefixes have 2 or 3). */
#define HW_ORIGINS_MAX 4

/*
 * What annotation learned about one address seen in a trace. A trace keeps one per
 * distinct address (replies share it), sorted by address: see trace_info().
 */
struct hw_addr_info {
	struct hw_addr addr;
	uint8_t scope;            /* enum hw_scope */
	uint8_t name_status;      /* enum hw_lookup, of the PTR lookup */
	uint8_t asn_status;       /* enum hw_lookup, of the origin AS lookup */
	uint8_t n_origins;        /* origins[] in use; > 1 for a multi-origin prefix */
	uint32_t origins[HW_ORIGINS_MAX]; /* origin ASes, the one to show first */
	char *name;               /* PTR name, NULL when none */
	char *as_name;            /* name of origins[0], NULL when unknown */
};

/* One Paris trace toward one destination along one flow. */
struct hw_trace {
	char *target;             /* as the user named it (NULL = the address) */
	char *network;            /* the network it stands for when expanded from a prefix
				     ("175.45.177.0/24"), else NULL */
	struct hw_addr src, dst;
	enum hw_method method;
	uint16_t flow_id, sport, dport;
	uint8_t tos;
	uint32_t flow_label;
	uint8_t first_ttl, max_ttl, probes_per_hop;
	enum hw_stop_reason stop_reason;
	uint8_t stop_ttl;         /* the hop at which the reason was decided (0 = none) */
	uint8_t stop_set_ttl;     /* Doubletree: the lowest TTL probed backward, where an
				     interface of the stop set answered (or gap_limit silent
				     hops ended); the hops below are skipped. 0 = none */
	uint64_t start_unix_us;   /* wall-clock time the first probe left */
	double duration_ms;
	uint32_t probes_sent;
	uint32_t replies;
	size_t n_hops;            /* hops[i].ttl == first_ttl + i */
	struct hw_hop *hops;
	/* Multipath traces only (multipath != HW_MULTIPATH_NONE). */
	enum hw_multipath multipath;
	uint8_t confidence;       /* percent, of the stopping rule (95, 99) */
	size_t n_links;
	struct hw_link *links;    /* ordered by ttl */
	size_t n_diamonds;
	struct hw_diamond *diamonds;
	/* Annotation (names, origin AS), one entry per distinct address, sorted by address;
	 * empty until something annotates the trace. */
	size_t n_infos;
	struct hw_addr_info *infos;
};

/* A run: what one invocation measured. */
struct hw_run {
	uint64_t start_unix_us;
	char *vantage;            /* host name of the vantage point */
	char *tool_version;
	char *tag;                /* the user's label for the run (--tag), NULL = none */
	char *options;            /* the trace options as given, for comparing like with like */
	int64_t id;               /* its id in the store, 0 = not stored */
	size_t n_transit;         /* ASes the user watches (--transit): output says when a
				     path runs inside one or crosses its border */
	uint32_t *transit;        /* malloc'ed, NULL when none */
	size_t n_traces;
	struct hw_trace **traces;
};

/* Allocates an empty run; NULL on allocation failure. */
struct hw_run *run_new(void);

/* Frees a run and everything it owns; NULL is fine. Returns NULL. */
struct hw_run *run_free(struct hw_run *run);

/*
 * Moves a trace into the run (the run owns it afterwards; on failure the caller still
 * does). Arrays of runs and hops grow only through run_add_trace and hop_add_reply.
 */
int run_add_trace(struct hw_run *run, struct hw_trace *trace);

/*
 * A trace for a flow, with its hop array sized for first..max TTL. NULL on ENOMEM, or
 * when first_ttl is 0 or above max_ttl.
 */
struct hw_trace *trace_new(const struct hw_flow *flow, uint8_t first_ttl, uint8_t max_ttl,
			   uint8_t probes_per_hop);

/* Frees a trace; NULL is fine. Returns NULL. */
struct hw_trace *trace_free(struct hw_trace *trace);

/* The hop for a TTL, or NULL when the TTL lies outside the trace. */
struct hw_hop *trace_hop(struct hw_trace *trace, uint8_t ttl);

/* Appends a reply to a hop (copied, MPLS labels too: the caller keeps its own). */
int hop_add_reply(struct hw_hop *hop, const struct hw_reply *reply);

/* Replaces the MPLS labels of a reply stored in a hop (n = 0 removes them). */
int hw_reply_set_mpls(struct hw_reply *reply, const struct hw_mpls_label *labels, unsigned n);

/*
 * Fills a reply from a parsed packet: everything but attempt, flow_id and rtt_ms. Its
 * MPLS labels point into `labels` (HW_MPLS_MAX entries, the caller's) until hop_add_reply
 * copies them.
 */
void hw_reply_from_packet(struct hw_reply *out, const struct hw_reply_pkt *pkt,
			  struct hw_mpls_label *labels);

/* Drops the hops above ttl (after a stop decision), and the links that reach them. */
void trace_truncate(struct hw_trace *trace, uint8_t last_ttl);

/* Appends a link (copied). */
int trace_add_link(struct hw_trace *trace, const struct hw_link *link);

/* Appends a diamond (copied). */
int trace_add_diamond(struct hw_trace *trace, const struct hw_diamond *diamond);

/*
 * Replaces the trace's diamonds with those its hops show: the distinct reply addresses
 * per TTL are the interfaces, and a diamond runs from a TTL with one interface, through
 * TTLs with several (or none: silent), to the next TTL with one.
 */
int trace_find_diamonds(struct hw_trace *trace);

/* The annotation of an address in a trace, NULL when the trace has none for it. */
const struct hw_addr_info *trace_info(const struct hw_trace *trace, const struct hw_addr *addr);

/*
 * The annotation entry of an address, added (zeroed but for addr and scope) when the
 * trace has none yet; keeps infos sorted. NULL on ENOMEM or an unset address.
 */
struct hw_addr_info *trace_info_add(struct hw_trace *trace, const struct hw_addr *addr);

/* Frees what an info owns (name, as_name) and clears them. */
void hw_addr_info_release(struct hw_addr_info *info);

/* The AS to show for an address in a trace: its first origin, 0 when unknown. */
uint32_t trace_asn(const struct hw_trace *trace, const struct hw_addr *addr);

/* Orders addresses: IPv4 before IPv6, then by bytes. */
int hw_addr_cmp(const struct hw_addr *x, const struct hw_addr *y);

/* The special-purpose range an address falls in (HW_SCOPE_PUBLIC when none). */
enum hw_scope hw_addr_scope(const struct hw_addr *addr);

/* "public", "private", "shared", "loopback", "link-local", "documentation", "benchmark",
 * "reserved". */
const char *hw_scope_name(enum hw_scope scope);

/* Parses a scope name; HW_ERR_INVAL when unknown. */
int hw_scope_parse(const char *text, enum hw_scope *out);

/* "none", "ok", "notfound", "failed". */
const char *hw_lookup_name(enum hw_lookup lookup);

/* Parses a lookup outcome name; HW_ERR_INVAL when unknown. */
int hw_lookup_parse(const char *text, enum hw_lookup *out);

/* "none", "mda", "lite". */
const char *hw_multipath_name(enum hw_multipath mode);

/* Parses a multipath mode name; HW_ERR_INVAL when unknown. */
int hw_multipath_parse(const char *text, enum hw_multipath *out);

/* "completed", "unreach", "gaplimit", "maxttl", "error", "none". */
const char *hw_stop_reason_name(enum hw_stop_reason reason);

/* Parses a stop reason name; HW_ERR_INVAL when unknown. */
int hw_stop_reason_parse(const char *text, enum hw_stop_reason *out);

/* "time-exceeded", "unreach", "echo-reply", "tcp-rst", "tcp-synack", … */
const char *hw_reply_kind_name(enum hw_reply_kind kind);

/* Parses a reply kind name; HW_ERR_INVAL when unknown. */
int hw_reply_kind_parse(const char *text, enum hw_reply_kind *out);

/* Room for any mark hw_reply_mark writes. */
#define HW_MARK_LEN 16

/*
 * The traceroute-style annotation of a reply: "!H", "!N", "!P", "!X", "!S", "!F-1400",
 * "!p" (port unreachable from a host other than the destination), "!<code>" for
 * unreachables that stop a trace, "" otherwise (time exceeded, echo reply, TCP, the
 * destination's own port unreachable). family is the trace's, AF_INET or AF_INET6.
 * Writes into buf and returns it.
 */
const char *hw_reply_mark(const struct hw_reply *reply, int family, bool from_destination,
			  char *buf, size_t len);

#endif
