/* SPDX-License-Identifier: MIT */
/* GET /metrics in the Prometheus text format on [metrics] listen (common/metrics.h has
 * the collectors). A listener of its own, apart from the public HTTP: the operator puts it
 * on a management address; it serves nothing else and needs no credential. */
#ifndef NP_HTTP_METRICS_H
#define NP_HTTP_METRICS_H

#include "common/config.h"
#include "common/err.h"

struct metrics_http;

/* Listens on every cfg->metrics_listen address (none: *out is NULL, NP_OK). */
int metrics_http_start(struct metrics_http **out, const struct config *cfg) np_mustcheck;
void metrics_http_stop(struct metrics_http *m);

#endif
