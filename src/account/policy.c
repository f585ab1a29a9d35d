/* SPDX-License-Identifier: MIT */
/* Token policies: parsing, formatting, and the decision. */
#include "account/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/macros.h"
#include "common/str.h"
#include "dns/constants.h"
#include "dns/name.h"

static const struct {
	uint32_t bit;
	uint16_t type;
	const char *name;
} types[] = {
    {POLICY_A, DNS_TYPE_A, "A"},
    {POLICY_AAAA, DNS_TYPE_AAAA, "AAAA"},
    {POLICY_TXT, DNS_TYPE_TXT, "TXT"},
    {POLICY_MX, DNS_TYPE_MX, "MX"},
};

uint32_t policy_type_bit(uint16_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].type == type)
			return types[i].bit;
	return 0;
}

const char *policy_type_name(uint32_t bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].bit == bit)
			return types[i].name;
	return "?";
}

const char *policy_verdict_str(enum policy_verdict v)
{
	switch (v) {
	case POLICY_OK:
		return "allowed";
	case POLICY_EXPIRED:
		return "the token has expired";
	case POLICY_SOURCE:
		return "the token may not be used from this address";
	case POLICY_NAME:
		return "the token may not change this name";
	case POLICY_TYPE:
		return "the token may not change this record type";
	case POLICY_ACCOUNT:
		return "the account is not active";
	case POLICY_OWNER:
		return "no such name in this account";
	}
	return "refused";
}

/* Whether fqdn is pattern, or, for "*.parent", a name strictly below parent. Both are lower
 * case without a trailing dot. */
static bool name_matches(const char *pattern, const char *fqdn)
{
	if (pattern[0] != '*')
		return strcmp(pattern, fqdn) == 0;
	const char *parent = pattern + 1; /* ".home.dyn.example" */
	size_t plen = strlen(parent), flen = strlen(fqdn);
	/* parent starts with its dot, so a longer fqdn ending in it has a label before it:
	 * "x.home.dyn.example" matches, "home.dyn.example" itself does not. */
	return flen > plen && strcmp(fqdn + flen - plen, parent) == 0;
}

bool policy_name_allows(const struct policy *p, const char *fqdn)
{
	if (p->n_names == 0)
		return true;
	for (unsigned i = 0; i < p->n_names; i++)
		if (name_matches(p->names[i], fqdn))
			return true;
	return false;
}

enum policy_verdict policy_allows(const struct policy *p, const char *fqdn, uint16_t type,
                                  const struct np_addr *source, int64_t now)
{
	if (p->expires != 0 && now >= p->expires)
		return POLICY_EXPIRED;
	if (p->n_sources > 0) {
		bool inside = false;
		if (source != NULL) {
			struct np_addr a = *source;
			addr_unmap(&a);
			for (unsigned i = 0; i < p->n_sources && !inside; i++)
				inside = cidr_contains(&p->sources[i], &a);
		}
		if (!inside)
			return POLICY_SOURCE;
	}
	if (!policy_name_allows(p, fqdn))
		return POLICY_NAME;
	if (type != 0 && p->types != 0 && (p->types & policy_type_bit(type)) == 0)
		return POLICY_TYPE;
	return POLICY_OK;
}

/* Whether the set of names inner allows is inside the one outer allows. A subtree is inside
 * an equal or wider subtree; a name is inside when outer allows it. */
