/* SPDX-License-Identifier: MIT */
/* The hosts and records tables, and the one-pass zone load (store_foreach_host_records). */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/str.h"
#include "dns/constants.h"

/* Fills h from the HOST_COLS columns starting at col (see store.c). */
static void read_host(sqlite3_stmt *s, struct store_host *h)
{
	memset(h, 0, sizeof(*h));
	h->id = sqlite3_column_int64(s, 0);
	h->user_id = sqlite3_column_int64(s, 1); /* NULL reads as 0: no owner */
	const char *user = (const char *)sqlite3_column_text(s, 2);
	np_strlcpy(h->user, user != NULL ? user : "", sizeof(h->user));
	const char *fqdn = (const char *)sqlite3_column_text(s, 3);
	np_strlcpy(h->fqdn, fqdn != NULL ? fqdn : "", sizeof(h->fqdn));
	const char *zone = (const char *)sqlite3_column_text(s, 4);
	np_strlcpy(h->zone, zone != NULL ? zone : "", sizeof(h->zone));
	h->wildcard = sqlite3_column_int(s, 5) != 0;
	h->offline = sqlite3_column_int(s, 6) != 0;
	h->blocked = sqlite3_column_int(s, 7) != 0;
	h->created = sqlite3_column_int64(s, 8);
	h->updated = sqlite3_column_int64(s, 9);
	h->abuse_state = sqlite3_column_int(s, 10);
	h->suspended = sqlite3_column_int(s, 11) != 0;
}

/* Reads one record from columns col.. (type, ttl, rdata); refuses oversized rdata. */
static int read_rr(sqlite3_stmt *s, int col, struct store_rr *rr)
{
	int len = sqlite3_column_bytes(s, col + 2);
	if (len < 0 || len > ZONE_MAX_RDATA)
		return NP_ETOOBIG;
	rr->type = (uint16_t)sqlite3_column_int(s, col);
	rr->ttl = (uint32_t)sqlite3_column_int64(s, col + 1);
	rr->rdlen = (uint16_t)len;
	if (len > 0)
		memcpy(rr->rdata, sqlite3_column_blob(s, col + 2), (size_t)len);
	return NP_OK;
}

int store_host_add(struct store *st, const struct store_host *h, int64_t *id)
{
	if (h->fqdn[0] == '\0' || h->zone[0] == '\0')
		return NP_EINVAL;
	sqlite3_stmt *s = store__stmt(st, SQL_HOST_ADD);
	if (s == NULL)
		return NP_ESTORE;
	int64_t now = time_now();
	sqlite3_bind_text(s, 1, h->fqdn, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, h->zone, -1, SQLITE_STATIC);
	if (h->user_id != 0)
		sqlite3_bind_int64(s, 3, h->user_id);
	sqlite3_bind_int(s, 4, h->wildcard);
	sqlite3_bind_int(s, 5, h->offline);
	sqlite3_bind_int(s, 6, h->blocked);
	sqlite3_bind_int64(s, 7, h->created != 0 ? h->created : now);
	sqlite3_bind_int64(s, 8, h->updated != 0 ? h->updated : now);
	return store__exec_insert(st, s, id);
}

static int host_get(struct store *st, enum store_stmt which, const char *fqdn,
                    struct store_host *out)
{
	sqlite3_stmt *s = store__stmt(st, which);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, fqdn, -1, SQLITE_STATIC);
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		read_host(s, out);
	store__done(s);
	return ret;
}

int store_host_get(struct store *st, const char *fqdn, struct store_host *out)
{
	return host_get(st, SQL_HOST_GET, fqdn, out);
}

int store_host_get_row(struct store *st, const char *fqdn, struct store_host *out)
{
	if (store__memo_host(st, fqdn, out))
		return NP_OK;
	int ret = host_get(st, SQL_HOST_GET_ROW, fqdn, out);
	if (ret == NP_OK)
		store__memo_put_host(st, out);
	return ret;
}

int store_host_del(struct store *st, const char *fqdn)
{
	sqlite3_stmt *s = store__stmt(st, SQL_HOST_DEL);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, fqdn, -1, SQLITE_STATIC);
	return store__exec_changed(st, s); /* records go with it (ON DELETE CASCADE) */
}

int store_host_set_flags(struct store *st, int64_t host_id, bool wildcard, bool offline,
                         bool blocked)
{
	sqlite3_stmt *s = store__stmt(st, SQL_HOST_FLAGS);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_int(s, 2, wildcard);
	sqlite3_bind_int(s, 3, offline);
	sqlite3_bind_int(s, 4, blocked);
	sqlite3_bind_int64(s, 5, time_now());
	return store__exec_changed(st, s);
}

