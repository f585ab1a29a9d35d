/* SPDX-License-Identifier: MIT */
/* The client's configuration: the schema table of [client] and [host FQDN], the parsers of
 * the client's own value types (sources, secrets, TSIG keys) and the checks across keys of
 * a host; the schema engine (common/schema.c) reads the file. */
#include "client/client.h"

#include <net/if.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/macros.h"
#include "common/schema.h"
#include "common/secret.h"
#include "common/str.h"

enum csect { CS_NONE, CS_CLIENT, CS_HOST, CS_COUNT };

static const char *const csect_names[CS_COUNT] = {"", "client", "host"};

#define OPT_RFC2136 SCHEMA_USER /* only meaningful with protocol = rfc2136 */

static schema_parse_fn parse_str, parse_cmd, parse_path, parse_proto, parse_url, parse_src,
    parse_secret, parse_secret_file, parse_tsig, parse_tsig_file, parse_dns_addr;

#define FSIZE(type, m) sizeof(((type *)0)->m)
#define CC(m)          offsetof(struct client_cfg, m), FSIZE(struct client_cfg, m), 0, 0
#define HH(m)          offsetof(struct host_cfg, m), FSIZE(struct host_cfg, m), 0, 0

/* Offsets are into struct client_cfg for [client] rows and into struct host_cfg for [host]
 * rows. */
/* clang-format off */
static const struct schema_row copts[] = {
	{CS_CLIENT, "state_dir", parse_path, 0, 0, "/var/lib/nameplate", CC(state_dir), 0},
	{CS_CLIENT, "interval", schema_uint, 1, 86400, "300", CC(interval), 0},
	{CS_CLIENT, "retry_base", schema_uint, 1, 86400, "300", CC(retry_base), 0},
	{CS_CLIENT, "retry_max", schema_uint, 1, 2592000, "21600", CC(retry_max), 0},
	{CS_CLIENT, "timeout", schema_uint, 1, 300, "15", CC(timeout), 0},
	{CS_CLIENT, "log_level", schema_loglevel, 0, 0, "info", CC(log_level), 0},
	{CS_CLIENT, "server", parse_url, 0, 0, NULL, CC(server), 0},

	{CS_HOST, "protocol", parse_proto, 0, 0, "dyndns2", HH(protocol), 0},
	{CS_HOST, "server", parse_url, 0, 0, NULL, HH(server), 0},
	{CS_HOST, "user", parse_str, 0, 0, NULL, HH(user), 0},
	{CS_HOST, "secret", parse_secret, 0, 0, NULL, HH(secret), 0},
	{CS_HOST, "secret_file", parse_secret_file, 0, 0, NULL, HH(secret), 0},
	{CS_HOST, "ipv4", parse_src, 0, 0, NULL, HH(ipv4), 0},
	{CS_HOST, "ipv6", parse_src, 0, 0, "none", HH(ipv6), 0},
	{CS_HOST, "on_change", parse_cmd, 0, 0, NULL, HH(on_change), 0},
	{CS_HOST, "on_error", parse_cmd, 0, 0, NULL, HH(on_error), 0},
	{CS_HOST, "dns_server", parse_dns_addr, 0, 0, NULL, HH(dns_server), OPT_RFC2136},
	{CS_HOST, "zone", schema_name, 0, 0, NULL, HH(zone), OPT_RFC2136},
	{CS_HOST, "tsig_key", schema_name, 0, 0, NULL, HH(tsig_name), OPT_RFC2136},
	{CS_HOST, "tsig_secret", parse_tsig, 0, 0, NULL, HH(tsig_key), OPT_RFC2136},
	{CS_HOST, "tsig_secret_file", parse_tsig_file, 0, 0, NULL, HH(tsig_key), OPT_RFC2136},
	{CS_HOST, "ttl", schema_uint, 0, 86400, "60", HH(ttl), OPT_RFC2136},
};
/* clang-format on */

_Static_assert(ARRAY_SIZE(copts) <= SCHEMA_MAX_ROWS, "the engine holds SCHEMA_MAX_ROWS rows");
_Static_assert(CLIENT_MAX_HOSTS <= SCHEMA_MAX_NAMED, "the engine holds 64 hosts");
_Static_assert(sizeof(enum protocol) == sizeof(int), "parse_proto writes an int");

/* Parser state: the engine's, and the digest of each host section being read. */
struct cctx {
	struct schema_ctx sc;
	crypto_generichash_state hash[CLIENT_MAX_HOSTS];
};

static int parse_str(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                     char *why, size_t whylen)
{
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	if (str_has_ctl(val) || val[0] == '\0' || strchr(val, ':') != NULL) {
		snprintf(why, whylen, "must be a non-empty name without ':'");
		return NP_EINVAL;
	}
	return NP_OK;
}

