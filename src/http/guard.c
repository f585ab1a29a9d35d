/* SPDX-License-Identifier: MIT */
/* The HTTP connection guard: what libmicrohttpd's own limits leave open to a slow client.
 *
 * libmicrohttpd's timeout counts inactivity, so a client that sends one header byte a
 * second holds its connection forever, and a few dozen addresses doing that hold every
 * connection (slowloris). The guard bounds two things:
 *  - time: a request's line and headers must arrive within request_timeout of the moment
 *    the connection opened or the previous answer was sent, and its body, if any, within
 *    request_timeout more plus a second per GUARD_BODY_MIN_RATE bytes it announced (a
 *    4 MiB sensor batch may take four minutes, not forever). Once the request is in,
 *    waiting for the writer and sending the answer are not counted.
 *  - place: at most per_net_connections connections from one IPv4 /24 or IPv6 /48 (a
 *    trusted proxy is exempt), beside libmicrohttpd's per-address and total limits.
 * A connection over either is cut with shutdown(2): libmicrohttpd then sees it end and
 * closes it the usual way. That is safe against the descriptor being reused because
 * libmicrohttpd reports the close (here, under the same lock) before it closes the
 * descriptor. */
#include "http/guard.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/list.h"
#include "common/log.h"
#include "common/macros.h"

#define GUARD_TICK_MS   250
#define GUARD_LOG_EVERY 10000 /* ms between two log lines about cut connections */
#define GUARD_BODY_MIN_RATE (16 * 1024) /* bytes a second a body may not arrive slower than */

struct guard_net {
	struct np_addr key;
	unsigned n;
	struct guard_net *next;
};

struct guard_conn {
	int fd;
	int64_t since_ms; /* when the request (or its body) now arriving started */
	int64_t limit_ms; /* how long it may take from there */
	bool arriving;    /* a request is on its way: the deadline runs */
	bool cut;
	struct guard_net *net; /* NULL for a trusted proxy */
	struct np_link link;
};

struct http_guard {
	const struct config *cfg;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	bool stop;
	pthread_t thread;
	struct np_list conns;
	struct guard_net **buckets; /* keyed by a secret hash: no client can choose a bucket */
	size_t n_buckets;
	uint8_t key[crypto_shorthash_KEYBYTES];
	/* What was cut since the last log line, logged at most every GUARD_LOG_EVERY ms. */
	unsigned cut_slow, cut_net;
	int64_t logged_ms;
};

static struct guard_net **net_slot(struct http_guard *g, const struct np_addr *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const uint8_t *)key, sizeof(*key), g->key);
	uint64_t v;
	memcpy(&v, h, sizeof(v));
	struct guard_net **slot = &g->buckets[v & (g->n_buckets - 1)];
	while (*slot != NULL && memcmp(&(*slot)->key, key, sizeof(*key)) != 0)
		slot = &(*slot)->next;
	return slot;
}

/* Under g->mu. */
static void net_release(struct http_guard *g, struct guard_net *net)
{
	if (net == NULL || --net->n > 0)
		return;
	struct guard_net **slot = net_slot(g, &net->key);
	*slot = net->next;
	free(net);
}

/* Logs what was cut, at most every GUARD_LOG_EVERY ms. Under g->mu. */
static void log_cuts(struct http_guard *g, int64_t now)
{
	if (g->cut_slow + g->cut_net == 0 || now - g->logged_ms < GUARD_LOG_EVERY)
		return;
	/* slow: the request did not arrive within request_timeout; per_net: over
	 * per_net_connections for one IPv4 /24 or IPv6 /48. */
	log_event(LOG_WARNING, "http_cut",
	          "slow=%u request_timeout=%u per_net=%u per_net_connections=%u", g->cut_slow,
	          g->cfg->http_request_timeout, g->cut_net, g->cfg->http_per_net_connections);
	g->cut_slow = g->cut_net = 0;
	g->logged_ms = now;
}

static void cut(struct guard_conn *gc)
{
	if (!gc->cut)
		shutdown(gc->fd, SHUT_RDWR);
	gc->cut = true;
}

