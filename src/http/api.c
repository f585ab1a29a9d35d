/* SPDX-License-Identifier: MIT */
/* The REST API's core: the route table, authentication (a token in "Authorization: Token",
 * or the web UI's session cookie), JSON bodies and errors, and the hand-over of changes to
 * the writer. Handlers are in api_hosts.c and api_account.c. */
#include "http/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"
#include "http/static.h"
#include "account/throttle.h"

/* How often at most a change records that its token was used (seconds). */
#define API_TOKEN_USED_EVERY 3600

/* The session cookie of the web UI; the API takes it too (with the same-origin checks). */
#define API_SESSION_COOKIE "np_session"

static api_handler api_openapi;

/* Every route: method, path below /api/v1 as segments ("*" matches one), who may call it. */
static const struct api_route {
	const char *method;
	const char *path;
	enum api_auth auth;
	api_handler *fn;
} routes[] = {
    {"POST", "auth/login", API_PUBLIC, api_login},
    {"POST", "auth/logout", API_TOKEN, api_logout},
    {"POST", "auth/signup", API_PUBLIC, api_signup},
    {"POST", "auth/confirm", API_PUBLIC, api_confirm},
    {"GET", "hosts", API_TOKEN, api_hosts_list},
    {"POST", "hosts", API_TOKEN, api_hosts_create},
    {"POST", "hosts/prefix", API_TOKEN, api_prefix},
    {"GET", "hosts/*", API_TOKEN, api_host_get},
    {"PATCH", "hosts/*", API_TOKEN, api_host_patch},
    {"DELETE", "hosts/*", API_TOKEN, api_host_delete},
    {"GET", "hosts/*/history", API_TOKEN, api_history},
    {"POST", "hosts/*/audit", API_TOKEN, api_audit_post},
    {"GET", "hosts/*/audit", API_TOKEN, api_audit_get},
    {"GET", "hosts/*/abuse", API_TOKEN, api_host_abuse},
    {"POST", "hosts/*/abuse/clear", API_TOKEN, api_host_abuse_clear},
    {"GET", "hosts/*/records/*", API_TOKEN, api_records_get},
    {"PUT", "hosts/*/records/*", API_TOKEN, api_records_put},
    {"DELETE", "hosts/*/records/*", API_TOKEN, api_records_delete},
    {"GET", "tokens", API_MANAGE, api_tokens_list},
    {"POST", "tokens", API_MANAGE, api_tokens_create},
    {"GET", "tokens/*", API_MANAGE, api_token_get},
    {"PATCH", "tokens/*", API_MANAGE, api_token_patch},
    {"DELETE", "tokens/*", API_MANAGE, api_token_delete},
    {"GET", "tsig", API_MANAGE, api_tsig_list},
    {"POST", "tsig", API_MANAGE, api_tsig_create},
    {"DELETE", "tsig/*", API_MANAGE, api_tsig_delete},
    {"GET", "account", API_TOKEN, api_account_get},
    {"PATCH", "account", API_SESSION, api_account_patch},
    {"DELETE", "account", API_SESSION, api_account_delete},
    {"GET", "account/totp", API_SESSION, api_totp_get},
    {"POST", "account/totp", API_SESSION, api_totp_enable},
    {"DELETE", "account/totp", API_SESSION, api_totp_disable},
    {"GET", "admin/users", API_ADMIN, api_admin_users},
    {"POST", "admin/users/*/*", API_ADMIN, api_admin_user_state},
    {"GET", "admin/tickets", API_ADMIN, api_admin_tickets},
    {"GET", "admin/tickets/*", API_ADMIN, api_admin_ticket},
    {"POST", "admin/tickets/*/*", API_ADMIN, api_admin_ticket_decide},
    {"GET", "openapi.json", API_PUBLIC, api_openapi},
    {"POST", "abuse", API_PUBLIC, api_abuse_report},
    {"GET", "abuse/revoked", API_PUBLIC, api_abuse_revoked},
};

/* ---- answers ---- */

int api_error(struct api_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;
	r->status = status;
	np_strlcpy(r->err_code, code, sizeof(r->err_code));
	va_start(ap, fmt);
	vsnprintf(r->err_msg, sizeof(r->err_msg), fmt, ap);
	va_end(ap);
	json_decref(r->out);
	r->out = NULL;
	return NP_EDENIED;
}

