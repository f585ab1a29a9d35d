/* SPDX-License-Identifier: MIT */
/* Accounts and their tokens: the users columns beyond the name, and the tokens table. */
#include "store/store_int.h"

#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

const char *store_user_state_name(enum store_user_state s)
{
	switch (s) {
	case STORE_USER_ACTIVE:
		return "active";
	case STORE_USER_LOCKED:
		return "locked";
	case STORE_USER_SUSPENDED:
		return "suspended";
	case STORE_USER_UNCONFIRMED:
		return "unconfirmed";
	}
	return "?";
}

const char *store_token_kind_name(enum store_token_kind k)
{
	switch (k) {
	case STORE_TOKEN_API:
		return "api";
	case STORE_TOKEN_SESSION:
		return "session";
	case STORE_TOKEN_HOST:
		return "host";
	case STORE_TOKEN_TSIG:
		return "tsig";
	}
	return "?";
}

#define USER_COLS                                                                                  \
	"id, name, email, password_hash, role, state, email_confirmed, totp_secret, totp_step, "   \
	"created"

static void read_user(sqlite3_stmt *s, struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(s, 0);
	const char *t = (const char *)sqlite3_column_text(s, 1);
	np_strlcpy(u->name, t != NULL ? t : "", sizeof(u->name));
	t = (const char *)sqlite3_column_text(s, 2);
	np_strlcpy(u->email, t != NULL ? t : "", sizeof(u->email));
	t = (const char *)sqlite3_column_text(s, 3);
	np_strlcpy(u->password_hash, t != NULL ? t : "", sizeof(u->password_hash));
	u->role = (enum store_user_role)sqlite3_column_int(s, 4);
	u->state = (enum store_user_state)sqlite3_column_int(s, 5);
	u->email_confirmed = sqlite3_column_int(s, 6) != 0;
	int len = sqlite3_column_bytes(s, 7);
	if (len > 0 && len <= STORE_TOTP_MAX) {
		memcpy(u->totp_secret, sqlite3_column_blob(s, 7), (size_t)len);
		u->totp_len = (size_t)len;
	}
	u->totp_step = sqlite3_column_int64(s, 8);
	u->created = sqlite3_column_int64(s, 9);
}

static int user_one(struct store *st, sqlite3_stmt *s, struct store_user *out)
{
	if (s == NULL)
		return NP_ESTORE;
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		read_user(s, out);
	store__done(s);
	return ret;
}

int store_user_get(struct store *st, const char *name, struct store_user *out)
{
	sqlite3_stmt *s = store__sql(st, "SELECT " USER_COLS " FROM users WHERE name = ?1");
	if (s != NULL)
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return user_one(st, s, out);
}

int store_user_get_id(struct store *st, int64_t id, struct store_user *out)
{
	sqlite3_stmt *s = store__sql(st, "SELECT " USER_COLS " FROM users WHERE id = ?1");
	if (s != NULL)
		sqlite3_bind_int64(s, 1, id);
	return user_one(st, s, out);
}

int store_user_set_password(struct store *st, int64_t id, const char *hash)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE users SET password_hash = ?2 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, hash != NULL ? hash : "", -1, SQLITE_STATIC);
	return store__exec_changed(st, s);
}

/* One integer column of one user. col is one of our literals, never input. */
static int set_int(struct store *st, const char *sql, int64_t id, int64_t value)
{
	sqlite3_stmt *s = store__sql(st, sql);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, value);
	return store__exec_changed(st, s);
}

int store_user_set_state(struct store *st, int64_t id, enum store_user_state state)
{
	/* state_since: when the state began (the revoked list says since when an account is
	 * suspended); the same state again keeps it. */
	return set_int(st,
	               "UPDATE users SET state_since = CASE WHEN state = ?2 THEN state_since"
	               " ELSE CAST(strftime('%s', 'now') AS INTEGER) END, state = ?2 WHERE id = ?1",
	               id, state);
}

int store_user_set_role(struct store *st, int64_t id, enum store_user_role role)
{
	return set_int(st, "UPDATE users SET role = ?2 WHERE id = ?1", id, role);
}

int store_user_set_confirmed(struct store *st, int64_t id, bool confirmed)
{
	return set_int(st, "UPDATE users SET email_confirmed = ?2 WHERE id = ?1", id, confirmed);
}

