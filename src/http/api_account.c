/* SPDX-License-Identifier: MIT */
/* REST API: sign-in and sign-out, tokens and their policies, the account, and the admin's
 * list of users. Password checks run on the hashing pool (http/hashing.h), never on
 * libmicrohttpd's threads nor the writer's. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account/password.h"
#include "account/throttle.h"
#include "account/totp.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"
#include "core/mailer.h"
#include "http/api.h"
#include "store/abuse.h"

#define USER_NAME_MAX 63

/* ---- a password check, then the writer ---- */

/* The state of a request that checks a password: sign-in, password change, deletion. */
struct pw_job {
	struct hashing_job job;
	struct api_req *r;
	char user[USER_NAME_MAX + 1];
	char password[PASSWORD_MAX + 1];
	size_t password_len;
	char new_password[STORE_PWHASH_MAX]; /* a password change: the new hash */
	char email[STORE_MAIL_RCPT_MAX];
	char new_plain[PASSWORD_MAX + 1]; /* a new password (change, sign-up), until hashed */
	bool rehash;         /* new_plain is to be hashed into new_password on the pool */
	char invite[SECRET_MAX_INPUT + 1]; /* sign-up: the invitation code */
	bool found;          /* the account exists */
	struct store_user u; /* when found */
	api_apply *then;     /* what the writer does once the password proved right */
	/* The second factor: a sign-in to an account with TOTP needs its code too. */
	bool want_totp;
	char totp[TOTP_INPUT_MAX + 1];
	uint64_t totp_step; /* the step the code matched; 0 when no code was checked */
	/* sign-in */
	char secret[SECRET_TEXT_LEN + 1];
	struct store_token tok;
};

static void pw_job_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, sizeof(struct pw_job));
	free(p);
}

static struct pw_job *pw_job_new(struct api_req *r)
{
	struct pw_job *j = api_ctx_new(r, sizeof(*j), pw_job_free);
	if (j != NULL)
		j->r = r;
	return j;
}

/* Runs on a hashing thread: the password decides, then the writer does j->then. */
static void pw_run(struct hashing_job *job)
{
	struct pw_job *j = container_of(job, struct pw_job, job);
	struct api_req *r = j->r;
	bool ok = password_verify(j->password, j->password_len, j->found ? j->u.password_hash : NULL);
	explicit_bzero(j->password, sizeof(j->password));
	struct throttle *th = http_throttle(r->hs);
	if (!ok) {
		throttle_failed(th, &r->client, j->user, "login", time_mono_ms());
		/* The same answer whether the account exists or not. */
		api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "wrong user name or password");
		http_task_resolve(&r->t);
		return;
	}
	throttle_succeeded(th, &r->client, j->user, time_mono_ms());
	if (j->want_totp && j->u.totp_len == TOTP_SECRET_LEN) {
		if (j->totp[0] == '\0') {
			api_error(r, MHD_HTTP_UNAUTHORIZED, "totp_required",
			          "this account needs the code of its authenticator app (\"totp\")");
			http_task_resolve(&r->t);
			return;
		}
		int rc = totp_verify(j->u.totp_secret, j->totp, strlen(j->totp), time(NULL),
		                     (uint64_t)j->u.totp_step, &j->totp_step);
		if (rc != NP_OK) {
			throttle_failed(th, &r->client, j->user, "login", time_mono_ms());
			api_error(r, MHD_HTTP_UNAUTHORIZED, "wrong_totp",
			          "wrong or already used authenticator code");
			http_task_resolve(&r->t);
			return;
		}
	}
	if (j->rehash) {
		int ret = password_hash(j->new_plain, strlen(j->new_plain), j->new_password);
		explicit_bzero(j->new_plain, sizeof(j->new_plain));
		if (ret != NP_OK) {
			r->retry_after = 5;
			api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "try again later");
			http_task_resolve(&r->t);
			return;
		}
	}
	if (j->u.state != STORE_USER_ACTIVE) {
		/* Said only to who knows the password. */
		static const char *const why[] = {
		    [STORE_USER_LOCKED] = "this account is locked; ask the operator",
		    [STORE_USER_SUSPENDED] = "this account is suspended; ask the operator",
		    [STORE_USER_UNCONFIRMED] = "confirm your mail address first (see the mail we "
		                               "sent)"};
		unsigned st = (unsigned)j->u.state;
		api_error(r, MHD_HTTP_FORBIDDEN, "account_inactive", "%s",
		          st < ARRAY_SIZE(why) && why[st] != NULL ? why[st] : "not active");
		http_task_resolve(&r->t);
		return;
	}
	api_write_begun(r, j->then);
}

static int read_user(struct api_req *r, struct store *st)
{
	struct pw_job *j = r->ctx;
	int ret = r->authenticated ? store_user_get_id(st, r->cred.user_id, &j->u)
	                           : store_user_get(st, j->user, &j->u);
	j->found = ret == NP_OK;
	return ret == NP_ENOTFOUND ? NP_OK : ret;
}

/* Reads the account (by j->user, or the credential's), then checks the password on the
 * hashing pool and goes on with then on the writer. */
static enum MHD_Result check_password_then(struct api_req *r, struct pw_job *j, api_apply *then)
{
	struct throttle *th = http_throttle(r->hs);
	unsigned wait = throttle_check(th, &r->client, j->user, time_mono_ms());
	if (wait > 0) {
		r->retry_after = wait;
		api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "throttled",
		          "too many failed attempts; try again in %u s", wait);
		return api_answer(r);
	}
	int ret = api_lookup_run(r, read_user);
	if (ret != NP_OK) {
		r->retry_after = 5;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "try again later");
		return api_answer(r);
	}
	j->then = then;
	j->job.run = pw_run;
	return api_slow(r, &j->job);
}

