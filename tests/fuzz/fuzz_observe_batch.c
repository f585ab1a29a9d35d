/* SPDX-License-Identifier: MIT */
/* Fuzz target for what the server reads from sensors and from its own store: the first
 * input byte picks the decoder (even: a sensor batch, JSON; odd: an address record,
 * binary; the record path also feeds a Cowrie line parser when byte 0 % 4 == 3). Decoding
 * must never crash, and what decodes must survive encode -> decode unchanged (with no
 * IPv4-mapped source left) and load into an index. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "observe/codec.h"
#include "observe/cowrie.h"

static bool same_event(const struct obs_event *a, const struct obs_event *b)
{
	return addr_equal(&a->src, &b->src) && a->time == b->time && a->kind == b->kind &&
	       a->proto == b->proto && a->dst_port == b->dst_port && a->count == b->count &&
	       strcmp(a->user, b->user) == 0 && strcmp(a->pass, b->pass) == 0;
}

static void batch(const uint8_t *data, size_t size)
{
	char id[OBS_BATCH_ID_MAX + 1], id2[OBS_BATCH_ID_MAX + 1], err[128];
	struct obs_event *ev = NULL, *ev2 = NULL;
	size_t n = 0, n2 = 0;
	int r = obs_batch_decode((const char *)data, size, id, &ev, &n, err, sizeof(err));
	CHECK(r == NP_OK || r == NP_EINVAL || r == NP_ENOMEM);
	if (r != NP_OK) {
		CHECK(ev == NULL && n == 0);
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(n <= OBS_BATCH_MAX_EVENTS);
	char *buf = NULL;
	size_t len = 0;
	CHECK(obs_batch_encode(id, ev, n, &buf, &len) == NP_OK);
	CHECK(obs_batch_decode(buf, len, id2, &ev2, &n2, err, sizeof(err)) == NP_OK);
	CHECK(strcmp(id, id2) == 0 && n == n2);
	struct obs_index *ix = obs_index_new(64, 0);
	CHECK(ix != NULL);
	for (size_t i = 0; i < n; i++) {
		CHECK(same_event(&ev[i], &ev2[i]));
		/* An IPv4-mapped source is decoded as IPv4 (addr_unmap). */
		struct np_addr unmapped = ev[i].src;
		addr_unmap(&unmapped);
		CHECK(addr_equal(&unmapped, &ev[i].src));
		CHECK(obs_index_add(ix, &ev[i]) == NP_OK);
		struct obs_verdict v;
		CHECK(obs_index_verdict(ix, &ev[i].src, ev[i].time, &v) == NP_OK);
		CHECK(v.verdict <= OBS_INFECTED);
	}
	obs_index_free(ix);
	free(buf);
	free(ev);
	free(ev2);
}

static void record(const uint8_t *data, size_t size)
{
	struct obs_record_buf rb, rb2;
	int r = obs_record_decode(data, size, &rb);
	CHECK(r == NP_OK || r == NP_EINVAL || r == NP_ENOMEM);
	if (r != NP_OK)
		return;
	const struct obs_addr_record *a = &rb.rec;
	CHECK(a->n_buckets <= OBS_MAX_BUCKETS && a->n_creds <= OBS_MAX_CREDS);
	uint8_t *buf = NULL;
	size_t len = 0;
	CHECK(obs_record_encode(a, &buf, &len) == NP_OK);
	CHECK(obs_record_decode(buf, len, &rb2) == NP_OK);
	const struct obs_addr_record *b = &rb2.rec;
	CHECK(addr_equal(&a->addr, &b->addr));
	CHECK(a->first_seen == b->first_seen && a->last_seen == b->last_seen);
	CHECK(a->n_buckets == b->n_buckets && a->n_creds == b->n_creds);
	for (size_t i = 0; i < a->n_buckets; i++)
		CHECK(memcmp(&a->buckets[i], &b->buckets[i], sizeof(a->buckets[i])) == 0);
	for (size_t i = 0; i < a->n_creds; i++)
		CHECK(strcmp(a->creds[i].user, b->creds[i].user) == 0 &&
		      strcmp(a->creds[i].pass, b->creds[i].pass) == 0 &&
		      a->creds[i].count == b->creds[i].count &&
		      a->creds[i].is_default == b->creds[i].is_default &&
		      a->creds[i].first == b->creds[i].first &&
		      a->creds[i].last == b->creds[i].last);
	/* A damaged store row must not hurt the index either. */
	struct obs_index *ix = obs_index_new(4, 0);
	CHECK(ix != NULL);
	r = obs_index_load(ix, a);
	CHECK(r == NP_OK || r == NP_ENOMEM);
	struct obs_verdict v;
	int64_t now = a->last_seen > 0 && a->last_seen < INT64_MAX / 2 ? a->last_seen : 0;
	CHECK(obs_index_verdict(ix, &a->addr, now, &v) == NP_OK);
	json_t *j = obs_verdict_json(&a->addr, &v);
	CHECK(j != NULL);
	char *s = json_dumps(j, JSON_COMPACT);
	CHECK(s != NULL);
	free(s);
	json_decref(j);
	obs_index_free(ix);
	obs_record_buf_free(&rb2);
	obs_record_buf_free(&rb);
	free(buf);
}

static void cowrie(const uint8_t *data, size_t size)
{
	struct obs_event e;
	char why[64];
	int r = obs_cowrie_parse((const char *)data, size, &e, why, sizeof(why));
	CHECK(r == NP_OK || r == NP_ENOTFOUND || r == NP_EMALFORMED);
	if (r == NP_OK) {
		CHECK(e.src.family == AF_INET || e.src.family == AF_INET6);
		CHECK(e.time >= 0);
		CHECK(strlen(e.user) <= 32 && strlen(e.pass) <= 32);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	if (sel % 2 == 0)
		batch(data + 1, size - 1);
	else if (sel % 4 == 1)
		record(data + 1, size - 1);
	else
		cowrie(data + 1, size - 1);
	return 0;
}
