/* SPDX-License-Identifier: MIT */
/* Response rate limiting (ns/rrl.h): the limit per second, slip, networks counted as one,
 * names and kinds apart, cookies exempt, and cookies themselves (ns/cookie.h). */
#include <pthread.h>
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

/* The bucket word: a fresh or stale word starts the count again, the same key in the same
 * second counts on, slip alternates, and the count's field never overflows into the others. */
static void test_bucket_word(void **state)
{
	(void)state;
	const uint64_t key = UINT64_C(0xabcde00000000123); /* tag: the top 20 bits, 0xabcde */
	enum rrl_action act;
	uint64_t w = rrl_step(0, key, 7, 2, 2, &act);
	assert_int_equal(act, RRL_SEND);
	assert_true(w == rrl_word(0xabcde, 7, 1));
	w = rrl_step(w, key, 7, 2, 2, &act);
	assert_int_equal(act, RRL_SEND);
	w = rrl_step(w, key, 7, 2, 2, &act);
	assert_int_equal(act, RRL_DROP); /* first over the limit */
	w = rrl_step(w, key, 7, 2, 2, &act);
	assert_int_equal(act, RRL_SLIP); /* second: one in two slips */
	assert_int_equal(rrl_word_count(w), 4);
	/* The next second refills; so does another key's tag (the bucket is taken over). */
	uint64_t next = rrl_step(w, key, 8, 2, 2, &act);
	assert_int_equal(act, RRL_SEND);
	assert_true(next == rrl_word(0xabcde, 8, 1));
	next = rrl_step(w, UINT64_C(0x1234500000000123), 7, 2, 2, &act);
	assert_int_equal(act, RRL_SEND);
	assert_true(next == rrl_word(0x12345, 7, 1));
	/* Only the low 20 bits of the second are kept: 2^20 s later looks like the same second. */
	assert_true(rrl_word(1, 7 + (1u << 20), 0) == rrl_word(1, 7, 0));
	/* At the count's end it starts again at the rate: limited still, alternating still. */
	const uint32_t full = (1u << 24) - 1;
	w = rrl_word(0xabcde, 7, full);
	next = rrl_step(w, key, 7, 10, 2, &act);
	assert_int_equal(act, RRL_SLIP); /* limited: 2^24 - 1 - 10 + 1, even */
	assert_true(next == rrl_word(0xabcde, 7, 10));
	next = rrl_step(next, key, 7, 10, 2, &act);
	assert_int_equal(act, RRL_DROP);
	assert_int_equal(rrl_word_count(next), 11);
	/* A rate the count cannot hold is refused. */
	struct rrl *r;
	assert_int_equal(rrl_new(&r, 1u << 24, 2, 24, 56, 1024), NP_EINVAL);
	assert_int_equal(rrl_new(&r, 1000000, 2, 24, 56, 1024), NP_OK); /* the config's maximum */
	rrl_free(r);
}

enum { HAMMER_THREADS = 8, HAMMER_EACH = 50000, HAMMER_RATE = 1000 };

struct hammer {
	struct rrl *r;
	pthread_barrier_t *start;
	unsigned sent, slipped, dropped;
};

static void *hammer_one(void *arg)
{
	struct hammer *h = arg;
	struct np_addr a;
	if (addr_parse("192.0.2.1", &a) != NP_OK)
		return NULL;
	struct dns_answer_info info = {.kind = DNS_KIND_ANSWER, .name_hash = 42};
	pthread_barrier_wait(h->start);
	for (unsigned i = 0; i < HAMMER_EACH; i++) {
		switch (rrl_account(h->r, &a, &info, 500)) {
		case RRL_SEND: h->sent++; break;
		case RRL_SLIP: h->slipped++; break;
		case RRL_DROP: h->dropped++; break;
		}
	}
	return NULL;
}

/* Threads hammering one bucket in one second: every answer is counted exactly once, so
 * exactly `rate` are sent and one in two of the rest slips, however the threads interleave. */
static void test_threads_share_a_bucket(void **state)
{
	(void)state;
	struct rrl *r;
	assert_int_equal(rrl_new(&r, HAMMER_RATE, 2, 24, 56, 1024), NP_OK);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, HAMMER_THREADS);
	struct hammer h[HAMMER_THREADS];
	pthread_t t[HAMMER_THREADS];
	for (int i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){.r = r, .start = &start};
		assert_int_equal(pthread_create(&t[i], NULL, hammer_one, &h[i]), 0);
	}
	unsigned sent = 0, slipped = 0, dropped = 0;
	for (int i = 0; i < HAMMER_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		sent += h[i].sent;
		slipped += h[i].slipped;
		dropped += h[i].dropped;
	}
	pthread_barrier_destroy(&start);
	const unsigned total = HAMMER_THREADS * HAMMER_EACH, over = total - HAMMER_RATE;
	assert_int_equal(sent + slipped + dropped, total);
	assert_int_equal(sent, HAMMER_RATE);
	assert_int_equal(slipped, over / 2);
	assert_int_equal(dropped, over - over / 2);
	rrl_free(r);
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

/* The two steps a UDP batch uses (rrl_prepare for every answer, then rrl_account_key for
 * each) count exactly as rrl_account does: same buckets, limit and slip. */
static void test_prepare_then_account(void **state)
{
	(void)state;
	/* Each table hashes with its own random key: with few buckets two of the test's keys
	 * share one in a table now and then, and the two tables then count differently. */
	struct rrl *one, *two;
	assert_int_equal(rrl_new(&one, 10, 2, 24, 56, 1 << 20), NP_OK);
	assert_int_equal(rrl_new(&two, 10, 2, 24, 56, 1 << 20), NP_OK);
	struct np_addr clients[3] = {addr("192.0.2.1"), addr("192.0.2.77"), addr("2001:db8::1")};
	struct dns_answer_info infos[4] = {
	    {.kind = DNS_KIND_ANSWER, .name_hash = 1},
	    {.kind = DNS_KIND_NXDOMAIN, .name_hash = 1},
	    {.kind = DNS_KIND_ERROR, .name_hash = 9},
	    {.kind = DNS_KIND_ANSWER, .name_hash = 1, .cookie_valid = true},
	};
	for (unsigned batch = 0; batch < 8; batch++) {
		uint64_t keys[12];
		for (unsigned i = 0; i < 12; i++)
			keys[i] = rrl_prepare(two, &clients[i % 3], &infos[i % 4]);
		for (unsigned i = 0; i < 12; i++) {
			enum rrl_action want = rrl_account(one, &clients[i % 3], &infos[i % 4], 50);
			enum rrl_action got =
			    rrl_account_key(two, keys[i], &clients[i % 3], &infos[i % 4], 50);
			assert_int_equal(got, want);
		}
	}
	/* Past the limit now; a valid cookie is still never limited. */
	uint64_t k = rrl_prepare(two, &clients[0], &infos[0]);
	assert_int_not_equal(rrl_account_key(two, k, &clients[0], &infos[0], 50), RRL_SEND);
	k = rrl_prepare(two, &clients[0], &infos[3]);
	assert_int_equal(rrl_account_key(two, k, &clients[0], &infos[3], 50), RRL_SEND);
	rrl_free(one);
	rrl_free(two);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit_slip_and_networks),
	    cmocka_unit_test(test_bucket_word),
	    cmocka_unit_test(test_threads_share_a_bucket),
	    cmocka_unit_test(test_truncate),
	    cmocka_unit_test(test_cookies),
	    cmocka_unit_test(test_prepare_then_account),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
