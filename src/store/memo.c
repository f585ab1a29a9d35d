/* SPDX-License-Identifier: MIT */
/* The host rows and records read in a write transaction, kept for the next read of the same
 * host in it.
 *
 * Each RFC 2136 UPDATE reads its host's row and records twice in the writer's batch: the
 * writer's judge reads them to apply the change (update.c, load_host), and the publisher
 * reads them again, after the change, to render the name into the next zone version
 * (publish.c, render_host). The second pair of reads was 13% of the writer's time under
 * UPDATE load (perf, bench/update.sh at 32 outstanding), on the one thread every update
 * waits for.
 *
 * Why a kept read is the stored one: the memo is used only between store_begin and the
 * end of that transaction, a BEGIN IMMEDIATE that no other connection can write through,
 * so every change it could miss is made through this connection. SQLite's update hook
 * reports each row this connection inserts, updates or deletes in a rowid table, including
 * those of triggers and foreign-key actions (ON DELETE CASCADE), and hosts, users and
 * records are all rowid tables: a row of hosts or users changed, and every kept read is
 * dropped; one of records, too, except inside store_records_set, which then replaces the
 * kept records of that type with what it wrote, in the order SQL_RR_GET reads them back
 * (by type, then id: the set in its own order). A rollback to a savepoint, which the hook
 * does not report, drops them too, and the transaction's end turns the memo off. The
 * statements that bypass the hook (the truncate optimisation of a DELETE without WHERE,
 * the rows a REPLACE conflict removes) are not run on these tables, and a REPLACE's own
 * insert is reported anyway. A host whose records do not fit a slot keeps only its row. */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define MEMO_SLOTS 256 /* a power of two; more than the hosts of a usual batch */
#define MEMO_RRS   16
#define MEMO_RDATA 512

struct memo_rr {
	uint16_t type, rdlen, off;
	uint32_t ttl;
};

struct memo_slot {
	uint64_t epoch; /* the slot holds a read while this is the memo's epoch */
	struct store_host h;
	bool have_rrs;
	uint8_t n;
	struct memo_rr rr[MEMO_RRS];
	uint8_t data[MEMO_RDATA];
};

struct store_memo {
	bool on;        /* in a transaction begun by store_begin */
	uint64_t epoch; /* incremented to drop every kept read at once */
	struct memo_slot *last; /* the slot last read or filled: records follow their row */
	uint64_t hits;          /* reads answered from here (store__memo_hits) */
	struct memo_slot slot[MEMO_SLOTS];
};

static void changed(void *arg, int op, const char *db, const char *table, sqlite3_int64 rowid)
{
	struct store *st = arg;
	(void)op;
	(void)db;
	(void)rowid;
	if (st->memo == NULL || !st->memo->on)
		return;
	if (strcmp(table, "records") == 0 && st->memo_quiet)
		return; /* store_records_set: it keeps the memo itself */
	if (strcmp(table, "hosts") == 0 || strcmp(table, "users") == 0 ||
	    strcmp(table, "records") == 0)
		st->memo->epoch++;
}

void store__memo_open(struct store *st)
{
	st->memo = calloc(1, sizeof(*st->memo)); /* without it, every read goes to SQLite */
	if (st->memo != NULL)
		sqlite3_update_hook(st->db, changed, st);
}

void store__memo_close(struct store *st)
{
	free(st->memo);
	st->memo = NULL;
}

void store__memo_begin(struct store *st)
{
	if (st->memo != NULL) {
		st->memo->on = true;
		st->memo->epoch++;
	}
}

void store__memo_end(struct store *st)
{
	if (st->memo != NULL) {
		st->memo->on = false;
		st->memo->epoch++;
	}
}

void store__memo_drop(struct store *st)
{
	if (st->memo != NULL)
		st->memo->epoch++;
}

/* The memo, when reads may be kept: in store_begin's transaction, still open (SQLite ends
 * a transaction itself on some errors). */
static struct store_memo *memo_on(struct store *st)
{
	struct store_memo *m = st->memo;
	if (m == NULL || !m->on || sqlite3_get_autocommit(st->db))
		return NULL;
	return m;
}

static struct memo_slot *slot_of(struct store_memo *m, const char *fqdn)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)fqdn; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return &m->slot[h & (MEMO_SLOTS - 1)];
}

