/* SPDX-License-Identifier: MIT */
/* Threat feeds: three file formats read line by line into one immutable set. A line that
 * does not parse is reported with its file and number and skipped; the rest loads.
 *   spamhaus-drop     "CIDR ; SBLnnn" lines (";" comments), or the NDJSON form
 *                     {"cidr": ..., "sblid": ...} with its metadata line skipped
 *   urlhaus-hostfile  "0.0.0.0 host" (or "host" alone), "#" comments
 *   threatfox-csv     quoted CSV ("#" comments): ioc_value, ioc_type in fields 3 and 4;
 *                     domain and url give names, ip:port an address (a /32 or /128) */
#include "abuse/feed.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/macros.h"
#include "common/str.h"

static const char *const kind_names[FEED_KINDS] = {"spamhaus-drop", "urlhaus-hostfile",
                                                   "threatfox-csv"};

struct range4 {
	uint32_t lo, hi;
	char *label;
};

struct range6 {
	struct np_cidr cidr;
	char *label;
};

struct name {
	char *fqdn;
	enum feed_kind kind;
};

struct feed_set {
	struct range4 *v4;
	uint32_t *max_hi; /* max_hi[i]: the highest end among v4[0..i] (ranges may overlap) */
	size_t n4, cap4;
	struct range6 *v6;
	size_t n6, cap6;
	struct name *names;
	size_t n_names, cap_names;
	size_t total; /* entries, against FEED_MAX_ENTRIES */
	bool full;    /* reported once */
};

const char *feed_kind_name(enum feed_kind k)
{
	return (unsigned)k < FEED_KINDS ? kind_names[k] : "?";
}

bool feed_spec_parse(const char *spec, enum feed_kind *kind, const char **path)
{
	for (int k = 0; k < FEED_KINDS; k++) {
		size_t len = strlen(kind_names[k]);
		if (strncmp(spec, kind_names[k], len) == 0 && spec[len] == ':') {
			*kind = (enum feed_kind)k;
			*path = spec + len + 1;
			return true;
		}
	}
	return false;
}

struct loader {
	struct feed_set *fs;
	feed_report_fn *report;
	void *ctx;
	const char *file;
	unsigned line;
	enum feed_kind kind;
};

static void bad(struct loader *l, const char *why)
{
	if (l->report != NULL)
		l->report(l->ctx, l->file, l->line, why);
}

/* Room for one more entry; false (reported once) when the set is full or memory is out. */
static bool room(struct loader *l)
{
	if (l->fs->total < FEED_MAX_ENTRIES)
		return true;
	if (!l->fs->full)
		bad(l, "the feeds hold more than 2,000,000 entries: the rest is ignored");
	l->fs->full = true;
	return false;
}

static int add_range(struct loader *l, const struct np_cidr *c, const char *label)
{
	struct feed_set *fs = l->fs;
	if (!room(l))
		return NP_OK;
	char text[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN], full[256];
	snprintf(text, sizeof(text), "%s/%u", addr_format(&c->addr, addr, sizeof(addr)),
	         c->prefix);
	snprintf(full, sizeof(full), "%s %s%s%s", kind_names[l->kind], text,
	         label[0] != '\0' ? " " : "", label);
	char *dup = strdup(full);
	if (dup == NULL)
		return NP_ENOMEM;
	if (c->addr.family == AF_INET) {
		if (!array_grow((void **)&fs->v4, &fs->cap4, fs->n4 + 1, sizeof(*fs->v4), 256)) {
			free(dup);
			return NP_ENOMEM;
		}
		uint32_t a = (uint32_t)c->addr.bytes[0] << 24 | (uint32_t)c->addr.bytes[1] << 16 |
		             (uint32_t)c->addr.bytes[2] << 8 | c->addr.bytes[3];
		uint32_t mask = c->prefix == 0 ? 0 : 0xffffffffu << (32 - c->prefix);
		fs->v4[fs->n4++] = (struct range4){a & mask, (a & mask) | ~mask, dup};
	} else {
		if (!array_grow((void **)&fs->v6, &fs->cap6, fs->n6 + 1, sizeof(*fs->v6), 256)) {
			free(dup);
			return NP_ENOMEM;
		}
		fs->v6[fs->n6++] = (struct range6){*c, dup};
	}
	fs->total++;
	return NP_OK;
}

