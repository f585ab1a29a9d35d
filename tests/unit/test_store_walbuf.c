/* SPDX-License-Identifier: MIT */
/* Tests of the VFS that coalesces the writes into the WAL (store/walbuf.c), through SQLite
 * itself: another connection (SQLite's own VFS) sees every commit as soon as it returns,
 * transactions larger than the buffer, spilled to the WAL, rewritten in it (the checksum
 * rewrite) or rolled back come out as SQLite wrote them, a process killed after its
 * commits leaves a WAL that recovers them all, and a failed write is the commit's error,
 * after which nothing more is committed through that connection. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/str.h"
#include "store/store_int.h"
#include "sqlite_fixture.h"
#include "tmpdir_fixture.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	if (tmpdir_make(dir, sizeof(dir), "walbuf") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	return store__walbuf_vfs() == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

/* A writer as the store's: through the VFS, WAL, 1 KiB pages, synchronous=OFF, a small
 * page cache so that large transactions spill frames into the WAL before their commit. */
static sqlite3 *open_writer(void)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                                 store__walbuf_vfs()),
	                 SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	sq_exec_ok(db, "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;"
	            " PRAGMA synchronous = OFF; PRAGMA cache_size = 20;"
	            " PRAGMA wal_autocheckpoint = 0;"
	            " CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)");
	return db;
}

static sqlite3 *open_reader(void)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Inserts n rows of 700 bytes (n = 300: about 220 KiB of frames, more than the buffer). */
static void insert_rows(sqlite3 *db, int n)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
	         " INSERT INTO t (v) SELECT randomblob(700) FROM c",
	         n);
	sq_exec_ok(db, sql);
}

static void test_every_commit_visible_to_others(void **state)
{
	(void)state;
	sqlite3 *w = open_writer(), *r = open_reader();
	int64_t rows = 0;
	for (int i = 1; i <= 40; i++) {
		int n = i % 10 == 0 ? 300 : i; /* some larger than the buffer */
		sq_exec_ok(w, "BEGIN");
		insert_rows(w, n);
		sq_exec_ok(w, "COMMIT");
		rows += n;
		/* The reader reads the new frames from the file: they must be there. */
		assert_int_equal(sq_query_int(r, "SELECT count(*) FROM t"), rows);
		assert_int_equal(sq_query_int(r, "SELECT sum(length(v)) FROM t"), rows * 700);
	}
	sq_assert_intact(r);
	/* A checkpoint by the reader copies what the writer wrote; the writer restarts the WAL
	 * (its header and first frames written again from offset 0) and goes on. */
	sq_exec_ok(r, "PRAGMA wal_checkpoint(PASSIVE)");
	sq_exec_ok(w, "BEGIN; UPDATE t SET v = zeroblob(600) WHERE id % 7 = 0; COMMIT");
	assert_int_equal(sq_query_int(r, "SELECT count(*) FROM t WHERE length(v) = 600"),
	                 sq_query_int(w, "SELECT count(*) FROM t WHERE id % 7 = 0"));
	sq_assert_intact(r);
	sqlite3_close(r);
	sqlite3_close(w);
}

