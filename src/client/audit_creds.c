/* SPDX-License-Identifier: MIT */
/* The audit's opt-in default-credential check (--credentials): telnet and HTTP Basic logins
 * with Mirai's most used pairs and common router defaults, only against this network's own
 * LAN addresses, at most AUDIT_CRED_MAX_ATTEMPTS per device, AUDIT_CRED_PAUSE_MS apart.
 * The password that worked is never kept, printed or logged: only the user name. */
#include "client/audit.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/macros.h"

/* In order of use: Mirai's heaviest pairs (scanner.c weights) and the router defaults that
 * the Avast/nmap checkers try first. Never more than AUDIT_CRED_MAX_ATTEMPTS are used. */
static const struct {
	const char *user, *pass;
} pairs[] = {
    {"admin", "admin"},    {"root", "xc3511"}, {"root", "vizxv"},  {"root", "admin"},
    {"admin", "password"}, {"admin", ""},      {"root", "888888"}, {"admin", "1234"},
};
_Static_assert(ARRAY_SIZE(pairs) <= AUDIT_CRED_MAX_ATTEMPTS, "the attempt bound holds");

static bool v4_private(const struct np_addr *a)
{
	const uint8_t *b = a->bytes;
	return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
	       (b[0] == 198 && (b[1] & 0xfe) == 18); /* 198.18.0.0/15: benchmark nets */
}

bool audit_addr_on_lan(const struct np_addr *a)
{
	if (a->family != AF_INET || !v4_private(a))
		return false;
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) != 0)
		return false;
	bool on = false;
	unsigned n = 0;
	for (struct ifaddrs *i = ifs; i != NULL && !on && n < 4096; i = i->ifa_next, n++) {
		if (i->ifa_addr == NULL || i->ifa_netmask == NULL ||
		    i->ifa_addr->sa_family != AF_INET)
			continue;
		uint32_t addr = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		uint32_t mask = ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr;
		uint32_t want;
		memcpy(&want, a->bytes, 4);
		if (mask == 0 || (ntohl(addr) >> 24) == 127)
			continue;
		/* Our own subnet, and that subnet private too: a public WAN subnet is not the LAN. */
		struct np_addr own = {.family = AF_INET};
		memcpy(own.bytes, &addr, 4);
		on = (addr & mask) == (want & mask) && v4_private(&own);
	}
	freeifaddrs(ifs);
	return on;
}

static int connect_to(const struct audit_cred_target *t, unsigned timeout_s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(t->port)};
	memcpy(&sa.sin_addr, t->addr.bytes, 4);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		goto fail;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t el = sizeof(err);
	if (poll(&p, 1, (int)timeout_s * 1000) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static bool send_all(int fd, const char *s, size_t len)
{
	size_t off = 0;
	for (int k = 0; off < len && k < 16; k++) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, 2000) != 1)
			return false;
		ssize_t w = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN)
			return false;
		if (w > 0)
			off += (size_t)w;
	}
	return off == len;
}

/* Reads into buf (telnet option negotiation stripped and refused) until one of the words
 * appears (case-insensitive), EOF, or wait_ms. Returns the index of the word found, -1. */
static int read_until(int fd, char *buf, size_t cap, size_t *len, const char *const *words,
                      unsigned wait_ms)
{
	int64_t end = time_mono_ms() + wait_ms;
	for (int rounds = 0; rounds < 64; rounds++) {
		buf[*len] = '\0';
		for (int w = 0; words[w] != NULL; w++)
			if (strcasestr(buf, words[w]) != NULL)
				return w;
		int left = (int)(end - time_mono_ms());
		if (left <= 0 || *len + 1 >= cap)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, left) != 1)
			return -1;
		unsigned char in[512];
		ssize_t n = recv(fd, in, sizeof(in), 0);
		if (n <= 0)
			return -1;
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] == 255 && i + 2 < n && in[i + 1] >= 251) {
				/* IAC WILL/WONT/DO/DONT x: answer DONT/WONT, keep nothing. */
				unsigned char r[3] = {255, in[i + 1] <= 252 ? 254 : 252, in[i + 2]};
				(void)send_all(fd, (const char *)r, 3);
				i += 2;
				continue;
			}
			if (in[i] != 0 && *len + 1 < cap)
				buf[(*len)++] = isprint(in[i]) || in[i] == '\n' || in[i] == '\r'
				                    ? (char)in[i]
				                    : ' ';
		}
	}
	return -1;
}

