/* SPDX-License-Identifier: MIT */
/* The observation index: a chained hash of addresses over a chunked node pool, an LRU
 * list for eviction, sorted hourly bucket arrays per address, and the verdict rules.
 *
 * Dirty tracking costs one byte per node and no list: every add or load moves its node to
 * the head of the LRU list and marks it dirty, so the dirty nodes are always a prefix of
 * that list, and a checkpoint walks exactly them. */
#include "common/clock.h"
#include "common/macros.h"
#include "observe/index.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NIL         UINT32_MAX
#define CHUNK_SHIFT 12
#define CHUNK_NODES (1u << CHUNK_SHIFT)
#define HOUR        OBS_HOUR

struct node {
	uint64_t key; /* IPv4 address, or the upper 64 bits of an IPv6 one */
	int64_t first_seen, last_seen;
	struct obs_bucket *b;   /* ascending hours */
	struct obs_cred *creds; /* OBS_MAX_CREDS entries once the first login arrives */
	uint32_t hnext;         /* hash chain, or the free list */
	uint32_t prev, next;    /* LRU: prev is more recent, next is older */
	uint16_t nb, bcap;
	uint8_t v6, ncreds;
	uint8_t dirty; /* changed since the last obs_index_foreach_dirty() */
};

/* An address dropped (evicted, pruned) since the last obs_index_take_dropped(). */
struct dropped {
	uint64_t key;
	uint8_t v6;
};

struct obs_index {
	pthread_mutex_t lock;
	size_t cap, n;
	uint16_t max_buckets; /* retention hours + 1: the hours one address can span */
	int64_t retention, now;
	uint64_t seed[2];
	uint32_t *heads; /* hash heads, hmask + 1 of them */
	uint32_t hmask;
	struct node **chunks;
	uint32_t n_chunks, used; /* node slots handed out so far */
	uint32_t free_list;
	uint32_t lru_head, lru_tail; /* head: most recently updated */
	size_t bytes;
	uint64_t events, evicted, pruned, stale;
	struct dropped *dropped; /* min(cap, OBS_DROPPED_MAX), allocated with the index */
	size_t n_dropped, dropped_cap;
	bool dropped_overflow;
};

/* Mirai's default pairs (its scanner.c, with the two wrong comments
 * decoded: Administrator:meinsm and admin:4321). */
static const char *const mirai_creds[][2] = {
    {"root", "xc3511"},
    {"root", "vizxv"},
    {"root", "admin"},
    {"admin", "admin"},
    {"root", "888888"},
    {"root", "xmhdipc"},
    {"root", "default"},
    {"root", "juantech"},
    {"root", "123456"},
    {"root", "54321"},
    {"support", "support"},
    {"root", ""},
    {"admin", "password"},
    {"root", "root"},
    {"root", "12345"},
    {"user", "user"},
    {"admin", ""},
    {"root", "pass"},
    {"admin", "admin1234"},
    {"root", "1111"},
    {"admin", "smcadmin"},
    {"admin", "1111"},
    {"root", "666666"},
    {"root", "password"},
    {"root", "1234"},
    {"root", "klv123"},
    {"Administrator", "meinsm"},
    {"service", "service"},
    {"supervisor", "supervisor"},
    {"guest", "guest"},
    {"guest", "12345"},
    {"admin1", "password"},
    {"administrator", "1234"},
    {"666666", "666666"},
    {"888888", "888888"},
    {"ubnt", "ubnt"},
    {"root", "klv1234"},
    {"root", "Zte521"},
    {"root", "hi3518"},
    {"root", "jvbzd"},
    {"root", "anko"},
    {"root", "zlxx."},
    {"root", "7ujMko0vizxv"},
    {"root", "7ujMko0admin"},
    {"root", "system"},
    {"root", "ikwb"},
    {"root", "dreambox"},
    {"root", "user"},
    {"root", "realtek"},
    {"root", "00000000"},
    {"admin", "1111111"},
    {"admin", "1234"},
    {"admin", "12345"},
    {"admin", "54321"},
    {"admin", "123456"},
    {"admin", "7ujMko0admin"},
    {"admin", "4321"},
    {"admin", "pass"},
    {"admin", "meinsm"},
    {"tech", "tech"},
    {"mother", "fucker"},
};

