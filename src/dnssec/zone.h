/* SPDX-License-Identifier: MIT */
/* A signed zone's signing state: its keys, the apex records they make (DNSKEY, CDS,
 * CDNSKEY), the signing of a zone node when the publisher builds it, and the compact denial
 * of existence (RFC 9824) the query path signs on the fly, with its bounded cache.
 *
 * Signatures made at build time are valid from an hour before they are made (clocks of
 * validators lag) for DNSSEC_VALIDITY; the publisher re-signs a node whenever it changes and
 * the whole zone at every start. Negative answers are signed for the hour they fall in, from
 * an hour before it to DNSSEC_NEG_VALIDITY after, so that one signature serves every equal
 * answer of that hour from the cache. */
#ifndef NP_DNSSEC_ZONE_H
#define NP_DNSSEC_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnssec/key.h"
#include "zone/zone.h"

#define DNSSEC_VALIDITY      (14u * 86400u)
#define DNSSEC_NEG_VALIDITY  (2u * 86400u)
#define DNSSEC_SKEW          3600u
#define DNSSEC_CACHE_ENTRIES 4096u /* negative answers' signatures kept per zone */
/* The NSEC record of a compact denial (or of a cover, dnssec_cover) and its RRSIG, as
 * written into an answer: at most two RRs of 12 octets' header each with owners of up to
 * 255 octets, the next name (255), a one-window bitmap (34), the RRSIG's fixed part, signer
 * and signature. */
#define DNSSEC_DENY_MAX (2 * (10 + 255) + 255 + 34 + 18 + 255 + DNSSEC_SIG_LEN)

struct dnssec_cache;

#define DNSSEC_EXTRA_KEYS 4

struct dnssec_zone {
	uint8_t apex[255]; /* lowercase wire name */
	size_t apex_len;
	struct dnssec_key ksk, zsk;
	/* During a KSK roll (docs/dnssec.md) the other KSK, new or old: it signs DNSKEY, CDS
	 * and CDNSKEY beside ksk (double-KSK, RFC 7583 3.3.1); alg 0 = none. cds_ksk2: CDS
	 * and CDNSKEY name it rather than ksk (the new KSK waits for the parent's DS). */
	struct dnssec_key ksk2;
	bool cds_ksk2;
	/* CDS and CDNSKEY are RFC 8078's "delete" records: the parent is asked to remove the
	 * DS (dnssec = retire). */
	bool cds_delete;
	struct dnssec_cache *cache;
	/* DNSKEY rdata of keys published beside ksk and zsk without signing: a new ZSK
	 * before it signs, an old one after (the pre-publish roll, docs/dnssec.md). */
	uint8_t extra[DNSSEC_EXTRA_KEYS][DNSSEC_DNSKEY_MAX];
	size_t extra_len[DNSSEC_EXTRA_KEYS];
	unsigned n_extra;
	uint64_t keyset; /* the store's keys and states this was made from: what changed */
};

/* A zone's signing state over ksk and zsk, which it takes over (even on failure, when they
 * are freed). NULL on bad input or no memory. */
struct dnssec_zone *dnssec_zone_new(const uint8_t *apex, size_t apex_len, struct dnssec_key *ksk,
                                    struct dnssec_key *zsk);
void dnssec_zone_free(struct dnssec_zone *z);

/* The apex records of a signed zone with ttl into out (at most DNSSEC_APEX_RRS) over buf
 * (at least DNSSEC_APEX_RRS * DNSSEC_DNSKEY_MAX bytes): DNSKEY of both keys and of the
 * extra ones, CDS and CDNSKEY of the KSK the parent's DS should name (RFC 7344), or the
 * "delete" CDS and CDNSKEY (RFC 8078) when z->cds_delete. Returns how many. */
#define DNSSEC_APEX_RRS (4 + DNSSEC_EXTRA_KEYS)
size_t dnssec_zone_apex_rrs(const struct dnssec_zone *z, uint32_t ttl, struct zone_rr_in *out,
                            uint8_t *buf);

/* A copy of node with every RRset signed at time now (DNSKEY, CDS, CDNSKEY with the KSK,
 * and with ksk2 too when there is one, the rest with the ZSK). A wildcard node also gets
 * what answers for the names below it
 * (struct zone_node's wild): its RRsets signed over "*.NAME", and the NSEC at "*.NAME", with
 * the zone's negative TTL neg_ttl, and its RRSIG. NULL on failure; node is left as it was. */
struct zone_node *dnssec_sign_node(const struct dnssec_zone *z, const struct zone_node *node,
                                   uint32_t neg_ttl, uint32_t now);

/* Writes the compact denial (RFC 9824) for the lowercase qname lname into out
 * (DNSSEC_DENY_MAX bytes): an NSEC record owned by the question name (0xC00C), whose next
 * name is the immediate successor of qname ("\000.qname", or when that exceeds 255 octets
 * the successor RFC 4471 3.1.2 derives), and whose bitmap holds node's types with RRSIG and NSEC (NODATA), or
 * RRSIG, NSEC and NXNAME when node is NULL (the name does not exist), then its RRSIG. ttl is
 * the negative TTL. The signature comes from the cache or is made now (the one signing on
 * the query path). Returns the octets written (2 records), or 0 when it cannot be made (a
 * name without a successor, a failure). Safe from many threads at once. */
size_t dnssec_deny(const struct dnssec_zone *z, const uint8_t *lname, size_t len,
                   const struct zone_node *node, uint32_t ttl, uint32_t now, uint8_t *out);

/* dnssec_deny within the zone's budget of signatures per second (dnssec_zone_set_sign_rate):
 * a cache miss over it signs nothing and returns DNSSEC_DENY_OVER_BUDGET, unless unmetered
 * (a query over TCP, whose source address is not spoofed), which signs anyway. What the
 * query path calls. */
#define DNSSEC_DENY_OVER_BUDGET SIZE_MAX
size_t dnssec_deny_metered(const struct dnssec_zone *z, const uint8_t *lname, size_t len,
                           const struct zone_node *node, uint32_t ttl, uint32_t now,
                           bool unmetered, uint8_t *out);

/* The zone's budget of compact-denial signatures made on the fly (cache misses), per second
 * of the clock the queries pass as now; 0: no limit. Safe while queries are answered. */
void dnssec_zone_set_sign_rate(struct dnssec_zone *z, uint32_t per_second);

/* Since the start, over every zone: compact-denial signatures made on the fly, and denials
 * not signed because the budget was spent (answered TC=1 by the query path). */
void dnssec_deny_stats(uint64_t *made, uint64_t *over_budget);
/* For a name below a wildcard host whose label under it (the next closer name, "L.wild")
 * sorts before "*" in canonical order, so that the NSEC at "*.wild" does not cover it:
 * writes into out (DNSSEC_DENY_MAX bytes) an NSEC that covers "L.wild" and the names below
 * it and nothing else (owner: a name just before "L.wild", RFC 4471's predecessor cut
 * short; next: "L\000.wild"), with bitmap RRSIG NSEC, and its RRSIG, signed through the
 * cache like dnssec_deny. lname/len: the lowercase qname; wild: the wildcard host's node
 * (its types stand in the bitmap when the owner is wild itself). Within the zone's budget
 * as dnssec_deny_metered (DNSSEC_DENY_OVER_BUDGET past it). Returns the octets written, or
 * 0 when the name needs none (its label sorts after "*") or it cannot be made. */
size_t dnssec_cover(const struct dnssec_zone *z, const uint8_t *lname, size_t len,
                    const struct zone_node *wild, uint32_t ttl, uint32_t now, bool unmetered,
                    uint8_t *out);

#endif
