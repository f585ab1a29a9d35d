/* SPDX-License-Identifier: MIT */
/* The store's side of outbound abuse protection (abuse.c): each host's abuse state, its
 * last flux score with the features that explain it, and the log of every change of state
 * (who, when, why). What the states mean is docs/abuse.md's. */
#ifndef NP_STORE_ABUSE_H
#define NP_STORE_ABUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

enum store_abuse_state {
	STORE_ABUSE_OK = 0,
	STORE_ABUSE_WATCH = 1,       /* scored high: listed for the operator, nothing refused */
	STORE_ABUSE_HOLD = 2,        /* address changes refused; the last address still served */
	STORE_ABUSE_QUARANTINED = 3, /* the name answers NXDOMAIN (or the parked address) */
};

/* Whether DNS serves h as quarantined (NXDOMAIN or the parked address): its own state is,
 * or its owner's account is suspended. */
bool store_abuse_withdrawn(const struct store_host *h);

/* The abuse log's word for an account's suspension (a host's log row, new_state or
 * old_state): not a state a host is in; the account holds it. */
#define STORE_ABUSE_SUSPENDED 4

/* "ok", "watch", "hold", "quarantined", "suspended"; "?" for anything else. */
const char *store_abuse_state_name(int state);
/* The state named by text; false when none is. */
bool store_abuse_state_parse(const char *text, enum store_abuse_state *out);

#define STORE_ABUSE_REASONS_MAX  512
#define STORE_ABUSE_FEATURES_MAX 1024
#define STORE_ABUSE_ACTOR_MAX    96

struct store_abuse {
	int64_t host_id;
	char fqdn[CFG_NAME_MAX];
	char user[64];
	int state;
	double score;                            /* the last flux score */
	char reasons[STORE_ABUSE_REASONS_MAX];   /* why the state or score, for a person */
	char features[STORE_ABUSE_FEATURES_MAX]; /* the score's features, a JSON object */
	int64_t scored;                          /* when the score was computed; 0 never */
	int64_t since; /* history before this is not scored (set when a host is restored) */
	bool suspended; /* the owner's account is suspended (the host's state is kept) */
};

/* host_id's record; a host never scored reads as ok with score 0 (NP_OK). NP_ENOTFOUND
 * when there is no such host. */
int store_abuse_get(struct store *st, int64_t host_id, struct store_abuse *out) np_mustcheck;

/* Moves host_id to state, with the reason (kept as the host's reasons when the state is
 * not ok) and a log row naming actor ("ctl:root", "flux", "feed:urlhaus-hostfile"). The
 * blocked flag follows: set for hold and quarantined. A restore to ok also starts the
 * scored history afresh (since = now). Nothing happens (no log row) when the host is in
 * state already. *changed (may be NULL) says whether it moved. */
int store_abuse_set_state(struct store *st, int64_t host_id, enum store_abuse_state state,
                          const char *actor, const char *reason, int64_t now,
                          bool *changed) np_mustcheck;

/* Moves account user_id to state (enum store_user_state) and, when it enters or leaves
 * suspended, writes one log row per host of the account (actor, reason; "suspended" is
 * the row's new or old state) and calls touch(touch_ctx, host) for each (DNS withdraws or
 * serves them again: store_abuse_withdrawn). *changed (may be NULL) says whether the
 * state moved; the same state again is no change and writes nothing. NP_ENOTFOUND: no
 * such account. */
int store_abuse_account_state(struct store *st, int64_t user_id, int state, const char *actor,
                              const char *reason, int64_t now,
                              int (*touch)(void *ctx, const struct store_host *h), void *touch_ctx,
                              bool *changed) np_mustcheck;

/* Records host_id's flux score and its features (JSON text) and reasons. */
int store_abuse_set_score(struct store *st, int64_t host_id, double score, const char *reasons,
                          const char *features, int64_t now) np_mustcheck;

/* Hosts not ok, ordered by fqdn. */
typedef int store_abuse_cb(const struct store_abuse *a, void *ctx);
int store_abuse_list(struct store *st, store_abuse_cb *cb, void *ctx) np_mustcheck;

/* The log, newest first, of one name (fqdn) or of every name (NULL). */
struct store_abuse_log {
	int64_t time;
	const char *fqdn, *actor, *reason;
	int old_state, new_state;
	int64_t ticket; /* the abuse report the decision came from; 0 none */
};
typedef int store_abuse_log_cb(const struct store_abuse_log *l, void *ctx);
int store_abuse_log_list(struct store *st, const char *fqdn, store_abuse_log_cb *cb,
                         void *ctx) np_mustcheck;

/* How often host_id's owner cleared a hold (abuse log rows hold -> ok by actor "owner"). */
int store_abuse_owner_clears(struct store *st, int64_t host_id, unsigned *n) np_mustcheck;

/* The index of the records by address (records_rdata): on makes it when missing (one pass
 * over the records), off drops it. Only store_abuse_addr_hosts reads it, and keeping it
 * costs every address change two more B-tree writes; without it store_abuse_addr_hosts
 * still answers, by a scan of the records. */
int store_abuse_addr_index(struct store *st, bool on) np_mustcheck;

/* The hosts whose records of type hold rdata (an address), at most limit: each one's id
 * and owner (0: none). */
typedef int store_addr_host_cb(int64_t host_id, int64_t user_id, void *ctx);
int store_abuse_addr_hosts(struct store *st, uint16_t type, const uint8_t *rdata, size_t len,
                           size_t limit, store_addr_host_cb *cb, void *ctx) np_mustcheck;

#endif
