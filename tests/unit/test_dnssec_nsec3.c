/* SPDX-License-Identifier: MIT */
/* Unit tests for the NSEC3 chain transfers carry: owner hashes (checked against hashes
 * made with Python's hashlib and base64), the writer's index, and the records a node
 * carries, whose next-owner fields close one ring over every owner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/constants.h"
#include "dns/wire.h"
#include "dnssec/key.h"
#include "dnssec/nsec3.h"
#include "dnssec/zone.h"
#include "zone/zone.h"

#define NOW 1800000000u

static const uint8_t apex[] = "\x03"
                              "dyn\x07"
                              "example";
static const uint8_t home[] = "\x04"
                              "home\x03"
                              "dyn\x07"
                              "example";
static const uint8_t wild[] = "\x04"
                              "wild\x03"
                              "dyn\x07"
                              "example";
static const uint8_t deep[] = "\x01"
                              "a\x01"
                              "b\x04"
                              "deep\x03"
                              "dyn\x07"
                              "example";
static const uint8_t empty[] = "\x05"
                               "empty\x03"
                               "dyn\x07"
                               "example";

static struct zone_node *node_of(const uint8_t *name, size_t len, unsigned flags, bool data)
{
	static const uint8_t a[4] = {192, 0, 2, 1};
	struct zone_rr_in rr = {DNS_TYPE_A, 60, 4, a};
	struct zone_node *n = zone_node_new(name, len, flags, &rr, data ? 1 : 0);
	assert_non_null(n);
	return n;
}

/* apex, home, wild (a wildcard host), a.b.deep (ENTs b.deep and deep), empty (no data). */
static struct zone_version *version(void)
{
	struct zone_version *z = zone_version_new(apex, sizeof(apex), 1, 16);
	assert_non_null(z);
	assert_int_equal(zone_version_insert(z, node_of(apex, sizeof(apex), ZONE_NODE_APEX, true)),
	                 NP_OK);
	assert_int_equal(zone_version_insert(z, node_of(home, sizeof(home), 0, true)), NP_OK);
	assert_int_equal(
	    zone_version_insert(z, node_of(wild, sizeof(wild), ZONE_NODE_WILDCARD, true)), NP_OK);
	assert_int_equal(zone_version_insert(z, node_of(deep, sizeof(deep), 0, true)), NP_OK);
	assert_int_equal(zone_version_insert(z, node_of(empty, sizeof(empty), 0, false)), NP_OK);
	return z;
}

/* The owner's label of the first record of node's records in buf. */
static const uint8_t *first_owner(const uint8_t *buf)
{
	assert_int_equal(buf[0], 1 + NSEC3_LABEL_LEN);
	assert_int_equal(buf[1], NSEC3_LABEL_LEN);
	return buf + 2;
}

