/* SPDX-License-Identifier: MIT */
/* Internals shared by the store's files: the connection and its prepared-statement cache. */
#ifndef NP_STORE_STORE_INT_H
#define NP_STORE_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/* Every statement the store runs, prepared once per connection on first use. */
enum store_stmt {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_SAVEPOINT,
	SQL_RELEASE,
	SQL_ROLLBACK_TO,
	SQL_DATA_VERSION,
	SQL_META_GET,
	SQL_META_INSERT,
	SQL_USER_ADD,
	SQL_USER_ID,
	SQL_USER_LIST,
	SQL_HOST_ADD,
	SQL_HOST_GET,
	SQL_HOST_GET_ROW,
	SQL_HOST_DEL,
	SQL_HOST_FLAGS,
	SQL_HOST_LIST_ALL,
	SQL_HOST_LIST_ZONE,
	SQL_HOST_LIST_USER,
	SQL_RR_GET,
	SQL_RR_DEL,
	SQL_RR_ADD,
	SQL_FOREACH_ALL,
	SQL_FOREACH_ZONE,
	SQL_ZONE_GET,
	SQL_ZONE_ADD,
	SQL_ZONE_SET,
	SQL_HISTORY_ADD,
	SQL_COUNT
};

/* Longest user name + 1, as struct store_host carries it. */
#define STORE_USER_MAX sizeof(((struct store_host *)0)->user)

/* Statements of the feature files (observations, checks, mail), cached by the address of
 * their SQL text, so that each file keeps its SQL next to its code. */
#define STORE_SQL_CACHE 128

struct store {
	sqlite3 *db;
	struct store_checkpointer *ckpt; /* store_checkpoint_background, or NULL */
	struct store_walsync *walsync;   /* store_wal_sync_start, or NULL */
	bool mapped;                     /* store_map_reads succeeded */
	struct store_memo *memo;         /* memo.c: store_open's connections only */
	bool memo_quiet;                 /* store_records_set keeps the memo itself */
	sqlite3_stmt *stmt[SQL_COUNT];
	struct {
		const char *sql;
		sqlite3_stmt *s;
	} cache[STORE_SQL_CACHE];
};

/* The WAL's size, in pages, from which the checkpoint thread copies it into the database
 * (checkpoint.c says why this many). */
#define STORE_CHECKPOINT_PAGES 32000

/* The name of the VFS that coalesces the writes into the WAL (walbuf.c), registered on
 * the first call; NULL (SQLite's default VFS) if it cannot be. */
const char *store__walbuf_vfs(void);

/* Puts the page cache of pcache.c in SQLite's place, once per process and only before
 * SQLite initializes: store_open and store_open_reader call it first, with SQLite's other
 * process-wide settings (the checkpoint thread's connection is opened after a store_open). */
void store__pcache_install(void);
/* Its methods (tests), NULL if SQLite's default cache could not be had. */
const sqlite3_pcache_methods2 *store__pcache_methods(void);

/* The host rows and records read in a write transaction, kept for the next read of the same
 * host in it until something changes them (memo.c says why that is exact). store_open
 * opens the memo (it watches the connection's changes), store_begin turns it on, the
 * transaction's end turns it off, a rollback to a savepoint drops what it kept. */
void store__memo_open(struct store *st);
void store__memo_close(struct store *st);
void store__memo_begin(struct store *st);
void store__memo_end(struct store *st);
void store__memo_drop(struct store *st);
/* What store_host_get_row and store_records_get would read, if kept: true and *out (or
 * out[0..*n)) filled. The puts keep what they read. */
bool store__memo_host(struct store *st, const char *fqdn, struct store_host *out);
void store__memo_put_host(struct store *st, const struct store_host *h);
bool store__memo_records(struct store *st, int64_t host_id, struct store_rr *out, size_t max,
                         size_t *n);
void store__memo_put_records(struct store *st, int64_t host_id, const struct store_rr *rrs,
                             size_t n);
/* After store_records_set wrote type's records of host_id as rrs[0..n). */
void store__memo_records_set(struct store *st, int64_t host_id, uint16_t type,
                             const struct store_rr *rrs, size_t n);
/* How many reads the memo answered (tests). */
uint64_t store__memo_hits(const struct store *st);

/* Stops the checkpoint thread of st, if any (store_close). */
void store__checkpoint_stop(struct store *st);
/* Syncs the WAL a last time, sets synchronous=FULL back and stops the sync thread, if any
 * (store_close, before anything else). */
void store__wal_sync_stop(struct store *st);

/* The cached statement, reset and with bindings cleared; NULL when it cannot be prepared
 * (logged). Callers reset it again when done (store__done) so it holds no read lock. */
sqlite3_stmt *store__stmt(struct store *st, enum store_stmt id);
void store__done(sqlite3_stmt *s);
/* The same for a statement given by its SQL text, which must be a string literal (or
 * otherwise live as long as the store): it is cached by address. */
sqlite3_stmt *store__sql(struct store *st, const char *sql);
/* Binds text or a blob; NULL text binds NULL. Return SQLite codes like sqlite3_bind_*. */
int store__bind_text(sqlite3_stmt *s, int i, const char *text);
/* Maps an SQLite result code to enum np_err (constraint kinds to NP_EEXIST/NP_ENOTFOUND). */
int store__err(struct store *st, int rc);
/* Runs a statement without result rows to completion. */
int store__exec(struct store *st, sqlite3_stmt *s);
/* Steps s once for a single-row lookup: NP_OK with a row to read, NP_ENOTFOUND without one,
 * or the error. The caller reads the row, then calls store__done. */
int store__step_one(struct store *st, sqlite3_stmt *s);
/* store__exec for an UPDATE/DELETE: "no row changed" is NP_ENOTFOUND. */
int store__exec_changed(struct store *st, sqlite3_stmt *s);
/* store__exec for an INSERT: *id (may be NULL) gets the new row's id. */
int store__exec_insert(struct store *st, sqlite3_stmt *s, int64_t *id);
/* Steps s through its rows, handing each to row(s, ctx); the first non-zero return stops
 * the walk and is returned. Resets s. */
int store__each_row(struct store *st, sqlite3_stmt *s, int (*row)(sqlite3_stmt *s, void *ctx),
                    void *ctx);

#endif
