/* SPDX-License-Identifier: MIT */
/* The last exposure audit of each host (`nameplate audit`'s report, validated by the API):
 * one row per host, replaced by the next report, deleted with its host. Like the rest of
 * the store, every function runs inside the caller's transaction or on a reader. */
#ifndef NP_STORE_AUDIT_H
#define NP_STORE_AUDIT_H

#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

#define STORE_AUDIT_SOURCE_MAX 46 /* INET6_ADDRSTRLEN */
#define STORE_AUDIT_TOKEN_MAX  32

struct store_audit {
	int64_t host_id;
	int64_t time;                         /* when the server took it (unix seconds) */
	char source[STORE_AUDIT_SOURCE_MAX];  /* the address it came from */
	char token_id[STORE_AUDIT_TOKEN_MAX]; /* the token that sent it */
	const char *report;   /* JSON text; valid during the callback (or the caller's own) */
	const char *changes;  /* JSON text, "" for a first audit */
	int64_t window_start; /* the rate limit's window and the reports taken in it */
	unsigned window_count;
};

typedef int store_audit_cb(const struct store_audit *a, void *ctx);
/* Hands host_id's audit to cb and returns what cb returned; NP_ENOTFOUND when the host has
 * none. */
int store_audit_get(struct store *st, int64_t host_id, store_audit_cb *cb, void *ctx) np_mustcheck;
/* Keeps a as host_id's audit, in place of the one before. */
int store_audit_put(struct store *st, const struct store_audit *a) np_mustcheck;

#endif
