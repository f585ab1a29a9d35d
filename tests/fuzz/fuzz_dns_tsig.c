/* SPDX-License-Identifier: MIT */
/* Fuzz target for TSIG: finding the record in any message and verifying it. Invariants:
 * what tsig_find returns lies inside the message; tsig_verify accepts only the MAC that
 * signing the same bytes gives; a message we sign verifies, and one flipped bit does not. */
#include <string.h>

#include "dns/tsig.h"
#include "fuzz.h"

#define FUZZ_KEY_NAME "fuzz-key"
#define MSG_CAP       (65535 + TSIG_RR_MAX)

static const uint8_t fuzz_secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static uint8_t buf[MSG_CAP];

static void check_found(const struct tsig_key *k, const uint8_t *data, size_t size)
{
	struct tsig_rr rr;
	if (tsig_find(data, size, &rr) != NP_OK)
		return;
	CHECK(rr.start >= 12 && rr.start < size);
	CHECK(rr.key_name_len >= 1 && rr.key_name_len <= DNS_NAME_MAX);
	CHECK(rr.alg_len >= 1 && rr.alg_len <= DNS_NAME_MAX);
	CHECK(rr.mac_len == 0 || (rr.mac >= data && rr.mac + rr.mac_len <= data + size));

	uint16_t err = 0;
	if (tsig_verify(k, data, size, &rr, NULL, 0, (int64_t)rr.vars.time_signed, &err) != NP_OK)
		return;
	/* Accepted: the MAC must be exactly what signing the same message gives. */
	CHECK(rr.mac_len == tsig_mac_len(k->alg));
	memcpy(buf, data, rr.start);
	unsigned arcount = ((unsigned)buf[10] << 8 | buf[11]) - 1;
	buf[0] = (uint8_t)(rr.orig_id >> 8);
	buf[1] = (uint8_t)rr.orig_id;
	buf[10] = (uint8_t)(arcount >> 8);
	buf[11] = (uint8_t)arcount;
	size_t len = rr.start;
	uint8_t mac[TSIG_MAC_LEN];
	CHECK(tsig_sign(k, buf, &len, sizeof(buf), NULL, 0, &rr.vars, mac) == NP_OK);
	CHECK(memcmp(mac, rr.mac, rr.mac_len) == 0);
}

static void check_round_trip(const struct tsig_key *k, const uint8_t *data, size_t size)
{
	struct tsig_rr rr;
	if (size < 12 || size > 65535 - TSIG_RR_MAX || tsig_find(data, size, &rr) != NP_ENOTFOUND)
		return;
	memcpy(buf, data, size);
	size_t len = size;
	struct tsig_vars v = {.time_signed = 1700000000, .fudge = TSIG_FUDGE};
	if (tsig_sign(k, buf, &len, sizeof(buf), NULL, 0, &v, NULL) != NP_OK)
		return; /* e.g. ARCOUNT already 65535 */
	uint16_t err = 0;
	CHECK(tsig_find(buf, len, &rr) == NP_OK && rr.start == size);
	CHECK(tsig_verify(k, buf, len, &rr, NULL, 0, 1700000000, &err) == NP_OK);
	/* One flipped bit in the signed part (past the ID, which the MAC covers as orig_id). */
	buf[2 + size / 2 % (size - 2)] ^= 0x01;
	if (tsig_find(buf, len, &rr) == NP_OK)
		CHECK(tsig_verify(k, buf, len, &rr, NULL, 0, 1700000000, &err) != NP_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsig_key k;
	CHECK(tsig_key_init(&k, FUZZ_KEY_NAME, fuzz_secret, sizeof(fuzz_secret)) == NP_OK);
	check_found(&k, data, size);
	check_round_trip(&k, data, size);
	return 0;
}
