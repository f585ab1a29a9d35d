/* SPDX-License-Identifier: MIT */
/* The daemon's abuse protection object: the budgets and the limits they take from config. */
#include "abuse/abuse.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abuse/budget.h"
#include "abuse/asn.h"
#include "abuse/feed.h"
#include "abuse/flux.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "store/abuse.h"

struct abuse {
	struct budget *budget;
	struct budget *create; /* host creations: per account (token scope) and per source */
	struct budget *reports; /* abuse reports per source */
	pthread_rwlock_t lock; /* over what follows: readers check, a reload swaps */
	struct feed_set *feeds;
	struct asn_db *asn;
	struct flux_params flux;
};

static void report_line(void *ctx, const char *file, unsigned line, const char *why)
{
	(void)ctx;
	char esc[256];
	log_warn("feed %s:%u: %s", log_escape(esc, sizeof(esc), file, strlen(file)), line, why);
}

/* Loads the configured feeds; the set in use stays when they cannot be loaded at all. */
static void load_feeds(struct abuse *a, const struct config *cfg)
{
	struct feed_set *fs;
	int ret = feed_set_load((const char(*)[CFG_FEED_MAX])cfg->abuse_feeds,
	                        cfg->n_abuse_feeds, report_line, NULL, &fs);
	if (ret != NP_OK) {
		log_err("feeds: cannot load: %s; keeping the previous ones", np_strerror(ret));
		return;
	}
	if (cfg->n_abuse_feeds > 0)
		log_info("feeds: %zu address ranges, %zu names from %u files", feed_set_ranges(fs),
		         feed_set_names(fs), cfg->n_abuse_feeds);
	pthread_rwlock_wrlock(&a->lock);
	struct feed_set *old = a->feeds;
	a->feeds = fs;
	pthread_rwlock_unlock(&a->lock);
	feed_set_free(old);
}

static void flux_from(const struct config *cfg, struct flux_params *p)
{
	*p = (struct flux_params){
	    .window = cfg->abuse_flux_window,
	    .watch = cfg->abuse_watch_score,
	    .hold = cfg->abuse_hold_score,
	    .quarantine = cfg->abuse_quarantine_score,
	    .shared_accounts = cfg->abuse_shared_accounts,
	};
}

/* Loads the ASN tables and the flux settings. */
static void load_flux(struct abuse *a, const struct config *cfg)
{
	struct asn_db *db = NULL;
	int ret = asn_db_load((const char(*)[PATH_MAX])cfg->abuse_asn_dbs, cfg->n_abuse_asn_dbs,
	                      report_line, NULL, &db);
	if (ret != NP_OK)
		log_err("asn_db: cannot load: %s; keeping the previous table", np_strerror(ret));
	else if (cfg->n_abuse_asn_dbs > 0)
		log_info("asn_db: %zu ranges from %u files", asn_db_ranges(db), cfg->n_abuse_asn_dbs);
	pthread_rwlock_wrlock(&a->lock);
	struct asn_db *old = NULL;
	if (ret == NP_OK) {
		old = a->asn;
		a->asn = db;
	}
	flux_from(cfg, &a->flux);
	pthread_rwlock_unlock(&a->lock);
	asn_db_free(old);
}

static void limits_from(const struct config *cfg, struct budget_limits *l)
{
	l->window = cfg->abuse_window;
	l->scope[BUDGET_HOST] = (struct budget_limit){cfg->abuse_host_per_window,
	                                              cfg->abuse_host_per_day};
	l->scope[BUDGET_TOKEN] = (struct budget_limit){cfg->abuse_token_per_window,
	                                               cfg->abuse_token_per_day};
	l->scope[BUDGET_SOURCE] = (struct budget_limit){cfg->abuse_source_per_window,
	                                                cfg->abuse_source_per_day};
}

/* Creations are counted per hour: an account in the token scope, a source as updates are. */
static void create_limits_from(const struct config *cfg, struct budget_limits *l)
{
	*l = (struct budget_limits){.window = 3600};
	l->scope[BUDGET_TOKEN].per_window = cfg->abuse_create_per_account_hour;
	l->scope[BUDGET_SOURCE].per_window = cfg->abuse_create_per_source_hour;
}

static void report_limits_from(const struct config *cfg, struct budget_limits *l)
{
	*l = (struct budget_limits){.window = 3600};
	l->scope[BUDGET_SOURCE].per_window = cfg->abuse_reports_per_source_hour;
}

int abuse_new(struct abuse **out, const struct config *cfg)
{
	*out = NULL;
	struct abuse *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NP_ENOMEM;
	struct budget_limits l;
	limits_from(cfg, &l);
	int ret = budget_new(&a->budget, ABUSE_BUDGET_ENTRIES, &l);
	if (ret != NP_OK) {
		free(a);
		return ret;
	}
	create_limits_from(cfg, &l);
	ret = budget_new(&a->create, ABUSE_CREATE_ENTRIES, &l);
	if (ret == NP_OK) {
		report_limits_from(cfg, &l);
		ret = budget_new(&a->reports, ABUSE_CREATE_ENTRIES, &l);
	}
	if (ret != NP_OK) {
		budget_free(a->create);
		budget_free(a->budget);
		free(a);
		return ret;
	}
	pthread_rwlock_init(&a->lock, NULL);
	load_feeds(a, cfg);
	load_flux(a, cfg);
	*out = a;
	return NP_OK;
}