bool obs_cred_is_default(const char *user, const char *pass)
{
	for (size_t i = 0; i < ARRAY_SIZE(mirai_creds); i++)
		if (strcmp(mirai_creds[i][0], user) == 0 && strcmp(mirai_creds[i][1], pass) == 0)
			return true;
	return false;
}

const char *obs_verdict_name(enum obs_verdict_kind v)
{
	switch (v) {
	case OBS_INFECTED:
		return "infected";
	case OBS_SUSPICIOUS:
		return "suspicious";
	case OBS_NOT_OBSERVED:
		return "not_observed";
	}
	return "not_observed";
}

const char *obs_rule_name(enum obs_rule r)
{
	switch (r) {
	case OBS_RULE_MIRAI_SYN:
		return "mirai_syn";
	case OBS_RULE_DOWNLOAD:
		return "malware_download";
	case OBS_RULE_DEFAULT_CRED:
		return "default_credentials";
	case OBS_RULE_BRUTE_FORCE:
		return "brute_force";
	case OBS_RULE_IOT_SCAN:
		return "iot_port_scan";
	case OBS_RULE_FEW_SIGNS:
		return "few_signs";
	case OBS_RULE_NONE:
		break;
	}
	return "none";
}

/* Key of an address: the IPv4 address, or the IPv6 /64 prefix. */
static int addr_key(const struct np_addr *a, uint64_t *key, uint8_t *v6)
{
	size_t len;
	if (a->family == AF_INET) {
		len = 4;
		*v6 = 0;
	} else if (a->family == AF_INET6) {
		len = 8;
		*v6 = 1;
	} else {
		return NP_EINVAL;
	}
	uint64_t k = 0;
	for (size_t i = 0; i < len; i++)
		k = k << 8 | a->bytes[i];
	*key = k;
	return NP_OK;
}

static void key_addr(uint64_t key, uint8_t v6, struct np_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = v6 ? AF_INET6 : AF_INET;
	size_t len = v6 ? 8 : 4;
	for (size_t i = 0; i < len; i++)
		a->bytes[i] = (uint8_t)(key >> (8 * (len - 1 - i)));
}

/* Seeded so that spoofed sources cannot be chosen to collide (not cryptographic: the
 * seed is secret and chains are short, which is all a lookup table needs). */
static uint32_t hash_key(const struct obs_index *ix, uint64_t key, uint8_t v6)
{
	uint64_t h = (key ^ ix->seed[0]) + v6;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= ix->seed[1];
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h & ix->hmask;
}

static struct node *N(const struct obs_index *ix, uint32_t i)
{
	return &ix->chunks[i >> CHUNK_SHIFT][i & (CHUNK_NODES - 1)];
}

static uint32_t lookup(const struct obs_index *ix, uint64_t key, uint8_t v6)
{
	uint32_t i = ix->heads[hash_key(ix, key, v6)];
	while (i != NIL) {
		const struct node *n = N(ix, i);
		if (n->key == key && n->v6 == v6)
			return i;
		i = n->hnext;
	}
	return NIL;
}

static void lru_unlink(struct obs_index *ix, uint32_t i)
{
	struct node *n = N(ix, i);
	if (n->prev != NIL)
		N(ix, n->prev)->next = n->next;
	else
		ix->lru_head = n->next;
	if (n->next != NIL)
		N(ix, n->next)->prev = n->prev;
	else
		ix->lru_tail = n->prev;
	n->prev = n->next = NIL;
}

static void lru_push_head(struct obs_index *ix, uint32_t i)
{
	struct node *n = N(ix, i);
	n->prev = NIL;
	n->next = ix->lru_head;
	if (ix->lru_head != NIL)
		N(ix, ix->lru_head)->prev = i;
	ix->lru_head = i;
	if (ix->lru_tail == NIL)
		ix->lru_tail = i;
}

/* Remembers a dropped key for the next checkpoint; when the list is full only the
 * overflow flag is kept, which asks the caller for a full rewrite. */
