/* SPDX-License-Identifier: MIT */
/* Link, IP and transport header parsing for darknet capture and pcap import. */
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <string.h>
#include <sys/socket.h>

#include "observe/packet.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define SLL_HDR_LEN    16
#define SLL2_HDR_LEN   20
#define IPV4_MIN_HDR   20
#define TCP_MIN_HDR    20
#define ICMP_MIN_HDR   4

/* A bounded reader with a sticky error: after the first short read err is NP_EMALFORMED,
 * pos stops moving and every read returns 0 (or NULL). A local copy of the idea in
 * dns/wire.h, because observe depends on common only. */
struct pkt_cur {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int err;
};

static struct pkt_cur cur_init(const uint8_t *buf, size_t len)
{
	struct pkt_cur c = {.buf = buf, .len = len, .pos = 0, .err = NP_OK};
	return c;
}

static const uint8_t *cur_take(struct pkt_cur *c, size_t n)
{
	if (c->err != 0 || c->len - c->pos < n) {
		c->err = NP_EMALFORMED;
		return NULL;
	}
	const uint8_t *p = c->buf + c->pos;
	c->pos += n;
	return p;
}

static size_t cur_left(const struct pkt_cur *c)
{
	return c->err != 0 ? 0 : c->len - c->pos;
}

static uint8_t cur_u8(struct pkt_cur *c)
{
	const uint8_t *p = cur_take(c, 1);
	return p == NULL ? 0 : p[0];
}

