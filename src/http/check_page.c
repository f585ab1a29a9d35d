/* SPDX-License-Identifier: MIT */
/* The check service's pages, form and cookie parsing, tokens and result mail. The pages'
 * HTML is in templates/check_*.html; here they get their values, which the renderer escapes,
 * whatever came from a request or from the observations. */
#include "http/check_page.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/template.h"

/* ---- forms, cookies, tokens ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int check_url_decode(const char *in, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen == 0)
		return NP_ETOOBIG;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return NP_EMALFORMED;
			int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return NP_EMALFORMED;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return NP_EMALFORMED;
		if (o + 1 >= outlen)
			return NP_ETOOBIG;
		out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

bool form_next_pair(const char *body, size_t len, size_t *pos, const char **key, size_t *klen,
                    const char **val, size_t *vlen)
{
	/* Each round consumes one pair and its '&': bounded by the body's length. */
	while (*pos < len) {
		size_t i = *pos, end = i;
		while (end < len && body[end] != '&')
			end++;
		*pos = end + 1;
		size_t plen = end - i;
		if (plen == 0)
			continue; /* "a=1&&b=2": an empty pair is no field */
		const char *pair = body + i;
		const char *eq = memchr(pair, '=', plen);
		*key = pair;
		*klen = eq != NULL ? (size_t)(eq - pair) : plen;
		*val = eq != NULL ? eq + 1 : pair + plen;
		*vlen = plen - *klen - (eq != NULL ? 1 : 0);
		return true;
	}
	return false;
}

int check_form_parse(const char *body, size_t len, struct check_form *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	size_t pos = 0, klen, vlen;
	const char *pair, *val;
	while (form_next_pair(body, len, &pos, &pair, &klen, &val, &vlen)) {
		char key[32];
		if (check_url_decode(pair, klen, key, sizeof(key)) < 0) {
			snprintf(why, whylen, "a field name is not valid");
			return NP_EMALFORMED;
		}
		char *dst;
		size_t dlen;
		bool *has;
		if (strcmp(key, "email") == 0) {
			dst = out->email, dlen = sizeof(out->email), has = &out->has_email;
		} else if (strcmp(key, "consent") == 0) {
			dst = out->consent, dlen = sizeof(out->consent), has = &out->has_consent;
		} else if (strcmp(key, "csrf") == 0) {
			dst = out->csrf, dlen = sizeof(out->csrf), has = &out->has_csrf;
		} else {
			/* Also every attempt to name an address: only the requester's is checked. */
			snprintf(why, whylen, "unknown field '%.24s'", key);
			return NP_EINVAL;
		}
		if (*has) {
			snprintf(why, whylen, "field '%s' given twice", key);
			return NP_EINVAL;
		}
		int n = check_url_decode(val, vlen, dst, dlen);
		if (n < 0) {
			snprintf(why, whylen, "field '%s' is %s", key,
			         n == NP_ETOOBIG ? "too long" : "not valid");
			return n;
		}
		*has = true;
	}
	return NP_OK;
}

bool check_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = header;
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if (vlen >= outlen)
				return false;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return true;
		}
		p = end;
	}
	return false;
}

void check_token_text(const uint8_t raw[CHECK_TOKEN_RAW], char out[CHECK_TOKEN_LEN + 1])
{
	sodium_bin2base64(out, CHECK_TOKEN_LEN + 1, raw, CHECK_TOKEN_RAW,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void check_token_new(char out[CHECK_TOKEN_LEN + 1])
{
	uint8_t raw[CHECK_TOKEN_RAW];
	randombytes_buf(raw, sizeof(raw));
	check_token_text(raw, out);
	sodium_memzero(raw, sizeof(raw));
}

bool check_token_valid(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ok || n >= CHECK_TOKEN_LEN)
			return false;
	}
	return n == CHECK_TOKEN_LEN;
}

const char *check_time_utc(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, len, "%lld", (long long)t);
	return out;
}

const char *check_verdict_words(const char *verdict)
{
	if (strcmp(verdict, "infected") == 0)
		return "infected";
	if (strcmp(verdict, "suspicious") == 0)
		return "suspicious";
	return "not observed";
}

