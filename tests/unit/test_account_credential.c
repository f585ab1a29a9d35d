/* SPDX-License-Identifier: MIT */
/* The specification of credential_may(), the one decision every interface asks before it
 * changes data: one table of (account state, token policy, owner, name, type, source) ->
 * verdict, covering every verdict and the order in which the reasons are answered. Then
 * policy_within (a token makes only tokens that can do less), the policy's text form (round
 * trip and every parse error), and passwords (what is acceptable, argon2id hash and verify). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "account/credential.h"
#include "account/password.h"
#include "account/policy.h"
#include "common/macros.h"
#include "common/str.h"
#include "dns/constants.h"

#define NOW   1000000
#define OWN   7
#define OTHER 8
#define CNAME 5 /* a type no token can name */

/* A policy from its text form; the test fails on a parse error (rows are meant valid). */
static void make_policy(const char *names, const char *types, const char *sources, int64_t expires,
                        bool manage, struct policy *p)
{
	char err[160] = "";
	int ret = policy_parse(names, types, sources, expires, manage, p, err, sizeof(err));
	if (ret != NP_OK)
		fail_msg("policy_parse(\"%s\", \"%s\", \"%s\"): %s", names, types, sources, err);
}

/* ---- credential_may ---- */

struct may_row {
	enum store_user_state state;
	const char *names, *types, *sources;
	int64_t expires;
	int64_t owner; /* OWN, OTHER or 0 */
	const char *fqdn;
	uint16_t type;
	const char *source; /* NULL: not network-bound */
	enum policy_verdict want;
};

#define ACTIVE      STORE_USER_ACTIVE
#define LOCKED      STORE_USER_LOCKED
#define SUSPENDED   STORE_USER_SUSPENDED
#define UNCONFIRMED STORE_USER_UNCONFIRMED
#define HOME        "home.dyn.example"
#define A           DNS_TYPE_A
#define AAAA        DNS_TYPE_AAAA
#define TXT         DNS_TYPE_TXT
#define MX          DNS_TYPE_MX

