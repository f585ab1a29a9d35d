/* SPDX-License-Identifier: MIT */
/* The pending-event queue: events from the honeypot and capture threads, folded by identity
 * into counted events, swapped out whole by the main thread for each batch. */
#include <stdlib.h>
#include <string.h>

#include "sensor/sensor.h"

int sensor_queue_init(struct sensor_queue *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	size_t nslots = 16;
	while (nslots < max * 2)
		nslots *= 2;
	q->max = max;
	q->nslots = nslots;
	q->cur = calloc(max, sizeof(*q->cur));
	q->spare = calloc(max, sizeof(*q->spare));
	q->slots = calloc(nslots, sizeof(*q->slots));
	if (q->cur == NULL || q->spare == NULL || q->slots == NULL) {
		sensor_queue_deinit(q);
		return NP_ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	return NP_OK;
}

void sensor_queue_deinit(struct sensor_queue *q)
{
	if (q->slots != NULL)
		pthread_mutex_destroy(&q->lock);
	free(q->cur);
	free(q->spare);
	free(q->slots);
	q->cur = q->spare = NULL;
	q->slots = NULL;
}

/* Events within the same hour fold together: the index buckets hourly, so the count lands in
 * the bucket it belongs to even with a long batch_interval. */
static int64_t hour_of(int64_t t)
{
	return t >= 0 ? t / 3600 : (t - 3599) / 3600;
}

static bool same(const struct obs_event *a, const struct obs_event *b)
{
	return a->kind == b->kind && a->proto == b->proto && a->dst_port == b->dst_port &&
	       hour_of(a->time) == hour_of(b->time) && addr_equal(&a->src, &b->src) &&
	       strcmp(a->user, b->user) == 0 && strcmp(a->pass, b->pass) == 0;
}

/* FNV-1a over the identity fields. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static uint64_t hash_event(const struct obs_event *e)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	int64_t hour = hour_of(e->time);
	uint32_t kind = (uint32_t)e->kind;
	h = mix(h, e->src.bytes, e->src.family == AF_INET ? 4 : 16);
	h = mix(h, &kind, sizeof(kind));
	h = mix(h, &e->proto, sizeof(e->proto));
	h = mix(h, &e->dst_port, sizeof(e->dst_port));
	h = mix(h, &hour, sizeof(hour));
	h = mix(h, e->user, strlen(e->user));
	h = mix(h, "\0", 1);
	h = mix(h, e->pass, strlen(e->pass));
	return h;
}

void sensor_queue_add(struct sensor_queue *q, const struct obs_event *e)
{
	uint32_t add = e->count == 0 ? 1 : e->count;
	uint64_t h = hash_event(e);
	pthread_mutex_lock(&q->lock);
	q->added += add;
	size_t mask = q->nslots - 1;
	size_t i = (size_t)h & mask;
	/* The table is at most half full, so a free slot always ends the probe. */
	for (size_t probes = 0; probes < q->nslots; probes++, i = (i + 1) & mask) {
		uint32_t s = q->slots[i];
		if (s == 0) {
			if (q->n >= q->max) {
				q->dropped += add;
				break;
			}
			q->cur[q->n] = *e;
			q->cur[q->n].count = add;
			q->slots[i] = (uint32_t)(++q->n);
			break;
		}
		struct obs_event *x = &q->cur[s - 1];
		if (same(x, e)) {
			x->count = x->count > UINT32_MAX - add ? UINT32_MAX : x->count + add;
			break;
		}
	}
	pthread_mutex_unlock(&q->lock);
}

bool sensor_queue_full(struct sensor_queue *q)
{
	pthread_mutex_lock(&q->lock);
	bool full = q->n >= q->max;
	pthread_mutex_unlock(&q->lock);
	return full;
}

size_t sensor_queue_take(struct sensor_queue *q, const struct obs_event **out, uint64_t *dropped)
{
	pthread_mutex_lock(&q->lock);
	struct obs_event *taken = q->cur;
	size_t n = q->n;
	q->cur = q->spare;
	q->spare = taken;
	q->n = 0;
	*dropped = q->dropped;
	q->dropped = 0;
	memset(q->slots, 0, q->nslots * sizeof(*q->slots));
	pthread_mutex_unlock(&q->lock);
	*out = taken;
	return n;
}
