/* SPDX-License-Identifier: MIT */
/* The NSEC3 chain transfers carry: owner hashes, the writer's sorted index of them, and the
 * records each node carries. */
#include "dnssec/nsec3.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "dns/constants.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "dnssec/sign.h"

#define PREFIX_LEN   (1 + NSEC3_LABEL_LEN) /* the hashed label, with its length octet */
#define NSEC3_FIXED  6                     /* algorithm, flags, iterations, salt length */
#define BITMAP_MAX   32
#define NSEC3_RD_MAX (NSEC3_FIXED + NSEC3_HASH_LEN + 2 + BITMAP_MAX)

int nsec3_hash(const uint8_t *lname, size_t len, uint8_t out[NSEC3_HASH_LEN])
{
	unsigned int n = 0;
	if (EVP_Digest(lname, len, out, &n, EVP_sha1(), NULL) != 1 || n != NSEC3_HASH_LEN)
		return NP_EINVAL;
	return NP_OK;
}

bool nsec3_has_data(const struct zone_node *node)
{
	for (int s = 0; s < ZS_COUNT; s++)
		if (node->rrsets[s].len > 0)
			return true;
	return false;
}

bool nsec3_has_wild(const struct zone_node *node)
{
	/* As dnssec_sign_node signs them: a wildcard host with records, whose "*.NAME" fits. */
	if ((node->flags & (ZONE_NODE_WILDCARD | ZONE_NODE_APEX | ZONE_NODE_ENT)) !=
	        ZONE_NODE_WILDCARD ||
	    (size_t)node->name_len + 2 > DNS_NAME_MAX || node->data[0] >= 63)
		return false;
	return nsec3_has_data(node);
}

/* The owner's wire name (name, or "*." + name) into out; its length, 0 when too long. */
static size_t owner_name(const uint8_t *name, size_t len, bool wild, uint8_t out[DNS_NAME_MAX])
{
	size_t star = wild ? 2 : 0;
	if (len + star > DNS_NAME_MAX)
		return 0;
	out[0] = 1;
	out[1] = '*';
	memcpy(out + star, name, len);
	return len + star;
}

static int owner_hash(const uint8_t *name, size_t len, bool wild, uint8_t out[NSEC3_HASH_LEN])
{
	uint8_t o[DNS_NAME_MAX];
	size_t olen = owner_name(name, len, wild, o);
	return olen == 0 ? NP_EINVAL : nsec3_hash(o, olen, out);
}

/* ---- the index ---- */

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct nsec3_entry *)a)->hash, ((const struct nsec3_entry *)b)->hash,
	              NSEC3_HASH_LEN);
}

static int index_push(struct nsec3_index *ix, const uint8_t *name, size_t len, bool wild,
                      const uint8_t hash[NSEC3_HASH_LEN])
{
	if (ix->n == ix->cap) {
		size_t cap = ix->cap < 64 ? 64 : ix->cap * 2;
		struct nsec3_entry *grown = realloc(ix->e, cap * sizeof(*grown));
		if (grown == NULL)
			return NP_ENOMEM;
		ix->e = grown;
		ix->cap = cap;
	}
	struct nsec3_entry *e = &ix->e[ix->n];
	e->name = malloc(len);
	if (e->name == NULL)
		return NP_ENOMEM;
	memcpy(e->name, name, len);
	e->name_len = (uint8_t)len;
	e->wild = wild;
	e->below = 0;
	memcpy(e->hash, hash, NSEC3_HASH_LEN);
	ix->n++;
	return NP_OK;
}

static int index_push_owner(struct nsec3_index *ix, const uint8_t *name, size_t len, bool wild)
{
	uint8_t h[NSEC3_HASH_LEN];
	int ret = owner_hash(name, len, wild, h);
	return ret != NP_OK ? ret : index_push(ix, name, len, wild, h);
}

