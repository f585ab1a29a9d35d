/* SPDX-License-Identifier: MIT */
/* Tokens as credentials, and the decision. */
#include "account/credential.h"

#include <sodium.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

void credential_token_new(struct store_token *t, int64_t user_id, enum store_token_kind kind,
                          char secret[SECRET_TEXT_LEN + 1])
{
	uint8_t id[6];
	memset(t, 0, sizeof(*t));
	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(t->id, sizeof(t->id), id, sizeof(id));
	secret_generate(secret);
	secret_hash(secret, SECRET_TEXT_LEN, t->secret_hash);
	t->user_id = user_id;
	t->kind = kind;
	t->created = time_now();
}

int credential_from_hash(struct store *st, const uint8_t hash[SECRET_HASH_LEN],
                         struct credential *out)
{
	struct store_token t;
	memset(out, 0, sizeof(*out));
	int ret = store_token_by_hash(st, hash, &t);
	if (ret != NP_OK)
		return ret;
	/* The index found it by equality already; the compare over the whole hash keeps the
	 * rule "constant time over the whole secret" true whatever the index does. A TSIG
	 * key's hash is random and matches nothing presented, but it is refused here too: a
	 * TSIG key signs, it is never a bearer secret. */
	if (!secret_hash_equal(t.secret_hash, hash) || t.kind == STORE_TOKEN_TSIG)
		return NP_ENOTFOUND;
	return credential_from_token(st, &t, out);
}

int credential_from_token(struct store *st, const struct store_token *tok, struct credential *out)
{
	struct store_user u;
	memset(out, 0, sizeof(*out));
	int ret = store_user_get_id(st, tok->user_id, &u);
	if (ret != NP_OK)
		return ret == NP_ENOTFOUND ? NP_ENOTFOUND : ret;
	char err[160];
	ret = policy_parse(tok->names, tok->types, tok->sources, tok->expires, tok->manage,
	                   &out->policy, err, sizeof(err));
	if (ret != NP_OK) {
		/* Only the store's own rows reach here: a broken one refuses, never widens. */
		log_err("token %s: unusable policy: %s", tok->id, err);
		return NP_ENOTFOUND;
	}
	out->user_id = u.id;
	np_strlcpy(out->user, u.name, sizeof(out->user));
	out->role = u.role;
	out->state = u.state;
	np_strlcpy(out->token_id, tok->id, sizeof(out->token_id));
	out->kind = tok->kind;
	explicit_bzero(&u, sizeof(u));
	return NP_OK;
}

enum policy_verdict credential_usable(const struct credential *c, const struct np_addr *source,
                                      int64_t now)
{
	if (c->state != STORE_USER_ACTIVE)
		return POLICY_ACCOUNT;
	/* The policy's own checks without a name: expiry and source. */
	struct policy p = c->policy;
	p.n_names = 0;
	return policy_allows(&p, "", 0, source, now);
}

enum policy_verdict credential_may(const struct credential *c, int64_t owner_id, const char *fqdn,
                                   uint16_t type, const struct np_addr *source, int64_t now)
{
	enum policy_verdict v = credential_usable(c, source, now);
	if (v != POLICY_OK)
		return v;
	if (owner_id == 0 || owner_id != c->user_id)
		return POLICY_OWNER;
	return policy_allows(&c->policy, fqdn, type, source, now);
}
