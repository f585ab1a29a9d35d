/* SPDX-License-Identifier: MIT */
/* nameplated's DNS transports: UDP workers and the TCP loop, reading the zone_db that the
 * zone publisher (core/publish.h) publishes with RCU (liburcu QSBR flavour: readers pay
 * nothing per lookup and go "offline" whenever they block). Internal to nameplated. */
#ifndef NP_SERVER_SERVER_H
#define NP_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/config.h"
#include "ns/update.h"
#include "ns/xfr.h"
#include "zone/zone.h"

struct udp_worker;
struct tcp_server;

struct dns_server {
	const struct config *cfg;   /* the start-up config: listen addresses, limits */
	struct zone_db *db;         /* RCU-protected; written only by the publisher */
	atomic_bool stop;
	struct udp_worker *udp;     /* one per (listen address, worker) */
	unsigned n_udp;
	struct tcp_server *tcp;
	/* Zone transfers: the versions they stream from stay pinned here (the publisher
	 * looks before freeing), and the TSIG hooks (no key_check = signed requests are
	 * refused). Set before dns_server_start. */
	struct zone_pins pins;
	struct xfr_hooks xfr_hooks;
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

/* Internal to the transports. */
int server__udp_bind(struct dns_server *s) np_mustcheck;
int server__udp_start(struct dns_server *s) np_mustcheck;
void server__udp_stop(struct dns_server *s);
int server__tcp_bind(struct dns_server *s) np_mustcheck;
int server__tcp_start(struct dns_server *s) np_mustcheck;
void server__tcp_stop(struct dns_server *s);

#endif
