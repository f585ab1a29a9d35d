/* SPDX-License-Identifier: MIT */
/* Unit tests for the zone journal: encoding a name's change, reading entries back,
 * checking what the store hands back, and the bounded, chained array of entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns_fixture.h"
#include "zone/journal.h"

static const uint8_t ip1[4] = {192, 0, 2, 1};
static const uint8_t ip2[4] = {192, 0, 2, 2};

static struct zone_node *host(const char *name, const uint8_t *ip)
{
	struct zone_rr_in rr = {DNS_TYPE_A, 60, 4, ip};
	return fx_node(name, 0, &rr, 1);
}

struct body {
	uint8_t *p;
	size_t len, cap;
};

static int add(struct body *b, const struct zone_node *old, const struct zone_node *new_node)
{
	const struct zone_node *n = new_node != NULL ? new_node : old;
	return zone_jentry_add_name(&b->p, &b->len, &b->cap, n->data, n->name_len, old, new_node);
}

static void test_encode_and_read(void **state)
{
	(void)state;
	struct zone_node *a1 = host("home.dyn.example", ip1);
	struct zone_node *a1b = host("home.dyn.example", ip1);
	struct zone_node *a2 = host("home.dyn.example", ip2);
	struct zone_node *gone = host("gone.dyn.example", ip1);
	struct body b = {0};
	/* The same records: nothing a secondary would see, nothing written. */
	assert_int_equal(add(&b, a1, a1b), NP_OK);
	assert_int_equal(b.len, 0);
	assert_int_equal(add(&b, a1, a2), NP_OK);
	assert_int_equal(add(&b, gone, NULL), NP_OK);
	assert_true(zone_jentry_valid(b.p, b.len));

	struct zone_jentry *e = zone_jentry_new(7, 8, b.p, b.len);
	assert_non_null(e);
	struct zone_jname jn;
	size_t pos = 0;
	assert_true(zone_jentry_next(e, &pos, &jn));
	assert_int_equal(jn.name_len, a1->name_len);
	assert_memory_equal(jn.name, a1->data, a1->name_len);
	assert_int_equal(jn.n_old, 1);
	assert_int_equal(jn.n_new, 1);
	/* type, class, TTL, rdlength, rdata: the node's record without its owner pointer */
	assert_int_equal(jn.old_len, 14);
	assert_memory_equal(jn.old_rrs, a1->data + a1->rrsets[ZS_A].off + 2, 14);
	assert_memory_equal(jn.new_rrs + 10, ip2, 4);
	assert_true(zone_jentry_next(e, &pos, &jn));
	assert_int_equal(jn.n_old, 1);
	assert_int_equal(jn.n_new, 0);
	assert_int_equal(jn.new_len, 0);
	assert_false(zone_jentry_next(e, &pos, &jn));

	/* Cut short, or a record running past the end: refused. */
	for (size_t cut = 1; cut < b.len; cut++)
		if (zone_jentry_valid(b.p, cut)) {
			/* only a cut at a name boundary may pass */
			size_t p2 = 0;
			struct zone_jentry *t = zone_jentry_new(0, 1, b.p, cut);
			while (zone_jentry_next(t, &p2, &jn))
				;
			assert_int_equal(p2, cut);
			free(t);
		}
	b.p[1 + a1->name_len + 2 + 9] = 200; /* the first rdlength: far past the end */
	assert_false(zone_jentry_valid(b.p, b.len));

	free(e);
	free(b.p);
	zone_node_free(a1);
	zone_node_free(a1b);
	zone_node_free(a2);
	zone_node_free(gone);
}

static struct zone_jentry *entry(uint32_t from, size_t len)
{
	uint8_t *body = calloc(1, len + 1);
	struct zone_jentry *e = zone_jentry_new(from, from + 1, body, len);
	free(body);
	assert_non_null(e);
	return e;
}

static void test_journal_chain_and_bounds(void **state)
{
	(void)state;
	struct zone_retired r = {0};
	struct zone_journal *j = zone_journal_next(NULL, entry(10, 0), false, &r);
	assert_non_null(j);
	for (uint32_t s = 11; s < 20; s++) {
		assert_int_equal(zone_journal_kept(j, NULL), j->n);
		struct zone_journal *next = zone_journal_next(j, entry(s, 0), false, &r);
		assert_non_null(next);
		zone_journal_free(j);
		j = next;
	}
	assert_int_equal(j->n, 10);
	assert_int_equal(r.n_j, 0);
	assert_int_equal(zone_journal_find(j, 10), 0);
	assert_int_equal(zone_journal_find(j, 15), 5);
	assert_int_equal(zone_journal_find(j, 20), -1); /* the version's own serial: no entry */

	/* An entry that does not follow the last: the history before it is gone. */
	struct zone_journal *next = zone_journal_next(j, entry(100, 0), false, &r);
	assert_int_equal(next->n, 1);
	assert_int_equal(next->e[0]->from, 100);
	assert_int_equal(r.n_j, 10);
	zone_journal_free(j);
	j = next;
	/* reset drops everything too, even with no new entry */
	next = zone_journal_next(j, NULL, true, &r);
	assert_int_equal(next->n, 0);
	assert_int_equal(r.n_j, 11);
	zone_journal_free(j);
	zone_retired_deinit(&r);
	j = next;

	/* The byte bound: each entry a quarter of it, so the fifth drops the first. */
	size_t quarter = ZONE_JOURNAL_MAX_BYTES / 4;
	for (uint32_t s = 0; s < 5; s++) {
		next = zone_journal_next(j, entry(s, quarter), false, &r);
		zone_journal_free(j);
		j = next;
	}
	assert_int_equal(j->n, 4);
	assert_int_equal(j->e[0]->from, 1);
	assert_int_equal(j->bytes, 4 * quarter);
	assert_int_equal(r.n_j, 1);
	zone_retired_deinit(&r);

	/* The count bound. */
	for (uint32_t s = 5; s < ZONE_JOURNAL_MAX_ENTRIES + 10; s++) {
		next = zone_journal_next(j, entry(s, 0), false, &r);
		zone_journal_free(j);
		j = next;
	}
	assert_int_equal(j->n, ZONE_JOURNAL_MAX_ENTRIES);
	assert_int_equal(j->e[j->n - 1]->from, ZONE_JOURNAL_MAX_ENTRIES + 9);
	assert_int_equal(zone_journal_kept(j, j->e[0]), 1); /* does not follow: only itself */
	zone_retired_deinit(&r);
	zone_journal_free_all(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_and_read),
	    cmocka_unit_test(test_journal_chain_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
