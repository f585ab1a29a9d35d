/* SPDX-License-Identifier: MIT */
/* The web UI: server-rendered pages that work without JavaScript, over the REST API's own
 * handlers. A page fills an API request as the API path would be (r->segs, and r->body
 * built from the form's fields), runs the handler with api_req_run, and renders HTML from
 * its answer (r->answer), so every rule (policies, limits, passwords, TOTP) is the API's.
 * Reads answer at once, so a page may gather several; a change answers when the writer
 * has made it durable, and then redirects (303) or says what went wrong.
 *
 * Sign-in: the login page runs the API's login and keeps its session secret in the
 * np_session cookie (HttpOnly, SameSite=Strict, Path=/, Secure behind https, Max-Age the
 * session's hours), which api_req_authenticate takes. Forms: every POST must come from one
 * of our pages (http_form_from_us) and carry a CSRF value: for a signed-in person a keyed
 * hash of the session secret (nothing to store, ends with the session); before sign-in,
 * where there is no session, the double-submit np_csrf cookie of the check pages.
 * docs/accounts.md explains both. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "http/api.h"
#include "http/check_page.h"
#include "http/qr.h"
#include "http/template.h"
#include "http/web_page.h"

#define SESSION_COOKIE "np_session"
#define CSRF_COOKIE    "np_csrf"
/* Fields of one form at most (the token form has the most: about a dozen). */
#define FORM_FIELDS_MAX 32
#define COOKIE_MAX      256
#define DAY             86400

/* The key of the session-derived CSRF value: a fixed, public domain separator, since the
 * secret input is the session's own secret (which the page never shows). */
static const unsigned char csrf_key[crypto_generichash_KEYBYTES] =
    "nameplate web form csrf, v1....";

/* ---- forms ---- */

/* The fields of an application/x-www-form-urlencoded body as a JSON object: a name given
 * once is a string, one given more often a list of strings (ticked checkboxes). NULL when
 * the body is malformed (a bad escape, an encoded NUL, not UTF-8) or has too many fields. */
static json_t *form_parse(const char *body, size_t len)
{
	json_t *o = json_object();
	char *val = malloc(len + 1);
	char key[33];
	unsigned n = 0;
	size_t pos = 0, klen, vlen;
	const char *pair, *v;
	if (o == NULL || val == NULL)
		goto bad;
	while (form_next_pair(body, len, &pos, &pair, &klen, &v, &vlen)) {
		if (++n > FORM_FIELDS_MAX)
			goto bad;
		int vl;
		if (check_url_decode(pair, klen, key, sizeof(key)) <= 0 ||
		    (vl = check_url_decode(v, vlen, val, len + 1)) < 0)
			goto bad;
		json_t *s = json_stringn(val, (size_t)vl);
		if (s == NULL)
			goto bad;
		json_t *old = json_object_get(o, key);
		if (old == NULL) {
			json_object_set_new(o, key, s);
		} else if (json_is_array(old)) {
			json_array_append_new(old, s);
		} else {
			json_t *a = json_array();
			if (a == NULL || json_array_append(a, old) != 0 ||
			    json_array_append_new(a, s) != 0 || json_object_set_new(o, key, a) != 0)
				goto bad;
		}
	}
	free(val);
	return o;
bad:
	free(val);
	json_decref(o);
	return NULL;
}

/* A field given once, or NULL. */
static const char *field(const json_t *form, const char *name)
{
	return json_string_value(json_object_get(form, name));
}

/* A field's value, "" when it is missing. */
static const char *field_or_empty(const json_t *form, const char *name)
{
	const char *s = field(form, name);
	return s != NULL ? s : "";
}

/* The words of text (split at spaces, commas and line breaks) as a JSON list. */
static json_t *words(const char *text)
{
	json_t *a = json_array();
	const char *sep = " ,\t\r\n";
	while (a != NULL && *text != '\0') {
		text += strspn(text, sep);
		size_t n = strcspn(text, sep);
		if (n > 0)
			json_array_append_new(a, json_stringn(text, n));
		text += n;
	}
	return a;
}

/* The non-empty lines of text, each trimmed, as a JSON list (a TXT record may hold
 * spaces). */
static json_t *lines(const char *text)
{
	json_t *a = json_array();
	while (a != NULL && *text != '\0') {
		size_t n = strcspn(text, "\r\n");
		const char *s = text;
		size_t len = n;
		str_trim(&s, &len);
		if (len > 0)
			json_array_append_new(a, json_stringn(s, len));
		text += n;
		text += strspn(text, "\r\n");
	}
	return a;
}

/* A path segment from the URL: letters, digits, '.', '-', '_', as the API's router
 * takes. */
