/* SPDX-License-Identifier: MIT */
/* The zone journal table: append, trim, read in order. */
#include "store/journal.h"

#include "common/clock.h"
#include "store/store_int.h"

int store_journal_add(struct store *st, const char *zone, uint32_t from, uint32_t to,
                      const uint8_t *diff, size_t len, int64_t *id)
{
	sqlite3_stmt *s = store__sql(st, "INSERT INTO xfr_journal(zone, serial_from, serial_to,"
	                                 " created, diff) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, zone);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	sqlite3_bind_int64(s, 4, time_now());
	sqlite3_bind_blob(s, 5, len > 0 ? (const void *)diff : "", (int)len, SQLITE_STATIC);
	return store__exec_insert(st, s, id);
}

int store_journal_trim(struct store *st, const char *zone, int64_t id)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM xfr_journal WHERE zone = ?1 AND id < ?2");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, zone);
	sqlite3_bind_int64(s, 2, id);
	return store__exec(st, s);
}

struct journal_walk {
	store_journal_cb *cb;
	void *ctx;
};

static int journal_row(sqlite3_stmt *s, void *ctx)
{
	struct journal_walk *w = ctx;
	const uint8_t *diff = sqlite3_column_blob(s, 2);
	size_t len = (size_t)sqlite3_column_bytes(s, 2);
	return w->cb(sqlite3_column_int64(s, 3), (uint32_t)sqlite3_column_int64(s, 0),
	             (uint32_t)sqlite3_column_int64(s, 1), diff, len, w->ctx);
}

int store_journal_foreach(struct store *st, const char *zone, store_journal_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT serial_from, serial_to, diff, id FROM xfr_journal"
	                                 " WHERE zone = ?1 ORDER BY id");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, zone);
	struct journal_walk w = {cb, ctx};
	return store__each_row(st, s, journal_row, &w);
}
