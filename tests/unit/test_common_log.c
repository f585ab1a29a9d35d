/* SPDX-License-Identifier: MIT */
/* The logger (common/log.h): key=value values quoted and escaped so that nothing sent by
 * a client can add a field or a line, events in both formats, plain lines kept one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

static void test_kv_value(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(log_kv_value(out, sizeof(out), "a.example.org", 13), 13);
	assert_string_equal(out, "a.example.org");
	log_kv_value(out, sizeof(out), "192.0.2.1,2001:db8::1", 21);
	assert_string_equal(out, "192.0.2.1,2001:db8::1");
	log_kv_value(out, sizeof(out), "", 0);
	assert_string_equal(out, "\"\"");
	/* The forgery attempt: a quote, a field, a new line, a NUL, a byte past ASCII. */
	const char evil[] = "bob\" x=1\nlevel=error\0\xff";
	log_kv_value(out, sizeof(out), evil, sizeof(evil) - 1);
	assert_string_equal(out, "\"bob\\\" x=1\\nlevel=error\\x00\\xff\"");
	log_kv_value(out, sizeof(out), "a=b", 3);
	assert_string_equal(out, "\"a=b\"");
	log_kv_value(out, sizeof(out), "back\\slash\ttab\r", 15);
	assert_string_equal(out, "\"back\\\\slash\\ttab\\r\"");
	/* Cut short: never inside an escape, and the quote is closed. */
	char small[8];
	assert_int_equal(log_kv_value(small, sizeof(small), "ab\"cdef", 7), 7);
	assert_string_equal(small, "\"ab\\\"c\"");
	assert_int_equal(log_kv_value(small, 6, "ab\ncd", 5), 4);
	assert_string_equal(small, "\"ab\"");
	assert_int_equal(log_kv_value(small, 4, "abcdef", 6), 3);
	assert_string_equal(small, "abc");
}

/* Runs fn with stderr going to a file; returns what it wrote. */
static void capture(void (*fn)(void), char *out, size_t cap)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fflush(stderr);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), 2) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(f);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void events(void)
{
	log_event(LOG_WARNING, "auth_failure", "source=%s user=%s wait=%u size=%zu id=%lld pct=%%",
	          "192.0.2.1", "bob\" x=1\nforged=1", 4u, (size_t)7, -3LL);
	log_event(LOG_INFO, "update", "host=%.*s result=%s", 5, "a.example.org", "good");
	log_msg(LOG_ERR, "free text with\na new line");
	log_debug("not written: below the level");
}

/* Drops the time stamp ("2026-...Z " or "ts=2026-...Z ") every stderr line starts with. */
static const char *after_time(const char *line)
{
	const char *sp = strchr(line, ' ');
	assert_non_null(sp);
	assert_true(sp[-1] == 'Z');
	return sp + 1;
}

static void test_event_lines(void **state)
{
	(void)state;
	char out[2048];
	log_init("test", true, LOG_INFO);

	log_set_format(LOG_FORMAT_TEXT);
	capture(events, out, sizeof(out));
	char *l1 = out, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	*strchr(l1, '\n') = *strchr(l2, '\n') = '\0';
	assert_string_equal(after_time(l1), "warning: auth_failure: source=192.0.2.1 "
	                                    "user=\"bob\\\" x=1\\nforged=1\" wait=4 size=7 id=-3 "
	                                    "pct=%");
	assert_string_equal(after_time(l2), "info: update: host=a.exa result=good");
	assert_string_equal(after_time(l3), "error: free text with?a new line\n");

	log_set_format(LOG_FORMAT_KV);
	capture(events, out, sizeof(out));
	l1 = out, l2 = strchr(l1, '\n') + 1, l3 = strchr(l2, '\n') + 1;
	*strchr(l1, '\n') = *strchr(l2, '\n') = '\0';
	assert_true(strncmp(l1, "ts=", 3) == 0);
	assert_string_equal(after_time(l1), "level=warning event=auth_failure source=192.0.2.1 "
	                                    "user=\"bob\\\" x=1\\nforged=1\" wait=4 size=7 id=-3 "
	                                    "pct=%");
	assert_string_equal(after_time(l2), "level=info event=update host=a.exa result=good");
	assert_string_equal(after_time(l3), "level=error msg=\"free text with\\na new line\"\n");
	log_set_format(LOG_FORMAT_TEXT);
}

static char held_seen[16384]; /* what stderr had while lines were held */

static void held_lines(void)
{
	log_hold();
	log_event(LOG_INFO, "update", "n=%u", 1u);
	log_event(LOG_WARNING, "update", "n=%u", 2u);
	fflush(stderr);
	long at = lseek(2, 0, SEEK_CUR);
	snprintf(held_seen, sizeof(held_seen), "%ld", at);
	log_release();
	log_event(LOG_INFO, "update", "n=%u", 3u);
	/* More than the 8 KiB held at once: earlier lines go out, none is lost or reordered. */
	char big[1500];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_hold();
	for (unsigned i = 0; i < 12; i++)
		log_event(LOG_INFO, "big", "i=%u v=%s", i, big);
	log_release();
	log_debug("below the level, held or not");
}

static void test_held_lines(void **state)
{
	(void)state;
	static char out[32768];
	log_init("test", true, LOG_INFO);
	log_set_format(LOG_FORMAT_TEXT);
	capture(held_lines, out, sizeof(out));
	assert_string_equal(held_seen, "0"); /* nothing written before the release */
	char *line = out;
	const char *want[3] = {"info: update: n=1", "warning: update: n=2", "info: update: n=3"};
	for (unsigned i = 0; i < 3; i++) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		assert_string_equal(after_time(line), want[i]);
		line = nl + 1;
	}
	for (unsigned i = 0; i < 12; i++) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "info: big: i=%u v=x", i);
		assert_true(strncmp(after_time(line), prefix, strlen(prefix)) == 0);
		assert_int_equal(strlen(after_time(line)), strlen("info: big: i=") + (i < 10 ? 1 : 2) +
		                                               strlen(" v=") + 1499);
		line = nl + 1;
	}
	assert_string_equal(line, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kv_value),
	    cmocka_unit_test(test_event_lines),
	    cmocka_unit_test(test_held_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
