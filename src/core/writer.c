/* SPDX-License-Identifier: MIT */
/* The single writer thread: group commit to SQLite, then RCU publication of new zones. */
#include "core/writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "common/log.h"
#include "dns/name.h"

/* Bounds: a full queue answers "try later" rather than growing without limit, and one
 * batch never holds the write lock for too long. */
#define WRITER_QUEUE_MAX 8192
#define WRITER_BATCH_MAX 1024
/* How often the writer looks for commits made by nameplatectl (PRAGMA data_version). */
#define WRITER_POLL_MS 200

struct touched {
	char fqdn[CFG_NAME_MAX];
	unsigned zone; /* index into cfg->zones */
};

struct writer_txn {
	struct writer *w;
};

struct writer {
	const struct config *cfg;
	struct store *st;
	struct zone_db **db_slot;
	struct zone_db *db; /* what *db_slot points to, as the writer last published it */
	int64_t data_version;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;       /* work queued, reload requested or stop */
	pthread_cond_t reloaded;   /* a reload finished */
	struct writer_op *head, *tail;
	size_t queued;
	bool stopping;
	const struct config *reload_cfg;
	atomic_bool failed;

	struct writer_txn txn;
	struct touched *touched; /* names changed in the current batch */
	size_t n_touched, cap_touched;

	/* Scratch for loading a host's records (too big for a thread stack). */
	struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	struct zone_rr_in rr_in[ZONE_MAX_RRS_PER_NODE];
};

static struct zone_db *db_alloc(unsigned n)
{
	struct zone_db *db = calloc(1, sizeof(*db) + n * sizeof(db->zones[0]));
	if (db != NULL)
		db->n_zones = n;
	return db;
}

static void db_free_all(struct zone_db *db)
{
	if (db == NULL)
		return;
	for (uint32_t i = 0; i < db->n_zones; i++)
		zone_version_free_all((struct zone_version *)db->zones[i]);
	free(db);
}

static size_t rr_in_from_store(struct zone_rr_in *out, const struct store_rr *rrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[i].type = rrs[i].type;
		out[i].ttl = rrs[i].ttl;
		out[i].rdlen = rrs[i].rdlen;
		out[i].rdata = rrs[i].rdata;
	}
	return n;
}

static unsigned host_flags(const struct store_host *h)
{
	return h->wildcard ? ZONE_NODE_WILDCARD : 0;
}

/* ---- full build: every zone from the store ---- */

struct build_ctx {
	struct writer *w;
	struct zone_version *z;
	const struct cfg_zone *cz;
	uint32_t serial;
	struct zone_node *apex; /* built when the zone's own name is also a host */
	int err;
};

static int build_host(const struct store_host *h, const struct store_rr *rrs, size_t n,
		      void *arg)
{
	struct build_ctx *b = arg;
	struct zone_rr_in *in = b->w->rr_in;
	size_t nin = rr_in_from_store(in, rrs, n);
	uint8_t name[DNS_NAME_MAX];
	int len = dns_name_from_text(h->fqdn, name, sizeof(name));
	if (len < 0) {
		log_warn("zone %s: skipping host with a bad name", b->cz->name);
		return 0;
	}
	if ((size_t)len == b->z->apex_len && memcmp(name, b->z->apex, (size_t)len) == 0) {
		b->apex = zone_node_new_apex(b->cz, b->serial, in, nin);
		if (b->apex == NULL)
			b->err = NP_ENOMEM;
		return b->apex == NULL;
	}
	struct zone_node *node = zone_node_new(name, (size_t)len, host_flags(h), in, nin);
	if (node == NULL) {
		log_warn("zone %s: skipping host %s: records do not render", b->cz->name, h->fqdn);
		return 0;
	}
	b->err = zone_version_insert(b->z, node);
	return b->err != NP_OK;
}

static int build_zone(struct writer *w, const struct cfg_zone *cz, struct zone_version **out)
{
	uint8_t apex[DNS_NAME_MAX];
	int alen = dns_name_from_text(cz->name, apex, sizeof(apex));
	if (alen < 0)
		return NP_EINVAL;
	uint32_t serial;
	int ret = store_zone_serial(w->st, cz->name, &serial);
	if (ret != NP_OK)
		return ret;
	struct build_ctx b = {.w = w, .cz = cz, .serial = serial};
	b.z = zone_version_new(apex, (size_t)alen, serial, 1024);
	if (b.z == NULL)
		return NP_ENOMEM;
	ret = store_foreach_host_records(w->st, cz->name, build_host, &b);
	if (ret == NP_OK)
		ret = b.err;
	if (ret == NP_OK && b.apex == NULL) {
		b.apex = zone_node_new_apex(cz, serial, NULL, 0);
		if (b.apex == NULL)
			ret = NP_ENOMEM;
	}
	if (ret == NP_OK) {
		ret = zone_version_insert(b.z, b.apex);
		b.apex = NULL;
	}
	zone_node_free(b.apex);
	if (ret != NP_OK) {
		zone_version_free_all(b.z);
		return ret;
	}
	*out = b.z;
	return NP_OK;
}

