/* SPDX-License-Identifier: MIT */
/* Fuzz target: bytes as a threat feed file (the first byte picks the kind: DROP, URLhaus
 * host file, ThreatFox CSV) through the loader; checks that every name it kept is found
 * again and that the counts stay within the lines. Feeds come from third parties. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abuse/feed.h"
#include "fuzz.h"

static void ignore(void *ctx, const char *file, unsigned line, const char *why)
{
	(void)file;
	(void)why;
	CHECK(line > 0);
	(*(unsigned *)ctx)++;
}

static int found(const char *fqdn, const char *kind, void *ctx)
{
	const struct feed_set *fs = ctx;
	char which[32];
	CHECK(feed_set_name(fs, fqdn, which, sizeof(which)));
	CHECK(strcmp(which, kind) == 0);
	CHECK(strchr(fqdn, '.') != NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"spamhaus-drop", "urlhaus-hostfile", "threatfox-csv"};
	if (size < 1)
		return 0;
	int fd = memfd_create("feed", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		return 0;
	}
	static char spec[1][CFG_FEED_MAX];
	snprintf(spec[0], sizeof(spec[0]), "%s:/proc/self/fd/%d", kinds[data[0] % 3], fd);
	unsigned bad = 0;
	struct feed_set *fs;
	if (feed_set_load((const char(*)[CFG_FEED_MAX])spec, 1, ignore, &bad, &fs) == 0) {
		size_t lines = 1;
		for (size_t i = 1; i < size; i++)
			lines += data[i] == '\n';
		CHECK(feed_set_ranges(fs) + feed_set_names(fs) + bad <= lines);
		feed_set_each_name(fs, found, fs);
		struct np_addr a = {.family = AF_INET};
		feed_set_addr(fs, &a, NULL, 0);
		feed_set_free(fs);
	}
	close(fd);
	return 0;
}
