/* SPDX-License-Identifier: MIT */
/* The rfc2136 provider: one UPDATE signed with TSIG HMAC-SHA256 that replaces the host's
 * A and/or AAAA RRset, sent over UDP (TCP when truncated), its answer verified. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "client/client.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "dns/constants.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dns/wire.h"

#define MSG_MAX       1024 /* our UPDATE: two names, four records and a TSIG */
#define ANSWER_MAX    65535
#define UDP_TRIES     2  /* send once, retry once */
#define MAX_DATAGRAMS 64 /* foreign datagrams read per try before giving up on it */

/* One exchange: the signed request and what judges an answer. */
struct exchange {
	const struct host_cfg *h;
	struct tsig_key key;
	uint8_t query[MSG_MAX];
	size_t query_len;
	uint16_t id;
	uint8_t mac[TSIG_MAC_LEN]; /* the request's MAC: the answer is signed over it */
	char server[NI_MAXHOST + NI_MAXSERV + 2];
	char discarded[160]; /* why the last answer was thrown away, for the timeout message */
};

/* What judge() made of one answer. */
enum verdict { V_ACCEPT, V_DISCARD, V_TRUNCATED };

static void result(struct publish_result *out, enum result_class cls, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void result(struct publish_result *out, enum result_class cls, const char *code,
                   const char *fmt, ...)
{
	va_list ap;
	out->cls = cls;
	np_strlcpy(out->code, code, sizeof(out->code));
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
}

/* Whether wire name zone is name itself or one of its ancestors. */
static bool name_in_zone(const uint8_t *name, size_t name_len, const uint8_t *zone, size_t zone_len)
{
	size_t pos = 0;
	for (unsigned i = 0; i < DNS_NAME_MAX && pos < name_len; i++) {
		if (name_len - pos == zone_len && memcmp(name + pos, zone, zone_len) == 0)
			return true;
		if (name[pos] == 0)
			break;
		pos += (size_t)name[pos] + 1;
	}
	return false;
}

/* The UPDATE (RFC 2136 2.5): zone section SOA; for each family, "delete the RRset" then
 * "add this record". Signed into ex. */
static int build(struct exchange *ex, const struct np_addr *v4, const struct np_addr *v6,
                 struct publish_result *out)
{
	const struct host_cfg *h = ex->h;
	uint8_t owner[DNS_NAME_MAX], zone[DNS_NAME_MAX];
	int on = dns_name_from_text(h->fqdn, owner, sizeof(owner));
	int zn = dns_name_from_text(h->zone, zone, sizeof(zone));
	if (on < 0 || zn < 0 || !name_in_zone(owner, (size_t)on, zone, (size_t)zn)) {
		result(out, RESULT_FATAL, "config", "%s is not a host name inside zone %s", h->fqdn,
		       h->zone);
		return NP_EINVAL;
	}
	if (tsig_key_init(&ex->key, h->tsig_name, h->tsig_key, h->tsig_key_len) != NP_OK) {
		result(out, RESULT_FATAL, "config", "tsig_key '%s' with its secret is not usable",
		       h->tsig_name);
		return NP_EINVAL;
	}

	const struct np_addr *addrs[2] = {v4, v6};
	unsigned n_updates = 0;
	ex->id = (uint16_t)randombytes_uniform(65536);
	struct wire_out w = wire_out_init(ex->query, sizeof(ex->query));
	wire_put_u16(&w, ex->id);
	wire_put_u16(&w, DNS_OPCODE_UPDATE << 11);
	wire_put_u16(&w, 1); /* ZOCOUNT */
	wire_put_u16(&w, 0); /* PRCOUNT */
	size_t upcount_at = w.pos;
	wire_put_u16(&w, 0); /* UPCOUNT, patched below */
	wire_put_u16(&w, 0); /* ADCOUNT: the TSIG is added by tsig_sign() */
	wire_put_bytes(&w, zone, (size_t)zn);
	wire_put_u16(&w, DNS_TYPE_SOA);
	wire_put_u16(&w, DNS_CLASS_IN);
	for (unsigned i = 0; i < 2; i++) {
		const struct np_addr *a = addrs[i];
		int fam = i == 0 ? AF_INET : AF_INET6;
		if (a == NULL || a->family != fam)
			continue;
		uint16_t type = fam == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
		uint16_t rdlen = fam == AF_INET ? 4 : 16;
		/* Delete the RRset: class ANY, TTL 0, no rdata (RFC 2136 2.5.2). */
		wire_put_bytes(&w, owner, (size_t)on);
		wire_put_u16(&w, type);
		wire_put_u16(&w, DNS_CLASS_ANY);
		wire_put_u32(&w, 0);
		wire_put_u16(&w, 0);
		/* Add the record (2.5.1). */
		wire_put_bytes(&w, owner, (size_t)on);
		wire_put_u16(&w, type);
		wire_put_u16(&w, DNS_CLASS_IN);
		wire_put_u32(&w, h->ttl);
		wire_put_u16(&w, rdlen);
		wire_put_bytes(&w, a->bytes, rdlen);
		n_updates += 2;
	}
	if (n_updates == 0) {
		result(out, RESULT_FATAL, "config", "no address to publish for %s", h->fqdn);
		return NP_EINVAL;
	}
	if (w.err != 0) {
		result(out, RESULT_FATAL, "config", "the update for %s does not fit a message",
		       h->fqdn);
		return NP_ETOOBIG;
	}
	wire_store_u16(ex->query + upcount_at, (uint16_t)n_updates);
	ex->query_len = w.pos;
	struct tsig_vars v = {.time_signed = (uint64_t)time_now(), .fudge = TSIG_FUDGE};
	if (tsig_sign(&ex->key, ex->query, &ex->query_len, sizeof(ex->query), NULL, 0, &v,
	              ex->mac) != NP_OK) {
		result(out, RESULT_FATAL, "config", "the signed update for %s does not fit",
		       h->fqdn);
		return NP_ETOOBIG;
	}
	return NP_OK;
}

/* Turns a TSIG error into the result; the answer carrying it was checked by the caller. */
static void tsig_error_result(struct exchange *ex, uint16_t err, const char *how,
                              const struct tsig_rr *rr, struct publish_result *out)
{
	const struct host_cfg *h = ex->h;
	switch (err) {
	case TSIG_ERR_BADSIG:
		result(out, RESULT_FATAL, "BADSIG",
		       "the server rejected the signature%s: the tsig_secret of key '%s' does "
		       "not match the server's",
		       how, h->tsig_name);
		return;
	case TSIG_ERR_BADKEY:
		result(out, RESULT_FATAL, "BADKEY",
		       "the server does not know key '%s' with algorithm hmac-sha256%s",
		       h->tsig_name, how);
		return;
	case TSIG_ERR_BADTIME: {
		long long skew = 0;
		if (rr != NULL && rr->vars.other_len == 6) {
			uint64_t st = (uint64_t)wire_load_u16(rr->vars.other) << 32 |
			              wire_load_u32(rr->vars.other + 2);
			skew = (long long)st - (long long)time_now();
		} else if (rr != NULL) {
			skew = (long long)rr->vars.time_signed - (long long)time_now();
		}
		result(out, RESULT_FATAL, "BADTIME",
		       "this machine's clock and the server's differ by more than %u s "
		       "(about %lld s)%s: fix the clock (NTP)",
		       (unsigned)TSIG_FUDGE, skew, how);
		return;
	}
	default:
		result(out, RESULT_FATAL, dns_rcode_name(err),
		       "the server refused the TSIG signature (%s)%s", dns_rcode_name(err), how);
		return;
	}
}

static void rcode_result(struct exchange *ex, unsigned rcode, const char *how,
                         struct publish_result *out)
{
	const struct host_cfg *h = ex->h;
	const char *name = dns_rcode_name(rcode);
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		result(out, RESULT_OK, "NOERROR", "the server applied the update");
		return;
	case DNS_RCODE_SERVFAIL:
		result(out, RESULT_TRANSIENT, name,
		       "the server failed to apply the update (SERVFAIL)%s; will retry", how);
		return;
	case DNS_RCODE_FORMERR:
		result(out, RESULT_FATAL, name, "the server could not parse the update (FORMERR)%s",
		       how);
		return;
	case DNS_RCODE_NOTIMP:
		result(out, RESULT_FATAL, name,
		       "the server does not accept dynamic updates (NOTIMP)%s", how);
		return;
	case DNS_RCODE_REFUSED:
		result(out, RESULT_FATAL, name,
		       "the server refused the update (REFUSED)%s: its policy does not let key "
		       "'%s' change %s",
		       how, h->tsig_name, h->fqdn);
		return;
	case DNS_RCODE_NOTAUTH:
		result(out, RESULT_FATAL, name,
		       "the server is not authoritative for zone %s or does not let key '%s' "
		       "update it (NOTAUTH)%s",
		       h->zone, h->tsig_name, how);
		return;
	case DNS_RCODE_NOTZONE:
		result(out, RESULT_FATAL, name,
		       "%s is not inside zone %s for the server (NOTZONE)%s", h->fqdn, h->zone,
		       how);
		return;
	case DNS_RCODE_NXDOMAIN:
	case DNS_RCODE_YXDOMAIN:
	case DNS_RCODE_YXRRSET:
	case DNS_RCODE_NXRRSET:
		/* We send no prerequisites: the server misread the update; it would again. */
		result(out, RESULT_FATAL, name,
		       "the server answered %s to an update without prerequisites%s", name, how);
		return;
	default:
		result(out, RESULT_TRANSIENT, "badanswer", "unexpected answer code %u%s", rcode,
		       how);
		return;
	}
}

