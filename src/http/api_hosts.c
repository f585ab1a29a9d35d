/* SPDX-License-Identifier: MIT */
/* REST API: hosts, their records, their history, and IPv6 prefix changes. Reads run on the
 * read-only connection; changes on the writer, each checked with credential_may. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "abuse/abuse.h"
#include "abuse/name_policy.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"
#include "dns/constants.h"
#include "dns/name.h"
#include "http/api.h"
#include "http/dyndns2.h"
#include "http/prefix.h"
#include "store/abuse.h"

/* A name as text, escapes included. */
#define NAME_TEXT_MAX 1024

/* Per-request scratch, too big for a stack. */
struct host_scratch {
	struct store_host h;
	struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	struct store_rr set[ZONE_MAX_RRS_PER_TYPE];
	size_t n_set;
	uint16_t type;
	char fqdn[CFG_NAME_MAX];
	int wildcard, offline; /* PATCH: -1 when not given, else 0 or 1 */
};

static struct host_scratch *scratch(struct api_req *r)
{
	if (r->ctx == NULL) {
		r->ctx = calloc(1, sizeof(struct host_scratch));
		r->ctx_free = free;
	}
	return r->ctx;
}

/* ---- record values as JSON strings ---- */

static const struct {
	const char *name;
	uint16_t type;
} rr_types[] = {
    {"A", DNS_TYPE_A}, {"AAAA", DNS_TYPE_AAAA}, {"TXT", DNS_TYPE_TXT}, {"MX", DNS_TYPE_MX}};

static const char *type_name(uint16_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(rr_types); i++)
		if (rr_types[i].type == type)
			return rr_types[i].name;
	return NULL;
}

static uint16_t type_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rr_types); i++)
		if (strcasecmp(rr_types[i].name, name) == 0)
			return rr_types[i].type;
	return 0;
}

/* One record as the API shows it: an address, the TXT text (its strings joined), or
 * "PREFERENCE EXCHANGE" for MX. NULL for what a host cannot hold. */
static json_t *rr_json(const struct store_rr *rr)
{
	struct np_addr a;
	if (store_rr_addr(rr, &a)) {
		char t[INET6_ADDRSTRLEN];
		return json_string(addr_format(&a, t, sizeof(t)));
	}
	if (rr->type == DNS_TYPE_TXT) {
		char text[ZONE_MAX_RDATA + 1];
		size_t o = 0;
		for (size_t i = 0; i < rr->rdlen;) {
			size_t n = rr->rdata[i++];
			if (n > rr->rdlen - i)
				return NULL;
			memcpy(text + o, rr->rdata + i, n);
			o += n;
			i += n;
		}
		return json_stringn(text, o); /* NULL when not UTF-8: such a record was not ours */
	}
	if (rr->type == DNS_TYPE_MX && rr->rdlen > 2) {
		char name[NAME_TEXT_MAX], out[NAME_TEXT_MAX + 8];
		if (dns_name_to_text(rr->rdata + 2, rr->rdlen - 2, name, sizeof(name)) < 0)
			return NULL;
		snprintf(out, sizeof(out), "%u %s", (unsigned)(rr->rdata[0] << 8 | rr->rdata[1]),
		         name);
		return json_string(out);
	}
	return NULL;
}

