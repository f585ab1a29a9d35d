/* SPDX-License-Identifier: MIT */
/* The store's side of the DDNS owners' watch: incidents, pages of owned hosts, and the
 * update history since a time. */
#include "store/incident.h"

#include <string.h>

#include "common/log.h"
#include "common/str.h"
#include "store/store_int.h"

#define INCIDENT_COLS                                                                              \
	"SELECT id, host_id, addr, verdict, opened, updated, closed, notified, evidence"           \
	" FROM incidents"

static void read_incident(sqlite3_stmt *s, struct store_incident *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(s, 0);
	out->host_id = sqlite3_column_int64(s, 1);
	const char *t = (const char *)sqlite3_column_text(s, 2);
	np_strlcpy(out->addr, t != NULL ? t : "", sizeof(out->addr));
	t = (const char *)sqlite3_column_text(s, 3);
	np_strlcpy(out->verdict, t != NULL ? t : "", sizeof(out->verdict));
	out->opened = sqlite3_column_int64(s, 4);
	out->updated = sqlite3_column_int64(s, 5);
	out->closed = sqlite3_column_int64(s, 6);
	out->notified = sqlite3_column_int(s, 7) != 0;
	t = (const char *)sqlite3_column_text(s, 8);
	out->evidence = t != NULL ? t : "{}";
}

struct incident_walk {
	store_incident_cb *cb;
	void *ctx;
};

static int incident_row(sqlite3_stmt *s, void *ctx)
{
	struct incident_walk *w = ctx;
	struct store_incident inc;
	read_incident(s, &inc);
	return w->cb(&inc, w->ctx);
}

/* Hands each incident row of s to cb; the first non-zero return stops. */
static int each_incident(struct store *st, sqlite3_stmt *s, store_incident_cb *cb, void *ctx)
{
	struct incident_walk w = {cb, ctx};
	return store__each_row(st, s, incident_row, &w);
}

