/* SPDX-License-Identifier: MIT */
/* Throttling failed authentication, per source and per credential.
 *
 * A source (an IPv4 address or an IPv6 /64) may fail THR_FREE times in THR_WINDOW; then it
 * waits, first THR_PENALTY_MIN seconds, twice as long after each further block, up to
 * THR_PENALTY_MAX. A success clears its record. So one address guessing secrets gets a
 * handful of tries a minute, then a growing wait.
 *
 * A credential (the Basic-auth user name) failing CRED_FREE times in THR_WINDOW from
 * anywhere is under attack: for a growing time it accepts attempts only from networks it
 * has succeeded from before (an IPv4 /24 or IPv6 /48, remembered for THR_KNOWN_TTL). The
 * owner's router, updating from its usual provider, is never locked out by a stranger;
 * guesses from many addresses elsewhere wait. A router that turns up on a new network
 * while its name is under attack waits too, at most the credential's current penalty.
 *
 * Every table has a fixed size and forgets its oldest entries, so memory is bounded
 * whatever the attacker sends; keys are hashed with a secret key, so nobody can aim at a
 * bucket. Nothing here is durable: a restart forgets the counts (documented). */
#include "account/throttle.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/metrics.h"

#define THR_WINDOW      60000 /* ms over which failures are counted */
#define THR_FREE        10    /* failures a source may make in a window */
#define CRED_FREE       30    /* failures a credential may see in a window */
#define THR_PENALTY_MIN 5     /* seconds */
#define THR_PENALTY_MAX 900
#define THR_KNOWN_TTL   (30LL * 86400 * 1000) /* ms a network stays known to a credential */
#define THR_WAYS        4                     /* entries per bucket; the oldest is replaced */
#define THR_LOG_PER_MIN 30 /* log lines about failures a minute, then a summary */
#define THR_LOG_USER_MAX 96 /* bytes of a user name logged: enough to tell, bounded */

struct thr_entry {
	uint8_t key[16];
	int64_t used_ms; /* last touched: the oldest of a bucket goes first */
	int64_t window_ms;
	uint32_t fails;
	uint32_t penalty_s;
	int64_t blocked_until_ms;
};

struct thr_table {
	struct thr_entry *e;
	size_t n_buckets; /* a power of two; each holds THR_WAYS entries */
};

struct throttle {
	pthread_mutex_t mu;
	uint8_t hash_key[crypto_generichash_KEYBYTES];
	struct thr_table sources, creds, known;
	int64_t log_window_ms;
	unsigned logged, suppressed;
};

static int table_init(struct thr_table *t, size_t entries)
{
	t->n_buckets = 1;
	while (t->n_buckets * THR_WAYS < entries)
		t->n_buckets *= 2;
	t->e = calloc(t->n_buckets * THR_WAYS, sizeof(*t->e));
	return t->e != NULL ? NP_OK : NP_ENOMEM;
}

/* The entry for key, made (in place of the bucket's oldest) when create is set. */
static struct thr_entry *table_get(struct thr_table *t, const uint8_t key[16], bool create,
                                   int64_t now)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	struct thr_entry *b = &t->e[(h & (t->n_buckets - 1)) * THR_WAYS];
	struct thr_entry *oldest = &b[0];
	for (unsigned i = 0; i < THR_WAYS; i++) {
		if (b[i].used_ms != 0 && memcmp(b[i].key, key, 16) == 0) {
			b[i].used_ms = now;
			return &b[i];
		}
		if (b[i].used_ms < oldest->used_ms)
			oldest = &b[i];
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	memcpy(oldest->key, key, 16);
	oldest->used_ms = now;
	oldest->window_ms = now;
	return oldest;
}

static void hash_parts(const struct throttle *t, uint8_t tag, const void *a, size_t alen,
                       const void *b, size_t blen, uint8_t out[16])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, t->hash_key, sizeof(t->hash_key), 16);
	crypto_generichash_update(&st, &tag, 1);
	crypto_generichash_update(&st, a, alen);
	if (b != NULL)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, 16);
}

