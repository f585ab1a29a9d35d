/* SPDX-License-Identifier: MIT */
/* The name policy at creation (name_policy.h). */
#include "abuse/name_policy.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LABEL_MAX 63

/* ---- Punycode (RFC 3492 section 6.2) ---- */

enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700 };

static uint32_t adapt(uint32_t delta, uint32_t points, bool first)
{
	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / points;
	uint32_t k = 0;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static int digit_of(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return -1;
}

int punycode_decode(const char *in, size_t len, uint32_t *out, size_t cap)
{
	size_t basic = 0;
	for (size_t j = 0; j < len; j++)
		if (in[j] == '-')
			basic = j;
	size_t n_out = 0;
	if (basic > cap)
		return -1;
	for (size_t j = 0; j < basic; j++) {
		if ((unsigned char)in[j] >= 0x80)
			return -1;
		out[n_out++] = (unsigned char)in[j];
	}
	uint32_t n = 0x80, i = 0, bias = 72;
	size_t pos = basic > 0 ? basic + 1 : 0;
	while (pos < len) {
		uint32_t oldi = i, w = 1;
		for (uint32_t k = PC_BASE;; k += PC_BASE) {
			if (pos >= len)
				return -1;
			int d = digit_of(in[pos++]);
			if (d < 0 || (uint32_t)d > (UINT32_MAX - i) / w)
				return -1;
			i += (uint32_t)d * w;
			uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
			if ((uint32_t)d < t)
				break;
			if (w > UINT32_MAX / (PC_BASE - t))
				return -1;
			w *= PC_BASE - t;
		}
		bias = adapt(i - oldi, (uint32_t)n_out + 1, oldi == 0);
		if (i / ((uint32_t)n_out + 1) > 0x10FFFF - n)
			return -1;
		n += i / ((uint32_t)n_out + 1);
		i %= (uint32_t)n_out + 1;
		if (n_out >= cap || n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF))
			return -1;
		memmove(out + i + 1, out + i, (n_out - i) * sizeof(*out));
		out[i++] = n;
		n_out++;
	}
	return (int)n_out;
}

/* ---- Scripts (the idea of UTS #39's "highly restrictive" level) ---- */

enum script { SC_COMMON, SC_LATIN, SC_GREEK, SC_CYRILLIC, SC_ARMENIAN, SC_HEBREW, SC_ARABIC,
              SC_GEORGIAN, SC_THAI, SC_CJK, SC_OTHER, SC_N };

static const char *const script_names[SC_N] = {
    "common", "Latin", "Greek", "Cyrillic", "Armenian", "Hebrew", "Arabic", "Georgian", "Thai",
    "Han/Kana/Hangul", "another script"};

/* Block ranges, enough to tell the scripts look-alikes are drawn from. */
static enum script script_of(uint32_t c)
{
	if ((c >= '0' && c <= '9') || c == '-')
		return SC_COMMON;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x1E00 && c <= 0x1EFF))
		return SC_LATIN;
	if ((c >= 0x370 && c <= 0x3FF) || (c >= 0x1F00 && c <= 0x1FFF))
		return SC_GREEK;
	if ((c >= 0x400 && c <= 0x52F) || (c >= 0x2DE0 && c <= 0x2DFF) ||
	    (c >= 0xA640 && c <= 0xA69F))
		return SC_CYRILLIC;
	if (c >= 0x530 && c <= 0x58F)
		return SC_ARMENIAN;
	if (c >= 0x590 && c <= 0x5FF)
		return SC_HEBREW;
	if (c >= 0x600 && c <= 0x6FF)
		return SC_ARABIC;
	if (c >= 0x10A0 && c <= 0x10FF)
		return SC_GEORGIAN;
	if (c >= 0xE00 && c <= 0xE7F)
		return SC_THAI;
	if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) ||
	    (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
	    (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3100 && c <= 0x312F))
		return SC_CJK;
	return SC_OTHER;
}

/* An xn-- label: valid Punycode, not plain ASCII, and one script (or Latin with Han, Kana
 * and Hangul, as Japanese and Korean names are written). */
static int check_idn(const char *label, size_t len, char *why, size_t whylen)
{
	uint32_t cps[LABEL_MAX];
	int n = punycode_decode(label + 4, len - 4, cps, LABEL_MAX);
	if (n <= 0) {
		snprintf(why, whylen, "label %.*s is not valid Punycode", (int)len, label);
		return -1;
	}
	bool seen[SC_N] = {false};
	bool wide = false;
	for (int i = 0; i < n; i++) {
		seen[script_of(cps[i])] = true;
		wide |= cps[i] >= 0x80;
	}
	if (!wide) {
		snprintf(why, whylen, "label %.*s encodes plain ASCII", (int)len, label);
		return -1;
	}
	int first = -1, second = -1;
	for (int s = SC_LATIN; s < SC_N; s++) {
		if (!seen[s] || (s == SC_LATIN && seen[SC_CJK]))
			continue;
		if (first < 0)
			first = s;
		else if (second < 0)
			second = s;
	}
	if (second >= 0) {
		snprintf(why, whylen,
		         "label %.*s mixes %s and %s letters (a look-alike of another name)",
		         (int)len, label, script_names[first], script_names[second]);
		return -1;
	}
	return 0;
}

