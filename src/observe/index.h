/* SPDX-License-Identifier: MIT */
/* The in-memory observation index: per source address hourly aggregates, bounded in
 * memory, and the "am I infected?" verdict read from the last 24 hours of them.
 *
 * Keys: an IPv4 source is one /32; an IPv6 source is aggregated per /64 (a home
 * connection gets a /64 or shorter, and a bot can pick any address inside it).
 *
 * Memory: at most `cap` addresses. Adding a new address when the cap is reached evicts
 * the address updated least recently (an LRU list, O(1)). Per address at most
 * retention/3600 + 1 hourly buckets (the oldest gives way), OBS_BUCKET_PORTS ports per
 * bucket (bucket.h) and OBS_MAX_CREDS credential pairs are kept, so the worst case is
 * cap * (sizeof node + hours * sizeof(struct obs_bucket) + creds): about 14 KiB per
 * address at 7 days when every hour of every address is active, ~150-250 bytes for the
 * typical darknet source seen in one or two hours. Buckets older than the retention
 * window are dropped on the next update of that address and are never reported by
 * verdicts or iteration; obs_index_prune() frees whole addresses whose last activity is
 * older than the window. The LRU order is the order of updates, which is the order of
 * last activity when events arrive in time order (live sensors); for an offline import
 * of old data it is the import order.
 *
 * Time: the index has its own notion of "now", set by obs_index_prune(). Events older
 * than that now minus the retention window are ignored (counted as stale). Events are not
 * checked against the wall clock: the caller (the server) must clamp or refuse event
 * times in the future before adding them.
 *
 * Thread-safety: every function taking a struct obs_index locks a mutex inside it, so
 * one thread may add while others ask for verdicts. obs_index_foreach() holds that mutex
 * for the whole walk: its callback must not call back into the same index. */
#ifndef NP_OBSERVE_INDEX_H
#define NP_OBSERVE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/err.h"
#include "observe/bucket.h"
#include "observe/observe.h"

#define OBS_MAX_CREDS         8     /* distinct credential pairs per address */
#define OBS_VERDICT_PORTS     16    /* ports listed in a verdict */
#define OBS_BRUTE_FORCE_MIN   3     /* login attempts in 24 h that count as brute force */
#define OBS_MIRAI_MIN         2     /* fingerprint SYNs in 24 h that mean infected */
#define OBS_DROPPED_MAX       65536 /* dropped keys remembered between checkpoints */

/* A credential pair tried on a honeypot by one address. */
struct obs_cred {
	char user[33];
	char pass[33];
	bool is_default; /* in Mirai's default list (its scanner.c) */
	uint32_t count;
	int64_t first, last; /* unix seconds */
};

enum obs_verdict_kind {
	OBS_NOT_OBSERVED = 0, /* no evidence: never means "clean" */
	OBS_SUSPICIOUS,
	OBS_INFECTED,
};

/* The rules, as bits of obs_verdict.rules; .rule is the strongest one that fired. */
enum obs_rule {
	OBS_RULE_NONE = 0,
	OBS_RULE_MIRAI_SYN = 1 << 0,    /* >= OBS_MIRAI_MIN fingerprint SYNs: infected */
	OBS_RULE_DOWNLOAD = 1 << 1,     /* a malware download command: infected */
	OBS_RULE_DEFAULT_CRED = 1 << 2, /* a login with a Mirai default pair: infected */
	OBS_RULE_BRUTE_FORCE = 1 << 3,  /* >= OBS_BRUTE_FORCE_MIN login attempts: infected */
	OBS_RULE_IOT_SCAN = 1 << 4,     /* evidence traffic to IoT ports: suspicious */
	OBS_RULE_FEW_SIGNS = 1 << 5,    /* one fingerprint SYN or a few logins: suspicious */
};

/* A verdict with its evidence, for [window_start, window_end] (both inclusive). Only
 * evidence kinds count; kind_count[] still shows backscatter/research for information.
 * Resolution is one hour: a bucket counts when its last evidence event is at or after
 * window_start and its first at or before window_end, so first_seen may be up to an hour
 * before window_start. */
struct obs_verdict {
	enum obs_verdict_kind verdict;
	enum obs_rule rule; /* the rule that decided (strongest) */
	unsigned rules;     /* every rule that fired, OR of enum obs_rule */
	int64_t window_start, window_end;
	int64_t first_seen, last_seen; /* evidence in the window; 0 when none */
	uint64_t packets;              /* evidence events in the window */
	uint64_t kind_count[OBS_KIND_COUNT];
	uint64_t fingerprint_hits; /* == kind_count[OBS_MIRAI_SYN] */
	uint64_t login_attempts;   /* == kind_count[OBS_LOGIN] */
	uint64_t downloads;        /* == kind_count[OBS_DOWNLOAD] */
	uint64_t iot_port_hits;
	uint64_t default_cred_hits;
	size_t n_ports; /* ports[] sorted by count, descending */
	struct {
		uint16_t port;
		uint64_t count;
	} ports[OBS_VERDICT_PORTS];
	uint64_t other_ports; /* evidence events to ports not listed */
	size_t n_creds;       /* pairs last tried inside the window */
	struct obs_cred creds[OBS_MAX_CREDS];
};

/* One tracked address as iteration shows it (and as obs_index_load() takes it back).
 * addr is the /32 or the /64 prefix (host bits zero); buckets are in ascending hour
 * order and older than the retention window are left out. The pointers are valid only
 * during the callback. */
