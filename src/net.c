/*
 * Raw sockets. IPv4 probes go out through libdnet's ip_t (a raw socket with IP_HDRINCL);
 * IPv6 probes through a raw IPPROTO_RAW socket, which on Linux also takes our own header,
 * so traffic class, flow label and hop limit are exactly what probe_build wrote.
 */
#include <errno.h>
#include <grp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#ifdef HAVE_DUMBNET_H
#include <dumbnet.h>
#else
#include <dnet.h>
#endif

#include <hopwatch/loop.h>
#include <hopwatch/net.h>
#include <hopwatch/status.h>

enum rx_kind { RX_ICMP4, RX_TCP4, RX_ICMP6, RX_TCP6, RX_MAX };

/* Source choices already confirmed by libdnet, keyed by the kernel's choice. */
#define SOURCE_CACHE 8

struct source_choice {
	struct hw_addr kernel, chosen;
};

struct hw_net {
	ip_t *ip4;          /* IPv4 sends */
	int raw6;           /* IPv6 sends */
	int rx[RX_MAX];     /* receive sockets, -1 when not open */
	int udp[2];         /* connected (never sending) UDP sockets that ask for routes */
	intf_t *intf;
	struct source_choice cache[SOURCE_CACHE];
	unsigned n_cache;
	uint8_t buf[65536];
};

/* Raw sockets are refused with EPERM/EACCES to the unprivileged. */
static int open_error(void)
{
	return errno == EPERM || errno == EACCES ? HW_ERR_PERM : HW_ERR_SYS;
}

static int rx_socket(int family, int proto)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -1;
	int on = 1, size = 4 << 20;
	/* Kernel receive timestamps make RTTs independent of when the loop wakes up. */
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	/* A burst of answers from thousands of traces must not overflow the queue. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on));
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	}
	if (proto == IPPROTO_ICMPV6) {
		/* Only the types that can answer a probe reach us. */
		struct icmp6_filter filter;
		ICMP6_FILTER_SETBLOCKALL(&filter);
		ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
		ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filter);
		ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &filter);
		ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &filter);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
		(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
	}
	return fd;
}

static int open_v4(hw_net_t *net, unsigned what)
{
	net->ip4 = ip_open();
	if (net->ip4 == NULL)
		return open_error();
	if ((net->rx[RX_ICMP4] = rx_socket(AF_INET, IPPROTO_ICMP)) < 0)
		return open_error();
	if ((what & HW_NET_TCP) && (net->rx[RX_TCP4] = rx_socket(AF_INET, IPPROTO_TCP)) < 0)
		return open_error();
	return HW_OK;
}

static int open_v6(hw_net_t *net, unsigned what)
{
	net->raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (net->raw6 < 0)
		return open_error();
	if ((net->rx[RX_ICMP6] = rx_socket(AF_INET6, IPPROTO_ICMPV6)) < 0)
		return open_error();
	if ((what & HW_NET_TCP) && (net->rx[RX_TCP6] = rx_socket(AF_INET6, IPPROTO_TCP)) < 0)
		return open_error();
	return HW_OK;
}

int net_open(unsigned what, hw_net_t **out)
{
	*out = NULL;
	hw_net_t *net = calloc(1, sizeof(*net));
	if (net == NULL)
		return HW_ERR_NOMEM;
	net->raw6 = -1;
	net->udp[0] = net->udp[1] = -1;
	for (int i = 0; i < RX_MAX; i++)
		net->rx[i] = -1;
	int rc = HW_OK;
	if (what & HW_NET_V4)
		rc = open_v4(net, what);
	if (rc == HW_OK && (what & HW_NET_V6)) {
		rc = open_v6(net, what);
		/* A host without IPv6 still traces IPv4 when both were asked for. */
		if (rc == HW_ERR_SYS && errno == EAFNOSUPPORT && (what & HW_NET_V4))
			rc = HW_OK;
	}
	if (rc != HW_OK) {
		int saved = errno;
		net_close(net);
		errno = saved;
		return rc;
	}
	*out = net;
	return HW_OK;
}

