/* SPDX-License-Identifier: MIT */
/* nameplated's DNS transports: UDP workers and the TCP loop, reading the zone_db that the
 * zone publisher (core/publish.h) publishes with RCU (liburcu QSBR flavour: readers pay
 * nothing per lookup and go "offline" whenever they block). Internal to nameplated. */
#ifndef NP_SERVER_SERVER_H
#define NP_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "ns/cookie.h"
#include "ns/query.h"
#include "ns/rrl.h"
#include "ns/update.h"
#include "zone/zone.h"

/* Rate-limit buckets: 2^18 of 16 bytes (4 MiB, resident only as they are used). */
#define DNS_RRL_BUCKETS (1u << 18)

struct udp_worker;
struct tcp_server;

struct dns_server {
	const struct config *cfg;   /* the start-up config: listen addresses, limits */
	struct zone_db *db;         /* RCU-protected; written only by the publisher */
	atomic_bool stop;
	struct udp_worker *udp;     /* one per (listen address, worker) */
	unsigned n_udp;
	struct tcp_server *tcp;
	struct rrl *rrl; /* UDP answers' rate limits, shared by the workers */
	uint8_t cookie_secret[COOKIE_SECRET_LEN]; /* random at start: cookies last one run */
	/* Where RFC 2136 UPDATE messages go (set before dns_server_start; NULL: NOTIMP). */
	update_submit_fn *update_submit;
	void *update_ctx;
};

/* Binds every UDP socket (SO_REUSEPORT, one per worker) and TCP listener of cfg.
 * Must run before privileges are dropped. Threads are not started yet. */
int dns_server_bind(struct dns_server *s, const struct config *cfg) np_mustcheck;
/* Starts the worker threads. */
int dns_server_start(struct dns_server *s) np_mustcheck;
/* Stops and joins every thread and closes the sockets. */
void dns_server_stop(struct dns_server *s);

/* What the transports count for the metrics (common/metrics.h): answers by rcode and by
 * type (DNS_STAT_TYPES), each counter written by one thread only. */
#define DNS_STAT_TYPES DNS_QTYPE_CLASSES
struct dns_stats {
	_Atomic uint64_t answers[16][DNS_STAT_TYPES];
	_Atomic uint64_t truncated;
	_Atomic uint64_t rrl_slipped, rrl_dropped;
};
/* One more, by the one thread that writes it: no locked instruction on the query path. */
static inline void dns_stat_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}
/* Counts an answer (resp: at least a header) to a question of qtype. */
void server__count_answer(struct dns_stats *st, const uint8_t *resp, uint16_t qtype);
/* Adds a transport's counters into sum (a scrape). */
void server__stats_add(struct dns_stats *sum, const struct dns_stats *st);
void server__udp_stats(struct dns_server *s, struct dns_stats *sum);
void server__tcp_stats(struct dns_server *s, struct dns_stats *sum, uint64_t *accepted,
		       uint64_t *refused, unsigned *open);

/* Internal to the transports. */
int server__udp_bind(struct dns_server *s) np_mustcheck;
int server__udp_start(struct dns_server *s) np_mustcheck;
void server__udp_stop(struct dns_server *s);
int server__tcp_bind(struct dns_server *s) np_mustcheck;
int server__tcp_start(struct dns_server *s) np_mustcheck;
void server__tcp_stop(struct dns_server *s);

#endif