static bool seg_ok(const char *s, size_t n)
{
	if (n == 0 || n >= CFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

/* ---- answers ---- */

static bool secure_cookies(const struct config *cfg)
{
	return strncmp(cfg->check_public_url, "https://", 8) == 0;
}

static enum MHD_Result send_page(struct MHD_Connection *c, unsigned status, struct buf *b,
                                 const char *cookie)
{
	enum MHD_Result ret;
	if (b->err || b->p == NULL)
		ret = http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
	else
		ret =
		    http_reply(c, status, TEXT_HTML, b->p, b->len, "Content-Security-Policy",
		               TPL_CSP, cookie != NULL ? MHD_HTTP_HEADER_SET_COOKIE : NULL, cookie);
	buf_free(b);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, struct buf *b)
{
	enum MHD_Result ret;
	if (b->err || b->p == NULL)
		ret = http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
	else
		ret = http_reply(c, MHD_HTTP_OK, TEXT_PLAIN, b->p, b->len, NULL,
		                 NULL, NULL, NULL);
	buf_free(b);
	return ret;
}

static enum MHD_Result redirect(struct MHD_Connection *c, const char *location, const char *cookie)
{
	return http_reply(c, MHD_HTTP_SEE_OTHER, TEXT_PLAIN, "", 0, MHD_HTTP_HEADER_LOCATION,
	                  location, cookie != NULL ? MHD_HTTP_HEADER_SET_COOKIE : NULL, cookie);
}

static enum MHD_Result message(struct MHD_Connection *c, const struct web_nav *nav, unsigned status,
                               const char *title, const char *text, const char *back,
                               const char *back_text, const char *cookie)
{
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_message(&b, nav, title, text, back, back_text, status >= 400);
	return send_page(c, status, &b, cookie);
}

/* The Set-Cookie value that ends the session cookie. */
static void session_cookie_clear(const struct config *cfg, char *out, size_t len)
{
	snprintf(out, len, SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
	         secure_cookies(cfg) ? "; Secure" : "");
}

/* ---- CSRF values ---- */

/* The signed-in person's form value: a keyed hash of the session secret in the cookie. */
static bool session_csrf(struct MHD_Connection *c, char out[CHECK_TOKEN_LEN + 1])
{
	const char *s = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
	if (s == NULL || s[0] == '\0' || strlen(s) > SECRET_MAX_INPUT)
		return false;
	uint8_t raw[CHECK_TOKEN_RAW];
	crypto_generichash(raw, sizeof(raw), (const uint8_t *)s, strlen(s), csrf_key,
	                   sizeof(csrf_key));
	check_token_text(raw, out);
	sodium_memzero(raw, sizeof(raw));
	return true;
}

/* Before sign-in: the np_csrf cookie's value (a new one when there is none), and the
 * Set-Cookie that keeps it. */
static void login_csrf(struct MHD_Connection *c, const struct config *cfg,
                       char out[CHECK_TOKEN_LEN + 1], char *cookie, size_t len)
{
	const char *v = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, CSRF_COOKIE);
	if (v != NULL && check_token_valid(v))
		np_strlcpy(out, v, CHECK_TOKEN_LEN + 1);
	else
		check_token_new(out);
	snprintf(cookie, len, CSRF_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", out,
	         secure_cookies(cfg) ? "; Secure" : "");
}

static bool login_csrf_ok(struct MHD_Connection *c, const json_t *form)
{
	const char *v = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, CSRF_COOKIE);
	const char *f = field(form, "csrf");
	return v != NULL && f != NULL && check_token_valid(v) && check_token_valid(f) &&
	       sodium_memcmp(v, f, CHECK_TOKEN_LEN) == 0;
}

/* ---- running the API's handlers ---- */

/* One page request. */
struct web {
	struct http_request *hr;
	struct MHD_Connection *conn;
	const struct config *cfg;
	bool post;
	json_t *form;         /* a POST's fields */
	struct api_req *auth; /* the signed-in request, until a change takes it */
	struct web_nav nav;
	char csrf[CHECK_TOKEN_LEN + 1];
};

static void set_segs(struct api_req *r, const char *s0, const char *s1, const char *s2,
                     const char *s3)
{
	const char *s[] = {s0, s1, s2, s3};
	r->nseg = 0;
	for (unsigned i = 0; i < 4 && s[i] != NULL; i++)
		np_strlcpy(r->segs[r->nseg++], s[i], CFG_NAME_MAX);
}

/* Authenticates the session cookie for level. false with the answer queued in *ret: a GET
 * without a usable sign-in goes to /login (the stale cookie cleared), anything else gets a
 * page saying why. */
