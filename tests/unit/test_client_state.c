/* SPDX-License-Identifier: MIT */
/* Tests of the client's state files: a round trip of every field, a missing file, modes
 * (0700 directory, 0600 file), atomic replacement, and refusal of damaged files. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client.h"
#include "common/str.h"
#include "tmpdir_fixture.h"

static char tmpdir[64];
static char statedir[128];

static int setup(void **state)
{
	(void)state;
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "cstate") != 0)
		return -1;
	snprintf(statedir, sizeof(statedir), "%s/sub/state", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

static unsigned count_files(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_missing_file_is_empty(void **state)
{
	(void)state;
	struct host_state st;
	memset(&st, 0xaa, sizeof(st));
	assert_int_equal(state_load(statedir, "home.dyn.example", &st), NP_OK);
	assert_int_equal(st.last_class, RESULT_NONE);
	assert_false(st.latched);
	assert_int_equal(st.v4.family, 0);
	assert_int_equal(st.failures, 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct host_state st, back;
	memset(&st, 0, sizeof(st));
	assert_int_equal(addr_parse("203.0.113.7", &st.v4), NP_OK);
	assert_int_equal(addr_parse("2001:db8::7", &st.v6), NP_OK);
	st.last_class = RESULT_FATAL;
	np_strlcpy(st.last_code, "badauth", sizeof(st.last_code));
	np_strlcpy(st.last_message, "the server refused \"it\"\n", sizeof(st.last_message));
	st.last_attempt = 1700000000;
	st.last_success = 1690000000;
	st.latched = true;
	for (int i = 0; i < 32; i++) {
		st.latch_digest[i] = (uint8_t)(i * 7);
		st.ok_digest[i] = (uint8_t)(255 - i);
	}
	st.failures = 3;
	st.next_attempt = 1700000600;
	assert_int_equal(state_save(statedir, "home.dyn.example", &st), NP_OK);
	assert_int_equal(state_load(statedir, "home.dyn.example", &back), NP_OK);
	assert_true(addr_equal(&back.v4, &st.v4));
	assert_true(addr_equal(&back.v6, &st.v6));
	assert_int_equal(back.last_class, RESULT_FATAL);
	assert_string_equal(back.last_code, "badauth");
	/* Control characters are stored escaped. */
	assert_string_equal(back.last_message, "the server refused \"it\"?");
	assert_int_equal(back.last_attempt, st.last_attempt);
	assert_int_equal(back.last_success, st.last_success);
	assert_true(back.latched);
	assert_memory_equal(back.latch_digest, st.latch_digest, 32);
	assert_memory_equal(back.ok_digest, st.ok_digest, 32);
	assert_int_equal(back.failures, 3);
	assert_int_equal(back.next_attempt, st.next_attempt);

	/* Modes: the directory 0700, the file 0600, and no temporary file left behind. */
	struct stat sb;
	char path[256];
	assert_int_equal(stat(statedir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/home.dyn.example.state", statedir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(count_files(statedir), 1);

	/* A second save replaces the first; a host without addresses stores none. */
	memset(&st, 0, sizeof(st));
	st.last_class = RESULT_OK;
	np_strlcpy(st.last_code, "good", sizeof(st.last_code));
	assert_int_equal(state_save(statedir, "home.dyn.example", &st), NP_OK);
	assert_int_equal(state_load(statedir, "home.dyn.example", &back), NP_OK);
	assert_int_equal(back.v4.family, 0);
	assert_int_equal(back.v6.family, 0);
	assert_false(back.latched);
	assert_int_equal(back.last_class, RESULT_OK);
	assert_int_equal(count_files(statedir), 1);
}

static void write_state(const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/bad.dyn.example.state", statedir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_damaged_files_are_refused(void **state)
{
	(void)state;
	struct host_state st;
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[]",
	    "{\"version\": 2}",
	    "{\"version\": 1, \"ipv4\": \"2001:db8::1\"}",
	    "{\"version\": 1, \"ipv4\": \"1.2.3\"}",
	    "{\"version\": 1, \"last_class\": \"weird\"}",
	    "{\"version\": 1, \"latched\": 1}",
	    "{\"version\": 1, \"failures\": -1}",
	    "{\"version\": 1, \"latch_digest\": \"zz\"}",
	    "{\"version\": 1, \"version\": 1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_state(bad[i]);
		memset(&st, 0x55, sizeof(st));
		assert_int_not_equal(state_load(statedir, "bad.dyn.example", &st), NP_OK);
		assert_false(st.latched); /* zeroed on failure */
		assert_int_equal(st.last_class, RESULT_NONE);
	}
	write_state("{\"version\": 1}");
	assert_int_equal(state_load(statedir, "bad.dyn.example", &st), NP_OK);
}

static void test_bad_names_are_refused(void **state)
{
	(void)state;
	struct host_state st;
	memset(&st, 0, sizeof(st));
	assert_int_not_equal(state_save(statedir, "../escape", &st), NP_OK);
	assert_int_not_equal(state_save(statedir, "", &st), NP_OK);
	assert_int_not_equal(state_load(statedir, "a/b", &st), NP_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_file_is_empty),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_damaged_files_are_refused),
	    cmocka_unit_test(test_bad_names_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
