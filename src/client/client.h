/* SPDX-License-Identifier: MIT */
/* The nameplate client: its configuration, per-host state and the pieces that detect
 * addresses and publish them. Shared by every src/client file; see docs/client.md. */
#ifndef NP_CLIENT_CLIENT_H
#define NP_CLIENT_CLIENT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/err.h"

#define CLIENT_MAX_HOSTS   32
#define CLIENT_SECRET_MAX  256
#define CLIENT_URL_MAX     512
#define CLIENT_CMD_MAX     1024
#define CLIENT_USER_AGENT  "Nameplate - nameplate client - 0.1"

/* Where an address family's value comes from. */
enum source_kind {
	SOURCE_NONE,      /* this family is not published */
	SOURCE_INTERFACE, /* interface:IFNAME, followed through netlink address events */
	SOURCE_CHECKIP,   /* checkip[:URL]: an HTTP echo, by default the server's /checkip */
	SOURCE_UPNP,      /* upnp[:ROOTDESC_URL]: the router's IGD external address */
	SOURCE_STATIC,    /* static:ADDR */
};

struct source_cfg {
	enum source_kind kind;
	char arg[CLIENT_URL_MAX]; /* IFNAME, URL (may be empty: the default), or ADDR text */
	struct np_addr addr;      /* SOURCE_STATIC: the parsed address */
};

enum protocol { PROTO_DYNDNS2, PROTO_RFC2136 };

/* One [host FQDN] section. */
struct host_cfg {
	char fqdn[CFG_NAME_MAX];
	enum protocol protocol;
	/* dyndns2 */
	char server[CLIENT_URL_MAX]; /* the update URL, e.g. http://127.0.0.1:8053/nic/update */
	char user[128];
	char secret[CLIENT_SECRET_MAX]; /* from "secret" or read from "secret_file" */
	/* rfc2136 */
	struct sockaddr_storage dns_server; /* "dns_server" ADDR@PORT */
	socklen_t dns_server_len;
	char zone[CFG_NAME_MAX];         /* "zone": default the host's parent name */
	char tsig_name[CFG_NAME_MAX];    /* "tsig_key" name */
	uint8_t tsig_key[128];           /* "tsig_secret" / "tsig_secret_file", base64 */
	size_t tsig_key_len;
	uint32_t ttl;                    /* "ttl" of published records; 60 */
	/* address sources */
	struct source_cfg ipv4, ipv6;
	char on_change[CLIENT_CMD_MAX]; /* run through /bin/sh -c, details in the environment */
	char on_error[CLIENT_CMD_MAX];
	uint8_t digest[32]; /* hash of the section as written: a changed config clears a latch */
};

struct client_cfg {
	char path[PATH_MAX];
	char state_dir[PATH_MAX]; /* [client] state_dir */
	char server[CLIENT_URL_MAX]; /* [client] server: the update URL of hosts that name none */
	unsigned interval;        /* [client] interval: seconds between polls; 300 */
	unsigned retry_base;      /* [client] retry_base: first back-off in seconds; 300 */
	unsigned retry_max;       /* [client] retry_max: longest back-off; 21600 */
	unsigned timeout;         /* [client] timeout: per HTTP/DNS request in seconds; 15 */
	int log_level;
	struct host_cfg hosts[CLIENT_MAX_HOSTS];
	unsigned n_hosts;
};

/* Reads and checks the file; refuses a secret that others could read (the file itself
 * when it holds "secret", or the secret_file). "FILE:LINE: message" into err. */
int client_config_load(const char *path, struct client_cfg *cfg, char *err,
		       size_t errlen) np_mustcheck;

/* ---- per-host state, kept in state_dir/FQDN.state (written atomically) ---- */

/* The outcome class of one attempt. */
enum result_class {
	RESULT_NONE,      /* no attempt yet */
	RESULT_OK,        /* good / nochg / NOERROR */
	RESULT_FATAL,     /* latched: no more attempts until the config changes or a reset */
	RESULT_TRANSIENT, /* retried with back-off */
};

struct host_state {
	struct np_addr v4, v6; /* last published (family 0: none) */
	enum result_class last_class;
	char last_code[32];     /* "good", "badauth", "911", "http 503", "timeout", "NOTAUTH" ... */
	char last_message[256]; /* a plain explanation for status */
	int64_t last_attempt;   /* unix seconds */
	int64_t last_success;
	bool latched;
	uint8_t latch_digest[32]; /* the host_cfg.digest the latch was set under */
	unsigned failures;        /* consecutive transient failures: the back-off exponent */
	int64_t next_attempt;     /* not before this (back-off or Retry-After) */
	uint8_t ok_digest[32];    /* the host_cfg.digest of the last success: a changed section
				   * (another server, user or secret) publishes again */
};

