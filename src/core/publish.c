/* SPDX-License-Identifier: MIT */
/* The zone publisher, run by the writer's hooks: rebuilding and publishing zone versions
 * (RCU), incrementally after each batch and wholly when the store changed under it. */
#include "core/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "core/acme.h"
#include "core/chain.h"
#include "core/keyroll.h"
#include "dns/constants.h"
#include "dns/name.h"
#include "dnssec/zone.h"
#include "store/abuse.h"
#include "store/dnssec.h"
#include "store/journal.h"
#include "zone/journal.h"

struct touched {
	char fqdn[CFG_NAME_MAX];
	unsigned zone; /* index into cfg->zones */
};

/* What a publication leaves behind: freed once no reader can still see it, and no
 * transfer has pinned its generation or an older one. Queued in order of generation. */
struct garbage {
	struct garbage *next;
	uint64_t gen;                       /* of the zone_db it replaced */
	struct zone_db *old_db;             /* the struct only: its versions as below */
	struct zone_version **old_versions; /* tables of the versions derived from */
	struct zone_version **rebuilt;      /* versions a rebuild replaced wholly; may be NULL */
	struct zone_retired retired;        /* nodes, pages, journal entries only old used */
	struct dnssec_zone **signers;       /* signing states only old's versions named */
	size_t n_signers;
};

/* A committed batch's publication, waiting for the batch's sync: its zone_db (NULL when it
 * changed nothing or a rebuild showed more) and what showing it leaves behind. */
struct unshown {
	struct unshown *next;
	struct zone_db *db;
	struct garbage *g;
};

/* A re-signing pass over one signed zone (docs/dnssec.md, "Re-signing in slices"): every
 * node whose signatures were made before since is signed anew, at most RESIGN_SLICE names a
 * writer wake, each slice a version of its own (a new serial, one journal entry), so that
 * the writer commits updates between slices. */
struct resign_pass {
	int64_t since;   /* when the pass began (0: none runs) */
	uint32_t cursor; /* the next slot of the published version's table to look at */
	bool clean;      /* nothing found to sign since the cursor was last at slot 0 */
	uint32_t slices; /* published so far */
	/* When the last pass ended (or the zone was last signed whole with another ZSK):
	 * signatures of the ZSK before it may be cached until R after that. */
	int64_t settled;
};

/* Names a slice signs at most: about 60 us each (its RRsets and its NSEC3), so a slice
 * holds the writer some 30 ms, and a pass over 100,000 names takes 200 wakes. */
#define RESIGN_SLICE 500u
/* At most a slice this often: the writer wakes after every batch, and a slice after each
 * would leave updates a third of its time under a steady load. */
#define RESIGN_EVERY_MS 100

struct publisher {
	const struct config *cfg;
	struct store *st;
	struct zone_db **db_slot;
	/* db: the newest version, the base of the next batch's; shown: what *db_slot points
	 * to. They differ between a batch's commit and its sync (the writer's committed and
	 * durable hooks): what is not on disk is not served. unshown: one entry per batch
	 * committed and not yet durable, oldest first; graced: the garbage of what the shown
	 * versions replaced, queued after the next grace period (batch_end). */
	struct zone_db *db;
	struct zone_db *shown;
	struct unshown *unshown, **unshown_tail;
	struct unshown *entry; /* the running batch's, made by batch_begin */
	struct garbage *graced;
	int64_t data_version;
	uint64_t generation;
	struct zone_pins *pins; /* transfers' pins; NULL = none */
	struct garbage *gq_head, **gq_tail;
	publish_serial_fn *on_serial;
	void *on_serial_ctx;

	/* The current batch: names changed, by op (touched_op: count before the running op),
	 * the new serial of each zone it touched, and what its publication left behind. */
	struct touched *touched;
	size_t n_touched, cap_touched, touched_op;
	uint32_t *serials;
	bool *zone_touched;
	/* Rendered inside the transaction (before_commit), published after the commit:
	 * rendered[t] for touched[t] (NULL: the host is gone), apexes[zone], the journal
	 * entry of each zone (NULL with reset: the history breaks here). stale: another
	 * connection committed since the zones were built, so the published versions are no
	 * base for a difference; the batch rebuilds everything instead. */
	struct zone_node **rendered;
	struct zone_node **apexes;
	struct zone_jentry **entries;
	bool *reset;
	bool stale, prepared;

	/* Signed zones: the signing state of each zone of cfg (NULL: unsigned), and those a
	 * rebuild replaced, which versions still being read may name: the next successful
	 * rebuild hands them to the garbage of the versions it replaces. */
	uint8_t seal[STORE_DNSSEC_SEAL_LEN];
	bool have_seal;
	struct dnssec_zone **signers;
	unsigned n_signers;
	struct dnssec_zone **dead;
	size_t n_dead;
	int64_t signed_at; /* when the last full build signed every node */
	/* The NSEC3 chain's owners of each signed zone of cfg in hash order (core/chain.h);
	 * NULL for an unsigned zone, or when a failed splice left it unusable. */
	struct nsec3_index **chains;
	unsigned n_chains;
	struct resign_pass *passes; /* n_chains of them, indexed alike */
	int64_t resign_started;     /* the periodic re-signing's passes began; 0 = none runs */
	int64_t resign_last_ms;     /* the last slices, time_mono_ms */

	/* Scratch for loading a host's records (too big for a thread stack). */
	struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	struct zone_rr_in rr_in[ZONE_MAX_RRS_PER_NODE];
	uint8_t parked[16]; /* the rdata of a quarantined name's one record */
};

static struct zone_db *db_alloc(struct publisher *p, unsigned n)
{
	struct zone_db *db = calloc(1, sizeof(*db) + n * sizeof(db->zones[0]));
	if (db != NULL) {
		db->n_zones = n;
		db->generation = ++p->generation;
	}
	return db;
}

static void db_free_all(struct zone_db *db)
{
	if (db == NULL)
		return;
	for (uint32_t i = 0; i < db->n_zones; i++)
		zone_version_free_all((struct zone_version *)db->zones[i]);
	free(db);
}

static size_t rr_in_from_store(struct zone_rr_in *out, const struct store_rr *rrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[i].type = rrs[i].type;
		out[i].ttl = rrs[i].ttl;
		out[i].rdlen = rrs[i].rdlen;
		out[i].rdata = rrs[i].rdata;
	}
	return n;
}

static unsigned host_flags(const struct store_host *h)
{
	if (store_abuse_withdrawn(h))
		return 0; /* nothing below a quarantined name answers either */
	return h->wildcard ? ZONE_NODE_WILDCARD : 0;
}

/* What a quarantined host serves in place of its records: [abuse] parked (one A or AAAA)
 * or nothing at all, and then the name is left out of the zone (NXDOMAIN). */
static size_t quarantined_rrs(struct publisher *p, const char *fqdn, struct zone_rr_in *in)
{
	struct np_addr a;
	if (p->cfg->abuse_parked[0] == '\0' || addr_parse(p->cfg->abuse_parked, &a) != NP_OK)
		return 0;
	const struct cfg_zone *cz = config_zone_for(p->cfg, fqdn);
	in[0].type = a.family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
	in[0].ttl = cz != NULL ? cz->ttl : 60;
	in[0].rdlen = a.family == AF_INET ? 4 : 16;
	memcpy(p->parked, a.bytes, in[0].rdlen);
	in[0].rdata = p->parked;
	return 1;
}

/* ---- DNSSEC: each signed zone's keys, and the signing of what is built ---- */

/* The signing state of each zone of the configuration: read from the store (keys made and
 * stored first for a zone that has none), the previous one kept when its keys are the same. */
static int load_signers(struct publisher *p)
{
	unsigned nz = p->cfg->n_zones;
	struct dnssec_zone **next = calloc(nz + 1, sizeof(*next));
	if (next == NULL)
		return NP_ENOMEM;
	int ret = NP_OK;
	for (unsigned zi = 0; zi < nz && ret == NP_OK; zi++) {
		const struct cfg_zone *cz = &p->cfg->zones[zi];
		if (!cz->dnssec)
			continue;
		if (!p->have_seal) {
			ret = store_dnssec_seal_key(p->cfg->data_dir, true, p->seal);
			p->have_seal = ret == NP_OK;
			if (ret != NP_OK)
				break;
		}
		ret = store_dnssec_keys_create(p->st, p->seal, cz->name, cz->dnssec_algorithm,
		                               time(NULL));
		if (ret == NP_OK)
			log_info("zone %s: made DNSSEC keys (algorithm %u); nameplatectl zone ds %s "
			         "prints the DS records for the parent",
			         cz->name, cz->dnssec_algorithm, cz->name);
		if (ret == NP_EEXIST || ret == NP_OK)
			ret = store_dnssec_zone_load(p->st, p->seal, cz->name, &next[zi]);
		if (ret == NP_OK && cz->dnssec_retire) {
			/* dnssec = retire: CDS and CDNSKEY ask the parent to remove the DS. */
			next[zi]->cds_delete = true;
			next[zi]->keyset ^= 0x9e3779b97f4a7c15ULL;
		}
		if (ret != NP_OK)
			log_err("zone %s: cannot load its DNSSEC keys: %s", cz->name, np_strerror(ret));
	}
	if (ret != NP_OK) {
		for (unsigned zi = 0; zi < nz; zi++)
			dnssec_zone_free(next[zi]);
		free(next);
		return ret;
	}
	/* What did not change stays, so that equal signatures keep their cache; the rest is
	 * kept until the versions that name it are freed (rebuild_all hands it to their
	 * garbage), or the stop. */
	struct dnssec_zone **dead = realloc(p->dead, (p->n_dead + p->n_signers + 1) * sizeof(*dead));
	if (dead == NULL) {
		for (unsigned zi = 0; zi < nz; zi++)
			dnssec_zone_free(next[zi]);
		free(next);
		return NP_ENOMEM;
	}
	p->dead = dead;
	/* A zone whose keys or CDS changed (a reload that set dnssec = retire, a roll step
	 * taken elsewhere) gets a new serial, so that secondaries fetch the new apex. */
	for (unsigned zi = 0; zi < nz; zi++) {
		for (unsigned i = 0; next[zi] != NULL && i < p->n_signers; i++) {
			const struct dnssec_zone *old = p->signers[i];
			if (old != NULL && old->apex_len == next[zi]->apex_len &&
			    memcmp(old->apex, next[zi]->apex, old->apex_len) == 0 &&
			    old->keyset != next[zi]->keyset &&
			    store_zone_bump(p->st, p->cfg->zones[zi].name, NULL) != NP_OK)
				log_warn("zone %s: cannot move the serial on for its new keys",
				         p->cfg->zones[zi].name);
		}
	}
	for (unsigned i = 0; i < p->n_signers; i++) {
		struct dnssec_zone *old = p->signers[i];
		for (unsigned zi = 0; old != NULL && zi < nz; zi++) {
			struct dnssec_zone *n = next[zi];
			if (n != NULL && n->apex_len == old->apex_len &&
			    memcmp(n->apex, old->apex, n->apex_len) == 0 &&
			    n->keyset == old->keyset) {
				dnssec_zone_free(n);
				next[zi] = old;
				old = NULL;
			}
		}
		if (old != NULL)
			p->dead[p->n_dead++] = old;
	}
	free(p->signers);
	p->signers = next;
	p->n_signers = nz;
	/* Kept states too: a reload may have changed the budget. */
	for (unsigned zi = 0; zi < nz; zi++)
		if (next[zi] != NULL)
			dnssec_zone_set_sign_rate(next[zi], p->cfg->zones[zi].dnssec_denial_rate);
	return NP_OK;
}

