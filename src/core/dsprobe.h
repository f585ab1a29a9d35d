/* SPDX-License-Identifier: MIT */
/* Asks a parent zone's server for a zone's DS records (core/keyroll.h: a KSK roll waits for
 * the parent's DS to name the new KSK). One UDP query a server, its answer read later. */
#ifndef NP_CORE_DSPROBE_H
#define NP_CORE_DSPROBE_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "dnssec/key.h"

#define DSPROBE_TIMEOUT_MS 1000

/* One DS query in flight. The writer sends it and looks for the answer on its later wakes,
 * so a parent that does not answer never holds updates. */
struct dsprobe {
	int fd; /* -1: none in flight */
	uint16_t id;
};

/* Asks parent for the DS RRset of the lowercase wire name apex (RD clear) without waiting
 * for the answer: NP_OK with pr in flight, NP_EIO (pr->fd -1) when it cannot be sent. */
int dsprobe_send(const struct cfg_listen *parent, const uint8_t *apex, size_t apex_len,
                 struct dsprobe *pr) np_mustcheck;

/* The answer to pr, if it came: 1 when it holds a DS whose rdata is ds (key tag,
 * algorithm, digest type 2, digest), 0 when it answered without one (NOERROR or
 * NXDOMAIN), NP_EIO when it answered otherwise (another rcode, truncated, malformed) or
 * could not be reached; pr is closed then. NP_EAGAIN: nothing yet (pr stays in flight). */
int dsprobe_poll(struct dsprobe *pr, const uint8_t *apex, size_t apex_len,
                 const uint8_t ds[DNSSEC_DS_LEN]);

/* Gives up pr (no answer in time). */
void dsprobe_close(struct dsprobe *pr);

#endif
