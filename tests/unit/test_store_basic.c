/* SPDX-License-Identifier: MIT */
/* Tests of the SQLite store: creation and modes, users, hosts, records, serials, the ordered
 * zone walk, transactions, data_version seeing another connection's commit, and the check
 * limits' network counts. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/str.h"
#include "store/store.h"
#include "tmpdir_fixture.h"

static char base[64];
static char dir[128];

static int setup(void **state)
{
	(void)state;
	if (tmpdir_make(base, sizeof(base), "store") != 0)
		return -1;
	/* A missing parent too: store_open creates both. */
	snprintf(dir, sizeof(dir), "%s/a/data", base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(base);
}

static struct store *open_new(void)
{
	struct store *st;
	assert_int_equal(store_open(dir, true, &st), NP_OK);
	return st;
}

static void test_open_modes(void **state)
{
	(void)state;
	struct store *st;
	assert_int_equal(store_open(dir, false, &st), NP_ENOTFOUND);
	assert_null(st);
	st = open_new();
	/* SQLite counts no allocation: its memory statistics (a global mutex taken by each
	 * one) are off in this process. */
	assert_int_equal(sqlite3_memory_used(), 0);
	struct stat sb;
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_false(store_admin_is_set(st));
	uint8_t hash[SECRET_HASH_LEN];
	memset(hash, 7, sizeof(hash));
	assert_int_equal(store_admin_set(st, hash), NP_OK);
	assert_true(store_admin_is_set(st));
	assert_int_equal(store_admin_set(st, hash), NP_EEXIST);
	store_close(st);
	/* Reopening (migrations already done) keeps the data. */
	assert_int_equal(store_open(dir, false, &st), NP_OK);
	assert_true(store_admin_is_set(st));
	store_close(st);
}

static int count_users(int64_t id, const char *name, int64_t created, void *ctx)
{
	char *out = ctx;
	(void)id;
	assert_true(created > 0);
	size_t len = strlen(out);
	snprintf(out + len, 256 - len, "%s,", name);
	return 0;
}

static void test_users(void **state)
{
	(void)state;
	struct store *st = open_new();
	int64_t a, b, id;
	assert_int_equal(store_user_add(st, "zed", &a), NP_OK);
	assert_int_equal(store_user_add(st, "alice", &b), NP_OK);
	assert_int_not_equal(a, b);
	assert_int_equal(store_user_add(st, "alice", &id), NP_EEXIST);
	assert_int_equal(store_user_id(st, "zed", &id), NP_OK);
	assert_int_equal(id, a);
	assert_int_equal(store_user_id(st, "nobody", &id), NP_ENOTFOUND);
	char list[256] = "";
	assert_int_equal(store_user_list(st, count_users, list), NP_OK);
	assert_string_equal(list, "alice,zed,");
	store_close(st);
}

static struct store_host host(const char *fqdn, const char *zone, int64_t user)
{
	struct store_host h;
	memset(&h, 0, sizeof(h));
	np_strlcpy(h.fqdn, fqdn, sizeof(h.fqdn));
	np_strlcpy(h.zone, zone, sizeof(h.zone));
	h.user_id = user;
	return h;
}

static struct store_rr rr_a(uint8_t last, uint32_t ttl)
{
	struct store_rr r;
	memset(&r, 0, sizeof(r));
	r.type = DNS_TYPE_A;
	r.ttl = ttl;
	r.rdlen = 4;
	r.rdata[0] = 192;
	r.rdata[1] = 0;
	r.rdata[2] = 2;
	r.rdata[3] = last;
	return r;
}

