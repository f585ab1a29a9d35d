/* SPDX-License-Identifier: MIT */
/* The honeypot listeners: one epoll thread serving telnet (a login prompt that never lets
 * anyone in), HTTP (a 404 that records the request) and plain ports (a connection record).
 * Nothing a peer sends is ever executed; every connection is bounded in count, bytes and
 * time. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"
#include "sensor/sensor.h"

#define HP_MAX_CONNS    512
#define HP_PER_SOURCE   8
#define HP_IDLE_MS      30000
#define HP_LIFETIME_MS  120000
#define HP_MAX_INPUT    65536 /* bytes read from one connection before it is closed */
#define HP_PLAIN_INPUT  4096
#define HP_TELNET_TRIES 5
#define HP_TELNET_LINES 32
#define HP_ACCEPT_BATCH 64

struct listener {
	int fd;
	enum sensor_svc svc;
	uint16_t port;
};

struct conn {
	int fd;
	enum sensor_svc svc;
	uint16_t port;
	struct np_addr peer;
	int64_t start_ms, last_ms;
	size_t bytes_in;
	bool recorded; /* its event was queued */
	bool closing;
	/* telnet */
	struct sensor_telnet tn;
	bool want_pass;
	unsigned tries, lines;
	char user[SENSOR_CRED_MAX + 1];
	/* http */
	char buf[SENSOR_HTTP_HEAD + 1];
	size_t len;
};

struct hp {
	struct sensor *s;
	int epfd;
	struct conn *conns[HP_MAX_CONNS];
	size_t n;
	struct listener lst[SVC_COUNT * SENSOR_MAX_LISTEN];
	size_t n_lst;
};

static const char *const svc_names[SVC_COUNT] = {"telnet", "http", "plain"};

