/* SPDX-License-Identifier: MIT */
/* Generated secrets (admin and per-host update secrets): made with libsodium, stored only
 * as a hash, compared in constant time. They carry 256 bits of entropy, so a fast keyless
 * hash is enough (DESIGN: argon2id is for secrets people choose). */
#ifndef NP_COMMON_SECRET_H
#define NP_COMMON_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_HASH_LEN 32
/* 32 random bytes in unpadded base64url: 43 characters. */
#define SECRET_TEXT_LEN 43
/* Longest password accepted for comparison; longer input is refused before hashing. */
#define SECRET_MAX_INPUT 256

/* Initialises libsodium; call once at start. Returns NP_OK or NP_EFAILED. */
int secret_lib_init(void);
/* Writes a new secret (SECRET_TEXT_LEN chars + NUL) into out (size >= SECRET_TEXT_LEN+1). */
void secret_generate(char *out);
/* Hashes a presented secret (BLAKE2b-256 with a domain-separation key). */
void secret_hash(const char *secret, size_t len, uint8_t out[SECRET_HASH_LEN]);
/* Constant-time equality of two hashes. */
bool secret_hash_equal(const uint8_t a[SECRET_HASH_LEN], const uint8_t b[SECRET_HASH_LEN]);
/* A short, non-reversible fingerprint for logs (8 hex chars + NUL). */
void secret_fingerprint(const uint8_t hash[SECRET_HASH_LEN], char out[9]);

#endif
