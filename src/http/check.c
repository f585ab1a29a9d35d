/* SPDX-License-Identifier: MIT */
/* The "am I infected?" check: the pages under /check and the JSON API under /api/v1/check.
 *
 * Only the requester's own address is ever checked (r->client: the peer, or what a trusted
 * proxy forwarded); no request can name another. A check is one writer operation that
 * applies the rate limits, stores the check (only keyed hashes of its token, of the
 * browser's cookie and of the mail address) and queues the result mail in the same
 * transaction, so an accepted check never loses its mail. The result page opens only with
 * the mailed token AND the cookie of the browser that asked. Forms carry a double-submit
 * CSRF value (cookie np_csrf = hidden field), and a POST that a browser says came from
 * another site is refused (http_form_from_us). */
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"
#include "core/mailer.h"
#include "core/observer.h"
#include "http/check_page.h"
#include "http/dyndns2.h"
#include "http/http_int.h"
#include "account/throttle.h"
#include "http/template.h"
#include "observe/codec.h"
#include "store/store.h"

#define COOKIE_CHECK "np_check"
#define COOKIE_CSRF  "np_csrf"
#define HOUR         3600
#define DAY          86400
/* The service-wide refusals (everyone's hourly checks, a full outbox) are logged at most
 * this often. */
#define FULL_LOG_EVERY 60
/* Retry-After when the outbox is full: the relay needs time to catch up. */
#define RETRY_OUTBOX "900"
/* Addresses the in-memory limits remember (API asks and re-checks): 32 bytes each. */
#define LIMIT_SLOTS 4096
#define LIMIT_PROBE 16

/* ---- in-memory limits ----
 * The API's own-address verdict and the "check again" button have no row of their own to
 * count, so their per-address limit lives here: a fixed table, one hour window per address,
 * the oldest slot of a probe run reused when full. Lost on restart, which only resets
 * counts. */
struct limit_slot {
	struct np_addr a;
	int64_t start;
	unsigned n;
};

struct limiter {
	pthread_mutex_t mu;
	struct limit_slot slot[LIMIT_SLOTS];
};

struct check_state {
	struct limiter api;     /* GET /api/v1/check */
	struct limiter recheck; /* "check again" */
	int64_t last_full_log;  /* writer thread only (start_apply) */
};

struct check_state *check_state_new(void)
{
	struct check_state *cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return NULL;
	pthread_mutex_init(&cs->api.mu, NULL);
	pthread_mutex_init(&cs->recheck.mu, NULL);
	return cs;
}

void check_state_free(struct check_state *cs)
{
	if (cs == NULL)
		return;
	pthread_mutex_destroy(&cs->api.mu);
	pthread_mutex_destroy(&cs->recheck.mu);
	free(cs);
}

static size_t addr_hash(const struct np_addr *a)
{
	size_t n = a->family == AF_INET ? 4 : 8; /* IPv6 counts per /64 */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a->bytes[i]) * 16777619u;
	return h;
}

