/* SPDX-License-Identifier: MIT */
/* Sorted chunks of packets folded into a sorted run of per-address hourly aggregates. */
#include "ctl/import_fold.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HOUR        OBS_HOUR
#define ORDER_BITS  11 /* digits of the sort by last packet time */
#define ORDER_RADIX (1u << ORDER_BITS)

int imp_fold_init(struct imp_fold *f, size_t cap, int64_t retention)
{
	memset(f, 0, sizeof(*f));
	if (!obs_index_limits_ok(cap, &retention))
		return NP_EINVAL;
	f->cap = cap;
	f->retention = retention;
	f->max_buckets = obs_bucket_max(retention);
	f->cutoff = INT64_MIN;
	return NP_OK;
}

static void run_free(struct imp_run *r)
{
	free(r->a);
	free(r->b);
	memset(r, 0, sizeof(*r));
}

void imp_fold_free(struct imp_fold *f)
{
	for (unsigned h = 0; h < IMP_PARTS; h++) {
		struct imp_part *pt = &f->part[h];
		run_free(&pt->acc);
		run_free(&pt->out);
		free(pt->order);
		free(pt->tmp);
		pt->order = pt->tmp = NULL;
		pt->order_cap = 0;
	}
	free(f->order);
	f->order = NULL;
	f->order_cap = 0;
}

/* Room for na addresses and nb buckets in r (doubling, so a run's arrays settle at the
 * size the import needs after the first chunks). */
static int run_reserve(struct imp_run *r, size_t na, size_t nb)
{
	if (na > r->acap) {
		size_t cap = r->acap == 0 ? 4096 : r->acap;
		while (cap < na)
			cap *= 2;
		struct imp_addr *a = realloc(r->a, cap * sizeof(*a));
		if (a == NULL)
			return NP_ENOMEM;
		r->a = a;
		r->acap = cap;
	}
	if (nb > r->bcap) {
		if (nb > UINT32_MAX)
			return NP_ENOMEM; /* imp_addr.boff */
		size_t cap = r->bcap == 0 ? 4096 : r->bcap;
		while (cap < nb)
			cap *= 2;
		struct obs_bucket *b = realloc(r->b, cap * sizeof(*b));
		if (b == NULL)
			return NP_ENOMEM;
		r->b = b;
		r->bcap = cap;
	}
	return NP_OK;
}

/* The bucket of hour among b[0..*nb) (ascending), created in order if missing; NULL when
 * hour is older than all of them at the limit (obs_bucket_insert(): obs_index_add() skips
 * it too). b has room for max buckets. */
static struct obs_bucket *fold_bucket(struct obs_bucket *b, uint16_t *nb, uint16_t max,
                                      int32_t hour)
{
	size_t pos;
	struct obs_bucket *found = obs_bucket_find(b, *nb, hour, &pos);
	return found != NULL ? found : obs_bucket_insert(b, nb, max, pos, hour);
}

/* The packets of one address from p[*i] on (sorted by address, so they are a stretch)
 * counted onto its accumulated hours seed[0..sn) (none for a new address) in o, one
 * by one as obs_index_add() counts events, so the result does not depend on where the
 * capture was cut into chunks. Hours that ended at or before cutoff are left out; first
 * and last cover every packet (obs_index_load() takes a record's first/last seen even
 * when its hours are past the window). Advances *i past them. */
static void fold_addr(const struct imp_fold *f, struct imp_one *o, const struct imp_pkt *p,
                      size_t n, size_t *i, int64_t cutoff, const struct obs_bucket *seed, size_t sn)
{
	size_t k = *i;
	uint64_t key = p[k].key;
	uint8_t v6 = p[k].v6;
	struct obs_bucket *cur = NULL;
	size_t live = obs_bucket_first_live(seed, sn, cutoff);
	uint16_t nb = (uint16_t)(sn - live); /* <= max_buckets: a run never holds more */
	if (nb > 0)
		memcpy(o->b, seed + live, nb * sizeof(*seed));
	uint32_t first = p[k].time, last = p[k].time;
	for (; k < n && p[k].key == key && p[k].v6 == v6; k++) {
		const struct imp_pkt *q = &p[k];
		if (q->time < first)
			first = q->time;
		if (q->time > last)
			last = q->time;
		int32_t hour = (int32_t)(q->time / HOUR);
		if (cur == NULL || cur->hour != hour) {
			if (obs_bucket_ended(hour, cutoff))
				continue;
			cur = fold_bucket(o->b, &nb, f->max_buckets, hour);
			if (cur == NULL)
				continue;
		}
		obs_bucket_add(cur, (enum obs_kind)q->kind, q->time, q->port, 1);
	}
	o->a.key = key;
	o->a.v6 = v6;
	o->a.first = first;
	o->a.last = last;
	o->a.boff = 0;
	o->a.nb = nb;
	o->a.drop = 0;
	*i = k;
}

