/* SPDX-License-Identifier: MIT */
/* `nameplate audit`: the exposure check of the network behind a name, from inside (UPnP
 * mappings, NAT-PMP/PCP, VPN interfaces, the doctor's NAT facts) and from outside (the
 * server's batch probe of the requester's own address). Shared by the audit_*.c files of
 * the client; see docs/audit.md. */
#ifndef NP_CLIENT_AUDIT_H
#define NP_CLIENT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client.h"

struct json_t;

/* Exit statuses (docs/audit.md). */
#define AUDIT_EXIT_CLEAN       0 /* nothing medium or worse */
#define AUDIT_EXIT_FINDINGS    1 /* a finding of medium or worse */
#define AUDIT_EXIT_USAGE       2
#define AUDIT_EXIT_UNREACHABLE 3 /* the server could not be asked; the inside part printed */

#define AUDIT_MAX_MAPPINGS     128 /* port mappings listed (GetGenericPortMappingEntry) */
#define AUDIT_MAX_FINDINGS     256
#define AUDIT_MAX_PROBES       96 /* ports asked of the server, in batches */
#define AUDIT_PROBE_BATCH      32 /* ports in one request: the server's PROBE_BATCH_MAX */

enum audit_severity { SEV_INFO, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };
enum audit_reach { REACH_UNKNOWN, REACH_NO, REACH_YES };
enum audit_proto { AP_TCP, AP_UDP };

/* One service of the risky list: the port's usual service and its default severity when
 * the port answers from outside (Shadowserver's scale, docs/audit.md). */
struct audit_service {
	uint16_t port;
	enum audit_proto proto;
	const char *name;
	enum audit_severity severity;
	const char *why; /* why an open one matters */
	bool vpn;        /* a VPN's port: silent is the point */
};

/* The catalogue entry for port/proto, or NULL when the port is not on the list. */
const struct audit_service *audit_service_of(uint16_t port, enum audit_proto proto);
/* The whole list (probed from outside on every audit). */
const struct audit_service *audit_services(unsigned *n);

/* What a device told us (a mapping's description, say) may hold control characters or
 * bytes that are not UTF-8, and a text cut at its buffer's end may split a character: such
 * bytes become '?' in place, so that the text prints safely (no terminal escapes) and the
 * server takes the report (JSON text is UTF-8). */
void audit_text_clean(char *s);

const char *audit_severity_name(enum audit_severity s);
const char *audit_proto_name(enum audit_proto p);

/* One UPnP port mapping as the IGD lists it. */
struct audit_mapping {
	enum audit_proto proto;
	uint16_t ext_port, int_port;
	char int_client[INET6_ADDRSTRLEN];
	char desc[96];
	char remote_host[64];
	bool enabled;
	unsigned lease; /* seconds left, 0: permanent */
};

/* What the inside checks found. */
struct audit_inside {
	bool igd_found, igd_connected;
	char igd_url[CLIENT_URL_MAX];        /* the root description */
	char igd_lan_addr[INET6_ADDRSTRLEN]; /* our address as the IGD sees it */
	bool have_ext;
	struct np_addr ext; /* the IGD's external address (not 0.0.0.0) */
	struct audit_mapping maps[AUDIT_MAX_MAPPINGS];
	unsigned n_maps;
	bool maps_truncated; /* more than AUDIT_MAX_MAPPINGS */
	bool have_gateway;
	struct np_addr gateway; /* the IPv4 default route's next hop */
	bool natpmp, pcp;       /* the gateway answered on UDP 5351 */
	char vpn_ifs[128];      /* local wg / tun / tap interfaces, space separated */
};

/* The UPnP IGD (at rootdesc_url when not empty, else SSDP discovery) and its mappings. */
void audit_upnp(const char *rootdesc_url, struct audit_inside *in);
/* NAT-PMP and PCP on the default gateway (UDP 5351, bounded retries). */
void audit_natpmp(struct audit_inside *in);
/* Local VPN interfaces (wg*, or tun/tap devices). */
void audit_vpn_ifs(struct audit_inside *in);

/* One outside probe: asked and answered. */
struct audit_probe {
	uint16_t port;
	enum audit_proto proto;
	char state[16]; /* open, closed, filtered, silent; "" when not answered */
};

/* Tries the default credentials on the devices the audit found (the gateway and the LAN
 * hosts a mapping points at). Fills *tried per device; never keeps the password. */
struct audit_cred_target {
	struct np_addr addr;
	uint16_t port;
	bool http; /* HTTP (Basic, or a login form); else telnet */
};
struct audit_cred_result {
	bool accepted;
	char login[16]; /* how: "telnet", "http-basic" or "http-form" */
	char user[32];  /* the user name that got in; never the password */
	unsigned attempts;
	char detail[160];
};
/* At most AUDIT_CRED_MAX_ATTEMPTS per target, AUDIT_CRED_PAUSE_MS apart. */
#define AUDIT_CRED_MAX_ATTEMPTS 8
#define AUDIT_CRED_PAUSE_MS     300
void audit_cred_try(const struct audit_cred_target *t, unsigned timeout_s,
                    struct audit_cred_result *out);
/* Whether a is an address of this network's own LAN: on a directly connected IPv4 subnet
 * of this machine (never the WAN side beyond the gateway) and private (RFC 1918). */
bool audit_addr_on_lan(const struct np_addr *a);

/* A device's HTML login form, as --credentials fills it in. */
#define AUDIT_FORM_FIELDS_MAX 8   /* hidden fields carried along (a CSRF value, a language) */
#define AUDIT_FORM_FIELD_MAX  128 /* bytes of a field's name or value */
struct audit_login_form {
	char action[128];                                            /* a path on the same device */
	char user[AUDIT_FORM_FIELD_MAX], pass[AUDIT_FORM_FIELD_MAX]; /* the fields' names */
	unsigned n_hidden;
	char hidden[AUDIT_FORM_FIELDS_MAX][2][AUDIT_FORM_FIELD_MAX]; /* name, value */
};
/* Finds the POST form around html's first password input (page: the path html came from,
 * the action of a form without one); its text or email field before the password is the
 * user's. false when there is none the audit would try: no password field, no user field,
 * GET, or an action that leaves this device. */
bool audit_login_form_find(const char *html, const char *page, struct audit_login_form *f);
/* Whether html holds a password input (a login form, as far as the audit can tell). */
bool audit_html_has_password(const char *html);

/* The command: audits the network behind the first dyndns2 host (or the first host). */
int client_audit(const struct client_cfg *cfg, bool json, bool credentials, bool probe);

#endif
