/* SPDX-License-Identifier: MIT */
/* Tests of the client's address sources: IPv6 publishability, checkip parsing, the
 * server URL helper and the doctor's classification. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "common/str.h"

static struct np_addr A(const char *s) {
	struct np_addr a;
	memset(&a, 0, sizeof(a));
	assert_int_equal(addr_parse(s, &a), NP_OK);
	return a;
}

/* ---- source_ipv6_publishable ---- */

static void
test_publishable_flags(void **state)
{
	(void)state;
	struct np_addr g = A("2001:db8::10");
	assert_true(source_ipv6_publishable(&g, 0));
	assert_true(source_ipv6_publishable(&g, IFA_F_PERMANENT));
	assert_true(source_ipv6_publishable(&g, IFA_F_MANAGETEMPADDR)); /* the stable SLAAC one */
	assert_true(source_ipv6_publishable(&g, IFA_F_NODAD));
	assert_true(source_ipv6_publishable(&g, IFA_F_NOPREFIXROUTE));
	assert_false(source_ipv6_publishable(&g, IFA_F_TEMPORARY));
	assert_false(source_ipv6_publishable(&g, IFA_F_DEPRECATED));
	assert_false(source_ipv6_publishable(&g, IFA_F_TENTATIVE));
	assert_false(source_ipv6_publishable(&g, IFA_F_DADFAILED));
	assert_false(source_ipv6_publishable(&g, IFA_F_TENTATIVE | IFA_F_DADFAILED));
	assert_false(source_ipv6_publishable(&g, IFA_F_PERMANENT | IFA_F_DEPRECATED));
	/* every single flag bit: only the four bad ones refuse */
	for (unsigned bit = 0; bit < 32; bit++) {
		uint32_t f = 1u << bit;
		bool bad =
		    f & (IFA_F_TEMPORARY | IFA_F_DEPRECATED | IFA_F_TENTATIVE | IFA_F_DADFAILED);
		assert_int_equal(source_ipv6_publishable(&g, f), !bad);
	}
}

static void test_publishable_prefixes(void **state)
{
	(void)state;
	static const char *const good[] = {"2001:db8::1", "2a01:4f8::1", "2600::1", "3fff::1",
	                                   "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"};
	static const char *const bad[] = {
	    "fe80::1",         /* link-local */
	    "febf:ffff::1",    /* still fe80::/10 */
	    "fec0::1",         /* site-local (deprecated) */
	    "fc00::1",         /* ULA fc00::/7 */
	    "fd00::1",         /* ULA */
	    "fdff:ffff::1",    /* ULA */
	    "::1",             /* loopback */
	    "::",              /* unspecified */
	    "ff02::1",         /* multicast */
	    "ff0e::1",         /* global multicast */
	    "::ffff:192.0.2.1" /* v4-mapped */
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct np_addr a = A(good[i]);
		assert_true(source_ipv6_publishable(&a, 0));
		assert_false(source_ipv6_publishable(&a, IFA_F_TEMPORARY));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct np_addr a = A(bad[i]);
		assert_false(source_ipv6_publishable(&a, 0));
		assert_false(source_ipv6_publishable(&a, IFA_F_PERMANENT));
	}
	/* fbff:: is just outside fc00::/7 and fe00:: outside fe80::/10 */
	struct np_addr edge = A("fbff::1");
	assert_true(source_ipv6_publishable(&edge, 0));
	edge = A("fe00::1");
	assert_true(source_ipv6_publishable(&edge, 0));
	struct np_addr v4 = A("192.0.2.1");
	assert_false(source_ipv6_publishable(&v4, 0));
	assert_false(source_ipv6_publishable(NULL, 0));
}

/* ---- checkip ---- */

static void expect_parse(const char *body, int family, const char *want)
{
	struct np_addr got, exp;
	char buf[INET6_ADDRSTRLEN];
	int ret = source_checkip_parse(body, strlen(body), family, &got);
	if (want == NULL) {
		assert_int_equal(ret, NP_ENOTFOUND);
		return;
	}
	assert_int_equal(ret, NP_OK);
	exp = A(want);
	if (!addr_equal(&got, &exp))
		fail_msg("%s: got %s, want %s", body, addr_format(&got, buf, sizeof(buf)), want);
}

