/* SPDX-License-Identifier: MIT */
/* How long each step of a key roll waits (the steps: core/keyroll.h). What the writer acts
 * on and what nameplatectl zone keys shows, so both read it from here. */
#ifndef NP_DNSSEC_ROLL_H
#define NP_DNSSEC_ROLL_H

#include <stdint.h>

#include "common/config.h"

/* P, R and D of the rolls (core/keyroll.h), in seconds. */
static inline int64_t dnssec_roll_publish_wait(const struct cfg_zone *cz)
{
	return 2 * (int64_t)cz->soa_ttl;
}

static inline int64_t dnssec_roll_retire_wait(const struct cfg_zone *cz)
{
	int64_t m = cz->soa_ttl > cz->ttl ? cz->soa_ttl : cz->ttl;
	return 2 * (m > cz->negative_ttl ? m : (int64_t)cz->negative_ttl);
}

static inline int64_t dnssec_roll_ds_wait(const struct cfg_zone *cz)
{
	int64_t r = dnssec_roll_retire_wait(cz), d = 2 * (int64_t)cz->dnssec_parent_ds_ttl;
	return r > d ? r : d;
}

/* How often the dnssec_parent servers are asked for the DS while a new KSK is ready: P,
 * within 2 seconds and an hour. The writer sends the queries and reads the answers on its
 * later wakes: a server that does not answer holds nothing. */
static inline int64_t dnssec_roll_ds_check_interval(const struct cfg_zone *cz)
{
	int64_t p = dnssec_roll_publish_wait(cz);
	return p < 2 ? 2 : p > 3600 ? 3600 : p;
}

#endif
