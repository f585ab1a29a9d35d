/* SPDX-License-Identifier: MIT */
/* What http.c shares with the endpoints in their own files (sensor ingestion, the check
 * pages and API): the request as an endpoint sees it, replies, and tasks that wait for the
 * writer. */
#ifndef NP_HTTP_HTTP_INT_H
#define NP_HTTP_HTTP_INT_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/secret.h"
#include "core/writer.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define TEXT_HTML  "text/html; charset=utf-8"
#define APP_JSON   "application/json"

struct observer;
struct mailer;
struct http_server;
struct store;

/* A whole request, body included, as an endpoint gets it. body is NUL-terminated (the NUL
 * is not counted in body_len); NULL with body_len 0 when there was none. client is the
 * requester's address (the peer, or X-Forwarded-For from a trusted proxy); client_ok is
 * false when a trusted proxy sent a malformed X-Forwarded-For. */
struct http_request {
	struct http_server *hs;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	const char *body;
	size_t body_len;
	struct np_addr client;
	bool client_ok;
	void **con_cls; /* where an endpoint installs its task (http_task_submit does it) */
};

const struct config *http_config(const struct http_server *hs);
/* The key that seals TSIG secrets (account/tsigkey.h), read at start. */
const uint8_t *http_tsig_seal(const struct http_server *hs);
struct writer *http_writer(const struct http_server *hs);
struct observer *http_observer(const struct http_server *hs);
/* NULL when [mail] has no relay. */
struct mailer *http_mailer(const struct http_server *hs);

/* Runs fn on one of the HTTP side's read-only store connections (store_open_reader; one per
 * HTTP thread, each used by one thread at a time) and returns what fn returned. For short lookups only: it never waits for the
 * writer, and the writer never waits for it (WAL). */
int http_store_read(struct http_server *hs, int (*fn)(struct store *st, void *ctx), void *ctx);

/* The check endpoints' own state (their in-memory rate limits), made by http_start. */
struct check_state;
struct check_state *check_state_new(void);
void check_state_free(struct check_state *cs);
struct check_state *http_check_state(const struct http_server *hs);

/* Queues status with body (copied), the content type, Cache-Control no-store, nosniff, and
 * up to two optional extra headers (NULL names are skipped). */
enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                           const char *body, size_t len, const char *h1, const char *v1,
                           const char *h2, const char *v2);
enum MHD_Result http_reply_text(struct MHD_Connection *c, unsigned status, const char *text);
/* 401 with WWW-Authenticate: Basic realm="nameplate" and body text. */
enum MHD_Result http_reply_basic_auth(struct MHD_Connection *c, const char *text);

/* Whether a form POST came from one of our own pages, by what the browser says of it:
 * Sec-Fetch-Site must be "same-origin" and Origin the origin of public_url or of the Host
 * header, wherever either is present ("null", which a browser sends for an opaque or
 * hidden origin, never matches). A request with neither is not from a browser that could
 * be tricked into sending it, and stands on the form's double-submit CSRF value alone.
 * docs/infection-check.md explains the rule. */
bool http_form_from_us(struct MHD_Connection *c, const char *public_url);

/* Basic auth into user (at most user_len - 1 bytes) and the keyed hash of the password.
 * false when missing or unusable. The password is wiped. */
bool http_take_basic(struct MHD_Connection *c, char *user, size_t user_len,
                     uint8_t hash[SECRET_HASH_LEN]);

/* A request that waits for another thread (usually the writer) before it is answered. An
 * endpoint embeds it as the FIRST member of its own struct. Two owners share it: the HTTP
 * side until the request completes, and the other thread until it calls
 * http_task_resolve(); the last one to let go calls free_fn. */
struct http_task {
	int kind; /* http.c's own tag for what *con_cls holds; set by http_task_submit */
	struct http_server *hs;
	struct MHD_Connection *conn;
	atomic_int refs;
	atomic_bool resolved;
	/* Queues the answer; runs on an HTTP thread once resolved. */
	enum MHD_Result (*answer)(struct http_task *t);
	void (*free_fn)(struct http_task *t);
};

/* Suspends the request for a task another thread will resolve (http_task_resolve): for
 * work that goes elsewhere than straight to the writer (a password check first). false
 * when the server is stopping: resolve the task at once then. */
bool http_task_begin(struct http_request *r, struct http_task *t);

/* The throttle of failed authentications (http/throttle.h), shared by every endpoint that
 * takes a credential. */
struct throttle *http_throttle(const struct http_server *hs);
/* The update budgets, feeds and flux scores (abuse/abuse.h). */
struct abuse *http_abuse(const struct http_server *hs);

/* The argon2id pool (http/hashing.h). */
struct hashing *http_hashing(const struct http_server *hs);

/* Suspends the request and submits op to the writer; op's done must end with
 * http_task_resolve(t). When the writer refuses (queue full, stopping, failed), refused(t, rc)
 * is called at once instead of done: it records the error for answer(). Returns MHD_YES. */
enum MHD_Result http_task_submit(struct http_request *r, struct http_task *t,
                                 struct writer_op *op,
                                 void (*refused)(struct http_task *t, int rc));
/* Marks t answered and wakes its connection; call it last in done (any thread). */
void http_task_resolve(struct http_task *t);

/* The endpoints. Each answers (queues a response) or installs a task. */
enum MHD_Result ingest_serve(struct http_request *r); /* POST /api/v1/sensor/batch */
/* The sensor token of a batch, with the headers only (before any of the body is read):
 * true to go on; false when the answer (401, or 503) is queued in *ret. */
bool ingest_authorized(struct http_server *hs, struct MHD_Connection *c, enum MHD_Result *ret);
enum MHD_Result check_serve(struct http_request *r);  /* /check..., /api/v1/check... */
/* The ACME DNS-01 doors (api_acme.c): acme-dns's POST /update, lego httpreq's POST /present
 * and POST /cleanup. */
enum acme_door { ACME_DOOR_ACMEDNS, ACME_DOOR_PRESENT, ACME_DOOR_CLEANUP };
/* The largest body they take. */
#define ACME_BODY_MAX 4096
enum MHD_Result acme_serve(struct http_request *r, enum acme_door door);
enum MHD_Result status_serve(struct http_request *r); /* GET /api/v1/status */
enum MHD_Result static_serve(struct http_request *r); /* GET /static/<name> */
/* The web UI (web.c): whether url is one of its pages, and the pages themselves. */
bool web_path(const char *url);
enum MHD_Result web_serve(struct http_request *r);

#endif
