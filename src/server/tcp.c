/* SPDX-License-Identifier: MIT */
/* DNS over TCP: tcp_workers epoll threads share every listener (EPOLLEXCLUSIVE wakes one
 * of them per connection). Pipelined queries are answered in order; an idle timeout and a
 * per-message deadline keep slow clients from holding a connection, and two limits keep a
 * few addresses from holding them all: at most tcp_max_per_address connections from one
 * IPv4 address or IPv6 /64, and at most tcp_max_connections in all. When the server is
 * full, a new connection takes the place of the one idle longest in the whole server (no
 * query half-read, no answer unsent), as NSD and Knot do; only when none is idle is it
 * refused. The idle one may belong to another thread, so it is not closed but shut down:
 * its own thread then sees it end and closes it, and until then it does not count
 * against the cap. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/list.h"
#include "common/log.h"
#include "common/macros.h"
#include "ns/query.h"
#include "server/server.h"

#define TCP_MSG_MAX (2 + DNS_MAX_MSG)
#define TCP_TX_CAP  (2 * TCP_MSG_MAX) /* room for one more answer while one is pending */
#define TCP_EVENTS  64
#define TCP_TICK_MS 200
/* Transfer messages made for one connection before the thread turns to the others. */
#define TCP_XFR_BURST 4

/* Connections per source: one IPv4 address, or one IPv6 /64 (what one customer holds). */
struct tcp_source {
	struct np_addr key;
	unsigned n;
	struct tcp_source *next; /* in its bucket, or in the free list */
};

struct tcp_thread;
struct tcp_update;

struct tcp_conn {
	int fd;
	struct tcp_thread *th;
	struct tcp_source *src;
	struct np_addr peer;  /* for DNS Cookies, and who may transfer a zone */
	struct xfr *xfr;      /* a zone transfer being streamed, or NULL */
	int64_t last_io_ms;   /* idle timeout counts from here (reads, and answers sent whole) */
	int64_t msg_start_ms; /* a started message must be complete in time: no drip-feeding */
	size_t rx_len;
	size_t tx_len, tx_off;
	bool peer_closed;
	struct np_link in_thread; /* the owning thread's list, for its timeout sweep */
	/* Under the server's mutex: the server-wide list, most recently active first; whether
	 * the connection is idle (nothing half-read, nothing unsent); whether it was shut down
	 * to make room. */
	struct np_link in_server;
	bool idle, evicting;
	/* An UPDATE at the update service: nothing more is answered until it is, so answers
	 * stay in order. */
	struct tcp_update *update;
	uint8_t rx[TCP_MSG_MAX];
	uint8_t tx[TCP_TX_CAP];
};

struct tcp_thread {
	struct tcp_server *t;
	unsigned index;
	int epfd;
	struct np_list conns; /* its own connections */
	/* UPDATE answers come back from other threads: they are queued here and the eventfd
	 * wakes the thread, which alone may touch its connections. */
	int mbox_fd;
	pthread_mutex_t mbox_mu;
	struct tcp_update *mbox;
	struct dns_stats stats; /* its answers */
	_Atomic uint64_t accepted, refused;
	pthread_t thread;
	bool started;
};

struct tcp_server {
	struct dns_server *srv;
	int listeners[CFG_MAX_LISTEN];
	unsigned n_listeners;
	struct tcp_thread threads[CFG_TCP_WORKERS_MAX];
	unsigned n_threads;
	/* The connection counts, shared by the threads; taken only to accept and to close. */
	pthread_mutex_t mu;
	unsigned total;
	unsigned evicting; /* shut down to make room, not closed yet: not counted against the cap */
	struct np_list active;       /* every connection, most recently active first */
	struct tcp_source **buckets; /* keyed by a secret hash: no source can choose a bucket */
	size_t n_buckets;
	struct tcp_source *pool, *free_sources;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

/* epoll data: listeners are tagged by their index, the mailbox by a bit no pointer has,
 * connections by their pointer. */
#define LISTENER_TAG(i) ((uint64_t)(i) | (1ULL << 63))
#define MBOX_TAG        (1ULL << 62)

/* An UPDATE on its way to the update service and back. conn is NULL once the connection
 * closed; under the thread's mbox_mu, whoever sees that last frees the job. */
struct tcp_update {
	struct update_job job;
	struct tcp_thread *th;
	struct tcp_conn *conn;
	struct tcp_update *next; /* in the mailbox */
	size_t answer_len;
	uint8_t answer[UPDATE_ANSWER_MAX]; /* the update service's answer */
	uint8_t msg[];
};

static int open_listener(const struct cfg_listen *l)
{
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (l->addr.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, (const struct sockaddr *)&l->addr, l->len) != 0 || listen(fd, 128) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void source_key(const struct sockaddr_storage *ss, struct np_addr *key)
{
	memset(key, 0, sizeof(*key));
	if (addr_from_sockaddr((const struct sockaddr *)ss, key) != NP_OK)
		return; /* not IP: every such peer counts as one source */
	addr_network(key, 32, 64);
}

static struct tcp_source **source_slot(struct tcp_server *t, const struct np_addr *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const uint8_t *)key, sizeof(*key), t->hash_key);
	uint64_t v;
	memcpy(&v, h, sizeof(v));
	struct tcp_source **slot = &t->buckets[v & (t->n_buckets - 1)];
	while (*slot != NULL && memcmp(&(*slot)->key, key, sizeof(*key)) != 0)
		slot = &(*slot)->next;
	return slot;
}