int api_ok(struct api_req *r, unsigned status, json_t *out)
{
	r->status = status;
	r->err_code[0] = '\0';
	json_decref(r->out);
	r->out = out;
	if (out == NULL && status != MHD_HTTP_NO_CONTENT)
		return api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
	return NP_OK;
}

void *api_ctx_new(struct api_req *r, size_t size, void (*ctx_free)(void *ctx))
{
	void *ctx = calloc(1, size);
	if (ctx == NULL) {
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
		return NULL;
	}
	r->ctx = ctx;
	r->ctx_free = ctx_free;
	return ctx;
}

int api_refuse(struct api_req *r, enum policy_verdict v, const char *fqdn)
{
	/* A name outside the token's names looks like one outside the account: a token learns
	 * nothing of the account's other hosts. */
	if (v == POLICY_OWNER || v == POLICY_NAME)
		return api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no host %s in this account",
		                 fqdn);
	return api_error(r, MHD_HTTP_FORBIDDEN, "forbidden", "%s", policy_verdict_str(v));
}

enum MHD_Result api_answer(struct api_req *r)
{
	if (r->answer != NULL)
		return r->answer(r);
	char *text = NULL;
	if (r->err_code[0] != '\0') {
		json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", r->err_code, "message",
		                      r->err_msg);
		text = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;
		json_decref(e);
	} else if (r->out != NULL) {
		text = json_dumps(r->out, JSON_COMPACT | JSON_SORT_KEYS);
	}
	if (text == NULL && r->status != MHD_HTTP_NO_CONTENT) {
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		if (text == NULL)
			return MHD_NO;
	}
	char ra[16];
	const char *h1 = NULL, *v1 = NULL, *h2 = NULL, *v2 = NULL;
	if (r->allow != NULL) {
		h1 = MHD_HTTP_HEADER_ALLOW;
		v1 = r->allow;
	} else if (r->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%u", r->retry_after);
		h1 = MHD_HTTP_HEADER_RETRY_AFTER;
		v1 = ra;
	} else if (r->status == MHD_HTTP_UNAUTHORIZED) {
		h1 = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		v1 = "Token realm=\"nameplate\"";
	}
	if (r->set_cookie != NULL) {
		h2 = MHD_HTTP_HEADER_SET_COOKIE;
		v2 = r->set_cookie;
	}
	enum MHD_Result ret = http_reply(r->conn, r->status, APP_JSON, text != NULL ? text : "",
	                                 text != NULL ? strlen(text) : 0, h1, v1, h2, v2);
	free(text);
	return ret;
}

/* ---- body fields ---- */

bool api_string(struct api_req *r, const char *key, size_t max, const char **out)
{
	*out = NULL;
	json_t *v = r->body != NULL ? json_object_get(r->body, key) : NULL;
	if (v == NULL)
		return true;
	if (!json_is_string(v)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "\"%s\" must be a string", key);
		return false;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len > max || strlen(s) != len || str_has_ctl(s)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		          "\"%s\" must be text of at most %zu bytes", key, max);
		return false;
	}
	*out = s;
	return true;
}

bool api_only_keys(struct api_req *r, const char *const *keys)
{
	const char *key;
	json_t *v;
	if (r->body == NULL)
		return true;
	json_object_foreach(r->body, key, v)
	{
		bool known = false;
		for (const char *const *k = keys; *k != NULL && !known; k++)
			known = strcmp(*k, key) == 0;
		if (!known) {
			char esc[64];
			log_escape(esc, sizeof(esc), key, strlen(key));
			api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "unknown member \"%s\"",
			          esc);
			return false;
		}
	}
	return true;
}

/* ---- reads and writes ---- */

static void req_free(struct api_req *r)
{
	json_decref(r->body);
	json_decref(r->out);
	if (r->ctx_free != NULL)
		r->ctx_free(r->ctx);
	explicit_bzero(r->token_hash, sizeof(r->token_hash));
	explicit_bzero(&r->cred, sizeof(r->cred));
	free(r);
}

struct read_call {
	struct api_req *r;
	api_lookup *fn;
};

static int read_trampoline(struct store *st, void *ctx)
{
	struct read_call *c = ctx;
	return c->fn(c->r, st);
}

int api_lookup_run(struct api_req *r, api_lookup *fn)
{
	struct read_call call = {r, fn};
	return http_store_read(r->hs, read_trampoline, &call);
}

