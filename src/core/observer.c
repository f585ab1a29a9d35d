/* SPDX-License-Identifier: MIT */
/* The observer thread: loads the observation index, merges the inbox into it, checkpoints
 * it and prunes it, each step as a writer operation so that the store has one user. */
#include "core/observer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "observe/codec.h"

/* Inbox rows merged per writer operation: bounds how long one holds the writer. */
#define MERGE_ROWS 64
/* How often the index's clock advances and old addresses are freed. */
#define PRUNE_INTERVAL_MS 60000
/* Sensor batch ids are remembered this long (a sensor's spool retries within it). */
#define BATCH_ID_KEEP (7 * 24 * 3600)

enum obs_op_kind { OP_LOAD, OP_MERGE, OP_CHECKPOINT };

struct obs_op {
	struct writer_op op;
	struct observer *o;
	enum obs_op_kind kind;
	bool more; /* OP_MERGE: the inbox had MERGE_ROWS rows; there may be more */
};

struct observer {
	const struct config *cfg;
	struct writer *w;
	struct obs_index *ix;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* poked or stopping */
	pthread_cond_t merged_cond;
	bool poked, stopping, started;

	/* Written on the writer thread (inside ops) and read under lock. */
	int64_t merged_id;    /* the last inbox row merged into the index */
	int64_t committed_id; /* the last batch row committed (observer_committed) */
	uint64_t merged_events, bad_rows;
};

/* ---- merging inbox rows (writer thread) ---- */

static int merge_batch(struct observer *o, const void *data, size_t len, int64_t now)
{
	char id[OBS_BATCH_ID_MAX + 1], err[128];
	struct obs_event *ev = NULL;
	size_t n = 0;
	if (obs_batch_decode(data, len, id, &ev, &n, err, sizeof(err)) != NP_OK) {
		log_warn("observe: inbox batch unreadable: %s", err);
		return NP_EMALFORMED;
	}
	for (size_t i = 0; i < n; i++) {
		/* Ingestion refused times beyond the allowed skew; what is left of it is "now". */
		if (ev[i].time > now)
			ev[i].time = now;
		if (obs_index_add(o->ix, &ev[i]) == NP_OK)
			o->merged_events++;
	}
	free(ev);
	return NP_OK;
}

static int merge_records(struct observer *o, const uint8_t *p, size_t len)
{
	while (len >= 4) {
		uint32_t n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		             (uint32_t)p[3] << 24;
		if (n > len - 4)
			return NP_EMALFORMED;
		struct obs_record_buf rb;
		if (obs_record_decode(p + 4, n, &rb) != NP_OK)
			return NP_EMALFORMED;
		int ret = obs_index_load(o->ix, &rb.rec);
		obs_record_buf_free(&rb);
		if (ret != NP_OK)
			return ret;
		p += 4 + n;
		len -= 4 + n;
	}
	return len == 0 ? NP_OK : NP_EMALFORMED;
}

struct merge_ctx {
	struct observer *o;
	int64_t now;
	size_t rows;
};

static int merge_row(int64_t id, const char *source, enum store_obs_kind kind, const void *data,
                     size_t len, void *ctx)
{
	struct merge_ctx *m = ctx;
	struct observer *o = m->o;
	int ret = NP_EMALFORMED;
	if (kind == STORE_OBS_BATCH)
		ret = merge_batch(o, data, len, m->now);
	else if (kind == STORE_OBS_RECORDS)
		ret = merge_records(o, data, len);
	if (ret == NP_ENOMEM)
		return ret; /* retried later: the row stays unmerged */
	if (ret != NP_OK) {
		/* A damaged row is skipped (and deleted with the next checkpoint), never retried
		 * forever: it cannot get better. */
		char esc[80];
		log_err("observe: inbox row %lld from %s is damaged; skipped", (long long)id,
		        log_escape(esc, sizeof(esc), source, strlen(source)));
		o->bad_rows++;
	}
	pthread_mutex_lock(&o->lock);
	o->merged_id = id;
	pthread_mutex_unlock(&o->lock);
	m->rows++;
	return NP_OK;
}

/* Merges up to limit rows after merged_id; *rows says how many there were. */
static int merge_inbox(struct observer *o, struct store *st, size_t limit, size_t *rows)
{
	struct merge_ctx m = {o, time_now(), 0};
	pthread_mutex_lock(&o->lock);
	int64_t after = o->merged_id;
	pthread_mutex_unlock(&o->lock);
	int ret = store_obs_inbox_foreach(st, after, limit, merge_row, &m);
	*rows = m.rows;
	return ret;
}

