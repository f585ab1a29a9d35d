/* SPDX-License-Identifier: MIT */
/* nameplatectl zone import and export, and the DNSSEC keys of a zone (keys, ds, ksk-roll).
 * An import reads the whole file into memory first,
 * so a bad line changes nothing, then writes every host in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <time.h>

#include "common/buf.h"
#include "common/secret.h"
#include "common/str.h"
#include "ctl/ctl.h"
#include "dns/name.h"
#include "dnssec/key.h"
#include "dnssec/roll.h"
#include "store/dnssec.h"
#include "zone/zonefile.h"

/* One record read from the file; owners and rdata live in growable arenas. */
struct imp_rr {
	uint32_t owner; /* offset into imp.names */
	uint32_t rd;    /* offset into imp.rdata */
	uint32_t ttl;
	uint32_t line;
	uint32_t seq; /* file order, kept within an RRset */
	uint16_t type;
	uint16_t rdlen;
	bool ttl_default;
};

/* The records of one owner: idx[start..end) after sorting. */
struct imp_group {
	size_t start, end;
	bool wildcard; /* "*.owner" in the file has the same records */
	bool skip;     /* a "*.x" group folded into x's wildcard flag */
};

struct imp {
	struct imp_rr *rr;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	uint8_t *rdata;
	size_t rd_len, rd_cap;
	bool have_last;
	uint32_t last_owner;
	char first_origin[CFG_NAME_MAX];
	char first_owner[CFG_NAME_MAX];
	int err;
};

/* Offsets into the arrays are 32-bit. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need > UINT32_MAX)
		return NP_ETOOBIG;
	return array_grow(p, cap, need, elem, 4096) ? NP_OK : NP_ENOMEM;
}

static int imp_collect(const struct zonefile_rr *rr, void *arg)
{
	struct imp *im = arg;
	if (im->n == 0) {
		np_strlcpy(im->first_origin, rr->origin, sizeof(im->first_origin));
		np_strlcpy(im->first_owner, rr->owner, sizeof(im->first_owner));
	}
	if (grow((void **)&im->rr, &im->cap, im->n + 1, sizeof(*im->rr)) != NP_OK ||
	    grow((void **)&im->rdata, &im->rd_cap, im->rd_len + rr->rdlen, 1) != NP_OK)
		return NP_ENOMEM;
	/* Files list an owner's records together, so consecutive owners share one copy. */
	if (!im->have_last || strcmp(im->names + im->last_owner, rr->owner) != 0) {
		size_t len = strlen(rr->owner) + 1;
		if (grow((void **)&im->names, &im->names_cap, im->names_len + len, 1) != NP_OK)
			return NP_ENOMEM;
		memcpy(im->names + im->names_len, rr->owner, len);
		im->last_owner = (uint32_t)im->names_len;
		im->names_len += len;
		im->have_last = true;
	}
	struct imp_rr *o = &im->rr[im->n];
	o->owner = im->last_owner;
	o->rd = (uint32_t)im->rd_len;
	o->ttl = rr->ttl;
	o->line = rr->line;
	o->seq = (uint32_t)im->n;
	o->type = rr->type;
	o->rdlen = rr->rdlen;
	o->ttl_default = rr->ttl_default;
	memcpy(im->rdata + im->rd_len, rr->rdata, rr->rdlen);
	im->rd_len += rr->rdlen;
	im->n++;
	return NP_OK;
}

static struct imp *sort_im; /* qsort has no context argument */