static bool limit_same(const struct np_addr *a, const struct np_addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 8;
	return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

/* The slot of a (found, or taken over); caller holds the lock. */
static struct limit_slot *limit_slot(struct limiter *l, const struct np_addr *a, int64_t now)
{
	size_t h = addr_hash(a);
	struct limit_slot *victim = NULL;
	for (size_t i = 0; i < LIMIT_PROBE; i++) {
		struct limit_slot *s = &l->slot[(h + i) % LIMIT_SLOTS];
		if (s->a.family == 0) {
			/* The first free slot wins over any used one. */
			if (victim == NULL || victim->a.family != 0)
				victim = s;
			continue;
		}
		if (limit_same(&s->a, a)) {
			if (now - s->start >= HOUR) {
				s->start = now;
				s->n = 0;
			}
			return s;
		}
		if (victim == NULL || (victim->a.family != 0 && s->start < victim->start))
			victim = s;
	}
	victim->a = *a;
	victim->start = now;
	victim->n = 0;
	return victim;
}

/* How many hits a has in its current hour. */
static unsigned limit_count(struct limiter *l, const struct np_addr *a, int64_t now)
{
	pthread_mutex_lock(&l->mu);
	unsigned n = limit_slot(l, a, now)->n;
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* Counts one hit unless a already has max in its hour; true when counted. */
static bool limit_take(struct limiter *l, const struct np_addr *a, int64_t now, unsigned max)
{
	pthread_mutex_lock(&l->mu);
	struct limit_slot *s = limit_slot(l, a, now);
	bool ok = s->n < max;
	if (ok)
		s->n++;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

/* ---- the request ---- */

enum check_kind {
	CK_START,     /* POST /check */
	CK_VIEW,      /* GET /check/<token> */
	CK_RECHECK,   /* POST /check/<token> */
	CK_API_TOKEN, /* GET /api/v1/check/<token> */
};

/* What the writer op found. */
enum check_outcome {
	OUT_OK,
	OUT_LIMIT_ADDR,
	OUT_LIMIT_NET,
	OUT_LIMIT_EMAIL,
	OUT_LIMIT_GLOBAL, /* everyone's checks this hour: 503 */
	OUT_OUTBOX_FULL,  /* too much unsent mail: 503 */
	OUT_UNKNOWN,
	OUT_EXPIRED,
	OUT_FORBIDDEN,
};

struct check_req {
	struct http_task t; /* first */
	struct writer_op op;
	enum check_kind kind;
	const struct config *cfg;
	int status; /* the writer's */
	enum check_outcome outcome;
	struct np_addr client;
	char addr[INET6_ADDRSTRLEN + 4]; /* as the verdict JSON names it (IPv6: the /64) */
	int64_t now;
	char token[CHECK_TOKEN_LEN + 1];
	uint8_t token_hash[SECRET_HASH_LEN];
	char cookie[CHECK_TOKEN_LEN + 1]; /* np_check: presented, or new for a new check */
	uint8_t cookie_hash[SECRET_HASH_LEN];
	char csrf[CHECK_TOKEN_LEN + 1]; /* np_csrf for the page's form */
	char email[CHECK_EMAIL_MAX + 1];
	uint8_t email_hash[SECRET_HASH_LEN];
	char *result; /* verdict JSON text: computed (start, re-check) or read (view) */
	char *subject, *body;
	int64_t updated, expires;
	int64_t retry_after; /* OUT_LIMIT_GLOBAL: seconds until the hour has room */
};

static void req_free(struct http_task *t)
{
	struct check_req *q = container_of(t, struct check_req, t);
	free(q->result);
	free(q->subject);
	free(q->body);
	sodium_memzero(q, sizeof(*q));
	free(q);
}

/* ---- replies ---- */

static enum MHD_Result send_page(struct MHD_Connection *c, unsigned status, struct buf *b,
                                 const char *hname, const char *hvalue)
{
	enum MHD_Result ret;
	if (b->err)
		ret = http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                      "the page could not be made\n");
	else
		ret = http_reply(c, status, TEXT_HTML, b->p, b->len, "Content-Security-Policy",
		                 TPL_CSP, hname, hvalue);
	buf_free(b);
	return ret;
}

static enum MHD_Result message(struct MHD_Connection *c, unsigned status, const char *title,
                               const char *text, const char *hname, const char *hvalue)
{
	struct buf b;
	buf_init(&b, CHECK_PAGE_MAX);
	check_page_message(&b, title, text);
	return send_page(c, status, &b, hname, hvalue);
}

static enum MHD_Result json_error(struct MHD_Connection *c, unsigned status, const char *text,
                                  const char *hname, const char *hvalue)
{
	json_t *o = json_pack("{s:s}", "error", text);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s == NULL)
		return MHD_NO;
	enum MHD_Result ret =
	    http_reply(c, status, APP_JSON, s, strlen(s), hname, hvalue, NULL, NULL);
	free(s);
	return ret;
}

static enum MHD_Result json_reply(struct MHD_Connection *c, json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (s == NULL)
		return json_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL, NULL);
	enum MHD_Result ret =
	    http_reply(c, MHD_HTTP_OK, APP_JSON, s, strlen(s), NULL, NULL, NULL, NULL);
	free(s);
	return ret;
}

static bool secure_cookies(const struct config *cfg)
{
	return strncmp(cfg->check_public_url, "https://", 8) == 0;
}

static void csrf_cookie(const struct config *cfg, const char *value, char *out, size_t len)
{
	snprintf(out, len, COOKIE_CSRF "=%s; Path=/; HttpOnly; SameSite=Strict%s", value,
	         secure_cookies(cfg) ? "; Secure" : "");
}

/* ---- request helpers ---- */

/* The value of cookie name when it has the form of a token, else false. */
static bool get_cookie(struct MHD_Connection *c, const char *name, char out[CHECK_TOKEN_LEN + 1])
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	return h != NULL && check_cookie_get(h, name, out, CHECK_TOKEN_LEN + 1) &&
	       check_token_valid(out);
}

/* The verdict for the requester's address now, as JSON text into q->result, with its
 * address into q->addr. */
