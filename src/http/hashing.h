/* SPDX-License-Identifier: MIT */
/* A small pool of threads for argon2id checks (sign-in, re-authentication), so that a
 * password check (about 0.1 s) never holds one of libmicrohttpd's threads. The queue is
 * bounded: when it is full the request is answered 503 at once instead of waiting. */
#ifndef NP_HTTP_HASHING_H
#define NP_HTTP_HASHING_H

#include "common/err.h"

struct hashing;

struct hashing_job {
	/* Runs on a pool thread; it owns the job from then on. */
	void (*run)(struct hashing_job *job);
	struct hashing_job *next; /* the pool's queue link */
};

int hashing_start(struct hashing **out, unsigned threads, unsigned queue_max) np_mustcheck;
/* Runs the queued jobs, then stops the threads. */
void hashing_stop(struct hashing *h);
/* Queues job; NP_EAGAIN when the queue is full or the pool is stopping (run is not called
 * then). */
int hashing_submit(struct hashing *h, struct hashing_job *job) np_mustcheck;

#endif
