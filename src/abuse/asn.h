/* SPDX-License-Identifier: MIT */
/* The address-to-AS table (asn.c), from iptoasn.com's TSV files (ip2asn-v4.tsv,
 * ip2asn-v6.tsv, ip2asn-combined.tsv): "range_start TAB range_end TAB AS_number TAB
 * country TAB description". AS 0 ("Not routed") names no AS. Immutable once loaded. */
#ifndef NP_ABUSE_ASN_H
#define NP_ABUSE_ASN_H

#include <stddef.h>
#include <stdint.h>

#include "abuse/feed.h" /* feed_report_fn */
#include "common/addr.h"

#define ASN_MAX_RANGES 4000000

struct asn_db;

/* Loads the files (paths[0..n)); bad lines are reported and skipped, an unreadable file
 * is reported (line 0). */
int asn_db_load(const char (*paths)[PATH_MAX], unsigned n, feed_report_fn *report, void *ctx,
                struct asn_db **out) np_mustcheck;
void asn_db_free(struct asn_db *db);
size_t asn_db_ranges(const struct asn_db *db);
/* The AS number of a, or 0 when unknown (or db is NULL). */
uint32_t asn_db_lookup(const struct asn_db *db, const struct np_addr *a);

#endif