/* clang-format off */
static const struct may_row may_rows[] = {
	/* An empty policy allows everything of the account, from anywhere, for ever. */
	{ACTIVE, "", "", "", 0, OWN, HOME, A, "192.0.2.1", POLICY_OK},
	{ACTIVE, "", "", "", 0, OWN, HOME, AAAA, "2001:db8::1", POLICY_OK},
	{ACTIVE, "", "", "", 0, OWN, HOME, TXT, NULL, POLICY_OK},
	{ACTIVE, "", "", "", 0, OWN, HOME, MX, NULL, POLICY_OK},
	{ACTIVE, "", "", "", 0, OWN, HOME, 0, NULL, POLICY_OK},
	/* No types listed = every type, even one no token could name. */
	{ACTIVE, "", "", "", 0, OWN, HOME, CNAME, NULL, POLICY_OK},
	{ACTIVE, "", "", "", 0, OWN, "other.dyn.example", A, NULL, POLICY_OK},

	/* The account's state comes first: any state but active refuses, whatever else. */
	{LOCKED, "", "", "", 0, OWN, HOME, A, "192.0.2.1", POLICY_ACCOUNT},
	{SUSPENDED, "", "", "", 0, OWN, HOME, A, "192.0.2.1", POLICY_ACCOUNT},
	{UNCONFIRMED, "", "", "", 0, OWN, HOME, A, "192.0.2.1", POLICY_ACCOUNT},
	{LOCKED, "other.dyn.example", "AAAA", "10.9.9.0/24", NOW - 1, OTHER, HOME, A,
	 "127.0.0.1", POLICY_ACCOUNT},
	{SUSPENDED, "", "", "", NOW - 1, 0, HOME, 0, NULL, POLICY_ACCOUNT},

	/* Expiry: at or after the moment is over; a second before is still good. */
	{ACTIVE, "", "", "", NOW - 1, OWN, HOME, A, NULL, POLICY_EXPIRED},
	{ACTIVE, "", "", "", NOW, OWN, HOME, A, NULL, POLICY_EXPIRED},
	{ACTIVE, "", "", "", NOW + 1, OWN, HOME, A, NULL, POLICY_OK},
	/* ... and it comes before source, owner, name and type. */
	{ACTIVE, "other.dyn.example", "AAAA", "10.9.9.0/24", NOW, OTHER, HOME, A, "127.0.0.1",
	 POLICY_EXPIRED},
	{ACTIVE, "", "", "10.9.9.0/24", NOW, 0, HOME, A, NULL, POLICY_EXPIRED},

	/* Sources: IPv4 and IPv6 prefixes; an IPv4-mapped client is its IPv4 address. */
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, "10.9.9.9", POLICY_OK},
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, "10.9.9.0", POLICY_OK},
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, "10.9.9.255", POLICY_OK},
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, "10.9.10.1", POLICY_SOURCE},
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, "127.0.0.1", POLICY_SOURCE},
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, "::ffff:10.9.9.9", POLICY_OK},
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, "::ffff:127.0.0.1", POLICY_SOURCE},
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, "2001:db8::1", POLICY_SOURCE},
	/* A prefix listed with sources cannot be met without an address. */
	{ACTIVE, "", "", "10.9.9.0/24", 0, OWN, HOME, A, NULL, POLICY_SOURCE},
	{ACTIVE, "", "", "2001:db8::/32", 0, OWN, HOME, AAAA, "2001:db8:1::1", POLICY_OK},
	{ACTIVE, "", "", "2001:db8::/32", 0, OWN, HOME, AAAA, "2001:db9::1", POLICY_SOURCE},
	{ACTIVE, "", "", "2001:db8::/32", 0, OWN, HOME, A, "10.9.9.9", POLICY_SOURCE},
	{ACTIVE, "", "", "2001:db8::/32", 0, OWN, HOME, A, "::ffff:10.9.9.9", POLICY_SOURCE},
	{ACTIVE, "", "", "10.9.9.0/24,2001:db8::/32", 0, OWN, HOME, A, "2001:db8::5", POLICY_OK},
	{ACTIVE, "", "", "10.9.9.0/24,2001:db8::/32", 0, OWN, HOME, A, "10.9.9.5", POLICY_OK},
	{ACTIVE, "", "", "192.0.2.7", 0, OWN, HOME, A, "192.0.2.7", POLICY_OK},
	{ACTIVE, "", "", "192.0.2.7", 0, OWN, HOME, A, "192.0.2.8", POLICY_SOURCE},
	/* A prefix written in IPv4-mapped form means its IPv4 addresses. */
	{ACTIVE, "", "", "::ffff:10.9.9.0/120", 0, OWN, HOME, A, "10.9.9.9", POLICY_OK},
	{ACTIVE, "", "", "::ffff:10.9.9.0/120", 0, OWN, HOME, A, "::ffff:10.9.9.9", POLICY_OK},
	{ACTIVE, "", "", "::ffff:10.9.9.0/120", 0, OWN, HOME, A, "10.9.8.9", POLICY_SOURCE},
	/* The source comes before owner, name and type. */
	{ACTIVE, "other.dyn.example", "AAAA", "10.9.9.0/24", 0, OTHER, HOME, A, "127.0.0.1",
	 POLICY_SOURCE},

	/* The owner: another account's name, or a name of no account, whatever the policy. */
	{ACTIVE, "", "", "", 0, OTHER, HOME, A, NULL, POLICY_OWNER},
	{ACTIVE, "", "", "", 0, 0, HOME, A, NULL, POLICY_OWNER},
	{ACTIVE, "", "", "", 0, 0, HOME, 0, NULL, POLICY_OWNER},
	{ACTIVE, HOME, "A", "", 0, OTHER, HOME, A, NULL, POLICY_OWNER},
	/* ... before name and type. */
	{ACTIVE, "other.dyn.example", "AAAA", "", 0, OTHER, HOME, A, NULL, POLICY_OWNER},
	{ACTIVE, "other.dyn.example", "AAAA", "", 0, 0, HOME, A, NULL, POLICY_OWNER},

	/* Names: an FQDN is that name only. */
	{ACTIVE, HOME, "", "", 0, OWN, HOME, A, NULL, POLICY_OK},
	{ACTIVE, HOME, "", "", 0, OWN, HOME, 0, NULL, POLICY_OK},
	{ACTIVE, HOME, "", "", 0, OWN, "other.dyn.example", A, NULL, POLICY_NAME},
	{ACTIVE, HOME, "", "", 0, OWN, "x.home.dyn.example", A, NULL, POLICY_NAME},
	{ACTIVE, HOME, "", "", 0, OWN, "dyn.example", 0, NULL, POLICY_NAME},
	/* A subtree is every name strictly below its parent, at any depth. */
	{ACTIVE, "*.home.dyn.example", "", "", 0, OWN, "x.home.dyn.example", A, NULL, POLICY_OK},
	{ACTIVE, "*.home.dyn.example", "", "", 0, OWN, "a.b.home.dyn.example", A, NULL,
	 POLICY_OK},
	{ACTIVE, "*.home.dyn.example", "", "", 0, OWN, HOME, A, NULL, POLICY_NAME},
	{ACTIVE, "*.home.dyn.example", "", "", 0, OWN, "xhome.dyn.example", A, NULL, POLICY_NAME},
	{ACTIVE, "*.home.dyn.example", "", "", 0, OWN, "x.home.dyn.example.evil", A, NULL,
	 POLICY_NAME},
	{ACTIVE, "*.home.dyn.example", "", "", 0, OWN, "dyn.example", 0, NULL, POLICY_NAME},
	/* Several names: any one of them. */
	{ACTIVE, "a.dyn.example,*.b.dyn.example", "", "", 0, OWN, "a.dyn.example", A, NULL,
	 POLICY_OK},
	{ACTIVE, "a.dyn.example,*.b.dyn.example", "", "", 0, OWN, "x.b.dyn.example", A, NULL,
	 POLICY_OK},
	{ACTIVE, "a.dyn.example,*.b.dyn.example", "", "", 0, OWN, "b.dyn.example", A, NULL,
	 POLICY_NAME},
	/* The name comes before the type. */
	{ACTIVE, HOME, "A", "", 0, OWN, "other.dyn.example", AAAA, NULL, POLICY_NAME},

	/* Types: only those listed; type 0 (the host itself) checks the name alone. */
	{ACTIVE, HOME, "A", "", 0, OWN, HOME, A, NULL, POLICY_OK},
	{ACTIVE, HOME, "A", "", 0, OWN, HOME, AAAA, NULL, POLICY_TYPE},
	{ACTIVE, HOME, "A", "", 0, OWN, HOME, TXT, NULL, POLICY_TYPE},
	{ACTIVE, HOME, "A", "", 0, OWN, HOME, MX, NULL, POLICY_TYPE},
	{ACTIVE, HOME, "A", "", 0, OWN, HOME, CNAME, NULL, POLICY_TYPE},
	{ACTIVE, HOME, "A", "", 0, OWN, HOME, 0, NULL, POLICY_OK},
	{ACTIVE, "", "AAAA", "", 0, OWN, HOME, AAAA, NULL, POLICY_OK},
	{ACTIVE, "", "TXT,MX", "", 0, OWN, HOME, TXT, NULL, POLICY_OK},
	{ACTIVE, "", "TXT,MX", "", 0, OWN, HOME, MX, NULL, POLICY_OK},
	{ACTIVE, "", "TXT,MX", "", 0, OWN, HOME, A, NULL, POLICY_TYPE},
	/* Even every nameable type listed does not reach a type no token can name. */
	{ACTIVE, "", "A,AAAA,TXT,MX", "", 0, OWN, HOME, CNAME, NULL, POLICY_TYPE},
	{ACTIVE, "", "A,AAAA,TXT,MX", "", 0, OWN, HOME, MX, NULL, POLICY_OK},

	/* Everything met at once. */
	{ACTIVE, "*.home.dyn.example", "A,AAAA", "10.9.9.0/24,2001:db8::/32", NOW + 60, OWN,
	 "r1.home.dyn.example", AAAA, "::ffff:10.9.9.1", POLICY_OK},
};
/* clang-format on */

