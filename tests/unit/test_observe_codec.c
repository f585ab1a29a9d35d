/* SPDX-License-Identifier: MIT */
/* Unit tests for the observation codec: batch JSON round trip and strict refusals, the
 * binary address record (round trip, every damaged form refused), record keys, and the
 * verdict JSON the check pages show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>

#include "common/macros.h"
#include "common/str.h"
#include "observe/codec.h"

#define T0 ((int64_t)472222 * 3600)

static struct np_addr A(const char *s) {
	struct np_addr a;
	assert_int_equal(addr_parse(s, &a), 0);
	return a;
}

static struct obs_event
ev(const char *src, int64_t t, enum obs_kind k, uint8_t proto, uint16_t port, uint32_t n,
   const char *user, const char *pass)
{
	struct obs_event e;
	memset(&e, 0, sizeof(e));
	e.src = A(src);
	e.time = t;
	e.kind = k;
	e.proto = proto;
	e.dst_port = port;
	e.count = n;
	if (user != NULL) {
		np_strlcpy(e.user, user, sizeof(e.user));
		np_strlcpy(e.pass, pass, sizeof(e.pass));
	}
	return e;
}

static void test_kind_names(void **state)
{
	(void)state;
	for (int k = 0; k < OBS_KIND_COUNT; k++)
		assert_int_equal(obs_kind_from_name(obs_kind_name((enum obs_kind)k)), k);
	assert_int_equal(obs_kind_from_name("unknown"), -1);
	assert_int_equal(obs_kind_from_name("MIRAI_SYN"), -1);
	assert_int_equal(obs_kind_from_name(NULL), -1);
}

static void test_batch_round_trip(void **state)
{
	(void)state;
	struct obs_event in[] = {
	    ev("192.0.2.7", T0, OBS_MIRAI_SYN, 6, 23, 0, NULL, NULL),
	    ev("2001:db8::1", T0 + 1, OBS_SCAN, 17, 5555, 12, NULL, NULL),
	    ev("198.51.100.9", T0 + 2, OBS_LOGIN, 6, 2323, 1, "root", "xc3511"),
	    ev("198.51.100.9", T0 + 3, OBS_LOGIN, 6, 23, 3, "0123456789abcdef0123456789abcdef", ""),
	    ev("203.0.113.1", 0, OBS_BACKSCATTER, 1, 0, 1000000, NULL, NULL),
	    ev("203.0.113.2", T0, OBS_HTTP_EXPLOIT, 58, 65535, 0, "ü", "pass word"),
	};
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(obs_batch_encode("sensor-1.2024_11", in, ARRAY_SIZE(in), &buf, &len), 0);
	assert_int_equal(strlen(buf), len);
	char id[OBS_BATCH_ID_MAX + 1], err[128];
	struct obs_event *out = NULL;
	size_t n = 0;
	assert_int_equal(obs_batch_decode(buf, len, id, &out, &n, err, sizeof(err)), 0);
	assert_string_equal(id, "sensor-1.2024_11");
	assert_int_equal(n, ARRAY_SIZE(in));
	for (size_t i = 0; i < n; i++) {
		assert_true(addr_equal(&out[i].src, &in[i].src));
		assert_int_equal(out[i].time, in[i].time);
		assert_int_equal(out[i].kind, in[i].kind);
		assert_int_equal(out[i].proto, in[i].proto);
		assert_int_equal(out[i].dst_port, in[i].dst_port);
		assert_int_equal(out[i].count, in[i].count);
		assert_string_equal(out[i].user, in[i].user);
		assert_string_equal(out[i].pass, in[i].pass);
	}
	free(out);
	free(buf);

	/* Empty batch. */
	assert_int_equal(obs_batch_encode("x", NULL, 0, &buf, &len), 0);
	assert_int_equal(obs_batch_decode(buf, len, id, &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(out);
	free(buf);

	/* Bad ids and sizes are refused by the encoder. */
	assert_int_equal(obs_batch_encode("", in, 1, &buf, &len), NP_EINVAL);
	assert_int_equal(obs_batch_encode("a b", in, 1, &buf, &len), NP_EINVAL);
	char longid[OBS_BATCH_ID_MAX + 2];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(obs_batch_encode(longid, in, 1, &buf, &len), NP_EINVAL);
	longid[OBS_BATCH_ID_MAX] = '\0';
	assert_int_equal(obs_batch_encode(longid, in, 1, &buf, &len), 0);
	free(buf);
	assert_int_equal(obs_batch_encode("x", in, OBS_BATCH_MAX_EVENTS + 1, &buf, &len),
	                 NP_EINVAL);
	struct obs_event bad = in[0];
	bad.user[0] = '\n';
	assert_int_equal(obs_batch_encode("x", &bad, 1, &buf, &len), NP_EINVAL);
}

/* A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d: such a source is IPv4, so it
 * meets the IPv4 requester in the index instead of pooling under ::/64. */
static void test_batch_mapped_source(void **state)
{
	(void)state;
	static const char text[] = "{\"batch\":\"m1\",\"events\":["
	                           "{\"src\":\"::ffff:192.0.2.7\",\"t\":5,\"kind\":\"mirai_syn\"},"
	                           "{\"src\":\"::FFFF:c000:0208\",\"t\":6,\"kind\":\"scan\"},"
	                           "{\"src\":\"::ffff:0:192.0.2.9\",\"t\":7,\"kind\":\"scan\"},"
	                           "{\"src\":\"::192.0.2.10\",\"t\":8,\"kind\":\"scan\"}]}";
	char id[OBS_BATCH_ID_MAX + 1], err[128];
	struct obs_event *out = NULL;
	size_t n = 0;
	assert_int_equal(obs_batch_decode(text, strlen(text), id, &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	struct np_addr v4a = A("192.0.2.7"), v4b = A("192.0.2.8");
	assert_int_equal(out[0].src.family, AF_INET);
	assert_true(addr_equal(&out[0].src, &v4a));
	assert_int_equal(out[1].src.family, AF_INET);
	assert_true(addr_equal(&out[1].src, &v4b));
	/* Only ::ffff:0:0/96 is mapped: SIIT (::ffff:0:0:0/96) and the deprecated
	 * IPv4-compatible form stay IPv6. */
	assert_int_equal(out[2].src.family, AF_INET6);
	assert_int_equal(out[3].src.family, AF_INET6);

	/* The encoder writes the IPv4 form, so the round trip is stable. */
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(obs_batch_encode(id, out, n, &buf, &len), 0);
	assert_non_null(strstr(buf, "\"src\":\"192.0.2.7\""));
	assert_null(strstr(buf, "::ffff:192.0.2.7"));
	free(buf);
	free(out);

	/* One helper does it everywhere (sockets, proxies, Cowrie logs, batches). */
	struct np_addr a = A("::ffff:10.1.2.3"), want = A("10.1.2.3");
	addr_unmap(&a);
	assert_true(addr_equal(&a, &want));
	struct np_addr v6 = A("2001:db8::ffff:a01:203"), v6copy = v6;
	addr_unmap(&v6);
	assert_true(addr_equal(&v6, &v6copy));
	struct np_addr v4copy = want;
	addr_unmap(&want);
	assert_true(addr_equal(&want, &v4copy));
}

/* Decodes text and expects a refusal whose message contains want. */
static void refused(const char *text, const char *want)
{
	char id[OBS_BATCH_ID_MAX + 1], err[128];
	struct obs_event *out = (struct obs_event *)1;
	size_t n = 99;
	int r = obs_batch_decode(text, strlen(text), id, &out, &n, err, sizeof(err));
	if (r != NP_EINVAL || strstr(err, want) == NULL)
		fail_msg("'%s': got %d '%s', want '%s'", text, r, err, want);
	assert_null(out);
	assert_int_equal(n, 0);
}

#define EV(x)                                                                                      \
	"{\"batch\":\"b1\",\"events\":[{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"scan\"}," x "]}"

static void test_batch_strict(void **state)
{
	(void)state;
	refused("", "not JSON");
	refused("[]", "not a JSON object");
	refused("{\"batch\":\"b1\"}", "missing events");
	refused("{\"events\":[]}", "missing batch");
	refused("{\"batch\":\"b 1\",\"events\":[]}", "bad batch id");
	refused("{\"batch\":\"b1\",\"events\":[],\"x\":1}", "unknown key");
	refused("{\"batch\":\"b1\",\"batch\":\"b2\",\"events\":[]}", "not JSON");
	refused("{\"batch\":\"b1\",\"events\":{}}", "events is not an array");
	refused(EV("3"), "event 1: not an object");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5}"), "event 1: missing kind");
	refused(EV("{\"t\":5,\"kind\":\"scan\"}"), "event 1: missing src");
	refused(EV("{\"src\":\"192.0.2.1\",\"kind\":\"scan\"}"), "event 1: missing t");
	refused(EV("{\"src\":\"192.0.2.01\",\"t\":5,\"kind\":\"scan\"}"), "event 1: bad src");
	refused(EV("{\"src\":\"example.com\",\"t\":5,\"kind\":\"scan\"}"), "event 1: bad src");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":-1,\"kind\":\"scan\"}"), "event 1: bad t");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":1.5,\"kind\":\"scan\"}"), "event 1: bad t");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":\"5\",\"kind\":\"scan\"}"), "event 1: bad t");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"worm\"}"), "event 1: bad kind");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"scan\",\"proto\":2}"),
	        "event 1: bad proto");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"scan\",\"port\":65536}"),
	        "event 1: bad port");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"scan\",\"port\":-1}"),
	        "event 1: bad port");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"scan\",\"n\":1000001}"),
	        "event 1: bad n");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"login\",\"user\":"
	           "\"0123456789abcdef0123456789abcdefX\"}"),
	        "event 1: bad user");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"login\",\"pass\":\"a\\tb\"}"),
	        "event 1: bad pass");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"login\",\"pass\":\"a\\u0000b\"}"),
	        "not JSON");
	refused(EV("{\"src\":\"192.0.2.1\",\"t\":5,\"kind\":\"scan\",\"why\":1}"),
	        "event 1: unknown key");

	/* More than the maximum number of events. */
	size_t cap = 64 + (size_t)(OBS_BATCH_MAX_EVENTS + 1) * 3;
	char *big = malloc(cap);
	assert_non_null(big);
	size_t off = (size_t)snprintf(big, cap, "{\"batch\":\"b\",\"events\":[");
	for (int i = 0; i <= OBS_BATCH_MAX_EVENTS; i++)
		off += (size_t)snprintf(big + off, cap - off, "%s{}", i ? "," : "");
	snprintf(big + off, cap - off, "]}");
	refused(big, "more than");
	free(big);
}

