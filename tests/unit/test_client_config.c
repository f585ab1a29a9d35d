/* SPDX-License-Identifier: MIT */
/* Tests of the client's config parser: a full file, defaults, sources, secrets and their
 * file modes, rfc2136 keys, the per-host digest, and "FILE:LINE: message" errors. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "client/client.h"
#include "common/str.h"
#include "tmpdir_fixture.h"

static char tmpdir[64];
static char cfgpath[128];
static char secpath[128];
static struct client_cfg *cfg;
static char err[1024];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "ccfg") != 0)
		return -1;
	snprintf(cfgpath, sizeof(cfgpath), "%s/client.conf", tmpdir);
	snprintf(secpath, sizeof(secpath), "%s/home.secret", tmpdir);
	cfg = malloc(sizeof(*cfg));
	return cfg == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	free(cfg);
	return tmpdir_remove(tmpdir);
}

static int load_mode(const char *text, mode_t mode)
{
	write_file(cfgpath, text, mode);
	return client_config_load(cfgpath, cfg, err, sizeof(err));
}

static int load(const char *text)
{
	return load_mode(text, 0600);
}

static void expect_error(const char *text, unsigned line, const char *msg)
{
	char want[1024];
	assert_int_equal(load(text), NP_EINVAL);
	snprintf(want, sizeof(want), "%s:%u: %s", cfgpath, line, msg);
	assert_string_equal(err, want);
}

#define HOST_HEAD                                                                                  \
	"[host home.dyn.example]\n"                                                                \
	"server = http://127.0.0.1:8053/nic/update\n"                                              \
	"user = alice\n"

static void test_full_file(void **state)
{
	(void)state;
	write_file(secpath, "topsecret\n", 0600);
	char text[1024];
	snprintf(text, sizeof(text),
	         "[client]\n"
	         "state_dir = st\n"
	         "interval = 60\n"
	         "retry_base = 10\n"
	         "retry_max = 600\n"
	         "timeout = 5\n"
	         "log_level = debug\n"
	         "\n" HOST_HEAD "secret_file = %s\n"
	         "ipv4 = interface:eth0\n"
	         "ipv6 = checkip:https://ip6.example.net/\n"
	         "on_change = /usr/local/bin/notify \"changed\"\n"
	         "\n"
	         "[host Office.Dyn.Example.]\n"
	         "server = https://dyn.example.net/nic/update?system=dyndns\n"
	         "user = bob\n"
	         "secret = inline\n"
	         "ipv4 = static:198.51.100.1\n"
	         "ipv6 = static:2001:db8::1\n",
	         secpath);
	assert_int_equal(load(text), NP_OK);
	char want[256];
	snprintf(want, sizeof(want), "%s/st", tmpdir);
	assert_string_equal(cfg->state_dir, want);
	assert_int_equal(cfg->interval, 60);
	assert_int_equal(cfg->retry_base, 10);
	assert_int_equal(cfg->retry_max, 600);
	assert_int_equal(cfg->timeout, 5);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(cfg->n_hosts, 2);

	const struct host_cfg *h = &cfg->hosts[0];
	assert_string_equal(h->fqdn, "home.dyn.example");
	assert_int_equal(h->protocol, PROTO_DYNDNS2);
	assert_string_equal(h->user, "alice");
	assert_string_equal(h->secret, "topsecret");
	assert_int_equal(h->ipv4.kind, SOURCE_INTERFACE);
	assert_string_equal(h->ipv4.arg, "eth0");
	assert_int_equal(h->ipv6.kind, SOURCE_CHECKIP);
	assert_string_equal(h->ipv6.arg, "https://ip6.example.net/");
	assert_string_equal(h->on_change, "/usr/local/bin/notify \"changed\"");
	assert_string_equal(h->on_error, "");

	h = &cfg->hosts[1];
	assert_string_equal(h->fqdn, "office.dyn.example");
	assert_string_equal(h->secret, "inline");
	assert_int_equal(h->ipv4.kind, SOURCE_STATIC);
	assert_int_equal(h->ipv4.addr.family, AF_INET);
	assert_int_equal(h->ipv6.kind, SOURCE_STATIC);
	assert_int_equal(h->ipv6.addr.family, AF_INET6);
	assert_memory_not_equal(cfg->hosts[0].digest, cfg->hosts[1].digest, 32);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(load(HOST_HEAD "secret = x\n"), NP_OK);
	assert_string_equal(cfg->state_dir, "/var/lib/nameplate");
	assert_int_equal(cfg->interval, 300);
	assert_int_equal(cfg->retry_base, 300);
	assert_int_equal(cfg->retry_max, 21600);
	assert_int_equal(cfg->timeout, 15);
	assert_int_equal(cfg->log_level, LOG_INFO);
	/* Nothing said about sources: the IPv4 address the server's checkip sees. */
	assert_int_equal(cfg->hosts[0].ipv4.kind, SOURCE_CHECKIP);
	assert_string_equal(cfg->hosts[0].ipv4.arg, "");
	assert_int_equal(cfg->hosts[0].ipv6.kind, SOURCE_NONE);
	/* Only ipv6 given: no IPv4. */
	assert_int_equal(load(HOST_HEAD "secret = x\nipv6 = interface:wan\n"), NP_OK);
	assert_int_equal(cfg->hosts[0].ipv4.kind, SOURCE_NONE);
	assert_int_equal(cfg->hosts[0].ipv6.kind, SOURCE_INTERFACE);
}

