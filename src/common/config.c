/* SPDX-License-Identifier: MIT */
/* The configuration parser: inih lexes the INI file, one declarative schema table says what
 * every key means (type, range, default, field), and this file applies the table. */
#include "common/config.h"

#include <ctype.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

/* Zone names are checked here with a small LDH validator rather than dns_name_from_text:
 * libcommon must not depend on libdns (STYLE A). Both accept the same characters. */
#define CFG_LABEL_MAX 63
#define CFG_TEXT_MAX  253 /* longest textual name without the trailing dot */

enum cfg_sect {
	SECT_NONE,
	SECT_SERVER,
	SECT_DNS,
	SECT_HTTP,
	SECT_OBSERVE,
	SECT_CHECK,
	SECT_MAIL,
	SECT_ZONE, /* the only repeatable section; keep it last */
	SECT_COUNT
};

static const char *const sect_names[SECT_COUNT] = {"",        "server", "dns",  "http",
                                                   "observe", "check",  "mail", "zone"};

enum cfg_type {
	T_UINT,     /* unsigned / uint32_t within [min, max] */
	T_STR,      /* a bounded string; size is the field size */
	T_PATH,     /* like T_STR; resolved against the config file's directory later */
	T_LOGLEVEL, /* error|warning|info|debug -> LOG_* into an int */
	T_LISTEN,   /* repeatable struct cfg_listen list; sep is '@' or ':' */
	T_CIDRS,    /* repeatable struct np_cidr list, each value a space/comma list */
	T_NAME,     /* a domain name, lowercase, without the trailing dot */
	T_NAMES,    /* repeatable T_NAME into a char[][CFG_NAME_MAX] list */
	T_CONTACT,  /* an SOA RNAME: "hostmaster.dyn.example" or "hostmaster@dyn.example" */
};

#define OPT_REQUIRED 0x01 /* must appear (lists: at least once) */
#define OPT_REPEAT   0x02 /* may appear more than once (lists) */

struct cfg_opt;
/* An extra check after the typed parse, given the field; writes why it failed. */
typedef int cfg_validate_fn(const struct cfg_opt *o, void *field, char *why, size_t whylen);

/* One row per option. Offsets are into struct config, or into struct cfg_zone for SECT_ZONE
 * rows. Defaults are text run through the same parser as file values. */
struct cfg_opt {
	enum cfg_sect sect;
	const char *key;
	enum cfg_type type;
	uint32_t min, max;  /* T_UINT range */
	const char *def;    /* NULL: no default (zeroed) */
	size_t off;         /* the field (lists: the array) */
	size_t size;        /* the field's size (lists: one element) */
	size_t off_count;   /* lists: the unsigned element count */
	unsigned max_count; /* lists: capacity */
	char sep;           /* T_LISTEN: '@' (DNS) or ':' (HTTP) */
	unsigned flags;
	cfg_validate_fn *validate;
};

#define FSIZE(type, member) sizeof(((type *)0)->member)
#define C(member)           offsetof(struct config, member), FSIZE(struct config, member)
#define Z(member)           offsetof(struct cfg_zone, member), FSIZE(struct cfg_zone, member)

static cfg_validate_fn check_user, check_url, check_mail, check_mail_tls;