static uint16_t cur_u16(struct pkt_cur *c)
{
	const uint8_t *p = cur_take(c, 2);
	return p == NULL ? 0 : (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t cur_u32(struct pkt_cur *c)
{
	const uint8_t *p = cur_take(c, 4);
	if (p == NULL)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void cur_bytes(struct pkt_cur *c, uint8_t *dst, size_t n)
{
	const uint8_t *p = cur_take(c, n);
	if (p != NULL)
		memcpy(dst, p, n);
}

/* Narrows c to its next n bytes (or to what is left, if fewer: a short snaplen). */
static void cur_limit(struct pkt_cur *c, size_t n)
{
	if (c->err == 0 && c->len - c->pos > n)
		c->len = c->pos + n;
}

bool obs_linktype_supported(int linktype)
{
	switch (linktype) {
	case DLT_NULL:
	case DLT_EN10MB:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

/* Reads the transport header of proto at c into out. */
static int parse_transport(struct pkt_cur *c, uint8_t proto, struct obs_packet *out)
{
	out->proto = proto;
	switch (proto) {
	case IPPROTO_TCP: {
		out->src_port = cur_u16(c);
		out->dst_port = cur_u16(c);
		out->tcp_seq = cur_u32(c);
		(void)cur_u32(c); /* ack */
		uint8_t doff = (uint8_t)(cur_u8(c) >> 4);
		out->tcp_flags = cur_u8(c);
		out->tcp_window = cur_u16(c);
		(void)cur_take(c, 4); /* checksum, urgent pointer */
		if (c->err == 0 && doff * 4 < TCP_MIN_HDR)
			c->err = NP_EMALFORMED;
		break;
	}
	case IPPROTO_UDP:
		out->src_port = cur_u16(c);
		out->dst_port = cur_u16(c);
		(void)cur_take(c, 4); /* length, checksum */
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		out->icmp_type = cur_u8(c);
		(void)cur_take(c, ICMP_MIN_HDR - 1); /* code, checksum */
		break;
	default:
		break; /* other protocols: the protocol number is all we report */
	}
	return c->err;
}

static int parse_ipv4(struct pkt_cur *c, struct obs_packet *out)
{
	uint8_t vihl = cur_u8(c);
	(void)cur_u8(c); /* TOS */
	uint16_t total = cur_u16(c);
	out->ip_id = cur_u16(c);
	uint16_t frag = cur_u16(c);
	out->ttl = cur_u8(c);
	uint8_t proto = cur_u8(c);
	(void)cur_u16(c); /* checksum */
	out->src.family = AF_INET;
	out->dst.family = AF_INET;
	cur_bytes(c, out->src.bytes, 4);
	cur_bytes(c, out->dst.bytes, 4);
	if (c->err != 0)
		return c->err;
	size_t hlen = (size_t)(vihl & 0x0f) * 4;
	if (vihl >> 4 != 4 || hlen < IPV4_MIN_HDR || total < hlen)
		return NP_EMALFORMED;
	(void)cur_take(c, hlen - IPV4_MIN_HDR); /* options */
	/* Payload ends at the stated total length (drops link padding) or at caplen. */
	cur_limit(c, total - hlen);
	if (c->err != 0)
		return c->err;
	if ((frag & 0x1fff) != 0) {
		/* A non-first fragment: the transport header went in the first one. */
		out->proto = IPPROTO_FRAGMENT;
		return NP_OK;
	}
	return parse_transport(c, proto, out);
}

static int parse_ipv6(struct pkt_cur *c, struct obs_packet *out)
{
	uint32_t vtcfl = cur_u32(c);
	uint16_t plen = cur_u16(c);
	uint8_t next = cur_u8(c);
	out->ttl = cur_u8(c); /* hop limit */
	out->src.family = AF_INET6;
	out->dst.family = AF_INET6;
	cur_bytes(c, out->src.bytes, 16);
	cur_bytes(c, out->dst.bytes, 16);
	if (c->err != 0)
		return c->err;
	if (vtcfl >> 28 != 6)
		return NP_EMALFORMED;
	/* plen 0 is a jumbogram (or a lie): then caplen is the only bound we have. */
	if (plen != 0)
		cur_limit(c, plen);
	for (int i = 0; i <= OBS_IPV6_EXT_MAX; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case 135:   /* mobility */
		case 139:   /* HIP */
		case 140: { /* shim6 */
			const uint8_t *h = cur_take(c, 2);
			if (h == NULL)
				return c->err;
			next = h[0];
			(void)cur_take(c, (size_t)h[1] * 8 + 6);
			break;
		}
		case IPPROTO_AH: {
			const uint8_t *h = cur_take(c, 2);
			if (h == NULL)
				return c->err;
			next = h[0];
			(void)cur_take(c, ((size_t)h[1] + 2) * 4 - 2);
			break;
		}
		case IPPROTO_FRAGMENT: {
			const uint8_t *h = cur_take(c, 8);
			if (h == NULL)
				return c->err;
			next = h[0];
			if (((h[2] << 8 | h[3]) & 0xfff8) != 0) {
				out->proto = IPPROTO_FRAGMENT;
				return NP_OK;
			}
			break;
		}
		default:
			/* ESP, no-next-header and upper layers end the walk. */
			return c->err != 0 ? c->err : parse_transport(c, next, out);
		}
		if (c->err != 0)
			return c->err;
	}
	return NP_EMALFORMED; /* more extension headers than any real packet carries */
}

/* Parses an IP packet whose version is taken from its first nibble. */
static int parse_ip_any(struct pkt_cur *c, struct obs_packet *out)
{
	if (cur_left(c) < 1)
		return NP_EMALFORMED;
	switch (c->buf[c->pos] >> 4) {
	case 4:
		return parse_ipv4(c, out);
	case 6:
		return parse_ipv6(c, out);
	default:
		return NP_EMALFORMED;
	}
}

static int parse_by_ethertype(struct pkt_cur *c, uint16_t type, struct obs_packet *out)
{
	switch (type) {
	case ETHERTYPE_IPV4:
		return parse_ipv4(c, out);
	case ETHERTYPE_IPV6:
		return parse_ipv6(c, out);
	default:
		return NP_ENOTFOUND;
	}
}

static int parse_ethernet(struct pkt_cur *c, struct obs_packet *out)
{
	(void)cur_take(c, 12); /* destination and source MAC */
	uint16_t type = cur_u16(c);
	if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) {
		(void)cur_u16(c); /* PCP, DEI, VID */
		type = cur_u16(c);
	}
	if (c->err != 0)
		return c->err;
	return parse_by_ethertype(c, type, out);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The darknet's common case, an untagged Ethernet frame with IPv4 without options and a
 * complete first-fragment TCP header, read without the cursor. For every frame it accepts
 * the result equals the general path's (tests/unit/test_observe_fastpath.c compares
 * them); anything else returns false and goes the general way. */
static bool parse_fast(const uint8_t *f, size_t caplen, struct obs_packet *out)
{
	enum { IP = 14, TCP = 34 };
	if (caplen < TCP + TCP_MIN_HDR || be16(f + 12) != ETHERTYPE_IPV4 || f[IP] != 0x45 ||
	    f[IP + 9] != IPPROTO_TCP || be16(f + IP + 2) < IPV4_MIN_HDR + TCP_MIN_HDR ||
	    (be16(f + IP + 6) & 0x1fff) != 0 || f[TCP + 12] >> 4 < TCP_MIN_HDR / 4)
		return false;
	out->src.family = AF_INET;
	out->dst.family = AF_INET;
	memcpy(out->src.bytes, f + IP + 12, 4);
	memcpy(out->dst.bytes, f + IP + 16, 4);
	out->proto = IPPROTO_TCP;
	out->ttl = f[IP + 8];
	out->ip_id = be16(f + IP + 4);
	out->src_port = be16(f + TCP);
	out->dst_port = be16(f + TCP + 2);
	out->tcp_seq = (uint32_t)be16(f + TCP + 4) << 16 | be16(f + TCP + 6);
	out->tcp_flags = f[TCP + 13];
	out->tcp_window = be16(f + TCP + 14);
	return true;
}

int obs_packet_parse(int linktype, const uint8_t *frame, size_t caplen, int64_t time,
                     struct obs_packet *out)
{
	memset(out, 0, sizeof(*out));
	out->time = time;
	if (linktype == DLT_EN10MB && frame != NULL && parse_fast(frame, caplen, out))
		return NP_OK;
	return obs_packet_parse_general(linktype, frame, caplen, time, out);
}

int obs_packet_parse_general(int linktype, const uint8_t *frame, size_t caplen, int64_t time,
                             struct obs_packet *out)
{
	struct pkt_cur c = cur_init(frame, frame == NULL ? 0 : caplen);
	int ret;
	memset(out, 0, sizeof(*out));
	out->time = time;
	switch (linktype) {
	case DLT_EN10MB:
		ret = parse_ethernet(&c, out);
		break;
	case DLT_RAW:
		ret = parse_ip_any(&c, out);
		break;
	case DLT_IPV4:
		ret = cur_left(&c) > 0 && c.buf[0] >> 4 == 4 ? parse_ipv4(&c, out) : NP_EMALFORMED;
		break;
	case DLT_IPV6:
		ret = cur_left(&c) > 0 && c.buf[0] >> 4 == 6 ? parse_ipv6(&c, out) : NP_EMALFORMED;
		break;
	case DLT_NULL: {
		/* A 4-byte address family in the capturing host's byte order; the IP version
		 * nibble says the same thing portably, so use that. */
		(void)cur_take(&c, 4);
		ret = c.err != 0 ? c.err : parse_ip_any(&c, out);
		break;
	}
	case DLT_LINUX_SLL: {
		(void)cur_take(&c, SLL_HDR_LEN - 2);
		uint16_t type = cur_u16(&c);
		ret = c.err != 0 ? c.err : parse_by_ethertype(&c, type, out);
		break;
	}
	case DLT_LINUX_SLL2: {
		uint16_t type = cur_u16(&c);
		(void)cur_take(&c, SLL2_HDR_LEN - 2);
		ret = c.err != 0 ? c.err : parse_by_ethertype(&c, type, out);
		break;
	}
	default:
		ret = NP_EINVAL;
		break;
	}
	return ret;
}