/* The password member into j; false with the error set. */
static bool take_password(struct api_req *r, struct pw_job *j, const char *key)
{
	const char *pw;
	if (!api_string(r, key, PASSWORD_MAX, &pw))
		return false;
	if (pw == NULL) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "\"%s\" is missing", key);
		return false;
	}
	j->password_len = strlen(pw);
	memcpy(j->password, pw, j->password_len);
	return true;
}

/* ---- POST /auth/login ---- */

/* Sign-ins an account holds at once; a new one ends the oldest beyond it. */
#define SESSIONS_MAX 20

struct sessions {
	char ids[SESSIONS_MAX][STORE_TOKEN_ID_MAX];
	unsigned n, total;
};

static int session_row(const struct store_token *t, void *ctx)
{
	struct sessions *l = ctx;
	if (l->n < SESSIONS_MAX)
		np_strlcpy(l->ids[l->n++], t->id, STORE_TOKEN_ID_MAX);
	l->total++;
	return 0;
}

/* Ends the oldest sessions of user_id so that one more fits SESSIONS_MAX. */
static int make_room(struct store *st, int64_t user_id)
{
	struct sessions l = {.n = 0};
	int ret = store_token_list(st, user_id, STORE_TOKEN_SESSION, session_row, &l);
	/* Oldest first: the first (total - SESSIONS_MAX + 1) listed go. */
	for (unsigned i = 0; ret == NP_OK && l.total >= SESSIONS_MAX && i <= l.total - SESSIONS_MAX &&
	                     i < l.n;
	     i++)
		ret = store_token_del(st, l.ids[i]);
	return ret;
}

static int login_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct pw_job *j = r->ctx;
	const struct config *cfg = writer_txn_config(txn);
	int64_t now = time_now();
	/* Ended sessions of everyone are swept here, where sessions are made. */
	int ret = store_token_expire(st, now);
	if (ret != NP_OK)
		return ret;
	if (j->totp_step != 0) {
		/* Two sign-ins with one code, at once: only the first gets through. */
		struct store_user u;
		ret = store_user_get_id(st, j->u.id, &u);
		bool replay = ret == NP_OK && (uint64_t)u.totp_step >= j->totp_step;
		explicit_bzero(&u, sizeof(u));
		if (ret != NP_OK)
			return ret;
		if (replay)
			return api_error(r, MHD_HTTP_UNAUTHORIZED, "wrong_totp",
			                 "wrong or already used authenticator code");
		ret = store_user_set_totp_step(st, j->u.id, (int64_t)j->totp_step);
		if (ret != NP_OK)
			return ret;
	}
	ret = make_room(st, j->u.id);
	if (ret != NP_OK)
		return ret;
	credential_token_new(&j->tok, j->u.id, STORE_TOKEN_SESSION, j->secret);
	char source[INET6_ADDRSTRLEN] = "";
	addr_format(&r->client, source, sizeof(source));
	snprintf(j->tok.name, sizeof(j->tok.name), "sign-in from %s", source);
	j->tok.expires = now + (int64_t)cfg->accounts_session_hours * 3600;
	ret = store_token_add(st, &j->tok);
	if (ret != NP_OK)
		return ret;
	return api_ok(r, MHD_HTTP_OK,
	              json_pack("{s:s,s:s,s:I}", "token", j->secret, "id", j->tok.id, "expires",
	                        (json_int_t)j->tok.expires));
}

enum MHD_Result api_login(struct api_req *r)
{
	static const char *const keys[] = {"user", "password", "totp", NULL};
	struct pw_job *j = pw_job_new(r);
	const char *user, *totp;
	if (j == NULL || !api_only_keys(r, keys) || !api_string(r, "user", USER_NAME_MAX, &user) ||
	    !api_string(r, "totp", 16, &totp) || !take_password(r, j, "password"))
		return api_answer(r);
	if (user == NULL) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "\"user\" is missing");
		return api_answer(r);
	}
	np_strlcpy(j->user, user, sizeof(j->user));
	if (totp != NULL)
		np_strlcpy(j->totp, totp, sizeof(j->totp));
	j->want_totp = true;
	return check_password_then(r, j, login_apply);
}

/* ---- POST /auth/logout ---- */

static int logout_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	int ret = store_token_del(st, r->cred.token_id);
	if (ret != NP_OK && ret != NP_ENOTFOUND)
		return ret;
	return api_ok(r, MHD_HTTP_NO_CONTENT, NULL);
}

enum MHD_Result api_logout(struct api_req *r)
{
	if (r->cred.kind != STORE_TOKEN_SESSION) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "not_a_session",
		          "this token is no sign-in; revoke it with DELETE /api/v1/tokens/%s",
		          r->cred.token_id);
		return api_answer(r);
	}
	return api_write(r, logout_apply);
}

/* ---- tokens ---- */

/* A comma list as a JSON array of strings. */
json_t *api_list_json(const char *text)
{
	json_t *a = json_array();
	while (a != NULL && *text != '\0') {
		size_t n = strcspn(text, ",");
		json_array_append_new(a, json_stringn(text, n));
		text += n;
		if (*text == ',')
			text++;
	}
	return a;
}

