/* SPDX-License-Identifier: MIT */
/* Sensor batch JSON (strict jansson parse), the binary address record, and verdict JSON.
 *
 * Record format, version 1, all integers little endian:
 *   u8 version (1), u8 family (4 or 6), 4 or 8 address bytes (IPv6: the /64 prefix),
 *   i64 first_seen, i64 last_seen, u16 n_buckets (<= OBS_MAX_BUCKETS), u8 n_creds
 *   (<= OBS_MAX_CREDS), then per bucket (hours ascending, unique, >= 0):
 *     i32 hour, u16 first_off, u16 last_off (first_off 0xffff and last_off 0: no evidence;
 *     else first_off <= last_off < 3600), u16 kind mask (bit k: count[k] follows, bits
 *     >= OBS_KIND_COUNT refused), u32 per set bit, u8 extra mask (bit 0 iot_port_hits,
 *     1 default_creds, 2 other_ports; u32 per set bit), u8 n_ports (<= OBS_BUCKET_PORTS),
 *     n_ports x (u16 port, u16 count) with unique ports;
 *   then per credential: user and pass as NUL-terminated strings of at most 32 bytes,
 *   u8 is_default (0/1), u32 count, i64 first, i64 last (first <= last).
 * Nothing may follow. Zero counters are left out, so a typical darknet source (one kind
 * in one hour) takes 49 bytes.
 *
 * Version 2 (obs_record_encode_compact, for bulk imports) is the same sequence of fields
 * with every integer after the address as an unsigned LEB128 varint (at most 10 bytes;
 * a value too large for the version 1 field it stands for is refused), except:
 * last_seen is stored as last_seen - first_seen (mod 2^64); a bucket's hour is the hour
 * itself for the first bucket and hour - previous hour - 1 after it; first_off is stored
 * + 1 with 0 for "no evidence" (0xffff). n_creds, the extra mask, n_ports, is_default and
 * the strings stay bytes. The same checks apply after decoding; a typical darknet source
 * takes 20-30 bytes. */
#include "common/str.h"
#include "observe/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_VERSION   1
#define REC_COMPACT   2
#define VARINT_MAX    10
#define HOUR          3600
#define EV_N_MAX      1000000
#define TIME_MAX      253402300799LL /* 9999-12-31T23:59:59Z */
#define STR_MAX       32
#define EXTRA_IOT     0x01
#define EXTRA_DEFAULT 0x02
#define EXTRA_OTHER   0x04

int obs_kind_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int k = 0; k < OBS_KIND_COUNT; k++)
		if (strcmp(obs_kind_name((enum obs_kind)k), name) == 0)
			return k;
	return -1;
}

/* ---- batch JSON ---- */

static bool id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > OBS_BATCH_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

