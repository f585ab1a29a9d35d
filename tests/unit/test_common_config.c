/* SPDX-License-Identifier: MIT */
/* Tests of the configuration parser: a valid file, defaults, lists and every error class. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/str.h"
#include "tmpdir_fixture.h"

static char tmpdir[64];
static char cfgpath[128];
static struct config *cfg;
static char err[512];

static int setup(void **state)
{
	(void)state;
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "cfg") != 0)
		return -1;
	snprintf(cfgpath, sizeof(cfgpath), "%s/nameplate.conf", tmpdir);
	cfg = malloc(sizeof(*cfg));
	return cfg == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	free(cfg);
	return tmpdir_remove(tmpdir);
}

/* Writes text as the config file and loads it. */
static int load(const char *text)
{
	FILE *f = fopen(cfgpath, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return config_load(cfgpath, cfg, err, sizeof(err));
}

/* Loads text and checks that it fails with exactly "FILE:LINE: msg". */
static void expect_error(const char *text, unsigned line, const char *msg)
{
	char want[512];
	assert_int_equal(load(text), NP_EINVAL);
	snprintf(want, sizeof(want), "%s:%u: %s", cfgpath, line, msg);
	assert_string_equal(err, want);
}

#define MINIMAL                                                                                    \
	"[server]\n"                                                                               \
	"data_dir = /var/lib/nameplate\n"                                                          \
	"[dns]\n"                                                                                  \
	"listen = 127.0.0.1@5353\n"                                                                \
	"[zone dyn.example]\n"                                                                     \
	"ns = ns1.example.net\n"

static void test_valid_full(void **state)
{
	(void)state;
	int ret = load("; a comment\n"
	               "# another\n"
	               "[server]\n"
	               "data_dir = data\n"
	               "user = nobody\n"
	               "log_level = debug\n"
	               "\n"
	               "[dns]\n"
	               "listen = 127.0.0.1@5353\n"
	               "listen = ::1@5353\n"
	               "workers = 4\n"
	               "tcp_max_connections = 1000\n"
	               "tcp_idle_timeout = 30\n"
	               "edns_udp_size = 4096\n"
	               "[http]\n"
	               "listen = 127.0.0.1:8080\n"
	               "listen = [::1]:8080\n"
	               "trusted_proxies = 10.0.0.0/8 192.168.1.1, 2001:db8::/32\n"
	               "trusted_proxies = 127.0.0.1\n"
	               "max_connections = 100\n"
	               "per_ip_connections = 4\n"
	               "timeout = 5\n"
	               "threads = 8\n"
	               "[zone Dyn.Example.]\n"
	               "ns = NS1.example.net\n"
	               "ns = ns2.example.net.\n"
	               "contact = admin@example.net\n"
	               "ttl = 30\n"
	               "soa_ttl = 7200\n"
	               "refresh = 1000\n"
	               "retry = 100\n"
	               "expire = 100000\n"
	               "negative_ttl = 5\n"
	               "dnssec = on\n"
	               "dnssec_algorithm = 15\n"
	               "allow_transfer = 192.0.2.0/24\n"
	               "allow_transfer = Xfr-Key.\n"
	               "allow_transfer = 2001:db8::1\n"
	               "notify = 192.0.2.7@53\n"
	               "notify = 2001:db8::7@5300\n"
	               "[zone sub.dyn.example]\n"
	               "ns = ns1.example.net\n");
	assert_int_equal(ret, NP_OK);
	char want[256];
	snprintf(want, sizeof(want), "%s/data", tmpdir);
	assert_string_equal(cfg->data_dir, want);
	assert_string_equal(cfg->user, "nobody");
	assert_int_equal(cfg->log_level, LOG_DEBUG);

	assert_int_equal(cfg->n_dns_listen, 2);
	const struct sockaddr_in *in = (const struct sockaddr_in *)&cfg->dns_listen[0].addr;
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 5353);
	assert_int_equal(cfg->dns_listen[0].len, sizeof(struct sockaddr_in));
	assert_string_equal(cfg->dns_listen[0].text, "127.0.0.1@5353");
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&cfg->dns_listen[1].addr;
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
	assert_int_equal(cfg->dns_workers, 4);
	assert_int_equal(cfg->tcp_max_connections, 1000);
	assert_int_equal(cfg->tcp_idle_timeout, 30);
	assert_int_equal(cfg->edns_udp_size, 4096);

	assert_int_equal(cfg->n_http_listen, 2);
	in6 = (const struct sockaddr_in6 *)&cfg->http_listen[1].addr;
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 8080);
	assert_int_equal(cfg->n_trusted_proxies, 4);
	assert_int_equal(cfg->trusted_proxies[0].prefix, 8);
	assert_int_equal(cfg->trusted_proxies[1].prefix, 32);
	assert_int_equal(cfg->trusted_proxies[2].addr.family, AF_INET6);
	assert_int_equal(cfg->trusted_proxies[2].prefix, 32);
	assert_int_equal(cfg->http_max_connections, 100);
	assert_int_equal(cfg->http_per_ip_connections, 4);
	assert_int_equal(cfg->http_timeout, 5);
	assert_int_equal(cfg->http_threads, 8);

	assert_int_equal(cfg->n_zones, 2);
	const struct cfg_zone *z = &cfg->zones[0];
	assert_string_equal(z->name, "dyn.example");
	assert_int_equal(z->n_ns, 2);
	assert_string_equal(z->ns[0], "ns1.example.net");
	assert_string_equal(z->ns[1], "ns2.example.net");
	assert_string_equal(z->contact, "admin.example.net");
	assert_int_equal(z->ttl, 30);
	assert_int_equal(z->soa_ttl, 7200);
	assert_int_equal(z->refresh, 1000);
	assert_int_equal(z->retry, 100);
	assert_int_equal(z->expire, 100000);
	assert_int_equal(z->negative_ttl, 5);
	assert_true(z->dnssec);
	assert_int_equal(z->dnssec_algorithm, 15);
	assert_int_equal(z->n_allow_transfer, 3);
	assert_false(z->allow_transfer[0].is_key);
	assert_int_equal(z->allow_transfer[0].net.prefix, 24);
	assert_true(z->allow_transfer[1].is_key);
	assert_string_equal(z->allow_transfer[1].key, "xfr-key");
	assert_false(z->allow_transfer[2].is_key);
	assert_int_equal(z->allow_transfer[2].net.prefix, 128);
	assert_int_equal(z->n_notify, 2);
	assert_string_equal(z->notify[1].text, "2001:db8::7@5300");
	assert_string_equal(cfg->zones[1].contact, "hostmaster.sub.dyn.example");

	/* Longest suffix on a label boundary. */
	assert_ptr_equal(config_zone_for(cfg, "a.sub.dyn.example"), &cfg->zones[1]);
	assert_ptr_equal(config_zone_for(cfg, "sub.dyn.example"), &cfg->zones[1]);
	assert_ptr_equal(config_zone_for(cfg, "a.dyn.example"), &cfg->zones[0]);
	assert_ptr_equal(config_zone_for(cfg, "dyn.example"), &cfg->zones[0]);
	assert_null(config_zone_for(cfg, "xdyn.example"));
	assert_null(config_zone_for(cfg, "example"));
	assert_null(config_zone_for(cfg, "other.test"));
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(load(MINIMAL), NP_OK);
	assert_string_equal(cfg->data_dir, "/var/lib/nameplate");
	assert_string_equal(cfg->user, "");
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_int_equal(cfg->log_format, LOG_FORMAT_TEXT);
	assert_int_equal(cfg->dns_workers, 0);
	assert_int_equal(cfg->tcp_max_connections, 256);
	assert_int_equal(cfg->tcp_idle_timeout, 10);
	assert_int_equal(cfg->tcp_max_per_address, 32);
	assert_int_equal(cfg->tcp_workers, 2);
	assert_int_equal(cfg->edns_udp_size, 1232);
	assert_int_equal(cfg->rrl_rate, 200);
	assert_int_equal(cfg->rrl_slip, 2);
	assert_int_equal(cfg->rrl_ipv4_prefix, 24);
	assert_int_equal(cfg->rrl_ipv6_prefix, 56);
	assert_int_equal(cfg->udp_batch_wait_us, 300);
	assert_int_equal(cfg->n_http_listen, 0);
	assert_int_equal(cfg->n_trusted_proxies, 0);
	assert_int_equal(cfg->http_max_connections, 2048);
	assert_int_equal(cfg->http_per_ip_connections, 16);
	assert_int_equal(cfg->http_per_net_connections, 64);
	assert_int_equal(cfg->http_timeout, 10);
	assert_int_equal(cfg->http_request_timeout, 15);
	assert_int_equal(cfg->http_threads, 2);
	/* [abuse]: deSEC's 2 updates per 2 minutes per name. */
	assert_int_equal(cfg->abuse_window, 120);
	assert_int_equal(cfg->abuse_host_per_window, 2);
	assert_int_equal(cfg->abuse_host_per_day, 300);
	assert_int_equal(cfg->abuse_token_per_window, 20);
	assert_int_equal(cfg->abuse_token_per_day, 2000);
	assert_int_equal(cfg->abuse_source_per_window, 120);
	assert_int_equal(cfg->abuse_source_per_day, 10000);
	assert_string_equal(cfg->abuse_parked, "");
	assert_int_equal(cfg->n_abuse_feeds, 0);
	assert_int_equal(cfg->n_abuse_asn_dbs, 0);
	assert_int_equal(cfg->abuse_flux_window, 86400);
	assert_int_equal(cfg->abuse_watch_score, 100);
	assert_int_equal(cfg->abuse_hold_score, 143);
	assert_int_equal(cfg->abuse_quarantine_score, 300);
	assert_int_equal(cfg->abuse_shared_accounts, 10);
	assert_int_equal(cfg->abuse_create_per_account_hour, 10);
	assert_int_equal(cfg->abuse_create_per_source_hour, 30);
	assert_int_equal(cfg->abuse_reports_per_source_hour, 10);
	assert_non_null(strstr(cfg->abuse_reserved, "ns*"));
	assert_non_null(strstr(cfg->abuse_brands, "paypal"));
	const struct cfg_zone *z = &cfg->zones[0];
	assert_string_equal(z->contact, "hostmaster.dyn.example");
	assert_int_equal(z->ttl, 60);
	assert_int_equal(z->soa_ttl, 3600);
	assert_int_equal(z->refresh, 3600);
	assert_int_equal(z->retry, 600);
	assert_int_equal(z->expire, 1209600);
	assert_int_equal(z->negative_ttl, 60);
	assert_int_equal(z->n_allow_transfer, 0); /* nobody may transfer a zone unless listed */
	assert_int_equal(z->n_notify, 0);
	assert_false(z->dnssec);
	assert_int_equal(z->dnssec_algorithm, 13);
	assert_int_equal(z->dnssec_zsk_lifetime, 7776000);
	assert_int_equal(z->dnssec_denial_rate, 1000); /* signatures per second on the fly */
	assert_false(z->dnssec_retire);
	assert_int_equal(z->dnssec_parent_ds_ttl, 86400);
	assert_int_equal(z->n_dnssec_parent, 0);
	assert_string_equal(cfg->path, cfgpath);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("[server]\ndata_dir = /x\n[dns]\nlisten = 127.0.0.1@53\nbogus = 1\n", 5,
	             "unknown key 'bogus' in [dns]");
	expect_error(MINIMAL "colour = red\n", 7, "unknown key 'colour' in [zone dyn.example]");
}

