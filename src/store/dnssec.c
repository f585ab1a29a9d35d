/* SPDX-License-Identifier: MIT */
/* DNSSEC keys (store/dnssec.h). */
#include "store/dnssec.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "common/str.h"
#include "dns/name.h"
#include "store/store_int.h"

int store_dnssec_key_add(struct store *st, const struct store_dnssec_key *k, int64_t *id)
{
	if (k->dnskey_len > STORE_DNSSEC_DNSKEY_MAX || k->sealed_len > STORE_DNSSEC_SEALED_MAX)
		return NP_EINVAL;
	sqlite3_stmt *s = store__sql(st, "INSERT INTO dnssec_keys(zone, role, algorithm, dnskey,"
	                                 " sealed, state, since, created)"
	                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, k->zone);
	store__bind_text(s, 2, k->role);
	sqlite3_bind_int(s, 3, (int)k->algorithm);
	sqlite3_bind_blob(s, 4, k->dnskey, (int)k->dnskey_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, k->sealed, (int)k->sealed_len, SQLITE_STATIC);
	store__bind_text(s, 6, k->state[0] != '\0' ? k->state : "active");
	sqlite3_bind_int64(s, 7, k->created);
	return store__exec_insert(st, s, id);
}

struct key_walk {
	struct store_dnssec_key *out;
	size_t max, n;
};

static void blob_col(sqlite3_stmt *s, int i, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = (size_t)sqlite3_column_bytes(s, i);
	const void *b = sqlite3_column_blob(s, i);
	*len = b != NULL && n <= cap ? n : 0;
	if (*len > 0)
		memcpy(out, b, *len);
}

static int key_row(sqlite3_stmt *s, void *ctx)
{
	struct key_walk *w = ctx;
	if (w->n == w->max)
		return NP_ETOOBIG;
	struct store_dnssec_key *k = &w->out[w->n++];
	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(s, 0);
	const char *t = (const char *)sqlite3_column_text(s, 1);
	np_strlcpy(k->zone, t != NULL ? t : "", sizeof(k->zone));
	t = (const char *)sqlite3_column_text(s, 2);
	np_strlcpy(k->role, t != NULL ? t : "", sizeof(k->role));
	k->algorithm = (unsigned)sqlite3_column_int(s, 3);
	blob_col(s, 4, k->dnskey, sizeof(k->dnskey), &k->dnskey_len);
	blob_col(s, 5, k->sealed, sizeof(k->sealed), &k->sealed_len);
	t = (const char *)sqlite3_column_text(s, 6);
	np_strlcpy(k->state, t != NULL ? t : "", sizeof(k->state));
	k->created = sqlite3_column_int64(s, 7);
	k->since = sqlite3_column_int64(s, 8);
	return 0;
}

int store_dnssec_key_list(struct store *st, const char *zone, struct store_dnssec_key *out,
                          size_t max, size_t *n)
{
	*n = 0;
	sqlite3_stmt *s =
	    store__sql(st, "SELECT id, zone, role, algorithm, dnskey, sealed, state,"
	                   " created, since FROM dnssec_keys WHERE zone = ?1 ORDER BY id");
	if (s == NULL)
		return NP_ESTORE;
	store__bind_text(s, 1, zone);
	struct key_walk w = {out, max, 0};
	int ret = store__each_row(st, s, key_row, &w);
	*n = w.n;
	return ret;
}

/* What a sealed key is: nonce, then the box (MAC and the private blob). */
#define SEALED_LEN(n) (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + (n))

int store_dnssec_seal_key(const char *data_dir, bool create, uint8_t key[STORE_DNSSEC_SEAL_LEN])
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_DNSSEC_SEAL_FILE) >=
	    sizeof(path))
		return NP_EIO;
	return secret_key_file(path, "dnssec", create, key, STORE_DNSSEC_SEAL_LEN);
}