int state_load(const char *state_dir, const char *fqdn, struct host_state *st) np_mustcheck;
/* Writes to a temporary file, fsyncs it, renames it over the old one, fsyncs the directory. */
int state_save(const char *state_dir, const char *fqdn, const struct host_state *st) np_mustcheck;

/* ---- publishing: one attempt through a provider ---- */

struct publish_result {
	enum result_class cls;
	char code[32];
	char message[256];
	int64_t retry_after; /* seconds the server asked to wait (Retry-After), 0 if none */
	struct np_addr seen; /* an address the server echoed back, if any */
};

/* dyndns2 over HTTP(S) with libcurl: GET server?hostname=..&myip=.. with Basic auth and
 * the client's User-Agent. Classifies the answer per the protocol's codes. */
void provider_dyndns2(const struct client_cfg *cfg, const struct host_cfg *h,
		      const struct np_addr *v4, const struct np_addr *v6,
		      struct publish_result *out);
/* RFC 2136 UPDATE signed with TSIG (HMAC-SHA256): replaces the host's A and/or AAAA. */
void provider_rfc2136(const struct client_cfg *cfg, const struct host_cfg *h,
		      const struct np_addr *v4, const struct np_addr *v6,
		      struct publish_result *out);

/* Classifies a dyndns2 answer body (first line) and HTTP status. Pure: unit-tested. */
void dyndns2_classify(long http_status, const char *body, struct publish_result *out);

/* ---- address sources ---- */

/* Reads the current address of one family from a source. NP_ENOTFOUND when the source
 * has none (an interface without a usable global address). */
int source_read(const struct client_cfg *cfg, const struct host_cfg *h, int family,
		const struct source_cfg *src, struct np_addr *out) np_mustcheck;

/* Whether an IPv6 address with these IFA_F_* flags may be published: never temporary,
 * deprecated, tentative (or DAD-failed), link-local, ULA, loopback or multicast. */
bool source_ipv6_publishable(const struct np_addr *a, uint32_t ifa_flags);

/* A netlink socket subscribed to IPv4 and IPv6 address changes; readable when one
 * happened. netlink_drain() empties it and says whether a change concerned any of the
 * names in ifnames (NULL: any). */
int netlink_open(void) np_mustcheck;
bool netlink_drain(int fd, const char *const *ifnames, unsigned n);

/* One NETLINK_ROUTE dump (type RTM_GETADDR or RTM_GETROUTE, of family AF_INET/AF_INET6):
 * cb sees every reply message (nlmsg_len checked against the buffer only; cb checks
 * its payload); a non-zero return from cb stops and is returned. Bounded in time (2 s)
 * and in messages. */
struct nlmsghdr;
typedef int netlink_dump_cb(const struct nlmsghdr *nh, void *arg);
int netlink_dump(int type, int family, netlink_dump_cb *cb, void *arg) np_mustcheck;

/* The largest checkip (and probe) answer read; a longer one is refused. */
#define SOURCE_BODY_MAX 4096

/* Finds the first address of family (AF_INET, AF_INET6, or 0 for either) in a checkip
 * answer of len bytes (plain "ADDR\n" or HTML "Current IP Address: ADDR"); strict
 * inet_pton on each candidate. Pure: unit-tested. NP_ENOTFOUND when there is none. */
int source_checkip_parse(const char *body, size_t len, int family,
			 struct np_addr *out) np_mustcheck;
/* The update URL's scheme://host[:port] followed by path, e.g. the default checkip URL
 * http://127.0.0.1:8053/checkip from http://127.0.0.1:8053/nic/update. */
int source_server_url(const char *server, const char *path, char *out,
		      size_t len) np_mustcheck;
/* One GET with libcurl (cfg->timeout, CLIENT_USER_AGENT, only http/https, no redirects):
 * over IPv4 or IPv6 only when family says so (0: either); Basic auth when user is not
 * NULL. The body (at most bodylen-1 bytes, NUL-terminated; a longer one is NP_ETOOBIG)
 * and the HTTP status are returned; *retry_after (may be NULL) gets Retry-After seconds. */
int source_http_get(const struct client_cfg *cfg, const char *url, int family,
		    const char *user, const char *secret, long *status, char *body,
		    size_t bodylen, int64_t *retry_after) np_mustcheck;
