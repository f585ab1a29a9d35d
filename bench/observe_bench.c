/* SPDX-License-Identifier: MIT */
/* Benchmark of the observation index: add rate, verdict latency and memory per tracked
 * address with 1,000,000 addresses. Run through bench/observe.sh. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "observe/index.h"

#define N_ADDRS 1000000u
#define N_LOOKUPS 100000u
#define NOW ((int64_t)1763780400) /* hour-aligned */

static uint64_t ns_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = 0;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t rng = 0x853c49e6748fea9bULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Address i: spread over 1.0.0.0 onwards; every 8th is an IPv6 /64. */
static void mkaddr(uint32_t i, struct np_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (i % 8 == 7) {
		a->family = AF_INET6;
		a->bytes[0] = 0x20;
		a->bytes[1] = 0x01;
		a->bytes[2] = 0x0d;
		a->bytes[3] = 0xb8;
		a->bytes[4] = (uint8_t)(i >> 24);
		a->bytes[5] = (uint8_t)(i >> 16);
		a->bytes[6] = (uint8_t)(i >> 8);
		a->bytes[7] = (uint8_t)i;
		a->bytes[15] = 1;
	} else {
		uint32_t v = 0x01000000u + i * 7u;
		a->family = AF_INET;
		a->bytes[0] = (uint8_t)(v >> 24);
		a->bytes[1] = (uint8_t)(v >> 16);
		a->bytes[2] = (uint8_t)(v >> 8);
		a->bytes[3] = (uint8_t)v;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint32_t n = N_ADDRS;
	unsigned per = 2; /* events (in distinct hours) per address */
	if (argc > 1)
		n = (uint32_t)strtoul(argv[1], NULL, 10);
	if (argc > 2)
		per = (unsigned)strtoul(argv[2], NULL, 10);
	long rss0 = rss_kib();
	struct obs_index *ix = obs_index_new(n, 0);
	if (ix == NULL)
		return 1;
	obs_index_prune(ix, NOW - 3600);
	static const enum obs_kind kinds[] = {OBS_MIRAI_SYN, OBS_SCAN, OBS_SCAN, OBS_BACKSCATTER};
	static const uint16_t ports[] = {23, 2323, 7547, 445, 80, 5555, 37215, 22};
	struct obs_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.proto = 6;

	/* Fill: per events per address, each in its own hour of the last day. */
	uint64_t t0 = ns_now();
	for (unsigned r = 0; r < per; r++) {
		for (uint32_t i = 0; i < n; i++) {
			mkaddr(i, &ev.src);
			ev.time = NOW - 23 * 3600 + (int64_t)r * 3600 + (i % 3600);
			ev.kind = kinds[rnd() % 4];
			ev.dst_port = ports[rnd() % 8];
			if (obs_index_add(ix, &ev) != 0)
				return 1;
		}
	}
	uint64_t t1 = ns_now();
	double fill_s = (double)(t1 - t0) / 1e9;
	long rss1 = rss_kib();
	size_t bytes = obs_index_bytes(ix);

	/* Steady state: more events into existing hours of random tracked addresses. */
	uint32_t n_more = 2000000;
	t0 = ns_now();
	for (uint32_t k = 0; k < n_more; k++) {
		mkaddr(rnd() % n, &ev.src);
		ev.time = NOW - 3600 + (k % 3600);
		ev.kind = kinds[k % 4];
		ev.dst_port = ports[k % 8];
		if (obs_index_add(ix, &ev) != 0)
			return 1;
	}
	t1 = ns_now();
	double steady_s = (double)(t1 - t0) / 1e9;

	/* Verdicts: 90% tracked addresses, 10% untracked. */
	uint64_t *lat = malloc(N_LOOKUPS * sizeof(*lat));
	if (lat == NULL)
		return 1;
	struct obs_verdict v;
	struct np_addr a;
	size_t counts[3] = {0};
	uint64_t tv0 = ns_now();
	for (uint32_t k = 0; k < N_LOOKUPS; k++) {
		uint32_t i = rnd() % n;
		mkaddr(i, &a);
		if (k % 10 == 9)
			a.bytes[0] ^= 0x80; /* untracked */
		uint64_t s = ns_now();
		if (obs_index_verdict(ix, &a, NOW, &v) != 0)
			return 1;
		lat[k] = ns_now() - s;
		counts[v.verdict]++;
	}
	uint64_t tv1 = ns_now();
	qsort(lat, N_LOOKUPS, sizeof(*lat), cmp_u64);

	/* Churn at the cap: every add is a new address evicting the LRU tail. */
	uint32_t n_churn = 1000000;
	t0 = ns_now();
	for (uint32_t k = 0; k < n_churn; k++) {
		mkaddr(n + k, &ev.src);
		ev.time = NOW - 60;
		ev.kind = OBS_SCAN;
		ev.dst_port = 23;
		if (obs_index_add(ix, &ev) != 0)
			return 1;
	}
	t1 = ns_now();
	double churn_s = (double)(t1 - t0) / 1e9;
	struct obs_index_stats st;
	obs_index_stats(ix, &st);

	printf("tracked addresses        %zu (cap %zu), %u events each\n", st.addrs, st.cap, per);
	printf("fill                     %.0f events/s (%.2f s)\n", (double)n * per / fill_s, fill_s);
	printf("add, existing hour       %.0f events/s\n", n_more / steady_s);
	printf("add, new addr + evict    %.0f events/s (evicted %" PRIu64 ")\n", n_churn / churn_s,
	       st.evicted);
	printf("verdict latency          median %" PRIu64 " ns, p99 %" PRIu64 " ns, max %" PRIu64
	       " ns (%u lookups, %.0f /s incl. timing)\n",
	       lat[N_LOOKUPS / 2], lat[N_LOOKUPS * 99 / 100], lat[N_LOOKUPS - 1], N_LOOKUPS,
	       N_LOOKUPS / ((double)(tv1 - tv0) / 1e9));
	printf("verdicts                 infected %zu, suspicious %zu, not_observed %zu\n",
	       counts[OBS_INFECTED], counts[OBS_SUSPICIOUS], counts[OBS_NOT_OBSERVED]);
	printf("obs_index_bytes          %zu (%.1f bytes/address)\n", bytes, (double)bytes / n);
	printf("RSS delta after fill     %ld KiB (%.1f bytes/address)\n", rss1 - rss0,
	       (double)(rss1 - rss0) * 1024 / n);
	printf("sizeof bucket/cred       %zu / %zu bytes\n", sizeof(struct obs_bucket),
	       sizeof(struct obs_cred));
	free(lat);
	obs_index_free(ix);
	return 0;
}
