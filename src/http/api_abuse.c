/* SPDX-License-Identifier: MIT */
/* REST API: abuse reports. POST /abuse is public: anyone may report one of our names
 * (a category from a fixed list, bounded evidence, an optional contact mail told the
 * outcome), budgeted per source address; the writer keeps it as a ticket for the operator
 * (nameplatectl abuse tickets). docs/abuse.md, "Reports". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abuse/abuse.h"
#include "common/clock.h"
#include "common/str.h"
#include "http/api.h"
#include "http/dyndns2.h"
#include "http/http_int.h"
#include "store/ticket.h"

static int report_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	struct store_ticket *t = r->ctx;
	struct store_host h;
	int ret = store_host_get(st, t->fqdn, &h);
	if (ret == NP_ENOTFOUND)
		return api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_name",
		                 "%s is not a name of this server", t->fqdn);
	if (ret == NP_OK)
		ret = store_ticket_add(st, t, &t->id);
	if (ret != NP_OK)
		return ret;
	return api_ok(r, MHD_HTTP_CREATED,
	              json_pack("{s:I,s:s,s:s}", "ticket", (json_int_t)t->id, "fqdn", t->fqdn,
	                        "status", "open"));
}

/* Whether text is at most STORE_TICKET_EVIDENCE_MAX bytes with no control characters but
 * line breaks and tabs (evidence is often several lines: URLs, headers). */
bool api_evidence_ok(const char *text, size_t len)
{
	if (len > STORE_TICKET_EVIDENCE_MAX || strlen(text) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)
			return false;
	}
	return true;
}

static bool evidence_text(struct api_req *r, const char **out)
{
	*out = NULL;
	json_t *v = r->body != NULL ? json_object_get(r->body, "evidence") : NULL;
	if (v == NULL)
		return true;
	if (!json_is_string(v) || !api_evidence_ok(json_string_value(v), json_string_length(v))) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		          "\"evidence\" must be text of at most %d bytes", STORE_TICKET_EVIDENCE_MAX);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

enum MHD_Result api_abuse_report(struct api_req *r)
{
	static const char *const keys[] = {"hostname", "category", "evidence", "contact", NULL};
	struct store_ticket *t = api_ctx_new(r, sizeof(*t), free);
	if (t == NULL)
		return api_answer(r);
	const char *name, *category, *evidence, *contact;
	if (!api_only_keys(r, keys) || !api_string(r, "hostname", CFG_NAME_MAX, &name) ||
	    !api_string(r, "category", STORE_TICKET_CATEGORY_MAX, &category) ||
	    !api_string(r, "contact", STORE_MAIL_RCPT_MAX - 1, &contact) ||
	    !evidence_text(r, &evidence))
		return api_answer(r);
	char why[160];
	if (!api_report_fields(name, category, evidence, contact, t, why, sizeof(why))) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_report", "%s", why);
		return api_answer(r);
	}
	unsigned wait = abuse_report_take(http_abuse(r->hs), &r->client, time_now());
	if (wait != 0) {
		r->retry_after = wait;
		api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
		          "too many reports from this address; try again in %u s", wait);
		return api_answer(r);
	}
	t->time = time_now();
	addr_format(&r->client, t->source, sizeof(t->source));
	return api_write(r, report_apply);
}

bool api_report_fields(const char *name, const char *category, const char *evidence,
                       const char *contact, struct store_ticket *t, char *why, size_t len)
{
	if (name == NULL || !dyndns2_fqdn_normalize(name, strlen(name), t->fqdn)) {
		snprintf(why, len, "\"hostname\" must be a host name of this server");
		return false;
	}
	if (category == NULL || !store_ticket_category_ok(category)) {
		size_t o = (size_t)snprintf(why, len, "\"category\" must be one of");
		for (size_t i = 0; store_ticket_categories[i] != NULL && o < len; i++)
			o += (size_t)snprintf(why + o, len - o, " %s", store_ticket_categories[i]);
		return false;
	}
	np_strlcpy(t->category, category, sizeof(t->category));
	if (evidence == NULL || evidence[0] == '\0') {
		snprintf(why, len, "\"evidence\" is needed: what the name did, where you saw it "
		                   "(at most %d bytes)", STORE_TICKET_EVIDENCE_MAX);
		return false;
	}
	np_strlcpy(t->evidence, evidence, sizeof(t->evidence));
	if (contact != NULL && contact[0] != '\0') {
		if (!config_mail_check(contact)) {
			snprintf(why, len, "\"contact\" must be a mail address (or left out)");
			return false;
		}
		np_strlcpy(t->contact, contact, sizeof(t->contact));
	}
	return true;
}

/* ---- GET /hosts/{fqdn}/abuse: what the owner sees ---- */