/* A credential string: at most STR_MAX bytes, no control characters. */
static bool cred_str_ok(const char *s, size_t len)
{
	if (len > STR_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool proto_ok(json_int_t p)
{
	return p == 0 || p == 1 || p == 6 || p == 17 || p == 58;
}

/* The event as JSON; NULL when out of memory or a string is not valid UTF-8. */
static json_t *event_json(const struct obs_event *e)
{
	char a[INET6_ADDRSTRLEN];
	if (e->src.family != AF_INET && e->src.family != AF_INET6)
		return NULL;
	if ((unsigned)e->kind >= OBS_KIND_COUNT)
		return NULL;
	json_t *o = json_pack("{s:s, s:I, s:s}", "src", addr_format(&e->src, a, sizeof(a)), "t",
	                      (json_int_t)e->time, "kind", obs_kind_name(e->kind));
	if (o == NULL)
		return NULL;
	int r = 0;
	if (e->proto != 0)
		r |= json_object_set_new(o, "proto", json_integer(e->proto));
	if (e->dst_port != 0)
		r |= json_object_set_new(o, "port", json_integer(e->dst_port));
	if (e->count != 0)
		r |= json_object_set_new(o, "n", json_integer(e->count));
	if (e->user[0] != '\0')
		r |= json_object_set_new(o, "user",
		                         json_stringn(e->user, strnlen(e->user, STR_MAX)));
	if (e->pass[0] != '\0')
		r |= json_object_set_new(o, "pass",
		                         json_stringn(e->pass, strnlen(e->pass, STR_MAX)));
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int obs_batch_encode(const char *id, const struct obs_event *events, size_t n, char **out,
                     size_t *len)
{
	int ret = NP_EINVAL;
	json_t *root = NULL, *arr = NULL;
	*out = NULL;
	*len = 0;
	if (id == NULL || !id_ok(id) || n > OBS_BATCH_MAX_EVENTS)
		return NP_EINVAL;
	ret = NP_ENOMEM;
	arr = json_array();
	if (arr == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (!cred_str_ok(events[i].user, strnlen(events[i].user, sizeof(events[i].user))) ||
		    !cred_str_ok(events[i].pass, strnlen(events[i].pass, sizeof(events[i].pass))) ||
		    events[i].time < 0 || events[i].time > TIME_MAX || events[i].count > EV_N_MAX ||
		    !proto_ok(events[i].proto)) {
			ret = NP_EINVAL;
			goto fail;
		}
		json_t *e = event_json(&events[i]);
		if (e == NULL) {
			/* Bad family or kind, or a non-UTF-8 credential. */
			ret = NP_EINVAL;
			goto fail;
		}
		if (json_array_append_new(arr, e) != 0)
			goto fail;
	}
	root = json_pack("{s:s, s:o}", "batch", id, "events", arr);
	arr = NULL; /* "o" steals it, even on failure */
	if (root == NULL)
		goto fail;
	*out = json_dumps(root, JSON_COMPACT);
	if (*out == NULL)
		goto fail;
	*len = strlen(*out);
	ret = NP_OK;
fail:
	json_decref(arr);
	json_decref(root);
	return ret;
}

/* Parses one event object into e; false with a reason in why. */
static bool event_parse(json_t *o, struct obs_event *e, const char **why)
{
	const char *key;
	json_t *v;
	bool have_src = false, have_t = false, have_kind = false;
	memset(e, 0, sizeof(*e));
	if (!json_is_object(o)) {
		*why = "not an object";
		return false;
	}
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "src") == 0) {
			if (!json_is_string(v) || addr_parse(json_string_value(v), &e->src) != 0) {
				*why = "bad src";
				return false;
			}
			addr_unmap(&e->src); /* a dual-stack listener reports IPv4 peers mapped */
			have_src = true;
		} else if (strcmp(key, "t") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > TIME_MAX) {
				*why = "bad t";
				return false;
			}
			e->time = (int64_t)json_integer_value(v);
			have_t = true;
		} else if (strcmp(key, "kind") == 0) {
			int k = json_is_string(v) ? obs_kind_from_name(json_string_value(v)) : -1;
			if (k < 0) {
				*why = "bad kind";
				return false;
			}
			e->kind = (enum obs_kind)k;
			have_kind = true;
		} else if (strcmp(key, "proto") == 0) {
			if (!json_is_integer(v) || !proto_ok(json_integer_value(v))) {
				*why = "bad proto";
				return false;
			}
			e->proto = (uint8_t)json_integer_value(v);
		} else if (strcmp(key, "port") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 65535) {
				*why = "bad port";
				return false;
			}
			e->dst_port = (uint16_t)json_integer_value(v);
		} else if (strcmp(key, "n") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > EV_N_MAX) {
				*why = "bad n";
				return false;
			}
			e->count = (uint32_t)json_integer_value(v);
		} else if (strcmp(key, "user") == 0 || strcmp(key, "pass") == 0) {
			char *dst = key[0] == 'u' ? e->user : e->pass;
			if (!json_is_string(v) ||
			    !cred_str_ok(json_string_value(v), json_string_length(v))) {
				*why = key[0] == 'u' ? "bad user" : "bad pass";
				return false;
			}
			memcpy(dst, json_string_value(v), json_string_length(v));
		} else {
			*why = "unknown key";
			return false;
		}
	}
	if (!have_src || !have_t || !have_kind) {
		*why = !have_src ? "missing src" : !have_t ? "missing t" : "missing kind";
		return false;
	}
	return true;
}

