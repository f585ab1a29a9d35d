/* SPDX-License-Identifier: MIT */
/* The check service's pages, form and cookie parsing, tokens and result mail. Everything
 * that comes from a request or from the observations is escaped where it is written. */
#include "http/check_page.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the buffer ---- */

void check_buf_init(struct check_buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->err = false;
}

void check_buf_free(struct check_buf *b)
{
	free(b->p);
	check_buf_init(b, b->max);
}

/* Room for n more bytes and the NUL. */
static bool reserve(struct check_buf *b, size_t n)
{
	if (b->err)
		return false;
	if (n > b->max || b->len > b->max - n) {
		b->err = true;
		return false;
	}
	if (b->len + n + 1 <= b->cap)
		return true;
	size_t cap = b->cap > 0 ? b->cap : 1024;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->err = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void check_buf_add(struct check_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void check_buf_puts(struct check_buf *b, const char *s)
{
	check_buf_add(b, s, strlen(s));
}

void check_buf_printf(struct check_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		check_buf_add(b, small, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void check_buf_html(struct check_buf *b, const char *s)
{
	const char *run = s;
	for (const char *p = s; *p != '\0'; p++) {
		const char *ent;
		switch (*p) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&#39;";
			break;
		default:
			continue;
		}
		check_buf_add(b, run, (size_t)(p - run));
		check_buf_puts(b, ent);
		run = p + 1;
	}
	check_buf_puts(b, run);
}

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

int check_form_parse(const char *body, size_t len, struct check_form *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	/* One pass over the pairs; each is bounded by the body's length. */
	while (i < len) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		const char *pair = body + i;
		size_t plen = end - i;
		i = end + 1;
		if (plen == 0)
			continue;
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq != NULL ? (size_t)(eq - pair) : plen;
		const char *val = eq != NULL ? eq + 1 : pair + plen;
		size_t vlen = plen - klen - (eq != NULL ? 1 : 0);
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

static const char *const csp_style =
    "body{font-family:sans-serif;max-width:44em;margin:2em auto;padding:0 1em;"
    "line-height:1.45;color:#222}"
    "h1{font-size:1.5em}table{border-collapse:collapse}"
    "td,th{border:1px solid #bbb;padding:.2em .6em;text-align:left}"
    ".v{font-size:1.3em;font-weight:bold;padding:.6em;border-radius:.3em}"
    ".infected{background:#fdd}.suspicious{background:#ffd}.not_observed{background:#eef}"
    ".note{background:#f4f4f4;padding:.6em}label{display:block;margin:.6em 0}";

static void page_head(struct check_buf *b, const char *title)
{
	check_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                  "<meta name=\"viewport\" content=\"width=device-width\"><title>");
	check_buf_html(b, title);
	check_buf_puts(b, "</title><style>");
	check_buf_puts(b, csp_style);
	check_buf_puts(b, "</style></head><body>\n<h1>");
	check_buf_html(b, title);
	check_buf_puts(b, "</h1>\n");
}

static void page_tail(struct check_buf *b)
{
	check_buf_puts(b, "</body></html>\n");
}

void check_page_message(struct check_buf *b, const char *title, const char *text)
{
	page_head(b, title);
	check_buf_puts(b, "<p>");
	check_buf_html(b, text);
	check_buf_puts(b, "</p>\n<p><a href=\"/check\">Back to the check</a></p>\n");
	page_tail(b);
}

void check_page_form(struct check_buf *b, const char *addr, const char *csrf, const char *error)
{
	page_head(b, "Am I infected?");
	if (error != NULL) {
		check_buf_puts(b, "<p class=\"v infected\">");
		check_buf_html(b, error);
		check_buf_puts(b, "</p>\n");
	}
	check_buf_puts(b, "<p>Devices such as routers, cameras and video recorders with old "
	                  "firmware or default passwords are taken over by botnets such as Mirai. "
	                  "An infected device scans the internet for more victims. Our honeypots "
	                  "and darknet sensors (addresses that host nothing, so anything that "
	                  "arrives there is unsolicited) record that traffic.</p>\n"
	                  "<p>This check looks up what our sensors saw coming from your "
	                  "connection's address <strong>");
	check_buf_html(b, addr);
	check_buf_puts(b, "</strong> in the last 24 hours. It checks only the address you are "
	                  "connecting from right now: connect this device to the network you want "
	                  "to check (your home Wi-Fi, not mobile data) before you start.</p>\n"
	                  "<p class=\"note\">\"Not observed\" never means clean: it only means our "
	                  "sensors saw nothing from this address. They see a small part of the "
	                  "internet.</p>\n"
	                  "<form method=\"post\" action=\"/check\">\n"
	                  "<label>Your e-mail address (the result link is sent there):<br>"
	                  "<input type=\"email\" name=\"email\" required maxlength=\"254\" "
	                  "autocomplete=\"email\"></label>\n"
	                  "<label><input type=\"checkbox\" name=\"consent\" value=\"yes\" "
	                  "required> I agree that the address <strong>");
	check_buf_html(b, addr);
	check_buf_puts(b, "</strong> is checked and that the result is mailed to me. The mail "
	                  "address is kept only until the mail is sent (a keyed hash of it is kept "
	                  "a day, for the rate limit).</label>\n"
	                  "<input type=\"hidden\" name=\"csrf\" value=\"");
	check_buf_html(b, csrf);
	check_buf_puts(b, "\">\n<button type=\"submit\">Start the check</button>\n</form>\n"
	                  "<p>Open the link in the mail in this same browser: the result page "
	                  "opens only there.</p>\n");
	page_tail(b);
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

static void row_text(struct check_buf *b, const char *name, const char *value)
{
	check_buf_puts(b, "<tr><th>");
	check_buf_html(b, name);
	check_buf_puts(b, "</th><td>");
	check_buf_html(b, value);
	check_buf_puts(b, "</td></tr>\n");
}

static void row_num(struct check_buf *b, const char *name, int64_t n)
{
	char t[24];
	snprintf(t, sizeof(t), "%lld", (long long)n);
	row_text(b, name, t);
}

static void row_time(struct check_buf *b, const char *name, int64_t t)
{
	char s[40];
	row_text(b, name, t != 0 ? check_time_utc(t, s, sizeof(s)) : "-");
}

static void evidence_ports(struct check_buf *b, const json_t *ev)
{
	const json_t *ports = json_object_get(ev, "ports");
	if (json_array_size(ports) == 0)
		return;
	check_buf_puts(b, "<h3>Destination ports</h3>\n<table><tr><th>Port</th><th>Packets or "
	                  "connections</th></tr>\n");
	size_t i;
	const json_t *p;
	json_array_foreach(ports, i, p)
	{
		check_buf_printf(b, "<tr><td>%lld</td><td>%lld</td></tr>\n",
		                 (long long)jint(p, "port"), (long long)jint(p, "count"));
	}
	check_buf_puts(b, "</table>\n");
	int64_t other = jint(ev, "other_ports");
	if (other > 0)
		check_buf_printf(b, "<p>%lld more to other ports.</p>\n", (long long)other);
}

static void evidence_creds(struct check_buf *b, const json_t *ev)
{
	const json_t *creds = json_object_get(ev, "credentials");
	if (json_array_size(creds) == 0)
		return;
	check_buf_puts(b, "<h3>Logins tried on our honeypots</h3>\n<table><tr><th>User "
	                  "name</th><th>Password</th><th>Times</th><th>Factory default</th>"
	                  "<th>First</th><th>Last</th></tr>\n");
	size_t i;
	const json_t *c;
	char t1[40], t2[40];
	json_array_foreach(creds, i, c)
	{
		check_buf_puts(b, "<tr><td><code>");
		check_buf_html(b, jstr(c, "user"));
		check_buf_puts(b, "</code></td><td><code>");
		check_buf_html(b, jstr(c, "pass"));
		check_buf_printf(
		    b, "</code></td><td>%lld</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
		    (long long)jint(c, "count"),
		    json_is_true(json_object_get(c, "default")) ? "yes" : "no",
		    check_time_utc(jint(c, "first"), t1, sizeof(t1)),
		    check_time_utc(jint(c, "last"), t2, sizeof(t2)));
	}
	check_buf_puts(b, "</table>\n");
}

static void evidence(struct check_buf *b, const json_t *ev)
{
	check_buf_puts(b, "<h2>Evidence</h2>\n<table>\n");
	row_time(b, "First seen", jint(ev, "first_seen"));
	row_time(b, "Last seen", jint(ev, "last_seen"));
	row_num(b, "Packets and sessions that count", jint(ev, "packets"));
	row_num(b, "Mirai fingerprint packets", jint(ev, "fingerprint_hits"));
	row_num(b, "Login attempts", jint(ev, "login_attempts"));
	row_num(b, "Default passwords tried", jint(ev, "default_credentials"));
	row_num(b, "Malware downloads tried", jint(ev, "downloads"));
	row_num(b, "Packets to IoT ports", jint(ev, "iot_port_hits"));
	check_buf_puts(b, "</table>\n");
	evidence_ports(b, ev);
	evidence_creds(b, ev);
	const json_t *kinds = json_object_get(ev, "kinds");
	int64_t ignored = jint(kinds, "backscatter") + jint(kinds, "research");
	if (ignored > 0)
		check_buf_printf(b,
		                 "<p>%lld more packets looked like answers to an attack on your "
		                 "address (backscatter) or a research scanner; they do not "
		                 "count.</p>\n",
		                 (long long)ignored);
}

static const char *const remedies =
    "<h2>What to do</h2>\n"
    "<p>For every device on this connection (cameras, video recorders, printers, TVs, "
    "NAS, smart plugs, the router itself):</p>\n<ul>\n"
    "<li>Update the firmware and turn on automatic updates.</li>\n"
    "<li>Replace default passwords with long, unique ones.</li>\n"
    "<li>Power off devices you do not use.</li>\n"
    "<li>Replace devices past their end of support: they get no more fixes.</li>\n"
    "</ul>\n<p>On the router:</p>\n<ul>\n"
    "<li>Turn UPnP off.</li>\n"
    "<li>Keep as few port forwards as possible.</li>\n"
    "<li>Use a VPN to reach devices from outside instead of opening services to the "
    "internet.</li>\n"
    "</ul>\n<p>An infected device usually stays clean after a restart only until it is "
    "infected again: change its password and update it first, then restart it, then check "
    "again after a day.</p>\n";

static const char *const caveat =
    "<h2>Shared addresses</h2>\n<p class=\"note\">This result is about your connection's "
    "address, not about a particular device. Several households can share one address: "
    "an apartment building's shared uplink, or carrier-grade NAT at your provider (common "
    "on mobile networks and with some fibre and IPv4-over-IPv6 services). Then a hit may come "
    "from a neighbour's device, and \"not observed\" says nothing about devices behind "
    "another address.</p>\n";

void check_page_result(struct check_buf *b, const json_t *verdict, const char *token,
                       const char *csrf, int64_t checked_at, int64_t expires)
{
	const char *v = jstr(verdict, "verdict");
	const char *addr = jstr(verdict, "address");
	const char *cls = strcmp(v, "infected") == 0     ? "infected"
	                  : strcmp(v, "suspicious") == 0 ? "suspicious"
	                                                 : "not_observed";
	char t1[40], t2[40], t3[40], t4[40];
	page_head(b, "Am I infected? Your result");
	check_buf_printf(b, "<p class=\"v %s\">", cls);
	check_buf_html(b, addr);
	check_buf_puts(b, ": ");
	check_buf_html(b, check_verdict_words(v));
	check_buf_puts(b, "</p>\n");
	const json_t *win = json_object_get(verdict, "window");
	check_buf_printf(b,
	                 "<p>Checked at %s, over what our sensors saw from %s to %s. This "
	                 "page can be opened until %s.</p>\n",
	                 check_time_utc(checked_at, t1, sizeof(t1)),
	                 check_time_utc(jint(win, "start"), t2, sizeof(t2)),
	                 check_time_utc(jint(win, "end"), t3, sizeof(t3)),
	                 check_time_utc(expires, t4, sizeof(t4)));
	if (strcmp(cls, "not_observed") == 0) {
		check_buf_puts(b, "<p>Our sensors saw no attack traffic from this address in the "
		                  "last 24 hours. That does not mean your devices are clean: our "
		                  "sensors see a small part of the internet, and a device can be "
		                  "vulnerable without being infected yet.</p>\n");
	} else {
		check_buf_puts(b, "<h2>Why</h2>\n<ul>\n");
		size_t i;
		const json_t *r;
		json_array_foreach(json_object_get(verdict, "rules"), i, r)
		{
			const char *name = json_string_value(r);
			const char *words = name != NULL ? rule_words(name) : NULL;
			check_buf_puts(b, "<li>");
			check_buf_html(b, words != NULL ? words : name != NULL ? name : "?");
			check_buf_puts(b, "</li>\n");
		}
		check_buf_puts(b, "</ul>\n");
		evidence(b, json_object_get(verdict, "evidence"));
	}
	check_buf_puts(b, caveat);
	check_buf_puts(b, remedies);
	check_buf_puts(b, "<h2>Check again</h2>\n<p>After you have fixed your devices, check "
	                  "again (from the network you want to check). This looks at your current "
	                  "address and updates this page.</p>\n<form method=\"post\" "
	                  "action=\"/check/");
	check_buf_html(b, token);
	check_buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	check_buf_html(b, csrf);
	check_buf_puts(b, "\"><button type=\"submit\">Check again</button></form>\n");
	page_tail(b);
}

/* ---- the mail ---- */

int check_mail_compose(const char *public_url, const char *token, const char *addr,
                       const char *verdict, const char *rule, int64_t asked, int64_t expires,
                       char **subject, char **body)
{
	struct check_buf s, m;
	char t1[40], t2[40];
	const char *words = check_verdict_words(verdict);
	size_t ulen = strlen(public_url);
	while (ulen > 0 && public_url[ulen - 1] == '/')
		ulen--;
	check_buf_init(&s, 1024);
	check_buf_init(&m, 16384);
	check_buf_printf(&s, "Nameplate check for %s: %s", addr, words);

	check_buf_printf(&m,
	                 "Hello,\n\nthis is the result of the check you asked for.\n\n"
	                 "Address: %s\nVerdict: %s",
	                 addr, words);
	const char *why = rule_words(rule);
	if (strcmp(verdict, "not_observed") == 0)
		check_buf_puts(&m, " (our sensors saw no attack traffic from this address in the "
		                   "last 24 hours; that does not prove your devices are clean)\n");
	else
		check_buf_printf(&m, " (%s)\n", why != NULL ? why : rule);
	check_buf_puts(&m, "\nThe details, the evidence and what to do are on this page:\n\n  ");
	check_buf_add(&m, public_url, ulen);
	check_buf_printf(&m, "/check/%s\n\n", token);
	check_buf_printf(&m,
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
		check_buf_free(&s);
		check_buf_free(&m);
		return NP_ENOMEM;
	}
	*subject = s.p;
	*body = m.p;
	return NP_OK;
}