/* One POST of a JSON body (len bytes) with "Authorization: Token token" (the REST API's
 * credential), under source_http_get's rules, over either family. */
int source_http_post_json(const struct client_cfg *cfg, const char *url, const char *token,
			  const char *json, size_t len, long *status, char *body,
			  size_t bodylen) np_mustcheck;
/* The IGD's external IPv4 address: from rootdesc_url when not empty, else SSDP
 * discovery (2 s). *igd_found says whether an IGD answered at all; NP_ENOTFOUND with
 * *igd_found set means it reported no usable address (miniupnpd answers 0.0.0.0 when its
 * own WAN address is private or reserved). */
int source_upnp_external(const char *rootdesc_url, struct np_addr *out,
			 bool *igd_found) np_mustcheck;

/* ---- doctor: the pure classification of what it measured ---- */

enum doctor_verdict {
	DOCTOR_UNKNOWN,       /* the server could not tell which address it sees */
	DOCTOR_PUBLIC,        /* this machine holds the address the server sees */
	DOCTOR_NAT,           /* one NAT whose outside address is public: forward ports */
	DOCTOR_CGNAT,         /* an RFC 6598 address on the WAN or on the router */
	DOCTOR_DOUBLE_NAT,    /* the router's WAN address is private (RFC 1918) */
	DOCTOR_NAT_BEYOND,    /* the router's address is not the one the server sees */
	DOCTOR_ROUTER_NO_ADDR /* the IGD reports no usable (public) external address */
};

struct doctor_facts {
	bool have_wan, igd_found, have_router, have_seen;
	struct np_addr wan;    /* the default route's interface address (IPv4) */
	struct np_addr router; /* the IGD's external address */
	struct np_addr seen;   /* what the server's /checkip answered */
};

/* Classifies the facts; writes one plain sentence explaining the verdict into why. */
enum doctor_verdict doctor_classify(const struct doctor_facts *f, char *why, size_t len);
/* Whether the verdict means inbound IPv4 connections cannot reach this machine. */
bool doctor_blocking(enum doctor_verdict v);
/* A short stable name for --json: "public", "nat", "cgnat", "double-nat", ... */
const char *doctor_verdict_name(enum doctor_verdict v);

/* Measures the facts for h quietly: the WAN address, the router's by UPnP (when upnp; else
 * the caller fills them in) and the address the server's /checkip sees. */
void doctor_measure(const struct client_cfg *cfg, const struct host_cfg *h, bool upnp,
		    struct doctor_facts *f);

/* ---- the daemon and the commands ---- */

/* One pass over every host: detect, publish what changed (or everything when force),
 * record the state. Returns true when every host is up to date. */
bool client_update_all(const struct client_cfg *cfg, bool force);
/* The daemon: update once at start, then on netlink events at once and on the poll
 * interval, until SIGTERM/SIGINT. SIGHUP re-reads the config. */
int client_run(const char *path, struct client_cfg *cfg);
int client_status(const struct client_cfg *cfg, bool json);
int client_reset(const struct client_cfg *cfg, const char *fqdn);
int client_doctor(const struct client_cfg *cfg, const unsigned *ports, unsigned n_ports,
		  bool json);

/* ---- check.c: nameplate check and the incidents part of status ---- */

/* Exit statuses of `nameplate check` (docs/client.md). */
#define CHECK_EXIT_NOT_OBSERVED 0 /* no sensor saw this connection's address attack */
#define CHECK_EXIT_FLAGGED      1 /* infected or suspicious */
#define CHECK_EXIT_USAGE        2 /* bad arguments or no usable host in the config */
#define CHECK_EXIT_UNREACHABLE  3 /* the server could not be reached or asked */
#define CHECK_EXIT_AUTH         4 /* the server refused the host's credentials */

/* Asks HOST's server (host NULL: the first dyndns2 host's) GET /api/v1/check with the host's
 * credentials and prints the verdict for the address the server sees (as the server's JSON
 * with json). Returns one of the CHECK_EXIT_* statuses. */
int client_check(const struct client_cfg *cfg, const char *host, bool json);
/* After status: asks /api/v1/status once per distinct (server, user) of the dyndns2 hosts,
 * at most 5 s each, and prints the open incidents (root NULL) or adds them to root (the
 * status JSON: "incidents" on each host object the answer covers, "incident_sources" with
 * the outcome per server). Never fails: an unreachable server is reported as such. */
struct json_t;
void client_status_incidents(const struct client_cfg *cfg, struct json_t *root);

#endif
