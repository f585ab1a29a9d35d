/* SPDX-License-Identifier: MIT */
/* Test fixture shared by the zone and query unit tests and the fuzz_ns_pkt target: a small zone
 * database built with the real zone_* functions, a query builder and a response parser. */
#ifndef NP_TESTS_DNS_FIXTURE_H
#define NP_TESTS_DNS_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/str.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "zone/zone.h"

#define FX_SOA_TTL     3600
#define FX_NEG_TTL     60
#define FX_HOST_TTL    300
#define FX_BIG_TXTS    16
#define FX_BIG_TXT_LEN 200

/* Text to wire keeping the case (dns_name_from_text lowercases). No escapes. */
static inline int fx_wire(const char *text, uint8_t *out)
{
	size_t pos = 0, tl = strlen(text);
	if (tl > 0 && text[tl - 1] == '.')
		tl--;
	size_t start = 0;
	while (start < tl) {
		size_t end = start;
		while (end < tl && text[end] != '.')
			end++;
		out[pos++] = (uint8_t)(end - start);
		memcpy(out + pos, text + start, end - start);
		pos += end - start;
		start = end + 1;
	}
	out[pos++] = 0;
	return (int)pos;
}

static inline void fx_cfg_zone(struct cfg_zone *cz, const char *name)
{
	memset(cz, 0, sizeof(*cz));
	np_strlcpy(cz->name, name, sizeof(cz->name));
	snprintf(cz->ns[0], sizeof(cz->ns[0]), "ns1.%s", name);
	snprintf(cz->ns[1], sizeof(cz->ns[1]), "ns2.%s", name);
	cz->n_ns = 2;
	snprintf(cz->contact, sizeof(cz->contact), "hostmaster.%s", name);
	cz->ttl = FX_HOST_TTL;
	cz->soa_ttl = FX_SOA_TTL;
	cz->refresh = 3600;
	cz->retry = 600;
	cz->expire = 1209600;
	cz->negative_ttl = FX_NEG_TTL;
}

static inline struct zone_node *fx_node(const char *text, unsigned flags,
                                        const struct zone_rr_in *rrs, size_t n)
{
	uint8_t name[DNS_NAME_MAX];
	int len = dns_name_from_text(text, name, sizeof(name));
	if (len < 0)
		return NULL;
	return zone_node_new(name, (size_t)len, flags, rrs, n);
}

