/* SPDX-License-Identifier: MIT */
/* libmicrohttpd glue: routing, limits, Basic auth, the client address, and the suspended
 * wait for the writer that lets many concurrent updates share one commit (and for the
 * reachability probe, http/probe.c). */
#include "http/http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/secret.h"
#include "common/str.h"
#include "abuse/abuse.h"
#include "http/dyndns2.h"
#include "account/password.h"
#include "account/tsigkey.h"
#include "http/api.h"
#include "http/guard.h"
#include "http/hashing.h"
#include "http/http_int.h"
#include "http/probe.h"
#include "http/template.h"
#include "account/throttle.h"
#include "observe/codec.h"
#include "store/store.h"

/* Bounds the request line and headers: larger requests get 414/431 from libmicrohttpd. */
#define HTTP_MEMORY_LIMIT (32 * 1024)
#define HTTP_BACKLOG_MIN  128
/* X-Forwarded-For headers looked at (the right-most ones matter). */
#define HTTP_XFF_MAX 8
/* How long http_stop waits for requests the writer still holds. */
#define HTTP_STOP_WAIT_MS 30000
/* Sources, credentials and known networks the authentication throttle remembers (each;
 * about 48 bytes an entry). */
#define HTTP_THROTTLE_ENTRIES 65536
/* The longest decoded Basic credential ("user:password") looked at. */
#define HTTP_BASIC_MAX (CFG_NAME_MAX + SECRET_MAX_INPUT + 1)
/* Password checks waiting for a hashing thread before sign-ins are answered 503. */
#define HTTP_HASHING_QUEUE 32
/* The largest form a check page posts. */
#define HTTP_FORM_MAX 4096
/* Other sites get no Referer from our pages (a result page's URL holds its token), while
 * our own pages' form POSTs carry their real Origin: under "no-referrer" a browser sends
 * "Origin: null" with every form POST, which cannot be told from a forged one. */
#define REFERRER_POLICY "same-origin"

/* Read-only store connections for lookups off the writer (tokens, a sensor's token, the
 * status and API reads): one per HTTP thread, so that authentications do not queue behind
 * one another; each used by one thread at a time. */
#define HTTP_READERS_MAX 16
struct readers {
	struct store *st[HTTP_READERS_MAX];
	pthread_mutex_t mu[HTTP_READERS_MAX];
	unsigned n;
	atomic_uint next;
};

static int readers_open(struct readers *rs, const char *data_dir, unsigned n)
{
	rs->n = 0;
	atomic_init(&rs->next, 0);
	if (n > HTTP_READERS_MAX)
		n = HTTP_READERS_MAX;
	for (unsigned i = 0; i < n; i++) {
		int ret = store_open_reader(data_dir, &rs->st[i]);
		if (ret != NP_OK)
			return ret;
		pthread_mutex_init(&rs->mu[i], NULL);
		rs->n++;
	}
	return rs->n > 0 ? NP_OK : NP_EINVAL;
}

static void readers_close(struct readers *rs)
{
	for (unsigned i = 0; i < rs->n; i++) {
		store_close(rs->st[i]);
		pthread_mutex_destroy(&rs->mu[i]);
	}
	rs->n = 0;
}

struct http_server {
	const struct config *cfg;
	struct writer *w;
	struct observer *obs;
	struct mailer *mail;
	struct check_state *check;
	/* A read-only store connection for lookups that must not wait for the writer (a sensor
	 * token before its body is read); one HTTP thread at a time. */
	struct readers readers;
	struct http_guard *guard;
	struct throttle *throttle; /* failed authentication, per source and per credential */
	struct abuse *abuse;       /* update budgets, feeds, flux scores */
	struct MHD_Daemon *daemons[CFG_MAX_LISTEN];
	unsigned n_daemons;
	struct probe *probe;
	struct hashing *hashing; /* argon2id checks, off libmicrohttpd's threads */
	uint8_t tsig_seal[TSIGKEY_SEAL_LEN]; /* seals the TSIG keys the API makes */
	/* Tasks handed to the writer and not yet resolved. */
	atomic_uint inflight;
	atomic_bool stopping;
};

/* What *con_cls holds, besides NULL, &headers_seen and a probe's request: a struct that
 * starts with one of these tags. */
enum cls_kind { CLS_TASK = 0x7a5c, CLS_BODY };

/* A request body being collected, up to max bytes (then too_big: the rest is dropped). */
struct http_body {
	int kind; /* CLS_BODY */
	size_t len, max;
	bool too_big;
	char data[]; /* max + 1 bytes */
};

/* One dyndns2 update waiting for the writer. */
struct http_req {
	struct http_task t; /* first: *con_cls points here */
	int status;         /* written before t.resolved is set */
	struct dyndns2_update u;
};

const uint8_t *http_tsig_seal(const struct http_server *hs)
{
	return hs->tsig_seal;
}

const struct config *http_config(const struct http_server *hs)
{
	return hs->cfg;
}

struct writer *http_writer(const struct http_server *hs)
{
	return hs->w;
}

struct observer *http_observer(const struct http_server *hs)
{
	return hs->obs;
}

struct mailer *http_mailer(const struct http_server *hs)
{
	return hs->mail;
}

struct check_state *http_check_state(const struct http_server *hs)
{
	return hs->check;
}

struct abuse *http_abuse(const struct http_server *hs)
{
	return hs->abuse;
}

/* The hostname feeds' sweep, on the writer thread: every listed host of ours goes to
 * quarantined (and out of DNS) with the batch. */
struct feed_sweep {
	struct writer_op op;
	struct abuse *abuse;
};

static int sweep_touch(void *ctx, const char *fqdn)
{
	return writer_txn_touch(ctx, fqdn);
}

static int sweep_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct feed_sweep *f = container_of(op, struct feed_sweep, op);
	unsigned moved = 0;
	int ret = abuse_quarantine_listed(f->abuse, writer_txn_store(txn), writer_txn_config(txn),
	                                  sweep_touch, txn, time_now(), &moved);
	if (ret == NP_OK && moved > 0)
		log_event(LOG_INFO, "feeds_quarantine", "hosts=%u", moved);
	return ret;
}

