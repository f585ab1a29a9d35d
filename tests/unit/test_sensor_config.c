/* SPDX-License-Identifier: MIT */
/* Tests of the sensor's config parser: a full file, defaults, repeatable keys, the token
 * file and its mode, and "FILE:LINE: message" errors for every kind of mistake. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "common/macros.h"
#include "common/str.h"
#include "sensor/sensor.h"
#include "tmpdir_fixture.h"

static char tmpdir[64];
static char cfgpath[128];
static char tokpath[128];
static struct sensor_cfg *cfg;
static char err[1024];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "sensor-cfg") != 0)
		return -1;
	snprintf(cfgpath, sizeof(cfgpath), "%s/sensor.conf", tmpdir);
	snprintf(tokpath, sizeof(tokpath), "%s/sensor.token", tmpdir);
	cfg = calloc(1, sizeof(*cfg));
	return cfg == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	free(cfg);
	return tmpdir_remove(tmpdir);
}

/* Loads text (with TOKEN replaced by the token file's name) and returns the result. */
static int load(const char *text)
{
	char buf[4096];
	const char *at = strstr(text, "TOKEN");
	if (at != NULL)
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - text), text, tokpath, at + 5);
	else
		snprintf(buf, sizeof(buf), "%s", text);
	write_file(cfgpath, buf, 0644);
	return sensor_config_load(cfgpath, cfg, err, sizeof(err));
}

static void test_full_file(void **state)
{
	(void)state;
	write_file(tokpath, "s1:Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhx\n", 0600);
	int r = load("; a sensor\n"
	             "[sensor]\n"
	             "server = http://127.0.0.1:8053/   ; nameplated\n"
	             "token_file = TOKEN\n"
	             "spool_dir = spool\n"
	             "user = nobody\n"
	             "batch_interval = 5\n"
	             "batch_max = 20000\n"
	             "spool_max_mb = 16\n"
	             "research = 192.0.2.0/24 198.51.100.0/24\n"
	             "research = 2001:db8::/32,203.0.113.0/24\n"
	             "log_level = debug\n"
	             "\n"
	             "[telnet]\n"
	             "listen = 127.0.0.1:2323\n"
	             "listen = [::1]:2323\n"
	             "[http]\n"
	             "listen = 127.0.0.1:8080\n"
	             "[plain]\n"
	             "listen = 127.0.0.1:37215\n"
	             "listen = 127.0.0.1:7547\n"
	             "[darknet]\n"
	             "interface = eth1\n"
	             "addresses = 198.51.100.0/24\n");
	assert_int_equal(r, NP_OK);
	assert_string_equal(cfg->server, "http://127.0.0.1:8053");
	assert_string_equal(cfg->url, "http://127.0.0.1:8053/api/v1/sensor/batch");
	assert_string_equal(cfg->token, "s1:Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhx");
	char want[200];
	snprintf(want, sizeof(want), "%s/spool", tmpdir);
	assert_string_equal(cfg->spool_dir, want); /* relative to the config file */
	assert_string_equal(cfg->user, "nobody");
	assert_int_equal(cfg->batch_interval, 5);
	assert_int_equal(cfg->batch_max, 20000);
	assert_int_equal(cfg->spool_max_mb, 16);
	assert_int_equal(cfg->n_research, 4);
	assert_int_equal(cfg->research[2].prefix, 32);
	assert_int_equal(cfg->research[2].addr.family, AF_INET6);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(cfg->n_listen[SVC_TELNET], 2);
	assert_int_equal(cfg->n_listen[SVC_HTTP], 1);
	assert_int_equal(cfg->n_listen[SVC_PLAIN], 2);
	assert_int_equal(cfg->listen[SVC_TELNET][1].addr.ss_family, AF_INET6);
	assert_string_equal(cfg->listen[SVC_PLAIN][1].text, "127.0.0.1:7547");
	assert_string_equal(cfg->interface, "eth1");
	assert_int_equal(cfg->n_addresses, 1);
}

static void test_defaults(void **state)
{
	(void)state;
	write_file(tokpath, "edge-1.lab:secret\n", 0400);
	int r = load("[sensor]\nserver = https://np.example\ntoken_file = TOKEN\n"
	             "[darknet]\ninterface = veth0\n");
	assert_int_equal(r, NP_OK);
	assert_string_equal(cfg->spool_dir, "/var/lib/nameplate-sensor");
	assert_string_equal(cfg->user, "");
	assert_int_equal(cfg->batch_interval, 2);
	assert_int_equal(cfg->batch_max, 5000);
	assert_int_equal(cfg->spool_max_mb, 256);
	assert_int_equal(cfg->n_research, 0);
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_int_equal(
	    cfg->n_listen[SVC_TELNET] + cfg->n_listen[SVC_HTTP] + cfg->n_listen[SVC_PLAIN], 0);
	assert_int_equal(cfg->n_addresses, 0);
}

