/* SPDX-License-Identifier: MIT */
/* The store's connection: opening, schema migrations, the statement cache, transactions,
 * and the small tables (meta, users, zones, history). Hosts and records are in host.c. */
#include "store/store_int.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"

/* How long a read-only connection waits for a lock before giving up. */
#define STORE_READER_BUSY_MS 1000

/* A host's updated time: its row's (creation, flags) or its last change in the history,
 * whichever is later. A change of records writes its history row anyway, and not
 * rewriting the host's row too keeps one random B-tree page per update out of the WAL
 * (history_host(host_id, time) finds the last row with one seek). */
#define HOST_UPDATED                                                                               \
	"MAX(h.updated, COALESCE((SELECT MAX(time) FROM history WHERE host_id = h.id), 0))"
#define HOST_COLS_WITH(updated)                                                                    \
	"h.id, h.user_id, COALESCE(u.name, ''), h.fqdn, h.zone, h.wildcard, h.offline, "           \
	"h.blocked, h.created, " updated ", h.abuse_state, COALESCE(u.state, 0) = 2"
#define HOST_COLS HOST_COLS_WITH(HOST_UPDATED)
/* The zone walks leave updated as the row has it: what they build does not show it, and a
 * seek per host would slow the load of a large zone. */
#define HOST_COLS_ROW HOST_COLS_WITH("h.updated")
#define HOST_FROM     " FROM hosts h LEFT JOIN users u ON u.id = h.user_id"

/* The SQL of each enum store_stmt. The foreach queries are one ordered join, so a whole
 * zone loads in one pass over the (zone, fqdn) and (host_id, type) indexes, no sort. */
/* clang-format off */
static const char *const stmt_sql[SQL_COUNT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_SAVEPOINT] = "SAVEPOINT np",
	[SQL_RELEASE] = "RELEASE np",
	[SQL_ROLLBACK_TO] = "ROLLBACK TO np",
	[SQL_DATA_VERSION] = "PRAGMA data_version",
	[SQL_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[SQL_META_INSERT] = "INSERT INTO meta(key, value) VALUES (?1, ?2)",
	[SQL_USER_ADD] = "INSERT INTO users(name, created) VALUES (?1, ?2)",
	[SQL_USER_ID] = "SELECT id FROM users WHERE name = ?1",
	[SQL_USER_LIST] = "SELECT id, name, created FROM users ORDER BY name",
	[SQL_HOST_ADD] = "INSERT INTO hosts(fqdn, zone, user_id, wildcard, offline, blocked,"
			 " created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[SQL_HOST_GET] = "SELECT " HOST_COLS HOST_FROM " WHERE h.fqdn = ?1",
	[SQL_HOST_GET_ROW] = "SELECT " HOST_COLS_ROW HOST_FROM " WHERE h.fqdn = ?1",
	[SQL_HOST_DEL] = "DELETE FROM hosts WHERE fqdn = ?1",
	[SQL_HOST_FLAGS] = "UPDATE hosts SET wildcard = ?2, offline = ?3, blocked = ?4, "
			   "updated = ?5 WHERE id = ?1",
	[SQL_HOST_LIST_ALL] = "SELECT " HOST_COLS HOST_FROM " ORDER BY h.fqdn",
	[SQL_HOST_LIST_USER] = "SELECT " HOST_COLS HOST_FROM " WHERE h.user_id = ?1 ORDER BY h.fqdn",
	[SQL_HOST_LIST_ZONE] = "SELECT " HOST_COLS HOST_FROM " WHERE h.zone = ?1 ORDER BY h.fqdn",
	[SQL_RR_GET] = "SELECT type, ttl, rdata FROM records WHERE host_id = ?1 "
		       "ORDER BY type, id",
	[SQL_RR_DEL] = "DELETE FROM records WHERE host_id = ?1 AND type = ?2",
	[SQL_RR_ADD] = "INSERT INTO records(host_id, type, ttl, rdata) VALUES (?1, ?2, ?3, ?4)",
	[SQL_FOREACH_ALL] = "SELECT " HOST_COLS_ROW ", r.type, r.ttl, r.rdata" HOST_FROM
			    " LEFT JOIN records r ON r.host_id = h.id"
			    " ORDER BY h.fqdn, r.type, r.id",
	[SQL_FOREACH_ZONE] = "SELECT " HOST_COLS_ROW ", r.type, r.ttl, r.rdata" HOST_FROM
			     " LEFT JOIN records r ON r.host_id = h.id WHERE h.zone = ?1"
			     " ORDER BY h.fqdn, r.type, r.id",
	[SQL_ZONE_GET] = "SELECT serial FROM zones WHERE name = ?1",
	[SQL_ZONE_ADD] = "INSERT INTO zones(name, serial) VALUES (?1, ?2)",
	[SQL_ZONE_SET] = "UPDATE zones SET serial = ?2 WHERE name = ?1",
	[SQL_HISTORY_ADD] = "INSERT INTO history(host_id, fqdn, time, source, old, new, protocol,"
			    " token_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
};
/* clang-format on */