static void test_xfr_keys(void **state)
{
	(void)state;
	expect_error(
	    MINIMAL "allow_transfer = 192.0.2.0/33\n", 7,
	    "bad value for 'allow_transfer': must be an address prefix or a TSIG key name");
	expect_error(
	    MINIMAL "allow_transfer = bad_key!\n", 7,
	    "bad value for 'allow_transfer': must be an address prefix or a TSIG key name");
	expect_error(MINIMAL "notify = 192.0.2.7\n", 7,
	             "bad value for 'notify': must be ADDR@PORT");
}

static void test_unknown_section(void **state)
{
	(void)state;
	expect_error("[server]\ndata_dir = /x\n[dnss]\n", 3, "unknown section [dnss]");
	/* An empty section is still seen. */
	expect_error(MINIMAL "[nope]\n", 7, "unknown section [nope]");
	expect_error("data_dir = /x\n", 1, "key 'data_dir' outside of any section");
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error(MINIMAL "ttl = 86401\n", 7, "bad value for 'ttl': must be 0..86400");
	expect_error(MINIMAL "dnssec = yes\n", 7,
	             "bad value for 'dnssec': must be on, off or retire");
	expect_error(MINIMAL "dnssec_algorithm = 8\n", 7,
	             "bad value for 'dnssec_algorithm': must be 13 (ECDSA P-256) or 15 (Ed25519)");
	expect_error(MINIMAL "ttl = -1\n", 7, "bad value for 'ttl': must be 0..86400");
	expect_error(MINIMAL "ttl = 1h\n", 7, "bad value for 'ttl': must be 0..86400");
	expect_error(MINIMAL "soa_ttl = 2147483648\n", 7,
	             "bad value for 'soa_ttl': must be 0..2147483647");
	expect_error("[dns]\nworkers = 65\n", 2, "bad value for 'workers': must be 0..64");
	expect_error("[dns]\nedns_udp_size = 511\n", 2,
	             "bad value for 'edns_udp_size': must be 512..4096");
	expect_error("[http]\ntimeout = 0\n", 2, "bad value for 'timeout': must be 1..300");
	expect_error("[server]\nlog_level = loud\n", 2,
	             "bad value for 'log_level': must be error, warning, info or debug");
	expect_error("[server]\nlog_format = json\n", 2,
	             "bad value for 'log_format': must be text or kv");
	expect_error("[dns]\nlisten = 127.0.0.1:53\n", 2,
	             "bad value for 'listen': must be ADDR@PORT");
	expect_error("[dns]\nlisten = 127.0.0.1@0\n", 2,
	             "bad value for 'listen': must be ADDR@PORT");
	expect_error("[dns]\nlisten = 127.0.0.1@53\nlisten = 127.0.0.1@53\n", 3,
	             "bad value for 'listen': 127.0.0.1@53 is listed twice");
	expect_error("[http]\nlisten = ::1:80\n", 2,
	             "bad value for 'listen': must be ADDR:PORT or [V6]:PORT");
	expect_error("[http]\ntrusted_proxies = 10.0.0.0/33\n", 2,
	             "bad value for 'trusted_proxies': '10.0.0.0/33' is not a CIDR prefix");
	expect_error(MINIMAL "ns = bad..name\n", 7, "bad value for 'ns': must be a domain name");
	expect_error(MINIMAL "contact = a.b@example.net\n", 7,
	             "bad value for 'contact': must be a mail address or a domain name");
	expect_error("[server]\nuser = evil user\n", 2,
	             "bad value for 'user': must be a user name");
	expect_error("[server]\nuser = no-such-user-np\n", 2,
	             "bad value for 'user': no such user on this system");
	expect_error("[zone bad_name!]\n", 1, "bad zone name 'bad_name!': must be a domain name");
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_error(MINIMAL "ttl = 1\nttl = 2\n", 8, "duplicate key 'ttl' in [zone dyn.example]");
	expect_error(MINIMAL "[zone DYN.example]\n", 7,
	             "duplicate zone 'dyn.example' (first on line 5)");
	expect_error(MINIMAL "[dns]\n", 7, "duplicate section [dns] (first on line 3)");
}

