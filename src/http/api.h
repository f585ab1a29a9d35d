/* SPDX-License-Identifier: MIT */
/* The REST API (/api/v1, JSON through jansson): what its endpoint files share. api.c routes,
 * authenticates and answers; api_hosts.c serves hosts, records and history; api_account.c
 * sign-in, tokens, the account and the admin's user list; api_audit.c hosts' audits. docs/api.md and the OpenAPI
 * document (docs/openapi.json, served at /api/v1/openapi.json) describe every route. */
#ifndef NP_HTTP_API_H
#define NP_HTTP_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "account/credential.h"
#include "http/hashing.h"
#include "http/http_int.h"

/* The largest JSON body accepted (413 above). */
#define API_BODY_MAX (64 * 1024)
/* Path segments below /api/v1 ("hosts", FQDN, "records", TYPE). */
#define API_MAX_SEGS 5
/* Rows of history answered at most. */
#define API_HISTORY_MAX 200

/* Who may call a route. */
enum api_auth {
	API_PUBLIC,  /* no credential (sign-in, the OpenAPI document) */
	API_TOKEN,   /* any usable token or session of an active account */
	API_MANAGE,  /* a session, or a token with the manage permission */
	API_SESSION, /* a sign-in only (account deletion, password change) */
	API_ADMIN,   /* a session or managing token of an account with the admin role */
};

struct api_req;
/* A route's handler on the HTTP thread: it answers (api_ok, api_error), reads through
 * api_read, or hands a change to the writer through api_write. */
typedef enum MHD_Result api_handler(struct api_req *r);
/* A change on the writer thread, inside the batch transaction, after the token was checked
 * again (it may have been revoked since). It sets r->out (or an error) and returns NP_OK to
 * keep what it did, or an error to undo it (api_error's code is answered then). */
typedef int api_apply(struct api_req *r, struct store *st, struct writer_txn *txn);
/* A lookup on the read-only connection; same contract without the transaction. */
typedef int api_lookup(struct api_req *r, struct store *st);

struct api_req {
	struct http_task t; /* first */
	struct writer_op op;
	struct http_server *hs;
	const struct config *cfg;
	struct MHD_Connection *conn;
	const char *method;
	struct np_addr client;
	unsigned nseg;
	char segs[API_MAX_SEGS][CFG_NAME_MAX]; /* below /api/v1 */
	json_t *body;                          /* the parsed JSON object, or NULL */
	bool authenticated;
	struct credential cred;
	uint8_t token_hash[SECRET_HASH_LEN]; /* of the presented token, to check it again */
	api_apply *apply;
	void *ctx; /* the handler's own state (freed by ctx_free when set) */
	void (*ctx_free)(void *ctx);
	int wstatus; /* the writer's outcome */
	/* The answer. */
	unsigned status;
	json_t *out; /* NULL with status 204 */
	char err_code[32];
	char err_msg[256];
	unsigned retry_after; /* seconds, for 429/503 */
	const char *set_cookie; /* a Set-Cookie header value (static or owned by ctx) */
	const char *allow;      /* the Allow header of a 405 */
	/* When set, answers in place of the JSON: the web pages (which fill r->body from a form
	 * and r->segs as the API path would be) render HTML from status, out and err_*. */
	enum MHD_Result (*answer)(struct api_req *r);
	void *page; /* the web page's own state for its answer (not freed here) */
	/* When set, runs on the writer thread once the change is committed (e.g. wakes the
	 * mailer for the mail the change queued). */
	void (*committed)(struct api_req *r);
};

/* Sets the answer to an error: status, a stable machine code ("not_found") and a message
 * for a person. Returns NP_EDENIED so an apply function can `return api_error(...)`. */
__attribute__((format(printf, 4, 5))) int api_error(struct api_req *r, unsigned status,
                                                    const char *code, const char *fmt, ...);
/* Sets the answer to status with body out (stolen; NULL for 204). Returns NP_OK. */
int api_ok(struct api_req *r, unsigned status, json_t *out);
/* The handler's own state: size zeroed bytes as r->ctx, freed by ctx_free (free for a
 * plain struct) with the request. NULL with a 503 set when memory is short. */
void *api_ctx_new(struct api_req *r, size_t size, void (*ctx_free)(void *ctx));
/* Queues the answer r holds now. */
enum MHD_Result api_answer(struct api_req *r);