int store_dnssec_key_state(struct store *st, int64_t id, const char *state, int64_t now)
{
	sqlite3_stmt *s =
	    store__sql(st, "UPDATE dnssec_keys SET state = ?2, since = ?3 WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	store__bind_text(s, 2, state);
	sqlite3_bind_int64(s, 3, now);
	return store__exec_changed(st, s);
}

int store_dnssec_key_del(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store__sql(st, "DELETE FROM dnssec_keys WHERE id = ?1");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	return store__exec_changed(st, s);
}

static int add_key(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN], const char *zone,
                   const struct dnssec_key *k, const char *state, int64_t now)
{
	struct store_dnssec_key row;
	uint8_t priv[DNSSEC_PRIV_MAX];
	memset(&row, 0, sizeof(row));
	size_t plen = dnssec_key_private(k, priv);
	if (plen == 0 || SEALED_LEN(plen) > sizeof(row.sealed))
		return NP_EINVAL;
	np_strlcpy(row.zone, zone, sizeof(row.zone));
	np_strlcpy(row.role, k->flags == DNSSEC_FLAGS_KSK ? "ksk" : "zsk", sizeof(row.role));
	row.algorithm = k->alg;
	row.dnskey_len = dnssec_dnskey_rdata(k, row.dnskey);
	randombytes_buf(row.sealed, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(row.sealed + crypto_secretbox_NONCEBYTES, priv, plen, row.sealed,
	                      seal);
	sodium_memzero(priv, sizeof(priv));
	row.sealed_len = SEALED_LEN(plen);
	np_strlcpy(row.state, state, sizeof(row.state));
	row.created = now;
	return store_dnssec_key_add(st, &row, NULL);
}

int store_dnssec_keys_create(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                             const char *zone, unsigned alg, int64_t now)
{
	struct store_dnssec_key have[1];
	size_t n = 0;
	int ret = store_dnssec_key_list(st, zone, have, 1, &n);
	if (ret != NP_OK && ret != NP_ETOOBIG)
		return ret;
	if (n > 0)
		return NP_EEXIST;
	struct dnssec_key ksk, zsk;
	ret = dnssec_key_generate(&ksk, alg, DNSSEC_FLAGS_KSK);
	if (ret != NP_OK)
		return ret;
	ret = dnssec_key_generate(&zsk, alg, DNSSEC_FLAGS_ZSK);
	if (ret != NP_OK) {
		dnssec_key_deinit(&ksk);
		return ret;
	}
	/* Both or neither: a zone with one key only would be left half made. */
	bool own_tx = sqlite3_get_autocommit(st->db) != 0; /* else: part of the caller's */
	if (own_tx && (ret = store_begin(st)) != NP_OK)
		goto done;
	ret = add_key(st, seal, zone, &ksk, "active", now);
	if (ret == NP_OK)
		ret = add_key(st, seal, zone, &zsk, "active", now);
	if (own_tx) {
		if (ret == NP_OK)
			ret = store_commit(st);
		else
			store_rollback(st);
	}
done:
	dnssec_key_deinit(&ksk);
	dnssec_key_deinit(&zsk);
	return ret;
}

static int prepublish(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN], const char *zone,
                      unsigned alg, uint16_t flags, int64_t now)
{
	struct dnssec_key k;
	int ret = dnssec_key_generate(&k, alg, flags);
	if (ret != NP_OK)
		return ret;
	ret = add_key(st, seal, zone, &k, "published", now);
	dnssec_key_deinit(&k);
	return ret;
}

int store_dnssec_zsk_prepublish(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                                const char *zone, unsigned alg, int64_t now)
{
	return prepublish(st, seal, zone, alg, DNSSEC_FLAGS_ZSK, now);
}

int store_dnssec_ksk_publish(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                             const char *zone, unsigned alg, int64_t now)
{
	return prepublish(st, seal, zone, alg, DNSSEC_FLAGS_KSK, now);
}

static int unseal_key(const uint8_t seal[STORE_DNSSEC_SEAL_LEN], const struct store_dnssec_key *row,
                      struct dnssec_key *k)
{
	uint8_t priv[DNSSEC_PRIV_MAX];
	if (row->sealed_len <= SEALED_LEN(0) || row->sealed_len > SEALED_LEN(sizeof(priv)))
		return NP_EINVAL;
	size_t plen = row->sealed_len - SEALED_LEN(0);
	if (crypto_secretbox_open_easy(priv, row->sealed + crypto_secretbox_NONCEBYTES,
	                               row->sealed_len - crypto_secretbox_NONCEBYTES, row->sealed,
	                               seal) != 0)
		return NP_EINVAL;
	uint16_t flags = strcmp(row->role, "ksk") == 0 ? DNSSEC_FLAGS_KSK : DNSSEC_FLAGS_ZSK;
	int ret = dnssec_key_load(k, row->algorithm, flags, priv, plen);
	sodium_memzero(priv, sizeof(priv));
	if (ret != NP_OK)
		return ret;
	/* The public part kept in the clear must be this key's. */
	uint8_t rd[DNSSEC_DNSKEY_MAX];
	size_t len = dnssec_dnskey_rdata(k, rd);
	if (len != row->dnskey_len || memcmp(rd, row->dnskey, len) != 0) {
		dnssec_key_deinit(k);
		return NP_EINVAL;
	}
	return NP_OK;
}

