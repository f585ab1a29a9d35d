/* SPDX-License-Identifier: MIT */
/* Unit tests for the in-memory zone tables: nodes, versions, derive, ENTs, retirement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dns_fixture.h"

static const uint8_t apex_wire[] = "\x03"
                                   "dyn\x07"
                                   "example";
#define APEX_LEN 13

static const uint8_t ip1[4] = {192, 0, 2, 1};
static const uint8_t ip2[4] = {192, 0, 2, 2};

static struct zone_node *host(const char *name, const uint8_t *ip)
{
	struct zone_rr_in rr = {DNS_TYPE_A, 60, 4, ip};
	return fx_node(name, 0, &rr, 1);
}

static const struct zone_node *find(const struct zone_version *z, const char *text)
{
	uint8_t w[DNS_NAME_MAX];
	int len = dns_name_from_text(text, w, sizeof(w));
	assert_true(len > 0);
	return zone_find(z, w, (size_t)len);
}

static struct zone_version *new_zone(size_t hint)
{
	struct zone_version *z = zone_version_new(apex_wire, APEX_LEN, 1, hint);
	assert_non_null(z);
	return z;
}

static void assert_load_ok(const struct zone_version *z)
{
	assert_true((size_t)z->count * 2 <= (size_t)z->mask + 1);
	uint32_t n = 0;
	for (uint32_t i = 0; i <= z->mask; i++)
		n += z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & (ZONE_PAGE_SLOTS - 1)] != NULL;
	assert_int_equal(n, z->count);
}

static uint32_t n_pages(const struct zone_version *z)
{
	return (z->mask >> ZONE_PAGE_SHIFT) + 1;
}

/* Pages of nv that are old's own pages (shared, not copied). */
static uint32_t shared_pages(const struct zone_version *nv, const struct zone_version *old)
{
	uint32_t n = 0;
	for (uint32_t p = 0; nv->mask == old->mask && p < n_pages(nv); p++)
		n += nv->pages[p] == old->pages[p];
	return n;
}

static void test_node_layout(void **state)
{
	(void)state;
	const uint8_t txt[] = "\x02hi";
	struct zone_rr_in rrs[] = {
	    {DNS_TYPE_TXT, 30, 3, txt},
	    {DNS_TYPE_A, 10, 4, ip1},
	    {DNS_TYPE_A, 20, 4, ip2},
	};
	struct zone_node *n = fx_node("h.dyn.example", ZONE_NODE_WILDCARD, rrs, 3);
	assert_non_null(n);
	assert_int_equal(n->flags, ZONE_NODE_WILDCARD);
	assert_int_equal(n->name_len, 15);
	assert_memory_equal(n->data,
	                    "\x01h\x03"
	                    "dyn\x07"
	                    "example",
	                    15);
	const struct zone_rrset *a = &n->rrsets[ZS_A];
	assert_int_equal(a->count, 2);
	assert_int_equal(a->len, 2 * 16);
	const uint8_t want_a[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 192, 0, 2, 1,
	                          0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 20, 0, 4, 192, 0, 2, 2};
	assert_memory_equal(n->data + a->off, want_a, sizeof(want_a));
	const struct zone_rrset *t = &n->rrsets[ZS_TXT];
	assert_int_equal(t->count, 1);
	assert_int_equal(t->len, 15);
	assert_memory_equal(n->data + t->off + 12, "\x02hi", 3);
	assert_int_equal(wire_load_u16(n->data + t->off + 2), DNS_TYPE_TXT);
	assert_int_equal(n->rrsets[ZS_AAAA].len, 0);
	assert_int_equal(n->rrsets[ZS_SOA].len, 0);
	zone_node_free(n);
	zone_node_free(NULL);
}