static int add_name(struct loader *l, const char *text, size_t len)
{
	char buf[CFG_NAME_MAX + 2], fqdn[CFG_NAME_MAX];
	if (len == 0 || len >= sizeof(buf)) {
		bad(l, "not a host name");
		return NP_OK;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (config_name_check(buf, fqdn, sizeof(fqdn)) != NP_OK || strchr(fqdn, '.') == NULL) {
		bad(l, "not a host name");
		return NP_OK;
	}
	if (!room(l))
		return NP_OK;
	struct feed_set *fs = l->fs;
	if (!array_grow((void **)&fs->names, &fs->cap_names, fs->n_names + 1, sizeof(*fs->names),
	                256))
		return NP_ENOMEM;
	char *dup = strdup(fqdn);
	if (dup == NULL)
		return NP_ENOMEM;
	fs->names[fs->n_names++] = (struct name){dup, l->kind};
	fs->total++;
	return NP_OK;
}

static const char *skip_blank(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int drop_line(struct loader *l, const char *s)
{
	struct np_cidr c;
	if (s[0] == '{') {
		json_t *o = json_loads(s, 0, NULL);
		const char *cidr = o != NULL ? json_string_value(json_object_get(o, "cidr")) : NULL;
		const char *sbl = o != NULL ? json_string_value(json_object_get(o, "sblid")) : NULL;
		/* The last line, {"type": "metadata", ...}, names no range. */
		bool metadata = o != NULL && cidr == NULL && json_object_get(o, "type") != NULL;
		int ret = NP_OK;
		if (!metadata && (cidr == NULL || cidr_parse(cidr, &c) != NP_OK))
			bad(l, "not a DROP record ({\"cidr\": \"PREFIX\", ...})");
		else if (!metadata)
			ret = add_range(l, &c, sbl != NULL ? sbl : "");
		json_decref(o);
		return ret;
	}
	char text[INET6_ADDRSTRLEN + 8];
	size_t n = strcspn(s, " \t;");
	if (n == 0 || n >= sizeof(text)) {
		bad(l, "not a CIDR prefix");
		return NP_OK;
	}
	memcpy(text, s, n);
	text[n] = '\0';
	if (strchr(text, '/') == NULL || cidr_parse(text, &c) != NP_OK) {
		bad(l, "not a CIDR prefix");
		return NP_OK;
	}
	const char *label = skip_blank(s + n);
	if (*label == ';')
		label = skip_blank(label + 1);
	char lab[64];
	size_t ln = strcspn(label, " \t");
	if (ln >= sizeof(lab))
		ln = sizeof(lab) - 1;
	memcpy(lab, label, ln);
	lab[ln] = '\0';
	return add_range(l, &c, lab);
}

static int hostfile_line(struct loader *l, const char *s)
{
	size_t n1 = strcspn(s, " \t");
	const char *second = skip_blank(s + n1);
	if (*second == '\0' || *second == '#')
		return add_name(l, s, n1); /* a bare name */
	char first[INET6_ADDRSTRLEN];
	struct np_addr a;
	if (n1 >= sizeof(first)) {
		bad(l, "expected 'ADDRESS NAME'");
		return NP_OK;
	}
	memcpy(first, s, n1);
	first[n1] = '\0';
	if (addr_parse(first, &a) != NP_OK) {
		bad(l, "expected 'ADDRESS NAME'");
		return NP_OK;
	}
	size_t n2 = strcspn(second, " \t#");
	const char *rest = skip_blank(second + n2);
	if (*rest != '\0' && *rest != '#') {
		bad(l, "expected 'ADDRESS NAME'");
		return NP_OK;
	}
	return add_name(l, second, n2);
}

/* Splits a line of quoted CSV fields ("a","b", "c"; "" inside is a quote) into f (NUL-
 * terminated copies in buf). Returns the number of fields, or -1 when it is not such a
 * line. */
static int csv_fields(const char *s, char *buf, size_t cap, const char **f, int max)
{
	int n = 0;
	size_t pos = 0;
	for (;;) {
		s = skip_blank(s);
		if (*s != '"' || n == max)
			return -1;
		s++;
		f[n++] = buf + pos;
		for (;;) {
			if (*s == '\0')
				return -1;
			if (*s == '"' && s[1] == '"')
				s++;
			else if (*s == '"')
				break;
			if (pos + 1 >= cap)
				return -1;
			buf[pos++] = *s++;
		}
		buf[pos++] = '\0';
		s = skip_blank(s + 1);
		if (*s == '\0')
			return n;
		if (*s != ',')
			return -1;
		s++;
	}
}

static int threatfox_line(struct loader *l, const char *s)
{
	char buf[FEED_LINE_MAX];
	const char *f[16];
	int n = csv_fields(s, buf, sizeof(buf), f, (int)ARRAY_SIZE(f));
	if (n < 4) {
		bad(l, "not a ThreatFox CSV record (quoted fields, ioc_value and ioc_type 3rd and "
		       "4th)");
		return NP_OK;
	}
	const char *value = f[2], *type = f[3];
	if (strcmp(type, "domain") == 0)
		return add_name(l, value, strlen(value));
	if (strcmp(type, "url") == 0) {
		const char *h = strstr(value, "://");
		h = h != NULL ? h + 3 : value;
		size_t len = strcspn(h, "/?#");
		const char *at = memchr(h, '@', len);
		if (at != NULL) {
			len -= (size_t)(at + 1 - h);
			h = at + 1;
		}
		if (len > 0 && h[0] == '[')
			return NP_OK; /* an IPv6 literal: an address, not a name of ours */
		size_t port = 0;
		while (port < len && h[port] != ':')
			port++;
		struct np_addr a;
		char host[CFG_NAME_MAX + 2];
		if (port == 0 || port >= sizeof(host)) {
			bad(l, "a url without a host");
			return NP_OK;
		}
		memcpy(host, h, port);
		host[port] = '\0';
		if (addr_parse(host, &a) == NP_OK)
			return NP_OK; /* an address in a URL locates a payload; not a name */
		return add_name(l, host, port);
	}
	if (strcmp(type, "ip:port") == 0) {
		char ip[INET6_ADDRSTRLEN + 2];
		const char *colon = strrchr(value, ':');
		size_t len = colon != NULL ? (size_t)(colon - value) : strlen(value);
		if (len > 1 && value[0] == '[' && value[len - 1] == ']') {
			value++;
			len -= 2;
		}
		struct np_cidr c;
		if (len == 0 || len >= sizeof(ip)) {
			bad(l, "not an ip:port");
			return NP_OK;
		}
		memcpy(ip, value, len);
		ip[len] = '\0';
		if (addr_parse(ip, &c.addr) != NP_OK) {
			bad(l, "not an ip:port");
			return NP_OK;
		}
		c.prefix = c.addr.family == AF_INET ? 32 : 128;
		return add_range(l, &c, n > 4 ? f[4] : "");
	}
	return NP_OK; /* hashes and other IOC types name nothing we serve */
}

static int load_file(struct loader *l, const char *path)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		char why[128];
		snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
		l->line = 0;
		bad(l, why);
		return NP_OK;
	}
	char buf[FEED_LINE_MAX + 2];
	int ret = NP_OK;
	bool skipping = false; /* inside a line longer than FEED_LINE_MAX */
	l->line = 0;
	while (ret == NP_OK && fgets(buf, sizeof(buf), fp) != NULL) {
		size_t len = strlen(buf);
		bool whole = len > 0 && buf[len - 1] == '\n';
		if (skipping) {
			skipping = !whole;
			continue;
		}
		l->line++;
		if (!whole && !feof(fp)) { /* fgets stops early at a NUL too */
			bad(l, "line too long, or a NUL in it");
			skipping = true;
			continue;
		}
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		                   buf[len - 1] == ' ' || buf[len - 1] == '\t'))
			buf[--len] = '\0';
		const char *s = skip_blank(buf);
		if (*s == '\0' || *s == '#' || (l->kind == FEED_SPAMHAUS_DROP && *s == ';'))
			continue;
		switch (l->kind) {
		case FEED_SPAMHAUS_DROP:
			ret = drop_line(l, s);
			break;
		case FEED_URLHAUS_HOSTFILE:
			ret = hostfile_line(l, s);
			break;
		default:
			ret = threatfox_line(l, s);
			break;
		}
	}
	fclose(fp);
	return ret;
}

