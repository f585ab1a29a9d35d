/* SPDX-License-Identifier: MIT */
/* The whole authoritative query path: bytes in, answer bytes out. No allocation, no lock;
 * the caller holds the RCU read-side section that keeps db alive. */
#ifndef NP_NS_QUERY_H
#define NP_NS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone/zone.h"

#define DNS_MAX_MSG 65535

struct dns_answer_opts {
	bool tcp;         /* answer may use up to cap bytes; no UDP truncation */
	uint16_t udp_max; /* server's largest UDP answer with EDNS (config edns_udp_size) */
};

/* Answers query (qlen bytes) from db into resp (cap >= 512; DNS_MAX_MSG for TCP).
 * Returns the response length, or 0 when nothing may be sent back (shorter than a
 * header, QR=1). */
size_t dns_answer(const struct zone_db *db, const uint8_t *query, size_t qlen, uint8_t *resp,
		  size_t cap, const struct dns_answer_opts *opts);

#endif
