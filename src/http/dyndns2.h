/* SPDX-License-Identifier: MIT */
/* The dyndns2 update protocol (GET /nic/update): a pure parser of the query arguments,
 * the result-line formatter, and the update operation that runs on the writer thread. */
#ifndef NP_HTTP_DYNDNS2_H
#define NP_HTTP_DYNDNS2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/dyndns2_code.h" /* the answer codes, shared with the client */
#include "common/err.h"
#include "account/credential.h"
#include "common/secret.h"
#include "core/writer.h"
#include "store/store.h"

struct abuse;

/* The protocol allows up to 20 hosts per request; more is answered "numhost" once. */
#define DYNDNS2_MAX_HOSTS 20
/* The longest response body: 20 lines of "nochg v4,v6\n" fit with room to spare. */
#define DYNDNS2_BODY_MAX 2048
/* Longest Basic-auth user name accepted (an account name or a host FQDN). */
#define DYNDNS2_USER_MAX CFG_NAME_MAX

/* offline=YES|NO and wildcard=ON|OFF|NOCHG; absent or unknown values are NOCHG. */
enum dyndns2_switch {
	DYNDNS2_KEEP = 0,
	DYNDNS2_SET,   /* offline=YES, wildcard=ON */
	DYNDNS2_CLEAR, /* offline=NO, wildcard=OFF */
};

struct dyndns2_host {
	char fqdn[CFG_NAME_MAX]; /* lowercase, no trailing dot; "" when !valid */
	bool valid;              /* a syntactically valid FQDN (two labels or more) */
};

/* The checked form of a request's arguments. Everything in it has been validated:
 * hosts are normalised FQDNs (or flagged invalid), addresses are parsed. */
struct dyndns2_params {
	struct dyndns2_host hosts[DYNDNS2_MAX_HOSTS];
	unsigned n_hosts;    /* hosts kept (at most DYNDNS2_MAX_HOSTS) */
	bool too_many;       /* the list named more than DYNDNS2_MAX_HOSTS hosts: numhost */
	bool bad_list;       /* an empty element or a blank in the list: notfqdn */
	bool bad_addr;       /* an address argument did not parse: the request is refused */
	bool addr_given;     /* some address argument was non-empty (else: the client's) */
	bool has_v4, has_v6; /* which families to set */
	struct np_addr v4, v6;
	enum dyndns2_switch offline, wildcard;
	/* myipv6prefix= (ipv6prefix=): every AAAA record of the account's other hosts moves
	 * into this prefix, keeping its interface identifier (http/prefix.h). */
	bool has_prefix;
	struct np_cidr prefix;
	unsigned seen; /* internal: argument groups already taken (first one wins) */
};

/* Parsing is incremental so that it can run straight from libmicrohttpd's argument
 * iterator: init, add every (key, value) pair in request order, then finish.
 * Keys and values are already percent-decoded and may contain any byte, including NUL;
 * value may be NULL (an argument without '='). Unknown keys are ignored; for each
 * parameter (aliases count as one) the first occurrence wins. */
void dyndns2_params_init(struct dyndns2_params *p);
void dyndns2_params_add(struct dyndns2_params *p, const char *key, size_t key_len,
                        const char *value, size_t value_len);
/* Completes the parameters: when no address argument was given, the client's address is
 * used (client may be NULL when unknown; then no family is set). */
void dyndns2_params_finish(struct dyndns2_params *p, const struct np_addr *client);

/* The answers decided before the store is consulted, each given once: "numhost" (more
 * than DYNDNS2_MAX_HOSTS hosts), "notfqdn" (no hostname, and user is not an FQDN that
 * could name the host). Returns true and sets *code when the request ends here. */
bool dyndns2_precheck(const struct dyndns2_params *p, const char *user, enum dyndns2_code *code);

/* True when text (len bytes, no NUL inside) is a host name that may be updated: LDH labels,
 * at least two of them, no wildcard. Writes the lowercase form without a trailing dot to
 * out (size >= CFG_NAME_MAX). */
bool dyndns2_fqdn_normalize(const char *text, size_t len, char out[CFG_NAME_MAX]);

