/* SPDX-License-Identifier: MIT */
/* The shape and bounds of an audit report (http/audit_report.h): every member known, every
 * text bounded and free of control characters, the values from their lists, the grade the
 * worst finding's. Pure: no connection, no store. */
#include "http/audit_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/str.h"

static const char *const severities[] = {"info", "low", "medium", "high", "critical"};
static const char grades[] = "ABCDF"; /* the grade of each severity, worst found */

static void fail(struct audit_report_error *e, unsigned status, const char *code, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
static void fail(struct audit_report_error *e, unsigned status, const char *code, const char *fmt,
                 ...)
{
	va_list ap;
	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

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

#define BAD(st, c, ...) (fail(e, st, c, __VA_ARGS__), false)

static bool evidence_ok(struct audit_report_error *e, size_t i, const json_t *ev)
{
	if (!json_is_object(ev))
		return BAD(400, "bad_request", "findings[%zu].evidence must be an object", i);
	if (json_object_size(ev) > AUDIT_EVIDENCE_MAX)
		return BAD(422, "bad_report", "findings[%zu].evidence has more than %d members", i,
		           AUDIT_EVIDENCE_MAX);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ev, k, v)
	{
		if (!word_ok(k, AUDIT_EVIDENCE_KEY_MAX, '_'))
			return BAD(
			    400, "bad_request",
			    "findings[%zu].evidence: a member's name is [a-z0-9_], at most %d "
			    "bytes",
			    i, AUDIT_EVIDENCE_KEY_MAX);
		bool ok = json_is_integer(v) || json_is_boolean(v) || json_is_null(v) ||
		          text_ok(v, AUDIT_EVIDENCE_VALUE_MAX);
		if (!ok)
			return BAD(
			    400, "bad_request",
			    "findings[%zu].evidence.%s must be an integer, a boolean, null or "
			    "text of at most %d bytes",
			    i, k, AUDIT_EVIDENCE_VALUE_MAX);
	}
	return true;
}

static bool finding_ok(struct audit_report_error *e, size_t i, const json_t *f, int *worst)
{
	static const char *const keys[] = {
	    "id",     "key", "severity", "layer", "title", "evidence", "reachable_from_outside",
	    "remedy", NULL};
	static const char *const remedy_keys[] = {"found", "why", "what_to_do", NULL};
	const char *bad = NULL;
	if (!json_is_object(f))
		return BAD(400, "bad_request", "findings[%zu] must be an object", i);
	if (!only(f, keys, &bad))
		return BAD(400, "bad_request", "findings[%zu]: unknown member", i);
	const json_t *id = json_object_get(f, "id"), *key = json_object_get(f, "key");
	const json_t *layer = json_object_get(f, "layer");
	const json_t *reach = json_object_get(f, "reachable_from_outside");
	if (!text_ok(id, AUDIT_ID_MAX) || !text_ok(key, AUDIT_KEY_MAX) ||
	    !json_is_string(json_object_get(f, "severity")) || !json_is_integer(layer) ||
	    !text_ok(json_object_get(f, "title"), AUDIT_TITLE_MAX) ||
	    !(json_is_boolean(reach) || json_is_null(reach)))
		return BAD(400, "bad_request",
		           "findings[%zu] needs id (at most %d bytes), key (%d), severity, layer, "
		           "title (%d) and reachable_from_outside (true, false or null)",
		           i, AUDIT_ID_MAX, AUDIT_KEY_MAX, AUDIT_TITLE_MAX);
	if (!word_ok(json_string_value(id), AUDIT_ID_MAX, '-'))
		return BAD(422, "bad_report", "findings[%zu].id must be [a-z0-9-]", i);
	int sev = severity_of(json_object_get(f, "severity"));
	if (sev < 0)
		return BAD(422, "bad_report",
		           "findings[%zu].severity must be info, low, medium, high or critical", i);
	if (json_integer_value(layer) < 1 || json_integer_value(layer) > 3)
		return BAD(422, "bad_report", "findings[%zu].layer must be 1, 2 or 3", i);
	const json_t *ev = json_object_get(f, "evidence");
	if (ev != NULL && !evidence_ok(e, i, ev))
		return false;
	const json_t *rem = json_object_get(f, "remedy");
	if (rem != NULL) {
		if (!json_is_object(rem) || !only(rem, remedy_keys, &bad))
			return BAD(400, "bad_request",
			           "findings[%zu].remedy holds found, why and what_to_do", i);
		for (const char *const *k = remedy_keys; *k != NULL; k++) {
			const json_t *t = json_object_get(rem, *k);
			if (t != NULL && !text_ok(t, AUDIT_REMEDY_MAX))
				return BAD(
				    400, "bad_request",
				    "findings[%zu].remedy.%s must be text of at most %d bytes", i,
				    *k, AUDIT_REMEDY_MAX);
		}
	}
	if (sev > *worst)
		*worst = sev;
	return true;
}

bool audit_report_check(const json_t *rep, struct audit_report_error *e)
{
	static const char *const keys[] = {"host",         "grade",    "server_seen", "nat",
	                                   "outside_view", "findings", NULL};
	const char *bad = NULL;
	if (rep == NULL)
		return BAD(400, "bad_request",
		           "send the report: {\"grade\": ..., \"findings\": [...]}");
	if (!only(rep, keys, &bad)) {
		char esc[64];
		log_escape(esc, sizeof(esc), bad, strlen(bad));
		return BAD(400, "bad_request", "unknown member \"%s\"", esc);
	}
	const json_t *host = json_object_get(rep, "host");
	const json_t *seen = json_object_get(rep, "server_seen");
	const json_t *nat = json_object_get(rep, "nat");
	const json_t *ov = json_object_get(rep, "outside_view");
	if ((host != NULL && !text_ok(host, CFG_NAME_MAX - 1)) ||
	    (seen != NULL && !json_is_null(seen) && !text_ok(seen, 45)) ||
	    (nat != NULL && !text_ok(nat, 32)) || (ov != NULL && !json_is_boolean(ov)))
		return BAD(400, "bad_request",
		           "host, server_seen and nat are short texts, outside_view a boolean");
	const json_t *grade = json_object_get(rep, "grade");
	const json_t *findings = json_object_get(rep, "findings");
	if (!json_is_string(grade) || !json_is_array(findings))
		return BAD(400, "bad_request",
		           "grade (a string) and findings (an array) are required");
	const char *g = json_string_value(grade);
	if (json_string_length(grade) != 1 || strchr(grades, g[0]) == NULL)
		return BAD(422, "bad_report", "grade must be A, B, C, D or F");
	if (json_array_size(findings) > AUDIT_REPORT_MAX_FINDINGS)
		return BAD(422, "too_many", "at most %d findings in one report",
		           AUDIT_REPORT_MAX_FINDINGS);
	int worst = 0;
	size_t i;
	const json_t *f;
	json_array_foreach(findings, i, f)
	{
		if (!finding_ok(e, i, f, &worst))
			return false;
	}
	/* The grade is the worst severity's: a report that says otherwise is not one. */
	if (g[0] != grades[worst])
		return BAD(422, "bad_report",
		           "grade %c does not match the worst finding (%s: grade %c)", g[0],
		           severities[worst], grades[worst]);
	return true;
}