static void test_node_rejects_bad_input(void **state)
{
	(void)state;
	struct zone_rr_in rrs[ZONE_MAX_RRS_PER_NODE + 1];
	uint8_t ips[ZONE_MAX_RRS_PER_NODE + 1][4];
	for (int i = 0; i <= ZONE_MAX_RRS_PER_NODE; i++) {
		memcpy(ips[i], ip1, 4);
		ips[i][3] = (uint8_t)i;
		rrs[i] = (struct zone_rr_in){DNS_TYPE_A, 60, 4, ips[i]};
	}
	struct zone_node *n = fx_node("h.dyn.example", 0, rrs, ZONE_MAX_RRS_PER_TYPE);
	assert_non_null(n);
	zone_node_free(n);
	assert_null(fx_node("h.dyn.example", 0, rrs, ZONE_MAX_RRS_PER_TYPE + 1));
	assert_null(fx_node("h.dyn.example", 0, rrs, ZONE_MAX_RRS_PER_NODE + 1));
	/* Exact duplicates collapse; they do not count against the cap. */
	rrs[ZONE_MAX_RRS_PER_TYPE] = rrs[0];
	n = fx_node("h.dyn.example", 0, rrs, ZONE_MAX_RRS_PER_TYPE + 1);
	assert_non_null(n);
	assert_int_equal(n->rrsets[ZS_A].count, ZONE_MAX_RRS_PER_TYPE);
	zone_node_free(n);

	const uint8_t caa[] = "\x00\x05issue";
	struct zone_rr_in bad[] = {
	    {257, 60, 7, caa},           /* type outside the model */
	    {DNS_TYPE_A, 60, 3, ip1},    /* short address */
	    {DNS_TYPE_AAAA, 60, 4, ip1}, /* wrong length */
	    {DNS_TYPE_TXT, 60, 0, NULL}, /* empty TXT */
	    {DNS_TYPE_TXT, 60, 3,
	     (const uint8_t *)"\x05"
	                      "ab"}, /* string past the end */
	    {DNS_TYPE_MX, 60, 4,
	     (const uint8_t *)"\x00\x01\x01"
	                      "a"},                            /* unterminated */
	    {DNS_TYPE_NS, 60, 2, (const uint8_t *)"\xc0\x0c"}, /* compressed */
	    {DNS_TYPE_A, 60, 4, NULL},
	    {DNS_TYPE_TXT, 60, ZONE_MAX_RDATA + 1, caa},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(fx_node("h.dyn.example", 0, &bad[i], 1));
	uint8_t name[3] = {5, 'a', 0}; /* not a name */
	assert_null(zone_node_new(name, 3, 0, NULL, 0));
	assert_null(zone_node_new(name, 0, 0, NULL, 0));
}

static void test_apex_node(void **state)
{
	(void)state;
	struct cfg_zone cz;
	fx_cfg_zone(&cz, "Dyn.Example");
	struct zone_rr_in extra = {DNS_TYPE_A, 60, 4, ip1};
	struct zone_node *n = zone_node_new_apex(&cz, 42, &extra, 1);
	assert_non_null(n);
	assert_int_equal(n->flags, ZONE_NODE_APEX);
	assert_memory_equal(n->data, apex_wire, APEX_LEN);
	const struct zone_rrset *soa = &n->rrsets[ZS_SOA];
	assert_int_equal(soa->count, 1);
	const uint8_t *rr = n->data + soa->off;
	assert_int_equal(wire_load_u16(rr), 0xC00C);
	assert_int_equal(wire_load_u32(rr + 6), FX_SOA_TTL);
	/* MNAME and RNAME end with the apex: their leading labels, then a pointer stored as
	 * 0xC00C (the question name of an SOA query for the apex), positions recorded. */
	const uint8_t *rd = rr + 12;
	assert_memory_equal(rd, "\x03ns1\xc0\x0c", 6);
	assert_memory_equal(rd + 6, "\x0ahostmaster\xc0\x0c", 13);
	assert_int_equal(n->soa_ptr[0], 12 + 4);
	assert_int_equal(n->soa_ptr[1], 12 + 6 + 11);
	assert_int_equal(wire_load_u32(rd + 19), 42);
	assert_int_equal(wire_load_u32(rd + 23), 3600);
	assert_int_equal(wire_load_u32(rd + 27), 600);
	assert_int_equal(wire_load_u32(rd + 31), 1209600);
	assert_int_equal(wire_load_u32(rd + 35), FX_NEG_TTL);
	assert_int_equal(wire_load_u16(rr + 10), 39);
	assert_int_equal(soa->len, 12 + 39);
	/* The RRsets after the SOA moved down with it and are intact. */
	const struct zone_rrset *nsset = &n->rrsets[ZS_NS];
	assert_int_equal(nsset->count, 2);
	assert_int_equal(nsset->off, soa->off + soa->len);
	assert_int_equal(wire_load_u32(n->data + nsset->off + 6), FX_SOA_TTL);
	assert_memory_equal(n->data + nsset->off + 12,
	                    "\x03ns1\x03"
	                    "dyn\x07"
	                    "example",
	                    17);
	assert_memory_equal(n->data + nsset->off + 29 + 12,
	                    "\x03ns2\x03"
	                    "dyn\x07"
	                    "example",
	                    17);
	const struct zone_rrset *a = &n->rrsets[ZS_A];
	assert_int_equal(a->count, 1);
	assert_int_equal(a->off, nsset->off + nsset->len);
	assert_memory_equal(n->data + a->off + 12, ip1, 4);
	zone_node_free(n);

	/* Names outside the zone stay whole (also one ending with the apex's text but not its
	 * labels); a name equal to the apex is only the pointer. */
	np_strlcpy(cz.ns[0], "ns.provider.net", sizeof(cz.ns[0]));
	np_strlcpy(cz.contact, "dyn.example", sizeof(cz.contact));
	n = zone_node_new_apex(&cz, 7, NULL, 0);
	assert_non_null(n);
	rr = n->data + n->rrsets[ZS_SOA].off;
	rd = rr + 12;
	assert_memory_equal(rd,
	                    "\x02ns\x08provider\x03"
	                    "net",
	                    17);
	assert_memory_equal(rd + 17, "\xc0\x0c", 2);
	assert_int_equal(n->soa_ptr[0], 0);
	assert_int_equal(n->soa_ptr[1], 12 + 17);
	assert_int_equal(wire_load_u16(rr + 10), 17 + 2 + 20);
	assert_int_equal(wire_load_u32(rd + 19), 7);
	zone_node_free(n);
	np_strlcpy(cz.ns[0], "ns1.xdyn.example", sizeof(cz.ns[0]));
	np_strlcpy(cz.contact, "hostmaster.dyn.example", sizeof(cz.contact));
	n = zone_node_new_apex(&cz, 7, NULL, 0);
	assert_non_null(n);
	rd = n->data + n->rrsets[ZS_SOA].off + 12;
	assert_memory_equal(rd,
	                    "\x03ns1\x04xdyn\x07"
	                    "example",
	                    18);
	assert_int_equal(n->soa_ptr[0], 0);
	assert_int_equal(n->soa_ptr[1], 12 + 18 + 11);
	zone_node_free(n);
	/* Ordinary nodes never have pointers. */
	n = host("a.dyn.example", ip1);
	assert_int_equal(n->soa_ptr[0], 0);
	assert_int_equal(n->soa_ptr[1], 0);
	zone_node_free(n);
	fx_cfg_zone(&cz, "Dyn.Example");
	/* SOA or NS among the extra records, or no NS at all: refused. */
	struct zone_rr_in ns = {DNS_TYPE_NS, 60, 5,
	                        (const uint8_t *)"\x03"
	                                         "foo"};
	assert_null(zone_node_new_apex(&cz, 1, &ns, 1));
	cz.n_ns = 0;
	assert_null(zone_node_new_apex(&cz, 1, NULL, 0));
	assert_null(zone_node_new_apex(NULL, 1, NULL, 0));
}

static void test_insert_find_replace(void **state)
{
	(void)state;
	struct zone_version *z = new_zone(0);
	assert_null(find(z, "a.dyn.example"));
	assert_int_equal(zone_version_insert(z, host("a.dyn.example", ip1)), 0);
	const struct zone_node *a1 = find(z, "a.dyn.example");
	assert_non_null(a1);
	assert_int_equal(z->count, 1);
	/* Same name: replaced (the old node is freed; ASAN would see a leak otherwise). */
	assert_int_equal(zone_version_insert(z, host("a.dyn.example", ip2)), 0);
	const struct zone_node *a2 = find(z, "a.dyn.example");
	assert_int_equal(z->count, 1);
	assert_memory_equal(a2->data + a2->rrsets[ZS_A].off + 12, ip2, 4);
	/* Outside the zone, or a suffix that is not on a label boundary: refused (and freed). */
	assert_int_equal(zone_version_insert(z, host("a.example", ip1)), NP_EINVAL);
	assert_int_equal(zone_version_insert(z, host("xdyn.example", ip1)), NP_EINVAL);
	assert_int_equal(zone_version_insert(z, NULL), NP_EINVAL);
	/* "\5a\3dyn" + "example": the apex bytes appear, but inside a label. */
	static const uint8_t fake[] = "\x05"
	                              "a\x03"
	                              "dyn\x07"
	                              "example";
	assert_int_equal(zone_version_insert(z, zone_node_new(fake, sizeof(fake), 0, NULL, 0)),
	                 NP_EINVAL);
	assert_null(z->apex_node);
	struct cfg_zone cz;
	fx_cfg_zone(&cz, "dyn.example");
	assert_int_equal(zone_version_insert(z, zone_node_new_apex(&cz, 1, NULL, 0)), 0);
	assert_non_null(z->apex_node);
	assert_ptr_equal(find(z, "dyn.example"), z->apex_node);
	assert_int_equal(z->count, 2);
	assert_load_ok(z);
	zone_version_free_all(z);
}

static void test_insert_adds_ents(void **state)
{
	(void)state;
	struct zone_version *z = new_zone(4);
	assert_int_equal(zone_version_insert(z, host("a.b.c.dyn.example", ip1)), 0);
	assert_int_equal(z->count, 3);
	const struct zone_node *b = find(z, "b.c.dyn.example");
	const struct zone_node *c = find(z, "c.dyn.example");
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(b->flags, ZONE_NODE_ENT);
	assert_int_equal(c->flags, ZONE_NODE_ENT);
	assert_int_equal(b->rrsets[ZS_A].len, 0);
	assert_null(find(z, "dyn.example")); /* the apex is never an ENT */
	/* A real node where an ENT was replaces it. */
	assert_int_equal(zone_version_insert(z, host("c.dyn.example", ip2)), 0);
	assert_int_equal(z->count, 3);
	assert_int_equal(find(z, "c.dyn.example")->flags, 0);
	/* Its sibling branch only adds what is missing. */
	assert_int_equal(zone_version_insert(z, host("d.b.c.dyn.example", ip2)), 0);
	assert_int_equal(z->count, 4);
	zone_version_free_all(z);
}

static void test_many_inserts(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct zone_version *z = new_zone(0);
	char name[64];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "h%d.dyn.example", i);
		assert_int_equal(zone_version_insert(z, host(name, ip1)), 0);
	}
	assert_int_equal(z->count, N);
	assert_load_ok(z);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "h%d.dyn.example", i);
		const struct zone_node *n = find(z, name);
		assert_non_null(n);
		assert_int_equal(n->name_len, strlen(name) + 2);
	}
	for (int i = N; i < N + 1000; i++) {
		snprintf(name, sizeof(name), "h%d.dyn.example", i);
		assert_null(find(z, name));
	}
	zone_version_free_all(z);
}

