/* SPDX-License-Identifier: MIT */
/* The client's configuration: inih lexes the INI file, one declarative schema table says what
 * every key of [client] and [host FQDN] means, and this file applies it and checks secrets. */
#include "client/client.h"

#include <ctype.h>
#include <fcntl.h>
#include <ini.h>
#include <net/if.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

enum csect { CS_NONE, CS_CLIENT, CS_HOST };

enum ctype {
	CT_UINT,     /* unsigned within [min, max] */
	CT_STR,      /* a bounded string without control characters */
	CT_PATH,     /* a non-empty path, resolved against the config file's directory */
	CT_LOGLEVEL, /* error|warning|info|debug */
	CT_PROTO,    /* dyndns2 | rfc2136 */
	CT_URL,      /* an http:// or https:// URL */
	CT_SOURCE, /* an address source: none | interface:IF | checkip[:URL] | upnp[:URL] | static:A */
	CT_NAME,    /* a domain name, lowercase, no trailing dot */
	CT_SECRET,  /* an inline secret: the config file must not be readable by others */
	CT_SECFILE, /* a file holding the secret: must not be readable by others */
	CT_B64,     /* an inline base64 TSIG secret (secrecy like CT_SECRET) */
	CT_B64FILE, /* a file holding a base64 TSIG secret */
	CT_DNSADDR, /* ADDR@PORT or ADDR (port 53) */
	CT_CMD,     /* a shell command line for a hook */
};

#define OPT_RFC2136 0x01 /* only meaningful with protocol = rfc2136 */

/* One row per key. Offsets are into struct client_cfg for [client] rows and into struct
 * host_cfg for [host] rows; defaults are text run through the same parser. */
struct copt {
	enum csect sect;
	const char *key;
	enum ctype type;
	uint32_t min, max;
	const char *def;
	size_t off, size;
	unsigned flags;
};

#define FSIZE(type, m) sizeof(((type *)0)->m)
#define CC(m)          offsetof(struct client_cfg, m), FSIZE(struct client_cfg, m)
#define HH(m)          offsetof(struct host_cfg, m), FSIZE(struct host_cfg, m)

/* clang-format off */
static const struct copt copts[] = {
	{CS_CLIENT, "state_dir", CT_PATH, 0, 0, "/var/lib/nameplate", CC(state_dir), 0},
	{CS_CLIENT, "interval", CT_UINT, 1, 86400, "300", CC(interval), 0},
	{CS_CLIENT, "retry_base", CT_UINT, 1, 86400, "300", CC(retry_base), 0},
	{CS_CLIENT, "retry_max", CT_UINT, 1, 2592000, "21600", CC(retry_max), 0},
	{CS_CLIENT, "timeout", CT_UINT, 1, 300, "15", CC(timeout), 0},
	{CS_CLIENT, "log_level", CT_LOGLEVEL, 0, 0, "info", CC(log_level), 0},
	{CS_CLIENT, "server", CT_URL, 0, 0, NULL, CC(server), 0},

	{CS_HOST, "protocol", CT_PROTO, 0, 0, "dyndns2", HH(protocol), 0},
	{CS_HOST, "server", CT_URL, 0, 0, NULL, HH(server), 0},
	{CS_HOST, "user", CT_STR, 0, 0, NULL, HH(user), 0},
	{CS_HOST, "secret", CT_SECRET, 0, 0, NULL, HH(secret), 0},
	{CS_HOST, "secret_file", CT_SECFILE, 0, 0, NULL, HH(secret), 0},
	{CS_HOST, "ipv4", CT_SOURCE, 0, 0, NULL, HH(ipv4), 0},
	{CS_HOST, "ipv6", CT_SOURCE, 0, 0, "none", HH(ipv6), 0},
	{CS_HOST, "on_change", CT_CMD, 0, 0, NULL, HH(on_change), 0},
	{CS_HOST, "on_error", CT_CMD, 0, 0, NULL, HH(on_error), 0},
	{CS_HOST, "dns_server", CT_DNSADDR, 0, 0, NULL, HH(dns_server), OPT_RFC2136},
	{CS_HOST, "zone", CT_NAME, 0, 0, NULL, HH(zone), OPT_RFC2136},
	{CS_HOST, "tsig_key", CT_NAME, 0, 0, NULL, HH(tsig_name), OPT_RFC2136},
	{CS_HOST, "tsig_secret", CT_B64, 0, 0, NULL, HH(tsig_key), OPT_RFC2136},
	{CS_HOST, "tsig_secret_file", CT_B64FILE, 0, 0, NULL, HH(tsig_key), OPT_RFC2136},
	{CS_HOST, "ttl", CT_UINT, 0, 86400, "60", HH(ttl), OPT_RFC2136},
};
/* clang-format on */

