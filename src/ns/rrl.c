/* SPDX-License-Identifier: MIT */
/* Response rate limiting: a token bucket per (client network, kind, name), lock-free.
 *
 * Each bucket is one 64-bit atomic word updated with compare-and-swap, so a UDP worker never
 * waits for another: a failed exchange means another worker's succeeded, and the loop
 * retries on the fresh value (lock-free, and the count stays exact). */
#include "ns/rrl.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dns/msg.h"

/* The word: | tag (20 bits) | second (20 bits) | count (24 bits) |.
 * tag: the top bits of the key's hash (the bucket index takes the low bits), so another key
 *   landing in the bucket takes it over (its count starts again), except one time in a
 *   million when the tags are equal: then the two share a limit, which only makes it
 *   stricter.
 * second: the low bits of the second the count belongs to; only equality counts, so a bucket
 *   left alone for a multiple of 2^20 s (12 days) and hit again in that same second keeps
 *   its old count for that second.
 * count: answers counted this second, sent or not. rrl_rate is at most 1,000,000 (config),
 *   below the 2^24 the field holds. */
#define RRL_COUNT_BITS  24
#define RRL_SECOND_BITS 20
#define RRL_TAG_BITS    20
#define RRL_COUNT_MAX   ((UINT64_C(1) << RRL_COUNT_BITS) - 1)
#define RRL_SECOND_MASK ((UINT64_C(1) << RRL_SECOND_BITS) - 1)
#define RRL_TAG_MASK    ((UINT64_C(1) << RRL_TAG_BITS) - 1)

/* Seconds between two log lines about limiting: a flood from many spoofed networks starts
 * limiting in many buckets each second, and the log must not become the flood. */
#define RRL_LOG_EVERY 10

_Static_assert(RRL_COUNT_BITS + RRL_SECOND_BITS + RRL_TAG_BITS == 64, "the word is full");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

struct rrl {
	unsigned rate, slip, v4_prefix, v6_prefix;
	size_t mask;
	_Atomic uint64_t *b;
	/* Limiting that began in a bucket, for the log: how often since the last line, and
	 * the second before which no line is written. */
	_Atomic uint64_t starts;
	_Atomic int64_t log_after;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

uint64_t rrl_word(uint32_t tag, uint32_t second, uint32_t count)
{
	return ((uint64_t)(tag & RRL_TAG_MASK) << (RRL_SECOND_BITS + RRL_COUNT_BITS)) |
	       ((uint64_t)(second & RRL_SECOND_MASK) << RRL_COUNT_BITS) |
	       ((uint64_t)count & RRL_COUNT_MAX);
}

uint32_t rrl_word_count(uint64_t word)
{
	return (uint32_t)(word & RRL_COUNT_MAX);
}

uint64_t rrl_step(uint64_t word, uint64_t key, int64_t now, unsigned rate, unsigned slip,
                  enum rrl_action *act)
{
	uint64_t tag = key >> (64 - RRL_TAG_BITS);
	uint64_t second = (uint64_t)now & RRL_SECOND_MASK;
	uint64_t head = rrl_word((uint32_t)tag, (uint32_t)second, 0);
	/* A new second (or a new key in this bucket): a full second's worth again. */
	uint64_t count = (word & ~RRL_COUNT_MAX) == head ? word & RRL_COUNT_MAX : 0;
	if (count < rate) {
		*act = RRL_SEND;
		return head | (count + 1);
	}
	uint64_t limited = count - rate + 1; /* this one included */
	*act = slip != 0 && limited % slip == 0 ? RRL_SLIP : RRL_DROP;
	/* At the field's end the limited count starts again over the limit: still limited,
	 * and slip keeps alternating. */
	return head | (count + 1 > RRL_COUNT_MAX ? rate : count + 1);
}

int rrl_new(struct rrl **out, unsigned rate, unsigned slip, unsigned v4_prefix, unsigned v6_prefix,
            size_t buckets)
{
	if (buckets == 0 || (buckets & (buckets - 1)) != 0 || v4_prefix > 32 || v6_prefix > 128 ||
	    rate >= RRL_COUNT_MAX)
		return NP_EINVAL;
	struct rrl *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->b = calloc(buckets, sizeof(*r->b))) == NULL) {
		free(r);
		return NP_ENOMEM;
	}
	for (size_t i = 0; i < buckets; i++)
		atomic_init(&r->b[i], 0);
	atomic_init(&r->starts, 0);
	atomic_init(&r->log_after, 0);
	r->rate = rate;
	r->slip = slip;
	r->v4_prefix = v4_prefix;
	r->v6_prefix = v6_prefix;
	r->mask = buckets - 1;
	crypto_shorthash_keygen(r->key);
	*out = r;
	return NP_OK;
}

