/* SPDX-License-Identifier: MIT */
/* Coalesced writes into the WAL (store__walbuf_vfs): a VFS over SQLite's default one that
 * gathers the frames a transaction appends to the -wal file and writes them with one call.
 *
 * SQLite writes each WAL frame with two write calls (its 24-byte header, then the page):
 * about eight pwrite system calls per update, a third of the writer thread's time under
 * load. Here the appends of a transaction go to a buffer and reach the file in one pwrite
 * when the transaction's commit frame is complete. Files other than the database and its
 * WAL are SQLite's own (opened straight by the default VFS); the database file is wrapped
 * only to know its WAL (sqlite3_database_file_object, when the WAL is opened).
 *
 * Why every reader, the checkpoint and the sync thread still see what SQLite wrote (wal.c
 * of SQLite 3.40, Debian's; the same in the versions since):
 * - Order: the buffer holds one contiguous run of bytes, the latest appends. A write
 *   anywhere else, a read, a size, a truncate, a sync, a file control, a lock or a close
 *   on the WAL first writes the buffer out, so the file goes through the same states as
 *   without the buffer, only with fewer calls between them.
 * - Visibility: in sqlite3WalFrames (wal.c), a transaction's frames are written (each by
 *   walWriteOneFrame: header, then page), then the last one's checksums rewritten if a
 *   frame was overwritten (walRewriteChecksums: reads, which flush, and writes of the
 *   headers in place, which are not appends and go straight to the file), then with
 *   synchronous=FULL the WAL is synced (a flush here). Only then are the frames added to
 *   the wal-index and the commit published: walIndexWriteHdr writes the second copy of
 *   the index header, calls xShmBarrier on the database file and writes the first copy,
 *   which is what a reader (walIndexTryHdr) and the checkpoint go by. The commit frame is
 *   the one whose header carries a database size (bytes 4-7, zero for the others); the
 *   write that follows its header (the page) flushes the buffer, inside xWrite, so a
 *   failed write is the I/O error (SQLITE_IOERR_WRITE, SQLITE_FULL) of that xWrite:
 *   sqlite3WalFrames returns it before anything is published, SQLite rolls back, and the
 *   writer fails-stop as it does on any write error. xShmBarrier and xShmLock on the
 *   database also flush, should anything be left (frames of a transaction that spilled
 *   and rolled back, which no reader ever looks at); a commit frame left there would be
 *   a bug, and a failed flush of it there stops the process (abort) rather than let the
 *   commit be published without it.
 * - Durability is store/walsync.c's: its fdatasync begins after a COMMIT returned, and by
 *   then the commit's frames were written to the file by this flush.
 * - After a failed flush every later call on the WAL fails too (the file lacks frames
 *   SQLite counts as written): nothing more is committed through this connection. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/store_int.h"

#define WALBUF_VFS "np-walbuf"
/* Flushed at this size even within a transaction (a batch of updates writes about 40 KiB):
 * under 128 KiB, as the unix VFS writes at most 128 KiB - 1 in one call (seekAndWrite). */
#define WALBUF_BYTES     (120 * 1024)
#define WAL_FRAME_HEADER 24

struct walbuf_file {
	sqlite3_file base;
	struct walbuf_file *wal; /* of a database: its open WAL, or NULL */
	struct walbuf_file *db;  /* of a WAL: its database file, or NULL */
	unsigned char *buf;      /* of a WAL: WALBUF_BYTES, on first use */
	size_t len;              /* bytes in buf */
	sqlite3_int64 at;        /* the file offset of buf[0] */
	sqlite3_int64 next;      /* the offset after the last write (an append goes there) */
	bool commit_next;        /* the last write was a commit frame's header */
	bool commit_in_buf;      /* buf holds a commit frame's header */
	int failed;              /* a flush failed: its error, for every later call */
	/* The default VFS's file follows. */
};
_Static_assert(sizeof(struct walbuf_file) % 8 == 0, "the default VFS's file is aligned");

static sqlite3_vfs *real_vfs;
static sqlite3_vfs walbuf_vfs;
static const sqlite3_io_methods db_methods, wal_methods;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static sqlite3_file *real(sqlite3_file *f)
{
	return (sqlite3_file *)((struct walbuf_file *)f + 1);
}

static int flush(struct walbuf_file *w)
{
	if (w->failed != SQLITE_OK)
		return w->failed;
	if (w->len == 0)
		return SQLITE_OK;
	sqlite3_file *r = real(&w->base);
	int rc = r->pMethods->xWrite(r, w->buf, (int)w->len, w->at);
	w->len = 0;
	w->commit_in_buf = false;
	if (rc != SQLITE_OK) {
		log_err("store: writing frames into the WAL failed (SQLite code %d)", rc);
		w->failed = rc;
	}
	return rc;
}

