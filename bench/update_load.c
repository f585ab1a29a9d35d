/* SPDX-License-Identifier: MIT */
/* RFC 2136 UPDATE load generator (bench/update.sh, bench/README.md "RFC 2136 UPDATE").
 *
 * Sends TSIG-signed UPDATEs over UDP to one server, each replacing the A record of a random
 * host h<i>.<zone> (i < --hosts) with a fresh address (delete the A RRset, add one A), with
 * a fixed number outstanding. Answers are matched by ID, their TSIG is verified against the
 * request's MAC, and only NOERROR with a good signature counts as acknowledged. A request
 * unanswered after --timeout-ms is sent again (the same bytes: the update is idempotent),
 * at most --retries times, then given up. Two outstanding updates never name the same host,
 * so the last acknowledged address of a host is what the server must serve: after the run
 * the last --verify hosts acknowledged are asked for (A query, same server) and compared.
 *
 * With --watch ADDR:PORT (a secondary), updates go one at a time (--count of them, --gap-ms
 * apart) and after each NOERROR the secondary is polled every --poll-ms until it answers the
 * new address: the time from NOERROR to that answer is the latency reported.
 *
 * Bounded: at most --count updates and --seconds of sending; then the outstanding ones get
 * their timeouts and retries, and nothing runs past a hard deadline. Only loopback
 * addresses are accepted. Prints one JSON object on stdout. Built by bench/update.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/msg.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dns/wire.h"

#define MAX_OUTSTANDING 1024
#define MSG_CAP         1024
#define OPCODE_UPDATE   5
#define TYPE_A          1
#define TYPE_SOA        6
#define CLASS_IN        1
#define CLASS_ANY       255
#define RCODES          24 /* rcodes 0..15 and TSIG errors 16..23, counted apart */

struct slot {
	bool busy;
	uint16_t id;
	uint32_t host;
	uint32_t addr;
	uint8_t msg[MSG_CAP];
	size_t len;
	uint8_t mac[TSIG_MAC_LEN];
	uint64_t t_first, t_sent; /* ns, monotonic */
	unsigned tries;
};

static struct {
	struct sockaddr_in server, watch;
	bool watching;
	const char *zone;
	uint8_t zone_wire[DNS_NAME_MAX];
	size_t zone_len;
	struct tsig_key key;
	uint8_t secret[128];
	uint32_t hosts, outstanding, ttl, verify;
	uint64_t count;
	double seconds;
	unsigned timeout_ms, retries, gap_ms, poll_ms, watch_timeout_ms;
	uint64_t seed;
	const char *label;
} opt = {
	.zone = "dyn.example",
	.hosts = 100000,
	.outstanding = 1,
	.ttl = 60,
	.verify = 20,
	.count = 1000000,
	.seconds = 5,
	.timeout_ms = 1000,
	.retries = 3,
	.gap_ms = 200,
	.poll_ms = 1,
	.watch_timeout_ms = 10000,
	.seed = 1,
	.label = "",
};

static uint64_t ns_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* xorshift64*: fast, and the same sequence for the same --seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static void die(const char *what)
{
	fprintf(stderr, "update_load: %s\n", what);
	exit(2);
}

/* "127.0.0.1:5300" into sa; only loopback (the bench's network rule). */
static void parse_addr(const char *text, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	if (colon == NULL || (size_t)(colon - text) >= sizeof host)
		die("address must be ADDR:PORT");
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535)
		die("bad port");
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		die("bad IPv4 address");
	if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		die("only loopback addresses (127.0.0.0/8) are allowed");
}

