/* SPDX-License-Identifier: MIT */
/* RFC 2136 UPDATE parsing (ns/update.h): zones and names, the kinds of prerequisites and
 * updates, and the checks that need no data. Messages are built here byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/constants.h"
#include "dns/name.h"
#include "ns/update.h"

static uint8_t msg[1024];
static size_t len;
static struct update_msg m;

/* A header (ZOCOUNT 1, PRCOUNT pr, UPCOUNT up) and the zone section of zone. */
static void start(const char *zone, unsigned pr, unsigned up)
{
	static const uint8_t hdr[12] = {0x12, 0x34, 0x28, 0x00, 0, 1};
	memcpy(msg, hdr, sizeof(hdr));
	msg[7] = (uint8_t)pr;
	msg[9] = (uint8_t)up;
	len = 12;
	int n = dns_name_from_text(zone, msg + len, DNS_NAME_MAX);
	assert_true(n > 0);
	len += (size_t)n;
	memcpy(msg + len, "\x00\x06\x00\x01", 4); /* SOA, IN */
	len += 4;
}

static void rr(const char *name, uint16_t type, uint16_t rclass, uint32_t ttl, const void *rdata,
               uint16_t rdlen)
{
	int n = dns_name_from_text(name, msg + len, DNS_NAME_MAX);
	assert_true(n > 0);
	len += (size_t)n;
	uint8_t f[10] = {(uint8_t)(type >> 8), (uint8_t)type,        (uint8_t)(rclass >> 8),
	                 (uint8_t)rclass,      (uint8_t)(ttl >> 24), (uint8_t)(ttl >> 16),
	                 (uint8_t)(ttl >> 8),  (uint8_t)ttl,         (uint8_t)(rdlen >> 8),
	                 (uint8_t)rdlen};
	memcpy(msg + len, f, sizeof(f));
	len += sizeof(f);
	if (rdlen > 0)
		memcpy(msg + len, rdata, rdlen);
	len += rdlen;
}

static void test_names_in_zone(void **state)
{
	(void)state;
	uint8_t zone[DNS_NAME_MAX], a[DNS_NAME_MAX], b[DNS_NAME_MAX], c[DNS_NAME_MAX];
	int z = dns_name_from_text("dyn.example", zone, sizeof(zone));
	int na = dns_name_from_text("home.dyn.example", a, sizeof(a));
	int nb = dns_name_from_text("xdyn.example", b, sizeof(b));
	int nc = dns_name_from_text("dyn.example", c, sizeof(c));
	assert_true(update_name_in_zone(a, (size_t)na, zone, (size_t)z));
	assert_true(update_name_in_zone(c, (size_t)nc, zone, (size_t)z));
	/* Same trailing bytes, but not at a label boundary: not in the zone. */
	assert_false(update_name_in_zone(b, (size_t)nb, zone, (size_t)z));
	assert_false(update_name_in_zone(zone, (size_t)z, a, (size_t)na));
}

static void test_kinds(void **state)
{
	(void)state;
	static const uint8_t addr[4] = {192, 0, 2, 1};
	start("dyn.example", 5, 4);
	rr("home.dyn.example", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	rr("home.dyn.example", DNS_TYPE_ANY, DNS_CLASS_NONE, 0, NULL, 0);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_NONE, 0, NULL, 0);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_IN, 0, addr, 4);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_IN, 60, addr, 4);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_ANY, 0, NULL, 0);
	rr("home.dyn.example", DNS_TYPE_ANY, DNS_CLASS_ANY, 0, NULL, 0);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_NONE, 0, addr, 4);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_NOERROR);
	assert_int_equal(m.n_prereq, 5);
	assert_int_equal(m.n_update, 4);
	static const enum update_kind want[] = {
	    UPD_NAME_IN_USE,      UPD_NAME_NOT_IN_USE, UPD_RRSET_EXISTS,
	    UPD_RRSET_NOT_EXISTS, UPD_RRSET_VALUE,     UPD_ADD,
	    UPD_DEL_RRSET,        UPD_DEL_NAME,        UPD_DEL_RR};
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(m.kind[i], want[i]);
	assert_int_equal(m.id, 0x1234);
}

static void test_formerr_and_notzone(void **state)
{
	(void)state;
	static const uint8_t addr[4] = {192, 0, 2, 1};
	/* A prerequisite with a TTL. */
	start("dyn.example", 1, 0);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_ANY, 5, NULL, 0);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
	/* An A record of 3 bytes. */
	start("dyn.example", 0, 1);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_IN, 60, addr, 3);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
	/* A delete with a TTL; an add of type ANY; a class that means nothing. */
	start("dyn.example", 0, 1);
	rr("home.dyn.example", DNS_TYPE_A, DNS_CLASS_ANY, 60, NULL, 0);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
	start("dyn.example", 0, 1);
	rr("home.dyn.example", DNS_TYPE_ANY, DNS_CLASS_IN, 60, addr, 4);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
	start("dyn.example", 0, 1);
	rr("home.dyn.example", DNS_TYPE_A, 3, 60, addr, 4);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
	/* TXT strings that do not tile their rdata. */
	start("dyn.example", 0, 1);
	rr("home.dyn.example", DNS_TYPE_TXT, DNS_CLASS_IN, 60,
	   "\x05"
	   "abc",
	   4);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
	/* Outside the zone. */
	start("dyn.example", 0, 1);
	rr("home.xdyn.example", DNS_TYPE_A, DNS_CLASS_IN, 60, addr, 4);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_NOTZONE);
	/* Two zones, and trailing bytes. */
	start("dyn.example", 0, 0);
	msg[5] = 2;
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
	start("dyn.example", 0, 0);
	msg[len++] = 0;
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
	/* More records than UPDATE_MAX_RRS: refused from the header alone. */
	start("dyn.example", 40, 40);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_FORMERR);
}

static void test_answer(void **state)
{
	(void)state;
	start("dyn.example", 0, 0);
	assert_int_equal(update_parse(msg, len, &m), DNS_RCODE_NOERROR);
	uint8_t out[300];
	size_t n = update_answer(out, sizeof(out), m.id, DNS_RCODE_NXRRSET, m.zone, m.zone_len);
	assert_int_equal(n, len);
	assert_int_equal(out[2], 0xa8); /* QR, opcode UPDATE */
	assert_int_equal(out[3], DNS_RCODE_NXRRSET);
	assert_memory_equal(out + 12, msg + 12, len - 12);
	assert_int_equal(update_answer(out, 12, m.id, 0, m.zone, m.zone_len), 0);
	assert_true(update_is_update(msg, len));
	msg[2] |= 0x80;
	assert_false(update_is_update(msg, len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_in_zone),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_formerr_and_notzone),
	    cmocka_unit_test(test_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
