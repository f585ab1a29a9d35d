/* SPDX-License-Identifier: MIT */
/* IPv6 prefix moves: when a provider hands out a new prefix, every AAAA record of an
 * account's hosts moves into it in one call, keeping its interface identifier (the bits
 * below the prefix). The REST API (POST /api/v1/hosts/prefix) and dyndns2
 * (myipv6prefix=, the FRITZ!Box's <ip6lanprefix>) share this. Runs on the writer thread. */
#ifndef NP_HTTP_PREFIX_H
#define NP_HTTP_PREFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "account/credential.h"
#include "common/addr.h"
#include "common/config.h"
#include "store/store.h"

/* The prefix lengths a move takes: what providers delegate to a site. */
#define PREFIX_MIN_LEN 48
#define PREFIX_MAX_LEN 64

struct prefix_move {
	struct np_cidr to;   /* the new prefix, PREFIX_MIN_LEN..PREFIX_MAX_LEN */
	bool has_from;       /* only records inside from move */
	struct np_cidr from;
	const struct credential *cred; /* hosts and AAAA it may change; others stay */
	const struct np_addr *client;
	const char *protocol; /* the history's interface */
	/* Names left alone (dyndns2: the hosts the request gives an address itself). */
	const char (*skip)[CFG_NAME_MAX];
	size_t n_skip;
	int (*touch)(void *ctx, const char *fqdn); /* re-render a changed host */
	void *touch_ctx;
	/* Told of each host moved (may be NULL); returns NP_OK or an error that ends it. */
	int (*moved)(void *ctx, const char *fqdn, const char *old_text, const char *new_text);
	void *moved_ctx;
	/* The update budgets (may be NULL): called once, before anything changes, with the
	 * hosts the move would change (n may be 0); 0 lets it go on (counted), else the
	 * seconds to wait, and the move changes nothing (NP_EAGAIN). */
	unsigned (*budget)(void *ctx, const char *const *fqdns, size_t n);
	void *budget_ctx;
};

/* Whether text is a prefix a move takes ("2001:db8:1::/48" .. "/64", IPv6). */
bool prefix_parse(const char *text, struct np_cidr *out);

/* Moves the records; *n counts the hosts changed. NP_OK, NP_EAGAIN when m->budget refused
 * (nothing changed), or a store error (then the caller undoes everything: the writer rolls
 * back the op's savepoint). */
int prefix_move_run(struct store *st, const struct prefix_move *m, unsigned *n) np_mustcheck;

#endif