static json_t *token_json(const struct store_token *t, const char *current_id)
{
	json_t *policy = json_pack("{s:o,s:o,s:o,s:I,s:b}", "names", api_list_json(t->names), "types",
	                           api_list_json(t->types), "sources", api_list_json(t->sources),
	                           "expires", (json_int_t)t->expires, "manage", t->manage);
	return json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:s,s:b}", "id", t->id, "kind", store_token_kind_name(t->kind),
	                 "name", t->name, "policy", policy, "created", (json_int_t)t->created,
	                 "last_used", (json_int_t)t->last_used, "last_source", t->last_source,
	                 "current", strcmp(t->id, current_id) == 0);
}

struct token_list_ctx {
	json_t *list;
	const char *current;
};

static int token_row(const struct store_token *t, void *ctx)
{
	struct token_list_ctx *c = ctx;
	return json_array_append_new(c->list, token_json(t, c->current)) == 0 ? 0 : NP_ENOMEM;
}

static int tokens_list(struct api_req *r, struct store *st)
{
	struct token_list_ctx c = {json_array(), r->cred.token_id};
	if (c.list == NULL)
		return NP_ENOMEM;
	int ret = store_token_list(st, r->cred.user_id, -1, token_row, &c);
	if (ret != NP_OK) {
		json_decref(c.list);
		return ret;
	}
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:o}", "tokens", c.list));
}

enum MHD_Result api_tokens_list(struct api_req *r)
{
	return api_read(r, tokens_list);
}

/* The token being made or changed, with its parsed policy. */
struct token_edit {
	struct store_token t;
	struct policy p;
	char secret[SECRET_TEXT_LEN + 1];
	bool name_given, policy_given;
};

static void token_edit_free(void *p)
{
	if (p != NULL)
		explicit_bzero(p, sizeof(struct token_edit));
	free(p);
}

/* Adds each string of array member key of o with add; false with the error set. */
static bool policy_list(struct api_req *r, json_t *o, const char *key, struct policy *p,
                        int (*add)(struct policy *, const char *, char *, size_t))
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;
	if (a == NULL)
		return true;
	if (!json_is_array(a)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_policy", "\"%s\" must be a list of strings",
		          key);
		return false;
	}
	json_array_foreach(a, i, v)
	{
		char err[160];
		const char *s = json_string_value(v);
		if (s == NULL || strlen(s) != json_string_length(v) || str_has_ctl(s)) {
			api_error(r, MHD_HTTP_BAD_REQUEST, "bad_policy",
			          "\"%s\" must be a list of strings", key);
			return false;
		}
		if (add(p, s, err, sizeof(err)) != NP_OK) {
			api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_policy", "%s", err);
			return false;
		}
	}
	return true;
}

/* Reads the "policy" member of the body into p (an absent one is the default: everything
 * of the account); manage_ok says whether "manage" may be given. *given says whether
 * there was one. false with the error set. */
bool api_policy_body(struct api_req *r, struct policy *out, bool manage_ok, bool *given)
{
	static const char *const pkeys[] = {"names", "types", "sources", "expires", "manage", NULL};
	*given = false;
	json_t *p = r->body != NULL ? json_object_get(r->body, "policy") : NULL;
	if (p == NULL)
		p = json_object(); /* no policy given: the default one (below) */
	else if (!json_is_object(p)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_policy", "\"policy\" must be an object");
		return false;
	} else {
		json_incref(p);
		*given = true;
	}
	bool ok = false;
	const char *key;
	json_t *v;
	json_object_foreach(p, key, v)
	{
		bool known = false;
		for (size_t i = 0; pkeys[i] != NULL && !known; i++)
			known = strcmp(pkeys[i], key) == 0;
		if (!known) {
			api_error(r, MHD_HTTP_BAD_REQUEST, "bad_policy",
			          "a policy has names, types, sources, expires and manage");
			goto out;
		}
	}
	memset(out, 0, sizeof(*out));
	if (!policy_list(r, p, "names", out, policy_add_name) ||
	    !policy_list(r, p, "types", out, policy_add_type) ||
	    !policy_list(r, p, "sources", out, policy_add_source))
		goto out;
	json_t *exp = json_object_get(p, "expires"), *man = json_object_get(p, "manage");
	if ((exp != NULL && !json_is_integer(exp)) || (man != NULL && !json_is_boolean(man))) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_policy",
		          "\"expires\" is a unix time (0: never), \"manage\" true or false");
		goto out;
	}
	out->expires = exp != NULL ? (int64_t)json_integer_value(exp) : 0;
	out->manage = man != NULL && json_is_true(man);
	if (out->manage && !manage_ok) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_policy",
		          "this credential cannot manage tokens");
		goto out;
	}
	if (out->expires < 0 || (out->expires != 0 && out->expires <= time_now())) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_policy",
		          "\"expires\" must lie in the future (or be 0: never)");
		goto out;
	}
	/* A token can only hand out less than it holds itself; a session holds everything. */
	if (r->cred.kind != STORE_TOKEN_SESSION && !policy_within(out, &r->cred.policy)) {
		api_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
		          "a token may only make tokens within its own policy");
		goto out;
	}
	ok = true;
out:
	json_decref(p);
	return ok;
}

/* Reads {"name": ..., "policy": {...}} into e; false with the error set. */
static bool token_body(struct api_req *r, struct token_edit *e)
{
	static const char *const keys[] = {"name", "policy", NULL};
	const char *name;
	if (!api_only_keys(r, keys) || !api_string(r, "name", sizeof(e->t.name) - 1, &name))
		return false;
	if (name != NULL) {
		np_strlcpy(e->t.name, name, sizeof(e->t.name));
		e->name_given = true;
	}
	if (!api_policy_body(r, &e->p, true, &e->policy_given))
		return false;
	if (policy_format(&e->p, e->t.names, sizeof(e->t.names), e->t.types, sizeof(e->t.types),
	                  e->t.sources, sizeof(e->t.sources)) != NP_OK) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_policy", "the policy is too long");
		return false;
	}
	e->t.expires = e->p.expires;
	e->t.manage = e->p.manage;
	return true;
}

