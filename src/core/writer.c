/* SPDX-License-Identifier: MIT */
/* The single writer thread: the queue, group commit to SQLite (pipelined with the sync of
 * the WAL, store/walsync.c) and fail-stop. What the batches change is published by the
 * hooks (in nameplated core/publish.c). */
#include "core/writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/metrics.h"

/* Bounds: a full queue answers "try later" rather than growing without limit, and one
 * batch never holds the write lock for too long. At most WRITER_PENDING_MAX committed
 * batches wait for their sync (each sync covers every batch committed before it began). */
#define WRITER_QUEUE_MAX 8192
#define WRITER_BATCH_MAX 1024
#define WRITER_PENDING_MAX 16
/* How often the writer wakes without work, so its hooks can look for commits made by
 * nameplatectl (PRAGMA data_version). */
#define WRITER_POLL_MS 200

struct writer_txn {
	struct writer *w;
};

/* A batch committed but not yet known to be on disk: published and answered once the sync
 * asked for it returned, in the order of the commits (answer_synced on the sync thread, or
 * finish_oldest), then ended by the writer (finish_oldest). */
struct pending {
	struct writer_op *ops;
	int *status;
	size_t n;
	uint64_t ticket; /* store_wal_sync_ask's */
	int64_t t0;
	bool answered; /* on disk, published and answered: batch_end is left */
};

struct writer {
	const struct config *cfg;
	struct store *st;
	struct writer_hooks hooks; /* every member set: missing ones do nothing */

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* work queued, reload requested or stop */
	pthread_cond_t reloaded; /* a reload finished */
	struct writer_op *head, *tail;
	size_t queued;
	bool stopping;
	const struct config *reload_cfg;
	atomic_bool failed;

	struct writer_txn txn;
	/* The committed batches waiting for their sync or their batch_end, oldest at
	 * pending[pending_head]. Only the writer adds and removes them, under finish_mu;
	 * the sync thread reads them and sets answered under finish_mu. finish_mu also keeps
	 * the hooks that publish apart: durable (either thread) never runs at the same time
	 * as committed or batch_end (the writer's). */
	pthread_mutex_t finish_mu;
	atomic_bool waiting_sync; /* the writer is blocked on a sync: it answers itself */
	struct pending pending[WRITER_PENDING_MAX];
	size_t pending_head, n_pending;
	int64_t last_wake;
	/* For the metrics: written by the writer thread only, read by scrapes. */
	_Atomic uint64_t n_batches, n_ops, n_failed_ops, n_commit_failures;
	struct metrics_hist commit_latency; /* BEGIN to COMMIT done: the fsync and the work */
};

/* ---- hooks: the missing ones do nothing ---- */

static int nop_int(void *ctx)
{
	(void)ctx;
	return NP_OK;
}

static int nop_touch(void *ctx, const char *key)
{
	(void)ctx;
	(void)key;
	return NP_OK;
}

static void nop_void(void *ctx)
{
	(void)ctx;
}

static void nop_durable(void *ctx)
{
	(void)ctx;
}

static void nop_batch_end(void *ctx, bool committed)
{
	(void)ctx;
	(void)committed;
}

static void nop_reload(void *ctx, const struct config *cfg)
{
	(void)ctx;
	(void)cfg;
}

static void hooks_fill(struct writer_hooks *h, const struct writer_hooks *from)
{
	if (from != NULL)
		*h = *from;
	if (h->batch_begin == NULL)
		h->batch_begin = nop_int;
	if (h->touch == NULL)
		h->touch = nop_touch;
	if (h->op_begin == NULL)
		h->op_begin = nop_void;
	if (h->op_undo == NULL)
		h->op_undo = nop_void;
	if (h->before_commit == NULL)
		h->before_commit = nop_int;
	if (h->committed == NULL)
		h->committed = nop_void;
	if (h->durable == NULL)
		h->durable = nop_durable;
	if (h->batch_end == NULL)
		h->batch_end = nop_batch_end;
	if (h->wake == NULL)
		h->wake = nop_void;
	if (h->reload == NULL)
		h->reload = nop_reload;
}

/* ---- what apply functions may call ---- */

