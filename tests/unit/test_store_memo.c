/* SPDX-License-Identifier: MIT */
/* Tests of the reads a write transaction keeps (store/memo.c): under a random sequence of
 * every kind of change a host's row and records can see (records through
 * store_records_set, flags, the owner's state, a host deleted and made again, SQL that
 * bypasses the store's functions, a savepoint rolled back, commits), each read of a host's
 * row or records equals what SQLite holds, and many reads come from the memo; outside a
 * transaction another connection's change is seen. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "store/store_int.h"
#include "sqlite_fixture.h"
#include "tmpdir_fixture.h"

#define HOSTS 6
#define STEPS 4000

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return tmpdir_make(dir, sizeof(dir), "memo");
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static const char *fqdn_of(int i)
{
	static char names[HOSTS][32];
	snprintf(names[i], sizeof(names[i]), "h%d.dyn.example", i);
	return names[i];
}

static int64_t add_host(struct store *st, int i, int64_t user)
{
	struct store_host h;
	memset(&h, 0, sizeof(h));
	np_strlcpy(h.fqdn, fqdn_of(i), sizeof(h.fqdn));
	np_strlcpy(h.zone, "dyn.example", sizeof(h.zone));
	h.user_id = user;
	int64_t id;
	assert_int_equal(store_host_add(st, &h, &id), NP_OK);
	return id;
}

/* The host's row as SQLite has it, through the statement the memo does not keep. */
static void check_host(struct store *st, int i)
{
	struct store_host got, want;
	int ret = store_host_get(st, fqdn_of(i), &want);
	assert_int_equal(store_host_get_row(st, fqdn_of(i), &got), ret);
	if (ret != NP_OK)
		return;
	assert_int_equal(got.id, want.id);
	assert_int_equal(got.user_id, want.user_id);
	assert_string_equal(got.user, want.user);
	assert_string_equal(got.fqdn, want.fqdn);
	assert_string_equal(got.zone, want.zone);
	assert_int_equal(got.wildcard, want.wildcard);
	assert_int_equal(got.offline, want.offline);
	assert_int_equal(got.blocked, want.blocked);
	assert_int_equal(got.abuse_state, want.abuse_state);
	assert_int_equal(got.suspended, want.suspended);
	assert_int_equal(got.created, want.created);
}

/* The host's records as SQLite has them, read with a statement of the test's own. */
static void check_records(struct store *st, int64_t host_id)
{
	static struct store_rr got[ZONE_MAX_RRS_PER_NODE];
	size_t n = 0;
	assert_int_equal(store_records_get(st, host_id, got, ZONE_MAX_RRS_PER_NODE, &n), NP_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(st->db,
	                                    "SELECT type, ttl, rdata FROM records WHERE host_id = ?1"
	                                    " ORDER BY type, id",
	                                    -1, &s, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(s, 1, host_id);
	size_t k = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		assert_true(k < n);
		assert_int_equal(got[k].type, sqlite3_column_int(s, 0));
		assert_int_equal(got[k].ttl, sqlite3_column_int64(s, 1));
		assert_int_equal(got[k].rdlen, sqlite3_column_bytes(s, 2));
		if (got[k].rdlen > 0)
			assert_memory_equal(got[k].rdata, sqlite3_column_blob(s, 2), got[k].rdlen);
		k++;
	}
	sqlite3_finalize(s);
	assert_int_equal(k, n);
}

static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX, DNS_TYPE_TXT};

/* 0 to 4 records of a random host type; TXT up to 300 bytes each, so that some sets do not
 * fit a slot. Their own type field is sometimes another one: the type written counts. */
static void set_records(struct store *st, int64_t host_id)
{
	static struct store_rr rrs[4];
	uint16_t type = types[rnd(4)];
	size_t n = rnd(5);
	for (size_t i = 0; i < n; i++) {
		uint16_t len = type == DNS_TYPE_A ? 4 : type == DNS_TYPE_AAAA ? 16 :
		               type == DNS_TYPE_MX ? 12 : (uint16_t)(1 + rnd(300));
		rrs[i] = (struct store_rr){.type = rnd(8) == 0 ? DNS_TYPE_A : type,
		                           .ttl = 60 + rnd(1000), .rdlen = len};
		for (uint16_t b = 0; b < len; b++)
			rrs[i].rdata[b] = (uint8_t)rnd(256);
	}
	assert_int_equal(store_records_set(st, host_id, type, rrs, n), NP_OK);
}

