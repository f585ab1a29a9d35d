/* SPDX-License-Identifier: MIT */
/* The flux score of a host name (flux.c): features of its update history over a window
 * (as an authoritative DDNS server sees it: every address it was given), the Holz et al.
 * linear score over them, and the state they call for. docs/abuse.md explains the numbers. */
#ifndef NP_ABUSE_FLUX_H
#define NP_ABUSE_FLUX_H

#include <stddef.h>
#include <stdint.h>

#include "abuse/asn.h"
#include "abuse/feed.h"
#include "common/addr.h"
#include "store/abuse.h"
#include "store/store.h"

/* Holz, Gorecki, Rieck, Freiling (NDSS 2008): f = 1.32 n_A + 18.54 n_ASN, flux if > 142.38. */
#define FLUX_HOLZ_A    1.32
#define FLUX_HOLZ_ASN  18.54
#define FLUX_HOLZ_FLUX 142.38
/* Changes in an hour beyond which each adds FLUX_RATE_WEIGHT (a home line changes a few
 * times a day; a dual-stack router's two families are two changes), counted at most as
 * many as the distinct addresses of the window. */
#define FLUX_RATE_FREE   6
#define FLUX_RATE_WEIGHT 5.0
/* Each address of the window that a feed lists. */
#define FLUX_FEED_WEIGHT 100.0
/* History rows read per judgement (a bound on the work; more are not needed to cross). */
#define FLUX_MAX_ROWS 2000

struct flux_params {
	unsigned window;           /* seconds of history scored */
	double watch, hold, quarantine; /* score thresholds */
	unsigned shared_accounts;  /* unrelated accounts on one address: at least watch */
};

struct flux_features {
	unsigned addrs;           /* distinct addresses (IPv4 and IPv6) in the window */
	unsigned asns;            /* distinct ASNs (an address without one: its network) */
	unsigned nets;            /* distinct IPv4 /16s and IPv6 /32s */
	unsigned changes;         /* address changes in the window */
	unsigned changes_hour;    /* in the last hour */
	unsigned shared_accounts; /* other accounts whose hosts hold one of the new addresses */
	unsigned feed_hits;       /* addresses of the window in a feed's ranges */
	double holz;              /* 1.32 addrs + 18.54 asns */
	double score; /* holz + 5 (min(changes_hour, addrs) - 6)+ + 100 feed_hits */
};

/* Measures host_id's history from `since` (the window start, or its restore if later) to
 * now with the addresses the update would publish (cand, n_cand). asn and feeds may be
 * NULL. */
int flux_measure(struct store *st, const struct asn_db *asn, const struct feed_set *feeds,
                 int64_t host_id, int64_t user_id, int64_t since, const struct np_addr *cand,
                 size_t n_cand, int64_t now, struct flux_features *out) np_mustcheck;

/* The state the features call for, with reasons for a person. */
enum store_abuse_state flux_state(const struct flux_features *f, const struct flux_params *p,
                                  char *reasons, size_t len);

/* The features as a JSON object (the explanation stored with the score). */
void flux_json(const struct flux_features *f, char *out, size_t len);

#endif
