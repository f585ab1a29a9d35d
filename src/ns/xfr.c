/* SPDX-License-Identifier: MIT */
/* Zone transfers out, one message at a time from a pinned zone version.
 *
 * Every message repeats the question (RFC 5936 2.2.1 allows it), so every owner name is
 * written as its labels below the apex followed by a pointer to the question name at
 * offset 12, the apex: the pre-rendered records (owner 0xC00C, the apex SOA's MNAME and
 * RNAME compressed the same way) are copied as they are. */
#include "ns/xfr.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/str.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dns/wire.h"
#include "ns/query.h"
#include "zone/journal.h"

enum phase {
	P_SOA_FIRST, /* the new SOA */
	P_SOA_OLD,   /* IXFR: the client's SOA, before the deletions */
	P_DELS,      /* IXFR: records gone since the client's serial */
	P_SOA_MID,   /* IXFR: the new SOA, before the additions */
	P_ADDS,      /* IXFR: records new since */
	P_NODES,     /* AXFR: every node */
	P_SOA_LAST,
	P_DONE,
};

/* One name an IXFR changes: its records at the client's serial and now. */
struct xfr_item {
	const uint8_t *name;
	uint8_t name_len;
	uint8_t n_old, n_new;
	const uint8_t *old_rrs, *new_rrs;
	size_t old_len, new_len;
};

struct xfr {
	const struct zone_version *z;
	struct zone_pins *pins;
	int pin;
	const struct xfr_hooks *hooks;
	void *sign_state;
	uint16_t id, flags;
	uint8_t qname[DNS_NAME_MAX]; /* as asked (its case kept) */
	uint8_t qname_len;
	uint16_t qtype;
	uint32_t old_serial; /* IXFR: the client's */
	enum phase phase;
	bool ixfr;    /* answered as a difference (else the whole zone) */
	bool too_big; /* the history had the serial, but the difference was the larger */
	long first;   /* IXFR: the journal entry to condense from, until condensed */
	char who[64]; /* the peer, for the log */
	/* Where the stream stands: a table slot, an RRset and an offset into it (AXFR), or
	 * an item and an offset into its records (IXFR). */
	uint32_t slot;
	int pass; /* over a node: its records, a wildcard's at "*.name", its NSEC3 chain's */
	int set;
	size_t off;
	struct xfr_item *items;
	size_t n_items, item;
};

/* ---- messages ---- */

static size_t put_question(uint8_t *b, const struct xfr *x)
{
	memcpy(b + DNS_HDR_LEN, x->qname, x->qname_len);
	size_t pos = DNS_HDR_LEN + x->qname_len;
	wire_store_u16(b + pos, x->qtype);
	wire_store_u16(b + pos + 2, DNS_CLASS_IN);
	return pos + 4;
}

static void put_header(uint8_t *b, uint16_t id, uint16_t flags, unsigned rcode, uint16_t qd,
                       uint16_t an)
{
	wire_store_u16(b, id);
	wire_store_u16(b + 2, (uint16_t)(flags | (rcode & DNS_RCODE_MASK)));
	wire_store_u16(b + 4, qd);
	wire_store_u16(b + 6, an);
	wire_store_u16(b + 8, 0);
	wire_store_u16(b + 10, 0);
}

/* Writes a record of name (in the zone; with wild, of "*.name"): its labels below the
 * apex, the pointer to the question, then body (type .. rdata). False when it does not
 * fit below limit. */
static bool put_rr_at(uint8_t *b, size_t *pos, size_t limit, const struct xfr *x,
                      const uint8_t *name, size_t name_len, bool wild, const uint8_t *body,
                      size_t body_len)
{
	size_t star = wild ? 2 : 0;
	size_t prefix = name_len - x->z->apex_len;
	if (*pos + star + prefix + 2 + body_len > limit)
		return false;
	uint8_t *p = b + *pos;
	if (wild) {
		p[0] = 1;
		p[1] = '*';
	}
	memcpy(p + star, name, prefix);
	wire_store_u16(p + star + prefix, 0xC00C);
	memcpy(p + star + prefix + 2, body, body_len);
	*pos += star + prefix + 2 + body_len;
	return true;
}

static bool put_rr(uint8_t *b, size_t *pos, size_t limit, const struct xfr *x, const uint8_t *name,
                   size_t name_len, const uint8_t *body, size_t body_len)
{
	return put_rr_at(b, pos, limit, x, name, name_len, false, body, body_len);
}

