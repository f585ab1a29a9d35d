/* SPDX-License-Identifier: MIT */
/* The collector registry and the text format. */
#include "common/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
struct collector {
	metrics_collect_fn *fn;
	void *ctx;
};
static struct collector collectors[METRICS_MAX_COLLECTORS];
static unsigned n_collectors;

const double metrics_hist_bounds[METRICS_HIST_BUCKETS] = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2,
};

void metrics_register(metrics_collect_fn *fn, void *ctx)
{
	pthread_mutex_lock(&mu);
	if (n_collectors < METRICS_MAX_COLLECTORS)
		collectors[n_collectors++] = (struct collector){fn, ctx};
	pthread_mutex_unlock(&mu);
}

void metrics_unregister(metrics_collect_fn *fn, void *ctx)
{
	pthread_mutex_lock(&mu);
	for (unsigned i = 0; i < n_collectors; i++) {
		if (collectors[i].fn == fn && collectors[i].ctx == ctx) {
			collectors[i] = collectors[--n_collectors];
			break;
		}
	}
	pthread_mutex_unlock(&mu);
}

void metrics_scrape(struct buf *b)
{
	struct metrics_out o = {b};
	/* Collectors run under the lock: one that is being taken away waits for the scrape. */
	pthread_mutex_lock(&mu);
	for (unsigned i = 0; i < n_collectors; i++)
		collectors[i].fn(collectors[i].ctx, &o);
	pthread_mutex_unlock(&mu);
}

void metrics_family(struct metrics_out *o, const char *name, const char *type, const char *help)
{
	buf_printf(o->b, "# HELP nameplate_%s %s\n# TYPE nameplate_%s %s\n", name, help, name,
	           type);
}

void metrics_sample(struct metrics_out *o, const char *name, const char *labels, uint64_t value)
{
	if (labels[0] != '\0')
		buf_printf(o->b, "nameplate_%s{%s} %llu\n", name, labels,
		           (unsigned long long)value);
	else
		buf_printf(o->b, "nameplate_%s %llu\n", name, (unsigned long long)value);
}

void metrics_sample_f(struct metrics_out *o, const char *name, const char *labels, double value)
{
	if (labels[0] != '\0')
		buf_printf(o->b, "nameplate_%s{%s} %.9g\n", name, labels, value);
	else
		buf_printf(o->b, "nameplate_%s %.9g\n", name, value);
}

void metrics_hist_add(struct metrics_hist *h, uint64_t ns)
{
	double s = (double)ns / 1e9;
	unsigned i = 0;
	while (i < METRICS_HIST_BUCKETS && s > metrics_hist_bounds[i])
		i++;
	atomic_fetch_add_explicit((_Atomic uint64_t *)&h->counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit((_Atomic uint64_t *)&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit((_Atomic uint64_t *)&h->sum_ns, ns, memory_order_relaxed);
}

void metrics_hist_write(struct metrics_out *o, const char *name, const char *help,
                        const struct metrics_hist *h)
{
	char bucket[128], le[32];
	metrics_family(o, name, "histogram", help);
	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	uint64_t cum = 0;
	for (unsigned i = 0; i <= METRICS_HIST_BUCKETS; i++) {
		cum +=
		    atomic_load_explicit((_Atomic uint64_t *)&h->counts[i], memory_order_relaxed);
		if (i < METRICS_HIST_BUCKETS)
			snprintf(le, sizeof(le), "le=\"%g\"", metrics_hist_bounds[i]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		metrics_sample(o, bucket, le, cum);
	}
	char sum[128], count[128];
	snprintf(sum, sizeof(sum), "%s_sum", name);
	snprintf(count, sizeof(count), "%s_count", name);
	metrics_sample_f(
	    o, sum, "",
	    (double)atomic_load_explicit((_Atomic uint64_t *)&h->sum_ns, memory_order_relaxed) /
	        1e9);
	metrics_sample(o, count, "", cum);
}
