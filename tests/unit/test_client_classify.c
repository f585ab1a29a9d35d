/* SPDX-License-Identifier: MIT */
/* Tests of dyndns2_classify: every result code and HTTP status maps to the right class,
 * code and a plain explanation, and a server's text cannot forge anything. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "client/client.h"

static void expect(long status, const char *body, enum result_class cls, const char *code)
{
	struct publish_result r;
	dyndns2_classify(status, body, &r);
	assert_int_equal(r.cls, cls);
	assert_string_equal(r.code, code);
	assert_true(strlen(r.message) > 10); /* always a plain explanation */
}

static void test_success_codes(void **state)
{
	(void)state;
	struct publish_result r;
	dyndns2_classify(200, "good 203.0.113.7\n", &r);
	assert_int_equal(r.cls, RESULT_OK);
	assert_string_equal(r.code, "good");
	assert_int_equal(r.seen.family, AF_INET);
	assert_memory_equal(r.seen.bytes, ((uint8_t[]){203, 0, 113, 7}), 4);

	dyndns2_classify(200, "nochg 203.0.113.7,2001:db8::1\n", &r);
	assert_int_equal(r.cls, RESULT_OK);
	assert_string_equal(r.code, "nochg");
	assert_int_equal(r.seen.family, AF_INET);

	dyndns2_classify(200, "good", &r); /* no address echoed: still success */
	assert_int_equal(r.cls, RESULT_OK);
	assert_int_equal(r.seen.family, 0);
	expect(200, "  good 2001:db8::1\r\n", RESULT_OK, "good");
}

static void test_fatal_codes(void **state)
{
	(void)state;
	static const char *const fatal[] = {"badauth", "nohost",   "notfqdn",  "numhost",
	                                    "abuse",   "badagent", "!donator", "badsys",
	                                    "!yours",  "!active"};
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		char body[64];
		snprintf(body, sizeof(body), "%s\n", fatal[i]);
		expect(200, body, RESULT_FATAL, fatal[i]);
	}
	/* nsupdate.info style: the code under a 4xx status still counts. */
	expect(403, "abuse\n", RESULT_FATAL, "abuse");
}

static void test_badauth_explanation(void **state)
{
	(void)state;
	struct publish_result r;
	dyndns2_classify(200, "badauth\n", &r);
	assert_string_equal(r.message, "the server refused the user name or secret; fix them, "
	                               "then run 'nameplate reset HOST'");
	dyndns2_classify(401, "", &r);
	assert_int_equal(r.cls, RESULT_FATAL);
	assert_string_equal(r.code, "badauth");
	dyndns2_classify(401, "nochg", &r); /* the status wins */
	assert_int_equal(r.cls, RESULT_FATAL);
}

static void test_good_localhost_is_a_failure(void **state)
{
	(void)state;
	expect(200, "good 127.0.0.1\n", RESULT_FATAL, "good 127.0.0.1");
	expect(200, "good 127.0.0.2\n", RESULT_OK, "good");
	expect(200, "nochg 127.0.0.1\n", RESULT_OK, "nochg");
}

static void test_transient_codes(void **state)
{
	(void)state;
	expect(200, "911\n", RESULT_TRANSIENT, "911");
	expect(200, "dnserr\n", RESULT_TRANSIENT, "dnserr");
	expect(200, "servererror\n", RESULT_TRANSIENT, "servererror");
	expect(503, "", RESULT_TRANSIENT, "http 503");
	expect(500, "badauth", RESULT_TRANSIENT, "http 500"); /* 5xx wins over the body */
	expect(429, "", RESULT_TRANSIENT, "http 429");
	expect(302, "", RESULT_TRANSIENT, "http 302");
	expect(404, "Not Found", RESULT_TRANSIENT, "http 404");
	expect(200, "", RESULT_TRANSIENT, "unexpected");
	expect(200, "<html>hi</html>", RESULT_TRANSIENT, "unexpected");
	expect(200, "goodness", RESULT_TRANSIENT, "unexpected"); /* whole tokens only */
	expect(200, "BADAUTH", RESULT_TRANSIENT, "unexpected");
}

static void test_server_text_is_escaped(void **state)
{
	(void)state;
	struct publish_result r;
	dyndns2_classify(200, "oops\x1b[31m\x01 and more", &r);
	assert_int_equal(r.cls, RESULT_TRANSIENT);
	for (const char *p = r.message; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	char big[8000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dyndns2_classify(200, big, &r);
	assert_true(strlen(r.message) < sizeof(r.message));
	dyndns2_classify(200, NULL, &r);
	assert_int_equal(r.cls, RESULT_TRANSIENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_success_codes),
	    cmocka_unit_test(test_fatal_codes),
	    cmocka_unit_test(test_badauth_explanation),
	    cmocka_unit_test(test_good_localhost_is_a_failure),
	    cmocka_unit_test(test_transient_codes),
	    cmocka_unit_test(test_server_text_is_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