/* The schema. Adding an option = one row here + the field in config.h + docs + a test. */
/* clang-format off */
static const struct cfg_opt cfg_schema[] = {
	{SECT_SERVER, "data_dir", T_PATH, 0, 0, NULL, C(data_dir), 0, 0, 0, OPT_REQUIRED, NULL},
	{SECT_SERVER, "user", T_STR, 0, 0, "", C(user), 0, 0, 0, 0, check_user},
	{SECT_SERVER, "log_level", T_LOGLEVEL, 0, 0, "info", C(log_level), 0, 0, 0, 0, NULL},

	{SECT_DNS, "listen", T_LISTEN, 0, 0, NULL, offsetof(struct config, dns_listen),
	 sizeof(struct cfg_listen), offsetof(struct config, n_dns_listen), CFG_MAX_LISTEN, '@',
	 OPT_REQUIRED | OPT_REPEAT, NULL},
	{SECT_DNS, "workers", T_UINT, 0, 64, "0", C(dns_workers), 0, 0, 0, 0, NULL},
	{SECT_DNS, "tcp_max_connections", T_UINT, 1, 65536, "256", C(tcp_max_connections), 0, 0,
	 0, 0, NULL},
	{SECT_DNS, "tcp_idle_timeout", T_UINT, 1, 3600, "10", C(tcp_idle_timeout), 0, 0, 0, 0,
	 NULL},
	{SECT_DNS, "tcp_max_per_address", T_UINT, 1, 65536, "32", C(tcp_max_per_address), 0, 0,
	 0, 0, NULL},
	{SECT_DNS, "tcp_workers", T_UINT, 1, CFG_TCP_WORKERS_MAX, "2", C(tcp_workers), 0, 0, 0, 0,
	 NULL},
	{SECT_DNS, "edns_udp_size", T_UINT, 512, 4096, "1232", C(edns_udp_size), 0, 0, 0, 0,
	 NULL},

	{SECT_HTTP, "listen", T_LISTEN, 0, 0, NULL, offsetof(struct config, http_listen),
	 sizeof(struct cfg_listen), offsetof(struct config, n_http_listen), CFG_MAX_LISTEN, ':',
	 OPT_REPEAT, NULL},
	{SECT_HTTP, "trusted_proxies", T_CIDRS, 0, 0, NULL, offsetof(struct config, trusted_proxies),
	 sizeof(struct np_cidr), offsetof(struct config, n_trusted_proxies), CFG_MAX_PROXIES, 0,
	 OPT_REPEAT, NULL},
	{SECT_HTTP, "max_connections", T_UINT, 1, 10000, "2048", C(http_max_connections), 0, 0, 0,
	 0, NULL},
	{SECT_HTTP, "per_ip_connections", T_UINT, 1, 1000, "16", C(http_per_ip_connections), 0, 0,
	 0, 0, NULL},
	{SECT_HTTP, "timeout", T_UINT, 1, 300, "10", C(http_timeout), 0, 0, 0, 0, NULL},
	{SECT_HTTP, "request_timeout", T_UINT, 1, 3600, "15", C(http_request_timeout), 0, 0, 0, 0,
	 NULL},
	{SECT_HTTP, "per_net_connections", T_UINT, 1, 10000, "64", C(http_per_net_connections), 0,
	 0, 0, 0, NULL},
	{SECT_HTTP, "threads", T_UINT, 1, 64, "2", C(http_threads), 0, 0, 0, 0, NULL},

	{SECT_OBSERVE, "max_addresses", T_UINT, 1000, 100000000, "1000000", C(obs_max_addresses), 0,
	 0, 0, 0, NULL},
	{SECT_OBSERVE, "retention", T_UINT, 86400, 2678400, "604800", C(obs_retention), 0, 0, 0, 0,
	 NULL},
	{SECT_OBSERVE, "checkpoint_interval", T_UINT, 1, 3600, "60", C(obs_checkpoint_interval), 0,
	 0, 0, 0, NULL},
	{SECT_OBSERVE, "research", T_CIDRS, 0, 0, NULL, offsetof(struct config, obs_research),
	 sizeof(struct np_cidr), offsetof(struct config, n_obs_research), CFG_MAX_RESEARCH, 0,
	 OPT_REPEAT, NULL},
	{SECT_OBSERVE, "max_clock_skew", T_UINT, 0, 86400, "300", C(obs_max_clock_skew), 0, 0, 0,
	 0, NULL},

	{SECT_CHECK, "public_url", T_STR, 0, 0, "", C(check_public_url), 0, 0, 0, 0, check_url},
	{SECT_CHECK, "result_ttl", T_UINT, 3600, 2592000, "259200", C(check_result_ttl), 0, 0, 0,
	 0, NULL},
	{SECT_CHECK, "per_address_hour", T_UINT, 1, 1000, "6", C(check_per_address_hour), 0, 0, 0,
	 0, NULL},
	{SECT_CHECK, "per_email_day", T_UINT, 1, 1000, "10", C(check_per_email_day), 0, 0, 0, 0,
	 NULL},
	/* A mail service's bounds beyond one address: the networks an address lies in (a
	 * stranger with a /48 holds 65,536 /64s), everyone together, and the unsent mail. */
	{SECT_CHECK, "per_net24_hour", T_UINT, 1, 100000, "20", C(check_per_net24_hour), 0, 0, 0,
	 0, NULL},
	{SECT_CHECK, "per_net56_hour", T_UINT, 1, 100000, "12", C(check_per_net56_hour), 0, 0, 0,
	 0, NULL},
	{SECT_CHECK, "per_net48_hour", T_UINT, 1, 100000, "30", C(check_per_net48_hour), 0, 0, 0,
	 0, NULL},
	{SECT_CHECK, "global_per_hour", T_UINT, 1, 1000000, "300", C(check_global_per_hour), 0, 0,
	 0, 0, NULL},
	{SECT_CHECK, "outbox_max", T_UINT, 1, 1000000, "1000", C(check_outbox_max), 0, 0, 0, 0,
	 NULL},
	{SECT_CHECK, "owner_interval", T_UINT, 1, 86400, "900", C(check_owner_interval), 0, 0, 0,
	 0, NULL},

	{SECT_MAIL, "relay", T_STR, 0, 0, "", C(mail_relay), 0, 0, 0, 0, check_url},
	{SECT_MAIL, "from", T_STR, 0, 0, "", C(mail_from), 0, 0, 0, 0, check_mail},
	{SECT_MAIL, "username", T_STR, 0, 0, "", C(mail_username), 0, 0, 0, 0, NULL},
	{SECT_MAIL, "password_file", T_STR, 0, 0, "", C(mail_password_file), 0, 0, 0, 0, NULL},
	{SECT_MAIL, "tls", T_STR, 0, 0, "try", C(mail_tls), 0, 0, 0, 0, check_mail_tls},
	{SECT_MAIL, "retry_min", T_UINT, 1, 86400, "60", C(mail_retry_min), 0, 0, 0, 0, NULL},
	{SECT_MAIL, "retry_max", T_UINT, 1, 86400, "3600", C(mail_retry_max), 0, 0, 0, 0, NULL},

	{SECT_ZONE, "ns", T_NAMES, 0, 0, NULL, offsetof(struct cfg_zone, ns), CFG_NAME_MAX,
	 offsetof(struct cfg_zone, n_ns), CFG_MAX_NS, 0, OPT_REQUIRED | OPT_REPEAT, NULL},
	/* The contact default ("hostmaster.NAME") depends on the zone name: set at the end. */
	{SECT_ZONE, "contact", T_CONTACT, 0, 0, NULL, Z(contact), 0, 0, 0, 0, NULL},
	{SECT_ZONE, "ttl", T_UINT, 0, 86400, "60", Z(ttl), 0, 0, 0, 0, NULL},
	{SECT_ZONE, "soa_ttl", T_UINT, 0, 2147483647, "3600", Z(soa_ttl), 0, 0, 0, 0, NULL},
	{SECT_ZONE, "refresh", T_UINT, 0, 2147483647, "3600", Z(refresh), 0, 0, 0, 0, NULL},
	{SECT_ZONE, "retry", T_UINT, 0, 2147483647, "600", Z(retry), 0, 0, 0, 0, NULL},
	{SECT_ZONE, "expire", T_UINT, 0, 2147483647, "1209600", Z(expire), 0, 0, 0, 0, NULL},
	{SECT_ZONE, "negative_ttl", T_UINT, 0, 86400, "60", Z(negative_ttl), 0, 0, 0, 0, NULL},
};
/* clang-format on */