static void discard(struct exchange *ex, const char *why)
{
	np_strlcpy(ex->discarded, why, sizeof(ex->discarded));
	log_debug("rfc2136 %s: ignored an answer from %s: %s", ex->h->fqdn, ex->server, why);
}

/* Decides about one answer. Nothing unsigned is ever taken as success: a NOERROR must
 * carry a TSIG that verifies over our request's MAC. Error answers the RFCs let a server
 * send unsigned (BADKEY/BADSIG with an empty MAC, FORMERR...) are taken when they match
 * our ID, opcode and key, and say so in the message. */
static enum verdict judge(struct exchange *ex, const uint8_t *ans, size_t len,
                          struct publish_result *out)
{
	struct wire c = wire_init(ans, len);
	struct dns_hdr hdr;
	dns_hdr_read(&c, &hdr);
	if (c.err != 0) {
		discard(ex, "an answer shorter than a DNS header");
		return V_DISCARD;
	}
	if (hdr.id != ex->id || !(hdr.flags & DNS_FLAG_QR) ||
	    (hdr.flags & DNS_OPCODE_MASK) >> 11 != DNS_OPCODE_UPDATE) {
		discard(ex, "an answer that does not match the update (ID or opcode)");
		return V_DISCARD;
	}
	if (hdr.flags & DNS_FLAG_TC)
		return V_TRUNCATED;
	unsigned rcode = hdr.flags & DNS_RCODE_MASK;