/* Schema migrations: entry i takes the schema from version i to i + 1. Never edit a
 * released entry; append a new one. Host ids are AUTOINCREMENT so that history rows,
 * which outlive their host, never point at a later host reusing the id. */
/* clang-format off */
static const char *const migrations[] = {
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE zones ("
	"  name TEXT PRIMARY KEY,"
	"  serial INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  fqdn TEXT NOT NULL UNIQUE,"
	"  zone TEXT NOT NULL,"
	"  user_id INTEGER REFERENCES users(id) ON DELETE RESTRICT,"
	"  secret_hash BLOB,"
	"  wildcard INTEGER NOT NULL DEFAULT 0,"
	"  offline INTEGER NOT NULL DEFAULT 0,"
	"  blocked INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX hosts_zone ON hosts(zone, fqdn);" /* unique: no sort */
	"CREATE INDEX hosts_user ON hosts(user_id);"
	"CREATE TABLE records ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  type INTEGER NOT NULL,"
	"  ttl INTEGER NOT NULL,"
	"  rdata BLOB NOT NULL);"
	"CREATE INDEX records_host ON records(host_id, type);"
	"CREATE TABLE history ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER,"
	"  fqdn TEXT NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  old TEXT NOT NULL,"
	"  new TEXT NOT NULL,"
	"  protocol TEXT NOT NULL);"
	"CREATE INDEX history_host ON history(host_id, time);"
	"CREATE INDEX history_fqdn ON history(fqdn, time);",

	/* 2: the "am I infected?" check. Sensor tokens and check tokens are kept as keyed
	 * hashes only; a check keeps a keyed hash of the mail address (for its rate limit), and
	 * the address itself stays only in the outbox until the mail is sent. */
	"ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE sensors ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  token_hash BLOB NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE sensor_batches ("
	"  sensor_id INTEGER NOT NULL,"
	"  batch TEXT NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  PRIMARY KEY (sensor_id, batch)) WITHOUT ROWID;"
	"CREATE INDEX sensor_batches_time ON sensor_batches(time);"
	"CREATE TABLE obs_inbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  source TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  data BLOB NOT NULL);"
	"CREATE TABLE observations ("
	"  addr BLOB PRIMARY KEY,"
	"  last_seen INTEGER NOT NULL,"
	"  data BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX observations_seen ON observations(last_seen);"
	"CREATE TABLE checks ("
	"  id INTEGER PRIMARY KEY,"
	"  token_hash BLOB NOT NULL UNIQUE,"
	"  cookie_hash BLOB NOT NULL,"
	"  addr TEXT NOT NULL,"
	"  email_hash BLOB NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  result TEXT NOT NULL);"
	"CREATE INDEX checks_addr ON checks(addr, created);"
	"CREATE INDEX checks_email ON checks(email_hash, created);"
	"CREATE INDEX checks_expires ON checks(expires);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  rcpt TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL,"
	"  last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX outbox_due ON outbox(next_try);"
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  addr TEXT NOT NULL,"
	"  verdict TEXT NOT NULL,"
	"  opened INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  closed INTEGER NOT NULL DEFAULT 0,"
	"  notified INTEGER NOT NULL DEFAULT 0,"
	"  evidence TEXT NOT NULL);"
	"CREATE INDEX incidents_host ON incidents(host_id, closed);",

	/* 3: the check's limits beyond one address. net is the requester's network key
	 * (STORE_CHECK_NET_LEN bytes: family, then the address, IPv6 to its /64), so that a
	 * prefix (/24, /56, /48) is one range of the index; created alone serves the limit
	 * on everyone's checks. Older rows have an empty key and count only per address. */
	"ALTER TABLE checks ADD COLUMN net BLOB NOT NULL DEFAULT x'';"
	"CREATE INDEX checks_net ON checks(net, created);"
	"CREATE INDEX checks_created ON checks(created);",

	/* 4: accounts and tokens. A person's password is kept as an argon2id string; a token
	 * (generated, 256 bits) as its keyed hash, which is also how it is found: one lookup
	 * in the unique index, no scan. Each host's update secret becomes a token of its
	 * owner scoped to that one name (kind 2), with the same hash, so a router configured
	 * before keeps working; hosts keep no secret of their own any more. A history row
	 * says which token made the change. */
	"ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN role INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN email_confirmed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN totp_secret BLOB;"
	"ALTER TABLE users ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  secret_hash BLOB NOT NULL UNIQUE,"
	"  kind INTEGER NOT NULL,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  names TEXT NOT NULL DEFAULT '',"
	"  types TEXT NOT NULL DEFAULT '',"
	"  sources TEXT NOT NULL DEFAULT '',"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  manage INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  last_used INTEGER NOT NULL DEFAULT 0,"
	"  last_source TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
	"CREATE INDEX tokens_user ON tokens(user_id, kind);"
	"INSERT INTO tokens(id, user_id, secret_hash, kind, name, names, created)"
	"  SELECT lower(hex(randomblob(6))), user_id, secret_hash, 2, fqdn, fqdn, created"
	"  FROM hosts WHERE secret_hash IS NOT NULL AND user_id IS NOT NULL;"
	"ALTER TABLE hosts DROP COLUMN secret_hash;"
	"ALTER TABLE history ADD COLUMN token_id TEXT NOT NULL DEFAULT '';"
	/* Sign-up: the requester's network key (as checks.net) for the limits per network,
	 * and one-time codes (mail confirmation, invitations) kept as keyed hashes. */
	"ALTER TABLE users ADD COLUMN signup_net BLOB NOT NULL DEFAULT x'';"
	"CREATE INDEX users_created ON users(created);"
	"CREATE TABLE account_codes ("
	"  hash BLOB PRIMARY KEY,"
	"  kind INTEGER NOT NULL,"
	"  user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX account_codes_expires ON account_codes(expires);",

	/* 5: TSIG keys for RFC 2136 UPDATE. Each is a token of kind 3 (policy, expiry, account,
	 * last use) plus this row: the key's DNS name that signed messages carry, so a key is
	 * found with one lookup in its unique index, its algorithm, and its secret sealed with
	 * a key kept outside the database (account/tsigkey.h). */
	"CREATE TABLE tsig_keys ("
	"  token_id TEXT PRIMARY KEY REFERENCES tokens(id) ON DELETE CASCADE,"
	"  keyname TEXT NOT NULL UNIQUE,"
	"  alg INTEGER NOT NULL,"
	"  sealed BLOB NOT NULL) WITHOUT ROWID;",

	/* 6: the last exposure audit of each host (`nameplate audit` sends it; store/audit.c).
	 * One row per host, replaced by the next; gone with its host. report is the validated
	 * report as JSON, changes what changed since the row it replaced (JSON, '' for the
	 * first). window_start and window_count are its rate limit: reports taken in the
	 * window that began then. */
	"CREATE TABLE audits ("
	"  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
	"  time INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  token_id TEXT NOT NULL,"
	"  report TEXT NOT NULL,"
	"  changes TEXT NOT NULL,"
	"  window_start INTEGER NOT NULL,"
	"  window_count INTEGER NOT NULL);",

	/* 7: outbound abuse (docs/abuse.md): each host's abuse state (0 ok, 1 watch, 2 hold, 3
	 * quarantined; blocked stays 1 exactly for hold and quarantined, and a host blocked
	 * before is on hold), its last flux score with the features that explain it, and the
	 * log of every change of state: who, when, why. */
	"ALTER TABLE hosts ADD COLUMN abuse_state INTEGER NOT NULL DEFAULT 0;"
	"UPDATE hosts SET abuse_state = 2 WHERE blocked != 0;"
	"CREATE TABLE abuse_hosts ("
	"  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
	"  score REAL NOT NULL DEFAULT 0,"
	"  reasons TEXT NOT NULL DEFAULT '',"
	"  features TEXT NOT NULL DEFAULT '{}',"
	"  scored INTEGER NOT NULL DEFAULT 0,"
	"  since INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE abuse_log ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  host_id INTEGER,"
	"  fqdn TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  old_state INTEGER NOT NULL,"
	"  new_state INTEGER NOT NULL,"
	"  reason TEXT NOT NULL);"
	"CREATE INDEX abuse_log_fqdn ON abuse_log(fqdn, id);"
	"CREATE INDEX records_rdata ON records(rdata);" /* which hosts share an address */
	"INSERT INTO abuse_log(time, host_id, fqdn, actor, old_state, new_state, reason)"
	"  SELECT strftime('%s', 'now'), id, fqdn, 'migration', 0, 2,"
	"  'blocked before abuse states existed' FROM hosts WHERE blocked != 0;",

	/* 8: zone transfers: the journal of each zone's differences (zone/journal.h encodes
	 * diff), written in the transaction that bumps the serial, read at start for IXFR. */
	"CREATE TABLE xfr_journal ("
	"  id INTEGER PRIMARY KEY,"
	"  zone TEXT NOT NULL,"
	"  serial_from INTEGER NOT NULL,"
	"  serial_to INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  diff BLOB NOT NULL);"
	"CREATE INDEX xfr_journal_zone ON xfr_journal(zone, id);",

	/* 9: ACME DNS-01 challenge values, published as TXT at _acme-challenge.HOST: kept
	 * apart from the host's own records (they come and go within minutes, several at
	 * once), gone with the host. */
	"CREATE TABLE acme_txt ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  value TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, value));",

	/* 10: abuse reports (store/ticket.h): what a reporter said about a name, with an
	 * optional contact told the outcome, and the operator's decision; the abuse log names
	 * the ticket a decision came from. The revoked list reads quarantined hosts (an index
	 * on them alone) and since when an account is suspended (users.state_since). */
	"CREATE TABLE abuse_tickets ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  fqdn TEXT NOT NULL,"
	"  category TEXT NOT NULL,"
	"  evidence TEXT NOT NULL,"
	"  contact TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'open',"
	"  decided INTEGER NOT NULL DEFAULT 0,"
	"  decision TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX abuse_tickets_fqdn ON abuse_tickets(fqdn, id);"
	"ALTER TABLE abuse_log ADD COLUMN ticket INTEGER;"
	"CREATE INDEX hosts_quarantined ON hosts(id) WHERE abuse_state = 3;"
	"ALTER TABLE users ADD COLUMN state_since INTEGER NOT NULL DEFAULT 0;",

	/* 11: a count of changes to what a credential is (store_credentials_version): the
	 * update service keeps TSIG keys unsealed while it stays the same. Deleting a token
	 * or a key, changing a token's secret, owner or policy, or an account's name, role or
	 * state counts, by any process; a token's last use does not. */
	"INSERT OR IGNORE INTO meta(key, value) VALUES ('credentials', 0);"
	"CREATE TRIGGER credentials_token_del AFTER DELETE ON tokens BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'credentials'; END;"
	"CREATE TRIGGER credentials_token_upd AFTER UPDATE OF id, user_id, secret_hash, kind,"
	"  names, types, sources, expires, manage ON tokens BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'credentials'; END;"
	"CREATE TRIGGER credentials_tsig_del AFTER DELETE ON tsig_keys BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'credentials'; END;"
	"CREATE TRIGGER credentials_tsig_upd AFTER UPDATE ON tsig_keys BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'credentials'; END;"
	"CREATE TRIGGER credentials_user_del AFTER DELETE ON users BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'credentials'; END;"
	"CREATE TRIGGER credentials_user_upd AFTER UPDATE OF id, name, role, state ON users BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'credentials'; END;",

	/* 12: DNSSEC keys of the signed zones (store/dnssec.h): the DNSKEY rdata in the clear,
	 * the private key sealed with DATA_DIR/dnssec-seal.key (never in the store). */
	"CREATE TABLE dnssec_keys ("
	"  id INTEGER PRIMARY KEY,"
	"  zone TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('ksk', 'zsk')),"
	"  algorithm INTEGER NOT NULL,"
	"  dnskey BLOB NOT NULL,"
	"  sealed BLOB NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'active'"
	"    CHECK (state IN ('published', 'active', 'retired')),"
	"  since INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL);"
	"CREATE INDEX dnssec_keys_zone ON dnssec_keys(zone, id);",

	/* 13: the KSK roll's "ready" state (a new KSK the CDS names, waiting for the parent's
	 * DS: core/keyroll.h). SQLite cannot change a CHECK: the table is made anew. */
	"CREATE TABLE dnssec_keys_next ("
	"  id INTEGER PRIMARY KEY,"
	"  zone TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('ksk', 'zsk')),"
	"  algorithm INTEGER NOT NULL,"
	"  dnskey BLOB NOT NULL,"
	"  sealed BLOB NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'active'"
	"    CHECK (state IN ('published', 'ready', 'active', 'retired')),"
	"  since INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL);"
	"INSERT INTO dnssec_keys_next(id, zone, role, algorithm, dnskey, sealed, state, since,"
	"  created) SELECT id, zone, role, algorithm, dnskey, sealed, state, since, created"
	"  FROM dnssec_keys;"
	"DROP TABLE dnssec_keys;"
	"ALTER TABLE dnssec_keys_next RENAME TO dnssec_keys;"
	"CREATE INDEX dnssec_keys_zone ON dnssec_keys(zone, id);",

	/* 14: fewer pages written per update. A host's history is read by its id
	 * (history_host), so history(fqdn, time) only cost a random page per change. */
	"DROP INDEX IF EXISTS history_fqdn;",
};
/* clang-format on */

#define SCHEMA_VERSION ((int)ARRAY_SIZE(migrations))

sqlite3_stmt *store__stmt(struct store *st, enum store_stmt id)
{
	sqlite3_stmt *s = st->stmt[id];
	if (s == NULL) {
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
		                            NULL);
		if (rc != SQLITE_OK) {
			log_err("store: cannot prepare statement %d: %s", (int)id,
			        sqlite3_errmsg(st->db));
			return NULL;
		}
		st->stmt[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

sqlite3_stmt *store__sql(struct store *st, const char *sql)
{
	size_t slot = ((uintptr_t)sql >> 3) % STORE_SQL_CACHE;
	for (size_t n = 0; n < STORE_SQL_CACHE; n++, slot = (slot + 1) % STORE_SQL_CACHE) {
		if (st->cache[slot].sql == sql) {
			sqlite3_stmt *s = st->cache[slot].s;
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return s;
		}
		if (st->cache[slot].sql != NULL)
			continue;
		sqlite3_stmt *s;
		int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
		if (rc != SQLITE_OK) {
			log_err("store: cannot prepare '%.60s': %s", sql, sqlite3_errmsg(st->db));
			return NULL;
		}
		st->cache[slot].sql = sql;
		st->cache[slot].s = s;
		return s;
	}
	log_err("store: statement cache full"); /* STORE_SQL_CACHE too small: a build bug */
	return NULL;
}

int store__bind_text(sqlite3_stmt *s, int i, const char *text)
{
	return text == NULL ? sqlite3_bind_null(s, i) : sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
}

void store__done(sqlite3_stmt *s)
{
	if (s != NULL)
		sqlite3_reset(s);
}

int store__err(struct store *st, int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return NP_OK;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return NP_EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return NP_ENOTFOUND;
	case SQLITE_NOMEM:
		return NP_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_BUSY_SNAPSHOT:
	case SQLITE_LOCKED:
		log_warn("store: database busy: %s", sqlite3_errmsg(st->db));
		return NP_EAGAIN;
	default:
		log_err("store: %s (%d)", sqlite3_errmsg(st->db), rc);
		return NP_ESTORE;
	}
}

int store__exec(struct store *st, sqlite3_stmt *s)
{
	if (s == NULL)
		return NP_ESTORE;
	int rc = sqlite3_step(s);
	int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? NP_OK : store__err(st, rc);
	store__done(s);
	return ret;
}

int store__step_one(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	return rc == SQLITE_ROW ? NP_OK : rc == SQLITE_DONE ? NP_ENOTFOUND : store__err(st, rc);
}

int store__exec_changed(struct store *st, sqlite3_stmt *s)
{
	int ret = store__exec(st, s);
	if (ret == NP_OK && sqlite3_changes(st->db) == 0)
		ret = NP_ENOTFOUND;
	return ret;
}

int store__exec_insert(struct store *st, sqlite3_stmt *s, int64_t *id)
{
	int ret = store__exec(st, s);
	if (ret == NP_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	return ret;
}

int store__each_row(struct store *st, sqlite3_stmt *s, int (*row)(sqlite3_stmt *s, void *ctx),
                    void *ctx)
{
	if (s == NULL)
		return NP_ESTORE;
	int rc, ret = NP_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ret = row(s, ctx);
		if (ret != 0)
			break;
	}
	if (ret == NP_OK && rc != SQLITE_DONE)
		ret = store__err(st, rc);
	store__done(s);
	return ret;
}

static int exec_sql(struct store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_err("store: %s: %s", sql, msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc == SQLITE_BUSY ? NP_EAGAIN : NP_ESTORE;
	}
	return NP_OK;
}

static int user_version(struct store *st, int *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'schema_version'",
	                            -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__err(st, rc);
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	int ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? NP_OK : store__err(st, rc);
	sqlite3_finalize(s);
	return ret;
}

/* Brings the schema to SCHEMA_VERSION in one write transaction, so two processes opening a
 * new store at once cannot both create it. A newer schema than ours is refused. */
static int migrate(struct store *st)
{
	int ret = exec_sql(st, "BEGIN IMMEDIATE");
	if (ret != NP_OK)
		return ret;
	ret = exec_sql(st, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)"
	                   " WITHOUT ROWID");
	if (ret != NP_OK)
		goto fail;
	int version;
	ret = user_version(st, &version);
	if (ret != NP_OK)
		goto fail;
	if (version > SCHEMA_VERSION) {
		log_err("store: schema version %d is newer than this program's %d", version,
		        SCHEMA_VERSION);
		ret = NP_ESTORE;
		goto fail;
	}
	for (int v = version; v < SCHEMA_VERSION; v++) {
		ret = exec_sql(st, migrations[v]);
		if (ret != NP_OK)
			goto fail;
	}
	if (version != SCHEMA_VERSION) {
		char sql[128];
		snprintf(sql, sizeof(sql),
		         "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', %d)",
		         SCHEMA_VERSION);
		ret = exec_sql(st, sql);
		if (ret != NP_OK)
			goto fail;
	}
	return exec_sql(st, "COMMIT");
fail:
	(void)exec_sql(st, "ROLLBACK");
	return ret;
}

/* The store's page size. Each update changes a few rows at random places in the B-trees
 * (its record, records(rdata), history_host), and every page it dirties is written whole
 * to the WAL, synced, then copied into the database: with 1 KiB pages an update writes
 * about a third of the bytes it wrote with SQLite's default 4 KiB (bench/README.md), and
 * the sync before its answer, whose time grows with the bytes, is shorter. */
#define STORE_PAGE_SIZE 1024

static int pragma_int(struct store *st, const char *sql, int *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__err(st, rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(s, 0);
	int ret = rc == SQLITE_ROW ? NP_OK : store__err(st, rc);
	sqlite3_finalize(s);
	return ret;
}

/* PRAGMA journal_mode answers with the mode in force, which stays the old one when the
 * change is not possible (another connection has the database open). */
static bool journal_mode_set(struct store *st, const char *mode)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = %s", mode);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return false;
	bool ok = sqlite3_step(s) == SQLITE_ROW &&
	          strcasecmp((const char *)sqlite3_column_text(s, 0), mode) == 0;
	sqlite3_finalize(s);
	return ok;
}

/* A store made with another page size (the 4 KiB of earlier releases) is rebuilt once with
 * STORE_PAGE_SIZE. A WAL database cannot change its page size: the rebuild is a VACUUM in
 * rollback-journal mode, which SQLite makes atomic (the journal holds the old pages until
 * the new content is synced; a crash in the middle is rolled back at the next open, and
 * the next open tries again). It needs the store to itself: while another process has it
 * open, nothing is waited for and nothing changes (tried again at the next open). */
static int page_size_convert(struct store *st)
{
	int size = 0;
	int ret = pragma_int(st, "PRAGMA page_size", &size);
	if (ret != NP_OK || size == STORE_PAGE_SIZE)
		return ret;
	sqlite3_busy_timeout(st->db, 0);
	if (!journal_mode_set(st, "DELETE")) {
		log_debug("store: page size %d kept for now (the store is open elsewhere)", size);
		ret = NP_OK;
		goto out;
	}
	int64_t t0 = time_mono_ns();
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA page_size = %d", STORE_PAGE_SIZE);
	ret = exec_sql(st, sql);
	if (ret == NP_OK)
		ret = exec_sql(st, "VACUUM");
	if (ret == NP_OK)
		log_info("store: page size %d -> %d in %.1f s", size, STORE_PAGE_SIZE,
		         (double)(time_mono_ns() - t0) / 1e9);
	else
		log_warn("store: page size %d kept (the rebuild failed)", size);
	ret = NP_OK; /* the old page size works, only slower */
out:
	sqlite3_busy_timeout(st->db, 5000);
	if (!journal_mode_set(st, "WAL")) {
		log_err("store: cannot return to WAL mode: %s", sqlite3_errmsg(st->db));
		return NP_ESTORE;
	}
	return ret;
}

/* mkdir -p with mode 0700 for the components it creates. */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];
	if (np_strlcpy(path, dir, sizeof(path)) >= sizeof(path))
		return NP_ETOOBIG;
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			log_err("store: cannot create %s: %m", path);
			return -errno;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	return NP_OK;
}

