/* SPDX-License-Identifier: MIT */
/* The import's fast paths against their references: the Ethernet/IPv4/TCP parse fast path
 * against the general parser, the in-place classic pcap reader against libpcap, and the
 * compact record form against the version 1 form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "observe/codec.h"
#include "observe/index.h"
#include "observe/packet.h"
#include "observe/pcap_read.h"
#include "observe_fixture.h"

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Mutated Ethernet/IPv4/TCP frames (and cuts of them): whatever the fast path accepts
 * must equal the general parser's result, field for field. */
static void test_parse_fast_equals_general(void **state)
{
	(void)state;
	uint8_t f[FX_FRAME_MAX];
	size_t fast = 0;
	for (int i = 0; i < 200000; i++) {
		struct fx_pkt p = i % 3 == 0   ? fx_mirai_syn("198.51.100.7", "192.0.2.1", 23)
		                  : i % 3 == 1 ? fx_zmap_syn("192.0.2.250", "192.0.2.9", 80)
		                               : fx_tcp("203.0.113.9", "192.0.2.3", 443, 0x12, 7);
		size_t n = fx_eth(&p, f);
		/* Flip a few bytes in the headers, sometimes cut the frame. */
		for (int k = rnd() % 4; k > 0; k--)
			f[rnd() % 60 % n] ^= (uint8_t)(1u << (rnd() % 8));
		if (rnd() % 4 == 0)
			n = rnd() % (n + 1);
		struct obs_packet a, b;
		int ra = obs_packet_parse(DLT_EN10MB, f, n, 1700000000 + i, &a);
		int rb = obs_packet_parse_general(DLT_EN10MB, f, n, 1700000000 + i, &b);
		assert_int_equal(ra, rb);
		if (ra == NP_OK) {
			assert_memory_equal(&a, &b, sizeof(a));
			fast++;
		}
	}
	assert_true(fast > 10000);
}

static void make_temp(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, len, "%s/np_fastpath_XXXXXX", dir != NULL ? dir : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

static void put32(uint8_t *p, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap16(v);
	memcpy(p, &v, 2);
}

/* A classic pcap file by hand: magic (micro/nano, either byte order), snaplen, records of
 * varied lengths; cut bytes off the end when asked. */
static size_t write_classic(const char *path, bool swap, bool nano, uint32_t snap, size_t cut,
                            size_t n_rec)
{
	static uint8_t file[1 << 20];
	size_t pos = 0;
	put32(file, nano ? 0xa1b23c4d : 0xa1b2c3d4, swap);
	put16(file + 4, 2, swap);
	put16(file + 6, 4, swap);
	memset(file + 8, 0, 8);
	put32(file + 16, snap, swap);
	put32(file + 20, DLT_EN10MB, swap);
	pos = 24;
	uint8_t f[FX_FRAME_MAX];
	for (size_t i = 0; i < n_rec; i++) {
		struct fx_pkt p = fx_mirai_syn("198.51.100.7", "192.0.2.1", (uint16_t)(i + 1));
		size_t n = fx_eth(&p, f);
		size_t pad = i % 7 * 100; /* longer records, some beyond the snaplen */
		memset(f + n, 0xee, pad);
		n += pad;
		put32(file + pos, (uint32_t)(1700000000 + i), swap);
		put32(file + pos + 4, (uint32_t)i, swap);
		put32(file + pos + 8, (uint32_t)n, swap);
		put32(file + pos + 12, (uint32_t)n, swap);
		memcpy(file + pos + 16, f, n);
		pos += 16 + n;
	}
	assert_true(cut <= pos);
	pos -= cut;
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(file, 1, pos, fp), pos);
	fclose(fp);
	return pos;
}

