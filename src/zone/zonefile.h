/* SPDX-License-Identifier: MIT */
/* RFC 1035 master files for what Nameplate holds: a reader for A, AAAA, TXT and MX records
 * (SOA and NS are accepted and skipped: they come from the configuration), and a writer
 * that prints a zone NSD and Knot load unchanged. */
#ifndef NP_ZONE_ZONEFILE_H
#define NP_ZONE_ZONEFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "common/err.h"

/* Limits of the reader. A logical record may span lines with parentheses. */
#define ZONEFILE_MAX_LINE   4096        /* bytes in one physical line, newline included */
#define ZONEFILE_MAX_RECORD 16384       /* bytes in one logical record (all its lines) */
#define ZONEFILE_MAX_TOKENS 256         /* fields in one logical record */
#define ZONEFILE_MAX_TTL    2147483647u /* RFC 2181 section 8 */

/* One record as read. All pointers are valid only during the callback. */
struct zonefile_rr {
	const char *owner;         /* absolute, lowercase, no trailing dot ("" for the root) */
	const uint8_t *owner_wire; /* the same name in lowercase wire form */
	size_t owner_len;
	const char *origin; /* the $ORIGIN in effect, as owner; "" when none */
	uint16_t type;      /* DNS_TYPE_A, _AAAA, _MX or _TXT */
	uint32_t ttl;
	bool ttl_default; /* no TTL on the record and no $TTL: ttl is default_ttl */
	uint16_t rdlen;
	const uint8_t *rdata; /* uncompressed wire form (MX exchange lowercase) */
	unsigned line;        /* line of the record's first field */
};

/* Called once per record; a non-zero return stops the parse and is returned. */
typedef int zonefile_rr_cb(const struct zonefile_rr *rr, void *ctx);

/* Reads a master file from f. name labels error messages ("name:LINE: message" in err).
 * origin is the initial $ORIGIN (NULL or "" for none: relative names then need a $ORIGIN
 * line). default_ttl applies when a record has no TTL and no $TTL preceded it. At most
 * ZONE_MAX_RRS_PER_TYPE records of one type at one owner are accepted.
 * Returns NP_OK, NP_EMALFORMED / NP_ETOOBIG / NP_ENOMEM with err set, or the callback's
 * non-zero value (err then untouched). */
int zonefile_parse(FILE *f, const char *name, const char *origin, uint32_t default_ttl,
                   zonefile_rr_cb *cb, void *ctx, char *err, size_t errlen) np_mustcheck;
/* The same over a memory buffer (tests and fuzzing). */
int zonefile_parse_mem(const char *buf, size_t len, const char *name, const char *origin,
                       uint32_t default_ttl, zonefile_rr_cb *cb, void *ctx, char *err,
                       size_t errlen) np_mustcheck;

/* Writes the apex SOA and NS records of cz with serial. Names are absolute throughout. */
int zonefile_write_apex(FILE *out, const struct cfg_zone *cz, uint32_t serial) np_mustcheck;
/* Writes one record of a supported type with rdata in wire form. owner is a lowercase name
 * without the trailing dot. Returns NP_OK, NP_EMALFORMED for rdata that does not decode, or
 * NP_EIO when writing failed. */
int zonefile_write_rr(FILE *out, const char *owner, uint16_t type, uint32_t ttl,
                      const uint8_t *rdata, size_t rdlen) np_mustcheck;

#endif
