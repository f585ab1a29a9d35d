/* SPDX-License-Identifier: MIT */
/* nameplatectl: the administration tool. Parses the global options, loads the config and
 * dispatches to the command; exit 0 on success, 1 on failure, 2 on bad usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ctl/ctl.h"

#define DEFAULT_CONFIG "/etc/nameplate/nameplate.conf"

static void usage(FILE *out)
{
	fputs("usage: nameplatectl [-c FILE] COMMAND [ARGS]\n"
	      "commands:\n"
	      "  check-config                         check the configuration file\n"
	      "  init                                 create the store and the admin secret\n"
	      "  user add NAME [--email ADDR] [--password-stdin] [--admin]\n"
	      "  user list                            accounts: role, state, password, TOTP, mail\n"
	      "  user email NAME ADDRESS              where the owner's alerts go (\"\" = none)\n"
	      "  user password NAME --password-stdin  set the password (one line of stdin)\n"
	      "  user admin NAME on|off\n"
	      "  user lock NAME | user unlock NAME | user suspend NAME\n"
	      "  user del NAME                        refused while it owns hosts\n"
	      "  token list NAME | token del ID\n"
	      "  invite add [--days N]                an invitation to sign up (signup = invite)\n"
	      "  token add NAME [--name LABEL] [--names LIST] [--types LIST] [--sources LIST] "
	      "[--expires UNIXTIME|+SECONDS] [--manage]\n"
	      "  tsig add KEYNAME --user NAME [--name PATTERN]... [--type LIST] [--sources LIST] "
	      "[--algorithm hmac-sha256|hmac-sha512] [--expires UNIXTIME|+SECONDS]\n"
	      "  tsig list [USER] | tsig del KEYNAME   TSIG keys for RFC 2136 UPDATE\n"
	      "  host add FQDN --user NAME [--wildcard]\n"
	      "  host list | host del FQDN | host secret FQDN\n"
	      "  host block FQDN | host unblock FQDN  the same as abuse hold / restore\n"
	      "  host set FQDN TYPE [VALUE...]       replace (or delete) records of one type\n"
	      "  zone import FILE [--zone NAME] [--user NAME]\n"
	      "  zone export NAME\n"
	      "  zone keys NAME              DNSSEC keys of the zone (made when it has none)\n"
	      "  zone ds NAME                DS records of the zone's KSK, for the parent\n"
	      "  zone ksk-roll NAME [--ds-seen]  start a KSK roll; --ds-seen: the parent's DS names the new KSK\n"
	      "  sensor add NAME | sensor list | sensor del NAME\n"
	      "  import pcap FILE [--json] | import cowrie FILE [--json]   offline observations\n"
	      "  observe show ADDRESS [--json] [--at UNIXTIME]   the verdict from the store\n"
	      "  abuse list [--json]                  hosts not ok: state, score, reasons\n"
	      "  abuse hold NAME|TICKET --reason TEXT | abuse quarantine NAME|TICKET --reason TEXT\n"
	      "  abuse restore NAME|TICKET --reason TEXT  each logged: who, when, why\n"
	      "  abuse dismiss TICKET --reason TEXT   close a report, nothing changed\n"
	      "  abuse suspend USER --reason TEXT     the whole account: its names quarantined\n"
	      "  abuse restore --user USER --reason TEXT  lift an account's suspension\n"
	      "  abuse log [NAME] [--json]            every change of abuse state\n"
	      "  abuse tickets [--json]               the abuse reports, open ones first\n"
	      "  abuse show TICKET [--json]           one report with its evidence\n"
	      "  feed reload                          check the feeds, quarantine what they list\n"
	      "default FILE: " DEFAULT_CONFIG "\n",
	      out);
}

int main(int argc, char **argv)
{
	const char *conf = DEFAULT_CONFIG;
	int opt;
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* "+": options end at the command word, whose own options follow it. */
	while ((opt = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			conf = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	const char *cmd = argv[optind];
	int cargc = argc - optind - 1;
	char **cargv = argv + optind + 1;
	int (*fn)(struct ctl *, int, char **) = NULL;
	if (strcmp(cmd, "init") == 0)
		fn = ctl_cmd_init;
	else if (strcmp(cmd, "user") == 0)
		fn = ctl_cmd_user;
	else if (strcmp(cmd, "token") == 0)
		fn = ctl_cmd_token;
	else if (strcmp(cmd, "tsig") == 0)
		fn = ctl_cmd_tsig;
	else if (strcmp(cmd, "invite") == 0)
		fn = ctl_cmd_invite;
	else if (strcmp(cmd, "abuse") == 0)
		fn = ctl_cmd_abuse;
	else if (strcmp(cmd, "feed") == 0)
		fn = ctl_cmd_feed;
	else if (strcmp(cmd, "host") == 0)
		fn = ctl_cmd_host;
	else if (strcmp(cmd, "zone") == 0)
		fn = ctl_cmd_zone;
	else if (strcmp(cmd, "sensor") == 0)
		fn = ctl_cmd_sensor;
	else if (strcmp(cmd, "import") == 0)
		fn = ctl_cmd_import;
	else if (strcmp(cmd, "observe") == 0)
		fn = ctl_cmd_observe;
	else if (strcmp(cmd, "check-config") != 0)
		return ctl_usage("unknown command '%s'", cmd);

	/* Store errors are logged by the store; they go to stderr like our own messages. */
	log_init("nameplatectl", true, LOG_WARNING);
	struct ctl c = {.conf_path = conf};
	c.cfg = malloc(sizeof(*c.cfg));
	if (c.cfg == NULL) {
		ctl_err("out of memory");
		return CTL_FAIL;
	}
	char err[1024];
	int ret;
	if (config_load(conf, c.cfg, err, sizeof(err)) != NP_OK) {
		ctl_err("%s", err);
		ret = CTL_FAIL;
	} else if (fn == NULL) {
		if (cargc != 0) {
			ret = ctl_usage("check-config takes no arguments");
		} else {
			printf("%s: ok\n", conf);
			ret = CTL_OK;
		}
	} else {
		ret = fn(&c, cargc, cargv);
	}
	store_close(c.st);
	free(c.cfg);
	if (fflush(stdout) != 0 && ret == CTL_OK) {
		ctl_err("cannot write the output");
		ret = CTL_FAIL;
	}
	return ret;
}
