/* SPDX-License-Identifier: MIT */
/* Unit tests for the observation index: verdict rules, window edges, aggregation,
 * eviction, retention, bounded lists, evidence and checkpoint iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>

#include "common/str.h"
#include "observe/index.h"

/* An hour-aligned "now" so window edges fall on bucket edges. */
#define T0  ((int64_t)472222 * 3600)
#define DAY 86400

static struct np_addr A(const char *s) {
	struct np_addr a;
	assert_int_equal(addr_parse(s, &a), 0);
	return a;
}

static void
add_ex(struct obs_index *ix, const char *src, int64_t t, enum obs_kind k, uint16_t port,
       const char *user, const char *pass)
{
	struct obs_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.src = A(src);
	ev.time = t;
	ev.kind = k;
	ev.proto = IPPROTO_TCP;
	ev.dst_port = port;
	if (user != NULL) {
		np_strlcpy(ev.user, user, sizeof(ev.user));
		np_strlcpy(ev.pass, pass, sizeof(ev.pass));
	}
	assert_int_equal(obs_index_add(ix, &ev), 0);
}

static void add(struct obs_index *ix, const char *src, int64_t t, enum obs_kind k, uint16_t port)
{
	add_ex(ix, src, t, k, port, NULL, NULL);
}

static struct obs_verdict verdict(const struct obs_index *ix, const char *a, int64_t now)
{
	struct obs_verdict v;
	struct np_addr addr = A(a);
	assert_int_equal(obs_index_verdict(ix, &addr, now, &v), 0);
	return v;
}

static struct obs_index *new_ix(size_t cap)
{
	struct obs_index *ix = obs_index_new(cap, 0);
	assert_non_null(ix);
	return ix;
}

static uint64_t port_count(const struct obs_verdict *v, uint16_t port)
{
	for (size_t i = 0; i < v->n_ports; i++)
		if (v->ports[i].port == port)
			return v->ports[i].count;
	return 0;
}

static void test_mirai_rule(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	add(ix, "198.51.100.7", T0 - 600, OBS_MIRAI_SYN, 23);
	struct obs_verdict v = verdict(ix, "198.51.100.7", T0);
	/* One fingerprint SYN can be chance (2^-32 per packet): suspicious only. */
	assert_int_equal(v.verdict, OBS_SUSPICIOUS);
	assert_int_equal(v.fingerprint_hits, 1);
	add(ix, "198.51.100.7", T0 - 300, OBS_MIRAI_SYN, 2323);
	v = verdict(ix, "198.51.100.7", T0);
	assert_int_equal(v.verdict, OBS_INFECTED);
	assert_int_equal(v.rule, OBS_RULE_MIRAI_SYN);
	assert_string_equal(obs_verdict_name(v.verdict), "infected");
	assert_string_equal(obs_rule_name(v.rule), "mirai_syn");
	assert_int_equal(v.fingerprint_hits, 2);
	assert_int_equal(v.packets, 2);
	assert_int_equal(port_count(&v, 23), 1);
	assert_int_equal(port_count(&v, 2323), 1);
	assert_int_equal(v.first_seen, T0 - 600);
	assert_int_equal(v.last_seen, T0 - 300);
	/* Another address is untouched. */
	v = verdict(ix, "198.51.100.8", T0);
	assert_int_equal(v.verdict, OBS_NOT_OBSERVED);
	assert_string_equal(obs_verdict_name(v.verdict), "not_observed");
	assert_int_equal(v.packets, 0);
	assert_int_equal(v.first_seen, 0);
	obs_index_free(ix);
}

static void test_login_rules(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	/* Two non-default attempts: below the brute-force threshold. */
	add_ex(ix, "192.0.2.10", T0 - 100, OBS_LOGIN, 23, "pi", "raspberry1");
	add_ex(ix, "192.0.2.10", T0 - 90, OBS_LOGIN, 23, "pi", "hunter2");
	struct obs_verdict v = verdict(ix, "192.0.2.10", T0);
	assert_int_equal(v.verdict, OBS_SUSPICIOUS);
	assert_int_equal(v.login_attempts, 2);
	assert_int_equal(v.n_creds, 2);
	add_ex(ix, "192.0.2.10", T0 - 80, OBS_LOGIN, 23, "pi", "hunter2");
	v = verdict(ix, "192.0.2.10", T0);
	assert_int_equal(v.verdict, OBS_INFECTED);
	assert_int_equal(v.rule, OBS_RULE_BRUTE_FORCE);
	assert_int_equal(v.login_attempts, 3);
	assert_int_equal(v.n_creds, 2);
	assert_string_equal(v.creds[1].user, "pi");
	assert_string_equal(v.creds[1].pass, "hunter2");
	assert_int_equal(v.creds[1].count, 2);
	assert_int_equal(v.creds[1].first, T0 - 90);
	assert_int_equal(v.creds[1].last, T0 - 80);
	assert_false(v.creds[1].is_default);

	/* A single Mirai default pair is enough. */
	add_ex(ix, "192.0.2.11", T0 - 100, OBS_LOGIN, 2323, "root", "xc3511");
	v = verdict(ix, "192.0.2.11", T0);
	assert_int_equal(v.verdict, OBS_INFECTED);
	assert_int_equal(v.rule, OBS_RULE_DEFAULT_CRED);
	assert_int_equal(v.default_cred_hits, 1);
	assert_int_equal(v.n_creds, 1);
	assert_true(v.creds[0].is_default);
	assert_int_equal(port_count(&v, 2323), 1);
	assert_true(obs_cred_is_default("Administrator", "meinsm"));
	assert_true(obs_cred_is_default("admin", "4321"));
	assert_true(obs_cred_is_default("root", ""));
	assert_false(obs_cred_is_default("root", "xc35111"));
	assert_false(obs_cred_is_default("ROOT", "xc3511"));
	obs_index_free(ix);
}