static int count_row(const struct store_token *t, void *ctx)
{
	(void)t;
	(*(unsigned *)ctx)++;
	return 0;
}

static int token_create(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct token_edit *e = r->ctx;
	unsigned n = 0;
	unsigned max = writer_txn_config(txn)->accounts_max_tokens;
	int ret = store_token_list(st, r->cred.user_id, STORE_TOKEN_API, count_row, &n);
	if (ret != NP_OK)
		return ret;
	if (n >= max)
		return api_error(r, MHD_HTTP_FORBIDDEN, "limit", "an account may have at most %u tokens",
		                 max);
	struct store_token fresh;
	credential_token_new(&fresh, r->cred.user_id, STORE_TOKEN_API, e->secret);
	memcpy(e->t.id, fresh.id, sizeof(e->t.id));
	memcpy(e->t.secret_hash, fresh.secret_hash, sizeof(e->t.secret_hash));
	e->t.user_id = r->cred.user_id;
	e->t.kind = STORE_TOKEN_API;
	e->t.created = fresh.created;
	explicit_bzero(&fresh, sizeof(fresh));
	ret = store_token_add(st, &e->t);
	if (ret != NP_OK)
		return ret;
	json_t *o = token_json(&e->t, r->cred.token_id);
	/* The secret is answered this once; only its hash is kept. */
	if (o != NULL)
		json_object_set_new(o, "token", json_string(e->secret));
	return api_ok(r, MHD_HTTP_CREATED, o);
}

static struct token_edit *token_edit_new(struct api_req *r)
{
	return api_ctx_new(r, sizeof(struct token_edit), token_edit_free);
}

enum MHD_Result api_tokens_create(struct api_req *r)
{
	struct token_edit *e = token_edit_new(r);
	if (e == NULL || !token_body(r, e))
		return api_answer(r);
	return api_write(r, token_create);
}

/* The token {id} of the account into t; 404 set when it is not the account's. */
static int own_token(struct api_req *r, struct store *st, struct store_token *t)
{
	int ret = store_token_get(st, r->segs[1], t);
	if (ret == NP_ENOTFOUND || (ret == NP_OK && t->user_id != r->cred.user_id))
		return api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such token");
	return ret;
}

static int token_get(struct api_req *r, struct store *st)
{
	struct store_token t;
	int ret = own_token(r, st, &t);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_OK, token_json(&t, r->cred.token_id));
	return ret;
}

enum MHD_Result api_token_get(struct api_req *r)
{
	return api_read(r, token_get);
}

static int token_patch(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	struct token_edit *e = r->ctx;
	struct store_token t;
	int ret = own_token(r, st, &t);
	if (ret != NP_OK)
		return ret;
	if (t.kind == STORE_TOKEN_SESSION && e->policy_given)
		return api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_policy",
		                 "a sign-in's policy cannot be changed");
	if (e->name_given)
		np_strlcpy(t.name, e->t.name, sizeof(t.name));
	if (e->policy_given) {
		memcpy(t.names, e->t.names, sizeof(t.names));
		memcpy(t.types, e->t.types, sizeof(t.types));
		memcpy(t.sources, e->t.sources, sizeof(t.sources));
		t.expires = e->t.expires;
		t.manage = e->t.manage;
	}
	ret = store_token_update(st, &t);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_OK, token_json(&t, r->cred.token_id));
	return ret;
}

enum MHD_Result api_token_patch(struct api_req *r)
{
	struct token_edit *e = token_edit_new(r);
	if (e == NULL || !token_body(r, e))
		return api_answer(r);
	return api_write(r, token_patch);
}

static int token_delete(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	struct store_token t;
	int ret = own_token(r, st, &t);
	if (ret == NP_OK)
		ret = store_token_del(st, t.id);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_NO_CONTENT, NULL);
	return ret;
}

enum MHD_Result api_token_delete(struct api_req *r)
{
	return api_write(r, token_delete);
}

/* ---- the account ---- */

static json_t *user_json(const struct store_user *u, unsigned hosts)
{
	return json_pack("{s:s,s:s,s:b,s:s,s:s,s:b,s:b,s:I,s:i}", "name", u->name, "email",
	                 u->email, "email_confirmed", u->email_confirmed, "role",
	                 u->role == STORE_ROLE_ADMIN ? "admin" : "user", "state",
	                 store_user_state_name(u->state), "password", u->password_hash[0] != '\0', "totp",
	                 u->totp_len > 0, "created", (json_int_t)u->created, "hosts", (int)hosts);
}

static int account_get(struct api_req *r, struct store *st)
{
	struct store_user u;
	unsigned hosts = 0;
	int ret = store_user_get_id(st, r->cred.user_id, &u);
	if (ret == NP_OK)
		ret = store_user_host_count(st, u.id, &hosts);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_OK, user_json(&u, hosts));
	explicit_bzero(&u, sizeof(u));
	return ret;
}

enum MHD_Result api_account_get(struct api_req *r)
{
	return api_read(r, account_get);
}

static int account_patch(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	struct pw_job *j = r->ctx;
	int ret = NP_OK;
	if (j->new_password[0] != '\0')
		ret = store_user_set_password(st, r->cred.user_id, j->new_password);
	if (ret == NP_OK && j->email[0] != '\0')
		ret = store_user_set_email(st, r->cred.user_id, j->email);
	if (ret == NP_OK)
		return account_get(r, st);
	return ret;
}