static void test_credential_may_table(void **state)
{
	(void)state;
	unsigned seen = 0; /* which verdicts the table reached */
	for (size_t i = 0; i < ARRAY_SIZE(may_rows); i++) {
		const struct may_row *r = &may_rows[i];
		struct credential c;
		memset(&c, 0, sizeof(c));
		c.user_id = OWN;
		np_strlcpy(c.user, "alice", sizeof(c.user));
		c.state = r->state;
		c.kind = STORE_TOKEN_API;
		make_policy(r->names, r->types, r->sources, r->expires, false, &c.policy);
		struct np_addr src, *srcp = NULL;
		if (r->source != NULL) {
			assert_int_equal(addr_parse(r->source, &src), NP_OK);
			srcp = &src;
		}
		enum policy_verdict got = credential_may(&c, r->owner, r->fqdn, r->type, srcp, NOW);
		if (got != r->want)
			fail_msg(
			    "row %zu (%s type %u from %s, names '%s' types '%s' sources '%s'): "
			    "got '%s', want '%s'",
			    i, r->fqdn, r->type, r->source ? r->source : "NULL", r->names, r->types,
			    r->sources, policy_verdict_str(got), policy_verdict_str(r->want));
		/* manage is about tokens, never about records. */
		c.policy.manage = true;
		assert_int_equal(credential_may(&c, r->owner, r->fqdn, r->type, srcp, NOW), got);
		/* credential_usable is the part before the owner. */
		enum policy_verdict u = credential_usable(&c, srcp, NOW);
		if (got == POLICY_ACCOUNT || got == POLICY_EXPIRED || got == POLICY_SOURCE)
			assert_int_equal(u, got);
		else
			assert_int_equal(u, POLICY_OK);
		seen |= 1u << got;
	}
	/* Every verdict is specified by some row. */
	const enum policy_verdict all[] = {POLICY_OK,   POLICY_EXPIRED, POLICY_SOURCE, POLICY_NAME,
	                                   POLICY_TYPE, POLICY_ACCOUNT, POLICY_OWNER};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if ((seen & (1u << all[i])) == 0)
			fail_msg("no row has verdict '%s'", policy_verdict_str(all[i]));
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		assert_true(strlen(policy_verdict_str(all[i])) > 0);
}