	struct tsig_rr rr;
	int ret = tsig_find(ans, len, &rr);
	if (ret == NP_EMALFORMED) {
		discard(ex, "a malformed answer");
		return V_DISCARD;
	}
	if (ret == NP_ENOTFOUND) {
		if (rcode == DNS_RCODE_NOERROR) {
			discard(ex, "an unsigned NOERROR answer (not trusted)");
			return V_DISCARD;
		}
		rcode_result(ex, rcode, " (unsigned answer)", out);
		return V_ACCEPT;
	}
	bool our_key = rr.key_name_len == ex->key.name_len &&
	               memcmp(rr.key_name, ex->key.name, rr.key_name_len) == 0;
	if (rr.mac_len == 0) {
		/* RFC 8945 5.3.2: BADKEY and BADSIG answers carry an empty MAC. */
		if (!our_key || rcode != DNS_RCODE_NOTAUTH || rr.vars.error == 0) {
			discard(ex, "an unsigned answer that is not a TSIG error");
			return V_DISCARD;
		}
		tsig_error_result(ex, rr.vars.error, "", NULL, out);
		return V_ACCEPT;
	}
	uint16_t terr = 0;
	ret = tsig_verify(&ex->key, ans, len, &rr, ex->mac, tsig_mac_len(ex->key.alg), time_now(), &terr);
	if (ret == NP_EDENIED && terr == TSIG_ERR_BADTIME) {
		/* The MAC verified (it is checked first): only the clocks differ. */
		tsig_error_result(ex, TSIG_ERR_BADTIME, "", &rr, out);
		return V_ACCEPT;
	}
	if (ret != NP_OK) {
		discard(ex, terr == TSIG_ERR_BADKEY
		                ? "an answer signed with another key"
		                : "an answer whose TSIG signature does not verify");
		return V_DISCARD;
	}
	if (rr.vars.error != 0) {
		tsig_error_result(ex, rr.vars.error, "", &rr, out);
		return V_ACCEPT;
	}
	rcode_result(ex, rcode, "", out);
	return V_ACCEPT;
}