/* Runs the sweep from the main thread (start, SIGHUP) and waits for it. */
static void sweep_feeds(struct http_server *hs)
{
	struct feed_sweep f = {.op = {.apply = sweep_apply}, .abuse = hs->abuse};
	int ret = writer_run(hs->w, &f.op, 5000);
	if (ret != NP_OK)
		log_err("feeds: the listed hosts could not be quarantined: %s", np_strerror(ret));
}

void http_reload(struct http_server *hs, const struct config *cfg)
{
	(void)cfg; /* abuse_reload is the owner's (nameplated's main) */
	sweep_feeds(hs);
}

struct throttle *http_throttle(const struct http_server *hs)
{
	return hs->throttle;
}

struct hashing *http_hashing(const struct http_server *hs)
{
	return hs->hashing;
}

int http_store_read(struct http_server *hs, int (*fn)(struct store *st, void *ctx), void *ctx)
{
	struct readers *rs = &hs->readers;
	/* A free connection if there is one, else wait for this thread's usual one. */
	unsigned start = atomic_fetch_add(&rs->next, 1) % rs->n, i = start;
	bool got = false;
	for (unsigned k = 0; k < rs->n && !got; k++) {
		i = (start + k) % rs->n;
		got = pthread_mutex_trylock(&rs->mu[i]) == 0;
	}
	if (!got) {
		i = start;
		pthread_mutex_lock(&rs->mu[i]);
	}
	int ret = fn(rs->st[i], ctx);
	pthread_mutex_unlock(&rs->mu[i]);
	return ret;
}

static void task_release(struct http_task *t)
{
	if (atomic_fetch_sub(&t->refs, 1) == 1)
		t->free_fn(t);
}

void http_task_resolve(struct http_task *t)
{
	struct http_server *hs = t->hs;
	atomic_store(&t->resolved, true);
	MHD_resume_connection(t->conn);
	task_release(t);
	atomic_fetch_sub(&hs->inflight, 1);
}

bool http_task_begin(struct http_request *r, struct http_task *t)
{
	struct http_server *hs = r->hs;
	t->kind = CLS_TASK;
	t->hs = hs;
	t->conn = r->conn;
	atomic_init(&t->resolved, false);
	/* One reference for the HTTP side, one for the other thread until it resolves. The
	 * request is suspended before it is handed over, so a fast resolve always finds it
	 * suspended. */
	atomic_init(&t->refs, 2);
	*r->con_cls = t;
	atomic_fetch_add(&hs->inflight, 1);
	MHD_suspend_connection(r->conn);
	return !atomic_load(&hs->stopping);
}

enum MHD_Result http_task_submit(struct http_request *r, struct http_task *t,
                                 struct writer_op *op,
                                 void (*refused)(struct http_task *t, int rc))
{
	struct http_server *hs = r->hs;
	int rc = http_task_begin(r, t) ? writer_submit(hs->w, op) : NP_EFAILED;
	if (rc != NP_OK) {
		refused(t, rc);
		http_task_resolve(t);
	}
	return MHD_YES;
}

/* ---- responses ---- */

enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                           const char *body, size_t len, const char *h1, const char *v1,
                           const char *h2, const char *v2)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	enum MHD_Result ok = MHD_YES;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    MHD_add_response_header(r, "X-Frame-Options", "DENY") != MHD_YES ||
	    MHD_add_response_header(r, "Referrer-Policy", REFERRER_POLICY) != MHD_YES ||
	    (h1 != NULL && MHD_add_response_header(r, h1, v1) != MHD_YES) ||
	    (h2 != NULL && MHD_add_response_header(r, h2, v2) != MHD_YES))
		ok = MHD_NO;
	if (ok == MHD_YES)
		ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

/* The one-extra-header form used throughout this file. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                             const char *body, size_t len, const char *hname, const char *hvalue)
{
	return http_reply(c, status, ctype, body, len, hname, hvalue, NULL, NULL);
}

enum MHD_Result http_reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return reply(c, status, TEXT_PLAIN, text, strlen(text), NULL, NULL);
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return http_reply_text(c, status, text);
}

enum MHD_Result http_reply_basic_auth(struct MHD_Connection *c, const char *text)
{
	return reply(c, MHD_HTTP_UNAUTHORIZED, TEXT_PLAIN, text, strlen(text),
	             MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"nameplate\"");
}

/* ---- forms ---- */

/* Whether origin is the "scheme://host[:port]" that url starts with. */
static bool origin_of(const char *origin, const char *url)
{
	const char *hs = strstr(url, "://");
	if (hs == NULL)
		return false;
	size_t n = (size_t)(hs + 3 - url) + strcspn(hs + 3, "/?#");
	return strlen(origin) == n && strncmp(origin, url, n) == 0;
}

static bool origin_ours(struct MHD_Connection *c, const char *origin, const char *public_url)
{
	if (public_url[0] != '\0' && origin_of(origin, public_url))
		return true;
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (host == NULL || host[0] == '\0' || strpbrk(host, "/?#@") != NULL)
		return false;
	char url[300];
	for (int https = 0; https < 2; https++) {
		int n = snprintf(url, sizeof(url), "%s://%s", https ? "https" : "http", host);
		if (n > 0 && (size_t)n < sizeof(url) && origin_of(origin, url))
			return true;
	}
	return false;
}

bool http_form_from_us(struct MHD_Connection *c, const char *public_url)
{
	/* Fetch metadata: "same-site" (another port or subdomain of ours), "cross-site" and
	 * "none" (typed or bookmarked, which a form POST never is) are all refused. */
	const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
	if (site != NULL && strcmp(site, "same-origin") != 0)
		return false;
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	return origin == NULL || origin_ours(c, origin, public_url);
}

/* ---- the client's address ---- */

struct xff {
	const char *v[HTTP_XFF_MAX];
	size_t len[HTTP_XFF_MAX];
	unsigned n;
};

