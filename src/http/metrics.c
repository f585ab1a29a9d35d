/* SPDX-License-Identifier: MIT */
/* The metrics listener: one small libmicrohttpd daemon per address. */
#include "http/metrics.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/metrics.h"

/* A scrape is a few hundred lines; this bounds it whatever a collector writes. */
#define METRICS_PAGE_MAX (4u << 20)

struct metrics_http {
	struct MHD_Daemon *daemons[CFG_MAX_LISTEN];
	unsigned n;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **con_cls)
{
	(void)cls, (void)version, (void)upload, (void)con_cls;
	static const char text[] = "text/plain; charset=utf-8";
	if (*upload_len != 0)
		return MHD_NO; /* a body is not for us: close */
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, text, "not found: GET /metrics\n", 24);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET /metrics\n", 13);
	struct buf b;
	buf_init(&b, METRICS_PAGE_MAX);
	metrics_scrape(&b);
	enum MHD_Result ret;
	if (b.err)
		ret = reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text, "scrape too large\n", 17);
	else
		ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		            b.p != NULL ? b.p : "", b.len);
	buf_free(&b);
	return ret;
}

int metrics_http_start(struct metrics_http **out, const struct config *cfg)
{
	*out = NULL;
	if (cfg->n_metrics_listen == 0)
		return NP_OK;
	struct metrics_http *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NP_ENOMEM;
	for (unsigned i = 0; i < cfg->n_metrics_listen; i++) {
		const struct cfg_listen *l = &cfg->metrics_listen[i];
		unsigned flags =
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
		if (l->addr.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		/* A scraper or two: a handful of connections, short timeouts. */
		m->daemons[m->n] = MHD_start_daemon(
		    flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, (void *)&l->addr,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (unsigned)4, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
		    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
		if (m->daemons[m->n] == NULL) {
			log_err("metrics: cannot listen on %s", l->text);
			metrics_http_stop(m);
			return NP_EIO;
		}
		m->n++;
		log_info("metrics: listening on %s", l->text);
	}
	*out = m;
	return NP_OK;
}

void metrics_http_stop(struct metrics_http *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < m->n; i++)
		MHD_stop_daemon(m->daemons[i]);
	free(m);
}
