/* SPDX-License-Identifier: MIT */
/* Abuse reports (ticket.c): what a stranger reported about one of our names, kept until the
 * operator decides (docs/abuse.md, "Reports"). */
#ifndef NP_STORE_TICKET_H
#define NP_STORE_TICKET_H

#include <stdbool.h>
#include <stdint.h>

#include "store/abuse.h"
#include "store/store.h"

#define STORE_TICKET_EVIDENCE_MAX 4000 /* bytes of evidence text a report may hold */
#define STORE_TICKET_CATEGORY_MAX 16

/* The categories a report may name; NULL-terminated. */
extern const char *const store_ticket_categories[];
bool store_ticket_category_ok(const char *c);

struct store_ticket {
	int64_t id;
	int64_t time;
	char fqdn[CFG_NAME_MAX];
	char category[STORE_TICKET_CATEGORY_MAX];
	char evidence[STORE_TICKET_EVIDENCE_MAX + 1];
	char contact[STORE_MAIL_RCPT_MAX]; /* "" when the reporter left none */
	char source[48];                   /* the reporter's address */
	char status[16];                   /* open, hold, quarantined, restored, dismissed */
	int64_t decided;                   /* when; 0 while open */
	char decision[STORE_ABUSE_REASONS_MAX]; /* the operator's reason */
};

/* Keeps a new report (status open); *id gets its ticket number. */
int store_ticket_add(struct store *st, const struct store_ticket *t, int64_t *id) np_mustcheck;
/* NP_ENOTFOUND when there is no such ticket. */
int store_ticket_get(struct store *st, int64_t id, struct store_ticket *out) np_mustcheck;
/* Every ticket, the open ones first, then newest first. */
typedef int store_ticket_cb(const struct store_ticket *t, void *ctx);
int store_ticket_list(struct store *st, store_ticket_cb *cb, void *ctx) np_mustcheck;
/* Records the operator's decision on ticket id. */
int store_ticket_decide(struct store *st, int64_t id, const char *status, const char *reason,
                        int64_t now) np_mustcheck;
/* Ties the newest abuse_log row of host_id to ticket id (the decision it came from). */
int store_ticket_log(struct store *st, int64_t host_id, int64_t id) np_mustcheck;

/* The ticket status a decision gives: "hold", "quarantined", "restored" (state ok),
 * "dismissed" (state -1). */
const char *store_ticket_status_of(int state);

/* A decision on ticket id, inside the caller's transaction: its name moves to state
 * (none for dismiss, state -1), logged with actor and "ticket N: reason" and tied to the
 * ticket, touch(touch_ctx, host) when it moved; the ticket is closed with its status and
 * the reason; a reporter who left a contact gets the outcome in the mail outbox. *t gets
 * the ticket as it is now; *changed whether the name's state moved. NP_ENOTFOUND: no such
 * ticket, or its host is gone. */
int store_ticket_resolve(struct store *st, int64_t id, int state, const char *actor,
                         const char *reason, int64_t now,
                         int (*touch)(void *ctx, const struct store_host *h), void *touch_ctx,
                         struct store_ticket *t, bool *changed) np_mustcheck;

/* The revoked list: names quarantined now or whose account is suspended, by name, at most
 * limit: each with since when (the quarantine's log row; the suspension's start, 0 when
 * unknown) and why ("quarantined" or "suspended"). */
typedef int store_revoked_cb(const char *fqdn, int64_t since, const char *why, void *ctx);
int store_revoked_list(struct store *st, size_t limit, store_revoked_cb *cb,
                       void *ctx) np_mustcheck;

#endif
