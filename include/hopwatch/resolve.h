/*
 * Asynchronous DNS through c-ares -- host names (A / AAAA), reverse names (PTR) and TXT
 * records -- driven by our event loop:
 * c-ares never owns the loop. Its sockets are watched with loop_watch, its retransmissions
 * run from a loop_timer, and every lookup has its own deadline.
 */
#ifndef HOPWATCH_RESOLVE_H
#define HOPWATCH_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>
#include <hopwatch/loop.h>

typedef struct hw_resolver hw_resolver_t;

/*
 * A lookup's answer. On HW_OK, addrs holds n >= 1 distinct addresses of the family asked
 * for, in the order to try them (RFC 6724, as getaddrinfo sorts); they are borrowed for the
 * duration of the call only. On error n is 0 and status is
 *   HW_ERR_NOHOST  the name does not exist (NXDOMAIN) or has no address of that family
 *   HW_ERR_AGAIN   no answer in time, a refusal (DNS REFUSED, nothing listening), or the
 *                  resolver closed
 *   HW_ERR_SERVFAIL  the server answered that it failed (SERVFAIL, NOTIMP, FORMERR),
 *                  after c-ares' own tries
 *   HW_ERR_INVAL   the name cannot be looked up (not a valid name)
 *   HW_ERR_MALFORMED  the server's answer made no sense
 *   HW_ERR_NOMEM
 */
typedef void (*hw_resolve_cb)(void *arg, int status, const struct hw_addr *addrs, size_t n);

/*
 * A resolver on loop (borrowed: close the resolver before the loop). server is "ADDR",
 * "ADDR:PORT" or "[IPV6]:PORT" of the one DNS server to ask, or NULL for the system's
 * configuration (resolv.conf servers and search domains, then /etc/hosts as configured).
 * With a server given, nothing else is read or asked: no hosts file, no search domains,
 * no HOSTALIASES. timeout_s (> 0, at most a day) bounds every lookup from its start to
 * its answer. At most 128 lookups are in flight at once; the others wait their turn in
 * order, and their time starts with their turn.
 * NULL on failure with *status set (HW_ERR_INVAL for a bad server or timeout).
 */
hw_resolver_t *resolver_open(hw_loop_t *loop, const char *server, double timeout_s,
			     int *status);

/* True when server is a server resolver_open takes: "ADDR", "ADDR:PORT", "[IPV6]:PORT". */
bool resolver_server_ok(const char *server);

/*
 * Looks up name (family AF_INET, AF_INET6 or AF_UNSPEC for both). A numeric name is
 * answered without asking anybody. cb is called exactly once, always from the loop and
 * never from within resolver_lookup (not even for a numeric name or an immediate
 * failure). The callback may start new lookups and may close the resolver.
 * Returns HW_OK, or an error (HW_ERR_INVAL, HW_ERR_NOMEM) and then cb is never called.
 */
int resolver_lookup(hw_resolver_t *resolver, const char *name, int family, hw_resolve_cb cb,
		    void *arg);

/*
 * A reverse name's answer: on HW_OK, name is the PTR name (borrowed for the call only;
 * c-ares refuses names that are not valid host names). Errors as for hw_resolve_cb.
 */
typedef void (*hw_resolve_name_cb)(void *arg, int status, const char *name);

/*
 * Looks up the name of an address (PTR in in-addr.arpa / ip6.arpa; with the system's
 * configuration the hosts file comes first when resolv.conf says so). The callback rules
 * are resolver_lookup's. HW_OK, or HW_ERR_INVAL / HW_ERR_NOMEM and cb is never called.
 */
int resolver_reverse(hw_resolver_t *resolver, const struct hw_addr *addr,
		     hw_resolve_name_cb cb, void *arg);

/* One TXT record: its character-strings joined, len bytes at text, NUL after them. The
 * bytes are the server's: any value, NUL included. */
struct hw_txt {
	const unsigned char *text;
	size_t len;
};

/*
 * A TXT answer: on HW_OK, n >= 1 records (borrowed for the call only). An existing name
 * without TXT records is HW_ERR_NOHOST; other errors as for hw_resolve_cb.
 */
typedef void (*hw_resolve_txt_cb)(void *arg, int status, const struct hw_txt *records,
				  size_t n);

/*
 * Looks up the TXT records of name (asked as given: no search domains). The callback
 * rules are resolver_lookup's. HW_OK, or HW_ERR_INVAL / HW_ERR_NOMEM and cb is never
 * called.
 */
int resolver_txt(hw_resolver_t *resolver, const char *name, hw_resolve_txt_cb cb, void *arg);

/* The most lookups resolver_set_inflight allows in flight at once. */
#define RESOLVER_INFLIGHT_MAX 4096

/*
 * How many lookups c-ares may hold at once (1..RESOLVER_INFLIGHT_MAX; 128 when never
 * set); the rest wait their turn. HW_ERR_INVAL out of range.
 */
int resolver_set_inflight(hw_resolver_t *resolver, size_t max);

/* Lookups started and not yet answered. */
size_t resolver_pending(const hw_resolver_t *resolver);

/*
 * Closes the resolver; NULL is fine; returns NULL. Every lookup not yet answered gets its
 * callback with HW_ERR_AGAIN: before resolver_close returns or, when it is called from one
 * of this resolver's callbacks, right after that callback returns. Such callbacks must not
 * start lookups on the closing resolver (resolver_lookup refuses them).
 */
hw_resolver_t *resolver_close(hw_resolver_t *resolver);

#endif