/* The apex SOA, with serial (the version's own, or the client's for IXFR). */
static bool put_soa(uint8_t *b, size_t *pos, size_t limit, const struct xfr *x, uint32_t serial)
{
	const struct zone_node *apex = x->z->apex_node;
	const struct zone_rrset *set = &apex->rrsets[ZS_SOA];
	if (*pos + set->len > limit)
		return false;
	memcpy(b + *pos, apex->data + set->off, set->len);
	wire_store_u32(b + *pos + set->len - 20, serial);
	*pos += set->len;
	return true;
}

/* ---- the whole zone ---- */

static const struct zone_node *slot_node(const struct zone_version *z, uint32_t i)
{
	return z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & (ZONE_PAGE_SLOTS - 1)];
}

enum { PASS_NAME, PASS_WILD, PASS_CHAIN };

/* The next record of the NSEC3 chain a signed node carries (zone_sigs.nsec3: each record
 * its owner's labels below the apex, then type .. rdata). */
static bool step_chain(struct xfr *x, const struct zone_node *n, uint8_t *b, size_t *pos,
                       size_t limit, unsigned *count)
{
	const struct zone_rrset *set = &zone_node_sigs(n)->nsec3;
	if (x->off >= set->len)
		return false;
	const uint8_t *rec = n->data + set->off + x->off;
	size_t plen = rec[0];
	size_t body = zone_jrr_len(rec + 1 + plen);
	if (*pos + plen + 2 + body > limit)
		return false;
	memcpy(b + *pos, rec + 1, plen);
	wire_store_u16(b + *pos + plen, 0xC00C);
	memcpy(b + *pos + plen + 2, rec + 1 + plen, body);
	*pos += plen + 2 + body;
	x->off += 1 + plen + body;
	(*count)++;
	return true;
}

/* An NSEC or its RRSIG (record from its type on): a wildcard's records for the primary's
 * own answers, which secondaries (denying with NSEC3) must not get. */
static bool is_nsec(const uint8_t *rr)
{
	uint16_t type = wire_load_u16(rr);
	return type == ZONE_TYPE_NSEC || (type == ZONE_TYPE_RRSIG && wire_load_u16(rr + 8) >= 2 &&
	                                  wire_load_u16(rr + 10) == ZONE_TYPE_NSEC);
}

/* The next record of the zone, apex SOA left out; a wildcard node's records twice, at its
 * name and at "*.name", then the node's part of the NSEC3 chain in a signed zone. False
 * when it does not fit; at the end the phase moves on. */
static bool step_nodes(struct xfr *x, uint8_t *b, size_t *pos, size_t limit, unsigned *count)
{
	const struct zone_version *z = x->z;
	for (; x->slot <= z->mask; x->slot++, x->set = 0, x->off = 0, x->pass = PASS_NAME) {
		const struct zone_node *n = slot_node(z, x->slot);
		if (n == NULL)
			continue;
		bool has_wild =
		    (n->flags & (ZONE_NODE_WILDCARD | ZONE_NODE_APEX)) == ZONE_NODE_WILDCARD &&
		    n->name_len + 2 <= DNS_NAME_MAX;
		if (x->pass == PASS_CHAIN) {
			if (step_chain(x, n, b, pos, limit, count))
				return true;
			if (x->off < zone_node_sigs(n)->nsec3.len)
				return false; /* the next record does not fit this message */
			continue;
		}
		for (;;) {
			/* Slots past ZS_COUNT are the RRSIGs of a signed zone (zone_sigs); at
			 * "*.name" a wildcard's are those made over it, with its NSEC (wild). */
			for (; x->set < 2 * ZS_COUNT; x->set++, x->off = 0) {
				bool wild = x->pass == PASS_WILD;
				const struct zone_rrset *set =
				    x->set < ZS_COUNT ? &n->rrsets[x->set]
				    : !wild           ? &zone_node_sigs(n)->set[x->set - ZS_COUNT]
				    : x->set == ZS_COUNT ? &zone_node_sigs(n)->wild
				                         : NULL;
				if (set == NULL ||
				    (x->set == ZS_SOA && (n->flags & ZONE_NODE_APEX) != 0))
					continue;
				while (x->off < set->len && wild && x->set == ZS_COUNT &&
				       is_nsec(n->data + set->off + x->off + 2))
					x->off += 2 + zone_jrr_len(n->data + set->off + x->off + 2);
				if (x->off >= set->len)
					continue;
				const uint8_t *rr = n->data + set->off + x->off;
				size_t body = zone_jrr_len(rr + 2);
				if (!put_rr_at(b, pos, limit, x, n->data, n->name_len, wild, rr + 2,
				               body))
					return false;
				x->off += 2 + body;
				(*count)++;
				return true;
			}
			x->set = 0;
			x->off = 0;
			if (x->pass == PASS_NAME && has_wild) {
				x->pass = PASS_WILD; /* now the same records at "*.name" */
				continue;
			}
			x->pass = PASS_CHAIN;
			if (step_chain(x, n, b, pos, limit, count))
				return true;
			if (x->off < zone_node_sigs(n)->nsec3.len)
				return false;
			break;
		}
	}
	x->phase = P_SOA_LAST;
	return true;
}

