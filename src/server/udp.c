/* SPDX-License-Identifier: MIT */
/* DNS over UDP: one thread per (listen address, worker), each with its own SO_REUSEPORT
 * socket so the kernel spreads queries, fixed buffers, and recvmmsg/sendmmsg batches.
 *
 * A socket bound to a wildcard address (0.0.0.0, ::) learns the address each query came to
 * (IP_PKTINFO, IPV6_RECVPKTINFO) and answers from that address: a resolver drops an answer
 * from another address than it asked, and on a host with several addresses the kernel's
 * choice of source would often be another one. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "ns/query.h"
#include "server/pace.h"
#include "server/server.h"

/* Room for a burst under moderate load (the wait for more, server/pace.h, fills up to a
 * batch) in one system call each way. */
#define UDP_BATCH  64
#define UDP_RX_MAX 4096 /* larger queries are not legitimate; they arrive truncated */
#define UDP_TX_MAX 4096 /* edns_udp_size is at most 4096 */
/* Socket buffers for bursts: the default (~208 KiB) holds only a few hundred queries, and
 * a burst beyond that is dropped by the kernel before a worker sees it. */
#define UDP_SOCKBUF (1 << 20)

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
#define UDP_CTL_LEN CMSG_SPACE(sizeof(struct in6_pktinfo))

struct udp_worker {
	struct dns_server *srv;
	int fd;
	bool pktinfo; /* bound to a wildcard address: answers go out from the query's */
	struct dns_stats stats;
	pthread_t thread;
	bool started;
	struct udp_pace pace; /* the arrival rate, which sizes the wait for more */
	struct mmsghdr rx_msgs[UDP_BATCH];
	struct mmsghdr tx_msgs[UDP_BATCH];
	struct iovec rx_iov[UDP_BATCH];
	struct iovec tx_iov[UDP_BATCH];
	struct sockaddr_storage peers[UDP_BATCH];
	/* Received and sent control data, 8-byte aligned as cmsg needs. */
	uint64_t rx_ctl[UDP_BATCH][(UDP_CTL_LEN + 7) / 8];
	uint64_t tx_ctl[UDP_BATCH][(UDP_CTL_LEN + 7) / 8];
	/* Per answer of a batch, between making it and sending it. */
	struct dns_prefetch prefetch[UDP_BATCH];
	struct np_addr clients[UDP_BATCH];
	struct dns_answer_info infos[UDP_BATCH];
	uint64_t rrl_keys[UDP_BATCH];
	size_t lens[UDP_BATCH];
	uint8_t from[UDP_BATCH]; /* the query (rx index) an answer is for */
	uint8_t rx[UDP_BATCH][UDP_RX_MAX];
	uint8_t tx[UDP_BATCH][UDP_TX_MAX];
};

static unsigned worker_count(const struct config *cfg)
{
	if (cfg->dns_workers > 0)
		return cfg->dns_workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 && n < 64 ? (unsigned)n : 1;
}

/* Sets a socket buffer to UDP_SOCKBUF: the FORCE variant goes past net.core.[rw]mem_max
 * while we still hold CAP_NET_ADMIN (sockets are opened before privileges are dropped);
 * otherwise the plain one, which the kernel caps at that limit. Best effort either way. */