static void test_download_rule(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	add(ix, "192.0.2.20", T0 - 5, OBS_DOWNLOAD, 23);
	struct obs_verdict v = verdict(ix, "192.0.2.20", T0);
	assert_int_equal(v.verdict, OBS_INFECTED);
	assert_int_equal(v.rule, OBS_RULE_DOWNLOAD);
	assert_int_equal(v.downloads, 1);
	assert_string_equal(obs_rule_name(v.rule), "malware_download");
	obs_index_free(ix);
}

static void test_iot_scan_rule(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	add(ix, "192.0.2.30", T0 - 5, OBS_SCAN, 37215);
	add(ix, "192.0.2.30", T0 - 4, OBS_SCAN, 7547);
	struct obs_verdict v = verdict(ix, "192.0.2.30", T0);
	assert_int_equal(v.verdict, OBS_SUSPICIOUS);
	assert_int_equal(v.rule, OBS_RULE_IOT_SCAN);
	assert_int_equal(v.iot_port_hits, 2);
	assert_int_equal(v.fingerprint_hits, 0);

	/* Scans of non-IoT ports are shown but decide nothing. */
	add(ix, "192.0.2.31", T0 - 5, OBS_SCAN, 3389);
	add(ix, "192.0.2.31", T0 - 5, OBS_SCAN, 445);
	v = verdict(ix, "192.0.2.31", T0);
	assert_int_equal(v.verdict, OBS_NOT_OBSERVED);
	assert_int_equal(v.rule, OBS_RULE_NONE);
	assert_int_equal(v.packets, 2);
	assert_int_equal(port_count(&v, 3389), 1);

	/* An HTTP exploit path or a plain connect on an IoT port is suspicious. */
	add(ix, "192.0.2.32", T0 - 5, OBS_HTTP_EXPLOIT, 8080);
	assert_int_equal(verdict(ix, "192.0.2.32", T0).verdict, OBS_SUSPICIOUS);
	add(ix, "192.0.2.33", T0 - 5, OBS_CONNECT, 5555);
	assert_int_equal(verdict(ix, "192.0.2.33", T0).verdict, OBS_SUSPICIOUS);
	assert_true(obs_port_is_iot(23) && obs_port_is_iot(52869) && obs_port_is_iot(60001));
	assert_false(obs_port_is_iot(443));
	obs_index_free(ix);
}

static void test_backscatter_research_never_count(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	for (int i = 0; i < 50; i++) {
		add(ix, "203.0.113.5", T0 - 100 + i, OBS_BACKSCATTER, 23);
		add(ix, "203.0.113.5", T0 - 100 + i, OBS_RESEARCH, 23);
		add(ix, "203.0.113.5", T0 - 100 + i, OBS_OTHER, 2323);
	}
	struct obs_verdict v = verdict(ix, "203.0.113.5", T0);
	assert_int_equal(v.verdict, OBS_NOT_OBSERVED);
	assert_int_equal(v.rules, 0);
	assert_int_equal(v.packets, 0);
	assert_int_equal(v.iot_port_hits, 0);
	assert_int_equal(v.n_ports, 0);
	assert_int_equal(v.first_seen, 0);
	assert_int_equal(v.last_seen, 0);
	/* They are kept for information only. */
	assert_int_equal(v.kind_count[OBS_BACKSCATTER], 50);
	assert_int_equal(v.kind_count[OBS_RESEARCH], 50);

	/* Mixed with one fingerprint SYN they still add nothing to it. */
	add(ix, "203.0.113.5", T0 - 10, OBS_MIRAI_SYN, 23);
	v = verdict(ix, "203.0.113.5", T0);
	assert_int_equal(v.verdict, OBS_SUSPICIOUS);
	assert_int_equal(v.packets, 1);
	assert_int_equal(port_count(&v, 23), 1);
	assert_int_equal(port_count(&v, 2323), 0);
	assert_int_equal(v.first_seen, T0 - 10);
	obs_index_free(ix);
}