/* ---- policy_within ---- */

struct within_row {
	const char *in_names, *in_types, *in_sources;
	int64_t in_expires;
	bool in_manage;
	const char *out_names, *out_types, *out_sources;
	int64_t out_expires;
	bool out_manage;
	bool want;
};

/* clang-format off */
static const struct within_row within_rows[] = {
	{"", "", "", 0, false, /* within */ "", "", "", 0, false, true},
	{"", "", "", 0, true, "", "", "", 0, true, true},
	/* Names. An empty list is every name: only within another empty list. */
	{"", "", "", 0, false, HOME, "", "", 0, false, false},
	{HOME, "", "", 0, false, "", "", "", 0, false, true},
	{HOME, "", "", 0, false, HOME, "", "", 0, false, true},
	{HOME, "", "", 0, false, "other.dyn.example", "", "", 0, false, false},
	{"x.home.dyn.example", "", "", 0, false, "*.home.dyn.example", "", "", 0, false, true},
	{HOME, "", "", 0, false, "*.home.dyn.example", "", "", 0, false, false},
	{"*.home.dyn.example", "", "", 0, false, "*.home.dyn.example", "", "", 0, false, true},
	{"*.x.home.dyn.example", "", "", 0, false, "*.home.dyn.example", "", "", 0, false, true},
	{"*.home.dyn.example", "", "", 0, false, "*.x.home.dyn.example", "", "", 0, false, false},
	{"*.home.dyn.example", "", "", 0, false, HOME, "", "", 0, false, false},
	{"*.home.dyn.example", "", "", 0, false, "*.dyn.example", "", "", 0, false, true},
	{"*.xhome.dyn.example", "", "", 0, false, "*.home.dyn.example", "", "", 0, false, false},
	{"a.dyn.example", "", "", 0, false, "a.dyn.example,b.dyn.example", "", "", 0, false, true},
	{"a.dyn.example,b.dyn.example", "", "", 0, false, "a.dyn.example", "", "", 0, false, false},
	{"a.dyn.example,x.b.dyn.example", "", "", 0, false, "a.dyn.example,*.b.dyn.example", "", "",
	 0, false, true},
	/* Types. */
	{"", "A", "", 0, false, "", "", "", 0, false, true},
	{"", "A", "", 0, false, "", "A,AAAA", "", 0, false, true},
	{"", "A,AAAA", "", 0, false, "", "A,AAAA", "", 0, false, true},
	{"", "A,TXT", "", 0, false, "", "A", "", 0, false, false},
	{"", "", "", 0, false, "", "A", "", 0, false, false},
	{"", "MX", "", 0, false, "", "A,AAAA,TXT", "", 0, false, false},
	/* Sources: each inner prefix inside one outer prefix of the same family. */
	{"", "", "10.9.9.0/25", 0, false, "", "", "10.9.9.0/24", 0, false, true},
	{"", "", "10.9.9.0/24", 0, false, "", "", "10.9.9.0/24", 0, false, true},
	{"", "", "10.9.9.9", 0, false, "", "", "10.9.9.0/24", 0, false, true},
	{"", "", "10.9.0.0/16", 0, false, "", "", "10.9.9.0/24", 0, false, false},
	{"", "", "10.9.10.0/24", 0, false, "", "", "10.9.9.0/24", 0, false, false},
	{"", "", "", 0, false, "", "", "10.0.0.0/8", 0, false, false},
	{"", "", "10.0.0.0/8", 0, false, "", "", "", 0, false, true},
	{"", "", "2001:db8:1::/48", 0, false, "", "", "2001:db8::/32", 0, false, true},
	{"", "", "2001:db8::/32", 0, false, "", "", "2001:db8:1::/48", 0, false, false},
	{"", "", "10.9.9.0/24", 0, false, "", "", "::/0", 0, false, false},
	{"", "", "::ffff:10.9.9.0/120", 0, false, "", "", "10.9.9.0/24", 0, false, true},
	{"", "", "10.9.9.0/24,2001:db8:1::/48", 0, false, "", "", "10.0.0.0/8,2001:db8::/32", 0,
	 false, true},
	{"", "", "10.9.9.0/24,2001:db9::/48", 0, false, "", "", "10.0.0.0/8,2001:db8::/32", 0,
	 false, false},
	/* Expiry: never (0) only within never; otherwise no later than the outer one. */
	{"", "", "", 0, false, "", "", "", 0, false, true},
	{"", "", "", NOW, false, "", "", "", 0, false, true},
	{"", "", "", 0, false, "", "", "", NOW, false, false},
	{"", "", "", NOW - 1, false, "", "", "", NOW, false, true},
	{"", "", "", NOW, false, "", "", "", NOW, false, true},
	{"", "", "", NOW + 1, false, "", "", "", NOW, false, false},
	/* manage only from a token that has it. */
	{"", "", "", 0, true, "", "", "", 0, false, false},
	{"", "", "", 0, false, "", "", "", 0, true, true},
	/* One field too wide is enough to refuse. */
	{HOME, "A", "10.9.9.0/24", NOW, true, HOME, "A", "10.9.9.0/24", NOW, false, false},
	{HOME, "A", "10.9.9.0/24", NOW, false, HOME, "A", "10.9.9.0/24", NOW, true, true},
	{HOME, "A,AAAA", "10.9.9.0/24", NOW, false, HOME, "A", "10.9.9.0/24", NOW, true, false},
};
/* clang-format on */