enum MHD_Result api_account_patch(struct api_req *r)
{
	static const char *const keys[] = {"email", "password", "current_password", NULL};
	struct pw_job *j = pw_job_new(r);
	const char *email, *pw;
	if (j == NULL || !api_only_keys(r, keys) ||
	    !api_string(r, "email", STORE_MAIL_RCPT_MAX - 1, &email) ||
	    !api_string(r, "password", PASSWORD_MAX, &pw))
		return api_answer(r);
	if (email != NULL) {
		if (!config_mail_check(email)) {
			api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_email",
			          "not a mail address this server can write to");
			return api_answer(r);
		}
		np_strlcpy(j->email, email, sizeof(j->email));
	}
	if (pw == NULL) {
		if (email == NULL) {
			api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
			          "send \"email\", or \"password\" with \"current_password\"");
			return api_answer(r);
		}
		return api_write(r, account_patch);
	}
	char err[96];
	if (!password_acceptable(pw, strlen(pw), err, sizeof(err))) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "weak_password", "%s", err);
		return api_answer(r);
	}
	if (!take_password(r, j, "current_password"))
		return api_answer(r);
	/* The new password's hash is made on the pool too (see account_pw_run). */
	np_strlcpy(j->new_plain, pw, sizeof(j->new_plain));
	j->rehash = true;
	np_strlcpy(j->user, r->cred.user, sizeof(j->user));
	return check_password_then(r, j, account_patch);
}

/* ---- DELETE /account ---- */

static int account_delete_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	char(*names)[CFG_NAME_MAX] = NULL;
	size_t n = 0;
	int ret = store_host_names_user(st, r->cred.user_id, &names, &n);
	for (size_t i = 0; i < n && ret == NP_OK; i++) {
		struct store_host h;
		ret = store_host_get(st, names[i], &h);
		if (ret == NP_OK && h.blocked)
			ret = api_error(r, MHD_HTTP_CONFLICT, "blocked",
			                "%s is blocked for abuse: the operator must release it first",
			                h.fqdn);
		if (ret == NP_OK) {
			char source[INET6_ADDRSTRLEN] = "";
			addr_format(&r->client, source, sizeof(source));
			struct store_history hist = {.host_id = h.id,
			                             .fqdn = h.fqdn,
			                             .time = time_now(),
			                             .source = source,
			                             .old_addr = "",
			                             .new_addr = "",
			                             .protocol = "web",
			                             .token_id = r->cred.token_id};
			ret = store_history_add(st, &hist);
		}
		if (ret == NP_OK)
			ret = store_host_del(st, h.fqdn);
		if (ret == NP_OK)
			ret = writer_txn_touch(txn, h.fqdn);
	}
	free(names);
	if (ret == NP_OK)
		ret = store_user_del(st, r->cred.user_id); /* its tokens go with it */
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_NO_CONTENT, NULL);
	return ret;
}

enum MHD_Result api_account_delete(struct api_req *r)
{
	static const char *const keys[] = {"password", NULL};
	struct pw_job *j = pw_job_new(r);
	if (j == NULL || !api_only_keys(r, keys) || !take_password(r, j, "password"))
		return api_answer(r);
	np_strlcpy(j->user, r->cred.user, sizeof(j->user));
	return check_password_then(r, j, account_delete_apply);
}

/* ---- admin ---- */

struct users_ctx {
	json_t *list;
	struct store *st;
};

static int admin_row(const struct store_user *u, void *ctx)
{
	struct users_ctx *c = ctx;
	unsigned hosts = 0;
	int ret = store_user_host_count(c->st, u->id, &hosts);
	if (ret == NP_OK && json_array_append_new(c->list, user_json(u, hosts)) != 0)
		ret = NP_ENOMEM;
	return ret;
}

static int admin_users(struct api_req *r, struct store *st)
{
	struct users_ctx c = {json_array(), st};
	if (c.list == NULL)
		return NP_ENOMEM;
	int ret = store_user_list_full(st, admin_row, &c);
	if (ret != NP_OK) {
		json_decref(c.list);
		return ret;
	}
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:o}", "users", c.list));
}

enum MHD_Result api_admin_users(struct api_req *r)
{
	return api_read(r, admin_users);
}

/* A host of an account suspended or restored: DNS renders it again with this batch. */
static int touch_host(void *ctx, const struct store_host *h)
{
	return writer_txn_touch(ctx, h->fqdn);
}

static int admin_state_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	const char *action = r->segs[3];
	enum store_user_state state = strcmp(action, "lock") == 0      ? STORE_USER_LOCKED
	                              : strcmp(action, "suspend") == 0 ? STORE_USER_SUSPENDED
	                                                               : STORE_USER_ACTIVE;
	struct store_user u;
	int ret = store_user_get(st, r->segs[2], &u);
	if (ret == NP_ENOTFOUND)
		return api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such user");
	if (ret == NP_OK && u.id == r->cred.user_id && state != STORE_USER_ACTIVE)
		ret = api_error(r, MHD_HTTP_CONFLICT, "self", "an administrator cannot lock out itself");
	char actor[STORE_ABUSE_ACTOR_MAX];
	snprintf(actor, sizeof(actor), "admin:%s", r->cred.user);
	char reason[CFG_NAME_MAX + 32]; /* action is one of three words (api_admin_user_state) */
	snprintf(reason, sizeof(reason), "%.16s by an administrator", action);
	if (ret == NP_OK)
		ret = store_abuse_account_state(st, u.id, state, actor, reason, time_now(),
		                                touch_host, txn, NULL);
	if (ret == NP_OK) {
		u.state = state;
		unsigned hosts = 0;
		ret = store_user_host_count(st, u.id, &hosts);
		if (ret == NP_OK)
			ret = api_ok(r, MHD_HTTP_OK, user_json(&u, hosts));
	}
	explicit_bzero(&u, sizeof(u));
	return ret;
}

