/* SPDX-License-Identifier: MIT */
/* DNS Cookies: RFC 9018 server cookies. */
#include "ns/cookie.h"

#include <sodium.h>
#include <string.h>

#include "dns/wire.h"

/* SipHash-2-4 over client cookie | version | reserved | timestamp | address (RFC 9018 4.4:
 * 4 bytes for IPv4, 16 for IPv6). */
static void cookie_hash(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t *client,
                        const uint8_t head[8], const struct np_addr *addr, uint8_t out[8])
{
	uint8_t in[COOKIE_CLIENT_LEN + 8 + 16];
	size_t alen = addr->family == AF_INET ? 4 : 16;
	memcpy(in, client, COOKIE_CLIENT_LEN);
	memcpy(in + COOKIE_CLIENT_LEN, head, 8);
	memcpy(in + COOKIE_CLIENT_LEN + 8, addr->bytes, alen);
	crypto_shorthash(out, in, COOKIE_CLIENT_LEN + 8 + alen, secret);
}

void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t *client,
                 const struct np_addr *addr, uint32_t now, uint8_t out[COOKIE_SERVER_LEN])
{
	memset(out, 0, 8);
	out[0] = 1; /* version */
	wire_store_u32(out + 4, now);
	cookie_hash(secret, client, out, addr, out + 8);
}

bool cookie_valid(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t *opt, size_t len,
                  const struct np_addr *addr, uint32_t now)
{
	if (len != COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)
		return false;
	const uint8_t *server = opt + COOKIE_CLIENT_LEN;
	if (server[0] != 1)
		return false;
	uint32_t t = wire_load_u32(server + 4);
	/* Serial arithmetic on the 32-bit time (RFC 1982), as RFC 9018 4.3 asks. */
	int32_t age = (int32_t)(now - t);
	if (age > COOKIE_MAX_AGE || age < -COOKIE_MAX_AHEAD)
		return false;
	uint8_t h[8];
	cookie_hash(secret, opt, server, addr, h);
	return sodium_memcmp(h, server + 8, sizeof(h)) == 0;
}
