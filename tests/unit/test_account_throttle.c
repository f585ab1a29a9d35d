/* SPDX-License-Identifier: MIT */
/* The authentication throttle (src/http/throttle.c) with a hand-driven clock: per-source
 * blocks that grow, a success that clears them, a credential under attack that still lets
 * its known networks in, and tables that stay bounded under a flood of sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>

#include "account/throttle.h"

static struct np_addr ip(const char *s)
{
	struct np_addr a;
	assert_int_equal(addr_parse(s, &a), NP_OK);
	return a;
}

static void fail_n(struct throttle *t, const char *src, const char *user, unsigned n, int64_t now)
{
	struct np_addr a = ip(src);
	for (unsigned i = 0; i < n; i++)
		throttle_failed(t, &a, user, "test", now);
}

static void test_source_blocks_grow_and_clear(void **state)
{
	(void)state;
	struct throttle *t;
	assert_int_equal(throttle_new(&t, 1024), NP_OK);
	struct np_addr a = ip("192.0.2.1"), other = ip("192.0.2.2");
	int64_t now = 1000000;
	fail_n(t, "192.0.2.1", "alice", 9, now);
	assert_int_equal(throttle_check(t, &a, "alice", now), 0);
	fail_n(t, "192.0.2.1", "alice", 1, now);
	assert_int_equal(throttle_check(t, &a, "alice", now), 5);
	assert_int_equal(throttle_check(t, &a, "bob", now), 5); /* the source, whatever user */
	assert_int_equal(throttle_check(t, &other, "alice", now), 0);
	now += 5000;
	assert_int_equal(throttle_check(t, &a, "alice", now), 0);
	fail_n(t, "192.0.2.1", "alice", 10, now);
	assert_int_equal(throttle_check(t, &a, "alice", now), 10); /* doubled */
	/* The same /64 is one source for IPv6. */
	fail_n(t, "2001:db8::1", "x", 10, now);
	struct np_addr v6 = ip("2001:db8::ffff");
	assert_int_equal(throttle_check(t, &v6, "x", now), 5);
	/* A success from the source clears it. */
	throttle_succeeded(t, &a, "alice", now);
	assert_int_equal(throttle_check(t, &a, "alice", now), 0);
	/* Failures spread over more than a window never block. */
	struct np_addr slow = ip("192.0.2.3");
	for (int i = 0; i < 50; i++)
		fail_n(t, "192.0.2.3", "carol", 1, now + (int64_t)i * 7000);
	assert_int_equal(throttle_check(t, &slow, "carol", now + 50 * 7000), 0);
	throttle_free(t);
}

static void test_credential_under_attack_keeps_known_networks(void **state)
{
	(void)state;
	struct throttle *t;
	assert_int_equal(throttle_new(&t, 1024), NP_OK);
	int64_t now = 5000000;
	struct np_addr home = ip("198.51.100.7"), home2 = ip("198.51.100.200"),
	               away = ip("203.0.113.9");
	throttle_succeeded(t, &home, "alice", now);
	char src[32];
	for (int i = 0; i < 30; i++) {
		snprintf(src, sizeof(src), "192.0.%d.1", i);
		fail_n(t, src, "alice", 1, now);
	}
	assert_true(throttle_check(t, &away, "alice", now) > 0);
	/* The owner's network (/24) is known: a new address there is fine. */
	assert_int_equal(throttle_check(t, &home2, "alice", now), 0);
	assert_int_equal(throttle_check(t, &away, "bob", now), 0);
	throttle_free(t);
}

static void test_tables_stay_bounded(void **state)
{
	(void)state;
	struct throttle *t;
	assert_int_equal(throttle_new(&t, 64), NP_OK);
	int64_t now = 9000000;
	struct np_addr a;
	char src[40];
	/* 100,000 sources each failing once: the table forgets the oldest, never grows. */
	for (int i = 0; i < 100000; i++) {
		snprintf(src, sizeof(src), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		a = ip(src);
		throttle_failed(t, &a, "u", "test", now + i);
	}
	/* A source blocked just now is still remembered. */
	fail_n(t, "192.0.2.99", "u2", 10, now + 100000);
	a = ip("192.0.2.99");
	assert_int_equal(throttle_check(t, &a, "u2", now + 100000), 5);
	throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_source_blocks_grow_and_clear),
	    cmocka_unit_test(test_credential_under_attack_keeps_known_networks),
	    cmocka_unit_test(test_tables_stay_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