static void test_missing(void **state)
{
	(void)state;
	expect_error(
	    "[server]\n[dns]\nlisten = 127.0.0.1@53\n[zone a.example]\nns = ns.a.example\n", 1,
	    "missing 'data_dir' in [server]");
	expect_error("[server]\ndata_dir = /x\n[zone a.example]\nns = ns.a.example\n", 4,
	             "missing 'listen' in [dns]");
	expect_error("[server]\ndata_dir = /x\n[dns]\nlisten = 127.0.0.1@53\n[zone a.example]\n", 5,
	             "missing 'ns' in [zone a.example]");
	expect_error("[server]\ndata_dir = /x\n[dns]\nlisten = 127.0.0.1@53\n", 4,
	             "no [zone NAME] section");
}

static void test_syntax_error(void **state)
{
	(void)state;
	expect_error("[server]\ndata_dir = /x\njust some words\n[dns]\n", 3, "syntax error");
	expect_error("[server\n", 1, "syntax error");
	/* A syntax error before a schema error is the one reported. */
	expect_error("[dns]\nnonsense\nbogus = 1\n", 2, "syntax error");
	char longline[400];
	memset(longline, 'a', sizeof(longline));
	np_strlcpy(longline, "[server]\nuser = ", sizeof(longline));
	memset(longline + strlen(longline), 'a', 300);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(load(longline), NP_EINVAL);
	assert_non_null(strstr(err, ":2: line longer than"));
}