static void test_checkip_parse(void **state)
{
	(void)state;
	expect_parse("203.0.113.7\n", AF_INET, "203.0.113.7");
	expect_parse("203.0.113.7", 0, "203.0.113.7");
	expect_parse("<html><head><title>Current IP Check</title></head>"
	             "<body>Current IP Address: 198.51.100.4</body></html>\n",
	             AF_INET, "198.51.100.4");
	expect_parse("2001:db8::42\n", AF_INET6, "2001:db8::42");
	expect_parse("2001:db8::42\n", 0, "2001:db8::42");
	expect_parse("2001:db8::42\n", AF_INET, NULL);
	expect_parse("192.0.2.1\n", AF_INET6, NULL);
	/* the first of the requested family */
	expect_parse("v6 2001:db8::1 v4 192.0.2.9", AF_INET, "192.0.2.9");
	expect_parse("v6 2001:db8::1 v4 192.0.2.9", AF_INET6, "2001:db8::1");
	expect_parse("v6 2001:db8::1 v4 192.0.2.9", 0, "2001:db8::1");
	expect_parse("a 192.0.2.1 b 192.0.2.2", AF_INET, "192.0.2.1");
	/* end of sentence */
	expect_parse("Your address is 192.0.2.5.", AF_INET, "192.0.2.5");
	expect_parse("ip=192.0.2.6;", AF_INET, "192.0.2.6");
	expect_parse("{\"ip\":\"192.0.2.8\"}", AF_INET, "192.0.2.8");
	/* strict: no shorthand, no leading zeros, no out-of-range octets, no glued words */
	expect_parse("1.2.3\n", AF_INET, NULL);
	expect_parse("010.1.2.3\n", AF_INET, NULL);
	expect_parse("256.1.2.3\n", AF_INET, NULL);
	expect_parse("1.2.3.4.5\n", AF_INET, NULL);
	expect_parse("x192.0.2.1\n", AF_INET, NULL);
	expect_parse("192.0.2.1z\n", AF_INET, NULL);
	expect_parse("2001:db8:::1\n", AF_INET6, NULL);
	expect_parse("deadbeef\n", 0, NULL);
	expect_parse("", 0, NULL);
	expect_parse("no address here", 0, NULL);
	/* a very long token is skipped, a later address still found */
	expect_parse("1111111111111111111111111111111111111111111111111111 192.0.2.3", AF_INET,
	             "192.0.2.3");

	/* len bounds the search: the address after len is not seen */
	struct np_addr a;
	const char *s = "xxxx 192.0.2.1";
	assert_int_equal(source_checkip_parse(s, 4, 0, &a), NP_ENOTFOUND);
	assert_int_equal(source_checkip_parse(s, strlen(s), 0, &a), NP_OK);
	/* a token cut by len is not completed from the bytes after it */
	assert_int_equal(source_checkip_parse(s, 12, AF_INET, &a), NP_ENOTFOUND);
	/* embedded NUL: the parser honours len, not the terminator */
	const char nul[] = "a\0 192.0.2.77";
	assert_int_equal(source_checkip_parse(nul, sizeof(nul) - 1, AF_INET, &a), NP_OK);
	assert_true(addr_equal(&a, &(struct np_addr){.family = AF_INET, .bytes = {192, 0, 2, 77}}));
}