/* One telnet login; true when the device let us in. */
static bool telnet_once(const struct audit_cred_target *t, unsigned timeout_s, const char *user,
                        const char *pass, bool *talked)
{
	static const char *const login_w[] = {"login:", "username:", "user:", NULL};
	static const char *const pass_w[] = {"password:", NULL};
	static const char *const after_w[] = {"incorrect", "failed", "denied", "invalid", "login:",
	                                      "# ",        "$ ",     "> ",     "welcome", NULL};
	char buf[2048], line[128];
	size_t len = 0;
	bool ok = false;
	int fd = connect_to(t, timeout_s);
	if (fd < 0)
		return false;
	if (read_until(fd, buf, sizeof(buf), &len, login_w, timeout_s * 1000) < 0)
		goto out;
	*talked = true;
	snprintf(line, sizeof(line), "%s\r\n", user);
	len = 0;
	if (!send_all(fd, line, strlen(line)) ||
	    read_until(fd, buf, sizeof(buf), &len, pass_w, timeout_s * 1000) < 0)
		goto out;
	snprintf(line, sizeof(line), "%s\r\n", pass);
	len = 0;
	if (!send_all(fd, line, strlen(line)))
		goto out;
	int w = read_until(fd, buf, sizeof(buf), &len, after_w, timeout_s * 1000);
	ok = w >= 5; /* a prompt or a welcome, not a refusal */
out:
	sodium_memzero(line, sizeof(line));
	close(fd);
	return ok;
}

/* One HTTP Basic request for "/"; *status gets the HTTP status (0: none). */
static void http_once(const struct audit_cred_target *t, unsigned timeout_s, const char *user,
                      const char *pass, unsigned *status)
{
	static const char *const end_w[] = {"\r\n\r\n", "\n\n", NULL};
	char cred[96], b64[sodium_base64_ENCODED_LEN(96, sodium_base64_VARIANT_ORIGINAL)];
	char req[512], buf[2048], host[INET_ADDRSTRLEN];
	size_t len = 0;
	*status = 0;
	inet_ntop(AF_INET, t->addr.bytes, host, sizeof(host));
	int fd = connect_to(t, timeout_s);
	if (fd < 0)
		return;
	if (user != NULL) {
		int n = snprintf(cred, sizeof(cred), "%s:%s", user, pass);
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)cred, (size_t)n,
		                  sodium_base64_VARIANT_ORIGINAL);
		snprintf(req, sizeof(req),
		         "GET / HTTP/1.0\r\nHost: %s\r\nUser-Agent: " CLIENT_USER_AGENT
		         " (audit)\r\nAuthorization: Basic %s\r\n\r\n",
		         host, b64);
	} else {
		snprintf(req, sizeof(req),
		         "GET / HTTP/1.0\r\nHost: %s\r\nUser-Agent: " CLIENT_USER_AGENT
		         " (audit)\r\n\r\n",
		         host);
	}
	/* "HTTP/1.x NNN": the status is the three digits after the first blank. */
	if (send_all(fd, req, strlen(req)) &&
	    read_until(fd, buf, sizeof(buf), &len, end_w, timeout_s * 1000) >= 0 &&
	    strncmp(buf, "HTTP/1.", 7) == 0 && len >= 12 && buf[8] == ' ' &&
	    isdigit((unsigned char)buf[9]) && isdigit((unsigned char)buf[10]) &&
	    isdigit((unsigned char)buf[11]))
		*status = (unsigned)((buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0'));
	sodium_memzero(cred, sizeof(cred));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(req, sizeof(req));
	close(fd);
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void audit_cred_try(const struct audit_cred_target *t, unsigned timeout_s,
                    struct audit_cred_result *out)
{
	memset(out, 0, sizeof(*out));
	if (timeout_s == 0)
		timeout_s = 1;
	if (t->addr.family != AF_INET || !audit_addr_on_lan(&t->addr)) {
		snprintf(out->detail, sizeof(out->detail), "not on this network's LAN: not tried");
		return;
	}
	if (t->http) {
		/* Only a page that asks for Basic auth is tried. */
		unsigned st;
		http_once(t, timeout_s, NULL, NULL, &st);
		if (st != 401) {
			snprintf(out->detail, sizeof(out->detail), "%s",
			         st == 0 ? "no HTTP answer" : "no Basic-auth login asked for");
			return;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(pairs) && out->attempts < AUDIT_CRED_MAX_ATTEMPTS; i++) {
		if (i > 0)
			pause_ms(AUDIT_CRED_PAUSE_MS);
		out->attempts++;
		bool in = false, talked = false;
		if (t->http) {
			unsigned st;
			http_once(t, timeout_s, pairs[i].user, pairs[i].pass, &st);
			in = st >= 200 && st < 300;
			talked = st != 0;
		} else {
			in = telnet_once(t, timeout_s, pairs[i].user, pairs[i].pass, &talked);
		}
		if (in) {
			out->accepted = true;
			snprintf(out->user, sizeof(out->user), "%s", pairs[i].user);
			snprintf(out->detail, sizeof(out->detail), "a default login was accepted");
			return;
		}
		if (!talked) {
			snprintf(out->detail, sizeof(out->detail), "%s",
			         t->http ? "no HTTP answer" : "no telnet login prompt");
			return;
		}
	}
	snprintf(out->detail, sizeof(out->detail), "no default login accepted");
}