static void test_owner_hashes(void **state)
{
	(void)state;
	struct dnssec_key ksk, zsk;
	assert_int_equal(dnssec_key_generate(&ksk, DNSSEC_ALG_ED25519, DNSSEC_FLAGS_KSK), NP_OK);
	assert_int_equal(dnssec_key_generate(&zsk, DNSSEC_ALG_ED25519, DNSSEC_FLAGS_ZSK), NP_OK);
	struct dnssec_zone *dz = dnssec_zone_new(apex, sizeof(apex), &ksk, &zsk);
	struct zone_version *z = version();
	struct nsec3_index *ix = nsec3_index_build(z);
	assert_non_null(ix);
	/* apex, home, wild, *.wild, a.b.deep, b.deep, deep: not "empty", which has no data. */
	assert_int_equal(ix->n, 7);
	/* Names with data below each: what tells whether an ENT stays when one goes. */
	static const uint8_t bdeep[] = "\x01"
	                               "b\x04"
	                               "deep\x03"
	                               "dyn\x07"
	                               "example";
	assert_int_equal(nsec3_index_find(ix, bdeep, sizeof(bdeep), false)->below, 1);
	assert_int_equal(nsec3_index_find(ix, apex, sizeof(apex), false)->below, 3);
	assert_int_equal(nsec3_index_find(ix, home, sizeof(home), false)->below, 0);
	assert_null(nsec3_index_find(ix, empty, sizeof(empty), false));
	static uint8_t buf[NSEC3_NODE_RECORDS_MAX];
	uint16_t count;
	long len = nsec3_node_records(dz, ix, zone_find(z, home, sizeof(home)), NULL, 30, 60, NOW,
	                              buf, sizeof(buf), &count);
	assert_true(len > 0);
	assert_int_equal(count, 2);
	/* python3: base64.b32encode(hashlib.sha1(wire).digest()) in the base32hex alphabet */
	assert_memory_equal(first_owner(buf), "1oi19d0musmd4lq6ujtp6s2f61rqghso", NSEC3_LABEL_LEN);
	len = nsec3_node_records(dz, ix, zone_find(z, wild, sizeof(wild)), NULL, 30, 60, NOW, buf,
	                         sizeof(buf), &count);
	assert_int_equal(count, 4); /* wild and *.wild, each with its RRSIG */
	len = nsec3_node_records(dz, ix, z->apex_node, NULL, 30, 60, NOW, buf, sizeof(buf), &count);
	assert_int_equal(count, 4); /* the apex's NSEC3 and the NSEC3PARAM */
	assert_memory_equal(first_owner(buf), "u430i5rksru2kaq4qltshnm8m4ikidaq", NSEC3_LABEL_LEN);
	len = nsec3_node_records(dz, ix, zone_find(z, empty, sizeof(empty)), NULL, 30, 60, NOW, buf,
	                         sizeof(buf), &count);
	assert_int_equal(len, 0);
	assert_int_equal(count, 0);
	/* The ring: from each owner, next is the one after it, the last one's the first. */
	for (size_t i = 0; i < ix->n; i++) {
		const struct nsec3_entry *e = &ix->e[i];
		if (e->wild)
			continue;
		len = nsec3_node_records(dz, ix, zone_find(z, e->name, e->name_len), NULL, 30, 60,
		                         NOW, buf, sizeof(buf), &count);
		assert_true(len > 0);
		const uint8_t *body = buf + 1 + buf[0];
		assert_int_equal(wire_load_u16(body), ZONE_TYPE_NSEC3);
		const uint8_t *rd = body + 10;
		assert_memory_equal(rd, "\x01\x00\x00\x00\x00\x14", 6); /* SHA-1, 0, 0, no salt */
		assert_memory_equal(rd + 6, ix->e[(i + 1) % ix->n].hash, NSEC3_HASH_LEN);
	}
	nsec3_index_free(ix);
	zone_version_free_all(z);
	dnssec_zone_free(dz);
}

static void test_index_add_remove(void **state)
{
	(void)state;
	struct zone_version *z = version();
	struct nsec3_index *ix = nsec3_index_build(z);
	assert_non_null(ix);
	assert_int_equal(nsec3_index_add(ix, home, sizeof(home), false), NP_EEXIST);
	assert_int_equal(nsec3_index_add(ix, empty, sizeof(empty), false), NP_OK);
	assert_int_equal(nsec3_index_add(ix, home, sizeof(home), true), NP_OK);
	assert_int_equal(ix->n, 9);
	for (size_t i = 1; i < ix->n; i++)
		assert_true(memcmp(ix->e[i - 1].hash, ix->e[i].hash, NSEC3_HASH_LEN) < 0);
	assert_true(nsec3_index_remove(ix, wild, sizeof(wild), true));
	assert_false(nsec3_index_remove(ix, wild, sizeof(wild), true));
	assert_int_equal(ix->n, 8);
	nsec3_index_free(ix);
	zone_version_free_all(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_owner_hashes),
	    cmocka_unit_test(test_index_add_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
