/* SPDX-License-Identifier: MIT */
/* The logger: the one piece of global state besides the config snapshot and signal flags. */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A line longer than this is cut (its quoted values still closed). */
#define LOG_LINE_MAX 2048

static bool log_stderr = true;
static _Atomic int log_max = LOG_INFO;
static _Atomic int log_fmt = LOG_FORMAT_TEXT;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* The lines a thread holds between log_hold and log_release, written with one write: the
 * UPDATE service logs each answered UPDATE, and a write per line was a sixth of its time
 * under load. Fifty lines of an UPDATE's length (about 150 bytes) fit. */
#define LOG_HOLD_MAX 8192
static _Thread_local struct {
	bool on;
	size_t n;
	char b[LOG_HOLD_MAX];
} held;
_Static_assert(LOG_LINE_MAX <= LOG_HOLD_MAX, "a line always fits once the held ones are out");

static const char *const level_names[] = {"emerg",   "alert",  "crit", "error",
                                          "warning", "notice", "info", "debug"};

void log_init(const char *ident, bool to_stderr, int max_prio)
{
	log_stderr = to_stderr;
	log_max = max_prio;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int max_prio)
{
	log_max = max_prio;
}

void log_set_format(enum log_format f)
{
	log_fmt = (int)f;
}

/* A line being built: never more than LOG_LINE_MAX - 1 bytes, always NUL-terminated. */
struct line {
	char b[LOG_LINE_MAX];
	size_t n;
};

static void put(struct line *l, const char *s, size_t len)
{
	size_t room = sizeof(l->b) - 1 - l->n;
	if (len > room)
		len = room;
	memcpy(l->b + l->n, s, len);
	l->n += len;
	l->b[l->n] = '\0';
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void put_value(struct line *l, const char *s, size_t len)
{
	l->n += log_kv_value(l->b + l->n, sizeof(l->b) - l->n, s, len);
}

/* The start of a line: the time on stderr, the level, and in kv the event's name. */
static void start(struct line *l, int prio, const char *event, bool kv)
{
	l->n = 0;
	l->b[0] = '\0';
	const char *level = level_names[prio & 7];
	if (log_stderr) {
		struct timespec ts;
		struct tm tm;
		char t[80];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		         ts.tv_nsec / 1000000);
		puts_(l, kv ? "ts=" : "");
		puts_(l, t);
		puts_(l, " ");
	}
	if (kv) {
		puts_(l, "level=");
		puts_(l, level);
		if (event != NULL) {
			puts_(l, " event=");
			puts_(l, event);
		}
	} else {
		if (log_stderr) {
			puts_(l, level);
			puts_(l, ": ");
		}
		if (event != NULL) {
			puts_(l, event);
			puts_(l, ":");
		}
	}
}

/* One write under one lock so lines from several threads never interleave: stderr is
 * unbuffered, so one fwrite is one write. */
static void write_out(const char *b, size_t n)
{
	pthread_mutex_lock(&log_lock);
	fwrite(b, 1, n, stderr);
	pthread_mutex_unlock(&log_lock);
}

static void emit(int prio, struct line *l)
{
	if (!log_stderr) {
		syslog(prio, "%s", l->b);
		return;
	}
	/* The newline goes in the same write (the NUL's place, n being at most
	 * LOG_LINE_MAX - 1), not in a write of its own. */
	l->b[l->n] = '\n';
	if (!held.on) {
		write_out(l->b, l->n + 1);
		return;
	}
	if (held.n + l->n + 1 > sizeof(held.b)) {
		write_out(held.b, held.n); /* full: what it held first, then this line */
		held.n = 0;
	}
	memcpy(held.b + held.n, l->b, l->n + 1);
	held.n += l->n + 1;
}

void log_hold(void)
{
	held.on = true;
}

void log_release(void)
{
	if (held.n > 0)
		write_out(held.b, held.n);
	held.n = 0;
	held.on = false;
}