static void test_kept_reads_follow_every_change(void **state)
{
	(void)state;
	struct store *st;
	assert_int_equal(store_open(dir, true, &st), NP_OK);
	int64_t users[2], ids[HOSTS];
	assert_int_equal(store_user_add(st, "ann", &users[0]), NP_OK);
	assert_int_equal(store_user_add(st, "bob", &users[1]), NP_OK);
	for (int i = 0; i < HOSTS; i++)
		ids[i] = add_host(st, i, users[i % 2]);
	assert_int_equal(store_begin(st), NP_OK);
	for (int step = 0; step < STEPS; step++) {
		int i = (int)rnd(HOSTS);
		char sql[160];
		switch (rnd(16)) {
		case 0:
		case 1:
		case 2:
		case 3:
			set_records(st, ids[i]);
			break;
		case 4:
			assert_int_equal(store_host_set_flags(st, ids[i], rnd(2), rnd(2), rnd(2)),
			                 NP_OK);
			break;
		case 5:
			assert_int_equal(store_user_set_state(st, users[rnd(2)],
			                                      rnd(2) ? STORE_USER_SUSPENDED
			                                             : STORE_USER_ACTIVE),
			                 NP_OK);
			break;
		case 6: /* a savepoint's changes rolled back */
			assert_int_equal(store_savepoint(st), NP_OK);
			set_records(st, ids[i]);
			check_records(st, ids[i]);
			store_rollback_savepoint(st);
			break;
		case 7: /* SQL around the store's functions */
			snprintf(sql, sizeof(sql),
			         "UPDATE records SET ttl = ttl + 1 WHERE host_id = %lld",
			         (long long)ids[i]);
			sq_exec_ok(st->db, sql);
			break;
		case 8: /* deleted (records go with it) and made again, under another id */
			assert_int_equal(store_host_del(st, fqdn_of(i)), NP_OK);
			check_host(st, i);
			ids[i] = add_host(st, i, users[rnd(2)]);
			break;
		case 9:
			assert_int_equal(store_commit(st), NP_OK);
			assert_int_equal(store_begin(st), NP_OK);
			break;
		default:
			break;
		}
		/* The reads the UPDATE path makes: a row, then its records, twice. */
		for (int r = 0; r < 2; r++) {
			check_host(st, i);
			check_records(st, ids[i]);
		}
	}
	assert_int_equal(store_commit(st), NP_OK);
	/* Most second reads came from the memo (each step makes four reads). */
	assert_true(store__memo_hits(st) > STEPS);
	store_close(st);
}

static void test_off_outside_a_transaction(void **state)
{
	(void)state;
	struct store *a, *b;
	assert_int_equal(store_open(dir, true, &a), NP_OK);
	assert_int_equal(store_open(dir, false, &b), NP_OK);
	int64_t uid;
	assert_int_equal(store_user_add(a, "cat", &uid), NP_OK);
	struct store_host h;
	memset(&h, 0, sizeof(h));
	np_strlcpy(h.fqdn, "o.dyn.example", sizeof(h.fqdn));
	np_strlcpy(h.zone, "dyn.example", sizeof(h.zone));
	h.user_id = uid;
	int64_t id;
	assert_int_equal(store_host_add(a, &h, &id), NP_OK);
	struct store_rr rr = {.type = DNS_TYPE_A, .ttl = 60, .rdlen = 4, .rdata = {192, 0, 2, 1}};
	assert_int_equal(store_records_set(a, id, DNS_TYPE_A, &rr, 1), NP_OK);

	/* Read in a's transaction, then a's transaction ends and b changes the host. */
	assert_int_equal(store_begin(a), NP_OK);
	check_records(a, id);
	check_records(a, id);
	assert_int_equal(store_commit(a), NP_OK);
	rr.rdata[3] = 2;
	assert_int_equal(store_records_set(b, id, DNS_TYPE_A, &rr, 1), NP_OK);
	assert_int_equal(store_host_set_flags(b, id, true, false, false), NP_OK);
	struct store_rr got[4];
	size_t n;
	struct store_host row;
	assert_int_equal(store_records_get(a, id, got, 4, &n), NP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].rdata[3], 2);
	assert_int_equal(store_host_get_row(a, "o.dyn.example", &row), NP_OK);
	assert_true(row.wildcard);
	/* And in a's next transaction, which begins after b's commit. */
	assert_int_equal(store_begin(a), NP_OK);
	assert_int_equal(store_host_get_row(a, "o.dyn.example", &row), NP_OK);
	assert_true(row.wildcard);
	assert_int_equal(store_records_get(a, id, got, 4, &n), NP_OK);
	assert_int_equal(got[0].rdata[3], 2);
	store_rollback(a);
	store_close(b);
	store_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kept_reads_follow_every_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_off_outside_a_transaction, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