static void test_seeds_differ(void **state)
{
	(void)state;
	struct zone_version *a = new_zone(0), *b = new_zone(0);
	assert_true(a->seed != b->seed);
	struct zone_retired r = {0};
	struct zone_version *c = zone_version_derive(a, 2, NULL, 0, NULL, NULL, 0, &r);
	assert_non_null(c);
	assert_true(c->seed == a->seed);
	assert_int_equal(c->serial, 2);
	assert_int_equal(r.n, 0);
	zone_version_free_table(c);
	zone_version_free_all(a);
	zone_version_free_all(b);
	zone_retired_deinit(&r);
}

static void test_derive_replace_and_add(void **state)
{
	(void)state;
	struct zone_version *v1 = new_zone(0);
	assert_int_equal(zone_version_insert(v1, host("a.dyn.example", ip1)), 0);
	assert_int_equal(zone_version_insert(v1, host("b.dyn.example", ip1)), 0);
	const struct zone_node *a1 = find(v1, "a.dyn.example");
	const struct zone_node *b1 = find(v1, "b.dyn.example");

	struct zone_node *repl[] = {host("a.dyn.example", ip2), host("x.y.dyn.example", ip2)};
	struct zone_retired r = {0};
	struct zone_version *v2 = zone_version_derive(v1, 2, repl, 2, NULL, NULL, 0, &r);
	assert_non_null(v2);
	/* The old version is untouched. */
	assert_ptr_equal(find(v1, "a.dyn.example"), a1);
	assert_null(find(v1, "x.y.dyn.example"));
	assert_null(find(v1, "y.dyn.example"));
	assert_int_equal(v1->count, 2);
	assert_int_equal(v1->serial, 1);
	/* The new one shares b, has the new a, x.y and the ENT y. */
	assert_ptr_equal(find(v2, "a.dyn.example"), repl[0]);
	assert_ptr_equal(find(v2, "b.dyn.example"), b1);
	assert_ptr_equal(find(v2, "x.y.dyn.example"), repl[1]);
	assert_int_equal(find(v2, "y.dyn.example")->flags, ZONE_NODE_ENT);
	assert_int_equal(v2->count, 4);
	assert_int_equal(v2->serial, 2);
	assert_load_ok(v2);
	/* Only the replaced a is retired. */
	assert_int_equal(r.n, 1);
	assert_ptr_equal(r.nodes[0], a1);

	zone_version_free_table(v1);
	zone_retired_free_nodes(&r);
	assert_int_equal(r.n, 0);
	zone_version_free_all(v2);
	zone_retired_deinit(&r);
}

