/* IPv4 / IPv6 address values. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/addr.h>
#include <hopwatch/status.h>

int hw_addr_parse(const char *text, struct hw_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return HW_ERR_INVAL;
	if (inet_pton(AF_INET, text, out->a) == 1) {
		out->family = AF_INET;
		return HW_OK;
	}
	if (inet_pton(AF_INET6, text, out->a) == 1) {
		out->family = AF_INET6;
		return HW_OK;
	}
	return HW_ERR_INVAL;
}

const char *hw_addr_str(const struct hw_addr *addr, char *buf, size_t len)
{
	if (addr->family == 0 || inet_ntop(addr->family, addr->a, buf, (socklen_t)len) == NULL) {
		if (len > 0) {
			buf[0] = '?';
			buf[len > 1 ? 1 : 0] = '\0';
		}
	}
	return buf;
}

void hw_addr_set(struct hw_addr *addr, int family, const void *bytes)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = (uint8_t)family;
	memcpy(addr->a, bytes, family == AF_INET ? 4 : 16);
}

size_t hw_addr_len(const struct hw_addr *addr)
{
	return addr->family == AF_INET ? 4 : addr->family == AF_INET6 ? 16 : 0;
}

bool hw_addr_eq(const struct hw_addr *x, const struct hw_addr *y)
{
	return x->family != 0 && x->family == y->family &&
	       memcmp(x->a, y->a, hw_addr_len(x)) == 0;
}

bool hw_addr_is_unset(const struct hw_addr *addr)
{
	return addr->family == 0;
}