enum MHD_Result api_read(struct api_req *r, api_lookup *fn)
{
	int ret = api_lookup_run(r, fn);
	if (ret != NP_OK && r->err_code[0] == '\0') {
		log_warn("api: store read failed: %s", np_strerror(ret));
		r->retry_after = 5;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "try again later");
	}
	return api_answer(r);
}

/* The token may have been revoked, or the account locked, since it was checked on the HTTP
 * thread: looked at again inside the transaction, by id (one lookup). */
static bool still_valid(struct api_req *r, struct store *st, int *err)
{
	bool ok;
	int64_t last_used;
	*err = NP_OK;
	if (!r->authenticated)
		return true;
	int ret = store_token_valid(st, r->cred.token_id, r->token_hash, &ok, &last_used);
	/* When the token was last used and from where (the token list shows it): at most once
	 * an hour, so that it is not a write of its own each time. */
	int64_t now = time_now();
	if (ret == NP_OK && ok && now - last_used >= API_TOKEN_USED_EVERY) {
		char source[INET6_ADDRSTRLEN] = "";
		addr_format(&r->client, source, sizeof(source));
		ret = store_token_used(st, r->cred.token_id, now, source);
	}
	if (ret != NP_OK)
		*err = ret;
	return ret == NP_OK && ok;
}

static int apply_op(struct writer_op *op, struct writer_txn *txn)
{
	struct api_req *r = container_of(op, struct api_req, op);
	struct store *st = writer_txn_store(txn);
	int err;
	if (!still_valid(r, st, &err)) {
		if (err != NP_OK)
			return err;
		return api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		                 "the token was revoked or the account is not active");
	}
	return r->apply(r, st, txn);
}

static void done_op(struct writer_op *op, int status)
{
	struct api_req *r = container_of(op, struct api_req, op);
	r->wstatus = status;
	if (status == NP_OK && r->committed != NULL)
		r->committed(r);
	http_task_resolve(&r->t);
}

static void refused_op(struct http_task *t, int rc)
{
	container_of(t, struct api_req, t)->wstatus = rc;
}

static enum MHD_Result task_answer(struct http_task *t)
{
	struct api_req *r = container_of(t, struct api_req, t);
	/* An error the apply function chose is answered as such (its changes were undone);
	 * any other failure means nothing can be claimed. */
	if (r->wstatus != NP_OK && r->err_code[0] == '\0') {
		log_warn("api: change not made: %s", np_strerror(r->wstatus));
		r->retry_after = 5;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
		          "the change could not be stored; try again later");
	}
	return api_answer(r);
}

static void task_free(struct http_task *t)
{
	req_free(container_of(t, struct api_req, t));
}

/* Set by api_serve for the time of the handler: api_write needs the request. */
static _Thread_local struct http_request *current;

enum MHD_Result api_write(struct api_req *r, api_apply *apply)
{
	r->apply = apply;
	r->op.apply = apply_op;
	r->op.done = done_op;
	r->t.answer = task_answer;
	r->t.free_fn = task_free;
	return http_task_submit(current, &r->t, &r->op, refused_op);
}

/* The writer half of a request already suspended (by api_slow): submits, or answers 503 at
 * once when the writer will not take it. */
void api_write_begun(struct api_req *r, api_apply *apply)
{
	r->apply = apply;
	r->op.apply = apply_op;
	r->op.done = done_op;
	int rc = writer_submit(http_writer(r->hs), &r->op);
	if (rc != NP_OK) {
		r->wstatus = rc;
		http_task_resolve(&r->t);
	}
}

enum MHD_Result api_slow(struct api_req *r, struct hashing_job *job)
{
	r->t.answer = task_answer;
	r->t.free_fn = task_free;
	r->wstatus = NP_OK;
	if (!http_task_begin(current, &r->t) || hashing_submit(http_hashing(r->hs), job) != NP_OK) {
		r->retry_after = 5;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
		          "too many sign-ins at once; try again in a few seconds");
		http_task_resolve(&r->t);
	}
	return MHD_YES;
}

/* ---- the OpenAPI document (static/openapi.json, embedded) ---- */

static enum MHD_Result api_openapi(struct api_req *r)
{
	const char *type;
	const struct embed_file *f = static_find("/static/openapi.json", &type);
	if (f == NULL) {
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no API document in this build");
		return api_answer(r);
	}
	return http_reply(r->conn, MHD_HTTP_OK, type, f->data, f->len, NULL, NULL, NULL, NULL);
}

