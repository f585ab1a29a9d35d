/* SPDX-License-Identifier: MIT */
/* The automatic ZSK roll (core/keyroll.h). */
#include "core/keyroll.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static int64_t max3(int64_t a, int64_t b, int64_t c)
{
	int64_t m = a > b ? a : b;
	return m > c ? m : c;
}

int keyroll_step(struct store *st, const uint8_t seal[STORE_DNSSEC_SEAL_LEN],
                 const struct cfg_zone *cz, int64_t now, bool *changed)
{
	*changed = false;
	if (!cz->dnssec || cz->dnssec_zsk_lifetime == 0)
		return NP_OK;
	struct store_dnssec_key *keys = calloc(STORE_DNSSEC_KEYS_MAX, sizeof(*keys));
	if (keys == NULL)
		return NP_ENOMEM;
	size_t n = 0;
	int ret = store_dnssec_key_list(st, cz->name, keys, STORE_DNSSEC_KEYS_MAX, &n);
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
	int64_t pre = 2 * (int64_t)cz->soa_ttl;
	int64_t ret_wait = 2 * max3(cz->soa_ttl, cz->ttl, cz->negative_ttl);
	if (ret != NP_OK || active == NULL)
		goto done;
	if (retired != NULL && now - retired->since >= ret_wait) {
		/* 3: the old key's signatures are out of every cache. */
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
