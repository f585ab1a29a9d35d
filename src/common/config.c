/* SPDX-License-Identifier: MIT */
/* nameplated's configuration: its schema table (what every key means: parser, range,
 * default, field), the parsers of its own value types and the rules across keys; the
 * schema engine (common/schema.c) reads the file. Also the checks the other config files
 * share (names, URLs, paths, log levels). */
#include "common/config.h"

#include <ctype.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macros.h"
#include "common/schema.h"
#include "common/str.h"

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
	SECT_ACCOUNTS,
	SECT_ABUSE,
	SECT_METRICS,
	SECT_ZONE, /* the only repeatable section */
	SECT_COUNT
};

static const char *const sect_names[SECT_COUNT] = {
    "", "server", "dns", "http", "observe", "check", "mail", "accounts", "abuse", "metrics", "zone"};

static schema_parse_fn parse_path, parse_user, parse_dns_listen, parse_http_listen, parse_cidrs,
    parse_names, parse_contact, parse_url, parse_mail, parse_mail_tls, parse_signup, parse_parked,
    parse_feed, parse_asn_db, parse_xfr_acl, parse_log_format, parse_on_off, parse_dnssec,
    parse_dnssec_alg;

#define FSIZE(type, member) sizeof(((type *)0)->member)
#define C(member)           offsetof(struct config, member), FSIZE(struct config, member), 0, 0
#define Z(member)           offsetof(struct cfg_zone, member), FSIZE(struct cfg_zone, member), 0, 0
/* A list: the array, one element's size, the count and the capacity. */
#define L(type, array, count, cap)                                                                 \
	offsetof(type, array), sizeof(((type *)0)->array[0]), offsetof(type, count), cap

#define REQ SCHEMA_REQUIRED
#define REP SCHEMA_REPEAT

/* The schema. Adding an option = one row here + the field in config.h + docs + a test.
 * Offsets are into struct config, or into struct cfg_zone for SECT_ZONE rows. */
