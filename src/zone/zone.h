/* SPDX-License-Identifier: MIT */
/* In-memory zones served to DNS workers. A zone version is immutable once published: the
 * writer builds the next version (sharing unchanged nodes), publishes it with RCU, and frees
 * what the old version alone referenced after a grace period. Readers never lock or allocate. */
#ifndef NP_ZONE_ZONE_H
#define NP_ZONE_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"

/* RR types the zone model holds, and the slot each occupies in a node. */
#define DNS_TYPE_A     1
#define DNS_TYPE_NS    2
#define DNS_TYPE_SOA   6
#define DNS_TYPE_MX    15
#define DNS_TYPE_TXT   16
#define DNS_TYPE_AAAA  28
#define DNS_CLASS_IN   1

enum zone_slot { ZS_SOA, ZS_NS, ZS_A, ZS_AAAA, ZS_MX, ZS_TXT, ZS_COUNT };

/* Limits that keep a node renderable into any answer (they are also the update caps). */
#define ZONE_MAX_RRS_PER_TYPE 16
#define ZONE_MAX_RRS_PER_NODE 64
#define ZONE_MAX_RDATA        1024

/* Node flags. */
#define ZONE_NODE_WILDCARD 0x01 /* names below this one that do not exist answer like it */
#define ZONE_NODE_ENT      0x02 /* empty non-terminal: exists only because of descendants */
#define ZONE_NODE_APEX     0x04

/* A pre-rendered RRset inside zone_node.data: count RRs in len bytes at off. Each RR is in
 * final wire form with its owner written as the compression pointer 0xC00C (the question
 * name), so an answer is a memcpy. */
struct zone_rrset {
	uint16_t off;
	uint16_t len;
	uint16_t count;
};

/* One owner name with its records; a single allocation. Immutable once inserted. */
struct zone_node {
	uint8_t flags;
	uint8_t name_len;                  /* length of the lowercase wire name */
	struct zone_rrset rrsets[ZS_COUNT]; /* len 0 = no such RRset */
	uint8_t data[];                    /* name (name_len bytes), then the RRsets */
};

/* One version of one zone: an open-addressing table of node pointers. */
struct zone_version {
	uint8_t apex[255]; /* lowercase wire name of the zone */
	uint8_t apex_len;
	uint32_t serial;
	const struct zone_node *apex_node; /* holds SOA and NS */
	uint32_t mask;                     /* table size - 1; the size is a power of two */
	uint32_t count;                    /* nodes in the table */
	const struct zone_node **slots;
	uint64_t seed; /* of the name hash: random per zone, kept by zone_version_derive */
};

/* Everything the DNS workers read: published as a whole with rcu_assign_pointer(). */
struct zone_db {
	uint32_t n_zones;
	const struct zone_version *zones[];
};

/* A record handed to the node builder: rdata in uncompressed wire form. */
struct zone_rr_in {
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* Old nodes a derived version no longer references; free them after the grace period. */
struct zone_retired {
	struct zone_node **nodes;
	size_t n, cap;
};

/* ---- reading (lock-free; any thread inside an RCU read-side section) ---- */

/* The zone with the longest apex that is a suffix of lname (lowercase wire), or NULL. */
const struct zone_version *zone_db_find(const struct zone_db *db, const uint8_t *lname,
					size_t len);
/* The node named exactly lname (lowercase wire) in z, or NULL. */
const struct zone_node *zone_find(const struct zone_version *z, const uint8_t *lname,
				  size_t len);

/* ---- building (writer thread only) ---- */

/* Builds a node from records of the supported types (others: NP_EINVAL). At most
 * ZONE_MAX_RRS_PER_TYPE per type. Returns NULL on bad input or no memory. Caller owns it. */
struct zone_node *zone_node_new(const uint8_t *lname, size_t len, unsigned flags,
				const struct zone_rr_in *rrs, size_t n);
/* Builds the apex node: SOA (from cz and serial), NS (cz->ns), plus extra host records
 * that live at the apex itself. */
struct zone_node *zone_node_new_apex(const struct cfg_zone *cz, uint32_t serial,
				     const struct zone_rr_in *extra, size_t n_extra);
void zone_node_free(struct zone_node *n);

/* An empty version for apex, with room for about capacity_hint nodes. Caller owns it. */
struct zone_version *zone_version_new(const uint8_t *apex, size_t apex_len, uint32_t serial,
				      size_t capacity_hint);
/* Adds node to a version that is still being built (not yet published), taking ownership.
 * A node with the same name is replaced and freed. Missing ancestors below the apex are
 * added as ENT nodes. A node named like the apex becomes apex_node. Ownership is taken
 * even on failure (NP_EINVAL: node outside the zone; NP_ENOMEM): the node is freed then
 * and z is unchanged. */
int zone_version_insert(struct zone_version *z, struct zone_node *node) np_mustcheck;
/* The next version of a published one: a copy of its table where each name in removed
 * goes away (the apex never does), then each node in repl replaces its namesake (or is
 * added, with ENTs). A removed name that still has descendants stays as an ENT; ENTs left
 * without descendants by a removal go away. Nodes of old that the new version no longer
 * references are appended to retired. On success the new version owns the repl nodes (a
 * repl node displaced by a later namesake in repl is freed). old stays valid and
 * unchanged. Returns NULL on no memory or when a repl node lies outside the zone; nothing
 * is changed then and the caller still owns repl. */
struct zone_version *zone_version_derive(const struct zone_version *old, uint32_t serial,
					 struct zone_node *const *repl, size_t n_repl,
					 const uint8_t *const *removed, const size_t *removed_len,
					 size_t n_removed, struct zone_retired *retired);
/* Frees the version's table only (its nodes may live on in a newer version). */
void zone_version_free_table(struct zone_version *z);
/* Frees the table and every node in it. */
void zone_version_free_all(struct zone_version *z);

void zone_retired_free_nodes(struct zone_retired *r); /* frees the nodes, keeps the array */
void zone_retired_deinit(struct zone_retired *r);

#endif
