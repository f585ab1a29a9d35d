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
#include "store/ticket.h"

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

/* Prints v (taken) as indented JSON. */
static int print_json(json_t *v)
{
	char *text = v != NULL ? json_dumps(v, JSON_INDENT(2)) : NULL;
	json_decref(v);
	if (text == NULL)
		return CTL_FAIL;
	puts(text);
	free(text);
	return CTL_OK;
}

static int print_row(const struct store_abuse *a, void *ctx)
{
	json_t *list = ctx;
	/* A suspended account's host shows as suspended; its own state comes back with the
	 * account. */
	const char *state = a->suspended ? "suspended" : store_abuse_state_name(a->state);
	char reasons[STORE_ABUSE_REASONS_MAX + 64];
	if (a->suspended)
		snprintf(reasons, sizeof(reasons), "account %s suspended%s%s", a->user,
		         a->state != STORE_ABUSE_OK ? "; the host itself: " : "",
		         a->state != STORE_ABUSE_OK ? store_abuse_state_name(a->state) : "");
	else
		np_strlcpy(reasons, a->reasons, sizeof(reasons));
	if (list != NULL) {
		json_t *features = json_loads(a->features, 0, NULL);
		json_t *o = json_pack(
		    "{s:s,s:s,s:s,s:f,s:s,s:o,s:I}", "name", a->fqdn, "owner", a->user, "state",
		    state, "score", a->score, "reasons", reasons, "features",
		    features != NULL ? features : json_object(), "scored", (json_int_t)a->scored);
		return o == NULL || json_array_append_new(list, o) != 0 ? NP_ENOMEM : 0;
	}
	printf("%-40s %-12s %-12s %8.2f  %s\n", a->fqdn, state, a->user[0] != '\0' ? a->user : "-",
	       a->score, reasons[0] != '\0' ? reasons : "-");
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
	return json ? print_json(list) : CTL_OK;
}

static int print_log(const struct store_abuse_log *l, void *ctx)
{
	json_t *list = ctx;
	if (list != NULL)
		return json_array_append_new(
		           list, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I}", "time",
		                           (json_int_t)l->time, "name", l->fqdn, "actor", l->actor,
		                           "from", store_abuse_state_name(l->old_state), "to",
		                           store_abuse_state_name(l->new_state), "reason", l->reason,
		                           "ticket", (json_int_t)l->ticket)) != 0
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
	return json ? print_json(list) : CTL_OK;
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

static json_t *ticket_json(const struct store_ticket *t)
{
	return json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "ticket", (json_int_t)t->id,
	                 "time", (json_int_t)t->time, "name", t->fqdn, "category", t->category,
	                 "evidence", t->evidence, "contact", t->contact, "source", t->source,
	                 "status", t->status, "decided", (json_int_t)t->decided, "decision",
	                 t->decision);
}

static int print_ticket(const struct store_ticket *t, void *ctx)
{
	json_t *list = ctx;
	if (list != NULL)
		return json_array_append_new(list, ticket_json(t)) != 0 ? NP_ENOMEM : 0;
	char when[32];
	ctl_time(t->time, when, sizeof(when));
	printf("%-7lld %-20s %-10s %-11s %-40s %s\n", (long long)t->id, when, t->status,
	       t->category, t->fqdn, t->contact[0] != '\0' ? t->contact : "-");
	return 0;
}