static void test_spilled_rewritten_and_rolled_back(void **state)
{
	(void)state;
	sqlite3 *w = open_writer(), *r = open_reader();
	sq_exec_ok(w, "BEGIN");
	insert_rows(w, 300);
	sq_exec_ok(w, "COMMIT");
	/* Rolled back after spilling frames into the WAL: the frames stay beyond the commit. */
	sq_exec_ok(w, "BEGIN");
	insert_rows(w, 400);
	sq_exec_ok(w, "ROLLBACK");
	assert_int_equal(sq_query_int(r, "SELECT count(*) FROM t"), 300);
	/* Pages spilled early in the transaction and changed again: SQLite overwrites their
	 * frames in place and rewrites the checksums of the frames after them at commit. */
	sq_exec_ok(w, "BEGIN");
	sq_exec_ok(w, "UPDATE t SET v = zeroblob(650)");
	insert_rows(w, 200);
	sq_exec_ok(w, "UPDATE t SET v = zeroblob(640) WHERE id <= 300");
	sq_exec_ok(w, "COMMIT");
	assert_int_equal(sq_query_int(r, "SELECT count(*) FROM t"), 500);
	assert_int_equal(sq_query_int(r, "SELECT count(*) FROM t WHERE length(v) = 640"), 300);
	sq_assert_intact(r);
	sqlite3_close(r);
	sqlite3_close(w);

	/* Without any connection left, recovery reads the WAL from the file alone. */
	sqlite3 *again = open_reader();
	assert_int_equal(sq_query_int(again, "SELECT count(*) FROM t WHERE length(v) = 640"), 300);
	sq_assert_intact(again);
	sqlite3_close(again);
}

static void test_killed_writer_loses_no_commit(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		sqlite3 *w = open_writer();
		for (int i = 1; i <= 30; i++) {
			sq_exec_ok(w, "BEGIN");
			insert_rows(w, i * 11);
			sq_exec_ok(w, "COMMIT");
			/* Told after the commit returned: the parent counts on this many. */
			if (write(fds[1], &i, sizeof(i)) != (ssize_t)sizeof(i))
				_exit(2);
		}
		/* Killed with the last transaction's frames spilled but not committed. */
		sq_exec_ok(w, "BEGIN");
		insert_rows(w, 350);
		raise(SIGKILL);
		_exit(3);
	}
	close(fds[1]);
	int last = 0, got;
	while (read(fds[0], &got, sizeof(got)) == (ssize_t)sizeof(got))
		last = got;
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(last, 30);
	sqlite3 *r = open_reader();
	assert_int_equal(sq_query_int(r, "SELECT count(*) FROM t"), 11 * 30 * 31 / 2);
	sq_assert_intact(r);
	sqlite3_close(r);
}

/* In a child, as the limit ends the process's file-size budget (SIGXFSZ ignored: EFBIG). */
static void test_failed_write_fails_the_commit_for_good(void **state)
{
	(void)state;
	sqlite3 *w = open_writer();
	sq_exec_ok(w, "BEGIN");
	insert_rows(w, 20);
	sq_exec_ok(w, "COMMIT");
	sqlite3_close(w);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		w = open_writer();
		sq_exec_ok(w, "BEGIN");
		insert_rows(w, 5);
		sq_exec_ok(w, "COMMIT");
		struct stat sb;
		char wal[160];
		snprintf(wal, sizeof(wal), "%s-wal", path);
		if (stat(wal, &sb) != 0)
			_exit(10);
		struct rlimit lim;
		if (getrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(11);
		rlim_t soft = lim.rlim_cur;
		lim.rlim_cur = (rlim_t)sb.st_size + 8192; /* the hard limit stays, to go back */
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(11);
		/* Small enough to stay in the buffer until its commit frame: the flush fails. */
		int rc = sqlite3_exec(w,
		                      "BEGIN; INSERT INTO t (v) SELECT randomblob(700) FROM t"
		                      " LIMIT 40; COMMIT",
		                      NULL, NULL, NULL);
		int primary = rc & 0xff;
		if (primary != SQLITE_IOERR && primary != SQLITE_FULL)
			_exit(12);
		sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL);
		/* Nothing more through this connection, even what would fit. */
		lim.rlim_cur = soft;
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(13);
		rc = sqlite3_exec(w, "INSERT INTO t (v) VALUES (x'00')", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			_exit(14);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Only what was committed before the failure. */
	sqlite3 *r = open_reader();
	assert_int_equal(sq_query_int(r, "SELECT count(*) FROM t"), 25);
	sq_assert_intact(r);
	sqlite3_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_commit_visible_to_others, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spilled_rewritten_and_rolled_back, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_killed_writer_loses_no_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_write_fails_the_commit_for_good, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
