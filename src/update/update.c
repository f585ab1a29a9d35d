/* SPDX-License-Identifier: MIT */
/* RFC 2136 UPDATE: authentication on the service's thread, prerequisites and changes on
 * the writer's, the signed answer after the commit. */
#include "update/update.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "abuse/abuse.h"
#include "account/credential.h"
#include "account/throttle.h"
#include "account/tsigkey.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/metrics.h"
#include "common/str.h"
#include "core/acme.h"
#include "dns/constants.h"
#include "dns/msg.h"
#include "dns/tsig.h"
#include "ns/query.h"
#include "store/abuse.h"
#include "store/store.h"

/* The types a host holds, which "delete every RRset of a name" touches. */
static const uint16_t host_types[] = {DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_TXT, DNS_TYPE_MX};

/* Sources and key names the throttle remembers (account/throttle.h). */
#define UPDATE_THROTTLE_ENTRIES 4096

/* Keys the service thread remembers, unsealed, while the store's count of credential
 * changes (store_credentials_version: any key or token deleted or changed, any account
 * locked...) stays what it was when they were read: an UPDATE then costs at most one small
 * read (one for all the messages the service thread takes off its queue together) instead
 * of three lookups, unsealing and a policy parse (half of the service thread's time under
 * load). A deleted key is unknown from the next message on, as without the cache: the
 * count is read after that message arrived. KEY_CACHE_MS bounds how long a secret stays
 * in memory unused. */
#define KEY_CACHE_SLOTS 32
#define KEY_CACHE_MS    60000

/* Answers are small: the header, the zone section and a TSIG record. */
#define ANSWER_MAX (DNS_HDR_LEN + DNS_NAME_MAX + 4 + TSIG_RR_MAX)

/* A key as tsigkey_find gave it, kept by the service thread. */
struct cached_key {
	int64_t until_ms; /* monotonic; 0: an empty slot */
	int64_t version;  /* store_credentials_version when it was read */
	uint8_t name[DNS_NAME_MAX];
	size_t name_len;
	struct tsig_key key; /* its secret points into secret below */
	uint8_t secret[TSIGKEY_SECRET_MAX];
	struct credential cred;
	uint8_t token_hash[SECRET_HASH_LEN];
};

struct update_service {
	const struct config *cfg;
	struct writer *writer;
	struct abuse *abuse;
	struct zone_db *const *db; /* RCU-published; for signed queries */
	struct store *st;          /* read-only; the service thread's alone */
	uint8_t seal[TSIGKEY_SEAL_LEN];
	struct throttle *throttle; /* failed signatures, per source and per key name */
	struct cached_key *keys;   /* KEY_CACHE_SLOTS; the service thread's alone */
	/* store_credentials_version as read for the jobs taken off the queue together (valid
	 * while cred_version_read): every one of them arrived before it was read. */
	int64_t cred_version;
	bool cred_version_read;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* a job arrived, or stop */
	pthread_cond_t drained; /* the last job at the writer was answered */
	struct queued *head, **tail;
	struct update_op *done; /* committed or refused by the writer, to be answered here */
	/* Freed update_ops kept for the next UPDATEs (op_alloc), at most OP_SPARE_MAX: one is
	 * tens of KiB, and malloc grew and trimmed its heap for nearly every UPDATE. */
	struct update_op *spare;
	unsigned n_spare;
	unsigned queued, at_writer;
	bool stopping;
};

struct queued {
	struct update_job *job;
	struct queued *next;
};

/* One UPDATE on its way through the writer. */
struct update_op {
	struct writer_op op; /* first: the writer hands it back */
	struct update_service *svc;
	struct update_job *job;
	struct credential cred;
	uint8_t token_hash[SECRET_HASH_LEN];
	struct tsig_key key;
	uint8_t secret[TSIGKEY_SECRET_MAX];
	uint8_t req_mac[TSIG_MAC_LEN];
	size_t req_mac_len;
	uint16_t fudge;
	unsigned rcode; /* what the writer's side found: a failed prerequisite, REFUSED... */
	/* Scratch of apply, on the writer thread: the records of the host being changed, or
	 * the TXT values of its challenge name when challenge is set (core/acme.h). They
	 * point into the writer thread's own arrays (apply_scratch), so an UPDATE in flight
	 * holds only its message. */
	struct store_host *host_p;
	const struct update_rr *held; /* whose records load_host last put there, unchanged */
	bool challenge;
	struct store_rr *before, *after;
	size_t n_before, n_after;
	struct update_op *next_done; /* update_service.done */
	const char *reason;          /* for the log: why the writer failed it, or "" */
	struct np_addr source;       /* job's, for the log line written after the answer left */
	struct update_msg msg; /* last: the only large member, never zeroed whole */
};

/* As many as the UPDATEs in flight on a busy server (UPDATE_QUEUE_MAX queued ones come
 * and go in far smaller numbers); beyond these, freed as usual. */
#define OP_SPARE_MAX 64

/* A spare update_op, else a new one; never zeroed whole (see handle). */
static struct update_op *op_alloc(struct update_service *svc)
{
	pthread_mutex_lock(&svc->mu);
	struct update_op *u = svc->spare;
	if (u != NULL) {
		svc->spare = u->next_done;
		svc->n_spare--;
	}
	pthread_mutex_unlock(&svc->mu);
	return u != NULL ? u : malloc(sizeof(struct update_op));
}

/* Wipes the secret, then keeps u for op_alloc or frees it. */
static void op_free(struct update_service *svc, struct update_op *u)
{
	sodium_memzero(u->secret, sizeof(u->secret));
	pthread_mutex_lock(&svc->mu);
	bool keep = svc->n_spare < OP_SPARE_MAX && !svc->stopping;
	if (keep) {
		u->next_done = svc->spare;
		svc->spare = u;
		svc->n_spare++;
	}
	pthread_mutex_unlock(&svc->mu);
	if (!keep)
		free(u);
}

/* The writer thread's scratch for apply (one op at a time). */
static _Thread_local struct {
	struct store_host host;
	struct store_rr before[ZONE_MAX_RRS_PER_NODE], after[ZONE_MAX_RRS_PER_NODE];
} apply_scratch;

/* ---- answers ---- */

/* UPDATE answers by rcode, for the metrics (one service per process). */
static _Atomic uint64_t answered[16];

static void collect(void *ctx, struct metrics_out *o)
{
	(void)ctx;
	metrics_family(o, "updates_total", "counter",
	               "RFC 2136 UPDATE messages answered, by rcode (NOERROR only after commit)");
	for (unsigned r = 0; r < 16; r++) {
		uint64_t v = atomic_load(&answered[r]);
		if (v == 0 && r != 0)
			continue;
		char labels[64];
		snprintf(labels, sizeof(labels), "interface=\"rfc2136\",rcode=\"%s\"",
		         dns_rcode_name(r));
		metrics_sample(o, "updates_total", labels, v);
	}
}

/* Sends the answer with rcode for job, signed with key over req_mac when key is set;
 * tsig_error and an unsigned TSIG (BADKEY, BADSIG) when unsigned_rr is set. */