/* Counts a new connection from key unless a limit says no; *full tells whether it was the
 * total (which room made elsewhere can cure) rather than the source's own cap. Under t->mu. */
static struct tcp_source *source_take(struct tcp_server *t, const struct np_addr *key, bool *full)
{
	const struct config *cfg = t->srv->cfg;
	struct tcp_source **slot = source_slot(t, key);
	struct tcp_source *src = *slot;
	*full = false;
	if (src != NULL && src->n >= cfg->tcp_max_per_address)
		return NULL;
	*full = t->total - t->evicting >= cfg->tcp_max_connections;
	if (*full)
		return NULL;
	if (src == NULL) {
		/* The pool has one entry per possible connection, so it cannot run out. */
		src = t->free_sources;
		t->free_sources = src->next;
		src->key = *key;
		src->n = 0;
		src->next = NULL;
		*slot = src;
	}
	src->n++;
	t->total++;
	return src;
}

/* Under t->mu. */
static void source_release(struct tcp_server *t, struct tcp_source *src)
{
	t->total--;
	if (--src->n == 0) {
		struct tcp_source **slot = source_slot(t, &src->key);
		*slot = src->next;
		src->next = t->free_sources;
		t->free_sources = src;
	}
}

int server__tcp_bind(struct dns_server *s)
{
	struct tcp_server *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NP_ENOMEM;
	t->srv = s;
	s->tcp = t;
	pthread_mutex_init(&t->mu, NULL);
	unsigned max = s->cfg->tcp_max_connections;
	t->n_buckets = 16;
	while (t->n_buckets < 2 * (size_t)max)
		t->n_buckets *= 2;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	t->pool = calloc(max, sizeof(*t->pool));
	if (t->buckets == NULL || t->pool == NULL)
		return NP_ENOMEM;
	for (unsigned i = 0; i < max; i++) {
		t->pool[i].next = t->free_sources;
		t->free_sources = &t->pool[i];
	}
	crypto_shorthash_keygen(t->hash_key);
	t->n_threads = s->cfg->tcp_workers;
	for (unsigned i = 0; i < t->n_threads; i++) {
		t->threads[i].t = t;
		t->threads[i].index = i;
		t->threads[i].epfd = epoll_create1(EPOLL_CLOEXEC);
		if (t->threads[i].epfd < 0)
			return -errno;
		pthread_mutex_init(&t->threads[i].mbox_mu, NULL);
		t->threads[i].mbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = MBOX_TAG};
		if (t->threads[i].mbox_fd < 0 ||
		    epoll_ctl(t->threads[i].epfd, EPOLL_CTL_ADD, t->threads[i].mbox_fd, &ev) != 0)
			return -errno;
	}
	for (unsigned i = 0; i < s->cfg->n_dns_listen; i++) {
		const struct cfg_listen *l = &s->cfg->dns_listen[i];
		int fd = open_listener(l);
		if (fd < 0) {
			log_err("dns: cannot listen on TCP %s: %s", l->text, np_strerror(fd));
			return fd;
		}
		t->listeners[t->n_listeners++] = fd;
		/* Every thread waits on every listener; EPOLLEXCLUSIVE wakes one per arrival. */
		for (unsigned k = 0; k < t->n_threads; k++) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
			                         .data.u64 = LISTENER_TAG(i)};
			if (epoll_ctl(t->threads[k].epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
				return -errno;
		}
	}
	return NP_OK;
}

