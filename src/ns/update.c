/* SPDX-License-Identifier: MIT */
/* RFC 2136 UPDATE: parsing and prescan. */
#include "ns/update.h"

#include <string.h>

#include "dns/constants.h"
#include "dns/msg.h"

bool update_name_in_zone(const uint8_t *name, size_t name_len, const uint8_t *zone, size_t zone_len)
{
	if (name_len < zone_len || memcmp(name + name_len - zone_len, zone, zone_len) != 0)
		return false;
	if (name_len == zone_len)
		return true;
	/* The zone's bytes must start at a label boundary of name. */
	size_t off = 0;
	while (off < name_len - zone_len)
		off += 1u + name[off];
	return off == name_len - zone_len;
}

/* Types that are never data (RFC 2136 3.4.1.2 and RFC 6895 meta types). */
static bool meta_type(uint16_t t)
{
	return t == DNS_TYPE_OPT || t == DNS_TYPE_TSIG || t == DNS_TYPE_TKEY || t >= 128 || t == 0;
}

/* Copies the rdata at c (rdlen bytes) into rr, uncompressing an MX exchange. */
static unsigned read_rdata(struct wire *c, uint16_t rdlen, struct update_rr *rr)
{
	size_t end = c->pos + rdlen;
	if (rdlen > wire_left(c))
		return DNS_RCODE_FORMERR;
	switch (rr->type) {
	case DNS_TYPE_A:
		if (rdlen != 4)
			return DNS_RCODE_FORMERR;
		break;
	case DNS_TYPE_AAAA:
		if (rdlen != 16)
			return DNS_RCODE_FORMERR;
		break;
	case DNS_TYPE_TXT: {
		/* One or more character-strings that tile the rdata exactly. */
		size_t off = 0;
		const uint8_t *p = c->buf + c->pos;
		if (rdlen == 0)
			return DNS_RCODE_FORMERR;
		while (off < rdlen)
			off += 1u + p[off];
		if (off != rdlen)
			return DNS_RCODE_FORMERR;
		break;
	}
	case DNS_TYPE_MX: {
		if (rdlen < 3)
			return DNS_RCODE_FORMERR;
		uint16_t pref = wire_u16(c);
		uint8_t name[DNS_NAME_MAX];
		int n = dns_name_read(c, NULL, name);
		if (n < 0 || c->pos != end || 2 + (size_t)n > sizeof(rr->rdata))
			return DNS_RCODE_FORMERR;
		wire_store_u16(rr->rdata, pref);
		memcpy(rr->rdata + 2, name, (size_t)n);
		rr->rdlen = (uint16_t)(2 + n);
		return DNS_RCODE_NOERROR;
	}
	default:
		break; /* kept as sent: such types are refused by policy, never stored */
	}
	if (rdlen > sizeof(rr->rdata))
		return DNS_RCODE_FORMERR;
	memcpy(rr->rdata, c->buf + c->pos, rdlen);
	rr->rdlen = rdlen;
	wire_skip(c, rdlen);
	return c->err != 0 ? DNS_RCODE_FORMERR : DNS_RCODE_NOERROR;
}

/* RFC 2136 3.2.1 for a prerequisite. */
static unsigned prereq_kind(const struct update_rr *rr, enum update_kind *k)
{
	if (rr->ttl != 0)
		return DNS_RCODE_FORMERR;
	switch (rr->rclass) {
	case DNS_CLASS_ANY:
		if (rr->rdlen != 0)
			return DNS_RCODE_FORMERR;
		*k = rr->type == DNS_TYPE_ANY ? UPD_NAME_IN_USE : UPD_RRSET_EXISTS;
		break;
	case DNS_CLASS_NONE:
		if (rr->rdlen != 0)
			return DNS_RCODE_FORMERR;
		*k = rr->type == DNS_TYPE_ANY ? UPD_NAME_NOT_IN_USE : UPD_RRSET_NOT_EXISTS;
		break;
	case DNS_CLASS_IN:
		if (rr->type == DNS_TYPE_ANY)
			return DNS_RCODE_FORMERR;
		*k = UPD_RRSET_VALUE;
		break;
	default:
		return DNS_RCODE_FORMERR;
	}
	if (rr->type != DNS_TYPE_ANY && meta_type(rr->type))
		return DNS_RCODE_FORMERR;
	return DNS_RCODE_NOERROR;
}

/* RFC 2136 3.4.1.2 for an update. */
static unsigned update_kind_of(const struct update_rr *rr, enum update_kind *k)
{
	switch (rr->rclass) {
	case DNS_CLASS_IN:
		if (meta_type(rr->type) || rr->type == DNS_TYPE_ANY)
			return DNS_RCODE_FORMERR;
		*k = UPD_ADD;
		return DNS_RCODE_NOERROR;
	case DNS_CLASS_ANY:
		if (rr->ttl != 0 || rr->rdlen != 0 ||
		    (rr->type != DNS_TYPE_ANY && meta_type(rr->type)))
			return DNS_RCODE_FORMERR;
		*k = rr->type == DNS_TYPE_ANY ? UPD_DEL_NAME : UPD_DEL_RRSET;
		return DNS_RCODE_NOERROR;
	case DNS_CLASS_NONE:
		if (rr->ttl != 0 || meta_type(rr->type) || rr->type == DNS_TYPE_ANY)
			return DNS_RCODE_FORMERR;
		*k = UPD_DEL_RR;
		return DNS_RCODE_NOERROR;
	default:
		return DNS_RCODE_FORMERR;
	}
}