static void test_policy_within_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(within_rows); i++) {
		const struct within_row *r = &within_rows[i];
		struct policy in, out;
		make_policy(r->in_names, r->in_types, r->in_sources, r->in_expires, r->in_manage,
		            &in);
		make_policy(r->out_names, r->out_types, r->out_sources, r->out_expires,
		            r->out_manage, &out);
		bool got = policy_within(&in, &out);
		if (got != r->want)
			fail_msg("row %zu: ('%s' '%s' '%s' %lld%s) within ('%s' '%s' '%s' %lld%s) "
			         "is %s",
			         i, r->in_names, r->in_types, r->in_sources,
			         (long long)r->in_expires, r->in_manage ? " manage" : "",
			         r->out_names, r->out_types, r->out_sources,
			         (long long)r->out_expires, r->out_manage ? " manage" : "",
			         got ? "true" : "false");
		/* Every policy is within itself. */
		assert_true(policy_within(&in, &in));
	}
}

/* ---- the text form ---- */

static void format_ok(const struct policy *p, char *names, char *types, char *sources)
{
	assert_int_equal(policy_format(p, names, STORE_POLICY_TEXT_MAX, types, 64, sources,
	                               STORE_POLICY_TEXT_MAX),
	                 NP_OK);
}

static void test_policy_round_trip(void **state)
{
	(void)state;
	static char names[STORE_POLICY_TEXT_MAX], types[64], sources[STORE_POLICY_TEXT_MAX];
	static char names2[STORE_POLICY_TEXT_MAX], types2[64], sources2[STORE_POLICY_TEXT_MAX];
	struct policy p, q;
	/* Normalised: lower case, no trailing dot, duplicates once, types in a fixed order,
	 * every prefix with its length. */
	make_policy("Home.Dyn.Example.,*.B.dyn.example,home.dyn.example", "aaaa,A,mx",
	            "10.9.9.0/24,2001:DB8::/32,192.0.2.1,::ffff:10.1.2.0/120", 1234, true, &p);
	assert_int_equal(p.n_names, 2);
	format_ok(&p, names, types, sources);
	assert_string_equal(names, "home.dyn.example,*.b.dyn.example");
	assert_string_equal(types, "A,AAAA,MX");
	assert_string_equal(sources, "10.9.9.0/24,2001:db8::/32,192.0.2.1/32,10.1.2.0/24");
	/* The text form parses back to the same policy and formats the same. */
	make_policy(names, types, sources, p.expires, p.manage, &q);
	format_ok(&q, names2, types2, sources2);
	assert_string_equal(names, names2);
	assert_string_equal(types, types2);
	assert_string_equal(sources, sources2);
	assert_int_equal(q.n_names, p.n_names);
	assert_int_equal(q.types, p.types);
	assert_int_equal(q.n_sources, p.n_sources);
	for (unsigned i = 0; i < p.n_sources; i++) {
		assert_true(addr_equal(&p.sources[i].addr, &q.sources[i].addr));
		assert_int_equal(p.sources[i].prefix, q.sources[i].prefix);
	}
	assert_true(q.expires == 1234 && q.manage);
	assert_true(policy_within(&p, &q) && policy_within(&q, &p));

	/* The empty policy is empty text. */
	make_policy("", "", "", 0, false, &p);
	format_ok(&p, names, types, sources);
	assert_string_equal(names, "");
	assert_string_equal(types, "");
	assert_string_equal(sources, "");

	/* Sixteen names of a usual length and sixteen of the longest IPv6 prefixes fit the
	 * store's columns; sixteen long names do not, and say so (NP_ETOOBIG) rather than
	 * being cut. */
	memset(&p, 0, sizeof(p));
	char err[160];
	for (unsigned i = 0; i < POLICY_MAX_NAMES; i++) {
		char n[CFG_NAME_MAX];
		snprintf(n, sizeof(n), "router-%02u.branch-office.customer.dyn.example", i);
		assert_int_equal(policy_add_name(&p, n, err, sizeof(err)), NP_OK);
	}
	for (unsigned i = 0; i < POLICY_MAX_SOURCES; i++) {
		char s[64];
		snprintf(s, sizeof(s), "2001:db8:%x:ffff:ffff:ffff:ffff:ffff/128", 0xff00 + i);
		assert_int_equal(policy_add_source(&p, s, err, sizeof(err)), NP_OK);
	}
	format_ok(&p, names, types, sources);
	memset(&p, 0, sizeof(p));
	for (unsigned i = 0; i < POLICY_MAX_NAMES; i++) {
		char n[CFG_NAME_MAX];
		snprintf(n, sizeof(n), "%02u%061u.%063u.dyn.example", i, 0u, 0u);
		assert_int_equal(policy_add_name(&p, n, err, sizeof(err)), NP_OK);
	}
	assert_int_equal(
	    policy_format(&p, names, sizeof(names), types, sizeof(types), sources, sizeof(sources)),
	    NP_ETOOBIG);
	/* A buffer too small is NP_ETOOBIG, never a cut list. */
	make_policy("a.dyn.example,b.dyn.example", "A", "10.0.0.0/8", 0, false, &p);
	char small[16];
	assert_int_equal(
	    policy_format(&p, small, sizeof(small), types, sizeof(types), sources, sizeof(sources)),
	    NP_ETOOBIG);
}

