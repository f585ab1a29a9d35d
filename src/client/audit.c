/* SPDX-License-Identifier: MIT */
/* `nameplate audit`: gathers the inside facts and the server's outside view, turns them
 * into findings (id, severity, layer, evidence, reachable_from_outside, remedy), grades
 * them and prints them (text or JSON). The last result is kept in state_dir so a re-run
 * shows what changed. docs/audit.md is the reference of every finding. */
#include "client/audit.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"

/* ---- the risky list (Shadowserver's default severities, docs/audit.md) ---- */

static const struct audit_service services[] = {
    {5555, AP_TCP, "Android ADB", SEV_CRITICAL,
     "ADB gives a shell without a password; ADB.Miner and Mirai variants spread through it", false},
    {53413, AP_UDP, "Netis/Netcore backdoor", SEV_CRITICAL,
     "a known backdoor of Netis/Netcore routers that gives remote control", false},
    {23, AP_TCP, "telnet", SEV_HIGH,
     "telnet is what Mirai scans first and logs into with default passwords", false},
    {2323, AP_TCP, "telnet (alternate)", SEV_HIGH,
     "Mirai scans this second telnet port and logs in with default passwords", false},
    {7547, AP_TCP, "TR-069 (CWMP)", SEV_HIGH,
     "the ISP management port: its remote-code bugs took 900,000 routers offline in 2016", false},
    {3389, AP_TCP, "RDP", SEV_HIGH,
     "Windows remote desktop is brute-forced and exploited from the internet all day", false},
    {445, AP_TCP, "SMB", SEV_HIGH,
     "file sharing was never made for the internet: WannaCry spread through it", false},
    {139, AP_TCP, "NetBIOS", SEV_HIGH, "Windows file sharing was never made for the internet",
     false},
    {5900, AP_TCP, "VNC", SEV_HIGH, "remote screens are often guarded by a weak password or none",
     false},
    {37215, AP_TCP, "Huawei HG532 UPnP", SEV_HIGH,
     "the Satori botnet exploits this port (CVE-2017-17215)", false},
    {52869, AP_TCP, "Realtek miniigd UPnP", SEV_HIGH,
     "the Satori botnet exploits this port (CVE-2014-8361)", false},
    {1900, AP_UDP, "SSDP (UPnP)", SEV_HIGH,
     "a router that answers SSDP from the internet leaks its details and reflects DDoS traffic",
     false},
    {5351, AP_UDP, "NAT-PMP/PCP", SEV_HIGH,
     "NAT-PMP answering from the internet leaks the router's state and may let strangers map ports",
     false},
    {21, AP_TCP, "FTP", SEV_LOW, "FTP sends passwords in the clear", false},
    {22, AP_TCP, "SSH", SEV_LOW,
     "SSH is brute-forced from the internet all day: keys only, no passwords", false},
    {80, AP_TCP, "HTTP", SEV_LOW,
     "web admin pages of cameras and routers are a favourite target (default logins, RCE bugs)",
     false},
    {8080, AP_TCP, "HTTP (alternate)", SEV_LOW,
     "web admin pages of cameras and routers are a favourite target (default logins, RCE bugs)",
     false},
    {443, AP_TCP, "HTTPS", SEV_LOW, "whatever web application answers here is on the internet",
     false},
    {51820, AP_UDP, "WireGuard", SEV_INFO, "WireGuard stays silent to anyone without its key",
     true},
    {1194, AP_UDP, "OpenVPN", SEV_INFO, "OpenVPN with tls-auth stays silent to strangers", true},
};

const struct audit_service *audit_services(unsigned *n)
{
	*n = ARRAY_SIZE(services);
	return services;
}

const struct audit_service *audit_service_of(uint16_t port, enum audit_proto proto)
{
	for (size_t i = 0; i < ARRAY_SIZE(services); i++)
		if (services[i].port == port && services[i].proto == proto)
			return &services[i];
	return NULL;
}

const char *audit_severity_name(enum audit_severity s)
{
	static const char *const names[] = {"info", "low", "medium", "high", "critical"};
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "info";
}

const char *audit_proto_name(enum audit_proto p)
{
	return p == AP_UDP ? "udp" : "tcp";
}

/* ---- findings ---- */

