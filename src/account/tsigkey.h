/* SPDX-License-Identifier: MIT */
/* TSIG keys as credentials of an account (RFC 2136 UPDATE, and ACME clients through it).
 *
 * HMAC needs the secret itself, so a TSIG key cannot be kept as a hash like every other
 * secret. It is kept sealed instead (XSalsa20-Poly1305, libsodium's crypto_secretbox) with
 * a 256-bit sealing key in its own file in the data directory (TSIGKEY_SEAL_FILE, mode
 * 0600), never in the database: a copy of the database alone (a backup, a dump) gives no
 * usable key. The daemon reads the file before it drops privileges. */
#ifndef NP_ACCOUNT_TSIGKEY_H
#define NP_ACCOUNT_TSIGKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account/credential.h"
#include "common/err.h"
#include "dns/tsig.h"
#include "store/store.h"

#define TSIGKEY_SEAL_FILE  "tsig-seal.key"
#define TSIGKEY_SEAL_LEN   32
#define TSIGKEY_SECRET_MAX 64 /* a new key has as many bytes as its hash: 32 or 64 */

/* Reads the sealing key of the data directory into key; when the file does not exist and
 * create is set, makes it (exclusively, 0600: two processes making it at once agree on
 * one). NP_EIO with the reason logged when it cannot be read or is not private. */
int tsigkey_seal_key(const char *data_dir, bool create, uint8_t key[TSIGKEY_SEAL_LEN]) np_mustcheck;

/* A key's name as the store keeps it: a valid DNS name, lower case, no final dot. NP_EINVAL
 * with a message for a person in err. */
int tsigkey_name_normal(const char *text, char *out, size_t len, char *err,
                        size_t errlen) np_mustcheck;

/* A new key of user_id named keyname (normal form) with alg and the policy p (checked by
 * the caller): a fresh secret, sealed, and k filled for store_tsig_add. The secret in
 * base64 (what BIND's key files and knsupdate -y hold) goes to b64 (at least 96 bytes). */
int tsigkey_new(struct store_tsig *k, int64_t user_id, const char *keyname, enum tsig_alg alg,
                const struct policy *p, const uint8_t seal[TSIGKEY_SEAL_LEN], char *b64,
                size_t b64_len) np_mustcheck;

/* The key a received TSIG record names (its name in canonical wire form): one lookup by
 * name, then the secret unsealed into secret (TSIGKEY_SECRET_MAX bytes, wiped by the
 * caller) and key set up over it, the credential it stands for, and its token's hash (for
 * store_token_valid when the change commits). NP_ENOTFOUND when there is no such key (or
 * its row cannot be used), a store error otherwise. */
int tsigkey_find(struct store *st, const uint8_t seal[TSIGKEY_SEAL_LEN], const uint8_t *wire_name,
                 size_t wire_len, struct tsig_key *key, uint8_t secret[TSIGKEY_SECRET_MAX],
                 struct credential *cred, uint8_t token_hash[SECRET_HASH_LEN]) np_mustcheck;

#endif