static void test_window_edges(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	int64_t ws = T0 - DAY; /* hour-aligned */
	/* Exactly at the window start: counts. One second earlier (previous hour): not. */
	add(ix, "192.0.2.40", ws, OBS_MIRAI_SYN, 23);
	add(ix, "192.0.2.40", ws - 1, OBS_MIRAI_SYN, 23);
	struct obs_verdict v = verdict(ix, "192.0.2.40", T0);
	assert_int_equal(v.fingerprint_hits, 1);
	assert_int_equal(v.verdict, OBS_SUSPICIOUS);
	assert_int_equal(v.first_seen, ws);
	assert_int_equal(v.window_start, ws);
	assert_int_equal(v.window_end, T0);
	/* At now: counts; after now: not. */
	add(ix, "192.0.2.40", T0, OBS_MIRAI_SYN, 23);
	v = verdict(ix, "192.0.2.40", T0);
	assert_int_equal(v.fingerprint_hits, 2);
	assert_int_equal(v.verdict, OBS_INFECTED);
	assert_int_equal(v.last_seen, T0);
	add(ix, "192.0.2.41", T0 + 1, OBS_MIRAI_SYN, 23);
	add(ix, "192.0.2.41", T0 + 2, OBS_MIRAI_SYN, 23);
	assert_int_equal(verdict(ix, "192.0.2.41", T0).verdict, OBS_NOT_OBSERVED);
	assert_int_equal(verdict(ix, "192.0.2.41", T0 + 2).verdict, OBS_INFECTED);
	/* A day later the first address has aged out of the window. */
	v = verdict(ix, "192.0.2.40", T0 + DAY + 1);
	assert_int_equal(v.verdict, OBS_NOT_OBSERVED);
	assert_int_equal(v.packets, 0);
	/* Hour resolution: a bucket that straddles the start counts whole. */
	add(ix, "192.0.2.42", T0 - DAY - 1800 - 10, OBS_MIRAI_SYN, 23);
	add(ix, "192.0.2.42", T0 - DAY - 1800 + 10, OBS_MIRAI_SYN, 23);
	v = verdict(ix, "192.0.2.42", T0 - 1800);
	assert_int_equal(v.fingerprint_hits, 2);
	assert_int_equal(v.first_seen, T0 - DAY - 1800 - 10);
	/* Credential pairs tried only before the window are not listed. */
	add_ex(ix, "192.0.2.43", ws - 7200, OBS_LOGIN, 23, "a", "b");
	add_ex(ix, "192.0.2.43", T0 - 5, OBS_LOGIN, 23, "c", "d");
	v = verdict(ix, "192.0.2.43", T0);
	assert_int_equal(v.login_attempts, 1);
	assert_int_equal(v.n_creds, 1);
	assert_string_equal(v.creds[0].user, "c");
	obs_index_free(ix);
}

static void test_ipv6_per_64(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	add(ix, "2001:db8:1:2::1", T0 - 50, OBS_MIRAI_SYN, 23);
	add(ix, "2001:db8:1:2:ffff:ffff:ffff:fffe", T0 - 40, OBS_MIRAI_SYN, 23);
	struct obs_verdict v = verdict(ix, "2001:db8:1:2::abcd", T0);
	assert_int_equal(v.verdict, OBS_INFECTED);
	assert_int_equal(v.fingerprint_hits, 2);
	assert_int_equal(verdict(ix, "2001:db8:1:3::1", T0).verdict, OBS_NOT_OBSERVED);
	/* An IPv4 address with the same leading bytes is another key. */
	assert_int_equal(verdict(ix, "32.1.13.184", T0).verdict, OBS_NOT_OBSERVED);
	struct obs_index_stats st;
	obs_index_stats(ix, &st);
	assert_int_equal(st.addrs, 1);
	obs_index_free(ix);
}

struct collect {
	size_t n;
	char addrs[16][64];
	size_t n_buckets[16];
	struct obs_bucket buckets[16][8];
	struct obs_cred creds[16][OBS_MAX_CREDS];
	struct obs_addr_record rec[16];
};

static int collect_cb(const struct obs_addr_record *rec, void *ctx)
{
	struct collect *c = ctx;
	assert_true(c->n < 16);
	assert_true(rec->n_buckets <= 8);
	addr_format(&rec->addr, c->addrs[c->n], sizeof(c->addrs[c->n]));
	c->n_buckets[c->n] = rec->n_buckets;
	memcpy(c->buckets[c->n], rec->buckets, rec->n_buckets * sizeof(*rec->buckets));
	if (rec->n_creds > 0)
		memcpy(c->creds[c->n], rec->creds, rec->n_creds * sizeof(*rec->creds));
	c->rec[c->n] = *rec;
	c->rec[c->n].buckets = c->buckets[c->n];
	c->rec[c->n].creds = c->creds[c->n];
	c->n++;
	return 0;
}

static void test_ipv6_record_prefix(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	add(ix, "2001:db8:1:2:3:4:5:6", T0, OBS_SCAN, 23);
	struct collect *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(obs_index_foreach(ix, collect_cb, c), 0);
	assert_int_equal(c->n, 1);
	/* Only the /64 is kept: host bits are never stored. */
	assert_string_equal(c->addrs[0], "2001:db8:1:2::");
	free(c);
	obs_index_free(ix);
}

static void test_eviction_order(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(3);
	add(ix, "192.0.2.1", T0 + 1, OBS_DOWNLOAD, 23);
	add(ix, "192.0.2.2", T0 + 2, OBS_DOWNLOAD, 23);
	add(ix, "192.0.2.3", T0 + 3, OBS_DOWNLOAD, 23);
	add(ix, "192.0.2.1", T0 + 4, OBS_DOWNLOAD, 23); /* .1 is now the most recent */
	add(ix, "192.0.2.4", T0 + 5, OBS_DOWNLOAD, 23); /* evicts .2 */
	assert_int_equal(verdict(ix, "192.0.2.2", T0 + 10).verdict, OBS_NOT_OBSERVED);
	assert_int_equal(verdict(ix, "192.0.2.1", T0 + 10).downloads, 2);
	assert_int_equal(verdict(ix, "192.0.2.3", T0 + 10).verdict, OBS_INFECTED);
	assert_int_equal(verdict(ix, "192.0.2.4", T0 + 10).verdict, OBS_INFECTED);
	add(ix, "192.0.2.5", T0 + 6, OBS_DOWNLOAD, 23); /* evicts .3 */
	assert_int_equal(verdict(ix, "192.0.2.3", T0 + 10).verdict, OBS_NOT_OBSERVED);
	assert_int_equal(verdict(ix, "192.0.2.1", T0 + 10).verdict, OBS_INFECTED);
	struct obs_index_stats st;
	obs_index_stats(ix, &st);
	assert_int_equal(st.addrs, 3);
	assert_int_equal(st.evicted, 2);

	/* Iteration runs least recently updated first: .1, .4, .5. */
	struct collect *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(obs_index_foreach(ix, collect_cb, c), 0);
	assert_int_equal(c->n, 3);
	assert_string_equal(c->addrs[0], "192.0.2.1");
	assert_string_equal(c->addrs[1], "192.0.2.4");
	assert_string_equal(c->addrs[2], "192.0.2.5");
	free(c);

	/* Memory stays flat while addresses churn at the cap. */
	size_t before = obs_index_bytes(ix);
	char buf[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "10.0.%d.%d", i / 256, i % 256);
		add(ix, buf, T0 + 100 + i, OBS_SCAN, 23);
	}
	obs_index_stats(ix, &st);
	assert_int_equal(st.addrs, 3);
	assert_int_equal(obs_index_bytes(ix), before);
	obs_index_free(ix);
}