static int parse_cmd(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                     char *why, size_t whylen)
{
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	if (str_has_ctl(val)) {
		snprintf(why, whylen, "must be one line");
		return NP_EINVAL;
	}
	return NP_OK;
}

/* A non-empty path, relative to the config file's directory. */
static int parse_path(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                      char *why, size_t whylen)
{
	if (val[0] == '\0') {
		snprintf(why, whylen, "must not be empty");
		return NP_EINVAL;
	}
	if (config_path_resolve(c->path, val, schema_field(r, base), r->size) != NP_OK) {
		snprintf(why, whylen, "path too long");
		return NP_EINVAL;
	}
	return NP_OK;
}

static int parse_proto(struct schema_ctx *c, const struct schema_row *r, void *base,
                       const char *val, char *why, size_t whylen)
{
	(void)c;
	int *field = schema_field(r, base);
	if (strcmp(val, "dyndns2") == 0) {
		*field = PROTO_DYNDNS2;
	} else if (strcmp(val, "rfc2136") == 0) {
		*field = PROTO_RFC2136;
	} else {
		snprintf(why, whylen, "must be dyndns2 or rfc2136");
		return NP_EINVAL;
	}
	return NP_OK;
}

static int parse_url(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                     char *why, size_t whylen)
{
	(void)c;
	if (!config_http_url_ok(val) ||
	    np_strlcpy(schema_field(r, base), val, r->size) >= r->size) {
		snprintf(why, whylen, "must be an http:// or https:// URL without user info");
		return NP_EINVAL;
	}
	return NP_OK;
}

