/* SPDX-License-Identifier: MIT */
/* Response rate limiting (ns/rrl.h): the limit per second, slip, networks counted as one,
 * names and kinds apart, cookies exempt, and cookies themselves (ns/cookie.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ns/cookie.h"
#include "ns/rrl.h"

static struct np_addr addr(const char *text)
{
	struct np_addr a;
	assert_int_equal(addr_parse(text, &a), NP_OK);
	return a;
}

static unsigned sent(struct rrl *r, const char *client, struct dns_answer_info *info, unsigned n,
                     int64_t now, unsigned *slipped)
{
	struct np_addr a = addr(client);
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		enum rrl_action act = rrl_account(r, &a, info, now);
		ok += act == RRL_SEND;
		if (slipped != NULL)
			*slipped += act == RRL_SLIP;
	}
	return ok;
}

static void test_limit_slip_and_networks(void **state)
{
	(void)state;
	struct rrl *r;
	assert_int_equal(rrl_new(&r, 10, 2, 24, 56, 1024), NP_OK);
	struct dns_answer_info a = {.kind = DNS_KIND_ANSWER, .name_hash = 1};
	unsigned slipped = 0;
	assert_int_equal(sent(r, "192.0.2.1", &a, 30, 100, &slipped), 10);
	assert_int_equal(slipped, 10); /* one in two of the 20 over the limit */
	/* The same /24 shares it; another /24, another name, another kind do not. */
	assert_int_equal(sent(r, "192.0.2.200", &a, 5, 100, NULL), 0);
	assert_int_equal(sent(r, "198.51.100.1", &a, 5, 100, NULL), 5);
	struct dns_answer_info b = {.kind = DNS_KIND_ANSWER, .name_hash = 2};
	assert_int_equal(sent(r, "192.0.2.1", &b, 5, 100, NULL), 5);
	struct dns_answer_info nx = {.kind = DNS_KIND_NXDOMAIN, .name_hash = 1};
	assert_int_equal(sent(r, "192.0.2.1", &nx, 5, 100, NULL), 5);
	/* The next second, the limit again. */
	assert_int_equal(sent(r, "192.0.2.1", &a, 30, 101, NULL), 10);
	/* IPv6: a /56 counts as one. */
	assert_int_equal(sent(r, "2001:db8:0:1::1", &a, 10, 101, NULL), 10);
	assert_int_equal(sent(r, "2001:db8:0:ff::1", &a, 3, 101, NULL), 0);
	/* A valid cookie is never limited. */
	struct dns_answer_info c = a;
	c.cookie_valid = true;
	assert_int_equal(sent(r, "192.0.2.1", &c, 100, 101, NULL), 100);
	rrl_free(r);

	/* Off: everything is sent. slip 0: nothing slips. */
	assert_int_equal(rrl_new(&r, 0, 2, 24, 56, 1024), NP_OK);
	assert_int_equal(sent(r, "192.0.2.1", &a, 1000, 100, NULL), 1000);
	rrl_free(r);
	assert_int_equal(rrl_new(&r, 1, 0, 24, 56, 1024), NP_OK);
	slipped = 0;
	assert_int_equal(sent(r, "192.0.2.1", &a, 10, 100, &slipped), 1);
	assert_int_equal(slipped, 0);
	rrl_free(r);
	assert_int_equal(rrl_new(&r, 1, 0, 24, 56, 1000), NP_EINVAL); /* not a power of two */
}

static void test_truncate(void **state)
{
	(void)state;
	uint8_t resp[64] = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 1};
	struct dns_answer_info info = {.question_end = 12 + 5 + 4};
	size_t n = rrl_truncate(resp, 50, &info);
	assert_int_equal(n, 21);
	assert_int_equal(resp[2] & 0x02, 0x02); /* TC */
	assert_int_equal(resp[7], 0);
	assert_int_equal(resp[11], 0);
}

static void test_cookies(void **state)
{
	(void)state;
	uint8_t secret[COOKIE_SECRET_LEN] = {1, 2, 3};
	uint8_t opt[COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN] = {9, 8, 7, 6, 5, 4, 3, 2};
	struct np_addr a = addr("192.0.2.1"), b = addr("192.0.2.2");
	cookie_make(secret, opt, &a, 1000, opt + COOKIE_CLIENT_LEN);
	assert_true(cookie_valid(secret, opt, sizeof(opt), &a, 1000));
	assert_true(cookie_valid(secret, opt, sizeof(opt), &a, 1000 + COOKIE_MAX_AGE));
	assert_false(cookie_valid(secret, opt, sizeof(opt), &a, 1001 + COOKIE_MAX_AGE));
	assert_true(cookie_valid(secret, opt, sizeof(opt), &a, 1000 - COOKIE_MAX_AHEAD));
	assert_false(cookie_valid(secret, opt, sizeof(opt), &a, 999 - COOKIE_MAX_AHEAD));
	/* Another address, another client cookie, a changed byte, a short one: not ours. */
	assert_false(cookie_valid(secret, opt, sizeof(opt), &b, 1000));
	opt[0] ^= 1;
	assert_false(cookie_valid(secret, opt, sizeof(opt), &a, 1000));
	opt[0] ^= 1;
	opt[sizeof(opt) - 1] ^= 1;
	assert_false(cookie_valid(secret, opt, sizeof(opt), &a, 1000));
	assert_false(cookie_valid(secret, opt, COOKIE_CLIENT_LEN, &a, 1000));
	/* The 32-bit time wraps (RFC 1982 arithmetic). */
	cookie_make(secret, opt, &a, UINT32_MAX - 10, opt + COOKIE_CLIENT_LEN);
	assert_true(cookie_valid(secret, opt, sizeof(opt), &a, 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit_slip_and_networks),
	    cmocka_unit_test(test_truncate),
	    cmocka_unit_test(test_cookies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
