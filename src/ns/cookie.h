/* SPDX-License-Identifier: MIT */
/* DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018: version 1, three
 * reserved bytes, a 32-bit timestamp and SipHash-2-4 over the client cookie, those eight
 * bytes and the client's address, keyed with a server secret. A client that returns a
 * server cookie we made for its address proves it receives our answers there: it is not a
 * spoofed source, and response rate limiting lets it through (ns/rrl.h). */
#ifndef NP_NS_COOKIE_H
#define NP_NS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define COOKIE_SECRET_LEN 16 /* SipHash-2-4's key */
#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_LEN 16 /* RFC 9018's: version, reserved, timestamp, hash */
/* A server cookie is good for an hour and may be up to five minutes in the future
 * (RFC 9018 4.3). */
#define COOKIE_MAX_AGE  3600
#define COOKIE_MAX_AHEAD 300

/* The server cookie for client (COOKIE_CLIENT_LEN bytes) at addr and time now into out. */
void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t *client,
                 const struct np_addr *addr, uint32_t now, uint8_t out[COOKIE_SERVER_LEN]);
/* Whether the COOKIE option value opt (client cookie, then server cookie; len bytes) holds a
 * server cookie we made for addr that is still good at now. */
bool cookie_valid(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t *opt, size_t len,
                  const struct np_addr *addr, uint32_t now);

#endif