_Static_assert(ARRAY_SIZE(cfg_schema) <= 64, "the seen bitmask holds 64 rows");
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "T_UINT writes unsigned and uint32_t");

/* Parser state. Lines are counted by our own reader (inih's handler gets no line number in
 * Debian's build), which also sees section headers so that empty sections count too. */
struct cfg_ctx {
	struct config *cfg;
	FILE *f;
	unsigned line;                  /* the line inih is processing */
	enum cfg_sect sect;             /* the current section */
	struct cfg_zone *zone;          /* the current zone when sect == SECT_ZONE */
	bool key_in_sect;               /* inih treats indented lines after a key as continuation */
	uint64_t seen;                  /* rows seen in the current section */
	unsigned sect_line[SECT_COUNT]; /* header line of [server]/[dns]/[http]; 0 = absent */
	uint64_t sect_seen[SECT_COUNT]; /* rows seen in each global section */
	unsigned zone_line[CFG_MAX_ZONES];
	uint64_t zone_seen[CFG_MAX_ZONES];
	bool failed;
	unsigned err_line;
	char *err;
	size_t errlen;
};

static void fail(struct cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the first error as "file:line: message"; later ones are ignored. */
static void fail(struct cfg_ctx *c, const char *fmt, ...)
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

static int check_user(const struct cfg_opt *o, void *field, char *why, size_t whylen)
{
	(void)o;
	const char *s = field;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!isalnum(ch) && ch != '_' && ch != '-' && ch != '.') {
			snprintf(why, whylen, "must be a user name");
			return NP_EINVAL;
		}
	}
	/* Caught here rather than after the sockets are bound, and by check-config too. */
	if (*(const char *)field != '\0' && getpwnam(field) == NULL) {
		snprintf(why, whylen, "no such user on this system");
		return NP_EINVAL;
	}
	return NP_OK;
}