struct parse_err_row {
	const char *names, *types, *sources;
	int want;            /* NP_EINVAL or NP_ETOOBIG */
	const char *message; /* a part of the message */
};

static char long_name[300];   /* 254 characters: one more than a domain name has */
static char longer_name[300]; /* 280: longer than a list element may be */
static char many_names[1024]; /* 17 names */
static char many_sources[1024];

static void make_long_inputs(void)
{
	/* 63 + 1 + 63 + 1 + 63 + 1 + 50 + ".example" (8) = 250 ... then pad to 254. */
	size_t o = 0;
	for (int l = 0; l < 3; l++) {
		memset(long_name + o, 'a' + l, 63);
		o += 63;
		long_name[o++] = '.';
	}
	memset(long_name + o, 'd', 254 - 8 - o);
	o = 254 - 8;
	memcpy(long_name + o, ".example", 9);
	assert_int_equal(strlen(long_name), 254);
	memset(longer_name, 'a', 272);
	memcpy(longer_name + 272, ".example", 9);
	o = 0;
	for (int i = 0; i < POLICY_MAX_NAMES + 1; i++)
		o += (size_t)snprintf(many_names + o, sizeof(many_names) - o, "%sh%d.dyn.example",
		                      i > 0 ? "," : "", i);
	o = 0;
	for (int i = 0; i < POLICY_MAX_SOURCES + 1; i++)
		o += (size_t)snprintf(many_sources + o, sizeof(many_sources) - o, "%s10.0.%d.0/24",
		                      i > 0 ? "," : "", i);
}

