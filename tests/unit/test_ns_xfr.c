/* SPDX-License-Identifier: MIT */
/* Unit tests for zone transfers out: AXFR of the fixture zone in small messages, the
 * condensed IXFR from a journal, the ACL by address and by key through the TSIG hooks
 * (every message through the signing hook), and the pins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dns/tsig.h"
#include "dns_fixture.h"
#include "ns/query.h"
#include "ns/xfr.h"
#include "zone/journal.h"

#define KEY_NAME "xfr-key"

static struct zone_db *db;
static struct zone_pins pins;
static struct zone_version *dyn;
static struct np_addr allowed, stranger;
static uint8_t out[DNS_MAX_MSG];
static struct fx_resp resp;
static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";

static int setup(void **state)
{
	(void)state;
	db = fx_db_new();
	assert_non_null(db);
	db->generation = 7;
	zone_pins_init(&pins);
	dyn = (struct zone_version *)db->zones[1];
	dyn->conf = calloc(1, sizeof(*dyn->conf));
	assert_non_null(dyn->conf);
	assert_int_equal(cidr_parse("192.0.2.0/24", &dyn->conf->allow_transfer[0].net), NP_OK);
	dyn->conf->allow_transfer[1].is_key = true;
	np_strlcpy(dyn->conf->allow_transfer[1].key, KEY_NAME, CFG_NAME_MAX);
	dyn->conf->n_allow_transfer = 2;
	assert_int_equal(addr_parse("192.0.2.9", &allowed), NP_OK);
	assert_int_equal(addr_parse("198.51.100.9", &stranger), NP_OK);

	/* One change from serial 0 to the zone's: host's second A was 192.0.2.12. */
	struct zone_rr_in was[] = {
	    {DNS_TYPE_A, FX_HOST_TTL, 4, fx_a_host},
	    {DNS_TYPE_AAAA, FX_HOST_TTL, 16, fx_aaaa_host},
	    {DNS_TYPE_TXT, FX_HOST_TTL, 6, fx_txt_host},
	    {DNS_TYPE_MX, FX_HOST_TTL, sizeof(fx_mx_host), fx_mx_host},
	    {DNS_TYPE_A, FX_HOST_TTL, 4, (const uint8_t *)"\xc0\x00\x02\x0c"},
	};
	struct zone_node *old = fx_node("host.dyn.example", 0, was, 5);
	const struct zone_node *now = zone_find(dyn, old->data, old->name_len);
	assert_non_null(now);
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	assert_int_equal(zone_jentry_add_name(&buf, &len, &cap, old->data, old->name_len, old, now),
	                 NP_OK);
	struct zone_retired r = {0};
	dyn->journal =
	    zone_journal_next(NULL, zone_jentry_new(0, dyn->serial, buf, len), false, &r);
	assert_non_null(dyn->journal);
	free(buf);
	zone_node_free(old);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_db_free(db);
	zone_pins_destroy(&pins);
	return 0;
}

static size_t query(uint8_t *q, uint16_t qtype, const char *name, long ixfr_serial)
{
	struct fx_q fq = {.id = 0x4242, .name = name, .qtype = qtype};
	size_t len = fx_query(q, &fq);
	if (ixfr_serial >= 0) {
		wire_store_u16(q + 8, 1);
		memcpy(q + len, "\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x00\x00\x16\x00\x00", 14);
		len += 14;
		memset(q + len, 0, 20);
		wire_store_u32(q + len, (uint32_t)ixfr_serial);
		len += 20;
	}
	return len;
}

/* Runs a transfer to the end with messages of at most cap bytes; returns the records as
 * "type:rdata-length" marks in order, SOAs as "SOA<serial>". */
static unsigned stream(struct xfr *x, size_t cap, char marks[][32], unsigned max, unsigned *msgs)
{
	unsigned n = 0;
	bool done = false;
	*msgs = 0;
	while (!done) {
		size_t len = xfr_next(x, out, cap, &done);
		assert_true(len > 0 && len <= cap - XFR_TSIG_ROOM + TSIG_RR_MAX);
		assert_int_equal(fx_parse(out, len, &resp), 0);
		assert_int_equal(resp.h.id, 0x4242);
		assert_true((resp.h.flags & (DNS_FLAG_QR | DNS_FLAG_AA)) ==
		            (DNS_FLAG_QR | DNS_FLAG_AA));
		assert_true(resp.has_q);
		for (unsigned i = 0; i < resp.h.ancount && n < max; i++, n++) {
			const struct fx_rr *rr = &resp.rr[i];
			if (rr->type == DNS_TYPE_SOA) {
				assert_int_equal(fx_soa_check(out, len, rr), 0);
				snprintf(marks[n], 32, "SOA%u",
				         wire_load_u32(rr->rdata + rr->rdlen - 20));
			} else {
				snprintf(marks[n], 32, "%u:%u:%s", rr->type, rr->rdlen,
				         (const char *)rr->owner + 1);
			}
		}
		(*msgs)++;
	}
	xfr_end(x);
	return n;
}