static void test_hosts_and_records(void **state)
{
	(void)state;
	struct store *st = open_new();
	int64_t uid, hid, hid2;
	assert_int_equal(store_user_add(st, "bob", &uid), NP_OK);

	struct store_host h = host("b.dyn.example", "dyn.example", uid);
	h.wildcard = true;
	assert_int_equal(store_host_add(st, &h, &hid), NP_OK);
	assert_int_equal(store_host_add(st, &h, &hid2), NP_EEXIST);
	struct store_host bad = host("c.dyn.example", "dyn.example", 9999);
	assert_int_equal(store_host_add(st, &bad, &hid2), NP_ENOTFOUND); /* no such user */
	struct store_host imported = host("a.dyn.example", "dyn.example", 0);
	assert_int_equal(store_host_add(st, &imported, &hid2), NP_OK);

	struct store_host got;
	assert_int_equal(store_host_get(st, "b.dyn.example", &got), NP_OK);
	assert_int_equal(got.id, hid);
	assert_int_equal(got.user_id, uid);
	assert_string_equal(got.user, "bob");
	assert_string_equal(got.zone, "dyn.example");
	assert_true(got.wildcard);
	assert_false(got.offline);
	assert_false(got.blocked);
	assert_true(got.created > 0);
	assert_int_equal(store_host_get(st, "a.dyn.example", &got), NP_OK);
	assert_int_equal(got.user_id, 0);
	assert_string_equal(got.user, "");
	assert_int_equal(store_host_get(st, "none.dyn.example", &got), NP_ENOTFOUND);

	/* Flags. */
	assert_int_equal(store_host_set_flags(st, hid2, false, true, true), NP_OK);
	assert_int_equal(store_host_get(st, "a.dyn.example", &got), NP_OK);
	assert_true(got.offline);
	assert_true(got.blocked);
	assert_int_equal(store_host_set_flags(st, 424242, false, false, false), NP_ENOTFOUND);

	/* Records: set, replace, per-type independence, order, limits. */
	struct store_rr rrs[ZONE_MAX_RRS_PER_TYPE + 1];
	rrs[0] = rr_a(2, 60);
	rrs[1] = rr_a(1, 60);
	assert_int_equal(store_records_set(st, hid, DNS_TYPE_A, rrs, 2), NP_OK);
	struct store_rr txt;
	memset(&txt, 0, sizeof(txt));
	txt.type = DNS_TYPE_TXT;
	txt.ttl = 30;
	txt.rdlen = 3;
	memcpy(txt.rdata, "\x02hi", 3);
	assert_int_equal(store_records_set(st, hid, DNS_TYPE_TXT, &txt, 1), NP_OK);
	struct store_rr out[8];
	size_t n;
	assert_int_equal(store_records_get(st, hid, out, 8, &n), NP_OK);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].type, DNS_TYPE_A);
	assert_int_equal(out[0].rdata[3], 2); /* insertion order within a type */
	assert_int_equal(out[1].rdata[3], 1);
	assert_int_equal(out[2].type, DNS_TYPE_TXT);
	assert_int_equal(out[2].ttl, 30);
	assert_memory_equal(out[2].rdata, "\x02hi", 3);
	assert_int_equal(store_records_get(st, hid, out, 2, &n), NP_ETOOBIG);

	rrs[0] = rr_a(9, 120);
	assert_int_equal(store_records_set(st, hid, DNS_TYPE_A, rrs, 1), NP_OK);
	assert_int_equal(store_records_get(st, hid, out, 8, &n), NP_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].rdata[3], 9);
	assert_int_equal(out[0].ttl, 120);
	assert_int_equal(store_records_set(st, hid, DNS_TYPE_TXT, NULL, 0), NP_OK);
	assert_int_equal(store_records_get(st, hid, out, 8, &n), NP_OK);
	assert_int_equal(n, 1);

	for (int i = 0; i <= ZONE_MAX_RRS_PER_TYPE; i++)
		rrs[i] = rr_a((uint8_t)i, 60);
	assert_int_equal(store_records_set(st, hid, DNS_TYPE_A, rrs, ZONE_MAX_RRS_PER_TYPE + 1),
	                 NP_ETOOBIG);
	assert_int_equal(store_records_set(st, hid, DNS_TYPE_SOA, rrs, 1), NP_EINVAL);
	assert_int_equal(store_records_set(st, 424242, DNS_TYPE_A, rrs, 1), NP_ENOTFOUND);
	/* The failed calls changed nothing. */
	assert_int_equal(store_records_get(st, hid, out, 8, &n), NP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].rdata[3], 9);

	/* Deleting a host deletes its records. */
	assert_int_equal(store_host_del(st, "b.dyn.example"), NP_OK);
	assert_int_equal(store_host_del(st, "b.dyn.example"), NP_ENOTFOUND);
	assert_int_equal(store_records_get(st, hid, out, 8, &n), NP_OK);
	assert_int_equal(n, 0);
	store_close(st);
}

