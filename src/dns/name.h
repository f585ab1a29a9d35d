/* SPDX-License-Identifier: MIT */
/* Domain names in wire form: reading with decompression, conversion from and to text. */
#ifndef NP_DNS_NAME_H
#define NP_DNS_NAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define DNS_NAME_MAX  255 /* wire length including length bytes and the root */
#define DNS_LABEL_MAX 63

/* Converts "www.Example.com" or "www.example.com." to lowercase wire form in out (cap
 * >= DNS_NAME_MAX). Only LDH labels, '_' and a leading "*" label are accepted (host names).
 * Returns the wire length (>= 1) or NP_EMALFORMED. */
int dns_name_from_text(const char *text, uint8_t *out, size_t cap) np_mustcheck;
/* Writes the name without the trailing dot ("." for the root). Returns the text length or
 * NP_ETOOBIG / NP_EMALFORMED. */
int dns_name_to_text(const uint8_t *wire, size_t len, char *out, size_t cap) np_mustcheck;
/* Number of labels (the root has 0). */
unsigned dns_name_labels(const uint8_t *wire);

#endif
