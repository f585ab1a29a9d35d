/* SPDX-License-Identifier: MIT */
/* The ACME DNS-01 doors over HTTP, for clients that do not speak RFC 2136: acme-dns's
 * "POST /update" (X-Api-User, X-Api-Key; {"subdomain","txt"}) and lego's httpreq
 * "POST /present" and "POST /cleanup" (Basic auth; {"fqdn","value"}). Both authenticate
 * like dyndns2 (an account or host name, and a token), go through the throttle of failed
 * attempts, decide with credential_may at the challenge name and type TXT, and change the
 * values through the writer (core/acme.h): the answer leaves after the commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/throttle.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "core/acme.h"
#include "dns/constants.h"
#include "http/api.h"
#include "http/dyndns2.h"

/* acme-dns keeps a name's two newest values: a base and a wildcard certificate. */
#define ACMEDNS_KEEP 2

struct acme_ctx {
	enum acme_door door;
	char host[CFG_NAME_MAX];                      /* the host the challenge is for */
	char name[CFG_NAME_MAX + sizeof(ACME_LABEL)]; /* "_acme-challenge." + host */
	char value[ACME_TXT_MAX + 1];
};

static const char *door_name(enum acme_door door)
{
	return door == ACME_DOOR_ACMEDNS ? "acme-dns" : "httpreq";
}

/* The values after the change: present adds value as the newest (acme-dns then keeps the
 * newest two), cleanup takes it away. */
static int acme_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct acme_ctx *a = r->ctx;
	struct store_host h;
	int ret = store_host_get(st, a->host, &h);
	if (ret == NP_ENOTFOUND)
		return api_refuse(r, POLICY_OWNER, a->name);
	if (ret != NP_OK)
		return ret;
	int64_t now = time_now();
	enum policy_verdict v =
	    credential_may(&r->cred, h.user_id, a->name, DNS_TYPE_TXT, &r->client, now);
	if (v != POLICY_OK)
		return api_refuse(r, v, a->name);
	if (h.blocked)
		return api_error(r, MHD_HTTP_FORBIDDEN, "blocked", "the host %s is blocked",
		                 a->host);
	struct store_acme_txt cur[ACME_VALUES_MAX];
	size_t n_cur = 0, n = 0;
	if ((ret = acme_values(st, h.id, now, cur, &n_cur)) != NP_OK)
		return ret;
	const char *list[ACME_VALUES_MAX + 1];
	for (size_t i = 0; i < n_cur; i++)
		if (strcmp(cur[i].value, a->value) != 0)
			list[n++] = cur[i].value;
	if (a->door != ACME_DOOR_CLEANUP)
		list[n++] = a->value;
	const char *const *keep = list;
	if (a->door == ACME_DOOR_ACMEDNS && n > ACMEDNS_KEEP) {
		keep = list + (n - ACMEDNS_KEEP);
		n = ACMEDNS_KEEP;
	}
	if (n > ACME_VALUES_MAX)
		return api_error(r, MHD_HTTP_CONFLICT, "too_many",
		                 "%s holds %d values at most; clean up old ones first", a->name,
		                 ACME_VALUES_MAX);
	struct acme_who who = {
	    .protocol = door_name(a->door), .token_id = r->cred.token_id, .source = &r->client};
	bool changed;
	ret = acme_set(st, txn, &h, keep, n, &who, &changed);
	if (ret != NP_OK)
		return ret;
	if (a->door == ACME_DOOR_ACMEDNS)
		return api_ok(r, MHD_HTTP_OK, json_pack("{s:s}", "txt", a->value));
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:s,s:s}", "fqdn", a->name, "value", a->value));
}

static enum MHD_Result acme_handler(struct api_req *r)
{
	return api_write(r, acme_apply);
}

/* The credentials of the door: acme-dns's headers, or Basic auth. false when missing. */
static bool take_credentials(struct api_req *r, enum acme_door door, char *user, size_t user_len)
{
	if (door != ACME_DOOR_ACMEDNS)
		return http_take_basic(r->conn, user, user_len, r->token_hash);
	const char *u = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Api-User");
	const char *k = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Api-Key");
	if (u == NULL || k == NULL || u[0] == '\0' || strlen(u) >= user_len || k[0] == '\0' ||
	    strlen(k) > SECRET_MAX_INPUT)
		return false;
	np_strlcpy(user, u, user_len);
	secret_hash(k, strlen(k), r->token_hash);
	return true;
}

struct acme_auth {
	struct api_req *r;
	const char *user;
	struct dyndns2_identity id;
	bool ok;
};

static int acme_authenticate(struct store *st, void *ctx)
{
	struct acme_auth *a = ctx;
	return dyndns2_authenticate(st, a->user, a->r->token_hash, &a->r->client, &a->id, &a->ok);
}

