/* SPDX-License-Identifier: MIT */
/* The DDNS owners' watch: every [check] owner_interval it checks the addresses each host
 * held (the update history) against the observation index, opens an incident for an
 * address seen infected or suspicious while the host held it, and mails the owner once per
 * incident. Store access goes through writer ops. */
#ifndef NP_CORE_OWNERS_H
#define NP_CORE_OWNERS_H

#include "common/config.h"
#include "common/err.h"
#include "core/mailer.h"
#include "core/observer.h"
#include "core/writer.h"

struct owners;

/* mail may be NULL (no relay): incidents are still recorded and shown, not mailed. */
int owners_start(struct owners **out, const struct config *cfg, struct writer *w,
                 struct observer *obs, struct mailer *mail) np_mustcheck;
void owners_stop(struct owners *ow);

#endif