static void dropped_note(struct obs_index *ix, uint64_t key, uint8_t v6)
{
	if (ix->n_dropped == ix->dropped_cap) {
		ix->dropped_overflow = true;
		return;
	}
	ix->dropped[ix->n_dropped].key = key;
	ix->dropped[ix->n_dropped].v6 = v6;
	ix->n_dropped++;
}

/* Unlinks node i from its hash chain and the LRU, frees what it owns, and puts it on the
 * free list. */
static void node_drop(struct obs_index *ix, uint32_t i)
{
	struct node *n = N(ix, i);
	dropped_note(ix, n->key, n->v6);
	uint32_t *pp = &ix->heads[hash_key(ix, n->key, n->v6)];
	while (*pp != i)
		pp = &N(ix, *pp)->hnext;
	*pp = n->hnext;
	lru_unlink(ix, i);
	ix->bytes -= (size_t)n->bcap * sizeof(struct obs_bucket);
	free(n->b);
	if (n->creds != NULL)
		ix->bytes -= OBS_MAX_CREDS * sizeof(struct obs_cred);
	free(n->creds);
	memset(n, 0, sizeof(*n));
	n->hnext = ix->free_list;
	ix->free_list = i;
	ix->n--;
}

/* A free node slot, evicting the least recently updated address at the cap. */
static uint32_t node_alloc(struct obs_index *ix)
{
	if (ix->n >= ix->cap) {
		node_drop(ix, ix->lru_tail);
		ix->evicted++;
	}
	if (ix->free_list != NIL) {
		uint32_t i = ix->free_list;
		ix->free_list = N(ix, i)->hnext;
		return i;
	}
	uint32_t c = ix->used >> CHUNK_SHIFT;
	if (c >= ix->n_chunks)
		return NIL; /* cannot happen: used < cap <= n_chunks * CHUNK_NODES */
	if (ix->chunks[c] == NULL) {
		ix->chunks[c] = calloc(CHUNK_NODES, sizeof(struct node));
		if (ix->chunks[c] == NULL)
			return NIL;
		ix->bytes += CHUNK_NODES * sizeof(struct node);
	}
	return ix->used++;
}

static uint32_t node_get(struct obs_index *ix, uint64_t key, uint8_t v6)
{
	uint32_t i = lookup(ix, key, v6);
	if (i != NIL) {
		if (ix->lru_head != i) {
			lru_unlink(ix, i);
			lru_push_head(ix, i);
		}
		N(ix, i)->dirty = 1;
		return i;
	}
	i = node_alloc(ix);
	if (i == NIL)
		return NIL;
	struct node *n = N(ix, i);
	memset(n, 0, sizeof(*n));
	n->key = key;
	n->v6 = v6;
	n->first_seen = INT64_MAX;
	n->last_seen = INT64_MIN;
	n->dirty = 1;
	uint32_t h = hash_key(ix, key, v6);
	n->hnext = ix->heads[h];
	ix->heads[h] = i;
	lru_push_head(ix, i);
	ix->n++;
	return i;
}

/* Index of the first bucket still inside the retention window. */
static size_t first_live(const struct obs_index *ix, const struct node *n)
{
	if (ix->now == 0)
		return 0;
	return obs_bucket_first_live(n->b, n->nb, ix->now - ix->retention);
}

static void trim_buckets(struct obs_index *ix, struct node *n)
{
	size_t k = first_live(ix, n);
	if (k == 0)
		return;
	memmove(n->b, n->b + k, (n->nb - k) * sizeof(*n->b));
	n->nb = (uint16_t)(n->nb - k);
}

/* The bucket for hour in n, created in order if missing (obs_bucket_insert(): the caller
 * checked hour is newer than the oldest held at the limit); NULL on ENOMEM. */