hw_net_t *net_close(hw_net_t *net)
{
	if (net == NULL)
		return NULL;
	if (net->ip4 != NULL)
		ip_close(net->ip4);
	if (net->raw6 >= 0)
		close(net->raw6);
	for (int i = 0; i < 2; i++)
		if (net->udp[i] >= 0)
			close(net->udp[i]);
	if (net->intf != NULL)
		intf_close(net->intf);
	for (int i = 0; i < RX_MAX; i++)
		if (net->rx[i] >= 0)
			close(net->rx[i]);
	free(net);
	return NULL;
}

int net_send(hw_net_t *net, const uint8_t *pkt, size_t len)
{
	if (len < 20)
		return HW_ERR_INVAL;
	if ((pkt[0] >> 4) == 4) {
		if (net->ip4 == NULL)
			return HW_ERR_INVAL;
		return ip_send(net->ip4, pkt, len) == (ssize_t)len ? HW_OK : HW_ERR_SYS;
	}
	if (net->raw6 < 0 || len < 40)
		return HW_ERR_INVAL;
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	memcpy(&sin6.sin6_addr, pkt + 24, 16);
	ssize_t n = sendto(net->raw6, pkt, len, 0, (struct sockaddr *)&sin6, sizeof(sin6));
	return n == (ssize_t)len ? HW_OK : HW_ERR_SYS;
}

int net_fds(const hw_net_t *net, int *fds, int max)
{
	int n = 0;
	for (int i = 0; i < RX_MAX && n < max; i++)
		if (net->rx[i] >= 0)
			fds[n++] = net->rx[i];
	return n;
}

/* The kernel stamps packets on CLOCK_REALTIME; move the stamp onto the monotonic clock. */
static uint64_t mono_from_real(const struct timespec *ts)
{
	uint64_t now_mono = hw_now_us(), now_real = hw_unix_us();
	uint64_t stamp = (uint64_t)ts->tv_sec * 1000000u + (uint64_t)ts->tv_nsec / 1000u;
	uint64_t age = now_real > stamp ? now_real - stamp : 0;
	return now_mono > age ? now_mono - age : now_mono;
}

struct rx_meta {
	struct hw_addr to;
	int hop_limit;
	uint64_t rx_mono_us;
};

static void read_cmsgs(struct msghdr *msg, struct rx_meta *meta)
{
	meta->hop_limit = -1;
	meta->rx_mono_us = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			meta->rx_mono_us = mono_from_real(&ts);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
			memcpy(&meta->hop_limit, CMSG_DATA(c), sizeof(int));
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			hw_addr_set(&meta->to, AF_INET6, &pi.ipi6_addr);
		}
	}
	if (meta->rx_mono_us == 0)
		meta->rx_mono_us = hw_now_us();
}

int net_recv(hw_net_t *net, int fd, struct hw_reply_pkt *reply, uint64_t *rx_mono_us)
{
	int kind = -1;
	for (int i = 0; i < RX_MAX; i++)
		if (net->rx[i] == fd && fd >= 0)
			kind = i;
	if (kind < 0)
		return HW_ERR_INVAL;
	struct sockaddr_storage from;
	union {
		char buf[512];
		struct cmsghdr align;
	} control;
	struct iovec iov = {net->buf, sizeof(net->buf)};
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? HW_ERR_AGAIN
										 : HW_ERR_SYS;
	struct rx_meta meta = {0};
	read_cmsgs(&msg, &meta);
	*rx_mono_us = meta.rx_mono_us;
	if (kind == RX_ICMP4 || kind == RX_TCP4)
		return reply_parse4(net->buf, (size_t)n, reply);
	if (from.ss_family != AF_INET6)
		return HW_ERR_MALFORMED;
	struct hw_addr src;
	hw_addr_set(&src, AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr);
	return reply_parse6(net->buf, (size_t)n, kind == RX_ICMP6 ? IPPROTO_ICMPV6 : IPPROTO_TCP,
			    &src, meta.to.family != 0 ? &meta.to : NULL, meta.hop_limit, reply);
}