static void answer(struct update_job *job, const struct update_msg *m, unsigned rcode,
                   const struct tsig_key *key, const uint8_t *req_mac, size_t req_mac_len,
                   uint16_t fudge, const struct tsig_rr *unsigned_rr, uint16_t tsig_error)
{
	atomic_fetch_add_explicit(&answered[rcode & 0x0F], 1, memory_order_relaxed);
	uint8_t buf[ANSWER_MAX];
	size_t len = update_answer(buf, sizeof(buf), m->id, rcode, m->zone_len > 0 ? m->zone : NULL,
	                           m->zone_len);
	int64_t now = time_now();
	if (len > 0 && key != NULL) {
		uint8_t other[6];
		struct tsig_vars v = {
		    .time_signed = (uint64_t)now, .fudge = fudge, .error = tsig_error};
		if (tsig_error == TSIG_ERR_BADTIME) { /* RFC 8945 5.2.3: our time, for the client */
			wire_store_u16(other, (uint16_t)((uint64_t)now >> 32));
			wire_store_u32(other + 2, (uint32_t)now);
			v.other = other;
			v.other_len = sizeof(other);
		}
		if (tsig_sign(key, buf, &len, sizeof(buf), req_mac, req_mac_len, &v, NULL) != NP_OK)
			len = 0;
	} else if (len > 0 && unsigned_rr != NULL) {
		if (tsig_append_unsigned(unsigned_rr, buf, &len, sizeof(buf), tsig_error,
		                         (uint64_t)now) != NP_OK)
			len = 0;
	}
	job->reply(job, buf, len);
}

/* ---- the writer's side ---- */

static void name_text(const uint8_t *wire, size_t len, char *out, size_t cap)
{
	if (dns_name_to_text(wire, len, out, cap) < 0)
		out[0] = '\0';
}

