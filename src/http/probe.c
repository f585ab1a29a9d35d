/* SPDX-License-Identifier: MIT */
/* The reachability probe: argument check, rate limits, and the connects back to the
 * requester on one epoll thread (the caller authenticated the request, off the writer's
 * thread). */
#include "http/probe.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"
#include "http/dyndns2.h"

/* Retry-After (s) when every probe slot is busy or the server cannot serve now. */
#define PROBE_BUSY_RETRY "3"

/* ---- parameters ---- */

/* Arguments that would name a target. None is honoured: the request is refused, so a
 * client cannot believe it probed somewhere else. */
static const char *const target_keys[] = {
    "ip",   "host", "target",   "addr", "address", "myip", "myipv4", "myipv6",
    "ipv4", "ipv6", "hostname", "dest", "dst",     "to",   "server", "url",
};

static bool key_is(const char *key, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(key, word, len) == 0;
}

void probe_params_init(struct probe_params *p)
{
	memset(p, 0, sizeof(*p));
}

void probe_params_add(struct probe_params *p, const char *key, size_t key_len, const char *value,
                      size_t value_len)
{
	if (value == NULL)
		value_len = 0;
	if (memchr(key, '\0', key_len) != NULL) {
		p->unknown = true;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(target_keys); i++) {
		if (key_is(key, key_len, target_keys[i])) {
			p->target = true;
			return;
		}
	}
	if (key_is(key, key_len, "port")) {
		/* Plain decimal only: no sign, no blanks, no leading zeros beyond "0". */
		char buf[8];
		uint32_t v;
		if (++p->n_port > 1 || value_len == 0 || value_len >= sizeof(buf) ||
		    memchr(value, '\0', value_len) != NULL) {
			p->bad_port = true;
			return;
		}
		memcpy(buf, value, value_len);
		buf[value_len] = '\0';
		if (buf[0] == '0' || str_to_u32(buf, 1, 65535, &v) != NP_OK) {
			p->bad_port = true;
			return;
		}
		p->port = (uint16_t)v;
		return;
	}
	if (key_is(key, key_len, "tcp") || key_is(key, key_len, "udp")) {
		bool udp = key_is(key, key_len, "udp");
		if (++*(udp ? &p->n_udp : &p->n_tcp) > 1 || value == NULL || value_len == 0 ||
		    memchr(value, '\0', value_len) != NULL) {
			p->bad_port = true;
			return;
		}
		/* N[,N]...: plain decimals as for port=. */
		size_t i = 0;
		for (unsigned items = 0; i <= value_len && items < 65536; items++) {
			size_t j = i;
			while (j < value_len && value[j] != ',')
				j++;
			char buf[8];
			uint32_t v;
			if (j == i || j - i >= sizeof(buf) || value[i] == '0') {
				p->bad_port = true;
				return;
			}
			memcpy(buf, value + i, j - i);
			buf[j - i] = '\0';
			if (str_to_u32(buf, 1, 65535, &v) != NP_OK) {
				p->bad_port = true;
				return;
			}
			bool dup = false;
			for (unsigned k = 0; k < p->n_batch; k++)
				dup |= p->batch[k].port == v && p->batch[k].udp == udp;
			if (!dup) {
				if (p->n_batch >= PROBE_BATCH_MAX) {
					p->too_many = true;
					return;
				}
				p->batch[p->n_batch++] = (struct probe_port){(uint16_t)v, udp};
			}
			i = j + 1;
		}
		return;
	}
	if (key_is(key, key_len, "proto")) {
		if (++p->n_proto > 1 || value == NULL || !key_is(value, value_len, "tcp"))
			p->bad_proto = true;
		return;
	}
	p->unknown = true;
}