int store_user_set_totp_step(struct store *st, int64_t id, int64_t step)
{
	return set_int(st, "UPDATE users SET totp_step = ?2 WHERE id = ?1", id, step);
}

int store_user_set_totp(struct store *st, int64_t id, const uint8_t *secret, size_t len)
{
	if (len > STORE_TOTP_MAX)
		return NP_ETOOBIG;
	sqlite3_stmt *s =
	    store__sql(st, "UPDATE users SET totp_secret = ?2, totp_step = 0 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	if (len > 0)
		sqlite3_bind_blob(s, 2, secret, (int)len, SQLITE_STATIC);
	return store__exec_changed(st, s);
}

int store_user_host_count(struct store *st, int64_t id, unsigned *n)
{
	sqlite3_stmt *s = store__sql(st, "SELECT count(*) FROM hosts WHERE user_id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	int ret = store__step_one(st, s);
	*n = ret == NP_OK ? (unsigned)sqlite3_column_int64(s, 0) : 0;
	store__done(s);
	return ret;
}

int store_user_del(struct store *st, int64_t id)
{
	unsigned hosts;
	int ret = store_user_host_count(st, id, &hosts);
	if (ret != NP_OK)
		return ret;
	if (hosts > 0)
		return NP_EDENIED;
	sqlite3_stmt *s = store__sql(st, "DELETE FROM users WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	return store__exec_changed(st, s); /* tokens go with it (ON DELETE CASCADE) */
}

struct user_list {
	store_user_full_cb *cb;
	void *ctx;
};

static int user_row(sqlite3_stmt *s, void *ctx)
{
	struct user_list *l = ctx;
	struct store_user u;
	read_user(s, &u);
	int ret = l->cb(&u, l->ctx);
	explicit_bzero(&u, sizeof(u));
	return ret;
}

int store_user_list_full(struct store *st, store_user_full_cb *cb, void *ctx)
{
	struct user_list l = {cb, ctx};
	return store__each_row(st, store__sql(st, "SELECT " USER_COLS " FROM users ORDER BY name"),
	                       user_row, &l);
}

/* ---- tokens ---- */

#define TOKEN_COLS                                                                                 \
	"id, user_id, secret_hash, kind, name, names, types, sources, expires, manage, created, "  \
	"last_used, last_source"

static void col_text(sqlite3_stmt *s, int col, char *out, size_t len)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	np_strlcpy(out, t != NULL ? t : "", len);
}

static void read_token(sqlite3_stmt *s, struct store_token *t)
{
	memset(t, 0, sizeof(*t));
	col_text(s, 0, t->id, sizeof(t->id));
	t->user_id = sqlite3_column_int64(s, 1);
	if (sqlite3_column_bytes(s, 2) == SECRET_HASH_LEN)
		memcpy(t->secret_hash, sqlite3_column_blob(s, 2), SECRET_HASH_LEN);
	t->kind = (enum store_token_kind)sqlite3_column_int(s, 3);
	col_text(s, 4, t->name, sizeof(t->name));
	col_text(s, 5, t->names, sizeof(t->names));
	col_text(s, 6, t->types, sizeof(t->types));
	col_text(s, 7, t->sources, sizeof(t->sources));
	t->expires = sqlite3_column_int64(s, 8);
	t->manage = sqlite3_column_int(s, 9) != 0;
	t->created = sqlite3_column_int64(s, 10);
	t->last_used = sqlite3_column_int64(s, 11);
	col_text(s, 12, t->last_source, sizeof(t->last_source));
}

/* Whether the policy columns fit the struct: a row that does not is never used. */
static bool token_fits(sqlite3_stmt *s, const struct store_token *t)
{
	return sqlite3_column_bytes(s, 5) < (int)sizeof(t->names) &&
	       sqlite3_column_bytes(s, 6) < (int)sizeof(t->types) &&
	       sqlite3_column_bytes(s, 7) < (int)sizeof(t->sources);
}

static int token_one(struct store *st, sqlite3_stmt *s, struct store_token *out)
{
	if (s == NULL)
		return NP_ESTORE;
	int ret = store__step_one(st, s);
	if (ret == NP_OK && !token_fits(s, out)) {
		log_err("store: a token's policy is longer than a policy can be; refused");
		ret = NP_ETOOBIG;
	}
	if (ret == NP_OK)
		read_token(s, out);
	store__done(s);
	return ret;
}

int store_token_add(struct store *st, const struct store_token *t)
{
	if (t->id[0] == '\0' || t->user_id == 0)
		return NP_EINVAL;
	sqlite3_stmt *s = store__sql(st, "INSERT INTO tokens(id, user_id, secret_hash, kind, name,"
	                                 " names, types, sources, expires, manage, created)"
	                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, t->user_id);
	sqlite3_bind_blob(s, 3, t->secret_hash, SECRET_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, t->kind);
	sqlite3_bind_text(s, 5, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, t->names, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, t->types, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, t->sources, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, t->expires);
	sqlite3_bind_int(s, 10, t->manage);
	sqlite3_bind_int64(s, 11, t->created != 0 ? t->created : time_now());
	return store__exec(st, s);
}

int store_token_by_hash(struct store *st, const uint8_t hash[SECRET_HASH_LEN],
                        struct store_token *out)
{
	sqlite3_stmt *s = store__sql(st, "SELECT " TOKEN_COLS " FROM tokens WHERE secret_hash = ?1");
	if (s != NULL)
		sqlite3_bind_blob(s, 1, hash, SECRET_HASH_LEN, SQLITE_STATIC);
	return token_one(st, s, out);
}

int store_token_get(struct store *st, const char *id, struct store_token *out)
{
	sqlite3_stmt *s = store__sql(st, "SELECT " TOKEN_COLS " FROM tokens WHERE id = ?1");
	if (s != NULL)
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return token_one(st, s, out);
}

int store_token_valid(struct store *st, const char *id, const uint8_t hash[SECRET_HASH_LEN],
                      bool *valid, int64_t *last_used)
{
	*valid = false;
	*last_used = 0;
	sqlite3_stmt *s = store__sql(st, "SELECT t.secret_hash, t.last_used FROM tokens t"
	                                 " JOIN users u ON u.id = t.user_id"
	                                 " WHERE t.id = ?1 AND u.state = 0");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int ret = store__step_one(st, s);
	if (ret == NP_OK) {
		*valid = sqlite3_column_bytes(s, 0) == SECRET_HASH_LEN &&
		         secret_hash_equal(sqlite3_column_blob(s, 0), hash);
		*last_used = sqlite3_column_int64(s, 1);
	}
	store__done(s);
	return ret == NP_ENOTFOUND ? NP_OK : ret;
}

int store_credentials_version(struct store *st, int64_t *out)
{
	sqlite3_stmt *s = store__stmt(st, SQL_META_GET);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, "credentials", -1, SQLITE_STATIC);
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		*out = sqlite3_column_int64(s, 0);
	store__done(s);
	return ret;
}

int store_token_update(struct store *st, const struct store_token *t)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE tokens SET name = ?2, names = ?3, types = ?4,"
	                                 " sources = ?5, expires = ?6, manage = ?7 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, t->names, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, t->types, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, t->sources, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, t->expires);
	sqlite3_bind_int(s, 7, t->manage);
	return store__exec_changed(st, s);
}