static bool names_within(const struct policy *inner, const struct policy *outer)
{
	if (outer->n_names == 0)
		return true;
	if (inner->n_names == 0)
		return false;
	for (unsigned i = 0; i < inner->n_names; i++) {
		const char *n = inner->names[i];
		bool ok = false;
		for (unsigned j = 0; j < outer->n_names && !ok; j++) {
			const char *o = outer->names[j];
			if (n[0] != '*')
				ok = name_matches(o, n);
			else if (o[0] == '*') /* *.a.b within *.b when a.b is below b, or equal */
				ok = strcmp(n, o) == 0 || name_matches(o, n + 2);
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool cidr_within(const struct np_cidr *inner, const struct np_cidr *outer)
{
	return inner->addr.family == outer->addr.family && inner->prefix >= outer->prefix &&
	       cidr_contains(outer, &inner->addr);
}

bool policy_within(const struct policy *inner, const struct policy *outer)
{
	if (!names_within(inner, outer))
		return false;
	if (outer->types != 0 && (inner->types == 0 || (inner->types & ~outer->types) != 0))
		return false;
	if (outer->n_sources > 0) {
		if (inner->n_sources == 0)
			return false;
		for (unsigned i = 0; i < inner->n_sources; i++) {
			bool ok = false;
			for (unsigned j = 0; j < outer->n_sources && !ok; j++)
				ok = cidr_within(&inner->sources[i], &outer->sources[j]);
			if (!ok)
				return false;
		}
	}
	if (outer->expires != 0 && (inner->expires == 0 || inner->expires > outer->expires))
		return false;
	return !inner->manage || outer->manage;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return NP_EINVAL;
}

int policy_add_name(struct policy *p, const char *name, char *err, size_t errlen)
{
	char buf[CFG_NAME_MAX];
	uint8_t wire[DNS_NAME_MAX];
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(buf))
		return fail(err, errlen, "a name must be 1 to %d characters", CFG_NAME_MAX - 1);
	memcpy(buf, name, len);
	buf[len] = '\0';
	str_lower(buf);
	const char *check = buf;
	if (buf[0] == '*') {
		if (buf[1] != '.')
			return fail(err, errlen, "a subtree is written *.NAME");
		check = buf + 2;
	}
	if (strchr(check, '*') != NULL)
		return fail(err, errlen, "'*' may only start a subtree (*.NAME)");
	int wlen = dns_name_from_text(check, wire, sizeof(wire));
	if (wlen < 0 || dns_name_labels(wire) < 2)
		return fail(err, errlen, "not a domain name: %.80s", name);
	if (p->n_names == POLICY_MAX_NAMES) {
		snprintf(err, errlen, "at most %d names", POLICY_MAX_NAMES);
		return NP_ETOOBIG;
	}
	for (unsigned i = 0; i < p->n_names; i++)
		if (strcmp(p->names[i], buf) == 0)
			return NP_OK; /* listed twice: once is enough */
	memcpy(p->names[p->n_names++], buf, strlen(buf) + 1);
	return NP_OK;
}

int policy_add_type(struct policy *p, const char *type, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		if (strcasecmp(type, types[i].name) == 0) {
			p->types |= types[i].bit;
			return NP_OK;
		}
	}
	return fail(err, errlen, "record type must be A, AAAA, TXT or MX: %.20s", type);
}

int policy_add_source(struct policy *p, const char *prefix, char *err, size_t errlen)
{
	struct np_cidr c;
	if (cidr_parse(prefix, &c) != NP_OK)
		return fail(err, errlen, "not an address or prefix (ADDR/LEN): %.60s", prefix);
	/* Clients' addresses are compared unmapped (policy_allows), so an IPv4-mapped prefix
	 * (::ffff:10.9.9.0/120) is kept as the IPv4 one it means; left mapped it could never
	 * match. */
	if (c.addr.family == AF_INET6 && c.prefix >= 96) {
		struct np_addr a = c.addr;
		addr_unmap(&a);
		if (a.family == AF_INET) {
			c.addr = a;
			c.prefix -= 96;
		}
	}
	if (p->n_sources == POLICY_MAX_SOURCES) {
		snprintf(err, errlen, "at most %d source prefixes", POLICY_MAX_SOURCES);
		return NP_ETOOBIG;
	}
	p->sources[p->n_sources++] = c;
	return NP_OK;
}

/* Calls add on each element of a comma list. */
static int each_elem(struct policy *p, const char *list,
                     int (*add)(struct policy *, const char *, char *, size_t), char *err,
                     size_t errlen)
{
	char elem[CFG_NAME_MAX + 8];
	const char *s = list;
	if (*s == '\0')
		return NP_OK; /* "" allows all */
	for (;;) {
		size_t n = strcspn(s, ",");
		/* ",a", "a,,b" and "a," alike: an empty element is a mistake, not "all". */
		if (n == 0)
			return fail(err, errlen, "empty element in the list: %.60s", list);
		if (n >= sizeof(elem))
			return fail(err, errlen, "list element too long: %.60s...", s);
		memcpy(elem, s, n);
		elem[n] = '\0';
		int ret = add(p, elem, err, errlen);
		if (ret != NP_OK)
			return ret;
		s += n;
		if (*s == '\0')
			return NP_OK;
		s++; /* the comma */
	}
}

int policy_parse(const char *names, const char *types_text, const char *sources, int64_t expires,
                 bool manage, struct policy *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->expires = expires;
	out->manage = manage;
	int ret = each_elem(out, names, policy_add_name, err, errlen);
	if (ret == NP_OK)
		ret = each_elem(out, types_text, policy_add_type, err, errlen);
	if (ret == NP_OK)
		ret = each_elem(out, sources, policy_add_source, err, errlen);
	return ret;
}

/* Appends ",text" (or "text" at the start) to buf; false when it does not fit. */
static bool append(char *buf, size_t cap, size_t *pos, const char *text)
{
	int w = snprintf(buf + *pos, cap - *pos, "%s%s", *pos > 0 ? "," : "", text);
	if (w < 0 || (size_t)w >= cap - *pos)
		return false;
	*pos += (size_t)w;
	return true;
}

int policy_format(const struct policy *p, char *names, size_t names_len, char *types_out,
                  size_t types_len, char *sources, size_t sources_len)
{
	size_t pos = 0;
	names[0] = types_out[0] = sources[0] = '\0';
	for (unsigned i = 0; i < p->n_names; i++)
		if (!append(names, names_len, &pos, p->names[i]))
			return NP_ETOOBIG;
	pos = 0;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if ((p->types & types[i].bit) && !append(types_out, types_len, &pos, types[i].name))
			return NP_ETOOBIG;
	pos = 0;
	for (unsigned i = 0; i < p->n_sources; i++) {
		char a[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN + 8];
		addr_format(&p->sources[i].addr, a, sizeof(a));
		snprintf(c, sizeof(c), "%s/%u", a, p->sources[i].prefix);
		if (!append(sources, sources_len, &pos, c))
			return NP_ETOOBIG;
	}
	return NP_OK;
}
