/* SPDX-License-Identifier: MIT */
/* Zone journal entries: encoding a batch's changes, reading them back, and the bounded
 * array of entries a zone version serves. */
#include "zone/journal.h"

#include <stdlib.h>
#include <string.h>

#include "dns/name.h"
#include "dns/wire.h"

#define OWNER_PTR_LEN 2 /* pre-rendered records start with the pointer 0xC00C */
/* records, and one RRSIG a type (and an NSEC with its RRSIG at a wildcard) */
#define RRLIST_MAX (ZONE_MAX_RRS_PER_NODE + ZS_COUNT + 2)

/* The non-SOA records of n: their count and the bytes of each, owner pointer dropped. */
struct rrlist {
	unsigned n;
	const uint8_t *rr[RRLIST_MAX];
	size_t len[RRLIST_MAX];
};

/* An NSEC or the RRSIG of one (record from type on): what the primary answers with at a
 * wildcard, never sent to secondaries, whose denials use the NSEC3 chain. */
static bool is_nsec(const uint8_t *rr)
{
	uint16_t type = (uint16_t)(rr[0] << 8 | rr[1]);
	return type == ZONE_TYPE_NSEC ||
	       (type == ZONE_TYPE_RRSIG && zone_jrr_len(rr) >= 12 &&
	        (uint16_t)(rr[10] << 8 | rr[11]) == ZONE_TYPE_NSEC);
}

static void rrlist_add(struct rrlist *l, const struct zone_node *node,
                       const struct zone_rrset *set)
{
	const uint8_t *p = node->data + set->off;
	for (unsigned i = 0; i < set->count && l->n < RRLIST_MAX; i++) {
		size_t rr = OWNER_PTR_LEN + zone_jrr_len(p + OWNER_PTR_LEN);
		if (is_nsec(p + OWNER_PTR_LEN)) {
			p += rr;
			continue;
		}
		l->rr[l->n] = p + OWNER_PTR_LEN;
		l->len[l->n++] = rr - OWNER_PTR_LEN;
		p += rr;
	}
}

/* The records node has at its name, or with wild at "*.name": its RRsets, then in a signed
 * zone their RRSIGs (the apex SOA's change with every serial: differences like any record,
 * so an IXFR carries the signed zone), made over the name or over "*.name" with the NSEC
 * there (zone_sigs.wild). */
static void rrlist_of(const struct zone_node *node, bool wild, struct rrlist *l)
{
	l->n = 0;
	if (node == NULL)
		return;
	for (int s = 0; s < ZS_COUNT; s++)
		if (s != ZS_SOA)
			rrlist_add(l, node, &node->rrsets[s]);
	if (wild) {
		rrlist_add(l, node, &zone_node_sigs(node)->wild);
		return;
	}
	for (int s = 0; s < ZS_COUNT; s++)
		rrlist_add(l, node, &zone_node_sigs(node)->set[s]);
}

static bool rrlist_has(const struct rrlist *l, const uint8_t *rr, size_t len)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->len[i] == len && memcmp(l->rr[i], rr, len) == 0)
			return true;
	return false;
}

static bool rrlist_same(const struct rrlist *a, const struct rrlist *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (!rrlist_has(b, a->rr[i], a->len[i]))
			return false;
	return true;
}

static size_t rrlist_bytes(const struct rrlist *l)
{
	size_t n = 0;
	for (unsigned i = 0; i < l->n; i++)
		n += l->len[i];
	return n;
}

/* Appends the record of one owner name: its records in o and in n, when they differ. */
static int add_owner(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *name, size_t name_len,
                     const struct rrlist *o, const struct rrlist *n)
{
	if (rrlist_same(o, n))
		return NP_OK; /* nothing a secondary would see changed */
	size_t need = 1 + name_len + 2 + rrlist_bytes(o) + rrlist_bytes(n);
	if (*len + need > ZONE_JOURNAL_MAX_BYTES)
		return NP_ETOOBIG;
	if (*len + need > *cap) {
		size_t c = *cap < 4096 ? 4096 : *cap;
		while (c < *len + need)
			c *= 2;
		uint8_t *grown = realloc(*buf, c);
		if (grown == NULL)
			return NP_ENOMEM;
		*buf = grown;
		*cap = c;
	}
	uint8_t *p = *buf + *len;
	*p++ = (uint8_t)name_len;
	memcpy(p, name, name_len);
	p += name_len;
	*p++ = (uint8_t)o->n;
	*p++ = (uint8_t)n->n;
	for (unsigned i = 0; i < o->n; i++) {
		memcpy(p, o->rr[i], o->len[i]);
		p += o->len[i];
	}
	for (unsigned i = 0; i < n->n; i++) {
		memcpy(p, n->rr[i], n->len[i]);
		p += n->len[i];
	}
	*len += need;
	return NP_OK;
}

