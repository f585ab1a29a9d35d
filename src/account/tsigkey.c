/* SPDX-License-Identifier: MIT */
/* TSIG keys: the sealing key's file, sealing, making and finding keys. */
#include "account/tsigkey.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/secret.h"
#include "common/str.h"
#include "dns/name.h"

/* What a sealed secret is: nonce, then the box (MAC and the secret). */
#define SEALED_LEN(n) (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + (n))

int tsigkey_seal_key(const char *data_dir, bool create, uint8_t key[TSIGKEY_SEAL_LEN])
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir, TSIGKEY_SEAL_FILE) >=
	    sizeof(path))
		return NP_EIO;
	return secret_key_file(path, "tsig", create, key, TSIGKEY_SEAL_LEN);
}

int tsigkey_name_normal(const char *text, char *out, size_t len, char *err, size_t errlen)
{
	uint8_t wire[DNS_NAME_MAX];
	int n = dns_name_from_text(text, wire, sizeof(wire));
	if (n <= 1 || dns_name_to_text(wire, (size_t)n, out, len) < 0) {
		snprintf(err, errlen,
		         "a key name is a DNS name of letters, digits, '-' and '_' labels "
		         "(e.g. home.dyn.example or acme-key)");
		return NP_EINVAL;
	}
	return NP_OK;
}

int tsigkey_new(struct store_tsig *k, int64_t user_id, const char *keyname, enum tsig_alg alg,
                const struct policy *p, const uint8_t seal[TSIGKEY_SEAL_LEN], char *b64,
                size_t b64_len)
{
	uint8_t secret[TSIGKEY_SECRET_MAX];
	size_t n = tsig_mac_len(alg);
	char unused[SECRET_TEXT_LEN + 1];

	if (b64_len < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL))
		return NP_EINVAL;
	memset(k, 0, sizeof(*k));
	/* The token's own secret is thrown away: its hash is never matched by anything. */
	credential_token_new(&k->token, user_id, STORE_TOKEN_TSIG, unused);
	sodium_memzero(unused, sizeof(unused));
	/* The token's label is the key's name, where it fits (lists show it). */
	if (strlen(keyname) < sizeof(k->token.name))
		np_strlcpy(k->token.name, keyname, sizeof(k->token.name));
	k->token.expires = p->expires;
	int ret = policy_format(p, k->token.names, sizeof(k->token.names), k->token.types,
	                        sizeof(k->token.types), k->token.sources, sizeof(k->token.sources));
	if (ret != NP_OK)
		return ret;
	np_strlcpy(k->keyname, keyname, sizeof(k->keyname));
	k->alg = (int)alg;

	randombytes_buf(secret, n);
	uint8_t *nonce = k->sealed;
	randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(k->sealed + crypto_secretbox_NONCEBYTES, secret, n, nonce, seal);
	k->sealed_len = SEALED_LEN(n);
	sodium_bin2base64(b64, b64_len, secret, n, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(secret, sizeof(secret));
	return NP_OK;
}

int tsigkey_find(struct store *st, const uint8_t seal[TSIGKEY_SEAL_LEN], const uint8_t *wire_name,
                 size_t wire_len, struct tsig_key *key, uint8_t secret[TSIGKEY_SECRET_MAX],
                 struct credential *cred, uint8_t token_hash[SECRET_HASH_LEN])
{
	static _Thread_local struct store_tsig k; /* big: kept off the stack */
	char name[CFG_NAME_MAX];

	if (dns_name_to_text(wire_name, wire_len, name, sizeof(name)) < 0)
		return NP_ENOTFOUND;
	int ret = store_tsig_get(st, name, &k);
	if (ret != NP_OK)
		return ret;
	ret = NP_ENOTFOUND;
	if (k.token.kind != STORE_TOKEN_TSIG ||
	    (k.alg != TSIG_HMAC_SHA256 && k.alg != TSIG_HMAC_SHA512))
		goto out;
	size_t n = tsig_mac_len((enum tsig_alg)k.alg);
	if (k.sealed_len != SEALED_LEN(n) ||
	    crypto_secretbox_open_easy(secret, k.sealed + crypto_secretbox_NONCEBYTES,
	                               k.sealed_len - crypto_secretbox_NONCEBYTES, k.sealed,
	                               seal) != 0) {
		/* Another data directory's sealing key, or a changed row: never usable. */
		log_err("tsig: key %s cannot be unsealed with this server's %s", name,
		        TSIGKEY_SEAL_FILE);
		goto out;
	}
	ret = credential_from_token(st, &k.token, cred);
	if (ret != NP_OK)
		goto out;
	memcpy(token_hash, k.token.secret_hash, SECRET_HASH_LEN);
	memset(key, 0, sizeof(*key));
	memcpy(key->name, wire_name, wire_len);
	key->name_len = wire_len;
	key->alg = (enum tsig_alg)k.alg;
	key->secret = secret;
	key->secret_len = n;
out:
	sodium_memzero(&k, sizeof(k));
	return ret;
}
