/* SPDX-License-Identifier: MIT */
/* The sensor's configuration: inih lexes the INI file, one schema table says what every key
 * of [sensor], [telnet], [http], [plain] and [darknet] means, and this file applies it. */
#include <ctype.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "observe/codec.h"
#include "sensor/sensor.h"

enum ssect { SS_NONE, SS_SENSOR, SS_TELNET, SS_HTTP, SS_PLAIN, SS_DARKNET, SS_COUNT };

static const char *const ssect_names[SS_COUNT] = {"",     "sensor", "telnet",
                                                  "http", "plain",  "darknet"};

enum stype {
	ST_UINT,     /* unsigned within [min, max] */
	ST_STR,      /* a bounded one-line string, may be empty */
	ST_PATH,     /* a non-empty path, resolved against the config file's directory */
	ST_URL,      /* an http:// or https:// base URL without user info */
	ST_LOGLEVEL, /* error|warning|info|debug */
	ST_LISTEN,   /* repeatable ADDR:PORT */
	ST_CIDRS,    /* repeatable space/comma separated prefixes */
	ST_IFNAME,   /* a network interface name */
};

#define SO_REQUIRED 0x01
#define SO_REPEAT   0x02

struct sopt {
	enum ssect sect;
	const char *key;
	enum stype type;
	uint32_t min, max;
	const char *def;
	size_t off, size;   /* the field; for lists the array and its element size */
	size_t count_off;   /* lists: offset of the unsigned count */
	unsigned max_items; /* lists: capacity */
	unsigned flags;
};

#define F(m) offsetof(struct sensor_cfg, m), sizeof(((struct sensor_cfg *)0)->m)

/* clang-format off */
static const struct sopt sopts[] = {
	{SS_SENSOR, "server", ST_URL, 0, 0, NULL, F(server), 0, 0, SO_REQUIRED},
	{SS_SENSOR, "token_file", ST_PATH, 0, 0, NULL, F(token_file), 0, 0, SO_REQUIRED},
	{SS_SENSOR, "spool_dir", ST_PATH, 0, 0, "/var/lib/nameplate-sensor", F(spool_dir), 0, 0, 0},
	{SS_SENSOR, "user", ST_STR, 0, 0, "", F(user), 0, 0, 0},
	{SS_SENSOR, "batch_interval", ST_UINT, 1, 3600, "2", F(batch_interval), 0, 0, 0},
	{SS_SENSOR, "batch_max", ST_UINT, 1, OBS_BATCH_MAX_EVENTS, "5000", F(batch_max), 0, 0, 0},
	{SS_SENSOR, "spool_max_mb", ST_UINT, 1, 1048576, "256", F(spool_max_mb), 0, 0, 0},
	{SS_SENSOR, "research", ST_CIDRS, 0, 0, NULL, offsetof(struct sensor_cfg, research),
	 sizeof(struct np_cidr), offsetof(struct sensor_cfg, n_research), CFG_MAX_RESEARCH,
	 SO_REPEAT},
	{SS_SENSOR, "log_level", ST_LOGLEVEL, 0, 0, "info", F(log_level), 0, 0, 0},
	{SS_TELNET, "listen", ST_LISTEN, 0, 0, NULL, offsetof(struct sensor_cfg, listen[SVC_TELNET]),
	 sizeof(struct cfg_listen), offsetof(struct sensor_cfg, n_listen[SVC_TELNET]),
	 SENSOR_MAX_LISTEN, SO_REPEAT},
	{SS_HTTP, "listen", ST_LISTEN, 0, 0, NULL, offsetof(struct sensor_cfg, listen[SVC_HTTP]),
	 sizeof(struct cfg_listen), offsetof(struct sensor_cfg, n_listen[SVC_HTTP]),
	 SENSOR_MAX_LISTEN, SO_REPEAT},
	{SS_PLAIN, "listen", ST_LISTEN, 0, 0, NULL, offsetof(struct sensor_cfg, listen[SVC_PLAIN]),
	 sizeof(struct cfg_listen), offsetof(struct sensor_cfg, n_listen[SVC_PLAIN]),
	 SENSOR_MAX_LISTEN, SO_REPEAT},
	{SS_DARKNET, "interface", ST_IFNAME, 0, 0, NULL, F(interface), 0, 0, SO_REQUIRED},
	{SS_DARKNET, "addresses", ST_CIDRS, 0, 0, NULL, offsetof(struct sensor_cfg, addresses),
	 sizeof(struct np_cidr), offsetof(struct sensor_cfg, n_addresses), SENSOR_MAX_NETS,
	 SO_REPEAT},
};
/* clang-format on */
#undef F

