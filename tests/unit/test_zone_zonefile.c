/* SPDX-License-Identifier: MIT */
/* Tests of the master-file reader and writer: syntax cases, errors with line numbers, and
 * a write -> read round trip. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "zone/zone.h"
#include "zone/zonefile.h"

#define MAX_GOT 64

struct got_rr {
	char owner[256];
	char origin[256];
	uint16_t type;
	uint32_t ttl;
	bool ttl_default;
	uint16_t rdlen;
	uint8_t rdata[ZONE_MAX_RDATA];
	unsigned line;
};

struct got {
	struct got_rr rr[MAX_GOT];
	size_t n;
};

static int collect(const struct zonefile_rr *rr, void *ctx)
{
	struct got *g = ctx;
	if (g->n == MAX_GOT)
		return -1;
	struct got_rr *o = &g->rr[g->n++];
	np_strlcpy(o->owner, rr->owner, sizeof(o->owner));
	np_strlcpy(o->origin, rr->origin, sizeof(o->origin));
	o->type = rr->type;
	o->ttl = rr->ttl;
	o->ttl_default = rr->ttl_default;
	o->rdlen = rr->rdlen;
	memcpy(o->rdata, rr->rdata, rr->rdlen);
	o->line = rr->line;
	return 0;
}

static char err[512];

static int parse(const char *text, const char *origin, struct got *g)
{
	memset(g, 0, sizeof(*g));
	err[0] = '\0';
	return zonefile_parse_mem(text, strlen(text), "z.zone", origin, 60, collect, g, err,
	                          sizeof(err));
}

static void expect_error(const char *text, int code, const char *msg)
{
	struct got *g = malloc(sizeof(*g));
	assert_int_equal(parse(text, "dyn.example", g), code);
	assert_string_equal(err, msg);
	free(g);
}

static void test_basic_syntax(void **state)
{
	(void)state;
	struct got *g = malloc(sizeof(*g));
	const char *text = "$ORIGIN dyn.example.\n"
	                   "$TTL 300\n"
	                   "; a comment line\n"
	                   "@ IN SOA ns1.dyn.example. hostmaster.dyn.example. (\n"
	                   "      1 ; serial\n"
	                   "      3600 600 1209600 60 )\n"
	                   "@ NS ns1.example.net.\n"
	                   "@ 120 A 192.0.2.1\n"
	                   "home IN 30 A 192.0.2.2 ; class before TTL\n"
	                   "\tAAAA 2001:DB8::1\n"
	                   "Office.Dyn.Example. 1h IN A 192.0.2.3\n"
	                   "mail MX 10 mx.example.net.\n"
	                   "mail MX 20 mx2\n"
	                   "txt TXT \"hello world\" unquoted \"a\\\"b\" \"\\065\\\\\"\n"
	                   "txt TXT ( \"part one\"\n"
	                   "          \"part two\" )\n"
	                   "\n";
	assert_int_equal(parse(text, NULL, g), NP_OK);
	assert_int_equal(g->n, 8);

	assert_string_equal(g->rr[0].owner, "dyn.example");
	assert_string_equal(g->rr[0].origin, "dyn.example");
	assert_int_equal(g->rr[0].type, DNS_TYPE_A);
	assert_int_equal(g->rr[0].ttl, 120);
	assert_false(g->rr[0].ttl_default);
	assert_int_equal(g->rr[0].line, 8);
	assert_memory_equal(g->rr[0].rdata, "\xc0\x00\x02\x01", 4);

	assert_string_equal(g->rr[1].owner, "home.dyn.example");
	assert_int_equal(g->rr[1].ttl, 30);

	/* Blank owner: the previous one; $TTL applies. */
	assert_string_equal(g->rr[2].owner, "home.dyn.example");
	assert_int_equal(g->rr[2].type, DNS_TYPE_AAAA);
	assert_int_equal(g->rr[2].ttl, 300);
	assert_int_equal(g->rr[2].rdlen, 16);
	assert_memory_equal(g->rr[2].rdata, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);

	assert_string_equal(g->rr[3].owner, "office.dyn.example");
	assert_int_equal(g->rr[3].ttl, 3600);

	assert_int_equal(g->rr[4].type, DNS_TYPE_MX);
	assert_int_equal(g->rr[4].rdlen, 2 + 16);
	assert_memory_equal(g->rr[4].rdata,
	                    "\x00\x0a\x02mx\x07"
	                    "example\x03net\x00",
	                    18);
	assert_memory_equal(g->rr[5].rdata,
	                    "\x00\x14\x03mx2\x03"
	                    "dyn\x07"
	                    "example\x00",
	                    19);

	assert_int_equal(g->rr[6].type, DNS_TYPE_TXT);
	const char want[] = "\x0bhello world\x08unquoted\x03"
	                    "a\"b\x02"
	                    "A\\";
	assert_int_equal(g->rr[6].rdlen, sizeof(want) - 1);
	assert_memory_equal(g->rr[6].rdata, want, sizeof(want) - 1);
	assert_int_equal(g->rr[7].line, 15);
	assert_memory_equal(g->rr[7].rdata, "\x08part one\x08part two", 18);
	free(g);
}

