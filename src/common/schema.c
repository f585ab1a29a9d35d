/* SPDX-License-Identifier: MIT */
/* The config-schema engine: one line reader, one section tracker, one key handler and one
 * error format for the three config files (see schema.h). */
#include "common/schema.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/str.h"

_Static_assert(SCHEMA_MAX_ROWS <= 128, "key_line (rows x sections) stays a few tens of KiB");

void schema_fail(struct schema_ctx *c, const char *fmt, ...)
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
	snprintf(c->err, c->errlen, "%s:%u: %s", c->path, c->err_line, msg);
}

/* Applies the defaults of every row of sect to base. Defaults are known-good text. */
static void apply_defaults(struct schema_ctx *c, unsigned sect, void *base)
{
	char why[256];
	for (size_t i = 0; i < c->s->n_rows; i++) {
		const struct schema_row *r = &c->s->rows[i];
		if (r->sect == sect && r->def != NULL &&
		    r->parse(c, r, base, r->def, why, sizeof(why)) != NP_OK)
			abort(); /* a broken schema row: an internal invariant */
	}
}

void schema_init(struct schema_ctx *c, const struct schema *s, const char *path, void *root,
                 char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (s->n_sects > SCHEMA_MAX_SECTS || s->n_rows > SCHEMA_MAX_ROWS ||
	    s->max_named > SCHEMA_MAX_NAMED)
		abort(); /* a schema larger than the engine's tables: an internal invariant */
	c->s = s;
	c->path = path;
	c->root = root;
	c->err = err;
	c->errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	for (unsigned sect = 1; sect < s->n_sects; sect++)
		if (sect != s->named)
			apply_defaults(c, sect, root);
}

/* A "[NAME ARG]" header of the repeatable section; arg is trimmed on the right. */
static void named_begin(struct schema_ctx *c, const char *arg)
{
	const struct schema *s = c->s;
	const char *what = s->sects[s->named];
	while (isspace((unsigned char)*arg))
		arg++;
	if (c->n_named >= s->max_named) {
		schema_fail(c, "more than %u %ss", s->max_named, what);
		return;
	}
	char name[CFG_NAME_MAX];
	if (s->named_check(arg, name, sizeof(name)) != NP_OK) {
		schema_fail(c, "bad %s name '%s': %s", what, arg, s->named_bad);
		return;
	}
	for (unsigned i = 0; i < c->n_named; i++) {
		if (strcmp((const char *)c->named_base[i] + s->named_name_off, name) == 0) {
			schema_fail(c, "duplicate %s '%s' (first on line %u)", what, name,
			            c->named_line[i]);
			return;
		}
	}
	unsigned i = c->n_named++;
	c->named_base[i] = s->named_open(c, i, name);
	c->named_line[i] = c->line;
	apply_defaults(c, s->named, c->named_base[i]);
	c->sect = s->named;
	c->base = c->named_base[i];
	c->inst = i + 1;
}

/* A section header line: one of the plain sections, or the named one. */
static void section_begin(struct schema_ctx *c, const char *s, size_t len)
{
	char text[CFG_NAME_MAX + 16];
	str_trim(&s, &len);
	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, s, len);
	text[len] = '\0';
	c->sect = 0;
	c->base = NULL;
	c->inst = 0;
	c->key_in_sect = false;

	for (unsigned i = 1; i < c->s->n_sects; i++) {
		if (i == c->s->named || strcmp(text, c->s->sects[i]) != 0)
			continue;
		if (c->sect_line[i] != 0) {
			schema_fail(c, "duplicate section [%s] (first on line %u)", text,
			            c->sect_line[i]);
			return;
		}
		c->sect = i;
		c->sect_line[i] = c->line;
		c->base = c->root;
		return;
	}
	if (c->s->named != 0) {
		const char *what = c->s->sects[c->s->named];
		size_t n = strlen(what);
		if (strncmp(text, what, n) == 0 && isspace((unsigned char)text[n])) {
			named_begin(c, text + n + 1);
			return;
		}
	}
	schema_fail(c, "unknown section [%s]", text);
}

