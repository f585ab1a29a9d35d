/* SPDX-License-Identifier: MIT */
/* The sensor's configuration: the schema table of [sensor], [telnet], [http], [plain] and
 * [darknet], the parsers of the sensor's own value types and the checks across sections;
 * the schema engine (common/schema.c) reads the file. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/macros.h"
#include "common/schema.h"
#include "common/secret.h"
#include "common/str.h"
#include "observe/codec.h"
#include "sensor/sensor.h"

enum ssect { SS_NONE, SS_SENSOR, SS_TELNET, SS_HTTP, SS_PLAIN, SS_DARKNET, SS_COUNT };

static const char *const ssect_names[SS_COUNT] = {"",     "sensor", "telnet",
                                                  "http", "plain",  "darknet"};

static schema_parse_fn parse_str, parse_path, parse_url, parse_listen, parse_cidrs, parse_ifname;

#define F(m) offsetof(struct sensor_cfg, m), sizeof(((struct sensor_cfg *)0)->m), 0, 0
/* A list: the array, one element's size, the count and the capacity. */
#define L(array, count, cap)                                                                       \
	offsetof(struct sensor_cfg, array), sizeof(((struct sensor_cfg *)0)->array[0]),            \
	    offsetof(struct sensor_cfg, count), cap

/* Every section is optional but [sensor] (checked apart); a key marked so is required in
 * its section when the section is there. */
#define REQ SCHEMA_REQUIRED_IF_SECT
#define REP SCHEMA_REPEAT

/* clang-format off */
static const struct schema_row sopts[] = {
	{SS_SENSOR, "server", parse_url, 0, 0, NULL, F(server), REQ},
	{SS_SENSOR, "token_file", parse_path, 0, 0, NULL, F(token_file), REQ},
	{SS_SENSOR, "spool_dir", parse_path, 0, 0, "/var/lib/nameplate-sensor", F(spool_dir), 0},
	{SS_SENSOR, "user", parse_str, 0, 0, "", F(user), 0},
	{SS_SENSOR, "batch_interval", schema_uint, 1, 3600, "2", F(batch_interval), 0},
	{SS_SENSOR, "batch_max", schema_uint, 1, OBS_BATCH_MAX_EVENTS, "5000", F(batch_max), 0},
	{SS_SENSOR, "spool_max_mb", schema_uint, 1, 1048576, "256", F(spool_max_mb), 0},
	{SS_SENSOR, "research", parse_cidrs, 0, 0, NULL,
	 L(research, n_research, CFG_MAX_RESEARCH), REP},
	{SS_SENSOR, "log_level", schema_loglevel, 0, 0, "info", F(log_level), 0},
	{SS_TELNET, "listen", parse_listen, 0, 0, NULL,
	 L(listen[SVC_TELNET], n_listen[SVC_TELNET], SENSOR_MAX_LISTEN), REP},
	{SS_HTTP, "listen", parse_listen, 0, 0, NULL,
	 L(listen[SVC_HTTP], n_listen[SVC_HTTP], SENSOR_MAX_LISTEN), REP},
	{SS_PLAIN, "listen", parse_listen, 0, 0, NULL,
	 L(listen[SVC_PLAIN], n_listen[SVC_PLAIN], SENSOR_MAX_LISTEN), REP},
	{SS_DARKNET, "interface", parse_ifname, 0, 0, NULL, F(interface), REQ},
	{SS_DARKNET, "addresses", parse_cidrs, 0, 0, NULL,
	 L(addresses, n_addresses, SENSOR_MAX_NETS), REP},
};
/* clang-format on */
#undef F
#undef L

_Static_assert(ARRAY_SIZE(sopts) <= SCHEMA_MAX_ROWS, "the engine holds SCHEMA_MAX_ROWS rows");

static const struct schema sensor_file = {
    .sects = ssect_names,
    .n_sects = SS_COUNT,
    .rows = sopts,
    .n_rows = ARRAY_SIZE(sopts),
};