/* A socket address for addr and port; returns its length, 0 for an unset address. */
static socklen_t to_sockaddr(const struct hw_addr *addr, uint16_t port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (addr->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr->a, 4);
		return sizeof(*sin);
	}
	if (addr->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->a, 16);
		return sizeof(*sin6);
	}
	return 0;
}

/*
 * The kernel's choice of source: connect a UDP socket (it sends nothing) and ask. One
 * socket per family is kept: connecting again only moves its peer, which is cheap.
 */
static int source_by_connect(hw_net_t *net, const struct hw_addr *dst, struct hw_addr *src)
{
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(dst, HW_UDP_DPORT, &ss);
	if (len == 0)
		return HW_ERR_INVAL;
	int *fd = &net->udp[dst->family == AF_INET ? 0 : 1];
	if (*fd < 0 && (*fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return HW_ERR_SYS;
	if (connect(*fd, (struct sockaddr *)&ss, len) != 0)
		return HW_ERR_SYS;
	len = sizeof(ss);
	if (getsockname(*fd, (struct sockaddr *)&ss, &len) != 0)
		return HW_ERR_SYS;
	if (dst->family == AF_INET)
		hw_addr_set(src, AF_INET, &((struct sockaddr_in *)&ss)->sin_addr);
	else
		hw_addr_set(src, AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	return HW_OK;
}

/* libdnet's view: the interface the route to dst leaves by, and its address. */
static int source_by_dnet(hw_net_t *net, const struct hw_addr *dst, struct hw_addr *src)
{
	if (net->intf == NULL && (net->intf = intf_open()) == NULL)
		return HW_ERR_SYS;
	struct intf_entry entry = {.intf_len = sizeof(entry)};
	struct addr a;
	addr_pack(&a, ADDR_TYPE_IP, IP_ADDR_BITS, dst->a, IP_ADDR_LEN);
	if (intf_get_dst(net->intf, &entry, &a) != 0 || entry.intf_addr.addr_type != ADDR_TYPE_IP)
		return HW_ERR_SYS;
	hw_addr_set(src, AF_INET, &entry.intf_addr.addr_ip);
	return HW_OK;
}

int net_source_for(hw_net_t *net, const struct hw_addr *dst, struct hw_addr *src)
{
	struct hw_addr kernel;
	int rc = source_by_connect(net, dst, &kernel);
	if (rc != HW_OK || dst->family != AF_INET) {
		*src = kernel;
		return rc;
	}
	/* Asking libdnet walks every interface: do it once per source the kernel picks. */
	for (unsigned i = 0; i < net->n_cache; i++) {
		if (hw_addr_eq(&net->cache[i].kernel, &kernel)) {
			*src = net->cache[i].chosen;
			return HW_OK;
		}
	}
	if (source_by_dnet(net, dst, src) != HW_OK)
		*src = kernel;
	net->cache[net->n_cache++ % SOURCE_CACHE] = (struct source_choice){kernel, *src};
	if (net->n_cache > SOURCE_CACHE)
		net->n_cache = SOURCE_CACHE;
	return HW_OK;
}

int net_source_is_local(const struct hw_addr *src)
{
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(src, 0, &ss);
	if (len == 0)
		return HW_ERR_INVAL;
	int fd = socket(src->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return HW_ERR_SYS;
	int rc = bind(fd, (struct sockaddr *)&ss, len) == 0 ? HW_OK : HW_ERR_INVAL;
	close(fd);
	return rc;
}

int net_drop_privileges(void)
{
	if (geteuid() != 0)
		return HW_OK; /* CAP_NET_RAW only: nothing else to give up */
	uid_t uid = 0;
	gid_t gid = 0;
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	if (su != NULL && sg != NULL && atoi(su) > 0) {
		uid = (uid_t)atoi(su);
		gid = (gid_t)atoi(sg);
	} else {
		struct passwd *pw = getpwnam("nobody");
		if (pw == NULL)
			return HW_ERR_SYS;
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		return HW_ERR_SYS;
	/* Make sure there is no way back. */
	if (setuid(0) == 0)
		return HW_ERR_SYS;
	return HW_OK;
}
