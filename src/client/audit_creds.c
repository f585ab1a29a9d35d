/* SPDX-License-Identifier: MIT */
/* The audit's opt-in default-credential check (--credentials): telnet, HTTP Basic and HTTP
 * form logins with Mirai's most used pairs and common router defaults, only against this network's own
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
#include <stdlib.h>
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

/* ---- HTTP form logins ---- */

/* A whole answer: HTTP/1.0, read until the device closes, at most cap - 1 bytes. */
#define FORM_ANSWER_MAX 16384
#define FORM_COOKIE_MAX 512

struct http_answer {
	unsigned status;
	char text[FORM_ANSWER_MAX]; /* headers and body, NUL-terminated */
	size_t len;
	const char *body;
};

/* Sends req and reads the answer (until EOF, cap or timeout). false without a status. */
static bool http_exchange(const struct audit_cred_target *t, unsigned timeout_s, const char *req,
                          size_t req_len, struct http_answer *a)
{
	a->status = 0;
	a->len = 0;
	a->text[0] = '\0';
	a->body = a->text;
	int fd = connect_to(t, timeout_s);
	if (fd < 0)
		return false;
	bool ok = send_all(fd, req, req_len);
	int64_t end = time_mono_ms() + (int64_t)timeout_s * 1000;
	for (int rounds = 0; ok && rounds < 256 && a->len + 1 < sizeof(a->text); rounds++) {
		int left = (int)(end - time_mono_ms());
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, left) != 1)
			break;
		ssize_t n = recv(fd, a->text + a->len, sizeof(a->text) - 1 - a->len, 0);
		if (n <= 0)
			break;
		a->len += (size_t)n;
	}
	close(fd);
	a->text[a->len] = '\0';
	for (size_t i = 0; i < a->len; i++)
		if (a->text[i] == '\0')
			a->text[i] = ' '; /* the answer is searched as a string */
	char *end_h = strstr(a->text, "\r\n\r\n");
	a->body = end_h != NULL ? end_h + 4 : a->text + a->len;
	if (strncmp(a->text, "HTTP/1.", 7) == 0 && a->len >= 12 && a->text[8] == ' ' &&
	    isdigit((unsigned char)a->text[9]) && isdigit((unsigned char)a->text[10]) &&
	    isdigit((unsigned char)a->text[11]))
		a->status = (unsigned)((a->text[9] - '0') * 100 + (a->text[10] - '0') * 10 +
		                       (a->text[11] - '0'));
	return a->status != 0;
}

/* The value of header name (the first; "" when none) into out. */
static void header_value(const struct http_answer *a, const char *name, char *out, size_t len)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	for (const char *p = strstr(a->text, "\r\n"); p != NULL && p < a->body;
	     p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl;
			while (*v == ' ')
				v++;
			size_t n = strcspn(v, "\r\n");
			snprintf(out, len, "%.*s", (int)n, v);
			return;
		}
	}
}

/* Every Set-Cookie's "name=value" joined with "; " into out (a session for the next one). */
static void cookies_of(const struct http_answer *a, char *out, size_t len)
{
	size_t o = strlen(out);
	for (const char *p = strstr(a->text, "\r\n"); p != NULL && p < a->body;
	     p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Set-Cookie:", 11) != 0)
			continue;
		const char *v = p + 13;
		while (*v == ' ')
			v++;
		size_t n = strcspn(v, ";\r\n");
		int w = snprintf(out + o, len - o, "%s%.*s", o ? "; " : "", (int)n, v);
		if (w < 0 || (size_t)w >= len - o) {
			out[o] = '\0';
			return;
		}
		o += (size_t)w;
	}
}

/* The value of attribute name in the tag [tag, end) into out ("" when absent). */
static bool tag_attr(const char *tag, const char *end, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	for (const char *p = tag; p + nl < end; p++) {
		if (strncasecmp(p, name, nl) != 0 || !isspace((unsigned char)p[-1]))
			continue;
		const char *v = p + nl;
		while (v < end && isspace((unsigned char)*v))
			v++;
		if (v >= end || *v != '=')
			continue;
		v++;
		while (v < end && isspace((unsigned char)*v))
			v++;
		char q = *v == '"' || *v == '\'' ? *v++ : '\0';
		size_t n = 0;
		while (v + n < end &&
		       (q ? v[n] != q : !isspace((unsigned char)v[n]) && v[n] != '>'))
			n++;
		snprintf(out, len, "%.*s", (int)n, v);
		return true;
	}
	return false;
}

/* The first <input type=password> of html, or NULL (also when a tag does not close). */
static const char *password_input(const char *html)
{
	for (const char *p = strcasestr(html, "<input"); p != NULL;
	     p = strcasestr(p + 6, "<input")) {
		const char *end = strchr(p, '>');
		char type[16];
		if (end == NULL)
			return NULL;
		if (tag_attr(p, end, "type", type, sizeof(type)) &&
		    strcasecmp(type, "password") == 0)
			return p;
	}
	return NULL;
}

bool audit_html_has_password(const char *html)
{
	return password_input(html) != NULL;
}