static struct obs_bucket bucket(int32_t hour, uint16_t first, uint16_t last)
{
	struct obs_bucket b;
	memset(&b, 0, sizeof(b));
	b.hour = hour;
	b.first_off = first;
	b.last_off = last;
	return b;
}

static void assert_record_equal(const struct obs_addr_record *a, const struct obs_addr_record *b)
{
	assert_true(addr_equal(&a->addr, &b->addr));
	assert_int_equal(a->first_seen, b->first_seen);
	assert_int_equal(a->last_seen, b->last_seen);
	assert_int_equal(a->n_buckets, b->n_buckets);
	assert_int_equal(a->n_creds, b->n_creds);
	for (size_t i = 0; i < a->n_buckets; i++)
		assert_memory_equal(&a->buckets[i], &b->buckets[i], sizeof(a->buckets[i]));
	for (size_t i = 0; i < a->n_creds; i++) {
		assert_string_equal(a->creds[i].user, b->creds[i].user);
		assert_string_equal(a->creds[i].pass, b->creds[i].pass);
		assert_int_equal(a->creds[i].is_default, b->creds[i].is_default);
		assert_int_equal(a->creds[i].count, b->creds[i].count);
		assert_int_equal(a->creds[i].first, b->creds[i].first);
		assert_int_equal(a->creds[i].last, b->creds[i].last);
	}
}

