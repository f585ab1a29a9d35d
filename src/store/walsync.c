/* SPDX-License-Identifier: MIT */
/* The WAL synced on a thread of its own (store_wal_sync_*), for the writer's pipelined
 * group commit.
 *
 * With synchronous=FULL every COMMIT of the writer ends in an fdatasync of the WAL, and the
 * writer can do nothing else until the disk answers: with 32 updates in flight that wait
 * was half of the writer's time. Here the writer's connection commits with
 * synchronous=OFF, which writes the transaction's frames into the WAL (the page cache) and
 * returns; the writer then asks this thread for an fdatasync of the WAL and goes on with
 * its next batch while the disk works. It answers a batch only once a sync that began after
 * the batch's COMMIT returned has succeeded.
 *
 * Why that is as durable as synchronous=FULL:
 * - fdatasync writes every dirty page of the file, whichever descriptor wrote it: ours is
 *   opened on the WAL the connection writes (checked after each sync: the file must still
 *   be linked, as SQLite removes its WAL only when the last connection closes).
 * - A commit is a run of frames in the WAL ending in a commit frame; on recovery SQLite
 *   keeps the frames up to the last commit frame whose salts and running checksum match.
 *   Once the sync returns, the frames of every COMMIT that returned before it began are on
 *   disk, earlier commits included; the frames of later commits are either whole or
 *   rejected by the checksum, and those commits were not answered.
 * - What synchronous=FULL adds besides the sync at commit does not apply: the WAL header
 *   sync after a restart guards the header against frames that could outrun it, and a
 *   restart happens only after a checkpoint copied the whole WAL into the database and
 *   synced it (the checkpoint thread's connection keeps synchronous=FULL, so it syncs the
 *   WAL before it copies and the database after); padding to a sector is off with SQLite's
 *   default powersafe overwrite.
 * - The writer's connection never checkpoints while this runs (store_checkpoint_background
 *   is started first), and store_close sets synchronous=FULL back before the connection's
 *   last checkpoint.
 * - Other connections may read a committed change before its sync: nothing is answered
 *   from them about a change (the writer decides and answers), and the DNS answers only
 *   what the writer published after the sync. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "store/store_int.h"

struct store_walsync {
	int fd; /* the WAL, our own descriptor */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t asked_cv, done_cv;
	uint64_t asked; /* tickets: commits the writer asked a sync for */
	uint64_t done;  /* every ticket up to this one is covered by a finished sync */
	bool failed;    /* a sync failed: nothing after it is durable, for good */
	bool stopping;
	void (*notify)(void *ctx); /* store_wal_sync_notify's */
	void *notify_ctx;
};

/* One fdatasync, then whether the descriptor still names the store's WAL.
 *
 * The check asks for the link count alone (statx with STATX_NLINK), not fstat: where the
 * kernel keeps fine-grained ("multigrain") timestamps, as Linux 6.18 does on ext4, reading
 * a file's times makes its next write stamp a new, finer time, which dirties the inode, and
 * the next fdatasync then writes the inode too: one more synchronous disk write before the
 * flush, in every sync. Without the read, a sync writes the inode only when the coarse
 * clock ticked since the last write (bench/README.md, "The WAL's inode, and TSIG's
 * HMAC"). */
static bool sync_once(int fd)
{
	if (fdatasync(fd) != 0) {
		log_err("store: fdatasync of the WAL failed: %s", strerror(errno));
		return false;
	}
	struct statx sb;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_NLINK, &sb) != 0 || sb.stx_nlink == 0) {
		log_err("store: the WAL file was removed under the writer");
		return false;
	}
	return true;
}

