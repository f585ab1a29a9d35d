/* SPDX-License-Identifier: MIT */
/* Unit tests for TSIG HMAC-SHA256: byte-exact signatures against dnspython, verification
 * of requests and answers, and every rejection path. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/tsig.h"

/* Test data generated once with dnspython 2.3 (dns.update + dns.tsig, hmac-sha256,
 * fudge 300, time 1700000000; the answer at 1700000005, signed with the request's MAC):
 *   u = dns.update.UpdateMessage("dyn.example.", id=0x1234)
 *   u.delete("home.dyn.example.", "A"); u.add("home.dyn.example.", 60, "A", "192.0.2.7")
 *   u.use_tsig(keyring, keyname="nameplate-key.", fudge=300, algorithm="hmac-sha256")
 * key_secret is bytes(1..32) + b"nameplate" (41 bytes, not a block size); long_secret
 * (100 bytes, longer than the SHA-256 block, so HMAC hashes it) is (i*7+3)&0xff. */
static const uint8_t msg_unsigned[62] = {
    0x12, 0x34, 0x28, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x03, 0x64, 0x79, 0x6e,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0x06, 0x00, 0x01, 0x04, 0x68, 0x6f,
    0x6d, 0x65, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x1d,
    0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x07,
};

static const uint8_t msg_signed[148] = {
    0x12, 0x34, 0x28, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x03, 0x64, 0x79,
    0x6e, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0x06, 0x00, 0x01, 0x04,
    0x68, 0x6f, 0x6d, 0x65, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xc0, 0x1d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 0xc0, 0x00,
    0x02, 0x07, 0x0d, 0x6e, 0x61, 0x6d, 0x65, 0x70, 0x6c, 0x61, 0x74, 0x65, 0x2d, 0x6b, 0x65,
    0x79, 0x00, 0x00, 0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x0b, 0x68, 0x6d,
    0x61, 0x63, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1,
    0x00, 0x01, 0x2c, 0x00, 0x20, 0x34, 0x18, 0xc0, 0xcc, 0xcf, 0xca, 0xd9, 0x45, 0xc7, 0x52,
    0x90, 0xf0, 0x14, 0x9d, 0xe7, 0xfa, 0x11, 0x7f, 0xf9, 0x4b, 0x24, 0xd8, 0x76, 0xaa, 0xd6,
    0x6e, 0x65, 0xce, 0x88, 0x77, 0x7c, 0x55, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t msg_signed_mixed_case[148] = {
    0x12, 0x34, 0x28, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x03, 0x64, 0x79,
    0x6e, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0x06, 0x00, 0x01, 0x04,
    0x68, 0x6f, 0x6d, 0x65, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xc0, 0x1d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 0xc0, 0x00,
    0x02, 0x07, 0x0d, 0x4e, 0x61, 0x6d, 0x65, 0x70, 0x6c, 0x61, 0x74, 0x65, 0x2d, 0x4b, 0x65,
    0x79, 0x00, 0x00, 0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x0b, 0x68, 0x6d,
    0x61, 0x63, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1,
    0x00, 0x01, 0x2c, 0x00, 0x20, 0x34, 0x18, 0xc0, 0xcc, 0xcf, 0xca, 0xd9, 0x45, 0xc7, 0x52,
    0x90, 0xf0, 0x14, 0x9d, 0xe7, 0xfa, 0x11, 0x7f, 0xf9, 0x4b, 0x24, 0xd8, 0x76, 0xaa, 0xd6,
    0x6e, 0x65, 0xce, 0x88, 0x77, 0x7c, 0x55, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t resp_signed[115] = {
    0x12, 0x34, 0xa8, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x64, 0x79,
    0x6e, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0x06, 0x00, 0x01, 0x0d,
    0x6e, 0x61, 0x6d, 0x65, 0x70, 0x6c, 0x61, 0x74, 0x65, 0x2d, 0x6b, 0x65, 0x79, 0x00, 0x00,
    0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x0b, 0x68, 0x6d, 0x61, 0x63, 0x2d,
    0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x05, 0x01, 0x2c,
    0x00, 0x20, 0xdb, 0x8a, 0xef, 0xcd, 0x8a, 0xcc, 0x99, 0xd1, 0x17, 0x5e, 0x3d, 0xed, 0xef,
    0xa9, 0x34, 0x8f, 0x49, 0x88, 0xfa, 0xab, 0xcb, 0xb9, 0x8c, 0x97, 0x97, 0x57, 0x6d, 0xbe,
    0xf3, 0xc2, 0xb4, 0x0f, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t long_secret[100] = {
    0x03, 0x0a, 0x11, 0x18, 0x1f, 0x26, 0x2d, 0x34, 0x3b, 0x42, 0x49, 0x50, 0x57, 0x5e, 0x65,
    0x6c, 0x73, 0x7a, 0x81, 0x88, 0x8f, 0x96, 0x9d, 0xa4, 0xab, 0xb2, 0xb9, 0xc0, 0xc7, 0xce,
    0xd5, 0xdc, 0xe3, 0xea, 0xf1, 0xf8, 0xff, 0x06, 0x0d, 0x14, 0x1b, 0x22, 0x29, 0x30, 0x37,
    0x3e, 0x45, 0x4c, 0x53, 0x5a, 0x61, 0x68, 0x6f, 0x76, 0x7d, 0x84, 0x8b, 0x92, 0x99, 0xa0,
    0xa7, 0xae, 0xb5, 0xbc, 0xc3, 0xca, 0xd1, 0xd8, 0xdf, 0xe6, 0xed, 0xf4, 0xfb, 0x02, 0x09,
    0x10, 0x17, 0x1e, 0x25, 0x2c, 0x33, 0x3a, 0x41, 0x48, 0x4f, 0x56, 0x5d, 0x64, 0x6b, 0x72,
    0x79, 0x80, 0x87, 0x8e, 0x95, 0x9c, 0xa3, 0xaa, 0xb1, 0xb8,
};

static const uint8_t long_mac[32] = {
    0x72, 0xc6, 0x53, 0x53, 0x94, 0x3b, 0xc0, 0x00, 0xf3, 0x3a, 0xe3, 0x07, 0x8e, 0xb9, 0x52, 0x07,
    0x33, 0x0b, 0x38, 0xa4, 0x84, 0xb3, 0xd8, 0xf3, 0xeb, 0xe1, 0x1d, 0x10, 0x8f, 0x11, 0xfe, 0x94,
};

static const uint8_t key_secret[41] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
    0x1d, 0x1e, 0x1f, 0x20, 0x6e, 0x61, 0x6d, 0x65, 0x70, 0x6c, 0x61, 0x74, 0x65,
};

/* The MAC of the same request signed with hmac-sha512 by dnspython 2.3 (same key, time and
 * fudge: dns.tsig.sign(wire, Key(..., "hmac-sha512"), rdata, time=1700000000)). */
static const uint8_t sha512_mac[64] = {
    0x7f, 0xd8, 0x02, 0xe2, 0xbf, 0x8b, 0x72, 0x33, 0x21, 0xc2, 0xf3, 0x0a, 0x02, 0xfd, 0xa5, 0xf3,
    0x99, 0xc3, 0x72, 0x87, 0xfc, 0x96, 0x7f, 0x38, 0x5b, 0xef, 0xbe, 0xff, 0x50, 0xe5, 0x48, 0xc5,
    0xd6, 0xa5, 0x94, 0x83, 0x9f, 0xb4, 0x8a, 0xa9, 0xeb, 0xa4, 0xc6, 0xfe, 0x55, 0xbe, 0xe1, 0xf1,
    0x73, 0xa0, 0x1e, 0x52, 0x8d, 0xab, 0xcb, 0xd3, 0x19, 0xda, 0x8a, 0x38, 0x24, 0xf4, 0x3f, 0x9f,
};

#define MAC256      32
#define T0          1700000000
#define TSIG_AT     62  /* where the TSIG RR starts in msg_signed */
#define MAC_AT      110 /* where its MAC starts */
#define MAC_SIZE_AT 108
#define RDLEN_AT    85
#define ALG_AT      87

static struct tsig_key key(void)
{
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, "nameplate-key", key_secret, sizeof(key_secret)), NP_OK);
	return k;
}

