/* SPDX-License-Identifier: MIT */
/* One line of a Cowrie honeypot JSON log as an observation, for
 * `nameplatectl import cowrie`. Pure functions: no I/O, no global state. */
#ifndef NP_OBSERVE_COWRIE_H
#define NP_OBSERVE_COWRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/observe.h"

/* Lines longer than this are refused (Cowrie's are a few hundred bytes; a long
 * command.input is cut by Cowrie itself well below it). */
#define OBS_COWRIE_LINE_MAX 65536

/* Parses line[0..len) (one JSON object; a trailing newline is allowed) into *out:
 *   cowrie.session.connect         -> OBS_CONNECT, dst_port from "dst_port"
 *   cowrie.login.failed / .success -> OBS_LOGIN with "username" / "password" (cut at 32
 *                                     bytes; control characters become '?')
 *   cowrie.command.input           -> OBS_DOWNLOAD when "input" fetches from a URL with
 *                                     wget, curl, tftp, ftpget or busybox
 *                                     (obs_cowrie_is_download())
 *   cowrie.session.file_download   -> OBS_DOWNLOAD
 * Every event is TCP (Cowrie serves SSH and telnet), src from "src_ip" (an IPv4-mapped
 * IPv6 address becomes IPv4), time from "timestamp" (obs_cowrie_time()).
 * Returns NP_OK with *out filled; NP_ENOTFOUND for a well-formed line of another event
 * (client.version, session.closed, a command that downloads nothing...); NP_EMALFORMED
 * when the line is not a JSON object, or a field it needs is missing or bad: why (may be
 * NULL) then says what, e.g. "bad src_ip". */
int obs_cowrie_parse(const char *line, size_t len, struct obs_event *out, char *why,
                     size_t whylen) np_mustcheck;

/* Parses an ISO 8601 time as Cowrie writes it, "2024-11-21T10:00:00.123456Z", also without
 * fraction, with a "+HH:MM"/"+HHMM" offset, or without a zone (taken as UTC), into unix
 * seconds (the fraction is dropped). NP_EMALFORMED otherwise, or before 1970. */
int obs_cowrie_time(const char *s, int64_t *out) np_mustcheck;

/* Whether a shell command line fetches something: one of the words wget, curl, tftp,
 * ftpget, busybox, and either a URL ("scheme://") or, for tftp/ftpget, a dotted IPv4
 * server argument (tftp -g -r bins.sh 192.0.2.9). */
bool obs_cowrie_is_download(const char *input);

#endif