/* Only the owning thread closes a connection. It leaves the server-wide list first, under
 * the mutex, so no other thread can pick it to shut down once its descriptor is closed. */
static void conn_close(struct tcp_thread *th, struct tcp_conn *c)
{
	struct tcp_server *t = th->t;
	pthread_mutex_lock(&t->mu);
	np_list_unlink(&t->active, &c->in_server);
	if (c->evicting)
		t->evicting--;
	source_release(t, c->src);
	pthread_mutex_unlock(&t->mu);
	epoll_ctl(th->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	xfr_end(c->xfr);
	np_list_unlink(&th->conns, &c->in_thread);
	if (c->update != NULL) {
		pthread_mutex_lock(&th->mbox_mu);
		c->update->conn = NULL; /* its answer, when it comes, is dropped */
		pthread_mutex_unlock(&th->mbox_mu);
	}
	free(c);
}

/* Shuts down the connection idle longest in the whole server, if any, to make room.
 * Under t->mu. */
static bool evict_idlest(struct tcp_server *t)
{
	for (struct np_link *l = t->active.tail; l != NULL; l = l->prev) {
		struct tcp_conn *c = container_of(l, struct tcp_conn, in_server);
		if (c->idle && !c->evicting) {
			c->evicting = true;
			t->evicting++;
			shutdown(c->fd, SHUT_RDWR);
			return true;
		}
	}
	return false;
}

/* Counts the new connection, making room by shutting down the idlest connection when the
 * server is full. NULL when a limit refuses it. Under t->mu. */
static struct tcp_source *admit(struct tcp_server *t, const struct np_addr *key)
{
	bool full;
	struct tcp_source *src = source_take(t, key, &full);
	if (src == NULL && full && evict_idlest(t))
		src = source_take(t, key, &full);
	return src;
}

static void accept_all(struct tcp_thread *th, int lfd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct np_addr key;
		source_key(&ss, &key);
		pthread_mutex_lock(&th->t->mu);
		struct tcp_source *src = admit(th->t, &key);
		pthread_mutex_unlock(&th->t->mu);
		/* Over a limit: refuse at once rather than let the backlog fill. */
		struct tcp_conn *c = src != NULL ? malloc(sizeof(*c)) : NULL;
		if (c == NULL) {
			if (src != NULL) {
				pthread_mutex_lock(&th->t->mu);
				source_release(th->t, src);
				pthread_mutex_unlock(&th->t->mu);
			}
			close(fd);
			dns_stat_inc(&th->refused);
			continue;
		}
		dns_stat_inc(&th->accepted);
		c->fd = fd;
		c->th = th;
		c->src = src;
		c->xfr = NULL;
		if (addr_from_sockaddr((struct sockaddr *)&ss, &c->peer) != NP_OK)
			memset(&c->peer, 0, sizeof(c->peer));
		c->last_io_ms = time_mono_ms();
		c->msg_start_ms = 0;
		c->rx_len = c->tx_len = c->tx_off = 0;
		c->peer_closed = false;
		c->idle = true;
		c->evicting = false;
		c->update = NULL;
		pthread_mutex_lock(&th->t->mu);
		np_list_push_front(&th->t->active, &c->in_server);
		pthread_mutex_unlock(&th->t->mu);
		np_list_push_front(&th->conns, &c->in_thread);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(th->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			conn_close(th, c);
	}
}

/* Writes what is pending. Returns false when the connection must be closed. */
static bool flush(struct tcp_conn *c)
{
	while (c->tx_off < c->tx_len) {
		ssize_t r = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		c->tx_off += (size_t)r;
	}
	/* Only a whole answer (a whole transfer message) sent counts as activity: a secondary
	 * pulling a big zone is not idle, but one that reads a byte now and then cannot hold
	 * a transfer, and the version it pins, for ever. */
	c->tx_off = c->tx_len = 0;
	c->last_io_ms = time_mono_ms();
	return true;
}

/* Called by the update service from any thread: hands the answer to the connection's
 * thread. */
static void update_reply(struct update_job *job, const uint8_t *answer, size_t len)
{
	struct tcp_update *u = container_of(job, struct tcp_update, job);
	struct tcp_thread *th = u->th;
	if (len > sizeof(u->answer))
		len = 0;
	memcpy(u->answer, answer, len);
	u->answer_len = len;
	pthread_mutex_lock(&th->mbox_mu);
	bool gone = u->conn == NULL;
	if (!gone) {
		u->next = th->mbox;
		th->mbox = u;
	}
	pthread_mutex_unlock(&th->mbox_mu);
	if (gone) {
		free(u);
		return;
	}
	uint64_t one = 1;
	(void)!write(th->mbox_fd, &one, sizeof(one));
}

/* Hands the UPDATE msg to the update service. When it is not taken, the answer is written
 * at once: NOTIMP without a service (0 returned: answer as usual), SERVFAIL when full. */
static size_t update_submit(struct tcp_conn *c, const uint8_t *msg, size_t len, uint8_t *ans)
{
	struct dns_server *s = c->th->t->srv;
	if (s->update_submit == NULL)
		return 0;
	struct tcp_update *u = malloc(sizeof(*u) + len);
	if (u != NULL) {
		memcpy(u->msg, msg, len);
		u->job = (struct update_job){
		    .msg = u->msg, .len = len, .tcp = true, .reply = update_reply};
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0 ||
		    addr_from_sockaddr((struct sockaddr *)&ss, &u->job.source) != NP_OK)
			memset(&u->job.source, 0, sizeof(u->job.source));
		u->th = c->th;
		u->conn = c;
		c->update = u;
		if (s->update_submit(s->update_ctx, &u->job))
			return SIZE_MAX; /* taken: the answer comes later */
		c->update = NULL;
		free(u);
	}
	return update_servfail(msg, ans);
}