/* Builds every zone of cfg afresh and publishes them. Used at start, after a reload and
 * when another connection (nameplatectl) committed changes. */
static int rebuild_all(struct writer *w)
{
	int64_t started = time_mono_ms();
	int64_t version;
	int ret = store_data_version(w->st, &version);
	if (ret != NP_OK)
		return ret;
	struct zone_db *db = db_alloc(w->cfg->n_zones);
	if (db == NULL)
		return NP_ENOMEM;
	size_t nodes = 0;
	for (unsigned i = 0; i < w->cfg->n_zones; i++) {
		struct zone_version *z = NULL;
		ret = build_zone(w, &w->cfg->zones[i], &z);
		if (ret != NP_OK) {
			log_err("zone %s: cannot load: %s", w->cfg->zones[i].name,
				np_strerror(ret));
			db->n_zones = i;
			db_free_all(db);
			return ret;
		}
		db->zones[i] = z;
		nodes += z->count;
	}
	struct zone_db *old = w->db;
	rcu_assign_pointer(*w->db_slot, db);
	w->db = db;
	w->data_version = version;
	synchronize_rcu();
	db_free_all(old);
	store_release_memory(w->st);
	log_info("loaded %u zones, %zu names in %lld ms", db->n_zones, nodes,
		 (long long)(time_mono_ms() - started));
	return NP_OK;
}

/* ---- incremental publication after a batch ---- */

static int zone_index(const struct config *cfg, const char *fqdn, unsigned *out)
{
	const struct cfg_zone *cz = config_zone_for(cfg, fqdn);
	if (cz == NULL)
		return NP_ENOTFOUND;
	*out = (unsigned)(cz - cfg->zones);
	return NP_OK;
}

int writer_txn_touch(struct writer_txn *txn, const char *fqdn)
{
	struct writer *w = txn->w;
	unsigned zi;
	if (zone_index(w->cfg, fqdn, &zi) != NP_OK)
		return NP_ENOTFOUND;
	for (size_t i = 0; i < w->n_touched; i++)
		if (strcmp(w->touched[i].fqdn, fqdn) == 0)
			return NP_OK;
	if (w->n_touched == w->cap_touched) {
		size_t cap = w->cap_touched ? w->cap_touched * 2 : 64;
		struct touched *t = realloc(w->touched, cap * sizeof(*t));
		if (t == NULL)
			return NP_ENOMEM;
		w->touched = t;
		w->cap_touched = cap;
	}
	struct touched *t = &w->touched[w->n_touched++];
	np_strlcpy(t->fqdn, fqdn, sizeof(t->fqdn));
	t->zone = zi;
	return NP_OK;
}

struct store *writer_txn_store(struct writer_txn *txn)
{
	return txn->w->st;
}

const struct config *writer_txn_config(struct writer_txn *txn)
{
	return txn->w->cfg;
}

