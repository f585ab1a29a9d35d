/* SPDX-License-Identifier: MIT */
/* DNS over TCP: one epoll thread for every listener. Pipelined queries are answered in
 * order; a connection cap, an idle timeout and a per-message deadline keep slow or idle
 * clients from holding resources. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "common/log.h"
#include "common/util.h"
#include "ns/query.h"
#include "server/server.h"

#define TCP_MSG_MAX  (2 + DNS_MAX_MSG)
#define TCP_TX_CAP   (2 * TCP_MSG_MAX) /* room for one more answer while one is pending */
#define TCP_EVENTS   64
#define TCP_TICK_MS  200

struct tcp_conn {
	int fd;
	int64_t last_io_ms;   /* idle timeout counts from here */
	int64_t msg_start_ms; /* a started message must be complete in time: no drip-feeding */
	size_t rx_len;
	size_t tx_len, tx_off;
	bool peer_closed;
	struct tcp_conn *prev, *next;
	uint8_t rx[TCP_MSG_MAX];
	uint8_t tx[TCP_TX_CAP];
};

struct tcp_server {
	struct dns_server *srv;
	int epfd;
	int listeners[CFG_MAX_LISTEN];
	unsigned n_listeners;
	struct tcp_conn *conns; /* every open connection, for the timeout sweep */
	unsigned n_conns;
	pthread_t thread;
	bool started;
};

/* epoll data: listeners are tagged by their index, connections by their pointer. */
#define LISTENER_TAG(i) ((uint64_t)(i) | (1ULL << 63))

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

int server__tcp_bind(struct dns_server *s)
{
	struct tcp_server *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NP_ENOMEM;
	t->srv = s;
	s->tcp = t;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	for (unsigned i = 0; i < s->cfg->n_dns_listen; i++) {
		const struct cfg_listen *l = &s->cfg->dns_listen[i];
		int fd = open_listener(l);
		if (fd < 0) {
			log_err("dns: cannot listen on TCP %s: %s", l->text, np_strerror(fd));
			return fd;
		}
		t->listeners[t->n_listeners++] = fd;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LISTENER_TAG(i)};
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			return -errno;
	}
	return NP_OK;
}

static void conn_close(struct tcp_server *t, struct tcp_conn *c)
{
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	t->n_conns--;
	free(c);
}

static void accept_all(struct tcp_server *t, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (t->n_conns >= t->srv->cfg->tcp_max_connections) {
			/* Over the cap: refuse at once rather than let the backlog fill. */
			close(fd);
			continue;
		}
		struct tcp_conn *c = malloc(sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last_io_ms = time_mono_ms();
		c->msg_start_ms = 0;
		c->rx_len = c->tx_len = c->tx_off = 0;
		c->peer_closed = false;
		c->prev = NULL;
		c->next = t->conns;
		if (t->conns != NULL)
			t->conns->prev = c;
		t->conns = c;
		t->n_conns++;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			conn_close(t, c);
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
	c->tx_off = c->tx_len = 0;
	return true;
}

/* Answers every complete message in rx while there is room for an answer. Returns false
 * when the connection must be closed (a response sent as a query, a short message). */
static bool answer_pending(struct tcp_server *t, struct tcp_conn *c, const struct zone_db *db)
{
	struct dns_answer_opts opts = {.tcp = true, .udp_max = (uint16_t)t->srv->cfg->edns_udp_size};
	size_t pos = 0;
	bool ok = true;
	while (c->rx_len - pos >= 2 && TCP_TX_CAP - c->tx_len >= TCP_MSG_MAX) {
		size_t mlen = ((size_t)c->rx[pos] << 8) | c->rx[pos + 1];
		if (c->rx_len - pos - 2 < mlen)
			break;
		size_t alen = db == NULL ? 0
					 : dns_answer(db, c->rx + pos + 2, mlen, c->tx + c->tx_len + 2,
						      DNS_MAX_MSG, &opts);
		pos += 2 + mlen;
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

static void conn_event(struct tcp_server *t, struct tcp_conn *c, uint32_t events)
{
	bool ok = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		ok = read_some(c);
	/* Answer and write until everything is answered or the socket is full. */
	while (ok) {
		rcu_thread_online();
		ok = answer_pending(t, c, rcu_dereference(t->srv->db));
		rcu_thread_offline();
		if (ok)
			ok = flush(c);
		if (!ok || c->tx_len > 0 || !has_complete_msg(c))
			break;
	}
	/* A peer that half-closed gets its answers, then the connection ends. */
	if (ok && c->peer_closed && c->tx_len == 0)
		ok = false;
	if (!ok) {
		conn_close(t, c);
		return;
	}
	/* While answers are pending, wait for the socket to drain before reading more: a
	 * client that never reads cannot make us buffer without bound. */
	struct epoll_event ev = {.events = c->tx_len > 0 ? EPOLLOUT : EPOLLIN | EPOLLRDHUP,
				 .data.ptr = c};
	epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void sweep_timeouts(struct tcp_server *t)
{
	int64_t now = time_mono_ms();
	int64_t idle = (int64_t)t->srv->cfg->tcp_idle_timeout * 1000;
	struct tcp_conn *next;
	for (struct tcp_conn *c = t->conns; c != NULL; c = next) {
		next = c->next;
		bool idle_out = now - c->last_io_ms >= idle;
		bool slow_msg = c->msg_start_ms != 0 && now - c->msg_start_ms >= idle;
		if (idle_out || slow_msg)
			conn_close(t, c);
	}
}

static void *tcp_main(void *arg)
{
	struct tcp_server *t = arg;
	struct epoll_event evs[TCP_EVENTS];
	int64_t last_sweep = time_mono_ms();

	rcu_register_thread();
	rcu_thread_offline();
	while (!atomic_load_explicit(&t->srv->stop, memory_order_relaxed)) {
		int n = epoll_wait(t->epfd, evs, TCP_EVENTS, TCP_TICK_MS);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag & (1ULL << 63))
				accept_all(t, t->listeners[tag & 0xffff]);
			else
				conn_event(t, evs[i].data.ptr, evs[i].events);
		}
		if (time_mono_ms() - last_sweep >= TCP_TICK_MS) {
			sweep_timeouts(t);
			last_sweep = time_mono_ms();
		}
	}
	while (t->conns != NULL)
		conn_close(t, t->conns);
	rcu_unregister_thread();
	return NULL;
}

int server__tcp_start(struct dns_server *s)
{
	if (pthread_create(&s->tcp->thread, NULL, tcp_main, s->tcp) != 0)
		return NP_EFAILED;
	s->tcp->started = true;
	return NP_OK;
}

void server__tcp_stop(struct dns_server *s)
{
	struct tcp_server *t = s->tcp;
	if (t == NULL)
		return;
	if (t->started)
		pthread_join(t->thread, NULL);
	for (unsigned i = 0; i < t->n_listeners; i++)
		close(t->listeners[i]);
	if (t->epfd >= 0)
		close(t->epfd);
	free(t);
	s->tcp = NULL;
}