/* Answers every complete message in rx while there is room for an answer and no UPDATE
 * is waiting for its own. A transfer request starts a transfer, and the queries after it
 * wait until it has ended. Returns false when the connection must be closed (a response
 * sent as a query, a short message). */
static bool answer_pending(const struct tcp_server *t, struct tcp_conn *c, const struct zone_db *db)
{
	struct dns_answer_info info;
	struct dns_answer_opts opts = {.tcp = true,
	                               .udp_max = (uint16_t)t->srv->cfg->edns_udp_size,
	                               .cookie_secret = t->srv->cookie_secret,
	                               .client = &c->peer,
	                               .now = (uint32_t)time(NULL),
	                               .info = &info};
	struct xfr_req req = {
	    .peer = &c->peer, .tcp = true, .hooks = &t->srv->xfr_hooks, .pins = &t->srv->pins};
	size_t pos = 0;
	bool ok = true;
	while (c->update == NULL && c->xfr == NULL && c->rx_len - pos >= 2 &&
	       TCP_TX_CAP - c->tx_len >= TCP_MSG_MAX) {
		size_t mlen = ((size_t)c->rx[pos] << 8) | c->rx[pos + 1];
		if (c->rx_len - pos - 2 < mlen)
			break;
		const uint8_t *msg = c->rx + pos + 2;
		size_t alen = update_is_update(msg, mlen)
		                  ? update_submit(c, msg, mlen, c->tx + c->tx_len + 2)
		                  : 0;
		if (alen == SIZE_MAX) {
			pos += 2 + mlen;
			break;
		}
		uint8_t *out = c->tx + c->tx_len + 2;
		bool tsig_seen = false;
		opts.tsig_seen = &tsig_seen;
		if (alen == 0 && db != NULL &&
		    xfr_begin(db, msg, mlen, &req, out, DNS_MAX_MSG, &alen, &c->xfr) == XFR_NOT) {
			alen = dns_answer(db, msg, mlen, out, DNS_MAX_MSG, &opts);
			/* A signed query goes to the service that holds the keys, like an
			 * UPDATE; without one, the answer made here (BADKEY) is sent. */
			size_t sub = tsig_seen ? update_submit(c, msg, mlen, out) : 0;
			if (sub == SIZE_MAX) {
				pos += 2 + mlen;
				break;
			}
			if (sub != 0)
				alen = sub;
			else if (alen != 0)
				server__count_answer(&c->th->stats, out, info.qtype);
		}
		pos += 2 + mlen;
		if (c->xfr != NULL)
			break; /* its messages come from xfr_produce */
		if (alen == 0) {
			ok = false;
			break;
		}
		c->tx[c->tx_len] = (uint8_t)(alen >> 8);
		c->tx[c->tx_len + 1] = (uint8_t)alen;
		c->tx_len += 2 + alen;
	}
	if (pos > 0) {
		memmove(c->rx, c->rx + pos, c->rx_len - pos);
		c->rx_len -= pos;
		/* The deadline of a message starts with its first byte, not its last. */
		c->msg_start_ms = c->rx_len > 0 ? time_mono_ms() : 0;
	}
	return ok;
}

