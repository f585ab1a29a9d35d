/* SPDX-License-Identifier: MIT */
/* The reachability probe (GET /nic/probe?port=N, or the batch form
 * GET /nic/probe?tcp=N,N..&udp=N,N..): tests whether ports on the requester's own address
 * answer from outside. It only ever connects back to the address the request came from (the
 * TCP peer, or X-Forwarded-For from a trusted proxy); no argument can name another target.
 * Authenticated like dyndns2 and rate-limited, every port counted. */
#ifndef NP_HTTP_PROBE_H
#define NP_HTTP_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/err.h"
#include "common/secret.h"

/* A connect that has not answered within this long is "filtered". */
#define PROBE_TIMEOUT_MS 3000
/* Probes being served at once (authentication and connect); more get 503. */
#define PROBE_MAX_INFLIGHT 8
/* Ports in one batch request: one audit's risky list and mappings fit in a few. */
#define PROBE_BATCH_MAX 32
/* Token buckets, one token per port probed: per requesting address (IPv6 by its /64) and
 * per account. A burst holds a few audits' batches; a single-port probe costs one. */
#define PROBE_ADDR_PER_MINUTE    96
#define PROBE_ADDR_BURST         128
#define PROBE_ACCOUNT_PER_MINUTE 192
#define PROBE_ACCOUNT_BURST      256
/* Entries of one rate-limit table: fixed, in sets of PROBE_LIMIT_WAYS, least useful
 * entry of a set evicted when a new key needs room. */
#define PROBE_LIMIT_SLOTS 4096
#define PROBE_LIMIT_WAYS  8
#define PROBE_KEY_MAX     16
/* Longest answer body: a batch's lines ("filtered 65535/tcp\n" each) and the 400 texts. */
#define PROBE_BODY_MAX (PROBE_BATCH_MAX * 20 + 32)

/* ---- Parameters (pure; unit-tested) ---- */

/* What a request's arguments amount to, most serious first. */
enum probe_param_verdict {
	PROBE_PARAMS_OK,
	PROBE_PARAMS_TARGET,    /* an argument names a target: ip, host, target, addr, ... */
	PROBE_PARAMS_BAD_PORT,  /* no port, not 1..65535, given twice, or both forms */
	PROBE_PARAMS_TOO_MANY,  /* a batch of more than PROBE_BATCH_MAX ports */
	PROBE_PARAMS_BAD_PROTO, /* proto other than tcp */
	PROBE_PARAMS_UNKNOWN,   /* any other argument */
};

/* One port of a request; udp is probed with a datagram its service answers (an SSDP
 * M-SEARCH on 1900, a NAT-PMP request on 5351, an empty one elsewhere). */
struct probe_port {
	uint16_t port;
	bool udp;
};

struct probe_params {
	uint16_t port;
	unsigned n_port, n_proto, n_tcp, n_udp;
	bool target, bad_port, bad_proto, unknown, too_many;
	/* the batch form: tcp= and udp= comma lists, duplicates dropped */
	struct probe_port batch[PROBE_BATCH_MAX];
	unsigned n_batch;
};

/* Incremental, straight from libmicrohttpd's argument iterator: keys and values are
 * percent-decoded, may contain NUL, value may be NULL (no '='). Keys are matched without
 * regard to case. */
void probe_params_init(struct probe_params *p);
void probe_params_add(struct probe_params *p, const char *key, size_t key_len, const char *value,
                      size_t value_len);
enum probe_param_verdict probe_params_verdict(const struct probe_params *p);
/* The 400 body for a verdict other than OK ("bad port\n", ...); never NULL. */
const char *probe_params_message(enum probe_param_verdict v);

/* ---- Rate limiting (pure; unit-tested; not thread-safe: the caller locks) ---- */

/* One key's state as a GCRA ("virtual scheduling") token bucket: tat is the theoretical
 * arrival time; a key whose tat is in the past has its full burst, like an absent key. */
struct probe_bucket {
	int64_t tat_ms;
	uint8_t key[PROBE_KEY_MAX];
	uint8_t klen; /* 0: unused */
};

struct probe_limiter {
	int64_t interval_ms; /* 60000 / per_minute: one token comes back per interval */
	int64_t tau_ms;      /* (burst - 1) * interval: how far ahead tat may run */
	uint8_t seed[16];    /* SipHash key: sets cannot be aimed at from outside */
	struct probe_bucket b[PROBE_LIMIT_SLOTS];
};

/* per_minute in 1..60000, burst >= 1. seed may be NULL (random). */
void probe_limiter_init(struct probe_limiter *l, unsigned per_minute, unsigned burst,
                        const uint8_t seed[16]);
/* Takes one token for key (klen 1..PROBE_KEY_MAX bytes) at time now_ms (monotonic).
 * Returns 0 when taken, else the whole seconds (>= 1) until a token is available. */
unsigned probe_limiter_take(struct probe_limiter *l, const void *key, size_t klen, int64_t now_ms);
/* The same for n tokens at once (all or none). */
unsigned probe_limiter_take_n(struct probe_limiter *l, const void *key, size_t klen, unsigned n,
                              int64_t now_ms);
/* The key of an address: IPv4 whole, IPv6 by its /64 (one subscriber's prefix). Returns
 * its length. */
size_t probe_addr_key(const struct np_addr *a, uint8_t key[PROBE_KEY_MAX]);

/* False for addresses a connect must never go to even when a request comes "from" them
 * (through a trusted proxy): unspecified, 0.0.0.0/8, multicast, reserved, broadcast. */
bool probe_addr_usable(const struct np_addr *a);

/* ---- The service ---- */

struct probe;
struct probe_req;
struct MHD_Connection;

/* An answer for http.c to queue: status, plain-text body, one optional header. */
struct probe_answer {
	unsigned status;
	char body[PROBE_BODY_MAX];
	const char *hname; /* NULL: none */
	char hvalue[32];
};

struct dyndns2_identity;

/* Starts the probe thread. */
int probe_start(struct probe **out) np_mustcheck;

/* Begins a probe of the ports of pp (an OK verdict) on client's address for the account
 * id proved (the caller authenticated it, off the writer's thread). Returns true when the
 * connection was suspended and *con_cls set to the request: libmicrohttpd is resumed once
 * the answer is known (probe_answer_of). Returns false with *a filled when the answer is
 * known now (429, 503, 400). */
bool probe_begin(struct probe *p, struct MHD_Connection *c, const struct np_addr *client,
                 const struct dyndns2_identity *id, const struct probe_params *pp,
                 void **con_cls, struct probe_answer *a);
/* True when con_cls is a request of p (so http.c knows whose it is). */
bool probe_owns(const struct probe *p, const void *con_cls);
/* After the resume: false while the answer is not known yet, else true with *a filled. */
bool probe_answer_of(void *con_cls, struct probe_answer *a);
/* libmicrohttpd is done with the request (its completion callback). */
void probe_release(struct probe *p, void *con_cls);

/* Refuses new probes, aborts the connects in flight (answered 503) and waits (bounded)
 * until the writer has given back every request it holds. Returns false if it still holds
 * some: then neither libmicrohttpd nor p may be freed. */
bool probe_quiesce(struct probe *p);
/* Stops the thread and frees p; every request must have been released. */
void probe_free(struct probe *p);

#endif
