/* SPDX-License-Identifier: MIT */
/* Tests of the reachability probe's pure parts: the argument check (no argument may name a
 * target) and the fixed-size token-bucket rate limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macros.h"
#include "common/str.h"
#include "http/dyndns2.h"
#include "http/probe.h"
#include "store/store.h"
#include "tmpdir_fixture.h"

/* ---- helpers ---- */

/* Parses a query string the way libmicrohttpd hands it over (already decoded). */
static enum probe_param_verdict check(const char *query, struct probe_params *p)
{
	probe_params_init(p);
	const char *s = query;
	while (*s != '\0') {
		const char *amp = strchr(s, '&');
		size_t len = amp != NULL ? (size_t)(amp - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		if (eq != NULL)
			probe_params_add(p, s, (size_t)(eq - s), eq + 1,
			                 len - (size_t)(eq - s) - 1);
		else
			probe_params_add(p, s, len, NULL, 0);
		s += len;
		if (*s == '&')
			s++;
	}
	return probe_params_verdict(p);
}

static enum probe_param_verdict verdict(const char *query)
{
	struct probe_params p;
	return check(query, &p);
}

static const uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* ---- parameters ---- */

static void test_params_ok(void **state)
{
	(void)state;
	struct probe_params p;
	assert_int_equal(check("port=8080", &p), PROBE_PARAMS_OK);
	assert_int_equal(p.port, 8080);
	assert_int_equal(check("port=1", &p), PROBE_PARAMS_OK);
	assert_int_equal(p.port, 1);
	assert_int_equal(check("port=65535&proto=tcp", &p), PROBE_PARAMS_OK);
	assert_int_equal(p.port, 65535);
	assert_int_equal(check("PROTO=TCP&Port=22", &p), PROBE_PARAMS_OK);
	assert_int_equal(p.port, 22);
}

static void test_params_target_refused(void **state)
{
	(void)state;
	static const char *const keys[] = {"ip",   "host",   "target", "addr",     "address",
	                                   "myip", "IP",     "Host",   "TARGET",   "AdDr",
	                                   "ipv4", "myipv6", "dest",   "hostname", "server"};
	char q[128];
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(q, sizeof(q), "port=80&%s=192.0.2.1", keys[i]);
		assert_int_equal(verdict(q), PROBE_PARAMS_TARGET);
		snprintf(q, sizeof(q), "%s=192.0.2.1&port=80", keys[i]);
		assert_int_equal(verdict(q), PROBE_PARAMS_TARGET);
		/* without a value, empty, or with a bad port too: still the target answer */
		snprintf(q, sizeof(q), "port=80&%s", keys[i]);
		assert_int_equal(verdict(q), PROBE_PARAMS_TARGET);
		snprintf(q, sizeof(q), "%s=&port=0", keys[i]);
		assert_int_equal(verdict(q), PROBE_PARAMS_TARGET);
		snprintf(q, sizeof(q), "proto=udp&%s=x", keys[i]);
		assert_int_equal(verdict(q), PROBE_PARAMS_TARGET);
	}
	assert_string_equal(probe_params_message(PROBE_PARAMS_TARGET),
	                    "the probe only connects back to the requesting address\n");
}

static void test_params_bad_port(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "port",
	    "port=",
	    "port=0",
	    "port=65536",
	    "port=99999999999",
	    "port=-1",
	    "port=+1",
	    "port= 80",
	    "port=80 ",
	    "port=0x50",
	    "port=80a",
	    "port=080",
	    "port=00",
	    "port=1&port=2",
	    "port=80&port=80",
	    "proto=tcp",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (verdict(bad[i]) != PROBE_PARAMS_BAD_PORT)
			fail_msg("\"%s\" was not a bad port", bad[i]);
	}
	assert_string_equal(probe_params_message(PROBE_PARAMS_BAD_PORT), "bad port\n");
}

static void test_params_proto_and_unknown(void **state)
{
	(void)state;
	assert_int_equal(verdict("port=80&proto=udp"), PROBE_PARAMS_BAD_PROTO);
	assert_int_equal(verdict("port=80&proto="), PROBE_PARAMS_BAD_PROTO);
	assert_int_equal(verdict("port=80&proto"), PROBE_PARAMS_BAD_PROTO);
	assert_int_equal(verdict("port=80&proto=tcp&proto=tcp"), PROBE_PARAMS_BAD_PROTO);
	assert_int_equal(verdict("port=80&x=1"), PROBE_PARAMS_UNKNOWN);
	assert_int_equal(verdict("port=80&ports=1"), PROBE_PARAMS_UNKNOWN);
	assert_int_equal(verdict("port=80&i=1"), PROBE_PARAMS_UNKNOWN);
}

