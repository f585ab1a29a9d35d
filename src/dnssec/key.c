/* SPDX-License-Identifier: MIT */
/* DNSSEC keys: P-256 through libcrypto's EVP interface, Ed25519 through libsodium. */
#include "dnssec/key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dns/wire.h"

/* A P-256 key's signing contexts, kept for reuse. Setting one up (EVP_DigestSignInit:
 * fetching the algorithms from the provider, exporting the key to it, a new context) cost
 * about a third of a signature made on top; a context initialised once for signing signs
 * any number of digests. A signer takes one from here (or makes one when none is free) and
 * puts it back: as many contexts as threads ever signed with the key at once, at most
 * SIGNERS_MAX kept. They hold a reference to the key and go with it (dnssec_key_deinit). */
#define SIGNERS_MAX 16

struct p256_signers {
	pthread_mutex_t mu;
	unsigned n;
	EVP_PKEY_CTX *free[SIGNERS_MAX];
};

static int p256_signers_new(struct dnssec_key *k)
{
	struct p256_signers *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NP_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	k->signers = s;
	return NP_OK;
}

static void p256_signers_free(struct p256_signers *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->n; i++)
		EVP_PKEY_CTX_free(s->free[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static EVP_PKEY_CTX *p256_signer_take(const struct dnssec_key *k)
{
	struct p256_signers *s = k->signers;
	EVP_PKEY_CTX *ctx = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->n > 0)
		ctx = s->free[--s->n];
	pthread_mutex_unlock(&s->mu);
	if (ctx != NULL)
		return ctx;
	ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	if (ctx != NULL && EVP_PKEY_sign_init(ctx) != 1) {
		EVP_PKEY_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static void p256_signer_put(const struct dnssec_key *k, EVP_PKEY_CTX *ctx)
{
	struct p256_signers *s = k->signers;
	pthread_mutex_lock(&s->mu);
	if (s->n < SIGNERS_MAX) {
		s->free[s->n++] = ctx;
		ctx = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	EVP_PKEY_CTX_free(ctx);
}

bool dnssec_alg_supported(unsigned alg)
{
	return alg == DNSSEC_ALG_ECDSAP256 || alg == DNSSEC_ALG_ED25519;
}

static void set_tag(struct dnssec_key *k)
{
	uint8_t rd[DNSSEC_DNSKEY_MAX];
	size_t len = dnssec_dnskey_rdata(k, rd);
	k->tag = dnssec_key_tag(rd, len);
}

/* The public key of an EVP P-256 key as DNSKEY holds it: X||Y without the 0x04 prefix. */
static int p256_public(struct dnssec_key *k)
{
	uint8_t pt[65];
	size_t len = 0;
	if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
	                                    &len) != 1 ||
	    len != 65 || pt[0] != 0x04)
		return NP_EINVAL;
	memcpy(k->pub, pt + 1, 64);
	k->pub_len = 64;
	return NP_OK;
}

static bool p256_is_ours(EVP_PKEY *pkey)
{
	char group[32];
	size_t glen = 0;
	return EVP_PKEY_is_a(pkey, "EC") &&
	       EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
	                                      sizeof(group), &glen) == 1 &&
	       strcmp(group, SN_X9_62_prime256v1) == 0;
}

int dnssec_key_generate(struct dnssec_key *k, unsigned alg, uint16_t flags)
{
	memset(k, 0, sizeof(*k));
	k->alg = (uint8_t)alg;
	k->flags = flags;
	if (alg == DNSSEC_ALG_ED25519) {
		crypto_sign_keypair(k->pub, k->ed_sk);
		k->pub_len = crypto_sign_PUBLICKEYBYTES;
	} else if (alg == DNSSEC_ALG_ECDSAP256) {
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (k->pkey == NULL || p256_public(k) != NP_OK || p256_signers_new(k) != NP_OK) {
			dnssec_key_deinit(k);
			return NP_EFAILED;
		}
	} else {
		return NP_EINVAL;
	}
	set_tag(k);
	return NP_OK;
}

int dnssec_key_load(struct dnssec_key *k, unsigned alg, uint16_t flags, const uint8_t *priv,
                    size_t len)
{
	memset(k, 0, sizeof(*k));
	k->alg = (uint8_t)alg;
	k->flags = flags;
	if (alg == DNSSEC_ALG_ED25519) {
		if (len != crypto_sign_SEEDBYTES)
			return NP_EINVAL;
		crypto_sign_seed_keypair(k->pub, k->ed_sk, priv);
		k->pub_len = crypto_sign_PUBLICKEYBYTES;
	} else if (alg == DNSSEC_ALG_ECDSAP256) {
		const unsigned char *p = priv;
		k->pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
		if (k->pkey == NULL || p != priv + len || !p256_is_ours(k->pkey) ||
		    p256_public(k) != NP_OK || p256_signers_new(k) != NP_OK) {
			dnssec_key_deinit(k);
			return NP_EINVAL;
		}
	} else {
		return NP_EINVAL;
	}
	set_tag(k);
	return NP_OK;
}

size_t dnssec_key_private(const struct dnssec_key *k, uint8_t out[DNSSEC_PRIV_MAX])
{
	if (k->alg == DNSSEC_ALG_ED25519) {
		crypto_sign_ed25519_sk_to_seed(out, k->ed_sk);
		return crypto_sign_SEEDBYTES;
	}
	if (k->pkey == NULL)
		return 0;
	int len = i2d_PrivateKey(k->pkey, NULL);
	if (len <= 0 || len > DNSSEC_PRIV_MAX)
		return 0;
	unsigned char *p = out;
	return i2d_PrivateKey(k->pkey, &p) == len ? (size_t)len : 0;
}

void dnssec_key_deinit(struct dnssec_key *k)
{
	p256_signers_free(k->signers);
	if (k->pkey != NULL)
		EVP_PKEY_free(k->pkey);
	sodium_memzero(k, sizeof(*k));
}

size_t dnssec_dnskey_rdata(const struct dnssec_key *k, uint8_t out[DNSSEC_DNSKEY_MAX])
{
	wire_store_u16(out, k->flags);
	out[2] = 3; /* protocol: always 3 (RFC 4034 2.1.2) */
	out[3] = k->alg;
	memcpy(out + 4, k->pub, k->pub_len);
	return 4 + k->pub_len;
}

uint16_t dnssec_key_tag(const uint8_t *rdata, size_t len)
{
	uint32_t ac = 0;
	for (size_t i = 0; i < len; i++)
		ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	ac += (ac >> 16) & 0xFFFF;
	return (uint16_t)(ac & 0xFFFF);
}

void dnssec_ds_rdata(const uint8_t *owner, size_t owner_len, const uint8_t *dnskey, size_t len,
                     uint8_t out[DNSSEC_DS_LEN])
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, owner, owner_len);
	crypto_hash_sha256_update(&st, dnskey, len);
	wire_store_u16(out, dnssec_key_tag(dnskey, len));
	out[2] = len >= 4 ? dnskey[3] : 0;
	out[3] = 2; /* SHA-256 */
	crypto_hash_sha256_final(&st, out + 4);
}