/* Reads one line into str, counts it, refuses one longer than num - 3 characters (*too_long,
 * NULL), skips a UTF-8 BOM, and points *header at the name of a "[section]" line (not at an
 * indented one that follows a key: inih reads that as a continuation). NULL at the end. */
static char *read_line(char *str, int num, FILE *f, unsigned *line, bool key_in_sect,
                       bool *too_long, const char **header, size_t *header_len)
{
	*too_long = false;
	*header = NULL;
	if (fgets(str, num, f) == NULL)
		return NULL;
	(*line)++;
	size_t len = strlen(str);
	if (len > 0 && str[len - 1] != '\n' && !feof(f)) {
		*too_long = true;
		return NULL;
	}
	const char *p = str;
	if (*line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	const char *start = p;
	while (*p == ' ' || *p == '\t')
		p++;
	/* inih reads an indented line after a key as that key's continuation, not a header. */
	if (*p == '[' && !(p > start && key_in_sect)) {
		const char *end = strchr(p, ']');
		if (end != NULL) {
			*header = p + 1;
			*header_len = (size_t)(end - p - 1);
		}
	}
	return str;
}

/* inih's line source. Lines are counted here because inih's handler gets no line number
 * in Debian's build; seeing the headers here also counts empty sections. Returning NULL
 * ends the parse, which is how the first error stops it. */
static char *reader(char *str, int num, void *stream)
{
	struct schema_ctx *c = stream;
	const char *header;
	size_t header_len;
	bool too_long;
	if (c->failed)
		return NULL;
	char *ret =
	    read_line(str, num, c->f, &c->line, c->key_in_sect, &too_long, &header, &header_len);
	if (too_long) {
		schema_fail(c, "line longer than %d characters", num - 3);
		return NULL;
	}
	if (header != NULL)
		section_begin(c, header, header_len);
	return ret;
}

static const char *sect_label(const struct schema_ctx *c, char *buf, size_t len)
{
	if (c->sect == c->s->named)
		snprintf(buf, len, "[%s %s]", c->s->sects[c->sect],
		         (const char *)c->base + c->s->named_name_off);
	else
		snprintf(buf, len, "[%s]", c->s->sects[c->sect]);
	return buf;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct schema_ctx *c = user;
	const struct schema *s = c->s;
	char where[CFG_NAME_MAX + 16];
	(void)section; /* the reader tracks sections, with line numbers */
	if (c->failed)
		return 0;
	c->key_in_sect = true;
	if (c->sect == 0) {
		schema_fail(c, "key '%s' outside of any section", name);
		return 0;
	}
	size_t i;
	for (i = 0; i < s->n_rows; i++)
		if (s->rows[i].sect == c->sect && strcmp(s->rows[i].key, name) == 0)
			break;
	if (i == s->n_rows) {
		schema_fail(c, "unknown key '%s' in %s", name, sect_label(c, where, sizeof(where)));
		return 0;
	}
	const struct schema_row *r = &s->rows[i];
	unsigned *line = &c->key_line[c->inst][i];
	if (*line != 0 && (r->flags & SCHEMA_REPEAT) == 0) {
		schema_fail(c, "duplicate key '%s' in %s", name,
		            sect_label(c, where, sizeof(where)));
		return 0;
	}
	*line = c->line;
	if (s->on_key != NULL)
		s->on_key(c, name, value);
	char why[512];
	why[0] = '\0';
	if (r->parse(c, r, c->base, value, why, sizeof(why)) != NP_OK) {
		/* A no-op when the parser has reported already. */
		schema_fail(c, "bad value for '%s': %s", name, why);
		return 0;
	}
	return 1;
}

int schema_parse(struct schema_ctx *c)
{
	const char *path = c->path;
	c->f = fopen(path, "re");
	if (c->f == NULL) {
		snprintf(c->err, c->errlen, "%s: %m", path);
		return NP_EINVAL;
	}
	int ret = ini_parse_stream(reader, c, handler, c);
	bool read_error = ferror(c->f) != 0;
	fclose(c->f);
	c->f = NULL;
	if (read_error && !c->failed) {
		snprintf(c->err, c->errlen, "%s: read error", path);
		return NP_EINVAL;
	}
	/* inih reports the first bad line; ours stops the parse at the first error, so an
	 * earlier line from inih is a syntax error it found before (handler not called). */
	if (ret > 0 && (!c->failed || (unsigned)ret < c->err_line)) {
		snprintf(c->err, c->errlen, "%s:%d: syntax error", path, ret);
		return NP_EINVAL;
	}
	if (ret < 0 && !c->failed) {
		snprintf(c->err, c->errlen, "%s: cannot parse", path);
		return NP_EINVAL;
	}
	return c->failed ? NP_EINVAL : NP_OK;
}

void schema_check_required(struct schema_ctx *c)
{
	const struct schema *s = c->s;
	unsigned eof_line = c->line;
	for (size_t i = 0; i < s->n_rows && !c->failed; i++) {
		const struct schema_row *r = &s->rows[i];
		if ((r->flags & (SCHEMA_REQUIRED | SCHEMA_REQUIRED_IF_SECT)) == 0)
			continue;
		if (r->sect == s->named) {
			for (unsigned k = 0; k < c->n_named && !c->failed; k++) {
				if (c->key_line[k + 1][i] != 0)
					continue;
				c->line = c->named_line[k];
				schema_fail(c, "missing '%s' in [%s %s]", r->key, s->sects[r->sect],
				            (const char *)c->named_base[k] + s->named_name_off);
			}
			continue;
		}
		if (c->key_line[0][i] != 0)
			continue;
		if (c->sect_line[r->sect] == 0 && (r->flags & SCHEMA_REQUIRED) == 0)
			continue;
		c->line = c->sect_line[r->sect] != 0 ? c->sect_line[r->sect] : eof_line;
		schema_fail(c, "missing '%s' in [%s]", r->key, s->sects[r->sect]);
	}
}

unsigned schema_key_line(const struct schema_ctx *c, const void *base, const char *key)
{
	const struct schema *s = c->s;
	unsigned inst = 0;
	if (base != c->root) {
		while (inst < c->n_named && c->named_base[inst] != base)
			inst++;
		if (inst == c->n_named)
			abort(); /* not an instance of this parse: an internal invariant */
		inst++;
	}
	for (size_t i = 0; i < s->n_rows; i++) {
		const struct schema_row *r = &s->rows[i];
		if ((r->sect == s->named) == (inst != 0) && strcmp(r->key, key) == 0)
			return c->key_line[inst][i];
	}
	abort(); /* a key name not in the schema: an internal invariant */
}

int schema_uint(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                char *why, size_t whylen)
{
	(void)c;
	uint32_t u;
	if (str_to_u32(val, r->min, r->max, &u) != NP_OK) {
		snprintf(why, whylen, "must be %u..%u", r->min, r->max);
		return NP_EINVAL;
	}
	*(unsigned *)schema_field(r, base) = u;
	return NP_OK;
}

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "schema_uint writes unsigned and uint32_t");

