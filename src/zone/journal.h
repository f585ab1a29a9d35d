/* SPDX-License-Identifier: MIT */
/* The journal of a zone: what each committed batch changed, name by name, kept so that a
 * secondary holding an older serial can be sent only the difference (IXFR, RFC 1995).
 *
 * An entry takes the zone from serial `from` to serial `to`. For every name the batch
 * changed it holds the name's records before and after (the SOA excluded: a transfer
 * synthesizes the SOA of either serial from the apex). The encoding is the one the store
 * keeps and the transfer code reads, so loading and serving copy nothing:
 *
 *   per name: u8 name_len, name (lowercase wire), u8 n_old, u8 n_new,
 *             then n_old + n_new records, each type u16, class u16, TTL u32, rdlength u16,
 *             rdata (a pre-rendered zone record without its 2-byte owner pointer)
 *
 * A zone_journal is the array of entries one zone version serves, oldest first, each
 * entry's `from` the previous one's `to`, the last one's `to` the version's serial. Entries
 * are immutable and shared by consecutive versions; each version owns its own array. */
#ifndef NP_ZONE_JOURNAL_H
#define NP_ZONE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone/zone.h"

/* How much history a zone keeps (in memory and in the store): the newest entries up to
 * both bounds. Older serials are answered with a full zone (AXFR form). */
#define ZONE_JOURNAL_MAX_ENTRIES 4096
#define ZONE_JOURNAL_MAX_BYTES   (8u << 20)

struct zone_jentry {
	int64_t id; /* its row in the store (0: none) */
	uint32_t from, to;
	uint32_t len;
	uint8_t data[];
};

struct zone_journal {
	uint32_t n;
	size_t bytes; /* sum of the entries' len */
	struct zone_jentry *e[];
};

/* One name of an entry, as zone_jentry_next reads it. */
struct zone_jname {
	const uint8_t *name;
	uint8_t name_len;
	uint8_t n_old, n_new;
	const uint8_t *old_rrs, *new_rrs; /* n_old and n_new records back to back */
	size_t old_len, new_len;
};

/* Length of the record at p (type .. rdata), which must be one of a checked entry. */
static inline size_t zone_jrr_len(const uint8_t *p)
{
	return 10 + (((size_t)p[8] << 8) | p[9]);
}

/* Appends to *buf (growing it; *len, *cap) the record of name if its non-SOA records differ
 * between old and new (either may be NULL: the name did not exist), and that of "*.name"
 * if what a wildcard flag puts there differs. NP_ENOMEM, or
 * NP_ETOOBIG when the buffer would pass ZONE_JOURNAL_MAX_BYTES. */
int zone_jentry_add_name(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *name,
                         size_t name_len, const struct zone_node *old,
                         const struct zone_node *new_node) np_mustcheck;
/* Appends to *buf the records of each NSEC3 owner (zone_sigs.nsec3, a name of its own: the
 * hashed label, then apex) whose records differ between old and new_node, two versions of
 * one node (either may be NULL). Errors as zone_jentry_add_name. */
int zone_jentry_add_chain(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *apex,
                          size_t apex_len, const struct zone_node *old,
                          const struct zone_node *new_node) np_mustcheck;
/* A new entry holding a copy of data, or NULL. */
struct zone_jentry *zone_jentry_new(uint32_t from, uint32_t to, const uint8_t *data, size_t len);
/* Whether data is a well-formed entry body (what the store hands back is checked). */
bool zone_jentry_valid(const uint8_t *data, size_t len);
/* Reads the name at *pos of a checked entry and advances *pos; false at the end. */
bool zone_jentry_next(const struct zone_jentry *e, size_t *pos, struct zone_jname *out);

/* How many entries the journal after old (may be NULL) and e holds: zone_journal_next's
 * bounds, for trimming the store alike. */
uint32_t zone_journal_kept(const struct zone_journal *old, const struct zone_jentry *e);
/* The journal of the next version: old's entries (old may be NULL), then e (may be NULL),
 * the oldest dropped while over the bounds. When e does not follow old's last entry, or
 * with reset (the history is lost: a change that was not journaled), old's entries are all
 * dropped. Dropped entries are appended to retired (freed after the grace period). NULL
 * on no memory (nothing changed then). */
struct zone_journal *zone_journal_next(const struct zone_journal *old, struct zone_jentry *e,
                                       bool reset, struct zone_retired *retired);
/* Frees the array only. */
void zone_journal_free(struct zone_journal *j);
/* Frees the array and every entry. */
void zone_journal_free_all(struct zone_journal *j);
/* The index of the entry whose `from` is serial, or -1. */
long zone_journal_find(const struct zone_journal *j, uint32_t serial);

#endif
