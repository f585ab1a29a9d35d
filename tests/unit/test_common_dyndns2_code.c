/* SPDX-License-Identifier: MIT */
/* Tests of the shared dyndns2 answer-code table: every code round-trips between its text
 * and its value, the classes are those docs/client.md ("Result codes") documents, and the
 * server's codes are the ones it sends under HTTP 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/dyndns2_code.h"

static void test_round_trip(void **state)
{
	(void)state;
	for (unsigned i = 0; i < DYNDNS2_CODE_COUNT; i++) {
		const struct dyndns2_code_info *c = dyndns2_code_info((enum dyndns2_code)i);
		assert_non_null(c);
		assert_string_equal(dyndns2_code_str((enum dyndns2_code)i), c->text);
		assert_true(strlen(c->meaning) > 10); /* a plain explanation */
		enum dyndns2_code back = DYNDNS2_CODE_COUNT;
		assert_true(dyndns2_code_parse(c->text, strlen(c->text), &back));
		assert_int_equal(back, i);
	}
}

static void test_not_codes(void **state)
{
	(void)state;
	static const char *const bad[] = {"", "BADAUTH", "goodness", "goo", "nochg ", "!", "9111"};
	enum dyndns2_code c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(dyndns2_code_parse(bad[i], strlen(bad[i]), &c));
	assert_true(dyndns2_code_parse("good 192.0.2.1", 4, &c)); /* the first word only */
	assert_int_equal(c, DYNDNS2_GOOD);
	assert_null(dyndns2_code_info(DYNDNS2_CODE_COUNT));
	assert_null(dyndns2_code_info((enum dyndns2_code) - 1));
	assert_string_equal(dyndns2_code_str(DYNDNS2_CODE_COUNT), "911");
}

/* docs/client.md, "Result codes": success, stop, retry. */
static void test_classes_as_documented(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum dyndns2_class cls;
	} want[] = {
	    {"good", DYNDNS2_CLASS_OK},
	    {"nochg", DYNDNS2_CLASS_OK},
	    {"badauth", DYNDNS2_CLASS_FATAL},
	    {"nohost", DYNDNS2_CLASS_FATAL},
	    {"notfqdn", DYNDNS2_CLASS_FATAL},
	    {"numhost", DYNDNS2_CLASS_FATAL},
	    {"abuse", DYNDNS2_CLASS_FATAL},
	    {"badagent", DYNDNS2_CLASS_FATAL},
	    {"!donator", DYNDNS2_CLASS_FATAL},
	    {"badsys", DYNDNS2_CLASS_FATAL},
	    {"!yours", DYNDNS2_CLASS_FATAL},
	    {"!active", DYNDNS2_CLASS_FATAL},
	    {"911", DYNDNS2_CLASS_TRANSIENT},
	    {"dnserr", DYNDNS2_CLASS_TRANSIENT},
	    {"servererror", DYNDNS2_CLASS_TRANSIENT},
	};
	assert_int_equal(sizeof(want) / sizeof(want[0]), DYNDNS2_CODE_COUNT);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		enum dyndns2_code c;
		assert_true(dyndns2_code_parse(want[i].text, strlen(want[i].text), &c));
		assert_int_equal(dyndns2_code_info(c)->cls, want[i].cls);
	}
}

/* The codes this server writes (README.md, "Return codes") go out under 200; the others
 * are never sent. */
static void test_server_status(void **state)
{
	(void)state;
	for (unsigned i = 0; i < DYNDNS2_CODE_COUNT; i++) {
		const struct dyndns2_code_info *c = dyndns2_code_info((enum dyndns2_code)i);
		assert_int_equal(c->http_status, i <= DYNDNS2_911 ? 200 : 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_not_codes),
	    cmocka_unit_test(test_classes_as_documented),
	    cmocka_unit_test(test_server_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
