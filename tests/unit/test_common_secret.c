/* SPDX-License-Identifier: MIT */
/* Tests of the secret-file reader every binary uses (client secret files, the sensor's
 * token file, the mail relay's password_file): its permission rule, bounds and messages. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/macros.h"
#include "common/secret.h"
#include "common/str.h"
#include "tmpdir_fixture.h"

static char tmpdir[64];
static char path[128];
static char out[32];
static size_t n;
static char err[512];

static void write_bytes(const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void write_file(const char *text, mode_t mode)
{
	write_bytes(text, strlen(text), mode);
}

static int rd(void)
{
	n = 0;
	return secret_file_read(path, "secret file", "one line of text", out, sizeof(out), &n, err,
	                        sizeof(err));
}

/* The call fails with exactly "secret file PATH <msg>". */
static void expect_refused(int code, const char *msg)
{
	char want[512];
	assert_int_equal(rd(), code);
	snprintf(want, sizeof(want), "secret file %s %s", path, msg);
	assert_string_equal(err, want);
	/* Nothing of the file stays in the caller's buffer. */
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);
}

static int setup(void **state)
{
	(void)state;
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "secret") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

static void test_private_file_accepted(void **state)
{
	(void)state;
	write_file("hunter2\n", 0600);
	assert_int_equal(rd(), NP_OK);
	assert_string_equal(out, "hunter2");
	assert_int_equal(n, 7);
	/* Read-only for the owner is as private; CRLF and trailing blanks are the line end. */
	write_file("hunter2 \r\n", 0400);
	assert_int_equal(rd(), NP_OK);
	assert_string_equal(out, "hunter2");
	/* No line end at all; inner spaces stay. */
	write_file("a b", 0600);
	assert_int_equal(rd(), NP_OK);
	assert_string_equal(out, "a b");
}

static void test_group_or_other_access_refused(void **state)
{
	(void)state;
	/* Any bit for group or others, read, write or execute, refuses the file. */
	static const mode_t modes[] = {0640, 0644, 0604, 0620, 0610, 0602, 0601, 0660, 0666};
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		write_file("hunter2\n", modes[i]);
		expect_refused(NP_EINVAL, "is readable by others (chmod 600)");
	}
}

static void test_owner_must_be_reader_or_root(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	write_file("hunter2\n", 0600);
	assert_int_equal(chown(path, 65534, 65534), 0);
	expect_refused(NP_EINVAL, "belongs to uid 65534: it must belong to root or to the user "
	                          "reading it");
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(rd(), NP_OK);
}

static void test_too_long_refused(void **state)
{
	(void)state;
	char text[sizeof(out) + 1];
	/* sizeof(out) - 1 bytes fit; one more does not. */
	memset(text, 'x', sizeof(text));
	text[sizeof(out) - 1] = '\0';
	write_file(text, 0600);
	assert_int_equal(rd(), NP_OK);
	assert_int_equal(n, sizeof(out) - 1);
	text[sizeof(out) - 1] = 'x';
	text[sizeof(out)] = '\0';
	write_file(text, 0600);
	char msg[64];
	snprintf(msg, sizeof(msg), "holds more than %zu bytes", sizeof(out) - 1);
	expect_refused(NP_EINVAL, msg);
}

static void test_content_refused(void **state)
{
	(void)state;
	write_bytes("hun\0ter2\n", 9, 0600);
	expect_refused(NP_EINVAL, "must hold one line of text");
	write_file("", 0600);
	expect_refused(NP_EINVAL, "must hold one line of text");
	write_file("\n\n", 0600);
	expect_refused(NP_EINVAL, "must hold one line of text");
	write_file("line one\nline two\n", 0600);
	expect_refused(NP_EINVAL, "must hold one line of text");
	write_file("tab\there\n", 0600);
	expect_refused(NP_EINVAL, "must hold one line of text");
	write_file("del\x7f\n", 0600);
	expect_refused(NP_EINVAL, "must hold one line of text");
}

static void test_missing_or_not_regular(void **state)
{
	(void)state;
	unlink(path);
	assert_int_equal(rd(), NP_EIO);
	char want[256];
	snprintf(want, sizeof(want), "cannot open secret file %s: No such file or directory", path);
	assert_string_equal(err, want);

	/* A FIFO neither hangs the reader nor passes. */
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_refused(NP_EINVAL, "is not a regular file");
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_refused(NP_EINVAL, "is not a regular file");
	rmdir(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_private_file_accepted),
	    cmocka_unit_test(test_group_or_other_access_refused),
	    cmocka_unit_test(test_owner_must_be_reader_or_root),
	    cmocka_unit_test(test_too_long_refused),
	    cmocka_unit_test(test_content_refused),
	    cmocka_unit_test(test_missing_or_not_regular),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
