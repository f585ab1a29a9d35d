/* SPDX-License-Identifier: MIT */
/* The HTTP connection guard (guard.c): a deadline for a request to arrive whole, and a cap
 * on connections per network, beside libmicrohttpd's own limits. Internal to http. */
#ifndef NP_HTTP_GUARD_H
#define NP_HTTP_GUARD_H

#include <microhttpd.h>

#include "common/config.h"

struct http_guard;

/* Starts the guard's sweeper thread. */
int http_guard_new(struct http_guard **out, const struct config *cfg);
/* Stops it; call after every daemon has stopped. NULL is fine. */
void http_guard_free(struct http_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION's callback, with the guard as cls. */
void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe);
/* The headers are in and a body of at most len bytes follows: it gets its own time. */
void http_guard_body(struct http_guard *g, struct MHD_Connection *c, size_t len);
/* The whole request is in: from here on it waits for us, not for the client. */
void http_guard_received(struct http_guard *g, struct MHD_Connection *c);
/* An answer was sent: the next request on this connection starts its clock. */
void http_guard_answered(struct http_guard *g, struct MHD_Connection *c);

#endif