static void test_serials(void **state)
{
	(void)state;
	struct store *st = open_new();
	uint32_t s1, s2, s3;
	uint32_t before = (uint32_t)time(NULL);
	assert_int_equal(store_zone_serial(st, "dyn.example", &s1), NP_OK);
	assert_true(s1 >= before && s1 <= before + 5);
	assert_int_equal(store_zone_serial(st, "dyn.example", &s2), NP_OK);
	assert_int_equal(s1, s2);
	assert_int_equal(store_zone_bump(st, "dyn.example", &s3), NP_OK);
	assert_int_equal(s3, s1 + 1);
	assert_int_equal(store_zone_serial(st, "dyn.example", &s2), NP_OK);
	assert_int_equal(s2, s3);
	/* A zone bumped before it was read is created first. */
	assert_int_equal(store_zone_bump(st, "other.example", &s3), NP_OK);
	assert_true(s3 >= before + 1);
	store_close(st);
}

struct walk {
	char names[1024];
	size_t hosts, records;
	int stop_after;
};

static int walk_cb(const struct store_host *h, const struct store_rr *rrs, size_t n, void *ctx)
{
	struct walk *w = ctx;
	size_t len = strlen(w->names);
	snprintf(w->names + len, sizeof(w->names) - len, "%s:%zu,", h->fqdn, n);
	for (size_t i = 1; i < n; i++)
		assert_true(rrs[i - 1].type <= rrs[i].type);
	w->hosts++;
	w->records += n;
	if (w->stop_after != 0 && (int)w->hosts == w->stop_after)
		return 99;
	return 0;
}

static void test_foreach(void **state)
{
	(void)state;
	struct store *st = open_new();
	const char *names[] = {"m.dyn.example", "c.dyn.example", "x.other.example", "a.dyn.example",
	                       "empty.dyn.example"};
	assert_int_equal(store_begin(st), NP_OK);
	for (size_t i = 0; i < 5; i++) {
		const char *zone = strchr(names[i], '.') + 1;
		struct store_host h = host(names[i], zone, 0);
		int64_t id;
		assert_int_equal(store_host_add(st, &h, &id), NP_OK);
		if (strncmp(names[i], "empty", 5) == 0)
			continue;
		struct store_rr rrs[2] = {rr_a(1, 60), rr_a(2, 60)};
		struct store_rr six;
		memset(&six, 0, sizeof(six));
		six.type = DNS_TYPE_AAAA;
		six.rdlen = 16;
		assert_int_equal(store_records_set(st, id, DNS_TYPE_AAAA, &six, 1), NP_OK);
		assert_int_equal(store_records_set(st, id, DNS_TYPE_A, rrs, 2), NP_OK);
	}
	assert_int_equal(store_commit(st), NP_OK);

	struct walk w;
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_foreach_host_records(st, "dyn.example", walk_cb, &w), NP_OK);
	assert_string_equal(w.names,
	                    "a.dyn.example:3,c.dyn.example:3,empty.dyn.example:0,m.dyn.example:3,");
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_foreach_host_records(st, NULL, walk_cb, &w), NP_OK);
	assert_int_equal(w.hosts, 5);
	assert_int_equal(w.records, 12);
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	assert_int_equal(store_foreach_host_records(st, "dyn.example", walk_cb, &w), 99);
	assert_int_equal(w.hosts, 2);
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_foreach_host_records(st, "nothing.example", walk_cb, &w), NP_OK);
	assert_int_equal(w.hosts, 0);
	store_close(st);
}

static int host_count(const struct store_host *h, void *ctx)
{
	(void)h;
	(*(int *)ctx)++;
	return 0;
}

