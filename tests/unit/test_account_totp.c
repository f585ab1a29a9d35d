/* SPDX-License-Identifier: MIT */
/* Tests of the TOTP second factor: RFC 6238's SHA1 vectors, the window, the replay rule,
 * typed input, the base32 text and the otpauth:// URI. With arguments it prints codes or a
 * URI for tests/system/test_totp.py to check against oathtool and zbarimg. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/totp.h"
#include "common/err.h"
#include "common/macros.h"
#include "common/str.h"

/* RFC 6238 appendix B: the SHA1 key is the ASCII "12345678901234567890". */
static const uint8_t rfc_key[TOTP_SECRET_LEN] = "12345678901234567890";
#define RFC_KEY_BASE32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

/* The SHA1 rows of appendix B. The RFC prints 8 digits; 6 are the same number mod 10^6,
 * that is its last six digits. */
static const struct {
	time_t t;
	const char *code8;
} rfc_vectors[] = {
    {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
    {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
};

static int verify(const char *code, time_t now, uint64_t last, uint64_t *matched)
{
	return totp_verify(rfc_key, code, strlen(code), now, last, matched);
}

static void test_rfc6238_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rfc_vectors); i++) {
		const char *want = rfc_vectors[i].code8 + 2;
		time_t t = rfc_vectors[i].t;
		char code[TOTP_DIGITS + 1];
		assert_int_equal(totp_code(rfc_key, totp_step(t), code), NP_OK);
		assert_string_equal(code, want);
		uint64_t matched = 0;
		assert_int_equal(verify(want, t, 0, &matched), NP_OK);
		assert_int_equal(matched, (uint64_t)t / 30);
	}
	/* The first row: T=59 is step 1, 94287082 gives 287082. */
	assert_int_equal(totp_step(59), 1);
	assert_int_equal(totp_step(60), 2);
	assert_int_equal(totp_step(-5), 0);
}

static void test_secret_text(void **state)
{
	(void)state;
	char text[TOTP_SECRET_TEXT_LEN + 1];
	assert_int_equal(totp_secret_text(rfc_key, text), NP_OK);
	assert_string_equal(text, RFC_KEY_BASE32);
}

static void test_secret_new(void **state)
{
	(void)state;
	uint8_t a[TOTP_SECRET_LEN], b[TOTP_SECRET_LEN];
	static const uint8_t zero[TOTP_SECRET_LEN];
	assert_int_equal(totp_secret_new(a), NP_OK);
	assert_int_equal(totp_secret_new(b), NP_OK);
	assert_memory_not_equal(a, b, TOTP_SECRET_LEN);
	assert_memory_not_equal(a, zero, TOTP_SECRET_LEN);
	char text[TOTP_SECRET_TEXT_LEN + 1];
	assert_int_equal(totp_secret_text(a, text), NP_OK);
	assert_int_equal(strlen(text), TOTP_SECRET_TEXT_LEN);
	for (size_t i = 0; i < TOTP_SECRET_TEXT_LEN; i++)
		assert_true((text[i] >= 'A' && text[i] <= 'Z') ||
		            (text[i] >= '2' && text[i] <= '7'));
}

/* One step either side is accepted (a clock 30 s off, or a code typed as it turned), two
 * are not. now = 1111111111 is one second into its step. */
static void test_window(void **state)
{
	(void)state;
	const time_t now = 1111111111;
	const uint64_t cur = totp_step(now);
	char code[TOTP_DIGITS + 1];
	uint64_t matched = 0;

	assert_int_equal(totp_code(rfc_key, totp_step(now - 30), code), NP_OK);
	assert_int_equal(verify(code, now, 0, &matched), NP_OK);
	assert_int_equal(matched, cur - 1);

	assert_int_equal(totp_code(rfc_key, totp_step(now + 30), code), NP_OK);
	assert_int_equal(verify(code, now, 0, &matched), NP_OK);
	assert_int_equal(matched, cur + 1);

	matched = 12345;
	assert_int_equal(totp_code(rfc_key, totp_step(now - 60), code), NP_OK);
	assert_int_equal(verify(code, now, 0, &matched), NP_EDENIED);
	assert_int_equal(totp_code(rfc_key, totp_step(now + 60), code), NP_OK);
	assert_int_equal(verify(code, now, 0, &matched), NP_EDENIED);
	/* matched_step is left alone when nothing matched. */
	assert_int_equal(matched, 12345);

	/* A wrong code of the right shape. */
	assert_int_equal(verify("000000", now, 0, &matched), NP_EDENIED);

	/* The epoch's first step has no step before it, and counts as used (last_step 0 is
	 * "none yet"): at 10 s past the epoch only step 1's code is accepted. */
	assert_int_equal(totp_code(rfc_key, 1, code), NP_OK);
	assert_int_equal(totp_verify(rfc_key, code, strlen(code), 10, 0, &matched), NP_OK);
	assert_int_equal(matched, 1);
	assert_int_equal(totp_code(rfc_key, 0, code), NP_OK);
	assert_int_equal(totp_verify(rfc_key, code, strlen(code), 10, 0, &matched), NP_EDENIED);
}

