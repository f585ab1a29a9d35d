/* SPDX-License-Identifier: MIT */
/* The config-schema engine of the three config files (nameplated's, the client's and the
 * sensor's). inih lexes the INI file; the caller's table of rows says what every key of
 * every section means (parser, range, default, field); this engine counts lines, tracks
 * sections and keys, applies the rows and reports the first error as "file:line: message".
 * Each binary keeps only its table, the parsers of its own value types, and the checks
 * across keys that run after the parse. */
#ifndef NP_COMMON_SCHEMA_H
#define NP_COMMON_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

#define SCHEMA_MAX_SECTS 12 /* sections of one file, [0] included */
#define SCHEMA_MAX_NAMED 64 /* instances of the repeatable [NAME ARG] section */
#define SCHEMA_MAX_ROWS  96

/* Row flags. */
/* May appear more than once in its section (lists). */
#define SCHEMA_REPEAT 0x01
/* Must appear: in its section, and in every instance of the named section. A plain
 * section that is missing altogether is reported at the last line of the file. */
#define SCHEMA_REQUIRED 0x02
/* Must appear when its (optional) section does. */
#define SCHEMA_REQUIRED_IF_SECT 0x04
/* The first flag bit left to the caller's own use. */
#define SCHEMA_USER 0x100

struct schema_ctx;
struct schema_row;

/* Parses val into the row's field inside base (the config itself for a plain section, the
 * instance for the named one). Returns NP_OK, or NP_EINVAL with why set (the engine
 * reports "bad value for 'KEY': why"), or after reporting itself with schema_fail. */
typedef int schema_parse_fn(struct schema_ctx *c, const struct schema_row *r, void *base,
                            const char *val, char *why, size_t whylen);

/* One row per key. Defaults are text run through the same parser as file values. */
struct schema_row {
	unsigned sect; /* index into the schema's section names */
	const char *key;
	schema_parse_fn *parse;
	uint32_t min, max;  /* schema_uint's range */
	const char *def;    /* NULL: no default (zeroed) */
	size_t off;         /* the field (lists: the array) */
	size_t size;        /* the field's size (lists: one element's) */
	size_t off_count;   /* lists: the unsigned element count */
	unsigned max_count; /* lists: capacity */
	unsigned flags;
};

struct schema {
	const char *const *sects; /* section names; [0] is "" (before the first header) */
	unsigned n_sects;
	const struct schema_row *rows;
	size_t n_rows;
	/* The one repeatable section, "[zone NAME]" or "[host FQDN]"; named = 0: none. */
	unsigned named;
	unsigned max_named;    /* its capacity: "more than 64 zones" */
	size_t named_name_off; /* where an instance keeps its checked name */
	const char *named_bad; /* why a name is refused: "must be a domain name" */
	/* Checks and normalises the section's argument into out (CFG_NAME_MAX bytes). */
	int (*named_check)(const char *in, char *out, size_t outlen);
	/* Clears instance i, stores name in it and returns it; the engine then applies the
	 * section's defaults to it. */
	void *(*named_open)(struct schema_ctx *c, unsigned i, const char *name);
	/* Optional: sees every key = value in file order, before it is parsed. */
	void (*on_key)(struct schema_ctx *c, const char *key, const char *val);
};

/* Parser state; the caller embeds it (container_of reaches the caller's own state). */
struct schema_ctx {
	const struct schema *s;
	const char *path; /* the config file, as named in messages */
	void *root;       /* the config: base of the plain sections' rows */
	FILE *f;          /* open while parsing */
	unsigned line;    /* the line being parsed; set it before schema_fail to point elsewhere */
	unsigned sect;    /* the current section */
	void *base;       /* the current section's base: root or the named instance */
	unsigned inst;    /* key-line slot of the current section: 0, or instance + 1 */
	bool key_in_sect; /* inih reads indented lines after a key as its continuation */
	unsigned sect_line[SCHEMA_MAX_SECTS]; /* header line of each plain section; 0 = absent */
	unsigned n_named;
	void *named_base[SCHEMA_MAX_NAMED];
	unsigned named_line[SCHEMA_MAX_NAMED];
	/* Line of the last occurrence of each row: slot 0 for the plain sections (each appears
	 * at most once), slot i + 1 for named instance i; 0 = not seen. */
	unsigned key_line[SCHEMA_MAX_NAMED + 1][SCHEMA_MAX_ROWS];
	bool failed;
	unsigned err_line;
	char *err;
	size_t errlen;
};

/* Prepares c to parse path into root and applies the plain sections' defaults. path must
 * live as long as c (the config's own copy of it). */
void schema_init(struct schema_ctx *c, const struct schema *s, const char *path, void *root,
                 char *err, size_t errlen);
/* Reads and applies the file. NP_OK, or NP_EINVAL with err set ("file:line: message",
 * "file:line: syntax error", "file: read error", "file: <strerror>"). */
int schema_parse(struct schema_ctx *c) np_mustcheck;
/* Records the first error as "file:line: message" at c->line; later ones are ignored. */
void schema_fail(struct schema_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the first missing SCHEMA_REQUIRED(_IF_SECT) row, in table order. */
void schema_check_required(struct schema_ctx *c);
/* The line where key was last set in the section whose base is base; 0 = never. */
unsigned schema_key_line(const struct schema_ctx *c, const void *base, const char *key);

/* Parsers of the value types every file shares. */
schema_parse_fn schema_uint;     /* unsigned (or uint32_t) within [min, max] */
schema_parse_fn schema_str;      /* a string of at most size - 1 characters */
schema_parse_fn schema_loglevel; /* error|warning|info|debug -> LOG_* into an int */
schema_parse_fn schema_name;     /* a domain name, lowercase, without the trailing dot */

/* A row's field and, for lists, its count. */
static inline void *schema_field(const struct schema_row *r, void *base)
{
	return (char *)base + r->off;
}

static inline unsigned *schema_count(const struct schema_row *r, void *base)
{
	return (unsigned *)((char *)base + r->off_count);
}

/* The next free entry (r->size bytes) of list row r, or NULL with why set ("more than N
 * WHAT") when it is full. The parser counts the entry in (schema_count) once it is valid. */
void *schema_list_next(const struct schema_row *r, void *base, const char *what, char *why,
                       size_t whylen);

#endif