static bool same_name(const struct update_rr *a, const struct update_rr *b)
{
	return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* One line per UPDATE from a verified key: who, which zone, how many changes, the rcode. */
static void log_update(const struct update_op *u, unsigned rcode, const char *reason)
{
	char zone[CFG_NAME_MAX], key[CFG_NAME_MAX], source[INET6_ADDRSTRLEN];
	name_text(u->msg.zone, u->msg.zone_len, zone, sizeof(zone));
	name_text(u->key.name, u->key.name_len, key, sizeof(key));
	addr_format(&u->source, source, sizeof(source));
	log_event(LOG_INFO, "update",
	          "interface=rfc2136 source=%s key=%s zone=%s changes=%u result=%s reason=%s",
	          source, key, zone, u->msg.n_update, dns_rcode_name(rcode), reason);
}

static bool rdata_equal(const struct store_rr *a, const struct update_rr *b)
{
	return a->type == b->type && a->rdlen == b->rdlen &&
	       memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

/* The challenge values of host_id as TXT records (one character-string each). */
static int challenge_records(struct store *st, int64_t host_id, struct store_rr *out, size_t *n)
{
	struct store_acme_txt v[ACME_VALUES_MAX];
	int ret = acme_values(st, host_id, time_now(), v, n);
	for (size_t i = 0; ret == NP_OK && i < *n; i++) {
		size_t len = strlen(v[i].value);
		out[i] = (struct store_rr){.type = DNS_TYPE_TXT, .rdlen = (uint16_t)(len + 1)};
		out[i].rdata[0] = (uint8_t)len;
		memcpy(out[i].rdata + 1, v[i].value, len);
	}
	return ret;
}

/* The records at name (lower-case wire) as the transaction sees them: the zone's apex holds
 * SOA and NS; a host its records; a host's challenge name its TXT values; anything else
 * nothing. */
static int records_at(struct update_op *u, struct store *st, const struct cfg_zone *cz,
                      const struct update_rr *rr, bool *apex, struct store_rr *out, size_t *n)
{
	char fqdn[CFG_NAME_MAX];
	name_text(rr->name, rr->name_len, fqdn, sizeof(fqdn));
	*n = 0;
	*apex = strcmp(fqdn, cz->name) == 0;
	if (*apex)
		return NP_OK;
	int ret = store_host_get_row(st, fqdn, u->host_p);
	if (ret == NP_ENOTFOUND && acme_host_of(fqdn) != NULL) {
		ret = store_host_get_row(st, acme_host_of(fqdn), u->host_p);
		if (ret == NP_OK)
			return challenge_records(st, u->host_p->id, out, n);
	}
	if (ret == NP_ENOTFOUND)
		return NP_OK;
	if (ret == NP_OK)
		ret = store_records_get(st, u->host_p->id, out, ZONE_MAX_RRS_PER_NODE, n);
	return ret;
}

static bool has_type(const struct store_rr *rrs, size_t n, bool apex, uint16_t type)
{
	if (apex && (type == DNS_TYPE_SOA || type == DNS_TYPE_NS))
		return true;
	for (size_t i = 0; i < n; i++) {
		if (rrs[i].type == type)
			return true;
	}
	return false;
}

/* RFC 2136 3.2: every prerequisite, in order; the rcode of the first that fails. The
 * value-dependent ones compare as sets per name and type (3.2.3). */
static unsigned check_prereqs(struct update_op *u, struct store *st, const struct cfg_zone *cz,
                              int *err)
{
	const struct update_msg *m = &u->msg;
	for (unsigned i = 0; i < m->n_prereq; i++) {
		const struct update_rr *rr = &m->rr[i];
		bool apex;
		*err = records_at(u, st, cz, rr, &apex, u->before, &u->n_before);
		if (*err != NP_OK)
			return DNS_RCODE_SERVFAIL;
		bool in_use = apex || u->n_before > 0;
		switch (m->kind[i]) {
		case UPD_NAME_IN_USE:
			if (!in_use)
				return DNS_RCODE_NXDOMAIN;
			break;
		case UPD_NAME_NOT_IN_USE:
			if (in_use)
				return DNS_RCODE_YXDOMAIN;
			break;
		case UPD_RRSET_EXISTS:
			if (!has_type(u->before, u->n_before, apex, rr->type))
				return DNS_RCODE_NXRRSET;
			break;
		case UPD_RRSET_NOT_EXISTS:
			if (has_type(u->before, u->n_before, apex, rr->type))
				return DNS_RCODE_YXRRSET;
			break;
		case UPD_RRSET_VALUE: {
			/* Every stored RR of this name and type is among the prerequisite's, and
			 * every one of those is stored. */
			for (size_t k = 0; k < u->n_before; k++) {
				if (u->before[k].type != rr->type)
					continue;
				bool listed = false;
				for (unsigned j = 0; j < m->n_prereq && !listed; j++)
					listed =
					    m->kind[j] == UPD_RRSET_VALUE &&
					    m->rr[j].name_len == rr->name_len &&
					    memcmp(m->rr[j].name, rr->name, rr->name_len) == 0 &&
					    rdata_equal(&u->before[k], &m->rr[j]);
				if (!listed)
					return DNS_RCODE_NXRRSET;
			}
			bool stored = false;
			for (size_t k = 0; k < u->n_before && !stored; k++)
				stored = rdata_equal(&u->before[k], rr);
			if (!stored)
				return DNS_RCODE_NXRRSET;
			break;
		}
		default:
			break;
		}
	}
	return DNS_RCODE_NOERROR;
}

/* The host's values as the history keeps them, as the other interfaces write them: a
 * comma list of plain values ("192.0.2.1,2001:db8::1"), addresses first, so the flux score
 * (abuse/flux.h) reads the addresses of every change whichever interface made it. */
static void values_text(const struct store_rr *rrs, size_t n, char *out, size_t cap)
{
	static const uint16_t order[] = {DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_TXT, DNS_TYPE_MX};
	size_t o = 0;
	out[0] = '\0';
	for (size_t t = 0; t < ARRAY_SIZE(order); t++) {
		for (size_t i = 0; i < n && o + 1 < cap; i++) {
			if (rrs[i].type != order[t])
				continue;
			char v[512];
			v[0] = '?'; /* a value none of the cases below formats */
			v[1] = '\0';
			struct np_addr a;
			if (store_rr_addr(&rrs[i], &a))
				addr_format(&a, v, sizeof(v));
			else if (rrs[i].type == DNS_TYPE_TXT && rrs[i].rdlen > 0)
				snprintf(v, sizeof(v), "\"%.*s\"", (int)rrs[i].rdata[0],
				         rrs[i].rdata + 1);
			else if (rrs[i].type == DNS_TYPE_MX && rrs[i].rdlen > 2) {
				char ex[CFG_NAME_MAX];
				name_text(rrs[i].rdata + 2, rrs[i].rdlen - 2u, ex, sizeof(ex));
				snprintf(v, sizeof(v), "%u %s", wire_load_u16(rrs[i].rdata), ex);
			}
			size_t len = strlen(v), sep = o > 0;
			if (o + sep + len >= cap)
				return; /* the history text is informative: a long one is cut */
			if (sep)
				out[o++] = ',';
			memcpy(out + o, v, len + 1);
			o += len;
		}
	}
}

/* The challenge name's values as after[] holds them, through acme_set. */
static int flush_challenge(struct update_op *u, struct store *st, struct writer_txn *txn)
{
	char values[ZONE_MAX_RRS_PER_NODE][ACME_TXT_MAX + 1];
	const char *list[ZONE_MAX_RRS_PER_NODE];
	for (size_t i = 0; i < u->n_after; i++) {
		/* check_policy let only single strings of acme_value_ok through. */
		size_t len = u->after[i].rdlen > 0 ? u->after[i].rdata[0] : 0;
		if (len > ACME_TXT_MAX || len + 1u != u->after[i].rdlen)
			return NP_EINVAL;
		memcpy(values[i], u->after[i].rdata + 1, len);
		values[i][len] = '\0';
		list[i] = values[i];
	}
	struct acme_who who = {
	    .protocol = "rfc2136", .token_id = u->cred.token_id, .source = &u->job->source};
	bool changed;
	return acme_set(st, txn, u->host_p, list, u->n_after, &who, &changed);
}

/* Writes the host's records back when they changed: each type as a whole, a history row,
 * a new serial. */
static int flush_host(struct update_op *u, struct store *st, struct writer_txn *txn)
{
	bool changed = false;
	if (u->challenge)
		return flush_challenge(u, st, txn);
	for (size_t t = 0; t < ARRAY_SIZE(host_types); t++) {
		uint16_t type = host_types[t];
		struct store_rr set[ZONE_MAX_RRS_PER_TYPE];
		size_t n = 0, n_old = 0;
		bool same = true;
		for (size_t i = 0; i < u->n_after; i++) {
			if (u->after[i].type != type)
				continue;
			if (n == ZONE_MAX_RRS_PER_TYPE)
				return NP_ETOOBIG;
			set[n++] = u->after[i];
		}
		for (size_t i = 0; i < u->n_before; i++) {
			if (u->before[i].type != type)
				continue;
			n_old++;
			bool found = false;
			for (size_t j = 0; j < n && !found; j++)
				found = set[j].rdlen == u->before[i].rdlen &&
				        memcmp(set[j].rdata, u->before[i].rdata, set[j].rdlen) == 0;
			same = same && found;
		}
		if (same && n_old == n)
			continue;
		int ret = store_records_set(st, u->host_p->id, type, set, n);
		if (ret != NP_OK)
			return ret;
		changed = true;
	}
	if (!changed)
		return NP_OK;
	bool addr = false;
	for (size_t i = 0; i < u->n_after; i++)
		addr = addr || u->after[i].type == DNS_TYPE_A || u->after[i].type == DNS_TYPE_AAAA;
	int ret = NP_OK;
	if (addr && u->host_p->offline) /* addresses bring a host back online, as with dyndns2 */
		ret = store_host_set_flags(st, u->host_p->id, u->host_p->wildcard, false,
		                           u->host_p->blocked);
	static _Thread_local char old_text[1024], new_text[1024];
	char source[64];
	values_text(u->before, u->n_before, old_text, sizeof(old_text));
	values_text(u->after, u->n_after, new_text, sizeof(new_text));
	addr_format(&u->job->source, source, sizeof(source));
	struct store_history h = {
	    .host_id = u->host_p->id,
	    .fqdn = u->host_p->fqdn,
	    .time = time_now(),
	    .source = source,
	    .old_addr = old_text,
	    .new_addr = new_text,
	    .protocol = "rfc2136",
	    .token_id = u->cred.token_id,
	};
	if (ret == NP_OK)
		ret = store_history_add(st, &h);
	if (ret == NP_OK)
		ret = writer_txn_touch(txn, u->host_p->fqdn);
	return ret;
}

/* Loads the host at rr's name into before/after (or, for a host's challenge name, its
 * values), checking it is still the key's account's and open to changes. REFUSED in
 * u->rcode (and NP_EDENIED) when it is not. */
static int load_host(struct update_op *u, struct store *st, const struct update_rr *rr)
{
	char fqdn[CFG_NAME_MAX];
	name_text(rr->name, rr->name_len, fqdn, sizeof(fqdn));
	int ret = store_host_get_row(st, fqdn, u->host_p);
	u->challenge = false;
	if (ret == NP_ENOTFOUND && acme_host_of(fqdn) != NULL) {
		ret = store_host_get_row(st, acme_host_of(fqdn), u->host_p);
		u->challenge = ret == NP_OK;
	}
	if (ret == NP_ENOTFOUND ||
	    (ret == NP_OK && (u->host_p->user_id != u->cred.user_id || u->host_p->blocked))) {
		u->rcode = DNS_RCODE_REFUSED;
		return NP_EDENIED;
	}
	if (ret == NP_OK && u->challenge)
		ret = challenge_records(st, u->host_p->id, u->before, &u->n_before);
	else if (ret == NP_OK)
		ret = store_records_get(st, u->host_p->id, u->before, ZONE_MAX_RRS_PER_NODE,
		                        &u->n_before);
	if (ret != NP_OK)
		return ret;
	memcpy(u->after, u->before, u->n_before * sizeof(u->before[0]));
	u->n_after = u->n_before;
	u->held = rr;
	return NP_OK;
}

/* RFC 2136 3.4.2 on the loaded host's records in after[]. */
static int apply_one(struct update_op *u, const struct update_rr *rr, enum update_kind kind,
                     uint32_t ttl)
{
	size_t w = 0;
	switch (kind) {
	case UPD_ADD:
		for (size_t i = 0; i < u->n_after; i++) {
			if (rdata_equal(&u->after[i], rr))
				return NP_OK; /* already there: nothing to add */
		}
		if (u->n_after == ZONE_MAX_RRS_PER_NODE || rr->rdlen > ZONE_MAX_RDATA ||
		    (u->challenge && u->n_after == ACME_VALUES_MAX))
			return NP_ETOOBIG;
		u->after[u->n_after] =
		    (struct store_rr){.type = rr->type, .ttl = ttl, .rdlen = rr->rdlen};
		memcpy(u->after[u->n_after].rdata, rr->rdata, rr->rdlen);
		u->n_after++;
		return NP_OK;
	case UPD_DEL_RRSET:
	case UPD_DEL_NAME:
	case UPD_DEL_RR:
		for (size_t i = 0; i < u->n_after; i++) {
			bool del = kind == UPD_DEL_NAME ||
			           (kind == UPD_DEL_RRSET && u->after[i].type == rr->type) ||
			           (kind == UPD_DEL_RR && rdata_equal(&u->after[i], rr));
			if (!del)
				u->after[w++] = u->after[i];
		}
		u->n_after = w;
		return NP_OK;
	default:
		return NP_EINVAL;
	}
}

/* The flux score judges each host's new addresses before anything is changed (as
 * dyndns2's and the REST API's do): at hold or above the whole message is REFUSED and only
 * the host's new state is kept (a quarantine leaves DNS with this batch). */
static int judge_addresses(struct update_op *u, struct store *st, struct writer_txn *txn)
{
	const struct update_msg *m = &u->msg;
	for (unsigned i = m->n_prereq; i < m->n_prereq + m->n_update; i++) {
		const struct update_rr *rr = &m->rr[i];
		bool first = true; /* each host once: at its first record */
		for (unsigned j = m->n_prereq; j < i && first; j++)
			first = m->rr[j].name_len != rr->name_len ||
			        memcmp(m->rr[j].name, rr->name, rr->name_len) != 0;
		if (!first)
			continue;
		int ret = load_host(u, st, rr);
		if (ret != NP_OK)
			return ret == NP_EDENIED ? NP_OK : ret;
		struct np_addr cand[UPDATE_MAX_RRS];
		size_t nc = 0;
		for (unsigned j = i; j < m->n_prereq + m->n_update; j++) {
			const struct update_rr *a = &m->rr[j];
			if (m->kind[j] != UPD_ADD || a->name_len != rr->name_len ||
			    memcmp(a->name, rr->name, rr->name_len) != 0 ||
			    (a->type != DNS_TYPE_A && a->type != DNS_TYPE_AAAA))
				continue;
			bool held = false;
			for (size_t k = 0; k < u->n_before && !held; k++)
				held = rdata_equal(&u->before[k], a);
			if (held)
				continue;
			cand[nc].family = a->type == DNS_TYPE_A ? AF_INET : AF_INET6;
			memset(cand[nc].bytes, 0, sizeof(cand[nc].bytes));
			memcpy(cand[nc].bytes, a->rdata, a->rdlen);
			nc++;
		}
		if (nc == 0)
			continue;
		int state;
		ret = abuse_judge(u->svc->abuse, st, u->host_p, cand, nc, time_now(), &state);
		if (ret != NP_OK)
			return ret;
		if (state >= STORE_ABUSE_HOLD) {
			u->rcode = DNS_RCODE_REFUSED;
			return state == STORE_ABUSE_QUARANTINED
			           ? writer_txn_touch(txn, u->host_p->fqdn)
			           : NP_OK;
		}
	}
	return NP_OK;
}

static int op_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct update_op *u = (struct update_op *)op;
	u->host_p = &apply_scratch.host;
	u->before = apply_scratch.before;
	u->after = apply_scratch.after;
	struct store *st = writer_txn_store(txn);
	const struct config *cfg = writer_txn_config(txn);
	char zone[CFG_NAME_MAX];
	name_text(u->msg.zone, u->msg.zone_len, zone, sizeof(zone));
	const struct cfg_zone *cz = config_zone_for(cfg, zone);
	if (cz == NULL || strcmp(cz->name, zone) != 0) {
		u->rcode = DNS_RCODE_NOTAUTH;
		return NP_OK;
	}
	/* The key may have been deleted, or its account locked, since it was checked. */
	bool valid;
	int64_t last_used;
	int ret = store_token_valid(st, u->cred.token_id, u->token_hash, &valid, &last_used);
	if (ret != NP_OK && ret != NP_ENOTFOUND)
		return ret;
	if (!valid) {
		u->rcode = DNS_RCODE_REFUSED;
		return NP_OK;
	}
	u->held = NULL;
	u->rcode = check_prereqs(u, st, cz, &ret);
	if (ret != NP_OK)
		return ret;
	if (u->rcode != DNS_RCODE_NOERROR) {
		/* A change the key may not make is REFUSED whatever the prerequisites say, as
		 * when the service refused it before it came here. */
		for (unsigned i = u->msg.n_prereq; i < u->msg.n_prereq + u->msg.n_update; i++) {
			unsigned rcode = u->rcode;
			ret = load_host(u, st, &u->msg.rr[i]);
			if (ret == NP_EDENIED)
				return NP_OK; /* u->rcode is REFUSED */
			if (ret != NP_OK)
				return ret;
			u->rcode = rcode;
		}
		return NP_OK;
	}

	if (u->svc->abuse != NULL) {
		ret = judge_addresses(u, st, txn);
		if (ret != NP_OK || u->rcode != DNS_RCODE_NOERROR)
			return ret;
	}
	const struct update_msg *m = &u->msg;
	const struct update_rr *loaded = NULL; /* whose records after[] holds */
	for (unsigned i = m->n_prereq; i < m->n_prereq + m->n_update; i++) {
		const struct update_rr *rr = &m->rr[i];
		if (loaded == NULL || !same_name(loaded, rr)) {
			if (loaded != NULL && (ret = flush_host(u, st, txn)) != NP_OK)
				break;
			/* judge_addresses may have loaded this very host last: not again. */
			bool held = loaded == NULL && u->held != NULL && same_name(u->held, rr);
			if (!held && (ret = load_host(u, st, rr)) != NP_OK)
				break;
			loaded = rr;
		}
		ret = apply_one(u, rr, m->kind[i], cz->ttl);
		if (ret != NP_OK)
			break;
	}
	if (ret == NP_OK && loaded != NULL)
		ret = flush_host(u, st, txn);
	if (ret == NP_ETOOBIG || ret == NP_EINVAL)
		u->rcode = DNS_RCODE_REFUSED; /* more records than a name may hold */
	if (ret == NP_OK && m->n_update > 0) {
		char source[64];
		addr_format(&u->job->source, source, sizeof(source));
		ret = store_token_used(st, u->cred.token_id, time_now(), source);
	}
	return ret;
}

/* Signs and sends the answer of an UPDATE back from the writer (the job goes with it). */
static void answer_send(struct update_op *u)
{
	answer(u->job, &u->msg, u->rcode, &u->key, u->req_mac, u->req_mac_len, u->fudge, NULL, 0);
	u->job = NULL;
}

/* After answer_send: its log line, then frees u. The line (a write of its own) comes after
 * the answer, so that no answer waits for the log. */
static void answer_log(struct update_op *u)
{
	log_update(u, u->rcode, u->reason);
	op_free(u->svc, u);
}

/* On the writer's thread or the WAL sync thread (core/writer.h), after its batch. While
 * other UPDATEs are at the writer the answer is left to the service thread (signing and
 * sending were a sixth of the writer's time per UPDATE, and the writer is the one thread
 * every UPDATE waits for); the only one is answered here at once, without waking another
 * thread. */
static void op_done(struct writer_op *op, int status)
{
	struct update_op *u = (struct update_op *)op;
	struct update_service *svc = u->svc;
	if (status != NP_OK && u->rcode == DNS_RCODE_NOERROR)
		u->rcode = DNS_RCODE_SERVFAIL; /* not committed: never NOERROR */
	u->reason = status != NP_OK ? np_strerror(status) : ""; /* else: the rcode says */
	pthread_mutex_lock(&svc->mu);
	bool here = svc->at_writer == 1 || svc->stopping;
	if (!here) {
		/* One wake-up per batch: the service thread takes the whole list, and one
		 * already waiting to be taken had its signal. */
		if (svc->done == NULL)
			pthread_cond_signal(&svc->cv);
		u->next_done = svc->done;
		svc->done = u;
	}
	pthread_mutex_unlock(&svc->mu);
	if (!here)
		return;
	answer_send(u);
	answer_log(u);
	pthread_mutex_lock(&svc->mu);
	if (--svc->at_writer == 0)
		pthread_cond_broadcast(&svc->drained);
	pthread_mutex_unlock(&svc->mu);
}

/* ---- the service's thread: authentication and the policy ---- */

/* Whether rr's rdata is one character-string a challenge value may be. */
static bool challenge_value_ok(const struct update_rr *rr)
{
	return rr->rdlen >= 1 && rr->rdata[0] + 1u == rr->rdlen &&
	       acme_value_ok((const char *)rr->rdata + 1, rr->rdata[0]);
}

/* A change at a host's challenge name: TXT only, values acme_value_ok takes, and the
 * credential allowed TXT at that name (credential_may with the host's owner). */
static unsigned check_challenge(struct update_op *u, const struct update_rr *rr,
                                enum update_kind kind, const char *fqdn, int64_t owner, int64_t now)
{
	if (kind != UPD_DEL_NAME && rr->type != DNS_TYPE_TXT)
		return DNS_RCODE_REFUSED; /* a challenge name holds TXT alone */
	if (kind == UPD_ADD && !challenge_value_ok(rr))
		return DNS_RCODE_REFUSED;
	if (credential_may(&u->cred, owner, fqdn, DNS_TYPE_TXT, &u->job->source, now) != POLICY_OK)
		return DNS_RCODE_REFUSED;
	return DNS_RCODE_NOERROR;
}

/* REFUSED unless the credential's policy allows every change of m. A host's name is
 * judged as if the key's account owned it: whether the host exists, is the account's and
 * is open to changes is the writer's to say (load_host), in the transaction that changes it,
 * so an UPDATE costs no lookup here. Only a challenge name is looked up: it is one when no
 * host has that name. */
static unsigned check_policy(struct update_service *svc, struct update_op *u, int64_t now)
{
	const struct update_msg *m = &u->msg;
	const struct np_addr *src = &u->job->source;
	int64_t owner = u->cred.user_id;
	if (credential_usable(&u->cred, src, now) != POLICY_OK)
		return DNS_RCODE_REFUSED;
	for (unsigned i = m->n_prereq; i < m->n_prereq + m->n_update; i++) {
		const struct update_rr *rr = &m->rr[i];
		char fqdn[CFG_NAME_MAX];
		name_text(rr->name, rr->name_len, fqdn, sizeof(fqdn));
		if (acme_host_of(fqdn) != NULL) {
			static _Thread_local struct store_host h;
			int ret = store_host_get_row(svc->st, fqdn, &h);
			if (ret == NP_ENOTFOUND) {
				ret = store_host_get_row(svc->st, acme_host_of(fqdn), &h);
				if (ret == NP_OK) {
					unsigned rc = check_challenge(u, rr, m->kind[i], fqdn,
					                              h.user_id, now);
					if (rc != DNS_RCODE_NOERROR)
						return rc;
					continue;
				}
			}
			if (ret != NP_OK)
				return ret == NP_ENOTFOUND ? DNS_RCODE_REFUSED : DNS_RCODE_SERVFAIL;
		}
		bool host_type = false;
		for (size_t t = 0; t < ARRAY_SIZE(host_types); t++)
			host_type = host_type || rr->type == host_types[t];
		if (!host_type && m->kind[i] != UPD_DEL_NAME)
			return DNS_RCODE_REFUSED; /* a host holds nothing else (no CNAME, NS...) */
		if (m->kind[i] == UPD_DEL_NAME) {
			for (size_t t = 0; t < ARRAY_SIZE(host_types); t++) {
				if (credential_may(&u->cred, owner, fqdn, host_types[t], src, now) !=
				    POLICY_OK)
					return DNS_RCODE_REFUSED;
			}
		} else if (credential_may(&u->cred, owner, fqdn, rr->type, src, now) != POLICY_OK) {
			return DNS_RCODE_REFUSED;
		}
	}
	return DNS_RCODE_NOERROR;
}

/* The budgets (per host, key and source, as dyndns2's) and the threat feeds' address
 * ranges: REFUSED when over a budget or adding a listed address. RFC 2136 has no rcode for
 * "later"; the refusal is logged with the time to wait. */
static unsigned check_abuse(struct update_service *svc, struct update_op *u, int64_t now)
{
	const struct update_msg *m = &u->msg;
	if (m->n_update == 0)
		return DNS_RCODE_NOERROR;
	static _Thread_local char names[UPDATE_MAX_RRS][CFG_NAME_MAX];
	const char *list[UPDATE_MAX_RRS];
	size_t n = 0;
	for (unsigned i = m->n_prereq; i < m->n_prereq + m->n_update; i++) {
		const struct update_rr *rr = &m->rr[i];
		const char *name = names[n];
		name_text(rr->name, rr->name_len, names[n], sizeof(names[n]));
		/* A challenge name is no host and changes no address: its values come and go
		 * four at a time for one certificate (core/acme.h bounds them); the token's and
		 * the source's budgets still count the message. */
		bool dup = acme_host_of(names[n]) != NULL;
		for (size_t k = 0; k < n && !dup; k++)
			dup = strcmp(list[k], names[n]) == 0;
		if (!dup) {
			list[n] = names[n];
			n++;
		}
		if (m->kind[i] == UPD_ADD &&
		    (rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA)) {
			struct np_addr a = {.family = rr->type == DNS_TYPE_A ? AF_INET : AF_INET6};
			memcpy(a.bytes, rr->rdata, rr->rdlen);
			char which[160];
			if (abuse_addr_listed(svc->abuse, &a, which, sizeof(which))) {
				char ip[INET6_ADDRSTRLEN];
				log_event(
				    LOG_WARNING, "update_refused",
				    "interface=rfc2136 key=%s host=%s ip=%s reason=listed list=%s",
				    u->cred.token_id, name, addr_format(&a, ip, sizeof(ip)), which);
				return DNS_RCODE_REFUSED;
			}
		}
	}
	unsigned wait =
	    abuse_budget_take(svc->abuse, list, n, u->cred.token_id, &u->job->source, now);
	if (wait > 0) {
		log_event(LOG_INFO, "update_refused",
		          "interface=rfc2136 key=%s reason=budget wait=%u", u->cred.token_id, wait);
		return DNS_RCODE_REFUSED;
	}
	return DNS_RCODE_NOERROR;
}

static bool zone_served(const struct config *cfg, const struct update_msg *m)
{
	char zone[CFG_NAME_MAX];
	name_text(m->zone, m->zone_len, zone, sizeof(zone));
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		if (strcmp(cfg->zones[i].name, zone) == 0)
			return true;
	}
	return false;
}

