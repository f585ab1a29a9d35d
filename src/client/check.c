/* SPDX-License-Identifier: MIT */
/* `nameplate check` (asks the server's check API whether the address it sees this machine
 * behind was seen attacking) and the incidents part of `nameplate status` (the status API
 * per server and account). Both use a host's dyndns2 server and credentials. */
#include "client/client.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The largest check or status answer read (credential lists and many hosts fit). */
#define CHECK_BODY_MAX (256 * 1024)
/* status never waits longer than this per server for its incidents. */
#define STATUS_TIMEOUT 5

static const char *fmt_time(json_t *t, char *buf, size_t len)
{
	time_t tt = (time_t)json_integer_value(t);
	struct tm tm;
	if (!json_is_integer(t) || tt <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		np_strlcpy(buf, "-", len);
	return buf;
}

/* A string member, or fallback. */
static const char *str_of(json_t *o, const char *key, const char *fallback)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : fallback;
}

static long long int_of(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* Text that came from the server printed as plain ASCII: a terminal must not get escapes. */
static void print_plain(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		putchar(c >= 0x20 && c < 0x7f ? c : '?');
	}
}

/* The host to ask with: HOST (any case, trailing dot allowed) or the first dyndns2 host. */
static const struct host_cfg *pick_host(const struct client_cfg *cfg, const char *want)
{
	char name[CFG_NAME_MAX] = "";
	if (want != NULL) {
		if (np_strlcpy(name, want, sizeof(name)) >= sizeof(name))
			return NULL;
		str_lower(name);
		size_t len = strlen(name);
		if (len > 0 && name[len - 1] == '.')
			name[len - 1] = '\0';
	}
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		const struct host_cfg *h = &cfg->hosts[i];
		if (want != NULL ? strcmp(h->fqdn, name) == 0 : h->protocol == PROTO_DYNDNS2)
			return h;
	}
	return NULL;
}

/* ---- nameplate check ---- */