static void test_server_url(void **state)
{
	(void)state;
	char out[128];
	assert_int_equal(
	    source_server_url("http://127.0.0.1:8053/nic/update", "/checkip", out, sizeof(out)),
	    NP_OK);
	assert_string_equal(out, "http://127.0.0.1:8053/checkip");
	assert_int_equal(source_server_url("https://[2001:db8::1]:8443/nic/update?x=1",
	                                   "/nic/probe?port=80", out, sizeof(out)),
	                 NP_OK);
	assert_string_equal(out, "https://[2001:db8::1]:8443/nic/probe?port=80");
	assert_int_equal(source_server_url("HTTP://dyn.example", "/checkip", out, sizeof(out)),
	                 NP_OK);
	assert_string_equal(out, "HTTP://dyn.example/checkip");
	assert_int_equal(source_server_url("ftp://dyn.example/", "/checkip", out, sizeof(out)),
	                 NP_EINVAL);
	assert_int_equal(source_server_url("dyn.example/nic/update", "/checkip", out, sizeof(out)),
	                 NP_EINVAL);
	assert_int_equal(
	    source_server_url("http://u:p@dyn.example/nic/update", "/checkip", out, sizeof(out)),
	    NP_EINVAL);
	assert_int_equal(source_server_url("http:///nic/update", "/checkip", out, sizeof(out)),
	                 NP_EINVAL);
	assert_int_equal(source_server_url("http://dyn.example/", "/checkip", out, 10), NP_ETOOBIG);
}

/* ---- doctor_classify ---- */

static enum doctor_verdict classify(const char *wan, bool igd, const char *router, const char *seen,
                                    char *why, size_t len)
{
	struct doctor_facts f;
	memset(&f, 0, sizeof(f));
	if (wan != NULL) {
		f.have_wan = true;
		f.wan = A(wan);
	}
	f.igd_found = igd;
	if (router != NULL) {
		f.have_router = true;
		f.router = A(router);
	}
	if (seen != NULL) {
		f.have_seen = true;
		f.seen = A(seen);
	}
	return doctor_classify(&f, why, len);
}

