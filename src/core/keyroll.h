/* SPDX-License-Identifier: MIT */
/* The automatic ZSK roll of a signed zone, by pre-publication (RFC 7583 3.2.1):
 *
 *   1. dnssec_zsk_lifetime - P after the active ZSK began to sign, a new ZSK is published in
 *      the DNSKEY RRset without signing anything;
 *   2. P after that, every resolver that holds the DNSKEY RRset has the new key too: it
 *      becomes the signing key (the zone is signed anew with it) and the old one is retired,
 *      still published, since signatures made with it may still be cached;
 *   3. R after that, those have expired from every cache: the old key is removed.
 *
 * P = 2 x the DNSKEY TTL (the zone's soa_ttl): the TTL, and as long again for secondaries
 * to follow. R = 2 x the largest TTL the zone serves (soa_ttl, ttl, negative_ttl). */
#ifndef NP_CORE_KEYROLL_H
#define NP_CORE_KEYROLL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "store/dnssec.h"
#include "store/store.h"

/* Takes the step of cz's roll that is due at now, if any: *changed says whether the keys
 * changed (the zone must then be built and signed anew). One step a call. */
int keyroll_step(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                 const struct cfg_zone *cz, int64_t now, bool *changed) np_mustcheck;

#endif