/* A signed query on its way through the service. */
struct signed_query {
	struct tsig_key key;
	uint8_t secret[TSIGKEY_SECRET_MAX];
	struct credential cred;
	uint8_t token_hash[SECRET_HASH_LEN];
	uint8_t q[DNS_MAX_MSG]; /* the query without its TSIG record */
	uint8_t a[UPDATE_ANSWER_MAX];
};

/* Also what TSIG keeps of the last key this thread used (tsig_keep_keys): no secret
 * stays in memory longer than in this cache. */
static void forget_key(struct cached_key *c)
{
	sodium_memzero(c, sizeof(*c));
	tsig_forget_kept_keys();
}

/* tsigkey_find for the key rr names, through the service's cache (KEY_CACHE_SLOTS). */
static int find_key(struct update_service *svc, const struct tsig_rr *rr, struct tsig_key *key,
                    uint8_t secret[TSIGKEY_SECRET_MAX], struct credential *cred,
                    uint8_t token_hash[SECRET_HASH_LEN])
{
	int64_t now = time_mono_ms(), version = svc->cred_version;
	/* Cannot tell: nothing remembered is used, nothing is kept. */
	bool fresh = false;
	if (!svc->cred_version_read) {
		fresh = store_credentials_version(svc->st, &version) != NP_OK;
		if (fresh)
			version = -1; /* no count: every remembered key is forgotten below */
		svc->cred_version = version;
		svc->cred_version_read = !fresh;
	}
	struct cached_key *hit = NULL, *victim = &svc->keys[0];
	for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
		struct cached_key *c = &svc->keys[i];
		if (c->until_ms != 0 && (c->until_ms <= now || c->version != version))
			forget_key(c); /* stale: credentials changed since, or unused too long */
		if (c->until_ms != 0 && c->name_len == rr->key_name_len &&
		    memcmp(c->name, rr->key_name, rr->key_name_len) == 0) {
			hit = c;
			break;
		}
		if (c->until_ms < victim->until_ms)
			victim = c; /* the empty or oldest slot */
	}
	if (hit != NULL && !fresh) {
		memcpy(secret, hit->secret, sizeof(hit->secret));
		*key = hit->key;
		key->secret = secret;
		*cred = hit->cred;
		memcpy(token_hash, hit->token_hash, SECRET_HASH_LEN);
		return NP_OK;
	}
	int ret = tsigkey_find(svc->st, svc->seal, rr->key_name, rr->key_name_len, key, secret,
	                       cred, token_hash);
	struct cached_key *c = hit != NULL ? hit : victim;
	forget_key(c); /* a fresh read replaces what was remembered, or that the key is gone */
	if (ret == NP_OK && !fresh && rr->key_name_len <= sizeof(c->name)) {
		c->until_ms = now + KEY_CACHE_MS;
		c->version = version;
		memcpy(c->name, rr->key_name, rr->key_name_len);
		c->name_len = rr->key_name_len;
		memcpy(c->secret, secret, sizeof(c->secret));
		c->key = *key;
		c->key.secret = c->secret;
		c->cred = *cred;
		memcpy(c->token_hash, token_hash, SECRET_HASH_LEN);
	}
	return ret;
}