void audit_text_clean(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	json_t *t = json_string(s);
	if (t == NULL)
		for (char *p = s; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	json_decref(t);
}

/* Texts are cut at their buffer's end (all hold far more than a finding needs). */
static void text(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void text(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(out, len, fmt, ap) < 0)
		out[0] = '\0';
	va_end(ap);
	audit_text_clean(out);
}

struct finding {
	char id[24];
	enum audit_severity sev;
	int layer;
	enum audit_reach reach;
	char key[128]; /* what identifies it across runs: id and its object */
	char title[200];
	char found[400], why[400], todo[400];
	json_t *evidence;
};

struct audit {
	const struct client_cfg *cfg;
	const struct host_cfg *h;
	bool probe, credentials;
	struct audit_inside in;
	struct doctor_facts f;
	enum doctor_verdict verdict;
	char why[320];
	struct audit_probe probes[AUDIT_MAX_PROBES];
	unsigned n_probes;
	bool probed;      /* the server answered the probes */
	bool unreachable; /* the server could not be asked */
	bool no_answer;   /* ... because it did not answer at all */
	char probe_error[200];
	/* The report sent to the server (POST /api/v1/hosts/FQDN/audit). */
	bool sent;              /* the server kept it */
	int64_t sent_time;      /* its time there */
	json_t *server_changes; /* what changed since the server's previous one (or null) */
	char send_error[200];   /* why it was not kept; "" when not tried */
	struct finding fs[AUDIT_MAX_FINDINGS];
	unsigned n;
};

static struct finding *add(struct audit *a, const char *id, enum audit_severity sev, int layer,
                           enum audit_reach reach, const char *key_fmt, ...)
    __attribute__((format(printf, 6, 7)));

static struct finding *add(struct audit *a, const char *id, enum audit_severity sev, int layer,
                           enum audit_reach reach, const char *key_fmt, ...)
{
	if (a->n >= AUDIT_MAX_FINDINGS)
		return NULL;
	struct finding *f = &a->fs[a->n];
	memset(f, 0, sizeof(*f));
	f->evidence = json_object();
	if (f->evidence == NULL)
		return NULL;
	a->n++;
	np_strlcpy(f->id, id, sizeof(f->id));
	f->sev = sev;
	f->layer = layer;
	f->reach = reach;
	char obj[96];
	va_list ap;
	va_start(ap, key_fmt);
	vsnprintf(obj, sizeof(obj), key_fmt, ap);
	va_end(ap);
	snprintf(f->key, sizeof(f->key), "%s%s%s", id, obj[0] ? " " : "", obj);
	return f;
}

#define TEXT(field, ...) text(f->field, sizeof(f->field), __VA_ARGS__)

static void ev_str(struct finding *f, const char *k, const char *v)
{
	char c[CLIENT_URL_MAX];
	np_strlcpy(c, v, sizeof(c));
	audit_text_clean(c);
	json_object_set_new(f->evidence, k, json_string(c));
}

static void ev_int(struct finding *f, const char *k, long long v)
{
	json_object_set_new(f->evidence, k, json_integer(v));
}

static const struct audit_probe *probe_of(const struct audit *a, uint16_t port,
                                          enum audit_proto proto)
{
	for (unsigned i = 0; i < a->n_probes; i++)
		if (a->probes[i].port == port && a->probes[i].proto == proto &&
		    a->probes[i].state[0] != '\0')
			return &a->probes[i];
	return NULL;
}

/* What the outside view says of port/proto: open is reachable; closed, filtered or silent
 * is not; not asked (or behind a NAT that is not ours) is unknown. */
static enum audit_reach reach_of(const struct audit *a, uint16_t port, enum audit_proto proto)
{
	if (a->verdict == DOCTOR_CGNAT || a->verdict == DOCTOR_NAT_BEYOND)
		return REACH_NO; /* the address outside is the ISP's, shared: inbound cannot come */
	const struct audit_probe *p = probe_of(a, port, proto);
	if (p == NULL)
		return REACH_UNKNOWN;
	return strcmp(p->state, "open") == 0 ? REACH_YES : REACH_NO;
}

static bool probe_open(const struct audit *a, const struct audit_probe *p)
{
	(void)a;
	return p->state[0] != '\0' && strcmp(p->state, "open") == 0;
}

/* ---- the outside view: the server's batch probe ---- */

static void want_probe(struct audit *a, uint16_t port, enum audit_proto proto)
{
	for (unsigned i = 0; i < a->n_probes; i++)
		if (a->probes[i].port == port && a->probes[i].proto == proto)
			return;
	if (a->n_probes >= AUDIT_MAX_PROBES)
		return;
	a->probes[a->n_probes++] = (struct audit_probe){.port = port, .proto = proto};
}

/* Parses "STATE PORT/PROTO" lines into the probes asked; other lines are ignored. */
static void parse_probe_answer(struct audit *a, char *body)
{
	char *save = NULL;
	unsigned lines = 0;
	for (char *line = strtok_r(body, "\n", &save); line != NULL && lines < AUDIT_MAX_PROBES;
	     line = strtok_r(NULL, "\n", &save), lines++) {
		char *sp = strchr(line, ' ');
		char *slash = sp != NULL ? strchr(sp + 1, '/') : NULL;
		if (sp == NULL || slash == NULL || (size_t)(sp - line) >= 16)
			continue;
		*sp = *slash = '\0';
		uint32_t port;
		const char *proto = slash + 1;
		if (str_to_u32(sp + 1, 1, 65535, &port) != NP_OK ||
		    (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
			continue;
		enum audit_proto pr = strcmp(proto, "udp") == 0 ? AP_UDP : AP_TCP;
		for (unsigned i = 0; i < a->n_probes; i++)
			if (a->probes[i].port == port && a->probes[i].proto == pr)
				np_strlcpy(a->probes[i].state, line, sizeof(a->probes[i].state));
	}
}

/* The server answers a batch once its slowest port timed out (3 s): the request may take
 * that long on top of the network, whatever the configured timeout. */
#define AUDIT_PROBE_TIMEOUT_MIN 10

static void ask_batches(struct audit *a, const struct client_cfg *cfg);

static void ask_server(struct audit *a)
{
	struct client_cfg *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		text(a->probe_error, sizeof(a->probe_error), "out of memory");
		a->unreachable = true;
		return;
	}
	*cfg = *a->cfg;
	if (cfg->timeout < AUDIT_PROBE_TIMEOUT_MIN)
		cfg->timeout = AUDIT_PROBE_TIMEOUT_MIN;
	ask_batches(a, cfg);
	explicit_bzero(cfg, sizeof(*cfg));
	free(cfg);
}

static void ask_batches(struct audit *a, const struct client_cfg *cfg)
{
	unsigned done = 0;
	for (unsigned b = 0; done < a->n_probes && b < AUDIT_MAX_PROBES / AUDIT_PROBE_BATCH + 1;
	     b++) {
		char tcp[AUDIT_PROBE_BATCH * 6 + 1] = "", udp[AUDIT_PROBE_BATCH * 6 + 1] = "";
		size_t ot = 0, ou = 0;
		unsigned end =
		    done + AUDIT_PROBE_BATCH < a->n_probes ? done + AUDIT_PROBE_BATCH : a->n_probes;
		for (unsigned i = done; i < end; i++) {
			char *buf = a->probes[i].proto == AP_UDP ? udp : tcp;
			size_t *off = a->probes[i].proto == AP_UDP ? &ou : &ot;
			int w = snprintf(buf + *off, sizeof(tcp) - *off, "%s%u", *off ? "," : "",
			                 a->probes[i].port);
			if (w > 0)
				*off += (size_t)w;
		}
		done = end;
		char path[sizeof(tcp) + sizeof(udp) + 32], url[CLIENT_URL_MAX + sizeof(path)];
		snprintf(path, sizeof(path), "/nic/probe?%s%s%s%s%s", ot ? "tcp=" : "", tcp,
		         ot && ou ? "&" : "", ou ? "udp=" : "", udp);
		if (source_server_url(a->h->server, path, url, sizeof(url)) != NP_OK) {
			text(a->probe_error, sizeof(a->probe_error),
			     "no HTTP server configured for %s", a->h->fqdn);
			a->unreachable = true;
			return;
		}
		char body[SOURCE_BODY_MAX + 1];
		long status = 0;
		int64_t retry = 0;
		int ret = source_http_get(cfg, url, AF_INET, a->h->user, a->h->secret, &status,
		                          body, sizeof(body), &retry);
		if (ret != NP_OK) {
			snprintf(a->probe_error, sizeof(a->probe_error),
			         "the server did not answer the probe");
			a->unreachable = a->no_answer = true;
			return;
		}
		if (status != 200) {
			char line[128];
			size_t n = strcspn(body, "\r\n");
			log_escape(line, sizeof(line), body, n > 100 ? 100 : n);
			snprintf(a->probe_error, sizeof(a->probe_error),
			         "the server answered the probe with HTTP %ld%s%s%s", status,
			         status == 429 ? " (rate-limited; retry later)" : "",
			         line[0] ? ": " : "", line);
			a->unreachable = true;
			return;
		}
		parse_probe_answer(a, body);
	}
	a->probed = true;
}

/* ---- turning facts into findings ---- */

static void lease_text(unsigned lease, char *out, size_t len)
{
	if (lease == 0)
		snprintf(out, len, "permanent");
	else
		snprintf(out, len, "%u s left", lease);
}

static void find_upnp(struct audit *a)
{
	struct finding *f;
	const struct audit_inside *in = &a->in;
	if (!in->igd_found) {
		f = add(a, "no-igd", SEV_INFO, 1, REACH_UNKNOWN, "%s", "");
		if (f == NULL)
			return;
		TEXT(title, "no UPnP IGD answered: UPnP is off");
		TEXT(found, "No router answered a UPnP (SSDP) search on this network.");
		TEXT(why, "Without UPnP no device can open a port to the internet by itself.");
		TEXT(todo, "Nothing: keep UPnP off.");
		return;
	}
	f = add(a, "upnp-enabled", SEV_MEDIUM, 1, REACH_UNKNOWN, "%s", "");
	if (f == NULL)
		return;
	ev_str(f, "igd", in->igd_url);
	ev_int(f, "mappings", in->n_maps);
	ev_str(f, "external_address", "");
	if (in->have_ext) {
		char e[INET6_ADDRSTRLEN];
		ev_str(f, "external_address", addr_format(&in->ext, e, sizeof(e)));
	}
	TEXT(title, "UPnP is on in the router (%u port mapping%s)", in->n_maps,
	     in->n_maps == 1 ? "" : "s");
	TEXT(found, "The router's UPnP IGD (%s) answers on the LAN and lists %u port mapping%s%s.",
	     in->igd_url, in->n_maps, in->n_maps == 1 ? "" : "s",
	     in->maps_truncated ? " (and more than the audit lists)" : "");
	TEXT(why, "With UPnP any device or program in the house can open a port to the internet "
	          "without asking you: cameras, NAS boxes and malware do, and that is how botnets "
	          "like Mirai find them.");
	TEXT(todo, "Turn UPnP off in the router's settings and forward by hand only what you "
	           "need (better: a VPN instead of open ports). Run the audit again: some routers "
	           "keep answering when UPnP is \"off\".");

	for (unsigned i = 0; i < in->n_maps; i++) {
		const struct audit_mapping *m = &in->maps[i];
		const struct audit_service *s = audit_service_of(m->ext_port, m->proto);
		enum audit_reach r = reach_of(a, m->ext_port, m->proto);
		/* A mapping opens a port on purpose: an unknown service is medium; a known one
		 * its own severity, at least low; one the outside cannot reach is low. */
		enum audit_severity sev = s != NULL ? s->severity : SEV_MEDIUM;
		if (sev < SEV_LOW)
			sev = SEV_LOW;
		if (r == REACH_NO)
			sev = SEV_LOW;
		if (s != NULL && s->vpn)
			sev = SEV_INFO;
		const char *proto = audit_proto_name(m->proto);
		f = add(a, "upnp-mapping", sev, 1, r, "%s/%u", proto, m->ext_port);
		if (f == NULL)
			return;
		char lease[32];
		lease_text(m->lease, lease, sizeof(lease));
		ev_str(f, "protocol", proto);
		ev_int(f, "external_port", m->ext_port);
		ev_str(f, "internal_address", m->int_client);
		ev_int(f, "internal_port", m->int_port);
		ev_str(f, "description", m->desc);
		ev_int(f, "lease", m->lease);
		ev_str(f, "remote_host", m->remote_host);
		ev_str(f, "service", s != NULL ? s->name : "");
		TEXT(title, "UPnP mapping %s %u -> %s:%u (%s)", proto, m->ext_port, m->int_client,
		     m->int_port, s != NULL ? s->name : "unknown service");
		TEXT(found,
		     "The router forwards %s port %u from the internet to %s port %u (\"%s\", "
		     "%s)%s.",
		     proto, m->ext_port, m->int_client, m->int_port, m->desc, lease,
		     r == REACH_YES  ? "; the server reached it from outside"
		     : r == REACH_NO ? "; the server could not reach it from outside"
		                     : "");
		TEXT(why, "%s%s",
		     s != NULL ? s->why
		               : "whatever listens on that port of that device can be reached from "
		                 "the whole internet",
		     s != NULL && s->vpn ? "" : "; a device asked for this itself, through UPnP");
		if (s != NULL && s->vpn)
			TEXT(todo, "Nothing, if this is your VPN: keep it updated.");
		else
			TEXT(todo,
			     "Remove the mapping (the router's UPnP table, or turn the feature off "
			     "on %s); if you need the service from outside, use a VPN instead. "
			     "Change the device's default password and update its firmware.",
			     m->int_client);
	}
}

static void find_natpmp(struct audit *a)
{
	if (!a->in.natpmp && !a->in.pcp)
		return;
	char gw[INET6_ADDRSTRLEN];
	addr_format(&a->in.gateway, gw, sizeof(gw));
	struct finding *f = add(a, "natpmp-enabled", SEV_MEDIUM, 1, REACH_UNKNOWN, "%s", "");
	if (f == NULL)
		return;
	const char *what = a->in.natpmp && a->in.pcp ? "NAT-PMP and PCP"
	                   : a->in.natpmp            ? "NAT-PMP"
	                                             : "PCP";
	ev_str(f, "gateway", gw);
	json_object_set_new(f->evidence, "natpmp", json_boolean(a->in.natpmp));
	json_object_set_new(f->evidence, "pcp", json_boolean(a->in.pcp));
	TEXT(title, "%s is on in the router", what);
	TEXT(found, "The gateway %s answers %s on UDP 5351.", gw, what);
	TEXT(why, "Like UPnP, %s lets any device in the house open ports to the internet.", what);
	TEXT(todo, "Turn NAT-PMP/PCP off in the router's settings (often next to UPnP).");
}

static void find_outside(struct audit *a)
{
	if (!a->probed)
		return;
	for (unsigned i = 0; i < a->n_probes; i++) {
		const struct audit_probe *p = &a->probes[i];
		if (!probe_open(a, p))
			continue;
		const struct audit_service *s = audit_service_of(p->port, p->proto);
		if (s != NULL && s->vpn)
			continue; /* a VPN answering is judged by the VPN posture */
		const char *proto = audit_proto_name(p->proto);
		struct finding *f;
		if (p->port == 1900 && p->proto == AP_UDP) {
			f = add(a, "upnp-wan-exposed", SEV_HIGH, 1, REACH_YES, "%s", "udp/1900");
			if (f == NULL)
				return;
			ev_str(f, "protocol", "udp");
			ev_int(f, "port", 1900);
			TEXT(title, "the router answers UPnP (SSDP) from the internet");
			TEXT(found, "An SSDP search the server sent to your address (UDP 1900) was "
			            "answered.");
			TEXT(why,
			     "UPnP was never meant for the internet: such a router tells strangers "
			     "what it is, may let them map ports, and reflects DDoS traffic. Such "
			     "equipment is considered defective.");
			TEXT(todo,
			     "Update the router's firmware and turn UPnP off; if it still answers "
			     "from outside, replace the router.");
			continue;
		}
		enum audit_severity sev = s != NULL ? s->severity : SEV_MEDIUM;
		f = add(a, "port-open", sev, 1, REACH_YES, "%s/%u", proto, p->port);
		if (f == NULL)
			return;
		ev_str(f, "protocol", proto);
		ev_int(f, "port", p->port);
		ev_str(f, "service", s != NULL ? s->name : "");
		ev_str(f, "state", p->state);
		/* The inside evidence of the same port, when a mapping explains it. */
		for (unsigned k = 0; k < a->in.n_maps; k++) {
			const struct audit_mapping *m = &a->in.maps[k];
			if (m->ext_port == p->port && m->proto == p->proto) {
				ev_str(f, "internal_address", m->int_client);
				ev_int(f, "internal_port", m->int_port);
			}
		}
		TEXT(title, "%s %u (%s) answers from the internet", proto, p->port,
		     s != NULL ? s->name : "unknown service");
		TEXT(found, "The server connected to %s port %u of your address from outside.",
		     proto, p->port);
		TEXT(why, "%s.",
		     s != NULL ? s->why : "whatever answers there can be reached by anyone");
		TEXT(todo,
		     "Close the port forward or mapping if you do not need it, power off what "
		     "is unused, change default passwords and update the firmware; for remote "
		     "access use a VPN instead of open services.");
	}
}

static void find_vpn(struct audit *a)
{
	/* Inside evidence: a VPN interface here, or a mapping to a VPN port. */
	char ports[128] = "";
	size_t off = 0;
	for (unsigned i = 0; i < a->in.n_maps; i++) {
		const struct audit_service *s =
		    audit_service_of(a->in.maps[i].ext_port, a->in.maps[i].proto);
		if (s != NULL && s->vpn && off < sizeof(ports)) {
			int w = snprintf(ports + off, sizeof(ports) - off, "%s%s/%u",
			                 off ? " " : "", audit_proto_name(s->proto), s->port);
			if (w > 0)
				off += (size_t)w;
		}
	}
	if (a->in.vpn_ifs[0] == '\0' && ports[0] == '\0')
		return;
	if (!a->probed)
		return; /* the posture needs the outside view: nothing else may answer */
	for (unsigned i = 0; i < a->n; i++)
		if (strcmp(a->fs[i].id, "port-open") == 0 ||
		    strcmp(a->fs[i].id, "upnp-wan-exposed") == 0)
			return; /* something else answers: not a VPN-only network */
	struct finding *f = add(a, "vpn-only", SEV_INFO, 3, REACH_NO, "%s", "");
	if (f == NULL)
		return;
	ev_str(f, "interfaces", a->in.vpn_ifs);
	ev_str(f, "mapped", ports);
	/* Which VPN ports were forwarded to something silent (no ICMP "closed"). */
	char silent[128] = "";
	off = 0;
	unsigned n;
	const struct audit_service *s = audit_services(&n);
	for (unsigned i = 0; i < n; i++) {
		const struct audit_probe *p = s[i].vpn ? probe_of(a, s[i].port, s[i].proto) : NULL;
		if (p != NULL && strcmp(p->state, "closed") != 0 && off < sizeof(silent)) {
			int w = snprintf(silent + off, sizeof(silent) - off, "%s%s/%u",
			                 off ? " " : "", audit_proto_name(s[i].proto), s[i].port);
			if (w > 0)
				off += (size_t)w;
		}
	}
	ev_str(f, "silent_ports", silent);
	TEXT(title, "VPN-only: the only door in is a silent VPN");
	TEXT(found, "A VPN is set up here (%s%s%s%s%s) and nothing else answered from outside%s%s.",
	     a->in.vpn_ifs[0] ? "interface " : "", a->in.vpn_ifs,
	     a->in.vpn_ifs[0] && ports[0] ? ", " : "", ports[0] ? "mapped " : "", ports,
	     silent[0] ? "; forwarded and silent: " : "", silent);
	TEXT(why, "A VPN that shows strangers nothing (WireGuard, OpenVPN with tls-auth) is "
	          "what the guides recommend: scanners find no door to try.");
	TEXT(todo, "Well done. Keep the VPN software updated and keep other services behind it.");
}

static void find_nat(struct audit *a)
{
	const char *id = NULL;
	switch (a->verdict) {
	case DOCTOR_CGNAT:
	case DOCTOR_NAT_BEYOND:
		id = "cgnat";
		break;
	case DOCTOR_DOUBLE_NAT:
	case DOCTOR_ROUTER_NO_ADDR:
		id = "double-nat";
		break;
	default:
		return;
	}
	struct finding *f = add(a, id, SEV_INFO, 1, REACH_NO, "%s", "");
	if (f == NULL)
		return;
	ev_str(f, "verdict", doctor_verdict_name(a->verdict));
	char s[INET6_ADDRSTRLEN];
	if (a->f.have_wan)
		ev_str(f, "wan_address", addr_format(&a->f.wan, s, sizeof(s)));
	if (a->f.have_router)
		ev_str(f, "router_address", addr_format(&a->f.router, s, sizeof(s)));
	if (a->f.have_seen)
		ev_str(f, "server_seen", addr_format(&a->f.seen, s, sizeof(s)));
	TEXT(title, "%s",
	     strcmp(id, "cgnat") == 0 ? "carrier-grade NAT: inbound connections "
	                                "cannot reach this network"
	                              : "double NAT: a second router translates "
	                                "again");
	TEXT(found, "%s.", a->why);
	TEXT(why, "%s",
	     strcmp(id, "cgnat") == 0
	         ? "The address the internet sees is shared by your ISP's customers: "
	           "nothing outside can open a connection to you, so the outside "
	           "probe tests nothing of yours."
	         : "Ports open only where both routers forward them.");
	TEXT(todo, "Nothing for safety. To offer a service of your own, use IPv6 or a tunnel%s.",
	     strcmp(id, "cgnat") == 0 ? "" : ", or bridge one of the routers");
}

static void find_server(struct audit *a)
{
	if (a->probed || !a->probe)
		return;
	struct finding *f = add(a, "probe-unavailable", SEV_INFO, 1, REACH_UNKNOWN, "%s", "");
	if (f == NULL)
		return;
	ev_str(f, "error", a->probe_error);
	TEXT(title, "the outside view is missing");
	TEXT(found, "%s.", a->probe_error);
	TEXT(why, "Without the server's probe the audit cannot tell which findings are "
	          "reachable from outside (reachable_from_outside is null).");
	TEXT(todo, "Check the server URL and credentials in the config, or run again later.");
}

/* Ordered by severity (worst first), then by id and key: stable output. */
static int cmp_finding(const void *x, const void *y)
{
	const struct finding *a = x, *b = y;
	if (a->sev != b->sev)
		return a->sev < b->sev ? 1 : -1;
	int c = strcmp(a->id, b->id);
	return c != 0 ? c : strcmp(a->key, b->key);
}

static char grade_of(const struct audit *a, enum audit_severity *worst)
{
	*worst = SEV_INFO;
	for (unsigned i = 0; i < a->n; i++)
		if (a->fs[i].sev > *worst)
			*worst = a->fs[i].sev;
	static const char grades[] = {'A', 'B', 'C', 'D', 'F'};
	return grades[*worst];
}

/* ---- credentials (opt-in) ---- */

static void find_credentials(struct audit *a)
{
	struct audit_cred_target t[AUDIT_MAX_MAPPINGS + 2];
	unsigned nt = 0;
	/* The gateway's own telnet and web login, and every LAN host a mapping points at. */
	if (a->in.have_gateway) {
		t[nt++] =
		    (struct audit_cred_target){.addr = a->in.gateway, .port = 23, .http = false};
		t[nt++] =
		    (struct audit_cred_target){.addr = a->in.gateway, .port = 80, .http = true};
	}
	for (unsigned i = 0; i < a->in.n_maps && nt < ARRAY_SIZE(t); i++) {
		const struct audit_mapping *m = &a->in.maps[i];
		struct audit_cred_target c = {.port = m->int_port};
		if (m->proto != AP_TCP || addr_parse(m->int_client, &c.addr) != NP_OK)
			continue;
		uint16_t p = m->int_port;
		if (p == 23 || p == 2323)
			c.http = false;
		else if (p == 80 || p == 81 || p == 8080 || p == 8000 || p == 8081 || p == 8888)
			c.http = true;
		else
			continue;
		bool dup = false;
		for (unsigned k = 0; k < nt; k++)
			dup |= addr_equal(&t[k].addr, &c.addr) && t[k].port == c.port;
		if (!dup)
			t[nt++] = c;
	}
	for (unsigned i = 0; i < nt; i++) {
		char addr[INET6_ADDRSTRLEN];
		addr_format(&t[i].addr, addr, sizeof(addr));
		if (!audit_addr_on_lan(&t[i].addr)) {
			log_info("audit: %s is not on this network's LAN: no login tried", addr);
			continue;
		}
		struct audit_cred_result r;
		audit_cred_try(&t[i], a->cfg->timeout < 5 ? a->cfg->timeout : 5, &r);
		log_info("audit: %s port %u (%s): %u login%s tried: %s", addr, t[i].port,
		         t[i].http ? "HTTP" : "telnet", r.attempts, r.attempts == 1 ? "" : "s",
		         r.detail);
		if (!r.accepted)
			continue;
		/* Reachable when a mapping to it answered outside. */
		enum audit_reach reach = REACH_UNKNOWN;
		for (unsigned k = 0; k < a->in.n_maps; k++) {
			const struct audit_mapping *m = &a->in.maps[k];
			if (m->proto == AP_TCP && m->int_port == t[i].port &&
			    strcmp(m->int_client, addr) == 0) {
				enum audit_reach x = reach_of(a, m->ext_port, AP_TCP);
				if (x == REACH_YES || reach == REACH_UNKNOWN)
					reach = x;
			}
		}
		struct finding *f =
		    add(a, "default-credentials", SEV_CRITICAL, 2, reach, "%s:%u", addr, t[i].port);
		if (f == NULL)
			return;
		const char *how = strcmp(r.login, "http-form") == 0    ? "a web login form"
		                  : strcmp(r.login, "http-basic") == 0 ? "HTTP Basic"
		                                                       : "telnet";
		ev_str(f, "address", addr);
		ev_int(f, "port", t[i].port);
		ev_str(f, "login", r.login);
		ev_str(f, "user", r.user);
		ev_int(f, "attempts", r.attempts);
		TEXT(title, "device %s accepts a default login (user %s, %s)", addr, r.user,
		     t[i].http ? "web login" : "telnet");
		TEXT(found,
		     "Device %s (port %u, %s) let the audit in with a well-known default "
		     "password for user %s.",
		     addr, t[i].port, how, r.user);
		TEXT(why, "Mirai and its successors log into devices with exactly these passwords; "
		          "one such device is enough to join a botnet.");
		TEXT(todo, "Change the password now (long and unique), update the firmware, close "
		           "the port to the internet; replace the device if it is past end of "
		           "support.");
	}
}

/* ---- the last result, for "what changed" ---- */

static void last_path(const struct audit *a, char *out, size_t len)
{
	text(out, len, "%s/%s.audit", a->cfg->state_dir, a->h->fqdn);
}

/* Compares with the last audit's keys, then keeps this one's. Returns the changes (new,
 * gone) as JSON; NULL when there was no earlier audit. */
static json_t *changes(const struct audit *a, int64_t now)
{
	char path[PATH_MAX + 64], tmp[PATH_MAX + 80];
	last_path(a, path, sizeof(path));
	json_t *old = json_load_file(path, 0, NULL);
	json_t *res = NULL;
	json_t *oldkeys = json_object_get(old, "keys");
	if (json_is_array(oldkeys)) {
		json_t *added = json_array(), *gone = json_array();
		size_t i;
		json_t *v;
		for (unsigned k = 0; k < a->n; k++) {
			bool seen = false;
			json_array_foreach(oldkeys, i, v) seen |=
			    json_is_string(v) && strcmp(json_string_value(v), a->fs[k].key) == 0;
			if (!seen)
				json_array_append_new(added, json_string(a->fs[k].key));
		}
		json_array_foreach(oldkeys, i, v)
		{
			bool still = false;
			if (!json_is_string(v))
				continue;
			for (unsigned k = 0; k < a->n; k++)
				still |= strcmp(json_string_value(v), a->fs[k].key) == 0;
			if (!still)
				json_array_append_new(gone, json_string(json_string_value(v)));
		}
		json_t *when = json_object_get(old, "time");
		res = json_pack("{s:O, s:o, s:o}", "previous",
		                json_is_integer(when) ? when : json_null(), "new", added, "gone",
		                gone);
	}
	json_decref(old);

	json_t *keys = json_array();
	for (unsigned k = 0; keys != NULL && k < a->n; k++)
		json_array_append_new(keys, json_string(a->fs[k].key));
	json_t *cur = json_pack("{s:I, s:o}", "time", (json_int_t)now, "keys", keys);
	if (cur != NULL && (mkdir(a->cfg->state_dir, 0700) == 0 || errno == EEXIST)) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if (json_dump_file(cur, tmp, JSON_INDENT(1)) != 0 || rename(tmp, path) != 0) {
			log_warn("audit: cannot keep the result in %s: %m", path);
			unlink(tmp);
		}
	}
	json_decref(cur);
	return res;
}

/* ---- the report, and sending it to the server ---- */

static const char *reach_text(enum audit_reach r)
{
	return r == REACH_YES ? "yes" : r == REACH_NO ? "no" : "unknown";
}

static json_t *reach_json(enum audit_reach r)
{
	return r == REACH_UNKNOWN ? json_null() : json_boolean(r == REACH_YES);
}

/* The report: what --json prints, without "changes" and "sent" (what is sent). */
static json_t *report_json(const struct audit *a, char grade)
{
	json_t *arr = json_array();
	char g[2] = {grade, '\0'};
	char seen[INET6_ADDRSTRLEN] = "";
	if (a->f.have_seen)
		addr_format(&a->f.seen, seen, sizeof(seen));
	for (unsigned i = 0; arr != NULL && i < a->n; i++) {
		const struct finding *f = &a->fs[i];
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:i, s:s, s:O, s:o, s:{s:s, s:s, s:s}}", "id", f->id,
		              "key", f->key, "severity", audit_severity_name(f->sev), "layer",
		              f->layer, "title", f->title, "evidence", f->evidence,
		              "reachable_from_outside", reach_json(f->reach), "remedy", "found",
		              f->found, "why", f->why, "what_to_do", f->todo);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	if (arr == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s?, s:s, s:b, s:o}", "host", a->h->fqdn, "grade", g,
	                 "server_seen", seen[0] ? seen : NULL, "nat",
	                 doctor_verdict_name(a->verdict), "outside_view", a->probed, "findings",
	                 arr);
}

