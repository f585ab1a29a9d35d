/* SPDX-License-Identifier: MIT */
/* Unit tests for darknet packet classification: the golden cases
 * (Mirai SYN, ZMap, Masscan, backscatter, research ranges, IPv6), built as frames and
 * run through the real parser, plus the edges of each rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "common/macros.h"
#include "observe/observe.h"
#include "observe/packet.h"
#include "observe_fixture.h"

static struct np_cidr g_ranges[3];

static int setup_ranges(void **state)
{
	(void)state;
	/* Censys ranges from MISP's warning list. */
	if (cidr_parse("162.142.125.0/24", &g_ranges[0]) != 0 ||
	    cidr_parse("199.45.154.0/23", &g_ranges[1]) != 0 ||
	    cidr_parse("2602:80d:1000::/48", &g_ranges[2]) != 0)
		return -1;
	return 0;
}

/* Builds d as an Ethernet frame, parses it and classifies it against g_ranges. */
static enum obs_kind classify(const struct fx_pkt *d)
{
	uint8_t f[FX_FRAME_MAX];
	struct obs_packet p;
	size_t n = fx_eth(d, f);
	assert_int_equal(obs_packet_parse(DLT_EN10MB, f, n, 1700000000, &p), NP_OK);
	return obs_classify(&p, g_ranges, ARRAY_SIZE(g_ranges));
}

static void test_mirai_syn_golden(void **state)
{
	(void)state;
	struct fx_pkt d = fx_mirai_syn("198.51.100.7", "192.0.2.1", 23);
	assert_int_equal(d.seq, 0xC0000201u); /* 192.0.2.1 as the sequence number */
	assert_int_equal(classify(&d), OBS_MIRAI_SYN);
	d = fx_mirai_syn("198.51.100.7", "203.0.113.7", 2323);
	assert_int_equal(d.seq, 0xCB007107u);
	assert_int_equal(classify(&d), OBS_MIRAI_SYN);
	d = fx_mirai_syn("198.51.100.7", "62.210.75.75", 23);
	assert_int_equal(d.seq, 1053969227u);
	assert_int_equal(classify(&d), OBS_MIRAI_SYN);
	/* The fingerprint is the sequence number alone: any port and TTL still match. */
	d = fx_mirai_syn("198.51.100.7", "192.0.2.1", 37215);
	d.ttl = 47;
	assert_int_equal(classify(&d), OBS_MIRAI_SYN);
}

static void test_mirai_near_misses(void **state)
{
	(void)state;
	/* seq one off the destination: an ordinary scan. */
	struct fx_pkt d = fx_mirai_syn("198.51.100.7", "192.0.2.1", 23);
	d.seq += 1;
	assert_int_equal(classify(&d), OBS_SCAN);
	/* An ordinary SYN with options (a real TCP stack): not Mirai. */
	d = fx_tcp("198.51.100.8", "192.0.2.1", 23, TH_SYN, 0x12345678);
	d.tcp_opt_len = 20;
	assert_int_equal(classify(&d), OBS_SCAN);
	/* seq == dst but with ACK: a SYN-ACK, backscatter. */
	d = fx_mirai_syn("198.51.100.7", "192.0.2.1", 23);
	d.flags = TH_SYN | TH_ACK;
	assert_int_equal(classify(&d), OBS_BACKSCATTER);
	/* SYN+FIN is not a connection attempt. */
	d.flags = TH_SYN | TH_FIN;
	assert_int_equal(classify(&d), OBS_OTHER);
	/* IPv6 has no 32-bit destination to match: a scan. */
	d = fx_tcp("2001:db8::7", "2001:db8:1::1", 23, TH_SYN, 0x20010db8);
	assert_int_equal(classify(&d), OBS_SCAN);
}

static void test_zmap_and_masscan(void **state)
{
	(void)state;
	struct fx_pkt d = fx_zmap_syn("192.0.2.250", "203.0.113.7", 443);
	assert_int_equal(classify(&d), OBS_RESEARCH);
	/* ZMap's ICMP echo and UDP modules use the same IP ID. */
	d = fx_icmp("192.0.2.250", "203.0.113.7", 8);
	d.ip_id = 54321;
	assert_int_equal(classify(&d), OBS_RESEARCH);
	d.ip_id = 54320;
	assert_int_equal(classify(&d), OBS_SCAN);

	d = fx_masscan_syn("192.0.2.251", "203.0.113.7", 80);
	assert_int_equal(d.ip_id, (uint16_t)((0xCB007107u ^ 80u ^ 0x5eed1234u) & 0xffff));
	assert_int_equal(classify(&d), OBS_RESEARCH);
	d.ip_id ^= 1;
	assert_int_equal(classify(&d), OBS_SCAN);
	/* Research signatures outrank the Mirai fingerprint (both are probes we drop). */
	d = fx_mirai_syn("198.51.100.7", "192.0.2.1", 23);
	d.ip_id = 54321;
	assert_int_equal(classify(&d), OBS_RESEARCH);
}

