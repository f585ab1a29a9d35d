/* SPDX-License-Identifier: MIT */
/* SQLite's page cache, with the lock page's number kept out of it (store__pcache_install).
 *
 * Why: at the end of every write transaction the pager drops the cached pages past the
 * database's end (pager_end_transaction: sqlite3PcacheTruncate(dbSize)). SQLite's default
 * cache (pcache1, SQLite 3.40, Debian's; the same in the versions since) knows only the
 * largest page number it ever held since its last truncate (iMaxKey): when that is more
 * than a hash table's length past the limit, it walks every bucket and every page. And
 * when a B-tree page split leaves its new pages out of order, balance_nonroot (btree.c)
 * swaps two of them through a spare number, the lock page's (PENDING_BYTE / page size +
 * 1, page 1,048,577 with our 1 KiB pages), which no database page ever has. One such split
 * in a transaction, and its commit walks the writer's whole cache (then 8,000 pages): under
 * load, a sixth of the writer thread's time (perf, UPDATE bench at 32 outstanding).
 *
 * Here every method is pcache1's, except that the lock page's number is handed to it as
 * 0, a number the pager never uses (page numbers start at 1), so pcache1's largest number
 * stays the database's and its truncate looks only at the buckets past the end. The swap
 * moves the page back to a real number straight away (three rekeys in a row, with nothing
 * in between that could truncate), so a page under number 0 never meets a truncate; the
 * pager never fetches the lock page itself (getPageNormal refuses it as corrupt), and if
 * it did, the page would be found and dropped under the same number 0. */
#include <pthread.h>
#include <stdlib.h>

#include "common/log.h"
#include "store/store_int.h"

/* sqlite3_pcache is opaque to SQLite: ours wraps pcache1's. */
struct pcache {
	sqlite3_pcache *inner;
	unsigned lock_page; /* the number the swap borrows, for this cache's page size */
};

static sqlite3_pcache_methods2 inner_methods;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* SQLite's default PENDING_BYTE (sqliteInt.h); only its test builds can move it. */
#define LOCK_BYTE 0x40000000u

static unsigned key_of(const struct pcache *c, unsigned key)
{
	return key == c->lock_page ? 0 : key;
}

static int pc_init(void *arg)
{
	(void)arg;
	return inner_methods.xInit != NULL ? inner_methods.xInit(inner_methods.pArg) : SQLITE_OK;
}

static void pc_shutdown(void *arg)
{
	(void)arg;
	if (inner_methods.xShutdown != NULL)
		inner_methods.xShutdown(inner_methods.pArg);
}

static sqlite3_pcache *pc_create(int page_size, int extra_size, int purgeable)
{
	struct pcache *c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	c->inner = inner_methods.xCreate(page_size, extra_size, purgeable);
	if (c->inner == NULL) {
		free(c);
		return NULL;
	}
	c->lock_page = page_size > 0 ? LOCK_BYTE / (unsigned)page_size + 1 : 0;
	return (sqlite3_pcache *)c;
}

static void pc_cachesize(sqlite3_pcache *p, int pages)
{
	inner_methods.xCachesize(((struct pcache *)p)->inner, pages);
}

static int pc_pagecount(sqlite3_pcache *p)
{
	return inner_methods.xPagecount(((struct pcache *)p)->inner);
}

static sqlite3_pcache_page *pc_fetch(sqlite3_pcache *p, unsigned key, int create)
{
	struct pcache *c = (struct pcache *)p;
	return inner_methods.xFetch(c->inner, key_of(c, key), create);
}

static void pc_unpin(sqlite3_pcache *p, sqlite3_pcache_page *page, int discard)
{
	inner_methods.xUnpin(((struct pcache *)p)->inner, page, discard);
}

static void pc_rekey(sqlite3_pcache *p, sqlite3_pcache_page *page, unsigned old_key,
                     unsigned new_key)
{
	struct pcache *c = (struct pcache *)p;
	inner_methods.xRekey(c->inner, page, key_of(c, old_key), key_of(c, new_key));
}

static void pc_truncate(sqlite3_pcache *p, unsigned limit)
{
	inner_methods.xTruncate(((struct pcache *)p)->inner, limit);
}

static void pc_destroy(sqlite3_pcache *p)
{
	struct pcache *c = (struct pcache *)p;
	inner_methods.xDestroy(c->inner);
	free(c);
}

static void pc_shrink(sqlite3_pcache *p)
{
	inner_methods.xShrink(((struct pcache *)p)->inner);
}

static sqlite3_pcache_methods2 methods = {
    .iVersion = 1,
    .xInit = pc_init,
    .xShutdown = pc_shutdown,
    .xCreate = pc_create,
    .xCachesize = pc_cachesize,
    .xPagecount = pc_pagecount,
    .xFetch = pc_fetch,
    .xUnpin = pc_unpin,
    .xRekey = pc_rekey,
    .xTruncate = pc_truncate,
    .xDestroy = pc_destroy,
    .xShrink = pc_shrink,
};

static void install(void)
{
	/* Only before SQLite initializes; the first store opened in the process does it. */
	if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner_methods) != SQLITE_OK ||
	    inner_methods.xCreate == NULL) {
		log_debug("store: SQLite's page cache is in use already; left as it is");
		return;
	}
	if (sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods) != SQLITE_OK)
		log_debug("store: SQLite refused the page cache; its own stays");
}

void store__pcache_install(void)
{
	pthread_once(&once, install);
}

const sqlite3_pcache_methods2 *store__pcache_methods(void)
{
	store__pcache_install();
	return inner_methods.xCreate != NULL ? &methods : NULL;
}
