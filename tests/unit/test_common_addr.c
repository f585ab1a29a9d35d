/* SPDX-License-Identifier: MIT */
/* addr_network: the key that stands for a whole prefix (per-network limits and counts);
 * addr_format of IPv4, written by hand, against inet_ntop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <arpa/inet.h>

#include "common/addr.h"

static void net_is(const char *in, unsigned v4, unsigned v6, const char *want)
{
	struct np_addr a, w;
	char buf[INET6_ADDRSTRLEN];
	assert_int_equal(addr_parse(in, &a), NP_OK);
	assert_int_equal(addr_parse(want, &w), NP_OK);
	addr_network(&a, v4, v6);
	assert_string_equal(addr_format(&a, buf, sizeof(buf)), want);
	assert_memory_equal(&a, &w, sizeof(a)); /* the unused bytes are zero too */
}

static void test_network(void **state)
{
	(void)state;
	net_is("192.0.2.77", 24, 64, "192.0.2.0");
	net_is("192.0.2.77", 32, 64, "192.0.2.77");
	net_is("192.0.2.77", 20, 64, "192.0.0.0");
	net_is("192.0.2.77", 0, 64, "0.0.0.0");
	net_is("2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::");
	net_is("2001:db8:1:2:3:4:5:6", 24, 48, "2001:db8:1::");
	net_is("2001:db8:1:2ff:3:4:5:6", 24, 56, "2001:db8:1:200::");
	net_is("2001:db8:1:2:3:4:5:6", 24, 128, "2001:db8:1:2:3:4:5:6");
	net_is("2001:db8:ffff::1", 24, 35, "2001:db8:e000::");
}

/* Every value of every byte, as inet_ntop writes it. */
static void test_format_ipv4(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		for (int pos = 0; pos < 4; pos++) {
			struct np_addr a = {.family = AF_INET};
			a.bytes[pos] = (uint8_t)v;
			a.bytes[(pos + 1) % 4] = (uint8_t)(255 - v);
			char want[INET_ADDRSTRLEN], got[INET_ADDRSTRLEN];
			assert_non_null(inet_ntop(AF_INET, a.bytes, want, sizeof(want)));
			assert_string_equal(addr_format(&a, got, sizeof(got)), want);
		}
	}
	/* Too short a buffer: as inet_ntop, nothing but an empty string. */
	struct np_addr a = {.family = AF_INET, .bytes = {255, 255, 255, 255}};
	char small[8] = "x";
	assert_string_equal(addr_format(&a, small, sizeof(small)), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_network),
	    cmocka_unit_test(test_format_ipv4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
