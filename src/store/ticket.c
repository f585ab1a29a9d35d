/* SPDX-License-Identifier: MIT */
/* Abuse reports (store/ticket.h). */
#include "store/ticket.h"

#include <stdio.h>
#include <string.h>

#include "common/str.h"
#include "store/store_int.h"

const char *const store_ticket_categories[] = {"phishing", "malware", "c2",    "spam",
                                               "fraud",    "scan",    "other", NULL};

bool store_ticket_category_ok(const char *c)
{
	for (size_t i = 0; store_ticket_categories[i] != NULL; i++)
		if (strcmp(c, store_ticket_categories[i]) == 0)
			return true;
	return false;
}

int store_ticket_add(struct store *st, const struct store_ticket *t, int64_t *id)
{
	sqlite3_stmt *s = store__sql(st, "INSERT INTO abuse_tickets(time, fqdn, category, evidence,"
	                                 " contact, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, t->time);
	store__bind_text(s, 2, t->fqdn);
	store__bind_text(s, 3, t->category);
	store__bind_text(s, 4, t->evidence);
	store__bind_text(s, 5, t->contact);
	store__bind_text(s, 6, t->source);
	return store__exec_insert(st, s, id);
}

#define TICKET_COLS                                                                                \
	"SELECT id, time, fqdn, category, evidence, contact, source, status, decided, decision"   \
	" FROM abuse_tickets"

static void text_col(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	np_strlcpy(out, t != NULL ? t : "", cap);
}

static void read_ticket(sqlite3_stmt *s, struct store_ticket *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(s, 0);
	t->time = sqlite3_column_int64(s, 1);
	text_col(s, 2, t->fqdn, sizeof(t->fqdn));
	text_col(s, 3, t->category, sizeof(t->category));
	text_col(s, 4, t->evidence, sizeof(t->evidence));
	text_col(s, 5, t->contact, sizeof(t->contact));
	text_col(s, 6, t->source, sizeof(t->source));
	text_col(s, 7, t->status, sizeof(t->status));
	t->decided = sqlite3_column_int64(s, 8);
	text_col(s, 9, t->decision, sizeof(t->decision));
}

int store_ticket_get(struct store *st, int64_t id, struct store_ticket *out)
{
	sqlite3_stmt *s = store__sql(st, TICKET_COLS " WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		read_ticket(s, out);
	store__done(s);
	return ret;
}

struct ticket_walk {
	store_ticket_cb *cb;
	void *ctx;
	struct store_ticket t;
};

static int ticket_row(sqlite3_stmt *s, void *ctx)
{
	struct ticket_walk *w = ctx;
	read_ticket(s, &w->t);
	return w->cb(&w->t, w->ctx);
}

int store_ticket_list(struct store *st, store_ticket_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(st, TICKET_COLS " ORDER BY status != 'open', id DESC");
	if (s == NULL)
		return NP_ESTORE;
	struct ticket_walk w = {.cb = cb, .ctx = ctx};
	return store__each_row(st, s, ticket_row, &w);
}

int store_ticket_decide(struct store *st, int64_t id, const char *status, const char *reason,
                        int64_t now)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE abuse_tickets SET status = ?2, decided = ?3,"
	                                 " decision = ?4 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	store__bind_text(s, 2, status);
	sqlite3_bind_int64(s, 3, now);
	store__bind_text(s, 4, reason);
	return store__exec_changed(st, s);
}

int store_ticket_log(struct store *st, int64_t host_id, int64_t id)
{
	sqlite3_stmt *s = store__sql(st, "UPDATE abuse_log SET ticket = ?2 WHERE id ="
	                                 " (SELECT MAX(id) FROM abuse_log WHERE host_id = ?1)");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_int64(s, 2, id);
	return store__exec(st, s);
}

struct revoked_walk {
	store_revoked_cb *cb;
	void *ctx;
};

static int revoked_row(sqlite3_stmt *s, void *ctx)
{
	struct revoked_walk *w = ctx;
	return w->cb((const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
	             (const char *)sqlite3_column_text(s, 2), w->ctx);
}

int store_revoked_list(struct store *st, size_t limit, store_revoked_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__sql(
	    st, "SELECT h.fqdn, COALESCE((SELECT MAX(l.time) FROM abuse_log l"
	        "  WHERE l.host_id = h.id AND l.new_state = 3), h.updated), 'quarantined'"
	        " FROM hosts h WHERE h.abuse_state = 3"
	        " UNION ALL SELECT h.fqdn, u.state_since, 'suspended' FROM hosts h"
	        " JOIN users u ON u.id = h.user_id WHERE u.state = 2 AND h.abuse_state != 3"
	        " ORDER BY 1 LIMIT ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)limit);
	struct revoked_walk w = {cb, ctx};
	return store__each_row(st, s, revoked_row, &w);
}

/* The outcome mail to the reporter, in the outbox of the same transaction: it goes out
 * when the decision is kept, and only then. */
static int tell_reporter(struct store *st, const struct store_ticket *t, const char *status,
                         const char *reason, int64_t now)
{
	if (t->contact[0] == '\0')
		return NP_OK;
	static const struct {
		const char *status, *words;
	} outcome[] = {
	    {"hold",
	     "its address can no longer be changed (held) while the operator looks further"},
	    {"quarantined", "it was taken out of DNS (quarantined)"},
	    {"restored", "it was found in order and stays in service"},
	    {"dismissed", "no action was taken"},
	};
	const char *words = "it was decided";
	for (size_t i = 0; i < sizeof(outcome) / sizeof(outcome[0]); i++)
		if (strcmp(outcome[i].status, status) == 0)
			words = outcome[i].words;
	char subject[CFG_NAME_MAX + 64], body[STORE_ABUSE_REASONS_MAX + CFG_NAME_MAX + 512];
	snprintf(subject, sizeof(subject), "Your abuse report %lld about %s", (long long)t->id,
	         t->fqdn);
	snprintf(body, sizeof(body),
	         "Thank you for your report %lld about %s (%s).\n\n"
	         "The operator decided: %s.\nReason: %s\n",
	         (long long)t->id, t->fqdn, t->category, words, reason);
	return store_mail_add(st, t->contact, subject, body, now, NULL);
}

const char *store_ticket_status_of(int state)
{
	static const char *const status_of[] = {"restored", "watch", "hold", "quarantined"};
	return state < 0 ? "dismissed" : state <= STORE_ABUSE_QUARANTINED ? status_of[state] : "?";
}

int store_ticket_resolve(struct store *st, int64_t id, int state, const char *actor,
                         const char *reason, int64_t now,
                         int (*touch)(void *ctx, const struct store_host *h), void *touch_ctx,
                         struct store_ticket *t, bool *changed)
{
	*changed = false;
	if (state > STORE_ABUSE_QUARANTINED)
		return NP_EINVAL;
	const char *status = store_ticket_status_of(state);
	int ret = store_ticket_get(st, id, t);
	struct store_host h;
	if (ret == NP_OK && state >= 0) {
		char why[STORE_ABUSE_REASONS_MAX];
		snprintf(why, sizeof(why), "ticket %lld: %s", (long long)id, reason);
		ret = store_host_get(st, t->fqdn, &h);
		if (ret == NP_OK)
			ret = store_abuse_set_state(st, h.id, (enum store_abuse_state)state, actor,
			                            why, now, changed);
		if (ret == NP_OK && *changed)
			ret = store_ticket_log(st, h.id, id);
		if (ret == NP_OK && *changed && touch != NULL)
			ret = touch(touch_ctx, &h);
	}
	if (ret == NP_OK)
		ret = store_ticket_decide(st, id, status, reason, now);
	if (ret == NP_OK)
		ret = tell_reporter(st, t, status, reason, now);
	if (ret == NP_OK) {
		np_strlcpy(t->status, status, sizeof(t->status));
		np_strlcpy(t->decision, reason, sizeof(t->decision));
		t->decided = now;
	}
	return ret;
}