static void test_retention(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	add(ix, "192.0.2.50", T0, OBS_SCAN, 23);           /* old, then silent */
	add(ix, "192.0.2.51", T0 + 5 * DAY, OBS_SCAN, 23); /* recent */
	add(ix, "192.0.2.52", T0, OBS_SCAN, 23);           /* old and recent */
	add(ix, "192.0.2.52", T0 + 7 * DAY + 3600, OBS_SCAN, 23);
	add_ex(ix, "192.0.2.50", T0, OBS_LOGIN, 23, "x", "y");
	size_t before = obs_index_bytes(ix);
	/* Re-touching .51/.52 keeps them newest, so .50 is the LRU tail. */
	add(ix, "192.0.2.51", T0 + 5 * DAY + 1, OBS_SCAN, 23);
	add(ix, "192.0.2.52", T0 + 7 * DAY + 3601, OBS_SCAN, 23);

	size_t dropped = obs_index_prune(ix, T0 + 7 * DAY + 7200);
	assert_int_equal(dropped, 1);
	assert_true(obs_index_bytes(ix) < before);
	struct obs_index_stats st;
	obs_index_stats(ix, &st);
	assert_int_equal(st.addrs, 2);
	assert_int_equal(st.pruned, 1);

	struct collect *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(obs_index_foreach(ix, collect_cb, c), 0);
	assert_int_equal(c->n, 2);
	assert_string_equal(c->addrs[0], "192.0.2.51");
	assert_string_equal(c->addrs[1], "192.0.2.52");
	/* .52's hour at T0 is past retention: not shown. */
	assert_int_equal(c->n_buckets[1], 1);
	assert_int_equal(c->buckets[1][0].hour, (T0 + 7 * DAY + 3600) / 3600);
	free(c);

	/* Events older than the retention window are ignored. */
	add(ix, "192.0.2.53", T0, OBS_DOWNLOAD, 23);
	obs_index_stats(ix, &st);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.addrs, 2);
	assert_int_equal(verdict(ix, "192.0.2.53", T0 + 1).verdict, OBS_NOT_OBSERVED);

	/* Bad arguments. */
	assert_null(obs_index_new(0, 0));
	assert_null(obs_index_new(10, 3600));
	struct obs_event ev;
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(obs_index_add(ix, &ev), NP_EINVAL);
	ev.src = A("192.0.2.1");
	ev.kind = OBS_KIND_COUNT;
	assert_int_equal(obs_index_add(ix, &ev), NP_EINVAL);
	ev.kind = OBS_SCAN;
	ev.time = -1;
	assert_int_equal(obs_index_add(ix, &ev), NP_EINVAL);
	struct np_addr bad = {0};
	struct obs_verdict v;
	assert_int_equal(obs_index_verdict(ix, &bad, T0, &v), NP_EINVAL);
	obs_index_free(ix);
}

