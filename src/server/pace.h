/* SPDX-License-Identifier: MIT */
/* How long a UDP worker waits for more queries before it answers a small batch. Under
 * moderate load each wakeup and system call is most of a query's CPU (several microseconds
 * each on a virtual machine), so a worker that received a few queries waits for the next
 * ones and answers them all with one sendmmsg; the wait is sized by the arrival rate it
 * measured, so a quiet server (where a wait would bring little) answers at once and a busy
 * one (full batches) never waits. */
#ifndef NP_SERVER_PACE_H
#define NP_SERVER_PACE_H

#include <stdint.h>

/* The rate is measured over windows of at least this long. */
#define UDP_PACE_WINDOW_NS (10 * 1000 * 1000)
/* No wait when the wait would bring fewer than this many queries at the measured rate. */
#define UDP_PACE_MIN_GAIN 4

struct udp_pace {
	int64_t from;   /* start of the current window (monotonic ns) */
	uint64_t count; /* queries received since then */
	uint64_t qps;   /* the rate of the last window that ended */
};

/* Counts n queries received at now (monotonic ns); a window that has lasted
 * UDP_PACE_WINDOW_NS ends here and its rate becomes the one waits are sized by. */
void udp_pace_count(struct udp_pace *p, unsigned n, int64_t now);

/* How long (ns) to wait for more after receiving n queries into a batch of room for
 * batch: 0 when n is half the batch or more, or when the rate would bring fewer than
 * UDP_PACE_MIN_GAIN in max_ns; else the time the rate takes to fill the batch, at most
 * max_ns. */
long udp_pace_wait(const struct udp_pace *p, unsigned n, unsigned batch, long max_ns);

#endif
