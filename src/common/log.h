/* SPDX-License-Identifier: MIT */
/* Logging: stderr in the foreground, syslog otherwise. Never pass secrets to these. */
#ifndef NP_COMMON_LOG_H
#define NP_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* Sets where logs go and the lowest priority written (LOG_DEBUG .. LOG_ERR). */
void log_init(const char *ident, bool to_stderr, int max_prio);
void log_set_level(int max_prio);

/* Writes one line. log_warn-style callers append strerror themselves via %m. */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Copies at most outlen-1 bytes of in to out, replacing bytes outside printable ASCII
 * with '?', so attacker-supplied text cannot forge log lines. Returns out. */
char *log_escape(char *out, size_t outlen, const char *in, size_t inlen);

#endif
