/* SPDX-License-Identifier: MIT */
/* The last exposure audit of each host (store/audit.h). */
#include "store/audit.h"

#include <string.h>

#include "common/str.h"
#include "store/store_int.h"

static const char *col_text(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	return t != NULL ? t : "";
}

int store_audit_get(struct store *st, int64_t host_id, store_audit_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT time, source, token_id, report, changes,"
	                                 " window_start, window_count FROM audits"
	                                 " WHERE host_id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	int ret = store__step_one(st, s);
	if (ret == NP_OK) {
		struct store_audit a = {.host_id = host_id};
		a.time = sqlite3_column_int64(s, 0);
		np_strlcpy(a.source, col_text(s, 1), sizeof(a.source));
		np_strlcpy(a.token_id, col_text(s, 2), sizeof(a.token_id));
		a.report = col_text(s, 3);
		a.changes = col_text(s, 4);
		a.window_start = sqlite3_column_int64(s, 5);
		int64_t count = sqlite3_column_int64(s, 6);
		a.window_count = count < 0 ? 0 : count > 1000000 ? 1000000 : (unsigned)count;
		ret = cb(&a, ctx);
	}
	store__done(s);
	return ret;
}

int store_audit_put(struct store *st, const struct store_audit *a)
{
	sqlite3_stmt *s = store__sql(st, "INSERT OR REPLACE INTO audits(host_id, time, source,"
	                                 " token_id, report, changes, window_start, window_count)"
	                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, a->host_id);
	sqlite3_bind_int64(s, 2, a->time);
	store__bind_text(s, 3, a->source);
	store__bind_text(s, 4, a->token_id);
	store__bind_text(s, 5, a->report);
	store__bind_text(s, 6, a->changes);
	sqlite3_bind_int64(s, 7, a->window_start);
	sqlite3_bind_int64(s, 8, a->window_count);
	return store__exec(st, s);
}