static void test_bounded_lists(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	/* 20 ports in one hour: 6 listed per bucket, the rest counted. */
	for (uint16_t p = 0; p < 20; p++)
		add(ix, "192.0.2.60", T0 - 100, OBS_SCAN, (uint16_t)(1000 + p));
	struct obs_verdict v = verdict(ix, "192.0.2.60", T0);
	assert_int_equal(v.n_ports, OBS_BUCKET_PORTS);
	assert_int_equal(v.other_ports, 20 - OBS_BUCKET_PORTS);
	assert_int_equal(v.packets, 20);

	/* 5 hours x 6 new ports: the verdict lists 16, the rest in other_ports. */
	for (int h = 0; h < 5; h++)
		for (int p = 0; p < 6; p++)
			for (int k = 0; k <= h; k++)
				add(ix, "192.0.2.61", T0 - (5 - h) * 3600, OBS_SCAN,
				    (uint16_t)(2000 + h * 10 + p));
	v = verdict(ix, "192.0.2.61", T0);
	assert_int_equal(v.n_ports, OBS_VERDICT_PORTS);
	assert_int_equal(v.packets, 6 * (1 + 2 + 3 + 4 + 5));
	uint64_t listed = 0;
	for (size_t i = 0; i < v.n_ports; i++) {
		listed += v.ports[i].count;
		if (i > 0)
			assert_true(v.ports[i - 1].count >= v.ports[i].count);
	}
	assert_int_equal(listed + v.other_ports, v.packets);
	/* Busiest first: the last hour's ports had 5 packets each. */
	assert_int_equal(v.ports[0].count, 5);
	assert_true(v.ports[0].port >= 2040 && v.ports[0].port < 2046);

	/* 12 distinct pairs: 8 listed, every attempt counted. */
	char u[8], p[8];
	for (int i = 0; i < 12; i++) {
		snprintf(u, sizeof(u), "u%d", i);
		snprintf(p, sizeof(p), "p%d", i);
		add_ex(ix, "192.0.2.62", T0 - 100 + i, OBS_LOGIN, 23, u, p);
	}
	v = verdict(ix, "192.0.2.62", T0);
	assert_int_equal(v.login_attempts, 12);
	assert_int_equal(v.n_creds, OBS_MAX_CREDS);
	assert_string_equal(v.creds[0].user, "u0");
	assert_string_equal(v.creds[7].pass, "p7");

	/* A full list gives way to new pairs once the old ones are out of the window. */
	add_ex(ix, "192.0.2.62", T0 + DAY, OBS_LOGIN, 23, "late", "pair");
	v = verdict(ix, "192.0.2.62", T0 + DAY);
	assert_int_equal(v.n_creds, 1);
	assert_string_equal(v.creds[0].user, "late");

	/* Pairs are cut at 32 bytes, even without a terminating NUL. */
	struct obs_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.src = A("192.0.2.63");
	ev.time = T0 - 1;
	ev.kind = OBS_LOGIN;
	ev.dst_port = 23;
	memset(ev.user, 'u', sizeof(ev.user));
	memset(ev.pass, 'p', sizeof(ev.pass));
	assert_int_equal(obs_index_add(ix, &ev), 0);
	v = verdict(ix, "192.0.2.63", T0);
	assert_int_equal(v.n_creds, 1);
	assert_int_equal(strlen(v.creds[0].user), 32);
	assert_int_equal(strlen(v.creds[0].pass), 32);
	obs_index_free(ix);
}

static void test_evidence_and_reload(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	add(ix, "198.51.100.1", T0 - 5 * 3600 + 7, OBS_MIRAI_SYN, 23);
	for (int i = 0; i < 9; i++)
		add(ix, "198.51.100.1", T0 - 3600 + i, OBS_MIRAI_SYN, 23);
	add(ix, "198.51.100.1", T0 - 60, OBS_MIRAI_SYN, 2323);
	add(ix, "198.51.100.1", T0 - 50, OBS_BACKSCATTER, 80);
	add_ex(ix, "198.51.100.1", T0 - 30, OBS_LOGIN, 23, "admin", "admin");
	add(ix, "198.51.100.1", T0 - 20, OBS_DOWNLOAD, 23);
	struct obs_verdict v = verdict(ix, "198.51.100.1", T0);
	assert_int_equal(v.verdict, OBS_INFECTED);
	assert_int_equal(v.rule, OBS_RULE_MIRAI_SYN);
	assert_int_equal(v.rules, OBS_RULE_MIRAI_SYN | OBS_RULE_DOWNLOAD | OBS_RULE_DEFAULT_CRED |
	                              OBS_RULE_IOT_SCAN | OBS_RULE_FEW_SIGNS);
	assert_int_equal(v.fingerprint_hits, 11);
	assert_int_equal(v.packets, 13);
	assert_int_equal(v.first_seen, T0 - 5 * 3600 + 7);
	assert_int_equal(v.last_seen, T0 - 20);
	assert_int_equal(v.n_ports, 2);
	assert_int_equal(v.ports[0].port, 23);
	assert_int_equal(v.ports[0].count, 12);
	assert_int_equal(v.ports[1].port, 2323);
	assert_int_equal(v.ports[1].count, 1);
	assert_int_equal(v.kind_count[OBS_BACKSCATTER], 1);
	assert_int_equal(v.n_creds, 1);
	assert_string_equal(v.creds[0].user, "admin");

	/* A checkpoint (foreach) loaded into a fresh index gives the same verdict. */
	add(ix, "2001:db8::1", T0 - 10, OBS_SCAN, 7547);
	struct collect *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(obs_index_foreach(ix, collect_cb, c), 0);
	assert_int_equal(c->n, 2);
	struct obs_index *ix2 = new_ix(100);
	for (size_t i = 0; i < c->n; i++)
		assert_int_equal(obs_index_load(ix2, &c->rec[i]), 0);
	struct obs_verdict w = verdict(ix2, "198.51.100.1", T0);
	assert_int_equal(w.verdict, v.verdict);
	assert_int_equal(w.rules, v.rules);
	assert_int_equal(w.packets, v.packets);
	assert_int_equal(w.first_seen, v.first_seen);
	assert_int_equal(w.last_seen, v.last_seen);
	assert_int_equal(w.n_ports, v.n_ports);
	assert_memory_equal(w.ports, v.ports, sizeof(v.ports));
	assert_int_equal(w.n_creds, 1);
	assert_memory_equal(&w.creds[0], &v.creds[0], sizeof(v.creds[0]));
	assert_int_equal(verdict(ix2, "2001:db8::77", T0).verdict, OBS_SUSPICIOUS);
	/* Order is kept: the IPv6 prefix is the most recently updated in both. */
	struct collect *c2 = calloc(1, sizeof(*c2));
	assert_non_null(c2);
	assert_int_equal(obs_index_foreach(ix2, collect_cb, c2), 0);
	assert_string_equal(c2->addrs[0], "198.51.100.1");
	assert_string_equal(c2->addrs[1], "2001:db8::");
	free(c2);
	free(c);
	obs_index_free(ix2);
	obs_index_free(ix);
	obs_index_free(NULL);
}