/* clang-format off */
static const struct schema_row cfg_schema[] = {
	{SECT_SERVER, "data_dir", parse_path, 0, 0, NULL, C(data_dir), REQ},
	{SECT_SERVER, "user", parse_user, 0, 0, "", C(user), 0},
	{SECT_SERVER, "log_level", schema_loglevel, 0, 0, "info", C(log_level), 0},
	{SECT_SERVER, "log_format", parse_log_format, 0, 0, "text", C(log_format), 0},

	{SECT_DNS, "listen", parse_dns_listen, 0, 0, NULL,
	 L(struct config, dns_listen, n_dns_listen, CFG_MAX_LISTEN), REQ | REP},
	{SECT_DNS, "workers", schema_uint, 0, 64, "0", C(dns_workers), 0},
	{SECT_DNS, "tcp_max_connections", schema_uint, 1, 65536, "256", C(tcp_max_connections), 0},
	{SECT_DNS, "tcp_idle_timeout", schema_uint, 1, 3600, "10", C(tcp_idle_timeout), 0},
	{SECT_DNS, "tcp_max_per_address", schema_uint, 1, 65536, "32", C(tcp_max_per_address), 0},
	{SECT_DNS, "tcp_workers", schema_uint, 1, CFG_TCP_WORKERS_MAX, "2", C(tcp_workers), 0},
	{SECT_DNS, "edns_udp_size", schema_uint, 512, 4096, "1232", C(edns_udp_size), 0},
	{SECT_DNS, "rrl_rate", schema_uint, 0, 1000000, "200", C(rrl_rate), 0},
	{SECT_DNS, "rrl_slip", schema_uint, 0, 10, "2", C(rrl_slip), 0},
	{SECT_DNS, "rrl_ipv4_prefix", schema_uint, 8, 32, "24", C(rrl_ipv4_prefix), 0},
	{SECT_DNS, "rrl_ipv6_prefix", schema_uint, 16, 128, "56", C(rrl_ipv6_prefix), 0},
	{SECT_DNS, "udp_batch_wait_us", schema_uint, 0, 1000, "300", C(udp_batch_wait_us), 0},

	{SECT_HTTP, "listen", parse_http_listen, 0, 0, NULL,
	 L(struct config, http_listen, n_http_listen, CFG_MAX_LISTEN), REP},
	{SECT_HTTP, "trusted_proxies", parse_cidrs, 0, 0, NULL,
	 L(struct config, trusted_proxies, n_trusted_proxies, CFG_MAX_PROXIES), REP},
	{SECT_HTTP, "max_connections", schema_uint, 1, 10000, "2048", C(http_max_connections), 0},
	{SECT_HTTP, "per_ip_connections", schema_uint, 1, 1000, "16", C(http_per_ip_connections),
	 0},
	{SECT_HTTP, "timeout", schema_uint, 1, 300, "10", C(http_timeout), 0},
	{SECT_HTTP, "request_timeout", schema_uint, 1, 3600, "15", C(http_request_timeout), 0},
	{SECT_HTTP, "per_net_connections", schema_uint, 1, 10000, "64",
	 C(http_per_net_connections), 0},
	{SECT_HTTP, "threads", schema_uint, 1, 64, "2", C(http_threads), 0},

	{SECT_OBSERVE, "max_addresses", schema_uint, 1000, 100000000, "1000000",
	 C(obs_max_addresses), 0},
	{SECT_OBSERVE, "retention", schema_uint, 86400, 2678400, "604800", C(obs_retention), 0},
	{SECT_OBSERVE, "checkpoint_interval", schema_uint, 1, 3600, "60",
	 C(obs_checkpoint_interval), 0},
	{SECT_OBSERVE, "research", parse_cidrs, 0, 0, NULL,
	 L(struct config, obs_research, n_obs_research, CFG_MAX_RESEARCH), REP},
	{SECT_OBSERVE, "max_clock_skew", schema_uint, 0, 86400, "300", C(obs_max_clock_skew), 0},

	{SECT_CHECK, "public_url", parse_url, 0, 0, "", C(check_public_url), 0},
	{SECT_CHECK, "result_ttl", schema_uint, 3600, 2592000, "259200", C(check_result_ttl), 0},
	{SECT_CHECK, "per_address_hour", schema_uint, 1, 1000, "6", C(check_per_address_hour), 0},
	{SECT_CHECK, "per_email_day", schema_uint, 1, 1000, "10", C(check_per_email_day), 0},
	/* A mail service's bounds beyond one address: the networks an address lies in (a
	 * stranger with a /48 holds 65,536 /64s), everyone together, and the unsent mail. */
	{SECT_CHECK, "per_net24_hour", schema_uint, 1, 100000, "20", C(check_per_net24_hour), 0},
	{SECT_CHECK, "per_net56_hour", schema_uint, 1, 100000, "12", C(check_per_net56_hour), 0},
	{SECT_CHECK, "per_net48_hour", schema_uint, 1, 100000, "30", C(check_per_net48_hour), 0},
	{SECT_CHECK, "global_per_hour", schema_uint, 1, 1000000, "300", C(check_global_per_hour),
	 0},
	{SECT_CHECK, "outbox_max", schema_uint, 1, 1000000, "1000", C(check_outbox_max), 0},
	{SECT_CHECK, "owner_interval", schema_uint, 1, 86400, "900", C(check_owner_interval), 0},

	{SECT_MAIL, "relay", parse_url, 0, 0, "", C(mail_relay), 0},
	{SECT_MAIL, "from", parse_mail, 0, 0, "", C(mail_from), 0},
	{SECT_MAIL, "username", schema_str, 0, 0, "", C(mail_username), 0},
	{SECT_MAIL, "password_file", schema_str, 0, 0, "", C(mail_password_file), 0},
	{SECT_MAIL, "tls", parse_mail_tls, 0, 0, "try", C(mail_tls), 0},
	{SECT_MAIL, "retry_min", schema_uint, 1, 86400, "60", C(mail_retry_min), 0},
	{SECT_MAIL, "retry_max", schema_uint, 1, 86400, "3600", C(mail_retry_max), 0},

	{SECT_METRICS, "listen", parse_http_listen, 0, 0, NULL,
	 L(struct config, metrics_listen, n_metrics_listen, CFG_MAX_LISTEN), REP},

	{SECT_ACCOUNTS, "signup", parse_signup, 0, 0, "closed", C(accounts_signup), 0},
	{SECT_ACCOUNTS, "max_hosts", schema_uint, 1, 100000, "20", C(accounts_max_hosts), 0},
	{SECT_ACCOUNTS, "max_tokens", schema_uint, 1, 100000, "50", C(accounts_max_tokens), 0},
	{SECT_ACCOUNTS, "session_hours", schema_uint, 1, 720, "12", C(accounts_session_hours), 0},
	{SECT_ACCOUNTS, "signup_per_hour", schema_uint, 1, 100000, "20", C(accounts_signup_per_hour),
	 0},
	{SECT_ACCOUNTS, "signup_per_net_day", schema_uint, 1, 100000, "3",
	 C(accounts_signup_per_net_day), 0},

	/* Update budgets: 0 = no limit of that kind. The host's default is deSEC's dyndns
	 * limit (2 per 2 minutes per name): the third update in 2 minutes is refused. */
	{SECT_ABUSE, "window", schema_uint, 1, 86400, "120", C(abuse_window), 0},
	{SECT_ABUSE, "host_per_window", schema_uint, 0, 60000, "2", C(abuse_host_per_window), 0},
	{SECT_ABUSE, "host_per_day", schema_uint, 0, 60000, "300", C(abuse_host_per_day), 0},
	{SECT_ABUSE, "token_per_window", schema_uint, 0, 60000, "20", C(abuse_token_per_window), 0},
	{SECT_ABUSE, "token_per_day", schema_uint, 0, 60000, "2000", C(abuse_token_per_day), 0},
	{SECT_ABUSE, "source_per_window", schema_uint, 0, 60000, "120",
	 C(abuse_source_per_window), 0},
	{SECT_ABUSE, "source_per_day", schema_uint, 0, 60000, "10000", C(abuse_source_per_day), 0},
	{SECT_ABUSE, "parked", parse_parked, 0, 0, "", C(abuse_parked), 0},
	{SECT_ABUSE, "feed", parse_feed, 0, 0, NULL,
	 L(struct config, abuse_feeds, n_abuse_feeds, CFG_MAX_FEEDS), REP},
	{SECT_ABUSE, "asn_db", parse_asn_db, 0, 0, NULL,
	 L(struct config, abuse_asn_dbs, n_abuse_asn_dbs, CFG_MAX_ASN_DBS), REP},
	/* Flux scores: 0 turns a threshold off. Holz et al.'s line is 142.38. */
	{SECT_ABUSE, "flux_window", schema_uint, 3600, 2678400, "86400", C(abuse_flux_window), 0},
	{SECT_ABUSE, "watch_score", schema_uint, 0, 100000, "100", C(abuse_watch_score), 0},
	{SECT_ABUSE, "hold_score", schema_uint, 0, 100000, "143", C(abuse_hold_score), 0},
	{SECT_ABUSE, "quarantine_score", schema_uint, 0, 100000, "300",
	 C(abuse_quarantine_score), 0},
	{SECT_ABUSE, "shared_accounts", schema_uint, 0, 100000, "10", C(abuse_shared_accounts), 0},
	/* The name policy at creation (src/abuse/name_policy.h): labels an account may not
	 * take, brands whose names and look-alikes are refused, and the creation budgets. */
	{SECT_ABUSE, "reserved", schema_str, 0, 0,
	 "www mail smtp imap pop mx* ns* dns* admin administrator root hostmaster postmaster "
	 "webmaster abuse security login signin secure account accounts support billing help "
	 "api autodiscover autoconfig wpad localhost",
	 C(abuse_reserved), 0},
	{SECT_ABUSE, "brands", schema_str, 0, 0,
	 "paypal apple google microsoft amazon facebook instagram whatsapp netflix outlook "
	 "office365 icloud gmail yahoo linkedin dropbox twitter ebay coinbase binance",
	 C(abuse_brands), 0},
	{SECT_ABUSE, "create_per_account_hour", schema_uint, 0, 100000, "10",
	 C(abuse_create_per_account_hour), 0},
	{SECT_ABUSE, "create_per_source_hour", schema_uint, 0, 100000, "30",
	 C(abuse_create_per_source_hour), 0},
	{SECT_ABUSE, "reports_per_source_hour", schema_uint, 0, 100000, "10",
	 C(abuse_reports_per_source_hour), 0},

	{SECT_ZONE, "ns", parse_names, 0, 0, NULL, L(struct cfg_zone, ns, n_ns, CFG_MAX_NS),
	 REQ | REP},
	/* The contact default ("hostmaster.NAME") depends on the zone name: set at the end. */
	{SECT_ZONE, "contact", parse_contact, 0, 0, NULL, Z(contact), 0},
	{SECT_ZONE, "ttl", schema_uint, 0, 86400, "60", Z(ttl), 0},
	{SECT_ZONE, "soa_ttl", schema_uint, 0, 2147483647, "3600", Z(soa_ttl), 0},
	{SECT_ZONE, "refresh", schema_uint, 0, 2147483647, "3600", Z(refresh), 0},
	{SECT_ZONE, "retry", schema_uint, 0, 2147483647, "600", Z(retry), 0},
	{SECT_ZONE, "expire", schema_uint, 0, 2147483647, "1209600", Z(expire), 0},
	{SECT_ZONE, "negative_ttl", schema_uint, 0, 86400, "60", Z(negative_ttl), 0},
	{SECT_ZONE, "allow_transfer", parse_xfr_acl, 0, 0, NULL,
	 L(struct cfg_zone, allow_transfer, n_allow_transfer, CFG_MAX_XFR_ACL), REP},
	{SECT_ZONE, "notify", parse_dns_listen, 0, 0, NULL,
	 L(struct cfg_zone, notify, n_notify, CFG_MAX_NOTIFY), REP},
	{SECT_ZONE, "dnssec", parse_dnssec, 0, 0, "off", Z(dnssec), 0},
	{SECT_ZONE, "dnssec_algorithm", parse_dnssec_alg, 0, 0, "13", Z(dnssec_algorithm), 0},
	{SECT_ZONE, "dnssec_zsk_lifetime", schema_uint, 0, 2147483647, "7776000",
	 Z(dnssec_zsk_lifetime), 0},
	{SECT_ZONE, "dnssec_denial_rate", schema_uint, 0, 1000000, "1000", Z(dnssec_denial_rate),
	 0},
	{SECT_ZONE, "dnssec_parent_ds_ttl", schema_uint, 0, 2147483647, "86400",
	 Z(dnssec_parent_ds_ttl), 0},
	{SECT_ZONE, "dnssec_parent", parse_dns_listen, 0, 0, NULL,
	 L(struct cfg_zone, dnssec_parent, n_dnssec_parent, CFG_MAX_NOTIFY), REP},
};
/* clang-format on */

