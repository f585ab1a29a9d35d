/* SPDX-License-Identifier: MIT */
/* Test fixture shared by the unit tests that drive SQLite straight (the store's VFS and page
 * cache): SQL run or asked with the test failing on any error. */
#ifndef NP_TESTS_SQLITE_FIXTURE_H
#define NP_TESTS_SQLITE_FIXTURE_H

#include <stdint.h>

#include <sqlite3.h>

static inline void sq_exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err != NULL ? err : sqlite3_errstr(rc));
}

/* The integer in the first column of sql's first row. */
static inline int64_t sq_query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* PRAGMA integrity_check says "ok". */
static inline void sq_assert_intact(sqlite3 *db)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
}

#endif