enum probe_param_verdict probe_params_verdict(const struct probe_params *p)
{
	if (p->target)
		return PROBE_PARAMS_TARGET;
	bool batch = p->n_tcp + p->n_udp > 0;
	if (p->bad_port || (batch && (p->n_port != 0 || p->n_proto != 0)))
		return PROBE_PARAMS_BAD_PORT;
	if (p->too_many)
		return PROBE_PARAMS_TOO_MANY;
	if (!batch && (p->n_port != 1 || p->port == 0))
		return PROBE_PARAMS_BAD_PORT;
	if (p->bad_proto)
		return PROBE_PARAMS_BAD_PROTO;
	if (p->unknown)
		return PROBE_PARAMS_UNKNOWN;
	return PROBE_PARAMS_OK;
}

const char *probe_params_message(enum probe_param_verdict v)
{
	switch (v) {
	case PROBE_PARAMS_TARGET:
		return "the probe only connects back to the requesting address\n";
	case PROBE_PARAMS_BAD_PORT:
		return "bad port\n";
	case PROBE_PARAMS_TOO_MANY:
		return "too many ports: at most 32 in one request\n";
	case PROBE_PARAMS_BAD_PROTO:
		return "bad proto: only tcp\n";
	case PROBE_PARAMS_UNKNOWN:
		return "unknown parameter: only port and proto, or tcp and udp\n";
	case PROBE_PARAMS_OK:
		break;
	}
	return "bad request\n";
}

/* ---- rate limiting ---- */

void probe_limiter_init(struct probe_limiter *l, unsigned per_minute, unsigned burst,
                        const uint8_t seed[16])
{
	memset(l, 0, sizeof(*l));
	if (per_minute == 0)
		per_minute = 1;
	if (per_minute > 60000)
		per_minute = 60000;
	if (burst == 0)
		burst = 1;
	l->interval_ms = 60000 / per_minute;
	l->tau_ms = (int64_t)(burst - 1) * l->interval_ms;
	if (seed != NULL)
		memcpy(l->seed, seed, sizeof(l->seed));
	else
		randombytes_buf(l->seed, sizeof(l->seed));
}

unsigned probe_limiter_take(struct probe_limiter *l, const void *key, size_t klen, int64_t now_ms)
{
	return probe_limiter_take_n(l, key, klen, 1, now_ms);
}

unsigned probe_limiter_take_n(struct probe_limiter *l, const void *key, size_t klen, unsigned n,
                              int64_t now_ms)
{
	_Static_assert(PROBE_LIMIT_SLOTS % PROBE_LIMIT_WAYS == 0, "whole sets");
	_Static_assert(sizeof(l->seed) == crypto_shorthash_KEYBYTES, "SipHash key size");
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t hv;

	if (klen == 0 || klen > PROBE_KEY_MAX || n == 0)
		return 1; /* no such key can be tracked: refuse rather than not limit */
	crypto_shorthash(h, key, klen, l->seed);
	memcpy(&hv, h, sizeof(hv));
	size_t set = (size_t)(hv % (PROBE_LIMIT_SLOTS / PROBE_LIMIT_WAYS)) * PROBE_LIMIT_WAYS;

	struct probe_bucket *b = NULL, *victim = NULL;
	for (size_t i = set; i < set + PROBE_LIMIT_WAYS; i++) {
		struct probe_bucket *e = &l->b[i];
		if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
			b = e;
			break;
		}
		/* The least useful entry: unused, else the one closest to a full bucket. */
		if (victim == NULL ||
		    (victim->klen != 0 && (e->klen == 0 || e->tat_ms < victim->tat_ms)))
			victim = e;
	}
	if (b == NULL) {
		b = victim;
		memset(b, 0, sizeof(*b));
		memcpy(b->key, key, klen);
		b->klen = (uint8_t)klen;
		b->tat_ms = now_ms;
	}

	/* n tokens at once: the n-th must conform, so the first n-1 run ahead of it. */
	int64_t tat = b->tat_ms > now_ms ? b->tat_ms : now_ms;
	int64_t ahead = tat + (int64_t)(n - 1) * l->interval_ms;
	if (ahead - now_ms > l->tau_ms) {
		int64_t wait = ahead - now_ms - l->tau_ms;
		return (unsigned)((wait + 999) / 1000);
	}
	b->tat_ms = tat + (int64_t)n * l->interval_ms;
	return 0;
}