/* ---- the difference ---- */

static bool rr_in(const uint8_t *rrs, size_t len, const uint8_t *rr, size_t rr_len)
{
	for (size_t pos = 0; pos < len;) {
		size_t l = zone_jrr_len(rrs + pos);
		if (l == rr_len && memcmp(rrs + pos, rr, rr_len) == 0)
			return true;
		pos += l;
	}
	return false;
}

/* The next deleted (dels) or added record. */
static bool step_diff(struct xfr *x, uint8_t *b, size_t *pos, size_t limit, unsigned *count,
                      bool dels)
{
	for (; x->item < x->n_items; x->item++, x->off = 0) {
		const struct xfr_item *it = &x->items[x->item];
		const uint8_t *from = dels ? it->old_rrs : it->new_rrs;
		size_t from_len = dels ? it->old_len : it->new_len;
		const uint8_t *other = dels ? it->new_rrs : it->old_rrs;
		size_t other_len = dels ? it->new_len : it->old_len;
		while (x->off < from_len) {
			const uint8_t *rr = from + x->off;
			size_t l = zone_jrr_len(rr);
			if (rr_in(other, other_len, rr, l)) {
				x->off += l; /* in both: not part of the difference */
				continue;
			}
			if (!put_rr(b, pos, limit, x, it->name, it->name_len, rr, l))
				return false;
			x->off += l;
			(*count)++;
			return true;
		}
	}
	x->item = 0;
	x->off = 0;
	x->phase = dels ? P_SOA_MID : P_SOA_LAST;
	return true;
}

static uint64_t name_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Condenses the journal from entry `first` on into one item per name: its records before
 * the first entry that changed it and after the last (RFC 1995 4 allows sending the
 * condensed difference). NP_ETOOBIG when it would not be smaller than the whole zone
 * (more names changed than the zone holds). */
static int condense(struct xfr *x, long first)
{
	const struct zone_journal *j = x->z->journal;
	size_t total = 0;
	struct zone_jname jn;
	for (uint32_t e = (uint32_t)first; e < j->n; e++)
		for (size_t pos = 0; zone_jentry_next(j->e[e], &pos, &jn);)
			total++;
	/* Bounded by the journal's size; past a few touches per name the whole zone is the
	 * cheaper answer anyway. */
	if (total > 4 * (size_t)x->z->count + 1024)
		return NP_ETOOBIG;
	size_t size = 16;
	while (size < 2 * total)
		size *= 2;
	uint32_t *table = malloc(size * sizeof(*table)); /* item index + 1; 0 = empty */
	x->items = malloc((total + 1) * sizeof(*x->items));
	if (table == NULL || x->items == NULL) {
		free(table);
		return NP_ENOMEM;
	}
	memset(table, 0, size * sizeof(*table));
	for (uint32_t e = (uint32_t)first; e < j->n; e++) {
		for (size_t pos = 0; zone_jentry_next(j->e[e], &pos, &jn);) {
			size_t h = (size_t)name_hash(jn.name, jn.name_len) & (size - 1);
			while (table[h] != 0) {
				struct xfr_item *it = &x->items[table[h] - 1];
				if (it->name_len == jn.name_len &&
				    memcmp(it->name, jn.name, jn.name_len) == 0)
					break;
				h = (h + 1) & (size - 1);
			}
			if (table[h] != 0) {
				struct xfr_item *it = &x->items[table[h] - 1];
				it->n_new = jn.n_new;
				it->new_rrs = jn.new_rrs;
				it->new_len = jn.new_len;
				continue;
			}
			x->items[x->n_items] =
			    (struct xfr_item){jn.name,    jn.name_len, jn.n_old,   jn.n_new,
			                      jn.old_rrs, jn.new_rrs,  jn.old_len, jn.new_len};
			table[h] = (uint32_t)++x->n_items;
		}
	}
	free(table);
	/* The names the zone holds: its nodes, and as many NSEC3 owners when it is signed. */
	size_t names = (size_t)x->z->count * (x->z->dnssec != NULL ? 2 : 1);
	return x->n_items > names ? NP_ETOOBIG : NP_OK;
}