static void test_derive_remove_and_ents(void **state)
{
	(void)state;
	struct zone_version *v1 = new_zone(0);
	struct cfg_zone cz;
	fx_cfg_zone(&cz, "dyn.example");
	assert_int_equal(zone_version_insert(v1, zone_node_new_apex(&cz, 1, NULL, 0)), 0);
	assert_int_equal(zone_version_insert(v1, host("a.b.c.dyn.example", ip1)), 0);
	assert_int_equal(zone_version_insert(v1, host("b.c.dyn.example", ip1)), 0);
	assert_int_equal(zone_version_insert(v1, host("d.c.dyn.example", ip1)), 0);
	assert_int_equal(zone_version_insert(v1, host("e.dyn.example", ip1)), 0);
	assert_int_equal(v1->count, 6); /* apex, a.b.c, b.c, c (ENT), d.c, e */

	/* Removing b.c, which still has a.b.c below it: it stays as an ENT. Removing the apex
	 * and names that do not exist or are not ours changes nothing. */
	uint8_t w[4][DNS_NAME_MAX];
	size_t wl[4];
	const char *names[4] = {"b.c.dyn.example", "dyn.example", "zz.dyn.example", "a.example"};
	const uint8_t *rm[4];
	for (int i = 0; i < 4; i++) {
		wl[i] = (size_t)dns_name_from_text(names[i], w[i], sizeof(w[i]));
		rm[i] = w[i];
	}
	struct zone_retired r = {0};
	struct zone_version *v2 = zone_version_derive(v1, 2, NULL, 0, rm, wl, 4, &r);
	assert_non_null(v2);
	assert_int_equal(v2->count, 6);
	assert_int_equal(find(v2, "b.c.dyn.example")->flags, ZONE_NODE_ENT);
	assert_non_null(find(v2, "dyn.example"));
	assert_int_equal(find(v1, "b.c.dyn.example")->flags, 0);
	assert_int_equal(r.n, 1);
	assert_ptr_equal(r.nodes[0], find(v1, "b.c.dyn.example"));
	assert_load_ok(v2);

	/* Removing a.b.c: b.c (ENT) goes; c stays an ENT because of d.c. */
	const uint8_t *rm2[1];
	uint8_t w2[DNS_NAME_MAX];
	size_t l2 = (size_t)dns_name_from_text("a.b.c.dyn.example", w2, sizeof(w2));
	rm2[0] = w2;
	struct zone_version *v3 = zone_version_derive(v2, 3, NULL, 0, rm2, &l2, 1, &r);
	assert_non_null(v3);
	assert_null(find(v3, "a.b.c.dyn.example"));
	assert_null(find(v3, "b.c.dyn.example"));
	assert_int_equal(find(v3, "c.dyn.example")->flags, ZONE_NODE_ENT);
	assert_int_equal(v3->count, 4);
	assert_int_equal(r.n, 3);

	/* Removing d.c: c goes too; e and the apex remain. */
	l2 = (size_t)dns_name_from_text("d.c.dyn.example", w2, sizeof(w2));
	struct zone_version *v4 = zone_version_derive(v3, 4, NULL, 0, rm2, &l2, 1, &r);
	assert_non_null(v4);
	assert_null(find(v4, "c.dyn.example"));
	assert_null(find(v4, "d.c.dyn.example"));
	assert_non_null(find(v4, "e.dyn.example"));
	assert_int_equal(v4->count, 2);
	assert_int_equal(r.n, 5);
	assert_ptr_equal(v4->apex_node, find(v4, "dyn.example"));
	assert_load_ok(v4);

	/* Every retired node belongs to an older version, and none to v4. */
	for (size_t i = 0; i < r.n; i++)
		assert_ptr_not_equal(zone_find(v4, r.nodes[i]->data, r.nodes[i]->name_len),
		                     r.nodes[i]);
	zone_version_free_table(v1);
	zone_version_free_table(v2);
	zone_version_free_table(v3);
	zone_retired_deinit(&r);
	zone_version_free_all(v4);
}

