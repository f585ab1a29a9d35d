/* SPDX-License-Identifier: MIT */
/* The single writer: every change to the store goes through one thread. It takes all
 * queued operations, runs each inside its own savepoint of one transaction, commits once
 * (group commit, synchronous=FULL), publishes the next zone versions with RCU, and only
 * then tells each operation its outcome. Nothing is acknowledged before it is on disk. */
#ifndef NP_CORE_WRITER_H
#define NP_CORE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "store/store.h"
#include "zone/zone.h"

struct writer;
struct writer_txn;
struct writer_op;

/* Runs on the writer thread inside the batch transaction. Return NP_OK to keep what it
 * did, or an error to undo it (its savepoint is rolled back). */
typedef int writer_apply_fn(struct writer_op *op, struct writer_txn *txn);
/* Runs on the writer thread after the batch: status NP_OK when the op's changes are
 * committed and published, otherwise the reason (NP_ESTORE, NP_EFAILED, or apply's error).
 * It must not block; it typically wakes the waiting request. */
typedef void writer_done_fn(struct writer_op *op, int status);

/* Embedded by the caller in its own request struct; the caller owns the memory and must
 * keep it alive until done has run. */
struct writer_op {
	writer_apply_fn *apply;
	writer_done_fn *done;
	struct writer_op *next; /* the writer's queue link */
};

/* Loads every zone of cfg from st, publishes the first zone_db to *db_slot (read by DNS
 * workers with rcu_dereference) and starts the writer thread, which takes ownership of st.
 * cfg must stay valid until writer_stop or the next writer_reload. */
int writer_start(struct writer **out, const struct config *cfg, struct store *st,
		 struct zone_db **db_slot) np_mustcheck;
/* Finishes the queued operations, stops the thread, frees the zones and closes the store. */
void writer_stop(struct writer *w);

/* Queues op. NP_EAGAIN when the queue is full, NP_EFAILED once the writer has stopped
 * acknowledging (after a failed commit) or is stopping; done is not called then. */
int writer_submit(struct writer *w, struct writer_op *op) np_mustcheck;

/* For a background thread (never the writer's own, never a DNS worker): queues op and
 * blocks until its outcome. op->apply runs as with writer_submit; op->done is not used.
 * A full queue is retried every 50 ms for up to max_wait_ms. Returns op's status, or
 * writer_submit's NP_EAGAIN / NP_EFAILED when it could not be queued. */
int writer_run(struct writer *w, struct writer_op *op, unsigned max_wait_ms) np_mustcheck;

/* Switches to a new config (SIGHUP): zones are rebuilt from the store. */
void writer_reload(struct writer *w, const struct config *cfg);

/* True once a commit failed: the writer acknowledges nothing more until restarted. */
bool writer_failed(struct writer *w);

/* For apply functions. */
struct store *writer_txn_store(struct writer_txn *txn);
const struct config *writer_txn_config(struct writer_txn *txn);
/* Marks fqdn's records as changed: it is re-rendered and its zone's serial bumped. */
int writer_txn_touch(struct writer_txn *txn, const char *fqdn) np_mustcheck;

#endif
