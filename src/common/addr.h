/* SPDX-License-Identifier: MIT */
/* Addresses, prefixes and socket addresses: struct np_addr, addr_*, np_cidr, cidr_*,
 * sockaddr_parse. */
#ifndef NP_COMMON_ADDR_H
#define NP_COMMON_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/err.h"

/* An IPv4 or IPv6 address. family is AF_INET or AF_INET6; bytes holds 4 or 16 octets. */
struct np_addr {
	int family;
	uint8_t bytes[16];
};

/* Parses a textual address strictly with inet_pton (no "010.1", no "1.2.3"). */
int addr_parse(const char *s, struct np_addr *out);
/* Formats into buf (INET6_ADDRSTRLEN is enough); returns buf. */
const char *addr_format(const struct np_addr *a, char *buf, size_t len);
bool addr_equal(const struct np_addr *a, const struct np_addr *b);
/* Converts a socket address (v4-mapped v6 becomes v4). Returns NP_EINVAL otherwise. */
int addr_from_sockaddr(const struct sockaddr *sa, struct np_addr *out);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes the IPv4 address a.b.c.d; any other
 * is left alone. Applied wherever a peer's address comes in (socket, X-Forwarded-For, sensor
 * batch, Cowrie log), so one IPv4 host has one form everywhere: the observation index keys
 * IPv6 by /64 and would otherwise file a mapped address far from its IPv4 requester. */
void addr_unmap(struct np_addr *a);
/* Keeps only the network of a: its first v4_bits if IPv4, v6_bits if IPv6, the rest zeroed,
 * so that one key stands for a whole prefix (an IPv6 /64 is one customer, say). */
void addr_network(struct np_addr *a, unsigned v4_bits, unsigned v6_bits);

/* A network prefix, e.g. 192.0.2.0/24 or 2001:db8::/32. */
struct np_cidr {
	struct np_addr addr;
	unsigned prefix;
};
/* Parses "ADDR" (host prefix) or "ADDR/LEN". */
int cidr_parse(const char *s, struct np_cidr *out);
bool cidr_contains(const struct np_cidr *c, const struct np_addr *a);

/* Parses "ADDR@PORT" (DNS style) or "ADDR:PORT" / "[V6]:PORT" (HTTP style) into a
 * socket address. sep is '@' or ':'. */
int sockaddr_parse(const char *s, char sep, struct sockaddr_storage *out, socklen_t *len);

#endif
