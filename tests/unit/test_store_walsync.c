/* SPDX-License-Identifier: MIT */
/* Tests of the WAL sync thread of the pipelined group commit (store/walsync.c): a sync
 * covers the commits before it, tickets are answered in order, what was committed survives
 * close and reopen, and a WAL removed under the writer fails every sync from then on
 * (nothing more may be acknowledged). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "store/store.h"
#include "tmpdir_fixture.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return tmpdir_make(dir, sizeof(dir), "walsync");
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static void add_user(struct store *st, const char *name)
{
	int64_t id;
	assert_int_equal(store_begin(st), NP_OK);
	assert_int_equal(store_user_add(st, name, &id), NP_OK);
	assert_int_equal(store_commit(st), NP_OK);
}

static void test_sync_covers_earlier_commits(void **state)
{
	(void)state;
	struct store *st;
	assert_int_equal(store_open(dir, true, &st), NP_OK);
	assert_false(store_wal_sync_on(st));
	assert_int_equal(store_wal_sync_start(st), NP_OK);
	assert_true(store_wal_sync_on(st));

	add_user(st, "alice");
	uint64_t t1 = store_wal_sync_ask(st);
	add_user(st, "bob");
	uint64_t t2 = store_wal_sync_ask(st);
	assert_true(t2 > t1);
	/* Waiting for the later ticket answers the earlier one too. */
	assert_int_equal(store_wal_sync_wait(st, t2), NP_OK);
	assert_int_equal(store_wal_sync_poll(st, t1), NP_OK);
	assert_int_equal(store_wal_sync_poll(st, t2), NP_OK);
	assert_int_equal(store_wal_sync_poll(st, t2 + 1), NP_EAGAIN); /* never asked */
	assert_int_equal(store_wal_sync_now(st), NP_OK);
	store_close(st);

	/* Closed with synchronous=FULL back: both are there after a reopen. */
	assert_int_equal(store_open(dir, false, &st), NP_OK);
	int64_t id;
	assert_int_equal(store_user_id(st, "alice", &id), NP_OK);
	assert_int_equal(store_user_id(st, "bob", &id), NP_OK);
	store_close(st);
}

static void test_removed_wal_fails_for_good(void **state)
{
	(void)state;
	struct store *st;
	assert_int_equal(store_open(dir, true, &st), NP_OK);
	assert_int_equal(store_wal_sync_start(st), NP_OK);
	add_user(st, "carol");
	char wal[128];
	snprintf(wal, sizeof(wal), "%s/nameplate.db-wal", dir);
	assert_int_equal(unlink(wal), 0);
	/* The sync would write a file nobody reads: it must not count as durable. */
	assert_int_equal(store_wal_sync_now(st), NP_ESTORE);
	assert_int_equal(store_wal_sync_now(st), NP_ESTORE);
	store_close(st);
}

static void test_start_twice(void **state)
{
	(void)state;
	struct store *st;
	assert_int_equal(store_open(dir, true, &st), NP_OK);
	assert_int_equal(store_wal_sync_start(st), NP_OK);
	assert_int_equal(store_wal_sync_start(st), NP_OK); /* once is enough */
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sync_covers_earlier_commits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed_wal_fails_for_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_twice, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