static int host_rows(struct store *st, sqlite3_stmt *s, store_host_cb *cb, void *ctx)
{
	struct store_host h;
	int rc, ret = NP_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_host(s, &h);
		ret = cb(&h, ctx);
		if (ret != 0)
			break;
	}
	if (ret == NP_OK && rc != SQLITE_DONE)
		ret = store__err(st, rc);
	store__done(s);
	return ret;
}

int store_host_list(struct store *st, const char *zone, store_host_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__stmt(st, zone != NULL ? SQL_HOST_LIST_ZONE : SQL_HOST_LIST_ALL);
	if (s == NULL)
		return NP_ESTORE;
	if (zone != NULL)
		sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
	return host_rows(st, s, cb, ctx);
}

int store_host_list_user(struct store *st, int64_t user_id, store_host_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__stmt(st, SQL_HOST_LIST_USER);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, user_id);
	return host_rows(st, s, cb, ctx);
}

struct names {
	char (*fqdn)[CFG_NAME_MAX];
	size_t n, cap;
};

static int collect_name(const struct store_host *h, void *ctx)
{
	struct names *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->fqdn, cap * sizeof(*l->fqdn));
		if (p == NULL)
			return NP_ENOMEM;
		l->fqdn = p;
		l->cap = cap;
	}
	np_strlcpy(l->fqdn[l->n++], h->fqdn, CFG_NAME_MAX);
	return 0;
}

int store_host_names_user(struct store *st, int64_t user_id, char (**out)[CFG_NAME_MAX],
                          size_t *n)
{
	struct names l = {0};
	int ret = store_host_list_user(st, user_id, collect_name, &l);
	if (ret != NP_OK) {
		free(l.fqdn);
		l.fqdn = NULL;
		l.n = 0;
	}
	*out = l.fqdn;
	*n = l.n;
	return ret;
}

bool store_rr_addr(const struct store_rr *rr, struct np_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (rr->type == DNS_TYPE_A && rr->rdlen == 4)
		out->family = AF_INET;
	else if (rr->type == DNS_TYPE_AAAA && rr->rdlen == 16)
		out->family = AF_INET6;
	else
		return false;
	memcpy(out->bytes, rr->rdata, rr->rdlen);
	return true;
}

int store_records_get(struct store *st, int64_t host_id, struct store_rr *out, size_t max,
                      size_t *n)
{
	if (store__memo_records(st, host_id, out, max, n))
		return NP_OK;
	sqlite3_stmt *s = store__stmt(st, SQL_RR_GET);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	int rc, ret = NP_OK;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == max) {
			ret = NP_ETOOBIG;
			break;
		}
		ret = read_rr(s, 0, &out[*n]);
		if (ret != NP_OK)
			break;
		(*n)++;
	}
	if (ret == NP_OK && rc != SQLITE_DONE)
		ret = store__err(st, rc);
	store__done(s);
	if (ret == NP_OK)
		store__memo_put_records(st, host_id, out, *n);
	return ret;
}

/* The record types a host may hold; SOA and NS come from the configuration. Keeping to these
 * four with ZONE_MAX_RRS_PER_TYPE each keeps every host within ZONE_MAX_RRS_PER_NODE. */
static bool host_type(uint16_t type)
{
	return type == DNS_TYPE_A || type == DNS_TYPE_AAAA || type == DNS_TYPE_MX ||
	       type == DNS_TYPE_TXT;
}

_Static_assert(4 * ZONE_MAX_RRS_PER_TYPE <= ZONE_MAX_RRS_PER_NODE, "host types fit a node");