int store_incident_find_open(struct store *st, int64_t host_id, const char *addr,
                             struct store_incident *out)
{
	sqlite3_stmt *s = store__sql(st, INCIDENT_COLS " WHERE host_id = ?1 AND closed = 0"
	                                               " AND addr = ?2 ORDER BY id DESC LIMIT 1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	store__bind_text(s, 2, addr);
	int ret = store__step_one(st, s);
	if (ret == NP_OK) {
		read_incident(s, out);
		out->evidence = NULL; /* the row's text is gone once the statement is reset */
	}
	store__done(s);
	return ret;
}

int store_incident_add(struct store *st, int64_t host_id, const char *addr, const char *verdict,
                       const char *evidence, int64_t now, int64_t *id)
{
	sqlite3_stmt *s = store__sql(st, "INSERT INTO incidents(host_id, addr, verdict, opened,"
	                                 " updated, evidence) VALUES (?1, ?2, ?3, ?4, ?4, ?5)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	store__bind_text(s, 2, addr);
	store__bind_text(s, 3, verdict);
	sqlite3_bind_int64(s, 4, now);
	store__bind_text(s, 5, evidence != NULL ? evidence : "{}");
	return store__exec_insert(st, s, id);
}

int store_incident_update(struct store *st, int64_t id, const char *verdict, const char *evidence,
                          int64_t now)
{
	sqlite3_stmt *s = store__sql(
	    st, "UPDATE incidents SET verdict = ?2, evidence = ?3, updated = ?4 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	store__bind_text(s, 2, verdict);
	store__bind_text(s, 3, evidence != NULL ? evidence : "{}");
	sqlite3_bind_int64(s, 4, now);
	return store__exec_changed(st, s);
}

int store_incident_set_notified(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE incidents SET notified = 1 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	return store__exec_changed(st, s);
}

int store_incident_close(struct store *st, int64_t id, int64_t now)
{
	/* closed = 0 means open: a close in the first second of the epoch would not count. */
	sqlite3_stmt *s = store__sql(st, "UPDATE incidents SET closed = max(?2, 1)"
	                                 " WHERE id = ?1 AND closed = 0");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	return store__exec_changed(st, s);
}

int store_incident_foreach_open(struct store *st, int64_t host_id, store_incident_cb *cb, void *ctx)
{
	sqlite3_stmt *s =
	    store__sql(st, INCIDENT_COLS " WHERE host_id = ?1 AND closed = 0 ORDER BY id");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	return each_incident(st, s, cb, ctx);
}

int store_incident_list(struct store *st, int64_t host_id, int64_t closed_since, size_t limit,
                        store_incident_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, INCIDENT_COLS " WHERE host_id = ?1"
	                                               " AND (closed = 0 OR closed >= ?2)"
	                                               " ORDER BY opened DESC, id DESC LIMIT ?3");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_int64(s, 2, closed_since);
	sqlite3_bind_int64(s, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	return each_incident(st, s, cb, ctx);
}

/* Fills out[] from a statement whose columns are id, user_id, fqdn. */
static int read_hosts(struct store *st, sqlite3_stmt *s, struct store_owned_host *out, size_t max,
                      size_t *n, bool *more)
{
	int rc;
	*n = 0;
	if (more != NULL)
		*more = false;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == max) {
			if (more != NULL)
				*more = true;
			rc = SQLITE_DONE;
			break;
		}
		struct store_owned_host *h = &out[(*n)++];
		h->id = sqlite3_column_int64(s, 0);
		h->user_id = sqlite3_column_int64(s, 1);
		const char *f = (const char *)sqlite3_column_text(s, 2);
		np_strlcpy(h->fqdn, f != NULL ? f : "", sizeof(h->fqdn));
	}
	int ret = rc == SQLITE_DONE ? NP_OK : store__err(st, rc);
	store__done(s);
	return ret;
}

int store_owned_hosts_page(struct store *st, int64_t after, struct store_owned_host *out,
                           size_t max, size_t *n)
{
	sqlite3_stmt *s = store__sql(st, "SELECT id, user_id, fqdn FROM hosts"
	                                 " WHERE id > ?1 AND user_id IS NOT NULL AND user_id != 0"
	                                 " ORDER BY id LIMIT ?2");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, (int64_t)max);
	return read_hosts(st, s, out, max, n, NULL);
}

int store_user_hosts(struct store *st, int64_t user_id, struct store_owned_host *out, size_t max,
                     size_t *n, bool *more)
{
	sqlite3_stmt *s = store__sql(st, "SELECT id, user_id, fqdn FROM hosts"
	                                 " WHERE user_id = ?1 ORDER BY fqdn LIMIT ?2");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, (int64_t)max + 1); /* one more tells there were more */
	return read_hosts(st, s, out, max, n, more);
}

/* Hands each row of s (columns time, new) to cb while *left allows. */
static int each_history(struct store *st, sqlite3_stmt *s, size_t *left, store_history_cb *cb,
                        void *ctx)
{
	int rc = SQLITE_DONE, ret = NP_OK;
	while (*left > 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 1);
		(*left)--;
		ret = cb(sqlite3_column_int64(s, 0), t != NULL ? t : "", ctx);
		if (ret != 0)
			break;
	}
	if (*left > 0 && ret == NP_OK && rc != SQLITE_DONE)
		ret = store__err(st, rc);
	store__done(s);
	return ret;
}

int store_history_since(struct store *st, int64_t host_id, int64_t since, size_t limit,
                        store_history_cb *cb, void *ctx)
{
	size_t left = limit;
	/* history_host(host_id, time) serves both: one seek back, one range forward. */
	sqlite3_stmt *s = store__sql(st, "SELECT time, new FROM history WHERE host_id = ?1"
	                                 " AND time < ?2 ORDER BY time DESC, id DESC LIMIT 1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_int64(s, 2, since);
	int ret = each_history(st, s, &left, cb, ctx);
	if (ret != NP_OK || left == 0)
		return ret;
	s = store__sql(st, "SELECT time, new FROM history WHERE host_id = ?1"
	                   " AND time >= ?2 ORDER BY time, id");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_int64(s, 2, since);
	return each_history(st, s, &left, cb, ctx);
}