/* Whether rr's key is known, verifies the query at now and may be used from its source:
 * through the throttle of failed signatures, as for an UPDATE. */
static bool query_key_ok(struct update_service *svc, const struct update_job *job,
                         const struct tsig_rr *rr, struct signed_query *s, int64_t now)
{
	char keyname[CFG_NAME_MAX];
	name_text(rr->key_name, rr->key_name_len, keyname, sizeof(keyname));
	int64_t now_ms = time_mono_ms();
	if (throttle_check(svc->throttle, &job->source, keyname, now_ms) > 0)
		return false;
	uint16_t terr = 0;
	int ret = find_key(svc, rr, &s->key, s->secret, &s->cred, s->token_hash);
	if (ret != NP_OK && ret != NP_ENOTFOUND) {
		log_err("update: key lookup failed: %s", np_strerror(ret));
		return false;
	}
	if (ret == NP_OK)
		ret = tsig_verify(&s->key, job->msg, job->len, rr, NULL, 0, now, &terr);
	if (ret == NP_EFAILED) {
		log_err("update: TSIG of a signed query not computed: %s", np_strerror(ret));
		return false; /* ours: not counted against the sender */
	}
	/* BADTIME means the MAC verified: the sender holds the key, only its clock is off. */
	if (ret != NP_OK && terr != TSIG_ERR_BADTIME) {
		throttle_failed(svc->throttle, &job->source, keyname, "rfc2136", now_ms);
		return false;
	}
	throttle_succeeded(svc->throttle, &job->source, keyname, now_ms);
	return ret == NP_OK && credential_usable(&s->cred, &job->source, now) == POLICY_OK;
}

