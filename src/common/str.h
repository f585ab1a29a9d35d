/* SPDX-License-Identifier: MIT */
/* Bounded strings, strict numbers and the name rule: np_strlcpy, str_*, name_ok. */
#ifndef NP_COMMON_STR_H
#define NP_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Copies src into dst (size dstsize), always NUL-terminating when dstsize > 0.
 * Returns strlen(src); a result >= dstsize means it was truncated. */
size_t np_strlcpy(char *dst, const char *src, size_t dstsize);

/* Parses a whole decimal string into *out within [min, max]. No sign, no spaces. */
int str_to_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) np_mustcheck;

/* Narrows s/len to exclude leading and trailing white space. */
void str_trim(const char **s, size_t *len);

/* Lowercases ASCII in place. */
void str_lower(char *s);

/* Whether s holds a control character (below 0x20, or DEL). */
bool str_has_ctl(const char *s);

/* Whether s[0..len) is an account or sensor name: [a-z0-9][a-z0-9._-]{0,62}. Safe in URLs,
 * logs, Basic auth user names and "NAME:SECRET" tokens (no ':'). */
bool name_ok(const char *s, size_t len);

#endif
