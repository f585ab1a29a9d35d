/* SPDX-License-Identifier: MIT */
/* In-memory zones: pre-rendered nodes in per-version, copy-on-write paged hash tables. */
#include "zone/zone.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dns/name.h"
#include "dns/wire.h"
#include "zone/journal.h"

#define RR_FIXED_LEN 12 /* owner pointer, type, class, TTL, rdlength */
#define MIN_TABLE    16
#define MAX_TABLE    (1u << 30)

/* ---- hashing ---- */

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* A seeded multiply-rotate hash over 8-byte words (names are short: 1-4 words). Not
 * cryptographic: the random seed only keeps bucket positions unpredictable from outside,
 * and only the writer's users choose the names in a table. */
static uint64_t name_hash(uint64_t seed, const uint8_t *p, size_t len)
{
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		h ^= v * 0x87c37b91114253d5ULL;
		h = rotl64(h, 31) * 0x4cf5ad432745937fULL;
		p += 8;
		len -= 8;
	}
	if (len > 0) {
		uint64_t v = 0;
		memcpy(&v, p, len);
		h ^= v * 0x87c37b91114253d5ULL;
		h = rotl64(h, 31) * 0x4cf5ad432745937fULL;
	}
	return fmix64(h);
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		/* No entropy yet (early boot): still vary between runs and versions. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = fmix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
		              (uint64_t)(uintptr_t)&seed);
	}
	return seed;
}

/* ---- names ---- */

/* Fills off[] with the offset of every label of name (the root included) and returns how
 * many there are. name must be a checked wire name. */
static unsigned label_offsets(const uint8_t *name, size_t len, uint8_t off[128])
{
	unsigned n = 0;
	size_t pos = 0;
	while (pos < len && n < 128) {
		off[n++] = (uint8_t)pos;
		if (name[pos] == 0)
			break;
		pos += 1 + (size_t)name[pos];
	}
	return n;
}

/* Is name (checked wire) equal to or below apex? The tail must match on a label boundary
 * so that "\5a\3bar" never matches inside a label. */
static bool name_in_zone(const uint8_t *name, size_t len, const uint8_t *apex, size_t apex_len)
{
	if (len < apex_len || memcmp(name + len - apex_len, apex, apex_len) != 0)
		return false;
	uint8_t off[128];
	unsigned n = label_offsets(name, len, off);
	for (unsigned i = 0; i < n; i++)
		if (off[i] == len - apex_len)
			return true;
	return false;
}

/* ---- the table ---- */

#define PAGE_MASK (ZONE_PAGE_SLOTS - 1)

static uint32_t table_size_for(size_t nodes)
{
	uint32_t size = MIN_TABLE;
	while ((size_t)size / 2 < nodes && size < MAX_TABLE)
		size <<= 1;
	return size;
}

static inline uint32_t pages_of(uint32_t mask)
{
	return (mask >> ZONE_PAGE_SHIFT) + 1;
}

/* How many slots of each page a table of this mask uses. */
static inline uint32_t page_used(uint32_t mask)
{
	return mask < PAGE_MASK ? mask + 1 : ZONE_PAGE_SLOTS;
}

static inline const struct zone_node *slot_get(const struct zone_version *z, uint32_t i)
{
	return z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & PAGE_MASK];
}

/* A directory for mask with every page allocated and empty, or NULL. */
static struct zone_page **pages_new(uint32_t mask)
{
	uint32_t n = pages_of(mask);
	struct zone_page **dir = calloc(n, sizeof(*dir));
	if (dir == NULL)
		return NULL;
	for (uint32_t p = 0; p < n; p++) {
		dir[p] = calloc(1, sizeof(*dir[p]));
		if (dir[p] == NULL) {
			for (uint32_t q = 0; q < p; q++)
				free(dir[q]);
			free(dir);
			return NULL;
		}
	}
	return dir;
}

/* Frees the directory and every page in it. */
static void pages_free(struct zone_page **dir, uint32_t mask)
{
	if (dir == NULL)
		return;
	for (uint32_t p = 0; p < pages_of(mask); p++)
		free(dir[p]);
	free(dir);
}

static bool node_named(const struct zone_node *n, const uint8_t *name, size_t len)
{
	return n->name_len == len && memcmp(n->data, name, len) == 0;
}

/* The slot holding name, or UINT32_MAX. The table always has an empty slot (load <= 0.5),
 * so the probe ends; the counter is a second guard. */
static uint32_t table_index(const struct zone_version *z, const uint8_t *name, size_t len)
{
	uint32_t i = (uint32_t)name_hash(z->seed, name, len) & z->mask;
	for (uint32_t probes = 0; probes <= z->mask; probes++) {
		const struct zone_node *n = slot_get(z, i);
		if (n == NULL)
			return UINT32_MAX;
		if (node_named(n, name, len))
			return i;
		i = (i + 1) & z->mask;
	}
	return UINT32_MAX;
}

/* Puts n into the first free slot of its probe sequence in a table nobody shares yet. */
static void raw_put(struct zone_page **dir, uint32_t mask, uint64_t seed, const struct zone_node *n)
{
	uint32_t i = (uint32_t)name_hash(seed, n->data, n->name_len) & mask;
	for (uint32_t probes = 0; probes < mask; probes++) {
		if (dir[i >> ZONE_PAGE_SHIFT]->slot[i & PAGE_MASK] == NULL)
			break;
		i = (i + 1) & mask;
	}
	dir[i >> ZONE_PAGE_SHIFT]->slot[i & PAGE_MASK] = n;
}

static int retired_reserve_pages(struct zone_retired *r, size_t more)
{
	if (r->cap_pages - r->n_pages >= more)
		return NP_OK;
	size_t cap = r->cap_pages < 16 ? 16 : r->cap_pages;
	while (cap - r->n_pages < more)
		cap *= 2;
	struct zone_page **grown = realloc(r->pages, cap * sizeof(*grown));
	if (grown == NULL)
		return NP_ENOMEM;
	r->pages = grown;
	r->cap_pages = cap;
	return NP_OK;
}

/* Writing into a table. A version being built (old == NULL) owns every page and is
 * written in place. A version being derived shares with old each page whose pointer is
 * still old's; the first write to such a page copies it and retires old's copy. */
struct table_writer {
	struct zone_version *z;
	const struct zone_version *old; /* NULL once z owns every page */
	struct zone_retired *retired;
};

/* Has the derive that writes through w copied page p (or built it afresh)? */
static bool page_own(const struct table_writer *w, uint32_t p)
{
	return w->old == NULL || w->z->pages[p] != w->old->pages[p];
}