static enum MHD_Result collect_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
	struct xff *x = cls;
	(void)kind;
	if (key_size != 15 || strncasecmp(key, "X-Forwarded-For", 15) != 0 || value == NULL)
		return MHD_YES;
	if (x->n == HTTP_XFF_MAX) {
		/* Keep the right-most headers: drop the oldest. */
		memmove(&x->v[0], &x->v[1], sizeof(x->v[0]) * (HTTP_XFF_MAX - 1));
		memmove(&x->len[0], &x->len[1], sizeof(x->len[0]) * (HTTP_XFF_MAX - 1));
		x->n--;
	}
	x->v[x->n] = value;
	x->len[x->n] = value_size;
	x->n++;
	return MHD_YES;
}

/* Parses one X-Forwarded-For element: "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT". */
static int parse_xff_elem(const char *s, size_t len, struct np_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 0 && s[0] == '[') {
		const char *end = memchr(s, ']', len);
		if (end == NULL)
			return NP_EMALFORMED;
		s++;
		len = (size_t)(end - s);
	} else if (len > 0 && memchr(s, '.', len) != NULL) {
		const char *colon = memchr(s, ':', len);
		if (colon != NULL)
			len = (size_t)(colon - s); /* IPv4 with a port */
	}
	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
		return NP_EMALFORMED;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (addr_parse(buf, out) != NP_OK)
		return NP_EMALFORMED;
	addr_unmap(out); /* a dual-stack proxy may write its IPv4 clients mapped */
	return NP_OK;
}

/* The client: the TCP peer, unless the peer is a trusted proxy; then the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy (entries further left were
 * written by the client and prove nothing). */
static int client_address(const struct http_server *hs, struct MHD_Connection *c,
                          struct np_addr *out)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL ||
	    addr_from_sockaddr(ci->client_addr, out) != NP_OK)
		return NP_EINVAL;
	if (!config_trusted_proxy(hs->cfg, out))
		return NP_OK;

	struct xff x = {0};
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_xff, &x);
	for (unsigned h = x.n; h-- > 0;) {
		size_t end = x.len[h];
		/* Right to left through one header's comma list; bounded by its length. */
		for (;;) {
			size_t start = end;
			while (start > 0 && x.v[h][start - 1] != ',')
				start--;
			struct np_addr a;
			if (parse_xff_elem(x.v[h] + start, end - start, &a) != NP_OK)
				return NP_EMALFORMED;
			*out = a;
			if (!config_trusted_proxy(hs->cfg, &a))
				return NP_OK;
			if (start == 0)
				break;
			end = start - 1;
		}
	}
	/* Every hop is trusted: the left-most one is the client. */
	return NP_OK;
}

/* ---- checkip ---- */

static enum MHD_Result serve_checkip(struct http_server *hs, struct MHD_Connection *c, bool html)
{
	struct np_addr a;
	char text[INET6_ADDRSTRLEN];
	char body[256];

	if (client_address(hs, c, &a) != NP_OK)
		return reply_text(c, MHD_HTTP_BAD_REQUEST, "bad X-Forwarded-For\n");
	addr_format(&a, text, sizeof(text));
	int n;
	if (html)
		n = snprintf(body, sizeof(body),
		             "<html><head><title>Current IP Check</title></head>"
		             "<body>Current IP Address: %s</body></html>\n",
		             text);
	else
		n = snprintf(body, sizeof(body), "%s\n", text);
	if (n < 0 || (size_t)n >= sizeof(body))
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, html ? TEXT_HTML : TEXT_PLAIN, body, (size_t)n, NULL, NULL);
}

/* ---- /nic/update ---- */

static enum MHD_Result reply_once(struct MHD_Connection *c, enum dyndns2_code code)
{
	char body[32];
	struct dyndns2_result r = {.code = code};
	int n = dyndns2_format(&r, 1, body, sizeof(body));
	if (n < 0)
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, TEXT_PLAIN, body, (size_t)n, NULL, NULL);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	dyndns2_params_add(cls, key, key_size, value, value_size);
	return MHD_YES;
}

/* Runs on the writer thread after commit and publication: only wakes the request. */
static void update_done(struct writer_op *op, int status)
{
	struct http_req *req = container_of(op, struct http_req, u.op);
	req->status = status;
	http_task_resolve(&req->t);
}

/* The writer would not take it (overloaded, stopping, failed): 911 at once. */
static void update_refused(struct http_task *t, int rc)
{
	container_of(t, struct http_req, t)->status = rc;
}

/* One line per host of an authenticated update (nochg only at debug: clients repeat it all
 * day), or one for the request when the writer could not decide it (911). */
static void log_update(const struct http_req *req)
{
	const struct dyndns2_update *u = &req->u;
	char client[INET6_ADDRSTRLEN] = "?";
	if (u->client.family != 0)
		addr_format(&u->client, client, sizeof(client));
	bool decided =
	    req->status == NP_OK || (u->apply_err != NP_OK && req->status == u->apply_err);
	if (!decided || u->n_results == 0) {
		log_event(LOG_WARNING, "update",
		          "interface=dyndns2 source=%s user=%s hosts=%u result=911 error=%s",
		          client, u->user, u->params.n_hosts, np_strerror(req->status));
		return;
	}
	for (unsigned i = 0; i < u->n_results; i++) {
		const struct dyndns2_result *r = &u->results[i];
		/* One line for the request (numhost, notfqdn...) when it was refused whole. */
		const char *host = u->n_results == u->params.n_hosts ? u->params.hosts[i].fqdn : "";
		char ip[2 * INET6_ADDRSTRLEN + 1], v4[INET6_ADDRSTRLEN] = "",
		                                   v6[INET6_ADDRSTRLEN] = "";
		if (r->has_v4)
			addr_format(&r->v4, v4, sizeof(v4));
		if (r->has_v6)
			addr_format(&r->v6, v6, sizeof(v6));
		snprintf(ip, sizeof(ip), "%s%s%s", v4, r->has_v4 && r->has_v6 ? "," : "", v6);
		log_event(r->code == DYNDNS2_NOCHG ? LOG_DEBUG : LOG_INFO, "update",
		          "interface=dyndns2 source=%s user=%s host=%s ip=%s result=%s", client,
		          u->user, host, ip, dyndns2_code_str(r->code));
	}
}

/* What the answer says of the credential: every line badauth is a failed guess; a line
 * that only a proven credential is answered with (good, nochg, abuse, nohost) is a success;
 * anything else (notfqdn only, a store failure) says nothing. */
