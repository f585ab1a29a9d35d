/* SPDX-License-Identifier: MIT */
/* The argon2id thread pool: a mutex-protected FIFO and a condition variable. */
#include "http/hashing.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define HASHING_THREADS_MAX 8

struct hashing {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hashing_job *head, *tail;
	unsigned queued, queue_max;
	bool stopping;
	pthread_t threads[HASHING_THREADS_MAX];
	unsigned n_threads;
};

static void *worker(void *arg)
{
	struct hashing *h = arg;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->head == NULL && !h->stopping)
			pthread_cond_wait(&h->cv, &h->mu);
		struct hashing_job *job = h->head;
		if (job == NULL)
			break; /* stopping, and nothing left */
		h->head = job->next;
		if (h->head == NULL)
			h->tail = NULL;
		h->queued--;
		pthread_mutex_unlock(&h->mu);
		job->run(job);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int hashing_start(struct hashing **out, unsigned threads, unsigned queue_max)
{
	*out = NULL;
	struct hashing *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NP_ENOMEM;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->queue_max = queue_max;
	if (threads > HASHING_THREADS_MAX)
		threads = HASHING_THREADS_MAX;
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&h->threads[i], NULL, worker, h) != 0) {
			hashing_stop(h);
			return NP_EFAILED;
		}
		h->n_threads++;
	}
	*out = h;
	return NP_OK;
}

void hashing_stop(struct hashing *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	for (unsigned i = 0; i < h->n_threads; i++)
		pthread_join(h->threads[i], NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int hashing_submit(struct hashing *h, struct hashing_job *job)
{
	pthread_mutex_lock(&h->mu);
	if (h->stopping || h->queued >= h->queue_max) {
		pthread_mutex_unlock(&h->mu);
		return NP_EAGAIN;
	}
	job->next = NULL;
	if (h->tail != NULL)
		h->tail->next = job;
	else
		h->head = job;
	h->tail = job;
	h->queued++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return NP_OK;
}