/* Runs fn on the read-only store connection and returns what it returned (no answer). */
int api_lookup_run(struct api_req *r, api_lookup *fn);
/* Runs fn on the read-only store connection, then answers. */
enum MHD_Result api_read(struct api_req *r, api_lookup *fn);
/* Hands apply to the writer; the answer follows when the change is durable. */
enum MHD_Result api_write(struct api_req *r, api_apply *apply);

/* For work that needs an argon2id check first: suspends the request and queues job on the
 * hashing pool (503 when it is full). The job ends with api_write_begun (go on to the
 * writer) or by setting the answer and calling http_task_resolve(&r->t). */
enum MHD_Result api_slow(struct api_req *r, struct hashing_job *job);
void api_write_begun(struct api_req *r, api_apply *apply);

/* The status and message for a credential_may verdict that refuses (404 for a name that is
 * not the account's, 403 for the rest); returns NP_EDENIED. */
int api_refuse(struct api_req *r, enum policy_verdict v, const char *fqdn);

/* Body fields: a string member (NULL when absent; false with a 400 set when present but not
 * a string, or longer than max bytes, or holding a NUL or control character). */
bool api_string(struct api_req *r, const char *key, size_t max, const char **out);
/* Refuses (400) members of the body other than those listed (NULL-terminated). */
bool api_only_keys(struct api_req *r, const char *const *keys);

/* A comma list from the store ("a,b") as a JSON array of strings. (api_account.c) */
json_t *api_list_json(const char *text);

/* The FQDN in path segment i, normalised; false with 404 set when it cannot be a host. */
bool api_seg_fqdn(struct api_req *r, unsigned i, char out[CFG_NAME_MAX]);
/* Loads the host named fqdn for a change or a read of type (0: the host itself) by r's
 * credential: NP_OK, NP_EDENIED with the error set (404 when it is not the account's), or a
 * store error. */
int api_load_host(struct api_req *r, struct store *st, const char *fqdn, uint16_t type,
                  struct store_host *h);

/* Endpoints (api_hosts.c, api_account.c, api_tsig.c, api_audit.c). */
api_handler api_hosts_list, api_hosts_create, api_host_get, api_host_patch, api_host_delete;
api_handler api_records_get, api_records_put, api_records_delete, api_history, api_prefix;
api_handler api_login, api_logout, api_tokens_list, api_tokens_create, api_token_get;
api_handler api_token_patch, api_token_delete, api_account_get, api_account_patch;
api_handler api_account_delete, api_admin_users, api_admin_user_state;
api_handler api_totp_get, api_totp_enable, api_totp_disable, api_signup, api_confirm;
api_handler api_tsig_list, api_tsig_create, api_tsig_delete;
api_handler api_audit_post, api_audit_get;
/* api_abuse.c: public abuse reports. */
api_handler api_abuse_report, api_host_abuse, api_abuse_revoked, api_host_abuse_clear;
api_handler api_admin_tickets, api_admin_ticket, api_admin_ticket_decide;
/* t as ISO 8601 in UTC ("2026-01-01T00:00:00Z"), "unknown" for 0. */
void api_iso8601(int64_t t, char out[32]);
struct store_ticket;
/* Checks a report's fields (the API's and the web form's) into t; false with why. */
bool api_report_fields(const char *name, const char *category, const char *evidence,
                       const char *contact, struct store_ticket *t, char *why, size_t len);
bool api_evidence_ok(const char *text, size_t len);

/* The entry from http.c for every /api/v1 path that is not the check's or the sensors'. */
enum MHD_Result api_serve(struct http_request *hr);

/* The same handlers for the web pages: a request of hr, authenticated (by the session
 * cookie, or a token) for level (false with the error set), run like api_serve does once
 * the caller has set body, segs and answer. api_req_run frees r (now, or when the writer is
 * done with it); api_req_free is for a request that is not run. */
struct api_req *api_req_new(struct http_request *hr);
bool api_req_authenticate(struct api_req *r, enum api_auth level);
enum MHD_Result api_req_run(struct http_request *hr, struct api_req *r, api_handler *fn);
void api_req_free(struct api_req *r);

/* Reads the "policy" member of the request body (names, types, sources, expires, and
 * manage when manage_ok) into out; an absent one is the default (everything of the
 * account). A token can only grant what it holds itself. *given says whether there was
 * one. false with the error answer set. (api_account.c) */
bool api_policy_body(struct api_req *r, struct policy *out, bool manage_ok, bool *given);

#endif
