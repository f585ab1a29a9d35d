/* SPDX-License-Identifier: MIT */
/* Domain names: text <-> wire conversion for host names. */
#include "dns/name.h"

#include <stdbool.h>
#include <string.h>

static int is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int dns_name_from_text(const char *text, uint8_t *out, size_t cap)
{
	size_t tlen = strlen(text);
	if (tlen > 0 && text[tlen - 1] == '.')
		tlen--; /* an absolute name: the root is implied anyway */
	if (cap < 1)
		return NP_ETOOBIG;
	if (tlen == 0) {
		out[0] = 0;
		return 1;
	}
	size_t pos = 0;
	size_t start = 0;
	while (start <= tlen) {
		size_t end = start;
		while (end < tlen && text[end] != '.')
			end++;
		size_t llen = end - start;
		if (llen == 0 || llen > DNS_LABEL_MAX)
			return NP_EMALFORMED;
		/* "*" is allowed only as a whole first label (a wildcard owner). */
		bool star = llen == 1 && text[start] == '*';
		if (star && start != 0)
			return NP_EMALFORMED;
		if (pos + 1 + llen + 1 > DNS_NAME_MAX || pos + 1 + llen + 1 > cap)
			return NP_EMALFORMED;
		out[pos++] = (uint8_t)llen;
		for (size_t i = start; i < end; i++) {
			unsigned char c = (unsigned char)text[i];
			if (!star && !is_host_char(c))
				return NP_EMALFORMED;
			out[pos++] = (uint8_t)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
		}
		start = end + 1;
	}
	out[pos++] = 0;
	return (int)pos;
}

int dns_name_to_text(const uint8_t *wire, size_t len, char *out, size_t cap)
{
	size_t pos = 0, o = 0;
	if (cap < 2)
		return NP_ETOOBIG;
	while (pos < len && wire[pos] != 0) {
		uint8_t llen = wire[pos];
		if (llen > DNS_LABEL_MAX || pos + 1 + llen >= len)
			return NP_EMALFORMED;
		if (o != 0)
			out[o++] = '.';
		for (size_t i = 0; i < llen; i++) {
			unsigned char c = wire[pos + 1 + i];
			/* Escape what text form cannot carry plainly (RFC 1035 5.1). */
			if (c == '.' || c == '\\' || c <= 0x20 || c >= 0x7f) {
				if (o + 4 >= cap)
					return NP_ETOOBIG;
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + (c / 10) % 10);
				out[o++] = (char)('0' + c % 10);
			} else {
				if (o + 1 >= cap)
					return NP_ETOOBIG;
				out[o++] = (char)c;
			}
		}
		pos += 1 + llen;
	}
	if (pos >= len)
		return NP_EMALFORMED;
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return (int)o;
}

unsigned dns_name_labels(const uint8_t *wire)
{
	unsigned n = 0;
	while (*wire != 0) {
		n++;
		wire += 1 + *wire;
	}
	return n;
}

/* The decompressor: pos walks label runs; floor is the start of the run being read, so a
 * pointer must land below it (strictly backwards) and every hop lowers floor. That alone
 * rules out loops; the hop limit bounds the work of a long backward chain. */
int dns_name_read(struct wire *c, uint8_t *orig, uint8_t *lower)
{
	if (c->err != 0)
		return c->err;
	const uint8_t *m = c->buf;
	size_t len = c->len;
	size_t pos = c->pos;
	size_t floor = pos;
	size_t resume = 0; /* where the cursor continues: after the first pointer */
	size_t out = 0;
	unsigned hops = 0;

	for (;;) {
		if (pos >= len)
			return wire_fail(c);
		uint8_t b = m[pos];
		if ((b & 0xC0) == 0xC0) {
			if (pos + 1 >= len)
				return wire_fail(c);
			size_t target = (size_t)(b & 0x3F) << 8 | m[pos + 1];
			if (target < 12 || target >= floor || ++hops > DNS_NAME_MAX_HOPS)
				return wire_fail(c);
			if (resume == 0)
				resume = pos + 2;
			pos = floor = target;
			continue;
		}
		if (b > DNS_LABEL_MAX) /* 0x40 and 0x80: extended and bitstring labels */
			return wire_fail(c);
		if (b == 0)
			break;
		/* The label, its length byte, and the root that must still follow. */
		if (len - pos - 1 < b || out + 1 + b + 1 > DNS_NAME_MAX)
			return wire_fail(c);
		if (orig != NULL)
			memcpy(orig + out, m + pos, 1 + (size_t)b);
		if (lower != NULL) {
			/* Branchless so that the compiler can vectorise it: this is per query. */
			lower[out] = b;
			for (size_t i = 1; i <= b; i++) {
				uint8_t ch = m[pos + i];
				lower[out + i] = (uint8_t)(ch + ((uint8_t)(ch - 'A') < 26) * 32);
			}
		}
		out += 1 + (size_t)b;
		pos += 1 + (size_t)b;
	}
	if (orig != NULL)
		orig[out] = 0;
	if (lower != NULL)
		lower[out] = 0;
	out++;
	c->pos = resume != 0 ? resume : pos + 1;
	return (int)out;
}

int dns_name_check(const uint8_t *wire, size_t max)
{
	size_t pos = 0;
	while (pos < max && pos < DNS_NAME_MAX) {
		uint8_t b = wire[pos];
		if (b == 0)
			return (int)pos + 1;
		if (b > DNS_LABEL_MAX)
			return NP_EMALFORMED;
		pos += 1 + (size_t)b;
	}
	return NP_EMALFORMED;
}