static const struct tsig_vars vars_t0 = {.time_signed = T0, .fudge = 300};

/* Finds and verifies msg with the test key at time now; returns the verify result. */
static int verify_at(const uint8_t *msg, size_t len, int64_t now, uint16_t *terr)
{
	struct tsig_key k = key();
	struct tsig_rr rr;
	int ret = tsig_find(msg, len, &rr);
	if (ret != NP_OK)
		return ret;
	return tsig_verify(&k, msg, len, &rr, NULL, 0, now, terr);
}

static void test_sign_matches_dnspython(void **state)
{
	(void)state;
	struct tsig_key k = key();
	uint8_t buf[512], mac[MAC256];
	size_t len = sizeof(msg_unsigned);
	memcpy(buf, msg_unsigned, len);
	assert_int_equal(tsig_sign(&k, buf, &len, sizeof(buf), NULL, 0, &vars_t0, mac), NP_OK);
	assert_int_equal(len, sizeof(msg_signed));
	assert_memory_equal(buf, msg_signed, len);
	assert_memory_equal(mac, msg_signed + MAC_AT, MAC256);
}

static void test_sign_key_name_is_canonical(void **state)
{
	(void)state;
	/* "Nameplate-Key." in any case signs the same bytes: the name goes in lowercase. */
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, "Nameplate-KEY.", key_secret, sizeof(key_secret)),
	                 NP_OK);
	uint8_t buf[512];
	size_t len = sizeof(msg_unsigned);
	memcpy(buf, msg_unsigned, len);
	assert_int_equal(tsig_sign(&k, buf, &len, sizeof(buf), NULL, 0, &vars_t0, NULL), NP_OK);
	assert_memory_equal(buf, msg_signed, len);
}

