/* SPDX-License-Identifier: MIT */
/* The store's side of zone transfers: each zone's journal of differences (one row per
 * batch that changed the zone, its body encoded as zone/journal.h says). Written by the
 * zone publisher inside the batch's transaction, so the history is durable with the change
 * it describes; read when the zones are built. */
#ifndef NP_STORE_JOURNAL_H
#define NP_STORE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

/* Appends a row; *id gets its id (rows of a zone are in the order of their ids). */
int store_journal_add(struct store *st, const char *zone, uint32_t from, uint32_t to,
                      const uint8_t *diff, size_t len, int64_t *id) np_mustcheck;
/* Deletes the rows of zone older than row id (an index range: only what goes is read). */
int store_journal_trim(struct store *st, const char *zone, int64_t id) np_mustcheck;

typedef int store_journal_cb(int64_t id, uint32_t from, uint32_t to, const uint8_t *diff,
                             size_t len, void *ctx);
/* Hands every row of zone to cb, oldest first; a non-zero return stops. */
int store_journal_foreach(struct store *st, const char *zone, store_journal_cb *cb,
                          void *ctx) np_mustcheck;

#endif
