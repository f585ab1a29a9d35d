/* SPDX-License-Identifier: MIT */
/* TOTP (RFC 6238): liboath computes the codes and the base32 text, libsodium makes the
 * secrets and compares in constant time; this file holds the rules around them. */
#include "account/totp.h"

#include <oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status = NP_EFAILED;

static void lib_start(void)
{
	if (sodium_init() < 0 || oath_init() != OATH_OK)
		return;
	lib_status = NP_OK;
}

int totp_lib_init(void)
{
	if (pthread_once(&lib_once, lib_start) != 0)
		return NP_EFAILED;
	return lib_status;
}

int totp_secret_new(uint8_t secret[TOTP_SECRET_LEN])
{
	if (totp_lib_init() != NP_OK) {
		memset(secret, 0, TOTP_SECRET_LEN);
		return NP_EFAILED;
	}
	randombytes_buf(secret, TOTP_SECRET_LEN);
	return NP_OK;
}

int totp_secret_text(const uint8_t secret[TOTP_SECRET_LEN], char out[TOTP_SECRET_TEXT_LEN + 1])
{
	out[0] = '\0';
	if (totp_lib_init() != NP_OK)
		return NP_EFAILED;
	char *text = NULL;
	size_t n = 0;
	int rc = oath_base32_encode((const char *)secret, TOTP_SECRET_LEN, &text, &n);
	if (rc != OATH_OK)
		return rc == OATH_MALLOC_ERROR ? NP_ENOMEM : NP_EFAILED;
	/* 160 bits are 32 whole base32 characters: liboath adds no '=' padding here. */
	int ret = NP_EFAILED;
	if (n == TOTP_SECRET_TEXT_LEN) {
		memcpy(out, text, TOTP_SECRET_TEXT_LEN);
		out[TOTP_SECRET_TEXT_LEN] = '\0';
		ret = NP_OK;
	}
	/* liboath's buffer held the secret too. */
	sodium_memzero(text, n);
	free(text);
	return ret;
}