int sensor_honeypot_open(struct sensor *s)
{
	const struct sensor_cfg *cfg = s->cfg;
	for (int v = 0; v < SVC_COUNT; v++)
		for (unsigned i = 0; i < SENSOR_MAX_LISTEN; i++)
			s->listen_fd[v][i] = -1;
	for (int v = 0; v < SVC_COUNT; v++) {
		for (unsigned i = 0; i < cfg->n_listen[v]; i++) {
			const struct cfg_listen *l = &cfg->listen[v][i];
			int one = 1;
			int fd = socket(l->addr.ss_family,
			                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				log_err("%s listen %s: socket: %m", svc_names[v], l->text);
				return NP_EIO;
			}
			s->listen_fd[v][i] = fd;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (l->addr.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (bind(fd, (const struct sockaddr *)&l->addr, l->len) != 0 ||
			    listen(fd, 128) != 0) {
				log_err("%s listen %s: %m", svc_names[v], l->text);
				return NP_EIO;
			}
			s->listen_port[v][i] =
			    ntohs(l->addr.ss_family == AF_INET
			              ? ((const struct sockaddr_in *)&l->addr)->sin_port
			              : ((const struct sockaddr_in6 *)&l->addr)->sin6_port);
			log_info("%s honeypot on %s", svc_names[v], l->text);
		}
	}
	return NP_OK;
}

void sensor_honeypot_close(struct sensor *s)
{
	for (int v = 0; v < SVC_COUNT; v++) {
		for (unsigned i = 0; i < SENSOR_MAX_LISTEN; i++) {
			if (s->listen_fd[v][i] >= 0)
				close(s->listen_fd[v][i]);
			s->listen_fd[v][i] = -1;
		}
	}
}

static void say(struct conn *c, const void *p, size_t len)
{
	/* Best effort: a peer that does not read loses what does not fit. */
	ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
}

static void says(struct conn *c, const char *text)
{
	say(c, text, strlen(text));
}

static void record(struct hp *h, struct conn *c, enum obs_kind kind, const char *user,
                   const char *pass)
{
	struct obs_event e;
	memset(&e, 0, sizeof(e));
	e.src = c->peer;
	e.time = time_now();
	e.kind = kind;
	e.proto = IPPROTO_TCP;
	e.dst_port = c->port;
	e.count = 1;
	if (user != NULL)
		np_strlcpy(e.user, user, sizeof(e.user));
	if (pass != NULL)
		np_strlcpy(e.pass, pass, sizeof(e.pass));
	sensor_queue_add(&h->s->queue, &e);
}

static void http_record(struct hp *h, struct conn *c, const struct sensor_http_req *rq);

static void conn_close(struct hp *h, size_t i)
{
	struct conn *c = h->conns[i];
	struct sensor_http_req rq;
	/* An HTTP peer that stopped before its request was answered: a complete head (whose
	 * body never came) still counts as that request; anything else as a connection. */
	if (!c->recorded && c->svc == SVC_HTTP && sensor_http_parse(c->buf, c->len, &rq) == NP_OK)
		http_record(h, c, &rq);
	if (!c->recorded)
		record(h, c, OBS_CONNECT, NULL, NULL);
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	h->conns[i] = h->conns[--h->n];
}

static void telnet_line(struct hp *h, struct conn *c)
{
	char addr[INET6_ADDRSTRLEN];
	if (++c->lines > HP_TELNET_LINES) {
		c->closing = true;
		return;
	}
	if (!c->want_pass) {
		sensor_cred_clean(c->user, c->tn.line, c->tn.len);
		if (c->user[0] == '\0') {
			says(c, "login: ");
			return;
		}
		c->want_pass = true;
		says(c, "Password: ");
		return;
	}
	char pass[SENSOR_CRED_MAX + 1];
	sensor_cred_clean(pass, c->tn.line, c->tn.len);
	record(h, c, OBS_LOGIN, c->user, pass);
	log_info("telnet %s port %u: login attempt %s / %s",
	         addr_format(&c->peer, addr, sizeof(addr)), c->port, c->user, pass);
	c->want_pass = false;
	says(c, "\r\nLogin incorrect\r\n");
	if (++c->tries >= HP_TELNET_TRIES) {
		c->closing = true;
		return;
	}
	says(c, "login: ");
}

static void telnet_input(struct hp *h, struct conn *c, const uint8_t *buf, size_t n)
{
	while (n > 0 && !c->closing) {
		size_t used;
		if (sensor_telnet_feed(&c->tn, buf, n, &used))
			telnet_line(h, c);
		buf += used;
		n -= used;
	}
}

/* Records and logs a complete request head (and what arrived of its body). */
static void http_record(struct hp *h, struct conn *c, const struct sensor_http_req *rq)
{
	char addr[INET6_ADDRSTRLEN];
	const char *exploit = sensor_exploit_match(rq->target);
	bool download = sensor_download_match(rq->target, strlen(rq->target)) ||
	                sensor_download_match(c->buf + rq->head_len, c->len - rq->head_len);
	c->recorded = true;
	record(h, c, exploit != NULL ? OBS_HTTP_EXPLOIT : OBS_CONNECT, NULL, NULL);
	if (download)
		record(h, c, OBS_DOWNLOAD, NULL, NULL);
	log_info("http %s port %u: %s %s \"%s\"%s%s%s", addr_format(&c->peer, addr, sizeof(addr)),
	         c->port, rq->method, rq->target, rq->agent, exploit != NULL ? " exploit " : "",
	         exploit != NULL ? exploit : "", download ? " download" : "");
}

static void http_answer(struct hp *h, struct conn *c, const struct sensor_http_req *rq)
{
	http_record(h, c, rq);
	static const char page[] = "<html><head><title>404 Not Found</title></head>"
	                           "<body><h1>Not Found</h1></body></html>\n";
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 404 Not Found\r\nServer: httpd\r\nContent-Type: text/html\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                 sizeof(page) - 1);
	if (n > 0 && (size_t)n < sizeof(head))
		say(c, head, (size_t)n);
	if (strcmp(rq->method, "HEAD") != 0)
		say(c, page, sizeof(page) - 1);
	shutdown(c->fd, SHUT_WR);
	c->closing = true;
}

static void http_input(struct hp *h, struct conn *c, const uint8_t *buf, size_t n)
{
	size_t room = SENSOR_HTTP_HEAD - c->len;
	size_t take = n < room ? n : room;
	memcpy(c->buf + c->len, buf, take);
	c->len += take;
	c->buf[c->len] = '\0';
	struct sensor_http_req rq;
	int r = sensor_http_parse(c->buf, c->len, &rq);
	if (r == NP_EAGAIN)
		return;
	if (r != NP_OK) {
		c->closing = true; /* not HTTP: conn_close records the connection */
		return;
	}
	/* Exploits carry their payload in the body: wait for it (within the buffer). */
	if (rq.content_length > 0 && c->len < SENSOR_HTTP_HEAD &&
	    c->len - rq.head_len < rq.content_length)
		return;
	http_answer(h, c, &rq);
}

static void conn_read(struct hp *h, size_t i)
{
	struct conn *c = h->conns[i];
	uint8_t buf[4096];
	for (int rounds = 0; rounds < 16 && !c->closing; rounds++) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (r <= 0) {
			c->closing = true;
			break;
		}
		c->last_ms = time_mono_ms();
		c->bytes_in += (size_t)r;
		if (c->svc == SVC_TELNET)
			telnet_input(h, c, buf, (size_t)r);
		else if (c->svc == SVC_HTTP)
			http_input(h, c, buf, (size_t)r);
		if (c->bytes_in > (c->svc == SVC_PLAIN ? HP_PLAIN_INPUT : HP_MAX_INPUT))
			c->closing = true;
	}
	if (c->closing)
		conn_close(h, i);
}

