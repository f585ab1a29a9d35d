/* SPDX-License-Identifier: MIT */
/* The floor of the DNS serving benchmark: the least CPU any UDP server can spend per query
 * on this machine. It receives queries in batches (recvmmsg), waits for more as nameplated
 * does when few came (fewer than half a batch: 300 us, or as told), answers each with its
 * question and one fixed A record (no lookup, no rate limit, no checks) and sends the batch
 * (sendmmsg). What is left is the kernel's per-packet work (copies, routing, the loopback
 * delivery to the client and its wakeup) and the wakeups: no server on UDP sockets can be
 * cheaper than the floor, so the cheapest peer's cost over the floor's is the most such a
 * server could beat it by in the same run.
 *
 * usage: udp_floor PORT [WAIT_US]   (listens on 127.0.0.1; stops on SIGTERM) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH  64
#define MSGMAX 512

static struct mmsghdr rx[BATCH], tx[BATCH];
static struct iovec rx_iov[BATCH], tx_iov[BATCH];
static struct sockaddr_in peers[BATCH];
static unsigned char rx_buf[BATCH][MSGMAX], tx_buf[BATCH][MSGMAX + 16];

/* The answer record: a pointer to the question's name, A IN, TTL 60, 192.0.2.1. */
static const unsigned char answer_a[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};

/* Makes the answer to query q (len bytes) in out; its length, or 0 for no answer. */
static size_t answer(const unsigned char *q, size_t len, unsigned char *out)
{
	if (len < 12 || len > MSGMAX || (q[2] & 0x80) != 0)
		return 0;
	memcpy(out, q, len);
	out[2] |= 0x84; /* QR, AA */
	out[3] = 0;
	out[6] = 0;
	out[7] = 1; /* one answer */
	out[10] = 0;
	out[11] = 0; /* no additional records: an OPT of the query is cut off below */
	/* Keep the header and the question only: past the first name, its type and class. */
	size_t end = 12;
	while (end < len && q[end] != 0)
		end += (size_t)q[end] + 1;
	end += 5;
	if (end > len)
		return 0;
	memcpy(out + end, answer_a, sizeof(answer_a));
	return end + sizeof(answer_a);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: udp_floor PORT [WAIT_US]\n");
		return 2;
	}
	long wait_ns = argc > 2 ? atol(argv[2]) * 1000L : 300000L;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int size = 1 << 20; /* as nameplated's workers: room for bursts */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("udp_floor");
		return 1;
	}
	for (unsigned k = 0; k < BATCH; k++) {
		rx_iov[k] = (struct iovec){.iov_base = rx_buf[k], .iov_len = MSGMAX};
		tx_iov[k].iov_base = tx_buf[k];
	}
	for (;;) {
		for (unsigned k = 0; k < BATCH; k++)
			rx[k].msg_hdr = (struct msghdr){.msg_name = &peers[k],
			                                .msg_namelen = sizeof(peers[k]),
			                                .msg_iov = &rx_iov[k],
			                                .msg_iovlen = 1};
		int n = recvmmsg(fd, rx, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		if (n < BATCH / 2 && wait_ns > 0) {
			struct timespec pause = {.tv_sec = 0, .tv_nsec = wait_ns};
			(void)nanosleep(&pause, NULL);
			int more = recvmmsg(fd, rx + n, BATCH - (unsigned)n, MSG_DONTWAIT, NULL);
			if (more > 0)
				n += more;
		}
		unsigned out = 0;
		for (int k = 0; k < n; k++) {
			size_t len = answer(rx_buf[k], rx[k].msg_len, tx_buf[out]);
			if (len == 0)
				continue;
			tx_iov[out].iov_len = len;
			tx[out].msg_hdr = (struct msghdr){.msg_name = &peers[k],
			                                  .msg_namelen = rx[k].msg_hdr.msg_namelen,
			                                  .msg_iov = &tx_iov[out],
			                                  .msg_iovlen = 1};
			out++;
		}
		for (unsigned sent = 0; sent < out;) {
			int r = sendmmsg(fd, tx + sent, out - sent, 0);
			sent += r > 0 ? (unsigned)r : 1; /* an unreachable peer loses its answer only */
		}
	}
}