/* One INTEGER of a DER ECDSA-Sig-Value (RFC 5480: SEQUENCE { r, s }) at *p, below end,
 * into out as 32 big-endian octets. Returns false when it does not parse or is too big. */
static bool der_int32(const uint8_t **p, const uint8_t *end, uint8_t out[32])
{
	const uint8_t *q = *p;
	if (end - q < 2 || q[0] != 0x02 || q[1] == 0 || q[1] > 33 || end - q - 2 < q[1])
		return false;
	size_t len = q[1];
	q += 2;
	if (len == 33) { /* a leading 0 keeps the number positive */
		if (q[0] != 0)
			return false;
		q++;
		len--;
	}
	memset(out, 0, 32 - len);
	memcpy(out + 32 - len, q, len);
	*p = q + len;
	return true;
}

/* The SHA-256 digest of data, signed by a kept context (p256_signers), the DER signature
 * turned into r||s (RFC 6605 4) without big-number allocations. */
static int p256_sign(const struct dnssec_key *k, const uint8_t *data, size_t len, uint8_t sig[64])
{
	uint8_t dgst[SHA256_DIGEST_LENGTH], der[80];
	size_t der_len = sizeof(der);
	EVP_PKEY_CTX *ctx = p256_signer_take(k);
	if (ctx == NULL)
		return NP_EFAILED;
	SHA256(data, len, dgst);
	int ok = EVP_PKEY_sign(ctx, der, &der_len, dgst, sizeof(dgst));
	p256_signer_put(k, ctx);
	if (ok != 1 || der_len < 8 || der[0] != 0x30 || der[1] != der_len - 2)
		return NP_EFAILED;
	const uint8_t *p = der + 2, *end = der + der_len;
	if (!der_int32(&p, end, sig) || !der_int32(&p, end, sig + 32) || p != end)
		return NP_EFAILED;
	return NP_OK;
}

static bool p256_verify(EVP_PKEY *pkey, const uint8_t *data, size_t len, const uint8_t sig[64])
{
	bool ok = false;
	uint8_t der[80];
	unsigned char *p = der;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (es == NULL || r == NULL || s == NULL || md == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		goto done;
	r = s = NULL; /* es owns them */
	int der_len = i2d_ECDSA_SIG(es, NULL);
	if (der_len <= 0 || der_len > (int)sizeof(der) || i2d_ECDSA_SIG(es, &p) != der_len)
		goto done;
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)der_len, data, len) == 1;
done:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return ok;
}

int dnssec_sign(const struct dnssec_key *k, const uint8_t *data, size_t len,
                uint8_t sig[DNSSEC_SIG_LEN])
{
	if (k->alg == DNSSEC_ALG_ED25519)
		return crypto_sign_detached(sig, NULL, data, len, k->ed_sk) == 0 ? NP_OK
		                                                                 : NP_EFAILED;
	if (k->alg == DNSSEC_ALG_ECDSAP256 && k->pkey != NULL && k->signers != NULL)
		return p256_sign(k, data, len, sig);
	return NP_EINVAL;
}

bool dnssec_verify(const struct dnssec_key *k, const uint8_t *data, size_t len,
                   const uint8_t sig[DNSSEC_SIG_LEN])
{
	if (k->alg == DNSSEC_ALG_ED25519)
		return crypto_sign_verify_detached(sig, data, len, k->pub) == 0;
	if (k->alg == DNSSEC_ALG_ECDSAP256 && k->pkey != NULL)
		return p256_verify(k->pkey, data, len, sig);
	return false;
}