static void test_secret_file_mode(void **state)
{
	(void)state;
	char text[512], msg[512];
	snprintf(text, sizeof(text), HOST_HEAD "secret_file = %s\n", secpath);
	write_file(secpath, "topsecret\n", 0644);
	snprintf(msg, sizeof(msg), "secret file %s is readable by others (chmod 600)", secpath);
	expect_error(text, 4, msg);
	write_file(secpath, "topsecret\n", 0640);
	expect_error(text, 4, msg);
	write_file(secpath, "topsecret\n", 0400);
	assert_int_equal(load(text), NP_OK);
	/* A relative secret_file is relative to the config file. */
	assert_int_equal(load(HOST_HEAD "secret_file = home.secret\n"), NP_OK);
	assert_string_equal(cfg->hosts[0].secret, "topsecret");
	write_file(secpath, "\n\n", 0600);
	snprintf(msg, sizeof(msg), "secret file %s must hold one line of text", secpath);
	expect_error(text, 4, msg);
	snprintf(text, sizeof(text), HOST_HEAD "secret_file = %s/missing\n", tmpdir);
	assert_int_equal(load(text), NP_EINVAL);
	assert_non_null(strstr(err, "cannot open secret file"));
}

static void test_inline_secret_needs_private_config(void **state)
{
	(void)state;
	char msg[512];
	assert_int_equal(load_mode(HOST_HEAD "secret = x\n", 0644), NP_EINVAL);
	snprintf(msg, sizeof(msg),
	         "%s:4: %s holds a secret and is readable by others (chmod 600, or use "
	         "secret_file)",
	         cfgpath, cfgpath);
	assert_string_equal(err, msg);
	assert_int_equal(load_mode(HOST_HEAD "secret = x\n", 0604), NP_EINVAL);
	assert_int_equal(load_mode(HOST_HEAD "secret = x\n", 0600), NP_OK);
}