static struct obs_bucket *bucket_get(struct obs_index *ix, struct node *n, int32_t hour)
{
	size_t pos;
	struct obs_bucket *b = obs_bucket_find(n->b, n->nb, hour, &pos);
	if (b != NULL)
		return b;
	/* At the limit the oldest hour gives way: no room needed. */
	if (n->nb < ix->max_buckets && n->nb == n->bcap) {
		size_t ncap = n->bcap == 0 ? 1 : (size_t)n->bcap * 2;
		if (ncap > ix->max_buckets)
			ncap = ix->max_buckets;
		struct obs_bucket *nb = realloc(n->b, ncap * sizeof(*nb));
		if (nb == NULL)
			return NULL;
		ix->bytes += (ncap - n->bcap) * sizeof(*nb);
		n->b = nb;
		n->bcap = (uint16_t)ncap;
	}
	return obs_bucket_insert(n->b, &n->nb, ix->max_buckets, pos, hour);
}

static size_t cstrnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n] != '\0')
		n++;
	return n;
}

/* Records a pair tried; when all slots hold pairs, the one tried longest ago gives way
 * if that was before this event's 24 h window, else the new pair is not listed (its
 * attempt still counts in the bucket). */
static int cred_add(struct obs_index *ix, struct node *n, const char *user, const char *pass,
                    bool is_default, uint32_t count, int64_t first, int64_t last)
{
	if (n->creds == NULL) {
		n->creds = calloc(OBS_MAX_CREDS, sizeof(struct obs_cred));
		if (n->creds == NULL)
			return NP_ENOMEM;
		ix->bytes += OBS_MAX_CREDS * sizeof(struct obs_cred);
	}
	struct obs_cred *c = NULL;
	for (size_t i = 0; i < n->ncreds; i++) {
		if (strcmp(n->creds[i].user, user) == 0 && strcmp(n->creds[i].pass, pass) == 0) {
			c = &n->creds[i];
			break;
		}
	}
	if (c == NULL) {
		if (n->ncreds < OBS_MAX_CREDS) {
			c = &n->creds[n->ncreds++];
		} else {
			size_t old = 0;
			for (size_t i = 1; i < n->ncreds; i++)
				if (n->creds[i].last < n->creds[old].last)
					old = i;
			if (n->creds[old].last >= last - OBS_WINDOW)
				return NP_OK;
			c = &n->creds[old];
		}
		memset(c, 0, sizeof(*c));
		memcpy(c->user, user, cstrnlen(user, sizeof(c->user) - 1));
		memcpy(c->pass, pass, cstrnlen(pass, sizeof(c->pass) - 1));
		c->is_default = is_default;
		c->first = first;
		c->last = last;
	}
	c->count = obs_sat32(c->count, count);
	if (first < c->first)
		c->first = first;
	if (last > c->last)
		c->last = last;
	return NP_OK;
}

static void seen(struct node *n, int64_t t)
{
	if (t < n->first_seen)
		n->first_seen = t;
	if (t > n->last_seen)
		n->last_seen = t;
}

int obs_index_add(struct obs_index *ix, const struct obs_event *ev)
{
	uint64_t key;
	uint8_t v6;
	int ret = addr_key(&ev->src, &key, &v6);
	if (ret != 0)
		return ret;
	if ((unsigned)ev->kind >= OBS_KIND_COUNT || ev->time < 0 || ev->time / HOUR > INT32_MAX)
		return NP_EINVAL;
	uint32_t cnt = ev->count == 0 ? 1 : ev->count;

	pthread_mutex_lock(&ix->lock);
	ix->events += cnt;
	if (ix->now != 0 && ev->time < ix->now - ix->retention) {
		ix->stale += cnt;
		ret = NP_OK;
		goto out;
	}
	uint32_t i = node_get(ix, key, v6);
	ret = NP_ENOMEM;
	if (i == NIL)
		goto out;
	struct node *n = N(ix, i);
	trim_buckets(ix, n);
	int32_t hour = (int32_t)(ev->time / HOUR);
	if (n->nb >= ix->max_buckets && hour < n->b[0].hour) {
		/* Older than the retention window counted back from this address's newest hour. */
		ix->stale += cnt;
		ret = NP_OK;
		goto out;
	}
	struct obs_bucket *b = bucket_get(ix, n, hour);
	if (b == NULL)
		goto out_unused;
	seen(n, ev->time);
	obs_bucket_add(b, ev->kind, ev->time, ev->dst_port, cnt);
	ret = NP_OK;
	if (ev->kind == OBS_LOGIN) {
		char user[33], pass[33];
		size_t ul = cstrnlen(ev->user, 32), pl = cstrnlen(ev->pass, 32);
		memcpy(user, ev->user, ul);
		user[ul] = '\0';
		memcpy(pass, ev->pass, pl);
		pass[pl] = '\0';
		bool def = obs_cred_is_default(user, pass);
		if (def)
			b->default_creds = obs_sat32(b->default_creds, cnt);
		ret = cred_add(ix, n, user, pass, def, cnt, ev->time, ev->time);
	}
	goto out;
out_unused:
	/* A node just created for an event that could not be stored holds nothing. */
	if (n->nb == 0)
		node_drop(ix, i);
out:
	pthread_mutex_unlock(&ix->lock);
	return ret;
}

