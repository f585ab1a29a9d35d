/* SPDX-License-Identifier: MIT */
/* The single writer: every change to the store goes through one thread. It takes all
 * queued operations, runs each inside its own savepoint of one transaction, commits once
 * (group commit), lets its hooks publish what the batch changed (in nameplated the next
 * zone versions, core/publish.h) once it is on disk, and only then tells each operation
 * its outcome. Nothing is acknowledged or published before it is on disk.
 *
 * The commits are pipelined when the store allows (store_wal_sync_start): the COMMIT
 * writes the WAL without syncing it, a sync thread makes it durable while the writer goes
 * on with the next batches, and a batch is published and answered as soon as a sync that
 * began after its COMMIT returned: by the sync thread itself, while the writer runs the
 * next batch, or by the writer when it could not. Batches are answered in the order of
 * their commits (at most 16 wait), each answer follows a sync covering its batch and every
 * batch before, and after a failed sync nothing more is answered but with an error.
 *
 * The writer knows nothing of zones: what is derived from the store is the hooks' own. */
#ifndef NP_CORE_WRITER_H
#define NP_CORE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "store/store.h"

struct writer;
struct writer_txn;
struct writer_op;

/* Runs on the writer thread inside the batch transaction. Return NP_OK to keep what it
 * did, or an error to undo it (its savepoint is rolled back). */
typedef int writer_apply_fn(struct writer_op *op, struct writer_txn *txn);
/* Runs after the batch, on the writer thread or the store's WAL sync thread: status NP_OK
 * when the op's changes are committed and published, otherwise the reason (NP_ESTORE,
 * NP_EFAILED, or apply's error). It must not block (nor wait for the writer); it
 * typically wakes the waiting request. */
typedef void writer_done_fn(struct writer_op *op, int status);

/* Embedded by the caller in its own request struct; the caller owns the memory and must
 * keep it alive until done has run. */
struct writer_op {
	writer_apply_fn *apply;
	writer_done_fn *done;
	/* The op reads much of the store (a scan): its batch gives the memory back after the
	 * commit (store_release_memory). */
	bool reads_widely;
	struct writer_op *next; /* the writer's queue link */
};

/* What a layer above keeps in step with the store: called on the writer thread (durable
 * maybe on the sync thread, see there), in the order listed for each batch. Any member may
 * be NULL (nothing to do). */
struct writer_hooks {
	void *ctx; /* passed to every hook */
	/* Before the batch's transaction begins. An error answers every op of the batch with
	 * it (nothing was written); batch_end is not called then. */
	int (*batch_begin)(void *ctx);
	/* writer_txn_touch from an op's apply: key changed. An error fails that op. */
	int (*touch)(void *ctx, const char *key);
	/* Before each op's apply, and after its savepoint was rolled back: forget what that
	 * op touched. */
	void (*op_begin)(void *ctx);
	void (*op_undo)(void *ctx);
	/* After every op ran, still inside the transaction. An error fails the batch like a
	 * failed COMMIT (and so stops the writer acknowledging). */
	int (*before_commit)(void *ctx);
	/* After the COMMIT, maybe before the batch is on disk: derive what the batch changed
	 * for publication without showing it yet (see durable), and end every use of the
	 * batch's own state: the next batches may run before this one is durable. */
	void (*committed)(void *ctx);
	/* The batch is on disk, no op is answered yet: show what its committed derived.
	 * Called once per committed batch, in the order of the commits, never at the same
	 * time as committed, batch_end, wake or reload. Either on the writer thread between
	 * batches, or on the WAL sync thread while the writer runs a later batch (its
	 * batch_begin, touch, op_begin, op_undo, before_commit and the ops' apply): it must
	 * share nothing with those. */
	void (*durable)(void *ctx);
	/* Ends every batch batch_begin began, after the answers; committed says whether the
	 * batch was committed and durable (false also after committed, when its sync failed).
	 * With pipelined commits it runs between later batches, never inside one. */
	void (*batch_end)(void *ctx, bool committed);
	/* Each time the thread wakes (at least every 200 ms), before its batch: e.g. notice
	 * commits of other connections to the store. */
	void (*wake)(void *ctx);
	/* writer_reload, between batches. */
	void (*reload)(void *ctx, const struct config *cfg);
};

/* Starts the writer thread, which takes ownership of st. hooks (copied; may be NULL) are
 * called from the writer thread (durable also from the sync thread). cfg must stay valid
 * until writer_stop or the next writer_reload. */
int writer_start(struct writer **out, const struct config *cfg, struct store *st,
		 const struct writer_hooks *hooks) np_mustcheck;
/* Finishes the queued operations, stops the thread and closes the store. */
void writer_stop(struct writer *w);

/* Queues op. NP_EAGAIN when the queue is full, NP_EFAILED once the writer has stopped
 * acknowledging (after a failed commit) or is stopping; done is not called then. */
int writer_submit(struct writer *w, struct writer_op *op) np_mustcheck;

/* For a background thread (never the writer's own, never a DNS worker): queues op and
 * blocks until its outcome. op->apply runs as with writer_submit; op->done is not used.
 * A full queue is retried every 50 ms for up to max_wait_ms. Returns op's status, or
 * writer_submit's NP_EAGAIN / NP_EFAILED when it could not be queued. */
int writer_run(struct writer *w, struct writer_op *op, unsigned max_wait_ms) np_mustcheck;

/* Switches to a new config (SIGHUP) and waits until the hooks' reload has run. */
void writer_reload(struct writer *w, const struct config *cfg);

/* True once a commit failed: the writer acknowledges nothing more until restarted. */
bool writer_failed(struct writer *w);

/* For apply functions. */
struct store *writer_txn_store(struct writer_txn *txn);
const struct config *writer_txn_config(struct writer_txn *txn);
/* Marks fqdn's records as changed, through the hooks' touch: in nameplated it is
 * re-rendered and its zone's serial bumped (NP_ENOTFOUND when no zone holds it). Undone
 * with the op's savepoint. */
int writer_txn_touch(struct writer_txn *txn, const char *fqdn) np_mustcheck;

#endif
