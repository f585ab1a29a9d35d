/* SPDX-License-Identifier: MIT */
/* Tests of the sensor's spool scan at start: leftovers of interrupted writes go, and every
 * entry under a batch name that is not a regular file of the running user (a symlink, a
 * FIFO, a directory, a hard link to someone else's file) is set aside into rejected/
 * untouched, while the real batches stay and are counted. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"
#include "sensor/sensor.h"
#include "tmpdir_fixture.h"

#define NOBODY 65534

static char tmpdir[64];

static void path_of(char *buf, size_t len, const char *name)
{
	assert_true((size_t)snprintf(buf, len, "%s/%s", tmpdir, name) < len);
}

static void write_file(const char *name, const char *text)
{
	char p[256];
	path_of(p, sizeof(p), name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *name)
{
	char p[256];
	struct stat sb;
	path_of(p, sizeof(p), name);
	return lstat(p, &sb) == 0;
}

static int setup(void **state)
{
	(void)state;
	return tmpdir_make(tmpdir, sizeof(tmpdir), "sensor-spool");
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

#define B(i) "b00000000000100" #i "-00000" #i "-0123456789abcdef.json"

static void test_scan_sets_aside_what_is_not_ours(void **state)
{
	(void)state;
	char spool[128], p[256], target[256];
	struct sensor_spool s;
	path_of(spool, sizeof(spool), "spool");
	assert_int_equal(sensor_spool_open(&s, spool, 1 << 20, (uid_t)-1, (gid_t)-1), NP_OK);

	write_file("spool/" B(1), "{\"batch\":\"1\",\"events\":[]}");
	write_file("spool/" B(2), "{\"batch\":\"2\",\"events\":[]}");
	write_file("spool/.tmp-0123", "partial");
	write_file("outside", "not a batch");
	path_of(target, sizeof(target), "outside");
	path_of(p, sizeof(p), "spool/" B(3));
	assert_int_equal(symlink(target, p), 0);
	path_of(p, sizeof(p), "spool/" B(4));
	assert_int_equal(mkfifo(p, 0600), 0);
	path_of(p, sizeof(p), "spool/" B(5));
	assert_int_equal(mkdir(p, 0700), 0);
	/* As root: a hard link to a file of another user is that user's, and stays so. */
	bool root = geteuid() == 0;
	if (root) {
		assert_int_equal(chown(target, 0, 0), 0);
		write_file("foreign", "someone else's");
		char foreign[256];
		path_of(foreign, sizeof(foreign), "foreign");
		assert_int_equal(chown(foreign, NOBODY, NOBODY), 0);
		path_of(p, sizeof(p), "spool/" B(6));
		assert_int_equal(link(foreign, p), 0);
	}

	assert_int_equal(sensor_spool_scan(&s), NP_OK);
	assert_false(exists("spool/.tmp-0123"));
	assert_true(exists("spool/" B(1)) && exists("spool/" B(2)));
	assert_int_equal(s.bytes, 2 * strlen("{\"batch\":\"1\",\"events\":[]}"));
	static const char *const aside[] = {B(3), B(4), B(5), B(6)};
	for (size_t i = 0; i < (root ? 4u : 3u); i++) {
		char in_spool[160], in_rej[160];
		snprintf(in_spool, sizeof(in_spool), "spool/%s", aside[i]);
		snprintf(in_rej, sizeof(in_rej), "spool/rejected/%s", aside[i]);
		assert_false(exists(in_spool));
		assert_true(exists(in_rej));
	}
	/* What the entries point to is untouched. */
	struct stat sb;
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_uid, root ? 0 : geteuid());
	if (root) {
		path_of(p, sizeof(p), "foreign");
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_uid, NOBODY);
	}

	/* Only the batches are listed for the pusher. */
	char **names;
	size_t n;
	assert_int_equal(sensor_spool_list(&s, &names, &n), NP_OK);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], B(1));
	assert_string_equal(names[1], B(2));
	sensor_spool_list_free(names, n);
	sensor_spool_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_scan_sets_aside_what_is_not_ours, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