int obs_index_load(struct obs_index *ix, const struct obs_addr_record *rec)
{
	uint64_t key;
	uint8_t v6;
	int ret = addr_key(&rec->addr, &key, &v6);
	if (ret != 0)
		return ret;
	if (rec->n_buckets > OBS_MAX_BUCKETS || rec->n_creds > OBS_MAX_CREDS)
		return NP_EINVAL;
	pthread_mutex_lock(&ix->lock);
	uint32_t i = node_get(ix, key, v6);
	ret = NP_ENOMEM;
	if (i == NIL)
		goto out;
	struct node *n = N(ix, i);
	int64_t cutoff = ix->now == 0 ? INT64_MIN : ix->now - ix->retention;
	/* Room for every hour of the record at once, not by doubling (imports load many
	 * fresh addresses this way). */
	size_t want = (size_t)n->nb + rec->n_buckets;
	if (want > ix->max_buckets)
		want = ix->max_buckets;
	if (want > n->bcap) {
		struct obs_bucket *nb = realloc(n->b, want * sizeof(*nb));
		if (nb == NULL)
			goto fail;
		ix->bytes += (want - n->bcap) * sizeof(*nb);
		n->b = nb;
		n->bcap = (uint16_t)want;
	}
	for (size_t k = 0; k < rec->n_buckets; k++) {
		const struct obs_bucket *src = &rec->buckets[k];
		if (obs_bucket_ended(src->hour, cutoff) ||
		    (n->nb >= ix->max_buckets && src->hour < n->b[0].hour))
			continue;
		struct obs_bucket *b = bucket_get(ix, n, src->hour);
		if (b == NULL)
			goto fail;
		obs_bucket_merge(b, src);
	}
	for (size_t k = 0; k < rec->n_creds; k++) {
		const struct obs_cred *c = &rec->creds[k];
		ret = cred_add(ix, n, c->user, c->pass, c->is_default, c->count, c->first, c->last);
		if (ret != 0)
			goto fail;
	}
	ret = NP_OK;
	if (n->nb == 0 && n->ncreds == 0) {
		node_drop(ix, i); /* everything in it was past retention */
		goto out;
	}
	seen(n, rec->first_seen);
	seen(n, rec->last_seen);
	goto out;
fail:
	ret = NP_ENOMEM;
	if (n->nb == 0)
		node_drop(ix, i);
out:
	pthread_mutex_unlock(&ix->lock);
	return ret;
}

size_t obs_index_prune(struct obs_index *ix, int64_t now)
{
	size_t dropped = 0;
	pthread_mutex_lock(&ix->lock);
	if (now > ix->now)
		ix->now = now;
	int64_t cutoff = ix->now - ix->retention;
	/* The LRU tail is the least recently updated; with events arriving in time order that
	 * is also the oldest last_seen, so the walk stops at the first live address. */
	while (ix->lru_tail != NIL && N(ix, ix->lru_tail)->last_seen < cutoff) {
		node_drop(ix, ix->lru_tail);
		dropped++;
	}
	ix->pruned += dropped;
	pthread_mutex_unlock(&ix->lock);
	return dropped;
}

static void lock_const(const struct obs_index *ix)
{
	/* The mutex is the one mutable part of a const index. */
	pthread_mutex_lock((pthread_mutex_t *)&ix->lock);
}

