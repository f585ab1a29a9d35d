/* SPDX-License-Identifier: MIT */
/* The authoritative query path: parse a query, find the node, copy pre-rendered RRsets.
 * No allocation, no lock, no system call: everything lives in resp or on the stack (a
 * signed query, which is refused, reads the clock once). In a signed zone a query with
 * the DO bit gets the RRSIGs the publisher made along with the RRsets; the one exception
 * to the rule is its negative answers, whose NSEC record (compact denial, RFC 9824) is
 * signed here, through a bounded cache (dnssec/zone.h) with a striped lock. */
#include "ns/query.h"

#include <string.h>
#include <time.h>

#include "dns/msg.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dns/wire.h"
#include "dnssec/sign.h"
#include "dnssec/zone.h"
#include "ns/cookie.h"

/* What one response is made of, gathered before anything is written. */
struct reply {
	const uint8_t *query; /* the whole query, for its TSIG record */
	size_t query_len;
	uint8_t *buf;
	size_t cap;
	size_t limit; /* the response must not exceed this (UDP payload or cap) */
	uint16_t id;
	uint16_t flags;               /* QR, opcode, RD, CD from the query; AA, TC, rcode added */
	const struct dns_question *q; /* echoed, or NULL for a header-only reply */
	bool edns;                    /* add an OPT record */
	bool dnssec_ok;
	uint8_t ext_rcode; /* upper 8 bits of a 12-bit rcode (BADVERS) */
	uint16_t udp_max;
	/* Answer: an RRset copied verbatim. */
	const uint8_t *an;
	size_t an_len;
	uint16_t an_count;
	/* DO in a signed zone: the answer's RRSIGs, copied after it. */
	const uint8_t *an_sig;
	size_t an_sig_len;
	uint16_t an_sig_count;
	/* Authority: the zone's SOA, patched as it is copied. */
	const uint8_t *soa;
	size_t soa_len;
	/* DO in a signed zone: the SOA's RRSIGs (owner patched like the SOA's), then the
	 * compact denial: NSEC and its RRSIG, made for this answer. */
	const uint8_t *soa_sig;
	size_t soa_sig_len;
	uint16_t soa_sig_count;
	uint8_t deny[DNSSEC_DENY_MAX];
	size_t deny_len;
	/* DO, and the answer comes from a signed wildcard: its NSEC at "*.NAME" and that
	 * NSEC's RRSIG (zone_sigs.wild), whose owners become "*." and a pointer to NAME
	 * inside the question name, at wild_off. */
	const uint8_t *wnsec;
	size_t wnsec_len;
	size_t wild_off;
	uint32_t now;  /* the caller's clock (0: not read) */
	bool tcp;      /* the query came over TCP */
	bool truncate; /* answer TC=1 with no records whatever fits (a denial over budget) */
	const uint16_t *soa_ptr; /* its MNAME/RNAME pointers to patch (zone_node.soa_ptr) */
	size_t apex_off;         /* where the apex starts inside the echoed question name */
	/* The COOKIE option to answer with: the client's cookie and our server cookie. */
	bool cookie;
	uint8_t cookie_value[COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN];
	/* For rate limiting: what kind of answer, counted under which name. */
	enum dns_answer_kind kind;
	const uint8_t *kind_name; /* lower case; NULL: the question's */
	size_t kind_name_len;
	struct dns_answer_info *info; /* the caller's, or NULL */
};

/* The COOKIE option as it is written: code, length, value. */
#define COOKIE_OPT_LEN (4 + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)

/* Writes the response. When the records do not fit the limit the reply is truncated to
 * the question and OPT with TC=1 (RFC 2181 9: a client retries over TCP). Returns its
 * length, or 0 if even that does not fit the caller's buffer. */
