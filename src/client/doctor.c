/* SPDX-License-Identifier: MIT */
/* `nameplate doctor`: why inbound connections can or cannot reach this machine. */
#include "client/client.h"

#include <inttypes.h>
#include <jansson.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"

#define DOCTOR_MAX_PORTS    32
#define DOCTOR_MAX_FINDINGS 16
#define DOCTOR_LINE         320

/* ---- the pure classification ---- */

static bool v4_in(const struct np_addr *a, const char *cidr)
{
	struct np_cidr c;
	if (a->family != AF_INET || cidr_parse(cidr, &c) != NP_OK)
		return false;
	return cidr_contains(&c, a);
}

static bool is_cgnat(const struct np_addr *a)
{
	return v4_in(a, "100.64.0.0/10");
}

static bool is_rfc1918(const struct np_addr *a)
{
	return v4_in(a, "10.0.0.0/8") || v4_in(a, "172.16.0.0/12") || v4_in(a, "192.168.0.0/16");
}

enum doctor_verdict doctor_classify(const struct doctor_facts *f, char *why, size_t len)
{
	char wan[INET6_ADDRSTRLEN] = "", rtr[INET6_ADDRSTRLEN] = "", seen[INET6_ADDRSTRLEN] = "";
	if (f->have_wan)
		addr_format(&f->wan, wan, sizeof(wan));
	if (f->have_router)
		addr_format(&f->router, rtr, sizeof(rtr));
	if (f->have_seen)
		addr_format(&f->seen, seen, sizeof(seen));

	/* The most specific cause first: an address that proves the NAT's kind. */
	if (f->have_wan && is_cgnat(&f->wan)) {
		snprintf(why, len,
		         "your ISP uses carrier-grade NAT (WAN address %s is in 100.64.0.0/10, "
		         "RFC 6598)",
		         wan);
		return DOCTOR_CGNAT;
	}
	if (f->have_router && is_cgnat(&f->router)) {
		snprintf(why, len,
		         "your ISP uses carrier-grade NAT (the router's external address %s is in "
		         "100.64.0.0/10, RFC 6598)",
		         rtr);
		return DOCTOR_CGNAT;
	}
	if (f->have_router && is_rfc1918(&f->router)) {
		snprintf(why, len,
		         "double NAT: the router's external address %s is private (RFC 1918), so "
		         "another router in front of it translates again",
		         rtr);
		return DOCTOR_DOUBLE_NAT;
	}
	if (f->have_router && f->have_seen && !addr_equal(&f->router, &f->seen)) {
		snprintf(
		    why, len,
		    "another NAT beyond your router (carrier-grade NAT): the router's external "
		    "address %s is not the address the server sees (%s)",
		    rtr, seen);
		return DOCTOR_NAT_BEYOND;
	}
	if (f->igd_found && !f->have_router) {
		snprintf(why, len,
		         "your router reports no usable external address (its own WAN address is "
		         "private or reserved): double NAT or carrier-grade NAT");
		return DOCTOR_ROUTER_NO_ADDR;
	}
	if (!f->have_seen) {
		snprintf(why, len, "the server did not say which address it sees");
		return DOCTOR_UNKNOWN;
	}
	if (f->have_wan && addr_equal(&f->wan, &f->seen)) {
		snprintf(why, len,
		         "this machine has the public address %s (the server sees the same); "
		         "its firewall decides what is reachable",
		         wan);
		return DOCTOR_PUBLIC;
	}
	if (f->have_router) {
		snprintf(
		    why, len,
		    "one NAT: the router's external address %s is the address the server sees; "
		    "forward the ports on the router (UPnP or by hand)",
		    rtr);
		return DOCTOR_NAT;
	}
	snprintf(why, len,
	         "behind NAT: the server sees %s%s%s and no UPnP IGD tells the router's address; "
	         "forward the ports on the router by hand",
	         seen, f->have_wan ? ", this machine has " : "", wan);
	return DOCTOR_NAT;
}

bool doctor_blocking(enum doctor_verdict v)
{
	switch (v) {
	case DOCTOR_CGNAT:
	case DOCTOR_DOUBLE_NAT:
	case DOCTOR_NAT_BEYOND:
	case DOCTOR_ROUTER_NO_ADDR:
		return true;
	case DOCTOR_UNKNOWN:
	case DOCTOR_PUBLIC:
	case DOCTOR_NAT:
		return false;
	}
	return false;
}

