/* SPDX-License-Identifier: MIT */
/* Unit tests for the darknet packet parser and the pcap/pcapng reader: every supported
 * link type, IPv4 options and fragments, IPv6 extension headers, truncation at every
 * length, and a pcap file written at run time with libpcap and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "common/macros.h"
#include "observe/observe.h"
#include "observe/packet.h"
#include "observe/pcap_read.h"
#include "observe_fixture.h"

/* Parses a copy of exactly len bytes, so ASAN sees any read past the frame. */
static int parse_exact(int linktype, const uint8_t *frame, size_t len, struct obs_packet *out)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	assert_non_null(copy);
	memcpy(copy, frame, len);
	int r = obs_packet_parse(linktype, copy, len, 1700000000, out);
	free(copy);
	return r;
}

static void assert_addr(const struct np_addr *a, const char *text)
{
	struct np_addr want;
	assert_int_equal(addr_parse(text, &want), 0);
	assert_true(addr_equal(a, &want));
}

static void test_ethernet_ipv4_mirai_syn(void **state)
{
	(void)state;
	uint8_t f[FX_FRAME_MAX];
	struct fx_pkt d = fx_mirai_syn("198.51.100.7", "192.0.2.1", 23);
	size_t n = fx_eth(&d, f);
	assert_int_equal(n, 14 + 40); /* Mirai's 40-byte IP packet */
	struct obs_packet p;
	assert_int_equal(parse_exact(DLT_EN10MB, f, n, &p), NP_OK);
	assert_addr(&p.src, "198.51.100.7");
	assert_addr(&p.dst, "192.0.2.1");
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.ip_id, 0x1d2b);
	assert_int_equal(p.src_port, 41234);
	assert_int_equal(p.dst_port, 23);
	assert_int_equal(p.tcp_flags, TH_SYN);
	assert_int_equal(p.tcp_seq, 3221225985u); /* 192.0.2.1 as the sequence number */
	assert_int_equal(p.tcp_window, 0x7e51);
	assert_int_equal(p.time, 1700000000);
}

static void test_vlan_tag_and_padding(void **state)
{
	(void)state;
	uint8_t f[FX_FRAME_MAX], t[FX_FRAME_MAX];
	struct fx_pkt d = fx_tcp("203.0.113.9", "192.0.2.44", 8080, TH_SYN, 7);
	size_t n = fx_eth(&d, f);
	/* Insert an 802.1Q tag (VID 42) and pad to a 64-byte minimum frame plus junk. */
	memcpy(t, f, 12);
	fx_put16(t + 12, 0x8100);
	fx_put16(t + 14, 42);
	memcpy(t + 16, f + 12, n - 12);
	size_t tn = n + 4;
	memset(t + tn, 0xee, 20);
	struct obs_packet p;
	assert_int_equal(parse_exact(DLT_EN10MB, t, tn + 20, &p), NP_OK);
	assert_int_equal(p.dst_port, 8080);
	assert_int_equal(p.tcp_seq, 7);
	/* 802.1ad outer tag works the same; a second tag is beyond what we parse. */
	fx_put16(t + 12, 0x88a8);
	assert_int_equal(parse_exact(DLT_EN10MB, t, tn, &p), NP_OK);
	fx_put16(t + 16, 0x8100);
	assert_int_equal(parse_exact(DLT_EN10MB, t, tn, &p), NP_ENOTFOUND);
}

static void test_not_ip(void **state)
{
	(void)state;
	uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
	struct obs_packet p;
	assert_int_equal(parse_exact(DLT_EN10MB, arp, sizeof(arp), &p), NP_ENOTFOUND);
	/* An unsupported link type is refused, not guessed. */
	assert_int_equal(parse_exact(105 /* 802.11 */, arp, sizeof(arp), &p), NP_EINVAL);
	assert_false(obs_linktype_supported(105));
	assert_true(obs_linktype_supported(DLT_EN10MB));
	assert_true(obs_linktype_supported(DLT_RAW));
	assert_true(obs_linktype_supported(DLT_LINUX_SLL));
}

