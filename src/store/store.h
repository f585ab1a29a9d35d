/* SPDX-License-Identifier: MIT */
/* The durable store: SQLite in WAL mode with synchronous=FULL (the writer's commits: synced
 * by a thread of their own, store/walsync.c) under data_dir/nameplate.db.
 * The database is the truth; zones are rebuilt from it at start. One connection per
 * struct store; a struct store is used by one thread at a time. */
#ifndef NP_STORE_STORE_H
#define NP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/err.h"
#include "common/secret.h"
#include "zone/zone.h"

#define STORE_FILE "nameplate.db"

/* The longest mail address kept, + NUL (RFC 5321: 64 + 1 + 255 octets). */
#define STORE_MAIL_RCPT_MAX 321
/* A requester's network key: 4 or 6 (the family), then the IPv4 address or the first 8
 * bytes (the /64) of the IPv6 one, zero-padded: IPv4 uses 5 of the 9 bytes. */
#define STORE_CHECK_NET_LEN 9
/* The key of address a (IPv6 to its /64, the unit a per-address limit counts). */
void store_net_key(const struct np_addr *a, uint8_t key[STORE_CHECK_NET_LEN]);

struct store;

/* Opens data_dir/nameplate.db. With create, makes the directory (0700) and the schema;
 * without, a missing database is NP_ENOTFOUND. Sets WAL, synchronous=FULL, foreign keys,
 * a busy timeout of 5 s, and migrates the schema. Its writes into the WAL go through
 * store/walbuf.c (a transaction's frames in one write call). */
int store_open(const char *data_dir, bool create, struct store **out) np_mustcheck;
/* A second connection to an existing store that can only read (PRAGMA query_only): for
 * lookups off the writer's thread. No migration: the writer's store_open did it. */
int store_open_reader(const char *data_dir, struct store **out) np_mustcheck;
void store_close(struct store *st);
/* WAL checkpoints of st's commits on a thread of their own, with its own connection, rather
 * than inside the commit that finds the WAL long (store/checkpoint.c): for the writer's
 * connection. Stopped by store_close. */
int store_checkpoint_background(struct store *st) np_mustcheck;
/* Pipelined group commit for the writer's connection (store/walsync.c): its COMMITs no
 * longer sync (synchronous=OFF); a thread of its own syncs the WAL when asked. After a
 * COMMIT, store_wal_sync_ask gives a ticket; store_wal_sync_wait(ticket) returns NP_OK once
 * the transaction (and every one committed before it) is on disk, NP_ESTORE for good after
 * a failed sync. NP_ENOTFOUND when st has no WAL file (commits then stay synchronous).
 * After store_close nothing of it runs. Without it, ask returns 0 and wait NP_OK. */
int store_wal_sync_start(struct store *st) np_mustcheck;
bool store_wal_sync_on(const struct store *st);
uint64_t store_wal_sync_ask(struct store *st);
int store_wal_sync_wait(struct store *st, uint64_t ticket) np_mustcheck;
/* store_wal_sync_wait without waiting: NP_EAGAIN while that sync runs. */
int store_wal_sync_poll(struct store *st, uint64_t ticket) np_mustcheck;
/* Ask and wait: everything committed so far is on disk. */
int store_wal_sync_now(struct store *st) np_mustcheck;
/* fn(ctx) runs on the sync thread after each sync ends (done or failed), outside the
 * store's locks, until store_close (or fn NULL): to act on what the sync made durable at
 * once (store_wal_sync_poll tells which tickets). It must not block, nor wait for a sync. */
void store_wal_sync_notify(struct store *st, void (*fn)(void *ctx), void *ctx);

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
/* Memory-mapped reads for nameplated's writer connection, and a page cache (about 10 MiB)
 * that holds the pages it wrote since the last checkpoint. */
int store_map_reads(struct store *st) np_mustcheck;
/* Gives back the page cache's unused memory and, with store_map_reads, the pages the map
 * holds, e.g. after a full pass over the store. Outside a transaction only. */
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

/* Hosts: one owner name under a zone, with its flags. Who may update it is a matter of
 * tokens (below). */