static size_t reply_write(struct reply *r, unsigned rcode)
{
	size_t pos = DNS_HDR_LEN;
	size_t opt_len = r->edns ? DNS_OPT_RR_LEN + (r->cookie ? COOKIE_OPT_LEN : 0) : 0;
	size_t q_len = r->q != NULL ? (size_t)r->q->name_len + 4 : 0;
	uint16_t an_count = (uint16_t)(r->an_count + r->an_sig_count);
	uint16_t ns_count = r->soa != NULL ? 1 : 0;
	/* A wildcard's NSEC and RRSIG are stored with 2-octet owners and written with 4. */
	size_t wild_len = r->wnsec_len > 0 ? r->wnsec_len + 4 : 0;
	size_t body = r->an_len + r->an_sig_len + r->soa_len + r->soa_sig_len + r->deny_len +
	              wild_len;
	if (r->soa != NULL)
		ns_count = (uint16_t)(ns_count + r->soa_sig_count);
	if (r->deny_len > 0)
		ns_count = (uint16_t)(ns_count + 2);
	if (r->wnsec_len > 0)
		ns_count = (uint16_t)(ns_count + 2);

	if (pos + q_len + opt_len > r->limit)
		return 0;
	uint8_t *b = r->buf;
	if (r->q != NULL) {
		memcpy(b + pos, r->q->name, r->q->name_len);
		pos += r->q->name_len;
		wire_store_u16(b + pos, r->q->qtype);
		wire_store_u16(b + pos + 2, r->q->qclass);
		pos += 4;
	}
	if (r->info != NULL) {
		r->info->question_end = pos;
		r->info->kind = r->kind;
		r->info->qtype = r->q != NULL ? r->q->qtype : 0;
	}
	if (r->truncate || pos + body + opt_len > r->limit) {
		r->flags |= DNS_FLAG_TC;
		an_count = 0;
		ns_count = 0;
	} else {
		if (r->an_len > 0)
			memcpy(b + pos, r->an, r->an_len);
		pos += r->an_len;
		if (r->an_sig_len > 0)
			memcpy(b + pos, r->an_sig, r->an_sig_len);
		pos += r->an_sig_len;
		if (r->soa != NULL) {
			/* Owner, and MNAME/RNAME where they end with the apex: pointers to the
			 * apex inside the question name. TTL: the lower of the SOA TTL and
			 * MINIMUM, the negative-caching TTL (RFC 2308 3). */
			uint8_t *s = b + pos;
			uint16_t ptr = (uint16_t)(0xC000 | r->apex_off);
			memcpy(s, r->soa, r->soa_len);
			wire_store_u16(s, ptr);
			if (r->soa_ptr[0] != 0)
				wire_store_u16(s + r->soa_ptr[0], ptr);
			if (r->soa_ptr[1] != 0)
				wire_store_u16(s + r->soa_ptr[1], ptr);
			uint32_t ttl = wire_load_u32(s + 6);
			uint32_t minimum = wire_load_u32(s + r->soa_len - 4);
			wire_store_u32(s + 6, ttl < minimum ? ttl : minimum);
			pos += r->soa_len;
			/* Its RRSIGs: owner the apex, TTL the same as the SOA's. */
			for (size_t off = 0; off < r->soa_sig_len;) {
				uint8_t *g = b + pos + off;
				memcpy(g, r->soa_sig + off, 12);
				wire_store_u16(g, ptr);
				wire_store_u32(g + 6, ttl < minimum ? ttl : minimum);
				size_t rdlen = wire_load_u16(g + 10);
				memcpy(g + 12, r->soa_sig + off + 12, rdlen);
				off += 12 + rdlen;
			}
			pos += r->soa_sig_len;
		}
		memcpy(b + pos, r->deny, r->deny_len);
		pos += r->deny_len;
		for (size_t off = 0; off < r->wnsec_len;) {
			size_t rdlen = wire_load_u16(r->wnsec + off + 10);
			b[pos] = 1;
			b[pos + 1] = '*';
			wire_store_u16(b + pos + 2, (uint16_t)(0xC000 | r->wild_off));
			memcpy(b + pos + 4, r->wnsec + off + 2, 10 + rdlen);
			pos += 4 + 10 + rdlen;
			off += 12 + rdlen;
		}
	}
	if (r->edns) {
		b[pos] = 0; /* root owner */
		wire_store_u16(b + pos + 1, DNS_TYPE_OPT);
		wire_store_u16(b + pos + 3, r->udp_max);
		b[pos + 5] = r->ext_rcode;
		b[pos + 6] = 0; /* version 0: all we speak */
		wire_store_u16(b + pos + 7, r->dnssec_ok ? DNS_EDNS_FLAG_DO : 0);
		wire_store_u16(b + pos + 9, r->cookie ? COOKIE_OPT_LEN : 0);
		pos += DNS_OPT_RR_LEN;
		if (r->cookie) {
			wire_store_u16(b + pos, DNS_EDNS_OPT_COOKIE);
			wire_store_u16(b + pos + 2, sizeof(r->cookie_value));
			memcpy(b + pos + 4, r->cookie_value, sizeof(r->cookie_value));
			pos += COOKIE_OPT_LEN;
		}
	}
	wire_store_u16(b, r->id);
	wire_store_u16(b + 2, (uint16_t)(r->flags | (rcode & DNS_RCODE_MASK)));
	wire_store_u16(b + 4, r->q != NULL ? 1 : 0);
	wire_store_u16(b + 6, an_count);
	wire_store_u16(b + 8, ns_count);
	wire_store_u16(b + 10, r->edns ? 1 : 0);
	return pos;
}