static void test_derive_remove_then_readd(void **state)
{
	(void)state;
	struct zone_version *v1 = new_zone(0);
	assert_int_equal(zone_version_insert(v1, host("a.b.dyn.example", ip1)), 0);
	const struct zone_node *a1 = find(v1, "a.b.dyn.example");
	uint8_t w[DNS_NAME_MAX];
	size_t l = (size_t)dns_name_from_text("a.b.dyn.example", w, sizeof(w));
	const uint8_t *rm[1] = {w};
	/* Removed and replaced in one batch (delete, then create): the new node wins, and
	 * duplicates in repl are freed, not leaked. */
	struct zone_node *repl[] = {host("a.b.dyn.example", ip2), host("a.b.dyn.example", ip1)};
	struct zone_retired r = {0};
	struct zone_version *v2 = zone_version_derive(v1, 2, repl, 2, rm, &l, 1, &r);
	assert_non_null(v2);
	assert_ptr_equal(find(v2, "a.b.dyn.example"), repl[1]);
	assert_int_equal(find(v2, "b.dyn.example")->flags, ZONE_NODE_ENT);
	assert_ptr_equal(find(v2, "b.dyn.example"), find(v1, "b.dyn.example"));
	assert_int_equal(r.n, 1);
	assert_ptr_equal(r.nodes[0], a1);
	/* A repl node outside the zone: NULL, nothing changed, the caller still owns repl. */
	struct zone_node *bad[] = {host("x.dyn.example", ip1), host("a.example", ip1)};
	assert_null(zone_version_derive(v2, 3, bad, 2, NULL, NULL, 0, &r));
	assert_int_equal(r.n, 1);
	zone_node_free(bad[0]);
	zone_node_free(bad[1]);
	zone_version_free_table(v1);
	zone_retired_deinit(&r);
	zone_version_free_all(v2);
}

/* Many removals from a crowded table: backward-shift deletion must keep every probe run
 * intact, and the table must match a simple model after each step. */