static int compute_verdict(struct http_request *r, struct check_req *q, char *verdict, size_t vlen,
                           char *rule, size_t rlen)
{
	struct observer *o = http_observer(r->hs);
	struct obs_verdict v;
	if (o == NULL || obs_index_verdict(observer_index(o), &r->client, q->now, &v) != NP_OK)
		return NP_EFAILED;
	json_t *j = obs_verdict_json(&r->client, &v);
	if (j == NULL)
		return NP_ENOMEM;
	np_strlcpy(q->addr, json_string_value(json_object_get(j, "address")), sizeof(q->addr));
	if (verdict != NULL)
		np_strlcpy(verdict, obs_verdict_name(v.verdict), vlen);
	if (rule != NULL)
		np_strlcpy(rule, obs_rule_name(v.rule), rlen);
	q->result = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return q->result != NULL ? NP_OK : NP_ENOMEM;
}

/* ---- writer operations ---- */

/* Reads the check and decides unknown / expired / someone else's browser. */
static int load_check(struct store *st, struct check_req *q, struct store_check *sc)
{
	int ret = store_check_get(st, q->token_hash, sc);
	if (ret == NP_ENOTFOUND) {
		q->outcome = OUT_UNKNOWN;
		return NP_ENOTFOUND;
	}
	if (ret != NP_OK)
		return ret;
	if (sc->expires <= q->now || sc->result == NULL || sc->result[0] == '\0')
		q->outcome = OUT_EXPIRED;
	else if (!secret_hash_equal(sc->cookie_hash, q->cookie_hash))
		q->outcome = OUT_FORBIDDEN;
	else
		q->outcome = OUT_OK;
	return NP_OK;
}

/* A network around the requester: the bytes of its net key that name it (the family's
 * and the prefix's) and the checks it may start in an hour. */
struct net_limit {
	size_t prefix;
	unsigned max;
};

/* Whether the networks around the requester (IPv4 /24; IPv6 /56 and /48) have room for
 * another check this hour. Counted in the store, like per_address_hour. */
static int nets_have_room(struct store *st, const struct check_req *q, bool *room)
{
	const struct config *cfg = q->cfg;
	uint8_t key[STORE_CHECK_NET_LEN];
	store_net_key(&q->client, key);
	struct net_limit v4[] = {{1 + 3, cfg->check_per_net24_hour}};
	struct net_limit v6[] = {{1 + 7, cfg->check_per_net56_hour},
	                         {1 + 6, cfg->check_per_net48_hour}};
	bool is_v4 = q->client.family == AF_INET;
	const struct net_limit *nets = is_v4 ? v4 : v6;
	size_t n = is_v4 ? ARRAY_SIZE(v4) : ARRAY_SIZE(v6);
	*room = true;
	for (size_t i = 0; i < n && *room; i++) {
		unsigned count = 0;
		int ret = store_check_count_net(st, key, nets[i].prefix, q->now - HOUR, &count);
		if (ret != NP_OK)
			return ret;
		*room = count < nets[i].max;
	}
	return NP_OK;
}

/* Logs a service-wide refusal with the outbox's state, at most once a minute. */
static void log_full(struct check_req *q, const char *what, unsigned outbox, int64_t oldest)
{
	struct check_state *cs = http_check_state(q->t.hs);
	if (q->now - cs->last_full_log < FULL_LOG_EVERY)
		return;
	cs->last_full_log = q->now;
	log_warn("check: %s; new checks get 503 (outbox: %u unsent mails, the oldest %llds old)",
	         what, outbox, oldest > 0 ? (long long)(q->now - oldest) : 0LL);
}

/* Limits on the whole service, after the requester's own: everyone's checks this hour
 * (global_per_hour) and the mail not yet sent (outbox_max). Either sets q->outcome. */
static int service_has_room(struct store *st, struct check_req *q)
{
	const struct config *cfg = q->cfg;
	unsigned all = 0, outbox = 0;
	int64_t first = 0, oldest = 0;
	int ret = store_check_count_all(st, q->now - HOUR, &all, &first);
	if (ret == NP_OK)
		ret = store_mail_stats(st, &outbox, &oldest);
	if (ret != NP_OK)
		return ret;
	if (all >= cfg->check_global_per_hour) {
		q->outcome = OUT_LIMIT_GLOBAL;
		/* Room again once the oldest check of the hour leaves it. */
		q->retry_after = first + HOUR - q->now;
		if (q->retry_after < 1 || q->retry_after > HOUR)
			q->retry_after = HOUR;
		char what[80];
		snprintf(what, sizeof(what), "%u checks in the last hour (global_per_hour)", all);
		log_full(q, what, outbox, oldest);
	} else if (outbox >= cfg->check_outbox_max) {
		q->outcome = OUT_OUTBOX_FULL;
		log_full(q, "the outbox is full (outbox_max)", outbox, oldest);
	}
	return NP_OK;
}

