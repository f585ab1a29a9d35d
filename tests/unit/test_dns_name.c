/* SPDX-License-Identifier: MIT */
/* Unit tests for domain names: text conversion, wire reading with decompression. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/name.h"

/* A message buffer: a zeroed 12-byte header, then whatever the test puts after it. */
struct msg {
	uint8_t b[1024];
	size_t len;
};

static void msg_init(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 12;
}

static size_t msg_put(struct msg *m, const void *p, size_t n)
{
	size_t at = m->len;
	memcpy(m->b + at, p, n);
	m->len += n;
	return at;
}

static size_t msg_label(struct msg *m, size_t len, char fill)
{
	size_t at = m->len;
	m->b[m->len++] = (uint8_t)len;
	memset(m->b + m->len, fill, len);
	m->len += len;
	return at;
}

static size_t msg_ptr(struct msg *m, size_t target)
{
	uint8_t p[2] = {(uint8_t)(0xC0 | target >> 8), (uint8_t)target};
	return msg_put(m, p, 2);
}

/* Reads the name at pos; returns dns_name_read's result. */
static int read_at(const struct msg *m, size_t pos, uint8_t *orig, uint8_t *lower, size_t *end)
{
	struct wire c = wire_init(m->b, m->len);
	c.pos = pos;
	int n = dns_name_read(&c, orig, lower);
	if (end != NULL)
		*end = c.pos;
	if (n < 0)
		assert_int_equal(c.err, NP_EMALFORMED);
	return n;
}

static void test_from_text_and_back(void **state)
{
	(void)state;
	uint8_t w[DNS_NAME_MAX];
	char t[1024];
	int n = dns_name_from_text("Host.Dyn.Example.", w, sizeof(w));
	assert_int_equal(n, 18);
	assert_memory_equal(w,
	                    "\x04host\x03"
	                    "dyn\x07"
	                    "example",
	                    18);
	assert_int_equal(dns_name_labels(w), 3);
	assert_int_equal(dns_name_to_text(w, (size_t)n, t, sizeof(t)), 16);
	assert_string_equal(t, "host.dyn.example");
	assert_int_equal(dns_name_from_text(".", w, sizeof(w)), 1);
	assert_int_equal(dns_name_to_text(w, 1, t, sizeof(t)), 1);
	assert_string_equal(t, ".");
	assert_int_equal(dns_name_from_text("a..b", w, sizeof(w)), NP_EMALFORMED);
	assert_int_equal(dns_name_from_text("a.*.b", w, sizeof(w)), NP_EMALFORMED);
	assert_int_equal(dns_name_from_text("*.b", w, sizeof(w)), 5);
}

static void test_read_plain_keeps_case(void **state)
{
	(void)state;
	struct msg m;
	uint8_t orig[DNS_NAME_MAX], lower[DNS_NAME_MAX];
	size_t end;
	msg_init(&m);
	msg_put(&m,
	        "\x04HoSt\x03"
	        "DYN\x07"
	        "example",
	        18);
	assert_int_equal(read_at(&m, 12, orig, lower, &end), 18);
	assert_memory_equal(orig,
	                    "\x04HoSt\x03"
	                    "DYN\x07"
	                    "example",
	                    18);
	assert_memory_equal(lower,
	                    "\x04host\x03"
	                    "dyn\x07"
	                    "example",
	                    18);
	assert_int_equal(end, 30);
	/* Either output may be omitted. */
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), 18);
}

static void test_read_root_only(void **state)
{
	(void)state;
	struct msg m;
	uint8_t lower[DNS_NAME_MAX];
	size_t end;
	msg_init(&m);
	msg_put(&m, "\0", 1);
	assert_int_equal(read_at(&m, 12, NULL, lower, &end), 1);
	assert_int_equal(lower[0], 0);
	assert_int_equal(end, 13);
}

