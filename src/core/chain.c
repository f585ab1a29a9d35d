/* SPDX-License-Identifier: MIT */
/* The publisher's side of the NSEC3 chain: building it with a zone, splicing it per batch. */
#include "core/chain.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "dns/constants.h"
#include "dns/name.h"
#include "dns/wire.h"

/* The TTLs of the chain: NSEC3 as negative answers (RFC 9077: the lower of the SOA's TTL
 * and its MINIMUM), NSEC3PARAM as the SOA. */
static uint32_t nsec3_ttl(const struct cfg_zone *cz)
{
	return cz->soa_ttl < cz->negative_ttl ? cz->soa_ttl : cz->negative_ttl;
}

static const struct zone_node *slot_node(const struct zone_version *z, uint32_t i)
{
	return z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & (ZONE_PAGE_SLOTS - 1)];
}

/* node with the chain records it should carry now (prev: its previous version, whose
 * records are reused where unchanged); *same when they are what node holds already. */
static struct zone_node *with_records(const struct dnssec_zone *dz, const struct cfg_zone *cz,
                                      const struct nsec3_index *ix, const struct zone_node *node,
                                      const struct zone_node *prev, uint32_t now, bool *same,
                                      int *err)
{
	static _Thread_local uint8_t buf[NSEC3_NODE_RECORDS_MAX];
	uint16_t count;
	long len = nsec3_node_records(dz, ix, node, prev, nsec3_ttl(cz), cz->soa_ttl, now, buf,
	                              sizeof(buf), &count);
	*same = false;
	if (len < 0) {
		*err = (int)len;
		return NULL;
	}
	const struct zone_rrset *have = &zone_node_sigs(node)->nsec3;
	if (have->len == (size_t)len && have->count == count &&
	    memcmp(node->data + have->off, buf, (size_t)len) == 0) {
		*same = true;
		return NULL;
	}
	struct zone_node *n = zone_node_with_chain(node, buf, (size_t)len, count);
	*err = n == NULL ? NP_ENOMEM : NP_OK;
	return n;
}

int chain_build(const struct dnssec_zone *dz, const struct cfg_zone *cz, struct zone_version *z,
                const struct zone_version *prev, struct nsec3_index **out)
{
	*out = NULL;
	struct nsec3_index *ix = nsec3_index_build(z);
	if (ix == NULL)
		return NP_ENOMEM;
	int ret = NP_OK;
	uint32_t now = (uint32_t)time(NULL);
	for (uint32_t i = 0; ret == NP_OK && i <= z->mask; i++) {
		const struct zone_node *node = slot_node(z, i);
		if (node == NULL)
			continue;
		/* Nodes come unsigned (but the apex): signed here, and then given their chain
		 * records, each replacing its unsigned self at once. One node at a time keeps
		 * the heap from holding the whole zone twice. */
		struct zone_node *signed_node = NULL;
		const struct zone_node *was =
		    prev != NULL ? zone_find(prev, node->data, node->name_len) : NULL;
		if (was != NULL && !zone_node_same_records(node, was))
			was = NULL;
		if (node->sig_off == 0 && (node->flags & ZONE_NODE_ENT) == 0) {
			/* The same records as before: the same signatures (without the chain
			 * records, which with_records makes or takes from was). */
			signed_node = was != NULL && was->sig_off != 0
			                  ? zone_node_with_chain(was, NULL, 0, 0)
			                  : dnssec_sign_node(dz, node, nsec3_ttl(cz), now);
			if (signed_node == NULL) {
				ret = NP_ENOMEM;
				break;
			}
		}
		bool same;
		struct zone_node *made = with_records(
		    dz, cz, ix, signed_node != NULL ? signed_node : node, was, now, &same, &ret);
		if (made == NULL && same) {
			made = signed_node; /* no chain records: not in the chain */
			signed_node = NULL;
		}
		zone_node_free(signed_node);
		if (made != NULL)
			ret = zone_version_replace(z, made);
	}
	/* What the unsigned nodes left: back to the system. */
	malloc_trim(0);
	if (ret != NP_OK) {
		nsec3_index_free(ix);
		return ret;
	}
	*out = ix;
	return NP_OK;
}

