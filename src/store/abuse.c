/* SPDX-License-Identifier: MIT */
/* Abuse states, flux scores and the abuse log (store/abuse.h). */
#include "store/abuse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macros.h"
#include "common/str.h"
#include "store/store_int.h"

static const char *const state_names[] = {"ok", "watch", "hold", "quarantined", "suspended"};

bool store_abuse_withdrawn(const struct store_host *h)
{
	return h->abuse_state == STORE_ABUSE_QUARANTINED || h->suspended;
}

const char *store_abuse_state_name(int state)
{
	return state >= 0 && (size_t)state < ARRAY_SIZE(state_names) ? state_names[state] : "?";
}

bool store_abuse_state_parse(const char *text, enum store_abuse_state *out)
{
	for (size_t i = 0; i <= STORE_ABUSE_QUARANTINED; i++)
		if (strcasecmp(text, state_names[i]) == 0) {
			*out = (enum store_abuse_state)i;
			return true;
		}
	return false;
}

#define ABUSE_COLS                                                                                 \
	"SELECT h.id, h.fqdn, COALESCE(u.name, ''), h.abuse_state, COALESCE(a.score, 0),"          \
	" COALESCE(a.reasons, ''), COALESCE(a.features, '{}'), COALESCE(a.scored, 0),"             \
	" COALESCE(a.since, 0), COALESCE(u.state, 0) = 2 FROM hosts h"                             \
	" LEFT JOIN users u ON u.id = h.user_id"                                                   \
	" LEFT JOIN abuse_hosts a ON a.host_id = h.id"

static void read_abuse(sqlite3_stmt *s, struct store_abuse *out)
{
	memset(out, 0, sizeof(*out));
	out->host_id = sqlite3_column_int64(s, 0);
	const char *t = (const char *)sqlite3_column_text(s, 1);
	np_strlcpy(out->fqdn, t != NULL ? t : "", sizeof(out->fqdn));
	t = (const char *)sqlite3_column_text(s, 2);
	np_strlcpy(out->user, t != NULL ? t : "", sizeof(out->user));
	out->state = sqlite3_column_int(s, 3);
	out->score = sqlite3_column_double(s, 4);
	t = (const char *)sqlite3_column_text(s, 5);
	np_strlcpy(out->reasons, t != NULL ? t : "", sizeof(out->reasons));
	t = (const char *)sqlite3_column_text(s, 6);
	np_strlcpy(out->features, t != NULL ? t : "{}", sizeof(out->features));
	out->scored = sqlite3_column_int64(s, 7);
	out->since = sqlite3_column_int64(s, 8);
	out->suspended = sqlite3_column_int(s, 9) != 0;
}

