/* SPDX-License-Identifier: MIT */
/* Observations on the wire and on disk.
 *
 * Sensor batches are JSON, so a remote sensor (or anyone's script) can produce them:
 *   {"batch": "<id, 1..64 of [A-Za-z0-9._-]>",
 *    "events": [{"src": "192.0.2.7", "t": 1732200000, "kind": "mirai_syn",
 *                "proto": 6, "port": 23, "n": 5, "user": "root", "pass": "xc3511"}, ...]}
 * "kind" is obs_kind_name(); "proto", "port", "n", "user" and "pass" may be left out
 * (0 / ""). "src" must parse with addr_parse() (an IPv4-mapped IPv6 address becomes
 * IPv4: addr_unmap()); "t" is unix seconds, 0 .. 253402300799;
 * "proto" one of 0, 1, 6, 17, 58; "port" 0 .. 65535; "n" (struct obs_event.count: that
 * many identical events; 0 and 1 both mean one) 0 .. 1000000; "user" and "pass" at most
 * 32 bytes without control characters. The parser is strict: unknown or duplicate keys,
 * wrong types, out-of-range values and more than OBS_BATCH_MAX_EVENTS events are refused
 * with a message that says which event and why. The encoder writes "n" only when count is
 * not 0, so decode(encode(x)) == x.
 *
 * Address records (struct obs_addr_record) have a compact, versioned binary form: the rows
 * of the checkpoint table and of offline imports (the format is described in codec.c).
 * The decoder checks every length and value and never trusts a count before the bytes
 * for it are there, as a damaged store must not crash the server. */
#ifndef NP_OBSERVE_CODEC_H
#define NP_OBSERVE_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/index.h"
#include "observe/observe.h"

#define OBS_BATCH_MAX_EVENTS 20000
#define OBS_BATCH_MAX_BYTES  (4u << 20) /* a request body larger than this is refused */
#define OBS_BATCH_ID_MAX     64

/* The kind whose obs_kind_name() is name, or -1. */
int obs_kind_from_name(const char *name);

/* Writes events[0..n) as a batch with id into *out (malloc'd, NUL-terminated, *len
 * without the NUL). NP_EINVAL for a bad id or n > OBS_BATCH_MAX_EVENTS. */
int obs_batch_encode(const char *id, const struct obs_event *events, size_t n, char **out,
                     size_t *len) np_mustcheck;

/* Parses a batch. On NP_OK *events is malloc'd (NULL when n is 0), id holds the batch id.
 * On NP_EINVAL err says why ("event 3: bad src"), nothing is allocated. */
int obs_batch_decode(const char *buf, size_t len, char id[OBS_BATCH_ID_MAX + 1],
                     struct obs_event **events, size_t *n, char *err, size_t errlen) np_mustcheck;

/* A decoded record owning its arrays (rec's pointers point into them). */
struct obs_record_buf {
	struct obs_addr_record rec;
	struct obs_bucket *buckets; /* malloc'd */
	struct obs_cred creds[OBS_MAX_CREDS];
};

/* Encodes rec into *out (malloc'd) of *len bytes. */
int obs_record_encode(const struct obs_addr_record *rec, uint8_t **out, size_t *len) np_mustcheck;
/* The same record in the compact version 2 form (varints; see codec.c), written into
 * out, which must hold obs_record_compact_bound(rec) bytes; *len gets the bytes used. For
 * bulk writers (imports): no allocation, about half the size of version 1. NP_EINVAL for
 * what obs_record_encode refuses too. */
size_t obs_record_compact_bound(const struct obs_addr_record *rec);
int obs_record_encode_compact(const struct obs_addr_record *rec, uint8_t *out,
                              size_t *len) np_mustcheck;
/* Decodes buf (version 1 or 2) into out (free with obs_record_buf_free). NP_EINVAL when
 * damaged. */
int obs_record_decode(const uint8_t *buf, size_t len, struct obs_record_buf *out) np_mustcheck;
void obs_record_buf_free(struct obs_record_buf *b);

/* The key the checkpoint table uses for an address record: 4 bytes for IPv4, the 8-byte
 * /64 prefix for IPv6. Returns its length. */
size_t obs_record_key(const struct np_addr *a, uint8_t out[8]);

/* A verdict as the check API and pages show it (docs/infection-check.md):
 *   {"address": "198.51.100.7" or "2001:db8:1:2::/64", "verdict": "infected",
 *    "rule": "mirai_syn", "rules": ["mirai_syn", ...],
 *    "window": {"start": T, "end": T},
 *    "evidence": {"first_seen": T|null, "last_seen": T|null, "packets": N,
 *                 "fingerprint_hits": N, "login_attempts": N, "downloads": N,
 *                 "iot_port_hits": N, "default_credentials": N,
 *                 "ports": [{"port": 23, "count": N}, ...], "other_ports": N,
 *                 "credentials": [{"user": "root", "pass": "xc3511", "count": N,
 *                                  "default": true, "first": T, "last": T}, ...],
 *                 "kinds": {"mirai_syn": N, "scan": N, ..., "backscatter": N}}}
 * Times are unix seconds. Returns a new reference, or NULL when out of memory. */
json_t *obs_verdict_json(const struct np_addr *a, const struct obs_verdict *v);

#endif