static void test_other_link_types(void **state)
{
	(void)state;
	uint8_t ip[FX_FRAME_MAX], f[FX_FRAME_MAX];
	struct obs_packet p;
	struct fx_pkt d4 = fx_mirai_syn("198.51.100.7", "203.0.113.7", 2323);
	struct fx_pkt d6 = fx_tcp("2001:db8::7", "2001:db8:1::1", 22, TH_SYN, 99);
	size_t n4 = fx_ip(&d4, ip);

	assert_int_equal(parse_exact(DLT_RAW, ip, n4, &p), NP_OK);
	assert_int_equal(p.tcp_seq, 3405803783u);
	assert_int_equal(parse_exact(DLT_IPV4, ip, n4, &p), NP_OK);
	assert_int_equal(parse_exact(DLT_IPV6, ip, n4, &p), NP_EMALFORMED);

	/* Linux cooked v1: 16-byte header, protocol last. */
	memset(f, 0, 16);
	fx_put16(f + 14, 0x0800);
	memcpy(f + 16, ip, n4);
	assert_int_equal(parse_exact(DLT_LINUX_SLL, f, 16 + n4, &p), NP_OK);
	assert_int_equal(p.dst_port, 2323);
	fx_put16(f + 14, 0x0806);
	assert_int_equal(parse_exact(DLT_LINUX_SLL, f, 16 + n4, &p), NP_ENOTFOUND);

	/* Linux cooked v2: 20-byte header, protocol first. */
	memset(f, 0, 20);
	fx_put16(f, 0x0800);
	memcpy(f + 20, ip, n4);
	assert_int_equal(parse_exact(DLT_LINUX_SLL2, f, 20 + n4, &p), NP_OK);
	assert_int_equal(p.dst_port, 2323);

	/* BSD loopback: 4-byte family in host order, then IP. */
	uint32_t fam = AF_INET;
	memcpy(f, &fam, 4);
	memcpy(f + 4, ip, n4);
	assert_int_equal(parse_exact(DLT_NULL, f, 4 + n4, &p), NP_OK);

	size_t n6 = fx_ip(&d6, ip);
	assert_int_equal(parse_exact(DLT_RAW, ip, n6, &p), NP_OK);
	assert_int_equal(p.src.family, AF_INET6);
	assert_addr(&p.src, "2001:db8::7");
	assert_int_equal(p.dst_port, 22);
	assert_int_equal(parse_exact(DLT_IPV6, ip, n6, &p), NP_OK);
	assert_int_equal(parse_exact(DLT_IPV4, ip, n6, &p), NP_EMALFORMED);
	ip[0] = 0x50; /* neither 4 nor 6 */
	assert_int_equal(parse_exact(DLT_RAW, ip, n6, &p), NP_EMALFORMED);
}

static void test_ipv4_options_and_bad_ihl(void **state)
{
	(void)state;
	uint8_t f[FX_FRAME_MAX], g[FX_FRAME_MAX];
	struct obs_packet p;
	struct fx_pkt d = fx_tcp("198.51.100.7", "192.0.2.1", 23, TH_SYN, 5);
	size_t n = fx_ip(&d, f);
	/* Rebuild with 8 bytes of options (IHL 7): NOP NOP NOP ... EOL. */
	memcpy(g, f, 20);
	memset(g + 20, 1, 7);
	g[27] = 0;
	memcpy(g + 28, f + 20, n - 20);
	g[0] = 0x47;
	fx_put16(g + 2, (uint16_t)(n + 8));
	assert_int_equal(parse_exact(DLT_RAW, g, n + 8, &p), NP_OK);
	assert_int_equal(p.dst_port, 23);
	assert_int_equal(p.tcp_seq, 5);

	/* IHL below 5, IHL beyond the packet, total length below IHL, bad version. */
	g[0] = 0x44;
	assert_int_equal(parse_exact(DLT_RAW, g, n + 8, &p), NP_EMALFORMED);
	g[0] = 0x4f;
	assert_int_equal(parse_exact(DLT_RAW, g, 50, &p), NP_EMALFORMED);
	g[0] = 0x47;
	fx_put16(g + 2, 27);
	assert_int_equal(parse_exact(DLT_RAW, g, n + 8, &p), NP_EMALFORMED);
	/* Total length that ends inside the TCP header: the header does not fit. */
	fx_put16(g + 2, 28 + 10);
	assert_int_equal(parse_exact(DLT_RAW, g, n + 8, &p), NP_EMALFORMED);
	/* Ethertype IPv4 over an IPv6 header. */
	uint8_t e[FX_FRAME_MAX];
	struct fx_pkt d6 = fx_tcp("2001:db8::7", "2001:db8:1::1", 22, TH_SYN, 99);
	size_t n6 = fx_eth(&d6, e);
	fx_put16(e + 12, 0x0800);
	assert_int_equal(parse_exact(DLT_EN10MB, e, n6, &p), NP_EMALFORMED);
	/* TCP data offset below 5. */
	n = fx_ip(&d, f);
	f[20 + 12] = 0x40;
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_EMALFORMED);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	uint8_t f[FX_FRAME_MAX];
	struct obs_packet p;
	struct fx_pkt d = fx_mirai_syn("198.51.100.7", "192.0.2.1", 23);
	size_t n = fx_ip(&d, f);
	/* First fragment (MF, offset 0): transport header present. */
	fx_put16(f + 6, 0x2000);
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_OK);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.dst_port, 23);
	/* Non-first fragment: whatever follows is payload, not a TCP header. */
	fx_put16(f + 6, 0x0003);
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_OK);
	assert_int_equal(p.proto, IPPROTO_FRAGMENT);
	assert_int_equal(p.dst_port, 0);
	assert_int_equal(p.tcp_flags, 0);
	assert_int_equal(p.tcp_seq, 0);
	assert_int_equal(p.ttl, 64);
	/* Even a non-first fragment too short to hold a TCP header parses. */
	fx_put16(f + 2, 24);
	assert_int_equal(parse_exact(DLT_RAW, f, 24, &p), NP_OK);
	assert_int_equal(p.proto, IPPROTO_FRAGMENT);
}