/* A name the splice looks at, copied (the nodes it came from may be freed meanwhile). */
struct cname {
	uint8_t len;
	uint8_t name[DNS_NAME_MAX];
	bool had, had_wild; /* its owners were in the chain (the old version's) */
	bool has;           /* the name is in the new version's chain */
	bool had_data;      /* it had records in the old version */
	bool data;          /* it has records in the new version */
	int64_t below;      /* names with records below it in the new version */
};

static int cname_cmp(const void *a, const void *b)
{
	const struct cname *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->name, y->name, x->len);
}

/* Sorts and drops duplicates; the new count. */
static size_t cname_unique(struct cname *c, size_t n)
{
	if (n == 0)
		return 0;
	qsort(c, n, sizeof(*c), cname_cmp);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (cname_cmp(&c[i], &c[k - 1]) != 0)
			c[k++] = c[i];
	return k;
}

/* The names of the batch and every ancestor of theirs below the apex: the only ones whose
 * existence (ENTs come and go with their descendants) or types can have changed. */
static struct cname *changed_names(const struct zone_version *nz, const uint8_t *const *names,
                                   const size_t *lens, size_t n, size_t *out_n)
{
	size_t cap = 1;
	for (size_t i = 0; i < n; i++)
		cap += 1 + dns_name_labels(names[i]);
	struct cname *c = malloc(cap * sizeof(*c));
	if (c == NULL)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = names[i];
		size_t len = lens[i];
		while (len >= nz->apex_len && k < cap) {
			c[k].len = (uint8_t)len;
			memcpy(c[k++].name, p, len);
			if (len == nz->apex_len || p[0] == 0)
				break;
			len -= 1 + (size_t)p[0];
			p += 1 + p[0];
		}
	}
	*out_n = cname_unique(c, k);
	return c;
}

/* Whether name (len) lies strictly below anc (alen): its suffix at a label boundary. */
static bool is_below(const uint8_t *name, size_t len, const uint8_t *anc, size_t alen)
{
	if (len <= alen || memcmp(name + len - alen, anc, alen) != 0)
		return false;
	size_t pos = 0;
	while (pos < len - alen && name[pos] != 0)
		pos += 1 + (size_t)name[pos];
	return pos == len - alen;
}

/* Which of the names in c are in the chain before (ix, not changed yet) and after, and how
 * many names with data lie below each after. A name is in the chain when it, or a name
 * below it, has records. c holds every ancestor of the batch's names, and only those names
 * changed: each count moves by the names of the batch below it that gained or lost their
 * records, so no other name needs a look. */
static void in_chain_now(const struct nsec3_index *ix, const struct zone_version *old,
                         const struct zone_version *nz, struct cname *c, size_t n_c)
{
	for (size_t i = 0; i < n_c; i++) {
		const struct nsec3_entry *e = nsec3_index_find(ix, c[i].name, c[i].len, false);
		const struct zone_node *o = zone_find(old, c[i].name, c[i].len);
		const struct zone_node *nn = zone_find(nz, c[i].name, c[i].len);
		c[i].had = e != NULL;
		c[i].below = e != NULL ? e->below : 0;
		c[i].had_wild = nsec3_index_find(ix, c[i].name, c[i].len, true) != NULL;
		c[i].had_data = o != NULL && nsec3_has_data(o);
		c[i].data = nn != NULL && nsec3_has_data(nn);
	}
	for (size_t i = 0; i < n_c; i++) {
		if (c[i].data == c[i].had_data)
			continue;
		for (size_t j = 0; j < n_c; j++)
			if (is_below(c[i].name, c[i].len, c[j].name, c[j].len))
				c[j].below += c[i].data ? 1 : -1;
	}
	for (size_t i = 0; i < n_c; i++)
		c[i].has =
		    zone_find(nz, c[i].name, c[i].len) != NULL && (c[i].data || c[i].below > 0);
}