const char *doctor_verdict_name(enum doctor_verdict v)
{
	switch (v) {
	case DOCTOR_UNKNOWN:
		return "unknown";
	case DOCTOR_PUBLIC:
		return "public";
	case DOCTOR_NAT:
		return "nat";
	case DOCTOR_CGNAT:
		return "cgnat";
	case DOCTOR_DOUBLE_NAT:
		return "double-nat";
	case DOCTOR_NAT_BEYOND:
		return "nat-beyond-router";
	case DOCTOR_ROUTER_NO_ADDR:
		return "router-no-address";
	}
	return "unknown";
}

/* ---- measuring ---- */

struct default_route {
	unsigned ifindex;
	uint32_t metric;
	bool found;
};

static int scan_route(const struct nlmsghdr *nh, void *arg)
{
	struct default_route *d = arg;
	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return 0;
	const struct rtmsg *rt = NLMSG_DATA(nh);
	if (rt->rtm_family != AF_INET || rt->rtm_dst_len != 0 || rt->rtm_type != RTN_UNICAST)
		return 0;
	uint32_t table = rt->rtm_table, metric = 0, oif = 0;
	int len = (int)RTM_PAYLOAD(nh);
	for (const struct rtattr *rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t pl = RTA_PAYLOAD(rta);
		if (rta->rta_type == RTA_TABLE && pl == 4)
			memcpy(&table, RTA_DATA(rta), 4);
		else if (rta->rta_type == RTA_PRIORITY && pl == 4)
			memcpy(&metric, RTA_DATA(rta), 4);
		else if (rta->rta_type == RTA_OIF && pl == 4)
			memcpy(&oif, RTA_DATA(rta), 4);
		else if (rta->rta_type == RTA_MULTIPATH && pl >= sizeof(struct rtnexthop) &&
		         oif == 0) {
			const struct rtnexthop *nhp = RTA_DATA(rta);
			oif = (uint32_t)nhp->rtnh_ifindex;
		}
	}
	if (table != RT_TABLE_MAIN || oif == 0)
		return 0;
	if (!d->found || metric < d->metric) {
		d->found = true;
		d->metric = metric;
		d->ifindex = oif;
	}
	return 0;
}

struct port_result {
	unsigned port;
	char state[16]; /* open, closed, filtered, error */
	char detail[200];
};

struct report {
	const struct host_cfg *h;
	char wan_if[IF_NAMESIZE];
	char router_how[CLIENT_URL_MAX + 32];
	char seen_url[CLIENT_URL_MAX + 16];
	struct doctor_facts f;
	bool have_v6;
	struct np_addr v6;
	char findings[DOCTOR_MAX_FINDINGS][DOCTOR_LINE];
	unsigned n_findings;
	struct port_result ports[DOCTOR_MAX_PORTS];
	unsigned n_ports;
	enum doctor_verdict verdict;
	char why[DOCTOR_LINE];
	char message[DOCTOR_LINE * 2];
	bool reachable;
};