/* ---- the WAL */

static int wal_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	struct walbuf_file *w = (struct walbuf_file *)f;
	if (w->failed != SQLITE_OK)
		return w->failed;
	bool commit_page = w->commit_next;
	w->commit_next =
	    n == WAL_FRAME_HEADER && memcmp((const unsigned char *)data + 4, "\0\0\0\0", 4) != 0;
	int rc = SQLITE_OK;
	bool append = off == w->next && (size_t)n <= WALBUF_BYTES;
	if (append && w->buf == NULL) {
		w->buf = malloc(WALBUF_BYTES);
		append = w->buf != NULL;
	}
	if (!append || w->len + (size_t)n > WALBUF_BYTES)
		rc = flush(w);
	if (rc != SQLITE_OK)
		return rc;
	w->next = off + n;
	if (!append) {
		sqlite3_file *r = real(f);
		return r->pMethods->xWrite(r, data, n, off);
	}
	if (w->len == 0)
		w->at = off;
	memcpy(w->buf + w->len, data, (size_t)n);
	w->len += (size_t)n;
	w->commit_in_buf = w->commit_in_buf || w->commit_next;
	/* The commit frame is complete: written now, before SQLite publishes it. */
	return commit_page ? flush(w) : SQLITE_OK;
}

static int wal_close(sqlite3_file *f)
{
	struct walbuf_file *w = (struct walbuf_file *)f;
	int rc = flush(w);
	if (w->db != NULL)
		w->db->wal = NULL;
	free(w->buf);
	w->buf = NULL;
	sqlite3_file *r = real(f);
	int rc_close = r->pMethods->xClose(r);
	return rc != SQLITE_OK ? rc : rc_close;
}

static int wal_read(sqlite3_file *f, void *data, int n, sqlite3_int64 off)
{
	int rc = flush((struct walbuf_file *)f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xRead(r, data, n, off);
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = flush((struct walbuf_file *)f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xTruncate(r, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	int rc = flush((struct walbuf_file *)f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xSync(r, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = flush((struct walbuf_file *)f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xFileSize(r, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
	int rc = flush((struct walbuf_file *)f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xLock(r, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
	int rc = flush((struct walbuf_file *)f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xUnlock(r, level);
}

static int wal_check_reserved(sqlite3_file *f, int *out)
{
	int rc = flush((struct walbuf_file *)f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xCheckReservedLock(r, out);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	int rc = flush((struct walbuf_file *)f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xFileControl(r, op, arg);
}

/* ---- both: calls passed on as they are */

static int pass_sector_size(sqlite3_file *f)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xSectorSize(r);
}

static int pass_device(sqlite3_file *f)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xDeviceCharacteristics(r);
}

static int pass_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xShmMap(r, page, size, extend, out);
}

static int pass_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xFetch(r, off, n, out);
}

static int pass_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xUnfetch(r, off, p);
}

/* ---- the database: its calls pass on, the shared-memory ones after a flush of its WAL */

static int db_close(sqlite3_file *f)
{
	struct walbuf_file *d = (struct walbuf_file *)f;
	if (d->wal != NULL)
		d->wal->db = NULL;
	sqlite3_file *r = real(f);
	return r->pMethods->xClose(r);
}

static int db_read(sqlite3_file *f, void *data, int n, sqlite3_int64 off)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xRead(r, data, n, off);
}

static int db_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xWrite(r, data, n, off);
}

static int db_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xTruncate(r, size);
}

static int db_sync(sqlite3_file *f, int flags)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xSync(r, flags);
}

static int db_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xFileSize(r, size);
}

static int db_lock(sqlite3_file *f, int level)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xLock(r, level);
}

static int db_unlock(sqlite3_file *f, int level)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xUnlock(r, level);
}

static int db_check_reserved(sqlite3_file *f, int *out)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xCheckReservedLock(r, out);
}

static int db_file_control(sqlite3_file *f, int op, void *arg)
{
	sqlite3_file *r = real(f);
	return r->pMethods->xFileControl(r, op, arg);
}

static int flush_wal_of(sqlite3_file *f)
{
	struct walbuf_file *d = (struct walbuf_file *)f;
	return d->wal != NULL ? flush(d->wal) : SQLITE_OK;
}

static int db_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	int rc = flush_wal_of(f);
	sqlite3_file *r = real(f);
	return rc != SQLITE_OK ? rc : r->pMethods->xShmLock(r, offset, n, flags);
}

