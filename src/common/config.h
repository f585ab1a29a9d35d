/* SPDX-License-Identifier: MIT */
/* The configuration: an INI file read by the schema engine (common/schema.h) through one
 * declarative table that nameplated, nameplatectl check-config and the tests all share. */
#ifndef NP_COMMON_CONFIG_H
#define NP_COMMON_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common/addr.h"

#define CFG_MAX_LISTEN   16
#define CFG_TCP_WORKERS_MAX 16
#define CFG_MAX_PROXIES  32
#define CFG_MAX_NS       8
#define CFG_MAX_ZONES    64
#define CFG_MAX_RESEARCH 64
#define CFG_URL_MAX      256
/* nameplated's pid, in data_dir: nameplatectl feed reload signals it (SIGHUP). */
#define NAMEPLATED_PID_FILE "nameplated.pid"
#define CFG_MAX_FEEDS    16
#define CFG_FEED_MAX     (PATH_MAX + 32) /* "KIND:PATH" */
#define CFG_MAX_ASN_DBS  4
#define CFG_NAME_MAX     254 /* a textual domain name without the trailing dot, + NUL */
#define CFG_MAX_XFR_ACL     16
#define CFG_MAX_NOTIFY      8

struct cfg_listen {
	struct sockaddr_storage addr;
	socklen_t len;
	char text[64]; /* as written in the file, for logs */
};

/* One allow_transfer entry: a TSIG key's name, or an address prefix. */
struct cfg_xfr_acl {
	bool is_key;
	struct np_cidr net;     /* when !is_key */
	char key[CFG_NAME_MAX]; /* when is_key: lowercase, no trailing dot */
};

/* One [zone NAME] section. Names are stored lowercase, without the trailing dot. */
struct cfg_zone {
	char name[CFG_NAME_MAX];
	char ns[CFG_MAX_NS][CFG_NAME_MAX]; /* "ns" key, repeatable; at least one */
	unsigned n_ns;
	char contact[CFG_NAME_MAX];        /* SOA RNAME in name form: hostmaster.dyn.example */
	uint32_t ttl;                      /* default TTL of host records; 60 */
	uint32_t soa_ttl;                  /* TTL of SOA and NS; 3600 */
	uint32_t refresh, retry, expire;   /* SOA timers: 3600, 600, 1209600 */
	uint32_t negative_ttl;             /* SOA MINIMUM, the negative-caching TTL; 60 */
	/* "allow_transfer", repeatable: who may AXFR/IXFR the zone; none = nobody */
	struct cfg_xfr_acl allow_transfer[CFG_MAX_XFR_ACL];
	unsigned n_allow_transfer;
	/* "notify", repeatable ADDR@PORT: secondaries told of each new serial (RFC 1996) */
	struct cfg_listen notify[CFG_MAX_NOTIFY];
	unsigned n_notify;
	bool dnssec;            /* "dnssec": on|off|retire; off. Sign the zone (docs/dnssec.md) */
	bool dnssec_retire;     /* "dnssec = retire": signed, CDS/CDNSKEY say "delete" (RFC 8078) */
	unsigned dnssec_algorithm; /* "dnssec_algorithm": 13 (ECDSA P-256) or 15 (Ed25519); 13 */
	uint32_t dnssec_zsk_lifetime; /* "dnssec_zsk_lifetime" seconds: 7776000 (90 days); 0 never */
	/* "dnssec_denial_rate": compact-denial signatures made on the fly per second; 1000; 0 no
	 * limit. Over it, a UDP denial is answered TC=1 (docs/dnssec.md) */
	uint32_t dnssec_denial_rate;
	uint32_t dnssec_parent_ds_ttl; /* "dnssec_parent_ds_ttl" seconds: 86400: the parent's DS TTL */
	/* "dnssec_parent", repeatable ADDR@PORT: the parent zone's servers, asked for the DS
	 * during a KSK roll (core/keyroll.h) */
	struct cfg_listen dnssec_parent[CFG_MAX_NOTIFY];
	unsigned n_dnssec_parent;
};

struct config {
	char path[PATH_MAX];

	/* [server] */
	char data_dir[PATH_MAX];   /* required */
	char user[64];             /* drop privileges to this user after binding; "" = stay */
	int log_level;             /* "log_level": error|warning|info|debug -> LOG_*; info */
	int log_format;            /* "log_format": text|kv -> enum log_format; text */

