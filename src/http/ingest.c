/* SPDX-License-Identifier: MIT */
/* POST /api/v1/sensor/batch: a sensor's observations. The token is proven twice: first with
 * the headers alone, on the HTTP thread through the read-only store connection, so that a
 * stranger's body is never read, buffered nor parsed (and every refusal is the same 401,
 * whatever the body); then again in the writer operation that commits the batch, since the
 * sensor may have been deleted while its body was coming in. That operation also drops a
 * batch already taken (a sensor's retry) and commits the batch to the inbox; only that
 * commit is acknowledged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "core/observer.h"
#include "http/http_int.h"
#include "observe/codec.h"
#include "store/store.h"

#define SENSOR_NAME_MAX 64

struct ingest {
	struct http_task t; /* first */
	struct writer_op op;
	char sensor[SENSOR_NAME_MAX];
	uint8_t token_hash[SECRET_HASH_LEN];
	char batch[OBS_BATCH_ID_MAX + 1];
	size_t n_events;
	char *body; /* the batch as received: the inbox keeps it as is */
	size_t body_len;
	int status;
	bool duplicate;
	int64_t inbox_id;
};

static void ingest_free(struct http_task *t)
{
	struct ingest *in = container_of(t, struct ingest, t);
	explicit_bzero(in->token_hash, sizeof(in->token_hash));
	free(in->body);
	free(in);
}

/* "Bearer NAME:SECRET" into the sensor's name and the secret's hash. */
static bool take_token(struct MHD_Connection *c, char sensor[SENSOR_NAME_MAX],
                       uint8_t hash[SECRET_HASH_LEN])
{
	const char *h =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return false;
	const char *tok = h + 7;
	const char *colon = strchr(tok, ':');
	if (colon == NULL || colon == tok || (size_t)(colon - tok) >= SENSOR_NAME_MAX)
		return false;
	size_t slen = strlen(colon + 1);
	if (slen == 0 || slen > SECRET_MAX_INPUT)
		return false;
	memcpy(sensor, tok, (size_t)(colon - tok));
	sensor[colon - tok] = '\0';
	secret_hash(colon + 1, slen, hash);
	return true;
}

/* Finds the sensor and compares its token hash in constant time: NP_OK with *s filled,
 * NP_EDENIED for an unknown sensor or a wrong token, or the store's error. */
static int sensor_verify(struct store *st, const char *sensor,
                         const uint8_t hash[SECRET_HASH_LEN], struct store_sensor *s)
{
	int ret = store_sensor_get(st, sensor, s);
	/* An unknown sensor costs the same compare as a known one with a wrong token. */
	if (ret == NP_ENOTFOUND)
		memset(s->token_hash, 0, sizeof(s->token_hash));
	else if (ret != NP_OK)
		return ret;
	if (!secret_hash_equal(s->token_hash, hash) || ret == NP_ENOTFOUND)
		return NP_EDENIED;
	return NP_OK;
}

static enum MHD_Result reply_no_token(struct MHD_Connection *c)
{
	return http_reply(c, MHD_HTTP_UNAUTHORIZED, TEXT_PLAIN,
	                  "a sensor token is needed: Authorization: Bearer NAME:SECRET\n", 60,
	                  MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"nameplate\"", NULL,
	                  NULL);
}

/* Anyone can send a bad token: at most 30 lines about them a minute. */
static struct log_budget bad_token_log = LOG_BUDGET_INIT(30);

/* The one answer to a token that is not a sensor's, whenever it is found out. */
static enum MHD_Result reply_bad_token(struct MHD_Connection *c, const char *sensor)
{
	unsigned left_out;
	bool write = log_budget_take(&bad_token_log, time_mono_ms(), &left_out);
	if (left_out > 0)
		log_event(LOG_WARNING, "auth_failure_unlogged",
		          "interface=ingest count=%u period=60", left_out);
	if (write) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		struct np_addr peer;
		char addr[INET6_ADDRSTRLEN] = "?";
		if (ci != NULL && ci->client_addr != NULL &&
		    addr_from_sockaddr(ci->client_addr, &peer) == NP_OK)
			addr_format(&peer, addr, sizeof(addr));
		log_event(LOG_WARNING, "auth_failure", "interface=ingest source=%s sensor=%s", addr,
		          sensor);
	}
	return http_reply(c, MHD_HTTP_UNAUTHORIZED, TEXT_PLAIN, "bad sensor token\n", 17,
	                  MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"nameplate\"", NULL,
	                  NULL);
}

static enum MHD_Result reply_busy(struct MHD_Connection *c)
{
	return http_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT_PLAIN, "busy, try again later\n",
	                  22, MHD_HTTP_HEADER_RETRY_AFTER, "5", NULL, NULL);
}

/* ---- with the headers: before the body ---- */

struct early {
	char sensor[SENSOR_NAME_MAX];
	uint8_t token_hash[SECRET_HASH_LEN];
};

static int early_verify(struct store *st, void *ctx)
{
	struct early *e = ctx;
	struct store_sensor s;
	return sensor_verify(st, e->sensor, e->token_hash, &s);
}