int schema_str(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
               char *why, size_t whylen)
{
	(void)c;
	if (np_strlcpy(schema_field(r, base), val, r->size) >= r->size) {
		snprintf(why, whylen, "longer than %zu characters", r->size - 1);
		return NP_EINVAL;
	}
	return NP_OK;
}

int schema_loglevel(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                    char *why, size_t whylen)
{
	(void)c;
	if (config_log_level(val, (int *)schema_field(r, base)) != NP_OK) {
		snprintf(why, whylen, "must be error, warning, info or debug");
		return NP_EINVAL;
	}
	return NP_OK;
}

int schema_name(struct schema_ctx *c, const struct schema_row *r, void *base, const char *val,
                char *why, size_t whylen)
{
	(void)c;
	if (config_name_check(val, schema_field(r, base), r->size) != NP_OK) {
		snprintf(why, whylen, "must be a domain name");
		return NP_EINVAL;
	}
	return NP_OK;
}

void *schema_list_next(const struct schema_row *r, void *base, const char *what, char *why,
                       size_t whylen)
{
	unsigned count = *schema_count(r, base);
	if (count >= r->max_count) {
		snprintf(why, whylen, "more than %u %s", r->max_count, what);
		return NULL;
	}
	return (char *)schema_field(r, base) + (size_t)count * r->size;
}