/* Renders fqdn as stored now. *node is NULL when the host no longer exists. */
static int render_host(struct writer *w, const char *fqdn, struct zone_node **node)
{
	struct store_host h;
	*node = NULL;
	int ret = store_host_get(w->st, fqdn, &h);
	if (ret == NP_ENOTFOUND)
		return NP_OK;
	if (ret != NP_OK)
		return ret;
	size_t n = 0;
	ret = store_records_get(w->st, h.id, w->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	uint8_t name[DNS_NAME_MAX];
	int len = dns_name_from_text(fqdn, name, sizeof(name));
	if (len < 0)
		return NP_EINVAL;
	size_t nin = rr_in_from_store(w->rr_in, w->rrs, n);
	*node = zone_node_new(name, (size_t)len, host_flags(&h), w->rr_in, nin);
	return *node == NULL ? NP_ENOMEM : NP_OK;
}

static int render_apex(struct writer *w, const struct cfg_zone *cz, uint32_t serial,
		       struct zone_node **node)
{
	struct store_host h;
	size_t n = 0;
	int ret = store_host_get(w->st, cz->name, &h);
	if (ret == NP_OK)
		ret = store_records_get(w->st, h.id, w->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	else if (ret == NP_ENOTFOUND)
		ret = NP_OK;
	if (ret != NP_OK)
		return ret;
	size_t nin = rr_in_from_store(w->rr_in, w->rrs, n);
	*node = zone_node_new_apex(cz, serial, w->rr_in, nin);
	return *node == NULL ? NP_ENOMEM : NP_OK;
}

/* Derives the next version of zone zi with the touched names re-rendered and the new
 * serial. The nodes it replaces are collected in retired. */
static int derive_zone(struct writer *w, unsigned zi, uint32_t serial,
		       struct zone_version **out, struct zone_retired *retired)
{
	const struct cfg_zone *cz = &w->cfg->zones[zi];
	const struct zone_version *old = w->db->zones[zi];
	size_t n = 0, n_removed = 0;
	for (size_t i = 0; i < w->n_touched; i++)
		n += w->touched[i].zone == zi;
	struct zone_node **repl = calloc(n + 1, sizeof(*repl));
	uint8_t (*names)[DNS_NAME_MAX] = calloc(n + 1, sizeof(*names));
	const uint8_t **removed = calloc(n + 1, sizeof(*removed));
	size_t *removed_len = calloc(n + 1, sizeof(*removed_len));
	size_t n_repl = 0;
	int ret = NP_ENOMEM;
	if (repl == NULL || names == NULL || removed == NULL || removed_len == NULL)
		goto done;
	ret = render_apex(w, cz, serial, &repl[n_repl]);
	if (ret != NP_OK)
		goto done;
	n_repl++;
	for (size_t i = 0; i < w->n_touched; i++) {
		const struct touched *t = &w->touched[i];
		if (t->zone != zi || strcmp(t->fqdn, cz->name) == 0)
			continue;
		struct zone_node *node;
		ret = render_host(w, t->fqdn, &node);
		if (ret != NP_OK)
			goto done;
		if (node != NULL) {
			repl[n_repl++] = node;
			continue;
		}
		int len = dns_name_from_text(t->fqdn, names[n_removed], DNS_NAME_MAX);
		if (len > 0) {
			removed[n_removed] = names[n_removed];
			removed_len[n_removed++] = (size_t)len;
		}
	}
	*out = zone_version_derive(old, serial, repl, n_repl, removed, removed_len, n_removed,
				   retired);
	ret = *out == NULL ? NP_ENOMEM : NP_OK;
	if (ret == NP_OK)
		n_repl = 0; /* the new version owns them now */
done:
	for (size_t i = 0; i < n_repl; i++)
		zone_node_free(repl[i]);
	free(repl);
	free(names);
	free(removed);
	free(removed_len);
	return ret;
}

/* What a publication leaves behind: freed once no reader can still see it. */
struct garbage {
	struct zone_db *old_db;             /* the struct only; its zones are below or shared */
	struct zone_version **old_versions; /* tables of the replaced versions */
	struct zone_retired retired;        /* nodes and pages only the old versions used */
};

static void garbage_free(struct garbage *g)
{
	for (uint32_t i = 0; g->old_db != NULL && i < g->old_db->n_zones; i++)
		if (g->old_versions[i] != NULL)
			zone_version_free_table(g->old_versions[i]);
	zone_retired_free_nodes(&g->retired);
	zone_retired_deinit(&g->retired);
	free(g->old_versions);
	free(g->old_db);
}

/* Publishes the committed batch: a new zone_db sharing the untouched zones. If anything
 * fails here the store is already right, so fall back to a full rebuild from it. */
static void publish_batch(struct writer *w, const uint32_t *serials, const bool *zone_touched,
			  struct garbage *g)
{
	uint32_t nz = w->db->n_zones;
	struct zone_db *db = db_alloc(nz);
	g->old_versions = calloc(nz, sizeof(*g->old_versions));
	bool ok = db != NULL && g->old_versions != NULL;
	for (uint32_t i = 0; ok && i < nz; i++) {
		if (!zone_touched[i]) {
			db->zones[i] = w->db->zones[i];
			continue;
		}
		struct zone_version *z = NULL;
		if (derive_zone(w, i, serials[i], &z, &g->retired) != NP_OK) {
			ok = false;
			break;
		}
		db->zones[i] = z;
		g->old_versions[i] = (struct zone_version *)w->db->zones[i];
	}
	if (!ok) {
		/* Throw the new versions away (their copied pages and fresh nodes with them);
		 * what their derives retired is still the published versions', so only forget
		 * it. Then rebuild everything from the store, which is already right. */
		for (uint32_t i = 0; db != NULL && g->old_versions != NULL && i < nz; i++)
			if (g->old_versions[i] != NULL)
				zone_version_discard((struct zone_version *)db->zones[i],
						     g->old_versions[i]);
		free(db);
		free(g->old_versions);
		g->old_versions = NULL;
		zone_retired_drop(&g->retired);
		log_warn("incremental zone update failed; rebuilding from the store");
		if (rebuild_all(w) != NP_OK)
			log_err("zone rebuild failed; DNS keeps serving the previous data");
		return;
	}
	g->old_db = w->db;
	rcu_assign_pointer(*w->db_slot, db);
	w->db = db;
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

/* One batch: every op in its own savepoint of one transaction, one commit (the fsync),
 * then publication, then the answers. */
static void run_batch(struct writer *w, struct writer_op *ops, size_t n)
{
	int *status = calloc(n, sizeof(*status));
	uint32_t *serials = calloc(w->cfg->n_zones, sizeof(*serials));
	bool *zone_touched = calloc(w->cfg->n_zones, sizeof(*zone_touched));
	if (status == NULL || serials == NULL || zone_touched == NULL) {
		fail_ops(ops, NP_ENOMEM);
		goto out;
	}
	w->n_touched = 0;
	int ret = store_begin(w->st);
	if (ret != NP_OK) {
		log_err("writer: cannot begin a transaction: %s", np_strerror(ret));
		fail_ops(ops, NP_ESTORE);
		goto out;
	}
	size_t i = 0;
	for (struct writer_op *op = ops; op != NULL; op = op->next, i++) {
		size_t touched_before = w->n_touched;
		status[i] = store_savepoint(w->st);
		if (status[i] == NP_OK)
			status[i] = op->apply(op, &w->txn);
		if (status[i] == NP_OK)
			status[i] = store_release(w->st);
		if (status[i] != NP_OK) {
			store_rollback_savepoint(w->st);
			w->n_touched = touched_before;
		}
	}
	ret = NP_OK;
	for (size_t t = 0; t < w->n_touched && ret == NP_OK; t++) {
		unsigned zi = w->touched[t].zone;
		if (!zone_touched[zi])
			ret = store_zone_bump(w->st, w->cfg->zones[zi].name, &serials[zi]);
		zone_touched[zi] = true;
	}
	if (ret == NP_OK)
		ret = store_commit(w->st);
	if (ret != NP_OK) {
		/* After a failed commit (fsync error, disk full) nothing can be trusted to be on
		 * disk: stop acknowledging anything until an operator restarts us. */
		store_rollback(w->st);
		atomic_store(&w->failed, true);
		log_err("writer: commit failed (%s): no further change will be acknowledged",
			np_strerror(ret));
		fail_ops(ops, NP_ESTORE);
		goto out;
	}
	/* Publish, answer, and only then wait out the readers of the old version. */
	struct garbage g = {0};
	if (w->n_touched > 0)
		publish_batch(w, serials, zone_touched, &g);
	finish_ops(ops, status, n);
	if (g.old_db != NULL) {
		synchronize_rcu();
		garbage_free(&g);
	}
out:
	free(status);
	free(serials);
	free(zone_touched);
}

static void check_external_changes(struct writer *w)
{
	int64_t version;
	if (store_data_version(w->st, &version) != NP_OK || version == w->data_version)
		return;
	log_info("store changed by another process; reloading zones");
	if (rebuild_all(w) != NP_OK)
		log_err("zone reload failed; DNS keeps serving the previous data");
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->head == NULL && !w->stopping && w->reload_cfg == NULL) {
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
		for (struct writer_op *op = ops; op != NULL && n < WRITER_BATCH_MAX; op = op->next) {
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

		if (reload != NULL) {
			w->cfg = reload;
			if (rebuild_all(w) != NP_OK)
				log_err("reload: zones could not be rebuilt");
			pthread_mutex_lock(&w->lock);
			w->reload_cfg = NULL;
			pthread_cond_broadcast(&w->reloaded);
			pthread_mutex_unlock(&w->lock);
		}
		if (stop)
			break;
		check_external_changes(w);
		if (n > 0)
			run_batch(w, ops, n);
		pthread_mutex_lock(&w->lock);
	}
	return NULL;
}

int writer_start(struct writer **out, const struct config *cfg, struct store *st,
		 struct zone_db **db_slot)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NP_ENOMEM;
	w->cfg = cfg;
	w->st = st;
	w->db_slot = db_slot;
	w->txn.w = w;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_cond_init(&w->reloaded, NULL);
	int ret = rebuild_all(w);
	if (ret == NP_OK && pthread_create(&w->thread, NULL, writer_main, w) != 0)
		ret = NP_EFAILED;
	if (ret != NP_OK) {
		rcu_assign_pointer(*db_slot, NULL);
		db_free_all(w->db);
		free(w);
		return ret;
	}
	*out = w;
	return NP_OK;
}

void writer_stop(struct writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	rcu_assign_pointer(*w->db_slot, NULL);
	synchronize_rcu();
	db_free_all(w->db);
	store_close(w->st);
	free(w->touched);
	pthread_cond_destroy(&w->reloaded);
	pthread_cond_destroy(&w->cond);
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
	struct run_wait rw = {.op = {.apply = run_apply, .done = run_done}, .inner = op};
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