struct obs_addr_record {
	struct np_addr addr;
	int64_t first_seen, last_seen; /* any kind, since the address was tracked */
	const struct obs_bucket *buckets;
	size_t n_buckets;
	const struct obs_cred *creds;
	size_t n_creds;
};

struct obs_index_stats {
	size_t addrs, cap;
	uint64_t events, evicted, pruned, stale;
	size_t bytes;
};

struct obs_index;

/* Creates an index of at most cap addresses (1 .. 1<<30) keeping retention seconds
 * (0 means OBS_RETENTION_DEFAULT; OBS_WINDOW .. OBS_RETENTION_MAX). Returns NULL on a
 * bad argument or out of memory. The caller owns it and frees it with obs_index_free(). */
struct obs_index *obs_index_new(size_t cap, int64_t retention);
/* Whether cap and *retention are in those ranges, after setting a *retention of 0 to
 * OBS_RETENTION_DEFAULT (the offline import takes the same arguments). */
bool obs_index_limits_ok(size_t cap, int64_t *retention);
void obs_index_free(struct obs_index *ix);

/* Records one event (ev->count of them: 0 and 1 both mean one; counters saturate).
 * NP_EINVAL for a bad family, kind or negative time; NP_ENOMEM (the
 * event is lost, the index stays consistent); an event older than the retention window
 * is ignored and returns NP_OK. */
int obs_index_add(struct obs_index *ix, const struct obs_event *ev) np_mustcheck;

/* Sets the index's now and frees addresses with no activity since now - retention.
 * Amortised O(1) per address; call it periodically (e.g. every minute). Returns the
 * number of addresses freed. */
size_t obs_index_prune(struct obs_index *ix, int64_t now);

/* The verdict for address a (any address of a /64 for IPv6) over [now - OBS_WINDOW, now].
 * Returns NP_OK (also when not observed) or NP_EINVAL. */
int obs_index_verdict(const struct obs_index *ix, const struct np_addr *a, int64_t now,
                      struct obs_verdict *out) np_mustcheck;

/* The verdict for evidence inside [start, end] (both inclusive, start <= end, else
 * NP_EINVAL), with the same rules and one-hour resolution as obs_index_verdict(), which
 * is this over [now - OBS_WINDOW, now]. For the interval a DDNS host held an address. */
int obs_index_verdict_range(const struct obs_index *ix, const struct np_addr *a, int64_t start,
                            int64_t end, struct obs_verdict *out) np_mustcheck;

/* Calls cb for every tracked address, least recently updated first (so loading the
 * records in this order restores the eviction order). A non-zero return from cb stops the
 * walk and is returned. Holds the index lock throughout. */
typedef int obs_index_cb(const struct obs_addr_record *rec, void *ctx);
int obs_index_foreach(const struct obs_index *ix, obs_index_cb *cb, void *ctx);

/* Checkpoints. An address is dirty once obs_index_add() or obs_index_load() touched it
 * (also a new one, and also when the event was then ignored as stale for it).
 * obs_index_foreach_dirty() calls cb for the dirty addresses only, least recently updated
 * first, and clears the flag of each one whose callback returned 0; a non-zero return
 * stops the walk (the rest stay dirty) and is returned. O(dirty addresses), holds the lock
 * throughout: cb must not call into the index. Records just loaded from a checkpoint are
 * dirty too: walk once with a callback that returns 0 to start clean.
 * If the transaction that stored the records fails, obs_index_mark_all_dirty() (O(n)) makes
 * the next walk write every address again. */
int obs_index_foreach_dirty(struct obs_index *ix, obs_index_cb *cb, void *ctx);
void obs_index_mark_all_dirty(struct obs_index *ix);

/* Addresses dropped from the index (evicted at the cap, pruned, or emptied) since the last
 * call, so their checkpoint rows can be deleted: moves up to max of them into out (the /32
 * or /64 prefix, as obs_addr_record.addr) and returns how many; call again until it returns
 * less than max. At most min(cap, OBS_DROPPED_MAX) are remembered (16 bytes each,
 * allocated with the index); beyond that *overflow (may be NULL) reports true on every
 * call until the call that empties the list (then it is reset), and the caller must
 * reconcile in full (e.g. delete every row and
 * obs_index_mark_all_dirty()). An address may be dropped and then added again before the
 * checkpoint: apply the deletions first, then write the dirty records. Rows of pruned addresses also expire by time
 * (store_obs_expire), so those deletions are a courtesy. */
size_t obs_index_take_dropped(struct obs_index *ix, struct np_addr *out, size_t max,
                              bool *overflow);

/* Merges a record (from a checkpoint) into the index, as if its events were added now:
 * counts add up, the address becomes the most recently updated. */
int obs_index_load(struct obs_index *ix, const struct obs_addr_record *rec) np_mustcheck;

/* Bytes allocated by the index (its tables, nodes, buckets and credential lists; not
 * the allocator's own overhead). */
size_t obs_index_bytes(const struct obs_index *ix);
void obs_index_stats(const struct obs_index *ix, struct obs_index_stats *out);

/* Whether user/pass is one of Mirai's default pairs (its scanner.c). */
bool obs_cred_is_default(const char *user, const char *pass);

const char *obs_verdict_name(enum obs_verdict_kind v);
const char *obs_rule_name(enum obs_rule r);

#endif