unsigned update_parse(const uint8_t *msg, size_t end, struct update_msg *out)
{
	struct wire c = wire_init(msg, end);
	struct dns_hdr h;
	struct dns_question z;

	out->zone_len = 0;
	out->n_prereq = out->n_update = 0;
	dns_hdr_read(&c, &h);
	if (c.err != 0)
		return DNS_RCODE_FORMERR;
	out->id = h.id;
	/* 3.1.1: exactly one zone, of type SOA. */
	if (h.qdcount != 1 || dns_question_read(&c, &z) != NP_OK || z.qtype != DNS_TYPE_SOA)
		return DNS_RCODE_FORMERR;
	memcpy(out->zone, z.lname, z.name_len);
	out->zone_len = z.name_len;
	if (z.qclass != DNS_CLASS_IN)
		return DNS_RCODE_NOTAUTH; /* no zone of ours is in another class */
	if ((unsigned)h.ancount + h.nscount > UPDATE_MAX_RRS)
		return DNS_RCODE_FORMERR;

	unsigned total = (unsigned)h.ancount + h.nscount;
	for (unsigned i = 0; i < total; i++) {
		struct update_rr *rr = &out->rr[i];
		int n = dns_name_read(&c, NULL, rr->name);
		rr->type = wire_u16(&c);
		rr->rclass = wire_u16(&c);
		rr->ttl = wire_u32(&c);
		uint16_t rdlen = wire_u16(&c);
		if (n < 0 || c.err != 0)
			return DNS_RCODE_FORMERR;
		rr->name_len = (size_t)n;
		rr->rdlen = 0;
		if (rdlen > 0 && read_rdata(&c, rdlen, rr) != DNS_RCODE_NOERROR)
			return DNS_RCODE_FORMERR;
		unsigned rc = i < h.ancount ? prereq_kind(rr, &out->kind[i])
		                            : update_kind_of(rr, &out->kind[i]);
		if (rc != DNS_RCODE_NOERROR)
			return rc;
		/* An add or a value needs rdata; a class NONE delete names one RR. */
		if ((out->kind[i] == UPD_ADD || out->kind[i] == UPD_RRSET_VALUE ||
		     out->kind[i] == UPD_DEL_RR) &&
		    rr->rdlen == 0)
			return DNS_RCODE_FORMERR;
		if (!update_name_in_zone(rr->name, rr->name_len, out->zone, out->zone_len))
			return DNS_RCODE_NOTZONE;
		if (i < h.ancount)
			out->n_prereq++;
		else
			out->n_update++;
	}
	/* The additional section may hold only what the caller handles (OPT, the TSIG that
	 * end already excludes); records there carry no meaning for UPDATE. */
	for (unsigned i = 0; i < h.arcount; i++) {
		if (c.pos == end)
			break; /* the TSIG, cut off by end */
		if (dns_rr_skip(&c) < 0)
			return DNS_RCODE_FORMERR;
	}
	if (c.pos != end)
		return DNS_RCODE_FORMERR;
	return DNS_RCODE_NOERROR;
}

bool update_is_update(const uint8_t *msg, size_t len)
{
	return len >= DNS_HDR_LEN && (msg[2] & 0x80) == 0 &&
	       ((wire_load_u16(msg + 2) & DNS_OPCODE_MASK) >> 11) == DNS_OPCODE_UPDATE;
}

size_t update_servfail(const uint8_t *msg, uint8_t *out)
{
	memcpy(out, msg, 4);
	out[2] |= 0x80;
	out[3] = (uint8_t)((out[3] & 0xF0) | DNS_RCODE_SERVFAIL);
	memset(out + 4, 0, DNS_HDR_LEN - 4);
	return DNS_HDR_LEN;
}

size_t update_answer(uint8_t *out, size_t cap, uint16_t id, unsigned rcode, const uint8_t *zone,
                     size_t zone_len)
{
	struct wire_out w = wire_out_init(out, cap);
	wire_put_u16(&w, id);
	wire_put_u16(&w, (uint16_t)(DNS_FLAG_QR | (DNS_OPCODE_UPDATE << 11) | (rcode & 0xF)));
	wire_put_u16(&w, zone != NULL ? 1 : 0);
	wire_put_u16(&w, 0);
	wire_put_u16(&w, 0);
	wire_put_u16(&w, 0);
	if (zone != NULL) {
		wire_put_bytes(&w, zone, zone_len);
		wire_put_u16(&w, DNS_TYPE_SOA);
		wire_put_u16(&w, DNS_CLASS_IN);
	}
	return w.err != 0 ? 0 : w.pos;
}
