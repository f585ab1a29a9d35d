/* SPDX-License-Identifier: MIT */
/* The NSEC3 chain of a signed zone's versions (dnssec/nsec3.h), kept by the publisher: made
 * whole when a zone is built, spliced when a batch adds or removes names. Writer thread. */
#ifndef NP_CORE_CHAIN_H
#define NP_CORE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "dnssec/nsec3.h"
#include "dnssec/zone.h"
#include "zone/journal.h"
#include "zone/zone.h"

/* Signs every node of z, a version being built (zone_version_new and insert, not yet
 * published), that is not signed yet (all but the apex: the build leaves them unsigned),
 * gives each its chain records, and *out the index of its owners. prev (may be NULL): a
 * version signed with dz's keys and signatures still fresh; a node whose records are the
 * same there keeps its signatures, and its chain records' where they are the same too. */
int chain_build(const struct dnssec_zone *dz, const struct cfg_zone *cz, struct zone_version *z,
                const struct zone_version *prev, struct nsec3_index **out) np_mustcheck;

/* After nz was derived from old (not published yet) by changing the n names (lowercase
 * wire: every name the batch rendered or removed, the apex among them): updates ix (old's
 * owners) to nz's, gives the nodes that need it their chain records (the changed names, and
 * the neighbours of owners that came or went: only those are signed anew) and appends the
 * chain's differences to *entry (the batch's journal entry, replaced by a longer one; NULL:
 * no history), or sets *reset when they do not fit one. On failure ix no longer matches
 * anything and nz must be discarded. */
int chain_splice(const struct dnssec_zone *dz, const struct cfg_zone *cz, struct nsec3_index *ix,
                 const struct zone_version *old, struct zone_version *nz,
                 const uint8_t *const *names, const size_t *lens, size_t n,
                 struct zone_retired *retired, struct zone_jentry **entry,
                 bool *reset) np_mustcheck;

/* The oldest inception among the signatures node holds (its RRsets', its chain records'),
 * or UINT32_MAX when it holds none: how old what a re-signing pass would replace is. */
uint32_t chain_oldest_inception(const struct zone_node *node);

/* node (of a version whose chain ix holds) signed anew at now with dz's ZSK, its chain
 * records too: what a re-signing slice puts in its place. An apex node comes signed already
 * (the publisher renders it) and gets its chain records only, those of prev (may be NULL)
 * kept where the same. NULL with *err on failure; NULL with NP_OK when the node has nothing
 * to sign. */
struct zone_node *chain_resign(const struct dnssec_zone *dz, const struct cfg_zone *cz,
                               const struct nsec3_index *ix, const struct zone_node *node,
                               const struct zone_node *prev, uint32_t now, int *err);

#endif
