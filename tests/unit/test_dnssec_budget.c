/* SPDX-License-Identifier: MIT */
/* Unit tests for the budget of compact-denial signatures made on the fly
 * (dnssec_deny_metered): within a second of the clock at most the zone's rate of cache
 * misses are signed; past it a miss signs nothing unless unmetered (TCP), while answers
 * from the cache go on; the next second has a fresh budget; 0 is no limit; the counters for
 * the metrics follow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "dnssec/zone.h"

static const uint8_t apex[] = "\x03"
                              "dyn\x07"
                              "example";

#define NOW  1800000000u
#define RATE 5u

static struct dnssec_zone *zone_new(void)
{
	struct dnssec_key ksk, zsk;
	assert_int_equal(dnssec_key_generate(&ksk, DNSSEC_ALG_ED25519, DNSSEC_FLAGS_KSK), NP_OK);
	assert_int_equal(dnssec_key_generate(&zsk, DNSSEC_ALG_ED25519, DNSSEC_FLAGS_ZSK), NP_OK);
	struct dnssec_zone *z = dnssec_zone_new(apex, sizeof(apex), &ksk, &zsk);
	assert_non_null(z);
	return z;
}

/* "nx<i>.dyn.example" into out: its length. */
static size_t nx_name(unsigned i, uint8_t out[64])
{
	char label[16];
	int n = snprintf(label, sizeof(label), "nx%u", i);
	out[0] = (uint8_t)n;
	memcpy(out + 1, label, (size_t)n);
	memcpy(out + 1 + n, apex, sizeof(apex));
	return 1 + (size_t)n + sizeof(apex);
}

static size_t deny(struct dnssec_zone *z, unsigned i, uint32_t now, bool unmetered)
{
	static uint8_t out[DNSSEC_DENY_MAX];
	uint8_t q[64];
	size_t len = nx_name(i, q);
	return dnssec_deny_metered(z, q, len, NULL, 30, now, unmetered, out);
}

static void test_budget_per_second(void **state)
{
	(void)state;
	struct dnssec_zone *z = zone_new();
	dnssec_zone_set_sign_rate(z, RATE);
	uint64_t made0, over0, made, over;
	dnssec_deny_stats(&made0, &over0);
	for (unsigned i = 0; i < RATE; i++) {
		size_t len = deny(z, i, NOW, false);
		assert_true(len > 0 && len != DNSSEC_DENY_OVER_BUDGET);
	}
	/* Spent: a new name is not signed, over and over. */
	for (unsigned i = 0; i < 3 * RATE; i++)
		assert_true(deny(z, 1000 + i, NOW, false) == DNSSEC_DENY_OVER_BUDGET);
	/* A name signed before comes from the cache: no budget needed. */
	size_t len = deny(z, 0, NOW, false);
	assert_true(len > 0 && len != DNSSEC_DENY_OVER_BUDGET);
	/* Over TCP it is signed anyway. */
	len = deny(z, 2000, NOW, true);
	assert_true(len > 0 && len != DNSSEC_DENY_OVER_BUDGET);
	dnssec_deny_stats(&made, &over);
	assert_int_equal(made - made0, RATE + 1);
	assert_int_equal(over - over0, 3 * RATE);
	/* The next second has a budget of its own. */
	len = deny(z, 3000, NOW + 1, false);
	assert_true(len > 0 && len != DNSSEC_DENY_OVER_BUDGET);
	dnssec_zone_free(z);
}

static void test_budget_zero_is_no_limit(void **state)
{
	(void)state;
	struct dnssec_zone *z = zone_new(); /* a new zone has no limit until one is set */
	for (unsigned i = 0; i < 3 * RATE; i++) {
		size_t len = deny(z, i, NOW, false);
		assert_true(len > 0 && len != DNSSEC_DENY_OVER_BUDGET);
	}
	dnssec_zone_set_sign_rate(z, 1);
	assert_true(deny(z, 100, NOW, false) != DNSSEC_DENY_OVER_BUDGET);
	assert_true(deny(z, 101, NOW, false) == DNSSEC_DENY_OVER_BUDGET);
	dnssec_zone_set_sign_rate(z, 0);
	assert_true(deny(z, 102, NOW, false) != DNSSEC_DENY_OVER_BUDGET);
	dnssec_zone_free(z);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_budget_per_second),
	    cmocka_unit_test(test_budget_zero_is_no_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
