/* SPDX-License-Identifier: MIT */
/* The zone publisher, run by the writer's hooks: rebuilding and publishing zone versions
 * (RCU), incrementally after each batch and wholly when the store changed under it. */
#include "core/publish.h"

#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "dns/constants.h"
#include "dns/name.h"
#include "store/abuse.h"

struct touched {
	char fqdn[CFG_NAME_MAX];
	unsigned zone; /* index into cfg->zones */
};

/* What a publication leaves behind: freed once no reader can still see it. */
struct garbage {
	struct zone_db *old_db;             /* the struct only; its zones are below or shared */
	struct zone_version **old_versions; /* tables of the replaced versions */
	struct zone_retired retired;        /* nodes and pages only the old versions used */
};

struct publisher {
	const struct config *cfg;
	struct store *st;
	struct zone_db **db_slot;
	struct zone_db *db; /* what *db_slot points to, as last published */
	int64_t data_version;

	/* The current batch: names changed, by op (touched_op: count before the running op),
	 * the new serial of each zone it touched, and what its publication left behind. */
	struct touched *touched;
	size_t n_touched, cap_touched, touched_op;
	uint32_t *serials;
	bool *zone_touched;
	struct garbage garbage;

	/* Scratch for loading a host's records (too big for a thread stack). */
	struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	struct zone_rr_in rr_in[ZONE_MAX_RRS_PER_NODE];
	uint8_t parked[16]; /* the rdata of a quarantined name's one record */
};

static struct zone_db *db_alloc(unsigned n)
{
	struct zone_db *db = calloc(1, sizeof(*db) + n * sizeof(db->zones[0]));
	if (db != NULL)
		db->n_zones = n;
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
	if (h->abuse_state == STORE_ABUSE_QUARANTINED)
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

/* ---- full build: every zone from the store ---- */

struct build_ctx {
	struct publisher *p;
	struct zone_version *z;
	const struct cfg_zone *cz;
	uint32_t serial;
	struct zone_node *apex; /* built when the zone's own name is also a host */
	int err;
};

static int build_host(const struct store_host *h, const struct store_rr *rrs, size_t n,
		      void *arg)
{
	struct build_ctx *b = arg;
	struct zone_rr_in *in = b->p->rr_in;
	size_t nin = rr_in_from_store(in, rrs, n);
	bool quarantined = h->abuse_state == STORE_ABUSE_QUARANTINED &&
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
		b->apex = zone_node_new_apex(b->cz, b->serial, in, nin);
		if (b->apex == NULL)
			b->err = NP_ENOMEM;
		return b->apex == NULL;
	}
	struct zone_node *node = zone_node_new(name, (size_t)len, host_flags(h), in, nin);
	if (node == NULL) {
		log_warn("zone %s: skipping host %s: records do not render", b->cz->name, h->fqdn);
		return 0;
	}
	b->err = zone_version_insert(b->z, node);
	return b->err != NP_OK;
}

static int build_zone(struct publisher *p, const struct cfg_zone *cz, struct zone_version **out)
{
	uint8_t apex[DNS_NAME_MAX];
	int alen = dns_name_from_text(cz->name, apex, sizeof(apex));
	if (alen < 0)
		return NP_EINVAL;
	uint32_t serial;
	int ret = store_zone_serial(p->st, cz->name, &serial);
	if (ret != NP_OK)
		return ret;
	struct build_ctx b = {.p = p, .cz = cz, .serial = serial};
	b.z = zone_version_new(apex, (size_t)alen, serial, 1024);
	if (b.z == NULL)
		return NP_ENOMEM;
	ret = store_foreach_host_records(p->st, cz->name, build_host, &b);
	if (ret == NP_OK)
		ret = b.err;
	if (ret == NP_OK && b.apex == NULL) {
		b.apex = zone_node_new_apex(cz, serial, NULL, 0);
		if (b.apex == NULL)
			ret = NP_ENOMEM;
	}
	if (ret == NP_OK) {
		ret = zone_version_insert(b.z, b.apex);
		b.apex = NULL;
	}
	zone_node_free(b.apex);
	if (ret != NP_OK) {
		zone_version_free_all(b.z);
		return ret;
	}
	*out = b.z;
	return NP_OK;
}

/* Builds every zone of cfg afresh and publishes them. Used at start, after a reload and
 * when another connection (nameplatectl) committed changes. */