/* A query with a TSIG record: the key found and verified as for an UPDATE (and usable:
 * its account active, not expired), then the query answered from the published zones like
 * any other and signed. What it reads anyone may read, so the key's names and types do not
 * matter. Any failure is answered as the query path does without keys: NOTAUTH with TSIG
 * error BADKEY, unsigned. */
static void handle_query(struct update_service *svc, struct update_job *job)
{
	struct signed_query *s = malloc(sizeof(*s));
	struct dns_answer_opts opts = {.tcp = job->tcp,
	                               .udp_max = (uint16_t)svc->cfg->edns_udp_size};
	struct tsig_rr rr;
	int64_t now = time_now();
	bool ok = s != NULL && job->len <= sizeof(s->q) &&
	          tsig_find(job->msg, job->len, &rr) == NP_OK &&
	          query_key_ok(svc, job, &rr, s, now);
	size_t len = 0;
	if (ok) {
		memcpy(s->q, job->msg, rr.start);
		wire_store_u16(s->q + 10, (uint16_t)(wire_load_u16(s->q + 10) - 1)); /* ARCOUNT */
	}
	rcu_thread_online();
	const struct zone_db *db = rcu_dereference(*svc->db);
	if (db != NULL && s != NULL)
		len = ok ? dns_answer(db, s->q, rr.start, s->a, sizeof(s->a) - TSIG_RR_MAX, &opts)
		         : dns_answer(db, job->msg, job->len, s->a, sizeof(s->a), &opts);
	rcu_thread_offline();
	if (ok && len > 0) {
		struct tsig_vars v = {.time_signed = (uint64_t)now, .fudge = rr.vars.fudge};
		if (tsig_sign(&s->key, s->a, &len, sizeof(s->a), rr.mac, rr.mac_len, &v, NULL) !=
		    NP_OK)
			len = 0;
	}
	job->reply(job, s != NULL ? s->a : NULL, len);
	if (s != NULL) {
		sodium_memzero(s->secret, sizeof(s->secret));
		free(s);
	}
}