/* One line per transfer: what, which serials, to whom, and how. */
static void xfr_log(const struct xfr *x)
{
	char zone[1024];
	const struct zone_version *z = x->z;
	if (dns_name_to_text(z->apex, z->apex_len, zone, sizeof(zone)) < 0)
		zone[0] = '\0';
	if (x->qtype == DNS_TYPE_AXFR)
		log_info("xfr: AXFR of %s serial %u to %s", zone, z->serial, x->who);
	else if (x->ixfr)
		log_info("xfr: IXFR of %s from %u to %u to %s: incremental, %zu names", zone,
		         x->old_serial, z->serial, x->who, x->n_items);
	else if (x->phase == P_SOA_LAST)
		log_info("xfr: IXFR of %s from %u to %s: up to date", zone, x->old_serial, x->who);
	else
		log_info("xfr: IXFR of %s from %u to %u to %s: whole zone (%s)", zone,
		         x->old_serial, z->serial, x->who,
		         x->too_big ? "the difference is no smaller" : "serial not in the history");
}

/* ---- the request ---- */

static bool acl_allows_addr(const struct cfg_zone *cz, const struct np_addr *peer)
{
	for (unsigned i = 0; cz != NULL && peer != NULL && i < cz->n_allow_transfer; i++)
		if (!cz->allow_transfer[i].is_key &&
		    cidr_contains(&cz->allow_transfer[i].net, peer))
			return true;
	return false;
}

static bool acl_allows_key(const struct cfg_zone *cz, const char *key)
{
	for (unsigned i = 0; cz != NULL && i < cz->n_allow_transfer; i++)
		if (cz->allow_transfer[i].is_key && strcmp(cz->allow_transfer[i].key, key) == 0)
			return true;
	return false;
}

/* A one-message answer: the header and the question, and the SOA when soa. A signed
 * request whose signature could not be verified gets an unsigned TSIG carrying tsig_error
 * (BADKEY, BADSIG, BADTIME: RFC 8945 5.3.2); 0 = none. */
static size_t answer_short(const struct xfr *x, const uint8_t *query, size_t qlen, uint8_t *resp,
                           size_t cap, unsigned rcode, bool soa, uint16_t tsig_error)
{
	size_t pos = put_question(resp, x);
	uint16_t an = 0;
	if (soa && put_soa(resp, &pos, cap, x, x->z->serial))
		an = 1;
	put_header(resp, x->id, x->flags, rcode, 1, an);
	struct tsig_rr rr;
	if (tsig_error != 0 && tsig_find(query, qlen, &rr) == NP_OK &&
	    tsig_append_unsigned(&rr, resp, &pos, cap, tsig_error, (uint64_t)time(NULL)) != NP_OK) {
		pos = put_question(resp, x);
		put_header(resp, x->id, x->flags, rcode, 1, 0);
	}
	return pos;
}

/* Parses the IXFR's authority section: one SOA, whose serial is the client's. */
static int read_client_serial(struct wire *c, uint32_t *serial)
{
	if (dns_name_read(c, NULL, NULL) < 0)
		return NP_EMALFORMED;
	uint16_t type = wire_u16(c);
	wire_skip(c, 2 + 4);
	uint16_t rdlen = wire_u16(c);
	const uint8_t *rd = wire_take(c, rdlen);
	if (rd == NULL || type != DNS_TYPE_SOA || rdlen < 22)
		return NP_EMALFORMED;
	*serial = wire_load_u32(rd + rdlen - 20);
	return NP_OK;
}

