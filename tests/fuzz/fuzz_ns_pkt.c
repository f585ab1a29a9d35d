/* SPDX-License-Identifier: MIT */
/* Fuzz target for the whole query path: any bytes in, dns_answer() out, against a small
 * zone database built once with the zone_* functions (see tests/unit/dns_fixture.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/dns_fixture.h"
#include "fuzz.h"
#include "ns/query.h"


static struct zone_db *db;
static uint8_t out_udp[DNS_MAX_MSG], out_tcp[DNS_MAX_MSG], out_small[DNS_MAX_MSG];
static struct fx_resp resp;

/* What the query's own OPT says (independently of the server's answer). */
static int query_payload(const uint8_t *q, size_t len)
{
	struct wire c = wire_init(q, len);
	struct dns_hdr h;
	struct dns_question qq;
	struct dns_edns e;
	dns_hdr_read(&c, &h);
	if (c.err != 0 || h.qdcount != 1 || dns_question_read(&c, &qq) != 0 ||
	    dns_additional_read(&c, h.arcount, &e) != 0 || !e.present)
		return -1;
	return e.payload;
}

/* Invariants every response holds. Returns the response rcode (-1 when none). */
static int check_response(const uint8_t *q, size_t qlen, const uint8_t *r, size_t len, size_t cap)
{
	CHECK(len <= cap);
	if (qlen < 12 || (q[2] & 0x80) != 0) {
		CHECK(len == 0);
		return -1;
	}
	if (len == 0)
		return -1;
	CHECK(len >= 12);
	CHECK(fx_parse(r, len, &resp) == 0); /* counts match the content exactly */
	const struct dns_hdr *h = &resp.h;
	uint16_t qflags = wire_load_u16(q + 2);
	CHECK(h->id == wire_load_u16(q));
	CHECK((h->flags & DNS_FLAG_QR) != 0);
	CHECK((h->flags & (DNS_FLAG_Z | DNS_FLAG_RA | DNS_FLAG_AD)) == 0);
	CHECK((h->flags & DNS_OPCODE_MASK) == (qflags & DNS_OPCODE_MASK));
	CHECK((h->flags & DNS_FLAG_RD) == (qflags & DNS_FLAG_RD));
	CHECK((h->flags & DNS_FLAG_CD) == (qflags & DNS_FLAG_CD));
	CHECK(h->arcount <= 1);
	if (h->arcount == 1) {
		const struct fx_rr *opt = &resp.rr[resp.n_rr - 1];
		CHECK(opt->type == DNS_TYPE_OPT && opt->owner_len == 1 && opt->rdlen == 0);
		CHECK(((opt->ttl >> 16) & 0xff) == 0);
		CHECK((opt->ttl & 0x7fff) == 0);
	}
	if ((h->flags & DNS_FLAG_TC) != 0)
		CHECK(h->ancount == 0 && h->nscount == 0);
	if (resp.has_q) {
		/* The question comes back as sent, original case included. */
		CHECK(memcmp(r + 12, q + 12, resp.q.name_len) == 0);
		for (unsigned i = 0; i < h->ancount; i++) {
			CHECK(resp.rr[i].owner_len == resp.q.name_len);
			CHECK(memcmp(resp.rr[i].owner, resp.q.lname, resp.q.name_len) == 0);
			CHECK(resp.rr[i].rclass == DNS_CLASS_IN);
		}
	}
	unsigned rcode = fx_rcode(&resp);
	if (rcode == DNS_RCODE_NOERROR && (h->flags & DNS_FLAG_AA) != 0 &&
	    (h->flags & DNS_FLAG_TC) == 0) {
		/* An answer, or NODATA with exactly the SOA. */
		CHECK((h->ancount > 0) != (h->nscount == 1));
	}
	if (rcode == DNS_RCODE_NXDOMAIN && (h->flags & DNS_FLAG_TC) == 0)
		CHECK(h->ancount == 0 && h->nscount == 1);
	if (h->nscount == 1)
		CHECK(resp.rr[h->ancount].type == DNS_TYPE_SOA);
	/* Every SOA (answer or authority) decodes, its compressed MNAME/RNAME pointing at the
	 * right names, and fills its RDLENGTH exactly. */
	for (unsigned i = 0; i < resp.n_rr; i++)
		if (resp.rr[i].type == DNS_TYPE_SOA)
			CHECK(fx_soa_check(r, len, &resp.rr[i]) == 0);
	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		CHECK(h->ancount == 0 && h->nscount == 0);
	if ((qflags & DNS_OPCODE_MASK) == 0 && rcode != DNS_RCODE_FORMERR)
		CHECK(resp.has_q);
	return (int)rcode;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (db == NULL) {
		db = fx_db_new(); /* once, kept for the process (reachable: not a leak) */
		if (db == NULL)
			abort();
	}
	const struct dns_answer_opts udp = {.tcp = false, .udp_max = 1232};
	const struct dns_answer_opts tcp = {.tcp = true, .udp_max = 1232};

	/* The UDP path warms the cache from the raw query before answering it. */
	struct dns_prefetch pf;
	dns_prefetch_slot(db, data, size, &pf);
	dns_prefetch_node(&pf);

	size_t ulen = dns_answer(db, data, size, out_udp, sizeof(out_udp), &udp);
	int urc = check_response(data, size, out_udp, ulen, sizeof(out_udp));
	bool utc = ulen > 0 && (resp.h.flags & DNS_FLAG_TC) != 0;
	bool uopt = ulen > 0 && resp.h.arcount == 1;

	size_t tlen = dns_answer(db, data, size, out_tcp, sizeof(out_tcp), &tcp);
	int trc = check_response(data, size, out_tcp, tlen, sizeof(out_tcp));
	CHECK(urc == trc);
	CHECK((ulen == 0) == (tlen == 0));

	/* UDP: never over 512 without EDNS, nor over min(max(payload, 512), ours) with it. */
	int payload = query_payload(data, size);
	size_t limit = 512;
	if (uopt) {
		CHECK(payload >= 0);
		limit = payload < 512 ? 512 : (size_t)payload;
		if (limit > udp.udp_max)
			limit = udp.udp_max;
	}
	CHECK(ulen <= limit);
	/* Over TCP nothing this small zone holds needs truncating; when UDP did not
	 * truncate, both transports give the same bytes. */
	if (tlen > 0)
		CHECK((out_tcp[2] & (DNS_FLAG_TC >> 8)) == 0);
	if (ulen > 0 && !utc)
		CHECK(ulen == tlen && memcmp(out_udp, out_tcp, ulen) == 0);

	/* A TCP buffer of 512: truncation instead of overflow. */
	size_t slen = dns_answer(db, data, size, out_small, 512, &tcp);
	CHECK(check_response(data, size, out_small, slen, 512) == trc);
	return 0;
}
