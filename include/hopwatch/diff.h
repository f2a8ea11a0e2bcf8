/*
 * Path diff of two runs: which targets changed path, which broke and where, per target
 * and per target network. Pure: reads two runs (and the annotation their traces carry),
 * allocates the result, never prints, never looks at a clock. The writers (text, JSON,
 * Markdown) are at the end of this header; docs/diff.md describes the rules and the
 * JSON document.
 */
#ifndef HOPWATCH_DIFF_H
#define HOPWATCH_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hopwatch/run.h>

/* What became of one target between the old and the new run. */
enum hw_diff_status {
	HW_DIFF_UNCHANGED = 0,     /* same path (silent hops and load-balanced branches aside) */
	HW_DIFF_CHANGED,           /* reached in both runs, over another path */
	HW_DIFF_BROKEN,            /* reached in the old run, not in the new one */
	HW_DIFF_RECOVERED,         /* not reached in the old run, reached in the new one */
	HW_DIFF_STILL_UNREACHABLE, /* reached in neither */
	HW_DIFF_ONLY_OLD,          /* traced in the old run only */
	HW_DIFF_ONLY_NEW,          /* traced in the new run only */
	HW_DIFF_NOT_COMPARABLE,    /* traced in both, but along other flows or methods */
};
#define HW_DIFF_NSTATUS 8

/* Where a break falls in AS terms. */
enum hw_diff_where {
	HW_DIFF_WHERE_UNKNOWN = 0, /* an AS on either side of the break is not known */
	HW_DIFF_WHERE_INSIDE,      /* between two hops of one AS */
	HW_DIFF_WHERE_BORDER,      /* where the old path left one AS for another */
	HW_DIFF_WHERE_LOOP,        /* the new path loops (see hw_diff_target.loop); from_asn
				      and to_asn still say inside or on a border */
};

/* How the two traces of a target were paired (the store's notion of comparable runs:
 * by network, then target name, then address). */
enum hw_diff_pairing {
	HW_DIFF_PAIRED_NONE = 0,   /* only-old, only-new */
	HW_DIFF_PAIRED_ADDR,       /* the same destination address */
	HW_DIFF_PAIRED_NAME,       /* the same target name, another address (a host name
				      that moved) */
	HW_DIFF_PAIRED_NETWORK,    /* the same network, another address (--pick random) */
};

/* One interface at one TTL named by a diff, with what annotation knows about it. */
struct hw_diff_hop {
	uint8_t ttl;              /* 0 = none */
	struct hw_addr addr;
	uint32_t asn;             /* 0 = unknown */
	const char *name;         /* PTR name, borrowed from a run's annotation; NULL = none */
	const char *as_name;      /* borrowed too; NULL = none */
};

/* A TTL where both runs answered, from interfaces that are not the same path. */
struct hw_diff_change {
	uint8_t ttl;
	uint16_t n_old, n_new;    /* 0 on one side: the path got longer or shorter there */
	struct hw_addr *addrs;    /* n_old old interfaces, then n_new new ones, each sorted */
};

/* TTLs first..last that answered in one run and not in the other while the path goes
 * on past them (later hops, or the destination, still answer): ICMP rate limiting or
 * filtering, not a path change. */
struct hw_diff_silence {
	uint8_t first_ttl, last_ttl;
	bool in_new;              /* silent in the new run; false: silent in the old one */
};

/*
 * A routing loop in the new run: the interface of first_ttl answers again at a later,
 * non-consecutive TTL (last_ttl + 1). hops: one per TTL first_ttl..last_ttl, the first
 * interface that answered there (addr unset: silent). TTLs of the new run.
 */
struct hw_diff_loop {
	uint8_t first_ttl, last_ttl;
	size_t n_hops;
	struct hw_diff_hop *hops;
};

/*
 * Where a path that reached its destination stops now. last_reached: the hop of the old
 * path the new run still reaches that lies deepest on the old path (ttl 0 when none is
 * left); first_lost: the hop of the old path right after it, which the new run no longer
 * reaches. Both TTLs are the old path's (a looping or shifted new path reaches them at
 * other TTLs). from_asn / to_asn:
 * the ASes on either side (the nearest known ones along the old path), where their
 * relation, transit_asn the AS of diff_opts.transit found there (0 = none).
 */
struct hw_diff_break {
	struct hw_diff_hop last_reached, first_lost;
	uint8_t old_ttl;          /* TTL of last_reached in the old path (= last_reached.ttl) */
	enum hw_diff_where where;
	uint32_t from_asn, to_asn;
	uint32_t transit_asn;
};