/* Parses one value of type into rr (ttl set by the caller); false with the error set. */
static bool rr_parse(struct api_req *r, uint16_t type, json_t *v, struct store_rr *rr)
{
	memset(rr, 0, sizeof(*rr));
	rr->type = type;
	if (!json_is_string(v)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "each record is a string");
		return false;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (strlen(s) != len) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "a record cannot hold NUL");
		return false;
	}
	if (type == DNS_TYPE_A || type == DNS_TYPE_AAAA) {
		struct np_addr a;
		if (addr_parse(s, &a) != NP_OK || a.family != (type == DNS_TYPE_A ? AF_INET : AF_INET6)) {
			api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_record",
			          "not an %s address", type == DNS_TYPE_A ? "IPv4" : "IPv6");
			return false;
		}
		rr->rdlen = type == DNS_TYPE_A ? 4 : 16;
		memcpy(rr->rdata, a.bytes, rr->rdlen);
		return true;
	}
	if (type == DNS_TYPE_TXT) {
		/* Cut into character-strings of at most 255 bytes; an empty text is one empty
		 * string. */
		size_t pieces = len == 0 ? 1 : (len + 254) / 255;
		if (len + pieces > ZONE_MAX_RDATA || str_has_ctl(s)) {
			api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_record",
			          "a TXT record is text without control characters, at most %d bytes",
			          ZONE_MAX_RDATA - ZONE_MAX_RDATA / 256);
			return false;
		}
		size_t o = 0;
		for (size_t i = 0; i < pieces; i++) {
			size_t n = len - i * 255 > 255 ? 255 : len - i * 255;
			rr->rdata[o++] = (uint8_t)n;
			memcpy(rr->rdata + o, s + i * 255, n);
			o += n;
		}
		rr->rdlen = (uint16_t)o;
		return true;
	}
	/* MX: "PREFERENCE EXCHANGE" */
	uint32_t pref;
	char num[8], name[NAME_TEXT_MAX];
	const char *sp = strchr(s, ' ');
	size_t nlen = sp != NULL ? (size_t)(sp - s) : 0;
	bool ok = sp != NULL && nlen > 0 && nlen < sizeof(num) && sp[1] != '\0' &&
	          strlen(sp + 1) < sizeof(name);
	if (ok) {
		memcpy(num, s, nlen);
		num[nlen] = '\0';
		np_strlcpy(name, sp + 1, sizeof(name));
		ok = str_to_u32(num, 0, 65535, &pref) == NP_OK;
	}
	int wlen = ok ? dns_name_from_text(name, rr->rdata + 2, sizeof(rr->rdata) - 2) : -1;
	if (wlen < 0) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_record",
		          "an MX record is \"PREFERENCE NAME\", e.g. \"10 mail.example.com\"");
		return false;
	}
	rr->rdata[0] = (uint8_t)(pref >> 8);
	rr->rdata[1] = (uint8_t)pref;
	rr->rdlen = (uint16_t)(wlen + 2);
	return true;
}

/* ---- hosts as JSON ---- */

static int last_change(const struct store_history *h, void *ctx)
{
	json_t *o = ctx;
	json_object_set_new(o, "last_change",
	                    json_pack("{s:I,s:s,s:s,s:s}", "time", (json_int_t)h->time,
	                              "interface", h->protocol, "source", h->source, "token",
	                              h->token_id));
	return 0;
}

/* The host h with its records and its last change. */
static int host_json(struct store *st, const struct store_host *h, struct store_rr *rrs,
                     json_t **out)
{
	size_t n;
	int ret = store_records_get(st, h->id, rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	json_t *records = json_object();
	for (size_t t = 0; t < ARRAY_SIZE(rr_types) && records != NULL; t++) {
		json_t *list = json_array();
		for (size_t i = 0; i < n && list != NULL; i++) {
			json_t *v;
			if (rrs[i].type == rr_types[t].type && (v = rr_json(&rrs[i])) != NULL)
				json_array_append_new(list, v);
		}
		json_object_set_new(records, rr_types[t].name, list);
	}
	json_t *o = json_pack("{s:s,s:s,s:b,s:b,s:b,s:I,s:I,s:o,s:n}", "fqdn", h->fqdn, "zone",
	                      h->zone, "wildcard", h->wildcard, "offline", h->offline, "blocked",
	                      h->blocked, "created", (json_int_t)h->created, "updated",
	                      (json_int_t)h->updated, "records", records, "last_change");
	if (o == NULL)
		return NP_ENOMEM;
	ret = store_history_list(st, h->fqdn, 1, last_change, o);
	if (ret != NP_OK) {
		json_decref(o);
		return ret;
	}
	*out = o;
	return NP_OK;
}

bool api_seg_fqdn(struct api_req *r, unsigned i, char out[CFG_NAME_MAX])
{
	if (!dyndns2_fqdn_normalize(r->segs[i], strlen(r->segs[i]), out)) {
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "not a host name");
		return false;
	}
	return true;
}

int api_load_host(struct api_req *r, struct store *st, const char *fqdn, uint16_t type,
                  struct store_host *h)
{
	int ret = store_host_get(st, fqdn, h);
	if (ret != NP_OK && ret != NP_ENOTFOUND)
		return ret;
	int64_t owner = ret == NP_OK ? h->user_id : 0;
	enum policy_verdict v = credential_may(&r->cred, owner, fqdn, type, &r->client, time_now());
	if (v != POLICY_OK)
		return api_refuse(r, v, fqdn);
	return NP_OK;
}