static int rebuild_all(struct publisher *p)
{
	int64_t started = time_mono_ms();
	int64_t version;
	int ret = store_data_version(p->st, &version);
	if (ret != NP_OK)
		return ret;
	struct zone_db *db = db_alloc(p->cfg->n_zones);
	if (db == NULL)
		return NP_ENOMEM;
	size_t nodes = 0;
	for (unsigned i = 0; i < p->cfg->n_zones; i++) {
		struct zone_version *z = NULL;
		ret = build_zone(p, &p->cfg->zones[i], &z);
		if (ret != NP_OK) {
			log_err("zone %s: cannot load: %s", p->cfg->zones[i].name,
				np_strerror(ret));
			db->n_zones = i;
			db_free_all(db);
			return ret;
		}
		db->zones[i] = z;
		nodes += z->count;
	}
	struct zone_db *old = p->db;
	rcu_assign_pointer(*p->db_slot, db);
	p->db = db;
	p->data_version = version;
	synchronize_rcu();
	db_free_all(old);
	store_release_memory(p->st);
	log_info("loaded %u zones, %zu names in %lld ms", db->n_zones, nodes,
		 (long long)(time_mono_ms() - started));
	return NP_OK;
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

/* Renders fqdn as stored now. *node is NULL when the host no longer exists. */
static int render_host(struct publisher *p, const char *fqdn, struct zone_node **node)
{
	struct store_host h;
	*node = NULL;
	int ret = store_host_get(p->st, fqdn, &h);
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
	if (h.abuse_state == STORE_ABUSE_QUARANTINED) {
		nin = quarantined_rrs(p, fqdn, p->rr_in);
		if (nin == 0)
			return NP_OK; /* no node: the name is removed, NXDOMAIN */
	}
	*node = zone_node_new(name, (size_t)len, host_flags(&h), p->rr_in, nin);
	return *node == NULL ? NP_ENOMEM : NP_OK;
}

static int render_apex(struct publisher *p, const struct cfg_zone *cz, uint32_t serial,
		       struct zone_node **node)
{
	struct store_host h;
	size_t n = 0;
	int ret = store_host_get(p->st, cz->name, &h);
	if (ret == NP_OK)
		ret = store_records_get(p->st, h.id, p->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	else if (ret == NP_ENOTFOUND)
		ret = NP_OK;
	if (ret != NP_OK)
		return ret;
	size_t nin = rr_in_from_store(p->rr_in, p->rrs, n);
	*node = zone_node_new_apex(cz, serial, p->rr_in, nin);
	return *node == NULL ? NP_ENOMEM : NP_OK;
}

/* Derives the next version of zone zi with the touched names re-rendered and the new
 * serial. The nodes it replaces are collected in retired. */
static int derive_zone(struct publisher *p, unsigned zi, uint32_t serial,
		       struct zone_version **out, struct zone_retired *retired)
{
	const struct cfg_zone *cz = &p->cfg->zones[zi];
	const struct zone_version *old = p->db->zones[zi];
	size_t n = 0, n_removed = 0;
	for (size_t i = 0; i < p->n_touched; i++)
		n += p->touched[i].zone == zi;
	struct zone_node **repl = calloc(n + 1, sizeof(*repl));
	uint8_t (*names)[DNS_NAME_MAX] = calloc(n + 1, sizeof(*names));
	const uint8_t **removed = calloc(n + 1, sizeof(*removed));
	size_t *removed_len = calloc(n + 1, sizeof(*removed_len));
	size_t n_repl = 0;
	int ret = NP_ENOMEM;
	if (repl == NULL || names == NULL || removed == NULL || removed_len == NULL)
		goto done;
	ret = render_apex(p, cz, serial, &repl[n_repl]);
	if (ret != NP_OK)
		goto done;
	n_repl++;
	for (size_t i = 0; i < p->n_touched; i++) {
		const struct touched *t = &p->touched[i];
		if (t->zone != zi || strcmp(t->fqdn, cz->name) == 0)
			continue;
		struct zone_node *node;
		ret = render_host(p, t->fqdn, &node);
		if (ret != NP_OK)
			goto done;
		if (node != NULL) {
			repl[n_repl++] = node;
			continue;
		}
		int len = dns_name_from_text(t->fqdn, names[n_removed], DNS_NAME_MAX);
		if (len > 0) {
			removed[n_removed] = names[n_removed];
			removed_len[n_removed++] = (size_t)len;
		}
	}
	*out = zone_version_derive(old, serial, repl, n_repl, removed, removed_len, n_removed,
				   retired);
	ret = *out == NULL ? NP_ENOMEM : NP_OK;
	if (ret == NP_OK)
		n_repl = 0; /* the new version owns them now */
done:
	for (size_t i = 0; i < n_repl; i++)
		zone_node_free(repl[i]);
	free(repl);
	free(names);
	free(removed);
	free(removed_len);
	return ret;
}

static void garbage_free(struct garbage *g)
{
	for (uint32_t i = 0; g->old_db != NULL && i < g->old_db->n_zones; i++)
		if (g->old_versions[i] != NULL)
			zone_version_free_table(g->old_versions[i]);
	zone_retired_free_nodes(&g->retired);
	zone_retired_deinit(&g->retired);
	free(g->old_versions);
	free(g->old_db);
}

/* Publishes the committed batch: a new zone_db sharing the untouched zones. If anything
 * fails here the store is already right, so fall back to a full rebuild from it. */
static void publish_batch(struct publisher *p, const uint32_t *serials, const bool *zone_touched,
			  struct garbage *g)
{
	uint32_t nz = p->db->n_zones;
	struct zone_db *db = db_alloc(nz);
	g->old_versions = calloc(nz, sizeof(*g->old_versions));
	bool ok = db != NULL && g->old_versions != NULL;
	for (uint32_t i = 0; ok && i < nz; i++) {
		if (!zone_touched[i]) {
			db->zones[i] = p->db->zones[i];
			continue;
		}
		struct zone_version *z = NULL;
		if (derive_zone(p, i, serials[i], &z, &g->retired) != NP_OK) {
			ok = false;
			break;
		}
		db->zones[i] = z;
		g->old_versions[i] = (struct zone_version *)p->db->zones[i];
	}
	if (!ok) {
		/* Throw the new versions away (their copied pages and fresh nodes with them);
		 * what their derives retired is still the published versions', so only forget
		 * it. Then rebuild everything from the store, which is already right. */
		for (uint32_t i = 0; db != NULL && g->old_versions != NULL && i < nz; i++)
			if (g->old_versions[i] != NULL)
				zone_version_discard((struct zone_version *)db->zones[i],
						     g->old_versions[i]);
		free(db);
		free(g->old_versions);
		g->old_versions = NULL;
		zone_retired_drop(&g->retired);
		log_warn("incremental zone update failed; rebuilding from the store");
		if (rebuild_all(p) != NP_OK)
			log_err("zone rebuild failed; DNS keeps serving the previous data");
		return;
	}
	g->old_db = p->db;
	rcu_assign_pointer(*p->db_slot, db);
	p->db = db;
}

/* ---- the writer hooks ---- */

static int hook_batch_begin(void *ctx)
{
	struct publisher *p = ctx;
	p->n_touched = 0;
	p->serials = calloc(p->cfg->n_zones, sizeof(*p->serials));
	p->zone_touched = calloc(p->cfg->n_zones, sizeof(*p->zone_touched));
	if (p->serials == NULL || p->zone_touched == NULL) {
		free(p->serials);
		free(p->zone_touched);
		p->serials = NULL;
		p->zone_touched = NULL;
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

/* Inside the batch's transaction: one serial bump per zone the batch touched. */
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
	return ret;
}

/* Committed, not yet answered: publish, so a client told "good" can query the change. */
static void hook_committed(void *ctx)
{
	struct publisher *p = ctx;
	if (p->n_touched > 0)
		publish_batch(p, p->serials, p->zone_touched, &p->garbage);
}

/* Answered: only now wait out the readers of the old versions. */
static void hook_batch_end(void *ctx, bool committed)
{
	struct publisher *p = ctx;
	(void)committed; /* a batch that did not commit published nothing */
	if (p->garbage.old_db != NULL) {
		synchronize_rcu();
		garbage_free(&p->garbage);
	}
	memset(&p->garbage, 0, sizeof(p->garbage));
	free(p->serials);
	free(p->zone_touched);
	p->serials = NULL;
	p->zone_touched = NULL;
}

/* nameplatectl commits through its own connection: rebuild when the store changed. */
static void hook_wake(void *ctx)
{
	struct publisher *p = ctx;
	int64_t version;
	if (store_data_version(p->st, &version) != NP_OK || version == p->data_version)
		return;
	log_info("store changed by another process; reloading zones");
	if (rebuild_all(p) != NP_OK)
		log_err("zone reload failed; DNS keeps serving the previous data");
}

static void hook_reload(void *ctx, const struct config *cfg)
{
	struct publisher *p = ctx;
	p->cfg = cfg;
	if (rebuild_all(p) != NP_OK)
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
	int ret = rebuild_all(p);
	if (ret != NP_OK) {
		rcu_assign_pointer(*db_slot, NULL);
		db_free_all(p->db);
		free(p);
		return ret;
	}
	*out = p;
	return NP_OK;
}

void publish_stop(struct publisher *p)
{
	if (p == NULL)
		return;
	rcu_assign_pointer(*p->db_slot, NULL);
	synchronize_rcu();
	db_free_all(p->db);
	free(p->touched);
	free(p);
}
