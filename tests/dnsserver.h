/*
 * A small DNS server for the unit tests: UDP on 127.0.0.1 (a port of its own), run by the
 * test's loop, so nothing leaves the machine. It reads each query's one question, counts it
 * (in all and by name), and answers what the test's zone says -- at once, or held back for
 * a while (to see how many questions are out at once), or not at all (silent).
 */
#ifndef HOPWATCH_TESTS_DNSSERVER_H
#define HOPWATCH_TESTS_DNSSERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hopwatch/loop.h>

#define DNS_T_A 1
#define DNS_T_PTR 12
#define DNS_T_TXT 16
#define DNS_T_AAAA 28
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_REFUSED 5
#define DNSSERVER_MAX_NAMES 4096
#define DNSSERVER_MAX_HELD 4096

/*
 * The test's zone: writes the answer records for a question (name in lower case) at out,
 * their length in *len (each made with dnsserver_put_rr), the rcode in *rcode; returns the
 * count of answers the reply announces (it may announce more than it holds), or -1 for no
 * reply at all.
 */
typedef int (*dnsserver_zone_fn)(const char *name, uint16_t qtype, uint8_t *out, size_t *len,
				 int *rcode);

struct dnsserver_held {
	uint8_t q[512];
	size_t n;
	struct sockaddr_in from;
};

struct dnsserver {
	hw_loop_t *loop;
	int fd;
	char addr[32]; /* "127.0.0.1:PORT", for the resolver */
	dnsserver_zone_fn zone;
	bool silent;                             /* read questions, answer none */
	int queries;                             /* questions read */
	char *names[DNSSERVER_MAX_NAMES];        /* every distinct name asked, */
	int counts[DNSSERVER_MAX_NAMES];         /* and how often */
	int n_names;
	/* Holding answers back (hold_us > 0): they go out hold_us after the first one held. */
	uint64_t hold_us;
	struct dnsserver_held *held;
	int n_held, max_held;
	int held_ptr, max_held_ptr, max_held_other; /* PTR questions held, and the others */
	int64_t flush_timer;
};

/* Opens the server on a free port of 127.0.0.1, watched by loop; s->addr names it. */
void dnsserver_open(struct dnsserver *s, hw_loop_t *loop, dnsserver_zone_fn zone);

/* Stops watching, cancels what is held, closes the socket and frees the names. */
void dnsserver_close(struct dnsserver *s);

/* How often name was asked. */
int dnsserver_asked(const struct dnsserver *s, const char *name);

/* Appends a name as labels at out; returns its length. */
size_t dnsserver_put_name(uint8_t *out, const char *name);

/* Writes one answer record at out: owner the question's name, type, class IN, TTL 60, then
   rdata; returns its length. */
size_t dnsserver_put_rr(uint8_t *out, uint16_t type, const uint8_t *rdata, size_t rdlen);

#endif