static void test_replay_refused(void **state)
{
	(void)state;
	const time_t now = 1234567890;
	uint64_t last = 0, matched = 0;
	char code[TOTP_DIGITS + 1];
	assert_int_equal(totp_code(rfc_key, totp_step(now), code), NP_OK);

	assert_int_equal(verify(code, now, last, &matched), NP_OK);
	last = matched;
	/* The same code again, in the same step or the next one (still in the window). */
	assert_int_equal(verify(code, now, last, &matched), NP_EDENIED);
	assert_int_equal(verify(code, now + 30, last, &matched), NP_EDENIED);
	/* An older code still in the window is refused once a newer one was used. */
	assert_int_equal(totp_code(rfc_key, totp_step(now) - 1, code), NP_OK);
	assert_int_equal(verify(code, now, last, &matched), NP_EDENIED);
	/* The next step's code is accepted, and moves last on. */
	assert_int_equal(totp_code(rfc_key, totp_step(now) + 1, code), NP_OK);
	assert_int_equal(verify(code, now + 30, last, &matched), NP_OK);
	assert_int_equal(matched, last + 1);
}

static void test_typed_input(void **state)
{
	(void)state;
	const time_t now = 59;
	uint64_t matched = 0;
	/* Spaces a person types between groups, or around the code, are dropped. */
	assert_int_equal(verify("287 082", now, 0, &matched), NP_OK);
	assert_int_equal(verify(" 287082 ", now, 0, &matched), NP_OK);
	assert_int_equal(verify("28 70 82", now, 0, &matched), NP_OK);

	static const char *const bad[] = {
	    "",        "28708",   "2870820",  "28708a",   "a287082",
	    "287-082", "+287082", "287082\n", "\t287082", "287\t082",
	    "28708２", "2870.82", "287082 0", "       ",  "0x287082",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		matched = 99;
		assert_int_equal(verify(bad[i], now, 0, &matched), NP_EMALFORMED);
		assert_int_equal(matched, 99);
	}

	/* A NUL inside: 7 bytes, six of them the right digits. */
	static const char nul_inside[] = {'2', '8', '7', '\0', '0', '8', '2'};
	assert_int_equal(totp_verify(rfc_key, nul_inside, sizeof(nul_inside), now, 0, &matched),
	                 NP_EMALFORMED);
	/* Only the bytes given count: "287082" followed by more is not looked at. */
	assert_int_equal(totp_verify(rfc_key, "2870829", 6, now, 0, &matched), NP_OK);

	/* Very long input is refused whole, even when it is only spaces around a right code. */
	char longer[4096];
	memset(longer, ' ', sizeof(longer));
	memcpy(longer + 100, "287082", 6);
	assert_int_equal(totp_verify(rfc_key, longer, sizeof(longer), now, 0, &matched),
	                 NP_EMALFORMED);
	memset(longer, '2', sizeof(longer));
	assert_int_equal(totp_verify(rfc_key, longer, sizeof(longer), now, 0, &matched),
	                 NP_EMALFORMED);
	/* TOTP_INPUT_MAX bytes are still looked at, one more is not. */
	memset(longer, ' ', sizeof(longer));
	memcpy(longer, "287082", 6);
	assert_int_equal(totp_verify(rfc_key, longer, TOTP_INPUT_MAX, now, 0, &matched), NP_OK);
	assert_int_equal(totp_verify(rfc_key, longer, TOTP_INPUT_MAX + 1, now, 0, &matched),
	                 NP_EMALFORMED);
}

