/* SPDX-License-Identifier: MIT */
/* Unit tests for P-256 signing with kept contexts (key.c, p256_signers): thousands of
 * signatures, among them ones whose r or s is shorter than 32 octets in DER (one in 256
 * each) or carries a leading zero, all verify; several threads signing with one key at
 * once all make valid signatures; a reloaded key signs as the first. ECDSA signatures are
 * random: they are checked by verification (libcrypto's, through the DER form), not by
 * bytes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "dnssec/key.h"

#define N_SIGS    3000
#define N_THREADS 4
#define N_EACH    300

static void test_many_signatures_verify(void **state)
{
	(void)state;
	struct dnssec_key k;
	assert_int_equal(dnssec_key_generate(&k, DNSSEC_ALG_ECDSAP256, DNSSEC_FLAGS_ZSK), NP_OK);
	uint8_t msg[64], sig[DNSSEC_SIG_LEN];
	unsigned short_r = 0, short_s = 0;
	memset(msg, 7, sizeof(msg));
	for (unsigned i = 0; i < N_SIGS; i++) {
		memcpy(msg, &i, sizeof(i));
		assert_int_equal(dnssec_sign(&k, msg, sizeof(msg), sig), NP_OK);
		assert_true(dnssec_verify(&k, msg, sizeof(msg), sig));
		short_r += sig[0] == 0;
		short_s += sig[32] == 0;
	}
	/* About 12 of each are expected; none at all would mean the padding is never tried. */
	assert_true(short_r + short_s > 0);
	msg[0] ^= 1;
	assert_false(dnssec_verify(&k, msg, sizeof(msg), sig));
	dnssec_key_deinit(&k);
}

struct job {
	const struct dnssec_key *k;
	unsigned id, good;
};

static void *signer(void *arg)
{
	struct job *j = arg;
	uint8_t msg[32] = {0}, sig[DNSSEC_SIG_LEN];
	msg[0] = (uint8_t)j->id;
	for (unsigned i = 0; i < N_EACH; i++) {
		memcpy(msg + 1, &i, sizeof(i));
		if (dnssec_sign(j->k, msg, sizeof(msg), sig) == NP_OK &&
		    dnssec_verify(j->k, msg, sizeof(msg), sig))
			j->good++;
	}
	return NULL;
}

static void test_threads_share_a_key(void **state)
{
	(void)state;
	struct dnssec_key k;
	assert_int_equal(dnssec_key_generate(&k, DNSSEC_ALG_ECDSAP256, DNSSEC_FLAGS_ZSK), NP_OK);
	pthread_t th[N_THREADS];
	struct job jobs[N_THREADS];
	for (unsigned i = 0; i < N_THREADS; i++) {
		jobs[i] = (struct job){&k, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, signer, &jobs[i]), 0);
	}
	for (unsigned i = 0; i < N_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].good, N_EACH);
	}
	dnssec_key_deinit(&k);
}

/* A key loaded from its private blob has contexts of its own: its signatures verify under
 * the first key, and freeing one key leaves the other signing. */
static void test_reloaded_key_signs(void **state)
{
	(void)state;
	struct dnssec_key k, k2;
	assert_int_equal(dnssec_key_generate(&k, DNSSEC_ALG_ECDSAP256, DNSSEC_FLAGS_KSK), NP_OK);
	uint8_t priv[DNSSEC_PRIV_MAX], sig[DNSSEC_SIG_LEN];
	const uint8_t msg[] = "nameplate";
	assert_int_equal(dnssec_sign(&k, msg, sizeof(msg), sig), NP_OK);
	size_t plen = dnssec_key_private(&k, priv);
	assert_true(plen > 0);
	assert_int_equal(dnssec_key_load(&k2, DNSSEC_ALG_ECDSAP256, DNSSEC_FLAGS_KSK, priv, plen),
	                 NP_OK);
	sodium_memzero(priv, sizeof(priv));
	assert_int_equal(dnssec_sign(&k2, msg, sizeof(msg), sig), NP_OK);
	assert_true(dnssec_verify(&k, msg, sizeof(msg), sig));
	dnssec_key_deinit(&k);
	assert_int_equal(dnssec_sign(&k2, msg, sizeof(msg), sig), NP_OK);
	assert_true(dnssec_verify(&k2, msg, sizeof(msg), sig));
	dnssec_key_deinit(&k2);
	/* A deinit key (zeroed) refuses to sign. */
	assert_int_equal(dnssec_sign(&k2, msg, sizeof(msg), sig), NP_EINVAL);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_signatures_verify),
	    cmocka_unit_test(test_threads_share_a_key),
	    cmocka_unit_test(test_reloaded_key_signs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