/* ---- routing and authentication ---- */

/* Splits the path below /api/v1/ into r->segs; false when a segment is empty, too long, or
 * holds anything but letters, digits, '.', '-', '_' and '*'. */
static bool split_path(struct api_req *r, const char *path)
{
	r->nseg = 0;
	if (*path == '\0')
		return false;
	while (*path != '\0') {
		size_t n = strcspn(path, "/");
		if (n == 0 || n >= CFG_NAME_MAX || r->nseg == API_MAX_SEGS)
			return false;
		for (size_t i = 0; i < n; i++) {
			char ch = path[i];
			bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			          (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
			if (!ok)
				return false;
		}
		memcpy(r->segs[r->nseg], path, n);
		r->segs[r->nseg][n] = '\0';
		r->nseg++;
		path += n;
		if (*path == '/') {
			path++;
			if (*path == '\0')
				return false; /* a trailing slash names nothing */
		}
	}
	return true;
}

static bool route_matches(const struct api_route *rt, const struct api_req *r)
{
	const char *p = rt->path;
	for (unsigned i = 0; i < r->nseg; i++) {
		size_t n = strcspn(p, "/");
		if (n == 0)
			return false;
		bool any = n == 1 && p[0] == '*';
		if (!any && (strlen(r->segs[i]) != n || strncmp(p, r->segs[i], n) != 0))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return *p == '\0';
}

/* The presented secret: "Authorization: Token S" (or "Bearer S"), else the session cookie.
 * false when none is presented. *cookie says which. */
static bool presented_secret(struct MHD_Connection *c, const char **secret, bool *cookie)
{
	const char *h =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	*cookie = false;
	if (h != NULL) {
		if (strncasecmp(h, "Token ", 6) == 0)
			h += 6;
		else if (strncasecmp(h, "Bearer ", 7) == 0)
			h += 7;
		else
			return false;
		while (*h == ' ')
			h++;
		*secret = h;
		return true;
	}
	const char *s = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, API_SESSION_COOKIE);
	if (s == NULL)
		return false;
	*secret = s;
	*cookie = true;
	return true;
}

struct auth_call {
	struct api_req *r;
	int found;
};

static int auth_lookup(struct store *st, void *ctx)
{
	struct auth_call *a = ctx;
	int ret = credential_from_hash(st, a->r->token_hash, &a->r->cred);
	a->found = ret;
	return ret == NP_ENOTFOUND ? NP_OK : ret;
}

/* Authenticates r for a route of level auth; false with the error set in r. */
static bool authenticate(struct api_req *r, enum api_auth auth)
{
	const char *secret;
	bool cookie;
	int64_t now_ms = time_mono_ms();
	struct throttle *th = http_throttle(r->hs);
	if (!presented_secret(r->conn, &secret, &cookie)) {
		api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		          "send a token: Authorization: Token SECRET");
		return false;
	}
	unsigned wait = throttle_check(th, &r->client, "", now_ms);
	if (wait > 0) {
		r->retry_after = wait;
		api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "throttled",
		          "too many failed attempts; try again in %u s", wait);
		return false;
	}
	size_t len = strlen(secret);
	if (len == 0 || len > SECRET_MAX_INPUT) {
		throttle_failed(th, &r->client, "", "api", now_ms);
		api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "unknown or expired token");
		return false;
	}
	secret_hash(secret, len, r->token_hash);
	struct auth_call a = {r, NP_ENOTFOUND};
	int ret = http_store_read(r->hs, auth_lookup, &a);
	if (ret != NP_OK) {
		r->retry_after = 5;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "try again later");
		return false;
	}
	if (a.found != NP_OK) {
		throttle_failed(th, &r->client, "", "api", now_ms);
		api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "unknown or expired token");
		return false;
	}
	enum policy_verdict v = credential_usable(&r->cred, &r->client, time_now());
	if (v == POLICY_ACCOUNT && r->cred.state == STORE_USER_SUSPENDED) {
		/* 401 as for any account that is not active (clients key on it); the message
		 * says why. */
		api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		          "this account is suspended for abuse; ask the operator");
		return false;
	}
	if (v == POLICY_EXPIRED || v == POLICY_ACCOUNT) {
		api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "%s", policy_verdict_str(v));
		return false;
	}
	if (v != POLICY_OK) {
		api_error(r, MHD_HTTP_FORBIDDEN, "forbidden", "%s", policy_verdict_str(v));
		return false;
	}
	/* A cookie is sent by the browser on its own: a change made with one must come from
	 * one of our pages, and as JSON, which no form of another site can send. */
	bool safe = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	if (cookie && !safe && !http_form_from_us(r->conn, r->cfg->check_public_url)) {
		api_error(r, MHD_HTTP_FORBIDDEN, "forbidden", "sent from another site");
		return false;
	}
	bool session = r->cred.kind == STORE_TOKEN_SESSION;
	bool manage = session || r->cred.policy.manage;
	if ((auth == API_MANAGE && !manage) || (auth == API_SESSION && !session) ||
	    (auth == API_ADMIN && (!manage || r->cred.role != STORE_ROLE_ADMIN))) {
		api_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
		          auth == API_SESSION ? "this needs a signed-in session (POST /auth/login)"
		          : auth == API_ADMIN ? "this needs an administrator"
		                              : "this token may not manage tokens");
		return false;
	}
	r->authenticated = true;
	throttle_succeeded(th, &r->client, "", now_ms);
	return true;
}