enum MHD_Result api_admin_user_state(struct api_req *r)
{
	const char *action = r->segs[3];
	if (strcmp(action, "lock") != 0 && strcmp(action, "unlock") != 0 &&
	    strcmp(action, "suspend") != 0) {
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "actions are lock, unlock and suspend");
		return api_answer(r);
	}
	return api_write(r, admin_state_apply);
}

/* ---- /account/totp: the second factor ---- */

/* The issuer shown in authenticator apps: the public host name when one is configured. */
static void issuer_of(const struct config *cfg, char *out, size_t len)
{
	const char *u = cfg->check_public_url;
	const char *host = strstr(u, "://");
	if (host == NULL) {
		np_strlcpy(out, "Nameplate", len);
		return;
	}
	host += 3;
	size_t n = strcspn(host, ":/");
	snprintf(out, len, "Nameplate %.*s", (int)n, host);
}

static int totp_state(struct api_req *r, struct store *st)
{
	struct store_user u;
	int ret = store_user_get_id(st, r->cred.user_id, &u);
	if (ret != NP_OK)
		return ret;
	bool enabled = u.totp_len > 0;
	explicit_bzero(&u, sizeof(u));
	if (enabled)
		return api_ok(r, MHD_HTTP_OK, json_pack("{s:b}", "enabled", true));
	/* Not enabled: a fresh secret to set up, kept nowhere until confirmed (POST). */
	uint8_t secret[TOTP_SECRET_LEN];
	char text[TOTP_SECRET_TEXT_LEN + 1], uri[1024], issuer[128];
	issuer_of(r->cfg, issuer, sizeof(issuer));
	if (totp_secret_new(secret) != NP_OK || totp_secret_text(secret, text) != NP_OK ||
	    totp_uri(issuer, r->cred.user, secret, uri, sizeof(uri)) != NP_OK)
		ret = NP_EFAILED;
	else
		ret = api_ok(r, MHD_HTTP_OK,
		             json_pack("{s:b,s:s,s:s}", "enabled", false, "secret", text, "uri", uri));
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(uri, sizeof(uri));
	return ret;
}

enum MHD_Result api_totp_get(struct api_req *r)
{
	return api_read(r, totp_state);
}

struct totp_change {
	uint8_t secret[TOTP_SECRET_LEN];
	char code[TOTP_INPUT_MAX + 1];
};

static void totp_change_free(void *p)
{
	if (p != NULL)
		sodium_memzero(p, sizeof(struct totp_change));
	free(p);
}

static int totp_enable(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	struct totp_change *c = r->ctx;
	struct store_user u;
	int ret = store_user_get_id(st, r->cred.user_id, &u);
	bool enabled = ret == NP_OK && u.totp_len > 0;
	explicit_bzero(&u, sizeof(u));
	if (ret != NP_OK)
		return ret;
	if (enabled)
		return api_error(r, MHD_HTTP_CONFLICT, "exists",
		                 "a second factor is set up already; remove it first");
	uint64_t step;
	/* The code proves the app holds the secret before sign-ins depend on it. */
	if (totp_verify(c->secret, c->code, strlen(c->code), time(NULL), 0, &step) != NP_OK)
		return api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "wrong_totp",
		                 "wrong code: check the app's clock and the secret typed");
	ret = store_user_set_totp(st, r->cred.user_id, c->secret, TOTP_SECRET_LEN);
	if (ret == NP_OK)
		ret = store_user_set_totp_step(st, r->cred.user_id, (int64_t)step);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_OK, json_pack("{s:b}", "enabled", true));
	return ret;
}

static int totp_disable(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	struct totp_change *c = r->ctx;
	struct store_user u;
	int ret = store_user_get_id(st, r->cred.user_id, &u);
	if (ret != NP_OK)
		return ret;
	uint64_t step;
	bool ok = u.totp_len == TOTP_SECRET_LEN &&
	          totp_verify(u.totp_secret, c->code, strlen(c->code), time(NULL),
	                      (uint64_t)u.totp_step, &step) == NP_OK;
	bool enabled = u.totp_len > 0;
	explicit_bzero(&u, sizeof(u));
	if (!enabled)
		return api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no second factor is set up");
	if (!ok)
		return api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "wrong_totp",
		                 "wrong or already used authenticator code");
	ret = store_user_set_totp(st, r->cred.user_id, NULL, 0);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_NO_CONTENT, NULL);
	return ret;
}

static struct totp_change *totp_body(struct api_req *r, bool with_secret)
{
	static const char *const keys_enable[] = {"secret", "code", NULL};
	static const char *const keys_disable[] = {"code", NULL};
	struct totp_change *c = api_ctx_new(r, sizeof(*c), totp_change_free);
	const char *secret = NULL, *code;
	if (c == NULL)
		return NULL;
	if (!api_only_keys(r, with_secret ? keys_enable : keys_disable) ||
	    (with_secret && !api_string(r, "secret", TOTP_SECRET_TEXT_LEN, &secret)) ||
	    !api_string(r, "code", TOTP_INPUT_MAX, &code))
		return NULL;
	if (code == NULL || (with_secret && secret == NULL)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		          with_secret ? "send {\"secret\": ..., \"code\": ...}"
		                      : "send {\"code\": ...}");
		return NULL;
	}
	if (with_secret && totp_secret_parse(secret, c->secret) != NP_OK) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_secret",
		          "the secret is the 32 characters GET /account/totp gave");
		return NULL;
	}
	np_strlcpy(c->code, code, sizeof(c->code));
	return c;
}