static void test_uri(void **state)
{
	(void)state;
	char uri[1024];
	assert_int_equal(
	    totp_uri("Nameplate & Co", "alice smith@example.org:home", rfc_key, uri, sizeof(uri)),
	    NP_OK);
	assert_string_equal(uri,
	                    "otpauth://totp/Nameplate%20%26%20Co:alice%20smith%40example.org%3Ahome"
	                    "?secret=" RFC_KEY_BASE32 "&issuer=Nameplate%20%26%20Co"
	                    "&algorithm=SHA1&digits=6&period=30");

	/* UTF-8 bytes and the reserved characters of a query are encoded, unreserved ones kept. */
	assert_int_equal(
	    totp_uri("dyn.example", "b\xc3\xa9r-1_x~?#/=+%", rfc_key, uri, sizeof(uri)), NP_OK);
	assert_string_equal(uri, "otpauth://totp/dyn.example:b%C3%A9r-1_x~%3F%23%2F%3D%2B%25"
	                         "?secret=" RFC_KEY_BASE32 "&issuer=dyn.example"
	                         "&algorithm=SHA1&digits=6&period=30");

	/* Refused: an issuer with a colon, empty names, names too long. */
	assert_int_equal(totp_uri("a:b", "alice", rfc_key, uri, sizeof(uri)), NP_EINVAL);
	assert_string_equal(uri, "");
	assert_int_equal(totp_uri("", "alice", rfc_key, uri, sizeof(uri)), NP_EINVAL);
	assert_int_equal(totp_uri("Nameplate", "", rfc_key, uri, sizeof(uri)), NP_EINVAL);
	char name[TOTP_LABEL_MAX + 2];
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(totp_uri("Nameplate", name, rfc_key, uri, sizeof(uri)), NP_EINVAL);
	name[TOTP_LABEL_MAX] = '\0';
	assert_int_equal(totp_uri("Nameplate", name, rfc_key, uri, sizeof(uri)), NP_OK);

	/* A buffer one byte short, and exactly long enough. */
	char want[1024];
	assert_int_equal(totp_uri("I", "a", rfc_key, want, sizeof(want)), NP_OK);
	size_t len = strlen(want);
	assert_int_equal(totp_uri("I", "a", rfc_key, uri, len), NP_ETOOBIG);
	assert_string_equal(uri, "");
	assert_int_equal(totp_uri("I", "a", rfc_key, uri, len + 1), NP_OK);
	assert_string_equal(uri, want);
	assert_int_equal(totp_uri("I", "a", rfc_key, uri, 0), NP_ETOOBIG);
}

/* The first callers may come from several HTTP threads at once: liboath and libsodium are
 * started once, and every thread gets the right answer. */
static void *verify_thread(void *arg)
{
	(void)arg;
	uint64_t matched = 0;
	int ok = 1;
	for (size_t i = 0; i < ARRAY_SIZE(rfc_vectors); i++)
		if (verify(rfc_vectors[i].code8 + 2, rfc_vectors[i].t, 0, &matched) != NP_OK)
			ok = 0;
	return ok ? arg : NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t th[4];
	int tag = 1;
	for (size_t i = 0; i < ARRAY_SIZE(th); i++)
		assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &tag), 0);
	for (size_t i = 0; i < ARRAY_SIZE(th); i++) {
		void *res = NULL;
		assert_int_equal(pthread_join(th[i], &res), 0);
		assert_ptr_equal(res, &tag);
	}
	assert_int_equal(totp_lib_init(), NP_OK);
}

/* For tests/system/test_totp.py:
 *   --codes T...          a new secret's base32 text, then "T CODE" for each Unix time T
 *   --uri ISSUER ACCOUNT  a new secret's base32 text, then its otpauth:// URI */
static int print_mode(int argc, char **argv)
{
	uint8_t secret[TOTP_SECRET_LEN];
	char text[TOTP_SECRET_TEXT_LEN + 1];
	if (totp_secret_new(secret) != NP_OK || totp_secret_text(secret, text) != NP_OK)
		return 1;
	printf("%s\n", text);
	if (strcmp(argv[1], "--codes") == 0) {
		for (int i = 2; i < argc; i++) {
			char *end = NULL;
			long long t = strtoll(argv[i], &end, 10);
			char code[TOTP_DIGITS + 1];
			if (*argv[i] == '\0' || *end != '\0' || t < 0 ||
			    totp_code(secret, totp_step((time_t)t), code) != NP_OK)
				return 2;
			printf("%lld %s\n", t, code);
		}
		return 0;
	}
	if (strcmp(argv[1], "--uri") == 0 && argc == 4) {
		char uri[2048];
		if (totp_uri(argv[2], argv[3], secret, uri, sizeof(uri)) != NP_OK)
			return 1;
		printf("%s\n", uri);
		return 0;
	}
	fprintf(stderr, "usage: %s [--codes T... | --uri ISSUER ACCOUNT]\n", argv[0]);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return print_mode(argc, argv);
	const struct CMUnitTest tests[] = {
	    /* First, so that the threads race to start the libraries. */
	    cmocka_unit_test(test_threads),     cmocka_unit_test(test_rfc6238_vectors),
	    cmocka_unit_test(test_secret_text), cmocka_unit_test(test_secret_new),
	    cmocka_unit_test(test_window),      cmocka_unit_test(test_replay_refused),
	    cmocka_unit_test(test_typed_input), cmocka_unit_test(test_uri),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
