/* SPDX-License-Identifier: MIT */
/* RRSIG records (RFC 4034 3): the signature over an RRset in canonical form (RFC 4034 6). */
#ifndef NP_DNSSEC_SIGN_H
#define NP_DNSSEC_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "dnssec/key.h"

#define DNSSEC_RRSIG_FIXED 18 /* type covered .. key tag, before the signer's name */
/* The longest RRSIG rdata: fixed part, signer, signature. */
#define DNSSEC_RRSIG_MAX    (DNSSEC_RRSIG_FIXED + 255 + DNSSEC_SIG_LEN)
#define DNSSEC_TYPE_DS      43
#define DNSSEC_TYPE_RRSIG   46
#define DNSSEC_TYPE_NSEC    47
#define DNSSEC_TYPE_DNSKEY  48
#define DNSSEC_TYPE_CDS     59
#define DNSSEC_TYPE_CDNSKEY 60
#define DNSSEC_TYPE_NXNAME  128 /* RFC 9824: the name does not exist */

/* One record of an RRset: its rdata, uncompressed. */
struct dnssec_rr {
	const uint8_t *rdata;
	uint16_t rdlen;
};

/* What an RRSIG says besides the signature. */
struct dnssec_sig_meta {
	const uint8_t *owner; /* lowercase wire name */
	size_t owner_len;
	uint16_t type;
	uint32_t ttl; /* the original TTL */
	uint32_t inception, expiration;
	const uint8_t *signer; /* the zone's apex, lowercase wire */
	size_t signer_len;
};

/* The canonical form of an rdata of type into out (cap bytes): the names it holds (NS, MX,
 * SOA) in lower case. Returns the length, or 0 when it does not fit. */
size_t dnssec_rdata_canonical(uint16_t type, const uint8_t *rd, size_t len, uint8_t *out,
                              size_t cap);

/* The RRSIG rdata of k over the n records (at most 64, each at most 1024 bytes of rdata)
 * into out (DNSSEC_RRSIG_MAX bytes). Returns its length, or a negative error. */
int dnssec_rrsig(const struct dnssec_key *k, const struct dnssec_sig_meta *m,
                 const struct dnssec_rr *rrs, size_t n, uint8_t out[DNSSEC_RRSIG_MAX]);

#endif
