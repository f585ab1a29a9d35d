/* SPDX-License-Identifier: MIT */
/* The template renderer (escaping, sections, inverted and nested sections, raw values, missing
 * names, malformed templates), the embedded templates (every one parses and holds no script,
 * inline style or outside resource) and the embedded static files (/static/ lookups). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/embed.h"
#include "http/static.h"
#include "http/template.h"

/* Parses src (which must parse), renders it with c and returns the text (static buffer). */
static const char *render(const char *src, const struct tpl_ctx *c)
{
	static char out[4096];
	char why[160];
	struct tpl *t = tpl_parse(src, strlen(src), why, sizeof(why));
	if (t == NULL)
		fail_msg("%s: %s", src, why);
	struct buf b;
	buf_init(&b, sizeof(out) - 1);
	assert_int_equal(tpl_render(t, c, &b), NP_OK);
	snprintf(out, sizeof(out), "%s", b.p != NULL ? b.p : "");
	buf_free(&b);
	tpl_free(t);
	return out;
}

/* The reason src is refused ("" when it parses). */
static const char *refused(const char *src)
{
	static char why[160];
	struct tpl *t = tpl_parse(src, strlen(src), why, sizeof(why));
	if (t != NULL) {
		tpl_free(t);
		return "";
	}
	return why;
}

static void test_escape(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1024);
	tpl_escape(&b, "&<>\"'`=");
	assert_string_equal(b.p, "&amp;&lt;&gt;&quot;&#39;&#96;&#61;");
	buf_free(&b);
	buf_init(&b, 1024);
	tpl_escape(&b, "");
	tpl_escape(&b, "plain text, no entities / \xc3\xa9");
	assert_string_equal(b.p, "plain text, no entities / \xc3\xa9");
	buf_free(&b);

	/* Every value is escaped, in text and in attributes alike. */
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "v", "<script>alert('x')</script>\" onmouseover=\"a`b&c");
	assert_string_equal(render("<p title=\"{{v}}\">{{v}}</p>", c),
	                    "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot; "
	                    "onmouseover&#61;&quot;a&#96;b&amp;c\">&lt;script&gt;alert(&#39;x&#39;)"
	                    "&lt;/script&gt;&quot; onmouseover&#61;&quot;a&#96;b&amp;c</p>");
	/* Numbers and formatted text too. */
	tpl_set_int(c, "n", -42);
	tpl_setf(c, "f", "%s=%d", "<a>", 7);
	assert_string_equal(render("{{n}} {{f}}", c), "-42 &lt;a&gt;&#61;7");
	tpl_ctx_free(c);
}

static void test_raw_only_when_marked(void **state)
{
	(void)state;
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "text", "<svg><path d=\"M0\"/></svg>");
	tpl_set_raw(c, "icon", "<svg><path d=\"M0\"/></svg>");
	assert_string_equal(render("{{icon}}|{{text}}", c),
	                    "<svg><path d=\"M0\"/></svg>|&lt;svg&gt;&lt;path d&#61;&quot;M0&quot;/"
	                    "&gt;&lt;/svg&gt;");
	/* Setting a name again replaces the value, raw-ness included. */
	tpl_set(c, "icon", "<b>");
	assert_string_equal(render("{{icon}}", c), "&lt;b&gt;");
	tpl_ctx_free(c);

	/* Nothing in a template turns escaping off. */
	assert_non_null(strstr(refused("{{{text}}}"), "always escaped"));
	assert_non_null(strstr(refused("a {{&text}}"), "always escaped"));
}