/* Authenticates r like dyndns2 does, through the throttle; false with the error set. */
static bool authenticate(struct api_req *r, enum acme_door door)
{
	struct throttle *th = http_throttle(r->hs);
	char user[DYNDNS2_USER_MAX];
	int64_t now_ms = time_mono_ms();
	if (!take_credentials(r, door, user, sizeof(user))) {
		throttle_failed(th, &r->client, "", door_name(door), now_ms);
		api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		          door == ACME_DOOR_ACMEDNS ? "send X-Api-User and X-Api-Key"
		                                    : "send Basic auth: account and token");
		return false;
	}
	unsigned wait = throttle_check(th, &r->client, user, now_ms);
	if (wait > 0) {
		r->retry_after = wait;
		api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "throttled",
		          "too many failed attempts; try again in %u s", wait);
		return false;
	}
	struct acme_auth *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
		return false;
	}
	a->r = r;
	a->user = user;
	int ret = http_store_read(r->hs, acme_authenticate, a);
	bool ok = ret == NP_OK && a->ok;
	if (ret != NP_OK) {
		log_warn("%s: cannot authenticate now: %s", door_name(door), np_strerror(ret));
		r->retry_after = 5;
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "try again later");
	} else if (!ok) {
		throttle_failed(th, &r->client, user, door_name(door), now_ms);
		api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "unknown user or token");
	} else {
		throttle_succeeded(th, &r->client, user, now_ms);
		r->cred = a->id.cred;
		r->authenticated = true;
	}
	explicit_bzero(a, sizeof(*a));
	free(a);
	return ok;
}

/* The body, a JSON object whatever its Content-Type says (acme.sh sends acme-dns's as a
 * form), into the name and value of the change; false with the error set. */
static bool read_body(struct api_req *r, const struct http_request *hr, struct acme_ctx *a)
{
	json_error_t err;
	r->body = hr->body_len > 0
	              ? json_loadb(hr->body, hr->body_len, JSON_REJECT_DUPLICATES, &err)
	              : NULL;
	if (r->body == NULL || !json_is_object(r->body)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", "the body must be a JSON object");
		return false;
	}
	bool dns = a->door == ACME_DOOR_ACMEDNS;
	static const char *const acmedns_keys[] = {"subdomain", "txt", NULL};
	static const char *const httpreq_keys[] = {"fqdn", "value", NULL};
	const char *name, *value;
	if (!api_only_keys(r, dns ? acmedns_keys : httpreq_keys) ||
	    !api_string(r, dns ? "subdomain" : "fqdn", CFG_NAME_MAX, &name) ||
	    !api_string(r, dns ? "txt" : "value", ACME_TXT_MAX, &value))
		return false;
	if (name == NULL || value == NULL) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "send %s",
		          dns ? "\"subdomain\" and \"txt\"" : "\"fqdn\" and \"value\"");
		return false;
	}
	char fqdn[CFG_NAME_MAX];
	const char *host = NULL;
	if (dyndns2_fqdn_normalize(name, strlen(name), fqdn))
		host = acme_host_of(fqdn);
	/* acme-dns names the challenge by its "subdomain": here the host, or its challenge
	 * name; httpreq sends the challenge name itself. */
	if (host == NULL && dns && fqdn[0] != '\0')
		host = fqdn;
	if (host == NULL || strlen(host) >= sizeof(a->host)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, dns ? "bad_subdomain" : "bad_fqdn",
		          "name a host, as %sHOST", ACME_LABEL);
		return false;
	}
	np_strlcpy(a->host, host, sizeof(a->host));
	snprintf(a->name, sizeof(a->name), ACME_LABEL "%s", a->host);
	if (strlen(a->name) >= CFG_NAME_MAX) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "the name is too long");
		return false;
	}
	if (!acme_value_ok(value, strlen(value))) {
		api_error(r, MHD_HTTP_BAD_REQUEST, dns ? "bad_txt" : "bad_value",
		          "a value is 1 to %d printable characters (no space, quote or backslash)",
		          ACME_TXT_MAX);
		return false;
	}
	np_strlcpy(a->value, value, sizeof(a->value));
	return true;
}

enum MHD_Result acme_serve(struct http_request *hr, enum acme_door door)
{
	struct api_req *r = api_req_new(hr);
	struct acme_ctx *a = calloc(1, sizeof(*a));
	if (r == NULL || a == NULL) {
		free(a);
		api_req_free(r);
		return http_reply_text(hr->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	}
	a->door = door;
	r->ctx = a;
	r->ctx_free = free;
	if (!hr->client_ok) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "bad X-Forwarded-For");
	} else if (authenticate(r, door) && read_body(r, hr, a)) {
		return api_req_run(hr, r, acme_handler);
	}
	enum MHD_Result ret = api_answer(r);
	api_req_free(r);
	return ret;
}