/* public_url and relay: an absolute URL of the schemes we speak, without spaces, and
 * without a user or password (the URL is logged and shown; the relay's credentials go in
 * [mail] username and password_file). */
static int check_url(const struct cfg_opt *o, void *field, char *why, size_t whylen)
{
	const char *s = field;
	static const char *const web[] = {"http://", "https://"};
	static const char *const smtp[] = {"smtp://", "smtps://"};
	const char *const *schemes = o->sect == SECT_MAIL ? smtp : web;
	if (*s == '\0')
		return NP_OK;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(s, schemes[i], n) != 0 || s[n] == '\0' || strpbrk(s, " \t\"<>") != NULL)
			continue;
		if (memchr(s + n, '@', strcspn(s + n, "/?#")) != NULL) {
			snprintf(why, whylen, "must not carry a user or password%s",
			         o->sect == SECT_MAIL ? " (use username and password_file)" : "");
			return NP_EINVAL;
		}
		return NP_OK;
	}
	snprintf(why, whylen, "must be a %s or %s URL", schemes[0], schemes[1]);
	return NP_EINVAL;
}

static int check_mail(const struct cfg_opt *o, void *field, char *why, size_t whylen)
{
	(void)o;
	const char *s = field;
	if (*s == '\0' || config_mail_check(s))
		return NP_OK;
	snprintf(why, whylen, "must be a mail address");
	return NP_EINVAL;
}

static int check_mail_tls(const struct cfg_opt *o, void *field, char *why, size_t whylen)
{
	(void)o;
	const char *s = field;
	if (strcmp(s, "none") == 0 || strcmp(s, "try") == 0 || strcmp(s, "require") == 0)
		return NP_OK;
	snprintf(why, whylen, "must be none, try or require");
	return NP_EINVAL;
}