/* A record with every field set: 3 buckets (one without evidence), 2 credentials. */
struct sample {
	struct obs_bucket b[3];
	struct obs_cred c[2];
	struct obs_addr_record rec;
};

static void sample_init(struct sample *s, const char *addr)
{
	memset(s, 0, sizeof(*s));
	int32_t h = (int32_t)(T0 / 3600);
	s->b[0] = bucket(h - 5, 10, 3599);
	s->b[0].count[OBS_MIRAI_SYN] = 7;
	s->b[0].count[OBS_BACKSCATTER] = UINT32_MAX;
	s->b[0].iot_port_hits = 7;
	s->b[0].n_ports = 2;
	s->b[0].ports[0].port = 23;
	s->b[0].ports[0].count = 6;
	s->b[0].ports[1].port = 2323;
	s->b[0].ports[1].count = 1;
	s->b[1] = bucket(h - 1, UINT16_MAX, 0);
	s->b[1].count[OBS_RESEARCH] = 3;
	s->b[2] = bucket(h, 0, 0);
	for (int k = 0; k < OBS_KIND_COUNT; k++)
		s->b[2].count[k] = (uint32_t)k + 1;
	s->b[2].default_creds = 2;
	s->b[2].other_ports = 9;
	s->b[2].iot_port_hits = 1;
	s->b[2].n_ports = OBS_BUCKET_PORTS;
	for (int p = 0; p < OBS_BUCKET_PORTS; p++) {
		s->b[2].ports[p].port = (uint16_t)(1000 + p);
		s->b[2].ports[p].count = UINT16_MAX;
	}
	np_strlcpy(s->c[0].user, "root", sizeof(s->c[0].user));
	np_strlcpy(s->c[0].pass, "xc3511", sizeof(s->c[0].pass));
	s->c[0].is_default = true;
	s->c[0].count = 2;
	s->c[0].first = T0 - 10;
	s->c[0].last = T0;
	memset(s->c[1].user, 'u', 32);
	s->c[1].count = 1;
	s->c[1].first = s->c[1].last = T0;
	s->rec.addr = A(addr);
	s->rec.first_seen = T0 - 5 * 3600 + 10;
	s->rec.last_seen = T0;
	s->rec.buckets = s->b;
	s->rec.n_buckets = 3;
	s->rec.creds = s->c;
	s->rec.n_creds = 2;
}

