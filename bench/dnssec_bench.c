/* SPDX-License-Identifier: MIT */
/* Micro benchmark of DNSSEC signing (bench/README.md, "DNSSEC"): what one signature costs
 * through the project's own code, for each algorithm:
 *
 *   sign        dnssec_sign of 120 bytes (what every RRSIG ends in)
 *   rrset       dnssec_rrsig of a one-record A RRset: the signing time per changed RRset
 *               the publisher pays (canonical form, then the signature)
 *   deny miss   dnssec_deny of a name never asked before: the compact denial's NSEC and
 *               its signature, made on the query path (a cache miss)
 *   deny hit    dnssec_deny of the same name again (from the cache)
 *   floor       P-256 only: libcrypto's signature of a ready SHA-256 digest with a context
 *               made once (what `openssl speed ecdsap256` measures), the least a P-256
 *               signature can cost here
 *
 * Each figure is the median of 7 batches of N_SIGS operations on one thread, in the
 * thread's CPU time (other work on a shared machine takes turns, not figures). Built and run
 * by bench/dnssec.sh (or alone: `sh bench/dnssec.sh --micro`). */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/constants.h"
#include "dnssec/key.h"
#include "dnssec/sign.h"
#include "dnssec/zone.h"

#define N_SIGS  4000u
#define N_BATCH 7
#define NOW     1764547200u

static uint64_t ns_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static const uint8_t apex[] = "\x03"
                              "dyn\x07"
                              "example";

/* "h<i>.dyn.example" as a lowercase wire name into out: its length. */
static size_t host_name(unsigned i, const char *prefix, uint8_t *out)
{
	char label[32];
	int n = snprintf(label, sizeof(label), "%s%u", prefix, i);
	out[0] = (uint8_t)n;
	memcpy(out + 1, label, (size_t)n);
	memcpy(out + 1 + n, apex, sizeof(apex));
	return 1 + (size_t)n + sizeof(apex);
}

static int fail(const char *what)
{
	fprintf(stderr, "dnssec_bench: %s failed\n", what);
	return 1;
}

/* Microseconds per operation, median of the batches. */
static int bench_alg(unsigned alg, const char *label)
{
	struct dnssec_key ksk, zsk, k;
	if (dnssec_key_generate(&ksk, alg, DNSSEC_FLAGS_KSK) != NP_OK ||
	    dnssec_key_generate(&zsk, alg, DNSSEC_FLAGS_ZSK) != NP_OK ||
	    dnssec_key_generate(&k, alg, DNSSEC_FLAGS_ZSK) != NP_OK)
		return fail("key generation");
	struct dnssec_zone *z = dnssec_zone_new(apex, sizeof(apex), &ksk, &zsk);
	if (z == NULL)
		return fail("dnssec_zone_new");
	double sign[N_BATCH], rrset[N_BATCH], miss[N_BATCH], hit[N_BATCH], fl[N_BATCH];
	/* The floor (P-256): a digest ready, a context made once, the signature alone. */
	EVP_PKEY_CTX *ctx = NULL;
	if (alg == DNSSEC_ALG_ECDSAP256 &&
	    ((ctx = EVP_PKEY_CTX_new(k.pkey, NULL)) == NULL || EVP_PKEY_sign_init(ctx) != 1))
		return fail("EVP_PKEY_sign_init");
	uint8_t dgst[32], der[80];
	uint8_t msg[120], sig[DNSSEC_SIG_LEN], rrsig[DNSSEC_RRSIG_MAX];
	static uint8_t deny[DNSSEC_DENY_MAX];
	memset(msg, 0x5a, sizeof(msg));
	unsigned serial = 0;
	for (int b = 0; b < N_BATCH; b++) {
		uint64_t t0 = ns_now();
		for (unsigned i = 0; i < N_SIGS; i++) {
			msg[0] = (uint8_t)i;
			if (dnssec_sign(&k, msg, sizeof(msg), sig) != NP_OK)
				return fail("dnssec_sign");
		}
		sign[b] = (double)(ns_now() - t0) / 1e3 / N_SIGS;

		t0 = ns_now();
		for (unsigned i = 0; i < N_SIGS; i++) {
			uint8_t owner[64];
			size_t olen = host_name(i, "h", owner);
			uint8_t a[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
			struct dnssec_rr rr = {a, sizeof(a)};
			struct dnssec_sig_meta m = {owner, olen,        DNS_TYPE_A,
			                            60,    NOW - 3600,  NOW + 14 * 86400,
			                            apex,  sizeof(apex)};
			if (dnssec_rrsig(&k, &m, &rr, 1, rrsig) <= 0)
				return fail("dnssec_rrsig");
		}
		rrset[b] = (double)(ns_now() - t0) / 1e3 / N_SIGS;

		/* Misses: names never asked before (the cache holds 4096, fewer than asked). */
		t0 = ns_now();
		for (unsigned i = 0; i < N_SIGS; i++) {
			uint8_t q[64];
			size_t qlen = host_name(serial++, "nx", q);
			if (dnssec_deny(z, q, qlen, NULL, 60, NOW, deny) == 0)
				return fail("dnssec_deny");
		}
		miss[b] = (double)(ns_now() - t0) / 1e3 / N_SIGS;

		/* Hits: one name over and over. */
		uint8_t q[64];
		size_t qlen = host_name(0, "nx", q);
		if (dnssec_deny(z, q, qlen, NULL, 60, NOW, deny) == 0)
			return fail("dnssec_deny");
		t0 = ns_now();
		for (unsigned i = 0; i < N_SIGS; i++)
			if (dnssec_deny(z, q, qlen, NULL, 60, NOW, deny) == 0)
				return fail("dnssec_deny");
		hit[b] = (double)(ns_now() - t0) / 1e3 / N_SIGS;

		fl[b] = 0;
		if (ctx == NULL)
			continue;
		crypto_hash_sha256(dgst, msg, sizeof(msg));
		t0 = ns_now();
		for (unsigned i = 0; i < N_SIGS; i++) {
			size_t dl = sizeof(der);
			dgst[0] = (uint8_t)i;
			if (EVP_PKEY_sign(ctx, der, &dl, dgst, sizeof(dgst)) != 1)
				return fail("EVP_PKEY_sign");
		}
		fl[b] = (double)(ns_now() - t0) / 1e3 / N_SIGS;
	}
	EVP_PKEY_CTX_free(ctx);
	printf("%-28s %10.2f %10.2f %10.2f %10.3f", label, median(sign, N_BATCH),
	       median(rrset, N_BATCH), median(miss, N_BATCH), median(hit, N_BATCH));
	if (alg == DNSSEC_ALG_ECDSAP256)
		printf(" %10.2f", median(fl, N_BATCH));
	else
		printf(" %10s", "-");

	printf("\n");
	dnssec_zone_free(z);
	dnssec_key_deinit(&k);
	return 0;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	printf("DNSSEC signing, one thread, microseconds per operation (median of %d x %u)\n",
	       N_BATCH, N_SIGS);
	printf("%-28s %10s %10s %10s %10s %10s\n", "algorithm", "sign", "rrset", "deny miss",
	       "deny hit", "floor");
	if (bench_alg(DNSSEC_ALG_ECDSAP256, "13 (ECDSA P-256 SHA-256)") != 0 ||
	    bench_alg(DNSSEC_ALG_ED25519, "15 (Ed25519)") != 0)
		return 1;
	return 0;
}