void rrl_free(struct rrl *r)
{
	if (r == NULL)
		return;
	free(r->b);
	free(r);
}

static const char *const kind_names[] = {
    [DNS_KIND_ANSWER] = "answer",
    [DNS_KIND_NODATA] = "nodata",
    [DNS_KIND_NXDOMAIN] = "nxdomain",
    [DNS_KIND_ERROR] = "error",
};

/* A bucket began limiting: one line, unless one was written in the last RRL_LOG_EVERY
 * seconds (then it is counted in the next). The thread that wins the exchange writes it,
 * the others go on at once. Like Knot's, the line is written by the worker that saw it. */
static void log_start(struct rrl *r, const struct np_addr *net, const struct dns_answer_info *info,
                      int64_t now)
{
	uint64_t starts = atomic_fetch_add_explicit(&r->starts, 1, memory_order_relaxed) + 1;
	int64_t after = atomic_load_explicit(&r->log_after, memory_order_relaxed);
	if (now < after ||
	    !atomic_compare_exchange_strong_explicit(&r->log_after, &after, now + RRL_LOG_EVERY,
	                                             memory_order_relaxed, memory_order_relaxed))
		return;
	atomic_fetch_sub_explicit(&r->starts, starts, memory_order_relaxed);
	char text[INET6_ADDRSTRLEN];
	addr_format(net, text, sizeof(text));
	log_event(
	    LOG_NOTICE, "rrl",
	    "action=limit network=%s/%u kind=%s qtype=%u rate=%u slip=%u buckets_limited=%llu",
	    text, net->family == AF_INET ? r->v4_prefix : r->v6_prefix,
	    (unsigned)info->kind < 4 ? kind_names[info->kind] : "?", info->qtype, r->rate, r->slip,
	    (unsigned long long)starts);
}

/* The bucket key of an answer: a keyed hash of the client's network, the answer's kind and
 * name, so nobody can aim at a bucket. */
static uint64_t bucket_key(const struct rrl *r, const struct np_addr *client,
                           const struct dns_answer_info *info, struct np_addr *net)
{
	struct {
		struct np_addr net;
		uint64_t name;
		uint32_t kind;
	} k;
	memset(&k, 0, sizeof(k));
	k.net = *client;
	addr_network(&k.net, r->v4_prefix, r->v6_prefix);
	k.kind = (uint32_t)info->kind;
	k.name = info->kind == DNS_KIND_ERROR ? 0 : info->name_hash;
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const uint8_t *)&k, sizeof(k), r->key);
	uint64_t key;
	memcpy(&key, h, sizeof(key));
	if (net != NULL)
		*net = k.net;
	return key;
}

static bool limited(const struct rrl *r, const struct dns_answer_info *info)
{
	return r->rate != 0 && !info->cookie_valid;
}

uint64_t rrl_prepare(struct rrl *r, const struct np_addr *client,
                     const struct dns_answer_info *info)
{
	if (!limited(r, info))
		return 0;
	uint64_t key = bucket_key(r, client, info, NULL);
	__builtin_prefetch(&r->b[(size_t)key & r->mask], 1);
	return key;
}

enum rrl_action rrl_account_key(struct rrl *r, uint64_t key, const struct np_addr *client,
                                const struct dns_answer_info *info, int64_t now)
{
	if (!limited(r, info))
		return RRL_SEND;
	/* Relaxed order: the word publishes nothing but itself. */
	_Atomic uint64_t *b = &r->b[(size_t)key & r->mask];
	uint64_t old = atomic_load_explicit(b, memory_order_relaxed);
	enum rrl_action act;
	for (;;) {
		uint64_t next = rrl_step(old, key, now, r->rate, r->slip, &act);
		if (atomic_compare_exchange_weak_explicit(b, &old, next, memory_order_relaxed,
		                                          memory_order_relaxed)) {
			if (act != RRL_SEND && rrl_word_count(next) == r->rate + 1) {
				/* The first limited this second: the network for the log line. */
				struct np_addr net;
				(void)bucket_key(r, client, info, &net);
				log_start(r, &net, info, now);
			}
			break;
		}
	}
	return act;
}

enum rrl_action rrl_account(struct rrl *r, const struct np_addr *client,
                            const struct dns_answer_info *info, int64_t now)
{
	if (!limited(r, info))
		return RRL_SEND;
	return rrl_account_key(r, bucket_key(r, client, info, NULL), client, info, now);
}

size_t rrl_truncate(uint8_t *resp, size_t len, const struct dns_answer_info *info)
{
	if (len < DNS_HDR_LEN || info->question_end < DNS_HDR_LEN || info->question_end > len)
		return len;
	resp[2] |= DNS_FLAG_TC >> 8;
	memset(resp + 6, 0, 6); /* no answer, authority or additional records */
	return info->question_end;
}