static void *zone_open(struct schema_ctx *c, unsigned i, const char *name)
{
	struct config *cfg = c->root;
	struct cfg_zone *z = &cfg->zones[i];
	memset(z, 0, sizeof(*z));
	np_strlcpy(z->name, name, sizeof(z->name));
	cfg->n_zones = i + 1;
	return z;
}

static const struct schema cfg_file = {
    .sects = sect_names,
    .n_sects = SECT_COUNT,
    .rows = cfg_schema,
    .n_rows = ARRAY_SIZE(cfg_schema),
    .named = SECT_ZONE,
    .max_named = CFG_MAX_ZONES,
    .named_name_off = offsetof(struct cfg_zone, name),
    .named_bad = "must be a domain name",
    .named_check = config_name_check,
    .named_open = zone_open,
};

_Static_assert(ARRAY_SIZE(cfg_schema) <= SCHEMA_MAX_ROWS, "the engine holds SCHEMA_MAX_ROWS rows");
_Static_assert(SECT_COUNT <= SCHEMA_MAX_SECTS, "the engine holds the sections");
_Static_assert(CFG_MAX_ZONES <= SCHEMA_MAX_NAMED, "the engine holds 64 zones");

static int parse_path(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                      char *why, size_t whylen)
{
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	if (val[0] == '\0') {
		snprintf(why, whylen, "must not be empty");
		return NP_EINVAL;
	}
	return NP_OK;
}