static int stop_cb(const struct obs_addr_record *rec, void *ctx)
{
	(void)rec;
	int *n = ctx;
	return ++*n == 2 ? 7 : 0;
}

static void test_foreach_stops(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(10);
	add(ix, "192.0.2.1", T0, OBS_SCAN, 23);
	add(ix, "192.0.2.2", T0, OBS_SCAN, 23);
	add(ix, "192.0.2.3", T0, OBS_SCAN, 23);
	int n = 0;
	assert_int_equal(obs_index_foreach(ix, stop_cb, &n), 7);
	assert_int_equal(n, 2);
	obs_index_free(ix);
}

static int nb_cb(const struct obs_addr_record *rec, void *ctx)
{
	size_t *nb = ctx;
	*nb = rec->n_buckets;
	for (size_t i = 1; i < rec->n_buckets; i++)
		assert_true(rec->buckets[i - 1].hour < rec->buckets[i].hour);
	return 0;
}

/* Without any prune call, one address still holds at most retention/3600 + 1 hours. */
static void test_bucket_bound(void **state)
{
	(void)state;
	struct obs_index *ix = obs_index_new(10, 2 * DAY);
	assert_non_null(ix);
	for (int h = 0; h < 100; h++)
		add(ix, "192.0.2.70", T0 + h * 3600, OBS_SCAN, 23);
	size_t nb = 0;
	assert_int_equal(obs_index_foreach(ix, nb_cb, &nb), 0);
	assert_int_equal(nb, 49);
	size_t bytes = obs_index_bytes(ix);
	/* Older than every hour held: ignored. Out of order but inside: kept in order. */
	add(ix, "192.0.2.70", T0, OBS_SCAN, 23);
	struct obs_index_stats st;
	obs_index_stats(ix, &st);
	assert_int_equal(st.stale, 1);
	add(ix, "192.0.2.70", T0 + 99 * 3600 + 1, OBS_MIRAI_SYN, 23);
	add(ix, "192.0.2.70", T0 + 120 * 3600, OBS_MIRAI_SYN, 23);
	assert_int_equal(obs_index_foreach(ix, nb_cb, &nb), 0);
	assert_int_equal(nb, 49);
	assert_int_equal(obs_index_bytes(ix), bytes);
	assert_int_equal(verdict(ix, "192.0.2.70", T0 + 120 * 3600).verdict, OBS_INFECTED);
	obs_index_free(ix);
}

struct race {
	struct obs_index *ix;
	int done;
};

static void *adder(void *arg)
{
	struct race *r = arg;
	struct obs_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = OBS_MIRAI_SYN;
	ev.dst_port = 23;
	for (int i = 0; i < 20000; i++) {
		ev.src.family = AF_INET;
		ev.src.bytes[0] = 10;
		ev.src.bytes[2] = (uint8_t)(i >> 8);
		ev.src.bytes[3] = (uint8_t)i;
		ev.time = T0 - 100 + i % 50;
		if (obs_index_add(r->ix, &ev) != 0)
			return NULL;
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* One thread adds while this one asks for verdicts: every verdict is consistent. */
static void test_concurrent_verdicts(void **state)
{
	(void)state;
	struct race r = {new_ix(5000), 0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, adder, &r), 0);
	struct np_addr a = A("10.0.0.1");
	int rounds = 0;
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) && rounds < 1000000) {
		struct obs_verdict v;
		a.bytes[3] = (uint8_t)rounds;
		assert_int_equal(obs_index_verdict(r.ix, &a, T0, &v), 0);
		assert_int_equal(v.packets, v.fingerprint_hits);
		assert_true(v.n_ports <= 1);
		rounds++;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	struct obs_index_stats st;
	obs_index_stats(r.ix, &st);
	assert_int_equal(st.addrs, 5000);
	assert_int_equal(st.events, 20000);
	obs_index_free(r.ix);
}

/* ---- event counts, dirty tracking, dropped keys, verdict ranges ---- */

static void add_n(struct obs_index *ix, const char *src, int64_t t, enum obs_kind k, uint16_t port,
                  uint32_t count, const char *user, const char *pass)
{
	struct obs_event ev = {.src = A(src),
	                       .time = t,
	                       .kind = k,
	                       .proto = IPPROTO_TCP,
	                       .dst_port = port,
	                       .count = count};
	if (user != NULL) {
		np_strlcpy(ev.user, user, sizeof(ev.user));
		np_strlcpy(ev.pass, pass, sizeof(ev.pass));
	}
	assert_int_equal(obs_index_add(ix, &ev), 0);
}