size_t probe_addr_key(const struct np_addr *a, uint8_t key[PROBE_KEY_MAX])
{
	memset(key, 0, PROBE_KEY_MAX);
	if (a->family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, a->bytes, 4);
		return 5;
	}
	key[0] = 6;
	memcpy(key + 1, a->bytes, 8);
	return 9;
}

bool probe_addr_usable(const struct np_addr *a)
{
	static const uint8_t zero[16];
	if (a->family == AF_INET)
		/* 0/8 ("this host"), multicast, reserved and broadcast */
		return a->bytes[0] != 0 && a->bytes[0] < 224;
	if (a->family == AF_INET6)
		return memcmp(a->bytes, zero, 16) != 0 && a->bytes[0] != 0xff;
	return false;
}

/* ---- the service ---- */

/* One probe request. Two owners share it: libmicrohttpd (until completed) and the service
 * (the probe thread, until it resumed the connection); the last one to let go returns the
 * slot. */
struct probe_req {
	struct probe *p;
	struct MHD_Connection *conn;
	bool used; /* under p->lock */
	atomic_int refs;
	atomic_bool resolved; /* ans is final (written before this is set) */
	struct probe_answer ans;

	/* inputs */
	struct np_addr client;
	struct probe_port ports[PROBE_BATCH_MAX];
	unsigned n_ports;
	bool batch; /* answer in the batch form ("STATE PORT/PROTO" lines) */

	struct dyndns2_identity id; /* who asked: authenticated before probe_begin */

	/* the probe thread's: one socket per port, its result once known */
	int fds[PROBE_BATCH_MAX];
	const char *results[PROBE_BATCH_MAX];
	unsigned n_left; /* ports without a result */
	int64_t deadline_ms;
	struct probe_req *next; /* the job queue */
};

struct probe {
	pthread_mutex_t lock;
	bool stopping;          /* under lock */
	struct probe_req *jobs; /* authenticated, waiting for the thread; under lock */
	int epfd, evfd;
	pthread_t thread;
	bool thread_started;
	struct probe_limiter addr_lim, acct_lim; /* under lock */
	struct probe_req reqs[PROBE_MAX_INFLIGHT];
};