static void count_auth(struct http_server *hs, const struct http_req *req)
{
	const struct dyndns2_update *u = &req->u;
	if (req->status != NP_OK || u->n_results == 0)
		return;
	bool all_bad = true, proven = false;
	for (unsigned i = 0; i < u->n_results; i++) {
		enum dyndns2_code code = u->results[i].code;
		all_bad = all_bad && code == DYNDNS2_BADAUTH;
		proven = proven || code == DYNDNS2_GOOD || code == DYNDNS2_NOCHG ||
		         code == DYNDNS2_ABUSE || code == DYNDNS2_NOHOST;
	}
	if (all_bad)
		throttle_failed(hs->throttle, &u->client, u->user, "dyndns2", time_mono_ms());
	else if (proven)
		throttle_succeeded(hs->throttle, &u->client, u->user, time_mono_ms());
}

/* The answer once the writer has spoken. */
static enum MHD_Result reply_retry_later(struct MHD_Connection *c, unsigned seconds);

static enum MHD_Result finish_update(struct http_task *t)
{
	struct http_req *req = container_of(t, struct http_req, t);
	count_auth(t->hs, req);
	/* The hosts its prefix moves were over budget: nothing of it was kept. */
	if (req->u.retry_after > 0 && req->u.apply_err == NP_EAGAIN)
		return reply_retry_later(t->conn, req->u.retry_after);
	char body[DYNDNS2_BODY_MAX];
	int n = dyndns2_update_body(&req->u, req->status, body, sizeof(body));
	if (n < 0)
		return MHD_NO;
	log_update(req);
	return reply(t->conn, MHD_HTTP_OK, TEXT_PLAIN, body, (size_t)n, NULL, NULL);
}

/* Decodes Basic auth into user (DYNDNS2_USER_MAX) and the password's hash. Returns false
 * when the credentials cannot be used: "badauth". The password is wiped before it is freed. */
bool http_take_basic(struct MHD_Connection *c, char *user_out, size_t user_len,
                     uint8_t hash_out[SECRET_HASH_LEN])
{
	/* Decoded here rather than by libmicrohttpd, which hands out C strings: a password
	 * "SECRET\0junk" would reach the compare as "SECRET". A user or password with a NUL
	 * in it is refused, so the compare always covers the whole credential. */
	const char *h =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return false;
	const char *b64 = h + 6;
	while (*b64 == ' ')
		b64++;
	size_t b64_len = strlen(b64);
	uint8_t cred[HTTP_BASIC_MAX + 1];
	size_t len = 0;
	const char *end = NULL;
	bool ok = b64_len > 0 && b64_len <= sodium_base64_ENCODED_LEN(HTTP_BASIC_MAX,
	                                        sodium_base64_VARIANT_ORIGINAL) &&
	          sodium_base642bin(cred, sizeof(cred) - 1, b64, b64_len, NULL, &len, &end,
	                            sodium_base64_VARIANT_ORIGINAL) == 0 &&
	          end == b64 + b64_len && memchr(cred, '\0', len) == NULL;
	cred[ok ? len : 0] = '\0';
	char *colon = ok ? memchr(cred, ':', len) : NULL;
	ok = colon != NULL;
	if (ok) {
		size_t ulen = (size_t)(colon - (char *)cred);
		size_t plen = len - ulen - 1;
		/* A huge password is refused before hashing: no work for it. */
		ok = ulen < user_len && plen <= SECRET_MAX_INPUT;
		if (ok) {
			memcpy(user_out, cred, ulen);
			user_out[ulen] = '\0';
			secret_hash(colon + 1, plen, hash_out);
		}
	}
	sodium_memzero(cred, sizeof(cred));
	return ok;
}

static bool take_credentials(struct MHD_Connection *c, char *user_out,
                             uint8_t hash_out[SECRET_HASH_LEN])
{
	return http_take_basic(c, user_out, DYNDNS2_USER_MAX, hash_out);
}

struct update_auth {
	struct dyndns2_update *u;
	bool ok;
};

static int update_authenticate(struct store *st, void *ctx)
{
	struct update_auth *a = ctx;
	return dyndns2_authenticate(st, a->u->user, a->u->secret_hash, &a->u->client, &a->u->id,
	                            &a->ok);
}

static void update_free(struct http_task *t)
{
	struct http_req *req = container_of(t, struct http_req, t);
	explicit_bzero(req->u.secret_hash, sizeof(req->u.secret_hash));
	free(req);
}

/* 429 with Retry-After for a throttled credential or source. The body is 911, which
 * every dyndns2 client reads as "try again later" (never as a reason to stop). */
static enum MHD_Result reply_retry_later(struct MHD_Connection *c, unsigned seconds)
{
	char ra[16];
	snprintf(ra, sizeof(ra), "%u", seconds);
	return reply(c, MHD_HTTP_TOO_MANY_REQUESTS, TEXT_PLAIN, "911\n", 4,
	             MHD_HTTP_HEADER_RETRY_AFTER, ra);
}

/* The budgets of an authenticated update: the hosts it names (or the user name, when it
 * names none and is a host), its token, its source. 0 = go on; else seconds to wait. */
static unsigned update_budget(struct http_server *hs, const struct dyndns2_update *u)
{
	const char *names[DYNDNS2_MAX_HOSTS];
	size_t n = 0;
	char user_host[CFG_NAME_MAX];
	for (unsigned i = 0; i < u->params.n_hosts; i++)
		if (u->params.hosts[i].valid)
			names[n++] = u->params.hosts[i].fqdn;
	if (u->params.n_hosts == 0 &&
	    dyndns2_fqdn_normalize(u->user, strlen(u->user), user_host))
		names[n++] = user_host;
	return abuse_budget_take(hs->abuse, names, n, u->id.cred.token_id, &u->client,
	                         time_now());
}