enum xfr_outcome xfr_begin(const struct zone_db *db, const uint8_t *query, size_t qlen,
                           const struct xfr_req *req, uint8_t *resp, size_t cap, size_t *resp_len,
                           struct xfr **out)
{
	*out = NULL;
	if (!req->tcp || db == NULL || qlen < DNS_HDR_LEN || cap < DNS_UDP_MIN)
		return XFR_NOT;
	struct wire c = wire_init(query, qlen);
	struct dns_hdr h;
	struct dns_question q;
	dns_hdr_read(&c, &h);
	if ((h.flags & (DNS_FLAG_QR | DNS_OPCODE_MASK)) != 0 || h.qdcount != 1 ||
	    dns_question_read(&c, &q) != NP_OK ||
	    (q.qtype != DNS_TYPE_AXFR && q.qtype != DNS_TYPE_IXFR) || q.qclass != DNS_CLASS_IN)
		return XFR_NOT; /* dns_answer says what is wrong with it */

	struct xfr x = {
	    .id = h.id,
	    .flags = DNS_FLAG_QR | (h.flags & DNS_FLAG_RD),
	    .qname_len = q.name_len,
	    .qtype = q.qtype,
	    .pin = -1,
	};
	memcpy(x.qname, q.name, q.name_len);
	const struct zone_version *z = zone_db_find(db, q.lname, q.name_len);
	struct dns_edns e = {0};
	bool formerr = h.ancount != 0 || h.nscount != (q.qtype == DNS_TYPE_IXFR ? 1 : 0);
	if (!formerr && q.qtype == DNS_TYPE_IXFR)
		formerr = read_client_serial(&c, &x.old_serial) != NP_OK;
	if (!formerr)
		formerr = dns_additional_read(&c, h.arcount, &e) != NP_OK || wire_left(&c) != 0;
	if (formerr) {
		*resp_len = answer_short(&x, query, qlen, resp, cap, DNS_RCODE_FORMERR, false, 0);
		return XFR_ANSWERED;
	}
	if (z == NULL || z->apex_len != q.name_len || z->apex_node == NULL ||
	    z->apex_node->rrsets[ZS_SOA].count != 1) {
		*resp_len = answer_short(&x, query, qlen, resp, cap, DNS_RCODE_NOTAUTH, false, 0);
		return XFR_ANSWERED;
	}
	x.z = z;

	/* Who asks: a key (only the hook can verify one), or else an address. */
	const struct xfr_hooks *hooks = req->hooks;
	if (e.tsig) {
		struct tsig_rr rr;
		char key[CFG_NAME_MAX];
		int verdict = TSIG_ERR_BADKEY;
		if (tsig_find(query, qlen, &rr) != NP_OK) {
			*resp_len =
			    answer_short(&x, query, qlen, resp, cap, DNS_RCODE_FORMERR, false, 0);
			return XFR_ANSWERED;
		}
		if (hooks != NULL && hooks->key_check != NULL)
			verdict = hooks->key_check(hooks->ctx, query, qlen, key, &x.sign_state);
		if (verdict != NP_OK) {
			*resp_len =
			    answer_short(&x, query, qlen, resp, cap, DNS_RCODE_NOTAUTH, false,
			                 verdict > 0 ? (uint16_t)verdict : TSIG_ERR_BADKEY);
			return XFR_ANSWERED;
		}
		if (!acl_allows_key(z->conf, key)) {
			if (hooks->sign_end != NULL)
				hooks->sign_end(hooks->ctx, x.sign_state);
			*resp_len =
			    answer_short(&x, query, qlen, resp, cap, DNS_RCODE_REFUSED, false, 0);
			return XFR_ANSWERED;
		}
		x.hooks = hooks;
	} else if (!acl_allows_addr(z->conf, req->peer)) {
		*resp_len = answer_short(&x, query, qlen, resp, cap, DNS_RCODE_REFUSED, false, 0);
		return XFR_ANSWERED;
	}
	x.flags |= DNS_FLAG_AA;

	/* IXFR from the current serial or a newer one: the SOA alone (RFC 1995 2). */
	if (q.qtype == DNS_TYPE_IXFR && (int32_t)(x.old_serial - z->serial) >= 0 &&
	    x.hooks == NULL) {
		*resp_len = answer_short(&x, query, qlen, resp, cap, DNS_RCODE_NOERROR, true, 0);
		return XFR_ANSWERED;
	}