static int source_parse(const char *key, const char *val, struct source_cfg *s, char *why,
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

/* An address source: none | interface:IF | checkip[:URL] | upnp[:URL] | static:ADDR. */
static int parse_src(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                     char *why, size_t whylen)
{
	(void)c;
	return source_parse(r->key, val, schema_field(r, base), why, whylen);
}

/* An inline secret is only as private as the file it is written in: that file must then
 * pass the rule of secret files too. */
static bool inline_secret_ok(struct schema_ctx *c, const struct schema_row *r)
{
	struct stat sb;
	if (fstat(fileno(c->f), &sb) == 0 && secret_file_private(&sb))
		return true;
	schema_fail(c, "%s holds a secret and is readable by others (chmod 600, or use %s_file)",
	            c->path, r->key);
	return false;
}

static int parse_secret(struct schema_ctx *c, const struct schema_row *r, void *base,
                        const char *val, char *why, size_t whylen)
{
	if (!inline_secret_ok(c, r))
		return NP_EINVAL;
	if (val[0] == '\0' || np_strlcpy(schema_field(r, base), val, r->size) >= r->size) {
		snprintf(why, whylen, "must be 1..%zu characters", r->size - 1);
		return NP_EINVAL;
	}
	return NP_OK;
}

static int parse_tsig(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                      char *why, size_t whylen)
{
	if (!inline_secret_ok(c, r))
		return NP_EINVAL;
	return parse_b64(val, base, why, whylen);
}

/* Reads a secret file (relative to the config file) into buf; reports failures itself,
 * with the file's name. */
static int read_secret_file(struct schema_ctx *c, const char *val, char *buf, size_t buflen,
                            size_t *n)
{
	char path[PATH_MAX], why[PATH_MAX + 128];
	if (config_path_resolve(c->path, val, path, sizeof(path)) != NP_OK) {
		schema_fail(c, "bad value for secret file: path too long");
		return NP_EINVAL;
	}
	if (secret_file_read(path, "secret file", "one line of text", buf, buflen, n, why,
	                     sizeof(why)) != NP_OK) {
		schema_fail(c, "%s", why);
		return NP_EINVAL;
	}
	return NP_OK;
}

static int parse_secret_file(struct schema_ctx *c, const struct schema_row *r, void *base,
                             const char *val, char *why, size_t whylen)
{
	char buf[CLIENT_SECRET_MAX * 2];
	size_t n = 0;
	int ret = read_secret_file(c, val, buf, sizeof(buf), &n);
	if (ret == NP_OK && n >= r->size) {
		snprintf(why, whylen, "the secret is longer than %zu characters", r->size - 1);
		ret = NP_EINVAL;
	} else if (ret == NP_OK) {
		memcpy(schema_field(r, base), buf, n + 1);
	}
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

static int parse_tsig_file(struct schema_ctx *c, const struct schema_row *r, void *base,
                           const char *val, char *why, size_t whylen)
{
	(void)r;
	char buf[CLIENT_SECRET_MAX * 2];
	size_t n = 0;
	int ret = read_secret_file(c, val, buf, sizeof(buf), &n);
	if (ret == NP_OK)
		ret = parse_b64(buf, base, why, whylen);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* ADDR@PORT, or ADDR for port 53. */
static int parse_dns_addr(struct schema_ctx *c, const struct schema_row *r, void *base,
                          const char *val, char *why, size_t whylen)
{
	(void)c;
	(void)r;
	struct host_cfg *h = base;
	char buf[80];
	const char *s = val;
	if (strchr(val, '@') == NULL) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s@53", val) >= sizeof(buf))
			goto bad;
		s = buf;
	}
	if (sockaddr_parse(s, '@', &h->dns_server, &h->dns_server_len) != NP_OK)
		goto bad;
	return NP_OK;
bad:
	snprintf(why, whylen, "must be ADDR or ADDR@PORT");
	return NP_EINVAL;
}

/* The digest of a host section covers its header and every key = value line as inih hands
 * them over (trimmed), in file order: any edit of the section clears that host's latch. */
static void hash_line(struct cctx *c, unsigned hi, const char *k, const char *v)
{
	crypto_generichash_state *st = &c->hash[hi];
	crypto_generichash_update(st, (const unsigned char *)k, strlen(k));
	crypto_generichash_update(st, (const unsigned char *)"=", 1);
	crypto_generichash_update(st, (const unsigned char *)v, strlen(v));
	crypto_generichash_update(st, (const unsigned char *)"\n", 1);
}

static void on_key(struct schema_ctx *sc, const char *key, const char *val)
{
	if (sc->sect == CS_HOST)
		hash_line(container_of(sc, struct cctx, sc), sc->inst - 1, key, val);
}

/* A host name must be fully qualified: the zone is its parent by default. */
static int fqdn_check(const char *in, char *out, size_t outlen)
{
	if (config_name_check(in, out, outlen) != NP_OK || strchr(out, '.') == NULL)
		return NP_EINVAL;
	return NP_OK;
}

static void *host_open(struct schema_ctx *sc, unsigned i, const char *name)
{
	struct cctx *c = container_of(sc, struct cctx, sc);
	struct client_cfg *cfg = sc->root;
	struct host_cfg *h = &cfg->hosts[i];
	memset(h, 0, sizeof(*h));
	np_strlcpy(h->fqdn, name, sizeof(h->fqdn));
	cfg->n_hosts = i + 1;
	crypto_generichash_init(&c->hash[i], NULL, 0, sizeof(h->digest));
	hash_line(c, i, "host", h->fqdn);
	return h;
}

static const struct schema client_file = {
    .sects = csect_names,
    .n_sects = CS_COUNT,
    .rows = copts,
    .n_rows = ARRAY_SIZE(copts),
    .named = CS_HOST,
    .max_named = CLIENT_MAX_HOSTS,
    .named_name_off = offsetof(struct host_cfg, fqdn),
    .named_bad = "must be a fully qualified domain name",
    .named_check = fqdn_check,
    .named_open = host_open,
    .on_key = on_key,
};

/* The checks that need the whole section: required keys per protocol, one secret form. */
static void check_host(struct cctx *cc, unsigned hi)
{
	struct schema_ctx *c = &cc->sc;
	struct client_cfg *cfg = c->root;
	struct host_cfg *h = &cfg->hosts[hi];
#define LINE(k) schema_key_line(c, h, k)
#define SEEN(k) (LINE(k) != 0)

	c->line = c->named_line[hi];
	if (!SEEN("ipv4") && !SEEN("ipv6")) {
		/* Nothing said: the IPv4 address the server sees. */
		h->ipv4.kind = SOURCE_CHECKIP;
	} else if (!SEEN("ipv4")) {
		h->ipv4.kind = SOURCE_NONE;
	}
	if (h->ipv4.kind == SOURCE_NONE && h->ipv6.kind == SOURCE_NONE) {
		schema_fail(c, "[host %s]: ipv4 and ipv6 are both none", h->fqdn);
		return;
	}
	if (SEEN("secret") && SEEN("secret_file")) {
		c->line = LINE("secret_file");
		schema_fail(c, "[host %s]: use either 'secret' or 'secret_file'", h->fqdn);
		return;
	}
	if (SEEN("tsig_secret") && SEEN("tsig_secret_file")) {
		c->line = LINE("tsig_secret_file");
		schema_fail(c, "[host %s]: use either 'tsig_secret' or 'tsig_secret_file'",
		            h->fqdn);
		return;
	}
	/* A host without its own server uses the one of [client] (typically our own); the
	 * inherited URL is part of the host's digest like one written in the section. */
	bool has_server = SEEN("server");
	if (!has_server && cfg->server[0] != '\0') {
		np_strlcpy(h->server, cfg->server, sizeof(h->server));
		crypto_generichash_update(&cc->hash[hi], (const unsigned char *)"server=", 7);
		crypto_generichash_update(&cc->hash[hi], (const unsigned char *)h->server,
		                          strlen(h->server));
		has_server = true;
	}
	bool default_checkip = (h->ipv4.kind == SOURCE_CHECKIP && h->ipv4.arg[0] == '\0') ||
	                       (h->ipv6.kind == SOURCE_CHECKIP && h->ipv6.arg[0] == '\0');
	if (h->protocol == PROTO_DYNDNS2) {
		for (size_t i = 0; i < ARRAY_SIZE(copts); i++) {
			if ((copts[i].flags & OPT_RFC2136) != 0 && SEEN(copts[i].key)) {
				c->line = LINE(copts[i].key);
				schema_fail(c, "'%s' applies only to protocol = rfc2136",
				            copts[i].key);
				return;
			}
		}
		if (!has_server) {
			schema_fail(c, "missing 'server' in [host %s] (or in [client])", h->fqdn);
			return;
		}
		if (!SEEN("user")) {
			schema_fail(c, "missing 'user' in [host %s]", h->fqdn);
			return;
		}
		if (!SEEN("secret") && !SEEN("secret_file")) {
			schema_fail(c, "missing 'secret_file' (or 'secret') in [host %s]", h->fqdn);
			return;
		}
		return;
	}
	/* rfc2136 */
	if (!SEEN("dns_server")) {
		schema_fail(c, "missing 'dns_server' in [host %s]", h->fqdn);
		return;
	}
	if (!SEEN("tsig_key")) {
		schema_fail(c, "missing 'tsig_key' in [host %s]", h->fqdn);
		return;
	}
	if (!SEEN("tsig_secret") && !SEEN("tsig_secret_file")) {
		schema_fail(c, "missing 'tsig_secret_file' (or 'tsig_secret') in [host %s]",
		            h->fqdn);
		return;
	}
	if (default_checkip && !has_server) {
		schema_fail(
		    c, "[host %s]: checkip without a URL needs 'server' (whose /checkip is asked)",
		    h->fqdn);
		return;
	}
	if (!SEEN("zone")) {
		np_strlcpy(h->zone, strchr(h->fqdn, '.') + 1, sizeof(h->zone));
	} else {
		size_t fl = strlen(h->fqdn), zl = strlen(h->zone);
		if (zl > fl || strcmp(h->fqdn + fl - zl, h->zone) != 0 ||
		    (zl < fl && h->fqdn[fl - zl - 1] != '.')) {
			c->line = LINE("zone");
			schema_fail(c, "host %s is not inside zone %s", h->fqdn, h->zone);
			return;
		}
	}
#undef SEEN
#undef LINE
}

int client_config_load(const char *path, struct client_cfg *cfg, char *err, size_t errlen)
{
	int ret = NP_EINVAL;
	struct cctx *cc = calloc(1, sizeof(*cc));
	struct schema_ctx *c = &cc->sc;
	memset(cfg, 0, sizeof(*cfg));
	if (errlen > 0)
		err[0] = '\0';
	if (cc == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NP_ENOMEM;
	}
	if (np_strlcpy(cfg->path, path, sizeof(cfg->path)) >= sizeof(cfg->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		goto out;
	}
	schema_init(c, &client_file, cfg->path, cfg, err, errlen);
	if (schema_parse(c) != NP_OK)
		goto out;
	if (cfg->n_hosts == 0) {
		schema_fail(c, "no [host FQDN] section");
		goto out;
	}
	if (cfg->retry_max < cfg->retry_base) {
		c->line = c->sect_line[CS_CLIENT];
		schema_fail(c, "retry_max (%u) is smaller than retry_base (%u)", cfg->retry_max,
		            cfg->retry_base);
		goto out;
	}
	for (unsigned i = 0; i < cfg->n_hosts && !c->failed; i++) {
		check_host(cc, i);
		/* The secrets themselves count too: fixing a secret file clears a badauth latch. */
		struct host_cfg *h = &cfg->hosts[i];
		crypto_generichash_update(&cc->hash[i], (const unsigned char *)"\0", 1);
		crypto_generichash_update(&cc->hash[i], (const unsigned char *)h->secret,
		                          strlen(h->secret));
		crypto_generichash_update(&cc->hash[i], h->tsig_key, h->tsig_key_len);
		crypto_generichash_final(&cc->hash[i], h->digest, sizeof(h->digest));
	}
	if (!c->failed)
		ret = NP_OK;
out:
	if (ret != NP_OK)
		sodium_memzero(cfg->hosts, sizeof(cfg->hosts));
	sodium_memzero(cc, sizeof(*cc));
	free(cc);
	return ret;
}