/* ---- loading and checkpointing (writer thread) ---- */

static int load_row(const void *data, size_t len, void *ctx)
{
	struct observer *o = ctx;
	struct obs_record_buf rb;
	if (obs_record_decode(data, len, &rb) != NP_OK) {
		o->bad_rows++;
		return NP_OK; /* one damaged row costs that address, not the start */
	}
	int ret = obs_index_load(o->ix, &rb.rec);
	obs_record_buf_free(&rb);
	return ret;
}

static int clean(const struct obs_addr_record *rec, void *ctx)
{
	(void)rec;
	(void)ctx;
	return 0;
}

static int load(struct observer *o, struct store *st)
{
	int ret = store_obs_foreach(st, load_row, o);
	/* What the checkpoint holds need not be written again; what the inbox adds must. */
	if (ret == NP_OK)
		ret = obs_index_foreach_dirty(o->ix, clean, NULL);
	size_t rows = MERGE_ROWS;
	while (ret == NP_OK && rows == MERGE_ROWS)
		ret = merge_inbox(o, st, MERGE_ROWS, &rows);
	obs_index_prune(o->ix, time_now());
	return ret;
}

struct ckpt_ctx {
	struct store *st;
	size_t written;
	int ret;
};

static int write_record(const struct obs_addr_record *rec, void *ctx)
{
	struct ckpt_ctx *c = ctx;
	uint8_t key[8], *data;
	size_t keylen = obs_record_key(&rec->addr, key), len;
	int ret = obs_record_encode(rec, &data, &len);
	if (ret == NP_OK) {
		ret = store_obs_put(c->st, key, keylen, rec->last_seen, data, len);
		free(data);
	}
	if (ret != NP_OK) {
		c->ret = ret;
		return 1; /* stop the walk */
	}
	c->written++;
	return 0;
}

/* Merges what is pending, then writes the changed addresses, forgets what left the index
 * and deletes the merged inbox rows: one transaction, so a crash keeps either the inbox
 * rows or the checkpoint that covers them. */
static int checkpoint(struct observer *o, struct store *st)
{
	size_t rows = MERGE_ROWS;
	int ret = NP_OK;
	while (ret == NP_OK && rows == MERGE_ROWS)
		ret = merge_inbox(o, st, MERGE_ROWS, &rows);
	if (ret != NP_OK)
		return ret;

	/* Deletions first: an address dropped and then seen again is dirty, and its new row
	 * must survive. */
	struct np_addr dropped[256];
	size_t n;
	bool overflow = false;
	do {
		n = obs_index_take_dropped(o->ix, dropped, ARRAY_SIZE(dropped), &overflow);
		for (size_t i = 0; i < n && ret == NP_OK; i++) {
			uint8_t key[8];
			size_t keylen = obs_record_key(&dropped[i], key);
			ret = store_obs_delete(st, key, keylen);
		}
	} while (ret == NP_OK && n == ARRAY_SIZE(dropped));
	if (ret == NP_OK && overflow) {
		/* Too many to remember: rewrite the whole table. */
		log_warn("observe: many addresses left the index; rewriting the checkpoint");
		ret = store_obs_expire(st, INT64_MAX);
		obs_index_mark_all_dirty(o->ix);
	}
	if (ret != NP_OK)
		return ret;

	struct ckpt_ctx c = {st, 0, NP_OK};
	ret = obs_index_foreach_dirty(o->ix, write_record, &c);
	if (c.ret != NP_OK)
		ret = c.ret;
	if (ret != NP_OK) {
		obs_index_mark_all_dirty(
		    o->ix); /* the transaction is undone: write all next time */
		return ret;
	}
	int64_t now = time_now();
	pthread_mutex_lock(&o->lock);
	int64_t merged = o->merged_id;
	pthread_mutex_unlock(&o->lock);
	ret = store_obs_expire(st, now - (int64_t)o->cfg->obs_retention);
	if (ret == NP_OK)
		ret = store_obs_inbox_delete_upto(st, merged);
	if (ret == NP_OK)
		ret = store_sensor_batch_prune(st, now - BATCH_ID_KEEP);
	if (ret == NP_OK && c.written > 0)
		log_debug("observe: checkpoint wrote %zu addresses", c.written);
	return ret;
}

static int op_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct obs_op *oo = container_of(op, struct obs_op, op);
	struct store *st = writer_txn_store(txn);
	size_t rows = 0;
	switch (oo->kind) {
	case OP_LOAD:
		return load(oo->o, st);
	case OP_MERGE: {
		int ret = merge_inbox(oo->o, st, MERGE_ROWS, &rows);
		oo->more = rows == MERGE_ROWS;
		return ret;
	}
	case OP_CHECKPOINT:
		return checkpoint(oo->o, st);
	}
	return NP_EINVAL;
}

