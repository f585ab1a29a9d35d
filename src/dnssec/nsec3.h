/* SPDX-License-Identifier: MIT */
/* The NSEC3 chain (RFC 5155) that transfers carry, so that secondaries can deny: hash
 * algorithm 1 (SHA-1), flags 0 (opt-out off), 0 extra iterations and an empty salt, as
 * RFC 9276 asks. The primary itself answers with compact denial (dnssec/zone.h).
 *
 * Each node of a signed zone carries its part of the chain (zone_sigs.nsec3): the NSEC3 of
 * its name, of "*.NAME" for a wildcard host, and at the apex the NSEC3PARAM, each with its
 * RRSIG. The order of the chain, which no reader needs, lives only on the writer's side:
 * an index of every owner's hash, sorted, naming the node that carries it. */
#ifndef NP_DNSSEC_NSEC3_H
#define NP_DNSSEC_NSEC3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnssec/sign.h"
#include "dnssec/zone.h"
#include "zone/zone.h"

#define NSEC3_HASH_LEN  20
#define NSEC3_LABEL_LEN 32 /* base32hex of the hash, the owner's first label */

/* One owner of the chain: its hash, and the node that carries its NSEC3 (the owner
 * itself, or with wild, the owner is "*." + name). */
struct nsec3_entry {
	uint8_t hash[NSEC3_HASH_LEN];
	bool wild;
	uint8_t name_len;
	uint32_t below; /* names with data strictly below it (0 for a "*." owner) */
	uint8_t *name;  /* lowercase wire, owned */
};

/* Every owner of one zone's chain in hash order (a sorted array: a name added or removed
 * moves the entries after it). Writer thread only. */
struct nsec3_index {
	struct nsec3_entry *e;
	size_t n, cap;
};

/* The hash of a lowercase wire name: SHA-1 over it, no salt, no extra iteration. */
int nsec3_hash(const uint8_t *lname, size_t len, uint8_t out[NSEC3_HASH_LEN]);
/* Whether node has records: a name without any, and without any below it (an empty host,
 * the ENTs above one), is no name of the zone a transfer sends, and not in the chain. */
bool nsec3_has_data(const struct zone_node *node);
/* Whether node's records also stand at "*.NAME" (a signed wildcard host's, as transfers
 * send them): then "*.NAME" is an owner of the chain too. */
bool nsec3_has_wild(const struct zone_node *node);

/* An index of every owner of z: each name with records, its ancestors, "*.NAME" of each
 * wildcard host, with the count of names with data below each. NULL on no memory. */
struct nsec3_index *nsec3_index_build(const struct zone_version *z);
void nsec3_index_free(struct nsec3_index *ix);
/* The position of hash, or of the first entry after it (ix->n: none). */
size_t nsec3_index_lower(const struct nsec3_index *ix, const uint8_t hash[NSEC3_HASH_LEN]);
/* Adds the owner (name, or "*." + name with wild). NP_EEXIST when it is there. */
int nsec3_index_add(struct nsec3_index *ix, const uint8_t *name, size_t len,
                    bool wild) np_mustcheck;
/* The entry of the owner, or NULL. */
struct nsec3_entry *nsec3_index_find(const struct nsec3_index *ix, const uint8_t *name,
                                     size_t len, bool wild);
/* Removes the owner; false when it was not there. */
bool nsec3_index_remove(struct nsec3_index *ix, const uint8_t *name, size_t len, bool wild);

/* The chain records node carries in z (struct zone_sigs's nsec3 format) into out (cap
 * bytes), *count of them: for each of its owners the NSEC3 (next owner from ix, types from
 * node) with ttl and its RRSIG made at now, at the apex the NSEC3PARAM with param_ttl and
 * its RRSIG. A record whose rdata prev (the node's previous version; may be NULL) already
 * holds is copied from it with its RRSIG, not signed again. An owner ix lacks (a name with
 * no data at or below it) gets none. Returns the length, or a negative error. */
long nsec3_node_records(const struct dnssec_zone *z, const struct nsec3_index *ix,
                        const struct zone_node *node, const struct zone_node *prev, uint32_t ttl,
                        uint32_t param_ttl, uint32_t now, uint8_t *out, size_t cap,
                        uint16_t *count);
/* The most octets nsec3_node_records writes. */
#define NSEC3_NODE_RECORDS_MAX (3 * 2 * (1 + 33 + 10 + DNSSEC_RRSIG_MAX + 64))

#endif
