/* SPDX-License-Identifier: MIT */
/* A signed zone: apex records, node signing at build time, compact denial on the fly. */
#include "dnssec/zone.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dns/constants.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "dnssec/sign.h"

#define RR_FIXED_LEN  12
#define CACHE_STRIPES 16u
#define BITMAP_MAX    32

/* One cached signature of a compact denial: for which name, bitmap, TTL and hour. */
struct cache_entry {
	uint64_t hash;
	uint32_t inception; /* 0 = empty */
	uint32_t ttl;
	uint8_t kind, name_len, bitmap_len;
	uint8_t name[255];
	uint8_t bitmap[BITMAP_MAX];
	uint8_t sig[DNSSEC_SIG_LEN];
};

struct dnssec_cache {
	pthread_mutex_t mu[CACHE_STRIPES];
	struct cache_entry e[DNSSEC_CACHE_ENTRIES];
	/* The signing budget: at most rate signatures in a second of the clock (0: no limit);
	 * window holds that second (high 32 bits) and the signatures made in it. */
	_Atomic uint32_t rate;
	_Atomic uint64_t window;
};

/* For the metrics: every zone's signatures made on the fly, and denials over budget. */
static _Atomic uint64_t denials_signed, denials_over_budget;

void dnssec_zone_set_sign_rate(struct dnssec_zone *z, uint32_t per_second)
{
	atomic_store_explicit(&z->cache->rate, per_second, memory_order_relaxed);
}

void dnssec_deny_stats(uint64_t *made, uint64_t *over_budget)
{
	*made = atomic_load_explicit(&denials_signed, memory_order_relaxed);
	*over_budget = atomic_load_explicit(&denials_over_budget, memory_order_relaxed);
}

/* Takes one signature of the second now from the budget: false when it is spent. A fixed
 * window, so a burst across the turn of a second may reach twice the rate; what a flood
 * can make stays bounded by it over any longer time. Lock-free: the workers share it. */
static bool budget_take(struct dnssec_cache *c, uint32_t now)
{
	uint32_t rate = atomic_load_explicit(&c->rate, memory_order_relaxed);
	if (rate == 0)
		return true;
	uint64_t v = atomic_load_explicit(&c->window, memory_order_relaxed);
	for (;;) {
		uint64_t next;
		if ((uint32_t)(v >> 32) != now)
			next = (uint64_t)now << 32 | 1;
		else if ((uint32_t)v >= rate)
			return false;
		else
			next = v + 1;
		if (atomic_compare_exchange_weak_explicit(
		        &c->window, &v, next, memory_order_relaxed, memory_order_relaxed))
			return true;
	}
}

