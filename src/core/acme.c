/* SPDX-License-Identifier: MIT */
/* ACME DNS-01 challenge values: the rules, the change on the writer thread, the zone node. */
#include "core/acme.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "dns/constants.h"
#include "dns/name.h"

const char *acme_host_of(const char *fqdn)
{
	size_t n = strlen(ACME_LABEL);
	if (strncmp(fqdn, ACME_LABEL, n) != 0 || fqdn[n] == '\0')
		return NULL;
	return fqdn + n;
}

bool acme_value_ok(const char *v, size_t len)
{
	if (len == 0 || len > ACME_TXT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= ' ' || c > '~' || c == '"' || c == '\\')
			return false;
	}
	return true;
}

int acme_values(struct store *st, int64_t host_id, int64_t now, struct store_acme_txt *out,
                size_t *n)
{
	/* Room for a full set plus stale ones beyond it: a name never holds more than the
	 * limit, so more rows than this is a broken store, answered as such. */
	struct store_acme_txt all[2 * ACME_VALUES_MAX];
	size_t got = 0;
	int ret = store_acme_get(st, host_id, all, sizeof(all) / sizeof(all[0]), &got);
	*n = 0;
	if (ret != NP_OK)
		return ret;
	for (size_t i = 0; i < got; i++) {
		if (all[i].created < now - ACME_VALUE_LIFETIME)
			continue;
		if (*n == ACME_VALUES_MAX)
			return NP_ETOOBIG;
		out[(*n)++] = all[i];
	}
	return NP_OK;
}

static bool listed(const char *v, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(values[i], v) == 0)
			return true;
	return false;
}

/* `TXT "a",TXT "b"` for the history. */
static void values_text(char *out, size_t cap, const char *const *values, size_t n)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, cap - o, "%sTXT \"%s\"", o > 0 ? "," : "", values[i]);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}

int acme_set(struct store *st, struct writer_txn *txn, const struct store_host *host,
             const char *const *values, size_t n, const struct acme_who *who, bool *changed)
{
	*changed = false;
	if (n > ACME_VALUES_MAX)
		return NP_ETOOBIG;
	for (size_t i = 0; i < n; i++)
		if (!acme_value_ok(values[i], strlen(values[i])))
			return NP_EINVAL;
	struct store_acme_txt old[2 * ACME_VALUES_MAX];
	size_t n_old = 0;
	int ret = store_acme_get(st, host->id, old, sizeof(old) / sizeof(old[0]), &n_old);
	if (ret != NP_OK)
		return ret;
	const char *old_values[2 * ACME_VALUES_MAX];
	for (size_t i = 0; i < n_old; i++) {
		old_values[i] = old[i].value;
		if (!listed(old[i].value, values, n)) {
			if ((ret = store_acme_del(st, host->id, old[i].value)) != NP_OK)
				return ret;
			*changed = true;
		}
	}
	int64_t now = time_now();
	for (size_t i = 0; i < n; i++) {
		if (listed(values[i], old_values, n_old) || listed(values[i], values, i))
			continue;
		if ((ret = store_acme_add(st, host->id, values[i], now)) != NP_OK)
			return ret;
		*changed = true;
	}
	if (!*changed)
		return NP_OK;
	char fqdn[CFG_NAME_MAX + sizeof(ACME_LABEL)];
	if (snprintf(fqdn, sizeof(fqdn), ACME_LABEL "%s", host->fqdn) >= CFG_NAME_MAX)
		return NP_EINVAL;
	/* Both sides fit: at most 2 * 8 values of at most 255 characters each. */
	static _Thread_local char old_text[2 * ACME_VALUES_MAX * (ACME_TXT_MAX + 8)];
	static _Thread_local char new_text[ACME_VALUES_MAX * (ACME_TXT_MAX + 8)];
	char source[64] = "";
	values_text(old_text, sizeof(old_text), old_values, n_old);
	values_text(new_text, sizeof(new_text), values, n);
	if (who->source != NULL)
		addr_format(who->source, source, sizeof(source));
	/* The challenge name's own rows, by its name: not rows of the host's id, which hold
	 * the host's addresses for the owners' watch and the flux score. */
	struct store_history h = {
	    .host_id = 0,
	    .fqdn = fqdn,
	    .time = now,
	    .source = source,
	    .old_addr = old_text,
	    .new_addr = new_text,
	    .protocol = who->protocol,
	    .token_id = who->token_id,
	};
	ret = store_history_add(st, &h);
	if (ret == NP_OK)
		ret = writer_txn_touch(txn, fqdn);
	return ret;
}

int acme_expire(struct store *st, struct writer_txn *txn, int64_t now, bool *more)
{
	static _Thread_local char fqdns[ACME_SWEEP_HOSTS][CFG_NAME_MAX];
	size_t n = 0;
	*more = false;
	int ret = store_acme_stale(st, now - ACME_VALUE_LIFETIME, fqdns, ACME_SWEEP_HOSTS, &n);
	struct acme_who who = {.protocol = "expiry", .token_id = ""};
	for (size_t i = 0; ret == NP_OK && i < n; i++) {
		struct store_host h;
		struct store_acme_txt v[ACME_VALUES_MAX];
		const char *keep[ACME_VALUES_MAX];
		size_t n_keep = 0;
		bool changed;
		ret = store_host_get(st, fqdns[i], &h);
		if (ret == NP_OK)
			ret = acme_values(st, h.id, now, v, &n_keep);
		for (size_t k = 0; ret == NP_OK && k < n_keep; k++)
			keep[k] = v[k].value;
		if (ret == NP_OK)
			ret = acme_set(st, txn, &h, keep, n_keep, &who, &changed);
	}
	*more = ret == NP_OK && n == ACME_SWEEP_HOSTS;
	return ret;
}

struct zone_node *acme_node(const char *host_fqdn, const struct store_acme_txt *v, size_t n,
                            uint32_t ttl)
{
	char fqdn[CFG_NAME_MAX + sizeof(ACME_LABEL)];
	uint8_t name[DNS_NAME_MAX];
	if (n > ZONE_MAX_RRS_PER_TYPE)
		n = ZONE_MAX_RRS_PER_TYPE; /* never stored so: acme_set keeps the limit */
	if (snprintf(fqdn, sizeof(fqdn), ACME_LABEL "%s", host_fqdn) >= CFG_NAME_MAX)
		return NULL;
	int len = dns_name_from_text(fqdn, name, sizeof(name));
	if (len < 0)
		return NULL;
	uint8_t rdata[ZONE_MAX_RRS_PER_TYPE][1 + ACME_TXT_MAX];
	struct zone_rr_in in[ZONE_MAX_RRS_PER_TYPE];
	for (size_t i = 0; i < n; i++) {
		size_t vl = strlen(v[i].value);
		rdata[i][0] = (uint8_t)vl;
		memcpy(rdata[i] + 1, v[i].value, vl);
		in[i] = (struct zone_rr_in){.type = DNS_TYPE_TXT,
		                            .ttl = ttl,
		                            .rdlen = (uint16_t)(vl + 1),
		                            .rdata = rdata[i]};
	}
	return zone_node_new(name, (size_t)len, 0, in, n);
}
