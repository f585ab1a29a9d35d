/* SPDX-License-Identifier: MIT */
/* Replays committed fuzz corpora without libFuzzer: every file named on the command line,
 * or found in a directory named there, goes once through LLVMFuzzerTestOneInput. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (1 << 20) /* libFuzzer's default -max_len is far below this */

/* Runs one file; returns 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
	int ret = -1;
	uint8_t *buf = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		goto fail;
	buf = malloc(REPLAY_MAX_INPUT);
	if (buf == NULL)
		goto fail;
	size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	if (ferror(f))
		goto fail;
	/* A copy of exactly n bytes, so ASAN catches reads past the input. */
	uint8_t *input = malloc(n > 0 ? n : 1);
	if (input == NULL)
		goto fail;
	memcpy(input, buf, n);
	LLVMFuzzerTestOneInput(input, n);
	free(input);
	ret = 0;
fail:
	if (ret != 0)
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
	free(buf);
	if (f != NULL)
		fclose(f);
	return ret;
}

/* Runs every regular file in dir (not recursive). Returns how many, or -1. */
static long replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	long count = 0;
	char path[4096];
	struct dirent *e;
	for (e = readdir(d); e != NULL; e = readdir(d)) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path) != 0) {
			closedir(d);
			return -1;
		}
		count++;
	}
	closedir(d);
	return count;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long n;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			n = replay_dir(argv[i]);
		else
			n = replay_file(argv[i]) == 0 ? 1 : -1;
		if (n <= 0) {
			if (n == 0)
				fprintf(stderr, "replay: %s: no inputs\n", argv[i]);
			return 1;
		}
		printf("replayed %ld inputs from %s\n", n, argv[i]);
	}
	return 0;
}
