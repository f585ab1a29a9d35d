/* SPDX-License-Identifier: MIT */
/* The mail thread: sends the store's outbox (check results, owners' alerts) through the
 * configured SMTP relay with libcurl. A row leaves the outbox only once the relay accepted
 * it; failures are retried with back-off from [mail] retry_min doubling to retry_max, for
 * as long as it takes: an accepted check never loses its mail, not even to a restart. */
#ifndef NP_CORE_MAILER_H
#define NP_CORE_MAILER_H

#include "common/config.h"
#include "common/err.h"
#include "core/writer.h"

struct mailer;

/* Starts the thread (outbox access goes through writer ops on w). *out is NULL, and NP_OK
 * returned, when cfg has no [mail] relay. cfg must outlive the mailer. */
int mailer_start(struct mailer **out, const struct config *cfg, struct writer *w) np_mustcheck;
/* Finishes the mail being sent (bounded by curl's timeouts) and stops; unsent mail stays in
 * the outbox for the next start. */
void mailer_stop(struct mailer *m);
/* New mail was committed to the outbox: send it now rather than at the next poll. */
void mailer_poke(struct mailer *m);

#endif