struct nsec3_index *nsec3_index_build(const struct zone_version *z)
{
	struct nsec3_index *ix = calloc(1, sizeof(*ix));
	if (ix == NULL)
		return NULL;
	for (uint32_t i = 0; i <= z->mask; i++) {
		const struct zone_node *n =
		    z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & (ZONE_PAGE_SLOTS - 1)];
		if (n == NULL || !nsec3_has_data(n))
			continue;
		/* The name, "*.name" for a wildcard, and each ancestor below the apex that
		 * has no data of its own (the same ones again and again: sorted out below). */
		if (index_push_owner(ix, n->data, n->name_len, false) != NP_OK ||
		    (nsec3_has_wild(n) &&
		     index_push_owner(ix, n->data, n->name_len, true) != NP_OK))
			goto fail;
		const uint8_t *p = n->data;
		size_t len = n->name_len;
		while (len > z->apex_len) {
			len -= 1 + (size_t)p[0];
			p += 1 + p[0];
			if (len <= z->apex_len)
				break;
			const struct zone_node *a = zone_find(z, p, len);
			if (a != NULL && !nsec3_has_data(a) &&
			    index_push_owner(ix, p, len, false) != NP_OK)
				goto fail;
		}
	}
	if (ix->n == 0)
		return ix;
	qsort(ix->e, ix->n, sizeof(*ix->e), entry_cmp);
	size_t k = 1;
	for (size_t i = 1; i < ix->n; i++) {
		if (memcmp(ix->e[i].hash, ix->e[k - 1].hash, NSEC3_HASH_LEN) == 0)
			free(ix->e[i].name);
		else
			ix->e[k++] = ix->e[i];
	}
	ix->n = k;
	/* Each name with data counts once at every ancestor (the apex included). */
	for (uint32_t i = 0; i <= z->mask; i++) {
		const struct zone_node *n =
		    z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & (ZONE_PAGE_SLOTS - 1)];
		if (n == NULL || !nsec3_has_data(n))
			continue;
		const uint8_t *p = n->data;
		size_t len = n->name_len;
		while (len > z->apex_len) {
			len -= 1 + (size_t)p[0];
			p += 1 + p[0];
			struct nsec3_entry *e = nsec3_index_find(ix, p, len, false);
			if (e != NULL)
				e->below++;
		}
	}
	return ix;
fail:
	nsec3_index_free(ix);
	return NULL;
}

void nsec3_index_free(struct nsec3_index *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; i < ix->n; i++)
		free(ix->e[i].name);
	free(ix->e);
	free(ix);
}

size_t nsec3_index_lower(const struct nsec3_index *ix, const uint8_t hash[NSEC3_HASH_LEN])
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(ix->e[mid].hash, hash, NSEC3_HASH_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool index_at(const struct nsec3_index *ix, size_t pos, const uint8_t h[NSEC3_HASH_LEN])
{
	return pos < ix->n && memcmp(ix->e[pos].hash, h, NSEC3_HASH_LEN) == 0;
}

int nsec3_index_add(struct nsec3_index *ix, const uint8_t *name, size_t len, bool wild)
{
	uint8_t h[NSEC3_HASH_LEN];
	int ret = owner_hash(name, len, wild, h);
	if (ret != NP_OK)
		return ret;
	size_t pos = nsec3_index_lower(ix, h);
	if (index_at(ix, pos, h))
		return NP_EEXIST;
	ret = index_push(ix, name, len, wild, h);
	if (ret != NP_OK)
		return ret;
	struct nsec3_entry added = ix->e[ix->n - 1];
	memmove(&ix->e[pos + 1], &ix->e[pos], (ix->n - 1 - pos) * sizeof(*ix->e));
	ix->e[pos] = added;
	return NP_OK;
}

struct nsec3_entry *nsec3_index_find(const struct nsec3_index *ix, const uint8_t *name, size_t len,
                                     bool wild)
{
	uint8_t h[NSEC3_HASH_LEN];
	if (owner_hash(name, len, wild, h) != NP_OK)
		return NULL;
	size_t pos = nsec3_index_lower(ix, h);
	return index_at(ix, pos, h) ? &ix->e[pos] : NULL;
}

bool nsec3_index_remove(struct nsec3_index *ix, const uint8_t *name, size_t len, bool wild)
{
	uint8_t h[NSEC3_HASH_LEN];
	if (owner_hash(name, len, wild, h) != NP_OK)
		return false;
	size_t pos = nsec3_index_lower(ix, h);
	if (!index_at(ix, pos, h))
		return false;
	free(ix->e[pos].name);
	memmove(&ix->e[pos], &ix->e[pos + 1], (ix->n - pos - 1) * sizeof(*ix->e));
	ix->n--;
	return true;
}

/* ---- a node's records ---- */

/* The owner's first label: the hash in base32hex without padding (RFC 4648 7), lowercase. */
static void hash_label(const uint8_t h[NSEC3_HASH_LEN], uint8_t out[PREFIX_LEN])
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
	out[0] = NSEC3_LABEL_LEN;
	for (size_t i = 0; i < NSEC3_LABEL_LEN; i++) {
		size_t bit = i * 5;
		unsigned v = (unsigned)h[bit / 8] << 8;
		if (bit / 8 + 1 < NSEC3_HASH_LEN)
			v |= h[bit / 8 + 1];
		out[1 + i] = (uint8_t)digits[(v >> (11 - bit % 8)) & 31];
	}
}