/* SQLite's process-wide settings, once, before it initializes (the first store opened does
 * it). Memory statistics off: with them on, every allocation SQLite makes takes a global
 * mutex to count it, 4-5% of the server's CPU per RFC 2136 UPDATE (bench/README.md), and
 * nothing here reads them (no sqlite3_memory_used, no soft heap limit). A SQLite already
 * initialized by someone else refuses and keeps its own. */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	store__pcache_install();
}

int store_open(const char *data_dir, bool create, struct store **out)
{
	char path[PATH_MAX];
	struct store *st = NULL;
	int ret;

	*out = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_FILE) >= sizeof(path))
		return NP_ETOOBIG;
	if (create) {
		ret = make_dirs(data_dir);
		if (ret != NP_OK)
			return ret;
		/* Create the file ourselves so it is 0600 from the start; SQLite gives the -wal
		 * and -shm files the same mode. */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			log_err("store: cannot create %s: %m", path);
			return -errno;
		}
		close(fd);
	} else if (access(path, F_OK) != 0) {
		return errno == ENOENT ? NP_ENOTFOUND : -errno;
	}

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NP_ENOMEM;
	pthread_once(&sqlite_once, sqlite_setup);
	/* Through the VFS that writes a transaction's WAL frames with one call (walbuf.c),
	 * or SQLite's own where it could not be registered. */
	int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                         store__walbuf_vfs());
	if (rc != SQLITE_OK) {
		log_err("store: cannot open %s: %s", path,
		        st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		ret = NP_ESTORE;
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);
	/* Takes effect only on a new, empty store (before WAL mode writes its header). */
	char page_sql[64];
	snprintf(page_sql, sizeof(page_sql), "PRAGMA page_size = %d", STORE_PAGE_SIZE);
	ret = exec_sql(st, page_sql);
	if (ret != NP_OK)
		goto fail;
	ret = exec_sql(st, "PRAGMA journal_mode = WAL");
	if (ret != NP_OK)
		goto fail;
	ret = exec_sql(st, "PRAGMA synchronous = FULL");
	if (ret != NP_OK)
		goto fail;
	ret = exec_sql(st, "PRAGMA foreign_keys = ON");
	if (ret != NP_OK)
		goto fail;
	ret = migrate(st);
	if (ret == NP_OK)
		ret = page_size_convert(st);
	if (ret != NP_OK)
		goto fail;
	store__memo_open(st);
	*out = st;
	return NP_OK;
fail:
	store_close(st);
	return ret;
}

