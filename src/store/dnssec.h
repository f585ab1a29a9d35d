/* SPDX-License-Identifier: MIT */
/* DNSSEC keys of the signed zones (dnssec.c): the public DNSKEY rdata in the clear and the
 * private key sealed (XSalsa20-Poly1305, libsodium's crypto_secretbox) with the 256-bit key
 * in DATA_DIR/dnssec-seal.key (mode 0600), never in the database: a copy of the database
 * alone gives no usable key. Keys are never logged. */
#ifndef NP_STORE_DNSSEC_H
#define NP_STORE_DNSSEC_H

#include <stdbool.h>
#include <stdint.h>

#include "dnssec/zone.h"
#include "store/store.h"

#define STORE_DNSSEC_SEAL_FILE  "dnssec-seal.key"
#define STORE_DNSSEC_SEAL_LEN   32

#define STORE_DNSSEC_DNSKEY_MAX 128
#define STORE_DNSSEC_SEALED_MAX 512
#define STORE_DNSSEC_KEYS_MAX   8 /* keys a zone may hold at once (rollovers included) */

struct store_dnssec_key {
	int64_t id;
	char zone[CFG_NAME_MAX];
	char role[4]; /* "ksk" or "zsk" */
	unsigned algorithm;
	uint8_t dnskey[STORE_DNSSEC_DNSKEY_MAX];
	size_t dnskey_len;
	uint8_t sealed[STORE_DNSSEC_SEALED_MAX];
	size_t sealed_len;
	/* "published" (in DNSKEY; a ZSK signs nothing, a KSK signs DNSKEY beside the active
	 * one), "ready" (a KSK the CDS names, waiting for the parent's DS), "active",
	 * "retired" (in DNSKEY until its signatures or DS are out of every cache) */
	char state[16];
	int64_t since;  /* when it entered that state */
	int64_t created;
};

/* Keeps a new key; *id (may be NULL) gets its id. */
int store_dnssec_key_add(struct store *st, const struct store_dnssec_key *k,
                         int64_t *id) np_mustcheck;
/* Moves key id to state since now. */
int store_dnssec_key_state(struct store *st, int64_t id, const char *state,
                           int64_t now) np_mustcheck;
/* Forgets key id (a retired key no longer published). */
int store_dnssec_key_del(struct store *st, int64_t id) np_mustcheck;
/* Makes a new ZSK of alg for zone, sealed, in state "published" (the start of a roll). */
int store_dnssec_zsk_prepublish(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                                const char *zone, unsigned alg, int64_t now) np_mustcheck;
/* Makes a new KSK of alg for zone, sealed, in state "published": the start of a KSK roll
 * (core/keyroll.h). */
int store_dnssec_ksk_publish(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                             const char *zone, unsigned alg, int64_t now) np_mustcheck;
/* The keys of zone, oldest first, into out (at most max); *n gets how many. */
int store_dnssec_key_list(struct store *st, const char *zone, struct store_dnssec_key *out,
                          size_t max, size_t *n) np_mustcheck;

/* Reads the sealing key of data_dir; makes it when it does not exist and create is set.
 * NP_EIO with the reason logged. */
int store_dnssec_seal_key(const char *data_dir, bool create,
                          uint8_t key[STORE_DNSSEC_SEAL_LEN]) np_mustcheck;

/* Makes a KSK and a ZSK of alg for zone (a zone name, normal form), seals and keeps them.
 * Returns NP_EEXIST when the zone already has keys (nothing is changed then). */
int store_dnssec_keys_create(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                             const char *zone, unsigned alg, int64_t now) np_mustcheck;

/* The zone's signing state from its newest active KSK and ZSK, unsealed, with the public
 * keys of its published, ready and retired keys (the other KSK of a roll unsealed too, as
 * ksk2): *out (NULL when the zone has no keys:
 * NP_ENOTFOUND). NP_EINVAL when a key does not unseal (another sealing key
 * file) or does not load; the reason is logged without any key material. */
int store_dnssec_zone_load(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                           const char *zone, struct dnssec_zone **out) np_mustcheck;

#endif