/* The slot i ready for writing, or NULL when a page copy cannot be allocated. */
static const struct zone_node **slot_w(struct table_writer *w, uint32_t i)
{
	uint32_t p = i >> ZONE_PAGE_SHIFT;
	if (!page_own(w, p)) {
		if (retired_reserve_pages(w->retired, 1) != NP_OK)
			return NULL;
		struct zone_page *copy = malloc(sizeof(*copy));
		if (copy == NULL)
			return NULL;
		memcpy(copy, w->z->pages[p], sizeof(*copy));
		w->retired->pages[w->retired->n_pages++] = w->z->pages[p];
		w->z->pages[p] = copy;
	}
	return &w->z->pages[p]->slot[i & PAGE_MASK];
}

static int table_set(struct table_writer *w, uint32_t i, const struct zone_node *n)
{
	const struct zone_node **s = slot_w(w, i);
	if (s == NULL)
		return NP_ENOMEM;
	*s = n;
	return NP_OK;
}

/* Puts n (absent from the table) into the first free slot of its probe sequence. */
static int table_put(struct table_writer *w, const struct zone_node *n)
{
	const struct zone_version *z = w->z;
	uint32_t i = (uint32_t)name_hash(z->seed, n->data, n->name_len) & z->mask;
	for (uint32_t probes = 0; probes < z->mask && slot_get(z, i) != NULL; probes++)
		i = (i + 1) & z->mask;
	int ret = table_set(w, i, n);
	if (ret == NP_OK)
		w->z->count++;
	return ret;
}

/* Removes slot i by backward-shift deletion: later members of the same probe run move up
 * so that lookups never meet a hole before their key, and no tombstones build up. The
 * probe run may cross page boundaries (and wrap around the table); every page written is
 * copied first. On NP_ENOMEM the table is left half-shifted: the derive fails then and
 * throws it away. */
static int table_remove_at(struct table_writer *w, uint32_t i)
{
	struct zone_version *z = w->z;
	uint32_t mask = z->mask;
	uint32_t hole = i;
	uint32_t j = i;
	if (table_set(w, hole, NULL) != NP_OK)
		return NP_ENOMEM;
	for (uint32_t step = 0; step < mask; step++) {
		j = (j + 1) & mask;
		const struct zone_node *n = slot_get(z, j);
		if (n == NULL)
			break;
		uint32_t home = (uint32_t)name_hash(z->seed, n->data, n->name_len) & mask;
		/* n may move into the hole only if its home is not cyclically in (hole, j]. */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			if (table_set(w, hole, n) != NP_OK || table_set(w, j, NULL) != NP_OK)
				return NP_ENOMEM;
			hole = j;
		}
	}
	z->count--;
	return NP_OK;
}

/* Rebuilds the table of z at size slots, from the nodes of src (z itself or the version z
 * is derived from). The caller decides what becomes of z's previous directory and pages. */
static int table_rebuild(struct zone_version *z, const struct zone_version *src, uint32_t size)
{
	struct zone_page **dir = pages_new(size - 1);
	if (dir == NULL)
		return NP_ENOMEM;
	for (uint32_t i = 0; i <= src->mask; i++) {
		const struct zone_node *n = slot_get(src, i);
		if (n != NULL)
			raw_put(dir, size - 1, z->seed, n);
	}
	z->pages = dir;
	z->mask = size - 1;
	return NP_OK;
}

/* ---- reading ---- */

const struct zone_version *zone_db_find(const struct zone_db *db, const uint8_t *lname, size_t len)
{
	if (db == NULL || len == 0 || len > DNS_NAME_MAX)
		return NULL;
	/* Where labels start in lname: an apex may only match from one of these. */
	uint64_t starts[4] = {0, 0, 0, 0};
	for (size_t pos = 0; pos < len;) {
		starts[pos >> 6] |= 1ULL << (pos & 63);
		if (lname[pos] == 0)
			break;
		pos += 1 + (size_t)lname[pos];
	}
	const struct zone_version *best = NULL;
	for (uint32_t i = 0; i < db->n_zones; i++) {
		const struct zone_version *z = db->zones[i];
		if (z == NULL || z->apex_len > len ||
		    (best != NULL && z->apex_len <= best->apex_len))
			continue;
		size_t off = len - z->apex_len;
		if (((starts[off >> 6] >> (off & 63)) & 1) == 0)
			continue;
		if (memcmp(lname + off, z->apex, z->apex_len) == 0)
			best = z;
	}
	return best;
}

/* The hot path: like table_index, returning the node itself. Per probe: the directory
 * entry, then the slot (the directory of a 100k-name zone is 4 KiB and stays cached). */
const struct zone_node *zone_find(const struct zone_version *z, const uint8_t *lname, size_t len)
{
	uint32_t mask = z->mask;
	struct zone_page *const *dir = z->pages;
	uint32_t i = (uint32_t)name_hash(z->seed, lname, len) & mask;
	for (uint32_t probes = 0; probes <= mask; probes++) {
		const struct zone_node *n = dir[i >> ZONE_PAGE_SHIFT]->slot[i & PAGE_MASK];
		if (n == NULL || node_named(n, lname, len))
			return n;
		i = (i + 1) & mask;
	}
	return NULL;
}

/* zone_find in two steps for a batch of names, so the cache misses of the whole batch
 * overlap instead of coming one after another: the slot's line, then the node's (its
 * header and, in the next line, the name and the first records). The hash is computed
 * again by zone_find; it costs far less than a miss. */
uint32_t zone_find_prefetch_slot(const struct zone_version *z, const uint8_t *lname, size_t len)
{
	uint32_t i = (uint32_t)name_hash(z->seed, lname, len) & z->mask;
	__builtin_prefetch(&z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & PAGE_MASK]);
	return i;
}

void zone_find_prefetch_node(const struct zone_version *z, uint32_t i)
{
	const struct zone_node *n = z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & PAGE_MASK];
	if (n != NULL) {
		__builtin_prefetch(n);
		__builtin_prefetch((const char *)n + 64);
	}
}

/* ---- nodes ---- */

static enum zone_slot slot_of_type(uint16_t type)
{
	switch (type) {
	case ZONE_TYPE_DNSKEY:
		return ZS_DNSKEY;
	case ZONE_TYPE_CDS:
		return ZS_CDS;
	case ZONE_TYPE_CDNSKEY:
		return ZS_CDNSKEY;
	case DNS_TYPE_SOA:
		return ZS_SOA;
	case DNS_TYPE_NS:
		return ZS_NS;
	case DNS_TYPE_A:
		return ZS_A;
	case DNS_TYPE_AAAA:
		return ZS_AAAA;
	case DNS_TYPE_MX:
		return ZS_MX;
	case DNS_TYPE_TXT:
		return ZS_TXT;
	default:
		return ZS_COUNT;
	}
}