static int records_replace(struct store *st, int64_t host_id, uint16_t type,
                           const struct store_rr *rrs, size_t n)
{
	/* The host's updated time is its last history row (HOST_UPDATED in store.c): its own
	 * row is not rewritten here. */
	sqlite3_stmt *s;
	int ret;
	if (n == 1) {
		/* One record for the type, the usual address change: rewrite the first row in
		 * place and drop any others. Its records(host_id, type) entry stays as it is, so
		 * the change dirties fewer pages than a delete and an insert, and every dirty
		 * page is written twice (WAL, then the database) and synced. The rows are looked
		 * up once (the first two ids, in index order); the delete runs only when there
		 * is a second. */
		int64_t first = 0;
		bool more = false;
		s = store__sql(st, "SELECT id FROM records WHERE host_id = ?1 AND type = ?2"
		                   " ORDER BY id LIMIT 2");
		if (s == NULL)
			return NP_ESTORE;
		sqlite3_bind_int64(s, 1, host_id);
		sqlite3_bind_int(s, 2, type);
		ret = store__step_one(st, s);
		if (ret == NP_OK) {
			first = sqlite3_column_int64(s, 0);
			ret = store__step_one(st, s);
			more = ret == NP_OK;
			if (ret == NP_ENOTFOUND)
				ret = NP_OK;
		}
		store__done(s);
		if (ret != NP_OK && ret != NP_ENOTFOUND)
			return ret;
		if (ret == NP_OK) {
			s = store__sql(st, "UPDATE records SET ttl = ?2, rdata = ?3 WHERE id = ?1");
			if (s == NULL)
				return NP_ESTORE;
			sqlite3_bind_int64(s, 1, first);
			sqlite3_bind_int64(s, 2, rrs[0].ttl);
			sqlite3_bind_blob(s, 3, rrs[0].rdlen > 0 ? (const void *)rrs[0].rdata : "",
			                  rrs[0].rdlen, SQLITE_STATIC);
			ret = store__exec(st, s);
			if (ret != NP_OK || !more)
				return ret;
			s = store__sql(st, "DELETE FROM records WHERE host_id = ?1 AND type = ?2"
			                   " AND id > ?3");
			if (s == NULL)
				return NP_ESTORE;
			sqlite3_bind_int64(s, 1, host_id);
			sqlite3_bind_int(s, 2, type);
			sqlite3_bind_int64(s, 3, first);
			return store__exec(st, s);
		}
		/* None yet: inserted below. */
	}
	s = store__stmt(st, SQL_RR_DEL);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_int(s, 2, type);
	ret = store__exec(st, s);
	for (size_t i = 0; i < n && ret == NP_OK; i++) {
		s = store__stmt(st, SQL_RR_ADD);
		if (s == NULL)
			return NP_ESTORE;
		sqlite3_bind_int64(s, 1, host_id);
		sqlite3_bind_int(s, 2, type);
		sqlite3_bind_int64(s, 3, rrs[i].ttl);
		/* A zero-length blob must still be a blob, not NULL (NOT NULL column). */
		sqlite3_bind_blob(s, 4, rrs[i].rdlen > 0 ? (const void *)rrs[i].rdata : "",
		                  rrs[i].rdlen, SQLITE_STATIC);
		ret = store__exec(st, s);
	}
	return ret;
}

int store_records_set(struct store *st, int64_t host_id, uint16_t type, const struct store_rr *rrs,
                      size_t n)
{
	if (!host_type(type))
		return NP_EINVAL;
	if (n > ZONE_MAX_RRS_PER_TYPE)
		return NP_ETOOBIG;
	for (size_t i = 0; i < n; i++)
		if (rrs[i].rdlen > ZONE_MAX_RDATA || rrs[i].ttl > INT32_MAX)
			return NP_ETOOBIG;
	/* A savepoint makes the replacement atomic inside or outside a transaction. */
	int ret = store_savepoint(st);
	if (ret != NP_OK)
		return ret;
	st->memo_quiet = true;
	ret = records_replace(st, host_id, type, rrs, n);
	st->memo_quiet = false;
	if (ret != NP_OK) {
		store_rollback_savepoint(st); /* drops the memo */
		return ret;
	}
	ret = store_release(st);
	if (ret == NP_OK)
		store__memo_records_set(st, host_id, type, rrs, n);
	else
		store__memo_drop(st);
	return ret;
}

/* Walks the ordered join: rows arrive grouped by host (fqdn order), each host's records by
 * type then insertion; a host without records comes as one row with NULL record columns. */
int store_foreach_host_records(struct store *st, const char *zone, store_host_rr_cb *cb, void *ctx)
{
	struct store_rr *rrs = malloc(ZONE_MAX_RRS_PER_NODE * sizeof(*rrs));
	struct store_host h;
	size_t n = 0;
	bool have = false;
	int rc, ret = NP_OK;

	if (rrs == NULL)
		return NP_ENOMEM;
	sqlite3_stmt *s = store__stmt(st, zone != NULL ? SQL_FOREACH_ZONE : SQL_FOREACH_ALL);
	if (s == NULL) {
		free(rrs);
		return NP_ESTORE;
	}
	if (zone != NULL)
		sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		if (!have || id != h.id) {
			if (have) {
				ret = cb(&h, rrs, n, ctx);
				if (ret != 0)
					break;
			}
			read_host(s, &h);
			have = true;
			n = 0;
		}
		if (sqlite3_column_type(s, 12) == SQLITE_NULL)
			continue; /* a host without records */
		if (n == ZONE_MAX_RRS_PER_NODE) {
			ret = NP_ETOOBIG;
			break;
		}
		ret = read_rr(s, 12, &rrs[n]);
		if (ret != NP_OK)
			break;
		n++;
	}
	if (ret == NP_OK && rc != SQLITE_DONE)
		ret = store__err(st, rc);
	store__done(s); /* the callback may use the store again */
	if (ret == NP_OK && have)
		ret = cb(&h, rrs, n, ctx);
	free(rrs);
	return ret;
}
