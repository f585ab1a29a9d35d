/* SPDX-License-Identifier: MIT */
/* The growable text buffer: its ceiling and its sticky error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdlib.h>
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

/* Doubles from the first size until the need fits; a size that would overflow is refused
 * and leaves the array as it was. */
static void test_array_grow(void **state)
{
	(void)state;
	int *a = NULL;
	size_t cap = 0;
	assert_true(array_grow((void **)&a, &cap, 0, sizeof(*a), 4));
	assert_null(a);
	assert_true(array_grow((void **)&a, &cap, 1, sizeof(*a), 4));
	assert_int_equal(cap, 4);
	a[3] = 7;
	assert_true(array_grow((void **)&a, &cap, 4, sizeof(*a), 4));
	assert_int_equal(cap, 4);
	assert_true(array_grow((void **)&a, &cap, 17, sizeof(*a), 4));
	assert_int_equal(cap, 32);
	assert_int_equal(a[3], 7);
	assert_false(array_grow((void **)&a, &cap, SIZE_MAX / 2 + 2, sizeof(*a), 4));
	assert_false(array_grow((void **)&a, &cap, SIZE_MAX / 4, sizeof(*a), 4));
	assert_int_equal(cap, 32);
	assert_int_equal(a[3], 7);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_limit_is_sticky),
	    cmocka_unit_test(test_array_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