bool ingest_authorized(struct http_server *hs, struct MHD_Connection *c, enum MHD_Result *ret)
{
	struct early e;
	if (!take_token(c, e.sensor, e.token_hash)) {
		*ret = reply_no_token(c);
		return false;
	}
	int rc = http_store_read(hs, early_verify, &e);
	explicit_bzero(e.token_hash, sizeof(e.token_hash));
	if (rc == NP_OK)
		return true;
	if (rc == NP_EDENIED) {
		*ret = reply_bad_token(c, e.sensor);
	} else {
		log_warn("ingest: cannot look up sensor tokens: %s", np_strerror(rc));
		*ret = reply_busy(c);
	}
	return false;
}

/* ---- with the whole batch: the writer commits it ---- */

static int ingest_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct ingest *in = container_of(op, struct ingest, op);
	struct store *st = writer_txn_store(txn);
	struct store_sensor s;
	/* Proven before the body was read, and again here in the committing transaction: a
	 * sensor deleted meanwhile (nameplatectl sensor del) commits nothing. */
	int ret = sensor_verify(st, in->sensor, in->token_hash, &s);
	if (ret != NP_OK)
		return ret;
	int64_t now = time_now();
	ret = store_sensor_batch_add(st, s.id, in->batch, now, &in->duplicate);
	if (ret == NP_OK && !in->duplicate && in->n_events > 0) {
		char source[SENSOR_NAME_MAX + 8];
		snprintf(source, sizeof(source), "sensor:%s", in->sensor);
		ret = store_obs_inbox_add(st, source, STORE_OBS_BATCH, in->body, in->body_len, now,
		                          &in->inbox_id);
	}
	if (ret == NP_OK)
		ret = store_sensor_seen(st, s.id, now);
	return ret;
}

static void ingest_done(struct writer_op *op, int status)
{
	struct ingest *in = container_of(op, struct ingest, op);
	in->status = status;
	if (status == NP_OK && in->inbox_id > 0)
		observer_committed(http_observer(in->t.hs), in->inbox_id);
	http_task_resolve(&in->t);
}

static void ingest_refused(struct http_task *t, int rc)
{
	container_of(t, struct ingest, t)->status = rc;
}

static enum MHD_Result ingest_answer(struct http_task *t)
{
	struct ingest *in = container_of(t, struct ingest, t);
	if (in->status == NP_EDENIED)
		return reply_bad_token(t->conn, in->sensor);
	if (in->status != NP_OK)
		return reply_busy(t->conn);
	char esc[SENSOR_NAME_MAX * 4];
	log_escape(esc, sizeof(esc), in->sensor, strlen(in->sensor));
	char body[96];
	int n = snprintf(body, sizeof(body), "{\"accepted\": %zu, \"duplicate\": %s}\n",
	                 in->duplicate ? 0 : in->n_events, in->duplicate ? "true" : "false");
	log_debug("ingest: sensor '%s' batch %s: %zu events%s", esc, in->batch, in->n_events,
	          in->duplicate ? " (duplicate)" : "");
	return http_reply(t->conn, MHD_HTTP_OK, APP_JSON, body, (size_t)n, NULL, NULL, NULL, NULL);
}

enum MHD_Result ingest_serve(struct http_request *r)
{
	struct MHD_Connection *c = r->conn;
	const struct config *cfg = http_config(r->hs);
	struct ingest *in = calloc(1, sizeof(*in));
	if (in == NULL)
		return http_reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	enum MHD_Result ret;
	/* Checked with the headers already (ingest_authorized); the header is read again for
	 * the writer's own check. */
	if (!take_token(c, in->sensor, in->token_hash)) {
		ret = reply_no_token(c);
		goto fail;
	}
	char err[160], msg[200];
	struct obs_event *ev = NULL;
	if (r->body_len == 0 || obs_batch_decode(r->body, r->body_len, in->batch, &ev,
	                                         &in->n_events, err, sizeof(err)) != NP_OK) {
		snprintf(msg, sizeof(msg), "bad batch: %s\n", r->body_len == 0 ? "no body" : err);
		ret = http_reply_text(c, MHD_HTTP_BAD_REQUEST, msg);
		goto fail;
	}
	int64_t latest = time_now() + (int64_t)cfg->obs_max_clock_skew;
	for (size_t i = 0; i < in->n_events; i++) {
		if (ev[i].time > latest) {
			snprintf(msg, sizeof(msg),
			         "bad batch: event %zu: time is in the future (check the sensor's "
			         "clock)\n",
			         i);
			free(ev);
			ret = http_reply_text(c, MHD_HTTP_BAD_REQUEST, msg);
			goto fail;
		}
	}
	free(ev);
	in->body = malloc(r->body_len);
	if (in->body == NULL) {
		ret = http_reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
		goto fail;
	}
	memcpy(in->body, r->body, r->body_len);
	in->body_len = r->body_len;
	in->t.answer = ingest_answer;
	in->t.free_fn = ingest_free;
	in->op.apply = ingest_apply;
	in->op.done = ingest_done;
	return http_task_submit(r, &in->t, &in->op, ingest_refused);
fail:
	ingest_free(&in->t);
	return ret;
}
