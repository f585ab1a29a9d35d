/* SPDX-License-Identifier: MIT */
/* REST API: a host's last exposure audit. `nameplate audit` sends its report (the object its
 * --json prints, without "changes") to POST /hosts/{fqdn}/audit with the host's token; the
 * server checks its shape and bounds on the HTTP thread, then the writer keeps it in place
 * of the one before, with what changed between the two (finding keys new and gone).
 * GET /hosts/{fqdn}/audit answers it; the web UI's host page shows it. docs/audit.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "http/api.h"
#include "http/audit_report.h"
#include "store/audit.h"

/* Reports kept per host and hour: a person re-running the audit after each fix is far
 * below it; a script in a loop is not. */
#define AUDIT_REPORTS_PER_HOUR 12
#define AUDIT_WINDOW           3600

/* Per request. */
struct audit_req {
	char fqdn[CFG_NAME_MAX];
	struct store_host h;
	json_t *report;  /* validated (POST) */
	char *text;      /* the report as stored */
	json_t *changes; /* computed on the writer (POST) */
	json_t *out;     /* the stored audit as answered */
};

static void audit_req_free(void *p)
{
	struct audit_req *q = p;
	if (q == NULL)
		return;
	json_decref(q->report);
	json_decref(q->changes);
	json_decref(q->out);
	free(q->text);
	free(q);
}

static struct audit_req *audit_req(struct api_req *r)
{
	if (r->ctx == NULL) {
		r->ctx = calloc(1, sizeof(struct audit_req));
		r->ctx_free = audit_req_free;
	}
	return r->ctx;
}

/* ---- what changed: finding keys new and gone ---- */

static bool has_key(const json_t *findings, const char *key)
{
	size_t i;
	const json_t *f;
	json_array_foreach(findings, i, f)
	{
		const char *k = json_string_value(json_object_get(f, "key"));
		if (k != NULL && strcmp(k, key) == 0)
			return true;
	}
	return false;
}

/* Keys of a's findings not among b's, appended to out. */
static void keys_missing(const json_t *a, const json_t *b, json_t *out)
{
	size_t i;
	const json_t *f;
	json_array_foreach(a, i, f)
	{
		const char *k = json_string_value(json_object_get(f, "key"));
		if (k != NULL && !has_key(b, k))
			json_array_append_new(out, json_string(k));
	}
}

/* The stored audit as the API answers it. */
static json_t *audit_json(const struct store_audit *a, json_t *report, json_t *changes)
{
	return json_pack("{s:I,s:s,s:s,s:O,s:O,s:O}", "time", (json_int_t)a->time, "source",
	                 a->source, "token", a->token_id, "grade", json_object_get(report, "grade"),
	                 "report", report, "changes", changes);
}

/* ---- POST /hosts/{fqdn}/audit ---- */

/* The host's audit before this one. */
struct previous {
	int64_t time, window_start;
	unsigned window_count;
	json_t *report;
};

static int previous_row(const struct store_audit *a, void *ctx)
{
	struct previous *p = ctx;
	p->time = a->time;
	p->window_start = a->window_start;
	p->window_count = a->window_count;
	p->report = json_loads(a->report, 0, NULL);
	return NP_OK;
}

/* The host's previous audit (p->report NULL when none, or unreadable); NP_OK or an error. */
static int previous_get(struct store *st, int64_t host_id, struct previous *p)
{
	int ret = store_audit_get(st, host_id, previous_row, p);
	return ret == NP_ENOTFOUND ? NP_OK : ret;
}

/* 429 when the host's window is full; false with the error set. */
static bool within_limit(struct api_req *r, const struct previous *p, int64_t now)
{
	if (p->window_count < AUDIT_REPORTS_PER_HOUR || now - p->window_start >= AUDIT_WINDOW)
		return true;
	int64_t wait = p->window_start + AUDIT_WINDOW - now;
	r->retry_after = wait < 1 ? 1 : (unsigned)wait;
	api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "throttled",
	          "at most %d audits of one host an hour; try again in %u s",
	          AUDIT_REPORTS_PER_HOUR, r->retry_after);
	return false;
}

/* On the reader, before the writer sees the request: a full window costs it nothing. */
static int audit_precheck(struct api_req *r, struct store *st)
{
	struct audit_req *q = r->ctx;
	/* The policy first: a name that is not the token's answers 404 here as well. */
	int ret = api_load_host(r, st, q->fqdn, 0, &q->h);
	if (ret != NP_OK)
		return ret;
	struct previous p = {0, 0, 0, NULL};
	ret = previous_get(st, q->h.id, &p);
	json_decref(p.report);
	if (ret == NP_OK && p.time != 0 && !within_limit(r, &p, time_now()))
		return NP_EDENIED;
	return ret;
}

