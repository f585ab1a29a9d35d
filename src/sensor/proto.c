/* SPDX-License-Identifier: MIT */
/* Honeypot protocol helpers: the telnet line decoder, credential cleaning, the HTTP request
 * head parser and the known IoT exploit paths. Pure functions over attacker input. */
#include <string.h>
#include <strings.h>

#include "common/macros.h"
#include "sensor/sensor.h"

/* Telnet (RFC 854) bytes. */
#define IAC  255
#define DONT 254
#define DO   253
#define WONT 252
#define WILL 251
#define SB   250
#define SE   240

enum tstate {
	TS_DATA,
	TS_CR,     /* a CR ended the last line: eat one LF or NUL */
	TS_IAC,    /* after IAC */
	TS_OPT,    /* after IAC WILL/WONT/DO/DONT: the option byte follows */
	TS_SB,     /* inside a subnegotiation */
	TS_SB_IAC, /* IAC inside a subnegotiation */
};

void sensor_telnet_init(struct sensor_telnet *t)
{
	memset(t, 0, sizeof(*t));
	t->state = TS_DATA;
}

static void put(struct sensor_telnet *t, uint8_t ch)
{
	/* Bytes beyond the limit are dropped; the line still ends at its terminator. */
	if (t->len < SENSOR_LINE_MAX)
		t->line[t->len++] = (char)ch;
}

bool sensor_telnet_feed(struct sensor_telnet *t, const uint8_t *buf, size_t n, size_t *used)
{
	size_t i = 0;
	bool done = false;
	if (t->have_line) {
		t->have_line = false;
		t->len = 0;
		t->line[0] = '\0';
	}
	while (i < n && !done) {
		uint8_t ch = buf[i++];
		switch (t->state) {
		case TS_CR:
			t->state = TS_DATA;
			if (ch == '\n' || ch == '\0')
				break;
			/* a lone CR: ch starts the next line */
			__attribute__((fallthrough));
		case TS_DATA:
			if (ch == IAC) {
				t->state = TS_IAC;
			} else if (ch == '\r' || ch == '\n') {
				t->line[t->len] = '\0';
				t->state = ch == '\r' ? TS_CR : TS_DATA;
				t->have_line = true;
				done = true;
			} else {
				put(t, ch);
			}
			break;
		case TS_IAC:
			if (ch == IAC) {
				put(t, ch); /* an escaped 0xff data byte */
				t->state = TS_DATA;
			} else if (ch == WILL || ch == WONT || ch == DO || ch == DONT) {
				t->state = TS_OPT;
			} else if (ch == SB) {
				t->state = TS_SB;
			} else {
				t->state = TS_DATA; /* a two-byte command (NOP, AYT, ...) */
			}
			break;
		case TS_OPT:
			t->state = TS_DATA;
			break;
		case TS_SB:
			if (ch == IAC)
				t->state = TS_SB_IAC;
			break;
		case TS_SB_IAC:
			t->state = ch == SE ? TS_DATA : TS_SB;
			break;
		default:
			t->state = TS_DATA;
			break;
		}
	}
	*used = i;
	return done;
}

void sensor_cred_clean(char *out, const char *in, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o < SENSOR_CRED_MAX; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == '\0')
			break;
		if (ch < 0x20 || ch == 0x7f)
			continue;
		/* The batch is JSON: only printable ASCII is sure to be valid UTF-8. */
		out[o++] = ch >= 0x80 ? '?' : (char)ch;
	}
	out[o] = '\0';
}

/* Copies a field of attacker text as printable ASCII, truncated to outlen - 1. */
static void copy_text(char *out, size_t outlen, const char *in, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		out[o++] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
	}
	out[o] = '\0';
}

/* The end of the line starting at p (at its '\n' or '\r\n'), within end. */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return NULL;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

int sensor_http_parse(const char *buf, size_t len, struct sensor_http_req *out)
{
	memset(out, 0, sizeof(*out));
	const char *p = buf, *end = buf + len;
	const char *le = line_end(p, end);
	if (le == NULL)
		return len >= SENSOR_HTTP_HEAD ? NP_EMALFORMED : NP_EAGAIN;

	/* Request line: METHOD SP TARGET SP HTTP/x.y */
	const char *sp1 = memchr(p, ' ', (size_t)(le - p));
	if (sp1 == NULL || sp1 == p || (size_t)(sp1 - p) >= sizeof(out->method))
		return NP_EMALFORMED;
	for (const char *q = p; q < sp1; q++)
		if (*q < 'A' || *q > 'Z')
			return NP_EMALFORMED;
	const char *tgt = sp1 + 1;
	const char *sp2 = le;
	while (sp2 > tgt && sp2[-1] != ' ')
		sp2--;
	if (sp2 <= tgt || (size_t)(le - sp2) < 8 || strncmp(sp2, "HTTP/", 5) != 0)
		return NP_EMALFORMED;
	memcpy(out->method, p, (size_t)(sp1 - p));
	copy_text(out->target, sizeof(out->target), tgt, (size_t)(sp2 - 1 - tgt));

	/* Header lines until the empty one. */
	p = le + (*le == '\r' ? 2 : 1);
	for (unsigned lines = 0; lines < 200; lines++) {
		le = line_end(p, end);
		if (le == NULL)
			return len >= SENSOR_HTTP_HEAD ? NP_EMALFORMED : NP_EAGAIN;
		if (le == p) {
			out->head_len = (size_t)(le + (*le == '\r' ? 2 : 1) - buf);
			return NP_OK;
		}
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon != NULL) {
			size_t nlen = (size_t)(colon - p);
			const char *v = colon + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			if (nlen == 10 && strncasecmp(p, "user-agent", 10) == 0) {
				copy_text(out->agent, sizeof(out->agent), v, (size_t)(le - v));
			} else if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
				size_t cl = 0;
				for (; v < le && *v >= '0' && *v <= '9'; v++)
					cl = cl > SENSOR_HTTP_HEAD ? cl
					                           : cl * 10 + (size_t)(*v - '0');
				out->content_length = cl;
			}
		}
		p = le + (*le == '\r' ? 2 : 1);
	}
	return NP_EMALFORMED;
}

