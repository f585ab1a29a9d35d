/* SPDX-License-Identifier: MIT */
/* Domain names in wire form: reading with decompression, conversion from and to text. */
#ifndef NP_DNS_NAME_H
#define NP_DNS_NAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "dns/wire.h"

#define DNS_NAME_MAX  255 /* wire length including length bytes and the root */
#define DNS_LABEL_MAX 63
/* Compression pointers followed while reading one name. A legitimate name needs at most
 * one per label (127); every pointer must also go strictly backwards, so loops are
 * impossible and this only bounds the work. */
#define DNS_NAME_MAX_HOPS 127

/* Converts "www.Example.com" or "www.example.com." to lowercase wire form in out (cap
 * >= DNS_NAME_MAX). Only LDH labels, '_' and a leading "*" label are accepted (host names).
 * Returns the wire length (>= 1) or NP_EMALFORMED. */
int dns_name_from_text(const char *text, uint8_t *out, size_t cap) np_mustcheck;
/* Writes the name without the trailing dot ("." for the root). Returns the text length or
 * NP_ETOOBIG / NP_EMALFORMED. */
int dns_name_to_text(const uint8_t *wire, size_t len, char *out, size_t cap) np_mustcheck;
/* Reads the possibly compressed name at c->pos (c spans the whole message, so pointers
 * resolve). Each pointer must point strictly before the start of the label run that holds
 * it and never into the 12-byte header; labels 0x40-0xBF, labels over 63 octets, names
 * over 255 octets after decompression and more than DNS_NAME_MAX_HOPS pointers are
 * rejected. Writes the uncompressed name in its original case into orig and lowercased
 * into lower (each DNS_NAME_MAX bytes; either may be NULL). Moves c past the name as it
 * appears at c->pos (up to and including the first pointer).
 * Returns the uncompressed length (1..255), or NP_EMALFORMED with c failed. */
int dns_name_read(struct wire *c, uint8_t *orig, uint8_t *lower) np_mustcheck;
/* Checks the uncompressed wire name at wire (at most max bytes available): labels of at
 * most 63 octets (no pointers, no 0x40-0xBF), at most 255 octets. Returns its length or
 * NP_EMALFORMED. */
int dns_name_check(const uint8_t *wire, size_t max) np_mustcheck;
/* Number of labels (the root has 0). */
unsigned dns_name_labels(const uint8_t *wire);

#endif