int store_token_used(struct store *st, const char *id, int64_t now, const char *source)
{
	/* A row that already says so is left alone: under load most uses of a key come in
	 * the same second from the same source, and rewriting an unchanged row costs as
	 * much as a change. */
	sqlite3_stmt *s = store__sql(st, "UPDATE tokens SET last_used = ?2, last_source = ?3"
	                                 " WHERE id = ?1 AND (last_used IS NOT ?2"
	                                 " OR last_source IS NOT ?3)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, source != NULL ? source : "", -1, SQLITE_STATIC);
	return store__exec(st, s);
}

int store_token_del(struct store *st, const char *id)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM tokens WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return store__exec_changed(st, s);
}

int store_token_del_host(struct store *st, const char *fqdn)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM tokens WHERE kind = 2 AND names = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, fqdn, -1, SQLITE_STATIC);
	return store__exec(st, s);
}

int store_token_expire(struct store *st, int64_t now)
{
	sqlite3_stmt *s =
	    store__sql(st, "DELETE FROM tokens WHERE kind = 1 AND expires != 0 AND expires < ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, now);
	return store__exec(st, s);
}

struct token_list {
	store_token_cb *cb;
	void *ctx;
};

static int token_row(sqlite3_stmt *s, void *ctx)
{
	struct token_list *l = ctx;
	struct store_token t;
	read_token(s, &t);
	return l->cb(&t, l->ctx);
}

int store_token_list(struct store *st, int64_t user_id, int kind, store_token_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT " TOKEN_COLS " FROM tokens WHERE user_id = ?1"
	                                 " AND (?2 < 0 OR kind = ?2) ORDER BY created, id");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int(s, 2, kind);
	struct token_list l = {cb, ctx};
	return store__each_row(st, s, token_row, &l);
}