/* Copies the hours of src[0..n) (ascending) that end after cutoff to dst; returns how
 * many. */
static size_t copy_live(struct obs_bucket *dst, const struct obs_bucket *src, size_t n,
                        int64_t cutoff)
{
	size_t k = obs_bucket_first_live(src, n, cutoff);
	if (n > k)
		memcpy(dst, src + k, (n - k) * sizeof(*src));
	return n - k;
}

/* out = acc merged with the chunk's packets p[0..n) (sorted by address), under cutoff: each
 * address's packets counted onto its accumulated hours in pt->one, then copied out. An
 * accumulated address whose last packet is older than the cutoff is dropped first (the
 * index prunes before it takes a chunk), so the chunk then starts it afresh. */
static int merge_chunk(const struct imp_fold *f, struct imp_part *pt, const struct imp_pkt *p,
                       size_t n, int64_t cutoff)
{
	const struct imp_run *A = &pt->acc;
	struct imp_run *O = &pt->out;
	O->n = O->nb = 0;
	size_t i = 0, j = 0;
	/* Bounded by A->n + n: each step consumes an address of A or packets of p. */
	while (i < A->n || j < n) {
		const struct imp_addr *x = NULL, *y = NULL;
		int c = j == n ? -1 : i == A->n ? 1 : 0;
		if (c == 0 && A->a[i].v6 != p[j].v6)
			c = A->a[i].v6 < p[j].v6 ? -1 : 1;
		else if (c == 0 && A->a[i].key != p[j].key)
			c = A->a[i].key < p[j].key ? -1 : 1;
		if (c <= 0)
			x = &A->a[i++];
		if (x != NULL && (int64_t)x->last < cutoff)
			x = NULL;
		if (c >= 0) {
			fold_addr(f, &pt->one, p, n, &j, cutoff, x != NULL ? A->b + x->boff : NULL,
			          x != NULL ? x->nb : 0);
			y = &pt->one.a; /* x's hours included */
		}
		if (x == NULL && (y == NULL || y->nb == 0))
			continue; /* nothing live: the index keeps no empty new address */
		size_t xn = x != NULL ? x->nb : 0, yn = y != NULL ? y->nb : 0;
		int ret = run_reserve(O, O->n + 1, O->nb + xn + yn);
		if (ret != NP_OK)
			return ret;
		struct imp_addr *o = &O->a[O->n];
		*o = x != NULL ? *x : *y;
		if (x != NULL && y != NULL) {
			if (y->first < o->first)
				o->first = y->first;
			if (y->last > o->last)
				o->last = y->last;
		}
		size_t k = y != NULL ? copy_live(O->b + O->nb, pt->one.b, yn, cutoff)
		                     : copy_live(O->b + O->nb, A->b + x->boff, xn, cutoff);
		if (k == 0)
			continue;
		o->boff = (uint32_t)O->nb;
		o->nb = (uint16_t)k;
		o->drop = 0;
		O->nb += k;
		O->n++;
	}
	return NP_OK;
}

/* pt->order[0..n): (last / unit - lo) << 32 | tag | index into the part's run, ascending:
 * by last packet in units of unit seconds, ties by index (key order). A stable LSD radix
 * sort on the time part, skipping digits that are the same throughout (a capture of a few
 * hours takes one or two passes). */
