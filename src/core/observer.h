/* SPDX-License-Identifier: MIT */
/* The observation index inside nameplated: what sensors and imports saw each source address
 * do, and the "am I infected?" verdicts read from it.
 *
 * Data flow: a sensor batch or an offline import is committed to the store's inbox first
 * (that commit is what acknowledges it). The observer thread merges new inbox rows into the
 * in-memory index (within a second; at once when poked), and every checkpoint_interval
 * writes the changed addresses to the checkpoint table and deletes the inbox rows merged,
 * in one transaction. At start the checkpoint and then the remaining inbox are loaded. So
 * nothing acknowledged is lost, not even to kill -9: what was not yet checkpointed is still
 * in the inbox. All store access runs as writer operations. */
#ifndef NP_CORE_OBSERVER_H
#define NP_CORE_OBSERVER_H

#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "core/writer.h"
#include "observe/index.h"

struct observer;

/* Creates the index (cfg [observe]), loads it from the store through w (blocking until
 * loaded) and starts the observer thread. cfg must outlive the observer. */
int observer_start(struct observer **out, const struct config *cfg, struct writer *w) np_mustcheck;
/* Merges what is left, writes a last checkpoint, stops the thread and frees the index. */
void observer_stop(struct observer *o);
/* New inbox rows were committed: merge them now rather than within the second. */
void observer_poke(struct observer *o);

/* The index, for verdicts (thread-safe: see observe/index.h). */
const struct obs_index *observer_index(const struct observer *o);

/* A sensor batch was committed as inbox row id (called from the ingest op's done). */
void observer_committed(struct observer *o, int64_t id);
/* Waits (at most timeout_ms) until every batch committed before the call is merged.
 * Returns NP_OK, or NP_EAGAIN on timeout. */
int observer_sync(struct observer *o, unsigned timeout_ms) np_mustcheck;

#endif