static int start_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct check_req *q = container_of(op, struct check_req, op);
	struct store *st = writer_txn_store(txn);
	const struct config *cfg = q->cfg;
	unsigned by_addr = 0, by_email = 0, unused = 0;
	bool net_room = true;
	int ret = store_check_expire(st, q->now);
	if (ret == NP_OK)
		ret = store_check_count(st, q->addr, NULL, q->now - HOUR, &by_addr, NULL);
	if (ret == NP_OK)
		ret =
		    store_check_count(st, q->addr, q->email_hash, q->now - DAY, &unused, &by_email);
	if (ret == NP_OK)
		ret = nets_have_room(st, q, &net_room);
	if (ret != NP_OK)
		return ret;
	by_addr += limit_count(&http_check_state(q->t.hs)->recheck, &q->client, q->now);
	if (by_addr >= cfg->check_per_address_hour) {
		q->outcome = OUT_LIMIT_ADDR;
		return NP_OK;
	}
	if (!net_room) {
		q->outcome = OUT_LIMIT_NET;
		return NP_OK;
	}
	if (by_email >= cfg->check_per_email_day) {
		q->outcome = OUT_LIMIT_EMAIL;
		return NP_OK;
	}
	q->outcome = OUT_OK;
	ret = service_has_room(st, q);
	if (ret != NP_OK || q->outcome != OUT_OK)
		return ret;
	struct store_check sc = {0};
	store_net_key(&q->client, sc.net);
	memcpy(sc.token_hash, q->token_hash, SECRET_HASH_LEN);
	memcpy(sc.cookie_hash, q->cookie_hash, SECRET_HASH_LEN);
	memcpy(sc.email_hash, q->email_hash, SECRET_HASH_LEN);
	np_strlcpy(sc.addr, q->addr, sizeof(sc.addr));
	sc.created = sc.updated = q->now;
	sc.expires = q->expires;
	sc.result = q->result;
	ret = store_check_add(st, &sc, NULL);
	if (ret == NP_OK)
		ret = store_mail_add(st, q->email, q->subject, q->body, q->now, NULL);
	if (ret == NP_OK)
		q->outcome = OUT_OK;
	return ret;
}

static int view_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct check_req *q = container_of(op, struct check_req, op);
	struct store_check sc = {0};
	int ret = load_check(writer_txn_store(txn), q, &sc);
	if (ret == NP_OK && q->outcome == OUT_OK) {
		q->result = sc.result;
		sc.result = NULL;
		q->updated = sc.updated;
		q->expires = sc.expires;
	}
	store_check_free(&sc);
	return ret == NP_ENOTFOUND ? NP_OK : ret;
}

static int recheck_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct check_req *q = container_of(op, struct check_req, op);
	struct store *st = writer_txn_store(txn);
	struct store_check sc = {0};
	int ret = load_check(st, q, &sc);
	int64_t id = sc.id;
	store_check_free(&sc);
	if (ret != NP_OK || q->outcome != OUT_OK)
		return ret == NP_ENOTFOUND ? NP_OK : ret;
	unsigned by_addr = 0;
	ret = store_check_count(st, q->addr, NULL, q->now - HOUR, &by_addr, NULL);
	if (ret != NP_OK)
		return ret;
	/* The same limit as new checks from this address: rows plus re-checks. */
	unsigned limit = q->cfg->check_per_address_hour;
	if (by_addr >= limit ||
	    !limit_take(&http_check_state(q->t.hs)->recheck, &q->client, q->now, limit - by_addr)) {
		q->outcome = OUT_LIMIT_ADDR;
		return NP_OK;
	}
	return store_check_update(st, id, q->addr, q->result, q->now);
}

static void req_done(struct writer_op *op, int status)
{
	struct check_req *q = container_of(op, struct check_req, op);
	q->status = status;
	if (q->kind == CK_START && status == NP_OK && q->outcome == OUT_OK)
		mailer_poke(http_mailer(q->t.hs));
	http_task_resolve(&q->t);
}

static void req_refused(struct http_task *t, int rc)
{
	container_of(t, struct check_req, t)->status = rc;
}

/* ---- answers (HTTP thread, after the writer) ---- */