static void unlock_const(const struct obs_index *ix)
{
	pthread_mutex_unlock((pthread_mutex_t *)&ix->lock);
}

struct port_acc {
	uint16_t port;
	uint64_t count;
};

static int port_acc_cmp(const void *a, const void *b)
{
	const struct port_acc *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return (int)x->port - (int)y->port;
}

static void decide(struct obs_verdict *v)
{
	unsigned r = 0;
	if (v->fingerprint_hits >= OBS_MIRAI_MIN)
		r |= OBS_RULE_MIRAI_SYN;
	if (v->downloads > 0)
		r |= OBS_RULE_DOWNLOAD;
	if (v->default_cred_hits > 0)
		r |= OBS_RULE_DEFAULT_CRED;
	if (v->login_attempts >= OBS_BRUTE_FORCE_MIN)
		r |= OBS_RULE_BRUTE_FORCE;
	if (v->iot_port_hits > 0)
		r |= OBS_RULE_IOT_SCAN;
	if (v->fingerprint_hits > 0 || v->login_attempts > 0)
		r |= OBS_RULE_FEW_SIGNS;
	v->rules = r;
	static const enum obs_rule order[] = {OBS_RULE_MIRAI_SYN,    OBS_RULE_DOWNLOAD,
	                                      OBS_RULE_DEFAULT_CRED, OBS_RULE_BRUTE_FORCE,
	                                      OBS_RULE_IOT_SCAN,     OBS_RULE_FEW_SIGNS};
	v->rule = OBS_RULE_NONE;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (r & (unsigned)order[i]) {
			v->rule = order[i];
			break;
		}
	}
	if (r &
	    (OBS_RULE_MIRAI_SYN | OBS_RULE_DOWNLOAD | OBS_RULE_DEFAULT_CRED | OBS_RULE_BRUTE_FORCE))
		v->verdict = OBS_INFECTED;
	else if (r != 0)
		v->verdict = OBS_SUSPICIOUS;
	else
		v->verdict = OBS_NOT_OBSERVED;
}

int obs_index_verdict(const struct obs_index *ix, const struct np_addr *a, int64_t now,
                      struct obs_verdict *out)
{
	return obs_index_verdict_range(ix, a, now - OBS_WINDOW, now, out);
}

int obs_index_verdict_range(const struct obs_index *ix, const struct np_addr *a, int64_t start,
                            int64_t end, struct obs_verdict *out)
{
	uint64_t key;
	uint8_t v6;
	int ret = addr_key(a, &key, &v6);
	if (ret != 0)
		return ret;
	if (start > end)
		return NP_EINVAL;
	memset(out, 0, sizeof(*out));
	out->window_start = start;
	out->window_end = end;
	out->verdict = OBS_NOT_OBSERVED;
	int64_t now = end;

	/* Distinct ports of the window; beyond these they count as other_ports. A day has at
	 * most 25 * OBS_BUCKET_PORTS, so only long ranges can overflow. */
	struct port_acc acc[256];
	size_t nacc = 0;
	lock_const(ix);
	uint32_t i = lookup(ix, key, v6);
	if (i == NIL)
		goto out;
	const struct node *n = N(ix, i);
	for (size_t k = first_live(ix, n); k < n->nb; k++) {
		const struct obs_bucket *b = &n->b[k];
		int64_t base = (int64_t)b->hour * HOUR;
		if (base + HOUR <= out->window_start || base > now)
			continue;
		bool evidence = b->first_off != UINT16_MAX;
		int64_t first = base + b->first_off, last = base + b->last_off;
		/* Hours with evidence count by their evidence times; others only inform. */
		if (evidence && (last < out->window_start || first > now))
			continue;
		for (size_t kk = 0; kk < OBS_KIND_COUNT; kk++)
			out->kind_count[kk] += b->count[kk];
		if (!evidence)
			continue;
		if (out->first_seen == 0 || first < out->first_seen)
			out->first_seen = first;
		if (last > out->last_seen)
			out->last_seen = last;
		out->iot_port_hits += b->iot_port_hits;
		out->default_cred_hits += b->default_creds;
		out->other_ports += b->other_ports;
		for (size_t p = 0; p < b->n_ports; p++) {
			size_t q = 0;
			while (q < nacc && acc[q].port != b->ports[p].port)
				q++;
			if (q == nacc) {
				if (nacc == ARRAY_SIZE(acc)) {
					out->other_ports += b->ports[p].count;
					continue;
				}
				acc[nacc].port = b->ports[p].port;
				acc[nacc].count = 0;
				nacc++;
			}
			acc[q].count += b->ports[p].count;
		}
	}
	for (size_t c = 0; c < n->ncreds && out->n_creds < OBS_MAX_CREDS; c++) {
		const struct obs_cred *cr = &n->creds[c];
		if (cr->last >= out->window_start && cr->first <= now)
			out->creds[out->n_creds++] = *cr;
	}
out:
	unlock_const(ix);
	for (size_t kk = 0; kk < OBS_KIND_COUNT; kk++)
		if (obs_kind_is_evidence((enum obs_kind)kk))
			out->packets += out->kind_count[kk];
	out->fingerprint_hits = out->kind_count[OBS_MIRAI_SYN];
	out->login_attempts = out->kind_count[OBS_LOGIN];
	out->downloads = out->kind_count[OBS_DOWNLOAD];
	qsort(acc, nacc, sizeof(acc[0]), port_acc_cmp);
	for (size_t q = 0; q < nacc; q++) {
		if (q < OBS_VERDICT_PORTS) {
			out->ports[q].port = acc[q].port;
			out->ports[q].count = acc[q].count;
			out->n_ports++;
		} else {
			out->other_ports += acc[q].count;
		}
	}
	decide(out);
	return NP_OK;
}