bool audit_login_form_find(const char *html, const char *page, struct audit_login_form *f)
{
	memset(f, 0, sizeof(*f));
	const char *pw = password_input(html);
	if (pw == NULL)
		return false;
	/* The form that holds it: the last <form before it. */
	const char *form = NULL;
	for (const char *p = strcasestr(html, "<form"); p != NULL && p < pw;
	     p = strcasestr(p + 5, "<form"))
		form = p;
	const char *form_end = form != NULL ? strchr(form, '>') : NULL;
	if (form == NULL || form_end == NULL)
		return false;
	const char *close = strcasestr(pw, "</form");
	if (close == NULL)
		close = html + strlen(html);
	char method[16];
	if (!tag_attr(form, form_end, "method", method, sizeof(method)) ||
	    strcasecmp(method, "post") != 0)
		return false;
	char action[sizeof(f->action) - 1];
	tag_attr(form, form_end, "action", action, sizeof(action));
	if (strstr(action, "//") != NULL || strchr(action, ':') != NULL)
		return false; /* another host (or scheme): not this device's own login */
	for (const char *c = action; *c != '\0'; c++)
		if (!isgraph((unsigned char)*c) || *c == '#')
			return false;
	if (action[0] == '\0')
		snprintf(f->action, sizeof(f->action), "%s", page);
	else
		snprintf(f->action, sizeof(f->action), "%s%s", action[0] == '/' ? "" : "/", action);
	for (const char *p = strcasestr(form_end, "<input"); p != NULL && p < close;
	     p = strcasestr(p + 6, "<input")) {
		const char *end = strchr(p, '>');
		char type[16] = "text", name[AUDIT_FORM_FIELD_MAX], value[AUDIT_FORM_FIELD_MAX];
		if (end == NULL)
			break;
		tag_attr(p, end, "type", type, sizeof(type));
		if (!tag_attr(p, end, "name", name, sizeof(name)) || name[0] == '\0')
			continue;
		if (strcasecmp(type, "password") == 0 && f->pass[0] == '\0') {
			snprintf(f->pass, sizeof(f->pass), "%s", name);
		} else if ((strcasecmp(type, "text") == 0 || strcasecmp(type, "email") == 0) &&
		           f->user[0] == '\0' && f->pass[0] == '\0') {
			snprintf(f->user, sizeof(f->user), "%s", name);
		} else if (strcasecmp(type, "hidden") == 0 && f->n_hidden < AUDIT_FORM_FIELDS_MAX) {
			tag_attr(p, end, "value", value, sizeof(value));
			snprintf(f->hidden[f->n_hidden][0], AUDIT_FORM_FIELD_MAX, "%s", name);
			snprintf(f->hidden[f->n_hidden][1], AUDIT_FORM_FIELD_MAX, "%s", value);
			f->n_hidden++;
		}
	}
	return f->user[0] != '\0' && f->pass[0] != '\0';
}