_Static_assert(ARRAY_SIZE(sopts) <= 64, "the seen bitmask holds 64 rows");

struct sctx {
	struct sensor_cfg *cfg;
	FILE *f;
	unsigned line;
	enum ssect sect;
	bool key_in_sect;
	unsigned sect_line[SS_COUNT]; /* header line of each section, 0 = absent */
	uint64_t seen;                /* rows seen anywhere */
	unsigned token_line;
	bool failed;
	unsigned err_line;
	char *err;
	size_t errlen;
};

static void fail(struct sctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct sctx *c, const char *fmt, ...)
{
	if (c->failed)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->failed = true;
	c->err_line = c->line > 0 ? c->line : 1;
	snprintf(c->err, c->errlen, "%s:%u: %s", c->cfg->path, c->err_line, msg);
}

static int opt_apply(struct sctx *c, const struct sopt *o, const char *val, char *why,
                     size_t whylen)
{
	char *base = (char *)c->cfg;
	char *field = base + o->off;
	uint32_t u;

	switch (o->type) {
	case ST_UINT:
		if (str_to_u32(val, o->min, o->max, &u) != NP_OK) {
			snprintf(why, whylen, "must be %u..%u", o->min, o->max);
			return NP_EINVAL;
		}
		*(unsigned *)field = u;
		return NP_OK;
	case ST_STR:
		if (str_has_ctl(val) || np_strlcpy(field, val, o->size) >= o->size) {
			snprintf(why, whylen, "must be one line of at most %zu characters",
			         o->size - 1);
			return NP_EINVAL;
		}
		return NP_OK;
	case ST_PATH:
		if (val[0] == '\0' || str_has_ctl(val)) {
			snprintf(why, whylen, "must be a path");
			return NP_EINVAL;
		}
		if (config_path_resolve(c->cfg->path, val, field, o->size) != NP_OK) {
			snprintf(why, whylen, "path too long");
			return NP_EINVAL;
		}
		return NP_OK;
	case ST_URL: {
		size_t n = strlen(val);
		while (n > 0 && val[n - 1] == '/')
			n--; /* "http://h:8053/" and "http://h:8053" are the same base */
		/* No query either: the batch path is appended, and the token goes in a header. */
		if (!config_http_url_ok(val) || strpbrk(val, "?#") != NULL || n >= o->size) {
			snprintf(why, whylen,
			         "must be an http:// or https:// URL without user info or query");
			return NP_EINVAL;
		}
		memcpy(field, val, n);
		field[n] = '\0';
		return NP_OK;
	}
	case ST_LOGLEVEL:
		if (config_log_level(val, (int *)field) != NP_OK) {
			snprintf(why, whylen, "must be error, warning, info or debug");
			return NP_EINVAL;
		}
		return NP_OK;
	case ST_IFNAME: {
		size_t n = strlen(val);
		if (n == 0 || n >= IFNAMSIZ || strpbrk(val, "/ \t:") != NULL || str_has_ctl(val) ||
		    strcmp(val, ".") == 0 || strcmp(val, "..") == 0) {
			snprintf(why, whylen, "must be a network interface name");
			return NP_EINVAL;
		}
		memcpy(field, val, n + 1);
		return NP_OK;
	}
	case ST_LISTEN: {
		unsigned *count = (unsigned *)(base + o->count_off);
		if (*count >= o->max_items) {
			snprintf(why, whylen, "more than %u addresses", o->max_items);
			return NP_EINVAL;
		}
		struct cfg_listen *l = (struct cfg_listen *)field + *count;
		if (sockaddr_parse(val, ':', &l->addr, &l->len) != NP_OK ||
		    np_strlcpy(l->text, val, sizeof(l->text)) >= sizeof(l->text)) {
			snprintf(why, whylen, "must be ADDR:PORT or [V6ADDR]:PORT");
			return NP_EINVAL;
		}
		for (unsigned s = 0; s < SVC_COUNT; s++) {
			for (unsigned i = 0; i < c->cfg->n_listen[s]; i++) {
				const struct cfg_listen *x = &c->cfg->listen[s][i];
				if (x->len == l->len && memcmp(&x->addr, &l->addr, l->len) == 0) {
					snprintf(why, whylen, "%s is already a listen address",
					         val);
					return NP_EINVAL;
				}
			}
		}
		(*count)++;
		return NP_OK;
	}
	case ST_CIDRS: {
		unsigned *count = (unsigned *)(base + o->count_off);
		struct np_cidr *list = (struct np_cidr *)field;
		const char *p = val;
		unsigned items = 0;
		for (;;) {
			p += strspn(p, " \t,");
			if (*p == '\0')
				break;
			size_t n = strcspn(p, " \t,");
			char buf[64];
			if (n >= sizeof(buf) || *count >= o->max_items) {
				snprintf(why, whylen,
				         n >= sizeof(buf) ? "bad prefix" : "more than %u prefixes",
				         o->max_items);
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
	}
	return NP_EINVAL;
}

static void section_begin(struct sctx *c, const char *s, size_t len)
{
	char text[64];
	str_trim(&s, &len);
	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, s, len);
	text[len] = '\0';
	c->sect = SS_NONE;
	c->key_in_sect = false;
	for (int i = 1; i < SS_COUNT; i++) {
		if (strcmp(text, ssect_names[i]) != 0)
			continue;
		if (c->sect_line[i] != 0) {
			fail(c, "duplicate section [%s] (first on line %u)", text, c->sect_line[i]);
			return;
		}
		c->sect_line[i] = c->line;
		c->sect = (enum ssect)i;
		return;
	}
	fail(c, "unknown section [%s]", text);
}

static char *cfg_reader(char *str, int num, void *stream)
{
	struct sctx *c = stream;
	const char *header;
	size_t header_len;
	bool too_long;
	if (c->failed)
		return NULL;
	char *ret = config_read_line(str, num, c->f, &c->line, c->key_in_sect, &too_long, &header,
	                             &header_len);
	if (too_long) {
		fail(c, "line longer than %d characters", num - 3);
		return NULL;
	}
	if (header != NULL)
		section_begin(c, header, header_len);
	return ret;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct sctx *c = user;
	(void)section; /* the reader tracks sections, with line numbers */
	if (c->failed)
		return 0;
	c->key_in_sect = true;
	if (c->sect == SS_NONE) {
		fail(c, "key '%s' outside of any section", name);
		return 0;
	}
	size_t i;
	for (i = 0; i < ARRAY_SIZE(sopts); i++)
		if (sopts[i].sect == c->sect && strcmp(sopts[i].key, name) == 0)
			break;
	if (i == ARRAY_SIZE(sopts)) {
		fail(c, "unknown key '%s' in [%s]", name, ssect_names[c->sect]);
		return 0;
	}
	const struct sopt *o = &sopts[i];
	uint64_t bit = UINT64_C(1) << i;
	if ((c->seen & bit) != 0 && (o->flags & SO_REPEAT) == 0) {
		fail(c, "duplicate key '%s' in [%s]", name, ssect_names[c->sect]);
		return 0;
	}
	c->seen |= bit;
	if (strcmp(name, "token_file") == 0)
		c->token_line = c->line;
	char why[256];
	why[0] = '\0';
	if (opt_apply(c, o, value, why, sizeof(why)) != NP_OK) {
		fail(c, "bad value for '%s': %s", name, why);
		return 0;
	}
	return 1;
}

/* Reads the token file: one line "NAME:SECRET", refused when group or others can read it
 * (the token lets anyone feed this sensor's observations into the check). */
static void read_token(struct sctx *c)
{
	struct sensor_cfg *cfg = c->cfg;
	char buf[SENSOR_TOKEN_MAX + 2];
	c->line = c->token_line;
	int fd = open(cfg->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		fail(c, "cannot open token file %s: %m", cfg->token_file);
		return;
	}
	struct stat sb;
	size_t n = 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fail(c, "token file %s is not a regular file", cfg->token_file);
		goto out;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		fail(c, "token file %s is readable by others (chmod 600)", cfg->token_file);
		goto out;
	}
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r < 0) {
			fail(c, "cannot read token file %s: %m", cfg->token_file);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	const char *colon = memchr(buf, ':', n);
	if (n >= SENSOR_TOKEN_MAX || colon == NULL || memchr(buf, '\0', n) != NULL ||
	    !name_ok(buf, (size_t)(colon - buf)) || colon[1] == '\0' || str_has_ctl(buf) ||
	    strpbrk(colon + 1, " \t") != NULL) {
		fail(c,
		     "token file %s must hold one line NAME:SECRET (from nameplatectl sensor "
		     "add)",
		     cfg->token_file);
		goto out;
	}
	memcpy(cfg->token, buf, n + 1);
out:
	memset(buf, 0, sizeof(buf));
	close(fd);
}

int sensor_config_load(const char *path, struct sensor_cfg *cfg, char *err, size_t errlen)
{
	int ret = NP_EINVAL;
	struct sctx c;
	memset(&c, 0, sizeof(c));
	memset(cfg, 0, sizeof(*cfg));
	if (errlen > 0)
		err[0] = '\0';
	if (np_strlcpy(cfg->path, path, sizeof(cfg->path)) >= sizeof(cfg->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return NP_EINVAL;
	}
	c.cfg = cfg;
	c.err = err;
	c.errlen = errlen;
	char why[256];
	for (size_t i = 0; i < ARRAY_SIZE(sopts); i++)
		if (sopts[i].def != NULL &&
		    opt_apply(&c, &sopts[i], sopts[i].def, why, sizeof(why)) != NP_OK)
			abort(); /* a broken schema row: an internal invariant */

	c.f = fopen(path, "re");
	if (c.f == NULL) {
		snprintf(err, errlen, "%s: %m", path);
		return NP_EINVAL;
	}
	int r = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
	bool read_error = ferror(c.f) != 0;
	fclose(c.f);
	if (read_error && !c.failed) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (r > 0 && (!c.failed || (unsigned)r < c.err_line)) {
		snprintf(err, errlen, "%s:%d: syntax error", path, r);
		goto out;
	}
	if (r < 0 && !c.failed) {
		snprintf(err, errlen, "%s: cannot parse", path);
		goto out;
	}
	if (c.failed)
		goto out;

	/* Whole-file checks. */
	if (c.sect_line[SS_SENSOR] == 0) {
		c.line = 1;
		fail(&c, "missing section [sensor]");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sopts); i++) {
		const struct sopt *o = &sopts[i];
		if ((o->flags & SO_REQUIRED) != 0 && c.sect_line[o->sect] != 0 &&
		    (c.seen & (UINT64_C(1) << i)) == 0) {
			c.line = c.sect_line[o->sect];
			fail(&c, "missing '%s' in [%s]", o->key, ssect_names[o->sect]);
			goto out;
		}
	}
	for (int s = SS_TELNET; s <= SS_PLAIN; s++) {
		if (c.sect_line[s] != 0 && cfg->n_listen[s - SS_TELNET] == 0) {
			c.line = c.sect_line[s];
			fail(&c, "[%s] needs at least one 'listen'", ssect_names[s]);
			goto out;
		}
	}
	if (cfg->n_listen[SVC_TELNET] + cfg->n_listen[SVC_HTTP] + cfg->n_listen[SVC_PLAIN] == 0 &&
	    cfg->interface[0] == '\0') {
		c.line = c.sect_line[SS_SENSOR];
		fail(&c, "nothing to observe: configure [telnet], [http], [plain] or [darknet]");
		goto out;
	}
	int n = snprintf(cfg->url, sizeof(cfg->url), "%s/api/v1/sensor/batch", cfg->server);
	if (n < 0 || (size_t)n >= sizeof(cfg->url)) {
		fail(&c, "server URL too long");
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
