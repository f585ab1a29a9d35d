/* SPDX-License-Identifier: MIT */
/* ACME DNS-01 challenges: TXT values at "_acme-challenge.HOST" for a host of an account.
 * The values live apart from the host's records (store/acme.c); a credential allowed to
 * change type TXT at the challenge name (credential_may with the host's owner) may set
 * them through any door: RFC 2136 UPDATE, the acme-dns "POST /update" and lego's httpreq
 * "POST /present" and "/cleanup". The zone publisher renders them as a node of its own.
 * docs/acme.md describes what clients see. */
#ifndef NP_CORE_ACME_H
#define NP_CORE_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "core/writer.h"
#include "store/store.h"
#include "zone/zone.h"

#define ACME_LABEL "_acme-challenge."
/* Values a challenge name holds at once: a base and a wildcard certificate need two, a
 * few clients renewing at once a few more. */
#define ACME_VALUES_MAX 8
/* One TXT character-string; an ACME value is 43 characters (base64url of SHA-256). */
#define ACME_TXT_MAX STORE_ACME_TXT_MAX
/* A value older than this is stale (its client died before cleaning up): dropped the
 * next time its name changes. */
#define ACME_VALUE_LIFETIME (24 * 3600)
/* The challenge TXT's TTL at most (the zone's ttl when shorter): validators should see a
 * new value at once. */
#define ACME_TTL_MAX 60

/* The host a challenge name is for ("_acme-challenge.home.dyn.example" gives
 * "home.dyn.example"), or NULL when fqdn is not a challenge name. */
const char *acme_host_of(const char *fqdn);

/* Whether v (len bytes) may be a challenge value: 1 to ACME_TXT_MAX printable ASCII
 * characters other than space, '"' and '\' (an ACME value is base64url). */
bool acme_value_ok(const char *v, size_t len);

/* host's values as the next change starts from: stale ones (older than
 * ACME_VALUE_LIFETIME at now) left out. At most ACME_VALUES_MAX. */
int acme_values(struct store *st, int64_t host_id, int64_t now, struct store_acme_txt *out,
                size_t *n) np_mustcheck;

/* Who makes a change, for the host's history. */
struct acme_who {
	const char *protocol; /* "rfc2136", "acme-dns", "httpreq" */
	const char *token_id;
	const struct np_addr *source;
};

/* On the writer thread, inside the transaction: makes host's challenge values exactly
 * values[0..n) (stored values not among them are deleted, new ones added with now), with a
 * history row and the challenge name touched for publication when anything changed.
 * NP_ETOOBIG for more than ACME_VALUES_MAX, NP_EINVAL for a value acme_value_ok refuses:
 * nothing is changed then. */
int acme_set(struct store *st, struct writer_txn *txn, const struct store_host *host,
             const char *const *values, size_t n, const struct acme_who *who,
             bool *changed) np_mustcheck;

/* How often stale values are swept (acme_expire), and how many hosts one sweep cleans. */
#define ACME_SWEEP_SECONDS 3600
#define ACME_SWEEP_HOSTS   256

/* On the writer thread, inside the transaction: removes the values older than
 * ACME_VALUE_LIFETIME at now of up to ACME_SWEEP_HOSTS hosts (history rows with protocol
 * "expiry", challenge names touched). *more says whether hosts were left for the next
 * sweep. */
int acme_expire(struct store *st, struct writer_txn *txn, int64_t now, bool *more) np_mustcheck;

/* The zone node of host_fqdn's challenge name with values v[0..n) as TXT of TTL ttl; NULL
 * on no memory or a bad name. */
struct zone_node *acme_node(const char *host_fqdn, const struct store_acme_txt *v, size_t n,
                            uint32_t ttl);

#endif