/* The source as counted: the address, an IPv6 address by its /64. */
static void source_key(const struct throttle *t, const struct np_addr *a, uint8_t out[16])
{
	struct np_addr k = *a;
	addr_network(&k, 32, 64);
	hash_parts(t, 's', &k, sizeof(k), NULL, 0, out);
}

static void cred_key(const struct throttle *t, const char *user, uint8_t out[16])
{
	hash_parts(t, 'c', user, strlen(user), NULL, 0, out);
}

/* A credential's known network: an IPv4 /24, an IPv6 /48. */
static void known_key(const struct throttle *t, const char *user, const struct np_addr *a,
                      uint8_t out[16])
{
	struct np_addr k = *a;
	addr_network(&k, 24, 48);
	hash_parts(t, 'k', &k, sizeof(k), user, strlen(user), out);
}

/* Failures counted by interface for the metrics, process-wide (every throttle adds to
 * them): the interfaces are the callers' string literals, a handful. */
#define FAILURE_KINDS 16
static struct {
	const char *what;
	_Atomic uint64_t n;
} failures[FAILURE_KINDS];
static pthread_mutex_t failures_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t failures_once = PTHREAD_ONCE_INIT;

static void count_by_interface(const char *what)
{
	pthread_mutex_lock(&failures_mu);
	unsigned i = 0;
	while (i < FAILURE_KINDS && failures[i].what != NULL && strcmp(failures[i].what, what) != 0)
		i++;
	if (i < FAILURE_KINDS) {
		if (failures[i].what == NULL)
			failures[i].what = what;
		failures[i].n++;
	}
	pthread_mutex_unlock(&failures_mu);
}

static void collect(void *ctx, struct metrics_out *o)
{
	(void)ctx;
	metrics_family(o, "auth_failures_total", "counter",
	               "failed authentications (wrong or unknown secrets, keys, passwords), by "
	               "interface");
	pthread_mutex_lock(&failures_mu);
	for (unsigned i = 0; i < FAILURE_KINDS && failures[i].what != NULL; i++) {
		char labels[64];
		snprintf(labels, sizeof(labels), "interface=\"%s\"", failures[i].what);
		metrics_sample(o, "auth_failures_total", labels, failures[i].n);
	}
	pthread_mutex_unlock(&failures_mu);
}

static void register_collector(void)
{
	metrics_register(collect, NULL);
}

int throttle_new(struct throttle **out, size_t entries)
{
	struct throttle *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NP_ENOMEM;
	pthread_mutex_init(&t->mu, NULL);
	crypto_generichash_keygen(t->hash_key);
	pthread_once(&failures_once, register_collector);
	if (table_init(&t->sources, entries) != NP_OK || table_init(&t->creds, entries) != NP_OK ||
	    table_init(&t->known, entries) != NP_OK) {
		throttle_free(t);
		return NP_ENOMEM;
	}
	*out = t;
	return NP_OK;
}

void throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	free(t->sources.e);
	free(t->creds.e);
	free(t->known.e);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static unsigned wait_s(const struct thr_entry *e, int64_t now)
{
	if (e == NULL || e->blocked_until_ms <= now)
		return 0;
	return (unsigned)((e->blocked_until_ms - now + 999) / 1000);
}

