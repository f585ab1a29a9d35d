/* SPDX-License-Identifier: MIT */
/* nameplatectl token list|add|del: an account's tokens. A token's secret is shown once, when
 * it is made; the store keeps its keyed hash. Its policy goes through policy_parse and back
 * out through policy_format, so the store's text columns are always in the one normal form
 * (lower case names, types in a fixed order, every prefix with its length). */
#include <stdio.h>
#include <string.h>

#include "account/credential.h"
#include "account/policy.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/str.h"
#include "ctl/ctl.h"

#define TOKEN_ADD_USAGE                                                                            \
	"token add NAME [--name LABEL] [--names LIST] [--types LIST] [--sources LIST] "            \
	"[--expires UNIXTIME|+SECONDS] [--manage]"

/* The policy as one column: "names=... types=... sources=...", "all"/"any" for an empty
 * list, and "manage" when it may manage tokens. */
static void policy_text(const char *names, const char *types, const char *sources, bool manage,
                        char *out, size_t len)
{
	snprintf(out, len, "names=%s types=%s sources=%s%s", names[0] != '\0' ? names : "all",
	         types[0] != '\0' ? types : "all", sources[0] != '\0' ? sources : "any",
	         manage ? " manage" : "");
}

/* ---- token list ---- */

static int print_token(const struct store_token *t, void *ctx)
{
	(void)ctx;
	static char policy[2 * STORE_POLICY_TEXT_MAX + 128];
	char expires[32], used[32 + 64];
	policy_text(t->names, t->types, t->sources, t->manage, policy, sizeof(policy));
	ctl_time(t->expires, expires, sizeof(expires));
	ctl_time(t->last_used, used, sizeof(used));
	if (t->last_used > 0 && t->last_source[0] != '\0') {
		size_t o = strlen(used);
		snprintf(used + o, sizeof(used) - o, " from %s", t->last_source);
	}
	printf("%s\t%s\t%s\t%s\t%s\t%s\n", t->id, store_token_kind_name(t->kind),
	       t->name[0] != '\0' ? t->name : "-", policy, expires, used);
	return 0;
}

static int token_list(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_usage("token list NAME");
	const char *user = argv[0];
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	int64_t id;
	int ret = store_user_id(c->st, user, &id);
	if (ret == NP_OK)
		ret = store_token_list(c->st, id, -1, print_token, NULL);
	if (ret == NP_ENOTFOUND) {
		ctl_err("no user %s", user);
		return CTL_FAIL;
	}
	if (ret != NP_OK) {
		ctl_err("token list: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* ---- token add ---- */

bool ctl_parse_expires(const char *text, int64_t now, int64_t *out)
{
	uint32_t v;
	bool rel = text[0] == '+';
	if (str_to_u32(text + (rel ? 1 : 0), 1, UINT32_MAX, &v) != NP_OK) {
		ctl_err("bad --expires '%s': a unix time, or +SECONDS from now", text);
		return false;
	}
	*out = rel ? now + (int64_t)v : (int64_t)v;
	if (*out <= now) {
		ctl_err("--expires %s is not in the future", text);
		return false;
	}
	return true;
}

static int token_add(struct ctl *c, int argc, char **argv)
{
	const char *user = NULL, *label = "", *names = "", *types = "", *sources = "";
	const char *expires_text = NULL;
	bool manage = false;
	for (int i = 0; i < argc; i++) {
		bool has_value = i + 1 < argc;
		if (strcmp(argv[i], "--name") == 0 && has_value)
			label = argv[++i];
		else if (strcmp(argv[i], "--names") == 0 && has_value)
			names = argv[++i];
		else if (strcmp(argv[i], "--types") == 0 && has_value)
			types = argv[++i];
		else if (strcmp(argv[i], "--sources") == 0 && has_value)
			sources = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && has_value)
			expires_text = argv[++i];
		else if (strcmp(argv[i], "--manage") == 0)
			manage = true;
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else
			return ctl_usage(TOKEN_ADD_USAGE);
	}
	if (user == NULL)
		return ctl_usage(TOKEN_ADD_USAGE);

	static struct store_token t;
	if (strlen(label) >= sizeof(t.name) || str_has_ctl(label)) {
		ctl_err("bad --name: at most %zu bytes, no control characters", sizeof(t.name) - 1);
		return CTL_FAIL;
	}
	int64_t now = time_now(), expires = 0;
	if (expires_text != NULL && !ctl_parse_expires(expires_text, now, &expires))
		return CTL_FAIL;
	static struct policy p;
	char err[160];
	int ret = policy_parse(names, types, sources, expires, manage, &p, err, sizeof(err));
	if (ret != NP_OK) {
		ctl_err("bad policy: %s", err);
		return CTL_FAIL;
	}
	if (secret_lib_init() != NP_OK || ctl_open(c) != CTL_OK)
		return CTL_FAIL;

	char secret[SECRET_TEXT_LEN + 1];
	int64_t user_id;
	ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_user_id(c->st, user, &user_id);
	if (ret == NP_ENOTFOUND) {
		store_rollback(c->st);
		ctl_err("no user %s", user);
		return CTL_FAIL;
	}
	if (ret != NP_OK)
		goto fail;
	credential_token_new(&t, user_id, STORE_TOKEN_API, secret);
	np_strlcpy(t.name, label, sizeof(t.name));
	t.expires = p.expires;
	t.manage = p.manage;
	ret = policy_format(&p, t.names, sizeof(t.names), t.types, sizeof(t.types), t.sources,
	                    sizeof(t.sources));
	if (ret == NP_ETOOBIG) {
		store_rollback(c->st);
		explicit_bzero(secret, sizeof(secret));
		ctl_err("bad policy: the lists are longer than the store keeps (%d characters "
		        "each)",
		        STORE_POLICY_TEXT_MAX - 1);
		return CTL_FAIL;
	}
	if (ret == NP_OK)
		ret = store_token_add(c->st, &t);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		explicit_bzero(secret, sizeof(secret));
		goto fail;
	}
	static char policy[2 * STORE_POLICY_TEXT_MAX + 128];
	char when[32];
	policy_text(t.names, t.types, t.sources, t.manage, policy, sizeof(policy));
	ctl_time(t.expires, when, sizeof(when));
	printf("token %s added for user %s: %s, expires %s\n", t.id, user, policy, when);
	printf("secret (shown only now; use it with the user name %s):\n%s\n", user, secret);
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(&t, sizeof(t));
	return CTL_OK;
fail:
	store_rollback(c->st);
	ctl_err("token add: %s", np_strerror(ret));
	return CTL_FAIL;
}

/* ---- token del ---- */

static int token_del(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_usage("token del ID");
	const char *id = argv[0];
	size_t len = strlen(id);
	if (len == 0 || len >= STORE_TOKEN_ID_MAX || strspn(id, "0123456789abcdef") != len) {
		ctl_err("bad token id '%s': the first column of 'token list'", id);
		return CTL_FAIL;
	}
	return ctl_delete_one(c, store_token_del, "token", id);
}

int ctl_cmd_token(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage("token list NAME | " TOKEN_ADD_USAGE " | token del ID");
	const char *sub = argv[0];
	if (strcmp(sub, "list") == 0)
		return token_list(c, argc - 1, argv + 1);
	if (strcmp(sub, "add") == 0)
		return token_add(c, argc - 1, argv + 1);
	if (strcmp(sub, "del") == 0)
		return token_del(c, argc - 1, argv + 1);
	return ctl_usage("unknown token command '%s'", sub);
}