struct owner_view {
	char fqdn[CFG_NAME_MAX];
	struct store_host h;
	struct store_abuse a;
	json_t *log;
};

static void owner_view_free(void *p)
{
	struct owner_view *v = p;
	if (v != NULL)
		json_decref(v->log);
	free(v);
}

/* The operator's own login name stays private: the owner reads "operator". */
static int owner_log_row(const struct store_abuse_log *l, void *ctx)
{
	struct owner_view *v = ctx;
	const char *by = strncmp(l->actor, "ctl:", 4) == 0 || strncmp(l->actor, "admin:", 6) == 0
	                     ? "operator"
	                     : l->actor;
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s}", "time", (json_int_t)l->time, "by", by,
	                      "from", store_abuse_state_name(l->old_state), "to",
	                      store_abuse_state_name(l->new_state), "reason", l->reason);
	if (o != NULL && l->ticket != 0)
		json_object_set_new(o, "ticket", json_integer(l->ticket));
	return o == NULL || json_array_append_new(v->log, o) != 0 ? NP_ENOMEM : 0;
}

static int owner_view_get(struct api_req *r, struct store *st)
{
	struct owner_view *v = r->ctx;
	int ret = api_load_host(r, st, v->fqdn, 0, &v->h);
	if (ret != NP_OK)
		return ret == NP_EDENIED ? NP_OK : ret;
	ret = store_abuse_get(st, v->h.id, &v->a);
	json_decref(v->log);
	v->log = json_array();
	if (v->log == NULL)
		return NP_ENOMEM;
	if (ret == NP_OK)
		ret = store_abuse_log_list(st, v->fqdn, owner_log_row, v);
	if (ret != NP_OK)
		return ret;
	/* Whether the owner may clear a hold now: once per name (clear_apply). */
	unsigned clears = 0;
	if (v->a.state == STORE_ABUSE_HOLD)
		ret = store_abuse_owner_clears(st, v->h.id, &clears);
	if (ret != NP_OK)
		return ret;
	/* A name that is ok has its score worked out now: a home line's are not stored, and
	 * its owner still reads the score and what it is made of. A state above ok keeps the
	 * score that decided it. */
	if (v->a.state == STORE_ABUSE_OK && !v->a.suspended) {
		char json[STORE_ABUSE_FEATURES_MAX];
		double score;
		ret = abuse_explain(http_abuse(r->hs), st, &v->h, time_now(), &score, json,
		                    sizeof(json));
		if (ret == NP_OK) {
			v->a.score = score;
			snprintf(v->a.features, sizeof(v->a.features), "%s", json);
		} else if (ret != NP_ENOTFOUND) {
			return ret;
		}
	}
	json_t *features = json_loads(v->a.features, 0, NULL);
	return api_ok(r, MHD_HTTP_OK,
	              json_pack("{s:s,s:s,s:s,s:f,s:o,s:O,s:b,s:b}", "fqdn", v->fqdn, "state",
	                        store_abuse_state_name(v->a.state), "reasons", v->a.reasons,
	                        "score", v->a.score, "features",
	                        features != NULL ? features : json_object(), "log", v->log,
	                        "suspended", v->a.suspended, "may_clear",
	                        v->a.state == STORE_ABUSE_HOLD && clears == 0));
}

enum MHD_Result api_host_abuse(struct api_req *r)
{
	struct owner_view *v = api_ctx_new(r, sizeof(*v), owner_view_free);
	if (v == NULL)
		return api_answer(r);
	if (!api_seg_fqdn(r, 1, v->fqdn))
		return api_answer(r);
	return api_read(r, owner_view_get);
}

/* ---- GET /abuse/revoked: the suffix's reputation ---- */

/* Names listed at most: the list is public, and a reader must not make one answer of any
 * size (the count says when more were left out). */
#define REVOKED_MAX 100000

void api_iso8601(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		np_strlcpy(out, "unknown", 32);
}

static int revoked_row(const char *fqdn, int64_t since, const char *why, void *ctx)
{
	char iso[32];
	api_iso8601(since, iso);
	json_t *o = json_pack("{s:s,s:s,s:I,s:s}", "name", fqdn, "since", iso, "since_time",
	                      (json_int_t)since, "why", why);
	return o == NULL || json_array_append_new(ctx, o) != 0 ? NP_ENOMEM : 0;
}

static int revoked_get(struct api_req *r, struct store *st)
{
	json_t *list = json_array();
	if (list == NULL)
		return NP_ENOMEM;
	int ret = store_revoked_list(st, REVOKED_MAX + 1, revoked_row, list);
	if (ret != NP_OK) {
		json_decref(list);
		return ret;
	}
	bool more = json_array_size(list) > REVOKED_MAX;
	if (more)
		json_array_remove(list, REVOKED_MAX);
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:o,s:b}", "revoked", list, "truncated", more));
}