int totp_secret_parse(const char *text, uint8_t secret[TOTP_SECRET_LEN])
{
	memset(secret, 0, TOTP_SECRET_LEN);
	if (totp_lib_init() != NP_OK)
		return NP_EFAILED;
	if (strlen(text) != TOTP_SECRET_TEXT_LEN)
		return NP_EMALFORMED;
	for (size_t i = 0; i < TOTP_SECRET_TEXT_LEN; i++) {
		char c = text[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
			return NP_EMALFORMED;
	}
	char *bin = NULL;
	size_t n = 0;
	int rc = oath_base32_decode(text, TOTP_SECRET_TEXT_LEN, &bin, &n);
	int ret = rc == OATH_OK && n == TOTP_SECRET_LEN ? NP_OK : NP_EMALFORMED;
	if (ret == NP_OK)
		memcpy(secret, bin, TOTP_SECRET_LEN);
	if (bin != NULL) {
		sodium_memzero(bin, n);
		free(bin);
	}
	return ret;
}

/* Appends s[0..len) to out at *pos, percent-encoding all but RFC 3986's unreserved bytes.
 * False when it does not fit (out keeps room for the NUL). */
static bool put_encoded(char *out, size_t outlen, size_t *pos, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		             (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		size_t need = plain ? 1 : 3;
		if (outlen - *pos <= need)
			return false;
		if (plain) {
			out[(*pos)++] = (char)c;
		} else {
			out[(*pos)++] = '%';
			out[(*pos)++] = hex[c >> 4];
			out[(*pos)++] = hex[c & 0xf];
		}
	}
	return true;
}

static bool put_plain(char *out, size_t outlen, size_t *pos, const char *s)
{
	size_t len = strlen(s);
	if (outlen - *pos <= len)
		return false;
	memcpy(out + *pos, s, len);
	*pos += len;
	return true;
}

int totp_uri(const char *issuer, const char *account, const uint8_t secret[TOTP_SECRET_LEN],
             char *out, size_t outlen)
{
	if (outlen == 0)
		return NP_ETOOBIG;
	out[0] = '\0';
	size_t ilen = strlen(issuer), alen = strlen(account);
	if (ilen == 0 || ilen > TOTP_LABEL_MAX || alen == 0 || alen > TOTP_LABEL_MAX ||
	    memchr(issuer, ':', ilen) != NULL)
		return NP_EINVAL;
	char text[TOTP_SECRET_TEXT_LEN + 1];
	int ret = totp_secret_text(secret, text);
	if (ret != NP_OK)
		return ret;
	size_t pos = 0;
	bool ok = put_plain(out, outlen, &pos, "otpauth://totp/") &&
	          put_encoded(out, outlen, &pos, issuer, ilen) &&
	          put_plain(out, outlen, &pos, ":") &&
	          put_encoded(out, outlen, &pos, account, alen) &&
	          put_plain(out, outlen, &pos, "?secret=") && put_plain(out, outlen, &pos, text) &&
	          put_plain(out, outlen, &pos, "&issuer=") &&
	          put_encoded(out, outlen, &pos, issuer, ilen) &&
	          put_plain(out, outlen, &pos, "&algorithm=SHA1&digits=6&period=30");
	sodium_memzero(text, sizeof(text));
	if (!ok) {
		sodium_memzero(out, pos);
		out[0] = '\0';
		return NP_ETOOBIG;
	}
	out[pos] = '\0';
	return NP_OK;
}

uint64_t totp_step(time_t now)
{
	return now < 0 ? 0 : (uint64_t)now / TOTP_PERIOD;
}

int totp_code(const uint8_t secret[TOTP_SECRET_LEN], uint64_t step, char out[TOTP_DIGITS + 1])
{
	out[0] = '\0';
	if (totp_lib_init() != NP_OK)
		return NP_EFAILED;
	/* RFC 6238 is RFC 4226's HOTP with the time step as the counter. */
	if (oath_hotp_generate((const char *)secret, TOTP_SECRET_LEN, step, TOTP_DIGITS, false,
	                       OATH_HOTP_DYNAMIC_TRUNCATION, out) != OATH_OK) {
		out[0] = '\0';
		return NP_EFAILED;
	}
	return NP_OK;
}

/* Takes the digits out of what a person typed: exactly TOTP_DIGITS ASCII digits, with
 * spaces anywhere around them and nothing else. */
static bool typed_digits(const char *input, size_t len, char digits[TOTP_DIGITS])
{
	if (len > TOTP_INPUT_MAX)
		return false;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = input[i];
		if (c == ' ')
			continue;
		if (c < '0' || c > '9' || n == TOTP_DIGITS)
			return false;
		digits[n++] = c;
	}
	return n == TOTP_DIGITS;
}

/* Every step of the window is computed and compared, whichever matches, so the time taken
 * says nothing of which step (let alone which digits) matched; sodium_memcmp looks at all
 * six digits each time. The one branch on a match is the replay rule, which depends on
 * the step, not on the digits. */
int totp_verify(const uint8_t secret[TOTP_SECRET_LEN], const char *input, size_t len, time_t now,
                uint64_t last_step, uint64_t *matched_step)
{
	char digits[TOTP_DIGITS];
	if (!typed_digits(input, len, digits)) {
		sodium_memzero(digits, sizeof(digits));
		return NP_EMALFORMED;
	}
	uint64_t current = totp_step(now);
	bool found = false;
	uint64_t found_step = 0;
	int ret = NP_OK;
	for (int d = -TOTP_WINDOW; d <= TOTP_WINDOW; d++) {
		/* No step before 0 (the epoch) and none past the counter's end. */
		if ((d < 0 && current < (uint64_t)-d) ||
		    (d > 0 && current > UINT64_MAX - (uint64_t)d))
			continue;
		uint64_t step = d < 0 ? current - (uint64_t)-d : current + (uint64_t)d;
		char code[TOTP_DIGITS + 1];
		if (totp_code(secret, step, code) != NP_OK) {
			ret = NP_EFAILED;
			continue;
		}
		bool same = sodium_memcmp(code, digits, TOTP_DIGITS) == 0;
		sodium_memzero(code, sizeof(code));
		/* The oldest step not yet used wins: a code equal by chance for two steps
		 * leaves the later one usable. */
		if (same && step > last_step && !found) {
			found = true;
			found_step = step;
		}
	}
	sodium_memzero(digits, sizeof(digits));
	if (ret != NP_OK)
		return ret;
	if (!found)
		return NP_EDENIED;
	*matched_step = found_step;
	return NP_OK;
}