static int cmp_rr(const void *a, const void *b)
{
	const struct imp_rr *x = &sort_im->rr[*(const uint32_t *)a];
	const struct imp_rr *y = &sort_im->rr[*(const uint32_t *)b];
	if (x->owner != y->owner) {
		int c = strcmp(sort_im->names + x->owner, sort_im->names + y->owner);
		if (c != 0)
			return c;
	}
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *owner_of(const struct imp *im, const uint32_t *idx, const struct imp_group *g)
{
	return im->names + im->rr[idx[g->start]].owner;
}

static bool same_rr(const struct imp *im, const struct imp_rr *a, const struct imp_rr *b)
{
	return a->type == b->type && a->ttl == b->ttl && a->rdlen == b->rdlen &&
	       memcmp(im->rdata + a->rd, im->rdata + b->rd, a->rdlen) == 0;
}

/* True when groups a and b hold the same set of records (wildcard folding). */
static bool same_records(const struct imp *im, const uint32_t *idx, const struct imp_group *a,
                         const struct imp_group *b)
{
	for (int pass = 0; pass < 2; pass++) {
		const struct imp_group *x = pass == 0 ? a : b, *y = pass == 0 ? b : a;
		for (size_t i = x->start; i < x->end; i++) {
			bool found = false;
			for (size_t j = y->start; j < y->end && !found; j++)
				found = same_rr(im, &im->rr[idx[i]], &im->rr[idx[j]]);
			if (!found)
				return false;
		}
	}
	return true;
}

static const struct cfg_zone *zone_named(const struct config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_zones; i++)
		if (strcmp(cfg->zones[i].name, name) == 0)
			return &cfg->zones[i];
	return NULL;
}

/* The configured zone a command's argument names (any case, a trailing dot or not); NULL
 * after a message. */
static const struct cfg_zone *ctl_zone_arg(const struct ctl *c, const char *text)
{
	char name[CFG_NAME_MAX];
	if (!ctl_host_name(text, name, sizeof(name)))
		return NULL;
	const struct cfg_zone *cz = zone_named(c->cfg, name);
	if (cz == NULL)
		ctl_err("no configured zone %s", name);
	return cz;
}

/* Writes one host's records (those of the file) into the store. */
static int import_host(struct ctl *c, const struct imp *im, const uint32_t *idx,
                       const struct imp_group *g, const struct cfg_zone *cz, int64_t user_id,
                       size_t *n_records)
{
	static struct store_rr all[ZONE_MAX_RRS_PER_NODE];
	static struct store_rr cur[ZONE_MAX_RRS_PER_NODE];
	const char *fqdn = owner_of(im, idx, g);
	struct store_host h;
	char old[1024] = "", new[1024] = "";
	bool created = false;
	int ret = store_host_get(c->st, fqdn, &h);
	if (ret == NP_ENOTFOUND) {
		memset(&h, 0, sizeof(h));
		np_strlcpy(h.fqdn, fqdn, sizeof(h.fqdn));
		np_strlcpy(h.zone, cz->name, sizeof(h.zone));
		h.user_id = user_id;
		h.wildcard = g->wildcard;
		ret = store_host_add(c->st, &h, &h.id);
		created = true;
	} else if (ret == NP_OK) {
		size_t n;
		ret = store_records_get(c->st, h.id, cur, ZONE_MAX_RRS_PER_NODE, &n);
		if (ret == NP_OK)
			ctl_addrs(cur, n, old, sizeof(old));
		if (ret == NP_OK && g->wildcard && !h.wildcard)
			ret = store_host_set_flags(c->st, h.id, true, h.offline, h.blocked);
	}
	if (ret != NP_OK)
		return ret;

	/* Records arrive sorted by type; identical duplicates are dropped (an RRset is a set). */
	size_t n = 0;
	for (size_t i = g->start; i < g->end; i++) {
		const struct imp_rr *r = &im->rr[idx[i]];
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = all[k].type == r->type && all[k].rdlen == r->rdlen &&
			      memcmp(all[k].rdata, im->rdata + r->rd, r->rdlen) == 0;
		if (dup)
			continue;
		if (n == ZONE_MAX_RRS_PER_NODE)
			return NP_ETOOBIG;
		all[n].type = r->type;
		all[n].ttl = r->ttl_default ? cz->ttl : r->ttl;
		all[n].rdlen = r->rdlen;
		memcpy(all[n].rdata, im->rdata + r->rd, r->rdlen);
		n++;
	}
	for (size_t i = 0; i < n && ret == NP_OK;) {
		size_t j = i;
		while (j < n && all[j].type == all[i].type)
			j++;
		ret = store_records_set(c->st, h.id, all[i].type, all + i, j - i);
		i = j;
	}
	if (ret != NP_OK)
		return ret;
	*n_records += n;

	if (created) {
		ctl_addrs(all, n, new, sizeof(new));
	} else {
		size_t m;
		ret = store_records_get(c->st, h.id, cur, ZONE_MAX_RRS_PER_NODE, &m);
		if (ret != NP_OK)
			return ret;
		ctl_addrs(cur, m, new, sizeof(new));
	}
	if (!created && strcmp(old, new) == 0)
		return NP_OK;
	struct store_history hist = {
	    .host_id = h.id,
	    .fqdn = fqdn,
	    .source = "nameplatectl",
	    .old_addr = old,
	    .new_addr = new,
	    .protocol = "ctl",
	};
	return store_history_add(c->st, &hist);
}