static int parse_user(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                      char *why, size_t whylen)
{
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	for (const char *s = val; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!isalnum(ch) && ch != '_' && ch != '-' && ch != '.') {
			snprintf(why, whylen, "must be a user name");
			return NP_EINVAL;
		}
	}
	/* Caught here rather than after the sockets are bound, and by check-config too. */
	if (val[0] != '\0' && getpwnam(val) == NULL) {
		snprintf(why, whylen, "no such user on this system");
		return NP_EINVAL;
	}
	return NP_OK;
}

/* text: readable lines whose events carry key=value fields; kv: every line key=value. */
static int parse_log_format(struct schema_ctx *c, const struct schema_row *r, void *base,
                            const char *val, char *why, size_t whylen)
{
	(void)c;
	int *out = schema_field(r, base);
	if (strcmp(val, "text") == 0) {
		*out = LOG_FORMAT_TEXT;
	} else if (strcmp(val, "kv") == 0) {
		*out = LOG_FORMAT_KV;
	} else {
		snprintf(why, whylen, "must be text or kv");
		return NP_EINVAL;
	}
	return NP_OK;
}

/* public_url and relay: an absolute URL of the schemes we speak, without spaces, and
 * without a user or password (the URL is logged and shown; the relay's credentials go in
 * [mail] username and password_file). */