struct store_host {
	int64_t id;
	int64_t user_id; /* 0: no owner (imported); such a host cannot be updated */
	char user[64];   /* owner's name, filled by the getters; "" when none */
	char fqdn[CFG_NAME_MAX];
	char zone[CFG_NAME_MAX];
	bool wildcard;
	bool offline;
	bool blocked;    /* updates refused with "abuse": abuse_state hold or quarantined */
	int abuse_state; /* enum store_abuse_state (store/abuse.h); set only through there */
	bool suspended;  /* the owner's account is suspended: served as if quarantined */
	/* updated: the later of the row's own time (creation, flags) and the host's last
	 * history row (a change of records is dated by its history row alone) */
	int64_t created, updated;
};
int store_host_add(struct store *st, const struct store_host *h, int64_t *id) np_mustcheck;
int store_host_get(struct store *st, const char *fqdn, struct store_host *out) np_mustcheck;
/* As store_host_get, but updated is the row's own time only: one seek fewer (no look into
 * the history), for the UPDATE and publication paths that never read updated. */
int store_host_get_row(struct store *st, const char *fqdn, struct store_host *out) np_mustcheck;
int store_host_del(struct store *st, const char *fqdn) np_mustcheck;
int store_host_set_flags(struct store *st, int64_t host_id, bool wildcard, bool offline,
			 bool blocked) np_mustcheck;
typedef int store_host_cb(const struct store_host *h, void *ctx);
/* All hosts (zone NULL) or those of one zone, ordered by fqdn. */
int store_host_list(struct store *st, const char *zone, store_host_cb *cb, void *ctx) np_mustcheck;

/* Records of a host, rdata in uncompressed wire form. */
struct store_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[ZONE_MAX_RDATA];
};
/* The address an A or AAAA record holds; false for any other record. */
bool store_rr_addr(const struct store_rr *rr, struct np_addr *out);
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
	const char *protocol; /* the interface: "dyndns2", "api", "web", "ctl", "rfc2136" */
	const char *token_id; /* the token that made the change; "" or NULL when none */
};
int store_history_add(struct store *st, const struct store_history *h) np_mustcheck;
/* The newest history rows of the host of that name (by its id: not those of a host of the
 * same name deleted before), newest first, at most limit. The strings passed to
 * cb live until it returns. */
typedef int store_history_row_cb(const struct store_history *h, void *ctx);
int store_history_list(struct store *st, const char *fqdn, size_t limit, store_history_row_cb *cb,
		       void *ctx) np_mustcheck;

/* ---- ACME DNS-01 challenge values (src/store/acme.c) ----
 * TXT strings published at "_acme-challenge." + a host's name, apart from its records;
 * deleted with the host. core/acme.h decides what may be stored and publishes it. */
#define STORE_ACME_TXT_MAX 255 /* one TXT character-string */
struct store_acme_txt {
	char value[STORE_ACME_TXT_MAX + 1];
	int64_t created;
};
/* The host's values, oldest first (in the order they were added), at most max
 * (NP_ETOOBIG when more). */
int store_acme_get(struct store *st, int64_t host_id, struct store_acme_txt *out, size_t max,
		   size_t *n) np_mustcheck;
/* Adds a value (NP_EEXIST when the host has it already) or deletes one (NP_ENOTFOUND when
 * it has not). */
int store_acme_add(struct store *st, int64_t host_id, const char *value,
		   int64_t created) np_mustcheck;
int store_acme_del(struct store *st, int64_t host_id, const char *value) np_mustcheck;
/* The names of hosts holding a value created before `before`, at most max (the rest at
 * the next call). */
int store_acme_stale(struct store *st, int64_t before, char (*fqdns)[CFG_NAME_MAX], size_t max,
		     size_t *n) np_mustcheck;
/* Every host of zone that has values, by fqdn, with its values oldest first (the strings
 * live until cb returns). The first non-zero return of cb stops the walk. */
typedef int store_acme_cb(const char *fqdn, const struct store_acme_txt *v, size_t n,
			  void *ctx);
int store_foreach_acme(struct store *st, const char *zone, store_acme_cb *cb,
		       void *ctx) np_mustcheck;

/* ---- Accounts (src/store/account.c) ----
 * A person's password is kept as an argon2id string (account/password.h), never in clear. */
