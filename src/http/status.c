/* SPDX-License-Identifier: MIT */
/* GET /api/v1/status: an account's hosts, their addresses and their incidents (open ones
 * and those closed in the last STATUS_CLOSED_DAYS days), for `nameplate status`. Basic auth
 * exactly as /nic/update (the account name or a host name, and a token); the proof and the
 * reads run on the HTTP side's read-only connection, never on the writer's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "http/dyndns2.h"
#include "http/http_int.h"
#include "account/throttle.h"
#include "store/incident.h"
#include "store/store.h"

#define STATUS_CLOSED_DAYS 7
/* Bounds of one answer: hosts listed (more sets "truncated") and incidents per host. */
#define STATUS_MAX_HOSTS     256
#define STATUS_MAX_INCIDENTS 32

struct status_req {
	char user[DYNDNS2_USER_MAX];
	uint8_t hash[SECRET_HASH_LEN];
	struct np_addr client;
	bool auth_ok; /* the credentials proved an account */
	char *body;   /* the JSON answer, malloc'd */
	struct store_owned_host hosts[STATUS_MAX_HOSTS];
	struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
};

static void status_free(struct status_req *sr)
{
	explicit_bzero(sr->hash, sizeof(sr->hash));
	free(sr->body);
	free(sr);
}

static int add_incident(const struct store_incident *inc, void *ctx)
{
	json_t *arr = ctx;
	json_error_t jerr;
	json_t *full = json_loads(inc->evidence, 0, &jerr);
	json_t *evidence = json_object_get(full, "evidence");
	json_t *o = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:o, s:b, s:O?, s:O?, s:O?}", "address",
	                      inc->addr, "verdict", inc->verdict, "rule",
	                      json_string_value(json_object_get(full, "rule")), "opened",
	                      (json_int_t)inc->opened, "updated", (json_int_t)inc->updated,
	                      "closed", inc->closed != 0 ? json_integer(inc->closed) : json_null(),
	                      "notified", inc->notified, "held", json_object_get(full, "held"),
	                      "window", json_object_get(full, "window"), "evidence", evidence);
	json_decref(full);
	if (o == NULL || json_array_append_new(arr, o) != 0)
		return NP_ENOMEM;
	return 0;
}

/* The addresses host_id publishes now, as text. */
static json_t *host_addresses(struct status_req *sr, struct store *st, int64_t host_id, int *ret)
{
	size_t n;
	json_t *arr = json_array();
	*ret = arr == NULL ? NP_ENOMEM
	                   : store_records_get(st, host_id, sr->rrs, ARRAY_SIZE(sr->rrs), &n);
	for (size_t i = 0; *ret == NP_OK && i < n; i++) {
		struct np_addr a;
		if (!store_rr_addr(&sr->rrs[i], &a))
			continue;
		char text[INET6_ADDRSTRLEN];
		if (json_array_append_new(arr, json_string(addr_format(&a, text, sizeof(text)))) !=
		    0)
			*ret = NP_ENOMEM;
	}
	return arr;
}

static int build(struct status_req *sr, struct store *st, const struct dyndns2_identity *id)
{
	size_t n;
	bool more;
	int ret = store_user_hosts(st, id->user_id, sr->hosts, STATUS_MAX_HOSTS, &n, &more);
	if (ret != NP_OK)
		return ret;
	json_t *hosts = json_array();
	json_t *root = json_pack("{s:s, s:o, s:b, s:I}", "user", id->account, "hosts", hosts,
	                         "truncated", more, "time", (json_int_t)time_now());
	if (root == NULL)
		return NP_ENOMEM;
	int64_t since = time_now() - (int64_t)STATUS_CLOSED_DAYS * 86400;
	for (size_t i = 0; i < n && ret == NP_OK; i++) {
		json_t *addrs = host_addresses(sr, st, sr->hosts[i].id, &ret);
		json_t *incidents = json_array();
		json_t *h = json_pack("{s:s, s:o, s:o}", "fqdn", sr->hosts[i].fqdn, "addresses",
		                      addrs, "incidents", incidents);
		if (ret == NP_OK && (h == NULL || json_array_append_new(hosts, h) != 0))
			ret = NP_ENOMEM;
		if (ret == NP_OK)
			ret = store_incident_list(st, sr->hosts[i].id, since, STATUS_MAX_INCIDENTS,
			                          add_incident, incidents);
	}
	if (ret == NP_OK) {
		sr->body = json_dumps(root, JSON_INDENT(1));
		if (sr->body == NULL)
			ret = NP_ENOMEM;
	}
	json_decref(root);
	return ret;
}

static int status_read(struct store *st, void *ctx)
{
	struct status_req *sr = ctx;
	struct dyndns2_identity *id = malloc(sizeof(*id));
	if (id == NULL)
		return NP_ENOMEM;
	int ret = dyndns2_authenticate(st, sr->user, sr->hash, &sr->client, id, &sr->auth_ok);
	if (ret == NP_OK && sr->auth_ok)
		ret = build(sr, st, id);
	explicit_bzero(id, sizeof(*id));
	free(id);
	return ret;
}

enum MHD_Result status_serve(struct http_request *r)
{
	struct MHD_Connection *c = r->conn;
	struct throttle *th = http_throttle(r->hs);
	struct status_req *sr = calloc(1, sizeof(*sr));
	enum MHD_Result ret;
	if (sr == NULL)
		return http_reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	if (!r->client_ok) {
		ret = http_reply_text(c, MHD_HTTP_BAD_REQUEST, "bad X-Forwarded-For\n");
		goto out;
	}
	sr->client = r->client;
	if (!http_take_basic(c, sr->user, sizeof(sr->user), sr->hash)) {
		throttle_failed(th, &sr->client, "", "status", time_mono_ms());
		ret = http_reply_basic_auth(c, "badauth\n");
		goto out;
	}
	unsigned wait = throttle_check(th, &sr->client, sr->user, time_mono_ms());
	if (wait > 0) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", wait);
		ret = http_reply(c, MHD_HTTP_TOO_MANY_REQUESTS, TEXT_PLAIN, "try again later\n", 16,
		                 MHD_HTTP_HEADER_RETRY_AFTER, ra, NULL, NULL);
		goto out;
	}
	int rc = http_store_read(r->hs, status_read, sr);
	if (rc == NP_OK && !sr->auth_ok) {
		throttle_failed(th, &sr->client, sr->user, "status", time_mono_ms()); /* logs it */
		ret = http_reply_basic_auth(c, "badauth\n");
	} else if (rc != NP_OK || sr->body == NULL) {
		log_warn("status: cannot answer: %s", np_strerror(rc));
		ret = http_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT_PLAIN, "busy, try again later\n",
		                 22, MHD_HTTP_HEADER_RETRY_AFTER, "5", NULL, NULL);
	} else {
		throttle_succeeded(th, &sr->client, sr->user, time_mono_ms());
		ret = http_reply(c, MHD_HTTP_OK, APP_JSON, sr->body, strlen(sr->body), NULL, NULL,
		                 NULL, NULL);
	}
out:
	status_free(sr);
	return ret;
}