/* One destination (and flow) compared across the two runs. */
struct hw_diff_target {
	enum hw_diff_status status;
	const struct hw_trace *old, *new; /* borrowed; NULL for the side it is missing from */
	struct hw_addr dst;       /* the new trace's destination (the old one's when only-old) */
	struct hw_addr old_dst;   /* the old trace's (unset when only-new); differs from dst
				     when paired by name or network */
	enum hw_diff_pairing paired_by;
	const char *target;       /* as the user named it (borrowed; NULL = the address) */
	const char *network;      /* the network it stands for (borrowed; NULL = none) */
	bool multipath;           /* either run had multipath data for it */
	bool old_reached, new_reached;
	uint8_t old_last_ttl, new_last_ttl; /* deepest TTL that answered (0 = none) */
	size_t n_changes;
	struct hw_diff_change *changes;
	size_t n_silences;
	struct hw_diff_silence *silences;
	bool has_break;           /* status HW_DIFF_BROKEN: brk is set */
	struct hw_diff_break brk;
	/* The hops of the old path the new run still reaches (broken targets), by old TTL:
	 * ttl (the old path's), addr. */
	size_t n_shared;
	struct hw_diff_hop *shared;
	/* A routing loop in a new run that does not reach its destination. */
	bool has_loop;
	struct hw_diff_loop loop;
	/* AS paths (known ASes in order, consecutive repeats and gaps dropped), when either
	 * trace carries AS data and the target is not unchanged. as_in_old / as_in_new: that
	 * trace carries AS data (when only one does, nothing is said to have changed).
	 * as_changed: the paths differ where both runs know the ASes: an AS missing from one
	 * run only because its hops are silent (or unannotated) there is no change. */
	bool has_as;
	bool as_in_old, as_in_new;
	bool as_changed;
	size_t n_as_old, n_as_new;
	uint32_t *as_old, *as_new;
};

/* How a group of targets came about. */
enum hw_diff_group_kind {
	HW_DIFF_GROUP_NETWORK = 0, /* targets with one trace->network */
	HW_DIFF_GROUP_PREFIX,      /* networks expanded from one prefix the user named */
};

/*
 * Targets of one network, or of one prefix the user gave (trace->target when the trace
 * stands for a sub-network of it). Counts by status; for the broken ones, the common
 * break point: the deepest hop all of them still reach (has_common), the hop all of them
 * lose after it (first_lost.ttl 0 when they differ) and the AS they lose into (to_asn,
 * 0 when it differs or is unknown).
 */
struct hw_diff_group {
	const char *name;         /* "175.45.176.0/22" (borrowed) */
	enum hw_diff_group_kind kind;
	uint8_t member_len;       /* prefix length all member networks share, 0 = mixed */
	size_t n_members;
	size_t *members;          /* indexes into hw_diff.targets */
	size_t count[HW_DIFF_NSTATUS];
	size_t n_unreachable;     /* members not reached in the new run (of those traced) */
	bool has_common;
	struct hw_diff_break common;
};

/* The whole comparison. Borrows from both runs: free it before them. */
struct hw_diff {
	const struct hw_run *old, *new;
	size_t n_targets;
	struct hw_diff_target *targets; /* by destination address, then flow */
	size_t n_groups;
	struct hw_diff_group *groups;   /* prefixes first, then networks; by name */
	size_t count[HW_DIFF_NSTATUS];
	size_t n_transit;
	uint32_t *transit;        /* the ASes of interest used: opts' and both runs', sorted */
};

/* Options of a diff. Zeroed is the default. */
struct hw_diff_opts {
	const uint32_t *transit;  /* ASes of interest (--transit): breaks in or next to them
				     say so; added to the runs' own lists (hw_run.transit) */
	size_t n_transit;
};

/*
 * Compares two runs target by target (see docs/diff.md for the rules) and groups the
 * results per network. Traces pair by destination address, then by target name, then
 * by network, always along the same family, method, port and flow. opts may be NULL.
 * *out is freed with diff_free; HW_ERR_NOMEM or HW_ERR_INVAL (a NULL run) on failure.
 */
int diff_runs(const struct hw_run *old, const struct hw_run *new,
	      const struct hw_diff_opts *opts, struct hw_diff **out);

/* Frees a diff; NULL is fine. Returns NULL. */
struct hw_diff *diff_free(struct hw_diff *diff);

/*
 * True when anything changed: a target that is not unchanged (a still unreachable one
 * only when its path changed). Silent hops alone are no change. Drives the exit status.
 */
bool diff_has_changes(const struct hw_diff *diff);

/* True when a target counts as a change (as diff_has_changes). */
bool diff_target_changed(const struct hw_diff_target *t);

/* "unchanged", "changed", "broken", "recovered", "still-unreachable", "only-old",
 * "only-new", "not-comparable". */
const char *diff_status_name(enum hw_diff_status status);

/* "unknown", "inside", "border", "loop". */
const char *diff_where_name(enum hw_diff_where where);

/* "none", "address", "name", "network". */
const char *diff_pairing_name(enum hw_diff_pairing pairing);

/* ---- writers (src/diff_out.c); each returns HW_OK or HW_ERR_IO / HW_ERR_NOMEM ---- */

/* The JSON schema name and version of a diff document. */
#define HW_DIFF_JSON_SCHEMA "hopwatch-diff"
#define HW_DIFF_JSON_VERSION 1

/* Text for people: the answer in the first line, one line per network or target that
 * changed, then the details. */
int diff_write_text(const struct hw_diff *diff, FILE *out);

/* The JSON document of docs/diff.md. */
int diff_write_json(const struct hw_diff *diff, FILE *out);

/* A Markdown report: summary, per network, per target, details. */
int diff_write_md(const struct hw_diff *diff, FILE *out);

/*
 * The one-line summary of a group ("4/4 targets of 175.45.176.0/22 lost beyond hop 7
 * (AS4837) at the AS4837 → AS131279 border") or of a target, into buf; returns buf.
 */
const char *diff_group_summary(const struct hw_diff_group *g, char *buf, size_t len);
const char *diff_target_summary(const struct hw_diff_target *t, char *buf, size_t len);

#endif