/* What each rule (obs_rule_name) means, in words. */
static const char *rule_words(const char *rule)
{
	static const struct {
		const char *name, *words;
	} rules[] = {
	    {"mirai_syn", "Mirai-family scanning: at least two TCP SYN packets carrying the Mirai "
	                  "fingerprint (a sequence number equal to the destination address) "
	                  "reached our darknet sensors from this address."},
	    {"malware_download", "A session on one of our honeypots from this address tried to "
	                         "download malware."},
	    {"default_credentials", "This address tried to log in to a honeypot with a factory "
	                            "default password that the Mirai botnet uses."},
	    {"brute_force", "This address tried several logins on our honeypots (password "
	                    "guessing)."},
	    {"iot_port_scan", "This address probed ports that IoT devices use (such as telnet on "
	                      "23 and 2323), without the Mirai fingerprint."},
	    {"few_signs", "A single fingerprint packet or a few login attempts: too few to be "
	                  "sure."},
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rule, rules[i].name) == 0)
			return rules[i].words;
	return NULL;
}

/* ---- pages ---- */

/* Renders page (templates/<page>) with c into b, then frees c; b->err when that failed. */
static void render(struct buf *b, const char *page, struct tpl_ctx *c)
{
	tpl_set_bool(c, "nav", false); /* the layout's signed-in navigation: not here */
	if (c == NULL || tpl_page(b, page, c) != NP_OK)
		b->err = true;
	tpl_ctx_free(c);
}

void check_page_message(struct buf *b, const char *title, const char *text)
{
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "title", title);
	tpl_set(c, "text", text);
	render(b, "check_message.html", c);
}

void check_page_form(struct buf *b, const char *addr, const char *csrf, const char *error)
{
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "title", "Am I infected?");
	tpl_set(c, "addr", addr);
	tpl_set(c, "csrf", csrf);
	tpl_set(c, "error", error != NULL ? error : "");
	render(b, "check_form.html", c);
}

static int64_t jint(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

static void set_time(struct tpl_ctx *c, const char *name, int64_t t)
{
	char s[40];
	tpl_set(c, name, check_time_utc(t, s, sizeof(s)));
}

/* A count shown only when there is one: "" (false in a section) for 0. */
static void set_some(struct tpl_ctx *c, const char *name, int64_t n)
{
	if (n > 0)
		tpl_set_int(c, name, n);
	else
		tpl_set(c, name, "");
}

static void evidence_ports(struct tpl_ctx *c, const json_t *ev)
{
	const json_t *ports = json_object_get(ev, "ports");
	struct tpl_ctx *o = tpl_set_table(c, "ports", json_array_size(ports));
	if (o == NULL)
		return;
	size_t i;
	const json_t *p;
	json_array_foreach(ports, i, p)
	{
		struct tpl_ctx *row = tpl_add_row(o, "rows");
		tpl_set_int(row, "port", jint(p, "port"));
		tpl_set_int(row, "count", jint(p, "count"));
	}
	set_some(o, "other_ports", jint(ev, "other_ports"));
}

static void evidence_creds(struct tpl_ctx *c, const json_t *ev)
{
	const json_t *creds = json_object_get(ev, "credentials");
	struct tpl_ctx *o = tpl_set_table(c, "credentials", json_array_size(creds));
	if (o == NULL)
		return;
	size_t i;
	const json_t *cr;
	json_array_foreach(creds, i, cr)
	{
		struct tpl_ctx *row = tpl_add_row(o, "rows");
		tpl_set(row, "user", jstr(cr, "user"));
		tpl_set(row, "pass", jstr(cr, "pass"));
		tpl_set_int(row, "count", jint(cr, "count"));
		tpl_set(row, "default",
		        json_is_true(json_object_get(cr, "default")) ? "yes" : "no");
		set_time(row, "first", jint(cr, "first"));
		set_time(row, "last", jint(cr, "last"));
	}
}

static void evidence(struct tpl_ctx *c, const json_t *ev)
{
	int64_t first = jint(ev, "first_seen"), last = jint(ev, "last_seen");
	if (first != 0)
		set_time(c, "first_seen", first);
	else
		tpl_set(c, "first_seen", "-");
	if (last != 0)
		set_time(c, "last_seen", last);
	else
		tpl_set(c, "last_seen", "-");
	static const char *const counts[] = {"packets",        "fingerprint_hits",
	                                     "login_attempts", "default_credentials",
	                                     "downloads",      "iot_port_hits"};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		tpl_set_int(c, counts[i], jint(ev, counts[i]));
	evidence_ports(c, ev);
	evidence_creds(c, ev);
	const json_t *kinds = json_object_get(ev, "kinds");
	set_some(c, "ignored", jint(kinds, "backscatter") + jint(kinds, "research"));
}

void check_page_result(struct buf *b, const json_t *verdict, const char *token, const char *csrf,
                       int64_t checked_at, int64_t expires)
{
	const char *v = jstr(verdict, "verdict");
	const char *cls = strcmp(v, "infected") == 0     ? "infected"
	                  : strcmp(v, "suspicious") == 0 ? "suspicious"
	                                                 : "not_observed";
	bool observed = strcmp(cls, "not_observed") != 0;
	const json_t *win = json_object_get(verdict, "window");
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "title", "Am I infected? Your result");
	tpl_set(c, "verdict_class", cls);
	tpl_set(c, "address", jstr(verdict, "address"));
	tpl_set(c, "verdict_words", check_verdict_words(v));
	set_time(c, "checked_at", checked_at);
	set_time(c, "window_start", jint(win, "start"));
	set_time(c, "window_end", jint(win, "end"));
	set_time(c, "expires", expires);
	tpl_set_bool(c, "observed", observed);
	if (observed) {
		tpl_set_list(c, "rules");
		size_t i;
		const json_t *r;
		json_array_foreach(json_object_get(verdict, "rules"), i, r)
		{
			const char *name = json_string_value(r);
			const char *words = name != NULL ? rule_words(name) : NULL;
			if (words == NULL)
				words = name != NULL ? name : "?";
			tpl_set(tpl_add_row(c, "rules"), "text", words);
		}
		evidence(c, json_object_get(verdict, "evidence"));
	}
	tpl_set(c, "token", token);
	tpl_set(c, "csrf", csrf);
	render(b, "check_result.html", c);
}

