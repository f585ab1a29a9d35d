/* SPDX-License-Identifier: MIT */
/* Master-file reading and writing (RFC 1035 section 5) for the record types hosts hold. */
#include "zone/zonefile.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/str.h"
#include "dns/name.h"
#include "zone/zone.h"

struct zf_tok {
	const char *s; /* raw text (escapes not yet decoded), NUL-terminated inside rec */
	size_t len;
	bool quoted;
};

/* Records per (owner, type) seen so far, to enforce ZONE_MAX_RRS_PER_TYPE even when a
 * file spreads one RRset over several places. Open addressing; names are copies. */
struct zf_count {
	uint64_t hash;
	uint8_t *name; /* NULL: free slot */
	uint8_t len;
	uint16_t type;
	uint16_t count;
};

struct zf {
	FILE *f;
	const char *name;
	zonefile_rr_cb *cb;
	void *ctx;
	char *err;
	size_t errlen;
	unsigned line; /* the physical line being read */

	bool have_origin;
	char origin[DNS_NAME_MAX + 1]; /* text, no trailing dot; "" = the root */
	uint32_t default_ttl;
	bool have_dollar_ttl;
	uint32_t dollar_ttl;
	bool have_prev;
	char prev[DNS_NAME_MAX + 1];
	uint8_t prev_wire[DNS_NAME_MAX];
	size_t prev_len;

	/* The logical record being assembled. */
	unsigned depth; /* open parentheses */
	unsigned rec_line;
	bool blank_owner;
	size_t n_tok;
	struct zf_tok tok[ZONEFILE_MAX_TOKENS];
	size_t rec_len;
	char rec[ZONEFILE_MAX_RECORD];
	char linebuf[ZONEFILE_MAX_LINE + 1];

	struct zf_count *counts;
	size_t count_cap, count_n;
};

static int zf_error(struct zf *z, unsigned line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "name:line: message" and returns code. */
static int zf_error(struct zf *z, unsigned line, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (z->errlen > 0)
		snprintf(z->err, z->errlen, "%s:%u: %s", z->name, line, msg);
	return code;
}

static bool is_delim(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' ||
	       c == ')' || c == '"';
}

static int add_tok(struct zf *z, const char *s, size_t len, bool quoted)
{
	if (z->n_tok == ZONEFILE_MAX_TOKENS)
		return zf_error(z, z->line, NP_ETOOBIG, "more than %d fields in one record",
		                ZONEFILE_MAX_TOKENS);
	if (z->rec_len + len + 1 > sizeof(z->rec))
		return zf_error(z, z->line, NP_ETOOBIG, "record longer than %d bytes",
		                ZONEFILE_MAX_RECORD);
	char *dst = z->rec + z->rec_len;
	memcpy(dst, s, len);
	dst[len] = '\0';
	z->rec_len += len + 1;
	z->tok[z->n_tok++] = (struct zf_tok){dst, len, quoted};
	return NP_OK;
}

/* Splits one physical line into fields, tracking parentheses across lines. Escapes are kept
 * raw here and decoded by whoever reads the field. */
static int tokenize(struct zf *z, const char *line, size_t len)
{
	size_t i = 0;
	while (i < len) {
		char ch = line[i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			i++;
		} else if (ch == ';') {
			break; /* a comment runs to the end of the line */
		} else if (ch == '(') {
			z->depth++;
			i++;
		} else if (ch == ')') {
			if (z->depth == 0)
				return zf_error(z, z->line, NP_EMALFORMED, "unbalanced ')'");
			z->depth--;
			i++;
		} else if (ch == '"') {
			size_t start = ++i;
			while (i < len && line[i] != '"')
				i += line[i] == '\\' ? 2 : 1;
			if (i >= len)
				return zf_error(z, z->line, NP_EMALFORMED,
				                "unterminated quoted string");
			int ret = add_tok(z, line + start, i - start, true);
			if (ret != NP_OK)
				return ret;
			i++;
		} else {
			size_t start = i;
			while (i < len && !is_delim(line[i]))
				i += line[i] == '\\' && i + 1 < len ? 2 : 1;
			int ret = add_tok(z, line + start, i - start, false);
			if (ret != NP_OK)
				return ret;
		}
	}
	return NP_OK;
}

/* Parses a TTL: seconds, or BIND-style units ("1h30m", "2d", "1w"). */
static int parse_ttl(const char *s, uint32_t *out)
{
	uint64_t total = 0, num = 0;
	bool digits = false, units = false;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9') {
			num = num * 10 + (uint64_t)(*s - '0');
			digits = true;
			if (num > ZONEFILE_MAX_TTL)
				return NP_EMALFORMED;
			continue;
		}
		uint64_t mult;
		switch (*s | 0x20) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 604800;
			break;
		default:
			return NP_EMALFORMED;
		}
		if (!digits)
			return NP_EMALFORMED;
		total += num * mult;
		num = 0;
		digits = false;
		units = true;
		if (total > ZONEFILE_MAX_TTL)
			return NP_EMALFORMED;
	}
	if (digits)
		total += num;
	else if (!units)
		return NP_EMALFORMED;
	if (total > ZONEFILE_MAX_TTL)
		return NP_EMALFORMED;
	*out = (uint32_t)total;
	return NP_OK;
}