static int parse_str(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                     char *why, size_t whylen)
{
	(void)c;
	if (str_has_ctl(val) || np_strlcpy(schema_field(r, base), val, r->size) >= r->size) {
		snprintf(why, whylen, "must be one line of at most %zu characters", r->size - 1);
		return NP_EINVAL;
	}
	return NP_OK;
}

/* A non-empty path, relative to the config file's directory. */
static int parse_path(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                      char *why, size_t whylen)
{
	if (val[0] == '\0' || str_has_ctl(val)) {
		snprintf(why, whylen, "must be a path");
		return NP_EINVAL;
	}
	if (config_path_resolve(c->path, val, schema_field(r, base), r->size) != NP_OK) {
		snprintf(why, whylen, "path too long");
		return NP_EINVAL;
	}
	return NP_OK;
}

/* The server's base URL, without user info or query. */
static int parse_url(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                     char *why, size_t whylen)
{
	(void)c;
	char *field = schema_field(r, base);
	size_t n = strlen(val);
	while (n > 0 && val[n - 1] == '/')
		n--; /* "http://h:8053/" and "http://h:8053" are the same base */
	/* No query either: the batch path is appended, and the token goes in a header. */
	if (!config_http_url_ok(val) || strpbrk(val, "?#") != NULL || n >= r->size) {
		snprintf(why, whylen,
		         "must be an http:// or https:// URL without user info or query");
		return NP_EINVAL;
	}
	memcpy(field, val, n);
	field[n] = '\0';
	return NP_OK;
}

static int parse_ifname(struct schema_ctx *c, const struct schema_row *r, void *base,
                        const char *val, char *why, size_t whylen)
{
	(void)c;
	size_t n = strlen(val);
	if (n == 0 || n >= IFNAMSIZ || strpbrk(val, "/ \t:") != NULL || str_has_ctl(val) ||
	    strcmp(val, ".") == 0 || strcmp(val, "..") == 0) {
		snprintf(why, whylen, "must be a network interface name");
		return NP_EINVAL;
	}
	memcpy(schema_field(r, base), val, n + 1);
	return NP_OK;
}

/* ADDR:PORT of one service; an address serves one service only. */
static int parse_listen(struct schema_ctx *c, const struct schema_row *r, void *base,
                        const char *val, char *why, size_t whylen)
{
	const struct sensor_cfg *cfg = c->root;
	unsigned *count = schema_count(r, base);
	struct cfg_listen *l = schema_list_next(r, base, "addresses", why, whylen);
	if (l == NULL)
		return NP_EINVAL;
	if (sockaddr_parse(val, ':', &l->addr, &l->len) != NP_OK ||
	    np_strlcpy(l->text, val, sizeof(l->text)) >= sizeof(l->text)) {
		snprintf(why, whylen, "must be ADDR:PORT or [V6ADDR]:PORT");
		return NP_EINVAL;
	}
	for (unsigned s = 0; s < SVC_COUNT; s++) {
		for (unsigned i = 0; i < cfg->n_listen[s]; i++) {
			const struct cfg_listen *x = &cfg->listen[s][i];
			if (x->len == l->len && memcmp(&x->addr, &l->addr, l->len) == 0) {
				snprintf(why, whylen, "%s is already a listen address", val);
				return NP_EINVAL;
			}
		}
	}
	(*count)++;
	return NP_OK;
}

