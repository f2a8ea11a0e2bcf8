/* IPv4 / IPv6 addresses as plain values. */
#ifndef HOPWATCH_ADDR_H
#define HOPWATCH_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Long enough for any IPv6 text form plus NUL. */
#define HW_ADDRSTRLEN 46

/* An address: family is AF_INET or AF_INET6 (0 = unset); bytes in network order. */
struct hw_addr {
	uint8_t family;
	uint8_t a[16];
};

/* Parses a numeric IPv4 or IPv6 address; HW_ERR_INVAL if it is neither. */
int hw_addr_parse(const char *text, struct hw_addr *out);

/* Writes the numeric form of an address into buf and returns buf ("?" if unset). */
const char *hw_addr_str(const struct hw_addr *addr, char *buf, size_t len);

/* Sets an address from 4 or 16 network-order bytes. */
void hw_addr_set(struct hw_addr *addr, int family, const void *bytes);

/* Number of address bytes: 4, 16, or 0 when unset. */
size_t hw_addr_len(const struct hw_addr *addr);

/* True when both are set, of one family and equal. */
bool hw_addr_eq(const struct hw_addr *x, const struct hw_addr *y);

/* True when the address is unset. */
bool hw_addr_is_unset(const struct hw_addr *addr);

#endif