static int audit_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	struct audit_req *q = r->ctx;
	int ret = api_load_host(r, st, q->fqdn, 0, &q->h);
	if (ret != NP_OK)
		return ret;
	int64_t now = time_now();
	struct previous p = {0, 0, 0, NULL};
	ret = previous_get(st, q->h.id, &p);
	if (ret != NP_OK)
		return ret;
	if (p.time != 0 && !within_limit(r, &p, now)) {
		json_decref(p.report);
		return NP_EDENIED;
	}
	struct store_audit a = {.host_id = q->h.id, .time = now};
	if (p.time != 0 && now - p.window_start < AUDIT_WINDOW) {
		a.window_start = p.window_start;
		a.window_count = p.window_count + 1;
	} else {
		a.window_start = now;
		a.window_count = 1;
	}
	addr_format(&r->client, a.source, sizeof(a.source));
	np_strlcpy(a.token_id, r->cred.token_id, sizeof(a.token_id));
	json_decref(q->changes);
	q->changes = json_null();
	if (p.report != NULL) {
		const json_t *was = json_object_get(p.report, "findings");
		const json_t *now_f = json_object_get(q->report, "findings");
		json_t *added = json_array(), *gone = json_array();
		keys_missing(now_f, was, added);
		keys_missing(was, now_f, gone);
		json_decref(q->changes);
		q->changes = json_pack("{s:I,s:o,s:o}", "previous", (json_int_t)p.time, "new",
		                       added, "gone", gone);
	}
	json_decref(p.report);
	char *changes = q->changes != NULL && !json_is_null(q->changes)
	                    ? json_dumps(q->changes, JSON_COMPACT)
	                    : strdup("");
	if (q->changes == NULL || changes == NULL) {
		free(changes);
		return NP_ENOMEM;
	}
	a.report = q->text;
	a.changes = changes;
	ret = store_audit_put(st, &a);
	free(changes);
	if (ret != NP_OK)
		return ret;
	return api_ok(r, MHD_HTTP_CREATED,
	              json_pack("{s:s,s:o}", "fqdn", q->fqdn, "audit",
	                        audit_json(&a, q->report, q->changes)));
}

static void audit_committed(struct api_req *r)
{
	struct audit_req *q = r->ctx;
	char src[INET6_ADDRSTRLEN];
	log_info("audit: %s grade %s, %zu findings, from %s", q->fqdn,
	         json_string_value(json_object_get(q->report, "grade")),
	         json_array_size(json_object_get(q->report, "findings")),
	         addr_format(&r->client, src, sizeof(src)));
}

enum MHD_Result api_audit_post(struct api_req *r)
{
	struct audit_req *q = audit_req(r);
	if (q == NULL) {
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
		return api_answer(r);
	}
	if (!api_seg_fqdn(r, 1, q->fqdn))
		return api_answer(r);
	struct audit_report_error e;
	if (!audit_report_check(r->body, &e)) {
		api_error(r, e.status, e.code, "%s", e.msg);
		return api_answer(r);
	}
	/* What is kept: the report as checked, named by the path's host. */
	q->report = json_deep_copy(r->body);
	if (q->report == NULL ||
	    json_object_set_new(q->report, "host", json_string(q->fqdn)) != 0 ||
	    (q->text = json_dumps(q->report, JSON_COMPACT)) == NULL) {
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
		return api_answer(r);
	}
	int ret = api_lookup_run(r, audit_precheck);
	if (ret == NP_EDENIED)
		return api_answer(r);
	if (ret != NP_OK) {
		r->retry_after = 5;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "try again later");
		return api_answer(r);
	}
	r->committed = audit_committed;
	return api_write(r, audit_apply);
}

/* ---- GET /hosts/{fqdn}/audit ---- */

static int stored_row(const struct store_audit *a, void *ctx)
{
	struct audit_req *q = ctx;
	json_t *report = json_loads(a->report, 0, NULL);
	json_t *changes = a->changes[0] != '\0' ? json_loads(a->changes, 0, NULL) : json_null();
	if (report == NULL || changes == NULL) {
		json_decref(report);
		json_decref(changes);
		return NP_ESTORE;
	}
	q->out = audit_json(a, report, changes);
	json_decref(report);
	json_decref(changes);
	return q->out != NULL ? NP_OK : NP_ENOMEM;
}

static int audit_get(struct api_req *r, struct store *st)
{
	struct audit_req *q = r->ctx;
	int ret = api_load_host(r, st, q->fqdn, 0, &q->h);
	if (ret != NP_OK)
		return ret == NP_EDENIED ? NP_OK : ret;
	ret = store_audit_get(st, q->h.id, stored_row, q);
	if (ret == NP_ENOTFOUND)
		q->out = json_null();
	else if (ret != NP_OK)
		return ret;
	json_t *o = json_pack("{s:s,s:O}", "fqdn", q->fqdn, "audit", q->out);
	return api_ok(r, MHD_HTTP_OK, o);
}

enum MHD_Result api_audit_get(struct api_req *r)
{
	struct audit_req *q = audit_req(r);
	if (q == NULL || !api_seg_fqdn(r, 1, q->fqdn))
		return api_answer(r);
	return api_read(r, audit_get);
}