static const struct zone_node *if_wildcard(const struct zone_node *node)
{
	return node != NULL && (node->flags & ZONE_NODE_WILDCARD) != 0 ? node : NULL;
}

int zone_jentry_add_name(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *name,
                         size_t name_len, const struct zone_node *old,
                         const struct zone_node *new_node)
{
	struct rrlist o, n;
	rrlist_of(old, false, &o);
	rrlist_of(new_node, false, &n);
	int ret = add_owner(buf, len, cap, name, name_len, &o, &n);
	/* A wildcard host's records also stand at "*.name" (what a transfer sends): a
	 * change of either the records or the flag changes that name too. */
	if (ret != NP_OK || name_len + 2 > DNS_NAME_MAX)
		return ret;
	uint8_t wild[DNS_NAME_MAX];
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, name, name_len);
	rrlist_of(if_wildcard(old), true, &o);
	rrlist_of(if_wildcard(new_node), true, &n);
	return add_owner(buf, len, cap, wild, name_len + 2, &o, &n);
}

/* The records of node's NSEC3 region whose owner's labels below the apex are prefix. */
static void chain_list(const struct zone_node *node, const uint8_t *prefix, size_t plen,
                       struct rrlist *l)
{
	l->n = 0;
	if (node == NULL)
		return;
	const struct zone_rrset *set = &zone_node_sigs(node)->nsec3;
	const uint8_t *p = node->data + set->off;
	for (unsigned i = 0; i < set->count && l->n < RRLIST_MAX; i++) {
		size_t body = zone_jrr_len(p + 1 + p[0]);
		if (p[0] == plen && memcmp(p + 1, prefix, plen) == 0) {
			l->rr[l->n] = p + 1 + p[0];
			l->len[l->n++] = body;
		}
		p += 1 + p[0] + body;
	}
}

int zone_jentry_add_chain(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *apex,
                          size_t apex_len, const struct zone_node *old,
                          const struct zone_node *new_node)
{
	const struct zone_node *both[2] = {old, new_node};
	for (int k = 0; k < 2; k++) {
		if (both[k] == NULL)
			continue;
		const struct zone_rrset *set = &zone_node_sigs(both[k])->nsec3;
		const uint8_t *p = both[k]->data + set->off;
		for (unsigned i = 0; i < set->count; i++) {
			const uint8_t *prefix = p + 1;
			size_t plen = p[0];
			p += 1 + plen + zone_jrr_len(p + 1 + plen);
			/* The apex's own (NSEC3PARAM) changes only with a full signing. Each
			 * owner once: at its first record, and from old's side when both
			 * have it. */
			if (plen == 0 || plen + apex_len > DNS_NAME_MAX)
				continue;
			struct rrlist o, n;
			chain_list(old, prefix, plen, &o);
			chain_list(new_node, prefix, plen, &n);
			const struct rrlist *mine = k == 0 ? &o : &n;
			if ((k == 1 && o.n > 0) || mine->rr[0] != prefix + plen)
				continue;
			uint8_t name[DNS_NAME_MAX];
			memcpy(name, prefix, plen);
			memcpy(name + plen, apex, apex_len);
			int ret = add_owner(buf, len, cap, name, plen + apex_len, &o, &n);
			if (ret != NP_OK)
				return ret;
		}
	}
	return NP_OK;
}

struct zone_jentry *zone_jentry_new(uint32_t from, uint32_t to, const uint8_t *data, size_t len)
{
	if (len > ZONE_JOURNAL_MAX_BYTES)
		return NULL;
	struct zone_jentry *e = malloc(sizeof(*e) + len);
	if (e == NULL)
		return NULL;
	e->id = 0;
	e->from = from;
	e->to = to;
	e->len = (uint32_t)len;
	if (len > 0)
		memcpy(e->data, data, len);
	return e;
}

/* Skips n records starting at pos; false when they run past len or do not parse. */
static bool skip_rrs(const uint8_t *d, size_t len, size_t *pos, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (len - *pos < 10)
			return false;
		size_t rr = zone_jrr_len(d + *pos);
		if (len - *pos < rr)
			return false;
		*pos += rr;
	}
	return true;
}

bool zone_jentry_valid(const uint8_t *d, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		size_t nl = d[pos];
		if (len - pos < 1 + nl + 2 || nl == 0 || dns_name_check(d + pos + 1, nl) != (int)nl)
			return false;
		pos += 1 + nl;
		unsigned n = (unsigned)d[pos] + d[pos + 1];
		pos += 2;
		if (!skip_rrs(d, len, &pos, n))
			return false;
	}
	return true;
}

