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
 * bucket); two keys that share a bucket share its limit, which can only make the limit
 * stricter. Thread-safe: the UDP workers share it. */
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

/* Cuts the answer in resp (len bytes) to its header and question with TC=1, as a slipped
 * answer goes out. Returns the new length. */
size_t rrl_truncate(uint8_t *resp, size_t len, const struct dns_answer_info *info);

#endif