static void test_read_backward_pointer(void **state)
{
	(void)state;
	struct msg m;
	uint8_t orig[DNS_NAME_MAX];
	size_t end;
	msg_init(&m);
	msg_put(&m,
	        "\x03"
	        "dyn\x07"
	        "example",
	        13);                            /* at 12 */
	size_t at = msg_put(&m, "\x04host", 5); /* at 25 */
	msg_ptr(&m, 12);
	msg_put(&m, "\xff", 1); /* something after the name */
	assert_int_equal(read_at(&m, at, orig, NULL, &end), 18);
	assert_memory_equal(orig,
	                    "\x04host\x03"
	                    "dyn\x07"
	                    "example",
	                    18);
	assert_int_equal(end, at + 5 + 2); /* continues after the first pointer */
	/* A pointer to a pointer, each strictly backwards. */
	size_t p2 = msg_ptr(&m, at);
	assert_int_equal(read_at(&m, p2, orig, NULL, &end), 18);
	assert_int_equal(end, p2 + 2);
}

static void test_read_self_pointer(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	msg_ptr(&m, 12);
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
}

static void test_read_pointer_loop(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	msg_ptr(&m, 14); /* A at 12 -> B */
	msg_ptr(&m, 12); /* B at 14 -> A */
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
	assert_int_equal(read_at(&m, 14, NULL, NULL, NULL), NP_EMALFORMED);
	/* A loop through a label: "\1a" then a pointer back to the label's start. */
	msg_init(&m);
	msg_put(&m,
	        "\x01"
	        "a",
	        2);
	msg_ptr(&m, 12);
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
}

static void test_read_forward_pointer(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	msg_ptr(&m, 14);
	msg_put(&m,
	        "\x01"
	        "a\0",
	        3);
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
}

static void test_read_pointer_into_header(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	m.b[4] = 0; /* a root name inside the header */
	msg_ptr(&m, 4);
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
	msg_init(&m);
	msg_ptr(&m, 0);
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
}

static void test_read_pointer_beyond_end(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	msg_put(&m, "\0", 1);
	size_t at = msg_ptr(&m, 0x3fff);
	assert_int_equal(read_at(&m, at, NULL, NULL, NULL), NP_EMALFORMED);
	/* A pointer cut in half by the end of the message. */
	msg_init(&m);
	msg_put(&m, "\0\xc0", 2);
	assert_int_equal(read_at(&m, 13, NULL, NULL, NULL), NP_EMALFORMED);
}

static void test_read_long_pointer_chain(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	msg_put(&m, "\0", 1);
	size_t prev = 12;
	size_t at[300];
	/* Every pointer goes strictly backwards, to the one before: legal one by one, but
	 * the chain is longer than any real name needs. */
	for (int i = 0; i < 300; i++) {
		at[i] = msg_ptr(&m, prev);
		prev = at[i];
	}
	assert_int_equal(read_at(&m, at[DNS_NAME_MAX_HOPS - 1], NULL, NULL, NULL), 1);
	assert_int_equal(read_at(&m, at[DNS_NAME_MAX_HOPS], NULL, NULL, NULL), NP_EMALFORMED);
	assert_int_equal(read_at(&m, at[299], NULL, NULL, NULL), NP_EMALFORMED);
}

static void test_read_label_types(void **state)
{
	(void)state;
	struct msg m;
	for (unsigned b = 0x40; b < 0xC0; b += 0x3f) {
		msg_init(&m);
		m.b[m.len++] = (uint8_t)b;
		memset(m.b + m.len, 'a', 200);
		m.len += 200;
		m.b[m.len++] = 0;
		assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
	}
}

static void test_read_label_length_limit(void **state)
{
	(void)state;
	struct msg m;
	uint8_t lower[DNS_NAME_MAX];
	msg_init(&m);
	msg_label(&m, 63, 'a');
	msg_put(&m, "\0", 1);
	assert_int_equal(read_at(&m, 12, NULL, lower, NULL), 65);
	msg_init(&m);
	msg_label(&m, 64, 'a');
	msg_put(&m, "\0", 1);
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
}

static void test_read_name_length_limit(void **state)
{
	(void)state;
	struct msg m;
	uint8_t orig[DNS_NAME_MAX], lower[DNS_NAME_MAX];
	/* 3 x 64 + 62 + 1 = 255: the longest name. */
	msg_init(&m);
	for (int i = 0; i < 3; i++)
		msg_label(&m, 63, 'a');
	msg_label(&m, 61, 'b');
	msg_put(&m, "\0", 1);
	assert_int_equal(read_at(&m, 12, orig, lower, NULL), 255);
	assert_int_equal(dns_name_check(orig, 255), 255);
	/* One more octet: 256. */
	msg_init(&m);
	for (int i = 0; i < 3; i++)
		msg_label(&m, 63, 'a');
	msg_label(&m, 62, 'b');
	msg_put(&m, "\0", 1);
	assert_int_equal(read_at(&m, 12, orig, lower, NULL), NP_EMALFORMED);
}

