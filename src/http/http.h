/* SPDX-License-Identifier: MIT */
/* The HTTP side of nameplated on libmicrohttpd: dyndns2 updates (/nic/update), the
 * caller's address (/nic/checkip, /checkip), the reachability probe (/nic/probe), sensor
 * batches (/api/v1/sensor/batch) and the "am I infected?" check (/check, /api/v1/check,
 * /api/v1/status). Later: the REST API and web UI. */
#ifndef NP_HTTP_HTTP_H
#define NP_HTTP_HTTP_H

#include "common/config.h"
#include "common/err.h"
#include "core/writer.h"

struct http_server;

/* Listens on every cfg->http_listen address and serves requests on libmicrohttpd's own
 * threads. Updates are handed to w; a request waits (suspended, not blocking a thread)
 * until the writer has committed them. cfg must outlive the server. */
struct observer;
struct mailer;
struct abuse;
/* obs takes sensor batches and answers verdicts; mail (NULL when [mail] has no relay)
 * sends check results; abuse (abuse/abuse.h, the caller's, shared with RFC 2136 UPDATE)
 * keeps the update budgets, feeds and flux scores. */
int http_start(struct http_server **out, const struct config *cfg, struct writer *w,
               struct observer *obs, struct mailer *mail, struct abuse *abuse) np_mustcheck;
void http_stop(struct http_server *hs);
/* A reloaded configuration (SIGHUP), after the caller's abuse_reload: the hosts the feeds
 * list now are quarantined; listen addresses and limits stay until a restart. cfg must
 * outlive hs. */
void http_reload(struct http_server *hs, const struct config *cfg);

#endif
