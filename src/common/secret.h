/* SPDX-License-Identifier: MIT */
/* Generated secrets (admin and per-host update secrets): made with libsodium, stored only
 * as a hash, compared in constant time. They carry 256 bits of entropy, so a fast keyless
 * hash is enough (DESIGN: argon2id is for secrets people choose).
 * And the one reader of secrets kept in files, with the one permission rule they share. */
#ifndef NP_COMMON_SECRET_H
#define NP_COMMON_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/err.h"

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

/* Whether a file with this status may hold a secret: neither group nor others have any
 * access to it (mode & 077 is 0), and it belongs to the user reading it or to root (whoever
 * else owns it could open it up or change it at any time). */
bool secret_file_private(const struct stat *sb);

/* Reads a secret kept in a file: the client's secret files, the sensor's token file and the
 * mail relay's password_file all go through here. The file must be a regular file that is
 * secret_file_private, of fewer than outlen bytes; its trailing white space (the line end)
 * is dropped, and what is left must be one line of text: not empty, no NUL, no control
 * character. what names the file in messages ("secret file"), form says what it must hold
 * ("one line of text"). On success out holds the text and *outn its length; otherwise out
 * is wiped and err says why, naming the file: "secret file PATH is readable by others
 * (chmod 600)". NP_EIO when the file cannot be opened or read, NP_EINVAL otherwise. */
int secret_file_read(const char *path, const char *what, const char *form, char *out, size_t outlen,
                     size_t *outn, char *err, size_t errlen) np_mustcheck;

/* Reads a sealing key (len random bytes) from path into key; when the file does not exist
 * and create is set, makes it (exclusively, mode 0600: two processes making it at once agree
 * on one). what names it in messages ("tsig", "dnssec"). NP_EIO with the reason logged when
 * it cannot be read, has the wrong size or is not private. The TSIG secrets and the DNSSEC
 * private keys are kept sealed in the store with such keys, never in the store itself. */
int secret_key_file(const char *path, const char *what, bool create, uint8_t *key,
                    size_t len) np_mustcheck;

#endif