static enum MHD_Result serve_update(struct http_request *r)
{
	struct http_server *hs = r->hs;
	struct MHD_Connection *c = r->conn;
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) == NULL)
		return reply(c, MHD_HTTP_UNAUTHORIZED, TEXT_PLAIN, "badauth\n", 8,
		             MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"nameplate\"");
	const char *ua =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
	if (ua == NULL || ua[0] == '\0')
		return reply_once(c, DYNDNS2_BADAGENT);

	struct http_req *req = calloc(1, sizeof(*req));
	if (req == NULL)
		return reply_once(c, DYNDNS2_911);
	dyndns2_update_init(&req->u);
	req->t.answer = finish_update;
	req->t.free_fn = update_free;
	req->u.op.done = update_done;

	enum MHD_Result ret;
	struct dyndns2_params *p = &req->u.params;
	dyndns2_params_init(p);
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_arg, p);

	if (!take_credentials(c, req->u.user, req->u.secret_hash)) {
		if (r->client_ok)
			throttle_failed(hs->throttle, &r->client, "", "dyndns2", time_mono_ms());
		ret = reply_once(c, DYNDNS2_BADAUTH);
		goto fail;
	}
	enum dyndns2_code code;
	if (dyndns2_precheck(p, req->u.user, &code)) {
		ret = reply_once(c, code);
		goto fail;
	}
	if (!r->client_ok) {
		ret = reply_text(c, MHD_HTTP_BAD_REQUEST, "bad X-Forwarded-For\n");
		goto fail;
	}
	req->u.client = r->client;
	/* Decided before the writer sees the request: a throttled guess costs it nothing. */
	unsigned wait = throttle_check(hs->throttle, &r->client, req->u.user, time_mono_ms());
	if (wait > 0) {
		ret = reply_retry_later(c, wait);
		goto fail;
	}
	dyndns2_params_finish(p, &req->u.client);
	if (p->bad_addr) {
		ret = reply_text(c, MHD_HTTP_BAD_REQUEST,
		                 "badip: not an IPv4 or IPv6 address a host can have "
		                 "(myip=v4,v6)\n");
		goto fail;
	}
	/* The token is found here, by its hash on the read-only connection: a wrong secret
	 * never reaches the writer. */
	struct update_auth auth = {&req->u, false};
	int rc = http_store_read(hs, update_authenticate, &auth);
	if (rc != NP_OK) {
		log_warn("dyndns2: cannot authenticate now: %s", np_strerror(rc));
		ret = reply_once(c, DYNDNS2_911);
		goto fail;
	}
	if (!auth.ok && req->u.id.suspended) {
		ret = reply_once(c, DYNDNS2_ABUSE);
		goto fail;
	}
	if (!auth.ok) {
		throttle_failed(hs->throttle, &req->u.client, req->u.user, "dyndns2",
		                time_mono_ms());
		ret = reply_once(c, DYNDNS2_BADAUTH);
		goto fail;
	}
	/* An address in a range a threat feed lists is never published. */
	char which[160];
	for (int f = 0; f < 2; f++) {
		const struct np_addr *a = f == 0 ? &p->v4 : &p->v6;
		if (!(f == 0 ? p->has_v4 : p->has_v6) || !abuse_addr_listed(hs->abuse, a, which,
		                                                           sizeof(which)))
			continue;
		char text[INET6_ADDRSTRLEN], src[INET6_ADDRSTRLEN];
		log_event(LOG_WARNING, "update",
		          "interface=dyndns2 source=%s user=%s ip=%s result=abuse reason=listed "
		          "list=%s",
		          addr_format(&req->u.client, src, sizeof(src)), req->u.user,
		          addr_format(a, text, sizeof(text)), which);
		ret = reply_once(c, DYNDNS2_ABUSE);
		goto fail;
	}
	/* The update budgets, in memory: over one, nothing reaches the writer. */
	wait = update_budget(hs, &req->u);
	if (wait > 0) {
		ret = reply_retry_later(c, wait);
		goto fail;
	}
	req->u.abuse = hs->abuse;
	return http_task_submit(r, &req->t, &req->u.op, update_refused);
fail:
	explicit_bzero(req->u.secret_hash, sizeof(req->u.secret_hash));
	free(req);
	return ret;
}

/* ---- /nic/probe ---- */

static enum MHD_Result reply_probe(struct MHD_Connection *c, const struct probe_answer *a)
{
	return reply(c, a->status, TEXT_PLAIN, a->body, strlen(a->body), a->hname, a->hvalue);
}

static enum MHD_Result collect_probe_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                         size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	probe_params_add(cls, key, key_size, value, value_size);
	return MHD_YES;
}

struct probe_auth {
	char user[DYNDNS2_USER_MAX];
	uint8_t hash[SECRET_HASH_LEN];
	struct np_addr client;
	struct dyndns2_identity id;
	bool ok;
};

static int probe_authenticate(struct store *st, void *ctx)
{
	struct probe_auth *pa = ctx;
	return dyndns2_authenticate(st, pa->user, pa->hash, &pa->client, &pa->id, &pa->ok);
}

static enum MHD_Result reply_badauth(struct MHD_Connection *c)
{
	return reply(c, MHD_HTTP_UNAUTHORIZED, TEXT_PLAIN, "badauth\n", 8,
	             MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"nameplate\"");
}

/* The probe connects only to client_address(): nothing in the request can name a target. */
static enum MHD_Result serve_probe(struct http_request *r)
{
	struct http_server *hs = r->hs;
	struct MHD_Connection *c = r->conn;
	struct probe_params pp;
	probe_params_init(&pp);
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_probe_arg, &pp);
	enum probe_param_verdict v = probe_params_verdict(&pp);
	if (v != PROBE_PARAMS_OK)
		return reply_text(c, MHD_HTTP_BAD_REQUEST, probe_params_message(v));
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) == NULL)
		return reply_badauth(c);
	if (!r->client_ok)
		return reply_text(c, MHD_HTTP_BAD_REQUEST, "bad X-Forwarded-For\n");
	struct np_addr client = r->client;

	/* Authenticated here, on the read-only connection, as an update is. */
	struct probe_auth *pa = calloc(1, sizeof(*pa));
	if (pa == NULL)
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	struct probe_answer a;
	enum MHD_Result ret;
	pa->client = client;
	if (!take_credentials(c, pa->user, pa->hash)) {
		throttle_failed(hs->throttle, &client, "", "probe", time_mono_ms());
		ret = reply_badauth(c);
		goto out;
	}
	unsigned wait = throttle_check(hs->throttle, &client, pa->user, time_mono_ms());
	if (wait > 0) {
		ret = reply_retry_later(c, wait);
		goto out;
	}
	int rc = http_store_read(hs, probe_authenticate, pa);
	if (rc != NP_OK) {
		log_warn("probe: cannot authenticate now: %s", np_strerror(rc));
		ret = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT_PLAIN, "busy, try again later\n", 22,
		            MHD_HTTP_HEADER_RETRY_AFTER, "5");
		goto out;
	}
	if (!pa->ok) {
		throttle_failed(hs->throttle, &client, pa->user, "probe",
		                time_mono_ms()); /* logs it */
		ret = reply_badauth(c);
		goto out;
	}
	throttle_succeeded(hs->throttle, &client, pa->user, time_mono_ms());
	if (probe_begin(hs->probe, c, &client, &pa->id, &pp, r->con_cls, &a))
		ret = MHD_YES; /* answered when the probe resumes the connection */
	else
		ret = reply_probe(c, &a);