/* Reads the arguments of zone import. False on a usage error. */
static bool import_args(int argc, char **argv, const char **file, const char **zone_arg,
                        const char **user)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
			*zone_arg = argv[++i];
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			*user = argv[++i];
		else if (argv[i][0] != '-' && *file == NULL)
			*file = argv[i];
		else
			return false;
	}
	return *file != NULL;
}

/* Reads every record of file into im before anything is written, so a bad line changes
 * nothing. False (reported) on a parse error or a file without records. */
static bool import_read(const char *file, const struct cfg_zone *cz, struct imp *im)
{
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		ctl_err("%s: %m", file);
		return false;
	}
	char err[1024];
	int ret = zonefile_parse(f, file, cz != NULL ? cz->name : NULL, 0, imp_collect, im, err,
	                         sizeof(err));
	fclose(f);
	if (ret != NP_OK) {
		if (ret == NP_ENOMEM)
			ctl_err("%s: out of memory", file);
		else
			ctl_err("%s", err);
		return false;
	}
	if (im->n == 0) {
		ctl_err("%s: no A, AAAA, MX or TXT records", file);
		return false;
	}
	return true;
}

/* The zone: --zone (cz), else the file's $ORIGIN when it is a configured zone, else the
 * zone holding the first owner. Every owner must lie in it. NULL (reported) otherwise. */
static const struct cfg_zone *import_zone(struct ctl *c, const char *file, const struct imp *im,
                                          const struct cfg_zone *cz)
{
	if (cz == NULL)
		cz = zone_named(c->cfg, im->first_origin);
	if (cz == NULL)
		cz = config_zone_for(c->cfg, im->first_owner);
	if (cz == NULL) {
		ctl_err("%s: %s is not under a configured zone (use --zone)", file,
		        im->first_owner);
		return NULL;
	}
	for (size_t i = 0; i < im->n; i++) {
		const char *owner = im->names + im->rr[i].owner;
		const struct cfg_zone *oz = config_zone_for(c->cfg, owner);
		if (oz != cz) {
			if (oz != NULL)
				ctl_err("%s:%u: %s belongs to zone %s, not %s", file,
				        im->rr[i].line, owner, oz->name, cz->name);
			else
				ctl_err("%s:%u: %s is not in zone %s", file, im->rr[i].line,
				        owner[0] != '\0' ? owner : ".", cz->name);
			return NULL;
		}
	}
	return cz;
}

/* Groups the records by owner (sorted, so "x" can be found for "*.x"), RRsets in file
 * order. *idx and *groups are the caller's to free, on failure too. */
static bool import_group(struct imp *im, uint32_t **idx, struct imp_group **groups,
                         size_t *n_groups)
{
	*idx = malloc(im->n * sizeof(**idx));
	*groups = malloc(im->n * sizeof(**groups));
	if (*idx == NULL || *groups == NULL) {
		ctl_err("out of memory");
		return false;
	}
	uint32_t *ix = *idx;
	for (size_t i = 0; i < im->n; i++)
		ix[i] = (uint32_t)i;
	sort_im = im;
	qsort(ix, im->n, sizeof(*ix), cmp_rr);
	size_t n = 0;
	for (size_t i = 0; i < im->n;) {
		size_t j = i + 1;
		while (j < im->n && strcmp(im->names + im->rr[ix[i]].owner,
		                           im->names + im->rr[ix[j]].owner) == 0)
			j++;
		(*groups)[n++] = (struct imp_group){i, j, false, false};
		i = j;
	}
	*n_groups = n;
	return true;
}

