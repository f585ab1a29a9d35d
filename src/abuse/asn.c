/* SPDX-License-Identifier: MIT */
/* The address-to-AS table: sorted, non-overlapping ranges searched by bisection. */
#include "abuse/asn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/str.h"

struct range4 {
	uint32_t lo, hi, asn;
};

struct range6 {
	uint8_t lo[16], hi[16];
	uint32_t asn;
};

struct asn_db {
	struct range4 *v4;
	size_t n4, cap4;
	struct range6 *v6;
	size_t n6, cap6;
};

static uint32_t v4_of(const struct np_addr *a)
{
	return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
	       (uint32_t)a->bytes[2] << 8 | a->bytes[3];
}

/* One line; returns NP_OK (also for a reported bad line) or NP_ENOMEM. */
static int add_line(struct asn_db *db, char *line, const char **why)
{
	char *f[3];
	char *p = line;
	for (int i = 0; i < 3; i++) {
		f[i] = p;
		p = strchr(p, '\t');
		if (p == NULL && i < 2) {
			*why = "expected RANGE_START<TAB>RANGE_END<TAB>AS_NUMBER<TAB>...";
			return NP_OK;
		}
		if (p != NULL)
			*p++ = '\0';
	}
	struct np_addr lo, hi;
	uint32_t asn;
	if (addr_parse(f[0], &lo) != NP_OK || addr_parse(f[1], &hi) != NP_OK ||
	    lo.family != hi.family || str_to_u32(f[2], 0, UINT32_MAX, &asn) != NP_OK) {
		*why = "expected RANGE_START<TAB>RANGE_END<TAB>AS_NUMBER<TAB>...";
		return NP_OK;
	}
	if (asn == 0)
		return NP_OK; /* "Not routed" */
	if (db->n4 + db->n6 >= ASN_MAX_RANGES) {
		*why = "more than 4,000,000 ranges: the rest is ignored";
		return NP_OK;
	}
	if (lo.family == AF_INET) {
		if (!array_grow((void **)&db->v4, &db->cap4, db->n4 + 1, sizeof(*db->v4), 1024))
			return NP_ENOMEM;
		db->v4[db->n4++] = (struct range4){v4_of(&lo), v4_of(&hi), asn};
	} else {
		if (!array_grow((void **)&db->v6, &db->cap6, db->n6 + 1, sizeof(*db->v6), 1024))
			return NP_ENOMEM;
		struct range6 *r = &db->v6[db->n6++];
		memcpy(r->lo, lo.bytes, 16);
		memcpy(r->hi, hi.bytes, 16);
		r->asn = asn;
	}
	return NP_OK;
}

static int cmp4(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp6(const void *a, const void *b)
{
	return memcmp(((const struct range6 *)a)->lo, ((const struct range6 *)b)->lo, 16);
}

int asn_db_load(const char (*paths)[PATH_MAX], unsigned n, feed_report_fn *report, void *ctx,
                struct asn_db **out)
{
	*out = NULL;
	struct asn_db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return NP_ENOMEM;
	int ret = NP_OK;
	char buf[1024];
	for (unsigned i = 0; i < n && ret == NP_OK; i++) {
		FILE *fp = fopen(paths[i], "r");
		if (fp == NULL) {
			char why[128];
			snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
			report(ctx, paths[i], 0, why);
			continue;
		}
		unsigned line = 0;
		bool skipping = false;
		while (ret == NP_OK && fgets(buf, sizeof(buf), fp) != NULL) {
			size_t len = strlen(buf);
			bool whole = len > 0 && buf[len - 1] == '\n';
			if (skipping) {
				skipping = !whole;
				continue;
			}
			line++;
			if (!whole && !feof(fp)) {
				report(ctx, paths[i], line, "line too long, or a NUL in it");
				skipping = true;
				continue;
			}
			while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
				buf[--len] = '\0';
			if (len == 0 || buf[0] == '#')
				continue;
			const char *why = NULL;
			ret = add_line(db, buf, &why);
			if (why != NULL)
				report(ctx, paths[i], line, why);
		}
		fclose(fp);
	}
	if (ret != NP_OK) {
		asn_db_free(db);
		return ret;
	}
	if (db->n4 > 0) /* qsort wants an array, even of nothing */
		qsort(db->v4, db->n4, sizeof(*db->v4), cmp4);
	if (db->n6 > 0)
		qsort(db->v6, db->n6, sizeof(*db->v6), cmp6);
	*out = db;
	return NP_OK;
}

void asn_db_free(struct asn_db *db)
{
	if (db == NULL)
		return;
	free(db->v4);
	free(db->v6);
	free(db);
}

size_t asn_db_ranges(const struct asn_db *db)
{
	return db != NULL ? db->n4 + db->n6 : 0;
}

uint32_t asn_db_lookup(const struct asn_db *db, const struct np_addr *a)
{
	if (db == NULL)
		return 0;
	size_t lo = 0, hi;
	if (a->family == AF_INET) {
		uint32_t v = v4_of(a);
		hi = db->n4;
		while (lo < hi) { /* the first range starting after v */
			size_t mid = lo + (hi - lo) / 2;
			if (db->v4[mid].lo <= v)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo > 0 && db->v4[lo - 1].hi >= v ? db->v4[lo - 1].asn : 0;
	}
	hi = db->n6;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(db->v6[mid].lo, a->bytes, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && memcmp(db->v6[lo - 1].hi, a->bytes, 16) >= 0 ? db->v6[lo - 1].asn : 0;
}
