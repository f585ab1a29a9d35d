/* SPDX-License-Identifier: MIT */
/* A token's policy, and the one decision every interface that changes data asks:
 * "may this credential change this name and type, from this address, now?"
 * (credential_may in account/credential.h puts the account's state in front of it). */
#ifndef NP_ACCOUNT_POLICY_H
#define NP_ACCOUNT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/err.h"

#define POLICY_MAX_NAMES   16
#define POLICY_MAX_SOURCES 16

/* The record types a token may be limited to: those a host holds (store/host.c). */
enum policy_type {
	POLICY_A = 1u << 0,
	POLICY_AAAA = 1u << 1,
	POLICY_TXT = 1u << 2,
	POLICY_MX = 1u << 3,
};
#define POLICY_ALL_TYPES (POLICY_A | POLICY_AAAA | POLICY_TXT | POLICY_MX)

/* Empty lists allow everything of their kind: no names = every name of the account, no
 * types = every type, no sources = any address. A name is an FQDN ("host.dyn.example")
 * or a subtree ("*.home.dyn.example": every name strictly below home.dyn.example). */
struct policy {
	unsigned n_names;
	char names[POLICY_MAX_NAMES][CFG_NAME_MAX];
	uint32_t types; /* enum policy_type bits; 0 = all */
	unsigned n_sources;
	struct np_cidr sources[POLICY_MAX_SOURCES];
	int64_t expires; /* unix time; 0 = never */
	bool manage;     /* may create, change and delete the account's tokens */
};

enum policy_verdict {
	POLICY_OK = 0,
	POLICY_EXPIRED, /* the token's time is over */
	POLICY_SOURCE,  /* used from an address outside its prefixes */
	POLICY_NAME,    /* the name is not one of its names */
	POLICY_TYPE,    /* the record type is not one of its types */
	/* Only from credential_may (account/credential.h): */
	POLICY_ACCOUNT, /* the account is locked, suspended or not confirmed */
	POLICY_OWNER,   /* the name is not one of the account's */
};

/* Whether p allows changing type (a DNS type number; 0 = the host itself, e.g. creating
 * or deleting it: only the name is checked) at fqdn (lower case, no trailing dot) by a
 * request from source (NULL: not network-bound, e.g. nameplatectl) at now. The first
 * reason to refuse is answered, in the order of enum policy_verdict. */
enum policy_verdict policy_allows(const struct policy *p, const char *fqdn, uint16_t type,
				  const struct np_addr *source, int64_t now);

/* Whether p allows fqdn by name alone. */
bool policy_name_allows(const struct policy *p, const char *fqdn);

/* Whether every permission of inner is also one of outer (names, types, sources, expiry,
 * manage): a token may only make tokens that can do less than itself. */
bool policy_within(const struct policy *inner, const struct policy *outer);

/* The policy from the store's text columns (comma lists; "" allows all). Names are
 * normalised to lower case without a trailing dot. NP_EINVAL or NP_ETOOBIG with a message
 * for a person in err. */
int policy_parse(const char *names, const char *types, const char *sources, int64_t expires,
		 bool manage, struct policy *out, char *err, size_t errlen) np_mustcheck;
/* Adds one name, type or prefix as text (for the API's JSON arrays); same errors. */
int policy_add_name(struct policy *p, const char *name, char *err, size_t errlen) np_mustcheck;
int policy_add_type(struct policy *p, const char *type, char *err, size_t errlen) np_mustcheck;
int policy_add_source(struct policy *p, const char *prefix, char *err,
		      size_t errlen) np_mustcheck;
/* The text columns back (buffers of STORE_POLICY_TEXT_MAX and 64 bytes do). NP_ETOOBIG
 * when one does not fit. */
int policy_format(const struct policy *p, char *names, size_t names_len, char *types,
		  size_t types_len, char *sources, size_t sources_len) np_mustcheck;

/* enum policy_type bit of a DNS type number (0 when not one a token can name), and the
 * name of a bit. */
uint32_t policy_type_bit(uint16_t type);
const char *policy_type_name(uint32_t bit);
const char *policy_verdict_str(enum policy_verdict v);

#endif
