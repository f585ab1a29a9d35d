/* SPDX-License-Identifier: MIT */
/* nameplatectl abuse: the hosts whose abuse state is not ok, the operator's
 * hold, quarantine and restore (each logged with who, when and why), and the log. The
 * daemon sees a change through the store (PRAGMA data_version) and rebuilds DNS within its
 * poll interval. */
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/str.h"
#include "ctl/ctl.h"
#include "store/abuse.h"

void ctl_actor(char *out, size_t len)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *sudo = getenv("SUDO_USER");
	if (sudo != NULL && sudo[0] != '\0')
		snprintf(out, len, "ctl:%s (sudo %s)", pw != NULL ? pw->pw_name : "?", sudo);
	else if (pw != NULL)
		snprintf(out, len, "ctl:%s", pw->pw_name);
	else
		snprintf(out, len, "ctl:uid %u", (unsigned)getuid());
}

static int print_row(const struct store_abuse *a, void *ctx)
{
	json_t *list = ctx;
	if (list != NULL) {
		json_t *features = json_loads(a->features, 0, NULL);
		json_t *o = json_pack("{s:s,s:s,s:s,s:f,s:s,s:o,s:I}", "name", a->fqdn, "owner",
		                      a->user, "state", store_abuse_state_name(a->state), "score",
		                      a->score, "reasons", a->reasons, "features",
		                      features != NULL ? features : json_object(), "scored",
		                      (json_int_t)a->scored);
		return o == NULL || json_array_append_new(list, o) != 0 ? NP_ENOMEM : 0;
	}
	printf("%-40s %-12s %-12s %8.2f  %s\n", a->fqdn, store_abuse_state_name(a->state),
	       a->user[0] != '\0' ? a->user : "-", a->score, a->reasons[0] != '\0' ? a->reasons : "-");
	return 0;
}

static int abuse_list(struct ctl *c, bool json)
{
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	json_t *list = json ? json_array() : NULL;
	if (json && list == NULL)
		return CTL_FAIL;
	if (!json)
		printf("%-40s %-12s %-12s %8s  %s\n", "NAME", "STATE", "OWNER", "SCORE", "REASONS");
	int ret = store_abuse_list(c->st, print_row, list);
	if (ret != NP_OK) {
		json_decref(list);
		ctl_err("abuse list: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	if (json) {
		char *text = json_dumps(list, JSON_INDENT(2));
		json_decref(list);
		if (text == NULL)
			return CTL_FAIL;
		puts(text);
		free(text);
	}
	return CTL_OK;
}

static int print_log(const struct store_abuse_log *l, void *ctx)
{
	json_t *list = ctx;
	if (list != NULL)
		return json_array_append_new(
		           list, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "time", (json_int_t)l->time,
		                           "name", l->fqdn, "actor", l->actor, "from",
		                           store_abuse_state_name(l->old_state), "to",
		                           store_abuse_state_name(l->new_state), "reason",
		                           l->reason)) != 0
		           ? NP_ENOMEM
		           : 0;
	char t[32];
	ctl_time(l->time, t, sizeof(t));
	printf("%s %s %s -> %s by %s: %s\n", t, l->fqdn, store_abuse_state_name(l->old_state),
	       store_abuse_state_name(l->new_state), l->actor, l->reason);
	return 0;
}

static int abuse_log(struct ctl *c, const char *name_arg, bool json)
{
	char fqdn[CFG_NAME_MAX];
	if (name_arg != NULL && !ctl_host_name(name_arg, fqdn, sizeof(fqdn)))
		return CTL_FAIL;
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	json_t *list = json ? json_array() : NULL;
	int ret = store_abuse_log_list(c->st, name_arg != NULL ? fqdn : NULL, print_log, list);
	if (ret != NP_OK) {
		json_decref(list);
		ctl_err("abuse log: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	if (json) {
		char *text = json_dumps(list, JSON_INDENT(2));
		json_decref(list);
		if (text == NULL)
			return CTL_FAIL;
		puts(text);
		free(text);
	}
	return CTL_OK;
}

int ctl_abuse_set(struct ctl *c, const char *fqdn, int state, const char *actor,
                  const char *reason, bool *changed)
{
	struct store_host h;
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_host_get(c->st, fqdn, &h);
	if (ret == NP_OK)
		ret = store_abuse_set_state(c->st, h.id, state, actor, reason, time_now(), changed);
	/* The bump makes the daemon rebuild the zone: a quarantine is in DNS at once. */
	if (ret == NP_OK && *changed)
		ret = ctl_host_changed(c, h.id, h.fqdn, h.zone, "", "");
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK)
		store_rollback(c->st);
	return ret;
}

static int abuse_set(struct ctl *c, enum store_abuse_state state, int argc, char **argv)
{
	const char *name_arg = NULL, *reason = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (argv[i][0] != '-' && name_arg == NULL)
			name_arg = argv[i];
		else
			return ctl_usage("abuse %s NAME --reason TEXT", store_abuse_state_name(state));
	}
	if (name_arg == NULL || reason == NULL || reason[0] == '\0')
		return ctl_usage("abuse hold|quarantine|restore NAME --reason TEXT (the reason is "
		                 "logged and shown to the owner)");
	if (strlen(reason) >= STORE_ABUSE_REASONS_MAX)
		return ctl_usage("--reason: at most %d characters", STORE_ABUSE_REASONS_MAX - 1);
	char fqdn[CFG_NAME_MAX], actor[STORE_ABUSE_ACTOR_MAX];
	if (!ctl_host_name(name_arg, fqdn, sizeof(fqdn)))
		return CTL_FAIL;
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	ctl_actor(actor, sizeof(actor));
	bool changed = false;
	int ret = ctl_abuse_set(c, fqdn, state, actor, reason, &changed);
	if (ret == NP_ENOTFOUND) {
		ctl_err("no host %s", fqdn);
		return CTL_FAIL;
	}
	if (ret != NP_OK) {
		ctl_err("abuse %s %s: %s", store_abuse_state_name(state), fqdn, np_strerror(ret));
		return CTL_FAIL;
	}
	if (changed)
		printf("host %s is now %s\n", fqdn, store_abuse_state_name(state));
	else
		printf("host %s was already %s\n", fqdn, store_abuse_state_name(state));
	return CTL_OK;
}

int ctl_cmd_abuse(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage("abuse list|log|hold|quarantine|restore ...");
	const char *sub = argv[0];
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	if (strcmp(sub, "list") == 0) {
		if (argc != 1 && !json)
			return ctl_usage("abuse list [--json]");
		return abuse_list(c, json);
	}
	if (strcmp(sub, "log") == 0) {
		const char *name = NULL;
		json = false;
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0)
				json = true;
			else if (name == NULL && argv[i][0] != '-')
				name = argv[i];
			else
				return ctl_usage("abuse log [NAME] [--json]");
		}
		return abuse_log(c, name, json);
	}
	if (strcmp(sub, "hold") == 0)
		return abuse_set(c, STORE_ABUSE_HOLD, argc - 1, argv + 1);
	if (strcmp(sub, "quarantine") == 0)
		return abuse_set(c, STORE_ABUSE_QUARANTINED, argc - 1, argv + 1);
	if (strcmp(sub, "restore") == 0)
		return abuse_set(c, STORE_ABUSE_OK, argc - 1, argv + 1);
	return ctl_usage("abuse list|log|hold|quarantine|restore ...");
}
