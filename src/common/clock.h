/* SPDX-License-Identifier: MIT */
/* The clocks: wall time in seconds, monotonic time in milliseconds (and nanoseconds, for
 * latencies). */
#ifndef NP_COMMON_CLOCK_H
#define NP_COMMON_CLOCK_H

#include <stdint.h>

/* Seconds since the epoch, and a monotonic clock in milliseconds. */
int64_t time_now(void);
int64_t time_mono_ms(void);
int64_t time_mono_ns(void);

#endif
