/* SPDX-License-Identifier: MIT */
/* The audit's text cleaning (src/client/audit.c): what a device chose (a mapping's
 * description) and texts cut at a buffer's end reach the terminal and the server's JSON
 * without control characters and as UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <string.h>

#include "client/audit.h"

static void test_control_characters_become_question_marks(void **state)
{
	(void)state;
	char s[] = "dvr\x1b[2J\ttelnet\x7f\r\n";
	audit_text_clean(s);
	assert_string_equal(s, "dvr?[2J?telnet???");
}

static void test_utf8_is_kept_and_a_cut_character_is_not(void **state)
{
	(void)state;
	char ok[] = "cam\xc3\xa9ra \xe2\x9c\x93";
	audit_text_clean(ok);
	assert_string_equal(ok, "cam\xc3\xa9ra \xe2\x9c\x93");
	/* "é" cut after its first byte, as a 96-byte description buffer may cut it. */
	char cut[] = "cam\xc3\xa9ra \xc3";
	audit_text_clean(cut);
	assert_string_equal(cut, "cam??ra ?");
	char junk[] = "\xff\xfe ok";
	audit_text_clean(junk);
	assert_string_equal(junk, "?? ok");
	char empty[] = "";
	audit_text_clean(empty);
	assert_string_equal(empty, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_control_characters_become_question_marks),
	    cmocka_unit_test(test_utf8_is_kept_and_a_cut_character_is_not),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