static bool sign_in_check(struct web *w, enum api_auth level, enum MHD_Result *ret)
{
	char clear[COOKIE_MAX];
	session_cookie_clear(w->cfg, clear, sizeof(clear));
	bool cookie = session_csrf(w->conn, w->csrf);
	struct api_req *r = api_req_new(w->hr);
	if (r == NULL) {
		*ret = http_reply_text(w->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
		return false;
	}
	if (!cookie || !api_req_authenticate(r, level)) {
		unsigned st = cookie ? r->status : MHD_HTTP_UNAUTHORIZED;
		if (st == MHD_HTTP_UNAUTHORIZED && !w->post)
			*ret = redirect(w->conn, "/login", cookie ? clear : NULL);
		else if (st == MHD_HTTP_UNAUTHORIZED)
			*ret =
			    message(w->conn, NULL, st, "Signed out",
			            "Your sign-in has ended; nothing was changed. Sign in again.",
			            "/login", "Sign in", cookie ? clear : NULL);
		else
			*ret = message(w->conn, NULL, st,
			               st == MHD_HTTP_FORBIDDEN ? "Not allowed" : "Busy",
			               r->err_msg, "/hosts", "Back to your hosts", NULL);
		api_req_free(r);
		return false;
	}
	w->auth = r;
	w->nav.user = r->cred.user;
	w->nav.admin = r->cred.role == STORE_ROLE_ADMIN;
	w->nav.csrf = w->csrf;
	if (w->post) {
		const char *f = field(w->form, "csrf");
		if (f == NULL || strlen(f) != CHECK_TOKEN_LEN ||
		    sodium_memcmp(f, w->csrf, CHECK_TOKEN_LEN) != 0) {
			*ret =
			    message(w->conn, &w->nav, MHD_HTTP_FORBIDDEN, "Form expired",
			            "This form belongs to an earlier sign-in; nothing was changed. "
			            "Reload the page and try again.",
			            "/hosts", "Back to your hosts", NULL);
			return false;
		}
	}
	return true;
}

/* A request as the signed-in person, for another handler. */
static struct api_req *req_as(struct web *w)
{
	struct api_req *r = api_req_new(w->hr);
	if (r == NULL)
		return NULL;
	r->authenticated = true;
	r->cred = w->auth->cred;
	memcpy(r->token_hash, w->auth->token_hash, sizeof(r->token_hash));
	return r;
}

/* What a read handler answered. */
struct answer {
	unsigned status;
	json_t *out;
	char msg[256];
};

static enum MHD_Result keep_answer(struct api_req *r)
{
	struct answer *a = r->page;
	a->status = r->err_code[0] != '\0' ? r->status : r->status == 0 ? 500 : r->status;
	if (r->err_code[0] == '\0' && r->status < 300) {
		a->out = r->out;
		r->out = NULL;
	} else {
		np_strlcpy(a->msg, r->err_msg, sizeof(a->msg));
		if (a->status < 400)
			a->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	return MHD_YES;
}

/* Runs the read handler fn on the path s0/s1/s2 as the signed-in person; reads answer before
 * api_req_run returns. true when it answered 2xx (a->out set). */
static bool api_get(struct web *w, api_handler *fn, struct answer *a, const char *s0,
                    const char *s1, const char *s2)
{
	memset(a, 0, sizeof(*a));
	struct api_req *r = req_as(w);
	if (r == NULL) {
		a->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		np_strlcpy(a->msg, "out of memory", sizeof(a->msg));
		return false;
	}
	set_segs(r, s0, s1, s2, NULL);
	r->method = MHD_HTTP_METHOD_GET;
	r->answer = keep_answer;
	r->page = a;
	api_req_run(w->hr, r, fn);
	return a->out != NULL;
}

/* The page for a read that failed. */
static enum MHD_Result read_failed(struct web *w, const struct answer *a)
{
	return message(w->conn, &w->nav, a->status,
	               a->status == MHD_HTTP_NOT_FOUND ? "Not found" : "Cannot show this page",
	               a->msg[0] != '\0' ? a->msg : "try again later", "/hosts",
	               "Back to your hosts", NULL);
}

/* A change through the API: what its answer does. */
struct web_action {
	const char *failed; /* the title when it was refused */
	const char *back;   /* where to go next; NULL: the host of the request (/hosts/FQDN) */
	enum MHD_Result (*done)(struct api_req *r); /* instead of the redirect, when set */
};

/* The navigation of a change's answer (on the HTTP thread, after the writer). */
static void nav_of(struct api_req *r, struct web_nav *nav, char csrf[CHECK_TOKEN_LEN + 1])
{
	if (!session_csrf(r->conn, csrf))
		csrf[0] = '\0';
	nav->user = r->cred.user;
	nav->admin = r->cred.role == STORE_ROLE_ADMIN;
	nav->csrf = csrf;
}

static void back_of(const struct api_req *r, const struct web_action *a, char *out, size_t len)
{
	if (a->back != NULL) {
		np_strlcpy(out, a->back, len);
		return;
	}
	/* A new host is named by the answer; a changed one by the path. */
	const char *fqdn = json_string_value(json_object_get(r->out, "fqdn"));
	snprintf(out, len, "/hosts/%s", fqdn != NULL ? fqdn : r->segs[1]);
}

static enum MHD_Result action_answer(struct api_req *r)
{
	const struct web_action *a = r->page;
	char back[CFG_NAME_MAX + 16], csrf[CHECK_TOKEN_LEN + 1];
	back_of(r, a, back, sizeof(back));
	if (r->err_code[0] == '\0' && r->status < 300) {
		if (a->done != NULL)
			return a->done(r);
		return redirect(r->conn, back, NULL);
	}
	struct web_nav nav;
	nav_of(r, &nav, csrf);
	return message(r->conn, &nav, r->status, a->failed, r->err_msg, back, "Back", NULL);
}

/* Runs the change handler fn with body (taken) on the path s0/s1/s2/s3 as the signed-in
 * person; the answer follows through a. */
static enum MHD_Result act(struct web *w, api_handler *fn, json_t *body, const struct web_action *a,
                           const char *s0, const char *s1, const char *s2, const char *s3)
{
	struct api_req *r = w->auth;
	w->auth = NULL;
	set_segs(r, s0, s1, s2, s3);
	r->body = body;
	r->answer = action_answer;
	r->page = (void *)a;
	if (body == NULL) {
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
		enum MHD_Result ret = action_answer(r);
		api_req_free(r);
		return ret;
	}
	return api_req_run(w->hr, r, fn);
}

/* Runs the public handler fn (no session) with body (taken) on the path s0/s1; answer
 * makes the page of its outcome. */
static enum MHD_Result run_public(struct web *w, api_handler *fn, json_t *body,
                                  enum MHD_Result (*answer)(struct api_req *r), const char *s0,
                                  const char *s1)
{
	struct api_req *r = api_req_new(w->hr);
	if (r == NULL || body == NULL) {
		json_decref(body);
		api_req_free(r);
		return http_reply_text(w->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	}
	r->body = body;
	r->answer = answer;
	set_segs(r, s0, s1, NULL, NULL);
	return api_req_run(w->hr, r, fn);
}

/* A public form that fills an API request: the page that shows it (again, with the fields
 * of body and why it was refused), the handler and path that take it, and the page of the
 * outcome. */
struct public_form {
	enum MHD_Result (*page)(struct MHD_Connection *c, const struct config *cfg, unsigned status,
	                        const json_t *body, const char *error);
	api_handler *fn;
	const char *s0, *s1;
	enum MHD_Result (*answer)(struct api_req *r);
};

/* Posts body (taken) through form f. Before any session, CSRF is the double-submit np_csrf
 * cookie: without it the form comes back with what was typed. */
static enum MHD_Result post_public(struct web *w, const struct public_form *f, json_t *body)
{
	if (!login_csrf_ok(w->conn, w->form)) {
		enum MHD_Result ret = f->page(w->conn, w->cfg, MHD_HTTP_FORBIDDEN, body,
		                              "The form expired or cookies are off; try again.");
		json_decref(body);
		return ret;
	}
	return run_public(w, f->fn, body, f->answer, f->s0, f->s1);
}

/* ---- the server's own URL, for the update settings ---- */

static void base_url(struct MHD_Connection *c, const struct config *cfg, char *out, size_t len)
{
	const char *u = cfg->check_public_url;
	const char *host = strstr(u, "://");
	if (host != NULL) {
		size_t n = (size_t)(host + 3 - u) + strcspn(host + 3, "/?#");
		snprintf(out, len, "%.*s", (int)n, u);
		return;
	}
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (h == NULL || h[0] == '\0' || strpbrk(h, "/?#@ '\"\\") != NULL || str_has_ctl(h))
		h = "localhost";
	snprintf(out, len, "http://%s", h);
}

/* ---- pages: public ---- */

static bool signup_open(const struct config *cfg)
{
	return strcmp(cfg->accounts_signup, "closed") != 0 && cfg->accounts_signup[0] != '\0';
}

static enum MHD_Result page_home(struct web *w)
{
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	enum MHD_Result ret;
	/* Signed in: the navigation; a stale cookie is no error here. */
	bool in = false;
	if (session_csrf(w->conn, w->csrf)) {
		struct api_req *r = api_req_new(w->hr);
		in = r != NULL && api_req_authenticate(r, API_SESSION);
		if (in) {
			w->auth = r;
			w->nav = (struct web_nav){r->cred.user, r->cred.role == STORE_ROLE_ADMIN,
			                          w->csrf};
		} else {
			api_req_free(r);
		}
	}
	web_page_home(&b, in ? &w->nav : NULL, signup_open(w->cfg));
	ret = send_page(w->conn, MHD_HTTP_OK, &b, NULL);
	return ret;
}

static enum MHD_Result login_form(struct MHD_Connection *c, const struct config *cfg,
                                  unsigned status, const char *user, const char *error)
{
	char csrf[CHECK_TOKEN_LEN + 1], cookie[COOKIE_MAX];
	login_csrf(c, cfg, csrf, cookie, sizeof(cookie));
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_login(&b, csrf, user, error, signup_open(cfg));
	return send_page(c, status, &b, cookie);
}

static enum MHD_Result login_answer(struct api_req *r)
{
	const char *token = json_string_value(json_object_get(r->out, "token"));
	if (r->err_code[0] == '\0' && token != NULL) {
		char cookie[COOKIE_MAX];
		snprintf(cookie, sizeof(cookie),
		         SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%u%s",
		         token, r->cfg->accounts_session_hours * 3600u,
		         secure_cookies(r->cfg) ? "; Secure" : "");
		return redirect(r->conn, "/hosts", cookie);
	}
	return login_form(r->conn, r->cfg, r->err_code[0] != '\0' ? r->status : 500,
	                  json_string_value(json_object_get(r->body, "user")),
	                  r->err_code[0] != '\0' ? r->err_msg : "internal error");
}

static enum MHD_Result page_login(struct web *w)
{
	if (!w->post)
		return login_form(w->conn, w->cfg, MHD_HTTP_OK, NULL, NULL);
	if (!login_csrf_ok(w->conn, w->form))
		return login_form(w->conn, w->cfg, MHD_HTTP_FORBIDDEN, field(w->form, "username"),
		                  "The form expired or cookies are off; try again.");
	const char *totp = field_or_empty(w->form, "totp");
	json_t *body = json_pack("{s:s,s:s}", "user", field_or_empty(w->form, "username"),
	                         "password", field_or_empty(w->form, "password"));
	if (body != NULL && totp[0] != '\0')
		json_object_set_new(body, "totp", json_string(totp));
	return run_public(w, api_login, body, login_answer, "auth", "login");
}

/* ---- sign-up ---- */

static enum MHD_Result signup_form(struct MHD_Connection *c, const struct config *cfg,
                                   unsigned status, const json_t *body, const char *error)
{
	char csrf[CHECK_TOKEN_LEN + 1], cookie[COOKIE_MAX];
	login_csrf(c, cfg, csrf, cookie, sizeof(cookie));
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_signup(&b, csrf, cfg->accounts_signup,
	                json_string_value(json_object_get(body, "user")),
	                json_string_value(json_object_get(body, "email")), error);
	return send_page(c, status, &b, cookie);
}

static enum MHD_Result signup_answer(struct api_req *r)
{
	const char *state = json_string_value(json_object_get(r->out, "state"));
	if (r->err_code[0] != '\0' || state == NULL)
		return signup_form(r->conn, r->cfg, r->err_code[0] != '\0' ? r->status : 500,
		                   r->body, r->err_code[0] != '\0' ? r->err_msg : "internal error");
	if (strcmp(state, "active") == 0)
		return message(r->conn, NULL, MHD_HTTP_CREATED, "Account made",
		               "Your account is ready.", "/login", "Sign in", NULL);
	return message(r->conn, NULL, MHD_HTTP_CREATED, "Check your mail",
	               "We sent a link to your mail address: open it within 24 hours to confirm "
	               "the address, then sign in.",
	               "/", "Home", NULL);
}

static const struct public_form form_signup = {signup_form, api_signup, "auth", "signup",
                                               signup_answer};

static enum MHD_Result page_signup(struct web *w)
{
	if (!signup_open(w->cfg))
		return message(
		    w->conn, NULL, MHD_HTTP_NOT_FOUND, "No sign-ups",
		    "This server does not take sign-ups; ask its operator for an account.", "/",
		    "Home", NULL);
	if (!w->post)
		return signup_form(w->conn, w->cfg, MHD_HTTP_OK, NULL, NULL);
	json_t *body = json_pack("{s:s,s:s}", "user", field_or_empty(w->form, "username"),
	                         "password", field_or_empty(w->form, "password"));
	const char *email = field_or_empty(w->form, "email"),
	           *invite = field_or_empty(w->form, "invite");
	if (body != NULL && email[0] != '\0')
		json_object_set_new(body, "email", json_string(email));
	if (body != NULL && invite[0] != '\0' && strcmp(w->cfg->accounts_signup, "invite") == 0)
		json_object_set_new(body, "invite", json_string(invite));
	return post_public(w, &form_signup, body);
}

/* ---- abuse reports (public) ---- */

static enum MHD_Result abuse_form(struct MHD_Connection *c, const struct config *cfg,
                                  unsigned status, const json_t *body, const char *error)
{
	char csrf[CHECK_TOKEN_LEN + 1], cookie[COOKIE_MAX];
	login_csrf(c, cfg, csrf, cookie, sizeof(cookie));
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_abuse(&b, csrf, json_string_value(json_object_get(body, "hostname")),
	               json_string_value(json_object_get(body, "evidence")),
	               json_string_value(json_object_get(body, "contact")), error);
	return send_page(c, status, &b, cookie);
}

static enum MHD_Result abuse_answer(struct api_req *r)
{
	if (r->err_code[0] != '\0')
		return abuse_form(r->conn, r->cfg, r->status, r->body, r->err_msg);
	char text[160];
	snprintf(text, sizeof(text),
	         "Thank you. Your report is ticket %lld; the operator will look at it.",
	         (long long)json_integer_value(json_object_get(r->out, "ticket")));
	return message(r->conn, NULL, MHD_HTTP_CREATED, "Report received", text, "/", "Home",
	               NULL);
}

/* The form fills the API's request (POST /api/v1/abuse), so its checks and budget are
 * the API's. */
static const struct public_form form_abuse = {abuse_form, api_abuse_report, "abuse", NULL,
                                              abuse_answer};

static enum MHD_Result page_abuse(struct web *w)
{
	if (!w->post)
		return abuse_form(w->conn, w->cfg, MHD_HTTP_OK, NULL, NULL);
	json_t *body = json_pack("{s:s,s:s,s:s}", "hostname", field_or_empty(w->form, "hostname"),
	                         "category", field_or_empty(w->form, "category"), "evidence",
	                         field_or_empty(w->form, "evidence"));
	const char *contact = field_or_empty(w->form, "contact");
	if (body != NULL && contact[0] != '\0')
		json_object_set_new(body, "contact", json_string(contact));
	return post_public(w, &form_abuse, body);
}

/* GET /abuse/revoked.txt: the API's revoked list as text, one "NAME SINCE" a line. */
static enum MHD_Result revoked_text(struct api_req *r)
{
	const json_t *list = json_object_get(r->out, "revoked");
	if (r->err_code[0] != '\0' || list == NULL)
		return http_reply_text(r->conn, r->status >= 400 ? r->status : 500,
		                       "cannot read the list now\n");
	struct buf b;
	buf_init(&b, (size_t)1 << 26);
	buf_printf(&b, "# Names of this server taken out of service for abuse (quarantined) or"
	               " whose account is suspended, and since when (UTC).\n");
	size_t i;
	const json_t *o;
	json_array_foreach(list, i, o)
	{
		buf_printf(&b, "%s %s\n", json_string_value(json_object_get(o, "name")),
		           json_string_value(json_object_get(o, "since")));
	}
	if (json_is_true(json_object_get(r->out, "truncated")))
		buf_printf(&b, "# more names were left out\n");
	return send_text(r->conn, &b);
}

static enum MHD_Result page_revoked(struct web *w)
{
	struct api_req *r = api_req_new(w->hr);
	if (r == NULL)
		return http_reply_text(w->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	set_segs(r, "abuse", "revoked", NULL, NULL);
	r->method = MHD_HTTP_METHOD_GET;
	r->answer = revoked_text;
	return api_req_run(w->hr, r, api_abuse_revoked);
}

static enum MHD_Result confirm_answer(struct api_req *r)
{
	if (r->err_code[0] != '\0')
		return message(r->conn, NULL, r->status, "Not confirmed", r->err_msg, "/signup",
		               "Sign up", NULL);
	return message(r->conn, NULL, MHD_HTTP_OK, "Address confirmed", "Your account is ready.",
	               "/login", "Sign in", NULL);
}

static enum MHD_Result page_confirm(struct web *w)
{
	char csrf[CHECK_TOKEN_LEN + 1], cookie[COOKIE_MAX];
	if (!w->post) {
		const char *code =
		    MHD_lookup_connection_value(w->conn, MHD_GET_ARGUMENT_KIND, "code");
		if (code == NULL || code[0] == '\0' || strlen(code) > SECRET_MAX_INPUT ||
		    str_has_ctl(code))
			return message(w->conn, NULL, MHD_HTTP_NOT_FOUND, "Not confirmed",
			               "This link has no code; open the whole link of the mail.",
			               "/", "Home", NULL);
		login_csrf(w->conn, w->cfg, csrf, cookie, sizeof(cookie));
		struct buf b;
		buf_init(&b, WEB_PAGE_MAX);
		web_page_confirm(&b, csrf, code);
		return send_page(w->conn, MHD_HTTP_OK, &b, cookie);
	}
	if (!login_csrf_ok(w->conn, w->form))
		return message(w->conn, NULL, MHD_HTTP_FORBIDDEN, "Not confirmed",
		               "The form expired or cookies are off; open the link again.", "/",
		               "Home", NULL);
	json_t *body = json_pack("{s:s}", "code", field_or_empty(w->form, "code"));
	return run_public(w, api_confirm, body, confirm_answer, "auth", "confirm");
}

static enum MHD_Result logout_done(struct api_req *r)
{
	char clear[COOKIE_MAX];
	session_cookie_clear(r->cfg, clear, sizeof(clear));
	return redirect(r->conn, "/", clear);
}

static const struct web_action act_logout = {"Not signed out", "/", logout_done};

static enum MHD_Result page_logout(struct web *w)
{
	enum MHD_Result ret;
	if (!w->post)
		return redirect(w->conn, "/", NULL);
	if (!sign_in_check(w, API_SESSION, &ret))
		return ret;
	return act(w, api_logout, json_object(), &act_logout, "auth", "logout", NULL, NULL);
}

/* ---- pages: hosts ---- */

static const struct web_action act_host_add = {"The host was not added", NULL, NULL};
static const struct web_action act_host_change = {"The records were not changed", NULL, NULL};
static const struct web_action act_host_delete = {"The host was not deleted", "/hosts", NULL};
static const struct web_action act_abuse_clear = {"The hold was not cleared", NULL, NULL};

static enum MHD_Result page_hosts(struct web *w)
{
	if (w->post) {
		json_t *body = json_pack("{s:s}", "fqdn", field_or_empty(w->form, "hostname"));
		return act(w, api_hosts_create, body, &act_host_add, "hosts", NULL, NULL, NULL);
	}
	struct answer a;
	if (!api_get(w, api_hosts_list, &a, "hosts", NULL, NULL))
		return read_failed(w, &a);
	char zones[512] = "";
	for (unsigned i = 0; i < w->cfg->n_zones; i++) {
		size_t o = strlen(zones);
		snprintf(zones + o, sizeof(zones) - o, "%s%s", i > 0 ? ", " : "",
		         w->cfg->zones[i].name);
	}
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_hosts(&b, &w->nav, a.out, zones);
	json_decref(a.out);
	return send_page(w->conn, MHD_HTTP_OK, &b, NULL);
}

static enum MHD_Result settings_done(struct api_req *r)
{
	char base[CFG_URL_MAX + 16], csrf[CHECK_TOKEN_LEN + 1];
	struct web_nav nav;
	nav_of(r, &nav, csrf);
	base_url(r->conn, r->cfg, base, sizeof(base));
	const char *fqdn = json_string_value(
	    json_array_get(json_object_get(json_object_get(r->out, "policy"), "names"), 0));
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_settings(&b, &nav, r->out, fqdn != NULL ? fqdn : "", base, r->cred.user);
	return send_page(r->conn, MHD_HTTP_OK, &b, NULL);
}

static const struct web_action act_settings = {"No update settings were made", NULL, settings_done};

static enum MHD_Result page_host(struct web *w, const char *fqdn, const char *what)
{
	if (!w->post && what[0] == '\0') {
		struct answer h, hist;
		if (!api_get(w, api_host_get, &h, "hosts", fqdn, NULL))
			return read_failed(w, &h);
		if (!api_get(w, api_history, &hist, "hosts", fqdn, "history")) {
			json_decref(h.out);
			return read_failed(w, &hist);
		}
		/* The last audit is shown when it can be read; the page stands without it. */
		struct answer au;
		if (!api_get(w, api_audit_get, &au, "hosts", fqdn, "audit"))
			log_warn("web: the audit of a host could not be read: %s", au.msg);
		struct answer ab;
		if (!api_get(w, api_host_abuse, &ab, "hosts", fqdn, "abuse"))
			log_warn("web: the abuse state of a host could not be read: %s", ab.msg);
		struct buf b;
		buf_init(&b, WEB_PAGE_MAX);
		web_page_host(&b, &w->nav, h.out, hist.out, au.out, ab.out);
		json_decref(h.out);
		json_decref(hist.out);
		json_decref(au.out);
		json_decref(ab.out);
		return send_page(w->conn, MHD_HTTP_OK, &b, NULL);
	}
	if (!w->post)
		return redirect(w->conn, "/hosts", NULL);
	if (strcmp(what, "records") == 0) {
		const char *type = field_or_empty(w->form, "type");
		if (!seg_ok(type, strlen(type)))
			type = "none";
		json_t *body =
		    json_pack("{s:o}", "records", lines(field_or_empty(w->form, "values")));
		return act(w, api_records_put, body, &act_host_change, "hosts", fqdn, "records",
		           type);
	}
	if (strcmp(what, "delete") == 0) {
		if (strcmp(field_or_empty(w->form, "confirm"), "yes") != 0) {
			char back[CFG_NAME_MAX + 16];
			snprintf(back, sizeof(back), "/hosts/%s", fqdn);
			return message(w->conn, &w->nav, MHD_HTTP_BAD_REQUEST,
			               "The host was not deleted",
			               "Tick the box to confirm the deletion.", back, "Back", NULL);
		}
		return act(w, api_host_delete, json_object(), &act_host_delete, "hosts", fqdn, NULL,
		           NULL);
	}
	if (strcmp(what, "abuse-clear") == 0) {
		if (strcmp(field_or_empty(w->form, "confirm"), "yes") != 0) {
			char back[CFG_NAME_MAX + 16];
			snprintf(back, sizeof(back), "/hosts/%s", fqdn);
			return message(w->conn, &w->nav, MHD_HTTP_BAD_REQUEST,
			               "The hold was not cleared",
			               "Tick the box to confirm the name is used as intended.",
			               back, "Back", NULL);
		}
		return act(w, api_host_abuse_clear, json_pack("{s:b}", "confirm", 1),
		           &act_abuse_clear, "hosts", fqdn, "abuse", "clear");
	}
	if (strcmp(what, "settings") == 0) {
		/* A token's name holds 63 bytes: a long host name is cut (the policy names it). */
		char name[64];
		snprintf(name, sizeof(name), "updates of %.52s", fqdn);
		json_t *body = json_pack("{s:s,s:{s:[s],s:[s,s]}}", "name", name, "policy", "names",
		                         fqdn, "types", "A", "AAAA");
		return act(w, api_tokens_create, body, &act_settings, "tokens", NULL, NULL, NULL);
	}
	return message(w->conn, &w->nav, MHD_HTTP_NOT_FOUND, "Not found", "No such page.", "/hosts",
	               "Back to your hosts", NULL);
}

/* ---- pages: tokens ---- */

static enum MHD_Result token_made(struct api_req *r)
{
	char csrf[CHECK_TOKEN_LEN + 1];
	struct web_nav nav;
	nav_of(r, &nav, csrf);
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_token_made(&b, &nav, r->out);
	return send_page(r->conn, MHD_HTTP_CREATED, &b, NULL);
}

static const struct web_action act_token_make = {"The token was not made", "/tokens", token_made};
static const struct web_action act_token_revoke = {"The token was not revoked", "/tokens", NULL};

/* The token form's fields as the API's body; NULL with *why set when one is not usable. */
static json_t *token_body(const json_t *form, const char **why)
{
	json_t *types = json_object_get(form, "types");
	json_t *type_list = json_is_array(types) ? json_deep_copy(types) : json_array();
	if (json_is_string(types))
		json_array_append(type_list, types);
	json_t *policy =
	    json_pack("{s:o,s:o,s:o,s:b}", "names", words(field_or_empty(form, "names")), "types",
	              type_list, "sources", words(field_or_empty(form, "sources")), "manage",
	              strcmp(field_or_empty(form, "manage"), "yes") == 0);
	const char *days = field_or_empty(form, "days");
	if (policy != NULL && days[0] != '\0') {
		uint32_t d;
		if (str_to_u32(days, 1, 3650, &d) != NP_OK) {
			*why = "The days until it expires are a number from 1 to 3650 (or empty: "
			       "never).";
			json_decref(policy);
			return NULL;
		}
		json_object_set_new(policy, "expires", json_integer(time_now() + (int64_t)d * DAY));
	}
	return json_pack("{s:s,s:o}", "name", field_or_empty(form, "name"), "policy", policy);
}

static enum MHD_Result tsig_made(struct api_req *r)
{
	char csrf[CHECK_TOKEN_LEN + 1];
	struct web_nav nav;
	nav_of(r, &nav, csrf);
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_tsig_made(&b, &nav, r->out);
	return send_page(r->conn, MHD_HTTP_CREATED, &b, NULL);
}

static const struct web_action act_tsig_make = {"The key was not made", "/tokens", tsig_made};

/* POST /tokens/tsig: the TSIG key form as the API's body (POST /api/v1/tsig). */
static enum MHD_Result page_tsig_make(struct web *w)
{
	if (!w->post)
		return message(w->conn, &w->nav, MHD_HTTP_NOT_FOUND, "Not found", "No such page.",
		               "/tokens", "Back", NULL);
	json_t *types = json_object_get(w->form, "types");
	json_t *type_list = json_is_array(types) ? json_deep_copy(types) : json_array();
	if (json_is_string(types))
		json_array_append(type_list, types);
	json_t *body =
	    json_pack("{s:s,s:s,s:{s:o,s:o}}", "name", field_or_empty(w->form, "keyname"),
	              "algorithm", field_or_empty(w->form, "algorithm"), "policy", "names",
	              words(field_or_empty(w->form, "names")), "types", type_list);
	return act(w, api_tsig_create, body, &act_tsig_make, "tsig", NULL, NULL, NULL);
}

static enum MHD_Result page_tokens(struct web *w, const char *id, const char *what)
{
	if (!w->post) {
		struct answer a;
		if (!api_get(w, api_tokens_list, &a, "tokens", NULL, NULL))
			return read_failed(w, &a);
		struct buf b;
		buf_init(&b, WEB_PAGE_MAX);
		web_page_tokens(&b, &w->nav, a.out);
		json_decref(a.out);
		return send_page(w->conn, MHD_HTTP_OK, &b, NULL);
	}
	if (id == NULL) {
		const char *why = "out of memory";
		json_t *body = token_body(w->form, &why);
		if (body == NULL)
			return message(w->conn, &w->nav, MHD_HTTP_BAD_REQUEST,
			               act_token_make.failed, why, "/tokens", "Back", NULL);
		return act(w, api_tokens_create, body, &act_token_make, "tokens", NULL, NULL, NULL);
	}
	if (strcmp(what, "revoke") == 0)
		return act(w, api_token_delete, json_object(), &act_token_revoke, "tokens", id,
		           NULL, NULL);
	return message(w->conn, &w->nav, MHD_HTTP_NOT_FOUND, "Not found", "No such page.",
	               "/tokens", "Back", NULL);
}

/* ---- pages: the account ---- */

static const struct web_action act_account = {"Not changed", "/account", NULL};

static enum MHD_Result account_deleted(struct api_req *r)
{
	char clear[COOKIE_MAX];
	session_cookie_clear(r->cfg, clear, sizeof(clear));
	return message(r->conn, NULL, MHD_HTTP_OK, "Account deleted",
	               "Your account, its hosts and its tokens are deleted.", "/", "Home", clear);
}

static const struct web_action act_account_delete = {"The account was not deleted", "/account",
                                                     account_deleted};

static enum MHD_Result account_page(struct web *w)
{
	struct answer acc, totp, tokens;
	if (!api_get(w, api_account_get, &acc, "account", NULL, NULL))
		return read_failed(w, &acc);
	if (!api_get(w, api_totp_get, &totp, "account", "totp", NULL)) {
		json_decref(acc.out);
		return read_failed(w, &totp);
	}
	if (!api_get(w, api_tokens_list, &tokens, "tokens", NULL, NULL)) {
		json_decref(acc.out);
		json_decref(totp.out);
		return read_failed(w, &tokens);
	}
	char *svg = NULL;
	size_t svglen;
	const char *uri = json_string_value(json_object_get(totp.out, "uri"));
	if (uri != NULL &&
	    qr_svg(uri, "QR code of the second factor's secret", &svg, &svglen) != NP_OK)
		svg = NULL; /* the secret is shown as text all the same */
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_account(&b, &w->nav, acc.out, totp.out, svg, tokens.out);
	free(svg);
	json_decref(acc.out);
	json_decref(totp.out);
	json_decref(tokens.out);
	return send_page(w->conn, MHD_HTTP_OK, &b, NULL);
}

static enum MHD_Result page_account(struct web *w, const char *what)
{
	if (!w->post)
		return account_page(w);
	const json_t *f = w->form;
	if (strcmp(what, "email") == 0)
		return act(w, api_account_patch,
		           json_pack("{s:s}", "email", field_or_empty(f, "email")), &act_account,
		           "account", NULL, NULL, NULL);
	if (strcmp(what, "password") == 0) {
		if (strcmp(field_or_empty(f, "password"), field_or_empty(f, "password_again")) != 0)
			return message(w->conn, &w->nav, MHD_HTTP_BAD_REQUEST,
			               "The password was not changed",
			               "The two new passwords differ.", "/account", "Back", NULL);
		return act(w, api_account_patch,
		           json_pack("{s:s,s:s}", "password", field_or_empty(f, "password"),
		                     "current_password", field_or_empty(f, "current_password")),
		           &act_account, "account", NULL, NULL, NULL);
	}
	if (strcmp(what, "totp") == 0)
		return act(w, api_totp_enable,
		           json_pack("{s:s,s:s}", "secret", field_or_empty(f, "secret"), "code",
		                     field_or_empty(f, "code")),
		           &act_account, "account", "totp", NULL, NULL);
	if (strcmp(what, "totp/remove") == 0)
		return act(w, api_totp_disable,
		           json_pack("{s:s}", "code", field_or_empty(f, "code")), &act_account,
		           "account", "totp", NULL, NULL);
	if (strcmp(what, "delete") == 0)
		return act(w, api_account_delete,
		           json_pack("{s:s}", "password", field_or_empty(f, "password")),
		           &act_account_delete, "account", NULL, NULL, NULL);
	/* sessions/ID/end: a sign-in is a token of kind "session". */
	if (strncmp(what, "sessions/", 9) == 0) {
		const char *id = what + 9;
		size_t n = strcspn(id, "/");
		char tid[CFG_NAME_MAX];
		if (seg_ok(id, n) && strcmp(id + n, "/end") == 0) {
			snprintf(tid, sizeof(tid), "%.*s", (int)n, id);
			return act(w, api_token_delete, json_object(), &act_account, "tokens", tid,
			           NULL, NULL);
		}
	}
	return message(w->conn, &w->nav, MHD_HTTP_NOT_FOUND, "Not found", "No such page.",
	               "/account", "Back", NULL);
}

/* ---- pages: admin ---- */

static const struct web_action act_admin = {"Not changed", "/admin", NULL};

/* A decided ticket: back to it. */
static enum MHD_Result ticket_decided(struct api_req *r)
{
	char to[CFG_NAME_MAX + 16];
	snprintf(to, sizeof(to), "/admin/abuse/%s", r->segs[2]);
	return redirect(r->conn, to, NULL);
}

static const struct web_action act_ticket = {"Not decided", "/admin/abuse", ticket_decided};

/* /admin/abuse: the report queue; /admin/abuse/ID: one report, and its decision (POST:
 * decision, reason). */
static enum MHD_Result page_tickets(struct web *w, const char *id)
{
	struct answer a;
	struct buf b;
	if (id[0] == '\0' && !w->post) {
		if (!api_get(w, api_admin_tickets, &a, "admin", "tickets", NULL))
			return read_failed(w, &a);
		buf_init(&b, WEB_PAGE_MAX);
		web_page_tickets(&b, &w->nav, a.out);
		json_decref(a.out);
		return send_page(w->conn, MHD_HTTP_OK, &b, NULL);
	}
	if (!seg_ok(id, strlen(id)) || strchr(id, '/') != NULL)
		return message(w->conn, &w->nav, MHD_HTTP_NOT_FOUND, "Not found", "No such page.",
		               "/admin/abuse", "Back", NULL);
	if (!w->post) {
		if (!api_get(w, api_admin_ticket, &a, "admin", "tickets", id))
			return message(w->conn, &w->nav, a.status, "Cannot show this report",
			               a.msg[0] != '\0' ? a.msg : "try again later", "/admin/abuse",
			               "Back", NULL);
		buf_init(&b, WEB_PAGE_MAX);
		web_page_ticket(&b, &w->nav, a.out);
		json_decref(a.out);
		return send_page(w->conn, MHD_HTTP_OK, &b, NULL);
	}
	const char *decision = field_or_empty(w->form, "decision");
	if (!seg_ok(decision, strlen(decision)))
		decision = "none";
	char action[32];
	np_strlcpy(action, decision, sizeof(action));
	return act(w, api_admin_ticket_decide,
	           json_pack("{s:s}", "reason", field_or_empty(w->form, "reason")), &act_ticket,
	           "admin", "tickets", id, action);
}

static enum MHD_Result page_admin(struct web *w, const char *rest)
{
	if (strcmp(rest, "abuse") == 0)
		return page_tickets(w, "");
	if (strncmp(rest, "abuse/", 6) == 0)
		return page_tickets(w, rest + 6);
	if (!w->post) {
		struct answer a;
		if (!api_get(w, api_admin_users, &a, "admin", "users", NULL))
			return read_failed(w, &a);
		struct buf b;
		buf_init(&b, WEB_PAGE_MAX);
		web_page_admin(&b, &w->nav, a.out);
		json_decref(a.out);
		return send_page(w->conn, MHD_HTTP_OK, &b, NULL);
	}
	/* users/NAME/ACTION */
	char name[CFG_NAME_MAX], action[CFG_NAME_MAX];
	const char *p = strncmp(rest, "users/", 6) == 0 ? rest + 6 : "";
	size_t n = strcspn(p, "/");
	if (seg_ok(p, n) && p[n] == '/' && seg_ok(p + n + 1, strlen(p + n + 1))) {
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		np_strlcpy(action, p + n + 1, sizeof(action));
		return act(w, api_admin_user_state, json_object(), &act_admin, "admin", "users",
		           name, action);
	}
	return message(w->conn, &w->nav, MHD_HTTP_NOT_FOUND, "Not found", "No such page.", "/admin",
	               "Back", NULL);
}

/* ---- routing ---- */

/* The rest of url after prefix: NULL when url is not prefix or under it, "" for prefix
 * itself, else what follows its "/". */
static const char *below(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(url, prefix, n) != 0)
		return NULL;
	if (url[n] == '\0')
		return "";
	return url[n] == '/' && url[n + 1] != '\0' ? url + n + 1 : NULL;
}

bool web_path(const char *url)
{
	static const char *const exact[] = {"/",        "/login",   "/logout",
	                                    "/signup",  "/confirm", "/abuse",
	                                    "/abuse/revoked.txt"};
	static const char *const trees[] = {"/hosts", "/tokens", "/account", "/admin"};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(url, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++)
		if (below(url, trees[i]) != NULL)
			return true;
	return false;
}

static enum MHD_Result route(struct web *w)
{
	const char *url = w->hr->url, *rest;
	enum MHD_Result ret;
	if (strcmp(url, "/") == 0)
		return page_home(w);
	if (strcmp(url, "/login") == 0)
		return page_login(w);
	if (strcmp(url, "/logout") == 0)
		return page_logout(w);
	if (strcmp(url, "/signup") == 0)
		return page_signup(w);
	if (strcmp(url, "/confirm") == 0)
		return page_confirm(w);
	if (strcmp(url, "/abuse") == 0)
		return page_abuse(w);
	if (strcmp(url, "/abuse/revoked.txt") == 0)
		return page_revoked(w);
	if ((rest = below(url, "/admin")) != NULL)
		return sign_in_check(w, API_ADMIN, &ret) ? page_admin(w, rest) : ret;
	/* Everything else needs a sign-in (a session, not a token). */
	if (!sign_in_check(w, API_SESSION, &ret))
		return ret;
	if ((rest = below(url, "/hosts")) != NULL) {
		if (rest[0] == '\0')
			return page_hosts(w);
		char fqdn[CFG_NAME_MAX];
		size_t n = strcspn(rest, "/");
		if (seg_ok(rest, n)) {
			snprintf(fqdn, sizeof(fqdn), "%.*s", (int)n, rest);
			return page_host(w, fqdn, rest[n] == '/' ? rest + n + 1 : "");
		}
	} else if ((rest = below(url, "/tokens")) != NULL) {
		if (rest[0] == '\0')
			return page_tokens(w, NULL, "");
		if (strcmp(rest, "tsig") == 0)
			return page_tsig_make(w);
		char id[CFG_NAME_MAX];
		size_t n = strcspn(rest, "/");
		if (seg_ok(rest, n) && rest[n] == '/') {
			snprintf(id, sizeof(id), "%.*s", (int)n, rest);
			return page_tokens(w, id, rest + n + 1);
		}
	} else if ((rest = below(url, "/account")) != NULL) {
		return page_account(w, rest);
	}
	return message(w->conn, &w->nav, MHD_HTTP_NOT_FOUND, "Not found", "No such page.", "/hosts",
	               "Back to your hosts", NULL);
}

enum MHD_Result web_serve(struct http_request *hr)
{
	struct web w = {
	    .hr = hr,
	    .conn = hr->conn,
	    .cfg = http_config(hr->hs),
	    .post = strcmp(hr->method, MHD_HTTP_METHOD_POST) == 0,
	};
	if (!hr->client_ok)
		return http_reply_text(hr->conn, MHD_HTTP_BAD_REQUEST, "bad X-Forwarded-For\n");
	if (w.post) {
		/* Every form is ours: the browser says where it was sent from. */
		if (!http_form_from_us(hr->conn, w.cfg->check_public_url))
			return message(hr->conn, NULL, MHD_HTTP_FORBIDDEN, "Refused",
			               "This form was sent from another site.", "/", "Home", NULL);
		w.form = form_parse(hr->body != NULL ? hr->body : "", hr->body_len);
		if (w.form == NULL)
			return message(hr->conn, NULL, MHD_HTTP_BAD_REQUEST, "Bad form",
			               "The form could not be read.", "/", "Home", NULL);
	}
	enum MHD_Result ret = route(&w);
	api_req_free(w.auth);
	json_decref(w.form);
	return ret;
}