struct dnssec_zone *dnssec_zone_new(const uint8_t *apex, size_t apex_len, struct dnssec_key *ksk,
                                    struct dnssec_key *zsk)
{
	struct dnssec_zone *z = NULL;
	if (apex_len == 0 || apex_len > sizeof(z->apex))
		goto fail;
	z = calloc(1, sizeof(*z));
	if (z == NULL)
		goto fail;
	z->cache = calloc(1, sizeof(*z->cache));
	if (z->cache == NULL)
		goto fail;
	for (unsigned i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_init(&z->cache->mu[i], NULL);
	memcpy(z->apex, apex, apex_len);
	z->apex_len = apex_len;
	z->ksk = *ksk;
	z->zsk = *zsk;
	memset(ksk, 0, sizeof(*ksk));
	memset(zsk, 0, sizeof(*zsk));
	return z;
fail:
	free(z);
	dnssec_key_deinit(ksk);
	dnssec_key_deinit(zsk);
	return NULL;
}

void dnssec_zone_free(struct dnssec_zone *z)
{
	if (z == NULL)
		return;
	for (unsigned i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_destroy(&z->cache->mu[i]);
	free(z->cache);
	dnssec_key_deinit(&z->ksk);
	dnssec_key_deinit(&z->ksk2);
	dnssec_key_deinit(&z->zsk);
	free(z);
}

size_t dnssec_zone_apex_rrs(const struct dnssec_zone *z, uint32_t ttl, struct zone_rr_in *out,
                            uint8_t *buf)
{
	size_t n = 0;
	uint8_t *p = buf;
	const struct dnssec_key *keys[2] = {&z->ksk, &z->zsk};
	for (int i = 0; i < 2; i++) {
		size_t len = dnssec_dnskey_rdata(keys[i], p);
		out[n++] = (struct zone_rr_in){ZONE_TYPE_DNSKEY, ttl, (uint16_t)len, p};
		p += len;
	}
	for (unsigned i = 0; i < z->n_extra && i < DNSSEC_EXTRA_KEYS; i++) {
		memcpy(p, z->extra[i], z->extra_len[i]);
		out[n++] = (struct zone_rr_in){ZONE_TYPE_DNSKEY, ttl, (uint16_t)z->extra_len[i], p};
		p += z->extra_len[i];
	}
	if (z->cds_delete) {
		/* RFC 8078 4: "CDS 0 0 0 00" and "CDNSKEY 0 3 0 AA==", the parent's cue to
		 * remove the DS. */
		static const uint8_t cds[5] = {0, 0, 0, 0, 0}, cdnskey[5] = {0, 0, 3, 0, 0};
		memcpy(p, cds, sizeof(cds));
		out[n++] = (struct zone_rr_in){ZONE_TYPE_CDS, ttl, sizeof(cds), p};
		p += sizeof(cds);
		memcpy(p, cdnskey, sizeof(cdnskey));
		out[n++] = (struct zone_rr_in){ZONE_TYPE_CDNSKEY, ttl, sizeof(cdnskey), p};
		return n;
	}
	/* RFC 7344: CDS and CDNSKEY name the KSK the parent's DS should point at. */
	uint8_t ksk[DNSSEC_DNSKEY_MAX];
	const struct dnssec_key *named = z->cds_ksk2 && z->ksk2.alg != 0 ? &z->ksk2 : &z->ksk;
	size_t klen = dnssec_dnskey_rdata(named, ksk);
	dnssec_ds_rdata(z->apex, z->apex_len, ksk, klen, p);
	out[n++] = (struct zone_rr_in){ZONE_TYPE_CDS, ttl, DNSSEC_DS_LEN, p};
	p += DNSSEC_DS_LEN;
	memcpy(p, ksk, klen);
	out[n++] = (struct zone_rr_in){ZONE_TYPE_CDNSKEY, ttl, (uint16_t)klen, p};
	return n;
}

/* The SOA rdata of the apex node uncompressed: each name that ends in a pointer (soa_ptr)
 * gets the apex in its place. Returns the length, 0 when it does not parse. */
static size_t soa_expand(const struct zone_node *node, const uint8_t *rd, size_t rdlen,
                         uint8_t *out, size_t cap)
{
	size_t in = 0, pos = 0;
	for (int k = 0; k < 2; k++) {
		while (in < rdlen && rd[in] != 0 && (rd[in] & 0xC0) == 0) {
			size_t l = 1 + (size_t)rd[in];
			if (in + l > rdlen || pos + l > cap)
				return 0;
			memcpy(out + pos, rd + in, l);
			pos += l;
			in += l;
		}
		if (in >= rdlen)
			return 0;
		if ((rd[in] & 0xC0) == 0xC0) {
			if (pos + node->name_len > cap)
				return 0;
			memcpy(out + pos, node->data,
			       node->name_len); /* the apex: node's own name */
			pos += node->name_len;
			in += 2;
		} else {
			out[pos++] = 0;
			in++;
		}
	}
	if (rdlen - in != 20 || pos + 20 > cap)
		return 0;
	memcpy(out + pos, rd + in, 20);
	return pos + 20;
}

/* The records of one RRset of node: count rdatas into rrs; the SOA's names expanded into
 * soa. Returns the TTL, or -1 when the SOA does not parse. */
static int64_t rrset_of(const struct zone_node *node, int s, struct dnssec_rr *rrs, uint8_t *soa,
                        size_t soa_cap)
{
	const struct zone_rrset *set = &node->rrsets[s];
	const uint8_t *p = node->data + set->off;
	uint32_t ttl = wire_load_u32(p + 6);
	for (unsigned i = 0; i < set->count; i++) {
		uint16_t rdlen = wire_load_u16(p + 10);
		rrs[i] = (struct dnssec_rr){p + RR_FIXED_LEN, rdlen};
		p += RR_FIXED_LEN + rdlen;
	}
	if (s == ZS_SOA && (node->soa_ptr[0] != 0 || node->soa_ptr[1] != 0)) {
		size_t len = soa_expand(node, rrs[0].rdata, rrs[0].rdlen, soa, soa_cap);
		if (len == 0)
			return -1;
		rrs[0] = (struct dnssec_rr){soa, (uint16_t)len};
	}
	return ttl;
}

/* A walk over the RRsets of a node to sign, in slot order: each with its records. */
struct rrset_walk {
	const struct zone_node *node;
	int s; /* the slot of the RRset now; -1 before the first */
	uint16_t type;
	uint32_t ttl;
	unsigned count;
	struct dnssec_rr rrs[ZONE_MAX_RRS_PER_TYPE];
	uint8_t soa[2 * 255 + 20];
};

static void rrset_walk_init(struct rrset_walk *w, const struct zone_node *node)
{
	w->node = node;
	w->s = -1;
}

/* Moves w to the node's next RRset: 1, or 0 after the last, or -1 when the SOA does not
 * parse. */
static int rrset_walk_next(struct rrset_walk *w)
{
	while (++w->s < ZS_COUNT) {
		const struct zone_rrset *set = &w->node->rrsets[w->s];
		if (set->len == 0 || set->count == 0 || set->count > ZONE_MAX_RRS_PER_TYPE)
			continue;
		int64_t ttl = rrset_of(w->node, w->s, w->rrs, w->soa, sizeof(w->soa));
		if (ttl < 0)
			return -1;
		w->type = zone_type_of_slot((enum zone_slot)w->s);
		w->ttl = (uint32_t)ttl;
		w->count = set->count;
		return 1;
	}
	return 0;
}

static size_t bitmap_of(const struct zone_node *node, uint8_t out[2 + BITMAP_MAX]);

/* What a wildcard node answers below itself with (zone.h, struct zone_node's wild): RRSIGs
 * over "*.NAME" into out[] over buf, then the NSEC at "*.NAME" and its RRSIG. Returns how
 * many records, or -1 on failure; 0 when the names do not fit (NAME too long to prefix
 * with "*", or its first label too long to extend): the node is then signed as it is. */
static int sign_wild(const struct dnssec_zone *z, const struct zone_node *node, uint32_t neg_ttl,
                     uint32_t now, struct zone_rr_in *out, uint8_t (*buf)[DNSSEC_RRSIG_MAX],
                     uint8_t *nsec, size_t nsec_cap)
{
	uint8_t wname[255];
	size_t wlen = (size_t)node->name_len + 2;
	if (wlen > sizeof(wname) || node->data[0] >= 63)
		return 0;
	wname[0] = 1;
	wname[1] = '*';
	memcpy(wname + 2, node->data, node->name_len);
	struct rrset_walk w;
	int n = 0, more;
	for (rrset_walk_init(&w, node); (more = rrset_walk_next(&w)) > 0;) {
		struct dnssec_sig_meta m = {
		    wname,   wlen,       w.type, w.ttl, now - DNSSEC_SKEW, now + DNSSEC_VALIDITY,
		    z->apex, z->apex_len};
		int len = dnssec_rrsig(&z->zsk, &m, w.rrs, w.count, buf[n]);
		if (len < 0)
			return -1;
		out[n] = (struct zone_rr_in){ZONE_TYPE_RRSIG, w.ttl, (uint16_t)len, buf[n]};
		n++;
	}
	if (more < 0)
		return -1;
	/* The NSEC: next = NAME with a 0 octet appended to its first label, the first name
	 * after NAME's whole subtree in canonical order (RFC 4034 6.1), so that it covers every
	 * name below NAME but none beside it. */
	size_t first = (size_t)node->data[0];
	size_t nlen = (size_t)node->name_len + 1;
	uint8_t bitmap[2 + BITMAP_MAX];
	size_t bmlen = bitmap_of(node, bitmap);
	if (nlen > 255 || nlen + bmlen > nsec_cap)
		return 0;
	nsec[0] = (uint8_t)(first + 1);
	memcpy(nsec + 1, node->data + 1, first);
	nsec[1 + first] = 0;
	memcpy(nsec + 2 + first, node->data + 1 + first, node->name_len - 1 - first);
	memcpy(nsec + nlen, bitmap, bmlen);
	struct dnssec_rr nrr = {nsec, (uint16_t)(nlen + bmlen)};
	out[n] = (struct zone_rr_in){ZONE_TYPE_NSEC, neg_ttl, nrr.rdlen, nsec};
	n++;
	struct dnssec_sig_meta m = {wname,
	                            wlen,
	                            DNSSEC_TYPE_NSEC,
	                            neg_ttl,
	                            now - DNSSEC_SKEW,
	                            now + DNSSEC_VALIDITY,
	                            z->apex,
	                            z->apex_len};
	int len = dnssec_rrsig(&z->zsk, &m, &nrr, 1, buf[n - 1]);
	if (len < 0)
		return -1;
	out[n] = (struct zone_rr_in){ZONE_TYPE_RRSIG, neg_ttl, (uint16_t)len, buf[n - 1]};
	return n + 1;
}

struct zone_node *dnssec_sign_node(const struct dnssec_zone *z, const struct zone_node *node,
                                   uint32_t neg_ttl, uint32_t now)
{
	/* One RRSIG an RRset, two for the KSK's three while a KSK rolls. */
	struct zone_rr_in sigs[ZS_COUNT + 3], wild[ZS_COUNT + 2];
	static _Thread_local uint8_t sigbuf[ZS_COUNT + 3][DNSSEC_RRSIG_MAX];
	static _Thread_local uint8_t wildbuf[ZS_COUNT + 1][DNSSEC_RRSIG_MAX];
	uint8_t nsec[255 + 2 + BITMAP_MAX];
	struct rrset_walk w;
	size_t n_sigs = 0;
	int more;
	for (rrset_walk_init(&w, node); (more = rrset_walk_next(&w)) > 0;) {
		bool by_ksk = w.type == ZONE_TYPE_DNSKEY || w.type == ZONE_TYPE_CDS ||
		              w.type == ZONE_TYPE_CDNSKEY;
		struct dnssec_sig_meta m = {node->data, node->name_len,    w.type,
		                            w.ttl,      now - DNSSEC_SKEW, now + DNSSEC_VALIDITY,
		                            z->apex,    z->apex_len};
		for (int k = 0; k < (by_ksk && z->ksk2.alg != 0 ? 2 : 1); k++) {
			const struct dnssec_key *key = !by_ksk ? &z->zsk : k == 0 ? &z->ksk : &z->ksk2;
			int len = dnssec_rrsig(key, &m, w.rrs, w.count, sigbuf[n_sigs]);
			if (len < 0)
				return NULL;
			sigs[n_sigs] = (struct zone_rr_in){ZONE_TYPE_RRSIG, w.ttl, (uint16_t)len,
			                                   sigbuf[n_sigs]};
			n_sigs++;
		}
	}
	if (more < 0)
		return NULL;
	int n_wild = 0;
	if ((node->flags & (ZONE_NODE_WILDCARD | ZONE_NODE_APEX | ZONE_NODE_ENT)) ==
	    ZONE_NODE_WILDCARD) {
		n_wild = sign_wild(z, node, neg_ttl, now, wild, wildbuf, nsec, sizeof(nsec));
		if (n_wild < 0)
			return NULL;
	}
	return zone_node_with_sigs(node, sigs, n_sigs, wild, (size_t)n_wild);
}

/* The NSEC type bitmap (RFC 4034 4.1.2), one window: every type here is below 256. */
static size_t bitmap_of(const struct zone_node *node, uint8_t out[2 + BITMAP_MAX])
{
	uint8_t bits[BITMAP_MAX] = {0};
	unsigned max = 0;
	uint16_t types[ZS_COUNT + 3];
	size_t n = 0;
	types[n++] = DNSSEC_TYPE_RRSIG;
	types[n++] = DNSSEC_TYPE_NSEC;
	if (node == NULL) {
		types[n++] = DNSSEC_TYPE_NXNAME;
	} else {
		for (int s = 0; s < ZS_COUNT; s++)
			if (node->rrsets[s].len > 0)
				types[n++] = zone_type_of_slot((enum zone_slot)s);
	}
	for (size_t i = 0; i < n; i++) {
		bits[types[i] / 8] |= (uint8_t)(0x80 >> (types[i] % 8));
		if (types[i] > max)
			max = types[i];
	}
	size_t blen = max / 8 + 1;
	out[0] = 0; /* window 0 */
	out[1] = (uint8_t)blen;
	memcpy(out + 2, bits, blen);
	return 2 + blen;
}

static uint64_t entry_hash(uint8_t kind, const uint8_t *name, size_t len, const uint8_t *bm,
                           size_t bmlen, uint32_t ttl)
{
	uint64_t h = (0xcbf29ce484222325ULL ^ ttl ^ ((uint64_t)kind << 40));
	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 0x100000001b3ULL;
	for (size_t i = 0; i < bmlen; i++)
		h = (h ^ bm[i]) * 0x100000001b3ULL;
	return h;
}

/* What the cache knows an NSEC by: its kind (DENY_*), the name it was made for, its bitmap
 * and TTL (the owner and next name follow from the kind and the name). */
enum { DENY_COMPACT = 0, DENY_COVER = 1 };
struct nsec_spec {
	uint8_t kind;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *owner; /* NULL: the question name, written as a pointer to it */
	size_t owner_len;     /* the owner's length in any case (it is signed) */
	const uint8_t *next;
	size_t next_len;
	const uint8_t *bitmap;
	size_t bmlen;
};

/* Writes an NSEC record and its RRSIG (signed for the hour now falls in, from the cache
 * or made now) into out; spec->owner NULL: the owner is key, written as 0xC00C. Returns
 * the octets written, 0 on failure, DNSSEC_DENY_OVER_BUDGET when it would have to sign
 * past the zone's budget and is not unmetered. */
static size_t nsec_signed(const struct dnssec_zone *z, const struct nsec_spec *spec, uint32_t ttl,
                          uint32_t now, bool unmetered, uint8_t *out)
{
	const uint8_t *owner = spec->owner != NULL ? spec->owner : spec->key;
	size_t nsec_rdlen = spec->next_len + spec->bmlen;
	uint8_t *p = out;
	size_t olen = 2;
	if (spec->owner != NULL) {
		olen = spec->owner_len;
		memcpy(p, owner, olen);
	} else {
		wire_store_u16(p, 0xC00C);
	}
	uint8_t *h = p + olen;
	wire_store_u16(h, DNSSEC_TYPE_NSEC);
	wire_store_u16(h + 2, DNS_CLASS_IN);
	wire_store_u32(h + 4, ttl);
	wire_store_u16(h + 8, (uint16_t)nsec_rdlen);
	uint8_t *rd = h + 10;
	memcpy(rd, spec->next, spec->next_len);
	memcpy(rd + spec->next_len, spec->bitmap, spec->bmlen);
	p = rd + nsec_rdlen;

	/* Its signature, for the hour now falls in. */
	uint32_t hour = now - now % 3600;
	uint32_t inception = hour - DNSSEC_SKEW;
	uint8_t *sig_h = p + olen;
	uint8_t *sig_rd = sig_h + 10;
	wire_store_u16(sig_rd, DNSSEC_TYPE_NSEC);
	sig_rd[2] = z->zsk.alg;
	sig_rd[3] = (uint8_t)dns_name_labels(owner);
	wire_store_u32(sig_rd + 4, ttl);
	wire_store_u32(sig_rd + 8, hour + DNSSEC_NEG_VALIDITY);
	wire_store_u32(sig_rd + 12, inception);
	wire_store_u16(sig_rd + 16, z->zsk.tag);
	memcpy(sig_rd + DNSSEC_RRSIG_FIXED, z->apex, z->apex_len);
	uint8_t *sig = sig_rd + DNSSEC_RRSIG_FIXED + z->apex_len;

	uint64_t hash =
	    entry_hash(spec->kind, spec->key, spec->key_len, spec->bitmap, spec->bmlen, ttl);
	struct dnssec_cache *c = z->cache;
	size_t idx = (size_t)(hash % DNSSEC_CACHE_ENTRIES);
	pthread_mutex_t *mu = &c->mu[idx % CACHE_STRIPES];
	struct cache_entry *e = &c->e[idx];
	bool hit = false;
	pthread_mutex_lock(mu);
	if (e->hash == hash && e->inception == inception && e->ttl == ttl &&
	    e->kind == spec->kind && e->name_len == spec->key_len &&
	    e->bitmap_len == spec->bmlen && memcmp(e->name, spec->key, spec->key_len) == 0 &&
	    memcmp(e->bitmap, spec->bitmap, spec->bmlen) == 0) {
		memcpy(sig, e->sig, DNSSEC_SIG_LEN);
		hit = true;
	}
	pthread_mutex_unlock(mu);
	if (!hit) {
		/* A random-subdomain flood misses every time: past the budget, nothing is
		 * signed (the caller answers TC=1, sending a real client to TCP). */
		if (!budget_take(c, now) && !unmetered) {
			atomic_fetch_add_explicit(&denials_over_budget, 1, memory_order_relaxed);
			return DNSSEC_DENY_OVER_BUDGET;
		}
		/* Signed outside the lock: the RRSIG prefix, then the one NSEC record in
		 * canonical form (owner lowercase, the next name too: RFC 6840 5.1). */
		uint8_t data[DNSSEC_RRSIG_FIXED + 255 + 255 + 10 + 255 + 2 + BITMAP_MAX];
		size_t dl = DNSSEC_RRSIG_FIXED + z->apex_len;
		memcpy(data, sig_rd, dl);
		memcpy(data + dl, owner, spec->owner_len);
		dl += spec->owner_len;
		memcpy(data + dl, h, 10);
		dl += 10;
		memcpy(data + dl, rd, nsec_rdlen);
		dl += nsec_rdlen;
		if (dnssec_sign(&z->zsk, data, dl, sig) != NP_OK)
			return 0;
		atomic_fetch_add_explicit(&denials_signed, 1, memory_order_relaxed);
		pthread_mutex_lock(mu);
		e->hash = hash;
		e->inception = inception;
		e->ttl = ttl;
		e->kind = spec->kind;
		e->name_len = (uint8_t)spec->key_len;
		e->bitmap_len = (uint8_t)spec->bmlen;
		memcpy(e->name, spec->key, spec->key_len);
		memcpy(e->bitmap, spec->bitmap, spec->bmlen);
		memcpy(e->sig, sig, DNSSEC_SIG_LEN);
		pthread_mutex_unlock(mu);
	}
	size_t sig_rdlen = DNSSEC_RRSIG_FIXED + z->apex_len + DNSSEC_SIG_LEN;
	if (spec->owner != NULL)
		memcpy(p, owner, olen);
	else
		wire_store_u16(p, 0xC00C);
	wire_store_u16(sig_h, DNSSEC_TYPE_RRSIG);
	wire_store_u16(sig_h + 2, DNS_CLASS_IN);
	wire_store_u32(sig_h + 4, ttl);
	wire_store_u16(sig_h + 8, (uint16_t)sig_rdlen);
	p = sig_rd + sig_rdlen;
	return (size_t)(p - out);
}

/* The next octet after c in canonical order: names compare lowercased, so after '@' comes
 * '[' (uppercase letters are their lowercase twins). 0 when c is 0xff. */
static uint8_t octet_after(uint8_t c)
{
	if (c == 0xff)
		return 0;
	return c + 1 == 'A' ? (uint8_t)'[' : (uint8_t)(c + 1);
}

/* The immediate successor of the lowercase name (len octets) in canonical order, as RFC
 * 9824 3.1 asks for the next name of a compact denial: "\000." + name (RFC 4470 4) when
 * that fits in 255 octets. A longer name can have no name below it, so its successor is
 * the next sibling (RFC 4471 3.1.2): its first label with a 0 octet appended while the
 * label and the name have room, else that label's last octet incremented (trailing 0xff
 * octets dropped first). Writes it to out (255 octets): its length, 0 if there is none
 * (a first label of 0xff octets only). */
static size_t successor(const uint8_t *name, size_t len, uint8_t *out)
{
	if (len + 2 <= 255) {
		out[0] = 1;
		out[1] = 0;
		memcpy(out + 2, name, len);
		return len + 2;
	}
	size_t first = name[0];
	if (first < 63 && len + 1 <= 255) {
		out[0] = (uint8_t)(first + 1);
		memcpy(out + 1, name + 1, first);
		out[1 + first] = 0;
		memcpy(out + 2 + first, name + 1 + first, len - 1 - first);
		return len + 1;
	}
	size_t keep = first;
	while (keep > 0 && name[keep] == 0xff)
		keep--;
	if (keep == 0)
		return 0;
	out[0] = (uint8_t)keep;
	memcpy(out + 1, name + 1, keep);
	out[keep] = octet_after(name[keep]);
	memcpy(out + 1 + keep, name + 1 + first, len - 1 - first);
	return len - (first - keep);
}

size_t dnssec_deny(const struct dnssec_zone *z, const uint8_t *lname, size_t len,
                   const struct zone_node *node, uint32_t ttl, uint32_t now, uint8_t *out)
{
	return dnssec_deny_metered(z, lname, len, node, ttl, now, true, out);
}

size_t dnssec_deny_metered(const struct dnssec_zone *z, const uint8_t *lname, size_t len,
                           const struct zone_node *node, uint32_t ttl, uint32_t now, bool unmetered,
                           uint8_t *out)
{
	uint8_t next[255];
	size_t next_len = len > 0 && len <= 255 ? successor(lname, len, next) : 0;
	if (next_len == 0)
		return 0;
	uint8_t bitmap[2 + BITMAP_MAX];
	size_t bmlen = bitmap_of(node, bitmap);
	struct nsec_spec spec = {DENY_COMPACT, lname,    len,    NULL, len,
	                         next,         next_len, bitmap, bmlen};
	return nsec_signed(z, &spec, ttl, now, unmetered, out);
}

size_t dnssec_cover(const struct dnssec_zone *z, const uint8_t *lname, size_t len,
                    const struct zone_node *wild, uint32_t ttl, uint32_t now, bool unmetered,
                    uint8_t *out)
{
	/* N = "L.wild", the next closer name: the last label of lname above wild's. */
	size_t wlen = wild->name_len;
	if (len <= wlen || len > 255)
		return 0;
	const uint8_t *nc = lname;
	while ((size_t)(lname + len - nc) > wlen + 1 + nc[0] && nc[0] != 0)
		nc += 1 + nc[0];
	size_t nlen = (size_t)(lname + len - nc);
	size_t l = nc[0];
	if (l == 0 || nlen != wlen + 1 + l || nc[1] >= '*')
		return 0; /* "*" sorts before it: the NSEC at "*.wild" covers it */
	/* next: "L\000.wild", after N's whole subtree (as sign_wild's). */
	uint8_t next[255];
	if (l >= 63 || nlen + 1 > 255)
		return 0;
	next[0] = (uint8_t)(l + 1);
	memcpy(next + 1, nc + 1, l);
	next[1 + l] = 0;
	memcpy(next + 2 + l, nc + 1 + l, wlen);
	size_t next_len = nlen + 1;
	/* owner: the name just before N that RFC 4471 3.1.1 would give, without the names
	 * below it: L's last octet decremented and the label filled up with 0xff octets as
	 * far as names allow; L = "\000" has wild itself before it (with wild's types). */
	uint8_t owner[255];
	size_t owner_len;
	uint8_t bitmap[2 + BITMAP_MAX];
	size_t bmlen;
	if (l == 1 && nc[1] == 0) {
		memcpy(owner, wild->data, wlen);
		owner_len = wlen;
		bmlen = bitmap_of(wild, bitmap);
	} else {
		size_t ol = l;
		uint8_t last = nc[l];
		if (last == 0)
			ol = l - 1; /* "ab\000" comes right after "ab" (and its subtree) */
		memcpy(owner + 1, nc + 1, ol);
		if (last != 0) {
			uint8_t c = (uint8_t)(last - 1);
			owner[ol] = c >= 'A' && c <= 'Z' ? (uint8_t)'@' : c;
			while (ol < 63 && 1 + ol + 1 + wlen <= 255)
				owner[1 + ol++] = 0xff;
		}
		owner[0] = (uint8_t)ol;
		memcpy(owner + 1 + ol, wild->data, wlen);
		owner_len = 1 + ol + wlen;
		/* RRSIG NSEC: a name that holds nothing (RFC 4470's white lie). */
		static const uint8_t rrsig_nsec[] = {0, 6, 0, 0, 0, 0, 0, 0x03};
		memcpy(bitmap, rrsig_nsec, sizeof(rrsig_nsec));
		bmlen = sizeof(rrsig_nsec);
	}
	struct nsec_spec spec = {DENY_COVER, nc,       nlen,   owner, owner_len,
	                         next,       next_len, bitmap, bmlen};
	return nsec_signed(z, &spec, ttl, now, unmetered, out);
}