static void test_sources(void **state)
{
	(void)state;
	expect_error(HOST_HEAD "secret = x\nipv4 = eth0\n", 5,
	             "bad value for 'ipv4': must be none, interface:IFNAME, checkip[:URL], "
	             "upnp[:URL] or static:ADDR");
	expect_error(HOST_HEAD "secret = x\nipv4 = interface:\n", 5,
	             "bad value for 'ipv4': interface:IFNAME needs an interface name");
	expect_error(HOST_HEAD "secret = x\nipv4 = interface:averyveryverylongname\n", 5,
	             "bad value for 'ipv4': interface:IFNAME needs an interface name");
	expect_error(HOST_HEAD "secret = x\nipv4 = static:2001:db8::1\n", 5,
	             "bad value for 'ipv4': static:ADDR needs an IPv4 address");
	expect_error(HOST_HEAD "secret = x\nipv6 = static:192.0.2.1\n", 5,
	             "bad value for 'ipv6': static:ADDR needs an IPv6 address");
	expect_error(HOST_HEAD "secret = x\nipv4 = checkip:ftp://x/\n", 5,
	             "bad value for 'ipv4': checkip:URL needs an http:// or https:// URL");
	expect_error(HOST_HEAD "secret = x\nipv6 = upnp\n", 5,
	             "bad value for 'ipv6': upnp gives an IPv4 address only");
	expect_error(HOST_HEAD "secret = x\nipv4 = none\nipv6 = none\n", 1,
	             "[host home.dyn.example]: ipv4 and ipv6 are both none");
	assert_int_equal(load(HOST_HEAD "secret = x\nipv4 = upnp:http://192.168.1.1:5000/d.xml\n"),
	                 NP_OK);
	assert_int_equal(cfg->hosts[0].ipv4.kind, SOURCE_UPNP);
	assert_int_equal(load(HOST_HEAD "secret = x\nipv4 = upnp\n"), NP_OK);
	assert_string_equal(cfg->hosts[0].ipv4.arg, "");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[client]\ninterval = 0\n" HOST_HEAD "secret = x\n", 2,
	             "bad value for 'interval': must be 1..86400");
	expect_error("[client]\nbogus = 1\n", 2, "unknown key 'bogus' in [client]");
	expect_error("[clients]\n", 1, "unknown section [clients]");
	expect_error("[client]\n[client]\n", 2, "duplicate section [client] (first on line 1)");
	expect_error("[client]\n", 1, "no [host FQDN] section");
	expect_error("[host localhost]\n", 1,
	             "bad host name 'localhost': must be a fully qualified domain name");
	expect_error(HOST_HEAD "secret = x\n[host HOME.dyn.example]\n", 5,
	             "duplicate host 'home.dyn.example' (first on line 1)");
	expect_error(HOST_HEAD "secret = x\nuser = bob\n", 5,
	             "duplicate key 'user' in [host home.dyn.example]");
	expect_error("[host home.dyn.example]\nuser = a\nsecret = x\n", 1,
	             "missing 'server' in [host home.dyn.example] (or in [client])");
	expect_error("[host home.dyn.example]\nserver = http://x/\nsecret = x\n", 1,
	             "missing 'user' in [host home.dyn.example]");
	expect_error(HOST_HEAD, 1,
	             "missing 'secret_file' (or 'secret') in [host home.dyn.example]");
	expect_error(
	    "[host home.dyn.example]\nserver = ftp://x/\n", 2,
	    "bad value for 'server': must be an http:// or https:// URL without user info");
	expect_error(
	    "[host home.dyn.example]\nserver = http://u:p@x/\n", 2,
	    "bad value for 'server': must be an http:// or https:// URL without user info");
	expect_error(
	    "[host home.dyn.example]\nserver = http:///nic\n", 2,
	    "bad value for 'server': must be an http:// or https:// URL without user info");
	expect_error(HOST_HEAD "secret = x\nprotocol = dyndns3\n", 5,
	             "bad value for 'protocol': must be dyndns2 or rfc2136");
	expect_error(HOST_HEAD "secret = x\ndns_server = 127.0.0.1@53\n", 5,
	             "'dns_server' applies only to protocol = rfc2136");
	expect_error("[client]\nretry_base = 100\nretry_max = 10\n" HOST_HEAD "secret = x\n", 1,
	             "retry_max (10) is smaller than retry_base (100)");
	expect_error("state_dir = /x\n", 1, "key 'state_dir' outside of any section");
	expect_error(HOST_HEAD "user2 = x\n", 4, "unknown key 'user2' in [host home.dyn.example]");
}

static void test_rfc2136(void **state)
{
	(void)state;
	/* "c2VjcmV0LWtleS1ieXRlcw==" is base64 of "secret-key-bytes". */
	assert_int_equal(load("[host home.dyn.example]\n"
	                      "protocol = rfc2136\n"
	                      "dns_server = 127.0.0.1@5300\n"
	                      "tsig_key = home-key\n"
	                      "tsig_secret = c2VjcmV0LWtleS1ieXRlcw==\n"
	                      "ipv4 = static:192.0.2.1\n"),
	                 NP_OK);
	const struct host_cfg *h = &cfg->hosts[0];
	assert_int_equal(h->protocol, PROTO_RFC2136);
	assert_string_equal(h->zone, "dyn.example");
	assert_string_equal(h->tsig_name, "home-key");
	assert_int_equal(h->tsig_key_len, 16);
	assert_memory_equal(h->tsig_key, "secret-key-bytes", 16);
	assert_int_equal(h->ttl, 60);
	const struct sockaddr_in *in = (const struct sockaddr_in *)&h->dns_server;
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 5300);

	write_file(secpath, "c2VjcmV0LWtleS1ieXRlcw==\n", 0600);
	char text[512];
	snprintf(
	    text, sizeof(text),
	    "[host a.b.dyn.example]\nprotocol = rfc2136\ndns_server = ::1\nzone = dyn.example\n"
	    "tsig_key = k\ntsig_secret_file = %s\nttl = 300\nipv6 = static:2001:db8::2\n",
	    secpath);
	assert_int_equal(load(text), NP_OK);
	h = &cfg->hosts[0];
	assert_string_equal(h->zone, "dyn.example");
	assert_int_equal(h->ttl, 300);
	assert_int_equal(h->tsig_key_len, 16);
	assert_int_equal(h->dns_server.ss_family, AF_INET6);
	assert_int_equal(h->ipv4.kind, SOURCE_NONE);

	expect_error("[host home.dyn.example]\nprotocol = rfc2136\ndns_server = 127.0.0.1\n"
	             "tsig_key = k\ntsig_secret = !!!notbase64\n",
	             5, "bad value for 'tsig_secret': must be base64 (at most 128 bytes)");
	expect_error("[host home.dyn.example]\nprotocol = rfc2136\ndns_server = localhost\n", 3,
	             "bad value for 'dns_server': must be ADDR or ADDR@PORT");
	expect_error("[host home.dyn.example]\nprotocol = rfc2136\ndns_server = 127.0.0.1\n"
	             "tsig_key = k\ntsig_secret = c2VjcmV0\nzone = other.example\nipv4 = none\n"
	             "ipv6 = static:2001:db8::3\n",
	             6, "host home.dyn.example is not inside zone other.example");
	expect_error("[host home.dyn.example]\nprotocol = rfc2136\ntsig_key = k\n", 1,
	             "missing 'dns_server' in [host home.dyn.example]");
	expect_error("[host home.dyn.example]\nprotocol = rfc2136\ndns_server = 127.0.0.1\n"
	             "tsig_key = k\ntsig_secret = c2VjcmV0\n",
	             1,
	             "[host home.dyn.example]: checkip without a URL needs 'server' (whose "
	             "/checkip is asked)");
	/* The TSIG secret file is subject to the same mode check. */
	write_file(secpath, "c2VjcmV0\n", 0644);
	assert_int_equal(load(text), NP_EINVAL);
	assert_non_null(strstr(err, "is readable by others (chmod 600)"));
}