static void test_sections(void **state)
{
	(void)state;
	struct tpl_ctx *c = tpl_ctx_new();
	for (int i = 1; i <= 3; i++)
		tpl_set_int(tpl_add_row(c, "rows"), "n", i);
	tpl_set_bool(c, "yes", true);
	tpl_set_bool(c, "no", false);
	tpl_set(c, "full", "x");
	tpl_set(c, "empty", "");
	tpl_set_list(c, "none");
	const char *src = "[{{#rows}}<{{n}}>{{/rows}}]"
	                  "[{{#yes}}Y{{/yes}}{{#no}}N{{/no}}]"
	                  "[{{#full}}F{{full}}{{/full}}{{#empty}}E{{/empty}}]"
	                  "[{{#none}}never{{/none}}]";
	assert_string_equal(render(src, c), "[<1><2><3>][Y][Fx][]");

	/* Inverted: shown for false, "", an empty list; not for true, text or rows. */
	assert_string_equal(render("{{^no}}a{{/no}}{{^empty}}b{{/empty}}{{^none}}c{{/none}}"
	                           "{{^yes}}X{{/yes}}{{^full}}X{{/full}}{{^rows}}X{{/rows}}",
	                           c),
	                    "abc");
	/* Comments vanish; text around tags stays as it is. */
	assert_string_equal(render("a{{! anything } here }}b\n{{#yes}}\nc\n{{/yes}}\n", c),
	                    "ab\n\nc\n\n");
	tpl_ctx_free(c);
}

static void test_nested(void **state)
{
	(void)state;
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "sep", ",");
	tpl_set(c, "name", "outer");
	const char *hosts[] = {"a", "b"};
	for (size_t i = 0; i < 2; i++) {
		struct tpl_ctx *h = tpl_add_row(c, "hosts");
		tpl_set(h, "name", hosts[i]);
		for (int j = 0; j < (int)i + 1; j++)
			tpl_set_int(tpl_add_row(h, "records"), "ttl", 60 * (j + 1));
		tpl_set_bool(h, "first", i == 0);
	}
	/* A row's names hide the outer ones; the outer ones are seen through (sep). */
	assert_string_equal(render("{{#hosts}}{{name}}:{{#records}}{{ttl}}{{sep}}{{/records}}"
	                           "{{#first}}*{{/first}};{{/hosts}}{{name}}",
	                           c),
	                    "a:60,*;b:60,120,;outer");
	/* An object: once, with its names on top. */
	struct tpl_ctx *acct = tpl_set_obj(c, "account");
	tpl_set(acct, "name", "alice");
	tpl_set_bool(acct, "admin", true);
	assert_string_equal(render("{{#account}}{{name}}{{#admin}} (admin){{/admin}}{{sep}}"
	                           "{{/account}}{{^account}}nobody{{/account}}",
	                           c),
	                    "alice (admin),");
	/* A table: an object with rows, or false without any. */
	const char *table = "{{#t}}{{#rows}}[{{v}}]{{/rows}}{{/t}}{{^t}}none{{/t}}";
	assert_null(tpl_set_table(c, "t", 0));
	assert_string_equal(render(table, c), "none");
	struct tpl_ctx *t = tpl_set_table(c, "t", 2);
	tpl_set(tpl_add_row(t, "rows"), "v", "1");
	tpl_set(tpl_add_row(t, "rows"), "v", "2");
	assert_string_equal(render(table, c), "[1][2]");
	tpl_ctx_free(c);

	/* Nesting up to TPL_DEPTH_MAX parses, one more does not. */
	char deep[1024], tail[1024];
	for (int i = 0; i < TPL_DEPTH_MAX; i++) {
		memcpy(deep + 6 * i, "{{#a}}", 6);
		memcpy(tail + 6 * i, "{{/a}}", 6);
	}
	deep[6 * TPL_DEPTH_MAX] = tail[6 * TPL_DEPTH_MAX] = '\0';
	char src[2100];
	snprintf(src, sizeof(src), "%s%s", deep, tail);
	assert_string_equal(refused(src), "");
	snprintf(src, sizeof(src), "%s{{^b}}{{/b}}%s", deep, tail);
	assert_non_null(strstr(refused(src), "nested deeper"));
}

