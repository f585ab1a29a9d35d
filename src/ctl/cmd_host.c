/* SPDX-License-Identifier: MIT */
/* nameplatectl init and host commands. Each change runs in one transaction that also
 * writes history and bumps the zone serial; the running daemon sees the commit through
 * PRAGMA data_version and reloads, so no signal is needed. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "account/credential.h"
#include "common/secret.h"
#include "common/str.h"
#include "common/clock.h"
#include "ctl/ctl.h"
#include "store/abuse.h"
#include "zone/zonefile.h"

/* ---- init ---- */

int ctl_cmd_init(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("init takes no arguments");
	if (secret_lib_init() != NP_OK) {
		ctl_err("cannot initialise libsodium");
		return CTL_FAIL;
	}
	int ret = store_open(c->cfg->data_dir, true, &c->st);
	if (ret != NP_OK) {
		ctl_err("cannot create the store in %s: %s", c->cfg->data_dir, np_strerror(ret));
		return CTL_FAIL;
	}
	ret = store_begin(c->st);
	if (ret != NP_OK)
		goto fail;
	if (store_admin_is_set(c->st)) {
		store_rollback(c->st);
		ctl_err("%s is already initialised (the admin secret was shown then)",
		        c->cfg->data_dir);
		return CTL_FAIL;
	}
	for (unsigned i = 0; i < c->cfg->n_zones && ret == NP_OK; i++) {
		uint32_t serial;
		ret = store_zone_serial(c->st, c->cfg->zones[i].name, &serial);
	}
	char secret[SECRET_TEXT_LEN + 1];
	uint8_t hash[SECRET_HASH_LEN];
	secret_generate(secret);
	secret_hash(secret, strlen(secret), hash);
	if (ret == NP_OK)
		ret = store_admin_set(c->st, hash);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		goto fail;
	}
	printf("initialised %s with %u zone%s\n", c->cfg->data_dir, c->cfg->n_zones,
	       c->cfg->n_zones == 1 ? "" : "s");
	printf("admin secret: %s\n", secret);
	printf("store it now: it is kept only as a hash and will not be shown again\n");
	memset(secret, 0, sizeof(secret));
	return CTL_OK;
fail:
	ctl_err("init failed: %s", ret == NP_EEXIST ? "already initialised" : np_strerror(ret));
	return CTL_FAIL;
}

/* ---- host ---- */

/* A new update secret of a host: a token of its owner scoped to that one name (every record
 * type, from anywhere, no expiry), replacing the host's earlier one. secret gets its text. */
static int host_token(struct ctl *c, int64_t user_id, const char *fqdn,
                      char secret[SECRET_TEXT_LEN + 1])
{
	struct store_token t;
	credential_token_new(&t, user_id, STORE_TOKEN_HOST, secret);
	np_strlcpy(t.name, fqdn, sizeof(t.name));
	np_strlcpy(t.names, fqdn, sizeof(t.names));
	int ret = store_token_del_host(c->st, fqdn);
	if (ret == NP_OK)
		ret = store_token_add(c->st, &t);
	explicit_bzero(&t, sizeof(t));
	return ret;
}

/* Current addresses of a host as text, for history. */
static int host_addrs(struct ctl *c, int64_t id, char *out, size_t outlen)
{
	static struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	size_t n;
	int ret = store_records_get(c->st, id, rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret == NP_OK)
		ctl_addrs(rrs, n, out, outlen);
	return ret;
}

/* Opens the write transaction of a command on an existing host: loads it and its current
 * addresses (for the history row). NP_ENOTFOUND has been reported and rolled back. */
static int begin_on_host(struct ctl *c, const char *fqdn, struct store_host *h, char *addrs,
			 size_t addrs_len)
{
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_host_get(c->st, fqdn, h);
	if (ret == NP_ENOTFOUND) {
		store_rollback(c->st);
		ctl_err("no host %s", fqdn);
		return ret;
	}
	if (ret == NP_OK)
		ret = host_addrs(c, h->id, addrs, addrs_len);
	return ret;
}