/* The server's answer to a report it did not keep: its message, or the status alone. */
static void send_failed(struct audit *a, long status, const char *body)
{
	json_t *ans = json_loads(body, 0, NULL);
	const char *msg =
	    json_string_value(json_object_get(json_object_get(ans, "error"), "message"));
	char esc[128] = "";
	if (msg != NULL)
		log_escape(esc, sizeof(esc), msg, strlen(msg));
	text(a->send_error, sizeof(a->send_error), "the server answered HTTP %ld%s%s", status,
	     esc[0] ? ": " : "", esc);
	json_decref(ans);
}

/* The answer of the largest report the server takes (64 KiB) and what it adds. */
#define AUDIT_ANSWER_MAX (96 * 1024)
/* A report longer than this is sent without its remedy texts (the server takes 64 KiB). */
#define AUDIT_REPORT_FULL_MAX (60 * 1024)

/* POST /api/v1/hosts/FQDN/audit with the host's secret as the API's token (the same secret
 * the probe sends in Basic auth). The server answers what changed since the report it had
 * before. */
static void send_report(struct audit *a, const json_t *report)
{
	char path[CFG_NAME_MAX + 32], url[CLIENT_URL_MAX + sizeof(path)];
	snprintf(path, sizeof(path), "/api/v1/hosts/%s/audit", a->h->fqdn);
	if (source_server_url(a->h->server, path, url, sizeof(url)) != NP_OK) {
		text(a->send_error, sizeof(a->send_error), "no HTTP server configured");
		return;
	}
	char *body = json_dumps(report, JSON_COMPACT);
	if (body != NULL && strlen(body) > AUDIT_REPORT_FULL_MAX) {
		/* Too big for the server (a home with scores of mappings): the same findings
		 * without their remedy texts, which are most of a finding's bytes. */
		json_t *lean = json_deep_copy(report);
		size_t i;
		json_t *f;
		json_array_foreach(json_object_get(lean, "findings"), i, f)
		    json_object_del(f, "remedy");
		free(body);
		body = lean != NULL ? json_dumps(lean, JSON_COMPACT) : NULL;
		json_decref(lean);
	}
	char *answer = malloc(AUDIT_ANSWER_MAX);
	long status = 0;
	if (body == NULL || answer == NULL) {
		text(a->send_error, sizeof(a->send_error), "out of memory");
		goto out;
	}
	int ret = source_http_post_json(a->cfg, url, a->h->secret, body, strlen(body), &status,
	                                answer, AUDIT_ANSWER_MAX);
	if (ret != NP_OK) {
		text(a->send_error, sizeof(a->send_error), "the server did not answer (%s)",
		     np_strerror(ret));
		goto out;
	}
	if (status != 201) {
		send_failed(a, status, answer);
		goto out;
	}
	json_t *ans = json_loads(answer, 0, NULL);
	json_t *stored = json_object_get(ans, "audit");
	json_t *ch = json_object_get(stored, "changes");
	json_t *when = json_object_get(stored, "time");
	if (!json_is_integer(when) || !(json_is_null(ch) || json_is_object(ch))) {
		text(a->send_error, sizeof(a->send_error), "the server's answer is not an audit");
	} else {
		a->sent = true;
		a->sent_time = json_integer_value(when);
		a->server_changes = json_incref(ch);
	}
	json_decref(ans);
out:
	free(body);
	free(answer);
}