/* The type bitmap (one window; every type here is below 256) of what the owner has: the
 * node's RRsets with their RRSIGs, and NSEC3PARAM at the apex. An ENT has none. */
static size_t bitmap(const struct zone_node *node, bool wild, uint8_t out[2 + BITMAP_MAX])
{
	uint8_t bits[BITMAP_MAX] = {0};
	unsigned max = 0;
	bool any = false;
	for (int s = 0; s < ZS_COUNT + 2; s++) {
		unsigned type;
		if (s < ZS_COUNT) {
			if (node->rrsets[s].len == 0)
				continue;
			type = zone_type_of_slot((enum zone_slot)s);
			any = true;
		} else if (s == ZS_COUNT) {
			if (!any)
				continue;
			type = ZONE_TYPE_RRSIG;
		} else {
			if (wild || (node->flags & ZONE_NODE_APEX) == 0)
				continue;
			type = ZONE_TYPE_NSEC3PARAM;
		}
		bits[type / 8] |= (uint8_t)(0x80 >> (type % 8));
		if (type > max)
			max = type;
	}
	if (!any)
		return 0;
	size_t blen = max / 8 + 1;
	out[0] = 0;
	out[1] = (uint8_t)blen;
	memcpy(out + 2, bits, blen);
	return 2 + blen;
}

/* Appends to out a record in the region's format: prefix, then type .. rdata. */
static size_t put_rec(uint8_t *out, const uint8_t *prefix, size_t plen, uint16_t type, uint32_t ttl,
                      const uint8_t *rd, size_t rdlen)
{
	out[0] = (uint8_t)plen;
	memcpy(out + 1, prefix, plen);
	uint8_t *p = out + 1 + plen;
	wire_store_u16(p, type);
	wire_store_u16(p + 2, DNS_CLASS_IN);
	wire_store_u32(p + 4, ttl);
	wire_store_u16(p + 8, (uint16_t)rdlen);
	memcpy(p + 10, rd, rdlen);
	return 1 + plen + 10 + rdlen;
}

/* In prev's region: the record of owner prefix and type with exactly this TTL and rdata,
 * followed by its RRSIG: both copied to out. Their length, 0 when prev has no such pair. */
static size_t reuse(const struct zone_node *prev, const uint8_t *prefix, size_t plen, uint16_t type,
                    uint32_t ttl, const uint8_t *rd, size_t rdlen, uint8_t *out)
{
	if (prev == NULL)
		return 0;
	const struct zone_rrset *set = &zone_node_sigs(prev)->nsec3;
	const uint8_t *p = prev->data + set->off, *end = p + set->len;
	while (p < end) {
		const uint8_t *body = p + 1 + p[0];
		size_t len = 1 + p[0] + 10 + wire_load_u16(body + 8);
		const uint8_t *next = p + len;
		if (p[0] == plen && memcmp(p + 1, prefix, plen) == 0 &&
		    wire_load_u16(body) == type && wire_load_u32(body + 4) == ttl &&
		    wire_load_u16(body + 8) == rdlen && memcmp(body + 10, rd, rdlen) == 0 &&
		    next < end) {
			const uint8_t *sig = next + 1 + next[0];
			size_t sig_len = 1 + next[0] + 10 + wire_load_u16(sig + 8);
			if (wire_load_u16(sig) != ZONE_TYPE_RRSIG)
				return 0;
			memcpy(out, p, len + sig_len);
			return len + sig_len;
		}
		p = next;
	}
	return 0;
}