static enum xfr_outcome begin(const uint8_t *q, size_t qlen, const struct np_addr *peer,
                              const struct xfr_hooks *hooks, size_t *len, struct xfr **x)
{
	struct xfr_req req = {.peer = peer, .tcp = true, .hooks = hooks, .pins = &pins};
	return xfr_begin(db, q, qlen, &req, out, sizeof(out), len, x);
}

static void test_axfr_whole_zone_in_small_messages(void **state)
{
	(void)state;
	uint8_t q[512];
	size_t qlen = query(q, DNS_TYPE_AXFR, "dyn.example", -1), len;
	struct xfr *x;
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_STREAM);
	char marks[64][32];
	unsigned msgs;
	unsigned n = stream(x, 4096, marks, 64, &msgs);
	/* 2 SOA + apex NS x2 and A + host 5 + home and *.home + x.y + big 16 + mx-only */
	assert_int_equal(n, 30);
	assert_string_equal(marks[0], "SOA1");
	assert_string_equal(marks[n - 1], "SOA1");
	for (unsigned i = 1; i < n - 1; i++)
		assert_true(strncmp(marks[i], "SOA", 3) != 0);
	assert_true(msgs >= 2); /* big's 16 TXT of 200 octets do not fit one 3.5 KiB message */
	bool wild = false;
	for (unsigned i = 0; i < n; i++)
		wild |= strstr(marks[i], "*") != NULL;
	assert_true(wild);
	assert_int_equal(zone_pins_oldest(&pins), UINT64_MAX);
}

static void test_ixfr_condensed_and_fallbacks(void **state)
{
	(void)state;
	uint8_t q[512];
	char marks[64][32];
	unsigned msgs;
	size_t len;
	struct xfr *x;
	/* From serial 0: the one removal and the one addition. */
	size_t qlen = query(q, DNS_TYPE_IXFR, "dyn.example", 0);
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_STREAM);
	unsigned n = stream(x, sizeof(out), marks, 64, &msgs);
	assert_int_equal(n, 6);
	assert_string_equal(marks[0], "SOA1");
	assert_string_equal(marks[1], "SOA0");
	assert_true(strncmp(marks[2], "1:4:", 4) == 0); /* A 192.0.2.12 gone */
	assert_string_equal(marks[3], "SOA1");
	assert_true(strncmp(marks[4], "1:4:", 4) == 0); /* A 192.0.2.11 new */
	assert_string_equal(marks[5], "SOA1");
	/* Older than the history: the whole zone. */
	qlen = query(q, DNS_TYPE_IXFR, "dyn.example", 4000000000L);
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_STREAM);
	n = stream(x, sizeof(out), marks, 64, &msgs);
	assert_int_equal(n, 30);
	/* Up to date: the SOA alone, in one message. */
	qlen = query(q, DNS_TYPE_IXFR, "dyn.example", 1);
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_ANSWERED);
	assert_int_equal(fx_parse(out, len, &resp), 0);
	assert_int_equal(resp.h.ancount, 1);
	assert_int_equal(resp.rr[0].type, DNS_TYPE_SOA);
	/* IXFR without its SOA: FORMERR. */
	qlen = query(q, DNS_TYPE_IXFR, "dyn.example", -1);
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_ANSWERED);
	assert_int_equal(fx_parse(out, len, &resp), 0);
	assert_int_equal(fx_rcode(&resp), DNS_RCODE_FORMERR);
}

/* ---- keys ---- */

static unsigned signed_msgs;
static int hook_error; /* what key_check returns */
static const char *hook_key = KEY_NAME;

static int key_check(void *ctx, const uint8_t *msg, size_t len, char key_name[CFG_NAME_MAX],
                     void **sign_state)
{
	(void)ctx;
	struct tsig_key k;
	struct tsig_rr rr;
	uint16_t err = 0;
	assert_int_equal(tsig_key_init(&k, KEY_NAME, secret, sizeof(secret) - 1), NP_OK);
	assert_int_equal(tsig_find(msg, len, &rr), NP_OK);
	if (hook_error != 0)
		return hook_error;
	if (tsig_verify(&k, msg, len, &rr, NULL, 0, (int64_t)time(NULL), &err) != NP_OK)
		return err;
	np_strlcpy(key_name, hook_key, CFG_NAME_MAX);
	*sign_state = &signed_msgs;
	return NP_OK;
}

static int sign(void *ctx, void *st, uint8_t *msg, size_t *len, size_t cap)
{
	(void)ctx;
	(void)msg;
	assert_ptr_equal(st, &signed_msgs);
	assert_true(cap - *len >= XFR_TSIG_ROOM);
	signed_msgs++;
	return NP_OK;
}

static unsigned ended;
static void sign_end(void *ctx, void *st)
{
	(void)ctx;
	(void)st;
	ended++;
}

static size_t signed_query(uint8_t *q, uint16_t qtype)
{
	size_t len = query(q, qtype, "dyn.example", -1);
	struct tsig_key k;
	assert_int_equal(tsig_key_init(&k, KEY_NAME, secret, sizeof(secret) - 1), NP_OK);
	struct tsig_vars v = {.time_signed = (uint64_t)time(NULL), .fudge = 300};
	assert_int_equal(tsig_sign(&k, q, &len, 512, NULL, 0, &v, NULL), NP_OK);
	return len;
}

