/* SPDX-License-Identifier: MIT */
/* TSIG (RFC 8945) with HMAC-SHA256 and HMAC-SHA512: signing a message, finding and verifying
 * the TSIG record of a received one. Used by the client's RFC 2136 updates and by the
 * server's UPDATE. The older algorithms (HMAC-MD5, HMAC-SHA1) are not offered: RFC 8945
 * section 6 deprecates MD5, and every peer we serve (nsupdate, knsupdate, certbot, lego)
 * speaks SHA-256. */
#ifndef NP_DNS_TSIG_H
#define NP_DNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "dns/constants.h"
#include "dns/name.h"

#define TSIG_ALG_HMAC_SHA256 "hmac-sha256"
#define TSIG_ALG_HMAC_SHA512 "hmac-sha512"
#define TSIG_MAC_LEN         64            /* the longest MAC (HMAC-SHA512); truncation is refused */

enum tsig_alg {
	TSIG_HMAC_SHA256 = 0, /* the default: what nsupdate -y and the client use */
	TSIG_HMAC_SHA512 = 1,
};
#define TSIG_FUDGE           300           /* seconds of clock difference tolerated */
/* The TSIG RR we append: key name + type, class, TTL, rdlen + algorithm name + time,
 * fudge, MAC size, MAC, original ID, error, other len + other data. */
#define TSIG_RR_MAX (2 * DNS_NAME_MAX + 10 + 6 + 2 + 2 + TSIG_MAC_LEN + 6 + 6)

/* TSIG errors of RFC 8945 (constants.h has the response codes). */
#define TSIG_ERR_BADSIG    16
#define TSIG_ERR_BADKEY    17
#define TSIG_ERR_BADTIME   18
#define TSIG_ERR_BADTRUNC  22

/* A shared key. The secret is borrowed: it must outlive the struct. */
struct tsig_key {
	uint8_t name[DNS_NAME_MAX]; /* canonical (lowercase, uncompressed) wire form */
	size_t name_len;
	enum tsig_alg alg;
	const uint8_t *secret;
	size_t secret_len;
};

/* The TSIG variables other than key name and algorithm that go into a signature. */
struct tsig_vars {
	uint64_t time_signed; /* unix seconds, 48 bits on the wire */
	uint16_t fudge;
	uint16_t error;       /* 0, or TSIG_ERR_* in a server's answer */
	const uint8_t *other; /* other data (a BADTIME answer carries the server's time) */
	uint16_t other_len;
};

/* A TSIG record found in a received message. Pointers point into that message and stay
 * valid as long as it does. */
struct tsig_rr {
	size_t start;                   /* offset of the TSIG RR: the signed message ends here */
	uint8_t key_name[DNS_NAME_MAX]; /* lowercase, uncompressed */
	size_t key_name_len;
	uint8_t alg[DNS_NAME_MAX]; /* lowercase, uncompressed */
	size_t alg_len;
	struct tsig_vars vars;
	const uint8_t *mac;
	uint16_t mac_len;
	uint16_t orig_id;
};

/* Fills k from a key name in text ("nameplate-key" or "nameplate-key.") and a secret of
 * any length (HMAC hashes long keys), for HMAC-SHA256; set k->alg after it for another.
 * Returns NP_OK, NP_EMALFORMED for a bad name or NP_EINVAL for an empty secret. */
int tsig_key_init(struct tsig_key *k, const char *name, const uint8_t *secret,
                  size_t secret_len) np_mustcheck;

/* The algorithm named in text ("hmac-sha256", case-insensitive, an optional final dot):
 * NP_OK, or NP_ENOTFOUND for one we do not offer. */
int tsig_alg_from_text(const char *text, enum tsig_alg *out) np_mustcheck;
/* "hmac-sha256" or "hmac-sha512". */
const char *tsig_alg_name(enum tsig_alg alg);
/* The length of alg's MAC: 32 or 64. */
size_t tsig_mac_len(enum tsig_alg alg);