/* Resolves a name field against $ORIGIN into lowercase wire and text. "@" is the origin; a
 * trailing dot makes the name absolute. Escapes are refused: host names never need them. */
static int resolve_name(struct zf *z, const struct zf_tok *t, unsigned line, uint8_t *wire,
                        size_t *wire_len, char *text)
{
	char buf[2 * DNS_NAME_MAX + 2];
	if (t->quoted || memchr(t->s, '\\', t->len) != NULL)
		return zf_error(z, line, NP_EMALFORMED, "unsupported name '%s'", t->s);
	bool at = strcmp(t->s, "@") == 0;
	if (at || (t->len > 0 && t->s[t->len - 1] == '.')) {
		if (at) {
			if (!z->have_origin)
				return zf_error(z, line, NP_EMALFORMED, "'@' without $ORIGIN");
			np_strlcpy(buf, z->origin, sizeof(buf));
		} else if (np_strlcpy(buf, t->s, sizeof(buf)) >= sizeof(buf)) {
			return zf_error(z, line, NP_EMALFORMED, "name too long");
		}
	} else {
		if (!z->have_origin)
			return zf_error(z, line, NP_EMALFORMED,
			                "relative name '%s' without $ORIGIN", t->s);
		int n = snprintf(buf, sizeof(buf), "%s%s%s", t->s, z->origin[0] != '\0' ? "." : "",
		                 z->origin);
		if (n < 0 || (size_t)n >= sizeof(buf))
			return zf_error(z, line, NP_EMALFORMED, "name too long");
	}
	if (strcmp(buf, ".") == 0)
		buf[0] = '\0';
	int len = dns_name_from_text(buf, wire, DNS_NAME_MAX);
	if (len < 1)
		return zf_error(z, line, NP_EMALFORMED, "bad name '%s'", t->s);
	if (dns_name_to_text(wire, (size_t)len, text, DNS_NAME_MAX + 1) < 0)
		return zf_error(z, line, NP_EMALFORMED, "bad name '%s'", t->s);
	if (strcmp(text, ".") == 0)
		text[0] = '\0';
	*wire_len = (size_t)len;
	return NP_OK;
}

/* Decodes one character-string (\X and \DDD escapes) into out; returns its length or < 0. */
static int decode_string(const struct zf_tok *t, uint8_t *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < t->len; i++) {
		unsigned c = (unsigned char)t->s[i];
		if (c == '\\') {
			if (i + 1 >= t->len)
				return NP_EMALFORMED;
			const char *d = t->s + i + 1;
			if (d[0] >= '0' && d[0] <= '9') {
				if (i + 3 >= t->len || d[1] < '0' || d[1] > '9' || d[2] < '0' ||
				    d[2] > '9')
					return NP_EMALFORMED;
				c = (unsigned)(d[0] - '0') * 100 + (unsigned)(d[1] - '0') * 10 +
				    (unsigned)(d[2] - '0');
				if (c > 255)
					return NP_EMALFORMED;
				i += 3;
			} else {
				c = (unsigned char)d[0];
				i++;
			}
		}
		if (o == cap)
			return NP_ETOOBIG;
		out[o++] = (uint8_t)c;
	}
	return (int)o;
}

static uint64_t count_hash(const uint8_t *name, size_t len, uint16_t type)
{
	uint64_t h = 1469598103934665603u ^ type;
	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 1099511628211u;
	return h;
}

