/* SPDX-License-Identifier: MIT */
/* Threat feeds (src/abuse/feed.c) from files the test writes: the three formats, their
 * comments and metadata skipped, bad lines reported with their numbers while the rest
 * loads, overlapping ranges found, names looked up exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abuse/feed.h"
#include "common/err.h"
#include "tmpdir_fixture.h"

static char dir[64];
static unsigned bad_lines[32];
static unsigned n_bad;

static void report(void *ctx, const char *file, unsigned line, const char *why)
{
	(void)ctx;
	(void)file;
	(void)why;
	if (n_bad < 32)
		bad_lines[n_bad++] = line;
}

static void spec(char out[CFG_FEED_MAX], const char *kind, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	snprintf(out, CFG_FEED_MAX, "%s:%s", kind, path);
}

static bool listed(const struct feed_set *fs, const char *ip, char *which)
{
	struct np_addr a;
	assert_int_equal(addr_parse(ip, &a), NP_OK);
	return feed_set_addr(fs, &a, which, 128);
}

static void test_formats(void **state)
{
	(void)state;
	static char specs[3][CFG_FEED_MAX];
	spec(specs[0], "spamhaus-drop", "drop.txt",
	     "; Spamhaus DROP List\n"
	     "10.0.0.0/8 ; SBL1\n"
	     "10.1.2.0/24 ; SBL2\n" /* inside the /8: overlapping */
	     "garbage\n"
	     "{\"cidr\":\"2001:db8::/32\",\"sblid\":\"SBL3\"}\n"
	     "{\"type\":\"metadata\",\"records\":2}\n"
	     "{\"cidr\":\"nope\"}\n");
	spec(specs[1], "urlhaus-hostfile", "hosts.txt",
	     "# comment\n0.0.0.0 Bad.Example.COM\nbare.example.org\n0.0.0.0 two words here\n");
	spec(specs[2], "threatfox-csv", "tf.csv",
	     "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\"\n"
	     "\"2026-01-01\", \"1\", \"c2.example.net\", \"domain\", \"botnet_cc\"\n"
	     "\"2026-01-01\", \"2\", \"https://u:p@pay.example.net:8443/a\", \"url\", \"x\"\n"
	     "\"2026-01-01\", \"3\", \"192.0.2.7:80\", \"ip:port\", \"botnet_cc\"\n"
	     "\"2026-01-01\", \"4\", \"abcdef\", \"md5_hash\", \"x\"\n"
	     "\"unterminated\n");
	struct feed_set *fs;
	n_bad = 0;
	assert_int_equal(feed_set_load((const char(*)[CFG_FEED_MAX])specs, 3, report, NULL, &fs),
	                 NP_OK);
	/* drop.txt lines 4 and 7, hosts.txt line 4, tf.csv line 6. */
	assert_int_equal(n_bad, 4);
	assert_int_equal(bad_lines[0], 4);
	assert_int_equal(bad_lines[1], 7);
	assert_int_equal(bad_lines[2], 4);
	assert_int_equal(bad_lines[3], 6);
	assert_int_equal(feed_set_ranges(fs), 4);
	assert_int_equal(feed_set_names(fs), 4);
	char which[128];
	assert_true(listed(fs, "10.200.0.1", which));
	assert_string_equal(which, "spamhaus-drop 10.0.0.0/8 SBL1");
	assert_true(listed(fs, "10.1.2.3", which));
	assert_true(listed(fs, "10.255.255.255", which)); /* past the /24, still in the /8 */
	assert_false(listed(fs, "11.0.0.0", which));
	assert_false(listed(fs, "9.255.255.255", which));
	assert_true(listed(fs, "2001:db8:1::1", which));
	assert_true(listed(fs, "192.0.2.7", which));
	assert_false(listed(fs, "192.0.2.8", which));
	assert_true(feed_set_name(fs, "bad.example.com", which, sizeof(which)));
	assert_string_equal(which, "urlhaus-hostfile");
	assert_true(feed_set_name(fs, "bare.example.org", NULL, 0));
	assert_true(feed_set_name(fs, "c2.example.net", which, sizeof(which)));
	assert_string_equal(which, "threatfox-csv");
	assert_true(feed_set_name(fs, "pay.example.net", NULL, 0));
	assert_false(feed_set_name(fs, "example.net", NULL, 0));
	feed_set_free(fs);
}

static void test_unreadable_file_is_reported(void **state)
{
	(void)state;
	static char specs[1][CFG_FEED_MAX] = {"spamhaus-drop:/nonexistent/drop.txt"};
	struct feed_set *fs;
	n_bad = 0;
	assert_int_equal(feed_set_load((const char(*)[CFG_FEED_MAX])specs, 1, report, NULL, &fs),
	                 NP_OK);
	assert_int_equal(n_bad, 1);
	assert_int_equal(bad_lines[0], 0);
	assert_int_equal(feed_set_ranges(fs), 0);
	feed_set_free(fs);
}

int main(void)
{
	if (tmpdir_make(dir, sizeof(dir), "feed") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_formats),
	    cmocka_unit_test(test_unreadable_file_is_reported),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	return tmpdir_remove(dir) == 0 ? r : 1;
}
