/* SPDX-License-Identifier: MIT */
/* The key rolls of a signed zone (docs/dnssec.md).
 *
 * The ZSK rolls automatically, by pre-publication (RFC 7583 3.2.1):
 *
 *   1. dnssec_zsk_lifetime - P after the active ZSK began to sign, a new ZSK is published in
 *      the DNSKEY RRset without signing anything;
 *   2. P after that, every resolver that holds the DNSKEY RRset has the new key too: it
 *      becomes the signing key (the zone is signed anew with it) and the old one is retired,
 *      still published, since signatures made with it may still be cached;
 *   3. R after that, those have expired from every cache: the old key is removed.
 *
 * The KSK rolls when the operator starts it (nameplatectl zone ksk-roll), by double-KSK
 * (RFC 7583 3.3.1), the parent told through CDS and CDNSKEY (RFC 7344):
 *
 *   1. a new KSK is "published": in DNSKEY, and the DNSKEY RRset is signed by both KSKs;
 *   2. P later every cache that holds the DNSKEY RRset knows it: it is "ready", and CDS and
 *      CDNSKEY name it instead of the old one;
 *   3. once the parent's DS names it (the operator says so: zone ksk-roll --ds-seen, or
 *      every dnssec_parent server answers with it), it is "active" and the old KSK
 *      "retired", still in DNSKEY and signing it, since resolvers may hold the old DS;
 *   4. D later the old DS is out of every cache: the old KSK is removed.
 *
 * P = 2 x the DNSKEY TTL (the zone's soa_ttl): the TTL, and as long again for secondaries
 * to follow. R = 2 x the largest TTL the zone serves (soa_ttl, ttl, negative_ttl). D = the
 * larger of R and 2 x dnssec_parent_ds_ttl. */
#ifndef NP_CORE_KEYROLL_H
#define NP_CORE_KEYROLL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "dnssec/roll.h"
#include "store/dnssec.h"
#include "store/store.h"

/* Step 3 of the KSK roll: the ready KSK new_id becomes active, old_id retired. */
int keyroll_ksk_ds_seen(struct store *st, int64_t new_id, int64_t old_id, int64_t now) np_mustcheck;

/* Takes the step of cz's rolls that is due at now, if any: *changed says whether the keys
 * changed (the zone must then be built and signed anew). One step of each roll a call.
 * zsk_settled: when the zone last served a signature of a ZSK before the active one
 * (INT64_MAX: it still does, a re-signing pass is under way; 0: not since the start). The
 * retired ZSK goes R after that at the earliest. */
int keyroll_step(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                 const struct cfg_zone *cz, int64_t now, int64_t zsk_settled,
                 bool *changed) np_mustcheck;

#endif