static void test_transactions_and_data_version(void **state)
{
	(void)state;
	struct store *a = open_new();
	struct store *b;
	assert_int_equal(store_open(dir, false, &b), NP_OK);

	int64_t va, va2, vb, vb2;
	assert_int_equal(store_data_version(a, &va), NP_OK);
	assert_int_equal(store_data_version(b, &vb), NP_OK);

	/* A rolled-back transaction leaves nothing. */
	assert_int_equal(store_begin(b), NP_OK);
	struct store_host h = host("gone.dyn.example", "dyn.example", 0);
	int64_t id;
	assert_int_equal(store_host_add(b, &h, &id), NP_OK);
	store_rollback(b);
	struct store_host got;
	assert_int_equal(store_host_get(a, "gone.dyn.example", &got), NP_ENOTFOUND);

	/* A savepoint undoes only its part. */
	assert_int_equal(store_begin(b), NP_OK);
	h = host("kept.dyn.example", "dyn.example", 0);
	assert_int_equal(store_host_add(b, &h, &id), NP_OK);
	assert_int_equal(store_savepoint(b), NP_OK);
	h = host("undone.dyn.example", "dyn.example", 0);
	assert_int_equal(store_host_add(b, &h, &id), NP_OK);
	store_rollback_savepoint(b);
	assert_int_equal(store_savepoint(b), NP_OK);
	h = host("released.dyn.example", "dyn.example", 0);
	assert_int_equal(store_host_add(b, &h, &id), NP_OK);
	assert_int_equal(store_release(b), NP_OK);
	struct store_history hist = {.host_id = id,
	                             .fqdn = "released.dyn.example",
	                             .source = "127.0.0.1",
	                             .old_addr = "",
	                             .new_addr = "192.0.2.1",
	                             .protocol = "ctl"};
	assert_int_equal(store_history_add(b, &hist), NP_OK);
	uint32_t serial;
	assert_int_equal(store_zone_bump(b, "dyn.example", &serial), NP_OK);

	/* While b holds the write lock, a still reads the old state. */
	assert_int_equal(store_host_get(a, "kept.dyn.example", &got), NP_ENOTFOUND);
	assert_int_equal(store_commit(b), NP_OK);

	assert_int_equal(store_data_version(a, &va2), NP_OK);
	assert_int_not_equal(va, va2); /* another connection committed */
	assert_int_equal(store_data_version(b, &vb2), NP_OK);
	assert_int_equal(vb, vb2); /* its own commits do not change it */
	int n = 0;
	assert_int_equal(store_host_list(a, "dyn.example", host_count, &n), NP_OK);
	assert_int_equal(n, 2); /* kept, released */
	assert_int_equal(store_host_get(a, "undone.dyn.example", &got), NP_ENOTFOUND);
	store_close(b);
	store_close(a);
}

static int walk_count(const struct store_host *h, const struct store_rr *rrs, size_t n, void *ctx)
{
	(void)h;
	(void)rrs;
	((size_t *)ctx)[0]++;
	((size_t *)ctx)[1] += n;
	return 0;
}

/* The zone load must stay one pass: 100,000 hosts with two records each well under 1 s. */
static void test_foreach_speed(void **state)
{
	(void)state;
	struct store *st = open_new();
	enum { HOSTS = 100000 };
	assert_int_equal(store_begin(st), NP_OK);
	for (int i = 0; i < HOSTS; i++) {
		struct store_host h;
		memset(&h, 0, sizeof(h));
		snprintf(h.fqdn, sizeof(h.fqdn), "h%06d.big.example", i);
		np_strlcpy(h.zone, "big.example", sizeof(h.zone));
		int64_t id;
		assert_int_equal(store_host_add(st, &h, &id), NP_OK);
		struct store_rr r = rr_a((uint8_t)i, 60);
		assert_int_equal(store_records_set(st, id, DNS_TYPE_A, &r, 1), NP_OK);
		r.type = DNS_TYPE_AAAA;
		r.rdlen = 16;
		assert_int_equal(store_records_set(st, id, DNS_TYPE_AAAA, &r, 1), NP_OK);
	}
	assert_int_equal(store_commit(st), NP_OK);
	struct timespec t0, t1;
	size_t counts[2] = {0, 0};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_foreach_host_records(st, "big.example", walk_count, counts), NP_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("foreach over %d hosts, %zu records: %.0f ms\n", HOSTS, counts[1], ms);
	assert_int_equal(counts[0], HOSTS);
	assert_int_equal(counts[1], 2 * HOSTS);
	assert_true(ms < 1000.0);
	store_close(st);
}

