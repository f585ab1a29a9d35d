/* SPDX-License-Identifier: MIT */
/* Darknet packet classification: Mirai fingerprint, scans, backscatter, research scanners
 * (rules: Mirai's scanner.c, CAIDA's backscatter rules, ZMap's and Masscan's probe fields). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "observe/observe.h"

#define ZMAP_IP_ID 54321 /* zmap src/probe_modules/packet.c, every probe module */

static uint32_t ipv4_u32(const struct np_addr *a)
{
	return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
	       (uint32_t)a->bytes[2] << 8 | a->bytes[3];
}

static bool in_ranges(const struct np_addr *a, const struct np_cidr *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&r[i], a))
			return true;
	return false;
}

/* A connection attempt: SYN without ACK, RST or FIN. */
static bool tcp_is_syn(uint8_t flags)
{
	return (flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) == TH_SYN;
}

/* The probe signatures of ZMap (fixed IP ID) and Masscan (IP ID derived from the target
 * and the SYN cookie: ip_id = (ip_them ^ port_them ^ seqno) & 0xffff, masscan
 * tcp_create_packet). A random IP ID matches either by chance with odds 2^-16 per packet,
 * which the verdict's two-packet threshold absorbs. */
static bool is_research_probe(const struct obs_packet *p)
{
	if (p->src.family != AF_INET)
		return false;
	if (p->ip_id == ZMAP_IP_ID &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP || p->proto == IPPROTO_ICMP))
		return true;
	if (p->proto == IPPROTO_TCP && tcp_is_syn(p->tcp_flags)) {
		uint32_t x = ipv4_u32(&p->dst) ^ p->dst_port ^ p->tcp_seq;
		return p->ip_id == (x & 0xffff);
	}
	return false;
}

/* ICMP types a victim sends back to a spoofed source (corsaro flowtuple): echo reply,
 * unreachable, source quench, redirect, time exceeded, parameter problem, timestamp,
 * information and mask replies. */
static bool icmp4_is_backscatter(uint8_t type)
{
	switch (type) {
	case 0:
	case 3:
	case 4:
	case 5:
	case 11:
	case 12:
	case 14:
	case 16:
	case 18:
		return true;
	default:
		return false;
	}
}

/* The ICMPv6 equivalents: errors 1-4 and echo reply. */
static bool icmp6_is_backscatter(uint8_t type)
{
	return (type >= 1 && type <= 4) || type == 129;
}

enum obs_kind obs_classify(const struct obs_packet *p, const struct np_cidr *research,
                           size_t n_research)
{
	if (in_ranges(&p->src, research, n_research))
		return OBS_RESEARCH;
	if (is_research_probe(p))
		return OBS_RESEARCH;
	switch (p->proto) {
	case IPPROTO_TCP:
		if ((p->tcp_flags & TH_RST) != 0 ||
		    (p->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
			return OBS_BACKSCATTER;
		if (!tcp_is_syn(p->tcp_flags))
			return OBS_OTHER; /* FIN/NULL/XMAS/ACK probes: not counted as evidence */
		if (p->dst.family == AF_INET && p->tcp_seq == ipv4_u32(&p->dst))
			return OBS_MIRAI_SYN;
		return OBS_SCAN;
	case IPPROTO_UDP:
		return OBS_SCAN;
	case IPPROTO_ICMP:
		if (icmp4_is_backscatter(p->icmp_type))
			return OBS_BACKSCATTER;
		return p->icmp_type == 8 ? OBS_SCAN : OBS_OTHER;
	case IPPROTO_ICMPV6:
		if (icmp6_is_backscatter(p->icmp_type))
			return OBS_BACKSCATTER;
		return p->icmp_type == 128 ? OBS_SCAN : OBS_OTHER;
	default:
		return OBS_OTHER;
	}
}

const char *obs_kind_name(enum obs_kind k)
{
	static const char *const names[OBS_KIND_COUNT] = {
	    [OBS_MIRAI_SYN] = "mirai_syn",
	    [OBS_SCAN] = "scan",
	    [OBS_BACKSCATTER] = "backscatter",
	    [OBS_RESEARCH] = "research",
	    [OBS_LOGIN] = "login",
	    [OBS_DOWNLOAD] = "download",
	    [OBS_HTTP_EXPLOIT] = "http_exploit",
	    [OBS_CONNECT] = "connect",
	    [OBS_OTHER] = "other",
	};
	if ((unsigned)k >= OBS_KIND_COUNT || names[k] == NULL)
		return "unknown";
	return names[k];
}