static void handle(struct update_service *svc, struct update_job *job)
{
	if (!update_is_update(job->msg, job->len)) {
		handle_query(svc, job);
		return;
	}
	/* Not calloc: the message (tens of KiB) is filled by update_parse as far as it is
	 * used; zeroing it all cost more than the rest of an UPDATE. */
	struct update_op *u = op_alloc(svc);
	if (u != NULL) {
		memset(u, 0, offsetof(struct update_op, msg));
		u->msg.zone_len = 0;
		u->msg.n_prereq = u->msg.n_update = 0;
		u->msg.id = 0;
	}
	if (u == NULL) {
		struct update_msg m = {0};
		(void)update_parse(job->msg, job->len, &m);
		answer(job, &m, DNS_RCODE_SERVFAIL, NULL, NULL, 0, 0, NULL, 0);
		return;
	}
	u->svc = svc;
	u->job = job;
	u->source = job->source;
	int64_t now = time_now();
	struct tsig_rr rr;
	int ret = tsig_find(job->msg, job->len, &rr);
	if (ret != NP_OK) {
		/* No key, no change: unsigned UPDATE is refused (RFC 2136 3.3 leaves the policy
		 * to the server; ours is "every change by a credential"). */
		(void)update_parse(job->msg, job->len, &u->msg);
		answer(job, &u->msg, ret == NP_ENOTFOUND ? DNS_RCODE_REFUSED : DNS_RCODE_FORMERR,
		       NULL, NULL, 0, 0, NULL, 0);
		goto out;
	}
	unsigned rcode = update_parse(job->msg, rr.start, &u->msg);
	/* Guessing keys costs a lookup and a MAC each: a source (or a key name) that keeps
	 * failing is refused before either, as HTTP's wrong secrets are. */
	char keyname[CFG_NAME_MAX];
	name_text(rr.key_name, rr.key_name_len, keyname, sizeof(keyname));
	int64_t now_ms = time_mono_ms();
	if (throttle_check(svc->throttle, &job->source, keyname, now_ms) > 0) {
		answer(job, &u->msg, DNS_RCODE_REFUSED, NULL, NULL, 0, 0, NULL, 0);
		goto out;
	}
	ret = find_key(svc, &rr, &u->key, u->secret, &u->cred, u->token_hash);
	if (ret != NP_OK) {
		if (ret != NP_ENOTFOUND)
			log_err("update: key lookup failed: %s", np_strerror(ret));
		else
			throttle_failed(svc->throttle, &job->source, keyname, "rfc2136", now_ms);
		answer(job, &u->msg, DNS_RCODE_NOTAUTH, NULL, NULL, 0, 0, &rr, TSIG_ERR_BADKEY);
		goto out;
	}
	uint16_t terr = 0;
	ret = tsig_verify(&u->key, job->msg, job->len, &rr, NULL, 0, now, &terr);
	if (ret == NP_EMALFORMED) {
		throttle_failed(svc->throttle, &job->source, keyname, "rfc2136", now_ms);
		answer(job, &u->msg, DNS_RCODE_FORMERR, NULL, NULL, 0, 0, NULL, 0);
		goto out;
	}
	if (ret == NP_EFAILED) {
		log_err("update: TSIG not computed: %s", np_strerror(ret));
		answer(job, &u->msg, DNS_RCODE_SERVFAIL, NULL, NULL, 0, 0, NULL, 0);
		goto out;
	}
	/* BADTIME means the MAC verified: the sender holds the key, only its clock is off. */
	if (ret != NP_OK && terr != TSIG_ERR_BADTIME)
		throttle_failed(svc->throttle, &job->source, keyname, "rfc2136", now_ms);
	else
		throttle_succeeded(svc->throttle, &job->source, keyname, now_ms);
	if (ret != NP_OK) {
		/* BADKEY and BADSIG are answered unsigned; BADTIME and BADTRUNC signed, since
		 * the MAC verified (RFC 8945 5.2). */
		bool sign = terr == TSIG_ERR_BADTIME || terr == TSIG_ERR_BADTRUNC;
		answer(job, &u->msg, DNS_RCODE_NOTAUTH, sign ? &u->key : NULL, rr.mac, rr.mac_len,
		       rr.vars.fudge, sign ? NULL : &rr, terr);
		goto out;
	}
	memcpy(u->req_mac, rr.mac, rr.mac_len);
	u->req_mac_len = rr.mac_len;
	u->fudge = rr.vars.fudge;
	const char *why = rcode != DNS_RCODE_NOERROR ? "malformed" : "";
	if (rcode == DNS_RCODE_NOERROR && !zone_served(svc->cfg, &u->msg)) {
		rcode = DNS_RCODE_NOTAUTH;
		why = "zone_not_served";
	}
	if (rcode == DNS_RCODE_NOERROR && (rcode = check_policy(svc, u, now)) != DNS_RCODE_NOERROR)
		why = "policy";
	if (rcode == DNS_RCODE_NOERROR && svc->abuse != NULL &&
	    (rcode = check_abuse(svc, u, now)) != DNS_RCODE_NOERROR)
		why = "abuse";
	if (rcode != DNS_RCODE_NOERROR) {
		log_update(u, rcode, why);
		answer(job, &u->msg, rcode, &u->key, u->req_mac, u->req_mac_len, u->fudge, NULL, 0);
		goto out;
	}
	u->op.apply = op_apply;
	u->op.done = op_done;
	pthread_mutex_lock(&svc->mu);
	svc->at_writer++;
	pthread_mutex_unlock(&svc->mu);
	if (writer_submit(svc->writer, &u->op) == NP_OK)
		return; /* op_done answers and frees */
	pthread_mutex_lock(&svc->mu);
	svc->at_writer--;
	pthread_mutex_unlock(&svc->mu);
	answer(job, &u->msg, DNS_RCODE_SERVFAIL, &u->key, u->req_mac, u->req_mac_len, u->fudge,
	       NULL, 0);
out:
	op_free(svc, u);
}

/* ---- the sweep of stale ACME challenge values ---- */

struct sweep_op {
	struct writer_op op; /* first */
	bool more;
};

static int sweep_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct sweep_op *s = (struct sweep_op *)op;
	return acme_expire(writer_txn_store(txn), txn, time_now(), &s->more);
}