static void db_shm_barrier(sqlite3_file *f)
{
	/* Called between the two copies of the index header, so it cannot report an error.
	 * Nothing committed is left here (wal_write flushed it); should a commit frame's
	 * header be, unwritten, it is about to be published without its frame: stop before a
	 * reader or the checkpoint takes the torn frame. A failed flush of anything else
	 * (frames no reader looks at) makes every later call on the WAL fail. */
	struct walbuf_file *d = (struct walbuf_file *)f;
	if (d->wal != NULL && d->wal->len > 0) {
		bool commit = d->wal->commit_in_buf;
		if (flush(d->wal) != SQLITE_OK && commit) {
			log_err("store: a commit was published before its frames were written");
			abort();
		}
	}
	sqlite3_file *r = real(f);
	r->pMethods->xShmBarrier(r);
}

static int db_shm_unmap(sqlite3_file *f, int delete_flag)
{
	(void)flush_wal_of(f);
	sqlite3_file *r = real(f);
	return r->pMethods->xShmUnmap(r, delete_flag);
}

static const sqlite3_io_methods db_methods = {
    .iVersion = 3,
    .xClose = db_close,
    .xRead = db_read,
    .xWrite = db_write,
    .xTruncate = db_truncate,
    .xSync = db_sync,
    .xFileSize = db_file_size,
    .xLock = db_lock,
    .xUnlock = db_unlock,
    .xCheckReservedLock = db_check_reserved,
    .xFileControl = db_file_control,
    .xSectorSize = pass_sector_size,
    .xDeviceCharacteristics = pass_device,
    .xShmMap = pass_shm_map,
    .xShmLock = db_shm_lock,
    .xShmBarrier = db_shm_barrier,
    .xShmUnmap = db_shm_unmap,
    .xFetch = pass_fetch,
    .xUnfetch = pass_unfetch,
};

/* Version 1: SQLite maps neither the WAL nor shared memory through it. */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = pass_sector_size,
    .xDeviceCharacteristics = pass_device,
};

/* ---- the VFS: files opened by the default one, the database and its WAL wrapped */

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                    int *out_flags)
{
	(void)vfs;
	bool is_db = (flags & SQLITE_OPEN_MAIN_DB) != 0, is_wal = (flags & SQLITE_OPEN_WAL) != 0;
	if (name == NULL || (!is_db && !is_wal)) /* our size covers the default VFS's file */
		return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
	struct walbuf_file *w = (struct walbuf_file *)f;
	memset(w, 0, sizeof(*w));
	w->next = -1;
	real(f)->pMethods = NULL;
	int rc = real_vfs->xOpen(real_vfs, name, real(f), flags, out_flags);
	if (rc != SQLITE_OK || real(f)->pMethods == NULL) {
		/* SQLite closes a file whose open failed only through our methods: none. */
		if (real(f)->pMethods != NULL)
			real(f)->pMethods->xClose(real(f));
		f->pMethods = NULL;
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	if (is_db) {
		f->pMethods = &db_methods;
		return SQLITE_OK;
	}
	f->pMethods = &wal_methods;
	sqlite3_file *db = sqlite3_database_file_object(name);
	if (db != NULL && db->pMethods == &db_methods) {
		w->db = (struct walbuf_file *)db;
		w->db->wal = w;
	}
	return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return real_vfs->xDlOpen(real_vfs, name);
}

static void vfs_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	real_vfs->xDlError(real_vfs, n, out);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *lib, const char *sym))(void)
{
	(void)vfs;
	return real_vfs->xDlSym(real_vfs, lib, sym);
}

static void vfs_dl_close(sqlite3_vfs *vfs, void *lib)
{
	(void)vfs;
	real_vfs->xDlClose(real_vfs, lib);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return real_vfs->xSleep(real_vfs, us);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return real_vfs->xGetLastError(real_vfs, n, out);
}

static int vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void register_vfs(void)
{
	sqlite3_vfs *d = sqlite3_vfs_find(NULL);
	if (d == NULL || d->iVersion < 2 || d->xCurrentTimeInt64 == NULL)
		return;
	real_vfs = d;
	walbuf_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(struct walbuf_file) + d->szOsFile,
	    .mxPathname = d->mxPathname,
	    .zName = WALBUF_VFS,
	    .xOpen = vfs_open,
	    .xDelete = vfs_delete,
	    .xAccess = vfs_access,
	    .xFullPathname = vfs_full_pathname,
	    .xDlOpen = vfs_dl_open,
	    .xDlError = vfs_dl_error,
	    .xDlSym = vfs_dl_sym,
	    .xDlClose = vfs_dl_close,
	    .xRandomness = vfs_randomness,
	    .xSleep = vfs_sleep,
	    .xCurrentTime = vfs_current_time,
	    .xGetLastError = vfs_last_error,
	    .xCurrentTimeInt64 = vfs_current_time64,
	};
	if (sqlite3_vfs_register(&walbuf_vfs, 0) != SQLITE_OK)
		real_vfs = NULL;
}

const char *store__walbuf_vfs(void)
{
	pthread_once(&once, register_vfs);
	return real_vfs != NULL ? WALBUF_VFS : NULL;
}
