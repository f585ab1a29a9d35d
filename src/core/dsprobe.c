/* SPDX-License-Identifier: MIT */
/* The DS query to a parent server (core/dsprobe.h). */
#include "core/dsprobe.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/msg.h"
#include "dnssec/sign.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The answer in buf (len octets) to query id for apex's DS: 1, 0 or NP_EIO as
 * dsprobe_has; NP_EAGAIN when it is not the answer to this query (a stray datagram). */
static int read_answer(const uint8_t *buf, size_t len, uint16_t id, const uint8_t *apex,
                       size_t apex_len, const uint8_t ds[DNSSEC_DS_LEN])
{
	struct wire c = wire_init(buf, len);
	struct dns_hdr h;
	dns_hdr_read(&c, &h);
	if (c.err != NP_OK || h.id != id || (h.flags & DNS_FLAG_QR) == 0 || h.qdcount != 1)
		return NP_EAGAIN;
	struct dns_question q;
	if (dns_question_read(&c, &q) != NP_OK || q.name_len != apex_len ||
	    memcmp(q.lname, apex, apex_len) != 0 || q.qtype != DNSSEC_TYPE_DS ||
	    q.qclass != DNS_CLASS_IN)
		return NP_EAGAIN;
	unsigned rcode = h.flags & DNS_RCODE_MASK;
	if ((h.flags & DNS_FLAG_TC) != 0 ||
	    (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN))
		return NP_EIO;
	for (unsigned i = 0; i < h.ancount; i++) {
		uint8_t owner[DNS_NAME_MAX];
		int olen = dns_name_read(&c, NULL, owner);
		uint16_t type = wire_u16(&c), cls = wire_u16(&c);
		(void)wire_u32(&c);
		uint16_t rdlen = wire_u16(&c);
		const uint8_t *rd = wire_take(&c, rdlen);
		if (olen < 0 || rd == NULL)
			return NP_EIO;
		if ((size_t)olen == apex_len && memcmp(owner, apex, apex_len) == 0 &&
		    type == DNSSEC_TYPE_DS && cls == DNS_CLASS_IN && rdlen == DNSSEC_DS_LEN &&
		    memcmp(rd, ds, DNSSEC_DS_LEN) == 0)
			return 1;
	}
	return 0;
}

int dsprobe_send(const struct cfg_listen *parent, const uint8_t *apex, size_t apex_len,
                 struct dsprobe *pr)
{
	uint8_t msg[DNS_HDR_LEN + DNS_NAME_MAX + 4];
	uint16_t id = 0;
	pr->fd = -1;
	if (apex_len > DNS_NAME_MAX)
		return NP_EINVAL;
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint16_t)(now_ms() ^ (int64_t)getpid());
	memset(msg, 0, DNS_HDR_LEN);
	wire_store_u16(msg, id);
	wire_store_u16(msg + 4, 1); /* one question; RD clear: the parent's own data */
	memcpy(msg + DNS_HDR_LEN, apex, apex_len);
	wire_store_u16(msg + DNS_HDR_LEN + apex_len, DNSSEC_TYPE_DS);
	wire_store_u16(msg + DNS_HDR_LEN + apex_len + 2, DNS_CLASS_IN);
	size_t len = DNS_HDR_LEN + apex_len + 4;

	int fd = socket(parent->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NP_EIO;
	/* Connected: only the parent's datagrams come in. */
	if (connect(fd, (const struct sockaddr *)&parent->addr, parent->len) != 0 ||
	    send(fd, msg, len, 0) != (ssize_t)len) {
		close(fd);
		return NP_EIO;
	}
	pr->fd = fd;
	pr->id = id;
	return NP_OK;
}

int dsprobe_poll(struct dsprobe *pr, const uint8_t *apex, size_t apex_len,
                 const uint8_t ds[DNSSEC_DS_LEN])
{
	if (pr->fd < 0)
		return NP_EIO;
	for (;;) {
		uint8_t buf[4096];
		ssize_t r = recv(pr->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return NP_EAGAIN;
		/* An ICMP error (nothing listens there), or the answer read. */
		int ret = r < 0 ? NP_EIO : read_answer(buf, (size_t)r, pr->id, apex, apex_len, ds);
		if (ret == NP_EAGAIN)
			continue; /* not the answer to this query */
		dsprobe_close(pr);
		return ret;
	}
}

void dsprobe_close(struct dsprobe *pr)
{
	if (pr->fd >= 0)
		close(pr->fd);
	pr->fd = -1;
}
