/* SPDX-License-Identifier: MIT */
/* RFC 2136 UPDATE messages: parsing and every check that needs no data (sections 3.1.1,
 * 3.2 and 3.4.1 "prescan"), and the answer. What the prerequisites find and what the
 * updates change is decided against the store, on the writer thread, by the caller
 * (update/); this file knows no store, no keys and no accounts. */
#ifndef NP_NS_UPDATE_H
#define NP_NS_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "dns/name.h"
#include "zone/zone.h"

/* Prerequisites and updates together in one message: a router or an ACME client sends a
 * handful; more is refused (FORMERR) before any work. */
#define UPDATE_MAX_RRS 64

struct update_rr {
	uint8_t name[DNS_NAME_MAX]; /* lower case, uncompressed */
	size_t name_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[ZONE_MAX_RDATA]; /* uncompressed; an MX exchange in lower case */
};

/* What a prerequisite or an update asks for, from its class (RFC 2136 2.4 and 2.5). */
enum update_kind {
	UPD_NAME_IN_USE,      /* prerequisite: ANY, ANY */
	UPD_NAME_NOT_IN_USE,  /* prerequisite: NONE, ANY */
	UPD_RRSET_EXISTS,     /* prerequisite: ANY, type (value independent) */
	UPD_RRSET_NOT_EXISTS, /* prerequisite: NONE, type */
	UPD_RRSET_VALUE,      /* prerequisite: IN, type, rdata (value dependent, as a set) */
	UPD_ADD,              /* update: IN */
	UPD_DEL_RRSET,        /* update: ANY, type */
	UPD_DEL_NAME,         /* update: ANY, ANY: every RRset of the name */
	UPD_DEL_RR,           /* update: NONE, type, rdata */
};

struct update_msg {
	uint16_t id;
	uint8_t zone[DNS_NAME_MAX]; /* the zone section's name, lower case */
	size_t zone_len;
	unsigned n_prereq, n_update;
	struct update_rr rr[UPDATE_MAX_RRS]; /* the prerequisites, then the updates */
	enum update_kind kind[UPDATE_MAX_RRS];
};

/* Parses the UPDATE in msg[0..end) (end: where its TSIG record starts, or its length) into
 * out and checks everything that needs no data: one zone section of type SOA and class IN,
 * no more than UPDATE_MAX_RRS records, classes, TTLs and rdata lengths as RFC 2136 allows
 * them, names inside the zone (NOTZONE otherwise), no meta types as data, A and AAAA rdata
 * of their size, TXT strings that tile their rdata. Returns the rcode: DNS_RCODE_NOERROR
 * when it may go on, DNS_RCODE_FORMERR or DNS_RCODE_NOTZONE. A message whose header or
 * zone section cannot be read at all is FORMERR with out->id still set when it was read. */
unsigned update_parse(const uint8_t *msg, size_t end, struct update_msg *out);

/* Whether name (lower-case wire) is zone or below it. */
bool update_name_in_zone(const uint8_t *name, size_t name_len, const uint8_t *zone,
                         size_t zone_len);

/* Whether msg is an UPDATE request (opcode 5, QR clear): what the transports hand over. */
bool update_is_update(const uint8_t *msg, size_t len);
/* SERVFAIL for the UPDATE msg (at least a header long) into out (DNS_HDR_LEN bytes): what a
 * transport answers when the update service cannot take it. Returns the length. */
size_t update_servfail(const uint8_t *msg, uint8_t *out);

/* Writes the answer to an UPDATE: its ID and opcode, QR, rcode, and the zone section
 * echoed when it was read (zone may be NULL). No TSIG: the caller signs it. Returns the
 * length, or 0 when cap is too small. */
size_t update_answer(uint8_t *out, size_t cap, uint16_t id, unsigned rcode, const uint8_t *zone,
                     size_t zone_len);

/* The largest answer the service sends back through reply: an UPDATE's is small (header,
 * zone, TSIG); a signed query's holds what a query does (TC=1 beyond). */
#define UPDATE_ANSWER_MAX 4096

/* An UPDATE a transport hands over to be authenticated, checked, committed and answered:
 * the transports know the socket, the service that takes it (update/) knows the rest, and
 * neither knows the other. The transport allocates the job and its message; the service
 * calls reply exactly once, from any thread, when the answer is ready (len 0: send
 * nothing), and reply frees the job. */
struct update_job {
	const uint8_t *msg;
	size_t len;
	struct np_addr source; /* the requester, for the key's source prefixes and the history */
	bool tcp;
	void (*reply)(struct update_job *job, const uint8_t *answer, size_t len);
};
/* Takes job (then reply will be called) or refuses it (false: the service is full or
 * stopping; the transport answers SERVFAIL itself and frees the job). */
typedef bool update_submit_fn(void *ctx, struct update_job *job);

#endif