static const struct dnssec_zone *signer_of(const struct publisher *p, const struct cfg_zone *cz)
{
	size_t zi = (size_t)(cz - p->cfg->zones);
	return zi < p->n_signers ? p->signers[zi] : NULL;
}

/* node signed when its zone is (node is consumed either way); NULL with node NULL, or when
 * signing fails (no memory). */
static struct zone_node *sign(const struct publisher *p, const struct cfg_zone *cz,
                              struct zone_node *node)
{
	const struct dnssec_zone *dz = cz != NULL ? signer_of(p, cz) : NULL;
	if (node == NULL || dz == NULL)
		return node;
	/* Negative answers' TTL: the lower of the SOA's and its MINIMUM (RFC 2308 3). */
	uint32_t neg_ttl = cz->soa_ttl < cz->negative_ttl ? cz->soa_ttl : cz->negative_ttl;
	struct zone_node *s = dnssec_sign_node(dz, node, neg_ttl, (uint32_t)time(NULL));
	if (s == NULL)
		log_err("zone %s: cannot sign a node", cz->name);
	zone_node_free(node);
	return s;
}

/* The apex node: SOA, NS, the apex host's records, and in a signed zone DNSKEY, CDS and
 * CDNSKEY, all signed. */
static struct zone_node *apex_node(const struct publisher *p, const struct cfg_zone *cz,
                                   uint32_t serial, const struct zone_rr_in *in, size_t nin)
{
	const struct dnssec_zone *dz = signer_of(p, cz);
	if (dz == NULL)
		return zone_node_new_apex(cz, serial, in, nin);
	struct zone_rr_in all[ZONE_MAX_RRS_PER_NODE];
	uint8_t keys[DNSSEC_APEX_RRS * DNSSEC_DNSKEY_MAX];
	if (nin + DNSSEC_APEX_RRS > ZONE_MAX_RRS_PER_NODE)
		return NULL;
	if (nin > 0)
		memcpy(all, in, nin * sizeof(*in));
	size_t n = nin + dnssec_zone_apex_rrs(dz, cz->soa_ttl, all + nin, keys);
	return sign(p, cz, zone_node_new_apex(cz, serial, all, n));
}

/* ---- full build: every zone from the store ---- */

struct build_ctx {
	struct publisher *p;
	struct zone_version *z;
	const struct cfg_zone *cz;
	uint32_t serial;
	struct zone_node *apex; /* built when the zone's own name is also a host */
	int err;
	bool signed_later; /* a signed zone: chain_build signs the nodes with the chain */
};

static int build_host(const struct store_host *h, const struct store_rr *rrs, size_t n,
		      void *arg)
{
	struct build_ctx *b = arg;
	struct zone_rr_in *in = b->p->rr_in;
	size_t nin = rr_in_from_store(in, rrs, n);
	bool quarantined = store_abuse_withdrawn(h) &&
	                   strcmp(h->fqdn, b->cz->name) != 0; /* the apex is the operator's */
	if (quarantined) {
		nin = quarantined_rrs(b->p, h->fqdn, in);
		if (nin == 0)
			return 0;
	}
	uint8_t name[DNS_NAME_MAX];
	int len = dns_name_from_text(h->fqdn, name, sizeof(name));
	if (len < 0) {
		log_warn("zone %s: skipping host with a bad name", b->cz->name);
		return 0;
	}
	if ((size_t)len == b->z->apex_len && memcmp(name, b->z->apex, (size_t)len) == 0) {
		b->apex = apex_node(b->p, b->cz, b->serial, in, nin);
		if (b->apex == NULL)
			b->err = NP_ENOMEM;
		return b->apex == NULL;
	}
	struct zone_node *node = zone_node_new(name, (size_t)len, host_flags(h), in, nin);
	if (node == NULL) {
		log_warn("zone %s: skipping host %s: records do not render", b->cz->name, h->fqdn);
		return 0;
	}
	if (!b->signed_later)
		node = sign(b->p, b->cz, node);
	if (node == NULL) {
		b->err = NP_ENOMEM;
		return 1;
	}
	b->err = zone_version_insert(b->z, node);
	return b->err != NP_OK;
}

static uint32_t challenge_ttl(const struct cfg_zone *cz)
{
	return cz->ttl < ACME_TTL_MAX ? cz->ttl : ACME_TTL_MAX;
}

/* The "_acme-challenge." node of a host with challenge values (core/acme.h); none for a
 * quarantined host, below which nothing answers. */
static int build_challenge(const char *fqdn, const struct store_acme_txt *v, size_t n, void *arg)
{
	struct build_ctx *b = arg;
	struct store_host h;
	int ret = store_host_get_row(b->p->st, fqdn, &h);
	if (ret != NP_OK || store_abuse_withdrawn(&h)) {
		b->err = ret == NP_ENOTFOUND ? NP_OK : ret;
		return b->err != NP_OK;
	}
	struct zone_node *node = acme_node(fqdn, v, n, challenge_ttl(b->cz));
	if (node == NULL) {
		log_warn("zone %s: skipping the ACME challenge of %s", b->cz->name, fqdn);
		return 0;
	}
	if (!b->signed_later)
		node = sign(b->p, b->cz, node);
	if (node == NULL) {
		b->err = NP_ENOMEM;
		return 1;
	}
	b->err = zone_version_insert(b->z, node);
	return b->err != NP_OK;
}

/* ---- the journal as the store keeps it ---- */

struct jload {
	struct zone_jentry **e;
	size_t n, cap;
};

static int jload_row(int64_t id, uint32_t from, uint32_t to, const uint8_t *diff, size_t len,
                     void *ctx)
{
	struct jload *l = ctx;
	if (!zone_jentry_valid(diff, len))
		return NP_OK; /* cannot happen unless the file was edited: skip it */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct zone_jentry **grown = realloc(l->e, cap * sizeof(*grown));
		if (grown == NULL)
			return NP_ENOMEM;
		l->e = grown;
		l->cap = cap;
	}
	l->e[l->n] = zone_jentry_new(from, to, diff, len);
	if (l->e[l->n] == NULL)
		return NP_ENOMEM;
	l->e[l->n++]->id = id;
	return NP_OK;
}

/* Gives z the journal the store holds for it: the newest rows that chain, each one's
 * `from` the previous one's `to`, up to z's serial. A change that was not journaled (by
 * nameplatectl, or a batch too big to keep) breaks the chain: older serials then get the
 * whole zone. Out of memory leaves z without history, which is still correct. */
static void load_journal(struct publisher *p, const struct cfg_zone *cz, struct zone_version *z)
{
	struct jload l = {0};
	int ret = store_journal_foreach(p->st, cz->name, jload_row, &l);
	size_t first = l.n; /* the oldest row of the chain */
	uint32_t want = z->serial;
	size_t bytes = 0;
	while (ret == NP_OK && first > 0 && l.e[first - 1]->to == want &&
	       l.n - first < ZONE_JOURNAL_MAX_ENTRIES &&
	       bytes + l.e[first - 1]->len <= ZONE_JOURNAL_MAX_BYTES) {
		first--;
		bytes += l.e[first]->len;
		want = l.e[first]->from;
	}
	struct zone_journal *j = NULL;
	if (ret == NP_OK)
		j = malloc(sizeof(*j) + (l.n - first + 1) * sizeof(j->e[0]));
	if (j != NULL) {
		j->n = 0;
		j->bytes = bytes;
		for (size_t i = first; i < l.n; i++)
			j->e[j->n++] = l.e[i];
		l.n = first;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.e[i]);
	free(l.e);
	z->journal = j;
}

/* The index of the zone of db named like cz, or -1. */
static long zone_in(const struct zone_db *db, const struct cfg_zone *cz)
{
	uint8_t apex[DNS_NAME_MAX];
	int len = dns_name_from_text(cz->name, apex, sizeof(apex));
	for (uint32_t k = 0; db != NULL && len > 0 && k < db->n_zones; k++)
		if (db->zones[k]->apex_len == (size_t)len &&
		    memcmp(db->zones[k]->apex, apex, (size_t)len) == 0)
			return (long)k;
	return -1;
}

/* Builds zone cz from the store. A signed zone is signed whole with its chain (*chain its
 * index), keeping prev's signatures (may be NULL: chain_build) where the records are the
 * same; or, with sign false, left unsigned but for the apex, to be compared with the
 * published version (refresh_zone), without chain. */