/* The RRset a qtype asks for at node n, or NULL (NODATA). ANY gets one RRset only, the
 * first that exists in a fixed order (RFC 8482 4.1). */
static const struct zone_rrset *rrset_for(const struct zone_node *n, uint16_t qtype)
{
	static const enum zone_slot any_order[] = {ZS_A, ZS_AAAA, ZS_MX, ZS_TXT, ZS_SOA, ZS_NS};
	enum zone_slot s;
	switch (qtype) {
	case DNS_TYPE_A:
		s = ZS_A;
		break;
	case DNS_TYPE_AAAA:
		s = ZS_AAAA;
		break;
	case DNS_TYPE_MX:
		s = ZS_MX;
		break;
	case DNS_TYPE_TXT:
		s = ZS_TXT;
		break;
	case DNS_TYPE_SOA:
		s = ZS_SOA;
		break;
	case DNS_TYPE_NS:
		s = ZS_NS;
		break;
	case ZONE_TYPE_DNSKEY:
		s = ZS_DNSKEY;
		break;
	case ZONE_TYPE_CDS:
		s = ZS_CDS;
		break;
	case ZONE_TYPE_CDNSKEY:
		s = ZS_CDNSKEY;
		break;
	case DNS_TYPE_ANY:
		for (size_t i = 0; i < sizeof(any_order) / sizeof(any_order[0]); i++)
			if (n->rrsets[any_order[i]].len > 0)
				return &n->rrsets[any_order[i]];
		return NULL;
	default:
		return NULL; /* types outside the model exist nowhere: NODATA */
	}
	return n->rrsets[s].len > 0 ? &n->rrsets[s] : NULL;
}

/* A signed wildcard's records for the names below it (zone_sigs.wild): the RRSIG over
 * "*.NAME" covering type into *sig (NULL: none), and the NSEC with its RRSIG, the last two
 * records, into *nsec. */
static void wild_records(const struct zone_node *n, uint16_t type, const uint8_t **sig,
                         size_t *sig_len, const uint8_t **nsec, size_t *nsec_len)
{
	const uint8_t *p = n->data + zone_node_sigs(n)->wild.off, *end = p + zone_node_sigs(n)->wild.len;
	*sig = *nsec = NULL;
	*sig_len = *nsec_len = 0;
	while (p + 12 <= end) {
		size_t len = 12 + (size_t)wire_load_u16(p + 10);
		uint16_t rrtype = wire_load_u16(p + 2);
		if (rrtype == ZONE_TYPE_NSEC) {
			*nsec = p;
			*nsec_len = (size_t)(end - p);
			return;
		}
		if (rrtype == ZONE_TYPE_RRSIG && wire_load_u16(p + 12) == type) {
			*sig = p;
			*sig_len = len;
		}
		p += len;
	}
}

/* An answer from the wildcard host n for a name whose label below n sorts before "*"
 * ("!x.wild", "\001.wild"): the NSEC at "*.wild" does not cover it, so one that covers
 * just that name is signed for it (dnssec_cover), beside the wildcard's own. */
