/* SPDX-License-Identifier: MIT */
/* Bounded wire cursors with a sticky error: a reader over a received message and a writer
 * into a fixed buffer. Do a run of reads (or writes), then check err once. */
#ifndef NP_DNS_WIRE_H
#define NP_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

/* A reader over buf[0..len). buf stays the whole message so that compression pointers can
 * be resolved from anywhere in it. After the first failed read err is NP_EMALFORMED, pos
 * stops moving and every further read returns 0 (or NULL). */
struct wire {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int err;
};

static inline struct wire wire_init(const uint8_t *buf, size_t len)
{
	struct wire c = {.buf = buf, .len = len, .pos = 0, .err = NP_OK};
	return c;
}

static inline size_t wire_left(const struct wire *c)
{
	return c->err != 0 ? 0 : c->len - c->pos;
}

/* Marks the cursor failed; returns the error so parsers can `return wire_fail(c);`. */
static inline int wire_fail(struct wire *c)
{
	if (c->err == 0)
		c->err = NP_EMALFORMED;
	return c->err;
}

/* Returns a pointer to the next n bytes and moves past them, or NULL (and fails). */
static inline const uint8_t *wire_take(struct wire *c, size_t n)
{
	if (c->err != 0 || c->len - c->pos < n) {
		wire_fail(c);
		return NULL;
	}
	const uint8_t *p = c->buf + c->pos;
	c->pos += n;
	return p;
}

static inline void wire_skip(struct wire *c, size_t n)
{
	(void)wire_take(c, n);
}

static inline uint8_t wire_u8(struct wire *c)
{
	const uint8_t *p = wire_take(c, 1);
	return p == NULL ? 0 : p[0];
}

static inline uint16_t wire_u16(struct wire *c)
{
	const uint8_t *p = wire_take(c, 2);
	return p == NULL ? 0 : (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t wire_u32(struct wire *c)
{
	const uint8_t *p = wire_take(c, 4);
	if (p == NULL)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A writer into buf[0..cap). A write that does not fit sets err to NP_ETOOBIG and writes
 * nothing; pos then stays where the last successful write left it. */
struct wire_out {
	uint8_t *buf;
	size_t cap;
	size_t pos;
	int err;
};

static inline struct wire_out wire_out_init(uint8_t *buf, size_t cap)
{
	struct wire_out w = {.buf = buf, .cap = cap, .pos = 0, .err = NP_OK};
	return w;
}

/* Reserves n bytes and returns where to write them, or NULL (and fails). */
static inline uint8_t *wire_out_reserve(struct wire_out *w, size_t n)
{
	if (w->err != 0 || w->cap - w->pos < n) {
		w->err = NP_ETOOBIG;
		return NULL;
	}
	uint8_t *p = w->buf + w->pos;
	w->pos += n;
	return p;
}

static inline void wire_put_bytes(struct wire_out *w, const void *src, size_t n)
{
	uint8_t *p = wire_out_reserve(w, n);
	if (p != NULL && n > 0)
		memcpy(p, src, n);
}

static inline void wire_put_u8(struct wire_out *w, uint8_t v)
{
	uint8_t *p = wire_out_reserve(w, 1);
	if (p != NULL)
		p[0] = v;
}

static inline void wire_put_u16(struct wire_out *w, uint16_t v)
{
	uint8_t *p = wire_out_reserve(w, 2);
	if (p != NULL) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void wire_put_u32(struct wire_out *w, uint32_t v)
{
	uint8_t *p = wire_out_reserve(w, 4);
	if (p != NULL) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

/* Big-endian helpers for patching bytes already written. */
static inline void wire_store_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t wire_load_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t wire_load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