enum MHD_Result api_totp_enable(struct api_req *r)
{
	if (totp_body(r, true) == NULL)
		return api_answer(r);
	return api_write(r, totp_enable);
}

enum MHD_Result api_totp_disable(struct api_req *r)
{
	if (totp_body(r, false) == NULL)
		return api_answer(r);
	return api_write(r, totp_disable);
}

/* ---- POST /auth/signup, POST /auth/confirm ---- */

/* How long a confirmation link works. */
#define CONFIRM_SECONDS (24 * 3600)

static void poke_mailer(struct api_req *r)
{
	struct mailer *m = http_mailer(r->hs);
	if (m != NULL)
		mailer_poke(m);
}

/* The sign-up limits: accounts made in a day by the requester's network (IPv4 /24, IPv6
 * /48) and in an hour by everyone. Counted in the store, so a restart forgets nothing. */
static int signup_room(struct api_req *r, struct store *st, const struct config *cfg,
                       const uint8_t net[STORE_CHECK_NET_LEN])
{
	int64_t now = time_now();
	unsigned by_net, all_day, ignored, all_hour;
	size_t prefix = net[0] == 4 ? 1 + 3 : 1 + 6;
	int ret = store_user_signups(st, net, prefix, now - 86400, &by_net, &all_day);
	if (ret == NP_OK)
		ret = store_user_signups(st, net, prefix, now - 3600, &ignored, &all_hour);
	if (ret != NP_OK)
		return ret;
	if (by_net >= cfg->accounts_signup_per_net_day || all_hour >= cfg->accounts_signup_per_hour) {
		r->retry_after = by_net >= cfg->accounts_signup_per_net_day ? 86400 : 3600;
		return api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "throttled",
		                 "too many new accounts from here or now; try again later");
	}
	return NP_OK;
}

static int signup_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct pw_job *j = r->ctx;
	const struct config *cfg = writer_txn_config(txn);
	bool open = strcmp(cfg->accounts_signup, "open") == 0;
	bool invite = strcmp(cfg->accounts_signup, "invite") == 0;
	if (!open && !invite)
		return api_error(r, MHD_HTTP_FORBIDDEN, "signup_closed",
		                 "this server does not take sign-ups");
	uint8_t net[STORE_CHECK_NET_LEN];
	store_net_key(&r->client, net);
	int64_t now = time_now();
	/* Codes and accounts never confirmed are forgotten here, where new ones are made. */
	int ret = store_code_expire(st, now);
	if (ret == NP_OK)
		ret = store_user_expire_unconfirmed(st, now - CONFIRM_SECONDS);
	if (ret == NP_OK)
		ret = signup_room(r, st, cfg, net);
	if (ret != NP_OK)
		return ret;
	if (invite) {
		uint8_t hash[SECRET_HASH_LEN];
		int64_t none;
		secret_hash(j->invite, strlen(j->invite), hash);
		ret = store_code_take(st, STORE_CODE_INVITE, hash, now, &none);
		if (ret == NP_ENOTFOUND) {
			/* Guessing codes is guessing secrets: counted like a wrong password. */
			throttle_failed(http_throttle(r->hs), &r->client, "", "invite",
			                time_mono_ms());
			return api_error(r, MHD_HTTP_FORBIDDEN, "bad_invite",
			                 "this invitation is unknown, used or expired");
		}
		if (ret != NP_OK)
			return ret;
	}
	/* An invited account is vouched for by the operator; an open one waits for its mail
	 * address to be confirmed before it can sign in (and so make hosts). */
	memset(&j->u, 0, sizeof(j->u));
	np_strlcpy(j->u.name, j->user, sizeof(j->u.name));
	np_strlcpy(j->u.email, j->email, sizeof(j->u.email));
	np_strlcpy(j->u.password_hash, j->new_password, sizeof(j->u.password_hash));
	j->u.state = open ? STORE_USER_UNCONFIRMED : STORE_USER_ACTIVE;
	j->u.created = now;
	ret = store_user_create(st, &j->u, net, &j->u.id);
	if (ret == NP_EEXIST)
		return api_error(r, MHD_HTTP_CONFLICT, "exists", "this name is taken");
	if (ret != NP_OK || !open)
		return ret != NP_OK ? ret
		                    : api_ok(r, MHD_HTTP_CREATED, json_pack("{s:s,s:s}", "user", j->user,
		                                                            "state", "active"));
	char code[SECRET_TEXT_LEN + 1];
	uint8_t hash[SECRET_HASH_LEN];
	secret_generate(code);
	secret_hash(code, SECRET_TEXT_LEN, hash);
	ret = store_code_add(st, STORE_CODE_CONFIRM, hash, j->u.id, now, now + CONFIRM_SECONDS);
	char body[1024];
	const char *base = cfg->check_public_url;
	size_t blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	snprintf(body, sizeof(body),
	         "Someone, probably you, made the account \"%s\" on %.*s.\r\n\r\n"
	         "To confirm this mail address and start using the account, open:\r\n\r\n"
	         "%.*s/confirm?code=%s\r\n\r\n"
	         "The link works for 24 hours. If you did not ask for an account, ignore this\r\n"
	         "mail: the account is deleted unless confirmed.\r\n",
	         j->user, (int)blen, base, (int)blen, base, code);
	explicit_bzero(code, sizeof(code));
	if (ret == NP_OK)
		ret = store_mail_add(st, j->email, "Confirm your Nameplate account", body, now, NULL);
	explicit_bzero(body, sizeof(body));
	if (ret != NP_OK)
		return ret;
	r->committed = poke_mailer;
	return api_ok(r, MHD_HTTP_CREATED,
	              json_pack("{s:s,s:s}", "user", j->user, "state", "unconfirmed"));
}