enum MHD_Result api_abuse_revoked(struct api_req *r)
{
	return api_read(r, revoked_get);
}

/* ---- POST /hosts/{fqdn}/abuse/clear: the owner clears a hold, once ---- */

/* A hold is the automatic checks' doubt (or the operator's); the owner who confirms the
 * name is used as intended may lift it once. A second hold stays for the operator: a name
 * that is held again after its owner vouched for it is not the false positive the first
 * one may have been. Quarantine is never the owner's to lift. */
static int clear_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct owner_view *v = r->ctx;
	int ret = api_load_host(r, st, v->fqdn, 0, &v->h);
	if (ret != NP_OK)
		return ret == NP_EDENIED ? NP_OK : ret;
	ret = store_abuse_get(st, v->h.id, &v->a);
	if (ret != NP_OK)
		return ret;
	if (v->a.state == STORE_ABUSE_QUARANTINED)
		return api_error(r, MHD_HTTP_FORBIDDEN, "quarantined",
		                 "%s is quarantined; only the operator can restore it", v->fqdn);
	if (v->a.state != STORE_ABUSE_HOLD)
		return api_error(r, MHD_HTTP_CONFLICT, "not_held", "%s is not on hold (it is %s)",
		                 v->fqdn, store_abuse_state_name(v->a.state));
	unsigned clears;
	ret = store_abuse_owner_clears(st, v->h.id, &clears);
	if (ret != NP_OK)
		return ret;
	if (clears > 0)
		return api_error(r, MHD_HTTP_FORBIDDEN, "cleared_before",
		                 "%s was held again after its owner cleared a hold; only the operator "
		                 "can release it now",
		                 v->fqdn);
	bool changed;
	ret = store_abuse_set_state(st, v->h.id, STORE_ABUSE_OK, "owner",
	                            "cleared by its owner, who confirmed the name is used as intended",
	                            time_now(), &changed);
	if (ret == NP_OK && changed)
		ret = writer_txn_touch(txn, v->fqdn);
	if (ret != NP_OK)
		return ret;
	return api_ok(r, MHD_HTTP_OK,
	              json_pack("{s:s,s:s}", "fqdn", v->fqdn, "state", store_abuse_state_name(0)));
}

enum MHD_Result api_host_abuse_clear(struct api_req *r)
{
	static const char *const keys[] = {"confirm", NULL};
	struct owner_view *v = api_ctx_new(r, sizeof(*v), owner_view_free);
	if (v == NULL)
		return api_answer(r);
	if (!api_seg_fqdn(r, 1, v->fqdn) || !api_only_keys(r, keys))
		return api_answer(r);
	if (r->body == NULL || !json_is_true(json_object_get(r->body, "confirm"))) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		          "send {\"confirm\": true} to confirm the name is used as intended");
		return api_answer(r);
	}
	return api_write(r, clear_apply);
}

/* ---- /admin/tickets: the report queue, for administrators ---- */

static json_t *ticket_json(const struct store_ticket *t)
{
	char when[32], decided[32] = "";
	api_iso8601(t->time, when);
	if (t->decided != 0)
		api_iso8601(t->decided, decided);
	return json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "ticket",
	                 (json_int_t)t->id, "time", (json_int_t)t->time, "reported", when, "name",
	                 t->fqdn, "category", t->category, "evidence", t->evidence, "contact",
	                 t->contact, "source", t->source, "status", t->status, "decided",
	                 (json_int_t)t->decided, "decided_at", decided, "decision", t->decision);
}

static int ticket_row(const struct store_ticket *t, void *ctx)
{
	json_t *o = ticket_json(t);
	return o == NULL || json_array_append_new(ctx, o) != 0 ? NP_ENOMEM : 0;
}

static int tickets_get(struct api_req *r, struct store *st)
{
	json_t *list = json_array();
	if (list == NULL)
		return NP_ENOMEM;
	int ret = store_ticket_list(st, ticket_row, list);
	if (ret != NP_OK) {
		json_decref(list);
		return ret;
	}
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:o}", "tickets", list));
}

enum MHD_Result api_admin_tickets(struct api_req *r)
{
	return api_read(r, tickets_get);
}

/* The ticket number in segment 2: digits alone. */
static bool ticket_seg(struct api_req *r, int64_t *id)
{
	const char *s = r->segs[2];
	size_t n = strlen(s);
	if (n == 0 || n > 15 || strspn(s, "0123456789") != n) {
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such ticket");
		return false;
	}
	*id = strtoll(s, NULL, 10);
	return true;
}