static const char *rule_text(const char *rule)
{
	static const struct {
		const char *name, *text;
	} rules[] = {
	    {"mirai_syn", "scan packets carrying the Mirai botnet's fingerprint"},
	    {"malware_download", "a malware download command typed into a honeypot"},
	    {"default_credentials", "a honeypot login with a default password botnets use"},
	    {"brute_force", "repeated password guessing on a honeypot"},
	    {"iot_port_scan", "scans of ports where IoT devices are attacked"},
	    {"few_signs", "a few signs of a bot, not enough to be sure"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (strcmp(rule, rules[i].name) == 0)
			return rules[i].text;
	return "no rule fired";
}

static void print_evidence(json_t *ev)
{
	char t1[40], t2[40];
	printf("evidence:\n");
	printf("  first seen:        %s\n",
	       fmt_time(json_object_get(ev, "first_seen"), t1, sizeof(t1)));
	printf("  last seen:         %s\n",
	       fmt_time(json_object_get(ev, "last_seen"), t2, sizeof(t2)));
	printf("  attack events:     %lld\n", int_of(ev, "packets"));
	printf("  fingerprint SYNs:  %lld\n", int_of(ev, "fingerprint_hits"));
	printf("  login attempts:    %lld\n", int_of(ev, "login_attempts"));
	printf("  download commands: %lld\n", int_of(ev, "downloads"));
	printf("  IoT-port events:   %lld\n", int_of(ev, "iot_port_hits"));
	json_t *ports = json_object_get(ev, "ports");
	if (json_array_size(ports) > 0) {
		printf("  ports targeted:   ");
		for (size_t i = 0; i < json_array_size(ports); i++) {
			json_t *p = json_array_get(ports, i);
			printf(" %lld (%lld)", int_of(p, "port"), int_of(p, "count"));
		}
		if (int_of(ev, "other_ports") > 0)
			printf(" and %lld to other ports", int_of(ev, "other_ports"));
		printf("\n");
	}
	json_t *creds = json_object_get(ev, "credentials");
	for (size_t i = 0; i < json_array_size(creds); i++) {
		json_t *c = json_array_get(creds, i);
		printf("  password tried:    ");
		print_plain(str_of(c, "user", ""));
		printf(" / ");
		print_plain(str_of(c, "pass", ""));
		printf(" (%lld times%s)\n", int_of(c, "count"),
		       json_is_true(json_object_get(c, "default")) ? ", a botnet default" : "");
	}
}

static void print_verdict(const struct host_cfg *h, json_t *root, const char *verdict)
{
	char t1[40], t2[40];
	json_t *win = json_object_get(root, "window");
	printf("%s: the server sees this connection as ", h->fqdn);
	print_plain(str_of(root, "address", "?"));
	printf("\n");
	printf("window:  %s to %s (the last 24 hours)\n",
	       fmt_time(json_object_get(win, "start"), t1, sizeof(t1)),
	       fmt_time(json_object_get(win, "end"), t2, sizeof(t2)));
	if (strcmp(verdict, "not_observed") == 0) {
		printf("verdict: not observed: no sensor saw attack traffic from this address.\n"
		       "         That is all it means: it is not a proof that every device is "
		       "clean.\n");
	} else {
		printf("verdict: %s, because of %s (rule %s)\n", verdict,
		       rule_text(str_of(root, "rule", "")), str_of(root, "rule", "none"));
		print_evidence(json_object_get(root, "evidence"));
	}
	printf("\nThe verdict is about the connection's address, not one device: an apartment\n"
	       "building's shared uplink or carrier-grade NAT can put a neighbour behind the same\n"
	       "address, and a device behind another NAT is not seen at all.\n");
	if (strcmp(verdict, "not_observed") == 0)
		return;
	printf("\nWhat to do:\n"
	       "  - Update the firmware of every device on this connection (router, cameras,\n"
	       "    video recorders, NAS, smart TVs, printers) and turn on automatic updates.\n"
	       "  - Replace default passwords with long, unique ones.\n"
	       "  - Power off devices you do not use.\n"
	       "  - Replace devices the maker no longer supports with updates.\n"
	       "  - On the router: turn UPnP off, keep the fewest port forwards, and use a VPN\n"
	       "    instead of services open to the internet.\n"
	       "Then restart the devices and run 'nameplate check' again tomorrow: the verdict\n"
	       "covers the last 24 hours.\n");
}

int client_check(const struct client_cfg *cfg, const char *host, bool json)
{
	int rc = CHECK_EXIT_UNREACHABLE;
	char url[CLIENT_URL_MAX + 32];
	char *body = NULL;
	json_t *root = NULL;
	const struct host_cfg *h = pick_host(cfg, host);
	if (h == NULL) {
		if (host != NULL)
			fprintf(stderr, "nameplate: no [host %s] in %s\n", host, cfg->path);
		else
			fprintf(stderr, "nameplate: no dyndns2 host in %s to ask with\n",
			        cfg->path);
		return CHECK_EXIT_USAGE;
	}
	if (h->protocol != PROTO_DYNDNS2 || h->server[0] == '\0') {
		fprintf(stderr,
		        "nameplate: %s is updated with RFC 2136: check needs a dyndns2 host (its "
		        "server and credentials)\n",
		        h->fqdn);
		return CHECK_EXIT_USAGE;
	}
	if (source_server_url(h->server, "/api/v1/check", url, sizeof(url)) != NP_OK) {
		fprintf(stderr, "nameplate: %s: cannot make the check URL from %s\n", h->fqdn,
		        h->server);
		return CHECK_EXIT_USAGE;
	}
	body = malloc(CHECK_BODY_MAX);
	if (body == NULL) {
		fprintf(stderr, "nameplate: out of memory\n");
		goto out;
	}
	long status;
	int64_t retry_after;
	int ret = source_http_get(cfg, url, 0, h->user, h->secret, &status, body, CHECK_BODY_MAX,
	                          &retry_after);
	if (ret != NP_OK) {
		fprintf(stderr, "nameplate: cannot reach %s: %s\n", url,
		        ret == NP_ETOOBIG ? "answer too long" : "no answer (see -v)");
		goto out;
	}
	if (status == 401 || status == 403) {
		fprintf(stderr,
		        "nameplate: %s refused the credentials of %s (user '%s'): check 'user' and "
		        "the secret\n",
		        url, h->fqdn, h->user);
		rc = CHECK_EXIT_AUTH;
		goto out;
	}
	if (status == 429) {
		fprintf(stderr,
		        "nameplate: %s: too many checks from this address; try again in %lld s\n",
		        url, (long long)(retry_after > 0 ? retry_after : 3600));
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "nameplate: %s answered HTTP %ld%s\n", url, status,
		        status == 404 ? " (the server has no check service)" : "");
		goto out;
	}
	json_error_t jerr;
	root = json_loads(body, 0, &jerr);
	const char *verdict = str_of(root, "verdict", NULL);
	if (verdict == NULL ||
	    (strcmp(verdict, "not_observed") != 0 && strcmp(verdict, "suspicious") != 0 &&
	     strcmp(verdict, "infected") != 0)) {
		fprintf(stderr, "nameplate: %s answered no verdict\n", url);
		goto out;
	}
	if (json) {
		char *text = json_dumps(root, JSON_INDENT(2));
		if (text == NULL) {
			fprintf(stderr, "nameplate: out of memory\n");
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else {
		print_verdict(h, root, verdict);
	}
	rc = strcmp(verdict, "not_observed") == 0 ? CHECK_EXIT_NOT_OBSERVED : CHECK_EXIT_FLAGGED;
out:
	json_decref(root);
	free(body);
	return rc;
}

/* ---- the incidents part of nameplate status ---- */

/* The open incidents of fqdn in a status answer (borrowed), or NULL. */
static json_t *host_of(json_t *answer, const char *fqdn)
{
	json_t *hosts = json_object_get(answer, "hosts");
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		json_t *h = json_array_get(hosts, i);
		if (strcmp(str_of(h, "fqdn", ""), fqdn) == 0)
			return h;
	}
	return NULL;
}

/* Asks base's status API as user; *answer is the parsed JSON, or NULL with why set. */
static void ask(const struct client_cfg *tmo, const struct host_cfg *h, const char *base,
                char *body, json_t **answer, const char **why)
{
	char url[CLIENT_URL_MAX + 32];
	long status;
	*answer = NULL;
	*why = "server unreachable";
	int n = snprintf(url, sizeof(url), "%s/api/v1/status", base);
	if (n < 0 || (size_t)n >= sizeof(url))
		return;
	int ret =
	    source_http_get(tmo, url, 0, h->user, h->secret, &status, body, CHECK_BODY_MAX, NULL);
	if (ret != NP_OK)
		return;
	if (status == 401 || status == 403) {
		*why = "the server refused the credentials";
		return;
	}
	if (status == 404) {
		*why = "the server has no status API";
		return;
	}
	if (status != 200) {
		*why = "the server could not answer";
		return;
	}
	json_error_t jerr;
	*answer = json_loads(body, 0, &jerr);
	if (!json_is_array(json_object_get(*answer, "hosts"))) {
		json_decref(*answer);
		*answer = NULL;
		*why = "the server's answer was unreadable";
	}
}

static void print_incidents(const char *user, const char *base, json_t *answer, const char *why)
{
	printf("incidents (%s at %s):", user, base);
	if (answer == NULL) {
		printf(" %s\n", why);
		return;
	}
	printf("\n");
	unsigned shown = 0;
	json_t *hosts = json_object_get(answer, "hosts");
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		json_t *h = json_array_get(hosts, i);
		json_t *list = json_object_get(h, "incidents");
		for (size_t k = 0; k < json_array_size(list); k++) {
			json_t *inc = json_array_get(list, k);
			if (!json_is_null(json_object_get(inc, "closed")))
				continue;
			char t1[40], t2[40];
			printf("  ");
			print_plain(str_of(h, "fqdn", "?"));
			printf(": incident: ");
			print_plain(str_of(inc, "address", "?"));
			printf(" ");
			print_plain(str_of(inc, "verdict", "?"));
			printf(" since %s (last checked %s)\n",
			       fmt_time(json_object_get(inc, "opened"), t1, sizeof(t1)),
			       fmt_time(json_object_get(inc, "updated"), t2, sizeof(t2)));
			shown++;
		}
	}
	if (shown == 0)
		printf("  none open\n");
	else
		printf("  run 'nameplate check' behind that connection for the evidence and "
		       "what to do\n");
}

/* Adds to each host object of root's "hosts" that the answer covers its "incidents" (open
 * ones), and the outcome of the ask to root's "incident_sources". */
static void merge_json(json_t *root, const char *user, const char *base, json_t *answer,
                       const char *why)
{
	json_t *sources = json_object_get(root, "incident_sources");
	if (sources == NULL) {
		sources = json_array();
		if (json_object_set_new(root, "incident_sources", sources) != 0)
			return;
	}
	json_array_append_new(sources,
	                      json_pack("{s:s, s:s, s:b, s:s?}", "server", base, "user", user, "ok",
	                                answer != NULL, "error", answer != NULL ? NULL : why));
	if (answer == NULL)
		return;
	json_t *hosts = json_object_get(root, "hosts");
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		json_t *o = json_array_get(hosts, i);
		json_t *h = host_of(answer, str_of(o, "host", ""));
		if (h == NULL)
			continue;
		json_t *open = json_array(), *list = json_object_get(h, "incidents");
		for (size_t k = 0; k < json_array_size(list); k++) {
			json_t *inc = json_array_get(list, k);
			if (json_is_null(json_object_get(inc, "closed")))
				json_array_append(open, inc);
		}
		json_object_set_new(o, "incidents", open);
	}
}