static int abuse_tickets(struct ctl *c, bool json)
{
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	json_t *list = json ? json_array() : NULL;
	if (!json)
		printf("%-7s %-20s %-10s %-11s %-40s %s\n", "TICKET", "TIME", "STATUS", "CATEGORY",
		       "NAME", "CONTACT");
	int ret = store_ticket_list(c->st, print_ticket, list);
	if (ret != NP_OK) {
		json_decref(list);
		ctl_err("abuse tickets: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	return json ? print_json(list) : CTL_OK;
}

/* A ticket number: digits alone (a host name of digits alone is given with its zone). */
static bool ticket_arg(const char *arg, int64_t *id)
{
	if (arg[0] == '\0' || strlen(arg) > 15 || strspn(arg, "0123456789") != strlen(arg))
		return false;
	*id = strtoll(arg, NULL, 10);
	return true;
}

static int abuse_show(struct ctl *c, const char *arg, bool json)
{
	int64_t id;
	if (!ticket_arg(arg, &id))
		return ctl_usage("abuse show TICKET [--json] (the ticket's number)");
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	struct store_ticket *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return CTL_FAIL;
	int ret = store_ticket_get(c->st, id, t);
	if (ret != NP_OK) {
		ctl_err(ret == NP_ENOTFOUND ? "no ticket %lld" : "abuse show %lld: cannot read it",
		        (long long)id);
		free(t);
		return CTL_FAIL;
	}
	if (json) {
		ret = print_json(ticket_json(t));
		free(t);
		return ret;
	}
	char when[32], decided[32] = "-";
	ctl_time(t->time, when, sizeof(when));
	if (t->decided != 0)
		ctl_time(t->decided, decided, sizeof(decided));
	printf("ticket:   %lld\nname:     %s\nreported: %s from %s\ncategory: %s\ncontact:  %s\n"
	       "status:   %s\ndecided:  %s %s\nevidence:\n%s\n",
	       (long long)t->id, t->fqdn, when, t->source, t->category,
	       t->contact[0] != '\0' ? t->contact : "-", t->status, decided, t->decision,
	       t->evidence);
	free(t);
	return CTL_OK;
}

/* A decision on a ticket in its own transaction (store_ticket_resolve). */
static int decide_ticket(struct ctl *c, int64_t id, int state, const char *actor,
                         const char *reason, struct store_ticket *t, bool *changed)
{
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_ticket_resolve(c->st, id, state, actor, reason, time_now(),
		                           ctl_host_touch, c, t, changed);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK)
		store_rollback(c->st);
	return ret;
}

int ctl_host_touch(void *ctx, const struct store_host *h)
{
	return ctl_host_changed(ctx, h->id, h->fqdn, h->zone, "", "");
}

int ctl_abuse_account(struct ctl *c, int64_t user_id, int state, const char *actor,
                      const char *reason, bool *changed)
{
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_abuse_account_state(c->st, user_id, state, actor, reason, time_now(),
		                                ctl_host_touch, c, changed);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK)
		store_rollback(c->st);
	return ret;
}

/* suspend USER / restore --user USER: the whole account. A restore moves only a suspended
 * account back to active (a locked one stays locked); its hosts keep their own states. */
static int abuse_account(struct ctl *c, bool suspend, const char *name, const char *actor,
                         const char *reason)
{
	struct store_user *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return CTL_FAIL;
	int ret = store_user_get(c->st, name, u);
	int64_t id = u->id;
	enum store_user_state was = u->state;
	explicit_bzero(u, sizeof(*u));
	free(u);
	if (ret == NP_ENOTFOUND) {
		ctl_err("no user %s", name);
		return CTL_FAIL;
	}
	if (ret == NP_OK && !suspend && was != STORE_USER_SUSPENDED) {
		printf("user %s is not suspended (%s): nothing to restore\n", name,
		       store_user_state_name(was));
		return CTL_OK;
	}
	bool changed = false;
	if (ret == NP_OK)
		ret = ctl_abuse_account(c, id, suspend ? STORE_USER_SUSPENDED : STORE_USER_ACTIVE,
		                        actor, reason, &changed);
	if (ret != NP_OK) {
		ctl_err("abuse %s %s: %s", suspend ? "suspend" : "restore", name, np_strerror(ret));
		return CTL_FAIL;
	}
	if (!changed)
		printf("user %s was already suspended\n", name);
	else if (suspend)
		printf("user %s suspended: its names answer as quarantined, it cannot sign in and "
		       "its tokens are refused\n",
		       name);
	else
		printf("user %s restored: its names answer again and it can sign in\n", name);
	return CTL_OK;
}

