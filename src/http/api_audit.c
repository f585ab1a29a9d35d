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
#include "store/audit.h"

/* Bounds of a report (beside the API's 64 KiB body): findings, and each text. */
#define AUDIT_REPORT_MAX_FINDINGS 256 /* the client's AUDIT_MAX_FINDINGS */
#define AUDIT_ID_MAX              32
#define AUDIT_KEY_MAX             160
#define AUDIT_TITLE_MAX           256
#define AUDIT_REMEDY_MAX          1024
#define AUDIT_EVIDENCE_MAX        16 /* members of one finding's evidence */
#define AUDIT_EVIDENCE_KEY_MAX    32
#define AUDIT_EVIDENCE_VALUE_MAX  512 /* an IGD's URL (the client keeps 511 bytes) */
/* Reports kept per host and hour: a person re-running the audit after each fix is far
 * below it; a script in a loop is not. */
#define AUDIT_REPORTS_PER_HOUR 12
#define AUDIT_WINDOW           3600

static const char *const severities[] = {"info", "low", "medium", "high", "critical"};
static const char grades[] = "ABCDF"; /* the grade of each severity, worst found */

/* Per request. */
struct audit_req {
	char fqdn[CFG_NAME_MAX];
	struct store_host h;
	json_t *report;  /* validated (POST) */
	char *text;      /* the report as stored */
	json_t *changes; /* computed on the writer (POST) */
	json_t *out;     /* the stored audit as answered */
	int64_t now;
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

/* ---- the report's shape ---- */

/* Text of at most max bytes: no NUL, no control character. */
static bool text_ok(const json_t *v, size_t max)
{
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	return len <= max && strlen(s) == len && !str_has_ctl(s);
}

/* [a-z0-9] words joined by '-' or '_' (which one: sep). */
static bool word_ok(const char *s, size_t max, char sep)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == sep))
			return false;
	}
	return true;
}

static int severity_of(const json_t *v)
{
	const char *s = json_string_value(v);
	for (int i = 0; s != NULL && i < (int)(sizeof(severities) / sizeof(severities[0])); i++)
		if (strcmp(s, severities[i]) == 0)
			return i;
	return -1;
}

/* Whether every member of o is one of keys (NULL-terminated); *bad gets the first other. */
static bool only(const json_t *o, const char *const *keys, const char **bad)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		bool known = false;
		for (const char *const *p = keys; *p != NULL && !known; p++)
			known = strcmp(*p, k) == 0;
		if (!known) {
			*bad = k;
			return false;
		}
	}
	return true;
}

#define BAD(status, code, ...) (api_error(r, status, code, __VA_ARGS__), false)

static bool evidence_ok(struct api_req *r, size_t i, const json_t *ev)
{
	if (!json_is_object(ev))
		return BAD(MHD_HTTP_BAD_REQUEST, "bad_request",
		           "findings[%zu].evidence must be an object", i);
	if (json_object_size(ev) > AUDIT_EVIDENCE_MAX)
		return BAD(MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_report",
		           "findings[%zu].evidence has more than %d members", i,
		           AUDIT_EVIDENCE_MAX);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ev, k, v)
	{
		if (!word_ok(k, AUDIT_EVIDENCE_KEY_MAX, '_'))
			return BAD(
			    MHD_HTTP_BAD_REQUEST, "bad_request",
			    "findings[%zu].evidence: a member's name is [a-z0-9_], at most %d "
			    "bytes",
			    i, AUDIT_EVIDENCE_KEY_MAX);
		bool ok = json_is_integer(v) || json_is_boolean(v) || json_is_null(v) ||
		          text_ok(v, AUDIT_EVIDENCE_VALUE_MAX);
		if (!ok)
			return BAD(
			    MHD_HTTP_BAD_REQUEST, "bad_request",
			    "findings[%zu].evidence.%s must be an integer, a boolean, null or "
			    "text of at most %d bytes",
			    i, k, AUDIT_EVIDENCE_VALUE_MAX);
	}
	return true;
}

