/* SPDX-License-Identifier: MIT */
/* Tests of the check service's text work: the urlencoded form parser, the Cookie header
 * parser, base64url tokens, the pages (every name their templates use is set) and the result
 * mail. The renderer and its escaping: test_http_template.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "http/check_page.h"
#include "http/template.h"

/* ---- urlencoded forms ---- */

static void test_url_decode(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(check_url_decode("a+b%20c%2Bd%3d", 14, out, sizeof(out)), 8);
	assert_string_equal(out, "a b c+d=");
	assert_int_equal(check_url_decode("%C3%A9", 6, out, sizeof(out)), 2);
	assert_string_equal(out, "\xc3\xa9");
	assert_int_equal(check_url_decode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(check_url_decode("%", 1, out, sizeof(out)), NP_EMALFORMED);
	assert_int_equal(check_url_decode("%4", 2, out, sizeof(out)), NP_EMALFORMED);
	assert_int_equal(check_url_decode("%zz", 3, out, sizeof(out)), NP_EMALFORMED);
	assert_int_equal(check_url_decode("a%00b", 5, out, sizeof(out)), NP_EMALFORMED);
	/* Only n bytes are read: the escape cut by n is malformed, not read past. */
	assert_int_equal(check_url_decode("%41", 2, out, sizeof(out)), NP_EMALFORMED);
	assert_int_equal(check_url_decode("abcd", 4, out, 4), NP_ETOOBIG);
	assert_int_equal(check_url_decode("abc", 3, out, 4), 3);
}

static void test_form_parse(void **state)
{
	(void)state;
	struct check_form f;
	char why[96];
	const char *body = "email=a.b%2Btag%40example.org&consent=yes&csrf=" /* 43 chars: */
	                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	assert_int_equal(check_form_parse(body, strlen(body), &f, why, sizeof(why)), NP_OK);
	assert_true(f.has_email && f.has_consent && f.has_csrf);
	assert_string_equal(f.email, "a.b+tag@example.org");
	assert_string_equal(f.consent, "yes");
	assert_int_equal(strlen(f.csrf), 43);

	/* Empty pairs are skipped; a key without '=' is an empty value. */
	assert_int_equal(check_form_parse("&&consent&", 10, &f, why, sizeof(why)), NP_OK);
	assert_true(f.has_consent && !f.has_email);
	assert_string_equal(f.consent, "");

	/* Unknown fields: every attempt to name an address among them. */
	assert_int_equal(check_form_parse("addr=198.51.100.7", 17, &f, why, sizeof(why)),
	                 NP_EINVAL);
	assert_non_null(strstr(why, "addr"));
	assert_int_equal(check_form_parse("email=x&ip=1.2.3.4", 18, &f, why, sizeof(why)),
	                 NP_EINVAL);
	/* Twice the same field. */
	assert_int_equal(check_form_parse("email=a&email=b", 15, &f, why, sizeof(why)), NP_EINVAL);
	/* Bad escapes and values too long for their field. */
	assert_int_equal(check_form_parse("email=%zz", 9, &f, why, sizeof(why)), NP_EMALFORMED);
	assert_int_equal(check_form_parse("consent=yesyesyes", 17, &f, why, sizeof(why)),
	                 NP_ETOOBIG);
	/* Only len bytes count, whatever follows. */
	assert_int_equal(check_form_parse("consent=yes&bogus=1", 11, &f, why, sizeof(why)), NP_OK);
	assert_string_equal(f.consent, "yes");
}

/* ---- cookies ---- */

static void test_cookie_get(void **state)
{
	(void)state;
	char v[64];
	assert_true(check_cookie_get("np_csrf=abc; np_check=def", "np_check", v, sizeof(v)));
	assert_string_equal(v, "def");
	assert_true(check_cookie_get("np_csrf=abc; np_check=def", "np_csrf", v, sizeof(v)));
	assert_string_equal(v, "abc");
	assert_true(check_cookie_get("  np_check=\"quoted\" ;x=1", "np_check", v, sizeof(v)));
	assert_string_equal(v, "quoted");
	/* A name that only starts the same is another cookie. */
	assert_false(check_cookie_get("np_check_old=1; xnp_check=2", "np_check", v, sizeof(v)));
	assert_true(check_cookie_get("np_check_old=1; np_check=3", "np_check", v, sizeof(v)));
	assert_string_equal(v, "3");
	assert_false(check_cookie_get("", "np_check", v, sizeof(v)));
	assert_false(check_cookie_get("np_check", "np_check", v, sizeof(v)));
	assert_true(check_cookie_get("np_check=", "np_check", v, sizeof(v)));
	assert_string_equal(v, "");
	assert_false(check_cookie_get("np_check=0123456789", "np_check", v, 8)); /* too long */
}

/* ---- tokens ---- */

static void test_token_text(void **state)
{
	(void)state;
	uint8_t raw[CHECK_TOKEN_RAW] = {0};
	char t[CHECK_TOKEN_LEN + 1];
	check_token_text(raw, t);
	assert_int_equal(strlen(t), 43);
	for (size_t i = 0; i < 43; i++)
		assert_int_equal(t[i], 'A');
	/* The URL-safe alphabet: 0xfb 0xff -> "-_8" where base64 would say "+/8". */
	raw[0] = 0xfb;
	raw[1] = 0xff;
	check_token_text(raw, t);
	assert_memory_equal(t, "-_8", 3);
	assert_true(check_token_valid(t));

	char a[CHECK_TOKEN_LEN + 1], b[CHECK_TOKEN_LEN + 1];
	check_token_new(a);
	check_token_new(b);
	assert_true(check_token_valid(a));
	assert_string_not_equal(a, b);

	assert_false(check_token_valid(""));
	assert_false(check_token_valid("short"));
	char bad[CHECK_TOKEN_LEN + 2];
	memset(bad, 'A', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	assert_false(check_token_valid(bad)); /* 44 */
	bad[43] = '\0';
	assert_true(check_token_valid(bad));
	bad[10] = '+';
	assert_false(check_token_valid(bad));
	bad[10] = '/';
	assert_false(check_token_valid(bad));
	bad[10] = '.';
	assert_false(check_token_valid(bad));
}

/* ---- pages and mail ---- */

static const char *const infected_json =
    "{\"address\": \"198.51.100.7\", \"verdict\": \"infected\", \"rule\": \"mirai_syn\","
    " \"rules\": [\"mirai_syn\", \"default_credentials\"],"
    " \"window\": {\"start\": 1732100000, \"end\": 1732186400},"
    " \"evidence\": {\"first_seen\": 1732180000, \"last_seen\": 1732186000, \"packets\": 9,"
    " \"fingerprint_hits\": 7, \"login_attempts\": 2, \"downloads\": 0, \"iot_port_hits\": 9,"
    " \"default_credentials\": 1, \"ports\": [{\"port\": 23, \"count\": 5},"
    " {\"port\": 2323, \"count\": 2}], \"other_ports\": 0,"
    " \"credentials\": [{\"user\": \"root\", \"pass\": \"xc3511\", \"count\": 1,"
    " \"default\": true, \"first\": 1732180000, \"last\": 1732180000},"
    " {\"user\": \"<script>alert(1)</script>\", \"pass\": \"a&b\\\"c\", \"count\": 1,"
    " \"default\": false, \"first\": 1732180000, \"last\": 1732180000}],"
    " \"kinds\": {\"mirai_syn\": 7, \"backscatter\": 3, \"research\": 0}}}";

static void test_result_page(void **state)
{
	(void)state;
	unsigned long missing = tpl_missing_count();
	json_t *v = json_loads(infected_json, 0, NULL);
	assert_non_null(v);
	struct buf b;
	buf_init(&b, CHECK_PAGE_MAX);
	check_page_result(&b, v, "TOKEN-x_1", "CSRF\"><x", 1732186400, 1732445600);
	json_decref(v);
	assert_false(b.err);
	assert_non_null(strstr(b.p, "198.51.100.7: infected"));
	assert_non_null(strstr(b.p, "Mirai fingerprint"));
	assert_non_null(strstr(b.p, "<td>23</td><td>5</td>"));
	assert_non_null(strstr(b.p, "<td>2323</td><td>2</td>"));
	assert_non_null(strstr(b.p, "<code>root</code>"));
	assert_non_null(strstr(b.p, "<code>xc3511</code>"));
	/* Credentials and every other value arrive escaped. */
	assert_null(strstr(b.p, "<script>"));
	assert_non_null(strstr(b.p, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(b.p, "a&amp;b&quot;c"));
	assert_non_null(strstr(b.p, "value=\"CSRF&quot;&gt;&lt;x\""));
	assert_non_null(strstr(b.p, "action=\"/check/TOKEN-x_1\""));
	assert_non_null(strstr(b.p, "2024-11-21 09:06:40 UTC")); /* first_seen */
	/* The caveat and the remedies. */
	assert_non_null(strstr(b.p, "carrier-grade NAT"));
	assert_non_null(strstr(b.p, "automatic updates"));
	assert_non_null(strstr(b.p, "UPnP off"));
	assert_non_null(strstr(b.p, "VPN"));
	assert_non_null(strstr(b.p, "3 more packets"));
	/* In the layout, styled by the stylesheet alone (the CSP allows no inline style). */
	assert_non_null(strstr(b.p, "<title>Am I infected? Your result</title>"));
	assert_non_null(strstr(b.p, "<link rel=\"stylesheet\" href=\"/static/style.css?v&#61;"));
	assert_null(strstr(b.p, "<style"));
	assert_int_equal(tpl_missing_count(), missing);
	buf_free(&b);

	v = json_pack("{s:s, s:s, s:s, s:[], s:{s:i, s:i}, s:{}}", "address", "2001:db8::/64",
	              "verdict", "not_observed", "rule", "none", "rules", "window", "start", 1,
	              "end", 2, "evidence");
	buf_init(&b, CHECK_PAGE_MAX);
	check_page_result(&b, v, "t", "c", 3, 4);
	json_decref(v);
	assert_false(b.err);
	assert_non_null(strstr(b.p, "2001:db8::/64: not observed"));
	assert_non_null(strstr(b.p, "does not mean your devices are clean"));
	assert_null(strstr(b.p, "<h2>Evidence</h2>"));
	assert_int_equal(tpl_missing_count(), missing);
	buf_free(&b);

	/* Suspicious, with no port and no login: the evidence without those tables. */
	v = json_pack("{s:s, s:s, s:[s], s:{s:i, s:i}, s:{s:i}}", "address", "192.0.2.1", "verdict",
	              "suspicious", "rules", "few_signs", "window", "start", 1, "end", 2,
	              "evidence", "packets", 1);
	buf_init(&b, CHECK_PAGE_MAX);
	check_page_result(&b, v, "t", "c", 3, 4);
	json_decref(v);
	assert_false(b.err);
	assert_non_null(strstr(b.p, "class=\"v suspicious\""));
	assert_non_null(strstr(b.p, "too few to be sure"));
	assert_null(strstr(b.p, "Destination ports"));
	assert_null(strstr(b.p, "Logins tried"));
	assert_int_equal(tpl_missing_count(), missing);
	buf_free(&b);
}

static void test_form_page(void **state)
{
	(void)state;
	unsigned long missing = tpl_missing_count();
	struct buf b;
	buf_init(&b, CHECK_PAGE_MAX);
	check_page_form(&b, "192.0.2.7", "abc", "bad <input>");
	assert_false(b.err);
	assert_non_null(strstr(b.p, "<strong>192.0.2.7</strong>"));
	assert_non_null(strstr(b.p, "name=\"csrf\" value=\"abc\""));
	assert_non_null(strstr(b.p, "name=\"consent\" value=\"yes\""));
	assert_non_null(strstr(b.p, "bad &lt;input&gt;"));
	assert_non_null(strstr(b.p, "never means clean"));
	assert_int_equal(tpl_missing_count(), missing);
	buf_free(&b);

	/* Without an error, no error paragraph. */
	buf_init(&b, CHECK_PAGE_MAX);
	check_page_form(&b, "192.0.2.7", "abc", NULL);
	assert_false(b.err);
	assert_null(strstr(b.p, "class=\"v infected\""));
	assert_int_equal(tpl_missing_count(), missing);
	buf_free(&b);

	buf_init(&b, CHECK_PAGE_MAX);
	check_page_message(&b, "Refused <now>", "Because \"x\" & 'y'.");
	assert_false(b.err);
	assert_non_null(strstr(b.p, "<title>Refused &lt;now&gt;</title>"));
	assert_non_null(strstr(b.p, "<h1>Refused &lt;now&gt;</h1>"));
	assert_non_null(strstr(b.p, "<p>Because &quot;x&quot; &amp; &#39;y&#39;.</p>"));
	assert_int_equal(tpl_missing_count(), missing);
	buf_free(&b);

	/* A page larger than the buffer's ceiling fails, it is not cut. */
	buf_init(&b, 100);
	check_page_form(&b, "192.0.2.7", "abc", NULL);
	assert_true(b.err);
	buf_free(&b);
}

static void test_mail(void **state)
{
	(void)state;
	char *subject = NULL, *body = NULL;
	assert_int_equal(check_mail_compose("https://check.example.org/", "TOKEN", "198.51.100.7",
	                                    "infected", "mirai_syn", 1732186400, 1732445600,
	                                    &subject, &body),
	                 NP_OK);
	assert_string_equal(subject, "Nameplate check for 198.51.100.7: infected");
	assert_non_null(strstr(body, "\n  https://check.example.org/check/TOKEN\n"));
	assert_non_null(strstr(body, "Verdict: infected (Mirai-family"));
	assert_non_null(strstr(body, "until 2024-11-24 10:53:20 UTC"));
	assert_non_null(strstr(body, "asked from the address 198.51.100.7 at 2024-11-21 "
	                             "10:53:20 UTC"));
	assert_null(strchr(body, '\r'));
	free(subject);
	free(body);

	assert_int_equal(check_mail_compose("http://127.0.0.1:8080", "T", "127.0.0.1",
	                                    "not_observed", "none", 0, 0, &subject, &body),
	                 NP_OK);
	assert_string_equal(subject, "Nameplate check for 127.0.0.1: not observed");
	assert_non_null(strstr(body, "http://127.0.0.1:8080/check/T\n"));
	assert_non_null(strstr(body, "does not prove"));
	free(subject);
	free(body);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_decode),  cmocka_unit_test(test_form_parse),
	    cmocka_unit_test(test_cookie_get),  cmocka_unit_test(test_token_text),
	    cmocka_unit_test(test_result_page), cmocka_unit_test(test_form_page),
	    cmocka_unit_test(test_mail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