static enum MHD_Result answer_trouble(struct check_req *q, bool json)
{
	struct MHD_Connection *c = q->t.conn;
	switch (q->outcome) {
	case OUT_UNKNOWN:
		return json ? json_error(c, MHD_HTTP_NOT_FOUND, "no such check", NULL, NULL)
		            : message(c, MHD_HTTP_NOT_FOUND, "No such check",
		                      "This link does not belong to any check. Check that you "
		                      "copied the whole link from the mail.",
		                      NULL, NULL);
	case OUT_EXPIRED:
		return json ? json_error(c, MHD_HTTP_GONE, "this check has expired", NULL, NULL)
		            : message(c, MHD_HTTP_GONE, "This result has expired",
		                      "Results are kept only for a few days. Start a new check.",
		                      NULL, NULL);
	case OUT_FORBIDDEN:
		return json
		           ? json_error(c, MHD_HTTP_FORBIDDEN,
		                        "open the link in the browser you used to ask", NULL, NULL)
		           : message(c, MHD_HTTP_FORBIDDEN, "Open the link in the browser you used",
		                     "A result opens only in the browser that asked for the check "
		                     "(it keeps a cookie for it). Open the link there.",
		                     NULL, NULL);
	case OUT_LIMIT_ADDR:
		return message(c, MHD_HTTP_TOO_MANY_REQUESTS, "Too many checks",
		               "This address has been checked too often in the last hour. Please "
		               "try again later.",
		               MHD_HTTP_HEADER_RETRY_AFTER, "3600");
	case OUT_LIMIT_NET:
		return message(c, MHD_HTTP_TOO_MANY_REQUESTS, "Too many checks",
		               "Your network has been checked too often in the last hour. Please "
		               "try again later.",
		               MHD_HTTP_HEADER_RETRY_AFTER, "3600");
	case OUT_LIMIT_EMAIL:
		return message(c, MHD_HTTP_TOO_MANY_REQUESTS, "Too many checks",
		               "This mail address has asked for too many checks today. Please try "
		               "again tomorrow.",
		               MHD_HTTP_HEADER_RETRY_AFTER, "86400");
	case OUT_LIMIT_GLOBAL: {
		char after[24];
		snprintf(after, sizeof(after), "%lld", (long long)q->retry_after);
		return message(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Too many checks right now",
		               "This service has run all the checks it runs in an hour. Please try "
		               "again later.",
		               MHD_HTTP_HEADER_RETRY_AFTER, after);
	}
	case OUT_OUTBOX_FULL:
		return message(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Mail is delayed",
		               "This service cannot send its mail fast enough right now, so it takes "
		               "no new checks. Please try again later.",
		               MHD_HTTP_HEADER_RETRY_AFTER, RETRY_OUTBOX);
	case OUT_OK:
		break;
	}
	return json ? json_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error", NULL, NULL)
	            : message(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error",
	                      "Something went wrong on our side.", NULL, NULL);
}

static enum MHD_Result answer_busy(struct check_req *q, bool json)
{
	log_warn("check: the store did not answer: %s", np_strerror(q->status));
	if (json)
		return json_error(q->t.conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy, try again later",
		                  MHD_HTTP_HEADER_RETRY_AFTER, "5");
	return message(q->t.conn, MHD_HTTP_SERVICE_UNAVAILABLE, "Busy",
	               "The service is busy. Please try again in a minute.",
	               MHD_HTTP_HEADER_RETRY_AFTER, "5");
}

static enum MHD_Result answer_start(struct http_task *t)
{
	struct check_req *q = container_of(t, struct check_req, t);
	if (q->status != NP_OK)
		return answer_busy(q, false);
	if (q->outcome != OUT_OK)
		return answer_trouble(q, false);
	log_info("check: accepted for %s", q->addr);
	char cookie[160], text[CHECK_EMAIL_MAX + 200];
	snprintf(cookie, sizeof(cookie),
	         COOKIE_CHECK "=%s; Path=/; HttpOnly; SameSite=Lax; "
	                      "Max-Age=%u%s",
	         q->cookie, q->cfg->check_result_ttl, secure_cookies(q->cfg) ? "; Secure" : "");
	snprintf(text, sizeof(text),
	         "The result is on its way to %s. Open the link in the mail in this browser: the "
	         "result opens only here.",
	         q->email);
	return message(t->conn, MHD_HTTP_OK, "Check accepted", text, MHD_HTTP_HEADER_SET_COOKIE,
	               cookie);
}