/* Parses the body: a JSON object, sent as application/json. */
static bool parse_body(struct api_req *r, const struct http_request *hr)
{
	if (hr->body == NULL || hr->body_len == 0)
		return true;
	const char *ct =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = ct != NULL ? strcspn(ct, ";") : 0;
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	if (ct == NULL || n != strlen(APP_JSON) || strncasecmp(ct, APP_JSON, n) != 0) {
		api_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
		          "send the body as application/json");
		return false;
	}
	json_error_t err;
	r->body = json_loadb(hr->body, hr->body_len, JSON_REJECT_DUPLICATES, &err);
	if (r->body == NULL || !json_is_object(r->body)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", "the body must be a JSON object%s%s",
		          r->body == NULL ? ": " : "", r->body == NULL ? err.text : "");
		return false;
	}
	return true;
}

struct api_req *api_req_new(struct http_request *hr)
{
	struct api_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->hs = hr->hs;
	r->cfg = http_config(hr->hs);
	r->conn = hr->conn;
	r->method = hr->method;
	r->client = hr->client;
	r->status = MHD_HTTP_OK;
	return r;
}

void api_req_free(struct api_req *r)
{
	if (r != NULL)
		req_free(r);
}

bool api_req_authenticate(struct api_req *r, enum api_auth auth)
{
	return auth == API_PUBLIC || authenticate(r, auth);
}

enum MHD_Result api_req_run(struct http_request *hr, struct api_req *r, api_handler *fn)
{
	current = hr;
	enum MHD_Result ret = fn(r);
	current = NULL;
	if (*hr->con_cls == &r->t)
		return ret; /* another thread has it; freed when the request completes */
	req_free(r);
	return ret;
}

enum MHD_Result api_serve(struct http_request *hr)
{
	struct api_req *r = api_req_new(hr);
	if (r == NULL)
		return http_reply_text(hr->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");

	const char *path = hr->url + strlen("/api/v1");
	if (*path == '/')
		path++;
	const struct api_route *rt = NULL;
	char allow[64] = "";
	if (split_path(r, path)) {
		for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
			if (!route_matches(&routes[i], r))
				continue;
			if (strcmp(routes[i].method, r->method) == 0 ||
			    (strcmp(r->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
				rt = &routes[i];
			size_t o = strlen(allow);
			snprintf(allow + o, sizeof(allow) - o, "%s%s", o > 0 ? ", " : "",
			         routes[i].method);
		}
	}
	enum MHD_Result ret;
	if (rt == NULL && allow[0] == '\0') {
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such API path");
		ret = api_answer(r);
	} else if (rt == NULL) {
		api_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
		          "this path takes %s", allow);
		r->allow = allow;
		ret = api_answer(r);
	} else if (!hr->client_ok) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "bad X-Forwarded-For");
		ret = api_answer(r);
	} else if (!parse_body(r, hr) || (rt->auth != API_PUBLIC && !authenticate(r, rt->auth))) {
		ret = api_answer(r);
	} else {
		return api_req_run(hr, r, rt->fn);
	}
	req_free(r);
	return ret;
}