static void test_origin_and_default_ttl(void **state)
{
	(void)state;
	struct got *g = malloc(sizeof(*g));
	/* The caller's origin; no $TTL: the default, flagged. Relative $ORIGIN appends. */
	assert_int_equal(parse("a A 192.0.2.1\n$ORIGIN sub\nb A 192.0.2.2\n$ORIGIN .\nc. A "
	                       "192.0.2.3\n",
	                       "Dyn.Example.", g),
	                 NP_OK);
	assert_int_equal(g->n, 3);
	assert_string_equal(g->rr[0].owner, "a.dyn.example");
	assert_true(g->rr[0].ttl_default);
	assert_int_equal(g->rr[0].ttl, 60);
	assert_string_equal(g->rr[1].owner, "b.sub.dyn.example");
	assert_string_equal(g->rr[1].origin, "sub.dyn.example");
	assert_string_equal(g->rr[2].owner, "c");
	/* Wildcard owners are read as such. */
	assert_int_equal(parse("*.h 60 A 192.0.2.1\n", "dyn.example", g), NP_OK);
	assert_string_equal(g->rr[0].owner, "*.h.dyn.example");
	/* Empty input. */
	assert_int_equal(parse("", "dyn.example", g), NP_OK);
	assert_int_equal(g->n, 0);
	free(g);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("a A 192.0.2.1\nb CNAME a\n", NP_EMALFORMED,
	             "z.zone:2: unsupported record type 'CNAME'");
	expect_error("a A 192.0.2.256\n", NP_EMALFORMED, "z.zone:1: bad IPv4 address");
	expect_error("a A 192.0.2.1 192.0.2.2\n", NP_EMALFORMED, "z.zone:1: bad IPv4 address");
	expect_error("a AAAA 192.0.2.1\n", NP_EMALFORMED, "z.zone:1: bad IPv6 address");
	expect_error("a MX 70000 b\n", NP_EMALFORMED, "z.zone:1: MX takes a preference and a name");
	expect_error("a MX 1 *.b\n", NP_EMALFORMED, "z.zone:1: bad MX exchange '*.b'");
	expect_error("\n\na CH A 192.0.2.1\n", NP_EMALFORMED,
	             "z.zone:3: class CH: only IN is held");
	expect_error("a 1x A 192.0.2.1\n", NP_EMALFORMED, "z.zone:1: bad TTL '1x'");
	expect_error("a 2147483648 A 192.0.2.1\n", NP_EMALFORMED, "z.zone:1: bad TTL '2147483648'");
	expect_error("a 60\n", NP_EMALFORMED, "z.zone:1: missing record type");
	expect_error(" A 192.0.2.1\n", NP_EMALFORMED, "z.zone:1: no owner name and none before");
	expect_error("a TXT \"open\n", NP_EMALFORMED, "z.zone:1: unterminated quoted string");
	expect_error("a TXT \"x\\1\"\n", NP_EMALFORMED, "z.zone:1: bad escape in TXT string");
	expect_error("a TXT \"\\256\"\n", NP_EMALFORMED, "z.zone:1: bad escape in TXT string");
	expect_error("a TXT\n", NP_EMALFORMED, "z.zone:1: TXT needs at least one string");
	expect_error("a A (192.0.2.1\n\n", NP_EMALFORMED,
	             "z.zone:1: unbalanced '(' at end of file");
	expect_error("a A 192.0.2.1 )\n", NP_EMALFORMED, "z.zone:1: unbalanced ')'");
	expect_error("$INCLUDE other\n", NP_EMALFORMED,
	             "z.zone:1: unsupported directive '$INCLUDE'");
	expect_error("$TTL x\n", NP_EMALFORMED, "z.zone:1: $TTL takes one TTL (0..2147483647)");
	expect_error("bad_na!me A 192.0.2.1\n", NP_EMALFORMED, "z.zone:1: bad name 'bad_na!me'");
	expect_error("a\\.b A 192.0.2.1\n", NP_EMALFORMED, "z.zone:1: unsupported name 'a\\.b'");

	struct got *g = malloc(sizeof(*g));
	memset(g, 0, sizeof(*g));
	assert_int_equal(zonefile_parse_mem("a A 1.2.3.4\n", 12, "z.zone", NULL, 60, collect, g,
	                                    err, sizeof(err)),
	                 NP_EMALFORMED);
	assert_string_equal(err, "z.zone:1: relative name 'a' without $ORIGIN");
	assert_int_equal(zonefile_parse_mem("a\0 A 1.2.3.4\n", 13, "z.zone", "x", 60, collect, g,
	                                    err, sizeof(err)),
	                 NP_EMALFORMED);
	assert_string_equal(err, "z.zone:1: NUL byte");
	free(g);

	/* A 256-byte string and an over-long line. */
	char big[6000];
	int n = snprintf(big, sizeof(big), "a TXT \"");
	memset(big + n, 'x', 256);
	np_strlcpy(big + n + 256, "\"\n", sizeof(big) - (size_t)n - 256);
	expect_error(big, NP_ETOOBIG, "z.zone:1: TXT string longer than 255 bytes");
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	expect_error(big, NP_ETOOBIG, "z.zone:1: line longer than 4096 bytes");
}