int writer_txn_touch(struct writer_txn *txn, const char *fqdn)
{
	struct writer *w = txn->w;
	return w->hooks.touch(w->hooks.ctx, fqdn);
}

struct store *writer_txn_store(struct writer_txn *txn)
{
	return txn->w->st;
}

const struct config *writer_txn_config(struct writer_txn *txn)
{
	return txn->w->cfg;
}

/* Answers every op of a batch that failed as a whole with the same error. */
static void fail_ops(struct writer_op *ops, int err)
{
	for (struct writer_op *op = ops, *next; op != NULL; op = next) {
		next = op->next;
		op->next = NULL;
		op->done(op, err);
	}
}

static void finish_ops(struct writer_op *ops, const int *status, size_t n)
{
	struct writer_op *op = ops;
	for (size_t i = 0; i < n && op != NULL; i++) {
		struct writer_op *next = op->next;
		op->next = NULL;
		op->done(op, status[i]);
		op = next;
	}
}

/* After a failed commit or sync (fsync error, disk full) nothing can be trusted to be on
 * disk: stop acknowledging anything until an operator restarts us. */
static void fail_stop(struct writer *w, const char *step, int err)
{
	atomic_store(&w->failed, true);
	atomic_fetch_add(&w->n_commit_failures, 1);
	log_event(LOG_ERR, "writer_failure",
	          "step=%s error=%s effect=\"no further change is acknowledged\"", step,
	          np_strerror(err));
}

/* The batch is on disk (NP_OK) or could not be made so: count it, publish it, answer it. */
static void batch_done(struct writer *w, struct writer_op *ops, const int *status, size_t n,
                       int64_t t0)
{
	const struct writer_hooks *h = &w->hooks;
	metrics_hist_add(&w->commit_latency, (uint64_t)(time_mono_ns() - t0));
	atomic_fetch_add_explicit(&w->n_batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->n_ops, n, memory_order_relaxed);
	for (size_t k = 0; k < n; k++) {
		if (status[k] != NP_OK)
			atomic_fetch_add_explicit(&w->n_failed_ops, 1, memory_order_relaxed);
	}
	/* Publish, answer, and only then let the hooks wait out the readers of the old data. */
	h->durable(h->ctx);
	finish_ops(ops, status, n);
}

/* Publishes and answers the pending batches whose sync succeeded, oldest first, up to the
 * first still syncing; one whose sync failed is left to the writer (finish_oldest). Under
 * finish_mu. */
static void answer_synced(struct writer *w)
{
	for (size_t k = 0; k < w->n_pending; k++) {
		struct pending *b = &w->pending[(w->pending_head + k) % WRITER_PENDING_MAX];
		if (b->answered)
			continue;
		if (store_wal_sync_poll(w->st, b->ticket) != NP_OK)
			return;
		batch_done(w, b->ops, b->status, b->n, b->t0);
		b->answered = true;
	}
}

/* Ends the oldest pending batch once its sync returned: publishes and answers it unless the
 * sync thread did, then the hooks' batch_end. Waits for the sync with block, otherwise
 * returns false while it runs. A failed sync answers it with NP_ESTORE and stops
 * acknowledging (every later sync fails too). Called between batches only: the hooks'
 * batch_end of a pending batch must not meet a batch in its middle. */
static bool finish_oldest(struct writer *w, bool block)
{
	if (w->n_pending == 0)
		return false;
	struct pending *b = &w->pending[w->pending_head];
	pthread_mutex_lock(&w->finish_mu);
	bool answered = b->answered;
	pthread_mutex_unlock(&w->finish_mu);
	int ret = NP_OK;
	if (!answered && block) {
		atomic_store(&w->waiting_sync, true);
		ret = store_wal_sync_wait(w->st, b->ticket);
		atomic_store(&w->waiting_sync, false);
	} else if (!answered) {
		ret = store_wal_sync_poll(w->st, b->ticket);
		if (ret == NP_EAGAIN)
			return false;
	}
	pthread_mutex_lock(&w->finish_mu);
	if (!b->answered) { /* else the sync thread answered it meanwhile */
		if (ret == NP_OK) {
			batch_done(w, b->ops, b->status, b->n, b->t0);
			b->answered = true;
		} else {
			if (!atomic_load(&w->failed))
				fail_stop(w, "sync", ret);
			fail_ops(b->ops, NP_ESTORE);
		}
	}
	w->pending_head = (w->pending_head + 1) % WRITER_PENDING_MAX;
	w->n_pending--;
	w->hooks.batch_end(w->hooks.ctx, b->answered);
	pthread_mutex_unlock(&w->finish_mu);
	free(b->status);
	return true;
}

