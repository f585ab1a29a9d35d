/* SPDX-License-Identifier: MIT */
/* The logger: the one piece of global state besides the config snapshot and signal flags. */
#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static bool log_stderr = true;
static int log_max = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

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

void log_msg(int prio, const char *fmt, ...)
{
	if (prio > log_max)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (!log_stderr) {
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	static const char *const names[] = {"emerg", "alert", "crit", "error",
					    "warning", "notice", "info", "debug"};
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* One lock so lines from several threads never interleave. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		names[prio & 7]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
	va_end(ap);
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