/* "hmac-sha256:name:base64secret" (the form of nsupdate -y). */
static void parse_key(const char *text)
{
	char buf[512];
	if (strlen(text) >= sizeof buf)
		die("key too long");
	memcpy(buf, text, strlen(text) + 1);
	char *alg = buf, *name = strchr(buf, ':');
	if (name == NULL)
		die("key must be ALG:NAME:SECRET");
	*name++ = '\0';
	char *secret = strchr(name, ':');
	if (secret == NULL)
		die("key must be ALG:NAME:SECRET");
	*secret++ = '\0';
	size_t len = 0;
	if (sodium_base642bin(opt.secret, sizeof opt.secret, secret, strlen(secret), NULL, &len,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len == 0)
		die("key secret is not base64");
	enum tsig_alg a;
	if (tsig_alg_from_text(alg, &a) != NP_OK)
		die("key algorithm must be hmac-sha256 or hmac-sha512");
	if (tsig_key_init(&opt.key, name, opt.secret, len) != NP_OK)
		die("bad key name");
	opt.key.alg = a;
}

static void put_host_name(struct wire_out *w, uint32_t host)
{
	char label[16];
	int n = snprintf(label, sizeof label, "h%" PRIu32, host);
	wire_put_u8(w, (uint8_t)n);
	wire_put_bytes(w, label, (size_t)n);
	wire_put_bytes(w, opt.zone_wire, opt.zone_len);
}

/* The signed UPDATE into s->msg: zone SOA; delete the A RRset of the host; add one A. */
static void build_update(struct slot *s)
{
	struct wire_out w = wire_out_init(s->msg, sizeof s->msg);
	wire_put_u16(&w, s->id);
	wire_put_u16(&w, OPCODE_UPDATE << 11);
	wire_put_u16(&w, 1); /* ZOCOUNT */
	wire_put_u16(&w, 0); /* PRCOUNT */
	wire_put_u16(&w, 2); /* UPCOUNT */
	wire_put_u16(&w, 0); /* ADCOUNT: TSIG is added by tsig_sign */
	wire_put_bytes(&w, opt.zone_wire, opt.zone_len);
	wire_put_u16(&w, TYPE_SOA);
	wire_put_u16(&w, CLASS_IN);
	put_host_name(&w, s->host); /* delete the RRset: class ANY, TTL 0, no rdata */
	wire_put_u16(&w, TYPE_A);
	wire_put_u16(&w, CLASS_ANY);
	wire_put_u32(&w, 0);
	wire_put_u16(&w, 0);
	put_host_name(&w, s->host); /* add the new address */
	wire_put_u16(&w, TYPE_A);
	wire_put_u16(&w, CLASS_IN);
	wire_put_u32(&w, opt.ttl);
	wire_put_u16(&w, 4);
	wire_put_u32(&w, s->addr);
	if (w.err != NP_OK)
		die("update does not fit");
	s->len = w.pos;
	struct tsig_vars v = {.time_signed = (uint64_t)time(NULL), .fudge = TSIG_FUDGE};
	if (tsig_sign(&opt.key, s->msg, &s->len, sizeof s->msg, NULL, 0, &v, s->mac) != NP_OK)
		die("tsig_sign failed");
}

/* Checks an answer to s: returns the rcode (or 16+ TSIG error), or -1 when the signature
 * is missing or wrong (counted apart). */
static int judge_answer(const struct slot *s, const uint8_t *msg, size_t len)
{
	unsigned rcode = wire_load_u16(msg + 2) & DNS_RCODE_MASK;
	struct tsig_rr rr;
	if (tsig_find(msg, len, &rr) != NP_OK)
		return -1;
	if (rr.vars.error != 0)
		return rr.vars.error < RCODES ? rr.vars.error : -1;
	uint16_t terr = 0;
	if (tsig_verify(&opt.key, msg, len, &rr, s->mac, tsig_mac_len(opt.key.alg),
	                (int64_t)time(NULL), &terr) != NP_OK)
		return -1;
	return (int)rcode;
}

/* An A query for host; the answer's A addresses (at most cap) into out. Returns how many,
 * or -1 when no matching answer came within wait_ms. fd is connected to the target. */
static int query_a(int fd, uint32_t host, uint32_t *out, int cap, unsigned wait_ms)
{
	uint8_t q[MSG_CAP], a[4096];
	uint16_t id = (uint16_t)rnd();
	struct wire_out w = wire_out_init(q, sizeof q);
	wire_put_u16(&w, id);
	wire_put_u16(&w, 0); /* RD clear: we ask the authority */
	wire_put_u16(&w, 1);
	wire_put_u16(&w, 0);
	wire_put_u16(&w, 0);
	wire_put_u16(&w, 0);
	put_host_name(&w, host);
	wire_put_u16(&w, TYPE_A);
	wire_put_u16(&w, CLASS_IN);
	if (w.err != NP_OK || send(fd, q, w.pos, 0) < 0)
		return -1;
	uint64_t end = ns_now() + (uint64_t)wait_ms * 1000000u;
	for (int round = 0; round < 1000; round++) {
		uint64_t now = ns_now();
		if (now >= end)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			continue;
		ssize_t n = recv(fd, a, sizeof a, MSG_DONTWAIT);
		if (n < DNS_HDR_LEN || wire_load_u16(a) != id)
			continue;
		struct wire c = wire_init(a, (size_t)n);
		struct dns_hdr h;
		dns_hdr_read(&c, &h);
		if ((h.flags & DNS_RCODE_MASK) != 0)
			return 0;
		for (unsigned i = 0; i < h.qdcount; i++) {
			if (dns_name_read(&c, NULL, NULL) < 0)
				return -1;
			wire_skip(&c, 4);
		}
		int found = 0;
		for (unsigned i = 0; i < h.ancount && c.err == NP_OK; i++) {
			if (dns_name_read(&c, NULL, NULL) < 0)
				return -1;
			uint16_t type = wire_u16(&c);
			wire_skip(&c, 6); /* class, TTL */
			uint16_t rdlen = wire_u16(&c);
			const uint8_t *rd = wire_take(&c, rdlen);
			if (rd != NULL && type == TYPE_A && rdlen == 4 && found < cap)
				out[found++] = wire_load_u32(rd);
		}
		return c.err == NP_OK ? found : -1;
	}
	return -1;
}

static int udp_to(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int buf = 4 << 20;
	if (fd < 0)
		die("socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0)
		die("connect");
	return fd;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint32_t *sorted, uint64_t n, double p)
{
	if (n == 0)
		return 0;
	uint64_t i = (uint64_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return sorted[i] / 1000.0; /* us -> ms */
}

static void print_latency(const char *name, uint32_t *lat, uint64_t n)
{
	qsort(lat, n, sizeof *lat, cmp_u32);
	double sum = 0;
	for (uint64_t i = 0; i < n; i++)
		sum += lat[i];
	printf(", \"%s\": {\"n\": %" PRIu64 ", \"avg\": %.3f, \"p50\": %.3f, \"p90\": %.3f, "
	       "\"p99\": %.3f, \"max\": %.3f}",
	       name, n, n ? sum / (double)n / 1000.0 : 0.0, pct(lat, n, 50), pct(lat, n, 90),
	       pct(lat, n, 99), n ? lat[n - 1] / 1000.0 : 0.0);
}

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
	        "usage: update_load --server ADDR:PORT --key ALG:NAME:SECRET [options]\n"
	        "  --zone NAME           zone (dyn.example); hosts are h0..h<N-1>.<zone>\n"
	        "  --hosts N             hosts to pick from (100000)\n"
	        "  --outstanding N       updates in flight (1), at most %d\n"
	        "  --seconds S           sending time (5)\n"
	        "  --count N             updates at most (1000000)\n"
	        "  --timeout-ms MS       retransmit after (1000)\n"
	        "  --retries N           retransmissions before giving up (3)\n"
	        "  --seed N              address and host sequence (1)\n"
	        "  --verify N            hosts asked for after the run (20)\n"
	        "  --watch ADDR:PORT     a secondary: measure NOERROR -> new answer there\n"
	        "  --gap-ms MS           pause between watched updates (200)\n"
	        "  --poll-ms MS          poll interval at the secondary (1)\n"
	        "  --watch-timeout-ms MS give up waiting for the secondary (10000)\n"
	        "  --label TEXT          copied into the JSON\n",
	        MAX_OUTSTANDING);
	exit(code);
}

static unsigned long long num(const char *s, unsigned long long max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v > max)
		die("bad number");
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option longs[] = {
		{"server", 1, 0, 's'},        {"key", 1, 0, 'y'},       {"zone", 1, 0, 'z'},
		{"hosts", 1, 0, 'n'},         {"outstanding", 1, 0, 'c'}, {"seconds", 1, 0, 'd'},
		{"count", 1, 0, 'm'},         {"timeout-ms", 1, 0, 't'}, {"retries", 1, 0, 'r'},
		{"seed", 1, 0, 'S'},          {"verify", 1, 0, 'V'},    {"watch", 1, 0, 'w'},
		{"gap-ms", 1, 0, 'g'},        {"poll-ms", 1, 0, 'p'},   {"watch-timeout-ms", 1, 0, 'W'},
		{"label", 1, 0, 'l'},         {"help", 0, 0, 'h'},      {0, 0, 0, 0},
	};
	bool have_server = false, have_key = false;
	int o;
	while ((o = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (o) {
		case 's': parse_addr(optarg, &opt.server); have_server = true; break;
		case 'y': parse_key(optarg); have_key = true; break;
		case 'z': opt.zone = optarg; break;
		case 'n': opt.hosts = (uint32_t)num(optarg, 10000000); break;
		case 'c': opt.outstanding = (uint32_t)num(optarg, MAX_OUTSTANDING); break;
		case 'd': opt.seconds = (double)num(optarg, 3600); break;
		case 'm': opt.count = num(optarg, 100000000); break;
		case 't': opt.timeout_ms = (unsigned)num(optarg, 60000); break;
		case 'r': opt.retries = (unsigned)num(optarg, 100); break;
		case 'S': opt.seed = num(optarg, UINT64_MAX); break;
		case 'V': opt.verify = (uint32_t)num(optarg, 100000); break;
		case 'w': parse_addr(optarg, &opt.watch); opt.watching = true; break;
		case 'g': opt.gap_ms = (unsigned)num(optarg, 60000); break;
		case 'p': opt.poll_ms = (unsigned)num(optarg, 1000); break;
		case 'W': opt.watch_timeout_ms = (unsigned)num(optarg, 600000); break;
		case 'l': opt.label = optarg; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (!have_server || !have_key || optind != argc)
		usage(2);
	if (opt.outstanding == 0 || opt.timeout_ms == 0 || opt.count == 0 || opt.seconds <= 0)
		die("--outstanding, --count, --seconds and --timeout-ms must be positive");
	if (opt.hosts < 2 * opt.outstanding)
		die("--hosts must be at least twice --outstanding");
	int n = dns_name_from_text(opt.zone, opt.zone_wire, sizeof opt.zone_wire);
	if (n < 0)
		die("bad zone name");
	opt.zone_len = (size_t)n;
	for (const char *c = opt.label; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			die("--label: no quotes, backslashes or control characters");
	rng_state = opt.seed * 0x9E3779B97F4A7C15ULL + 1;
}

static struct slot slots[MAX_OUTSTANDING];
static int16_t id_slot[65536]; /* which slot waits for an ID, -1 none */
static uint16_t next_id;
static uint32_t *last_addr; /* per host: the last acknowledged address, 0 none */
static uint8_t *tainted;    /* per host: an update given up, its fate unknown */
static uint32_t *ack_ring;  /* the last hosts acknowledged, for --verify */
static uint64_t ring_n;
static uint64_t sent, acked, answers_bad, retransmits, given_up, late;
static uint64_t rcodes[RCODES];
static uint32_t *lat;       /* us per acknowledged update */
static uint32_t addr_seq;

static bool host_busy(uint32_t h)
{
	for (uint32_t i = 0; i < opt.outstanding; i++)
		if (slots[i].busy && slots[i].host == h)
			return true;
	return false;
}

static void send_slot(struct slot *s, int fd)
{
	s->t_sent = ns_now();
	if (send(fd, s->msg, s->len, 0) >= 0)
		sent++;
}

/* Starts an update in slot s: a new ID, a host not in flight, a fresh address. */
static void start_slot(struct slot *s, int fd)
{
	uint32_t h = 0;
	for (int i = 0; i < 1000; i++) {
		h = (uint32_t)(rnd() % opt.hosts);
		if (!host_busy(h))
			break;
	}
	for (int i = 0; i < 65536 && id_slot[next_id] >= 0; i++)
		next_id++;
	s->id = next_id++;
	id_slot[s->id] = (int16_t)(s - slots);
	s->host = h;
	/* 10.128.0.0/9 walked from a point of the seed: never a genzone address (10.0-1.x.x) */
	s->addr = 0x0A800000u | ((uint32_t)(opt.seed * 2654435761u + addr_seq++) & 0x7FFFFFu);
	s->busy = true;
	s->tries = 0;
	build_update(s);
	s->t_first = ns_now();
	send_slot(s, fd);
}

static void finish_slot(struct slot *s)
{
	id_slot[s->id] = -1;
	s->busy = false;
}

/* Reads every datagram waiting; returns how many answers settled a slot. */
static unsigned drain(int fd)
{
	uint8_t a[4096];
	unsigned settled = 0;
	for (int i = 0; i < 4096; i++) {
		ssize_t n = recv(fd, a, sizeof a, MSG_DONTWAIT);
		if (n < 0)
			break;
		if (n < DNS_HDR_LEN || !(wire_load_u16(a + 2) & DNS_FLAG_QR)) {
			answers_bad++;
			continue;
		}
		int16_t si = id_slot[wire_load_u16(a)];
		if (si < 0) {
			late++; /* the answer to a retransmitted or given-up request */
			continue;
		}
		struct slot *s = &slots[si];
		int rc = judge_answer(s, a, (size_t)n);
		if (rc < 0) {
			answers_bad++;
		} else if (rc != 0) {
			rcodes[rc]++;
		} else {
			uint64_t us = (ns_now() - s->t_first) / 1000u;
			lat[acked++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
			last_addr[s->host] = s->addr;
			ack_ring[ring_n++ % opt.verify] = s->host;
			rcodes[0]++;
		}
		finish_slot(s);
		settled++;
	}
	return settled;
}

/* Retransmits or gives up what timed out; returns ns until the next timeout (capped). */
static uint64_t check_timeouts(int fd)
{
	uint64_t now = ns_now(), to = (uint64_t)opt.timeout_ms * 1000000u, next = 10000000u;
	for (uint32_t i = 0; i < opt.outstanding; i++) {
		struct slot *s = &slots[i];
		if (!s->busy)
			continue;
		if (now - s->t_sent >= to) {
			if (s->tries >= opt.retries) {
				given_up++;
				tainted[s->host] = 1;
				finish_slot(s);
				continue;
			}
			s->tries++;
			retransmits++;
			send_slot(s, fd);
		}
		uint64_t left = s->t_sent + to - ns_now();
		if (left < next)
			next = left;
	}
	return next;
}

static uint32_t busy_count(void)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < opt.outstanding; i++)
		n += slots[i].busy;
	return n;
}

/* The load: opt.outstanding in flight until the time or the count is up. */
static double run_load(int fd)
{
	uint64_t t0 = ns_now(), stop = t0 + (uint64_t)(opt.seconds * 1e9);
	/* past the stop, the last requests get their retries, and not a moment more */
	uint64_t hard = stop + (uint64_t)opt.timeout_ms * 1000000u * (opt.retries + 1) + 1000000000u;
	uint64_t started = 0;
	uint64_t t_end = t0;
	while (1) {
		uint64_t now = ns_now();
		if (now >= hard)
			break;
		bool issuing = now < stop && started < opt.count;
		if (issuing)
			for (uint32_t i = 0; i < opt.outstanding && started < opt.count; i++)
				if (!slots[i].busy) {
					start_slot(&slots[i], fd);
					started++;
				}
		if (!issuing && busy_count() == 0)
			break;
		uint64_t wait = check_timeouts(fd);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ms = (int)(wait / 1000000u) + 1;
		if (poll(&p, 1, ms) > 0 && drain(fd) > 0)
			t_end = ns_now();
	}
	for (uint32_t i = 0; i < opt.outstanding; i++)
		if (slots[i].busy) {
			given_up++;
			tainted[slots[i].host] = 1;
			finish_slot(&slots[i]);
		}
	/* rate over the time until the last answer (the tail of the last requests included) */
	return (double)((t_end > t0 ? t_end : ns_now()) - t0) / 1e9;
}

/* --watch: one update at a time; after each NOERROR, poll the secondary until it serves
 * the new address. Returns the delays in us in wlat, their number in *wn. */
static void run_watch(int fd, uint32_t *wlat, uint64_t *wn, uint64_t *wmiss)
{
	int wfd = udp_to(&opt.watch);
	for (uint64_t k = 0; k < opt.count; k++) {
		struct slot *s = &slots[0];
		start_slot(s, fd);
		uint64_t hard = ns_now() + (uint64_t)opt.timeout_ms * 1000000u * (opt.retries + 2);
		while (s->busy && ns_now() < hard) {
			uint64_t wait = check_timeouts(fd);
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, (int)(wait / 1000000u) + 1) > 0)
				drain(fd);
		}
		if (s->busy) {
			given_up++;
			finish_slot(s);
		}
		if (last_addr[s->host] != s->addr) {
			sleep_ms(opt.gap_ms);
			continue; /* not acknowledged: nothing to wait for */
		}
		uint64_t t_ack = ns_now(), end = t_ack + (uint64_t)opt.watch_timeout_ms * 1000000u;
		bool seen = false;
		while (!seen && ns_now() < end) {
			uint32_t got[16];
			int n = query_a(wfd, s->host, got, 16, 200);
			if (n == 1 && got[0] == s->addr)
				seen = true;
			else
				sleep_ms(opt.poll_ms);
		}
		if (seen) {
			uint64_t us = (ns_now() - t_ack) / 1000u;
			wlat[(*wn)++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
		} else {
			(*wmiss)++;
		}
		sleep_ms(opt.gap_ms);
	}
	close(wfd);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		die("sodium_init");
	tsig_keep_keys(true); /* one key signs every request, as a client's would */
	parse_args(argc, argv);
	if (opt.watching) {
		opt.outstanding = 1;
		if (opt.count > 100000)
			opt.count = 100000;
	}
	if (opt.verify == 0)
		opt.verify = 1;
	memset(id_slot, 0xff, sizeof id_slot);
	next_id = (uint16_t)rnd();
	last_addr = calloc(opt.hosts, sizeof *last_addr);
	tainted = calloc(opt.hosts, 1);
	ack_ring = calloc(opt.verify, sizeof *ack_ring);
	lat = calloc(opt.count, sizeof *lat);
	if (last_addr == NULL || tainted == NULL || ack_ring == NULL || lat == NULL)
		die("out of memory");
	int fd = udp_to(&opt.server);

	uint64_t wn = 0, wmiss = 0;
	uint32_t *wlat = NULL;
	double secs;
	uint64_t t0 = ns_now();
	if (opt.watching) {
		wlat = calloc(opt.count, sizeof *wlat);
		if (wlat == NULL)
			die("out of memory");
		run_watch(fd, wlat, &wn, &wmiss);
		secs = (double)(ns_now() - t0) / 1e9;
	} else {
		secs = run_load(fd);
	}

	/* Is the last acknowledged address of the last hosts what the server serves? */
	uint64_t checked = 0, verified = 0, mismatched = 0;
	uint64_t nring = ring_n < opt.verify ? ring_n : opt.verify;
	uint32_t last_host = 0;
	bool have_last = ring_n > 0;
	if (have_last)
		last_host = ack_ring[(ring_n - 1) % opt.verify];
	for (uint64_t i = 0; i < nring; i++) {
		uint32_t h = ack_ring[i];
		if (tainted[h])
			continue;
		uint32_t got[16];
		int n = -1;
		for (int t = 0; t < 3 && n < 0; t++)
			n = query_a(fd, h, got, 16, 1000);
		checked++;
		if (n == 1 && got[0] == last_addr[h])
			verified++;
		else
			mismatched++;
	}

	printf("{\"label\": \"%s\", \"outstanding\": %" PRIu32 ", \"hosts\": %" PRIu32
	       ", \"seconds\": %.3f, \"sent\": %" PRIu64 ", \"acked\": %" PRIu64
	       ", \"acked_per_s\": %.1f, \"retransmits\": %" PRIu64 ", \"given_up\": %" PRIu64
	       ", \"late_answers\": %" PRIu64 ", \"bad_answers\": %" PRIu64 ", \"errors\": {",
	       opt.label, opt.outstanding, opt.hosts, secs, sent, acked,
	       secs > 0 ? (double)acked / secs : 0.0, retransmits, given_up, late, answers_bad);
	bool first = true;
	for (unsigned r = 1; r < RCODES; r++)
		if (rcodes[r] != 0) {
			printf("%s\"%s\": %" PRIu64, first ? "" : ", ", dns_rcode_name(r), rcodes[r]);
			first = false;
		}
	printf("}");
	print_latency("latency_ms", lat, acked);
	if (opt.watching) {
		print_latency("secondary_ms", wlat, wn);
		printf(", \"secondary_missed\": %" PRIu64, wmiss);
	}
	printf(", \"verify\": {\"checked\": %" PRIu64 ", \"ok\": %" PRIu64 ", \"mismatched\": %" PRIu64
	       "}",
	       checked, verified, mismatched);
	if (have_last) {
		char a[INET_ADDRSTRLEN];
		struct in_addr in = {.s_addr = htonl(last_addr[last_host])};
		inet_ntop(AF_INET, &in, a, sizeof a);
		printf(", \"last\": {\"name\": \"h%" PRIu32 ".%s\", \"address\": \"%s\"}", last_host,
		       opt.zone, a);
	}
	printf("}\n");
	close(fd);
	return 0;
}
