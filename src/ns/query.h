/* SPDX-License-Identifier: MIT */
/* The whole authoritative query path: bytes in, answer bytes out. No allocation, no lock;
 * the caller holds the RCU read-side section that keeps db alive. */
#ifndef NP_NS_QUERY_H
#define NP_NS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "zone/zone.h"

#define DNS_MAX_MSG 65535

/* What an answer was, for response rate limiting (ns/rrl.h) by the transport. */
enum dns_answer_kind {
	DNS_KIND_ANSWER,   /* data for the question */
	DNS_KIND_NODATA,   /* the name exists, the type does not */
	DNS_KIND_NXDOMAIN, /* counted per zone: random names under one zone are one flood */
	DNS_KIND_ERROR,    /* REFUSED, FORMERR, NOTIMP...: counted per client only */
};
struct dns_answer_info {
	enum dns_answer_kind kind;
	uint64_t name_hash;  /* of the lower-case name the answer is counted under, and type */
	bool cookie_valid;   /* the query returned a server cookie we made for this client */
	uint16_t qtype;      /* the question's type (0 without a question) */
	size_t question_end; /* where the header and question end: a slipped answer is cut here */
};

struct dns_answer_opts {
	bool tcp;         /* answer may use up to cap bytes; no UDP truncation */
	uint16_t udp_max; /* server's largest UDP answer with EDNS (config edns_udp_size) */
	/* DNS Cookies (ns/cookie.h): with a secret and the client's address, a query's COOKIE
	 * option is answered with a server cookie made at now. NULL: cookies are ignored. */
	const uint8_t *cookie_secret;
	const struct np_addr *client;
	uint32_t now;
	struct dns_answer_info *info; /* filled when not NULL */
	/* When set, becomes true for a query with a TSIG record, which this path (holding no
	 * keys) answers NOTAUTH/BADKEY: the caller may hand it to one that has them. */
	bool *tsig_seen;
};

/* For the metrics: the question types counted apart (A, AAAA, MX, TXT, SOA, NS, ANY, and
 * every other as one), and names for them and for rcodes. */
#define DNS_QTYPE_CLASSES 8
unsigned dns_qtype_class(uint16_t qtype);
const char *dns_qtype_class_name(unsigned c);
const char *dns_answer_rcode_name(unsigned rcode);
/* For the metrics: compact denials signed on the fly, and those over a zone's budget
 * (answered TC=1), since the start (dnssec_deny_stats). */
void dns_answer_denial_stats(uint64_t *made, uint64_t *over_budget);

/* Answers query (qlen bytes) from db into resp (cap >= 512; DNS_MAX_MSG for TCP).
 * Returns the response length, or 0 when nothing may be sent back (shorter than a
 * header, QR=1). */
size_t dns_answer(const struct zone_db *db, const uint8_t *query, size_t qlen, uint8_t *resp,
		  size_t cap, const struct dns_answer_opts *opts);

/* Warming the cache for a batch of queries about to be answered from db: dns_prefetch_slot
 * on each query notes in p where its name lies (zone and slot) and prefetches the slot;
 * then dns_prefetch_node on each prefetches the node. Done for the whole batch before the
 * first answer, the misses of all its names overlap. Changes no answer. */
struct dns_prefetch {
	const struct zone_version *z; /* NULL: nothing to prefetch */
	uint32_t slot;
};
void dns_prefetch_slot(const struct zone_db *db, const uint8_t *query, size_t qlen,
                       struct dns_prefetch *p);
void dns_prefetch_node(const struct dns_prefetch *p);

#endif