/* ---- sign-up ---- */

void store_net_key(const struct np_addr *a, uint8_t key[STORE_CHECK_NET_LEN])
{
	memset(key, 0, STORE_CHECK_NET_LEN);
	key[0] = a->family == AF_INET ? 4 : 6;
	memcpy(key + 1, a->bytes, a->family == AF_INET ? 4 : 8);
}

int store_user_create(struct store *st, const struct store_user *u, const uint8_t *net,
                      int64_t *id)
{
	if (u->name[0] == '\0')
		return NP_EINVAL;
	sqlite3_stmt *s = store__sql(st, "INSERT INTO users(name, email, password_hash, role, state,"
	                                 " email_confirmed, created, signup_net)"
	                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, u->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, u->password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, u->role);
	sqlite3_bind_int(s, 5, u->state);
	sqlite3_bind_int(s, 6, u->email_confirmed);
	sqlite3_bind_int64(s, 7, u->created != 0 ? u->created : time_now());
	sqlite3_bind_blob(s, 8, net != NULL ? (const void *)net : "", net != NULL ? STORE_CHECK_NET_LEN : 0,
	                  SQLITE_STATIC);
	return store__exec_insert(st, s, id);
}

int store_user_signups(struct store *st, const uint8_t *net, size_t prefix_len, int64_t since,
                       unsigned *by_net, unsigned *all)
{
	*by_net = *all = 0;
	if (prefix_len > STORE_CHECK_NET_LEN)
		return NP_EINVAL;
	/* The accounts of the window are few (the limits see to it): one pass over them. */
	sqlite3_stmt *s = store__sql(st, "SELECT count(*), coalesce(sum(substr(signup_net, 1, ?2) = ?1), 0)"
	                                 " FROM users WHERE created >= ?3");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, net, (int)prefix_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)prefix_len);
	sqlite3_bind_int64(s, 3, since);
	int ret = store__step_one(st, s);
	if (ret == NP_OK) {
		*all = (unsigned)sqlite3_column_int64(s, 0);
		*by_net = (unsigned)sqlite3_column_int64(s, 1);
	}
	store__done(s);
	return ret;
}

int store_code_add(struct store *st, enum store_code_kind kind, const uint8_t hash[SECRET_HASH_LEN],
                   int64_t user_id, int64_t now, int64_t expires)
{
	sqlite3_stmt *s = store__sql(st, "INSERT INTO account_codes(hash, kind, user_id, created,"
	                                 " expires) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, hash, SECRET_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, kind);
	if (user_id != 0)
		sqlite3_bind_int64(s, 3, user_id);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, expires);
	return store__exec(st, s);
}

int store_code_take(struct store *st, enum store_code_kind kind,
                    const uint8_t hash[SECRET_HASH_LEN], int64_t now, int64_t *user_id)
{
	*user_id = 0;
	sqlite3_stmt *s = store__sql(st, "SELECT coalesce(user_id, 0), expires FROM account_codes"
	                                 " WHERE hash = ?1 AND kind = ?2");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, hash, SECRET_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, kind);
	int ret = store__step_one(st, s);
	int64_t expires = 0;
	if (ret == NP_OK) {
		*user_id = sqlite3_column_int64(s, 0);
		expires = sqlite3_column_int64(s, 1);
	}
	store__done(s);
	if (ret != NP_OK)
		return ret;
	s = store__sql(st, "DELETE FROM account_codes WHERE hash = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, hash, SECRET_HASH_LEN, SQLITE_STATIC);
	ret = store__exec(st, s);
	if (ret == NP_OK && expires < now) {
		*user_id = 0;
		ret = NP_ENOTFOUND;
	}
	return ret;
}