static void finding(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(struct report *r, const char *fmt, ...)
{
	if (r->n_findings >= DOCTOR_MAX_FINDINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->findings[r->n_findings++], DOCTOR_LINE, fmt, ap);
	va_end(ap);
}

static void measure_wan(const struct client_cfg *cfg, struct report *r)
{
	struct default_route d = {0};
	char a[INET6_ADDRSTRLEN];

	int ret = netlink_dump(RTM_GETROUTE, AF_INET, scan_route, &d);
	if (ret != NP_OK || !d.found || if_indextoname(d.ifindex, r->wan_if) == NULL) {
		r->wan_if[0] = '\0';
		finding(r, "WAN interface: no IPv4 default route");
		return;
	}
	struct source_cfg src = {.kind = SOURCE_INTERFACE};
	np_strlcpy(src.arg, r->wan_if, sizeof(src.arg));
	if (source_read(cfg, r->h, AF_INET, &src, &r->f.wan) == NP_OK) {
		r->f.have_wan = true;
		finding(r, "WAN interface: %s, address %s", r->wan_if,
		        addr_format(&r->f.wan, a, sizeof(a)));
	} else {
		finding(r, "WAN interface: %s, no usable IPv4 address", r->wan_if);
	}
	if (source_read(cfg, r->h, AF_INET6, &src, &r->v6) == NP_OK) {
		r->have_v6 = true;
		finding(r, "IPv6: %s has the global address %s (no NAT on IPv6)", r->wan_if,
		        addr_format(&r->v6, a, sizeof(a)));
	} else {
		finding(r, "IPv6: %s has no publishable global IPv6 address", r->wan_if);
	}
}

static void measure_router(struct report *r)
{
	const char *url = r->h->ipv4.kind == SOURCE_UPNP ? r->h->ipv4.arg : "";
	char a[INET6_ADDRSTRLEN];

	if (url[0] != '\0') {
		snprintf(r->router_how, sizeof(r->router_how), "%s", url);
	} else if (r->wan_if[0] == '\0') {
		/* Without a route SSDP cannot leave this machine: no 2 s wait for nothing. */
		finding(r, "router: no UPnP IGD found (no IPv4 default route to search on)");
		return;
	} else {
		snprintf(r->router_how, sizeof(r->router_how), "SSDP discovery");
	}
	int ret = source_upnp_external(url, &r->f.router, &r->f.igd_found);
	if (ret == NP_OK) {
		r->f.have_router = true;
		finding(r, "router (UPnP IGD via %s): external address %s", r->router_how,
		        addr_format(&r->f.router, a, sizeof(a)));
	} else if (r->f.igd_found) {
		finding(r, "router (UPnP IGD via %s): reports no usable external address",
		        r->router_how);
	} else {
		finding(r, "router: no UPnP IGD found (%s)", r->router_how);
	}
}

static void measure_seen(const struct client_cfg *cfg, struct report *r)
{
	char body[SOURCE_BODY_MAX + 1];
	char a[INET6_ADDRSTRLEN];
	long status = 0;
	const struct source_cfg *s4 = &r->h->ipv4;

	if (s4->kind == SOURCE_CHECKIP && s4->arg[0] != '\0')
		np_strlcpy(r->seen_url, s4->arg, sizeof(r->seen_url));
	else if (source_server_url(r->h->server, "/checkip", r->seen_url, sizeof(r->seen_url)) !=
	         NP_OK) {
		r->seen_url[0] = '\0';
		finding(r, "server: no HTTP server configured to ask which address it sees");
		return;
	}
	int ret = source_http_get(cfg, r->seen_url, AF_INET, NULL, NULL, &status, body,
	                          sizeof(body), NULL);
	if (ret != NP_OK) {
		finding(r, "server: GET %s failed (%s)", r->seen_url,
		        ret == NP_ETOOBIG ? "answer too long" : "no answer");
		return;
	}
	if (status != 200) {
		finding(r, "server: GET %s answered HTTP %ld", r->seen_url, status);
		return;
	}
	if (source_checkip_parse(body, strlen(body), AF_INET, &r->f.seen) != NP_OK) {
		finding(r, "server: %s answered no IPv4 address", r->seen_url);
		return;
	}
	r->f.have_seen = true;
	finding(r, "server sees: %s (%s)", addr_format(&r->f.seen, a, sizeof(a)), r->seen_url);
}

/* The first line of body, cut at 120 bytes and made printable. */
static void first_line(const char *body, char *out, size_t len)
{
	size_t n = strcspn(body, "\r\n");
	if (n > 120)
		n = 120;
	log_escape(out, len, body, n);
}

static void probe_port(const struct client_cfg *cfg, struct report *r, unsigned port)
{
	struct port_result *p = &r->ports[r->n_ports++];
	char path[64], url[CLIENT_URL_MAX + 64], body[SOURCE_BODY_MAX + 1], line[128];
	long status = 0;
	int64_t retry = 0;

	p->port = port;
	np_strlcpy(p->state, "error", sizeof(p->state));
	snprintf(path, sizeof(path), "/nic/probe?port=%u", port);
	if (source_server_url(r->h->server, path, url, sizeof(url)) != NP_OK) {
		snprintf(p->detail, sizeof(p->detail), "no HTTP server configured for this host");
		return;
	}
	int ret = source_http_get(cfg, url, 0, r->h->user, r->h->secret, &status, body,
	                          sizeof(body), &retry);
	if (ret != NP_OK) {
		snprintf(p->detail, sizeof(p->detail), "the server did not answer the probe");
		return;
	}
	first_line(body, line, sizeof(line));
	if (status == 200) {
		static const char *const states[] = {"open", "closed", "filtered"};
		for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
			char want[32];
			snprintf(want, sizeof(want), "%s %u", states[i], port);
			if (strcmp(line, want) == 0) {
				np_strlcpy(p->state, states[i], sizeof(p->state));
				snprintf(p->detail, sizeof(p->detail), "the server %s",
				         i == 0 ? "connected back to it"
				         : i == 1
				             ? "was refused: nothing listens there"
				             : "got no answer within 3 s: a firewall drops it");
				return;
			}
		}
		snprintf(p->detail, sizeof(p->detail), "unexpected answer \"%s\"", line);
	} else if (status == 401) {
		snprintf(p->detail, sizeof(p->detail),
		         "the server refused the host's credentials (badauth)");
	} else if (status == 429) {
		snprintf(p->detail, sizeof(p->detail),
		         "rate-limited by the server; retry in %" PRId64 " s", retry);
	} else if (status == 400) {
		snprintf(p->detail, sizeof(p->detail), "the server refused the request: %s", line);
	} else if (status == 404) {
		snprintf(p->detail, sizeof(p->detail),
		         "the server has no probe endpoint (HTTP 404)");
	} else {
		snprintf(p->detail, sizeof(p->detail), "the server answered HTTP %ld", status);
	}
}