/* The digest changes with any edit of the host's own section (and its secret), and only then. */
static void test_digest(void **state)
{
	(void)state;
	uint8_t d1[32], d2[32];
	const char *base =
	    "[client]\ninterval = 60\n" HOST_HEAD "secret = x\nipv4 = static:192.0.2.1\n";
	assert_int_equal(load(base), NP_OK);
	memcpy(d1, cfg->hosts[0].digest, 32);
	assert_int_equal(load(base), NP_OK);
	assert_memory_equal(d1, cfg->hosts[0].digest, 32);
	/* Comments, blank lines and spacing do not count; the [client] section does not. */
	assert_int_equal(load("[client]\ninterval = 120\n\n; note\n[host home.dyn.example]\n"
	                      "server=http://127.0.0.1:8053/nic/update\nuser   =   alice\n"
	                      "secret = x\nipv4 = static:192.0.2.1\n"),
	                 NP_OK);
	assert_memory_equal(d1, cfg->hosts[0].digest, 32);
	/* A different secret, user or source does. */
	assert_int_equal(
	    load("[client]\ninterval = 60\n" HOST_HEAD "secret = y\nipv4 = static:192.0.2.1\n"),
	    NP_OK);
	memcpy(d2, cfg->hosts[0].digest, 32);
	assert_memory_not_equal(d1, d2, 32);
	assert_int_equal(
	    load("[client]\ninterval = 60\n" HOST_HEAD "secret = x\nipv4 = static:192.0.2.2\n"),
	    NP_OK);
	assert_memory_not_equal(d1, cfg->hosts[0].digest, 32);
}

static void test_client_server_is_the_default(void **state)
{
	(void)state;
	const char *text = "[client]\nserver = http://192.0.2.1:8053/nic/update\n"
	                   "[host home.dyn.example]\nuser = alice\nsecret = x\n"
	                   "[host nas.dyn.example]\nserver = https://other.example/nic/update\n"
	                   "user = bob\nsecret = y\n";
	assert_int_equal(load(text), NP_OK);
	assert_string_equal(cfg->hosts[0].server, "http://192.0.2.1:8053/nic/update");
	assert_string_equal(cfg->hosts[1].server, "https://other.example/nic/update");
	/* The inherited URL counts in the digest: another [client] server is another section. */
	uint8_t before[32];
	memcpy(before, cfg->hosts[0].digest, sizeof(before));
	const char *moved = "[client]\nserver = http://192.0.2.2:8053/nic/update\n"
	                    "[host home.dyn.example]\nuser = alice\nsecret = x\n";
	assert_int_equal(load(moved), NP_OK);
	assert_memory_not_equal(before, cfg->hosts[0].digest, sizeof(before));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_secret_file_mode),
	    cmocka_unit_test(test_inline_secret_needs_private_config),
	    cmocka_unit_test(test_sources),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_rfc2136),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_client_server_is_the_default),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
