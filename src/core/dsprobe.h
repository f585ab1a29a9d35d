/* SPDX-License-Identifier: MIT */
/* Asks a parent zone's server for a zone's DS records (core/keyroll.h: a KSK roll waits for
 * the parent's DS to name the new KSK). One UDP query, answered or not within a bound. */
#ifndef NP_CORE_DSPROBE_H
#define NP_CORE_DSPROBE_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "dnssec/key.h"

#define DSPROBE_TIMEOUT_MS 1000

/* Asks parent for the DS RRset of the lowercase wire name apex (RD clear), waiting at most
 * timeout_ms: 1 when the answer holds a DS whose rdata is ds (key tag, algorithm, digest
 * type 2, digest), 0 when it answered without one (NOERROR or NXDOMAIN), NP_EIO when it
 * did not answer, or answered otherwise (another rcode, truncated, malformed). */
int dsprobe_has(const struct cfg_listen *parent, const uint8_t *apex, size_t apex_len,
                const uint8_t ds[DNSSEC_DS_LEN], int timeout_ms);

#endif
