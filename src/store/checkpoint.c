/* SPDX-License-Identifier: MIT */
/* WAL checkpoints on a thread of their own (store_checkpoint_background).
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that finds the WAL past 1000 pages:
 * the committing thread copies every page of the WAL into the database file and syncs it
 * before its COMMIT returns. For the writer that was a sixth of its time under a steady
 * load of updates, and every change queued behind that batch waited for it. A passive
 * checkpoint from another connection does the same work beside the writer, which goes on
 * appending to the WAL; SQLite restarts the WAL at the writer's next transaction once a
 * checkpoint has copied all of it. Nothing about durability changes: each commit is synced
 * in the WAL before it is answered (store/walsync.c), and the checkpoint syncs the WAL before
 * it copies and the database after (this connection keeps synchronous=FULL). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common/log.h"
#include "store/store_int.h"

/* Why STORE_CHECKPOINT_PAGES, the WAL's size in pages from which a checkpoint is asked for:
 * 32 MiB of 1 KiB pages, 32 times SQLite's default. A checkpoint copies each page once
 * however many commits rewrote it (the index pages above the hosts, the tails of the
 * history and the journal, and with a longer WAL more of the hosts' own record pages) and
 * syncs the WAL and the database once: with 1000 pages, checkpoints were a sixth of the
 * server's CPU per update under load; 8000 -> 32000 gave 1.13x the acknowledged UPDATEs at
 * 32 outstanding (bench/README.md). The writer's page cache grows with it (store_map_reads
 * says why), which is the cost: up to about 30 MiB more under a steady random load.
 * Recovery replays at most these 32 MiB. */

struct store_checkpointer {
	sqlite3 *db; /* its own connection: checkpoints never run on the writer's */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool due, stopping;
	atomic_bool asked; /* set by the hook, so most commits take no lock */
};

/* After each commit of the writer's connection, on its thread: frames is the WAL's size. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_checkpointer *c = arg;
	(void)db;
	(void)name;
	if (frames < STORE_CHECKPOINT_PAGES || atomic_exchange(&c->asked, true))
		return SQLITE_OK;
	pthread_mutex_lock(&c->mu);
	c->due = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

static void *checkpoint_main(void *arg)
{
	struct store_checkpointer *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->due && !c->stopping)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stopping)
			break;
		c->due = false;
		pthread_mutex_unlock(&c->mu);
		/* Asked again by the first commit that finds the WAL still long after this one. */
		atomic_store(&c->asked, false);
		int log_pages = 0, copied = 0;
		int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
		                                   &log_pages, &copied);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store: WAL checkpoint failed: %s", sqlite3_errmsg(c->db));
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void checkpointer_free(struct store_checkpointer *c)
{
	if (c->db != NULL)
		sqlite3_close(c->db);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int store_checkpoint_background(struct store *st)
{
	if (st->ckpt != NULL)
		return NP_OK;
	struct store_checkpointer *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NP_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	const char *path = sqlite3_db_filename(st->db, "main");
	int rc = sqlite3_open_v2(path != NULL ? path : "", &c->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	char *err = NULL;
	if (rc == SQLITE_OK) {
		/* The checkpoint syncs as the writer's commits do; it never waits long for a
		 * lock (a busy checkpoint is asked for again). */
		sqlite3_busy_timeout(c->db, 100);
		rc = sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL, &err);
	}
	/* One read now, while the process may still be root: the connection opens the WAL and
	 * its index (-shm) and keeps them, as store_open_reader's does. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "SELECT count(*) FROM meta", NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		log_err("store: cannot open a connection for checkpoints: %s",
		        err != NULL ? err : c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sqlite3_free(err);
		checkpointer_free(c);
		return NP_ESTORE;
	}
	if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
		checkpointer_free(c);
		return NP_EFAILED;
	}
	pthread_setname_np(c->thread, "checkpoint");
	/* Replaces SQLite's automatic checkpoint on this connection (it is a WAL hook too). */
	sqlite3_wal_hook(st->db, wal_hook, c);
	st->ckpt = c;
	return NP_OK;
}

void store__checkpoint_stop(struct store *st)
{
	struct store_checkpointer *c = st->ckpt;
	if (c == NULL)
		return;
	/* Back to the automatic checkpoint before the hook's argument goes. */
	sqlite3_wal_autocheckpoint(st->db, STORE_CHECKPOINT_PAGES);
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	checkpointer_free(c);
	st->ckpt = NULL;
}