/* Rdata must be well formed: it is copied into answers verbatim. */
static bool rdata_valid(uint16_t type, const uint8_t *rd, size_t len)
{
	int n;
	switch (type) {
	case ZONE_TYPE_DNSKEY:
	case ZONE_TYPE_CDNSKEY:
		return len > 4 && rd[2] == 3; /* flags, protocol 3, algorithm, key */
	case ZONE_TYPE_CDS:
		return len > 4; /* key tag, algorithm, digest type, digest */
	case DNS_TYPE_A:
		return len == 4;
	case DNS_TYPE_AAAA:
		return len == 16;
	case DNS_TYPE_NS:
		return dns_name_check(rd, len) == (int)len;
	case DNS_TYPE_MX:
		return len >= 3 && dns_name_check(rd + 2, len - 2) == (int)len - 2;
	case DNS_TYPE_TXT:
		if (len == 0)
			return false;
		for (size_t pos = 0; pos < len; pos += 1 + (size_t)rd[pos])
			if (len - pos - 1 < rd[pos])
				return false;
		return true;
	case DNS_TYPE_SOA:
		n = dns_name_check(rd, len);
		if (n < 0)
			return false;
		int m = dns_name_check(rd + n, len - (size_t)n);
		return m > 0 && (size_t)n + (size_t)m + 20 == len;
	default:
		return false;
	}
}

static bool rr_same(const struct zone_rr_in *a, const struct zone_rr_in *b)
{
	return a->type == b->type && a->rdlen == b->rdlen &&
	       (a->rdlen == 0 || memcmp(a->rdata, b->rdata, a->rdlen) == 0);
}

/* One allocation: the struct, the name, then each RRset rendered as final wire RRs whose
 * owner is the pointer to the question name. Exact duplicate records are dropped (an
 * RRset is a set, RFC 2181 5). */
struct zone_node *zone_node_new(const uint8_t *lname, size_t len, unsigned flags,
                                const struct zone_rr_in *rrs, size_t n)
{
	if (lname == NULL || len == 0 || len > DNS_NAME_MAX ||
	    dns_name_check(lname, len) != (int)len)
		return NULL;
	if (n > ZONE_MAX_RRS_PER_NODE || (n > 0 && rrs == NULL))
		return NULL;
	bool skip[ZONE_MAX_RRS_PER_NODE] = {false};
	unsigned per_slot[ZS_COUNT] = {0};
	size_t total = len;
	for (size_t i = 0; i < n; i++) {
		const struct zone_rr_in *rr = &rrs[i];
		enum zone_slot s = slot_of_type(rr->type);
		if (s == ZS_COUNT || rr->rdlen > ZONE_MAX_RDATA ||
		    (rr->rdlen > 0 && rr->rdata == NULL) ||
		    !rdata_valid(rr->type, rr->rdata, rr->rdlen))
			return NULL;
		for (size_t j = 0; j < i && !skip[i]; j++)
			skip[i] = !skip[j] && rr_same(&rrs[j], rr);
		if (skip[i])
			continue;
		if (++per_slot[s] > ZONE_MAX_RRS_PER_TYPE)
			return NULL;
		total += RR_FIXED_LEN + rr->rdlen;
	}
	if (per_slot[ZS_SOA] > 1 || total >= 65535)
		return NULL;

	struct zone_node *node = malloc(sizeof(*node) + total);
	if (node == NULL)
		return NULL;
	memset(node, 0, sizeof(*node));
	node->flags = (uint8_t)flags;
	node->name_len = (uint8_t)len;
	memcpy(node->data, lname, len);
	size_t pos = len;
	for (int s = 0; s < ZS_COUNT; s++) {
		struct zone_rrset *set = &node->rrsets[s];
		set->off = (uint16_t)pos;
		for (size_t i = 0; i < n; i++) {
			const struct zone_rr_in *rr = &rrs[i];
			if (skip[i] || slot_of_type(rr->type) != (enum zone_slot)s)
				continue;
			uint8_t *p = node->data + pos;
			wire_store_u16(p, 0xC00C);
			wire_store_u16(p + 2, rr->type);
			wire_store_u16(p + 4, DNS_CLASS_IN);
			wire_store_u32(p + 6, rr->ttl);
			wire_store_u16(p + 10, rr->rdlen);
			if (rr->rdlen > 0)
				memcpy(p + RR_FIXED_LEN, rr->rdata, rr->rdlen);
			pos += RR_FIXED_LEN + rr->rdlen;
			set->count++;
		}
		set->len = (uint16_t)(pos - set->off);
		if (set->len == 0)
			set->off = 0;
	}
	return node;
}

/* Rewrites the SOA of a freshly built apex node so that MNAME and RNAME, where they end
 * with the apex, are their leading labels plus a pointer (0xC00C, see zone.h), and records
 * where the pointers are. Every negative answer carries this RR: this is what makes it as
 * small as other servers' (84 instead of 106 octets for a 3-letter name under
 * dyn.example). The node shrinks in place; the bytes freed at its end stay unused. */
static void soa_compress(struct zone_node *node)
{
	struct zone_rrset *set = &node->rrsets[ZS_SOA];
	if (set->count != 1 || node->name_len < 3)
		return; /* no SOA, or the root zone: a pointer would not be shorter */
	uint8_t *rr = node->data + set->off;
	size_t rdlen = wire_load_u16(rr + 10);
	const uint8_t *rd = rr + RR_FIXED_LEN;
	int mlen = dns_name_check(rd, rdlen);
	int rlen = mlen > 0 ? dns_name_check(rd + mlen, rdlen - (size_t)mlen) : -1;
	if (rlen <= 0 || (size_t)mlen + (size_t)rlen + 20 != rdlen)
		return; /* cannot happen: zone_node_new checked it */

	uint8_t out[2 * DNS_NAME_MAX + 20];
	size_t pos = 0;
	uint16_t ptr[2] = {0, 0};
	const uint8_t *names[2] = {rd, rd + mlen};
	size_t lens[2] = {(size_t)mlen, (size_t)rlen};
	for (int k = 0; k < 2; k++) {
		if (!name_in_zone(names[k], lens[k], node->data, node->name_len)) {
			memcpy(out + pos, names[k], lens[k]);
			pos += lens[k];
			continue;
		}
		size_t prefix = lens[k] - node->name_len;
		memcpy(out + pos, names[k], prefix);
		pos += prefix;
		ptr[k] = (uint16_t)(RR_FIXED_LEN + pos);
		wire_store_u16(out + pos, 0xC00C);
		pos += 2;
	}
	memcpy(out + pos, rd + mlen + rlen, 20);
	pos += 20;
	size_t saved = rdlen - pos;
	if (saved == 0)
		return;

	/* The node's data ends with its last RRset; move what follows the SOA down. */
	size_t end = node->name_len;
	for (int s = 0; s < ZS_COUNT; s++)
		if (node->rrsets[s].len > 0 &&
		    (size_t)node->rrsets[s].off + node->rrsets[s].len > end)
			end = (size_t)node->rrsets[s].off + node->rrsets[s].len;
	size_t soa_end = (size_t)set->off + set->len;
	memcpy(rr + RR_FIXED_LEN, out, pos);
	memmove(rr + RR_FIXED_LEN + pos, node->data + soa_end, end - soa_end);
	wire_store_u16(rr + 10, (uint16_t)pos);
	set->len = (uint16_t)(set->len - saved);
	for (int s = 0; s < ZS_COUNT; s++)
		if (s != ZS_SOA && node->rrsets[s].len > 0 && node->rrsets[s].off > set->off)
			node->rrsets[s].off = (uint16_t)(node->rrsets[s].off - saved);
	node->soa_ptr[0] = ptr[0];
	node->soa_ptr[1] = ptr[1];
}

