/* SPDX-License-Identifier: MIT */
/* The audit report's check (src/http/audit_report.c): what nameplate audit sends passes;
 * each kind of bad report gets its status and code; the bounds hold at their edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <string.h>

#include "http/audit_report.h"

/* A report with one finding of severity sev (and the matching grade unless grade). */
static json_t *report(const char *sev, const char *grade)
{
	static const char *const sevs[] = {"info", "low", "medium", "high", "critical"};
	char g[2] = "A";
	for (int i = 0; i < 5; i++)
		if (strcmp(sevs[i], sev) == 0)
			g[0] = "ABCDF"[i];
	json_t *r =
	    json_pack("{s:s, s:s, s:n, s:s, s:b, s:[{s:s, s:s, s:s, s:i, s:s, s:{s:s, s:i},"
	              " s:b, s:{s:s, s:s, s:s}}]}",
	              "host", "home.dyn.example", "grade", grade != NULL ? grade : g, "server_seen",
	              "nat", "nat", "outside_view", 1, "findings", "id", "port-open", "key",
	              "port-open tcp/23", "severity", sev, "layer", 1, "title", "tcp 23 answers",
	              "evidence", "protocol", "tcp", "port", 23, "reachable_from_outside", 1,
	              "remedy", "found", "f", "why", "w", "what_to_do", "d");
	assert_non_null(r);
	return r;
}

static json_t *first(json_t *r)
{
	return json_array_get(json_object_get(r, "findings"), 0);
}

static void refused(json_t *r, unsigned status, const char *code)
{
	struct audit_report_error e;
	assert_false(audit_report_check(r, &e));
	assert_int_equal(e.status, status);
	assert_string_equal(e.code, code);
	assert_true(e.msg[0] != '\0');
	json_decref(r);
}

static void test_good_reports_pass(void **state)
{
	(void)state;
	struct audit_report_error e;
	static const char *const sevs[] = {"info", "low", "medium", "high", "critical"};
	for (int i = 0; i < 5; i++) {
		json_t *r = report(sevs[i], NULL);
		assert_true(audit_report_check(r, &e));
		json_decref(r);
	}
	/* No findings: grade A; optional members may be left out; null reach. */
	json_t *r = json_pack("{s:s, s:[]}", "grade", "A", "findings");
	assert_true(audit_report_check(r, &e));
	json_decref(r);
	r = report("low", NULL);
	json_object_set_new(first(r), "reachable_from_outside", json_null());
	json_object_del(first(r), "remedy");
	json_object_del(first(r), "evidence");
	assert_true(audit_report_check(r, &e));
	json_decref(r);
}

static void test_values_are_422(void **state)
{
	(void)state;
	refused(report("high", "E"), 422, "bad_report");
	refused(report("high", "A"), 422, "bad_report"); /* not the worst finding's grade */
	refused(report("urgent", "D"), 422, "bad_report");
	json_t *r = report("high", NULL);
	json_object_set_new(first(r), "layer", json_integer(4));
	refused(r, 422, "bad_report");
	r = report("high", NULL);
	json_object_set_new(first(r), "id", json_string("Port Open"));
	refused(r, 422, "bad_report");
	r = report("high", NULL);
	for (int i = 0; i <= AUDIT_REPORT_MAX_FINDINGS; i++)
		json_array_append(json_object_get(r, "findings"), first(r));
	refused(r, 422, "too_many");
}

static void test_shapes_are_400(void **state)
{
	(void)state;
	refused(NULL, 400, "bad_request");
	json_t *r = report("high", NULL);
	json_object_set_new(r, "password", json_string("admin"));
	refused(r, 400, "bad_request");
	r = report("high", NULL);
	json_object_del(first(r), "key");
	refused(r, 400, "bad_request");
	r = report("high", NULL);
	json_object_set_new(first(r), "title", json_stringn("a\0b", 3)); /* a NUL inside */
	refused(r, 400, "bad_request");
	r = report("high", NULL);
	json_object_set_new(first(r), "title", json_string("a\x1b[2Jb"));
	refused(r, 400, "bad_request");
	r = report("high", NULL);
	json_object_set_new(json_object_get(first(r), "evidence"), "deep", json_object());
	refused(r, 400, "bad_request");
	r = report("high", NULL);
	json_object_set_new(json_object_get(first(r), "evidence"), "Bad Key", json_integer(1));
	refused(r, 400, "bad_request");
	r = report("high", NULL);
	json_object_set_new(r, "findings", json_object());
	refused(r, 400, "bad_request");
}

static void test_bounds_at_their_edges(void **state)
{
	(void)state;
	struct audit_report_error e;
	char big[AUDIT_REMEDY_MAX + 2];
	memset(big, 'x', sizeof(big));
	big[AUDIT_TITLE_MAX] = '\0';
	json_t *r = report("high", NULL);
	json_object_set_new(first(r), "title", json_string(big));
	assert_true(audit_report_check(r, &e));
	big[AUDIT_TITLE_MAX] = 'x';
	big[AUDIT_TITLE_MAX + 1] = '\0';
	json_object_set_new(first(r), "title", json_string(big));
	refused(r, 400, "bad_request");
	memset(big, 'x', sizeof(big));
	big[AUDIT_EVIDENCE_VALUE_MAX + 1] = '\0';
	r = report("high", NULL);
	json_object_set_new(json_object_get(first(r), "evidence"), "igd", json_string(big));
	refused(r, 400, "bad_request");
	r = report("high", NULL);
	json_t *ev = json_object_get(first(r), "evidence");
	for (int i = 0; json_object_size(ev) < AUDIT_EVIDENCE_MAX; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		json_object_set_new(ev, k, json_true());
	}
	assert_true(audit_report_check(r, &e));
	json_object_set_new(ev, "one_more", json_null());
	refused(r, 422, "bad_report");
	r = report("high", NULL);
	for (int i = 1; i < AUDIT_REPORT_MAX_FINDINGS; i++)
		json_array_append(json_object_get(r, "findings"), first(r));
	assert_true(audit_report_check(r, &e));
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_reports_pass),
	    cmocka_unit_test(test_values_are_422),
	    cmocka_unit_test(test_shapes_are_400),
	    cmocka_unit_test(test_bounds_at_their_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