static void set_answer(struct probe_answer *a, unsigned status, const char *hname,
                       const char *hvalue, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void set_answer(struct probe_answer *a, unsigned status, const char *hname,
                       const char *hvalue, const char *fmt, ...)
{
	va_list ap;
	memset(a, 0, sizeof(*a));
	a->status = status;
	va_start(ap, fmt);
	int n = vsnprintf(a->body, sizeof(a->body), fmt, ap);
	va_end(ap);
	if (n < 0)
		a->body[0] = '\0';
	a->hname = hname;
	if (hname != NULL)
		np_strlcpy(a->hvalue, hvalue, sizeof(a->hvalue));
}

static void set_limited(struct probe_answer *a, unsigned retry_s)
{
	char v[16];
	snprintf(v, sizeof(v), "%u", retry_s);
	set_answer(a, MHD_HTTP_TOO_MANY_REQUESTS, MHD_HTTP_HEADER_RETRY_AFTER, v,
	           "too many probes; retry after %u s\n", retry_s);
}

static void set_busy(struct probe_answer *a)
{
	set_answer(a, MHD_HTTP_SERVICE_UNAVAILABLE, MHD_HTTP_HEADER_RETRY_AFTER, PROBE_BUSY_RETRY,
	           "%s", "probe busy; try again later\n");
}

static void req_release(struct probe_req *req)
{
	if (atomic_fetch_sub(&req->refs, 1) != 1)
		return;
	struct probe *p = req->p;
	pthread_mutex_lock(&p->lock);
	explicit_bzero(&req->id, sizeof(req->id));
	req->used = false;
	pthread_mutex_unlock(&p->lock);
}

/* The answer is known: hand the request back to libmicrohttpd. req must not be touched
 * by the caller afterwards. */
static void resolve(struct probe_req *req)
{
	atomic_store(&req->resolved, true);
	MHD_resume_connection(req->conn);
	req_release(req);
}

static void log_probe(const struct probe_req *req, const char *result)
{
	char acct[96], client[INET6_ADDRSTRLEN];
	log_escape(acct, sizeof(acct), req->id.account, strlen(req->id.account));
	addr_format(&req->client, client, sizeof(client));
	if (!req->batch) {
		log_info("probe: account=%s client=%s port=%u: %s", acct, client,
		         req->ports[0].port, result);
		return;
	}
	unsigned open = 0;
	for (unsigned i = 0; i < req->n_ports; i++)
		open += req->results[i] != NULL && strcmp(req->results[i], "open") == 0;
	log_info("probe: account=%s client=%s ports=%u open=%u: %s", acct, client, req->n_ports,
	         open, result);
}

/* Hands an authenticated request to the probe thread, within its account's limit. */
static void enqueue(struct probe *p, struct probe_req *req)
{
	bool wake = false;
	uint8_t key[sizeof(int64_t)];
	memcpy(key, &req->id.user_id, sizeof(key));
	pthread_mutex_lock(&p->lock);
	unsigned retry =
	    probe_limiter_take_n(&p->acct_lim, key, sizeof(key), req->n_ports, time_mono_ms());
	bool stopping = p->stopping;
	if (retry == 0 && !stopping) {
		req->next = p->jobs;
		p->jobs = req;
		wake = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (retry != 0) {
		log_probe(req, "limited (account)");
		set_limited(&req->ans, retry);
		resolve(req);
	} else if (stopping) {
		set_busy(&req->ans);
		resolve(req);
	}
	if (wake) {
		uint64_t one = 1;
		if (write(p->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_err("probe: cannot wake the probe thread: %m");
	}
}

bool probe_begin(struct probe *p, struct MHD_Connection *c, const struct np_addr *client,
                 const struct dyndns2_identity *id, const struct probe_params *pp,
                 void **con_cls, struct probe_answer *a)
{
	uint8_t key[PROBE_KEY_MAX];
	size_t klen = probe_addr_key(client, key);
	struct probe_req *req = NULL;
	unsigned retry = 0;

	if (!probe_addr_usable(client)) {
		set_answer(a, MHD_HTTP_BAD_REQUEST, NULL, NULL, "%s",
		           "cannot probe the requesting address\n");
		return false;
	}
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < PROBE_MAX_INFLIGHT && !p->stopping; i++) {
		if (!p->reqs[i].used) {
			req = &p->reqs[i];
			break;
		}
	}
	/* The address pays for every probe it gets a slot for (guesses of the credential are
	 * the authentication throttle's, before this). */
	unsigned n = pp->n_batch > 0 ? pp->n_batch : 1;
	if (req != NULL)
		retry = probe_limiter_take_n(&p->addr_lim, key, klen, n, time_mono_ms());
	if (req != NULL && retry == 0)
		req->used = true;
	pthread_mutex_unlock(&p->lock);
	if (req == NULL) {
		set_busy(a);
		return false;
	}
	if (retry != 0) {
		set_limited(a, retry);
		return false;
	}

	/* Everything but the slot's identity is reset (memset would race nothing: the slot is
	 * ours alone until it is submitted). */
	req->conn = c;
	atomic_init(&req->refs, 2);
	atomic_init(&req->resolved, false);
	memset(&req->ans, 0, sizeof(req->ans));
	req->client = *client;
	if (pp->n_batch > 0) {
		memcpy(req->ports, pp->batch, pp->n_batch * sizeof(pp->batch[0]));
		req->n_ports = pp->n_batch;
		req->batch = true;
	} else {
		req->ports[0] = (struct probe_port){pp->port, false};
		req->n_ports = 1;
		req->batch = false;
	}
	req->id = *id;
	for (unsigned i = 0; i < PROBE_BATCH_MAX; i++) {
		req->fds[i] = -1;
		req->results[i] = NULL;
	}
	req->n_left = 0;
	req->next = NULL;

	/* Suspended before it is handed over, so a fast answer always finds it suspended. */
	*con_cls = req;
	MHD_suspend_connection(c);
	enqueue(p, req);
	return true;
}

bool probe_owns(const struct probe *p, const void *con_cls)
{
	uintptr_t v = (uintptr_t)con_cls;
	return p != NULL && v >= (uintptr_t)&p->reqs[0] &&
	       v < (uintptr_t)&p->reqs[PROBE_MAX_INFLIGHT];
}

bool probe_answer_of(void *con_cls, struct probe_answer *a)
{
	struct probe_req *req = con_cls;
	if (!atomic_load(&req->resolved))
		return false;
	*a = req->ans;
	return true;
}

void probe_release(struct probe *p, void *con_cls)
{
	(void)p;
	req_release(con_cls);
}

/* ---- the probe thread ---- */

/* epoll's data of a port's socket: the request's slot and the port's index; the eventfd's
 * is EV_WAKE. */
#define EV_WAKE UINT64_MAX

static uint64_t ev_tag(const struct probe *p, const struct probe_req *req, unsigned i)
{
	return ((uint64_t)(req - p->reqs) << 32) | i;
}

static void close_port(struct probe *p, struct probe_req *req, unsigned i)
{
	if (req->fds[i] >= 0) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, req->fds[i], NULL);
		close(req->fds[i]); /* at once, nothing more sent */
		req->fds[i] = -1;
	}
}

static bool known_state(const char *result)
{
	return strcmp(result, "open") == 0 || strcmp(result, "closed") == 0 ||
	       strcmp(result, "filtered") == 0;
}

/* Every port has its result: the answer, and the request back to libmicrohttpd. */
static void finish_req(struct probe *p, struct probe_req *req, const char *why)
{
	for (unsigned i = 0; i < req->n_ports; i++) {
		close_port(p, req, i);
		if (req->results[i] == NULL)
			req->results[i] = why;
	}
	if (!req->batch) {
		log_probe(req, req->results[0]);
		if (known_state(req->results[0]))
			set_answer(&req->ans, MHD_HTTP_OK, NULL, NULL, "%s %u\n", req->results[0],
			           req->ports[0].port);
		else
			set_busy(&req->ans);
		resolve(req);
		return;
	}
	log_probe(req, why);
	if (strcmp(why, "aborted") == 0) {
		set_busy(&req->ans);
		resolve(req);
		return;
	}
	memset(&req->ans, 0, sizeof(req->ans));
	req->ans.status = MHD_HTTP_OK;
	size_t off = 0;
	for (unsigned i = 0; i < req->n_ports; i++) {
		int w = snprintf(req->ans.body + off, sizeof(req->ans.body) - off, "%s %u/%s\n",
		                 req->results[i], req->ports[i].port,
		                 req->ports[i].udp ? "udp" : "tcp");
		if (w < 0 || (size_t)w >= sizeof(req->ans.body) - off)
			break; /* cannot happen: PROBE_BODY_MAX holds PROBE_BATCH_MAX lines */
		off += (size_t)w;
	}
	resolve(req);
}

static void port_result(struct probe *p, struct probe_req *req, unsigned i, const char *result)
{
	close_port(p, req, i);
	if (req->results[i] != NULL)
		return;
	req->results[i] = result;
	req->n_left--;
}

/* What a connect's (or a connected UDP socket's) error says about the port. */
static const char *classify(int err)
{
	switch (err) {
	case 0:
		return "open";
	case ECONNREFUSED:
	case ECONNRESET:
		return "closed";
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EACCES:
	case EPERM:
		return "filtered";
	default:
		return "error"; /* ours, not the port's (EMFILE, ENOBUFS, ...) */
	}
}

/* The datagram a UDP service answers: SSDP (a router answering it from the WAN side is a
 * reflector), NAT-PMP's external-address request, else an empty one (a closed port still
 * answers ICMP port unreachable). */
static const char ssdp_msearch[] = "M-SEARCH * HTTP/1.1\r\n"
                                   "HOST: 239.255.255.250:1900\r\n"
                                   "MAN: \"ssdp:discover\"\r\n"
                                   "MX: 1\r\n"
                                   "ST: ssdp:all\r\n\r\n";
static const uint8_t natpmp_req[2] = {0, 0};

/* Starts port i of req: a TCP connect or a UDP datagram; the result comes later unless
 * it is known at once. */
static void start_port(struct probe *p, struct probe_req *req, unsigned i)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	const struct probe_port *pt = &req->ports[i];

	memset(&ss, 0, sizeof(ss));
	if (req->client.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(pt->port);
		memcpy(&s4->sin_addr, req->client.bytes, 4);
		slen = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(pt->port);
		memcpy(&s6->sin6_addr, req->client.bytes, 16);
		slen = sizeof(*s6);
	}
	int type = pt->udp ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("probe: socket: %m");
		port_result(p, req, i, "error");
		return;
	}
	req->fds[i] = fd;
	if (connect(fd, (struct sockaddr *)&ss, slen) == 0) {
		if (!pt->udp) {
			port_result(p, req, i, "open");
			return;
		}
		const void *msg = "";
		size_t len = 0;
		if (pt->port == 1900) {
			msg = ssdp_msearch;
			len = sizeof(ssdp_msearch) - 1;
		} else if (pt->port == 5351) {
			msg = natpmp_req;
			len = sizeof(natpmp_req);
		}
		if (send(fd, msg, len, MSG_NOSIGNAL) < 0) {
			port_result(p, req, i, classify(errno));
			return;
		}
	} else if (errno != EINPROGRESS) {
		port_result(p, req, i, classify(errno));
		return;
	}
	struct epoll_event ev = {.events = pt->udp ? EPOLLIN : EPOLLOUT,
	                         .data.u64 = ev_tag(p, req, i)};
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_err("probe: epoll_ctl: %m");
		port_result(p, req, i, "error");
	}
}