struct bad {
	const char *text;
	const char *err; /* expected after "path:" */
};

#define HEAD "[sensor]\nserver = http://127.0.0.1:8053\ntoken_file = TOKEN\n"

static void test_errors(void **state)
{
	(void)state;
	write_file(tokpath, "s1:secret\n", 0600);
	static const struct bad bad[] = {
	    {HEAD "bogus = 1\n", "4: unknown key 'bogus' in [sensor]"},
	    {HEAD "[telnet]\nlisten = 127.0.0.1:23\n[ssh]\n", "6: unknown section [ssh]"},
	    {HEAD "[telnet]\nlisten = 127.0.0.1:23\n[telnet]\n", "6: duplicate section [telnet]"},
	    {HEAD "user = a\nuser = b\n[telnet]\nlisten = 127.0.0.1:23\n",
	     "5: duplicate key 'user' in [sensor]"},
	    {"server = x\n", "1: key 'server' outside of any section"},
	    {HEAD "batch_interval = 0\n", "4: bad value for 'batch_interval': must be 1..3600"},
	    {HEAD "batch_max = 20001\n", "4: bad value for 'batch_max'"},
	    {HEAD "spool_max_mb = -1\n", "4: bad value for 'spool_max_mb'"},
	    {HEAD "log_level = loud\n", "4: bad value for 'log_level'"},
	    {HEAD "research = 192.0.2.0/33\n", "4: bad value for 'research'"},
	    {HEAD "research =\n", "4: bad value for 'research'"},
	    {HEAD "[telnet]\nlisten = 127.0.0.1\n", "5: bad value for 'listen'"},
	    {HEAD "[telnet]\nlisten = 127.0.0.1:23\n[plain]\nlisten = 127.0.0.1:23\n",
	     "7: bad value for 'listen': 127.0.0.1:23 is already a listen address"},
	    {HEAD "[http]\n", "4: [http] needs at least one 'listen'"},
	    {HEAD "[darknet]\naddresses = 198.51.100.0/24\n",
	     "4: missing 'interface' in [darknet]"},
	    {HEAD "[darknet]\ninterface = a/b\n", "5: bad value for 'interface'"},
	    {HEAD, "1: nothing to observe"},
	    {"[telnet]\nlisten = 127.0.0.1:23\n", "1: missing section [sensor]"},
	    {"[sensor]\ntoken_file = TOKEN\n[telnet]\nlisten = 127.0.0.1:23\n",
	     "1: missing 'server' in [sensor]"},
	    {"[sensor]\nserver = ftp://x\n", "2: bad value for 'server'"},
	    {"[sensor]\nserver = http://u:p@x\n", "2: bad value for 'server'"},
	    {"[sensor]\nserver = http://x/?a=b\n", "2: bad value for 'server'"},
	    {HEAD "[telnet]\nlisten 127.0.0.1:23\n", "5: unknown key 'listen 127.0.0.1'"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(load(bad[i].text), NP_EINVAL);
		char want[600];
		snprintf(want, sizeof(want), "%s:%s", cfgpath, bad[i].err);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, err, want);
		assert_string_equal(cfg->token, "");
	}
}

static void test_token_file(void **state)
{
	(void)state;
	static const char text[] = HEAD "[telnet]\nlisten = 127.0.0.1:2323\n";
	write_file(tokpath, "s1:secret\n", 0640);
	assert_int_equal(load(text), NP_EINVAL);
	assert_non_null(strstr(err, "readable by others (chmod 600)"));
	assert_non_null(strstr(err, ":3: ")); /* the token_file line */

	static const char *const bad[] = {"",      "nocolon\n",    ":secret\n", "Bad:secret\n",
	                                  "s1:\n", "s1:se cret\n", "s1:a\nb\n"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_file(tokpath, bad[i], 0600);
		assert_int_equal(load(text), NP_EINVAL);
		if (strstr(err, "must hold one line NAME:SECRET") == NULL)
			fail_msg("token %zu: %s", i, err);
	}
	unlink(tokpath);
	assert_int_equal(load(text), NP_EINVAL);
	assert_non_null(strstr(err, "cannot open token file"));
	write_file(tokpath, "s1:secret\n", 0600);
	assert_int_equal(load(text), NP_OK);
	assert_string_equal(cfg->token, "s1:secret");
}

static void test_sensor_name(void **state)
{
	(void)state;
	assert_true(name_ok("s1", 2));
	assert_true(name_ok("edge-1.lab_x", 12));
	assert_false(name_ok("", 0));
	assert_false(name_ok("-a", 2));
	assert_false(name_ok("A", 1));
	assert_false(name_ok("a:b", 3));
	char long_name[65];
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	assert_true(name_ok(long_name, 63));
	assert_false(name_ok(long_name, 64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_file),   cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_errors),      cmocka_unit_test(test_token_file),
	    cmocka_unit_test(test_sensor_name),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