static void test_params_nul_bytes(void **state)
{
	(void)state;
	struct probe_params p;

	/* "ip\0x" is not "ip", and is not let through as anything else either */
	probe_params_init(&p);
	probe_params_add(&p, "port", 4, "80", 2);
	probe_params_add(&p, "ip\0x", 4, "1.2.3.4", 7);
	assert_int_equal(probe_params_verdict(&p), PROBE_PARAMS_UNKNOWN);

	probe_params_init(&p);
	probe_params_add(&p, "port", 4,
	                 "8\0"
	                 "0",
	                 3);
	assert_int_equal(probe_params_verdict(&p), PROBE_PARAMS_BAD_PORT);

	probe_params_init(&p);
	probe_params_add(&p, "port", 4, "80", 2);
	probe_params_add(&p, "proto", 5, "tcp\0", 4);
	assert_int_equal(probe_params_verdict(&p), PROBE_PARAMS_BAD_PROTO);
}

/* ---- addresses ---- */

static void test_addr_key_and_usable(void **state)
{
	(void)state;
	struct np_addr a, b;
	uint8_t ka[PROBE_KEY_MAX], kb[PROBE_KEY_MAX];

	assert_int_equal(addr_parse("2001:db8:1:2::1", &a), NP_OK);
	assert_int_equal(addr_parse("2001:db8:1:2:ffff::9", &b), NP_OK);
	size_t la = probe_addr_key(&a, ka), lb = probe_addr_key(&b, kb);
	assert_int_equal(la, lb);
	assert_memory_equal(ka, kb, la); /* one /64 is one subscriber */
	assert_int_equal(addr_parse("2001:db8:1:3::1", &b), NP_OK);
	lb = probe_addr_key(&b, kb);
	assert_memory_not_equal(ka, kb, la);

	assert_int_equal(addr_parse("192.0.2.1", &a), NP_OK);
	assert_int_equal(addr_parse("192.0.2.2", &b), NP_OK);
	la = probe_addr_key(&a, ka);
	lb = probe_addr_key(&b, kb);
	assert_int_equal(la, lb);
	assert_memory_not_equal(ka, kb, la);

	static const char *const ok[] = {"127.0.0.1", "192.0.2.1",   "223.255.255.255",
	                                 "::1",       "2001:db8::1", "fe80::1"};
	static const char *const no[] = {"0.0.0.0",   "0.1.2.3",         "224.0.0.1", "239.1.1.1",
	                                 "240.0.0.1", "255.255.255.255", "::",        "ff02::1"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(addr_parse(ok[i], &a), NP_OK);
		assert_true(probe_addr_usable(&a));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_int_equal(addr_parse(no[i], &a), NP_OK);
		assert_false(probe_addr_usable(&a));
	}
}

/* ---- the limiter ---- */

static struct probe_limiter lim; /* large: not on the stack */

static void test_limiter_burst_then_rate(void **state)
{
	(void)state;
	probe_limiter_init(&lim, 6, 6, seed);
	const int64_t t0 = 1000000;

	for (int i = 0; i < 6; i++)
		assert_int_equal(probe_limiter_take(&lim, "a", 1, t0), 0);
	/* the seventh waits for the next token: one every 10 s */
	assert_int_equal(probe_limiter_take(&lim, "a", 1, t0), 10);
	assert_int_equal(probe_limiter_take(&lim, "a", 1, t0 + 1), 10); /* rounded up */
	assert_int_equal(probe_limiter_take(&lim, "a", 1, t0 + 9001), 1);
	assert_int_equal(probe_limiter_take(&lim, "a", 1, t0 + 10000), 0);
	assert_int_equal(probe_limiter_take(&lim, "a", 1, t0 + 10000), 10);
	/* refused attempts cost nothing: the rate holds */
	assert_int_equal(probe_limiter_take(&lim, "a", 1, t0 + 20000), 0);
	/* a minute of quiet gives the whole burst back, never more */
	int64_t t1 = t0 + 20000 + 3600 * 1000;
	for (int i = 0; i < 6; i++)
		assert_int_equal(probe_limiter_take(&lim, "a", 1, t1), 0);
	assert_true(probe_limiter_take(&lim, "a", 1, t1) > 0);
	/* another key is independent */
	assert_int_equal(probe_limiter_take(&lim, "b", 1, t1), 0);
	assert_int_equal(probe_limiter_take(&lim, "ab", 2, t1), 0);
}

