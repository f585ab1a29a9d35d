/* SPDX-License-Identifier: MIT */
/* Test fixture for the observe unit tests: builds IPv4/IPv6 TCP, UDP and ICMP frames
 * (raw IP or Ethernet) from a small description, so golden cases read like a table of
 * the classifier's rules. Checksums are left zero: the parser does not verify them, as a
 * darknet sensor must record even packets a host would drop. */
#ifndef NP_TESTS_OBSERVE_FIXTURE_H
#define NP_TESTS_OBSERVE_FIXTURE_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"

struct fx_pkt {
	const char *src, *dst; /* textual addresses; the family picks IPv4 or IPv6 */
	uint8_t proto;
	uint8_t ttl;
	uint16_t ip_id;
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq;
	uint16_t window;
	uint8_t icmp_type;
	uint8_t tcp_opt_len; /* bytes of TCP options (an MSS option then NOPs), multiple of 4 */
	uint16_t payload;    /* bytes of zero payload */
};

#define FX_FRAME_MAX 2048

static inline void fx_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void fx_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Big-endian value of an IPv4 address, as Mirai's seq = daddr. */
static inline uint32_t fx_ip4(const char *s)
{
	struct np_addr a;
	if (addr_parse(s, &a) != 0 || a.family != AF_INET)
		abort();
	return (uint32_t)a.bytes[0] << 24 | (uint32_t)a.bytes[1] << 16 | (uint32_t)a.bytes[2] << 8 |
	       a.bytes[3];
}

/* Writes the transport header and payload at out; returns its length. */
static inline size_t fx_l4(const struct fx_pkt *d, uint8_t *out)
{
	size_t n = 0;
	if (d->proto == IPPROTO_TCP) {
		size_t hl = 20 + d->tcp_opt_len;
		memset(out, 0, hl);
		fx_put16(out, d->sport);
		fx_put16(out + 2, d->dport);
		fx_put32(out + 4, d->seq);
		out[12] = (uint8_t)((hl / 4) << 4);
		out[13] = d->flags;
		fx_put16(out + 14, d->window);
		if (d->tcp_opt_len >= 4) {
			out[20] = 2; /* MSS 1460 */
			out[21] = 4;
			fx_put16(out + 22, 1460);
			memset(out + 24, 1, d->tcp_opt_len - 4u);
		}
		n = hl;
	} else if (d->proto == IPPROTO_UDP) {
		fx_put16(out, d->sport);
		fx_put16(out + 2, d->dport);
		fx_put16(out + 4, (uint16_t)(8 + d->payload));
		fx_put16(out + 6, 0);
		n = 8;
	} else if (d->proto == IPPROTO_ICMP || d->proto == IPPROTO_ICMPV6) {
		memset(out, 0, 8);
		out[0] = d->icmp_type;
		n = 8;
	}
	memset(out + n, 0, d->payload);
	return n + d->payload;
}

/* Writes the IP packet at out; returns its length. */
static inline size_t fx_ip(const struct fx_pkt *d, uint8_t *out)
{
	struct np_addr s, t;
	if (addr_parse(d->src, &s) != 0 || addr_parse(d->dst, &t) != 0 || s.family != t.family)
		abort();
	if (s.family == AF_INET) {
		size_t l4 = fx_l4(d, out + 20);
		memset(out, 0, 20);
		out[0] = 0x45;
		fx_put16(out + 2, (uint16_t)(20 + l4));
		fx_put16(out + 4, d->ip_id);
		out[8] = d->ttl;
		out[9] = d->proto;
		memcpy(out + 12, s.bytes, 4);
		memcpy(out + 16, t.bytes, 4);
		return 20 + l4;
	}
	size_t l4 = fx_l4(d, out + 40);
	memset(out, 0, 40);
	out[0] = 0x60;
	fx_put16(out + 4, (uint16_t)l4);
	out[6] = d->proto;
	out[7] = d->ttl;
	memcpy(out + 8, s.bytes, 16);
	memcpy(out + 24, t.bytes, 16);
	return 40 + l4;
}

/* Writes an Ethernet frame (no tag) carrying the IP packet; returns its length. */
static inline size_t fx_eth(const struct fx_pkt *d, uint8_t *out)
{
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
	memcpy(out, macs, 12);
	size_t n = fx_ip(d, out + 14);
	fx_put16(out + 12, (out[14] >> 4) == 4 ? 0x0800 : 0x86dd);
	return 14 + n;
}

/* The golden cases. */
static inline struct fx_pkt fx_mirai_syn(const char *src, const char *dst, uint16_t dport)
{
	struct fx_pkt d = {.src = src,
	                   .dst = dst,
	                   .proto = IPPROTO_TCP,
	                   .ttl = 64,
	                   .ip_id = 0x1d2b,
	                   .sport = 41234,
	                   .dport = dport,
	                   .flags = TH_SYN,
	                   .seq = fx_ip4(dst),
	                   .window = 0x7e51};
	return d;
}

static inline struct fx_pkt fx_zmap_syn(const char *src, const char *dst, uint16_t dport)
{
	struct fx_pkt d = {.src = src,
	                   .dst = dst,
	                   .proto = IPPROTO_TCP,
	                   .ttl = 250,
	                   .ip_id = 54321,
	                   .sport = 61000,
	                   .dport = dport,
	                   .flags = TH_SYN,
	                   .seq = 0x8badf00d,
	                   .window = 65535,
	                   .tcp_opt_len = 4};
	return d;
}

static inline struct fx_pkt fx_masscan_syn(const char *src, const char *dst, uint16_t dport)
{
	uint32_t seq = 0x5eed1234;
	struct fx_pkt d = {.src = src,
	                   .dst = dst,
	                   .proto = IPPROTO_TCP,
	                   .ttl = 240,
	                   .ip_id = (uint16_t)((fx_ip4(dst) ^ dport ^ seq) & 0xffff),
	                   .sport = 60000,
	                   .dport = dport,
	                   .flags = TH_SYN,
	                   .seq = seq,
	                   .window = 1024};
	return d;
}

static inline struct fx_pkt fx_tcp(const char *src, const char *dst, uint16_t dport, uint8_t flags,
                                   uint32_t seq)
{
	struct fx_pkt d = {.src = src,
	                   .dst = dst,
	                   .proto = IPPROTO_TCP,
	                   .ttl = 52,
	                   .ip_id = 0x4321,
	                   .sport = 443,
	                   .dport = dport,
	                   .flags = flags,
	                   .seq = seq,
	                   .window = 29200};
	return d;
}

static inline struct fx_pkt fx_icmp(const char *src, const char *dst, uint8_t type)
{
	struct np_addr a;
	if (addr_parse(src, &a) != 0)
		abort();
	struct fx_pkt d = {.src = src,
	                   .dst = dst,
	                   .ttl = 60,
	                   .ip_id = 0x0101,
	                   .proto = a.family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6,
	                   .icmp_type = type};
	return d;
}

#endif
