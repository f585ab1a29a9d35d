/* SPDX-License-Identifier: MIT */
/* Unit tests for DNSSEC keys and RRSIGs: byte-exact against BIND 9.18's tools, and
 * round trips through the private blob for both algorithms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "dns/constants.h"
#include "dnssec/key.h"
#include "dnssec/sign.h"

/* Made once with BIND 9.18: dnssec-keygen -a ED25519 -n ZONE example.test (a ZSK, tag
 * 19365; PrivateKey below is its seed), dnssec-dsfromkey -2 of it, and dnssec-signzone
 * -s 20260101000000 -e 20270101000000 over host.example.test. 60 A 192.0.2.7 and
 * 192.0.2.1 (Ed25519 signatures are deterministic, so the RRSIG is exact). */
static const uint8_t ed_seed[32] = {
    0xa6, 0x2c, 0x87, 0xe0, 0x12, 0x06, 0x31, 0xec, 0xcf, 0xe8, 0x31, 0xae, 0xda, 0xbb, 0xb6, 0x53,
    0xb0, 0x87, 0x73, 0xc3, 0xd0, 0xc6, 0x89, 0x1c, 0xe3, 0x19, 0x84, 0xea, 0x37, 0x42, 0x44, 0x74};
static const uint8_t ed_pub[32] = {0x89, 0x12, 0x79, 0xd7, 0x9d, 0x89, 0x95, 0xdb, 0x66, 0x86, 0x7e,
                                   0x2f, 0x4c, 0xd5, 0x2b, 0x7a, 0xe9, 0xb7, 0xfc, 0x47, 0xa3, 0xcb,
                                   0xe5, 0x5b, 0x1e, 0x29, 0xea, 0x4f, 0x42, 0xcd, 0xf9, 0xd3};
static const uint8_t ed_sig_a[64] = {
    0x82, 0xbf, 0xf3, 0x5f, 0x63, 0xde, 0xb4, 0x0c, 0x2f, 0xe6, 0x69, 0xdd, 0xaa, 0x13, 0x99, 0x74,
    0x77, 0xb8, 0x43, 0xbd, 0xf7, 0x5b, 0x00, 0x0e, 0xd1, 0xd5, 0xde, 0xf7, 0xb2, 0x6c, 0xbf, 0x43,
    0x2b, 0xc7, 0x90, 0x8e, 0x12, 0x42, 0xee, 0xfc, 0x48, 0x72, 0x87, 0x95, 0xe2, 0x53, 0x50, 0xe0,
    0xc2, 0xfc, 0x9c, 0x10, 0x11, 0x49, 0x5c, 0x0e, 0x5f, 0x05, 0xd6, 0xbb, 0xe7, 0x69, 0xea, 0x06};
/* DS 19365 15 2 347CF90E... */
static const uint8_t ed_ds[36] = {0x4b, 0xa5, 15,   2,    0x34, 0x7c, 0xf9, 0x0e, 0x0f,
                                  0x42, 0xa4, 0xde, 0x62, 0xb1, 0x7a, 0xd6, 0xd9, 0xd3,
                                  0x9a, 0xcf, 0xb6, 0x1e, 0x88, 0x80, 0x43, 0xe6, 0x03,
                                  0x2a, 0xbe, 0x54, 0x87, 0x5b, 0xec, 0x42, 0x16, 0x5f};
/* A P-256 KSK of the same run: its public key, and DS 8910 13 2 A9146ECF... */
static const uint8_t p256_pub[64] = {
    0x46, 0x99, 0x79, 0x86, 0xd9, 0xb2, 0x26, 0xc6, 0xfc, 0xaf, 0x53, 0xa5, 0x6b, 0x03, 0xc5, 0xd4,
    0x8a, 0x92, 0x12, 0x7d, 0xdc, 0x25, 0x31, 0xce, 0x74, 0x7c, 0x07, 0xbd, 0xf1, 0x0b, 0x64, 0x99,
    0xa5, 0xad, 0x04, 0xdb, 0x1b, 0xcb, 0x16, 0x2c, 0xed, 0x37, 0x35, 0x69, 0x60, 0x72, 0xd0, 0xc7,
    0x6f, 0x6d, 0xaa, 0x47, 0xf6, 0xb4, 0x6c, 0x06, 0x44, 0xee, 0xc1, 0x1d, 0xc6, 0x8a, 0xe6, 0xb4};
static const uint8_t p256_ds[36] = {0x22, 0xce, 13,   2,    0xa9, 0x14, 0x6e, 0xcf, 0xeb,
                                    0x68, 0xc2, 0x52, 0x65, 0xee, 0xa5, 0xcd, 0x18, 0x57,
                                    0xf0, 0x14, 0x3f, 0x35, 0xd9, 0x73, 0x05, 0xd2, 0x39,
                                    0xb3, 0xee, 0x90, 0xe8, 0x45, 0x06, 0x04, 0xac, 0xf6};

static const uint8_t apex[] = "\x07"
                              "example"
                              "\x04"
                              "test";
static const uint8_t host[] = "\x04"
                              "host"
                              "\x07"
                              "example"
                              "\x04"
                              "test";

