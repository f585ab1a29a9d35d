/* SPDX-License-Identifier: MIT */
/* The TOTP second factor (RFC 6238 over liboath's HOTP): new secrets, their text and
 * otpauth:// URI for authenticator apps, and the check of a code a person typed. */
#ifndef NP_ACCOUNT_TOTP_H
#define NP_ACCOUNT_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"

/* What every authenticator app understands without asking: HMAC-SHA1, six digits, a
 * step of thirty seconds from the Unix epoch. The URI states them all the same. */
#define TOTP_SECRET_LEN 20 /* bytes: the HMAC-SHA1 block RFC 4226 recommends */
#define TOTP_DIGITS     6
#define TOTP_PERIOD     30 /* seconds */
/* Steps accepted either side of the current one, for clocks a little off and the time a
 * person takes to type. */
#define TOTP_WINDOW 1
/* 20 bytes in base32 (RFC 4648): exactly 32 characters, no padding. */
#define TOTP_SECRET_TEXT_LEN 32
/* Longest typed code looked at ("123 456" with some spaces); longer input is refused
 * before any code is computed. */
#define TOTP_INPUT_MAX 16
/* Longest issuer or account name put into a URI (bytes, before percent-encoding). */
#define TOTP_LABEL_MAX 256

/* Initialises liboath and libsodium once for the process (pthread_once), whichever thread
 * comes first; every function below calls it itself, so calling it at start only moves
 * the work (and the failure) there. NP_OK, or NP_EFAILED when a library cannot start.
 * oath_done() is not called: liboath holds nothing that outlives the process (its
 * oath_done() frees nothing with the built-in crypto Debian's liboath0 uses), and a thread
 * still verifying at exit must not find it torn down. */
int totp_lib_init(void) np_mustcheck;

/* Fills secret with TOTP_SECRET_LEN random bytes (libsodium's randombytes_buf).
 * NP_OK, or NP_EFAILED when the libraries cannot start (secret is then zeroed). */
int totp_secret_new(uint8_t secret[TOTP_SECRET_LEN]) np_mustcheck;

/* Writes the secret in base32 (liboath's encoder), upper case, for a person to type into
 * an app: TOTP_SECRET_TEXT_LEN characters and a NUL into out. NP_OK, NP_ENOMEM or
 * NP_EFAILED; out is an empty string on failure. */
int totp_secret_text(const uint8_t secret[TOTP_SECRET_LEN],
                     char out[TOTP_SECRET_TEXT_LEN + 1]) np_mustcheck;

/* The secret back from its text (as totp_secret_text wrote it: 32 characters of the
 * upper-case base32 alphabet). NP_EMALFORMED for anything else, NP_EFAILED when the
 * libraries cannot start; secret is zeroed on failure. */
int totp_secret_parse(const char *text, uint8_t secret[TOTP_SECRET_LEN]) np_mustcheck;

/* Writes the key URI authenticator apps scan:
 *   otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * issuer and account (UTF-8, NUL-terminated) are percent-encoded: every byte but the
 * RFC 3986 unreserved ones (A-Z a-z 0-9 - . _ ~) becomes %XX, so a space is %20, '@' %40,
 * ':' %3A, '&' %26. Both must be non-empty and at most TOTP_LABEL_MAX bytes, and the issuer
 * may not hold ':' (apps split the label at its first colon, encoded or not, so the issuer
 * would be cut). NP_OK; NP_EINVAL for a refused issuer or account; NP_ETOOBIG when the URI
 * and its NUL do not fit in outlen bytes. out is an empty string on failure (outlen > 0).
 * The URI holds the secret: the caller wipes it after use. */
int totp_uri(const char *issuer, const char *account, const uint8_t secret[TOTP_SECRET_LEN],
             char *out, size_t outlen) np_mustcheck;

/* The time step of a Unix time: now / TOTP_PERIOD (times before 1970 give step 0). */
uint64_t totp_step(time_t now);

/* The code of one time step: TOTP_DIGITS ASCII digits and a NUL into out. For the tests
 * and the cross-check with other implementations; logins go through totp_verify().
 * NP_OK or NP_EFAILED. */
int totp_code(const uint8_t secret[TOTP_SECRET_LEN], uint64_t step,
              char out[TOTP_DIGITS + 1]) np_mustcheck;

/* Checks a code a person typed: input[0..len) must be exactly TOTP_DIGITS ASCII digits,
 * with any number of ASCII spaces before, between or after them ("287 082"); anything else
 * (another digit count, letters, a NUL, tabs, more than TOTP_INPUT_MAX bytes) is
 * NP_EMALFORMED before any code is computed. The code is compared, in constant time, with
 * the codes of the steps totp_step(now) - TOTP_WINDOW .. + TOTP_WINDOW, all of them
 * whatever matches.
 *
 * Replay: last_step is the step of the last code this secret accepted (0 when none was,
 * step 0 being in 1970). A code whose step is <= last_step is refused, so a code, or an
 * older one, cannot be used twice. On NP_OK *matched_step is the step that matched, which
 * the caller stores as the new last_step before it reports success; it is untouched
 * otherwise. NP_EDENIED for a wrong, expired or replayed code (the caller tells the person
 * only "wrong code"); NP_EFAILED when liboath fails. */
int totp_verify(const uint8_t secret[TOTP_SECRET_LEN], const char *input, size_t len, time_t now,
                uint64_t last_step, uint64_t *matched_step) np_mustcheck;

#endif