/* ---- GET /hosts ---- */

struct list_ctx {
	struct api_req *r;
	struct store *st;
	json_t *list;
	struct store_rr *rrs;
};

static int list_one(const struct store_host *h, void *ctx)
{
	struct list_ctx *l = ctx;
	/* A token sees only the names it may change. */
	if (!policy_name_allows(&l->r->cred.policy, h->fqdn))
		return 0;
	json_t *o;
	int ret = host_json(l->st, h, l->rrs, &o);
	if (ret == NP_OK)
		json_array_append_new(l->list, o);
	return ret;
}

static int hosts_list(struct api_req *r, struct store *st)
{
	struct host_scratch *s = scratch(r);
	json_t *list = json_array();
	if (s == NULL || list == NULL) {
		json_decref(list);
		return NP_ENOMEM;
	}
	/* host_json's queries are other statements than the listing's: SQLite steps them
	 * side by side on one connection. */
	struct list_ctx l = {r, st, list, s->rrs};
	int ret = store_host_list_user(st, r->cred.user_id, list_one, &l);
	if (ret != NP_OK) {
		json_decref(list);
		return ret;
	}
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:o}", "hosts", list));
}

enum MHD_Result api_hosts_list(struct api_req *r)
{
	return api_read(r, hosts_list);
}

/* ---- POST /hosts ---- */

/* Records the change in the history and has DNS serve it. */
static int changed(struct api_req *r, struct store *st, struct writer_txn *txn,
                   const struct store_host *h, const char *old_text, const char *new_text)
{
	char source[INET6_ADDRSTRLEN] = "";
	addr_format(&r->client, source, sizeof(source));
	struct store_history hist = {
	    .host_id = h->id,
	    .fqdn = h->fqdn,
	    .time = time_now(),
	    .source = source,
	    .old_addr = old_text,
	    .new_addr = new_text,
	    .protocol = r->cred.kind == STORE_TOKEN_SESSION ? "web" : "api",
	    .token_id = r->cred.token_id,
	};
	int ret = store_history_add(st, &hist);
	if (ret == NP_OK)
		ret = writer_txn_touch(txn, h->fqdn);
	return ret;
}

/* A comma list of the values of every record of type among rrs (history text). */
static void values_text(const struct store_rr *rrs, size_t n, uint16_t type, char *out, size_t cap)
{
	size_t o = strlen(out);
	for (size_t i = 0; i < n; i++) {
		if (rrs[i].type != type)
			continue;
		json_t *v = rr_json(&rrs[i]);
		const char *t = v != NULL ? json_string_value(v) : "?";
		int w = snprintf(out + o, cap - o, "%s%s", o > 0 ? "," : "", t);
		json_decref(v);
		if (w < 0 || (size_t)w >= cap - o)
			return; /* the history text is informative: a long one is cut */
		o += (size_t)w;
	}
}

static int host_create(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct host_scratch *s = r->ctx;
	const struct config *cfg = writer_txn_config(txn);
	unsigned count;
	int ret = store_user_host_count(st, r->cred.user_id, &count);
	if (ret != NP_OK)
		return ret;
	if (count >= cfg->accounts_max_hosts)
		return api_error(r, MHD_HTTP_FORBIDDEN, "limit",
		                 "an account may have at most %u hosts", cfg->accounts_max_hosts);
	const struct cfg_zone *cz = config_zone_for(cfg, s->fqdn);
	if (cz == NULL || strcmp(cz->name, s->fqdn) == 0)
		return api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_name",
		                 "%s is not a name under a zone this server serves", s->fqdn);
	/* The name policy (abuse/name_policy.h) over the labels the account would own. */
	char labels[CFG_NAME_MAX + 1], why[256];
	size_t nl = strlen(s->fqdn) - strlen(cz->name) - 1;
	memcpy(labels, s->fqdn, nl);
	labels[nl] = '\0';
	if (name_policy_check(labels, cfg->abuse_reserved, cfg->abuse_brands, why, sizeof(why)) != 0)
		return api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "name_policy",
		                 "%s cannot be taken: %s", s->fqdn, why);
	memset(&s->h, 0, sizeof(s->h));
	np_strlcpy(s->h.fqdn, s->fqdn, sizeof(s->h.fqdn));
	np_strlcpy(s->h.zone, cz->name, sizeof(s->h.zone));
	s->h.user_id = r->cred.user_id;
	ret = store_host_add(st, &s->h, &s->h.id);
	if (ret == NP_EEXIST)
		return api_error(r, MHD_HTTP_CONFLICT, "exists", "%s is taken", s->fqdn);
	if (ret == NP_OK)
		ret = store_host_get(st, s->fqdn, &s->h);
	if (ret == NP_OK)
		ret = changed(r, st, txn, &s->h, "", "");
	json_t *o = NULL;
	if (ret == NP_OK)
		ret = host_json(st, &s->h, s->rrs, &o);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_CREATED, o);
	return ret;
}