void abuse_free(struct abuse *a)
{
	if (a == NULL)
		return;
	budget_free(a->budget);
	budget_free(a->create);
	budget_free(a->reports);
	feed_set_free(a->feeds);
	asn_db_free(a->asn);
	pthread_rwlock_destroy(&a->lock);
	free(a);
}

void abuse_reload(struct abuse *a, const struct config *cfg)
{
	struct budget_limits l;
	limits_from(cfg, &l);
	budget_set_limits(a->budget, &l);
	create_limits_from(cfg, &l);
	budget_set_limits(a->create, &l);
	report_limits_from(cfg, &l);
	budget_set_limits(a->reports, &l);
	load_feeds(a, cfg);
	load_flux(a, cfg);
}

/* The score from which a judgement is stored: half the lowest line set. */
static double store_floor(const struct flux_params *p)
{
	double lowest = 0;
	const double lines[] = {p->watch, p->hold, p->quarantine};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (lines[i] > 0 && (lowest == 0 || lines[i] < lowest))
			lowest = lines[i];
	return lowest / 2;
}

/* Every threshold 0 is the flux judgement off: nothing could come of a score, so none is
 * computed (and nothing is read or written). */
static bool params_off(const struct flux_params *p)
{
	return p->watch <= 0 && p->hold <= 0 && p->quarantine <= 0 && p->shared_accounts == 0;
}

static bool flux_off(struct abuse *a)
{
	pthread_rwlock_rdlock(&a->lock);
	struct flux_params p = a->flux;
	pthread_rwlock_unlock(&a->lock);
	return params_off(&p);
}

bool abuse_flux_on(const struct config *cfg)
{
	struct flux_params p;
	flux_from(cfg, &p);
	return !params_off(&p);
}

int abuse_fit_store(struct store *st, const struct config *cfg)
{
	bool on = abuse_flux_on(cfg);
	int64_t t0 = time_mono_ms();
	int ret = store_abuse_addr_index(st, on);
	if (ret != NP_OK)
		log_err("abuse: cannot %s the index of addresses: %s", on ? "make" : "drop",
		        np_strerror(ret));
	else if (time_mono_ms() - t0 >= 1000)
		log_info("abuse: index of addresses %s in %lld ms", on ? "made" : "dropped",
		         (long long)(time_mono_ms() - t0));
	return ret;
}

int abuse_explain(struct abuse *a, struct store *st, const struct store_host *h, int64_t now,
                  double *score, char *json, size_t len)
{
	if (flux_off(a))
		return NP_ENOTFOUND;
	struct store_abuse cur;
	int ret = store_abuse_get(st, h->id, &cur);
	if (ret != NP_OK)
		return ret;
	struct flux_features f;
	pthread_rwlock_rdlock(&a->lock);
	int64_t since = now - (int64_t)a->flux.window;
	if (cur.since > since)
		since = cur.since; /* a restored host starts afresh */
	ret = flux_measure(st, a->asn, a->feeds, h->id, h->user_id, since, NULL, 0, now, &f);
	pthread_rwlock_unlock(&a->lock);
	if (ret != NP_OK)
		return ret;
	*score = f.score;
	flux_json(&f, json, len);
	return NP_OK;
}

int abuse_judge(struct abuse *a, struct store *st, const struct store_host *h,
                const struct np_addr *cand, size_t n, int64_t now, int *state)
{
	*state = h->abuse_state;
	if (flux_off(a))
		return NP_OK;
	struct flux_params p;
	struct store_abuse cur;
	int ret = store_abuse_get(st, h->id, &cur);
	if (ret != NP_OK)
		return ret;
	*state = cur.state;
	struct flux_features f;
	char reasons[STORE_ABUSE_REASONS_MAX], json[STORE_ABUSE_FEATURES_MAX];
	pthread_rwlock_rdlock(&a->lock);
	p = a->flux;
	int64_t since = now - (int64_t)p.window;
	if (cur.since > since)
		since = cur.since; /* a restored host starts afresh */
	ret = flux_measure(st, a->asn, a->feeds, h->id, h->user_id, since, cand, n, now, &f);
	pthread_rwlock_unlock(&a->lock);
	if (ret != NP_OK)
		return ret;
	enum store_abuse_state want = flux_state(&f, &p, reasons, sizeof(reasons));
	/* The score is kept, with its features, when it is worth a look: from half the lowest
	 * line, or when it takes back one that was. Most updates are a home line's, far under
	 * it: they cost no write (a random page of abuse_hosts each, on the durable path). */
	double floor = store_floor(&p);
	if (want != STORE_ABUSE_OK || f.score >= floor || cur.score >= floor) {
		flux_json(&f, json, sizeof(json));
		ret = store_abuse_set_score(st, h->id, f.score,
		                            want != STORE_ABUSE_OK ? reasons : "", json, now);
		if (ret != NP_OK)
			return ret;
	}
	/* Automatic judgements raise a state, and lower only a watch: hold and quarantine
	 * are the operator's to lift. */
	bool raise = (int)want > cur.state;
	bool lower = cur.state == STORE_ABUSE_WATCH && want == STORE_ABUSE_OK;
	if (!raise && !lower)
		return NP_OK;
	ret = store_abuse_set_state(st, h->id, want, "flux",
	                            lower ? "flux score back under the watch line" : reasons, now,
	                            NULL);
	if (ret != NP_OK)
		return ret;
	if (raise)
		log_event(LOG_WARNING, "abuse_state", "host=%s state=%s actor=flux reasons=%s",
		          h->fqdn, store_abuse_state_name(want), reasons);
	*state = want;
	return NP_OK;
}