static int parse_url(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                     char *why, size_t whylen)
{
	static const char *const web[] = {"http://", "https://"};
	static const char *const smtp[] = {"smtp://", "smtps://"};
	const char *const *schemes = r->sect == SECT_MAIL ? smtp : web;
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	const char *s = schema_field(r, base);
	if (*s == '\0')
		return NP_OK;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(s, schemes[i], n) != 0 || s[n] == '\0' || strpbrk(s, " \t\"<>") != NULL)
			continue;
		if (memchr(s + n, '@', strcspn(s + n, "/?#")) != NULL) {
			snprintf(why, whylen, "must not carry a user or password%s",
			         r->sect == SECT_MAIL ? " (use username and password_file)" : "");
			return NP_EINVAL;
		}
		return NP_OK;
	}
	snprintf(why, whylen, "must be a %s or %s URL", schemes[0], schemes[1]);
	return NP_EINVAL;
}

static int parse_mail(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                      char *why, size_t whylen)
{
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	if (val[0] == '\0' || config_mail_check(val))
		return NP_OK;
	snprintf(why, whylen, "must be a mail address");
	return NP_EINVAL;
}

static int parse_mail_tls(struct schema_ctx *c, const struct schema_row *r, void *base,
                          const char *val, char *why, size_t whylen)
{
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	if (strcmp(val, "none") == 0 || strcmp(val, "try") == 0 || strcmp(val, "require") == 0)
		return NP_OK;
	snprintf(why, whylen, "must be none, try or require");
	return NP_EINVAL;
}

/* An address quarantined names answer with: one IPv4 or IPv6 address, or "" (NXDOMAIN). */
static int parse_parked(struct schema_ctx *c, const struct schema_row *r, void *base,
                        const char *val, char *why, size_t whylen)
{
	struct np_addr a;
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	if (val[0] != '\0' && addr_parse(val, &a) != NP_OK) {
		snprintf(why, whylen, "must be one IPv4 or IPv6 address");
		return NP_EINVAL;
	}
	return NP_OK;
}

/* A threat feed: "KIND:PATH", KIND one of the formats src/abuse/feed.c reads, PATH
 * absolute (the daemon reads it again on SIGHUP, from wherever it runs). */
