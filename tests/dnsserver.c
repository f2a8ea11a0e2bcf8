/* The unit tests' DNS server (see dnsserver.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hopwatch/status.h>

#include "dnsserver.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void count_name(struct dnsserver *s, const char *name)
{
	for (int i = 0; i < s->n_names; i++) {
		if (strcmp(s->names[i], name) == 0) {
			s->counts[i]++;
			return;
		}
	}
	assert_true(s->n_names < DNSSERVER_MAX_NAMES);
	s->names[s->n_names] = strdup(name);
	assert_non_null(s->names[s->n_names]);
	s->counts[s->n_names++] = 1;
}

int dnsserver_asked(const struct dnsserver *s, const char *name)
{
	for (int i = 0; i < s->n_names; i++)
		if (strcmp(s->names[i], name) == 0)
			return s->counts[i];
	return 0;
}

size_t dnsserver_put_name(uint8_t *out, const char *name)
{
	size_t o = 0;

	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);
		out[o++] = (uint8_t)len;
		memcpy(out + o, name, len);
		o += len;
		name += len + (dot != NULL);
	}
	out[o++] = 0;
	return o;
}

size_t dnsserver_put_rr(uint8_t *out, uint16_t type, const uint8_t *rdata, size_t rdlen)
{
	wr16(out, 0xc00c); /* the name in the question */
	wr16(out + 2, type);
	wr16(out + 4, 1); /* IN */
	wr16(out + 6, 0);
	wr16(out + 8, 60); /* TTL */
	wr16(out + 10, (uint16_t)rdlen);
	memcpy(out + 12, rdata, rdlen);
	return 12 + rdlen;
}

/* Reads the one question of a query: its name (lower case) and type; *qend ends it. */
static bool question(const uint8_t *p, size_t n, char *name, size_t namelen, uint16_t *qtype,
		     size_t *qend)
{
	size_t off = 12, out = 0;

	if (n < 12 || rd16(p + 4) != 1)
		return false;
	for (;;) {
		uint8_t len;

		if (off >= n)
			return false;
		if ((len = p[off++]) == 0)
			break;
		if (len > 63 || off + len > n || out + len + 2 > namelen)
			return false;
		if (out > 0)
			name[out++] = '.';
		for (uint8_t i = 0; i < len; i++)
			name[out++] = (char)tolower(p[off + i]);
		off += len;
	}
	name[out] = '\0';
	if (off + 4 > n)
		return false;
	*qtype = rd16(p + off);
	*qend = off + 4;
	return true;
}

/* The reply to a query: its header and question, then the zone's records. */
static void answer(struct dnsserver *s, const uint8_t *q, size_t n, const struct sockaddr_in *from)
{
	uint8_t out[2048];
	char name[256];
	uint16_t qtype;
	size_t qend, len;
	int rcode, count;

	if (!question(q, n, name, sizeof(name), &qtype, &qend) || qend > 512)
		return;
	count = s->zone(name, qtype, out + qend, &len, &rcode);
	if (count < 0)
		return;
	memcpy(out, q, qend);
	/* QR, the query's opcode and RD, RA, the rcode. */
	out[2] = (uint8_t)(0x80 | (q[2] & 0x79));
	out[3] = (uint8_t)(0x80 | rcode);
	wr16(out + 6, (uint16_t)count);
	wr16(out + 8, 0);
	wr16(out + 10, 0);
	assert_int_equal(sendto(s->fd, out, qend + len, 0, (const struct sockaddr *)from,
				sizeof(*from)), (ssize_t)(qend + len));
}

static void flush_held(void *arg)
{
	struct dnsserver *s = arg;

	s->flush_timer = 0;
	for (int i = 0; i < s->n_held; i++)
		answer(s, s->held[i].q, s->held[i].n, &s->held[i].from);
	s->n_held = 0;
	s->held_ptr = 0;
}

static void hold(struct dnsserver *s, const uint8_t *q, size_t n, uint16_t qtype,
		 const struct sockaddr_in *from)
{
	assert_true(s->n_held < DNSSERVER_MAX_HELD);
	memcpy(s->held[s->n_held].q, q, n);
	s->held[s->n_held].n = n;
	s->held_ptr += qtype == DNS_T_PTR;
	s->held[s->n_held++].from = *from;
	if (s->n_held > s->max_held)
		s->max_held = s->n_held;
	if (s->held_ptr > s->max_held_ptr)
		s->max_held_ptr = s->held_ptr;
	if (s->n_held - s->held_ptr > s->max_held_other)
		s->max_held_other = s->n_held - s->held_ptr;
	if (s->flush_timer == 0)
		s->flush_timer = loop_timer(s->loop, hw_now_us() + s->hold_us, flush_held, s);
}

static void on_query(int fd, unsigned events, void *arg)
{
	struct dnsserver *s = arg;
	uint8_t q[1500];
	char name[256];
	uint16_t qtype;
	size_t qend;
	struct sockaddr_in from;
	socklen_t fromlen;
	ssize_t n;

	(void)events;
	for (;;) {
		fromlen = sizeof(from);
		n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
		if (n < 0)
			break;
		if (!question(q, (size_t)n, name, sizeof(name), &qtype, &qend))
			continue;
		s->queries++;
		count_name(s, name);
		if (s->silent)
			continue;
		if (s->hold_us == 0 || (size_t)n > sizeof(s->held[0].q))
			answer(s, q, (size_t)n, &from);
		else
			hold(s, q, (size_t)n, qtype, &from);
	}
}

void dnsserver_open(struct dnsserver *s, hw_loop_t *loop, dnsserver_zone_fn zone)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int big = 1 << 21;

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->zone = zone;
	s->held = calloc(DNSSERVER_MAX_HELD, sizeof(*s->held));
	assert_non_null(s->held);
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(s->fd >= 0);
	/* Bursts of many questions must not be dropped before we read them. */
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(loop_watch(loop, s->fd, HW_EV_READ, on_query, s), HW_OK);
}

void dnsserver_close(struct dnsserver *s)
{
	if (s->flush_timer != 0)
		loop_timer_cancel(s->loop, s->flush_timer);
	loop_watch(s->loop, s->fd, 0, NULL, NULL);
	close(s->fd);
	for (int i = 0; i < s->n_names; i++)
		free(s->names[i]);
	free(s->held);
}