/* Values whose client died before cleaning up (core/acme.h): this thread may wait for the
 * writer, and it already holds a read-only connection to look first, so the writer sees
 * an op only when there is something to remove. A bounded number of rounds a sweep. */
static void sweep(struct update_service *svc)
{
	for (unsigned round = 0; round < 16; round++) {
		char fqdn[1][CFG_NAME_MAX];
		size_t n = 0;
		int ret = store_acme_stale(svc->st, time_now() - ACME_VALUE_LIFETIME, fqdn, 1, &n);
		if (ret != NP_OK || n == 0)
			return;
		struct sweep_op s = {.op = {.apply = sweep_apply}};
		ret = writer_run(svc->writer, &s.op, 5000);
		if (ret != NP_OK) {
			log_warn("acme: stale challenge values not swept: %s", np_strerror(ret));
			return;
		}
		if (!s.more)
			return;
	}
}

/* Waits on cv until deadline_ms (monotonic), or a signal. */
static void wait_until(struct update_service *svc, int64_t deadline_ms)
{
	int64_t left = deadline_ms - time_mono_ms();
	if (left < 0)
		left = 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	(void)pthread_cond_timedwait(&svc->cv, &svc->mu, &ts);
}

static void *service_main(void *arg)
{
	struct update_service *svc = arg;
	rcu_register_thread(); /* online only while it answers a signed query */
	tsig_keep_keys(true);  /* one key usually signs many UPDATEs in a row */
	rcu_thread_offline();
	int64_t next_sweep = time_mono_ms() + UPDATE_SWEEP_FIRST_MS;
	struct queued *taken = NULL; /* taken off the queue, not handled yet */
	pthread_mutex_lock(&svc->mu);
	for (;;) {
		if (!svc->stopping && time_mono_ms() >= next_sweep) {
			pthread_mutex_unlock(&svc->mu);
			sweep(svc);
			pthread_mutex_lock(&svc->mu);
			next_sweep = time_mono_ms() + (int64_t)ACME_SWEEP_SECONDS * 1000;
		}
		if (svc->done != NULL) {
			/* Answers first: those UPDATEs are committed and waited for. The list is
			 * newest first; sent oldest first, all of them before their log lines. */
			struct update_op *list = svc->done, *rev = NULL;
			svc->done = NULL;
			pthread_mutex_unlock(&svc->mu);
			unsigned n = 0;
			while (list != NULL) {
				struct update_op *next = list->next_done;
				list->next_done = rev;
				rev = list;
				list = next;
			}
			for (struct update_op *u = rev; u != NULL; u = u->next_done)
				answer_send(u);
			log_hold(); /* the batch's lines in one write */
			while (rev != NULL) {
				struct update_op *next = rev->next_done;
				answer_log(rev);
				rev = next;
				n++;
			}
			log_release();
			pthread_mutex_lock(&svc->mu);
			svc->at_writer -= n;
			if (svc->at_writer == 0)
				pthread_cond_broadcast(&svc->drained);
			continue;
		}
		if (taken == NULL) {
			if (svc->head == NULL && !svc->stopping) {
				wait_until(svc, next_sweep);
				continue;
			}
			if (svc->head == NULL)
				break; /* stopping and nothing left */
			/* The jobs queued now, handled one by one (answers still go first): the
			 * credentials' version is read once for all of them, at the first key
			 * lookup, after every one of them arrived. Under load that is one read
			 * for many UPDATEs instead of one each. */
			taken = svc->head;
			svc->head = NULL;
			svc->tail = &svc->head;
			svc->cred_version_read = false;
		}
		struct queued *q = taken;
		taken = q->next;
		svc->queued--;
		pthread_mutex_unlock(&svc->mu);
		handle(svc, q->job);
		free(q);
		pthread_mutex_lock(&svc->mu);
	}
	pthread_mutex_unlock(&svc->mu);
	rcu_unregister_thread();
	return NULL;
}

bool update_service_submit(void *ctx, struct update_job *job)
{
	struct update_service *svc = ctx;
	struct queued *q = malloc(sizeof(*q));
	if (q == NULL)
		return false;
	q->job = job;
	q->next = NULL;
	pthread_mutex_lock(&svc->mu);
	bool take = !svc->stopping && svc->queued < UPDATE_QUEUE_MAX;
	if (take) {
		*svc->tail = q;
		svc->tail = &q->next;
		svc->queued++;
		pthread_cond_signal(&svc->cv);
	}
	pthread_mutex_unlock(&svc->mu);
	if (!take)
		free(q);
	return take;
}

int update_service_start(struct update_service **out, const struct config *cfg, struct writer *w,
                         struct abuse *abuse, struct zone_db *const *db)
{
	struct update_service *svc = calloc(1, sizeof(*svc));
	if (svc == NULL)
		return NP_ENOMEM;
	svc->cfg = cfg;
	svc->writer = w;
	svc->abuse = abuse;
	svc->db = db;
	svc->tail = &svc->head;
	pthread_mutex_init(&svc->mu, NULL);
	pthread_cond_init(&svc->cv, NULL);
	pthread_cond_init(&svc->drained, NULL);
	svc->keys = calloc(KEY_CACHE_SLOTS, sizeof(*svc->keys));
	int ret = svc->keys != NULL ? tsigkey_seal_key(cfg->data_dir, true, svc->seal) : NP_ENOMEM;
	if (ret == NP_OK)
		ret = throttle_new(&svc->throttle, UPDATE_THROTTLE_ENTRIES);
	if (ret == NP_OK)
		ret = store_open_reader(cfg->data_dir, &svc->st);
	if (ret == NP_OK && pthread_create(&svc->thread, NULL, service_main, svc) != 0)
		ret = NP_EFAILED;
	if (ret != NP_OK) {
		update_service_stop(svc);
		return ret;
	}
	svc->started = true;
	metrics_register(collect, svc);
	*out = svc;
	return NP_OK;
}

void update_service_stop(struct update_service *svc)
{
	if (svc == NULL)
		return;
	metrics_unregister(collect, svc);
	pthread_mutex_lock(&svc->mu);
	svc->stopping = true;
	pthread_cond_broadcast(&svc->cv);
	pthread_mutex_unlock(&svc->mu);
	if (svc->started)
		pthread_join(svc->thread, NULL);
	pthread_mutex_lock(&svc->mu);
	while (svc->at_writer > 0)
		pthread_cond_wait(&svc->drained, &svc->mu);
	while (svc->spare != NULL) {
		struct update_op *u = svc->spare;
		svc->spare = u->next_done;
		free(u);
	}
	pthread_mutex_unlock(&svc->mu);
	if (svc->st != NULL)
		store_close(svc->st);
	throttle_free(svc->throttle);
	if (svc->keys != NULL)
		sodium_memzero(svc->keys, KEY_CACHE_SLOTS * sizeof(*svc->keys));
	free(svc->keys);
	sodium_memzero(svc->seal, sizeof(svc->seal));
	pthread_cond_destroy(&svc->drained);
	pthread_cond_destroy(&svc->cv);
	pthread_mutex_destroy(&svc->mu);
	free(svc);
}