/* Builds an IPv6 TCP SYN with the given extension header chain (types listed; each is 8
 * bytes, fragment offset frag_off). Returns the length. */
static size_t ipv6_with_ext(uint8_t *out, const uint8_t *types, size_t n_types, uint16_t frag_off)
{
	uint8_t tmp[FX_FRAME_MAX];
	struct fx_pkt d = fx_tcp("2001:db8::7", "2001:db8:1::1", 23, TH_SYN, 1234);
	size_t n = fx_ip(&d, tmp);
	size_t l4 = n - 40;
	memcpy(out, tmp, 40);
	uint8_t *prev_next = out + 6;
	size_t pos = 40;
	for (size_t i = 0; i < n_types; i++) {
		*prev_next = types[i];
		memset(out + pos, 0, 8);
		if (types[i] == IPPROTO_AH)
			out[pos + 1] = 0; /* (0 + 2) * 4 = 8 bytes */
		if (types[i] == IPPROTO_FRAGMENT)
			fx_put16(out + pos + 2, (uint16_t)(frag_off << 3));
		prev_next = out + pos;
		pos += 8;
	}
	*prev_next = IPPROTO_TCP;
	memcpy(out + pos, tmp + 40, l4);
	pos += l4;
	fx_put16(out + 4, (uint16_t)(pos - 40));
	return pos;
}

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	uint8_t f[FX_FRAME_MAX];
	struct obs_packet p;
	const uint8_t chain[] = {IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_AH,
	                         IPPROTO_FRAGMENT};
	size_t n = ipv6_with_ext(f, chain, ARRAY_SIZE(chain), 0);
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_OK);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.dst_port, 23);
	assert_int_equal(p.tcp_seq, 1234);

	n = ipv6_with_ext(f, chain, ARRAY_SIZE(chain), 185);
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_OK);
	assert_int_equal(p.proto, IPPROTO_FRAGMENT);
	assert_int_equal(p.dst_port, 0);

	/* Exactly OBS_IPV6_EXT_MAX headers are walked; one more is refused. */
	uint8_t many[OBS_IPV6_EXT_MAX + 1];
	memset(many, IPPROTO_DSTOPTS, sizeof(many));
	n = ipv6_with_ext(f, many, OBS_IPV6_EXT_MAX, 0);
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_OK);
	assert_int_equal(p.dst_port, 23);
	n = ipv6_with_ext(f, many, OBS_IPV6_EXT_MAX + 1, 0);
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_EMALFORMED);

	/* A header whose length runs past the packet. */
	n = ipv6_with_ext(f, chain, 1, 0);
	f[41] = 200;
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_EMALFORMED);

	/* A "loop": every header names itself as next, forever. Bounded, then refused. */
	memset(f + 40, 0, 512);
	for (size_t i = 0; i < 64; i++)
		f[40 + i * 8] = IPPROTO_HOPOPTS;
	f[6] = IPPROTO_HOPOPTS;
	fx_put16(f + 4, 512);
	assert_int_equal(parse_exact(DLT_RAW, f, 40 + 512, &p), NP_EMALFORMED);

	/* ESP ends the walk: the protocol is all there is to know. */
	n = ipv6_with_ext(f, chain, 1, 0);
	f[40] = IPPROTO_ESP;
	assert_int_equal(parse_exact(DLT_RAW, f, n, &p), NP_OK);
	assert_int_equal(p.proto, IPPROTO_ESP);
	assert_int_equal(p.dst_port, 0);
}

