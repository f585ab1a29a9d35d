/* SPDX-License-Identifier: MIT */
/* The UDP workers' wait for more queries (server/pace.h): none at a low rate, for half a
 * batch or more, or when turned off; else the time the measured rate takes to fill the
 * batch, at most the configured wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/pace.h"

#define MS 1000000LL
#define US 1000L

/* A pace that has seen qps queries a second over one full window, ending at 1 s. */
static struct udp_pace at_rate(uint64_t qps)
{
	struct udp_pace p = {.from = 1000 * MS - UDP_PACE_WINDOW_NS};
	udp_pace_count(&p, (unsigned)(qps * UDP_PACE_WINDOW_NS / 1000000000), 1000 * MS);
	return p;
}

static void test_rate_measured_per_window(void **state)
{
	(void)state;
	struct udp_pace p = {0};
	udp_pace_count(&p, 10, 1000 * MS); /* the first window: from the start, a low rate */
	assert_true(p.qps < 100);
	udp_pace_count(&p, 300, 1005 * MS); /* within the window: counted, rate unchanged */
	assert_true(p.qps < 100);
	udp_pace_count(&p, 200, 1010 * MS); /* 500 in 10 ms */
	assert_int_equal(p.qps, 50000);
	assert_int_equal(p.count, 0);
	/* A quiet spell is one long window with a low rate. */
	udp_pace_count(&p, 2, 3010 * MS);
	assert_int_equal(p.qps, 1);
}

static void test_no_wait_when_quiet_off_or_half_full(void **state)
{
	(void)state;
	struct udp_pace quiet = at_rate(10000); /* 3 queries in 300 us: not worth a wait */
	assert_int_equal(udp_pace_wait(&quiet, 2, 64, 300 * US), 0);
	struct udp_pace busy = at_rate(50000);
	assert_int_equal(udp_pace_wait(&busy, 5, 64, 0), 0);         /* turned off */
	assert_int_equal(udp_pace_wait(&busy, 32, 64, 300 * US), 0); /* half full */
	assert_int_equal(udp_pace_wait(&busy, 63, 64, 300 * US), 0);
	struct udp_pace none = {0};
	assert_int_equal(udp_pace_wait(&none, 1, 64, 1000 * US), 0); /* nothing measured yet */
}

static void test_wait_fills_the_batch_at_most_max(void **state)
{
	(void)state;
	/* 50,000 q/s: filling 64 - 4 would take 1.2 ms, so the most allowed. */
	struct udp_pace p = at_rate(50000);
	assert_int_equal(udp_pace_wait(&p, 4, 64, 300 * US), 300 * US);
	assert_int_equal(udp_pace_wait(&p, 1, 64, 100 * US), 100 * US);
	/* 400,000 q/s: 64 - 24 = 40 more take 100 us. */
	p = at_rate(400000);
	assert_int_equal(udp_pace_wait(&p, 24, 64, 300 * US), 100 * US);
	/* The smallest rate that waits: 4 queries in the wait. */
	p = at_rate(13400);
	assert_true(udp_pace_wait(&p, 1, 64, 300 * US) > 0);
	p = at_rate(13000);
	assert_int_equal(udp_pace_wait(&p, 1, 64, 300 * US), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate_measured_per_window),
	    cmocka_unit_test(test_no_wait_when_quiet_off_or_half_full),
	    cmocka_unit_test(test_wait_fills_the_batch_at_most_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