/* Counts one more record at (name, type); NP_ETOOBIG past ZONE_MAX_RRS_PER_TYPE. */
static int count_rr(struct zf *z, const uint8_t *name, size_t len, uint16_t type)
{
	if (z->count_n * 2 >= z->count_cap) {
		size_t cap = z->count_cap == 0 ? 1024 : z->count_cap * 2;
		struct zf_count *t = calloc(cap, sizeof(*t));
		if (t == NULL)
			return NP_ENOMEM;
		for (size_t i = 0; i < z->count_cap; i++) {
			if (z->counts[i].name == NULL)
				continue;
			size_t j = z->counts[i].hash & (cap - 1);
			while (t[j].name != NULL)
				j = (j + 1) & (cap - 1);
			t[j] = z->counts[i];
		}
		free(z->counts);
		z->counts = t;
		z->count_cap = cap;
	}
	uint64_t h = count_hash(name, len, type);
	size_t j = h & (z->count_cap - 1);
	for (;; j = (j + 1) & (z->count_cap - 1)) {
		struct zf_count *e = &z->counts[j];
		if (e->name == NULL) {
			e->name = malloc(len);
			if (e->name == NULL)
				return NP_ENOMEM;
			memcpy(e->name, name, len);
			e->hash = h;
			e->len = (uint8_t)len;
			e->type = type;
			e->count = 1;
			z->count_n++;
			return NP_OK;
		}
		if (e->hash == h && e->type == type && e->len == len &&
		    memcmp(e->name, name, len) == 0) {
			if (e->count >= ZONE_MAX_RRS_PER_TYPE)
				return NP_ETOOBIG;
			e->count++;
			return NP_OK;
		}
	}
}

static int directive(struct zf *z)
{
	const struct zf_tok *t = z->tok;
	unsigned line = z->rec_line;
	if (strcasecmp(t[0].s, "$ORIGIN") == 0) {
		if (z->n_tok != 2)
			return zf_error(z, line, NP_EMALFORMED, "$ORIGIN takes one name");
		uint8_t wire[DNS_NAME_MAX];
		size_t len = 0;
		char text[DNS_NAME_MAX + 1];
		/* A relative $ORIGIN is relative to the previous one (RFC 1035 5.1). */
		int ret = resolve_name(z, &t[1], line, wire, &len, text);
		if (ret != NP_OK)
			return ret;
		if (strchr(text, '*') != NULL)
			return zf_error(z, line, NP_EMALFORMED, "bad $ORIGIN");
		np_strlcpy(z->origin, text, sizeof(z->origin));
		z->have_origin = true;
		return NP_OK;
	}
	if (strcasecmp(t[0].s, "$TTL") == 0) {
		if (z->n_tok != 2 || t[1].quoted || parse_ttl(t[1].s, &z->dollar_ttl) != NP_OK)
			return zf_error(z, line, NP_EMALFORMED, "$TTL takes one TTL (0..%u)",
			                ZONEFILE_MAX_TTL);
		z->have_dollar_ttl = true;
		return NP_OK;
	}
	return zf_error(z, line, NP_EMALFORMED, "unsupported directive '%s'", t[0].s);
}

/* Builds the rdata of one record of type from fields t[0..n). */
static int rdata(struct zf *z, uint16_t type, const struct zf_tok *t, size_t n, uint8_t *out,
                 size_t *len)
{
	unsigned line = z->rec_line;
	switch (type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA: {
		int af = type == DNS_TYPE_A ? AF_INET : AF_INET6;
		if (n != 1 || t[0].quoted || inet_pton(af, t[0].s, out) != 1)
			return zf_error(z, line, NP_EMALFORMED, "bad %s address",
			                type == DNS_TYPE_A ? "IPv4" : "IPv6");
		*len = type == DNS_TYPE_A ? 4 : 16;
		return NP_OK;
	}
	case DNS_TYPE_MX: {
		uint32_t pref;
		if (n != 2 || t[0].quoted || str_to_u32(t[0].s, 0, 65535, &pref) != NP_OK)
			return zf_error(z, line, NP_EMALFORMED, "MX takes a preference and a name");
		char text[DNS_NAME_MAX + 1];
		size_t nlen;
		int ret = resolve_name(z, &t[1], line, out + 2, &nlen, text);
		if (ret != NP_OK)
			return ret;
		if (text[0] == '*')
			return zf_error(z, line, NP_EMALFORMED, "bad MX exchange '%s'", t[1].s);
		out[0] = (uint8_t)(pref >> 8);
		out[1] = (uint8_t)pref;
		*len = 2 + nlen;
		return NP_OK;
	}
	case DNS_TYPE_TXT: {
		size_t o = 0;
		if (n == 0)
			return zf_error(z, line, NP_EMALFORMED, "TXT needs at least one string");
		for (size_t i = 0; i < n; i++) {
			uint8_t s[256];
			int slen = decode_string(&t[i], s, sizeof(s));
			if (slen == NP_ETOOBIG || (slen >= 0 && slen > 255))
				return zf_error(z, line, NP_ETOOBIG,
				                "TXT string longer than 255 bytes");
			if (slen < 0)
				return zf_error(z, line, NP_EMALFORMED, "bad escape in TXT string");
			if (o + 1 + (size_t)slen > ZONE_MAX_RDATA)
				return zf_error(z, line, NP_ETOOBIG, "TXT longer than %d bytes",
				                ZONE_MAX_RDATA);
			out[o++] = (uint8_t)slen;
			memcpy(out + o, s, (size_t)slen);
			o += (size_t)slen;
		}
		*len = o;
		return NP_OK;
	}
	}
	return NP_EINVAL;
}

