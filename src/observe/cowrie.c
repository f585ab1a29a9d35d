/* SPDX-License-Identifier: MIT */
/* Cowrie JSON log lines to observations: a strict-enough jansson parse of the few fields
 * each event needs; other fields are ignored, as Cowrie adds new ones between versions. */
#include "observe/cowrie.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n digits at s into *v; false when one is not a digit. */
static bool digits(const char *s, size_t n, int *v)
{
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int obs_cowrie_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec;
	/* YYYY-MM-DDTHH:MM:SS: every character checked before the next is looked at, so a
	 * short string stops at its NUL. */
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return NP_EMALFORMED;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 60)
		return NP_EMALFORMED;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		size_t n = 0;
		while (is_digit(p[n]) && n < 12)
			n++;
		if (n == 0 || is_digit(p[n]))
			return NP_EMALFORMED;
		p += n;
	}
	int64_t off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		int sign = *p == '-' ? -1 : 1;
		p++;
		if (!digits(p, 2, &oh))
			return NP_EMALFORMED;
		p += 2;
		if (*p == ':')
			p++;
		if (!digits(p, 2, &om) || oh > 23 || om > 59)
			return NP_EMALFORMED;
		p += 2;
		off = sign * ((int64_t)oh * 3600 + om * 60);
	}
	if (*p != '\0')
		return NP_EMALFORMED;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	if (t < 0)
		return NP_EMALFORMED;
	*out = t;
	return NP_OK;
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
	       c == '-';
}

/* Whether word occurs in s as a whole word (so "/bin/busybox" counts, "wgetrc" does not). */
static bool has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(s, word); p != NULL; p = strstr(p + 1, word)) {
		bool start = p == s || !word_char(p[-1]);
		if (start && !word_char(p[n]))
			return true;
	}
	return false;
}

/* Whether s holds a dotted IPv4 address as a whole token. */
static bool has_ipv4(const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if (!is_digit(*p) || (p > s && (is_digit(p[-1]) || p[-1] == '.')))
			continue;
		int dots = 0;
		size_t run = 0, i = 0;
		bool ok = true;
		for (; p[i] != '\0' && (is_digit(p[i]) || p[i] == '.'); i++) {
			if (p[i] == '.') {
				if (run == 0 || run > 3)
					ok = false;
				dots++;
				run = 0;
			} else {
				run++;
			}
		}
		if (ok && dots == 3 && run >= 1 && run <= 3)
			return true;
		p += i - 1;
	}
	return false;
}

bool obs_cowrie_is_download(const char *input)
{
	bool url = strstr(input, "://") != NULL;
	if (url &&
	    (has_word(input, "wget") || has_word(input, "curl") || has_word(input, "busybox") ||
	     has_word(input, "tftp") || has_word(input, "ftpget")))
		return true;
	return (has_word(input, "tftp") || has_word(input, "ftpget")) && has_ipv4(input);
}

static void set_why(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
}

/* Copies a credential string, cut at 32 bytes, control characters as '?'. */
static void cred_copy(char dst[33], const char *s, size_t len)
{
	size_t n = len < 32 ? len : 32;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	dst[n] = '\0';
}

int obs_cowrie_parse(const char *line, size_t len, struct obs_event *out, char *why, size_t whylen)
{
	json_error_t jerr;
	int ret = NP_EMALFORMED;
	memset(out, 0, sizeof(*out));
	set_why(why, whylen, "");
	if (len > OBS_COWRIE_LINE_MAX) {
		set_why(why, whylen, "line too long");
		return NP_EMALFORMED;
	}
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		set_why(why, whylen, "not a JSON object");
		goto out;
	}
	const char *id = json_string_value(json_object_get(o, "eventid"));
	if (id == NULL) {
		set_why(why, whylen, "no eventid");
		goto out;
	}
	enum obs_kind kind;
	if (strcmp(id, "cowrie.session.connect") == 0) {
		kind = OBS_CONNECT;
	} else if (strcmp(id, "cowrie.login.failed") == 0 ||
	           strcmp(id, "cowrie.login.success") == 0) {
		kind = OBS_LOGIN;
	} else if (strcmp(id, "cowrie.command.input") == 0 ||
	           strcmp(id, "cowrie.session.file_download") == 0) {
		kind = OBS_DOWNLOAD;
	} else {
		ret = NP_ENOTFOUND;
		goto out;
	}
	out->kind = kind;
	out->proto = IPPROTO_TCP;

	const char *src = json_string_value(json_object_get(o, "src_ip"));
	if (src == NULL || addr_parse(src, &out->src) != 0) {
		set_why(why, whylen, "bad src_ip");
		goto out;
	}
	addr_unmap(&out->src);
	const char *ts = json_string_value(json_object_get(o, "timestamp"));
	if (ts == NULL || obs_cowrie_time(ts, &out->time) != NP_OK) {
		set_why(why, whylen, "bad timestamp");
		goto out;
	}

	if (kind == OBS_CONNECT) {
		json_t *p = json_object_get(o, "dst_port");
		if (!json_is_integer(p) || json_integer_value(p) < 0 ||
		    json_integer_value(p) > 65535) {
			set_why(why, whylen, "bad dst_port");
			goto out;
		}
		out->dst_port = (uint16_t)json_integer_value(p);
	} else if (kind == OBS_LOGIN) {
		json_t *u = json_object_get(o, "username"), *p = json_object_get(o, "password");
		if (!json_is_string(u) || !json_is_string(p)) {
			set_why(why, whylen, "bad username or password");
			goto out;
		}
		cred_copy(out->user, json_string_value(u), json_string_length(u));
		cred_copy(out->pass, json_string_value(p), json_string_length(p));
	} else if (strcmp(id, "cowrie.command.input") == 0) {
		const char *in = json_string_value(json_object_get(o, "input"));
		if (in == NULL) {
			set_why(why, whylen, "bad input");
			goto out;
		}
		if (!obs_cowrie_is_download(in)) {
			ret = NP_ENOTFOUND;
			goto out;
		}
	}
	ret = NP_OK;
out:
	json_decref(o);
	return ret;
}