static void test_missing_names(void **state)
{
	(void)state;
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "here", "h");
	unsigned long before = tpl_missing_count();
	assert_string_equal(render("<{{here}}>", c), "<h>");
	assert_int_equal(tpl_missing_count(), before);
	/* Missing: empty, a section false, an inverted one shown; each one counted. */
	assert_string_equal(render("<{{gone}}>{{#gone2}}X{{/gone2}}{{^gone3}}shown{{/gone3}}", c),
	                    "<>shown");
	assert_int_equal(tpl_missing_count(), before + 3);
	/* A name only inside a section that is not rendered is not looked up. */
	assert_string_equal(render("{{^here}}{{gone}}{{/here}}", c), "");
	assert_int_equal(tpl_missing_count(), before + 3);
	tpl_ctx_free(c);
}

static void test_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *src, *why;
	} bad[] = {
	    {"{{#a}}x", "line 1: section 'a' is not closed"},
	    {"x\n{{#a}}\n{{#b}}{{/b}}", "line 2: section 'a' is not closed"},
	    {"{{#a}}{{/b}}", "line 1: '{{/b}}' closes section 'a' of line 1"},
	    {"{{#a}}\n{{^b}}\n{{/a}}{{/b}}", "line 3: '{{/a}}' closes section 'b' of line 2"},
	    {"x{{/a}}", "line 1: '{{/a}}' closes no section"},
	    {"a\nb {{name", "line 2: '{{' without '}}'"},
	    {"{{}}", "line 1: '' is not a name"},
	    {"{{ name }}", "line 1: ' name ' is not a name"},
	    {"{{#}}{{/}}", "line 1: '' is not a name"},
	    {"{{>partial}}", "line 1: '>partial' is not a name"},
	    {"{{=<% %>=}}", "line 1: '=<% %>=' is not a name"},
	    {"{{a.b}}", "line 1: 'a.b' is not a name"},
	    {"{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}", "is not a name"}, /* 49 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = refused(bad[i].src);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s: got '%s', want '%s'", bad[i].src, why, bad[i].why);
	}
	/* And what is fine: braces that open no tag, an empty template, 48-character names. */
	assert_string_equal(refused("a { b } }} {x}"), "");
	assert_string_equal(refused(""), "");
	assert_string_equal(refused("{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}"), "");
}

static void test_context_failures(void **state)
{
	(void)state;
	/* A bad name in the C code fails the render rather than vanishing silently. */
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "not a name", "x");
	char why[64];
	struct tpl *t = tpl_parse("x", 1, why, sizeof(why));
	assert_non_null(t);
	struct buf b;
	buf_init(&b, 1024);
	assert_int_equal(tpl_render(t, c, &b), NP_ENOMEM);
	tpl_ctx_free(c);
	/* The setters take the NULL a failed tpl_add_row returns. */
	tpl_set(NULL, "a", "b");
	tpl_set_int(NULL, "a", 1);
	tpl_set_bool(NULL, "a", true);
	assert_null(tpl_add_row(NULL, "a"));
	/* A render larger than the buffer's ceiling fails. */
	c = tpl_ctx_new();
	tpl_set(c, "x", "0123456789");
	buf_free(&b);
	buf_init(&b, 8);
	struct tpl *t2 = tpl_parse("{{x}}", 5, why, sizeof(why));
	assert_int_equal(tpl_render(t2, c, &b), NP_ETOOBIG);
	buf_free(&b);
	tpl_free(t2);
	tpl_free(t);
	tpl_ctx_free(c);
}

/* Every embedded template parses, and keeps to what TPL_CSP allows: no script, no inline
 * style, nothing loaded from elsewhere. */