_Static_assert(ARRAY_SIZE(copts) <= 64, "the seen bitmask holds 64 rows");
_Static_assert(sizeof(enum protocol) == sizeof(int), "CT_PROTO writes an int");

/* Parser state; lines are counted by our own reader, as in common/config.c. */
struct cctx {
	struct client_cfg *cfg;
	FILE *f;
	bool cfg_private; /* the config file is not readable by group or others */
	unsigned line;
	enum csect sect;
	struct host_cfg *host;
	bool key_in_sect;
	uint64_t seen;                           /* rows seen in the current section */
	unsigned client_line;                    /* [client] header line, 0 = absent */
	unsigned host_line[CLIENT_MAX_HOSTS];    /* [host] header lines */
	unsigned key_line[CLIENT_MAX_HOSTS][64]; /* line of each row in each host */
	crypto_generichash_state hash[CLIENT_MAX_HOSTS];
	bool failed;
	unsigned err_line;
	char *err;
	size_t errlen;
};

static void fail(struct cctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct cctx *c, const char *fmt, ...)
{
	if (c->failed)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->failed = true;
	c->err_line = c->line > 0 ? c->line : 1;
	snprintf(c->err, c->errlen, "%s:%u: %s", c->cfg->path, c->err_line, msg);
}

/* Reads a secret file into out (trailing white space removed), refusing one that group or
 * others can read: a leaked update secret lets anyone point the name elsewhere. */
static int read_secret_file(struct cctx *c, const char *val, char *out, size_t outlen, size_t *outn)
{
	char path[PATH_MAX];
	if (config_path_resolve(c->cfg->path, val, path, sizeof(path)) != NP_OK) {
		fail(c, "bad value for secret file: path too long");
		return NP_EINVAL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fail(c, "cannot open secret file %s: %m", path);
		return NP_EINVAL;
	}
	int ret = NP_EINVAL;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fail(c, "secret file %s is not a regular file", path);
		goto out;
	}
	if ((sb.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) != 0) {
		fail(c, "secret file %s is readable by others (chmod 600)", path);
		goto out;
	}
	size_t n = 0;
	while (n < outlen) {
		ssize_t r = read(fd, out + n, outlen - n);
		if (r < 0) {
			fail(c, "cannot read secret file %s: %m", path);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == outlen) {
		fail(c, "secret file %s holds more than %zu bytes", path, outlen - 1);
		goto out;
	}
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	out[n] = '\0';
	if (n == 0 || memchr(out, '\0', n) != NULL || str_has_ctl(out)) {
		fail(c, "secret file %s must hold one line of text", path);
		goto out;
	}
	*outn = n;
	ret = NP_OK;
out:
	close(fd);
	return ret;
}