static int host_add(struct ctl *c, int argc, char **argv)
{
	const char *fqdn_arg = NULL, *user = NULL;
	bool wildcard = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--wildcard") == 0)
			wildcard = true;
		else if (argv[i][0] != '-' && fqdn_arg == NULL)
			fqdn_arg = argv[i];
		else
			return ctl_usage("host add FQDN --user NAME [--wildcard]");
	}
	if (fqdn_arg == NULL || user == NULL)
		return ctl_usage("host add FQDN --user NAME [--wildcard]");

	struct store_host h;
	memset(&h, 0, sizeof(h));
	if (!ctl_host_name(fqdn_arg, h.fqdn, sizeof(h.fqdn)))
		return CTL_FAIL;
	const struct cfg_zone *cz = config_zone_for(c->cfg, h.fqdn);
	if (cz == NULL) {
		ctl_err("%s is not under a configured zone", h.fqdn);
		return CTL_FAIL;
	}
	np_strlcpy(h.zone, cz->name, sizeof(h.zone));
	h.wildcard = wildcard;
	if (secret_lib_init() != NP_OK || ctl_open(c) != CTL_OK)
		return CTL_FAIL;

	char secret[SECRET_TEXT_LEN + 1];
	int64_t id;
	int ret = store_begin(c->st);
	if (ret != NP_OK)
		goto fail;
	ret = store_user_id(c->st, user, &h.user_id);
	if (ret == NP_ENOTFOUND) {
		store_rollback(c->st);
		ctl_err("no user %s", user);
		return CTL_FAIL;
	}
	if (ret == NP_OK)
		ret = store_host_add(c->st, &h, &id);
	if (ret == NP_EEXIST) {
		store_rollback(c->st);
		ctl_err("host %s exists", h.fqdn);
		return CTL_FAIL;
	}
	if (ret == NP_OK)
		ret = host_token(c, h.user_id, h.fqdn, secret);
	if (ret == NP_OK)
		ret = ctl_host_changed(c, id, h.fqdn, h.zone, "", "");
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK)
		goto fail;
	printf("host %s added for user %s%s\n", h.fqdn, user, wildcard ? " (wildcard)" : "");
	printf("update secret (shown only now):\n%s\n", secret);
	memset(secret, 0, sizeof(secret));
	return CTL_OK;
fail:
	store_rollback(c->st);
	ctl_err("host add: %s", np_strerror(ret));
	return CTL_FAIL;
}

static int print_host(const struct store_host *h, const struct store_rr *rrs, size_t n, void *ctx)
{
	(void)ctx;
	char addrs[1024];
	ctl_addrs(rrs, n, addrs, sizeof(addrs));
	char flags[64] = "";
	size_t o = 0;
	const struct {
		bool on;
		const char *name;
	} f[] = {{h->wildcard, "wildcard"},
	         {h->offline, "offline"},
	         {h->blocked, "blocked"},
	         {h->user_id == 0, "noowner"}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].on)
			o += (size_t)snprintf(flags + o, sizeof(flags) - o, "%s%s", o ? "," : "",
			                      f[i].name);
	printf("%s\t%s\t%s\t%s\n", h->fqdn, h->user[0] != '\0' ? h->user : "-",
	       addrs[0] != '\0' ? addrs : "-", o > 0 ? flags : "-");
	return 0;
}

/* Runs one change on an existing host inside a transaction with history and serial bump. */
enum host_op { OP_DEL, OP_SECRET, OP_BLOCK, OP_UNBLOCK };

