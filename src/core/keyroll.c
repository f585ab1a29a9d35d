/* SPDX-License-Identifier: MIT */
/* The automatic ZSK roll and the steps of the KSK roll the operator started
 * (core/keyroll.h). */
#include "core/keyroll.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/str.h"
#include "core/dsprobe.h"
#include "dns/name.h"
#include "dnssec/key.h"

/* The DS queries of each zone's KSK roll to its dnssec_parent servers (the writer
 * thread's only). A round is sent on one wake and its answers read on the next ones, so
 * a parent that does not answer never holds the writer. */
static struct ds_round {
	char zone[CFG_NAME_MAX];
	int64_t at;       /* when the last round was sent */
	unsigned tag;     /* of the KSK it asks about */
	unsigned waiting; /* bit i: dnssec_parent[i] has not answered yet */
	bool missing;     /* a server answered without the DS, or not at all */
	struct dsprobe probe[CFG_MAX_NOTIFY];
} ds_rounds[CFG_MAX_ZONES];

static struct ds_round *ds_round_of(const char *zone)
{
	for (unsigned i = 0; i < CFG_MAX_ZONES; i++) {
		if (ds_rounds[i].zone[0] == '\0')
			np_strlcpy(ds_rounds[i].zone, zone, sizeof(ds_rounds[i].zone));
		if (strcmp(ds_rounds[i].zone, zone) == 0)
			return &ds_rounds[i];
	}
	return &ds_rounds[0];
}

/* Whether every dnssec_parent server of cz has a DS for the KSK k: a round of queries is
 * sent at most every dnssec_roll_ds_check_interval(), and true comes on the wake that reads
 * the last of its answers, each of which has the DS (a server silent for longer than
 * DSPROBE_TIMEOUT_MS counts as without). */
static bool parent_has_ds(const struct cfg_zone *cz, const struct store_dnssec_key *k, int64_t now)
{
	struct ds_round *c = ds_round_of(cz->name);
	uint8_t apex[DNS_NAME_MAX], ds[DNSSEC_DS_LEN];
	int alen = dns_name_from_text(cz->name, apex, sizeof(apex));
	if (cz->n_dnssec_parent == 0 || alen <= 0)
		return false;
	dnssec_ds_rdata(apex, (size_t)alen, k->dnskey, k->dnskey_len, ds);
	unsigned tag = dnssec_key_tag(k->dnskey, k->dnskey_len);
	if (c->waiting == 0) {
		if (now - c->at < dnssec_roll_ds_check_interval(cz))
			return false;
		c->at = now;
		c->tag = tag;
		c->missing = false;
		for (unsigned i = 0; i < cz->n_dnssec_parent; i++) {
			if (dsprobe_send(&cz->dnssec_parent[i], apex, (size_t)alen, &c->probe[i]) ==
			    NP_OK) {
				c->waiting |= 1u << i;
			} else {
				log_info("zone %s: KSK roll: cannot ask the parent server %s",
				         cz->name, cz->dnssec_parent[i].text);
				c->missing = true;
			}
		}
	}
	for (unsigned i = 0; i < cz->n_dnssec_parent; i++) {
		if ((c->waiting & (1u << i)) == 0)
			continue;
		int r = dsprobe_poll(&c->probe[i], apex, (size_t)alen, ds);
		if (r == NP_EAGAIN && (now - c->at) * 1000 <= DSPROBE_TIMEOUT_MS)
			continue;
		if (r == NP_EAGAIN)
			dsprobe_close(&c->probe[i]);
		c->waiting &= ~(1u << i);
		if (r != 1) {
			log_info("zone %s: KSK roll: the parent server %s %s", cz->name,
			         cz->dnssec_parent[i].text,
			         r == 0 ? "has no DS for the new KSK yet"
			                : "did not answer for the DS");
			c->missing = true;
		}
	}
	if (c->waiting != 0 || c->missing || c->tag != tag)
		return false;
	c->at = 0; /* a next roll asks at once */
	log_info("zone %s: KSK roll: every parent server has the DS of the new KSK %u", cz->name,
	         tag);
	return true;
}

/* Step 3 of the KSK roll: the new KSK active, the old one retired, in one transaction. */
int keyroll_ksk_ds_seen(struct store *st, int64_t new_id, int64_t old_id, int64_t now)
{
	bool own_tx = store_begin(st) == NP_OK;
	int ret = own_tx ? store_dnssec_key_state(st, new_id, "active", now) : NP_ESTORE;
	if (ret == NP_OK)
		ret = store_dnssec_key_state(st, old_id, "retired", now);
	if (ret == NP_OK)
		ret = store_commit(st);
	else if (own_tx)
		store_rollback(st);
	return ret;
}

/* The KSK roll's own steps: 2 (published -> ready), 3 when dnssec_parent servers show the
 * new DS (else the operator's: nameplatectl zone ksk-roll --ds-seen) and 4 (the retired
 * KSK removed). */