static void test_sign_long_key(void **state)
{
	(void)state;
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, "nameplate-key", long_secret, sizeof(long_secret)),
	                 NP_OK);
	uint8_t buf[512], mac[MAC256];
	size_t len = sizeof(msg_unsigned);
	memcpy(buf, msg_unsigned, len);
	assert_int_equal(tsig_sign(&k, buf, &len, sizeof(buf), NULL, 0, &vars_t0, mac), NP_OK);
	assert_memory_equal(mac, long_mac, MAC256);
}

static void test_sign_answer_matches_dnspython(void **state)
{
	(void)state;
	struct tsig_key k = key();
	uint8_t buf[512];
	/* The answer without its TSIG: everything before it, ARCOUNT back to 0. */
	size_t len = sizeof(resp_signed) - (15 + 10 + 13 + 6 + 2 + 2 + MAC256 + 6);
	memcpy(buf, resp_signed, len);
	wire_store_u16(buf + 10, 0);
	struct tsig_vars v = {.time_signed = T0 + 5, .fudge = 300};
	assert_int_equal(
	    tsig_sign(&k, buf, &len, sizeof(buf), msg_signed + MAC_AT, MAC256, &v, NULL),
	    NP_OK);
	assert_int_equal(len, sizeof(resp_signed));
	assert_memory_equal(buf, resp_signed, len);
}

static void test_sign_too_small(void **state)
{
	(void)state;
	struct tsig_key k = key();
	uint8_t buf[100];
	size_t len = sizeof(msg_unsigned);
	memcpy(buf, msg_unsigned, len);
	assert_int_equal(tsig_sign(&k, buf, &len, sizeof(buf), NULL, 0, &vars_t0, NULL),
	                 NP_ETOOBIG);
	assert_int_equal(len, sizeof(msg_unsigned));
	assert_memory_equal(buf, msg_unsigned, len); /* ARCOUNT untouched */
}

static void test_find_parses_fields(void **state)
{
	(void)state;
	struct tsig_rr rr;
	assert_int_equal(tsig_find(msg_signed_mixed_case, sizeof(msg_signed_mixed_case), &rr),
	                 NP_OK);
	assert_int_equal(rr.start, TSIG_AT);
	assert_int_equal(rr.key_name_len, 15);
	assert_memory_equal(rr.key_name, "\x0dnameplate-key", 15); /* lowercased */
	assert_int_equal(rr.alg_len, 13);
	assert_int_equal(rr.vars.time_signed, T0);
	assert_int_equal(rr.vars.fudge, 300);
	assert_int_equal(rr.mac_len, MAC256);
	assert_ptr_equal(rr.mac, msg_signed_mixed_case + MAC_AT);
	assert_int_equal(rr.orig_id, 0x1234);
	assert_int_equal(rr.vars.error, 0);
	assert_int_equal(rr.vars.other_len, 0);
}