int config_path_resolve(const char *conf_path, const char *in, char *out, size_t outlen)
{
	if (in[0] == '/')
		return np_strlcpy(out, in, outlen) < outlen ? NP_OK : NP_ETOOBIG;
	char dir[PATH_MAX];
	const char *slash = strrchr(conf_path, '/');
	if (slash == NULL) {
		if (getcwd(dir, sizeof(dir)) == NULL)
			return NP_EIO;
	} else if (conf_path[0] == '/') {
		size_t n = slash == conf_path ? 1 : (size_t)(slash - conf_path);
		memcpy(dir, conf_path, n);
		dir[n] = '\0';
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return NP_EIO;
		int n = snprintf(dir, sizeof(dir), "%s/%.*s", cwd, (int)(slash - conf_path),
		                 conf_path);
		if (n < 0 || (size_t)n >= sizeof(dir))
			return NP_ETOOBIG;
	}
	int n = snprintf(out, outlen, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", in);
	return n < 0 || (size_t)n >= outlen ? NP_ETOOBIG : NP_OK;
}

bool config_http_url_ok(const char *u)
{
	size_t skip;
	if (strncasecmp(u, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	const char *auth = u + skip;
	size_t alen = strcspn(auth, "/?#");
	if (alen == 0 || memchr(auth, '@', alen) != NULL)
		return false;
	for (const char *p = u; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

bool config_mail_check(const char *s)
{
	/* Deliberately narrow (RFC 5321 dot-atom local part, LDH domain): the address goes into
	 * SMTP commands and mail headers, so nothing that could break out of them may pass. */
	const char *at = strchr(s, '@');
	if (at == NULL || at == s || (size_t)(at - s) > 64 || strlen(at + 1) > 253)
		return false;
	for (const char *p = s; p < at; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!isalnum(ch) && strchr("!#$%&'*+-/=?^_`{|}~.", ch) == NULL)
			return false;
	}
	if (s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
		return false;
	char dom[CFG_NAME_MAX];
	return config_name_check(at + 1, dom, sizeof(dom)) == NP_OK && strchr(dom, '.') != NULL;
}

static int parse_listen(const struct cfg_opt *o, const char *val, struct cfg_listen *l, char *why,
                        size_t whylen)
{
	const char *form = o->sep == '@' ? "ADDR@PORT" : "ADDR:PORT or [V6]:PORT";
	if (np_strlcpy(l->text, val, sizeof(l->text)) >= sizeof(l->text) ||
	    sockaddr_parse(val, o->sep, &l->addr, &l->len) != NP_OK) {
		snprintf(why, whylen, "must be %s", form);
		return NP_EINVAL;
	}
	/* "::1:80" would parse, but only brackets say where the address ends. */
	if (o->sep == ':' && l->addr.ss_family == AF_INET6 && val[0] != '[') {
		snprintf(why, whylen, "must be %s", form);
		return NP_EINVAL;
	}
	return NP_OK;
}

/* Applies one value to the row's field inside base. Returns NP_OK or NP_EINVAL with why. */
static int opt_apply(const struct cfg_opt *o, void *base, const char *val, char *why, size_t whylen)
{
	char *field = (char *)base + o->off;
	unsigned *count = o->off_count != 0 ? (unsigned *)((char *)base + o->off_count) : NULL;
	uint32_t u;
	int ret = NP_OK;

	switch (o->type) {
	case T_UINT:
		if (str_to_u32(val, o->min, o->max, &u) != NP_OK) {
			snprintf(why, whylen, "must be %u..%u", o->min, o->max);
			return NP_EINVAL;
		}
		*(unsigned *)field = u;
		break;
	case T_STR:
	case T_PATH:
		if (np_strlcpy(field, val, o->size) >= o->size) {
			snprintf(why, whylen, "longer than %zu characters", o->size - 1);
			return NP_EINVAL;
		}
		if (o->type == T_PATH && val[0] == '\0') {
			snprintf(why, whylen, "must not be empty");
			return NP_EINVAL;
		}
		break;
	case T_LOGLEVEL:
		if (config_log_level(val, (int *)field) != NP_OK) {
			snprintf(why, whylen, "must be error, warning, info or debug");
			return NP_EINVAL;
		}
		goto validate;
	case T_LISTEN: {
		if (*count >= o->max_count) {
			snprintf(why, whylen, "more than %u addresses", o->max_count);
			return NP_EINVAL;
		}
		struct cfg_listen *list = (struct cfg_listen *)field;
		struct cfg_listen *l = &list[*count];
		if (parse_listen(o, val, l, why, whylen) != NP_OK)
			return NP_EINVAL;
		/* SO_REUSEPORT would silently accept a duplicate; say so instead. */
		for (unsigned i = 0; i < *count; i++) {
			if (list[i].len == l->len && memcmp(&list[i].addr, &l->addr, l->len) == 0) {
				snprintf(why, whylen, "%s is listed twice", val);
				return NP_EINVAL;
			}
		}
		(*count)++;
		break;
	}
	case T_CIDRS: {
		struct np_cidr *list = (struct np_cidr *)field;
		const char *p = val;
		bool any = false;
		while (*p != '\0') {
			size_t n = strcspn(p, " \t,");
			if (n == 0) {
				p++;
				continue;
			}
			char buf[64];
			if (n >= sizeof(buf)) {
				snprintf(why, whylen, "must be a list of CIDR prefixes");
				return NP_EINVAL;
			}
			memcpy(buf, p, n);
			buf[n] = '\0';
			if (*count >= o->max_count) {
				snprintf(why, whylen, "more than %u prefixes", o->max_count);
				return NP_EINVAL;
			}
			if (cidr_parse(buf, &list[*count]) != NP_OK) {
				snprintf(why, whylen, "'%s' is not a CIDR prefix", buf);
				return NP_EINVAL;
			}
			(*count)++;
			any = true;
			p += n;
		}
		if (!any) {
			snprintf(why, whylen, "must be a list of CIDR prefixes");
			return NP_EINVAL;
		}
		break;
	}
	case T_NAME:
	case T_NAMES: {
		char *dst = field;
		if (o->type == T_NAMES) {
			if (*count >= o->max_count) {
				snprintf(why, whylen, "more than %u names", o->max_count);
				return NP_EINVAL;
			}
			dst = field + (size_t)*count * o->size;
		}
		if (config_name_check(val, dst, o->size) != NP_OK) {
			snprintf(why, whylen, "must be a domain name");
			return NP_EINVAL;
		}
		if (o->type == T_NAMES)
			(*count)++;
		break;
	}
	case T_CONTACT: {
		/* A mail address becomes name form; its local part must be one plain label, since
		 * a dot in it would need a "\." escape that resolvers' users rarely expect. */
		char buf[CFG_NAME_MAX + 1];
		const char *at = strchr(val, '@');
		if (np_strlcpy(buf, val, sizeof(buf)) >= sizeof(buf))
			goto bad_contact;
		if (at != NULL) {
			size_t local = (size_t)(at - val);
			if (local == 0 || memchr(val, '.', local) != NULL || strchr(at + 1, '@'))
				goto bad_contact;
			buf[local] = '.';
		}
		if (config_name_check(buf, field, o->size) != NP_OK)
			goto bad_contact;
		break;
	bad_contact:
		snprintf(why, whylen, "must be a mail address or a domain name");
		return NP_EINVAL;
	}
	}
validate:
	if (o->validate != NULL)
		ret = o->validate(o, field, why, whylen);
	return ret;
}

/* Applies the defaults of every row of sect to base. Defaults are known-good text. */
static void apply_defaults(enum cfg_sect sect, void *base)
{
	char why[128];
	for (size_t i = 0; i < ARRAY_SIZE(cfg_schema); i++) {
		const struct cfg_opt *o = &cfg_schema[i];
		if (o->sect == sect && o->def != NULL &&
		    opt_apply(o, base, o->def, why, sizeof(why)))
			abort(); /* a broken schema row: an internal invariant */
	}
}

/* A section header line: [server], [dns], [http] or [zone NAME]. */
static void section_begin(struct cfg_ctx *c, const char *s, size_t len)
{
	char text[CFG_NAME_MAX + 16];
	str_trim(&s, &len);
	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, s, len);
	text[len] = '\0';
	c->sect = SECT_NONE;
	c->zone = NULL;
	c->key_in_sect = false;
	c->seen = 0;

	for (int i = SECT_SERVER; i < SECT_ZONE; i++) {
		if (strcmp(text, sect_names[i]) == 0) {
			if (c->sect_line[i] != 0) {
				fail(c, "duplicate section [%s] (first on line %u)", text,
				     c->sect_line[i]);
				return;
			}
			c->sect = (enum cfg_sect)i;
			c->sect_line[i] = c->line;
			return;
		}
	}
	if (strncmp(text, "zone", 4) != 0 || !isspace((unsigned char)text[4])) {
		fail(c, "unknown section [%s]", text);
		return;
	}
	const char *name = text + 5;
	size_t nlen = strlen(name);
	str_trim(&name, &nlen);
	struct config *cfg = c->cfg;
	if (cfg->n_zones >= CFG_MAX_ZONES) {
		fail(c, "more than %d zones", CFG_MAX_ZONES);
		return;
	}
	struct cfg_zone *z = &cfg->zones[cfg->n_zones];
	memset(z, 0, sizeof(*z));
	if (config_name_check(name, z->name, sizeof(z->name)) != NP_OK) {
		fail(c, "bad zone name '%s': must be a domain name", name);
		return;
	}
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		if (strcmp(cfg->zones[i].name, z->name) == 0) {
			fail(c, "duplicate zone '%s' (first on line %u)", z->name, c->zone_line[i]);
			return;
		}
	}
	apply_defaults(SECT_ZONE, z);
	c->zone_line[cfg->n_zones] = c->line;
	c->zone = z;
	c->sect = SECT_ZONE;
	cfg->n_zones++;
}

/* inih's line source: config_read_line plus our section bookkeeping. Returning NULL ends
 * the parse, which is how the first error stops it. */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_ctx *c = stream;
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

static const char *sect_label(const struct cfg_ctx *c, char *buf, size_t len)
{
	if (c->sect == SECT_ZONE)
		snprintf(buf, len, "[zone %s]", c->zone->name);
	else
		snprintf(buf, len, "[%s]", sect_names[c->sect]);
	return buf;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_ctx *c = user;
	char where[CFG_NAME_MAX + 16];
	(void)section; /* the reader tracks sections, with line numbers */
	if (c->failed)
		return 0;
	c->key_in_sect = true;
	if (c->sect == SECT_NONE) {
		fail(c, "key '%s' outside of any section", name);
		return 0;
	}
	size_t i;
	for (i = 0; i < ARRAY_SIZE(cfg_schema); i++)
		if (cfg_schema[i].sect == c->sect && strcmp(cfg_schema[i].key, name) == 0)
			break;
	if (i == ARRAY_SIZE(cfg_schema)) {
		fail(c, "unknown key '%s' in %s", name, sect_label(c, where, sizeof(where)));
		return 0;
	}
	const struct cfg_opt *o = &cfg_schema[i];
	uint64_t bit = UINT64_C(1) << i;
	if ((c->seen & bit) != 0 && (o->flags & OPT_REPEAT) == 0) {
		fail(c, "duplicate key '%s' in %s", name, sect_label(c, where, sizeof(where)));
		return 0;
	}
	c->seen |= bit;
	if (c->sect == SECT_ZONE)
		c->zone_seen[c->zone - c->cfg->zones] |= bit;
	else
		c->sect_seen[c->sect] |= bit;

	char why[256];
	void *base = c->sect == SECT_ZONE ? (void *)c->zone : (void *)c->cfg;
	if (opt_apply(o, base, value, why, sizeof(why)) != NP_OK) {
		fail(c, "bad value for '%s': %s", name, why);
		return 0;
	}
	return 1;
}

/* Checks required rows once the whole file is read, reporting at the section header (or
 * at the last line when the section is missing altogether). */
static void check_required(struct cfg_ctx *c)
{
	unsigned eof_line = c->line;
	for (size_t i = 0; i < ARRAY_SIZE(cfg_schema) && !c->failed; i++) {
		const struct cfg_opt *o = &cfg_schema[i];
		uint64_t bit = UINT64_C(1) << i;
		if ((o->flags & OPT_REQUIRED) == 0)
			continue;
		if (o->sect == SECT_ZONE) {
			for (unsigned z = 0; z < c->cfg->n_zones && !c->failed; z++) {
				if ((c->zone_seen[z] & bit) != 0)
					continue;
				c->line = c->zone_line[z];
				fail(c, "missing '%s' in [zone %s]", o->key, c->cfg->zones[z].name);
			}
		} else if ((c->sect_seen[o->sect] & bit) == 0) {
			c->line = c->sect_line[o->sect] != 0 ? c->sect_line[o->sect] : eof_line;
			fail(c, "missing '%s' in [%s]", o->key, sect_names[o->sect]);
		}
	}
	if (!c->failed && c->cfg->n_zones == 0) {
		c->line = eof_line;
		fail(c, "no [zone NAME] section");
	}
}

/* Rules across the keys of [mail] and [check]; the default public_url is derived from the
 * first HTTP listen address. */
static void check_mail_section(struct cfg_ctx *c)
{
	struct config *cfg = c->cfg;
	c->line = c->sect_line[SECT_MAIL] != 0 ? c->sect_line[SECT_MAIL] : c->line;
	if (cfg->mail_relay[0] != '\0' && cfg->mail_from[0] == '\0')
		fail(c, "[mail] relay needs 'from'");
	else if (cfg->mail_retry_min > cfg->mail_retry_max)
		fail(c, "[mail] retry_min is larger than retry_max");
	else if (cfg->mail_password_file[0] != '\0' && cfg->mail_password_file[0] != '/')
		fail(c, "bad value for 'password_file': must be an absolute path");
	if (c->failed || cfg->check_public_url[0] != '\0' || cfg->n_http_listen == 0)
		return;
	const char *t = cfg->http_listen[0].text;
	snprintf(cfg->check_public_url, sizeof(cfg->check_public_url), "http://%s", t);
}

/* Makes a relative data_dir relative to the directory holding the config file, and absolute,
 * so that the daemon's working directory never matters. */
static void resolve_data_dir(struct cfg_ctx *c)
{
	struct config *cfg = c->cfg;
	char dir[PATH_MAX], out[PATH_MAX];
	if (cfg->data_dir[0] == '/')
		return;
	const char *slash = strrchr(cfg->path, '/');
	if (slash == NULL) {
		np_strlcpy(dir, ".", sizeof(dir));
	} else {
		size_t n = slash == cfg->path ? 1 : (size_t)(slash - cfg->path);
		memcpy(dir, cfg->path, n);
		dir[n] = '\0';
	}
	char cwd[PATH_MAX];
	int n;
	if (dir[0] == '/') {
		n = snprintf(out, sizeof(out), "%s/%s", dir, cfg->data_dir);
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			c->line = 0;
			fail(c, "cannot resolve data_dir: %m");
			return;
		}
		n = strcmp(dir, ".") == 0
		        ? snprintf(out, sizeof(out), "%s/%s", cwd, cfg->data_dir)
		        : snprintf(out, sizeof(out), "%s/%s/%s", cwd, dir, cfg->data_dir);
	}
	if (n < 0 || (size_t)n >= sizeof(cfg->data_dir)) {
		c->line = c->sect_line[SECT_SERVER];
		fail(c, "bad value for 'data_dir': path too long");
		return;
	}
	np_strlcpy(cfg->data_dir, out, sizeof(cfg->data_dir));
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct cfg_ctx c;
	memset(&c, 0, sizeof(c));
	memset(cfg, 0, sizeof(*cfg));
	c.cfg = cfg;
	c.err = err;
	c.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	np_strlcpy(cfg->path, path, sizeof(cfg->path));
	for (int s = SECT_SERVER; s < SECT_ZONE; s++)
		apply_defaults((enum cfg_sect)s, cfg);

	c.f = fopen(path, "r");
	if (c.f == NULL) {
		snprintf(err, errlen, "%s: %m", path);
		return NP_EINVAL;
	}
	int ret = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
	bool read_error = ferror(c.f) != 0;
	fclose(c.f);
	if (read_error && !c.failed) {
		snprintf(err, errlen, "%s: read error", path);
		return NP_EINVAL;
	}
	/* inih reports the first bad line; ours stops the parse at the first error, so an
	 * earlier line from inih is a syntax error it found before (handler not called). */
	if (ret > 0 && (!c.failed || (unsigned)ret < c.err_line)) {
		snprintf(err, errlen, "%s:%d: syntax error", path, ret);
		return NP_EINVAL;
	}
	if (ret < 0 && !c.failed) {
		snprintf(err, errlen, "%s: cannot parse", path);
		return NP_EINVAL;
	}
	if (!c.failed)
		check_required(&c);
	if (!c.failed)
		resolve_data_dir(&c);
	if (!c.failed)
		check_mail_section(&c);
	if (c.failed)
		return NP_EINVAL;

	for (unsigned i = 0; i < cfg->n_zones; i++) {
		struct cfg_zone *z = &cfg->zones[i];
		if (z->contact[0] != '\0')
			continue;
		char contact[sizeof(z->contact)];
		if ((size_t)snprintf(contact, sizeof(contact), "hostmaster.%s", z->name) >=
		    sizeof(contact)) {
			c.line = c.zone_line[i];
			fail(&c, "zone name too long for the default contact; set 'contact'");
			return NP_EINVAL;
		}
		memcpy(z->contact, contact, sizeof(contact));
	}
	return NP_OK;
}

const struct cfg_zone *config_zone_for(const struct config *cfg, const char *fqdn)
{
	const struct cfg_zone *best = NULL;
	size_t best_len = 0, flen = strlen(fqdn);
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		const struct cfg_zone *z = &cfg->zones[i];
		size_t zlen = strlen(z->name);
		if (zlen > flen || zlen < best_len)
			continue;
		/* A suffix on a label boundary: "a.dyn.example" or "dyn.example" itself. */
		if (strcmp(fqdn + flen - zlen, z->name) != 0)
			continue;
		if (zlen < flen && fqdn[flen - zlen - 1] != '.')
			continue;
		best = z;
		best_len = zlen;
	}
	return best;
}

int config_name_check(const char *in, char *out, size_t outlen)
{
	size_t len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > CFG_TEXT_MAX || len >= outlen)
		return NP_EINVAL;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == '.') {
			if (label == 0)
				return NP_EINVAL;
			label = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			if (++label > CFG_LABEL_MAX)
				return NP_EINVAL;
		} else {
			return NP_EINVAL;
		}
		out[i] = (char)tolower(ch);
	}
	if (label == 0)
		return NP_EINVAL;
	out[len] = '\0';
	return NP_OK;
}

