/* SPDX-License-Identifier: MIT */
/* Metrics in the Prometheus text format (version 0.0.4). Each part of the daemon keeps its
 * own counters where they are cheapest to keep (a UDP worker's in the worker, the writer's
 * in the writer) and registers a collector that writes them out; the HTTP side serves
 * what every collector writes at [metrics] listen (http/metrics.c). Nothing here knows
 * what is measured, so no module reaches into another for its numbers. */
#ifndef NP_COMMON_METRICS_H
#define NP_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Writes families into a scrape. A family is written whole by one collector: its HELP and
 * TYPE lines (metrics_family), then its samples. */
struct metrics_out {
	struct buf *b;
};

typedef void metrics_collect_fn(void *ctx, struct metrics_out *out);

/* Adds a collector (at start, before any scrape; at most METRICS_MAX_COLLECTORS) and takes
 * it away again (before ctx is freed). Thread-safe with scrapes. */
#define METRICS_MAX_COLLECTORS 32
void metrics_register(metrics_collect_fn *fn, void *ctx);
void metrics_unregister(metrics_collect_fn *fn, void *ctx);

/* Runs every collector into b. */
void metrics_scrape(struct buf *b);

/* type: "counter", "gauge" or "histogram". name without the nameplate_ prefix. */
void metrics_family(struct metrics_out *o, const char *name, const char *type, const char *help);
/* One sample: name{labels} value; labels is "" or 'k="v",k2="v2"' (no braces). */
void metrics_sample(struct metrics_out *o, const char *name, const char *labels, uint64_t value);
void metrics_sample_f(struct metrics_out *o, const char *name, const char *labels, double value);

/* A histogram with fixed bucket bounds (seconds), counted lock-free. */
#define METRICS_HIST_BUCKETS 12
struct metrics_hist {
	uint64_t counts[METRICS_HIST_BUCKETS + 1]; /* the last: above every bound */
	uint64_t count;
	uint64_t sum_ns;
};
/* The bounds shared by every latency histogram: 0.5 ms .. 2 s. */
extern const double metrics_hist_bounds[METRICS_HIST_BUCKETS];
void metrics_hist_add(struct metrics_hist *h, uint64_t ns);
/* The family (name_bucket, name_sum, name_count) of h, in seconds. */
void metrics_hist_write(struct metrics_out *o, const char *name, const char *help,
                        const struct metrics_hist *h);

#endif