static struct memo_slot *slot_by_id(struct store_memo *m, int64_t host_id)
{
	if (m->last != NULL && m->last->epoch == m->epoch && m->last->h.id == host_id)
		return m->last;
	for (size_t i = 0; i < MEMO_SLOTS; i++)
		if (m->slot[i].epoch == m->epoch && m->slot[i].h.id == host_id)
			return &m->slot[i];
	return NULL;
}

bool store__memo_host(struct store *st, const char *fqdn, struct store_host *out)
{
	struct store_memo *m = memo_on(st);
	if (m == NULL)
		return false;
	struct memo_slot *s = slot_of(m, fqdn);
	if (s->epoch != m->epoch || strcmp(s->h.fqdn, fqdn) != 0)
		return false;
	*out = s->h;
	m->last = s;
	m->hits++;
	return true;
}

void store__memo_put_host(struct store *st, const struct store_host *h)
{
	struct store_memo *m = memo_on(st);
	if (m == NULL)
		return;
	struct memo_slot *s = slot_of(m, h->fqdn);
	s->epoch = m->epoch;
	s->h = *h;
	s->have_rrs = false;
	m->last = s;
}

static size_t count_type(const struct memo_slot *s, uint16_t type)
{
	size_t c = 0;
	for (size_t i = 0; i < s->n; i++)
		c += s->rr[i].type == type;
	return c;
}

/* The i-th kept record of s. */
static void rr_out(const struct memo_slot *s, size_t i, struct store_rr *out)
{
	const struct memo_rr *r = &s->rr[i];
	out->type = r->type;
	out->ttl = r->ttl;
	out->rdlen = r->rdlen;
	memcpy(out->rdata, s->data + r->off, r->rdlen);
}

bool store__memo_records(struct store *st, int64_t host_id, struct store_rr *out, size_t max,
                         size_t *n)
{
	struct store_memo *m = memo_on(st);
	struct memo_slot *s = m != NULL ? slot_by_id(m, host_id) : NULL;
	if (s == NULL || !s->have_rrs || s->n > max)
		return false; /* more than max: SQLite's read says so */
	for (size_t i = 0; i < s->n; i++)
		rr_out(s, i, &out[i]);
	*n = s->n;
	m->hits++;
	return true;
}

/* Fills s's records from rrs[0..n); false (s unchanged) when they do not fit. */
static bool fill(struct memo_slot *s, const struct store_rr *rrs, size_t n)
{
	size_t bytes = 0;
	if (n > MEMO_RRS)
		return false;
	for (size_t i = 0; i < n; i++)
		bytes += rrs[i].rdlen;
	if (bytes > MEMO_RDATA)
		return false;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		s->rr[i] = (struct memo_rr){
		    .type = rrs[i].type, .rdlen = rrs[i].rdlen, .off = (uint16_t)off, .ttl = rrs[i].ttl};
		memcpy(s->data + off, rrs[i].rdata, rrs[i].rdlen);
		off += rrs[i].rdlen;
	}
	s->n = (uint8_t)n;
	return true;
}

void store__memo_put_records(struct store *st, int64_t host_id, const struct store_rr *rrs,
                             size_t n)
{
	struct store_memo *m = memo_on(st);
	struct memo_slot *s = m != NULL ? slot_by_id(m, host_id) : NULL;
	if (s != NULL)
		s->have_rrs = fill(s, rrs, n);
}

void store__memo_records_set(struct store *st, int64_t host_id, uint16_t type,
                             const struct store_rr *rrs, size_t n)
{
	struct store_memo *m = memo_on(st);
	struct memo_slot *s = m != NULL ? slot_by_id(m, host_id) : NULL;
	if (s == NULL || !s->have_rrs)
		return;
	/* The records as SQL_RR_GET reads them now (by type, then id): the other types' in
	 * their order, and this type's set, inserted in its order, where its type sorts. The
	 * type is the one written, whatever rrs[j].type says (records_replace binds type). */
	static _Thread_local struct store_rr merged[MEMO_RRS];
	size_t k = 0, i = 0;
	if (s->n - count_type(s, type) + n > MEMO_RRS) {
		s->have_rrs = false;
		return;
	}
	for (; i < s->n && s->rr[i].type < type; i++)
		rr_out(s, i, &merged[k++]);
	for (size_t j = 0; j < n; j++) {
		merged[k] = rrs[j];
		merged[k++].type = type;
	}
	for (; i < s->n; i++)
		if (s->rr[i].type != type)
			rr_out(s, i, &merged[k++]);
	s->have_rrs = fill(s, merged, k);
}

uint64_t store__memo_hits(const struct store *st)
{
	return st->memo != NULL ? st->memo->hits : 0;
}