/* The store holds a wildcard as a flag on its parent host (what the zone serves), so
 * "*.x" must mirror x exactly; anything else would be served differently. Folds each
 * "*.x" group into x's flag; false (reported) when one does not mirror x. */
static bool import_fold_wildcards(const char *file, const struct imp *im, const uint32_t *idx,
                                  struct imp_group *groups, size_t n_groups)
{
	for (size_t gi = 0; gi < n_groups; gi++) {
		const char *owner = owner_of(im, idx, &groups[gi]);
		if (strncmp(owner, "*.", 2) != 0)
			continue;
		size_t lo = 0, hi = n_groups;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(owner_of(im, idx, &groups[mid]), owner + 2) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == n_groups || strcmp(owner_of(im, idx, &groups[lo]), owner + 2) != 0 ||
		    !same_records(im, idx, &groups[gi], &groups[lo])) {
			ctl_err("%s:%u: %s: a wildcard needs the same records at %s (it is held "
			        "as that host's wildcard flag)",
			        file, im->rr[idx[groups[gi].start]].line, owner, owner + 2);
			return false;
		}
		groups[lo].wildcard = true;
		groups[gi].skip = true;
	}
	return true;
}

/* Writes every host and bumps the zone's serial in one transaction: any error rolls it
 * back, so an import is all or nothing. Returns CTL_OK or CTL_FAIL. */