int store_code_expire(struct store *st, int64_t now)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM account_codes WHERE expires < ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, now);
	return store__exec(st, s);
}

int store_user_expire_unconfirmed(struct store *st, int64_t before)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM users WHERE state = 3 AND created < ?1 AND"
	                                 " NOT EXISTS (SELECT 1 FROM hosts WHERE user_id = users.id)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, before);
	return store__exec(st, s);
}

/* ---- TSIG keys ---- */

#define TSIG_COLS "k.keyname, k.alg, k.sealed"

/* A key's row: the token's columns, then TSIG_COLS. */
static int read_tsig(sqlite3_stmt *s, struct store_tsig *out)
{
	memset(out, 0, sizeof(*out));
	int len = sqlite3_column_bytes(s, 15);
	if (!token_fits(s, &out->token) || sqlite3_column_bytes(s, 13) >= (int)sizeof(out->keyname) ||
	    len <= 0 || len > (int)sizeof(out->sealed)) {
		log_err("store: a TSIG key's row is longer than it can be; refused");
		return NP_ETOOBIG;
	}
	read_token(s, &out->token);
	col_text(s, 13, out->keyname, sizeof(out->keyname));
	out->alg = sqlite3_column_int(s, 14);
	memcpy(out->sealed, sqlite3_column_blob(s, 15), (size_t)len);
	out->sealed_len = (size_t)len;
	return NP_OK;
}

int store_tsig_add(struct store *st, const struct store_tsig *k)
{
	if (k->keyname[0] == '\0' || k->sealed_len == 0 || k->sealed_len > sizeof(k->sealed) ||
	    k->token.kind != STORE_TOKEN_TSIG)
		return NP_EINVAL;
	int ret = store_token_add(st, &k->token);
	if (ret != NP_OK)
		return ret;
	sqlite3_stmt *s = store__sql(st, "INSERT INTO tsig_keys(token_id, keyname, alg, sealed)"
	                                 " VALUES (?1, ?2, ?3, ?4)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, k->token.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, k->keyname, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, k->alg);
	sqlite3_bind_blob(s, 4, k->sealed, (int)k->sealed_len, SQLITE_STATIC);
	return store__exec(st, s);
}

int store_tsig_get(struct store *st, const char *keyname, struct store_tsig *out)
{
	sqlite3_stmt *s = store__sql(st, "SELECT " TOKEN_COLS ", " TSIG_COLS
	                                 " FROM tsig_keys k JOIN tokens ON tokens.id = k.token_id"
	                                 " WHERE k.keyname = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, keyname, -1, SQLITE_STATIC);
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		ret = read_tsig(s, out);
	store__done(s);
	return ret;
}

struct tsig_list {
	store_tsig_cb *cb;
	void *ctx;
	struct store_tsig k;
};

static int tsig_row(sqlite3_stmt *s, void *ctx)
{
	struct tsig_list *l = ctx;
	if (read_tsig(s, &l->k) != NP_OK)
		return 0; /* logged; the others are listed */
	int ret = l->cb(&l->k, l->ctx);
	explicit_bzero(l->k.sealed, sizeof(l->k.sealed));
	return ret;
}

int store_tsig_list(struct store *st, int64_t user_id, store_tsig_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT " TOKEN_COLS ", " TSIG_COLS
	                                 " FROM tsig_keys k JOIN tokens ON tokens.id = k.token_id"
	                                 " WHERE ?1 = 0 OR tokens.user_id = ?1 ORDER BY k.keyname");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, user_id);
	static struct tsig_list l; /* the rows are big; one lister at a time per process */
	l = (struct tsig_list){.cb = cb, .ctx = ctx};
	return store__each_row(st, s, tsig_row, &l);
}

int store_tsig_del(struct store *st, const char *keyname)
{
	/* The key's row goes with its token (ON DELETE CASCADE). */
	sqlite3_stmt *s = store__sql(st, "DELETE FROM tokens WHERE id ="
	                                 " (SELECT token_id FROM tsig_keys WHERE keyname = ?1)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, keyname, -1, SQLITE_STATIC);
	return store__exec_changed(st, s);
}
