/* SPDX-License-Identifier: MIT */
/* The update budgets (src/abuse/budget.c) with a hand-driven clock: deSEC's 2 per 2
 * minutes per name (the third refused, with the wait until the first leaves the window),
 * the day's limit, every key of an update counted or none, and a table that stays bounded
 * under a flood of keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <sodium.h>
#include <stdio.h>

#include "abuse/budget.h"
#include "common/err.h"

static struct budget_limits host_limits(unsigned per_window, unsigned per_day)
{
	struct budget_limits l = {.window = 120};
	l.scope[BUDGET_HOST] = (struct budget_limit){per_window, per_day};
	return l;
}

static void test_two_per_two_minutes(void **state)
{
	(void)state;
	struct budget *b;
	struct budget_limits l = host_limits(2, 0);
	assert_int_equal(budget_new(&b, 1024, &l), NP_OK);
	struct budget_key k = budget_key_host(b, "home.dyn.example");
	struct budget_key other = budget_key_host(b, "other.dyn.example");
	int64_t t0 = 1700000000;
	assert_int_equal(budget_take(b, &k, 1, t0), 0);
	assert_int_equal(budget_take(b, &k, 1, t0 + 30), 0);
	/* The third in two minutes: refused, told to wait until the first has left. */
	unsigned wait = budget_take(b, &k, 1, t0 + 60);
	assert_true(wait >= 60 && wait <= 65);
	/* A refusal is not counted: still refused until then, admitted after it. */
	assert_true(budget_take(b, &k, 1, t0 + 100) > 0);
	assert_int_equal(budget_take(b, &other, 1, t0 + 100), 0);
	assert_int_equal(budget_take(b, &k, 1, t0 + 60 + wait), 0);
	/* One a minute (and a slot, 5 s: an update stays counted up to one slot longer
	 * than the window) is always admitted. */
	for (int64_t t = t0 + 1000; t < t0 + 1000 + 3600; t += 65)
		assert_int_equal(budget_take(b, &other, 1, t), 0);
	budget_free(b);
}

/* Every limit 0 is the budgets off; one limit set, and they are on again. */
static void test_off_when_every_limit_is_zero(void **state)
{
	(void)state;
	struct budget *b;
	struct budget_limits off = {.window = 120};
	assert_int_equal(budget_new(&b, 1024, &off), NP_OK);
	assert_true(budget_off(b));
	struct budget_limits on = host_limits(1, 0);
	budget_set_limits(b, &on);
	assert_false(budget_off(b));
	struct budget_key k = budget_key_host(b, "home.dyn.example");
	assert_int_equal(budget_take(b, &k, 1, 1700000000), 0);
	assert_true(budget_take(b, &k, 1, 1700000001) > 0);
	budget_set_limits(b, &off);
	assert_true(budget_off(b));
	budget_free(b);
}

static void test_day_limit(void **state)
{
	(void)state;
	struct budget *b;
	struct budget_limits l = host_limits(0, 24);
	assert_int_equal(budget_new(&b, 1024, &l), NP_OK);
	struct budget_key k = budget_key_host(b, "cgnat.dyn.example");
	int64_t t0 = 1700000000 - 1700000000 % 3600;
	/* 24 a day, one an hour: all admitted; the 25th within the day is not. */
	for (int i = 0; i < 24; i++)
		assert_int_equal(budget_take(b, &k, 1, t0 + i * 3600 + 5), 0);
	unsigned wait = budget_take(b, &k, 1, t0 + 23 * 3600 + 10);
	assert_true(wait > 0 && wait <= 2 * 3600);
	/* After the first hour's update left the day, one more fits. */
	assert_int_equal(budget_take(b, &k, 1, t0 + 23 * 3600 + 10 + wait), 0);
	budget_free(b);
}

static void test_all_keys_or_none(void **state)
{
	(void)state;
	struct budget *b;
	struct budget_limits l = {.window = 60};
	l.scope[BUDGET_HOST] = (struct budget_limit){5, 0};
	l.scope[BUDGET_TOKEN] = (struct budget_limit){3, 0};
	l.scope[BUDGET_SOURCE] = (struct budget_limit){100, 0};
	assert_int_equal(budget_new(&b, 1024, &l), NP_OK);
	struct np_addr a, same64;
	assert_int_equal(addr_parse("2001:db8:1:2::1", &a), NP_OK);
	assert_int_equal(addr_parse("2001:db8:1:2::99", &same64), NP_OK);
	int64_t now = 1700000000;
	struct budget_key keys[3] = {budget_key_host(b, "a.dyn.example"),
	                             budget_key_token(b, "tok1"), budget_key_source(b, &a)};
	for (int i = 0; i < 3; i++)
		assert_int_equal(budget_take(b, keys, 3, now), 0);
	/* The token is spent: refused, and the host and source are not charged for it. */
	assert_true(budget_take(b, keys, 3, now) > 0);
	struct budget_key host_only[2] = {keys[0], budget_key_host(b, "a.dyn.example")};
	assert_int_equal(budget_take(b, host_only, 2, now), 0); /* duplicates count once */
	assert_int_equal(budget_take(b, host_only, 1, now), 0);
	assert_true(budget_take(b, host_only, 1, now) > 0); /* 5 taken */
	/* One IPv6 /64 is one source. */
	struct budget_key s1 = budget_key_source(b, &same64);
	assert_int_equal(s1.id, keys[2].id);
	budget_free(b);
}

static void test_table_stays_bounded(void **state)
{
	(void)state;
	struct budget *b;
	struct budget_limits l = host_limits(1, 0);
	assert_int_equal(budget_new(&b, 64, &l), NP_OK);
	int64_t now = 1700000000;
	struct budget_key busy = budget_key_host(b, "busy.dyn.example");
	assert_int_equal(budget_take(b, &busy, 1, now), 0);
	char name[64];
	for (int i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "h%d.dyn.example", i);
		struct budget_key k = budget_key_host(b, name);
		assert_int_equal(budget_take(b, &k, 1, now - 200), 0);
	}
	budget_free(b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_per_two_minutes),
	    cmocka_unit_test(test_day_limit),
	    cmocka_unit_test(test_off_when_every_limit_is_zero),
	    cmocka_unit_test(test_all_keys_or_none),
	    cmocka_unit_test(test_table_stays_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
