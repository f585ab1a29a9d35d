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
#include "store/store.h"

/* Keys a table remembers: hosts, tokens and sources together. */
#define ABUSE_BUDGET_ENTRIES 65536

/* Accounts and sources the creation budget remembers. */
#define ABUSE_CREATE_ENTRIES 16384

struct abuse;

int abuse_new(struct abuse **out, const struct config *cfg);
void abuse_free(struct abuse *a);

/* Takes the [abuse] settings of a reloaded configuration (SIGHUP). */
void abuse_reload(struct abuse *a, const struct config *cfg);

/* Makes st fit cfg's flux judgement: the index of the records by address, which only the
 * judgement reads (how many accounts already hold a new address), is kept while it is on
 * and dropped while every flux line is 0 (store_abuse_addr_index says what it costs). On
 * the writer's connection, or before the writer starts; before abuse_reload when the new
 * configuration turns the judgement on, after it when it turns it off, so that no update is
 * judged without the index. */
int abuse_fit_store(struct store *st, const struct config *cfg) np_mustcheck;

/* Whether cfg computes a flux score at all (a line above 0). */
bool abuse_flux_on(const struct config *cfg);

/* The budgets of one update request: the hosts it names (n of them), its token's id ("" or NULL: none),
 * its source. 0 when it may go on (it is counted); else the seconds to wait (429 with
 * Retry-After; nothing was counted). */
unsigned abuse_budget_take(struct abuse *a, const char *const *fqdns, size_t n, const char *token_id,
                           const struct np_addr *src, int64_t now);

/* The creation budget of a new host by account user_id from src ([abuse]
 * create_per_account_hour, create_per_source_hour): 0 when it may go on (it is counted),
 * else the seconds to wait. */
unsigned abuse_create_take(struct abuse *a, int64_t user_id, const struct np_addr *src,
                           int64_t now);

/* The budget of abuse reports from src ([abuse] reports_per_source_hour): as above. */
unsigned abuse_report_take(struct abuse *a, const struct np_addr *src, int64_t now);

/* Whether address a lies in a range a threat feed lists (an update to it is refused);
 * which (may be NULL) gets the feed, the range and its label. */
bool abuse_addr_listed(struct abuse *a, const struct np_addr *addr, char *which, size_t len);

/* Moves every host of ours (in cfg's zones) that a hostname feed lists to quarantined,
 * logged with actor "feed:KIND"; touch(touch_ctx, fqdn) for each one moved (so DNS drops
 * it). Runs inside the caller's transaction. *moved (may be NULL) counts them. */
int abuse_quarantine_listed(struct abuse *a, struct store *st, const struct config *cfg,
                            int (*touch)(void *ctx, const char *fqdn), void *touch_ctx,
                            int64_t now, unsigned *moved) np_mustcheck;

/* The flux score of host h's history as it stands (no change judged), with its features
 * as JSON, for its owner: a home line's scores are not stored (abuse_judge), yet every
 * score is explained. NP_ENOTFOUND when the flux judgement is off. Reads only. */
int abuse_explain(struct abuse *a, struct store *st, const struct store_host *h, int64_t now,
                  double *score, char *json, size_t len) np_mustcheck;

/* Judges an address change of host h (to cand, n of them) by its flux score, inside the
 * writer's transaction: the score and its features are stored, and the host's state is
 * raised to what they call for (logged with actor "flux"; a watch whose score fell back is
 * ok again). *state gets the state after it: at hold or above the change must not be
 * applied. With every flux line at 0 ([abuse] watch_score, hold_score, quarantine_score,
 * shared_accounts) nothing is measured or stored: *state is h's state as read. */
int abuse_judge(struct abuse *a, struct store *st, const struct store_host *h,
                const struct np_addr *cand, size_t n, int64_t now, int *state) np_mustcheck;

/* The same over a feed set the caller loaded (nameplatectl feed reload). */
struct feed_set;
int abuse_quarantine_names(const struct feed_set *fs, struct store *st, const struct config *cfg,
                           int (*touch)(void *ctx, const char *fqdn), void *touch_ctx,
                           int64_t now, unsigned *moved) np_mustcheck;

#endif