static int parse_source(const char *key, const char *val, struct source_cfg *s, char *why,
                        size_t whylen)
{
	memset(s, 0, sizeof(*s));
	const char *colon = strchr(val, ':');
	size_t klen = colon != NULL ? (size_t)(colon - val) : strlen(val);
	const char *arg = colon != NULL ? colon + 1 : "";
	int family = strcmp(key, "ipv4") == 0 ? AF_INET : AF_INET6;

	if (klen == 4 && strncmp(val, "none", 4) == 0 && colon == NULL) {
		s->kind = SOURCE_NONE;
	} else if (klen == 9 && strncmp(val, "interface", 9) == 0) {
		size_t n = strlen(arg);
		if (n == 0 || n >= IFNAMSIZ || strchr(arg, '/') != NULL || str_has_ctl(arg) ||
		    strchr(arg, ' ') != NULL || strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0) {
			snprintf(why, whylen, "interface:IFNAME needs an interface name");
			return NP_EINVAL;
		}
		s->kind = SOURCE_INTERFACE;
	} else if ((klen == 7 && strncmp(val, "checkip", 7) == 0) ||
	           (klen == 4 && strncmp(val, "upnp", 4) == 0)) {
		s->kind = klen == 7 ? SOURCE_CHECKIP : SOURCE_UPNP;
		if (s->kind == SOURCE_UPNP && family != AF_INET) {
			/* An IGD reports only its external IPv4 address. */
			snprintf(why, whylen, "upnp gives an IPv4 address only");
			return NP_EINVAL;
		}
		if (colon != NULL && !config_http_url_ok(arg)) {
			snprintf(why, whylen, "%.*s:URL needs an http:// or https:// URL",
			         (int)klen, val);
			return NP_EINVAL;
		}
	} else if (klen == 6 && strncmp(val, "static", 6) == 0) {
		if (addr_parse(arg, &s->addr) != NP_OK || s->addr.family != family) {
			snprintf(why, whylen, "static:ADDR needs an IPv%c address",
			         family == AF_INET ? '4' : '6');
			return NP_EINVAL;
		}
		s->kind = SOURCE_STATIC;
	} else {
		snprintf(
		    why, whylen,
		    "must be none, interface:IFNAME, checkip[:URL], upnp[:URL] or static:ADDR");
		return NP_EINVAL;
	}
	if (np_strlcpy(s->arg, arg, sizeof(s->arg)) >= sizeof(s->arg)) {
		snprintf(why, whylen, "longer than %zu characters", sizeof(s->arg) - 1);
		return NP_EINVAL;
	}
	return NP_OK;
}