static enum MHD_Result answer_view(struct http_task *t)
{
	struct check_req *q = container_of(t, struct check_req, t);
	if (q->status != NP_OK)
		return answer_busy(q, false);
	if (q->outcome != OUT_OK)
		return answer_trouble(q, false);
	json_t *v = json_loads(q->result, 0, NULL);
	if (v == NULL)
		return message(t->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error",
		               "The stored result cannot be read.", NULL, NULL);
	struct buf b;
	buf_init(&b, CHECK_PAGE_MAX);
	check_page_result(&b, v, q->token, q->csrf, q->updated, q->expires);
	json_decref(v);
	char cookie[160];
	csrf_cookie(q->cfg, q->csrf, cookie, sizeof(cookie));
	return send_page(t->conn, MHD_HTTP_OK, &b, MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

static enum MHD_Result answer_recheck(struct http_task *t)
{
	struct check_req *q = container_of(t, struct check_req, t);
	if (q->status != NP_OK)
		return answer_busy(q, false);
	if (q->outcome != OUT_OK)
		return answer_trouble(q, false);
	char loc[64];
	snprintf(loc, sizeof(loc), "/check/%s", q->token);
	return http_reply(t->conn, MHD_HTTP_SEE_OTHER, TEXT_PLAIN, "see the result page\n", 20,
	                  MHD_HTTP_HEADER_LOCATION, loc, NULL, NULL);
}

static enum MHD_Result answer_api_token(struct http_task *t)
{
	struct check_req *q = container_of(t, struct check_req, t);
	if (q->status != NP_OK)
		return answer_busy(q, true);
	if (q->outcome != OUT_OK)
		return answer_trouble(q, true);
	json_t *v = json_loads(q->result, 0, NULL);
	if (v == NULL || json_object_set_new(v, "token_expires", json_integer(q->expires)) != 0 ||
	    json_object_set_new(v, "checked_at", json_integer(q->updated)) != 0) {
		json_decref(v);
		return json_error(t->conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                  "the stored result cannot be read", NULL, NULL);
	}
	enum MHD_Result ret = json_reply(t->conn, v);
	json_decref(v);
	return ret;
}

/* The verdict of the requester's own address, for an account's client (nameplate check). */
static enum MHD_Result answer_self(struct http_request *r, int64_t now)
{
	struct MHD_Connection *c = r->conn;
	if (!limit_take(&http_check_state(r->hs)->api, &r->client, now,
	                http_config(r->hs)->check_per_address_hour))
		return json_error(c, MHD_HTTP_TOO_MANY_REQUESTS,
		                  "this address has asked too often in the last hour",
		                  MHD_HTTP_HEADER_RETRY_AFTER, "3600");
	struct observer *o = http_observer(r->hs);
	struct obs_verdict v;
	if (o == NULL || obs_index_verdict(observer_index(o), &r->client, now, &v) != NP_OK)
		return json_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no observations available",
		                  NULL, NULL);
	json_t *j = obs_verdict_json(&r->client, &v);
	if (j != NULL && json_object_set_new(j, "checked_at", json_integer(now)) != 0) {
		json_decref(j);
		j = NULL;
	}
	enum MHD_Result ret = json_reply(c, j);
	json_decref(j);
	return ret;
}

static struct check_req *req_new(struct http_request *r, enum check_kind kind,
                                 enum MHD_Result (*answer)(struct http_task *),
                                 writer_apply_fn *apply)
{
	struct check_req *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->kind = kind;
	q->cfg = http_config(r->hs);
	q->client = r->client;
	q->now = time_now();
	q->t.answer = answer;
	q->t.free_fn = req_free;
	q->op.apply = apply;
	q->op.done = req_done;
	return q;
}

static enum MHD_Result submit(struct http_request *r, struct check_req *q)
{
	return http_task_submit(r, &q->t, &q->op, req_refused);
}

static enum MHD_Result oom(struct MHD_Connection *c)
{
	return http_reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
}

static enum MHD_Result serve_form(struct http_request *r)
{
	struct MHD_Connection *c = r->conn;
	char csrf[CHECK_TOKEN_LEN + 1], addr[INET6_ADDRSTRLEN], cookie[160];
	if (!get_cookie(c, COOKIE_CSRF, csrf))
		check_token_new(csrf);
	addr_format(&r->client, addr, sizeof(addr));
	struct buf b;
	buf_init(&b, CHECK_PAGE_MAX);
	check_page_form(&b, addr, csrf, NULL);
	csrf_cookie(http_config(r->hs), csrf, cookie, sizeof(cookie));
	return send_page(c, MHD_HTTP_OK, &b, MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

/* The form's CSRF value must be the np_csrf cookie's (double submit). */
static bool csrf_ok(struct MHD_Connection *c, const struct check_form *f)
{
	char cookie[CHECK_TOKEN_LEN + 1];
	return f->has_csrf && check_token_valid(f->csrf) && get_cookie(c, COOKIE_CSRF, cookie) &&
	       sodium_memcmp(cookie, f->csrf, CHECK_TOKEN_LEN) == 0;
}

static enum MHD_Result bad_form(struct MHD_Connection *c, const char *why)
{
	char text[200];
	snprintf(text, sizeof(text), "The check could not start: %s.", why);
	return message(c, MHD_HTTP_BAD_REQUEST, "Cannot start the check", text, NULL, NULL);
}

static enum MHD_Result serve_start(struct http_request *r)
{
	struct MHD_Connection *c = r->conn;
	const struct config *cfg = http_config(r->hs);
	struct check_form f;
	char why[96];
	if (check_form_parse(r->body != NULL ? r->body : "", r->body_len, &f, why, sizeof(why)) !=
	    NP_OK)
		return bad_form(c, why);
	if (!csrf_ok(c, &f))
		return bad_form(c, "the form has expired or cookies are off; reload the check page "
		                   "and try again");
	if (!f.has_email || !config_mail_check(f.email))
		return bad_form(c, "that is not a mail address we can send to");
	if (!f.has_consent || strcmp(f.consent, "yes") != 0)
		return bad_form(c, "please agree to the check (the checkbox)");
	if (cfg->mail_relay[0] == '\0' || http_mailer(r->hs) == NULL)
		return message(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Check unavailable",
		               "This server cannot send mail, so it cannot run checks.", NULL,
		               NULL);

	struct check_req *q = req_new(r, CK_START, answer_start, start_apply);
	if (q == NULL)
		return oom(c);
	enum MHD_Result ret;
	char verdict[16], rule[32], lower[CHECK_EMAIL_MAX + 1];
	np_strlcpy(q->email, f.email, sizeof(q->email));
	/* The rate limit counts a mail address however it is spelt in case. */
	np_strlcpy(lower, f.email, sizeof(lower));
	str_lower(lower);
	secret_hash(lower, strlen(lower), q->email_hash);
	if (compute_verdict(r, q, verdict, sizeof(verdict), rule, sizeof(rule)) != NP_OK) {
		ret = message(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Busy",
		              "The observations cannot be read right now.", NULL, NULL);
		goto fail;
	}
	check_token_new(q->token);
	secret_hash(q->token, CHECK_TOKEN_LEN, q->token_hash);
	/* A browser that already holds a check cookie keeps it, so each of its results
	 * stays reachable there. */
	if (!get_cookie(c, COOKIE_CHECK, q->cookie))
		check_token_new(q->cookie);
	secret_hash(q->cookie, CHECK_TOKEN_LEN, q->cookie_hash);
	q->expires = q->now + cfg->check_result_ttl;
	if (check_mail_compose(cfg->check_public_url, q->token, q->addr, verdict, rule, q->now,
	                       q->expires, &q->subject, &q->body) != NP_OK) {
		ret = oom(c);
		goto fail;
	}
	return submit(r, q);
fail:
	req_free(&q->t);
	return ret;
}

static enum MHD_Result serve_token(struct http_request *r, const char *token, bool api)
{
	struct MHD_Connection *c = r->conn;
	bool post = strcmp(r->method, MHD_HTTP_METHOD_POST) == 0;
	if (!check_token_valid(token))
		return api ? json_error(c, MHD_HTTP_NOT_FOUND, "no such check", NULL, NULL)
		           : message(c, MHD_HTTP_NOT_FOUND, "No such check",
		                     "This link does not belong to any check.", NULL, NULL);
	struct check_form f;
	char why[96];
	if (post) {
		if (check_form_parse(r->body != NULL ? r->body : "", r->body_len, &f, why,
		                     sizeof(why)) != NP_OK)
			return bad_form(c, why);
		if (f.has_email || f.has_consent)
			return bad_form(c, "a re-check takes no other fields");
		if (!csrf_ok(c, &f))
			return bad_form(c, "the form has expired or cookies are off; reload the "
			                   "result page and try again");
	}
	enum check_kind kind = api ? CK_API_TOKEN : post ? CK_RECHECK : CK_VIEW;
	struct check_req *q = req_new(r, kind,
	                              api    ? answer_api_token
	                              : post ? answer_recheck
	                                     : answer_view,
	                              post ? recheck_apply : view_apply);
	if (q == NULL)
		return oom(c);
	np_strlcpy(q->token, token, sizeof(q->token));
	secret_hash(q->token, CHECK_TOKEN_LEN, q->token_hash);
	/* Without the cookie the hash stays zero, which matches no stored cookie. */
	if (get_cookie(c, COOKIE_CHECK, q->cookie))
		secret_hash(q->cookie, CHECK_TOKEN_LEN, q->cookie_hash);
	if (!get_cookie(c, COOKIE_CSRF, q->csrf))
		check_token_new(q->csrf);
	if (post && compute_verdict(r, q, NULL, 0, NULL, 0) != NP_OK) {
		req_free(&q->t);
		return message(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Busy",
		               "The observations cannot be read right now.", NULL, NULL);
	}
	return submit(r, q);
}

struct self_auth {
	char user[DYNDNS2_USER_MAX];
	uint8_t hash[SECRET_HASH_LEN];
	struct np_addr client;
	struct dyndns2_identity id;
	bool ok;
};

static int self_authenticate(struct store *st, void *ctx)
{
	struct self_auth *a = ctx;
	return dyndns2_authenticate(st, a->user, a->hash, &a->client, &a->id, &a->ok);
}

/* GET /api/v1/check with Basic auth, as /nic/update takes it: authenticated on the
 * read-only connection (never the writer's thread), throttled like every credential. */
static enum MHD_Result serve_self(struct http_request *r)
{
	struct MHD_Connection *c = r->conn;
	struct throttle *th = http_throttle(r->hs);
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) == NULL)
		return http_reply_basic_auth(c, "badauth\n");
	struct self_auth *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return oom(c);
	enum MHD_Result ret;
	a->client = r->client;
	if (!http_take_basic(c, a->user, sizeof(a->user), a->hash)) {
		throttle_failed(th, &a->client, "", "check", time_mono_ms());
		ret = http_reply_basic_auth(c, "badauth\n");
		goto out;
	}
	unsigned wait = throttle_check(th, &a->client, a->user, time_mono_ms());
	if (wait > 0) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", wait);
		ret = json_error(c, MHD_HTTP_TOO_MANY_REQUESTS, "too many failed attempts",
		                 MHD_HTTP_HEADER_RETRY_AFTER, ra);
		goto out;
	}
	int rc = http_store_read(r->hs, self_authenticate, a);
	if (rc != NP_OK) {
		ret = json_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy, try again later",
		                 MHD_HTTP_HEADER_RETRY_AFTER, "5");
	} else if (!a->ok) {
		throttle_failed(th, &a->client, a->user, "check", time_mono_ms()); /* logs it */
		ret = http_reply_basic_auth(c, "badauth\n");
	} else {
		throttle_succeeded(th, &a->client, a->user, time_mono_ms());
		ret = answer_self(r, time_now());
	}