static const struct {
	const char *name;
	uint16_t type;
} zf_types[] = {
    {"A", DNS_TYPE_A},     {"AAAA", DNS_TYPE_AAAA}, {"MX", DNS_TYPE_MX},
    {"TXT", DNS_TYPE_TXT}, {"SOA", DNS_TYPE_SOA},   {"NS", DNS_TYPE_NS},
};

static bool is_class(const char *s)
{
	return strcasecmp(s, "IN") == 0 || strcasecmp(s, "CH") == 0 || strcasecmp(s, "HS") == 0 ||
	       strcasecmp(s, "CS") == 0 || strcasecmp(s, "ANY") == 0 ||
	       strncasecmp(s, "CLASS", 5) == 0;
}

/* One complete logical record: a directive, or [owner] [ttl] [class] type rdata. */
static int record(struct zf *z)
{
	const struct zf_tok *t = z->tok;
	size_t i = 0;
	unsigned line = z->rec_line;
	int ret;

	if (!z->blank_owner && t[0].s[0] == '$' && !t[0].quoted)
		return directive(z);
	if (!z->blank_owner) {
		ret = resolve_name(z, &t[0], line, z->prev_wire, &z->prev_len, z->prev);
		if (ret != NP_OK) {
			z->have_prev = false;
			return ret;
		}
		z->have_prev = true;
		i = 1;
	} else if (!z->have_prev) {
		return zf_error(z, line, NP_EMALFORMED, "no owner name and none before");
	}

	/* TTL and class come in either order, each at most once (RFC 1035 5.1). */
	bool have_ttl = false, have_class = false;
	uint32_t ttl = 0;
	while (i < z->n_tok && !t[i].quoted) {
		if (!have_ttl && t[i].s[0] >= '0' && t[i].s[0] <= '9') {
			if (parse_ttl(t[i].s, &ttl) != NP_OK)
				return zf_error(z, line, NP_EMALFORMED, "bad TTL '%s'", t[i].s);
			have_ttl = true;
		} else if (!have_class && is_class(t[i].s)) {
			if (strcasecmp(t[i].s, "IN") != 0)
				return zf_error(z, line, NP_EMALFORMED, "class %s: only IN is held",
				                t[i].s);
			have_class = true;
		} else {
			break;
		}
		i++;
	}
	if (i >= z->n_tok || t[i].quoted)
		return zf_error(z, line, NP_EMALFORMED, "missing record type");
	uint16_t type = 0;
	for (size_t k = 0; k < sizeof(zf_types) / sizeof(zf_types[0]); k++)
		if (strcasecmp(t[i].s, zf_types[k].name) == 0)
			type = zf_types[k].type;
	if (type == 0)
		return zf_error(z, line, NP_EMALFORMED, "unsupported record type '%s'", t[i].s);
	i++;
	if (type == DNS_TYPE_SOA || type == DNS_TYPE_NS)
		return NP_OK; /* these come from the configuration */

	uint8_t rd[ZONE_MAX_RDATA];
	size_t rdlen = 0;
	ret = rdata(z, type, t + i, z->n_tok - i, rd, &rdlen);
	if (ret != NP_OK)
		return ret;
	ret = count_rr(z, z->prev_wire, z->prev_len, type);
	if (ret == NP_ETOOBIG)
		return zf_error(z, line, NP_ETOOBIG, "more than %d records of one type at %s",
		                ZONE_MAX_RRS_PER_TYPE, z->prev[0] != '\0' ? z->prev : ".");
	if (ret != NP_OK)
		return zf_error(z, line, ret, "out of memory");

	struct zonefile_rr rr = {
	    .owner = z->prev,
	    .owner_wire = z->prev_wire,
	    .owner_len = z->prev_len,
	    .origin = z->have_origin ? z->origin : "",
	    .type = type,
	    .ttl = have_ttl             ? ttl
	           : z->have_dollar_ttl ? z->dollar_ttl
	                                : z->default_ttl,
	    .ttl_default = !have_ttl && !z->have_dollar_ttl,
	    .rdlen = (uint16_t)rdlen,
	    .rdata = rd,
	    .line = line,
	};
	return z->cb(&rr, z->ctx);
}

