/* SPDX-License-Identifier: MIT */
/* The growable text buffer: its ceiling and its sticky error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <string.h>

#include "common/buf.h"

static void test_buf_limit_is_sticky(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8);
	buf_puts(&b, "12345678");
	assert_false(b.err);
	assert_string_equal(b.p, "12345678");
	buf_puts(&b, "9");
	assert_true(b.err);
	buf_puts(&b, "");
	assert_true(b.err);
	buf_free(&b);
	assert_false(b.err);
	assert_int_equal(b.max, 8);

	buf_init(&b, 100000);
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_printf(&b, "[%s]", big); /* longer than the printf fast path */
	assert_false(b.err);
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(b.p[0], '[');
	assert_int_equal(b.p[b.len - 1], ']');
	buf_printf(&b, "%d", 42);
	assert_int_equal(b.len, sizeof(big) + 3);
	assert_string_equal(b.p + b.len - 2, "42");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_limit_is_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