/* Runs on a hashing thread: the new password's hash, then the writer. */
static void signup_run(struct hashing_job *job)
{
	struct pw_job *j = container_of(job, struct pw_job, job);
	struct api_req *r = j->r;
	int ret = password_hash(j->new_plain, strlen(j->new_plain), j->new_password);
	explicit_bzero(j->new_plain, sizeof(j->new_plain));
	if (ret != NP_OK) {
		r->retry_after = 5;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "try again later");
		http_task_resolve(&r->t);
		return;
	}
	api_write_begun(r, signup_apply);
}

enum MHD_Result api_signup(struct api_req *r)
{
	static const char *const keys[] = {"user", "email", "password", "invite", NULL};
	const struct config *cfg = r->cfg;
	bool open = strcmp(cfg->accounts_signup, "open") == 0;
	bool invite = strcmp(cfg->accounts_signup, "invite") == 0;
	if (!open && !invite) {
		api_error(r, MHD_HTTP_FORBIDDEN, "signup_closed", "this server does not take sign-ups");
		return api_answer(r);
	}
	struct pw_job *j = pw_job_new(r);
	const char *user, *email, *pw, *code;
	if (j == NULL || !api_only_keys(r, keys) || !api_string(r, "user", USER_NAME_MAX, &user) ||
	    !api_string(r, "email", STORE_MAIL_RCPT_MAX - 1, &email) ||
	    !api_string(r, "password", PASSWORD_MAX, &pw) ||
	    !api_string(r, "invite", SECRET_MAX_INPUT, &code))
		return api_answer(r);
	char err[96];
	if (user == NULL || !name_ok(user, strlen(user))) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_name",
		          "a user name is 1 to 63 of a-z 0-9 . _ - and starts with a letter or digit");
		return api_answer(r);
	}
	if ((open || email != NULL) && (email == NULL || !config_mail_check(email))) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_email",
		          "a mail address is needed, to confirm the account");
		return api_answer(r);
	}
	if (pw == NULL || !password_acceptable(pw, strlen(pw), err, sizeof(err))) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "weak_password", "%s",
		          pw == NULL ? "\"password\" is missing" : err);
		return api_answer(r);
	}
	if (invite && code == NULL) {
		api_error(r, MHD_HTTP_FORBIDDEN, "bad_invite", "sign-up here needs an invitation");
		return api_answer(r);
	}
	if (open && http_mailer(r->hs) == NULL) {
		r->retry_after = 3600;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_mail",
		          "this server cannot send the confirmation mail now");
		return api_answer(r);
	}
	/* A flood of sign-ups from one place is refused before any hashing. */
	unsigned wait = throttle_check(http_throttle(r->hs), &r->client, "", time_mono_ms());
	if (wait > 0) {
		r->retry_after = wait;
		api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "throttled", "try again in %u s", wait);
		return api_answer(r);
	}
	np_strlcpy(j->user, user, sizeof(j->user));
	if (email != NULL)
		np_strlcpy(j->email, email, sizeof(j->email));
	np_strlcpy(j->new_plain, pw, sizeof(j->new_plain));
	if (code != NULL)
		np_strlcpy(j->invite, code, sizeof(j->invite));
	j->job.run = signup_run;
	return api_slow(r, &j->job);
}

static int confirm_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	uint8_t *hash = r->ctx;
	int64_t user_id;
	int ret = store_code_take(st, STORE_CODE_CONFIRM, hash, time_now(), &user_id);
	struct store_user u;
	if (ret == NP_OK)
		ret = store_user_get_id(st, user_id, &u);
	if (ret == NP_ENOTFOUND) {
		throttle_failed(http_throttle(r->hs), &r->client, "", "confirm", time_mono_ms());
		return api_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		                 "this link is unknown, used or expired: sign up again");
	}
	if (ret != NP_OK)
		return ret;
	/* Only a new account becomes active: a locked one stays as the operator left it. */
	if (u.state == STORE_USER_UNCONFIRMED)
		ret = store_user_set_state(st, u.id, STORE_USER_ACTIVE);
	if (ret == NP_OK)
		ret = store_user_set_confirmed(st, u.id, true);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_OK, json_pack("{s:s,s:s}", "user", u.name, "state",
		                                        u.state == STORE_USER_UNCONFIRMED ? "active"
		                                                                          : store_user_state_name(u.state)));
	explicit_bzero(&u, sizeof(u));
	return ret;
}

enum MHD_Result api_confirm(struct api_req *r)
{
	static const char *const keys[] = {"code", NULL};
	const char *code;
	if (!api_only_keys(r, keys) || !api_string(r, "code", SECRET_MAX_INPUT, &code))
		return api_answer(r);
	if (code == NULL) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "send {\"code\": ...}");
		return api_answer(r);
	}
	unsigned wait = throttle_check(http_throttle(r->hs), &r->client, "", time_mono_ms());
	if (wait > 0) {
		r->retry_after = wait;
		api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "throttled", "try again in %u s", wait);
		return api_answer(r);
	}
	uint8_t *hash = malloc(SECRET_HASH_LEN);
	if (hash == NULL) {
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
		return api_answer(r);
	}
	secret_hash(code, strlen(code), hash);
	r->ctx = hash;
	r->ctx_free = free;
	return api_write(r, confirm_apply);
}
