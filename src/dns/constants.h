/* SPDX-License-Identifier: MIT */
/* The DNS numbers every layer shares: RR types, classes, opcodes and response codes, in
 * one place so that code needing only a constant depends on the wire library alone. */
#ifndef NP_DNS_CONSTANTS_H
#define NP_DNS_CONSTANTS_H

/* RR types: those the zone model holds (zone.h gives each a slot), then the meta types. */
#define DNS_TYPE_A          1
#define DNS_TYPE_NS         2
#define DNS_TYPE_SOA        6
#define DNS_TYPE_MX         15
#define DNS_TYPE_TXT        16
#define DNS_TYPE_AAAA       28
#define DNS_TYPE_OPT        41
#define DNS_TYPE_TKEY       249
#define DNS_TYPE_TSIG       250
#define DNS_TYPE_IXFR       251
#define DNS_TYPE_AXFR       252
#define DNS_TYPE_MAILB      253
#define DNS_TYPE_MAILA      254
#define DNS_TYPE_ANY        255

/* Classes; NONE and ANY carry meaning in UPDATE (RFC 2136). */
#define DNS_CLASS_IN        1
#define DNS_CLASS_NONE      254
#define DNS_CLASS_ANY       255

/* Opcodes (the value, before shifting into the header's flags word). */
#define DNS_OPCODE_QUERY    0
#define DNS_OPCODE_NOTIFY   4
#define DNS_OPCODE_UPDATE   5

/* Response codes: the base ones, those of RFC 2136, and the extended BADVERS. */
#define DNS_RCODE_NOERROR   0
#define DNS_RCODE_FORMERR   1
#define DNS_RCODE_SERVFAIL  2
#define DNS_RCODE_NXDOMAIN  3
#define DNS_RCODE_NOTIMP    4
#define DNS_RCODE_REFUSED   5
#define DNS_RCODE_YXDOMAIN  6
#define DNS_RCODE_YXRRSET   7
#define DNS_RCODE_NXRRSET   8
#define DNS_RCODE_NOTAUTH   9
#define DNS_RCODE_NOTZONE   10
#define DNS_RCODE_BADVERS   16 /* extended: upper 8 bits go in the OPT TTL */

#endif
