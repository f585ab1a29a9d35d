/* SPDX-License-Identifier: MIT */
/* Unit tests for a signed zone's nodes and denials: RRSIGs beside the RRsets they cover,
 * the wildcard's records, and the compact denial with its cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "dns/constants.h"
#include "dns/wire.h"
#include "dnssec/key.h"
#include "dnssec/sign.h"
#include "dnssec/zone.h"
#include "zone/zone.h"

static const uint8_t apex[] = "\x03"
                              "dyn\x07"
                              "example";
static const uint8_t host[] = "\x04"
                              "home\x03"
                              "dyn\x07"
                              "example";

#define NOW 1800000000u

static struct dnssec_zone *zone_of(unsigned alg)
{
	struct dnssec_key ksk, zsk;
	assert_int_equal(dnssec_key_generate(&ksk, alg, DNSSEC_FLAGS_KSK), NP_OK);
	assert_int_equal(dnssec_key_generate(&zsk, alg, DNSSEC_FLAGS_ZSK), NP_OK);
	struct dnssec_zone *z = dnssec_zone_new(apex, sizeof(apex), &ksk, &zsk);
	assert_non_null(z);
	return z;
}

static struct zone_node *host_node(unsigned flags)
{
	static const uint8_t a[4] = {192, 0, 2, 1}, a2[4] = {192, 0, 2, 2};
	static const uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	struct zone_rr_in rrs[3] = {
	    {DNS_TYPE_A, 60, 4, a2}, {DNS_TYPE_A, 60, 4, a}, {DNS_TYPE_AAAA, 60, 16, aaaa}};
	struct zone_node *n = zone_node_new(host, sizeof(host), flags, rrs, 3);
	assert_non_null(n);
	return n;
}

/* Each RRset gets one RRSIG in the slot of its type, equal (Ed25519 is deterministic) to
 * the one dnssec_rrsig makes over the same records; the RRsets are unchanged. */
static void test_node_signed_beside_rrsets(void **state)
{
	(void)state;
	struct dnssec_zone *z = zone_of(DNSSEC_ALG_ED25519);
	struct zone_node *n = host_node(0);
	struct zone_node *s = dnssec_sign_node(z, n, 30, NOW);
	assert_non_null(s);
	assert_int_equal(zone_node_sigs(s)->set[ZS_A].count, 1);
	assert_int_equal(zone_node_sigs(s)->set[ZS_AAAA].count, 1);
	assert_int_equal(zone_node_sigs(s)->set[ZS_MX].len, 0);
	assert_int_equal(zone_node_sigs(s)->wild.len, 0);
	assert_memory_equal(s->data + s->rrsets[ZS_A].off, n->data + n->rrsets[ZS_A].off,
	                    n->rrsets[ZS_A].len);

	const uint8_t *rr = s->data + zone_node_sigs(s)->set[ZS_A].off;
	assert_int_equal(wire_load_u16(rr), 0xC00C);
	assert_int_equal(wire_load_u16(rr + 2), DNSSEC_TYPE_RRSIG);
	const uint8_t a[4] = {192, 0, 2, 1}, a2[4] = {192, 0, 2, 2};
	struct dnssec_rr rrs[2] = {{a, 4}, {a2, 4}};
	struct dnssec_sig_meta m = {host, sizeof(host),      DNS_TYPE_A,
	                            60,   NOW - DNSSEC_SKEW, NOW + DNSSEC_VALIDITY,
	                            apex, sizeof(apex)};
	uint8_t want[DNSSEC_RRSIG_MAX];
	int len = dnssec_rrsig(&z->zsk, &m, rrs, 2, want);
	assert_int_equal(wire_load_u16(rr + 10), len);
	assert_memory_equal(rr + 12, want, (size_t)len);

	/* A signature for a type the node does not hold is refused. */
	struct zone_rr_in bad = {ZONE_TYPE_RRSIG, 60, (uint16_t)len, want};
	wire_store_u16(want, DNS_TYPE_MX);
	assert_null(zone_node_with_sigs(n, &bad, 1, NULL, 0));
	zone_node_free(s);
	zone_node_free(n);
	dnssec_zone_free(z);
}