void client_status_incidents(const struct client_cfg *cfg, struct json_t *root)
{
	/* source_http_get takes its timeout from a config: a small one of its own. */
	struct client_cfg *tmo = calloc(1, sizeof(*tmo));
	char *body = malloc(CHECK_BODY_MAX);
	bool done[CLIENT_MAX_HOSTS] = {false};
	if (tmo == NULL || body == NULL)
		goto out;
	tmo->timeout =
	    cfg->timeout > 0 && cfg->timeout < STATUS_TIMEOUT ? cfg->timeout : STATUS_TIMEOUT;
	/* One ask per distinct (server, user): the API lists every host of the account. */
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		const struct host_cfg *h = &cfg->hosts[i];
		char base[CLIENT_URL_MAX];
		if (done[i] || h->protocol != PROTO_DYNDNS2 ||
		    source_server_url(h->server, "", base, sizeof(base)) != NP_OK)
			continue;
		for (unsigned j = i; j < cfg->n_hosts; j++) {
			char other[CLIENT_URL_MAX];
			const struct host_cfg *o = &cfg->hosts[j];
			if (o->protocol == PROTO_DYNDNS2 && strcmp(o->user, h->user) == 0 &&
			    source_server_url(o->server, "", other, sizeof(other)) == NP_OK &&
			    strcmp(other, base) == 0)
				done[j] = true;
		}
		json_t *answer;
		const char *why;
		ask(tmo, h, base, body, &answer, &why);
		if (answer == NULL)
			log_debug("status: incidents from %s as %s: %s", base, h->user, why);
		if (root != NULL)
			merge_json(root, h->user, base, answer, why);
		else
			print_incidents(h->user, base, answer, why);
		json_decref(answer);
	}
out:
	if (tmo != NULL)
		free(tmo);
	free(body);
}