int obs_batch_decode(const char *buf, size_t len, char id[OBS_BATCH_ID_MAX + 1],
                     struct obs_event **events, size_t *n, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = NULL;
	struct obs_event *ev = NULL;
	const char *key;
	json_t *v, *arr = NULL;
	bool have_id = false;
	int ret = NP_EINVAL;

	*events = NULL;
	*n = 0;
	id[0] = '\0';
	if (errlen > 0)
		err[0] = '\0';
	if (len > OBS_BATCH_MAX_BYTES) {
		snprintf(err, errlen, "batch larger than %u bytes", OBS_BATCH_MAX_BYTES);
		return NP_EINVAL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
		goto fail;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		goto fail;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "batch") == 0) {
			if (!json_is_string(v) ||
			    json_string_length(v) != strlen(json_string_value(v)) ||
			    !id_ok(json_string_value(v))) {
				snprintf(err, errlen, "bad batch id");
				goto fail;
			}
			np_strlcpy(id, json_string_value(v), OBS_BATCH_ID_MAX + 1);
			have_id = true;
		} else if (strcmp(key, "events") == 0) {
			if (!json_is_array(v)) {
				snprintf(err, errlen, "events is not an array");
				goto fail;
			}
			arr = v;
		} else {
			snprintf(err, errlen, "unknown key");
			goto fail;
		}
	}
	if (!have_id || arr == NULL) {
		snprintf(err, errlen, "%s", !have_id ? "missing batch" : "missing events");
		goto fail;
	}
	size_t cnt = json_array_size(arr);
	if (cnt > OBS_BATCH_MAX_EVENTS) {
		snprintf(err, errlen, "more than %d events", OBS_BATCH_MAX_EVENTS);
		goto fail;
	}
	if (cnt > 0) {
		ev = calloc(cnt, sizeof(*ev));
		if (ev == NULL) {
			ret = NP_ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	for (size_t i = 0; i < cnt; i++) {
		const char *why = "bad";
		if (!event_parse(json_array_get(arr, i), &ev[i], &why)) {
			snprintf(err, errlen, "event %zu: %s", i, why);
			goto fail;
		}
	}
	*events = ev;
	*n = cnt;
	ev = NULL;
	ret = NP_OK;
fail:
	if (ret != NP_OK)
		id[0] = '\0';
	free(ev);
	json_decref(root);
	return ret;
}

/* ---- binary address records ---- */

/* A growable output buffer with a sticky error. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void w_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->err != 0)
		return;
	if (w->len + n > w->cap) {
		size_t ncap = w->cap == 0 ? 128 : w->cap;
		while (ncap < w->len + n)
			ncap *= 2;
		uint8_t *q = realloc(w->p, ncap);
		if (q == NULL) {
			w->err = NP_ENOMEM;
			return;
		}
		w->p = q;
		w->cap = ncap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void w_uint(struct wbuf *w, uint64_t v, size_t n)
{
	uint8_t b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	w_bytes(w, b, n);
}

static void w_u8(struct wbuf *w, uint8_t v)
{
	w_uint(w, v, 1);
}
static void w_u16(struct wbuf *w, uint16_t v)
{
	w_uint(w, v, 2);
}
static void w_u32(struct wbuf *w, uint32_t v)
{
	w_uint(w, v, 4);
}
static void w_i64(struct wbuf *w, int64_t v)
{
	w_uint(w, (uint64_t)v, 8);
}

static void w_str(struct wbuf *w, const char *s)
{
	size_t n = strnlen(s, STR_MAX);
	w_bytes(w, s, n);
	w_u8(w, 0);
}

/* What both encoders require: a known family, the limits, ascending hours. */
static bool record_ok(const struct obs_addr_record *rec)
{
	if ((rec->addr.family != AF_INET && rec->addr.family != AF_INET6) ||
	    rec->n_buckets > OBS_MAX_BUCKETS || rec->n_creds > OBS_MAX_CREDS)
		return false;
	for (size_t i = 0; i < rec->n_buckets; i++) {
		const struct obs_bucket *b = &rec->buckets[i];
		if (b->hour < 0 || (i > 0 && b->hour <= rec->buckets[i - 1].hour) ||
		    b->n_ports > OBS_BUCKET_PORTS)
			return false;
	}
	return true;
}

int obs_record_encode(const struct obs_addr_record *rec, uint8_t **out, size_t *len)
{
	struct wbuf w = {0};
	*out = NULL;
	*len = 0;
	if (!record_ok(rec))
		return NP_EINVAL;
	w_u8(&w, REC_VERSION);
	bool v6 = rec->addr.family == AF_INET6;
	w_u8(&w, v6 ? 6 : 4);
	w_bytes(&w, rec->addr.bytes, v6 ? 8 : 4);
	w_i64(&w, rec->first_seen);
	w_i64(&w, rec->last_seen);
	w_u16(&w, (uint16_t)rec->n_buckets);
	w_u8(&w, (uint8_t)rec->n_creds);
	for (size_t i = 0; i < rec->n_buckets; i++) {
		const struct obs_bucket *b = &rec->buckets[i];
		w_uint(&w, (uint32_t)b->hour, 4);
		w_u16(&w, b->first_off);
		w_u16(&w, b->last_off);
		uint16_t mask = 0;
		for (unsigned k = 0; k < OBS_KIND_COUNT; k++)
			if (b->count[k] != 0)
				mask |= (uint16_t)(1u << k);
		w_u16(&w, mask);
		for (unsigned k = 0; k < OBS_KIND_COUNT; k++)
			if (b->count[k] != 0)
				w_u32(&w, b->count[k]);
		uint8_t extra = (uint8_t)((b->iot_port_hits ? EXTRA_IOT : 0) |
		                          (b->default_creds ? EXTRA_DEFAULT : 0) |
		                          (b->other_ports ? EXTRA_OTHER : 0));
		w_u8(&w, extra);
		if (b->iot_port_hits)
			w_u32(&w, b->iot_port_hits);
		if (b->default_creds)
			w_u32(&w, b->default_creds);
		if (b->other_ports)
			w_u32(&w, b->other_ports);
		w_u8(&w, b->n_ports);
		for (size_t p = 0; p < b->n_ports; p++) {
			w_u16(&w, b->ports[p].port);
			w_u16(&w, b->ports[p].count);
		}
	}
	for (size_t i = 0; i < rec->n_creds; i++) {
		const struct obs_cred *c = &rec->creds[i];
		w_str(&w, c->user);
		w_str(&w, c->pass);
		w_u8(&w, c->is_default ? 1 : 0);
		w_u32(&w, c->count);
		w_i64(&w, c->first);
		w_i64(&w, c->last);
	}
	if (w.err != 0) {
		free(w.p);
		return w.err;
	}
	*out = w.p;
	*len = w.len;
	return NP_OK;
}

/* Writes v as a varint at p; returns the bytes written (1 .. VARINT_MAX). */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t obs_record_compact_bound(const struct obs_addr_record *rec)
{
	/* header: version, family, address, 2 times, n_buckets, n_creds */
	size_t per_bucket =
	    4 * VARINT_MAX + OBS_KIND_COUNT * 5 + 1 + 3 * 5 + 1 + OBS_BUCKET_PORTS * 2 * 3;
	size_t per_cred = 2 * (STR_MAX + 1) + 1 + 5 + 2 * VARINT_MAX;
	return 2 + 8 + 2 * VARINT_MAX + 3 + 1 + rec->n_buckets * per_bucket +
	       rec->n_creds * per_cred;
}

int obs_record_encode_compact(const struct obs_addr_record *rec, uint8_t *out, size_t *len)
{
	*len = 0;
	if (!record_ok(rec))
		return NP_EINVAL;
	uint8_t *p = out;
	bool v6 = rec->addr.family == AF_INET6;
	*p++ = REC_COMPACT;
	*p++ = v6 ? 6 : 4;
	memcpy(p, rec->addr.bytes, v6 ? 8 : 4);
	p += v6 ? 8 : 4;
	p += put_varint(p, (uint64_t)rec->first_seen);
	p += put_varint(p, (uint64_t)rec->last_seen - (uint64_t)rec->first_seen);
	p += put_varint(p, rec->n_buckets);
	*p++ = (uint8_t)rec->n_creds;
	for (size_t i = 0; i < rec->n_buckets; i++) {
		const struct obs_bucket *b = &rec->buckets[i];
		uint32_t h = (uint32_t)b->hour;
		p += put_varint(p, i == 0 ? h : h - (uint32_t)rec->buckets[i - 1].hour - 1);
		p += put_varint(p, (uint16_t)(b->first_off + 1));
		p += put_varint(p, b->last_off);
		unsigned mask = 0;
		for (unsigned k = 0; k < OBS_KIND_COUNT; k++)
			if (b->count[k] != 0)
				mask |= 1u << k;
		p += put_varint(p, mask);
		for (unsigned k = 0; k < OBS_KIND_COUNT; k++)
			if (b->count[k] != 0)
				p += put_varint(p, b->count[k]);
		uint8_t extra = (uint8_t)((b->iot_port_hits ? EXTRA_IOT : 0) |
		                          (b->default_creds ? EXTRA_DEFAULT : 0) |
		                          (b->other_ports ? EXTRA_OTHER : 0));
		*p++ = extra;
		if (b->iot_port_hits)
			p += put_varint(p, b->iot_port_hits);
		if (b->default_creds)
			p += put_varint(p, b->default_creds);
		if (b->other_ports)
			p += put_varint(p, b->other_ports);
		*p++ = b->n_ports;
		for (size_t k = 0; k < b->n_ports; k++) {
			p += put_varint(p, b->ports[k].port);
			p += put_varint(p, b->ports[k].count);
		}
	}
	for (size_t i = 0; i < rec->n_creds; i++) {
		const struct obs_cred *c = &rec->creds[i];
		size_t ul = strnlen(c->user, STR_MAX), pl = strnlen(c->pass, STR_MAX);
		memcpy(p, c->user, ul);
		p += ul;
		*p++ = 0;
		memcpy(p, c->pass, pl);
		p += pl;
		*p++ = 0;
		*p++ = c->is_default ? 1 : 0;
		p += put_varint(p, c->count);
		p += put_varint(p, (uint64_t)c->first);
		p += put_varint(p, (uint64_t)c->last);
	}
	*len = (size_t)(p - out);
	return NP_OK;
}

/* A reading cursor with a sticky error: every read is checked, the caller looks once. */
struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool err;
};

