/* SPDX-License-Identifier: MIT */
/* Tests of the ACME challenge values: which names are challenge names, which values may be
 * stored, the acme_txt table (order, uniqueness, the walk by zone, gone with the host) and
 * the node the publisher renders. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "core/acme.h"
#include "dns/constants.h"
#include "tmpdir_fixture.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return tmpdir_make(dir, sizeof(dir), "acme");
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(acme_host_of("_acme-challenge.home.dyn.example"), "home.dyn.example");
	assert_null(acme_host_of("home.dyn.example"));
	assert_null(acme_host_of("_acme-challenge."));
	assert_null(acme_host_of("_acme-challengex.home.dyn.example"));
	assert_null(acme_host_of("x._acme-challenge.home.dyn.example"));
}

static void test_values(void **state)
{
	(void)state;
	char big[ACME_TXT_MAX + 2];
	memset(big, 'a', sizeof(big));
	assert_true(acme_value_ok("abcDEF-_0129", 12));
	assert_true(acme_value_ok(big, ACME_TXT_MAX));
	assert_false(acme_value_ok(big, ACME_TXT_MAX + 1));
	assert_false(acme_value_ok("", 0));
	const char *bad[] = {"a b", "a\"b", "a\\b", "a\tb", "a\x7f", "a\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(acme_value_ok(bad[i], strlen(bad[i])));
	assert_false(acme_value_ok("a\0b", 3)); /* a NUL inside the counted length */
}

struct walk {
	char text[256];
};

static int walk_cb(const char *fqdn, const struct store_acme_txt *v, size_t n, void *ctx)
{
	struct walk *w = ctx;
	size_t o = strlen(w->text);
	snprintf(w->text + o, sizeof(w->text) - o, "%s:", fqdn);
	for (size_t i = 0; i < n; i++) {
		o = strlen(w->text);
		snprintf(w->text + o, sizeof(w->text) - o, "%s,", v[i].value);
	}
	return 0;
}

static int64_t add_host(struct store *st, const char *fqdn, const char *zone)
{
	struct store_host h;
	memset(&h, 0, sizeof(h));
	np_strlcpy(h.fqdn, fqdn, sizeof(h.fqdn));
	np_strlcpy(h.zone, zone, sizeof(h.zone));
	int64_t id;
	assert_int_equal(store_host_add(st, &h, &id), NP_OK);
	return id;
}

static void test_store(void **state)
{
	(void)state;
	struct store *st;
	assert_int_equal(store_open(dir, true, &st), NP_OK);
	assert_int_equal(store_begin(st), NP_OK);
	int64_t b = add_host(st, "b.dyn.example", "dyn.example");
	int64_t a = add_host(st, "a.dyn.example", "dyn.example");
	int64_t o = add_host(st, "x.other.example", "other.example");
	/* Added order is kept (not the values' order): acme-dns keeps the newest two. */
	assert_int_equal(store_acme_add(st, b, "zz", 100), NP_OK);
	assert_int_equal(store_acme_add(st, b, "aa", 100), NP_OK);
	assert_int_equal(store_acme_add(st, b, "zz", 101), NP_EEXIST);
	assert_int_equal(store_acme_add(st, a, "one", 5), NP_OK);
	assert_int_equal(store_acme_add(st, o, "other", 5), NP_OK);
	assert_int_equal(store_commit(st), NP_OK);

	struct store_acme_txt v[4];
	size_t n;
	assert_int_equal(store_acme_get(st, b, v, 4, &n), NP_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].value, "zz");
	assert_string_equal(v[1].value, "aa");
	assert_int_equal(store_acme_get(st, b, v, 1, &n), NP_ETOOBIG);
	/* Stale values are left out of what the next change starts from. */
	assert_int_equal(acme_values(st, b, 100 + ACME_VALUE_LIFETIME + 1, v, &n), NP_OK);
	assert_int_equal(n, 0);
	assert_int_equal(acme_values(st, b, 100 + ACME_VALUE_LIFETIME, v, &n), NP_OK);
	assert_int_equal(n, 2);

	char stale[4][CFG_NAME_MAX];
	assert_int_equal(store_acme_stale(st, 100, stale, 4, &n), NP_OK);
	assert_int_equal(n, 2); /* a (5) and x (5); b's are from 100 */
	assert_int_equal(store_acme_stale(st, 100, stale, 1, &n), NP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_acme_stale(st, 5, stale, 4, &n), NP_OK);
	assert_int_equal(n, 0);

	struct walk w = {""};
	assert_int_equal(store_foreach_acme(st, "dyn.example", walk_cb, &w), NP_OK);
	assert_string_equal(w.text, "a.dyn.example:one,b.dyn.example:zz,aa,");

	assert_int_equal(store_begin(st), NP_OK);
	assert_int_equal(store_acme_del(st, b, "zz"), NP_OK);
	assert_int_equal(store_acme_del(st, b, "zz"), NP_ENOTFOUND);
	assert_int_equal(store_host_del(st, "a.dyn.example"), NP_OK); /* its values go too */
	assert_int_equal(store_commit(st), NP_OK);
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_foreach_acme(st, "dyn.example", walk_cb, &w), NP_OK);
	assert_string_equal(w.text, "b.dyn.example:aa,");
	store_close(st);
}

static void test_node(void **state)
{
	(void)state;
	struct store_acme_txt v[2] = {{"first", 1}, {"second", 2}};
	struct zone_node *node = acme_node("home.dyn.example", v, 2, 30);
	assert_non_null(node);
	const uint8_t want[] = "\017_acme-challenge\004home\003dyn\007example";
	assert_int_equal(node->name_len, sizeof(want));
	assert_memory_equal(node->data, want, sizeof(want));
	assert_int_equal(node->rrsets[ZS_TXT].count, 2);
	assert_int_equal(node->rrsets[ZS_A].len, 0);
	zone_node_free(node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test_setup_teardown(test_store, setup, teardown),
	    cmocka_unit_test(test_node),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