	/* [dns] */
	struct cfg_listen dns_listen[CFG_MAX_LISTEN]; /* "listen", repeatable, ADDR@PORT */
	unsigned n_dns_listen;
	unsigned dns_workers;         /* "workers": UDP threads per address; 0 = one per core */
	unsigned tcp_max_connections; /* "tcp_max_connections": 256 */
	unsigned tcp_idle_timeout;    /* "tcp_idle_timeout" seconds: 10 */
	unsigned tcp_max_per_address; /* "tcp_max_per_address": 32, per IPv4 address or IPv6 /64 */
	unsigned tcp_workers;         /* "tcp_workers": TCP threads, 2 */
	unsigned edns_udp_size;       /* "edns_udp_size": largest UDP answer, 512..4096; 1232 */
	unsigned rrl_rate;            /* "rrl_rate": UDP answers a second per bucket; 200, 0 off */
	unsigned rrl_slip;            /* "rrl_slip": one limited answer in N truncated; 2 */
	unsigned rrl_ipv4_prefix;     /* "rrl_ipv4_prefix": client networks counted as one; 24 */
	unsigned rrl_ipv6_prefix;     /* "rrl_ipv6_prefix": the same for IPv6; 56 */
	unsigned udp_batch_wait_us;   /* "udp_batch_wait_us": longest wait for more queries; 300 */

	/* [metrics] */
	struct cfg_listen metrics_listen[CFG_MAX_LISTEN]; /* "listen", repeatable; none: off */
	unsigned n_metrics_listen;

	/* [http] */
	struct cfg_listen http_listen[CFG_MAX_LISTEN]; /* "listen", repeatable, ADDR:PORT */
	unsigned n_http_listen;
	struct np_cidr trusted_proxies[CFG_MAX_PROXIES]; /* "trusted_proxies": space list */
	unsigned n_trusted_proxies;
	unsigned http_max_connections;    /* "max_connections": 2048 */
	unsigned http_per_ip_connections; /* "per_ip_connections": 16 */
	unsigned http_per_net_connections; /* "per_net_connections": 64, per IPv4 /24 or IPv6 /48 */
	unsigned http_timeout;            /* "timeout" seconds of inactivity: 10 */
	unsigned http_request_timeout;    /* "request_timeout" seconds for a request to arrive: 15 */
	unsigned http_threads;            /* "threads": 2 */

	/* [observe]: the observation index of the "am I infected?" check */
	unsigned obs_max_addresses;       /* "max_addresses": tracked sources; 1000000 */
	unsigned obs_retention;           /* "retention" seconds: 604800 (7 days) */
	unsigned obs_checkpoint_interval; /* "checkpoint_interval" seconds: 60 */
	struct np_cidr obs_research[CFG_MAX_RESEARCH]; /* "research": scanner ranges */
	unsigned n_obs_research;
	unsigned obs_max_clock_skew; /* "max_clock_skew": future event times refused beyond; 300 */

	/* [check]: the check pages and the DDNS owners' alerts */
	char check_public_url[CFG_URL_MAX]; /* "public_url": base of links in mail; "" = the
	                                       first [http] listen address */
	unsigned check_result_ttl;          /* "result_ttl" seconds a result page lives: 259200 */
	unsigned check_per_address_hour;    /* "per_address_hour": checks per address: 6 */
	unsigned check_per_email_day;       /* "per_email_day": checks per mail address: 10 */
	unsigned check_per_net24_hour;      /* "per_net24_hour": checks per IPv4 /24: 20 */
	unsigned check_per_net56_hour;      /* "per_net56_hour": checks per IPv6 /56: 12 */
	unsigned check_per_net48_hour;      /* "per_net48_hour": checks per IPv6 /48: 30 */
	unsigned check_global_per_hour;     /* "global_per_hour": checks by everyone: 300 */
	unsigned check_outbox_max;          /* "outbox_max": unsent mails before 503: 1000 */
	unsigned check_owner_interval;      /* "owner_interval" seconds between owner scans: 900 */

	/* [mail]: the SMTP relay results and alerts go through */
	char mail_relay[CFG_URL_MAX];     /* "relay": smtp://host:port or smtps://; "" = no mail */
	char mail_from[CFG_NAME_MAX + 65]; /* "from": the sender address */
	char mail_username[128];          /* "username" for SMTP AUTH; "" = none */
	char mail_password_file[PATH_MAX]; /* "password_file": its password, one line */
	char mail_tls[8];                 /* "tls": none|try|require (STARTTLS); try */