/* Every prefix of a frame shorter than need (the end of its fixed transport header) is
 * malformed; longer prefixes (a short snaplen cutting TCP options) still parse. */
static void truncate_everywhere(int linktype, const uint8_t *f, size_t n, size_t need)
{
	struct obs_packet p;
	for (size_t len = 0; len <= n; len++) {
		int r = parse_exact(linktype, f, len, &p);
		if (r != (len < need ? NP_EMALFORMED : NP_OK))
			fail_msg("length %zu of %zu: %d", len, n, r);
	}
	assert_int_equal(obs_packet_parse(linktype, NULL, 0, 0, &p), NP_EMALFORMED);
}

static void test_truncated_at_every_length(void **state)
{
	(void)state;
	uint8_t f[FX_FRAME_MAX];
	struct fx_pkt cases[] = {
	    fx_mirai_syn("198.51.100.7", "192.0.2.1", 23),
	    fx_zmap_syn("192.0.2.200", "192.0.2.1", 80),
	    fx_tcp("2001:db8::7", "2001:db8:1::1", 22, TH_SYN, 99),
	    fx_icmp("203.0.113.50", "192.0.2.1", 3),
	    fx_icmp("2001:db8::50", "2001:db8:1::1", 1),
	};
	struct fx_pkt udp = {.src = "198.51.100.7",
	                     .dst = "192.0.2.9",
	                     .proto = IPPROTO_UDP,
	                     .ttl = 50,
	                     .sport = 5353,
	                     .dport = 1900};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		/* ICMP carries 8 bytes but only 4 are header: cut to those. */
		size_t cut = cases[i].proto == IPPROTO_TCP ? 0 : 4;
		size_t n = fx_eth(&cases[i], f) - cut;
		if (cut > 0)
			fx_put16(f + 14 + (f[14] >> 4 == 4 ? 2 : 4),
			         (uint16_t)(f[14] >> 4 == 4 ? n - 14 : n - 54));
		size_t need = n - cases[i].tcp_opt_len;
		truncate_everywhere(DLT_EN10MB, f, n, need);
		truncate_everywhere(DLT_RAW, f + 14, n - 14, need - 14);
	}
	size_t n = fx_eth(&udp, f);
	truncate_everywhere(DLT_EN10MB, f, n, n);
}

/* --- pcap files ------------------------------------------------------------------- */

struct kind_counts {
	unsigned by_kind[OBS_KIND_COUNT];
	unsigned mirai_from_bot;
	unsigned calls;
	unsigned stop_after; /* 0: never stop */
};

static int count_cb(const struct obs_packet *p, void *ctx)
{
	struct kind_counts *k = ctx;
	struct np_addr bot;
	enum obs_kind kind = obs_classify(p, NULL, 0);
	k->by_kind[kind]++;
	if (addr_parse("198.51.100.7", &bot) == 0 && kind == OBS_MIRAI_SYN &&
	    addr_equal(&p->src, &bot))
		k->mirai_from_bot++;
	k->calls++;
	if (k->stop_after != 0 && k->calls == k->stop_after)
		return 77;
	return 0;
}

static void dump_one(pcap_dumper_t *d, const uint8_t *f, size_t n, long sec)
{
	struct pcap_pkthdr h;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = sec;
	h.ts.tv_usec = 1234;
	h.caplen = (bpf_u_int32)n;
	h.len = (bpf_u_int32)n;
	pcap_dump((u_char *)d, &h, f);
}

#define N_MIRAI       7
#define M_BACKSCATTER 5
#define K_ZMAP        4

