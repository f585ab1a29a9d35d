/* SPDX-License-Identifier: MIT */
/* The zone publisher: keeps the zone versions the DNS workers read in step with the store.
 * It builds every zone at start, after a reload and when another connection (nameplatectl)
 * committed; after each writer batch it derives the next version of each zone the batch
 * touched, publishes the new zone_db with rcu_assign_pointer before the batch is answered,
 * and frees what only the old versions used after a grace period.
 *
 * It runs as the writer's hooks (writer.h), on the writer thread; only the durable hook,
 * which shows a batch's versions, may run on the WAL sync thread. */
#ifndef NP_CORE_PUBLISH_H
#define NP_CORE_PUBLISH_H

#include "common/config.h"
#include "common/err.h"
#include "core/writer.h"
#include "store/store.h"
#include "zone/zone.h"

struct publisher;

/* Loads every zone of cfg from st and publishes the first zone_db to *db_slot (read by DNS
 * workers with rcu_dereference). st stays the caller's: after this call it is used only from
 * the hooks, so hand it to the writer started with them. */
int publish_start(struct publisher **out, const struct config *cfg, struct store *st,
		  struct zone_db **db_slot) np_mustcheck;
/* Told, on the writer thread or the WAL sync thread (never both at once), of each zone
 * whose serial changed (after each batch that changed it, and after a rebuild); must not
 * block. */
typedef void publish_serial_fn(void *ctx, const struct cfg_zone *cz, uint32_t serial);
/* Connects the publisher to the transports' pins (zone.h: what a transfer streams from is
 * freed only after it ends; NULL = none) and to whoever tells secondaries of new serials
 * (may be NULL). Before the writer starts. */
void publish_attach(struct publisher *p, struct zone_pins *pins, publish_serial_fn *on_serial,
                    void *ctx);
/* The writer hooks that drive p. */
void publish_hooks(struct publisher *p, struct writer_hooks *hooks);
/* Unpublishes and frees the zones. After writer_stop: no hook may run any more. */
void publish_stop(struct publisher *p);

#endif