static void test_event_count(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	/* 0 and 1 both mean one event. */
	add_n(ix, "198.51.100.7", T0 - 60, OBS_MIRAI_SYN, 23, 0, NULL, NULL);
	struct obs_verdict v = verdict(ix, "198.51.100.7", T0);
	assert_int_equal(v.fingerprint_hits, 1);
	add_n(ix, "198.51.100.7", T0 - 50, OBS_MIRAI_SYN, 23, 1, NULL, NULL);
	add_n(ix, "198.51.100.7", T0 - 40, OBS_MIRAI_SYN, 2323, 40, NULL, NULL);
	v = verdict(ix, "198.51.100.7", T0);
	assert_int_equal(v.fingerprint_hits, 42);
	assert_int_equal(v.iot_port_hits, 42);
	assert_int_equal(port_count(&v, 23), 2);
	assert_int_equal(port_count(&v, 2323), 40);
	assert_int_equal(v.verdict, OBS_INFECTED);

	/* A folded login counts every attempt: brute force and a default pair. */
	add_n(ix, "198.51.100.8", T0 - 60, OBS_LOGIN, 23, 5, "root", "xc3511");
	v = verdict(ix, "198.51.100.8", T0);
	assert_int_equal(v.login_attempts, 5);
	assert_int_equal(v.default_cred_hits, 5);
	assert_int_equal(v.n_creds, 1);
	assert_int_equal(v.creds[0].count, 5);
	assert_true((v.rules & OBS_RULE_BRUTE_FORCE) != 0);

	/* Counters saturate instead of wrapping. */
	for (int i = 0; i < 5; i++)
		add_n(ix, "198.51.100.9", T0 - 60, OBS_SCAN, 80, 1000000000u, NULL, NULL);
	v = verdict(ix, "198.51.100.9", T0);
	assert_int_equal(v.kind_count[OBS_SCAN], UINT32_MAX);
	assert_int_equal(port_count(&v, 80), UINT16_MAX);
	struct obs_index_stats st;
	obs_index_stats(ix, &st);
	assert_int_equal(st.events, 2 + 40 + 5 + 5000000000ull);
	obs_index_free(ix);
}

struct walk {
	int n;
	struct np_addr seen[16];
	int stop_after; /* return 1 at this call (1-based); 0: never */
};

static int walk_cb(const struct obs_addr_record *rec, void *ctx)
{
	struct walk *w = ctx;
	if (w->n < 16)
		w->seen[w->n] = rec->addr;
	w->n++;
	return w->stop_after != 0 && w->n == w->stop_after ? 1 : 0;
}

static int dirty_walk(struct obs_index *ix, struct walk *w, int stop_after)
{
	memset(w, 0, sizeof(*w));
	w->stop_after = stop_after;
	return obs_index_foreach_dirty(ix, walk_cb, w);
}

static void assert_addr(const struct np_addr *a, const char *s)
{
	struct np_addr b = A(s);
	assert_true(addr_equal(a, &b));
}

static void test_dirty_tracking(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	struct walk w;
	assert_int_equal(dirty_walk(ix, &w, 0), 0);
	assert_int_equal(w.n, 0);

	add(ix, "192.0.2.1", T0 - 300, OBS_SCAN, 23);
	add(ix, "192.0.2.2", T0 - 200, OBS_SCAN, 23);
	add(ix, "192.0.2.3", T0 - 100, OBS_SCAN, 23);
	assert_int_equal(dirty_walk(ix, &w, 0), 0);
	assert_int_equal(w.n, 3);
	/* Least recently updated first, as obs_index_foreach. */
	assert_addr(&w.seen[0], "192.0.2.1");
	assert_addr(&w.seen[2], "192.0.2.3");
	/* The walk cleared them. */
	assert_int_equal(dirty_walk(ix, &w, 0), 0);
	assert_int_equal(w.n, 0);

	/* Only what changed since: the oldest address again, and a new one. */
	add(ix, "192.0.2.1", T0 - 50, OBS_SCAN, 2323);
	add(ix, "2001:db8:1:2::99", T0 - 40, OBS_SCAN, 23);
	assert_int_equal(dirty_walk(ix, &w, 0), 0);
	assert_int_equal(w.n, 2);
	assert_addr(&w.seen[0], "192.0.2.1");
	assert_addr(&w.seen[1], "2001:db8:1:2::");

	/* A callback that fails stops the walk; what it did not accept stays dirty. */
	add(ix, "192.0.2.2", T0 - 30, OBS_SCAN, 23);
	add(ix, "192.0.2.3", T0 - 20, OBS_SCAN, 23);
	add(ix, "192.0.2.4", T0 - 10, OBS_SCAN, 23);
	assert_int_equal(dirty_walk(ix, &w, 2), 1);
	assert_int_equal(w.n, 2);
	assert_int_equal(dirty_walk(ix, &w, 0), 0);
	assert_int_equal(w.n, 2);
	assert_addr(&w.seen[0], "192.0.2.3");
	assert_addr(&w.seen[1], "192.0.2.4");

	/* Loaded records are dirty; mark_all_dirty makes every address dirty. */
	struct obs_index *ix2 = new_ix(100);
	struct obs_bucket b = {.hour = (int32_t)(T0 / 3600 - 1), .first_off = 5, .last_off = 9};
	b.count[OBS_SCAN] = 2;
	struct obs_addr_record rec = {.addr = A("192.0.2.200"),
	                              .first_seen = T0 - 3595,
	                              .last_seen = T0 - 3591,
	                              .buckets = &b,
	                              .n_buckets = 1};
	assert_int_equal(obs_index_load(ix2, &rec), 0);
	assert_int_equal(dirty_walk(ix2, &w, 0), 0);
	assert_int_equal(w.n, 1);
	obs_index_mark_all_dirty(ix);
	assert_int_equal(dirty_walk(ix, &w, 0), 0);
	assert_int_equal(w.n, 5);
	obs_index_free(ix2);
	obs_index_free(ix);
}