static void grow_buffer(int fd, int force_opt, int opt)
{
	int size = UDP_SOCKBUF;
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static bool wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int open_udp(const struct cfg_listen *l)
{
	int fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	/* A short receive timeout lets the worker notice a stop request. */
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    (l->addr.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    (wildcard(&l->addr) && l->addr.ss_family == AF_INET &&
	     setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0) ||
	    (wildcard(&l->addr) && l->addr.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) != 0) ||
	    bind(fd, (const struct sockaddr *)&l->addr, l->len) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	return fd;
}

int server__udp_bind(struct dns_server *s)
{
	unsigned per = worker_count(s->cfg);
	unsigned n = per * s->cfg->n_dns_listen;
	s->udp = calloc(n, sizeof(*s->udp));
	if (s->udp == NULL)
		return NP_ENOMEM;
	for (unsigned i = 0; i < n; i++)
		s->udp[i].fd = -1;
	s->n_udp = n;
	for (unsigned i = 0; i < n; i++) {
		const struct cfg_listen *l = &s->cfg->dns_listen[i / per];
		struct udp_worker *w = &s->udp[i];
		w->srv = s;
		w->pktinfo = wildcard(&l->addr);
		w->fd = open_udp(l);
		if (w->fd < 0) {
			log_err("dns: cannot bind UDP %s: %s", l->text, np_strerror(w->fd));
			return w->fd;
		}
		for (unsigned k = 0; k < UDP_BATCH; k++) {
			w->rx_iov[k].iov_base = w->rx[k];
			w->rx_iov[k].iov_len = sizeof(w->rx[k]);
			w->tx_iov[k].iov_base = w->tx[k];
		}
	}
	return NP_OK;
}

/* The control message that makes an answer leave from the address the query (whose
 * control data is rx) came to, into tx; its length, or 0 when rx has none. */
static size_t reply_from(const struct msghdr *rx, void *tx, size_t cap)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rx); c != NULL;
	     c = CMSG_NXTHDR((struct msghdr *)rx, c)) {
		struct msghdr out = {.msg_control = tx, .msg_controllen = cap};
		struct cmsghdr *o = CMSG_FIRSTHDR(&out);
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo in, pi = {0};
			memcpy(&in, CMSG_DATA(c), sizeof(in));
			pi.ipi_spec_dst =
			    in.ipi_addr; /* the source; the route picks the interface */
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi; /* the address and, for link-local, its interface */
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

/* Sends every prepared answer, retrying the rest of a partly sent batch. */
static void send_all(struct udp_worker *w, unsigned n)
{
	unsigned sent = 0;
	while (sent < n) {
		int r = sendmmsg(w->fd, w->tx_msgs + sent, n - sent, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* One unreachable peer must not cost the others their answers. */
			sent++;
			continue;
		}
		sent += (unsigned)r;
	}
}

/* An UPDATE travelling to the update service and back: where the answer goes. */
struct udp_update {
	struct update_job job;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint64_t ctl[(UDP_CTL_LEN + 7) / 8]; /* where the answer leaves from (wildcard sockets) */
	size_t ctl_len;
	uint8_t msg[];
};

/* Sends one datagram outside the batches, from the address ctl names (ctl_len 0: the
 * socket's own); a lost answer is what the client's retry is for. */
static void send_one(int fd, const struct sockaddr_storage *peer, socklen_t peer_len,
                     const void *ctl, size_t ctl_len, const uint8_t *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr h = {.msg_name = (void *)peer,
	                   .msg_namelen = peer_len,
	                   .msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = ctl_len > 0 ? (void *)ctl : NULL,
	                   .msg_controllen = ctl_len};
	(void)sendmsg(fd, &h, MSG_DONTWAIT);
}

static void udp_update_reply(struct update_job *job, const uint8_t *answer, size_t len)
{
	struct udp_update *u = (struct udp_update *)job;
	if (len > 0)
		send_one(u->fd, &u->peer, u->peer_len, u->ctl, u->ctl_len, answer, len);
	free(u);
}

/* Hands an UPDATE to the update service; false when it could not (then it is answered
 * here like any other message: NOTIMP without a service, SERVFAIL when it is full). */
static bool udp_update_submit(struct udp_worker *w, unsigned k)
{
	struct dns_server *s = w->srv;
	size_t len = w->rx_msgs[k].msg_len;
	if (s->update_submit == NULL)
		return false;
	struct udp_update *u = malloc(sizeof(*u) + len);
	if (u != NULL) {
		memcpy(u->msg, w->rx[k], len);
		u->job = (struct update_job){.msg = u->msg, .len = len, .reply = udp_update_reply};
		u->fd = w->fd;
		u->peer_len = w->rx_msgs[k].msg_hdr.msg_namelen;
		u->ctl_len = reply_from(&w->rx_msgs[k].msg_hdr, u->ctl, sizeof(u->ctl));
		memcpy(&u->peer, &w->peers[k], sizeof(u->peer));
		(void)addr_from_sockaddr((struct sockaddr *)&u->peer, &u->job.source);
		if (s->update_submit(s->update_ctx, &u->job))
			return true;
		free(u);
	}
	/* Full: SERVFAIL tells the client to try again later. */
	uint8_t ans[16];
	size_t alen = update_servfail(w->rx[k], ans);
	uint64_t ctl[(UDP_CTL_LEN + 7) / 8];
	size_t ctl_len = reply_from(&w->rx_msgs[k].msg_hdr, ctl, sizeof(ctl));
	send_one(w->fd, &w->peers[k], w->rx_msgs[k].msg_hdr.msg_namelen, ctl, ctl_len, ans, alen);
	return true;
}

/* Whether one of the first n messages received is an UPDATE. The UPDATE service answers it
 * after a commit: waiting here for more queries would only add to its time. */
static bool holds_update(const struct udp_worker *w, int n)
{
	for (int k = 0; k < n; k++)
		if (update_is_update(w->rx[k], w->rx_msgs[k].msg_len))
			return true;
	return false;
}

/* Sets the first count receive headers for the next recvmmsg. */
static void rx_reset(struct udp_worker *w, unsigned count)
{
	for (unsigned k = 0; k < count; k++) {
		struct msghdr *h = &w->rx_msgs[k].msg_hdr;
		memset(h, 0, sizeof(*h));
		h->msg_name = &w->peers[k];
		h->msg_namelen = sizeof(w->peers[k]);
		h->msg_iov = &w->rx_iov[k];
		h->msg_iovlen = 1;
		if (w->pktinfo) {
			h->msg_control = w->rx_ctl[k];
			h->msg_controllen = sizeof(w->rx_ctl[k]);
		}
	}
}

static void *udp_main(void *arg)
{
	struct udp_worker *w = arg;
	struct dns_server *s = w->srv;
	struct dns_answer_opts opts = {.tcp = false,
	                               .udp_max = (uint16_t)s->cfg->edns_udp_size,
	                               .cookie_secret = s->cookie_secret};

	const long wait_ns = (long)s->cfg->udp_batch_wait_us * 1000;
	/* The wait is short: the default timer slack (50 us) would add half as much again. */
	if (wait_ns > 0)
		(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
	rcu_register_thread();
	rcu_thread_offline();
	/* The receive headers the kernel may have written into (lengths, flags): those of
	 * the queries received and of the one it tried next; they are set again. */
	unsigned used = UDP_BATCH;
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		rx_reset(w, used);
		int n = recvmmsg(w->fd, w->rx_msgs, UDP_BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0) {
			used = 1;
			continue;
		}
		int64_t mono = time_mono_ns();
		udp_pace_count(&w->pace, (unsigned)n, mono);
		long pause_ns = udp_pace_wait(&w->pace, (unsigned)n, UDP_BATCH, wait_ns);
		if (pause_ns > 0 && !holds_update(w, n)) {
			/* More are on their way: take them into this batch. */
			struct timespec pause = {.tv_sec = 0, .tv_nsec = pause_ns};
			(void)nanosleep(&pause, NULL);
			int more = recvmmsg(w->fd, w->rx_msgs + n, UDP_BATCH - (unsigned)n,
			                    MSG_DONTWAIT, NULL);
			if (more > 0) {
				udp_pace_count(&w->pace, (unsigned)more, mono);
				n += more;
			}
		}
		used = (unsigned)n < UDP_BATCH ? (unsigned)n + 1 : UDP_BATCH;
		/* One clock read a batch: cookies and rate limits count in seconds. */
		int64_t now = time(NULL);
		opts.now = (uint32_t)now;
		rcu_thread_online();
		const struct zone_db *db = rcu_dereference(s->db);
		/* The batch in passes, so that its cache misses overlap: every name's slot on its
		 * way into the cache, then every node, then the answers (each rate-limit bucket
		 * prefetched as its answer is made), then the counting and the sends. */
		if (db != NULL) {
			for (int k = 0; k < n; k++)
				dns_prefetch_slot(db, w->rx[k], w->rx_msgs[k].msg_len,
				                  &w->prefetch[k]);
			for (int k = 0; k < n; k++)
				dns_prefetch_node(&w->prefetch[k]);
		}
		unsigned made = 0;
		for (int k = 0; k < n && db != NULL; k++) {
			const struct msghdr *h = &w->rx_msgs[k].msg_hdr;
			if (h->msg_flags & MSG_TRUNC)
				continue;
			if (update_is_update(w->rx[k], w->rx_msgs[k].msg_len) &&
			    udp_update_submit(w, k))
				continue;
			struct np_addr *client = &w->clients[made];
			if (addr_from_sockaddr((struct sockaddr *)&w->peers[k], client) != NP_OK)
				continue;
			bool tsig_seen = false;
			opts.tsig_seen = &tsig_seen;
			opts.client = client;
			opts.info = &w->infos[made];
			size_t len = dns_answer(db, w->rx[k], w->rx_msgs[k].msg_len, w->tx[made],
			                        UDP_TX_MAX, &opts);
			/* A signed query goes to the service that holds the keys; without one,
			 * the answer made here (BADKEY) is sent. */
			if (len == 0 || (tsig_seen && udp_update_submit(w, k)))
				continue;
			w->rrl_keys[made] = rrl_prepare(s->rrl, client, &w->infos[made]);
			w->lens[made] = len;
			w->from[made] = (uint8_t)k;
			made++;
		}
		unsigned out = 0;
		for (unsigned a = 0; a < made; a++) {
			const struct dns_answer_info *info = &w->infos[a];
			size_t len = w->lens[a];
			switch (
			    rrl_account_key(s->rrl, w->rrl_keys[a], &w->clients[a], info, now)) {
			case RRL_SEND:
				break;
			case RRL_SLIP:
				len = rrl_truncate(w->tx[a], len, info);
				dns_stat_inc(&w->stats.rrl_slipped);
				break;
			case RRL_DROP:
				dns_stat_inc(&w->stats.rrl_dropped);
				continue;
			}
			server__count_answer(&w->stats, w->tx[a], info->qtype);
			unsigned k = w->from[a];
			const struct msghdr *h = &w->rx_msgs[k].msg_hdr;
			struct msghdr *t = &w->tx_msgs[out].msg_hdr;
			memset(t, 0, sizeof(*t));
			t->msg_name = &w->peers[k];
			t->msg_namelen = h->msg_namelen;
			w->tx_iov[out].iov_base = w->tx[a];
			w->tx_iov[out].iov_len = len;
			t->msg_iov = &w->tx_iov[out];
			t->msg_iovlen = 1;
			if (w->pktinfo) {
				t->msg_control = w->tx_ctl[out];
				t->msg_controllen =
				    reply_from(h, w->tx_ctl[out], sizeof(w->tx_ctl[out]));
				if (t->msg_controllen == 0)
					t->msg_control = NULL;
			}
			out++;
		}
		rcu_thread_offline();
		send_all(w, out);
	}
	rcu_unregister_thread();
	return NULL;
}

void server__udp_stats(struct dns_server *s, struct dns_stats *sum)
{
	for (unsigned i = 0; i < s->n_udp; i++)
		server__stats_add(sum, &s->udp[i].stats);
}

int server__udp_start(struct dns_server *s)
{
	for (unsigned i = 0; i < s->n_udp; i++) {
		if (pthread_create(&s->udp[i].thread, NULL, udp_main, &s->udp[i]) != 0)
			return NP_EFAILED;
		s->udp[i].started = true;
	}
	return NP_OK;
}

void server__udp_stop(struct dns_server *s)
{
	for (unsigned i = 0; i < s->n_udp; i++) {
		if (s->udp[i].started)
			pthread_join(s->udp[i].thread, NULL);
		if (s->udp[i].fd >= 0)
			close(s->udp[i].fd);
	}
	free(s->udp);
	s->udp = NULL;
	s->n_udp = 0;
}