out:
	explicit_bzero(pa, sizeof(*pa));
	free(pa);
	return ret;
}

/* ---- routing ---- */

enum route {
	ROUTE_NONE,
	ROUTE_UPDATE,
	ROUTE_CHECKIP_HTML,
	ROUTE_CHECKIP,
	ROUTE_PROBE,
	ROUTE_INGEST,
	ROUTE_CHECK,
	ROUTE_STATUS,
	ROUTE_API,
	ROUTE_STATIC,
	ROUTE_WEB,
	ROUTE_ACMEDNS,
	ROUTE_PRESENT,
	ROUTE_CLEANUP,
};

/* Whether url is prefix itself or prefix followed by "/..." */
static bool under(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(url, prefix, n) == 0 && (url[n] == '\0' || url[n] == '/');
}

static enum route route_of(const char *url)
{
	if (strcmp(url, "/nic/update") == 0)
		return ROUTE_UPDATE;
	if (strcmp(url, "/nic/probe") == 0)
		return ROUTE_PROBE;
	if (strcmp(url, "/nic/checkip") == 0)
		return ROUTE_CHECKIP_HTML;
	if (strcmp(url, "/checkip") == 0)
		return ROUTE_CHECKIP;
	if (strcmp(url, "/update") == 0)
		return ROUTE_ACMEDNS;
	if (strcmp(url, "/present") == 0)
		return ROUTE_PRESENT;
	if (strcmp(url, "/cleanup") == 0)
		return ROUTE_CLEANUP;
	if (strcmp(url, "/api/v1/sensor/batch") == 0)
		return ROUTE_INGEST;
	if (under(url, "/check") || under(url, "/api/v1/check"))
		return ROUTE_CHECK;
	if (strcmp(url, "/api/v1/status") == 0)
		return ROUTE_STATUS;
	if (under(url, "/api/v1"))
		return ROUTE_API;
	if (under(url, "/static"))
		return ROUTE_STATIC;
	if (web_path(url))
		return ROUTE_WEB;
	return ROUTE_NONE;
}

/* The methods a route takes, for the 405 answer's Allow header, and the largest body a POST
 * to it may carry (0: no POST). */
static const char *route_methods(enum route rt, size_t *body_max)
{
	*body_max = 0;
	switch (rt) {
	case ROUTE_UPDATE:
	case ROUTE_PROBE:
	case ROUTE_STATUS:
		/* HEAD must not change anything, nor make the probe connect anywhere. */
		return "GET";
	case ROUTE_INGEST:
		*body_max = OBS_BATCH_MAX_BYTES;
		return "POST";
	case ROUTE_ACMEDNS:
	case ROUTE_PRESENT:
	case ROUTE_CLEANUP:
		*body_max = ACME_BODY_MAX;
		return "POST";
	case ROUTE_CHECK:
		*body_max = HTTP_FORM_MAX;
		return "GET, POST";
	case ROUTE_WEB:
		*body_max = HTTP_FORM_MAX;
		return "GET, HEAD, POST";
	case ROUTE_API:
		/* Each path's own methods are the API's to check (405 with its Allow). */
		*body_max = API_BODY_MAX;
		return "GET, HEAD, POST, PUT, PATCH, DELETE";
	case ROUTE_CHECKIP_HTML:
	case ROUTE_CHECKIP:
	case ROUTE_STATIC:
	case ROUTE_NONE:
		break;
	}
	return "GET, HEAD";
}

static bool method_allowed(const char *allow, const char *method)
{
	size_t n = strlen(method);
	for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

/* True when the request announces a body. */
static bool has_body(struct MHD_Connection *c)
{
	const char *te =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	return te != NULL || (cl != NULL && strcmp(cl, "0") != 0);
}

/* What *con_cls holds between the call with the headers and the one after the (empty)
 * body of a request without one. */
static char headers_seen;

static int cls_kind(void *cls)
{
	return cls == NULL || cls == &headers_seen ? 0 : *(int *)cls;
}

/* 413: the API answers in its JSON error form, the rest in text. */
static enum MHD_Result reply_too_large(struct MHD_Connection *c, enum route rt)
{
	if (rt == ROUTE_API) {
		static const char body[] = "{\"error\":{\"code\":\"too_large\",\"message\":"
		                           "\"the body is larger than 64 KiB\"}}";
		return reply(c, MHD_HTTP_CONTENT_TOO_LARGE, APP_JSON, body, sizeof(body) - 1, NULL,
		             NULL);
	}
	return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
}

/* The first call, with the headers: errors are answered right then (which also closes the
 * connection, as the body is not read); otherwise *con_cls is set up to take the body. A
 * sensor batch is authorized here, so that a stranger's body is never read nor parsed. */
/* The methods of HTTP itself (RFC 9110 section 9, and PATCH): any other is not one this
 * server implements anywhere (501), whatever the path. */
static bool method_known(const char *method)
{
	static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
	                                    "CONNECT", "OPTIONS", "TRACE", "PATCH"};
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strcmp(method, known[i]) == 0)
			return true;
	return false;
}