/* Makes the transfer's next message if there is room for it. Returns false when the
 * transfer failed (the connection is closed then). */
static bool xfr_produce(struct tcp_conn *c)
{
	if (TCP_TX_CAP - c->tx_len < TCP_MSG_MAX)
		return true;
	bool done = false;
	size_t len = xfr_next(c->xfr, c->tx + c->tx_len + 2, DNS_MAX_MSG, &done);
	if (len == 0)
		return false;
	c->tx[c->tx_len] = (uint8_t)(len >> 8);
	c->tx[c->tx_len + 1] = (uint8_t)len;
	c->tx_len += 2 + len;
	if (done) {
		xfr_end(c->xfr);
		c->xfr = NULL;
	}
	return true;
}

static bool has_complete_msg(const struct tcp_conn *c)
{
	return c->rx_len >= 2 && c->rx_len - 2 >= (((size_t)c->rx[0] << 8) | c->rx[1]);
}

/* Reads what the socket has. Returns false on a connection error. */
static bool read_some(struct tcp_conn *c)
{
	while (c->rx_len < sizeof(c->rx)) {
		ssize_t r = recv(c->fd, c->rx + c->rx_len, sizeof(c->rx) - c->rx_len, 0);
		if (r == 0) {
			c->peer_closed = true;
			return true;
		}
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		if (c->rx_len == 0)
			c->msg_start_ms = time_mono_ms();
		c->rx_len += (size_t)r;
		c->last_io_ms = time_mono_ms();
	}
	return true;
}

static void conn_event(struct tcp_thread *th, struct tcp_conn *c, uint32_t events)
{
	struct tcp_server *t = th->t;
	bool ok = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		ok = read_some(c);
	/* Answer and write until everything is answered or the socket is full. A transfer
	 * makes a few messages at a time, then lets the thread's other connections have
	 * their turn (epoll reports its socket writable again at once). */
	unsigned burst = TCP_XFR_BURST;
	while (ok) {
		rcu_thread_online();
		ok = answer_pending(t, c, rcu_dereference(t->srv->db));
		rcu_thread_offline();
		if (ok && c->xfr != NULL && burst > 0) {
			burst--;
			ok = xfr_produce(c);
		}
		if (ok)
			ok = flush(c);
		if (!ok || c->tx_len > 0 || c->update != NULL)
			break;
		if (c->xfr != NULL ? burst == 0 : !has_complete_msg(c))
			break;
	}
	/* A peer that half-closed gets its answers, then the connection ends. */
	if (ok && c->peer_closed && c->tx_len == 0 && c->update == NULL && c->xfr == NULL)
		ok = false;
	if (!ok) {
		conn_close(th, c);
		return;
	}
	/* The most recently active connection goes first: eviction takes from the end. */
	pthread_mutex_lock(&t->mu);
	c->idle = c->rx_len == 0 && c->tx_len == 0 && c->update == NULL && c->xfr == NULL;
	np_list_to_front(&t->active, &c->in_server);
	pthread_mutex_unlock(&t->mu);
	/* While answers are pending, wait for the socket to drain before reading more: a
	 * client that never reads cannot make us buffer without bound. */
	bool writing = c->tx_len > 0 || c->xfr != NULL;
	struct epoll_event ev = {.events = writing ? EPOLLOUT : EPOLLIN | EPOLLRDHUP,
	                         .data.ptr = c};
	epoll_ctl(th->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The UPDATE answers the update service sent back: each goes out on its connection, which
 * then goes on with what it sent since. */
static void mbox_drain(struct tcp_thread *th)
{
	uint64_t n;
	(void)!read(th->mbox_fd, &n, sizeof(n));
	pthread_mutex_lock(&th->mbox_mu);
	struct tcp_update *list = th->mbox;
	th->mbox = NULL;
	pthread_mutex_unlock(&th->mbox_mu);
	while (list != NULL) {
		struct tcp_update *u = list;
		list = u->next;
		pthread_mutex_lock(&th->mbox_mu);
		struct tcp_conn *c = u->conn;
		pthread_mutex_unlock(&th->mbox_mu);
		if (c != NULL) {
			c->update = NULL;
			if (u->answer_len > 0) { /* room was kept when the UPDATE was taken */
				c->tx[c->tx_len] = (uint8_t)(u->answer_len >> 8);
				c->tx[c->tx_len + 1] = (uint8_t)u->answer_len;
				memcpy(c->tx + c->tx_len + 2, u->answer, u->answer_len);
				c->tx_len += 2 + u->answer_len;
			}
			c->last_io_ms = time_mono_ms();
		}
		free(u);
		if (c != NULL)
			conn_event(th, c, 0);
	}
}

static void sweep_timeouts(struct tcp_thread *th)
{
	int64_t now = time_mono_ms();
	int64_t idle = (int64_t)th->t->srv->cfg->tcp_idle_timeout * 1000;
	struct np_link *next;
	for (struct np_link *l = th->conns.head; l != NULL; l = next) {
		next = l->next;
		struct tcp_conn *c = container_of(l, struct tcp_conn, in_thread);
		bool idle_out = now - c->last_io_ms >= idle;
		bool slow_msg = c->msg_start_ms != 0 && now - c->msg_start_ms >= idle;
		if (idle_out || slow_msg)
			conn_close(th, c);
	}
}

static void *tcp_main(void *arg)
{
	struct tcp_thread *th = arg;
	struct tcp_server *t = th->t;
	struct epoll_event evs[TCP_EVENTS];
	int64_t last_sweep = time_mono_ms();

	rcu_register_thread();
	rcu_thread_offline();
	while (!atomic_load_explicit(&t->srv->stop, memory_order_relaxed)) {
		int n = epoll_wait(th->epfd, evs, TCP_EVENTS, TCP_TICK_MS);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag & (1ULL << 63))
				accept_all(th, t->listeners[tag & 0xffff]);
			else if (tag == MBOX_TAG)
				mbox_drain(th);
			else
				conn_event(th, evs[i].data.ptr, evs[i].events);
		}
		if (time_mono_ms() - last_sweep >= TCP_TICK_MS) {
			sweep_timeouts(th);
			last_sweep = time_mono_ms();
		}
	}
	while (th->conns.head != NULL)
		conn_close(th, container_of(th->conns.head, struct tcp_conn, in_thread));
	rcu_unregister_thread();
	return NULL;
}