struct zone_node *zone_node_new_apex(const struct cfg_zone *cz, uint32_t serial,
                                     const struct zone_rr_in *extra, size_t n_extra)
{
	uint8_t apex[DNS_NAME_MAX];
	uint8_t ns[CFG_MAX_NS][DNS_NAME_MAX];
	uint8_t soa[2 * DNS_NAME_MAX + 20];
	struct zone_rr_in rrs[ZONE_MAX_RRS_PER_NODE];

	if (cz == NULL || cz->n_ns == 0 || cz->n_ns > CFG_MAX_NS ||
	    n_extra > ZONE_MAX_RRS_PER_NODE - 1 - cz->n_ns || (n_extra > 0 && extra == NULL))
		return NULL;
	int apex_len = dns_name_from_text(cz->name, apex, sizeof(apex));
	if (apex_len < 0)
		return NULL;

	size_t n = 0;
	size_t soa_len = 0;
	for (unsigned i = 0; i < cz->n_ns; i++) {
		int len = dns_name_from_text(cz->ns[i], ns[i], sizeof(ns[i]));
		if (len < 0)
			return NULL;
		if (i == 0) {
			memcpy(soa, ns[0], (size_t)len); /* MNAME: the primary is the first NS */
			soa_len = (size_t)len;
		}
		rrs[1 + i] = (struct zone_rr_in){DNS_TYPE_NS, cz->soa_ttl, (uint16_t)len, ns[i]};
	}
	int rlen = dns_name_from_text(cz->contact, soa + soa_len, sizeof(soa) - soa_len);
	if (rlen < 0)
		return NULL;
	soa_len += (size_t)rlen;
	const uint32_t timers[5] = {serial, cz->refresh, cz->retry, cz->expire, cz->negative_ttl};
	for (int i = 0; i < 5; i++) {
		wire_store_u32(soa + soa_len, timers[i]);
		soa_len += 4;
	}
	rrs[0] = (struct zone_rr_in){DNS_TYPE_SOA, cz->soa_ttl, (uint16_t)soa_len, soa};
	n = 1 + cz->n_ns;
	for (size_t i = 0; i < n_extra; i++) {
		if (extra[i].type == DNS_TYPE_SOA || extra[i].type == DNS_TYPE_NS)
			return NULL;
		rrs[n++] = extra[i];
	}
	struct zone_node *node = zone_node_new(apex, (size_t)apex_len, ZONE_NODE_APEX, rrs, n);
	if (node != NULL)
		soa_compress(node);
	return node;
}

void zone_node_free(struct zone_node *n)
{
	free(n);
}

const struct zone_sigs zone_sigs_none;

enum zone_slot zone_slot_of_type(uint16_t type)
{
	return slot_of_type(type);
}

uint16_t zone_type_of_slot(enum zone_slot s)
{
	static const uint16_t types[ZS_COUNT] = {
	    DNS_TYPE_SOA, DNS_TYPE_NS,       DNS_TYPE_A,    DNS_TYPE_AAAA,       DNS_TYPE_MX,
	    DNS_TYPE_TXT, ZONE_TYPE_DNSKEY, ZONE_TYPE_CDS, ZONE_TYPE_CDNSKEY};
	return s < ZS_COUNT ? types[s] : 0;
}

/* The end of the RRsets inside node->data: where RRSIGs go. */
static size_t rrsets_end(const struct zone_node *node)
{
	size_t end = node->name_len;
	for (int s = 0; s < ZS_COUNT; s++)
		if (node->rrsets[s].len > 0 &&
		    (size_t)node->rrsets[s].off + node->rrsets[s].len > end)
			end = (size_t)node->rrsets[s].off + node->rrsets[s].len;
	return end;
}

bool zone_node_same_records(const struct zone_node *a, const struct zone_node *b)
{
	if (a->flags != b->flags || a->name_len != b->name_len ||
	    memcmp(a->rrsets, b->rrsets, sizeof(a->rrsets)) != 0 ||
	    memcmp(a->soa_ptr, b->soa_ptr, sizeof(a->soa_ptr)) != 0)
		return false;
	/* Equal offsets and lengths: the RRsets end at the same place in both. */
	return memcmp(a->data, b->data, rrsets_end(a)) == 0;
}

/* Writes rr as a pre-rendered record with the owner pointer 0xC00C at p; its length. */
static size_t render_rr(uint8_t *p, const struct zone_rr_in *rr)
{
	wire_store_u16(p, 0xC00C);
	wire_store_u16(p + 2, rr->type);
	wire_store_u16(p + 4, DNS_CLASS_IN);
	wire_store_u32(p + 6, rr->ttl);
	wire_store_u16(p + 10, rr->rdlen);
	memcpy(p + RR_FIXED_LEN, rr->rdata, rr->rdlen);
	return RR_FIXED_LEN + rr->rdlen;
}