/* Writes the known-content capture: N Mirai SYNs from 198.51.100.7 (90% to 23, the rest
 * 2323, as the Mirai scanner does), M backscatter packets, K ZMap probes, one ARP frame
 * and one frame truncated inside its TCP header. */
static void write_capture(const char *path, int linktype)
{
	static const char *const darknet[] = {"192.0.2.1", "192.0.2.77", "203.0.113.7",
	                                      "203.0.113.200"};
	uint8_t f[FX_FRAME_MAX];
	size_t n;
	long t = 1700000000;
	pcap_t *dead = pcap_open_dead(linktype, 65535);
	assert_non_null(dead);
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	assert_non_null(d);
	size_t skip = linktype == DLT_EN10MB ? 0 : 14;
	for (int i = 0; i < N_MIRAI; i++) {
		struct fx_pkt p = fx_mirai_syn("198.51.100.7", darknet[i % 4], i == 3 ? 2323 : 23);
		n = fx_eth(&p, f);
		dump_one(d, f + skip, n - skip, t++);
	}
	for (int i = 0; i < M_BACKSCATTER; i++) {
		struct fx_pkt p;
		if (i == 0)
			p = fx_tcp("203.0.113.99", darknet[i % 4], 51000, TH_SYN | TH_ACK, 1);
		else if (i == 1)
			p = fx_tcp("203.0.113.99", darknet[i % 4], 51001, TH_RST, 0);
		else
			p = fx_icmp("203.0.113.98", darknet[i % 4], i == 2 ? 3 : i == 3 ? 0 : 11);
		n = fx_eth(&p, f);
		dump_one(d, f + skip, n - skip, t++);
	}
	for (int i = 0; i < K_ZMAP; i++) {
		struct fx_pkt p = fx_zmap_syn("192.0.2.250", darknet[i % 4], (uint16_t)(80 + i));
		n = fx_eth(&p, f);
		dump_one(d, f + skip, n - skip, t++);
	}
	if (linktype == DLT_EN10MB) {
		uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 8, 6};
		dump_one(d, arp, sizeof(arp), t++);
	}
	struct fx_pkt p = fx_mirai_syn("198.51.100.7", "192.0.2.1", 23);
	n = fx_eth(&p, f);
	dump_one(d, f + skip, n - skip - 6, t++); /* TCP header cut short */
	pcap_dump_close(d);
	pcap_close(dead);
}

static void make_temp(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, len, "%s/np_observe_XXXXXX", dir != NULL ? dir : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

static void check_capture(int linktype)
{
	char path[256];
	make_temp(path, sizeof(path));
	write_capture(path, linktype);
	struct kind_counts k;
	struct obs_pcap_stats st;
	memset(&k, 0, sizeof(k));
	assert_int_equal(obs_pcap_foreach(path, count_cb, &k, &st), NP_OK);
	unsigned arp = linktype == DLT_EN10MB ? 1 : 0;
	assert_int_equal(st.linktype, linktype);
	assert_int_equal(st.packets, N_MIRAI + M_BACKSCATTER + K_ZMAP + arp + 1);
	assert_int_equal(st.parsed, N_MIRAI + M_BACKSCATTER + K_ZMAP);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.not_ip, arp);
	assert_int_equal(k.by_kind[OBS_MIRAI_SYN], N_MIRAI);
	assert_int_equal(k.mirai_from_bot, N_MIRAI);
	assert_int_equal(k.by_kind[OBS_BACKSCATTER], M_BACKSCATTER);
	assert_int_equal(k.by_kind[OBS_RESEARCH], K_ZMAP);
	assert_int_equal(k.by_kind[OBS_SCAN], 0);
	assert_int_equal(k.by_kind[OBS_OTHER], 0);

	/* A callback's non-zero result stops the read and comes back unchanged. */
	memset(&k, 0, sizeof(k));
	k.stop_after = 3;
	assert_int_equal(obs_pcap_foreach(path, count_cb, &k, NULL), 77);
	assert_int_equal(k.calls, 3);
	unlink(path);
}

static void test_pcap_ethernet_known_content(void **state)
{
	(void)state;
	check_capture(DLT_EN10MB);
}

static void test_pcap_raw_known_content(void **state)
{
	(void)state;
	check_capture(DLT_RAW);
}

/* pcapng, which libpcap cannot write: a section header, one Ethernet interface and
 * enhanced packet blocks, laid out by hand (little-endian). */