static int parse_feed(struct schema_ctx *c, const struct schema_row *r, void *base,
                      const char *val, char *why, size_t whylen)
{
	(void)c;
	static const char *const kinds[] = {"spamhaus-drop:", "urlhaus-hostfile:", "threatfox-csv:"};
	char *dst = schema_list_next(r, base, "feeds", why, whylen);
	if (dst == NULL)
		return NP_EINVAL;
	const char *path = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(kinds) && path == NULL; i++)
		if (strncmp(val, kinds[i], strlen(kinds[i])) == 0)
			path = val + strlen(kinds[i]);
	if (path == NULL || path[0] != '/') {
		snprintf(why, whylen, "must be spamhaus-drop:PATH, urlhaus-hostfile:PATH or "
		                      "threatfox-csv:PATH with an absolute PATH");
		return NP_EINVAL;
	}
	if (np_strlcpy(dst, val, r->size) >= r->size) {
		snprintf(why, whylen, "too long");
		return NP_EINVAL;
	}
	(*schema_count(r, base))++;
	return NP_OK;
}

/* An iptoasn.com TSV file (absolute path; read again on SIGHUP). */
static int parse_asn_db(struct schema_ctx *c, const struct schema_row *r, void *base,
                        const char *val, char *why, size_t whylen)
{
	(void)c;
	char *dst = schema_list_next(r, base, "files", why, whylen);
	if (dst == NULL)
		return NP_EINVAL;
	if (val[0] != '/') {
		snprintf(why, whylen, "must be an absolute path");
		return NP_EINVAL;
	}
	if (np_strlcpy(dst, val, r->size) >= r->size) {
		snprintf(why, whylen, "too long");
		return NP_EINVAL;
	}
	(*schema_count(r, base))++;
	return NP_OK;
}

