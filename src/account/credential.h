/* SPDX-License-Identifier: MIT */
/* Credentials: what a presented token proves (an account, a token id, its policy), and the
 * one function every interface that changes data asks before it does. */
#ifndef NP_ACCOUNT_CREDENTIAL_H
#define NP_ACCOUNT_CREDENTIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "account/policy.h"
#include "common/secret.h"
#include "store/store.h"

/* How long a sign-in lasts (web UI and API login), and how long sessions are listed. */
#define CREDENTIAL_SESSION_SECONDS (12 * 3600)

struct credential {
	int64_t user_id;
	char user[64];
	enum store_user_role role;
	enum store_user_state state;
	char token_id[STORE_TOKEN_ID_MAX];
	enum store_token_kind kind;
	struct policy policy;
};

/* A new token of user_id: a fresh secret (written to secret, SECRET_TEXT_LEN + 1 bytes; to
 * be shown once) and t filled for store_token_add with a fresh id, the secret's hash, kind
 * and now as its creation time. Policy, name and expiry are the caller's to set. */
void credential_token_new(struct store_token *t, int64_t user_id, enum store_token_kind kind,
                          char secret[SECRET_TEXT_LEN + 1]);

/* Who the token with this secret hash (secret_hash() of what was presented) is: one lookup
 * by the hash in the store's unique index, then a constant-time compare of the whole hash.
 * NP_ENOTFOUND when no token has it; a store error otherwise. It does not judge: expiry,
 * source and the account's state are credential_usable's. */
int credential_from_hash(struct store *st, const uint8_t hash[SECRET_HASH_LEN],
                         struct credential *out) np_mustcheck;

/* The credential a token found by other means (a TSIG key by its name) stands for: its
 * account and its parsed policy. NP_ENOTFOUND when the account is gone or the stored policy
 * does not parse (a broken row refuses, never widens). */
int credential_from_token(struct store *st, const struct store_token *t,
                          struct credential *out) np_mustcheck;
/* Whether c may be used at all, from source at now: the account is active, the token has
 * not expired, source is inside its prefixes. POLICY_OK or the reason. */
enum policy_verdict credential_usable(const struct credential *c, const struct np_addr *source,
                                      int64_t now);

/* The one decision: may c change type (0: the host itself) at fqdn, which belongs to the
 * account owner_id (0: no account, or no such host), from source at now? Every interface
 * asks this; the table in tests/unit/test_account_credential.c is its specification. */
enum policy_verdict credential_may(const struct credential *c, int64_t owner_id, const char *fqdn,
                                   uint16_t type, const struct np_addr *source, int64_t now);

#endif