static int parse_b64(const char *val, struct host_cfg *h, char *why, size_t whylen)
{
	size_t n = 0;
	if (sodium_base642bin(h->tsig_key, sizeof(h->tsig_key), val, strlen(val), " \t\r\n", &n,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n == 0) {
		snprintf(why, whylen, "must be base64 (at most %zu bytes)", sizeof(h->tsig_key));
		return NP_EINVAL;
	}
	h->tsig_key_len = n;
	return NP_OK;
}

/* Applies one value. Secret rows need the context (file checks); others only the field. */
static int opt_apply(struct cctx *c, const struct copt *o, void *base, const char *val, char *why,
                     size_t whylen)
{
	char *field = (char *)base + o->off;
	struct host_cfg *h = base;
	uint32_t u;

	switch (o->type) {
	case CT_UINT:
		if (str_to_u32(val, o->min, o->max, &u) != NP_OK) {
			snprintf(why, whylen, "must be %u..%u", o->min, o->max);
			return NP_EINVAL;
		}
		*(unsigned *)field = u;
		return NP_OK;
	case CT_STR:
	case CT_CMD:
		if (np_strlcpy(field, val, o->size) >= o->size) {
			snprintf(why, whylen, "longer than %zu characters", o->size - 1);
			return NP_EINVAL;
		}
		if (str_has_ctl(val) || (o->type == CT_STR && val[0] == '\0') ||
		    (o->type == CT_STR && strchr(val, ':') != NULL)) {
			snprintf(why, whylen,
			         o->type == CT_STR ? "must be a non-empty name without ':'"
			                           : "must be one line");
			return NP_EINVAL;
		}
		return NP_OK;
	case CT_PATH:
		if (val[0] == '\0') {
			snprintf(why, whylen, "must not be empty");
			return NP_EINVAL;
		}
		if (config_path_resolve(c->cfg->path, val, field, o->size) != NP_OK) {
			snprintf(why, whylen, "path too long");
			return NP_EINVAL;
		}
		return NP_OK;
	case CT_LOGLEVEL:
		if (config_log_level(val, (int *)field) != NP_OK) {
			snprintf(why, whylen, "must be error, warning, info or debug");
			return NP_EINVAL;
		}
		return NP_OK;
	case CT_PROTO:
		if (strcmp(val, "dyndns2") == 0) {
			*(int *)field = PROTO_DYNDNS2;
		} else if (strcmp(val, "rfc2136") == 0) {
			*(int *)field = PROTO_RFC2136;
		} else {
			snprintf(why, whylen, "must be dyndns2 or rfc2136");
			return NP_EINVAL;
		}
		return NP_OK;
	case CT_URL:
		if (!config_http_url_ok(val) || np_strlcpy(field, val, o->size) >= o->size) {
			snprintf(why, whylen,
			         "must be an http:// or https:// URL without user info");
			return NP_EINVAL;
		}
		return NP_OK;
	case CT_SOURCE:
		return parse_source(o->key, val, (struct source_cfg *)field, why, whylen);
	case CT_NAME:
		if (config_name_check(val, field, o->size) != NP_OK) {
			snprintf(why, whylen, "must be a domain name");
			return NP_EINVAL;
		}
		return NP_OK;
	case CT_SECRET:
	case CT_B64:
		/* Inline secrets are only as private as the file they are written in. */
		if (!c->cfg_private) {
			fail(c,
			     "%s holds a secret and is readable by others (chmod 600, or use "
			     "%s_file)",
			     c->cfg->path, o->key);
			return NP_EINVAL;
		}
		if (o->type == CT_B64)
			return parse_b64(val, h, why, whylen);
		if (val[0] == '\0' || np_strlcpy(field, val, o->size) >= o->size) {
			snprintf(why, whylen, "must be 1..%zu characters", o->size - 1);
			return NP_EINVAL;
		}
		return NP_OK;
	case CT_SECFILE:
	case CT_B64FILE: {
		char buf[CLIENT_SECRET_MAX * 2];
		size_t n = 0;
		if (read_secret_file(c, val, buf, sizeof(buf), &n) != NP_OK)
			return NP_EINVAL; /* already reported with the file's name */
		int ret = NP_OK;
		if (o->type == CT_B64FILE) {
			ret = parse_b64(buf, h, why, whylen);
		} else if (n >= o->size) {
			snprintf(why, whylen, "the secret is longer than %zu characters",
			         o->size - 1);
			ret = NP_EINVAL;
		} else {
			memcpy(field, buf, n + 1);
		}
		sodium_memzero(buf, sizeof(buf));
		return ret;
	}
	case CT_DNSADDR: {
		char buf[80];
		const char *s = val;
		if (strchr(val, '@') == NULL) {
			if ((size_t)snprintf(buf, sizeof(buf), "%s@53", val) >= sizeof(buf))
				goto bad_dns;
			s = buf;
		}
		if (sockaddr_parse(s, '@', &h->dns_server, &h->dns_server_len) != NP_OK)
			goto bad_dns;
		return NP_OK;
	bad_dns:
		snprintf(why, whylen, "must be ADDR or ADDR@PORT");
		return NP_EINVAL;
	}
	}
	return NP_EINVAL;
}

static void apply_defaults(struct cctx *c, enum csect sect, void *base)
{
	char why[256];
	for (size_t i = 0; i < ARRAY_SIZE(copts); i++) {
		const struct copt *o = &copts[i];
		if (o->sect == sect && o->def != NULL &&
		    opt_apply(c, o, base, o->def, why, sizeof(why)) != NP_OK)
			abort(); /* a broken schema row: an internal invariant */
	}
}

/* The digest of a host section covers its header and every key = value line as inih hands
 * them over (trimmed), in file order: any edit of the section clears that host's latch. */
static void hash_line(struct cctx *c, const char *k, const char *v)
{
	crypto_generichash_state *st = &c->hash[c->host - c->cfg->hosts];
	crypto_generichash_update(st, (const unsigned char *)k, strlen(k));
	crypto_generichash_update(st, (const unsigned char *)"=", 1);
	crypto_generichash_update(st, (const unsigned char *)v, strlen(v));
	crypto_generichash_update(st, (const unsigned char *)"\n", 1);
}

static void section_begin(struct cctx *c, const char *s, size_t len)
{
	char text[CFG_NAME_MAX + 16];
	str_trim(&s, &len);
	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, s, len);
	text[len] = '\0';
	c->sect = CS_NONE;
	c->host = NULL;
	c->key_in_sect = false;
	c->seen = 0;

	if (strcmp(text, "client") == 0) {
		if (c->client_line != 0) {
			fail(c, "duplicate section [client] (first on line %u)", c->client_line);
			return;
		}
		c->client_line = c->line;
		c->sect = CS_CLIENT;
		return;
	}
	if (strncmp(text, "host", 4) != 0 || !isspace((unsigned char)text[4])) {
		fail(c, "unknown section [%s]", text);
		return;
	}
	const char *name = text + 5;
	size_t nlen = strlen(name);
	str_trim(&name, &nlen);
	struct client_cfg *cfg = c->cfg;
	if (cfg->n_hosts >= CLIENT_MAX_HOSTS) {
		fail(c, "more than %d hosts", CLIENT_MAX_HOSTS);
		return;
	}
	struct host_cfg *h = &cfg->hosts[cfg->n_hosts];
	memset(h, 0, sizeof(*h));
	char nbuf[CFG_NAME_MAX + 16];
	memcpy(nbuf, name, nlen);
	nbuf[nlen] = '\0';
	if (config_name_check(nbuf, h->fqdn, sizeof(h->fqdn)) != NP_OK ||
	    strchr(h->fqdn, '.') == NULL) {
		fail(c, "bad host name '%s': must be a fully qualified domain name", nbuf);
		return;
	}
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		if (strcmp(cfg->hosts[i].fqdn, h->fqdn) == 0) {
			fail(c, "duplicate host '%s' (first on line %u)", h->fqdn, c->host_line[i]);
			return;
		}
	}
	c->host_line[cfg->n_hosts] = c->line;
	c->host = h;
	c->sect = CS_HOST;
	cfg->n_hosts++;
	apply_defaults(c, CS_HOST, h);
	crypto_generichash_state *st = &c->hash[c->host - cfg->hosts];
	crypto_generichash_init(st, NULL, 0, sizeof(h->digest));
	hash_line(c, "host", h->fqdn);
}