enum MHD_Result api_hosts_create(struct api_req *r)
{
	static const char *const keys[] = {"fqdn", NULL};
	struct host_scratch *s = scratch(r);
	const char *fqdn;
	if (s == NULL) {
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
		return api_answer(r);
	}
	if (!api_only_keys(r, keys) || !api_string(r, "fqdn", CFG_NAME_MAX, &fqdn))
		return api_answer(r);
	if (fqdn == NULL) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "send {\"fqdn\": \"NAME\"}");
		return api_answer(r);
	}
	if (!dyndns2_fqdn_normalize(fqdn, strlen(fqdn), s->fqdn)) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_name",
		          "\"fqdn\" must be a host name (letters, digits, '-', two labels or more)");
		return api_answer(r);
	}
	/* The name must be one the credential may change; its owner will be the account. */
	enum policy_verdict v =
	    credential_may(&r->cred, r->cred.user_id, s->fqdn, 0, &r->client, time_now());
	if (v != POLICY_OK) {
		api_error(r, MHD_HTTP_FORBIDDEN, "forbidden", "%s", policy_verdict_str(v));
		return api_answer(r);
	}
	/* Creations are budgeted per account and per source address (docs/abuse.md): names
	 * are cheap to ask for, and each one a botnet or a phishing kit could use. */
	unsigned wait = abuse_create_take(http_abuse(r->hs), r->cred.user_id, &r->client,
	                                  time_now());
	if (wait != 0) {
		r->retry_after = wait;
		api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
		          "too many new hosts by this account or from this address; try again in %u s",
		          wait);
		return api_answer(r);
	}
	return api_write(r, host_create);
}

/* ---- GET /hosts/{fqdn} ---- */

static int host_get(struct api_req *r, struct store *st)
{
	struct host_scratch *s = scratch(r);
	if (s == NULL)
		return NP_ENOMEM;
	int ret = api_load_host(r, st, s->fqdn, 0, &s->h);
	json_t *o = NULL;
	if (ret == NP_OK)
		ret = host_json(st, &s->h, s->rrs, &o);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_OK, o);
	return ret == NP_EDENIED ? NP_OK : ret;
}

enum MHD_Result api_host_get(struct api_req *r)
{
	struct host_scratch *s = scratch(r);
	if (s == NULL || !api_seg_fqdn(r, 1, s->fqdn))
		return api_answer(r);
	return api_read(r, host_get);
}

/* ---- PATCH /hosts/{fqdn} ---- */

static bool within_budget(struct api_req *r, const char *fqdn);

static int host_patch(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct host_scratch *s = r->ctx;
	int ret = api_load_host(r, st, s->fqdn, 0, &s->h);
	if (ret != NP_OK)
		return ret;
	if (s->h.blocked)
		return api_error(r, MHD_HTTP_FORBIDDEN, "blocked",
		                 "this host is blocked for abuse; its owner cannot change it");
	bool wildcard = s->wildcard >= 0 ? s->wildcard != 0 : s->h.wildcard;
	bool offline = s->offline >= 0 ? s->offline != 0 : s->h.offline;
	char old_text[512] = "";
	size_t n;
	ret = store_records_get(st, s->h.id, s->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	values_text(s->rrs, n, DNS_TYPE_A, old_text, sizeof(old_text));
	values_text(s->rrs, n, DNS_TYPE_AAAA, old_text, sizeof(old_text));
	/* Going offline withdraws the addresses, as dyndns2's offline=YES does. */
	if (offline && !s->h.offline) {
		enum policy_verdict v = credential_may(&r->cred, s->h.user_id, s->fqdn, DNS_TYPE_A,
		                                       &r->client, time_now());
		if (v == POLICY_OK)
			v = credential_may(&r->cred, s->h.user_id, s->fqdn, DNS_TYPE_AAAA,
			                   &r->client, time_now());
		if (v != POLICY_OK)
			return api_refuse(r, v, s->fqdn);
		ret = store_records_set(st, s->h.id, DNS_TYPE_A, NULL, 0);
		if (ret == NP_OK)
			ret = store_records_set(st, s->h.id, DNS_TYPE_AAAA, NULL, 0);
		if (ret != NP_OK)
			return ret;
	}
	if (wildcard != s->h.wildcard || offline != s->h.offline) {
		ret = store_host_set_flags(st, s->h.id, wildcard, offline, s->h.blocked);
		if (ret == NP_OK)
			ret = changed(r, st, txn, &s->h, old_text, offline ? "" : old_text);
		if (ret != NP_OK)
			return ret;
	}
	json_t *o = NULL;
	ret = store_host_get(st, s->fqdn, &s->h);
	if (ret == NP_OK)
		ret = host_json(st, &s->h, s->rrs, &o);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_OK, o);
	return ret;
}