bool zone_jentry_next(const struct zone_jentry *e, size_t *pos, struct zone_jname *out)
{
	const uint8_t *d = e->data;
	size_t p = *pos;
	if (p >= e->len)
		return false;
	out->name_len = d[p];
	out->name = d + p + 1;
	p += 1 + (size_t)out->name_len;
	out->n_old = d[p];
	out->n_new = d[p + 1];
	p += 2;
	out->old_rrs = d + p;
	(void)skip_rrs(d, e->len, &p, out->n_old);
	out->old_len = (size_t)(d + p - out->old_rrs);
	out->new_rrs = d + p;
	(void)skip_rrs(d, e->len, &p, out->n_new);
	out->new_len = (size_t)(d + p - out->new_rrs);
	*pos = p;
	return true;
}

static int retire_entry(struct zone_retired *r, struct zone_jentry *e)
{
	if (r->n_j == r->cap_j) {
		size_t cap = r->cap_j ? r->cap_j * 2 : 16;
		struct zone_jentry **grown = realloc(r->jentries, cap * sizeof(*grown));
		if (grown == NULL)
			return NP_ENOMEM;
		r->jentries = grown;
		r->cap_j = cap;
	}
	r->jentries[r->n_j++] = e;
	return NP_OK;
}

/* The index of old's first entry that the next journal keeps. */
static uint32_t first_kept(const struct zone_journal *old, const struct zone_jentry *e, bool reset)
{
	uint32_t n_old = old != NULL ? old->n : 0;
	if (reset || (e != NULL && n_old > 0 && old->e[n_old - 1]->to != e->from))
		return n_old;
	/* The longest run of the newest entries within the bounds: the oldest go first. From
	 * the journal's totals, so a full journal costs a step per entry dropped, not per entry
	 * kept (this runs for every batch of the writer). */
	size_t bytes = (n_old > 0 ? old->bytes : 0) + (e != NULL ? e->len : 0);
	uint32_t count = n_old + (e != NULL ? 1 : 0);
	uint32_t first = 0;
	while (first < n_old &&
	       (count > ZONE_JOURNAL_MAX_ENTRIES || bytes > ZONE_JOURNAL_MAX_BYTES)) {
		bytes -= old->e[first]->len;
		count--;
		first++;
	}
	return first;
}

uint32_t zone_journal_kept(const struct zone_journal *old, const struct zone_jentry *e)
{
	uint32_t n_old = old != NULL ? old->n : 0;
	return n_old - first_kept(old, e, false) + (e != NULL ? 1 : 0);
}

struct zone_journal *zone_journal_next(const struct zone_journal *old, struct zone_jentry *e,
                                       bool reset, struct zone_retired *retired)
{
	uint32_t n_old = old != NULL ? old->n : 0;
	uint32_t first = first_kept(old, e, reset);
	uint32_t count = n_old - first + (e != NULL ? 1 : 0);
	struct zone_journal *j = malloc(sizeof(*j) + (count + 1) * sizeof(j->e[0]));
	if (j == NULL)
		return NULL;
	/* Room for every dropped entry first, so that nothing fails half-way. */
	size_t dropped = first;
	if (retired->cap_j - retired->n_j < dropped) {
		size_t cap = retired->n_j + dropped;
		struct zone_jentry **grown = realloc(retired->jentries, cap * sizeof(*grown));
		if (grown == NULL) {
			free(j);
			return NULL;
		}
		retired->jentries = grown;
		retired->cap_j = cap;
	}
	j->n = n_old - first;
	j->bytes = n_old > 0 ? old->bytes : 0;
	for (uint32_t i = 0; i < first; i++) {
		j->bytes -= old->e[i]->len;
		(void)retire_entry(retired, old->e[i]);
	}
	/* The kept entries' pointers only: their sizes are in old's total, so the entries
	 * themselves (thousands, one cache miss each) are not read again every batch. */
	if (j->n > 0)
		memcpy(j->e, old->e + first, j->n * sizeof(j->e[0]));
	if (e != NULL) {
		j->e[j->n++] = e;
		j->bytes += e->len;
	}
	return j;
}

void zone_journal_free(struct zone_journal *j)
{
	free(j);
}

void zone_journal_free_all(struct zone_journal *j)
{
	if (j == NULL)
		return;
	for (uint32_t i = 0; i < j->n; i++)
		free(j->e[i]);
	free(j);
}

long zone_journal_find(const struct zone_journal *j, uint32_t serial)
{
	for (uint32_t i = 0; j != NULL && i < j->n; i++)
		if (j->e[i]->from == serial)
			return (long)i;
	return -1;
}