/* The changes shown: the server's when it kept the report (its previous audit is the truth:
 * the audit may run on more than one machine), else this machine's own last run. */
static json_t *changes_shown(const struct audit *a, json_t *local)
{
	json_t *ch = a->sent ? a->server_changes : local;
	if (!json_is_object(ch))
		return NULL;
	json_t *c = json_deep_copy(ch);
	json_object_set_new(c, "from", json_string(a->sent ? "server" : "local"));
	return c;
}

static void print_text(const struct audit *a, char grade, const json_t *ch)
{
	printf("audit of the network behind %s: grade %c\n", a->h->fqdn, grade);
	if (a->probe && !a->probed)
		printf("outside view: missing (%s)\n", a->probe_error);
	for (unsigned i = 0; i < a->n; i++) {
		const struct finding *f = &a->fs[i];
		printf("\n[%s] %s: %s\n", audit_severity_name(f->sev), f->id, f->title);
		printf("  layer %d; reachable from outside: %s\n", f->layer, reach_text(f->reach));
		printf("  what we found:  %s\n", f->found);
		printf("  why it matters: %s\n", f->why);
		printf("  what to do:     %s\n", f->todo);
	}
	if (ch != NULL) {
		size_t i;
		json_t *v;
		json_t *added = json_object_get(ch, "new"), *gone = json_object_get(ch, "gone");
		printf("\nchanges since the last audit (%s):%s\n",
		       a->sent ? "the server's record" : "this machine's record",
		       json_array_size(added) + json_array_size(gone) == 0 ? " none" : "");
		json_array_foreach(gone, i, v) printf("  gone: %s\n", json_string_value(v));
		json_array_foreach(added, i, v) printf("  new:  %s\n", json_string_value(v));
	}
	if (a->sent)
		printf("\nreport kept by the server (the host's page and GET "
		       "/api/v1/hosts/%s/audit show it)\n",
		       a->h->fqdn);
	else if (a->send_error[0] != '\0')
		printf("\nreport not kept by the server: %s\n", a->send_error);
}

