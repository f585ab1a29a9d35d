/* SPDX-License-Identifier: MIT */
/* The store's side of the DDNS owners' watch: incidents (an address a host held was seen
 * infected or suspicious), the pages of owned hosts the watch walks, and the update
 * history it reads to know which address a host held when.
 *
 * An incident belongs to (host, address) and is open while closed == 0. At most one
 * incident per (host, address) is open at a time (the owners' job keeps it so: it looks the
 * open one up before it opens another); a later flag after closing opens a new one, which
 * is what "mail once per incident" counts. All functions run inside the caller's
 * transaction (the writer's), like the rest of the store. */
#ifndef NP_STORE_INCIDENT_H
#define NP_STORE_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

#define STORE_INCIDENT_ADDR_MAX    46 /* INET6_ADDRSTRLEN */
#define STORE_INCIDENT_VERDICT_MAX 16

struct store_incident {
	int64_t id;
	int64_t host_id;
	char addr[STORE_INCIDENT_ADDR_MAX];       /* the address as text (addr_format) */
	char verdict[STORE_INCIDENT_VERDICT_MAX]; /* "infected" or "suspicious" */
	int64_t opened, updated;
	int64_t closed;       /* 0 while open */
	bool notified;        /* the owner was mailed for it */
	const char *evidence; /* the verdict JSON (observe/codec.h); valid during a callback */
};

/* The open incident of (host_id, addr) into out (evidence is NULL there). NP_ENOTFOUND
 * when there is none. */
int store_incident_find_open(struct store *st, int64_t host_id, const char *addr,
                             struct store_incident *out) np_mustcheck;
/* Opens an incident (opened = updated = now, not notified). */
int store_incident_add(struct store *st, int64_t host_id, const char *addr, const char *verdict,
                       const char *evidence, int64_t now, int64_t *id) np_mustcheck;
/* A still-flagged open incident: its current verdict and evidence, updated = now. */
int store_incident_update(struct store *st, int64_t id, const char *verdict, const char *evidence,
                          int64_t now) np_mustcheck;
int store_incident_set_notified(struct store *st, int64_t id) np_mustcheck;
int store_incident_close(struct store *st, int64_t id, int64_t now) np_mustcheck;

typedef int store_incident_cb(const struct store_incident *inc, void *ctx);
/* The open incidents of host_id, by id. A non-zero return from cb stops and is returned;
 * cb must not run other incident functions (the statement is still stepping). */
int store_incident_foreach_open(struct store *st, int64_t host_id, store_incident_cb *cb,
                                void *ctx) np_mustcheck;
/* The incidents of host_id that are open or were closed at or after closed_since, newest
 * first, at most limit. */
int store_incident_list(struct store *st, int64_t host_id, int64_t closed_since, size_t limit,
                        store_incident_cb *cb, void *ctx) np_mustcheck;

/* A host as the watch and the status API need it. */
struct store_owned_host {
	int64_t id;
	int64_t user_id;
	char fqdn[CFG_NAME_MAX];
};
/* Up to max hosts that have an owner and an id greater than after, in id order (the
 * watch's paging), into out; *n is how many. */
int store_owned_hosts_page(struct store *st, int64_t after, struct store_owned_host *out,
                           size_t max, size_t *n) np_mustcheck;
/* Up to max hosts of user_id, in fqdn order; *n is how many (*more is set when there were
 * more than max). */
int store_user_hosts(struct store *st, int64_t user_id, struct store_owned_host *out, size_t max,
                     size_t *n, bool *more) np_mustcheck;

/* The update history of host_id from `since`: first the last row before since (what the
 * host held at since, with its own time), then every row at or after since, in time order,
 * at most limit rows in all (the oldest are kept: the caller sees the limit was reached
 * when cb ran limit times). new_addr is the "v4,v6" list the row set ("" = none held). */
typedef int store_history_cb(int64_t time, const char *new_addr, void *ctx);
int store_history_since(struct store *st, int64_t host_id, int64_t since, size_t limit,
                        store_history_cb *cb, void *ctx) np_mustcheck;

#endif