int store_open_reader(const char *data_dir, struct store **out)
{
	char path[PATH_MAX];
	*out = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_FILE) >= sizeof(path))
		return NP_ETOOBIG;
	struct store *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NP_ENOMEM;
	/* Read-write at the file level (a WAL reader updates the -shm index) but query_only, so
	 * that nothing done through it can change the data. */
	int ret = NP_ESTORE;
	pthread_once(&sqlite_once, sqlite_setup);
	int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_err("store: cannot open %s for reading: %s", path,
		        st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* A WAL reader waits only through another process's recovery; not for long. */
	sqlite3_busy_timeout(st->db, STORE_READER_BUSY_MS);
	ret = exec_sql(st, "PRAGMA query_only = 1");
	/* One read now, while the process may still be root: it opens the WAL and its index
	 * (-shm), which the connection keeps, so a later privilege drop does not leave it
	 * unable to open them. */
	if (ret == NP_OK)
		ret = exec_sql(st, "SELECT count(*) FROM meta");
	if (ret != NP_OK)
		goto fail;
	*out = st;
	return NP_OK;
fail:
	store_close(st);
	return ret;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	store__wal_sync_stop(st);
	store__checkpoint_stop(st);
	for (int i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (size_t i = 0; i < STORE_SQL_CACHE; i++)
		sqlite3_finalize(st->cache[i].s);
	if (st->db != NULL)
		sqlite3_close(st->db);
	store__memo_close(st);
	free(st);
}

int store_begin(struct store *st)
{
	int ret = store__exec(st, store__stmt(st, SQL_BEGIN));
	if (ret == NP_OK)
		store__memo_begin(st);
	return ret;
}

int store_commit(struct store *st)
{
	store__memo_end(st);
	int ret = store__exec(st, store__stmt(st, SQL_COMMIT));
	/* A failed COMMIT may leave the transaction open; end it so nothing half-done stays. */
	if (ret != NP_OK)
		store_rollback(st);
	return ret;
}

void store_rollback(struct store *st)
{
	store__memo_end(st);
	if (sqlite3_get_autocommit(st->db))
		return; /* nothing open (SQLite may already have rolled back on error) */
	(void)store__exec(st, store__stmt(st, SQL_ROLLBACK));
}

int store_savepoint(struct store *st)
{
	return store__exec(st, store__stmt(st, SQL_SAVEPOINT));
}

int store_release(struct store *st)
{
	return store__exec(st, store__stmt(st, SQL_RELEASE));
}

void store_rollback_savepoint(struct store *st)
{
	store__memo_drop(st);
	if (sqlite3_get_autocommit(st->db))
		return;
	/* ROLLBACK TO keeps the savepoint on the stack; RELEASE pops it. */
	(void)store__exec(st, store__stmt(st, SQL_ROLLBACK_TO));
	(void)store__exec(st, store__stmt(st, SQL_RELEASE));
}

int store_data_version(struct store *st, int64_t *out)
{
	sqlite3_stmt *s = store__stmt(st, SQL_DATA_VERSION);
	if (s == NULL)
		return NP_ESTORE;
	int rc = sqlite3_step(s);
	int ret = rc == SQLITE_ROW ? NP_OK : store__err(st, rc);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	store__done(s);
	return ret;
}

int store_admin_set(struct store *st, const uint8_t hash[SECRET_HASH_LEN])
{
	sqlite3_stmt *s = store__stmt(st, SQL_META_INSERT);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, "admin_hash", -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, hash, SECRET_HASH_LEN, SQLITE_STATIC);
	return store__exec(st, s);
}