static void wild_cover(const struct zone_version *z, const struct zone_node *n, struct reply *r)
{
	const struct dns_question *q = r->q;
	if (z->dnssec == NULL || q->name_len <= n->name_len)
		return;
	/* The negative TTL, as the wildcard's NSEC has it. */
	const struct zone_rrset *w = &zone_node_sigs(n)->wild;
	const uint8_t *p = n->data + w->off, *end = p + w->len;
	uint32_t ttl = 0;
	for (; p + 12 <= end; p += 12 + (size_t)wire_load_u16(p + 10))
		if (wire_load_u16(p + 2) == ZONE_TYPE_NSEC)
			ttl = wire_load_u32(p + 6);
	uint32_t now = r->now != 0 ? r->now : (uint32_t)time(NULL);
	r->deny_len = dnssec_cover(z->dnssec, q->lname, q->name_len, n, ttl, now, r->tcp, r->deny);
	if (r->deny_len == DNSSEC_DENY_OVER_BUDGET) {
		r->deny_len = 0; /* as a compact denial past the budget: TC=1, never unsigned */
		r->truncate = true;
	}
}

/* Looks the question up in the zone and fills the answer or the authority SOA. Returns
 * the rcode. */
static unsigned lookup(const struct zone_version *z, struct reply *r)
{
	const struct dns_question *q = r->q;
	const struct zone_node *apex = z->apex_node;
	if (apex == NULL || apex->rrsets[ZS_SOA].count != 1)
		return DNS_RCODE_SERVFAIL; /* a zone without its SOA cannot answer */

	const struct zone_node *n = zone_find(z, q->lname, q->name_len);
	bool exact = n != NULL;
	if (n == NULL) {
		/* Find the closest encloser; ENTs guarantee that every ancestor of an existing
		 * name exists, so the first hit going up is it. */
		const uint8_t *p = q->lname;
		size_t len = q->name_len;
		const struct zone_node *enc = NULL;
		while (len > z->apex_len && enc == NULL) {
			len -= 1 + (size_t)p[0];
			p += 1 + (size_t)p[0];
			enc = zone_find(z, p, len);
		}
		if (enc != NULL && (enc->flags & ZONE_NODE_WILDCARD) != 0 &&
		    (enc->flags & (ZONE_NODE_APEX | ZONE_NODE_ENT)) == 0)
			n = enc; /* answers as if it were the qname: owners are 0xC00C anyway */
	}
	r->flags |= DNS_FLAG_AA;
	const struct zone_rrset *set = n != NULL ? rrset_for(n, q->qtype) : NULL;
	if (set != NULL) {
		/* Verbatim, the apex SOA included: its MNAME/RNAME pointers are stored as
		 * 0xC00C, and a node that holds it is found only by asking for the apex, so
		 * the question name at offset 12 is the apex they point at. */
		r->an = n->data + set->off;
		r->an_len = set->len;
		r->an_count = set->count;
		r->kind = DNS_KIND_ANSWER;
		const struct zone_rrset *sig = &zone_node_sigs(n)->set[set - n->rrsets];
		if (r->dnssec_ok && exact && sig->len > 0) {
			r->an_sig = n->data + sig->off;
			r->an_sig_len = sig->len;
			r->an_sig_count = sig->count;
		} else if (r->dnssec_ok && !exact && zone_node_sigs(n)->wild.len > 0) {
			/* From a wildcard: its RRSIG made over "*.NAME" (the labels field tells
			 * the validator), and the NSEC proving the name asked for does not
			 * exist (RFC 4035 3.1.3.3). */
			uint16_t type = zone_type_of_slot((enum zone_slot)(set - n->rrsets));
			wild_records(n, type, &r->an_sig, &r->an_sig_len, &r->wnsec,
			             &r->wnsec_len);
			r->an_sig_count = r->an_sig != NULL ? 1 : 0;
			if (r->an_sig == NULL)
				r->wnsec_len = 0;
			r->wild_off = DNS_HDR_LEN + (size_t)q->name_len - n->name_len;
			if (r->an_sig != NULL)
				wild_cover(z, n, r);
		}
		return DNS_RCODE_NOERROR;
	}
	const struct zone_rrset *soa = &apex->rrsets[ZS_SOA];
	r->soa = apex->data + soa->off;
	r->soa_len = soa->len;
	r->soa_ptr = apex->soa_ptr;
	r->apex_off = DNS_HDR_LEN + (size_t)q->name_len - z->apex_len;
	if (r->dnssec_ok && n != NULL && !exact && zone_node_sigs(n)->wild.len > 0 &&
	    zone_node_sigs(apex)->set[ZS_SOA].len > 0) {
		/* NODATA from a wildcard: its NSEC says which types it has, and proves the
		 * name asked for does not exist (RFC 4035 3.1.3.4). */
		const uint8_t *unused;
		size_t unused_len;
		wild_records(n, 0, &unused, &unused_len, &r->wnsec, &r->wnsec_len);
		r->wild_off = DNS_HDR_LEN + (size_t)q->name_len - n->name_len;
		wild_cover(z, n, r);
		r->soa_sig = apex->data + zone_node_sigs(apex)->set[ZS_SOA].off;
		r->soa_sig_len = zone_node_sigs(apex)->set[ZS_SOA].len;
		r->soa_sig_count = zone_node_sigs(apex)->set[ZS_SOA].count;
	} else if (r->dnssec_ok && z->dnssec != NULL && zone_node_sigs(apex)->set[ZS_SOA].len > 0) {
		/* Compact denial (RFC 9824): NODATA and NXDOMAIN both become an NSEC at the
		 * question name whose bitmap says which types exist there (NXNAME: none), so
		 * nothing of the zone's other names can be walked. */
		const uint8_t *s = r->soa;
		uint32_t ttl = wire_load_u32(s + 6), minimum = wire_load_u32(s + r->soa_len - 4);
		uint32_t now = r->now != 0 ? r->now : (uint32_t)time(NULL);
		r->deny_len =
		    dnssec_deny_metered(z->dnssec, q->lname, q->name_len, n,
		                        ttl < minimum ? ttl : minimum, now, r->tcp, r->deny);
		if (r->deny_len == DNSSEC_DENY_OVER_BUDGET) {
			/* The zone's signing budget is spent (a random-subdomain flood): no
			 * signature, and no unsigned denial either, which a validator would
			 * take as bogus; TC=1 sends a real resolver to TCP, where it is
			 * signed, and a spoofed flood cannot follow. */
			r->deny_len = 0;
			r->truncate = true;
		} else if (r->deny_len > 0) {
			r->soa_sig = apex->data + zone_node_sigs(apex)->set[ZS_SOA].off;
			r->soa_sig_len = zone_node_sigs(apex)->set[ZS_SOA].len;
			r->soa_sig_count = zone_node_sigs(apex)->set[ZS_SOA].count;
		}
	}
	if (n != NULL) {
		r->kind = DNS_KIND_NODATA;
		return DNS_RCODE_NOERROR;
	}
	r->kind = DNS_KIND_NXDOMAIN;
	r->kind_name = q->lname + q->name_len - z->apex_len; /* the zone */
	r->kind_name_len = z->apex_len;
	/* RFC 9824 3: a compact denial answers NOERROR; the NXNAME type says the rest. */
	return r->deny_len > 0 || r->truncate ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN;
}