static const uint8_t fx_a_apex[4] = {192, 0, 2, 1};
static const uint8_t fx_a_host[4] = {192, 0, 2, 10};
static const uint8_t fx_a_host2[4] = {192, 0, 2, 11};
static const uint8_t fx_aaaa_host[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
static const uint8_t fx_txt_host[] = "\x05hello";
static const uint8_t fx_mx_host[] = "\x00\x0a\x04mail\x03"
                                    "dyn\x07"
                                    "example";
static const uint8_t fx_a_home[4] = {198, 51, 100, 7};
static const uint8_t fx_a_deep[4] = {203, 0, 113, 9};

/* other.test's SOA RNAME lies outside other.test, so it stays uncompressed. */
#define FX_OTHER_CONTACT "hostmaster.dyn.example"

/* dyn.example: apex (SOA, NS x2, A), host (A x2, AAAA, TXT, MX), home (A, wildcard),
 * x.y (A, so y is an ENT), big (16 TXT of 200 octets), mx-only (MX). other.test: apex only,
 * contact FX_OTHER_CONTACT. Both: MNAME ns1.<zone>. */
static inline int fx_build_dyn(struct zone_version **out)
{
	struct cfg_zone cz;
	uint8_t apex[DNS_NAME_MAX];
	static uint8_t big[FX_BIG_TXTS][FX_BIG_TXT_LEN];
	struct zone_rr_in rrs[FX_BIG_TXTS];

	fx_cfg_zone(&cz, "dyn.example");
	int alen = dns_name_from_text(cz.name, apex, sizeof(apex));
	struct zone_version *z = zone_version_new(apex, (size_t)alen, 1, 8);
	if (z == NULL)
		return -1;
	struct zone_rr_in extra = {DNS_TYPE_A, FX_HOST_TTL, 4, fx_a_apex};
	int ret = zone_version_insert(z, zone_node_new_apex(&cz, 2024010101, &extra, 1));
	struct zone_rr_in host[] = {
	    {DNS_TYPE_A, FX_HOST_TTL, 4, fx_a_host},
	    {DNS_TYPE_AAAA, FX_HOST_TTL, 16, fx_aaaa_host},
	    {DNS_TYPE_TXT, FX_HOST_TTL, 6, fx_txt_host},
	    {DNS_TYPE_MX, FX_HOST_TTL, sizeof(fx_mx_host), fx_mx_host},
	    {DNS_TYPE_A, FX_HOST_TTL, 4, fx_a_host2},
	};
	ret |= zone_version_insert(z, fx_node("host.dyn.example", 0, host, 5));
	struct zone_rr_in home = {DNS_TYPE_A, FX_HOST_TTL, 4, fx_a_home};
	ret |= zone_version_insert(z, fx_node("home.dyn.example", ZONE_NODE_WILDCARD, &home, 1));
	struct zone_rr_in deep = {DNS_TYPE_A, FX_HOST_TTL, 4, fx_a_deep};
	ret |= zone_version_insert(z, fx_node("x.y.dyn.example", 0, &deep, 1));
	for (int i = 0; i < FX_BIG_TXTS; i++) {
		big[i][0] = FX_BIG_TXT_LEN - 1;
		memset(big[i] + 1, 'a' + i, FX_BIG_TXT_LEN - 1);
		rrs[i] = (struct zone_rr_in){DNS_TYPE_TXT, FX_HOST_TTL, FX_BIG_TXT_LEN, big[i]};
	}
	ret |= zone_version_insert(z, fx_node("big.dyn.example", 0, rrs, FX_BIG_TXTS));
	struct zone_rr_in mx = {DNS_TYPE_MX, FX_HOST_TTL, sizeof(fx_mx_host), fx_mx_host};
	ret |= zone_version_insert(z, fx_node("mx-only.dyn.example", 0, &mx, 1));
	*out = z;
	return ret;
}

static inline struct zone_db *fx_db_new(void)
{
	struct zone_db *db = calloc(1, sizeof(*db) + 2 * sizeof(db->zones[0]));
	struct zone_version *dyn = NULL, *other = NULL;
	struct cfg_zone cz;
	uint8_t apex[DNS_NAME_MAX];
	if (db == NULL || fx_build_dyn(&dyn) != 0)
		return NULL;
	fx_cfg_zone(&cz, "other.test");
	np_strlcpy(cz.contact, FX_OTHER_CONTACT, sizeof(cz.contact));
	int alen = dns_name_from_text(cz.name, apex, sizeof(apex));
	other = zone_version_new(apex, (size_t)alen, 7, 4);
	if (other == NULL || zone_version_insert(other, zone_node_new_apex(&cz, 7, NULL, 0)) != 0)
		return NULL;
	db->zones[0] = other;
	db->zones[1] = dyn;
	db->n_zones = 2;
	return db;
}

static inline void fx_db_free(struct zone_db *db)
{
	if (db == NULL)
		return;
	for (uint32_t i = 0; i < db->n_zones; i++)
		zone_version_free_all((struct zone_version *)db->zones[i]);
	free(db);
}

/* A query: edns_payload 0 = no OPT. */
struct fx_q {
	uint16_t id;
	uint16_t flags;
	const char *name;
	uint16_t qtype, qclass;
	uint16_t edns_payload;
	uint8_t edns_version;
	uint16_t edns_flags;
};

static inline size_t fx_query(uint8_t *buf, const struct fx_q *q)
{
	size_t pos = 12;
	memset(buf, 0, 12);
	wire_store_u16(buf, q->id);
	wire_store_u16(buf + 2, q->flags);
	wire_store_u16(buf + 4, 1);
	pos += (size_t)fx_wire(q->name, buf + pos);
	wire_store_u16(buf + pos, q->qtype);
	wire_store_u16(buf + pos + 2, q->qclass != 0 ? q->qclass : DNS_CLASS_IN);
	pos += 4;
	if (q->edns_payload != 0) {
		wire_store_u16(buf + 10, 1);
		buf[pos] = 0;
		wire_store_u16(buf + pos + 1, DNS_TYPE_OPT);
		wire_store_u16(buf + pos + 3, q->edns_payload);
		buf[pos + 5] = 0;
		buf[pos + 6] = q->edns_version;
		wire_store_u16(buf + pos + 7, q->edns_flags);
		wire_store_u16(buf + pos + 9, 0);
		pos += 11;
	}
	return pos;
}

/* A parsed response. */
struct fx_rr {
	uint8_t owner[DNS_NAME_MAX]; /* lowercase */
	int owner_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

struct fx_resp {
	struct dns_hdr h;
	bool has_q;
	struct dns_question q;
	unsigned n_rr; /* an + ns + ar */
	struct fx_rr rr[80];
};

/* Parses the whole response; fails unless the counts match the content exactly. */
static inline int fx_parse(const uint8_t *buf, size_t len, struct fx_resp *r)
{
	struct wire c = wire_init(buf, len);
	memset(r, 0, sizeof(*r));
	dns_hdr_read(&c, &r->h);
	if (c.err != 0 || r->h.qdcount > 1)
		return -1;
	if (r->h.qdcount == 1) {
		if (dns_question_read(&c, &r->q) != 0)
			return -1;
		r->has_q = true;
	}
	unsigned total = (unsigned)r->h.ancount + r->h.nscount + r->h.arcount;
	if (total > 80)
		return -1;
	for (unsigned i = 0; i < total; i++) {
		struct fx_rr *rr = &r->rr[i];
		rr->owner_len = dns_name_read(&c, NULL, rr->owner);
		rr->type = wire_u16(&c);
		rr->rclass = wire_u16(&c);
		rr->ttl = wire_u32(&c);
		rr->rdlen = wire_u16(&c);
		rr->rdata = wire_take(&c, rr->rdlen);
		if (rr->owner_len < 0 || c.err != 0)
			return -1;
	}
	r->n_rr = total;
	return wire_left(&c) == 0 ? 0 : -1;
}

/* Decodes the SOA rdata of rr (parsed from the message buf, len bytes) with compression
 * pointers resolved: MNAME and RNAME lowercased into mname/rname (DNS_NAME_MAX bytes each,
 * lengths in *ml, *rl). Fails unless the names and the 20 octets of timers fill RDLENGTH
 * exactly. */
static inline int fx_soa_names(const uint8_t *buf, size_t len, const struct fx_rr *rr,
                               uint8_t *mname, int *ml, uint8_t *rname, int *rl)
{
	struct wire c = wire_init(buf, len);
	size_t start = (size_t)(rr->rdata - buf);
	c.pos = start;
	*ml = dns_name_read(&c, NULL, mname);
	*rl = dns_name_read(&c, NULL, rname);
	if (*ml < 0 || *rl < 0 || c.err != 0)
		return -1;
	return c.pos + 20 == start + rr->rdlen ? 0 : -1;
}

/* Checks an SOA record of a response against the fixture's zones: it decodes exactly, its
 * MNAME is ns1.<owner>, its RNAME hostmaster.<owner> (FX_OTHER_CONTACT for other.test). */
static inline int fx_soa_check(const uint8_t *buf, size_t len, const struct fx_rr *rr)
{
	uint8_t m[DNS_NAME_MAX], r[DNS_NAME_MAX], want[DNS_NAME_MAX];
	int ml, rl;
	if (rr->type != DNS_TYPE_SOA || fx_soa_names(buf, len, rr, m, &ml, r, &rl) != 0)
		return -1;
	char owner[DNS_NAME_MAX * 4 + 1], text[DNS_NAME_MAX * 4 + 16];
	if (dns_name_to_text(rr->owner, (size_t)rr->owner_len, owner, sizeof(owner)) < 0)
		return -1;
	snprintf(text, sizeof(text), "ns1.%s", owner);
	int wl = dns_name_from_text(text, want, sizeof(want));
	if (wl != ml || memcmp(want, m, (size_t)ml) != 0)
		return -1;
	if (strcmp(owner, "other.test") == 0)
		snprintf(text, sizeof(text), "%s", FX_OTHER_CONTACT);
	else
		snprintf(text, sizeof(text), "hostmaster.%s", owner);
	wl = dns_name_from_text(text, want, sizeof(want));
	return wl == rl && memcmp(want, r, (size_t)rl) == 0 ? 0 : -1;
}

static inline unsigned fx_rcode(const struct fx_resp *r)
{
	unsigned rc = r->h.flags & DNS_RCODE_MASK;
	for (unsigned i = 0; i < r->n_rr; i++)
		if (r->rr[i].type == DNS_TYPE_OPT)
			rc |= (r->rr[i].ttl >> 24) << 4;
	return rc;
}

#endif