static int build_zone(struct publisher *p, const struct cfg_zone *cz,
                      const struct zone_version *prev, bool sign, struct zone_version **out,
                      struct nsec3_index **chain)
{
	if (chain != NULL)
		*chain = NULL;
	uint8_t apex[DNS_NAME_MAX];
	int alen = dns_name_from_text(cz->name, apex, sizeof(apex));
	if (alen < 0)
		return NP_EINVAL;
	uint32_t serial;
	int ret = store_zone_serial(p->st, cz->name, &serial);
	if (ret != NP_OK)
		return ret;
	struct build_ctx b = {.p = p, .cz = cz, .serial = serial};
	b.signed_later = signer_of(p, cz) != NULL;
	/* Room for the names the published version has: the table need not grow. */
	long k = zone_in(p->db, cz);
	size_t hint = k >= 0 && p->db->zones[k]->count > 1024 ? p->db->zones[k]->count : 1024;
	b.z = zone_version_new(apex, (size_t)alen, serial, hint);
	if (b.z == NULL)
		return NP_ENOMEM;
	ret = store_foreach_host_records(p->st, cz->name, build_host, &b);
	if (ret == NP_OK)
		ret = b.err;
	if (ret == NP_OK)
		ret = store_foreach_acme(p->st, cz->name, build_challenge, &b);
	if (ret == NP_OK)
		ret = b.err;
	if (ret == NP_OK && b.apex == NULL) {
		b.apex = apex_node(p, cz, serial, NULL, 0);
		if (b.apex == NULL)
			ret = NP_ENOMEM;
	}
	if (ret == NP_OK) {
		ret = zone_version_insert(b.z, b.apex);
		b.apex = NULL;
	}
	zone_node_free(b.apex);
	if (ret == NP_OK) {
		b.z->conf = malloc(sizeof(*b.z->conf));
		if (b.z->conf == NULL)
			ret = NP_ENOMEM;
		else
			*b.z->conf = *cz;
		b.z->dnssec = signer_of(p, cz);
	}
	if (ret == NP_OK && b.z->dnssec != NULL && sign)
		ret = chain_build(b.z->dnssec, cz, b.z, prev, chain);
	if (ret != NP_OK) {
		zone_version_free_all(b.z);
		return ret;
	}
	/* A signed zone's history starts here: every node was signed anew (what the stored
	 * differences hold is not what secondaries have), and the store keeps no NSEC3. */
	if (b.z->dnssec == NULL)
		load_journal(p, cz, b.z);
	*out = b.z;
	return NP_OK;
}

static void garbage_free(struct garbage *g)
{
	for (uint32_t i = 0; g->old_db != NULL && i < g->old_db->n_zones; i++) {
		if (g->old_versions[i] != NULL)
			zone_version_free_table(g->old_versions[i]);
		if (g->rebuilt != NULL && g->rebuilt[i] != NULL)
			zone_version_free_all(g->rebuilt[i]);
	}
	zone_retired_deinit(&g->retired);
	free(g->old_versions);
	free(g->rebuilt);
	free(g->old_db);
	for (size_t i = 0; i < g->n_signers; i++)
		dnssec_zone_free(g->signers[i]);
	free(g->signers);
	free(g);
}

/* Queues what a publication left behind; it has had its grace period already. */
static void garbage_enqueue(struct publisher *p, struct garbage *g)
{
	g->next = NULL;
	*p->gq_tail = g;
	p->gq_tail = &g->next;
}

/* Frees the queued garbage that no transfer can reach: everything of generations older
 * than the oldest pinned one. A transfer that holds an old version keeps what was retired
 * after it, until it ends (then the next batch or wake-up frees it). */
static void garbage_collect(struct publisher *p)
{
	uint64_t oldest = p->pins != NULL ? zone_pins_oldest(p->pins) : UINT64_MAX;
	while (p->gq_head != NULL && p->gq_head->gen < oldest) {
		struct garbage *g = p->gq_head;
		p->gq_head = g->next;
		if (p->gq_head == NULL)
			p->gq_tail = &p->gq_head;
		garbage_free(g);
	}
}

/* Tells on_serial of every zone of db whose serial is new (not in old, or changed). */
static void notify_changed(struct publisher *p, const struct zone_db *old, const struct zone_db *db)
{
	if (p->on_serial == NULL)
		return;
	for (uint32_t i = 0; i < db->n_zones && i < p->cfg->n_zones; i++) {
		const struct zone_version *z = db->zones[i];
		bool changed = true;
		for (uint32_t k = 0; old != NULL && k < old->n_zones; k++) {
			const struct zone_version *o = old->zones[k];
			if (o->apex_len == z->apex_len &&
			    memcmp(o->apex, z->apex, z->apex_len) == 0)
				changed = o->serial != z->serial;
		}
		if (changed)
			p->on_serial(p->on_serial_ctx, &p->cfg->zones[i], z->serial);
	}
}

static void chains_free(struct nsec3_index **chains, unsigned n)
{
	for (unsigned i = 0; chains != NULL && i < n; i++)
		nsec3_index_free(chains[i]);
	free(chains);
}

/* ---- a rebuild of a signed zone that keeps what did not change ---- */

static int render_apex(struct publisher *p, const struct cfg_zone *cz, uint32_t serial,
                       struct zone_node **node);

static const struct zone_node *slot_node(const struct zone_version *z, uint32_t i)
{
	return z->pages[i >> ZONE_PAGE_SHIFT]->slot[i & (ZONE_PAGE_SLOTS - 1)];
}

static bool is_apex(const struct zone_version *z, const struct zone_node *n)
{
	return n->name_len == z->apex_len && memcmp(n->data, z->apex, z->apex_len) == 0;
}

/* Whether a and b sign everything but the apex alike: the same ZSK. A key roll's step that
 * changes only the DNSKEY RRset (a ZSK published or removed, any KSK step) or CDS leaves
 * the other signatures good; one that makes another ZSK active does not. */
static bool same_zsk(const struct dnssec_zone *a, const struct dnssec_zone *b)
{
	return a != NULL && b != NULL && a->zsk.alg == b->zsk.alg && a->zsk.tag == b->zsk.tag &&
	       a->zsk.pub_len == b->zsk.pub_len &&
	       memcmp(a->zsk.pub, b->zsk.pub, a->zsk.pub_len) == 0;
}

static uint32_t neg_ttl_of(const struct cfg_zone *cz)
{
	return cz->soa_ttl < cz->negative_ttl ? cz->soa_ttl : cz->negative_ttl;
}

/* More changed names than this and a rebuild signs the zone whole (keeping the signatures
 * of what did not change) rather than deriving it: the splice and the journal entry are
 * made for batches, and an IXFR that large saves a secondary little. */
static size_t refresh_limit(const struct zone_version *z)
{
	return 256 + z->count / 16;
}

/* A rebuild of a signed zone whose keys, settings and signatures are still good: built
 * (what the store holds now, unsigned but the apex) against old, the published version.
 * When nothing differs, *out is old itself, serial and all: the secondaries have nothing to
 * fetch. Else the names that differ are signed and old's next version derived as a batch's
 * is (chain spliced, one journal entry, one new serial unless the store's moved already),
 * so that secondaries get an IXFR of just that. NP_ETOOBIG: more changes than
 * refresh_limit (nothing done). On a failure *broken says whether ix was changed (it no
 * longer matches old then). New versions' leftovers go to retired. */
