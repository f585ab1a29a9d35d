/* SPDX-License-Identifier: MIT */
/* The name policy at creation (name_policy.c): which names an account may not take.
 * Reserved labels, brands and their lookalikes, and IDN labels that mix scripts are
 * refused, so that a free name cannot pose as the service's own or as a bank's.
 * Pure functions over the [abuse] lists; docs/abuse.md says what each check decides. */
#ifndef NP_ABUSE_NAME_POLICY_H
#define NP_ABUSE_NAME_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one Punycode label body (RFC 3492, without its "xn--") into at most cap code
 * points; the count, or -1 when it is not valid Punycode or is too long. */
int punycode_decode(const char *in, size_t len, uint32_t *out, size_t cap);

/* Folds a label for brand comparison: lower case, hyphens dropped, look-alike digits to
 * the letters they imitate (0 o, 1 l, 3 e, 4 a, 5 s, 7 t, 8 b), "rn" to m and "vv" to w. */
void name_policy_fold(const char *label, size_t len, char *out, size_t cap);

/* Checks the labels an account would own (the name without its zone, e.g. "a.b" of
 * a.b.dyn.example) against the reserved list and the brand list (both words separated by
 * spaces or commas; a reserved word ending in '*' is a prefix). 0 when the name may be
 * taken; else -1 with the reason in why. */
int name_policy_check(const char *labels, const char *reserved, const char *brands, char *why,
                      size_t whylen);

#endif