static size_t index_of(const struct hp *h, uintptr_t c)
{
	for (size_t i = 0; i < h->n; i++)
		if ((uintptr_t)h->conns[i] == c)
			return i;
	return SIZE_MAX;
}

static void accept_all(struct hp *h, struct listener *l)
{
	for (int k = 0; k < HP_ACCEPT_BATCH; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a connection that died in the backlog */
		struct np_addr peer;
		if (addr_from_sockaddr((struct sockaddr *)&ss, &peer) != NP_OK) {
			close(fd);
			continue;
		}
		unsigned same = 0;
		for (size_t i = 0; i < h->n; i++)
			same += addr_equal(&h->conns[i]->peer, &peer);
		struct conn *c = NULL;
		if (h->n < HP_MAX_CONNS && same < HP_PER_SOURCE)
			c = calloc(1, sizeof(*c));
		if (c == NULL) {
			/* Full: still worth a record, the peer did connect. */
			struct conn tmp = {.peer = peer, .port = l->port};
			record(h, &tmp, OBS_CONNECT, NULL, NULL);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->svc = l->svc;
		c->port = l->port;
		c->peer = peer;
		c->start_ms = c->last_ms = time_mono_ms();
		sensor_telnet_init(&c->tn);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		h->conns[h->n++] = c;
		if (l->svc != SVC_HTTP) {
			c->recorded = true;
			record(h, c, OBS_CONNECT, NULL, NULL);
		}
		if (l->svc == SVC_TELNET) {
			/* IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD: what busybox telnetd says. */
			static const uint8_t neg[] = {255, 251, 1, 255, 251, 3};
			say(c, neg, sizeof(neg));
			says(c, "\r\nlogin: ");
		}
	}
}

static void sweep(struct hp *h)
{
	int64_t now = time_mono_ms();
	for (size_t i = h->n; i-- > 0;) {
		struct conn *c = h->conns[i];
		if (now - c->last_ms > HP_IDLE_MS || now - c->start_ms > HP_LIFETIME_MS)
			conn_close(h, i);
	}
}

void *sensor_honeypot_run(void *arg)
{
	struct hp *h = calloc(1, sizeof(*h));
	struct sensor *s = arg;
	if (h == NULL) {
		log_err("honeypot: out of memory");
		return NULL;
	}
	h->s = s;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		log_err("honeypot: epoll: %m");
		goto out;
	}
	/* epoll data: &stop_tag, a struct listener in h->lst, or a struct conn. */
	static const char stop_tag;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)&stop_tag};
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, s->stop_fd, &ev) != 0)
		goto out;
	for (int v = 0; v < SVC_COUNT; v++) {
		for (unsigned i = 0; i < s->cfg->n_listen[v]; i++) {
			struct listener *l = &h->lst[h->n_lst++];
			l->fd = s->listen_fd[v][i];
			l->svc = (enum sensor_svc)v;
			l->port = s->listen_port[v][i];
			ev.events = EPOLLIN;
			ev.data.ptr = l;
			if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
				log_err("honeypot: epoll_ctl: %m");
				goto out;
			}
		}
	}
	int64_t last_sweep = time_mono_ms();
	while (!s->stop_io) {
		struct epoll_event evs[64];
		int n = epoll_wait(h->epfd, evs, (int)ARRAY_SIZE(evs), 1000);
		if (n < 0 && errno != EINTR) {
			log_err("honeypot: epoll_wait: %m");
			break;
		}
		for (int k = 0; k < n && !s->stop_io; k++) {
			/* Only listeners are dereferenced directly: a connection closed
			 * earlier in this round is freed, so it is looked up, not followed. */
			uintptr_t p = (uintptr_t)evs[k].data.ptr;
			if (p == (uintptr_t)&stop_tag)
				continue;
			if (p >= (uintptr_t)h->lst && p < (uintptr_t)(h->lst + h->n_lst)) {
				accept_all(h, (struct listener *)evs[k].data.ptr);
				continue;
			}
			size_t i = index_of(h, (uintptr_t)p);
			if (i != SIZE_MAX)
				conn_read(h, i);
		}
		if (time_mono_ms() - last_sweep >= 1000) {
			sweep(h);
			last_sweep = time_mono_ms();
		}
	}
	/* Peers already in a listen backlog did connect: record them before stopping. */
	for (size_t k = 0; k < h->n_lst; k++)
		accept_all(h, &h->lst[k]);
out:
	while (h->n > 0)
		conn_close(h, h->n - 1);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
	return NULL;
}