/* One record of the owner (prefix below the apex) and its RRSIG, reused from prev or made. */
static long owner_records(const struct dnssec_zone *z, const struct zone_node *prev,
                          const uint8_t *prefix, size_t plen, uint16_t type, uint32_t ttl,
                          const uint8_t *rd, size_t rdlen, uint32_t now, uint8_t *out)
{
	size_t n = reuse(prev, prefix, plen, type, ttl, rd, rdlen, out);
	if (n > 0)
		return (long)n;
	uint8_t owner[DNS_NAME_MAX];
	if (plen + z->apex_len > DNS_NAME_MAX)
		return NP_EINVAL;
	memcpy(owner, prefix, plen);
	memcpy(owner + plen, z->apex, z->apex_len);
	struct dnssec_rr rr = {rd, (uint16_t)rdlen};
	struct dnssec_sig_meta m = {owner,   plen + z->apex_len, type,
	                            ttl,     now - DNSSEC_SKEW,  now + DNSSEC_VALIDITY,
	                            z->apex, z->apex_len};
	uint8_t sig[DNSSEC_RRSIG_MAX];
	int slen = dnssec_rrsig(&z->zsk, &m, &rr, 1, sig);
	if (slen < 0)
		return slen;
	n = put_rec(out, prefix, plen, type, ttl, rd, rdlen);
	n += put_rec(out + n, prefix, plen, ZONE_TYPE_RRSIG, ttl, sig, (size_t)slen);
	return (long)n;
}

long nsec3_node_records(const struct dnssec_zone *z, const struct nsec3_index *ix,
                        const struct zone_node *node, const struct zone_node *prev, uint32_t ttl,
                        uint32_t param_ttl, uint32_t now, uint8_t *out, size_t cap, uint16_t *count)
{
	if (cap < NSEC3_NODE_RECORDS_MAX || ix->n == 0)
		return NP_EINVAL;
	size_t pos = 0;
	*count = 0;
	for (int wild = 0; wild <= (nsec3_has_wild(node) ? 1 : 0); wild++) {
		uint8_t h[NSEC3_HASH_LEN];
		int ret = owner_hash(node->data, node->name_len, wild, h);
		if (ret != NP_OK)
			return ret;
		size_t at = nsec3_index_lower(ix, h);
		if (!index_at(ix, at, h))
			continue; /* no data at or below it: not in the zone a transfer sends */
		const uint8_t *next = ix->e[(at + 1) % ix->n].hash;
		uint8_t rd[NSEC3_RD_MAX] = {1 /* SHA-1 */,      0 /* no opt-out */, 0,
		                            0 /* iterations */, 0 /* no salt */,    NSEC3_HASH_LEN};
		memcpy(rd + NSEC3_FIXED, next, NSEC3_HASH_LEN);
		size_t rdlen = NSEC3_FIXED + NSEC3_HASH_LEN;
		rdlen += bitmap(node, wild, rd + rdlen);
		uint8_t prefix[PREFIX_LEN];
		hash_label(h, prefix);
		long n = owner_records(z, prev, prefix, sizeof(prefix), ZONE_TYPE_NSEC3, ttl, rd,
		                       rdlen, now, out + pos);
		if (n < 0)
			return n;
		pos += (size_t)n;
		*count += 2;
	}
	if ((node->flags & ZONE_NODE_APEX) != 0) {
		static const uint8_t param[] = {1, 0, 0, 0, 0}; /* SHA-1, flags 0, 0 it., no salt */
		long n = owner_records(z, prev, param, 0, ZONE_TYPE_NSEC3PARAM, param_ttl, param,
		                       sizeof(param), now, out + pos);
		if (n < 0)
			return n;
		pos += (size_t)n;
		*count += 2;
	}
	return (long)pos;
}