	struct xfr *s = malloc(sizeof(*s));
	if (s == NULL)
		goto servfail;
	*s = x;
	s->pins = req->pins;
	s->pin = zone_pin(req->pins, db->generation);
	if (s->pin < 0) {
		log_warn("xfr: too many transfers at once; refusing one");
		free(s);
		goto servfail;
	}
	s->phase = P_SOA_FIRST;
	s->first = -1;
	np_strlcpy(s->who, "?", sizeof(s->who));
	if (req->peer != NULL)
		addr_format(req->peer, s->who, sizeof(s->who));
	if (q.qtype == DNS_TYPE_IXFR && (int32_t)(x.old_serial - z->serial) >= 0)
		s->phase = P_SOA_LAST; /* up to date, signed: one SOA through the signer */
	else if (q.qtype == DNS_TYPE_IXFR)
		s->first = zone_journal_find(z->journal, x.old_serial);
	/* Condensing waits for the first xfr_next, outside the read-side section (the
	 * version is pinned): a long journal must not hold up the writer's grace period. */
	if (s->first < 0)
		xfr_log(s);
	*out = s;
	return XFR_STREAM;
servfail:
	if (x.hooks != NULL && x.hooks->sign_end != NULL)
		x.hooks->sign_end(x.hooks->ctx, x.sign_state);
	*resp_len = answer_short(&x, query, qlen, resp, cap, DNS_RCODE_SERVFAIL, false, 0);
	return XFR_ANSWERED;
}

/* One step of the stream: a record written, or a phase finished. False when the next
 * record does not fit this message. */
static bool step(struct xfr *x, uint8_t *b, size_t *pos, size_t limit, unsigned *count)
{
	switch (x->phase) {
	case P_SOA_FIRST:
		if (!put_soa(b, pos, limit, x, x->z->serial))
			return false;
		(*count)++;
		x->phase = x->ixfr ? P_SOA_OLD : P_NODES;
		return true;
	case P_SOA_OLD:
		if (!put_soa(b, pos, limit, x, x->old_serial))
			return false;
		(*count)++;
		x->phase = P_DELS;
		return true;
	case P_DELS:
		return step_diff(x, b, pos, limit, count, true);
	case P_SOA_MID:
		if (!put_soa(b, pos, limit, x, x->z->serial))
			return false;
		(*count)++;
		x->phase = P_ADDS;
		return true;
	case P_ADDS:
		return step_diff(x, b, pos, limit, count, false);
	case P_NODES:
		return step_nodes(x, b, pos, limit, count);
	case P_SOA_LAST:
		if (!put_soa(b, pos, limit, x, x->z->serial))
			return false;
		(*count)++;
		x->phase = P_DONE;
		return true;
	case P_DONE:
		break;
	}
	return false;
}

size_t xfr_next(struct xfr *x, uint8_t *buf, size_t cap, bool *done)
{
	if (x->first >= 0) {
		/* Too big or out of memory: the whole zone is a right answer too. */
		x->ixfr = condense(x, x->first) == NP_OK;
		x->too_big = !x->ixfr;
		x->first = -1;
		xfr_log(x);
	}
	size_t limit = cap > DNS_MAX_MSG ? DNS_MAX_MSG : cap;
	limit -= XFR_TSIG_ROOM;
	size_t pos = put_question(buf, x);
	unsigned count = 0;
	while (x->phase != P_DONE && count < 65535 && step(x, buf, &pos, limit, &count))
		;
	put_header(buf, x->id, x->flags, DNS_RCODE_NOERROR, 1, (uint16_t)count);
	*done = x->phase == P_DONE;
	if (count == 0 && !*done)
		return 0; /* cannot happen: a record is far smaller than a message */
	if (x->hooks != NULL && x->hooks->sign != NULL &&
	    x->hooks->sign(x->hooks->ctx, x->sign_state, buf, &pos, cap) != NP_OK)
		return 0;
	return pos;
}

void xfr_end(struct xfr *x)
{
	if (x == NULL)
		return;
	if (x->hooks != NULL && x->hooks->sign_end != NULL)
		x->hooks->sign_end(x->hooks->ctx, x->sign_state);
	zone_unpin(x->pins, x->pin);
	free(x->items);
	free(x);
}