/* The log rows of a name as the operator reads them: who by their own name. */
static int admin_log_row(const struct store_abuse_log *l, void *ctx)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s}", "time", (json_int_t)l->time, "by", l->actor,
	                      "from", store_abuse_state_name(l->old_state), "to",
	                      store_abuse_state_name(l->new_state), "reason", l->reason);
	if (o != NULL && l->ticket != 0)
		json_object_set_new(o, "ticket", json_integer(l->ticket));
	return o == NULL || json_array_append_new(ctx, o) != 0 ? NP_ENOMEM : 0;
}

static int ticket_get(struct api_req *r, struct store *st)
{
	int64_t id;
	if (!ticket_seg(r, &id))
		return NP_OK;
	struct store_ticket *t = r->ctx;
	int ret = store_ticket_get(st, id, t);
	if (ret == NP_ENOTFOUND)
		return api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no ticket %lld",
		                 (long long)id);
	if (ret != NP_OK)
		return ret;
	json_t *o = ticket_json(t);
	if (o == NULL)
		return NP_ENOMEM;
	/* The name as it stands now: its state, the reasons and its log (gone: null). */
	struct store_host h;
	ret = store_host_get(st, t->fqdn, &h);
	if (ret == NP_ENOTFOUND) {
		json_object_set_new(o, "host", json_null());
		return api_ok(r, MHD_HTTP_OK, o);
	}
	struct store_abuse *a = malloc(sizeof(*a));
	json_t *log = json_array();
	if (ret == NP_OK && (a == NULL || log == NULL))
		ret = NP_ENOMEM;
	if (ret == NP_OK)
		ret = store_abuse_get(st, h.id, a);
	if (ret == NP_OK)
		ret = store_abuse_log_list(st, t->fqdn, admin_log_row, log);
	if (ret == NP_OK) {
		json_t *host = json_pack("{s:s,s:s,s:s,s:b,s:f,s:O}", "owner", h.user, "state",
		                         store_abuse_state_name(a->state), "reasons", a->reasons,
		                         "suspended", a->suspended, "score", a->score, "log", log);
		if (host == NULL)
			ret = NP_ENOMEM;
		else
			json_object_set_new(o, "host", host);
	}
	free(a);
	json_decref(log);
	if (ret != NP_OK) {
		json_decref(o);
		return ret;
	}
	return api_ok(r, MHD_HTTP_OK, o);
}

enum MHD_Result api_admin_ticket(struct api_req *r)
{
	struct store_ticket *t = api_ctx_new(r, sizeof(*t), free);
	if (t == NULL)
		return api_answer(r);
	return api_read(r, ticket_get);
}

struct decision {
	int64_t id;
	int state; /* enum store_abuse_state, or -1: dismiss */
	char reason[STORE_ABUSE_REASONS_MAX - 32];
	struct store_ticket t;
};

static int touch_host(void *ctx, const struct store_host *h)
{
	return writer_txn_touch(ctx, h->fqdn);
}

static int decide_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct decision *d = r->ctx;
	char actor[STORE_ABUSE_ACTOR_MAX];
	snprintf(actor, sizeof(actor), "admin:%s", r->cred.user);
	bool changed;
	int ret = store_ticket_resolve(st, d->id, d->state, actor, d->reason, time_now(),
	                               touch_host, txn, &d->t, &changed);
	if (ret == NP_ENOTFOUND)
		return api_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		                 "no ticket %lld, or its host is gone", (long long)d->id);
	if (ret != NP_OK)
		return ret;
	return api_ok(r, MHD_HTTP_OK, ticket_json(&d->t));
}

enum MHD_Result api_admin_ticket_decide(struct api_req *r)
{
	static const char *const keys[] = {"reason", NULL};
	static const struct {
		const char *action;
		int state;
	} actions[] = {{"hold", STORE_ABUSE_HOLD},
	               {"quarantine", STORE_ABUSE_QUARANTINED},
	               {"restore", STORE_ABUSE_OK},
	               {"dismiss", -1}};
	struct decision *d = api_ctx_new(r, sizeof(*d), free);
	if (d == NULL)
		return api_answer(r);
	d->state = -2;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(r->segs[3], actions[i].action) == 0)
			d->state = actions[i].state;
	if (d->state == -2) {
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		          "decisions are hold, quarantine, restore and dismiss");
		return api_answer(r);
	}
	const char *reason;
	if (!ticket_seg(r, &d->id) || !api_only_keys(r, keys) ||
	    !api_string(r, "reason", sizeof(d->reason) - 1, &reason))
		return api_answer(r);
	if (reason == NULL || reason[0] == '\0' || str_has_ctl(reason)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		          "\"reason\" is needed (one line, at most %zu bytes): it is logged and "
		          "shown to the owner",
		          sizeof(d->reason) - 1);
		return api_answer(r);
	}
	np_strlcpy(d->reason, reason, sizeof(d->reason));
	return api_write(r, decide_apply);
}