/* A query with a TSIG record. The query path holds no keys (no TSIG key may read what
 * anyone may read without one), so any key is unknown to it: NOTAUTH with the TSIG error
 * BADKEY, and that answer unsigned (RFC 8945 5.2.1 and 5.3.2). A TSIG record that does
 * not parse is FORMERR. */
static size_t answer_signed(struct reply *r)
{
	struct tsig_rr rr;
	if (tsig_find(r->query, r->query_len, &rr) != NP_OK)
		return reply_write(r, DNS_RCODE_FORMERR);
	r->an = r->soa = NULL;
	size_t len = reply_write(r, DNS_RCODE_NOTAUTH);
	if (len != 0 && !(r->flags & DNS_FLAG_TC) &&
	    tsig_append_unsigned(&rr, r->buf, &len, r->limit, TSIG_ERR_BADKEY,
	                         (uint64_t)time(NULL)) != NP_OK)
		len = reply_write(r, DNS_RCODE_NOTAUTH);
	return len;
}

void dns_answer_denial_stats(uint64_t *made, uint64_t *over_budget)
{
	dnssec_deny_stats(made, over_budget);
}

static const uint16_t counted_types[DNS_QTYPE_CLASSES - 1] = {
    DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX, DNS_TYPE_TXT, DNS_TYPE_SOA, DNS_TYPE_NS, DNS_TYPE_ANY};

