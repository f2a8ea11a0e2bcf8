/*
 * Raw sockets: sending probes (libdnet ip_t for IPv4, a raw IPv6 socket with our own
 * header), receiving ICMP, ICMPv6 and TCP answers, choosing the source address, and
 * dropping privileges once the sockets are open.
 */
#ifndef HOPWATCH_NET_H
#define HOPWATCH_NET_H

#include <stddef.h>
#include <stdint.h>

#include <hopwatch/addr.h>
#include <hopwatch/reply.h>

typedef struct hw_net hw_net_t;

#define HW_NET_V4 1u
#define HW_NET_V6 2u
#define HW_NET_TCP 4u /* also receive TCP answers */

/*
 * Opens the sockets for the families in `what`. HW_ERR_PERM without root or CAP_NET_RAW,
 * HW_ERR_SYS for other failures (errno kept).
 */
int net_open(unsigned what, hw_net_t **out);

/* Closes every socket; NULL is fine. Returns NULL. */
hw_net_t *net_close(hw_net_t *net);

/* Sends one probe built by probe_build (IP header included). */
int net_send(hw_net_t *net, const uint8_t *pkt, size_t len);

/* The receive sockets, to be watched for reading: writes up to max fds, returns the count. */
int net_fds(const hw_net_t *net, int *fds, int max);

/*
 * Reads one packet from receive socket fd and parses it. HW_OK with *rx_mono_us the
 * kernel's receive time on the monotonic clock; HW_ERR_AGAIN when the socket is empty;
 * a parse error (< 0) for packets that answer no probe.
 */
int net_recv(hw_net_t *net, int fd, struct hw_reply_pkt *reply, uint64_t *rx_mono_us);

/*
 * The source address toward dst: the address of the interface the route leaves by
 * (libdnet intf_get_dst for IPv4; the kernel's choice for IPv6). Cached per source, so
 * thousands of targets cost one interface walk.
 */
int net_source_for(hw_net_t *net, const struct hw_addr *dst, struct hw_addr *src);

/* HW_OK when src is an address of this host (a socket can bind to it), else HW_ERR_INVAL. */
int net_source_is_local(const struct hw_addr *src);

/*
 * Gives up root: to SUDO_UID/SUDO_GID when set, else to "nobody". A no-op when not root
 * (running with only CAP_NET_RAW). HW_ERR_SYS if it cannot.
 */
int net_drop_privileges(void);

#endif
