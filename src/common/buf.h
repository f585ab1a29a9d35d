/* SPDX-License-Identifier: MIT */
/* A growable text buffer with a ceiling, for pages and mails: buf_init, buf_add, buf_puts,
 * buf_printf, buf_free. And array_grow, for arrays that grow by doubling. */
#ifndef NP_COMMON_BUF_H
#define NP_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* Never exceeds max bytes. Errors (out of memory, too big) are sticky: write everything,
 * then look at err once. p is NUL-terminated while !err and len > 0 (NULL before the first
 * write). */
struct buf {
	char *p;
	size_t len, cap, max;
	bool err;
};
void buf_init(struct buf *b, size_t max);
/* Frees the text and leaves b empty (same max), ready for reuse. */
void buf_free(struct buf *b);
void buf_add(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes room for need elements of elem bytes in *arr (capacity *cap elements): doubles
 * from first (or from *cap) until need fits. False when out of memory (or the size would
 * overflow); *arr and *cap are then unchanged. */
bool array_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first);

#endif