static uint64_t r_uint(struct rbuf *r, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = true;
		return 0;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += n;
	return v;
}

/* An unsigned LEB128 varint of at most VARINT_MAX bytes. */
static uint64_t r_varint(struct rbuf *r)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < VARINT_MAX && !r->err; i++) {
		if (r->off >= r->len)
			break;
		uint8_t b = r->p[r->off++];
		if (i == VARINT_MAX - 1 && b > 1)
			break; /* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0)
			return v;
	}
	r->err = true;
	return 0;
}

/* A field of n bytes (1, 2, 4 or 8): fixed in version 1, a varint in version 2 that must
 * fit in n bytes. */
static uint64_t r_field(struct rbuf *r, bool v2, size_t n)
{
	if (!v2)
		return r_uint(r, n);
	uint64_t v = r_varint(r);
	if (n < 8 && v >> (8 * n) != 0) {
		r->err = true;
		return 0;
	}
	return v;
}

static uint8_t r_u8(struct rbuf *r)
{
	return (uint8_t)r_uint(r, 1);
}

/* A NUL-terminated string of at most STR_MAX bytes into dst[STR_MAX + 1]. */
static void r_str(struct rbuf *r, char *dst)
{
	if (r->err)
		return;
	size_t avail = r->len - r->off, max = avail < STR_MAX + 1 ? avail : STR_MAX + 1;
	const uint8_t *nul = memchr(r->p + r->off, 0, max);
	if (nul == NULL) {
		r->err = true;
		return;
	}
	size_t n = (size_t)(nul - (r->p + r->off));
	memcpy(dst, r->p + r->off, n);
	dst[n] = '\0';
	r->off += n + 1;
}

int obs_record_decode(const uint8_t *buf, size_t len, struct obs_record_buf *out)
{
	struct rbuf r = {.p = buf, .len = len};
	memset(out, 0, sizeof(*out));
	uint8_t version = r_u8(&r);
	if (version != REC_VERSION && version != REC_COMPACT)
		return NP_EINVAL;
	bool v2 = version == REC_COMPACT;
	uint8_t fam = r_u8(&r);
	if (r.err || (fam != 4 && fam != 6))
		return NP_EINVAL;
	struct obs_addr_record *rec = &out->rec;
	rec->addr.family = fam == 6 ? AF_INET6 : AF_INET;
	for (size_t i = 0; i < (fam == 6 ? 8u : 4u); i++)
		rec->addr.bytes[i] = r_u8(&r);
	rec->first_seen = (int64_t)r_field(&r, v2, 8);
	rec->last_seen = (int64_t)r_field(&r, v2, 8);
	if (v2)
		rec->last_seen = (int64_t)((uint64_t)rec->first_seen + (uint64_t)rec->last_seen);
	size_t nb = (size_t)r_field(&r, v2, 2), nc = r_u8(&r);
	if (r.err || nb > OBS_MAX_BUCKETS || nc > OBS_MAX_CREDS)
		return NP_EINVAL;
	/* Each bucket takes at least 12 bytes (6 in version 2): refuse a count the buffer
	 * cannot hold before allocating for it. */
	if (nb > (len - r.off) / (v2 ? 6 : 12))
		return NP_EINVAL;
	if (nb > 0) {
		out->buckets = calloc(nb, sizeof(*out->buckets));
		if (out->buckets == NULL)
			return NP_ENOMEM;
	}
	for (size_t i = 0; i < nb && !r.err; i++) {
		struct obs_bucket *b = &out->buckets[i];
		uint64_t hour = r_field(&r, v2, 4);
		if (v2 && i > 0)
			hour += (uint64_t)out->buckets[i - 1].hour + 1;
		if (hour > INT32_MAX)
			goto bad;
		b->hour = (int32_t)hour;
		b->first_off = (uint16_t)r_field(&r, v2, 2);
		if (v2)
			b->first_off = (uint16_t)(b->first_off - 1); /* 0 (none) becomes 0xffff */
		b->last_off = (uint16_t)r_field(&r, v2, 2);
		uint16_t mask = (uint16_t)r_field(&r, v2, 2);
		if (b->hour < 0 || (i > 0 && b->hour <= out->buckets[i - 1].hour) ||
		    (mask >> OBS_KIND_COUNT) != 0)
			goto bad;
		if (b->first_off == UINT16_MAX
		        ? b->last_off != 0
		        : (b->first_off > b->last_off || b->last_off >= HOUR))
			goto bad;
		for (unsigned k = 0; k < OBS_KIND_COUNT; k++)
			if (mask & (1u << k))
				b->count[k] = (uint32_t)r_field(&r, v2, 4);
		uint8_t extra = r_u8(&r);
		if (extra & ~(EXTRA_IOT | EXTRA_DEFAULT | EXTRA_OTHER))
			goto bad;
		if (extra & EXTRA_IOT)
			b->iot_port_hits = (uint32_t)r_field(&r, v2, 4);
		if (extra & EXTRA_DEFAULT)
			b->default_creds = (uint32_t)r_field(&r, v2, 4);
		if (extra & EXTRA_OTHER)
			b->other_ports = (uint32_t)r_field(&r, v2, 4);
		b->n_ports = r_u8(&r);
		if (b->n_ports > OBS_BUCKET_PORTS)
			goto bad;
		for (size_t p = 0; p < b->n_ports; p++) {
			b->ports[p].port = (uint16_t)r_field(&r, v2, 2);
			b->ports[p].count = (uint16_t)r_field(&r, v2, 2);
			for (size_t q = 0; q < p; q++)
				if (b->ports[q].port == b->ports[p].port)
					goto bad;
		}
	}
	for (size_t i = 0; i < nc && !r.err; i++) {
		struct obs_cred *c = &out->creds[i];
		r_str(&r, c->user);
		r_str(&r, c->pass);
		uint8_t def = r_u8(&r);
		c->count = (uint32_t)r_field(&r, v2, 4);
		c->first = (int64_t)r_field(&r, v2, 8);
		c->last = (int64_t)r_field(&r, v2, 8);
		if (def > 1 || c->first > c->last)
			goto bad;
		c->is_default = def == 1;
	}
	if (r.err || r.off != len)
		goto bad;
	rec->buckets = out->buckets;
	rec->n_buckets = nb;
	rec->creds = out->creds;
	rec->n_creds = nc;
	return NP_OK;
bad:
	obs_record_buf_free(out);
	return NP_EINVAL;
}

void obs_record_buf_free(struct obs_record_buf *b)
{
	if (b == NULL)
		return;
	free(b->buckets);
	memset(b, 0, sizeof(*b));
}

size_t obs_record_key(const struct np_addr *a, uint8_t out[8])
{
	size_t n = a->family == AF_INET6 ? 8 : 4;
	memcpy(out, a->bytes, n);
	return n;
}

/* ---- verdict JSON ---- */

/* A JSON string of s; bytes that do not make valid UTF-8 (a credential cut at 32 bytes
 * inside a character, or Latin-1 from a honeypot) become '?'. */
static json_t *safe_string(const char *s)
{
	json_t *j = json_string(s);
	if (j != NULL)
		return j;
	char tmp[STR_MAX + 1];
	size_t n = strnlen(s, STR_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		tmp[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	tmp[n] = '\0';
	return json_string(tmp);
}

static json_t *time_or_null(int64_t t)
{
	return t == 0 ? json_null() : json_integer(t);
}

json_t *obs_verdict_json(const struct np_addr *a, const struct obs_verdict *v)
{
	char abuf[INET6_ADDRSTRLEN + 4];
	struct np_addr key = *a;
	if (key.family == AF_INET6) {
		addr_network(&key, 32, 64);
		addr_format(&key, abuf, INET6_ADDRSTRLEN);
		size_t n = strlen(abuf);
		memcpy(abuf + n, "/64", 4);
	} else {
		addr_format(&key, abuf, sizeof(abuf));
	}
	json_t *rules = json_array(), *ports = json_array(), *creds = json_array(),
	       *kinds = json_object();
	json_t *root = NULL;
	if (rules == NULL || ports == NULL || creds == NULL || kinds == NULL)
		goto fail;
	int r = 0;
	for (unsigned bit = 1; bit <= OBS_RULE_FEW_SIGNS; bit <<= 1)
		if (v->rules & bit)
			r |= json_array_append_new(rules,
			                           json_string(obs_rule_name((enum obs_rule)bit)));
	for (size_t i = 0; i < v->n_ports && i < OBS_VERDICT_PORTS; i++)
		r |=
		    json_array_append_new(ports, json_pack("{s:i, s:I}", "port", v->ports[i].port,
		                                           "count", (json_int_t)v->ports[i].count));
	for (size_t i = 0; i < v->n_creds && i < OBS_MAX_CREDS; i++) {
		const struct obs_cred *c = &v->creds[i];
		r |= json_array_append_new(
		    creds, json_pack("{s:o, s:o, s:I, s:b, s:I, s:I}", "user", safe_string(c->user),
		                     "pass", safe_string(c->pass), "count", (json_int_t)c->count,
		                     "default", c->is_default, "first", (json_int_t)c->first,
		                     "last", (json_int_t)c->last));
	}
	for (unsigned k = 0; k < OBS_KIND_COUNT; k++)
		r |= json_object_set_new(kinds, obs_kind_name((enum obs_kind)k),
		                         json_integer((json_int_t)v->kind_count[k]));
	if (r != 0)
		goto fail;
	json_t *evidence = json_pack(
	    "{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:o}", "first_seen",
	    time_or_null(v->first_seen), "last_seen", time_or_null(v->last_seen), "packets",
	    (json_int_t)v->packets, "fingerprint_hits", (json_int_t)v->fingerprint_hits,
	    "login_attempts", (json_int_t)v->login_attempts, "downloads", (json_int_t)v->downloads,
	    "iot_port_hits", (json_int_t)v->iot_port_hits, "default_credentials",
	    (json_int_t)v->default_cred_hits, "ports", ports, "other_ports",
	    (json_int_t)v->other_ports, "credentials", creds, "kinds", kinds);
	ports = creds = kinds = NULL; /* "o" stole them */
	if (evidence == NULL)
		goto fail;
	root = json_pack("{s:s, s:s, s:s, s:o, s:{s:I, s:I}, s:o}", "address", abuf, "verdict",
	                 obs_verdict_name(v->verdict), "rule", obs_rule_name(v->rule), "rules",
	                 rules, "window", "start", (json_int_t)v->window_start, "end",
	                 (json_int_t)v->window_end, "evidence", evidence);
	rules = NULL;
	return root;
fail:
	json_decref(rules);
	json_decref(ports);
	json_decref(creds);
	json_decref(kinds);
	return NULL;
}