static int parse_signup(struct schema_ctx *c, const struct schema_row *r, void *base,
                        const char *val, char *why, size_t whylen)
{
	if (schema_str(c, r, base, val, why, whylen) != NP_OK)
		return NP_EINVAL;
	if (strcmp(val, "closed") == 0 || strcmp(val, "invite") == 0 || strcmp(val, "open") == 0)
		return NP_OK;
	snprintf(why, whylen, "must be closed, invite or open");
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

/* One listen address into the row's list; sep is '@' (DNS) or ':' (HTTP). */
static int parse_listen(const struct schema_row *r, void *base, const char *val, char sep,
                        char *why, size_t whylen)
{
	unsigned *count = schema_count(r, base);
	struct cfg_listen *list = schema_field(r, base);
	const char *form = sep == '@' ? "ADDR@PORT" : "ADDR:PORT or [V6]:PORT";
	struct cfg_listen *l = schema_list_next(r, base, "addresses", why, whylen);
	if (l == NULL)
		return NP_EINVAL;
	if (np_strlcpy(l->text, val, sizeof(l->text)) >= sizeof(l->text) ||
	    sockaddr_parse(val, sep, &l->addr, &l->len) != NP_OK) {
		snprintf(why, whylen, "must be %s", form);
		return NP_EINVAL;
	}
	/* "::1:80" would parse, but only brackets say where the address ends. */
	if (sep == ':' && l->addr.ss_family == AF_INET6 && val[0] != '[') {
		snprintf(why, whylen, "must be %s", form);
		return NP_EINVAL;
	}
	/* SO_REUSEPORT would silently accept a duplicate; say so instead. */
	for (unsigned i = 0; i < *count; i++) {
		if (list[i].len == l->len && memcmp(&list[i].addr, &l->addr, l->len) == 0) {
			snprintf(why, whylen, "%s is listed twice", val);
			return NP_EINVAL;
		}
	}
	(*count)++;
	return NP_OK;
}

static int parse_dns_listen(struct schema_ctx *c, const struct schema_row *r, void *base,
                            const char *val, char *why, size_t whylen)
{
	(void)c;
	return parse_listen(r, base, val, '@', why, whylen);
}

static int parse_http_listen(struct schema_ctx *c, const struct schema_row *r, void *base,
                             const char *val, char *why, size_t whylen)
{
	(void)c;
	return parse_listen(r, base, val, ':', why, whylen);
}

/* A space or comma separated list of CIDR prefixes, added to the row's list. */
static int parse_cidrs(struct schema_ctx *c, const struct schema_row *r, void *base,
                       const char *val, char *why, size_t whylen)
{
	(void)c;
	unsigned *count = schema_count(r, base);
	struct np_cidr *list = schema_field(r, base);
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
		if (*count >= r->max_count) {
			snprintf(why, whylen, "more than %u prefixes", r->max_count);
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
	return NP_OK;
}

/* One more domain name into the row's char[][CFG_NAME_MAX] list. */
static int parse_names(struct schema_ctx *c, const struct schema_row *r, void *base,
                       const char *val, char *why, size_t whylen)
{
	(void)c;
	char *dst = schema_list_next(r, base, "names", why, whylen);
	if (dst == NULL)
		return NP_EINVAL;
	if (config_name_check(val, dst, r->size) != NP_OK) {
		snprintf(why, whylen, "must be a domain name");
		return NP_EINVAL;
	}
	(*schema_count(r, base))++;
	return NP_OK;
}

/* allow_transfer: an address or prefix ("192.0.2.1", "2001:db8::/48"), or else the name
 * of a TSIG key ("xfr-key"); one per line. */
static int parse_xfr_acl(struct schema_ctx *c, const struct schema_row *r, void *base,
                         const char *val, char *why, size_t whylen)
{
	(void)c;
	unsigned *count = schema_count(r, base);
	struct cfg_xfr_acl *e = schema_list_next(r, base, "entries", why, whylen);
	if (e == NULL)
		return NP_EINVAL;
	memset(e, 0, sizeof(*e));
	if (cidr_parse(val, &e->net) == NP_OK) {
		(*count)++;
		return NP_OK;
	}
	if (strpbrk(val, ":/") != NULL || config_name_check(val, e->key, sizeof(e->key)) != NP_OK) {
		snprintf(why, whylen, "must be an address prefix or a TSIG key name");
		return NP_EINVAL;
	}
	e->is_key = true;
	(*count)++;
	return NP_OK;
}

/* An SOA RNAME: "hostmaster.dyn.example" or "hostmaster@dyn.example". A mail address
 * becomes name form; its local part must be one plain label, since a dot in it would need
 * a "\." escape that resolvers' users rarely expect. */
static int parse_contact(struct schema_ctx *c, const struct schema_row *r, void *base,
                         const char *val, char *why, size_t whylen)
{
	(void)c;
	char buf[CFG_NAME_MAX + 1];
	const char *at = strchr(val, '@');
	if (np_strlcpy(buf, val, sizeof(buf)) >= sizeof(buf))
		goto bad;
	if (at != NULL) {
		size_t local = (size_t)(at - val);
		if (local == 0 || memchr(val, '.', local) != NULL || strchr(at + 1, '@'))
			goto bad;
		buf[local] = '.';
	}
	if (config_name_check(buf, schema_field(r, base), r->size) != NP_OK)
		goto bad;
	return NP_OK;
bad:
	snprintf(why, whylen, "must be a mail address or a domain name");
	return NP_EINVAL;
}

/* "on" or "off" into a bool. */
static int parse_on_off(struct schema_ctx *c, const struct schema_row *r, void *base,
                        const char *val, char *why, size_t whylen)
{
	(void)c;
	bool *out = schema_field(r, base);
	if (strcmp(val, "on") == 0 || strcmp(val, "off") == 0) {
		*out = strcmp(val, "on") == 0;
		return NP_OK;
	}
	snprintf(why, whylen, "must be on or off");
	return NP_EINVAL;
}

/* "dnssec": on, off, or retire: still signed, with the "delete" CDS and CDNSKEY (RFC 8078)
 * that ask the parent to remove the DS before signing stops. */
static int parse_dnssec(struct schema_ctx *c, const struct schema_row *r, void *base,
                        const char *val, char *why, size_t whylen)
{
	struct cfg_zone *z = base;
	z->dnssec_retire = strcmp(val, "retire") == 0;
	if (z->dnssec_retire) {
		z->dnssec = true;
		return NP_OK;
	}
	int ret = parse_on_off(c, r, base, val, why, whylen);
	if (ret != NP_OK)
		snprintf(why, whylen, "must be on, off or retire");
	return ret;
}

/* The DNSSEC algorithms the server signs with: 13 (ECDSA P-256 with SHA-256) and 15
 * (Ed25519). */
static int parse_dnssec_alg(struct schema_ctx *c, const struct schema_row *r, void *base,
                            const char *val, char *why, size_t whylen)
{
	(void)c;
	unsigned *out = schema_field(r, base);
	if (strcmp(val, "13") == 0 || strcmp(val, "15") == 0) {
		*out = val[1] == '3' ? 13u : 15u;
		return NP_OK;
	}
	snprintf(why, whylen, "must be 13 (ECDSA P-256) or 15 (Ed25519)");
	return NP_EINVAL;
}

/* Rules across the keys of [mail] and [check]; the default public_url is derived from the
 * first HTTP listen address. */
static void check_mail_section(struct schema_ctx *c)
{
	struct config *cfg = c->root;
	c->line = c->sect_line[SECT_MAIL] != 0 ? c->sect_line[SECT_MAIL] : c->line;
	if (cfg->mail_relay[0] != '\0' && cfg->mail_from[0] == '\0')
		schema_fail(c, "[mail] relay needs 'from'");
	else if (cfg->mail_retry_min > cfg->mail_retry_max)
		schema_fail(c, "[mail] retry_min is larger than retry_max");
	else if (cfg->mail_password_file[0] != '\0' && cfg->mail_password_file[0] != '/')
		schema_fail(c, "bad value for 'password_file': must be an absolute path");
	if (c->failed || cfg->check_public_url[0] != '\0' || cfg->n_http_listen == 0)
		return;
	const char *t = cfg->http_listen[0].text;
	snprintf(cfg->check_public_url, sizeof(cfg->check_public_url), "http://%s", t);
}

/* Makes a relative data_dir relative to the directory holding the config file, and absolute,
 * so that the daemon's working directory never matters. */
static void resolve_data_dir(struct schema_ctx *c)
{
	struct config *cfg = c->root;
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
			schema_fail(c, "cannot resolve data_dir: %m");
			return;
		}
		n = strcmp(dir, ".") == 0
		        ? snprintf(out, sizeof(out), "%s/%s", cwd, cfg->data_dir)
		        : snprintf(out, sizeof(out), "%s/%s/%s", cwd, dir, cfg->data_dir);
	}
	if (n < 0 || (size_t)n >= sizeof(cfg->data_dir)) {
		c->line = c->sect_line[SECT_SERVER];
		schema_fail(c, "bad value for 'data_dir': path too long");
		return;
	}
	np_strlcpy(cfg->data_dir, out, sizeof(cfg->data_dir));
}

