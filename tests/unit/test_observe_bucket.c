/* SPDX-License-Identifier: MIT */
/* Unit tests for the observation-bucket rules (bucket.h) that the index and the import
 * share: hours in order with the oldest giving way, the window's cutoff, what an event
 * counts, the port list's limit, and merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "observe/bucket.h"

#define H0 472222 /* an hour number */

static struct obs_bucket *get(struct obs_bucket *b, uint16_t *nb, uint16_t max, int32_t hour)
{
	size_t pos;
	struct obs_bucket *x = obs_bucket_find(b, *nb, hour, &pos);
	return x != NULL ? x : obs_bucket_insert(b, nb, max, pos, hour);
}

static void test_hours_in_order_oldest_gives_way(void **state)
{
	(void)state;
	struct obs_bucket b[3];
	uint16_t nb = 0;
	assert_non_null(get(b, &nb, 3, H0 + 2));
	assert_non_null(get(b, &nb, 3, H0));
	assert_non_null(get(b, &nb, 3, H0 + 1));
	assert_int_equal(nb, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b[i].hour, H0 + i);
		assert_int_equal(b[i].first_off, UINT16_MAX); /* no evidence yet */
	}
	assert_ptr_equal(get(b, &nb, 3, H0 + 1), &b[1]); /* found, not added */
	assert_null(get(b, &nb, 3, H0 - 1));             /* older than all at the limit */
	assert_non_null(get(b, &nb, 3, H0 + 5));         /* H0 gives way */
	assert_int_equal(nb, 3);
	assert_int_equal(b[0].hour, H0 + 1);
	assert_int_equal(b[2].hour, H0 + 5);
}

static void test_window(void **state)
{
	(void)state;
	int64_t end = ((int64_t)H0 + 1) * OBS_HOUR;
	assert_true(obs_bucket_ended(H0, end));
	assert_false(obs_bucket_ended(H0, end - 1));
	assert_false(obs_bucket_ended(H0, INT64_MIN));
	struct obs_bucket b[3] = {{.hour = H0}, {.hour = H0 + 1}, {.hour = H0 + 2}};
	assert_int_equal(obs_bucket_first_live(b, 3, INT64_MIN), 0);
	assert_int_equal(obs_bucket_first_live(b, 3, end), 1);
	assert_int_equal(obs_bucket_first_live(b, 3, end + 10 * OBS_HOUR), 3);
	assert_int_equal(obs_bucket_max(OBS_RETENTION_DEFAULT), 7 * 24 + 1);
	assert_int_equal(obs_bucket_max(OBS_RETENTION_MAX), OBS_MAX_BUCKETS);
}

static void test_add(void **state)
{
	(void)state;
	struct obs_bucket b[1];
	uint16_t nb = 0;
	struct obs_bucket *x = get(b, &nb, 1, H0);
	int64_t t = (int64_t)H0 * OBS_HOUR;
	obs_bucket_add(x, OBS_BACKSCATTER, t + 5, 80, 1); /* counted, nothing else */
	assert_int_equal(x->count[OBS_BACKSCATTER], 1);
	assert_int_equal(x->first_off, UINT16_MAX);
	assert_int_equal(x->n_ports, 0);
	obs_bucket_add(x, OBS_MIRAI_SYN, t + 900, 23, 2);
	obs_bucket_add(x, OBS_SCAN, t + 100, 443, 1);
	obs_bucket_add(x, OBS_LOGIN, t + 3599, 0, 1);
	assert_int_equal(x->count[OBS_MIRAI_SYN], 2);
	assert_int_equal(x->first_off, 100);
	assert_int_equal(x->last_off, 3599);
	assert_int_equal(x->iot_port_hits, 2); /* 23, not 443 */
	assert_int_equal(x->n_ports, 2);
	/* The port list's limit: later ports count in other_ports. */
	for (uint16_t p = 1000; p < 1000 + OBS_BUCKET_PORTS; p++)
		obs_bucket_add(x, OBS_SCAN, t, p, 1);
	assert_int_equal(x->n_ports, OBS_BUCKET_PORTS);
	assert_int_equal(x->other_ports, 2);
	obs_bucket_add(x, OBS_SCAN, t, 23, 1); /* listed: still counted on it */
	assert_int_equal(x->ports[0].port, 23);
	assert_int_equal(x->ports[0].count, 3);
	/* Saturating, not wrapping (a batch event counts at most 1000000). */
	obs_bucket_add(x, OBS_SCAN, t, 23, 70000);
	assert_int_equal(x->ports[0].count, UINT16_MAX);
	x->count[OBS_SCAN] = UINT32_MAX - 1;
	obs_bucket_add(x, OBS_SCAN, t, 23, 1000000);
	assert_int_equal(x->count[OBS_SCAN], UINT32_MAX);
	assert_int_equal(x->ports[0].count, UINT16_MAX);
}

static void test_merge(void **state)
{
	(void)state;
	struct obs_bucket a[1], b[1];
	uint16_t na = 0, nb = 0;
	struct obs_bucket *x = get(a, &na, 1, H0), *y = get(b, &nb, 1, H0);
	int64_t t = (int64_t)H0 * OBS_HOUR;
	obs_bucket_add(x, OBS_SCAN, t + 50, 23, 1);
	obs_bucket_add(y, OBS_SCAN, t + 10, 23, 4);
	obs_bucket_add(y, OBS_SCAN, t + 70, 8080, 1);
	obs_bucket_add(y, OBS_RESEARCH, t + 1, 0, 1);
	obs_bucket_merge(x, y);
	assert_int_equal(x->count[OBS_SCAN], 6);
	assert_int_equal(x->count[OBS_RESEARCH], 1);
	assert_int_equal(x->first_off, 10);
	assert_int_equal(x->last_off, 70);
	assert_int_equal(x->n_ports, 2);
	assert_int_equal(x->ports[0].count, 5);
	assert_int_equal(x->iot_port_hits, 6);
	/* An hour without evidence leaves the offsets alone. */
	struct obs_bucket e[1];
	uint16_t ne = 0;
	obs_bucket_merge(x, get(e, &ne, 1, H0));
	assert_int_equal(x->first_off, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hours_in_order_oldest_gives_way),
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_add),
	    cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
