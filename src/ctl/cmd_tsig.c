/* SPDX-License-Identifier: MIT */
/* nameplatectl tsig add|list|del: an account's TSIG keys for RFC 2136 UPDATE. `tsig add`
 * prints the new key on stdout as a BIND key file, which `nsupdate -k FILE` and
 * `knsupdate -k FILE` read as it is; a comment line in it carries the one-line form for
 * `knsupdate -y` and `nsupdate -y`. Everything else goes to stderr, so stdout can be
 * redirected into the key file. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "account/policy.h"
#include "account/tsigkey.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/str.h"
#include "ctl/ctl.h"

#define TSIG_ADD_USAGE                                                                             \
	"tsig add KEYNAME --user NAME [--name PATTERN]... [--type LIST] [--sources LIST] "         \
	"[--algorithm hmac-sha256|hmac-sha512] [--expires UNIXTIME|+SECONDS]"

static int tsig_add(struct ctl *c, int argc, char **argv)
{
	const char *keyname_text = NULL, *user = NULL, *types = "", *sources = "";
	const char *alg_text = TSIG_ALG_HMAC_SHA256, *expires_text = NULL;
	static char names[STORE_POLICY_TEXT_MAX];
	names[0] = '\0';
	for (int i = 0; i < argc; i++) {
		bool has_value = i + 1 < argc;
		if (strcmp(argv[i], "--user") == 0 && has_value) {
			user = argv[++i];
		} else if (strcmp(argv[i], "--name") == 0 && has_value) {
			const char *n = argv[++i];
			size_t o = strlen(names);
			if (o + strlen(n) + 2 > sizeof(names)) {
				ctl_err("too many --name patterns");
				return CTL_FAIL;
			}
			snprintf(names + o, sizeof(names) - o, "%s%s", o > 0 ? "," : "", n);
		} else if (strcmp(argv[i], "--type") == 0 && has_value) {
			types = argv[++i];
		} else if (strcmp(argv[i], "--sources") == 0 && has_value) {
			sources = argv[++i];
		} else if (strcmp(argv[i], "--algorithm") == 0 && has_value) {
			alg_text = argv[++i];
		} else if (strcmp(argv[i], "--expires") == 0 && has_value) {
			expires_text = argv[++i];
		} else if (argv[i][0] != '-' && keyname_text == NULL) {
			keyname_text = argv[i];
		} else {
			return ctl_usage(TSIG_ADD_USAGE);
		}
	}
	if (keyname_text == NULL || user == NULL)
		return ctl_usage(TSIG_ADD_USAGE);

	char keyname[CFG_NAME_MAX], err[160];
	if (tsigkey_name_normal(keyname_text, keyname, sizeof(keyname), err, sizeof(err)) !=
	    NP_OK) {
		ctl_err("bad key name '%s': %s", keyname_text, err);
		return CTL_FAIL;
	}
	enum tsig_alg alg;
	if (tsig_alg_from_text(alg_text, &alg) != NP_OK) {
		ctl_err("bad --algorithm '%s': hmac-sha256 or hmac-sha512", alg_text);
		return CTL_FAIL;
	}
	int64_t now = time_now(), expires = 0;
	if (expires_text != NULL && !ctl_parse_expires(expires_text, now, &expires))
		return CTL_FAIL;
	static struct policy p;
	int ret = policy_parse(names, types, sources, expires, false, &p, err, sizeof(err));
	if (ret != NP_OK) {
		ctl_err("bad policy: %s", err);
		return CTL_FAIL;
	}
	if (secret_lib_init() != NP_OK || ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	uint8_t seal[TSIGKEY_SEAL_LEN];
	if (tsigkey_seal_key(c->cfg->data_dir, true, seal) != NP_OK) {
		ctl_err("tsig add: cannot read or make %s/%s", c->cfg->data_dir, TSIGKEY_SEAL_FILE);
		return CTL_FAIL;
	}

	static struct store_tsig k;
	char b64[128];
	int64_t user_id;
	ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_user_id(c->st, user, &user_id);
	if (ret == NP_ENOTFOUND) {
		store_rollback(c->st);
		sodium_memzero(seal, sizeof(seal));
		ctl_err("no user %s", user);
		return CTL_FAIL;
	}
	if (ret == NP_OK)
		ret = tsigkey_new(&k, user_id, keyname, alg, &p, seal, b64, sizeof(b64));
	sodium_memzero(seal, sizeof(seal));
	if (ret == NP_OK)
		ret = store_tsig_add(c->st, &k);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		sodium_memzero(b64, sizeof(b64));
		if (ret == NP_EEXIST)
			ctl_err("tsig add: a key named %s exists already", keyname);
		else
			ctl_err("tsig add: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	fprintf(stderr,
	        "key %s added for user %s (token %s): names=%s types=%s sources=%s; the secret "
	        "is shown only now\n",
	        keyname, user, k.token.id, k.token.names[0] != '\0' ? k.token.names : "all",
	        k.token.types[0] != '\0' ? k.token.types : "all",
	        k.token.sources[0] != '\0' ? k.token.sources : "any");
	printf("key \"%s\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};\n", keyname, tsig_alg_name(alg),
	       b64);
	printf("# knsupdate -y / nsupdate -y: %s:%s:%s\n", tsig_alg_name(alg), keyname, b64);
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(&k, sizeof(k));
	return CTL_OK;
}

static int print_key(const struct store_tsig *k, void *ctx)
{
	(void)ctx;
	char used[32 + 64];
	ctl_time(k->token.last_used, used, sizeof(used));
	if (k->token.last_used > 0 && k->token.last_source[0] != '\0') {
		size_t o = strlen(used);
		snprintf(used + o, sizeof(used) - o, " from %s", k->token.last_source);
	}
	char expires[32];
	ctl_time(k->token.expires, expires, sizeof(expires));
	printf("%s\t%s\t%s\tnames=%s types=%s sources=%s\t%s\t%s\n", k->keyname,
	       tsig_alg_name(k->alg == TSIG_HMAC_SHA512 ? TSIG_HMAC_SHA512 : TSIG_HMAC_SHA256),
	       k->token.id, k->token.names[0] != '\0' ? k->token.names : "all",
	       k->token.types[0] != '\0' ? k->token.types : "all",
	       k->token.sources[0] != '\0' ? k->token.sources : "any", expires, used);
	return 0;
}

static int tsig_list(struct ctl *c, int argc, char **argv)
{
	if (argc > 1)
		return ctl_usage("tsig list [USER]");
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	int64_t user_id = 0;
	int ret = NP_OK;
	if (argc == 1) {
		ret = store_user_id(c->st, argv[0], &user_id);
		if (ret == NP_ENOTFOUND) {
			ctl_err("no user %s", argv[0]);
			return CTL_FAIL;
		}
	}
	if (ret == NP_OK)
		ret = store_tsig_list(c->st, user_id, print_key, NULL);
	if (ret != NP_OK) {
		ctl_err("tsig list: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	return CTL_OK;
}

static int tsig_del(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_usage("tsig del KEYNAME");
	char keyname[CFG_NAME_MAX], err[160];
	if (tsigkey_name_normal(argv[0], keyname, sizeof(keyname), err, sizeof(err)) != NP_OK) {
		ctl_err("bad key name '%s': %s", argv[0], err);
		return CTL_FAIL;
	}
	return ctl_delete_one(c, store_tsig_del, "key", keyname);
}

int ctl_cmd_tsig(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(TSIG_ADD_USAGE " | tsig list [USER] | tsig del KEYNAME");
	const char *sub = argv[0];
	if (strcmp(sub, "add") == 0)
		return tsig_add(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return tsig_list(c, argc - 1, argv + 1);
	if (strcmp(sub, "del") == 0)
		return tsig_del(c, argc - 1, argv + 1);
	return ctl_usage("unknown tsig command '%s'", sub);
}