static int host_change(struct ctl *c, enum host_op op, const char *fqdn_arg)
{
	char fqdn[CFG_NAME_MAX];
	if (!ctl_host_name(fqdn_arg, fqdn, sizeof(fqdn)))
		return CTL_FAIL;
	if ((op == OP_SECRET && secret_lib_init() != NP_OK) || ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	struct store_host h;
	char addrs[1024] = "";
	char secret[SECRET_TEXT_LEN + 1];
	int ret = begin_on_host(c, fqdn, &h, addrs, sizeof(addrs));
	if (ret == NP_ENOTFOUND)
		return CTL_FAIL;
	if (ret != NP_OK)
		goto fail;
	switch (op) {
	case OP_DEL:
		/* History first: it keeps the host's id, which the delete frees. */
		ret = ctl_host_changed(c, h.id, h.fqdn, h.zone, addrs, "");
		if (ret == NP_OK)
			ret = store_token_del_host(c->st, fqdn);
		if (ret == NP_OK)
			ret = store_host_del(c->st, fqdn);
		break;
	case OP_SECRET: {
		if (h.user_id == 0) {
			store_rollback(c->st);
			ctl_err("host %s has no owner, so it cannot be updated; re-import it with "
			        "--user or delete it and use 'host add'",
			        fqdn);
			return CTL_FAIL;
		}
		ret = host_token(c, h.user_id, h.fqdn, secret);
		if (ret == NP_OK)
			ret = ctl_host_changed(c, h.id, h.fqdn, h.zone, addrs, addrs);
		break;
	}
	case OP_BLOCK:
	case OP_UNBLOCK: {
		/* A block is the abuse state hold (store/abuse.h), logged like every change. */
		char actor[STORE_ABUSE_ACTOR_MAX];
		ctl_actor(actor, sizeof(actor));
		ret = store_abuse_set_state(c->st, h.id,
		                            op == OP_BLOCK ? STORE_ABUSE_HOLD : STORE_ABUSE_OK, actor,
		                            op == OP_BLOCK ? "host block" : "host unblock",
		                            time_now(), NULL);
		if (ret == NP_OK)
			ret = ctl_host_changed(c, h.id, h.fqdn, h.zone, addrs, addrs);
		break;
	}
	}
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK)
		goto fail;
	switch (op) {
	case OP_DEL:
		printf("host %s deleted\n", fqdn);
		break;
	case OP_SECRET:
		printf("new update secret for host %s (the old one no longer works; shown only "
		       "now):\n%s\n",
		       fqdn, secret);
		memset(secret, 0, sizeof(secret));
		break;
	case OP_BLOCK:
		printf("host %s blocked: its updates are refused with 'abuse'\n", fqdn);
		break;
	case OP_UNBLOCK:
		printf("host %s unblocked\n", fqdn);
		break;
	}
	return CTL_OK;
fail:
	store_rollback(c->st);
	ctl_err("host %s: %s", fqdn, np_strerror(ret));
	return CTL_FAIL;
}

/* host set FQDN TYPE [VALUE...]: each VALUE is one record in master-file syntax (TXT values
 * are taken as one string each). Parsed by the zone-file reader, so the rules are the same
 * as for an import. */
struct set_ctx {
	struct store_rr rrs[ZONE_MAX_RRS_PER_TYPE];
	size_t n;
	uint16_t type;
};

static int set_collect(const struct zonefile_rr *rr, void *arg)
{
	struct set_ctx *s = arg;
	if (rr->type != s->type || s->n == ZONE_MAX_RRS_PER_TYPE)
		return NP_EINVAL;
	struct store_rr *o = &s->rrs[s->n++];
	o->type = rr->type;
	o->ttl = rr->ttl;
	o->rdlen = rr->rdlen;
	memcpy(o->rdata, rr->rdata, rr->rdlen);
	return NP_OK;
}