static void conclude(struct report *r)
{
	char v6[INET6_ADDRSTRLEN] = "";
	char advice[128];
	bool any_open = false, all_open = r->n_ports > 0;

	r->verdict = doctor_classify(&r->f, r->why, sizeof(r->why));
	for (unsigned i = 0; i < r->n_ports; i++) {
		if (strcmp(r->ports[i].state, "open") == 0)
			any_open = true;
		else
			all_open = false;
	}
	if (r->have_v6) {
		addr_format(&r->v6, v6, sizeof(v6));
		snprintf(advice, sizeof(advice), "use IPv6 (%s is publishable) or a tunnel", v6);
	} else {
		snprintf(advice, sizeof(advice), "use IPv6 or a tunnel");
	}

	if (r->n_ports > 0 && all_open) {
		/* The server reached us: whatever the addresses suggest, that is proof. */
		r->reachable = true;
		snprintf(r->message, sizeof(r->message),
		         "inbound connections reach you: the server connected to every port asked "
		         "(%s)",
		         r->why);
	} else if (doctor_blocking(r->verdict) && !any_open) {
		r->reachable = false;
		snprintf(r->message, sizeof(r->message),
		         "inbound connections cannot reach you: %s; %s", r->why, advice);
	} else if (r->n_ports > 0) {
		r->reachable = false;
		char list[160] = "";
		size_t off = 0;
		for (unsigned i = 0; i < r->n_ports && off < sizeof(list); i++) {
			if (strcmp(r->ports[i].state, "open") == 0)
				continue;
			int n = snprintf(list + off, sizeof(list) - off, "%s%u (%s)",
			                 off ? ", " : "", r->ports[i].port, r->ports[i].state);
			if (n < 0)
				break;
			off += (size_t)n;
		}
		snprintf(r->message, sizeof(r->message),
		         "some ports cannot be reached from outside: %s; %s", list, r->why);
	} else if (r->verdict == DOCTOR_UNKNOWN) {
		r->reachable = false;
		snprintf(r->message, sizeof(r->message),
		         "cannot tell whether inbound connections "
		         "reach you: %s",
		         r->why);
	} else {
		r->reachable = true;
		snprintf(r->message, sizeof(r->message),
		         "no blocking NAT found: %s (ask the server to test a port with --port N)",
		         r->why);
	}
}

static void print_text(const struct report *r)
{
	printf("host %s\n", r->h->fqdn);
	for (unsigned i = 0; i < r->n_findings; i++)
		printf("  %s\n", r->findings[i]);
	for (unsigned i = 0; i < r->n_ports; i++)
		printf("  port %u: %s (%s)\n", r->ports[i].port, r->ports[i].state,
		       r->ports[i].detail);
	printf("verdict: %s\n", r->message);
}

static json_t *addr_json(bool have, const struct np_addr *a)
{
	char s[INET6_ADDRSTRLEN];
	return have ? json_string(addr_format(a, s, sizeof(s))) : json_null();
}

