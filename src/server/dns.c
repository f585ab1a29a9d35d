/* SPDX-License-Identifier: MIT */
/* Starting and stopping nameplated's DNS transports as one unit, and what they share: the
 * rate limiter and the cookie secret. */
#include <sodium.h>

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "ns/query.h"
#include "server/server.h"

void server__count_answer(struct dns_stats *st, const uint8_t *resp, uint16_t qtype)
{
	dns_stat_inc(&st->answers[resp[3] & 0x0F][dns_qtype_class(qtype)]);
	if (resp[2] & 0x02)
		dns_stat_inc(&st->truncated);
}

void server__stats_add(struct dns_stats *sum, const struct dns_stats *st)
{
#define ADD(field)                                                                                 \
	atomic_store_explicit(&sum->field,                                                         \
	                      atomic_load_explicit(&sum->field, memory_order_relaxed) +            \
	                          atomic_load_explicit(&st->field, memory_order_relaxed),          \
	                      memory_order_relaxed)
	for (unsigned r = 0; r < 16; r++)
		for (unsigned t = 0; t < DNS_STAT_TYPES; t++)
			ADD(answers[r][t]);
	ADD(truncated);
	ADD(rrl_slipped);
	ADD(rrl_dropped);
#undef ADD
}

static void write_answers(struct metrics_out *o, const char *transport, const struct dns_stats *st)
{
	for (unsigned r = 0; r < 16; r++) {
		for (unsigned t = 0; t < DNS_STAT_TYPES; t++) {
			uint64_t v = atomic_load(&st->answers[r][t]);
			if (v == 0)
				continue;
			char labels[96];
			snprintf(labels, sizeof(labels),
			         "transport=\"%s\",rcode=\"%s\",qtype=\"%s\"", transport,
			         dns_answer_rcode_name(r), dns_qtype_class_name(t));
			metrics_sample(o, "dns_answers_total", labels, v);
		}
	}
}

static void collect(void *ctx, struct metrics_out *o)
{
	struct dns_server *s = ctx;
	static struct dns_stats udp, tcp; /* scrapes run one at a time (metrics.c's lock) */
	memset(&udp, 0, sizeof(udp));
	memset(&tcp, 0, sizeof(tcp));
	uint64_t accepted = 0, refused = 0;
	unsigned open = 0;
	server__udp_stats(s, &udp);
	server__tcp_stats(s, &tcp, &accepted, &refused, &open);
	metrics_family(o, "dns_answers_total", "counter",
	               "DNS answers sent, by transport, rcode and question type");
	write_answers(o, "udp", &udp);
	write_answers(o, "tcp", &tcp);
	metrics_family(o, "dns_truncated_total", "counter",
	               "answers sent truncated (TC=1), too large for UDP or slipped by RRL");
	metrics_sample(o, "dns_truncated_total", "transport=\"udp\"", atomic_load(&udp.truncated));
	metrics_sample(o, "dns_truncated_total", "transport=\"tcp\"", atomic_load(&tcp.truncated));
	metrics_family(o, "dns_rrl_total", "counter",
	               "UDP answers over the rate limit: slipped (sent truncated) or dropped");
	metrics_sample(o, "dns_rrl_total", "action=\"slip\"", atomic_load(&udp.rrl_slipped));
	metrics_sample(o, "dns_rrl_total", "action=\"drop\"", atomic_load(&udp.rrl_dropped));
	metrics_family(o, "dns_tcp_connections_total", "counter",
	               "TCP connections accepted, and refused by the connection limits");
	metrics_sample(o, "dns_tcp_connections_total", "result=\"accepted\"", accepted);
	metrics_sample(o, "dns_tcp_connections_total", "result=\"refused\"", refused);
	metrics_family(o, "dns_tcp_connections", "gauge", "TCP connections open now");
	metrics_sample(o, "dns_tcp_connections", "", open);
	uint64_t made = 0, over = 0;
	dns_answer_denial_stats(&made, &over);
	metrics_family(o, "dnssec_denials_total", "counter",
	               "compact denials not in the signature cache: signed on the fly, or over "
	               "the zone's dnssec_denial_rate (answered TC=1)");
	metrics_sample(o, "dnssec_denials_total", "result=\"signed\"", made);
	metrics_sample(o, "dnssec_denials_total", "result=\"over_budget\"", over);
}

int dns_server_bind(struct dns_server *s, const struct config *cfg)
{
	s->cfg = cfg;
	atomic_store(&s->stop, false);
	zone_pins_init(&s->pins);
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
	if (ret == NP_OK) {
		metrics_register(collect, s);
		log_info("dns: %u UDP workers and %u TCP threads on %u addresses", s->n_udp,
		         s->cfg->tcp_workers, s->cfg->n_dns_listen);
	}
	return ret;
}

void dns_server_stop(struct dns_server *s)
{
	metrics_unregister(collect, s);
	atomic_store(&s->stop, true);
	server__udp_stop(s);
	server__tcp_stop(s);
	rrl_free(s->rrl);
	s->rrl = NULL;
	sodium_memzero(s->cookie_secret, sizeof(s->cookie_secret));
}
