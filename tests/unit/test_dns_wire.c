/* SPDX-License-Identifier: MIT */
/* Unit tests for the sticky-error wire reader and writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/wire.h"

static void test_reader_reads_big_endian(void **state)
{
	(void)state;
	const uint8_t buf[] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde};
	struct wire c = wire_init(buf, sizeof(buf));
	assert_int_equal(wire_u8(&c), 0x12);
	assert_int_equal(wire_u16(&c), 0x3456);
	assert_int_equal(wire_u32(&c), 0x789abcde);
	assert_int_equal(c.err, 0);
	assert_int_equal(wire_left(&c), 0);
}

static void test_reader_error_is_sticky(void **state)
{
	(void)state;
	const uint8_t buf[] = {0x01, 0x02, 0x03};
	struct wire c = wire_init(buf, sizeof(buf));
	assert_int_equal(wire_u16(&c), 0x0102);
	assert_int_equal(wire_u32(&c), 0); /* only one byte left */
	assert_int_equal(c.err, NP_EMALFORMED);
	assert_int_equal(c.pos, 2);
	/* A later read that would fit still fails: the error sticks. */
	assert_int_equal(wire_u8(&c), 0);
	assert_int_equal(wire_left(&c), 0);
	assert_null(wire_take(&c, 0));
}

static void test_reader_take_and_skip(void **state)
{
	(void)state;
	const uint8_t buf[] = {1, 2, 3, 4, 5};
	struct wire c = wire_init(buf, sizeof(buf));
	wire_skip(&c, 2);
	const uint8_t *p = wire_take(&c, 3);
	assert_ptr_equal(p, buf + 2);
	assert_int_equal(c.err, 0);
	wire_skip(&c, 1);
	assert_int_equal(c.err, NP_EMALFORMED);
}

static void test_reader_empty_buffer(void **state)
{
	(void)state;
	struct wire c = wire_init(NULL, 0);
	assert_int_equal(wire_left(&c), 0);
	assert_int_equal(wire_u8(&c), 0);
	assert_int_equal(c.err, NP_EMALFORMED);
}

static void test_writer_writes_big_endian(void **state)
{
	(void)state;
	uint8_t buf[8] = {0};
	struct wire_out w = wire_out_init(buf, sizeof(buf));
	wire_put_u8(&w, 0xaa);
	wire_put_u16(&w, 0x0102);
	wire_put_u32(&w, 0x03040506);
	wire_put_bytes(&w, "\x07", 1);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.pos, 8);
	const uint8_t want[] = {0xaa, 1, 2, 3, 4, 5, 6, 7};
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_writer_overflow_is_sticky(void **state)
{
	(void)state;
	uint8_t buf[5];
	memset(buf, 0xee, sizeof(buf));
	struct wire_out w = wire_out_init(buf, 3);
	wire_put_u16(&w, 0x0102);
	wire_put_u16(&w, 0x0304); /* does not fit: nothing is written */
	assert_int_equal(w.err, NP_ETOOBIG);
	assert_int_equal(w.pos, 2);
	assert_int_equal(buf[2], 0xee);
	wire_put_u8(&w, 9); /* would fit, but the error sticks */
	assert_int_equal(buf[2], 0xee);
	assert_int_equal(w.pos, 2);
}

static void test_store_and_load(void **state)
{
	(void)state;
	uint8_t b[6];
	wire_store_u16(b, 0xbeef);
	wire_store_u32(b + 2, 0xdeadc0de);
	assert_int_equal(wire_load_u16(b), 0xbeef);
	assert_int_equal(wire_load_u32(b + 2), 0xdeadc0de);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader_reads_big_endian),
	    cmocka_unit_test(test_reader_error_is_sticky),
	    cmocka_unit_test(test_reader_take_and_skip),
	    cmocka_unit_test(test_reader_empty_buffer),
	    cmocka_unit_test(test_writer_writes_big_endian),
	    cmocka_unit_test(test_writer_overflow_is_sticky),
	    cmocka_unit_test(test_store_and_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
