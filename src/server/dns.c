/* SPDX-License-Identifier: MIT */
/* Starting and stopping nameplated's DNS transports as one unit, and what they share: the
 * rate limiter and the cookie secret. */
#include <sodium.h>

#include "common/log.h"
#include "server/server.h"

int dns_server_bind(struct dns_server *s, const struct config *cfg)
{
	s->cfg = cfg;
	atomic_store(&s->stop, false);
	randombytes_buf(s->cookie_secret, sizeof(s->cookie_secret));
	int ret = rrl_new(&s->rrl, cfg->rrl_rate, cfg->rrl_slip, cfg->rrl_ipv4_prefix,
	                  cfg->rrl_ipv6_prefix, DNS_RRL_BUCKETS);
	if (ret == NP_OK)
		ret = server__udp_bind(s);
	if (ret == NP_OK)
		ret = server__tcp_bind(s);
	return ret;
}

int dns_server_start(struct dns_server *s)
{
	int ret = server__udp_start(s);
	if (ret == NP_OK)
		ret = server__tcp_start(s);
	if (ret == NP_OK)
		log_info("dns: %u UDP workers and %u TCP threads on %u addresses", s->n_udp,
			 s->cfg->tcp_workers, s->cfg->n_dns_listen);
	return ret;
}

void dns_server_stop(struct dns_server *s)
{
	atomic_store(&s->stop, true);
	server__udp_stop(s);
	server__tcp_stop(s);
	rrl_free(s->rrl);
	s->rrl = NULL;
	sodium_memzero(s->cookie_secret, sizeof(s->cookie_secret));
}
