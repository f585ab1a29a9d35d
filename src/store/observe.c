/* SPDX-License-Identifier: MIT */
/* The store's side of the "am I infected?" check: sensors and their tokens, the observation
 * inbox, the index checkpoint, and owners' mail addresses. */
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "store/store_int.h"

/* ---- users' mail addresses ---- */

int store_user_set_email(struct store *st, int64_t user_id, const char *email)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE users SET email = ?2 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, user_id);
	store__bind_text(s, 2, email);
	return store__exec_changed(st, s);
}

int store_user_email(struct store *st, int64_t user_id, char *out, size_t len)
{
	sqlite3_stmt *s = store__sql(st, "SELECT email FROM users WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, user_id);
	int ret = store__step_one(st, s);
	if (ret == NP_OK) {
		const char *e = (const char *)sqlite3_column_text(s, 0);
		if (np_strlcpy(out, e != NULL ? e : "", len) >= len)
			ret = NP_EINVAL;
	}
	store__done(s);
	return ret;
}

/* ---- sensors ---- */

#define SENSOR_COLS "SELECT id, name, token_hash, created, last_seen FROM sensors"

static void read_sensor(sqlite3_stmt *s, struct store_sensor *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(s, 0);
	const char *name = (const char *)sqlite3_column_text(s, 1);
	np_strlcpy(out->name, name != NULL ? name : "", sizeof(out->name));
	if (sqlite3_column_bytes(s, 2) == SECRET_HASH_LEN)
		memcpy(out->token_hash, sqlite3_column_blob(s, 2), SECRET_HASH_LEN);
	out->created = sqlite3_column_int64(s, 3);
	out->last_seen = sqlite3_column_int64(s, 4);
}

int store_sensor_add(struct store *st, const char *name, const uint8_t hash[SECRET_HASH_LEN],
                     int64_t *id)
{
	sqlite3_stmt *s =
	    store__sql(st, "INSERT INTO sensors(name, token_hash, created) VALUES (?1, ?2, ?3)");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, name);
	sqlite3_bind_blob(s, 2, hash, SECRET_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, time_now());
	return store__exec_insert(st, s, id);
}

int store_sensor_get(struct store *st, const char *name, struct store_sensor *out)
{
	sqlite3_stmt *s = store__sql(st, SENSOR_COLS " WHERE name = ?1");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, name);
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		read_sensor(s, out);
	store__done(s);
	return ret;
}

int store_sensor_del(struct store *st, const char *name)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM sensors WHERE name = ?1");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, name);
	return store__exec_changed(st, s);
}

int store_sensor_seen(struct store *st, int64_t id, int64_t now)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE sensors SET last_seen = ?2 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	return store__exec(st, s);
}

struct sensor_walk {
	store_sensor_cb *cb;
	void *ctx;
};

static int sensor_row(sqlite3_stmt *s, void *ctx)
{
	struct sensor_walk *w = ctx;
	struct store_sensor sn;
	read_sensor(s, &sn);
	return w->cb(&sn, w->ctx);
}

int store_sensor_list(struct store *st, store_sensor_cb *cb, void *ctx)
{
	struct sensor_walk w = {cb, ctx};
	return store__each_row(st, store__sql(st, SENSOR_COLS " ORDER BY name"), sensor_row, &w);
}

int store_sensor_batch_add(struct store *st, int64_t sensor_id, const char *batch, int64_t now,
                           bool *dup)
{
	sqlite3_stmt *s = store__sql(
	    st, "INSERT OR IGNORE INTO sensor_batches(sensor_id, batch, time) VALUES (?1, ?2, ?3)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, sensor_id);
	store__bind_text(s, 2, batch);
	sqlite3_bind_int64(s, 3, now);
	int ret = store__exec(st, s);
	if (ret == NP_OK)
		*dup = sqlite3_changes(st->db) == 0;
	return ret;
}

int store_sensor_batch_prune(struct store *st, int64_t before)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM sensor_batches WHERE time < ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, before);
	return store__exec(st, s);
}

/* ---- the observation inbox ---- */

int store_obs_inbox_add(struct store *st, const char *source, enum store_obs_kind kind,
                        const void *data, size_t len, int64_t now, int64_t *id)
{
	if (len > INT32_MAX)
		return NP_EINVAL;
	sqlite3_stmt *s = store__sql(
	    st, "INSERT INTO obs_inbox(source, kind, time, data) VALUES (?1, ?2, ?3, ?4)");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, source);
	sqlite3_bind_int(s, 2, (int)kind);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_blob(s, 4, data, (int)len, SQLITE_STATIC);
	return store__exec_insert(st, s, id);
}

struct inbox_walk {
	store_obs_inbox_cb *cb;
	void *ctx;
};

static int inbox_row(sqlite3_stmt *s, void *ctx)
{
	struct inbox_walk *w = ctx;
	const char *source = (const char *)sqlite3_column_text(s, 1);
	const void *data = sqlite3_column_blob(s, 3);
	int len = sqlite3_column_bytes(s, 3);
	return w->cb(sqlite3_column_int64(s, 0), source != NULL ? source : "",
	             (enum store_obs_kind)sqlite3_column_int(s, 2), data, (size_t)len, w->ctx);
}

int store_obs_inbox_foreach(struct store *st, int64_t after, size_t limit, store_obs_inbox_cb *cb,
                            void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT id, source, kind, data FROM obs_inbox "
	                                 "WHERE id > ?1 ORDER BY id LIMIT ?2");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	struct inbox_walk w = {cb, ctx};
	return store__each_row(st, s, inbox_row, &w);
}

int store_obs_inbox_delete_upto(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM obs_inbox WHERE id <= ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	return store__exec(st, s);
}

/* ---- the checkpoint ---- */

int store_obs_put(struct store *st, const void *key, size_t keylen, int64_t last_seen,
                  const void *data, size_t len)
{
	if (len > INT32_MAX || keylen > 16)
		return NP_EINVAL;
	sqlite3_stmt *s =
	    store__sql(st, "INSERT OR REPLACE INTO observations(addr, last_seen, data)"
	                   " VALUES (?1, ?2, ?3)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, key, (int)keylen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, last_seen);
	sqlite3_bind_blob(s, 3, data, (int)len, SQLITE_STATIC);
	return store__exec(st, s);
}

int store_obs_delete(struct store *st, const void *key, size_t keylen)
{
	if (keylen > 16)
		return NP_EINVAL;
	sqlite3_stmt *s = store__sql(st, "DELETE FROM observations WHERE addr = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, key, (int)keylen, SQLITE_STATIC);
	return store__exec(st, s);
}

int store_obs_expire(struct store *st, int64_t before)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM observations WHERE last_seen < ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, before);
	return store__exec(st, s);
}

struct obs_walk {
	store_obs_cb *cb;
	void *ctx;
};

static int obs_row(sqlite3_stmt *s, void *ctx)
{
	struct obs_walk *w = ctx;
	const void *data = sqlite3_column_blob(s, 0);
	int len = sqlite3_column_bytes(s, 0);
	return w->cb(data, (size_t)len, w->ctx);
}

int store_obs_foreach(struct store *st, store_obs_cb *cb, void *ctx)
{
	struct obs_walk w = {cb, ctx};
	return store__each_row(
	    st, store__sql(st, "SELECT data FROM observations ORDER BY last_seen"), obs_row, &w);
}