static const struct parse_err_row parse_err_rows[] = {
    /* Names. */
    {"a..b.example", "", "", NP_EINVAL, "not a domain name"},
    {"*foo.example", "", "", NP_EINVAL, "*.NAME"},
    {"*", "", "", NP_EINVAL, "*.NAME"},
    {"*.*.x.example", "", "", NP_EINVAL, "'*' may only start"},
    {"foo.*.example", "", "", NP_EINVAL, "'*' may only start"},
    {"foo*.example", "", "", NP_EINVAL, "'*' may only start"},
    {"example", "", "", NP_EINVAL, "not a domain name"},
    {"example.", "", "", NP_EINVAL, "not a domain name"},
    {"*.example", "", "", NP_EINVAL, "not a domain name"},
    {".example", "", "", NP_EINVAL, "not a domain name"},
    {".", "", "", NP_EINVAL, "1 to 253"},
    {"bad name.example", "", "", NP_EINVAL, "not a domain name"},
    {long_name, "", "", NP_EINVAL, "1 to 253"},
    {longer_name, "", "", NP_EINVAL, "too long"},
    {many_names, "", "", NP_ETOOBIG, "at most 16 names"},
    /* Types. */
    {"", "CNAME", "", NP_EINVAL, "A, AAAA, TXT or MX"},
    {"", "ANY", "", NP_EINVAL, "A, AAAA, TXT or MX"},
    {"", "A ", "", NP_EINVAL, "A, AAAA, TXT or MX"},
    {"", "1", "", NP_EINVAL, "A, AAAA, TXT or MX"},
    /* Sources. */
    {"", "", "10.0.0.0/33", NP_EINVAL, "not an address or prefix"},
    {"", "", "::/129", NP_EINVAL, "not an address or prefix"},
    {"", "", "10.0.0.0/", NP_EINVAL, "not an address or prefix"},
    {"", "", "10.0.0.0/-1", NP_EINVAL, "not an address or prefix"},
    {"", "", "10.0.0.0/8/8", NP_EINVAL, "not an address or prefix"},
    {"", "", "10.0.0", NP_EINVAL, "not an address or prefix"},
    {"", "", "010.0.0.1", NP_EINVAL, "not an address or prefix"},
    {"", "", "host.example", NP_EINVAL, "not an address or prefix"},
    {"", "", many_sources, NP_ETOOBIG, "at most 16 source prefixes"},
    /* Empty list elements, in each list. */
    {",a.example", "", "", NP_EINVAL, "empty element"},
    {"a.example,,b.example", "", "", NP_EINVAL, "empty element"},
    {"a.example,", "", "", NP_EINVAL, "empty element"},
    {",", "", "", NP_EINVAL, "empty element"},
    {"", "A,", "", NP_EINVAL, "empty element"},
    {"", "A,,AAAA", "", NP_EINVAL, "empty element"},
    {"", "", "10.0.0.0/8,", NP_EINVAL, "empty element"},
    {"", "", ",10.0.0.0/8", NP_EINVAL, "empty element"},
};

static void test_policy_parse_errors(void **state)
{
	(void)state;
	make_long_inputs();
	for (size_t i = 0; i < ARRAY_SIZE(parse_err_rows); i++) {
		const struct parse_err_row *r = &parse_err_rows[i];
		struct policy p;
		char err[160] = "";
		int ret =
		    policy_parse(r->names, r->types, r->sources, 0, false, &p, err, sizeof(err));
		if (ret != r->want || strstr(err, r->message) == NULL)
			fail_msg("row %zu ('%.40s' '%s' '%.40s'): got %d '%s', want %d '...%s...'",
			         i, r->names, r->types, r->sources, ret, err, r->want, r->message);
	}
	/* The longest name a domain has (253) is fine, and so are exactly 16 names. */
	long_name[253] = '\0';
	long_name[252] = 'e';
	struct policy p;
	char err[160];
	assert_int_equal(policy_parse(long_name, "", "", 0, false, &p, err, sizeof(err)), NP_OK);
	char *last = strrchr(many_names, ',');
	*last = '\0';
	assert_int_equal(policy_parse(many_names, "", "", 0, false, &p, err, sizeof(err)), NP_OK);
	assert_int_equal(p.n_names, POLICY_MAX_NAMES);
	/* Lower case type names are taken. */
	assert_int_equal(policy_parse("", "a,aaaa,txt,mx", "", 0, false, &p, err, sizeof(err)),
	                 NP_OK);
	assert_int_equal(p.types, POLICY_ALL_TYPES);
}

static void test_policy_type_names(void **state)
{
	(void)state;
	assert_int_equal(policy_type_bit(DNS_TYPE_A), POLICY_A);
	assert_int_equal(policy_type_bit(DNS_TYPE_AAAA), POLICY_AAAA);
	assert_int_equal(policy_type_bit(DNS_TYPE_TXT), POLICY_TXT);
	assert_int_equal(policy_type_bit(DNS_TYPE_MX), POLICY_MX);
	assert_int_equal(policy_type_bit(CNAME), 0);
	assert_int_equal(policy_type_bit(0), 0);
	assert_string_equal(policy_type_name(POLICY_AAAA), "AAAA");
	assert_string_equal(policy_type_name(0), "?");
}

/* ---- passwords ---- */

struct pw_row {
	const char *pw;
	size_t len; /* 0: strlen */
	bool ok;
	const char *message;
};

static char pw256[257], pw257[258];