static json_t *report_json(const struct report *r)
{
	json_t *o = json_object();
	json_t *findings = json_array();
	json_t *ports = json_array();
	if (o == NULL || findings == NULL || ports == NULL) {
		json_decref(o);
		json_decref(findings);
		json_decref(ports);
		return NULL;
	}
	json_object_set_new(o, "host", json_string(r->h->fqdn));
	json_object_set_new(o, "wan_interface",
	                    r->wan_if[0] ? json_string(r->wan_if) : json_null());
	json_object_set_new(o, "wan_address", addr_json(r->f.have_wan, &r->f.wan));
	json_object_set_new(o, "ipv6_address", addr_json(r->have_v6, &r->v6));
	json_object_set_new(o, "igd_found", json_boolean(r->f.igd_found));
	json_object_set_new(o, "router_address", addr_json(r->f.have_router, &r->f.router));
	json_object_set_new(o, "server_seen", addr_json(r->f.have_seen, &r->f.seen));
	json_object_set_new(o, "verdict", json_string(doctor_verdict_name(r->verdict)));
	json_object_set_new(o, "blocking", json_boolean(doctor_blocking(r->verdict)));
	json_object_set_new(o, "reachable", json_boolean(r->reachable));
	json_object_set_new(o, "reason", json_string(r->why));
	json_object_set_new(o, "message", json_string(r->message));
	for (unsigned i = 0; i < r->n_findings; i++)
		json_array_append_new(findings, json_string(r->findings[i]));
	for (unsigned i = 0; i < r->n_ports; i++) {
		json_t *p = json_pack("{s:i, s:s, s:s}", "port", (json_int_t)r->ports[i].port,
		                      "state", r->ports[i].state, "detail", r->ports[i].detail);
		if (p != NULL)
			json_array_append_new(ports, p);
	}
	json_object_set_new(o, "findings", findings);
	json_object_set_new(o, "ports", ports);
	return o;
}

void doctor_measure(const struct client_cfg *cfg, const struct host_cfg *h, bool upnp,
                    struct doctor_facts *f)
{
	struct report *r = calloc(1, sizeof(*r));
	memset(f, 0, sizeof(*f));
	if (r == NULL)
		return;
	r->h = h;
	measure_wan(cfg, r);
	if (upnp)
		measure_router(r);
	measure_seen(cfg, r);
	*f = r->f;
	free(r);
}

int client_doctor(const struct client_cfg *cfg, const unsigned *ports, unsigned n_ports, bool json)
{
	struct report *r = NULL;
	json_t *all = NULL;
	bool ok = true;
	int ret = 1;

	if (n_ports > DOCTOR_MAX_PORTS) {
		fprintf(stderr, "doctor: at most %d --port\n", DOCTOR_MAX_PORTS);
		return 1;
	}
	for (unsigned i = 0; i < n_ports; i++) {
		if (ports[i] == 0 || ports[i] > 65535) {
			fprintf(stderr, "doctor: port %u out of range 1..65535\n", ports[i]);
			return 1;
		}
	}
	if (cfg->n_hosts == 0) {
		fprintf(stderr, "doctor: no [host ...] section in %s\n", cfg->path);
		return 1;
	}
	r = calloc(1, sizeof(*r));
	if (json)
		all = json_array();
	if (r == NULL || (json && all == NULL))
		goto done;

	for (unsigned hi = 0; hi < cfg->n_hosts; hi++) {
		memset(r, 0, sizeof(*r));
		r->h = &cfg->hosts[hi];
		measure_wan(cfg, r);
		measure_router(r);
		measure_seen(cfg, r);
		for (unsigned i = 0; i < n_ports; i++)
			probe_port(cfg, r, ports[i]);
		conclude(r);
		if (!r->reachable)
			ok = false;
		if (json) {
			json_t *o = report_json(r);
			if (o == NULL || json_array_append_new(all, o) != 0)
				goto done;
		} else {
			if (hi > 0)
				printf("\n");
			print_text(r);
		}
	}
	if (json) {
		json_t *top = json_pack("{s:b, s:O}", "reachable", ok, "hosts", all);
		if (top == NULL)
			goto done;
		char *s = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(top);
		if (s == NULL)
			goto done;
		printf("%s\n", s);
		free(s);
	}
	fflush(stdout);
	ret = ok ? 0 : 1;
done:
	json_decref(all);
	free(r);
	return ret;
}