/* Every record from obs_pcap_next equals libpcap's, and both end the same way. */
static void compare_with_libpcap(const char *path, int want_end)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	assert_non_null(pc);
	struct obs_pcap *r = NULL;
	int lt = -1;
	assert_int_equal(obs_pcap_open(path, &r, &lt), NP_OK);
	assert_int_equal(lt, pcap_datalink(pc));
	/* Bounded by the file. */
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *d;
		const uint8_t *frame;
		uint32_t caplen;
		int64_t t;
		int a = pcap_next_ex(pc, &h, &d);
		int b = obs_pcap_next(r, &frame, &caplen, &t);
		if (a != 1) {
			assert_int_equal(b, want_end);
			assert_int_equal(a, want_end == 0 ? PCAP_ERROR_BREAK : PCAP_ERROR);
			break;
		}
		assert_int_equal(b, 1);
		assert_int_equal(caplen, h->caplen);
		assert_int_equal(t, (int64_t)h->ts.tv_sec);
		assert_memory_equal(frame, d, caplen);
	}
	obs_pcap_close(r);
	pcap_close(pc);
}

static void test_reader_equals_libpcap(void **state)
{
	(void)state;
	char path[256];
	make_temp(path, sizeof(path));
	for (int v = 0; v < 8; v++) {
		bool swap = v & 1, nano = v & 2;
		uint32_t snap = v & 4 ? 300 : 65535;
		write_classic(path, swap, nano, snap, 0, 2000);
		compare_with_libpcap(path, 0);
		/* Cut inside the last record's data, then inside its header. */
		write_classic(path, swap, nano, snap, 10, 2000);
		compare_with_libpcap(path, NP_EIO);
		size_t last = 54 + 1999 % 7 * 100;
		write_classic(path, swap, nano, snap, last + 6, 2000);
		compare_with_libpcap(path, NP_EIO);
	}
	/* Only the header: no records. */
	write_classic(path, false, false, 65535, 0, 0);
	compare_with_libpcap(path, 0);
	unlink(path);
}

/* obs_pcap_foreach over the fast path counts what it did over libpcap before. */
static int count_cb(const struct obs_packet *p, void *ctx)
{
	(void)p;
	(*(size_t *)ctx)++;
	return 0;
}

static void test_foreach_truncated(void **state)
{
	(void)state;
	char path[256];
	make_temp(path, sizeof(path));
	write_classic(path, false, false, 65535, 3, 100);
	size_t n = 0;
	struct obs_pcap_stats st;
	assert_int_equal(obs_pcap_foreach(path, count_cb, &n, &st), NP_EIO);
	assert_int_equal(st.packets, 99);
	assert_int_equal(n, 99);
	unlink(path);
}

struct rec_stats {
	size_t n, bytes1, bytes2;
};

/* One record both ways. */
static int compare_forms(const struct obs_addr_record *rec, void *arg)
{
	struct rec_stats *c = arg;
	uint8_t *v1 = NULL, *v2 = malloc(obs_record_compact_bound(rec) + 1);
	size_t n1 = 0, n2 = 0;
	assert_non_null(v2);
	assert_int_equal(obs_record_encode(rec, &v1, &n1), NP_OK);
	assert_int_equal(obs_record_encode_compact(rec, v2, &n2), NP_OK);
	assert_true(n2 <= obs_record_compact_bound(rec));
	struct obs_record_buf a, b;
	assert_int_equal(obs_record_decode(v1, n1, &a), NP_OK);
	assert_int_equal(obs_record_decode(v2, n2, &b), NP_OK);
	assert_memory_equal(&a.rec.addr, &b.rec.addr, sizeof(a.rec.addr));
	assert_int_equal(a.rec.first_seen, b.rec.first_seen);
	assert_int_equal(a.rec.last_seen, b.rec.last_seen);
	assert_int_equal(a.rec.n_buckets, b.rec.n_buckets);
	assert_int_equal(a.rec.n_creds, b.rec.n_creds);
	assert_memory_equal(a.rec.buckets, b.rec.buckets, a.rec.n_buckets * sizeof(*a.rec.buckets));
	assert_memory_equal(a.rec.creds, b.rec.creds, a.rec.n_creds * sizeof(*a.rec.creds));
	obs_record_buf_free(&a);
	obs_record_buf_free(&b);
	for (size_t cut = 0; cut < n2; cut++)
		assert_int_equal(obs_record_decode(v2, cut, &b), NP_EINVAL);
	v2[n2] = 0;
	assert_int_equal(obs_record_decode(v2, n2 + 1, &b), NP_EINVAL);
	c->n++;
	c->bytes1 += n1;
	c->bytes2 += n2;
	free(v1);
	free(v2);
	return 0;
}