static char *cfg_reader(char *str, int num, void *stream)
{
	struct cctx *c = stream;
	const char *header;
	size_t header_len;
	bool too_long;
	if (c->failed)
		return NULL;
	char *ret = config_read_line(str, num, c->f, &c->line, c->key_in_sect, &too_long, &header,
	                             &header_len);
	if (too_long) {
		fail(c, "line longer than %d characters", num - 3);
		return NULL;
	}
	if (header != NULL)
		section_begin(c, header, header_len);
	return ret;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cctx *c = user;
	(void)section;
	if (c->failed)
		return 0;
	c->key_in_sect = true;
	if (c->sect == CS_NONE) {
		fail(c, "key '%s' outside of any section", name);
		return 0;
	}
	size_t i;
	for (i = 0; i < ARRAY_SIZE(copts); i++)
		if (copts[i].sect == c->sect && strcmp(copts[i].key, name) == 0)
			break;
	char where[CFG_NAME_MAX + 16];
	if (c->sect == CS_HOST)
		snprintf(where, sizeof(where), "[host %s]", c->host->fqdn);
	else
		snprintf(where, sizeof(where), "[client]");
	if (i == ARRAY_SIZE(copts)) {
		fail(c, "unknown key '%s' in %s", name, where);
		return 0;
	}
	uint64_t bit = UINT64_C(1) << i;
	if ((c->seen & bit) != 0) {
		fail(c, "duplicate key '%s' in %s", name, where);
		return 0;
	}
	c->seen |= bit;
	void *base = c->cfg;
	if (c->sect == CS_HOST) {
		unsigned hi = (unsigned)(c->host - c->cfg->hosts);
		c->key_line[hi][i] = c->line;
		hash_line(c, name, value);
		base = c->host;
	}
	char why[512];
	why[0] = '\0';
	if (opt_apply(c, &copts[i], base, value, why, sizeof(why)) != NP_OK) {
		if (why[0] != '\0')
			fail(c, "bad value for '%s': %s", name, why);
		return 0;
	}
	return 1;
}