/* ---- the mail ---- */

int check_mail_compose(const char *public_url, const char *token, const char *addr,
                       const char *verdict, const char *rule, int64_t asked, int64_t expires,
                       char **subject, char **body)
{
	struct buf s, m;
	char t1[40], t2[40];
	const char *words = check_verdict_words(verdict);
	size_t ulen = strlen(public_url);
	while (ulen > 0 && public_url[ulen - 1] == '/')
		ulen--;
	buf_init(&s, 1024);
	buf_init(&m, 16384);
	buf_printf(&s, "Nameplate check for %s: %s", addr, words);

	buf_printf(&m,
	           "Hello,\n\nthis is the result of the check you asked for.\n\n"
	           "Address: %s\nVerdict: %s",
	           addr, words);
	const char *why = rule_words(rule);
	if (strcmp(verdict, "not_observed") == 0)
		buf_puts(&m, " (our sensors saw no attack traffic from this address in the "
		             "last 24 hours; that does not prove your devices are clean)\n");
	else
		buf_printf(&m, " (%s)\n", why != NULL ? why : rule);
	buf_puts(&m, "\nThe details, the evidence and what to do are on this page:\n\n  ");
	buf_add(&m, public_url, ulen);
	buf_printf(&m, "/check/%s\n\n", token);
	buf_printf(&m,
	           "Open it in the same browser you used to ask: it opens only there. It "
	           "can be opened until %s.\n\n"
	           "The check was asked from the address %s at %s. If that was not you, "
	           "ignore this mail.\n\n"
	           "Note: several households can share one address (an apartment "
	           "building's uplink, carrier-grade NAT); the page explains what that "
	           "means for this result.\n\n-- \nNameplate\n",
	           check_time_utc(expires, t1, sizeof(t1)), addr,
	           check_time_utc(asked, t2, sizeof(t2)));
	if (s.err || m.err) {
		buf_free(&s);
		buf_free(&m);
		return NP_ENOMEM;
	}
	*subject = s.p;
	*body = m.p;
	return NP_OK;
}