static void test_verify_dnspython_request(void **state)
{
	(void)state;
	uint16_t terr = 99;
	/* Owner name in mixed case: the MAC covers the canonical form. */
	assert_int_equal(
	    verify_at(msg_signed_mixed_case, sizeof(msg_signed_mixed_case), T0 + 10, &terr), NP_OK);
	assert_int_equal(terr, 0);
	assert_int_equal(verify_at(msg_signed, sizeof(msg_signed), T0, &terr), NP_OK);
}

static void test_verify_answer_needs_request_mac(void **state)
{
	(void)state;
	struct tsig_key k = key();
	struct tsig_rr rr;
	uint16_t terr;
	assert_int_equal(tsig_find(resp_signed, sizeof(resp_signed), &rr), NP_OK);
	assert_int_equal(tsig_verify(&k, resp_signed, sizeof(resp_signed), &rr, msg_signed + MAC_AT,
	                             MAC256, T0 + 6, &terr),
	                 NP_OK);
	/* Without the request MAC, or with another one, it does not verify. */
	assert_int_equal(
	    tsig_verify(&k, resp_signed, sizeof(resp_signed), &rr, NULL, 0, T0 + 6, &terr),
	    NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADSIG);
	uint8_t other[MAC256];
	memcpy(other, msg_signed + MAC_AT, MAC256);
	other[0] ^= 1;
	assert_int_equal(tsig_verify(&k, resp_signed, sizeof(resp_signed), &rr, other, MAC256,
	                             T0 + 6, &terr),
	                 NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADSIG);
}

static void test_sha512_matches_dnspython(void **state)
{
	(void)state;
	struct tsig_key k = key();
	k.alg = TSIG_HMAC_SHA512;
	uint8_t buf[512], mac[TSIG_MAC_LEN];
	size_t len = sizeof(msg_unsigned);
	memcpy(buf, msg_unsigned, len);
	assert_int_equal(tsig_sign(&k, buf, &len, sizeof(buf), NULL, 0, &vars_t0, mac), NP_OK);
	assert_int_equal(len, sizeof(msg_unsigned) + 118);
	assert_memory_equal(mac, sha512_mac, sizeof(sha512_mac));

	struct tsig_rr rr;
	uint16_t terr;
	assert_int_equal(tsig_find(buf, len, &rr), NP_OK);
	assert_int_equal(rr.mac_len, 64);
	assert_int_equal(tsig_verify(&k, buf, len, &rr, NULL, 0, T0, &terr), NP_OK);
	/* The same key under the other algorithm is another key: BADKEY. */
	k.alg = TSIG_HMAC_SHA256;
	assert_int_equal(tsig_verify(&k, buf, len, &rr, NULL, 0, T0, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADKEY);

	enum tsig_alg a;
	assert_int_equal(tsig_alg_from_text("HMAC-SHA512.", &a), NP_OK);
	assert_int_equal(a, TSIG_HMAC_SHA512);
	assert_int_equal(tsig_alg_from_text("hmac-md5", &a), NP_ENOTFOUND);
	assert_string_equal(tsig_alg_name(TSIG_HMAC_SHA256), "hmac-sha256");
}

static void test_round_trip_request_and_answer(void **state)
{
	(void)state;
	struct tsig_key k = key();
	uint8_t req[512], resp[512], req_mac[MAC256];
	size_t req_len = sizeof(msg_unsigned);
	memcpy(req, msg_unsigned, req_len);
	struct tsig_vars v = {.time_signed = 1234567890123ULL, .fudge = 10};
	assert_int_equal(tsig_sign(&k, req, &req_len, sizeof(req), NULL, 0, &v, req_mac), NP_OK);
	struct tsig_rr rr;
	uint16_t terr;
	assert_int_equal(tsig_find(req, req_len, &rr), NP_OK);
	assert_int_equal(rr.vars.time_signed, 1234567890123ULL);
	assert_int_equal(tsig_verify(&k, req, req_len, &rr, NULL, 0, 1234567890130LL, &terr),
	                 NP_OK);

	/* The answer: header with QR, the zone section, signed over the request MAC. */
	size_t resp_len = 29;
	memcpy(resp, msg_unsigned, resp_len);
	resp[2] |= 0x80;
	wire_store_u16(resp + 8, 0);
	v.time_signed += 1;
	assert_int_equal(
	    tsig_sign(&k, resp, &resp_len, sizeof(resp), req_mac, MAC256, &v, NULL), NP_OK);
	assert_int_equal(tsig_find(resp, resp_len, &rr), NP_OK);
	assert_int_equal(
	    tsig_verify(&k, resp, resp_len, &rr, req_mac, MAC256, 1234567890124LL, &terr),
	    NP_OK);
}

static void test_reject_wrong_key(void **state)
{
	(void)state;
	uint8_t wrong[sizeof(key_secret)];
	memcpy(wrong, key_secret, sizeof(wrong));
	wrong[sizeof(wrong) - 1] ^= 0x20;
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, "nameplate-key", wrong, sizeof(wrong)), NP_OK);
	struct tsig_rr rr;
	uint16_t terr;
	assert_int_equal(tsig_find(msg_signed, sizeof(msg_signed), &rr), NP_OK);
	assert_int_equal(tsig_verify(&k, msg_signed, sizeof(msg_signed), &rr, NULL, 0, T0, &terr),
	                 NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADSIG);
	/* A key that is a prefix of the right one is a different key too. */
	assert_int_equal(tsig_key_init(&k, "nameplate-key", key_secret, sizeof(key_secret) - 1),
	                 NP_OK);
	assert_int_equal(tsig_verify(&k, msg_signed, sizeof(msg_signed), &rr, NULL, 0, T0, &terr),
	                 NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADSIG);
}