static size_t row_of(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(copts); i++)
		if (copts[i].sect == CS_HOST && strcmp(copts[i].key, key) == 0)
			return i;
	abort(); /* a key name not in the schema: an internal invariant */
}

/* The checks that need the whole section: required keys per protocol, one secret form. */
static void check_host(struct cctx *c, unsigned hi)
{
	struct host_cfg *h = &c->cfg->hosts[hi];
	const unsigned *kl = c->key_line[hi];
	unsigned hl = c->host_line[hi];
#define SEEN(k) (kl[row_of(k)] != 0)

	c->line = hl;
	if (!SEEN("ipv4") && !SEEN("ipv6")) {
		/* Nothing said: the IPv4 address the server sees. */
		h->ipv4.kind = SOURCE_CHECKIP;
	} else if (!SEEN("ipv4")) {
		h->ipv4.kind = SOURCE_NONE;
	}
	if (h->ipv4.kind == SOURCE_NONE && h->ipv6.kind == SOURCE_NONE) {
		fail(c, "[host %s]: ipv4 and ipv6 are both none", h->fqdn);
		return;
	}
	if (SEEN("secret") && SEEN("secret_file")) {
		c->line = kl[row_of("secret_file")];
		fail(c, "[host %s]: use either 'secret' or 'secret_file'", h->fqdn);
		return;
	}
	if (SEEN("tsig_secret") && SEEN("tsig_secret_file")) {
		c->line = kl[row_of("tsig_secret_file")];
		fail(c, "[host %s]: use either 'tsig_secret' or 'tsig_secret_file'", h->fqdn);
		return;
	}
	/* A host without its own server uses the one of [client] (typically our own); the
	 * inherited URL is part of the host's digest like one written in the section. */
	bool has_server = SEEN("server");
	if (!has_server && c->cfg->server[0] != '\0') {
		np_strlcpy(h->server, c->cfg->server, sizeof(h->server));
		crypto_generichash_update(&c->hash[hi], (const unsigned char *)"server=", 7);
		crypto_generichash_update(&c->hash[hi], (const unsigned char *)h->server,
		                          strlen(h->server));
		has_server = true;
	}
	bool default_checkip = (h->ipv4.kind == SOURCE_CHECKIP && h->ipv4.arg[0] == '\0') ||
	                       (h->ipv6.kind == SOURCE_CHECKIP && h->ipv6.arg[0] == '\0');
	if (h->protocol == PROTO_DYNDNS2) {
		for (size_t i = 0; i < ARRAY_SIZE(copts); i++) {
			if (copts[i].sect == CS_HOST && (copts[i].flags & OPT_RFC2136) != 0 &&
			    kl[i] != 0) {
				c->line = kl[i];
				fail(c, "'%s' applies only to protocol = rfc2136", copts[i].key);
				return;
			}
		}
		if (!has_server) {
			fail(c, "missing 'server' in [host %s] (or in [client])", h->fqdn);
			return;
		}
		if (!SEEN("user")) {
			fail(c, "missing 'user' in [host %s]", h->fqdn);
			return;
		}
		if (!SEEN("secret") && !SEEN("secret_file")) {
			fail(c, "missing 'secret_file' (or 'secret') in [host %s]", h->fqdn);
			return;
		}
		return;
	}
	/* rfc2136 */
	if (!SEEN("dns_server")) {
		fail(c, "missing 'dns_server' in [host %s]", h->fqdn);
		return;
	}
	if (!SEEN("tsig_key")) {
		fail(c, "missing 'tsig_key' in [host %s]", h->fqdn);
		return;
	}
	if (!SEEN("tsig_secret") && !SEEN("tsig_secret_file")) {
		fail(c, "missing 'tsig_secret_file' (or 'tsig_secret') in [host %s]", h->fqdn);
		return;
	}
	if (default_checkip && !has_server) {
		fail(c, "[host %s]: checkip without a URL needs 'server' (whose /checkip is asked)",
		     h->fqdn);
		return;
	}
	if (!SEEN("zone")) {
		np_strlcpy(h->zone, strchr(h->fqdn, '.') + 1, sizeof(h->zone));
	} else {
		size_t fl = strlen(h->fqdn), zl = strlen(h->zone);
		if (zl > fl || strcmp(h->fqdn + fl - zl, h->zone) != 0 ||
		    (zl < fl && h->fqdn[fl - zl - 1] != '.')) {
			c->line = kl[row_of("zone")];
			fail(c, "host %s is not inside zone %s", h->fqdn, h->zone);
			return;
		}
	}
#undef SEEN
}

