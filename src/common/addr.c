/* SPDX-License-Identifier: MIT */
/* Addresses, prefixes and socket addresses, parsed strictly. */
#include "common/addr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

int addr_parse(const char *s, struct np_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->bytes) == 1) {
		out->family = AF_INET;
		return NP_OK;
	}
	if (inet_pton(AF_INET6, s, out->bytes) == 1) {
		out->family = AF_INET6;
		return NP_OK;
	}
	return NP_EINVAL;
}

/* The dotted quad by hand: glibc's inet_ntop formats IPv4 through sprintf, and the writer
 * formats two addresses for every update it records (its source and its values). */
static void ipv4_text(const uint8_t b[4], char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

const char *addr_format(const struct np_addr *a, char *buf, size_t len)
{
	if (a->family == AF_INET && len >= INET_ADDRSTRLEN)
		ipv4_text(a->bytes, buf);
	else if (inet_ntop(a->family, a->bytes, buf, (socklen_t)len) == NULL && len > 0)
		buf[0] = '\0';
	return buf;
}

bool addr_equal(const struct np_addr *a, const struct np_addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;
	return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

int addr_from_sockaddr(const struct sockaddr *sa, struct np_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = AF_INET;
		memcpy(out->bytes, &in->sin_addr, 4);
		return NP_OK;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		out->family = AF_INET6;
		memcpy(out->bytes, &in6->sin6_addr, 16);
		addr_unmap(out);
		return NP_OK;
	}
	return NP_EINVAL;
}

void addr_unmap(struct np_addr *a)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (a->family != AF_INET6 || memcmp(a->bytes, mapped, sizeof(mapped)) != 0)
		return;
	uint8_t v4[4];
	memcpy(v4, a->bytes + 12, 4);
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(a->bytes, v4, 4);
}

void addr_network(struct np_addr *a, unsigned v4_bits, unsigned v6_bits)
{
	unsigned len = a->family == AF_INET ? 4 : 16;
	unsigned bits = a->family == AF_INET ? v4_bits : v6_bits;
	for (unsigned i = 0; i < sizeof(a->bytes); i++) {
		if (i >= len || bits <= i * 8)
			a->bytes[i] = 0;
		else if (bits < (i + 1) * 8)
			a->bytes[i] &= (uint8_t)(0xff << ((i + 1) * 8 - bits));
	}
}

int cidr_parse(const char *s, struct np_cidr *out)
{
	char buf[64];
	if (np_strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return NP_EINVAL;
	char *slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (addr_parse(buf, &out->addr) != NP_OK)
		return NP_EINVAL;
	uint32_t max = out->addr.family == AF_INET ? 32 : 128;
	uint32_t prefix = max;
	if (slash != NULL && str_to_u32(slash + 1, 0, max, &prefix) != NP_OK)
		return NP_EINVAL;
	out->prefix = prefix;
	return NP_OK;
}

bool cidr_contains(const struct np_cidr *c, const struct np_addr *a)
{
	if (c->addr.family != a->family)
		return false;
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(c->addr.bytes, a->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr.bytes[full] & mask) == (a->bytes[full] & mask);
}

int sockaddr_parse(const char *s, char sep, struct sockaddr_storage *out, socklen_t *len)
{
	char host[64];
	const char *port;
	memset(out, 0, sizeof(*out));
	if (sep == ':' && s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
			return NP_EINVAL;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		port = end + 2;
	} else {
		const char *at = strrchr(s, sep);
		if (at == NULL || (size_t)(at - s) >= sizeof(host))
			return NP_EINVAL;
		memcpy(host, s, (size_t)(at - s));
		host[at - s] = '\0';
		port = at + 1;
	}
	uint32_t p;
	struct np_addr a;
	if (str_to_u32(port, 1, 65535, &p) != NP_OK || addr_parse(host, &a) != NP_OK)
		return NP_EINVAL;
	if (a.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		memcpy(&in->sin_addr, a.bytes, 4);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		memcpy(&in6->sin6_addr, a.bytes, 16);
		*len = sizeof(*in6);
	}
	return NP_OK;
}