/* ---- Brands and reserved words ---- */

void name_policy_fold(const char *label, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		char c = label[i];
		switch (c) {
		case '-': continue;
		case '0': c = 'o'; break;
		case '1': c = 'l'; break;
		case '3': c = 'e'; break;
		case '4': c = 'a'; break;
		case '5': c = 's'; break;
		case '7': c = 't'; break;
		case '8': c = 'b'; break;
		default:
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
		}
		if (o > 0 && ((out[o - 1] == 'r' && c == 'n') || (out[o - 1] == 'v' && c == 'v'))) {
			out[o - 1] = out[o - 1] == 'r' ? 'm' : 'w';
			continue;
		}
		out[o++] = c;
	}
	out[o] = '\0';
}

/* Whether a and b differ by at most one insertion, deletion or substitution. */
static bool within_one(const char *a, size_t la, const char *b, size_t lb)
{
	if (la > lb)
		return within_one(b, lb, a, la);
	if (lb - la > 1)
		return false;
	size_t i = 0;
	while (i < la && a[i] == b[i])
		i++;
	if (i == la)
		return true; /* equal, or b is a with one more at its end */
	if (la == lb) /* one substitution at i */
		return memcmp(a + i + 1, b + i + 1, la - i - 1) == 0;
	return memcmp(a + i, b + i + 1, la - i) == 0; /* one insertion into a at i */
}

/* Brands shorter than this match only exactly (after folding): "ebay" is one letter from
 * "bay" and "obey"; "paypal" is one letter from nothing a home would choose. */
#define BRAND_FUZZY_MIN 6

/* Whether the folded word w is brand (folded) or within one edit of it. */
static bool brand_like(const char *w, const char *brand)
{
	size_t lw = strlen(w), lb = strlen(brand);
	if (lw == 0 || lb == 0)
		return false;
	if (lw == lb && memcmp(w, brand, lw) == 0)
		return true;
	return lb >= BRAND_FUZZY_MIN && within_one(w, lw, brand, lb);
}

/* The next word of a list (spaces or commas between words): false at its end. */
static bool next_word(const char **p, const char **w, size_t *wl)
{
	*p += strspn(*p, " ,\t");
	if (**p == '\0')
		return false;
	*w = *p;
	*wl = strcspn(*p, " ,\t");
	*p += *wl;
	return true;
}

static bool reserved_match(const char *label, size_t len, const char *w, size_t wl)
{
	if (wl > 0 && w[wl - 1] == '*')
		return len >= wl - 1 && strncasecmp(label, w, wl - 1) == 0;
	return len == wl && strncasecmp(label, w, wl) == 0;
}

/* The brand a label looks like: the whole label folded, or one of its hyphen-separated
 * parts ("paypal-login", "secure-paypa1"). */
static const char *brand_of(const char *label, size_t len, const char *brands, char *brand,
                            size_t bcap)
{
	char whole[LABEL_MAX + 1], part[LABEL_MAX + 1];
	name_policy_fold(label, len, whole, sizeof(whole));
	const char *p = brands, *w;
	size_t wl;
	while (next_word(&p, &w, &wl)) {
		if (wl == 0 || wl > LABEL_MAX)
			continue;
		name_policy_fold(w, wl, brand, bcap);
		if (brand_like(whole, brand))
			return brand;
		for (size_t i = 0; i < len;) {
			size_t pl = strcspn(label + i, "-");
			if (pl > len - i)
				pl = len - i;
			name_policy_fold(label + i, pl, part, sizeof(part));
			if (brand_like(part, brand))
				return brand;
			i += pl + 1;
		}
	}
	return NULL;
}

int name_policy_check(const char *labels, const char *reserved, const char *brands, char *why,
                      size_t whylen)
{
	for (const char *l = labels; *l != '\0';) {
		size_t len = strcspn(l, ".");
		if (len > LABEL_MAX) {
			snprintf(why, whylen, "a label is longer than 63 characters");
			return -1;
		}
		const char *p = reserved, *w;
		size_t wl;
		while (next_word(&p, &w, &wl)) {
			if (reserved_match(l, len, w, wl)) {
				snprintf(why, whylen, "%.*s is reserved (the operator's list)", (int)len,
				         l);
				return -1;
			}
		}
		if (len > 4 && strncasecmp(l, "xn--", 4) == 0) {
			if (check_idn(l, len, why, whylen) != 0)
				return -1;
		} else {
			char brand[LABEL_MAX + 1];
			if (brand_of(l, len, brands, brand, sizeof(brand)) != NULL) {
				snprintf(why, whylen,
				         "%.*s looks like the brand %s (names that pose as brands are "
				         "refused)",
				         (int)len, l, brand);
				return -1;
			}
		}
		l += len;
		if (*l == '.')
			l++;
	}
	return 0;
}