unsigned throttle_check(struct throttle *t, const struct np_addr *src, const char *user,
                        int64_t now)
{
	uint8_t sk[16], ck[16], kk[16];
	source_key(t, src, sk);
	cred_key(t, user, ck);
	pthread_mutex_lock(&t->mu);
	unsigned w = wait_s(table_get(&t->sources, sk, false, now), now);
	/* No user (a token, which names no account until it is found): the source only. */
	if (w == 0 && user[0] != '\0') {
		unsigned cw = wait_s(table_get(&t->creds, ck, false, now), now);
		if (cw > 0) {
			known_key(t, user, src, kk);
			const struct thr_entry *k = table_get(&t->known, kk, false, now);
			if (k == NULL || now - k->window_ms > THR_KNOWN_TTL)
				w = cw;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return w;
}

/* One more failure on e; blocks it, with a doubled penalty, when over free. Returns the
 * seconds of a block that began now, else 0. */
static unsigned count_failure(struct thr_entry *e, unsigned free_fails, int64_t now)
{
	if (now - e->window_ms >= THR_WINDOW) {
		e->window_ms = now;
		e->fails = 0;
	}
	if (++e->fails < free_fails)
		return 0;
	e->penalty_s = e->penalty_s == 0                     ? THR_PENALTY_MIN
	               : e->penalty_s >= THR_PENALTY_MAX / 2 ? THR_PENALTY_MAX
	                                                     : e->penalty_s * 2;
	e->blocked_until_ms = now + (int64_t)e->penalty_s * 1000;
	e->fails = 0;
	e->window_ms = now;
	return e->penalty_s;
}

/* Whether one more line about failures may be logged now: THR_LOG_PER_MIN a minute, and
 * then one line saying how many were left out. Under t->mu. */
static bool may_log(struct throttle *t, int64_t now)
{
	if (now - t->log_window_ms >= 60000) {
		if (t->suppressed > 0)
			log_event(LOG_WARNING, "auth_failure_unlogged", "count=%u period=60",
			          t->suppressed);
		t->log_window_ms = now;
		t->logged = t->suppressed = 0;
	}
	if (t->logged < THR_LOG_PER_MIN) {
		t->logged++;
		return true;
	}
	t->suppressed++;
	return false;
}

void throttle_failed(struct throttle *t, const struct np_addr *src, const char *user,
                     const char *what, int64_t now)
{
	count_by_interface(what);
	uint8_t sk[16], ck[16];
	source_key(t, src, sk);
	cred_key(t, user, ck);
	char addr[INET6_ADDRSTRLEN];
	addr_format(src, addr, sizeof(addr));
	pthread_mutex_lock(&t->mu);
	unsigned sb = count_failure(table_get(&t->sources, sk, true, now), THR_FREE, now);
	unsigned cb = user[0] != '\0'
	                  ? count_failure(table_get(&t->creds, ck, true, now), CRED_FREE, now)
	                  : 0;
	if (may_log(t, now)) {
		/* action: block_source (that address waits), known_networks_only (the user is
		 * under attack: only its known networks for a while), none. */
		if (sb > 0)
			log_event(LOG_WARNING, "auth_failure",
			          "interface=%s source=%s user=%.*s action=block_source wait=%u",
			          what, addr, THR_LOG_USER_MAX, user, sb);
		else if (cb > 0)
			log_event(
			    LOG_WARNING, "auth_failure",
			    "interface=%s source=%s user=%.*s action=known_networks_only wait=%u",
			    what, addr, THR_LOG_USER_MAX, user, cb);
		else
			log_event(LOG_INFO, "auth_failure",
			          "interface=%s source=%s user=%.*s action=none", what, addr,
			          THR_LOG_USER_MAX, user);
	}
	pthread_mutex_unlock(&t->mu);
}

void throttle_succeeded(struct throttle *t, const struct np_addr *src, const char *user,
                        int64_t now)
{
	uint8_t sk[16], kk[16];
	source_key(t, src, sk);
	known_key(t, user, src, kk);
	pthread_mutex_lock(&t->mu);
	struct thr_entry *s = table_get(&t->sources, sk, false, now);
	if (s != NULL)
		memset(s, 0, sizeof(*s)); /* a free slot again */
	if (user[0] != '\0') {
		struct thr_entry *k = table_get(&t->known, kk, true, now);
		k->window_ms = now; /* known since */
	}
	pthread_mutex_unlock(&t->mu);
}