static enum MHD_Result begin(struct http_server *hs, struct MHD_Connection *c, enum route rt,
                             const char *method, void **con_cls)
{
	if (!method_known(method))
		return reply_text(c, MHD_HTTP_NOT_IMPLEMENTED, "method not implemented\n");
	if (rt == ROUTE_NONE)
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	size_t body_max;
	const char *allow = route_methods(rt, &body_max);
	if (!method_allowed(allow, method))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT_PLAIN, "method not allowed\n", 19,
		             MHD_HTTP_HEADER_ALLOW, allow);
	/* The API takes bodies with PUT, PATCH and DELETE too (account deletion carries the
	 * password). */
	bool takes_body = strcmp(method, MHD_HTTP_METHOD_POST) == 0 ||
	                  (rt == ROUTE_API && (strcmp(method, MHD_HTTP_METHOD_PUT) == 0 ||
	                                       strcmp(method, "PATCH") == 0 ||
	                                       strcmp(method, MHD_HTTP_METHOD_DELETE) == 0));
	if (!takes_body || body_max == 0) {
		if (has_body(c))
			return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
			                  "request body not accepted\n");
		*con_cls = &headers_seen;
		return MHD_YES;
	}
	enum MHD_Result refused;
	if (rt == ROUTE_INGEST && !ingest_authorized(hs, c, &refused))
		return refused;
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint32_t len = 0;
	if (cl != NULL && (str_to_u32(cl, 0, UINT32_MAX, &len) != NP_OK || len > body_max))
		return reply_too_large(c, rt);
	/* Without a Content-Length (chunked), the buffer grows to the limit as data comes. */
	size_t cap = cl != NULL ? (size_t)len : body_max;
	http_guard_body(hs->guard, c, cap);
	struct http_body *b = malloc(sizeof(*b) + cap + 1);
	if (b == NULL)
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	b->kind = CLS_BODY;
	b->len = 0;
	b->max = cap;
	b->too_big = false;
	*con_cls = b;
	return MHD_YES;
}

/* The whole request is in: hand it to its endpoint. */
static enum MHD_Result dispatch(struct http_server *hs, struct MHD_Connection *c, enum route rt,
                                const char *method, const char *url, struct http_body *b,
                                void **con_cls)
{
	http_guard_received(hs->guard, c);
	struct http_request r = {
	    .hs = hs,
	    .conn = c,
	    .method = method,
	    .url = url,
	    .body = b != NULL ? b->data : NULL,
	    .body_len = b != NULL ? b->len : 0,
	    .con_cls = con_cls,
	};
	r.client_ok = client_address(hs, c, &r.client) == NP_OK;
	switch (rt) {
	case ROUTE_UPDATE:
		return serve_update(&r);
	case ROUTE_CHECKIP_HTML:
		return serve_checkip(hs, c, true);
	case ROUTE_CHECKIP:
		return serve_checkip(hs, c, false);
	case ROUTE_PROBE:
		return serve_probe(&r);
	case ROUTE_INGEST:
		return ingest_serve(&r);
	case ROUTE_CHECK:
		return check_serve(&r);
	case ROUTE_STATUS:
		return status_serve(&r);
	case ROUTE_API:
		return api_serve(&r);
	case ROUTE_STATIC:
		return static_serve(&r);
	case ROUTE_WEB:
		return web_serve(&r);
	case ROUTE_ACMEDNS:
		return acme_serve(&r, ACME_DOOR_ACMEDNS);
	case ROUTE_PRESENT:
		return acme_serve(&r, ACME_DOOR_PRESENT);
	case ROUTE_CLEANUP:
		return acme_serve(&r, ACME_DOOR_CLEANUP);
	case ROUTE_NONE:
		break;
	}
	return MHD_NO;
}

/* libmicrohttpd calls this first with the headers, then with each piece of the body, then
 * once more with none: the answer is queued in that last call, so the connection can be
 * kept alive. A suspended task is called again after it has been resumed. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	struct http_server *hs = cls;
	(void)version;

	if (*con_cls != NULL && *con_cls != &headers_seen && probe_owns(hs->probe, *con_cls)) {
		struct probe_answer a;
		if (!probe_answer_of(*con_cls, &a))
			return MHD_YES; /* not ours to answer yet */
		return reply_probe(c, &a);
	}
	int kind = cls_kind(*con_cls);
	if (kind == CLS_TASK) {
		struct http_task *t = *con_cls;
		if (!atomic_load(&t->resolved))
			return MHD_YES; /* not ours to answer yet */
		return t->answer(t);
	}
	if (kind == CLS_BODY && *upload_data_size != 0) {
		struct http_body *b = *con_cls;
		size_t n = *upload_data_size;
		if (b->too_big || n > b->max - b->len) {
			b->too_big = true; /* the rest is read and dropped; 413 at the end */
		} else {
			memcpy(b->data + b->len, upload_data, n);
			b->len += n;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0)
		return MHD_NO; /* a body despite our checks: drop the connection */

	enum route rt = route_of(url);
	if (*con_cls == NULL)
		return begin(hs, c, rt, method, con_cls);

	struct http_body *b = kind == CLS_BODY ? *con_cls : NULL;
	*con_cls = NULL;
	enum MHD_Result ret;
	if (b != NULL && b->too_big) {
		ret = reply_too_large(c, rt);
	} else {
		if (b != NULL)
			b->data[b->len] = '\0';
		ret = dispatch(hs, c, rt, method, url, b, con_cls);
	}
	free(b); /* endpoints copy what they keep */
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct http_server *hs = cls;
	(void)toe;
	http_guard_answered(hs->guard, c);
	if (*con_cls != NULL && *con_cls != &headers_seen && probe_owns(hs->probe, *con_cls))
		probe_release(hs->probe, *con_cls);
	else if (cls_kind(*con_cls) == CLS_TASK)
		task_release(*con_cls);
	else if (cls_kind(*con_cls) == CLS_BODY)
		free(*con_cls);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages (bind errors, malformed requests, dropped connections) into
 * our log. Anyone can make it write some (two lines per malformed request), so at most
 * MHD_LOG_PER_MIN lines a minute are written, then one saying how many were left out. */
static struct log_budget mhd_log_budget = LOG_BUDGET_INIT(30);

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	(void)cls;
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	size_t len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	unsigned left_out;
	bool write = log_budget_take(&mhd_log_budget, time_mono_ms(), &left_out);
	if (left_out > 0)
		log_event(LOG_WARNING, "http_library_unlogged", "count=%u period=60", left_out);
	if (write)
		log_event(LOG_WARNING, "http_library", "msg=%.*s", (int)len, msg);
}

