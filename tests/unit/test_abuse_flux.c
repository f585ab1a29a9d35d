/* SPDX-License-Identifier: MIT */
/* The flux score (src/abuse/flux.c) over a store the test fills, with times it chooses (the
 * clock is the test's): a fast-flux name (40 addresses in a minute from 6 ASNs) is held,
 * a home line with 5 changes in one AS, a CGNAT line changing 24 times a day and a
 * dual-stack router stay ok, and one address held by names of 30 unrelated accounts is
 * flagged while the 30 names of one account are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abuse/asn.h"
#include "abuse/flux.h"
#include "common/err.h"
#include "dns/constants.h"
#include "store/abuse.h"
#include "tmpdir_fixture.h"

static char base[64];
static char dir[128], asn_path[160];
static struct store *st;
static struct asn_db *asn;
static const int64_t T0 = 1800000000;
/* The [abuse] defaults. */
static const struct flux_params P = {86400, 100, 143, 300, 10};

static void no_report(void *ctx, const char *file, unsigned line, const char *why)
{
	(void)ctx;
	fail_msg("%s:%u: %s", file, line, why);
}

static int setup(void **state)
{
	(void)state;
	if (tmpdir_make(base, sizeof(base), "flux") != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/var", base);
	snprintf(asn_path, sizeof(asn_path), "%s/ip2asn.tsv", base);
	FILE *fp = fopen(asn_path, "w");
	if (fp == NULL)
		return -1;
	/* Six ASes of one /8 each a /16, a CGNAT provider, and an IPv6 provider. */
	for (int i = 0; i < 6; i++)
		fprintf(fp, "10.%d.0.0\t10.%d.255.255\t%d\tZZ\tFLUX-AS-%d\n", i, i, 64500 + i, i);
	fprintf(fp, "100.64.0.0\t100.127.255.255\t64510\tZZ\tCGNAT-ISP\n");
	fprintf(fp, "2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64511\tZZ\tV6-ISP\n");
	fprintf(fp, "192.0.2.0\t192.0.2.255\t0\tNone\tNot routed\n");
	fclose(fp);
	static char paths[1][PATH_MAX];
	snprintf(paths[0], sizeof(paths[0]), "%s", asn_path);
	if (asn_db_load((const char(*)[PATH_MAX])paths, 1, no_report, NULL, &asn) != NP_OK)
		return -1;
	return store_open(dir, true, &st) == NP_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	asn_db_free(asn);
	return tmpdir_remove(base);
}

static int64_t user(const char *name)
{
	int64_t id;
	assert_int_equal(store_user_add(st, name, &id), NP_OK);
	return id;
}

static int64_t host(const char *fqdn, int64_t user_id)
{
	struct store_host h = {.user_id = user_id};
	snprintf(h.fqdn, sizeof(h.fqdn), "%s", fqdn);
	snprintf(h.zone, sizeof(h.zone), "dyn.example");
	int64_t id;
	assert_int_equal(store_host_add(st, &h, &id), NP_OK);
	return id;
}

static void changed(int64_t host_id, const char *fqdn, int64_t t, const char *addrs)
{
	struct store_history h = {.host_id = host_id, .fqdn = fqdn, .time = t, .source = "",
	                          .old_addr = "", .new_addr = addrs, .protocol = "dyndns2"};
	assert_int_equal(store_history_add(st, &h), NP_OK);
}

static struct np_addr ip(const char *s)
{
	struct np_addr a;
	assert_int_equal(addr_parse(s, &a), NP_OK);
	return a;
}

static enum store_abuse_state judge(int64_t host_id, int64_t user_id, const char *cand,
                                    int64_t now, struct flux_features *f, char *why)
{
	struct np_addr a = ip(cand);
	assert_int_equal(flux_measure(st, asn, NULL, host_id, user_id, now - P.window, &a, 1, now,
	                              f),
	                 NP_OK);
	enum store_abuse_state s = flux_state(f, &P, why, 512);
	printf("  %-28s score %7.2f holz %7.2f addrs %u asns %u changes/h %u shared %u -> %s\n",
	       cand, f->score, f->holz, f->addrs, f->asns, f->changes_hour, f->shared_accounts,
	       store_abuse_state_name(s));
	return s;
}

static void test_fast_flux_is_held(void **state)
{
	(void)state;
	int64_t u = user("flux"), h = host("flux.dyn.example", u);
	char a[32], why[512];
	struct flux_features f;
	/* 40 updates in one minute, addresses from 6 ASes in turn: the first that crosses. */
	int crossed = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.%d", i % 6, i / 6, 1 + i);
		enum store_abuse_state s = judge(h, u, a, T0 + i + 1, &f, why);
		if (s >= STORE_ABUSE_HOLD) {
			crossed = i + 1;
			break;
		}
		changed(h, "flux.dyn.example", T0 + i + 1, a);
	}
	assert_true(crossed > 0 && crossed <= 24);
	assert_true(f.asns == 6 && f.changes_hour >= 6);
	assert_non_null(strstr(why, "6 ASNs"));
	assert_non_null(strstr(why, "changes in the last hour"));
}

