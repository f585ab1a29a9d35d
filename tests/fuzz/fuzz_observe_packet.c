/* SPDX-License-Identifier: MIT */
/* Fuzz target for the darknet packet parser and classifier over arbitrary frames. The
 * first input byte picks the link type; the rest is the captured frame. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/macros.h"
#include "fuzz.h"
#include "observe/observe.h"
#include "observe/packet.h"

static const int linktypes[] = {DLT_EN10MB, DLT_RAW,  DLT_LINUX_SLL, DLT_LINUX_SLL2,
                                DLT_NULL,   DLT_IPV4, DLT_IPV6,      105 /* unsupported */};

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void check_parsed(const struct obs_packet *p, const uint8_t *frame, size_t size)
{
	size_t alen = p->src.family == AF_INET ? 4 : 16;
	CHECK(p->src.family == AF_INET || p->src.family == AF_INET6);
	CHECK(p->dst.family == p->src.family);
	CHECK(p->time == 42);
	/* The addresses come from the frame, not from thin air. */
	CHECK(memmem(frame, size, p->src.bytes, alen) != NULL);
	CHECK(memmem(frame, size, p->dst.bytes, alen) != NULL);
	if (p->src.family == AF_INET6)
		CHECK(p->ip_id == 0);
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		CHECK(p->src_port == 0 && p->dst_port == 0);
	if (p->proto != IPPROTO_TCP)
		CHECK(p->tcp_flags == 0 && p->tcp_seq == 0 && p->tcp_window == 0);
	if (p->proto != IPPROTO_ICMP && p->proto != IPPROTO_ICMPV6)
		CHECK(p->icmp_type == 0);
}

static void check_classified(const struct obs_packet *p)
{
	enum obs_kind k = obs_classify(p, NULL, 0);
	CHECK(k == OBS_MIRAI_SYN || k == OBS_SCAN || k == OBS_BACKSCATTER || k == OBS_RESEARCH ||
	      k == OBS_OTHER);
	CHECK(obs_classify(p, NULL, 0) == k);
	CHECK(strcmp(obs_kind_name(k), "unknown") != 0);
	if (k == OBS_MIRAI_SYN) {
		CHECK(p->proto == IPPROTO_TCP && p->dst.family == AF_INET);
		CHECK(p->tcp_seq == be32(p->dst.bytes));
		CHECK((p->tcp_flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) == TH_SYN);
	}
	if (k == OBS_SCAN || k == OBS_BACKSCATTER)
		CHECK(p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ||
		      p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6);
	/* A range holding the source always wins. */
	struct np_cidr r = {.addr = p->src, .prefix = p->src.family == AF_INET ? 32 : 128};
	CHECK(obs_classify(p, &r, 1) == OBS_RESEARCH);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int lt = linktypes[data[0] % ARRAY_SIZE(linktypes)];
	const uint8_t *frame = data + 1;
	size_t n = size - 1;
	struct obs_packet p, again;
	int r = obs_packet_parse(lt, frame, n, 42, &p);
	if (!obs_linktype_supported(lt)) {
		CHECK(r == NP_EINVAL);
		return 0;
	}
	CHECK(r == NP_OK || r == NP_EMALFORMED || r == NP_ENOTFOUND);
	if (r != NP_OK)
		return 0;
	/* Parsing is a pure function of the bytes. */
	CHECK(obs_packet_parse(lt, frame, n, 42, &again) == NP_OK);
	CHECK(memcmp(&p, &again, sizeof(p)) == 0);
	check_parsed(&p, frame, n);
	check_classified(&p);
	return 0;
}
