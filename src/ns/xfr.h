/* SPDX-License-Identifier: MIT */
/* Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, streamed from a
 * published zone version one message at a time, so that a transfer of any size needs one
 * message of memory and the transport decides when the next one is made (when its socket
 * has drained). The version is pinned (zone.h) for as long as the transfer lasts; nothing
 * here touches the store or blocks.
 *
 * Who may transfer a zone is its allow_transfer list: an unsigned request is allowed by
 * its source address, a signed one (TSIG) by its key, which only the key_check hook can
 * verify; every outgoing message passes through the sign hook. */
#ifndef NP_NS_XFR_H
#define NP_NS_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "zone/zone.h"

/* Room kept free at the end of every message for a TSIG record. */
#define XFR_TSIG_ROOM 512

/* TSIG for transfers, supplied by whoever holds the keys; any member may be NULL. */
struct xfr_hooks {
	void *ctx;
	/* Verifies the TSIG of a request (msg, len). NP_OK with the key's name (lowercase,
	 * no trailing dot) in key_name and, in *sign_state, what sign needs to sign the
	 * answers; otherwise the request is refused NOTAUTH, with an unsigned TSIG carrying
	 * the returned TSIG error when it is one (TSIG_ERR_BADSIG, BADTIME...; any other
	 * value: BADKEY). NULL: no keys, so every signed request is refused NOTAUTH/BADKEY. */
	int (*key_check)(void *ctx, const uint8_t *msg, size_t len, char key_name[CFG_NAME_MAX],
	                 void **sign_state);
	/* Signs one message of the answer in place (msg[0..*len), room up to cap), the
	 * first and each following one (RFC 8945 5.3.1). NULL: answers go unsigned. An
	 * error ends the transfer. */
	int (*sign)(void *ctx, void *sign_state, uint8_t *msg, size_t *len, size_t cap);
	/* The transfer ended: forget sign_state. */
	void (*sign_end)(void *ctx, void *sign_state);
};

/* What the transport knows of a request. */
struct xfr_req {
	const struct np_addr *peer;
	bool tcp;
	const struct xfr_hooks *hooks; /* may be NULL */
	struct zone_pins *pins;
};

enum xfr_outcome {
	XFR_NOT,      /* not a transfer request over TCP: answer it with dns_answer() */
	XFR_ANSWERED, /* one message was written (an error, or IXFR: already up to date) */
	XFR_STREAM,   /* *out streams the answer: call xfr_next until it says done */
};

struct xfr;

/* Looks at query; inside the RCU read-side section that keeps db alive. For XFR_ANSWERED
 * the answer is in resp (*resp_len bytes, cap >= 512); for XFR_STREAM *out holds the
 * transfer (pinned: it needs no RCU section afterwards). */
enum xfr_outcome xfr_begin(const struct zone_db *db, const uint8_t *query, size_t qlen,
                           const struct xfr_req *req, uint8_t *resp, size_t cap, size_t *resp_len,
                           struct xfr **out);
/* Writes the next message into buf (cap >= 4096; DNS_MAX_MSG to fill messages up to
 * 64 KiB) and returns its length; *done once it was the last. 0 = the transfer failed
 * (signing): end it and close the connection. */
size_t xfr_next(struct xfr *x, uint8_t *buf, size_t cap, bool *done);
/* Ends the transfer (done or not) and unpins its version. */
void xfr_end(struct xfr *x);

#endif