static int import_write(struct ctl *c, const char *file, const char *user, const struct imp *im,
                        const uint32_t *idx, const struct imp_group *groups, size_t n_groups,
                        const struct cfg_zone *cz)
{
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	int64_t user_id = 0;
	size_t n_hosts = 0, n_records = 0;
	int ret = store_begin(c->st);
	if (ret == NP_OK && user != NULL) {
		ret = store_user_id(c->st, user, &user_id);
		if (ret == NP_ENOTFOUND) {
			store_rollback(c->st);
			ctl_err("no user %s", user);
			return CTL_FAIL;
		}
	}
	for (size_t gi = 0; gi < n_groups && ret == NP_OK; gi++) {
		if (groups[gi].skip)
			continue;
		ret = import_host(c, im, idx, &groups[gi], cz, user_id, &n_records);
		if (ret != NP_OK) {
			const struct imp_rr *r = &im->rr[idx[groups[gi].start]];
			store_rollback(c->st);
			ctl_err("%s:%u: %s: %s", file, r->line, im->names + r->owner,
			        np_strerror(ret));
			return CTL_FAIL;
		}
		n_hosts++;
	}
	if (ret == NP_OK)
		ret = store_zone_bump(c->st, cz->name, NULL);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		ctl_err("import failed, nothing imported: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	printf("imported %zu hosts, %zu records into %s\n", n_hosts, n_records, cz->name);
	return CTL_OK;
}

static int zone_import(struct ctl *c, int argc, char **argv)
{
	const char *file = NULL, *zone_arg = NULL, *user = NULL;
	if (!import_args(argc, argv, &file, &zone_arg, &user))
		return ctl_usage("zone import FILE [--zone NAME] [--user NAME]");

	const struct cfg_zone *cz = NULL;
	if (zone_arg != NULL && (cz = ctl_zone_arg(c, zone_arg)) == NULL)
		return CTL_FAIL;

	int status = CTL_FAIL;
	struct imp im;
	uint32_t *idx = NULL;
	struct imp_group *groups = NULL;
	size_t n_groups = 0;
	memset(&im, 0, sizeof(im));
	if (!import_read(file, cz, &im))
		goto done;
	cz = import_zone(c, file, &im, cz);
	if (cz == NULL || !import_group(&im, &idx, &groups, &n_groups) ||
	    !import_fold_wildcards(file, &im, idx, groups, n_groups))
		goto done;
	status = import_write(c, file, user, &im, idx, groups, n_groups, cz);
done:
	free(groups);
	free(idx);
	free(im.rr);
	free(im.names);
	free(im.rdata);
	return status;
}

struct export_ctx {
	FILE *out;
	const struct cfg_zone *cz;
	int err;
};

static int export_host(const struct store_host *h, const struct store_rr *rrs, size_t n, void *arg)
{
	struct export_ctx *e = arg;
	char wild[CFG_NAME_MAX + 2];
	snprintf(wild, sizeof(wild), "*.%s", h->fqdn);
	/* A wildcard host answers for names below it too: write that as "*.host". */
	for (int pass = 0; pass < (h->wildcard ? 2 : 1); pass++) {
		for (size_t i = 0; i < n; i++) {
			int ret = zonefile_write_rr(e->out, pass == 0 ? h->fqdn : wild, rrs[i].type,
			                            rrs[i].ttl, rrs[i].rdata, rrs[i].rdlen);
			if (ret != NP_OK) {
				ctl_err("host %s: record of type %u: %s", h->fqdn, rrs[i].type,
				        np_strerror(ret));
				e->err = ret;
				return 1;
			}
		}
	}
	return 0;
}

static int zone_export(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_usage("zone export NAME");
	const struct cfg_zone *cz = ctl_zone_arg(c, argv[0]);
	if (cz == NULL)
		return CTL_FAIL;
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	static char buf[1 << 16];
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	struct export_ctx e = {.out = stdout, .cz = cz, .err = NP_OK};
	uint32_t serial;
	/* One transaction: the serial and the records are one consistent snapshot. */
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_zone_serial(c->st, cz->name, &serial);
	if (ret == NP_OK)
		ret = zonefile_write_apex(stdout, cz, serial);
	/* Nested zones configured below this one are delegations in this zone's file. */
	for (unsigned i = 0; i < c->cfg->n_zones && ret == NP_OK; i++) {
		const struct cfg_zone *sub = &c->cfg->zones[i];
		const char *dot = strchr(sub->name, '.');
		if (sub == cz || dot == NULL || config_zone_for(c->cfg, dot + 1) != cz)
			continue;
		for (unsigned k = 0; k < sub->n_ns; k++)
			fprintf(stdout, "%s.\t%u\tIN\tNS\t%s.\n", sub->name, sub->soa_ttl,
			        sub->ns[k]);
	}
	if (ret == NP_OK)
		ret = store_foreach_host_records(c->st, cz->name, export_host, &e);
	if (ret == 1)
		ret = e.err;
	if (ret == NP_OK)
		ret = store_commit(c->st);
	else
		store_rollback(c->st);
	if (ret == NP_OK && (fflush(stdout) != 0 || ferror(stdout)))
		ret = NP_EIO;
	if (ret != NP_OK) {
		ctl_err("zone export %s: %s", cz->name, np_strerror(ret));
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* The configured zone argv[0] names, with the store open; NULL after a message. */
static const struct cfg_zone *dnssec_zone_arg(struct ctl *c, int argc, char **argv,
                                              const char *usage)
{
	if (argc != 1) {
		ctl_usage("%s", usage);
		return NULL;
	}
	const struct cfg_zone *cz = ctl_zone_arg(c, argv[0]);
	if (cz == NULL)
		return NULL;
	if (secret_lib_init() != NP_OK || ctl_open(c) != CTL_OK)
		return NULL;
	return cz;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02X", p[i]);
}

static void utc(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	out[0] = '\0';
	if (gmtime_r(&tt, &tm) != NULL)
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What each roll under way waits for (core/keyroll.h), one line each. */
static void print_waits(const struct ctl *c, const struct cfg_zone *cz,
                        const struct store_dnssec_key *keys, size_t n)
{
	(void)c;
	for (size_t i = 0; i < n; i++) {
		const struct store_dnssec_key *k = &keys[i];
		unsigned tag = dnssec_key_tag(k->dnskey, k->dnskey_len);
		bool ksk = strcmp(k->role, "ksk") == 0;
		char t[32];
		if (strcmp(k->state, "published") == 0) {
			utc(k->since + dnssec_roll_publish_wait(cz), t);
			if (ksk)
				printf(
				    "waiting: KSK %u: CDS and CDNSKEY name it from %s (DNSKEY TTL "
				    "x 2 after it was published)\n",
				    tag, t);
			else
				printf("waiting: ZSK %u: signs from %s\n", tag, t);
		} else if (strcmp(k->state, "ready") == 0 && cz->n_dnssec_parent > 0) {
			printf("waiting: KSK %u: for the parent's DS to name it (CDS and CDNSKEY "
			       "do); nameplated asks the %u dnssec_parent servers every %llds\n",
			       tag, cz->n_dnssec_parent,
			       (long long)dnssec_roll_ds_check_interval(cz));
		} else if (strcmp(k->state, "ready") == 0) {
			printf("waiting: KSK %u: for the parent's DS to name it (CDS and CDNSKEY "
			       "do; nameplatectl zone ds %s prints it); then: nameplatectl zone "
			       "ksk-roll %s --ds-seen\n",
			       tag, cz->name, cz->name);
		} else if (strcmp(k->state, "retired") == 0) {
			utc(k->since +
			        (ksk ? dnssec_roll_ds_wait(cz) : dnssec_roll_retire_wait(cz)),
			    t);
			printf("waiting: %s %u: removed at %s\n", ksk ? "KSK" : "ZSK", tag, t);
		}
	}
	if (cz->dnssec_retire)
		printf("waiting: CDS and CDNSKEY say \"delete\" (RFC 8078): once the parent has "
		       "no DS for %s and twice its TTL has passed, set dnssec = off\n",
		       cz->name);
}

/* zone keys NAME: the zone's DNSSEC keys, made first when it has none. */
static int zone_keys(struct ctl *c, int argc, char **argv)
{
	const struct cfg_zone *cz = dnssec_zone_arg(c, argc, argv, "zone keys NAME");
	if (cz == NULL)
		return CTL_FAIL;
	static struct store_dnssec_key keys[STORE_DNSSEC_KEYS_MAX];
	size_t n = 0;
	int ret = store_dnssec_key_list(c->st, cz->name, keys, STORE_DNSSEC_KEYS_MAX, &n);
	if (ret == NP_OK && n == 0) {
		uint8_t seal[STORE_DNSSEC_SEAL_LEN];
		ret = store_dnssec_seal_key(c->cfg->data_dir, true, seal);
		if (ret == NP_OK)
			ret = store_dnssec_keys_create(c->st, seal, cz->name, cz->dnssec_algorithm,
			                               time(NULL));
		sodium_memzero(seal, sizeof(seal));
		if (ret == NP_OK)
			ret =
			    store_dnssec_key_list(c->st, cz->name, keys, STORE_DNSSEC_KEYS_MAX, &n);
	}
	if (ret != NP_OK) {
		ctl_err("zone keys %s: %s", cz->name, np_strerror(ret));
		return CTL_FAIL;
	}
	if (!cz->dnssec)
		fprintf(stderr,
		        "nameplatectl: note: dnssec is off for zone %s in %s: its keys are "
		        "kept, but nothing is signed until dnssec = on\n",
		        cz->name, c->conf_path);
	printf("%-6s %-4s %-9s %-6s %-9s %-20s %s\n", "id", "role", "algorithm", "tag", "state",
	       "since", "created");
	for (size_t i = 0; i < n; i++) {
		char when[2][32] = {"", ""};
		time_t t[2] = {(time_t)keys[i].since, (time_t)keys[i].created};
		for (int k = 0; k < 2; k++) {
			struct tm tm;
			if (gmtime_r(&t[k], &tm) != NULL)
				strftime(when[k], sizeof(when[k]), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		printf("%-6lld %-4s %-9u %-6u %-9s %-20s %s\n", (long long)keys[i].id, keys[i].role,
		       keys[i].algorithm, dnssec_key_tag(keys[i].dnskey, keys[i].dnskey_len),
		       keys[i].state, when[0], when[1]);
	}
	print_waits(c, cz, keys, n);
	return CTL_OK;
}

/* zone ds NAME: the DS records (SHA-256) of the zone's KSK for the parent: the active one,
 * or during a KSK roll the new one once CDS names it ("ready"). */
static int zone_ds(struct ctl *c, int argc, char **argv)
{
	const struct cfg_zone *cz = dnssec_zone_arg(c, argc, argv, "zone ds NAME");
	if (cz == NULL)
		return CTL_FAIL;
	static struct store_dnssec_key keys[STORE_DNSSEC_KEYS_MAX];
	size_t n = 0, shown = 0;
	uint8_t apex[DNS_NAME_MAX];
	int alen = dns_name_from_text(cz->name, apex, sizeof(apex));
	int ret = alen > 0 ? store_dnssec_key_list(c->st, cz->name, keys, STORE_DNSSEC_KEYS_MAX, &n)
	                   : NP_EINVAL;
	if (ret != NP_OK) {
		ctl_err("zone ds %s: %s", cz->name, np_strerror(ret));
		return CTL_FAIL;
	}
	/* The KSK that CDS and CDNSKEY name: the new one once a roll made it ready. */
	const char *want = "active";
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].role, "ksk") == 0 && strcmp(keys[i].state, "ready") == 0)
			want = "ready";
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i].role, "ksk") != 0 || strcmp(keys[i].state, want) != 0)
			continue;
		uint8_t ds[DNSSEC_DS_LEN];
		dnssec_ds_rdata(apex, (size_t)alen, keys[i].dnskey, keys[i].dnskey_len, ds);
		printf("%s.\tIN\tDS\t%u %u %u ", cz->name, (unsigned)(ds[0] << 8 | ds[1]), ds[2],
		       ds[3]);
		print_hex(ds + 4, DNSSEC_DS_LEN - 4);
		printf("\n");
		shown++;
	}
	if (shown == 0) {
		ctl_err("zone %s has no DNSSEC keys yet: run nameplatectl zone keys %s, or start "
		        "nameplated with dnssec = on",
		        cz->name, cz->name);
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* zone ksk-roll NAME [--ds-seen]: starts a KSK roll (a new KSK published), or takes its
 * step that needs the parent: its DS names the new KSK, which becomes active. The other
 * steps are nameplated's (core/keyroll.h). */
static int zone_ksk_roll(struct ctl *c, int argc, char **argv)
{
	bool ds_seen = argc == 2 && strcmp(argv[1], "--ds-seen") == 0;
	const char *usage = "zone ksk-roll NAME [--ds-seen]";
	if (argc > 2 || (argc == 2 && !ds_seen))
		return ctl_usage("%s", usage);
	const struct cfg_zone *cz = dnssec_zone_arg(c, argc > 1 ? 1 : argc, argv, usage);
	if (cz == NULL)
		return CTL_FAIL;
	if (!cz->dnssec || cz->dnssec_retire) {
		ctl_err("zone %s: dnssec is %s in %s: no KSK roll", cz->name,
		        cz->dnssec ? "retire" : "off", c->conf_path);
		return CTL_FAIL;
	}
	static struct store_dnssec_key keys[STORE_DNSSEC_KEYS_MAX];
	size_t n = 0;
	int ret = store_dnssec_key_list(c->st, cz->name, keys, STORE_DNSSEC_KEYS_MAX, &n);
	const struct store_dnssec_key *active = NULL, *other = NULL;
	for (size_t i = 0; ret == NP_OK && i < n; i++) {
		if (strcmp(keys[i].role, "ksk") != 0)
			continue;
		if (strcmp(keys[i].state, "active") == 0)
			active = &keys[i];
		else
			other = &keys[i];
	}
	if (ret != NP_OK || active == NULL) {
		ctl_err("zone %s has no active KSK yet: start nameplated with dnssec = on first",
		        cz->name);
		return CTL_FAIL;
	}
	int64_t now = time(NULL);
	char t[32];
	if (!ds_seen) {
		if (other != NULL) {
			ctl_err("zone %s: a KSK roll is under way (KSK %u is %s): see nameplatectl "
			        "zone keys %s",
			        cz->name, dnssec_key_tag(other->dnskey, other->dnskey_len),
			        other->state, cz->name);
			return CTL_FAIL;
		}
		uint8_t seal[STORE_DNSSEC_SEAL_LEN];
		ret = store_dnssec_seal_key(c->cfg->data_dir, false, seal);
		if (ret == NP_OK)
			ret = store_begin(c->st);
		if (ret == NP_OK) {
			ret =
			    store_dnssec_ksk_publish(c->st, seal, cz->name, active->algorithm, now);
			if (ret == NP_OK)
				ret = store_zone_bump(c->st, cz->name, NULL);
			if (ret == NP_OK)
				ret = store_commit(c->st);
			else
				store_rollback(c->st);
		}
		sodium_memzero(seal, sizeof(seal));
		if (ret != NP_OK) {
			ctl_err("zone ksk-roll %s: %s", cz->name, np_strerror(ret));
			return CTL_FAIL;
		}
		utc(now + dnssec_roll_publish_wait(cz), t);
		printf("zone %s: KSK roll started: a new KSK is published beside KSK %u; CDS and "
		       "CDNSKEY name it from %s, then the parent's DS must (nameplatectl zone keys "
		       "%s shows each step)\n",
		       cz->name, dnssec_key_tag(active->dnskey, active->dnskey_len), t, cz->name);
		return CTL_OK;
	}
	if (other == NULL || strcmp(other->state, "ready") != 0) {
		if (other != NULL && strcmp(other->state, "published") == 0) {
			utc(other->since + dnssec_roll_publish_wait(cz), t);
			ctl_err(
			    "zone %s: CDS and CDNSKEY do not name the new KSK %u before %s: the "
			    "parent cannot have its DS yet",
			    cz->name, dnssec_key_tag(other->dnskey, other->dnskey_len), t);
		} else {
			ctl_err("zone %s: no KSK roll waits for the parent's DS", cz->name);
		}
		return CTL_FAIL;
	}
	ret = store_begin(c->st);
	if (ret == NP_OK) {
		ret = store_dnssec_key_state(c->st, other->id, "active", now);
		if (ret == NP_OK)
			ret = store_dnssec_key_state(c->st, active->id, "retired", now);
		if (ret == NP_OK)
			ret = store_zone_bump(c->st, cz->name, NULL);
		if (ret == NP_OK)
			ret = store_commit(c->st);
		else
			store_rollback(c->st);
	}
	if (ret != NP_OK) {
		ctl_err("zone ksk-roll %s: %s", cz->name, np_strerror(ret));
		return CTL_FAIL;
	}
	utc(now + dnssec_roll_ds_wait(cz), t);
	printf("zone %s: KSK %u is active; the old KSK %u stays in DNSKEY until %s\n", cz->name,
	       dnssec_key_tag(other->dnskey, other->dnskey_len),
	       dnssec_key_tag(active->dnskey, active->dnskey_len), t);
	return CTL_OK;
}

int ctl_cmd_zone(struct ctl *c, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "import") == 0)
		return zone_import(c, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "export") == 0)
		return zone_export(c, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "keys") == 0)
		return zone_keys(c, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "ds") == 0)
		return zone_ds(c, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "ksk-roll") == 0)
		return zone_ksk_roll(c, argc - 1, argv + 1);
	return ctl_usage("zone import FILE [--zone NAME] [--user NAME] | zone export NAME | "
	                 "zone keys NAME | zone ds NAME | zone ksk-roll NAME [--ds-seen]");
}