static void test_record_round_trip(void **state)
{
	(void)state;
	const char *addrs[] = {"198.51.100.7", "2001:db8:1:2::"};
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct sample s;
		sample_init(&s, addrs[i]);
		uint8_t *buf;
		size_t len;
		assert_int_equal(obs_record_encode(&s.rec, &buf, &len), 0);
		struct obs_record_buf rb;
		assert_int_equal(obs_record_decode(buf, len, &rb), 0);
		assert_record_equal(&s.rec, &rb.rec);
		obs_record_buf_free(&rb);

		/* Every shorter prefix and any extra byte is refused. */
		for (size_t cut = 0; cut < len; cut++)
			assert_int_equal(obs_record_decode(buf, cut, &rb), NP_EINVAL);
		uint8_t *more = malloc(len + 1);
		assert_non_null(more);
		memcpy(more, buf, len);
		more[len] = 0;
		assert_int_equal(obs_record_decode(more, len + 1, &rb), NP_EINVAL);
		free(more);
		free(buf);
	}

	/* An empty record (no buckets, no credentials) is small. */
	struct obs_addr_record e = {.addr = A("192.0.2.1"), .first_seen = 1, .last_seen = 2};
	uint8_t *buf;
	size_t len;
	assert_int_equal(obs_record_encode(&e, &buf, &len), 0);
	assert_int_equal(len, 1 + 1 + 4 + 8 + 8 + 2 + 1);
	struct obs_record_buf rb;
	assert_int_equal(obs_record_decode(buf, len, &rb), 0);
	assert_record_equal(&e, &rb.rec);
	obs_record_buf_free(&rb);
	free(buf);

	/* A typical darknet source (one kind, one port, one hour) takes about 50 bytes. */
	struct obs_bucket b = bucket((int32_t)(T0 / 3600), 5, 5);
	b.count[OBS_MIRAI_SYN] = 1;
	b.iot_port_hits = 1;
	b.n_ports = 1;
	b.ports[0].port = 23;
	b.ports[0].count = 1;
	e.buckets = &b;
	e.n_buckets = 1;
	assert_int_equal(obs_record_encode(&e, &buf, &len), 0);
	assert_int_equal(len, 25 + 24);
	free(buf);

	/* The encoder refuses what it cannot represent. */
	struct sample s;
	sample_init(&s, "192.0.2.1");
	s.b[1].hour = s.b[0].hour; /* not ascending */
	assert_int_equal(obs_record_encode(&s.rec, &buf, &len), NP_EINVAL);
	sample_init(&s, "192.0.2.1");
	s.rec.n_creds = OBS_MAX_CREDS + 1;
	assert_int_equal(obs_record_encode(&s.rec, &buf, &len), NP_EINVAL);
	s.rec.n_creds = 0;
	s.rec.addr.family = AF_UNIX;
	assert_int_equal(obs_record_encode(&s.rec, &buf, &len), NP_EINVAL);
}

