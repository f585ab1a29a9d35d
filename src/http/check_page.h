/* SPDX-License-Identifier: MIT */
/* The check service's text work, apart from any connection: the pages (templates/check_*.html,
 * every value escaped by the template renderer), the form and cookie parsers, tokens, and
 * the result mail. Pure functions, so the unit tests reach all of it. */
#ifndef NP_HTTP_CHECK_PAGE_H
#define NP_HTTP_CHECK_PAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* A token or cookie value: 32 random bytes as unpadded base64url. */
#define CHECK_TOKEN_RAW 32
#define CHECK_TOKEN_LEN 43
/* Form fields: the mail address (RFC 5321 path limit), the consent flag, the CSRF value. */
#define CHECK_EMAIL_MAX 254
/* The largest page or mail the service makes; a result page is far below it. */
#define CHECK_PAGE_MAX (256 * 1024)

/* The next "key=value" pair of an application/x-www-form-urlencoded body from *pos (moved
 * past it), still encoded: key and val point into body. Empty pairs are skipped; false when
 * there is none left. */
bool form_next_pair(const char *body, size_t len, size_t *pos, const char **key, size_t *klen,
                    const char **val, size_t *vlen);

/* Decodes application/x-www-form-urlencoded text in[0..n): '+' is a space, %XX a byte.
 * Writes a NUL-terminated result to out. Returns its length, or NP_EMALFORMED (a bad or
 * truncated escape, an encoded NUL) or NP_ETOOBIG (does not fit outlen - 1). */
int check_url_decode(const char *in, size_t n, char *out, size_t outlen) np_mustcheck;

/* The POST forms of the check pages: only these fields may appear, each at most once. */
struct check_form {
	char email[CHECK_EMAIL_MAX + 1];
	char consent[8];
	char csrf[CHECK_TOKEN_LEN + 1];
	bool has_email, has_consent, has_csrf;
};
/* Parses body (urlencoded). NP_OK, or an error with why set to a short reason for the user
 * ("unknown field 'addr'": the name is cut and shown escaped by the caller). */
int check_form_parse(const char *body, size_t len, struct check_form *out, char *why,
                     size_t whylen) np_mustcheck;

/* Cookie header value "a=1; b=2": copies the value of the first cookie named name into out.
 * false when absent or too long. */
bool check_cookie_get(const char *header, const char *name, char *out, size_t outlen);

/* raw (CHECK_TOKEN_RAW bytes) as base64url without padding into out (CHECK_TOKEN_LEN + 1). */
void check_token_text(const uint8_t raw[CHECK_TOKEN_RAW], char out[CHECK_TOKEN_LEN + 1]);
/* A fresh random token or cookie value. */
void check_token_new(char out[CHECK_TOKEN_LEN + 1]);
/* Whether s has the form of a token (exactly CHECK_TOKEN_LEN base64url characters). */
bool check_token_valid(const char *s);

/* "2024-11-22 04:13:05 UTC" (out >= 32 bytes). */
const char *check_time_utc(int64_t t, char *out, size_t len);

/* "infected", "suspicious", "not observed" for the JSON verdict names. */
const char *check_verdict_words(const char *verdict);

/* Pages: complete HTML documents (http/template.h tpl_page), appended to b (initialized,
 * max CHECK_PAGE_MAX); a page that cannot be made leaves b->err set. Every value is shown
 * escaped. The start page with the form; error (may be NULL) is shown above it. */
void check_page_form(struct buf *b, const char *addr, const char *csrf, const char *error);
/* A short page with a title and one paragraph. */
void check_page_message(struct buf *b, const char *title, const char *text);
/* The result page from the stored verdict JSON (observe/codec.h obs_verdict_json), with the
 * "check again" form posting to /check/<token>. */
void check_page_result(struct buf *b, const json_t *verdict, const char *token, const char *csrf,
                       int64_t checked_at, int64_t expires);

/* The result mail (plain text, LF line ends; the mailer makes them CRLF). Its link is
 * <public_url>/check/<token>; it never names a sensor. *subject and *body are malloc'd.
 * Returns NP_OK or NP_ENOMEM. */
int check_mail_compose(const char *public_url, const char *token, const char *addr,
                       const char *verdict, const char *rule, int64_t asked, int64_t expires,
                       char **subject, char **body) np_mustcheck;

#endif
