/* SPDX-License-Identifier: MIT */
/* The store's side of the check service: the mail outbox (results and owners' alerts wait
 * here until the relay accepted them) and the check rows behind the result pages. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/str.h"
#include "store/store_int.h"

/* Longest error text kept per outbox row: enough to see what the relay said. */
#define MAIL_ERROR_MAX 512

static char *dup_column(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	return strdup(t != NULL ? t : "");
}

/* ---- the outbox ---- */

int store_mail_add(struct store *st, const char *rcpt, const char *subject, const char *body,
                   int64_t now, int64_t *id)
{
	if (strlen(rcpt) >= STORE_MAIL_RCPT_MAX)
		return NP_EINVAL;
	sqlite3_stmt *s =
	    store__sql(st, "INSERT INTO outbox(rcpt, subject, body, created, next_try)"
	                   " VALUES (?1, ?2, ?3, ?4, ?4)");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, rcpt);
	store__bind_text(s, 2, subject);
	store__bind_text(s, 3, body);
	sqlite3_bind_int64(s, 4, now);
	return store__exec_insert(st, s, id);
}

void store_mail_free(struct store_mail *m)
{
	if (m == NULL)
		return;
	free(m->subject);
	free(m->body);
	m->subject = m->body = NULL;
}

struct mail_walk {
	store_mail_cb *cb;
	void *ctx;
};

static int mail_row(sqlite3_stmt *s, void *ctx)
{
	struct mail_walk *w = ctx;
	struct store_mail m = {0};
	m.id = sqlite3_column_int64(s, 0);
	const char *rcpt = (const char *)sqlite3_column_text(s, 1);
	np_strlcpy(m.rcpt, rcpt != NULL ? rcpt : "", sizeof(m.rcpt));
	m.subject = dup_column(s, 2);
	m.body = dup_column(s, 3);
	m.created = sqlite3_column_int64(s, 4);
	int64_t attempts = sqlite3_column_int64(s, 5);
	m.attempts = attempts < 0 ? 0 : attempts > 1000000 ? 1000000 : (unsigned)attempts;
	m.next_try = sqlite3_column_int64(s, 6);
	int ret = m.subject == NULL || m.body == NULL ? NP_ENOMEM : w->cb(&m, w->ctx);
	store_mail_free(&m);
	return ret;
}

int store_mail_due(struct store *st, int64_t now, size_t limit, store_mail_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT id, rcpt, subject, body, created, attempts, "
	                                 "next_try FROM outbox WHERE next_try <= ?1 "
	                                 "ORDER BY next_try, id LIMIT ?2");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	struct mail_walk w = {cb, ctx};
	return store__each_row(st, s, mail_row, &w);
}

int store_mail_next(struct store *st, int64_t *when)
{
	sqlite3_stmt *s = store__sql(st, "SELECT min(next_try) FROM outbox");
	if (s == NULL)
		return NP_ESTORE;
	int ret = store__step_one(st, s);
	if (ret == NP_OK && sqlite3_column_type(s, 0) == SQLITE_NULL)
		ret = NP_ENOTFOUND;
	else if (ret == NP_OK)
		*when = sqlite3_column_int64(s, 0);
	store__done(s);
	return ret;
}

/* count(*) and min() in one pass; a count beyond UINT32_MAX is clamped. */
static int count_and_oldest(struct store *st, sqlite3_stmt *s, unsigned *count, int64_t *oldest)
{
	int ret = store__step_one(st, s);
	if (ret == NP_OK) {
		int64_t n = sqlite3_column_int64(s, 0);
		*count = n < 0 ? 0 : n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
		*oldest = sqlite3_column_type(s, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 1);
	}
	store__done(s);
	return ret;
}

int store_mail_stats(struct store *st, unsigned *count, int64_t *oldest)
{
	sqlite3_stmt *s = store__sql(st, "SELECT count(*), min(created) FROM outbox");
	if (s == NULL)
		return NP_ESTORE;
	return count_and_oldest(st, s, count, oldest);
}

int store_mail_sent(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM outbox WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	return store__exec_changed(st, s);
}

int store_mail_retry(struct store *st, int64_t id, unsigned attempts, int64_t next_try,
                     const char *error)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE outbox SET attempts = ?2, next_try = ?3, "
	                                 "last_error = substr(?4, 1, ?5) WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, attempts);
	sqlite3_bind_int64(s, 3, next_try);
	store__bind_text(s, 4, error != NULL ? error : "");
	sqlite3_bind_int(s, 5, MAIL_ERROR_MAX);
	return store__exec_changed(st, s);
}

/* ---- checks ---- */

int store_check_add(struct store *st, const struct store_check *c, int64_t *id)
{
	sqlite3_stmt *s = store__sql(st, "INSERT INTO checks(token_hash, cookie_hash, addr, "
	                                 "email_hash, created, updated, expires, result, net) "
	                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, c->token_hash, SECRET_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, c->cookie_hash, SECRET_HASH_LEN, SQLITE_STATIC);
	store__bind_text(s, 3, c->addr);
	sqlite3_bind_blob(s, 4, c->email_hash, SECRET_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, c->created);
	sqlite3_bind_int64(s, 6, c->updated);
	sqlite3_bind_int64(s, 7, c->expires);
	store__bind_text(s, 8, c->result != NULL ? c->result : "{}");
	sqlite3_bind_blob(s, 9, c->net, STORE_CHECK_NET_LEN, SQLITE_STATIC);
	return store__exec_insert(st, s, id);
}