static void test_acl_by_address_and_key(void **state)
{
	(void)state;
	uint8_t q[512];
	size_t len;
	struct xfr *x;
	/* A stranger: REFUSED, not authoritative, nothing pinned. */
	size_t qlen = query(q, DNS_TYPE_AXFR, "dyn.example", -1);
	assert_int_equal(begin(q, qlen, &stranger, NULL, &len, &x), XFR_ANSWERED);
	assert_null(x);
	assert_int_equal(fx_parse(out, len, &resp), 0);
	assert_int_equal(fx_rcode(&resp), DNS_RCODE_REFUSED);
	assert_int_equal(resp.h.flags & DNS_FLAG_AA, 0);
	assert_int_equal(resp.h.ancount, 0);
	/* Not the apex: NOTAUTH. other.test allows nobody: REFUSED. */
	qlen = query(q, DNS_TYPE_AXFR, "host.dyn.example", -1);
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_ANSWERED);
	assert_int_equal(fx_parse(out, len, &resp), 0);
	assert_int_equal(fx_rcode(&resp), DNS_RCODE_NOTAUTH);
	qlen = query(q, DNS_TYPE_AXFR, "other.test", -1);
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_ANSWERED);
	assert_int_equal(fx_parse(out, len, &resp), 0);
	assert_int_equal(fx_rcode(&resp), DNS_RCODE_REFUSED);

	/* Signed, no key hook: NOTAUTH with an unsigned TSIG saying BADKEY. */
	qlen = signed_query(q, DNS_TYPE_AXFR);
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_ANSWERED);
	assert_int_equal(fx_parse(out, len, &resp), 0);
	assert_int_equal(fx_rcode(&resp), DNS_RCODE_NOTAUTH);
	struct tsig_rr rr;
	assert_int_equal(tsig_find(out, len, &rr), NP_OK);
	assert_int_equal(rr.vars.error, TSIG_ERR_BADKEY);
	assert_int_equal(rr.mac_len, 0);

	/* With the hook: the listed key may, from anywhere, and every message is signed. */
	struct xfr_hooks hooks = {.key_check = key_check, .sign = sign, .sign_end = sign_end};
	signed_msgs = ended = 0;
	assert_int_equal(begin(q, qlen, &stranger, &hooks, &len, &x), XFR_STREAM);
	char marks[64][32];
	unsigned msgs;
	assert_int_equal(stream(x, 4096, marks, 64, &msgs), 30);
	assert_int_equal(signed_msgs, msgs);
	assert_int_equal(ended, 1);
	/* A key that verifies but is not listed: REFUSED. */
	hook_key = "other-key";
	assert_int_equal(begin(q, qlen, &allowed, &hooks, &len, &x), XFR_ANSWERED);
	assert_int_equal(fx_parse(out, len, &resp), 0);
	assert_int_equal(fx_rcode(&resp), DNS_RCODE_REFUSED);
	assert_int_equal(ended, 2);
	hook_key = KEY_NAME;
	/* The hook's verdict goes back: BADSIG. */
	hook_error = TSIG_ERR_BADSIG;
	assert_int_equal(begin(q, qlen, &allowed, &hooks, &len, &x), XFR_ANSWERED);
	assert_int_equal(tsig_find(out, len, &rr), NP_OK);
	assert_int_equal(rr.vars.error, TSIG_ERR_BADSIG);
	hook_error = 0;
	/* Over UDP it is not ours to answer (dns_answer refuses it). */
	struct xfr_req udp = {.peer = &allowed, .tcp = false, .pins = &pins};
	assert_int_equal(xfr_begin(db, q, qlen, &udp, out, sizeof(out), &len, &x), XFR_NOT);
}

static void test_pins_bound_the_transfers(void **state)
{
	(void)state;
	uint8_t q[512];
	size_t qlen = query(q, DNS_TYPE_AXFR, "dyn.example", -1), len;
	struct xfr *xs[ZONE_PINS_MAX];
	for (int i = 0; i < ZONE_PINS_MAX; i++)
		assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &xs[i]), XFR_STREAM);
	assert_int_equal(zone_pins_oldest(&pins), 7);
	struct xfr *x;
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &x), XFR_ANSWERED);
	assert_int_equal(fx_parse(out, len, &resp), 0);
	assert_int_equal(fx_rcode(&resp), DNS_RCODE_SERVFAIL);
	xfr_end(xs[0]);
	assert_int_equal(begin(q, qlen, &allowed, NULL, &len, &xs[0]), XFR_STREAM);
	for (int i = 0; i < ZONE_PINS_MAX; i++)
		xfr_end(xs[i]);
	assert_int_equal(zone_pins_oldest(&pins), UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_axfr_whole_zone_in_small_messages),
	    cmocka_unit_test(test_ixfr_condensed_and_fallbacks),
	    cmocka_unit_test(test_acl_by_address_and_key),
	    cmocka_unit_test(test_pins_bound_the_transfers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
