/* SPDX-License-Identifier: MIT */
/* Outbound abuse protection as the daemon holds it (abuse.c): the update budgets, and what
 * the [abuse] section configures. One object, shared by the HTTP threads and the writer;
 * every function is thread-safe. docs/abuse.md says what is measured and why. */
#ifndef NP_ABUSE_ABUSE_H
#define NP_ABUSE_ABUSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"

/* Keys a table remembers: hosts, tokens and sources together. */
#define ABUSE_BUDGET_ENTRIES 65536

struct abuse;

int abuse_new(struct abuse **out, const struct config *cfg);
void abuse_free(struct abuse *a);

/* Takes the [abuse] settings of a reloaded configuration (SIGHUP). */
void abuse_reload(struct abuse *a, const struct config *cfg);

/* The budgets of one update request: the hosts it names (n of them), its token's id ("" or NULL: none),
 * its source. 0 when it may go on (it is counted); else the seconds to wait (429 with
 * Retry-After; nothing was counted). */
unsigned abuse_budget_take(struct abuse *a, const char *const *fqdns, size_t n, const char *token_id,
                           const struct np_addr *src, int64_t now);

#endif