/* One result line: the code and, for good/nochg, the addresses to echo. */
struct dyndns2_result {
	enum dyndns2_code code;
	bool has_v4, has_v6;
	struct np_addr v4, v6;
};

/* Writes one line per result ("good 192.0.2.1\n", "nochg 192.0.2.1,2001:db8::1\n",
 * "nohost\n") to out (NUL-terminated). Returns the body length, or NP_ETOOBIG when cap is
 * too small (out then holds nothing useful). */
int dyndns2_format(const struct dyndns2_result *res, size_t n, char *out, size_t cap) np_mustcheck;

/* ---- The update operation ---- */

/* Called for each host whose records changed, so DNS serves the new data. */
typedef int dyndns2_touch_fn(void *ctx, const char *fqdn);

/* Who a Basic-auth pair proved (dyndns2_authenticate). */
struct dyndns2_identity {
	int64_t user_id;
	char account[DYNDNS2_USER_MAX]; /* the account's name */
	struct credential cred;         /* the token, with its policy */
	bool suspended; /* the token is right but its account is suspended: answered "abuse" */
};

/* Authentication the way dyndns2 does it: the password is a token of an account (found by
 * its hash, credential_from_hash: one indexed lookup, never a scan), and user names that
 * account or one of its hosts the token may change (an FQDN, as in an update without a
 * hostname). The account
 * must be active and the token usable from client now (expiry, source prefixes). Sets *ok
 * and, when true, *id. Returns NP_OK or a store error. Only reads the store: it runs on the
 * HTTP side's read-only connection, before the writer sees the request. */
int dyndns2_authenticate(struct store *st, const char *user, const uint8_t hash[SECRET_HASH_LEN],
                         const struct np_addr *client, struct dyndns2_identity *id,
                         bool *ok) np_mustcheck;

/* One authenticated update, embedded in the HTTP request that waits for it. The HTTP side
 * authenticates (dyndns2_authenticate), fills the inputs, sets op.done and submits &op;
 * apply (dyndns2_update_apply) fills the outputs on the writer thread. The password itself
 * never reaches this struct: only its hash does. */
struct dyndns2_update {
	struct writer_op op;

	/* inputs */
	struct dyndns2_params params;
	char user[DYNDNS2_USER_MAX];          /* the Basic-auth user name, as sent */
	uint8_t secret_hash[SECRET_HASH_LEN]; /* secret_hash() of the presented password */
	struct np_addr client;                /* the client's address, for the history */
	struct dyndns2_identity id;           /* who authenticated */
	struct abuse *abuse; /* flux judgement of address changes; NULL: none (unit tests) */

	/* outputs */
	struct dyndns2_result results[DYNDNS2_MAX_HOSTS];
	unsigned n_results;
	int apply_err;    /* NP_OK, or the store error that made apply undo everything */
	unsigned retry_after; /* the prefix's hosts were over budget: nothing changed, 429 */
	unsigned changed; /* hosts changed (for the log) */
};

/* Initialises u (zeroed) with op.apply = dyndns2_update_apply; the caller sets op.done
 * and the inputs. */
void dyndns2_update_init(struct dyndns2_update *u);

/* The whole decision over the store for an authenticated request: checks that its token
 * still exists (it may have been revoked since: one lookup by id), classifies every
 * requested host with credential_may, and changes those it may. Result lines are written
 * to u->results. Returns NP_OK, or the store error after which everything done here must be
 * rolled back (u->apply_err is set then and every line that would have been "good" reads
 * "dnserr"). Runs with st inside a transaction; touch is called for each changed host. */
int dyndns2_update_run(struct dyndns2_update *u, struct store *st, const struct config *cfg,
                       dyndns2_touch_fn *touch, void *touch_ctx) np_mustcheck;

/* The writer_apply_fn: dyndns2_update_run over the writer's transaction. */
int dyndns2_update_apply(struct writer_op *op, struct writer_txn *txn);

/* The lines to answer once the writer reported status through op.done: the results when
 * the change is on disk (or apply undid it), otherwise "911" for every line. Writes the
 * body into out; returns its length or NP_ETOOBIG. */
int dyndns2_update_body(const struct dyndns2_update *u, int status, char *out,
                        size_t cap) np_mustcheck;

#endif
