/* SPDX-License-Identifier: MIT */
/* The durable store: SQLite in WAL mode with synchronous=FULL under data_dir/nameplate.db.
 * The database is the truth; zones are rebuilt from it at start. One connection per
 * struct store; a struct store is used by one thread at a time. */
#ifndef NP_STORE_STORE_H
#define NP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "common/secret.h"
#include "zone/zone.h"

#define STORE_FILE "nameplate.db"

struct store;

/* Opens data_dir/nameplate.db. With create, makes the directory (0700) and the schema;
 * without, a missing database is NP_ENOTFOUND. Sets WAL, synchronous=FULL, foreign keys,
 * a busy timeout of 5 s, and migrates the schema. */
int store_open(const char *data_dir, bool create, struct store **out) np_mustcheck;
void store_close(struct store *st);

/* Transactions. store_begin takes the write lock at once (BEGIN IMMEDIATE). A failed
 * store_commit means nothing of the transaction may be acknowledged. */
int store_begin(struct store *st) np_mustcheck;
int store_commit(struct store *st) np_mustcheck;
void store_rollback(struct store *st);
/* A nested savepoint, so one request's failure undoes only that request. */
int store_savepoint(struct store *st) np_mustcheck;
int store_release(struct store *st) np_mustcheck;
void store_rollback_savepoint(struct store *st);

/* Large page cache and memory-mapped reads for bulk work (imports, exports); off by
 * default so that a long-running process stays small. */
int store_set_bulk(struct store *st, bool bulk) np_mustcheck;
/* Gives back the page cache's unused memory, e.g. after a full pass over the store. */
void store_release_memory(struct store *st);

/* PRAGMA data_version: changes when another connection commits. */
int store_data_version(struct store *st, int64_t *out) np_mustcheck;

/* The admin secret's hash; set once by init. NP_EEXIST if already set. */
int store_admin_set(struct store *st, const uint8_t hash[SECRET_HASH_LEN]) np_mustcheck;
bool store_admin_is_set(struct store *st);

/* Users (accounts). */
int store_user_add(struct store *st, const char *name, int64_t *id) np_mustcheck;
int store_user_id(struct store *st, const char *name, int64_t *id) np_mustcheck;
typedef int store_user_cb(int64_t id, const char *name, int64_t created, void *ctx);
int store_user_list(struct store *st, store_user_cb *cb, void *ctx) np_mustcheck;

/* Hosts: one owner name under a zone, with its update secret and flags. */
struct store_host {
	int64_t id;
	int64_t user_id; /* 0: no owner (imported); such a host cannot be updated */
	char user[64];   /* owner's name, filled by the getters; "" when none */
	char fqdn[CFG_NAME_MAX];
	char zone[CFG_NAME_MAX];
	bool has_secret;
	uint8_t secret_hash[SECRET_HASH_LEN];
	bool wildcard;
	bool offline;
	bool blocked; /* updates refused with "abuse" */
	int64_t created, updated;
};
int store_host_add(struct store *st, const struct store_host *h, int64_t *id) np_mustcheck;
int store_host_get(struct store *st, const char *fqdn, struct store_host *out) np_mustcheck;
int store_host_del(struct store *st, const char *fqdn) np_mustcheck;
int store_host_set_secret(struct store *st, int64_t host_id,
			  const uint8_t hash[SECRET_HASH_LEN]) np_mustcheck;
int store_host_set_flags(struct store *st, int64_t host_id, bool wildcard, bool offline,
			 bool blocked) np_mustcheck;
typedef int store_host_cb(const struct store_host *h, void *ctx);
/* All hosts (zone NULL) or those of one zone, ordered by fqdn. */
int store_host_list(struct store *st, const char *zone, store_host_cb *cb, void *ctx) np_mustcheck;

/* Whether hash is the update secret of any host of user_id: that proves the account even
 * when the request names hosts it does not own. Compares every hash in constant time. */
int store_user_secret_matches(struct store *st, int64_t user_id,
			      const uint8_t hash[SECRET_HASH_LEN], bool *matches) np_mustcheck;

/* Records of a host, rdata in uncompressed wire form. */
struct store_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[ZONE_MAX_RDATA];
};
/* Fills out[0..max) and *n, ordered by type then insertion. */
int store_records_get(struct store *st, int64_t host_id, struct store_rr *out, size_t max,
		      size_t *n) np_mustcheck;
/* Replaces every record of type at host_id with rrs[0..n) (n = 0 deletes them). */
int store_records_set(struct store *st, int64_t host_id, uint16_t type,
		      const struct store_rr *rrs, size_t n) np_mustcheck;

/* Each host of zone with its records, in fqdn order; stops at the first non-zero cb. */
typedef int store_host_rr_cb(const struct store_host *h, const struct store_rr *rrs, size_t n,
			     void *ctx);
int store_foreach_host_records(struct store *st, const char *zone, store_host_rr_cb *cb,
			       void *ctx) np_mustcheck;

/* Zone serials. store_zone_serial creates the row (serial = current time) when missing.
 * store_zone_bump adds one (RFC 1982, never 0) and returns the new value. */
int store_zone_serial(struct store *st, const char *zone, uint32_t *serial) np_mustcheck;
int store_zone_bump(struct store *st, const char *zone, uint32_t *serial) np_mustcheck;

/* The update history: who changed which host when, from where, old and new addresses. */
struct store_history {
	int64_t host_id;
	const char *fqdn;
	int64_t time;
	const char *source;   /* the client's address */
	const char *old_addr; /* "" when none; "v4,v6" lists as text */
	const char *new_addr;
	const char *protocol; /* "dyndns2", "ctl", "rfc2136" */
};
int store_history_add(struct store *st, const struct store_history *h) np_mustcheck;

#endif
