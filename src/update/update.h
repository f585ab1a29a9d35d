/* SPDX-License-Identifier: MIT */
/* RFC 2136 UPDATE with TSIG on nameplated: the service the DNS transports hand UPDATE
 * messages to (ns/update.h's update_job).
 *
 * One thread of its own authenticates each message (the TSIG key found by name in the
 * store through a read-only connection, account/tsigkey.h), parses and prescans it
 * (ns/update.h), asks credential_may for every name and type it would change, and queues
 * it to the writer. On the writer thread the prerequisites are evaluated and the changes
 * applied inside one savepoint of the batch, so they see exactly the data they change;
 * only after the commit is the signed answer sent. Nothing runs on a DNS worker but the
 * hand-over, and nothing authenticates on the writer. */
#ifndef NP_UPDATE_UPDATE_H
#define NP_UPDATE_UPDATE_H

#include <stdbool.h>

#include "common/config.h"
#include "common/err.h"
#include "core/writer.h"
#include "ns/update.h"
#include "ns/xfr.h"
#include "zone/zone.h"

/* The service's thread also sweeps stale ACME challenge values (core/acme.h): this long
 * after start, then every ACME_SWEEP_SECONDS. */
#define UPDATE_SWEEP_FIRST_MS 1000

/* UPDATEs waiting for authentication; more are answered SERVFAIL at once. */
#define UPDATE_QUEUE_MAX 256

struct update_service;

/* Opens the service's read-only store connection and reads the TSIG sealing key (both
 * before privileges are dropped), and starts its thread. w and abuse (the update budgets,
 * feeds and flux scores dyndns2 and the REST API answer to as well; NULL: none) must
 * outlive the service; db is the RCU-published zone_db the DNS transports answer from:
 * signed queries (certbot signs its SOA lookups), which the transports hand over too, are
 * answered from it and signed. */
struct abuse;
int update_service_start(struct update_service **out, const struct config *cfg, struct writer *w,
                         struct abuse *abuse, struct zone_db *const *db) np_mustcheck;
/* The transports' update_submit_fn; ctx is the service. */
bool update_service_submit(void *ctx, struct update_job *job);
/* Refuses new jobs, answers the queued ones, waits for those at the writer, stops the
 * thread. Call before the transports and the writer stop. */
void update_service_stop(struct update_service *u);

/* TSIG for zone transfers (xfr_tsig.c): fills hooks for the transports, with a read-only
 * store connection and the sealing key of their own (opened now, before privileges are
 * dropped). Free after the transports stopped. */
struct xfr_tsig;
int update_xfr_hooks(struct xfr_tsig **out, const struct config *cfg,
                     struct xfr_hooks *hooks) np_mustcheck;
void update_xfr_hooks_free(struct xfr_tsig *x);

#endif
