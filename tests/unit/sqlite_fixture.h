/* SPDX-License-Identifier: MIT */
/* Test fixture shared by the unit tests that drive SQLite straight (the store's VFS and page
 * cache): a scratch directory, and SQL run or asked with the test failing on any error. */
#ifndef NP_TESTS_SQLITE_FIXTURE_H
#define NP_TESTS_SQLITE_FIXTURE_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/str.h"

/* Makes a new directory /tmp/np-<what>-XXXXXX, its name in dir: 0, or -1 if it cannot. */
static inline int sq_tmpdir_make(char *dir, size_t size, const char *what)
{
	if ((size_t)snprintf(dir, size, "/tmp/np-%s-XXXXXX", what) >= size)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Removes dir and everything in it. */
static inline int sq_tmpdir_remove(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

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