enum store_user_state {
	STORE_USER_ACTIVE = 0,
	STORE_USER_LOCKED = 1,      /* by an operator, or sign-in refused until unlocked */
	STORE_USER_SUSPENDED = 2,   /* by an operator: nothing of it may change or be used */
	STORE_USER_UNCONFIRMED = 3, /* signed up; the mail address is not confirmed yet */
};
enum store_user_role {
	STORE_ROLE_USER = 0,
	STORE_ROLE_ADMIN = 1,
};
/* "active", "locked", "suspended", "unconfirmed" (as the API and nameplatectl show it). */
const char *store_user_state_name(enum store_user_state s);
#define STORE_PWHASH_MAX 128 /* crypto_pwhash_STRBYTES */
#define STORE_TOTP_MAX   32
struct store_user {
	int64_t id;
	char name[64];
	char email[STORE_MAIL_RCPT_MAX];
	char password_hash[STORE_PWHASH_MAX]; /* "" when none: password sign-in impossible */
	enum store_user_role role;
	enum store_user_state state;
	bool email_confirmed;
	uint8_t totp_secret[STORE_TOTP_MAX];
	size_t totp_len; /* 0: no second factor */
	int64_t totp_step; /* the last TOTP step used, against replay */
	int64_t created;
};
int store_user_get(struct store *st, const char *name, struct store_user *out) np_mustcheck;
int store_user_get_id(struct store *st, int64_t id, struct store_user *out) np_mustcheck;
/* Sets the password hash (NULL or "" clears it). */
int store_user_set_password(struct store *st, int64_t id, const char *hash) np_mustcheck;
int store_user_set_state(struct store *st, int64_t id, enum store_user_state state) np_mustcheck;
int store_user_set_role(struct store *st, int64_t id, enum store_user_role role) np_mustcheck;
int store_user_set_confirmed(struct store *st, int64_t id, bool confirmed) np_mustcheck;
/* Sets the TOTP secret (len 0 removes the second factor) and resets the step. */
int store_user_set_totp(struct store *st, int64_t id, const uint8_t *secret,
			size_t len) np_mustcheck;
/* Records the step of a TOTP code just accepted. */
int store_user_set_totp_step(struct store *st, int64_t id, int64_t step) np_mustcheck;
/* Deletes the account and its tokens; NP_EDENIED (nothing done) while it still owns hosts. */
int store_user_del(struct store *st, int64_t id) np_mustcheck;
/* A new account with every field of u that sign-up sets (name, email, password_hash, role,
 * state, email_confirmed) and the requester's network key (STORE_CHECK_NET_LEN bytes, or
 * NULL) for the sign-up limits. NP_EEXIST when the name is taken. */
int store_user_create(struct store *st, const struct store_user *u, const uint8_t *net,
		      int64_t *id) np_mustcheck;
/* Accounts created since `since`: by every network whose key starts with the first
 * prefix_len bytes of net, and by anyone. */
int store_user_signups(struct store *st, const uint8_t *net, size_t prefix_len, int64_t since,
		       unsigned *by_net, unsigned *all) np_mustcheck;

/* Deletes accounts still unconfirmed that were made before `before` (and own no host). */
int store_user_expire_unconfirmed(struct store *st, int64_t before) np_mustcheck;

/* One-time codes of accounts, kept as keyed hashes: a mail confirmation (of user_id) or an
 * invitation (no user yet). */
enum store_code_kind {
	STORE_CODE_CONFIRM = 1,
	STORE_CODE_INVITE = 2,
};
int store_code_add(struct store *st, enum store_code_kind kind, const uint8_t hash[SECRET_HASH_LEN],
		   int64_t user_id, int64_t now, int64_t expires) np_mustcheck;
/* Uses up the code: deletes it and gives its user (0 for an invitation). NP_ENOTFOUND when
 * there is no such code of that kind, or it expired. */
int store_code_take(struct store *st, enum store_code_kind kind,
		    const uint8_t hash[SECRET_HASH_LEN], int64_t now, int64_t *user_id) np_mustcheck;
/* Forgets codes that expired before now. */
int store_code_expire(struct store *st, int64_t now) np_mustcheck;

typedef int store_user_full_cb(const struct store_user *u, void *ctx);
int store_user_list_full(struct store *st, store_user_full_cb *cb, void *ctx) np_mustcheck;
/* How many hosts the account owns. */
int store_user_host_count(struct store *st, int64_t id, unsigned *n) np_mustcheck;
/* The hosts of one account, ordered by fqdn. */
int store_host_list_user(struct store *st, int64_t user_id, store_host_cb *cb,
			 void *ctx) np_mustcheck;