void log_msg(int prio, const char *fmt, ...)
{
	if (prio > log_max)
		return;
	char text[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(text, sizeof(text), fmt, ap); /* %m reads errno, untouched so far */
	va_end(ap);
	if (len < 0)
		return;
	size_t n = (size_t)len < sizeof(text) ? (size_t)len : sizeof(text) - 1;
	bool kv = log_fmt == LOG_FORMAT_KV;
	struct line l;
	start(&l, prio, NULL, kv);
	if (kv) {
		puts_(&l, " msg=");
		put_value(&l, text, n);
	} else {
		for (size_t i = 0; i < n; i++) /* a line stays one line */
			if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
				text[i] = '?';
		put(&l, text, n);
	}
	emit(prio, &l);
}

void log_event(int prio, const char *event, const char *fmt, ...)
{
	if (prio > log_max)
		return;
	int saved = errno;
	struct line l;
	start(&l, prio, event, log_fmt == LOG_FORMAT_KV);
	if (*fmt != '\0')
		puts_(&l, " ");
	va_list ap;
	va_start(ap, fmt);
	const char *p = fmt;
	while (*p != '\0') {
		if (*p != '%') {
			size_t lit = strcspn(p, "%");
			put(&l, p, lit);
			p += lit;
			continue;
		}
		p++;
		bool star = false;
		int lmod = 0; /* 1: l, 2: ll, 3: z */
		if (p[0] == '.' && p[1] == '*') {
			star = true;
			p += 2;
		}
		if (*p == 'z') {
			lmod = 3;
			p++;
		} else if (p[0] == 'l' && p[1] == 'l') {
			lmod = 2;
			p += 2;
		} else if (*p == 'l') {
			lmod = 1;
			p++;
		}
		char num[32];
		switch (*p) {
		case '%':
			put(&l, "%", 1);
			break;
		case 's': {
			int max = star ? va_arg(ap, int) : -1;
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				s = "";
			size_t len = max < 0 ? strlen(s) : strnlen(s, (size_t)max);
			put_value(&l, s, len);
			break;
		}
		case 'd':
			if (lmod == 2)
				snprintf(num, sizeof(num), "%lld", va_arg(ap, long long));
			else if (lmod == 1)
				snprintf(num, sizeof(num), "%ld", va_arg(ap, long));
			else if (lmod == 3)
				snprintf(num, sizeof(num), "%zd", va_arg(ap, ssize_t));
			else
				snprintf(num, sizeof(num), "%d", va_arg(ap, int));
			puts_(&l, num);
			break;
		case 'u':
			if (lmod == 2)
				snprintf(num, sizeof(num), "%llu", va_arg(ap, unsigned long long));
			else if (lmod == 1)
				snprintf(num, sizeof(num), "%lu", va_arg(ap, unsigned long));
			else if (lmod == 3)
				snprintf(num, sizeof(num), "%zu", va_arg(ap, size_t));
			else
				snprintf(num, sizeof(num), "%u", va_arg(ap, unsigned));
			puts_(&l, num);
			break;
		default:
			/* Not one of ours: a program error, made visible, and the rest of the
			 * arguments cannot be read safely. */
			puts_(&l, "?unsupported-conversion");
			va_end(ap);
			emit(prio, &l);
			errno = saved;
			return;
		}
		if (*p != '\0')
			p++;
	}
	va_end(ap);
	emit(prio, &l);
	errno = saved;
}

bool log_budget_take(struct log_budget *b, int64_t now_ms, unsigned *left_out)
{
	pthread_mutex_lock(&b->mu);
	*left_out = 0;
	if (now_ms - b->window_ms >= 60000) {
		*left_out = b->suppressed;
		b->window_ms = now_ms;
		b->logged = b->suppressed = 0;
	}
	bool ok = b->logged < b->per_min;
	if (ok)
		b->logged++;
	else
		b->suppressed++;
	pthread_mutex_unlock(&b->mu);
	return ok;
}

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-._:/@+,", c) != NULL;
}

size_t log_kv_value(char *out, size_t outlen, const char *in, size_t inlen)
{
	if (outlen == 0)
		return 0;
	bool quote = inlen == 0;
	for (size_t i = 0; i < inlen && !quote; i++)
		quote = in[i] == '\0' || !plain((unsigned char)in[i]);
	size_t n = 0;
	if (!quote) {
		n = inlen < outlen - 1 ? inlen : outlen - 1;
		memcpy(out, in, n);
		out[n] = '\0';
		return n;
	}
	if (outlen < 3) { /* not even "" fits */
		out[0] = '\0';
		return 0;
	}
	out[n++] = '"';
	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		char esc[5];
		size_t e;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			e = 2;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			e = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			e = 4;
		} else {
			esc[0] = (char)c;
			e = 1;
		}
		if (n + e + 2 > outlen) /* the escape, the closing quote, the NUL */
			break;
		memcpy(out + n, esc, e);
		n += e;
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

char *log_escape(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t n = 0;
	for (size_t i = 0; i < inlen && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];
		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (outlen > 0)
		out[n] = '\0';
	return out;
}