struct zone_node *zone_node_with_sigs(const struct zone_node *n, const struct zone_rr_in *sigs,
                                      size_t n_sigs, const struct zone_rr_in *wild,
                                      size_t n_wild)
{
	if (n == NULL || (n_sigs > 0 && sigs == NULL) || n_sigs > 4 * ZS_COUNT ||
	    (n_wild > 0 && wild == NULL) || n_wild > 2 * ZS_COUNT + 2)
		return NULL;
	size_t end = rrsets_end(n);
	/* The struct zone_sigs on an even offset (data is, and so is a malloc'd block),
	 * then the records. */
	size_t sig_off = (end + 1) & ~(size_t)1;
	size_t total = sig_off + sizeof(struct zone_sigs);
	for (size_t i = 0; i < n_sigs; i++) {
		if (sigs[i].type != ZONE_TYPE_RRSIG || sigs[i].rdlen < 20 ||
		    sigs[i].rdlen > ZONE_MAX_RDATA || sigs[i].rdata == NULL)
			return NULL;
		enum zone_slot s = slot_of_type(wire_load_u16(sigs[i].rdata));
		if (s == ZS_COUNT || n->rrsets[s].len == 0)
			return NULL;
		total += RR_FIXED_LEN + sigs[i].rdlen;
	}
	for (size_t i = 0; i < n_wild; i++) {
		if ((wild[i].type != ZONE_TYPE_RRSIG && wild[i].type != ZONE_TYPE_NSEC) ||
		    wild[i].rdlen > ZONE_MAX_RDATA || wild[i].rdata == NULL)
			return NULL;
		total += RR_FIXED_LEN + wild[i].rdlen;
	}
	if (total >= 65535)
		return NULL;
	struct zone_node *node = malloc(sizeof(*node) + total);
	if (node == NULL)
		return NULL;
	memcpy(node, n, sizeof(*node) + end);
	node->sig_off = (uint16_t)sig_off;
	struct zone_sigs *zs = (struct zone_sigs *)(void *)(node->data + sig_off);
	memset(zs, 0, sizeof(*zs));
	size_t pos = sig_off + sizeof(*zs);
	for (int s = 0; s < ZS_COUNT; s++) {
		struct zone_rrset *set = &zs->set[s];
		set->off = (uint16_t)pos;
		for (size_t i = 0; i < n_sigs; i++) {
			if (slot_of_type(wire_load_u16(sigs[i].rdata)) != (enum zone_slot)s)
				continue;
			pos += render_rr(node->data + pos, &sigs[i]);
			set->count++;
		}
		set->len = (uint16_t)(pos - set->off);
		if (set->len == 0)
			set->off = 0;
	}
	if (n_wild > 0) {
		zs->wild.off = (uint16_t)pos;
		for (size_t i = 0; i < n_wild; i++)
			pos += render_rr(node->data + pos, &wild[i]);
		zs->wild.len = (uint16_t)(pos - zs->wild.off);
		zs->wild.count = (uint16_t)n_wild;
	}
	return node;
}

/* The end of what n holds before its NSEC3 region: RRsets, RRSIGs, a wildcard's records. */
static size_t content_end(const struct zone_node *n)
{
	size_t end = rrsets_end(n);
	if (n->sig_off == 0)
		return end;
	const struct zone_sigs *zs = zone_node_sigs(n);
	end = (size_t)n->sig_off + sizeof(*zs);
	for (int s = 0; s < ZS_COUNT + 1; s++) {
		const struct zone_rrset *set = s < ZS_COUNT ? &zs->set[s] : &zs->wild;
		if (set->len > 0 && (size_t)set->off + set->len > end)
			end = (size_t)set->off + set->len;
	}
	return end;
}

struct zone_node *zone_node_with_chain(const struct zone_node *n, const uint8_t *recs, size_t len,
                                       uint16_t count)
{
	if (n == NULL || (len > 0 && recs == NULL))
		return NULL;
	size_t end = n->sig_off != 0 ? content_end(n) : ((rrsets_end(n) + 1) & ~(size_t)1);
	size_t sig_off = n->sig_off != 0 ? n->sig_off : end;
	if (n->sig_off == 0)
		end += sizeof(struct zone_sigs);
	if (end + len >= 65535)
		return NULL;
	struct zone_node *node = malloc(sizeof(*node) + end + len);
	if (node == NULL)
		return NULL;
	memcpy(node, n, sizeof(*node) + (n->sig_off != 0 ? end : rrsets_end(n)));
	node->sig_off = (uint16_t)sig_off;
	struct zone_sigs *zs = (struct zone_sigs *)(void *)(node->data + sig_off);
	if (n->sig_off == 0)
		memset(zs, 0, sizeof(*zs));
	zs->nsec3 = (struct zone_rrset){len > 0 ? (uint16_t)end : 0, (uint16_t)len, count};
	if (len > 0)
		memcpy(node->data + end, recs, len);
	return node;
}

/* ---- versions ---- */

struct zone_version *zone_version_new(const uint8_t *apex, size_t apex_len, uint32_t serial,
                                      size_t capacity_hint)
{
	if (apex == NULL || apex_len == 0 || apex_len > DNS_NAME_MAX ||
	    dns_name_check(apex, apex_len) != (int)apex_len || capacity_hint >= MAX_TABLE / 2)
		return NULL;
	struct zone_version *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	uint32_t size = table_size_for(capacity_hint);
	z->pages = pages_new(size - 1);
	if (z->pages == NULL) {
		free(z);
		return NULL;
	}
	for (size_t i = 0; i < apex_len; i++) /* lowercase: lookups are on lowercase names */
		z->apex[i] = (apex[i] >= 'A' && apex[i] <= 'Z') ? (uint8_t)(apex[i] + 32) : apex[i];
	z->apex_len = (uint8_t)apex_len;
	z->serial = serial;
	z->mask = size - 1;
	z->seed = random_seed();
	return z;
}

/* Offsets (into name) of the ancestors strictly between name and the apex, nearest
 * first. name must be in the zone. */
static unsigned ancestors_below_apex(const uint8_t *name, size_t len, size_t apex_len,
                                     uint8_t anc[128])
{
	uint8_t off[128];
	unsigned n = label_offsets(name, len, off);
	unsigned k = 0;
	for (unsigned i = 1; i < n && len - off[i] > apex_len; i++)
		anc[k++] = off[i];
	return k;
}

