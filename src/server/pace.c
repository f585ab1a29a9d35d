/* SPDX-License-Identifier: MIT */
/* The UDP workers' wait for more queries (server/pace.h). */
#include "server/pace.h"

#define NS_PER_S 1000000000ull

void udp_pace_count(struct udp_pace *p, unsigned n, int64_t now)
{
	p->count += n;
	if (now - p->from < UDP_PACE_WINDOW_NS)
		return;
	/* A long quiet spell is one long window: its low rate keeps the next small batch
	 * from waiting. */
	p->qps = p->count * NS_PER_S / (uint64_t)(now - p->from);
	p->from = now;
	p->count = 0;
}

long udp_pace_wait(const struct udp_pace *p, unsigned n, unsigned batch, long max_ns)
{
	if (max_ns <= 0 || n >= batch / 2 ||
	    p->qps * (uint64_t)max_ns < UDP_PACE_MIN_GAIN * NS_PER_S)
		return 0;
	uint64_t fill = (uint64_t)(batch - n) * NS_PER_S / p->qps;
	return fill < (uint64_t)max_ns ? (long)fill : max_ns;
}
