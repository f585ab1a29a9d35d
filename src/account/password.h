/* SPDX-License-Identifier: MIT */
/* Passwords people choose: argon2id through libsodium's crypto_pwhash_str.
 *
 * Work factor: opslimit 3, memlimit 64 MiB (libsodium's "moderate" is 256 MiB; "interactive"
 * is 2 and 64 MiB). About 0.1 s of one core per check here; at most PASSWORD_PARALLEL
 * checks run at once, so a flood of sign-ins costs a bounded 2 x 64 MiB and waits (or is
 * refused) instead of exhausting memory. */
#ifndef NP_ACCOUNT_PASSWORD_H
#define NP_ACCOUNT_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "store/store.h"

#define PASSWORD_OPSLIMIT 3
#define PASSWORD_MEMLIMIT (64u * 1024 * 1024)
#define PASSWORD_MIN      10  /* characters (bytes) */
#define PASSWORD_MAX      256 /* longer input is refused before any work */
#define PASSWORD_PARALLEL 2

/* Whether pw (len bytes) may be a password: PASSWORD_MIN..PASSWORD_MAX bytes, valid UTF-8,
 * no control character. false with a message for a person in err. */
bool password_acceptable(const char *pw, size_t len, char *err, size_t errlen);

/* Hashes pw into out (STORE_PWHASH_MAX bytes). NP_EINVAL for an unacceptable password,
 * NP_ENOMEM when argon2id could not get its memory. */
int password_hash(const char *pw, size_t len, char out[STORE_PWHASH_MAX]) np_mustcheck;

/* Whether pw matches hash. With hash NULL or "" (no such account, or no password set) the
 * same work is done against a fixed hash and the answer is false, so the time taken says
 * nothing of whether the account exists. Blocks while PASSWORD_PARALLEL checks run. */
bool password_verify(const char *pw, size_t len, const char *hash);

#endif