/* A space or comma separated list of prefixes, added to the row's list. */
static int parse_cidrs(struct schema_ctx *c, const struct schema_row *r, void *base,
                       const char *val, char *why, size_t whylen)
{
	(void)c;
	unsigned *count = schema_count(r, base);
	struct np_cidr *list = schema_field(r, base);
	const char *p = val;
	unsigned items = 0;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		size_t n = strcspn(p, " \t,");
		char buf[64];
		if (n >= sizeof(buf) || *count >= r->max_count) {
			snprintf(why, whylen,
			         n >= sizeof(buf) ? "bad prefix" : "more than %u prefixes",
			         r->max_count);
			return NP_EINVAL;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (cidr_parse(buf, &list[*count]) != NP_OK) {
			snprintf(why, whylen, "bad prefix '%s' (ADDR/LEN)", buf);
			return NP_EINVAL;
		}
		(*count)++;
		items++;
		p += n;
	}
	if (items == 0) {
		snprintf(why, whylen, "must list at least one prefix");
		return NP_EINVAL;
	}
	return NP_OK;
}

/* Reads the token file: one line "NAME:SECRET" (the token lets anyone feed this sensor's
 * observations into the check, so the file passes the rule of secret files). */
static void read_token(struct schema_ctx *c)
{
	static const char form[] = "one line NAME:SECRET (from nameplatectl sensor add)";
	struct sensor_cfg *cfg = c->root;
	char buf[SENSOR_TOKEN_MAX + 2], why[PATH_MAX + 128];
	size_t n = 0;
	c->line = schema_key_line(c, cfg, "token_file");
	if (secret_file_read(cfg->token_file, "token file", form, buf, sizeof(buf), &n, why,
	                     sizeof(why)) != NP_OK) {
		schema_fail(c, "%s", why);
		return;
	}
	const char *colon = memchr(buf, ':', n);
	if (n >= SENSOR_TOKEN_MAX || colon == NULL || !name_ok(buf, (size_t)(colon - buf)) ||
	    colon[1] == '\0' || strpbrk(colon + 1, " \t") != NULL)
		schema_fail(c, "token file %s must hold %s", cfg->token_file, form);
	else
		memcpy(cfg->token, buf, n + 1);
	memset(buf, 0, sizeof(buf));
}

int sensor_config_load(const char *path, struct sensor_cfg *cfg, char *err, size_t errlen)
{
	int ret = NP_EINVAL;
	struct schema_ctx c;
	memset(cfg, 0, sizeof(*cfg));
	if (errlen > 0)
		err[0] = '\0';
	if (np_strlcpy(cfg->path, path, sizeof(cfg->path)) >= sizeof(cfg->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return NP_EINVAL;
	}
	schema_init(&c, &sensor_file, cfg->path, cfg, err, errlen);
	if (schema_parse(&c) != NP_OK)
		goto out;

	/* Whole-file checks. */
	if (c.sect_line[SS_SENSOR] == 0) {
		c.line = 1;
		schema_fail(&c, "missing section [sensor]");
		goto out;
	}
	schema_check_required(&c);
	if (c.failed)
		goto out;
	for (int s = SS_TELNET; s <= SS_PLAIN; s++) {
		if (c.sect_line[s] != 0 && cfg->n_listen[s - SS_TELNET] == 0) {
			c.line = c.sect_line[s];
			schema_fail(&c, "[%s] needs at least one 'listen'", ssect_names[s]);
			goto out;
		}
	}
	if (cfg->n_listen[SVC_TELNET] + cfg->n_listen[SVC_HTTP] + cfg->n_listen[SVC_PLAIN] == 0 &&
	    cfg->interface[0] == '\0') {
		c.line = c.sect_line[SS_SENSOR];
		schema_fail(&c,
		            "nothing to observe: configure [telnet], [http], [plain] or [darknet]");
		goto out;
	}
	int n = snprintf(cfg->url, sizeof(cfg->url), "%s/api/v1/sensor/batch", cfg->server);
	if (n < 0 || (size_t)n >= sizeof(cfg->url)) {
		schema_fail(&c, "server URL too long");
		goto out;
	}
	read_token(&c);
	if (!c.failed)
		ret = NP_OK;
out:
	if (ret != NP_OK)
		memset(cfg->token, 0, sizeof(cfg->token));
	return ret;
}