	/* [accounts] */
	char accounts_signup[8];         /* "signup": closed|invite|open; closed */
	unsigned accounts_max_hosts;     /* "max_hosts": hosts an account may create: 20 */
	unsigned accounts_max_tokens;    /* "max_tokens": tokens of an account: 50 */
	unsigned accounts_session_hours; /* "session_hours": a sign-in lasts: 12 */
	unsigned accounts_signup_per_hour;    /* "signup_per_hour": by everyone: 20 */
	unsigned accounts_signup_per_net_day; /* "signup_per_net_day": per IPv4 /24, IPv6 /48: 3 */
	unsigned mail_retry_min;          /* "retry_min" seconds: 60 */
	unsigned mail_retry_max;          /* "retry_max" seconds: 3600 */

	/* [abuse]: outbound abuse protection (docs/abuse.md). Update budgets per host, per
	 * token and per source address (IPv4 address, IPv6 /64); 0 = no limit. */
	unsigned abuse_window;            /* "window" seconds of the short budget window: 120 */
	unsigned abuse_host_per_window;   /* "host_per_window": 2 */
	unsigned abuse_host_per_day;      /* "host_per_day": 300 */
	unsigned abuse_token_per_window;  /* "token_per_window": 20 */
	unsigned abuse_token_per_day;     /* "token_per_day": 2000 */
	unsigned abuse_source_per_window; /* "source_per_window": 120 */
	unsigned abuse_source_per_day;    /* "source_per_day": 10000 */
	char abuse_parked[48];            /* "parked": what quarantined names answer; "" NXDOMAIN */
	char abuse_feeds[CFG_MAX_FEEDS][CFG_FEED_MAX]; /* "feed", repeatable: KIND:PATH */
	unsigned n_abuse_feeds;
	char abuse_asn_dbs[CFG_MAX_ASN_DBS][PATH_MAX]; /* "asn_db", repeatable: iptoasn TSV */
	unsigned n_abuse_asn_dbs;
	unsigned abuse_flux_window;      /* "flux_window" seconds of history scored: 86400 */
	unsigned abuse_watch_score;      /* "watch_score": 100 */
	unsigned abuse_hold_score;       /* "hold_score": 143 (Holz et al.'s 142.38) */
	unsigned abuse_quarantine_score; /* "quarantine_score": 300 */
	unsigned abuse_shared_accounts;  /* "shared_accounts": 10 */
	char abuse_reserved[1024];       /* "reserved": labels no account may take */
	char abuse_brands[2048];         /* "brands": names refused with their look-alikes */
	unsigned abuse_create_per_account_hour; /* "create_per_account_hour": 10 */
	unsigned abuse_create_per_source_hour;  /* "create_per_source_hour": 30 */
	unsigned abuse_reports_per_source_hour; /* "reports_per_source_hour": 10 */

	/* [zone NAME] sections, in file order */
	struct cfg_zone zones[CFG_MAX_ZONES];
	unsigned n_zones;
};

/* Reads and validates path into *cfg (fully overwritten; defaults applied first).
 * On failure returns NP_EINVAL and writes "file:line: message" into err. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen) np_mustcheck;

/* Lowercases and checks a host-style domain name (LDH and '_' labels of at most 63, at most
 * 253 characters, one optional trailing dot) into out. The root is refused: no zone, server
 * or host lives there. Shared by every config parser (server and client). */
int config_name_check(const char *in, char *out, size_t outlen) np_mustcheck;
/* Makes a relative path in a config file relative to that file's directory (and absolute),
 * so that the working directory never matters. NP_ETOOBIG or NP_EIO on failure. Shared by
 * the client's and the sensor's parsers. */
int config_path_resolve(const char *conf_path, const char *in, char *out,
                        size_t outlen) np_mustcheck;
/* Whether u is an absolute http(s) URL with a host, no user info (credentials belong in
 * their own keys, never in a URL that gets logged) and only printable ASCII. */
bool config_http_url_ok(const char *u);

/* Whether s is a mail address we accept (narrow: safe in SMTP commands and headers). */
bool config_mail_check(const char *s);
/* "error", "warning", "info" or "debug" to LOG_ERR..LOG_DEBUG; NP_EINVAL otherwise. */
int config_log_level(const char *s, int *out) np_mustcheck;

/* The zone that owns fqdn (longest suffix match; fqdn lowercase, no trailing dot), or NULL. */
const struct cfg_zone *config_zone_for(const struct config *cfg, const char *fqdn);
/* Whether a is one of [http] trusted_proxies: only those may name the client in
 * X-Forwarded-For, and they are exempt from the per-network connection limit. */
bool config_trusted_proxy(const struct config *cfg, const struct np_addr *a);

#endif
