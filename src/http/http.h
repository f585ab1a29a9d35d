/* SPDX-License-Identifier: MIT */
/* The HTTP side of nameplated on libmicrohttpd: dyndns2 updates (/nic/update) and the
 * caller's address (/nic/checkip, /checkip). Later: REST API, check pages, web UI. */
#ifndef NP_HTTP_HTTP_H
#define NP_HTTP_HTTP_H

#include "common/config.h"
#include "common/err.h"
#include "server/writer.h"

struct http_server;

/* Listens on every cfg->http_listen address and serves requests on libmicrohttpd's own
 * threads. Updates are handed to w; a request waits (suspended, not blocking a thread)
 * until the writer has committed them. cfg must outlive the server. */
int http_start(struct http_server **out, const struct config *cfg, struct writer *w) np_mustcheck;
void http_stop(struct http_server *hs);

#endif