/* On the sync thread after each sync (store_wal_sync_notify): publishes and answers what it
 * made durable at once while the writer is in the middle of a batch (which it would
 * otherwise finish first). The writer ends them later (finish_oldest). A writer blocked on
 * the sync has just been woken and answers itself (two threads would meet on the mutex).
 * It only tries the mutex: the writer may hold it while it waits for a sync (a rebuild in
 * committed), and then answers them itself. */
static void sync_ended(void *ctx)
{
	struct writer *w = ctx;
	if (atomic_load(&w->waiting_sync))
		return;
	if (pthread_mutex_trylock(&w->finish_mu) == 0) {
		answer_synced(w);
		pthread_mutex_unlock(&w->finish_mu);
	}
}

static void finish_ready(struct writer *w)
{
	while (finish_oldest(w, false))
		;
}

static void finish_all(struct writer *w)
{
	while (finish_oldest(w, true))
		;
}

/* One batch: every op in its own savepoint of one transaction, one commit, then the hooks
 * derive the publication. With pipelined commits the batch is left pending: the sync of
 * its commit runs while the writer goes on with the next batches, and finish_oldest
 * publishes and answers it. Otherwise the COMMIT synced; it is published and answered
 * here. */
static void run_batch(struct writer *w, struct writer_op *ops, size_t n)
{
	const struct writer_hooks *h = &w->hooks;
	finish_ready(w);
	if (w->n_pending == WRITER_PENDING_MAX)
		finish_oldest(w, true);
	if (atomic_load(&w->failed)) {
		finish_all(w);
		fail_ops(ops, NP_ESTORE); /* queued before the failure: refused as later ones */
		return;
	}
	int *status = calloc(n, sizeof(*status));
	int ret = status == NULL ? NP_ENOMEM : h->batch_begin(h->ctx);
	if (ret != NP_OK) {
		fail_ops(ops, ret);
		free(status);
		return;
	}
	bool committed = false;
	int64_t t0 = time_mono_ns();
	ret = store_begin(w->st);
	if (ret != NP_OK) {
		log_event(LOG_ERR, "writer_failure", "step=begin error=%s", np_strerror(ret));
		finish_all(w); /* before this batch's batch_end */
		fail_ops(ops, NP_ESTORE);
		goto out;
	}
	size_t i = 0;
	bool wide = false;
	for (struct writer_op *op = ops; op != NULL; op = op->next, i++) {
		wide = wide || op->reads_widely;
		h->op_begin(h->ctx);
		status[i] = store_savepoint(w->st);
		if (status[i] == NP_OK)
			status[i] = op->apply(op, &w->txn);
		if (status[i] == NP_OK)
			status[i] = store_release(w->st);
		if (status[i] != NP_OK) {
			store_rollback_savepoint(w->st);
			h->op_undo(h->ctx);
		}
	}
	ret = h->before_commit(h->ctx);
	if (ret == NP_OK)
		ret = store_commit(w->st);
	if (ret != NP_OK) {
		store_rollback(w->st);
		fail_stop(w, "commit", ret);
		/* What committed before may still be durable: its answers first, in order,
		 * then this batch's batch_end. */
		finish_all(w);
		fail_ops(ops, NP_ESTORE);
		goto out;
	}
	if (wide)
		store_release_memory(w->st);
	pthread_mutex_lock(&w->finish_mu);
	h->committed(h->ctx);
	if (store_wal_sync_on(w->st)) {
		/* Asked after the COMMIT returned: the sync covers every frame it wrote. */
		size_t tail = (w->pending_head + w->n_pending) % WRITER_PENDING_MAX;
		w->pending[tail] = (struct pending){
		    .ops = ops, .status = status, .n = n, .ticket = store_wal_sync_ask(w->st), .t0 = t0};
		w->n_pending++;
		pthread_mutex_unlock(&w->finish_mu);
		finish_ready(w);
		return;
	}
	batch_done(w, ops, status, n, t0);
	pthread_mutex_unlock(&w->finish_mu);
	committed = true;
out:
	pthread_mutex_lock(&w->finish_mu);
	h->batch_end(h->ctx, committed);
	pthread_mutex_unlock(&w->finish_mu);
	free(status);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		/* Pending batches are ended as soon as no other work is waiting: with nothing
		 * queued the oldest sync is waited for below, and the updates that arrive
		 * meanwhile make one batch (each batch costs its own WAL pages, serial bump and
		 * journal entry). */
		while (w->head == NULL && !w->stopping && w->reload_cfg == NULL && w->n_pending == 0) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += WRITER_POLL_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0)
				break;
		}
		const struct config *reload = w->reload_cfg;
		struct writer_op *ops = w->head;
		size_t n = 0;
		struct writer_op *last = NULL;
		for (struct writer_op *op = ops; op != NULL && n < WRITER_BATCH_MAX;
		     op = op->next) {
			last = op;
			n++;
		}
		if (last != NULL) {
			w->head = last->next;
			last->next = NULL;
			if (w->head == NULL)
				w->tail = NULL;
			w->queued -= n;
		}
		bool stop = w->stopping && w->head == NULL && n == 0;
		pthread_mutex_unlock(&w->lock);

		/* The hooks' reload and wake see every batch published: the pending ones are
		 * finished first, which under a steady load happens at least every
		 * WRITER_POLL_MS. With nothing queued the oldest is waited for. */
		int64_t now = time_mono_ns();
		bool wake_due = now - w->last_wake >= WRITER_POLL_MS * 1000000LL;
		if (reload != NULL || stop || wake_due)
			finish_all(w);
		else if (n == 0)
			finish_oldest(w, true);
		if (reload != NULL) {
			w->cfg = reload;
			pthread_mutex_lock(&w->finish_mu);
			w->hooks.reload(w->hooks.ctx, reload);
			pthread_mutex_unlock(&w->finish_mu);
			pthread_mutex_lock(&w->lock);
			w->reload_cfg = NULL;
			pthread_cond_broadcast(&w->reloaded);
			pthread_mutex_unlock(&w->lock);
		}
		if (stop)
			break;
		if (w->n_pending == 0 && !atomic_load(&w->failed)) {
			pthread_mutex_lock(&w->finish_mu);
			w->hooks.wake(w->hooks.ctx);
			pthread_mutex_unlock(&w->finish_mu);
			w->last_wake = now;
		}
		if (n > 0)
			run_batch(w, ops, n);
		pthread_mutex_lock(&w->lock);
	}
	return NULL;
}