/* Appends "name=value" (urlencoded) to out; false when it does not fit. */
static bool form_add(char *out, size_t len, const char *name, const char *value)
{
	size_t o = strlen(out);
	const char *parts[2] = {name, value};
	if (o > 0 && o + 1 < len)
		out[o++] = '&';
	for (int k = 0; k < 2; k++) {
		for (const unsigned char *c = (const unsigned char *)parts[k]; *c != '\0'; c++) {
			if (o + 4 >= len)
				return false;
			if (isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~')
				out[o++] = (char)*c;
			else
				o += (size_t)snprintf(out + o, len - o, "%%%02X", *c);
		}
		if (k == 0 && o + 1 < len)
			out[o++] = '=';
	}
	out[o] = '\0';
	return true;
}

static void get_request(char *req, size_t len, const char *host, const char *path,
                        const char *cookie)
{
	snprintf(req, len,
	         "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: " CLIENT_USER_AGENT
	         " (audit)\r\n%s%s%s\r\n",
	         path, host, cookie[0] ? "Cookie: " : "", cookie, cookie[0] ? "\r\n" : "");
}

/* The login page: "/" or where "/" redirects to on this device (one hop). */
static bool login_page(const struct audit_cred_target *t, unsigned timeout_s, const char *host,
                       char *page, size_t page_len, char *cookie, size_t cookie_len,
                       struct http_answer *a)
{
	char req[1024];
	snprintf(page, page_len, "/");
	for (int hop = 0; hop < 2; hop++) {
		get_request(req, sizeof(req), host, page, cookie);
		if (!http_exchange(t, timeout_s, req, strlen(req), a))
			return false;
		cookies_of(a, cookie, cookie_len);
		if (a->status < 300 || a->status >= 400)
			return a->status == 200;
		char loc[256];
		header_value(a, "Location", loc, sizeof(loc));
		if (loc[0] != '/' || loc[1] == '/' || strcspn(loc, " \t") != strlen(loc))
			return false; /* only a path on the same device */
		snprintf(page, page_len, "%s", loc);
	}
	return false;
}

/* One form login with user/pass: true only when the device plainly let us in. After the
 * POST, a redirect is followed (with the session cookie it set) and must land on a page
 * without a login form; an answer of 200 must not be a login form itself. An error, a 401
 * or 403, or the form again is a refusal. *talked: the device answered the login page. */
static bool form_once(const struct audit_cred_target *t, unsigned timeout_s, const char *user,
                      const char *pass, bool *talked)
{
	static const char *const refused_w[] = {"incorrect", "invalid", "failed", "denied",
	                                        "wrong",     "error",   NULL};
	char host[INET_ADDRSTRLEN], page[256], cookie[FORM_COOKIE_MAX] = "";
	char body[2048] = "", req[4096];
	bool in = false;
	struct http_answer *a = malloc(sizeof(*a));
	struct audit_login_form *f = malloc(sizeof(*f));
	if (a == NULL || f == NULL)
		goto out;
	inet_ntop(AF_INET, t->addr.bytes, host, sizeof(host));
	/* A fresh page each time: its hidden values (a CSRF token) and its session. */
	if (!login_page(t, timeout_s, host, page, sizeof(page), cookie, sizeof(cookie), a) ||
	    !audit_login_form_find(a->body, page, f))
		goto out;
	*talked = true;
	bool fits = form_add(body, sizeof(body), f->user, user) &&
	            form_add(body, sizeof(body), f->pass, pass);
	for (unsigned i = 0; fits && i < f->n_hidden; i++)
		fits = form_add(body, sizeof(body), f->hidden[i][0], f->hidden[i][1]);
	if (!fits)
		goto out;
	int n = snprintf(req, sizeof(req),
	                 "POST %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: " CLIENT_USER_AGENT
	                 " (audit)\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	                 "Content-Length: %zu\r\n%s%s%s\r\n%s",
	                 f->action, host, strlen(body), cookie[0] ? "Cookie: " : "", cookie,
	                 cookie[0] ? "\r\n" : "", body);
	if (n < 0 || (size_t)n >= sizeof(req) || !http_exchange(t, timeout_s, req, (size_t)n, a))
		goto out;
	cookies_of(a, cookie, sizeof(cookie));
	if (a->status >= 300 && a->status < 400) {
		char loc[256];
		header_value(a, "Location", loc, sizeof(loc));
		if (loc[0] != '/' || loc[1] == '/' || strcspn(loc, " \t") != strlen(loc) ||
		    cookie[0] == '\0')
			goto out; /* elsewhere, or no session to be in: not a login that worked */
		get_request(req, sizeof(req), host, loc, cookie);
		if (!http_exchange(t, timeout_s, req, strlen(req), a))
			goto out;
	}
	in = a->status == 200 && !audit_html_has_password(a->body);
	for (int w = 0; in && refused_w[w] != NULL; w++)
		in = strcasestr(a->body, refused_w[w]) == NULL;
out:
	sodium_memzero(body, sizeof(body));
	sodium_memzero(req, sizeof(req));
	free(a);
	free(f);
	return in;
}

/* Whether the device shows a login form the audit would try (no login is attempted). */
static bool form_probe(const struct audit_cred_target *t, unsigned timeout_s, bool *talked)
{
	char host[INET_ADDRSTRLEN], page[256], cookie[FORM_COOKIE_MAX] = "";
	struct http_answer *a = malloc(sizeof(*a));
	struct audit_login_form *f = malloc(sizeof(*f));
	bool found = false;
	inet_ntop(AF_INET, t->addr.bytes, host, sizeof(host));
	if (a != NULL && f != NULL &&
	    login_page(t, timeout_s, host, page, sizeof(page), cookie, sizeof(cookie), a)) {
		*talked = true;
		found = audit_login_form_find(a->body, page, f);
	}
	free(a);
	free(f);
	return found;
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
	/* HTTP: a page that asks for Basic auth, else a login form; nothing else is tried. */
	bool form = false;
	snprintf(out->login, sizeof(out->login), "%s", t->http ? "http-basic" : "telnet");
	if (t->http) {
		unsigned st;
		http_once(t, timeout_s, NULL, NULL, &st);
		if (st != 401) {
			bool talked = false;
			form = st != 0 && form_probe(t, timeout_s, &talked);
			if (!form) {
				snprintf(out->detail, sizeof(out->detail), "%s",
				         st == 0 ? "no HTTP answer" : "no login asked for");
				return;
			}
			snprintf(out->login, sizeof(out->login), "http-form");
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(pairs) && out->attempts < AUDIT_CRED_MAX_ATTEMPTS; i++) {
		if (i > 0)
			pause_ms(AUDIT_CRED_PAUSE_MS);
		out->attempts++;
		bool in = false, talked = false;
		if (form) {
			in = form_once(t, timeout_s, pairs[i].user, pairs[i].pass, &talked);
		} else if (t->http) {
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
			         form      ? "the login form went away"
			         : t->http ? "no HTTP answer"
			                   : "no telnet login prompt");
			return;
		}
	}
	snprintf(out->detail, sizeof(out->detail), "no default login accepted");
}
