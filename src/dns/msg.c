/* SPDX-License-Identifier: MIT */
/* DNS message parsing: header, question, additional section and EDNS. */
#include "dns/msg.h"

#include <string.h>

void dns_hdr_read(struct wire *c, struct dns_hdr *h)
{
	h->id = wire_u16(c);
	h->flags = wire_u16(c);
	h->qdcount = wire_u16(c);
	h->ancount = wire_u16(c);
	h->nscount = wire_u16(c);
	h->arcount = wire_u16(c);
}

int dns_question_read(struct wire *c, struct dns_question *q)
{
	int n = dns_name_read(c, q->name, q->lname);
	q->qtype = wire_u16(c);
	q->qclass = wire_u16(c);
	if (n < 0 || c->err != 0)
		return wire_fail(c);
	q->name_len = (uint8_t)n;
	return NP_OK;
}

int dns_rr_skip(struct wire *c)
{
	int n = dns_name_read(c, NULL, NULL);
	uint16_t type = wire_u16(c);
	wire_skip(c, 2 + 4); /* class, TTL */
	uint16_t rdlen = wire_u16(c);
	wire_skip(c, rdlen);
	if (n < 0 || c->err != 0)
		return wire_fail(c);
	return type;
}

/* The OPT rdata is a list of {code, length, value}; it must end exactly at rdlen. A COOKIE
 * option is kept in e (the first; a second is FORMERR). */
static int opt_options_check(const uint8_t *p, size_t len, struct dns_edns *e)
{
	struct wire o = wire_init(p, len);
	while (wire_left(&o) > 0) {
		uint16_t code = wire_u16(&o);
		uint16_t olen = wire_u16(&o);
		const uint8_t *value = wire_take(&o, olen);
		if (o.err != 0)
			return NP_EMALFORMED;
		if (code != DNS_EDNS_OPT_COOKIE)
			continue;
		/* RFC 7873 5.2.2: a COOKIE of any other length is FORMERR. */
		if ((olen != 8 && (olen < 16 || olen > 40)) || e->cookie != NULL)
			return NP_EMALFORMED;
		e->cookie = value;
		e->cookie_len = (uint8_t)olen;
	}
	return NP_OK;
}

int dns_additional_read(struct wire *c, unsigned count, struct dns_edns *e)
{
	memset(e, 0, sizeof(*e));
	for (unsigned i = 0; i < count; i++) {
		int n = dns_name_read(c, NULL, NULL);
		uint16_t type = wire_u16(c);
		uint16_t rclass = wire_u16(c);
		uint32_t ttl = wire_u32(c);
		uint16_t rdlen = wire_u16(c);
		const uint8_t *rdata = wire_take(c, rdlen);
		if (n < 0 || c->err != 0)
			return wire_fail(c);
		/* RFC 8945 5.1: a TSIG anywhere but last is FORMERR. */
		if (type == DNS_TYPE_TSIG) {
			if (i + 1 != count)
				return wire_fail(c);
			e->tsig = true;
			continue;
		}
		if (type != DNS_TYPE_OPT)
			continue;
		if (e->present || n != 1 || opt_options_check(rdata, rdlen, e) != 0)
			return wire_fail(c);
		e->present = true;
		e->payload = rclass;
		e->ext_rcode = (uint8_t)(ttl >> 24);
		e->version = (uint8_t)(ttl >> 16);
		e->dnssec_ok = (ttl & DNS_EDNS_FLAG_DO) != 0;
	}
	return NP_OK;
}
