/* SPDX-License-Identifier: MIT */
/* DNSSEC keys: making them, their DNSKEY and DS forms, signing and verifying bytes.
 *
 * Algorithm 13 (ECDSA P-256 with SHA-256, RFC 6605) goes through OpenSSL's libcrypto; 15
 * (Ed25519, RFC 8080) through libsodium. Why libcrypto and not nettle is in docs/dnssec.md:
 * its P-256 code is the constant-time, assembly-backed implementation (ecp_nistz256) that
 * signs fastest, which counts for the negative answers signed on the fly, and its EVP
 * interface reads and writes the private key as PKCS#8 without hand-written big numbers.
 *
 * The private part of a key leaves this module only as its private blob (PKCS#8 DER for 13,
 * the 32-byte seed for 15), which the callers keep sealed (dnssec/seal.h). Nothing here
 * logs a key. */
#ifndef NP_DNSSEC_KEY_H
#define NP_DNSSEC_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define DNSSEC_ALG_ECDSAP256 13
#define DNSSEC_ALG_ED25519   15

#define DNSSEC_FLAGS_ZSK     256 /* Zone Key */
#define DNSSEC_FLAGS_KSK     257 /* Zone Key + Secure Entry Point */

#define DNSSEC_PUB_MAX       64  /* the DNSKEY public key field: X||Y (13) or the key (15) */
#define DNSSEC_SIG_LEN       64  /* r||s (13, RFC 6605 4) or the Ed25519 signature (15) */
#define DNSSEC_PRIV_MAX      256 /* the private blob */
#define DNSSEC_DNSKEY_MAX    (4 + DNSSEC_PUB_MAX)
#define DNSSEC_DS_LEN        (4 + 32) /* key tag, algorithm, digest type 2 (SHA-256), digest */

struct dnssec_key {
	uint8_t alg;
	uint16_t flags;
	uint16_t tag; /* RFC 4034 appendix B */
	uint8_t pub[DNSSEC_PUB_MAX];
	size_t pub_len;
	void *pkey;        /* EVP_PKEY for 13; NULL for 15 */
	void *signers;     /* for 13: signing contexts made once, reused (key.c) */
	uint8_t ed_sk[64]; /* libsodium's secret key for 15 (seed || public key) */
};

/* Whether alg is one this server signs with. */
bool dnssec_alg_supported(unsigned alg);

/* A fresh key of alg with flags (DNSSEC_FLAGS_ZSK or _KSK). Free it with dnssec_key_deinit. */
int dnssec_key_generate(struct dnssec_key *k, unsigned alg, uint16_t flags) np_mustcheck;
/* The key from its private blob (dnssec_key_private). NP_EINVAL when it does not parse or
 * is not of alg. */
int dnssec_key_load(struct dnssec_key *k, unsigned alg, uint16_t flags, const uint8_t *priv,
                    size_t len) np_mustcheck;
/* Writes the private blob to out (DNSSEC_PRIV_MAX bytes): its length, or 0 on failure.
 * The caller seals it and wipes out. */
size_t dnssec_key_private(const struct dnssec_key *k, uint8_t out[DNSSEC_PRIV_MAX]);
/* Wipes and frees what k holds; a zeroed k is fine. */
void dnssec_key_deinit(struct dnssec_key *k);

/* The DNSKEY rdata of k (flags, protocol 3, algorithm, public key): its length. */
size_t dnssec_dnskey_rdata(const struct dnssec_key *k, uint8_t out[DNSSEC_DNSKEY_MAX]);
/* The key tag of a DNSKEY rdata (RFC 4034 appendix B). */
uint16_t dnssec_key_tag(const uint8_t *rdata, size_t len);
/* The DS rdata (digest type 2, SHA-256) of the DNSKEY rdata owned by the lowercase wire
 * name owner. Also the CDS rdata (RFC 7344). */
void dnssec_ds_rdata(const uint8_t *owner, size_t owner_len, const uint8_t *dnskey, size_t len,
                     uint8_t out[DNSSEC_DS_LEN]);

/* Signs data with k: the signature as the RRSIG carries it (DNSSEC_SIG_LEN bytes). Safe to
 * call from many threads at once with the same key. */
int dnssec_sign(const struct dnssec_key *k, const uint8_t *data, size_t len,
                uint8_t sig[DNSSEC_SIG_LEN]) np_mustcheck;
/* Whether sig is k's signature of data (tests, and a check after making a key). */
bool dnssec_verify(const struct dnssec_key *k, const uint8_t *data, size_t len,
                   const uint8_t sig[DNSSEC_SIG_LEN]);

#endif