/* The names of the hosts of one account, in fqdn order, as one malloc'd array (*out, to
 * free(); NULL when there are none): for a pass that changes hosts, which must not run
 * inside the listing's statement. */
int store_host_names_user(struct store *st, int64_t user_id, char (**out)[CFG_NAME_MAX],
			  size_t *n) np_mustcheck;

/* ---- Tokens (src/store/account.c) ----
 * A token is a generated secret of an account; only its keyed hash is kept, and that hash
 * finds it (unique index). id is its public name (in lists, the API and history). The
 * policy fields are text the account module parses (account/policy.h): "" allows all. */
enum store_token_kind {
	STORE_TOKEN_API = 0,     /* made by the account for a router or a script */
	STORE_TOKEN_SESSION = 1, /* a sign-in (web UI or API login); expires */
	STORE_TOKEN_HOST = 2,    /* a host's update secret (nameplatectl host add/secret) */
	STORE_TOKEN_TSIG = 3,    /* a TSIG key for RFC 2136 UPDATE: its row in tsig_keys */
};
/* "api", "session", "host". */
const char *store_token_kind_name(enum store_token_kind k);
#define STORE_TOKEN_ID_MAX 16
/* 16 names of up to 255 characters ("*." and 253) and their commas fit; a longer column is
 * refused when read (a cut list could allow more than the whole one). */
#define STORE_POLICY_TEXT_MAX 4096
struct store_token {
	char id[STORE_TOKEN_ID_MAX];
	int64_t user_id;
	uint8_t secret_hash[SECRET_HASH_LEN];
	enum store_token_kind kind;
	char name[64];
	char names[STORE_POLICY_TEXT_MAX];   /* comma list of names and "*.subtree" patterns */
	char types[64];                      /* comma list of record types */
	char sources[STORE_POLICY_TEXT_MAX]; /* comma list of prefixes */
	int64_t expires;                     /* 0: never */
	bool manage;                         /* may create, change and delete tokens */
	int64_t created, last_used;
	char last_source[46];
};
/* NP_EEXIST when the id or the hash is taken. */
int store_token_add(struct store *st, const struct store_token *t) np_mustcheck;
int store_token_by_hash(struct store *st, const uint8_t hash[SECRET_HASH_LEN],
			struct store_token *out) np_mustcheck;
int store_token_get(struct store *st, const char *id, struct store_token *out) np_mustcheck;
/* Whether the token with this id and hash still exists and its account is active, in one
 * lookup (the writer's check of a credential found before the request was queued); when
 * it is, *last_used is the token's. */
int store_token_valid(struct store *st, const char *id, const uint8_t hash[SECRET_HASH_LEN],
		      bool *valid, int64_t *last_used) np_mustcheck;
/* A number that changes with every change to what a credential is, by any process: a token
 * or TSIG key deleted, a token's secret, owner or policy changed, an account renamed, its
 * role or state changed (triggers; a token's last use does not count). What was read of
 * credentials while it stays the same is still what the store holds. */
int store_credentials_version(struct store *st, int64_t *out) np_mustcheck;
/* Rewrites name, policy and expiry of the token with t->id. */
int store_token_update(struct store *st, const struct store_token *t) np_mustcheck;
/* Notes the token's last use: when (now) and from where. NP_OK also when no token has id
 * (callers checked it in the same transaction). */
int store_token_used(struct store *st, const char *id, int64_t now, const char *source) np_mustcheck;
int store_token_del(struct store *st, const char *id) np_mustcheck;
/* Deletes the host tokens (STORE_TOKEN_HOST) of fqdn. */
int store_token_del_host(struct store *st, const char *fqdn) np_mustcheck;
/* Deletes the sessions that expired before now. */
int store_token_expire(struct store *st, int64_t now) np_mustcheck;
typedef int store_token_cb(const struct store_token *t, void *ctx);
/* The tokens of an account, of one kind (or every kind when kind < 0), oldest first. */
int store_token_list(struct store *st, int64_t user_id, int kind, store_token_cb *cb,
		     void *ctx) np_mustcheck;