static void test_missing_file(void **state)
{
	(void)state;
	assert_int_equal(config_load("/nonexistent/nameplate.conf", cfg, err, sizeof(err)),
	                 NP_EINVAL);
	assert_non_null(strstr(err, "/nonexistent/nameplate.conf: "));
}

static void test_inline_comment_and_relative_path(void **state)
{
	(void)state;
	int ret = load("[server]\n"
	               "data_dir = ../state ; relative to the file\n"
	               "[dns]\nlisten = [::1]@53\n"
	               "[zone a.example]\nns = ns.a.example\ncontact = hostmaster.a.example.\n");
	/* "[::1]" is not an address: only plain addresses before '@'. */
	assert_int_equal(ret, NP_EINVAL);
	ret = load("[server]\n"
	           "data_dir = ../state ; relative to the file\n"
	           "[dns]\nlisten = ::1@53\n"
	           "[zone a.example]\nns = ns.a.example\ncontact = hostmaster.a.example.\n");
	assert_int_equal(ret, NP_OK);
	char want[256];
	snprintf(want, sizeof(want), "%s/../state", tmpdir);
	assert_string_equal(cfg->data_dir, want);
	assert_string_equal(cfg->zones[0].contact, "hostmaster.a.example");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_full),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_xfr_keys),
	    cmocka_unit_test(test_unknown_section),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_inline_comment_and_relative_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