/* Compact records: decode(encode_compact(x)) == decode(encode(x)), every cut and every
 * extra byte is refused. */
static void test_compact_records(void **state)
{
	(void)state;
	struct obs_index *ix = obs_index_new(1000, 0);
	assert_non_null(ix);
	int64_t t0 = 1700000000;
	obs_index_prune(ix, t0 + 100 * 3600);
	for (int i = 0; i < 5000; i++) {
		struct obs_event ev = {.kind = (enum obs_kind)(rnd() % OBS_KIND_COUNT),
		                       .time = t0 + (int64_t)(rnd() % (100 * 3600)),
		                       .proto = 6,
		                       .dst_port = (uint16_t)(rnd() % 4 ? rnd() % 12 : rnd()),
		                       .count = rnd() % 3 ? 1 : rnd()};
		char a[32];
		snprintf(a, sizeof(a), "%s:%x::1", i % 2 ? "2001:db8" : "2001:db9", rnd() % 16);
		if (i % 3 != 0)
			snprintf(a, sizeof(a), "198.51.100.%u", rnd() % 50);
		assert_int_equal(addr_parse(a, &ev.src), NP_OK);
		if (ev.kind == OBS_LOGIN) {
			snprintf(ev.user, sizeof(ev.user), "u%u", rnd() % 12);
			snprintf(ev.pass, sizeof(ev.pass), "%s", rnd() % 2 ? "xc3511" : "");
		}
		assert_int_equal(obs_index_add(ix, &ev), NP_OK);
	}
	struct rec_stats c = {0};
	assert_int_equal(obs_index_foreach(ix, compare_forms, &c), 0);
	assert_true(c.n > 50);
	assert_true(c.bytes2 < c.bytes1);
	obs_index_free(ix);
}

/* A varint wider than its field, or longer than 10 bytes, is refused. */
static void test_compact_refuses_wide_fields(void **state)
{
	(void)state;
	/* version 2, IPv4, address, first 1, delta 0, one bucket, no creds, hour 5,
	 * first_off 0 (none), last_off 0, mask: 2^16 (wider than u16) */
	uint8_t bad[] = {2, 4, 198, 51, 100, 7, 1, 0, 1, 0, 5, 0, 0, 0x80, 0x80, 0x04, 0, 0};
	struct obs_record_buf b;
	assert_int_equal(obs_record_decode(bad, sizeof(bad), &b), NP_EINVAL);
	uint8_t ok[] = {2, 4, 198, 51, 100, 7, 1, 0, 1, 0, 5, 0, 0, 0x01, 3, 0, 0};
	assert_int_equal(obs_record_decode(ok, sizeof(ok), &b), NP_OK);
	assert_int_equal(b.rec.n_buckets, 1);
	assert_int_equal(b.rec.buckets[0].hour, 5);
	assert_int_equal(b.rec.buckets[0].first_off, UINT16_MAX);
	assert_int_equal(b.rec.buckets[0].count[OBS_MIRAI_SYN], 3);
	obs_record_buf_free(&b);
	uint8_t long_first[] = {2,    4,    1,    2,    3,    4,    0x80, 0x80, 0x80, 0x80,
	                        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0,    0,    0};
	assert_int_equal(obs_record_decode(long_first, sizeof(long_first), &b), NP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_fast_equals_general),
	    cmocka_unit_test(test_reader_equals_libpcap),
	    cmocka_unit_test(test_foreach_truncated),
	    cmocka_unit_test(test_compact_records),
	    cmocka_unit_test(test_compact_refuses_wide_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
