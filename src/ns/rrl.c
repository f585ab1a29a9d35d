/* SPDX-License-Identifier: MIT */
/* Response rate limiting: a token bucket per (client network, kind, name). */
#include "ns/rrl.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"

#define RRL_STRIPES 64 /* locks, each over every 64th bucket */

struct bucket {
	uint64_t key;
	uint32_t last;  /* the second tokens were last topped up (wraps: only equality counts) */
	int32_t tokens; /* answers left this second; below 0: how many were limited */
};

struct rrl {
	unsigned rate, slip, v4_prefix, v6_prefix;
	size_t mask;
	struct bucket *b;
	pthread_mutex_t stripes[RRL_STRIPES];
	uint8_t key[crypto_shorthash_KEYBYTES];
};

int rrl_new(struct rrl **out, unsigned rate, unsigned slip, unsigned v4_prefix, unsigned v6_prefix,
            size_t buckets)
{
	if (buckets == 0 || (buckets & (buckets - 1)) != 0 || v4_prefix > 32 || v6_prefix > 128)
		return NP_EINVAL;
	struct rrl *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->b = calloc(buckets, sizeof(*r->b))) == NULL) {
		free(r);
		return NP_ENOMEM;
	}
	r->rate = rate;
	r->slip = slip;
	r->v4_prefix = v4_prefix;
	r->v6_prefix = v6_prefix;
	r->mask = buckets - 1;
	for (size_t i = 0; i < RRL_STRIPES; i++)
		pthread_mutex_init(&r->stripes[i], NULL);
	crypto_shorthash_keygen(r->key);
	*out = r;
	return NP_OK;
}

void rrl_free(struct rrl *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < RRL_STRIPES; i++)
		pthread_mutex_destroy(&r->stripes[i]);
	free(r->b);
	free(r);
}

enum rrl_action rrl_account(struct rrl *r, const struct np_addr *client,
                            const struct dns_answer_info *info, int64_t now)
{
	if (r->rate == 0 || info->cookie_valid)
		return RRL_SEND;
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

	size_t i = (size_t)key & r->mask;
	pthread_mutex_t *mu = &r->stripes[i % RRL_STRIPES];
	pthread_mutex_lock(mu);
	struct bucket *b = &r->b[i];
	if (b->key != key || b->last != (uint32_t)now) {
		/* A new second (or a new key in this bucket): a full second's worth again.
		 * What was limited in the last second is remembered by slip's count only. */
		b->key = key;
		b->last = (uint32_t)now;
		b->tokens = (int32_t)r->rate;
	}
	enum rrl_action act = RRL_SEND;
	if (b->tokens > 0) {
		b->tokens--;
	} else {
		if (b->tokens > INT32_MIN)
			b->tokens--;
		uint32_t limited = (uint32_t)(-(int64_t)b->tokens);
		act = r->slip != 0 && limited % r->slip == 0 ? RRL_SLIP : RRL_DROP;
	}
	pthread_mutex_unlock(mu);
	return act;
}

size_t rrl_truncate(uint8_t *resp, size_t len, const struct dns_answer_info *info)
{
	if (len < DNS_HDR_LEN || info->question_end < DNS_HDR_LEN || info->question_end > len)
		return len;
	resp[2] |= DNS_FLAG_TC >> 8;
	memset(resp + 6, 0, 6); /* no answer, authority or additional records */
	return info->question_end;
}