static void test_reject_other_key_name(void **state)
{
	(void)state;
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, "other-key", key_secret, sizeof(key_secret)), NP_OK);
	struct tsig_rr rr;
	uint16_t terr;
	assert_int_equal(tsig_find(msg_signed, sizeof(msg_signed), &rr), NP_OK);
	assert_int_equal(tsig_verify(&k, msg_signed, sizeof(msg_signed), &rr, NULL, 0, T0, &terr),
	                 NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADKEY);
}

static void test_reject_modified_message(void **state)
{
	(void)state;
	uint8_t buf[sizeof(msg_signed)];
	uint16_t terr;
	/* The published address, the header ID is covered through original ID, flags. */
	const size_t flips[] = {61, 2, 3, 30, MAC_AT + 31, 101, 107};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(buf, msg_signed, sizeof(buf));
		buf[flips[i]] ^= 0x01;
		assert_int_equal(verify_at(buf, sizeof(buf), T0, &terr), NP_EDENIED);
		assert_int_equal(terr, TSIG_ERR_BADSIG);
	}
}

/* Rewrites msg_signed with a MAC of n bytes (the first n of the real one, zero-padded). */
static size_t with_mac_len(uint8_t *out, uint16_t n)
{
	memcpy(out, msg_signed, MAC_AT);
	wire_store_u16(out + MAC_SIZE_AT, n);
	for (uint16_t i = 0; i < n; i++)
		out[MAC_AT + i] = i < MAC256 ? msg_signed[MAC_AT + i] : 0;
	memcpy(out + MAC_AT + n, msg_signed + MAC_AT + MAC256, 6);
	size_t len = (size_t)MAC_AT + n + 6;
	wire_store_u16(out + RDLEN_AT, (uint16_t)(len - RDLEN_AT - 2));
	return len;
}