static int refresh_zone(struct publisher *p, const struct cfg_zone *cz,
                        const struct zone_version *old, struct nsec3_index *ix,
                        const struct zone_version *built, struct zone_retired *retired,
                        struct zone_version **out, bool *broken)
{
	*out = NULL;
	*broken = false;
	const struct dnssec_zone *dz = signer_of(p, cz);
	size_t limit = refresh_limit(old);
	const struct zone_node **changed = calloc(limit + 1, sizeof(*changed));
	const struct zone_node **gone = calloc(limit + 1, sizeof(*gone));
	struct zone_node **repl = calloc(limit + 2, sizeof(*repl));
	const uint8_t **names = calloc(2 * limit + 2, sizeof(*names));
	size_t *lens = calloc(2 * limit + 2, sizeof(*lens));
	uint8_t (*copies)[DNS_NAME_MAX] = calloc(limit + 2, sizeof(*copies));
	uint8_t *buf = NULL;
	size_t n_changed = 0, n_gone = 0, n_repl = 0, len = 0, cap = 0;
	struct zone_jentry *entry = NULL;
	bool reset = false;
	int ret = NP_ENOMEM;
	if (changed == NULL || gone == NULL || repl == NULL || names == NULL || lens == NULL ||
	    copies == NULL)
		goto done;
	ret = NP_OK;
	/* What differs: names whose records are not old's, and old's names that lost theirs
	 * (an ENT now, or gone). */
	for (uint32_t i = 0; ret == NP_OK && i <= built->mask; i++) {
		const struct zone_node *n = slot_node(built, i);
		if (n == NULL || (n->flags & ZONE_NODE_ENT) != 0 || is_apex(built, n))
			continue;
		const struct zone_node *was = zone_find(old, n->data, n->name_len);
		if (was != NULL && zone_node_same_records(n, was))
			continue;
		if (n_changed == limit)
			ret = NP_ETOOBIG;
		else
			changed[n_changed++] = n;
	}
	for (uint32_t i = 0; ret == NP_OK && i <= old->mask; i++) {
		const struct zone_node *n = slot_node(old, i);
		if (n == NULL || (n->flags & ZONE_NODE_ENT) != 0 || is_apex(old, n))
			continue;
		const struct zone_node *now = zone_find(built, n->data, n->name_len);
		if (now != NULL && (now->flags & ZONE_NODE_ENT) == 0)
			continue;
		if (n_gone == limit)
			ret = NP_ETOOBIG;
		else
			gone[n_gone++] = n;
	}
	if (ret != NP_OK)
		goto done;
	/* old names the signing state of its keys: when that was replaced (a key roll's step),
	 * the apex is signed anew, and the new version names the new state. */
	if (n_changed == 0 && n_gone == 0 && old->dnssec == dz &&
	    zone_node_same_records(built->apex_node, old->apex_node)) {
		*out = (struct zone_version *)old; /* the SOA too: its serial is old's */
		goto done;
	}
	/* One new serial for the difference, unless nameplatectl moved it already. */
	uint32_t serial = built->serial;
	if (serial == old->serial)
		ret = store_zone_bump(p->st, cz->name, &serial);
	if (ret == NP_OK)
		ret = render_apex(p, cz, serial, &repl[n_repl]);
	if (ret != NP_OK)
		goto done;
	n_repl++;
	uint32_t now = (uint32_t)time(NULL);
	for (size_t i = 0; i < n_changed; i++) {
		repl[n_repl] = dnssec_sign_node(dz, changed[i], neg_ttl_of(cz), now);
		if (repl[n_repl] == NULL) {
			ret = NP_ENOMEM;
			goto done;
		}
		n_repl++;
	}
	/* The journal entry, as a batch writes it: each name before and after. */
	for (size_t i = 0; i < n_repl + n_gone && !reset; i++) {
		const struct zone_node *before = i < n_repl ? NULL : gone[i - n_repl];
		const struct zone_node *after = i < n_repl ? repl[i] : NULL;
		const uint8_t *name = after != NULL ? after->data : before->data;
		size_t name_len = after != NULL ? after->name_len : before->name_len;
		if (i == 0)
			before = old->apex_node;
		else if (i < n_repl)
			before = zone_find(old, name, name_len);
		ret = zone_jentry_add_name(&buf, &len, &cap, name, name_len, before, after);
		if (ret == NP_ETOOBIG) {
			reset = true; /* too big to keep: the history starts anew */
			ret = NP_OK;
		} else if (ret != NP_OK) {
			goto done;
		}
	}
	if (!reset) {
		entry = zone_jentry_new(old->serial, serial, buf, len);
		if (entry == NULL) {
			ret = NP_ENOMEM;
			goto done;
		}
	}
	/* Gone names first (the derive's removals), then repl's: what the splice looks at.
	 * repl's are copied, since the splice may free nodes born in the derive. */
	for (size_t i = 0; i < n_gone; i++) {
		names[i] = gone[i]->data;
		lens[i] = gone[i]->name_len;
	}
	for (size_t i = 0; i < n_repl; i++) {
		memcpy(copies[i], repl[i]->data, repl[i]->name_len);
		names[n_gone + i] = copies[i];
		lens[n_gone + i] = repl[i]->name_len;
	}
	/* What the derive and splice add to retired is old's again if they fail. */
	size_t r_n = retired->n, r_pages = retired->n_pages, r_j = retired->n_j;
	struct zone_version *nz =
	    zone_version_derive(old, serial, repl, n_repl, names, lens, n_gone, retired);
	if (nz == NULL) {
		ret = NP_ENOMEM;
		goto done;
	}
	size_t n_names = n_gone + n_repl;
	n_repl = 0; /* nz owns them */
	nz->dnssec = dz;
	*broken = true;
	ret = chain_splice(dz, cz, ix, old, nz, names, lens, n_names, retired, &entry, &reset);
	if (ret == NP_OK) {
		nz->journal = zone_journal_next(old->journal, entry, reset, retired);
		if (nz->journal == NULL)
			ret = NP_ENOMEM;
		else
			entry = NULL; /* the journal holds it */
	}
	if (ret != NP_OK) {
		zone_version_discard(nz, old);
		retired->n = r_n;
		retired->n_pages = r_pages;
		retired->n_j = r_j;
		goto done;
	}
	*broken = false;
	*out = nz;
	log_info("zone %s: %zu names changed or added, %zu gone: signed those, kept the other "
	         "signatures (serial %u)",
	         cz->name, n_changed, n_gone, serial);
done:
	for (size_t i = 0; repl != NULL && i < n_repl; i++)
		zone_node_free(repl[i]);
	free(entry);
	free(buf);
	free(changed);
	free(gone);
	free(repl);
	free(names);
	free(lens);
	free(copies);
	return ret;
}

/* Before a build that signs zone cz whole (or unsigns it): a new serial, unless the store's
 * moved since old was built, so that no serial stands for two sets of signatures (an IXFR
 * from a serial signed anew under it would not apply) and secondaries fetch the new ones. */
static int bump_for_full_build(struct publisher *p, const struct cfg_zone *cz,
                               const struct zone_version *old)
{
	uint32_t serial;
	if (old == NULL || (signer_of(p, cz) == NULL && old->dnssec == NULL))
		return NP_OK;
	int ret = store_zone_serial(p->st, cz->name, &serial);
	if (ret == NP_OK && serial == old->serial)
		ret = store_zone_bump(p->st, cz->name, &serial);
	return ret;
}

/* Builds every zone of cfg from the store and publishes them. Used at start, after a
 * reload, when another connection (nameplatectl) committed changes, and for key rolls and
 * re-signing. A signed zone whose keys and settings did not change keeps the signatures of
 * every name whose records did not change (refresh_zone, or chain_build with the published
 * version), unless resign (every signature made anew: they are getting old). */
static int rebuild_all(struct publisher *p, bool resign)
{
	int64_t started = time_mono_ms();
	int64_t version;
	int ret = store_data_version(p->st, &version);
	if (ret != NP_OK)
		return ret;
	ret = load_signers(p);
	if (ret != NP_OK)
		return ret;
	int64_t signing = time(NULL);
	struct zone_db *old = p->db;
	unsigned nz = p->cfg->n_zones;
	uint32_t n_old = old != NULL ? old->n_zones : 0;
	struct zone_db *db = db_alloc(p, nz);
	struct nsec3_index **chains = calloc(nz + 1, sizeof(*chains));
	long *from = calloc(nz + 1, sizeof(*from));
	bool *took = calloc(n_old + 1, sizeof(*took)); /* kept or derived from */
	struct resign_pass *passes = calloc(nz + 1, sizeof(*passes));
	struct garbage *g = calloc(1, sizeof(*g));
	if (g != NULL) {
		g->old_versions = calloc(n_old + 1, sizeof(*g->old_versions));
		g->rebuilt = calloc(n_old + 1, sizeof(*g->rebuilt));
	}
	size_t nodes = 0;
	bool kept_signatures = false;
	unsigned i = 0;
	if (db == NULL || chains == NULL || from == NULL || took == NULL || passes == NULL ||
	    g == NULL || g->old_versions == NULL || g->rebuilt == NULL) {
		ret = NP_ENOMEM;
		goto fail;
	}
	for (; i < nz; i++) {
		const struct cfg_zone *cz = &p->cfg->zones[i];
		const struct dnssec_zone *dz = signer_of(p, cz);
		from[i] = zone_in(old, cz);
		const struct zone_version *o = from[i] >= 0 ? old->zones[from[i]] : NULL;
		struct nsec3_index **ix = o != NULL ? &p->chains[from[i]] : NULL;
		/* Its signatures can stay: the same ZSK, the same TTL in the wildcards' NSEC. */
		bool keep = dz != NULL && o != NULL && !resign && same_zsk(o->dnssec, dz) &&
		            o->conf != NULL && neg_ttl_of(o->conf) == neg_ttl_of(cz);
		/* Another ZSK of the same algorithm signs now (a ZSK roll's step): the old
		 * signatures stay valid while the old key is published (it is, retired), so the
		 * zone is derived as for keep, and a pass re-signs it in slices. */
		bool new_zsk = dz != NULL && o != NULL && !resign && o->dnssec != NULL &&
		               !same_zsk(o->dnssec, dz) && o->dnssec->zsk.alg == dz->zsk.alg &&
		               o->conf != NULL && neg_ttl_of(o->conf) == neg_ttl_of(cz);
		struct resign_pass pass = {0};
		if (from[i] >= 0 && p->passes != NULL)
			pass = p->passes[from[i]];
		struct zone_version *z = NULL;
		ret = NP_ETOOBIG; /* not built yet */
		if ((keep || new_zsk) && *ix != NULL && memcmp(o->conf, cz, sizeof(*cz)) == 0) {
			struct zone_version *built = NULL;
			bool broken = false;
			ret = build_zone(p, cz, NULL, false, &built, NULL);
			if (ret == NP_OK)
				ret = refresh_zone(p, cz, o, *ix, built, &g->retired, &z, &broken);
			zone_version_free_all(built);
			if (ret == NP_OK && new_zsk) {
				pass = (struct resign_pass){signing, 0, true, 0, pass.settled};
				log_info("zone %s: a new ZSK signs; re-signing the zone in slices of "
				         "%u names",
				         cz->name, RESIGN_SLICE);
			}
			if (ret == NP_OK) {
				chains[i] = *ix;
				*ix = NULL;
				took[from[i]] = true;
				if (z != o)
					g->old_versions[from[i]] = (struct zone_version *)o;
			} else if (broken) {
				nsec3_index_free(*ix);
				*ix = NULL;
			}
			if (ret != NP_OK && ret != NP_ETOOBIG)
				log_warn("zone %s: cannot derive it (%s); signing it whole",
				         cz->name, np_strerror(ret));
		}
		if (ret != NP_OK) {
			ret = bump_for_full_build(p, cz, o);
			if (ret == NP_OK)
				ret = build_zone(p, cz, keep ? o : NULL, true, &z, &chains[i]);
			/* Signed whole: no pass left (one that kept signatures goes on). */
			if (ret == NP_OK && !keep) {
				/* At start, the signatures served before it may be of a ZSK
				 * before the active one too. Settled once published (below). */
				bool other_zsk = o == NULL || (o->dnssec != NULL && dz != NULL &&
				                               !same_zsk(o->dnssec, dz));
				pass = (struct resign_pass){0, 0, false, 0,
				                            other_zsk ? INT64_MAX : pass.settled};
			}
		}
		if (ret != NP_OK) {
			log_err("zone %s: cannot load: %s", cz->name, np_strerror(ret));
			goto fail;
		}
		kept_signatures = kept_signatures || keep || pass.since != 0;
		passes[i] = pass;
		db->zones[i] = z;
		nodes += z->count;
	}
	for (uint32_t k = 0; k < n_old; k++)
		if (!took[k])
			g->rebuilt[k] = (struct zone_version *)old->zones[k];
	chains_free(p->chains, p->n_chains); /* those not moved to chains */
	p->chains = chains;
	p->n_chains = nz;
	free(p->passes);
	p->passes = passes;
	rcu_assign_pointer(*p->db_slot, db);
	for (unsigned k = 0; k < nz; k++)
		if (passes[k].settled == INT64_MAX)
			passes[k].settled = time(NULL) + 1; /* the second's end, at the latest */
	p->db = db;
	p->shown = db;
	p->data_version = version;
	/* The oldest signature served is as old as the last signing of everything. */
	if (!kept_signatures) {
		p->signed_at = signing;
		p->resign_started = 0;
	}
	notify_changed(p, old, db);
	synchronize_rcu();
	if (old != NULL) {
		g->gen = old->generation;
		g->old_db = old;
		g->signers = p->dead;
		g->n_signers = p->n_dead;
		p->dead = NULL;
		p->n_dead = 0;
		garbage_enqueue(p, g);
	} else {
		garbage_free(g);
	}
	free(from);
	free(took);
	garbage_collect(p);
	store_release_memory(p->st);
	log_info("loaded %u zones, %zu names in %lld ms", db->n_zones, nodes,
		 (long long)(time_mono_ms() - started));
	return NP_OK;
fail:
	/* Nothing was published: the zones built so far go, and the chains derived ones
	 * spliced with them (they no longer match the published versions: the next batch
	 * rebuilds). A kept version gives its chain back. */
	for (unsigned j = 0; j < i; j++) {
		const struct zone_version *o = from[j] >= 0 ? old->zones[from[j]] : NULL;
		if (o != NULL && db->zones[j] == o) {
			p->chains[from[j]] = chains[j];
			chains[j] = NULL;
		} else if (o != NULL && g->old_versions[from[j]] == o) {
			/* Its journal's last entry is its own, the others old's. */
			const struct zone_journal *jn = db->zones[j]->journal;
			if (jn != NULL && jn->n > 0 &&
			    (o->journal == NULL || o->journal->n == 0 ||
			     jn->e[jn->n - 1] != o->journal->e[o->journal->n - 1]))
				free(jn->e[jn->n - 1]);
			zone_version_discard((struct zone_version *)db->zones[j], o);
		} else {
			zone_version_free_all((struct zone_version *)db->zones[j]);
		}
	}
	if (g != NULL) {
		zone_retired_drop(&g->retired);
		free(g->old_versions);
		free(g->rebuilt);
		free(g);
	}
	chains_free(chains, nz);
	free(db);
	free(from);
	free(took);
	free(passes);
	return ret;
}

