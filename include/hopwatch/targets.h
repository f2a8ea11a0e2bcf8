/*
 * Targets: what the user asked to trace, turned into a list of destinations.
 *
 * A target spec is one of
 *   - an address:     192.0.2.1, 2001:db8::1
 *   - a prefix:       175.45.176.0/22, 2001:db8::/44 (one target per sub-prefix of the split
 *                     length, or one target when the prefix is at least that long)
 *   - a host name:    example.org (checked for syntax here, resolved later: resolve.h)
 *   - @FILE:          one spec per line of FILE (see targets_add_stream)
 *
 * Every target remembers where it came from (spec) and, for a prefix, which network it
 * stands for (network), so that later stages can report per target network.
 *
 * Pure: no sockets, clocks or globals; the only I/O is reading a file of targets.
 */
#ifndef HOPWATCH_TARGETS_H
#define HOPWATCH_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hopwatch/addr.h>

/* IPv4 prefixes are split into /24s: the longest prefix commonly routed on the Internet. */
#define HW_SPLIT_V4_DEFAULT 24
/* IPv6 prefixes into /48s, for the same reason (a /32 thus makes 65536 targets). */
#define HW_SPLIT_V6_DEFAULT 48
/* Refuse to grow a list beyond this many targets unless told otherwise. */
#define HW_TARGETS_MAX_DEFAULT 65536

/* Which address of a (sub-)prefix to trace. */
enum hw_pick {
	HW_PICK_FIRST,  /* the network address + 1 (the network address itself for /31, /32,
			   /127, /128): often a router or a host that answers */
	HW_PICK_RANDOM, /* a host address drawn from the seed and the sub-prefix alone */
};

/* How specs become targets. Start from targets_opts_default: all zeros allows no target. */
struct hw_target_opts {
	int family;          /* AF_INET or AF_INET6: refuse specs of the other family; 0: both */
	uint8_t split_v4;    /* IPv4 prefixes shorter than this are split (0..32; 0: never) */
	uint8_t split_v6;    /* the same for IPv6 (0..128) */
	enum hw_pick pick;
	uint64_t seed;       /* for HW_PICK_RANDOM */
	size_t max_targets;  /* a list never holds more targets than this */
};

/* One destination. Every string is owned by the target (and so by its list). */
struct hw_target {
	char *spec;           /* what the user wrote: "175.45.176.0/22", "example.org" */
	char *network;        /* the network this target stands for, as text: for a prefix the
				 (sub-)prefix "175.45.177.0/24"; NULL for an address or a name */
	struct hw_addr net;   /* that network's address; unset when network is NULL */
	uint8_t net_len;      /* and its length */
	char *name;           /* a host name still to resolve; NULL when addr is set */
	struct hw_addr addr;  /* the address to trace; unset while name is set */
};

/* A growable list of targets. All zeros is a valid empty list. */
struct hw_target_list {
	struct hw_target *v;
	size_t n;
	size_t cap;
};

/* Fills opts with the defaults: both families, /24 and /48 splits, first host, seed 0, cap 65536. */
void targets_opts_default(struct hw_target_opts *opts);

/* Frees every target and the array, leaving an empty list; NULL is fine. */
void targets_free(struct hw_target_list *list);

/*
 * Appends the targets of one spec (an address, a prefix or a host name; not @FILE).
 * opts NULL means the defaults. A prefix with host bits set (10.0.0.5/24) is refused, not
 * normalised: it is as likely a typo for an address as for the network. On error the list
 * is unchanged, and err (if errlen > 0) holds a one-line reason without a trailing newline.
 * Returns HW_OK, HW_ERR_INVAL (bad spec, wrong family, over max_targets) or HW_ERR_NOMEM.
 */
int targets_add(struct hw_target_list *list, const char *spec,
		const struct hw_target_opts *opts, char *err, size_t errlen);

/*
 * Appends the targets of every line of f, named fname in messages. A line holds one spec
 * (not @FILE), optionally followed by a '#' comment; blank lines, comment-only lines,
 * surrounding blanks and CRLF line ends are fine. On error the list is unchanged (the file's
 * earlier lines are taken back too) and err says "FNAME:LINE: reason".
 * Returns like targets_add, or HW_ERR_IO when reading fails.
 */
int targets_add_stream(struct hw_target_list *list, FILE *f, const char *fname,
		       const struct hw_target_opts *opts, char *err, size_t errlen);

/* targets_add_stream on the file at path; HW_ERR_IO with "PATH: reason" if it cannot be opened. */
int targets_add_file(struct hw_target_list *list, const char *path,
		     const struct hw_target_opts *opts, char *err, size_t errlen);

/*
 * One command-line argument: "@-" reads standard input, "@PATH" the file at PATH, anything
 * else is a spec for targets_add.
 */
int targets_add_arg(struct hw_target_list *list, const char *arg,
		    const struct hw_target_opts *opts, char *err, size_t errlen);

/*
 * True when name is a syntactically valid host name: dot-separated labels of 1..63 letters,
 * digits and hyphens, no label starting or ending with a hyphen, 253 characters at most
 * (one trailing dot allowed), and a last label that is not all digits (so "10.1" or
 * "1.2.3.256" is never taken for a name).
 */
bool targets_name_valid(const char *name);

#endif