static void test_read_too_long_after_decompression(void **state)
{
	(void)state;
	struct msg m;
	uint8_t lower[DNS_NAME_MAX];
	msg_init(&m);
	for (int i = 0; i < 3; i++)
		msg_label(&m, 63, 'a');
	msg_put(&m, "\0", 1); /* 193 octets at 12 */
	size_t ok = msg_label(&m, 61, 'b');
	msg_ptr(&m, 12); /* 62 + 193 = 255 */
	size_t bad = msg_label(&m, 62, 'c');
	msg_ptr(&m, 12); /* 63 + 193 = 256: only 65 octets on the wire */
	assert_int_equal(read_at(&m, ok, NULL, lower, NULL), 255);
	assert_int_equal(read_at(&m, bad, NULL, lower, NULL), NP_EMALFORMED);
}

static void test_read_name_at_buffer_edge(void **state)
{
	(void)state;
	struct msg m;
	size_t end;
	msg_init(&m);
	msg_put(&m,
	        "\x01"
	        "a\0",
	        3);
	/* The root is the last byte of the message: fine, and the cursor is at the end. */
	assert_int_equal(read_at(&m, 12, NULL, NULL, &end), 3);
	assert_int_equal(end, m.len);
	/* Without the root: the name runs off the end. */
	m.len--;
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
	/* A label longer than what is left. */
	msg_init(&m);
	msg_put(&m,
	        "\x05"
	        "ab",
	        3);
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
	/* Nothing at all. */
	msg_init(&m);
	assert_int_equal(read_at(&m, 12, NULL, NULL, NULL), NP_EMALFORMED);
}

static void test_read_on_failed_cursor(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	msg_put(&m, "\0", 1);
	struct wire c = wire_init(m.b, m.len);
	c.pos = 12;
	c.err = NP_EMALFORMED;
	assert_int_equal(dns_name_read(&c, NULL, NULL), NP_EMALFORMED);
}

static void test_name_check(void **state)
{
	(void)state;
	assert_int_equal(dns_name_check((const uint8_t *)"\0", 1), 1);
	assert_int_equal(dns_name_check((const uint8_t *)"\x01"
	                                                 "a\0",
	                                3),
	                 3);
	assert_int_equal(dns_name_check((const uint8_t *)"\x01"
	                                                 "a\0"
	                                                 "zz",
	                                5),
	                 3);
	assert_int_equal(dns_name_check((const uint8_t *)"\x01"
	                                                 "a",
	                                2),
	                 NP_EMALFORMED);
	assert_int_equal(dns_name_check((const uint8_t *)"\xc0\x0c", 2), NP_EMALFORMED);
	assert_int_equal(dns_name_check((const uint8_t *)"", 0), NP_EMALFORMED);
	uint8_t big[300];
	memset(big, 0, sizeof(big));
	for (int i = 0; i < 4; i++) {
		big[i * 64] = 63;
		memset(big + i * 64 + 1, 'x', 63);
	}
	assert_int_equal(dns_name_check(big, sizeof(big)), NP_EMALFORMED); /* 257 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_text_and_back),
	    cmocka_unit_test(test_read_plain_keeps_case),
	    cmocka_unit_test(test_read_root_only),
	    cmocka_unit_test(test_read_backward_pointer),
	    cmocka_unit_test(test_read_self_pointer),
	    cmocka_unit_test(test_read_pointer_loop),
	    cmocka_unit_test(test_read_forward_pointer),
	    cmocka_unit_test(test_read_pointer_into_header),
	    cmocka_unit_test(test_read_pointer_beyond_end),
	    cmocka_unit_test(test_read_long_pointer_chain),
	    cmocka_unit_test(test_read_label_types),
	    cmocka_unit_test(test_read_label_length_limit),
	    cmocka_unit_test(test_read_name_length_limit),
	    cmocka_unit_test(test_read_too_long_after_decompression),
	    cmocka_unit_test(test_read_name_at_buffer_edge),
	    cmocka_unit_test(test_read_on_failed_cursor),
	    cmocka_unit_test(test_name_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