static void started(struct http_guard *g, struct MHD_Connection *c, void **socket_context)
{
	const union MHD_ConnectionInfo *fdi =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct guard_conn *gc = calloc(1, sizeof(*gc));
	if (gc == NULL || fdi == NULL) {
		/* Without its record the connection cannot be watched: it is not served. */
		if (fdi != NULL)
			shutdown(fdi->connect_fd, SHUT_RDWR);
		free(gc);
		return;
	}
	gc->fd = fdi->connect_fd;
	gc->since_ms = time_mono_ms();
	gc->limit_ms = (int64_t)g->cfg->http_request_timeout * 1000;
	gc->arriving = true;
	struct np_addr a;
	bool counted = ai != NULL && addr_from_sockaddr(ai->client_addr, &a) == NP_OK &&
	               !config_trusted_proxy(g->cfg, &a);

	pthread_mutex_lock(&g->mu);
	if (counted) {
		/* The network: an IPv4 /24, an IPv6 /48 (what one site is given). */
		addr_network(&a, 24, 48);
		struct guard_net **slot = net_slot(g, &a);
		if (*slot == NULL && (*slot = calloc(1, sizeof(**slot))) != NULL)
			(*slot)->key = a;
		gc->net = *slot;
		if (gc->net == NULL) {
			cut(gc);
		} else if (++gc->net->n > g->cfg->http_per_net_connections) {
			cut(gc);
			g->cut_net++;
		}
	}
	np_list_push_front(&g->conns, &gc->link);
	log_cuts(g, gc->since_ms);
	pthread_mutex_unlock(&g->mu);
	*socket_context = gc;
}

static void closed(struct http_guard *g, void **socket_context)
{
	struct guard_conn *gc = *socket_context;
	if (gc == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	np_list_unlink(&g->conns, &gc->link);
	net_release(g, gc->net);
	pthread_mutex_unlock(&g->mu);
	free(gc);
	*socket_context = NULL;
}

void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		started(cls, c, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		closed(cls, socket_context);
}

static struct guard_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return i != NULL ? i->socket_context : NULL;
}

void http_guard_received(struct http_guard *g, struct MHD_Connection *c)
{
	struct guard_conn *gc = conn_of(c);
	if (gc == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	gc->arriving = false;
	pthread_mutex_unlock(&g->mu);
}

void http_guard_answered(struct http_guard *g, struct MHD_Connection *c)
{
	struct guard_conn *gc = conn_of(c);
	if (gc == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	gc->arriving = true;
	gc->since_ms = time_mono_ms();
	gc->limit_ms = (int64_t)g->cfg->http_request_timeout * 1000;
	pthread_mutex_unlock(&g->mu);
}

void http_guard_body(struct http_guard *g, struct MHD_Connection *c, size_t len)
{
	struct guard_conn *gc = conn_of(c);
	if (gc == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	gc->since_ms = time_mono_ms();
	gc->limit_ms = (int64_t)g->cfg->http_request_timeout * 1000 +
	               (int64_t)(len / GUARD_BODY_MIN_RATE) * 1000;
	pthread_mutex_unlock(&g->mu);
}

static void *sweeper(void *arg)
{
	struct http_guard *g = arg;
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->mu, &ts);
		int64_t now = time_mono_ms();
		for (struct np_link *l = g->conns.head; l != NULL; l = l->next) {
			struct guard_conn *gc = container_of(l, struct guard_conn, link);
			if (gc->arriving && !gc->cut && now - gc->since_ms >= gc->limit_ms) {
				cut(gc);
				g->cut_slow++;
			}
		}
		log_cuts(g, now);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int http_guard_new(struct http_guard **out, const struct config *cfg)
{
	struct http_guard *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NP_ENOMEM;
	g->cfg = cfg;
	g->n_buckets = 64;
	while (g->n_buckets < 2 * (size_t)cfg->http_max_connections * cfg->n_http_listen)
		g->n_buckets *= 2;
	g->buckets = calloc(g->n_buckets, sizeof(*g->buckets));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&g->mu, NULL);
	crypto_shorthash_keygen(g->key);
	if (g->buckets == NULL || pthread_create(&g->thread, NULL, sweeper, g) != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->mu);
		free(g->buckets);
		free(g);
		return NP_ENOMEM;
	}
	*out = g;
	return NP_OK;
}

void http_guard_free(struct http_guard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	/* Called after every daemon stopped: each connection has reported its close. */
	for (size_t i = 0; i < g->n_buckets; i++) {
		struct guard_net *n = g->buckets[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			free(n);
		}
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->mu);
	free(g->buckets);
	free(g);
}
