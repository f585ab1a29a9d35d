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
	SQL_HOST_DEL,
	SQL_HOST_SECRET,
	SQL_HOST_FLAGS,
	SQL_HOST_TOUCH,
	SQL_HOST_LIST_ALL,
	SQL_HOST_LIST_ZONE,
	SQL_USER_SECRETS,
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

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL_COUNT];
};

/* The cached statement, reset and with bindings cleared; NULL when it cannot be prepared
 * (logged). Callers reset it again when done (store__done) so it holds no read lock. */
sqlite3_stmt *store__stmt(struct store *st, enum store_stmt id);
void store__done(sqlite3_stmt *s);
/* Maps an SQLite result code to enum np_err (constraint kinds to NP_EEXIST/NP_ENOTFOUND). */
int store__err(struct store *st, int rc);
/* Runs a statement without result rows to completion. */
int store__exec(struct store *st, sqlite3_stmt *s);

#endif