int zone_version_insert(struct zone_version *z, struct zone_node *node)
{
	struct zone_node *ents[128];
	unsigned n_ents = 0;
	int ret = NP_EINVAL;

	if (node == NULL)
		return NP_EINVAL;
	const uint8_t *name = node->data;
	size_t len = node->name_len;
	if (!name_in_zone(name, len, z->apex, z->apex_len))
		goto fail;

	ret = NP_ENOMEM;
	uint8_t anc[128];
	unsigned n_anc = ancestors_below_apex(name, len, z->apex_len, anc);
	for (unsigned i = 0; i < n_anc; i++) {
		if (zone_find(z, name + anc[i], len - anc[i]) != NULL)
			continue;
		ents[n_ents] = zone_node_new(name + anc[i], len - anc[i], ZONE_NODE_ENT, NULL, 0);
		if (ents[n_ents] == NULL)
			goto fail;
		n_ents++;
	}
	size_t need = (size_t)z->count + 1 + n_ents;
	if (need > ((size_t)z->mask + 1) / 2) {
		struct zone_page **prev = z->pages;
		uint32_t prev_mask = z->mask;
		if (need >= MAX_TABLE / 2 || table_rebuild(z, z, table_size_for(need)) != 0)
			goto fail;
		pages_free(prev, prev_mask); /* all ours: nothing was derived from z */
	}

	/* From here nothing can fail: z owns every page, so no write needs a copy. */
	struct table_writer w = {z, NULL, NULL};
	uint32_t i = table_index(z, name, len);
	if (i != UINT32_MAX) {
		struct zone_node *prev = (struct zone_node *)slot_get(z, i);
		(void)table_set(&w, i, node);
		if (prev != node)
			zone_node_free(prev);
	} else {
		(void)table_put(&w, node);
	}
	for (unsigned e = 0; e < n_ents; e++)
		(void)table_put(&w, ents[e]);
	if (len == z->apex_len)
		z->apex_node = node;
	return NP_OK;
fail:
	for (unsigned e = 0; e < n_ents; e++)
		zone_node_free(ents[e]);
	zone_node_free(node);
	return ret;
}

int zone_version_replace(struct zone_version *z, struct zone_node *node)
{
	uint32_t i = table_index(z, node->data, node->name_len);
	if (i == UINT32_MAX) {
		zone_node_free(node);
		return NP_EINVAL;
	}
	struct zone_node *prev = (struct zone_node *)slot_get(z, i);
	struct table_writer w = {z, NULL, NULL};
	(void)table_set(&w, i, node); /* z owns its pages: no copy, cannot fail */
	if (prev != node)
		zone_node_free(prev);
	if (node->name_len == z->apex_len)
		z->apex_node = node;
	return NP_OK;
}

/* Scratch state of one derive: what was displaced from the new table, and which ENT nodes
 * it created (freed again if the derive fails). */
struct derive {
	struct table_writer w;
	const struct zone_node **displaced;
	size_t n_displaced;
	struct zone_node **created;
	size_t n_created, cap_created;
};

static int derive_displace(struct derive *d, uint32_t i)
{
	d->displaced[d->n_displaced++] = slot_get(d->w.z, i);
	return table_remove_at(&d->w, i);
}

static int derive_add_ent(struct derive *d, const uint8_t *name, size_t len)
{
	if (d->n_created == d->cap_created)
		return NP_ENOMEM; /* cannot happen: the bound is computed up front */
	struct zone_node *ent = zone_node_new(name, len, ZONE_NODE_ENT, NULL, 0);
	if (ent == NULL)
		return NP_ENOMEM;
	d->created[d->n_created++] = ent;
	return table_put(&d->w, ent);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const void *const *)a;
	uintptr_t y = (uintptr_t) * (const void *const *)b;
	return x < y ? -1 : x > y;
}

/* An affected name after removals: a removed name or one of its ancestors below the apex.
 * needed says whether some real (non-ENT) node still lies below it. */
struct affected {
	const uint8_t *name;
	uint8_t len;
	bool needed;
};

/* Marks every affected name that is a proper ancestor of a real node in the new table.
 * One pass over the table (reading only), only on derives that remove names. */
static void mark_needed(const struct zone_version *nz, struct affected *aff, size_t n_aff)
{
	for (uint32_t i = 0; i <= nz->mask; i++) {
		const struct zone_node *n = slot_get(nz, i);
		if (n == NULL || (n->flags & ZONE_NODE_ENT) != 0)
			continue;
		uint8_t off[128];
		unsigned n_off = label_offsets(n->data, n->name_len, off);
		for (size_t a = 0; a < n_aff; a++) {
			if (aff[a].needed || aff[a].len >= n->name_len)
				continue;
			size_t start = (size_t)n->name_len - aff[a].len;
			if (memcmp(n->data + start, aff[a].name, aff[a].len) != 0)
				continue;
			for (unsigned k = 1; k < n_off; k++)
				if (off[k] == start)
					aff[a].needed = true;
		}
	}
}

/* Frees what a failed or discarded derive allocated in nz: the pages it copied or built
 * (those whose pointer is not old's; every page after a resize), and the directory. */
static void derive_free_pages(struct zone_version *nz, const struct zone_version *old)
{
	if (nz->pages == NULL)
		return;
	bool same = nz->mask == old->mask;
	for (uint32_t p = 0; p < pages_of(nz->mask); p++)
		if (!same || nz->pages[p] != old->pages[p])
			free(nz->pages[p]);
	free(nz->pages);
	nz->pages = NULL;
}

/* A removed name this derive acts on: well formed and strictly below the apex (the apex
 * stays; foreign names are not ours). */
static bool derive_removable(const struct zone_version *old, const uint8_t *name, size_t len)
{
	return len > old->apex_len && len <= DNS_NAME_MAX &&
	       dns_name_check(name, len) == (int)len &&
	       name_in_zone(name, len, old->apex, old->apex_len);
}

/* Bounds, computed before changing anything: grow, the nodes repl may add (each with its
 * missing ancestors as ENTs), and cap_aff, the affected names (each removed name and its
 * ancestors). False when a repl node is missing or lies outside the zone. */
static bool derive_bounds(const struct zone_version *old, struct zone_node *const *repl,
                          size_t n_repl, const uint8_t *const *removed, const size_t *removed_len,
                          size_t n_removed, size_t *grow, size_t *cap_aff)
{
	uint8_t anc[128];
	*grow = 0;
	*cap_aff = 0;
	for (size_t r = 0; r < n_repl; r++) {
		const struct zone_node *n = repl[r];
		if (n == NULL || !name_in_zone(n->data, n->name_len, old->apex, old->apex_len))
			return false;
		*grow += 1 + ancestors_below_apex(n->data, n->name_len, old->apex_len, anc);
	}
	for (size_t r = 0; r < n_removed; r++) {
		size_t len = removed_len[r];
		if (derive_removable(old, removed[r], len))
			*cap_aff += 1 + ancestors_below_apex(removed[r], len, old->apex_len, anc);
	}
	return true;
}

/* Allocates the scratch arrays to their bounds and makes room in retired for every node
 * this derive may retire, so that retiring at the end cannot fail. What was allocated
 * stays in d and *aff for the caller to free, on failure too. */