int store_abuse_get(struct store *st, int64_t host_id, struct store_abuse *out)
{
	sqlite3_stmt *s = store__sql(st, ABUSE_COLS " WHERE h.id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		read_abuse(s, out);
	store__done(s);
	return ret;
}

/* The host's abuse_hosts row, made when missing. */
static int ensure_row(struct store *st, int64_t host_id)
{
	sqlite3_stmt *s = store__sql(st, "INSERT OR IGNORE INTO abuse_hosts(host_id) VALUES (?1)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	return store__exec(st, s);
}

int store_abuse_set_state(struct store *st, int64_t host_id, enum store_abuse_state state,
                          const char *actor, const char *reason, int64_t now, bool *changed)
{
	if (changed != NULL)
		*changed = false;
	if ((int)state < STORE_ABUSE_OK || state > STORE_ABUSE_QUARANTINED)
		return NP_EINVAL;
	struct store_abuse cur;
	int ret = store_abuse_get(st, host_id, &cur);
	if (ret != NP_OK)
		return ret;
	if (cur.state == (int)state)
		return NP_OK;
	sqlite3_stmt *s = store__sql(st, "UPDATE hosts SET abuse_state = ?2, blocked = ?3,"
	                                 " updated = ?4 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_int(s, 2, (int)state);
	sqlite3_bind_int(s, 3, state >= STORE_ABUSE_HOLD);
	sqlite3_bind_int64(s, 4, now);
	ret = store__exec_changed(st, s);
	if (ret == NP_OK)
		ret = ensure_row(st, host_id);
	if (ret == NP_OK) {
		/* A restore starts the scored history afresh: the flux that was judged is not
		 * judged again on the next update. */
		s = store__sql(st, state == STORE_ABUSE_OK
		                       ? "UPDATE abuse_hosts SET since = ?2, reasons = ?3, score = 0"
		                         " WHERE host_id = ?1"
		                       : "UPDATE abuse_hosts SET reasons = ?3 WHERE host_id = ?1");
		if (s == NULL)
			return NP_ESTORE;
		sqlite3_bind_int64(s, 1, host_id);
		/* From the next second: what the same second held was judged already. */
		sqlite3_bind_int64(s, 2, now + 1);
		store__bind_text(s, 3, state == STORE_ABUSE_OK ? "" : reason);
		ret = store__exec(st, s);
	}
	if (ret != NP_OK)
		return ret;
	s = store__sql(st, "INSERT INTO abuse_log(time, host_id, fqdn, actor, old_state,"
	                   " new_state, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, host_id);
	store__bind_text(s, 3, cur.fqdn);
	store__bind_text(s, 4, actor);
	sqlite3_bind_int(s, 5, cur.state);
	sqlite3_bind_int(s, 6, (int)state);
	store__bind_text(s, 7, reason != NULL ? reason : "");
	ret = store__exec_insert(st, s, NULL);
	if (ret == NP_OK && changed != NULL)
		*changed = true;
	return ret;
}

static int log_row_add(struct store *st, int64_t now, const struct store_host *h, const char *actor,
                       int old_state, int new_state, const char *reason)
{
	sqlite3_stmt *s =
	    store__sql(st, "INSERT INTO abuse_log(time, host_id, fqdn, actor, old_state,"
	                   " new_state, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, h->id);
	store__bind_text(s, 3, h->fqdn);
	store__bind_text(s, 4, actor);
	sqlite3_bind_int(s, 5, old_state);
	sqlite3_bind_int(s, 6, new_state);
	store__bind_text(s, 7, reason != NULL ? reason : "");
	return store__exec_insert(st, s, NULL);
}

struct account_walk {
	struct store_host *hosts;
	size_t n, cap;
};

static int collect_host(const struct store_host *h, void *ctx)
{
	struct account_walk *w = ctx;
	if (w->n == w->cap) {
		size_t cap = w->cap != 0 ? w->cap * 2 : 16;
		struct store_host *grown = realloc(w->hosts, cap * sizeof(*grown));
		if (grown == NULL)
			return NP_ENOMEM;
		w->hosts = grown;
		w->cap = cap;
	}
	w->hosts[w->n++] = *h;
	return NP_OK;
}

int store_abuse_account_state(struct store *st, int64_t user_id, int state, const char *actor,
                              const char *reason, int64_t now,
                              int (*touch)(void *ctx, const struct store_host *h), void *touch_ctx,
                              bool *changed)
{
	if (changed != NULL)
		*changed = false;
	struct store_user *u = malloc(sizeof(*u));
	if (u == NULL)
		return NP_ENOMEM;
	int ret = store_user_get_id(st, user_id, u);
	int old = ret == NP_OK ? (int)u->state : 0;
	explicit_bzero(u, sizeof(*u));
	free(u);
	if (ret != NP_OK || old == state)
		return ret;
	ret = store_user_set_state(st, user_id, (enum store_user_state)state);
	bool entering = state == STORE_USER_SUSPENDED, leaving = old == STORE_USER_SUSPENDED;
	struct account_walk w = {0};
	/* The hosts are read first: the callbacks may use the store again. */
	if (ret == NP_OK && (entering || leaving))
		ret = store_host_list_user(st, user_id, collect_host, &w);
	for (size_t i = 0; ret == NP_OK && i < w.n; i++) {
		int own = w.hosts[i].abuse_state;
		ret =
		    log_row_add(st, now, &w.hosts[i], actor, entering ? own : STORE_ABUSE_SUSPENDED,
		                entering ? STORE_ABUSE_SUSPENDED : own, reason);
		if (ret == NP_OK && touch != NULL)
			ret = touch(touch_ctx, &w.hosts[i]);
	}
	free(w.hosts);
	if (ret == NP_OK && changed != NULL)
		*changed = true;
	return ret;
}

int store_abuse_set_score(struct store *st, int64_t host_id, double score, const char *reasons,
                          const char *features, int64_t now)
{
	int ret = ensure_row(st, host_id);
	if (ret != NP_OK)
		return ret;
	sqlite3_stmt *s = store__sql(st, "UPDATE abuse_hosts SET score = ?2, features = ?3,"
	                                 " scored = ?4, reasons = CASE WHEN ?5 = '' THEN reasons"
	                                 " ELSE ?5 END WHERE host_id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_double(s, 2, score);
	store__bind_text(s, 3, features);
	sqlite3_bind_int64(s, 4, now);
	store__bind_text(s, 5, reasons != NULL ? reasons : "");
	return store__exec(st, s);
}

struct abuse_walk {
	store_abuse_cb *cb;
	void *ctx;
	struct store_abuse a;
};

static int abuse_row(sqlite3_stmt *s, void *ctx)
{
	struct abuse_walk *w = ctx;
	read_abuse(s, &w->a);
	return w->cb(&w->a, w->ctx);
}

int store_abuse_list(struct store *st, store_abuse_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, ABUSE_COLS " WHERE h.abuse_state != 0"
	                                            " OR u.state = 2 ORDER BY h.fqdn");
	if (s == NULL)
		return NP_ESTORE;
	struct abuse_walk w = {cb, ctx, {0}};
	return store__each_row(st, s, abuse_row, &w);
}

struct log_walk {
	store_abuse_log_cb *cb;
	void *ctx;
};

static int log_row(sqlite3_stmt *s, void *ctx)
{
	struct log_walk *w = ctx;
	struct store_abuse_log l = {
	    .time = sqlite3_column_int64(s, 0),
	    .fqdn = (const char *)sqlite3_column_text(s, 1),
	    .actor = (const char *)sqlite3_column_text(s, 2),
	    .old_state = sqlite3_column_int(s, 3),
	    .new_state = sqlite3_column_int(s, 4),
	    .reason = (const char *)sqlite3_column_text(s, 5),
	    .ticket = sqlite3_column_int64(s, 6),
	};
	return w->cb(&l, w->ctx);
}

int store_abuse_log_list(struct store *st, const char *fqdn, store_abuse_log_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT time, fqdn, actor, old_state, new_state, reason,"
	                                 " COALESCE(ticket, 0) FROM abuse_log WHERE ?1 IS NULL OR fqdn = ?1"
	                                 " ORDER BY id DESC");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, fqdn);
	struct log_walk w = {cb, ctx};
	return store__each_row(st, s, log_row, &w);
}

struct addr_walk {
	store_addr_host_cb *cb;
	void *ctx;
};

static int addr_row(sqlite3_stmt *s, void *ctx)
{
	struct addr_walk *w = ctx;
	return w->cb(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), w->ctx);
}

int store_abuse_addr_index(struct store *st, bool on)
{
	return store__exec(st, store__sql(st, on ? "CREATE INDEX IF NOT EXISTS records_rdata"
	                                           " ON records(rdata)"
	                                         : "DROP INDEX IF EXISTS records_rdata"));
}

int store_abuse_addr_hosts(struct store *st, uint16_t type, const uint8_t *rdata, size_t len,
                           size_t limit, store_addr_host_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, "SELECT h.id, COALESCE(h.user_id, 0) FROM records r"
	                                 " JOIN hosts h ON h.id = r.host_id"
	                                 " WHERE r.rdata = ?1 AND r.type = ?2 LIMIT ?3");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_blob(s, 1, rdata, (int)len, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, type);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
	struct addr_walk w = {cb, ctx};
	return store__each_row(st, s, addr_row, &w);
}

int store_abuse_owner_clears(struct store *st, int64_t host_id, unsigned *n)
{
	sqlite3_stmt *s = store__sql(st, "SELECT COUNT(*) FROM abuse_log WHERE host_id = ?1"
	                                 " AND actor = 'owner' AND old_state = 2 AND new_state = 0");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		*n = (unsigned)sqlite3_column_int(s, 0);
	store__done(s);
	return ret;
}
