/* SPDX-License-Identifier: MIT */
/* Threat feeds read from files (feed.c): address ranges an update may not publish
 * (Spamhaus DROP, ThreatFox ip:port) and host names that may not be served (URLhaus
 * hostfile, ThreatFox domain and url). A loaded set is immutable; a reload makes a new one. */
#ifndef NP_ABUSE_FEED_H
#define NP_ABUSE_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"
#include "common/config.h"

/* Entries of one set, over all its files; more are reported and dropped. */
#define FEED_MAX_ENTRIES 2000000
/* Longest line read; a longer one is malformed. */
#define FEED_LINE_MAX 4096

enum feed_kind { FEED_SPAMHAUS_DROP, FEED_URLHAUS_HOSTFILE, FEED_THREATFOX_CSV, FEED_KINDS };

/* "spamhaus-drop", "urlhaus-hostfile", "threatfox-csv". */
const char *feed_kind_name(enum feed_kind k);
/* Parses "KIND:PATH" (the config value) into kind and the path's offset; false if no kind. */
bool feed_spec_parse(const char *spec, enum feed_kind *kind, const char **path);

/* Called for a line that does not parse (file, line number, why); the rest still loads. */
typedef void feed_report_fn(void *ctx, const char *file, unsigned line, const char *why);

struct feed_set;

/* Loads every "KIND:PATH" of specs. A file that cannot be read is reported (line 0) and
 * skipped. Counts: *n_ranges and *n_names loaded (may be NULL). */
int feed_set_load(const char (*specs)[CFG_FEED_MAX], unsigned n, feed_report_fn *report,
                  void *ctx, struct feed_set **out) np_mustcheck;
void feed_set_free(struct feed_set *fs);
size_t feed_set_ranges(const struct feed_set *fs);
size_t feed_set_names(const struct feed_set *fs);

/* Whether a lies in a listed range; which (may be NULL) gets "spamhaus-drop 192.0.2.0/24
 * SBL123" (the feed, the range and its label). */
bool feed_set_addr(const struct feed_set *fs, const struct np_addr *a, char *which, size_t len);
/* Whether fqdn (lowercase, no trailing dot) is listed; which gets the feed's kind. */
bool feed_set_name(const struct feed_set *fs, const char *fqdn, char *which, size_t len);
/* Every listed name, in order; a non-zero return stops. */
int feed_set_each_name(const struct feed_set *fs,
                       int (*cb)(const char *fqdn, const char *kind, void *ctx), void *ctx);

#endif