/* A wildcard node holds its RRsets signed over "*.home" and the NSEC at "*.home" whose
 * next name is "home\000": labels one less than the owner's. */
static void test_wildcard_records(void **state)
{
	(void)state;
	struct dnssec_zone *z = zone_of(DNSSEC_ALG_ED25519);
	struct zone_node *n = host_node(ZONE_NODE_WILDCARD);
	struct zone_node *s = dnssec_sign_node(z, n, 30, NOW);
	assert_non_null(s);
	assert_int_equal(zone_node_sigs(s)->wild.count, 4); /* RRSIG A, RRSIG AAAA, NSEC, RRSIG NSEC */
	const uint8_t *p = s->data + zone_node_sigs(s)->wild.off;
	unsigned seen_nsec = 0;
	for (unsigned i = 0; i < zone_node_sigs(s)->wild.count; i++) {
		uint16_t type = wire_load_u16(p + 2), rdlen = wire_load_u16(p + 10);
		const uint8_t *rd = p + 12;
		if (type == DNSSEC_TYPE_NSEC) {
			const uint8_t next[] = "\x05"
			                       "home\x00\x03"
			                       "dyn\x07"
			                       "example";
			assert_memory_equal(rd, next, sizeof(next));
			assert_int_equal(wire_load_u32(p + 6), 30);
			seen_nsec++;
		} else {
			assert_int_equal(type, DNSSEC_TYPE_RRSIG);
			assert_int_equal(rd[3], 3); /* labels of "home.dyn.example" */
		}
		p += 12 + rdlen;
	}
	assert_int_equal(seen_nsec, 1);
	zone_node_free(s);
	zone_node_free(n);
	dnssec_zone_free(z);
}

/* The two records of a denial, parsed: the NSEC's rdata and the RRSIG's. */
static void deny_parts(const uint8_t *out, size_t len, const uint8_t **nsec, size_t *nsec_len,
                       const uint8_t **sig, size_t *sig_len)
{
	assert_int_equal(wire_load_u16(out), 0xC00C);
	assert_int_equal(wire_load_u16(out + 2), DNSSEC_TYPE_NSEC);
	*nsec_len = wire_load_u16(out + 10);
	*nsec = out + 12;
	const uint8_t *r = out + 12 + *nsec_len;
	assert_int_equal(wire_load_u16(r + 2), DNSSEC_TYPE_RRSIG);
	*sig_len = wire_load_u16(r + 10);
	*sig = r + 12;
	assert_int_equal(12 + *nsec_len + 12 + *sig_len, len);
}

static bool has_type(const uint8_t *bitmap, size_t len, unsigned type)
{
	return bitmap[0] == 0 && type / 8 < bitmap[1] && 2 + (size_t)bitmap[1] <= len &&
	       (bitmap[2 + type / 8] & (0x80 >> (type % 8))) != 0;
}

/* NXDOMAIN: next "\000.qname", bitmap RRSIG NSEC NXNAME, a signature that verifies over
 * the canonical NSEC; asked again, the same signature comes from the cache (ECDSA signs
 * differently each time, so equal bytes mean a hit). NODATA: the node's types. */