bool store_admin_is_set(struct store *st)
{
	sqlite3_stmt *s = store__stmt(st, SQL_META_GET);
	if (s == NULL)
		return false;
	sqlite3_bind_text(s, 1, "admin_hash", -1, SQLITE_STATIC);
	bool set = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == SECRET_HASH_LEN;
	store__done(s);
	return set;
}

int store_user_add(struct store *st, const char *name, int64_t *id)
{
	if (name[0] == '\0' || strlen(name) >= STORE_USER_MAX)
		return NP_EINVAL;
	sqlite3_stmt *s = store__stmt(st, SQL_USER_ADD);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, time_now());
	return store__exec_insert(st, s, id);
}

int store_user_id(struct store *st, const char *name, int64_t *id)
{
	sqlite3_stmt *s = store__stmt(st, SQL_USER_ID);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int ret = store__step_one(st, s);
	if (ret == NP_OK)
		*id = sqlite3_column_int64(s, 0);
	store__done(s);
	return ret;
}

int store_user_list(struct store *st, store_user_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store__stmt(st, SQL_USER_LIST);
	if (s == NULL)
		return NP_ESTORE;
	int rc, ret = NP_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ret = cb(sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
		         sqlite3_column_int64(s, 2), ctx);
		if (ret != 0)
			break;
	}
	if (ret == NP_OK && rc != SQLITE_DONE)
		ret = store__err(st, rc);
	store__done(s);
	return ret;
}