static int derive_alloc(struct derive *d, struct affected **aff, size_t n_repl, size_t grow,
                        size_t cap_aff, struct zone_retired *retired)
{
	d->displaced = malloc((n_repl + cap_aff + 1) * sizeof(*d->displaced));
	d->cap_created = grow + cap_aff;
	d->created = malloc((d->cap_created + 1) * sizeof(*d->created));
	*aff = malloc((cap_aff + 1) * sizeof(**aff));
	if (d->displaced == NULL || d->created == NULL || *aff == NULL)
		return NP_ENOMEM;
	size_t want = retired->n + n_repl + cap_aff;
	if (want > retired->cap) {
		struct zone_node **grown = realloc(retired->nodes, want * sizeof(*grown));
		if (grown == NULL)
			return NP_ENOMEM;
		retired->nodes = grown;
		retired->cap = want;
	}
	return NP_OK;
}

/* Gives nz its table of size slots and points d's writer at it: old's directory copied
 * (pages shared, copied on first write) when the size stays, else a rebuilt table, every
 * page of old then going to retired. */
static int derive_table(struct derive *d, struct zone_version *nz, const struct zone_version *old,
                        uint32_t size, struct zone_retired *retired)
{
	d->w = (struct table_writer){nz, old, retired};
	if (size == old->mask + 1) {
		/* Copy on write: a new directory, every page still old's. */
		size_t dir = (size_t)pages_of(old->mask) * sizeof(*nz->pages);
		nz->pages = malloc(dir);
		if (nz->pages == NULL)
			return NP_ENOMEM;
		memcpy(nz->pages, old->pages, dir);
	} else {
		/* Growing rebuilds the table: every page is new and every page of old retires. */
		if (retired_reserve_pages(retired, pages_of(old->mask)) != NP_OK ||
		    table_rebuild(nz, old, size) != NP_OK)
			return NP_ENOMEM;
		for (uint32_t p = 0; p < pages_of(old->mask); p++)
			retired->pages[retired->n_pages++] = old->pages[p];
		d->w.old = NULL;
	}
	return NP_OK;
}

/* Takes the removed names out of the new table and lists them with their ancestors in
 * aff, whose ENT status the removals may change. */
static int derive_remove(struct derive *d, const struct zone_version *old,
                         const uint8_t *const *removed, const size_t *removed_len, size_t n_removed,
                         struct affected *aff, size_t *n_aff)
{
	struct zone_version *nz = d->w.z;
	uint8_t anc[128];
	size_t n = 0;
	for (size_t r = 0; r < n_removed; r++) {
		const uint8_t *name = removed[r];
		size_t len = removed_len[r];
		if (!derive_removable(old, name, len))
			continue;
		uint32_t i = table_index(nz, name, len);
		if (i != UINT32_MAX && derive_displace(d, i) != NP_OK)
			return NP_ENOMEM;
		aff[n++] = (struct affected){name, (uint8_t)len, false};
		unsigned k = ancestors_below_apex(name, len, old->apex_len, anc);
		for (unsigned a = 0; a < k; a++)
			aff[n++] = (struct affected){name + anc[a], (uint8_t)(len - anc[a]), false};
	}
	*n_aff = n;
	return NP_OK;
}

/* Puts each repl node in place of its namesake (or adds it, with ENTs for its missing
 * ancestors). */
static int derive_replace(struct derive *d, struct zone_node *const *repl, size_t n_repl)
{
	struct zone_version *nz = d->w.z;
	uint8_t anc[128];
	for (size_t r = 0; r < n_repl; r++) {
		struct zone_node *n = repl[r];
		uint32_t i = table_index(nz, n->data, n->name_len);
		if (i == UINT32_MAX) {
			if (table_put(&d->w, n) != NP_OK)
				return NP_ENOMEM;
		} else if (slot_get(nz, i) != n) {
			d->displaced[d->n_displaced++] = slot_get(nz, i);
			if (table_set(&d->w, i, n) != NP_OK)
				return NP_ENOMEM;
		}
		if (n->name_len == nz->apex_len)
			nz->apex_node = n;
		unsigned k = ancestors_below_apex(n->data, n->name_len, nz->apex_len, anc);
		for (unsigned a = 0; a < k; a++) {
			const uint8_t *an = n->data + anc[a];
			size_t alen = n->name_len - anc[a];
			if (table_index(nz, an, alen) == UINT32_MAX &&
			    derive_add_ent(d, an, alen) != 0)
				return NP_ENOMEM;
		}
	}
	return NP_OK;
}

/* Removals change which names are empty non-terminals: a removed name with real
 * descendants comes back as an ENT, an ENT with none left goes (RFC 8020 needs NXDOMAIN
 * to mean that nothing exists below). */
static int derive_fix_ents(struct derive *d, struct affected *aff, size_t n_aff)
{
	struct zone_version *nz = d->w.z;
	mark_needed(nz, aff, n_aff);
	for (size_t a = 0; a < n_aff; a++) {
		uint32_t i = table_index(nz, aff[a].name, aff[a].len);
		if (aff[a].needed && i == UINT32_MAX) {
			if (derive_add_ent(d, aff[a].name, aff[a].len) != 0)
				return NP_ENOMEM;
		} else if (!aff[a].needed && i != UINT32_MAX &&
		           (slot_get(nz, i)->flags & ZONE_NODE_ENT) != 0) {
			if (derive_displace(d, i) != NP_OK)
				return NP_ENOMEM;
		}
	}
	return NP_OK;
}

/* Displaced nodes that old holds are retired (readers may still see them); the others
 * were born in this derive (repl namesakes, short-lived ENTs) and go now. A node can be
 * displaced twice or come back through repl, so dedupe and check the new table. Cannot
 * fail: derive_alloc made room in retired. */
static void derive_retire(struct derive *d, const struct zone_version *old,
                          struct zone_retired *retired)
{
	const struct zone_version *nz = d->w.z;
	qsort(d->displaced, d->n_displaced, sizeof(*d->displaced), cmp_ptr);
	for (size_t k = 0; k < d->n_displaced; k++) {
		const struct zone_node *n = d->displaced[k];
		if (k > 0 && d->displaced[k - 1] == n)
			continue;
		if (zone_find(nz, n->data, n->name_len) == n)
			continue;
		if (zone_find(old, n->data, n->name_len) == n)
			retired->nodes[retired->n++] = (struct zone_node *)n;
		else
			zone_node_free((struct zone_node *)n);
	}
}