/* A boolean member: -1 when absent; false with 400 set when not a boolean. */
static bool opt_bool(struct api_req *r, const char *key, int *out)
{
	json_t *v = json_object_get(r->body, key);
	*out = -1;
	if (v == NULL)
		return true;
	if (!json_is_boolean(v)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "\"%s\" must be true or false", key);
		return false;
	}
	*out = json_is_true(v) ? 1 : 0;
	return true;
}

enum MHD_Result api_host_patch(struct api_req *r)
{
	static const char *const keys[] = {"wildcard", "offline", NULL};
	struct host_scratch *s = scratch(r);
	if (s == NULL || !api_seg_fqdn(r, 1, s->fqdn))
		return api_answer(r);
	if (r->body == NULL) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "send {\"wildcard\": ..., "
		          "\"offline\": ...}");
		return api_answer(r);
	}
	if (!api_only_keys(r, keys) || !opt_bool(r, "wildcard", &s->wildcard) ||
	    !opt_bool(r, "offline", &s->offline))
		return api_answer(r);
	/* "offline" withdraws or brings back the addresses: an update, budgeted like one
	 * (a repeat is counted as dyndns2's nochg is). "wildcard" alone changes none. */
	if (s->offline >= 0 && !within_budget(r, s->fqdn))
		return api_answer(r);
	return api_write(r, host_patch);
}

/* ---- DELETE /hosts/{fqdn} ---- */

static int host_delete(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct host_scratch *s = r->ctx;
	int ret = api_load_host(r, st, s->fqdn, 0, &s->h);
	if (ret != NP_OK)
		return ret;
	if (s->h.blocked)
		return api_error(r, MHD_HTTP_FORBIDDEN, "blocked",
		                 "this host is blocked for abuse; ask the operator");
	char old_text[512] = "";
	size_t n;
	ret = store_records_get(st, s->h.id, s->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	values_text(s->rrs, n, DNS_TYPE_A, old_text, sizeof(old_text));
	values_text(s->rrs, n, DNS_TYPE_AAAA, old_text, sizeof(old_text));
	/* History first: it keeps the host's id, which the delete frees. */
	ret = changed(r, st, txn, &s->h, old_text, "");
	if (ret == NP_OK)
		ret = store_token_del_host(st, s->fqdn);
	if (ret == NP_OK)
		ret = store_host_del(st, s->fqdn);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_NO_CONTENT, NULL);
	return ret;
}

enum MHD_Result api_host_delete(struct api_req *r)
{
	struct host_scratch *s = scratch(r);
	if (s == NULL || !api_seg_fqdn(r, 1, s->fqdn))
		return api_answer(r);
	return api_write(r, host_delete);
}

/* ---- /hosts/{fqdn}/records/{type} ---- */

static bool seg_type(struct api_req *r, struct host_scratch *s)
{
	s->type = type_of(r->segs[3]);
	if (s->type == 0) {
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "record types are A, AAAA, TXT and MX");
		return false;
	}
	return true;
}

static json_t *rrset_json(const struct store_rr *rrs, size_t n, uint16_t type, uint32_t ttl)
{
	json_t *list = json_array();
	for (size_t i = 0; i < n && list != NULL; i++) {
		json_t *v;
		if (rrs[i].type == type && (v = rr_json(&rrs[i])) != NULL)
			json_array_append_new(list, v);
	}
	return json_pack("{s:s,s:I,s:o}", "type", type_name(type), "ttl", (json_int_t)ttl,
	                 "records", list);
}