/* ---- re-signing in slices ---- */

/* One slice of zone zi's pass: up to RESIGN_SLICE names signed before the pass began,
 * from the cursor on, signed anew (their chain records too) with the apex, and published
 * as the next version, derived from the published one: one new serial, one journal entry.
 * The pass ends when a look over the whole table finds nothing left. */
static int resign_slice(struct publisher *p, unsigned zi)
{
	struct resign_pass *rp = &p->passes[zi];
	const struct cfg_zone *cz = &p->cfg->zones[zi];
	const struct dnssec_zone *dz = signer_of(p, cz);
	const struct zone_version *old = p->db->zones[zi];
	struct nsec3_index *ix = p->chains[zi];
	if (dz == NULL || old->dnssec != dz) {
		rp->since = 0; /* unsigned now, or signed whole since */
		return NP_OK;
	}
	if (ix == NULL)
		return rebuild_all(p, false); /* a failed splice: the chain is made anew */
	const struct zone_node **todo = calloc(RESIGN_SLICE, sizeof(*todo));
	struct zone_node **repl = calloc(RESIGN_SLICE + 1, sizeof(*repl));
	const uint8_t **names = calloc(RESIGN_SLICE + 1, sizeof(*names));
	size_t *lens = calloc(RESIGN_SLICE + 1, sizeof(*lens));
	uint8_t *buf = NULL;
	size_t n_todo = 0, n_repl = 0, len = 0, cap = 0;
	struct zone_jentry *entry = NULL;
	bool reset = false;
	int ret = NP_ENOMEM;
	if (todo == NULL || repl == NULL || names == NULL || lens == NULL)
		goto done;
	/* Made before the pass began: an inception more than the skew before it. */
	uint32_t before = (uint32_t)(rp->since - DNSSEC_SKEW);
	uint32_t i = rp->cursor;
	for (; i <= old->mask && n_todo < RESIGN_SLICE; i++) {
		const struct zone_node *n = slot_node(old, i);
		if (n != NULL && !is_apex(old, n) && chain_oldest_inception(n) < before)
			todo[n_todo++] = n;
	}
	rp->clean = rp->clean && n_todo == 0;
	if (i > old->mask) {
		/* A derive may move nodes in the table: done after a clean look at all. */
		if (rp->clean) {
			log_info("zone %s: re-signed in %u slices of at most %u names (%lld s)",
			         cz->name, rp->slices, RESIGN_SLICE,
			         (long long)(time(NULL) - rp->since));
			rp->since = 0;
			rp->settled = time(NULL) + 1; /* the second's end, at the latest */
		}
		i = 0;
		rp->clean = true;
	}
	rp->cursor = i;
	ret = NP_OK;
	if (n_todo == 0)
		goto done;
	uint32_t serial;
	ret = store_zone_bump(p->st, cz->name, &serial);
	if (ret == NP_OK)
		ret = render_apex(p, cz, serial, &repl[0]);
	if (ret != NP_OK)
		goto done;
	n_repl = 1;
	uint32_t now = (uint32_t)time(NULL);
	/* The apex's chain records (its NSEC3, NSEC3PARAM) are signed anew in the pass's
	 * first slice, kept in the others. The journal has no place for the NSEC3PARAM (it
	 * changes with a whole signing only), so that slice starts the history anew: a
	 * secondary fetches the zone whole once a pass. */
	bool first = rp->slices == 0;
	struct zone_node *apex =
	    chain_resign(dz, cz, ix, repl[0], first ? NULL : old->apex_node, now, &ret);
	reset = first;
	if (apex != NULL) {
		zone_node_free(repl[0]);
		repl[0] = apex;
	}
	for (size_t k = 0; ret == NP_OK && k < n_todo; k++) {
		repl[n_repl] = chain_resign(dz, cz, ix, todo[k], NULL, now, &ret);
		n_repl += repl[n_repl] != NULL;
	}
	if (ret != NP_OK)
		goto done;
	/* The journal entry: each name's records and its chain's, before and after. */
	for (size_t k = 0; k < n_repl && !reset; k++) {
		const struct zone_node *was = k == 0 ? old->apex_node
		                                     : zone_find(old, repl[k]->data, repl[k]->name_len);
		ret = zone_jentry_add_name(&buf, &len, &cap, repl[k]->data, repl[k]->name_len, was,
		                           repl[k]);
		if (ret == NP_OK)
			ret = zone_jentry_add_chain(&buf, &len, &cap, old->apex, old->apex_len, was,
			                            repl[k]);
		if (ret == NP_ETOOBIG) {
			reset = true; /* too big to keep: the history starts anew */
			ret = NP_OK;
		} else if (ret != NP_OK) {
			goto done;
		}
	}
	if (!reset && (entry = zone_jentry_new(old->serial, serial, buf, len)) == NULL) {
		ret = NP_ENOMEM;
		goto done;
	}
	for (size_t k = 0; k < n_repl; k++) {
		names[k] = repl[k]->data;
		lens[k] = repl[k]->name_len;
	}
	struct garbage *g = calloc(1, sizeof(*g));
	struct zone_db *db = db_alloc(p, p->db->n_zones);
	if (g != NULL)
		g->old_versions = calloc(p->db->n_zones, sizeof(*g->old_versions));
	struct zone_version *nz = NULL;
	if (g != NULL && g->old_versions != NULL && db != NULL)
		nz = zone_version_derive(old, serial, repl, n_repl, names, lens, 0, &g->retired);
	if (nz != NULL) {
		n_repl = 0; /* nz owns them */
		nz->dnssec = dz;
		nz->journal = zone_journal_next(old->journal, entry, reset, &g->retired);
		if (nz->journal == NULL)
			zone_version_discard(nz, old);
	}
	if (nz == NULL || nz->journal == NULL) {
		if (g != NULL) {
			zone_retired_drop(&g->retired);
			free(g->old_versions);
		}
		free(g);
		free(db);
		ret = NP_ENOMEM;
		goto done;
	}
	entry = NULL; /* the journal holds it */
	for (uint32_t k = 0; k < db->n_zones; k++)
		db->zones[k] = p->db->zones[k];
	db->zones[zi] = nz;
	g->old_versions[zi] = (struct zone_version *)old;
	struct zone_db *was_db = p->db;
	rcu_assign_pointer(*p->db_slot, db);
	p->db = db;
	p->shown = db;
	notify_changed(p, was_db, db);
	synchronize_rcu();
	g->gen = was_db->generation;
	g->old_db = was_db;
	garbage_enqueue(p, g);
	rp->slices++;
	log_debug("zone %s: re-signed %zu names (serial %u)", cz->name, n_todo, serial);
done:
	for (size_t k = 0; repl != NULL && k < n_repl; k++)
		zone_node_free(repl[k]);
	free(entry);
	free(buf);
	free(todo);
	free(repl);
	free(names);
	free(lens);
	return ret;
}

/* One slice of each zone's pass under way; when none is left, the periodic re-signing is
 * done, and its start is what the 7-day rule counts from. */
static void resign_slices(struct publisher *p)
{
	int64_t now_ms = time_mono_ms();
	if (now_ms - p->resign_last_ms < RESIGN_EVERY_MS)
		return;
	p->resign_last_ms = now_ms;
	bool running = false;
	for (unsigned i = 0; p->db != NULL && i < p->n_chains && i < p->db->n_zones; i++) {
		if (p->passes == NULL || p->passes[i].since == 0)
			continue;
		if (resign_slice(p, i) != NP_OK) {
			log_err("zone %s: a re-signing slice failed; it is tried again",
			        p->cfg->zones[i].name);
			return;
		}
		running = running || (p->passes != NULL && p->passes[i].since != 0);
	}
	if (!running && p->resign_started != 0) {
		p->signed_at = p->resign_started;
		p->resign_started = 0;
	}
}

