/* SPDX-License-Identifier: MIT */
/* ACME DNS-01 challenge values: the acme_txt table (store.h says what it holds). */
#include <string.h>

#include "common/str.h"
#include "store/store_int.h"

static void read_value(sqlite3_stmt *s, int col, struct store_acme_txt *v)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	np_strlcpy(v->value, t != NULL ? t : "", sizeof(v->value));
	v->created = sqlite3_column_int64(s, col + 1);
}

int store_acme_get(struct store *st, int64_t host_id, struct store_acme_txt *out, size_t max,
                   size_t *n)
{
	sqlite3_stmt *s = store__sql(st, "SELECT value, created FROM acme_txt WHERE host_id = ?1"
	                                 " ORDER BY rowid");
	*n = 0;
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	int rc, ret = NP_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == max) {
			ret = NP_ETOOBIG;
			break;
		}
		read_value(s, 0, &out[(*n)++]);
	}
	if (ret == NP_OK && rc != SQLITE_DONE)
		ret = store__err(st, rc);
	store__done(s);
	return ret;
}

int store_acme_add(struct store *st, int64_t host_id, const char *value, int64_t created)
{
	if (strlen(value) > STORE_ACME_TXT_MAX)
		return NP_ETOOBIG;
	sqlite3_stmt *s =
	    store__sql(st, "INSERT INTO acme_txt(host_id, value, created) VALUES (?1, ?2, ?3)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	store__bind_text(s, 2, value);
	sqlite3_bind_int64(s, 3, created);
	return store__exec(st, s);
}

int store_acme_del(struct store *st, int64_t host_id, const char *value)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM acme_txt WHERE host_id = ?1 AND value = ?2");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	store__bind_text(s, 2, value);
	return store__exec_changed(st, s);
}

int store_acme_stale(struct store *st, int64_t before, char (*fqdns)[CFG_NAME_MAX], size_t max,
                     size_t *n)
{
	sqlite3_stmt *s = store__sql(st, "SELECT DISTINCT h.fqdn FROM acme_txt a"
	                                 " JOIN hosts h ON h.id = a.host_id"
	                                 " WHERE a.created < ?1 LIMIT ?2");
	*n = 0;
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, before);
	sqlite3_bind_int64(s, 2, (int64_t)max);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		const char *f = (const char *)sqlite3_column_text(s, 0);
		np_strlcpy(fqdns[(*n)++], f != NULL ? f : "", CFG_NAME_MAX);
	}
	int ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? NP_OK : store__err(st, rc);
	store__done(s);
	return ret;
}

/* Values of one host arrive together (ORDER BY fqdn); a host holds a handful at most, so
 * more than the array takes is a broken row set, not a reason to fail the zone: the rest
 * is skipped. */
#define ACME_WALK_MAX 16

int store_foreach_acme(struct store *st, const char *zone, store_acme_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT h.fqdn, a.value, a.created FROM acme_txt a"
	                                 " JOIN hosts h ON h.id = a.host_id WHERE h.zone = ?1"
	                                 " ORDER BY h.fqdn, a.rowid");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, zone);
	struct store_acme_txt v[ACME_WALK_MAX];
	char fqdn[CFG_NAME_MAX] = "";
	size_t n = 0;
	int rc, ret = NP_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *f = (const char *)sqlite3_column_text(s, 0);
		if (f == NULL)
			continue;
		if (n > 0 && strcmp(f, fqdn) != 0) {
			ret = cb(fqdn, v, n, ctx);
			if (ret != 0)
				break;
			n = 0;
		}
		np_strlcpy(fqdn, f, sizeof(fqdn));
		if (n < ACME_WALK_MAX)
			read_value(s, 1, &v[n++]);
	}
	if (ret == NP_OK && rc != SQLITE_DONE)
		ret = store__err(st, rc);
	if (ret == NP_OK && rc == SQLITE_DONE && n > 0)
		ret = cb(fqdn, v, n, ctx);
	store__done(s);
	return ret;
}
