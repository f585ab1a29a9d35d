/* SPDX-License-Identifier: MIT */
/* The web UI's pages rendered from sample API answers: every name each template uses is
 * set (tpl_missing_count unchanged), values are escaped, and the update settings carry
 * what ddclient needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "http/template.h"
#include "http/web_page.h"

static json_t *J(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_every_page_renders(void **state)
{
	(void)state;
	assert_int_equal(tpl_init(), NP_OK);
	unsigned long before = tpl_missing_count();
	struct web_nav nav = {"eve<x", true, "CSRF"};
	json_t *hosts = J("{\"hosts\":[{\"fqdn\":\"home.dyn.example\",\"wildcard\":true,"
	                  "\"offline\":false,\"blocked\":false,\"records\":{\"A\":[\"192.0.2.1\"],"
	                  "\"AAAA\":[],\"TXT\":[\"<b>\"],\"MX\":[]},\"last_change\":{\"time\":1,"
	                  "\"interface\":\"dyndns2\"}}]}");
	json_t *host = json_array_get(json_object_get(hosts, "hosts"), 0);
	json_t *hist = J("{\"history\":[{\"time\":1,\"interface\":\"web\",\"source\":\"::1\","
	                 "\"old\":\"\",\"new\":\"192.0.2.1\",\"token\":\"t\"}]}");
	json_t *audit = J("{\"fqdn\":\"home.dyn.example\",\"audit\":{\"time\":2,\"grade\":\"D\","
	                  "\"source\":\"192.0.2.1\",\"token\":\"t\",\"changes\":{\"previous\":1,"
	                  "\"new\":[\"port-open tcp/23\"],\"gone\":[\"eve<x gone\"]},\"report\":"
	                  "{\"grade\":\"D\",\"findings\":[{\"id\":\"port-open\",\"key\":\"k\","
	                  "\"severity\":\"high\",\"layer\":1,\"title\":\"<b> answers\","
	                  "\"reachable_from_outside\":true,\"remedy\":{\"what_to_do\":\"Close it\"}}]}}}");
	json_t *token = J("{\"id\":\"abc\",\"kind\":\"api\",\"name\":\"n\",\"token\":\"SECRET\","
	                  "\"policy\":{\"names\":[\"home.dyn.example\"],\"types\":[\"A\",\"AAAA\"],"
	                  "\"sources\":[],\"expires\":0,\"manage\":false},\"last_used\":0,"
	                  "\"last_source\":\"\",\"current\":false}");
	json_t *tokens = json_pack("{s:[O,{s:s,s:s,s:s,s:{},s:I,s:s,s:b}]}", "tokens", token, "id",
	                           "s1", "kind", "session", "name", "sign-in", "policy",
	                           "last_used", (json_int_t)5, "last_source", "::1", "current", 1);
	json_t *account = J("{\"name\":\"alice\",\"email\":\"a@example.org\",\"email_confirmed\":"
	                    "false,\"role\":\"user\",\"state\":\"active\",\"hosts\":1}");
	json_t *totp_off = J("{\"enabled\":false,\"secret\":\"ABC\",\"uri\":\"otpauth://x\"}");
	json_t *users = J("{\"users\":[{\"name\":\"bob\",\"email\":\"\",\"role\":\"user\","
	                  "\"state\":\"locked\",\"hosts\":0,\"totp\":false}]}");
	assert_non_null(tokens);
	struct buf b;
	buf_init(&b, WEB_PAGE_MAX);
	web_page_message(&b, NULL, "t", "x", "/", "Home", true);
	web_page_message(&b, &nav, "t", "x", NULL, NULL, false);
	web_page_home(&b, NULL, true);
	web_page_home(&b, &nav, false);
	web_page_login(&b, "C", "u", "e", true);
	web_page_signup(&b, "C", "invite", "u", "e", NULL);
	web_page_confirm(&b, "C", "code");
	web_page_hosts(&b, &nav, hosts, "dyn.example");
	json_t *abuse = J("{\"fqdn\":\"home.dyn.example\",\"state\":\"hold\",\"reasons\":"
	                  "\"flux <x>\",\"score\":3.5,\"features\":{},\"suspended\":false,"
	                  "\"may_clear\":true,\"log\":[{\"time\":3,\"by\":\"flux\",\"from\":"
	                  "\"ok\",\"to\":\"hold\",\"reason\":\"flux <x>\"}]}");
	json_t *tickets = J("{\"tickets\":[{\"ticket\":7,\"time\":4,\"status\":\"open\","
	                    "\"category\":\"phishing\",\"name\":\"home.dyn.example\"}]}");
	json_t *ticket = J("{\"ticket\":7,\"time\":4,\"name\":\"home.dyn.example\",\"category\":"
	                   "\"phishing\",\"evidence\":\"<b>kit</b>\",\"contact\":\"\",\"source\":"
	                   "\"192.0.2.9\",\"status\":\"open\",\"decided\":0,\"decision\":\"\","
	                   "\"host\":{\"owner\":\"alice\",\"state\":\"ok\",\"reasons\":\"\","
	                   "\"suspended\":false,\"score\":0,\"log\":[]}}");
	web_page_host(&b, &nav, host, hist, audit, abuse);
	web_page_host(&b, &nav, host, hist, NULL, NULL);
	web_page_tickets(&b, &nav, tickets);
	web_page_ticket(&b, &nav, ticket);
	json_object_set_new(ticket, "host", json_null());
	web_page_ticket(&b, &nav, ticket);
	web_page_settings(&b, &nav, token, "home.dyn.example", "http://127.0.0.1:8080", "alice");
	web_page_tokens(&b, &nav, tokens);
	web_page_token_made(&b, &nav, token);
	web_page_account(&b, &nav, account, totp_off, "<svg/>", tokens);
	web_page_admin(&b, &nav, users);
	assert_false(b.err);
	assert_int_equal(tpl_missing_count(), before);
	/* Escaped everywhere; the QR's markup is the one raw value. */
	assert_null(strstr(b.p, "eve<x"));
	assert_non_null(strstr(b.p, "eve&lt;x"));
	assert_null(strstr(b.p, "<b>"));
	assert_non_null(strstr(b.p, "<svg/>"));
	/* ddclient's settings (escaped in the page: '=' is a character reference). */
	assert_non_null(strstr(b.p, "protocol&#61;dyndns2"));
	assert_non_null(strstr(b.p, "server&#61;127.0.0.1:8080"));
	assert_non_null(strstr(b.p, "ssl&#61;no"));
	assert_non_null(strstr(b.p, "password&#61;SECRET"));
	/* Admin actions follow the state: a locked account can be unlocked or suspended. */
	assert_non_null(strstr(b.p, "/admin/users/bob/unlock"));
	/* The host's audit: grade, the changes and the findings; "No audit yet" without one. */
	assert_non_null(strstr(b.p, "Grade <strong>D</strong>"));
	assert_non_null(strstr(b.p, "new: <code>port-open tcp/23</code>"));
	assert_non_null(strstr(b.p, "gone: <code>eve&lt;x gone</code>"));
	assert_non_null(strstr(b.p, "<td>high</td><td><code>port-open</code> &lt;b&gt; answers"));
	assert_non_null(strstr(b.p, "No audit yet"));
	assert_null(strstr(b.p, "/admin/users/bob/lock\""));
	/* The owner's abuse section with the hold's one clearing; the ticket queue. */
	assert_non_null(strstr(b.p, "Abuse state: <strong>hold</strong>: flux &lt;x&gt;"));
	assert_non_null(strstr(b.p, "action=\"/hosts/home.dyn.example/abuse-clear\""));
	assert_non_null(strstr(b.p, "href=\"/admin/abuse/7\""));
	assert_non_null(strstr(b.p, "The name no longer exists"));
	buf_free(&b);
	json_decref(abuse);
	json_decref(tickets);
	json_decref(ticket);
	json_decref(hosts);
	json_decref(hist);
	json_decref(audit);
	json_decref(token);
	json_decref(tokens);
	json_decref(account);
	json_decref(totp_off);
	json_decref(users);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_page_renders)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