/* A batch pays one token per port, all or none. */
static void test_limiter_take_n(void **state)
{
	(void)state;
	probe_limiter_init(&lim, 6, 6, seed);
	const int64_t t0 = 1000000;

	assert_int_equal(probe_limiter_take_n(&lim, "a", 1, 4, t0), 0);
	/* three more do not fit in the two left: refused, nothing taken */
	assert_int_equal(probe_limiter_take_n(&lim, "a", 1, 3, t0), 10);
	assert_int_equal(probe_limiter_take_n(&lim, "a", 1, 2, t0), 0);
	assert_int_equal(probe_limiter_take(&lim, "a", 1, t0), 10);
	/* more than the burst can never pass; zero is refused */
	assert_true(probe_limiter_take_n(&lim, "b", 1, 7, t0) > 0);
	assert_true(probe_limiter_take_n(&lim, "b", 1, 0, t0) > 0);
	assert_int_equal(probe_limiter_take_n(&lim, "b", 1, 6, t0), 0);
}

static void test_limiter_burst_one(void **state)
{
	(void)state;
	probe_limiter_init(&lim, 60, 1, seed);
	assert_int_equal(probe_limiter_take(&lim, "k", 1, 0), 0);
	assert_int_equal(probe_limiter_take(&lim, "k", 1, 0), 1);
	assert_int_equal(probe_limiter_take(&lim, "k", 1, 999), 1);
	assert_int_equal(probe_limiter_take(&lim, "k", 1, 1000), 0);
}

static void test_limiter_bad_key(void **state)
{
	(void)state;
	uint8_t big[PROBE_KEY_MAX + 1] = {0};
	probe_limiter_init(&lim, 6, 6, seed);
	assert_true(probe_limiter_take(&lim, big, 0, 0) > 0);
	assert_true(probe_limiter_take(&lim, big, sizeof(big), 0) > 0);
	assert_int_equal(probe_limiter_take(&lim, big, PROBE_KEY_MAX, 0), 0);
}

/* The table is fixed: flooding it with new keys evicts entries, but the ones closest to a
 * full bucket go first, so a limited key stays limited. */
static void test_limiter_bounded_eviction(void **state)
{
	(void)state;
	probe_limiter_init(&lim, 6, 6, seed);
	const int64_t t0 = 5000;
	uint32_t victim = 0xffffffffu;

	for (int i = 0; i < 6; i++)
		assert_int_equal(probe_limiter_take(&lim, &victim, sizeof(victim), t0), 0);
	assert_true(probe_limiter_take(&lim, &victim, sizeof(victim), t0) > 0);

	/* twenty times the table's size in fresh keys, each taking one token */
	for (uint32_t k = 0; k < 20 * PROBE_LIMIT_SLOTS; k++)
		assert_int_equal(probe_limiter_take(&lim, &k, sizeof(k), t0), 0);
	assert_true(probe_limiter_take(&lim, &victim, sizeof(victim), t0) > 0);

	/* nothing outside the table was written: count the entries in use */
	size_t used = 0;
	for (size_t i = 0; i < PROBE_LIMIT_SLOTS; i++)
		used += lim.b[i].klen != 0;
	assert_int_equal(used, PROBE_LIMIT_SLOTS);
}

/* The same key lands in different sets under different seeds: the sets cannot be aimed
 * at without the seed. Checked indirectly: a random seed still limits correctly. */
static void test_limiter_random_seed(void **state)
{
	(void)state;
	probe_limiter_init(&lim, 20, 12, NULL);
	for (int i = 0; i < 12; i++)
		assert_int_equal(probe_limiter_take(&lim, "acct", 4, 0), 0);
	assert_int_equal(probe_limiter_take(&lim, "acct", 4, 0), 3);
	assert_int_equal(probe_limiter_take(&lim, "acct", 4, 3000), 0);
}

/* ---- authentication (shared with dyndns2), against a real store ---- */