/* ---- incremental publication after a batch ---- */

static int zone_index(const struct config *cfg, const char *fqdn, unsigned *out)
{
	const struct cfg_zone *cz = config_zone_for(cfg, fqdn);
	if (cz == NULL)
		return NP_ENOTFOUND;
	*out = (unsigned)(cz - cfg->zones);
	return NP_OK;
}

/* The touch hook: fqdn is re-rendered and its zone's serial bumped after the batch. */
static int hook_touch(void *ctx, const char *fqdn)
{
	struct publisher *p = ctx;
	unsigned zi;
	if (zone_index(p->cfg, fqdn, &zi) != NP_OK)
		return NP_ENOTFOUND;
	for (size_t i = 0; i < p->n_touched; i++)
		if (strcmp(p->touched[i].fqdn, fqdn) == 0)
			return NP_OK;
	if (p->n_touched == p->cap_touched) {
		size_t cap = p->cap_touched ? p->cap_touched * 2 : 64;
		struct touched *t = realloc(p->touched, cap * sizeof(*t));
		if (t == NULL)
			return NP_ENOMEM;
		p->touched = t;
		p->cap_touched = cap;
	}
	struct touched *t = &p->touched[p->n_touched++];
	np_strlcpy(t->fqdn, fqdn, sizeof(t->fqdn));
	t->zone = zi;
	return NP_OK;
}

/* Renders the challenge name of host_fqdn as stored now: NULL when it has no values, or
 * the host is gone or quarantined. */
static int render_challenge(struct publisher *p, const char *host_fqdn, struct zone_node **node)
{
	struct store_host h;
	struct store_acme_txt v[ACME_VALUES_MAX];
	size_t n = 0;
	const struct cfg_zone *cz = config_zone_for(p->cfg, host_fqdn);
	*node = NULL;
	int ret = store_host_get_row(p->st, host_fqdn, &h);
	if (ret == NP_ENOTFOUND || cz == NULL || (ret == NP_OK && store_abuse_withdrawn(&h)))
		return NP_OK;
	if (ret == NP_OK)
		ret = store_acme_get(p->st, h.id, v, ACME_VALUES_MAX, &n);
	if (ret != NP_OK || n == 0)
		return ret;
	*node = sign(p, cz, acme_node(host_fqdn, v, n, challenge_ttl(cz)));
	return *node == NULL ? NP_ENOMEM : NP_OK;
}

/* Renders fqdn as stored now: a host, or the challenge name of one. *node is NULL when
 * neither exists. */