static const struct pw_row pw_rows[] = {
    {"", 0, false, "10 to 256"},
    {"123456789", 0, false, "10 to 256"},
    {"1234567890", 0, true, NULL},
    {pw256, 0, true, NULL},
    {pw257, 0, false, "10 to 256"},
    /* UTF-8 text of any script; its length is counted in bytes. */
    {"p\xc3\xa4sswo\xcc\x88rd!", 0, true, NULL},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xa7", 0, true, NULL},
    {"emoji \xf0\x9f\x94\x91 key", 0, true, NULL},
    {"\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4", 0, false, "10 to 256"}, /* 4 characters, 8 bytes */
    /* Not UTF-8: overlong, surrogate, truncated, stray continuation, beyond U+10FFFF. */
    {"overlong \xc0\xaf!", 0, false, "UTF-8"},
    {"overlong \xe0\x80\xaf"
     "!",
     0, false, "UTF-8"},
    {"overlong \xf0\x80\x80\xaf!", 0, false, "UTF-8"},
    {"surrogate \xed\xa0\x80!", 0, false, "UTF-8"},
    {"surrogate \xed\xbf\xbf!", 0, false, "UTF-8"},
    {"truncated at the end \xe2\x82", 0, false, "UTF-8"},
    {"truncated \xe2\x82 inside", 0, false, "UTF-8"},
    {"continuation \x80 alone", 0, false, "UTF-8"},
    {"too high \xf4\x90\x80\x80!", 0, false, "UTF-8"},
    {"five bytes \xf8\x88\x80\x80\x80!", 0, false, "UTF-8"},
    {"latin-1 p\xe4ssword", 0, false, "UTF-8"},
    /* Control characters: NUL inside, tab, line ends, escape, DEL. */
    {"abcde\0"
     "fghij",
     11, false, "control"},
    {"abcdefghij\0", 11, false, "control"},
    {"tab\there-ok?", 0, false, "control"},
    {"line\nbreak!", 0, false, "control"},
    {"carriage\rreturn", 0, false, "control"},
    {"escape\x1b[0m!", 0, false, "control"},
    {"delete\x7f"
     "char",
     0, false, "control"},
};

static void test_password_acceptable_table(void **state)
{
	(void)state;
	memset(pw256, 'x', 256);
	memset(pw257, 'x', 257);
	for (size_t i = 0; i < ARRAY_SIZE(pw_rows); i++) {
		const struct pw_row *r = &pw_rows[i];
		size_t len = r->len != 0 ? r->len : strlen(r->pw);
		char err[128] = "";
		bool ok = password_acceptable(r->pw, len, err, sizeof(err));
		if (ok != r->ok)
			fail_msg("row %zu (%zu bytes): %s", i, len, ok ? "accepted" : err);
		if (!ok && strstr(err, r->message) == NULL)
			fail_msg("row %zu: message '%s' lacks '%s'", i, err, r->message);
	}
}

/* argon2id costs about 0.1 s and 64 MiB a run: one hash, a few checks. */
static void test_password_hash_verify(void **state)
{
	(void)state;
	const char *pw = "correct horse battery staple";
	char hash[STORE_PWHASH_MAX];
	assert_int_equal(password_hash(pw, strlen(pw), hash), NP_OK);
	/* argon2id with the parameters of password.h, salted, no clear text. */
	char params[64];
	snprintf(params, sizeof(params), "$argon2id$v=19$m=%u,t=%d,p=1$", PASSWORD_MEMLIMIT / 1024,
	         PASSWORD_OPSLIMIT);
	assert_memory_equal(hash, params, strlen(params));
	assert_null(strstr(hash, "horse"));
	assert_true(password_verify(pw, strlen(pw), hash));
	assert_false(password_verify("correct horse battery stapler", 29, hash));
	/* A prefix of the right password is a wrong one: the whole length counts. */
	assert_false(password_verify(pw, strlen(pw) - 1, hash));
	/* No hash (no account, or no password set): false, whatever is presented. */
	assert_false(password_verify(pw, strlen(pw), NULL));
	assert_false(password_verify(pw, strlen(pw), ""));
	/* Unacceptable passwords: refused before any work. */
	assert_int_equal(password_hash("short", 5, hash), NP_EINVAL);
	assert_false(password_verify(pw257, 257, hash));
}

int main(void)
{
	if (secret_lib_init() != NP_OK)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_credential_may_table),
	    cmocka_unit_test(test_policy_within_table),
	    cmocka_unit_test(test_policy_round_trip),
	    cmocka_unit_test(test_policy_parse_errors),
	    cmocka_unit_test(test_policy_type_names),
	    cmocka_unit_test(test_password_acceptable_table),
	    cmocka_unit_test(test_password_hash_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
