/* SPDX-License-Identifier: MIT */
/* nameplatectl sensor add|list|del: the tokens sensors push their batches with. Only a keyed
 * hash of a token's secret is stored; the token itself is shown once, at creation. */
#include <stdio.h>
#include <string.h>

#include "common/secret.h"
#include "common/str.h"
#include "ctl/ctl.h"

#define SENSOR_USAGE "sensor add NAME | sensor list | sensor del NAME"

static int sensor_add(struct ctl *c, const char *name)
{
	if (!name_ok(name, strlen(name))) {
		ctl_err("bad sensor name '%s': use [a-z0-9][a-z0-9._-]{0,62}", name);
		return CTL_FAIL;
	}
	if (secret_lib_init() != NP_OK || ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	char secret[SECRET_TEXT_LEN + 1];
	uint8_t hash[SECRET_HASH_LEN];
	secret_generate(secret);
	secret_hash(secret, strlen(secret), hash);
	int64_t id;
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_sensor_add(c->st, name, hash, &id);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		memset(secret, 0, sizeof(secret));
		if (ret == NP_EEXIST)
			ctl_err("sensor %s exists (del it first to issue a new token)", name);
		else
			ctl_err("sensor add: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	fprintf(stderr,
	        "sensor %s added; its token is shown only now: put it in the sensor's "
	        "token_file (chmod 600)\n",
	        name);
	printf("%s:%s\n", name, secret);
	memset(secret, 0, sizeof(secret));
	return CTL_OK;
}

static int print_sensor(const struct store_sensor *s, void *ctx)
{
	(void)ctx;
	char created[32], seen[32];
	ctl_time(s->created, created, sizeof(created));
	ctl_time(s->last_seen, seen, sizeof(seen));
	printf("%s\t%s\t%s\n", s->name, created, seen);
	return 0;
}

static int sensor_del(struct ctl *c, const char *name)
{
	if (!name_ok(name, strlen(name))) {
		ctl_err("bad sensor name '%s'", name);
		return CTL_FAIL;
	}
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_sensor_del(c->st, name);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		if (ret == NP_ENOTFOUND)
			ctl_err("no sensor %s", name);
		else
			ctl_err("sensor del: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	printf("sensor %s deleted: its token no longer works\n", name);
	return CTL_OK;
}

int ctl_cmd_sensor(struct ctl *c, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[0], "add") == 0)
		return sensor_add(c, argv[1]);
	if (argc == 2 && strcmp(argv[0], "del") == 0)
		return sensor_del(c, argv[1]);
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if (ctl_open(c) != CTL_OK)
			return CTL_FAIL;
		printf("NAME\tCREATED\tLAST SEEN\n");
		int ret = store_sensor_list(c->st, print_sensor, NULL);
		if (ret != NP_OK) {
			ctl_err("sensor list: %s", np_strerror(ret));
			return CTL_FAIL;
		}
		return CTL_OK;
	}
	return ctl_usage(SENSOR_USAGE);
}