static int render_host(struct publisher *p, const char *fqdn, struct zone_node **node)
{
	struct store_host h;
	*node = NULL;
	int ret = store_host_get_row(p->st, fqdn, &h);
	if (ret == NP_ENOTFOUND && acme_host_of(fqdn) != NULL)
		return render_challenge(p, acme_host_of(fqdn), node);
	if (ret == NP_ENOTFOUND)
		return NP_OK;
	if (ret != NP_OK)
		return ret;
	size_t n = 0;
	ret = store_records_get(p->st, h.id, p->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	uint8_t name[DNS_NAME_MAX];
	int len = dns_name_from_text(fqdn, name, sizeof(name));
	if (len < 0)
		return NP_EINVAL;
	size_t nin = rr_in_from_store(p->rr_in, p->rrs, n);
	if (store_abuse_withdrawn(&h)) {
		nin = quarantined_rrs(p, fqdn, p->rr_in);
		if (nin == 0)
			return NP_OK; /* no node: the name is removed, NXDOMAIN */
	}
	*node = sign(p, config_zone_for(p->cfg, fqdn),
	             zone_node_new(name, (size_t)len, host_flags(&h), p->rr_in, nin));
	return *node == NULL ? NP_ENOMEM : NP_OK;
}

static int render_apex(struct publisher *p, const struct cfg_zone *cz, uint32_t serial,
		       struct zone_node **node)
{
	struct store_host h;
	size_t n = 0;
	int ret = store_host_get_row(p->st, cz->name, &h);
	if (ret == NP_OK)
		ret = store_records_get(p->st, h.id, p->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	else if (ret == NP_ENOTFOUND)
		ret = NP_OK;
	if (ret != NP_OK)
		return ret;
	size_t nin = rr_in_from_store(p->rr_in, p->rrs, n);
	*node = apex_node(p, cz, serial, p->rr_in, nin);
	return *node == NULL ? NP_ENOMEM : NP_OK;
}

/* ---- inside the transaction: render the batch and journal its difference ---- */

/* The lowercase wire form of a touched name. */
static int wire_name(const char *fqdn, uint8_t name[DNS_NAME_MAX])
{
	return dns_name_from_text(fqdn, name, DNS_NAME_MAX);
}

/* A touched host whose challenge name is published may have taken it along (deleted: its
 * values went with it, ON DELETE CASCADE; quarantined: nothing below it answers): its
 * challenge name is touched too, to be rendered again. Only an in-memory lookup for a
 * host without one. */
static int touch_challenges(struct publisher *p)
{
	size_t n = p->n_touched;
	for (size_t t = 0; t < n; t++) {
		char ch[CFG_NAME_MAX + sizeof(ACME_LABEL)];
		uint8_t name[DNS_NAME_MAX];
		unsigned zi = p->touched[t].zone;
		if (acme_host_of(p->touched[t].fqdn) != NULL ||
		    (size_t)snprintf(ch, sizeof(ch), ACME_LABEL "%s", p->touched[t].fqdn) >=
		        CFG_NAME_MAX)
			continue;
		int len = wire_name(ch, name);
		if (len < 0 || zone_find(p->db->zones[zi], name, (size_t)len) == NULL)
			continue;
		int ret = hook_touch(p, ch);
		if (ret != NP_OK)
			return ret;
	}
	return NP_OK;
}

/* Renders every touched name and the apex of every touched zone with its new serial, and
 * writes each zone's journal entry (the difference from the published version, which is
 * what the store held before this transaction) in the same transaction. */
static int prepare_batch(struct publisher *p)
{
	int pre = touch_challenges(p);
	if (pre != NP_OK)
		return pre;
	unsigned nz = p->cfg->n_zones;
	uint8_t **bufs = calloc(nz, sizeof(*bufs));
	size_t *lens = calloc(nz, sizeof(*lens));
	size_t *caps = calloc(nz, sizeof(*caps));
	p->rendered = calloc(p->n_touched + 1, sizeof(*p->rendered));
	int ret = NP_ENOMEM;
	if (bufs == NULL || lens == NULL || caps == NULL || p->rendered == NULL)
		goto done;
	for (unsigned zi = 0; zi < nz; zi++) {
		if (!p->zone_touched[zi])
			continue;
		const struct zone_version *old = p->db->zones[zi];
		ret = render_apex(p, &p->cfg->zones[zi], p->serials[zi], &p->apexes[zi]);
		if (ret != NP_OK)
			goto done;
		ret = zone_jentry_add_name(&bufs[zi], &lens[zi], &caps[zi], old->apex,
		                           old->apex_len, old->apex_node, p->apexes[zi]);
		if (ret == NP_ETOOBIG)
			p->reset[zi] = true;
		else if (ret != NP_OK)
			goto done;
	}
	for (size_t t = 0; t < p->n_touched; t++) {
		const struct touched *tc = &p->touched[t];
		unsigned zi = tc->zone;
		if (strcmp(tc->fqdn, p->cfg->zones[zi].name) == 0)
			continue; /* the apex: rendered above */
		ret = render_host(p, tc->fqdn, &p->rendered[t]);
		if (ret != NP_OK)
			goto done;
		uint8_t name[DNS_NAME_MAX];
		int len = wire_name(tc->fqdn, name);
		if (len < 0 || p->reset[zi])
			continue;
		const struct zone_node *was = zone_find(p->db->zones[zi], name, (size_t)len);
		ret = zone_jentry_add_name(&bufs[zi], &lens[zi], &caps[zi], name, (size_t)len, was,
		                           p->rendered[t]);
		if (ret == NP_ETOOBIG)
			p->reset[zi] = true; /* a batch too big to keep: the history starts anew */
		else if (ret != NP_OK)
			goto done;
	}
	for (unsigned zi = 0; zi < nz; zi++) {
		if (!p->zone_touched[zi] || p->reset[zi])
			continue;
		const struct zone_version *old = p->db->zones[zi];
		p->entries[zi] = zone_jentry_new(old->serial, p->serials[zi], bufs[zi], lens[zi]);
		if (p->entries[zi] == NULL) {
			ret = NP_ENOMEM;
			goto done;
		}
		const char *zone = p->cfg->zones[zi].name;
		struct zone_jentry *e = p->entries[zi];
		ret = store_journal_add(p->st, zone, old->serial, p->serials[zi], bufs[zi],
		                        lens[zi], &e->id);
		/* The store keeps what the next journal keeps: rows older than its oldest go
		 * (all older ones when the chain broke here, or before it). Once the journal
		 * is full that is a row a batch, two more pages of the WAL: so they go in
		 * chunks, when the oldest kept row passes a multiple of 64 ids. The few rows
		 * left meanwhile are older than the chain load_journal reads back. */
		uint32_t n_old = old->journal != NULL ? old->journal->n : 0;
		uint32_t kept = zone_journal_kept(old->journal, e);
		int64_t oldest = kept > 1 ? old->journal->e[n_old - (kept - 1)]->id : e->id;
		int64_t was = n_old > 0 ? old->journal->e[0]->id : 0;
		if (ret == NP_OK && (kept <= 1 || n_old == 0 || oldest / 64 != was / 64))
			ret = store_journal_trim(p->st, zone, oldest);
		if (ret != NP_OK)
			goto done;
	}
	ret = NP_OK;
done:
	for (unsigned zi = 0; bufs != NULL && zi < nz; zi++)
		free(bufs[zi]);
	free(bufs);
	free(lens);
	free(caps);
	return ret;
}

/* Frees what prepare_batch made and publish_batch did not take. */
static void prepared_free(struct publisher *p)
{
	for (size_t t = 0; p->rendered != NULL && t < p->n_touched; t++)
		zone_node_free(p->rendered[t]);
	free(p->rendered);
	p->rendered = NULL;
	for (unsigned zi = 0; zi < p->cfg->n_zones; zi++) {
		if (p->apexes != NULL)
			zone_node_free(p->apexes[zi]);
		if (p->entries != NULL)
			free(p->entries[zi]);
	}
	free(p->apexes);
	free(p->entries);
	free(p->reset);
	p->apexes = NULL;
	p->entries = NULL;
	p->reset = NULL;
}

/* ---- after the commit: publish ---- */

/* Derives the next version of zone zi from the nodes prepare_batch rendered. On success
 * the new version owns them. The nodes it replaces are collected in retired. */
static int derive_zone(struct publisher *p, unsigned zi, struct zone_version **out,
                       struct zone_retired *retired)
{
	const struct zone_version *old = p->db->zones[zi];
	size_t n = 0, n_removed = 0, n_repl = 0;
	for (size_t i = 0; i < p->n_touched; i++)
		n += p->touched[i].zone == zi;
	struct zone_node **repl = calloc(n + 1, sizeof(*repl));
	/* Room for the removed names, then for repl's (the chain's splice takes both). */
	uint8_t (*names)[DNS_NAME_MAX] = calloc(2 * n + 2, sizeof(*names));
	const uint8_t **removed = calloc(2 * n + 2, sizeof(*removed));
	size_t *removed_len = calloc(2 * n + 2, sizeof(*removed_len));
	int ret = NP_ENOMEM;
	if (repl == NULL || names == NULL || removed == NULL || removed_len == NULL)
		goto done;
	repl[n_repl++] = p->apexes[zi];
	for (size_t i = 0; i < p->n_touched; i++) {
		const struct touched *t = &p->touched[i];
		if (t->zone != zi || strcmp(t->fqdn, p->cfg->zones[zi].name) == 0)
			continue;
		if (p->rendered[i] != NULL) {
			repl[n_repl++] = p->rendered[i];
			continue;
		}
		int len = wire_name(t->fqdn, names[n_removed]);
		if (len > 0) {
			removed[n_removed] = names[n_removed];
			removed_len[n_removed++] = (size_t)len;
		}
	}
	const struct cfg_zone *cz = &p->cfg->zones[zi];
	const struct dnssec_zone *dz = signer_of(p, cz);
	struct nsec3_index *chain = zi < p->n_chains ? p->chains[zi] : NULL;
	if (dz != NULL && chain == NULL)
		goto done; /* a splice failed before: only a rebuild makes the chain again */
	/* The chain's splice looks at every name the batch rendered or removed. */
	for (size_t i = 0; i < n_repl; i++) {
		removed[n_removed + i] = repl[i]->data;
		removed_len[n_removed + i] = repl[i]->name_len;
	}
	*out = zone_version_derive(old, p->serials[zi], repl, n_repl, removed, removed_len,
	                           n_removed, retired);
	ret = *out == NULL ? NP_ENOMEM : NP_OK;
	if (ret == NP_OK) {
		/* The new version owns them now. */
		p->apexes[zi] = NULL;
		for (size_t i = 0; i < p->n_touched; i++)
			if (p->touched[i].zone == zi)
				p->rendered[i] = NULL;
	}
	if (ret == NP_OK && dz != NULL) {
		/* repl's names: copied, since the splice may free nodes born in the derive. */
		for (size_t i = 0; i < n_repl; i++) {
			memcpy(names[n_removed + i], removed[n_removed + i], removed_len[n_removed + i]);
			removed[n_removed + i] = names[n_removed + i];
		}
		ret = chain_splice(dz, cz, chain, old, *out, removed, removed_len,
		                   n_removed + n_repl, retired, &p->entries[zi], &p->reset[zi]);
		if (ret != NP_OK) {
			log_err("zone %s: cannot splice the NSEC3 chain: %s", cz->name,
			        np_strerror(ret));
			nsec3_index_free(chain);
			p->chains[zi] = NULL;
			zone_version_discard(*out, old);
			*out = NULL;
		}
	}
done:
	free(repl);
	free(names);
	free(removed);
	free(removed_len);
	return ret;
}

static void graced_add(struct publisher *p, struct garbage *g)
{
	g->next = p->graced;
	p->graced = g;
}

/* Queues the graced garbage: a grace period passed since what replaced it was shown. */
static void graced_enqueue(struct publisher *p)
{
	/* graced is newest first; the queue wants oldest first. */
	struct garbage *rev = NULL;
	while (p->graced != NULL) {
		struct garbage *g = p->graced;
		p->graced = g->next;
		g->next = rev;
		rev = g;
	}
	while (rev != NULL) {
		struct garbage *g = rev;
		rev = g->next;
		garbage_enqueue(p, g);
	}
}

/* Queues the running batch's entry (made by batch_begin, so this cannot fail). */
static void unshown_push(struct publisher *p, struct zone_db *db, struct garbage *g)
{
	struct unshown *u = p->entry;
	p->entry = NULL;
	u->db = db;
	u->g = g;
	*p->unshown_tail = u;
	p->unshown_tail = &u->next;
}

static struct unshown *unshown_pop(struct publisher *p)
{
	struct unshown *u = p->unshown;
	if (u != NULL) {
		p->unshown = u->next;
		if (p->unshown == NULL)
			p->unshown_tail = &p->unshown;
	}
	return u;
}

/* rebuild_all after a commit, which shows the store as it is now: only once it is on
 * disk, and with it every batch committed before (their versions are never shown; what
 * they replaced is freed after the rebuild's grace period). A failed sync leaves the
 * zones as they are (the writer stops acknowledging). */
static int rebuild_shown(struct publisher *p)
{
	int ret = store_wal_sync_now(p->st);
	if (ret != NP_OK)
		return ret;
	for (struct unshown *u = p->unshown; u != NULL; u = u->next) {
		if (u->g != NULL)
			graced_add(p, u->g);
		u->db = NULL;
		u->g = NULL;
	}
	ret = rebuild_all(p, false); /* shows, then waits out the readers */
	if (ret == NP_OK)
		graced_enqueue(p);
	return ret;
}

/* Derives the committed batch's zone_db, sharing the untouched zones, each new version
 * with its journal; hook_durable shows it once the batch is on disk. If anything fails
 * here the store is already right, so fall back to a full rebuild from it. */
static void publish_batch(struct publisher *p)
{
	uint32_t nz = p->db->n_zones;
	struct garbage *g = calloc(1, sizeof(*g));
	struct zone_db *db = db_alloc(p, nz);
	bool ok = g != NULL && db != NULL;
	if (ok) {
		g->old_versions = calloc(nz, sizeof(*g->old_versions));
		ok = g->old_versions != NULL;
	}
	for (uint32_t i = 0; ok && i < nz; i++) {
		if (!p->zone_touched[i]) {
			db->zones[i] = p->db->zones[i];
			continue;
		}
		struct zone_version *z = NULL;
		if (derive_zone(p, i, &z, &g->retired) != NP_OK) {
			ok = false;
			break;
		}
		db->zones[i] = z;
		g->old_versions[i] = (struct zone_version *)p->db->zones[i];
	}
	for (uint32_t i = 0; ok && i < nz; i++) {
		if (g->old_versions[i] == NULL)
			continue;
		struct zone_version *z = (struct zone_version *)db->zones[i];
		z->journal = zone_journal_next(g->old_versions[i]->journal, p->entries[i],
		                               p->reset[i], &g->retired);
		ok = z->journal != NULL;
	}
	if (!ok) {
		/* Throw the new versions away (their copied pages and fresh nodes with them);
		 * what their derives retired is still the published versions', so only forget
		 * it. Then rebuild everything from the store, which is already right. */
		for (uint32_t i = 0; db != NULL && g != NULL && g->old_versions != NULL && i < nz;
		     i++)
			if (g->old_versions[i] != NULL)
				zone_version_discard((struct zone_version *)db->zones[i],
						     g->old_versions[i]);
		free(db);
		if (g != NULL) {
			free(g->old_versions);
			zone_retired_drop(&g->retired);
			free(g);
		}
		log_warn("incremental zone update failed; rebuilding from the store");
		if (rebuild_shown(p) != NP_OK)
			log_err("zone rebuild failed; DNS keeps serving the previous data");
		unshown_push(p, NULL, NULL);
		return;
	}
	for (uint32_t i = 0; i < nz; i++)
		p->entries[i] = NULL; /* the journals hold them now */
	g->gen = p->db->generation;
	g->old_db = p->db;
	unshown_push(p, db, g);
	p->db = db;
}

/* ---- the writer hooks ---- */

static int hook_batch_begin(void *ctx)
{
	struct publisher *p = ctx;
	unsigned nz = p->cfg->n_zones;
	p->n_touched = 0;
	p->stale = p->prepared = false;
	p->serials = calloc(nz, sizeof(*p->serials));
	p->zone_touched = calloc(nz, sizeof(*p->zone_touched));
	p->apexes = calloc(nz, sizeof(*p->apexes));
	p->entries = calloc(nz, sizeof(*p->entries));
	p->reset = calloc(nz, sizeof(*p->reset));
	p->entry = calloc(1, sizeof(*p->entry));
	if (p->entry == NULL || p->serials == NULL || p->zone_touched == NULL || p->apexes == NULL ||
	    p->entries == NULL || p->reset == NULL) {
		free(p->serials);
		free(p->zone_touched);
		p->serials = NULL;
		p->zone_touched = NULL;
		free(p->entry);
		p->entry = NULL;
		prepared_free(p);
		return NP_ENOMEM;
	}
	return NP_OK;
}

static void hook_op_begin(void *ctx)
{
	struct publisher *p = ctx;
	p->touched_op = p->n_touched;
}

static void hook_op_undo(void *ctx)
{
	struct publisher *p = ctx;
	p->n_touched = p->touched_op;
}

/* Inside the batch's transaction: one serial bump per zone the batch touched, then the
 * new nodes and the journal entries (durable with the change they describe). */
static int hook_before_commit(void *ctx)
{
	struct publisher *p = ctx;
	int ret = NP_OK;
	for (size_t t = 0; t < p->n_touched && ret == NP_OK; t++) {
		unsigned zi = p->touched[t].zone;
		if (!p->zone_touched[zi])
			ret = store_zone_bump(p->st, p->cfg->zones[zi].name, &p->serials[zi]);
		p->zone_touched[zi] = true;
	}
	if (ret != NP_OK || p->n_touched == 0)
		return ret;
	int64_t version;
	if (store_data_version(p->st, &version) != NP_OK || version != p->data_version) {
		p->stale = true; /* nameplatectl committed: rebuild after the commit */
		return NP_OK;
	}
	ret = prepare_batch(p);
	if (ret == NP_ENOMEM) {
		/* The change itself is fine: publish it by a rebuild, without history. */
		prepared_free(p);
		p->stale = true;
		return NP_OK;
	}
	p->prepared = ret == NP_OK;
	return ret;
}

/* What batch_begin and before_commit made for the batch (idempotent). */
static void batch_free(struct publisher *p)
{
	free(p->entry);
	p->entry = NULL;
	prepared_free(p);
	free(p->serials);
	free(p->zone_touched);
	p->serials = NULL;
	p->zone_touched = NULL;
}

/* Committed, maybe not yet on disk: derive the next versions (shown by hook_durable). The
 * next batch may begin before this one is durable, so the batch's own state ends here. */
static void hook_committed(void *ctx)
{
	struct publisher *p = ctx;
	if (p->n_touched > 0 && p->prepared) {
		publish_batch(p);
	} else {
		if (p->n_touched > 0) {
			log_info("zones changed under the writer; rebuilding from the store");
			if (rebuild_shown(p) != NP_OK)
				log_err("zone rebuild failed; DNS keeps serving the previous data");
		}
		unshown_push(p, NULL, NULL); /* durable takes one entry per batch */
	}
	batch_free(p);
}

/* On disk, not yet answered: show it, so a client told "good" can query the change. It may
 * run on the WAL sync thread during the next batch's transaction (core/writer.h): it
 * touches only what shows versions (unshown, shown, graced, the published pointer), which
 * the hooks of a transaction leave alone. */
static void hook_durable(void *ctx)
{
	struct publisher *p = ctx;
	struct unshown *u = unshown_pop(p);
	if (u == NULL)
		return; /* a batch the rebuild of a later one showed (or there was no entry) */
	if (u->db != NULL) {
		struct zone_db *old = p->shown;
		rcu_assign_pointer(*p->db_slot, u->db);
		p->shown = u->db;
		notify_changed(p, old, u->db);
	}
	if (u->g != NULL)
		graced_add(p, u->g);
	free(u);
}

/* Answered: only now wait out the readers of the old versions. */
static void hook_batch_end(void *ctx, bool committed)
{
	struct publisher *p = ctx;
	if (!committed) {
		/* A batch whose sync failed (the writer acknowledges nothing more) still has
		 * its entry: its versions were never shown, and what they retired still is,
		 * so all of it stays (a leak, once, before the operator's restart). A batch
		 * that failed before its commit has none (the writer finished every earlier
		 * one first). */
		free(unshown_pop(p));
		if (p->unshown == NULL)
			p->db = p->shown;
		batch_free(p);
	}
	if (p->graced != NULL) {
		synchronize_rcu();
		graced_enqueue(p);
	}
	garbage_collect(p);
}

/* Before the first build: every start signs anew (the signatures kept from before are
 * not known), so every signed zone gets a new serial. */
static void bump_signed_serials(struct publisher *p)
{
	for (unsigned i = 0; i < p->cfg->n_zones; i++) {
		const struct cfg_zone *cz = &p->cfg->zones[i];
		uint32_t serial;
		if (cz->dnssec && store_zone_bump(p->st, cz->name, &serial) != NP_OK)
			log_warn("zone %s: cannot move the serial on for the new signatures",
			         cz->name);
	}
}

/* Whether the signatures of a signed zone need making anew: half their validity has passed
 * since the last full build, or the clock went back past their inception. Nodes changed
 * since then carry newer ones; the rebuild re-signs them all. */
static bool signatures_due(const struct publisher *p)
{
	bool any = false;
	for (unsigned i = 0; i < p->n_signers; i++)
		any = any || p->signers[i] != NULL;
	int64_t now = time(NULL);
	return any && (now - p->signed_at >= DNSSEC_VALIDITY / 2 ||
	               now + DNSSEC_SKEW < p->signed_at);
}

static void hook_wake(void *ctx)
{
	struct publisher *p = ctx;
	garbage_collect(p); /* what a transfer that ended held */
	/* Key rolls: a step due in any signed zone changes its DNSKEY RRset or its signing
	 * key, so that zone is built and signed anew (with a new serial); the others keep
	 * their versions. */
	bool rolled = false;
	for (unsigned i = 0; p->have_seal && i < p->cfg->n_zones && i < p->n_signers; i++) {
		bool changed = false;
		int64_t settled = 0;
		if (p->passes != NULL && i < p->n_chains)
			settled = p->passes[i].since != 0 ? INT64_MAX : p->passes[i].settled;
		if (p->signers[i] != NULL &&
		    keyroll_step(p->st, p->seal, &p->cfg->zones[i], time(NULL), settled,
		                 &changed) != NP_OK)
			log_err("zone %s: the key roll failed; it is tried again",
			        p->cfg->zones[i].name);
		rolled = rolled || changed;
	}
	if (rolled) {
		if (rebuild_all(p, false) != NP_OK)
			log_err("zones could not be signed with the rolled keys");
	} else if (signatures_due(p)) {
		int64_t now = time(NULL);
		/* Passes over every signed zone, in slices; signed whole when the clock went
		 * back (what was signed "before" is no longer known), or when the passes did
		 * not end in the half of the validity they have (the writer failed them). */
		if (now + DNSSEC_SKEW < p->signed_at ||
		    now - p->signed_at >= DNSSEC_VALIDITY - DNSSEC_VALIDITY / 4) {
			log_info("re-signing the signed zones whole (signatures made %lld s ago)",
			         (long long)(now - p->signed_at));
			if (rebuild_all(p, true) != NP_OK)
				log_err("re-signing failed; DNS keeps serving the previous "
				        "signatures");
		} else if (p->resign_started == 0 && p->passes != NULL) {
			log_info("re-signing the signed zones in slices of %u names (signatures "
			         "made %lld s ago)",
			         RESIGN_SLICE, (long long)(now - p->signed_at));
			p->resign_started = now;
			for (unsigned i = 0; i < p->n_chains; i++)
				if (i < p->n_signers && p->signers[i] != NULL)
					p->passes[i] = (struct resign_pass){now, 0, true, 0,
					                                    p->passes[i].settled};
		}
	}
	int64_t version;
	if (store_data_version(p->st, &version) == NP_OK && version != p->data_version) {
		log_info("store changed by another process; reloading zones");
		if (rebuild_all(p, false) != NP_OK)
			log_err("zone reload failed; DNS keeps serving the previous data");
	}
	/* After the reload: a slice derives from the published version, and renders the
	 * apex from the store. */
	if (p->db == p->shown)
		resign_slices(p);
}

static void hook_reload(void *ctx, const struct config *cfg)
{
	struct publisher *p = ctx;
	p->cfg = cfg;
	if (rebuild_all(p, false) != NP_OK)
		log_err("reload: zones could not be rebuilt");
}

void publish_hooks(struct publisher *p, struct writer_hooks *hooks)
{
	*hooks = (struct writer_hooks){
		.ctx = p,
		.batch_begin = hook_batch_begin,
		.touch = hook_touch,
		.op_begin = hook_op_begin,
		.op_undo = hook_op_undo,
		.before_commit = hook_before_commit,
		.committed = hook_committed,
		.durable = hook_durable,
		.batch_end = hook_batch_end,
		.wake = hook_wake,
		.reload = hook_reload,
	};
}

int publish_start(struct publisher **out, const struct config *cfg, struct store *st,
		  struct zone_db **db_slot)
{
	struct publisher *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NP_ENOMEM;
	p->cfg = cfg;
	p->st = st;
	p->db_slot = db_slot;
	p->gq_tail = &p->gq_head;
	p->unshown_tail = &p->unshown;
	bump_signed_serials(p);
	int ret = rebuild_all(p, true);
	if (ret != NP_OK) {
		rcu_assign_pointer(*db_slot, NULL);
		publish_stop(p);
		return ret;
	}
	*out = p;
	return NP_OK;
}

void publish_attach(struct publisher *p, struct zone_pins *pins, publish_serial_fn *on_serial,
                    void *ctx)
{
	p->pins = pins;
	p->on_serial = on_serial;
	p->on_serial_ctx = ctx;
	if (on_serial != NULL)
		notify_changed(p, NULL, p->db); /* tell the secondaries we are back */
}

void publish_stop(struct publisher *p)
{
	if (p == NULL)
		return;
	rcu_assign_pointer(*p->db_slot, NULL);
	synchronize_rcu();
	p->pins = NULL; /* the transports have stopped: nothing is pinned any more */
	graced_enqueue(p);
	for (struct unshown *u; (u = unshown_pop(p)) != NULL;)
		free(u); /* only after a failed sync: what they held stays (see batch_end) */
	garbage_collect(p);
	db_free_all(p->db);
	free(p->touched);
	for (unsigned i = 0; i < p->n_signers; i++)
		dnssec_zone_free(p->signers[i]);
	for (size_t i = 0; i < p->n_dead; i++)
		dnssec_zone_free(p->dead[i]);
	free(p->signers);
	free(p->dead);
	chains_free(p->chains, p->n_chains);
	free(p->passes);
	sodium_memzero(p->seal, sizeof(p->seal));
	free(p);
}