static int ms_left(int64_t deadline)
{
	int64_t left = deadline - time_mono_ms();
	return left <= 0 ? 0 : (left > 3600000 ? 3600000 : (int)left);
}

/* UDP: send, wait up to timeout_ms for an answer judge() accepts, retry once. */
static enum verdict udp_exchange(struct exchange *ex, unsigned timeout_ms,
                                 struct publish_result *out)
{
	const struct host_cfg *h = ex->h;
	uint8_t *ans = NULL;
	enum verdict v = V_DISCARD;
	bool refused = false;
	int fd = socket(h->dns_server.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		result(out, RESULT_TRANSIENT, "network", "cannot open a UDP socket: %s",
		       strerror(errno));
		goto done;
	}
	if (connect(fd, (const struct sockaddr *)&h->dns_server, h->dns_server_len) != 0) {
		result(out, RESULT_TRANSIENT, "network", "cannot reach %s: %s", ex->server,
		       strerror(errno));
		goto done;
	}
	ans = malloc(ANSWER_MAX);
	if (ans == NULL) {
		result(out, RESULT_TRANSIENT, "network", "out of memory");
		goto done;
	}
	for (unsigned try = 0; try < UDP_TRIES; try++) {
		if (send(fd, ex->query, ex->query_len, 0) < 0) {
			if (errno == ECONNREFUSED) {
				refused = true;
				continue;
			}
			result(out, RESULT_TRANSIENT, "network", "cannot send to %s: %s",
			       ex->server, strerror(errno));
			goto done;
		}
		int64_t deadline = time_mono_ms() + timeout_ms;
		for (unsigned n = 0; n < MAX_DATAGRAMS; n++) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int r = poll(&p, 1, ms_left(deadline));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			ssize_t got = recv(fd, ans, ANSWER_MAX, 0);
			if (got < 0) {
				if (errno == ECONNREFUSED) { /* ICMP port unreachable */
					refused = true;
					break;
				}
				if (errno == EINTR || errno == EAGAIN)
					continue;
				result(out, RESULT_TRANSIENT, "network",
				       "cannot receive from %s: %s", ex->server, strerror(errno));
				goto done;
			}
			v = judge(ex, ans, (size_t)got, out);
			if (v != V_DISCARD)
				goto done;
		}
	}
	if (refused && ex->discarded[0] == '\0')
		result(out, RESULT_TRANSIENT, "network",
		       "%s refused the connection (no DNS server listening?)", ex->server);
	else if (ex->discarded[0] != '\0')
		result(out, RESULT_TRANSIENT, "timeout",
		       "no valid answer from %s within %u s (%u tries); the last one was %s",
		       ex->server, timeout_ms / 1000, UDP_TRIES, ex->discarded);
	else
		result(out, RESULT_TRANSIENT, "timeout", "no answer from %s within %u s (%u tries)",
		       ex->server, timeout_ms / 1000, UDP_TRIES);
done:
	free(ans);
	if (fd >= 0)
		close(fd);
	return v;
}

/* Waits for fd to become ready for events; false on timeout or error. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
	for (unsigned i = 0; i < 16; i++) {
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
	return false;
}

/* Reads exactly n bytes before the deadline. */
static bool read_full(int fd, uint8_t *buf, size_t n, int64_t deadline)
{
	size_t got = 0;
	while (got < n) {
		if (!wait_fd(fd, POLLIN, deadline))
			return false;
		ssize_t r = read(fd, buf + got, n - got);
		if (r == 0)
			return false;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return false;
		}
		got += (size_t)r; /* progress each round: at most n rounds */
	}
	return true;
}