/* Request targets of exploits that IoT botnets spray (the variant ports and the Mirai /
 * Satori / Mozi families' public exploit modules). Substring matches on the target. */
static const char *const exploit_paths[] = {
    "/ctrlt/DeviceUpgrade_1",    /* Huawei HG532 UPnP, CVE-2017-17215 (37215) */
    "/picsdesc.xml",             /* Realtek SDK miniigd UPnP, CVE-2014-8361 (52869) */
    "/wanipcn.xml",              /* the same UPnP service, other variants */
    "/GponForm/diag_Form",       /* Dasan GPON routers, CVE-2018-10561/10562 */
    "/shell?",                   /* MVPower DVR TV-7104HE shell */
    "/boaform/admin/formLogin",  /* OptiLink / Netlink GPON (boa) */
    "/boaform/admin/formPing",   /* the same family, command injection */
    "/setup.cgi",                /* Netgear DGN1000 / DGN2200 */
    "/cgi-bin/luci",             /* LuCI command injections (several vendors) */
    "/HNAP1",                    /* D-Link HNAP, CVE-2015-2051 */
    "/UD/act?1",                 /* TR-064 NewNTPServer injection (7547/5555) */
    "/tmUnblock.cgi",            /* Linksys E-series "TheMoon" */
    "/hedwig.cgi",               /* D-Link DIR */
    "/command.php",              /* D-Link DIR-300/600 */
    "/apply.cgi",                /* Linksys / Netgear apply handlers */
    "/cgi-bin/ViewLog.asp",      /* Zyxel / Billion */
    "/board.cgi",                /* Vacron NVR */
    "/language/Swedish",         /* Hi-Link / Netsys cameras */
    "/cgi-bin/mainfunction.cgi", /* DrayTek Vigor, CVE-2020-8515 */
    "/mgmt/tm/util/bash",        /* F5 BIG-IP iControl */
    "/cgi-bin/kerbynet",         /* Zeroshell */
    "/ping.cgi",                 /* various router diagnostics */
    "/device.rsp",               /* TBK DVR, CVE-2018-9995 */
    "/vendor.cgi",               /* various cameras */
    "/cgi-bin/supervisor",       /* Vivotek-style camera CGIs */
    "/GponForm/",                /* other GPON form handlers */
};

const char *sensor_exploit_match(const char *target)
{
	for (size_t i = 0; i < ARRAY_SIZE(exploit_paths); i++)
		if (strstr(target, exploit_paths[i]) != NULL)
			return exploit_paths[i];
	return NULL;
}

/* A case-insensitive search for needle in hay[0..len). */
static const char *find_ci(const char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	for (size_t i = 0; i + nl <= len; i++)
		if (strncasecmp(hay + i, needle, nl) == 0)
			return hay + i;
	return NULL;
}

bool sensor_download_match(const char *text, size_t len)
{
	static const char *const cmds[] = {"wget", "curl", "tftp", "ftpget"};
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		const char *hit = find_ci(text, len, cmds[i]);
		while (hit != NULL) {
			/* The command word, then (within a short span, URL-encoded spaces
			 * included) something that names a host: a URL or a dotted address. */
			size_t off = (size_t)(hit - text) + strlen(cmds[i]);
			size_t span = len - off < 96 ? len - off : 96;
			const char *rest = text + off;
			if (find_ci(rest, span, "http://") != NULL ||
			    find_ci(rest, span, "https://") != NULL)
				return true;
			unsigned digits_dots = 0;
			for (size_t k = 0; k < span; k++) {
				char ch = rest[k];
				if ((ch >= '0' && ch <= '9') || ch == '.')
					digits_dots++;
				else if (digits_dots >= 7)
					break;
				else
					digits_dots = 0;
			}
			if (digits_dots >= 7)
				return true;
			size_t next = (size_t)(hit - text) + 1;
			hit = next < len ? find_ci(text + next, len - next, cmds[i]) : NULL;
		}
	}
	return false;
}