int chain_splice(const struct dnssec_zone *dz, const struct cfg_zone *cz, struct nsec3_index *ix,
                 const struct zone_version *old, struct zone_version *nz,
                 const uint8_t *const *names, const size_t *lens, size_t n,
                 struct zone_retired *retired, struct zone_jentry **entry, bool *reset)
{
	size_t n_c = 0;
	struct cname *c = changed_names(nz, names, lens, n, &n_c);
	/* What to give records: the names above that nz holds, and the owners before each
	 * owner that came or went (their NSEC3 names the next owner): at most two each. */
	struct cname *r = malloc((3 * n_c + 1) * sizeof(*r));
	struct zone_node **patch = malloc((3 * n_c + 1) * sizeof(*patch));
	uint8_t *jbuf = NULL;
	size_t jlen = 0, jcap = 0, n_r = 0, n_patch = 0;
	int ret = c == NULL || r == NULL || patch == NULL ? NP_ENOMEM : NP_OK;
	if (ret == NP_OK)
		in_chain_now(ix, old, nz, c, n_c);
	for (size_t i = 0; ret == NP_OK && i < n_c; i++) {
		const struct zone_node *nn = zone_find(nz, c[i].name, c[i].len);
		if (nn != NULL)
			r[n_r++] = c[i];
		for (int wild = 0; wild <= 1 && ret == NP_OK; wild++) {
			bool had = wild ? c[i].had_wild : c[i].had;
			bool has = wild ? nn != NULL && nsec3_has_wild(nn) : c[i].has;
			if (had == has)
				continue;
			if (has)
				ret = nsec3_index_add(ix, c[i].name, c[i].len, wild);
			else if (!nsec3_index_remove(ix, c[i].name, c[i].len, wild))
				ret = NP_EINVAL;
			if (ret != NP_OK || ix->n == 0)
				continue;
			/* The owner before this one in the chain, as it is now. */
			uint8_t h[NSEC3_HASH_LEN], o_name[DNS_NAME_MAX];
			size_t len = c[i].len;
			if (wild) {
				o_name[0] = 1;
				o_name[1] = '*';
			}
			memcpy(o_name + (wild ? 2 : 0), c[i].name, len);
			ret = nsec3_hash(o_name, len + (wild ? 2 : 0), h);
			size_t at = nsec3_index_lower(ix, h);
			const struct nsec3_entry *prev = &ix->e[(at + ix->n - 1) % ix->n];
			r[n_r].len = prev->name_len;
			memcpy(r[n_r++].name, prev->name, prev->name_len);
		}
		struct nsec3_entry *e = nsec3_index_find(ix, c[i].name, c[i].len, false);
		if (e != NULL)
			e->below = c[i].below > 0 ? (uint32_t)c[i].below : 0;
	}
	if (ret == NP_OK)
		n_r = cname_unique(r, n_r);
	uint32_t now = (uint32_t)time(NULL);
	for (size_t i = 0; ret == NP_OK && i < n_r; i++) {
		const struct zone_node *node = zone_find(nz, r[i].name, r[i].len);
		bool same;
		if (node == NULL)
			continue; /* a neighbour that is gone too: its own removal handles it */
		struct zone_node *made = with_records(
		    dz, cz, ix, node, zone_find(old, r[i].name, r[i].len), now, &same, &ret);
		if (made != NULL)
			patch[n_patch++] = made;
	}
	if (ret == NP_OK)
		ret = zone_version_patch(nz, old, patch, n_patch, retired);
	else
		for (size_t i = 0; i < n_patch; i++)
			zone_node_free(patch[i]);
	/* The journal: what each owner's records were and are (names in c that went away
	 * lose theirs; r holds the rest). */
	for (size_t i = 0; ret == NP_OK && *entry != NULL && !*reset && i < n_c + n_r; i++) {
		const struct cname *x = i < n_c ? &c[i] : &r[i - n_c];
		const struct zone_node *now_node = zone_find(nz, x->name, x->len);
		if ((i < n_c) == (now_node != NULL))
			continue; /* in r; or in r but gone, which c has written already */
		int j = zone_jentry_add_chain(&jbuf, &jlen, &jcap, nz->apex, nz->apex_len,
		                              zone_find(old, x->name, x->len), now_node);
		if (j == NP_ETOOBIG)
			*reset = true;
		else
			ret = j;
	}
	if (ret == NP_OK && *entry != NULL && !*reset && jlen > 0) {
		struct zone_jentry *e = *entry;
		uint8_t *all = malloc((size_t)e->len + jlen);
		struct zone_jentry *longer = NULL;
		if (all != NULL && (size_t)e->len + jlen <= ZONE_JOURNAL_MAX_BYTES) {
			memcpy(all, e->data, e->len);
			memcpy(all + e->len, jbuf, jlen);
			longer = zone_jentry_new(e->from, e->to, all, (size_t)e->len + jlen);
		}
		if (longer != NULL) {
			longer->id = e->id;
			free(e);
			*entry = longer;
		} else if (all != NULL) {
			*reset = true; /* too big for one entry: the history starts anew */
		} else {
			ret = NP_ENOMEM;
		}
		free(all);
	}
	if (*reset && *entry != NULL) {
		free(*entry);
		*entry = NULL;
	}
	free(jbuf);
	free(c);
	free(r);
	free(patch);
	return ret;
}

