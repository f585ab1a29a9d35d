/* SPDX-License-Identifier: MIT */
/* Secret generation, hashing and comparison with libsodium. */
#include "common/secret.h"

#include <sodium.h>
#include <stdio.h>

#include "common/err.h"

/* Domain separation: the same bytes hashed for another purpose give another value. */
static const unsigned char hash_key[crypto_generichash_KEYBYTES] = "nameplate update secret v1";

int secret_lib_init(void)
{
	return sodium_init() < 0 ? NP_EFAILED : NP_OK;
}

void secret_generate(char *out)
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, SECRET_TEXT_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void secret_hash(const char *secret, size_t len, uint8_t out[SECRET_HASH_LEN])
{
	crypto_generichash(out, SECRET_HASH_LEN, (const unsigned char *)secret, len, hash_key,
			   sizeof(hash_key));
}

bool secret_hash_equal(const uint8_t a[SECRET_HASH_LEN], const uint8_t b[SECRET_HASH_LEN])
{
	return sodium_memcmp(a, b, SECRET_HASH_LEN) == 0;
}

void secret_fingerprint(const uint8_t hash[SECRET_HASH_LEN], char out[9])
{
	snprintf(out, 9, "%02x%02x%02x%02x", hash[0], hash[1], hash[2], hash[3]);
}
