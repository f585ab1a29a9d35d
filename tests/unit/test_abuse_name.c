/* SPDX-License-Identifier: MIT */
/* The name policy at creation (src/abuse/name_policy.c): Punycode against RFC 3492's
 * samples, reserved labels and prefixes, brands and their look-alikes (folded digits, rn
 * for m, one edit away), IDN labels that mix scripts, and ordinary home names that pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <string.h>

#include "abuse/name_policy.h"

static const char *const reserved = "www mail ns* admin login";
static const char *const brands = "paypal, google ebay microsoft";

static int check(const char *labels, char *why, size_t len)
{
	return name_policy_check(labels, reserved, brands, why, len);
}

static void test_punycode(void **state)
{
	(void)state;
	uint32_t out[63];
	/* "bücher" */
	int n = punycode_decode("bcher-kva", 9, out, 63);
	assert_int_equal(n, 6);
	assert_int_equal(out[1], 0xFC);
	assert_int_equal(out[0], 'b');
	/* RFC 3492 7.1 (B) Chinese: 他们为什么不说中文 */
	n = punycode_decode("ihqwcrb4cv8a8dqg056pqjye", 24, out, 63);
	assert_int_equal(n, 9);
	assert_int_equal(out[0], 0x4ED6);
	assert_int_equal(out[8], 0x6587);
	/* Bad digits, overflow, too long for the buffer. */
	assert_int_equal(punycode_decode("abc-!!", 6, out, 63), -1);
	assert_int_equal(punycode_decode("99999999999999999", 17, out, 63), -1);
	assert_int_equal(punycode_decode("ihqwcrb4cv8a8dqg056pqjye", 24, out, 3), -1);
}

static void test_reserved(void **state)
{
	(void)state;
	char why[256];
	assert_int_equal(check("www", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "www is reserved"));
	assert_int_equal(check("ns1", why, sizeof(why)), -1);
	assert_int_equal(check("NS", why, sizeof(why)), -1);
	assert_int_equal(check("mail.home", why, sizeof(why)), -1); /* every label */
	assert_int_equal(check("home.admin", why, sizeof(why)), -1);
	assert_int_equal(check("mailbox", why, sizeof(why)), 0); /* words, not prefixes */
	assert_int_equal(check("home", why, sizeof(why)), 0);
}

static void test_fold(void **state)
{
	(void)state;
	char out[64];
	name_policy_fold("PAYPA1", 6, out, sizeof(out));
	assert_string_equal(out, "paypal");
	name_policy_fold("rnicrosoft", 10, out, sizeof(out));
	assert_string_equal(out, "microsoft");
	name_policy_fold("g00-gle", 7, out, sizeof(out));
	assert_string_equal(out, "google");
}

static void test_brands(void **state)
{
	(void)state;
	char why[256];
	const char *refused[] = {"paypal", "paypa1", "pay-pal", "paypall", "paypl", "g00gle",
	                         "googie", "rnicrosoft", "paypal-login", "secure-paypa1",
	                         "ebay", "e8ay", "my.g0ogle"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		why[0] = '\0';
		assert_int_equal(check(refused[i], why, sizeof(why)), -1);
		assert_non_null(strstr(why, "looks like the brand"));
	}
	/* Short brands match only exactly; a name that merely contains a brand passes. */
	const char *allowed[] = {"bay", "obey", "ebays", "home", "paypalooza", "mygoogle2x",
	                         "nas-01", "alice-pc"};
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		assert_int_equal(check(allowed[i], why, sizeof(why)), 0);
}

static void test_idn(void **state)
{
	(void)state;
	char why[256];
	/* "раураl": Cyrillic р а у а with Latin l */
	uint32_t cps[63];
	assert_int_equal(check("xn--l-7sba6dbr", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "mixes"));
	assert_int_equal(punycode_decode("l-7sba6dbr", 10, cps, 63), 6);
	/* Whole labels in one script pass: bücher, Cyrillic "пример", Chinese; Japanese
	 * mixes Kana and Han with Latin, as UTS #39 allows. */
	assert_int_equal(check("xn--bcher-kva", why, sizeof(why)), 0);
	assert_int_equal(check("xn--e1afmkfd", why, sizeof(why)), 0);
	assert_int_equal(check("xn--ihqwcrb4cv8a8dqg056pqjye", why, sizeof(why)), 0);
	/* Not Punycode, or Punycode of plain ASCII. */
	assert_int_equal(check("xn--!!", why, sizeof(why)), -1);
	assert_int_equal(check("xn--abc-", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "plain ASCII"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_punycode), cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_fold),     cmocka_unit_test(test_brands),
	    cmocka_unit_test(test_idn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