/* Encodes the sample, lets damage() change the bytes, expects a refusal. */
static void damaged(void (*damage)(uint8_t *buf, size_t len))
{
	struct sample s;
	sample_init(&s, "198.51.100.7");
	uint8_t *buf;
	size_t len;
	assert_int_equal(obs_record_encode(&s.rec, &buf, &len), 0);
	damage(buf, len);
	struct obs_record_buf rb;
	assert_int_equal(obs_record_decode(buf, len, &rb), NP_EINVAL);
	assert_null(rb.buckets);
	free(buf);
}

/* Offsets in the sample's IPv4 encoding. */
#define OFF_FAMILY 1
#define OFF_NB     (2 + 4 + 16)
#define OFF_NC     (OFF_NB + 2)
#define OFF_B0     (OFF_NC + 1)

static void d_version(uint8_t *b, size_t n)
{
	(void)n;
	b[0] = 2;
}
static void d_family(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_FAMILY] = 5;
}
static void d_many_buckets(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_NB] = (OBS_MAX_BUCKETS + 1) & 0xff;
	b[OFF_NB + 1] = (OBS_MAX_BUCKETS + 1) >> 8;
}
static void d_huge_bucket_count(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_NB] = 0xff; /* 767: fewer bytes follow than that many buckets need */
	b[OFF_NB + 1] = 0x02;
}
static void d_many_creds(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_NC] = OBS_MAX_CREDS + 1;
}
static void d_negative_hour(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_B0 + 3] = 0x80;
}
static void d_offsets(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_B0 + 4] = 0x20; /* first_off 0x0e20 > last_off */
	b[OFF_B0 + 5] = 0x0e;
	b[OFF_B0 + 6] = 0x00;
	b[OFF_B0 + 7] = 0x00;
}
static void d_last_off(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_B0 + 6] = 0x10; /* last_off 3600 */
	b[OFF_B0 + 7] = 0x0e;
}
static void d_kind_mask(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_B0 + 9] |= 0x80; /* a kind bit beyond OBS_KIND_COUNT */
}
static void d_cred_nul(uint8_t *b, size_t n)
{
	/* The second credential's 32-byte user loses its NUL: 33 bytes without one. */
	for (size_t i = n - 1; i > 0; i--) {
		if (b[i] == 0 && b[i - 1] == 'u') {
			b[i] = 'u';
			return;
		}
	}
	fail();
}
static void d_cred_default(uint8_t *b, size_t n)
{
	b[n - 8 - 8 - 4 - 1] = 2; /* is_default of the last credential */
}
static void d_cred_order(uint8_t *b, size_t n)
{
	b[n - 1] = 0x80; /* last < first */
}