static int print_json(const struct audit *a, json_t *report, json_t *ch)
{
	json_t *sent = NULL;
	if (a->sent)
		sent = json_pack("{s:b, s:I}", "stored", 1, "time", (json_int_t)a->sent_time);
	else if (a->send_error[0] != '\0')
		sent = json_pack("{s:b, s:s}", "stored", 0, "error", a->send_error);
	else
		sent = json_null();
	if (sent == NULL ||
	    json_object_set(report, "changes", ch != NULL ? ch : json_null()) != 0 ||
	    json_object_set_new(report, "sent", sent) != 0)
		return NP_ENOMEM;
	char *s = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s == NULL)
		return NP_ENOMEM;
	printf("%s\n", s);
	free(s);
	return NP_OK;
}

/* ---- the command ---- */

int client_audit(const struct client_cfg *cfg, bool json, bool credentials, bool probe)
{
	const struct host_cfg *h = NULL;
	for (unsigned i = 0; i < cfg->n_hosts && h == NULL; i++)
		if (cfg->hosts[i].protocol == PROTO_DYNDNS2)
			h = &cfg->hosts[i];
	if (h == NULL && probe) {
		fprintf(stderr, "audit: the outside probe needs a dyndns2 host (its server and "
		                "credentials); use --no-probe\n");
		return AUDIT_EXIT_USAGE;
	}
	if (h == NULL)
		h = &cfg->hosts[0];
	if (cfg->n_hosts == 0) {
		fprintf(stderr, "audit: no [host ...] section in %s\n", cfg->path);
		return AUDIT_EXIT_USAGE;
	}
	struct audit *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		fprintf(stderr, "audit: out of memory\n");
		return AUDIT_EXIT_FINDINGS;
	}
	a->cfg = cfg;
	a->h = h;
	a->probe = probe;
	a->credentials = credentials;

	/* Inside. */
	audit_upnp(h->ipv4.kind == SOURCE_UPNP ? h->ipv4.arg : "", &a->in);
	audit_natpmp(&a->in);
	audit_vpn_ifs(&a->in);
	if (probe) {
		doctor_measure(cfg, h, false, &a->f);
	} else {
		/* Without the server: only the local facts (no /checkip). */
		struct host_cfg *quiet = malloc(sizeof(*quiet));
		if (quiet != NULL) {
			*quiet = *h;
			quiet->server[0] = '\0';
			quiet->ipv4.kind = SOURCE_NONE;
			doctor_measure(cfg, quiet, false, &a->f);
			explicit_bzero(quiet, sizeof(*quiet));
			free(quiet);
		}
	}
	a->f.igd_found = a->in.igd_found;
	a->f.have_router = a->in.have_ext;
	a->f.router = a->in.ext;
	a->verdict = doctor_classify(&a->f, a->why, sizeof(a->why));

	/* Outside: the risky list, every mapped port, never when the address the server
	 * sees is not this network's own (carrier-grade NAT). */
	if (probe && !a->f.have_seen) {
		snprintf(a->probe_error, sizeof(a->probe_error),
		         "the server could not be asked which address it sees");
		a->unreachable = true;
	} else if (probe && (a->verdict == DOCTOR_CGNAT || a->verdict == DOCTOR_NAT_BEYOND)) {
		snprintf(a->probe_error, sizeof(a->probe_error),
		         "not probed: the address outside is the ISP's, shared with others");
	} else if (probe) {
		unsigned n;
		const struct audit_service *s = audit_services(&n);
		for (unsigned i = 0; i < a->in.n_maps; i++)
			want_probe(a, a->in.maps[i].ext_port, a->in.maps[i].proto);
		for (unsigned i = 0; i < n; i++)
			want_probe(a, s[i].port, s[i].proto);
		ask_server(a);
	}

	find_nat(a);
	find_upnp(a);
	find_natpmp(a);
	find_outside(a);
	if (credentials)
		find_credentials(a);
	find_vpn(a);
	find_server(a);
	qsort(a->fs, a->n, sizeof(a->fs[0]), cmp_finding);

	enum audit_severity worst;
	char grade = grade_of(a, &worst);
	json_t *report = report_json(a, grade);
	/* The report goes to the server whenever the server is asked at all, unless it did
	 * not answer (that would only wait for the same timeout again). */
	if (report != NULL && probe && !a->no_answer && a->f.have_seen)
		send_report(a, report);
	else if (probe)
		text(a->send_error, sizeof(a->send_error), "not sent: the server did not answer");
	if (a->send_error[0] != '\0')
		log_warn("audit: the report was not kept by the server: %s", a->send_error);
	json_t *local = changes(a, time_now());
	json_t *ch = changes_shown(a, local);
	int rc = worst >= SEV_MEDIUM ? AUDIT_EXIT_FINDINGS : AUDIT_EXIT_CLEAN;
	if (json) {
		if (report == NULL || print_json(a, report, ch) != NP_OK) {
			fprintf(stderr, "audit: out of memory\n");
			rc = AUDIT_EXIT_FINDINGS;
		}
	} else {
		print_text(a, grade, ch);
	}
	fflush(stdout);
	if (a->unreachable)
		rc = AUDIT_EXIT_UNREACHABLE;
	json_decref(ch);
	json_decref(local);
	json_decref(report);
	json_decref(a->server_changes);
	for (unsigned i = 0; i < a->n; i++)
		json_decref(a->fs[i].evidence);
	free(a);
	return rc;
}