int store_zone_serial(struct store *st, const char *zone, uint32_t *serial)
{
	sqlite3_stmt *s = store__stmt(st, SQL_ZONE_GET);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*serial = (uint32_t)sqlite3_column_int64(s, 0);
	store__done(s);
	if (rc == SQLITE_ROW)
		return NP_OK;
	if (rc != SQLITE_DONE)
		return store__err(st, rc);

	/* A new zone starts at the current time, so a re-created store never goes back. */
	uint32_t now = (uint32_t)time_now();
	if (now == 0)
		now = 1;
	s = store__stmt(st, SQL_ZONE_ADD);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	int ret = store__exec(st, s);
	if (ret == NP_OK)
		*serial = now;
	return ret;
}

int store_zone_bump(struct store *st, const char *zone, uint32_t *serial)
{
	uint32_t cur;
	int ret = store_zone_serial(st, zone, &cur);
	if (ret != NP_OK)
		return ret;
	uint32_t next = cur + 1; /* RFC 1982 arithmetic wraps; 0 is avoided by convention */
	if (next == 0)
		next = 1;
	sqlite3_stmt *s = store__stmt(st, SQL_ZONE_SET);
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, next);
	ret = store__exec(st, s);
	if (ret == NP_OK && serial != NULL)
		*serial = next;
	return ret;
}