unsigned abuse_budget_take(struct abuse *a, const char *const *fqdns, size_t n, const char *token_id,
                           const struct np_addr *src, int64_t now)
{
	/* All limits 0 is the budgets off: not even a key is hashed. */
	if (budget_off(a->budget))
		return 0;
	struct budget_key keys[24];
	size_t k = 0;
	for (size_t i = 0; i < n && k < 22; i++)
		keys[k++] = budget_key_host(a->budget, fqdns[i]);
	if (token_id != NULL && token_id[0] != '\0')
		keys[k++] = budget_key_token(a->budget, token_id);
	if (src != NULL && src->family != 0)
		keys[k++] = budget_key_source(a->budget, src);
	return budget_take(a->budget, keys, k, now);
}

bool abuse_addr_listed(struct abuse *a, const struct np_addr *addr, char *which, size_t len)
{
	pthread_rwlock_rdlock(&a->lock);
	bool listed = feed_set_addr(a->feeds, addr, which, len);
	pthread_rwlock_unlock(&a->lock);
	return listed;
}

struct sweep {
	struct store *st;
	const struct config *cfg;
	int (*touch)(void *ctx, const char *fqdn);
	void *touch_ctx;
	int64_t now;
	unsigned moved;
};

static int sweep_one(const char *fqdn, const char *kind, void *ctx)
{
	struct sweep *w = ctx;
	const struct cfg_zone *z = config_zone_for(w->cfg, fqdn);
	if (z == NULL || strcmp(z->name, fqdn) == 0)
		return 0; /* not ours, or a zone's own name (the operator's) */
	struct store_host h;
	int ret = store_host_get(w->st, fqdn, &h);
	if (ret == NP_ENOTFOUND)
		return 0;
	if (ret != NP_OK)
		return ret;
	if (h.abuse_state == STORE_ABUSE_QUARANTINED)
		return 0;
	char actor[STORE_ABUSE_ACTOR_MAX], reason[160];
	snprintf(actor, sizeof(actor), "feed:%s", kind);
	snprintf(reason, sizeof(reason), "listed by the %s feed", kind);
	bool changed;
	ret = store_abuse_set_state(w->st, h.id, STORE_ABUSE_QUARANTINED, actor, reason, w->now,
	                            &changed);
	if (ret == NP_OK && changed && w->touch != NULL)
		ret = w->touch(w->touch_ctx, fqdn);
	if (ret == NP_OK && changed) {
		w->moved++;
		log_event(LOG_WARNING, "abuse_state",
		          "host=%s state=quarantined actor=%s reasons=%s", fqdn, actor, reason);
	}
	return ret;
}

int abuse_quarantine_names(const struct feed_set *fs, struct store *st, const struct config *cfg,
                           int (*touch)(void *ctx, const char *fqdn), void *touch_ctx,
                           int64_t now, unsigned *moved)
{
	struct sweep w = {st, cfg, touch, touch_ctx, now, 0};
	int ret = feed_set_each_name(fs, sweep_one, &w);
	if (moved != NULL)
		*moved = w.moved;
	return ret;
}

int abuse_quarantine_listed(struct abuse *a, struct store *st, const struct config *cfg,
                            int (*touch)(void *ctx, const char *fqdn), void *touch_ctx,
                            int64_t now, unsigned *moved)
{
	pthread_rwlock_rdlock(&a->lock);
	int ret = abuse_quarantine_names(a->feeds, st, cfg, touch, touch_ctx, now, moved);
	pthread_rwlock_unlock(&a->lock);
	return ret;
}

unsigned abuse_create_take(struct abuse *a, int64_t user_id, const struct np_addr *src,
                           int64_t now)
{
	char account[32];
	snprintf(account, sizeof(account), "user:%lld", (long long)user_id);
	struct budget_key keys[2] = {budget_key_token(a->create, account),
	                             budget_key_source(a->create, src)};
	return budget_take(a->create, keys, 2, now);
}

unsigned abuse_report_take(struct abuse *a, const struct np_addr *src, int64_t now)
{
	struct budget_key k = budget_key_source(a->reports, src);
	return budget_take(a->reports, &k, 1, now);
}