int store_dnssec_zone_load(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                           const char *zone, struct dnssec_zone **out)
{
	*out = NULL;
	struct store_dnssec_key *rows = calloc(STORE_DNSSEC_KEYS_MAX, sizeof(*rows));
	if (rows == NULL)
		return NP_ENOMEM;
	size_t n = 0;
	int ret = store_dnssec_key_list(st, zone, rows, STORE_DNSSEC_KEYS_MAX, &n);
	const struct store_dnssec_key *ksk = NULL, *zsk = NULL, *ksk2 = NULL;
	uint64_t keyset = 0xcbf29ce484222325ULL;
	for (size_t i = 0; ret == NP_OK && i < n; i++) {
		keyset = (keyset ^ (uint64_t)rows[i].id) * 0x100000001b3ULL;
		for (const char *c = rows[i].state; *c != '\0'; c++)
			keyset = (keyset ^ (uint64_t)(unsigned char)*c) * 0x100000001b3ULL;
		bool is_ksk = strcmp(rows[i].role, "ksk") == 0;
		if (strcmp(rows[i].state, "active") != 0) {
			/* The other KSK of a roll (published, ready or retired) signs the
			 * DNSKEY RRset too. */
			if (is_ksk && ksk2 == NULL)
				ksk2 = &rows[i];
			continue;
		}
		if (is_ksk)
			ksk = &rows[i];
		else
			zsk = &rows[i];
	}
	if (ret == NP_OK && (ksk == NULL || zsk == NULL))
		ret = NP_ENOTFOUND;
	struct dnssec_key kk = {0}, zk = {0}, k2 = {0};
	if (ret == NP_OK &&
	    (unseal_key(seal, ksk, &kk) != NP_OK || unseal_key(seal, zsk, &zk) != NP_OK ||
	     (ksk2 != NULL && unseal_key(seal, ksk2, &k2) != NP_OK))) {
		log_err("zone %s: a DNSSEC key does not unseal with %s (was the file replaced?)",
		        zone, STORE_DNSSEC_SEAL_FILE);
		dnssec_key_deinit(&kk);
		dnssec_key_deinit(&zk);
		ret = NP_EINVAL;
	}
	if (ret == NP_OK) {
		uint8_t apex[DNS_NAME_MAX];
		int alen = dns_name_from_text(zone, apex, sizeof(apex));
		*out = alen > 0 ? dnssec_zone_new(apex, (size_t)alen, &kk, &zk) : NULL;
		if (alen <= 0) {
			dnssec_key_deinit(&kk);
			dnssec_key_deinit(&zk);
		}
		if (*out == NULL) {
			ret = NP_ENOMEM;
		} else {
			(*out)->keyset = keyset;
			/* Taken over: a "ready" KSK is the one CDS and CDNSKEY name. */
			(*out)->ksk2 = k2;
			memset(&k2, 0, sizeof(k2));
			(*out)->cds_ksk2 = ksk2 != NULL && strcmp(ksk2->state, "ready") == 0;
		}
		/* Published and retired keys stand in DNSKEY without signing. */
		for (size_t i = 0; *out != NULL && i < n; i++) {
			struct dnssec_zone *dz = *out;
			if (strcmp(rows[i].state, "active") == 0 ||
			    dz->n_extra == DNSSEC_EXTRA_KEYS)
				continue;
			memcpy(dz->extra[dz->n_extra], rows[i].dnskey, rows[i].dnskey_len);
			dz->extra_len[dz->n_extra++] = rows[i].dnskey_len;
		}
	}
	dnssec_key_deinit(&k2);
	free(rows);
	return ret;
}