static void test_doctor_classify(void **state)
{
	(void)state;
	char why[400];
	enum doctor_verdict v;

	/* WAN address in 100.64.0.0/10: carrier-grade NAT, whatever else is known */
	v = classify("100.64.1.2", false, NULL, "203.0.113.9", why, sizeof(why));
	assert_int_equal(v, DOCTOR_CGNAT);
	assert_non_null(strstr(why, "carrier-grade NAT"));
	assert_non_null(strstr(why, "100.64.1.2"));
	assert_non_null(strstr(why, "100.64.0.0/10"));
	assert_int_equal(classify("100.127.255.254", false, NULL, NULL, why, sizeof(why)),
	                 DOCTOR_CGNAT);
	/* just outside 100.64/10 */
	assert_int_equal(classify("100.128.0.1", false, NULL, "100.128.0.1", why, sizeof(why)),
	                 DOCTOR_PUBLIC);
	assert_int_equal(
	    classify("100.63.255.255", false, NULL, "100.63.255.255", why, sizeof(why)),
	    DOCTOR_PUBLIC);

	/* the router's external address in 100.64/10 */
	v = classify("192.168.1.20", true, "100.64.1.2", "203.0.113.9", why, sizeof(why));
	assert_int_equal(v, DOCTOR_CGNAT);
	assert_non_null(strstr(why, "router's external address 100.64.1.2"));

	/* the router's external address private: double NAT */
	v = classify("192.168.1.20", true, "192.168.100.2", "203.0.113.9", why, sizeof(why));
	assert_int_equal(v, DOCTOR_DOUBLE_NAT);
	assert_non_null(strstr(why, "double NAT"));
	assert_non_null(strstr(why, "192.168.100.2"));
	assert_int_equal(classify("10.0.0.5", true, "10.1.0.2", NULL, why, sizeof(why)),
	                 DOCTOR_DOUBLE_NAT);
	assert_int_equal(classify("10.0.0.5", true, "172.31.0.2", NULL, why, sizeof(why)),
	                 DOCTOR_DOUBLE_NAT);
	/* 172.32/12 is not RFC 1918 */
	assert_int_equal(classify("10.0.0.5", true, "172.32.0.2", "172.32.0.2", why, sizeof(why)),
	                 DOCTOR_NAT);

	/* the router's public address is not what the server sees */
	v = classify("198.18.0.2", true, "203.0.113.20", "203.0.113.99", why, sizeof(why));
	assert_int_equal(v, DOCTOR_NAT_BEYOND);
	assert_non_null(strstr(why, "another NAT beyond your router"));
	assert_non_null(strstr(why, "203.0.113.99"));

	/* an IGD without a usable external address */
	v = classify("198.18.0.2", true, NULL, "203.0.113.99", why, sizeof(why));
	assert_int_equal(v, DOCTOR_ROUTER_NO_ADDR);
	assert_true(doctor_blocking(v));

	/* public address on this machine */
	v = classify("203.0.113.10", false, NULL, "203.0.113.10", why, sizeof(why));
	assert_int_equal(v, DOCTOR_PUBLIC);
	assert_non_null(strstr(why, "public address 203.0.113.10"));
	assert_false(doctor_blocking(v));

	/* one NAT, confirmed by the IGD */
	v = classify("198.18.0.2", true, "203.0.113.20", "203.0.113.20", why, sizeof(why));
	assert_int_equal(v, DOCTOR_NAT);
	assert_false(doctor_blocking(v));
	/* NAT without an IGD */
	v = classify("198.18.0.2", false, NULL, "203.0.113.20", why, sizeof(why));
	assert_int_equal(v, DOCTOR_NAT);
	assert_non_null(strstr(why, "by hand"));

	/* the server could not be asked */
	assert_int_equal(classify("198.18.0.2", false, NULL, NULL, why, sizeof(why)),
	                 DOCTOR_UNKNOWN);
	assert_int_equal(classify(NULL, false, NULL, NULL, why, sizeof(why)), DOCTOR_UNKNOWN);

	/* blocking and names */
	assert_true(doctor_blocking(DOCTOR_CGNAT));
	assert_true(doctor_blocking(DOCTOR_DOUBLE_NAT));
	assert_true(doctor_blocking(DOCTOR_NAT_BEYOND));
	assert_false(doctor_blocking(DOCTOR_NAT));
	assert_false(doctor_blocking(DOCTOR_UNKNOWN));
	assert_string_equal(doctor_verdict_name(DOCTOR_CGNAT), "cgnat");
	assert_string_equal(doctor_verdict_name(DOCTOR_DOUBLE_NAT), "double-nat");
	assert_string_equal(doctor_verdict_name(DOCTOR_PUBLIC), "public");

	/* a tiny buffer is truncated, never overrun */
	char tiny[8];
	memset(tiny, 'x', sizeof(tiny));
	classify("100.64.1.2", false, NULL, NULL, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

/* ---- source_read: static and none ---- */

static void test_source_static(void **state)
{
	(void)state;
	struct client_cfg cfg;
	struct host_cfg h;
	struct source_cfg src;
	struct np_addr out;
	memset(&cfg, 0, sizeof(cfg));
	memset(&h, 0, sizeof(h));
	memset(&src, 0, sizeof(src));
	src.kind = SOURCE_STATIC;
	src.addr = A("192.0.2.44");
	assert_int_equal(source_read(&cfg, &h, AF_INET, &src, &out), NP_OK);
	assert_true(addr_equal(&out, &src.addr));
	assert_int_equal(source_read(&cfg, &h, AF_INET6, &src, &out), NP_EINVAL);
	src.kind = SOURCE_NONE;
	assert_int_equal(source_read(&cfg, &h, AF_INET, &src, &out), NP_ENOTFOUND);
	/* an interface that does not exist */
	src.kind = SOURCE_INTERFACE;
	np_strlcpy(src.arg, "np-no-such0", sizeof(src.arg));
	assert_int_equal(source_read(&cfg, &h, AF_INET, &src, &out), NP_ENOTFOUND);
	/* loopback has only 127.0.0.1 and ::1: nothing usable */
	np_strlcpy(src.arg, "lo", sizeof(src.arg));
	assert_int_equal(source_read(&cfg, &h, AF_INET, &src, &out), NP_ENOTFOUND);
	assert_int_equal(source_read(&cfg, &h, AF_INET6, &src, &out), NP_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_publishable_flags), cmocka_unit_test(test_publishable_prefixes),
	    cmocka_unit_test(test_checkip_parse),     cmocka_unit_test(test_server_url),
	    cmocka_unit_test(test_doctor_classify),   cmocka_unit_test(test_source_static),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
