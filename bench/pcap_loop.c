/* SPDX-License-Identifier: MIT */
/* The baseline of the import benchmark (bench/import.sh): a bare libpcap read loop, and the
 * generator of its darknet capture.
 *   pcap_loop read FILE                 counts the packets (pcap_open_offline +
 *                                       pcap_next_ex, nothing else); prints packets, s
 *   pcap_loop gen FILE PACKETS SOURCES [zipf]
 *                                       writes an Ethernet pcap with packet times in the
 *                                       last two hours: 60% Mirai SYNs (seq == destination)
 *                                       from SOURCES bots to 23/2323, 25% ordinary SYN
 *                                       scans, 10% backscatter (SYN-ACK, RST), 5% ZMap
 *                                       probes (IP ID 54321). Sources are uniform (the hard
 *                                       case: ~8 packets per source) or, with "zipf", Zipf
 *                                       (s = 1) distributed, as in real darknet captures
 *                                       where a few thousand heavy scanners send most. */
#include <inttypes.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_read(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	double t0 = now_s();
	pcap_t *p = pcap_open_offline(path, err);
	if (p == NULL) {
		fprintf(stderr, "pcap_loop: %s\n", err);
		return 1;
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0, bytes = 0;
	int rc;
	/* Bounded by the file. */
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		n++;
		bytes += h->caplen; /* touch the header, as any reader must */
	}
	pcap_close(p);
	double t = now_s() - t0;
	printf("%" PRIu64 " packets %" PRIu64 " bytes %.6f s\n", n, bytes, t);
	return rc == PCAP_ERROR ? 1 : 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void frame(uint8_t f[54], uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                  uint8_t flags, uint32_t seq, uint16_t ip_id, uint8_t ttl)
{
	memset(f, 0, 54);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	uint8_t *ip = f + 14, *tcp = f + 34;
	ip[0] = 0x45;
	put16(ip + 2, 40);
	put16(ip + 4, ip_id);
	ip[8] = ttl;
	ip[9] = 6;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 5840);
}

/* Zipf ranks 0 .. n-1 with P(k) ~ 1/(k+1): a cumulative table and a binary search. */
static double *zipf_cdf;
static uint32_t zipf_n;

static int zipf_init(uint32_t n)
{
	zipf_cdf = malloc((size_t)n * sizeof(*zipf_cdf));
	if (zipf_cdf == NULL)
		return -1;
	double sum = 0;
	for (uint32_t k = 0; k < n; k++)
		zipf_cdf[k] = sum += 1.0 / (k + 1);
	for (uint32_t k = 0; k < n; k++)
		zipf_cdf[k] /= sum;
	zipf_n = n;
	return 0;
}

/* A source rank below m: Zipf when enabled, else uniform. */
static uint32_t pick(uint32_t m)
{
	if (zipf_cdf == NULL)
		return rnd() % m;
	double u = (double)rnd() / 65536.0 / 65536.0;
	uint32_t lo = 0, hi = zipf_n - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo % m;
}

static int cmd_gen(const char *path, uint32_t n, uint32_t sources)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = p != NULL ? pcap_dump_open(p, path) : NULL;
	if (d == NULL) {
		fprintf(stderr, "pcap_loop: cannot write %s: %s\n", path,
		        p != NULL ? pcap_geterr(p) : "pcap_open_dead");
		return 1;
	}
	(void)err;
	static const uint16_t scan_ports[] = {23,    80,    8080, 445,  22,
	                                      37215, 52869, 5555, 7547, 3389};
	int64_t start = (int64_t)time(NULL) - 7200;
	uint8_t f[54];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t r = rnd() % 100, dst = 0x0a630000u | (rnd() & 0xffff); /* 10.99/16 */
		uint32_t seq = rnd() << 1 ^ rnd();
		uint16_t id = (uint16_t)rnd();
		if (r < 60) { /* Mirai bots: 90% to 23, 10% to 2323 */
			uint32_t src = 0x01000000u + pick(sources) * 7u;
			frame(f, src, dst, (uint16_t)(1024 + rnd() % 60000), rnd() % 10 ? 23 : 2323,
			      0x02, dst, id, 64);
		} else if (r < 85) {
			uint32_t src = 0x40000000u + pick(sources / 4 + 1) * 13u;
			frame(f, src, dst, (uint16_t)(1024 + rnd() % 60000), scan_ports[rnd() % 10],
			      0x02, seq, id, 50);
		} else if (r < 95) {
			uint32_t src = 0x80000000u + pick(sources / 20 + 1) * 11u;
			frame(f, src, dst, 80, (uint16_t)(1024 + rnd() % 60000),
			      rnd() % 2 ? 0x12 : 0x04, seq, id, 57);
		} else {
			uint32_t src = 0xa2000000u + rnd() % 100;
			frame(f, src, dst, 40000, scan_ports[rnd() % 10], 0x02, seq, 54321, 255);
		}
		struct pcap_pkthdr h;
		int64_t t = start + (int64_t)((double)i / n * 7200);
		h.ts.tv_sec = (time_t)t;
		h.ts.tv_usec = (suseconds_t)(i % 1000000);
		h.caplen = h.len = sizeof(f);
		pcap_dump((u_char *)d, &h, f);
	}
	pcap_dump_close(d);
	pcap_close(p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return cmd_read(argv[2]);
	if ((argc == 5 || (argc == 6 && strcmp(argv[5], "zipf") == 0)) &&
	    strcmp(argv[1], "gen") == 0) {
		uint32_t sources = (uint32_t)strtoul(argv[4], NULL, 10);
		if (sources == 0 || (argc == 6 && zipf_init(sources) != 0))
			return 2;
		return cmd_gen(argv[2], (uint32_t)strtoul(argv[3], NULL, 10), sources);
	}
	fprintf(stderr, "usage: pcap_loop read FILE | pcap_loop gen FILE PACKETS SOURCES [zipf]\n");
	return 2;
}