static void add_check(struct store *st, int id, const uint8_t *net, size_t len, int64_t created)
{
	struct store_check c = {0};
	c.token_hash[0] = (uint8_t)id;
	c.token_hash[1] = (uint8_t)(id >> 8);
	memcpy(c.net, net, len);
	np_strlcpy(c.addr, "x", sizeof(c.addr));
	c.created = c.updated = created;
	c.expires = created + 7200;
	assert_int_equal(store_check_add(st, &c, NULL), NP_OK);
}

/* The per-network counts of the check limits: a prefix of the network key is one range,
 * its edges included, other families and older rows left out; and the outbox's stats. */
static void test_check_nets_and_outbox_stats(void **state)
{
	(void)state;
	struct store *st;
	assert_int_equal(store_open(dir, true, &st), NP_OK);
	const uint8_t v4[][5] = {{4, 192, 0, 2, 0}, {4, 192, 0, 2, 255}, {4, 192, 0, 3, 0},
	                         {4, 192, 0, 1, 255}};
	for (int i = 0; i < 4; i++)
		add_check(st, i + 1, v4[i], 5, 1000);
	add_check(st, 10, v4[0], 5, 10); /* too old */
	/* 2001:db8:0:100::/64, 2001:db8:0:1ff::/64 (one /56), 2001:db8:0:200::/64 (same /48). */
	const uint8_t v6[][9] = {{6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x01, 0x00},
	                         {6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x01, 0xff},
	                         {6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x02, 0x00}};
	for (int i = 0; i < 3; i++)
		add_check(st, 20 + i, v6[i], 9, 1000);
	uint8_t key[STORE_CHECK_NET_LEN] = {4, 192, 0, 2, 77};
	unsigned n = 99;
	assert_int_equal(store_check_count_net(st, key, 4, 500, &n), NP_OK);
	assert_int_equal(n, 2); /* 192.0.2.0 and .255, not .3.0, .1.255 or the old row */
	assert_int_equal(store_check_count_net(st, key, 4, 0, &n), NP_OK);
	assert_int_equal(n, 3);
	uint8_t key6[STORE_CHECK_NET_LEN];
	memcpy(key6, v6[0], sizeof(key6));
	assert_int_equal(store_check_count_net(st, key6, 8, 500, &n), NP_OK);
	assert_int_equal(n, 2); /* the /56 */
	assert_int_equal(store_check_count_net(st, key6, 7, 500, &n), NP_OK);
	assert_int_equal(n, 3); /* the /48 */
	assert_int_equal(store_check_count_net(st, key6, 9, 500, &n), NP_OK);
	assert_int_equal(n, 1); /* the /64 */
	assert_int_equal(store_check_count_net(st, key6, 0, 500, &n), NP_EINVAL);
	int64_t oldest = -1;
	assert_int_equal(store_check_count_all(st, 500, &n, &oldest), NP_OK);
	assert_int_equal(n, 7);
	assert_int_equal(oldest, 1000);

	assert_int_equal(store_mail_stats(st, &n, &oldest), NP_OK);
	assert_int_equal(n, 0);
	assert_int_equal(oldest, 0);
	assert_int_equal(store_mail_add(st, "a@example.org", "s", "b", 300, NULL), NP_OK);
	assert_int_equal(store_mail_add(st, "b@example.org", "s", "b", 200, NULL), NP_OK);
	assert_int_equal(store_mail_stats(st, &n, &oldest), NP_OK);
	assert_int_equal(n, 2);
	assert_int_equal(oldest, 200);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hosts_and_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions_and_data_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach_speed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_nets_and_outbox_stats, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