static void collect(void *ctx, struct metrics_out *o)
{
	struct writer *w = ctx;
	metrics_family(o, "writer_batches_total", "counter",
	               "transactions committed by the writer (group commits)");
	metrics_sample(o, "writer_batches_total", "", atomic_load(&w->n_batches));
	metrics_family(o, "writer_ops_total", "counter",
	               "changes the writer ran in committed batches (batch size = ops / batches)");
	metrics_sample(o, "writer_ops_total", "", atomic_load(&w->n_ops));
	metrics_family(o, "writer_ops_refused_total", "counter",
	               "changes whose own checks refused them (rolled back alone)");
	metrics_sample(o, "writer_ops_refused_total", "", atomic_load(&w->n_failed_ops));
	metrics_family(o, "writer_commit_failures_total", "counter",
	               "failed commits (fsync errors, disk full): the writer then stops");
	metrics_sample(o, "writer_commit_failures_total", "", atomic_load(&w->n_commit_failures));
	metrics_hist_write(o, "writer_commit_seconds",
	                   "time from BEGIN to a durable COMMIT of one batch", &w->commit_latency);
	pthread_mutex_lock(&w->lock);
	size_t queued = w->queued;
	pthread_mutex_unlock(&w->lock);
	metrics_family(o, "writer_queue", "gauge", "changes waiting for the writer");
	metrics_sample(o, "writer_queue", "", queued);
}