/* ---- TSIG keys (src/store/account.c) ----
 * A TSIG key is a token of kind STORE_TOKEN_TSIG (its policy, expiry, account, last use)
 * with a row of its own: the key's DNS name, by which a signed message finds it, its
 * algorithm, and its secret sealed by the account module (HMAC needs the secret itself, so
 * it cannot be kept as a hash; account/tsigkey.h says how it is sealed). The token's
 * secret_hash is random: no presented bearer secret can ever match a TSIG key. */
#define STORE_TSIG_SEALED_MAX 256
struct store_tsig {
	struct store_token token;
	char keyname[CFG_NAME_MAX]; /* lower case, no final dot */
	int alg;                    /* enum tsig_alg */
	uint8_t sealed[STORE_TSIG_SEALED_MAX];
	size_t sealed_len;
};
/* Adds the key and its token in one go (inside the caller's transaction). NP_EEXIST when
 * the key name, the token id or the hash is taken. */
int store_tsig_add(struct store *st, const struct store_tsig *k) np_mustcheck;
/* The key named keyname (lower case, no final dot). NP_ENOTFOUND when there is none. */
int store_tsig_get(struct store *st, const char *keyname, struct store_tsig *out) np_mustcheck;
/* The keys of an account (user_id), or of every account (user_id 0), by name. */
typedef int store_tsig_cb(const struct store_tsig *k, void *ctx);
int store_tsig_list(struct store *st, int64_t user_id, store_tsig_cb *cb, void *ctx) np_mustcheck;
/* Deletes the key and its token. NP_ENOTFOUND when there is none. */
int store_tsig_del(struct store *st, const char *keyname) np_mustcheck;

/* ---- Users' mail addresses (alerts to DDNS owners) ---- */
int store_user_set_email(struct store *st, int64_t user_id, const char *email) np_mustcheck;
/* "" when none. */
int store_user_email(struct store *st, int64_t user_id, char *out, size_t len) np_mustcheck;

/* ---- Sensors (src/store/observe.c) ----
 * A sensor pushes observation batches with a bearer token "NAME:SECRET"; only the keyed
 * hash of SECRET is kept. */
struct store_sensor {
	int64_t id;
	char name[64];
	uint8_t token_hash[SECRET_HASH_LEN];
	int64_t created, last_seen;
};
int store_sensor_add(struct store *st, const char *name, const uint8_t hash[SECRET_HASH_LEN],
		     int64_t *id) np_mustcheck;
int store_sensor_get(struct store *st, const char *name, struct store_sensor *out) np_mustcheck;
int store_sensor_del(struct store *st, const char *name) np_mustcheck;
int store_sensor_seen(struct store *st, int64_t id, int64_t now) np_mustcheck;
typedef int store_sensor_cb(const struct store_sensor *s, void *ctx);
int store_sensor_list(struct store *st, store_sensor_cb *cb, void *ctx) np_mustcheck;
/* Remembers that sensor_id sent batch (for retries: a batch is counted once). *dup is set
 * when it was already there. Batches older than `before` are forgotten by prune. */
int store_sensor_batch_add(struct store *st, int64_t sensor_id, const char *batch, int64_t now,
			   bool *dup) np_mustcheck;
int store_sensor_batch_prune(struct store *st, int64_t before) np_mustcheck;

/* ---- Observation inbox and checkpoint (src/store/observe.c) ----
 * Every observation enters the store first through the inbox, in the transaction that
 * acknowledges it: a sensor batch (JSON, as received) or an offline import (records).
 * nameplated merges inbox rows into its index in id order, and its checkpoint writes the
 * index's changed addresses and deletes the inbox rows merged, in one transaction. */
enum store_obs_kind {
	STORE_OBS_BATCH = 1,   /* data: a sensor batch (observe/codec.h JSON) */
	STORE_OBS_RECORDS = 2, /* data: records, each a u32 length (little endian) followed by
	                          obs_record_encode() bytes */
};
int store_obs_inbox_add(struct store *st, const char *source, enum store_obs_kind kind,
			const void *data, size_t len, int64_t now, int64_t *id) np_mustcheck;
typedef int store_obs_inbox_cb(int64_t id, const char *source, enum store_obs_kind kind,
			       const void *data, size_t len, void *ctx);
/* Rows with id > after, in id order, at most limit of them. */
int store_obs_inbox_foreach(struct store *st, int64_t after, size_t limit,
			    store_obs_inbox_cb *cb, void *ctx) np_mustcheck;