static void fill_record(const struct obs_index *ix, const struct node *n,
                        struct obs_addr_record *rec)
{
	key_addr(n->key, n->v6, &rec->addr);
	rec->first_seen = n->first_seen;
	rec->last_seen = n->last_seen;
	size_t k = first_live(ix, n);
	rec->buckets = n->b + k;
	rec->n_buckets = n->nb - k;
	rec->creds = n->creds;
	rec->n_creds = n->ncreds;
}

int obs_index_foreach_dirty(struct obs_index *ix, obs_index_cb *cb, void *ctx)
{
	int ret = 0;
	pthread_mutex_lock(&ix->lock);
	/* The dirty nodes are a prefix of the LRU list: find its end, then walk back to the
	 * head so the records come least recently updated first, as in obs_index_foreach. */
	uint32_t last = NIL;
	for (uint32_t i = ix->lru_head; i != NIL && N(ix, i)->dirty; i = N(ix, i)->next)
		last = i;
	for (uint32_t i = last; i != NIL && ret == 0;) {
		struct node *n = N(ix, i);
		struct obs_addr_record rec;
		fill_record(ix, n, &rec);
		uint32_t prev = n->prev;
		ret = cb(&rec, ctx);
		if (ret == 0)
			n->dirty = 0;
		i = prev;
	}
	pthread_mutex_unlock(&ix->lock);
	return ret;
}

void obs_index_mark_all_dirty(struct obs_index *ix)
{
	pthread_mutex_lock(&ix->lock);
	for (uint32_t i = ix->lru_head; i != NIL; i = N(ix, i)->next)
		N(ix, i)->dirty = 1;
	pthread_mutex_unlock(&ix->lock);
}

size_t obs_index_take_dropped(struct obs_index *ix, struct np_addr *out, size_t max, bool *overflow)
{
	size_t n = 0;
	pthread_mutex_lock(&ix->lock);
	while (n < max && ix->n_dropped > 0) {
		ix->n_dropped--;
		key_addr(ix->dropped[ix->n_dropped].key, ix->dropped[ix->n_dropped].v6, &out[n]);
		n++;
	}
	/* The flag stays up until the list is drained, so a caller looping until a short
	 * result sees it on its last call whatever the number of calls. */
	if (overflow != NULL)
		*overflow = ix->dropped_overflow;
	if (ix->n_dropped == 0)
		ix->dropped_overflow = false;
	pthread_mutex_unlock(&ix->lock);
	return n;
}