static int ksk_step(struct store *st, const struct cfg_zone *cz,
                    const struct store_dnssec_key *keys, size_t n, int64_t now, bool *changed)
{
	const struct store_dnssec_key *active = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].role, "ksk") == 0 && strcmp(keys[i].state, "active") == 0)
			active = &keys[i];
	for (size_t i = 0; i < n; i++) {
		const struct store_dnssec_key *k = &keys[i];
		if (strcmp(k->role, "ksk") != 0)
			continue;
		unsigned tag = dnssec_key_tag(k->dnskey, k->dnskey_len);
		int ret = NP_OK;
		if (strcmp(k->state, "published") == 0 &&
		    now - k->since >= dnssec_roll_publish_wait(cz)) {
			ret = store_dnssec_key_state(st, k->id, "ready", now);
			if (ret == NP_OK)
				log_info(
				    "zone %s: KSK roll: CDS and CDNSKEY name the new KSK %u now; "
				    "it becomes active once the parent's DS names it",
				    cz->name, tag);
		} else if (strcmp(k->state, "ready") == 0 && active != NULL &&
		           parent_has_ds(cz, k, now)) {
			ret = keyroll_ksk_ds_seen(st, k->id, active->id, now);
			if (ret == NP_OK)
				log_info("zone %s: KSK roll: KSK %u is active, the old one retired",
				         cz->name, tag);
		} else if (strcmp(k->state, "retired") == 0 &&
		           now - k->since >= dnssec_roll_ds_wait(cz)) {
			ret = store_dnssec_key_del(st, k->id);
			if (ret == NP_OK)
				log_info("zone %s: KSK roll: removed the old KSK %u", cz->name,
				         tag);
		} else {
			continue;
		}
		*changed = *changed || ret == NP_OK;
		return ret;
	}
	return NP_OK;
}

int keyroll_step(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                 const struct cfg_zone *cz, int64_t now, int64_t zsk_settled, bool *changed)
{
	*changed = false;
	if (!cz->dnssec)
		return NP_OK;
	struct store_dnssec_key *keys = calloc(STORE_DNSSEC_KEYS_MAX, sizeof(*keys));
	if (keys == NULL)
		return NP_ENOMEM;
	size_t n = 0;
	int ret = store_dnssec_key_list(st, cz->name, keys, STORE_DNSSEC_KEYS_MAX, &n);
	if (ret == NP_OK)
		ret = ksk_step(st, cz, keys, n, now, changed);
	if (ret != NP_OK || *changed || cz->dnssec_zsk_lifetime == 0)
		goto done; /* the ZSK's next step, if one is due, at the next call */
	const struct store_dnssec_key *active = NULL, *published = NULL, *retired = NULL;
	for (size_t i = 0; ret == NP_OK && i < n; i++) {
		if (strcmp(keys[i].role, "zsk") != 0)
			continue;
		if (strcmp(keys[i].state, "active") == 0)
			active = &keys[i];
		else if (strcmp(keys[i].state, "published") == 0)
			published = &keys[i];
		else if (strcmp(keys[i].state, "retired") == 0 && retired == NULL)
			retired = &keys[i];
	}
	int64_t pre = dnssec_roll_publish_wait(cz);
	int64_t ret_wait = dnssec_roll_retire_wait(cz);
	if (ret != NP_OK || active == NULL)
		goto done;
	if (retired != NULL && now - retired->since >= ret_wait && zsk_settled != INT64_MAX &&
	    now - zsk_settled >= ret_wait) {
		/* 3: the old key's signatures are out of every cache (the zone's last one left
		 * it at zsk_settled: re-signing in slices takes a while). */
		ret = store_dnssec_key_del(st, retired->id);
		log_info("zone %s: ZSK roll: removed the retired ZSK %lld", cz->name,
		         (long long)retired->id);
		*changed = ret == NP_OK;
	} else if (published != NULL && now - published->since >= pre) {
		/* 2: every cache that has the DNSKEY RRset knows the new key. */
		bool own_tx = store_begin(st) == NP_OK;
		ret = own_tx ? store_dnssec_key_state(st, published->id, "active", now) : NP_ESTORE;
		if (ret == NP_OK)
			ret = store_dnssec_key_state(st, active->id, "retired", now);
		if (ret == NP_OK)
			ret = store_commit(st);
		else if (own_tx)
			store_rollback(st);
		log_info("zone %s: ZSK roll: ZSK %lld signs now, %lld is retired", cz->name,
		         (long long)published->id, (long long)active->id);
		*changed = ret == NP_OK;
	} else if (published == NULL && retired == NULL &&
	           now - active->since >= (int64_t)cz->dnssec_zsk_lifetime - pre) {
		/* 1: the next key goes into DNSKEY ahead of its use. */
		ret = store_dnssec_zsk_prepublish(st, seal, cz->name, active->algorithm, now);
		log_info("zone %s: ZSK roll: published the next ZSK", cz->name);
		*changed = ret == NP_OK;
	}
done:
	free(keys);
	return ret;
}
