/* SPDX-License-Identifier: MIT */
/* Tests of the page cache that keeps the lock page's number out of SQLite's (store/
 * pcache.c): through its methods, a page moved through that number and back, as a B-tree
 * split does, is found under its new number and a truncate drops exactly the pages past
 * its limit; through SQLite, a store whose indexes split on every few inserts keeps every
 * row across many commits and a rollback. */
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

#define PAGE 1024u
#define LOCK_PAGE (0x40000000u / PAGE + 1)

static sqlite3_pcache_page *fetch(const sqlite3_pcache_methods2 *m, sqlite3_pcache *c,
                                  unsigned key, int create)
{
	sqlite3_pcache_page *p = m->xFetch(c, key, create);
	if (p != NULL && create != 0)
		*(unsigned *)p->pBuf = key; /* what the page holds: the number it was made for */
	return p;
}

static void test_swap_through_lock_page(void **state)
{
	(void)state;
	const sqlite3_pcache_methods2 *m = store__pcache_methods();
	assert_non_null(m);
	assert_int_equal(sqlite3_initialize(), SQLITE_OK); /* pcache1's own set-up (xInit) */
	sqlite3_pcache *c = m->xCreate((int)PAGE, 64, 1); /* the pager keeps its header in the extra bytes */
	assert_non_null(c);
	m->xCachesize(c, 1000);
	sqlite3_pcache_page *pg[101];
	for (unsigned k = 1; k <= 100; k++) {
		pg[k] = fetch(m, c, k, 2);
		assert_non_null(pg[k]);
	}
	/* balance_nonroot's swap of pages 10 and 90: 10 -> lock page, 90 -> 10, lock -> 90. */
	m->xRekey(c, pg[10], 10, LOCK_PAGE);
	assert_ptr_equal(m->xFetch(c, LOCK_PAGE, 0), pg[10]);
	m->xRekey(c, pg[90], 90, 10);
	m->xRekey(c, pg[10], LOCK_PAGE, 90);
	assert_null(m->xFetch(c, LOCK_PAGE, 0));
	assert_ptr_equal(m->xFetch(c, 10, 0), pg[90]);
	assert_ptr_equal(m->xFetch(c, 90, 0), pg[10]);
	assert_int_equal(m->xPagecount(c), 100);
	for (unsigned k = 1; k <= 100; k++)
		m->xUnpin(c, pg[k], 0);

	/* The end-of-transaction truncate: pages 61-100 go, 1-60 stay. */
	m->xTruncate(c, 61);
	assert_int_equal(m->xPagecount(c), 60);
	for (unsigned k = 1; k <= 100; k++) {
		sqlite3_pcache_page *p = m->xFetch(c, k, 0);
		if (k > 60) {
			assert_null(p);
			continue;
		}
		assert_non_null(p);
		unsigned made_for = k == 10 ? 90 : k;
		assert_int_equal(*(unsigned *)p->pBuf, made_for);
		m->xUnpin(c, p, 0);
	}
	/* A page made under the lock page's number and discarded leaves nothing behind. */
	sqlite3_pcache_page *lock = fetch(m, c, LOCK_PAGE, 2);
	assert_non_null(lock);
	m->xUnpin(c, lock, 1);
	assert_null(m->xFetch(c, LOCK_PAGE, 0));
	/* A clear (the pager's reset) empties it. */
	m->xTruncate(c, 1);
	assert_int_equal(m->xPagecount(c), 0);
	m->xDestroy(c);
}

static void test_sqlite_splits_keep_every_row(void **state)
{
	(void)state;
	char dir[64], path[128];
	assert_int_equal(tmpdir_make(dir, sizeof(dir), "pcache"), 0);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	store__pcache_install();
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                                 NULL),
	                 SQLITE_OK);
	sq_exec_ok(db, "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; "
	            "PRAGMA cache_size = 8000; "
	            "CREATE TABLE t (id INTEGER PRIMARY KEY, k BLOB, v TEXT); "
	            "CREATE INDEX t_k ON t (k)");
	/* Random keys in the index: its pages split out of order every few inserts. */
	for (int batch = 0; batch < 200; batch++) {
		sq_exec_ok(db, "BEGIN");
		sq_exec_ok(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) "
		            "INSERT INTO t (k, v) SELECT randomblob(12), printf('%050d', i) FROM n");
		sq_exec_ok(db, batch % 10 == 9 ? "ROLLBACK" : "COMMIT");
	}
	assert_int_equal(sq_query_int(db, "SELECT count(*) FROM t"), 180 * 50);
	assert_int_equal(sq_query_int(db, "SELECT count(*) FROM t INDEXED BY t_k WHERE k IS NOT NULL"),
	                 180 * 50);
	sq_assert_intact(db);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_swap_through_lock_page),
	    cmocka_unit_test(test_sqlite_splits_keep_every_row),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
