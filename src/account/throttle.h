/* SPDX-License-Identifier: MIT */
/* Throttling failed authentication per source and per credential (throttle.c): HTTP's
 * (dyndns2, the API, the status and check pages) and RFC 2136 UPDATE's, each with a
 * throttle of its own. Every function is thread-safe. Times are time_mono_ms() values. */
#ifndef NP_ACCOUNT_THROTTLE_H
#define NP_ACCOUNT_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct throttle;

/* A throttle remembering about `entries` sources, credentials and known networks each. */
int throttle_new(struct throttle **out, size_t entries);
void throttle_free(struct throttle *t);

/* 0 when src may try user's credential now; else the seconds it must wait (429). An empty
 * user (a token, or no credential at all) is limited per source only: otherwise everyone's
 * failures with "" would lock out everyone else. */
unsigned throttle_check(struct throttle *t, const struct np_addr *src, const char *user,
                        int64_t now);
/* An attempt failed (what: "dyndns2", "status", ...): counted, and logged at a bounded rate
 * with the source and user. */
void throttle_failed(struct throttle *t, const struct np_addr *src, const char *user,
                     const char *what, int64_t now);
/* An attempt proved the credential: the source's failures are forgotten and its network
 * becomes known to the credential. */
void throttle_succeeded(struct throttle *t, const struct np_addr *src, const char *user,
                        int64_t now);

#endif