int obs_index_foreach(const struct obs_index *ix, obs_index_cb *cb, void *ctx)
{
	int ret = 0;
	lock_const(ix);
	for (uint32_t i = ix->lru_tail; i != NIL && ret == 0;) {
		const struct node *n = N(ix, i);
		struct obs_addr_record rec;
		fill_record(ix, n, &rec);
		uint32_t prev = n->prev;
		ret = cb(&rec, ctx);
		i = prev;
	}
	unlock_const(ix);
	return ret;
}

size_t obs_index_bytes(const struct obs_index *ix)
{
	lock_const(ix);
	size_t b = ix->bytes;
	unlock_const(ix);
	return b;
}

void obs_index_stats(const struct obs_index *ix, struct obs_index_stats *out)
{
	lock_const(ix);
	out->addrs = ix->n;
	out->cap = ix->cap;
	out->events = ix->events;
	out->evicted = ix->evicted;
	out->pruned = ix->pruned;
	out->stale = ix->stale;
	out->bytes = ix->bytes;
	unlock_const(ix);
}

bool obs_index_limits_ok(size_t cap, int64_t *retention)
{
	if (*retention == 0)
		*retention = OBS_RETENTION_DEFAULT;
	return cap > 0 && cap <= (1u << 30) && *retention >= OBS_WINDOW &&
	       *retention <= OBS_RETENTION_MAX;
}

struct obs_index *obs_index_new(size_t cap, int64_t retention)
{
	if (!obs_index_limits_ok(cap, &retention))
		return NULL;
	struct obs_index *ix = calloc(1, sizeof(*ix));
	if (ix == NULL)
		return NULL;
	if (pthread_mutex_init(&ix->lock, NULL) != 0) {
		free(ix);
		return NULL;
	}
	ix->cap = cap;
	ix->retention = retention;
	ix->max_buckets = obs_bucket_max(retention);
	ix->free_list = ix->lru_head = ix->lru_tail = NIL;
	if (getrandom(ix->seed, sizeof(ix->seed), 0) != (ssize_t)sizeof(ix->seed)) {
		ix->seed[0] = (uint64_t)time_mono_ms() * 0x9e3779b97f4a7c15ULL;
		ix->seed[1] = (uint64_t)(uintptr_t)ix;
	}
	size_t hsize = 16;
	while (hsize < cap)
		hsize <<= 1;
	ix->hmask = (uint32_t)(hsize - 1);
	ix->n_chunks = (uint32_t)((cap + CHUNK_NODES - 1) / CHUNK_NODES);
	ix->heads = malloc(hsize * sizeof(*ix->heads));
	ix->chunks = calloc(ix->n_chunks, sizeof(*ix->chunks));
	/* More drops than addresses between two checkpoints: a full rewrite is then no
	 * dearer than the list would be. */
	ix->dropped_cap = cap < OBS_DROPPED_MAX ? cap : OBS_DROPPED_MAX;
	ix->dropped = malloc(ix->dropped_cap * sizeof(*ix->dropped));
	if (ix->heads == NULL || ix->chunks == NULL || ix->dropped == NULL) {
		obs_index_free(ix);
		return NULL;
	}
	memset(ix->heads, 0xff, hsize * sizeof(*ix->heads));
	ix->bytes = sizeof(*ix) + hsize * sizeof(*ix->heads) + ix->n_chunks * sizeof(*ix->chunks) +
	            ix->dropped_cap * sizeof(*ix->dropped);
	return ix;
}

void obs_index_free(struct obs_index *ix)
{
	if (ix == NULL)
		return;
	if (ix->chunks != NULL) {
		for (uint32_t i = 0; i < ix->used; i++) {
			struct node *n = N(ix, i);
			free(n->b);
			free(n->creds);
		}
		for (uint32_t c = 0; c < ix->n_chunks; c++)
			free(ix->chunks[c]);
	}
	free(ix->chunks);
	free(ix->heads);
	free(ix->dropped);
	pthread_mutex_destroy(&ix->lock);
	free(ix);
}
