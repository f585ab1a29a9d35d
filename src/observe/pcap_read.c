/* SPDX-License-Identifier: MIT */
/* pcap/pcapng file reader: classic pcap read in place from one buffer, the rest through
 * libpcap; feeds the packet parser. */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "observe/packet.h"
#include "observe/pcap_read.h"

#define FILE_HDR   24
#define REC_HDR    16
#define SNAP_MAX   262144u      /* libpcap's max_snaplen_for_dlt for the link types we parse */
#define BUF_SIZE   (256u << 10) /* stays in a core's L2 cache; a record never exceeds it */
#define READ_TRIES 1000000      /* read(2) calls per refill before giving up (EINTR storms) */

struct obs_pcap {
	pcap_t *pc;   /* the libpcap path (pcapng ...); NULL on the fast path */
	int fd;       /* the fast path's descriptor */
	bool swapped; /* the file's byte order differs from ours */
	uint32_t snap;
	uint8_t *buf;
	size_t pos, len; /* unread bytes are buf[pos .. len) */
	int64_t off;     /* file offset of buf[len] */
	bool eof;
	char path[256];
};

static uint32_t get32(const uint8_t *p, bool swapped)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/* Refills buf so that at least want bytes are unread, unless the file ends first. */
static int refill(struct obs_pcap *r, size_t want)
{
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	for (int i = 0; i < READ_TRIES && r->len < want && !r->eof; i++) {
		ssize_t n = read(r->fd, r->buf + r->len, BUF_SIZE - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("pcap %s: read: %s", r->path, strerror(errno));
			return NP_EIO;
		}
		if (n == 0)
			r->eof = true;
		r->len += (size_t)n;
		r->off += n;
	}
	return NP_OK;
}

/* Whether the file is classic pcap 2.4 (the fast path); sets swapped and snap. Reads the
 * header through fd, which it leaves positioned after it. */
static bool classic_header(struct obs_pcap *r)
{
	uint8_t h[FILE_HDR];
	ssize_t n;
	do
		n = read(r->fd, h, sizeof(h));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(h))
		return false;
	uint32_t magic;
	memcpy(&magic, h, 4);
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
		r->swapped = false;
	else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
		r->swapped = true;
	else
		return false;
	/* major 2, minor 4: two u16 in the file's byte order */
	uint16_t major, minor;
	memcpy(&major, h + 4, 2);
	memcpy(&minor, h + 6, 2);
	if (r->swapped) {
		major = __builtin_bswap16(major);
		minor = __builtin_bswap16(minor);
	}
	if (major != 2 || minor != 4)
		return false;
	r->snap = get32(h + 16, r->swapped);
	if (r->snap == 0 || r->snap > SNAP_MAX)
		r->snap = SNAP_MAX;
	r->off = FILE_HDR;
	return true;
}

int obs_pcap_open(const char *path, struct obs_pcap **out, int *linktype)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	*out = NULL;
	struct obs_pcap *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NP_ENOMEM;
	r->fd = -1;
	snprintf(r->path, sizeof(r->path), "%s", path);
	errbuf[0] = '\0';
	/* libpcap checks the file and maps its link type; the fast path then reads it anew. */
	r->pc = pcap_open_offline(path, errbuf);
	if (r->pc == NULL) {
		log_warn("pcap %s: %s", path, errbuf);
		free(r);
		return NP_EIO;
	}
	*linktype = pcap_datalink(r->pc);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd >= 0 && classic_header(r)) {
		r->buf = malloc(BUF_SIZE);
		if (r->buf == NULL) {
			obs_pcap_close(r);
			return NP_ENOMEM;
		}
		posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		pcap_close(r->pc);
		r->pc = NULL;
	} else if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	*out = r;
	return NP_OK;
}

static int next_libpcap(struct obs_pcap *r, const uint8_t **frame, uint32_t *caplen, int64_t *time)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int rc = pcap_next_ex(r->pc, &hdr, &data);
	if (rc == 1) {
		*frame = data;
		*caplen = hdr->caplen;
		*time = (int64_t)hdr->ts.tv_sec;
		return 1;
	}
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	log_warn("pcap %s: %s", r->path, pcap_geterr(r->pc));
	return NP_EIO;
}

int obs_pcap_next(struct obs_pcap *r, const uint8_t **frame, uint32_t *caplen, int64_t *time)
{
	if (r->pc != NULL)
		return next_libpcap(r, frame, caplen, time);
	if (r->len - r->pos < REC_HDR) {
		if (refill(r, REC_HDR) != NP_OK)
			return NP_EIO;
		if (r->len == r->pos)
			return 0;
		if (r->len - r->pos < REC_HDR) {
			log_warn("pcap %s: truncated record header at the end", r->path);
			return NP_EIO;
		}
	}
	const uint8_t *h = r->buf + r->pos;
	uint32_t sec = get32(h, r->swapped), cap = get32(h + 8, r->swapped);
	if (cap > SNAP_MAX) {
		log_warn("pcap %s: invalid packet capture length %u", r->path, cap);
		return NP_EIO;
	}
	if (r->len - r->pos < REC_HDR + (size_t)cap) {
		if (refill(r, REC_HDR + (size_t)cap) != NP_OK)
			return NP_EIO;
		if (r->len - r->pos < REC_HDR + (size_t)cap) {
			log_warn("pcap %s: truncated record at the end", r->path);
			return NP_EIO;
		}
		h = r->buf + r->pos;
	}
	*frame = h + REC_HDR;
	*caplen = cap < r->snap ? cap : r->snap;
	*time = (int64_t)sec;
	r->pos += REC_HDR + (size_t)cap;
	return 1;
}

int64_t obs_pcap_offset(const struct obs_pcap *r)
{
	if (r->pc != NULL) {
		FILE *fp = pcap_file(r->pc);
		off_t o = fp != NULL ? ftello(fp) : -1;
		return o < 0 ? 0 : (int64_t)o;
	}
	return r->off - (int64_t)(r->len - r->pos);
}

void obs_pcap_close(struct obs_pcap *r)
{
	if (r == NULL)
		return;
	if (r->pc != NULL)
		pcap_close(r->pc);
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r);
}

int obs_pcap_foreach(const char *path, obs_packet_cb *cb, void *ctx, struct obs_pcap_stats *st)
{
	struct obs_pcap_stats local;
	struct obs_pcap *r = NULL;
	const uint8_t *frame;
	uint32_t caplen;
	int64_t t;
	int rc;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	int ret = obs_pcap_open(path, &r, &st->linktype);
	if (ret != NP_OK)
		return ret == NP_ENOMEM ? ret : NP_EIO;
	if (!obs_linktype_supported(st->linktype)) {
		log_warn("pcap %s: unsupported link type %d", path, st->linktype);
		ret = NP_EINVAL;
		goto out;
	}
	/* Bounded by the file: every record advances the read position. */
	while ((rc = obs_pcap_next(r, &frame, &caplen, &t)) == 1) {
		struct obs_packet p;
		st->packets++;
		int pr = obs_packet_parse(st->linktype, frame, caplen, t, &p);
		if (pr == NP_ENOTFOUND) {
			st->not_ip++;
			continue;
		}
		if (pr != NP_OK) {
			st->malformed++;
			continue;
		}
		st->parsed++;
		pr = cb(&p, ctx);
		if (pr != 0) {
			ret = pr;
			goto out;
		}
	}
	ret = rc == 0 ? NP_OK : NP_EIO;
out:
	obs_pcap_close(r);
	return ret;
}