static void test_derive_many_removals(void **state)
{
	(void)state;
	enum { N = 4000 };
	static uint8_t names[N][DNS_NAME_MAX];
	static size_t lens[N];
	static bool live[N];
	struct zone_version *v = new_zone(N);
	char text[64];
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "n%d.dyn.example", i);
		lens[i] = (size_t)dns_name_from_text(text, names[i], sizeof(names[i]));
		assert_int_equal(zone_version_insert(v, host(text, ip1)), 0);
		live[i] = true;
	}
	struct zone_retired r = {0};
	uint32_t rng = 12345;
	for (int round = 0; round < 8; round++) {
		const uint8_t *rm[400];
		size_t rl[400];
		struct zone_node *repl[100];
		for (int k = 0; k < 400; k++) {
			rng = rng * 1103515245 + 12345;
			int i = (int)((rng >> 8) % N);
			rm[k] = names[i];
			rl[k] = lens[i];
			live[i] = false;
		}
		for (int k = 0; k < 100; k++) {
			rng = rng * 1103515245 + 12345;
			int i = (int)((rng >> 8) % N);
			snprintf(text, sizeof(text), "n%d.dyn.example", i);
			repl[k] = host(text, ip2);
			live[i] = true;
		}
		struct zone_version *nv =
		    zone_version_derive(v, (uint32_t)round, repl, 100, rm, rl, 400, &r);
		assert_non_null(nv);
		zone_version_free_table(v);
		zone_retired_free_nodes(&r);
		v = nv;
		uint32_t want = 0;
		for (int i = 0; i < N; i++) {
			want += live[i];
			const struct zone_node *n = zone_find(v, names[i], lens[i]);
			assert_true((n != NULL) == live[i]);
		}
		assert_int_equal(v->count, want);
		assert_load_ok(v);
	}
	zone_retired_deinit(&r);
	zone_version_free_all(v);
}

static void test_derive_grows_table(void **state)
{
	(void)state;
	struct zone_version *v1 = new_zone(0);
	uint32_t size1 = v1->mask + 1;
	enum { N = 100 };
	struct zone_node *repl[N];
	char text[64];
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "g%d.dyn.example", i);
		repl[i] = host(text, ip1);
	}
	struct zone_retired r = {0};
	struct zone_version *v2 = zone_version_derive(v1, 2, repl, N, NULL, NULL, 0, &r);
	assert_non_null(v2);
	assert_true(v2->mask + 1 > size1);
	assert_int_equal(v2->count, N);
	assert_int_equal(v1->count, 0);
	assert_load_ok(v2);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(zone_find(v2, repl[i]->data, repl[i]->name_len), repl[i]);
	/* Growing rebuilt the table: every page of v1 is retired, none shared. */
	assert_int_equal(r.n_pages, n_pages(v1));
	assert_ptr_equal(r.pages[0], v1->pages[0]);
	zone_version_free_table(v1);
	zone_retired_deinit(&r);
	zone_version_free_all(v2);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* A derive writes 3 names into a table of 128 pages: it copies only the pages it writes,
 * retires exactly old's copies of those, and shares the rest; freeing the old version and
 * the retired set afterwards leaves the new version whole (ASAN checks the frees). */
static void test_derive_copies_only_written_pages(void **state)
{
	(void)state;
	enum { N = 20000 };
	static uint8_t names[N][DNS_NAME_MAX];
	static size_t lens[N];
	struct zone_version *v1 = new_zone(N);
	char text[64];
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "p%d.dyn.example", i);
		lens[i] = (size_t)dns_name_from_text(text, names[i], sizeof(names[i]));
		assert_int_equal(zone_version_insert(v1, host(text, ip1)), 0);
	}
	assert_true(n_pages(v1) >= 64);
	const struct zone_node *old7 = zone_find(v1, names[7], lens[7]);
	struct zone_node *repl[3] = {host("p7.dyn.example", ip2), host("p8.dyn.example", ip2),
	                             host("p9.dyn.example", ip2)};
	struct zone_retired r = {0};
	struct zone_version *v2 = zone_version_derive(v1, 2, repl, 3, NULL, NULL, 0, &r);
	assert_non_null(v2);
	assert_int_equal(v2->mask, v1->mask);
	assert_true(r.n_pages >= 1 && r.n_pages <= 3);
	assert_int_equal(shared_pages(v2, v1), n_pages(v1) - r.n_pages);
	for (size_t k = 0; k < r.n_pages; k++) {
		bool found = false;
		for (uint32_t p = 0; p < n_pages(v1); p++)
			found |= r.pages[k] == v1->pages[p] && v2->pages[p] != v1->pages[p];
		assert_true(found);
	}
	assert_int_equal(r.n, 3);
	assert_ptr_equal(zone_find(v1, names[7], lens[7]), old7);
	assert_ptr_equal(zone_find(v2, names[7], lens[7]), repl[0]);
	assert_load_ok(v1);
	assert_load_ok(v2);

	/* After the grace period: v1's directory, the retired pages and nodes go. */
	zone_version_free_table(v1);
	zone_retired_free_nodes(&r);
	assert_int_equal(r.n_pages, 0);
	for (int i = 0; i < N; i++)
		assert_non_null(zone_find(v2, names[i], lens[i]));

	/* The next derive shares with v2 the pages v2 copied, and removes across pages. */
	const uint8_t *rm[64];
	for (int k = 0; k < 64; k++)
		rm[k] = names[k * 300];
	size_t rl[64];
	for (int k = 0; k < 64; k++)
		rl[k] = lens[k * 300];
	struct zone_version *v3 = zone_version_derive(v2, 3, NULL, 0, rm, rl, 64, &r);
	assert_non_null(v3);
	assert_int_equal(v3->count, N - 64);
	assert_true(shared_pages(v3, v2) + r.n_pages == n_pages(v2));
	zone_version_free_table(v2);
	zone_retired_free_nodes(&r);
	for (int i = 0; i < N; i++)
		assert_true((zone_find(v3, names[i], lens[i]) == NULL) ==
		            (i % 300 == 0 && i / 300 < 64));
	assert_load_ok(v3);
	zone_retired_deinit(&r);
	zone_version_free_all(v3);
}

