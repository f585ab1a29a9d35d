/* SPDX-License-Identifier: MIT */
/* The flux score: what a host's update history says of it. Every address it was given in
 * the window counts, the ASNs (from the iptoasn table; an address it does not know counts
 * by its network) and the networks they lie in, how fast they changed, whether the new
 * addresses are held by names of many unrelated accounts, and whether a feed lists them. */
#include "abuse/flux.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "dns/constants.h"
#include "store/incident.h"

/* Distinct addresses kept per judgement; a window with more is flux many times over. */
#define FLUX_MAX_ADDRS 1024
/* Hosts read per shared address. */
#define FLUX_MAX_SHARING 1000

/* Slots of the set of addresses seen: a power of two, at most half full. */
#define FLUX_ADDR_SLOTS (4 * FLUX_MAX_ADDRS)

struct collect {
	struct np_addr addrs[FLUX_MAX_ADDRS];
	size_t n;
	uint16_t slot[FLUX_ADDR_SLOTS]; /* index + 1 into addrs; 0 empty */
	int64_t since, now;
	unsigned changes, changes_hour;
};

/* Adds a to the distinct addresses (a set: a window of thousands of rows costs one probe
 * per address, not a scan of all seen before). */
static void add_addr(struct collect *c, const struct np_addr *a)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)a->family;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ a->bytes[i]) * 1099511628211ULL;
	size_t i = (size_t)(h ^ h >> 29) & (FLUX_ADDR_SLOTS - 1);
	for (; c->slot[i] != 0; i = (i + 1) & (FLUX_ADDR_SLOTS - 1)) {
		const struct np_addr *b = &c->addrs[c->slot[i] - 1];
		if (b->family == a->family && memcmp(b->bytes, a->bytes, 16) == 0)
			return;
	}
	if (c->n < FLUX_MAX_ADDRS) {
		c->addrs[c->n++] = *a;
		c->slot[i] = (uint16_t)c->n;
	}
}