static uint32_t zone_ttl(const struct config *cfg, const char *fqdn)
{
	const struct cfg_zone *cz = config_zone_for(cfg, fqdn);
	return cz != NULL ? cz->ttl : 60;
}

static int records_get(struct api_req *r, struct store *st)
{
	struct host_scratch *s = r->ctx;
	int ret = api_load_host(r, st, s->fqdn, 0, &s->h);
	size_t n;
	if (ret == NP_OK)
		ret = store_records_get(st, s->h.id, s->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_OK,
		             rrset_json(s->rrs, n, s->type, zone_ttl(r->cfg, s->fqdn)));
	return ret == NP_EDENIED ? NP_OK : ret;
}

enum MHD_Result api_records_get(struct api_req *r)
{
	struct host_scratch *s = scratch(r);
	if (s == NULL || !api_seg_fqdn(r, 1, s->fqdn) || !seg_type(r, s))
		return api_answer(r);
	return api_read(r, records_get);
}

/* Whether the records of type among rrs are the values of set[0..n) (each once), in any
 * order. */
static bool same_set(const struct store_rr *rrs, size_t n_rrs, uint16_t type,
                     const struct store_rr *set, size_t n)
{
	size_t have = 0;
	for (size_t i = 0; i < n_rrs; i++) {
		if (rrs[i].type != type)
			continue;
		bool found = false;
		for (size_t j = 0; j < n && !found; j++)
			found = set[j].rdlen == rrs[i].rdlen &&
			        memcmp(set[j].rdata, rrs[i].rdata, rrs[i].rdlen) == 0;
		if (!found)
			return false;
		have++;
	}
	return have == n;
}