static int host_set(struct ctl *c, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage("host set FQDN TYPE [VALUE...]");
	char fqdn[CFG_NAME_MAX];
	if (!ctl_host_name(argv[0], fqdn, sizeof(fqdn)))
		return CTL_FAIL;
	const struct cfg_zone *cz = config_zone_for(c->cfg, fqdn);
	if (cz == NULL) {
		ctl_err("%s is not under a configured zone", fqdn);
		return CTL_FAIL;
	}
	static struct set_ctx s;
	const char *tname = argv[1];
	if (strcasecmp(tname, "A") == 0)
		s.type = DNS_TYPE_A;
	else if (strcasecmp(tname, "AAAA") == 0)
		s.type = DNS_TYPE_AAAA;
	else if (strcasecmp(tname, "MX") == 0)
		s.type = DNS_TYPE_MX;
	else if (strcasecmp(tname, "TXT") == 0)
		s.type = DNS_TYPE_TXT;
	else
		return ctl_usage("host set: TYPE is A, AAAA, MX or TXT");

	/* One master-file line per value; TXT values are quoted with \" and \\ escaped. */
	char text[8192];
	size_t o = 0;
	for (int i = 2; i < argc; i++) {
		int w = snprintf(text + o, sizeof(text) - o, "%s. %u IN %s ", fqdn, cz->ttl, tname);
		if (w < 0 || (size_t)w >= sizeof(text) - o)
			goto too_long;
		o += (size_t)w;
		bool quote = s.type == DNS_TYPE_TXT;
		if (quote)
			text[o++] = '"';
		for (const char *p = argv[i]; *p != '\0'; p++) {
			if (o + 6 >= sizeof(text))
				goto too_long;
			if (*p == '\n' || *p == ';' || *p == '(' || *p == ')') {
				if (!quote) {
					ctl_err("bad value '%s'", argv[i]);
					return CTL_FAIL;
				}
			}
			if (quote && (*p == '"' || *p == '\\'))
				text[o++] = '\\';
			if (quote && (unsigned char)*p < 0x20)
				o += (size_t)snprintf(text + o, sizeof(text) - o, "\\%03u",
				                      (unsigned char)*p);
			else
				text[o++] = *p;
		}
		if (quote)
			text[o++] = '"';
		if (o + 2 >= sizeof(text))
			goto too_long;
		text[o++] = '\n';
	}
	char err[512];
	s.n = 0;
	int ret = zonefile_parse_mem(text, o, "value", cz->name, cz->ttl, set_collect, &s, err,
	                             sizeof(err));
	if (ret != NP_OK) {
		if (ret == NP_EINVAL)
			ctl_err("more than %d values", ZONE_MAX_RRS_PER_TYPE);
		else
			ctl_err("bad %s value: %s", tname, err);
		return CTL_FAIL;
	}
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	struct store_host h;
	char old[1024] = "", new[1024] = "";
	ret = begin_on_host(c, fqdn, &h, old, sizeof(old));
	if (ret == NP_ENOTFOUND)
		return CTL_FAIL;
	if (ret == NP_OK)
		ret = store_records_set(c->st, h.id, s.type, s.rrs, s.n);
	if (ret == NP_OK)
		ret = host_addrs(c, h.id, new, sizeof(new));
	if (ret == NP_OK)
		ret = ctl_host_changed(c, h.id, h.fqdn, h.zone, old, new);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		ctl_err("host set %s: %s", fqdn, np_strerror(ret));
		return CTL_FAIL;
	}
	printf("host %s: %zu %s record%s\n", fqdn, s.n, tname, s.n == 1 ? "" : "s");
	return CTL_OK;
too_long:
	ctl_err("values too long");
	return CTL_FAIL;
}

int ctl_cmd_host(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage("host add|list|del|secret|block|unblock|set ...");
	const char *sub = argv[0];
	if (strcmp(sub, "add") == 0)
		return host_add(c, argc - 1, argv + 1);
	if (strcmp(sub, "set") == 0)
		return host_set(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0) {
		if (argc != 1)
			return ctl_usage("host list");
		if (ctl_open(c) != CTL_OK)
			return CTL_FAIL;
		int ret = store_foreach_host_records(c->st, NULL, print_host, NULL);
		if (ret != NP_OK) {
			ctl_err("host list: %s", np_strerror(ret));
			return CTL_FAIL;
		}
		return CTL_OK;
	}
	static const struct {
		const char *name;
		enum host_op op;
	} ops[] = {
	    {"del", OP_DEL}, {"secret", OP_SECRET}, {"block", OP_BLOCK}, {"unblock", OP_UNBLOCK}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(sub, ops[i].name) != 0)
			continue;
		if (argc != 2)
			return ctl_usage("host %s FQDN", sub);
		return host_change(c, ops[i].op, argv[1]);
	}
	return ctl_usage("unknown host command '%s'", sub);
}