int writer_start(struct writer **out, const struct config *cfg, struct store *st,
                 const struct writer_hooks *hooks)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NP_ENOMEM;
	w->cfg = cfg;
	w->st = st;
	hooks_fill(&w->hooks, hooks);
	w->txn.w = w;
	if (store_map_reads(st) != NP_OK)
		log_warn("writer: reads stay unmapped");
	/* Pipelined commits where the store has a WAL file (not in memory). */
	int sync = store_wal_sync_start(st);
	if (sync != NP_OK && sync != NP_ENOTFOUND)
		log_warn("writer: commits stay synchronous (no sync thread: %s)", np_strerror(sync));
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->finish_mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	/* Until store_close in writer_stop, before the mutexes and cond go. */
	store_wal_sync_notify(st, sync_ended, w);
	pthread_cond_init(&w->reloaded, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		store_wal_sync_notify(st, NULL, NULL); /* nothing was asked of it yet */
		pthread_cond_destroy(&w->reloaded);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->finish_mu);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NP_EFAILED;
	}
	metrics_register(collect, w);
	*out = w;
	return NP_OK;
}

void writer_stop(struct writer *w)
{
	if (w == NULL)
		return;
	metrics_unregister(collect, w);
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	store_close(w->st);
	pthread_cond_destroy(&w->reloaded);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->finish_mu);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int writer_submit(struct writer *w, struct writer_op *op)
{
	if (atomic_load(&w->failed))
		return NP_EFAILED;
	int ret = NP_OK;
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		ret = NP_EFAILED;
	} else if (w->queued >= WRITER_QUEUE_MAX) {
		ret = NP_EAGAIN;
	} else {
		op->next = NULL;
		if (w->tail != NULL)
			w->tail->next = op;
		else
			w->head = op;
		w->tail = op;
		w->queued++;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

/* writer_run's own op around the caller's: runs its apply, then wakes the caller. */
struct run_wait {
	struct writer_op op;
	struct writer_op *inner;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool finished;
	int status;
};

static int run_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct run_wait *rw = container_of(op, struct run_wait, op);
	return rw->inner->apply(rw->inner, txn);
}

static void run_done(struct writer_op *op, int status)
{
	struct run_wait *rw = container_of(op, struct run_wait, op);
	pthread_mutex_lock(&rw->mu);
	rw->status = status;
	rw->finished = true;
	pthread_cond_signal(&rw->cond);
	pthread_mutex_unlock(&rw->mu);
}

#define RUN_RETRY_MS 50

int writer_run(struct writer *w, struct writer_op *op, unsigned max_wait_ms)
{
	struct run_wait rw = {
	    .op = {.apply = run_apply, .done = run_done, .reads_widely = op->reads_widely},
	    .inner = op};
	pthread_mutex_init(&rw.mu, NULL);
	pthread_cond_init(&rw.cond, NULL);
	int ret;
	for (unsigned waited = 0;
	     (ret = writer_submit(w, &rw.op)) == NP_EAGAIN && waited < max_wait_ms;
	     waited += RUN_RETRY_MS) {
		struct timespec tick = {0, RUN_RETRY_MS * 1000000L};
		nanosleep(&tick, NULL);
	}
	if (ret == NP_OK) {
		/* done always runs once a submit succeeded: the writer finishes its queue before
		 * it stops. */
		pthread_mutex_lock(&rw.mu);
		while (!rw.finished)
			pthread_cond_wait(&rw.cond, &rw.mu);
		ret = rw.status;
		pthread_mutex_unlock(&rw.mu);
	}
	pthread_cond_destroy(&rw.cond);
	pthread_mutex_destroy(&rw.mu);
	return ret;
}

void writer_reload(struct writer *w, const struct config *cfg)
{
	pthread_mutex_lock(&w->lock);
	w->reload_cfg = cfg;
	pthread_cond_signal(&w->cond);
	while (w->reload_cfg != NULL)
		pthread_cond_wait(&w->reloaded, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

bool writer_failed(struct writer *w)
{
	return atomic_load(&w->failed);
}