unsigned dns_qtype_class(uint16_t qtype)
{
	unsigned c = 0;
	while (c < DNS_QTYPE_CLASSES - 1 && counted_types[c] != qtype)
		c++;
	return c;
}

const char *dns_qtype_class_name(unsigned c)
{
	static const char *const names[DNS_QTYPE_CLASSES] = {"A",   "AAAA", "MX",  "TXT",
	                                                     "SOA", "NS",   "ANY", "other"};
	return c < DNS_QTYPE_CLASSES ? names[c] : "other";
}

const char *dns_answer_rcode_name(unsigned rcode)
{
	return dns_rcode_name(rcode);
}

/* FNV-1a over a lower-case name and a type: which answers count together for rate
 * limiting. Collisions only make two names share a limit. */
static uint64_t name_hash(const uint8_t *name, size_t len, uint16_t type)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 0x100000001b3ULL;
	h = (h ^ (type >> 8)) * 0x100000001b3ULL;
	return (h ^ (type & 0xff)) * 0x100000001b3ULL;
}

static size_t answer_query(const struct zone_db *db, struct wire *c, const struct dns_hdr *h,
                           struct reply *r, const struct dns_answer_opts *opts)
{
	struct dns_question q;
	bool have_q = h->qdcount == 1 && dns_question_read(c, &q) == NP_OK;
	if (have_q)
		r->q = &q;
	if (!have_q || h->ancount != 0 || h->nscount != 0)
		return reply_write(r, DNS_RCODE_FORMERR);
	struct dns_edns e;
	if (dns_additional_read(c, h->arcount, &e) != NP_OK || wire_left(c) != 0)
		return reply_write(r, DNS_RCODE_FORMERR);

	if (e.tsig && opts->tsig_seen != NULL)
		*opts->tsig_seen = true;
	if (e.tsig)
		return answer_signed(r);
	if (e.present) {
		r->edns = true;
		r->dnssec_ok = e.dnssec_ok;
		if (e.cookie != NULL && opts->cookie_secret != NULL && opts->client != NULL) {
			if (opts->info != NULL)
				opts->info->cookie_valid =
				    cookie_valid(opts->cookie_secret, e.cookie, e.cookie_len,
				                 opts->client, opts->now);
			r->cookie = true;
			memcpy(r->cookie_value, e.cookie, COOKIE_CLIENT_LEN);
			cookie_make(opts->cookie_secret, e.cookie, opts->client, opts->now,
			            r->cookie_value + COOKIE_CLIENT_LEN);
		}
		if (!opts->tcp) {
			size_t want = e.payload < DNS_UDP_MIN ? DNS_UDP_MIN : e.payload;
			size_t ours = opts->udp_max < DNS_UDP_MIN ? DNS_UDP_MIN : opts->udp_max;
			size_t udp = want < ours ? want : ours;
			r->limit = udp < r->cap ? udp : r->cap;
		}
		if (e.version > 0) {
			/* BADVERS (RFC 6891 6.1.3): 16 = ext-rcode 1 with header rcode 0. */
			r->ext_rcode = DNS_RCODE_BADVERS >> 4;
			return reply_write(r, DNS_RCODE_BADVERS & DNS_RCODE_MASK);
		}
	}