static int order_part(struct imp_part *pt, uint32_t unit, uint32_t lo, uint64_t tag)
{
	const struct imp_run *r = &pt->acc;
	size_t n = r->n;
	if (n > pt->order_cap) {
		uint64_t *o = realloc(pt->order, n * sizeof(*o));
		if (o == NULL)
			return NP_ENOMEM;
		pt->order = o;
		uint64_t *t = realloc(pt->tmp, n * sizeof(*t));
		if (t == NULL)
			return NP_ENOMEM;
		pt->tmp = t;
		pt->order_cap = n;
	}
	if (n == 0)
		return NP_OK;
	uint64_t *a = pt->order, *t = pt->tmp;
	for (size_t i = 0; i < n; i++)
		a[i] = (uint64_t)(r->a[i].last / unit - lo) << 32 | tag | i;
	size_t count[ORDER_RADIX];
	for (unsigned shift = 32; shift < 64; shift += ORDER_BITS) {
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(a[i] >> shift) & (ORDER_RADIX - 1)]++;
		if (count[(a[0] >> shift) & (ORDER_RADIX - 1)] == n)
			continue;
		size_t sum = 0;
		for (unsigned d = 0; d < ORDER_RADIX; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			t[count[(a[i] >> shift) & (ORDER_RADIX - 1)]++] = a[i];
		uint64_t *s = a;
		a = t;
		t = s;
	}
	if (a != pt->order) {
		pt->tmp = pt->order;
		pt->order = a;
	}
	return NP_OK;
}

#define PART_BIT  31 /* of an order entry; a run's index fits below (cap + a chunk < 2^31) */
#define INDEX_MAX ((1ull << PART_BIT) - 1)

static const struct imp_addr *order_addr(const struct imp_fold *f, uint64_t e)
{
	return &f->part[(e >> PART_BIT) & 1].acc.a[e & INDEX_MAX];
}

/* f->order: every address of the parts by last packet in units of unit seconds, ties by
 * (v6, key), as one run's order_part() would give them: each part's order, merged. */
static int order_by_last(struct imp_fold *f, uint32_t unit)
{
	size_t n = 0;
	uint32_t lo = UINT32_MAX;
	for (unsigned h = 0; h < IMP_PARTS; h++) {
		const struct imp_run *r = &f->part[h].acc;
		n += r->n;
		for (size_t i = 0; i < r->n; i++)
			if (r->a[i].last < lo)
				lo = r->a[i].last;
	}
	if (n > f->order_cap) {
		uint64_t *o = realloc(f->order, n * sizeof(*o));
		if (o == NULL)
			return NP_ENOMEM;
		f->order = o;
		f->order_cap = n;
	}
	lo /= unit;
	for (unsigned h = 0; h < IMP_PARTS; h++) {
		int ret = order_part(&f->part[h], unit, lo, (uint64_t)h << PART_BIT);
		if (ret != NP_OK)
			return ret;
	}
	const uint64_t *x = f->part[0].order, *y = f->part[1].order;
	size_t nx = f->part[0].acc.n, ny = f->part[1].acc.n, i = 0, j = 0, k = 0;
	/* Bounded by nx + ny: each step takes one entry. */
	while (i < nx && j < ny) {
		bool take_x = (x[i] >> 32) != (y[j] >> 32);
		if (take_x) {
			take_x = (x[i] >> 32) < (y[j] >> 32);
		} else {
			const struct imp_addr *ax = order_addr(f, x[i]), *ay = order_addr(f, y[j]);
			take_x = ax->v6 != ay->v6 ? ax->v6 < ay->v6 : ax->key < ay->key;
		}
		f->order[k++] = take_x ? x[i++] : y[j++];
	}
	if (i < nx)
		memcpy(f->order + k, x + i, (nx - i) * sizeof(*x));
	if (j < ny)
		memcpy(f->order + k + (nx - i), y + j, (ny - j) * sizeof(*y));
	return NP_OK;
}

/* Drops, in place, the addresses marked and those whose last packet is older than cutoff,
 * and the dead hours of the others. Entries only move down, so buckets are moved in order. */
static void run_compact(struct imp_run *r, int64_t cutoff)
{
	size_t w = 0, wb = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct imp_addr a = r->a[i];
		if (a.drop || (int64_t)a.last < cutoff)
			continue;
		size_t k = obs_bucket_first_live(r->b + a.boff, a.nb, cutoff);
		size_t nb = a.nb - k;
		if (nb == 0)
			continue;
		memmove(r->b + wb, r->b + a.boff + k, nb * sizeof(*r->b));
		a.boff = (uint32_t)wb;
		a.nb = (uint16_t)nb;
		r->a[w++] = a;
		wb += nb;
	}
	r->n = w;
	r->nb = wb;
}