static int history_row(int64_t time, const char *new_addr, void *ctx)
{
	struct collect *c = ctx;
	if (time >= c->since) {
		c->changes++;
		if (time > c->now - 3600)
			c->changes_hour++;
	}
	/* "v4,v6" lists: each element an address ("" holds none). */
	const char *p = new_addr != NULL ? new_addr : "";
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char buf[INET6_ADDRSTRLEN];
		struct np_addr a;
		if (n > 0 && n < sizeof(buf)) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			if (addr_parse(buf, &a) == NP_OK)
				add_addr(c, &a);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static uint64_t net_key(const struct np_addr *a)
{
	if (a->family == AF_INET)
		return (uint64_t)4 << 40 | (uint64_t)a->bytes[0] << 8 | a->bytes[1];
	return (uint64_t)6 << 40 | (uint64_t)a->bytes[0] << 24 | (uint64_t)a->bytes[1] << 16 |
	       (uint64_t)a->bytes[2] << 8 | a->bytes[3];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* How many distinct values keys[0..n) holds (sorted in scratch; keys keeps its order). */
static unsigned distinct(const uint64_t *keys, size_t n, uint64_t *scratch)
{
	memcpy(scratch, keys, n * sizeof(*keys));
	qsort(scratch, n, sizeof(*scratch), cmp_u64);
	unsigned d = 0;
	for (size_t i = 0; i < n; i++)
		d += i == 0 || scratch[i] != scratch[i - 1];
	return d;
}

struct sharing {
	int64_t self;
	int64_t users[64];
	unsigned n;
};

static int sharing_row(int64_t host_id, int64_t user_id, void *ctx)
{
	(void)host_id;
	struct sharing *s = ctx;
	if (user_id == 0 || user_id == s->self)
		return 0;
	for (unsigned i = 0; i < s->n; i++)
		if (s->users[i] == user_id)
			return 0;
	if (s->n < sizeof(s->users) / sizeof(s->users[0]))
		s->users[s->n++] = user_id;
	return 0;
}

int flux_measure(struct store *st, const struct asn_db *asn, const struct feed_set *feeds,
                 int64_t host_id, int64_t user_id, int64_t since, const struct np_addr *cand,
                 size_t n_cand, int64_t now, struct flux_features *out)
{
	memset(out, 0, sizeof(*out));
	struct collect *c = calloc(1, sizeof(*c));
	uint64_t *keys = calloc(2 * FLUX_MAX_ADDRS, sizeof(*keys));
	int ret = NP_ENOMEM;
	if (c == NULL || keys == NULL)
		goto out;
	c->since = since;
	c->now = now;
	ret = store_history_since(st, host_id, since, FLUX_MAX_ROWS, history_row, c);
	if (ret != NP_OK)
		goto out;
	if (n_cand > 0) { /* the update being judged is a change too */
		c->changes++;
		c->changes_hour++;
	}
	for (size_t i = 0; i < n_cand; i++)
		add_addr(c, &cand[i]);

	out->addrs = (unsigned)c->n;
	out->changes = c->changes;
	out->changes_hour = c->changes_hour;
	for (size_t i = 0; i < c->n; i++)
		keys[i] = net_key(&c->addrs[i]);
	out->nets = distinct(keys, c->n, keys + FLUX_MAX_ADDRS);
	for (size_t i = 0; i < c->n; i++) {
		uint32_t as = asn_db_lookup(asn, &c->addrs[i]);
		if (as != 0)
			keys[i] = (uint64_t)1 << 63 | as;
		if (feeds != NULL && feed_set_addr(feeds, &c->addrs[i], NULL, 0))
			out->feed_hits++;
	}
	out->asns = distinct(keys, c->n, keys + FLUX_MAX_ADDRS);

	struct sharing sh = {.self = user_id};
	for (size_t i = 0; i < n_cand && ret == NP_OK; i++) {
		const struct np_addr *a = &cand[i];
		ret = store_abuse_addr_hosts(st, a->family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA,
		                             a->bytes, a->family == AF_INET ? 4 : 16,
		                             FLUX_MAX_SHARING, sharing_row, &sh);
	}
	if (ret != NP_OK)
		goto out;
	out->shared_accounts = sh.n;

	out->holz = FLUX_HOLZ_A * out->addrs + FLUX_HOLZ_ASN * out->asns;
	out->score = out->holz + FLUX_FEED_WEIGHT * out->feed_hits;
	/* Changes count as fast only as far as they bring new addresses: a router flapping
	 * between its two uplinks changes often and stays two addresses. */
	unsigned fast = out->changes_hour < out->addrs ? out->changes_hour : out->addrs;
	if (fast > FLUX_RATE_FREE)
		out->score += FLUX_RATE_WEIGHT * (fast - FLUX_RATE_FREE);
out:
	free(c);
	free(keys);
	return ret;
}

enum store_abuse_state flux_state(const struct flux_features *f, const struct flux_params *p,
                                  char *reasons, size_t len)
{
	enum store_abuse_state st = STORE_ABUSE_OK;
	double at = 0;
	if (p->quarantine > 0 && f->score >= p->quarantine) {
		st = STORE_ABUSE_QUARANTINED;
		at = p->quarantine;
	} else if (p->hold > 0 && f->score >= p->hold) {
		st = STORE_ABUSE_HOLD;
		at = p->hold;
	} else if (p->watch > 0 && f->score >= p->watch) {
		st = STORE_ABUSE_WATCH;
		at = p->watch;
	}
	int w = 0;
	if (st != STORE_ABUSE_OK)
		w = snprintf(reasons, len,
		             "flux score %.1f (%s at %.0f): %u addresses in %u ASNs and %u networks, "
		             "%u changes in the last hour, %u in the window%s",
		             f->score, store_abuse_state_name(st), at, f->addrs, f->asns, f->nets,
		             f->changes_hour, f->changes,
		             f->feed_hits > 0 ? ", addresses a threat feed lists" : "");
	else if (len > 0)
		reasons[0] = '\0';
	/* Many unrelated accounts on one address is worth a look, never a block by itself: a
	 * CGNAT address is shared by many homes. */
	if (p->shared_accounts > 0 && f->shared_accounts >= p->shared_accounts) {
		if (st == STORE_ABUSE_OK)
			st = STORE_ABUSE_WATCH;
		if (w >= 0 && (size_t)w < len)
			snprintf(reasons + w, len - (size_t)w,
			         "%sthe new address is held by names of %u other accounts",
			         w > 0 ? "; " : "", f->shared_accounts);
	}
	return st;
}

void flux_json(const struct flux_features *f, char *out, size_t len)
{
	snprintf(out, len,
	         "{\"addresses\":%u,\"asns\":%u,\"networks\":%u,\"changes\":%u,"
	         "\"changes_last_hour\":%u,\"shared_accounts\":%u,\"feed_hits\":%u,"
	         "\"holz\":%.2f,\"score\":%.2f}",
	         f->addrs, f->asns, f->nets, f->changes, f->changes_hour, f->shared_accounts,
	         f->feed_hits, f->holz, f->score);
}
