/* SPDX-License-Identifier: MIT */
/* Response rate limiting (the idea of BIND's, Knot's and NSD's RRL): UDP answers to one
 * client network (an IPv4 /24, an IPv6 /56 by default) of one kind under one name (the
 * question for answers and NODATA, the zone for NXDOMAIN, nothing for errors) are limited to
 * `rate` a second, so the server cannot be used to flood a victim whose address a
 * spoofed query carries. Past the limit, every `slip`-th answer goes out truncated (TC=1,
 * no records: a real client retries over TCP, which cannot be spoofed) and the others are
 * dropped. A client that returns a valid server cookie (ns/cookie.h) is not limited: it
 * proved that the answers reach it.
 *
 * The table has a fixed number of buckets, keyed by a secret hash (nobody can aim at a
 * bucket); a bucket holds one key at a time, and another key landing there starts it again
 * (as the tables of BIND and Knot do when full). Each bucket is one atomic 64-bit word changed
 * by compare-and-swap: the UDP workers share the table and none ever waits for another. */
#ifndef NP_NS_RRL_H
#define NP_NS_RRL_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/err.h"
#include "ns/query.h"

enum rrl_action {
	RRL_SEND,  /* within the limit */
	RRL_SLIP,  /* over it: send the answer truncated */
	RRL_DROP,  /* over it: send nothing */
};

struct rrl;

/* A limiter of `rate` answers a second per bucket (0: off, rrl_account always RRL_SEND),
 * slipping one in `slip` (0: never, 1: always), counting IPv4 clients per v4_prefix and
 * IPv6 per v6_prefix bits, with `buckets` buckets (a power of two). */
int rrl_new(struct rrl **out, unsigned rate, unsigned slip, unsigned v4_prefix,
            unsigned v6_prefix, size_t buckets) np_mustcheck;
void rrl_free(struct rrl *r);

/* Counts an answer of info to client at now (seconds) and says what to do with it. */
enum rrl_action rrl_account(struct rrl *r, const struct np_addr *client,
                            const struct dns_answer_info *info, int64_t now);

/* rrl_account in two steps, so that a batch of answers can have all its buckets on the
 * way into the cache before it counts the first: rrl_prepare returns the answer's bucket
 * key and prefetches the bucket; rrl_account_key counts the answer under that key (with
 * the same client and info) and says what to do with it. */
uint64_t rrl_prepare(struct rrl *r, const struct np_addr *client,
                     const struct dns_answer_info *info);
enum rrl_action rrl_account_key(struct rrl *r, uint64_t key, const struct np_addr *client,
                                const struct dns_answer_info *info, int64_t now);

/* The bucket arithmetic, pure (rrl_account applies it atomically; tests call it directly).
 * rrl_step: given a bucket's word, the key's hash, the second now, rate and slip, says
 * in *act what to do with one more answer and returns the bucket's next word.
 * rrl_word packs a word (each field cut to its width); rrl_word_count reads its count. */
uint64_t rrl_step(uint64_t word, uint64_t key, int64_t now, unsigned rate, unsigned slip,
                  enum rrl_action *act);
uint64_t rrl_word(uint32_t tag, uint32_t second, uint32_t count);
uint32_t rrl_word_count(uint64_t word);

/* Cuts the answer in resp (len bytes) to its header and question with TC=1, as a slipped
 * answer goes out. Returns the new length. */
size_t rrl_truncate(uint8_t *resp, size_t len, const struct dns_answer_info *info);

#endif