static void *walsync_main(void *arg)
{
	struct store_walsync *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->done == s->asked && !s->stopping)
			pthread_cond_wait(&s->asked_cv, &s->mu);
		if (s->done == s->asked)
			break; /* stopping, nothing left */
		uint64_t target = s->asked;
		bool failed = s->failed;
		pthread_mutex_unlock(&s->mu);
		/* Begins after the COMMIT of every ticket up to target returned. */
		bool ok = !failed && sync_once(s->fd);
		pthread_mutex_lock(&s->mu);
		s->failed = s->failed || !ok;
		s->done = target;
		pthread_cond_broadcast(&s->done_cv);
		void (*notify)(void *) = s->notify;
		void *notify_ctx = s->notify_ctx;
		if (notify != NULL) {
			pthread_mutex_unlock(&s->mu);
			notify(notify_ctx);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Syncs the directory once, so the WAL's name is durable however it came to be. */
static int sync_dir(const char *wal)
{
	char dir[PATH_MAX];
	if ((size_t)snprintf(dir, sizeof(dir), "%s", wal) >= sizeof(dir))
		return NP_ETOOBIG;
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		np_strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NP_ESTORE;
	int rc = fsync(fd);
	close(fd);
	return rc == 0 ? NP_OK : NP_ESTORE;
}

static void walsync_free(struct store_walsync *s)
{
	if (s->fd >= 0)
		close(s->fd);
	pthread_cond_destroy(&s->done_cv);
	pthread_cond_destroy(&s->asked_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int store_wal_sync_start(struct store *st)
{
	if (st->walsync != NULL)
		return NP_OK;
	const char *db = sqlite3_db_filename(st->db, "main");
	const char *wal = db != NULL && db[0] != '\0' ? sqlite3_filename_wal(db) : NULL;
	if (wal == NULL || wal[0] == '\0')
		return NP_ENOTFOUND; /* no file, no WAL: commits stay synchronous */
	/* This connection must never checkpoint with synchronous=OFF (it would copy into the
	 * database without syncing it, then restart the WAL over synced frames): the
	 * checkpoint thread's connection does it, syncing. */
	int ck = store_checkpoint_background(st);
	if (ck != NP_OK)
		return ck;
	struct store_walsync *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NP_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->asked_cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	/* The WAL exists once the connection has read in WAL mode, which store_open did. */
	s->fd = open(wal, O_RDWR | O_CLOEXEC);
	int ret = s->fd < 0 ? NP_ENOTFOUND : sync_dir(wal);
	if (ret == NP_OK && !sync_once(s->fd))
		ret = NP_ESTORE;
	if (ret == NP_OK && pthread_create(&s->thread, NULL, walsync_main, s) != 0)
		ret = NP_EFAILED;
	if (ret == NP_OK) {
		char *err = NULL;
		if (sqlite3_exec(st->db, "PRAGMA synchronous = OFF", NULL, NULL, &err) != SQLITE_OK) {
			log_err("store: %s", err != NULL ? err : "PRAGMA synchronous failed");
			sqlite3_free(err);
			pthread_mutex_lock(&s->mu);
			s->stopping = true;
			pthread_cond_signal(&s->asked_cv);
			pthread_mutex_unlock(&s->mu);
			pthread_join(s->thread, NULL);
			ret = NP_ESTORE;
		}
	}
	if (ret != NP_OK) {
		walsync_free(s);
		return ret;
	}
	st->walsync = s;
	return NP_OK;
}

bool store_wal_sync_on(const struct store *st)
{
	return st->walsync != NULL;
}

uint64_t store_wal_sync_ask(struct store *st)
{
	struct store_walsync *s = st->walsync;
	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	uint64_t ticket = ++s->asked;
	pthread_cond_signal(&s->asked_cv);
	pthread_mutex_unlock(&s->mu);
	return ticket;
}

int store_wal_sync_wait(struct store *st, uint64_t ticket)
{
	struct store_walsync *s = st->walsync;
	if (s == NULL)
		return NP_OK; /* the COMMIT itself synced */
	pthread_mutex_lock(&s->mu);
	while (s->done < ticket)
		pthread_cond_wait(&s->done_cv, &s->mu);
	bool failed = s->failed;
	pthread_mutex_unlock(&s->mu);
	return failed ? NP_ESTORE : NP_OK;
}

int store_wal_sync_poll(struct store *st, uint64_t ticket)
{
	struct store_walsync *s = st->walsync;
	if (s == NULL)
		return NP_OK;
	pthread_mutex_lock(&s->mu);
	int ret = s->done < ticket ? NP_EAGAIN : s->failed ? NP_ESTORE : NP_OK;
	pthread_mutex_unlock(&s->mu);
	return ret;
}

void store_wal_sync_notify(struct store *st, void (*fn)(void *ctx), void *ctx)
{
	struct store_walsync *s = st->walsync;
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->notify = fn;
	s->notify_ctx = ctx;
	pthread_mutex_unlock(&s->mu);
}

int store_wal_sync_now(struct store *st)
{
	return store_wal_sync_wait(st, store_wal_sync_ask(st));
}

void store__wal_sync_stop(struct store *st)
{
	struct store_walsync *s = st->walsync;
	if (s == NULL)
		return;
	/* The connection's last checkpoint (at close) must sync what it copies. */
	if (sqlite3_exec(st->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
		log_err("store: cannot set synchronous=FULL back: %s", sqlite3_errmsg(st->db));
	if (store_wal_sync_now(st) != NP_OK)
		log_err("store: the last sync of the WAL failed");
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_signal(&s->asked_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	walsync_free(s);
	st->walsync = NULL;
}
