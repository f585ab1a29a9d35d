/* SPDX-License-Identifier: MIT */
/* argon2id passwords with a bound on the checks that run at once. */
#include "account/password.h"

#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

_Static_assert(crypto_pwhash_STRBYTES <= STORE_PWHASH_MAX, "an argon2id string fits the store");

static sem_t slots;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static pthread_once_t decoy_once = PTHREAD_ONCE_INIT;
/* The hash checked when there is no account: made once, of a random password, with the
 * same parameters, so that its check costs what a real one does. */
static char decoy[crypto_pwhash_STRBYTES];

static void slots_init(void)
{
	sem_init(&slots, 0, PASSWORD_PARALLEL);
}

/* Made on the first check only: a tool that only hashes (nameplatectl) never pays for it. */
static void decoy_init(void)
{
	char pw[32];
	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str_alg(decoy, pw, sizeof(pw), PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
	                          crypto_pwhash_ALG_ARGON2ID13) != 0)
		decoy[0] = '\0';
	sodium_memzero(pw, sizeof(pw));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not text. */
	static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

bool password_acceptable(const char *pw, size_t len, char *err, size_t errlen)
{
	const unsigned char *s = (const unsigned char *)pw;
	if (len < PASSWORD_MIN || len > PASSWORD_MAX) {
		snprintf(err, errlen, "a password has %d to %d characters", PASSWORD_MIN,
		         PASSWORD_MAX);
		return false;
	}
	for (size_t i = 0; i < len;) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(err, errlen, "a password cannot hold control characters");
			return false;
		}
		size_t n = utf8_len(s + i, len - i);
		if (n == 0) {
			snprintf(err, errlen, "a password must be UTF-8 text");
			return false;
		}
		/* U+0080..U+009F, the C1 controls, are control characters too. */
		if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			snprintf(err, errlen, "a password cannot hold control characters");
			return false;
		}
		i += n;
	}
	return true;
}

int password_hash(const char *pw, size_t len, char out[STORE_PWHASH_MAX])
{
	char err[80];
	if (!password_acceptable(pw, len, err, sizeof(err)))
		return NP_EINVAL;
	pthread_once(&slots_once, slots_init);
	sem_wait(&slots);
	int rc = crypto_pwhash_str_alg(out, pw, len, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
	                               crypto_pwhash_ALG_ARGON2ID13);
	sem_post(&slots);
	return rc == 0 ? NP_OK : NP_ENOMEM;
}

bool password_verify(const char *pw, size_t len, const char *hash)
{
	pthread_once(&slots_once, slots_init);
	pthread_once(&decoy_once, decoy_init);
	bool real = hash != NULL && hash[0] != '\0';
	/* A too long password is refused before any work: that says only what its sender
	 * knows (its length), and costs nothing. */
	if (len > PASSWORD_MAX)
		return false;
	sem_wait(&slots);
	int rc = crypto_pwhash_str_verify(real ? hash : decoy, pw, len);
	sem_post(&slots);
	return real && rc == 0;
}