int store_history_add(struct store *st, const struct store_history *h)
{
	sqlite3_stmt *s = store__stmt(st, SQL_HISTORY_ADD);
	if (s == NULL)
		return NP_ESTORE;
	if (h->host_id != 0)
		sqlite3_bind_int64(s, 1, h->host_id);
	sqlite3_bind_text(s, 2, h->fqdn, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, h->time != 0 ? h->time : time_now());
	sqlite3_bind_text(s, 4, h->source != NULL ? h->source : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, h->old_addr != NULL ? h->old_addr : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, h->new_addr != NULL ? h->new_addr : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, h->protocol != NULL ? h->protocol : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, h->token_id != NULL ? h->token_id : "", -1, SQLITE_STATIC);
	return store__exec(st, s);
}

struct history_list {
	store_history_row_cb *cb;
	void *ctx;
};

static int history_row(sqlite3_stmt *s, void *ctx)
{
	struct history_list *l = ctx;
	const char *t[6];
	for (int i = 0; i < 6; i++) {
		t[i] = (const char *)sqlite3_column_text(s, 2 + i);
		if (t[i] == NULL)
			t[i] = "";
	}
	struct store_history h = {
	    .host_id = sqlite3_column_int64(s, 0),
	    .time = sqlite3_column_int64(s, 1),
	    .fqdn = t[0],
	    .source = t[1],
	    .old_addr = t[2],
	    .new_addr = t[3],
	    .protocol = t[4],
	    .token_id = t[5],
	};
	return l->cb(&h, l->ctx);
}