static size_t ng_block(uint8_t *out, uint32_t type, const uint8_t *body, size_t blen)
{
	size_t pad = (4 - blen % 4) % 4;
	uint32_t total = (uint32_t)(12 + blen + pad);
	memcpy(out, &type, 4);
	memcpy(out + 4, &total, 4);
	memcpy(out + 8, body, blen);
	memset(out + 8 + blen, 0, pad);
	memcpy(out + 8 + blen + pad, &total, 4);
	return total;
}

static void test_pcapng_known_content(void **state)
{
	(void)state;
	static uint8_t file[16384];
	uint8_t body[FX_FRAME_MAX + 32], f[FX_FRAME_MAX];
	size_t pos = 0;
	uint32_t magic = 0x1a2b3c4d;
	uint16_t ver[2] = {1, 0};
	int64_t seclen = -1;
	memcpy(body, &magic, 4);
	memcpy(body + 4, ver, 4);
	memcpy(body + 8, &seclen, 8);
	pos += ng_block(file + pos, 0x0a0d0d0a, body, 16);
	uint16_t idb[2] = {DLT_EN10MB, 0};
	uint32_t snap = 65535;
	memcpy(body, idb, 4);
	memcpy(body + 4, &snap, 4);
	pos += ng_block(file + pos, 1, body, 8);
	for (int i = 0; i < 3; i++) {
		struct fx_pkt p = i < 2 ? fx_mirai_syn("198.51.100.7", "192.0.2.1", 23)
		                        : fx_tcp("203.0.113.99", "192.0.2.1", 40000, TH_RST, 0);
		uint32_t n = (uint32_t)fx_eth(&p, f);
		uint64_t ts = (uint64_t)(1700000000 + i) * 1000000u;
		uint32_t w[5] = {0, (uint32_t)(ts >> 32), (uint32_t)ts, n, n};
		memcpy(body, w, 20);
		memcpy(body + 20, f, n);
		pos += ng_block(file + pos, 6, body, 20 + n);
	}
	char path[256];
	make_temp(path, sizeof(path));
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(file, 1, pos, fp), pos);
	fclose(fp);
	struct kind_counts k;
	struct obs_pcap_stats st;
	memset(&k, 0, sizeof(k));
	assert_int_equal(obs_pcap_foreach(path, count_cb, &k, &st), NP_OK);
	assert_int_equal(st.packets, 3);
	assert_int_equal(k.by_kind[OBS_MIRAI_SYN], 2);
	assert_int_equal(k.by_kind[OBS_BACKSCATTER], 1);
	unlink(path);
}

static void test_pcap_errors(void **state)
{
	(void)state;
	struct kind_counts k;
	struct obs_pcap_stats st;
	memset(&k, 0, sizeof(k));
	assert_int_equal(obs_pcap_foreach("/nonexistent/x.pcap", count_cb, &k, &st), NP_EIO);
	char path[256];
	make_temp(path, sizeof(path));
	/* Not a capture at all. */
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("this is not a pcap file, just text\n", fp);
	fclose(fp);
	assert_int_equal(obs_pcap_foreach(path, count_cb, &k, &st), NP_EIO);
	/* A link type the parser does not know. */
	pcap_t *dead = pcap_open_dead(105, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	assert_non_null(d);
	pcap_dump_close(d);
	pcap_close(dead);
	assert_int_equal(obs_pcap_foreach(path, count_cb, &k, &st), NP_EINVAL);
	assert_int_equal(st.linktype, 105);
	assert_int_equal(k.calls, 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ethernet_ipv4_mirai_syn),
	    cmocka_unit_test(test_vlan_tag_and_padding),
	    cmocka_unit_test(test_not_ip),
	    cmocka_unit_test(test_other_link_types),
	    cmocka_unit_test(test_ipv4_options_and_bad_ihl),
	    cmocka_unit_test(test_ipv4_fragments),
	    cmocka_unit_test(test_ipv6_extension_headers),
	    cmocka_unit_test(test_truncated_at_every_length),
	    cmocka_unit_test(test_pcap_ethernet_known_content),
	    cmocka_unit_test(test_pcap_raw_known_content),
	    cmocka_unit_test(test_pcapng_known_content),
	    cmocka_unit_test(test_pcap_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