/* ---- start and stop ---- */

static struct MHD_Daemon *start_one(struct http_server *hs, const struct cfg_listen *l)
{
	const struct config *cfg = hs->cfg;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	uint16_t port;
	if (l->addr.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
	} else {
		port = ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	}
	unsigned threads = cfg->http_threads > 0 ? cfg->http_threads : 1;
	unsigned max_conn = cfg->http_max_connections;
	if (max_conn < threads)
		max_conn = threads; /* each pool thread needs a share of the limit */
	unsigned backlog = max_conn > HTTP_BACKLOG_MIN ? max_conn : HTTP_BACKLOG_MIN;

	struct MHD_OptionItem opts[] = {
	    {MHD_OPTION_SOCK_ADDR, 0, (void *)&l->addr},
	    {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)max_conn, NULL},
	    {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->http_per_ip_connections, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->http_timeout, NULL},
	    {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)HTTP_MEMORY_LIMIT, NULL},
	    {MHD_OPTION_LISTEN_BACKLOG_SIZE, (intptr_t)backlog, NULL},
	    {MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, hs},
	    {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_guard_notify, hs->guard},
	    /* A pool of one is no pool: leave the option out then. */
	    {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	/* The logger goes first so that every message of the start-up reaches it. */
	return MHD_start_daemon(flags, port, NULL, NULL, handle, hs, MHD_OPTION_EXTERNAL_LOGGER,
	                        mhd_log, hs, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

static void stop_all(struct http_server *hs)
{
	for (unsigned i = 0; i < hs->n_daemons; i++)
		MHD_stop_daemon(hs->daemons[i]);
	hs->n_daemons = 0;
}

int http_start(struct http_server **out, const struct config *cfg, struct writer *w,
               struct observer *obs, struct mailer *mail, struct abuse *abuse)
{
	*out = NULL;
	/* The page templates are parsed here, so that a broken one stops the daemon at start. */
	if (tpl_init() != NP_OK)
		return NP_EMALFORMED;
	struct http_server *hs = calloc(1, sizeof(*hs));
	if (hs == NULL)
		return NP_ENOMEM;
	hs->cfg = cfg;
	hs->w = w;
	hs->obs = obs;
	hs->mail = mail;
	hs->abuse = abuse;
	atomic_init(&hs->inflight, 0);
	atomic_init(&hs->stopping, false);
	hs->check = check_state_new();
	if (hs->check == NULL || tsigkey_seal_key(cfg->data_dir, true, hs->tsig_seal) != NP_OK ||
	    readers_open(&hs->readers, cfg->data_dir, cfg->http_threads > 0 ? cfg->http_threads : 1) != NP_OK ||
	    http_guard_new(&hs->guard, cfg) != NP_OK ||
	    throttle_new(&hs->throttle, HTTP_THROTTLE_ENTRIES) != NP_OK ||
	    hashing_start(&hs->hashing, PASSWORD_PARALLEL, HTTP_HASHING_QUEUE) != NP_OK ||
	    probe_start(&hs->probe) != NP_OK) {
		hashing_stop(hs->hashing);
		throttle_free(hs->throttle);
		http_guard_free(hs->guard);
		readers_close(&hs->readers);
		check_state_free(hs->check);
		free(hs);
		return NP_EIO;
	}
	for (unsigned i = 0; i < cfg->n_http_listen; i++) {
		struct MHD_Daemon *d = start_one(hs, &cfg->http_listen[i]);
		if (d == NULL) {
			char esc[80];
			const char *t = cfg->http_listen[i].text;
			log_err("http: cannot listen on %s",
			        log_escape(esc, sizeof(esc), t, strlen(t)));
			stop_all(hs);
			hashing_stop(hs->hashing);
			http_guard_free(hs->guard);
			throttle_free(hs->throttle);
			probe_free(hs->probe);
			check_state_free(hs->check);
			readers_close(&hs->readers);
			free(hs);
			return NP_EIO;
		}
		hs->daemons[hs->n_daemons++] = d;
		log_info("http: listening on %s", cfg->http_listen[i].text);
	}
	sweep_feeds(hs);
	*out = hs;
	return NP_OK;
}

void http_stop(struct http_server *hs)
{
	if (hs == NULL)
		return;
	atomic_store(&hs->stopping, true);
	/* Password checks in the queue run to their end (each resolves its request). */
	hashing_stop(hs->hashing);
	hs->hashing = NULL;
	/* No new connections; the listen sockets are ours to close after the stop. */
	int fds[CFG_MAX_LISTEN];
	for (unsigned i = 0; i < hs->n_daemons; i++)
		fds[i] = MHD_quiesce_daemon(hs->daemons[i]);
	/* Probes in flight are aborted (answered 503) and resumed, like the updates below. */
	bool probes_back = probe_quiesce(hs->probe);

	/* libmicrohttpd cannot stop while a connection is suspended, and done() must not run
	 * on freed memory: wait (bounded) for the writer to answer what it holds. */
	struct timespec tick = {0, 10 * 1000 * 1000};
	unsigned waited = 0;
	while (atomic_load(&hs->inflight) > 0 && waited < HTTP_STOP_WAIT_MS) {
		nanosleep(&tick, NULL);
		waited += 10;
	}
	if (atomic_load(&hs->inflight) > 0 || !probes_back) {
		/* Leaking is the only safe choice left: the writer still holds requests. */
		log_err("http: %u updates still with the writer; not stopping the HTTP threads",
		        atomic_load(&hs->inflight));
		return;
	}
	for (unsigned i = 0; i < hs->n_daemons; i++) {
		MHD_stop_daemon(hs->daemons[i]);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	probe_free(hs->probe); /* after the daemons: they released every probe request */
	http_guard_free(hs->guard); /* after the daemons: every connection reported its close */
	throttle_free(hs->throttle);
	check_state_free(hs->check);
	readers_close(&hs->readers);
	sodium_memzero(hs->tsig_seal, sizeof(hs->tsig_seal));
	free(hs);
}