int store_history_list(struct store *st, const char *fqdn, size_t limit, store_history_row_cb *cb,
                       void *ctx)
{
	/* The host of that name now, through history_host: a name deleted and added again is
	 * another host, whose history starts anew (the rows of the one before stay, under its
	 * id). */
	sqlite3_stmt *s = store__sql(st, "SELECT COALESCE(host_id, 0), time, fqdn, source, old, new,"
	                                 " protocol, token_id FROM history WHERE host_id ="
	                                 " (SELECT id FROM hosts WHERE fqdn = ?1)"
	                                 " ORDER BY time DESC, id DESC LIMIT ?2");
	if (s == NULL)
		return NP_ESTORE;
	sqlite3_bind_text(s, 1, fqdn, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)limit);
	struct history_list l = {cb, ctx};
	return store__each_row(st, s, history_row, &l);
}

int store_set_bulk(struct store *st, bool bulk)
{
	/* Bulk work (an import of 100,000 hosts) spills SQLite's default 2 MiB page cache into
	 * the WAL many times over, and memory-mapped reads made a full pass about 40% faster
	 * than pread. A long-running daemon keeps the defaults, so its memory stays small. */
	int ret = exec_sql(st, bulk ? "PRAGMA mmap_size = 268435456" : "PRAGMA mmap_size = 0");
	if (ret == NP_OK)
		ret = exec_sql(st, bulk ? "PRAGMA cache_size = -65536" : "PRAGMA cache_size = -2000");
	return ret;
}

/* Each update reads the pages of the B-trees it changes at random places (its host, its
 * record, records(rdata), history_host), most of them outside SQLite's 2 MiB page cache:
 * a pread system call each, ten per update at 32 outstanding. Mapped, a read is a memory
 * access to the kernel's page cache, shared with it rather than copied (the mapping adds
 * file-backed pages to the resident size, not anonymous memory): four preads per update
 * remain (the WAL's), 1.14x the updates/s at 32 outstanding and 1.4x at 1 (bench/README.md).
 * An I/O error reading a mapped page is a SIGBUS instead of an error: the writer stops
 * either way (fail-stop). Writes still go through the WAL with write calls.
 *
 * Pages whose newest version is in the WAL are not in the mapping: SQLite reads them with
 * pread when they are not in the connection's page cache. The cache holds as many pages
 * as the WAL may hold before a checkpoint (STORE_CHECKPOINT_PAGES), so a page the writer
 * wrote since is found there: the cache survives from one transaction to the next as long
 * as no other connection writes, and none does. Up to about 38 MiB (1 KiB pages and
 * SQLite's headers), taken only as pages are read and kept, instead of the default 2 MiB:
 * a cache smaller than the WAL sends the writer back to pread (with 8000 pages beside a
 * WAL of 32000: 133 against 113 us of server CPU per UPDATE). */
int store_map_reads(struct store *st)
{
	int ret = exec_sql(st, "PRAGMA mmap_size = 268435456");
	st->mapped = ret == NP_OK;
	if (ret != NP_OK)
		return ret;
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = %d", STORE_CHECKPOINT_PAGES);
	return exec_sql(st, sql);
}

/* A pass over the whole store (a rebuild, the owners' scan) touches every page of the map,
 * and each stays in the process's resident size (counted in its Pss) until unmapped:
 * about 30 MiB at 100,000 hosts. Mapping again from nothing leaves only what the updates
 * touch next; the kernel's page cache keeps the pages either way. */
void store_release_memory(struct store *st)
{
	sqlite3_db_release_memory(st->db);
	if (st->mapped && (exec_sql(st, "PRAGMA mmap_size = 0") != NP_OK ||
	                   store_map_reads(st) != NP_OK))
		log_warn("store: reads stay unmapped");
}
