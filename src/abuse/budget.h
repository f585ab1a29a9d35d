/* SPDX-License-Identifier: MIT */
/* Update budgets (budget.c): how many updates a host, a token and a source address may
 * send in a short window and in a day, counted in memory so that the decision never waits
 * for the store. Every function is thread-safe; times are seconds (time_now()). */
#ifndef NP_ABUSE_BUDGET_H
#define NP_ABUSE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

enum budget_scope { BUDGET_HOST = 0, BUDGET_TOKEN, BUDGET_SOURCE, BUDGET_SCOPES };

/* One scope's limits; 0 = no limit of that kind. */
struct budget_limit {
	unsigned per_window; /* updates in any `window` seconds */
	unsigned per_day;    /* updates in any 24 hours */
};

struct budget_limits {
	unsigned window; /* seconds of the short window (deSEC: 2 per 120 s per name) */
	struct budget_limit scope[BUDGET_SCOPES];
};

/* What one update is counted against: a host name, a token, a source. */
struct budget_key {
	enum budget_scope scope;
	uint64_t id; /* budget_key_*() make it */
};

struct budget;

/* A table remembering about `entries` keys; the least recently used one makes room. */
int budget_new(struct budget **out, size_t entries, const struct budget_limits *limits);
void budget_free(struct budget *b);
void budget_set_limits(struct budget *b, const struct budget_limits *limits);

struct budget_key budget_key_host(const struct budget *b, const char *fqdn);
struct budget_key budget_key_token(const struct budget *b, const char *token_id);
/* An IPv4 address, or the /64 of an IPv6 one (one home's network). */
struct budget_key budget_key_source(const struct budget *b, const struct np_addr *a);

/* Whether every limit is 0: budget_take would count nothing and admit everything (the
 * caller may skip making keys). */
bool budget_off(const struct budget *b);

/* Counts one update against every key when all of them are within their limits, and
 * returns 0. When one is not, counts nothing and returns the seconds until every key would
 * admit it (the Retry-After). Duplicate keys count once. */
unsigned budget_take(struct budget *b, const struct budget_key *keys, size_t n, int64_t now);

#endif