/* Runs one op on the writer and waits for it; a full queue is retried for up to 5 s. */
static int run_op(struct observer *o, enum obs_op_kind kind, bool *more)
{
	struct obs_op oo = {.op = {.apply = op_apply}, .o = o, .kind = kind};
	int ret = writer_run(o->w, &oo.op, 5000);
	/* Merged rows are committed now: wake observer_sync's waiters. */
	pthread_mutex_lock(&o->lock);
	pthread_cond_broadcast(&o->merged_cond);
	pthread_mutex_unlock(&o->lock);
	if (more != NULL)
		*more = oo.more;
	return ret;
}

/* ---- the thread ---- */

static void *run(void *arg)
{
	struct observer *o = arg;
	int64_t next_ckpt = time_mono_ms() + (int64_t)o->cfg->obs_checkpoint_interval * 1000;
	int64_t next_prune = time_mono_ms() + PRUNE_INTERVAL_MS;
	for (;;) {
		pthread_mutex_lock(&o->lock);
		if (!o->poked && !o->stopping) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&o->cond, &o->lock, &until);
		}
		bool stopping = o->stopping;
		o->poked = false;
		pthread_mutex_unlock(&o->lock);

		bool more = true;
		int ret = NP_OK;
		for (int i = 0; more && ret == NP_OK && i < 64; i++)
			ret = run_op(o, OP_MERGE, &more);
		int64_t now = time_mono_ms();
		if (now >= next_prune) {
			obs_index_prune(o->ix, time_now());
			next_prune = now + PRUNE_INTERVAL_MS;
		}
		if (stopping || now >= next_ckpt) {
			ret = run_op(o, OP_CHECKPOINT, NULL);
			if (ret != NP_OK)
				log_err("observe: checkpoint failed: %s", np_strerror(ret));
			next_ckpt = now + (int64_t)o->cfg->obs_checkpoint_interval * 1000;
		}
		if (stopping)
			break;
	}
	return NULL;
}

/* ---- public ---- */

int observer_start(struct observer **out, const struct config *cfg, struct writer *w)
{
	*out = NULL;
	struct observer *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NP_ENOMEM;
	o->cfg = cfg;
	o->w = w;
	o->ix = obs_index_new(cfg->obs_max_addresses, cfg->obs_retention);
	if (o->ix == NULL) {
		free(o);
		return NP_ENOMEM;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	pthread_cond_init(&o->merged_cond, NULL);

	int64_t t0 = time_mono_ms();
	int ret = run_op(o, OP_LOAD, NULL);
	if (ret != NP_OK) {
		log_err("observe: cannot load the observations: %s", np_strerror(ret));
		goto fail;
	}
	struct obs_index_stats s;
	obs_index_stats(o->ix, &s);
	log_info("observe: %zu addresses loaded in %lld ms (%zu KiB)", s.addrs,
	         (long long)(time_mono_ms() - t0), s.bytes / 1024);
	if (pthread_create(&o->thread, NULL, run, o) != 0) {
		ret = NP_ENOMEM;
		goto fail;
	}
	o->started = true;
	*out = o;
	return NP_OK;
fail:
	obs_index_free(o->ix);
	pthread_cond_destroy(&o->merged_cond);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
	return ret;
}

void observer_stop(struct observer *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->lock);
	o->stopping = true;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	if (o->started)
		pthread_join(o->thread, NULL);
	obs_index_free(o->ix);
	pthread_cond_destroy(&o->merged_cond);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

void observer_poke(struct observer *o)
{
	pthread_mutex_lock(&o->lock);
	o->poked = true;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

void observer_committed(struct observer *o, int64_t id)
{
	pthread_mutex_lock(&o->lock);
	if (id > o->committed_id)
		o->committed_id = id;
	o->poked = true;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

const struct obs_index *observer_index(const struct observer *o)
{
	return o->ix;
}

int observer_sync(struct observer *o, unsigned timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	int ret = NP_OK;
	pthread_mutex_lock(&o->lock);
	int64_t target = o->committed_id;
	o->poked = true;
	pthread_cond_broadcast(&o->cond);
	while (o->merged_id < target && ret == NP_OK)
		if (pthread_cond_timedwait(&o->merged_cond, &o->lock, &until) != 0)
			ret = NP_EAGAIN;
	pthread_mutex_unlock(&o->lock);
	return ret;
}