static void test_home_lines_stay_ok(void **state)
{
	(void)state;
	char why[512], a[64];
	struct flux_features f;
	/* Five changes in one AS over a day. */
	int64_t u = user("home"), h = host("home.dyn.example", u);
	for (int i = 0; i < 4; i++) {
		snprintf(a, sizeof(a), "10.3.%d.7", 10 + i);
		changed(h, "home.dyn.example", T0 + i * 3 * 3600, a);
	}
	assert_int_equal(judge(h, u, "10.3.99.7", T0 + 13 * 3600, &f, why), STORE_ABUSE_OK);
	/* A CGNAT line: a new address every hour, 24 a day, in one AS. */
	int64_t u2 = user("cgnat"), h2 = host("cgnat.dyn.example", u2);
	for (int i = 0; i < 23; i++) {
		snprintf(a, sizeof(a), "100.%d.%d.%d", 64 + i % 3, i * 7 % 256, 1 + i);
		changed(h2, "cgnat.dyn.example", T0 + i * 3600, a);
	}
	assert_int_equal(judge(h2, u2, "100.70.1.1", T0 + 23 * 3600, &f, why), STORE_ABUSE_OK);
	assert_true(f.changes == 24 && f.asns == 1 && f.score < P.watch);
	/* A dual-stack router: both families each day, sent as one update each, for a week;
	 * and the same router when its two families come in two quick updates. */
	int64_t u3 = user("dual"), h3 = host("dual.dyn.example", u3);
	for (int d = 0; d < 7; d++) {
		snprintf(a, sizeof(a), "10.4.%d.1,2001:db8:%x::1", d, d);
		changed(h3, "dual.dyn.example", T0 + d * 86400, a);
	}
	changed(h3, "dual.dyn.example", T0 + 7 * 86400, "10.4.7.1");
	assert_int_equal(judge(h3, u3, "2001:db8:7::1", T0 + 7 * 86400 + 2, &f, why),
	                 STORE_ABUSE_OK);
	/* A router flapping between its two uplinks every minute for an hour: misconfigured,
	 * but two addresses are no flux. */
	int64_t u4 = user("flap"), h4 = host("flap.dyn.example", u4);
	for (int i = 0; i < 59; i++)
		changed(h4, "flap.dyn.example", T0 + i * 60, i % 2 ? "10.1.0.9" : "100.64.3.3");
	assert_int_equal(judge(h4, u4, "10.1.0.9", T0 + 59 * 60, &f, why), STORE_ABUSE_OK);
	assert_true(f.changes_hour == 60 && f.addrs == 2);
}

static void test_shared_address(void **state)
{
	(void)state;
	char name[64], fqdn[80], why[512];
	struct flux_features f;
	struct store_rr rr = {.type = DNS_TYPE_A, .ttl = 60, .rdlen = 4, .rdata = {198, 51, 100, 1}};
	/* 30 names of 30 unrelated accounts on one address: the 30th is flagged. */
	int64_t last = 0, last_user = 0;
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "acct%d", i);
		snprintf(fqdn, sizeof(fqdn), "shared%d.dyn.example", i);
		last_user = user(name);
		last = host(fqdn, last_user);
		if (i < 29)
			assert_int_equal(store_records_set(st, last, DNS_TYPE_A, &rr, 1), NP_OK);
	}
	assert_int_equal(judge(last, last_user, "198.51.100.1", T0, &f, why), STORE_ABUSE_WATCH);
	assert_int_equal(f.shared_accounts, 29);
	assert_non_null(strstr(why, "29 other accounts"));
	/* Without the index of addresses (nameplated drops it while the judgement is off) the
	 * count is the same, read by a scan; made again, and asked twice, it still is. */
	assert_int_equal(store_abuse_addr_index(st, false), NP_OK);
	assert_int_equal(store_abuse_addr_index(st, false), NP_OK);
	assert_int_equal(judge(last, last_user, "198.51.100.1", T0, &f, why), STORE_ABUSE_WATCH);
	assert_int_equal(f.shared_accounts, 29);
	assert_int_equal(store_abuse_addr_index(st, true), NP_OK);
	assert_int_equal(store_abuse_addr_index(st, true), NP_OK);
	assert_int_equal(judge(last, last_user, "198.51.100.1", T0, &f, why), STORE_ABUSE_WATCH);
	assert_int_equal(f.shared_accounts, 29);
	/* 30 names of one account on one address: its own names, not flagged. */
	int64_t one = user("one-account");
	struct store_rr rr2 = rr;
	rr2.rdata[3] = 2;
	for (int i = 0; i < 30; i++) {
		snprintf(fqdn, sizeof(fqdn), "mine%d.dyn.example", i);
		last = host(fqdn, one);
		if (i < 29)
			assert_int_equal(store_records_set(st, last, DNS_TYPE_A, &rr2, 1), NP_OK);
	}
	assert_int_equal(judge(last, one, "198.51.100.2", T0, &f, why), STORE_ABUSE_OK);
	assert_int_equal(f.shared_accounts, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fast_flux_is_held),
	    cmocka_unit_test(test_home_lines_stay_ok),
	    cmocka_unit_test(test_shared_address),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