struct zone_version *zone_version_derive(const struct zone_version *old, uint32_t serial,
                                         struct zone_node *const *repl, size_t n_repl,
                                         const uint8_t *const *removed, const size_t *removed_len,
                                         size_t n_removed, struct zone_retired *retired)
{
	struct derive d = {0};
	struct affected *aff = NULL;
	size_t n_aff = 0;
	struct zone_version *nz = NULL;
	size_t retired_pages_before = retired->n_pages;

	size_t grow, cap_aff;
	if (!derive_bounds(old, repl, n_repl, removed, removed_len, n_removed, &grow, &cap_aff))
		return NULL;
	size_t bound = (size_t)old->count + grow + cap_aff;
	if (bound >= MAX_TABLE / 2)
		return NULL;
	uint32_t size = old->mask + 1;
	if (bound > size / 2)
		size = table_size_for(bound);

	nz = malloc(sizeof(*nz));
	if (nz == NULL)
		return NULL;
	*nz = *old;
	nz->serial = serial;
	nz->pages = NULL;
	nz->journal = NULL;
	if (derive_alloc(&d, &aff, n_repl, grow, cap_aff, retired) != NP_OK ||
	    derive_table(&d, nz, old, size, retired) != NP_OK ||
	    derive_remove(&d, old, removed, removed_len, n_removed, aff, &n_aff) != NP_OK ||
	    derive_replace(&d, repl, n_repl) != NP_OK ||
	    (n_aff > 0 && derive_fix_ents(&d, aff, n_aff) != NP_OK))
		goto fail;
	derive_retire(&d, old, retired);
	free(aff);
	free(d.created);
	free(d.displaced);
	return nz;
fail:
	/* Nothing of old was freed or changed; the pages this derive copied go, and the old
	 * pages it had retired are old's again. */
	for (size_t k = 0; k < d.n_created; k++)
		zone_node_free(d.created[k]);
	free(aff);
	free(d.created);
	free(d.displaced);
	retired->n_pages = retired_pages_before;
	derive_free_pages(nz, old);
	free(nz);
	return NULL;
}

int zone_version_patch(struct zone_version *nz, const struct zone_version *old,
                       struct zone_node *const *nodes, size_t n, struct zone_retired *retired)
{
	int ret = NP_OK;
	size_t k = 0;
	if (retired->cap - retired->n < n) {
		struct zone_node **grown = realloc(retired->nodes, (retired->n + n) * sizeof(*grown));
		if (grown == NULL) {
			ret = NP_ENOMEM;
			goto done;
		}
		retired->nodes = grown;
		retired->cap = retired->n + n;
	}
	/* Pages nz still shares with old are copied on first write (a resized nz owns all). */
	struct table_writer w = {nz, nz->mask == old->mask ? old : NULL, retired};
	for (; k < n; k++) {
		struct zone_node *node = nodes[k];
		uint32_t i = table_index(nz, node->data, node->name_len);
		if (i == UINT32_MAX) {
			ret = NP_EINVAL;
			goto done;
		}
		const struct zone_node *was = slot_get(nz, i);
		if (table_set(&w, i, node) != NP_OK) {
			ret = NP_ENOMEM;
			goto done;
		}
		if (node->name_len == nz->apex_len)
			nz->apex_node = node;
		if (was == node)
			continue;
		if (zone_find(old, was->data, was->name_len) == was)
			retired->nodes[retired->n++] = (struct zone_node *)was;
		else
			zone_node_free((struct zone_node *)was);
	}
done:
	for (; k < n; k++)
		zone_node_free(nodes[k]);
	return ret;
}

void zone_version_free_table(struct zone_version *z)
{
	if (z == NULL)
		return;
	zone_journal_free(z->journal);
	free(z->pages);
	free(z);
}

void zone_version_free_all(struct zone_version *z)
{
	if (z == NULL)
		return;
	for (uint32_t i = 0; i <= z->mask; i++)
		zone_node_free((struct zone_node *)slot_get(z, i));
	pages_free(z->pages, z->mask);
	zone_journal_free_all(z->journal);
	free(z->conf);
	free(z);
}

void zone_version_discard(struct zone_version *nz, const struct zone_version *old)
{
	if (nz == NULL)
		return;
	/* Nodes born in the derive sit only in pages it wrote, hence copied. */
	bool same = nz->mask == old->mask;
	for (uint32_t p = 0; p < pages_of(nz->mask); p++) {
		if (same && nz->pages[p] == old->pages[p])
			continue;
		for (uint32_t j = 0; j < page_used(nz->mask); j++) {
			const struct zone_node *n = nz->pages[p]->slot[j];
			if (n != NULL && zone_find(old, n->data, n->name_len) != n)
				zone_node_free((struct zone_node *)n);
		}
	}
	derive_free_pages(nz, old);
	zone_journal_free(nz->journal);
	free(nz);
}

void zone_retired_free_nodes(struct zone_retired *r)
{
	for (size_t i = 0; i < r->n; i++)
		zone_node_free(r->nodes[i]);
	r->n = 0;
	for (size_t i = 0; i < r->n_pages; i++)
		free(r->pages[i]);
	r->n_pages = 0;
	for (size_t i = 0; i < r->n_j; i++)
		free(r->jentries[i]);
	r->n_j = 0;
}

void zone_retired_deinit(struct zone_retired *r)
{
	zone_retired_free_nodes(r);
	zone_retired_drop(r);
}

void zone_retired_drop(struct zone_retired *r)
{
	free(r->nodes);
	free(r->pages);
	free(r->jentries);
	memset(r, 0, sizeof(*r));
}

/* ---- pins ---- */

void zone_pins_init(struct zone_pins *p)
{
	pthread_mutex_init(&p->mu, NULL);
	memset(p->gen, 0, sizeof(p->gen));
}

void zone_pins_destroy(struct zone_pins *p)
{
	pthread_mutex_destroy(&p->mu);
}

int zone_pin(struct zone_pins *p, uint64_t gen)
{
	int slot = -1;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < ZONE_PINS_MAX && slot < 0; i++) {
		if (p->gen[i] == 0) {
			p->gen[i] = gen;
			slot = i;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return slot;
}

void zone_unpin(struct zone_pins *p, int slot)
{
	if (slot < 0 || slot >= ZONE_PINS_MAX)
		return;
	pthread_mutex_lock(&p->mu);
	p->gen[slot] = 0;
	pthread_mutex_unlock(&p->mu);
}

uint64_t zone_pins_oldest(struct zone_pins *p)
{
	uint64_t oldest = UINT64_MAX;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < ZONE_PINS_MAX; i++)
		if (p->gen[i] != 0 && p->gen[i] < oldest)
			oldest = p->gen[i];
	pthread_mutex_unlock(&p->mu);
	return oldest;
}