/* Reads one physical line into linebuf without the newline. Returns its length, -1 at the
 * end of input, or an error. NUL bytes and over-long lines are refused. */
static int read_line(struct zf *z, size_t *len)
{
	size_t n = 0;
	int c = EOF;
	while ((c = getc(z->f)) != EOF && c != '\n') {
		if (c == '\0')
			return zf_error(z, z->line + 1, NP_EMALFORMED, "NUL byte");
		if (n == ZONEFILE_MAX_LINE)
			return zf_error(z, z->line + 1, NP_ETOOBIG, "line longer than %d bytes",
			                ZONEFILE_MAX_LINE);
		z->linebuf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return ferror(z->f) ? zf_error(z, z->line + 1, NP_EIO, "read error") : 1;
	z->line++;
	z->linebuf[n] = '\0';
	*len = n;
	return NP_OK;
}

int zonefile_parse(FILE *f, const char *name, const char *origin, uint32_t default_ttl,
                   zonefile_rr_cb *cb, void *ctx, char *err, size_t errlen)
{
	struct zf *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NP_ENOMEM;
	z->f = f;
	z->name = name;
	z->cb = cb;
	z->ctx = ctx;
	z->err = err;
	z->errlen = errlen;
	z->default_ttl = default_ttl;
	int ret = NP_OK;

	if (origin != NULL && origin[0] != '\0') {
		uint8_t wire[DNS_NAME_MAX];
		int len = dns_name_from_text(origin, wire, sizeof(wire));
		if (len < 1 ||
		    dns_name_to_text(wire, (size_t)len, z->origin, sizeof(z->origin)) < 0) {
			ret = zf_error(z, 0, NP_EMALFORMED, "bad origin '%s'", origin);
			goto done;
		}
		if (strcmp(z->origin, ".") == 0)
			z->origin[0] = '\0';
		z->have_origin = true;
	}

	for (;;) {
		size_t len = 0;
		ret = read_line(z, &len);
		if (ret == 1) {
			ret = NP_OK;
			break;
		}
		if (ret != NP_OK)
			break;
		if (z->depth == 0 && z->n_tok == 0) {
			z->rec_line = z->line;
			z->blank_owner = len > 0 && (z->linebuf[0] == ' ' || z->linebuf[0] == '\t');
		}
		ret = tokenize(z, z->linebuf, len);
		if (ret != NP_OK)
			break;
		if (z->depth == 0 && z->n_tok > 0) {
			ret = record(z);
			z->n_tok = 0;
			z->rec_len = 0;
			if (ret != NP_OK)
				break;
		}
	}
	if (ret == NP_OK && z->depth != 0)
		ret = zf_error(z, z->rec_line, NP_EMALFORMED, "unbalanced '(' at end of file");
done:
	for (size_t i = 0; i < z->count_cap; i++)
		free(z->counts[i].name);
	free(z->counts);
	free(z);
	return ret;
}

int zonefile_parse_mem(const char *buf, size_t len, const char *name, const char *origin,
                       uint32_t default_ttl, zonefile_rr_cb *cb, void *ctx, char *err,
                       size_t errlen)
{
	if (len == 0)
		return NP_OK; /* fmemopen refuses a zero size; an empty file holds nothing */
	FILE *f = fmemopen((void *)buf, len, "r");
	if (f == NULL)
		return NP_ENOMEM;
	int ret = zonefile_parse(f, name, origin, default_ttl, cb, ctx, err, errlen);
	fclose(f);
	return ret;
}

/* ---- writing ---- */

/* Length of the uncompressed wire name at p within len bytes, or -1. */
static int wire_name_len(const uint8_t *p, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		uint8_t l = p[pos];
		if (l == 0)
			return pos + 1 <= DNS_NAME_MAX ? (int)(pos + 1) : -1;
		if (l > DNS_LABEL_MAX)
			return -1;
		pos += 1 + (size_t)l;
	}
	return -1;
}

