/* SPDX-License-Identifier: MIT */
/* NOTIFY out (RFC 1996): tells each zone's `notify` targets of its new serial, from a
 * thread of its own, so the writer never waits on the network. A target that does not
 * answer is asked again after 1, 2, 4, 8 and 16 seconds (six messages in all over about
 * half a minute), then given up on: its refresh timer will find the serial anyway. A newer
 * serial replaces one still being retried. */
#ifndef NP_CORE_NOTIFY_H
#define NP_CORE_NOTIFY_H

#include <stdint.h>

#include "common/config.h"
#include "common/err.h"

#define NOTIFY_RETRIES     5    /* after the first message */
#define NOTIFY_FIRST_RETRY 1000 /* ms; doubled after each */

struct notifier;

int notifier_start(struct notifier **out) np_mustcheck;
/* Queues a NOTIFY of cz's serial to each of cz's notify targets (copied); never blocks on
 * the network. Matches publish_serial_fn (core/publish.h). */
void notifier_zone(void *notifier, const struct cfg_zone *cz, uint32_t serial);
void notifier_stop(struct notifier *n);

#endif
