/* SPDX-License-Identifier: MIT */
/* Starting and stopping nameplated's DNS transports as one unit. */
#include "common/log.h"
#include "server/server.h"

int dns_server_bind(struct dns_server *s, const struct config *cfg)
{
	s->cfg = cfg;
	atomic_store(&s->stop, false);
	zone_pins_init(&s->pins);
	int ret = server__udp_bind(s);
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
}