static void test_backscatter(void **state)
{
	(void)state;
	struct fx_pkt d = fx_tcp("203.0.113.99", "192.0.2.1", 51000, TH_SYN | TH_ACK, 1);
	assert_int_equal(classify(&d), OBS_BACKSCATTER);
	d.flags = TH_RST;
	assert_int_equal(classify(&d), OBS_BACKSCATTER);
	d.flags = TH_RST | TH_ACK;
	assert_int_equal(classify(&d), OBS_BACKSCATTER);
	static const uint8_t v4_back[] = {0, 3, 4, 5, 11, 12, 14, 16, 18};
	for (size_t i = 0; i < ARRAY_SIZE(v4_back); i++) {
		d = fx_icmp("203.0.113.98", "192.0.2.1", v4_back[i]);
		assert_int_equal(classify(&d), OBS_BACKSCATTER);
	}
	static const uint8_t v6_back[] = {1, 2, 3, 4, 129};
	for (size_t i = 0; i < ARRAY_SIZE(v6_back); i++) {
		d = fx_icmp("2001:db8::98", "2001:db8:1::1", v6_back[i]);
		assert_int_equal(classify(&d), OBS_BACKSCATTER);
	}
}

static void test_research_ranges(void **state)
{
	(void)state;
	/* A perfect Mirai fingerprint from a listed range is still a research scanner. */
	struct fx_pkt d = fx_mirai_syn("162.142.125.7", "192.0.2.1", 23);
	assert_int_equal(classify(&d), OBS_RESEARCH);
	d = fx_mirai_syn("199.45.155.254", "192.0.2.1", 23); /* inside the /23 */
	assert_int_equal(classify(&d), OBS_RESEARCH);
	d = fx_mirai_syn("199.45.156.1", "192.0.2.1", 23); /* just outside */
	assert_int_equal(classify(&d), OBS_MIRAI_SYN);
	d = fx_tcp("2602:80d:1000::17", "2001:db8:1::1", 22, TH_SYN, 5);
	assert_int_equal(classify(&d), OBS_RESEARCH);
	/* Without ranges the same packet is a scan. */
	uint8_t f[FX_FRAME_MAX];
	struct obs_packet p;
	size_t n = fx_eth(&d, f);
	assert_int_equal(obs_packet_parse(DLT_EN10MB, f, n, 0, &p), NP_OK);
	assert_int_equal(obs_classify(&p, NULL, 0), OBS_SCAN);
}

static void test_scans_and_other(void **state)
{
	(void)state;
	struct fx_pkt d = fx_tcp("2001:db8::7", "2001:db8:1::1", 23, TH_SYN, 77);
	assert_int_equal(classify(&d), OBS_SCAN); /* the IPv6 SYN scan golden case */
	struct fx_pkt u = {.src = "198.51.100.9",
	                   .dst = "192.0.2.3",
	                   .proto = IPPROTO_UDP,
	                   .ttl = 50,
	                   .sport = 4444,
	                   .dport = 37215};
	assert_int_equal(classify(&u), OBS_SCAN);
	d = fx_icmp("198.51.100.9", "192.0.2.3", 8);
	assert_int_equal(classify(&d), OBS_SCAN);
	d = fx_icmp("2001:db8::9", "2001:db8:1::3", 128);
	assert_int_equal(classify(&d), OBS_SCAN);
	d = fx_icmp("198.51.100.9", "192.0.2.3", 13); /* timestamp request */
	assert_int_equal(classify(&d), OBS_OTHER);
	d = fx_icmp("2001:db8::9", "2001:db8:1::3", 135); /* neighbour solicitation */
	assert_int_equal(classify(&d), OBS_OTHER);
	d = fx_tcp("198.51.100.9", "192.0.2.3", 23, TH_FIN, 0);
	assert_int_equal(classify(&d), OBS_OTHER);
	d = fx_tcp("198.51.100.9", "192.0.2.3", 23, TH_ACK, 0);
	assert_int_equal(classify(&d), OBS_OTHER);
	d = fx_tcp("198.51.100.9", "192.0.2.3", 23, 0, 0); /* NULL scan */
	assert_int_equal(classify(&d), OBS_OTHER);
	struct fx_pkt g = {.src = "198.51.100.9", .dst = "192.0.2.3", .proto = 47, .ttl = 9};
	assert_int_equal(classify(&g), OBS_OTHER);
}

static void test_fragment_is_other(void **state)
{
	(void)state;
	uint8_t f[FX_FRAME_MAX];
	struct obs_packet p;
	/* The tail of a fragmented echo request must not read as an echo reply (type 0). */
	struct fx_pkt d = fx_icmp("198.51.100.9", "192.0.2.3", 8);
	d.payload = 100;
	size_t n = fx_ip(&d, f);
	fx_put16(f + 6, 0x0010);
	memset(f + 20, 0, 8);
	assert_int_equal(obs_packet_parse(DLT_RAW, f, n, 0, &p), NP_OK);
	assert_int_equal(obs_classify(&p, NULL, 0), OBS_OTHER);
}

static void test_kind_names(void **state)
{
	(void)state;
	for (int i = 0; i < OBS_KIND_COUNT; i++) {
		const char *a = obs_kind_name((enum obs_kind)i);
		assert_non_null(a);
		assert_string_not_equal(a, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, obs_kind_name((enum obs_kind)j));
	}
	assert_string_equal(obs_kind_name(OBS_MIRAI_SYN), "mirai_syn");
	assert_string_equal(obs_kind_name(OBS_BACKSCATTER), "backscatter");
	assert_string_equal(obs_kind_name(OBS_KIND_COUNT), "unknown");
	assert_string_equal(obs_kind_name((enum obs_kind) - 1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mirai_syn_golden),  cmocka_unit_test(test_mirai_near_misses),
	    cmocka_unit_test(test_zmap_and_masscan),  cmocka_unit_test(test_backscatter),
	    cmocka_unit_test(test_research_ranges),   cmocka_unit_test(test_scans_and_other),
	    cmocka_unit_test(test_fragment_is_other), cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, setup_ranges, NULL);
}