static void test_dropped_keys(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(2);
	struct np_addr out[8];
	bool overflow = true;
	assert_int_equal(obs_index_take_dropped(ix, out, 8, &overflow), 0);
	assert_false(overflow);

	add(ix, "192.0.2.1", T0 - 300, OBS_SCAN, 23);
	add(ix, "2001:db8:7:7::1", T0 - 200, OBS_SCAN, 23);
	add(ix, "192.0.2.3", T0 - 100, OBS_SCAN, 23); /* evicts 192.0.2.1 */
	add(ix, "192.0.2.4", T0 - 90, OBS_SCAN, 23);  /* evicts the /64 */
	assert_int_equal(obs_index_take_dropped(ix, out, 1, &overflow), 1);
	assert_int_equal(obs_index_take_dropped(ix, out + 1, 8, &overflow), 1);
	assert_false(overflow);
	bool got1 = false, got6 = false;
	for (int i = 0; i < 2; i++) {
		struct np_addr a1 = A("192.0.2.1"), a6 = A("2001:db8:7:7::");
		got1 |= addr_equal(&out[i], &a1);
		got6 |= addr_equal(&out[i], &a6);
	}
	assert_true(got1 && got6);
	assert_int_equal(obs_index_take_dropped(ix, out, 8, NULL), 0);

	/* Pruning reports too. */
	assert_int_equal(obs_index_prune(ix, T0 + 8 * DAY), 2);
	assert_int_equal(obs_index_take_dropped(ix, out, 8, &overflow), 2);
	obs_index_free(ix);

	/* More drops than the index holds addresses between checkpoints: the overflow flag,
	 * once (a full rewrite then costs no more than the list would). */
	ix = new_ix(4);
	char a[32];
	for (unsigned i = 0; i < 4 + 6; i++) {
		snprintf(a, sizeof(a), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		add(ix, a, T0 - 100, OBS_SCAN, 23);
	}
	size_t total = 0, got;
	struct np_addr many[1024];
	overflow = false;
	bool any_overflow = false;
	/* Taken in small steps: the flag is up on each call, the last one included. */
	do {
		got = obs_index_take_dropped(ix, many, 3, &overflow);
		assert_true(overflow);
		any_overflow |= overflow;
		total += got;
	} while (got == 3);
	assert_int_equal(total, 4);
	assert_true(any_overflow);
	assert_int_equal(obs_index_take_dropped(ix, many, 1, &overflow), 0);
	assert_false(overflow);
	obs_index_free(ix);
}

static void test_verdict_range(void **state)
{
	(void)state;
	struct obs_index *ix = new_ix(100);
	/* Two fingerprint SYNs three days ago, one scan yesterday. */
	add(ix, "198.51.100.7", T0 - 3 * DAY + 100, OBS_MIRAI_SYN, 23);
	add(ix, "198.51.100.7", T0 - 3 * DAY + 200, OBS_MIRAI_SYN, 23);
	add(ix, "198.51.100.7", T0 - DAY + 100, OBS_SCAN, 8080);
	struct np_addr a = A("198.51.100.7");
	struct obs_verdict v;

	/* The last 24 hours: only the scan. */
	assert_int_equal(obs_index_verdict(ix, &a, T0, &v), 0);
	assert_int_equal(v.verdict, OBS_SUSPICIOUS);
	/* The interval a host held the address three days ago: infected. */
	assert_int_equal(obs_index_verdict_range(ix, &a, T0 - 4 * DAY, T0 - 2 * DAY, &v), 0);
	assert_int_equal(v.verdict, OBS_INFECTED);
	assert_int_equal(v.fingerprint_hits, 2);
	assert_int_equal(v.window_start, T0 - 4 * DAY);
	assert_int_equal(v.window_end, T0 - 2 * DAY);
	assert_int_equal(v.first_seen, T0 - 3 * DAY + 100);
	assert_int_equal(v.last_seen, T0 - 3 * DAY + 200);
	assert_int_equal(port_count(&v, 8080), 0);
	/* A whole week sees all of it. */
	assert_int_equal(obs_index_verdict_range(ix, &a, T0 - 7 * DAY, T0, &v), 0);
	assert_int_equal(v.packets, 3);
	assert_int_equal(port_count(&v, 23), 2);
	assert_int_equal(port_count(&v, 8080), 1);
	/* Between the two: nothing. An empty range of one second is allowed. */
	assert_int_equal(obs_index_verdict_range(ix, &a, T0 - 2 * DAY, T0 - 2 * DAY, &v), 0);
	assert_int_equal(v.verdict, OBS_NOT_OBSERVED);
	/* End before start is refused. */
	assert_int_equal(obs_index_verdict_range(ix, &a, T0, T0 - 1, &v), NP_EINVAL);
	/* obs_index_verdict is the range [now - 24 h, now]. */
	struct obs_verdict v2;
	assert_int_equal(obs_index_verdict(ix, &a, T0, &v), 0);
	assert_int_equal(obs_index_verdict_range(ix, &a, T0 - OBS_WINDOW, T0, &v2), 0);
	assert_memory_equal(&v, &v2, sizeof(v));
	obs_index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mirai_rule),
	    cmocka_unit_test(test_login_rules),
	    cmocka_unit_test(test_download_rule),
	    cmocka_unit_test(test_iot_scan_rule),
	    cmocka_unit_test(test_backscatter_research_never_count),
	    cmocka_unit_test(test_window_edges),
	    cmocka_unit_test(test_ipv6_per_64),
	    cmocka_unit_test(test_ipv6_record_prefix),
	    cmocka_unit_test(test_eviction_order),
	    cmocka_unit_test(test_retention),
	    cmocka_unit_test(test_bounded_lists),
	    cmocka_unit_test(test_evidence_and_reload),
	    cmocka_unit_test(test_foreach_stops),
	    cmocka_unit_test(test_bucket_bound),
	    cmocka_unit_test(test_concurrent_verdicts),
	    cmocka_unit_test(test_event_count),
	    cmocka_unit_test(test_dirty_tracking),
	    cmocka_unit_test(test_dropped_keys),
	    cmocka_unit_test(test_verdict_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