static void copy_hash(sqlite3_stmt *s, int col, uint8_t out[SECRET_HASH_LEN])
{
	/* A damaged row gets a zero hash, which no presented value hashes to. */
	if (sqlite3_column_bytes(s, col) == SECRET_HASH_LEN)
		memcpy(out, sqlite3_column_blob(s, col), SECRET_HASH_LEN);
	else
		memset(out, 0, SECRET_HASH_LEN);
}

int store_check_get(struct store *st, const uint8_t token_hash[SECRET_HASH_LEN],
                    struct store_check *out)
{
	sqlite3_stmt *s = store__sql(st, "SELECT id, token_hash, cookie_hash, email_hash, addr, "
	                                 "created, updated, expires, result FROM checks "
	                                 "WHERE token_hash = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, token_hash, SECRET_HASH_LEN, SQLITE_STATIC);
	int ret = store__step_one(st, s);
	if (ret == NP_OK) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(s, 0);
		copy_hash(s, 1, out->token_hash);
		copy_hash(s, 2, out->cookie_hash);
		copy_hash(s, 3, out->email_hash);
		const char *addr = (const char *)sqlite3_column_text(s, 4);
		np_strlcpy(out->addr, addr != NULL ? addr : "", sizeof(out->addr));
		out->created = sqlite3_column_int64(s, 5);
		out->updated = sqlite3_column_int64(s, 6);
		out->expires = sqlite3_column_int64(s, 7);
		out->result = dup_column(s, 8);
		if (out->result == NULL)
			ret = NP_ENOMEM;
	}
	store__done(s);
	return ret;
}

int store_check_update(struct store *st, int64_t id, const char *addr, const char *result,
                       int64_t now)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE checks SET addr = ?2, result = ?3, updated = ?4 "
	                                 "WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	store__bind_text(s, 2, addr);
	store__bind_text(s, 3, result);
	sqlite3_bind_int64(s, 4, now);
	return store__exec_changed(st, s);
}

static int count_rows(struct store *st, sqlite3_stmt *s, unsigned *out)
{
	int ret = store__step_one(st, s);
	if (ret == NP_OK) {
		int64_t n = sqlite3_column_int64(s, 0);
		*out = n < 0 ? 0 : n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
	}
	store__done(s);
	return ret;
}

int store_check_count(struct store *st, const char *addr, const uint8_t email_hash[SECRET_HASH_LEN],
                      int64_t since, unsigned *by_addr, unsigned *by_email)
{
	/* Both counts use their index (checks_addr, checks_email) as a range scan. */
	sqlite3_stmt *s =
	    store__sql(st, "SELECT count(*) FROM checks WHERE addr = ?1 AND created >= ?2");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, addr);
	sqlite3_bind_int64(s, 2, since);
	int ret = count_rows(st, s, by_addr);
	if (ret != NP_OK || email_hash == NULL || by_email == NULL)
		return ret;
	s = store__sql(st, "SELECT count(*) FROM checks WHERE email_hash = ?1 AND created >= ?2");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, email_hash, SECRET_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	return count_rows(st, s, by_email);
}

int store_check_count_net(struct store *st, const uint8_t net[STORE_CHECK_NET_LEN],
                          size_t prefix_len, int64_t since, unsigned *n)
{
	if (prefix_len == 0 || prefix_len > STORE_CHECK_NET_LEN)
		return NP_EINVAL;
	/* Every key in the prefix lies between the prefix padded with 0x00 and with 0xff (all
	 * keys have the same length): one range of checks_net. */
	uint8_t lo[STORE_CHECK_NET_LEN], hi[STORE_CHECK_NET_LEN];
	memcpy(lo, net, prefix_len);
	memcpy(hi, net, prefix_len);
	memset(lo + prefix_len, 0x00, STORE_CHECK_NET_LEN - prefix_len);
	memset(hi + prefix_len, 0xff, STORE_CHECK_NET_LEN - prefix_len);
	sqlite3_stmt *s = store__sql(st, "SELECT count(*) FROM checks WHERE net BETWEEN ?1 AND ?2 "
	                                 "AND created >= ?3");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, lo, STORE_CHECK_NET_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 2, hi, STORE_CHECK_NET_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, since);
	return count_rows(st, s, n);
}

int store_check_count_all(struct store *st, int64_t since, unsigned *n, int64_t *oldest)
{
	sqlite3_stmt *s =
	    store__sql(st, "SELECT count(*), min(created) FROM checks WHERE created >= ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, since);
	return count_and_oldest(st, s, n, oldest);
}

/* An expired check loses its result at once, but the row (hashes, address, times) stays
 * until it is also older than a day: the per-mail-address limit counts a day of checks even
 * when result_ttl is shorter, and the page can answer "expired" rather than "unknown". */
int store_check_expire(struct store *st, int64_t now)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE checks SET result = '' "
	                                 "WHERE expires <= ?1 AND result != ''");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, now);
	int ret = store__exec(st, s);
	if (ret != NP_OK)
		return ret;
	s = store__sql(st, "DELETE FROM checks WHERE expires <= ?1 AND created < ?1 - 86400");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, now);
	return store__exec(st, s);
}

void store_check_free(struct store_check *c)
{
	if (c == NULL)
		return;
	free(c->result);
	c->result = NULL;
}