static void test_rrset_limit(void **state)
{
	(void)state;
	char text[4096];
	size_t o = 0;
	/* Seventeen A records at one owner, split over two places in the file. */
	for (int i = 0; i < 17; i++) {
		if (i == 8)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "b A 192.0.2.99\n");
		o += (size_t)snprintf(text + o, sizeof(text) - o, "a A 192.0.2.%d\n", i + 1);
	}
	char msg[128];
	snprintf(msg, sizeof(msg), "z.zone:18: more than %d records of one type at a.dyn.example",
	         ZONE_MAX_RRS_PER_TYPE);
	expect_error(text, NP_ETOOBIG, msg);
}

static void test_rdata_limit(void **state)
{
	(void)state;
	/* Five 255-byte strings exceed ZONE_MAX_RDATA. */
	char *text = malloc(8192);
	size_t o = (size_t)snprintf(text, 8192, "a TXT (\n");
	for (int i = 0; i < 5; i++) {
		text[o++] = '"';
		memset(text + o, 'y', 255);
		o += 255;
		o += (size_t)snprintf(text + o, 8192 - o, "\"\n");
	}
	snprintf(text + o, 8192 - o, ")\n");
	char msg[128];
	snprintf(msg, sizeof(msg), "z.zone:1: TXT longer than %d bytes", ZONE_MAX_RDATA);
	expect_error(text, NP_ETOOBIG, msg);
	free(text);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct cfg_zone cz;
	memset(&cz, 0, sizeof(cz));
	np_strlcpy(cz.name, "dyn.example", sizeof(cz.name));
	np_strlcpy(cz.ns[0], "ns1.example.net", sizeof(cz.ns[0]));
	np_strlcpy(cz.ns[1], "ns2.example.net", sizeof(cz.ns[1]));
	cz.n_ns = 2;
	np_strlcpy(cz.contact, "hostmaster.dyn.example", sizeof(cz.contact));
	cz.soa_ttl = 3600;
	cz.refresh = 3600;
	cz.retry = 600;
	cz.expire = 1209600;
	cz.negative_ttl = 60;

	static const uint8_t a[] = {192, 0, 2, 7};
	static const uint8_t aaaa[] = {0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
	static const uint8_t mx[] = "\x00\x05\x04mail\x03"
	                            "dyn\x07"
	                            "example";
	static const uint8_t nullmx[] = {0, 0, 0};
	static const uint8_t txt[] = "\x05q\"\\\x01z\x00\x03"
	                             "end";
	struct {
		const char *owner;
		uint16_t type;
		const uint8_t *rd;
		size_t len;
	} in[] = {
	    {"dyn.example", DNS_TYPE_A, a, 4},
	    {"h.dyn.example", DNS_TYPE_AAAA, aaaa, 16},
	    {"h.dyn.example", DNS_TYPE_MX, mx, sizeof(mx)},
	    {"n.dyn.example", DNS_TYPE_MX, nullmx, 3},
	    {"t.dyn.example", DNS_TYPE_TXT, txt, sizeof(txt) - 1},
	};
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	assert_int_equal(zonefile_write_apex(f, &cz, 42), NP_OK);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(
		    zonefile_write_rr(f, in[i].owner, in[i].type, 77, in[i].rd, in[i].len), NP_OK);
	/* Bad rdata is refused and prints nothing. */
	assert_int_equal(zonefile_write_rr(f, "x.dyn.example", DNS_TYPE_TXT, 1,
	                                   (const uint8_t *)"\x05"
	                                                    "ab",
	                                   3),
	                 NP_EMALFORMED);
	assert_int_equal(zonefile_write_rr(f, "x.dyn.example", DNS_TYPE_A, 1, a, 3), NP_EMALFORMED);
	fclose(f);
	assert_non_null(strstr(buf, "dyn.example.\t3600\tIN\tSOA\tns1.example.net.\t"
	                            "hostmaster.dyn.example.\t42 3600 600 1209600 60\n"));
	assert_non_null(strstr(buf, "dyn.example.\t3600\tIN\tNS\tns2.example.net.\n"));
	assert_non_null(
	    strstr(buf, "t.dyn.example.\t77\tIN\tTXT\t\"q\\\"\\\\\\001z\" \"\" \"end\"\n"));
	assert_null(strstr(buf, "x.dyn.example"));

	struct got *g = malloc(sizeof(*g));
	assert_int_equal(parse(buf, NULL, g), NP_OK);
	assert_int_equal(g->n, sizeof(in) / sizeof(in[0]));
	for (size_t i = 0; i < g->n; i++) {
		assert_string_equal(g->rr[i].owner, in[i].owner);
		assert_int_equal(g->rr[i].type, in[i].type);
		assert_int_equal(g->rr[i].ttl, 77);
		assert_int_equal(g->rr[i].rdlen, in[i].len);
		assert_memory_equal(g->rr[i].rdata, in[i].rd, in[i].len);
	}
	free(g);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic_syntax), cmocka_unit_test(test_origin_and_default_ttl),
	    cmocka_unit_test(test_errors),       cmocka_unit_test(test_rrset_limit),
	    cmocka_unit_test(test_rdata_limit),  cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