int config_log_level(const char *s, int *out)
{
	static const struct {
		const char *name;
		int prio;
	} levels[] = {{"error", LOG_ERR}, {"warning", LOG_WARNING}, {"info", LOG_INFO},
		      {"debug", LOG_DEBUG}};
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		if (strcmp(s, levels[i].name) == 0) {
			*out = levels[i].prio;
			return NP_OK;
		}
	}
	return NP_EINVAL;
}

char *config_read_line(char *str, int num, FILE *f, unsigned *line, bool key_in_sect,
		       bool *too_long, const char **header, size_t *header_len)
{
	*too_long = false;
	*header = NULL;
	if (fgets(str, num, f) == NULL)
		return NULL;
	(*line)++;
	size_t len = strlen(str);
	if (len > 0 && str[len - 1] != '\n' && !feof(f)) {
		*too_long = true;
		return NULL;
	}
	const char *p = str;
	if (*line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	const char *start = p;
	while (*p == ' ' || *p == '\t')
		p++;
	/* inih reads an indented line after a key as that key's continuation, not a header. */
	if (*p == '[' && !(p > start && key_in_sect)) {
		const char *end = strchr(p, ']');
		if (end != NULL) {
			*header = p + 1;
			*header_len = (size_t)(end - p - 1);
		}
	}
	return str;
}
