/* SPDX-License-Identifier: MIT */
/* Update budgets: per key, two windows of counters (the short window and the day), each
 * cut into slots so that a key costs a fixed few bytes whatever its rate. An update stays
 * counted for at least the window and at most one slot longer: the budget never admits
 * more than its limit in any window, and may ask a client to wait one slot too long. */
#include "abuse/budget.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* 24 slots cover the window; the 25th is the one filling now. */
#define SLOTS 25
#define DAY_SLOT 3600
/* Entries probed for a key before the least recently used of them makes room. */
#define PROBES 16

struct window {
	int64_t head; /* the newest slot's number (time / slot length) */
	uint16_t n[SLOTS];
};

struct entry {
	uint64_t id;
	int64_t last; /* when the key was last looked at: the eviction order */
	uint8_t scope;
	bool used;
	struct window w[2]; /* [0] the short window, [1] the day */
};

struct budget {
	pthread_mutex_t mu;
	struct budget_limits limits;
	bool off; /* every limit 0: nothing to count (read without the lock: budget_off) */
	uint8_t hash_key[crypto_shorthash_KEYBYTES]; /* keys cannot be aimed at one slot */
	size_t mask;
	struct entry *tab;
};

static bool limits_off(const struct budget_limits *l)
{
	for (int i = 0; i < BUDGET_SCOPES; i++)
		if (l->scope[i].per_window != 0 || l->scope[i].per_day != 0)
			return false;
	return true;
}

static int64_t slot_len(const struct budget *b, int which)
{
	if (which == 1)
		return DAY_SLOT;
	int64_t w = b->limits.window > 0 ? b->limits.window : 1;
	return (w + SLOTS - 2) / (SLOTS - 1); /* 24 slots hold at least the window */
}

static void advance(struct window *w, int64_t slot)
{
	if (slot <= w->head)
		return; /* a clock that stepped back counts into the newest slot */
	if (slot - w->head >= SLOTS)
		memset(w->n, 0, sizeof(w->n));
	else
		for (int64_t s = w->head + 1; s <= slot; s++)
			w->n[s % SLOTS] = 0;
	w->head = slot;
}

/* 0 when one more update fits under limit; else the seconds until it would. */
static unsigned wait_for(struct window *w, int64_t len, unsigned limit, int64_t now)
{
	if (limit == 0)
		return 0;
	advance(w, now / len);
	uint32_t sum = 0;
	for (int i = 0; i < SLOTS; i++)
		sum += w->n[i];
	if (sum < limit)
		return 0;
	uint32_t excess = sum + 1 - limit, dropped = 0;
	for (int64_t s = w->head - (SLOTS - 1); s <= w->head; s++) {
		dropped += w->n[s % SLOTS];
		if (dropped >= excess) {
			int64_t wait = (s + SLOTS) * len - now; /* when slot s leaves the window */
			return wait > 0 ? (unsigned)wait : 1;
		}
	}
	return (unsigned)(SLOTS * len); /* limit 0 is handled above: not reached */
}

static struct entry *find(struct budget *b, const struct budget_key *k, int64_t now)
{
	size_t i = (size_t)(k->id ^ ((uint64_t)k->scope * 0x9e3779b97f4a7c15ull)) & b->mask;
	struct entry *victim = NULL;
	for (unsigned p = 0; p < PROBES; p++, i = (i + 1) & b->mask) {
		struct entry *e = &b->tab[i];
		if (e->used && e->id == k->id && e->scope == k->scope) {
			e->last = now;
			return e;
		}
		if (!e->used) {
			if (victim == NULL || victim->used)
				victim = e;
		} else if (victim == NULL || (victim->used && e->last < victim->last)) {
			victim = e;
		}
	}
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	victim->id = k->id;
	victim->scope = (uint8_t)k->scope;
	victim->last = now;
	victim->w[0].head = now / slot_len(b, 0);
	victim->w[1].head = now / slot_len(b, 1);
	return victim;
}

int budget_new(struct budget **out, size_t entries, const struct budget_limits *limits)
{
	*out = NULL;
	size_t cap = 64;
	while (cap < entries && cap < ((size_t)1 << 24))
		cap <<= 1;
	struct budget *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NP_ENOMEM;
	b->tab = calloc(cap, sizeof(*b->tab));
	if (b->tab == NULL) {
		free(b);
		return NP_ENOMEM;
	}
	b->mask = cap - 1;
	b->limits = *limits;
	b->off = limits_off(limits);
	randombytes_buf(b->hash_key, sizeof(b->hash_key));
	pthread_mutex_init(&b->mu, NULL);
	*out = b;
	return NP_OK;
}

void budget_free(struct budget *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b->tab);
	free(b);
}

void budget_set_limits(struct budget *b, const struct budget_limits *limits)
{
	pthread_mutex_lock(&b->mu);
	/* Slots of another length would be read wrongly: a new window starts afresh. */
	if (limits->window != b->limits.window)
		memset(b->tab, 0, (b->mask + 1) * sizeof(*b->tab));
	b->limits = *limits;
	__atomic_store_n(&b->off, limits_off(limits), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&b->mu);
}

bool budget_off(const struct budget *b)
{
	return __atomic_load_n(&b->off, __ATOMIC_RELAXED);
}

static uint64_t hash(const struct budget *b, const void *data, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, data, len, b->hash_key);
	uint64_t v;
	memcpy(&v, out, sizeof(v));
	return v;
}

struct budget_key budget_key_host(const struct budget *b, const char *fqdn)
{
	return (struct budget_key){BUDGET_HOST, hash(b, fqdn, strlen(fqdn))};
}

struct budget_key budget_key_token(const struct budget *b, const char *token_id)
{
	return (struct budget_key){BUDGET_TOKEN, hash(b, token_id, strlen(token_id))};
}

struct budget_key budget_key_source(const struct budget *b, const struct np_addr *a)
{
	uint8_t buf[17] = {0};
	buf[0] = (uint8_t)a->family;
	memcpy(buf + 1, a->bytes, a->family == AF_INET ? 4 : 8);
	return (struct budget_key){BUDGET_SOURCE, hash(b, buf, sizeof(buf))};
}

unsigned budget_take(struct budget *b, const struct budget_key *keys, size_t n, int64_t now)
{
	enum { MAX_KEYS = 32 };
	struct entry *e[MAX_KEYS];
	size_t m = 0;
	unsigned wait = 0;
	if (n > MAX_KEYS)
		n = MAX_KEYS;
	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = keys[j].scope == keys[i].scope && keys[j].id == keys[i].id;
		if (dup || keys[i].scope >= BUDGET_SCOPES)
			continue;
		const struct budget_limit *l = &b->limits.scope[keys[i].scope];
		/* A scope without limits counts nothing: no entry taken (and evicted) per key. */
		if (l->per_window == 0 && l->per_day == 0)
			continue;
		e[m] = find(b, &keys[i], now);
		unsigned w0 = wait_for(&e[m]->w[0], slot_len(b, 0), l->per_window, now);
		unsigned w1 = wait_for(&e[m]->w[1], slot_len(b, 1), l->per_day, now);
		if (w0 > wait)
			wait = w0;
		if (w1 > wait)
			wait = w1;
		m++;
	}
	if (wait == 0)
		for (size_t i = 0; i < m; i++)
			for (int k = 0; k < 2; k++) {
				struct window *w = &e[i]->w[k];
				uint16_t *c = &w->n[w->head % SLOTS];
				if (*c < UINT16_MAX)
					(*c)++;
			}
	pthread_mutex_unlock(&b->mu);
	return wait;
}