/* An RRSIG's inception, from its rdata: type covered, algorithm, labels, original TTL and
 * expiration come first (RFC 4034 3.1). */
static uint32_t rrsig_inception(const uint8_t *rdata, size_t rdlen)
{
	return rdlen >= 16 ? wire_load_u32(rdata + 12) : UINT32_MAX;
}

uint32_t chain_oldest_inception(const struct zone_node *node)
{
	const struct zone_sigs *s = zone_node_sigs(node);
	uint32_t oldest = UINT32_MAX;
	/* Each set's records: owner 0xC00C, type, class, TTL, rdlength, rdata. One signing
	 * makes every RRSIG of a set, so the first one tells. */
	for (int i = 0; i < ZS_COUNT; i++) {
		if (s->set[i].len < 12)
			continue;
		const uint8_t *rr = node->data + s->set[i].off;
		uint32_t t = rrsig_inception(rr + 12, s->set[i].len - 12);
		oldest = t < oldest ? t : oldest;
	}
	/* The chain's records: one octet n, n octets of owner, then type .. rdata. Their
	 * RRSIGs may be older than the node's (kept while the NSEC3 stayed the same). */
	const uint8_t *p = node->data + s->nsec3.off, *end = p + s->nsec3.len;
	for (uint16_t k = 0; k < s->nsec3.count && p < end; k++) {
		p += 1 + (size_t)p[0];
		if (p + 10 > end)
			break;
		uint16_t type = wire_load_u16(p), rdlen = wire_load_u16(p + 8);
		if (p + 10 + rdlen > end)
			break;
		if (type == DNSSEC_TYPE_RRSIG) {
			uint32_t t = rrsig_inception(p + 10, rdlen);
			oldest = t < oldest ? t : oldest;
		}
		p += 10 + rdlen;
	}
	return oldest;
}

struct zone_node *chain_resign(const struct dnssec_zone *dz, const struct cfg_zone *cz,
                               const struct nsec3_index *ix, const struct zone_node *node,
                               const struct zone_node *prev, uint32_t now, int *err)
{
	struct zone_node *signed_node = NULL;
	*err = NP_OK;
	if ((node->flags & (ZONE_NODE_ENT | ZONE_NODE_APEX)) == 0) {
		signed_node = dnssec_sign_node(dz, node, nsec3_ttl(cz), now);
		if (signed_node == NULL) {
			*err = NP_ENOMEM;
			return NULL;
		}
	}
	bool same;
	struct zone_node *made = with_records(dz, cz, ix, signed_node != NULL ? signed_node : node,
	                                      signed_node != NULL ? NULL : prev, now, &same, err);
	if (made == NULL && same) {
		made = signed_node; /* no chain records: not in the chain */
		signed_node = NULL;
	}
	zone_node_free(signed_node);
	return made;
}
