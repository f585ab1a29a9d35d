/* SPDX-License-Identifier: MIT */
/* The pcap import's aggregation without a hash index: sorted chunks folded into a sorted run.
 *
 * The import sorts each chunk of packets by address (struct imp_pkt), so an address's
 * packets of a chunk are one stretch. imp_fold_part() walks the chunk and the run
 * accumulated so far (an array of addresses in key order, each with its hourly buckets)
 * side by side in one linear pass: each address's packets are counted onto its
 * accumulated hours, which go to the next run. No hash lookups, no allocation per address.
 *
 * Aggregates are the index's (index.h), bucket for bucket: each packet is counted onto its
 * address's accumulated hour by obs_bucket_add(), as obs_index_add() counts an event (the
 * bucket rules, observe/bucket.h), in file order per address, so the result does not
 * depend on where chunks were cut. Packets carry no credentials: default_creds stays 0 and
 * no pairs are kept.
 *
 * Retention, as the index applies it to a loaded record (obs_index_load()): the cutoff is the
 * newest packet time folded so far minus the retention window; an hour that ended at or
 * before the cutoff is dropped, as is an address whose last packet is older than it (the
 * index's prune rule; the index applies that one only from the least recently updated end
 * of its LRU list, so it may keep such an address a little longer). At most retention/3600
 * + 1 hours per address, the newest. first_seen/last_seen cover every packet of an address
 * folded while it was tracked.
 *
 * The address cap: when a merge leaves more than cap addresses, those with the oldest last
 * packet are dropped (counted in evicted; ties: the lower key goes first) until cap remain,
 * so an import keeps the most recently active addresses. (The index evicts the least
 * recently updated, which for an import is the order chunks and keys were loaded in.)
 * An evicted address seen again later starts again from its later packets, as in the index.
 *
 * Two parts, for two folding threads: an address belongs to part imp_part_of(key), each
 * part is a run of its own (disjoint key sets), and a chunk's packets are folded part by
 * part (imp_fold_part(), one thread per part at a time), between imp_fold_begin() and
 * imp_fold_end() (the cap, over both parts: the result is the one run's, address for
 * address, whatever the split).
 *
 * Cost: O(packets + addresses tracked) per chunk; memory: the accumulated runs twice (the
 * merge writes the next one): about 24 bytes per address and 84 per hourly bucket, each
 * time. imp_fold_part() of distinct parts may run concurrently; nothing else may. */
#ifndef NP_CTL_IMPORT_FOLD_H
#define NP_CTL_IMPORT_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/index.h"

/* One packet as the import keeps it until its chunk is folded. */
struct imp_pkt {
	uint64_t key; /* the IPv4 address, or the IPv6 /64 prefix */
	uint32_t time;
	uint16_t port; /* destination port; 0 when not TCP/UDP */
	uint8_t kind;  /* enum obs_kind */
	uint8_t v6;
};

/* An address of a run: its buckets are b[boff .. boff + nb) of the run, ascending hours. */
struct imp_addr {
	uint64_t key;
	uint32_t first, last; /* first_seen, last_seen */
	uint32_t boff;
	uint16_t nb;
	uint8_t v6;
	uint8_t drop; /* marked for eviction at the cap */
};

struct imp_run {
	struct imp_addr *a;
	size_t n, acap;
	struct obs_bucket *b;
	size_t nb, bcap;
};

#define IMP_PARTS 2

/* One part's state: touched only by the thread folding that part. */
struct imp_part {
	struct imp_run acc; /* everything of the part folded so far, by (v6, key) */
	struct imp_run out; /* the merge's output, then swapped with acc */
	struct imp_one {    /* one address's packets of the chunk being folded */
		struct imp_addr a;
		struct obs_bucket b[OBS_MAX_BUCKETS];
	} one;
	uint64_t *order; /* acc's addresses by last packet (time << 32 | part << 31 | index) */
	uint64_t *tmp;   /* the sort's buffer */
	size_t order_cap;
};

struct imp_fold {
	int64_t retention;
	size_t cap;
	uint16_t max_buckets; /* retention / 3600 + 1, as the index */
	int64_t cutoff;       /* newest packet time so far minus retention; INT64_MIN at first */
	struct imp_part part[IMP_PARTS];
	uint64_t *order; /* both parts' addresses by last packet, then (v6, key) */
	size_t order_cap;
	uint64_t evicted;
};

/* Sets f up for cap addresses (1 ..) and retention seconds (as obs_index_new: 0 means
 * OBS_RETENTION_DEFAULT). NP_EINVAL for a bad argument. Allocates nothing yet. */
int imp_fold_init(struct imp_fold *f, size_t cap, int64_t retention) np_mustcheck;
void imp_fold_free(struct imp_fold *f);

/* The part of an address: a bit of a multiplicative hash of its key, so both parts get
 * about as many addresses (and, but for the heaviest senders, packets). */
static inline unsigned imp_part_of(uint64_t key)
{
	return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 63);
}

/* Starts folding a chunk whose newest packet time is max: returns the chunk's cutoff, for
 * imp_fold_part() and imp_fold_end(). */
int64_t imp_fold_begin(const struct imp_fold *f, int64_t max);

/* Folds p[0..n), the chunk's packets of part (all with imp_part_of(key) == part), sorted
 * by (v6, key) (packets of one address in file order); n may be 0 (the part's run is still
 * pruned at cutoff, as one run would be). Every part of a chunk with packets must be
 * folded. Safe to run beside the same call for another part. NP_ENOMEM: the part is consistent but may have lost this chunk: the
 * import must stop. */
int imp_fold_part(struct imp_fold *f, unsigned part, const struct imp_pkt *p, size_t n,
                  int64_t cutoff) np_mustcheck;

/* Ends the chunk, after imp_fold_part() of every part: applies the cap over all parts.
 * NP_ENOMEM (then over the cap: the import must stop). */
int imp_fold_end(struct imp_fold *f, int64_t cutoff) np_mustcheck;

/* Applies the retention window as of now (the newest packet time of the import) and orders
 * the addresses for imp_fold_foreach(). NP_ENOMEM. */
int imp_fold_finish(struct imp_fold *f, int64_t now) np_mustcheck;

/* After imp_fold_finish(): calls cb for every address (each has buckets), by the hour of
 * its last packet, oldest first, key order within an hour (as obs_index_foreach() walks
 * least recently updated first, at an hour's resolution: sweeps through memory instead of
 * a cache miss per address); a non-zero return stops the walk and is returned. The
 * record's pointers are valid during the call only. */
int imp_fold_foreach(const struct imp_fold *f, obs_index_cb *cb, void *ctx);

/* Addresses held, and bytes allocated (runs, order). */
size_t imp_fold_addrs(const struct imp_fold *f);
size_t imp_fold_bytes(const struct imp_fold *f);

#endif