struct fixture {
	char dir[64];
	struct store *st;
	int64_t alice, bob;
	char home[SECRET_TEXT_LEN + 1], second[SECRET_TEXT_LEN + 1], bobs[SECRET_TEXT_LEN + 1];
};

static void add_host(struct fixture *f, const char *fqdn, int64_t owner, char *secret)
{
	struct store_host h = {0};
	int64_t id;
	h.user_id = owner;
	np_strlcpy(h.fqdn, fqdn, sizeof(h.fqdn));
	np_strlcpy(h.zone, "dyn.example", sizeof(h.zone));
	assert_int_equal(store_host_add(f->st, &h, &id), NP_OK);
	struct store_token t;
	credential_token_new(&t, owner, STORE_TOKEN_HOST, secret);
	np_strlcpy(t.names, fqdn, sizeof(t.names));
	assert_int_equal(store_token_add(f->st, &t), NP_OK);
}

static int store_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL || secret_lib_init() != NP_OK)
		return -1;
	if (tmpdir_make(f->dir, sizeof(f->dir), "probe") != 0 ||
	    store_open(f->dir, true, &f->st) != NP_OK)
		return -1;
	if (store_user_add(f->st, "alice", &f->alice) != NP_OK ||
	    store_user_add(f->st, "bob", &f->bob) != NP_OK)
		return -1;
	add_host(f, "home.dyn.example", f->alice, f->home);
	add_host(f, "second.dyn.example", f->alice, f->second);
	add_host(f, "bob.dyn.example", f->bob, f->bobs);
	*state = f;
	return 0;
}

static int store_teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	int ret = tmpdir_remove(f->dir);
	free(f);
	return ret;
}

/* Returns the account proved by user:pass, or "" when none is. */
static const char *auth(struct fixture *f, const char *user, const char *pass)
{
	static struct dyndns2_identity id;
	uint8_t h[SECRET_HASH_LEN];
	bool ok = true;
	secret_hash(pass, strlen(pass), h);
	struct np_addr client;
	assert_int_equal(addr_parse("192.0.2.1", &client), NP_OK);
	assert_int_equal(dyndns2_authenticate(f->st, user, h, &client, &id, &ok), NP_OK);
	if (!ok) {
		assert_int_equal(id.user_id, 0);
		return "";
	}
	return id.account;
}

static void test_authenticate(void **state)
{
	struct fixture *f = *state;

	/* the account name with any of its hosts' secrets */
	assert_string_equal(auth(f, "alice", f->home), "alice");
	assert_string_equal(auth(f, "alice", f->second), "alice");
	assert_string_equal(auth(f, "bob", f->bobs), "bob");
	/* a host's name with that host's secret only (as an update without hostname) */
	assert_string_equal(auth(f, "home.dyn.example", f->home), "alice");
	assert_string_equal(auth(f, "HOME.dyn.example.", f->home), "alice");
	assert_string_equal(auth(f, "home.dyn.example", f->second), "");
	/* other accounts' secrets, wrong or unknown names */
	assert_string_equal(auth(f, "alice", f->bobs), "");
	assert_string_equal(auth(f, "bob", f->home), "");
	assert_string_equal(auth(f, "bob.dyn.example", f->home), "");
	assert_string_equal(auth(f, "alice", "wrong"), "");
	assert_string_equal(auth(f, "alice", ""), "");
	assert_string_equal(auth(f, "mallory", f->home), "");
	assert_string_equal(auth(f, "nohost.dyn.example", f->home), "");
	assert_string_equal(auth(f, "", f->home), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params_ok),
	    cmocka_unit_test(test_params_target_refused),
	    cmocka_unit_test(test_params_bad_port),
	    cmocka_unit_test(test_params_proto_and_unknown),
	    cmocka_unit_test(test_params_nul_bytes),
	    cmocka_unit_test(test_addr_key_and_usable),
	    cmocka_unit_test(test_limiter_burst_then_rate),
	    cmocka_unit_test(test_limiter_take_n),
	    cmocka_unit_test(test_limiter_burst_one),
	    cmocka_unit_test(test_limiter_bad_key),
	    cmocka_unit_test(test_limiter_bounded_eviction),
	    cmocka_unit_test(test_limiter_random_seed),
	    cmocka_unit_test_setup_teardown(test_authenticate, store_setup, store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