int client_config_load(const char *path, struct client_cfg *cfg, char *err, size_t errlen)
{
	int ret = NP_EINVAL;
	struct cctx *c = calloc(1, sizeof(*c));
	memset(cfg, 0, sizeof(*cfg));
	if (errlen > 0)
		err[0] = '\0';
	if (c == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NP_ENOMEM;
	}
	if (np_strlcpy(cfg->path, path, sizeof(cfg->path)) >= sizeof(cfg->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		goto out;
	}
	c->cfg = cfg;
	c->err = err;
	c->errlen = errlen;
	apply_defaults(c, CS_CLIENT, cfg);

	c->f = fopen(path, "re");
	if (c->f == NULL) {
		snprintf(err, errlen, "%s: %m", path);
		goto out;
	}
	struct stat sb;
	c->cfg_private = fstat(fileno(c->f), &sb) == 0 && (sb.st_mode & (S_IRGRP | S_IROTH)) == 0;
	int r = ini_parse_stream(cfg_reader, c, cfg_handler, c);
	bool read_error = ferror(c->f) != 0;
	fclose(c->f);
	if (read_error && !c->failed) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (r > 0 && (!c->failed || (unsigned)r < c->err_line)) {
		snprintf(err, errlen, "%s:%d: syntax error", path, r);
		goto out;
	}
	if (r < 0 && !c->failed) {
		snprintf(err, errlen, "%s: cannot parse", path);
		goto out;
	}
	if (c->failed)
		goto out;
	if (cfg->n_hosts == 0) {
		fail(c, "no [host FQDN] section");
		goto out;
	}
	if (cfg->retry_max < cfg->retry_base) {
		c->line = c->client_line;
		fail(c, "retry_max (%u) is smaller than retry_base (%u)", cfg->retry_max,
		     cfg->retry_base);
		goto out;
	}
	for (unsigned i = 0; i < cfg->n_hosts && !c->failed; i++) {
		check_host(c, i);
		/* The secrets themselves count too: fixing a secret file clears a badauth latch. */
		struct host_cfg *h = &cfg->hosts[i];
		crypto_generichash_update(&c->hash[i], (const unsigned char *)"\0", 1);
		crypto_generichash_update(&c->hash[i], (const unsigned char *)h->secret,
		                          strlen(h->secret));
		crypto_generichash_update(&c->hash[i], h->tsig_key, h->tsig_key_len);
		crypto_generichash_final(&c->hash[i], h->digest, sizeof(h->digest));
	}
	if (!c->failed)
		ret = NP_OK;
out:
	if (ret != NP_OK)
		sodium_memzero(cfg->hosts, sizeof(cfg->hosts));
	sodium_memzero(c, sizeof(*c));
	free(c);
	return ret;
}
