/* SPDX-License-Identifier: MIT */
/* Fuzz target for zone transfers out: any bytes in as a TCP request from an allowed
 * address, xfr_begin() and then every xfr_next() message out, against the small zone
 * database of tests/unit/dns_fixture.h (no journal: IXFR answers in AXFR form). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/dns_fixture.h"
#include "fuzz.h"
#include "ns/query.h"
#include "ns/xfr.h"

static struct zone_db *db;
static struct zone_pins pins;
static struct np_addr peer;
static uint8_t out[DNS_MAX_MSG];
static struct fx_resp resp;

/* Everyone may transfer both zones. */
static void setup(void)
{
	db = fx_db_new(); /* once, kept for the process (reachable: not a leak) */
	if (db == NULL)
		abort();
	db->generation = 1;
	zone_pins_init(&pins);
	for (uint32_t i = 0; i < db->n_zones; i++) {
		struct cfg_zone *cz = calloc(1, sizeof(*cz));
		if (cz == NULL || cidr_parse("0.0.0.0/0", &cz->allow_transfer[0].net) != NP_OK)
			abort();
		cz->n_allow_transfer = 1;
		((struct zone_version *)db->zones[i])->conf = cz;
	}
	if (addr_parse("192.0.2.9", &peer) != NP_OK)
		abort();
}

/* Every message: a response to the query, with the question, and parsing exactly. */
static void check_msg(const uint8_t *q, const uint8_t *r, size_t len)
{
	CHECK(len >= 12 && len <= DNS_MAX_MSG);
	CHECK(fx_parse(r, len, &resp) == 0);
	CHECK(resp.h.id == wire_load_u16(q));
	CHECK((resp.h.flags & DNS_FLAG_QR) != 0);
	CHECK((resp.h.flags & DNS_OPCODE_MASK) == 0);
	CHECK(resp.has_q);
	CHECK(resp.h.nscount == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (db == NULL)
		setup();
	struct xfr_req req = {.peer = &peer, .tcp = true, .hooks = NULL, .pins = &pins};
	struct xfr *x = NULL;
	size_t len = 0;
	enum xfr_outcome o = xfr_begin(db, data, size, &req, out, sizeof(out), &len, &x);
	if (o == XFR_NOT) {
		CHECK(x == NULL);
		return 0;
	}
	if (o == XFR_ANSWERED) {
		CHECK(x == NULL);
		check_msg(data, out, len);
		return 0;
	}
	CHECK(x != NULL);
	unsigned soas = 0, msgs = 0;
	bool done = false;
	while (!done) {
		len = xfr_next(x, out, sizeof(out), &done);
		CHECK(len > 0);
		check_msg(data, out, len);
		CHECK(fx_rcode(&resp) == DNS_RCODE_NOERROR && resp.h.ancount > 0);
		for (unsigned i = 0; i < resp.h.ancount; i++)
			if (resp.rr[i].type == DNS_TYPE_SOA) {
				CHECK(fx_soa_check(out, len, &resp.rr[i]) == 0);
				soas++;
			}
		CHECK(++msgs < 100);
	}
	/* The zone has no history: the whole zone between two SOAs, or an up-to-date SOA. */
	CHECK(soas == 2 || (soas == 1 && msgs == 1));
	xfr_end(x);
	/* The pin is released: every slot free again. */
	CHECK(zone_pins_oldest(&pins) == UINT64_MAX);
	return 0;
}
