/* SPDX-License-Identifier: MIT */
/* Logging: stderr in the foreground, syslog otherwise. Never pass secrets to these.
 *
 * Every line is one event. Events an operator or a log tool watches (authentication,
 * updates, abuse decisions, limits, failures of the store, start and stop) are written with
 * log_event as key=value fields ("logfmt"): a value with anything but plain characters is
 * quoted and escaped, so text an attacker sends (a host name, a user name) can neither add
 * a field nor start a line. The format says how the rest of the line looks:
 *   text: 2026-01-02T03:04:05.678Z warning: auth_failure: source=192.0.2.1 user=bob ...
 *   kv:   ts=2026-01-02T03:04:05.678Z level=warning event=auth_failure source=192.0.2.1 ...
 * In kv, a line of log_msg is `msg="..."` (escaped), so every line parses as key=value;
 * syslog and journald stamp their own time, so ts= is written to stderr only. */
#ifndef NP_COMMON_LOG_H
#define NP_COMMON_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_KV,
};

/* Sets where logs go and the lowest priority written (LOG_DEBUG .. LOG_ERR). */
void log_init(const char *ident, bool to_stderr, int max_prio);
void log_set_level(int max_prio);
void log_set_format(enum log_format f);

/* Writes one line. log_warn-style callers append strerror themselves via %m. Control
 * characters in the result are written as '?' (text) or escaped (kv): never a new line. */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one event: its name (a plain word) and fields, with fmt a list of
 * "key=%conv" separated by spaces. Only these conversions: %s and %.*s (the value is
 * quoted and escaped when it needs to be), %d %u %ld %lu %lld %llu %zu, %%. The keys and
 * everything else in fmt are written as they are: they come from the program. */
void log_event(int prio, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Between these two, the calling thread's lines on stderr are kept and written together,
 * with one write, at log_release (or before, as many as fit in 8 KiB at a time): for a
 * thread that logs many lines in a row, each of them after the work it reports. Another
 * thread's line may come between two held lines' times. Lines to syslog go at once. */
void log_hold(void);
void log_release(void);

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A bound on lines anyone can make the server write: per_min lines a minute, then the rest
 * of that minute only counted. */
struct log_budget {
	pthread_mutex_t mu;
	int64_t window_ms;
	unsigned per_min, logged, suppressed;
};
#define LOG_BUDGET_INIT(n)                                                                         \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, INT64_MIN / 2, (n), 0, 0                                \
	}

/* Whether one more line may be written at now_ms (a monotonic clock). When a new minute
 * begins after lines were left out, *left_out says how many (else 0): log that first. */
bool log_budget_take(struct log_budget *b, int64_t now_ms, unsigned *left_out);

/* Appends the value in (inlen bytes) to out as a key=value value: as it is when it is
 * non-empty and only letters, digits and -._:/@+, else in double quotes with \" \\ \n \r
 * \t and \xHH for other bytes outside printable ASCII. Writes at most outlen-1 bytes
 * (cutting before an escape, never inside one, and closing the quote); returns the length
 * written. */
size_t log_kv_value(char *out, size_t outlen, const char *in, size_t inlen);

/* Copies at most outlen-1 bytes of in to out, replacing bytes outside printable ASCII
 * with '?', so attacker-supplied text cannot forge log lines. Returns out. */
char *log_escape(char *out, size_t outlen, const char *in, size_t inlen);

#endif