/* Replaces the records of s->type with s->set (none: deletes them). */
static int records_replace(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct host_scratch *s = r->ctx;
	int ret = api_load_host(r, st, s->fqdn, s->type, &s->h);
	if (ret != NP_OK)
		return ret;
	if (s->h.blocked)
		return api_error(r, MHD_HTTP_FORBIDDEN, "blocked",
		                 "this host is blocked for abuse; its owner cannot change it");
	size_t n;
	ret = store_records_get(st, s->h.id, s->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	char old_text[1024] = "", new_text[1024] = "";
	values_text(s->rrs, n, s->type, old_text, sizeof(old_text));
	uint32_t ttl = zone_ttl(writer_txn_config(txn), s->fqdn);
	/* The same set in another order is no change: nothing is written, no history row,
	 * no new serial. */
	if (same_set(s->rrs, n, s->type, s->set, s->n_set) &&
	    !(s->h.offline && s->n_set > 0 &&
	      (s->type == DNS_TYPE_A || s->type == DNS_TYPE_AAAA))) {
		if (s->n_set == 0)
			return api_ok(r, MHD_HTTP_NO_CONTENT, NULL);
		return api_ok(r, MHD_HTTP_OK, rrset_json(s->rrs, n, s->type, ttl));
	}
	/* New addresses are judged by the name's flux score first (abuse/abuse.h): at hold or
	 * above they are not applied, and the state, now stored, is kept (NP_OK). */
	if (s->type == DNS_TYPE_A || s->type == DNS_TYPE_AAAA) {
		struct np_addr cand[ZONE_MAX_RRS_PER_TYPE];
		size_t nc = 0;
		for (size_t i = 0; i < s->n_set; i++)
			if (store_rr_addr(&s->set[i], &cand[nc]))
				nc++;
		int state = STORE_ABUSE_OK;
		if (nc > 0)
			ret = abuse_judge(http_abuse(r->hs), st, &s->h, cand, nc, time_now(), &state);
		if (ret != NP_OK)
			return ret;
		if (state >= STORE_ABUSE_HOLD) {
			if (state == STORE_ABUSE_QUARANTINED)
				ret = writer_txn_touch(txn, s->fqdn);
			if (ret == NP_OK)
				api_error(r, MHD_HTTP_FORBIDDEN, "blocked",
				          "%s is now %s: its address changes look like fast flux "
				          "(nameplate's abuse protection); ask the operator",
				          s->fqdn, store_abuse_state_name(state));
			return ret;
		}
	}
	for (size_t i = 0; i < s->n_set; i++)
		s->set[i].ttl = ttl;
	ret = store_records_set(st, s->h.id, s->type, s->set, s->n_set);
	if (ret == NP_OK && (s->type == DNS_TYPE_A || s->type == DNS_TYPE_AAAA) && s->n_set > 0 &&
	    s->h.offline) /* addresses bring a host back online, as with dyndns2 */
		ret = store_host_set_flags(st, s->h.id, s->h.wildcard, false, s->h.blocked);
	if (ret == NP_OK)
		ret = store_records_get(st, s->h.id, s->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	values_text(s->rrs, n, s->type, new_text, sizeof(new_text));
	if (strcmp(old_text, new_text) != 0) {
		ret = changed(r, st, txn, &s->h, old_text, new_text);
		if (ret != NP_OK)
			return ret;
	}
	if (s->n_set == 0)
		return api_ok(r, MHD_HTTP_NO_CONTENT, NULL);
	return api_ok(r, MHD_HTTP_OK, rrset_json(s->rrs, n, s->type, ttl));
}

/* The update budgets of a change of s->fqdn's records (abuse/abuse.h): false with 429 and
 * Retry-After set when one is spent; nothing reaches the writer then. */
static bool within_budget(struct api_req *r, const char *fqdn)
{
	const char *names[1] = {fqdn};
	unsigned wait = abuse_budget_take(http_abuse(r->hs), names, 1, r->cred.token_id,
	                                  &r->client, time_now());
	if (wait == 0)
		return true;
	r->retry_after = wait;
	api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
	          "too many updates of %s, by this token or from this address; try again in %u s",
	          fqdn, wait);
	return false;
}

enum MHD_Result api_records_put(struct api_req *r)
{
	static const char *const keys[] = {"records", NULL};
	struct host_scratch *s = scratch(r);
	if (s == NULL || !api_seg_fqdn(r, 1, s->fqdn) || !seg_type(r, s))
		return api_answer(r);
	json_t *list = r->body != NULL ? json_object_get(r->body, "records") : NULL;
	if (!api_only_keys(r, keys))
		return api_answer(r);
	if (!json_is_array(list)) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		          "send {\"records\": [\"VALUE\", ...]}");
		return api_answer(r);
	}
	if (json_array_size(list) > ZONE_MAX_RRS_PER_TYPE) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "too_many",
		          "at most %d records of one type", ZONE_MAX_RRS_PER_TYPE);
		return api_answer(r);
	}
	s->n_set = 0;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (!rr_parse(r, s->type, v, &s->set[s->n_set]))
			return api_answer(r);
		bool dup = false;
		for (size_t j = 0; j < s->n_set && !dup; j++)
			dup = s->set[j].rdlen == s->set[s->n_set].rdlen &&
			      memcmp(s->set[j].rdata, s->set[s->n_set].rdata, s->set[j].rdlen) == 0;
		if (!dup) /* a set of records: the same value twice is once */
			s->n_set++;
	}
	/* An address in a range a threat feed lists is never published. */
	for (size_t k = 0; k < s->n_set; k++) {
		struct np_addr a;
		char which[160], text[INET6_ADDRSTRLEN];
		if (!store_rr_addr(&s->set[k], &a) ||
		    !abuse_addr_listed(http_abuse(r->hs), &a, which, sizeof(which)))
			continue;
		api_error(r, MHD_HTTP_FORBIDDEN, "listed", "%s is in a range a threat feed lists (%s)",
		          addr_format(&a, text, sizeof(text)), which);
		return api_answer(r);
	}
	if (!within_budget(r, s->fqdn))
		return api_answer(r);
	return api_write(r, records_replace);
}

enum MHD_Result api_records_delete(struct api_req *r)
{
	struct host_scratch *s = scratch(r);
	if (s == NULL || !api_seg_fqdn(r, 1, s->fqdn) || !seg_type(r, s))
		return api_answer(r);
	s->n_set = 0;
	if (!within_budget(r, s->fqdn))
		return api_answer(r);
	return api_write(r, records_replace);
}

/* ---- GET /hosts/{fqdn}/history ---- */

static int history_row(const struct store_history *h, void *ctx)
{
	json_t *list = ctx;
	return json_array_append_new(
	           list, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "time", (json_int_t)h->time,
	                           "interface", h->protocol, "token", h->token_id, "source",
	                           h->source, "old", h->old_addr, "new", h->new_addr)) == 0
	           ? 0
	           : NP_ENOMEM;
}