int store_obs_inbox_delete_upto(struct store *st, int64_t id) np_mustcheck;
/* One checkpoint row per address (key: obs_record_key()). */
int store_obs_put(struct store *st, const void *key, size_t keylen, int64_t last_seen,
		  const void *data, size_t len) np_mustcheck;
int store_obs_delete(struct store *st, const void *key, size_t keylen) np_mustcheck;
/* Deletes rows whose last activity is before `before` (outside the retention window). */
int store_obs_expire(struct store *st, int64_t before) np_mustcheck;
typedef int store_obs_cb(const void *data, size_t len, void *ctx);
/* Every row, least recently active first (the order that restores the index's LRU). */
int store_obs_foreach(struct store *st, store_obs_cb *cb, void *ctx) np_mustcheck;

/* ---- The mail outbox (src/store/check.c) ----
 * Mail waits here until the relay accepted it; the row is then deleted (so the recipient's
 * address is not kept longer than needed). */
struct store_mail {
	int64_t id;
	char rcpt[STORE_MAIL_RCPT_MAX];
	char *subject; /* malloc'd by the getters; free with store_mail_free */
	char *body;
	int64_t created;
	unsigned attempts;
	int64_t next_try;
};
int store_mail_add(struct store *st, const char *rcpt, const char *subject, const char *body,
		   int64_t now, int64_t *id) np_mustcheck;
typedef int store_mail_cb(const struct store_mail *m, void *ctx);
/* Rows with next_try <= now, oldest next_try first, at most limit. */
int store_mail_due(struct store *st, int64_t now, size_t limit, store_mail_cb *cb,
		   void *ctx) np_mustcheck;
/* The earliest next_try of any row; NP_ENOTFOUND when the outbox is empty. */
int store_mail_next(struct store *st, int64_t *when) np_mustcheck;
/* How many mails wait (sent ones are gone) and when the oldest was queued (0 when none):
 * for the cap on the outbox, its log lines, and metrics. */
int store_mail_stats(struct store *st, unsigned *count, int64_t *oldest) np_mustcheck;
int store_mail_sent(struct store *st, int64_t id) np_mustcheck; /* deletes the row */
int store_mail_retry(struct store *st, int64_t id, unsigned attempts, int64_t next_try,
		     const char *error) np_mustcheck;
void store_mail_free(struct store_mail *m);

/* ---- Checks (src/store/check.c) ----
 * A check result page: found by the keyed hash of its token, opened only with the cookie
 * whose keyed hash matches. result is the verdict JSON (observe/codec.h). */
/* net: the requester's network key (STORE_CHECK_NET_LEN, defined above). */
struct store_check {
	int64_t id;
	uint8_t token_hash[SECRET_HASH_LEN];
	uint8_t cookie_hash[SECRET_HASH_LEN];
	uint8_t email_hash[SECRET_HASH_LEN];
	uint8_t net[STORE_CHECK_NET_LEN];
	char addr[46];
	int64_t created, updated, expires;
	char *result; /* malloc'd by the getter; free with store_check_free */
};
int store_check_add(struct store *st, const struct store_check *c, int64_t *id) np_mustcheck;
int store_check_get(struct store *st, const uint8_t token_hash[SECRET_HASH_LEN],
		    struct store_check *out) np_mustcheck;
int store_check_update(struct store *st, int64_t id, const char *addr, const char *result,
		       int64_t now) np_mustcheck;
/* Checks created since `since` by addr, and by the mail address with email_hash. */
int store_check_count(struct store *st, const char *addr,
		      const uint8_t email_hash[SECRET_HASH_LEN], int64_t since, unsigned *by_addr,
		      unsigned *by_email) np_mustcheck;
/* Checks created since `since` whose net key starts with the first prefix_len bytes of
 * net (1 + 3: an IPv4 /24; 1 + 7: an IPv6 /56; 1 + 6: a /48). */
int store_check_count_net(struct store *st, const uint8_t net[STORE_CHECK_NET_LEN],
			  size_t prefix_len, int64_t since, unsigned *n) np_mustcheck;
/* Checks created by anyone since `since`, and the oldest one's time (0 when none). */
int store_check_count_all(struct store *st, int64_t since, unsigned *n,
			  int64_t *oldest) np_mustcheck;
int store_check_expire(struct store *st, int64_t now) np_mustcheck;
void store_check_free(struct store_check *c);

#endif