static void test_reject_truncated_and_long_mac(void **state)
{
	(void)state;
	uint8_t buf[256];
	uint16_t terr;
	size_t len = with_mac_len(buf, MAC256);
	assert_int_equal(verify_at(buf, len, T0, &terr), NP_OK); /* the helper is sound */
	/* Allowed by RFC 8945 as truncation, refused by our policy. */
	len = with_mac_len(buf, 16);
	assert_int_equal(verify_at(buf, len, T0, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADTRUNC);
	len = with_mac_len(buf, 31);
	assert_int_equal(verify_at(buf, len, T0, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADTRUNC);
	/* Shorter than half of the hash, longer than the hash, empty: malformed. */
	const uint16_t bad[] = {0, 10, 15, 33, 64};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = with_mac_len(buf, bad[i]);
		assert_int_equal(verify_at(buf, len, T0, &terr), NP_EMALFORMED);
	}
	/* A MAC size that runs past the record. */
	memcpy(buf, msg_signed, sizeof(msg_signed));
	wire_store_u16(buf + MAC_SIZE_AT, MAC256 + 1);
	struct tsig_rr rr;
	assert_int_equal(tsig_find(buf, sizeof(msg_signed), &rr), NP_EMALFORMED);
}

static void test_reject_time_outside_fudge(void **state)
{
	(void)state;
	uint16_t terr;
	assert_int_equal(verify_at(msg_signed, sizeof(msg_signed), T0 + 300, &terr), NP_OK);
	assert_int_equal(verify_at(msg_signed, sizeof(msg_signed), T0 - 300, &terr), NP_OK);
	assert_int_equal(verify_at(msg_signed, sizeof(msg_signed), T0 + 301, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADTIME);
	assert_int_equal(verify_at(msg_signed, sizeof(msg_signed), T0 - 301, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADTIME);
	assert_int_equal(verify_at(msg_signed, sizeof(msg_signed), 0, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADTIME);
	/* A fudge widened by an attacker is covered by the MAC. */
	uint8_t buf[sizeof(msg_signed)];
	memcpy(buf, msg_signed, sizeof(buf));
	wire_store_u16(buf + MAC_SIZE_AT - 2, 0xffff);
	assert_int_equal(verify_at(buf, sizeof(buf), T0 + 3600, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADSIG);
}

static void test_reject_tsig_not_last(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct tsig_rr rr;
	/* An A record after the TSIG in the additional section. */
	static const uint8_t extra[] = {0xc0, 0x1d, 0x00, 0x01, 0x00, 0x01, 0, 0,
	                                0,    60,   0x00, 0x04, 192,  0,    2, 8};
	memcpy(buf, msg_signed, sizeof(msg_signed));
	memcpy(buf + sizeof(msg_signed), extra, sizeof(extra));
	wire_store_u16(buf + 10, 2);
	assert_int_equal(tsig_find(buf, sizeof(msg_signed) + sizeof(extra), &rr), NP_EMALFORMED);
	/* Two TSIG records. */
	size_t rr_len = sizeof(msg_signed) - TSIG_AT;
	memcpy(buf + sizeof(msg_signed), msg_signed + TSIG_AT, rr_len);
	assert_int_equal(tsig_find(buf, sizeof(msg_signed) + rr_len, &rr), NP_EMALFORMED);
	/* The TSIG counted in the update (authority) section instead of additional. */
	memcpy(buf, msg_signed, sizeof(msg_signed));
	wire_store_u16(buf + 8, 3);
	wire_store_u16(buf + 10, 0);
	assert_int_equal(tsig_find(buf, sizeof(msg_signed), &rr), NP_EMALFORMED);
	/* Trailing bytes after it. */
	memcpy(buf, msg_signed, sizeof(msg_signed));
	buf[sizeof(msg_signed)] = 0;
	assert_int_equal(tsig_find(buf, sizeof(msg_signed) + 1, &rr), NP_EMALFORMED);
	/* Cut anywhere inside: never read past the end. */
	for (size_t n = 0; n < sizeof(msg_signed); n++) {
		int ret = tsig_find(msg_signed, n, &rr);
		assert_true(ret == NP_EMALFORMED || (n == sizeof(msg_unsigned) && ret == NP_OK) ||
		            ret == NP_ENOTFOUND);
		assert_int_not_equal(ret, NP_OK);
	}
}

static void test_no_tsig(void **state)
{
	(void)state;
	struct tsig_rr rr;
	assert_int_equal(tsig_find(msg_unsigned, sizeof(msg_unsigned), &rr), NP_ENOTFOUND);
}

static void test_reject_garbage_algorithm(void **state)
{
	(void)state;
	uint8_t buf[sizeof(msg_signed)];
	uint16_t terr;
	/* Another algorithm of the same length: BADKEY (RFC 8945 5.2.1). */
	memcpy(buf, msg_signed, sizeof(buf));
	memcpy(buf + ALG_AT + 9, "99", 2); /* hmac-sha299 */
	assert_int_equal(verify_at(buf, sizeof(buf), T0, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADKEY);
	/* The same letters in two labels, "hmac.sha256.": not ours either. */
	memcpy(buf, msg_signed, sizeof(buf));
	memcpy(buf + ALG_AT, "\x04hmac\x06sha256", 13);
	assert_int_equal(verify_at(buf, sizeof(buf), T0, &terr), NP_EDENIED);
	assert_int_equal(terr, TSIG_ERR_BADKEY);
	/* A label length that runs past the rdata, and a reserved label type. */
	memcpy(buf, msg_signed, sizeof(buf));
	buf[ALG_AT] = 0x3f;
	struct tsig_rr rr;
	assert_int_equal(tsig_find(buf, sizeof(buf), &rr), NP_EMALFORMED);
	buf[ALG_AT] = 0x4b;
	assert_int_equal(tsig_find(buf, sizeof(buf), &rr), NP_EMALFORMED);
	/* Class and TTL of the TSIG RR are fixed. */
	memcpy(buf, msg_signed, sizeof(buf));
	buf[TSIG_AT + 15 + 3] = 1; /* class IN */
	assert_int_equal(tsig_find(buf, sizeof(buf), &rr), NP_EMALFORMED);
	memcpy(buf, msg_signed, sizeof(buf));
	buf[TSIG_AT + 15 + 7] = 1; /* TTL 1 */
	assert_int_equal(tsig_find(buf, sizeof(buf), &rr), NP_EMALFORMED);
}

static void test_append_unsigned_error(void **state)
{
	(void)state;
	struct tsig_rr req, rr;
	assert_int_equal(tsig_find(msg_signed, sizeof(msg_signed), &req), NP_OK);
	uint8_t buf[512];
	size_t len = 29;
	memcpy(buf, msg_unsigned, len);
	buf[2] |= 0x80;
	wire_store_u16(buf + 8, 0);
	assert_int_equal(
	    tsig_append_unsigned(&req, buf, &len, sizeof(buf), TSIG_ERR_BADSIG, T0 + 1), NP_OK);
	assert_int_equal(tsig_find(buf, len, &rr), NP_OK);
	assert_int_equal(rr.mac_len, 0);
	assert_int_equal(rr.vars.error, TSIG_ERR_BADSIG);
	assert_int_equal(rr.orig_id, 0x1234);
	assert_memory_equal(rr.key_name, req.key_name, req.key_name_len);
	/* An empty MAC never verifies. */
	struct tsig_key k = key();
	uint16_t terr;
	assert_int_equal(
	    tsig_verify(&k, buf, len, &rr, msg_signed + MAC_AT, MAC256, T0 + 1, &terr),
	    NP_EMALFORMED);
}

static void test_key_init_checks(void **state)
{
	(void)state;
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, "nameplate-key", key_secret, 0), NP_EINVAL);
	assert_int_equal(tsig_key_init(&k, "bad..name", key_secret, 4), NP_EMALFORMED);
	assert_string_equal(dns_rcode_name(9), "NOTAUTH");
	assert_string_equal(dns_rcode_name(16), "BADSIG");
	assert_string_equal(dns_rcode_name(12), "unknown");
}

/* The MAC of msg_unsigned signed at T0 with secret under alg, into mac. */
static void mac_of(const uint8_t *secret, size_t len, enum tsig_alg alg,
                   uint8_t mac[TSIG_MAC_LEN])
{
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, "nameplate-key", secret, len), NP_OK);
	k.alg = alg;
	uint8_t buf[512];
	size_t n = sizeof(msg_unsigned);
	memcpy(buf, msg_unsigned, n);
	assert_int_equal(tsig_sign(&k, buf, &n, sizeof(buf), NULL, 0, &vars_t0, mac), NP_OK);
}

/* A thread that keeps keys (tsig_keep_keys) keeps the one it last used for each hash:
 * whatever came between, each MAC is the one of its own key, as dnspython computed it.
 * The other keys: the test key cut short by a byte, one as long as the test key but one
 * byte different, the test key's bytes under SHA-512, and a key longer than the kept
 * copy. Then the same after tsig_forget_kept_keys, and with keeping off again. */
static void test_kept_key_follows_the_key(void **state)
{
	(void)state;
	tsig_keep_keys(true);
	uint8_t other[sizeof(key_secret)], longer[200], mac[TSIG_MAC_LEN], first[TSIG_MAC_LEN];
	memcpy(other, key_secret, sizeof(other));
	other[sizeof(other) - 1] ^= 1;
	for (size_t i = 0; i < sizeof(longer); i++)
		longer[i] = (uint8_t)(i * 13 + 1);

	mac_of(other, sizeof(other), TSIG_HMAC_SHA256, first);
	for (int round = 0; round < 3; round++) {
		mac_of(key_secret, sizeof(key_secret), TSIG_HMAC_SHA256, mac);
		assert_memory_equal(mac, msg_signed + MAC_AT, MAC256);
		mac_of(key_secret, sizeof(key_secret), TSIG_HMAC_SHA256, mac); /* again, kept */
		assert_memory_equal(mac, msg_signed + MAC_AT, MAC256);
		mac_of(key_secret, sizeof(key_secret) - 1, TSIG_HMAC_SHA256, mac);
		assert_memory_not_equal(mac, msg_signed + MAC_AT, MAC256);
		mac_of(key_secret, sizeof(key_secret), TSIG_HMAC_SHA256, mac);
		assert_memory_equal(mac, msg_signed + MAC_AT, MAC256);
		mac_of(other, sizeof(other), TSIG_HMAC_SHA256, mac);
		assert_memory_equal(mac, first, MAC256);
		assert_memory_not_equal(mac, msg_signed + MAC_AT, MAC256);
		mac_of(key_secret, sizeof(key_secret), TSIG_HMAC_SHA512, mac);
		assert_memory_equal(mac, sha512_mac, sizeof(sha512_mac));
		mac_of(long_secret, sizeof(long_secret), TSIG_HMAC_SHA256, mac);
		assert_memory_equal(mac, long_mac, MAC256);
		mac_of(longer, sizeof(longer), TSIG_HMAC_SHA256, mac);
		assert_memory_not_equal(mac, first, MAC256);
		mac_of(key_secret, sizeof(key_secret), TSIG_HMAC_SHA256, mac);
		if (round == 1)
			tsig_forget_kept_keys();
		else if (round == 2)
			tsig_keep_keys(false);
		mac_of(key_secret, sizeof(key_secret), TSIG_HMAC_SHA256, mac);
		assert_memory_equal(mac, msg_signed + MAC_AT, MAC256);
	}
}

struct signer {
	const uint8_t *secret;
	size_t len;
	uint8_t want[MAC256];
	int wrong;
};

static void *sign_many(void *arg)
{
	struct signer *sg = arg;
	uint8_t mac[TSIG_MAC_LEN];
	tsig_keep_keys(true); /* wiped when the thread ends */
	for (int i = 0; i < 2000; i++) {
		mac_of(sg->secret, sg->len, TSIG_HMAC_SHA256, mac);
		sg->wrong += memcmp(mac, sg->want, MAC256) != 0;
	}
	return NULL;
}

/* Threads signing with their own keys at the same time each get their own key's MACs:
 * what a thread keeps is its own. */
static void test_kept_keys_are_per_thread(void **state)
{
	(void)state;
	struct signer sg[2] = {{.secret = key_secret, .len = sizeof(key_secret)},
	                       {.secret = long_secret, .len = sizeof(long_secret)}};
	memcpy(sg[0].want, msg_signed + MAC_AT, MAC256);
	memcpy(sg[1].want, long_mac, MAC256);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, sign_many, &sg[i]), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(sg[i].wrong, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_matches_dnspython),
	    cmocka_unit_test(test_sign_key_name_is_canonical),
	    cmocka_unit_test(test_sign_long_key),
	    cmocka_unit_test(test_sign_answer_matches_dnspython),
	    cmocka_unit_test(test_sign_too_small),
	    cmocka_unit_test(test_find_parses_fields),
	    cmocka_unit_test(test_verify_dnspython_request),
	    cmocka_unit_test(test_verify_answer_needs_request_mac),
	    cmocka_unit_test(test_sha512_matches_dnspython),
	    cmocka_unit_test(test_round_trip_request_and_answer),
	    cmocka_unit_test(test_reject_wrong_key),
	    cmocka_unit_test(test_reject_other_key_name),
	    cmocka_unit_test(test_reject_modified_message),
	    cmocka_unit_test(test_reject_truncated_and_long_mac),
	    cmocka_unit_test(test_reject_time_outside_fudge),
	    cmocka_unit_test(test_reject_tsig_not_last),
	    cmocka_unit_test(test_no_tsig),
	    cmocka_unit_test(test_reject_garbage_algorithm),
	    cmocka_unit_test(test_append_unsigned_error),
	    cmocka_unit_test(test_key_init_checks),
	    cmocka_unit_test(test_kept_key_follows_the_key),
	    cmocka_unit_test(test_kept_keys_are_per_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