static int cmp_range4(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct name *)a)->fqdn, ((const struct name *)b)->fqdn);
}

int feed_set_load(const char (*specs)[CFG_FEED_MAX], unsigned n, feed_report_fn *report,
                  void *ctx, struct feed_set **out)
{
	*out = NULL;
	struct feed_set *fs = calloc(1, sizeof(*fs));
	if (fs == NULL)
		return NP_ENOMEM;
	int ret = NP_OK;
	for (unsigned i = 0; i < n && ret == NP_OK; i++) {
		struct loader l = {.fs = fs, .report = report, .ctx = ctx};
		const char *path;
		if (!feed_spec_parse(specs[i], &l.kind, &path)) {
			l.file = specs[i];
			bad(&l, "not KIND:PATH");
			continue;
		}
		l.file = path;
		ret = load_file(&l, path);
	}
	if (ret == NP_OK && fs->n4 > 0) {
		qsort(fs->v4, fs->n4, sizeof(*fs->v4), cmp_range4);
		fs->max_hi = malloc(fs->n4 * sizeof(*fs->max_hi));
		if (fs->max_hi == NULL)
			ret = NP_ENOMEM;
		for (size_t i = 0; ret == NP_OK && i < fs->n4; i++)
			fs->max_hi[i] = i > 0 && fs->max_hi[i - 1] > fs->v4[i].hi ? fs->max_hi[i - 1]
			                                                          : fs->v4[i].hi;
	}
	if (ret == NP_OK && fs->n_names > 0) {
		qsort(fs->names, fs->n_names, sizeof(*fs->names), cmp_name);
		size_t w = 0; /* one entry per name: the first feed's */
		for (size_t i = 0; i < fs->n_names; i++) {
			if (w > 0 && strcmp(fs->names[w - 1].fqdn, fs->names[i].fqdn) == 0)
				free(fs->names[i].fqdn);
			else
				fs->names[w++] = fs->names[i];
		}
		fs->n_names = w;
	}
	if (ret != NP_OK) {
		feed_set_free(fs);
		return ret;
	}
	*out = fs;
	return NP_OK;
}

