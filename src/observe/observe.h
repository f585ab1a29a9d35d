/* SPDX-License-Identifier: MIT */
/* Observations for the "am I infected?" check: what a sensor saw one source address do,
 * how a packet is classified, and the per-address index the verdicts are read from.
 * Facts behind the rules: docs/infection-check.md ("What a verdict means"). */
#ifndef NP_OBSERVE_OBSERVE_H
#define NP_OBSERVE_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/err.h"

/* What one observation is. */
enum obs_kind {
	OBS_MIRAI_SYN,      /* TCP SYN with sequence number == destination IPv4 address */
	OBS_SCAN,           /* a SYN or probe to a port without the fingerprint */
	OBS_BACKSCATTER,    /* SYN-ACK, RST, ICMP errors: a DoS victim answering; never counts */
	OBS_RESEARCH,       /* ZMap / Masscan signatures or a configured research range */
	OBS_LOGIN,          /* a honeypot login attempt (username/password pair) */
	OBS_DOWNLOAD,       /* a honeypot session that tried to fetch malware (wget/tftp/curl) */
	OBS_HTTP_EXPLOIT,   /* a known IoT exploit path on the HTTP honeypot */
	OBS_CONNECT,        /* a plain connection to an IoT port listener */
	OBS_OTHER,          /* anything else seen (not evidence) */
	OBS_KIND_COUNT
};

/* One observation, as sensors and importers produce it. */
struct obs_event {
	struct np_addr src;    /* the source (IPv6 is aggregated per /64 by the index) */
	int64_t time;          /* unix seconds */
	enum obs_kind kind;
	uint8_t proto;         /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	uint16_t dst_port;     /* 0 when not TCP/UDP */
	uint32_t count;        /* identical events folded into this one: 0 and 1 both mean one */
	char user[33];         /* OBS_LOGIN: the pair tried, truncated; "" otherwise */
	char pass[33];
};

/* The packet facts classification needs (filled by the packet parser from any source:
 * live capture or a pcap file). */
struct obs_packet {
	struct np_addr src, dst;
	uint8_t proto;
	uint8_t ttl;
	uint16_t ip_id;       /* IPv4 only */
	uint16_t src_port, dst_port;
	uint8_t tcp_flags;    /* TH_SYN, TH_ACK, TH_RST ... */
	uint32_t tcp_seq;
	uint16_t tcp_window;
	uint8_t icmp_type;
	int64_t time;
};

/* Classifies a packet seen on a darknet (addresses that host nothing). research ranges
 * are excluded first. Pure: unit-tested with golden cases (tests/unit/observe_fixture.h). */
enum obs_kind obs_classify(const struct obs_packet *p, const struct np_cidr *research,
			   size_t n_research);
const char *obs_kind_name(enum obs_kind k);

#endif