static void test_ed25519_matches_bind(void **state)
{
	(void)state;
	struct dnssec_key k;
	assert_int_equal(
	    dnssec_key_load(&k, DNSSEC_ALG_ED25519, DNSSEC_FLAGS_ZSK, ed_seed, sizeof(ed_seed)),
	    NP_OK);
	assert_memory_equal(k.pub, ed_pub, 32);
	assert_int_equal(k.tag, 19365);

	uint8_t rd[DNSSEC_DNSKEY_MAX], ds[DNSSEC_DS_LEN];
	size_t len = dnssec_dnskey_rdata(&k, rd);
	assert_int_equal(len, 36);
	dnssec_ds_rdata(apex, sizeof(apex), rd, len, ds);
	assert_memory_equal(ds, ed_ds, sizeof(ds));

	/* Given out of canonical order: the signature must not depend on it. */
	const uint8_t a7[4] = {192, 0, 2, 7}, a1[4] = {192, 0, 2, 1};
	struct dnssec_rr rrs[2] = {{a7, 4}, {a1, 4}};
	struct dnssec_sig_meta m = {host,       sizeof(host), DNS_TYPE_A, 60,
	                            1767225600, 1798761600,   apex,       sizeof(apex)};
	uint8_t sig[DNSSEC_RRSIG_MAX];
	int n = dnssec_rrsig(&k, &m, rrs, 2, sig);
	assert_int_equal(n, DNSSEC_RRSIG_FIXED + (int)sizeof(apex) + 64);
	assert_int_equal(sig[3], 3); /* labels */
	assert_int_equal((sig[16] << 8) | sig[17], 19365);
	assert_memory_equal(sig + DNSSEC_RRSIG_FIXED, apex, sizeof(apex));
	assert_memory_equal(sig + DNSSEC_RRSIG_FIXED + sizeof(apex), ed_sig_a, 64);
	dnssec_key_deinit(&k);
}

static void test_p256_ds_matches_bind(void **state)
{
	(void)state;
	uint8_t rd[4 + 64] = {0x01, 0x01, 3, 13};
	memcpy(rd + 4, p256_pub, 64);
	uint8_t ds[DNSSEC_DS_LEN];
	dnssec_ds_rdata(apex, sizeof(apex), rd, sizeof(rd), ds);
	assert_memory_equal(ds, p256_ds, sizeof(ds));
	assert_int_equal(dnssec_key_tag(rd, sizeof(rd)), 8910);
}

/* A generated key survives its private blob: same public key and tag, and a signature
 * made by the reloaded key verifies under the first. */
static void round_trip(unsigned alg)
{
	struct dnssec_key k, k2;
	assert_int_equal(dnssec_key_generate(&k, alg, DNSSEC_FLAGS_KSK), NP_OK);
	uint8_t priv[DNSSEC_PRIV_MAX];
	size_t plen = dnssec_key_private(&k, priv);
	assert_true(plen > 0);
	assert_int_equal(dnssec_key_load(&k2, alg, DNSSEC_FLAGS_KSK, priv, plen), NP_OK);
	assert_int_equal(k.pub_len, 64 - (alg == DNSSEC_ALG_ED25519) * 32);
	assert_memory_equal(k.pub, k2.pub, k.pub_len);
	assert_int_equal(k.tag, k2.tag);
	uint8_t sig[DNSSEC_SIG_LEN];
	const uint8_t msg[] = "nameplate";
	assert_int_equal(dnssec_sign(&k2, msg, sizeof(msg), sig), NP_OK);
	assert_true(dnssec_verify(&k, msg, sizeof(msg), sig));
	sig[5] ^= 1;
	assert_false(dnssec_verify(&k, msg, sizeof(msg), sig));
	dnssec_key_deinit(&k2);
	/* A blob of the other algorithm, or cut short, is refused. */
	unsigned other = alg == DNSSEC_ALG_ED25519 ? DNSSEC_ALG_ECDSAP256 : DNSSEC_ALG_ED25519;
	assert_int_equal(dnssec_key_load(&k2, other, DNSSEC_FLAGS_KSK, priv, plen), NP_EINVAL);
	assert_int_equal(dnssec_key_load(&k2, alg, DNSSEC_FLAGS_KSK, priv, plen - 1), NP_EINVAL);
	sodium_memzero(priv, sizeof(priv));
	dnssec_key_deinit(&k);
}

static void test_p256_round_trip(void **state)
{
	(void)state;
	round_trip(DNSSEC_ALG_ECDSAP256);
}

static void test_ed25519_round_trip(void **state)
{
	(void)state;
	round_trip(DNSSEC_ALG_ED25519);
}

/* Names inside NS, MX and SOA rdata are signed in lower case (RFC 4034 6.2). */
static void test_canonical_rdata(void **state)
{
	(void)state;
	const uint8_t mx[] = "\x00\x0a\x04MAIL\x07"
	                     "Example\x00";
	uint8_t out[64];
	size_t n = dnssec_rdata_canonical(DNS_TYPE_MX, mx, sizeof(mx) - 1, out, sizeof(out));
	assert_int_equal(n, sizeof(mx) - 1);
	assert_memory_equal(out,
	                    "\x00\x0a\x04mail\x07"
	                    "example\x00",
	                    n);
	const uint8_t txt[] = "\x03"
	                      "ABC";
	n = dnssec_rdata_canonical(DNS_TYPE_TXT, txt, 4, out, sizeof(out));
	assert_memory_equal(out, txt, 4); /* text keeps its case */
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ed25519_matches_bind),
	    cmocka_unit_test(test_p256_ds_matches_bind),
	    cmocka_unit_test(test_p256_round_trip),
	    cmocka_unit_test(test_ed25519_round_trip),
	    cmocka_unit_test(test_canonical_rdata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
