/* SPDX-License-Identifier: MIT */
/* IPv6 prefix moves over an account's hosts. */
#include "http/prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/str.h"
#include "dns/constants.h"

bool prefix_parse(const char *text, struct np_cidr *out)
{
	return strchr(text, '/') != NULL && cidr_parse(text, out) == NP_OK &&
	       out->addr.family == AF_INET6 && out->prefix >= PREFIX_MIN_LEN &&
	       out->prefix <= PREFIX_MAX_LEN;
}

/* a with its first p->prefix bits taken from p. */
static void put_prefix(uint8_t a[16], const struct np_cidr *p)
{
	for (unsigned bit = 0; bit < p->prefix; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		a[bit / 8] = (uint8_t)((a[bit / 8] & ~m) | (p->addr.bytes[bit / 8] & m));
	}
}

/* The AAAA addresses among rrs as a comma list (the history's text). */
static void aaaa_text(const struct store_rr *rrs, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct np_addr a;
		char t[INET6_ADDRSTRLEN];
		if (rrs[i].type != DNS_TYPE_AAAA || !store_rr_addr(&rrs[i], &a))
			continue;
		int w = snprintf(out + o, cap - o, "%s%s", o > 0 ? "," : "", addr_format(&a, t, sizeof(t)));
		if (w < 0 || (size_t)w >= cap - o)
			return; /* informative text: a long list is cut */
		o += (size_t)w;
	}
}

static bool skipped(const struct prefix_move *m, const char *fqdn)
{
	for (size_t i = 0; i < m->n_skip; i++)
		if (strcmp(m->skip[i], fqdn) == 0)
			return true;
	return false;
}

struct scratch {
	struct store_host h;
	struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	struct store_rr set[ZONE_MAX_RRS_PER_TYPE];
	char old_text[1024], new_text[1024];
};

/* Moves the AAAA records of one host; *moved says whether any changed (or, with dry,
 * would change: nothing is written). */
static int move_host(struct store *st, const struct prefix_move *m, struct scratch *s, bool dry,
                     bool *moved)
{
	size_t n, n_set = 0;
	*moved = false;
	int ret = store_records_get(st, s->h.id, s->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	for (size_t k = 0; k < n; k++) {
		if (s->rrs[k].type != DNS_TYPE_AAAA || s->rrs[k].rdlen != 16)
			continue;
		struct store_rr *rr = &s->set[n_set];
		*rr = s->rrs[k];
		struct np_addr a = {.family = AF_INET6};
		memcpy(a.bytes, rr->rdata, 16);
		if (!m->has_from || cidr_contains(&m->from, &a)) {
			put_prefix(rr->rdata, &m->to);
			*moved = *moved || memcmp(rr->rdata, s->rrs[k].rdata, 16) != 0;
		}
		/* Addresses that differed only in their prefix are one record now: a set holds
		 * each value once. */
		bool dup = false;
		for (size_t d = 0; d < n_set && !dup; d++)
			dup = memcmp(s->set[d].rdata, rr->rdata, 16) == 0;
		if (!dup)
			n_set++;
	}
	if (!*moved || dry)
		return NP_OK;
	aaaa_text(s->rrs, n, s->old_text, sizeof(s->old_text));
	ret = store_records_set(st, s->h.id, DNS_TYPE_AAAA, s->set, n_set);
	if (ret == NP_OK)
		ret = store_records_get(st, s->h.id, s->rrs, ZONE_MAX_RRS_PER_NODE, &n);
	if (ret != NP_OK)
		return ret;
	aaaa_text(s->rrs, n, s->new_text, sizeof(s->new_text));
	char source[INET6_ADDRSTRLEN] = "";
	if (m->client != NULL && m->client->family != 0)
		addr_format(m->client, source, sizeof(source));
	struct store_history hist = {
	    .host_id = s->h.id,
	    .fqdn = s->h.fqdn,
	    .time = time_now(),
	    .source = source,
	    .old_addr = s->old_text,
	    .new_addr = s->new_text,
	    .protocol = m->protocol,
	    .token_id = m->cred->token_id,
	};
	ret = store_history_add(st, &hist);
	if (ret == NP_OK && m->touch != NULL)
		ret = m->touch(m->touch_ctx, s->h.fqdn);
	if (ret == NP_OK && m->moved != NULL)
		ret = m->moved(m->moved_ctx, s->h.fqdn, s->old_text, s->new_text);
	return ret;
}

/* The hosts of the account the move may change: the credential may change their AAAA,
 * they are not skipped, not blocked. Their names stay in names[]; the rest become "". */
static int eligible(struct store *st, const struct prefix_move *m, struct scratch *s,
                    char (*names)[CFG_NAME_MAX], size_t n_names)
{
	for (size_t i = 0; i < n_names; i++) {
		const char *fqdn = names[i];
		/* Names the credential may not change (or not their AAAA) stay as they are. */
		if (skipped(m, fqdn) ||
		    credential_may(m->cred, m->cred->user_id, fqdn, DNS_TYPE_AAAA, m->client,
		                   time_now()) != POLICY_OK) {
			names[i][0] = '\0';
			continue;
		}
		int ret = store_host_get(st, fqdn, &s->h);
		if (ret == NP_ENOTFOUND || (ret == NP_OK && s->h.blocked)) {
			names[i][0] = '\0'; /* a blocked host is the operator's to change */
			continue;
		}
		if (ret != NP_OK)
			return ret;
	}
	return NP_OK;
}

int prefix_move_run(struct store *st, const struct prefix_move *m, unsigned *n)
{
	char(*names)[CFG_NAME_MAX] = NULL;
	size_t n_names = 0;
	struct scratch *s = calloc(1, sizeof(*s));
	const char **moving = NULL;
	size_t n_moving = 0;
	*n = 0;
	int ret = s != NULL ? store_host_names_user(st, m->cred->user_id, &names, &n_names)
	                    : NP_ENOMEM;
	if (ret == NP_OK)
		ret = eligible(st, m, s, names, n_names);
	/* First the hosts it would change, for the budgets: over one, nothing changes. */
	if (ret == NP_OK && m->budget != NULL) {
		moving = calloc(n_names + 1, sizeof(*moving));
		if (moving == NULL)
			ret = NP_ENOMEM;
		for (size_t i = 0; i < n_names && ret == NP_OK; i++) {
			bool moved = false;
			if (names[i][0] == '\0' ||
			    (ret = store_host_get(st, names[i], &s->h)) != NP_OK)
				continue;
			ret = move_host(st, m, s, true, &moved);
			if (ret == NP_OK && moved)
				moving[n_moving++] = names[i];
		}
		if (ret == NP_OK && m->budget(m->budget_ctx, moving, n_moving) != 0)
			ret = NP_EAGAIN;
	}
	for (size_t i = 0; i < n_names && ret == NP_OK; i++) {
		if (names[i][0] == '\0')
			continue;
		ret = store_host_get(st, names[i], &s->h);
		if (ret != NP_OK)
			break;
		bool moved;
		ret = move_host(st, m, s, false, &moved);
		if (ret == NP_OK && moved)
			(*n)++;
	}
	free(moving);
	free(names);
	free(s);
	return ret;
}
