/*
 * Who owns each hop: annotates a trace's reply addresses with their reverse name (PTR),
 * origin AS and AS name, and labels special-purpose addresses by scope.
 *
 * Sources, in order of preference for the origin AS: a local prefix-to-AS table
 * (asn.h), then DNS in the Team Cymru format (cymru.h); for the AS name: a local AS-name
 * table, then Cymru's ASnnn TXT records. DNS goes through c-ares on the caller's loop
 * (resolve.h): nothing blocks, at most max_inflight questions of each kind are out at once, every
 * question has its deadline, and every address and AS is asked once per annotator (a
 * run's cache). Addresses in private, shared, loopback, link-local and reserved ranges
 * are never asked of the Cymru zone (documentation and benchmark ranges are: labs use
 * them); their PTR names are asked, as traceroute does.
 *
 * When the DNS server keeps failing (GIVE_UP consecutive lookups without an answer: no
 * reply in time, or refused) the annotator stops asking for the rest of its life:
 * offline, a run ends after at most a few timeouts instead of one timeout per address.
 * PTR names and Cymru lookups are given up separately (a lame reverse zone leaves the AS
 * lookups on, and the reverse), and an answer -- NXDOMAIN, or even SERVFAIL -- shows a
 * live server: it fails that lookup only and counts toward nothing.
 */
#ifndef HOPWATCH_ANNOTATE_H
#define HOPWATCH_ANNOTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/asn.h>
#include <hopwatch/loop.h>
#include <hopwatch/run.h>

/* Consecutive DNS lookups of one kind without an answer after which that kind is given up. */
#define ANNOTATE_GIVE_UP 32

struct hw_annotate_opts {
	const char *dns_server;          /* "ADDR[:PORT]", "[IPV6]:PORT", NULL: the system's */
	double dns_timeout;              /* seconds per DNS lookup (5) */
	bool names;                      /* ask PTR names (true) */
	bool asn_dns;                    /* ask origin AS and AS names over DNS (true) */
	const char *asn_zone;            /* the Cymru-format zone (CYMRU_ZONE) */
	const hw_asn_table_t *asn_table; /* local origins, borrowed; NULL: none */
	const hw_as_names_t *as_names;   /* local AS names, borrowed; NULL: none */
	size_t max_inflight;             /* DNS lookups of each kind (PTR, Cymru) out at once (128) */
};

/* The defaults above. */
void annotate_opts_default(struct hw_annotate_opts *opts);

typedef struct hw_annotator hw_annotator_t;

/*
 * An annotator on loop (borrowed: close the annotator first). It opens a resolver for
 * PTR names when names asks for them, one for Cymru lookups when asn_dns does. NULL with *status set on failure: HW_ERR_INVAL for
 * a bad server, timeout, zone or max_inflight, HW_ERR_NOMEM.
 */
hw_annotator_t *annotator_open(hw_loop_t *loop, const struct hw_annotate_opts *opts,
			       int *status);

/*
 * Called once per annotated trace; status HW_OK, or HW_ERR_NOMEM when the trace's
 * annotation could not be stored (it then has none).
 */
typedef void (*hw_annotate_cb)(void *arg, struct hw_trace *trace, int status);

/*
 * Annotates every distinct reply address of trace: its infos (run.h) are replaced by one
 * entry per address with scope, name and name_status, origins and asn_status, as_name.
 * cb runs exactly once, from the loop, never within this call -- also when everything
 * came from the cache or the tables. The trace must stay alive and untouched until then,
 * and must not be handed in twice at once. The callback may annotate more traces; it must
 * not close the annotator. HW_OK, or HW_ERR_INVAL / HW_ERR_NOMEM and cb is never called.
 */
int annotator_trace(hw_annotator_t *annotator, struct hw_trace *trace, hw_annotate_cb cb,
		    void *arg);

/* Traces handed in whose callback has not run yet. */
size_t annotator_pending(const hw_annotator_t *annotator);

/* What an annotator did. */
struct hw_annotate_stats {
	uint64_t addresses;      /* distinct addresses looked at (the cache's size) */
	uint64_t cache_hits;     /* addresses of a trace already known from an earlier one */
	uint64_t ptr_queries, origin_queries, asname_queries; /* DNS lookups started */
	uint64_t answered;       /* lookups answered (a record, or "none") */
	uint64_t failed;         /* lookups without an answer in time, refused, or SERVFAIL */
	bool gave_up_ptr;        /* PTR lookups given up after ANNOTATE_GIVE_UP in a row unanswered */
	bool gave_up_asn;        /* Cymru lookups given up likewise */
};

void annotator_stats(const hw_annotator_t *annotator, struct hw_annotate_stats *out);

/*
 * Closes the annotator; NULL is fine; returns NULL. Traces still waiting get their
 * annotation with what is known (unanswered lookups say failed) and their callback,
 * before this returns. Not from within an annotator callback.
 */
hw_annotator_t *annotator_close(hw_annotator_t *annotator);

#endif