/* TCP (RFC 1035 4.2.2 framing), after a truncated UDP answer. */
static void tcp_exchange(struct exchange *ex, unsigned timeout_ms, struct publish_result *out)
{
	const struct host_cfg *h = ex->h;
	int64_t deadline = time_mono_ms() + timeout_ms;
	uint8_t *ans = NULL;
	uint8_t frame[2 + MSG_MAX];
	int fd = socket(h->dns_server.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		result(out, RESULT_TRANSIENT, "network", "cannot open a TCP socket: %s",
		       strerror(errno));
		goto done;
	}
	int r = connect(fd, (const struct sockaddr *)&h->dns_server, h->dns_server_len);
	if (r != 0 && errno != EINPROGRESS) {
		result(out, RESULT_TRANSIENT, "network", "cannot connect to %s over TCP: %s",
		       ex->server, strerror(errno));
		goto done;
	}
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (!wait_fd(fd, POLLOUT, deadline) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		result(out, RESULT_TRANSIENT, soerr != 0 ? "network" : "timeout",
		       "cannot connect to %s over TCP: %s", ex->server,
		       soerr != 0 ? strerror(soerr) : "timed out");
		goto done;
	}
	wire_store_u16(frame, (uint16_t)ex->query_len);
	memcpy(frame + 2, ex->query, ex->query_len);
	size_t sent = 0, total = ex->query_len + 2;
	while (sent < total) {
		if (!wait_fd(fd, POLLOUT, deadline))
			break;
		ssize_t w = send(fd, frame + sent, total - sent, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	uint8_t lenbuf[2];
	ans = malloc(ANSWER_MAX);
	if (sent < total || ans == NULL || !read_full(fd, lenbuf, 2, deadline)) {
		result(out, RESULT_TRANSIENT, "timeout", "no answer from %s over TCP within %u s",
		       ex->server, timeout_ms / 1000);
		goto done;
	}
	size_t alen = wire_load_u16(lenbuf);
	if (!read_full(fd, ans, alen, deadline)) {
		result(out, RESULT_TRANSIENT, "timeout", "a cut answer from %s over TCP",
		       ex->server);
		goto done;
	}
	enum verdict v = judge(ex, ans, alen, out);
	if (v == V_DISCARD)
		result(out, RESULT_TRANSIENT, "badanswer", "%s answered over TCP with %s",
		       ex->server, ex->discarded);
	else if (v == V_TRUNCATED)
		result(out, RESULT_TRANSIENT, "badanswer", "%s sent a truncated answer over TCP",
		       ex->server);
done:
	free(ans);
	if (fd >= 0)
		close(fd);
}

void provider_rfc2136(const struct client_cfg *cfg, const struct host_cfg *h,
                      const struct np_addr *v4, const struct np_addr *v6,
                      struct publish_result *out)
{
	struct exchange *ex = NULL;
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	memset(out, 0, sizeof(*out));
	if (h->dns_server_len == 0 || h->tsig_name[0] == '\0' || h->tsig_key_len == 0) {
		result(out, RESULT_FATAL, "config",
		       "rfc2136 needs dns_server, tsig_key and tsig_secret");
		return;
	}
	ex = calloc(1, sizeof(*ex));
	if (ex == NULL) {
		result(out, RESULT_TRANSIENT, "network", "out of memory");
		return;
	}
	ex->h = h;
	if (getnameinfo((const struct sockaddr *)&h->dns_server, h->dns_server_len, host,
	                sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(ex->server, sizeof(ex->server), "%s@%s", host, serv);
	else
		np_strlcpy(ex->server, "the DNS server", sizeof(ex->server));
	if (build(ex, v4, v6, out) != NP_OK)
		goto done;

	unsigned timeout_ms = (cfg->timeout > 0 ? cfg->timeout : 15) * 1000u;
	if (udp_exchange(ex, timeout_ms, out) == V_TRUNCATED)
		tcp_exchange(ex, timeout_ms, out);
	log_debug("rfc2136 %s via %s: %s (%s)", h->fqdn, ex->server, out->code, out->message);
done:
	sodium_memzero(ex, sizeof(*ex));
	free(ex);
}