/* A derived version thrown away unpublished: its copied pages and the nodes born in its
 * derive (repl nodes, ENTs) go, old keeps everything (ASAN: no leak, no double free). */
static void test_discard(void **state)
{
	(void)state;
	for (int grow = 0; grow < 2; grow++) {
		enum { N = 3000 };
		struct zone_version *v1 = new_zone(N);
		char text[64];
		for (int i = 0; i < N; i++) {
			snprintf(text, sizeof(text), "d%d.dyn.example", i);
			assert_int_equal(zone_version_insert(v1, host(text, ip1)), 0);
		}
		const struct zone_node *d5 = find(v1, "d5.dyn.example");
		uint32_t mask = v1->mask;
		/* Replace one, add a deep one (with ENTs), remove one; when growing, add
		 * enough to resize. */
		enum { EXTRA = 3000 };
		static struct zone_node *repl[2 + EXTRA];
		size_t n_repl = 0;
		repl[n_repl++] = host("d5.dyn.example", ip2);
		repl[n_repl++] = host("a.b.c.dyn.example", ip2);
		for (int i = 0; grow && i < EXTRA; i++) {
			snprintf(text, sizeof(text), "new%d.dyn.example", i);
			repl[n_repl++] = host(text, ip2);
		}
		uint8_t w[DNS_NAME_MAX];
		size_t l = (size_t)dns_name_from_text("d6.dyn.example", w, sizeof(w));
		const uint8_t *rm[1] = {w};
		struct zone_retired r = {0};
		struct zone_version *v2 = zone_version_derive(v1, 2, repl, n_repl, rm, &l, 1, &r);
		assert_non_null(v2);
		assert_true(grow ? v2->mask != mask : v2->mask == mask);
		assert_non_null(find(v2, "b.c.dyn.example"));
		assert_int_equal(r.n, 2);
		zone_version_discard(v2, v1);
		zone_retired_drop(&r);
		assert_null(r.nodes);
		assert_null(r.pages);
		/* v1 is as it was. */
		assert_int_equal(v1->count, N);
		assert_int_equal(v1->mask, mask);
		assert_ptr_equal(find(v1, "d5.dyn.example"), d5);
		assert_non_null(find(v1, "d6.dyn.example"));
		assert_null(find(v1, "b.c.dyn.example"));
		assert_load_ok(v1);
		/* And v1 can still be derived from and freed the normal way. */
		struct zone_version *v3 = zone_version_derive(v1, 3, NULL, 0, NULL, NULL, 0, &r);
		assert_non_null(v3);
		assert_int_equal(shared_pages(v3, v1), n_pages(v1));
		zone_version_discard(v3, v1);
		zone_version_free_all(v1);
		zone_retired_deinit(&r);
	}
}

/* Not a pass/fail test: prints what one writer batch costs on a 100,000-name zone (derive
 * with 3 changed names, then the frees after the grace period) and what a lookup costs,
 * so that changes to the table can be measured. */