static size_t fold_addrs(const struct imp_fold *f)
{
	size_t n = 0;
	for (unsigned h = 0; h < IMP_PARTS; h++)
		n += f->part[h].acc.n;
	return n;
}

/* At the cap: marks the addresses with the oldest last packets and compacts the parts. */
static int apply_cap(struct imp_fold *f)
{
	size_t n = fold_addrs(f);
	if (n <= f->cap)
		return NP_OK;
	int ret = order_by_last(f, 1);
	if (ret != NP_OK)
		return ret;
	size_t drop = n - f->cap;
	for (size_t k = 0; k < drop; k++)
		f->part[(f->order[k] >> PART_BIT) & 1].acc.a[f->order[k] & INDEX_MAX].drop = 1;
	f->evicted += drop;
	for (unsigned h = 0; h < IMP_PARTS; h++)
		run_compact(&f->part[h].acc, f->cutoff);
	return NP_OK;
}

static void swap_runs(struct imp_run *x, struct imp_run *y)
{
	struct imp_run t = *x;
	*x = *y;
	*y = t;
}

int64_t imp_fold_begin(const struct imp_fold *f, int64_t max)
{
	int64_t cutoff = max - f->retention;
	return cutoff < f->cutoff ? f->cutoff : cutoff;
}

int imp_fold_part(struct imp_fold *f, unsigned part, const struct imp_pkt *p, size_t n,
                  int64_t cutoff)
{
	struct imp_part *pt = &f->part[part];
	/* Even without packets: the merge drops what the cutoff ends, as one run's would. */
	int ret = merge_chunk(f, pt, p, n, cutoff);
	if (ret != NP_OK)
		return ret;
	swap_runs(&pt->acc, &pt->out);
	return NP_OK;
}

int imp_fold_end(struct imp_fold *f, int64_t cutoff)
{
	f->cutoff = cutoff;
	/* Marking for the cap cannot fail half-way: only the sort allocates. */
	return apply_cap(f);
}

int imp_fold_finish(struct imp_fold *f, int64_t now)
{
	if (now - f->retention > f->cutoff)
		f->cutoff = now - f->retention;
	for (unsigned h = 0; h < IMP_PARTS; h++)
		run_compact(&f->part[h].acc, f->cutoff);
	int ret = apply_cap(f);
	/* By the hour of the last packet, key order within it: sweeps over the runs in memory
	 * order (random access by exact time costs ~300 ns of cache and TLB misses per address
	 * on a large import), and the order obs_index_foreach() gives at the resolution that
	 * matters to the LRU list of the server that loads them. */
	if (ret == NP_OK)
		ret = order_by_last(f, HOUR);
	return ret;
}

int imp_fold_foreach(const struct imp_fold *f, obs_index_cb *cb, void *ctx)
{
	size_t n = fold_addrs(f);
	for (size_t k = 0; k < n; k++) {
		const struct imp_run *r = &f->part[(f->order[k] >> PART_BIT) & 1].acc;
		const struct imp_addr *a = &r->a[f->order[k] & INDEX_MAX];
		struct obs_addr_record rec;
		memset(&rec, 0, sizeof(rec));
		rec.addr.family = a->v6 ? AF_INET6 : AF_INET;
		size_t len = a->v6 ? 8 : 4;
		for (size_t i = 0; i < len; i++)
			rec.addr.bytes[i] = (uint8_t)(a->key >> (8 * (len - 1 - i)));
		rec.first_seen = a->first;
		rec.last_seen = a->last;
		rec.buckets = r->b + a->boff;
		rec.n_buckets = a->nb;
		int ret = cb(&rec, ctx);
		if (ret != 0)
			return ret;
	}
	return 0;
}

size_t imp_fold_addrs(const struct imp_fold *f)
{
	return fold_addrs(f);
}

static size_t run_bytes(const struct imp_run *r)
{
	return r->acap * sizeof(*r->a) + r->bcap * sizeof(*r->b);
}

size_t imp_fold_bytes(const struct imp_fold *f)
{
	size_t b = f->order_cap * sizeof(*f->order);
	for (unsigned h = 0; h < IMP_PARTS; h++) {
		const struct imp_part *pt = &f->part[h];
		b += sizeof(pt->one) + run_bytes(&pt->acc) + run_bytes(&pt->out) +
		     2 * pt->order_cap * sizeof(*pt->order);
	}
	return b;
}