/* The default contact of each zone that set none: "hostmaster.NAME". */
static void default_contacts(struct schema_ctx *c)
{
	struct config *cfg = c->root;
	for (unsigned i = 0; i < cfg->n_zones && !c->failed; i++) {
		struct cfg_zone *z = &cfg->zones[i];
		if (z->contact[0] != '\0')
			continue;
		char contact[sizeof(z->contact)];
		if ((size_t)snprintf(contact, sizeof(contact), "hostmaster.%s", z->name) >=
		    sizeof(contact)) {
			c->line = c->named_line[i];
			schema_fail(c, "zone name too long for the default contact; set 'contact'");
			return;
		}
		memcpy(z->contact, contact, sizeof(contact));
	}
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct schema_ctx c;
	memset(cfg, 0, sizeof(*cfg));
	np_strlcpy(cfg->path, path, sizeof(cfg->path));
	schema_init(&c, &cfg_file, cfg->path, cfg, err, errlen);
	if (schema_parse(&c) != NP_OK)
		return NP_EINVAL;
	schema_check_required(&c);
	if (!c.failed && cfg->n_zones == 0)
		schema_fail(&c, "no [zone NAME] section");
	if (!c.failed)
		resolve_data_dir(&c);
	if (!c.failed)
		check_mail_section(&c);
	if (!c.failed)
		default_contacts(&c);
	return c.failed ? NP_EINVAL : NP_OK;
}

bool config_trusted_proxy(const struct config *cfg, const struct np_addr *a)
{
	for (unsigned i = 0; i < cfg->n_trusted_proxies; i++)
		if (cidr_contains(&cfg->trusted_proxies[i], a))
			return true;
	return false;
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