static void test_compact_denial(void **state)
{
	(void)state;
	struct dnssec_zone *z = zone_of(DNSSEC_ALG_ECDSAP256);
	const uint8_t q[] = "\x02"
	                    "nx\x03"
	                    "dyn\x07"
	                    "example";
	uint8_t out[DNSSEC_DENY_MAX], again[DNSSEC_DENY_MAX];
	size_t len = dnssec_deny(z, q, sizeof(q), NULL, 30, NOW, out);
	assert_true(len > 0);
	const uint8_t *nsec, *sig;
	size_t nsec_len, sig_len;
	deny_parts(out, len, &nsec, &nsec_len, &sig, &sig_len);
	assert_int_equal(nsec[0], 1);
	assert_int_equal(nsec[1], 0);
	assert_memory_equal(nsec + 2, q, sizeof(q));
	const uint8_t *bm = nsec + 2 + sizeof(q);
	size_t bmlen = nsec_len - 2 - sizeof(q);
	assert_true(has_type(bm, bmlen, DNSSEC_TYPE_RRSIG));
	assert_true(has_type(bm, bmlen, DNSSEC_TYPE_NSEC));
	assert_true(has_type(bm, bmlen, DNSSEC_TYPE_NXNAME));
	assert_false(has_type(bm, bmlen, DNS_TYPE_A));

	/* The signed data: the RRSIG rdata before the signature, then the NSEC record. */
	size_t prefix = sig_len - DNSSEC_SIG_LEN;
	uint8_t data[1024];
	memcpy(data, sig, prefix);
	size_t dl = prefix;
	memcpy(data + dl, q, sizeof(q));
	dl += sizeof(q);
	wire_store_u16(data + dl, DNSSEC_TYPE_NSEC);
	wire_store_u16(data + dl + 2, DNS_CLASS_IN);
	wire_store_u32(data + dl + 4, 30);
	wire_store_u16(data + dl + 8, (uint16_t)nsec_len);
	memcpy(data + dl + 10, nsec, nsec_len);
	dl += 10 + nsec_len;
	assert_true(dnssec_verify(&z->zsk, data, dl, sig + prefix));
	assert_int_equal(sig[3], 3); /* labels */

	assert_int_equal(dnssec_deny(z, q, sizeof(q), NULL, 30, NOW + 5, again), len);
	assert_memory_equal(out, again, len); /* the same hour: from the cache */

	struct zone_node *n = host_node(0);
	len = dnssec_deny(z, host, sizeof(host), n, 30, NOW, out);
	deny_parts(out, len, &nsec, &nsec_len, &sig, &sig_len);
	bm = nsec + 2 + sizeof(host);
	bmlen = nsec_len - 2 - sizeof(host);
	assert_true(has_type(bm, bmlen, DNS_TYPE_A));
	assert_true(has_type(bm, bmlen, DNS_TYPE_AAAA));
	assert_false(has_type(bm, bmlen, DNSSEC_TYPE_NXNAME));
	assert_false(has_type(bm, bmlen, DNS_TYPE_MX));

	/* A name with no room for "\000." in front (254 octets: three labels of 63, one of
	 * 60, the root): its first label is full, so the successor has its last octet
	 * incremented (RFC 4471 3.1.2): "aa...ab" + the rest. */
	uint8_t longname[254];
	memset(longname, 'a', sizeof(longname));
	for (size_t i = 0; i < 192; i += 64)
		longname[i] = 63;
	longname[192] = 60;
	longname[253] = 0;
	len = dnssec_deny(z, longname, sizeof(longname), NULL, 30, NOW, out);
	assert_true(len > 0);
	deny_parts(out, len, &nsec, &nsec_len, &sig, &sig_len);
	assert_memory_equal(nsec, longname, 63);
	assert_int_equal(nsec[63], 'b');
	assert_memory_equal(nsec + 64, longname + 64, sizeof(longname) - 64);
	/* With a shorter first label, a 0 octet is appended to it. */
	longname[0] = 62;
	longname[63] = 61;
	len = dnssec_deny(z, longname, sizeof(longname), NULL, 30, NOW, out);
	deny_parts(out, len, &nsec, &nsec_len, &sig, &sig_len);
	assert_int_equal(nsec[0], 63);
	assert_int_equal(nsec[63], 0);
	assert_memory_equal(nsec + 64, longname + 63, sizeof(longname) - 63);
	/* A full first label of 0xff octets has no successor of that length: no denial. */
	longname[0] = 63;
	longname[63] = 'a';
	memset(longname + 1, 0xff, 63);
	assert_int_equal(dnssec_deny(z, longname, sizeof(longname), NULL, 30, NOW, out), 0);
	zone_node_free(n);
	dnssec_zone_free(z);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_signed_beside_rrsets),
	    cmocka_unit_test(test_wildcard_records),
	    cmocka_unit_test(test_compact_denial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