void feed_set_free(struct feed_set *fs)
{
	if (fs == NULL)
		return;
	for (size_t i = 0; i < fs->n4; i++)
		free(fs->v4[i].label);
	for (size_t i = 0; i < fs->n6; i++)
		free(fs->v6[i].label);
	for (size_t i = 0; i < fs->n_names; i++)
		free(fs->names[i].fqdn);
	free(fs->v4);
	free(fs->max_hi);
	free(fs->v6);
	free(fs->names);
	free(fs);
}

size_t feed_set_ranges(const struct feed_set *fs)
{
	return fs != NULL ? fs->n4 + fs->n6 : 0;
}

size_t feed_set_names(const struct feed_set *fs)
{
	return fs != NULL ? fs->n_names : 0;
}

bool feed_set_addr(const struct feed_set *fs, const struct np_addr *a, char *which, size_t len)
{
	const char *label = NULL;
	if (fs == NULL)
		return false;
	if (a->family == AF_INET && fs->n4 > 0) {
		uint32_t v = (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
		             (uint32_t)a->bytes[2] << 8 | a->bytes[3];
		/* The last range starting at or before v, then back while one may still reach. */
		size_t lo = 0, hi = fs->n4;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (fs->v4[mid].lo <= v)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i > 0 && fs->max_hi[i - 1] >= v; i--)
			if (fs->v4[i - 1].hi >= v) {
				label = fs->v4[i - 1].label;
				break;
			}
	} else if (a->family == AF_INET6) {
		for (size_t i = 0; i < fs->n6 && label == NULL; i++)
			if (cidr_contains(&fs->v6[i].cidr, a))
				label = fs->v6[i].label;
	}
	if (label != NULL && which != NULL)
		np_strlcpy(which, label, len);
	return label != NULL;
}

bool feed_set_name(const struct feed_set *fs, const char *fqdn, char *which, size_t len)
{
	if (fs == NULL || fs->n_names == 0)
		return false;
	struct name key = {(char *)fqdn, 0};
	const struct name *n = bsearch(&key, fs->names, fs->n_names, sizeof(key), cmp_name);
	if (n != NULL && which != NULL)
		np_strlcpy(which, kind_names[n->kind], len);
	return n != NULL;
}

int feed_set_each_name(const struct feed_set *fs,
                       int (*cb)(const char *fqdn, const char *kind, void *ctx), void *ctx)
{
	for (size_t i = 0; fs != NULL && i < fs->n_names; i++) {
		int r = cb(fs->names[i].fqdn, kind_names[fs->names[i].kind], ctx);
		if (r != 0)
			return r;
	}
	return 0;
}