out:
	explicit_bzero(a, sizeof(*a));
	free(a);
	return ret;
}

enum MHD_Result check_serve(struct http_request *r)
{
	struct MHD_Connection *c = r->conn;
	bool post = strcmp(r->method, MHD_HTTP_METHOD_POST) == 0;
	bool api = strncmp(r->url, "/api/v1/check", 13) == 0;
	const char *rest = r->url + (api ? 13 : 6);

	/* Nothing in the URL may name an address or anything else: no query arguments. */
	if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0)
		return api ? json_error(c, MHD_HTTP_BAD_REQUEST, "no query arguments are accepted",
		                        NULL, NULL)
		           : message(c, MHD_HTTP_BAD_REQUEST, "Bad request",
		                     "This page takes no query arguments: only your own address is "
		                     "ever checked.",
		                     NULL, NULL);
	if (!r->client_ok)
		return http_reply_text(c, MHD_HTTP_BAD_REQUEST, "bad X-Forwarded-For\n");
	if (api && post)
		return http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT_PLAIN,
		                  "method not allowed\n", 19, MHD_HTTP_HEADER_ALLOW, "GET", NULL,
		                  NULL);
	if (post && !http_form_from_us(c, http_config(r->hs)->check_public_url))
		return message(c, MHD_HTTP_FORBIDDEN, "Refused",
		               "This form was sent from another site.", NULL, NULL);
	if (rest[0] == '\0') {
		if (api)
			return serve_self(r);
		return post ? serve_start(r) : serve_form(r);
	}
	if (rest[0] == '/')
		return serve_token(r, rest + 1, api);
	return http_reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}