static void test_record_damaged(void **state)
{
	(void)state;
	damaged(d_version);
	damaged(d_family);
	damaged(d_many_buckets);
	damaged(d_huge_bucket_count);
	damaged(d_many_creds);
	damaged(d_negative_hour);
	damaged(d_offsets);
	damaged(d_last_off);
	damaged(d_kind_mask);
	damaged(d_cred_nul);
	damaged(d_cred_default);
	damaged(d_cred_order);
	struct obs_record_buf rb;
	assert_int_equal(obs_record_decode(NULL, 0, &rb), NP_EINVAL);
	obs_record_buf_free(NULL);
}

static void test_record_key(void **state)
{
	(void)state;
	uint8_t k[8];
	struct np_addr a = A("198.51.100.7");
	assert_int_equal(obs_record_key(&a, k), 4);
	assert_memory_equal(k, "\xc6\x33\x64\x07", 4);
	a = A("2001:db8:1:2:3:4:5:6");
	assert_int_equal(obs_record_key(&a, k), 8);
	assert_memory_equal(k, "\x20\x01\x0d\xb8\x00\x01\x00\x02", 8);
}

/* Index -> records -> encode -> decode -> load into a second index: same verdict. */
static int copy_cb(const struct obs_addr_record *rec, void *ctx)
{
	uint8_t *buf;
	size_t len;
	struct obs_record_buf rb;
	assert_int_equal(obs_record_encode(rec, &buf, &len), 0);
	assert_int_equal(obs_record_decode(buf, len, &rb), 0);
	assert_int_equal(obs_index_load(ctx, &rb.rec), 0);
	obs_record_buf_free(&rb);
	free(buf);
	return 0;
}

static void test_record_through_index(void **state)
{
	(void)state;
	struct obs_index *a = obs_index_new(10, 0), *b = obs_index_new(10, 0);
	assert_non_null(a);
	assert_non_null(b);
	struct obs_event e[] = {
	    ev("198.51.100.7", T0 - 100, OBS_MIRAI_SYN, 6, 23, 3, NULL, NULL),
	    ev("198.51.100.7", T0 - 4000, OBS_SCAN, 6, 8080, 0, NULL, NULL),
	    ev("198.51.100.7", T0 - 50, OBS_LOGIN, 6, 23, 2, "admin", "admin"),
	    ev("2001:db8::7", T0 - 10, OBS_BACKSCATTER, 6, 80, 0, NULL, NULL),
	};
	for (size_t i = 0; i < ARRAY_SIZE(e); i++)
		assert_int_equal(obs_index_add(a, &e[i]), 0);
	assert_int_equal(obs_index_foreach(a, copy_cb, b), 0);
	const char *addrs[] = {"198.51.100.7", "2001:db8::1"};
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct np_addr x = A(addrs[i]);
		struct obs_verdict va, vb;
		assert_int_equal(obs_index_verdict(a, &x, T0, &va), 0);
		assert_int_equal(obs_index_verdict(b, &x, T0, &vb), 0);
		assert_memory_equal(&va, &vb, sizeof(va));
	}
	obs_index_free(a);
	obs_index_free(b);
}

