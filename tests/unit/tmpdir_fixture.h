/* SPDX-License-Identifier: MIT */
/* Test fixture shared by the unit tests that work in a scratch directory: made fresh under
 * /tmp for a test (or a group of them) and removed with all it holds afterwards. */
#ifndef NP_TESTS_TMPDIR_FIXTURE_H
#define NP_TESTS_TMPDIR_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Makes a new directory /tmp/np-<what>-XXXXXX, its name in dir: 0, or -1 if it cannot. */
static inline int tmpdir_make(char *dir, size_t size, const char *what)
{
	if ((size_t)snprintf(dir, size, "/tmp/np-%s-XXXXXX", what) >= size)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static inline int tmpdir_remove_one(const char *path, const struct stat *sb, int flag,
                                    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

/* Removes dir and everything below it (symbolic links themselves, not what they name):
 * 0, or -1 if something could not be removed. */
static inline int tmpdir_remove(const char *dir)
{
	return nftw(dir, tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

#endif
