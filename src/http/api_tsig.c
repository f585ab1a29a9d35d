/* SPDX-License-Identifier: MIT */
/* /api/v1/tsig: an account's TSIG keys for RFC 2136 UPDATE (docs/dns-update.md), the same
 * as nameplatectl tsig add|list|del. The secret is answered once, when the key is made, as
 * itself and as a BIND key file that nsupdate -k and knsupdate -k read. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "account/tsigkey.h"
#include "common/str.h"
#include "http/api.h"
#include "http/http_int.h"

static json_t *key_json(const struct store_tsig *k)
{
	const struct store_token *t = &k->token;
	json_t *policy = json_pack("{s:o,s:o,s:o,s:I}", "names", api_list_json(t->names), "types",
	                           api_list_json(t->types), "sources", api_list_json(t->sources),
	                           "expires", (json_int_t)t->expires);
	enum tsig_alg alg = k->alg == TSIG_HMAC_SHA512 ? TSIG_HMAC_SHA512 : TSIG_HMAC_SHA256;
	return json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:s}", "name", k->keyname, "algorithm",
	                 tsig_alg_name(alg), "token_id", t->id, "policy", policy, "created",
	                 (json_int_t)t->created, "last_used", (json_int_t)t->last_used,
	                 "last_source", t->last_source);
}

static int key_row(const struct store_tsig *k, void *ctx)
{
	return json_array_append_new(ctx, key_json(k)) == 0 ? 0 : NP_ENOMEM;
}

static int tsig_list(struct api_req *r, struct store *st)
{
	json_t *list = json_array();
	if (list == NULL)
		return NP_ENOMEM;
	int ret = store_tsig_list(st, r->cred.user_id, key_row, list);
	if (ret != NP_OK) {
		json_decref(list);
		return ret;
	}
	return api_ok(r, MHD_HTTP_OK, json_pack("{s:o}", "keys", list));
}

enum MHD_Result api_tsig_list(struct api_req *r)
{
	return api_read(r, tsig_list);
}

/* The key being made. */
struct tsig_edit {
	struct store_tsig k;
	struct policy p;
	char keyname[CFG_NAME_MAX];
	enum tsig_alg alg;
};

static void tsig_edit_free(void *p)
{
	if (p != NULL)
		sodium_memzero(p, sizeof(struct tsig_edit));
	free(p);
}

static int count_row(const struct store_token *t, void *ctx)
{
	if (t->kind == STORE_TOKEN_API || t->kind == STORE_TOKEN_TSIG)
		(*(unsigned *)ctx)++;
	return 0;
}

static int tsig_create(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	struct tsig_edit *e = r->ctx;
	unsigned n = 0, max = writer_txn_config(txn)->accounts_max_tokens;
	int ret = store_token_list(st, r->cred.user_id, -1, count_row, &n);
	if (ret != NP_OK)
		return ret;
	if (n >= max)
		return api_error(r, MHD_HTTP_FORBIDDEN, "limit",
		                 "an account may have at most %u tokens and keys", max);
	char b64[128];
	ret = tsigkey_new(&e->k, r->cred.user_id, e->keyname, e->alg, &e->p, http_tsig_seal(r->hs),
	                  b64, sizeof(b64));
	if (ret == NP_OK)
		ret = store_tsig_add(st, &e->k);
	if (ret == NP_EEXIST) {
		sodium_memzero(b64, sizeof(b64));
		return api_error(r, MHD_HTTP_CONFLICT, "exists", "a key named %s exists already",
		                 e->keyname);
	}
	if (ret != NP_OK) {
		sodium_memzero(b64, sizeof(b64));
		return ret;
	}
	char file[CFG_NAME_MAX + 192];
	snprintf(file, sizeof(file), "key \"%s\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};\n",
	         e->keyname, tsig_alg_name(e->alg), b64);
	json_t *o = key_json(&e->k);
	/* The secret is answered this once; the store keeps it sealed. */
	if (o != NULL) {
		json_object_set_new(o, "secret", json_string(b64));
		json_object_set_new(o, "key_file", json_string(file));
	}
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(file, sizeof(file));
	return api_ok(r, MHD_HTTP_CREATED, o);
}

enum MHD_Result api_tsig_create(struct api_req *r)
{
	static const char *const keys[] = {"name", "algorithm", "policy", NULL};
	struct tsig_edit *e = api_ctx_new(r, sizeof(*e), tsig_edit_free);
	if (e == NULL)
		return api_answer(r);
	const char *name, *alg;
	bool given;
	char err[160];
	if (!api_only_keys(r, keys) || !api_string(r, "name", CFG_NAME_MAX - 1, &name) ||
	    !api_string(r, "algorithm", 32, &alg))
		return api_answer(r);
	if (name == NULL) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		          "send {\"name\": KEYNAME, \"algorithm\": ..., \"policy\": {...}}");
		return api_answer(r);
	}
	if (tsigkey_name_normal(name, e->keyname, sizeof(e->keyname), err, sizeof(err)) != NP_OK) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_name", "%s", err);
		return api_answer(r);
	}
	e->alg = TSIG_HMAC_SHA256;
	if (alg != NULL && tsig_alg_from_text(alg, &e->alg) != NP_OK) {
		api_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "bad_algorithm",
		          "the algorithm is hmac-sha256 or hmac-sha512");
		return api_answer(r);
	}
	if (!api_policy_body(r, &e->p, false, &given))
		return api_answer(r);
	return api_write(r, tsig_create);
}

static int tsig_delete(struct api_req *r, struct store *st, struct writer_txn *txn)
{
	(void)txn;
	char keyname[CFG_NAME_MAX], err[160];
	static _Thread_local struct store_tsig k;
	int ret = tsigkey_name_normal(r->segs[1], keyname, sizeof(keyname), err, sizeof(err));
	if (ret == NP_OK)
		ret = store_tsig_get(st, keyname, &k);
	/* Another account's key is as absent as a key that does not exist. */
	if (ret == NP_EINVAL || ret == NP_ENOTFOUND ||
	    (ret == NP_OK && k.token.user_id != r->cred.user_id))
		ret = api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such key");
	else if (ret == NP_OK)
		ret = store_tsig_del(st, keyname);
	if (ret == NP_OK)
		ret = api_ok(r, MHD_HTTP_NO_CONTENT, NULL);
	sodium_memzero(&k, sizeof(k));
	return ret;
}

enum MHD_Result api_tsig_delete(struct api_req *r)
{
	return api_write(r, tsig_delete);
}