static void test_verdict_json(void **state)
{
	(void)state;
	struct obs_index *ix = obs_index_new(10, 0);
	assert_non_null(ix);
	struct obs_event e[] = {
	    ev("198.51.100.7", T0 - 100, OBS_MIRAI_SYN, 6, 23, 4, NULL, NULL),
	    ev("198.51.100.7", T0 - 90, OBS_MIRAI_SYN, 6, 2323, 0, NULL, NULL),
	    ev("198.51.100.7", T0 - 80, OBS_LOGIN, 6, 23, 0, "root", "xc3511"),
	    ev("198.51.100.7", T0 - 70, OBS_BACKSCATTER, 6, 80, 2, NULL, NULL),
	    /* A credential cut inside a UTF-8 character. */
	    ev("198.51.100.8", T0 - 70, OBS_LOGIN, 6, 23, 0, "0123456789abcdef0123456789abcde\xc3",
	       "x"),
	};
	for (size_t i = 0; i < ARRAY_SIZE(e); i++)
		assert_int_equal(obs_index_add(ix, &e[i]), 0);
	struct np_addr a = A("198.51.100.7");
	struct obs_verdict v;
	assert_int_equal(obs_index_verdict(ix, &a, T0, &v), 0);
	json_t *j = obs_verdict_json(&a, &v);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "address")), "198.51.100.7");
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "infected");
	assert_string_equal(json_string_value(json_object_get(j, "rule")), "mirai_syn");
	json_t *rules = json_object_get(j, "rules");
	assert_int_equal(json_array_size(rules), 4);
	assert_string_equal(json_string_value(json_array_get(rules, 0)), "mirai_syn");
	json_t *w = json_object_get(j, "window");
	assert_int_equal(json_integer_value(json_object_get(w, "start")), T0 - OBS_WINDOW);
	assert_int_equal(json_integer_value(json_object_get(w, "end")), T0);
	json_t *evd = json_object_get(j, "evidence");
	assert_int_equal(json_integer_value(json_object_get(evd, "fingerprint_hits")), 5);
	assert_int_equal(json_integer_value(json_object_get(evd, "packets")), 6);
	assert_int_equal(json_integer_value(json_object_get(evd, "first_seen")), T0 - 100);
	assert_int_equal(json_integer_value(json_object_get(evd, "last_seen")), T0 - 80);
	assert_int_equal(json_integer_value(json_object_get(evd, "default_credentials")), 1);
	json_t *ports = json_object_get(evd, "ports");
	assert_int_equal(json_array_size(ports), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 0), "port")), 23);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 0), "count")), 5);
	json_t *cr = json_array_get(json_object_get(evd, "credentials"), 0);
	assert_string_equal(json_string_value(json_object_get(cr, "user")), "root");
	assert_true(json_is_true(json_object_get(cr, "default")));
	json_t *kinds = json_object_get(evd, "kinds");
	assert_int_equal(json_object_size(kinds), OBS_KIND_COUNT);
	assert_int_equal(json_integer_value(json_object_get(kinds, "backscatter")), 2);
	json_decref(j);

	/* Nothing seen: first/last are null; an IPv6 address shows as its /64. */
	a = A("2001:db8:aa:bb:1:2:3:4");
	assert_int_equal(obs_index_verdict(ix, &a, T0, &v), 0);
	j = obs_verdict_json(&a, &v);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "address")),
	                    "2001:db8:aa:bb::/64");
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "not_observed");
	assert_string_equal(json_string_value(json_object_get(j, "rule")), "none");
	evd = json_object_get(j, "evidence");
	assert_true(json_is_null(json_object_get(evd, "first_seen")));
	assert_int_equal(json_array_size(json_object_get(j, "rules")), 0);
	json_decref(j);

	/* Invalid UTF-8 from a honeypot still gives valid JSON. */
	a = A("198.51.100.8");
	assert_int_equal(obs_index_verdict(ix, &a, T0, &v), 0);
	j = obs_verdict_json(&a, &v);
	assert_non_null(j);
	cr = json_array_get(json_object_get(json_object_get(j, "evidence"), "credentials"), 0);
	assert_string_equal(json_string_value(json_object_get(cr, "user")),
	                    "0123456789abcdef0123456789abcde?");
	json_decref(j);
	obs_index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kind_names),        cmocka_unit_test(test_batch_round_trip),
	    cmocka_unit_test(test_batch_strict),      cmocka_unit_test(test_batch_mapped_source),
	    cmocka_unit_test(test_record_round_trip), cmocka_unit_test(test_record_damaged),
	    cmocka_unit_test(test_record_key),        cmocka_unit_test(test_record_through_index),
	    cmocka_unit_test(test_verdict_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