/* A ticket's decision; state -1: dismiss. */
static int abuse_ticket(struct ctl *c, int64_t ticket, int state, const char *verb,
                        const char *actor, const char *reason)
{
	struct store_ticket *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return CTL_FAIL;
	bool changed = false;
	int ret = decide_ticket(c, ticket, state, actor, reason, t, &changed);
	if (ret == NP_OK)
		printf("ticket %lld (%s): %s%s\n", (long long)ticket, t->fqdn, t->status,
		       t->contact[0] != '\0' ? "; the reporter is told by mail" : "");
	else if (ret == NP_ENOTFOUND)
		ctl_err("no ticket %lld, or its host is gone", (long long)ticket);
	else
		ctl_err("abuse %s %lld: %s", verb, (long long)ticket, np_strerror(ret));
	free(t);
	return ret == NP_OK ? CTL_OK : CTL_FAIL;
}

static int abuse_host(struct ctl *c, const char *fqdn, int state, const char *actor,
                      const char *reason)
{
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
	printf("host %s %s %s\n", fqdn, changed ? "is now" : "was already",
	       store_abuse_state_name(state));
	return CTL_OK;
}

#define DECIDE_USAGE                                                                               \
	"abuse hold|quarantine|restore|dismiss NAME|TICKET --reason TEXT, abuse suspend USER "     \
	"--reason TEXT, abuse restore --user USER --reason TEXT (the reason is logged and shown "  \
	"to the owner)"

/* Every operator decision: hold, quarantine, restore (a host, a ticket's host or, with
 * --user, an account), dismiss (a ticket), suspend (an account). state: the host state the
 * verb means (STORE_ABUSE_SUSPENDED for suspend, -1 for dismiss). */
static int abuse_decide(struct ctl *c, int state, const char *verb, int argc, char **argv)
{
	const char *arg = NULL, *reason = NULL;
	bool account = state == STORE_ABUSE_SUSPENDED;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc && arg == NULL &&
		         (state == STORE_ABUSE_OK || account)) {
			account = true;
			arg = argv[++i];
		} else if (argv[i][0] != '-' && arg == NULL)
			arg = argv[i];
		else
			return ctl_usage(DECIDE_USAGE);
	}
	if (arg == NULL || reason == NULL || reason[0] == '\0')
		return ctl_usage(DECIDE_USAGE);
	if (strlen(reason) >= STORE_ABUSE_REASONS_MAX - 32)
		return ctl_usage("--reason: at most %d characters", STORE_ABUSE_REASONS_MAX - 33);
	int64_t ticket = 0;
	bool is_ticket = !account && ticket_arg(arg, &ticket);
	if (state < 0 && !is_ticket)
		return ctl_usage("abuse dismiss TICKET --reason TEXT (a ticket's number)");
	char fqdn[CFG_NAME_MAX];
	if (!account && !is_ticket && !ctl_host_name(arg, fqdn, sizeof(fqdn)))
		return CTL_FAIL;
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	char actor[STORE_ABUSE_ACTOR_MAX];
	ctl_actor(actor, sizeof(actor));
	if (account)
		return abuse_account(c, state == STORE_ABUSE_SUSPENDED, arg, actor, reason);
	if (is_ticket)
		return abuse_ticket(c, ticket, state, verb, actor, reason);
	return abuse_host(c, fqdn, state, actor, reason);
}

#define ABUSE_USAGE "abuse list|log|tickets|show|hold|quarantine|suspend|restore|dismiss ..."

int ctl_cmd_abuse(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(ABUSE_USAGE);
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
	if (strcmp(sub, "tickets") == 0) {
		if (argc != 1 && !json)
			return ctl_usage("abuse tickets [--json]");
		return abuse_tickets(c, json);
	}
	if (strcmp(sub, "show") == 0) {
		json = argc == 3 && strcmp(argv[2], "--json") == 0;
		if (argc != 2 && !json)
			return ctl_usage("abuse show TICKET [--json]");
		return abuse_show(c, argv[1], json);
	}
	static const struct {
		const char *verb;
		int state;
	} decisions[] = {{"hold", STORE_ABUSE_HOLD},
	                 {"quarantine", STORE_ABUSE_QUARANTINED},
	                 {"restore", STORE_ABUSE_OK},
	                 {"dismiss", -1},
	                 {"suspend", STORE_ABUSE_SUSPENDED}};
	for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
		if (strcmp(sub, decisions[i].verb) == 0)
			return abuse_decide(c, decisions[i].state, sub, argc - 1, argv + 1);
	return ctl_usage(ABUSE_USAGE);
}