static void test_bench_derive_100k(void **state)
{
	(void)state;
	enum { N = 100000, ROUNDS = 200, CHANGED = 3, LOOKUPS = 1000000 };
	struct zone_version *v = new_zone(N);
	char text[64];
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "h%d.dyn.example", i);
		assert_int_equal(zone_version_insert(v, host(text, ip1)), 0);
	}
	struct zone_retired r = {0};
	uint32_t rng = 777;
	double derive_us = 0, free_us = 0, best = 1e300;
	for (int round = 0; round < ROUNDS; round++) {
		struct zone_node *repl[CHANGED];
		for (int k = 0; k < CHANGED; k++) {
			rng = rng * 1103515245 + 12345;
			snprintf(text, sizeof(text), "h%u.dyn.example", (rng >> 8) % N);
			repl[k] = host(text, (round & 1) ? ip1 : ip2);
		}
		double t0 = now_us();
		struct zone_version *nv =
		    zone_version_derive(v, (uint32_t)round + 2, repl, CHANGED, NULL, NULL, 0, &r);
		double t1 = now_us();
		assert_non_null(nv);
		zone_version_free_table(v);
		zone_retired_free_nodes(&r);
		double t2 = now_us();
		v = nv;
		derive_us += t1 - t0;
		free_us += t2 - t1;
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	assert_int_equal(v->count, N);
	uint8_t names[1024][DNS_NAME_MAX];
	size_t lens[1024];
	for (int i = 0; i < 1024; i++) {
		/* Half hits, half misses. */
		snprintf(text, sizeof(text), (i & 1) ? "h%d.dyn.example" : "m%d.dyn.example",
		         (i * 97) % N);
		lens[i] = (size_t)dns_name_from_text(text, names[i], sizeof(names[i]));
	}
	size_t hits = 0;
	double t0 = now_us();
	for (int i = 0; i < LOOKUPS; i++)
		hits += zone_find(v, names[i & 1023], lens[i & 1023]) != NULL;
	double t1 = now_us();
	assert_int_equal(hits, LOOKUPS / 2);
	printf("bench: 100k names, table %u slots: derive(3 changed) avg %.1f us, best %.1f us; "
	       "free after grace avg %.1f us; zone_find %.1f ns\n",
	       v->mask + 1, derive_us / ROUNDS, best, free_us / ROUNDS, (t1 - t0) * 1e3 / LOOKUPS);
	zone_retired_deinit(&r);
	zone_version_free_all(v);
}

static void test_db_find_longest_suffix(void **state)
{
	(void)state;
	uint8_t w[3][DNS_NAME_MAX];
	const char *apexes[3] = {"example", "dyn.example", "b.dyn.example"};
	struct zone_db *db = calloc(1, sizeof(*db) + 3 * sizeof(db->zones[0]));
	assert_non_null(db);
	for (int i = 0; i < 3; i++) {
		int len = dns_name_from_text(apexes[i], w[i], sizeof(w[i]));
		db->zones[i] = zone_version_new(w[i], (size_t)len, 1, 0);
	}
	db->n_zones = 3;
	const struct {
		const char *q;
		int zone;
	} cases[] = {
	    {"example", 0},        {"x.example", 0},     {"dyn.example", 1},
	    {"a.dyn.example", 1},  {"b.dyn.example", 2}, {"x.b.dyn.example", 2},
	    {"xb.dyn.example", 1}, {"ample", -1},        {".", -1},
	    {"example.com", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t q[DNS_NAME_MAX];
		int len = dns_name_from_text(cases[i].q, q, sizeof(q));
		const struct zone_version *z = zone_db_find(db, q, (size_t)len);
		if (cases[i].zone < 0)
			assert_null(z);
		else
			assert_ptr_equal(z, db->zones[cases[i].zone]);
	}
	/* "\5a\3dyn" + "example": the bytes of dyn.example end it, but not on a label
	 * boundary, so only "example" matches. */
	const uint8_t fake[] = "\x05"
	                       "a\x03"
	                       "dyn\x07"
	                       "example";
	const struct zone_version *z = zone_db_find(db, fake, sizeof(fake));
	assert_ptr_equal(z, db->zones[0]);
	assert_null(zone_db_find(NULL, fake, sizeof(fake)));
	for (int i = 0; i < 3; i++)
		zone_version_free_all((struct zone_version *)db->zones[i]);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_layout),
	    cmocka_unit_test(test_node_rejects_bad_input),
	    cmocka_unit_test(test_apex_node),
	    cmocka_unit_test(test_insert_find_replace),
	    cmocka_unit_test(test_insert_adds_ents),
	    cmocka_unit_test(test_many_inserts),
	    cmocka_unit_test(test_seeds_differ),
	    cmocka_unit_test(test_derive_replace_and_add),
	    cmocka_unit_test(test_derive_remove_and_ents),
	    cmocka_unit_test(test_derive_remove_then_readd),
	    cmocka_unit_test(test_derive_many_removals),
	    cmocka_unit_test(test_derive_grows_table),
	    cmocka_unit_test(test_derive_copies_only_written_pages),
	    cmocka_unit_test(test_discard),
	    cmocka_unit_test(test_db_find_longest_suffix),
	    cmocka_unit_test(test_bench_derive_100k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