static int history(struct api_req *r, struct store *st)
{
	struct host_scratch *s = r->ctx;
	int ret = api_load_host(r, st, s->fqdn, 0, &s->h);
	if (ret != NP_OK)
		return ret == NP_EDENIED ? NP_OK : ret;
	json_t *list = json_array();
	if (list == NULL)
		return NP_ENOMEM;
	ret = store_history_list(st, s->fqdn, API_HISTORY_MAX, history_row, list);
	if (ret != NP_OK) {
		json_decref(list);
		return ret;
	}
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:s,s:o}", "fqdn", s->fqdn, "history", list));
}

enum MHD_Result api_history(struct api_req *r)
{
	struct host_scratch *s = scratch(r);
	if (s == NULL || !api_seg_fqdn(r, 1, s->fqdn))
		return api_answer(r);
	return api_read(r, history);
}

/* ---- POST /hosts/prefix ---- */

struct prefix_req {
	struct prefix_move m;
	json_t *changes;
	struct api_req *r;
	unsigned wait; /* the budgets' Retry-After */
};

static void prefix_req_free(void *p)
{
	struct prefix_req *q = p;
	if (q != NULL)
		json_decref(q->changes);
	free(q);
}

static int touch_txn(void *ctx, const char *fqdn)
{
	return writer_txn_touch(ctx, fqdn);
}

static int note_move(void *ctx, const char *fqdn, const char *old_text, const char *new_text)
{
	return json_array_append_new(ctx, json_pack("{s:s,s:s,s:s}", "fqdn", fqdn, "old", old_text,
	                                             "new", new_text)) == 0
	           ? NP_OK
	           : NP_ENOMEM;
}

/* The hosts a move would change, with the token and the source, in one budget: as many
 * updates of each at once. Decided in memory, before anything is written. */
static unsigned prefix_budget(void *ctx, const char *const *fqdns, size_t n)
{
	struct prefix_req *q = ctx;
	q->wait = abuse_budget_take(http_abuse(q->r->hs), fqdns, n, q->r->cred.token_id,
	                            &q->r->client, time_now());
	return q->wait;
}

static int prefix_apply(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct prefix_req *q = r->ctx;
	json_array_clear(q->changes);
	q->m.cred = &r->cred;
	q->m.client = &r->client;
	q->m.protocol = r->cred.kind == STORE_TOKEN_SESSION ? "web" : "api";
	q->m.touch = touch_txn;
	q->m.touch_ctx = txn;
	q->m.moved = note_move;
	q->m.moved_ctx = q->changes;
	q->m.budget = prefix_budget;
	q->m.budget_ctx = q;
	q->r = r;
	unsigned n;
	int ret = prefix_move_run(st, &q->m, &n);
	if (ret == NP_EAGAIN) {
		r->retry_after = q->wait;
		return api_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
		                 "too many updates of these hosts, by this token or from this "
		                 "address; try again in %u s",
		                 q->wait);
	}
	if (ret != NP_OK)
		return ret;
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:O}", "changed", q->changes));
}

/* A prefix member; false with the error set. */
static bool prefix_member(struct api_req *r, const char *key, struct np_cidr *out, bool *given)
{
	const char *text;
	*given = false;
	if (!api_string(r, key, 64, &text))
		return false;
	if (text == NULL)
		return true;
	if (!prefix_parse(text, out)) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_prefix",
		          "\"%s\" must be an IPv6 prefix from /%d to /%d, e.g. 2001:db8:1:2::/64", key,
		          PREFIX_MIN_LEN, PREFIX_MAX_LEN);
		return false;
	}
	*given = true;
	return true;
}

enum MHD_Result api_prefix(struct api_req *r)
{
	static const char *const keys[] = {"prefix", "old", NULL};
	struct prefix_req *q = api_ctx_new(r, sizeof(*q), prefix_req_free);
	bool given;
	if (q == NULL)
		return api_answer(r);
	if ((q->changes = json_array()) == NULL) {
		api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
		return api_answer(r);
	}
	if (!api_only_keys(r, keys) || !prefix_member(r, "prefix", &q->m.to, &given) ||
	    !prefix_member(r, "old", &q->m.from, &q->m.has_from))
		return api_answer(r);
	if (!given) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		          "send {\"prefix\": \"NEW/LEN\"} (and \"old\" to move only that one)");
		return api_answer(r);
	}
	return api_write(r, prefix_apply);
}
