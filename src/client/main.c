/* SPDX-License-Identifier: MIT */
/* nameplate: the dynamic DNS client. Parses the command line, loads the config, and hands
 * over to the engine (run, update, status, reset) or the diagnosis (doctor). */
#include "client/audit.h"
#include "client/client.h"
#include "common/log.h"
#include "common/secret.h"
#include "common/str.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/nameplate/client.conf"
#define EXIT_USAGE     2
#define MAX_PORTS      16

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: nameplate [-c FILE] [-v] COMMAND\n"
	        "\n"
	        "commands:\n"
	        "  run                      the daemon, in the foreground (for systemd)\n"
	        "  update --once [--force]  one pass; exit 0 only if every host is up to date\n"
	        "  status [--json]          published addresses, last results, back-off, stops\n"
	        "  reset HOST               clear a stop (latched fatal answer) after fixing it\n"
	        "  doctor [--port N]... [--json]\n"
	        "                           can the outside reach you? (CGNAT, double NAT, ports)\n"
	        "  check [HOST] [--json]    was this connection's address seen attacking? (asks\n"
	        "                           HOST's server, default the first dyndns2 host's)\n"
	        "  audit [--json] [--credentials] [--no-probe]\n"
	        "                           is the network behind the name exposed? (UPnP,\n"
	        "                           mappings, open ports, default passwords, VPN)\n"
	        "  check-config             read the configuration and report the first error\n"
	        "\n"
	        "  -c FILE   configuration (default " DEFAULT_CONFIG ")\n"
	        "  -v        debug logging\n"
	        "\n"
	        "exit status: 0 ok, 1 failure, 2 usage error; check: 0 not observed,\n"
	        "1 infected or suspicious, 2 usage, 3 server not reachable, 4 credentials refused;\n"
	        "audit: 0 nothing medium or worse, 1 findings, 2 usage, 3 server not reachable\n");
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	bool verbose = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[i++];
	bool once = false, force = false, json = false, credentials = false, no_probe = false;
	const char *host = NULL;
	unsigned ports[MAX_PORTS], n_ports = 0;

	/* Every command's options are checked before anything is read or sent. */
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(cmd, "update") == 0 && strcmp(a, "--once") == 0) {
			once = true;
		} else if (strcmp(cmd, "update") == 0 && strcmp(a, "--force") == 0) {
			force = true;
		} else if ((strcmp(cmd, "status") == 0 || strcmp(cmd, "doctor") == 0 ||
		            strcmp(cmd, "check") == 0 || strcmp(cmd, "audit") == 0) &&
		           strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(cmd, "audit") == 0 && strcmp(a, "--credentials") == 0) {
			credentials = true;
		} else if (strcmp(cmd, "audit") == 0 && strcmp(a, "--no-probe") == 0) {
			no_probe = true;
		} else if (strcmp(cmd, "doctor") == 0 && strcmp(a, "--port") == 0 && i + 1 < argc) {
			uint32_t p;
			if (n_ports >= MAX_PORTS || str_to_u32(argv[++i], 1, 65535, &p) != NP_OK) {
				fprintf(stderr, "nameplate: --port needs 1..65535 (at most %d)\n",
				        MAX_PORTS);
				return EXIT_USAGE;
			}
			ports[n_ports++] = p;
		} else if ((strcmp(cmd, "reset") == 0 || strcmp(cmd, "check") == 0) && host == NULL &&
		           a[0] != '-') {
			host = a;
		} else {
			fprintf(stderr, "nameplate: unexpected argument '%s' for %s\n", a, cmd);
			return EXIT_USAGE;
		}
	}
	(void)once; /* "update" always does one pass; --once says so explicitly */
	if (strcmp(cmd, "run") != 0 && strcmp(cmd, "update") != 0 && strcmp(cmd, "status") != 0 &&
	    strcmp(cmd, "reset") != 0 && strcmp(cmd, "doctor") != 0 &&
	    strcmp(cmd, "check") != 0 && strcmp(cmd, "audit") != 0 &&
	    strcmp(cmd, "check-config") != 0) {
		fprintf(stderr, "nameplate: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "reset") == 0 && host == NULL) {
		fprintf(stderr, "nameplate: reset needs a HOST\n");
		return EXIT_USAGE;
	}

	log_init("nameplate", true, verbose ? LOG_DEBUG : LOG_INFO);
	if (secret_lib_init() != NP_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "nameplate: cannot initialise libsodium or libcurl\n");
		return 1;
	}
	/* check's 1 means "flagged": its failures to ask have their own status. */
	int rc = strcmp(cmd, "check") == 0 ? CHECK_EXIT_UNREACHABLE : 1;
	char err[1024];
	struct client_cfg *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		fprintf(stderr, "nameplate: out of memory\n");
		goto out;
	}
	if (client_config_load(path, cfg, err, sizeof(err)) != NP_OK) {
		fprintf(stderr, "%s\n", err);
		if (strcmp(cmd, "check") == 0 || strcmp(cmd, "audit") == 0)
			rc = strcmp(cmd, "check") == 0 ? CHECK_EXIT_USAGE : AUDIT_EXIT_USAGE;
		goto out;
	}
	if (!verbose)
		log_set_level(cfg->log_level);

	if (strcmp(cmd, "check-config") == 0) {
		printf("%s: ok (%u host%s)\n", path, cfg->n_hosts, cfg->n_hosts == 1 ? "" : "s");
		rc = 0;
	} else if (strcmp(cmd, "update") == 0) {
		rc = client_update_all(cfg, force) ? 0 : 1;
	} else if (strcmp(cmd, "run") == 0) {
		rc = client_run(path, cfg) == NP_OK ? 0 : 1;
	} else if (strcmp(cmd, "check") == 0) {
		rc = client_check(cfg, host, json);
	} else if (strcmp(cmd, "audit") == 0) {
		rc = client_audit(cfg, json, credentials, !no_probe);
	} else if (strcmp(cmd, "status") == 0) {
		rc = client_status(cfg, json) == NP_OK ? 0 : 1;
	} else if (strcmp(cmd, "reset") == 0) {
		int r = client_reset(cfg, host);
		if (r == NP_ENOTFOUND)
			fprintf(stderr, "nameplate: no [host %s] in %s\n", host, path);
		else if (r != NP_OK)
			fprintf(stderr, "nameplate: cannot reset %s: %s\n", host, np_strerror(r));
		else
			printf("%s: reset; the next check publishes again\n", host);
		rc = r == NP_OK ? 0 : 1;
	} else {
		rc = client_doctor(cfg, ports, n_ports, json) == NP_OK ? 0 : 1;
	}
out:
	if (cfg != NULL) {
		sodium_memzero(cfg, sizeof(*cfg));
		free(cfg);
	}
	curl_global_cleanup();
	return rc;
}