static bool finding_ok(struct api_req *r, size_t i, const json_t *f, int *worst)
{
	static const char *const keys[] = {
	    "id",     "key", "severity", "layer", "title", "evidence", "reachable_from_outside",
	    "remedy", NULL};
	static const char *const remedy_keys[] = {"found", "why", "what_to_do", NULL};
	const char *bad = NULL;
	if (!json_is_object(f))
		return BAD(MHD_HTTP_BAD_REQUEST, "bad_request", "findings[%zu] must be an object",
		           i);
	if (!only(f, keys, &bad))
		return BAD(MHD_HTTP_BAD_REQUEST, "bad_request", "findings[%zu]: unknown member", i);
	const json_t *id = json_object_get(f, "id"), *key = json_object_get(f, "key");
	const json_t *layer = json_object_get(f, "layer");
	const json_t *reach = json_object_get(f, "reachable_from_outside");
	if (!text_ok(id, AUDIT_ID_MAX) || !text_ok(key, AUDIT_KEY_MAX) ||
	    !json_is_string(json_object_get(f, "severity")) || !json_is_integer(layer) ||
	    !text_ok(json_object_get(f, "title"), AUDIT_TITLE_MAX) ||
	    !(json_is_boolean(reach) || json_is_null(reach)))
		return BAD(MHD_HTTP_BAD_REQUEST, "bad_request",
		           "findings[%zu] needs id (at most %d bytes), key (%d), severity, layer, "
		           "title (%d) and reachable_from_outside (true, false or null)",
		           i, AUDIT_ID_MAX, AUDIT_KEY_MAX, AUDIT_TITLE_MAX);
	if (!word_ok(json_string_value(id), AUDIT_ID_MAX, '-'))
		return BAD(MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_report",
		           "findings[%zu].id must be [a-z0-9-]", i);
	int sev = severity_of(json_object_get(f, "severity"));
	if (sev < 0)
		return BAD(MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_report",
		           "findings[%zu].severity must be info, low, medium, high or critical", i);
	if (json_integer_value(layer) < 1 || json_integer_value(layer) > 3)
		return BAD(MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_report",
		           "findings[%zu].layer must be 1, 2 or 3", i);
	const json_t *ev = json_object_get(f, "evidence");
	if (ev != NULL && !evidence_ok(r, i, ev))
		return false;
	const json_t *rem = json_object_get(f, "remedy");
	if (rem != NULL) {
		if (!json_is_object(rem) || !only(rem, remedy_keys, &bad))
			return BAD(MHD_HTTP_BAD_REQUEST, "bad_request",
			           "findings[%zu].remedy holds found, why and what_to_do", i);
		for (const char *const *k = remedy_keys; *k != NULL; k++) {
			const json_t *t = json_object_get(rem, *k);
			if (t != NULL && !text_ok(t, AUDIT_REMEDY_MAX))
				return BAD(
				    MHD_HTTP_BAD_REQUEST, "bad_request",
				    "findings[%zu].remedy.%s must be text of at most %d bytes", i,
				    *k, AUDIT_REMEDY_MAX);
		}
	}
	if (sev > *worst)
		*worst = sev;
	return true;
}

/* The whole report: false with the error set in r (400 for the shape, 422 for values). */
static bool report_ok(struct api_req *r, const json_t *rep)
{
	static const char *const keys[] = {"host",         "grade",    "server_seen", "nat",
	                                   "outside_view", "findings", NULL};
	const char *bad = NULL;
	if (rep == NULL)
		return BAD(MHD_HTTP_BAD_REQUEST, "bad_request",
		           "send the report: {\"grade\": ..., \"findings\": [...]}");
	if (!only(rep, keys, &bad)) {
		char esc[64];
		log_escape(esc, sizeof(esc), bad, strlen(bad));
		return BAD(MHD_HTTP_BAD_REQUEST, "bad_request", "unknown member \"%s\"", esc);
	}
	const json_t *host = json_object_get(rep, "host");
	const json_t *seen = json_object_get(rep, "server_seen");
	const json_t *nat = json_object_get(rep, "nat");
	const json_t *ov = json_object_get(rep, "outside_view");
	if ((host != NULL && !text_ok(host, CFG_NAME_MAX - 1)) ||
	    (seen != NULL && !json_is_null(seen) && !text_ok(seen, 45)) ||
	    (nat != NULL && !text_ok(nat, 32)) || (ov != NULL && !json_is_boolean(ov)))
		return BAD(MHD_HTTP_BAD_REQUEST, "bad_request",
		           "host, server_seen and nat are short texts, outside_view a boolean");
	const json_t *grade = json_object_get(rep, "grade");
	const json_t *findings = json_object_get(rep, "findings");
	if (!json_is_string(grade) || !json_is_array(findings))
		return BAD(MHD_HTTP_BAD_REQUEST, "bad_request",
		           "grade (a string) and findings (an array) are required");
	const char *g = json_string_value(grade);
	if (json_string_length(grade) != 1 || strchr(grades, g[0]) == NULL)
		return BAD(MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_report",
		           "grade must be A, B, C, D or F");
	if (json_array_size(findings) > AUDIT_REPORT_MAX_FINDINGS)
		return BAD(MHD_HTTP_UNPROCESSABLE_CONTENT, "too_many",
		           "at most %d findings in one report", AUDIT_REPORT_MAX_FINDINGS);
	int worst = 0;
	size_t i;
	const json_t *f;
	json_array_foreach(findings, i, f)
	{
		if (!finding_ok(r, i, f, &worst))
			return false;
	}
	/* The grade is the worst severity's: a report that says otherwise is not one. */
	if (g[0] != grades[worst])
		return BAD(MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_report",
		           "grade %c does not match the worst finding (%s: grade %c)", g[0],
		           severities[worst], grades[worst]);
	return true;
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

struct previous {
	struct audit_req *q;
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
	struct previous p = {q, 0, 0, 0, NULL};
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
	struct previous p = {q, 0, 0, 0, NULL};
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
	if (!api_seg_fqdn(r, 1, q->fqdn) || !report_ok(r, r->body))
		return api_answer(r);
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