int zonefile_write_apex(FILE *out, const struct cfg_zone *cz, uint32_t serial)
{
	fprintf(out, "; zone %s, serial %u\n", cz->name, serial);
	fprintf(out, "%s.\t%u\tIN\tSOA\t%s.\t%s.\t%u %u %u %u %u\n", cz->name, cz->soa_ttl,
	        cz->ns[0], cz->contact, serial, cz->refresh, cz->retry, cz->expire,
	        cz->negative_ttl);
	for (unsigned i = 0; i < cz->n_ns; i++)
		fprintf(out, "%s.\t%u\tIN\tNS\t%s.\n", cz->name, cz->soa_ttl, cz->ns[i]);
	return ferror(out) ? NP_EIO : NP_OK;
}

/* Prints rdata as character-strings, quoting each and escaping what text cannot carry. */
static int write_txt(FILE *out, const uint8_t *rdata, size_t rdlen)
{
	size_t pos = 0;
	if (rdlen == 0)
		return NP_EMALFORMED;
	while (pos < rdlen) {
		size_t l = rdata[pos++];
		if (pos + l > rdlen)
			return NP_EMALFORMED;
		fputs(pos == 1 ? "\"" : " \"", out);
		for (size_t i = 0; i < l; i++) {
			uint8_t c = rdata[pos + i];
			if (c == '"' || c == '\\')
				fprintf(out, "\\%c", c);
			else if (c < 0x20 || c >= 0x7f)
				fprintf(out, "\\%03u", c);
			else
				fputc(c, out);
		}
		fputc('"', out);
		pos += l;
	}
	return NP_OK;
}

int zonefile_write_rr(FILE *out, const char *owner, uint16_t type, uint32_t ttl,
                      const uint8_t *rdata, size_t rdlen)
{
	char buf[DNS_NAME_MAX * 4 + 8];
	const char *tname;
	switch (type) {
	case DNS_TYPE_A:
		tname = "A";
		if (rdlen != 4)
			return NP_EMALFORMED;
		inet_ntop(AF_INET, rdata, buf, sizeof(buf));
		break;
	case DNS_TYPE_AAAA:
		tname = "AAAA";
		if (rdlen != 16)
			return NP_EMALFORMED;
		inet_ntop(AF_INET6, rdata, buf, sizeof(buf));
		break;
	case DNS_TYPE_MX: {
		tname = "MX";
		if (rdlen < 3 || wire_name_len(rdata + 2, rdlen - 2) != (int)(rdlen - 2))
			return NP_EMALFORMED;
		char name[DNS_NAME_MAX * 4 + 1];
		if (dns_name_to_text(rdata + 2, rdlen - 2, name, sizeof(name)) < 0)
			return NP_EMALFORMED;
		snprintf(buf, sizeof(buf), "%u %s%s", (unsigned)(rdata[0] << 8 | rdata[1]), name,
		         strcmp(name, ".") == 0 ? "" : ".");
		break;
	}
	case DNS_TYPE_TXT:
		/* Validate before printing anything, so a bad record leaves no half line. */
		for (size_t pos = 0; pos < rdlen; pos += 1 + (size_t)rdata[pos])
			if (pos + 1 + rdata[pos] > rdlen)
				return NP_EMALFORMED;
		if (rdlen == 0)
			return NP_EMALFORMED;
		fprintf(out, "%s.\t%u\tIN\tTXT\t", owner, ttl);
		if (write_txt(out, rdata, rdlen) != NP_OK)
			return NP_EMALFORMED;
		fputc('\n', out);
		return ferror(out) ? NP_EIO : NP_OK;
	default:
		return NP_EINVAL;
	}
	fprintf(out, "%s.\t%u\tIN\t%s\t%s\n", owner, ttl, tname, buf);
	return ferror(out) ? NP_EIO : NP_OK;
}
