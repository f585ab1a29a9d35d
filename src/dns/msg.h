/* SPDX-License-Identifier: MIT */
/* DNS message pieces shared by the query path and later UPDATE: header and its flags,
 * question, the additional section with EDNS (RFC 6891). Parsing only; answers are built
 * in ns/query.c, and the type, class and rcode numbers are in constants.h. */
#ifndef NP_DNS_MSG_H
#define NP_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "dns/constants.h"
#include "dns/name.h"
#include "dns/wire.h"

#define DNS_HDR_LEN 12

/* Header flag bits (second 16-bit word). */
#define DNS_FLAG_QR        0x8000
#define DNS_OPCODE_MASK    0x7800
#define DNS_FLAG_AA        0x0400
#define DNS_FLAG_TC        0x0200
#define DNS_FLAG_RD        0x0100
#define DNS_FLAG_RA        0x0080
#define DNS_FLAG_Z         0x0040
#define DNS_FLAG_AD        0x0020
#define DNS_FLAG_CD        0x0010
#define DNS_RCODE_MASK     0x000F

#define DNS_EDNS_FLAG_DO    0x8000
#define DNS_EDNS_OPT_COOKIE 10
#define DNS_OPT_RR_LEN      11 /* root owner, type, class, TTL, rdlen 0 */
#define DNS_UDP_MIN         512

struct dns_hdr {
	uint16_t id;
	uint16_t flags;
	uint16_t qdcount, ancount, nscount, arcount;
};

/* The question, decoded: name in its original case (echoed back) and lowercase (looked
 * up), both uncompressed wire names of name_len bytes. */
struct dns_question {
	uint8_t name[DNS_NAME_MAX];
	uint8_t lname[DNS_NAME_MAX];
	uint8_t name_len;
	uint16_t qtype;
	uint16_t qclass;
};

/* What the requestor's OPT record said. */
struct dns_edns {
	bool present;
	uint16_t payload; /* as sent (callers apply the 512 floor) */
	uint8_t ext_rcode;
	uint8_t version;
	bool dnssec_ok;
	bool tsig; /* the section ends with a TSIG record (one anywhere else is refused) */
	const uint8_t *cookie; /* the COOKIE option's value (client cookie [+ server cookie]), */
	uint8_t cookie_len;    /* pointing into the message; NULL without one */
};

/* Reads the 12-byte header. Fails c when shorter. */
void dns_hdr_read(struct wire *c, struct dns_hdr *h);
/* Reads one question entry. Returns NP_OK or NP_EMALFORMED (c failed). */
int dns_question_read(struct wire *c, struct dns_question *q) np_mustcheck;
/* Skips one resource record, checking its owner name and that rdlength fits. Returns its
 * type, or NP_EMALFORMED. */
int dns_rr_skip(struct wire *c) np_mustcheck;
/* Reads count records of an additional section: at most one OPT, owned by the root, whose
 * options must tile its rdata exactly (a COOKIE must be 8 or 16..40 octets); any other
 * record is length-checked and skipped. Fills *e (present=false without OPT).
 * Returns NP_OK or NP_EMALFORMED. */
int dns_additional_read(struct wire *c, unsigned count, struct dns_edns *e) np_mustcheck;

#endif
