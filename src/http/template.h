/* SPDX-License-Identifier: MIT */
/* HTML templates: a small subset of mustache that escapes every value by default.
 *
 * The templates are the files of templates/, compiled into the binary (http/embed.h) and
 * parsed once (tpl_init). Their syntax:
 *
 *   {{name}}              the value, HTML-escaped (tpl_escape), or the markup of a value
 *                         the C caller set with tpl_set_raw; nothing in a template can
 *                         turn escaping off ({{{name}}} and {{&name}} are errors)
 *   {{#name}}..{{/name}}  a list: the block once per row, with the row's names on top; a
 *                         nested object (tpl_set_obj): once, with its names on top; any
 *                         other value: once when it is true (a bool true, a non-empty text)
 *   {{^name}}..{{/name}}  the block once when name is missing, false, "" or an empty list
 *   {{! comment }}        nothing
 *
 * Names are [A-Za-z0-9_]{1,TPL_NAME_MAX}, without spaces inside the braces. A name is
 * looked up in the innermost row or object first, then outwards to the page's context. A
 * name found nowhere renders empty (a section: as false) and is counted by
 * tpl_missing_count(), which the unit tests check stays 0 for every page. An unclosed or
 * mismatched section, a bad tag or a nesting deeper than TPL_DEPTH_MAX is a parse error,
 * found by the unit test that parses every embedded template.
 *
 * A page: tpl_page() renders templates/<page> with the context, then templates/layout.html
 * around it (the shared frame: head, stylesheet, header and navigation), the page's markup
 * in the layout's {{main}}. The layout reads "title" from the page's context. */
#ifndef NP_HTTP_TEMPLATE_H
#define NP_HTTP_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

#define TPL_NAME_MAX  48
#define TPL_DEPTH_MAX 16

/* The Content-Security-Policy every page rendered from the templates is served with: the
 * templates hold no script, no inline style and no resource from elsewhere (a unit test
 * checks), so they need nothing but our own stylesheet (/static/). */
#define TPL_CSP "default-src 'none'; style-src 'self'; form-action 'self'"

/* ---- templates ---- */

struct tpl;

/* Parses a template from text[0..len). NULL on a malformed one, with why set to the line
 * and the reason ("line 3: section 'rows' is not closed"), or out of memory. */
struct tpl *tpl_parse(const char *text, size_t len, char *why, size_t whylen);
void tpl_free(struct tpl *t);

/* Parses every embedded template, once (later calls return the first result). NP_OK, or
 * NP_EMALFORMED with the template and the reason logged. nameplated calls it at start, so a
 * broken template stops it there; tpl_get calls it too. */
int tpl_init(void) np_mustcheck;
/* The embedded template with this file name ("check_form.html"); NULL when there is none or
 * tpl_init failed. Shared and read-only: any number of threads may render it at once. */
const struct tpl *tpl_get(const char *name);

/* ---- contexts ---- */

/* The names a template is rendered with: texts, raw markup, booleans, lists of rows and
 * nested objects. Values are copied. Setting a name again replaces its value. A setter that
 * fails (out of memory, a bad name) marks the whole context, and rendering it fails; the
 * setters take NULL (what tpl_add_row returns on failure) and do nothing. */
struct tpl_ctx;

struct tpl_ctx *tpl_ctx_new(void);
void tpl_ctx_free(struct tpl_ctx *c); /* the root only: rows and objects go with it */

/* Text, HTML-escaped when rendered. */
void tpl_set(struct tpl_ctx *c, const char *name, const char *text);
void tpl_setf(struct tpl_ctx *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tpl_set_int(struct tpl_ctx *c, const char *name, long long v);
void tpl_set_bool(struct tpl_ctx *c, const char *name, bool v);
/* Trusted markup, rendered as it is (an inline SVG, a page rendered by tpl_render). Only
 * for markup made by the program itself, never for anything a request or the store
 * brought. */
void tpl_set_raw(struct tpl_ctx *c, const char *name, const char *markup);
/* An empty list: {{#name}} shows nothing, {{^name}} its block. */
void tpl_set_list(struct tpl_ctx *c, const char *name);
/* Appends a row to the list name (made when absent) and returns it to fill; NULL on
 * failure. The row belongs to c. */
struct tpl_ctx *tpl_add_row(struct tpl_ctx *c, const char *name);
/* A nested object under name, returned to fill; NULL on failure. It belongs to c. */
struct tpl_ctx *tpl_set_obj(struct tpl_ctx *c, const char *name);
/* A table of n rows: the object name, returned to add its "rows" to; with no rows, name is
 * false ({{^name}} shows its block) and NULL is returned. */
struct tpl_ctx *tpl_set_table(struct tpl_ctx *c, const char *name, size_t n);

/* ---- rendering ---- */

/* Appends t rendered with c to out. NP_OK; NP_ENOMEM when c is marked failed; NP_ETOOBIG
 * when out failed (its max, or memory: out->err says it). */
int tpl_render(const struct tpl *t, const struct tpl_ctx *c, struct buf *out) np_mustcheck;
/* templates/<page> in templates/layout.html, as above, into out. The names "main" and
 * "stylesheet" are the layout's (the versioned URL of /static/style.css). Errors as
 * tpl_render's, and NP_ENOTFOUND when page or the layout is not embedded. */
int tpl_page(struct buf *out, const char *page, const struct tpl_ctx *c) np_mustcheck;

/* Appends s with & < > " ' ` = as character references: safe in text and in quoted
 * attribute values. */
void tpl_escape(struct buf *b, const char *s);

/* How many times, in this process, a template named something its context did not have. */
unsigned long tpl_missing_count(void);

#endif