static void test_embedded_templates(void **state)
{
	(void)state;
	assert_int_equal(tpl_init(), NP_OK);
	assert_true(embed_templates_count >= 4);
	static const char *const banned[] = {
	    "<script",     "<style",  " style=", "javascript:", " on",   "src=\"http",
	    "href=\"http", "@import", "<iframe", "<object",     "<embed"};
	for (size_t i = 0; i < embed_templates_count; i++) {
		const struct embed_file *f = &embed_templates[i];
		char why[160];
		struct tpl *t = tpl_parse(f->data, f->len, why, sizeof(why));
		if (t == NULL)
			fail_msg("templates/%s: %s", f->name, why);
		tpl_free(t);
		assert_non_null(tpl_get(f->name));
		assert_int_equal(strlen(f->data), f->len);
		for (size_t j = 0; j < sizeof(banned) / sizeof(banned[0]); j++) {
			/* " on" as in onclick=: an attribute, so only inside a tag. */
			const char *p = f->data;
			while ((p = strstr(p, banned[j])) != NULL) {
				bool in_tag = memrchr(f->data, '<', (size_t)(p - f->data)) >
				              memrchr(f->data, '>', (size_t)(p - f->data));
				if (strcmp(banned[j], " on") != 0 || in_tag)
					fail_msg("templates/%s holds '%s'", f->name, banned[j]);
				p++;
			}
		}
	}
	assert_null(tpl_get("no-such.html"));
	assert_non_null(tpl_get("layout.html"));
}

static void test_page_in_layout(void **state)
{
	(void)state;
	unsigned long before = tpl_missing_count();
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "title", "A <title>");
	tpl_set(c, "text", "body & text");
	tpl_set_bool(c, "nav", false);
	struct buf b;
	buf_init(&b, 65536);
	assert_int_equal(tpl_page(&b, "check_message.html", c), NP_OK);
	assert_non_null(strstr(b.p, "<!DOCTYPE html>"));
	assert_non_null(strstr(b.p, "<html lang=\"en\">"));
	assert_non_null(strstr(b.p, "name=\"viewport\""));
	assert_non_null(strstr(b.p, "<title>A &lt;title&gt;</title>"));
	assert_non_null(strstr(b.p, "<p>body &amp; text</p>"));
	const char *main_at = strstr(b.p, "<main>"), *p_at = strstr(b.p, "<p>body");
	assert_non_null(main_at);
	assert_true(p_at > main_at && p_at < strstr(b.p, "</main>"));
	/* The stylesheet's URL names its checksum, so a new one is fetched at once. */
	const char *type = NULL;
	const struct embed_file *css = static_find("/static/style.css", &type);
	assert_non_null(css);
	char link[128];
	snprintf(link, sizeof(link), "href=\"/static/style.css?v&#61;%s\"", css->version);
	assert_non_null(strstr(b.p, link));
	assert_int_equal(tpl_missing_count(), before);
	buf_free(&b);
	buf_init(&b, 65536);
	assert_int_equal(tpl_page(&b, "no-such.html", c), NP_ENOTFOUND);
	buf_free(&b);
	tpl_ctx_free(c);
}

static void test_static_files(void **state)
{
	(void)state;
	const char *type = NULL;
	const struct embed_file *f = static_find("/static/style.css", &type);
	assert_non_null(f);
	assert_string_equal(type, "text/css; charset=utf-8");
	assert_true(f->len > 0 && strlen(f->data) == f->len);
	/* Nothing from elsewhere: no fonts, imports or images by URL. */
	assert_null(strstr(f->data, "@import"));
	assert_null(strstr(f->data, "url("));
	static const char *const none[] = {
	    "/static/",
	    "/static",
	    "/static/../style.css",
	    "/static//style.css",
	    "/static/style.css/",
	    "/static/./style.css",
	    "/static/STYLE.CSS",
	    "/staticstyle.css",
	    "/static/style.css\\",
	    "/style.css",
	    "/static/style",
	    "/static/../../etc/passwd",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (static_find(none[i], &type) != NULL)
			fail_msg("%s is served", none[i]);
	/* Every embedded static file has a type it is served with. */
	for (size_t i = 0; i < embed_static_count; i++)
		if (static_type(embed_static[i].name) == NULL)
			fail_msg("static/%s: no Content-Type for its extension",
			         embed_static[i].name);
	assert_null(static_type("x.html"));
	assert_null(static_type(".css"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),           cmocka_unit_test(test_raw_only_when_marked),
	    cmocka_unit_test(test_sections),         cmocka_unit_test(test_nested),
	    cmocka_unit_test(test_missing_names),    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_context_failures), cmocka_unit_test(test_embedded_templates),
	    cmocka_unit_test(test_page_in_layout),   cmocka_unit_test(test_static_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