/* Starts every port of req; returns true when some are in flight (then in active[]). */
static bool start_req(struct probe *p, struct probe_req *req)
{
	req->n_left = req->n_ports;
	req->deadline_ms = time_mono_ms() + PROBE_TIMEOUT_MS;
	for (unsigned i = 0; i < req->n_ports; i++)
		start_port(p, req, i);
	if (req->n_left == 0) {
		finish_req(p, req, "done");
		return false;
	}
	return true;
}

/* An event on port i of req. */
static void port_event(struct probe *p, struct probe_req *req, unsigned i)
{
	int fd = req->fds[i];
	if (fd < 0 || req->results[i] != NULL)
		return;
	if (!req->ports[i].udp) {
		int err = 0;
		socklen_t elen = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			err = errno;
		port_result(p, req, i, classify(err));
		return;
	}
	/* Any datagram back is an answer; ICMP port unreachable shows as ECONNREFUSED. */
	uint8_t b[1];
	ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC);
	if (n >= 0)
		port_result(p, req, i, "open");
	else if (errno != EAGAIN && errno != EINTR)
		port_result(p, req, i, classify(errno));
}

static void *probe_thread(void *arg)
{
	struct probe *p = arg;
	struct probe_req *active[PROBE_MAX_INFLIGHT];
	size_t n_active = 0;
	bool stopping = false;

	/* Each round waits once and handles what it found; it ends when stopping is seen. */
	while (!stopping) {
		int timeout = -1;
		int64_t now = time_mono_ms();
		for (size_t i = 0; i < n_active; i++) {
			int64_t left = active[i]->deadline_ms - now;
			if (left < 0)
				left = 0;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		struct epoll_event evs[64];
		int n = epoll_wait(p->epfd, evs, (int)ARRAY_SIZE(evs), timeout);
		if (n < 0 && errno != EINTR) {
			log_err("probe: epoll_wait: %m");
			n = 0;
			struct timespec pause = {0, 10 * 1000 * 1000};
			nanosleep(&pause, NULL); /* never spin on a persistent error */
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == EV_WAKE) {
				uint64_t cnt;
				if (read(p->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
					log_err("probe: eventfd read: %m");
				continue;
			}
			uint64_t slot = evs[i].data.u64 >> 32;
			unsigned port = (unsigned)(evs[i].data.u64 & 0xffffffffu);
			if (slot >= PROBE_MAX_INFLIGHT || port >= PROBE_BATCH_MAX)
				continue;
			struct probe_req *req = &p->reqs[slot];
			/* Only a request still in flight: an earlier event of this round may have
			 * finished it. */
			size_t k = 0;
			while (k < n_active && active[k] != req)
				k++;
			if (k == n_active)
				continue;
			port_event(p, req, port);
			if (req->n_left == 0) {
				active[k] = active[--n_active];
				finish_req(p, req, "done");
			}
		}

		now = time_mono_ms();
		for (size_t k = 0; k < n_active;) {
			if (active[k]->deadline_ms <= now) {
				struct probe_req *req = active[k];
				active[k] = active[--n_active];
				/* No answer in time: a firewall drops it (for UDP: nothing
				 * answered, open or dropped alike). */
				finish_req(p, req, "filtered");
			} else {
				k++;
			}
		}

		pthread_mutex_lock(&p->lock);
		struct probe_req *jobs = p->jobs;
		p->jobs = NULL;
		stopping = p->stopping;
		pthread_mutex_unlock(&p->lock);
		while (jobs != NULL) {
			struct probe_req *req = jobs;
			jobs = req->next;
			if (stopping) {
				finish_req(p, req, "aborted");
			} else if (start_req(p, req)) {
				/* A job holds a slot, and slots are PROBE_MAX_INFLIGHT. */
				active[n_active++] = req;
			}
		}
	}
	for (size_t k = 0; k < n_active; k++)
		finish_req(p, active[k], "aborted");
	return NULL;
}

/* ---- start and stop ---- */

int probe_start(struct probe **out)
{
	*out = NULL;
	struct probe *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NP_ENOMEM;
	p->epfd = p->evfd = -1;
	for (size_t i = 0; i < PROBE_MAX_INFLIGHT; i++) {
		p->reqs[i].p = p;
		for (unsigned k = 0; k < PROBE_BATCH_MAX; k++)
			p->reqs[i].fds[k] = -1;
	}
	probe_limiter_init(&p->addr_lim, PROBE_ADDR_PER_MINUTE, PROBE_ADDR_BURST, NULL);
	probe_limiter_init(&p->acct_lim, PROBE_ACCOUNT_PER_MINUTE, PROBE_ACCOUNT_BURST, NULL);
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return NP_ENOMEM;
	}
	int ret = NP_EIO;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_WAKE};
	if (p->epfd < 0 || p->evfd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &ev) != 0) {
		log_err("probe: cannot set up epoll: %m");
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, probe_thread, p) != 0) {
		log_err("probe: cannot start the probe thread");
		goto fail;
	}
	p->thread_started = true;
	*out = p;
	return NP_OK;
fail:
	probe_free(p);
	return ret;
}

bool probe_quiesce(struct probe *p)
{
	if (p == NULL)
		return true;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_mutex_unlock(&p->lock);
	if (p->thread_started) {
		uint64_t one = 1;
		if (write(p->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_err("probe: cannot wake the probe thread: %m");
		pthread_join(p->thread, NULL);
		p->thread_started = false;
	}
	return true;
}

void probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	if (p->thread_started && !probe_quiesce(p))
		return;
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->evfd >= 0)
		close(p->evfd);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