void server__tcp_stats(struct dns_server *s, struct dns_stats *sum, uint64_t *accepted,
                       uint64_t *refused, unsigned *open)
{
	struct tcp_server *t = s->tcp;
	if (t == NULL)
		return;
	for (unsigned i = 0; i < t->n_threads; i++) {
		server__stats_add(sum, &t->threads[i].stats);
		*accepted += atomic_load(&t->threads[i].accepted);
		*refused += atomic_load(&t->threads[i].refused);
	}
	pthread_mutex_lock(&t->mu);
	*open = t->total;
	pthread_mutex_unlock(&t->mu);
}

int server__tcp_start(struct dns_server *s)
{
	struct tcp_server *t = s->tcp;
	for (unsigned i = 0; i < t->n_threads; i++) {
		struct tcp_thread *th = &t->threads[i];
		if (pthread_create(&th->thread, NULL, tcp_main, th) != 0)
			return NP_EFAILED;
		th->started = true;
		char name[16]; /* a thread name holds 15 characters: CFG_TCP_WORKERS_MAX fits */
		snprintf(name, sizeof(name), "dns-tcp%u", i % 100u);
		pthread_setname_np(th->thread, name);
	}
	return NP_OK;
}

void server__tcp_stop(struct dns_server *s)
{
	struct tcp_server *t = s->tcp;
	if (t == NULL)
		return;
	for (unsigned i = 0; i < t->n_threads; i++) {
		struct tcp_thread *th = &t->threads[i];
		if (th->started)
			pthread_join(th->thread, NULL);
		if (th->epfd > 0)
			close(th->epfd);
		/* The update service stopped first: whatever it answered last is dropped. */
		while (th->mbox != NULL) {
			struct tcp_update *u = th->mbox;
			th->mbox = u->next;
			free(u);
		}
		if (th->mbox_fd > 0)
			close(th->mbox_fd);
		pthread_mutex_destroy(&th->mbox_mu);
	}
	for (unsigned i = 0; i < t->n_listeners; i++)
		close(t->listeners[i]);
	free(t->buckets);
	free(t->pool);
	pthread_mutex_destroy(&t->mu);
	free(t);
	s->tcp = NULL;
}