/* Whether the calling thread keeps, per hash, the keyed HMAC state of the last secret it
 * used (off by default: each MAC's state is wiped at its end). A thread that signs or
 * verifies many messages with the same key saves the key's setup; it keeps that secret's
 * state until tsig_forget_kept_keys, tsig_keep_keys(false) or its end. */
void tsig_keep_keys(bool on);

/* Wipes what the calling thread keeps (tsig_keep_keys stays on). */
void tsig_forget_kept_keys(void);

/* Signs msg[0..*len), a complete message without TSIG, and appends the TSIG RR (ARCOUNT
 * is incremented; *len grows; msg has room for cap bytes). req_mac is the request's MAC
 * when signing an answer (NULL and 0 when signing a request). The MAC is copied to
 * mac_out (tsig_mac_len(k->alg) bytes, at most TSIG_MAC_LEN; may be NULL): an answer is
 * verified against it.
 * Returns NP_OK, NP_ETOOBIG when the record does not fit, NP_EMALFORMED for a message
 * without a header or one whose ARCOUNT is already 65535, NP_EFAILED when the HMAC could
 * not be computed (libcrypto failed: out of memory). */
int tsig_sign(const struct tsig_key *k, uint8_t *msg, size_t *len, size_t cap,
              const uint8_t *req_mac, size_t req_mac_len, const struct tsig_vars *v,
              uint8_t *mac_out) np_mustcheck;

/* Signs a message after the first of a multi-message answer (a zone transfer, RFC 8945
 * 5.3.1): its MAC covers the prior message's MAC, this message and the timers only (time
 * signed, fudge), and the TSIG RR appended is complete as usual. prior_mac is the MAC of
 * the message before (the first's from tsig_sign over the request MAC); mac_out gets this
 * one's for the next. Returns like tsig_sign(). */
int tsig_sign_continued(const struct tsig_key *k, uint8_t *msg, size_t *len, size_t cap,
                        const uint8_t *prior_mac, size_t prior_mac_len, const struct tsig_vars *v,
                        uint8_t *mac_out) np_mustcheck;

/* Appends an unsigned TSIG RR (MAC size 0) with the key and algorithm names of the
 * request's rr and the given error: what a server answers for BADKEY and BADSIG
 * (RFC 8945 5.3.2). Returns like tsig_sign(). */
int tsig_append_unsigned(const struct tsig_rr *req, uint8_t *msg, size_t *len, size_t cap,
                         uint16_t error, uint64_t now) np_mustcheck;

/* Walks the whole message and parses its TSIG RR, which must be the last record of the
 * additional section and the only TSIG in the message; nothing may follow it.
 * Returns NP_OK, NP_ENOTFOUND when the message has no TSIG, NP_EMALFORMED otherwise
 * (TSIG not last, two of them, class not ANY, TTL not 0, rdata not tiling, ...). */
int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *rr) np_mustcheck;

/* Verifies the rr found in msg with tsig_find() against key k, at time now. req_mac is
 * the MAC of the request this message answers (NULL and 0 when verifying a request).
 * The checks are in RFC 8945 order: key name and algorithm (BADKEY), MAC length (a MAC
 * longer than the algorithm's or shorter than half of it is NP_EMALFORMED, a truncated one
 * BADTRUNC), the MAC compared in constant time (BADSIG), then the time (BADTIME when
 * |now - time_signed| > fudge). Returns NP_OK when the MAC verified and the time is in
 * the window; NP_EDENIED with *tsig_error set to the TSIG_ERR_* otherwise; NP_EFAILED,
 * with no TSIG error, when the HMAC could not be computed (ours: answer SERVFAIL). The
 * error field of rr (what a server said) is not judged here: that is the caller's. */
int tsig_verify(const struct tsig_key *k, const uint8_t *msg, size_t len, const struct tsig_rr *rr,
                const uint8_t *req_mac, size_t req_mac_len, int64_t now,
                uint16_t *tsig_error) np_mustcheck;

/* The mnemonic of an RCODE or TSIG error (0..22): "NOERROR", "NOTAUTH", "BADSIG"...;
 * "unknown" for any other value. A static string. */
const char *dns_rcode_name(unsigned rcode);

#endif