	switch (q.qtype) {
	case DNS_TYPE_OPT:
	case DNS_TYPE_TSIG:
	case DNS_TYPE_TKEY:
		return reply_write(r, DNS_RCODE_FORMERR); /* only valid in other sections */
	default:
		break;
	}
	if (q.qclass != DNS_CLASS_IN)
		return reply_write(r, DNS_RCODE_REFUSED);
	switch (q.qtype) {
	case DNS_TYPE_AXFR:
	case DNS_TYPE_IXFR:
		return reply_write(r, DNS_RCODE_REFUSED); /* zone transfers are not served yet */
	case DNS_TYPE_MAILA:
	case DNS_TYPE_MAILB:
		return reply_write(r, DNS_RCODE_NOTIMP);
	default:
		break;
	}

	const struct zone_version *z = zone_db_find(db, q.lname, q.name_len);
	if (z == NULL)
		return reply_write(r, DNS_RCODE_REFUSED); /* not ours, and we never recurse */
	unsigned rcode = lookup(z, r);
	if (opts->info != NULL && r->kind != DNS_KIND_ERROR)
		opts->info->name_hash =
		    name_hash(r->kind_name != NULL ? r->kind_name : q.lname,
		              r->kind_name != NULL ? r->kind_name_len : q.name_len,
		              r->kind == DNS_KIND_NXDOMAIN ? 0 : q.qtype);
	return reply_write(r, rcode);
}

/* Opcodes we do not implement: NOTIMP, echoing the question when it parses. */
static size_t answer_notimp(struct wire *c, const struct dns_hdr *h, struct reply *r)
{
	struct dns_question q;
	if (h->qdcount == 1 && dns_question_read(c, &q) == NP_OK)
		r->q = &q;
	return reply_write(r, DNS_RCODE_NOTIMP);
}

size_t dns_answer(const struct zone_db *db, const uint8_t *query, size_t qlen, uint8_t *resp,
                  size_t cap, const struct dns_answer_opts *opts)
{
	if (qlen < DNS_HDR_LEN || cap < DNS_HDR_LEN)
		return 0;
	struct wire c = wire_init(query, qlen);
	struct dns_hdr h;
	dns_hdr_read(&c, &h);
	if ((h.flags & DNS_FLAG_QR) != 0)
		return 0; /* never answer a response: two servers could loop (CVE-2012-0206) */

	struct reply r = {
	    .query = query,
	    .query_len = qlen,
	    .buf = resp,
	    .cap = cap,
	    .limit = opts->tcp ? cap : (cap < DNS_UDP_MIN ? cap : DNS_UDP_MIN),
	    .id = h.id,
	    .flags = DNS_FLAG_QR | (h.flags & (DNS_OPCODE_MASK | DNS_FLAG_RD | DNS_FLAG_CD)),
	    .udp_max = opts->udp_max,
	    .now = opts->now,
	    .tcp = opts->tcp,
	    .kind = DNS_KIND_ERROR,
	    .info = opts->info,
	};
	if (opts->info != NULL)
		*opts->info = (struct dns_answer_info){.kind = DNS_KIND_ERROR};
	unsigned opcode = (h.flags & DNS_OPCODE_MASK) >> 11;
	switch (opcode) {
	case DNS_OPCODE_QUERY:
		return answer_query(db, &c, &h, &r, opts);
	default:
		return answer_notimp(&c, &h, &r);
	}
}

void dns_prefetch_slot(const struct zone_db *db, const uint8_t *query, size_t qlen,
                       struct dns_prefetch *p)
{
	p->z = NULL;
	if (qlen < DNS_HDR_LEN)
		return;
	struct wire c = wire_init(query, qlen);
	struct dns_hdr h;
	dns_hdr_read(&c, &h);
	struct dns_question q;
	if ((h.flags & (DNS_FLAG_QR | DNS_OPCODE_MASK)) != 0 || h.qdcount != 1 ||
	    dns_question_read(&c, &q) != NP_OK)
		return;
	p->z = zone_db_find(db, q.lname, q.name_len);
	if (p->z != NULL)
		p->slot = zone_find_prefetch_slot(p->z, q.lname, q.name_len);
}

void dns_prefetch_node(const struct dns_prefetch *p)
{
	if (p->z != NULL)
		zone_find_prefetch_node(p->z, p->slot);
}
